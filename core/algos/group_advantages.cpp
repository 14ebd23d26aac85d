#include "core/algos/group_advantages.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace pl {

namespace {

double group_mean(const float* r, int G) {
  double s = 0;
  for (int g = 0; g < G; ++g) s += r[g];
  return s / G;
}

// Bessel-corrected (torch.std), 0 for a group of one.
double group_std(const float* r, int G, double mean) {
  if (G < 2) return 0.0;
  double sq = 0;
  for (int g = 0; g < G; ++g) sq += (r[g] - mean) * (r[g] - mean);
  return std::sqrt(sq / (G - 1));
}

bool all_equal(const float* r, int G) {
  for (int g = 1; g < G; ++g) {
    if (r[g] != r[0]) return false;
  }
  return true;
}

// verl's masked_whiten over the batch's completion tokens when every token of completion i carries
// the value v_i (outcome rewards, gamma = 1): with L_i tokens each, the token mean is
// sum L_i v_i / sum L_i, the variance sum L_i (v_i - mean)^2 / (sum L_i - 1) (unbiased), and
// v_i -> (v_i - mean) / sqrt(var + 1e-8). Without lengths every completion counts once.
void whiten_over_tokens(float* v, const float* lengths, int n) {
  double tokens = 0, sum = 0;
  for (int i = 0; i < n; ++i) {
    const double L = lengths ? lengths[i] : 1.0;
    tokens += L;
    sum += L * v[i];
  }
  const double mean = tokens > 0 ? sum / tokens : 0.0;
  double sq = 0;
  for (int i = 0; i < n; ++i) sq += (lengths ? lengths[i] : 1.0) * (v[i] - mean) * (v[i] - mean);
  const double var = tokens > 1 ? sq / (tokens - 1) : 0.0;
  const double inv = 1.0 / std::sqrt(var + 1e-8);
  for (int i = 0; i < n; ++i) v[i] = static_cast<float>((v[i] - mean) * inv);
}

// x / (std + eps). std + eps is 0 only when std_eps is 0 and the rewards scaled (the group's or
// the batch's) are all equal; x is then 0 as well and the advantage is 0 (no signal), not 0 / 0.
double over_std(double x, double std, double eps) {
  const double d = std + eps;
  return d > 0 ? x / d : 0.0;
}

}  // namespace

int count_zero_variance_groups(const float* r, int P, int G) {
  int zero = 0;
  for (int p = 0; p < P; ++p) zero += all_equal(r + static_cast<size_t>(p) * G, G);
  return zero;
}

// GRPO (Shao et al. 2024, DeepSeekMath, eq. 3, outcome supervision), as TRL's GRPOTrainer computes
// it: A_i = r_i - mean(group); divided by (std + eps) with the group's std (scale_rewards "group"),
// the whole batch's std ("batch"), or not at all ("none" = Dr. GRPO, Liu et al. 2025). The std is
// Bessel-corrected (torch.std), eps = 1e-4 in TRL (verl uses 1e-6: the `std_eps` option).
int grpo_advantages(const float* r, int P, int G, ScaleRewards scale, float eps, float* out) {
  const int n = P * G;
  const double batch_mean = group_mean(r, n);
  const double batch_std = group_std(r, n, batch_mean);
  for (int p = 0; p < P; ++p) {
    const float* rg = r + static_cast<size_t>(p) * G;
    const double mean = group_mean(rg, G);
    const double std = group_std(rg, G, mean);
    for (int g = 0; g < G; ++g) {
      const double centred = rg[g] - mean;
      const double a = scale == ScaleRewards::Group   ? over_std(centred, std, eps)
                       : scale == ScaleRewards::Batch ? over_std(centred, batch_std, eps)
                                                      : centred;
      out[p * G + g] = static_cast<float>(a);
    }
  }
  return count_zero_variance_groups(r, P, G);
}

// RLOO (Ahmadian et al. 2024, "Back to Basics", eq. 7; Kool et al. 2019): the baseline of
// completion i is the mean reward of the other G - 1 completions: A_i = r_i - (sum - r_i) / (G - 1).
int rloo_advantages(const float* r, int P, int G, float* out) {
  for (int p = 0; p < P; ++p) {
    const float* rg = r + static_cast<size_t>(p) * G;
    const double sum = group_mean(rg, G) * G;
    for (int g = 0; g < G; ++g) out[p * G + g] = G > 1 ? static_cast<float>(rg[g] - (sum - rg[g]) / (G - 1)) : 0.0f;
  }
  return count_zero_variance_groups(r, P, G);
}

double beta_density(double p, double a, double b) {
  if (p < 0 || p > 1) return 0.0;
  const double log_norm = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b);
  // The ends: p^(a - 1) is 1 for a = 1 and 0 for a > 1 at p = 0 (likewise for b at p = 1).
  if ((p == 0 && a > 1) || (p == 1 && b > 1)) return 0.0;
  const double lp = p == 0 ? 0.0 : (a - 1) * std::log(p);
  const double lq = p == 1 ? 0.0 : (b - 1) * std::log1p(-p);
  return std::exp(log_norm + lp + lq);
}

int estimate_advantages(Estimator e, const GroupRewards& in, const EstimatorOptions& o, float* out) {
  const float* r = in.rewards;
  const int P = in.P, G = in.G, n = P * G;
  switch (e) {
    case Estimator::Grpo:
      return grpo_advantages(r, P, G, o.scale, o.std_eps, out);
    case Estimator::Rloo:
      return rloo_advantages(r, P, G, out);
    case Estimator::ReinforcePlusPlus:
      // REINFORCE++ (Hu et al. 2025, arXiv 2501.03262, eq. 10): the return (here the outcome reward)
      // whitened over every completion token of the batch, no per-prompt baseline.
      std::copy(r, r + n, out);
      whiten_over_tokens(out, in.lengths, n);
      break;
    case Estimator::ReinforcePlusPlusBaseline:
      // REINFORCE++-baseline (same paper, sec. 3.3): subtract the group mean, then whiten over tokens.
      for (int p = 0; p < P; ++p) {
        const float* rg = r + static_cast<size_t>(p) * G;
        const double mean = G > 1 ? group_mean(rg, G) : 0.0;
        for (int g = 0; g < G; ++g) out[p * G + g] = static_cast<float>(rg[g] - mean);
      }
      whiten_over_tokens(out, in.lengths, n);
      break;
    case Estimator::Remax:
      // ReMax (Li et al. 2024, arXiv 2310.10505, alg. 1): the baseline is the reward of the greedy
      // completion of the same prompt: A_i = r_i - r(greedy).
      for (int i = 0; i < n; ++i) out[i] = r[i] - (in.baselines ? in.baselines[i / G] : 0.0f);
      break;
    case Estimator::Opo:
      // OPO (Hao et al. 2025, arXiv 2505.23585, eq. 6): the optimal baseline under the assumption that
      // gradient norms grow with length: b = sum_i L_i r_i / sum_i L_i over the group; A_i = r_i - b.
      for (int p = 0; p < P; ++p) {
        double num = 0, den = 0;
        for (int g = 0; g < G; ++g) {
          const double L = in.lengths ? in.lengths[p * G + g] : 1.0;
          num += L * r[p * G + g];
          den += L;
        }
        const double b = G > 1 && den > 0 ? num / den : 0.0;
        for (int g = 0; g < G; ++g) out[p * G + g] = static_cast<float>(r[p * G + g] - b);
      }
      break;
    case Estimator::Gpg: {
      // GPG (Chu et al. 2025, arXiv 2504.02546, eq. 8): A_i = alpha (r_i - mean(group)) with
      // alpha = B / (B - M), M the completions in zero-variance groups (they carry no gradient, so
      // the others are scaled up to keep the batch's gradient magnitude). verl counts
      // B / (completions with a nonzero reward) instead: gpg_alpha = "nonzero_rewards".
      int m = 0;
      if (o.gpg_alpha == GpgAlpha::ZeroVarianceGroups) {
        m = count_zero_variance_groups(r, P, G) * G;
        m = n - m;  // completions that carry signal
      } else {
        for (int i = 0; i < n; ++i) m += r[i] != 0.0f;
      }
      const double alpha = static_cast<double>(n) / std::max(1, m);
      for (int p = 0; p < P; ++p) {
        const float* rg = r + static_cast<size_t>(p) * G;
        const double mean = G > 1 ? group_mean(rg, G) : 0.0;
        for (int g = 0; g < G; ++g) out[p * G + g] = static_cast<float>(alpha * (rg[g] - mean));
      }
      break;
    }
    case Estimator::Bnpo: {
      // BNPO (Xiao et al. 2025, arXiv 2506.02864, eq. 9 and thm. 2): rewards mapped to [0, 1], p_q the
      // group's mean reward; A_i = (r_i - p_q) / f(p_q; alpha, beta), f the Beta density with
      // alpha = max(1, 1 + a/3), beta = max(1, 1 + b/3), where (a, b) is the method-of-moments Beta
      // fit of the batch's p_q (mean m, Bessel variance v): a = (m(1-m)/v - 1) m, b = (m(1-m)/v - 1)(1-m).
      // 1/f is capped at 1e6 as in the authors' code. A batch whose p_q are all equal (v = 0) or a
      // single prompt uses alpha = beta = 1 (f = 1: REINFORCE with the group-mean baseline).
      const double span = o.bnpo_max - o.bnpo_min;
      double m = 0, v = 0;
      for (int p = 0; p < P; ++p) m += (group_mean(r + static_cast<size_t>(p) * G, G) - o.bnpo_min) / span;
      m /= P;
      for (int p = 0; p < P; ++p) {
        const double q = (group_mean(r + static_cast<size_t>(p) * G, G) - o.bnpo_min) / span;
        v += (q - m) * (q - m);
      }
      v = P > 1 ? v / (P - 1) : 0.0;
      double alpha = 1, beta = 1;
      if (v > 0) {
        const double k = m * (1 - m) / v - 1;
        alpha = std::max(1.0, 1 + k * m / 3);
        beta = std::max(1.0, 1 + k * (1 - m) / 3);
      }
      for (int p = 0; p < P; ++p) {
        const float* rg = r + static_cast<size_t>(p) * G;
        const double q = std::min(1.0, std::max(0.0, (group_mean(rg, G) - o.bnpo_min) / span));
        const double f = beta_density(q, alpha, beta);
        const double weight = f > 0 ? std::min(1.0 / f, 1e6) : 1e6;
        for (int g = 0; g < G; ++g) out[p * G + g] = static_cast<float>(weight * ((rg[g] - o.bnpo_min) / span - q));
      }
      break;
    }
    case Estimator::GrpoPassk:
      // Pass@k-style GRPO (verl's grpo_passk, after arXiv 2503.19595): only the best completion of a
      // group gets an advantage, r_max - r_second_max, divided by (std + eps) with the group's or the
      // batch's std (scale_rewards, unless none); the others get 0. Ties go to the first best one.
      for (int p = 0; p < P; ++p) {
        const float* rg = r + static_cast<size_t>(p) * G;
        int best = 0;
        for (int g = 1; g < G; ++g) best = rg[g] > rg[best] ? g : best;
        float second = -INFINITY;
        for (int g = 0; g < G; ++g) {
          if (g != best) second = std::max(second, rg[g]);
        }
        double a = G > 1 ? rg[best] - second : 0.0;
        // scale_rewards as for grpo: the group's std (verl's norm_adv_by_std_in_grpo), the batch's, or none.
        if (o.scale == ScaleRewards::Group) a = over_std(a, group_std(rg, G, group_mean(rg, G)), o.std_eps);
        if (o.scale == ScaleRewards::Batch) a = over_std(a, group_std(r, n, group_mean(r, n)), o.std_eps);
        for (int g = 0; g < G; ++g) out[p * G + g] = g == best ? static_cast<float>(a) : 0.0f;
      }
      break;
    case Estimator::AdaptThink:
      // AdaptThink (Zhang et al. 2025, arXiv 2505.13417, sec. 3.1): maximise the share of NoThinking
      // responses subject to E[R(x, y)] >= E[R_ref(x, y')] (the constrained objective, eq. 1); its
      // penalty form with delta = 1 / lambda and the reference's reward estimated per prompt by the
      // mean Rbar_ref(x) of K reference samples gives every response the advantage
      //   A(x, y) = delta * 1[y_1 = NoThinking marker] + R(x, y) - Rbar_ref(x),
      // used as is in the PPO-clip loss: no group mean, no std normalisation. (The authors' reward
      // manager, THU-KEG/AdaptThink, computes the same: acc - ref_mean_acc, plus nothinking_bonus =
      // delta on NoThinking rows; Rbar_ref there is the reference's pre-sampled mean accuracy.)
      for (int i = 0; i < n; ++i)
        out[i] = o.adaptthink_delta * (in.nothink ? in.nothink[i] : 0.0f) + r[i] - (in.baselines ? in.baselines[i / G] : 0.0f);
      break;
    case Estimator::Gae:
      throw std::invalid_argument("advantage_estimator 'gae' works per token with a critic (gae_advantages)");
  }
  return count_zero_variance_groups(r, P, G);
}

const std::vector<EstimatorInfo>& estimators() {
  static const std::vector<EstimatorInfo> table = {
      {"grpo", Estimator::Grpo, "group-normalised reward: (r - mean) / (std + eps); scale_rewards none is Dr. GRPO",
       "Shao et al. 2024 (DeepSeekMath); Liu et al. 2025 (Dr. GRPO)", {}, {"scale_rewards", "std_eps"}},
      {"rloo", Estimator::Rloo, "leave-one-out baseline: r_i - mean of the other G - 1 rewards",
       "Ahmadian et al. 2024 (Back to Basics)", {}, {}},
      {"reinforce_plus_plus", Estimator::ReinforcePlusPlus, "reward whitened over the batch's tokens, no baseline",
       "Hu et al. 2025 (REINFORCE++)", {"lengths"}, {}},
      {"reinforce_plus_plus_baseline", Estimator::ReinforcePlusPlusBaseline,
       "group-mean baseline, then whitened over the batch's tokens", "Hu et al. 2025 (REINFORCE++)", {"lengths"}, {}},
      {"remax", Estimator::Remax, "baseline: the reward of the greedy completion of the prompt",
       "Li et al. 2024 (ReMax)", {"baselines"}, {}},
      {"opo", Estimator::Opo, "length-weighted group baseline: sum L_i r_i / sum L_i", "Hao et al. 2025 (OPO)",
       {"lengths"}, {}},
      {"gpg", Estimator::Gpg, "group-mean baseline rescaled by B / (B - M), M the completions without signal",
       "Chu et al. 2025 (GPG)", {}, {"gpg_alpha"}},
      {"bnpo", Estimator::Bnpo, "(r - p) / Beta(p; alpha, beta) density, alpha, beta fitted to the batch",
       "Xiao et al. 2025 (BNPO)", {}, {"bnpo_reward_min", "bnpo_reward_max"}},
      {"grpo_passk", Estimator::GrpoPassk, "only the best completion of a group: r_max - r_second (/ std)",
       "verl grpo_passk (arXiv 2503.19595)", {}, {"scale_rewards", "std_eps"}},
      {"gae", Estimator::Gae,
       "per token, with a learned critic V: delta_t = r_t + gamma V_{t+1} - V_t, A_t = sum (gamma lam)^k delta_{t+k}, "
       "whitened over the batch's tokens; r_t = -beta kl_t (kl_in_reward) plus the reward at the last token (PPO-RLHF)",
       "Schulman et al. 2016 (GAE); Ouyang et al. 2022 (PPO-RLHF); TRL PPOTrainer, verl gae", {"values", "kl"}, {"gamma", "lam", "beta"}},
      {"adaptthink", Estimator::AdaptThink,
       "delta * [NoThinking] + r - Rbar_ref(x), the reference model's mean reward on the prompt; no normalisation",
       "Zhang et al. 2025 (AdaptThink)", {"baselines", "nothink"}, {"adaptthink_delta"}},
  };
  return table;
}

void gae_advantages(const float* token_rewards, const float* values, int n, float gamma, float lam, float* advantages,
                    float* returns) {
  double running = 0;  // A_{k+1}
  for (int k = n - 1; k >= 0; --k) {
    const double next_value = k + 1 < n ? values[k + 1] : 0.0;
    const double delta = token_rewards[k] + gamma * next_value - values[k];
    running = delta + static_cast<double>(gamma) * lam * running;
    advantages[k] = static_cast<float>(running);
    returns[k] = static_cast<float>(running + values[k]);
  }
}

void kl_returns_to_go(float reward, const float* kl, int n, float beta, float baseline, float* out) {
  double to_go = reward;
  for (int k = n - 1; k >= 0; --k) {
    to_go -= static_cast<double>(beta) * kl[k];
    out[k] = static_cast<float>(to_go - baseline);
  }
}

float astar_value_star(const float* rewards, int n, float beta1) {
  double top = -INFINITY;
  for (int j = 0; j < n; ++j) top = std::max(top, static_cast<double>(rewards[j]) / beta1);
  double sum = 0;
  for (int j = 0; j < n; ++j) sum += std::exp(static_cast<double>(rewards[j]) / beta1 - top);
  return static_cast<float>(beta1 * (top + std::log(sum / n)));
}

void whiten(float* v, int n) {
  if (n < 2) return;
  double mean = 0;
  for (int i = 0; i < n; ++i) mean += v[i];
  mean /= n;
  double var = 0;
  for (int i = 0; i < n; ++i) var += (v[i] - mean) * (v[i] - mean);
  var /= n - 1;
  const double scale = 1.0 / std::sqrt(var + 1e-8);
  for (int i = 0; i < n; ++i) v[i] = static_cast<float>((v[i] - mean) * scale);
}

const EstimatorInfo* find_estimator(const std::string& name) {
  for (const EstimatorInfo& e : estimators()) {
    if (name == e.name) return &e;
  }
  return nullptr;
}

std::vector<std::string> estimator_names() {
  std::vector<std::string> names;
  for (const EstimatorInfo& e : estimators()) names.emplace_back(e.name);
  return names;
}

}  // namespace pl
