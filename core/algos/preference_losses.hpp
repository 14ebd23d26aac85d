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
#pragma once

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
};

// The fields (group "loss") every pair loss reads: loss_type, beta, label_smoothing and the
// losses' own coefficients. The DPO trainer's schema and the loss lab append them.
const std::vector<FieldSpec>& preference_loss_fields();

// Builds the loss named by values["loss_type"] with its coefficients as graph parameters (so they
// can change live). Names the outputs "loss", "chosen_rewards", "rejected_rewards", "margin" and
// "accuracy" on g (means for the per-pair ones). Throws ConfigError for an unknown loss_type.
PairLossOutputs build_pair_loss(Graph& g, const PairLossInputs& in, const json& values);

// Sets the live coefficients (beta, label_smoothing, ...) of a graph built by build_pair_loss.
void set_preference_loss_params(Graph& g, const json& values);

// Whether the loss named by values needs the reference log-probabilities (false for the
// reference-free ones: SimPO, CPO, ORPO, and any with reference_free set).
bool preference_loss_needs_reference(const json& values);

}  // namespace pl
