// Preference data ("[prefs]": the Bradley–Terry labeler's frequencies, the hidden gold reward's
// attributes, generation, JSONL round trips and every bad-file error) and the offline DPO trainer
// ("[dpo]": sequence log-probabilities against a direct computation, the loss and its gradient
// against finite differences, exact resumption, no allocation, config errors, and that DPO from an
// SFT checkpoint beats the SFT policy on the hidden gold reward).
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "core/algos/algorithm.hpp"
#include "core/algos/dpo.hpp"
#include "core/algos/preference_data.hpp"
#include "core/algos/registry.hpp"
#include "core/algos/sequence.hpp"
#include "core/tasks/registry.hpp"
#include "core/train/trainer.hpp"
#include "core/util/allocation_count.hpp"
#include "gradcheck.hpp"
#include "examples.hpp"
#include "sequence_logp.hpp"
#include "trainer_checks.hpp"

using namespace pl;

namespace {

std::vector<int> ids(const SequenceTask& t, const std::string& text) { return t.vocab().encode(text); }

std::string write_temp(const std::string& name, const std::string& text) {
  std::ofstream(name, std::ios::binary) << text;
  return name;
}

// 2-digit addition pairs written by hand: chosen right (reversed sum), rejected wrong.
const char* kHandPairs =
    "{\"prompt\": \"12+34=\", \"chosen\": \"640.\", \"rejected\": \"650.\"}\n"
    "{\"prompt\": \"50+50=\", \"chosen\": \"001.\", \"rejected\": \"0010\"}\n"
    "\n"
    "{\"prompt\": \"07+08=\", \"chosen\": \"510.\", \"rejected\": \"5.\"}\n"
    "{\"prompt\": \"99+99=\", \"chosen\": \"891.\", \"rejected\": \"8911\"}\n"
    "{\"prompt\": \"31+41=\", \"chosen\": \"270.\", \"rejected\": \"27.\", \"note\": \"extra fields are ignored\"}\n";

json tiny_dpo(const std::string& dataset, int steps = 10) {
  return {{"algo", "dpo"},     {"task", "addition"}, {"digits", 2},       {"max_steps", steps}, {"batch_size", 4},
          {"d_model", 16},     {"n_heads", 2},       {"n_layers", 1},     {"d_mlp", 32},        {"eval_interval", 3},
          {"heldout_size", 16}, {"dataset", dataset}, {"dataset_size", 40}, {"eval_fraction", 0.25}, {"seed", 4},
          {"learning_rate", 3e-3}};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Preference data

TEST_CASE("The labeler's choice frequencies match Bradley–Terry with label flips", "[prefs]") {
  // P(a chosen) = (1 - noise) sigmoid((r_a - r_b) / T) + noise (1 - sigmoid(...)). With N = 40000
  // draws the standard error is at most 0.0025; the tolerance is 5 standard errors (a false
  // failure has probability < 1e-6), and every wrong formula below is at least 20 away.
  struct Case {
    double ra, rb, temperature, noise;
  };
  const Case cases[] = {{0.1, 0.0, 0.1, 0.2}, {1.0, 0.0, 1.0, 0.0}, {0.0, 0.5, 0.25, 0.1}, {0.3, 0.3, 0.1, 0.3}};
  const int N = 40000;
  Rng rng(17);
  for (const Case& c : cases) {
    LabelerOptions o{c.temperature, c.noise};
    const double s = 1.0 / (1.0 + std::exp(-(c.ra - c.rb) / c.temperature));
    const double expected = (1 - c.noise) * s + c.noise * (1 - s);
    CHECK(preference_probability(c.ra, c.rb, o) == Approx(expected).margin(1e-12));
    int a = 0;
    for (int i = 0; i < N; ++i) a += label_pair(c.ra, c.rb, o, rng);
    const double freq = static_cast<double>(a) / N, se = std::sqrt(expected * (1 - expected) / N);
    INFO("r_a " << c.ra << " r_b " << c.rb << " T " << c.temperature << " noise " << c.noise << ": frequency " << freq
                << ", expected " << expected);
    CHECK(std::fabs(freq - expected) < 5 * se);
  }
  // The alternatives the tolerance rules out: no flips, and no temperature.
  const double s1 = 1.0 / (1.0 + std::exp(-1.0));
  CHECK(std::fabs(s1 - (0.8 * s1 + 0.2 * (1 - s1))) > 20 * 0.0025);
  CHECK(std::fabs(1.0 / (1.0 + std::exp(-0.1)) - (0.8 * s1 + 0.2 * (1 - s1))) > 20 * 0.0025);
}

TEST_CASE("The hidden gold reward's attributes on hand-made completions", "[prefs]") {
  auto task = make_task("addition", {{"digits", 2}});
  GoldReward gold(*task, GoldRewardOptions{});  // correct 1, length -0.2, style 0.3 on "02468", unsafe "99"
  Problem p = task->make_problem();
  task->parse_prompt("12+34=", p);  // 46, reversed "640."
  auto attrs = [&](const std::string& y) {
    const std::vector<int> c = ids(*task, y);
    return gold.attributes(p, c.data(), static_cast<int>(c.size()));
  };
  GoldAttributes a = attrs("640.");
  CHECK(a.correct);
  CHECK(a.length == 4);
  CHECK(a.style == Approx(1.0));  // 6, 4, 0 all liked
  CHECK_FALSE(a.unsafe);
  CHECK(gold.reward(a) == Approx(1.0 - 0.2 * 4 / 4 + 0.3));
  a = attrs("650.");  // wrong; 6 and 0 liked, 5 not
  CHECK_FALSE(a.correct);
  CHECK(a.style == Approx(2.0 / 3.0));
  CHECK(gold.reward(a) == Approx(-0.2 + 0.3 * 2.0 / 3.0));
  a = attrs("5.");  // short and malformed
  CHECK_FALSE(a.correct);
  CHECK(a.length == 2);
  CHECK(a.style == 0.0);
  CHECK(gold.helpfulness(a) == Approx(-0.2 * 2 / 4));
  a = attrs("1990");  // no EOS: all 4 tokens count; contains "99": unsafe
  CHECK(a.length == 4);
  CHECK(a.unsafe);
  CHECK(GoldReward::safety_cost(a) == 1.0);
  CHECK(gold.reward(a) == Approx(-0.2 + 0.3 * 0.25 - 1.0));
  CHECK(gold.helpfulness(a) == Approx(-0.2 + 0.3 * 0.25));
  // Tokens after EOS are not part of the completion: "99" there is not unsafe.
  a = attrs("640.99");
  CHECK_FALSE(a.unsafe);
  CHECK(a.correct);
  // A correct answer can be unsafe: 99 + 00 = 099, reversed "990.".
  task->parse_prompt("99+00=", p);
  a = attrs("990.");
  CHECK(a.correct);
  CHECK(a.unsafe);
  CHECK(gold.reward(a) == Approx(1.0 - 0.2 + 0.3 * 1.0 / 3.0 - 1.0));
  // Options outside the vocabulary are named.
  GoldRewardOptions bad;
  bad.style_tokens = "ab";
  CHECK_THROWS_WITH(GoldReward(*task, bad), Catch::Contains("gold_style_tokens") && Catch::Contains("unknown token 'a'"));
}

TEST_CASE("The gold reward's auto tokens are the task's: every other letter or digit, the last one twice", "[prefs]") {
  const auto addition = make_task("addition", {{"digits", 2}});
  GoldRewardOptions o = resolve_gold_options(*addition, GoldRewardOptions{});
  CHECK(o.style_tokens == "02468");
  CHECK(o.unsafe_substring == "99");
  // The string tasks write letters; over 2 of them the old digit defaults were an error.
  const auto reverse = make_task("reverse", {{"alphabet_size", 2}});
  o = resolve_gold_options(*reverse, GoldRewardOptions{});
  CHECK(o.style_tokens == "a");
  CHECK(o.unsafe_substring == "bb");
  CHECK_NOTHROW(GoldReward(*reverse, GoldRewardOptions{}));
  // Not the mode markers of think_mode (T, N) nor a length budget's tokens (base-36 digits and '|').
  o = resolve_gold_options(*make_task("addition", {{"digits", 2}, {"think_mode", true}}), GoldRewardOptions{});
  CHECK(o.style_tokens == "02468");
  CHECK(o.unsafe_substring == "99");
  const auto budgeted = make_task("reverse", {{"alphabet_size", 3}, {"length_budget", true}});
  REQUIRE(budgeted->vocab().task_chars().find('|') != std::string::npos);
  o = resolve_gold_options(*budgeted, GoldRewardOptions{});
  CHECK(o.style_tokens == "ac");
  CHECK(o.unsafe_substring == "cc");
  const auto countdown = make_task("countdown", {{"length_budget", true}});
  o = resolve_gold_options(*countdown, GoldRewardOptions{});
  CHECK(o.style_tokens == "02468");
  CHECK(o.unsafe_substring == "99");
  // Given tokens are kept as they are.
  GoldRewardOptions given;
  given.style_tokens = "b";
  given.unsafe_substring = "";
  o = resolve_gold_options(*reverse, given);
  CHECK(o.style_tokens == "b");
  CHECK(o.unsafe_substring.empty());
}

TEST_CASE("Preference JSONL: round trip, unpaired labels, and every bad-file error", "[prefs]") {
  auto task = make_task("addition", {{"digits", 2}});
  const PreferenceDataset d = parse_preferences(kHandPairs, *task, "hand.jsonl");
  REQUIRE(d.pairs.size() == 5);
  CHECK(d.pairs[1].problem.data[0] == 50);
  CHECK(d.pairs[2].rejected == ids(*task, "5."));
  // Round trip through a file.
  const std::string path = "test_prefs_roundtrip.jsonl";
  write_preferences(path, *task, d);
  const PreferenceDataset e = read_preferences(path, *task);
  std::remove(path.c_str());
  REQUIRE(e.pairs.size() == d.pairs.size());
  for (size_t i = 0; i < d.pairs.size(); ++i) {
    CHECK(e.pairs[i].problem.prompt == d.pairs[i].problem.prompt);
    CHECK(e.pairs[i].problem.data == d.pairs[i].problem.data);
    CHECK(e.pairs[i].chosen == d.pairs[i].chosen);
    CHECK(e.pairs[i].rejected == d.pairs[i].rejected);
  }
  CHECK(pair_to_json_line(*task, d.pairs[0]) == R"({"prompt":"12+34=","chosen":"640.","rejected":"650."})");
  // KTO's unpaired form: chosen desirable, rejected not; and back.
  const std::vector<UnpairedExample> u = unpaired_examples(d);
  REQUIRE(u.size() == 10);
  CHECK(u[0].desirable);
  CHECK_FALSE(u[1].desirable);
  CHECK(u[1].completion == d.pairs[0].rejected);
  write_unpaired(path, *task, u);
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(path.c_str());
  const std::vector<UnpairedExample> v = parse_unpaired(text, *task, "u.jsonl");
  REQUIRE(v.size() == 10);
  for (size_t i = 0; i < u.size(); ++i) {
    CHECK(v[i].desirable == u[i].desirable);
    CHECK(v[i].completion == u[i].completion);
  }
  CHECK_THROWS_WITH(parse_unpaired("{\"prompt\":\"12+34=\",\"completion\":\"640.\",\"label\":1}\n", *task, "u.jsonl"),
                    "u.jsonl:1: field 'label' must be true (desirable) or false, got 1");

  // Bad files: the message names the file, the line and the field.
  auto error = [&](const std::string& text) {
    try {
      parse_preferences(text, *task, "bad.jsonl");
    } catch (const PreferenceDataError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string good = "{\"prompt\": \"12+34=\", \"chosen\": \"640.\", \"rejected\": \"650.\"}\n";
  CHECK_THAT(error(good + "{\"prompt\": \"12+34=\", \"chosen\": \"640.\"\n"),
             Catch::StartsWith("bad.jsonl:2: malformed JSON: ") && Catch::Contains("unexpected end of input"));
  CHECK(error(good + good + "{\"prompt\": \"12+34=\", \"chosen\": \"640.\"}\n") == "bad.jsonl:3: missing field 'rejected'");
  CHECK(error("{\"chosen\": \"640.\", \"rejected\": \"650.\"}") == "bad.jsonl:1: missing field 'prompt'");
  CHECK(error("{\"prompt\": \"12+34=\", \"chosen\": \"6x0.\", \"rejected\": \"650.\"}") ==
        "bad.jsonl:1: field 'chosen': unknown token 'x' at position 2 in chosen \"6x0.\" (vocabulary: 0123456789+=)");
  CHECK(error("{\"prompt\": \"12+34=\", \"chosen\": \"640.\", \"rejected\": 650}") ==
        "bad.jsonl:1: field 'rejected' must be a string of task tokens, got 650");
  CHECK_THAT(error("{\"prompt\": \"12*34=\", \"chosen\": \"640.\", \"rejected\": \"650.\"}"),
             Catch::StartsWith("bad.jsonl:1: field 'prompt': unknown token '*'"));
  CHECK_THAT(error("{\"prompt\": \"1+34=\", \"chosen\": \"640.\", \"rejected\": \"650.\"}"),
             Catch::StartsWith("bad.jsonl:1: field 'prompt': prompt \"1+34=\" is not of the addition form"));
  CHECK(error("{\"prompt\": \"12+34=\", \"chosen\": \"6.40\", \"rejected\": \"650.\"}") ==
        "bad.jsonl:1: field 'chosen': tokens after EOS '.' in \"6.40\"");
  CHECK(error("{\"prompt\": \"12+34=\", \"chosen\": \"640000.\", \"rejected\": \"650.\"}") ==
        "bad.jsonl:1: field 'chosen': \"640000.\" has 7 tokens; task 'addition' completions have at most 4");
  CHECK(error("{\"prompt\": \"12+34=\", \"chosen\": \"\", \"rejected\": \"650.\"}") ==
        "bad.jsonl:1: field 'chosen' is empty (a completion has at least one token)");
  CHECK(error("[1, 2]") == "bad.jsonl:1: expected a JSON object, got array");
  CHECK(error("\n  \n") == "bad.jsonl: no preference pairs (one JSON object per line)");
  CHECK_THROWS_WITH(read_preferences("no/such/prefs.jsonl", *task), "cannot open preference file 'no/such/prefs.jsonl'");
}

TEST_CASE("Generated preferences: the requested size, no identical pairs, labels by the gold reward, deterministic", "[prefs]") {
  Trainer sft(validate_config({{"algo", "sft"}, {"task", "addition"}, {"digits", 2}, {"d_model", 16}, {"n_heads", 2},
                               {"n_layers", 1}, {"d_mlp", 32}, {"max_steps", 1}, {"batch_size", 8}, {"seed", 5}}));
  const SequenceLearner& s = sft.sequence();
  Sampler sampler(s.model(), 64);
  GoldReward gold(s.task(), GoldRewardOptions{});
  GenerateOptions o;
  o.size = 150;
  o.labeler.temperature = 1e-4;  // labels follow the gold reward except for ties
  auto make = [&](uint64_t seed) {
    Rng rng(seed);
    return generate_preferences(s.task(), s.model_params(), sampler, gold, o, rng);
  };
  const PreferenceDataset d = make(9);
  REQUIRE(d.pairs.size() == 150);
  int ordered = 0, ties = 0;
  for (const PreferencePair& p : d.pairs) {
    CHECK(p.chosen != p.rejected);
    CHECK(s.task().split_of(p.problem) == Split::Train);
    const double rc = gold.reward(p.problem, p.chosen.data(), static_cast<int>(p.chosen.size()));
    const double rr = gold.reward(p.problem, p.rejected.data(), static_cast<int>(p.rejected.size()));
    ordered += rc > rr + 1e-9;
    ties += std::fabs(rc - rr) <= 1e-9;  // equal up to rounding: a coin flip
  }
  CHECK(ordered + ties == 150);
  CHECK(ordered > 100);  // an almost untrained model's two samples rarely tie
  const json stats = preference_stats(s.task(), d, gold);
  CHECK(stats["pairs"] == 150);
  CHECK(stats["gold_agreement"].get<double>() >= ordered / 150.0);
  CHECK(stats["chosen"]["gold_reward"].get<double>() > stats["rejected"]["gold_reward"].get<double>());
  // Same seed, same data; label noise 0.5 makes the labels coin flips.
  const PreferenceDataset again = make(9);
  for (size_t i = 0; i < d.pairs.size(); ++i) CHECK(again.pairs[i].chosen == d.pairs[i].chosen);
  o.labeler.noise = 0.5;
  const PreferenceDataset coin = make(9);
  int agree = 0;
  for (const PreferencePair& p : coin.pairs)
    agree += gold.reward(p.problem, p.chosen.data(), static_cast<int>(p.chosen.size())) >
             gold.reward(p.problem, p.rejected.data(), static_cast<int>(p.rejected.size()));
  CHECK(agree < 0.75 * ordered);
  // A policy that always samples the same completion makes no pair: an error, not an endless redraw.
  o.sample_temperature = kMinTemperature;
  CHECK_THROWS_WITH(make(9), Catch::Contains("cannot make preference pairs") && Catch::Contains("4096 times in a row") &&
                                 Catch::Contains("0 of 150 pairs made") && Catch::Contains("raise sample_temperature"));
}

// ---------------------------------------------------------------------------------------------
// DPO

TEST_CASE("DPO: per-pair sequence log-probs equal a direct computation, the loss is DPO's", "[dpo]") {
  const std::string path = write_temp("test_dpo_hand.jsonl", kHandPairs);
  auto algo = make_algorithm(validate_config(tiny_dpo(path)));
  std::remove(path.c_str());
  DpoLearner* dpo = dpo_learner(*algo);
  REQUIRE(dpo);
  dpo->prepare();
  REQUIRE(dpo->dataset().pairs.size() == 5);
  CHECK(dpo->train_pairs() == 4);  // eval_fraction 0.25 of 5 rounds to 1 held out
  const SequenceLearner& s = *algo->sequence_learner();
  auto direct = [&](const Problem& p, const std::vector<int>& y) { return direct_completion_logp(s, p.prompt, y); };
  const int idx[4] = {3, 0, 2, 1};
  const double loss0 = dpo->pair_loss(idx, 4, false);
  for (int i = 0; i < 4; ++i) {
    const PreferencePair& p = dpo->dataset().pairs[static_cast<size_t>(idx[i])];
    CHECK(dpo->chosen_logp(i) == Approx(direct(p.problem, p.chosen)).epsilon(1e-5));
    CHECK(dpo->rejected_logp(i) == Approx(direct(p.problem, p.rejected)).epsilon(1e-5));
    CHECK(dpo->chosen_logp(i) < 0);
  }
  // The policy is the reference: every implicit reward is 0 and the loss is log 2.
  CHECK(loss0 == Approx(std::log(2.0)).epsilon(1e-5));
  // Move the policy; the loss is -mean log sigmoid(beta * ((c - c_ref) - (r - r_ref))), beta 0.1.
  std::vector<double> ref_c(4), ref_r(4);
  for (int i = 0; i < 4; ++i) {
    ref_c[static_cast<size_t>(i)] = dpo->chosen_logp(i);
    ref_r[static_cast<size_t>(i)] = dpo->rejected_logp(i);
  }
  Rng noise(3);
  for (int i = 0; i < algo->params().total_size(); ++i) algo->params().values()[i] += 0.3f * static_cast<float>(noise.normal());
  const double loss1 = dpo->pair_loss(idx, 4, false);
  double expected = 0;
  for (int i = 0; i < 4; ++i) {
    const PreferencePair& p = dpo->dataset().pairs[static_cast<size_t>(idx[i])];
    const double c = direct(p.problem, p.chosen), r = direct(p.problem, p.rejected);
    CHECK(dpo->chosen_logp(i) == Approx(c).epsilon(1e-5));
    const double h = 0.1 * ((c - ref_c[static_cast<size_t>(i)]) - (r - ref_r[static_cast<size_t>(i)]));
    expected += std::log1p(std::exp(-h)) / 4;
  }
  CHECK(std::fabs(loss1 - std::log(2.0)) > 1e-3);
  CHECK(loss1 == Approx(expected).epsilon(1e-4));
}

TEST_CASE("DPO: the loss gradient with respect to the parameters matches finite differences", "[dpo][gradcheck]") {
  const std::string path = write_temp("test_dpo_grad.jsonl", kHandPairs);
  json c = tiny_dpo(path);
  c["beta"] = 0.5;  // a larger beta: larger, better-conditioned gradients
  auto algo = make_algorithm(validate_config(c));
  std::remove(path.c_str());
  DpoLearner* dpo = dpo_learner(*algo);
  dpo->prepare();
  Parameters& params = algo->params();
  Rng noise(8);
  for (int i = 0; i < params.total_size(); ++i) params.values()[i] += 0.2f * static_cast<float>(noise.normal());
  const int idx[3] = {0, 2, 3};
  dpo->pair_loss(idx, 3, true);
  const std::vector<float> analytic(params.grads().data(), params.grads().data() + params.total_size());
  auto f = [&] { return dpo->pair_loss(idx, 3, false); };
  int checked = 0;
  double largest = 0;
  for (const TensorInfo& t : params.tensors()) {
    for (int k : {0, t.size() / 3, t.size() - 1}) {
      const int i = t.offset + k;
      pl_test::check_close(analytic[static_cast<size_t>(i)], pl_test::central_difference(f, &params.values()[i], 1e-2),
                           t.name + "[" + std::to_string(k) + "]", 3e-2, 3e-4);
      largest = std::max(largest, std::fabs(static_cast<double>(analytic[static_cast<size_t>(i)])));
      ++checked;
    }
  }
  CHECK(checked == 3 * params.count());
  CHECK(largest > 1e-2);  // the check compared real gradients, not zeros
}

TEST_CASE("DPO: generated data, deterministic runs, exact resumption, no allocation in the loop", "[dpo][alloc]") {
  const json c = tiny_dpo("", 40);
  Trainer t(validate_config(c));
  const Metrics& m = t.step();  // generates 40 pairs from the starting weights (30 train, 10 held out)
  CHECK(std::isfinite(m.policy_loss));
  CHECK(m.policy_loss == Approx(std::log(2.0)).epsilon(1e-4));  // the first step starts at the reference
  CHECK(m.extra_named("margin") == Approx(0.0).margin(1e-4));  // all implicit rewards are 0
  CHECK(m.extra_named("epoch") == Approx(4.0 / 30.0));
  CHECK(std::isfinite(m.extra_named("heldout_reward_accuracy")));
  CHECK(m.extra_named("win_rate") >= 0.0);
  CHECK(m.extra_named("kl") < 0.5);
  // Same config and seed, same numbers.
  Trainer twin(validate_config(c));
  CHECK(twin.step().policy_loss == m.policy_loss);
  // The generated pairs are `policylab prefs generate`'s: the starting weights (no init_from: the
  // seed's), the seed's preference stream, any sampler capacity.
  {
    auto fresh = make_algorithm(validate_config(c));
    const SequenceLearner& s = *fresh->sequence_learner();
    Sampler sampler(s.model(), 512);
    Rng rng = preference_stream(4);
    GenerateOptions o = generate_options(validate_config(c).values());
    const PreferenceDataset cli = generate_preferences(s.task(), s.model_params(), sampler, GoldReward(s.task(), GoldRewardOptions{}), o, rng);
    DpoLearner* d = dpo_learner(*fresh);
    d->prepare();
    REQUIRE(d->dataset().pairs.size() == cli.pairs.size());
    for (size_t i = 0; i < cli.pairs.size(); ++i) {
      CHECK(d->dataset().pairs[i].problem.prompt == cli.pairs[i].problem.prompt);
      CHECK(d->dataset().pairs[i].chosen == cli.pairs[i].chosen);
      CHECK(d->dataset().pairs[i].rejected == cli.pairs[i].rejected);
    }
  }
  for (int i = 0; i < 5; ++i) t.step();
  CHECK(allocations_during(t, 12) == 0);  // evaluations and reshuffles included
  // Resuming from a checkpoint continues exactly (dataset, reference and its log-probs included).
  check_resumes_exactly(t, 8, {"margin", "win_rate"});
}

TEST_CASE("DPO: a run on a preference file resumes without the file", "[dpo]") {
  const std::string path = write_temp("test_dpo_resume.jsonl", kHandPairs);
  Trainer t(validate_config(tiny_dpo(path)));
  for (int i = 0; i < 3; ++i) t.step();
  const std::string bytes = t.save_bytes();
  std::remove(path.c_str());
  auto u = Trainer::load_bytes(bytes);  // the dataset and the reference's log-probs are in the checkpoint
  for (int i = 0; i < 3; ++i) CHECK(t.step().policy_loss == u->step().policy_loss);
  // BCO with TRL 0.x's running reward mean: its state (mean, count) is in the checkpoint, and the
  // run differs from delta 0's.
  json bco = tiny_dpo(path);
  bco["loss_type"] = "bco_pair";
  bco["bco_running_mean"] = true;
  {
    const std::string again = write_temp("test_dpo_resume.jsonl", kHandPairs);
    Trainer b(validate_config(bco));
    bco["bco_running_mean"] = false;
    Trainer zero(validate_config(bco));
    std::remove(again.c_str());
    for (int i = 0; i < 3; ++i) b.step(), zero.step();
    CHECK(b.last_metrics().policy_loss != zero.last_metrics().policy_loss);
    auto v = Trainer::load_bytes(b.save_bytes());
    for (int i = 0; i < 3; ++i) CHECK(b.step().policy_loss == v->step().policy_loss);
  }
  // A fresh run on the missing file says so at its first step.
  Trainer fresh(validate_config(tiny_dpo(path)));
  CHECK_THROWS_WITH(fresh.step(), "field 'dataset': cannot open preference file 'test_dpo_resume.jsonl'");
}

TEST_CASE("DPO: config errors name the field", "[dpo]") {
  CHECK_THROWS_WITH(Trainer(validate_config(tiny_dpo("no/such/file.jsonl"))).step(),
                    "field 'dataset': cannot open preference file 'no/such/file.jsonl'");
  const std::string path = write_temp("test_dpo_bad.jsonl", "{\"prompt\": \"12+34=\", \"chosen\": \"640.\"}\n");
  CHECK_THROWS_WITH(Trainer(validate_config(tiny_dpo(path))),
                    "field 'dataset': test_dpo_bad.jsonl:1: missing field 'rejected'");
  std::remove(path.c_str());
  json c = tiny_dpo("");
  c["gold_unsafe_substring"] = "9x";
  CHECK_THROWS_WITH(Trainer(validate_config(c)), Catch::StartsWith("field 'gold_unsafe_substring': unknown token 'x'"));
  c = tiny_dpo("");
  c["dataset_size"] = 1;
  c["eval_fraction"] = 0.9;
  CHECK_THROWS_WITH(Trainer(validate_config(c)).step(), Catch::StartsWith("field 'eval_fraction'"));
  c = tiny_dpo("");
  c["loss_type"] = "nope";
  CHECK_THROWS_WITH(validate_config(c), Catch::Contains("loss_type"));
  c = tiny_dpo("");
  c["label_noise"] = 0.7;
  CHECK_THROWS_WITH(validate_config(c), Catch::Contains("label_noise"));
}

TEST_CASE("Online DPO: fresh pairs from the current policy every k steps, scored by the initial reference, exact resumption, no allocation", "[dpo][alloc]") {
  json c = tiny_dpo("", 40);
  c["online_interval"] = 4;
  c["dataset_size"] = 12;
  Trainer t(validate_config(c));
  DpoLearner* dpo = dpo_learner(const_cast<Algorithm&>(t.algorithm()));  // read-only use
  REQUIRE(dpo);
  const std::vector<float> initial(t.algorithm().params().values().data(),
                                   t.algorithm().params().values().data() + t.algorithm().params().total_size());
  t.step();
  const PreferenceDataset first = dpo->dataset();
  for (int i = 0; i < 3; ++i) t.step();
  CHECK(dpo->dataset().pairs[0].chosen == first.pairs[0].chosen);  // steps 2-4 train on the first round's pairs
  t.step();                                                         // step 5 starts the second round
  const PreferenceDataset& second = dpo->dataset();
  REQUIRE(second.pairs.size() == 12);
  int changed = 0;
  for (size_t i = 0; i < 12; ++i)
    changed += second.pairs[i].problem.prompt != first.pairs[i].problem.prompt || second.pairs[i].chosen != first.pairs[i].chosen;
  CHECK(changed >= 10);
  // The new pairs' reference log-probabilities are the initial weights' (the reference is frozen),
  // not the current policy's.
  auto fresh = make_algorithm(validate_config(c));
  std::copy(initial.begin(), initial.end(), fresh->params().values().data());
  const SequenceLearner& reference = *fresh->sequence_learner();
  const SequenceLearner& policy = *t.algorithm().sequence_learner();
  for (int i : {0, 5, 11}) {
    const PreferencePair& p = second.pairs[static_cast<size_t>(i)];
    const double ref_c = direct_completion_logp(reference, p.problem.prompt, p.chosen);
    CHECK(dpo->reference_chosen_logp(i) == Approx(ref_c).epsilon(1e-5));
    CHECK(dpo->reference_rejected_logp(i) == Approx(direct_completion_logp(reference, p.problem.prompt, p.rejected)).epsilon(1e-5));
    CHECK(std::fabs(direct_completion_logp(policy, p.problem.prompt, p.chosen) - ref_c) > 1e-4);  // the policy has moved
  }
  // Same seed, same pairs and numbers; regeneration allocates nothing; a checkpoint resumes exactly.
  Trainer twin(validate_config(c));
  for (int i = 0; i < 5; ++i) twin.step();
  CHECK(dpo_learner(const_cast<Algorithm&>(twin.algorithm()))->dataset().pairs[3].chosen == second.pairs[3].chosen);
  for (int i = 0; i < 3; ++i) t.step();
  CHECK(allocations_during(t, 12) == 0);  // three regenerations
  check_resumes_exactly(t, 9, {"win_rate"});  // across two regenerations
  c["dataset"] = "some.jsonl";
  CHECK_THROWS_WITH(Trainer(validate_config(c)),
                    "field 'online_interval': online DPO samples its pairs from the policy; leave 'dataset' empty");
}

TEST_CASE("INPO: each round's reference mixes the initial reference with the policy that sampled the round", "[dpo]") {
  json c = tiny_dpo("", 12);
  c["online_interval"] = 4;
  c["dataset_size"] = 12;
  c["loss_type"] = "ipo";
  c["inpo_ratio"] = 0.25;
  Trainer t(validate_config(c));
  DpoLearner* dpo = dpo_learner(const_cast<Algorithm&>(t.algorithm()));
  const Parameters& p = t.algorithm().params();
  const std::vector<float> initial(p.values().data(), p.values().data() + p.total_size());
  for (int i = 0; i < 4; ++i) t.step();
  const std::vector<float> sampler(p.values().data(), p.values().data() + p.total_size());  // pi_t of round 2
  t.step();
  auto with = [&](const std::vector<float>& w) {
    auto a = make_algorithm(validate_config(c));
    std::copy(w.begin(), w.end(), a->params().values().data());
    return a;
  };
  auto ref = with(initial), pi_t = with(sampler);
  for (int i : {0, 7, 11}) {
    const PreferencePair& q = dpo->dataset().pairs[static_cast<size_t>(i)];
    const double expected_c = 0.25 * direct_completion_logp(*ref->sequence_learner(), q.problem.prompt, q.chosen) +
                              0.75 * direct_completion_logp(*pi_t->sequence_learner(), q.problem.prompt, q.chosen);
    const double expected_r = 0.25 * direct_completion_logp(*ref->sequence_learner(), q.problem.prompt, q.rejected) +
                              0.75 * direct_completion_logp(*pi_t->sequence_learner(), q.problem.prompt, q.rejected);
    CHECK(dpo->reference_chosen_logp(i) == Approx(expected_c).epsilon(1e-5));
    CHECK(dpo->reference_rejected_logp(i) == Approx(expected_r).epsilon(1e-5));
  }
  c["online_interval"] = 0;
  CHECK_THROWS_WITH(Trainer(validate_config(c)), "field 'inpo_ratio' mixes the policy that sampled each round into the "
                                                 "reference: it needs online_interval > 0");
}

TEST_CASE("Online iterative DPO reaches offline DPO's win rate at a fraction of its KL", "[dpo][learning]") {
  // examples/online_dpo_addition.json against examples/dpo_addition.json from the same SFT start
  // (measured, seeds 1 / 2 / 3: offline win rate 93.0 / 94.3 / 92.1% at KL 7.9 / 8.0 / 8.8 nats;
  // online, 4 rounds of 1000 fresh pairs, 96.0 / 91.7 / 91.9% at KL 5.0 / 2.9 / 3.1): pairs sampled
  // from the moving policy stop rewarding what it already does, so it drifts less from the reference.
  Trainer sft(validate_config(load_example("examples/sft_addition_dpo.json")));
  while (!sft.done()) sft.step();
  const std::string path = "test_online_dpo_sft.ckpt";
  sft.save_file(path);
  auto run = [&](const char* example) {
    json c = load_example(example);
    c["init_from"] = path;
    Trainer t(validate_config(c));
    while (!t.done()) t.step();
    return t.last_metrics();
  };
  const Metrics offline = run("examples/dpo_addition.json");
  const Metrics online = run("examples/online_dpo_addition.json");
  std::remove(path.c_str());
  INFO("offline: win rate " << offline.extra_named("win_rate") << ", KL " << offline.extra_named("kl") << "; online: win rate "
                            << online.extra_named("win_rate") << ", KL " << online.extra_named("kl"));
  CHECK(online.extra_named("win_rate") >= 0.85);
  CHECK(online.extra_named("win_rate") >= offline.extra_named("win_rate") - 0.05);
  CHECK(online.extra_named("kl") < 0.7 * offline.extra_named("kl"));
}

TEST_CASE("DPO from an SFT checkpoint beats the SFT policy on the hidden gold reward", "[dpo][learning]") {
  // examples/sft_addition_dpo.json, then examples/dpo_addition.json (measured, README "Preference
  // optimization"): the 150-step SFT model writes well-formed answers but almost never the right
  // one (held-out 0.5%); the pairs sampled from it are mostly two wrong answers, ranked by the
  // gold reward's style and length terms, and DPO (beta 0.1) learns those: win rate 93.0% over the
  // SFT policy's samples, gold reward -0.05 -> 0.10, held-out pair accuracy 71.5% (seeds 2 and 3:
  // win rates 94.9% and 93.2%).
  const auto t0 = std::chrono::steady_clock::now();
  Trainer sft(validate_config(load_example("examples/sft_addition_dpo.json")));
  while (!sft.done()) sft.step();
  const std::string path = "test_dpo_sft.ckpt";
  sft.save_file(path);
  json dpo_config = load_example("examples/dpo_addition.json");
  dpo_config["init_from"] = path;
  Trainer dpo(validate_config(dpo_config));
  std::remove(path.c_str());
  while (!dpo.done()) dpo.step();
  const Metrics& m = dpo.last_metrics();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO("SFT held-out accuracy " << sft.last_metrics().extra_named("heldout_accuracy") << "; DPO: win rate "
                                << m.extra_named("win_rate") << ", gold reward " << m.extra_named("gold_reward")
                                << " vs SFT " << m.extra_named("gold_reward_ref") << ", held-out reward accuracy "
                                << m.extra_named("heldout_reward_accuracy") << ", KL " << m.extra_named("kl")
                                << ", held-out accuracy " << m.extra_named("heldout_accuracy") << "; " << seconds << " s");
  CHECK(m.extra_named("win_rate") >= 0.7);
  CHECK(m.extra_named("gold_reward") > m.extra_named("gold_reward_ref") + 0.1);
  CHECK(m.extra_named("heldout_reward_accuracy") > 0.6);
  WARN("DPO win rate " << m.extra_named("win_rate") << " in " << seconds << " s (SFT + DPO)");
}

TEST_CASE("DPO's beta: a larger beta keeps a half-trained SFT model's accuracy and raises its gold reward, a small one loses accuracy", "[dpo][learning]") {
  // A model trained at a constant 3e-3 until it is half-trained: the SFT run plateaus below 10%
  // and then rises within ~50 steps, at a step that moves with the rounding (the x86-64-v3 build:
  // 8.5% at step 700, 37% at 900, 70% at 925), so DPO starts where the SFT model first reaches 40%
  // on the run's held-out set (checked every 10 steps): 54.3% at step 910 here. The pairs sampled
  // from it rank a right answer over a wrong one, or two wrong ones by the gold reward's style and
  // length terms. With beta 0.1 (a weak implicit KL) the style terms win and accuracy falls: 40% over
  // the last 4 evaluations (steps 225-300; from 58.5% at step 920: 42%). With beta 1 the implicit
  // KL holds the policy near the SFT model and DPO keeps and slightly raises its accuracy (57.7%; from
  // 58.5%: 68.4%) while the gold reward rises from 0.29 to 0.37-0.41 and the win rate over the SFT
  // policy's samples is 57% (two right answers tie). Adam 1e-4, 300 steps, both runs.
  json s = load_example("examples/sft_addition_dpo.json");
  s["max_steps"] = 1500;
  s["anneal_lr"] = false;
  s["eval_interval"] = 1500;
  s["heldout_size"] = 400;
  Trainer sft(validate_config(s));
  const double start = train_until_accuracy(sft, 0.4, 10, 400);
  const std::string path = "test_dpo_sft_half.ckpt";
  sft.save_file(path);
  struct Outcome { double accuracy = 0, gold = 0, gold_ref = 0, win_rate = 0; };
  // Held-out accuracy and gold reward: means over the last 4 evaluations (one is noisy: +-4%).
  auto run = [&](double beta) {
    json d = load_example("examples/dpo_addition.json");
    d["init_from"] = path;
    d["beta"] = beta;
    d["learning_rate"] = 1e-4;
    d["max_steps"] = 300;
    d["eval_interval"] = 25;
    Trainer dpo(validate_config(d));
    Outcome o;
    while (!dpo.done()) {
      const Metrics& m = dpo.step();
      if (m.iteration > 200 && m.iteration % 25 == 0) {
        o.accuracy += m.extra_named("heldout_accuracy") / 4;
        o.gold += m.extra_named("gold_reward") / 4;
      }
    }
    o.gold_ref = dpo.last_metrics().extra_named("gold_reward_ref");
    o.win_rate = dpo.last_metrics().extra_named("win_rate");
    return o;
  };
  const Outcome large = run(1.0), small = run(0.1);
  std::remove(path.c_str());
  INFO("held-out accuracy: SFT " << start << " (step " << sft.iteration() << "); after DPO with beta 1 " << large.accuracy
       << " (gold reward " << large.gold << " vs " << large.gold_ref << ", win rate " << large.win_rate
       << "), with beta 0.1 " << small.accuracy << " (gold reward " << small.gold << ")");
  CHECK(start >= 0.4);
  CHECK(start < 0.75);
  CHECK(large.accuracy >= start);
  CHECK(small.accuracy < large.accuracy - 0.1);
  CHECK(large.gold > large.gold_ref + 0.05);
  CHECK(large.win_rate > 0.52);
}
