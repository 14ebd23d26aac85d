// What the Attention Model policy (core/nn/attention_model.hpp) needs to know about a problem: the
// "policy environment" of TSP, CVRP and 0-1 knapsack (issue #9, sections 2 and 3). Per problem:
//  - the nodes the encoder reads and their features (policy_node_dim):
//      TSP       n cities, (x, y);
//      CVRP      node 0 the depot, nodes 1..n the customers, (x, y, demand / capacity, is_depot)
//                (Kool et al. 2019, "Attention, Learn to Solve Routing Problems!", Sec. 3.1 and
//                App. C.1 embed the depot with its own projection; the is_depot flag is that
//                projection folded into one linear layer);
//      knapsack  n items, (weight, value) (Kwon et al. 2020, "POMO", Sec. 5.3 / App.);
//  - the decoder's context (AttentionModel builds it from the flags below):
//      TSP       graph embedding + first node + last node (AM Eq. 5; POMO's first/last node);
//      CVRP      graph embedding + last node + remaining capacity D_t / capacity (AM App. C.1:
//                h_c = [hbar, h_{pi_{t-1}}, D_t]);
//      knapsack  graph embedding + remaining capacity (POMO's knapsack context);
//  - the feasibility mask, per trajectory (TrajectoryEnv), and the objective.
//
// Trajectories. POMO (Kwon et al. 2020, Sec. 4.1) fixes each trajectory's first action: TSP the
// first city, CVRP the first customer (the vehicle leaves the depot for it), knapsack the first
// item. The decoder then makes at most T = max_decisions(kind, n) decisions:
//      TSP n - 1; CVRP 2n - 1 (n - 1 customers, each possibly after a depot visit, then the return);
//      knapsack n - 1.
// A finished trajectory keeps exactly one allowed action (the pad action: the depot for CVRP, the
// trajectory's first item for knapsack) whose step changes nothing: its log-probability is exactly
// 0 and its gradient 0, so trajectories of different lengths share one [T]-step layout.
// A trajectory is stored as L = T + 1 ints: its first action, then the T decisions (pads after the
// end).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/combo/common.hpp"
#include "core/util/rng.hpp"

namespace pl::combo {

struct CvrpInstance;
struct KnapsackInstance;
struct TspInstance;

// The problems the policy learns; ComboError for the others.
bool policy_supports(ProblemKind kind);
void require_policy_problem(ProblemKind kind);
int policy_node_dim(ProblemKind kind);        // 2, 4, 2
int policy_nodes(ProblemKind kind, int n);    // encoder nodes of a problem of size n: n, n + 1, n
int problem_size(ProblemKind kind, int nodes);  // the inverse
int max_decisions(ProblemKind kind, int n);   // T above
bool policy_is_2d(ProblemKind kind);          // the x8 symmetry augmentation applies (TSP, CVRP)
// Training's capacities are the generators': cvrp_capacity_for (cvrp.hpp), knapsack_capacity_for
// (knapsack.hpp).

// A batch of instances of one problem and size, as the policy reads them (features) and as the
// masks need them (exact integer demands for CVRP, double weights for knapsack).
struct PolicyBatch {
  ProblemKind kind = ProblemKind::Tsp;
  int n = 0;          // cities / customers / items
  int nodes = 0;      // policy_nodes(kind, n)
  int node_dim = 2;
  int count = 0;      // instances held (<= capacity given to allocate)
  std::vector<float> features;      // [count, nodes, node_dim]
  std::vector<int> demand;          // CVRP [count, nodes], demand[.., 0] = 0
  std::vector<int> capacity_units;  // CVRP [count]
  std::vector<double> weight, value;  // knapsack [count, n]
  std::vector<double> capacity;     // knapsack [count]

  void allocate(ProblemKind kind, int n, int max_count);  // allocates; nothing below does
  // Fills instances [first, first + count) from the generator's distribution (float coordinates;
  // knapsack weights and values are float-rounded so the features equal the masks' numbers).
  void draw(Rng& rng, int first, int count);
  // Instance i from a file's instance (n must match): CVRP coordinates outside the unit square are
  // scaled into it (one scale for both axes), as TSP's are.
  void set(int i, const CvrpInstance& instance);
  void set(int i, const KnapsackInstance& instance);
  void set(int i, const TspInstance& instance);
  const float* instance_features(int i) const { return &features[static_cast<size_t>(i) * nodes * node_dim]; }
  // The objective of trajectory traj (L = T + 1 ints) of instance i on the features: TSP and CVRP
  // length over the float coordinates, knapsack value of the items taken.
  double objective(int i, const int* traj) const;
};

// The masks of S trajectories of one instance. setup() allocates; reset() and step() do not.
class TrajectoryEnv {
 public:
  void setup(ProblemKind kind, int max_nodes, int max_trajectories);
  // Starts S trajectories of instance i of batch (TSP needs no batch: pass nodes instead) at
  // starts[s] (a city, a customer 1..n, an item that fits); ComboError for an infeasible start.
  void reset(const PolicyBatch* batch, int i, int nodes, int S, const int* starts);
  int nodes() const { return nodes_; }
  const uint8_t* mask(int s) const { return &mask_[static_cast<size_t>(s) * nodes_]; }  // 1 = allowed
  void step(int s, int action);  // ComboError if the mask forbids it
  bool done(int s) const { return done_[s] != 0; }
  bool all_done() const;
  int first(int s) const { return first_[s]; }
  int last(int s) const { return last_[s]; }
  // The context's capacity input: CVRP remaining / capacity, knapsack the remaining capacity.
  float capacity_feature(int s) const { return capacity_feature_[s]; }
  // The one allowed action of a finished trajectory.
  int pad_action(int s) const { return kind_ == ProblemKind::Cvrp ? 0 : first_[s]; }

 private:
  void update(int s);
  ProblemKind kind_ = ProblemKind::Tsp;
  const PolicyBatch* batch_ = nullptr;
  int inst_ = 0, nodes_ = 0, S_ = 0;
  std::vector<uint8_t> mask_, visited_, done_;
  std::vector<int> first_, last_, remaining_units_, served_;
  std::vector<double> used_weight_;
  std::vector<float> capacity_feature_;
};

// The solution of a trajectory as the problem's checker reads it: TSP the tour (its first L
// ints), CVRP 0 start ... 0 without pads, knapsack the items in the order taken (the checker sums
// weights in that order, as the mask did, so a solution that fit the mask passes the check).
std::vector<int> trajectory_solution(ProblemKind kind, const int* traj, int L);

}  // namespace pl::combo
