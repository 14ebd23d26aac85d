// Metrics record serialisation and the divergence check (see metrics.hpp).
#include "core/train/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace pl {

namespace {

// A double for JSON: non-finite values become null. JSON has no NaN/Inf, and null is what the
// browser's charts and pandas' read_json treat as "missing".
nlohmann::json finite_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}


}  // namespace

nlohmann::json float_json(float value) {
  if (!std::isfinite(value)) return nlohmann::json(nullptr);
  char buffer[32];
  for (int precision = 1; precision <= 9; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*g", precision, static_cast<double>(value));
    if (std::strtof(buffer, nullptr) == value) break;
  }
  return nlohmann::json(std::strtod(buffer, nullptr));
}

const std::vector<std::string>& Metrics::scalar_names() {
  // Declaration order of the scalar fields in metrics.hpp; scalars() and to_json() follow it.
  static const std::vector<std::string> names = {
      "iteration",          "global_step",          "wall_s",
      "sps",                "episodes",             "episodic_return_mean",
      "episodic_return_min", "episodic_return_max", "episodic_length_mean",
      "episodic_cost_mean", "policy_loss",          "value_loss",
      "entropy",            "approx_kl_k1",         "approx_kl_k3",
      "clip_fraction",      "explained_variance",   "learning_rate",
      "grad_norm",          "grad_norm_clipped",    "update_epochs_run",
  };
  return names;
}

void Metrics::scalars(double* out) const {
  const double values[] = {
      static_cast<double>(iteration), static_cast<double>(global_step), wall_s,
      sps,                            static_cast<double>(episodes),    episodic_return_mean,
      episodic_return_min,            episodic_return_max,              episodic_length_mean,
      episodic_cost_mean,             policy_loss,                      value_loss,
      entropy,                        approx_kl_k1,                     approx_kl_k3,
      clip_fraction,                  explained_variance,               learning_rate,
      grad_norm,                      grad_norm_clipped,                static_cast<double>(update_epochs_run),
  };
  static_assert(sizeof values / sizeof values[0] == 21, "keep scalars() in step with scalar_names()");
  for (size_t i = 0; i < sizeof values / sizeof values[0]; ++i) out[i] = values[i];
  for (size_t i = 0; i < extra.size(); ++i) out[sizeof values / sizeof values[0] + i] = extra[i];
}

std::vector<std::string> Metrics::names() const {
  std::vector<std::string> all = scalar_names();
  all.insert(all.end(), extra_names.begin(), extra_names.end());
  return all;
}

double Metrics::extra_named(const std::string& name) const {
  for (size_t i = 0; i < extra_names.size(); ++i)
    if (extra_names[i] == name) return extra[i];
  return kNaN;
}

void Metrics::declare_extra(const std::vector<std::string>& names) {
  extra_names = names;
  extra.assign(names.size(), kNaN);
}

nlohmann::json Metrics::to_json(const std::vector<std::string>& layer_names) const {
  const std::vector<std::string> names = this->names();
  std::vector<double> values(names.size());
  scalars(values.data());
  nlohmann::json record = nlohmann::json::object();
  for (size_t i = 0; i < names.size(); ++i) {
    record[names[i]] = finite_or_null(values[i]);
  }
  // Counters are integers in the record (not 12.0), whatever scalars() carries them as.
  record["iteration"] = iteration;
  record["global_step"] = global_step;
  record["episodes"] = episodes;
  record["update_epochs_run"] = update_epochs_run;

  nlohmann::json layers = nlohmann::json::object();
  for (size_t i = 0; i < layer_grad_norms.size(); ++i) {
    // A missing name (caller passed fewer names than norms) still gets a stable key.
    const std::string name = i < layer_names.size() ? layer_names[i] : "layer" + std::to_string(i);
    layers[name] = float_json(layer_grad_norms[i]);
  }
  record["layer_grad_norms"] = layers;
  return record;
}

// Divergence check. NaN is ambiguous in this record: it is also the marker for "does not apply"
// (the header's contract: fields an algorithm does not compute stay NaN). The rule is therefore:
//  - +-Inf in any checked field is a divergence (no algorithm writes Inf as a marker);
//  - NaN is a divergence only in policy_loss, entropy and grad_norm, which every algorithm computes
//    on every iteration (every iteration ends with a gradient update of a stochastic policy);
//  - NaN in value_loss, approx_kl_k1/k3 and explained_variance is not: value_loss stays NaN without a
//    critic (REINFORCE), the KL estimates are PPO's, and explained_variance is undefined (NaN) when
//    the returns have zero variance. A critic that diverges is still caught: its gradients are part
//    of the global grad_norm, and its values feed the advantages and so the next policy_loss.
// Fields are checked in declaration order, so the reported name is the first that went bad.
std::string Metrics::first_non_finite() const {
  struct Checked {
    const char* name;
    double value;
    bool nan_is_divergence;
  };
  const Checked checked[] = {
      {"policy_loss", policy_loss, true},
      {"value_loss", value_loss, false},
      {"entropy", entropy, true},
      {"approx_kl_k1", approx_kl_k1, false},
      {"approx_kl_k3", approx_kl_k3, false},
      {"explained_variance", explained_variance, false},
      {"grad_norm", grad_norm, true},
  };
  for (const Checked& field : checked) {
    if (std::isinf(field.value)) return field.name;
    if (std::isnan(field.value) && field.nan_is_divergence) return field.name;
  }
  return "";
}

}  // namespace pl
