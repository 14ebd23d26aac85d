#include "core/algos/combo_baselines.hpp"

#include "core/algos/combo.hpp"

namespace pl {

namespace {
// The rollout baseline's evaluation sets, from the run seed (indexed by the count of replacements).
constexpr uint64_t kBaselineEvalPurpose = 0x626c6576616cULL;  // "bleval"
}  // namespace

void ExponentialBaseline::write(ByteWriter& w) const {
  w.put<double>(value_);
  w.put<uint8_t>(initialised_ ? 1 : 0);
}

void ExponentialBaseline::read(ByteReader& r) {
  value_ = r.get<double>("exponential baseline");
  initialised_ = r.get<uint8_t>("exponential baseline flag") != 0;
}

RolloutBaselineEpochs::RolloutBaselineEpochs(const Config& c, uint64_t run_seed)
    : interval_(c.get_int("bl_interval")),
      eval_size_(static_cast<int>(c.get_int("bl_eval_size"))),
      alpha_(c.get_float("bl_alpha")),
      run_seed_(run_seed),
      candidate_(static_cast<size_t>(eval_size_), 0.0),
      baseline_(static_cast<size_t>(eval_size_), 0.0) {}

Rng RolloutBaselineEpochs::eval_set_rng(uint64_t run_seed, int64_t updates) {
  return streams::stream(streams::seed_of(run_seed, kBaselineEvalPurpose, static_cast<uint64_t>(updates)),
                         streams::kInstances);
}

bool RolloutBaselineEpochs::test(bool maximize) {
  if (maximize)
    for (int i = 0; i < eval_size_; ++i) {
      candidate_[i] = -candidate_[i];
      baseline_[i] = -baseline_[i];
    }
  double mean_difference = 0;
  for (int i = 0; i < eval_size_; ++i) mean_difference += candidate_[i] - baseline_[i];
  last_p_ = paired_t_test_p(candidate_.data(), baseline_.data(), eval_size_);
  replaced_last_ = mean_difference < 0 && last_p_ < alpha_;
  if (replaced_last_) ++updates_;
  return replaced_last_;
}

void RolloutBaselineEpochs::write(ByteWriter& w) const {
  w.put<int64_t>(updates_);
  w.put<double>(last_p_);
}

void RolloutBaselineEpochs::read(ByteReader& r) {
  updates_ = r.get<int64_t>("baseline updates");
  last_p_ = r.get<double>("baseline p-value");
}

}  // namespace pl
