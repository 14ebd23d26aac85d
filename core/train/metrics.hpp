// The metrics record one training iteration produces. Every algorithm fills the same record (fields
// that do not apply stay NaN), so charts, the CLI's metrics.jsonl and the browser read one shape.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pl {

// A float32 as the JSON number with the fewest digits that reads back as the same float (0.05, not
// 0.05000000074505806), or null when it is not finite (JSON has no NaN or infinity).
nlohmann::json float_json(float value);

struct Metrics {
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

  int64_t iteration = 0;
  int64_t global_step = 0;          // env steps so far (all envs)
  double wall_s = 0;                // seconds of training since the trainer was created
  double sps = kNaN;                // env steps per second in this iteration

  int episodes = 0;                 // episodes finished during this iteration
  double episodic_return_mean = kNaN, episodic_return_min = kNaN, episodic_return_max = kNaN;
  double episodic_length_mean = kNaN;
  double episodic_cost_mean = kNaN;

  double policy_loss = kNaN;
  double value_loss = kNaN;
  double entropy = kNaN;
  double approx_kl_k1 = kNaN;       // mean(-log r)            (Schulman 2020, "Approximating KL")
  double approx_kl_k3 = kNaN;       // mean((r - 1) - log r)
  double clip_fraction = kNaN;      // fraction of samples with |r - 1| > clip_coef
  double explained_variance = kNaN; // 1 - Var[returns - values] / Var[returns]
  double learning_rate = kNaN;
  double grad_norm = kNaN;          // global L2 norm before clipping (mean over updates)
  double grad_norm_clipped = kNaN;  // global L2 norm after clipping (mean over updates)
  int update_epochs_run = 0;        // epochs actually run (target-KL early stop may cut them)
  std::vector<float> layer_grad_norms;  // per parameter tensor, before clipping (mean over updates)
  // Metrics an algorithm adds to the shared record, named when it is constructed (e.g. SFT's
  // heldout_accuracy); written by index, so recording them allocates nothing.
  std::vector<std::string> extra_names;
  std::vector<double> extra;

  // Names of the fixed scalar fields, in the order to_json writes them.
  static const std::vector<std::string>& scalar_names();
  // Every scalar column of this record: the fixed fields, then the extra ones (the browser's columns).
  std::vector<std::string> names() const;
  int num_scalars() const { return static_cast<int>(scalar_names().size() + extra.size()); }
  // Scalars as doubles in names() order (num_scalars() values).
  void scalars(double* out) const;
  // Sets up the extra metrics (all NaN until written).
  void declare_extra(const std::vector<std::string>& names);
  double& extra_value(int i) { return extra[static_cast<size_t>(i)]; }
  // An extra metric by name (readers outside the algorithm); NaN when the record has none.
  double extra_named(const std::string& name) const;
  // The record as JSON; NaN becomes null. layer names go with the per-layer norms.
  nlohmann::json to_json(const std::vector<std::string>& layer_names) const;
  // Name of the first non-finite loss/statistic, or "" when all are finite (divergence check).
  std::string first_non_finite() const;
};

}  // namespace pl
