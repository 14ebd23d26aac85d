// BQ-NCO's re-encoding policy for TSP and CVRP (core/combo/routing_policy.hpp,
// core/nn/reencoding_model.hpp's sub-problem mask, core/algos/pomo_routing_reencoding.cpp): masks,
// sub-problem and features over random rollouts (CVRP's masks against the Attention Model's
// TrajectoryEnv); the encoding depends on the remaining sub-problem only; the training pass's log-probs
// equal the rollout's and its gradients match finite differences; same seed, same numbers;
// checkpoints resume exactly; no allocation while training; tours of files of other sizes; bad
// configs named; learning on TSP10.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "core/algos/combo.hpp"
#include "core/combo/solvers.hpp"
#include "core/combo/routing_policy.hpp"
#include "core/nn/reencoding_model.hpp"
#include "core/train/trainer.hpp"
#include "gradcheck.hpp"
#include "reencoding_checks.hpp"
#include "trainer_checks.hpp"

using namespace pl;
using pl_test::central_difference;
using pl_test::check_close;

namespace {

combo::PolicyBatch policy_batch(combo::ProblemKind kind, int n, int count, uint64_t seed) {
  combo::PolicyBatch b;
  b.allocate(kind, n, count);
  Rng rng(seed);
  b.draw(rng, 0, count);
  return b;
}

json tsp_reencoding_config() {
  return json{{"algo", "pomo"},       {"problem", "tsp"}, {"n", 6},          {"reencode", true}, {"batch_size", 4},
              {"max_steps", 8},       {"eval_interval", 3}, {"heldout_size", 6}, {"d_model", 16}, {"n_heads", 2},
              {"n_layers", 1},        {"d_ff", 16},       {"seed", 5},       {"learning_rate", 1e-3}};
}

}  // namespace

TEST_CASE("TSP re-encoding: masks, sub-problem and features over random rollouts", "[combo_policy][routing_reencoding]") {
  const int n = 7, rows = 5;
  const combo::PolicyBatch batch = policy_batch(combo::ProblemKind::Tsp, n, 3, 4);
  combo::RoutingReencodingProblem p(rows, combo::ProblemKind::Tsp, 9);
  p.set_source(batch);
  const int inst[rows] = {0, 1, 2, 2, 0};
  p.load(inst, rows);
  CHECK(p.nodes() == n);
  Rng rng(9);
  std::vector<int32_t> mask(n), key(n);
  std::vector<float> f(static_cast<size_t>(n) * combo::kTspReencodingFeatures);
  for (int t = 0; t < n; ++t)
    for (int r = 0; r < rows; ++r) {
      REQUIRE(!p.done(r));
      const int allowed = p.mask(r, mask.data());
      CHECK(allowed == n - t);
      p.features(r, f.data());
      p.encoder_mask(r, key.data());
      const int* tour = p.route(r);
      for (int j = 0; j < n; ++j) {
        const bool visited = std::find(tour, tour + t, j) != tour + t;
        const bool origin = t > 0 && j == tour[t - 1], destination = t > 0 && j == tour[0];
        CHECK(mask[j] == !visited);  // never a city twice
        CHECK(key[j] == (!visited || origin || destination));
        const float* fj = &f[static_cast<size_t>(j) * combo::kTspReencodingFeatures];
        CHECK(fj[0] == batch.instance_features(inst[r])[2 * j]);
        CHECK(fj[1] == batch.instance_features(inst[r])[2 * j + 1]);
        CHECK(fj[2] == (origin ? 1.0f : 0.0f));
        CHECK(fj[3] == (destination ? 1.0f : 0.0f));
      }
      // A random allowed city.
      int pick = static_cast<int>(rng.below(static_cast<uint32_t>(allowed)));
      int city = 0;
      while (!mask[city] || pick-- > 0) ++city;
      p.step(r, city);
    }
  for (int r = 0; r < rows; ++r) {
    CHECK(p.done(r));
    std::vector<int> tour(p.route(r), p.route(r) + n);
    CHECK_NOTHROW(combo::check_tour(n, tour));
    CHECK(p.objective(r) == combo::tour_length_xy(batch.instance_features(inst[r]), n, tour.data()));
  }
  CHECK_THROWS_WITH(p.step(0, 0), Catch::Contains("not allowed"));
  combo::PolicyBatch big = policy_batch(combo::ProblemKind::Tsp, 10, 1, 1);
  CHECK_THROWS_WITH(p.set_source(big), Catch::Contains("2 to 9 cities, got 10"));
  const combo::PolicyBatch cvrp = policy_batch(combo::ProblemKind::Cvrp, 5, 1, 1);
  CHECK_THROWS_WITH(p.set_source(cvrp), Catch::Contains("reads tsp instances, not cvrp"));
}

TEST_CASE("TSP re-encoding: a state's log-probs depend on its sub-problem only, the training pass equals the "
          "rollout, gradients match finite differences",
          "[combo_policy][routing_reencoding]") {
  const int n = 6, B = 2, S = n, rows = B * S;
  // Clip 3 keeps the logits off tanh's flat tails (every path carries gradient).
  pl_test::TinyReencoding r(combo::kTspReencodingFeatures, 7, 3.0f);
  const combo::PolicyBatch batch = policy_batch(combo::ProblemKind::Tsp, n, B, 5);
  combo::RoutingReencodingPolicy policy(r.model, r.params, 64, n, combo::ProblemKind::Tsp, n);
  std::vector<int> inst(rows), starts(rows);
  for (int k = 0; k < rows; ++k) inst[k] = k / S, starts[k] = k % S;
  combo::DecisionRecord rec;
  rec.allocate(n, combo::kTspReencodingFeatures, rows * n, /*key_mask=*/true);
  std::vector<double> lengths(rows);
  Rng rng(2);
  policy.rollout(batch, inst.data(), rows, starts.data(), /*greedy=*/false, &rng, lengths.data(), &rec);
  REQUIRE(rec.count == rows * (n - 2));  // the first city forced, the last the only one left
  for (int k = 0; k < rows; ++k)
    CHECK(lengths[k] >= combo::solve(combo::policy_instance(batch, inst[k]), "held-karp").objective - 1e-9);

  // Scored in chunks of another size than the rollout's; gradients against finite differences.
  std::vector<float> adv(rows), moved(rec.count);
  Rng ar(3);
  for (float& a : adv) a = static_cast<float>(ar.uniform(-1, 1));
  const std::vector<float> logp = pl_test::check_scoring_matches_rollout(policy.policy(), rec, adv, 7, r);

  // BQ-NCO's quotient: moving a visited city that is neither the origin nor the destination leaves
  // every log-prob of the state unchanged; moving the unvisited cities changes them.
  const int F = combo::kTspReencodingFeatures;
  combo::DecisionRecord outside = rec, inside = rec;
  int outside_moves = 0;
  for (int d = 0; d < rec.count; ++d) {
    const int32_t* key = &rec.key_mask[static_cast<size_t>(d) * n];
    const int32_t* allowed = &rec.mask[static_cast<size_t>(d) * n];
    for (int j = 0; j < n; ++j) {
      float* fo = &outside.features[(static_cast<size_t>(d) * n + j) * F];
      float* fi = &inside.features[(static_cast<size_t>(d) * n + j) * F];
      if (!key[j]) fo[0] += 0.37f, fo[1] -= 0.21f, ++outside_moves;
      if (allowed[j]) fi[0] += 0.37f, fi[1] -= 0.21f;
    }
  }
  REQUIRE(outside_moves > 0);
  policy.accumulate(outside, 0, rec.count, adv.data(), 1.0f, moved.data());
  // (Equal up to float rounding: the hidden rows still go through the same blocked kernels.)
  for (int d = 0; d < rec.count; ++d) CHECK(std::fabs(moved[d] - logp[d]) < 1e-6f);
  policy.accumulate(inside, 0, rec.count, adv.data(), 1.0f, moved.data());
  int changed = 0;
  for (int d = 0; d < rec.count; ++d) changed += std::fabs(moved[d] - logp[d]) > 1e-4f;
  CHECK(changed > rec.count / 2);
}

TEST_CASE("TSP re-encoding POMO: same seed, same numbers, checkpoints resume exactly, no allocation",
          "[combo_policy][routing_reencoding]") {
  Trainer a(validate_config(tsp_reencoding_config()));
  Trainer b(validate_config(tsp_reencoding_config()));
  for (int k = 0; k < 4; ++k) REQUIRE(same_values(scalars_without_timings(a.step()), scalars_without_timings(b.step())));
  CHECK(a.last_metrics().extra_named("heldout_gap") >= 0);
  CHECK(a.last_metrics().extra_named("heldout_multistart_gap") <= a.last_metrics().extra_named("heldout_gap"));
  CHECK(a.combo().model_params().tensors()[0].name.rfind("reenc.", 0) == 0);
  for (const char* baseline : {"pomo", "rollout", "exponential"}) {
    INFO("baseline " << baseline);
    json cfg = tsp_reencoding_config();
    cfg["baseline"] = baseline;
    if (std::string(baseline) == "rollout") cfg["bl_interval"] = 2, cfg["bl_eval_size"] = 8;
    check_combo_resumes_without_allocating(cfg);
  }
}

TEST_CASE("TSP re-encoding POMO: tours of other sizes and TSPLIB files, bad configs are named",
          "[combo_policy][routing_reencoding]") {
  Trainer t(validate_config(tsp_reencoding_config()));
  const ComboLearner& learner = t.combo();
  CHECK(learner.problem() == combo::ProblemKind::Tsp);
  std::vector<combo::AnyInstance> instances;
  for (int n : {5, 9, 9, 6}) instances.push_back(combo::generate_tsp(n, 1, static_cast<uint64_t>(n * 7)).instance(0));
  std::vector<std::vector<int>> tours;
  std::vector<double> greedy, multistart, aug, sampled;
  learner.solve(instances, combo::parse_decode("greedy"), 1, tours, greedy);
  for (size_t i = 0; i < instances.size(); ++i) {
    CHECK(tours[i][0] == 0);  // single_start: city 0
    CHECK(combo::check_solution(instances[i], tours[i]) == greedy[i]);
    CHECK(greedy[i] >= combo::solve(instances[i], "held-karp").objective - 1e-9);
  }
  learner.solve(instances, combo::parse_decode("multistart"), 1, tours, multistart);
  learner.solve(instances, combo::parse_decode("multistart_aug8"), 1, tours, aug);
  learner.solve(instances, combo::parse_decode("sample:8"), 1, tours, sampled);
  for (size_t i = 0; i < instances.size(); ++i) {
    CHECK(multistart[i] <= greedy[i] + 1e-9);      // the greedy start is one of the multi-start trajectories
    CHECK(aug[i] <= multistart[i] * (1 + 1e-6));    // and multi-start is the identity copy of x8
    CHECK(combo::check_solution(instances[i], tours[i]) == sampled[i]);
  }
  // A TSPLIB file (integer coordinates, scaled into the unit square; EUC_2D lengths).
  const std::string tsplib =
      "NAME : five\nTYPE : TSP\nDIMENSION : 5\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n"
      "1 0 0\n2 100 0\n3 100 100\n4 0 100\n5 50 50\nEOF\n";
  const nlohmann::json solved = learner.solve_text(tsplib, "multistart", 1);
  const double length = solved.at("instances").at(0).at("objective").get<double>();
  // The optimum detours through the centre between two corners: 3 x 100 + 2 x nint(70.71) = 442.
  CHECK(length >= 442);
  CHECK(length <= 600);

  json bad = tsp_reencoding_config();
  bad["baseline"] = "critic";
  CHECK_THROWS_WITH(validate_config(bad), "field 'reencode': the re-encoding policy trains with baseline pomo, rollout "
                                           "or exponential, got critic (the Attention Model's)");
  bad["baseline"] = "poppy", bad["population"] = 2;
  CHECK_THROWS_WITH(validate_config(bad), Catch::Contains("field 'reencode'") && Catch::Contains("got poppy"));
  bad = tsp_reencoding_config();
  bad["problem"] = "knapsack";
  CHECK_THROWS_WITH(validate_config(bad),
                    Catch::Contains("field 'reencode' applies when problem is tsp or cvrp, but problem is knapsack"));
  bad = tsp_reencoding_config();
  bad["n"] = 30, bad["reference"] = "held-karp";
  CHECK_THROWS_WITH(Trainer(validate_config(bad)), Catch::Contains("field 'reference'") && Catch::Contains("n <= 20"));
  // An Attention Model checkpoint does not warm-start a re-encoding run (other tensors).
  json am = tsp_reencoding_config();
  am["reencode"] = false;
  Trainer am_run(validate_config(am));
  Trainer re(validate_config(tsp_reencoding_config()));
  CHECK_THROWS_WITH(re.warm_start_from_bytes(am_run.save_bytes()),
                    Catch::Contains("does not match") && Catch::Contains("field 'reencode' is false there, true here"));
  // Knapsack has no re-encoding policy: the field's own message, whatever the baseline.
  bad = tsp_reencoding_config();
  bad["problem"] = "knapsack", bad["baseline"] = "critic";
  CHECK_THROWS_WITH(validate_config(bad),
                    Catch::Contains("field 'reencode' applies when problem is tsp or cvrp, but problem is knapsack"));
}

TEST_CASE("TSP re-encoding POMO learns TSP10: greedy within a few percent of Held-Karp, multi-start within 1%",
          "[combo_policy][routing_reencoding]") {
  // examples/pomo_tsp10.json with reencode, 16 instances per step, 100 steps at a constant rate
  // (~20 s here). Untrained: ~44% greedy.
  json cfg = {{"algo", "pomo"},     {"problem", "tsp"}, {"n", 10},        {"reencode", true}, {"seed", 1},
              {"max_steps", 100},   {"batch_size", 16}, {"d_model", 64},  {"n_heads", 4},     {"n_layers", 2},
              {"d_ff", 128},        {"learning_rate", 1e-3}, {"eval_interval", 50}, {"heldout_size", 64}};
  Trainer t(validate_config(cfg));
  t.step();
  const double first_gap = t.last_metrics().extra_named("heldout_gap");
  while (!t.done()) t.step();
  const Metrics& m = t.last_metrics();
  const double greedy = m.extra_named("heldout_gap"), multistart = m.extra_named("heldout_multistart_gap");
  INFO("held-out gap to Held-Karp: first " << first_gap << "%, greedy " << greedy << "%, multi-start " << multistart << "%");
  CHECK(first_gap > 30);
  CHECK(greedy < 6);
  CHECK(multistart < 1);
}

TEST_CASE("CVRP re-encoding: masks equal the Attention Model's over random rollouts, features, sub-problem, "
          "routes are feasible",
          "[combo_policy][routing_reencoding]") {
  const int n = 8, count = 4, nodes = n + 1, F = combo::kCvrpReencodingFeatures;
  const combo::PolicyBatch batch = policy_batch(combo::ProblemKind::Cvrp, n, count, 6);
  combo::RoutingReencodingProblem p(count, combo::ProblemKind::Cvrp, n);
  p.set_source(batch);
  const int inst[count] = {0, 1, 2, 3};
  p.load(inst, count);
  CHECK(p.nodes() == nodes);
  CHECK(p.max_decisions() == 2 * n);
  combo::TrajectoryEnv env;
  env.setup(combo::ProblemKind::Cvrp, nodes, 1);
  Rng rng(4);
  std::vector<int32_t> mask(nodes), key(nodes);
  std::vector<float> f(static_cast<size_t>(nodes) * F);
  for (int r = 0; r < count; ++r) {
    const int i = inst[r];
    const int* demand = &batch.demand[static_cast<size_t>(i) * nodes];
    const int capacity = batch.capacity_units[i];
    int remaining = capacity, steps = 0, origin = 0;
    std::vector<bool> served(nodes, false);
    while (!p.done(r)) {
      const int allowed = p.mask(r, mask.data());
      p.features(r, f.data());
      p.encoder_mask(r, key.data());
      if (steps > 0) {
        const uint8_t* am = env.mask(0);  // the Attention Model's masks (Kool et al. 2019, App. C.1)
        for (int j = 0; j < nodes; ++j) CHECK(mask[j] == am[j]);
        CHECK(!env.done(0));
      } else {
        CHECK(mask[0] == 0);  // no empty trip from the depot
      }
      int count_allowed = 0;
      for (int j = 0; j < nodes; ++j) {
        count_allowed += mask[j];
        if (j > 0 && mask[j]) CHECK(demand[j] <= remaining);  // never over capacity
        if (j > 0 && served[j]) CHECK(mask[j] == 0);          // never a customer twice
        CHECK(key[j] == (j == 0 || j == origin || !served[j]));
        const float* fj = &f[static_cast<size_t>(j) * F];
        CHECK(fj[0] == batch.instance_features(i)[j * 4]);
        CHECK(fj[1] == batch.instance_features(i)[j * 4 + 1]);
        CHECK(fj[2] == batch.instance_features(i)[j * 4 + 2]);
        CHECK(fj[3] == (j == origin ? 1.0f : 0.0f));
        CHECK(fj[4] == (j == 0 ? 1.0f : 0.0f));
        CHECK(fj[5] == static_cast<float>(remaining) / static_cast<float>(capacity));
      }
      REQUIRE(allowed == count_allowed);
      REQUIRE(allowed >= 1);
      int pick = static_cast<int>(rng.below(static_cast<uint32_t>(allowed)));
      int node = 0;
      while (!mask[node] || pick-- > 0) ++node;
      p.step(r, node);
      if (steps == 0) env.reset(&batch, i, nodes, 1, &node);
      else env.step(0, node);
      remaining = node == 0 ? capacity : remaining - demand[node];
      if (node > 0) served[node] = true;
      origin = node;
      ++steps;
      REQUIRE(steps <= 2 * n);
    }
    CHECK(env.done(0));
    const std::vector<int> routes = p.solution(r);
    CHECK(routes.front() == 0);
    CHECK(routes.back() == 0);
    const combo::AnyInstance instance = combo::policy_instance(batch, i);
    CHECK(combo::check_solution(instance, routes) == Approx(p.objective(r)).epsilon(1e-9));
  }
  CHECK_THROWS_WITH(p.step(0, 0), Catch::Contains("not allowed"));  // row 0 is done
  // The mask's rules hold for direct callers too: no depot-to-depot move, no demand over capacity.
  p.load(inst, count);
  CHECK_THROWS_WITH(p.step(0, 0), Catch::Contains("node 0 is not allowed"));
  int heavy = 1;
  for (int j = 1; j < nodes; ++j)
    if (batch.demand[j] > batch.demand[heavy]) heavy = j;
  p.step(0, heavy);
  while (true) {  // serve customers until one no longer fits
    int next = -1;
    for (int j = 1; j < nodes && next < 0; ++j) {
      p.mask(0, mask.data());
      if (mask[j]) next = j;
    }
    if (next < 0) break;
    p.step(0, next);
  }
  p.mask(0, mask.data());
  for (int j = 1; j < nodes; ++j)
    if (!mask[j] && std::find(p.route(0), p.route(0) + p.steps(0), j) == p.route(0) + p.steps(0))
      CHECK_THROWS_WITH(p.step(0, j), Catch::Contains("is not allowed"));
}

TEST_CASE("CVRP re-encoding POMO: resumes exactly without allocating, routes of other sizes, x8 augmentation",
          "[combo_policy][routing_reencoding]") {
  json cfg = tsp_reencoding_config();
  cfg["problem"] = "cvrp";
  cfg["n"] = 10;
  for (const char* baseline : {"pomo", "rollout"}) {
    INFO("baseline " << baseline);
    cfg["baseline"] = baseline;
    if (std::string(baseline) == "rollout") cfg["bl_interval"] = 2, cfg["bl_eval_size"] = 8;
    check_combo_resumes_without_allocating(cfg);
  }
  cfg["baseline"] = "pomo";
  cfg.erase("bl_interval");
  cfg.erase("bl_eval_size");
  Trainer t(validate_config(cfg));
  t.step();
  CHECK(t.last_metrics().extra_named("heldout_multistart_gap") <= t.last_metrics().extra_named("heldout_gap"));
  const ComboLearner& learner = t.combo();
  CHECK(learner.problem() == combo::ProblemKind::Cvrp);
  std::vector<combo::AnyInstance> instances;
  for (int n : {10, 20, 20}) {
    const std::string text = combo::generate_dataset(combo::ProblemKind::Cvrp, n, 0, 1, static_cast<uint64_t>(n + 3));
    instances.push_back(combo::read_instances(combo::ProblemKind::Cvrp, text, "gen").at(0));
  }
  std::vector<std::vector<int>> routes;
  // A file's instance with one customer (two encoder nodes, as the Attention Model takes it).
  combo::CvrpInstance one;
  one.n = 1, one.capacity = 10, one.xy = {0.5, 0.5, 0.9, 0.1}, one.demand = {0, 4};
  instances.push_back(one);
  std::vector<double> greedy, multistart, aug, sampled;
  learner.solve(instances, combo::parse_decode("greedy"), 1, routes, greedy);
  for (size_t i = 0; i < instances.size(); ++i) CHECK(combo::check_solution(instances[i], routes[i]) == greedy[i]);
  CHECK(routes.back() == std::vector<int>{0, 1, 0});
  learner.solve(instances, combo::parse_decode("sample:4"), 1, routes, sampled);
  for (size_t i = 0; i < instances.size(); ++i) CHECK(combo::check_solution(instances[i], routes[i]) == sampled[i]);
  learner.solve(instances, combo::parse_decode("multistart"), 1, routes, multistart);
  learner.solve(instances, combo::parse_decode("multistart_aug8"), 1, routes, aug);
  for (size_t i = 0; i < instances.size(); ++i) {
    CHECK(multistart[i] <= greedy[i] + 1e-9);
    CHECK(aug[i] <= multistart[i] * (1 + 1e-6));
    CHECK(combo::check_solution(instances[i], routes[i]) == aug[i]);
  }
  CHECK_THROWS_WITH(learner.solve({combo::generate_tsp(5, 1, 1).instance(0)}, combo::parse_decode("greedy"), 1, routes, greedy),
                    Catch::Contains("solves cvrp, not tsp"));
}
