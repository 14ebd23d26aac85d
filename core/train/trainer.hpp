// The Trainer API: the one entry point the native CLI and the browser (through wasm/) both drive.
//
//   pl::Trainer t(pl::validate_config(json));   // or Trainer::from_json
//   while (!t.done()) { const pl::Metrics& m = t.step(); ... }
//   t.evaluate(10, true);  t.save("ckpt");  auto t2 = pl::Trainer::load_file("ckpt");
//
// step() runs one iteration (collect a rollout, update the agent) and returns the metrics record.
// Hyperparameters marked `live` in the schema may be changed with set() between iterations.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/algos/actor_critic.hpp"
#include "core/autodiff/tape.hpp"
#include "core/train/config.hpp"
#include "core/util/rng.hpp"
#include "core/train/metrics.hpp"

namespace pl {

class Algorithm;
class Env;
class SequenceLearner;
class ComboLearner;

struct EvalResult {
  int episodes = 0;
  double return_mean = 0, return_std = 0, return_min = 0, return_max = 0;
  double length_mean = 0;
  std::vector<double> returns;
};

// Bad checkpoint (wrong magic, wrong version, truncated, checksum mismatch, config mismatch).
struct CheckpointError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Trainer {
 public:
  // A config with init_from starts from that checkpoint's model weights (a warm start).
  explicit Trainer(const Config& config) : Trainer(config, /*warm_start=*/true) {}
  static std::unique_ptr<Trainer> from_json(const json& user_config);  // validates first
  // init_from for callers without files (the browser): start from the model weights of the
  // checkpoint in `bytes`, before the first step; the same checks as init_from (CheckpointError).
  void warm_start_from_bytes(const std::string& bytes);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // One iteration: collect + update. Returns the record of this iteration.
  const Metrics& step();
  bool done() const;                       // the total_timesteps budget is used (see Algorithm::done)
  int64_t global_step() const;
  int64_t iteration() const;
  const Metrics& last_metrics() const { return metrics_; }

  // Runs `episodes` full episodes on fresh envs seeded from `seed`, with the mode (deterministic)
  // or sampled actions. Does not change the training state.
  EvalResult evaluate(int episodes, bool deterministic, uint64_t seed = 12345) const;

  // Changes a hyperparameter between iterations; throws ConfigError when the field is unknown,
  // not live, or its value is invalid.
  void set(const std::string& field, const json& value);
  const Config& config() const { return config_; }
  // The objective the algorithm minimises, printed from its loss expression (text and LaTeX, with
  // the coefficients' current values); empty when the algorithm prints none.
  Formula objective() const;

  // Checkpoint: versioned binary with config, parameters, optimizer and RNG state, and a checksum.
  std::string save_bytes() const;
  void save_file(const std::string& path) const;
  static std::unique_ptr<Trainer> load_bytes(const std::string& bytes);  // throws CheckpointError
  static std::unique_ptr<Trainer> load_file(const std::string& path);

  // --- Task kinds ---
  // "env" (Gym-style envs: act, policy_value, evaluate below) or "sequence" (sequence()).
  const std::string& task_kind() const;
  // What the run learns, for messages and file names: the env id, the sequence task id, or the
  // problem and its size ("tsp20").
  std::string task_name() const;
  // Sequence tasks: the task, the model, completions of a typed prompt, held-out evaluation.
  // Throws ConfigError on an env task.
  const SequenceLearner& sequence() const;
  // Combinatorial problems ("combo"): the problem, the policy and its solutions of given instances.
  // Throws ConfigError on another task kind.
  const ComboLearner& combo() const;
  // The algorithm itself (its task-kind views, e.g. a reward model's ensemble read by a GRPO run).
  const Algorithm& algorithm() const { return *algo_; }

  // --- Inspection (the browser's policy view, policy/value map and gradient charts) ---
  // Env tasks (classic control) have the methods below; on a sequence task they throw ConfigError.
  bool is_env_task() const;
  int obs_dim() const;
  int action_dim() const;          // Discrete: number of actions; Box: dimensions
  bool discrete_actions() const;
  // One action for one observation (observation in raw env units; normalisation is applied inside).
  // Sampling draws from `rng` (the caller's, so viewing never disturbs training).
  void act(const float* obs, bool deterministic, float* action_out, Rng& rng) const;
  // For n observations (row-major n x obs_dim): action probabilities (Discrete, n x A) or Gaussian
  // means clipped to the action box (Box, n x A), and state values (n).
  void policy_value(const float* obs, int n, float* action_out, float* value_out) const;
  // Parameter tensors: names ("actor.0.weight", ...), sizes, and the latest gradient of each
  // (after global-norm clipping, which scales all tensors by the same factor), e.g. for a histogram.
  const std::vector<std::string>& layer_names() const { return layer_names_; }
  std::vector<int> layer_sizes() const;
  const float* layer_gradient(int layer) const;
  int num_parameters() const;

 private:
  Config config_;
  std::unique_ptr<Algorithm> algo_;
  Metrics metrics_;
  double wall_offset_s_ = 0;  // wall time carried over from a loaded checkpoint
  double start_time_s_ = 0;
  std::vector<std::string> layer_names_;
  // Scratch for act()/policy_value(), grown on demand (inspection is outside the training loop).
  mutable std::unique_ptr<ActorCritic::Batch> inspect_batch_;
  const ActorCritic& env_agent() const;  // throws ConfigError on a sequence task
  void init_from_checkpoint();
  // Copies a checkpoint's model weights after checking it holds the same task, task options and
  // model (`what` names the source in the message).
  void take_model_weights(const Trainer& source, const std::string& what);
  // warm_start false: a checkpoint being loaded, whose own parameters replace any warm start.
  Trainer(const Config& config, bool warm_start);
  ActorCritic::Batch& inspect_batch(int n) const;
};

}  // namespace pl
