// A learned job-shop dispatching policy (issue #9): L2D's dispatching MDP (Zhang et al. 2020,
// "Learning to Dispatch for Job Shop Scheduling via Deep Reinforcement Learning", NeurIPS, Sec. 3;
// core/combo/jobshop.hpp's JobShopState) decided by the re-encoding pointer policy
// (core/nn/reencoding_model.hpp): at every decision the state is turned into one node per job and
// encoded afresh (Drakulic et al. 2023, BQ-NCO, re-encode the remaining sub-problem at each step).
//
// Node features of job j (its next eligible operation o = (j, k), k < m), all times divided by the
// instance's scale Z = its largest total job work (its initial C_LB, L2D Sec. 3), so instances of
// any duration range read alike:
//   0  p(o) / Z                          the operation's duration
//   1  r_j / Z                           the job's ready time (its previous operation's end)
//   2  a_mc / Z                          its machine's ready time (end of the machine's last operation)
//   3  s(o) / Z                          where o would start if dispatched now (L2D's left shift)
//   4  LB(o) / Z = (r_j + p(o)) / Z      L2D's lower bound of o (Sec. 3: LB(o) = LB(pred) + p(o))
//   5  LB(last op of j) / Z              the job's own completion bound
//   6  W_j / Z                           remaining work of the job, o included (MWKR's key)
//   7  (m - k) / m                       remaining operations (MOR's key)
//   8  C_LB / Z                          the schedule's current lower bound (L2D: the reward is its decrease)
//   9  1 if the job is finished          (then 0, 1, 4, 5 hold its end time and the rest 0; masked)
// Mask: jobs with operations left (JobShopState::mask). Reward: L2D's per-step reward
// C_LB(before) - C_LB(after) sums to C_LB(start) - makespan, a constant minus the makespan, so
// REINFORCE uses R = -makespan (same gradient with any instance-wise baseline).
#pragma once

#include <cstdint>
#include <vector>

#include "core/autodiff/tape.hpp"
#include "core/combo/jobshop.hpp"
#include "core/combo/policy_decoder.hpp"
#include "core/combo/reencoding_policy.hpp"
#include "core/combo/solvers.hpp"
#include "core/nn/reencoding_model.hpp"
#include "core/util/rng.hpp"

namespace pl::combo {

constexpr int kJobShopFeatures = 10;

// The instance's feature scale Z (>= 1): its largest total job work.
float jobshop_scale(const JobShopBatch& batch, int i);
// The node features of every job of instance i of the state, [jobs, kJobShopFeatures], above.
void jobshop_features(const JobShopState& state, int i, float scale, float* out);
// A single trajectory's first job: the job with the most work (MWKR's first pick; lowest index on
// ties). POMO trains from forced first actions (every job once), so the policy's own first
// decision is never trained; the single greedy trajectory starts where the best classical rule would.
int jobshop_single_start(const JobShopBatch& batch, int i);

// Job-shop as a re-encoding problem (reencoding_policy.hpp): row r holds a copy of instance
// inst[r] of the source batch in the adapter's own batch (so the state never allocates again);
// nodes = the jobs, features as above, mask = jobs with operations left, objective = the makespan.
class JobShopProblem final : public ReencodingProblem {
 public:
  JobShopProblem(int max_rows, int max_jobs, int max_machines);  // allocates
  void set_source(const JobShopBatch& source) { source_ = &source; }
  int node_dim() const override { return kJobShopFeatures; }
  void load(const int* inst, int rows) override;
  int nodes() const override { return rows_.jobs; }
  int max_decisions() const override { return rows_.jobs * rows_.machines; }
  bool done(int r) const override { return state_.done(r); }
  int mask(int r, int32_t* out) override;
  void features(int r, float* out) override { jobshop_features(state_, r, scale_[r], out); }
  void step(int r, int job) override { state_.step(r, job); }
  double objective(int r) const override { return state_.lower_bound(r); }
  const JobShopState& state() const { return state_; }

 private:
  const JobShopBatch* source_ = nullptr;
  JobShopBatch rows_;
  JobShopState state_;
  std::vector<float> scale_;
};

// Rolls out trajectories of job-shop instances with the re-encoding policy (a JobShopProblem
// driven by a ReencodingPolicy), all trajectories one row of one tape pass per decision; the same
// graph scores recorded decisions for REINFORCE (accumulate()). Allocates only in its constructor
// (and the first rollouts' JobShopState reset).
class JobShopPolicy : public SourcedPolicy<JobShopProblem, JobShopBatch> {
 public:
  // max_rows: trajectories rolled out together and decisions scored per training chunk.
  JobShopPolicy(const ReencodingModel& model, Parameters& params, int max_rows, int max_jobs, int max_machines);

  // Rolls out `rows` trajectories: row r solves instance inst[r] of `source`; starts[r] >= 0 forces
  // its first job (POMO's multi-start), -1 lets the policy choose; greedy (argmax, lowest index on
  // ties) or sampled from rng. Writes each row's makespan; record (if given) receives the decisions.
  void rollout(const JobShopBatch& source, const int* inst, int rows, const int* starts, bool greedy, Rng* rng,
               double* makespans, DecisionRecord* record = nullptr);
  // The state after the last rollout (schedules: state().schedule(r)).
  const JobShopState& state() const { return problem_.state(); }

 private:
  int max_jobs_, max_machines_;
};

// The policy's schedules of job-shop instances (any sizes, jobs >= 2): decode greedy (one
// trajectory from jobshop_single_start), sample:N (N sampled trajectories, first jobs cycling
// through the jobs) or multistart (every first job once, then greedy); the shortest makespan per
// instance wins. multistart_aug8 is refused by name (its symmetries are the unit square's). The
// solutions are start times (the checker's format), objectives the checker's makespans. Returns the
// seconds spent decoding; ComboError for instances of another problem.
double solve_jobshop_instances(const ReencodingModel& model, Parameters& params, const std::vector<AnyInstance>& instances,
                               const DecodeOptions& options, uint64_t seed, std::vector<std::vector<int>>& solutions,
                               std::vector<double>& objectives);

}  // namespace pl::combo
