// The KTO trainer's view for tests and tools (the trainer itself is in kto.cpp).
#pragma once

#include <vector>

#include "core/algos/algorithm.hpp"
#include "core/algos/preference_data.hpp"

namespace pl {

class KtoLearner {
 public:
  virtual ~KtoLearner() = default;
  // Builds the examples (generated from the current weights when no file is named), snapshots the
  // reference and computes its log-probabilities; the first training step does it otherwise.
  virtual void prepare() = 0;
  virtual const std::vector<UnpairedExample>& examples() const = 0;
  // The first train_examples() examples are the training split (some desirable ones may be
  // dropped by desirable_keep), the rest are held out.
  virtual int train_examples() const = 0;
  // The training examples in the shuffled pass (after desirable_keep).
  virtual int kept_examples() const = 0;
  // The example whose completion is scored under example i's prompt for KTO's reference point.
  virtual int mismatched(int i) const = 0;
  // The loss on examples idx[0, n) of the training split at the current weights, without an
  // update. The reference point z0 is estimated from the same examples' mismatched rows, unless
  // fixed_z0 is given (then it is used as it is, unclamped). With `gradient` the parameters'
  // gradients are zeroed and then hold d loss / d theta with z0 held constant (unclipped).
  virtual double example_loss(const int* idx, int n, bool gradient, const float* fixed_z0 = nullptr) = 0;
  // Of the last example_loss call: the policy's summed completion log-probability of its i-th
  // example, and the reference point used.
  virtual double logp(int i) const = 0;
  virtual double reference_point() const = 0;
};

// The KTO view of an algorithm (null when it is not KTO).
KtoLearner* kto_learner(Algorithm& algorithm);

}  // namespace pl
