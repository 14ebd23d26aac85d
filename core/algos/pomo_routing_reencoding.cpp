// `pomo` with `problem: tsp | cvrp` and `reencode: true`: BQ-NCO's re-encoding policy (Drakulic et
// al. 2023, NeurIPS, Sec. 3-4; core/combo/routing_policy.hpp): at every decision the policy encodes
// only the remaining sub-problem (the current node, the unvisited nodes, the destination: TSP's
// first city, CVRP's depot with the remaining capacity) and points to the next node. The run is the
// shared re-encoding run (reencoding_run.hpp); this file is the routing problems' side of it.
//
// Training (REINFORCE, the shared run's loss, POMO's multi-start as the Attention Model's runs):
// each of the batch_size fresh instances (the Attention Model's generators) is rolled out n times,
// trajectory j forced to start at city j (CVRP: customer j + 1), then sampling from the policy;
// R = -length, and
//     loss = -1/(B n) sum_{b,s} (R_bs - b_bs) sum_t log p_theta(a_t | s_t)       (POMO Eq. 4)
// `baseline`: pomo, the mean return of the instance's n trajectories (Kwon et al. 2020, Eq. 3);
// exponential (Kool et al. 2019, Sec. 4); rollout, the frozen policy's greedy solution from the
// same first node, replaced by t-test every bl_interval steps (reencoding_run.hpp). BQ-NCO itself trains
// by imitation of optimal tours (Sec. 4.2), which needs a solved training set; REINFORCE with POMO's
// baseline keeps the option comparable with the Attention Model's runs on the same held-out set
// (policy_heldout_set and policy_reference_solver: the same instances and reference solver as
// `reencode: false`).
#include <memory>

#include "core/algos/algorithm.hpp"
#include "core/algos/combo.hpp"
#include "core/algos/reencoding_run.hpp"
#include "core/combo/routing_policy.hpp"

namespace pl {

namespace {

class RoutingReencodingRunProblem final
    : public SourcedRunProblem<combo::RoutingReencodingPolicy, combo::PolicyBatch> {
 public:
  explicit RoutingReencodingRunProblem(const Config& c)
      : kind_(combo::parse_problem(c.get_string("problem"))), n_(static_cast<int>(c.get_int("n"))) {
    combo::routing_reencoding_features(kind_);  // tsp or cvrp (the config's condition)
  }
  combo::ProblemKind kind() const override { return kind_; }
  int n() const override { return n_; }
  int node_dim() const override { return combo::routing_reencoding_features(kind_); }
  int max_nodes() const override { return combo::policy_nodes(kind_, n_); }
  // TSP: n decisions, the first forced (POMO), the last the only city left. CVRP: a depot visit
  // after each customer at most.
  int max_decisions() const override { return kind_ == combo::ProblemKind::Cvrp ? 2 * n_ : n_; }
  bool maximize() const override { return false; }
  int group() const override { return n_; }
  // POMO: trajectory s starts at city s, or customer s + 1 (multistart_actions' order).
  int train_start(int s) const override { return kind_ == combo::ProblemKind::Cvrp ? s + 1 : s; }
  int greedy_start(RunSet set, int i) const override { return combo::single_start(instances(set), i); }
  bool heldout_multistart() const override { return true; }
  double scale(int) const override { return 1.0; }  // unit-square lengths: R = -length
  std::string reference(const Config& c) const override { return policy_reference_solver(c, kind_, n_); }
  double solve(const ReencodingModel& model, Parameters& params, const std::vector<combo::AnyInstance>& instances,
               const combo::DecodeOptions& options, uint64_t seed, std::vector<std::vector<int>>& solutions,
               std::vector<double>& objectives) const override {
    return combo::solve_routing_reencoding_instances(kind_, model, params, instances, options, seed, solutions,
                                                     objectives);
  }

 private:
  std::unique_ptr<combo::RoutingReencodingPolicy> new_policy(const ReencodingModel& model, Parameters& params,
                                                             int max_rows) const override {
    return std::make_unique<combo::RoutingReencodingPolicy>(model, params, max_rows, max_nodes(), kind_, n_);
  }
  void allocate(combo::PolicyBatch& batch, int count) const override { batch.allocate(kind_, n_, count); }
  combo::PolicyBatch generate_heldout(int count) const override { return policy_heldout_set(kind_, n_, count); }
  combo::ProblemKind kind_;
  int n_;
};

}  // namespace

std::unique_ptr<Algorithm> make_pomo_routing_reencoding(const Config& c) {
  return make_reencoding_run(c, std::make_unique<RoutingReencodingRunProblem>(c));
}

}  // namespace pl
