#include "core/algos/safety.hpp"

#include <algorithm>
#include <cmath>

#include "core/train/config.hpp"

namespace pl {

const std::vector<std::string>& safety_method_names() {
  static const std::vector<std::string> names = {"none", "dual", "lagrangian", "judges"};
  return names;
}

SafetyMethod parse_safety_method(const std::string& name, const std::string& field) {
  if (name == "none") return SafetyMethod::None;
  if (name == "dual") return SafetyMethod::Dual;
  if (name == "lagrangian") return SafetyMethod::Lagrangian;
  if (name == "judges") return SafetyMethod::Judges;
  throw ConfigError("field '" + field + "': unknown safety method '" + name + "' (none, dual, lagrangian, judges)");
}

namespace {
// For prompt p: log mean_g exp(z_g) with z = (r - lambda c) / beta (shifted by the maximum, so
// that small beta does not overflow), and the tilted mean of c.
void tilted(const float* r, const float* c, int G, double beta, double lambda, double* log_mean, double* cost) {
  double top = -INFINITY;
  for (int g = 0; g < G; ++g) top = std::max(top, (r[g] - lambda * c[g]) / beta);
  double sum = 0, sum_c = 0;
  for (int g = 0; g < G; ++g) {
    const double w = std::exp((r[g] - lambda * c[g]) / beta - top);
    sum += w;
    sum_c += w * c[g];
  }
  *log_mean = top + std::log(sum / G);
  *cost = sum_c / sum;
}
}  // namespace

double safety_dual_value(const float* r, const float* c, int P, int G, double beta, double budget, double lambda) {
  double total = 0;
  for (int p = 0; p < P; ++p) {
    double lm = 0, cost = 0;
    tilted(r + static_cast<size_t>(p) * G, c + static_cast<size_t>(p) * G, G, beta, lambda, &lm, &cost);
    total += beta * lm;
  }
  return total / P + lambda * budget;
}

double safety_dual_slope(const float* r, const float* c, int P, int G, double beta, double budget, double lambda) {
  double total = 0;
  for (int p = 0; p < P; ++p) {
    double lm = 0, cost = 0;
    tilted(r + static_cast<size_t>(p) * G, c + static_cast<size_t>(p) * G, G, beta, lambda, &lm, &cost);
    total += cost;
  }
  return budget - total / P;
}

double optimal_safety_dual(const float* r, const float* c, int P, int G, double beta, double budget, double lambda_max) {
  if (safety_dual_slope(r, c, P, G, beta, budget, 0.0) >= 0) return 0.0;  // the constraint does not bind
  if (safety_dual_slope(r, c, P, G, beta, budget, lambda_max) < 0) return lambda_max;
  double lo = 0, hi = lambda_max;
  for (int i = 0; i < 100 && hi - lo > 1e-9 * (1 + hi); ++i) {
    const double mid = 0.5 * (lo + hi);
    (safety_dual_slope(r, c, P, G, beta, budget, mid) < 0 ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

int constrain_flagged_advantages(float* advantages, int rows, const float* const* flags, int judges) {
  int flagged = 0;
  for (int i = 0; i < rows; ++i) {
    bool any = false;
    for (int j = 0; j < judges; ++j) any = any || flags[j][i] != 0.0f;
    if (!any) continue;
    ++flagged;
    advantages[i] = std::min(advantages[i], 0.0f);
  }
  return flagged;
}

}  // namespace pl
