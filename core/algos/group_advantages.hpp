// Advantage estimators over groups of completions of the same prompt (group-relative RL).
// Rewards and advantages are prompt-major: completion g of prompt p is at p * G + g. None of the
// functions allocates; each returns the number of zero-variance groups (all rewards equal: no
// learning signal from that prompt).
#pragma once

#include <cmath>

namespace pl {

enum class ScaleRewards { Group, Batch, None };

// GRPO (Shao et al. 2024, DeepSeekMath, eq. 3/outcome supervision), as TRL's GRPOTrainer computes
// it: A_i = r_i - mean(group); divided by (std + eps) with the group's std (scale_rewards "group"),
// the whole batch's std ("batch"), or not at all ("none" = Dr. GRPO, Liu et al. 2025). The std is
// Bessel-corrected (torch.std), eps = 1e-4 in TRL (verl uses 1e-6: the `std_eps` option).
inline int grpo_advantages(const float* r, int P, int G, ScaleRewards scale, float eps, float* out) {
  int zero_variance = 0;
  double batch_mean = 0, batch_sq = 0;
  const int n = P * G;
  for (int i = 0; i < n; ++i) batch_mean += r[i];
  batch_mean /= n;
  for (int i = 0; i < n; ++i) batch_sq += (r[i] - batch_mean) * (r[i] - batch_mean);
  const double batch_std = n > 1 ? std::sqrt(batch_sq / (n - 1)) : 0.0;
  for (int p = 0; p < P; ++p) {
    const float* rg = r + p * G;
    double mean = 0, sq = 0;
    for (int g = 0; g < G; ++g) mean += rg[g];
    mean /= G;
    for (int g = 0; g < G; ++g) sq += (rg[g] - mean) * (rg[g] - mean);
    const double std = G > 1 ? std::sqrt(sq / (G - 1)) : 0.0;
    zero_variance += sq == 0.0;
    const double denom = scale == ScaleRewards::Group ? std + eps : scale == ScaleRewards::Batch ? batch_std + eps : 1.0;
    for (int g = 0; g < G; ++g) out[p * G + g] = static_cast<float>((rg[g] - mean) / denom);
  }
  return zero_variance;
}

// RLOO (Ahmadian et al. 2024, "Back to Basics"): the baseline of completion i is the mean reward of
// the other G - 1 completions of its prompt: A_i = r_i - (sum - r_i) / (G - 1).
inline int rloo_advantages(const float* r, int P, int G, float* out) {
  int zero_variance = 0;
  for (int p = 0; p < P; ++p) {
    const float* rg = r + p * G;
    double sum = 0;
    bool all_equal = true;
    for (int g = 0; g < G; ++g) {
      sum += rg[g];
      all_equal = all_equal && rg[g] == rg[0];
    }
    zero_variance += all_equal;
    for (int g = 0; g < G; ++g) out[p * G + g] = G > 1 ? static_cast<float>(rg[g] - (sum - rg[g]) / (G - 1)) : 0.0f;
  }
  return zero_variance;
}

}  // namespace pl
