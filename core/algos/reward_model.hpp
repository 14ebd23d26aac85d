// The reward-model trainer's view for tests and for the RL trainers that read its checkpoints (the
// trainer itself is in reward_model.cpp).
#pragma once

#include "core/algos/algorithm.hpp"
#include "core/algos/preference_data.hpp"
#include "core/algos/reward_ensemble.hpp"

namespace pl {

class RewardModelLearner {
 public:
  virtual ~RewardModelLearner() = default;
  // Builds the dataset (as DPO does) and initialises every member from the starting policy; the
  // first training step does it otherwise.
  virtual void prepare() = 0;
  virtual const PreferenceDataset& dataset() const = 0;
  virtual int train_pairs() const = 0;
  virtual int members() const = 0;
  // Member k's training pairs (its bootstrap resample when K > 1, as indices into the dataset).
  virtual const std::vector<int>& member_pairs(int k) const = 0;
  // Member k's Bradley–Terry loss on pairs[0, n) at the current weights, without an update; with
  // `gradient` the ensemble's gradients are zeroed and then hold d loss / d theta (unclipped).
  virtual double pair_loss(int member, const int* pairs, int n, bool gradient) = 0;
  // Member k's rewards of pair i of its last pair_loss call.
  virtual double chosen_reward(int member, int i) const = 0;
  virtual double rejected_reward(int member, int i) const = 0;
  // The ensemble's weights and the policy spec its members share (a scorer is built from both).
  virtual const Parameters& ensemble_weights() const = 0;
  virtual const TransformerSpec& member_spec() const = 0;
};

RewardModelLearner* reward_model_learner(Algorithm& algorithm);
const RewardModelLearner* reward_model_learner(const Algorithm& algorithm);

}  // namespace pl
