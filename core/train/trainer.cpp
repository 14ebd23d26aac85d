#include "core/train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/algos/algorithm.hpp"
#include "core/algos/sequence.hpp"
#include "core/algos/registry.hpp"
#include "core/envs/env.hpp"
#include "core/util/bytes.hpp"

namespace pl {

namespace {

// Checkpoint layout (little-endian, as written by the host):
//   8 bytes  magic "PLCKPT\r\n" (the CR LF catches text-mode mangling)
//   u32      format version
//   u64      payload size
//   payload  config JSON (length-prefixed) | wall seconds (f64) | algorithm state
//   u32      CRC-32 of the payload
constexpr char kMagic[8] = {'P', 'L', 'C', 'K', 'P', 'T', '\r', '\n'};
constexpr uint32_t kCheckpointVersion = 2;  // 2: sequence runs keep the held-out pass@k

double now_s() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

}  // namespace

Trainer::Trainer(const Config& config, bool warm_start)
    : config_(config), algo_(make_algorithm(config)), start_time_s_(now_s()) {
  if (warm_start && config_.values().contains("init_from") && !config_.get_string("init_from").empty())
    init_from_checkpoint();
  for (const TensorInfo& t : algo_->params().tensors()) layer_names_.push_back(t.name);
  metrics_.layer_grad_norms.assign(layer_names_.size(), 0.0f);
  metrics_.declare_extra(algo_->extra_metrics());
}

std::unique_ptr<Trainer> Trainer::from_json(const json& user_config) {
  return std::make_unique<Trainer>(validate_config(user_config));
}

Trainer::~Trainer() = default;

const Metrics& Trainer::step() {
  const double t0 = now_s();
  const int64_t steps_before = algo_->global_step();
  algo_->iterate(metrics_);
  const double t1 = now_s();
  metrics_.wall_s = wall_offset_s_ + (t1 - start_time_s_);
  metrics_.sps = (t1 > t0) ? static_cast<double>(algo_->global_step() - steps_before) / (t1 - t0) : Metrics::kNaN;
  return metrics_;
}

bool Trainer::done() const { return algo_->done(); }
int64_t Trainer::global_step() const { return algo_->global_step(); }
int64_t Trainer::iteration() const { return algo_->iteration(); }
Formula Trainer::objective() const { return algo_->objective(); }

void Trainer::set(const std::string& field, const json& value) {
  config_.set(field, value, /*require_live=*/true);
  algo_->apply_config(config_);
}

EvalResult Trainer::evaluate(int episodes, bool deterministic, uint64_t seed) const {
  if (episodes < 1) throw ConfigError("episodes must be >= 1, got " + std::to_string(episodes));
  const ActorCritic& agent = env_agent();
  const Normalizers& norm = *algo_->normalizers();
  std::unique_ptr<Env> env = make_env(config_.get_string("env_id"));
  ActorCritic::Batch b = agent.make_batch(1);
  const int D = env->observation_space().flat_dim();
  std::vector<float> obs(D);
  const Space& space = env->action_space();
  std::vector<float> action(space.flat_dim());
  Rng rng = streams::stream(seed, streams::kEvalActions);
  EvalResult r;
  for (int ep = 0; ep < episodes; ++ep) {
    env->reset(streams::seed_of(seed, streams::kEvalEpisodes, static_cast<uint64_t>(ep)), obs.data());
    double ret = 0;
    int length = 0;
    for (;;) {
      std::copy(obs.begin(), obs.end(), b.obs(1).data());
      norm.apply_observation(b.obs(1).data(), 1);
      agent.forward(b, 1, false);
      agent.act(b, 1, deterministic, rng);
      for (int d = 0; d < space.flat_dim(); ++d) {
        float a = b.actions(d, 0);
        if (!space.is_discrete()) a = std::min(std::max(a, space.low[d]), space.high[d]);
        action[d] = a;
      }
      StepResult s = env->step(action.data(), obs.data());
      ret += s.reward;
      ++length;
      if (s.terminated || s.truncated) break;
    }
    r.returns.push_back(ret);
    r.length_mean += length;
  }
  r.episodes = episodes;
  double sum = 0, sq = 0;
  r.return_min = r.return_max = r.returns[0];
  for (double x : r.returns) {
    sum += x;
    sq += x * x;
    r.return_min = std::min(r.return_min, x);
    r.return_max = std::max(r.return_max, x);
  }
  r.return_mean = sum / episodes;
  r.return_std = std::sqrt(std::max(0.0, sq / episodes - r.return_mean * r.return_mean));
  r.length_mean /= episodes;
  return r;
}

std::string Trainer::save_bytes() const {
  ByteWriter payload;
  payload.put_string(config_.values().dump());
  payload.put<double>(metrics_.wall_s);
  algo_->write_state(payload);
  const std::string& p = payload.str();
  ByteWriter out;
  out.str().append(kMagic, sizeof(kMagic));
  out.put<uint32_t>(kCheckpointVersion);
  out.put<uint64_t>(p.size());
  out.str().append(p);
  out.put<uint32_t>(crc32(p.data(), p.size()));
  return out.str();
}

void Trainer::save_file(const std::string& path) const {
  const std::string bytes = save_bytes();
  // Write to a temporary name, then rename: an interrupted save never leaves a half checkpoint.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw CheckpointError("cannot write checkpoint '" + path + "'");
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw CheckpointError("cannot write checkpoint '" + path + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw CheckpointError("cannot write checkpoint '" + path + "'");
}

std::unique_ptr<Trainer> Trainer::load_bytes(const std::string& bytes) {
  const size_t header = sizeof(kMagic) + sizeof(uint32_t) + sizeof(uint64_t);
  if (bytes.size() < sizeof(kMagic) || bytes.compare(0, sizeof(kMagic), kMagic, sizeof(kMagic)) != 0)
    throw CheckpointError("not a PolicyLab checkpoint (bad magic bytes)");
  if (bytes.size() < header + sizeof(uint32_t))
    throw CheckpointError("checkpoint is truncated (" + std::to_string(bytes.size()) + " bytes: not even its header)");
  ByteReader head(bytes.data() + sizeof(kMagic), bytes.size() - sizeof(kMagic));
  const uint32_t version = head.get<uint32_t>("version");
  if (version != kCheckpointVersion)
    throw CheckpointError("checkpoint format version " + std::to_string(version) +
                          " is not supported (this build reads version " + std::to_string(kCheckpointVersion) + ")");
  const uint64_t size = head.get<uint64_t>("payload size");
  const uint64_t held = bytes.size() - header - sizeof(uint32_t);
  if (size > held)
    throw CheckpointError("checkpoint is truncated (payload size " + std::to_string(size) + ", file holds " +
                          std::to_string(held) + " bytes)");
  if (size < held)
    throw CheckpointError("checkpoint has trailing data after its payload of " + std::to_string(size) + " bytes");
  const char* payload = bytes.data() + header;
  uint32_t stored_crc;
  std::memcpy(&stored_crc, payload + size, sizeof(stored_crc));
  if (crc32(payload, size) != stored_crc) throw CheckpointError("checkpoint is corrupt (checksum mismatch)");
  try {
    ByteReader r(payload, size);
    json config_json = json::parse(r.get_string("config"));
    // Not a warm start: the checkpoint holds its own parameters (and its init_from file may be gone).
    std::unique_ptr<Trainer> trainer(new Trainer(validate_config(config_json), /*warm_start=*/false));
    trainer->wall_offset_s_ = r.get<double>("wall time");
    trainer->metrics_.wall_s = trainer->wall_offset_s_;
    trainer->algo_->read_state(r);
    if (r.remaining() != 0) throw FormatError("unexpected trailing bytes in the payload");
    return trainer;
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::exception& e) {
    throw CheckpointError(std::string("checkpoint is invalid: ") + e.what());
  }
}

namespace {
// The header, then as many bytes as it announces and one more (so that trailing data shows): a file
// is never read past what a checkpoint could hold (a device such as /dev/zero never ends). A header
// that is not a checkpoint's is returned as it is for load_bytes to name.
std::string read_checkpoint_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw CheckpointError("cannot open checkpoint '" + path + "'");
  auto read_more = [&f](std::string& bytes, size_t count) {
    const size_t had = bytes.size();
    bytes.resize(had + count);
    f.read(&bytes[had], static_cast<std::streamsize>(count));
    bytes.resize(had + static_cast<size_t>(f.gcount()));
  };
  const size_t header = sizeof(kMagic) + sizeof(uint32_t) + sizeof(uint64_t);
  std::string bytes;
  read_more(bytes, header);
  if (bytes.size() < header || bytes.compare(0, sizeof(kMagic), kMagic, sizeof(kMagic)) != 0) return bytes;
  uint64_t size;
  std::memcpy(&size, bytes.data() + sizeof(kMagic) + sizeof(uint32_t), sizeof(size));
  constexpr uint64_t kMaxPayload = uint64_t{1} << 32;
  if (size > kMaxPayload)
    throw CheckpointError("'" + path + "': checkpoint is corrupt (its header announces a payload of " + std::to_string(size) +
                          " bytes)");
  // A regular file holds what it holds: no buffer for more than that (a corrupt header announcing
  // 4 GiB in a 1 MB file allocated the 4 GiB first); load_bytes then says "truncated".
  uint64_t want = size + sizeof(uint32_t) + 1;
  std::error_code ec;
  const uint64_t on_disk = std::filesystem::file_size(path, ec);
  if (!ec && on_disk >= header) want = std::min<uint64_t>(want, on_disk - header);
  read_more(bytes, static_cast<size_t>(want));
  return bytes;
}
}  // namespace

// A bad file's message names it ("'a.plck': checkpoint is corrupt (checksum mismatch)").
std::unique_ptr<Trainer> Trainer::load_file(const std::string& path) {
  const std::string bytes = read_checkpoint_bytes(path);
  try {
    return load_bytes(bytes);
  } catch (const CheckpointError& e) {
    throw CheckpointError("'" + path + "': " + e.what());
  }
}

const ActorCritic& Trainer::env_agent() const {
  const ActorCritic* agent = algo_->actor_critic();
  if (!agent)
    throw ConfigError("algo '" + config_.algo() + "' trains a " +
                      (task_kind() == "combo" ? "combinatorial-problem policy" : "sequence model") +
                      ": it has no env actions or observations");
  return *agent;
}

bool Trainer::is_env_task() const { return algo_->actor_critic() != nullptr; }
const std::string& Trainer::task_kind() const { return config_.schema().task_kind; }
std::string Trainer::task_name() const {
  if (config_.values().contains("problem")) {
    const std::string problem = config_.get_string("problem");
    // Job-shop sizes are jobs x machines (L2D's "6x6").
    if (problem == "jobshop")
      return problem + std::to_string(config_.get_int("n")) + "x" + std::to_string(config_.get_int("machines"));
    return problem + std::to_string(config_.get_int("n"));
  }
  return config_.values().contains("task") ? config_.get_string("task") : config_.get_string("env_id");
}
const SequenceLearner& Trainer::sequence() const {
  const SequenceLearner* s = algo_->sequence_learner();
  if (!s) throw ConfigError("algo '" + config_.algo() + "' learns in an env, not on a sequence task");
  return *s;
}
const ComboLearner& Trainer::combo() const {
  const ComboLearner* c = algo_->combo_learner();
  if (!c) throw ConfigError("algo '" + config_.algo() + "' does not learn a combinatorial problem");
  return *c;
}

// A warm start: the model weights of another run's checkpoint (e.g. RL from an SFT checkpoint).
// Only the parameters are taken; the optimizer, step counts and streams start fresh.
void Trainer::init_from_checkpoint() {
  const std::string path = config_.get_string("init_from");
  std::unique_ptr<Trainer> source;
  try {
    source = load_bytes(read_checkpoint_bytes(path));
  } catch (const CheckpointError& e) {
    throw CheckpointError("init_from '" + path + "': " + e.what());
  }
  take_model_weights(*source, "init_from '" + path + "'");
}

void Trainer::warm_start_from_bytes(const std::string& bytes) {
  if (iteration() > 0)
    throw CheckpointError("a warm start replaces the weights a run starts from: reset the run first (it is at iteration " +
                          std::to_string(iteration()) + ")");
  std::unique_ptr<Trainer> source;
  try {
    source = load_bytes(bytes);
  } catch (const CheckpointError& e) {
    throw CheckpointError(std::string("warm start: ") + e.what());
  }
  take_model_weights(*source, "the warm-start checkpoint");
}

void Trainer::take_model_weights(const Trainer& source_trainer, const std::string& what) {
  const Trainer* source = &source_trainer;
  const std::string path = what;
  const Parameters& from = source->algo_->model_weights();
  Parameters& to = algo_->model_weights();
  bool same_layout = from.count() == to.count();
  for (int i = 0; same_layout && i < to.count(); ++i)
    same_layout = from.tensors()[i].name == to.tensors()[i].name && from.tensors()[i].size() == to.tensors()[i].size();
  // The same task with the same options (a different held-out fraction would move problems
  // between the splits) and the same model. A combinatorial policy reads instances of any size (its
  // attention runs over the nodes, whatever their number), so a TSP20 policy may start a TSP50 run:
  // the curriculum of POMO's and Kool et al.'s generalisation studies. Its problem must still match.
  const bool any_size = config_.schema().task_kind == "combo";
  bool same = true;
  std::string differs;  // the first task or model field that differs, as the message names it
  for (const FieldSpec& f : config_.schema().fields) {
    if ((f.group != "task" && f.group != "model") || f.name == "context_length" || (any_size && f.name == "n") ||
        !config_.values().contains(f.name))
      continue;
    const json& mine = config_.values().at(f.name);
    const bool has = source->config_.values().contains(f.name);
    if (has && source->config_.values().at(f.name) == mine) continue;
    if (same)
      differs = "; field '" + f.name + "' is " + (has ? source->config_.values().at(f.name).dump() : "unset") +
                " there, " + mine.dump() + " here";
    same = false;
  }
  same = same && (any_size || source->task_name() == task_name());
  // Weights of the same model in another layout the algorithm extends (adopt_weights copies them).
  if (!same || !(same_layout || algo_->adopt_weights(from)))
    throw CheckpointError(path + ": its model (" + std::to_string(from.total_size()) +
                          " parameters, task '" + source->task_name() + "') does not match this run's (" +
                          std::to_string(to.total_size()) + " parameters, task '" + task_name() + "'" + differs +
                          "): use the same task, task options and model size");
  if (same_layout) to.values() = from.values();
  algo_->take_warm_start(*source->algo_);
}
int Trainer::obs_dim() const { return env_agent().spec().obs_dim; }
int Trainer::action_dim() const { return env_agent().action_dim(); }
bool Trainer::discrete_actions() const { return env_agent().discrete(); }

void Trainer::act(const float* obs, bool deterministic, float* action_out, Rng& rng) const {
  const ActorCritic& agent = env_agent();
  ActorCritic::Batch& b = inspect_batch(1);
  std::copy(obs, obs + obs_dim(), b.obs(1).data());
  algo_->normalizers()->apply_observation(b.obs(1).data(), 1);
  agent.forward(b, 1, false);
  agent.act(b, 1, deterministic, rng);
  const Space& space = agent.spec().action_space;
  for (int d = 0; d < space.flat_dim(); ++d) {
    float a = b.actions(d, 0);
    if (!space.is_discrete()) a = std::min(std::max(a, space.low[d]), space.high[d]);
    action_out[d] = a;
  }
}

void Trainer::policy_value(const float* obs, int n, float* action_out, float* value_out) const {
  if (n < 1) return;
  const ActorCritic& agent = env_agent();
  ActorCritic::Batch& b = inspect_batch(n);
  std::copy(obs, obs + static_cast<size_t>(n) * obs_dim(), b.obs(n).data());
  algo_->normalizers()->apply_observation(b.obs(n).data(), n);
  agent.forward(b, n, true);
  agent.action_summary(b, n, action_out);
  const Space& space = agent.spec().action_space;
  if (!space.is_discrete()) {
    const int A = space.flat_dim();
    for (int i = 0; i < n; ++i)
      for (int d = 0; d < A; ++d)
        action_out[i * A + d] = std::min(std::max(action_out[i * A + d], space.low[d]), space.high[d]);
  }
  for (int i = 0; i < n; ++i) value_out[i] = agent.has_critic() ? b.value[i] : 0.0f;
}

ActorCritic::Batch& Trainer::inspect_batch(int n) const {
  if (!inspect_batch_ || inspect_batch_->capacity < n)
    inspect_batch_ = std::make_unique<ActorCritic::Batch>(env_agent().make_batch(n));
  return *inspect_batch_;
}

std::vector<int> Trainer::layer_sizes() const {
  std::vector<int> sizes;
  for (const TensorInfo& t : algo_->params().tensors()) sizes.push_back(t.size());
  return sizes;
}

const float* Trainer::layer_gradient(int layer) const {
  const Parameters& p = algo_->params();
  if (layer < 0 || layer >= p.count()) throw std::out_of_range("layer index out of range");
  return p.grads().data() + p.tensors()[layer].offset;
}

int Trainer::num_parameters() const { return algo_->params().total_size(); }

}  // namespace pl
