// The learned job-shop dispatching policy (core/combo/jobshop_policy.hpp, core/nn/reencoding_model.hpp,
// core/algos/pomo_jobshop.cpp): node features and masks of a hand-computed 2 x 2 instance; the
// placement query equals where a step places; the training pass's log-probs equal the rollout's;
// gradients against finite differences; same seed, same numbers; checkpoints resume exactly; no
// allocation while training; eval of files; bad configs named; learning on 5 x 4 instances.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <vector>

#include "core/algos/combo.hpp"
#include "core/algos/combo_baselines.hpp"
#include "core/algos/reencoding_run.hpp"
#include "core/combo/jobshop_policy.hpp"
#include "core/combo/solvers.hpp"
#include "core/nn/reencoding_model.hpp"
#include "core/train/trainer.hpp"
#include "gradcheck.hpp"
#include "reencoding_checks.hpp"
#include "trainer_checks.hpp"

using namespace pl;
using pl_test::central_difference;
using pl_test::check_close;

namespace {

// Job-shop 5 jobs x 4 machines, 60 steps: the learning tests' run (a few seconds).
json jobshop5x4_config() {
  return {{"algo", "pomo"},      {"problem", "jobshop"}, {"n", 5},           {"machines", 4},
              {"batch_size", 8},     {"max_steps", 60},      {"eval_interval", 30}, {"heldout_size", 64},
              {"d_model", 32},       {"n_heads", 4},         {"n_layers", 2},    {"d_ff", 64},
              {"seed", 1},           {"learning_rate", 1e-3}, {"anneal_lr", true}};
}

json jobshop_config() {
  return json{{"algo", "pomo"},     {"problem", "jobshop"}, {"n", 5},         {"machines", 3},   {"batch_size", 4},
              {"max_steps", 8},     {"eval_interval", 3},   {"heldout_size", 6}, {"d_model", 16}, {"n_heads", 2},
              {"n_layers", 1},      {"d_ff", 16},           {"seed", 5},      {"learning_rate", 1e-3}};
}

}  // namespace

TEST_CASE("Job-shop policy features and masks on a hand-computed 2x2 instance", "[combo_policy][jobshop_policy]") {
  // Job 0: machine 0 for 3, then machine 1 for 2. Job 1: machine 1 for 4, then machine 0 for 1.
  combo::JobShopInstance inst;
  inst.jobs = 2, inst.machines = 2;
  inst.machine = {0, 1, 1, 0};
  inst.duration = {3, 2, 4, 1};
  const combo::JobShopBatch batch = combo::JobShopBatch::from_instances({inst});
  CHECK(combo::jobshop_scale(batch, 0) == 5.0f);  // both jobs hold 5 units of work
  CHECK(combo::jobshop_single_start(batch, 0) == 0);  // a tie: the lowest index
  combo::JobShopState st;
  st.reset(batch);
  const int F = combo::kJobShopFeatures;
  std::vector<float> f(2 * F);
  auto expect = [&](int job, std::vector<double> times, double rem_ops, double done) {
    // times: p, r_j, machine ready, start if dispatched, LB(o), LB(job), remaining work, C_LB (units)
    const float* x = &f[static_cast<size_t>(job) * F];
    INFO("job " << job);
    for (int k = 0; k < 7; ++k) CHECK(x[k] == Approx(times[k] / 5.0));
    CHECK(x[7] == Approx(rem_ops));
    CHECK(x[8] == Approx(times[7] / 5.0));
    CHECK(x[9] == Approx(done));
  };
  combo::jobshop_features(st, 0, 5.0f, f.data());
  expect(0, {3, 0, 0, 0, 3, 5, 5, 5}, 1.0, 0);
  expect(1, {4, 0, 0, 0, 4, 5, 5, 5}, 1.0, 0);
  CHECK((st.mask(0)[0] == 1 && st.mask(0)[1] == 1));

  st.step(0, 1);  // job 1's first operation: machine 1, [0, 4)
  combo::jobshop_features(st, 0, 5.0f, f.data());
  expect(0, {3, 0, 0, 0, 3, 5, 5, 5}, 1.0, 0);
  expect(1, {1, 4, 0, 4, 5, 5, 1, 5}, 0.5, 0);

  st.step(0, 0);  // job 0's first operation: machine 0, [0, 3)
  combo::jobshop_features(st, 0, 5.0f, f.data());
  // Job 0 next on machine 1, busy until 4: ready at 3, starts at 4.
  expect(0, {2, 3, 4, 4, 5, 5, 2, 5}, 0.5, 0);
  // Job 1 next on machine 0, free from 3: ready at 4, starts at 4.
  expect(1, {1, 4, 3, 4, 5, 5, 1, 5}, 0.5, 0);

  st.step(0, 1);  // job 1 done at 5
  combo::jobshop_features(st, 0, 5.0f, f.data());
  expect(1, {0, 5, 0, 5, 5, 5, 0, 5}, 0.0, 1);
  CHECK((st.mask(0)[0] == 1 && st.mask(0)[1] == 0));
  // C_LB = job 0's bound: ready 3 + 2 = 5 (its operation will start at 4, but the bound is L2D's).
  expect(0, {2, 3, 4, 4, 5, 5, 2, 5}, 0.5, 0);
  st.step(0, 0);
  CHECK(st.done(0));
  CHECK(st.lower_bound(0) == 6);
  CHECK(combo::jobshop_check(inst, st.schedule(0)) == 6);
}

TEST_CASE("Job-shop policy: the placement query equals where a step places, masks and features over random rollouts",
          "[combo_policy][jobshop_policy]") {
  const combo::JobShopBatch batch = combo::generate_jobshop(6, 5, 20, 3);
  combo::JobShopState st;
  st.reset(batch);
  Rng rng(4);
  const int F = combo::kJobShopFeatures, n = batch.jobs, m = batch.machines;
  std::vector<float> f(static_cast<size_t>(n) * F);
  for (int i = 0; i < batch.count; ++i) {
    const float Z = combo::jobshop_scale(batch, i);
    while (!st.done(i)) {
      combo::jobshop_features(st, i, Z, f.data());
      std::vector<int> allowed;
      for (int j = 0; j < n; ++j) {
        const bool open = st.next_op(i, j) < m;
        REQUIRE(st.mask(i)[j] == (open ? 1 : 0));
        REQUIRE(f[static_cast<size_t>(j) * F + 9] == (open ? 0.0f : 1.0f));
        for (int k = 0; k < F; ++k) REQUIRE(std::isfinite(f[static_cast<size_t>(j) * F + k]));
        if (open) allowed.push_back(j);
      }
      const int job = allowed[rng.below(static_cast<uint32_t>(allowed.size()))];
      const int k = st.next_op(i, job);
      const int expected = st.earliest_start(i, job);
      st.step(i, job);
      REQUIRE(st.start(i)[job * m + k] == expected);
    }
    CHECK(combo::jobshop_check(batch.instance(i), st.schedule(i)) == st.lower_bound(i));
  }
}

TEST_CASE("Job-shop policy: the training pass's log-probs equal the rollout's, gradients match finite differences",
          "[combo_policy][jobshop_policy]") {
  const int n = 4, m = 3, B = 3, S = n, rows = B * S;
  pl_test::TinyReencoding r(combo::kJobShopFeatures, 7, 3.0f);  // clip 3 keeps the logits off tanh's flat tails (every path carries gradient)
  const combo::JobShopBatch batch = combo::generate_jobshop(n, m, B, 5);
  combo::JobShopPolicy policy(r.model, r.params, 64, n, m);
  std::vector<int> inst(rows), starts(rows);
  for (int k = 0; k < rows; ++k) inst[k] = k / S, starts[k] = k % S;
  combo::DecisionRecord rec;
  rec.allocate(n, combo::kJobShopFeatures, rows * (n * m - 1));
  std::vector<double> makespans(rows);
  Rng rng(2);
  policy.rollout(batch, inst.data(), rows, starts.data(), /*greedy=*/false, &rng, makespans.data(), &rec);
  REQUIRE(rec.count > rows);
  for (int k = 0; k < rows; ++k)
    CHECK(makespans[k] >= combo::solve(combo::AnyInstance(batch.instance(inst[k])), "branch-and-bound").objective);
  std::vector<float> adv(rows);
  Rng ar(3);
  for (float& a : adv) a = static_cast<float>(ar.uniform(-1, 1));
  pl_test::check_scoring_matches_rollout(policy.policy(), rec, adv, 50, r);
  CHECK(rec.logp[0] < -1e-3);
}

TEST_CASE("Job-shop POMO: same seed, same numbers, checkpoints resume exactly, no allocation",
          "[combo_policy][jobshop_policy]") {
  Trainer a(validate_config(jobshop_config()));
  Trainer b(validate_config(jobshop_config()));
  CHECK(a.task_name() == "jobshop5x3");
  for (int k = 0; k < 4; ++k) REQUIRE(same_values(scalars_without_timings(a.step()), scalars_without_timings(b.step())));
  CHECK(std::isfinite(a.last_metrics().extra_named("heldout_gap")));
  CHECK(a.last_metrics().extra_named("heldout_gap") >= 0);
  CHECK(a.last_metrics().extra_named("heldout_multistart_gap") <= a.last_metrics().extra_named("heldout_gap"));
  std::unique_ptr<Trainer> c = Trainer::load_bytes(a.save_bytes());
  while (!a.done()) REQUIRE(same_values(scalars_without_timings(a.step()), scalars_without_timings(c->step())));
  CHECK(a.combo().model_params().values() == c->combo().model_params().values());

  json cfg = jobshop_config();
  cfg["max_steps"] = 20;
  Trainer t(validate_config(cfg));
  for (int k = 0; k < 3; ++k) t.step();  // warm-up: the first evaluation
  CHECK(allocations_during(t, 6) == 0);  // includes evaluations (every 3)
}

TEST_CASE("Job-shop POMO: the policy solves job-shop files, bad configs and decodes are named",
          "[combo_policy][jobshop_policy]") {
  Trainer t(validate_config(jobshop_config()));
  const ComboLearner& learner = t.combo();
  CHECK(learner.problem() == combo::ProblemKind::JobShop);
  // Instances of other sizes than the training size, and a file read as the CLI reads it.
  std::vector<combo::AnyInstance> instances;
  for (auto [n, m] : {std::pair<int, int>{3, 3}, {6, 4}, {5, 3}, {5, 3}})
    instances.push_back(combo::generate_jobshop(n, m, 1, static_cast<uint64_t>(n * 10 + m)).instance(0));
  std::vector<std::vector<int>> schedules;
  std::vector<double> greedy, multistart, sampled;
  learner.solve(instances, combo::parse_decode("greedy"), 1, schedules, greedy);
  for (size_t i = 0; i < instances.size(); ++i) {
    CHECK(combo::check_solution(instances[i], schedules[i]) == greedy[i]);
    CHECK(greedy[i] >= combo::solve(instances[i], "branch-and-bound").objective);
  }
  learner.solve(instances, combo::parse_decode("multistart"), 1, schedules, multistart);
  learner.solve(instances, combo::parse_decode("sample:8"), 1, schedules, sampled);
  for (size_t i = 0; i < instances.size(); ++i) {
    CHECK(multistart[i] <= greedy[i]);  // the greedy start is one of the multi-start trajectories
    CHECK(combo::check_solution(instances[i], schedules[i]) == sampled[i]);
  }
  const nlohmann::json solved =
      learner.solve_text(combo::write_jobshop_file(std::get<combo::JobShopInstance>(instances[1])), "multistart", 1);
  CHECK(solved.at("instances").at(0).at("objective").get<double>() == multistart[1]);

  CHECK_THROWS_WITH(learner.solve(instances, combo::parse_decode("multistart_aug8"), 1, schedules, greedy),
                    Catch::Contains("multistart_aug8") && Catch::Contains("jobshop decodes greedy, sample:N or multistart"));
  combo::KnapsackInstance items;
  items.n = 3, items.capacity = 1, items.weight = {0.5, 0.5, 0.5}, items.value = {1, 2, 3};
  CHECK_THROWS_WITH(learner.solve({items}, combo::parse_decode("greedy"), 1, schedules, greedy),
                    Catch::Contains("solves jobshop, not knapsack"));
  CHECK_THROWS_WITH(learner.read_policy_instances("1 3\n0 5 1 4 2 3\n", "one.txt"), Catch::Contains("2 to"));

  // Critic and poppy are the Attention Model's; the config's refusal names the field, the problem and
  // the baselines the problem takes.
  json bad = jobshop_config();
  bad["baseline"] = "critic";
  CHECK_THROWS_WITH(validate_config(bad), "field 'baseline': critic applies when problem is tsp, cvrp or knapsack, but "
                                           "problem is jobshop (there use pomo, rollout, exponential)");
  bad["baseline"] = "poppy", bad["population"] = 2;
  CHECK_THROWS_WITH(validate_config(bad), "field 'baseline': poppy applies when problem is tsp, cvrp or knapsack, but "
                                           "problem is jobshop (there use pomo, rollout, exponential)");
  bad = jobshop_config();
  bad["reference"] = "held-karp";
  CHECK_THROWS_WITH(Trainer(validate_config(bad)), Catch::Contains("field 'reference'"));
  bad = jobshop_config();
  bad["n"] = 7;
  bad["reference"] = "branch-and-bound";
  CHECK_THROWS_WITH(Trainer(validate_config(bad)), Catch::Contains("field 'reference'") && Catch::Contains("6 x 6"));
  bad = jobshop_config();
  bad["machines"] = 0;
  CHECK_THROWS_WITH(validate_config(bad), Catch::Contains("machines"));
  bad = jobshop_config();
  bad["n"] = 101;
  bad["reference"] = "mwkr";
  CHECK_THROWS_WITH(Trainer(validate_config(bad)), Catch::Contains("field 'n'") && Catch::Contains("100 jobs"));
  bad = jobshop_config();
  bad["n"] = 50, bad["machines"] = 50, bad["batch_size"] = 64, bad["reference"] = "mwkr";
  CHECK_THROWS_WITH(Trainer(validate_config(bad)), Catch::Contains("lower batch_size"));
  bad = jobshop_config();
  bad["problem"] = "tsp";
  CHECK_THROWS_WITH(Trainer(validate_config(bad)), Catch::Contains("field 'machines' applies when problem is jobshop, but problem is tsp"));
  bad = jobshop_config();
  bad["n_heads"] = 3;
  CHECK_THROWS_WITH(Trainer(validate_config(bad)), Catch::Contains("n_heads"));
}

TEST_CASE("Job-shop POMO learns 5x4: greedy beats every dispatching rule's gap to branch and bound",
          "[combo_policy][jobshop_policy]") {
  json cfg = jobshop5x4_config();
  Trainer t(validate_config(cfg));
  const auto t0 = std::chrono::steady_clock::now();
  t.step();
  const double first_gap = t.last_metrics().extra_named("heldout_gap");
  while (!t.done()) t.step();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Metrics& m = t.last_metrics();
  // The rules on 64 fresh instances, and the trained policy's greedy gap on the same ones.
  std::vector<combo::AnyInstance> instances;
  const combo::JobShopBatch batch = combo::generate_jobshop(5, 4, 64, 99);
  for (int i = 0; i < batch.count; ++i) instances.push_back(batch.instance(i));
  std::vector<double> optimum(instances.size());
  for (size_t i = 0; i < instances.size(); ++i) optimum[i] = combo::solve(instances[i], "branch-and-bound").objective;
  auto gap_of = [&](const std::vector<double>& v) {
    double sum = 0;
    for (size_t i = 0; i < v.size(); ++i) sum += v[i] / optimum[i] - 1;
    return 100.0 * sum / static_cast<double>(v.size());
  };
  double best_rule = 1e9;
  std::string best_name;
  for (const char* rule : {"spt", "mwkr", "mor", "fifo"}) {
    std::vector<double> v;
    for (const auto& inst : instances) v.push_back(combo::solve(inst, rule).objective);
    if (gap_of(v) < best_rule) best_rule = gap_of(v), best_name = rule;
  }
  std::vector<std::vector<int>> schedules;
  std::vector<double> greedy;
  t.combo().solve(instances, combo::parse_decode("greedy"), 1, schedules, greedy);
  const double policy_gap = gap_of(greedy);
  WARN("Job-shop 5x4: " << t.iteration() << " steps in " << seconds << " s; held-out greedy gap " << first_gap
                        << "% at step 1, " << m.extra_named("heldout_gap") << "% at the end (multi-start "
                        << m.extra_named("heldout_multistart_gap") << "%); fresh instances: policy " << policy_gap
                        << "%, best rule " << best_name << " " << best_rule << "%");
  CHECK(m.extra_named("heldout_gap") < first_gap);
  CHECK(policy_gap < best_rule);
  CHECK(m.extra_named("heldout_multistart_gap") < 10.0);
}

namespace {

json jobshop_rollout_config(double alpha) {
  json c = jobshop_config();
  c["baseline"] = "rollout", c["bl_interval"] = 2, c["bl_eval_size"] = 8, c["bl_alpha"] = alpha;
  return c;
}

// The rollout baseline's evaluation set after `updates` replacements (its stream from
// RolloutBaselineEpochs, drawn as the run draws it).
std::vector<combo::AnyInstance> baseline_eval_set(const json& cfg, int64_t updates) {
  combo::JobShopBatch batch;
  batch.allocate(cfg.at("n").get<int>(), cfg.at("machines").get<int>(), cfg.at("bl_eval_size").get<int>());
  Rng rng = RolloutBaselineEpochs::eval_set_rng(cfg.at("seed").get<uint64_t>(), updates);
  batch.draw(rng, 0, batch.count);
  std::vector<combo::AnyInstance> instances;
  for (int i = 0; i < batch.count; ++i) instances.push_back(batch.instance(i));
  return instances;
}

}  // namespace

TEST_CASE("Job-shop rollout baseline: warm-up on the exponential baseline, then the frozen copy's greedy rollouts",
          "[combo_policy][jobshop_policy]") {
  // The first bl_interval steps are the exponential baseline's (Kool et al.'s warm-up): the same
  // numbers as a run with baseline exponential.
  json exp_cfg = jobshop_config();
  exp_cfg["baseline"] = "exponential";
  Trainer rollout(validate_config(jobshop_rollout_config(0.05))), exponential(validate_config(exp_cfg));
  for (int k = 0; k < 2; ++k) {
    const Metrics &a = rollout.step(), &b = exponential.step();
    CHECK(a.policy_loss == b.policy_loss);
    CHECK(a.extra_named("baseline_value") == b.extra_named("baseline_value"));
    CHECK(a.extra_named("train_objective") == b.extra_named("train_objective"));
  }
  CHECK(std::isfinite(rollout.last_metrics().extra_named("baseline_p_value")));  // the first epoch's t-test
  CHECK(std::isnan(exponential.last_metrics().extra_named("baseline_p_value")));
  CHECK(std::isnan(exponential.last_metrics().extra_named("baseline_updates")));
  CHECK(exponential.combo().baseline_params() == nullptr);
  // Then the frozen policy's greedy makespans, no longer the moving average.
  const Metrics &a = rollout.step(), &b = exponential.step();
  CHECK(a.extra_named("train_objective") == b.extra_named("train_objective"));  // same parameters, same samples
  CHECK(a.policy_loss != b.policy_loss);
  CHECK(a.extra_named("baseline_value") != b.extra_named("baseline_value"));
  CHECK(a.extra_named("baseline_value") > 0);
}

TEST_CASE("Job-shop rollout baseline: the frozen copy holds during an epoch and is replaced on the t-test",
          "[combo_policy][jobshop_policy]") {
  for (const double alpha : {1.0, 0.0}) {
    // bl_alpha 1: replaced whenever the candidate's mean greedy makespan on the evaluation set is
    // lower (p < 0.5); bl_alpha 0: never. Every epoch's p-value is recomputed here from the two
    // policies' greedy makespans on the run's evaluation set.
    INFO("bl_alpha " << alpha);
    const json cfg = jobshop_rollout_config(alpha);
    Trainer t(validate_config(cfg));
    const Parameters* frozen = t.combo().baseline_params();
    REQUIRE(frozen != nullptr);
    CHECK(frozen->values() == t.combo().model_params().values());  // starts as a copy of the policy
    VectorXf expected_frozen = frozen->values();
    // A model to decode with the frozen copy's parameters.
    Parameters frozen_params;
    const ReencodingModel frozen_model(frozen_params, reencoding_spec(validate_config(cfg), combo::kJobShopFeatures));
    frozen_params.finalize();
    int64_t updates = 0;
    double p_seen = 1;
    std::vector<std::vector<int>> schedules;
    std::vector<double> candidate, baseline;
    while (!t.done()) {
      const Metrics& m = t.step();
      INFO("step " << m.iteration);
      if (m.iteration % 2 != 0) {
        // Within an epoch: the copy holds while the policy moves.
        CHECK(frozen->values() == expected_frozen);
        CHECK(t.combo().model_params().values() != expected_frozen);
        CHECK(m.extra_named("baseline_updates") == updates);
        continue;
      }
      // The epoch's end: the candidate (the current parameters) against the frozen copy.
      const std::vector<combo::AnyInstance> eval_set = baseline_eval_set(cfg, updates);
      frozen_params.values() = expected_frozen;
      t.combo().solve(eval_set, combo::parse_decode("greedy"), 1, schedules, candidate);
      combo::solve_jobshop_instances(frozen_model, frozen_params, eval_set, combo::parse_decode("greedy"), 1, schedules,
                                     baseline);
      const double p = paired_t_test_p(candidate.data(), baseline.data(), static_cast<int>(eval_set.size()));
      CHECK(m.extra_named("baseline_p_value") == Approx(p).margin(1e-12));
      p_seen = std::min(p_seen, p);
      if (p < alpha && p < 0.5) {
        ++updates;
        CHECK(frozen->values() == t.combo().model_params().values());
        expected_frozen = frozen->values();
      } else {
        CHECK(frozen->values() == expected_frozen);
      }
      CHECK(m.extra_named("baseline_updates") == updates);
    }
    CHECK(p_seen < 0.5);  // some epoch's candidate was better: with bl_alpha 1 the replacement ran
    if (alpha == 0) CHECK(updates == 0);
    if (alpha == 1) CHECK(updates >= 1);
  }
}

TEST_CASE("Job-shop rollout and exponential baselines: checkpoints resume exactly, no allocation",
          "[combo_policy][jobshop_policy]") {
  for (const char* baseline : {"rollout", "exponential"}) {
    INFO("baseline " << baseline);
    json cfg = jobshop_rollout_config(1.0);
    cfg["baseline"] = baseline;
    if (cfg["baseline"] == "exponential") cfg.erase("bl_interval"), cfg.erase("bl_eval_size"), cfg.erase("bl_alpha");
    // Saved mid-epoch after a replacement could have happened (step 2 ends the first epoch);
    // evaluations every 3 steps, epoch ends every 2.
    check_combo_resumes_without_allocating(cfg);
  }
}

TEST_CASE("Job-shop learns 5x4 with the rollout and the exponential baseline", "[combo_policy][jobshop_policy]") {
  for (const char* baseline : {"rollout", "exponential"}) {
    INFO("baseline " << baseline);
    json cfg = jobshop5x4_config();
    cfg["baseline"] = baseline;
    if (cfg["baseline"] == "rollout") cfg["bl_interval"] = 10, cfg["bl_eval_size"] = 64;
    Trainer t(validate_config(cfg));
    const auto t0 = std::chrono::steady_clock::now();
    t.step();
    const double first_gap = t.last_metrics().extra_named("heldout_gap");
    while (!t.done()) t.step();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const Metrics& m = t.last_metrics();
    WARN("Job-shop 5x4, baseline " << baseline << ": " << t.iteration() << " steps in " << seconds
                                   << " s; held-out greedy gap " << first_gap << "% at step 1, "
                                   << m.extra_named("heldout_gap") << "% at the end (multi-start "
                                   << m.extra_named("heldout_multistart_gap") << "%); baseline updates "
                                   << m.extra_named("baseline_updates"));
    CHECK(m.extra_named("heldout_gap") < 0.5 * first_gap);
    if (cfg["baseline"] == "rollout") CHECK(m.extra_named("baseline_updates") >= 1);
  }
}
