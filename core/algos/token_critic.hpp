// A learned critic for PPO on token sequences (PPO-RLHF: Ouyang et al. 2022; Stiennon et al. 2020),
// as TRL's PPOTrainer and verl's critic make it: a copy of the policy's transformer whose output
// head is a scalar value head, V(s_t) read at every position of the same token layout the policy's
// tape uses (position t holds the state before the token predicted there). It trains on the clipped
// value loss of PPO's implementations (TRL PPOTrainer, verl compute_value_loss):
//   L_V = vf_coef * 0.5 * sum_t w_t * max((V_t - R_t)^2, (V_old,t + clip(V_t - V_old,t, -c, c) - R_t)^2)
// with R_t the GAE returns, V_old the values at sampling, c = cliprange_value (0: no clipping) and
// w_t the token-mean weights of the completion tokens. It has its own parameters and Adam (TRL
// trains policy and value model with one optimizer; Adam being per-parameter, the difference is the
// shared gradient clip, which here applies to each model separately, as verl's separate critic
// does), its learning rate the policy's.
#pragma once

#include <vector>

#include "core/algos/reward_ensemble.hpp"
#include "core/algos/sequence.hpp"
#include "core/optim/optim.hpp"
#include "core/util/bytes.hpp"

namespace pl {

class TokenCritic {
 public:
  // rows x time: the policy tape's capacities; token_mean: the policy's [rows, time] token-mean
  // weights buffer (bound, not copied: the caller fills it for both).
  TokenCritic(const TransformerSpec& policy_spec, int rows, int time, const float* token_mean, double adam_eps);

  // The critic's trunk := the policy's weights, its value head := N(0, init_std) (a critic made from
  // the SFT model, as verl initialises it from the actor's checkpoint).
  void init_from(const Parameters& policy, Rng& head_rng);

  // Takes the policy tape's token layout (rows x time, dense) for the next values()/train() calls.
  void set_layout(const TokenBatch& policy_batch, int rows, int time);
  // V at every position of the layout [rows, time] (a forward pass); also kept as V_old.
  const float* values();
  // The returns R [rows, time] the next train() regresses on (written by the caller).
  float* returns() { return returns_.data(); }
  // One Adam step on L_V; returns L_V / vf_coef (the value loss, as TRL reports vf_loss) and the
  // share of tokens whose value was clipped through *clip_fraction.
  double train(double lr, double max_grad_norm, float vf_coef, float cliprange_value, double* clip_fraction);

  Parameters& params() { return model_.params(); }
  void write_state(ByteWriter& w) const;
  void read_state(ByteReader& r);

 private:
  RewardEnsemble model_;  // one member: the policy's transformer with a value head
  Optimizer optimizer_;
  Graph graph_;
  TokenBatch batch_;
  Expr values_, loss_, clipped_share_;
  std::vector<float> returns_, old_values_;
};

}  // namespace pl
