// The training run of a re-encoding policy (core/combo/reencoding_policy.hpp), shared by every
// problem that has one (`pomo` with problem jobshop: pomo_jobshop.cpp; binpack1d / binpack3d:
// pomo_binpack.cpp; tsp / cvrp with reencode: pomo_routing_reencoding.cpp). A problem plugs in
// through a ReencodingRunProblem: its adapter, its training
// and held-out instances, its group of trajectories per instance and its reference objectives.
//
// Training (REINFORCE): each of the batch_size fresh instances is rolled out S times (the
// problem's group: job-shop's and routing's n POMO starts, each trajectory forced to a different
// first node; bin packing's `samples` sampled trajectories). The return of a trajectory is R = -objective / Z
// (minimised) or +objective / Z (maximised), Z the instance's scale, and
//     loss = -1/(B S) sum_{b,s} (R_bs - b_bs) sum_t log p_theta(a_t | s_t)       (POMO Eq. 4)
// summed over the recorded decisions with two or more allowed nodes (the others have log-prob 0),
// scored in chunks of the same tape pass that decoded them (gradients accumulate). The baseline
// b_bs (`baseline`):
//  - pomo: the mean return of the instance's S trajectories (Kwon et al. 2020, POMO, Eq. 3:
//    b = 1/N sum_j R(tau_j); with sampled instead of forced starts it is the same shared mean over
//    N samples of one instance);
//  - exponential (Kool et al. 2019, "Attention, Learn to Solve Routing Problems!", Sec. 4):
//    b <- beta b + (1 - beta) mean_{b,s} R_bs (beta = exp_beta), started at the first batch's mean;
//    kept on the scaled returns R, so R - b is in one unit whatever each instance's Z;
//  - rollout (Kool et al. 2019, Sec. 4 and Alg. 1): b_bs = the return of a greedy rollout of a
//    frozen copy of the policy on the same instance (job-shop: forced to the trajectory's own first
//    job, the state its log-probabilities condition on; bin packing: one per instance). The first
//    bl_interval steps use the exponential baseline (warm-up); at the end of every epoch of
//    bl_interval steps the current and the frozen policy decode an evaluation set of bl_eval_size
//    instances greedily and the frozen copy takes the current parameters when the current policy's
//    mean is better and a one-sided paired t-test gives p < bl_alpha (combo_baselines.hpp); the set
//    is drawn anew after each replacement. The frozen copy is a second policy of the problem over
//    its own ReencodingModel and Parameters (ReencodingRunProblem::make_baseline_policy).
// One Adam step with global-norm clipping per iteration. Held-out evaluation on the problem's fixed
// held-out set (a seed of its own: every run of the problem evaluates on the same instances): one
// greedy trajectory per instance, and the problem's multi-trajectory decode (job-shop: every first
// job, greedy; bin packing: S samples from a fixed seed) with the best per instance; gap to the
// problem's reference solver. Metrics as pomo's (combo_metric_names): baseline_value in objective
// units (pomo: the batch's mean objective; exponential: b times each instance's Z, sign undone,
// averaged over the batch; rollout: the frozen policy's mean greedy objective), baseline_p_value and
// baseline_updates of the rollout baseline's t-tests. Checkpoints hold the moving average and the
// frozen copy (not written with pomo, whose checkpoints keep their layout).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/algos/combo.hpp"
#include "core/combo/policy_decoder.hpp"
#include "core/combo/reencoding_policy.hpp"
#include "core/combo/solvers.hpp"
#include "core/nn/reencoding_model.hpp"

namespace pl {

// The instance sets a run problem holds; use() makes one the source of both policies.
enum class RunSet {
  kTraining,      // the batch drawn by draw()
  kHeldout,       // the problem's fixed held-out set
  kBaselineEval,  // the rollout baseline's evaluation set (draw_baseline_eval)
};

class ReencodingRunProblem {
 public:
  virtual ~ReencodingRunProblem() = default;
  virtual combo::ProblemKind kind() const = 0;
  virtual int n() const = 0;          // the training size (jobs, items)
  virtual int node_dim() const = 0;
  virtual int max_nodes() const = 0;  // nodes per row of the training and held-out instances
  virtual int max_decisions() const = 0;  // decisions per trajectory at most
  virtual bool maximize() const = 0;
  // Trajectories per training instance, and trajectory s's forced first node (-1: the policy's).
  virtual int group() const = 0;
  virtual int train_start(int s) const = 0;
  // The single greedy trajectory's first node of instance i of a set (-1: the policy's), and
  // whether the held-out multi-trajectory decode forces starts (group() greedy trajectories, from
  // train_start(s)) or samples group() of them.
  virtual int greedy_start(RunSet set, int i) const = 0;
  virtual bool heldout_multistart() const = 0;
  // Makes the policy (after the model's parameters are finalised): max_rows rows.
  virtual void make_policy(const ReencodingModel& model, Parameters& params, int max_rows, int batch_size,
                           int heldout_size) = 0;
  // The rollout baseline's frozen policy: a second policy of the problem over another model and
  // parameters (the frozen copy), max_rows rows, and room for an evaluation set of eval_size
  // instances. A second policy rather than one policy switching parameters: a ReencodingPolicy's
  // tape binds its parameters' buffers when it is built, so switching would mean copying the
  // parameters in and out on every baseline rollout (or rebuilding the tape); the second policy
  // costs one more adapter and tape, and the training policy stays untouched.
  virtual void make_baseline_policy(const ReencodingModel& model, Parameters& params, int max_rows, int eval_size) = 0;
  virtual combo::ReencodingPolicy& policy() = 0;
  virtual combo::ReencodingPolicy& baseline_policy() = 0;  // after make_baseline_policy
  // Draws batch_size fresh training instances (no allocation) and makes them the policies' source.
  virtual void draw(Rng& rng) = 0;
  // Draws the rollout baseline's evaluation set in place (no allocation).
  virtual void draw_baseline_eval(Rng& rng) = 0;
  virtual void use(RunSet set) = 0;  // the set as the source of the policy and the baseline policy
  virtual double scale(int b) const = 0;                 // training instance b's Z (> 0)
  virtual double heldout_reference(int i, const std::string& solver) const = 0;
  virtual std::string reference(const Config& c) const = 0;  // the resolved reference solver's name
  // ComboLearner::solve for this problem.
  virtual double solve(const ReencodingModel& model, Parameters& params, const std::vector<combo::AnyInstance>& instances,
                       const combo::DecodeOptions& options, uint64_t seed, std::vector<std::vector<int>>& solutions,
                       std::vector<double>& objectives) const = 0;
};

// Instance i of a run problem's batch as the reference solvers read it.
template <typename Batch>
combo::AnyInstance instance_of(const Batch& batch, int i) {
  return combo::AnyInstance(batch.instance(i));
}
inline combo::AnyInstance instance_of(const combo::PolicyBatch& batch, int i) { return combo::policy_instance(batch, i); }

// The part of a run problem that is the same for every adapter with a Batch type that has
// allocate/draw/instance (a combo::SourcedPolicy<Problem, Batch> as Policy): the policies, the
// training batch drawn in place, the held-out set and its reference objectives, the rollout
// baseline's evaluation set. A problem says how to build a policy over given parameters, how to
// make room for a batch and how to generate its held-out set.
template <typename Policy, typename Batch>
class SourcedRunProblem : public ReencodingRunProblem {
 public:
  void make_policy(const ReencodingModel& model, Parameters& params, int max_rows, int batch_size,
                   int heldout_size) override {
    policy_ = new_policy(model, params, max_rows);
    allocate(batch_, batch_size);
    heldout_ = generate_heldout(heldout_size);
  }
  void make_baseline_policy(const ReencodingModel& model, Parameters& params, int max_rows, int eval_size) override {
    baseline_policy_ = new_policy(model, params, max_rows);
    allocate(baseline_eval_, eval_size);
  }
  combo::ReencodingPolicy& policy() override { return policy_->policy(); }
  combo::ReencodingPolicy& baseline_policy() override { return baseline_policy_->policy(); }
  void draw(Rng& rng) override {
    batch_.draw(rng, 0, batch_.count);
    use(RunSet::kTraining);
  }
  void draw_baseline_eval(Rng& rng) override { baseline_eval_.draw(rng, 0, baseline_eval_.count); }
  void use(RunSet set) override {
    policy_->problem().set_source(instances(set));
    if (baseline_policy_) baseline_policy_->problem().set_source(instances(set));
  }
  double heldout_reference(int i, const std::string& solver) const override {
    return combo::solve(instance_of(heldout_, i), solver).objective;
  }

 protected:
  virtual std::unique_ptr<Policy> new_policy(const ReencodingModel& model, Parameters& params, int max_rows) const = 0;
  virtual void allocate(Batch& batch, int count) const = 0;  // room for `count` instances
  virtual Batch generate_heldout(int count) const = 0;
  const Batch& instances(RunSet set) const {
    return set == RunSet::kTraining ? batch_ : set == RunSet::kHeldout ? heldout_ : baseline_eval_;
  }

  std::unique_ptr<Policy> policy_, baseline_policy_;
  Batch batch_, heldout_, baseline_eval_;
};

// The re-encoding training run over `problem` (which has read its own config fields).
std::unique_ptr<Algorithm> make_reencoding_run(const Config& c, std::unique_ptr<ReencodingRunProblem> problem);
// The model's spec from the config's model fields and the problem's node features.
ReencodingSpec reencoding_spec(const Config& c, int node_dim);

}  // namespace pl
