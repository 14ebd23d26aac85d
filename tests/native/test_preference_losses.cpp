// Preference losses (preference_losses.hpp) against numbers computed here, independently, in plain
// double arithmetic from each loss's formula, on a batch of three pairs; gradients with respect to
// the policy's log-probs against central finite differences of both that reference and the code.
// Evaluated through the loss lab (loss_lab.hpp), which builds the expressions the DPO trainer
// trains with; a few checks build the graph directly as the trainer does.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <numeric>

#include "core/algos/loss_lab.hpp"
#include "core/algos/preference_losses.hpp"
#include "gradcheck.hpp"
#include "lab_messages.hpp"

using namespace pl;

namespace {

// Three pairs: log-ratios lr_c = (0.5, -0.5, 0.7), lr_r = (-0.2, 0.4, -1.1), so the DPO margins
// h = (0.7, -0.9, 1.8); the policy's lp_c - lp_r = (1.0, -0.5, 3.9) and the reference's
// (0.3, 0.4, 2.1) (distinct, so sorting has no ties).
struct PairBatch {
  std::vector<double> lc = {-4.0, -6.5, -3.2}, lr = {-5.0, -6.0, -7.1};
  std::vector<double> rc = {-4.5, -6.0, -3.9}, rr = {-4.8, -6.4, -6.0};
  std::vector<double> nc = {4, 5, 3}, nr = {5, 6, 7};
  size_t size() const { return lc.size(); }
};

json to_json(const PairBatch& b) {
  return {{"chosen_logps", b.lc},   {"rejected_logps", b.lr},  {"ref_chosen_logps", b.rc},
          {"ref_rejected_logps", b.rr}, {"chosen_tokens", b.nc}, {"rejected_tokens", b.nr}};
}

double sig(double z) { return 1.0 / (1.0 + std::exp(-z)); }
double log_sig(double z) { return z >= 0 ? -std::log1p(std::exp(-z)) : z - std::log1p(std::exp(z)); }
double smoothed(double z, double eps) { return -(1 - eps) * log_sig(z) - eps * log_sig(-z); }

// The mean over pairs of f(pair index).
double mean_over(const PairBatch& b, const std::function<double(size_t)>& f) {
  double total = 0;
  for (size_t i = 0; i < b.size(); ++i) total += f(i);
  return total / static_cast<double>(b.size());
}
double chosen_nll(const PairBatch& b) {
  return -std::accumulate(b.lc.begin(), b.lc.end(), 0.0) / std::accumulate(b.nc.begin(), b.nc.end(), 0.0);
}
// mean_k f(sort(x)_k - sort(y)_k).
double sorted_mean(std::vector<double> x, std::vector<double> y, const std::function<double(double)>& f) {
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  double total = 0;
  for (size_t k = 0; k < x.size(); ++k) total += f(x[k] - y[k]);
  return total / static_cast<double>(x.size());
}

using Reference = std::function<double(const PairBatch&)>;

json lab(const std::string& name, const json& input, const json& options) { return evaluate_loss_lab(name, input, options); }

// The loss's value against the reference, and d loss / d chosen_logps, d rejected_logps against
// central differences of the reference (double, tight) and of the code itself (float).
// `extra` holds columns besides the batch's (bco_delta).
void check_pair_loss(const std::string& name, const json& options, const Reference& reference,
                     const json& extra = json::object(), const PairBatch& batch = PairBatch{}) {
  INFO("loss " << name << " options " << options.dump());
  auto input = [&](const PairBatch& b) {
    json in = to_json(b);
    in.update(extra);
    return in;
  };
  const json out = lab(name, input(batch), options);
  CHECK(out["loss"].get<double>() == Approx(reference(batch)).epsilon(1e-4).margin(1e-6));
  for (const char* side : {"chosen_logps", "rejected_logps"}) {
    for (size_t i = 0; i < batch.size(); ++i) {
      const double analytic = out["gradient"][side][i].get<double>();
      PairBatch b = batch;
      double& x = std::string(side) == "chosen_logps" ? b.lc[i] : b.lr[i];
      const double saved = x, h = 1e-5;
      x = saved + h;
      const double up = reference(b);
      x = saved - h;
      const double down = reference(b);
      x = saved;
      pl_test::check_close(analytic, (up - down) / (2 * h), name + " d/d " + side + "[" + std::to_string(i) + "] vs reference",
                           1e-3, 1e-5);
      std::vector<float> column(batch.size());
      for (size_t j = 0; j < batch.size(); ++j)
        column[j] = static_cast<float>(std::string(side) == "chosen_logps" ? batch.lc[j] : batch.lr[j]);
      const double numeric = pl_test::central_difference(
          [&] {
            json in = input(batch);
            in[side] = column;
            return lab(name, in, options)["loss"].get<double>();
          },
          &column[i], 1e-2);
      pl_test::check_close(analytic, numeric, name + " d/d " + side + "[" + std::to_string(i) + "] vs the code's");
    }
  }
}

double lr_c(const PairBatch& b, size_t i) { return b.lc[i] - b.rc[i]; }
double lr_r(const PairBatch& b, size_t i) { return b.lr[i] - b.rr[i]; }
double dpo_h(const PairBatch& b, size_t i) { return lr_c(b, i) - lr_r(b, i); }

const double kBeta = 0.5;

}  // namespace

TEST_CASE("Every DPO-family pair loss: value and gradient", "[preference]") {
  const double beta = kBeta, eps = 0.1;
  const json base = {{"beta", beta}};
  SECTION("sigmoid (DPO) and conservative DPO") {
    check_pair_loss("sigmoid", base, [&](const PairBatch& b) { return mean_over(b, [&](size_t i) { return -log_sig(beta * dpo_h(b, i)); }); });
    check_pair_loss("sigmoid", {{"beta", beta}, {"label_smoothing", eps}},
                    [&](const PairBatch& b) { return mean_over(b, [&](size_t i) { return smoothed(beta * dpo_h(b, i), eps); }); });
  }
  SECTION("hinge (SLiC)") {
    check_pair_loss("hinge", base, [&](const PairBatch& b) {
      return mean_over(b, [&](size_t i) { return std::max(0.0, 1 - beta * dpo_h(b, i)); });
    });
  }
  SECTION("ipo, per-token averaged log-ratios as TRL") {
    check_pair_loss("ipo", base, [&](const PairBatch& b) {
      return mean_over(b, [&](size_t i) {
        const double d = lr_c(b, i) / b.nc[i] - lr_r(b, i) / b.nr[i] - 1 / (2 * beta);
        return d * d;
      });
    });
  }
  SECTION("exo_pair") {
    check_pair_loss("exo_pair", {{"beta", beta}, {"label_smoothing", eps}}, [&](const PairBatch& b) {
      return mean_over(b, [&](size_t i) {
        const double z = beta * dpo_h(b, i);
        return sig(z) * (log_sig(z) - std::log(1 - eps)) + sig(-z) * (log_sig(-z) - std::log(eps));
      });
    });
  }
  SECTION("nca_pair") {
    check_pair_loss("nca_pair", base, [&](const PairBatch& b) {
      return mean_over(b, [&](size_t i) {
        const double c = beta * lr_c(b, i), r = beta * lr_r(b, i);
        return -log_sig(c) - 0.5 * log_sig(-c) - 0.5 * log_sig(-r);
      });
    });
  }
  SECTION("robust") {
    check_pair_loss("robust", {{"beta", beta}, {"label_smoothing", eps}}, [&](const PairBatch& b) {
      return mean_over(b, [&](size_t i) {
        const double z = beta * dpo_h(b, i);
        return (-(1 - eps) * log_sig(z) + eps * log_sig(-z)) / (1 - 2 * eps);
      });
    });
  }
  SECTION("bco_pair, delta given and delta from the batch") {
    auto bco = [&](double delta) {
      return [=](const PairBatch& b) {
        return mean_over(b, [&](size_t i) { return -log_sig(beta * lr_c(b, i) - delta) - log_sig(-(beta * lr_r(b, i) - delta)); });
      };
    };
    json in = to_json(PairBatch{});
    in["bco_delta"] = 0.05;
    const json out = lab("bco_pair", in, base);
    CHECK(out["loss"].get<double>() == Approx(bco(0.05)(PairBatch{})).epsilon(1e-5));
    CHECK(out["gradient"]["chosen_logps"][0].get<double>() ==
          Approx(-beta * (1 - sig(beta * 0.5 - 0.05)) / 3).epsilon(1e-4));
    // Without the column: delta 0 (TRL 1.x).
    const json plain = lab("bco_pair", to_json(PairBatch{}), base);
    CHECK(plain["outputs"]["bco_delta"].get<double>() == 0.0);
    CHECK(plain["loss"].get<double>() == Approx(bco(0.0)(PairBatch{})).epsilon(1e-5));
    // bco_running_mean (TRL 0.x), first batch: this batch's mean reward beta * mean(lr_c and lr_r)
    // = 0.5 * (0.7 - 0.9) / 6, with no gradient through it.
    json running = base;
    running["bco_running_mean"] = true;
    const double batch_mean = beta * (0.5 - 0.5 + 0.7 - 0.2 + 0.4 - 1.1) / 6;
    const json first = lab("bco_pair", to_json(PairBatch{}), running);
    CHECK(first["outputs"]["bco_delta"].get<double>() == Approx(batch_mean));
    CHECK(first["outputs"]["reward_mean"].get<double>() == Approx(batch_mean));
    CHECK(first["loss"].get<double>() == Approx(bco(batch_mean)(PairBatch{})).epsilon(1e-5));
    CHECK(first["gradient"]["chosen_logps"][0].get<double>() ==
          Approx(-beta * (1 - sig(beta * 0.5 - batch_mean)) / 3).epsilon(1e-4));
    // A column is the running mean then (this batch not added).
    CHECK(lab("bco_pair", in, running)["loss"].get<double>() == Approx(bco(0.05)(PairBatch{})).epsilon(1e-5));
    check_pair_loss("bco_pair", base, bco(-0.2), {{"bco_delta", -0.2}});
  }
  SECTION("sppo_hard") {
    check_pair_loss("sppo_hard", base, [&](const PairBatch& b) {
      return mean_over(b, [&](size_t i) {
        const double c = lr_c(b, i) - 0.5 / beta, r = lr_r(b, i) + 0.5 / beta;
        return c * c + r * r;
      });
    });
  }
  SECTION("aot and aot_pair sort over the batch") {
    check_pair_loss("aot", {{"beta", beta}, {"label_smoothing", eps}}, [&](const PairBatch& b) {
      std::vector<double> pol, ref;
      for (size_t i = 0; i < b.size(); ++i) pol.push_back(b.lc[i] - b.lr[i]), ref.push_back(b.rc[i] - b.rr[i]);
      return sorted_mean(pol, ref, [&](double d) { return smoothed(beta * d, eps); });
    });
    const Reference unpaired = [&](const PairBatch& b) {
      std::vector<double> c, r;
      for (size_t i = 0; i < b.size(); ++i) c.push_back(lr_c(b, i)), r.push_back(lr_r(b, i));
      return sorted_mean(c, r, [&](double d) { return smoothed(beta * d, 0.0); });
    };
    check_pair_loss("aot_pair", base, unpaired);
    // TRL 1.x's name for the same loss.
    CHECK(lab("aot_unpaired", to_json(PairBatch{}), base)["loss"].get<double>() == Approx(unpaired(PairBatch{})));
    // Sorted, not paired: (lr_c sorted) - (lr_r sorted) = (-0.5 + 1.1, 0.5 + 0.2, 0.7 - 0.4).
    CHECK(unpaired(PairBatch{}) == Approx((-log_sig(0.3) - log_sig(0.35) - log_sig(0.15)) / 3));
  }
  SECTION("aot with tied margins: the sorted values, gradients shared") {
    PairBatch tied;
    tied.lc = {-4.0, -4.0, -3.0};
    tied.lr = {-5.0, -5.0, -6.0};  // policy margins (1, 1, 3): a tie
    const json out = lab("aot", to_json(tied), base);
    std::vector<double> pol = {1, 1, 3}, ref;
    for (size_t i = 0; i < 3; ++i) ref.push_back(tied.rc[i] - tied.rr[i]);
    CHECK(out["loss"].get<double>() == Approx(sorted_mean(pol, ref, [&](double d) { return -log_sig(beta * d); })));
    // The two tied entries hold sorted positions 0 and 1 (partners 0.3 and 0.4) and share them.
    const double shared = (-beta * sig(-beta * (1 - 0.3)) - beta * sig(-beta * (1 - 0.4))) / 2 / 3;
    CHECK(out["gradient"]["chosen_logps"][0].get<double>() == Approx(shared));
    CHECK(out["gradient"]["chosen_logps"][1].get<double>() == Approx(shared));
  }
  SECTION("apo_zero and apo_down") {
    check_pair_loss("apo_zero", base, [&](const PairBatch& b) {
      return mean_over(b, [&](size_t i) { return 1 - sig(beta * lr_c(b, i)) + sig(beta * lr_r(b, i)); });
    });
    check_pair_loss("apo_down", base, [&](const PairBatch& b) {
      return mean_over(b, [&](size_t i) { return sig(beta * lr_c(b, i)) + 1 - sig(beta * dpo_h(b, i)); });
    });
  }
  SECTION("discopop") {
    const double tau = 0.5;
    check_pair_loss("discopop", {{"beta", beta}, {"discopop_tau", tau}}, [&](const PairBatch& b) {
      return mean_over(b, [&](size_t i) {
        const double z = beta * dpo_h(b, i), m = sig(z / tau);
        return (1 - m) * -log_sig(z) + m * std::exp(-z);
      });
    });
  }
  SECTION("sigmoid_norm") {
    check_pair_loss("sigmoid_norm", base, [&](const PairBatch& b) {
      return mean_over(b, [&](size_t i) { return -log_sig(beta * (lr_c(b, i) / b.nc[i] - lr_r(b, i) / b.nr[i])); });
    });
  }
  SECTION("sft: the chosen's NLL per token over the batch") {
    check_pair_loss("sft", base, chosen_nll);
    // 13.7 nats over 12 tokens.
    CHECK(chosen_nll(PairBatch{}) == Approx(13.7 / 12));
  }
  SECTION("simpo, cpo, orpo: reference-free") {
    const double gamma = 0.3, cpo_alpha = 0.7;
    check_pair_loss("simpo", {{"beta", beta}, {"simpo_gamma", gamma}}, [&](const PairBatch& b) {
      return mean_over(b, [&](size_t i) { return -log_sig(beta * (b.lc[i] / b.nc[i] - b.lr[i] / b.nr[i]) - gamma); });
    });
    check_pair_loss("cpo", {{"beta", beta}, {"cpo_alpha", cpo_alpha}, {"label_smoothing", eps}}, [&](const PairBatch& b) {
      return mean_over(b, [&](size_t i) { return smoothed(beta * (b.lc[i] - b.lr[i]), eps); }) + cpo_alpha * chosen_nll(b);
    });
    check_pair_loss("orpo", base, [&](const PairBatch& b) {
      auto log_odds = [](double a) { return a - std::log(1 - std::exp(a)); };
      return mean_over(b, [&](size_t i) {
               return -beta * log_sig(log_odds(b.lc[i] / b.nc[i]) - log_odds(b.lr[i] / b.nr[i]));
             }) + chosen_nll(b);
    });
    // Completions of probability near 1: mean log-probs -1e-9 and -1e-8, where 1 - e^a is 0 in
    // float. The log odds a - log(1 - e^a) differ by log 10 = 2.3026 (log(1 - e^a) ~ log(-a));
    // clamping 1 - e^a (as before) made them equal.
    PairBatch sure;
    sure.lc = {-4e-9};
    sure.lr = {-5e-8};
    sure.rc = {-1.0};
    sure.rr = {-1.0};
    sure.nc = {4};
    sure.nr = {5};
    const json orpo = lab("orpo", to_json(sure), base);
    auto log_odds = [](double a) { return a - std::log(-std::expm1(a)); };
    CHECK(log_odds(-1e-9) - log_odds(-1e-8) == Approx(std::log(10.0)).epsilon(1e-6));
    CHECK(orpo["loss"].get<double>() ==
          Approx(-beta * log_sig(log_odds(-1e-9) - log_odds(-1e-8)) + chosen_nll(sure)).epsilon(1e-5));
    // The reference columns are not needed.
    json in = to_json(PairBatch{});
    in.erase("ref_chosen_logps");
    in.erase("ref_rejected_logps");
    CHECK_NOTHROW(lab("simpo", in, base));
    CHECK_NOTHROW(lab("orpo", in, base));
  }
  SECTION("f-DPO: the scores of each side") {
    check_pair_loss("sigmoid", {{"beta", beta}, {"f_divergence_type", "forward_kl"}}, [&](const PairBatch& b) {
      return mean_over(b, [&](size_t i) { return -log_sig(beta * (-std::exp(-lr_c(b, i)) + std::exp(-lr_r(b, i)))); });
    });
    check_pair_loss("sigmoid", {{"beta", beta}, {"f_divergence_type", "js_divergence"}}, [&](const PairBatch& b) {
      return mean_over(b, [&](size_t i) { return -log_sig(beta * (log_sig(lr_c(b, i)) - log_sig(lr_r(b, i)))); });
    });
    const double a = 0.5;
    check_pair_loss("sigmoid", {{"beta", beta}, {"f_divergence_type", "alpha_divergence"}, {"f_alpha_divergence_coef", a}},
                    [&](const PairBatch& b) {
                      return mean_over(b, [&](size_t i) {
                        const double sc = std::exp((a - 1) * lr_c(b, i)) / (a - 1), sr = std::exp((a - 1) * lr_r(b, i)) / (a - 1);
                        return -log_sig(beta * (sc - sr));
                      });
                    });
    // alpha = 1 is reverse_kl (DPO).
    const json dpo = lab("sigmoid", to_json(PairBatch{}), base);
    CHECK(lab("sigmoid", to_json(PairBatch{}), {{"beta", beta}, {"f_divergence_type", "alpha_divergence"}, {"f_alpha_divergence_coef", 1.0}})["loss"]
              .get<double>() == Approx(dpo["loss"].get<double>()));
  }
  SECTION("reference_free: the reference's log-probs are 0") {
    check_pair_loss("sigmoid", {{"beta", beta}, {"reference_free", true}}, [&](const PairBatch& b) {
      return mean_over(b, [&](size_t i) { return -log_sig(beta * (b.lc[i] - b.lr[i])); });
    });
  }
  SECTION("RPO: rpo_alpha adds the sft term") {
    check_pair_loss("sigmoid", {{"beta", beta}, {"rpo_alpha", 0.4}}, [&](const PairBatch& b) {
      return mean_over(b, [&](size_t i) { return -log_sig(beta * dpo_h(b, i)); }) + 0.4 * chosen_nll(b);
    });
  }
}

TEST_CASE("Combined loss types are the weighted sum of their terms", "[preference]") {
  const json in = to_json(PairBatch{});
  const json opt = {{"beta", kBeta}, {"loss_weights", "1, 0.5"}};
  const json combined = lab("sigmoid,sft", in, opt);
  const json sigmoid = lab("sigmoid", in, {{"beta", kBeta}});
  const json sft = lab("sft", in, {{"beta", kBeta}});
  CHECK(combined["loss"].get<double>() == Approx(sigmoid["loss"].get<double>() + 0.5 * sft["loss"].get<double>()));
  for (size_t i = 0; i < 3; ++i) {
    CHECK(combined["gradient"]["chosen_logps"][i].get<double>() ==
          Approx(sigmoid["gradient"]["chosen_logps"][i].get<double>() + 0.5 * sft["gradient"]["chosen_logps"][i].get<double>()));
    CHECK(combined["gradient"]["rejected_logps"][i].get<double>() == Approx(sigmoid["gradient"]["rejected_logps"][i].get<double>()));
  }
  // By hand: the sft term's gradient is -1 / (sum of chosen tokens) = -1/12 on each chosen log-prob.
  CHECK(sft["gradient"]["chosen_logps"][1].get<double>() == Approx(-1.0 / 12));
  // RPO as rpo_alpha is the same loss.
  CHECK(lab("sigmoid", in, {{"beta", kBeta}, {"rpo_alpha", 0.5}})["loss"].get<double>() == Approx(combined["loss"].get<double>()));
  // Three terms, weights read in order.
  const json three = lab("hinge,ipo,sft", in, {{"beta", kBeta}, {"loss_weights", "2,0,1"}});
  CHECK(three["loss"].get<double>() ==
        Approx(2 * lab("hinge", in, {{"beta", kBeta}})["loss"].get<double>() + sft["loss"].get<double>()));
}

TEST_CASE("Pair loss outputs: rewards, margin, accuracy", "[preference]") {
  // beta = 0.5: chosen rewards 0.5 lr_c = (0.25, -0.25, 0.35), rejected 0.5 lr_r = (-0.1, 0.2, -0.55);
  // the second pair is ranked wrong: accuracy 2/3; margin mean(0.35, -0.45, 0.9) = 0.8 / 3.
  const json out = lab("sigmoid", to_json(PairBatch{}), {{"beta", kBeta}});
  const std::vector<double> chosen = {0.25, -0.25, 0.35}, rejected = {-0.1, 0.2, -0.55};
  for (size_t i = 0; i < 3; ++i) {
    CHECK(out["outputs"]["chosen_rewards"][i].get<double>() == Approx(chosen[i]));
    CHECK(out["outputs"]["rejected_rewards"][i].get<double>() == Approx(rejected[i]));
  }
  CHECK(out["outputs"]["accuracy"].get<double>() == Approx(2.0 / 3));
  CHECK(out["outputs"]["margin"].get<double>() == Approx(0.8 / 3));
  CHECK(out["outputs"]["reward_mean"].get<double>() == Approx((0.35 - 0.45) / 6));
  // SimPO's rewards are beta times the average log-prob: 0.5 * (-4/4, -6.5/5, -3.2/3) vs (-5/5, -6/6, -7.1/7).
  const json simpo = lab("simpo", to_json(PairBatch{}), {{"beta", kBeta}});
  CHECK(simpo["outputs"]["chosen_rewards"][1].get<double>() == Approx(0.5 * -1.3));
  CHECK(simpo["outputs"]["rejected_rewards"][2].get<double>() == Approx(0.5 * -7.1 / 7));
  // -1 vs -1 (not greater), -1.3 vs -1, -1.0667 vs -1.0143: no pair is ranked right.
  CHECK(simpo["outputs"]["accuracy"].get<double>() == 0.0);
}

TEST_CASE("The pair-loss API as the DPO trainer uses it", "[preference]") {
  const PairBatch b;
  std::vector<float> lc(b.lc.begin(), b.lc.end()), lr(b.lr.begin(), b.lr.end()), rc(b.rc.begin(), b.rc.end()),
      rr(b.rr.begin(), b.rr.end()), nc(b.nc.begin(), b.nc.end()), nr(b.nr.begin(), b.nr.end());
  Graph g;
  const Dim P = g.dim(g.size_var("pairs", 3));
  PairLossInputs in{g.input("chosen_logps", {P}),     g.input("rejected_logps", {P}),
                    g.input("ref_chosen_logps", {P}), g.input("ref_rejected_logps", {P}),
                    g.input("chosen_tokens", {P}),    g.input("rejected_tokens", {P})};
  json values = {{"loss_type", "sigmoid"}, {"beta", 0.5}};  // the rest take their defaults
  const PairLossOutputs out = build_pair_loss(g, in, values);
  for (auto [e, data] : {std::pair<Expr, float*>{in.chosen_logps, lc.data()}, {in.rejected_logps, lr.data()},
                         {in.ref_chosen_logps, rc.data()}, {in.ref_rejected_logps, rr.data()},
                         {in.chosen_tokens, nc.data()}, {in.rejected_tokens, nr.data()}})
    g.bind(e, data);
  g.forward();
  auto dpo = [&](double beta) { return mean_over(b, [&](size_t i) { return -log_sig(beta * dpo_h(b, i)); }); };
  CHECK(g.output("loss") == Approx(dpo(0.5)));
  CHECK(g.output("accuracy") == Approx(2.0 / 3));
  CHECK(g.output("chosen_rewards") == Approx((0.25 - 0.25 + 0.35) / 3));
  CHECK(g.scalar(out.margin) == Approx(0.8 / 3));
  // beta changes live.
  values["beta"] = 2.0;
  set_preference_loss_params(g, values);
  g.forward();
  CHECK(g.output("loss") == Approx(dpo(2.0)));
  CHECK(preference_loss_needs_reference(values));
  CHECK_FALSE(preference_loss_needs_reference({{"loss_type", "simpo"}}));
  CHECK_FALSE(preference_loss_needs_reference({{"loss_type", "sigmoid"}, {"reference_free", true}}));
  CHECK(preference_loss_needs_reference({{"loss_type", "simpo,sigmoid"}}));
  CHECK(preference_loss_needs_tokens({{"loss_type", "sigmoid"}, {"rpo_alpha", 1.0}}));
  CHECK_FALSE(preference_loss_needs_tokens({{"loss_type", "sigmoid"}}));
  // BCO's running mean: one count per batch.
  BcoRunningMean running;
  CHECK(running.update(0.2) == Approx(0.2));
  CHECK(running.update(-0.4) == Approx(-0.1));
  CHECK(running.update(0.5) == Approx(0.1));
}

TEST_CASE("Bad loss_type, weights and options are ConfigErrors naming them", "[preference]") {
  auto message = [](const json& values) {
    try {
      preference_loss_terms(values);
      Graph g;
      const Dim P = g.dim(g.size_var("pairs", 2));
      PairLossInputs in{g.input("a", {P}), g.input("b", {P}), g.input("c", {P}), g.input("d", {P}), g.input("e", {P}), g.input("f", {P})};
      build_pair_loss(g, in, values);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(message({{"loss_type", "sigmod"}}), Catch::Contains("unknown loss 'sigmod'"));
  CHECK_THAT(message({{"loss_type", "sigmoid,sfft"}}), Catch::Contains("unknown loss 'sfft' (entry 2 of 'sigmoid,sfft')"));
  CHECK_THAT(message({{"loss_type", "sigmoid,sft"}, {"loss_weights", "1"}}), Catch::Contains("one weight per loss_type entry (2)"));
  CHECK_THAT(message({{"loss_type", "sigmoid,sft"}, {"loss_weights", "1,x"}}), Catch::Contains("entry 2 'x' is not a number"));
  CHECK_THAT(message({{"loss_type", "exo_pair"}}), Catch::Contains("exo_pair' needs label_smoothing > 0"));
  CHECK_THAT(message({{"loss_type", "robust"}, {"label_smoothing", 0.5}}), Catch::Contains("robust' needs label_smoothing < 0.5"));
  CHECK(message({{"loss_type", "sigmoid, sft"}, {"loss_weights", "1, 0.1"}}) == "no error");
  // A loss that reads an input the caller left out names it; one that does not read it builds.
  auto build_policy_only = [](const json& values) {
    Graph g;
    const Dim P = g.dim(g.size_var("pairs", 2));
    PairLossInputs policy_only{g.input("a", {P}), g.input("b", {P}), {}, {}, {}, {}};
    build_pair_loss(g, policy_only, values);
  };
  CHECK_THROWS_WITH(build_policy_only({{"loss_type", "sigmoid"}}), Catch::Contains("ref_chosen_logps"));
  CHECK_THROWS_WITH(build_policy_only({{"loss_type", "simpo"}}), Catch::Contains("chosen_tokens"));
  CHECK_NOTHROW(build_policy_only({{"loss_type", "sigmoid"}, {"reference_free", true}}));
}

TEST_CASE("KTO and APO-zero unpaired: value and gradient", "[preference]") {
  // Four examples: lr = logp - ref = (0.4, -0.4, 0, 0.5), desirable (1, 0, 1, 0).
  const std::vector<double> logps = {-3.0, -5.0, -2.5, -4.0}, ref = {-3.4, -4.6, -2.5, -4.5};
  const std::vector<int> desirable = {1, 0, 1, 0};
  const double beta = 0.5, w_d = 1.0, w_u = 1.5, z0 = 0.15;
  auto kto = [&](const std::vector<double>& lp, double kl) {
    double total = 0;
    for (size_t i = 0; i < lp.size(); ++i) {
      const double r = lp[i] - ref[i];
      total += desirable[i] ? w_d * (1 - sig(beta * (r - kl))) : w_u * (1 - sig(beta * (kl - r)));
    }
    return total / static_cast<double>(lp.size());
  };
  auto apo = [&](const std::vector<double>& lp, double) {
    double total = 0;
    for (size_t i = 0; i < lp.size(); ++i) {
      const double r = lp[i] - ref[i];
      total += desirable[i] ? w_d * (1 - sig(beta * r)) : w_u * sig(beta * r);
    }
    return total / static_cast<double>(lp.size());
  };
  const json options = {{"beta", beta}, {"desirable_weight", w_d}, {"undesirable_weight", w_u}};
  for (auto [name, reference] : {std::pair<std::string, std::function<double(const std::vector<double>&, double)>>{"kto", kto},
                                 {"apo_zero_unpaired", apo}}) {
    INFO(name);
    json in = {{"logps", logps}, {"ref_logps", ref}, {"desirable", {true, false, true, false}}, {"kl", z0}};
    const json out = lab(name, in, options);
    CHECK(out["loss"].get<double>() == Approx(reference(logps, z0)).epsilon(1e-5));
    std::vector<float> column(logps.begin(), logps.end());
    for (size_t i = 0; i < logps.size(); ++i) {
      std::vector<double> lp = logps;
      lp[i] += 1e-5;
      const double up = reference(lp, z0);
      lp[i] -= 2e-5;
      const double down = reference(lp, z0);
      const double analytic = out["gradient"]["logps"][i].get<double>();
      pl_test::check_close(analytic, (up - down) / 2e-5, name + " d/d logps vs reference", 1e-3, 1e-6);
      const double numeric = pl_test::central_difference(
          [&] {
            json perturbed = in;
            perturbed["logps"] = column;
            return lab(name, perturbed, options)["loss"].get<double>();
          },
          &column[i], 1e-2);
      pl_test::check_close(analytic, numeric, name + " d/d logps vs the code's");
    }
    // Rewards: 0.5 lr; desirable mean (0.2 + 0) / 2, undesirable (-0.2 + 0.25) / 2.
    CHECK(out["outputs"]["chosen_rewards"].get<double>() == Approx(0.1));
    CHECK(out["outputs"]["rejected_rewards"].get<double>() == Approx(0.025));
    CHECK(out["outputs"]["margin"].get<double>() == Approx(0.075));
  }
  // The reference point is clamped at 0, as TRL does; 1/0 labels read like booleans.
  json negative = {{"logps", logps}, {"ref_logps", ref}, {"desirable", {1, 0, 1, 0}}, {"kl", -0.3}};
  const json clamped = lab("kto", negative, options);
  CHECK(clamped["loss"].get<double>() == Approx(kto(logps, 0.0)).epsilon(1e-5));
  CHECK(clamped["outputs"]["kl"].get<double>() == 0.0);
  // TRL's estimate from mismatched completions: max(0, mean(logp - ref)).
  const float mismatched[3] = {-3.0f, -2.0f, -4.0f}, ref_mismatched[3] = {-3.3f, -2.6f, -3.6f};
  CHECK(kto_reference_point(mismatched, ref_mismatched, 3) == Approx((0.3 + 0.6 - 0.4) / 3));
  const float below[1] = {-3.0f}, ref_above[1] = {-2.0f};
  CHECK(kto_reference_point(below, ref_above, 1) == 0.0f);
}

TEST_CASE("The loss lab names what is wrong with preference input", "[preference][loss_lab]") {
  const json good = to_json(PairBatch{});
  json bad = good;
  bad.erase("ref_rejected_logps");
  CHECK_THAT(loss_lab_message("sigmoid", bad), Catch::Contains("loss 'sigmoid' needs the column 'ref_rejected_logps'"));
  bad = good;
  bad["rejected_logps"] = {-1.0, -2.0};
  CHECK_THAT(loss_lab_message("sigmoid", bad), Catch::Contains("column 'rejected_logps' must have 3 entries (one per pair), got 2"));
  bad = good;
  bad.erase("chosen_tokens");
  CHECK_THAT(loss_lab_message("ipo", bad), Catch::Contains("needs the column 'chosen_tokens'"));
  CHECK(loss_lab_message("sigmoid", bad) == "no error");  // sigmoid reads no token counts
  bad = good;
  bad["chosen_tokens"][0] = 0;
  CHECK_THAT(loss_lab_message("ipo", bad), Catch::Contains("'chosen_tokens' entry 0 must be at least 1"));
  bad = good;
  bad["chosen"] = {1, 2, 3};
  CHECK_THAT(loss_lab_message("sigmoid", bad), Catch::Contains("unknown column 'chosen' for pair losses"));
  CHECK_THAT(loss_lab_message("sigmoid", good, {{"beta", 0}}), Catch::Contains("field 'beta' must be a float in [0.0001, 100]"));
  CHECK_THAT(loss_lab_message("sigmoid", good, {{"loss_type", "ipo"}}), Catch::Contains("no field 'loss_type'"));
  CHECK_THAT(loss_lab_message("sigmoid,sft", good, {{"loss_weights", "1"}}), Catch::Contains("one weight per loss_type entry"));
  CHECK_THAT(loss_lab_message("exo_pair", good), Catch::Contains("label_smoothing > 0"));
  CHECK_THAT(loss_lab_message("sigmoidd", good), Catch::Contains("unknown estimator or loss 'sigmoidd'"));
  CHECK_THAT(loss_lab_message("sigmoidd", good), Catch::Contains("apo_zero"));
  CHECK_THAT(loss_lab_message("kto", {{"logps", {-1.0}}, {"ref_logps", {-1.0}}, {"desirable", {1}}}), Catch::Contains("needs the column 'kl'"));
  CHECK_THAT(loss_lab_message("kto", {{"logps", {-1.0}}, {"ref_logps", {-1.0}}, {"desirable", {2}}, {"kl", 0}}),
             Catch::Contains("'desirable' entry 0 must be true/false or 1/0"));
  CHECK(loss_lab_message("apo_zero_unpaired", {{"logps", {-1.0}}, {"ref_logps", {-1.0}}, {"desirable", {1}}}) == "no error");
}

TEST_CASE("The loss lab lists every preference loss with its columns and options", "[preference][loss_lab]") {
  const json catalog = loss_lab_catalog();
  std::vector<std::string> names;
  for (const json& l : catalog["preference_losses"]) {
    names.push_back(l["name"]);
    CHECK(l["inputs"].size() >= 2);
  }
  for (const char* expected : {"sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard", "aot",
                               "aot_pair", "apo_zero", "apo_down", "discopop", "sigmoid_norm", "sft", "simpo", "cpo", "orpo"})
    CHECK(std::find(names.begin(), names.end(), expected) != names.end());
  CHECK(catalog["unpaired_losses"].size() == 2);
  CHECK(catalog["unpaired_losses"][0]["inputs"] == json({"logps", "ref_logps", "desirable", "kl"}));
}
