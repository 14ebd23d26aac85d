// Decoding TSP, CVRP and knapsack solutions with the Attention Model (core/nn/attention_model.hpp):
// greedy, sampling, POMO's multi-start (Kwon et al. 2020, Sec. 4.1: every first action once, greedy)
// and POMO's x8 instance augmentation (Sec. 4.3: the 8 symmetries of the unit square applied to the
// coordinates, which keep every length; TSP and CVRP); the best solution per instance wins.
#pragma once

#include <string>
#include <vector>

#include "core/combo/policy_env.hpp"
#include "core/combo/solvers.hpp"
#include "core/nn/attention_model.hpp"

namespace pl::combo {

enum class DecodeKind { Greedy, Sample, Multistart, MultistartAug8 };
struct DecodeOptions {
  DecodeKind kind = DecodeKind::Greedy;
  int samples = 1;  // Sample: tours drawn per instance
  std::string text() const;  // "greedy", "sample:16", "multistart", "multistart_aug8"
};
// "greedy" | "sample:N" (1 <= N <= 4096) | "multistart" | "multistart_aug8"; ComboError otherwise.
DecodeOptions parse_decode(const std::string& text);

// The k-th (0..7) symmetry of the unit square applied to (x, y) (POMO Table 1):
// (x,y) (y,x) (1-x,y) (y,1-x) (x,1-y) (1-y,x) (1-x,1-y) (1-y,1-x).
void dihedral(int k, float x, float y, float& ox, float& oy);
// One instance's features (nodes x dim, x and y first) copied from `from` to `to` with the k-th
// symmetry applied to every node's (x, y); the other features are copied as they are.
void symmetric_copy(int k, const float* from, float* to, int nodes, int dim);

// Length of the closed tour over float coordinates xy [n, 2], in double.
double tour_length_xy(const float* xy, int n, const int* tour);

// The first actions a decode starts its trajectories from (POMO, Sec. 4.1: every possible first
// action once): TSP every city, CVRP every customer (1..n), knapsack every item that fits. Writes
// them to `out` and returns their count (0: a knapsack where no item fits).
int multistart_actions(const PolicyBatch& batch, int i, int* out);
// The start of a single trajectory (greedy): TSP city 0 (the first city
// does not change a tour's length); CVRP the customer nearest the depot; knapsack the fitting item
// of the highest value/weight ratio (the first pick of the greedy heuristic). POMO's training
// treats every first action alike, so any start is a fair single trajectory; these two are the
// ones a good solution almost always contains, so the single trajectory is not handicapped by a
// bad forced first move. -1 when no item fits (knapsack).
int single_start(const PolicyBatch& batch, int i);

// Decodes batches of instances of one problem with a policy; allocates only in its constructor.
// Trajectories per instance: greedy 1 (from single_start), sample:N N (start actions cycling
// through the multi-start list), multistart one per start action, multistart_aug8 8 x that (2-D
// problems only: TSP and CVRP), each times the agents of a Poppy population. The best trajectory
// per instance wins (shortest tour or routes, largest value).
class PolicyDecoder {
 public:
  // instances: instances per solve() call; max_n: the largest problem size (cities, customers,
  // items); options fix the capacities. ComboError for x8 augmentation of a problem that is not 2-D.
  PolicyDecoder(const AttentionModel& model, Parameters& params, int instances, int max_n, const DecodeOptions& options);

  // Decodes batch instances [first, first + count) (count <= instances, batch.n <= max_n). Writes
  // the best trajectory of each, [count, L] with L = max_decisions(kind, n) + 1 (policy_env.hpp's
  // layout), and its objective on the batch's features [count]. A knapsack instance where no item
  // fits gets objective 0 and a trajectory of -1s. A Poppy population (model.population() > 1)
  // decodes with every agent and keeps the best (Grinsztajn et al. 2023, Sec. 4: the population is
  // rolled out together at inference); `agents` (optional, [count]) gets the agent whose trajectory
  // won (the lowest index on ties; 0 for an empty knapsack).
  void solve(const PolicyBatch& batch, int first, int count, Rng& rng, int* trajectories, double* objectives,
             int* agents = nullptr);

  const DecodeOptions& options() const { return options_; }
  AmPolicy& policy() { return policy_; }

 private:
  DecodeOptions options_;
  ProblemKind kind_;
  int instances_, max_n_, population_;
  AmPolicy policy_;
  std::vector<float> aug_;  // [copies * instances, nodes, node_dim] encoded features
  std::vector<int> starts_, trajectories_;
};

// The size of a policy problem's instance (cities, customers, items); 0 for other problems.
int policy_problem_size(const AnyInstance& instance);
// Instance i of a batch as the reference solvers read it (the features' float numbers, exact
// demands and capacities): what the policy is measured against.
AnyInstance policy_instance(const PolicyBatch& batch, int i);
// batch.set(i, instance) for a TSP, CVRP or knapsack instance; ComboError for other problems.
void set_policy_instance(PolicyBatch& batch, int i, const AnyInstance& instance);

// The policy's solutions of arbitrary instances of its problem (a dataset, a TSPLIB file):
// coordinates outside the unit square are scaled into it (one scale for both axes, so solutions
// keep their order of length); objectives are the instances' own, by the problem's checker
// (check_solution). Solutions are what the checker reads (trajectory_solution). Returns the seconds
// spent decoding.
double solve_instances(const AttentionModel& model, Parameters& params, const std::vector<AnyInstance>& instances,
                       const DecodeOptions& options, uint64_t seed, std::vector<std::vector<int>>& solutions,
                       std::vector<double>& objectives);

}  // namespace pl::combo
