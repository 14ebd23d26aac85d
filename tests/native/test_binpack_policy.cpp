// The learned online bin-packing policies (core/combo/binpack_policy.hpp over the shared
// re-encoding policy and run, core/combo/reencoding_policy.hpp, core/algos/reencoding_run.hpp):
// features of hand-computed 1-D and 3-D states; masks never allow an infeasible placement over
// random rollouts; same seed, same numbers; checkpoints resume exactly; no allocation while
// training; bad configs and decodes named; the 1-D policy learns to match first fit.
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <vector>

#include "core/algos/combo.hpp"
#include "core/combo/binpack_policy.hpp"
#include "core/combo/solvers.hpp"
#include "core/nn/reencoding_model.hpp"
#include "core/train/trainer.hpp"
#include "trainer_checks.hpp"

using namespace pl;

namespace {

json binpack_config(const char* problem) {
  return json{{"algo", "pomo"},  {"problem", problem},   {"n", 12},          {"batch_size", 4}, {"samples", 4},
              {"max_steps", 8},  {"eval_interval", 3},   {"heldout_size", 6}, {"d_model", 16},  {"n_heads", 2},
              {"n_layers", 1},   {"d_ff", 16},           {"seed", 5},        {"learning_rate", 1e-3}};
}

void check_row(const float* f, std::initializer_list<float> expected, const char* what) {
  INFO(what);
  int k = 0;
  for (float e : expected) {
    INFO("feature " << k);
    CHECK(f[k] == Approx(e).margin(1e-6));
    ++k;
  }
}

}  // namespace

TEST_CASE("1-D packing features and mask on a hand-computed state", "[binpack_policy]") {
  // Capacity 10, items 6 3 2 4: item 0 opens bin 0, item 1 opens bin 1; item 2 (size 2) fits both.
  combo::BinPack1DInstance inst;
  inst.n = 4, inst.capacity = 10, inst.size = {6, 3, 2, 4};
  const combo::BinPack1DBatch batch = combo::BinPack1DBatch::from_instances({inst});
  combo::BinPack1DProblem p(1, 4);
  p.set_source(batch);
  const int row = 0, K = combo::kBinPack1DSlots, F = combo::kBinPack1DFeatures;
  p.load(&row, 1);
  std::vector<int32_t> mask(K + 1);
  std::vector<float> f(static_cast<size_t>(K + 1) * F);
  CHECK(p.mask(0, mask.data()) == 1);  // no open bin: only the new bin
  CHECK(mask[K] == 1);
  p.step(0, K);
  CHECK(p.mask(0, mask.data()) == 2);  // bin 0 (free 4) fits the 3
  p.step(0, K);                        // but item 1 opens bin 1
  REQUIRE(p.mask(0, mask.data()) == 3);
  CHECK(mask[0] == 1);
  CHECK(mask[1] == 1);
  for (int k = 2; k < K; ++k) CHECK(mask[k] == 0);
  CHECK(mask[K] == 1);
  p.features(0, f.data());
  // remaining 2 + 4 = 6, items left 2 of 4, free 4 + 7 = 11; slots fullest first: bin 0, bin 1.
  check_row(&f[0], {0.6f, 0.4f, 0.2f, 0.2f, 1, 0, 0.6f, 0.5f, 1.1f}, "slot 0: bin 0 (load 6)");
  check_row(&f[F], {0.3f, 0.7f, 0.2f, 0.5f, 1, 0, 0.6f, 0.5f, 1.1f}, "slot 1: bin 1 (load 3)");
  check_row(&f[2 * F], {0, 0, 0.2f, 0, 0, 0, 0.6f, 0.5f, 1.1f}, "slot 2: padding");
  check_row(&f[static_cast<size_t>(K) * F], {0, 1, 0.2f, 0.8f, 1, 1, 0.6f, 0.5f, 1.1f}, "the new bin");
  p.step(0, 1);  // slot 1: bin 1
  CHECK(p.state().load(0, 1) == 5);
  CHECK(p.mask(0, mask.data()) == 3);  // the 4 fits bin 0 (free 4) and bin 1 (free 5)
  p.step(0, 0);                        // slot 0: bin 0, the fuller
  CHECK(p.state().load(0, 0) == 10);
  CHECK(p.done(0));
  CHECK(p.objective(0) == 2);
  CHECK(combo::binpack1d_check(inst, std::vector<int>(p.state().assignment(0), p.state().assignment(0) + 4)) == 2);
}

TEST_CASE("3-D packing features on a hand-computed state", "[binpack_policy]") {
  combo::BinPack3DInstance inst;
  inst.n = 2, inst.length = inst.width = inst.height = 4;
  inst.item = {2, 2, 2, 2, 2, 1};
  const combo::BinPack3DBatch batch = combo::BinPack3DBatch::from_instances({inst});
  combo::BinPack3DProblem p(1, 2, 16);
  p.set_source(batch);
  const int row = 0, F = combo::kBinPack3DFeatures;
  p.load(&row, 1);
  REQUIRE(p.nodes() == 16);
  std::vector<int32_t> mask(16);
  std::vector<float> f(16 * F);
  CHECK(p.mask(0, mask.data()) == 9);  // corners with x, y in 0..2 fit a 2 x 2 footprint
  p.features(0, f.data());
  check_row(&f[0], {0, 0, 0, 0.5f, 1, 0, 0, 1, 0.5f, 0.5f, 0.5f, 0}, "corner (0, 0), empty bin");
  // Corner (3, 3): the footprint leaves the bin (1 cell inside): support 1 / 4, infeasible.
  check_row(&f[15 * F], {0.75f, 0.75f, 0, 0.5f, 0.25f, 0, 0, 0, 0.5f, 0.5f, 0.5f, 0}, "corner (3, 3)");
  p.step(0, 0);  // the 2 x 2 x 2 at (0, 0)
  p.mask(0, mask.data());
  p.features(0, f.data());
  // The 2 x 2 x 1 at corner (1, 1): cells (1,1) = 2, (1,2) = (2,1) = (2,2) = 0: rests at z 2 on one
  // cell of four (25% support: infeasible by Zhao et al.'s rule).
  check_row(&f[(1 * 4 + 1) * F], {0.25f, 0.25f, 0.5f, 0.75f, 0.25f, 0.125f, 0.5f, 0, 0.5f, 0.5f, 0.25f, 0.125f},
            "corner (1, 1) after the first item");
  CHECK(mask[1 * 4 + 1] == 0);
  CHECK(mask[0] == 1);  // on top of the first item: full support
}

TEST_CASE("Bin-packing policies: masks never allow an infeasible placement, solutions check", "[binpack_policy]") {
  for (const char* problem : {"binpack1d", "binpack3d"}) {
    INFO(problem);
    json cfg = binpack_config(problem);
    cfg["n"] = 30;
    Trainer t(validate_config(cfg));
    const ComboLearner& learner = t.combo();
    const combo::ProblemKind kind = combo::parse_problem(problem);
    // Random (sampled, untrained) rollouts: every step goes through the state's step(), which
    // throws on a masked action; the checker then validates every packing.
    const std::vector<combo::AnyInstance> instances =
        combo::read_instances(kind, combo::generate_dataset(kind, 30, 0, 40, 3), "gen");
    std::vector<std::vector<int>> solutions;
    std::vector<double> objectives, greedy;
    REQUIRE_NOTHROW(learner.solve(instances, combo::parse_decode("sample:8"), 1, solutions, objectives));
    for (size_t i = 0; i < instances.size(); ++i) CHECK(combo::check_solution(instances[i], solutions[i]) == objectives[i]);
    learner.solve(instances, combo::parse_decode("greedy"), 1, solutions, greedy);
    for (size_t i = 0; i < instances.size(); ++i) {
      CHECK(combo::check_solution(instances[i], solutions[i]) == greedy[i]);
      if (kind == combo::ProblemKind::BinPack1D)
        CHECK(greedy[i] >= combo::binpack1d_lower_bound(std::get<combo::BinPack1DInstance>(instances[i])));
    }
    CHECK_THROWS_WITH(learner.solve(instances, combo::parse_decode("multistart"), 1, solutions, objectives),
                      Catch::Contains("decodes greedy or sample:N"));
    combo::KnapsackInstance items;
    items.n = 3, items.capacity = 1, items.weight = {0.5, 0.5, 0.5}, items.value = {1, 2, 3};
    CHECK_THROWS_WITH(learner.solve({items}, combo::parse_decode("greedy"), 1, solutions, objectives),
                      Catch::Contains(std::string("solves ") + problem + ", not knapsack"));
  }
}

TEST_CASE("Bin-packing POMO: same seed, same numbers, checkpoints resume exactly, no allocation", "[binpack_policy]") {
  for (const char* problem : {"binpack1d", "binpack3d"}) {
    INFO(problem);
    Trainer a(validate_config(binpack_config(problem)));
    Trainer b(validate_config(binpack_config(problem)));
    for (int k = 0; k < 4; ++k) REQUIRE(same_values(scalars_without_timings(a.step()), scalars_without_timings(b.step())));
    CHECK(std::isfinite(a.last_metrics().extra_named("heldout_gap")));
    CHECK(std::isfinite(a.last_metrics().extra_named("heldout_objective")));
    std::unique_ptr<Trainer> c = Trainer::load_bytes(a.save_bytes());
    while (!a.done()) REQUIRE(same_values(scalars_without_timings(a.step()), scalars_without_timings(c->step())));
    CHECK(a.combo().model_params().values() == c->combo().model_params().values());

    json cfg = binpack_config(problem);
    cfg["max_steps"] = 20;
    Trainer t(validate_config(cfg));
    for (int k = 0; k < 3; ++k) t.step();  // warm-up: the first evaluation
    CHECK(allocations_during(t, 6) == 0);  // includes evaluations (every 3)
  }
}

TEST_CASE("Bin-packing POMO: bad configs are named", "[binpack_policy]") {
  // Critic and poppy are the Attention Model's; the config's refusal names the field, the problem and
  // the baselines the problem takes.
  json bad = binpack_config("binpack1d");
  bad["baseline"] = "critic";
  CHECK_THROWS_WITH(validate_config(bad), "field 'baseline': critic applies when problem is tsp, cvrp or knapsack, but "
                                           "problem is binpack1d (there use pomo, rollout, exponential)");
  bad = binpack_config("binpack3d");
  bad["baseline"] = "poppy", bad["population"] = 2;
  CHECK_THROWS_WITH(validate_config(bad), "field 'baseline': poppy applies when problem is tsp, cvrp or knapsack, but "
                                           "problem is binpack3d (there use pomo, rollout, exponential)");
  bad = binpack_config("binpack3d");
  bad["reference"] = "held-karp";
  CHECK_THROWS_WITH(Trainer(validate_config(bad)), Catch::Contains("field 'reference'"));
  bad = binpack_config("binpack1d");
  bad["samples"] = 1;
  CHECK_THROWS_WITH(validate_config(bad), Catch::Contains("samples"));
  bad = binpack_config("binpack1d");
  bad["machines"] = 3;
  CHECK_THROWS_WITH(Trainer(validate_config(bad)), Catch::Contains("field 'machines' applies when problem is jobshop"));
  bad = binpack_config("binpack1d");
  bad["problem"] = "tsp";
  CHECK_THROWS_WITH(Trainer(validate_config(bad)), Catch::Contains("field 'samples' applies when problem is binpack1d or binpack3d"));
  json ok = binpack_config("binpack1d");
  ok["reference"] = "first-fit";
  CHECK_NOTHROW(Trainer(validate_config(ok)));
}

TEST_CASE("Bin-packing POMO learns 1-D: greedy matches or beats first fit", "[binpack_policy]") {
  json cfg = {{"algo", "pomo"},    {"problem", "binpack1d"}, {"n", 30},       {"batch_size", 8},
              {"samples", 8},      {"max_steps", 40},        {"eval_interval", 20}, {"heldout_size", 64},
              {"d_model", 32},     {"n_heads", 4},           {"n_layers", 1}, {"d_ff", 64},
              {"seed", 1},         {"learning_rate", 1e-3},  {"anneal_lr", true}};
  Trainer t(validate_config(cfg));
  const auto t0 = std::chrono::steady_clock::now();
  while (!t.done()) t.step();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::vector<combo::AnyInstance> instances = combo::read_instances(
      combo::ProblemKind::BinPack1D, combo::generate_dataset(combo::ProblemKind::BinPack1D, 30, 0, 64, 99), "gen");
  double ff = 0, bf = 0, policy = 0;
  std::vector<std::vector<int>> solutions;
  std::vector<double> greedy;
  t.combo().solve(instances, combo::parse_decode("greedy"), 1, solutions, greedy);
  for (size_t i = 0; i < instances.size(); ++i) {
    ff += combo::solve(instances[i], "first-fit").objective;
    bf += combo::solve(instances[i], "best-fit").objective;
    policy += greedy[i];
  }
  WARN("1-D packing n 30: " << t.iteration() << " steps in " << seconds << " s; bins on 64 fresh instances: policy "
                            << policy << ", first fit " << ff << ", best fit " << bf << "; held-out gap to best fit "
                            << t.last_metrics().extra_named("heldout_gap") << "%");
  CHECK(policy <= ff);
}

TEST_CASE("Bin-packing exponential baseline: the moving average of the batches' mean returns", "[binpack_policy]") {
  // 3-D packing's return is the utilisation itself (R = +utilisation / Z with Z = 1), so the
  // baseline (Kool et al. 2019, Sec. 4: b_1 = mean R_1, b_k = beta b_{k-1} + (1 - beta) mean R_k)
  // is the moving average of train_objective.
  for (const double beta : {0.8, 0.5}) {
    INFO("exp_beta " << beta);
    json cfg = binpack_config("binpack3d");
    cfg["baseline"] = "exponential", cfg["exp_beta"] = beta;
    Trainer t(validate_config(cfg));
    double b = 0;
    for (int k = 1; k <= 3; ++k) {
      const Metrics& m = t.step();
      const double mean_return = m.extra_named("train_objective");
      b = k == 1 ? mean_return : beta * b + (1 - beta) * mean_return;
      CHECK(m.extra_named("baseline_value") == Approx(b).epsilon(1e-12));
      if (k > 1) CHECK(m.extra_named("baseline_value") != Approx(mean_return).epsilon(1e-9));
      CHECK(std::isnan(m.extra_named("baseline_updates")));
    }
  }
}

TEST_CASE("Bin-packing rollout and exponential baselines: checkpoints resume exactly, no allocation", "[binpack_policy]") {
  for (const char* problem : {"binpack1d", "binpack3d"})
  for (const char* baseline : {"rollout", "exponential"}) {
    INFO(problem << ", baseline " << baseline);
    json cfg = binpack_config(problem);
    cfg["baseline"] = baseline;
    if (cfg["baseline"] == "rollout") cfg["bl_interval"] = 2, cfg["bl_eval_size"] = 8, cfg["bl_alpha"] = 1.0;
    Trainer a(validate_config(cfg));
    for (int k = 0; k < 3; ++k) a.step();  // past the warm-up and the first epoch's end
    if (cfg["baseline"] == "rollout") CHECK(std::isfinite(a.last_metrics().extra_named("baseline_p_value")));
    check_combo_resumes_without_allocating(cfg);  // evaluations every 3 steps, epoch ends every 2
  }
}
