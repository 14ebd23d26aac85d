// The loss lab: any registered advantage estimator, group-relative policy loss or preference loss
// evaluated on numbers a user chooses, with the gradient with respect to the policy's log-probabilities. The CLI
// (`policylab loss`) and the browser's loss explorer call it; it builds the same expressions the
// GRPO trainer trains with (group_losses.hpp), so what it shows is what trains.
//
// Input (JSON object; completions are prompt-major, group_size of them per prompt):
//   "group_size"  G (default: all completions are one group)
//   "logp"        per completion, the log-probabilities of its tokens (ragged lists)   [required for losses]
//   "old_logp"    same shape, the sampling policy's (default: logp, ratio 1)
//   "ref_logp"    same shape, the reference's (default: old_logp)
//   "rewards"     per completion                                                        [estimators; gvpo, rebel, astar_po, disco]
//   "advantages"  per completion (default: the advantage_estimator applied to rewards)
//   "baselines"   per prompt (remax: the greedy completion's reward)
//   "value_star"  per prompt (astar_po's V*)
//   "truncated"   per completion, true when cut off (mask_truncated_completions)
//   "entropy"     per token, same shape as logp (top_entropy_quantile)
//   "lengths"     per completion (estimators that weigh by length; default: the logp rows' lengths)
// Options: the fields of group_loss_fields() plus "max_completion_length" (seq-mean-token-sum-norm's
// constant; default: the longest completion).
//
// A preference loss (preference_losses.hpp; NAME one of them, or a comma-separated list combined
// with the option loss_weights, e.g. "sigmoid,sft") reads one entry per pair:
//   "chosen_logps", "rejected_logps"          the policy's summed completion log-probs   [required]
//   "ref_chosen_logps", "ref_rejected_logps"  the reference's   [required unless reference-free; default 0]
//   "chosen_tokens", "rejected_tokens"        token counts >= 1 [required by the per-token losses; default 1]
//   "bco_delta"                               a number: BCO's reward shift delta (default 0, TRL 1.x;
//                                             with bco_running_mean this batch's mean reward, TRL 0.x's
//                                             delta after its first batch)
// with the options of preference_loss_fields() but loss_type; it returns {"loss", "terms",
// "outputs": {chosen_rewards, rejected_rewards (per pair), margin, accuracy, reward_mean},
// "gradient": {"chosen_logps": [...], "rejected_logps": [...]}, "formula"}.
// KTO ("kto", "apo_zero_unpaired") reads one entry per example: "logps", "ref_logps", "desirable"
// (true/false or 1/0) and "kl" (a number, the reference point z0; kto only), with the options of
// unpaired_loss_fields() but loss_type; it returns {"loss", "outputs": {rewards, chosen_rewards,
// rejected_rewards, margin, kl}, "gradient": {"logps": [...]}, "formula"}.
#pragma once

#include <string>
#include <vector>

#include "core/train/config.hpp"

namespace pl {

// Bad lab input: the message names the column or option and what is wrong.
struct LossLabError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Every estimator and loss with its input columns and options (`policylab loss --list`): keys
// "estimators", "losses", "fields" (group-relative), "preference_losses", "preference_fields",
// "unpaired_losses", "unpaired_fields".
json loss_lab_catalog();

// Evaluates estimator or loss `name` on `input` with `options` (unknown or out-of-range options
// throw LossLabError). An estimator returns {"advantages", "zero_variance_groups"}; a loss returns
// {"loss", "outputs": {pg_loss, kl, clip_low, clip_high, masked_tokens}, "advantages",
// "gradient": {"logp": [[...]]}}.
json evaluate_loss_lab(const std::string& name, const json& input, const json& options);

}  // namespace pl
