// The DPO family of preference losses (TRL's DPOTrainer loss_type table), the reference-free ones
// of TRL's CPOTrainer and ORPOTrainer, and KTO's unpaired loss. Each formula is written at its
// definition with its paper; where TRL and the paper differ, the comment says which we follow and
// which option gives the other. "TRL" is TRL 1.x (its DPOTrainer was rewritten in 1.0); options it
// dropped then (reference_free, rpo_alpha, BCO's running mean) follow TRL 0.x.
//
// Notation, per pair: lp_c, lp_r the policy's summed log-probs of the chosen and rejected
// completions, ref_c, ref_r the reference's, n_c, n_r their token counts; the log-ratios
// lr_c = lp_c - ref_c, lr_r = lp_r - ref_r (ref = 0 with reference_free); the scores s_c, s_r are
// the log-ratios after f_divergence_type (f-DPO) and h = s_c - s_r. sigma is the logistic function.
#include "core/algos/preference_losses.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <sstream>

namespace pl {

namespace {

using T = FieldType;

enum class PairLoss {
  Sigmoid, Hinge, Ipo, ExoPair, NcaPair, Robust, BcoPair, SppoHard, Aot, AotPair, ApoZero, ApoDown,
  Discopop, SigmoidNorm, Sft, Simpo, Cpo, Orpo
};

template <class E>
E pick(const std::string& value, std::initializer_list<std::pair<const char*, E>> table) {
  for (const auto& [name, e] : table) {
    if (value == name) return e;
  }
  throw ConfigError("unknown option value '" + value + "'");
}

// A field's value, or its default when the caller's values do not have it.
json field_value(const json& values, const std::string& name, const std::vector<FieldSpec>& fields) {
  if (values.is_object() && values.contains(name)) return values.at(name);
  for (const FieldSpec& f : fields) {
    if (f.name == name) return f.default_value;
  }
  throw ConfigError("no preference-loss field '" + name + "'");
}
json pair_value(const json& values, const std::string& name) { return field_value(values, name, preference_loss_fields()); }
float pair_float(const json& values, const std::string& name) { return pair_value(values, name).get<float>(); }
bool pair_bool(const json& values, const std::string& name) { return pair_value(values, name).get<bool>(); }

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) items.push_back(trim(item));
  if (!text.empty() && text.back() == ',') items.emplace_back();
  return items;
}

std::string known_pair_losses() {
  std::string names;
  for (const PreferenceLossInfo& l : preference_losses()) names += (names.empty() ? "" : ", ") + std::string(l.name);
  return names;
}

PairLoss pair_loss_id(const std::string& name) {
  return pick<PairLoss>(name, {{"sigmoid", PairLoss::Sigmoid},     {"hinge", PairLoss::Hinge},
                               {"ipo", PairLoss::Ipo},             {"exo_pair", PairLoss::ExoPair},
                               {"nca_pair", PairLoss::NcaPair},    {"robust", PairLoss::Robust},
                               {"bco_pair", PairLoss::BcoPair},    {"sppo_hard", PairLoss::SppoHard},
                               {"aot", PairLoss::Aot},             {"aot_pair", PairLoss::AotPair},
                               {"aot_unpaired", PairLoss::AotPair}, {"apo_zero", PairLoss::ApoZero},
                               {"apo_down", PairLoss::ApoDown},    {"discopop", PairLoss::Discopop},
                               {"sigmoid_norm", PairLoss::SigmoidNorm}, {"sft", PairLoss::Sft},
                               {"simpo", PairLoss::Simpo},         {"cpo", PairLoss::Cpo},
                               {"orpo", PairLoss::Orpo}});
}

bool reads_reference(PairLoss l) { return l != PairLoss::Sft && l != PairLoss::Simpo && l != PairLoss::Cpo && l != PairLoss::Orpo; }
bool reads_tokens(PairLoss l) {
  return l == PairLoss::Ipo || l == PairLoss::SigmoidNorm || l == PairLoss::Sft || l == PairLoss::Simpo ||
         l == PairLoss::Cpo || l == PairLoss::Orpo;
}

// The options a built loss cannot take (TRL raises or warns for the same).
void check_pair_values(const json& values, const std::vector<std::pair<std::string, float>>& terms) {
  const float eps = pair_float(values, "label_smoothing");
  for (const auto& [name, weight] : terms) {
    const PairLoss l = pair_loss_id(name);
    if (l == PairLoss::ExoPair && !(eps > 0))
      throw ConfigError("loss_type 'exo_pair' needs label_smoothing > 0 (log of it; the EXO paper uses 1e-3), got " +
                        std::to_string(eps));
    if (l == PairLoss::Robust && !(eps < 0.5f))
      throw ConfigError("loss_type 'robust' needs label_smoothing < 0.5 (it divides by 1 - 2 label_smoothing), got " +
                        std::to_string(eps));
  }
}

Expr required(Expr e, const char* column, const std::string& why) {
  if (!e.valid()) throw ConfigError("the preference loss needs the input '" + std::string(column) + "' (" + why + ")");
  return e;
}

// A per-pair tensor ([P] or [P, 1]) viewed as a column [P, 1].
Expr as_column(Graph& g, Expr x) {
  const Dims& d = g.dims(x);
  if (d.size() == 1) return reshape(x, {d[0], 1});
  if (d.size() == 2 && d[1] == Dim(1)) return x;
  throw ConfigError("aot sorts per-pair columns: its inputs must be [P] or [P, 1]");
}

// mean_k f(sort(a)_k - sort(b)_k) over the P pairs, as AOT needs (torch.sort in TRL), from
// comparisons only: entry i of a covers the sorted positions [lo_i, hi_i) with lo_i = #{j: a_j <
// a_i} and hi_i = #{j: a_j <= a_i} (ties share their block), likewise b; the weight of (i, j) is
// |[lo_i, hi_i) & [lo'_j, hi'_j)| / ((hi_i - lo_i)(hi'_j - lo'_j)), so every sorted position k
// contributes f(a_(k) - b_(k)) once. Without ties the weights are a permutation matrix and the
// gradient is torch.sort's; tied entries share their positions' gradient equally (the sum over the
// tie is torch's). O(P^2) in memory, fine for preference batches.
Expr sorted_difference_mean(Graph& g, Expr a, Expr b, const std::function<Expr(Expr)>& f) {
  if (g.dims(b).empty()) return mean(f(a - b));  // a constant b (reference_free aot): nothing to sort
  const Dim P = g.dims(a)[0];
  Expr a_col = as_column(g, a), b_col = as_column(g, b);
  Expr a_row = reshape(a_col, {Dim(1), P}), b_row = reshape(b_col, {Dim(1), P});
  Expr a_lo = sum(greater(a_col, a_row), 1, true);                   // [P, 1]
  Expr a_hi = sum(1.0f - greater(a_row, a_col), 1, true);            // [P, 1]
  Expr b_lo = reshape(sum(greater(b_col, b_row), 1, true), {Dim(1), P});         // [1, P]
  Expr b_hi = reshape(sum(1.0f - greater(b_row, b_col), 1, true), {Dim(1), P});  // [1, P]
  Expr overlap = relu(min(a_hi, b_hi) - max(a_lo, b_lo));           // [P, P]
  Expr weight = stop_gradient(overlap / ((a_hi - a_lo) * (b_hi - b_lo)));
  return sum(weight * f(a_col - b_row)) / sum(weight);
}

}  // namespace

const std::vector<FieldSpec>& preference_loss_fields() {
  static const std::vector<FieldSpec> fields = [] {
  std::vector<FieldSpec> f = {
      make_field("loss_type", T::String, "sigmoid", 0, 0, "loss",
                 "the preference loss (TRL's loss_type), or a comma-separated list combined with loss_weights "
                 "(e.g. sigmoid,sft = RPO); see `policylab loss --list`"),
      make_field("loss_weights", T::String, "", 0, 0, "loss",
                 "comma-separated weights, one per loss_type entry (e.g. 1,0.5); empty: all 1"),
      {"beta", T::Float, 0.1, 1e-4, 100, {}, "beta: the strength of the implicit KL to the reference (orpo: lambda)", true, "loss"},
      {"label_smoothing", T::Float, 0.0, 0, 0.5, {}, "conservative DPO: the assumed share of flipped labels (sigmoid, robust, exo_pair, aot, simpo, cpo)", true, "loss"},
      {"reference_free", T::Bool, false, 0, 0, {}, "treat the reference as uniform: its log-probs are 0 (TRL 0.x)", false, "loss"},
      make_field("f_divergence_type", T::String, "reverse_kl", 0, 0, "loss",
                 "f-DPO: the divergence whose f' scores each side (reverse_kl is DPO)", false,
                 {"reverse_kl", "forward_kl", "js_divergence", "alpha_divergence"}),
      {"f_alpha_divergence_coef", T::Float, 0.5, -10, 10, {}, "f-DPO alpha_divergence: alpha of f'(u) = (u^(alpha-1) - 1) / (alpha - 1) (TRL)", false, "loss"},
      {"rpo_alpha", T::Float, 0.0, 0, 100, {}, "RPO: adds rpo_alpha times the chosen's mean per-token NLL (the sft term); 0: off", false, "loss"},
      {"discopop_tau", T::Float, 0.05, 1e-4, 100, {}, "discopop: temperature of the logistic/exponential mix", true, "loss"},
      {"simpo_gamma", T::Float, 0.5, 0, 100, {}, "simpo: the target reward margin gamma", true, "loss"},
      {"cpo_alpha", T::Float, 1.0, 0, 100, {}, "cpo: weight of the chosen's NLL", true, "loss"},
      {"bco_running_mean", T::Bool, false, 0, 0, {}, "bco_pair: delta is the running mean of the batches' mean rewards, this batch's included (TRL 0.x's RunningMoments); off: delta 0 (TRL 1.x)", false, "loss"},
  };
  // loss_type and loss_weights hold lists in strings: a config names a bad entry when it is
  // validated, not when the trainer builds its graph.
  for (FieldSpec& spec : f)
    if (spec.name == "loss_type" || spec.name == "loss_weights")
      spec.check = [](const json& values) { preference_loss_terms(values); };
  return f;
  }();
  return fields;
}

const std::vector<PreferenceLossInfo>& preference_losses() {
  static const std::vector<std::string> pair = {"chosen_logps", "rejected_logps", "ref_chosen_logps", "ref_rejected_logps"};
  static const std::vector<std::string> with_tokens = {"chosen_logps",  "rejected_logps", "ref_chosen_logps",
                                                       "ref_rejected_logps", "chosen_tokens", "rejected_tokens"};
  static const std::vector<std::string> with_delta = {"chosen_logps", "rejected_logps", "ref_chosen_logps",
                                                      "ref_rejected_logps", "bco_delta"};
  static const std::vector<std::string> policy_tokens = {"chosen_logps", "rejected_logps", "chosen_tokens", "rejected_tokens"};
  static const std::vector<PreferenceLossInfo> table = {
      {"sigmoid", "DPO: -(1 - eps) log sigma(beta h) - eps log sigma(-beta h), h = s_c - s_r (the log-ratio margin)",
       "Rafailov et al. 2023 (DPO); Mitchell 2023 (cDPO, label_smoothing); Wang et al. 2023 (f-DPO)", pair,
       {"beta", "label_smoothing", "f_divergence_type", "reference_free"}},
      {"hinge", "SLiC: max(0, 1 - beta h)", "Zhao et al. 2023 (SLiC-HF)", pair, {"beta", "f_divergence_type", "reference_free"}},
      {"ipo", "IPO: (s_c / n_c - s_r / n_r - 1 / (2 beta))^2, log-ratios averaged per token as TRL",
       "Azar et al. 2023 (IPO)", with_tokens, {"beta", "f_divergence_type", "reference_free"}},
      {"exo_pair", "EXO: KL of softmax(beta s) over (chosen, rejected) to (1 - eps, eps); needs label_smoothing > 0",
       "Ji et al. 2024 (EXO)", pair, {"beta", "label_smoothing", "f_divergence_type", "reference_free"}},
      {"nca_pair", "NCA: -log sigma(beta s_c) - log sigma(-beta s_c) / 2 - log sigma(-beta s_r) / 2", "Chen et al. 2024 (NCA)",
       pair, {"beta", "f_divergence_type", "reference_free"}},
      {"robust", "robust DPO: (-(1 - eps) log sigma(beta h) + eps log sigma(-beta h)) / (1 - 2 eps), eps < 0.5",
       "Chowdhury et al. 2024 (rDPO)", pair, {"beta", "label_smoothing", "f_divergence_type", "reference_free"}},
      {"bco_pair", "BCO: -log sigma(beta s_c - delta) - log sigma(-(beta s_r - delta)); delta 0 (TRL 1.x) or the running reward mean (bco_running_mean, TRL 0.x)",
       "Jung et al. 2024 (BCO)", with_delta, {"beta", "f_divergence_type", "reference_free", "bco_running_mean"}},
      {"sppo_hard", "SPPO, hard labels: (s_c - 1 / (2 beta))^2 + (s_r + 1 / (2 beta))^2", "Wu et al. 2024 (SPPO)", pair,
       {"beta", "f_divergence_type", "reference_free"}},
      {"aot", "AOT: smoothed DPO on sort(lp_c - lp_r) - sort(ref_c - ref_r), sorted over the batch",
       "Melnyk et al. 2024 (AOT)", pair, {"beta", "label_smoothing", "reference_free"}},
      {"aot_pair", "AOT unpaired (TRL 1.x: aot_unpaired): smoothed DPO on sort(lr_c) - sort(lr_r)", "Melnyk et al. 2024 (AOT)",
       pair, {"beta", "label_smoothing", "reference_free"}},
      {"apo_zero", "APO-zero: 1 - sigma(beta lr_c) + sigma(beta lr_r)", "D'Oosterlinck et al. 2024 (APO)", pair,
       {"beta", "reference_free"}},
      {"apo_down", "APO-down: sigma(beta lr_c) + 1 - sigma(beta h)", "D'Oosterlinck et al. 2024 (APO)", pair,
       {"beta", "f_divergence_type", "reference_free"}},
      {"discopop", "DiscoPOP (LRML): with z = beta h, m = sigma(z / tau): (1 - m) (-log sigma(z)) + m e^-z",
       "Chris Lu et al. 2024 (DiscoPOP)", pair, {"beta", "discopop_tau", "f_divergence_type", "reference_free"}},
      {"sigmoid_norm", "length-normalised DPO: -log sigma(beta (s_c / n_c - s_r / n_r))", "TRL; cf. Meng et al. 2024 (SimPO)",
       with_tokens, {"beta", "f_divergence_type", "reference_free"}},
      {"sft", "the chosen's NLL per token over the batch: -sum lp_c / sum n_c", "(supervised fine-tuning; RPO with sigmoid)",
       {"chosen_logps", "chosen_tokens"}, {}, true},
      {"simpo", "SimPO: -(1 - eps) log sigma(beta (lp_c / n_c - lp_r / n_r) - gamma) - eps log sigma(-...)",
       "Meng et al. 2024 (SimPO)", policy_tokens, {"beta", "simpo_gamma", "label_smoothing"}, true},
      {"cpo", "CPO: -(1 - eps) log sigma(beta (lp_c - lp_r)) - eps log sigma(-...) + cpo_alpha * sft",
       "Xu et al. 2024 (CPO)", policy_tokens, {"beta", "label_smoothing", "cpo_alpha"}, true},
      {"orpo", "ORPO: sft - beta log sigma(log odds(a_c) - log odds(a_r)), a = lp / n, odds(a) = e^a / (1 - e^a)",
       "Hong et al. 2024 (ORPO)", policy_tokens, {"beta"}, true},
  };
  return table;
}

const PreferenceLossInfo* find_preference_loss(const std::string& name) {
  const std::string canonical = name == "aot_unpaired" ? "aot_pair" : name;
  for (const PreferenceLossInfo& l : preference_losses()) {
    if (canonical == l.name) return &l;
  }
  return nullptr;
}

std::vector<std::pair<std::string, float>> preference_loss_terms(const json& values) {
  const std::string types = pair_value(values, "loss_type").get<std::string>();
  const std::string weights_text = pair_value(values, "loss_weights").get<std::string>();
  const std::vector<std::string> names = split_list(types);
  if (names.empty()) throw ConfigError("field 'loss_type' must name a preference loss; known: " + known_pair_losses());
  std::vector<std::pair<std::string, float>> terms;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!find_preference_loss(names[i]))
      throw ConfigError("field 'loss_type': unknown loss '" + names[i] + "'" +
                        (names.size() > 1 ? " (entry " + std::to_string(i + 1) + " of '" + types + "')" : "") +
                        "; known: " + known_pair_losses() + " (aot_unpaired is aot_pair)");
    terms.emplace_back(names[i], 1.0f);
  }
  if (!trim(weights_text).empty()) {
    const std::vector<std::string> weights = split_list(weights_text);
    if (weights.size() != names.size())
      throw ConfigError("field 'loss_weights' must have one weight per loss_type entry (" + std::to_string(names.size()) +
                        "), got " + std::to_string(weights.size()) + " in '" + weights_text + "'");
    for (size_t i = 0; i < weights.size(); ++i) {
      char* end = nullptr;
      const double w = std::strtod(weights[i].c_str(), &end);
      if (weights[i].empty() || *end != '\0' || !std::isfinite(w))
        throw ConfigError("field 'loss_weights': entry " + std::to_string(i + 1) + " '" + weights[i] + "' is not a number");
      terms[i].second = static_cast<float>(w);
    }
  }
  const float rpo_alpha = pair_float(values, "rpo_alpha");
  if (rpo_alpha > 0) terms.emplace_back("sft", rpo_alpha);
  return terms;
}

bool preference_loss_needs_reference(const json& values) {
  if (pair_value(values, "reference_free").get<bool>()) return false;
  for (const auto& [name, weight] : preference_loss_terms(values)) {
    if (reads_reference(pair_loss_id(name))) return true;
  }
  return false;
}

bool preference_loss_needs_tokens(const json& values) {
  for (const auto& [name, weight] : preference_loss_terms(values)) {
    if (reads_tokens(pair_loss_id(name))) return true;
  }
  return false;
}

PairLossOutputs build_pair_loss(Graph& g, const PairLossInputs& in, const json& values) {
  const std::vector<std::pair<std::string, float>> terms = preference_loss_terms(values);
  check_pair_values(values, terms);
  const bool use_reference = preference_loss_needs_reference(values);
  const bool use_tokens = preference_loss_needs_tokens(values);
  Expr lp_c = required(in.chosen_logps, "chosen_logps", "always");
  Expr lp_r = required(in.rejected_logps, "rejected_logps", "always");
  // reference_free (TRL 0.x; Rafailov et al. 2023 sec. 5 mention the uniform reference): the
  // reference's log-probs are 0, so the log-ratios are the policy's log-probs.
  Expr ref_c = use_reference ? required(in.ref_chosen_logps, "ref_chosen_logps", "the loss reads the reference") : g.constant(0.0f);
  Expr ref_r = use_reference ? required(in.ref_rejected_logps, "ref_rejected_logps", "the loss reads the reference") : g.constant(0.0f);
  // Token counts, at least 1 as TRL clamps them.
  Expr one = g.constant(1.0f);
  Expr n_c = use_tokens ? max(required(in.chosen_tokens, "chosen_tokens", "a length-normalised loss or the sft term"), one) : Expr{};
  Expr n_r = use_tokens ? max(required(in.rejected_tokens, "rejected_tokens", "a length-normalised loss"), one) : Expr{};
  Expr lr_c = use_reference ? lp_c - ref_c : lp_c;
  Expr lr_r = use_reference ? lp_r - ref_r : lp_r;

  Expr beta = g.param("beta", pair_float(values, "beta"));
  Expr eps;  // label_smoothing, created by the losses that read it
  auto smoothing = [&] {
    if (!eps.valid()) eps = g.param("label_smoothing", pair_float(values, "label_smoothing"));
    return eps;
  };
  // Conservative DPO (Mitchell 2023): the label is flipped with probability eps, so the loss is
  // the expected logistic loss -(1 - eps) log sigma(z) - eps log sigma(-z). eps = 0 is DPO.
  auto smoothed_logistic = [&](Expr z) {
    Expr e = smoothing();
    return -(1.0f - e) * log_sigmoid(z) - e * log_sigmoid(-z);
  };

  // f-DPO (Wang et al. 2023, "Beyond Reverse KL", Thm. 1): with a divergence f, DPO's log-ratio
  // becomes f'(pi / ref) on each side, h = f'(u_c) - f'(u_r), u = e^lr. As TRL 1.x:
  //   reverse_kl:       f'(u) = log u + 1          -> s = lr (DPO);
  //   forward_kl:       f'(u) = 1 - 1 / u          -> s = -e^-lr;
  //   js_divergence:    f'(u) = log(2u / (1 + u))  -> s = log sigma(lr);
  //   alpha_divergence: f'(u) = (u^(a-1) - 1) / (a - 1) -> s = e^((a-1) lr) / (a - 1), the exponent
  //                     clamped at 80 as TRL does; a = 1 is reverse_kl.
  // Constants dropped (they cancel in h). The paper writes the alpha family (1 - u^-a) / a, which
  // is TRL's with a -> 1 - a (and TRL 0.x's): f_alpha_divergence_coef = 1 - a gives the paper's a.
  // The scores feed the losses that read s or h below; aot and apo_zero read the log-ratios, as TRL.
  const std::string f_type = pair_value(values, "f_divergence_type").get<std::string>();
  const float alpha = pair_float(values, "f_alpha_divergence_coef");
  auto score = [&](Expr lr) -> Expr {
    if (f_type == "forward_kl") return -exp(-lr);
    if (f_type == "js_divergence") return log_sigmoid(lr);
    if (f_type == "alpha_divergence" && std::fabs(alpha - 1.0f) >= 1e-6f)
      return exp(min((alpha - 1.0f) * lr, g.constant(80.0f))) * (1.0f / (alpha - 1.0f));
    if (f_type != "reverse_kl" && f_type != "alpha_divergence")
      throw ConfigError("field 'f_divergence_type': unknown value '" + f_type + "'");
    return lr;
  };
  Expr s_c = score(lr_c), s_r = score(lr_r);
  Expr h = s_c - s_r;

  // The chosen's mean per-token NLL over the batch, -sum lp_c / sum n_c: TRL's sft term (and the
  // NLL of CPO, ORPO and RPO) is the cross-entropy over all chosen tokens of the batch, a token
  // mean; the per-pair mean -lp_c / n_c averaged over pairs equals it when lengths are equal.
  Expr nll;
  auto chosen_nll = [&] {
    if (!nll.valid()) nll = -sum(lp_c) / sum(n_c);
    return nll;
  };

  Expr total;
  for (const auto& [name, weight] : terms) {
    Expr per_pair;  // [P], averaged over pairs
    Expr scalar;    // or a batch-level term
    switch (pair_loss_id(name)) {
      case PairLoss::Sigmoid:
        // DPO (Rafailov et al. 2023, eq. 7): -log sigma(beta h), with conservative smoothing (TRL 0.x
        // smoothed it; TRL 1.x has no label_smoothing in sigmoid, which is label_smoothing = 0).
        per_pair = smoothed_logistic(beta * h);
        break;
      case PairLoss::Hinge:
        // SLiC-HF's rank calibration loss (Zhao et al. 2023, eq. 1) as TRL: max(0, 1 - beta h). The
        // paper's max(0, delta - log pi(y_c) + log pi(y_r)) has no reference; reference_free gives it
        // with delta = 1 / beta, times beta.
        per_pair = relu(1.0f - beta * h);
        break;
      case PairLoss::Ipo: {
        // IPO (Azar et al. 2023, eq. 17; tau = beta): (h - 1 / (2 beta))^2. The paper's h is of
        // sequence log-probs; TRL averages each side per token (s / n), which the IPO authors
        // confirmed is what their results used, so beta is comparable across lengths. We follow
        // TRL; the paper's summed form is sigmoid's h: set chosen_tokens = rejected_tokens = 1.
        Expr d = s_c / n_c - s_r / n_r;
        per_pair = square(d - 0.5f / beta);
        break;
      }
      case PairLoss::ExoPair: {
        // EXO (Ji et al. 2024, eq. 16, K = 2): the reverse KL from p_f = softmax(beta s) over
        // (chosen, rejected) to the smoothed labels (1 - eps, eps):
        //   sigma(beta h) (log sigma(beta h) - log(1 - eps)) + sigma(-beta h) (log sigma(-beta h) - log eps).
        Expr e = smoothing();
        Expr z = beta * h;
        per_pair = sigmoid(z) * (log_sigmoid(z) - log(1.0f - e)) + sigmoid(-z) * (log_sigmoid(-z) - log(e));
        break;
      }
      case PairLoss::NcaPair: {
        // NCA (Chen et al. 2024, eq. 12 for K = 2): rewards r = beta s;
        //   -log sigma(r_c) - log sigma(-r_c) / 2 - log sigma(-r_r) / 2 (absolute, not only relative, likelihoods).
        Expr rc = beta * s_c, rr = beta * s_r;
        per_pair = -log_sigmoid(rc) - 0.5f * log_sigmoid(-rc) - 0.5f * log_sigmoid(-rr);
        break;
      }
      case PairLoss::Robust: {
        // Robust DPO (Chowdhury et al. 2024, eq. 9): an unbiased estimate of the clean DPO loss
        // under labels flipped with probability eps:
        //   ((1 - eps) l(beta h) - eps l(-beta h)) / (1 - 2 eps),  l(z) = -log sigma(z).
        Expr e = smoothing();
        Expr z = beta * h;
        per_pair = (-(1.0f - e) * log_sigmoid(z) + e * log_sigmoid(-z)) / (1.0f - 2.0f * e);
        break;
      }
      case PairLoss::BcoPair: {
        // BCO (Jung et al. 2024, eq. 6, paired as TRL): a binary classifier of chosen vs rejected
        // rewards r = beta s around a reward shift delta:
        //   -log sigma(r_c - delta) - log sigma(-(r_r - delta)).
        // TRL 1.x (the default): delta = 0, the graph parameter "bco_delta" (the lab's column).
        // bco_running_mean (TRL 0.x): RunningMoments updated with this batch's mean reward before the
        // loss, delta = w * (mean of the earlier batches) + (1 - w) * this batch's (no gradient),
        // w = t / (t + 1) after t batches: the parameters "bco_mean" and "bco_mean_weight", which
        // the trainer sets from BcoRunningMean.
        Expr delta;
        if (pair_bool(values, "bco_running_mean")) {
          Expr w = g.param("bco_mean_weight", 0.0f);
          Expr batch_mean = stop_gradient(0.5f * (mean(beta * s_c) + mean(beta * s_r)));
          g.name_output("bco_batch_mean", batch_mean);
          delta = w * g.param("bco_mean", 0.0f) + (1.0f - w) * batch_mean;
        } else {
          delta = g.param("bco_delta", 0.0f);
        }
        per_pair = -log_sigmoid(beta * s_c - delta) - log_sigmoid(-(beta * s_r - delta));
        break;
      }
      case PairLoss::SppoHard: {
        // SPPO (Wu et al. 2024, eq. 4.7 / Alg. 1) with hard preferences as TRL: P(chosen wins) = 1,
        // so s_c regresses to 1 / (2 beta) and s_r to -1 / (2 beta) (eta = 1/beta). The paper's soft
        // P comes from a preference model (PairRM) and is not offered here:
        //   (s_c - 1 / (2 beta))^2 + (s_r + 1 / (2 beta))^2.
        Expr half = 0.5f / beta;
        per_pair = square(s_c - half) + square(s_r + half);
        break;
      }
      case PairLoss::Aot:
        // AOT (Melnyk et al. 2024, eq. 10, paired): first-order stochastic dominance of the policy's
        // log-ratio margins over the reference's, as a 1-D optimal transport: sort the policy's
        // lp_c - lp_r and the reference's ref_c - ref_r over the batch and apply the smoothed
        // logistic loss to beta (sorted difference), k-th with k-th.
        scalar = sorted_difference_mean(g, lp_c - lp_r, ref_c - ref_r,
                                        [&](Expr d) { return smoothed_logistic(beta * d); });
        break;
      case PairLoss::AotPair:
        // AOT unpaired (Melnyk et al. 2024, eq. 11; TRL 0.x "aot_pair", TRL 1.x "aot_unpaired"): the
        // chosen log-ratios' distribution should dominate the rejected ones': sort lr_c and lr_r
        // separately and apply the smoothed logistic loss to beta (lr_c,(k) - lr_r,(k)).
        scalar = sorted_difference_mean(g, lr_c, lr_r, [&](Expr d) { return smoothed_logistic(beta * d); });
        break;
      case PairLoss::ApoZero:
        // APO-zero (D'Oosterlinck et al. 2024, eq. 7): push the chosen's log-ratio up and the
        // rejected's down, each on its own: 1 - sigma(beta lr_c) + sigma(beta lr_r).
        per_pair = (1.0f - sigmoid(beta * lr_c)) + sigmoid(beta * lr_r);
        break;
      case PairLoss::ApoDown:
        // APO-down (eq. 8): lower the chosen, the rejected more: sigma(beta lr_c) + 1 - sigma(beta h)
        // (TRL 1.x: h the f-DPO score margin; with reverse_kl lr_c - lr_r).
        per_pair = sigmoid(beta * lr_c) + (1.0f - sigmoid(beta * h));
        break;
      case PairLoss::Discopop: {
        // DiscoPOP / LRML (Chris Lu et al. 2024, eq. 5): with z = beta h and m = sigma(z / tau), a mix
        // of the logistic and the exponential loss: (1 - m) (-log sigma(z)) + m e^-z.
        Expr z = beta * h;
        Expr m = sigmoid(z / g.param("discopop_tau", pair_float(values, "discopop_tau")));
        per_pair = (1.0f - m) * (-log_sigmoid(z)) + m * exp(-z);
        break;
      }
      case PairLoss::SigmoidNorm:
        // TRL's sigmoid_norm: DPO on the per-token averages, -log sigma(beta (s_c / n_c - s_r / n_r))
        // (SimPO's length normalisation with the reference kept).
        per_pair = -log_sigmoid(beta * (s_c / n_c - s_r / n_r));
        break;
      case PairLoss::Sft:
        // The NLL of the chosen completions (RPO, Pang et al. 2024, is sigmoid + alpha * sft).
        scalar = chosen_nll();
        break;
      case PairLoss::Simpo: {
        // SimPO (Meng et al. 2024, eq. 6): reference-free, the reward is the average log-prob
        // beta lp / n, with a target margin gamma:
        //   -log sigma(beta (lp_c / n_c - lp_r / n_r) - gamma), label-smoothed as TRL's CPOTrainer.
        // TRL's CPOTrainer adds cpo_alpha * NLL to simpo too (cpo_alpha defaults to 1 there); the
        // paper has no NLL and neither does "simpo" here: "simpo,sft" is TRL's CPO-SimPO.
        Expr gamma = g.param("simpo_gamma", pair_float(values, "simpo_gamma"));
        per_pair = smoothed_logistic(beta * (lp_c / n_c - lp_r / n_r) - gamma);
        break;
      }
      case PairLoss::Cpo:
        // CPO (Xu et al. 2024, eq. 3 and 6): DPO with the reference dropped (a uniform reference)
        // plus the NLL of the chosen: -log sigma(beta (lp_c - lp_r)) + cpo_alpha * NLL (TRL's
        // CPOTrainer, summed log-probs, label-smoothed).
        per_pair = smoothed_logistic(beta * (lp_c - lp_r));
        scalar = g.param("cpo_alpha", pair_float(values, "cpo_alpha")) * chosen_nll();
        break;
      case PairLoss::Orpo: {
        // ORPO (Hong et al. 2024, eq. 6-7): NLL - lambda log sigma(log odds_c - log odds_r) with the
        // average log-probs a = lp / n, odds = P / (1 - P), so log odds(a) = a - log(1 - e^a).
        // lambda is TRL's ORPOTrainer beta. TRL computes log1p(-exp(a)), -infinity at a = 0 (a NaN
        // loss); log1mexp is accurate down to a = -1e-10 and finite above (1 - e^a in float, as
        // before, was 0 from a = -6e-8 on, and clamped, losing the odds).
        Expr a_c = lp_c / n_c, a_r = lp_r / n_r;
        Expr log_odds = (a_c - a_r) - (log1mexp(a_c) - log1mexp(a_r));
        per_pair = -beta * log_sigmoid(log_odds);
        scalar = chosen_nll();
        break;
      }
    }
    Expr term = per_pair.valid() ? mean(per_pair) : scalar;
    if (per_pair.valid() && scalar.valid()) term = term + scalar;
    if (weight != 1.0f) term = weight * term;
    total = total.valid() ? total + term : term;
  }

  // Rewards (TRL's logged rewards/chosen, rewards/rejected): beta times the log-ratio to the
  // reference; for reference-free losses beta times the policy's log-prob, per token for the
  // length-normalised simpo and orpo (as TRL's CPO/ORPO trainers log them).
  Expr reward_c = lr_c, reward_r = lr_r;
  if (!use_reference) {
    const PairLoss first = pair_loss_id(terms.front().first);
    if ((first == PairLoss::Simpo || first == PairLoss::Orpo) && use_tokens) {
      reward_c = lp_c / n_c;
      reward_r = lp_r / n_r;
    }
  }
  PairLossOutputs out;
  out.loss = total;
  out.chosen_rewards = stop_gradient(beta * reward_c);
  out.rejected_rewards = stop_gradient(beta * reward_r);
  out.margin = mean(out.chosen_rewards - out.rejected_rewards);
  out.accuracy = mean(greater(out.chosen_rewards, out.rejected_rewards));
  out.reward_mean = 0.5f * (mean(out.chosen_rewards) + mean(out.rejected_rewards));
  g.name_output("loss", out.loss);
  g.name_output("chosen_rewards", mean(out.chosen_rewards));
  g.name_output("rejected_rewards", mean(out.rejected_rewards));
  g.name_output("margin", out.margin);
  g.name_output("accuracy", out.accuracy);
  g.name_output("reward_mean", out.reward_mean);
  return out;
}

void set_preference_loss_params(Graph& g, const json& values) {
  check_pair_values(values, preference_loss_terms(values));
  for (const char* name : {"beta", "label_smoothing", "discopop_tau", "simpo_gamma", "cpo_alpha"}) {
    if (g.has_param(name)) g.set_param(name, pair_float(values, name));
  }
}

// --- KTO ---

const std::vector<FieldSpec>& unpaired_loss_fields() {
  static const std::vector<FieldSpec> fields = {
      make_field("loss_type", T::String, "kto", 0, 0, "loss", "the unpaired loss (TRL's KTOTrainer loss_type)", false,
                 {"kto", "apo_zero_unpaired"}),
      {"beta", T::Float, 0.1, 1e-4, 100, {}, "beta: the strength of the implicit KL to the reference", true, "loss"},
      {"desirable_weight", T::Float, 1.0, 0, 100, {}, "lambda_D: weight of the desirable examples' losses", true, "loss"},
      {"undesirable_weight", T::Float, 1.0, 0, 100, {}, "lambda_U: weight of the undesirable examples' losses", true, "loss"},
  };
  return fields;
}

const std::vector<PreferenceLossInfo>& unpaired_losses() {
  static const std::vector<PreferenceLossInfo> table = {
      {"kto",
       "KTO: desirable lambda_D (1 - sigma(beta (lr - z0))), undesirable lambda_U (1 - sigma(beta (z0 - lr))), z0 = kl",
       "Ethayarajh et al. 2024 (KTO)", {"logps", "ref_logps", "desirable", "kl"},
       {"beta", "desirable_weight", "undesirable_weight"}},
      {"apo_zero_unpaired", "APO-zero unpaired: desirable lambda_D (1 - sigma(beta lr)), undesirable lambda_U sigma(beta lr)",
       "D'Oosterlinck et al. 2024 (APO)", {"logps", "ref_logps", "desirable"},
       {"beta", "desirable_weight", "undesirable_weight"}},
  };
  return table;
}

const PreferenceLossInfo* find_unpaired_loss(const std::string& name) {
  for (const PreferenceLossInfo& l : unpaired_losses()) {
    if (name == l.name) return &l;
  }
  return nullptr;
}

UnpairedLossOutputs build_unpaired_loss(Graph& g, const UnpairedLossInputs& in, const json& values) {
  const auto value = [&](const char* name) { return field_value(values, name, unpaired_loss_fields()); };
  const std::string type = value("loss_type").get<std::string>();
  if (!find_unpaired_loss(type))
    throw ConfigError("field 'loss_type': unknown unpaired loss '" + type + "'; known: kto, apo_zero_unpaired");
  const bool kto = type == "kto";
  Expr logps = required(in.logps, "logps", "always");
  Expr ref = required(in.ref_logps, "ref_logps", "the log-ratio to the reference");
  Expr desirable = required(in.desirable, "desirable", "1 or 0 per example");
  Expr beta = g.param("beta", value("beta").get<float>());
  Expr w_d = g.param("desirable_weight", value("desirable_weight").get<float>());
  Expr w_u = g.param("undesirable_weight", value("undesirable_weight").get<float>());
  Expr lr = logps - ref;
  Expr d = stop_gradient(desirable), u = 1.0f - d;
  UnpairedLossOutputs out;
  Expr per_example;
  if (kto) {
    // KTO (Ethayarajh et al. 2024, eq. 7 with TRL's KTOTrainer): the value of a completion relative
    // to the reference point z0 = KL(pi || ref), estimated per batch and not differentiated;
    //   desirable:   lambda_D (1 - sigma(beta (lr - z0))),
    //   undesirable: lambda_U (1 - sigma(beta (z0 - lr))),
    // averaged over all examples (TRL concatenates both kinds and takes the mean). z0 is clamped
    // at 0 as TRL does.
    Expr z0 = stop_gradient(max(required(in.kl, "kl", "KTO's reference point z0"), g.constant(0.0f)));
    out.kl = z0;
    per_example = d * w_d * (1.0f - sigmoid(beta * (lr - z0))) + u * w_u * (1.0f - sigmoid(beta * (z0 - lr)));
  } else {
    // APO-zero unpaired (D'Oosterlinck et al. 2024, eq. 7 per example, TRL's KTOTrainer):
    //   desirable lambda_D (1 - sigma(beta lr)), undesirable lambda_U sigma(beta lr).
    out.kl = g.constant(0.0f);
    per_example = d * w_d * (1.0f - sigmoid(beta * lr)) + u * w_u * sigmoid(beta * lr);
  }
  out.loss = mean(per_example);
  out.rewards = stop_gradient(beta * lr);
  out.chosen_rewards = safe_div(sum(out.rewards * d), sum(d));
  out.rejected_rewards = safe_div(sum(out.rewards * u), sum(u));
  out.margin = out.chosen_rewards - out.rejected_rewards;
  g.name_output("loss", out.loss);
  g.name_output("chosen_rewards", out.chosen_rewards);
  g.name_output("rejected_rewards", out.rejected_rewards);
  g.name_output("margin", out.margin);
  g.name_output("kl", out.kl);
  return out;
}

void set_unpaired_loss_params(Graph& g, const json& values) {
  for (const char* name : {"beta", "desirable_weight", "undesirable_weight"}) {
    if (g.has_param(name)) g.set_param(name, field_value(values, name, unpaired_loss_fields()).get<float>());
  }
}

float kto_reference_point(const float* mismatched_logps, const float* ref_mismatched_logps, int n) {
  if (n <= 0) return 0.0f;
  double total = 0;
  for (int i = 0; i < n; ++i) total += static_cast<double>(mismatched_logps[i]) - ref_mismatched_logps[i];
  return static_cast<float>(std::max(0.0, total / n));
}

}  // namespace pl
