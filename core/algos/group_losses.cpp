#include "core/algos/group_losses.hpp"

#include <algorithm>
#include <cmath>

#include "core/tasks/options.hpp"

namespace pl {

namespace {

using T = FieldType;

template <class E>
E pick(const std::string& value, std::initializer_list<std::pair<const char*, E>> table) {
  for (const auto& [name, e] : table) {
    if (value == name) return e;
  }
  throw ConfigError("unknown option value '" + value + "'");
}

}  // namespace

const std::vector<FieldSpec>& group_loss_fields() {
  static const std::vector<FieldSpec> fields = [] {
    std::vector<FieldSpec> f = {
        make_field("advantage_estimator", T::String, "grpo", 0, 0, "loss",
                   "how a group's rewards become advantages (see `policylab loss --list`)", false, estimator_names()),
        make_field("scale_rewards", T::String, "group", 0, 0, "loss",
                   "grpo: divide by the group's std, the batch's, or none (Dr. GRPO)", false, {"group", "batch", "none"}),
        {"std_eps", T::Float, 1e-4, 0, 1, {}, "added to the std before dividing (TRL 1e-4; verl 1e-6)", false, "loss"},
        make_field("gpg_alpha", T::String, "zero_variance_groups", 0, 0, "loss",
                   "gpg: B / (B - completions of zero-variance groups) (paper) or B / (nonzero rewards) (verl)", false,
                   {"zero_variance_groups", "nonzero_rewards"}),
        {"bnpo_reward_min", T::Float, 0.0, -1e6, 1e6, {}, "bnpo: the reward mapped to 0", false, "loss"},
        {"bnpo_reward_max", T::Float, 1.0, -1e6, 1e6, {}, "bnpo: the reward mapped to 1", false, "loss"},
        {"adaptthink_delta", T::Float, 0.05, 0, 10, {}, "adaptthink: the advantage bonus delta of a NoThinking response (the paper's delta = 1 / lambda, e.g. 0.05)", false, "loss"},
        {"gamma", T::Float, 1.0, 0, 1, {}, "gae: discount over completion tokens (TRL, verl: 1)", false, "loss"},
        {"lam", T::Float, 0.95, 0, 1, {}, "gae: GAE's lambda over completion tokens (TRL 0.95; verl 1)", false, "loss"},
        applies_when({"vf_coef", T::Float, 0.1, 0, 100, {}, "gae: weight of the critic's value loss (TRL 0.1)", true, "loss"},
                     "advantage_estimator", {"gae"}),
        applies_when({"cliprange_value", T::Float, 0.2, 0, 100, {}, "gae: the critic's new values stay within this of the old ones in the clipped value loss (TRL 0.2; verl 0.5); 0: no clipping", true, "loss"},
                     "advantage_estimator", {"gae"}),
        applies_when({"adaptthink_ref_samples", T::Int, 8, 1, 64, {}, "adaptthink: completions of the frozen reference per prompt whose mean reward is Rbar_ref(x)", false, "rollout"},
                     "advantage_estimator", {"adaptthink"}),
        applies_when({"adaptthink_importance_sampling", T::Bool, true, 0, 0, {}, "adaptthink: force the first token of half of each group to the NoThinking marker and of the other half to the Thinking marker (pi_IS), with old probability 0.5", false, "rollout"},
                     "advantage_estimator", {"adaptthink"}),
        make_field("policy_loss", T::String, "clip", 0, 0, "loss",
                   "the objective (see `policylab loss --list`)", false,
                   {"clip", "cispo", "gpg", "gvpo", "rebel", "astar_po", "disco"}),
        make_field("importance_sampling_level", T::String, "token", 0, 0, "loss",
                   "clip/cispo ratio per token, or the sequence's geometric mean (GSPO)", false, {"token", "sequence"}),
        {"epsilon", T::Float, 0.2, 0, 10, {}, "clipping: the ratio is kept above 1 - epsilon", true, "loss"},
        {"epsilon_high", T::Float, 0.0, 0, 100, {}, "upper clipping 1 + epsilon_high (DAPO's clip-higher, e.g. 0.28); 0: epsilon", true, "loss"},
        {"delta", T::Float, 0.0, 0, 100, {}, "clip: cap of the unclipped ratio (TRL's two-sided clipping, e.g. 4); 0: off", true, "loss"},
        {"clip_ratio_c", T::Float, 0.0, 0, 100, {}, "clip: dual-clip bound c > 1 for A < 0 (verl, e.g. 3); 0: off", true, "loss"},
        make_field("cispo_clip", T::String, "trl", 0, 0, "loss",
                   "cispo: cap the weight at 1 + epsilon_high only (TRL) or clip to [1 - epsilon, 1 + epsilon_high] (verl)",
                   false, {"trl", "verl"}),
        {"beta", T::Float, 0.0, 0, 10, {}, "weight of the KL to the reference; 0 builds no reference (gvpo and astar_po always do)", true, "loss"},
        make_field("kl_estimator", T::String, "k3", 0, 0, "loss",
                   "per-token KL estimate: k1, k2, k3 (TRL), low_var_kl (verl's clamped k3)", false,
                   {"k1", "k2", "k3", "low_var_kl"}),
        {"kl_in_reward", T::Bool, false, 0, 0, {}, "subtract beta * (summed per-token KL at sampling) from the reward instead of adding it to the loss (reinforce_plus_plus, remax: from each token's return, the KL of the tokens from it on, as verl)", false, "loss"},
        {"gvpo_beta", T::Float, 0.1, 1e-6, 100, {}, "gvpo: the KL temperature beta of the regression", true, "loss"},
        {"rebel_eta", T::Float, 1.0, 1e-6, 1e6, {}, "rebel: step size eta (log-ratio differences / eta regress reward differences)", true, "loss"},
        {"astar_beta", T::Float, 0.1, 1e-6, 100, {}, "astar_po: beta of the regression beta * log(pi / ref) ~ r - V*", true, "loss"},
        {"astar_value_beta", T::Float, 0.5, 1e-3, 100, {}, "astar_po: temperature of V* = beta1 log mean exp(r / beta1) over reference samples", true, "loss"},
        {"astar_ref_samples", T::Int, 8, 1, 64, {}, "astar_po: reference completions per prompt to estimate V*", false, "rollout"},
        make_field("disco_score", T::String, "log_l", 0, 0, "loss",
                   "disco: score = mean token log-prob (log_l) or mean token ratio to the sampler (l_ratio)", false,
                   {"log_l", "l_ratio"}),
        {"disco_tau", T::Float, 10.0, 1e-3, 1e6, {}, "disco: temperature of the log-sum-exp over negatives", true, "loss"},
        {"disco_beta", T::Float, 1000.0, 0, 1e9, {}, "disco: weight of the squared-hinge KL trust region", true, "loss"},
        {"disco_delta", T::Float, 1e-4, 0, 10, {}, "disco: the KL budget delta of the trust region", true, "loss"},
        make_field("loss_agg_mode", T::String, "token-mean", 0, 0, "loss",
                   "how per-token losses aggregate (verl's names; token-mean is TRL's default 'dapo' and verl's, "
                   "seq-mean-token-mean the GRPO paper's, TRL's 'grpo')", false,
                   {"token-mean", "seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm"}),
        {"mask_truncated_completions", T::Bool, false, 0, 0, {}, "completions cut off by the length limit get no gradient (DAPO)", false, "loss"},
        {"top_entropy_quantile", T::Float, 1.0, 0.001, 1, {}, "only the highest-entropy share of completion tokens gets gradient (Wang et al. 2025); 1: all", false, "loss"},
    };
    // A piece's own options apply only with that piece (FieldSpec::applies_when): the estimator and
    // loss tables below say which options each reads, so a new row brings its options' conditions.
    // (The trainer's machinery for gae's critic and AdaptThink's reference samples is conditioned
    // above: the estimator functions do not read those options.)
    // beta weighs the KL to the reference whatever the pieces (gae lists it for its per-token reward).
    for (FieldSpec& field : f) {
      if (field.name == "beta") continue;
      std::vector<json> by_estimator, by_loss;
      for (const EstimatorInfo& e : estimators())
        if (std::count(e.options.begin(), e.options.end(), field.name)) by_estimator.push_back(e.name);
      for (const PolicyLossInfo& l : policy_losses())
        if (std::count(l.options.begin(), l.options.end(), field.name)) by_loss.push_back(l.name);
      if (!by_estimator.empty() && by_loss.empty()) field = applies_when(field, "advantage_estimator", by_estimator);
      if (by_estimator.empty() && !by_loss.empty()) field = applies_when(field, "policy_loss", by_loss);
    }
    return f;
  }();
  return fields;
}

GroupLossOptions group_loss_options(const json& v) {
  GroupLossOptions o;
  const EstimatorInfo* e = find_estimator(v.at("advantage_estimator").get<std::string>());
  if (!e) throw ConfigError("unknown advantage_estimator '" + v.at("advantage_estimator").get<std::string>() + "'");
  o.estimator = e->id;
  o.estimator_options.scale = pick<ScaleRewards>(
      v.at("scale_rewards"), {{"group", ScaleRewards::Group}, {"batch", ScaleRewards::Batch}, {"none", ScaleRewards::None}});
  o.estimator_options.std_eps = v.at("std_eps").get<float>();
  o.estimator_options.gpg_alpha = pick<GpgAlpha>(
      v.at("gpg_alpha"), {{"zero_variance_groups", GpgAlpha::ZeroVarianceGroups}, {"nonzero_rewards", GpgAlpha::NonzeroRewards}});
  o.estimator_options.bnpo_min = v.at("bnpo_reward_min").get<float>();
  o.estimator_options.bnpo_max = v.at("bnpo_reward_max").get<float>();
  o.estimator_options.adaptthink_delta = v.at("adaptthink_delta").get<float>();
  o.estimator_options.gamma = v.at("gamma").get<float>();
  o.estimator_options.lam = v.at("lam").get<float>();
  if (!(o.estimator_options.bnpo_max > o.estimator_options.bnpo_min))
    throw ConfigError("field 'bnpo_reward_max' must be greater than bnpo_reward_min");
  const PolicyLossInfo* l = find_policy_loss(v.at("policy_loss").get<std::string>());
  if (!l) throw ConfigError("unknown policy_loss '" + v.at("policy_loss").get<std::string>() + "'");
  o.loss = l->id;
  o.sequence_level = v.at("importance_sampling_level") == "sequence";
  o.cispo_verl = v.at("cispo_clip") == "verl";
  o.two_sided = v.at("delta").get<double>() > 0;
  o.dual_clip = v.at("clip_ratio_c").get<double>() > 0;
  if (o.dual_clip && v.at("clip_ratio_c").get<double>() <= 1)
    throw ConfigError("field 'clip_ratio_c' must be 0 (off) or greater than 1, got " + v.at("clip_ratio_c").dump());
  o.beta = v.at("beta").get<float>();
  o.kl = pick<KlEstimator>(v.at("kl_estimator"), {{"k1", KlEstimator::K1}, {"k2", KlEstimator::K2}, {"k3", KlEstimator::K3},
                                                   {"low_var_kl", KlEstimator::LowVarKl}});
  o.kl_in_reward = v.at("kl_in_reward").get<bool>();
  o.disco_log_l = v.at("disco_score") == "log_l";
  o.agg = pick<LossAgg>(v.at("loss_agg_mode"), {{"token-mean", LossAgg::TokenMean},
                                                {"seq-mean-token-mean", LossAgg::SeqMeanTokenMean},
                                                {"seq-mean-token-sum", LossAgg::SeqMeanTokenSum},
                                                {"seq-mean-token-sum-norm", LossAgg::SeqMeanTokenSumNorm}});
  o.mask_truncated = v.at("mask_truncated_completions").get<bool>();
  o.top_entropy_quantile = v.at("top_entropy_quantile").get<float>();
  o.astar_ref_samples = v.at("astar_ref_samples").get<int>();
  o.adaptthink_ref_samples = v.at("adaptthink_ref_samples").get<int>();
  o.adaptthink_importance_sampling = v.at("adaptthink_importance_sampling").get<bool>();
  return o;
}

void set_group_loss_params(Graph& g, const json& v) {
  const float eps = v.at("epsilon").get<float>(), eps_high = v.at("epsilon_high").get<float>();
  const std::pair<const char*, float> params[] = {
      {"epsilon", eps},
      {"epsilon_high", eps_high > 0 ? eps_high : eps},
      {"delta", v.at("delta").get<float>()},
      {"clip_ratio_c", v.at("clip_ratio_c").get<float>()},
      {"beta", v.at("beta").get<float>()},
      {"gvpo_beta", v.at("gvpo_beta").get<float>()},
      {"rebel_eta", v.at("rebel_eta").get<float>()},
      {"astar_beta", v.at("astar_beta").get<float>()},
      {"disco_tau", v.at("disco_tau").get<float>()},
      {"disco_beta", v.at("disco_beta").get<float>()},
      {"disco_delta", v.at("disco_delta").get<float>()},
  };
  for (const auto& [name, value] : params) {
    if (g.has_param(name)) g.set_param(name, value);
  }
}

const std::vector<PolicyLossInfo>& policy_losses() {
  static const std::vector<PolicyLossInfo> table = {
      {"clip", PolicyLoss::Clip,
       "PPO-clip per token: -min(r A, clip(r, 1 - eps, 1 + eps_high) A); delta (two-sided), clip_ratio_c (dual-clip), "
       "importance_sampling_level sequence = GSPO",
       "Schulman et al. 2017; Shao et al. 2024 (GRPO); Yu et al. 2025 (DAPO); Zheng et al. 2025 (GSPO); Ye et al. 2020 (dual-clip)",
       {}, {"epsilon", "epsilon_high", "delta", "clip_ratio_c", "importance_sampling_level", "loss_agg_mode"}},
      {"cispo", PolicyLoss::Cispo, "clipped importance-sampling weight, stop-gradient: -sg(clip(r)) A log pi",
       "MiniMax 2025 (MiniMax-M1, CISPO)", {}, {"epsilon", "epsilon_high", "cispo_clip", "importance_sampling_level", "loss_agg_mode"}},
      {"gpg", PolicyLoss::Gpg, "the plain policy gradient -A log pi (no ratio, no clipping)", "Chu et al. 2025 (GPG)",
       {}, {"loss_agg_mode"}},
      {"gvpo", PolicyLoss::Gvpo,
       "group-variance regression: sum_i ((r_i - mean r) - beta (s_i - mean s))^2 / (2 (G - 1)), s = log pi/ref of the completion",
       "Zhang et al. 2025 (GVPO)", {"rewards", "ref_logp"}, {"gvpo_beta"}},
      {"rebel", PolicyLoss::Rebel,
       "pairs (2k, 2k+1) of a group: ((s_a - s_b) / eta - (r_a - r_b))^2, s = log pi/pi_old of the completion",
       "Gao et al. 2024 (REBEL)", {"rewards"}, {"rebel_eta"}},
      {"astar_po", PolicyLoss::AStarPo,
       "(beta log pi/ref(y) - (r - V*))^2, V* = beta1 log mean exp(r / beta1) over reference samples",
       "Brantley et al. 2025 (A*-PO)", {"rewards", "ref_logp", "value_star"}, {"astar_beta", "astar_value_beta", "astar_ref_samples"}},
      {"disco", PolicyLoss::Disco,
       "-(mean score of positives - tau log mean exp(score / tau) of negatives) + disco_beta [KL - delta]_+^2",
       "Li et al. 2025 (DisCO)", {"rewards"}, {"disco_score", "disco_tau", "disco_beta", "disco_delta"}},
  };
  return table;
}

const PolicyLossInfo* find_policy_loss(const std::string& name) {
  for (const PolicyLossInfo& l : policy_losses()) {
    if (name == l.name) return &l;
  }
  return nullptr;
}

Expr kl_estimate(Expr logp, Expr ref_logp, KlEstimator k) {
  Expr d = ref_logp - logp;
  switch (k) {
    case KlEstimator::K1: return -d;
    case KlEstimator::K2: return 0.5f * square(d);
    case KlEstimator::K3: return exp(d) - d - 1.0f;
    case KlEstimator::LowVarKl: {
      Expr dc = clamp(d, -20.0f, 20.0f);
      return clamp(exp(dc) - dc - 1.0f, -10.0f, 10.0f);
    }
  }
  return -d;
}

float kl_estimate(float logp, float ref_logp, KlEstimator k) {
  const float d = ref_logp - logp;
  switch (k) {
    case KlEstimator::K1: return -d;
    case KlEstimator::K2: return 0.5f * d * d;
    case KlEstimator::K3: return std::exp(d) - d - 1.0f;
    case KlEstimator::LowVarKl: {
      const float dc = std::min(20.0f, std::max(-20.0f, d));
      return std::min(10.0f, std::max(-10.0f, std::exp(dc) - dc - 1.0f));
    }
  }
  return -d;
}

float aggregation_weight(LossAgg agg, int rows, int length, int batch_tokens, int max_length) {
  switch (agg) {
    case LossAgg::TokenMean: return 1.0f / static_cast<float>(std::max(1, batch_tokens));
    case LossAgg::SeqMeanTokenMean: return 1.0f / (static_cast<float>(rows) * std::max(1, length));
    case LossAgg::SeqMeanTokenSum: return 1.0f / static_cast<float>(rows);
    case LossAgg::SeqMeanTokenSumNorm: return 1.0f / (static_cast<float>(rows) * std::max(1, max_length));
  }
  return 0.0f;
}

float quantile(std::vector<float>& v, double q) {
  if (v.empty()) return 0.0f;
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  std::nth_element(v.begin(), v.begin() + static_cast<long>(lo), v.end());
  const float a = v[lo];
  if (lo + 1 >= v.size()) return a;
  const float b = *std::min_element(v.begin() + static_cast<long>(lo) + 1, v.end());
  return static_cast<float>(a + (pos - static_cast<double>(lo)) * (b - a));
}

void disco_weights(const float* r, int P, int G, float* pos, float* neg, float* log_neg, float* group) {
  int valid = 0;
  for (int p = 0; p < P; ++p) {
    const float* rg = r + static_cast<size_t>(p) * G;
    double mean = 0;
    for (int g = 0; g < G; ++g) mean += rg[g];
    mean /= G;
    int n_pos = 0, n_neg = 0;
    for (int g = 0; g < G; ++g) {
      n_pos += rg[g] > mean;
      n_neg += rg[g] < mean;
    }
    for (int g = 0; g < G; ++g) {
      pos[p * G + g] = rg[g] > mean ? 1.0f / static_cast<float>(n_pos) : 0.0f;
      neg[p * G + g] = rg[g] < mean ? 0.0f : kMaskedLogProb;
    }
    log_neg[p] = n_neg > 0 ? std::log(static_cast<float>(n_neg)) : 0.0f;
    group[p] = n_pos > 0 && n_neg > 0 ? 1.0f : 0.0f;
    valid += n_pos > 0 && n_neg > 0;
  }
  for (int p = 0; p < P; ++p) group[p] = valid > 0 ? group[p] / static_cast<float>(valid) : 0.0f;
}

GroupLossInputs declare_group_loss_inputs(Graph& g, Dim rows, Dim time, Dim groups, int G, const GroupLossOptions& o) {
  GroupLossInputs in;
  in.groups = groups;
  in.G = G;
  in.weights = g.input("weights", {rows, time});
  in.kl_weights = g.input("kl_weights", {rows, time});
  in.token_mean = g.input("token_mean", {rows, time});
  in.adv = g.input("advantages", {rows, o.token_advantages() ? time : Dim(1)});
  in.rewards = g.input("rewards", {rows, 1});
  in.inv_len = g.input("inv_len", {rows, 1});
  if (o.loss == PolicyLoss::AStarPo) in.value_star = g.input("value_star", {rows, 1});
  if (o.loss == PolicyLoss::Disco) {
    in.disco_pos = g.input("disco_pos", {rows, 1});
    in.disco_neg = g.input("disco_neg", {rows, 1});
    in.disco_log_neg = g.input("disco_log_neg", {groups, 1});
    in.disco_group = g.input("disco_group", {groups, 1});
  }
  return in;
}

void GroupLossBuffers::allocate(int rows, int time, int groups, bool token_advantages) {
  for (auto* v : {&weights, &kl_weights, &token_mean, &old_logp}) v->assign(static_cast<size_t>(rows) * time, 0.0f);
  for (auto* v : {&advantages, &rewards, &inv_len, &value_star, &disco_pos, &disco_neg}) v->assign(static_cast<size_t>(rows), 0.0f);
  if (token_advantages) advantages.assign(static_cast<size_t>(rows) * time, 0.0f);
  for (auto* v : {&disco_log_neg, &disco_group}) v->assign(static_cast<size_t>(groups), 0.0f);
}

void GroupLossBuffers::bind(Graph& g, const GroupLossInputs& in) {
  g.bind(in.weights, weights.data());
  g.bind(in.kl_weights, kl_weights.data());
  g.bind(in.token_mean, token_mean.data());
  g.bind(in.old_logp, old_logp.data());
  g.bind(in.adv, advantages.data());
  g.bind(in.rewards, rewards.data());
  g.bind(in.inv_len, inv_len.data());
  if (in.value_star.valid()) g.bind(in.value_star, value_star.data());
  if (in.disco_pos.valid()) {
    g.bind(in.disco_pos, disco_pos.data());
    g.bind(in.disco_neg, disco_neg.data());
    g.bind(in.disco_log_neg, disco_log_neg.data());
    g.bind(in.disco_group, disco_group.data());
  }
}

GroupLossOutputs build_group_loss(Graph& g, const GroupLossInputs& in, const GroupLossOptions& o) {
  GroupLossOutputs out;
  Expr zero = g.constant(0.0f);
  Expr on_completion = greater(in.token_mean, zero);  // 1 on completion tokens
  Expr log_ratio = in.logp - in.old_logp;
  // The completion's mean per-token log-ratio [R, 1]: log of GSPO's sequence ratio
  // s_i = (pi(y_i) / pi_old(y_i))^(1/|y_i|) (Zheng et al. 2025, eq. 7).
  Expr seq_mean = sum(log_ratio * on_completion, 1, true) * in.inv_len;
  Expr ratio = exp(o.sequence_level ? seq_mean : log_ratio);  // [R, T] or [R, 1]
  Expr eps_low = g.param("epsilon", 0.2f), eps_high = g.param("epsilon_high", 0.2f);
  Expr adv = in.adv;
  Expr per_token;  // the policy term of each token, aggregated by the weights
  Expr pg_scalar;  // or a sequence-level objective
  switch (o.loss) {
    case PolicyLoss::Clip: {
      // PPO's clipped surrogate per token (Schulman et al. 2017, eq. 7) with GRPO's group advantage
      // (Shao et al. 2024, eq. 3) and DAPO's decoupled bounds (Yu et al. 2025, eq. 10):
      //   l = -min(r A, clip(r, 1 - epsilon, 1 + epsilon_high) A).
      // delta (TRL, INTELLECT-2's two-sided clipping): r in the first term is capped at delta.
      // clip_ratio_c (Ye et al. 2020, dual-clip; verl): for A < 0 the loss is at most -c A.
      Expr clipped = clamp(ratio, 1.0f - eps_low, 1.0f + eps_high);
      Expr unclipped = o.two_sided ? min(ratio, g.param("delta", 4.0f)) : ratio;
      per_token = -min(unclipped * adv, clipped * adv);
      if (o.dual_clip) {
        Expr c = g.param("clip_ratio_c", 3.0f);
        per_token = where(greater(zero, adv), min(per_token, -c * adv), per_token);
      }
      // TRL's clip ratios: low where r < 1 - epsilon with A < 0, high where r > 1 + epsilon_high with A > 0.
      out.clip_low = sum(greater(1.0f - eps_low, ratio) * greater(zero, adv) * in.token_mean);
      out.clip_high = sum(greater(ratio, 1.0f + eps_high) * greater(adv, zero) * in.token_mean);
      break;
    }
    case PolicyLoss::Cispo: {
      // CISPO (MiniMax-M1, 2025, eq. 4): the importance weight is clipped and detached, the gradient
      // is REINFORCE's: l = -sg(clip(r, lo, 1 + epsilon_high)) A log pi. TRL caps only from above
      // (TRL's epsilon_high is our 1 + epsilon_high); verl clips to [1 - epsilon, 1 + epsilon_high].
      Expr hi = 1.0f + eps_high;
      Expr w = o.cispo_verl ? clamp(ratio, 1.0f - eps_low, hi) : min(ratio, hi);
      per_token = -stop_gradient(w) * adv * in.logp;
      out.clip_low = o.cispo_verl ? sum(greater(1.0f - eps_low, ratio) * in.token_mean) : g.constant(0.0f);
      out.clip_high = sum(greater(ratio, hi) * in.token_mean);
      break;
    }
    case PolicyLoss::Gpg:
      // GPG (Chu et al. 2025, eq. 7): the plain policy gradient, l = -A log pi.
      per_token = -adv * in.logp;
      break;
    case PolicyLoss::Gvpo: {
      // GVPO (Zhang et al. 2025, eq. 10): with s_i = log pi(y_i)/pi_ref(y_i) of the whole completion,
      //   L = 1/(2 (G - 1)) sum_i ((r_i - mean r) - beta (s_i - mean s))^2 per group, mean over groups;
      // its gradient is -beta / (G - 1) sum_i w_i grad log pi(y_i) with w_i the bracket (the weights
      // sum to 0, which removes the partition function).
      const Dims pg{in.groups, in.G};
      Expr s = reshape(sum((in.logp - in.ref_logp) * on_completion, 1, true), pg);
      Expr r = reshape(in.rewards, pg);
      Expr w = (r - mean(r, 1, true)) - g.param("gvpo_beta", 0.1f) * (s - mean(s, 1, true));
      pg_scalar = mean(square(w)) * (static_cast<float>(in.G) / (2.0f * static_cast<float>(in.G - 1)));
      break;
    }
    case PolicyLoss::Rebel: {
      // REBEL (Gao et al. 2024, eq. 2): pairs of completions (2k, 2k + 1) of a prompt regress the
      // difference of their log-ratios to the sampling policy onto their reward difference:
      //   L = mean over pairs ((s_a - s_b) / eta - (r_a - r_b))^2,  s = log pi(y)/pi_old(y).
      const Dims pairs{in.groups, in.G / 2, 2};
      Expr s = reshape(sum(log_ratio * on_completion, 1, true), pairs);
      Expr r = reshape(in.rewards, pairs);
      Expr ds = slice_last(s, 0, 1) - slice_last(s, 1, 1);
      Expr dr = slice_last(r, 0, 1) - slice_last(r, 1, 1);
      pg_scalar = mean(square(ds / g.param("rebel_eta", 1.0f) - dr));
      break;
    }
    case PolicyLoss::AStarPo: {
      // A*-PO (Brantley et al. 2025, eq. 4 and 6): V*(x) = beta1 log mean_j exp(r_j / beta1) over
      // completions of the reference (value_star, computed by the trainer); then each on-policy
      // completion regresses  L = mean (beta log pi(y)/pi_ref(y) - (r - V*(x)))^2.
      Expr s = sum((in.logp - in.ref_logp) * on_completion, 1, true);
      pg_scalar = mean(square(g.param("astar_beta", 0.1f) * s - (in.rewards - in.value_star)));
      break;
    }
    case PolicyLoss::Disco: {
      // DisCO (Li et al. 2025, eq. 9 and 12): per prompt, positives (reward above the group mean)
      // and negatives (below); score s = mean token log-prob (log_l) or mean token ratio to the
      // sampling policy (l_ratio); the objective
      //   J = mean_{pos} s - tau log mean_{neg} exp(s / tau)
      // is maximised over groups with both, under KL(pi_old || pi) <= delta as a squared hinge:
      //   L = -mean_groups J + disco_beta * max(KL - delta, 0)^2,  KL = mean over tokens of old - logp.
      const Dims pg{in.groups, in.G};
      Expr per = o.disco_log_l ? in.logp : exp(log_ratio);
      Expr s = sum(per * on_completion, 1, true) * in.inv_len;  // [R, 1]
      Expr tau = g.param("disco_tau", 10.0f);
      Expr pos = sum(reshape(s * in.disco_pos, pg), 1, true);                          // [P, 1]
      Expr neg = logsumexp(reshape(s / tau + in.disco_neg, pg), 1, true) - in.disco_log_neg;  // [P, 1]
      Expr objective = sum((pos - tau * neg) * in.disco_group);
      Expr kl_old = sum((in.old_logp - in.logp) * in.token_mean);
      Expr hinge = relu(kl_old - g.param("disco_delta", 1e-4f));
      pg_scalar = -objective + g.param("disco_beta", 1000.0f) * square(hinge);
      break;
    }
  }
  if (!out.clip_low.valid()) out.clip_low = g.constant(0.0f);
  if (!out.clip_high.valid()) out.clip_high = g.constant(0.0f);
  out.pg_loss = per_token.valid() ? sum(per_token * in.weights) : pg_scalar;
  out.loss = out.pg_loss;
  if (in.ref_logp.valid()) {
    Expr kl = kl_estimate(in.logp, in.ref_logp, o.kl);
    out.kl = sum(kl * in.token_mean);
    // The KL term of the loss (TRL: per_token_loss + beta * per_token_kl, aggregated alike; the
    // entropy mask is not on it: fill_token_weights).
    if (o.beta > 0 && !o.kl_in_reward) out.loss = out.loss + g.param("beta", o.beta) * sum(kl * in.kl_weights);
  }
  return out;
}

}  // namespace pl
