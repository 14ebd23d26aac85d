// Learned online bin-packing policies (issue #9): the states of core/combo/binpack.hpp decided by
// the re-encoding pointer policy (core/nn/reencoding_model.hpp; Drakulic et al. 2023, BQ-NCO,
// re-encode the state at every decision) through ReencodingProblem adapters
// (core/combo/reencoding_policy.hpp), as job-shop dispatching is (jobshop_policy.hpp).
//
// ---- 1-D (nodes = candidate bins + a new bin) ----
// The arriving item of size s goes into an open bin that fits it or into a new bin. Every decision
// is a row of kBinPack1DSlots + 1 nodes: slots 0 .. K-1 hold the open bins whose free space fits the
// item, fullest first (ties: lower bin number first; if more than K bins fit, the K fullest — best
// fit's choice is always slot 0), unused slots are padding (masked); node K is the new bin (always
// allowed). With C the capacity, n the items, per node:
//   0  load / C                 the bin's load (new bin and padding: 0)
//   1  free / C                 its free space (new bin: 1; padding: 0)
//   2  s / C                    the arriving item's size (every node)
//   3  (free - s) / C           the slack left if the item goes there (padding: 0)
//   4  1 for a real candidate   (open bin that fits, or the new bin; padding: 0)
//   5  1 for the new-bin node
//   6  sum of the sizes still to place (the arriving one included) / C
//   7  items still to place (the arriving one included) / n
//   8  free space of all open bins / C   (room the rest could still use)
// Mask: features 4. Objective: bins used (BinPack1DState's return is -(bins used)).
//
// ---- 3-D (nodes = the L x W corners) ----
// Zhao et al. 2021 ("Online 3D Bin Packing with Constrained Deep Reinforcement Learning", AAAI,
// Sec. 3-4): the action is the front-left-bottom corner (x, y) of the arriving l x w x h item,
// masked by binpack3d_feasible (fit, and their support rule). Every corner is a node, per node
// (footprint = the cells [x, x + l) x [y, y + w) inside the bin; z = its highest cell):
//   0  x / L,  1  y / W
//   2  z / H                    where the item would rest
//   3  (z + h) / H              its resulting top (> 1 when it would stick out)
//   4  support fraction         footprint cells at height z / (l w) (Zhao's support criterion)
//   5  mean footprint height / H
//   6  height map at (x, y) / H
//   7  1 if feasible (the mask)
//   8  l / L, 9  w / W, 10  h / H   the arriving item (every node)
//   11 utilisation so far       packed volume / (L W H)
// Zhao et al.'s lookahead of the next items is not used (their default also decides on the
// arriving item only). Objective: space utilisation (maximised).
#pragma once

#include <cstdint>
#include <vector>

#include "core/combo/binpack.hpp"
#include "core/combo/policy_decoder.hpp"
#include "core/combo/reencoding_policy.hpp"
#include "core/combo/solvers.hpp"

namespace pl::combo {

constexpr int kBinPack1DFeatures = 9;
constexpr int kBinPack1DSlots = 16;  // candidate bins per decision (+ the new bin)
constexpr int kBinPack3DFeatures = 12;

// Row r holds a copy of instance inst[r] of the source (so the state never allocates again).
class BinPack1DProblem final : public ReencodingProblem {
 public:
  BinPack1DProblem(int max_rows, int max_items);  // allocates
  void set_source(const BinPack1DBatch& source) { source_ = &source; }
  int node_dim() const override { return kBinPack1DFeatures; }
  void load(const int* inst, int rows) override;
  int nodes() const override { return kBinPack1DSlots + 1; }
  int max_decisions() const override { return rows_.n; }
  bool done(int r) const override { return state_.done(r); }
  int mask(int r, int32_t* out) override;
  void features(int r, float* out) override;
  void step(int r, int node) override;
  double objective(int r) const override { return state_.open_bins(r); }
  const BinPack1DState& state() const { return state_; }

 private:
  const BinPack1DBatch* source_ = nullptr;
  BinPack1DBatch rows_;
  BinPack1DState state_;
  std::vector<int> slot_bin_;  // [rows, K]: the bin in each slot (-1: padding), set by mask()
  std::vector<int> left_;      // [rows]: total size still to place
};

class BinPack3DProblem final : public ReencodingProblem {
 public:
  BinPack3DProblem(int max_rows, int max_items, int max_cells);  // allocates
  void set_source(const BinPack3DBatch& source) { source_ = &source; }
  int node_dim() const override { return kBinPack3DFeatures; }
  void load(const int* inst, int rows) override;
  int nodes() const override { return rows_.length * rows_.width; }
  int max_decisions() const override { return rows_.n; }
  bool done(int r) const override { return state_.done(r); }
  int mask(int r, int32_t* out) override;
  void features(int r, float* out) override;
  void step(int r, int node) override { state_.step(r, node); }
  double objective(int r) const override { return state_.utilisation(r); }
  const BinPack3DState& state() const { return state_; }

 private:
  const BinPack3DBatch* source_ = nullptr;
  BinPack3DBatch rows_;
  BinPack3DState state_;
};

// The features of row r's state, as the adapters compute them (tests and the browser read them).
void binpack1d_features(const BinPack1DState& state, int r, const int* slot_bin, int remaining_size, float* out);
void binpack3d_features(const BinPack3DState& state, const BinPack3DBatch& batch, int r, float* out);

using BinPack1DPolicy = SourcedPolicy<BinPack1DProblem, BinPack1DBatch>;
using BinPack3DPolicy = SourcedPolicy<BinPack3DProblem, BinPack3DBatch>;

// The policy's packings of bin-packing instances of either problem (kind): decode greedy (one
// trajectory) or sample:N (N sampled trajectories; the fewest bins / highest utilisation wins);
// multistart and multistart_aug8 are refused by name (there is no first node to force: the first
// item always opens the first bin, or has L x W corners of which most are equivalent). Solutions
// in the checker's format; objectives the checker's. Returns the seconds spent decoding; ComboError
// for instances of another problem.
double solve_binpack_instances(ProblemKind kind, const ReencodingModel& model, Parameters& params,
                               const std::vector<AnyInstance>& instances, const DecodeOptions& options, uint64_t seed,
                               std::vector<std::vector<int>>& solutions, std::vector<double>& objectives);

}  // namespace pl::combo
