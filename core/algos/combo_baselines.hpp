// The bookkeeping of Kool et al.'s two REINFORCE baselines (Kool, van Hoof & Welling 2019,
// "Attention, Learn to Solve Routing Problems!", ICLR, Sec. 4 and Alg. 1), shared by the Attention
// Model's run (pomo.cpp) and the re-encoding run (reencoding_run.cpp). What differs between the runs
// (how a policy decodes a set greedily, which parameters are frozen) stays in each run; the moving
// average, the epoch schedule, the evaluation set's seed, the t-test's decision and their
// checkpoint bytes are here, so both runs decide alike and store the same format.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "core/train/config.hpp"
#include "core/util/bytes.hpp"
#include "core/util/rng.hpp"

namespace pl {

// The exponential baseline (Kool et al. 2019, Sec. 4): b <- beta b + (1 - beta) mean, where mean is
// the batch's mean (of whatever quantity the run's advantages subtract b from), started at the first
// batch's mean.
class ExponentialBaseline {
 public:
  ExponentialBaseline() = default;
  explicit ExponentialBaseline(double beta) : beta_(beta) {}
  // Folds one batch's mean into the average; returns the new value.
  double update(double batch_mean) {
    value_ = initialised_ ? beta_ * value_ + (1 - beta_) * batch_mean : batch_mean;
    initialised_ = true;
    return value_;
  }
  double value() const { return value_; }
  // Checkpoint bytes: the value (double), then whether it has started (uint8).
  void write(ByteWriter& w) const;
  void read(ByteReader& r);

 private:
  double beta_ = 0.8, value_ = 0;
  bool initialised_ = false;
};

// The greedy-rollout baseline's epochs (Kool et al. 2019, Sec. 4, Alg. 1): a frozen copy of the
// policy is the baseline; the first `bl_interval` steps use the exponential baseline instead
// (warm-up); at the end of every epoch of bl_interval steps the candidate (current) and the baseline
// (frozen) policy decode a fixed evaluation set of `bl_eval_size` instances greedily and the frozen
// copy is replaced when the candidate's mean cost is lower and a one-sided paired t-test gives
// p < bl_alpha. The evaluation set is drawn from its own stream of the run seed, indexed by the count
// of replacements, so a new set is drawn after each replacement (Kool et al.: the set is resampled
// when the baseline changes, so the next test is not won by overfitting the old one) and a resumed
// run redraws the same set.
class RolloutBaselineEpochs {
 public:
  RolloutBaselineEpochs() = default;
  // Reads bl_interval, bl_eval_size and bl_alpha; allocates the objectives' buffers.
  RolloutBaselineEpochs(const Config& c, uint64_t run_seed);

  // Whether step `iteration` (0-based, before it runs) is in the warm-up.
  bool warming_up(int64_t iteration) const { return iteration < interval_; }
  // Whether `completed` steps end an epoch (the t-test runs then).
  bool epoch_ends(int64_t completed) const { return completed % interval_ == 0; }
  int eval_size() const { return eval_size_; }
  // The stream the evaluation set of a run is drawn from after `updates` replacements, and the
  // current one's.
  static Rng eval_set_rng(uint64_t run_seed, int64_t updates);
  Rng eval_set_rng() const { return eval_set_rng(run_seed_, updates_); }
  // The candidate's and the baseline's objectives on the evaluation set [eval_size], filled by the run.
  double* candidate() { return candidate_.data(); }
  double* baseline() { return baseline_.data(); }
  // Kool et al. 2019, Alg. 1: "if OneSidedPairedTTest(p_theta, p_BL) < alpha then theta_BL <- theta",
  // on costs (the objectives, negated when maximised), and only when the candidate's mean is better
  // (with alpha > 0.5 a worse mean can have p < alpha). Returns whether to replace the frozen copy
  // (then counts the replacement: the caller copies the parameters and draws the next set).
  bool test(bool maximize);

  int64_t updates() const { return updates_; }
  double last_p() const { return last_p_; }
  bool replaced_last() const { return replaced_last_; }
  // Checkpoint bytes: the replacements (int64), the last p-value (double).
  void write(ByteWriter& w) const;
  void read(ByteReader& r);

 private:
  int64_t interval_ = 1;
  int eval_size_ = 0;
  double alpha_ = 0.05;
  uint64_t run_seed_ = 0;
  std::vector<double> candidate_, baseline_;
  int64_t updates_ = 0;
  double last_p_ = std::numeric_limits<double>::quiet_NaN();
  bool replaced_last_ = false;
};

}  // namespace pl
