// Direct preference-optimization losses (the DPO family), built as expressions on a tensor tape so
// that the DPO trainer (dpo.cpp) and the loss lab (`policylab loss`, the browser's loss explorer)
// evaluate the same formulas. Names follow TRL's DPOTrainer (`loss_type`, `beta`,
// `label_smoothing`, ...); every formula is written at its definition in preference_losses.cpp
// with its paper.
//
// The tensors a pair loss reads, one entry per preference pair (all of the same dims, e.g. [P]):
//   chosen_logps, rejected_logps          the policy's summed completion-token log-probabilities
//                                         (differentiable);
//   ref_chosen_logps, ref_rejected_logps  the frozen reference's (no gradient; unused when the
//                                         loss is reference-free);
//   chosen_tokens, rejected_tokens        completion token counts (>= 1; length-normalised losses,
//                                         and the sft term's mean per-token NLL of the chosen).
// An Expr a loss does not read may be left invalid (e.g. the reference's for "simpo"); one it reads
// and is invalid is a ConfigError naming it (preference_loss_columns() says which it reads).
//
// loss_type is one name or a comma-separated list ("sigmoid,sft" is RPO), combined as TRL combines
// its list: loss = sum_k loss_weights[k] * mean over pairs of loss_k; loss_weights is the same
// kind of list of numbers (empty: every weight 1). Both are String fields (the config system has no
// string lists); the names and the weights are checked by preference_loss_terms().
//
// Unpaired feedback (KTO, Ethayarajh et al. 2024) has its own builder below: one completion per
// example, labelled desirable or undesirable.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/autodiff/tape.hpp"
#include "core/train/config.hpp"

namespace pl {

struct PairLossInputs {
  Expr chosen_logps, rejected_logps;
  Expr ref_chosen_logps, ref_rejected_logps;
  Expr chosen_tokens, rejected_tokens;
};

struct PairLossOutputs {
  Expr loss;                               // scalar: what is minimised (mean over pairs)
  Expr chosen_rewards, rejected_rewards;   // per pair: beta * (logp - ref_logp), no gradient
  Expr margin;                             // scalar: mean(chosen_rewards - rejected_rewards)
  Expr accuracy;                           // scalar: share of pairs with chosen_rewards > rejected_rewards
  // scalar, no gradient: mean of chosen and rejected rewards together (TRL's logged reward mean;
  // BCO's running mean reads its own "bco_batch_mean", of the scores: see BcoRunningMean).
  Expr reward_mean;
};

// The fields (group "loss") every pair loss reads: loss_type, beta, label_smoothing and the
// losses' own coefficients. The DPO trainer's schema and the loss lab append them.
const std::vector<FieldSpec>& preference_loss_fields();

// Builds the loss named by values["loss_type"] with its coefficients as graph parameters (so they
// can change live). Names the outputs "loss", "chosen_rewards", "rejected_rewards", "margin" and
// "accuracy" on g (means for the per-pair ones), and "reward_mean". Throws ConfigError for an
// unknown loss_type (naming the entry), bad loss_weights, or an option a loss cannot take
// (exo_pair with label_smoothing 0, robust with label_smoothing 0.5). A field missing from values
// takes its default.
PairLossOutputs build_pair_loss(Graph& g, const PairLossInputs& in, const json& values);

// Sets the live coefficients (beta, label_smoothing, ...) of a graph built by build_pair_loss.
// Throws ConfigError for a value the built loss cannot take (see build_pair_loss).
void set_preference_loss_params(Graph& g, const json& values);

// Whether the loss named by values needs the reference log-probabilities (false for the
// reference-free ones: SimPO, CPO, ORPO, sft alone, and any with reference_free set).
bool preference_loss_needs_reference(const json& values);

// The (name, weight) terms of values["loss_type"] and values["loss_weights"], plus ("sft",
// rpo_alpha) when rpo_alpha > 0. Throws ConfigError naming an unknown entry or a bad weight.
std::vector<std::pair<std::string, float>> preference_loss_terms(const json& values);

// Whether the loss reads chosen_tokens / rejected_tokens (ipo, sigmoid_norm, simpo, orpo, and the
// NLL of sft, cpo, orpo and rpo_alpha).
bool preference_loss_needs_tokens(const json& values);

// One entry of the table (`policylab loss --list`): name, what it computes, its paper, the loss
// lab columns it reads (bco_pair's "bco_delta" sets the graph parameter "bco_delta", or
// "bco_mean" with bco_running_mean)
// and the options (fields) it reads besides rpo_alpha, which applies to every loss.
struct PreferenceLossInfo {
  const char* name;
  const char* summary;
  const char* reference;
  std::vector<std::string> inputs;
  std::vector<std::string> options;
  bool reference_free = false;  // reads no reference log-probabilities
};
const std::vector<PreferenceLossInfo>& preference_losses();      // pair losses
const PreferenceLossInfo* find_preference_loss(const std::string& name);  // aliases resolved ("aot_unpaired")

// BCO's running reward mean (bco_running_mean; Jung et al. 2024; TRL's DPOTrainer before 1.0 kept
// it with RunningMoments, one count per batch): after batch t, delta = the mean of the batches'
// mean rewards 1..t, the current batch included (TRL updates before using it). Before a training
// forward the trainer sets the graph parameters bco_mean = mean and bco_mean_weight =
// count / (count + 1) (the graph adds the batch's own share), then update()s with the graph's
// output "bco_batch_mean". Current TRL (1.x) dropped delta: bco_running_mean off, delta 0.
struct BcoRunningMean {
  double mean = 0;
  long count = 0;
  double update(double batch_reward_mean) {
    ++count;
    mean += (batch_reward_mean - mean) / static_cast<double>(count);
    return mean;
  }
};

// --- unpaired feedback: KTO (Ethayarajh et al. 2024) as TRL's KTOTrainer ---
//
// One entry per example (all of the same dims, e.g. [N]):
//   logps      the policy's summed completion log-probability (differentiable);
//   ref_logps  the reference's (no gradient);
//   desirable  1 for a desirable example, 0 for an undesirable one;
//   kl         KTO's reference point z0 (a scalar, or broadcastable to logps; no gradient; clamped
//              at 0 as TRL does). TRL estimates it per batch from mismatched pairs: example j's
//              completion scored under example j-1's prompt (the first under the last's), z0 =
//              max(0, mean_j (logp - ref_logp) of those); kto_reference_point() computes it from
//              the two lists. apo_zero_unpaired does not read it.
struct UnpairedLossInputs {
  Expr logps, ref_logps, desirable, kl;
};

struct UnpairedLossOutputs {
  Expr loss;                               // scalar: mean over examples of the weighted losses
  Expr rewards;                            // per example: beta * (logp - ref_logp), no gradient
  Expr chosen_rewards, rejected_rewards;   // scalars: mean reward of the desirable / undesirable ones (0 if none)
  Expr margin;                             // chosen_rewards - rejected_rewards
  Expr kl;                                 // the reference point used (after the clamp)
};

// loss_type (kto | apo_zero_unpaired), beta, desirable_weight, undesirable_weight.
const std::vector<FieldSpec>& unpaired_loss_fields();
// Names "loss", "chosen_rewards", "rejected_rewards", "margin" and "kl" on g.
UnpairedLossOutputs build_unpaired_loss(Graph& g, const UnpairedLossInputs& in, const json& values);
void set_unpaired_loss_params(Graph& g, const json& values);
const std::vector<PreferenceLossInfo>& unpaired_losses();
const PreferenceLossInfo* find_unpaired_loss(const std::string& name);
// max(0, mean(mismatched_logps - ref_mismatched_logps)): TRL's KL estimate for KTO's z0.
float kto_reference_point(const float* mismatched_logps, const float* ref_mismatched_logps, int n);

}  // namespace pl
