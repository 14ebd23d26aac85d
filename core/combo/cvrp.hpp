// Capacitated vehicle routing: one depot, n customers with integer demands, one vehicle type of
// integer capacity making as many trips as needed; minimise the total length.
//
// Node 0 is the depot, nodes 1..n the customers. A solution is the visiting sequence with the
// depot between routes, starting and ending at it: 0 3 1 0 2 0.
//
// Generator (Kool et al. 2019, "Attention, Learn to Solve Routing Problems!", Sec. 5 / App. C.1;
// POMO, Kwon et al. 2020, Sec. 5.2, the same): depot and customers uniform in [0, 1)^2, demands
// uniform in {1, ..., 9}, capacity 20, 30, 40, 50 for n = 10, 20, 50, 100. A policy reads the
// normalised demand d / capacity (so the vehicle's capacity is 1); the instance keeps the integers
// so that capacity checks are exact.
//
// Dataset line: `n capacity depot_x depot_y x1 y1 d1 ... xn yn dn` — 3n + 4 numbers; n >= 1,
// capacity a positive integer, each demand an integer in [1, capacity].
#pragma once

#include <string>
#include <vector>

#include "core/combo/common.hpp"

namespace pl::combo {

struct CvrpInstance {
  int n = 0;                 // customers
  int capacity = 0;
  std::vector<double> xy;    // (n + 1) points, depot first: x0 y0 x1 y1 ...
  std::vector<int> demand;   // n + 1 entries, demand[0] = 0 (the depot)
  double normalised_demand(int node) const { return static_cast<double>(demand[node]) / capacity; }
  DistanceMatrix matrix() const { return euclidean_matrix(xy.data(), n + 1); }
};

// Instances of one size, flat: instance i's node c is xy[(i * (n + 1) + c) * 2 + {0, 1}], its
// demand demand[i * (n + 1) + c]; one capacity for the batch.
struct CvrpBatch {
  int n = 0, count = 0, capacity = 0;
  std::vector<double> xy;
  std::vector<int> demand;
  CvrpInstance instance(int i) const;
  // What a policy reads (Kool et al. 2019): demand / capacity, so the vehicle's capacity is 1.
  double normalised_demand(int i, int node) const {
    return static_cast<double>(demand[static_cast<size_t>(i) * (n + 1) + node]) / capacity;
  }
  static CvrpBatch from_instances(const std::vector<CvrpInstance>& instances);  // one n, one capacity
};

// The vehicle capacity for n customers, of the generator and of training alike: 20/30/40/50 for
// n = 10/20/50/100 (Kool et al. 2019, App. C.1), the next listed capacity above for sizes in
// between (30 for n = 15), 50 beyond 100. generate_cvrp makes n in [kMinGeneratedSize,
// kMaxGeneratedSize] (training's range of n), else ComboError.
int cvrp_capacity_for(int n);
CvrpBatch generate_cvrp(int n, int count, uint64_t seed);

// Length of a solution; ComboError naming the first violation (not starting/ending at the depot,
// a customer missing or visited twice, a route over capacity, an unknown node).
double cvrp_check(const CvrpInstance& instance, const std::vector<int>& solution);

std::vector<CvrpInstance> read_cvrp_dataset(const std::string& text, const std::string& file);
std::string write_cvrp_dataset(const std::vector<CvrpInstance>& instances);

// Decoding state (Kool et al. 2019, Sec. 4 / App. C: the vehicle starts at the depot with full
// capacity). Action = the next node (0 = depot). Mask: a customer is allowed if unvisited and its
// demand fits the remaining capacity; the depot is allowed unless the vehicle is at the depot with
// customers left (no empty trips). Done when every customer is served and the vehicle is back at
// the depot; then the reward is -length(i).
class CvrpState {
 public:
  void reset(const CvrpBatch& batch);  // allocates; step() and mask() never do
  int count() const { return count_; }
  int nodes() const { return n_ + 1; }
  const uint8_t* mask(int i) const { return &mask_[static_cast<size_t>(i) * (n_ + 1)]; }
  void step(int i, int node);  // ComboError if the mask forbids it
  void step_all(const int* actions);
  bool done(int i) const { return served_[i] == n_ && current_[i] == 0; }
  bool all_done() const;
  int current(int i) const { return current_[i]; }
  int remaining_capacity(int i) const { return remaining_[i]; }
  double length(int i) const { return length_[i]; }
  double reward(int i) const { return -length_[i]; }

 private:
  void update_mask(int i);
  const CvrpBatch* batch_ = nullptr;
  int count_ = 0, n_ = 0;
  std::vector<uint8_t> mask_, visited_;
  std::vector<int> current_, remaining_, served_;
  std::vector<double> length_;
};

// ---- Reference solvers (return a solution sequence as above) ----

// Nearest neighbour: go to the nearest unvisited customer that fits, else back to the depot.
std::vector<int> cvrp_nearest_neighbor(const CvrpInstance& instance);
// Clarke & Wright (1964) savings, parallel version: start from one route per customer, merge
// route ends i, j in decreasing order of s(i, j) = d(0, i) + d(0, j) - d(i, j) while the merged
// load fits the capacity.
std::vector<int> cvrp_savings(const CvrpInstance& instance);

}  // namespace pl::combo
