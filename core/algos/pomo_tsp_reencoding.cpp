// `pomo` with `problem: tsp` and `reencode: true`: BQ-NCO's re-encoding policy for TSP (Drakulic et
// al. 2023, NeurIPS, Sec. 3-4; core/combo/tsp_policy.hpp): at every decision the policy encodes only
// the remaining sub-problem (the current city, the unvisited cities, the first city) and points to
// the next city. The run is the shared re-encoding run (reencoding_run.hpp); this file is TSP's side.
//
// Training (REINFORCE, the shared run's loss, POMO's multi-start as the Attention Model's TSP runs):
// each of the batch_size fresh instances (uniform in the unit square) is rolled out n times,
// trajectory j forced to start at city j, then sampling from the policy; R = -length, and
//     loss = -1/(B n) sum_{b,s} (R_bs - b_bs) sum_t log p_theta(a_t | s_t)       (POMO Eq. 4)
// `baseline`: pomo, the mean return of the instance's n trajectories (Kwon et al. 2020, Eq. 3);
// exponential (Kool et al. 2019, Sec. 4); rollout, the frozen policy's greedy tour from the same
// first city, replaced by t-test every bl_interval steps (reencoding_run.hpp). BQ-NCO itself trains
// by imitation of optimal tours (Sec. 4.2), which needs a solved training set; REINFORCE with POMO's
// baseline keeps the option comparable with the Attention Model's runs on the same held-out set
// (policy_heldout_set: the same instances and reference solver as `reencode: false`).
#include <memory>

#include "core/algos/algorithm.hpp"
#include "core/algos/combo.hpp"
#include "core/algos/reencoding_run.hpp"
#include "core/combo/tsp_policy.hpp"

namespace pl {

namespace {

class TspReencodingRunProblem final : public SourcedRunProblem<combo::TspReencodingPolicy, combo::PolicyBatch> {
 public:
  explicit TspReencodingRunProblem(const Config& c) : n_(static_cast<int>(c.get_int("n"))) {}
  combo::ProblemKind kind() const override { return combo::ProblemKind::Tsp; }
  int n() const override { return n_; }
  int node_dim() const override { return combo::kTspReencodingFeatures; }
  int max_nodes() const override { return n_; }
  // n decisions: the first forced (POMO), the last the only city left (n - 2 are recorded).
  int max_decisions() const override { return n_; }
  bool maximize() const override { return false; }
  int group() const override { return n_; }
  int train_start(int s) const override { return s; }  // POMO: trajectory s starts at city s
  int greedy_start(RunSet set, int i) const override { return combo::single_start(instances(set), i); }
  bool heldout_multistart() const override { return true; }
  double scale(int) const override { return 1.0; }  // unit-square tours: R = -length
  std::string reference(const Config& c) const override {
    return policy_reference_solver(c, combo::ProblemKind::Tsp, n_);
  }
  double solve(const ReencodingModel& model, Parameters& params, const std::vector<combo::AnyInstance>& instances,
               const combo::DecodeOptions& options, uint64_t seed, std::vector<std::vector<int>>& solutions,
               std::vector<double>& objectives) const override {
    return combo::solve_tsp_reencoding_instances(model, params, instances, options, seed, solutions, objectives);
  }

 private:
  std::unique_ptr<combo::TspReencodingPolicy> new_policy(const ReencodingModel& model, Parameters& params,
                                                         int max_rows) const override {
    return std::make_unique<combo::TspReencodingPolicy>(model, params, max_rows, n_, n_);
  }
  void allocate(combo::PolicyBatch& batch, int count) const override {
    batch.allocate(combo::ProblemKind::Tsp, n_, count);
  }
  combo::PolicyBatch generate_heldout(int count) const override {
    return policy_heldout_set(combo::ProblemKind::Tsp, n_, count);
  }
  int n_;
};

}  // namespace

std::unique_ptr<Algorithm> make_pomo_tsp_reencoding(const Config& c) {
  return make_reencoding_run(c, std::make_unique<TspReencodingRunProblem>(c));
}

}  // namespace pl
