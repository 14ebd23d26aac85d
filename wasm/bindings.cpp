// Embind bindings over PolicyLab's Trainer API, config schema and envs, for the browser and node.
//
// This file holds no algorithm logic: it only translates between JS values and the core's types.
// Conventions:
//  - JSON crosses as strings (configs, schemas, evaluation results); JS parses them.
//  - Numbers in bulk cross as typed arrays, always *copied* into fresh JS arrays (a view into the
//    wasm heap would be invalidated by memory growth).
//  - Every C++ exception is caught here and recorded; wasm/post.js throws it as a JS Error whose
//    message is the core's message and whose name is the C++ error kind ("ConfigError",
//    "CheckpointError", "EnvError", "TaskError", "Error") once the call has returned, so a bad
//    config or prompt is a catchable JS error, never an abort, and no JS exception crosses a C++ frame.
//  - A trainer is of one task kind (taskKind(): "env" or "sequence"). Env-only methods (act,
//    policyValue, evaluate, obsDim...) and sequence-only ones (complete, recentSamples,
//    evaluateSequence) throw the core's ConfigError on a trainer of the other kind.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <malloc.h>
#include <new>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <string>
#include <variant>
#include <vector>

#include "core/algos/combo.hpp"
#include "core/algos/loss_lab.hpp"
#include "core/combo/solvers.hpp"
#include "core/algos/sequence.hpp"
#include "core/envs/env.hpp"
#include "core/util/json_input.hpp"
#include "core/tasks/registry.hpp"
#include "core/tasks/task.hpp"
#include "core/train/config.hpp"
#include "core/train/describe.hpp"
#include "core/train/metrics.hpp"
#include "core/train/presets.hpp"
#include "core/train/trainer.hpp"
#include "core/util/rng.hpp"

using emscripten::val;

// Heap allocations are counted so the wasm suite can check that the steady-state training loop
// allocates nothing in this build too (libc++ on wasm32 keeps shorter strings inline than
// libstdc++, so native's allocation test does not cover it).
#include "core/util/allocation_counter.hpp"

namespace {

// Errors: a C++ exception is caught here and recorded; the call returns a placeholder value and
// wasm/post.js, which wraps every bound function, throws the JS Error (message = the core's message,
// name = the C++ error kind) after the call has returned. A JS exception thrown from inside the C++
// frame would unwind it without running its destructors (the message strings and whatever else the
// frame held would leak on every error).
struct LastError {
  bool set = false;
  std::string kind, message;
};
LastError last_error;

void record_current_exception() {
  std::string kind, message;
  try {
    throw;
  } catch (const pl::ConfigError& e) {
    kind = "ConfigError";
    message = e.what();
  } catch (const pl::CheckpointError& e) {
    kind = "CheckpointError";
    message = e.what();
  } catch (const pl::EnvError& e) {
    kind = "EnvError";
    message = e.what();
  } catch (const pl::TaskError& e) {
    kind = "TaskError";
    message = e.what();
  } catch (const pl::JsonInputError& e) {  // parse_json: malformed, a repeated key, absurd nesting
    kind = "ConfigError";
    message = std::string("invalid JSON: ") + e.what();
  } catch (const pl::json::exception& e) {
    kind = "ConfigError";
    message = std::string("invalid JSON: ") + pl::strip_json_exception_tag(e.what());
  } catch (const std::exception& e) {
    kind = "Error";
    message = e.what();
  } catch (...) {
    kind = "Error";
    message = "unknown C++ exception";
  }
  last_error.set = true;
  last_error.kind = std::move(kind);
  last_error.message = std::move(message);
}

// The recorded error as {name, message} (then cleared), or null. Called by wasm/post.js after
// every bound call.
val take_error() {
  if (!last_error.set) return val::null();
  val err = val::object();
  err.set("name", val(last_error.kind));
  err.set("message", val(last_error.message));
  last_error = LastError{};
  return err;
}

template <typename T>
T failed_value() {
  return T{};
}
template <>
val failed_value<val>() {
  return val::undefined();
}

// Runs f(); a C++ exception is recorded (see above) and a placeholder returned.
template <typename F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (...) {
    record_current_exception();
  }
  return failed_value<decltype(f())>();
}

// A seed from JS arrives as a double: a non-integer, negative or > 2^53 - 1 value has no exact
// uint64 (the cast would be undefined), so it is refused like a bad config field.
uint64_t seed_from_js(double seed) {
  constexpr double kMaxExact = 9007199254740991.0;  // 2^53 - 1
  if (!(seed >= 0 && seed <= kMaxExact && std::floor(seed) == seed)) {
    std::ostringstream o;
    o.precision(17);
    o << seed;
    throw pl::ConfigError("seed must be an integer in [0, 9007199254740991], got " + o.str());
  }
  return static_cast<uint64_t>(seed);
}

template <typename T>
val copy_to_js(const char* ctor, const T* data, size_t n) {
  return val::global(ctor).new_(emscripten::typed_memory_view(n, data));
}

std::vector<float> floats_from_js(const val& v) { return emscripten::convertJSArrayToNumberVector<float>(v); }

// Settings and loss-lab inputs from the page: repeated keys and absurd nesting refused by message.
pl::json parse_json(const std::string& text) { return pl::parse_user_json(text); }

std::string schemas_json() {
  return guarded([] {
    pl::json out = pl::json::array();
    for (const pl::Schema& s : pl::all_schemas()) {
      pl::json j = s.to_json();
      // Schema::to_json gives {algo, summary, fields}; accept a bare field list as well.
      if (j.is_array()) j = pl::json{{"algo", s.algo}, {"summary", s.summary}, {"fields", j}};
      out.push_back(j);
    }
    return out.dump();
  });
}

std::string schema_json(const std::string& algo) {
  return guarded([&] { return pl::schema_for(algo).to_json().dump(); });
}

std::string env_ids_json() {
  return guarded([] { return pl::json(pl::env_ids()).dump(); });
}

// The fixed metric columns every trainer has; a trainer's own list (metricNames) adds its extras.
std::string scalar_names_json() {
  return guarded([] { return pl::json(pl::Metrics::scalar_names()).dump(); });
}

// Every sequence task with its default options (describe_task: vocabulary, lengths, option fields,
// an example problem).
std::string list_tasks_json() {
  return guarded([] {
    pl::json out = pl::json::array();
    for (const pl::TaskSpec& spec : pl::all_tasks()) out.push_back(pl::describe_task(*pl::make_task(spec.id)));
    return out.dump();
  });
}

// One task with the given options (a JSON object of some of its option fields; "" or {} = defaults).
std::string describe_task_json(const std::string& id, const std::string& options_json) {
  return guarded([&] {
    pl::json options = options_json.empty() ? pl::json::object() : parse_json(options_json);
    return pl::describe_task(*pl::make_task(id, options)).dump();
  });
}

// Validates a config and returns the complete config (every field, defaults filled in).
std::string validate_config_json(const std::string& text) {
  return guarded([&] { return pl::validate_config(parse_json(text)).values().dump(); });
}

// Facts about an env for the UI: spaces, names of state and render fields, time limit.
std::string env_info_json(const std::string& id) {
  return guarded([&] { return pl::describe_env(*pl::make_env(id)).dump(); });
}

// ---------------------------------------------------------------------------------------------
// An env driven from JS (the real-time policy viewer). Box actions are clipped to the action space
// before stepping, as the training VectorEnv does.
class JsEnv {
 public:
  explicit JsEnv(std::unique_ptr<pl::Env> env) : env_(std::move(env)) {
    obs_.resize(env_->observation_space().flat_dim());
    render_.resize(env_->render_size());
    act_.resize(env_->action_space().flat_dim());
  }
  static JsEnv* make(const std::string& id) {
    return guarded([&] { return new JsEnv(pl::make_env(id)); });
  }

  std::string id() const { return env_->id(); }
  int obs_dim() const { return static_cast<int>(obs_.size()); }
  int max_episode_steps() const { return env_->max_episode_steps(); }
  int elapsed_steps() const { return env_->elapsed_steps(); }

  val reset(double seed) {
    return guarded([&] {
      env_->reset(seed_from_js(seed), obs_.data());
      return copy_to_js("Float32Array", obs_.data(), obs_.size());
    });
  }

  // Returns {obs, reward, terminated, truncated, cost}.
  val step(const val& action) {
    return guarded([&] {
      std::vector<float> a = floats_from_js(action);
      const pl::Space& as = env_->action_space();
      if (static_cast<int>(a.size()) != as.flat_dim())
        throw pl::EnvError("action has " + std::to_string(a.size()) + " values, expected " +
                           std::to_string(as.flat_dim()));
      if (!as.is_discrete()) {
        for (size_t i = 0; i < a.size(); ++i) a[i] = std::min(std::max(a[i], as.low[i]), as.high[i]);
      }
      pl::StepResult r = env_->step(a.data(), obs_.data());
      val out = val::object();
      out.set("obs", copy_to_js("Float32Array", obs_.data(), obs_.size()));
      out.set("reward", r.reward);
      out.set("terminated", r.terminated);
      out.set("truncated", r.truncated);
      out.set("cost", r.cost);
      return out;
    });
  }

  val observe() {
    env_->observe(obs_.data());
    return copy_to_js("Float32Array", obs_.data(), obs_.size());
  }
  val render_state() {
    env_->render_state(render_.data());
    return copy_to_js("Float32Array", render_.data(), render_.size());
  }
  std::string render_names() const { return pl::json(env_->render_names()).dump(); }

  pl::Env& env() { return *env_; }

 private:
  std::unique_ptr<pl::Env> env_;
  std::vector<float> obs_, render_, act_;
};

// ---------------------------------------------------------------------------------------------
class JsTrainer {
 public:
  explicit JsTrainer(std::unique_ptr<pl::Trainer> t) : t_(std::move(t)) { init_buffers(); }

  static JsTrainer* from_json(const std::string& text) {
    return guarded([&] { return new JsTrainer(pl::Trainer::from_json(parse_json(text))); });
  }
  static JsTrainer* from_checkpoint(const val& bytes) {
    return guarded([&] {
      std::vector<uint8_t> b = emscripten::convertJSArrayToNumberVector<uint8_t>(bytes);
      std::string s(b.begin(), b.end());
      return new JsTrainer(pl::Trainer::load_bytes(s));
    });
  }

  // init_from for the browser: the model weights of a checkpoint (bytes), before the first step.
  void warm_start(const val& bytes) {
    guarded([&] {
      std::vector<uint8_t> b = emscripten::convertJSArrayToNumberVector<uint8_t>(bytes);
      t_->warm_start_from_bytes(std::string(b.begin(), b.end()));
      return 0;
    });
  }

  // "env" or "sequence"; the env id or the task id.
  std::string task_kind() const { return t_->task_kind(); }
  std::string task_name() const { return t_->task_name(); }
  // This trainer's metric columns: the fixed ones, then its algorithm's extras (e.g. SFT's
  // heldout_accuracy). step() and stepMany() rows follow this order.
  std::string metric_names() const { return pl::json(t_->last_metrics().names()).dump(); }

  // One iteration; returns the scalar metrics (Float64Array in metricNames() order).
  val step() {
    return guarded([&] {
      const pl::Metrics& m = t_->step();
      m.scalars(scalars_.data());
      return copy_to_js("Float64Array", scalars_.data(), scalars_.size());
    });
  }

  // Up to `max_iters` iterations, stopping early when done, when a metric is non-finite, or when
  // `budget_ms` of wall time has passed (checked between iterations). Returns a Float64Array of
  // k rows x metricNames().length columns, k >= 0; per-layer gradient norms of the last row are in
  // layer_grad_norms(). The worker batches metrics with this and sends them to the UI at once.
  val step_many(int max_iters, double budget_ms) {
    return guarded([&] {
      const size_t cols = scalars_.size();
      batch_.clear();
      double start = emscripten_now();
      for (int i = 0; i < max_iters && !t_->done(); ++i) {
        const pl::Metrics& m = t_->step();
        size_t off = batch_.size();
        batch_.resize(off + cols);
        m.scalars(batch_.data() + off);
        if (!m.first_non_finite().empty()) break;
        if (emscripten_now() - start >= budget_ms) break;
      }
      return copy_to_js("Float64Array", batch_.data(), batch_.size());
    });
  }

  std::string first_non_finite() const { return t_->last_metrics().first_non_finite(); }
  std::string last_metrics_json() const {
    return t_->last_metrics().to_json(t_->layer_names()).dump();
  }
  val layer_grad_norms() const {
    const auto& v = t_->last_metrics().layer_grad_norms;
    return copy_to_js("Float32Array", v.data(), v.size());
  }

  bool done() const { return t_->done(); }
  double global_step() const { return static_cast<double>(t_->global_step()); }
  double iteration() const { return static_cast<double>(t_->iteration()); }
  std::string config_json() const { return t_->config().values().dump(); }
  // The objective the algorithm minimises, printed by the core from its loss expression:
  // {text, latex, where_text, where_latex} (empty strings and lists when the algorithm prints none).
  std::string objective_json() const {
    return guarded([&] {
      const pl::Formula f = t_->objective();
      return pl::json{{"text", f.text}, {"latex", f.latex}, {"where_text", f.where_text}, {"where_latex", f.where_latex}}
          .dump();
    });
  }

  void set(const std::string& field, const std::string& value_json) {
    guarded([&] {
      t_->set(field, parse_json(value_json));
      return 0;
    });
  }

  std::string evaluate(int episodes, bool deterministic, double seed) const {
    return guarded([&] {
      return pl::describe_evaluation(t_->evaluate(episodes, deterministic, seed_from_js(seed))).dump();
    });
  }

  val save_bytes() const {
    return guarded([&] {
      std::string s = t_->save_bytes();
      return copy_to_js("Uint8Array", reinterpret_cast<const uint8_t*>(s.data()), s.size());
    });
  }

  int obs_dim() const { return guarded([&] { return t_->obs_dim(); }); }
  int action_dim() const { return guarded([&] { return t_->action_dim(); }); }
  bool discrete_actions() const { return guarded([&] { return t_->discrete_actions(); }); }
  int num_parameters() const { return t_->num_parameters(); }
  std::string layer_names() const { return pl::json(t_->layer_names()).dump(); }
  std::string layer_sizes() const { return pl::json(t_->layer_sizes()).dump(); }
  val layer_gradient(int i) const {
    return guarded([&] {
      std::vector<int> sizes = t_->layer_sizes();
      if (i < 0 || i >= static_cast<int>(sizes.size()))
        throw std::out_of_range("layer index " + std::to_string(i) + " out of range");
      return copy_to_js("Float32Array", t_->layer_gradient(i), static_cast<size_t>(sizes[i]));
    });
  }

  // --- Sequence tasks ---
  // Completions of a typed prompt (SequenceLearner::complete as JSON: prompt, reference, and per
  // completion its text, verifier score, reward and per-token probabilities with the top 5
  // alternatives). A prompt the task cannot read throws TaskError with the core's message.
  std::string complete(const std::string& prompt, int n, double temperature, int top_k, double top_p, bool greedy,
                       double seed) const {
    return guarded([&] {
      pl::SamplingOptions o;
      o.temperature = static_cast<float>(temperature);
      o.top_k = top_k;
      o.top_p = static_cast<float>(top_p);
      o.greedy = greedy;
      return t_->sequence().complete(prompt, n, o, seed_from_js(seed), kTopTokens).dump();
    });
  }
  // The latest held-out evaluation's first problems and greedy completions (JSON array).
  std::string recent_samples() const {
    return guarded([&] { return t_->sequence().recent_samples().dump(); });
  }
  // Group-relative methods: the latest training batch's first groups (JSON array; [] for others).
  std::string recent_groups() const {
    return guarded([&] { return t_->sequence().recent_groups().dump(); });
  }
  // --- Combinatorial problems ---
  // The policy's solutions of instances given as dataset text, with a decode ("greedy",
  // "sample:N", "multistart", "multistart_aug8"): ComboLearner::solve_text as JSON.
  std::string combo_solve(const std::string& text, const std::string& decode, double seed) const {
    return guarded([&] { return t_->combo().solve_text(text, decode, seed_from_js(seed)).dump(); });
  }
  // Greedy accuracy on `count` held-out problems, and pass@k (k samples at temperature 1) when k > 0.
  std::string evaluate_sequence(int count, int k, double seed) const {
    return guarded([&] {
      const pl::HeldoutResult r = t_->sequence().evaluate(count, k, seed_from_js(seed));
      return pl::json{{"problems", r.problems},         {"distinct_problems", r.distinct_problems},
                      {"accuracy", r.accuracy},         {"pass_at_k", r.pass_at_k},
                      {"k", r.k},                       {"partial_mean", r.partial_mean},
                      {"well_formed", r.well_formed},   {"length_mean", r.length_mean}}
          .dump();
    });
  }

  // Seeds the generator act() samples from (the viewer's own; never the trainer's).
  void seed_viewer(double seed) {
    guarded([&] {
      viewer_rng_ = pl::streams::stream(seed_from_js(seed), pl::streams::kViewer);
      return 0;
    });
  }

  // One action for one observation (raw env units). Discrete: [index]; Box: action_dim values
  // (unclipped; JsEnv.step clips).
  val act(const val& obs, bool deterministic) {
    return guarded([&] {
      std::vector<float> o = floats_from_js(obs);
      check_obs(o.size(), 1);
      int n = t_->discrete_actions() ? 1 : t_->action_dim();
      act_.assign(n, 0.0f);
      t_->act(o.data(), deterministic, act_.data(), viewer_rng_);
      return copy_to_js("Float32Array", act_.data(), act_.size());
    });
  }

  // Policy and value for n observations (row-major n x obs_dim). Returns {action, value}:
  // action n x action_dim (probabilities for Discrete, clipped means for Box), value n.
  val policy_value(const val& obs, int n) {
    return guarded([&] {
      std::vector<float> o = floats_from_js(obs);
      check_obs(o.size(), n);
      pv_action_.assign(static_cast<size_t>(n) * t_->action_dim(), 0.0f);
      pv_value_.assign(n, 0.0f);
      t_->policy_value(o.data(), n, pv_action_.data(), pv_value_.data());
      val out = val::object();
      out.set("action", copy_to_js("Float32Array", pv_action_.data(), pv_action_.size()));
      out.set("value", copy_to_js("Float32Array", pv_value_.data(), pv_value_.size()));
      return out;
    });
  }

 private:
  static constexpr int kTopTokens = 5;
  static double emscripten_now() { return val::global("performance").call<double>("now"); }

  void init_buffers() {
    scalars_.assign(static_cast<size_t>(t_->last_metrics().num_scalars()), 0.0);
    seed_viewer(0);
  }
  void check_obs(size_t got, int n) const {
    if (n < 0 || got != static_cast<size_t>(n) * t_->obs_dim())
      throw std::invalid_argument("observation array has " + std::to_string(got) + " values, expected " +
                                  std::to_string(static_cast<size_t>(std::max(n, 0)) * t_->obs_dim()));
  }

  std::unique_ptr<pl::Trainer> t_;
  std::vector<double> scalars_, batch_;
  std::vector<float> act_, pv_action_, pv_value_;
  pl::Rng viewer_rng_;
};

// The loss lab (core/algos/loss_lab.hpp) for the browser's loss explorer: the result as JSON, or
// {"error": message} for input the lab rejects (nothing is thrown across the boundary).
std::string loss_lab_json(const std::string& name, const std::string& input, const std::string& options) {
  try {
    return pl::evaluate_loss_lab(name, parse_json(input), parse_json(options)).dump();
  } catch (const std::exception& e) {
    return pl::json{{"error", e.what()}}.dump();
  }
}

// RLHF in the browser: GRPO's reward_model field names a file, so a reward-model checkpoint the page
// holds (a file the user picked, or another run's checkpoint) is written into the worker's in-memory
// file system, named by a hash of its bytes; the returned path goes into the config. The GRPO
// trainer reads and checks it (a checkpoint of another algorithm or task is reported there).
std::string store_reward_model(const emscripten::val& bytes) {
  return guarded([&] {
    const std::vector<uint8_t> b = emscripten::convertJSArrayToNumberVector<uint8_t>(bytes);
    if (b.empty()) throw std::invalid_argument("the reward-model checkpoint is empty");
    uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (uint8_t x : b) h = (h ^ x) * 1099511628211ULL;
    mkdir("/reward_models", 0777);
    std::ostringstream name;
    name << "/reward_models/" << std::hex << h << ".ckpt";
    std::ofstream out(name.str(), std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    if (!out) throw std::runtime_error("could not keep the reward-model checkpoint in memory");
    return name.str();
  });
}

// The combinatorial problems' reference solvers (core/combo/solvers.hpp) for the playground's
// instance view; errors come back as {"error": message} like the loss lab's.
std::string combo_solve_json(const std::string& problem, const std::string& text, const std::string& solver) {
  try {
    return pl::combo::solve_to_json(problem, text, solver).dump();
  } catch (const std::exception& e) {
    return pl::json{{"error", e.what()}}.dump();
  }
}

// The instances of a pasted text (a dataset, a TSPLIB or a job-shop file) read by the core's own
// readers and written back as dataset lines, one per instance, so the page draws exactly what the
// solvers read: {"text", "count"}, or {"error"} naming the line and the problem.
struct DatasetLine {
  template <typename Instance>
  std::string operator()(const Instance& instance) const { return write(std::vector<Instance>{instance}); }
  static std::string write(const std::vector<pl::combo::TspInstance>& v) { return pl::combo::write_tsp_dataset(v); }
  static std::string write(const std::vector<pl::combo::CvrpInstance>& v) { return pl::combo::write_cvrp_dataset(v); }
  static std::string write(const std::vector<pl::combo::KnapsackInstance>& v) { return pl::combo::write_knapsack_dataset(v); }
  static std::string write(const std::vector<pl::combo::JobShopInstance>& v) { return pl::combo::write_jobshop_dataset(v); }
  static std::string write(const std::vector<pl::combo::BinPack1DInstance>& v) { return pl::combo::write_binpack1d_dataset(v); }
  static std::string write(const std::vector<pl::combo::BinPack3DInstance>& v) { return pl::combo::write_binpack3d_dataset(v); }
};

std::string combo_read(const std::string& problem, const std::string& text) {
  try {
    const pl::combo::ProblemKind kind = pl::combo::parse_problem(problem);
    const std::vector<pl::combo::AnyInstance> instances = pl::combo::read_instances(kind, text, "<pasted>");
    if (instances.empty()) throw pl::combo::ComboError(std::string("no ") + pl::combo::problem_name(kind) + " instance in the text");
    std::string lines;
    for (const pl::combo::AnyInstance& instance : instances) lines += std::visit(DatasetLine{}, instance);
    return pl::json{{"text", lines}, {"count", instances.size()}}.dump();
  } catch (const std::exception& e) {
    return pl::json{{"error", e.what()}}.dump();
  }
}

std::string combo_generate(const std::string& problem, int n, int machines, double seed) {
  try {
    const uint64_t s = seed_from_js(seed);
    const pl::combo::ProblemKind kind = pl::combo::parse_problem(problem);
    return pl::json{{"text", pl::combo::generate_dataset(kind, n, machines, 1, s)}}.dump();
  } catch (const std::exception& e) {
    return pl::json{{"error", e.what()}}.dump();
  }
}

}  // namespace

EMSCRIPTEN_BINDINGS(policylab) {
  pl::allocation_counter::counting = true;
  using namespace emscripten;
  function("takeError", &take_error);
  function("storeRewardModel", &store_reward_model);
  // Bytes of the heap in use (malloc's count), so the wasm suite can check that errors leak nothing.
  function("heapInUse", +[]() { return static_cast<double>(mallinfo().uordblks); });
  function("allocationCount", +[]() { return static_cast<double>(pl::allocation_counter::count); });
  function("schemas", &schemas_json);
  function("schema", &schema_json);
  function("envIds", &env_ids_json);
  function("scalarNames", &scalar_names_json);
  function("validateConfig", &validate_config_json);
  function("envInfo", &env_info_json);
  function("listTasks", &list_tasks_json);
  function("describeTask", &describe_task_json);
  // The preset table (core/train/presets.cpp) as JSON: the page applies it (web/src/presets.ts).
  function("presets", +[]() { return pl::presets_to_json().dump(); });
  function("lossLabCatalog", +[]() { return pl::loss_lab_catalog().dump(); });
  function("lossLab", &loss_lab_json);
  function("comboCatalog", +[]() { return pl::combo::solver_catalog().dump(); });
  function("comboSolve", &combo_solve_json);
  function("comboGenerate", &combo_generate);
  function("comboRead", &combo_read);

  class_<JsTrainer>("Trainer")
      .class_function("fromJson", &JsTrainer::from_json, allow_raw_pointers())
      .class_function("fromCheckpoint", &JsTrainer::from_checkpoint, allow_raw_pointers())
      .function("warmStart", &JsTrainer::warm_start)
      .function("taskKind", &JsTrainer::task_kind)
      .function("taskName", &JsTrainer::task_name)
      .function("metricNames", &JsTrainer::metric_names)
      .function("step", &JsTrainer::step)
      .function("stepMany", &JsTrainer::step_many)
      .function("firstNonFinite", &JsTrainer::first_non_finite)
      .function("lastMetricsJson", &JsTrainer::last_metrics_json)
      .function("layerGradNorms", &JsTrainer::layer_grad_norms)
      .function("done", &JsTrainer::done)
      .function("globalStep", &JsTrainer::global_step)
      .function("iteration", &JsTrainer::iteration)
      .function("configJson", &JsTrainer::config_json)
      .function("objectiveJson", &JsTrainer::objective_json)
      .function("set", &JsTrainer::set)
      .function("evaluate", &JsTrainer::evaluate)
      .function("saveBytes", &JsTrainer::save_bytes)
      .function("comboSolve", &JsTrainer::combo_solve)
      .function("obsDim", &JsTrainer::obs_dim)
      .function("actionDim", &JsTrainer::action_dim)
      .function("discreteActions", &JsTrainer::discrete_actions)
      .function("numParameters", &JsTrainer::num_parameters)
      .function("layerNames", &JsTrainer::layer_names)
      .function("layerSizes", &JsTrainer::layer_sizes)
      .function("layerGradient", &JsTrainer::layer_gradient)
      .function("seedViewer", &JsTrainer::seed_viewer)
      .function("act", &JsTrainer::act)
      .function("policyValue", &JsTrainer::policy_value)
      .function("complete", &JsTrainer::complete)
      .function("recentSamples", &JsTrainer::recent_samples)
      .function("recentGroups", &JsTrainer::recent_groups)
      .function("evaluateSequence", &JsTrainer::evaluate_sequence);

  class_<JsEnv>("Env")
      .class_function("make", &JsEnv::make, allow_raw_pointers())
      .function("id", &JsEnv::id)
      .function("obsDim", &JsEnv::obs_dim)
      .function("maxEpisodeSteps", &JsEnv::max_episode_steps)
      .function("elapsedSteps", &JsEnv::elapsed_steps)
      .function("reset", &JsEnv::reset)
      .function("step", &JsEnv::step)
      .function("observe", &JsEnv::observe)
      .function("renderState", &JsEnv::render_state)
      .function("renderNames", &JsEnv::render_names);
}
