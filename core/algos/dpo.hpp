// The DPO trainer's view for tests and tools (the trainer itself is in dpo.cpp).
#pragma once

#include "core/algos/algorithm.hpp"
#include "core/algos/preference_data.hpp"

namespace pl {

class DpoLearner {
 public:
  virtual ~DpoLearner() = default;
  // Builds the dataset (generated from the current weights when no file is named), snapshots the
  // reference and computes its log-probabilities; the first training step does it otherwise.
  virtual void prepare() = 0;
  virtual const PreferenceDataset& dataset() const = 0;
  virtual int train_pairs() const = 0;  // the first train_pairs() pairs are trained on, the rest held out
  // The loss on pairs[0, n) of the dataset at the current weights, without an update; with
  // `gradient` the parameters' gradients are zeroed and then hold d loss / d theta (unclipped).
  virtual double pair_loss(const int* pairs, int n, bool gradient) = 0;
  // The policy's summed completion log-probabilities of pair i of the last pair_loss call.
  virtual double chosen_logp(int i) const = 0;
  virtual double rejected_logp(int i) const = 0;
  // The frozen reference's summed completion log-probabilities of pair i of the dataset.
  virtual double reference_chosen_logp(int pair) const = 0;
  virtual double reference_rejected_logp(int pair) const = 0;
};

// The DPO view of an algorithm (null when it is not DPO).
DpoLearner* dpo_learner(Algorithm& algorithm);

}  // namespace pl
