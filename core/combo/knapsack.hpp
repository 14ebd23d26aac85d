// 0-1 knapsack: n items with real weights and values, a real capacity; maximise the total value of
// a subset whose weight fits.
//
// Generator (POMO, Kwon et al. 2020, Sec. 5.3, following Bello et al. 2016): weights and values
// uniform in [0, 1); capacity 12.5 for 50 items, 25 for 100 and 200 items.
//
// Dataset line: `n capacity w1 v1 w2 v2 ... wn vn` — 2n + 2 numbers; n >= 1, capacity >= 0,
// weights > 0, values >= 0.
#pragma once

#include <string>
#include <vector>

#include "core/combo/common.hpp"

namespace pl::combo {

struct KnapsackInstance {
  int n = 0;
  double capacity = 0;
  std::vector<double> weight, value;
};

// Flat: instance i's item k is weight[i * n + k], value[i * n + k]; one capacity per batch.
struct KnapsackBatch {
  int n = 0, count = 0;
  double capacity = 0;
  std::vector<double> weight, value;
  KnapsackInstance instance(int i) const;
  static KnapsackBatch from_instances(const std::vector<KnapsackInstance>& instances);
};

// The knapsack capacity for n items, of the generator and of training alike: 12.5 for 50 items, 25
// for 100 and 200 (POMO, Sec. 5.3), n / 4 for other sizes below 100 (a quarter of the items fit, as
// at n = 50) and 25 above. generate_knapsack makes n in [kMinGeneratedSize, kMaxGeneratedSize].
double knapsack_capacity_for(int n);
KnapsackBatch generate_knapsack(int n, int count, uint64_t seed);

// Total value of the chosen items (0-based indices); ComboError if an index is out of range,
// repeated, or the weight exceeds the capacity.
double knapsack_check(const KnapsackInstance& instance, const std::vector<int>& items);

std::vector<KnapsackInstance> read_knapsack_dataset(const std::string& text, const std::string& file);
std::string write_knapsack_dataset(const std::vector<KnapsackInstance>& instances);

// Decoding state (POMO's knapsack): action = the next item to take. Allowed: items not taken whose
// weight fits the remaining capacity. Done when no item fits (values are non-negative, so taking
// a fitting item never hurts); the reward is the total value.
class KnapsackState {
 public:
  void reset(const KnapsackBatch& batch);  // allocates; step() and mask() never do
  int count() const { return count_; }
  int n() const { return n_; }
  const uint8_t* mask(int i) const { return &mask_[static_cast<size_t>(i) * n_]; }
  void step(int i, int item);  // ComboError if the mask forbids it
  void step_all(const int* actions);
  bool done(int i) const { return allowed_[i] == 0; }
  bool all_done() const;
  double remaining_capacity(int i) const { return remaining_[i]; }
  double value(int i) const { return value_[i]; }
  double reward(int i) const { return value_[i]; }
  bool taken(int i, int item) const { return taken_[static_cast<size_t>(i) * n_ + item] != 0; }

 private:
  void update_mask(int i);
  const KnapsackBatch* batch_ = nullptr;
  int count_ = 0, n_ = 0;
  std::vector<uint8_t> mask_, taken_;
  std::vector<int> allowed_;
  std::vector<double> remaining_, value_;
};

// ---- Reference solvers (return the chosen items, ascending) ----

// Exact: depth-first branch and bound on the real weights (Horowitz & Sahni 1974) with the
// Dantzig (1957) bound (the LP relaxation: items by value/weight, the last one fractionally).
// ComboError if the search exceeds `max_nodes` nodes (never seen on the generator's instances).
std::vector<int> knapsack_branch_and_bound(const KnapsackInstance& instance, long long max_nodes = 200000000);
// Greedy: items in decreasing value/weight, each taken if it still fits (Dantzig 1957).
std::vector<int> knapsack_greedy(const KnapsackInstance& instance);

}  // namespace pl::combo
