// Advantage estimators over groups of completions of the same prompt (group-relative RL). Names
// follow verl's `adv_estimator` (and TRL's GRPOTrainer where it has the piece). Each formula is
// written at its definition in group_advantages.cpp with its paper.
//
// Rewards and advantages are prompt-major: completion g of prompt p is at p * G + g. Every
// estimator treats a completion's reward as one outcome reward (gamma = 1), so its advantage is the
// same on every token of the completion. None of the functions allocates; each returns the number
// of zero-variance groups (all rewards of the prompt equal: no learning signal from it).
#pragma once

#include <string>
#include <vector>

namespace pl {

enum class ScaleRewards { Group, Batch, None };

enum class Estimator { Grpo, Rloo, ReinforcePlusPlus, ReinforcePlusPlusBaseline, Remax, Opo, Gpg, Bnpo, GrpoPassk, AdaptThink, Gae };

// GPG's rescaling alpha = B / (B - M): M counts the completions of zero-variance groups (the GPG
// paper), or, as verl computes it, B / (completions with a nonzero reward).
enum class GpgAlpha { ZeroVarianceGroups, NonzeroRewards };

struct EstimatorOptions {
  ScaleRewards scale = ScaleRewards::Group;  // grpo, grpo_passk (group or none)
  float std_eps = 1e-4f;                     // added to the std before dividing (TRL 1e-4, verl 1e-6)
  GpgAlpha gpg_alpha = GpgAlpha::ZeroVarianceGroups;
  float bnpo_min = 0.0f, bnpo_max = 1.0f;    // bnpo: rewards are mapped to [0, 1] by (r - min) / (max - min)
  float adaptthink_delta = 0.05f;            // adaptthink: the bonus delta of a NoThinking response
  float gamma = 1.0f, lam = 0.95f;           // gae: discount and GAE's lambda over completion tokens
};

// What an estimator reads besides the rewards.
struct GroupRewards {
  const float* rewards = nullptr;    // [P * G]
  int P = 1, G = 1;
  const float* lengths = nullptr;    // [P * G] completion tokens (opo, reinforce_plus_plus[_baseline])
  const float* baselines = nullptr;  // [P] a baseline reward per prompt (remax: the greedy completion's;
                                     // adaptthink: the reference model's mean reward Rbar_ref(x))
  const float* nothink = nullptr;    // [P * G] 1 for a NoThinking response, else 0 (adaptthink)
};

struct EstimatorInfo {
  const char* name;
  Estimator id;
  const char* summary;
  const char* reference;
  std::vector<std::string> inputs;   // input columns besides "rewards" (see the loss lab)
  std::vector<std::string> options;  // config fields it reads
};

const std::vector<EstimatorInfo>& estimators();
// nullptr when unknown.
const EstimatorInfo* find_estimator(const std::string& name);
std::vector<std::string> estimator_names();

// Writes the P * G advantages; returns the number of zero-variance groups. Not for gae, whose
// advantages are per token (gae_advantages).
int estimate_advantages(Estimator e, const GroupRewards& in, const EstimatorOptions& o, float* out);

// Generalized advantage estimation over one completion's n tokens (Schulman et al. 2016, "High-
// Dimensional Continuous Control Using Generalized Advantage Estimation", eqs. 11-16), as TRL's
// PPOTrainer and verl's compute_gae_advantage_return apply it to language models: token k is the
// action taken in state k (the prefix before it), values[k] = V(state k), token_rewards[k] its
// reward (RLHF: -beta * KL_k, plus the sequence's reward at the last token, Ouyang et al. 2022);
//   delta_k = r_k + gamma * V_{k+1} - V_k   (V_n = 0: the completion ends),
//   A_k = sum_{j >= 0} (gamma * lam)^j * delta_{k+j},   returns_k = A_k + V_k (the critic's target).
void gae_advantages(const float* token_rewards, const float* values, int n, float gamma, float lam, float* advantages,
                    float* returns);
// kl_in_reward with reinforce_plus_plus or remax (verl, core_algos.py: the outcome estimators that
// take returns per token): the token rewards are -beta * kl_t plus `reward` at the last token, and
// out_k = sum of them from k on (gamma 1) - baseline = reward - beta * sum_{s >= k} kl_s - baseline.
void kl_returns_to_go(float reward, const float* kl, int n, float beta, float baseline, float* out);
// A*-PO's optimal value (Brantley et al. 2025, eq. 4): V*(x) = beta1 log mean_j exp(r_j / beta1)
// over n rewards of the reference's completions of x (log-sum-exp shifted by the largest term).
float astar_value_star(const float* rewards, int n, float beta1);
// (v - mean) / sqrt(var + 1e-8) over v[0, n), var with Bessel's correction: TRL's and verl's
// masked_whiten, applied to the batch's token advantages.
void whiten(float* v, int n);

// The building blocks, also used on their own.
int grpo_advantages(const float* r, int P, int G, ScaleRewards scale, float eps, float* out);
int rloo_advantages(const float* r, int P, int G, float* out);
int count_zero_variance_groups(const float* r, int P, int G);
// Beta(a, b) density at p in [0, 1] (0 at the ends when a, b > 1).
double beta_density(double p, double a, double b);

}  // namespace pl
