// Travelling salesman: instances, the uniform generator, TSPLIB files, the decoding state and the
// reference solvers.
//
// Dataset line (one instance): `n x1 y1 x2 y2 ... xn yn` — 2n + 1 numbers, 2 <= n <= 100000.
// Generated instances are n cities uniform in the unit square (Kool et al. 2019, "Attention,
// Learn to Solve Routing Problems!", Sec. 5; POMO, Kwon et al. 2020, uses the same), lengths
// are exact Euclidean. TSPLIB instances keep the file's distance function (below).
#pragma once

#include <string>
#include <vector>

#include "core/combo/common.hpp"

namespace pl::combo {

// Distance functions (TSPLIB 95, Reinelt 1995, Sec. 2). Euclidean: the exact real distance, for
// generated instances. Euc2D: nint(sqrt(dx^2 + dy^2)), nint(x) = (int)(x + 0.5). Ceil2D: the
// ceiling of the same. Att: pseudo-Euclidean r = sqrt((dx^2 + dy^2) / 10), t = nint(r),
// d = t + 1 if t < r else t.
enum class TspMetric { Euclidean, Euc2D, Ceil2D, Att };
const char* tsp_metric_name(TspMetric metric);

// The cities an instance may have, in a dataset line or a TSPLIB file alike: a tour needs two.
constexpr int kMinTspCities = 2, kMaxTspCities = 100000;

// Largest |coordinate| the readers accept: squared differences stay far from overflow.
constexpr double kMaxCoordinate = 1e15;

struct TspInstance {
  int n = 0;
  std::vector<double> xy;  // x0 y0 x1 y1 ... (2n)
  TspMetric metric = TspMetric::Euclidean;
  std::string name;        // TSPLIB NAME, or empty

  double distance(int a, int b) const;
  DistanceMatrix matrix() const;
};

// Instances of one size in one flat buffer: instance i's city c is xy[(i * n + c) * 2 + {0, 1}].
struct TspBatch {
  int n = 0;
  int count = 0;
  std::vector<double> xy;
  TspInstance instance(int i) const;
  static TspBatch from_instances(const std::vector<TspInstance>& instances);  // all of one n
};

// `count` instances of `n` cities uniform in [0, 1)^2, from instance_stream(seed, Tsp).
// n in [5, 100] as the issue asks; ComboError otherwise.
TspBatch generate_tsp(int n, int count, uint64_t seed);

// Length of a closed tour (a permutation of 0..n-1) under the instance's metric; ComboError if
// `tour` is not a permutation.
double tour_length(const TspInstance& instance, const std::vector<int>& tour);
// The same from a distance matrix, unchecked (solvers' inner use: their tours are permutations).
double tour_length(const DistanceMatrix& d, const std::vector<int>& tour);
// Throws ComboError naming the first problem unless tour is a permutation of 0..n-1.
void check_tour(int n, const std::vector<int>& tour);

// TSPLIB .tsp: the specification keywords (NAME, TYPE: TSP, DIMENSION, EDGE_WEIGHT_TYPE: EUC_2D,
// CEIL_2D or ATT) and NODE_COORD_SECTION. Other types (GEO, EXPLICIT, ...) are rejected by name.
// Errors name `file` and the line.
TspInstance read_tsplib(const std::string& text, const std::string& file);
// True when `text` starts like a TSPLIB file (a "KEYWORD :" line among the first lines).
bool looks_like_tsplib(const std::string& text);

// TSPLIB .tour: NAME, TYPE: TOUR, DIMENSION, TOUR_SECTION with 1-based ids, -1, EOF.
std::string write_tsplib_tour(const std::vector<int>& tour, const std::string& name, const std::string& comment);
// The tour of a .tour file as 0-based ids; checks it is a permutation of DIMENSION cities.
std::vector<int> read_tsplib_tour(const std::string& text, const std::string& file);

// Datasets (layout at the top of this file).
std::vector<TspInstance> read_tsp_dataset(const std::string& text, const std::string& file);
std::string write_tsp_dataset(const std::vector<TspInstance>& instances);

// Decoding state of a batch (what a constructive policy steps). Action = the next city. The first
// action chooses the start (every city allowed, as in POMO's multi-start); then unvisited cities
// are allowed. An instance is done after n actions; length(i) then includes the closing edge, and
// the episode's reward is -length(i) (Kool et al. 2019, Eq. 1). Lengths are exact Euclidean (the
// batch holds generated instances).
class TspState {
 public:
  void reset(const TspBatch& batch);  // allocates; step() and mask() never do
  int count() const { return count_; }
  int n() const { return n_; }
  const uint8_t* mask(int i) const { return &mask_[static_cast<size_t>(i) * n_]; }  // n entries
  void step(int i, int city);   // ComboError if the mask forbids it
  void step_all(const int* actions);  // step(i, actions[i]) for every instance not done
  bool done(int i) const { return steps_[i] == n_; }
  int steps(int i) const { return steps_[i]; }  // cities visited so far
  bool all_done() const;
  int current(int i) const { return current_[i]; }
  int first(int i) const { return first_[i]; }
  double length(int i) const { return length_[i]; }
  double reward(int i) const { return -length_[i]; }
  const int* tour(int i) const { return &tour_[static_cast<size_t>(i) * n_]; }  // steps so far

 private:
  const TspBatch* batch_ = nullptr;
  int count_ = 0, n_ = 0;
  std::vector<uint8_t> mask_;
  std::vector<int> current_, first_, steps_, tour_;
  std::vector<double> length_;
};

// ---- Reference solvers (each returns a tour; lengths by tour_length) ----

// Exact: Held–Karp dynamic programming (Held & Karp 1962; Bellman 1962) over subsets, O(2^n n^2)
// time and O(2^n n) memory; n <= 20 (ComboError otherwise).
std::vector<int> tsp_held_karp(const DistanceMatrix& d);
// Exact: branch and bound on the Held–Karp 1-tree bound with subgradient ascent (Held & Karp 1970,
// 1971; Volgenant & Jonker 1982's branching), from the local-search tour; any n (random uniform
// TSP50 in milliseconds, TSP100 in seconds, time grows fast beyond). ComboError when more than
// `max_nodes` search nodes would be needed. Details in tsp_branch_bound.cpp.
struct TspBranchBoundStats {
  long nodes = 0;           // search nodes evaluated
  double root_bound = 0;    // the Held–Karp bound at the root
};
constexpr long kTspBranchBoundNodes = 1000000;
// `start`: the first upper bound's tour (empty: the best local-search tour, see the .cpp); tests
// pass a poor one so that the search itself must find the optimum.
std::vector<int> tsp_branch_and_bound(const DistanceMatrix& d, long max_nodes = kTspBranchBoundNodes,
                                      TspBranchBoundStats* stats = nullptr, std::vector<int> start = {});
// Nearest neighbour from `start` (Rosenkrantz, Stearns & Lewis 1977).
std::vector<int> tsp_nearest_neighbor(const DistanceMatrix& d, int start = 0);
// Farthest insertion and cheapest insertion (Rosenkrantz, Stearns & Lewis 1977): grow a cycle from
// city 0; farthest picks the city farthest from the cycle, cheapest the city of least insertion
// cost; both insert at the cheapest position.
std::vector<int> tsp_farthest_insertion(const DistanceMatrix& d);
std::vector<int> tsp_cheapest_insertion(const DistanceMatrix& d);
// Local search to a local optimum, first improvement (Croes 1958 for 2-opt; Or 1976 for Or-opt:
// move a segment of 1, 2 or 3 consecutive cities, either orientation, elsewhere). Never worsens.
void tsp_two_opt(const DistanceMatrix& d, std::vector<int>& tour);
void tsp_or_opt(const DistanceMatrix& d, std::vector<int>& tour);
// 2-opt and Or-opt alternated until neither improves.
void tsp_local_search(const DistanceMatrix& d, std::vector<int>& tour);

}  // namespace pl::combo
