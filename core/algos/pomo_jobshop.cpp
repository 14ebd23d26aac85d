// `pomo` with `problem: jobshop`: a learned job-shop dispatching policy (issue #9). The MDP is L2D's
// (Zhang et al. 2020, Sec. 3: action = a job, its next operation placed with left shift; mask =
// jobs with operations left); the policy re-encodes the state at every decision (BQ-NCO, Drakulic
// et al. 2023), core/nn/reencoding_model.hpp over core/combo/jobshop_policy.hpp's job features.
// The run is the shared re-encoding run (reencoding_run.hpp); this file is job-shop's side of it.
//
// Training (REINFORCE, the shared run's loss): each of the batch_size fresh instances (Taillard's
// generator, as L2D trains) is rolled out n times, trajectory j forced to dispatch job j first, then
// sampling from the policy. The return of a trajectory is R = -makespan / Z (Z the instance's
// largest total job work: L2D's step rewards C_LB(before) - C_LB(after) sum to C_LB(start) -
// makespan, a constant of the instance minus the makespan; the division by Z weighs instances by
// relative makespan, as the gap is measured), and
//     loss = -1/(B n) sum_{b,s} (R_bs - b_bs) sum_t log p_theta(a_t | s_t)       (POMO Eq. 4)
// summed over the recorded decisions with two or more allowed jobs (the others have log-prob 0).
// `baseline`: pomo, the mean return of the instance's n trajectories (Kwon et al. 2020, Eq. 3);
// exponential, b <- beta b + (1 - beta) mean R over the batch (Kool et al. 2019, Sec. 4); rollout,
// b_bs = -makespan / Z of the frozen policy's greedy schedule forced to the same first job j
// (Kool et al. 2019, Sec. 4 / Alg. 1: b(s) is the baseline policy's greedy return on the state the
// trajectory starts from, which after the forced first dispatch is the instance with job j placed;
// a rollout from the policy's own first choice would charge trajectory j for a start it did not
// pick), replaced by t-test every bl_interval steps (reencoding_run.hpp). Critic and poppy are the
// Attention Model's and are refused. Held-out evaluation as pomo's: greedy (one trajectory from
// jobshop_single_start) and multi-start (every first job, greedy; the best one counts) against
// branch-and-bound (exact, up to 6 x 6) or the MWKR rule.
#include <algorithm>
#include <memory>

#include "core/algos/algorithm.hpp"
#include "core/algos/reencoding_run.hpp"
#include "core/combo/jobshop_policy.hpp"
#include "core/combo/solvers.hpp"

namespace pl {

namespace {

// Its own held-out seed (every job-shop run evaluates on the same instances whatever its seed).
constexpr uint64_t kJobShopHeldoutSeed = 0x6a6f6273686f70ULL;  // "jobshop"
// Taillard's generator's limit (generate_jobshop).
constexpr int kMaxJobs = 100;

class JobShopRunProblem final : public SourcedRunProblem<combo::JobShopPolicy, combo::JobShopBatch> {
 public:
  explicit JobShopRunProblem(const Config& c)
      : n_(static_cast<int>(c.get_int("n"))), m_(static_cast<int>(c.get_int("machines"))) {
    if (n_ > kMaxJobs)
      throw ConfigError("field 'n': problem jobshop takes at most " + std::to_string(kMaxJobs) + " jobs, got " +
                        std::to_string(n_));
  }
  combo::ProblemKind kind() const override { return combo::ProblemKind::JobShop; }
  int n() const override { return n_; }
  int node_dim() const override { return combo::kJobShopFeatures; }
  int max_nodes() const override { return n_; }
  // The first decision is forced (POMO), so a trajectory records at most n m - 1 decisions.
  int max_decisions() const override { return n_ * m_ - 1; }
  bool maximize() const override { return false; }
  int group() const override { return n_; }
  int train_start(int s) const override { return s; }  // POMO: trajectory s dispatches job s first
  int greedy_start(RunSet set, int i) const override { return combo::jobshop_single_start(instances(set), i); }
  bool heldout_multistart() const override { return true; }
  // R = -makespan / Z: the instance's largest total job work.
  double scale(int b) const override { return combo::jobshop_scale(batch_, b); }
  // The config's (a job-shop solver), or auto: branch and bound (exact) up to 6 x 6, else MWKR (the
  // best of the four rules on L2D's 6 x 6 to 20 x 20 instances, and here).
  std::string reference(const Config& c) const override {
    std::string name = c.get_string("reference");
    if (name == "auto") name = (n_ <= 6 && m_ <= 6) ? "branch-and-bound" : "mwkr";
    try {
      combo::find_solver(combo::ProblemKind::JobShop, name);
    } catch (const combo::ComboError& e) {
      throw ConfigError(std::string("field 'reference': ") + e.what());
    }
    if (name == "branch-and-bound" && (n_ > 6 || m_ > 6))
      throw ConfigError("field 'reference': branch-and-bound solves job-shop up to 6 x 6, got " + std::to_string(n_) +
                        " x " + std::to_string(m_) + " (use mwkr)");
    return name;
  }
  double solve(const ReencodingModel& model, Parameters& params, const std::vector<combo::AnyInstance>& instances,
               const combo::DecodeOptions& options, uint64_t seed, std::vector<std::vector<int>>& solutions,
               std::vector<double>& objectives) const override {
    return combo::solve_jobshop_instances(model, params, instances, options, seed, solutions, objectives);
  }

 private:
  std::unique_ptr<combo::JobShopPolicy> new_policy(const ReencodingModel& model, Parameters& params,
                                                   int max_rows) const override {
    return std::make_unique<combo::JobShopPolicy>(model, params, max_rows, n_, m_);
  }
  void allocate(combo::JobShopBatch& batch, int count) const override { batch.allocate(n_, m_, count); }
  combo::JobShopBatch generate_heldout(int count) const override {
    return combo::generate_jobshop(n_, m_, count, kJobShopHeldoutSeed);
  }
  int n_, m_;
};

}  // namespace

std::unique_ptr<Algorithm> make_pomo_jobshop(const Config& c) {
  return make_reencoding_run(c, std::make_unique<JobShopRunProblem>(c));
}

}  // namespace pl
