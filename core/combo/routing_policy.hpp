// TSP and CVRP decided by the re-encoding pointer policy (issue #9's "BQ-NCO's re-encoding of the
// remaining sub-problem at every step as an option"): Drakulic et al. 2023 ("BQ-NCO: Bisimulation
// Quotienting for Efficient Neural Combinatorial Optimization", NeurIPS, Sec. 3-4) observe that a
// partial solution reduces a routing problem to a smaller path problem: from the current node (the
// origin) through every unvisited node to a destination (TSP: the first city; CVRP: the depot, with
// the vehicle's remaining capacity). Partial solutions with the same sub-problem have the same
// optimal completions, so the policy sees only that sub-problem and encodes it afresh at every
// decision (core/nn/reencoding_model.hpp with its sub-problem mask) instead of the Attention
// Model's one encoding of the whole instance plus a context of the partial solution.
//
// Row layout: every node is a node of the row (rows keep one size; the encoder's mask hides the
// visited ones, so the encoding is the sub-problem's alone). Node features (the unit square; files
// are scaled into it as the Attention Model's are):
//   TSP (kTspReencodingFeatures):   0 x, 1 y, 2 origin flag (the current city), 3 destination flag
//                                   (the first city). Before the first decision nothing is marked.
//   CVRP (kCvrpReencodingFeatures): 0 x, 1 y, 2 demand / capacity (depot 0), 3 origin flag (the
//                                   current node; the depot before the first decision), 4
//                                   destination flag (the depot), 5 remaining capacity / capacity
//                                   (every node: the sub-problem's capacity).
// Encoder mask: the unvisited nodes, the origin and the destination. Action mask: TSP the unvisited
// cities; CVRP Kool et al.'s (2019, App. C.1; TrajectoryEnv's): the unserved customers whose demand
// fits the remaining capacity, and the depot unless the vehicle is there while customers are left.
// A CVRP row is done when every customer is served and the vehicle is back at the depot.
// Objective: the tour's or the routes' length over the features' coordinates (reward -length, Kool
// et al. 2019, Eq. 1).
#pragma once

#include <cstdint>
#include <vector>

#include "core/combo/policy_decoder.hpp"
#include "core/combo/policy_env.hpp"
#include "core/combo/reencoding_policy.hpp"
#include "core/combo/solvers.hpp"

namespace pl::combo {

constexpr int kTspReencodingFeatures = 4;
constexpr int kCvrpReencodingFeatures = 6;
// The node features of a problem's re-encoding policy (tsp or cvrp; ComboError otherwise).
int routing_reencoding_features(ProblemKind kind);

// Row r solves instance inst[r] of a PolicyBatch source of the problem (read in place: the source
// must outlive the rollout).
class RoutingReencodingProblem final : public ReencodingProblem {
 public:
  // kind: tsp or cvrp; max_n: the most cities / customers of a source. Allocates.
  RoutingReencodingProblem(int max_rows, ProblemKind kind, int max_n);
  void set_source(const PolicyBatch& source);  // ComboError unless a batch of the problem of at most max_n
  int node_dim() const override { return routing_reencoding_features(kind_); }
  void load(const int* inst, int rows) override;
  int nodes() const override { return nodes_; }
  // TSP: one city per decision; CVRP: at most a depot visit after every customer.
  int max_decisions() const override { return kind_ == ProblemKind::Cvrp ? 2 * (nodes_ - 1) : nodes_; }
  bool done(int r) const override;
  int mask(int r, int32_t* out) override;
  void features(int r, float* out) override;
  bool masks_encoder() const override { return true; }
  void encoder_mask(int r, int32_t* out) override;
  void step(int r, int node) override;
  double objective(int r) const override;  // the tour's / routes' length (once done)
  // The solution as check_solution reads it: TSP the tour; CVRP the routes 0 c .. 0 c .. 0.
  std::vector<int> solution(int r) const;
  const int* route(int r) const { return &route_[static_cast<size_t>(r) * max_steps_]; }  // the nodes so far
  int steps(int r) const { return steps_[r]; }

 private:
  const float* features_of(int r) const { return source_->instance_features(inst_[r]); }
  int current(int r) const;  // the origin (CVRP: the depot before the first decision; TSP: -1)
  ProblemKind kind_;
  const PolicyBatch* source_ = nullptr;
  int max_rows_, max_nodes_, max_steps_, nodes_ = 0;
  std::vector<int> inst_, steps_, served_, remaining_;
  std::vector<int> route_;        // [max_rows, max_steps]
  std::vector<uint8_t> visited_;  // [max_rows, max_nodes]
};

using RoutingReencodingPolicy = SourcedPolicy<RoutingReencodingProblem, PolicyBatch>;

// The re-encoding policy's solutions of TSP or CVRP instances (kind; a dataset, a TSPLIB file):
// greedy (one trajectory from single_start), sample:N (N sampled trajectories, their forced first
// nodes cycling through the multi-start list), multistart (every first city / customer, greedy),
// multistart_aug8 (that on the square's 8 symmetries, POMO Sec. 4.2). The shortest per instance
// wins; objectives by the instance's own checker (check_solution). Returns the seconds spent
// decoding; ComboError for an instance of another problem.
double solve_routing_reencoding_instances(ProblemKind kind, const ReencodingModel& model, Parameters& params,
                                          const std::vector<AnyInstance>& instances, const DecodeOptions& options,
                                          uint64_t seed, std::vector<std::vector<int>>& solutions,
                                          std::vector<double>& objectives);

}  // namespace pl::combo
