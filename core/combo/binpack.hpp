// Online bin packing: items arrive one at a time and are placed at once, never moved.
//
// 1-D: integer sizes, bins of integer capacity C; minimise the number of bins. Generator: the
// "uniform" class of Falkenauer (1996): C = 150, sizes uniform in {20, ..., 100}.
// Dataset line: `n capacity s1 ... sn` — n + 2 numbers, each size an integer in [1, capacity].
// A solution is the bin of each item (bins numbered from 0 in opening order).
//
// 3-D (Zhao et al. 2021, "Online 3D Bin Packing with Constrained Deep Reinforcement Learning",
// AAAI, Sec. 3): one bin of L x W x H = 10 x 10 x 10 unit cells, items with integer sizes
// l x w x h placed axis-aligned without rotation, their front-left-bottom corner at (x, y) and
// dropped to z = the highest cell of the height map under their footprint. The episode ends when
// the arriving item has no feasible placement (or all items are placed); the objective is the
// space utilisation, packed volume / (L W H). Generator: sizes uniform in {2, ..., 5} per axis
// (each side at most half the bin's, as in the paper's 64 item types — our reading of its random
// sequence set "RS").
// Dataset line: `n L W H l1 w1 h1 ... ln wn hn` — 3n + 4 numbers; bin sides integers in [1, 100]
// (the mask scans every corner and footprint cell), item sizes integers in [1, side].
// A solution: the placed items' x y z, in arrival order.
#pragma once

#include <string>
#include <vector>

#include "core/combo/common.hpp"

namespace pl::combo {

// ---- 1-D ----

struct BinPack1DInstance {
  int n = 0, capacity = 0;
  std::vector<int> size;
};

struct BinPack1DBatch {  // flat: instance i's item k is size[i * n + k]; one capacity
  int n = 0, count = 0, capacity = 0;
  std::vector<int> size;
  BinPack1DInstance instance(int i) const;
  // Room for `count` instances of n items (with the generator's bin capacity); draw() fills
  // instances [first, first + k) from generate_binpack1d's distribution without allocating (a
  // training loop's fresh instances).
  void allocate(int n, int count);
  void draw(Rng& rng, int first, int k);
  static BinPack1DBatch from_instances(const std::vector<BinPack1DInstance>& instances);
};

BinPack1DBatch generate_binpack1d(int n, int count, uint64_t seed);
// Number of bins used; ComboError if an item has no bin, bins are not numbered 0.. in opening
// order, or a bin overflows.
int binpack1d_check(const BinPack1DInstance& instance, const std::vector<int>& bin_of_item);
// ceil(total size / capacity), the trivial lower bound (Martello & Toth 1990, L1).
int binpack1d_lower_bound(const BinPack1DInstance& instance);

std::vector<BinPack1DInstance> read_binpack1d_dataset(const std::string& text, const std::string& file);
std::string write_binpack1d_dataset(const std::vector<BinPack1DInstance>& instances);

// State: the arriving item is item(i) = number placed so far. Action a in [0, n): an open bin
// (a < open_bins) whose free space fits the item, or a == open_bins: open a new bin (always
// allowed: every size fits an empty bin). Reward -1 when a bin is opened, so the return is
// -(bins used). Done when every item is placed.
class BinPack1DState {
 public:
  void reset(const BinPack1DBatch& batch);  // allocates; step() and mask() never do
  int count() const { return count_; }
  int actions() const { return n_; }
  int capacity() const { return batch_->capacity; }
  const uint8_t* mask(int i) const { return &mask_[static_cast<size_t>(i) * n_]; }
  double step(int i, int bin);  // returns the reward; ComboError if the mask forbids it
  bool done(int i) const { return placed_[i] == n_; }
  bool all_done() const;
  int item(int i) const { return placed_[i]; }
  int item_size(int i) const { return batch_->size[static_cast<size_t>(i) * n_ + placed_[i]]; }
  int open_bins(int i) const { return open_[i]; }
  int load(int i, int bin) const { return load_[static_cast<size_t>(i) * n_ + bin]; }
  const int* assignment(int i) const { return &bin_of_[static_cast<size_t>(i) * n_]; }

 private:
  void update_mask(int i);
  const BinPack1DBatch* batch_ = nullptr;
  int count_ = 0, n_ = 0;
  std::vector<uint8_t> mask_;
  std::vector<int> load_, open_, placed_, bin_of_;
};

// First fit: the lowest-numbered open bin that fits, else a new bin. Best fit: the fullest open bin
// that fits (ties: lowest number), else a new bin (Johnson et al. 1974). Both online.
std::vector<int> binpack1d_first_fit(const BinPack1DInstance& instance);
std::vector<int> binpack1d_best_fit(const BinPack1DInstance& instance);

// ---- 3-D ----

struct BinPack3DInstance {
  int n = 0, length = 10, width = 10, height = 10;
  std::vector<int> item;  // l w h per item (3n)
};

struct BinPack3DBatch {  // flat: instance i's item k is item[(i * n + k) * 3 + {0, 1, 2}]; one bin
  int n = 0, count = 0, length = 10, width = 10, height = 10;
  std::vector<int> item;
  BinPack3DInstance instance(int i) const;
  // As BinPack1DBatch's: room for `count` instances of n items in the 10 x 10 x 10 bin, and
  // generate_binpack3d's distribution drawn into [first, first + k) without allocating.
  void allocate(int n, int count);
  void draw(Rng& rng, int first, int k);
  static BinPack3DBatch from_instances(const std::vector<BinPack3DInstance>& instances);
};

BinPack3DBatch generate_binpack3d(int n, int count, uint64_t seed);
// Utilisation of a placement list (x y z per placed item, the first placed.size()/3 items in
// order); ComboError if an item leaves the bin, overlaps another, floats (z not the height under
// it at its turn) or breaks the support rule below.
double binpack3d_check(const BinPack3DInstance& instance, const std::vector<int>& placed);

std::vector<BinPack3DInstance> read_binpack3d_dataset(const std::string& text, const std::string& file);
std::string write_binpack3d_dataset(const std::vector<BinPack3DInstance>& instances);

// Whether an l x w item may be placed with its corner at (x, y) on the height map `heights`
// (L x W, row x-major: heights[x * W + y]) with free height up to H; sets z. The rule of Zhao et
// al. (2021, Sec. 3, "feasibility mask"): the item must fit inside the bin, and, resting at
// z = max height under its footprint, either (1) more than 60% of its bottom area and all four
// bottom corners are supported, or (2) more than 80% of the area and three of the four corners,
// or (3) more than 95% of the area. A footprint cell supports when its height equals z (the bin
// floor, z = 0, supports everywhere). Corners are the four corner cells of the footprint.
bool binpack3d_feasible(const int* heights, int L, int W, int H, int l, int w, int h, int x, int y, int& z);

// State: action = x * W + y (L * W actions), the corner of the arriving item; mask by
// binpack3d_feasible. Reward = item volume / bin volume, so the return is the utilisation. Done
// when every item is placed or the arriving one has no feasible placement.
class BinPack3DState {
 public:
  void reset(const BinPack3DBatch& batch);  // allocates; step() and mask() never do
  int count() const { return count_; }
  int actions() const { return L_ * W_; }
  const uint8_t* mask(int i) const { return &mask_[static_cast<size_t>(i) * L_ * W_]; }
  double step(int i, int action);  // returns the reward; ComboError if the mask forbids it
  bool done(int i) const { return done_[i] != 0; }
  bool all_done() const;
  int item(int i) const { return placed_[i]; }
  const int* heights(int i) const { return &heights_[static_cast<size_t>(i) * L_ * W_]; }
  double utilisation(int i) const { return static_cast<double>(volume_[i]) / (L_ * W_ * H_); }
  const int* placements(int i) const { return &where_[static_cast<size_t>(i) * n_ * 3]; }  // x y z per placed item

 private:
  void update_mask(int i);
  const BinPack3DBatch* batch_ = nullptr;
  int count_ = 0, n_ = 0, L_ = 0, W_ = 0, H_ = 0;
  std::vector<uint8_t> mask_, done_;
  std::vector<int> heights_, placed_, where_, volume_;
};

// First fit: the first feasible corner in x-major order. Best fit: the feasible corner with the
// lowest resulting top z + h (ties: smaller x, then y) — a deepest-bottom-left rule (Karabulut &
// Inceoglu 2004, used as a baseline family by Zhao et al.). Return the placements (x y z each).
std::vector<int> binpack3d_first_fit(const BinPack3DInstance& instance);
std::vector<int> binpack3d_best_fit(const BinPack3DInstance& instance);

}  // namespace pl::combo
