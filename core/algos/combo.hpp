// The "combo" task kind: a constructive policy (the Attention Model, core/nn/attention_model.hpp)
// learning to solve a combinatorial problem (core/combo/). ComboLearner is the view the Trainer,
// the CLI (`policylab eval CHECKPOINT --instances FILE`) and the browser read: the problem, the model,
// and the current policy's solutions of given instances.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/combo/policy_decoder.hpp"
#include "core/nn/attention_model.hpp"

namespace pl {

class ComboLearner {
 public:
  virtual ~ComboLearner() = default;
  virtual combo::ProblemKind problem() const = 0;
  virtual int n() const = 0;  // the instance size the policy trains on (job-shop: jobs)
  virtual const Parameters& model_params() const = 0;
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

}  // namespace pl
