// The offline KTO trainer ("[kto]"): its data (pairs unpaired as TRL does, labelled files, the
// mismatched rows of the reference point, desirable_keep), the per-example log-probabilities
// against a direct computation, the reference point and the loss against KTO's formula, the
// gradient against finite differences with z0 held constant, exact resumption, no allocation, bad
// input, and that KTO from an SFT checkpoint beats the SFT policy on the hidden gold reward.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "core/algos/algorithm.hpp"
#include "core/algos/kto.hpp"
#include "core/algos/preference_data.hpp"
#include "core/algos/registry.hpp"
#include "core/algos/sequence.hpp"
#include "core/train/trainer.hpp"
#include "core/util/allocation_count.hpp"
#include "examples.hpp"
#include "gradcheck.hpp"
#include "sequence_logp.hpp"
#include "trainer_checks.hpp"

using namespace pl;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  std::ofstream(name, std::ios::binary) << text;
  return name;
}

// 2-digit addition, reversed sums: chosen right, rejected wrong.
const char* kPairs =
    "{\"prompt\": \"12+34=\", \"chosen\": \"640.\", \"rejected\": \"650.\"}\n"
    "{\"prompt\": \"50+50=\", \"chosen\": \"001.\", \"rejected\": \"0010\"}\n"
    "{\"prompt\": \"07+08=\", \"chosen\": \"510.\", \"rejected\": \"5.\"}\n"
    "{\"prompt\": \"99+99=\", \"chosen\": \"891.\", \"rejected\": \"8911\"}\n"
    "{\"prompt\": \"31+41=\", \"chosen\": \"270.\", \"rejected\": \"27.\"}\n";

// Unpaired, imbalanced: 5 desirable, 3 undesirable; two examples share a prompt.
const char* kUnpaired =
    "{\"prompt\": \"12+34=\", \"completion\": \"640.\", \"label\": true}\n"
    "{\"prompt\": \"12+34=\", \"completion\": \"650.\", \"label\": false}\n"
    "{\"prompt\": \"50+50=\", \"completion\": \"001.\", \"label\": true}\n"
    "{\"prompt\": \"07+08=\", \"completion\": \"5.\", \"label\": false}\n"
    "\n"
    "{\"prompt\": \"99+99=\", \"completion\": \"891.\", \"label\": true}\n"
    "{\"prompt\": \"31+41=\", \"completion\": \"270.\", \"label\": true}\n"
    "{\"prompt\": \"22+22=\", \"completion\": \"44.\", \"label\": false}\n"
    "{\"prompt\": \"10+10=\", \"completion\": \"02.\", \"label\": true}\n";

json tiny_kto(const std::string& dataset, int steps = 10) {
  return {{"algo", "kto"},       {"task", "addition"},  {"digits", 2},           {"max_steps", steps}, {"batch_size", 4},
          {"d_model", 16},       {"n_heads", 2},        {"n_layers", 1},         {"d_mlp", 32},        {"eval_interval", 3},
          {"heldout_size", 16},  {"dataset", dataset},  {"dataset_size", 40},    {"eval_fraction", 0.25}, {"seed", 4},
          {"learning_rate", 3e-3}};
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

TEST_CASE("KTO: pairs are unpaired as TRL does, a labelled file is read as it is, mismatched rows take another prompt", "[kto]") {
  const std::string pairs = write_temp("test_kto_pairs.jsonl", kPairs);
  auto a = make_algorithm(validate_config(tiny_kto(pairs)));
  std::remove(pairs.c_str());
  KtoLearner* kto = kto_learner(*a);
  REQUIRE(kto);
  kto->prepare();
  REQUIRE(kto->examples().size() == 10);
  CHECK(kto->train_examples() == 8);  // 0.25 of 5 pairs rounds to 1 pair held out: its two examples
  CHECK(kto->kept_examples() == 8);
  const SequenceTask& task = a->sequence_learner()->task();
  for (int i = 0; i < 10; ++i) {
    const UnpairedExample& e = kto->examples()[static_cast<size_t>(i)];
    CHECK(e.desirable == (i % 2 == 0));  // pair i / 2: chosen desirable, rejected undesirable
  }
  CHECK(task.vocab().decode(kto->examples()[7].completion) == "8911");
  for (int i = 0; i < 8; ++i) {
    const int j = kto->mismatched(i);
    INFO("example " << i << " takes example " << j << "'s completion");
    CHECK(j >= 0);
    CHECK(j < 8);
    CHECK(kto->examples()[static_cast<size_t>(j)].problem.prompt != kto->examples()[static_cast<size_t>(i)].problem.prompt);
  }
  // The nearest earlier example with another prompt, cyclically: 1 -> 7 (0 shares its prompt), 2 -> 1.
  CHECK(kto->mismatched(0) == 7);
  CHECK(kto->mismatched(1) == 7);
  CHECK(kto->mismatched(2) == 1);

  const std::string unpaired = write_temp("test_kto_unpaired.jsonl", kUnpaired);
  auto b = make_algorithm(validate_config(tiny_kto(unpaired)));
  std::remove(unpaired.c_str());
  KtoLearner* u = kto_learner(*b);
  u->prepare();
  REQUIRE(u->examples().size() == 8);
  CHECK(u->train_examples() == 6);  // 0.25 of 8 examples held out
  CHECK(u->examples()[3].desirable == false);
  CHECK(task.vocab().decode(u->examples()[3].completion) == "5.");
  CHECK(u->mismatched(1) == 5);  // example 0 shares its prompt: the cycle wraps to the last training example
}

TEST_CASE("KTO: log-probs equal a direct computation, the reference point and the loss are KTO's", "[kto]") {
  const std::string path = write_temp("test_kto_loss.jsonl", kPairs);
  json c = tiny_kto(path);
  c["beta"] = 1.0;  // large enough that a moved policy moves the loss well away from 0.5
  auto algo = make_algorithm(validate_config(c));
  std::remove(path.c_str());
  KtoLearner* kto = kto_learner(*algo);
  kto->prepare();
  const SequenceLearner& s = *algo->sequence_learner();
  auto example = [&](int i) -> const UnpairedExample& { return kto->examples()[static_cast<size_t>(i)]; };
  auto logp = [&](int prompt_of, int completion_of) {
    return direct_completion_logp(s, example(prompt_of).problem.prompt, example(completion_of).completion);
  };
  const int idx[4] = {5, 0, 6, 2};  // one undesirable, three desirable
  // At the reference every log-ratio is 0: z0 = 0 and each example's loss is 1 - sigmoid(0).
  CHECK(kto->example_loss(idx, 4, false) == Approx(0.5).epsilon(1e-6));
  CHECK(kto->reference_point() == 0.0);
  std::vector<double> ref(8), ref_mismatched(8);
  for (int i = 0; i < 8; ++i) {
    ref[static_cast<size_t>(i)] = logp(i, i);
    ref_mismatched[static_cast<size_t>(i)] = logp(i, kto->mismatched(i));
  }
  for (int i = 0; i < 4; ++i) CHECK(kto->logp(i) == Approx(ref[static_cast<size_t>(idx[i])]).epsilon(1e-5));
  // Moved weights: a random perturbation, then the weights shrunk towards 0 (a flatter policy puts
  // more mass on the mismatched completions: the clamp at 0 is not what makes the check pass).
  Parameters& params = algo->params();
  Rng noise(3);
  bool positive_z0 = false;
  for (const float shrink : {1.0f, 0.3f}) {
    for (int i = 0; i < params.total_size(); ++i) params.values()[i] = shrink * params.values()[i] + (shrink == 1.0f ? 0.3f * static_cast<float>(noise.normal()) : 0.0f);
    const double loss = kto->example_loss(idx, 4, false);
    double mean_mismatched = 0;
    for (int i : idx) mean_mismatched += (logp(i, kto->mismatched(i)) - ref_mismatched[static_cast<size_t>(i)]) / 4;
    const double z0 = std::max(0.0, mean_mismatched);
    INFO("shrink " << shrink << ": mean mismatched log-ratio " << mean_mismatched);
    CHECK(kto->reference_point() == Approx(z0).margin(1e-5));
    positive_z0 = positive_z0 || z0 > 0.05;
    double expected = 0;
    for (int k = 0; k < 4; ++k) {
      const int i = idx[k];
      const double lr = logp(i, i) - ref[static_cast<size_t>(i)];
      CHECK(kto->logp(k) == Approx(logp(i, i)).epsilon(1e-5));
      // KTO (Ethayarajh et al. 2024, eq. 8), beta 1, lambda_D = lambda_U = 1.
      expected += (example(i).desirable ? 1 - sigmoid(lr - z0) : 1 - sigmoid(z0 - lr)) / 4;
    }
    CHECK(std::fabs(loss - 0.5) > 1e-3);
    CHECK(loss == Approx(expected).epsilon(1e-5));
  }
  CHECK(positive_z0);
}

TEST_CASE("KTO: the loss gradient with z0 held constant matches finite differences", "[kto][gradcheck]") {
  const std::string path = write_temp("test_kto_grad.jsonl", kPairs);
  json c = tiny_kto(path);
  c["beta"] = 0.5;
  c["desirable_weight"] = 1.5;  // lambda_D != lambda_U: the weights reach the gradient
  auto algo = make_algorithm(validate_config(c));
  std::remove(path.c_str());
  KtoLearner* kto = kto_learner(*algo);
  kto->prepare();
  Parameters& params = algo->params();
  Rng noise(8);
  for (int i = 0; i < params.total_size(); ++i) params.values()[i] += 0.2f * static_cast<float>(noise.normal());
  const int idx[3] = {0, 3, 6};
  const float z0 = 0.4f;  // TRL detaches z0; the check holds it fixed on both sides
  kto->example_loss(idx, 3, true, &z0);
  const std::vector<float> analytic(params.grads().data(), params.grads().data() + params.total_size());
  auto f = [&] { return kto->example_loss(idx, 3, false, &z0); };
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
  CHECK(largest > 1e-2);
}

TEST_CASE("KTO: generated data, deterministic runs, exact resumption, no allocation in the loop", "[kto][alloc]") {
  const json c = tiny_kto("", 40);
  Trainer t(validate_config(c));
  const Metrics& m = t.step();  // 40 generated pairs: 30 train (60 examples), 10 held out
  CHECK(m.policy_loss == Approx(0.5).epsilon(1e-5));  // at the reference
  CHECK(m.extra_named("reference_point") == 0.0);
  CHECK(m.extra_named("epoch") == Approx(4.0 / 60.0));
  CHECK(std::isfinite(m.extra_named("heldout_reward_accuracy")));
  CHECK(m.extra_named("win_rate") >= 0.0);
  Trainer twin(validate_config(c));
  CHECK(twin.step().policy_loss == m.policy_loss);
  {
    // The examples are DPO's generated pairs, unpaired.
    auto k = make_algorithm(validate_config(c));
    json dc = c;
    dc["algo"] = "dpo";
    dc.erase("desirable_weight");
    auto d = make_algorithm(validate_config(dc));
    kto_learner(*k)->prepare();
    const SequenceLearner& s = *d->sequence_learner();
    Sampler sampler(s.model(), 512);
    Rng rng = preference_stream(4);
    const PreferenceDataset pairs = generate_preferences(s.task(), s.model_params(), sampler, GoldReward(s.task(), GoldRewardOptions{}),
                                                         generate_options(validate_config(dc).values()), rng);
    const std::vector<UnpairedExample>& e = kto_learner(*k)->examples();
    REQUIRE(e.size() == 2 * pairs.pairs.size());
    for (size_t i = 0; i < pairs.pairs.size(); ++i) {
      CHECK(e[2 * i].completion == pairs.pairs[i].chosen);
      CHECK(e[2 * i + 1].completion == pairs.pairs[i].rejected);
    }
  }
  for (int i = 0; i < 5; ++i) t.step();
  CHECK(allocations_during(t, 20) == 0);  // evaluations and reshuffles included
  check_resumes_exactly(t, 8, {"reference_point", "win_rate"});
}

TEST_CASE("KTO: desirable_keep drops desirable training examples only, a labelled file resumes without the file", "[kto]") {
  const std::string path = write_temp("test_kto_keep.jsonl", kUnpaired);
  json c = tiny_kto(path);
  c["desirable_keep"] = 0.5;
  auto a = make_algorithm(validate_config(c));
  KtoLearner* kto = kto_learner(*a);
  kto->prepare();
  // Training split: examples 0-5, desirable 0, 2, 4, 5 (four), undesirable 1, 3: keep 2 of the 4.
  CHECK(kto->kept_examples() == 4);
  Trainer t(validate_config(c));
  for (int i = 0; i < 3; ++i) t.step();
  const std::string bytes = t.save_bytes();
  std::remove(path.c_str());
  auto u = Trainer::load_bytes(bytes);
  for (int i = 0; i < 3; ++i) CHECK(t.step().policy_loss == u->step().policy_loss);
  const std::string all_desirable = write_temp("test_kto_desirable.jsonl",
                                               "{\"prompt\": \"12+34=\", \"completion\": \"640.\", \"label\": true}\n"
                                               "{\"prompt\": \"50+50=\", \"completion\": \"001.\", \"label\": true}\n");
  json d = tiny_kto(all_desirable);
  d["eval_fraction"] = 0.0;
  d["desirable_keep"] = 0.0;
  CHECK_THROWS_WITH(Trainer(validate_config(d)), "field 'desirable_keep': 0.0 leaves no training example");
  std::remove(all_desirable.c_str());
}

TEST_CASE("KTO: bad files and options name the problem", "[kto]") {
  CHECK_THROWS_WITH(Trainer(validate_config(tiny_kto("no/such.jsonl"))).step(),
                    "field 'dataset': cannot open preference file 'no/such.jsonl'");
  const std::string bad = write_temp("test_kto_bad.jsonl",
                                     "{\"prompt\": \"12+34=\", \"completion\": \"640.\", \"label\": true}\n"
                                     "{\"prompt\": \"12+34=\", \"completion\": \"640.\", \"label\": \"yes\"}\n");
  CHECK_THROWS_WITH(Trainer(validate_config(tiny_kto(bad))),
                    "field 'dataset': test_kto_bad.jsonl:2: field 'label' must be true (desirable) or false, got \"yes\"");
  write_temp(bad, "{\"prompt\": \"12+34=\", \"completion\": \"6x0.\", \"label\": true}\n");
  CHECK_THROWS_WITH(Trainer(validate_config(tiny_kto(bad))), Catch::StartsWith("field 'dataset': test_kto_bad.jsonl:1:") &&
                                                                 Catch::Contains("'x'"));
  write_temp(bad, "{\"prompt\": \"12+34=\", \"completion\": \"640.\"}\n");
  CHECK_THROWS_WITH(Trainer(validate_config(tiny_kto(bad))), "field 'dataset': test_kto_bad.jsonl:1: missing field 'label'");
  std::remove(bad.c_str());
  json c = tiny_kto("");
  c["loss_type"] = "sigmoid";  // a pair loss: KTO's are kto and apo_zero_unpaired
  CHECK_THROWS_WITH(validate_config(c), Catch::Contains("loss_type"));
  c = tiny_kto("");
  c["desirable_keep"] = 1.5;
  CHECK_THROWS_WITH(validate_config(c), Catch::Contains("desirable_keep"));
}

TEST_CASE("KTO from an SFT checkpoint beats the SFT policy on the hidden gold reward", "[kto][learning]") {
  // examples/sft_addition_dpo.json, then examples/kto_addition.json: DPO's run with the pairs
  // unpaired (measured: win rate 81% at step 25, 92% from 50, 92.6% at 200; gold reward -0.05 ->
  // 0.10; held-out pairs ranked right 72.5%; seeds 2, 3: 72.9%, 88.6%).
  Trainer sft(validate_config(load_example("examples/sft_addition_dpo.json")));
  while (!sft.done()) sft.step();
  const std::string path = "test_kto_sft.ckpt";
  sft.save_file(path);
  json k = load_example("examples/kto_addition.json");
  k["init_from"] = path;
  Trainer kto(validate_config(k));
  std::remove(path.c_str());
  while (!kto.done()) kto.step();
  const Metrics& m = kto.last_metrics();
  INFO("KTO: win rate " << m.extra_named("win_rate") << ", gold reward " << m.extra_named("gold_reward") << " vs SFT "
                        << m.extra_named("gold_reward_ref") << ", held-out pairs ranked right "
                        << m.extra_named("heldout_reward_accuracy") << ", held-out margin " << m.extra_named("heldout_margin"));
  CHECK(m.extra_named("win_rate") >= 0.7);
  CHECK(m.extra_named("gold_reward") > m.extra_named("gold_reward_ref") + 0.1);
  CHECK(m.extra_named("heldout_reward_accuracy") > 0.6);
  CHECK(m.extra_named("heldout_margin") > 0.1);
}
