#include "core/algos/preference_pairs.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>

namespace pl {

std::vector<FieldSpec> preference_run_fields(const PreferenceRunFields& f) {
  using T = FieldType;
  return {
      {"batch_size", T::Int, 32, 1, 1024, {}, f.batch_size_help, false, "run"},
      {"max_steps", T::Int, 300, 1, 1e9, {}, "Adam steps (minibatches) to train for", false, "run"},
      {"eval_interval", T::Int, 25, 1, 1000000, {}, "steps between evaluations (and at the first and last step)", false, "run"},
      make_field("dataset", T::String, "", 0, 0, "prefs", f.dataset_help),
      {"eval_fraction", T::Float, 0.1, 0, 0.9, {}, f.eval_fraction_help, false, "prefs"},
      {"learning_rate", T::Float, f.learning_rate, 0, 1, {}, "Adam step size", true, "optim"},
      {"anneal_lr", T::Bool, false, 0, 0, {}, "decay the learning rate linearly to 0 over max_steps", false, "optim"},
      {"adam_eps", T::Float, 1e-8, 1e-12, 1, {}, "epsilon added to Adam's denominator (PyTorch's default)", false, "optim"},
      {"max_grad_norm", T::Float, 1.0, 0, 1e6, {}, f.max_grad_norm_help, true, "optim"},
  };
}

GoldReward gold_reward_from_config(const SequenceTask& task, const json& values) {
  try {
    return GoldReward(task, gold_reward_options(values));
  } catch (const PreferenceDataError& e) {
    throw ConfigError(e.what());
  }
}

bool preference_file_exists(const std::string& path) { return std::ifstream(path).good(); }

PreferenceDataset load_preference_file(const std::string& path, const SequenceTask& task) {
  if (!preference_file_exists(path)) throw ConfigError("field 'dataset': cannot open preference file '" + path + "'");
  try {
    return read_preferences(path, task);
  } catch (const PreferenceDataError& e) {
    throw ConfigError(std::string("field 'dataset': ") + e.what());
  }
}

int preference_train_count(int n, double eval_fraction, const SequenceTask& task, int context, const char* unit) {
  const int held = static_cast<int>(std::floor(eval_fraction * n + 0.5));
  if (n - held < 1)
    throw ConfigError("field 'eval_fraction': " + std::to_string(eval_fraction) + " of " + std::to_string(n) + " " +
                      unit + " leaves none to train on");
  if (task.max_prompt_length() + task.max_completion_length() > context)
    throw ConfigError("the model's context is too short for the task's sequences");
  return n - held;
}

void PairOrder::shuffle() {
  for (int i = static_cast<int>(order.size()) - 1; i > 0; --i)
    std::swap(order[static_cast<size_t>(i)], order[rng.below(static_cast<uint32_t>(i + 1))]);
}

const int* PairOrder::next(int n) {
  if (cursor + n > static_cast<int>(order.size())) {
    shuffle();
    cursor = 0;
    ++epoch;
  }
  const int* out = order.data() + cursor;
  cursor += n;
  return out;
}

void PairOrder::write(ByteWriter& w) const {
  put_rng(w, rng);
  w.put<int64_t>(cursor);
  w.put<int64_t>(epoch);
  w.put_array(order.data(), order.size());
}

void PairOrder::read(ByteReader& r, int limit) {
  get_rng(r, rng, "pair order rng");
  cursor = static_cast<int>(r.get<int64_t>("dataset cursor"));
  epoch = r.get<int64_t>("epoch");
  r.get_array(order.data(), order.size(), "pair order");
  for (int i : order)
    if (i < 0 || i >= limit) throw FormatError("pair order out of range");
  if (cursor < 0 || cursor > static_cast<int>(order.size())) throw FormatError("dataset cursor out of range");
}

namespace {
void put_ints(ByteWriter& w, const std::vector<int>& v) {
  w.put<uint64_t>(v.size());
  w.put_array(v.data(), v.size());
}
// A completion from a checkpoint: within the task's lengths and the vocabulary (the batch layouts
// rely on both).
void get_ints(ByteReader& r, std::vector<int>& v, const SequenceTask& task, int vocab) {
  const uint64_t n = r.get<uint64_t>("completion length");
  if (n < 1 || n > static_cast<uint64_t>(task.max_completion_length()))
    throw FormatError("bad completion length in preference data");
  v.assign(static_cast<size_t>(n), 0);
  r.get_array(v.data(), v.size(), "completion");
  for (int t : v)
    if (t < 0 || t >= vocab) throw FormatError("bad token in preference data");
}

Problem get_prompt(ByteReader& r, const SequenceTask& task, const char* what) {
  Problem p = task.make_problem();
  try {
    task.parse_prompt(r.get_string(what), p);
  } catch (const TaskError& e) {
    throw FormatError(std::string(what) + ": " + e.what());
  }
  return p;
}
}  // namespace

void write_preference_pairs(ByteWriter& w, const SequenceTask& task, const PreferenceDataset& data) {
  w.put<int64_t>(static_cast<int64_t>(data.pairs.size()));
  const Vocabulary& v = task.vocab();
  for (const PreferencePair& p : data.pairs) {
    w.put_string(v.decode(p.problem.prompt));
    put_ints(w, p.chosen);
    put_ints(w, p.rejected);
  }
}

PreferenceDataset read_preference_pairs(ByteReader& r, const SequenceTask& task, int vocab) {
  const int64_t n = r.get<int64_t>("preference pairs");
  if (n < 1 || n > 100000000) throw FormatError("bad number of preference pairs");
  PreferenceDataset data;
  for (int64_t i = 0; i < n; ++i) {
    PreferencePair p;
    p.problem = get_prompt(r, task, "preference prompt");
    get_ints(r, p.chosen, task, vocab);
    get_ints(r, p.rejected, task, vocab);
    data.pairs.push_back(std::move(p));
  }
  return data;
}

void write_unpaired_examples(ByteWriter& w, const SequenceTask& task, const std::vector<UnpairedExample>& data) {
  w.put<int64_t>(static_cast<int64_t>(data.size()));
  for (const UnpairedExample& e : data) {
    w.put_string(task.vocab().decode(e.problem.prompt));
    put_ints(w, e.completion);
    w.put<uint8_t>(e.desirable ? 1 : 0);
  }
}

std::vector<UnpairedExample> read_unpaired_examples(ByteReader& r, const SequenceTask& task, int vocab) {
  const int64_t n = r.get<int64_t>("unpaired examples");
  if (n < 1 || n > 100000000) throw FormatError("bad number of unpaired examples");
  std::vector<UnpairedExample> data;
  for (int64_t i = 0; i < n; ++i) {
    UnpairedExample e;
    e.problem = get_prompt(r, task, "unpaired prompt");
    get_ints(r, e.completion, task, vocab);
    const uint8_t label = r.get<uint8_t>("label");
    if (label > 1) throw FormatError("bad label in an unpaired example");
    e.desirable = label == 1;
    data.push_back(std::move(e));
  }
  return data;
}

int set_completion_row(TokenBatch& batch, float* completion_mask, int row, int T, const std::vector<int>& prompt,
                       const int* completion, int n) {
  const int P = static_cast<int>(prompt.size()), L = P + n;
  auto token = [&](int k) { return k < P ? prompt[static_cast<size_t>(k)] : completion[k - P]; };
  for (int t = 0; t < T; ++t) {
    const bool real = t < L - 1;
    batch.set(row, t, T, real ? token(t) : Vocabulary::kPad, t, real, real ? token(t + 1) : Vocabulary::kPad);
    if (completion_mask) completion_mask[static_cast<size_t>(row) * T + t] = real && t + 1 >= P ? 1.0f : 0.0f;
  }
  return std::min(T, L - 1);
}

GoldEvaluation::GoldEvaluation(const Transformer& model, Parameters& reference, const SequenceTask& task, int rows)
    : reference_(reference), task_(task), rows_(rows) {
  const int T = model.spec().context - 1, Lp = task.max_prompt_length(), L = task.max_completion_length();
  batch_.declare(graph_, rows, T);
  ref_logp_ = gather_last(log_softmax(batch_.build(graph_, model, reference_, /*frozen=*/true).logits), batch_.targets);
  prompts_.assign(static_cast<size_t>(rows) * Lp, 0);
  lengths_.assign(static_cast<size_t>(rows), 0);
  policy_out_.reserve(rows, L, model.spec().vocab, false);
  reference_out_.reserve(rows, L, model.spec().vocab, false);
}

GoldComparison GoldEvaluation::run(Sampler& sampler, const Parameters& policy, const std::vector<Problem>& prompts,
                                   const GoldReward& gold, uint64_t seed) {
  if (sampler.batch_capacity() < rows_) throw std::invalid_argument("GoldEvaluation: the sampler holds too few rows");
  SamplingOptions s;
  s.temperature = 1.0f;
  s.max_new_tokens = task_.max_completion_length();
  s.eos = Vocabulary::kEos;
  s.pad = Vocabulary::kPad;
  const int count = static_cast<int>(prompts.size()), Lp = task_.max_prompt_length();
  Rng rng = streams::stream(seed, streams::kRollouts, 2), reference_rng = rng;
  GoldComparison out;
  if (count == 0) return out;
  for (int first = 0; first < count; first += rows_) {
    const int n = std::min(rows_, count - first);
    for (int i = 0; i < n; ++i) {
      const Problem& q = prompts[static_cast<size_t>(first + i)];
      lengths_[static_cast<size_t>(i)] = static_cast<int>(q.prompt.size());
      std::copy(q.prompt.begin(), q.prompt.end(), prompts_.begin() + static_cast<long>(i) * Lp);
    }
    sampler.generate(policy, prompts_.data(), lengths_.data(), n, Lp, 1, s, rng, policy_out_);
    sampler.generate(reference_, prompts_.data(), lengths_.data(), n, Lp, 1, s, reference_rng, reference_out_);
    // The reference's log-probabilities of the policy's samples (teacher forcing).
    int longest = 2;
    for (int i = 0; i < n; ++i) longest = std::max(longest, lengths_[static_cast<size_t>(i)] + policy_out_.lengths[i]);
    const int T = longest - 1;
    for (int i = 0; i < n; ++i)
      set_completion_row(batch_, nullptr, i, T, prompts[static_cast<size_t>(first + i)].prompt, policy_out_.row_tokens(i),
                         policy_out_.lengths[i]);
    batch_.set_sizes(graph_, n, T);
    graph_.forward(ref_logp_);
    const float* ref_lp = graph_.values(ref_logp_);
    for (int i = 0; i < n; ++i) {
      const Problem& q = prompts[static_cast<size_t>(first + i)];
      const int P = lengths_[static_cast<size_t>(i)];
      for (int k = 0; k < policy_out_.lengths[i]; ++k)
        out.kl += policy_out_.logp[static_cast<size_t>(i) * policy_out_.max_new + k] - ref_lp[static_cast<size_t>(i) * T + P - 1 + k];
      const double a = gold.reward(q, policy_out_.row_tokens(i), policy_out_.lengths[i]);
      const double b = gold.reward(q, reference_out_.row_tokens(i), reference_out_.lengths[i]);
      out.gold += a;
      out.gold_ref += b;
      out.win_rate += a > b ? 1.0 : (a == b ? 0.5 : 0.0);
    }
  }
  out.kl /= count;
  out.gold /= count;
  out.gold_ref /= count;
  out.win_rate /= count;
  return out;
}

}  // namespace pl
