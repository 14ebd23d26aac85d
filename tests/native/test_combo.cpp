// Combinatorial problems (core/combo): generators (reproducible, the papers' distributions),
// datasets and files (round trips, messages for malformed input), decoding states (masks never
// allow an infeasible action, checked by random rollouts against independent checkers; stepping
// allocates nothing), and the reference solvers (exact ones against brute force, heuristics
// feasible and never better than the optimum, local search never worse).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/combo/binpack.hpp"
#include "core/combo/cvrp.hpp"
#include "core/combo/jobshop.hpp"
#include "core/combo/knapsack.hpp"
#include "core/combo/solvers.hpp"
#include "core/combo/tsp.hpp"
#include "core/util/allocation_count.hpp"

using namespace pl::combo;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string data_path(const char* name) { return std::string(POLICYLAB_SOURCE_DIR) + "/tests/data/" + name; }

// The message of the ComboError `f` throws ("" if none).
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ComboError& e) {
    return e.what();
  }
  return "";
}

// A uniformly random allowed action of a mask; -1 when none.
int random_allowed(const uint8_t* mask, int n, pl::Rng& rng) {
  int allowed = 0;
  for (int a = 0; a < n; ++a) allowed += mask[a];
  if (allowed == 0) return -1;
  int pick = static_cast<int>(rng.below(static_cast<uint32_t>(allowed)));
  for (int a = 0; a < n; ++a)
    if (mask[a] && pick-- == 0) return a;
  return -1;
}

double brute_force_tsp(const DistanceMatrix& d) {
  std::vector<int> perm(d.n);
  std::iota(perm.begin(), perm.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  do {  // city 0 fixed first
    double len = 0;
    for (int k = 0; k < d.n; ++k) len += d(perm[k], perm[(k + 1) % d.n]);
    best = std::min(best, len);
  } while (std::next_permutation(perm.begin() + 1, perm.end()));
  return best;
}

double length_of(const DistanceMatrix& d, const std::vector<int>& t) {
  double len = 0;
  for (size_t k = 0; k < t.size(); ++k) len += d(t[k], t[(k + 1) % t.size()]);
  return len;
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Generators

TEST_CASE("Generators are reproducible per seed and follow the papers' distributions", "[combo]") {
  SECTION("tsp: uniform unit square") {
    const TspBatch a = generate_tsp(20, 200, 1), b = generate_tsp(20, 200, 1), c = generate_tsp(20, 200, 2);
    CHECK(a.xy == b.xy);
    CHECK(a.xy != c.xy);
    REQUIRE(a.xy.size() == 200u * 20 * 2);
    double mean = 0;
    for (double v : a.xy) {
      CHECK(v >= 0.0);
      CHECK(v < 1.0);
      mean += v;
    }
    mean /= a.xy.size();
    CHECK(mean == Approx(0.5).margin(0.01));  // sd of the mean of 8000 U(0,1) is 0.0032
    CHECK_THROWS_WITH(generate_tsp(4, 1, 1), Catch::Contains("n must be in [5, 200] (as training), got 4"));
    CHECK(generate_tsp(200, 1, 1).n == 200);  // training's range
    CHECK_THROWS_WITH(generate_tsp(201, 1, 1), Catch::Contains("[5, 200] (as training), got 201"));
  }
  SECTION("cvrp: capacities 20/30/40/50, demands 1..9") {
    CHECK(generate_cvrp(10, 1, 1).capacity == 20);
    CHECK(generate_cvrp(20, 1, 1).capacity == 30);
    CHECK(generate_cvrp(50, 1, 1).capacity == 40);
    CHECK(generate_cvrp(100, 1, 1).capacity == 50);
    // Sizes between the papers' take the next listed capacity above, as training does.
    CHECK(generate_cvrp(5, 1, 1).capacity == 20);
    CHECK(generate_cvrp(15, 1, 1).capacity == 30);
    CHECK(generate_cvrp(30, 1, 1).capacity == 40);
    CHECK(generate_cvrp(200, 1, 1).capacity == 50);
    CHECK_THROWS_WITH(generate_cvrp(201, 1, 1), Catch::Contains("5 to 200 customers (as training), got n = 201"));
    CHECK_THROWS_WITH(generate_cvrp(4, 1, 1), Catch::Contains("got n = 4"));
    const CvrpBatch a = generate_cvrp(20, 500, 7), b = generate_cvrp(20, 500, 7);
    CHECK(a.demand == b.demand);
    CHECK(a.xy == b.xy);
    std::vector<int> histogram(10, 0);
    for (int i = 0; i < a.count; ++i) {
      CHECK(a.demand[i * 21] == 0);  // the depot
      for (int c = 1; c <= 20; ++c) {
        const int d = a.demand[i * 21 + c];
        REQUIRE(d >= 1);
        REQUIRE(d <= 9);
        ++histogram[d];
      }
    }
    for (int d = 1; d <= 9; ++d) CHECK(histogram[d] == Approx(10000 / 9.0).epsilon(0.12));
    const CvrpInstance inst = a.instance(3);
    CHECK(inst.normalised_demand(1) == Approx(inst.demand[1] / 30.0));
    CHECK(a.normalised_demand(3, 5) == Approx(a.demand[3 * 21 + 5] / 30.0));
  }
  SECTION("knapsack: U(0,1) weights and values, capacity 12.5 / 25 / 25") {
    CHECK(generate_knapsack(50, 1, 1).capacity == 12.5);
    CHECK(generate_knapsack(100, 1, 1).capacity == 25.0);
    CHECK(generate_knapsack(200, 1, 1).capacity == 25.0);
    CHECK(generate_knapsack(60, 1, 1).capacity == 15.0);  // n / 4 below 100, as training
    CHECK(generate_knapsack(150, 1, 1).capacity == 25.0);
    CHECK_THROWS_WITH(generate_knapsack(201, 1, 1), Catch::Contains("5 to 200 items (as training), got n = 201"));
    const KnapsackBatch a = generate_knapsack(50, 100, 3), b = generate_knapsack(50, 100, 3);
    CHECK(a.weight == b.weight);
    CHECK(a.value == b.value);
    double mw = 0, mv = 0;
    for (size_t k = 0; k < a.weight.size(); ++k) {
      CHECK(a.weight[k] > 0.0);
      CHECK(a.weight[k] < 1.0);
      CHECK(a.value[k] >= 0.0);
      CHECK(a.value[k] < 1.0);
      mw += a.weight[k];
      mv += a.value[k];
    }
    CHECK(mw / a.weight.size() == Approx(0.5).margin(0.02));
    CHECK(mv / a.value.size() == Approx(0.5).margin(0.02));
  }
  SECTION("jobshop: permutations of machines, durations 1..99") {
    const JobShopBatch a = generate_jobshop(6, 6, 50, 5), b = generate_jobshop(6, 6, 50, 5);
    CHECK(a.machine == b.machine);
    CHECK(a.duration == b.duration);
    for (int i = 0; i < a.count; ++i)
      for (int j = 0; j < 6; ++j) {
        std::set<int> machines;
        for (int k = 0; k < 6; ++k) machines.insert(a.machine[(i * 6 + j) * 6 + k]);
        CHECK(machines.size() == 6u);
      }
    int lo = 100, hi = 0;
    for (int d : a.duration) {
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    CHECK(lo >= 1);
    CHECK(hi <= 99);
    CHECK(lo <= 3);   // 1800 draws from 99 values reach both ends
    CHECK(hi >= 97);
  }
  SECTION("bin packing: Falkenauer's uniform class and 2..5 cubes") {
    const BinPack1DBatch a = generate_binpack1d(120, 10, 1), b = generate_binpack1d(120, 10, 1);
    CHECK(a.size == b.size);
    CHECK(a.capacity == 150);
    CHECK(*std::min_element(a.size.begin(), a.size.end()) == 20);
    CHECK(*std::max_element(a.size.begin(), a.size.end()) == 100);
    const BinPack3DBatch c = generate_binpack3d(50, 10, 1);
    CHECK(c.length == 10);
    CHECK(c.width == 10);
    CHECK(c.height == 10);
    CHECK(*std::min_element(c.item.begin(), c.item.end()) == 2);
    CHECK(*std::max_element(c.item.begin(), c.item.end()) == 5);
  }
  SECTION("problems draw from independent streams") {
    // The same seed for two problems must not give the same numbers.
    const TspBatch t = generate_tsp(10, 1, 9);
    const KnapsackBatch k = generate_knapsack(50, 1, 9);
    CHECK(t.xy[0] != k.weight[0]);
  }
}

// ------------------------------------------------------------------------------------------------
// TSP

TEST_CASE("Held-Karp equals brute force over permutations for n <= 8", "[combo]") {
  pl::Rng rng(11);
  for (int n = 1; n <= 8; ++n) {
    for (int rep = 0; rep < 4; ++rep) {
      std::vector<double> xy(2 * n);
      for (double& v : xy) v = rng.uniform();
      const DistanceMatrix d = euclidean_matrix(xy.data(), n);
      const std::vector<int> tour = tsp_held_karp(d);
      check_tour(n, tour);
      if (n >= 2) {
        CHECK(length_of(d, tour) == Approx(brute_force_tsp(d)).epsilon(1e-12));
      }
    }
  }
  // Asymmetric-looking ties: all points on a line.
  std::vector<double> line = {0, 0, 1, 0, 2, 0, 3, 0, 4, 0};
  CHECK(length_of(euclidean_matrix(line.data(), 5), tsp_held_karp(euclidean_matrix(line.data(), 5))) == Approx(8.0));
  const TspBatch big = generate_tsp(21, 1, 1);
  CHECK_THROWS_WITH(tsp_held_karp(big.instance(0).matrix()), Catch::Contains("at most 20 cities") && Catch::Contains("has 21"));
}

TEST_CASE("TSP branch and bound equals Held-Karp, proves berlin52's 7542, refuses past its node budget", "[combo]") {
  // Random instances of every size Held-Karp reaches quickly: the same optimum, a valid tour.
  pl::Rng rng(23);
  for (int n = 1; n <= 14; ++n) {
    for (int rep = 0; rep < 6; ++rep) {
      std::vector<double> xy(2 * n);
      for (double& v : xy) v = rng.uniform();
      const DistanceMatrix d = euclidean_matrix(xy.data(), n);
      INFO("n = " << n << ", instance " << rep);
      TspBranchBoundStats stats;
      const std::vector<int> tour = tsp_branch_and_bound(d, kTspBranchBoundNodes, &stats);
      REQUIRE_NOTHROW(check_tour(n, tour));
      if (n >= 4) {
        const double optimum = length_of(d, tsp_held_karp(d));
        CHECK(length_of(d, tour) == Approx(optimum).epsilon(1e-12));
        CHECK(stats.root_bound <= length_of(d, tour) + 1e-9);  // a lower bound
        CHECK(stats.nodes >= 1);
        // From the tour 0, 1, ..., n-1 (random order, far from optimal) the search itself must find
        // the optimum, not only prove the local-search tour optimal.
        std::vector<int> order(n);
        for (int c = 0; c < n; ++c) order[c] = c;
        CHECK(length_of(d, tsp_branch_and_bound(d, kTspBranchBoundNodes, nullptr, order)) == Approx(optimum).epsilon(1e-12));
      }
    }
  }
  // The generator's TSP20 on 30 instances, against Held-Karp.
  const TspBatch t20 = generate_tsp(20, 30, 41);
  long nodes = 0;
  for (int i = 0; i < t20.count; ++i) {
    const DistanceMatrix d = t20.instance(i).matrix();
    const double optimum = length_of(d, tsp_held_karp(d));
    TspBranchBoundStats stats;
    CHECK(length_of(d, tsp_branch_and_bound(d, kTspBranchBoundNodes, &stats)) == Approx(optimum).epsilon(1e-12));
    nodes += stats.nodes;
    std::vector<int> order(20);
    for (int c = 0; c < 20; ++c) order[c] = c;
    CHECK(length_of(d, tsp_branch_and_bound(d, kTspBranchBoundNodes, nullptr, order)) == Approx(optimum).epsilon(1e-12));
  }
  CHECK(nodes > t20.count);  // some instances needed branching, so the children were exercised
  // Ties: collinear points (the tour goes out and back, 2 x the span) and repeated cities.
  std::vector<double> line = {0, 0, 3, 0, 1, 0, 4, 0, 2, 0, 5, 0};
  CHECK(length_of(euclidean_matrix(line.data(), 6), tsp_branch_and_bound(euclidean_matrix(line.data(), 6))) == Approx(10.0));
  std::vector<double> repeated = {0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1};
  const DistanceMatrix dr = euclidean_matrix(repeated.data(), 7);
  CHECK(length_of(dr, tsp_branch_and_bound(dr)) == Approx(4.0));
  // Many copies of one city (15 of 30; the search took two minutes and a million nodes before copies
  // were merged): the optimum of the 16 distinct cities by Held-Karp, every city visited once, also
  // from a poor start tour.
  {
    std::vector<double> distinct, xy;  // the 15 random cities and the copied one; every other city a copy
    for (int c = 0; c < 15; ++c) distinct.insert(distinct.end(), {rng.uniform(), rng.uniform()});
    distinct.insert(distinct.end(), {0.5, 0.5});
    for (int c = 0; c < 15; ++c) xy.insert(xy.end(), {0.5, 0.5, distinct[2 * c], distinct[2 * c + 1]});
    const DistanceMatrix dd = euclidean_matrix(xy.data(), 30);
    const DistanceMatrix dm = euclidean_matrix(distinct.data(), 16);
    const double optimum = length_of(dm, tsp_held_karp(dm));
    TspBranchBoundStats stats;
    const std::vector<int> tour = tsp_branch_and_bound(dd, 1000, &stats);
    REQUIRE_NOTHROW(check_tour(30, tour));
    CHECK(length_of(dd, tour) == Approx(optimum).epsilon(1e-12));
    std::vector<int> order(30);
    for (int c = 0; c < 30; ++c) order[c] = 29 - c;
    const std::vector<int> from_poor = tsp_branch_and_bound(dd, 1000, nullptr, order);
    REQUIRE_NOTHROW(check_tour(30, from_poor));
    CHECK(length_of(dd, from_poor) == Approx(optimum).epsilon(1e-12));
  }
  // Zero-distance cities of a matrix without the triangle inequality are not merged: revisiting a
  // place can pay there. Cities 0 and 1 coincide; 2 and 3 are far apart except through them.
  {
    DistanceMatrix dn{6, std::vector<double>(36)};
    for (int a = 0; a < 6; ++a)
      for (int b = 0; b < 6; ++b) dn.d[a * 6 + b] = a == b ? 0 : 10;
    auto set = [&](int a, int b, double v) { dn.d[a * 6 + b] = dn.d[b * 6 + a] = v; };
    set(0, 1, 0);
    for (int k : {2, 3, 4, 5}) set(0, k, 1), set(1, k, 1);
    set(4, 5, 1);
    const double optimum = length_of(dn, tsp_held_karp(dn));
    CHECK(length_of(dn, tsp_branch_and_bound(dn)) == Approx(optimum));
    DistanceMatrix without_copy{5, {}};  // city 1 merged into 0: longer, so merging would be wrong here
    for (int a : {0, 2, 3, 4, 5})
      for (int b : {0, 2, 3, 4, 5}) without_copy.d.push_back(dn(a, b));
    CHECK(optimum < length_of(without_copy, tsp_held_karp(without_copy)) - 1);
  }
  // Large coordinates with collinear ties: local search once took a rounding-level "gain" back and
  // forth forever at 10^6 (its move threshold was absolute); it now scales with the distances.
  for (double scale : {1.0, 1e6, 1e9, 1e12}) {
    std::vector<double> big = {1, 1, 0, 0, 1, 0, 0, 1, 0.5, 0.5, 0.5, 0};
    for (double& v : big) v *= scale;
    const DistanceMatrix db = euclidean_matrix(big.data(), 6);
    INFO("scale " << scale);
    std::vector<int> local = tsp_nearest_neighbor(db);
    tsp_local_search(db, local);
    CHECK(length_of(db, tsp_branch_and_bound(db)) == Approx((3 + std::sqrt(2.0)) * scale).epsilon(1e-12));
  }
  // TSPLIB integer distances: the published optimum of berlin52 (Reinelt's TSPLIB).
  const TspInstance berlin = read_tsplib(read_text(data_path("berlin52.tsp")), "berlin52.tsp");
  TspBranchBoundStats stats;
  const std::vector<int> best = tsp_branch_and_bound(berlin.matrix(), kTspBranchBoundNodes, &stats);
  CHECK(tour_length(berlin, best) == 7542);
  CHECK(stats.root_bound <= 7542);
  // TSP50 beyond Held-Karp: never longer than local search, never below the root's lower bound;
  // with a budget of one node, an instance the root does not close is refused by name.
  const TspBatch t50 = generate_tsp(50, 6, 7);
  int refused = 0;
  for (int i = 0; i < t50.count; ++i) {
    const TspInstance inst = t50.instance(i);
    const DistanceMatrix d = inst.matrix();
    TspBranchBoundStats s50;
    const std::vector<int> tour = tsp_branch_and_bound(d, kTspBranchBoundNodes, &s50);
    REQUIRE_NOTHROW(check_tour(50, tour));
    std::vector<int> local = tsp_farthest_insertion(d);
    tsp_local_search(d, local);
    CHECK(tour_length(inst, tour) <= tour_length(inst, local) + 1e-12);
    CHECK(s50.root_bound <= tour_length(inst, tour) + 1e-9);
    CHECK(s50.root_bound >= 0.97 * tour_length(inst, tour));  // the Held-Karp bound is within a few percent
    if (s50.nodes > 1) {
      ++refused;
      CHECK_THROWS_WITH(tsp_branch_and_bound(d, 1), Catch::Contains("did not prove a tour optimal within 1 search nodes") &&
                                                       Catch::Contains("n = 50") && Catch::Contains("local-search"));
    }
  }
  CHECK(refused > 0);
}

TEST_CASE("TSP heuristics give tours no shorter than the optimum, local search never worsens", "[combo]") {
  const TspBatch batch = generate_tsp(9, 20, 4);
  double gap_nn = 0, gap_ls = 0;
  for (int i = 0; i < batch.count; ++i) {
    const TspInstance inst = batch.instance(i);
    const DistanceMatrix d = inst.matrix();
    const double opt = brute_force_tsp(d);
    for (const std::vector<int>& tour : {tsp_nearest_neighbor(d), tsp_farthest_insertion(d), tsp_cheapest_insertion(d)}) {
      REQUIRE_NOTHROW(check_tour(9, tour));
      CHECK(tour_length(inst, tour) >= opt - 1e-9);
    }
    for (auto improve : {&tsp_two_opt, &tsp_or_opt, &tsp_local_search}) {
      std::vector<int> tour = tsp_nearest_neighbor(d, i % 9);
      const double before = tour_length(inst, tour);
      improve(d, tour);
      REQUIRE_NOTHROW(check_tour(9, tour));
      CHECK(tour_length(inst, tour) <= before + 1e-12);
      CHECK(tour_length(inst, tour) >= opt - 1e-9);
    }
    gap_nn += tour_length(inst, tsp_nearest_neighbor(d)) / opt - 1;
    std::vector<int> ls = tsp_nearest_neighbor(d);
    tsp_local_search(d, ls);
    gap_ls += tour_length(inst, ls) / opt - 1;
  }
  CHECK(gap_ls < gap_nn);  // local search helps on average

  // A 2-opt local optimum has no improving 2-opt move left.
  const TspInstance inst = generate_tsp(40, 1, 8).instance(0);
  const DistanceMatrix d = inst.matrix();
  std::vector<int> t = tsp_nearest_neighbor(d);
  tsp_two_opt(d, t);
  for (int i = 0; i < 40; ++i)
    for (int j = i + 2; j < 40; ++j) {
      if (i == 0 && j == 39) continue;
      const double delta = d(t[i], t[j]) + d(t[i + 1], t[(j + 1) % 40]) - d(t[i], t[i + 1]) - d(t[j], t[(j + 1) % 40]);
      CHECK(delta >= -1e-9);
    }
  // Known shape: the corners of a square in a crossing order are uncrossed to the perimeter.
  std::vector<double> square = {0, 0, 1, 1, 1, 0, 0, 1};
  const DistanceMatrix ds = euclidean_matrix(square.data(), 4);
  std::vector<int> crossing = {0, 1, 2, 3};
  tsp_two_opt(ds, crossing);
  CHECK(length_of(ds, crossing) == Approx(4.0));
}

TEST_CASE("TspState: the mask allows exactly the unvisited cities, rollouts give tours, no allocation", "[combo]") {
  const TspBatch batch = generate_tsp(12, 16, 5);
  TspState state;
  state.reset(batch);
  pl::Rng rng(3);
  std::vector<int> actions(batch.count);
  int steps = 0;
  pl::allocation_counter::count = 0;
  pl::allocation_counter::counting = true;
  while (!state.all_done()) {
    for (int i = 0; i < batch.count; ++i) actions[i] = random_allowed(state.mask(i), 12, rng);
    state.step_all(actions.data());
    ++steps;
  }
  pl::allocation_counter::counting = false;
  CHECK(pl::allocation_counter::count == 0);
  CHECK(steps == 12);
  for (int i = 0; i < batch.count; ++i) {
    const std::vector<int> tour(state.tour(i), state.tour(i) + 12);
    REQUIRE_NOTHROW(check_tour(12, tour));
    CHECK(state.length(i) == Approx(tour_length(batch.instance(i), tour)).epsilon(1e-12));
    for (int c = 0; c < 12; ++c) CHECK(state.mask(i)[c] == 0);
  }
  // A visited city is refused, with a message.
  TspState s2;
  s2.reset(batch);
  s2.step(0, 3);
  CHECK(s2.mask(0)[3] == 0);
  CHECK_THROWS_WITH(s2.step(0, 3), Catch::Contains("city 3 is not allowed"));
  CHECK_THROWS_WITH(s2.step(0, 12), Catch::Contains("city 12 is not allowed"));
}

TEST_CASE("TSPLIB: lengths with nint rounding on a hand-computed file, other metrics, tours", "[combo]") {
  // Edges of the tour 1-2-3-4: (0,0)-(2.5,0) = 2.5; (2.5,0)-(3.5,1) = sqrt 2 = 1.414;
  // (3.5,1)-(3.5,4) = 3; (3.5,4)-(0,0) = sqrt(28.25) = 5.315.
  const std::string file = "NAME : hand4\nCOMMENT : hand-made\nTYPE : TSP\nDIMENSION : 4\nEDGE_WEIGHT_TYPE : EUC_2D\n"
                           "NODE_COORD_SECTION\n1 0 0\n2 2.5 0\n3 3.5 1\n4 3.5 4\nEOF\n";
  CHECK(looks_like_tsplib(file));
  TspInstance inst = read_tsplib(file, "hand4.tsp");
  CHECK(inst.name == "hand4");
  CHECK(inst.n == 4);
  CHECK(inst.metric == TspMetric::Euc2D);
  // nint: 3 (2.5 rounds up) + 1 + 3 + 5 = 12, against the real 12.229.
  CHECK(tour_length(inst, {0, 1, 2, 3}) == 12.0);
  inst.metric = TspMetric::Euclidean;
  CHECK(tour_length(inst, {0, 1, 2, 3}) == Approx(2.5 + std::sqrt(2.0) + 3 + std::sqrt(28.25)));
  inst.metric = TspMetric::Ceil2D;
  CHECK(tour_length(inst, {0, 1, 2, 3}) == 3 + 2 + 3 + 6);
  // ATT: r = sqrt(d^2 / 10): 0.791 -> 1; 0.447 -> 1; 0.949 -> 1; 1.681 -> t = 2 >= r -> 2.
  inst.metric = TspMetric::Att;
  CHECK(tour_length(inst, {0, 1, 2, 3}) == 5);

  std::string ceil_file = file;
  ceil_file.replace(ceil_file.find("EUC_2D"), 6, "CEIL_2D");
  CHECK(read_tsplib(ceil_file, "c.tsp").metric == TspMetric::Ceil2D);

  // Tours: write, read back, and the reader's checks.
  const std::string tour_text = write_tsplib_tour({2, 0, 3, 1}, "hand4.tour", "length 12");
  CHECK(tour_text.find("TOUR_SECTION\n3\n1\n4\n2\n-1\nEOF") != std::string::npos);
  CHECK(read_tsplib_tour(tour_text, "t") == std::vector<int>{2, 0, 3, 1});
  CHECK_THROWS_WITH(read_tsplib_tour("TYPE : TOUR\nDIMENSION : 3\nTOUR_SECTION\n1\n2\n2\n-1\nEOF\n", "dup.tour"),
                    Catch::Contains("dup.tour") && Catch::Contains("city 1 twice"));
  CHECK_THROWS_WITH(read_tsplib_tour("TYPE : TOUR\nDIMENSION : 3\nTOUR_SECTION\n1\n2\n3\n", "open.tour"),
                    Catch::Contains("does not end with -1"));
  CHECK_THROWS_WITH(read_tsplib_tour("TYPE : TOUR\nDIMENSION : 3\nTOUR_SECTION\n1\n2\n4\n-1\n", "far.tour"),
                    Catch::Contains("far.tour:6") && Catch::Contains("city id 4 is not in [1, 3]"));
  // A DIMENSION beyond int range was cast unchecked before.
  CHECK_THROWS_WITH(read_tsplib_tour("TYPE : TOUR\nDIMENSION : 1e300\nTOUR_SECTION\n", "big.tour"),
                    "big.tour:2: TSPLIB: DIMENSION (the number of cities) must be an integer in [2, 100000], got '1e300'");
}

TEST_CASE("TSPLIB: berlin52's optimal tour is 7542 long, local search gets close", "[combo]") {
  const TspInstance inst = read_tsplib(read_text(data_path("berlin52.tsp")), "berlin52.tsp");
  REQUIRE(inst.n == 52);
  const std::vector<int> opt = read_tsplib_tour(read_text(data_path("berlin52.opt.tour")), "berlin52.opt.tour");
  CHECK(tour_length(inst, opt) == 7542);  // TSPLIB's published optimum
  const DistanceMatrix d = inst.matrix();
  std::vector<int> tour = tsp_farthest_insertion(d);
  tsp_local_search(d, tour);
  const double len = tour_length(inst, tour);
  CHECK(len >= 7542);
  CHECK(len <= 7542 * 1.10);  // measured: 8162 (8.2% above)
}

TEST_CASE("TSPLIB: malformed and unsupported files are rejected with file, line and reason", "[combo]") {
  const std::string head = "NAME : x\nTYPE : TSP\nDIMENSION : 3\n";
  CHECK(error_of([&] { read_tsplib(head + "EDGE_WEIGHT_TYPE : GEO\nNODE_COORD_SECTION\n1 0 0\n2 1 1\n3 2 2\nEOF\n", "g.tsp"); }) ==
        "g.tsp:4: TSPLIB: EDGE_WEIGHT_TYPE 'GEO' is not supported (EUC_2D, CEIL_2D, ATT are)");
  CHECK(error_of([&] { read_tsplib(head + "EDGE_WEIGHT_TYPE : EXPLICIT\n", "e.tsp"); }).find("'EXPLICIT' is not supported") !=
        std::string::npos);
  CHECK(error_of([&] { read_tsplib("NAME : x\nTYPE : ATSP\n", "a.tsp"); }) == "a.tsp:2: TSPLIB: TYPE 'ATSP' is not supported (only TSP)");
  CHECK(error_of([&] { read_tsplib(head + "EDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1\n3 2 2\n", "f.tsp"); }) ==
        "f.tsp:7: TSPLIB: a node line is 'id x y', got 2 fields (section has 1 of 3 nodes)");
  CHECK(error_of([&] { read_tsplib(head + "EDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1 x\n3 2 2\n", "f.tsp"); }) ==
        "f.tsp:7: TSPLIB: 'x' is not a number");
  CHECK(error_of([&] { read_tsplib(head + "EDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1 1\n", "s.tsp"); })
            .find("NODE_COORD_SECTION ends after 2 of 3 nodes") != std::string::npos);
  CHECK(error_of([&] { read_tsplib(head + "EDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n1 1 1\n3 2 2\n", "d.tsp"); }) ==
        "d.tsp:7: TSPLIB: node 1 appears twice");
  CHECK(error_of([&] { read_tsplib(head + "EDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1 1\n3 2 2\n4 3 3\nEOF\n", "x.tsp"); }) ==
        "x.tsp:9: TSPLIB: more node lines than DIMENSION (3)");
  CHECK(error_of([&] { read_tsplib(head + "EDGE_WEIGHT_TYP : EUC_2D\n", "t.tsp"); }) == "t.tsp:4: TSPLIB: unknown keyword 'EDGE_WEIGHT_TYP'");
  CHECK(error_of([&] { read_tsplib(head + "EDGE_WEIGHT_TYPE : EUC_2D\n", "m.tsp"); }) == "m.tsp: TSPLIB: NODE_COORD_SECTION is missing");
  CHECK(error_of([&] { read_tsplib("NAME : x\nTYPE : TSP\nDIMENSION : -3\n", "n.tsp"); }) ==
        "n.tsp:3: TSPLIB: DIMENSION (the number of cities) must be an integer in [2, 100000], got '-3'");
  // One city is no tour, as in a dataset line (n must be in [2, 100000] there too).
  CHECK(error_of([&] { read_tsplib("NAME : x\nTYPE : TSP\nDIMENSION : 1\n", "one.tsp"); }) ==
        "one.tsp:3: TSPLIB: DIMENSION (the number of cities) must be an integer in [2, 100000], got '1'");
  CHECK(error_of([&] { read_tsp_dataset("1 0.5 0.5\n", "one.txt"); }) ==
        "one.txt:1: tsp: n (the number of cities) must be in [2, 100000], got 1");
  // Too large for the solvers' distance matrix: a message, not an out-of-memory crash.
  TspInstance huge;
  huge.n = 20001;
  huge.xy.assign(2 * 20001, 0.0);
  huge.metric = TspMetric::Euc2D;
  CHECK(error_of([&] { huge.matrix(); }) == "the routing solvers keep an n x n distance matrix; 20001 points exceed 20000");
}

TEST_CASE("TSP datasets round-trip exactly, malformed lines name file, line and problem", "[combo]") {
  const TspBatch batch = generate_tsp(7, 5, 2);
  std::vector<TspInstance> instances;
  for (int i = 0; i < batch.count; ++i) instances.push_back(batch.instance(i));
  const std::string text = write_tsp_dataset(instances);
  const std::vector<TspInstance> back = read_tsp_dataset("# a comment\n\n" + text, "d.txt");
  REQUIRE(back.size() == 5u);
  CHECK(TspBatch::from_instances(back).xy == batch.xy);  // bit-identical

  CHECK(error_of([] { read_tsp_dataset("3 0 0 1 1 2\n", "d.txt"); }) ==
        "d.txt:1: tsp: expected 7 numbers (n, then x y of each of the n cities), got 6");
  CHECK(error_of([] { read_tsp_dataset("# header\n2 0 0 1 1\n2 0 0 l 1\n", "d.txt"); }) ==
        "d.txt:3: tsp: 'l' (number 4 on the line) is not a number");
  CHECK(error_of([] { read_tsp_dataset("2.5 0 0 1 1\n", "d.txt"); }) == "d.txt:1: tsp: n (the number of cities) must be an integer, got 2.5");
  CHECK(error_of([] { read_tsp_dataset("2 0 0 nan 1\n", "d.txt"); }).find("'nan'") != std::string::npos);
  CHECK(error_of([] { read_tsp_dataset("2 0 0 1e999 1\n", "d.txt"); }).find("'1e999'") != std::string::npos);
  // Finite but so large that distances overflow (a solver once hung on them).
  CHECK(error_of([] { read_tsp_dataset("2 0 0 1 -1e308\n", "d.txt"); }) ==
        "d.txt:1: tsp: a city's y must be in [-1e+15, 1e+15], got -1e+308");
  CHECK(read_tsp_dataset("2 0 0 1e15 -1e15\n", "d.txt")[0].xy[3] == -1e15);
  CHECK(error_of([] { read_tsplib("NAME : x\nTYPE : TSP\nDIMENSION : 2\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 3e200 1\nEOF\n", "big.tsp"); })
            .find("big.tsp:7: TSPLIB: coordinates must be within +-1e15") != std::string::npos);
}

// ------------------------------------------------------------------------------------------------
// CVRP

TEST_CASE("CvrpState: random masked rollouts are feasible, infeasible actions are refused", "[combo]") {
  const CvrpBatch batch = generate_cvrp(20, 32, 6);
  CvrpState state;
  state.reset(batch);
  pl::Rng rng(5);
  std::vector<std::vector<int>> sequences(batch.count, std::vector<int>{0});
  int guard = 0;
  while (!state.all_done() && ++guard < 1000) {
    for (int i = 0; i < batch.count; ++i) {
      if (state.done(i)) continue;
      const uint8_t* m = state.mask(i);
      // Independent check of the mask: customer allowed <=> unvisited and fits; depot rule.
      const std::set<int> visited(sequences[i].begin(), sequences[i].end());
      for (int c = 1; c <= 20; ++c) {
        const bool fits = batch.demand[i * 21 + c] <= state.remaining_capacity(i);
        CHECK(m[c] == (visited.count(c) == 0 && fits));
      }
      const bool all_served = static_cast<int>(visited.size()) == 21;  // with the depot
      CHECK(m[0] == (state.current(i) != 0 || all_served));
      const int a = random_allowed(m, 21, rng);
      REQUIRE(a >= 0);
      state.step(i, a);
      sequences[i].push_back(a);
    }
  }
  REQUIRE(state.all_done());
  for (int i = 0; i < batch.count; ++i) {
    const CvrpInstance inst = batch.instance(i);
    CHECK(cvrp_check(inst, sequences[i]) == Approx(state.length(i)).epsilon(1e-12));
    // No two depots in a row (no empty trips).
    for (size_t k = 1; k < sequences[i].size(); ++k) CHECK(!(sequences[i][k] == 0 && sequences[i][k - 1] == 0));
  }
  CvrpState s;
  s.reset(batch);
  CHECK(s.mask(0)[0] == 0);  // at the depot with customers left
  CHECK_THROWS_WITH(s.step(0, 0), Catch::Contains("node 0 is not allowed"));
  // Fill the vehicle until some customer no longer fits, then that customer is refused.
  const CvrpInstance inst = batch.instance(0);
  int remaining = inst.capacity;
  std::vector<int> order(20);
  std::iota(order.begin(), order.end(), 1);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return inst.demand[a] > inst.demand[b]; });
  size_t k = 0;
  while (k < order.size() && inst.demand[order[k]] <= remaining) {
    remaining -= inst.demand[order[k]];
    s.step(0, order[k++]);
  }
  for (int c = 1; c <= 20; ++c)
    if (inst.demand[c] > remaining) CHECK(s.mask(0)[c] == 0);
  CHECK(s.mask(0)[0] == 1);
}

TEST_CASE("CVRP: savings and nearest neighbour are feasible, savings shorter on average, checker and dataset errors", "[combo]") {
  const CvrpBatch batch = generate_cvrp(50, 20, 8);
  double nn = 0, cw = 0;
  for (int i = 0; i < batch.count; ++i) {
    const CvrpInstance inst = batch.instance(i);
    nn += cvrp_check(inst, cvrp_nearest_neighbor(inst));
    cw += cvrp_check(inst, cvrp_savings(inst));
  }
  CHECK(cw < nn);
  // Hand instance: two customers on each side of the depot, capacity for two: savings pairs them.
  CvrpInstance hand;
  hand.n = 4;
  hand.capacity = 2;
  hand.xy = {0, 0, 1, 0, 2, 0, -1, 0, -2, 0};
  hand.demand = {0, 1, 1, 1, 1};
  CHECK(cvrp_check(hand, cvrp_savings(hand)) == Approx(8.0));
  CHECK_THROWS_WITH(cvrp_check(hand, {0, 1, 2, 3, 0, 4, 0}), Catch::Contains("carries 3 > capacity 2"));
  CHECK_THROWS_WITH(cvrp_check(hand, {0, 1, 2, 0, 3, 0}), Catch::Contains("customer 4 is not visited"));
  CHECK_THROWS_WITH(cvrp_check(hand, {0, 1, 1, 0, 3, 4, 0, 2, 0}), Catch::Contains("customer 1 is visited twice"));

  std::vector<CvrpInstance> instances = {batch.instance(0), batch.instance(1)};
  const std::vector<CvrpInstance> back = read_cvrp_dataset(write_cvrp_dataset(instances), "c.txt");
  CHECK(CvrpBatch::from_instances(back).xy == CvrpBatch::from_instances(instances).xy);
  CHECK(CvrpBatch::from_instances(back).demand == CvrpBatch::from_instances(instances).demand);
  CHECK(error_of([] { read_cvrp_dataset("2 30 0.5 0.5 0.1 0.1 3 0.2 0.2 -4\n", "c.txt"); }) ==
        "c.txt:1: cvrp: demand of customer 2 must be in [1, 30], got -4");
  CHECK(error_of([] { read_cvrp_dataset("2 30 0.5 0.5 0.1 0.1 3 0.2 0.2 31\n", "c.txt"); }) ==
        "c.txt:1: cvrp: demand of customer 2 must be in [1, 30], got 31");
  CHECK(error_of([] { read_cvrp_dataset("2 30 0.5 0.5 0.1 0.1 3 0.2 0.2\n", "c.txt"); }) ==
        "c.txt:1: cvrp: expected 10 numbers (n, capacity, depot x y, then x y demand of each of the n customers), got 9");
  CHECK(error_of([] { read_cvrp_dataset("2 0 0.5 0.5 0.1 0.1 3 0.2 0.2 1\n", "c.txt"); }) ==
        "c.txt:1: cvrp: capacity must be in [1, 1000000000], got 0");
}

// ------------------------------------------------------------------------------------------------
// Knapsack

TEST_CASE("Knapsack branch and bound equals brute force over subsets, greedy is feasible", "[combo]") {
  pl::Rng rng(21);
  for (int rep = 0; rep < 30; ++rep) {
    KnapsackInstance inst;
    inst.n = 4 + rep % 11;  // 4..14 items
    inst.weight.resize(inst.n);
    inst.value.resize(inst.n);
    double total = 0;
    for (int k = 0; k < inst.n; ++k) {
      inst.weight[k] = 0.01 + rng.uniform();
      inst.value[k] = rng.uniform();
      total += inst.weight[k];
    }
    inst.capacity = total * (0.2 + 0.6 * rng.uniform());
    double best = 0;
    for (uint32_t s = 0; s < (1u << inst.n); ++s) {
      double w = 0, v = 0;
      for (int k = 0; k < inst.n; ++k)
        if (s >> k & 1) {
          w += inst.weight[k];
          v += inst.value[k];
        }
      if (w <= inst.capacity) best = std::max(best, v);
    }
    const double exact = knapsack_check(inst, knapsack_branch_and_bound(inst));
    CHECK(exact == Approx(best).epsilon(1e-12));
    const double greedy = knapsack_check(inst, knapsack_greedy(inst));
    CHECK(greedy <= exact + 1e-12);
  }
  // POMO's sizes are solved exactly (the branch and bound never gives up on them).
  const KnapsackBatch batch = generate_knapsack(100, 3, 1);
  for (int i = 0; i < batch.count; ++i) {
    const KnapsackInstance inst = batch.instance(i);
    const double exact = knapsack_check(inst, knapsack_branch_and_bound(inst));
    CHECK(exact >= knapsack_check(inst, knapsack_greedy(inst)));
  }
  CHECK_THROWS_WITH(knapsack_check(batch.instance(0), {0, 0}), Catch::Contains("item 0 is chosen twice"));
}

TEST_CASE("KnapsackState: random rollouts never exceed the capacity and end when nothing fits, no allocation", "[combo]") {
  const KnapsackBatch batch = generate_knapsack(50, 16, 2);
  KnapsackState state;
  state.reset(batch);
  pl::Rng rng(1);
  std::vector<int> actions(batch.count);
  pl::allocation_counter::count = 0;
  pl::allocation_counter::counting = true;
  int mask_errors = 0;
  while (!state.all_done()) {
    for (int i = 0; i < batch.count; ++i) {
      actions[i] = state.done(i) ? -1 : random_allowed(state.mask(i), 50, rng);
      for (int k = 0; k < 50; ++k)  // the mask is exactly "not taken and fits"
        mask_errors += state.mask(i)[k] != (!state.taken(i, k) && batch.weight[i * 50 + k] <= state.remaining_capacity(i));
    }
    state.step_all(actions.data());
  }
  pl::allocation_counter::counting = false;
  CHECK(pl::allocation_counter::count == 0);
  CHECK(mask_errors == 0);
  for (int i = 0; i < batch.count; ++i) {
    const KnapsackInstance inst = batch.instance(i);
    std::vector<int> items;
    double room = inst.capacity;
    for (int k = 0; k < 50; ++k)
      if (state.taken(i, k)) {
        items.push_back(k);
        room -= inst.weight[k];
      }
    CHECK(knapsack_check(inst, items) == Approx(state.value(i)));
    for (int k = 0; k < 50; ++k)
      if (!state.taken(i, k)) CHECK(inst.weight[k] > room - 1e-12);  // done: nothing else fits
  }
  CHECK(error_of([] { read_knapsack_dataset("2 1 0.5 0.5 -0.1 0.2\n", "k.txt"); }) == "k.txt:1: knapsack: weight of item 2 must be > 0, got -0.1");
  CHECK(error_of([] { read_knapsack_dataset("2 1 0.5 0.5 0.1\n", "k.txt"); }) ==
        "k.txt:1: knapsack: expected 6 numbers (n, capacity, then weight value of each of the n items), got 5");
  std::vector<KnapsackInstance> one = {batch.instance(3)};
  CHECK(read_knapsack_dataset(write_knapsack_dataset(one), "k.txt")[0].weight == one[0].weight);
}

// ------------------------------------------------------------------------------------------------
// Job-shop

namespace {

// Exhaustive: every combination of machine orders; the makespan of each acyclic one by a longest
// path over job and machine arcs (independent of the dispatching code).
int brute_force_jobshop(const JobShopInstance& inst) {
  const int n = inst.jobs, m = inst.machines;
  std::vector<std::vector<int>> on_machine(m);  // operation ids per machine
  for (int o = 0; o < n * m; ++o) on_machine[inst.machine[o]].push_back(o);
  for (auto& ops : on_machine) std::sort(ops.begin(), ops.end());
  int best = std::numeric_limits<int>::max();
  std::function<void(int)> rec = [&](int mc) {
    if (mc == m) {
      std::vector<std::vector<int>> succ(n * m);
      std::vector<int> indeg(n * m, 0);
      for (int o = 0; o < n * m; ++o)
        if (o % m != m - 1) succ[o].push_back(o + 1);
      for (const auto& ops : on_machine)
        for (size_t k = 0; k + 1 < ops.size(); ++k) succ[ops[k]].push_back(ops[k + 1]);
      for (int o = 0; o < n * m; ++o)
        for (int s : succ[o]) ++indeg[s];
      std::vector<int> ready, start(n * m, 0);
      for (int o = 0; o < n * m; ++o)
        if (!indeg[o]) ready.push_back(o);
      int seen = 0, makespan = 0;
      while (!ready.empty()) {
        const int o = ready.back();
        ready.pop_back();
        ++seen;
        makespan = std::max(makespan, start[o] + inst.duration[o]);
        for (int s : succ[o]) {
          start[s] = std::max(start[s], start[o] + inst.duration[o]);
          if (--indeg[s] == 0) ready.push_back(s);
        }
      }
      if (seen == n * m) best = std::min(best, makespan);  // else a cycle: infeasible orders
      return;
    }
    do {
      rec(mc + 1);
    } while (std::next_permutation(on_machine[mc].begin(), on_machine[mc].end()));
  };
  rec(0);
  return best;
}

}  // namespace

TEST_CASE("Job-shop branch and bound equals exhaustive search on 2x2, 3x3 and 3x4, dispatching rules are feasible", "[combo]") {
  int instances = 0;
  for (auto [n, m] : {std::pair<int, int>{2, 2}, {3, 3}, {3, 2}, {2, 3}, {3, 4}}) {
    const JobShopBatch batch = generate_jobshop(n, m, n * m == 12 ? 3 : 10, 100 + n * 10 + m);
    for (int i = 0; i < batch.count; ++i) {
      const JobShopInstance inst = batch.instance(i);
      const int opt = brute_force_jobshop(inst);
      CHECK(jobshop_check(inst, jobshop_branch_and_bound(inst)) == opt);
      for (DispatchRule rule : {DispatchRule::Spt, DispatchRule::Mwkr, DispatchRule::Mor, DispatchRule::Fifo}) {
        const int makespan = jobshop_check(inst, jobshop_dispatch(inst, rule));
        CHECK(makespan >= opt);
      }
      ++instances;
    }
  }
  CHECK(instances == 43);
  const JobShopInstance seven = generate_jobshop(7, 6, 1, 1).instance(0);
  CHECK_THROWS_WITH(jobshop_branch_and_bound(seven), Catch::Contains("at most 6 jobs and 6 machines; this one is 7 x 6"));
  // 6 x 6 finishes and is no worse than any rule.
  const JobShopInstance six = generate_jobshop(6, 6, 1, 2).instance(0);
  const int exact = jobshop_check(six, jobshop_branch_and_bound(six));
  for (DispatchRule rule : {DispatchRule::Spt, DispatchRule::Mwkr, DispatchRule::Mor, DispatchRule::Fifo})
    CHECK(exact <= jobshop_check(six, jobshop_dispatch(six, rule)));
}

TEST_CASE("JobShopState: left shift into a machine gap, L2D's lower bound and rewards, random rollouts", "[combo]") {
  // Job 0: machine 0 for 4, then machine 1 for 2. Job 1: machine 1 for 3, then machine 0 for 1.
  JobShopInstance inst;
  inst.jobs = 2;
  inst.machines = 2;
  inst.machine = {0, 1, 1, 0};
  inst.duration = {4, 2, 3, 1};
  const JobShopBatch batch = JobShopBatch::from_instances({inst});
  JobShopState s;
  s.reset(batch);
  CHECK(s.lower_bound(0) == 6);  // job chains: 4 + 2, 3 + 1
  CHECK(s.step(0, 0) == 0.0);    // job 0 op 0 on m0 at [0, 4): bounds unchanged
  CHECK(s.step(0, 0) == 0.0);    // job 0 op 1 on m1 at [4, 6)
  CHECK(s.mask(0)[0] == 0);      // job 0 finished
  CHECK_THROWS_WITH(s.step(0, 0), Catch::Contains("job 0 has no operation left"));
  CHECK(s.step(0, 1) == 0.0);    // job 1 op 0 on m1: the gap [0, 4) fits 3 -> starts at 0
  CHECK(s.start(0)[2] == 0);
  CHECK(s.lower_bound_of(0, 1, 1) == 4);
  CHECK(s.step(0, 1) == -0.0);   // job 1 op 1 on m0 ready at 3, m0 busy to 4 -> [4, 5)
  CHECK(s.start(0)[3] == 4);
  CHECK(s.done(0));
  CHECK(s.lower_bound(0) == 6);
  CHECK(jobshop_check(inst, s.schedule(0)) == 6);

  // Random rollouts: feasible schedules, the return is C_LB(start) - makespan, LB never decreases.
  const JobShopBatch many = generate_jobshop(6, 6, 16, 3);
  JobShopState state;
  state.reset(many);
  pl::Rng rng(2);
  std::vector<double> returns(many.count, 0.0);
  std::vector<int> lb0(many.count);
  for (int i = 0; i < many.count; ++i) lb0[i] = state.lower_bound(i);
  pl::allocation_counter::count = 0;
  pl::allocation_counter::counting = true;
  while (!state.all_done()) {
    for (int i = 0; i < many.count; ++i) {
      if (state.done(i)) continue;
      const int before = state.lower_bound(i);
      returns[i] += state.step(i, random_allowed(state.mask(i), 6, rng));
      if (state.lower_bound(i) < before) FAIL("the lower bound decreased");
    }
  }
  pl::allocation_counter::counting = false;
  CHECK(pl::allocation_counter::count == 0);
  for (int i = 0; i < many.count; ++i) {
    const int makespan = jobshop_check(many.instance(i), state.schedule(i));
    CHECK(makespan == state.lower_bound(i));
    CHECK(returns[i] == lb0[i] - makespan);
  }
}

TEST_CASE("Job-shop files: standard and Taillard formats agree, malformed files are named", "[combo]") {
  const std::string standard = "# a 3 x 2 instance\n3 2\n0 3 1 2\n1 2 0 4\n0 1 1 1\n";
  const std::string taillard = "Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper bound, Lower bound\n"
                               "3 2 1 1 9 9\nTimes\n3 2\n2 4\n1 1\nMachines\n1 2\n2 1\n1 2\n";
  CHECK(looks_like_jobshop_file(standard));
  CHECK(looks_like_jobshop_file(taillard));
  const JobShopInstance a = read_jobshop_file(standard, "a.txt"), b = read_jobshop_file(taillard, "b.txt");
  CHECK(a.jobs == 3);
  CHECK(a.machines == 2);
  CHECK(a.machine == b.machine);
  CHECK(a.duration == b.duration);
  CHECK(read_jobshop_file(write_jobshop_file(a), "c.txt").duration == a.duration);
  const std::vector<JobShopInstance> ds = read_jobshop_dataset(write_jobshop_dataset({a, b}), "d.txt");
  CHECK(ds[1].machine == a.machine);

  CHECK(error_of([] { read_jobshop_file("2 2\n0 3 1 2\n1 2 1 4\n", "j.txt"); }) ==
        "j.txt:3: jobshop: job 2 visits machine 1 twice (each job visits each machine once)");
  CHECK(error_of([] { read_jobshop_file("2 2\n0 3 1 2\n1 2 0\n", "j.txt"); }) ==
        "j.txt:3: jobshop: job 2: expected 4 numbers (machine duration for each of 2 operations), got 3");
  CHECK(error_of([] { read_jobshop_file("2 2\n0 3 1 2\n", "j.txt"); }) == "j.txt:2: jobshop: expected 2 job lines after 'n m', got 1");
  CHECK(error_of([] { read_jobshop_file("2 2\n0 3 1 2\n1 2 2 4\n", "j.txt"); }) == "j.txt:3: jobshop: machine must be in [0, 1], got 2");
  CHECK(error_of([] { read_jobshop_file("2 2\n0 3 1 -2\n1 2 0 4\n", "j.txt"); }) ==
        "j.txt:2: jobshop: duration must be in [0, 1000000], got -2");
  CHECK(error_of([] { read_jobshop_file("2 2\n0 3 1 2x\n1 2 0 4\n", "j.txt"); }) == "j.txt:2: jobshop: '2x' (duration) is not an integer");
  CHECK(error_of([] { read_jobshop_file("2 2 1 1\nTimes\n1 2\n3 4\nMachines\n1 2\n", "t.txt"); }) ==
        "t.txt:6: jobshop: Taillard format: expected 2 lines of machines after 'Machines', got 1");
  CHECK(error_of([] { read_jobshop_dataset("2 2 0 3 1 2 1 2 1 4\n", "d.txt"); }) ==
        "d.txt:1: jobshop: job 2 visits machine 1 twice (each job visits each machine once)");
  CHECK(error_of([] { read_jobshop_dataset("2 2 0 3 1 2 1 2 0\n", "d.txt"); }) ==
        "d.txt:1: jobshop: expected 10 numbers (n m, then machine duration of each operation, job by job), got 9");
  CHECK_THROWS_WITH(jobshop_check(a, {0, 3, 0, 2, 7, 8}), Catch::Contains("overlap on machine"));
  CHECK_THROWS_WITH(jobshop_check(a, {0, 2, 3, 5, 7, 8}), Catch::Contains("operation 1 of job 0 starts before its predecessor ends"));
}

// ------------------------------------------------------------------------------------------------
// Bin packing

TEST_CASE("1-D bin packing: first fit and best fit by hand, masks by random rollouts", "[combo]") {
  BinPack1DInstance inst;
  inst.n = 4;
  inst.capacity = 10;
  inst.size = {5, 7, 3, 2};
  CHECK(binpack1d_first_fit(inst) == std::vector<int>{0, 1, 0, 0});  // 3 joins the first bin that fits
  CHECK(binpack1d_best_fit(inst) == std::vector<int>{0, 1, 1, 0});   // 3 joins the fuller bin (7)
  CHECK(binpack1d_check(inst, {0, 1, 1, 0}) == 2);
  CHECK_THROWS_WITH(binpack1d_check(inst, {0, 0, 1, 1}), Catch::Contains("bin 0 overflows at item 1"));
  CHECK_THROWS_WITH(binpack1d_check(inst, {0, 2, 1, 1}), Catch::Contains("numbered in opening order"));

  const BinPack1DBatch batch = generate_binpack1d(120, 8, 4);
  BinPack1DState state;
  state.reset(batch);
  pl::Rng rng(9);
  int ff_total = 0;
  double random_total = 0;
  std::vector<double> returns(batch.count, 0.0);
  while (!state.all_done()) {
    for (int i = 0; i < batch.count; ++i) {
      if (state.done(i)) continue;
      const uint8_t* m = state.mask(i);
      for (int b = 0; b < state.open_bins(i); ++b) CHECK(m[b] == (state.load(i, b) + state.item_size(i) <= 150));
      CHECK(m[state.open_bins(i)] == 1);
      for (int b = state.open_bins(i) + 1; b < 120; ++b) REQUIRE(m[b] == 0);
      returns[i] += state.step(i, random_allowed(m, 120, rng));
    }
  }
  for (int i = 0; i < batch.count; ++i) {
    const BinPack1DInstance one = batch.instance(i);
    const std::vector<int> assignment(state.assignment(i), state.assignment(i) + 120);
    CHECK(-returns[i] == binpack1d_check(one, assignment));
    const int ff = binpack1d_check(one, binpack1d_first_fit(one));
    const int bf = binpack1d_check(one, binpack1d_best_fit(one));
    CHECK(ff >= binpack1d_lower_bound(one));
    CHECK(bf >= binpack1d_lower_bound(one));
    ff_total += ff;
    random_total -= returns[i];
  }
  CHECK(ff_total < random_total);  // random placements open bins first fit would not
  CHECK(error_of([] { read_binpack1d_dataset("3 10 4 11 2\n", "b.txt"); }) == "b.txt:1: binpack1d: size of item 2 must be in [1, 10], got 11");
}

namespace {
// An independent check of a 3-D packing on a voxel grid: inside the bin, no overlap, nothing above
// the item's column (it was dropped from above), and Zhao et al.'s support rule counted on voxels.
void check_voxels(const BinPack3DInstance& inst, const int* placed, int count) {
  const int L = inst.length, W = inst.width, H = inst.height;
  std::vector<uint8_t> vox(static_cast<size_t>(L) * W * H, 0);
  auto at = [&](int x, int y, int z) -> uint8_t& { return vox[(static_cast<size_t>(x) * W + y) * H + z]; };
  for (int k = 0; k < count; ++k) {
    const int l = inst.item[3 * k], w = inst.item[3 * k + 1], h = inst.item[3 * k + 2];
    const int x = placed[3 * k], y = placed[3 * k + 1], z = placed[3 * k + 2];
    REQUIRE(x >= 0);
    REQUIRE(y >= 0);
    REQUIRE(z >= 0);
    REQUIRE(x + l <= L);
    REQUIRE(y + w <= W);
    REQUIRE(z + h <= H);
    int support = 0;
    for (int a = x; a < x + l; ++a)
      for (int b = y; b < y + w; ++b) {
        for (int c = z; c < H; ++c) REQUIRE(at(a, b, c) == 0);  // free column above the base
        support += z == 0 || at(a, b, z - 1);
      }
    if (z > 0) {
      REQUIRE(support > 0);  // not floating
      const int corners = at(x, y, z - 1) + at(x + l - 1, y, z - 1) + at(x, y + w - 1, z - 1) + at(x + l - 1, y + w - 1, z - 1);
      const double ratio = static_cast<double>(support) / (l * w);
      REQUIRE(((ratio > 0.6 && corners == 4) || (ratio > 0.8 && corners >= 3) || ratio > 0.95));
    }
    for (int a = x; a < x + l; ++a)
      for (int b = y; b < y + w; ++b)
        for (int c = z; c < z + h; ++c) at(a, b, c) = 1;
  }
}
}  // namespace

TEST_CASE("3-D bin packing: the support rule by hand, random rollouts and heuristics obey it", "[combo]") {
  // A 4 x 4 bin; a 2 x 4 block of height 2 on the left half (x = 0, 1).
  std::vector<int> hm(16, 0);
  for (int x = 0; x < 2; ++x)
    for (int y = 0; y < 4; ++y) hm[x * 4 + y] = 2;
  int z = -1;
  // A 3 x 4 item over x = 0..2: 8 of 12 cells (67%) supported, 2 of 4 corners: refused.
  CHECK_FALSE(binpack3d_feasible(hm.data(), 4, 4, 10, 3, 4, 1, 0, 0, z));
  CHECK(z == 2);
  // A 2 x 4 item on the block: all supported.
  CHECK(binpack3d_feasible(hm.data(), 4, 4, 10, 2, 4, 1, 0, 0, z));
  // Raise one more cell (x = 2, y = 0) to 2: a 3 x 2 item at (0, 0): 5 of 6 cells (83%), 3 corners.
  hm[2 * 4 + 0] = 2;
  CHECK(binpack3d_feasible(hm.data(), 4, 4, 10, 3, 2, 1, 0, 0, z));
  // The same 3 x 4: 9 of 12 (75%) with 3 corners: refused (needs > 80% with three corners).
  CHECK_FALSE(binpack3d_feasible(hm.data(), 4, 4, 10, 3, 4, 1, 0, 0, z));
  // On the floor anything fits; too tall or outside never.
  CHECK(binpack3d_feasible(hm.data(), 4, 4, 10, 2, 3, 10, 2, 1, z));
  CHECK(z == 0);
  CHECK_FALSE(binpack3d_feasible(hm.data(), 4, 4, 10, 2, 4, 9, 0, 0, z));  // 2 + 9 > 10
  CHECK_FALSE(binpack3d_feasible(hm.data(), 4, 4, 10, 2, 2, 1, 3, 0, z));

  const BinPack3DBatch batch = generate_binpack3d(60, 12, 2);
  BinPack3DState state;
  state.reset(batch);
  pl::Rng rng(4);
  std::vector<double> returns(batch.count, 0.0);
  pl::allocation_counter::count = 0;
  pl::allocation_counter::counting = true;
  while (!state.all_done()) {
    for (int i = 0; i < batch.count; ++i)
      if (!state.done(i)) returns[i] += state.step(i, random_allowed(state.mask(i), 100, rng));
  }
  pl::allocation_counter::counting = false;
  CHECK(pl::allocation_counter::count == 0);
  double ff_total = 0, random_total = 0;
  for (int i = 0; i < batch.count; ++i) {
    const BinPack3DInstance inst = batch.instance(i);
    check_voxels(inst, state.placements(i), state.item(i));
    CHECK(returns[i] == Approx(state.utilisation(i)));
    const std::vector<int> placed(state.placements(i), state.placements(i) + 3 * state.item(i));
    CHECK(binpack3d_check(inst, placed) == Approx(state.utilisation(i)));
    for (const std::vector<int>& heuristic : {binpack3d_first_fit(inst), binpack3d_best_fit(inst)}) {
      check_voxels(inst, heuristic.data(), static_cast<int>(heuristic.size() / 3));
      CHECK(binpack3d_check(inst, heuristic) > 0.0);
    }
    ff_total += binpack3d_check(inst, binpack3d_best_fit(inst));
    random_total += state.utilisation(i);
  }
  CHECK(ff_total > random_total);  // the heuristic packs more than random placements
  CHECK(error_of([] { read_binpack3d_dataset("1 10 10 10 2 11 3\n", "p.txt"); }) ==
        "p.txt:1: binpack3d: width of item 1 must be in [1, 10], got 11");
  CHECK(error_of([] { read_binpack3d_dataset("1 101 10 10 2 3 3\n", "p.txt"); }) ==
        "p.txt:1: binpack3d: bin length L must be in [1, 100], got 101");
  CHECK(error_of([] { read_binpack3d_dataset("2 10 10 10 2 3 3\n", "p.txt"); }) ==
        "p.txt:1: binpack3d: expected 10 numbers (n, bin L W H, then l w h of each of the n items), got 7");
}

TEST_CASE("Job-shop: ft06's known optimum 55 (Fisher & Thompson 1963)", "[combo]") {
  const JobShopInstance ft06 = read_jobshop_file(read_text(data_path("ft06.txt")), "ft06.txt");
  REQUIRE(ft06.jobs == 6);
  REQUIRE(ft06.machines == 6);
  CHECK(jobshop_check(ft06, jobshop_branch_and_bound(ft06)) == 55);
  for (DispatchRule rule : {DispatchRule::Spt, DispatchRule::Mwkr, DispatchRule::Mor, DispatchRule::Fifo})
    CHECK(jobshop_check(ft06, jobshop_dispatch(ft06, rule)) > 55);  // measured: 83, 67, 60, 65
}

TEST_CASE("Solutions files: every solver's solution lines read back to the same solutions and objectives", "[combo]") {
  const std::vector<AnyInstance> instances = {generate_tsp(8, 1, 4).instance(0),      generate_cvrp(10, 1, 4).instance(0),
                                              generate_knapsack(50, 1, 4).instance(0), generate_jobshop(3, 3, 1, 4).instance(0),
                                              generate_binpack1d(12, 1, 4).instance(0), generate_binpack3d(8, 1, 4).instance(0)};
  for (const AnyInstance& instance : instances) {
    const ProblemKind kind = kind_of(instance);
    // A file of every solver's solution of this instance, one line each, CRLF line ends and a
    // comment line between them.
    std::vector<Solution> written;
    std::string text = "# solutions\r\n";
    for (const SolverInfo& info : solver_table()) {
      if (info.kind != kind) continue;
      written.push_back(solve(instance, info.name));
      text += solution_line(kind, written.back()) + "\r\n";
    }
    INFO(problem_name(kind) << "\n" << text);
    const std::vector<std::vector<int>> read = read_solutions(kind, text, "sol.txt");
    REQUIRE(read.size() == written.size());
    for (size_t k = 0; k < read.size(); ++k) {
      CHECK(read[k] == written[k].solution);
      CHECK(check_solution(instance, read[k]) == written[k].objective);
    }
  }
  // A blank line is an empty solution (a knapsack with no item), not a skipped line; the last line
  // needs no line end.
  CHECK(read_solutions(ProblemKind::Knapsack, "1 4\n\n2", "k.txt") == std::vector<std::vector<int>>{{1, 4}, {}, {2}});
  // A TSPLIB .tour holds one tour (ids from 1 there).
  const std::vector<int> tour = {2, 0, 3, 1};
  CHECK(read_solutions(ProblemKind::Tsp, write_tsplib_tour(tour, "t.tour", "test"), "t.tour") ==
        std::vector<std::vector<int>>{tour});
  // A comment that names the TSPLIB keyword does not make a solutions file a tour file.
  CHECK(read_solutions(ProblemKind::Tsp, "# not a TOUR_SECTION\n1 0 2\n", "s.txt") == std::vector<std::vector<int>>{{1, 0, 2}});
  // Bad layouts name the file, the line and the problem.
  CHECK_THROWS_WITH(read_solutions(ProblemKind::Tsp, "0 1 2\n0 1 2.5\n", "s.txt"),
                    "s.txt:2: tsp solution: '2.5' is not an integer (solution lines are the integers `policylab solve "
                    "--out` writes)");
  CHECK_THROWS_WITH(read_solutions(ProblemKind::BinPack3D, "1 0 0 0\n2 0 0 0 5 0\n", "p.txt"),
                    "p.txt:2: binpack3d solution: the line starts with 2 packed items but holds 5 numbers after it (3 "
                    "per item)");
  CHECK_THROWS_WITH(read_solutions(ProblemKind::Tsp, "0 1 99999999999\n", "s.txt"), Catch::Contains("'99999999999' is not an integer"));
  // Comments: a line of its own is skipped, one after a solution (eval --out's objective) is cut.
  CHECK(read_solutions(ProblemKind::Tsp, "# header\n2 0 1  # length 3.5\n1 2 0#x\n", "s.txt") ==
        std::vector<std::vector<int>>{{2, 0, 1}, {1, 2, 0}});
}

TEST_CASE("Solver table: every solver runs on its problem's instance, exact ones are never beaten", "[combo]") {
  // One small instance of each problem, from the generators.
  std::vector<AnyInstance> instances = {generate_tsp(8, 1, 3).instance(0),     generate_cvrp(10, 1, 3).instance(0),
                                        generate_knapsack(50, 1, 3).instance(0), generate_jobshop(3, 3, 1, 3).instance(0),
                                        generate_binpack1d(12, 1, 3).instance(0), generate_binpack3d(8, 1, 3).instance(0)};
  for (const AnyInstance& instance : instances) {
    const ProblemKind kind = kind_of(instance);
    double exact = std::numeric_limits<double>::quiet_NaN();
    for (const SolverInfo& info : solver_table())
      if (info.kind == kind && info.exact) exact = solve(instance, info.name).objective;
    for (const SolverInfo& info : solver_table()) {
      if (info.kind != kind) continue;
      INFO(problem_name(kind) << " " << info.name);
      const Solution s = solve(instance, info.name);
      CHECK(std::isfinite(s.objective));
      CHECK_FALSE(s.solution.empty());
      if (!std::isnan(exact)) {
        if (maximizes(kind)) CHECK(s.objective <= exact + 1e-9);
        else CHECK(s.objective >= exact - 1e-9);
      }
    }
  }
  // The TSP path equals the solver functions it names.
  const TspInstance tsp = std::get<TspInstance>(instances[0]);
  CHECK(solve(tsp, "held-karp").solution == tsp_held_karp(tsp.matrix()));
  CHECK(solve(tsp, "held-karp").objective == Approx(tour_length(tsp, tsp_held_karp(tsp.matrix()))));
  // An unknown name lists the problem's solvers; the 3-D solution line starts with its item count.
  try {
    solve(tsp, "savings");
    FAIL("no error");
  } catch (const ComboError& e) {
    CHECK(std::string(e.what()) == "unknown solver 'savings' for tsp; its solvers: held-karp, branch-and-bound, nearest-neighbor, "
                                   "farthest-insertion, cheapest-insertion, 2-opt, or-opt, local-search");
  }
  CHECK(solution_line(ProblemKind::BinPack3D, Solution{0.5, {0, 0, 0, 2, 0, 0}}) == "2 0 0 0 2 0 0");
  // read_instances tells a TSPLIB file from a dataset.
  CHECK(read_instances(ProblemKind::Tsp, "5 0 0 1 0 1 1 0 1 0.5 0.5\n5 0 0 1 0 1 1 0 1 0.2 0.2\n", "<string>").size() == 2);
  CHECK(std::get<TspInstance>(read_instances(ProblemKind::Tsp, read_text(data_path("berlin52.tsp")), "berlin52.tsp")[0]).n == 52);
}
