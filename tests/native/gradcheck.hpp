// Finite-difference helpers shared by the gradient-check tests.
#pragma once

#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <string>

namespace pl_test {

// Central difference of f with respect to *x, restoring *x afterwards.
inline double central_difference(const std::function<double()>& f, float* x, double eps) {
  const float saved = *x;
  *x = static_cast<float>(saved + eps);
  const double up = f();
  *x = static_cast<float>(saved - eps);
  const double down = f();
  *x = saved;
  return (up - down) / (2.0 * eps);
}

// Analytic and numeric derivatives agree within a mixed absolute/relative tolerance suited to
// float32 forward passes.
inline void check_close(double analytic, double numeric, const std::string& what, double rel = 2e-2,
                        double abs_tol = 2e-3) {
  INFO(what << ": analytic " << analytic << " numeric " << numeric);
  CHECK(std::fabs(analytic - numeric) <= abs_tol + rel * std::max(std::fabs(analytic), std::fabs(numeric)));
}

}  // namespace pl_test
