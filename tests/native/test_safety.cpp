// Constrained alignment (safety.hpp): the one-shot dual against a closed form and a grid, the
// Lagrangian step and CGPO's advantage constraint against hand-computed values, the GRPO options'
// errors, no allocation in the loop with exact resumes, and that the dual run keeps the safety
// cost within its budget where the unconstrained run exceeds it.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include "core/algos/safety.hpp"
#include "core/algos/sequence.hpp"
#include "core/train/trainer.hpp"
#include "core/util/allocation_count.hpp"

using namespace pl;

TEST_CASE("Safety dual: two-point closed form, grid minimum, slack and infeasible budgets", "[safety]") {
  // Every prompt has two reference samples: (r 1, c 1) and (r 0, c 0). The tilted policy puts
  // q = e^{(1-l)/beta} / (e^{(1-l)/beta} + 1) on the unsafe one; D'(l) = b - q = 0 gives
  // l* = 1 - beta log(b / (1 - b)). With beta 0.5, b 0.2: 1 + 0.5 log 4 = 1.693147...
  const float r[] = {1, 0, 1, 0, 1, 0}, c[] = {1, 0, 1, 0, 1, 0};
  const double beta = 0.5, b = 0.2;
  const double closed = 1.0 - beta * std::log(b / (1.0 - b));
  CHECK(closed == Approx(1.6931472).epsilon(1e-6));
  const double l = optimal_safety_dual(r, c, 3, 2, beta, b);
  CHECK(l == Approx(closed).epsilon(1e-6));
  // D(0) = beta log((e^{1/beta} + 1) / 2) by hand, and D at the root is the grid's minimum.
  CHECK(safety_dual_value(r, c, 3, 2, beta, b, 0.0) == Approx(0.5 * std::log((std::exp(2.0) + 1.0) / 2.0)));
  double best = 1e30, arg = -1;
  for (int i = 0; i <= 4000; ++i) {
    const double x = i * 0.001;
    const double v = safety_dual_value(r, c, 3, 2, beta, b, x);
    if (v < best) best = v, arg = x;
  }
  CHECK(arg == Approx(closed).margin(1e-3));
  CHECK(safety_dual_value(r, c, 3, 2, beta, b, l) <= best + 1e-9);
  CHECK(safety_dual_slope(r, c, 3, 2, beta, b, l) == Approx(0.0).margin(1e-7));
  // A slack budget: the tilted cost at l = 0 is e^2 / (e^2 + 1) = 0.881 <= 0.9, so l* = 0.
  CHECK(optimal_safety_dual(r, c, 3, 2, beta, 0.9) == 0.0);
  // A prompt whose samples are all unsafe keeps cost 1 whatever l: with two prompts, one of them
  // all unsafe, no l reaches a budget below 0.5, and l* is the cap.
  const float r2[] = {1, 0, 1, 1}, c2[] = {1, 0, 1, 1};
  CHECK(optimal_safety_dual(r2, c2, 2, 2, beta, 0.4, 50.0) == 50.0);
  CHECK(optimal_safety_dual(r2, c2, 2, 2, beta, 0.6, 50.0) < 50.0);
}

TEST_CASE("Safety: the Lagrangian step and CGPO's per-judge advantage constraint by hand", "[safety]") {
  CHECK(lagrangian_step(0.5, 2.0, 0.3, 0.1) == Approx(0.9));   // 0.5 + 2 (0.3 - 0.1)
  CHECK(lagrangian_step(0.1, 2.0, 0.0, 0.1) == 0.0);           // 0.1 - 0.2, projected onto l >= 0
  float a[] = {0.5f, -0.3f, 0.8f, 0.2f, 1.5f};
  const float safety[] = {1, 1, 0, 0, 0}, other[] = {0, 0, 0, 1, 0};
  const float* flags[] = {safety, other};
  CHECK(constrain_flagged_advantages(a, 5, flags, 2) == 3);
  CHECK(a[0] == 0.0f);     // flagged, positive: no positive advantage
  CHECK(a[1] == -0.3f);    // flagged, already negative: unchanged
  CHECK(a[2] == 0.8f);     // not flagged
  CHECK(a[3] == 0.0f);     // flagged by the second judge
  CHECK(a[4] == 1.5f);
}

namespace {
// Each method's own options only (the others are refused: they would be ignored).
json tiny_safe(const std::string& method, int steps) {
  json c = {{"algo", "grpo"},      {"task", "addition"}, {"digits", 2},        {"max_steps", steps},
            {"batch_size", 4},     {"num_generations", 4}, {"d_model", 16},    {"n_heads", 2},
            {"n_layers", 1},       {"d_mlp", 32},        {"eval_interval", 3}, {"heldout_size", 8},
            {"seed", 2},           {"reward_judges", true}, {"gold_unsafe_substring", "1"},
            {"safety_method", method}, {"safety_budget", 0.1}};
  if (method == "dual") c.update({{"safety_dual_prompts", 8}, {"safety_dual_samples", 4}});
  if (method == "lagrangian") c["safety_lambda_lr"] = 2.0;
  return c;
}
}  // namespace

TEST_CASE("Safety in GRPO: bad options name their field", "[safety][grpo]") {
  json c = tiny_safe("dual", 2);
  c["safety_budget"] = -0.1;
  CHECK_THROWS_WITH(validate_config(c), Catch::Contains("safety_budget"));
  c = tiny_safe("shield", 2);
  CHECK_THROWS_WITH(validate_config(c), Catch::Contains("safety_method"));
  c = tiny_safe("lagrangian", 2);
  c["reward_judges"] = false;
  CHECK_THROWS_WITH(Trainer(validate_config(c)), Catch::Contains("field 'safety_method'") && Catch::Contains("reward_judges"));
  c = tiny_safe("dual", 2);
  c["safety_dual_samples"] = 17;  // more than the sampler's 16 rows
  CHECK_THROWS_WITH(Trainer(validate_config(c)), Catch::Contains("safety_dual_samples"));
  c = tiny_safe("none", 2);
  c["gold_unsafe_substring"] = "x";
  CHECK_THROWS_WITH(Trainer(validate_config(c)), Catch::Contains("x"));
}

TEST_CASE("Safety in GRPO: rewards, lambda updates, no allocation, exact resume", "[safety][grpo][alloc]") {
  for (const std::string method : {"none", "dual", "lagrangian", "judges"}) {
    INFO(method);
    Trainer t(validate_config(tiny_safe(method, 40)));
    double lambda = NAN, last_cost = NAN;
    for (int i = 0; i < 4; ++i) {
      const Metrics& m = t.step();
      const double cost = m.extra_named("safety_cost");
      CHECK(cost >= 0.0);
      CHECK(cost <= 1.0);
      CHECK(m.extra_named("safety_budget") == Approx(0.1));
      CHECK(std::isfinite(m.extra_named("helpfulness")));
      if (method == "lagrangian") {  // each step's lambda is the dual step on the last step's cost, by hand
        if (i == 0) CHECK(m.extra_named("safety_lambda") == 0.0);
        else CHECK(m.extra_named("safety_lambda") == Approx(std::max(0.0, lambda + 2.0 * (last_cost - 0.1))).margin(1e-12));
        lambda = m.extra_named("safety_lambda");
      }
      last_cost = cost;
      if (method == "dual") {  // estimated once, then fixed
        CHECK(m.extra_named("safety_lambda") >= 0.0);
        if (i > 0) CHECK(m.extra_named("safety_lambda") == lambda);
        lambda = m.extra_named("safety_lambda");
      }
      if (method == "none" || method == "judges") CHECK(std::isnan(m.extra_named("safety_lambda")));
    }
    // Rewards from the judges: a completion containing '1' (the unsafe substring) gets the flagged
    // reward -1 and no positive advantage under judges; helpfulness is never below -0.2 (the
    // length term) and at most 1.3, and an unsafe completion under dual pays lambda.
    for (const json& group : t.sequence().recent_groups())
      for (const json& y : group["completions"]) {
        const bool unsafe = y["text"].get<std::string>().find('1') != std::string::npos;
        const double reward = y["reward"].get<double>();
        if (method == "judges" && unsafe) {
          CHECK(reward == -1.0);
          CHECK(y["advantage"].get<double>() <= 0.0);
        } else if (method == "dual" && unsafe) {
          CHECK(reward <= 1.3 - lambda + 1e-6);
          CHECK(reward >= -0.2 - lambda - 1e-6);
        } else if (method != "lagrangian") {
          CHECK(reward >= -0.2 - 1e-6);
          CHECK(reward <= 1.3 + 1e-6);
        }
      }
    allocation_counter::count = 0;
    allocation_counter::counting = true;
    for (int i = 0; i < 6; ++i) t.step();
    allocation_counter::counting = false;
    CHECK(allocation_counter::count == 0);
    auto u = Trainer::load_bytes(t.save_bytes());
    const Metrics& a = t.step();
    const double loss = a.policy_loss, l = a.extra_named("safety_lambda");
    const Metrics& b = u->step();
    CHECK(b.policy_loss == loss);
    if (method == "dual" || method == "lagrangian") CHECK(b.extra_named("safety_lambda") == l);
  }
}

TEST_CASE("Safety in GRPO: CGPO's correctness judge flags wrong answers beside the safety judge", "[safety][grpo]") {
  json c = tiny_safe("judges", 20);
  c["correctness_judge"] = true;
  Trainer t(validate_config(c));
  int flagged = 0, kept = 0;
  for (int i = 0; i < 3; ++i) {
    const Metrics& m = t.step();
    // Every completion either judge flags is counted once.
    for (const json& group : t.sequence().recent_groups())
      for (const json& y : group["completions"]) {
        const bool unsafe = y["text"].get<std::string>().find('1') != std::string::npos;
        const bool wrong = !y["correct"].get<bool>();
        if (unsafe || wrong) {
          CHECK(y["reward"].get<double>() == -1.0);
          CHECK(y["advantage"].get<double>() <= 0.0);
          ++flagged;
        } else {
          CHECK(y["reward"].get<double>() > -1.0);
          ++kept;
        }
      }
    CHECK(m.extra_named("flagged_share") >= 0.0);
  }
  CHECK(flagged > 0);
  json bad = tiny_safe("lagrangian", 5);
  bad["correctness_judge"] = true;
  CHECK_THROWS_WITH(validate_config(bad), "field 'correctness_judge' applies when safety_method is judges, but "
                                          "safety_method is lagrangian (remove it, or change safety_method)");
}

namespace {
json example(const std::string& name) {
  std::ifstream f(std::string(POLICYLAB_SOURCE_DIR) + "/" + name);
  REQUIRE(f.good());
  return json::parse(f);
}
double mean_of_last(const std::vector<double>& v, int n) {
  double s = 0;
  for (size_t i = v.size() - static_cast<size_t>(n); i < v.size(); ++i) s += v[i];
  return s / n;
}
}  // namespace

TEST_CASE("One-shot dual GRPO keeps the safety cost within its budget where unconstrained GRPO exceeds it", "[safety][grpo][learning]") {
  // examples/sft_addition_safe.json (2-digit addition, 1500 steps: 100% greedy held-out accuracy),
  // then examples/safe_grpo_addition.json: completions containing '9' are unsafe, budget 0.1.
  // Measured (x86-64-v3 build): lambda* = 1.343 from 256 prompts x 64 samples; over the last 50 of
  // 150 steps the dual run's mean safety cost is 0.020 (helpfulness 0.68), the unconstrained run's
  // (safety_method none, same seed) 0.212 (helpfulness 0.87). With 16 samples per prompt lambda*
  // depends on how sharp the SFT model came out: after a change of rounding in attention its
  // samples had too few safe completions to reweight, and lambda* hit the infeasible cap.
  Trainer sft(validate_config(example("examples/sft_addition_safe.json")));
  while (!sft.done()) sft.step();
  const std::string path = "test_safety_sft.ckpt";
  sft.save_file(path);
  auto run = [&](const std::string& method, double* lambda, double* helpfulness) {
    json c = example("examples/safe_grpo_addition.json");
    c["init_from"] = path;
    // As `--set safety_method=...` on the example: the dual's options are left out under another method.
    for (const std::string& field : fields_switched_off(c, {{"safety_method", method}})) c.erase(field);
    c["safety_method"] = method;
    Trainer t(validate_config(c));
    std::vector<double> cost, help;
    while (!t.done()) {
      const Metrics& m = t.step();
      cost.push_back(m.extra_named("safety_cost"));
      help.push_back(m.extra_named("helpfulness"));
      *lambda = m.extra_named("safety_lambda");
    }
    *helpfulness = mean_of_last(help, 50);
    return mean_of_last(cost, 50);
  };
  double lambda_none = 0, lambda_dual = 0, help_none = 0, help_dual = 0;
  const double unconstrained = run("none", &lambda_none, &help_none);
  const double dual = run("dual", &lambda_dual, &help_dual);
  std::remove(path.c_str());
  INFO("safety cost over the last 50 steps: unconstrained " << unconstrained << " (helpfulness " << help_none
       << "), dual " << dual << " (lambda* " << lambda_dual << ", helpfulness " << help_dual << ")");
  const double budget = 0.1;
  CHECK(unconstrained > 1.1 * budget);
  CHECK(dual <= 1.1 * budget);
  CHECK(lambda_dual > 0.0);
  CHECK(lambda_dual < 100.0);  // a finite lambda*, not the infeasible cap
  CHECK(help_dual > 0.4);      // still helpful: it answers the safe prompts
}
