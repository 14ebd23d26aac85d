// Finite-difference helpers shared by the gradient-check tests.
#pragma once

#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <string>

#include "core/nn/parameters.hpp"
#include "core/util/rng.hpp"

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

// Every tensor of `params` is on a path to the loss (a non-zero gradient), and `samples` random
// entries of each (drawn from `seed`) have analytic derivatives (`analytic`: params' gradients of
// the loss, computed by the caller) that match central differences of f (the loss, recomputed).
inline void check_sampled_param_grads(pl::Parameters& params, const pl::VectorXf& analytic,
                                      const std::function<double()>& f, double eps, int samples = 3,
                                      uint64_t seed = 2, double rel = 3e-2, double abs_tol = 3e-3) {
  pl::Rng pick(seed);
  for (int t = 0; t < params.count(); ++t) {
    const pl::TensorInfo& info = params.tensors()[t];
    INFO("tensor " << info.name);
    CHECK(params.grad_norm(t) > 0);
    for (int k = 0; k < samples; ++k) {
      const int i = info.offset + static_cast<int>(pick.below(static_cast<uint32_t>(info.size())));
      const double numeric = central_difference(f, &params.values()[i], eps);
      check_close(analytic[i], numeric, info.name + "[" + std::to_string(i - info.offset) + "]", rel, abs_tol);
    }
  }
}

}  // namespace pl_test
