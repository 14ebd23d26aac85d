// Group-relative RL pieces against hand-computed values on tiny batches: every advantage estimator
// (group_advantages.hpp) and every policy loss with its gradient with respect to logp, evaluated
// through the loss lab (loss_lab.hpp), which builds the expressions the GRPO trainer trains with.
// Each expected number is derived in the comment beside it.
#include <catch2/catch.hpp>
#include <cmath>

#include "core/algos/group_advantages.hpp"
#include "core/algos/loss_lab.hpp"
#include "core/algos/sequence.hpp"
#include "core/algos/token_critic.hpp"
#include "core/tasks/rewards.hpp"
#include "core/train/trainer.hpp"
#include "core/util/allocation_count.hpp"
#include "lab_messages.hpp"

using namespace pl;

namespace {
// Two prompts, G = 3: rewards (1, 0, 0) and (1, 1, 1); completion lengths (2, 4, 3) and (1, 2, 3).
const float kRewards[6] = {1, 0, 0, 1, 1, 1};
const float kLengths[6] = {2, 4, 3, 1, 2, 3};

std::vector<float> advantages(Estimator e, EstimatorOptions o = {}, const float* baselines = nullptr, int* zero = nullptr) {
  std::vector<float> a(6);
  GroupRewards in{kRewards, 2, 3, kLengths, baselines};
  const int z = estimate_advantages(e, in, o, a.data());
  if (zero) *zero = z;
  return a;
}
}  // namespace

TEST_CASE("Advantage estimators match hand-computed values", "[grpo][estimators]") {
  SECTION("reinforce_plus_plus: whitened over tokens") {
    // 15 tokens; token mean 8/15; unbiased token variance (8 (7/15)^2 + 7 (8/15)^2) / 14 = 840/225/14.
    const auto a = advantages(Estimator::ReinforcePlusPlus);
    const double sd = std::sqrt(840.0 / 225.0 / 14.0 + 1e-8);
    CHECK(a[0] == Approx((7.0 / 15.0) / sd));
    CHECK(a[1] == Approx((-8.0 / 15.0) / sd));
    CHECK(a[5] == Approx((7.0 / 15.0) / sd));
  }
  SECTION("reinforce_plus_plus_baseline: group mean, then whitened") {
    // Centred: (2/3, -1/3, -1/3, 0, 0, 0); token mean (4/3 - 4/3 - 1) / 15 = -1/15;
    // variance (2 (11/15)^2 + 7 (4/15)^2 + 6 (1/15)^2) / 14 = (360/225) / 14.
    const auto a = advantages(Estimator::ReinforcePlusPlusBaseline);
    const double sd = std::sqrt(360.0 / 225.0 / 14.0 + 1e-8);
    CHECK(a[0] == Approx((11.0 / 15.0) / sd));
    CHECK(a[1] == Approx((-4.0 / 15.0) / sd));
    CHECK(a[3] == Approx((1.0 / 15.0) / sd));
  }
  SECTION("remax: minus the greedy completion's reward") {
    const float greedy[2] = {0.5f, 1.0f};
    const auto a = advantages(Estimator::Remax, {}, greedy);
    CHECK(a[0] == Approx(0.5));
    CHECK(a[1] == Approx(-0.5));
    CHECK(a[4] == Approx(0.0));
  }
  SECTION("opo: length-weighted baseline") {
    // Group 1: b = (2 * 1 + 4 * 0 + 3 * 0) / 9 = 2/9. Group 2: b = 1.
    const auto a = advantages(Estimator::Opo);
    CHECK(a[0] == Approx(7.0 / 9.0));
    CHECK(a[1] == Approx(-2.0 / 9.0));
    CHECK(a[5] == Approx(0.0).margin(1e-7));
  }
  SECTION("gpg: rescaled by B / (B - M)") {
    // M = 3 completions in the zero-variance group: alpha = 6 / 3 = 2.
    int zero = 0;
    auto a = advantages(Estimator::Gpg, {}, nullptr, &zero);
    CHECK(zero == 1);
    CHECK(a[0] == Approx(4.0 / 3.0));
    CHECK(a[1] == Approx(-2.0 / 3.0));
    // verl's count: 4 nonzero rewards, alpha = 6 / 4.
    EstimatorOptions o;
    o.gpg_alpha = GpgAlpha::NonzeroRewards;
    a = advantages(Estimator::Gpg, o);
    CHECK(a[0] == Approx(1.0));
    CHECK(a[2] == Approx(-0.5));
  }
  SECTION("grpo_passk: only the best completion") {
    // Group 1: r_max - r_second = 1, over (std + eps) with std = sqrt(1/3). Group 2: 1 - 1 = 0.
    auto a = advantages(Estimator::GrpoPassk);
    CHECK(a[0] == Approx(1.0 / (std::sqrt(1.0 / 3.0) + 1e-4)));
    CHECK(a[1] == 0.0f);
    CHECK(a[2] == 0.0f);
    CHECK(a[3] == 0.0f);
    EstimatorOptions o;
    o.scale = ScaleRewards::None;
    CHECK(advantages(Estimator::GrpoPassk, o)[0] == Approx(1.0));
    // batch: over the std of all six rewards (mean 2/3, Bessel's correction: sqrt(4/15)), as for grpo.
    o.scale = ScaleRewards::Batch;
    CHECK(advantages(Estimator::GrpoPassk, o)[0] == Approx(1.0 / (std::sqrt(4.0 / 15.0) + 1e-4)));
    // std_eps 0: the all-equal group's advantages are 0, not 0 / 0.
    o.scale = ScaleRewards::Group;
    o.std_eps = 0.0f;
    a = advantages(Estimator::GrpoPassk, o);
    CHECK(a[0] == Approx(1.0 / std::sqrt(1.0 / 3.0)));
    for (int i = 3; i < 6; ++i) CHECK(a[i] == 0.0f);
  }
}

TEST_CASE("BNPO: the Beta density and its method-of-moments parameters", "[grpo][estimators]") {
  CHECK(beta_density(0.5, 2, 2) == Approx(1.5));   // 6 p (1 - p)
  CHECK(beta_density(0.3, 2, 1) == Approx(0.6));   // 2 p
  CHECK(beta_density(0.7, 1, 1) == Approx(1.0));
  CHECK(beta_density(0.0, 2, 2) == 0.0);
  // Four prompts, G = 2: p = (0.5, 0.5, 1, 0.5): mean 0.625, Bessel variance 0.0625;
  // k = 0.625 * 0.375 / 0.0625 - 1 = 2.75; alpha = 1 + 2.75 * 0.625 / 3, beta = 1 + 2.75 * 0.375 / 3.
  const float r[8] = {1, 0, 1, 0, 1, 1, 1, 0};
  float a[8];
  GroupRewards in{r, 4, 2};
  CHECK(estimate_advantages(Estimator::Bnpo, in, {}, a) == 1);
  const double f = beta_density(0.5, 1 + 2.75 * 0.625 / 3, 1 + 2.75 * 0.375 / 3);
  CHECK(a[0] == Approx(0.5 / f));
  CHECK(a[1] == Approx(-0.5 / f));
  CHECK(a[4] == 0.0f);  // p = 1: r - p = 0 (the density there is 0; 1/f is capped)
  // All groups alike (variance 0): alpha = beta = 1, the plain group-mean baseline.
  const float same[4] = {1, 0, 1, 0};
  GroupRewards in2{same, 2, 2};
  estimate_advantages(Estimator::Bnpo, in2, {}, a);
  CHECK(a[0] == Approx(0.5));
}

namespace {
json lab(const std::string& name, const json& input, const json& options = json::object()) {
  return evaluate_loss_lab(name, input, options);
}
// One prompt with two completions: ratios exp(logp - old) = (1.5, 0.5) and (1.1); A = (1, -1).
json ratio_batch() {
  return {{"group_size", 2},
          {"logp", {{-1 + std::log(1.5), -1 + std::log(0.5)}, {-1 + std::log(1.1)}}},
          {"old_logp", {{-1, -1}, {-1}}},
          {"advantages", {1, -1}}};
}
}  // namespace

TEST_CASE("Policy losses and their gradients match hand-computed values", "[grpo][losses]") {
  SECTION("clip, token-mean") {
    // -min(1.5, 1.2) = -1.2 (clipped: no gradient); -min(0.5, 0.8) = -0.5 (gradient -A r = -0.5);
    // A = -1, r = 1.1 inside the clip: -(-1.1) = 1.1 (gradient 1.1). Mean over 3 tokens.
    const json out = lab("clip", ratio_batch(), {{"loss_agg_mode", "token-mean"}});
    CHECK(out["loss"].get<double>() == Approx((-1.2 - 0.5 + 1.1) / 3));
    CHECK(out["gradient"]["logp"][0][0].get<double>() == Approx(0.0).margin(1e-7));
    CHECK(out["gradient"]["logp"][0][1].get<double>() == Approx(-0.5 / 3));
    CHECK(out["gradient"]["logp"][1][0].get<double>() == Approx(1.1 / 3));
    CHECK(out["outputs"]["clip_high"].get<double>() == Approx(1.0 / 3));
    CHECK(out["outputs"]["clip_low"].get<double>() == 0.0);
  }
  SECTION("clip, seq-mean-token-mean, clip-higher") {
    // epsilon_high 0.6: the 1.5 token is no longer clipped (-1.5, gradient -1.5). Row means:
    // (-1.5 - 0.5) / 2 and 1.1; the mean of rows (-1 + 1.1) / 2; token gradients / (2 * L).
    const json out = lab("clip", ratio_batch(), {{"epsilon_high", 0.6}, {"loss_agg_mode", "seq-mean-token-mean"}});
    CHECK(out["loss"].get<double>() == Approx((-1.0 + 1.1) / 2));
    CHECK(out["gradient"]["logp"][0][0].get<double>() == Approx(-1.5 / 4));
    CHECK(out["gradient"]["logp"][1][0].get<double>() == Approx(1.1 / 2));
  }
  SECTION("dual-clip bounds the loss of a negative advantage at c |A|") {
    // r = 5, A = -1: PPO's loss max(5, 1.2) = 5; dual-clip min(5, 3) = 3, no gradient.
    json in = {{"logp", {{std::log(5.0) - 1}}}, {"old_logp", {{-1}}}, {"advantages", {-1}}};
    CHECK(lab("clip", in)["loss"].get<double>() == Approx(5.0));
    const json out = lab("clip", in, {{"clip_ratio_c", 3}});
    CHECK(out["loss"].get<double>() == Approx(3.0));
    CHECK(out["gradient"]["logp"][0][0].get<double>() == 0.0);
    // TRL's delta caps the unclipped ratio instead: A = +1, r = 5 clipped to 1.2 anyway; A = -1: min(5, delta=4).
    CHECK(lab("clip", in, {{"delta", 4}})["loss"].get<double>() == Approx(4.0));
  }
  SECTION("GSPO: the sequence's geometric-mean ratio") {
    // Row 0: s = sqrt(1.5 * 0.5) = sqrt(0.75), inside the clip: row loss -s, each token's gradient
    // -A s / L, times 1/R for the mean over rows. Row 1: s = 1.1, A = -1: 1.1, gradient 1.1 / R.
    const json out = lab("clip", ratio_batch(), {{"importance_sampling_level", "sequence"}, {"loss_agg_mode", "seq-mean-token-mean"}});
    const double s = std::sqrt(0.75);
    CHECK(out["loss"].get<double>() == Approx((-s + 1.1) / 2));
    CHECK(out["gradient"]["logp"][0][0].get<double>() == Approx(-s / 2 / 2));
    CHECK(out["gradient"]["logp"][0][1].get<double>() == Approx(-s / 2 / 2));
    CHECK(out["gradient"]["logp"][1][0].get<double>() == Approx(1.1 / 2));
  }
  SECTION("CISPO: detached clipped weight times the REINFORCE gradient") {
    // TRL: weights min(r, 1.2) = (1.2, 0.5), 1.1; gradient -w A per token, token-mean over 3.
    json out = lab("cispo", ratio_batch(), {{"loss_agg_mode", "token-mean"}});
    CHECK(out["gradient"]["logp"][0][0].get<double>() == Approx(-1.2 / 3));
    CHECK(out["gradient"]["logp"][0][1].get<double>() == Approx(-0.5 / 3));
    CHECK(out["gradient"]["logp"][1][0].get<double>() == Approx(1.1 / 3));
    // verl clips from below too: 0.5 -> 0.8.
    out = lab("cispo", ratio_batch(), {{"loss_agg_mode", "token-mean"}, {"cispo_clip", "verl"}});
    CHECK(out["gradient"]["logp"][0][1].get<double>() == Approx(-0.8 / 3));
  }
  SECTION("gpg: -A log pi") {
    const json out = lab("loss:gpg", ratio_batch(), {{"loss_agg_mode", "token-mean"}});
    CHECK(out["gradient"]["logp"][0][0].get<double>() == Approx(-1.0 / 3));
    CHECK(out["gradient"]["logp"][1][0].get<double>() == Approx(1.0 / 3));
    // token-mean is the default (TRL's 'dapo', verl's token-mean).
    CHECK(lab("loss:gpg", ratio_batch())["gradient"] == out["gradient"]);
  }
  SECTION("the sequence aggregations: token sums over R rows, and Dr. GRPO's constant") {
    // gpg's -A log pi, rows of 2 and 1 tokens, A = (1, -1), R = 2. seq-mean-token-sum: 1 / R.
    json out = lab("loss:gpg", ratio_batch(), {{"loss_agg_mode", "seq-mean-token-sum"}});
    CHECK(out["gradient"]["logp"][0][0].get<double>() == Approx(-0.5));
    CHECK(out["gradient"]["logp"][0][1].get<double>() == Approx(-0.5));
    CHECK(out["gradient"]["logp"][1][0].get<double>() == Approx(0.5));
    // seq-mean-token-sum-norm: 1 / (R * max_len), max_len the longest completion (2) unless given.
    out = lab("loss:gpg", ratio_batch(), {{"loss_agg_mode", "seq-mean-token-sum-norm"}});
    CHECK(out["gradient"]["logp"][0][0].get<double>() == Approx(-0.25));
    CHECK(out["gradient"]["logp"][1][0].get<double>() == Approx(0.25));
    out = lab("loss:gpg", ratio_batch(), {{"loss_agg_mode", "seq-mean-token-sum-norm"}, {"max_completion_length", 8}});
    CHECK(out["gradient"]["logp"][0][1].get<double>() == Approx(-1.0 / 16));
    CHECK(out["gradient"]["logp"][1][0].get<double>() == Approx(1.0 / 16));
  }
  SECTION("KL estimators in the loss") {
    // d = ref - logp = 0.5 on one token; beta 0.1; advantages 0 so only the KL term remains.
    json in = {{"logp", {{-1.0}}}, {"ref_logp", {{-0.5}}}, {"advantages", {0}}};
    const double d = 0.5;
    json k3 = lab("clip", in, {{"beta", 0.1}});
    CHECK(k3["loss"].get<double>() == Approx(0.1 * (std::exp(d) - d - 1)));
    CHECK(k3["gradient"]["logp"][0][0].get<double>() == Approx(0.1 * (1 - std::exp(d))));
    json k1 = lab("clip", in, {{"beta", 0.1}, {"kl_estimator", "k1"}});
    CHECK(k1["loss"].get<double>() == Approx(-0.1 * d));
    CHECK(k1["gradient"]["logp"][0][0].get<double>() == Approx(0.1));
    json k2 = lab("clip", in, {{"beta", 0.1}, {"kl_estimator", "k2"}});
    CHECK(k2["loss"].get<double>() == Approx(0.1 * 0.5 * d * d));
    CHECK(k2["gradient"]["logp"][0][0].get<double>() == Approx(-0.1 * d));
    // verl's low_var_kl clamps the estimate at 10: d = 5 gives e^5 - 6 = 142.4 -> 10, no gradient.
    json far = {{"logp", {{-6.0}}}, {"ref_logp", {{-1.0}}}, {"advantages", {0}}};
    json lv = lab("clip", far, {{"beta", 1}, {"kl_estimator", "low_var_kl"}});
    CHECK(lv["loss"].get<double>() == Approx(10.0));
    CHECK(lv["gradient"]["logp"][0][0].get<double>() == 0.0);
    // d beyond [-20, 20] is clamped first: e^100 would overflow float (an infinite or NaN
    // gradient); d = -30 gives e^-20 + 19 -> 10 too.
    for (double dd : {100.0, -30.0}) {
      json out_of_range = {{"logp", {{-1.0}}}, {"ref_logp", {{-1.0 + dd}}}, {"advantages", {0}}};
      json clamped = lab("clip", out_of_range, {{"beta", 1}, {"kl_estimator", "low_var_kl"}});
      INFO("d = " << dd);
      CHECK(clamped["loss"].get<double>() == Approx(10.0));
      CHECK(clamped["gradient"]["logp"][0][0].get<double>() == 0.0);
    }
  }
  SECTION("CISPO at the sequence level: the completion's geometric-mean ratio as the weight") {
    // Row 0: s = sqrt(1.5 * 0.5) = 0.866 (under the cap 1.2), A = 1: each token -0.866 / 3
    // (token-mean over 3 tokens); row 1: s = 1.1, A = -1: 1.1 / 3.
    const json out = lab("cispo", ratio_batch(), {{"importance_sampling_level", "sequence"}});
    CHECK(out["gradient"]["logp"][0][0].get<double>() == Approx(-std::sqrt(0.75) / 3));
    CHECK(out["gradient"]["logp"][0][1].get<double>() == Approx(-std::sqrt(0.75) / 3));
    CHECK(out["gradient"]["logp"][1][0].get<double>() == Approx(1.1 / 3));
  }
  SECTION("GVPO") {
    // One group, G = 2: s = log pi/ref = (0.2, -0.1), rewards (1, 0), beta 0.1:
    // w = (0.5 - 0.1 * 0.15, -0.5 + 0.1 * 0.15) = (0.485, -0.485); L = (w1^2 + w2^2) / (2 (G - 1));
    // d L / d s_i = -beta w_i (the weights sum to 0).
    json in = {{"group_size", 2}, {"logp", {{-1.0, -1.0}, {-2.0}}}, {"ref_logp", {{-1.1, -1.1}, {-1.9}}}, {"rewards", {1, 0}}};
    const json out = lab("gvpo", in);
    CHECK(out["loss"].get<double>() == Approx(0.485 * 0.485));
    CHECK(out["gradient"]["logp"][0][1].get<double>() == Approx(-0.1 * 0.485));
    CHECK(out["gradient"]["logp"][1][0].get<double>() == Approx(0.1 * 0.485));
  }
  SECTION("GVPO with G = 3 and two groups: the 1 / (2 (G - 1)) constant and the mean over groups") {
    // s_i = log pi/ref of each completion (one token each), w_i = (r_i - mean r) - beta (s_i - mean s);
    // L = mean over groups of sum_i w_i^2 / (2 (G - 1)); d L / d s_i = -beta w_i / ((G - 1) P).
    const std::vector<double> s = {0.3, -0.1, 0.1, 0.0, 0.2, -0.4}, r = {1, 0, 0, 1, 1, 0};
    json logp = json::array(), ref = json::array();
    for (double si : s) logp.push_back({-1.0}), ref.push_back({-1.0 - si});
    json in = {{"group_size", 3}, {"logp", logp}, {"ref_logp", ref}, {"rewards", r}};
    const double beta = 0.1;
    const json out = lab("gvpo", in, {{"gvpo_beta", beta}});
    double loss = 0;
    for (int p = 0; p < 2; ++p) {
      double rm = 0, sm = 0;
      for (int i = 0; i < 3; ++i) rm += r[3 * p + i] / 3, sm += s[3 * p + i] / 3;
      for (int i = 0; i < 3; ++i) {
        const double w = (r[3 * p + i] - rm) - beta * (s[3 * p + i] - sm);
        loss += w * w / (2 * 2) / 2;
        INFO("completion " << 3 * p + i);
        CHECK(out["gradient"]["logp"][3 * p + i][0].get<double>() == Approx(-beta * w / (2 * 2)).margin(1e-7));
      }
    }
    CHECK(out["loss"].get<double>() == Approx(loss));
  }
  SECTION("A*-PO's V*: beta1 log mean exp(r / beta1)") {
    const float r[3] = {1.0f, 0.0f, 0.5f};
    CHECK(astar_value_star(r, 3, 0.5f) == Approx(0.5 * std::log((std::exp(2.0) + 1 + std::exp(1.0)) / 3)));
    // Large beta1: the mean reward; small: the largest (shifted, so no overflow at r / beta1 = 1000).
    CHECK(astar_value_star(r, 3, 1000.0f) == Approx(0.5).epsilon(1e-3));
    CHECK(astar_value_star(r, 3, 0.001f) == Approx(1.0 + 0.001 * std::log(1.0 / 3)).epsilon(1e-5));
  }
  SECTION("DisCO, ratio score and the KL trust region's squared hinge") {
    // Group of 2, rewards (1, 0): s = the mean token ratio to pi_old, e^0.1 and e^-0.2; one negative,
    // so J = s_pos - s_neg. KL = mean over tokens of old - logp = (-0.1 + 0.2) / 2 = 0.05, above
    // delta 1e-4: L = -J + 1000 (0.05 - 1e-4)^2; d/dlogp_pos = -e^0.1 - 1000 (0.05 - 1e-4),
    // d/dlogp_neg = e^-0.2 - 1000 (0.05 - 1e-4) (the hinge's 2 (KL - delta) times d KL = -1/2).
    json in = {{"group_size", 2}, {"logp", {{-0.9}, {-1.2}}}, {"old_logp", {{-1.0}, {-1.0}}}, {"rewards", {1, 0}}};
    const json out = lab("disco", in, {{"disco_score", "l_ratio"}});
    const double excess = 0.05 - 1e-4;
    CHECK(out["loss"].get<double>() == Approx(-(std::exp(0.1) - std::exp(-0.2)) + 1000 * excess * excess).epsilon(1e-5));
    CHECK(out["gradient"]["logp"][0][0].get<double>() == Approx(-std::exp(0.1) - 1000 * excess).epsilon(1e-5));
    CHECK(out["gradient"]["logp"][1][0].get<double>() == Approx(std::exp(-0.2) - 1000 * excess).epsilon(1e-5));
  }
  SECTION("REBEL") {
    // Pair: s = log pi/pi_old = (0.2, -0.1), rewards (1, 0), eta 1: (0.3 - 1)^2 = 0.49;
    // d/ds_a = 2 (0.3 - 1) = -1.4, d/ds_b = 1.4.
    json in = {{"group_size", 2}, {"logp", {{-1.0, -1.0}, {-2.0}}}, {"old_logp", {{-1.1, -1.1}, {-1.9}}}, {"rewards", {1, 0}}};
    const json out = lab("rebel", in);
    CHECK(out["loss"].get<double>() == Approx(0.49));
    CHECK(out["gradient"]["logp"][0][0].get<double>() == Approx(-1.4));
    CHECK(out["gradient"]["logp"][1][0].get<double>() == Approx(1.4));
  }
  SECTION("A*-PO") {
    // One completion: s = 0.5, beta 0.1, r = 1, V* = 0.6: (0.05 - 0.4)^2 = 0.1225; d/ds = 2 (-0.35) 0.1.
    json in = {{"logp", {{-1.0, -1.0}}}, {"ref_logp", {{-1.25, -1.25}}}, {"rewards", {1}}, {"value_star", {0.6}}};
    const json out = lab("astar_po", in);
    CHECK(out["loss"].get<double>() == Approx(0.1225));
    CHECK(out["gradient"]["logp"][0][0].get<double>() == Approx(-0.07));
  }
  SECTION("DisCO, log-likelihood score") {
    // Group of 3, rewards (1, 0, 0): one positive (s = -0.5), negatives s = -1, -2; tau = 1:
    // J = -0.5 - log((e^-1 + e^-2) / 2); L = -J (no drift from old: the hinge is 0).
    // d L / d s_pos = -1; d L / d s_neg = softmax over negatives.
    json in = {{"group_size", 3}, {"logp", {{-0.5}, {-1.0}, {-2.0}}}, {"rewards", {1, 0, 0}}};
    const json out = lab("disco", in, {{"disco_tau", 1}});
    const double e1 = std::exp(-1.0), e2 = std::exp(-2.0);
    CHECK(out["loss"].get<double>() == Approx(0.5 + std::log((e1 + e2) / 2)));
    CHECK(out["gradient"]["logp"][0][0].get<double>() == Approx(-1.0));
    CHECK(out["gradient"]["logp"][1][0].get<double>() == Approx(e1 / (e1 + e2)));
    CHECK(out["gradient"]["logp"][2][0].get<double>() == Approx(e2 / (e1 + e2)));
  }
  SECTION("masks: truncated completions and low-entropy tokens get no gradient") {
    json in = ratio_batch();
    in["truncated"] = {true, false};
    json out = lab("loss:gpg", in, {{"loss_agg_mode", "token-mean"}, {"mask_truncated_completions", true}});
    CHECK(out["gradient"]["logp"][0][0].get<double>() == 0.0);
    // TRL zeroes the truncated completion's mask, so token-mean divides by the 1 token left:
    // -A * 1 = 1 (it was 1/3 here, the truncated tokens counted).
    CHECK(out["gradient"]["logp"][1][0].get<double>() == Approx(1.0));
    CHECK(out["outputs"]["masked_tokens"] == 2);
    // The KL term (k1 = logp - ref_logp, beta 0.1) is masked with it: row 1 gets 1 + 0.1.
    in["ref_logp"] = in["logp"];
    out = lab("loss:gpg", in, {{"loss_agg_mode", "token-mean"}, {"mask_truncated_completions", true}, {"beta", 0.1}, {"kl_estimator", "k1"}});
    CHECK(out["gradient"]["logp"][0][0].get<double>() == 0.0);
    CHECK(out["gradient"]["logp"][0][1].get<double>() == 0.0);
    CHECK(out["gradient"]["logp"][1][0].get<double>() == Approx(1.1));
    in.erase("ref_logp");
    // Entropies (0.1, 2.0), (1.0); top third: the quantile at 2/3 is 1.0 + (2/3 * 2 - 1)(2.0 - 1.0) = 4/3.
    in.erase("truncated");
    in["entropy"] = {{0.1, 2.0}, {1.0}};
    out = lab("loss:gpg", in, {{"loss_agg_mode", "token-mean"}, {"top_entropy_quantile", 1.0 / 3}});
    CHECK(out["gradient"]["logp"][0][1].get<double>() == Approx(-1.0 / 3));
    CHECK(out["gradient"]["logp"][0][0].get<double>() == 0.0);
    CHECK(out["gradient"]["logp"][1][0].get<double>() == 0.0);
    // The entropy mask is on the policy term only: the KL term (k1, beta 0.1, weight 1/3) reaches
    // every token, as TRL adds beta * KL after masking the policy loss.
    in["ref_logp"] = in["logp"];
    out = lab("loss:gpg", in, {{"loss_agg_mode", "token-mean"}, {"top_entropy_quantile", 1.0 / 3}, {"beta", 0.1}, {"kl_estimator", "k1"}});
    CHECK(out["gradient"]["logp"][0][0].get<double>() == Approx(0.1 / 3));
    CHECK(out["gradient"]["logp"][0][1].get<double>() == Approx(-1.0 / 3 + 0.1 / 3));
    CHECK(out["gradient"]["logp"][1][0].get<double>() == Approx(0.1 / 3));
    // The quantile is over the tokens of completions that are not truncated: entropies (0.5, 2.0)
    // and a truncated (0.0), top half: the median of (0.5, 2.0) is 1.25, so the 0.5 token is out
    // (the median of all three, 0.5, kept it).
    in.erase("ref_logp");
    in["truncated"] = {false, true};
    in["entropy"] = {{0.5, 2.0}, {0.0}};
    out = lab("loss:gpg", in, {{"loss_agg_mode", "token-mean"}, {"top_entropy_quantile", 0.5}, {"mask_truncated_completions", true}});
    CHECK(out["gradient"]["logp"][0][0].get<double>() == 0.0);
    CHECK(out["gradient"]["logp"][0][1].get<double>() == Approx(-1.0 / 2));  // token-mean over the 2 kept tokens
    CHECK(out["gradient"]["logp"][1][0].get<double>() == 0.0);
    CHECK(out["outputs"]["masked_tokens"] == 2);
  }
}

TEST_CASE("The loss lab names what is wrong with its input", "[grpo][losses]") {
  CHECK_THAT(loss_lab_message("clipp", ratio_batch()), Catch::Contains("unknown estimator or loss 'clipp'"));
  CHECK_THAT(loss_lab_message("clip", ratio_batch(), {{"epsilonn", 1}}), Catch::Contains("epsilon"));
  // An option the loss does not read would change nothing: refused by name. The estimator's
  // options count only when the advantages come from the rewards.
  CHECK(loss_lab_message("loss:gpg", ratio_batch(), {{"epsilon", 0.3}}) ==
        "loss 'gpg' reads no option 'epsilon' with an 'advantages' column (its options: loss_agg_mode, beta, "
        "kl_estimator, mask_truncated_completions, top_entropy_quantile, max_completion_length)");
  CHECK_THAT(loss_lab_message("clip", ratio_batch(), {{"scale_rewards", "none"}}), Catch::Contains("reads no option 'scale_rewards'"));
  json from_rewards = ratio_batch();
  from_rewards.erase("advantages");
  from_rewards["rewards"] = {1, 0};
  CHECK(loss_lab_message("clip", from_rewards, {{"scale_rewards", "none"}}) == "no error");
  CHECK_THAT(loss_lab_message("clip", from_rewards, {{"gpg_alpha", "nonzero_rewards"}}), Catch::Contains("reads no option 'gpg_alpha'"));
  json bad = ratio_batch();
  bad["old_logp"] = {{-1}, {-1}};
  CHECK_THAT(loss_lab_message("clip", bad), Catch::Contains("column 'old_logp' completion 0 must have 2 tokens"));
  bad = ratio_batch();
  bad["logp"][1][0] = "x";
  CHECK_THAT(loss_lab_message("clip", bad), Catch::Contains("completion 1 has \"x\", not a finite number"));
  bad = ratio_batch();
  bad["logp"][1][0] = 1e39;  // finite as a double, infinite as the float the lab computes in
  CHECK_THAT(loss_lab_message("clip", bad), Catch::Contains("within float range"));
  bad = ratio_batch();
  bad["old_logp"][0][0] = -200;  // exp(logp - old_logp) overflows: no null result
  bad["advantages"] = {-1, -1};
  CHECK_THAT(loss_lab_message("clip", bad), Catch::Contains("is not finite (NaN or infinity) for this input"));
  CHECK_THAT(loss_lab_message("rloo", {{"rewards", {1, 0}}, {"lengths", {1.5, 2}}}), Catch::Contains("column 'lengths' entry 0 must be a whole number"));
  CHECK_THAT(loss_lab_message("clip", json::array({1, 2})), Catch::Contains("must be a JSON object of columns, got array"));
  bad = ratio_batch();
  bad["group_size"] = 3;
  CHECK_THAT(loss_lab_message("clip", bad), Catch::Contains("groups of group_size 3"));
  bad = ratio_batch();
  bad["reward"] = {1, 0};
  CHECK_THAT(loss_lab_message("clip", bad), Catch::Contains("unknown column 'reward'"));
  CHECK_THAT(loss_lab_message("astar_po", {{"logp", {{-1.0}}}, {"rewards", {1}}}), Catch::Contains("value_star"));
  CHECK_THAT(loss_lab_message("remax", {{"rewards", {1, 0}}}), Catch::Contains("baselines"));
  CHECK(loss_lab_message("grpo", {{"rewards", {1, 0}}, {"group_size", 2}}) == "no error");
  CHECK_THAT(loss_lab_message("gpg", {{"rewards", {1, 0}}}), Catch::Contains("say estimator:gpg or loss:gpg"));
  CHECK(loss_lab_message("estimator:gpg", {{"rewards", {1, 0}}}) == "no error");
}

TEST_CASE("DAPO's soft overlong punishment", "[grpo]") {
  // L_max 10, cache 4: free up to 6 tokens, then -1/4 per token, -1 at 10.
  CHECK(soft_overlong_penalty(6, 10, 4) == 0.0f);
  CHECK(soft_overlong_penalty(7, 10, 4) == Approx(-0.25));
  CHECK(soft_overlong_penalty(10, 10, 4) == Approx(-1.0));
  CHECK(soft_overlong_penalty(12, 10, 4) == -1.0f);
  CHECK(soft_overlong_penalty(12, 10, 0) == 0.0f);
}

namespace {
json tiny(const std::string& loss, const std::string& estimator, json extra = json::object()) {
  json c = {{"algo", "grpo"},        {"task", "addition"}, {"digits", 1},  {"max_steps", 20},  {"batch_size", 4},
            {"num_generations", 4},  {"d_model", 16},      {"n_heads", 2}, {"n_layers", 1},    {"d_mlp", 32},
            {"eval_interval", 5},    {"heldout_size", 8},  {"seed", 3},    {"policy_loss", loss},
            {"advantage_estimator", estimator}, {"num_iterations", 2}};
  for (auto it = extra.begin(); it != extra.end(); ++it) c[it.key()] = it.value();
  return c;
}
}  // namespace

TEST_CASE("Every estimator and loss trains in GRPO without allocating, and resumes exactly", "[grpo][alloc]") {
  const std::vector<json> configs = {
      tiny("clip", "rloo", {{"importance_sampling_level", "sequence"}, {"clip_ratio_c", 3}}),
      tiny("cispo", "reinforce_plus_plus", {{"epsilon_high", 4}}),
      tiny("gpg", "gpg", {{"mask_truncated_completions", true}, {"top_entropy_quantile", 0.2}}),
      tiny("gvpo", "grpo"),
      tiny("rebel", "opo", {{"beta", 0.05}, {"kl_estimator", "low_var_kl"}}),
      tiny("astar_po", "remax", {{"astar_ref_samples", 4}}),
      tiny("disco", "bnpo", {{"disco_score", "l_ratio"}}),
      tiny("clip", "grpo_passk", {{"beta", 0.1}, {"kl_in_reward", true}, {"delta", 4}}),
      tiny("clip", "reinforce_plus_plus_baseline", {{"loss_agg_mode", "seq-mean-token-sum-norm"}}),
      tiny("clip", "grpo", {{"dynamic_sampling", true}, {"soft_punish_cache", 2}, {"loss_agg_mode", "token-mean"}}),
      tiny("clip", "gae", {{"num_generations", 1}, {"batch_size", 8}, {"beta", 0.05}, {"kl_in_reward", true}, {"kl_estimator", "k1"}}),
      tiny("cispo", "gae", {{"num_generations", 2}, {"cliprange_value", 0.0}}),
      // Per-token returns with the KL in the reward (verl's outcome REINFORCE++ and ReMax).
      tiny("clip", "reinforce_plus_plus", {{"beta", 0.1}, {"kl_in_reward", true}, {"kl_estimator", "k1"}}),
      tiny("gpg", "remax", {{"beta", 0.1}, {"kl_in_reward", true}}),
  };
  for (const json& c : configs) {
    INFO(c.dump());
    Trainer t(validate_config(c));
    for (int i = 0; i < 3; ++i) CHECK(std::isfinite(t.step().policy_loss));
    allocation_counter::count = 0;
    allocation_counter::counting = true;
    for (int i = 0; i < 3; ++i) t.step();
    allocation_counter::counting = false;
    CHECK(allocation_counter::count == 0);
    auto u = Trainer::load_bytes(t.save_bytes());
    CHECK(t.step().policy_loss == u->step().policy_loss);
  }
  CHECK_THROWS_WITH(Trainer(validate_config(tiny("rebel", "grpo", {{"num_generations", 3}}))), Catch::Contains("even"));
  CHECK_THROWS_WITH(Trainer(validate_config(tiny("clip", "grpo", {{"num_generations", 1}}))),
                    "field 'num_generations': advantage_estimator 'grpo' compares completions of a prompt: needs at least 2, got 1");
  {  // A*-PO regresses each completion on its own V*: one completion per prompt, as in the paper.
    Trainer one(validate_config(tiny("astar_po", "grpo", {{"num_generations", 1}})));
    for (int i = 0; i < 2; ++i) CHECK(std::isfinite(one.step().policy_loss));
    // Dynamic sampling would drop every group of one (all have equal rewards).
    CHECK_THROWS_WITH(Trainer(validate_config(tiny("astar_po", "grpo", {{"num_generations", 1}, {"dynamic_sampling", true}}))),
                      Catch::StartsWith("field 'dynamic_sampling' drops the groups whose rewards are all equal"));
  }
  CHECK_THROWS_WITH(Trainer(validate_config(tiny("gvpo", "gae"))),
                    "advantage_estimator 'gae' gives per-token advantages: use policy_loss clip, cispo or gpg, not 'gvpo'");
  // kl_in_reward's per-token returns never reach a loss that regresses on the rewards.
  CHECK_THROWS_WITH(Trainer(validate_config(tiny("gvpo", "reinforce_plus_plus", {{"beta", 0.1}, {"kl_in_reward", true}}))),
                    Catch::StartsWith("field 'kl_in_reward': with advantage_estimator 'reinforce_plus_plus' the KL goes "
                                      "into per-token returns, which policy_loss 'gvpo' does not read"));
}

TEST_CASE("Per-token KL returns sit on the completion tokens the loss reads", "[grpo][estimators]") {
  // With beta 0 the per-token returns of kl_in_reward (verl's REINFORCE++ and ReMax) are each
  // completion's own advantage on every one of its tokens: the runs equal the per-completion ones
  // (REINFORCE++'s whitening over tokens is the token-weighted whitening of completions), so a token
  // layout off by a column, or a token left out, would show in the losses.
  for (const char* estimator : {"remax", "reinforce_plus_plus"}) {
    INFO(estimator);
    // Partial credit and a format reward: rewards that differ within a group from the first step.
    const json rewards = {{"reward_partial", 1.0}, {"reward_format", 0.5}};
    json with_kl = tiny("clip", estimator, rewards);
    with_kl["kl_in_reward"] = true;
    Trainer per_token(validate_config(with_kl));
    Trainer per_completion(validate_config(tiny("clip", estimator, rewards)));
    for (int i = 0; i < 3; ++i) {
      const double a = per_token.step().policy_loss, b = per_completion.step().policy_loss;
      CHECK(b != 0.0);  // the advantages are not all 0
      CHECK(a == Approx(b).epsilon(1e-5).margin(1e-7));
    }
  }
}

TEST_CASE("GAE over a completion's tokens and the whitening match hand-computed values", "[grpo][estimators]") {
  // Rewards 0, 0, 1 (the sequence's reward at its last token), V = 0.5, 0.2, 0.4, gamma 0.9, lambda 0.8:
  //   delta_2 = 1 - 0.4 = 0.6                     A_2 = 0.6                      R_2 = 1.0
  //   delta_1 = 0.9 * 0.4 - 0.2 = 0.16            A_1 = 0.16 + 0.72 * 0.6 = 0.592  R_1 = 0.792
  //   delta_0 = 0.9 * 0.2 - 0.5 = -0.32           A_0 = -0.32 + 0.72 * 0.592 = 0.10624  R_0 = 0.60624
  const float r[3] = {0, 0, 1}, v[3] = {0.5f, 0.2f, 0.4f};
  float a[3], ret[3];
  gae_advantages(r, v, 3, 0.9f, 0.8f, a, ret);
  CHECK(a[2] == Approx(0.6));
  CHECK(a[1] == Approx(0.592));
  CHECK(a[0] == Approx(0.10624));
  CHECK(ret[0] == Approx(0.60624));
  CHECK(ret[1] == Approx(0.792));
  CHECK(ret[2] == Approx(1.0));
  // gamma = lambda = 1: Monte-Carlo returns minus the value, A_k = sum_{j >= k} r_j - V_k.
  gae_advantages(r, v, 3, 1.0f, 1.0f, a, ret);
  CHECK(a[0] == Approx(0.5));
  CHECK(a[1] == Approx(0.8));
  CHECK(ret[0] == Approx(1.0));
  // lambda = 0: one-step TD errors.
  gae_advantages(r, v, 3, 0.9f, 0.0f, a, ret);
  CHECK(a[0] == Approx(-0.32));
  CHECK(a[1] == Approx(0.16));
  // kl_in_reward with reinforce_plus_plus / remax: reward 1, kl (0.5, 0.2, 0.1), beta 0.1: each
  // token's return is charged the KL from it on, 1 - 0.1 * (0.8, 0.3, 0.1); ReMax subtracts its
  // greedy baseline (0.5).
  const float kl[3] = {0.5f, 0.2f, 0.1f};
  kl_returns_to_go(1.0f, kl, 3, 0.1f, 0.0f, a);
  CHECK(a[0] == Approx(0.92));
  CHECK(a[1] == Approx(0.97));
  CHECK(a[2] == Approx(0.99));
  kl_returns_to_go(1.0f, kl, 3, 0.1f, 0.5f, a);
  CHECK(a[0] == Approx(0.42));
  CHECK(a[2] == Approx(0.49));
  // Whitening with Bessel's correction (TRL's and verl's masked_whiten): 1, 2, 3 -> -1, 0, 1.
  float w[3] = {1, 2, 3};
  whiten(w, 3);
  CHECK(w[0] == Approx(-1.0).epsilon(1e-6));
  CHECK(w[1] == Approx(0.0).margin(1e-7));
  CHECK(w[2] == Approx(1.0).epsilon(1e-6));
}

TEST_CASE("Dynamic sampling trains only on groups with signal while rounds remain", "[grpo]") {
  // Partial credit makes some groups of an untrained model differ; a step that stopped before
  // max_num_gen_batches rounds found batch_size groups with signal.
  Trainer t(validate_config(tiny("clip", "grpo", {{"dynamic_sampling", true}, {"max_num_gen_batches", 6},
                                                   {"reward_partial", 1.0}, {"reward_correct", 0.0}})));
  int early = 0;
  for (int i = 0; i < 8; ++i) {
    const Metrics& m = t.step();
    const double rounds = m.extra_named("sampling_rounds");
    CHECK(rounds >= 1);
    CHECK(rounds <= 6);
    if (rounds < 6) {
      ++early;
      CHECK(m.extra_named("zero_variance_groups") == 0.0);
    }
  }
  CHECK(early > 0);
}

TEST_CASE("GRPO shows its latest groups: completions with their rewards and advantages", "[grpo]") {
  Trainer t(validate_config(tiny("clip", "rloo", {{"reward_partial", 1.0}, {"reward_correct", 0.0}})));
  CHECK(t.sequence().recent_groups().empty());  // nothing sampled yet
  t.step();
  const json groups = t.sequence().recent_groups();
  REQUIRE(groups.size() == 4);
  for (const json& g : groups) {
    REQUIRE(g["completions"].size() == 4);
    CHECK(g["prompt"].get<std::string>().back() == '=');
    // RLOO: A_i = r_i - mean of the others, so the advantages of a group sum to 0 and follow the rewards.
    double sum = 0;
    for (const json& c : g["completions"]) sum += c["advantage"].get<double>();
    CHECK(sum == Approx(0.0).margin(1e-5));
    const json& a = g["completions"][0];
    const json& b = g["completions"][1];
    CHECK(a["advantage"].get<double>() - b["advantage"].get<double>() ==
          Approx((a["reward"].get<double>() - b["reward"].get<double>()) * 4.0 / 3.0).margin(1e-5));
  }
}

TEST_CASE("The token critic: its value loss is PPO's on hand values, and it fits fixed returns", "[grpo][estimators]") {
  TransformerSpec spec;
  spec.vocab = 6;
  spec.context = 6;
  spec.d_model = 16;
  spec.n_heads = 2;
  spec.n_layers = 1;
  spec.d_mlp = 32;
  Parameters policy;
  Transformer model(policy, spec);
  policy.finalize();
  Rng init(5);
  model.init(policy, init);
  const int R = 4, T = 5;
  std::vector<float> token_mean(static_cast<size_t>(R) * T, 0.0f);
  TokenCritic critic(spec, R, T, token_mean.data(), 1e-8);
  Rng head(6);
  critic.init_from(policy, head);
  Graph g;
  TokenBatch layout;
  layout.declare(g, R, T);
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) layout.set(r, t, T, (r + t) % spec.vocab, t, true, (r + t + 1) % spec.vocab);
  // Completion tokens: the last three positions of each row, token-mean weights.
  for (int r = 0; r < R; ++r)
    for (int t = 2; t < T; ++t) token_mean[static_cast<size_t>(r) * T + t] = 1.0f / (R * 3);
  critic.set_layout(layout, R, T);
  const float* v = critic.values();
  std::vector<float> v0(v, v + R * T);
  double expected = 0;
  for (int i = 0; i < R * T; ++i) {
    const float target = (i % 3 == 0) ? 1.0f : -0.5f;
    critic.returns()[i] = target;
    expected += 0.5 * token_mean[static_cast<size_t>(i)] * (v0[static_cast<size_t>(i)] - target) * (v0[static_cast<size_t>(i)] - target);
  }
  double clipped = -1;
  // At V = V_old the clipped and unclipped terms agree: L = 0.5 * sum w (V - R)^2 (reported without vf_coef).
  CHECK(critic.train(1e-2, 1.0, 0.1f, 0.2f, &clipped) == Approx(expected).epsilon(1e-5));
  CHECK(clipped == 0.0);
  // Fitting fixed returns (V_old refreshed each round, as at each sampling): the loss falls tenfold.
  double last = 0;
  for (int round = 0; round < 60; ++round) {
    critic.values();
    last = critic.train(1e-2, 1.0, 0.1f, 0.2f, &clipped);
  }
  INFO("value loss " << expected << " -> " << last);
  CHECK(last < 0.1 * expected);
  // A tiny clip range binds once the values move within a round: the clipped share is reported.
  critic.values();
  for (int i = 0; i < R * T; ++i) critic.returns()[i] = 5.0f;
  critic.train(1e-2, 1.0, 0.1f, 1e-4f, &clipped);
  critic.train(1e-2, 1.0, 0.1f, 1e-4f, &clipped);
  CHECK(clipped > 0.5);
}
