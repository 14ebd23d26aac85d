// TSP decided by the re-encoding pointer policy (issue #9's "BQ-NCO's re-encoding of the remaining
// sub-problem at every step as an option"): Drakulic et al. 2023 ("BQ-NCO: Bisimulation Quotienting
// for Efficient Neural Combinatorial Optimization", NeurIPS, Sec. 3-4) observe that a partial tour
// reduces TSP to a smaller path problem: from the current city (the origin) through every unvisited
// city to the first city (the destination). Two partial tours with the same origin, destination and
// unvisited set have the same optimal completions, so the policy sees only that sub-problem and
// encodes it afresh at every decision (core/nn/reencoding_model.hpp with its sub-problem mask),
// instead of the Attention Model's one encoding of the whole instance plus a context of the tour.
//
// Row layout: every city is a node (rows keep one size; the encoder's mask hides the visited
// cities, so the encoding is the sub-problem's alone). Node features (kTspReencodingFeatures):
//   0  x,  1  y                 the city's coordinates (the unit square; files are scaled into it)
//   2  1 for the origin         the current city (BQ-NCO marks origin and destination)
//   3  1 for the destination    the first city
// Before the first decision nothing is marked and every city is in the sub-problem. Encoder mask:
// the unvisited cities, the origin and the destination. Action mask: the unvisited cities.
// Objective: the closed tour's length over the features' coordinates (reward -length, Kool et al.
// 2019, Eq. 1).
#pragma once

#include <cstdint>
#include <vector>

#include "core/combo/policy_decoder.hpp"
#include "core/combo/policy_env.hpp"
#include "core/combo/reencoding_policy.hpp"
#include "core/combo/solvers.hpp"

namespace pl::combo {

constexpr int kTspReencodingFeatures = 4;

// Row r solves TSP instance inst[r] of a PolicyBatch source (read in place: the source must outlive
// the rollout).
class TspReencodingProblem final : public ReencodingProblem {
 public:
  TspReencodingProblem(int max_rows, int max_n);  // allocates
  void set_source(const PolicyBatch& source);     // ComboError unless a TSP batch of at most max_n cities
  int node_dim() const override { return kTspReencodingFeatures; }
  void load(const int* inst, int rows) override;
  int nodes() const override { return n_; }
  int max_decisions() const override { return n_; }
  bool done(int r) const override { return steps_[r] == n_; }
  int mask(int r, int32_t* out) override;
  void features(int r, float* out) override;
  bool masks_encoder() const override { return true; }
  void encoder_mask(int r, int32_t* out) override;
  void step(int r, int city) override;
  double objective(int r) const override;  // the closed tour's length (once done)
  const int* tour(int r) const { return &tour_[static_cast<size_t>(r) * max_n_]; }  // the cities so far
  int steps(int r) const { return steps_[r]; }

 private:
  const float* xy(int r) const { return source_->instance_features(inst_[r]); }
  const PolicyBatch* source_ = nullptr;
  int max_rows_, max_n_, n_ = 0;
  std::vector<int> inst_, steps_;
  std::vector<int> tour_;         // [max_rows, max_n]
  std::vector<uint8_t> visited_;  // [max_rows, max_n]
};

using TspReencodingPolicy = SourcedPolicy<TspReencodingProblem, PolicyBatch>;

// The re-encoding policy's tours of TSP instances (a dataset, a TSPLIB file; coordinates outside the
// unit square are scaled into it as the Attention Model's solve_instances does): greedy (one
// trajectory from single_start's city), sample:N (N sampled trajectories, their forced first cities
// cycling through every city), multistart (every first city, greedy), multistart_aug8 (that on the
// square's 8 symmetries, POMO Sec. 4.2). The shortest tour per instance wins; objectives by the
// instance's own metric (check_solution). Returns the seconds spent decoding; ComboError for an
// instance of another problem.
double solve_tsp_reencoding_instances(const ReencodingModel& model, Parameters& params,
                                      const std::vector<AnyInstance>& instances, const DecodeOptions& options,
                                      uint64_t seed, std::vector<std::vector<int>>& solutions,
                                      std::vector<double>& objectives);

}  // namespace pl::combo
