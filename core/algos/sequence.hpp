// What every algorithm on a verifiable sequence task shares (SFT now; group-relative RL and
// preference optimization next): the task, a tiny transformer in one flat parameter buffer, Adam,
// a KV-cached sampler, a fixed held-out set and its evaluation, and the SequenceLearner view that
// the CLI (`policylab sample`, `policylab eval`) and the browser read.
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/algos/algorithm.hpp"
#include "core/nn/sampler.hpp"
#include "core/nn/transformer.hpp"
#include "core/tasks/task.hpp"

namespace pl {

// Token sequences on a tape: int [rows, time] inputs — token ids, positions, the attention key mask
// and the next-token targets — bound to buffers allocated for the capacities. Rows are written
// densely at the active time size (the tape's layout).
struct TokenBatch {
  int var_rows = 0, var_time = 0;
  Expr tokens, positions, mask, targets;
  std::vector<int32_t> token_ids, position_ids, key_mask, target_ids;

  void declare(Graph& g, int rows, int time);
  Dims dims(const Graph& g) const { return {g.dim(var_rows), g.dim(var_time)}; }
  void set_sizes(Graph& g, int rows, int time) const {
    g.set_size(var_rows, rows);
    g.set_size(var_time, time);
  }
  // Writes position t of row r (time = the active time size).
  void set(int r, int t, int time, int32_t token, int32_t position, bool real, int32_t target) {
    const size_t at = static_cast<size_t>(r) * time + t;
    token_ids[at] = token;
    position_ids[at] = position;
    key_mask[at] = real;
    target_ids[at] = target;
  }
  Transformer::Outputs build(Graph& g, const Transformer& model, Parameters& params, bool frozen = false) const {
    return model.build(g, params, tokens, positions, mask, frozen);
  }
};

struct HeldoutResult {
  int problems = 0;
  int distinct_problems = 0;  // distinct prompts among them: a small task's held-out split repeats
                              // (problems are drawn with replacement from it)
  double accuracy = 0;        // greedy pass@1: exact answers / problems
  double pass_at_k = 0;       // unbiased pass@k from k samples per problem (Chen et al. 2021); k = 0: not run
  int k = 0;
  double partial_mean = 0;    // mean partial credit of the greedy answers
  double well_formed = 0;     // share of greedy answers in the task's format
  double length_mean = 0;     // mean greedy completion length (tokens incl. EOS)
  // Tasks with two answer modes (SequenceTask::answer_modes, AdaptThink): the share of greedy
  // answers opening with the NoThinking marker, and the accuracy within each mode (NaN when no
  // answer took it, or without modes).
  double nothink_share = std::nan(""), accuracy_nothink = std::nan(""), accuracy_think = std::nan("");
};

// Counts greedy answers by their opening mode marker for HeldoutResult's mode fields.
class ModeTally {
 public:
  explicit ModeTally(const AnswerModes& modes) : modes_(modes) {}
  void add(const int32_t* completion, int length, bool correct);
  // Writes the shares into r; false (r untouched) when the task has no modes.
  bool finish(HeldoutResult& r) const;

 private:
  AnswerModes modes_;
  int answers_ = 0, nothink_ = 0, nothink_right_ = 0, think_ = 0, think_right_ = 0;
};

// The sequence-task view of an algorithm.
class SequenceLearner {
 public:
  virtual ~SequenceLearner() = default;
  virtual const SequenceTask& task() const = 0;
  virtual const Transformer& model() const = 0;
  virtual const Parameters& model_params() const = 0;

  // Completions of a prompt typed by a user: each with its text, the verifier's score and reward,
  // and per token its probability and the model's top next-token probabilities. Throws TaskError
  // for a prompt the task cannot read (unknown token, too long, wrong form).
  json complete(const std::string& prompt, int n, const SamplingOptions& options, uint64_t seed, int top = 5) const;
  // The seed of the training run's held-out set (task().heldout_set(heldout_size, kHeldoutSeed)):
  // the same problems in every run of a task.
  static constexpr uint64_t kHeldoutSeed = 0x68656c646f7574ULL;  // "heldout"
  // Held-out evaluation: greedy accuracy on `count` held-out problems (heldout_set(count, seed);
  // kHeldoutSeed scores the run's own held-out set), and pass@k with k samples at temperature 1
  // when k > 0.
  HeldoutResult evaluate(int count, int k, uint64_t seed) const;
  // The latest evaluation's first problems with their greedy completions (the browser's live table).
  virtual json recent_samples() const = 0;
  // Group-relative methods: the first groups of the latest training batch, each
  // {"prompt", "completions": [{"text", "reward", "advantage", "correct", "length"}]}; [] otherwise.
  virtual json recent_groups() const { return json::array(); }
};

class SequenceAlgorithm : public Algorithm, public SequenceLearner {
 public:
  // rollout_rows: the most completions one step samples at once (sizes the sampler).
  explicit SequenceAlgorithm(const Config& config, int rollout_rows = 0);

  int64_t global_step() const override { return global_step_; }
  int64_t iteration() const override { return iteration_; }
  bool done() const override { return iteration_ >= max_steps_; }
  Parameters& params() override { return params_; }
  const Parameters& params() const override { return params_; }
  void apply_config(const Config& config) override;
  SequenceLearner* sequence_learner() override { return this; }
  const SequenceLearner* sequence_learner() const override { return this; }

  const SequenceTask& task() const override { return *task_; }
  const Transformer& model() const override { return model_; }
  const Parameters& model_params() const override { return params_; }
  json recent_samples() const override;

 protected:
  // The learning rate of this step: linear decay to 0 over max_steps when anneal_lr is on.
  double step_learning_rate() const;
  // Clips, records gradient norms into m, and takes an optimizer step (skipped when non-finite).
  void optimizer_step(Metrics& m, double lr);
  // Greedy decoding of the fixed held-out set; fills the recent-samples table. No allocation.
  // With eval_pass_k > 0 also pass@k (heldout_pass_at_k below).
  HeldoutResult evaluate_heldout();
  void write_common_state(ByteWriter& w) const;
  void read_common_state(ByteReader& r);

  Config config_;
  std::unique_ptr<SequenceTask> task_;
  Parameters params_;
  Transformer model_;
  Optimizer optimizer_;
  mutable Sampler sampler_;
  Rng data_rng_;                      // training problems
  std::vector<Problem> heldout_;      // the fixed held-out set
  int64_t iteration_ = 0, global_step_ = 0, max_steps_ = 1;
  int batch_size_ = 1, eval_interval_ = 1, eval_pass_k_ = 0;
  double learning_rate_ = 0, max_grad_norm_ = 0;
  bool anneal_lr_ = false;
  // The latest held-out evaluation, reported at every step and kept in checkpoints.
  double last_heldout_accuracy_ = Metrics::kNaN, last_heldout_partial_ = Metrics::kNaN,
         last_heldout_well_formed_ = Metrics::kNaN, last_heldout_pass_at_k_ = Metrics::kNaN,
         last_heldout_nothink_share_ = Metrics::kNaN;

 private:
  double heldout_pass_at_k(int k);
  uint64_t eval_seed_ = 0;
  // Prompt buffers for held-out decoding (chunks of the sampler's capacity).
  std::vector<int32_t> eval_prompts_;
  std::vector<int> eval_lengths_;
  Completions eval_out_;
  // The recent-samples table: problem indices into heldout_, completions and their log-probs.
  static constexpr int kRecentRows = 8;
  std::vector<int32_t> recent_tokens_;
  std::vector<float> recent_logp_;
  std::vector<int> recent_lengths_;
  int recent_count_ = 0;
};

// Builds the transformer spec from a sequence config and its task (context 0: the task's need).
TransformerSpec transformer_spec(const Config& config, const SequenceTask& task);

}  // namespace pl
