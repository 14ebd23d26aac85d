// The policy losses of group-relative RL, built as expressions on a tensor tape, so that the GRPO
// trainer (grpo.cpp) and the loss lab (`policylab loss`, the browser's loss explorer) evaluate the
// same formulas. Every formula is written at its definition in group_losses.cpp with its paper.
// Option names follow TRL's GRPOTrainer where it has the piece, else verl's.
//
// The tensors a loss reads (R = P * G completions, prompt-major; T token positions):
//   per token [R, T]: logp (current policy, differentiable), old_logp (at sampling), ref_logp (a
//     frozen reference; only when the options need one), weights (the aggregation weight of each
//     token's loss, loss_agg_mode, 0 off the completion and on masked tokens), token_mean (1 / N on
//     the N completion tokens of the batch: for reported means);
//   per completion [R, 1]: adv, rewards, inv_len (1 / tokens), value_star (A*-PO), disco_pos
//     (1 / positives of its group on positives), disco_neg (0 on negatives, -1e9 elsewhere);
//   per prompt [P, 1]: disco_log_neg (log of the group's negatives), disco_group (1 / valid groups
//     on groups with a positive and a negative, else 0).
#pragma once

#include <string>
#include <vector>

#include "core/algos/group_advantages.hpp"
#include "core/autodiff/tape.hpp"
#include "core/train/config.hpp"

namespace pl {

enum class PolicyLoss { Clip, Cispo, Gpg, Gvpo, Rebel, AStarPo, Disco };
enum class KlEstimator { K1, K2, K3, LowVarKl };
enum class LossAgg { TokenMean, SeqMeanTokenMean, SeqMeanTokenSum, SeqMeanTokenSumNorm };

// Every option of the group-relative pieces, read from a config's values (or the loss lab's).
struct GroupLossOptions {
  Estimator estimator = Estimator::Grpo;
  EstimatorOptions estimator_options;
  PolicyLoss loss = PolicyLoss::Clip;
  bool sequence_level = false;   // importance_sampling_level "sequence" (GSPO)
  bool cispo_verl = false;       // cispo_clip "verl": both bounds; "trl": only the upper one
  bool two_sided = false;        // delta > 0 (TRL): the unclipped ratio is capped at delta
  bool dual_clip = false;        // clip_ratio_c > 0 (verl dual-clip for A < 0)
  float beta = 0.0f;             // KL weight; > 0 builds the reference
  KlEstimator kl = KlEstimator::K3;
  bool kl_in_reward = false;     // the KL enters the reward (verl use_kl_in_reward) instead of the loss
  bool disco_log_l = true;       // disco_score "log_l" or "l_ratio"
  LossAgg agg = LossAgg::TokenMean;  // the schema's default (TRL's 'dapo', verl's token-mean)
  bool mask_truncated = false;
  float top_entropy_quantile = 1.0f;
  int astar_ref_samples = 8;
  int adaptthink_ref_samples = 8;             // adaptthink: K reference samples per prompt for Rbar_ref(x)
  bool adaptthink_importance_sampling = true;  // adaptthink: sample from pi_IS (forced first marker)

  // Advantages per token ([R, T]), not per completion: gae (from a critic), and kl_in_reward with
  // reinforce_plus_plus or remax, whose returns charge each token the KL from it on (verl).
  bool token_advantages() const { return estimator == Estimator::Gae || kl_returns_to_go(); }
  bool kl_returns_to_go() const {
    return kl_in_reward && (estimator == Estimator::ReinforcePlusPlus || estimator == Estimator::Remax);
  }
  // The frozen initial weights are kept (as a sampler, not in the loss) for AdaptThink's Rbar_ref.
  bool keeps_reference() const { return needs_reference() || estimator == Estimator::AdaptThink; }
  bool needs_reference() const {
    return beta > 0 || loss == PolicyLoss::Gvpo || loss == PolicyLoss::AStarPo;
  }
  // Pieces that need no group of completions per prompt: gae's critic gives the baseline, A*-PO
  // regresses each completion on its own V* (the paper samples one per prompt). Every other piece
  // compares the completions of a prompt: the trainer's num_generations and the loss lab's
  // group_size must then be at least 2.
  bool takes_single_completions() const { return estimator == Estimator::Gae || loss == PolicyLoss::AStarPo; }
  bool sequence_objective() const {
    return loss == PolicyLoss::Gvpo || loss == PolicyLoss::Rebel || loss == PolicyLoss::AStarPo ||
           loss == PolicyLoss::Disco;
  }
};

// The fields (groups "loss" and "rollout") of every option above; GRPO's schema and the loss lab.
const std::vector<FieldSpec>& group_loss_fields();
// Reads options from validated values (every field of group_loss_fields() present).
GroupLossOptions group_loss_options(const json& values);
// The graph parameters a loss reads live (epsilon, epsilon_high, delta, clip_ratio_c, beta, ...)
// set from the values.
void set_group_loss_params(Graph& g, const json& values);

struct PolicyLossInfo {
  const char* name;
  PolicyLoss id;
  const char* summary;
  const char* reference;
  std::vector<std::string> inputs;   // columns besides logp, old_logp, adv
  std::vector<std::string> options;  // fields it reads
};
const std::vector<PolicyLossInfo>& policy_losses();
const PolicyLossInfo* find_policy_loss(const std::string& name);

struct GroupLossInputs {
  Expr logp, old_logp, ref_logp, weights, kl_weights, token_mean;
  Expr adv, rewards, inv_len, value_star, disco_pos, disco_neg;
  Expr disco_log_neg, disco_group;
  Dim groups;  // P
  int G = 2;
};

// Host buffers of those inputs (old_logp included; logp and ref_logp are the caller's), allocated
// for the capacities once and bound once; callers fill them densely at the active sizes.
struct GroupLossBuffers {
  std::vector<float> weights, kl_weights, token_mean, old_logp;                       // [R, T]
  std::vector<float> advantages, rewards, inv_len, value_star, disco_pos, disco_neg;  // [R] (advantages [R, T] for gae)
  std::vector<float> disco_log_neg, disco_group;                                      // [P]
  void allocate(int rows, int time, int groups, bool token_advantages = false);
  void bind(Graph& g, const GroupLossInputs& in);
};

struct GroupLossOutputs {
  Expr loss;             // what is minimised
  Expr pg_loss;          // the policy part
  Expr kl;               // mean per-token KL estimate to the reference (invalid without one)
  Expr clip_low, clip_high;  // shares of completion tokens clipped (see the definitions)
};

// Declares the per-completion and per-prompt inputs a loss needs (shapes above) on g.
GroupLossInputs declare_group_loss_inputs(Graph& g, Dim rows, Dim time, Dim groups, int G, const GroupLossOptions& o);
GroupLossOutputs build_group_loss(Graph& g, const GroupLossInputs& in, const GroupLossOptions& o);

// The per-token KL estimate of KL(pi || ref) from samples of pi, d = ref_logp - logp (Schulman
// 2020): k1 = -d, k2 = d^2 / 2, k3 = e^d - d - 1; low_var_kl is verl's k3 with d clamped to
// [-20, 20] and the result to [-10, 10].
Expr kl_estimate(Expr logp, Expr ref_logp, KlEstimator k);
float kl_estimate(float logp, float ref_logp, KlEstimator k);

// The aggregation weight of each completion token (loss_agg_mode, verl's names), given the batch:
//   token-mean: 1 / batch_tokens (the completion tokens of the batch, those of truncated completions
//   left out under mask_truncated_completions: fill_token_weights); seq-mean-token-mean: 1 / (R * L_i);
//   seq-mean-token-sum: 1 / R; seq-mean-token-sum-norm: 1 / (R * max_len) (Dr. GRPO's constant).
float aggregation_weight(LossAgg agg, int rows, int length, int batch_tokens, int max_length);

// The q-quantile of `values` with torch.quantile's linear interpolation (reorders them; no
// allocation); top_entropy_quantile keeps the tokens at or above quantile(entropies, 1 - it).
float quantile(std::vector<float>& values, double q);

// The per-token weights of one batch, [R, T] with completion r's k-th token at column first + k
// (zero elsewhere): `policy` for the policy term, `kl` for the KL term. The masks as TRL's
// GRPOTrainer applies them (_compute_loss):
//  - mask_truncated_completions zeroes a truncated completion's completion_mask: it is out of both
//    terms, and token-mean's denominator counts only the other completions' tokens;
//  - top_entropy_quantile (Wang et al. 2025, "Beyond the 80/20 rule") keeps the policy term of the
//    tokens whose entropy is at or above the (1 - top_entropy_quantile) quantile of the remaining
//    completion tokens' entropies; the KL term keeps every token (TRL
//    multiplies the entropy mask into the policy loss before it adds beta * KL).
// truncated(r) and entropy(r, k) read the batch; `scratch` holds the entropies (reserve R x max
// length to stay allocation-free). Returns the completion tokens out of the policy term.
template <class Truncated, class Entropy>
int fill_token_weights(const GroupLossOptions& o, int R, int T, int first, const int* lengths, int max_length,
                       Truncated truncated, Entropy entropy, std::vector<float>& scratch, float* policy, float* kl) {
  auto dropped = [&](int r) { return o.mask_truncated && truncated(r); };
  int kept_tokens = 0;
  for (int r = 0; r < R; ++r) kept_tokens += dropped(r) ? 0 : lengths[r];
  const bool by_entropy = o.top_entropy_quantile < 1.0f;
  float entropy_floor = 0.0f;
  if (by_entropy) {
    scratch.clear();
    for (int r = 0; r < R; ++r)
      if (!dropped(r))
        for (int k = 0; k < lengths[r]; ++k) scratch.push_back(entropy(r, k));
    entropy_floor = scratch.empty() ? 0.0f : quantile(scratch, 1.0 - o.top_entropy_quantile);
  }
  int masked = 0;
  for (int r = 0; r < R; ++r) {
    const bool out = dropped(r);
    const float w = aggregation_weight(o.agg, R, lengths[r], kept_tokens, max_length);
    for (int t = 0; t < T; ++t) {
      const size_t at = static_cast<size_t>(r) * T + t;
      const int k = t - first;
      const bool on = k >= 0 && k < lengths[r];
      const bool low = on && !out && by_entropy && entropy(r, k) < entropy_floor;
      kl[at] = on && !out ? w : 0.0f;
      policy[at] = on && !out && !low ? w : 0.0f;
      masked += on && (out || low);
    }
  }
  return masked;
}

// Host-side inputs of DisCO for one batch: positives are completions above their group's mean
// reward, negatives below. Writes disco_pos, disco_neg [R] and disco_log_neg, disco_group [P].
void disco_weights(const float* rewards, int P, int G, float* pos, float* neg, float* log_neg, float* group);

}  // namespace pl
