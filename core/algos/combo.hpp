// The "combo" task kind: a constructive policy (the Attention Model, core/nn/attention_model.hpp)
// learning to solve a combinatorial problem (core/combo/). ComboLearner is the view the Trainer,
// the CLI (`policylab eval CHECKPOINT --instances FILE`) and the browser read: the problem, the model,
// and the current policy's solutions of given instances.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/algos/algorithm.hpp"
#include "core/combo/policy_decoder.hpp"
#include "core/nn/attention_model.hpp"

namespace pl {

class ComboLearner {
 public:
  virtual ~ComboLearner() = default;
  virtual combo::ProblemKind problem() const = 0;
  virtual int n() const = 0;  // the instance size the policy trains on (job-shop: jobs)
  virtual const Parameters& model_params() const = 0;
  // The rollout baseline's frozen copy of the parameters (Kool et al. 2019's baseline policy), or
  // nullptr when the run has none: for inspecting when the copy is replaced.
  virtual const Parameters* baseline_params() const { return nullptr; }
  // The current policy's solutions of `instances` (of its problem, any size the encoder takes;
  // coordinates outside the unit square are scaled into it) and their objectives by the problem's
  // checker (combo::solve_instances). Returns the seconds spent decoding. Does not change the
  // training state.
  // Each policy decodes its own way (the Attention Model: combo::solve_instances; the job-shop
  // re-encoding policy: combo::solve_jobshop_instances).
  virtual double solve(const std::vector<combo::AnyInstance>& instances, const combo::DecodeOptions& options,
                       uint64_t seed, std::vector<std::vector<int>>& solutions, std::vector<double>& objectives) const = 0;

  // The largest instance the policy decodes (its encoder's buffers grow with the nodes).
  static constexpr int kMaxPolicyNodes = 1024;
  // Instances of the policy's problem read from dataset, TSPLIB or job-shop text (read_instances),
  // each with at least 2 and at most kMaxPolicyNodes encoder nodes (cities, depot + customers,
  // items, jobs);
  // ComboError naming `source` and the instance otherwise.
  std::vector<combo::AnyInstance> read_policy_instances(const std::string& text, const std::string& source) const;
  // The policy's solutions of the instances in `text` with decode "greedy" | "sample:N" |
  // "multistart" | "multistart_aug8" (the browser's call): {"decode", "seconds", "instances":
  // [{"objective", "solution"}]}. Throws ComboError for bad text or decode.
  nlohmann::json solve_text(const std::string& text, const std::string& decode, uint64_t seed) const;
};

// What every combinatorial training run shares (pomo.cpp's Attention Model runs and
// pomo_jobshop.cpp's re-encoding job-shop runs): the config and its live fields, the step counters,
// the model's parameters and the learning-rate schedule.
class ComboRun : public Algorithm, public ComboLearner {
 public:
  explicit ComboRun(const Config& c) : config_(c), max_steps_(c.get_int("max_steps")), eval_interval_(c.get_int("eval_interval")) {
    ComboRun::apply_config(c);
  }
  void apply_config(const Config& c) override {
    config_ = c;
    learning_rate_ = c.get_float("learning_rate");
    max_grad_norm_ = c.get_float("max_grad_norm");
    anneal_lr_ = c.get_bool("anneal_lr");
  }
  int64_t global_step() const override { return global_step_; }
  int64_t iteration() const override { return iteration_; }
  bool done() const override { return iteration_ >= max_steps_; }
  Parameters& params() override { return params_; }
  const Parameters& params() const override { return params_; }
  ComboLearner* combo_learner() override { return this; }
  const ComboLearner* combo_learner() const override { return this; }

 protected:
  // The metrics every combo run reports, in this order (a run's own follow).
  static std::vector<std::string> combo_metric_names() {
    return {"train_objective", "baseline_value", "heldout_objective", "heldout_gap", "heldout_multistart_objective",
            "heldout_multistart_gap", "reference_objective", "baseline_updates", "baseline_p_value", "instances_per_s",
            "critic_loss"};
  }
  // This step's Adam step size: learning_rate, decayed linearly to 0 over max_steps with anneal_lr.
  double step_learning_rate() const {
    return anneal_lr_ ? learning_rate_ * std::max(0.0, 1.0 - static_cast<double>(iteration_) / max_steps_) : learning_rate_;
  }

  Config config_;
  Parameters params_;
  int64_t iteration_ = 0, global_step_ = 0, max_steps_ = 1, eval_interval_ = 1;
  double learning_rate_ = 0, max_grad_norm_ = 0;
  bool anneal_lr_ = false;
};

// One-sided paired t-test of the rollout baseline (Kool et al. 2019, Sec. 4, "the baseline
// policy is replaced when the improvement is significant according to a paired t-test
// (alpha = 5%)"): costs of the candidate and the baseline policy on the same m instances; returns the
// p-value of H0 "mean(candidate - baseline) >= 0" against H1 "< 0" (candidate better), from the
// Student t distribution with m - 1 degrees of freedom. Equal costs give p = 0.5; m < 2 gives 1.
double paired_t_test_p(const double* candidate, const double* baseline, int m);
// Poppy's advantages (Grinsztajn et al. 2023, "Winner Takes It All", Alg. 1): objectives [K, R] of
// K agents on the same R trajectory slots (instance x first action); per slot the best agent k*
// (the lowest index on ties) gets adv[k*, r] = R(tau_k*) - R(tau_k**), its return minus the second
// best agent's (returns: the objective, negated when it is minimised); every other entry is 0.
// Returns the mean over slots of the second-best objective (the winners' baseline). K >= 2.
double poppy_advantages(const double* objectives, int K, size_t R, bool maximize, float* adv);
// Student's t cumulative distribution P(T <= t) with nu degrees of freedom.
double student_t_cdf(double t, double nu);

// The held-out set of a tsp, cvrp or knapsack run (pomo.cpp; tsp and cvrp with reencode too): the same
// `count` instances of size n for every run whatever its seed and policy, so runs compare fairly.
combo::PolicyBatch policy_heldout_set(combo::ProblemKind kind, int n, int count);
// Their held-out gap's reference solver: the config's `reference`, or by problem and size (auto):
// Held-Karp (exact) for TSP up to 13 cities, else local search (2-opt + Or-opt from farthest
// insertion); Clarke-Wright savings for CVRP (no exact CVRP solver here); branch and bound (exact)
// for knapsack. ConfigError naming the field for a solver of another problem or past its size.
std::string policy_reference_solver(const Config& c, combo::ProblemKind kind, int n);

// The encoder's shape fields of a combo config (d_model, n_heads, n_layers, d_ff, tanh_clip) into
// a model spec: the Attention Model's and the re-encoding policy's read the same fields.
template <class Spec>
void read_encoder_shape(const Config& c, Spec& s) {
  s.d_model = static_cast<int>(c.get_int("d_model"));
  s.n_heads = static_cast<int>(c.get_int("n_heads"));
  s.n_layers = static_cast<int>(c.get_int("n_layers"));
  s.d_ff = static_cast<int>(c.get_int("d_ff"));
  s.tanh_clip = static_cast<float>(c.get_float("tanh_clip"));
  if (s.d_model % s.n_heads != 0)
    throw ConfigError("field 'n_heads' must divide d_model = " + std::to_string(s.d_model) + ", got " +
                      std::to_string(s.n_heads));
}

}  // namespace pl
