// Reward models ("[reward_model]"): the Bradley–Terry loss with margin and centering against hand
// computations, its gradient on the tape and through the transformer against finite differences,
// the ensemble aggregations (Coste et al. 2023) against hand-computed values, the trainer's
// determinism, exact resumption, no allocation in its loop, config and checkpoint errors; GRPO
// against a learned reward (proxy and gold rewards, KL to the reference); and two learning tests:
// a reward model ranks held-out pairs by the hidden gold reward well above chance, and GRPO against
// it raises the gold reward of an SFT policy's samples.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "core/algos/algorithm.hpp"
#include "core/algos/registry.hpp"
#include "core/algos/reward_model.hpp"
#include "core/algos/sequence.hpp"
#include "core/train/trainer.hpp"
#include "core/util/allocation_count.hpp"
#include "examples.hpp"
#include "gradcheck.hpp"

using namespace pl;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  std::ofstream(name, std::ios::binary) << text;
  return name;
}

// Hand-written 2-digit addition pairs, some with TRL's margin column.
const char* kMarginPairs =
    "{\"prompt\": \"12+34=\", \"chosen\": \"640.\", \"rejected\": \"650.\", \"margin\": 0.5}\n"
    "{\"prompt\": \"50+50=\", \"chosen\": \"001.\", \"rejected\": \"0010\"}\n"
    "{\"prompt\": \"07+08=\", \"chosen\": \"510.\", \"rejected\": \"5.\", \"margin\": 1.25}\n"
    "{\"prompt\": \"99+99=\", \"chosen\": \"891.\", \"rejected\": \"8911\", \"margin\": -0.3}\n"
    "{\"prompt\": \"31+41=\", \"chosen\": \"270.\", \"rejected\": \"27.\"}\n";

json tiny_rm(const std::string& dataset, int steps = 10) {
  return {{"algo", "reward_model"}, {"task", "addition"}, {"digits", 2},     {"max_steps", steps}, {"batch_size", 4},
          {"d_model", 16},          {"n_heads", 2},       {"n_layers", 1},   {"d_mlp", 32},        {"eval_interval", 3},
          {"heldout_size", 8},      {"dataset", dataset}, {"dataset_size", 40}, {"eval_fraction", 0.25}, {"seed", 4},
          {"learning_rate", 3e-3}};
}

double log1pexp(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

}  // namespace

TEST_CASE("Reward loss: -log sigmoid(r_w - r_l - margin) + c * mean (r_w + r_l)^2 on a hand batch, and its gradient", "[reward_model][gradcheck]") {
  // Two pairs with rewards given as inputs: (r_w, r_l) = (1.0, 0.5) margin 0.1 and (-0.2, 0.3) margin 0.
  Graph g;
  const int rows = g.size_var("rows", 4);
  Expr r = g.input("rewards", {g.dim(rows)});
  std::vector<float> rewards = {1.0f, 0.5f, -0.2f, 0.3f}, margins = {0.1f, 0.0f};
  g.bind(r, rewards.data());
  RewardLossOutputs o = build_reward_loss(g, r, 2);
  g.bind(o.margins, margins.data());
  g.set_size(rows, 4);
  g.set_size(o.pairs_var, 2);
  g.set_param("center_rewards_coefficient", 0.01f);
  g.forward();
  // -log sigmoid(0.4) = log(1 + e^-0.4) = 0.513015; -log sigmoid(-0.5) = 0.974077; mean 0.743546.
  // Centering: 0.01 * ((1.5)^2 + (0.1)^2) / 2 = 0.01 * 1.13 = 0.0113.
  CHECK(g.scalar(o.loss) == Approx(0.743546 + 0.0113).epsilon(1e-5));
  CHECK(g.scalar(o.loss) == Approx((log1pexp(-0.4) + log1pexp(0.5)) / 2 + 0.0113).epsilon(1e-6));
  CHECK(g.scalar(o.accuracy) == Approx(0.5));
  // Without the terms: TRL's plain loss.
  g.set_param("center_rewards_coefficient", 0.0f);
  margins[0] = 0.0f;
  g.forward();
  CHECK(g.scalar(o.loss) == Approx((log1pexp(-0.5) + log1pexp(0.5)) / 2).epsilon(1e-6));
  // d loss / d r against finite differences, with both terms on.
  g.set_param("center_rewards_coefficient", 0.3f);
  margins[0] = 0.7f;
  g.forward();
  g.backward(o.loss);
  std::vector<float> grad(g.gradient(r), g.gradient(r) + 4);
  auto f = [&] {
    g.forward();
    return static_cast<double>(g.scalar(o.loss));
  };
  for (int i = 0; i < 4; ++i)
    pl_test::check_close(grad[static_cast<size_t>(i)], pl_test::central_difference(f, &rewards[static_cast<size_t>(i)], 1e-3),
                         "d loss / d r[" + std::to_string(i) + "]", 1e-3, 1e-4);
  // By hand for pair 0: d/dr_w = -(1 - sigmoid(d)) / 2 + 0.3 * 2 * (r_w + r_l) / 2, d = 1.0 - 0.5 - 0.7.
  const double d = -0.2, s = 1.0 / (1.0 + std::exp(-d));
  CHECK(grad[0] == Approx(-(1 - s) / 2 + 0.3 * 1.5).epsilon(1e-5));
  CHECK(grad[1] == Approx((1 - s) / 2 + 0.3 * 1.5).epsilon(1e-5));
}

TEST_CASE("Ensemble aggregation: mean, worst case and uncertainty-weighted match hand values (Coste et al. 2023)", "[reward_model]") {
  const float r[3] = {1.0f, 0.0f, 2.0f};  // mean 1, population variance 2/3
  CHECK(aggregate_rewards(r, 3, EnsembleAggregation::Mean, 0.5) == Approx(1.0));
  CHECK(aggregate_rewards(r, 3, EnsembleAggregation::WorstCase, 0.5) == Approx(0.0));
  CHECK(aggregate_rewards(r, 3, EnsembleAggregation::Uncertainty, 0.5) == Approx(1.0 - 0.5 * 2.0 / 3.0));
  CHECK(aggregate_rewards(r, 3, EnsembleAggregation::Uncertainty, 0.0) == Approx(1.0));
  CHECK(ensemble_std(r, 3) == Approx(std::sqrt(2.0 / 3.0)));
  const float q[4] = {-0.5f, 0.25f, 0.25f, 1.0f};  // mean 0.25, variance (0.5625 + 0 + 0 + 0.5625) / 4 = 0.28125
  CHECK(aggregate_rewards(q, 4, EnsembleAggregation::WorstCase, 1) == Approx(-0.5));
  CHECK(aggregate_rewards(q, 4, EnsembleAggregation::Uncertainty, 2.0) == Approx(0.25 - 2.0 * 0.28125));
  // One member: every aggregation is its reward, and it has no spread.
  const float one = 0.7f;
  for (auto a : {EnsembleAggregation::Mean, EnsembleAggregation::WorstCase, EnsembleAggregation::Uncertainty})
    CHECK(aggregate_rewards(&one, 1, a, 3.0) == Approx(0.7));
  CHECK(ensemble_std(&one, 1) == 0.0);
  CHECK_THROWS_WITH(parse_ensemble_aggregation("median", "ensemble_aggregation"),
                    "field 'ensemble_aggregation' must be one of: mean, worst_case, uncertainty, got \"median\"");
}

TEST_CASE("Reward model: the loss on file pairs with margins, its gradient through the transformer, and the scorer GRPO uses", "[reward_model][gradcheck]") {
  const std::string path = write_temp("test_rm_margins.jsonl", kMarginPairs);
  json c = tiny_rm(path);
  c["center_rewards_coefficient"] = 0.05;
  c["num_reward_models"] = 2;
  auto algo = make_algorithm(validate_config(c));
  std::remove(path.c_str());
  RewardModelLearner* rm = reward_model_learner(*algo);
  REQUIRE(rm != nullptr);
  rm->prepare();
  REQUIRE(rm->dataset().pairs.size() == 5);
  CHECK(rm->dataset().pairs[0].margin == 0.5);
  CHECK(rm->dataset().pairs[1].margin == 0.0);
  CHECK(rm->train_pairs() == 4);  // 0.25 of 5 held out (rounded)
  Parameters& params = algo->params();
  Rng noise(8);  // away from the fresh head's near-zero rewards
  for (int i = 0; i < params.total_size(); ++i) params.values()[i] += 0.2f * static_cast<float>(noise.normal());
  const int idx[3] = {0, 2, 3};
  for (int k = 0; k < 2; ++k) {
    const double loss = rm->pair_loss(k, idx, 3, false);
    double expected = 0, centre = 0;
    for (int i = 0; i < 3; ++i) {
      const double w = rm->chosen_reward(k, i), l = rm->rejected_reward(k, i), m = rm->dataset().pairs[static_cast<size_t>(idx[i])].margin;
      expected += log1pexp(-(w - l - m)) / 3;
      centre += (w + l) * (w + l) / 3;
    }
    CHECK(loss == Approx(expected + 0.05 * centre).epsilon(1e-5));
  }
  CHECK(rm->chosen_reward(0, 0) != rm->chosen_reward(1, 0));  // the members differ
  // Gradient of member 1's loss: zero on member 0, finite differences on member 1.
  rm->pair_loss(1, idx, 3, true);
  const std::vector<float> analytic(params.grads().data(), params.grads().data() + params.total_size());
  auto f = [&] { return rm->pair_loss(1, idx, 3, false); };
  int checked = 0;
  double largest = 0;
  for (const TensorInfo& t : params.tensors()) {
    const bool member1 = t.name.rfind("rm1.", 0) == 0;
    for (int k : {0, t.size() / 3, t.size() - 1}) {
      const int i = t.offset + k;
      if (!member1) {
        CHECK(analytic[static_cast<size_t>(i)] == 0.0f);
        continue;
      }
      if (t.name.find("lm_head") != std::string::npos) {  // the LM head does not reach the reward
        CHECK(analytic[static_cast<size_t>(i)] == 0.0f);
        continue;
      }
      pl_test::check_close(analytic[static_cast<size_t>(i)], pl_test::central_difference(f, &params.values()[i], 1e-2),
                           t.name + "[" + std::to_string(k) + "]", 3e-2, 3e-4);
      largest = std::max(largest, std::fabs(static_cast<double>(analytic[static_cast<size_t>(i)])));
      ++checked;
    }
  }
  CHECK(checked > 20);
  CHECK(largest > 1e-2);
  // The scorer GRPO uses gives the trainer's rewards (same weights, another layout and batch).
  rm->pair_loss(0, idx, 3, false);
  RewardScorer scorer(rm->member_spec(), rm->ensemble_weights(), 2, 8);
  const PreferencePair& p = rm->dataset().pairs[2];
  std::vector<int32_t> prompt(p.problem.prompt.begin(), p.problem.prompt.end());
  std::vector<int32_t> completions(2 * 8, 0);
  std::copy(p.chosen.begin(), p.chosen.end(), completions.begin());
  std::copy(p.rejected.begin(), p.rejected.end(), completions.begin() + 8);
  const int plen = static_cast<int>(prompt.size());
  const int lengths[2] = {static_cast<int>(p.chosen.size()), static_cast<int>(p.rejected.size())};
  scorer.score_groups(2, 2, prompt.data(), &plen, 0, completions.data(), lengths, 8);
  CHECK(scorer.member_rewards(0)[0] == Approx(rm->chosen_reward(0, 1)).margin(1e-5));
  CHECK(scorer.member_rewards(0)[1] == Approx(rm->rejected_reward(0, 1)).margin(1e-5));
  rm->pair_loss(1, idx, 3, false);
  CHECK(scorer.member_rewards(1)[0] == Approx(rm->chosen_reward(1, 1)).margin(1e-5));
  CHECK(scorer.aggregated(0, EnsembleAggregation::WorstCase, 0) ==
        Approx(std::min(scorer.member_rewards(0)[0], scorer.member_rewards(1)[0])));
}

TEST_CASE("Reward model: generated pairs, bootstrap members, deterministic, exact resumption, no allocation", "[reward_model][alloc]") {
  json c = tiny_rm("", 40);
  c["num_reward_models"] = 3;
  c["ensemble_aggregation"] = "uncertainty";
  Trainer t(validate_config(c));
  const Metrics& m = t.step();  // generates 40 pairs (30 train, 10 held out)
  CHECK(std::isfinite(m.policy_loss));
  CHECK(m.policy_loss == Approx(std::log(2.0)).margin(0.05));  // fresh heads: rewards near 0
  CHECK(m.entropy == Approx(std::log(2.0)).margin(0.01));       // and preferences near 1/2
  CHECK(std::isfinite(m.extra_named("heldout_gold_accuracy")));
  CHECK(m.extra_named("ensemble_std") > 0.0);
  CHECK(m.extra_named("epoch") == Approx(4.0 / 30.0));
  const RewardModelLearner* rm = reward_model_learner(const_cast<Algorithm&>(t.algorithm()));
  REQUIRE(rm != nullptr);
  // Bootstrap resamples: as many draws as training pairs, with repeats, different per member.
  for (int k = 0; k < 3; ++k) {
    std::vector<int> s = rm->member_pairs(k);
    CHECK(s.size() == 30);
    std::sort(s.begin(), s.end());
    CHECK(std::unique(s.begin(), s.end()) - s.begin() < 30);
  }
  CHECK(rm->member_pairs(0) != rm->member_pairs(1));
  Trainer twin(validate_config(c));
  CHECK(twin.step().policy_loss == m.policy_loss);
  for (int i = 0; i < 5; ++i) t.step();
  allocation_counter::count = 0;
  allocation_counter::counting = true;
  for (int i = 0; i < 12; ++i) t.step();  // evaluations and reshuffles included
  allocation_counter::counting = false;
  CHECK(allocation_counter::count == 0);
  auto u = Trainer::load_bytes(t.save_bytes());
  for (int i = 0; i < 6; ++i) {
    const Metrics& a = t.step();
    const Metrics& b = u->step();
    CHECK(a.policy_loss == b.policy_loss);
    CHECK(a.extra_named("heldout_reward_accuracy") == b.extra_named("heldout_reward_accuracy"));
    CHECK(a.extra_named("ensemble_std") == b.extra_named("ensemble_std"));
  }
  // One member trains on the training pairs themselves.
  json one = tiny_rm("", 2);
  Trainer single(validate_config(one));
  single.step();
  std::vector<int> s = reward_model_learner(const_cast<Algorithm&>(single.algorithm()))->member_pairs(0);
  std::sort(s.begin(), s.end());
  for (int i = 0; i < 30; ++i) CHECK(s[static_cast<size_t>(i)] == i);
  CHECK(single.last_metrics().extra_named("ensemble_std") == 0.0);
}

TEST_CASE("Reward model and GRPO against it: bad values and files are named", "[reward_model]") {
  json c = tiny_rm("");
  c["ensemble_aggregation"] = "median";
  CHECK_THROWS_WITH(validate_config(c), Catch::Contains("ensemble_aggregation") && Catch::Contains("median"));
  c = tiny_rm("");
  c["num_reward_models"] = 0;
  CHECK_THROWS_WITH(validate_config(c), Catch::Contains("num_reward_models"));
  c = tiny_rm("");
  c["center_rewards_coefficient"] = -1;
  CHECK_THROWS_WITH(validate_config(c), Catch::Contains("center_rewards_coefficient"));
  CHECK_THROWS_WITH(Trainer(validate_config(tiny_rm("no/such/file.jsonl"))).step(),
                    "field 'dataset': cannot open preference file 'no/such/file.jsonl'");
  const std::string bad = write_temp("test_rm_bad_margin.jsonl", "{\"prompt\": \"12+34=\", \"chosen\": \"640.\", \"rejected\": \"650.\", \"margin\": \"big\"}\n");
  CHECK_THROWS_WITH(Trainer(validate_config(tiny_rm(bad))),
                    "field 'dataset': test_rm_bad_margin.jsonl:1: field 'margin' must be a finite number, got \"big\"");
  std::remove(bad.c_str());
  // A reward model checkpoint, and GRPO runs reading it.
  Trainer rm(validate_config(tiny_rm("", 2)));
  rm.step();
  rm.step();
  const std::string rm_path = "test_rm_errors.ckpt";
  rm.save_file(rm_path);
  json g = {{"algo", "grpo"}, {"task", "addition"}, {"digits", 2}, {"max_steps", 3}, {"batch_size", 2}, {"num_generations", 2},
            {"d_model", 16}, {"n_heads", 2}, {"n_layers", 1}, {"d_mlp", 32}, {"heldout_size", 4}, {"reward_model", "no/such.ckpt"}};
  CHECK_THROWS_WITH(Trainer(validate_config(g)), "field 'reward_model': cannot open checkpoint 'no/such.ckpt'");
  g["reward_model"] = rm_path;
  g["digits"] = 3;  // the option that differs is named
  CHECK_THROWS_WITH(Trainer(validate_config(g)), "field 'reward_model': 'test_rm_errors.ckpt' was trained with digits 2, this "
                                                  "run has 3: use a reward model of the same task and options");
  g["digits"] = 2;
  g["task"] = "sort";
  g.erase("digits");
  CHECK_THROWS_WITH(Trainer(validate_config(g)), Catch::StartsWith("field 'reward_model': 'test_rm_errors.ckpt' was trained on task 'addition'"));
  // Not a reward model.
  json s = {{"algo", "sft"}, {"task", "addition"}, {"digits", 2}, {"max_steps", 1}, {"d_model", 16}, {"n_heads", 2},
            {"n_layers", 1}, {"d_mlp", 32}, {"heldout_size", 4}};
  Trainer sft(validate_config(s));
  sft.step();
  sft.save_file("test_rm_sft.ckpt");
  g = {{"algo", "grpo"}, {"task", "addition"}, {"digits", 2}, {"max_steps", 3}, {"batch_size", 2}, {"num_generations", 2},
       {"d_model", 16}, {"n_heads", 2}, {"n_layers", 1}, {"d_mlp", 32}, {"heldout_size", 4}, {"reward_model", "test_rm_sft.ckpt"}};
  CHECK_THROWS_WITH(Trainer(validate_config(g)), "field 'reward_model': 'test_rm_sft.ckpt' is a sft checkpoint, not a reward_model one");
  std::remove("test_rm_sft.ckpt");
  // A corrupt reward-model checkpoint.
  std::string bytes = rm.save_bytes();
  bytes[bytes.size() / 2] ^= 0x5a;
  write_temp("test_rm_corrupt.ckpt", bytes);
  g["reward_model"] = "test_rm_corrupt.ckpt";
  CHECK_THROWS_WITH(Trainer(validate_config(g)), "field 'reward_model': 'test_rm_corrupt.ckpt': checkpoint is corrupt (checksum mismatch)");
  std::remove("test_rm_corrupt.ckpt");
  // The reward model's checkpoint: its weights round-trip; truncation is named.
  auto back = Trainer::load_bytes(rm.save_bytes());
  CHECK(back->algorithm().params().values() == rm.algorithm().params().values());
  CHECK_THROWS_WITH(Trainer::load_bytes(rm.save_bytes().substr(0, 200)), Catch::Contains("truncated"));
  // The magic bytes and no more: truncated, not "not a checkpoint".
  CHECK_THROWS_WITH(Trainer::load_bytes(rm.save_bytes().substr(0, 16)), "checkpoint is truncated (16 bytes: not even its header)");
  std::remove(rm_path.c_str());
}

TEST_CASE("GRPO against a learned reward: proxy and gold rewards, KL to the reference from 0, no allocation, exact resume", "[reward_model][grpo][alloc]") {
  json c = tiny_rm("", 6);
  c["num_reward_models"] = 2;
  Trainer rm(validate_config(c));
  while (!rm.done()) rm.step();
  const std::string path = "test_rm_grpo.ckpt";
  rm.save_file(path);
  json g = {{"algo", "grpo"}, {"task", "addition"}, {"digits", 2}, {"max_steps", 20}, {"batch_size", 4}, {"num_generations", 4},
            {"d_model", 16}, {"n_heads", 2}, {"n_layers", 1}, {"d_mlp", 32}, {"eval_interval", 3}, {"heldout_size", 8},
            {"seed", 2}, {"reward_model", path}, {"ensemble_aggregation", "worst_case"}, {"learning_rate", 3e-3}};
  Trainer t(validate_config(g));
  const Metrics& m = t.step();
  CHECK(std::isfinite(m.extra_named("proxy_reward")));
  CHECK(std::isfinite(m.extra_named("gold_reward")));
  CHECK(m.extra_named("ensemble_std") > 0.0);
  CHECK(m.extra_named("kl_ref") == Approx(0.0).margin(1e-5));  // the policy is the reference
  CHECK(m.extra_named("reward_mean") == Approx(m.extra_named("proxy_reward")).margin(1e-6));  // the learned reward is the reward
  for (int i = 0; i < 3; ++i) t.step();
  allocation_counter::count = 0;
  allocation_counter::counting = true;
  for (int i = 0; i < 6; ++i) t.step();
  allocation_counter::counting = false;
  CHECK(allocation_counter::count == 0);
  CHECK(std::fabs(t.last_metrics().extra_named("kl_ref")) > 0.0);
  auto u = Trainer::load_bytes(t.save_bytes());
  for (int i = 0; i < 3; ++i) {
    const Metrics& a = t.step();
    const Metrics& b = u->step();
    CHECK(a.policy_loss == b.policy_loss);
    CHECK(a.extra_named("gold_reward") == b.extra_named("gold_reward"));
  }
  // Every group-relative estimator reads the learned reward (ReMax's greedy baseline and A*-PO's
  // reference samples too).
  g["max_steps"] = 2;
  for (const char* estimator : {"remax", "rloo", "reinforce_plus_plus", "opo"}) {
    INFO(estimator);
    g["advantage_estimator"] = estimator;
    Trainer other(validate_config(g));
    const Metrics& a = other.step();
    CHECK(std::isfinite(a.policy_loss));
    CHECK(a.extra_named("reward_mean") == Approx(a.extra_named("proxy_reward")).margin(1e-6));
  }
  g["advantage_estimator"] = "grpo";
  g["policy_loss"] = "astar_po";
  Trainer astar(validate_config(g));
  CHECK(std::isfinite(astar.step().policy_loss));
  std::remove(path.c_str());
}

TEST_CASE("A reward model ranks held-out pairs by the gold reward, GRPO against it raises the gold reward", "[reward_model][learning]") {
  // examples/sft_addition_dpo.json, then examples/reward_model_addition.json, then
  // examples/grpo_rm_addition.json (measured figures in the README, "Reward models").
  const auto t0 = std::chrono::steady_clock::now();
  Trainer sft(validate_config(load_example("examples/sft_addition_dpo.json")));
  while (!sft.done()) sft.step();
  const std::string sft_path = "test_rm_sft_start.ckpt", rm_path = "test_rm_learned.ckpt";
  sft.save_file(sft_path);
  json rc = load_example("examples/reward_model_addition.json");
  rc["init_from"] = sft_path;
  Trainer rm(validate_config(rc));
  while (!rm.done()) rm.step();
  const Metrics& r = rm.last_metrics();
  rm.save_file(rm_path);
  const double rm_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO("reward model: held-out accuracy vs labels " << r.extra_named("heldout_reward_accuracy") << ", vs gold "
                                                   << r.extra_named("heldout_gold_accuracy") << ", train batch "
                                                   << r.extra_named("reward_accuracy") << "; " << rm_seconds << " s");
  // Measured: 97.0% against gold, 68.0% against the (noisy, label_temperature 0.1) labels.
  CHECK(r.extra_named("heldout_gold_accuracy") >= 0.85);
  CHECK(r.extra_named("heldout_reward_accuracy") >= 0.6);
  json gc = load_example("examples/grpo_rm_addition.json");
  gc["init_from"] = sft_path;
  gc["reward_model"] = rm_path;
  Trainer rl(validate_config(gc));
  double gold_start = 0, gold_end = 0, proxy_start = 0, proxy_end = 0;
  const int window = 5;
  while (!rl.done()) {
    const Metrics& m = rl.step();
    if (m.iteration <= window) {
      gold_start += m.extra_named("gold_reward") / window;
      proxy_start += m.extra_named("proxy_reward") / window;
    }
    if (m.iteration > rl.config().get_int("max_steps") - window) {
      gold_end += m.extra_named("gold_reward") / window;
      proxy_end += m.extra_named("proxy_reward") / window;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO("GRPO against the reward model: gold " << gold_start << " -> " << gold_end << ", proxy " << proxy_start << " -> "
                                              << proxy_end << ", KL " << rl.last_metrics().extra_named("kl_ref") << "; "
                                              << seconds << " s in all");
  // Measured: gold -0.011 -> 0.099, proxy 0.33 -> 1.41 (means of the first and the last 5 steps).
  CHECK(gold_end > gold_start + 0.05);
  CHECK(proxy_end > proxy_start + 0.5);
  WARN("reward model gold accuracy " << r.extra_named("heldout_gold_accuracy") << "; GRPO gold " << gold_start << " -> "
                                     << gold_end << ", proxy " << proxy_start << " -> " << proxy_end << ", KL "
                                     << rl.last_metrics().extra_named("kl_ref") << "; " << seconds << " s");

  // PPO-RLHF against the same reward model (examples/ppo_rlhf_addition.json: a critic, GAE over
  // tokens, the KL to the reference per token in the reward with TRL's kl_coef 0.05). Measured:
  // gold 0.02 -> 0.09, proxy 0.65 -> 1.29, value loss 0.32 -> 0.04, KL held at 3-6 nats where GRPO
  // without a KL term drifts to 8.
  json pc = load_example("examples/ppo_rlhf_addition.json");
  pc["init_from"] = sft_path;
  pc["reward_model"] = rm_path;
  Trainer ppo(validate_config(pc));
  double ppo_gold[2] = {0, 0}, ppo_proxy[2] = {0, 0}, value_loss[2] = {0, 0};
  while (!ppo.done()) {
    const Metrics& m = ppo.step();
    const int w = m.iteration <= window ? 0 : (m.iteration > ppo.config().get_int("max_steps") - window ? 1 : -1);
    if (w < 0) continue;
    ppo_gold[w] += m.extra_named("gold_reward") / window;
    ppo_proxy[w] += m.extra_named("proxy_reward") / window;
    value_loss[w] += m.value_loss / window;
  }
  INFO("PPO-RLHF: gold " << ppo_gold[0] << " -> " << ppo_gold[1] << ", proxy " << ppo_proxy[0] << " -> " << ppo_proxy[1]
                         << ", value loss " << value_loss[0] << " -> " << value_loss[1] << ", KL "
                         << ppo.last_metrics().extra_named("kl_ref") << " (GRPO without KL: " << rl.last_metrics().extra_named("kl_ref") << ")");
  CHECK(ppo_gold[1] > ppo_gold[0] + 0.04);
  CHECK(ppo_proxy[1] > ppo_proxy[0] + 0.4);
  CHECK(value_loss[1] < 0.5 * value_loss[0]);  // the critic learns the returns
  CHECK(ppo.last_metrics().extra_named("kl_ref") < rl.last_metrics().extra_named("kl_ref"));
  std::remove(sft_path.c_str());
  std::remove(rm_path.c_str());
}

namespace {
// The highest mean of `metric` over consecutive 10-step windows of a run, and the KL of that window.
struct Peak {
  double value = -1e9, kl = 0;
  double first_proxy = 0, peak_proxy = -1e9;  // 10-step means of the proxy reward: the first, the highest
};
Peak run_peak(Trainer& t, const std::string& metric) {
  Peak best;
  double sum = 0, kl = 0, proxy = 0;
  bool first = true;
  while (!t.done()) {
    const Metrics& m = t.step();
    sum += m.extra_named(metric);
    kl += m.extra_named("kl_ref");
    proxy += m.extra_named("proxy_reward");
    if (m.iteration % 10 == 0) {
      if (sum / 10 > best.value) best.value = sum / 10, best.kl = kl / 10;
      if (first) best.first_proxy = proxy / 10;
      best.peak_proxy = std::max(best.peak_proxy, proxy / 10);
      first = false;
      sum = kl = proxy = 0;
    }
  }
  return best;
}
}  // namespace

TEST_CASE("Over-optimization: against a weak reward model the gold reward stays down, an ensemble reaches a higher peak", "[reward_model][learning]") {
  // examples/reward_model_overopt_addition.json: 30 training pairs with 30% flipped labels, so the
  // reward model is weak; GRPO (examples/grpo_rm_overopt_addition.json) drives the proxy up. Measured
  // (peaks of 10-step means of the gold reward over 50 steps; seeds 1, 2, 3): a single reward model
  // -0.023, -0.044, -0.018 while its proxy climbs to 2.0-2.5; the 4-member ensemble with worst_case
  // 0.070, 0.026, 0.020 and with uncertainty (lambda 1) 0.146, 0.019, 0.048.
  Trainer sft(validate_config(load_example("examples/sft_addition_dpo.json")));
  while (!sft.done()) sft.step();
  const std::string sft_path = "test_overopt_sft.ckpt", one_path = "test_overopt_rm1.ckpt", four_path = "test_overopt_rm4.ckpt";
  sft.save_file(sft_path);
  json rc = load_example("examples/reward_model_overopt_addition.json");
  rc["init_from"] = sft_path;
  Trainer rm4(validate_config(rc));
  while (!rm4.done()) rm4.step();
  rm4.save_file(four_path);
  rc["num_reward_models"] = 1;
  Trainer rm1(validate_config(rc));
  while (!rm1.done()) rm1.step();
  rm1.save_file(one_path);
  json gc = load_example("examples/grpo_rm_overopt_addition.json");
  gc["init_from"] = sft_path;
  // Over three GRPO seeds: one seed's margin moves with the rounding (0.093, 0.070, 0.038 on seeds
  // 1-3 before the tape's products moved to the x86 kernels, 0.029 on seed 1 after).
  double margin = 0;
  for (int seed : {1, 2, 3}) {
    gc["seed"] = seed;
    gc["reward_model"] = one_path;
    Trainer single(validate_config(gc));
    const Peak one = run_peak(single, "gold_reward");
    gc["reward_model"] = four_path;
    Trainer wco(validate_config(gc));
    const Peak four = run_peak(wco, "gold_reward");
    INFO("seed " << seed << ": peak gold reward: single " << one.value << " (KL " << one.kl << ", proxy "
                 << one.first_proxy << " over the first 10 steps, peak " << one.peak_proxy << "); worst-case ensemble "
                 << four.value << " (KL " << four.kl << ")");
    // The proxy is optimized (against this weak model it can later collapse: seed 2 climbs to 1.9
    // by step 16 and falls to about 0 by step 50)...
    CHECK(one.peak_proxy > one.first_proxy + 0.5);
    CHECK(one.value < 0.0);     // ...while the gold reward never rises above the SFT start's (about -0.02)
    CHECK(four.value > one.value);
    margin += (four.value - one.value) / 3;
  }
  for (const std::string& p : {sft_path, one_path, four_path}) std::remove(p.c_str());
  CHECK(margin > 0.04);
  WARN("over-optimization: the worst-case ensemble's peak gold reward is " << margin
                                                                           << " above the single model's (mean of 3 seeds)");
}
