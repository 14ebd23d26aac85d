// Optimizers over the flat parameter buffer, global-norm gradient clipping and learning-rate
// annealing.
#pragma once

#include <cmath>
#include <string>

#include "core/nn/parameters.hpp"

namespace pl {

// Adam (Kingma & Ba 2015) with PyTorch's placement of eps:
//   m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
//   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// SGD: p <- p - lr g.
class Optimizer {
 public:
  enum class Kind { Adam, Sgd };
  Optimizer() = default;
  Optimizer(Kind kind, int size, double eps, double beta1 = 0.9, double beta2 = 0.999)
      : kind_(kind), eps_(eps), beta1_(beta1), beta2_(beta2), m_(VectorXf::Zero(size)), v_(VectorXf::Zero(size)) {}
  static Kind parse(const std::string& name);  // "adam" | "sgd"

  void step(VectorXf& params, const VectorXf& grads, double lr) {
    if (kind_ == Kind::Sgd) {
      params.noalias() -= static_cast<float>(lr) * grads;
      ++t_;
      return;
    }
    ++t_;
    const float b1 = static_cast<float>(beta1_), b2 = static_cast<float>(beta2_);
    m_ = b1 * m_ + (1.0f - b1) * grads;
    v_ = b2 * v_ + (1.0f - b2) * grads.cwiseProduct(grads);
    const double bias1 = 1.0 - std::pow(beta1_, static_cast<double>(t_));
    const double bias2 = 1.0 - std::pow(beta2_, static_cast<double>(t_));
    const float step_size = static_cast<float>(lr / bias1);
    const float inv_sqrt_bias2 = static_cast<float>(1.0 / std::sqrt(bias2));
    const float eps = static_cast<float>(eps_);
    params.array() -= step_size * m_.array() / (v_.array().sqrt() * inv_sqrt_bias2 + eps);
  }

  Kind kind() const { return kind_; }
  int64_t steps() const { return t_; }
  VectorXf& first_moment() { return m_; }
  VectorXf& second_moment() { return v_; }
  const VectorXf& first_moment() const { return m_; }
  const VectorXf& second_moment() const { return v_; }
  void set_steps(int64_t t) { t_ = t; }

 private:
  Kind kind_ = Kind::Adam;
  double eps_ = 1e-8, beta1_ = 0.9, beta2_ = 0.999;
  VectorXf m_, v_;
  int64_t t_ = 0;
};

// Scales gradients so their global L2 norm is at most max_norm, as torch.nn.utils.clip_grad_norm_:
// coef = max_norm / (norm + 1e-6), applied when coef < 1. Returns the norm before clipping.
// max_norm <= 0 disables clipping.
inline double clip_grad_norm(VectorXf& grads, double max_norm) {
  // Eigen's float reduction is vectorised with several accumulators (a double-cast loop was a serial
  // dependency chain costing ~10% of a CartPole PPO run); its rounding error is far below clipping's needs.
  const double norm = std::sqrt(static_cast<double>(grads.squaredNorm()));
  if (max_norm > 0) {
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) grads *= static_cast<float>(coef);
  }
  return norm;
}

// CleanRL's linear annealing: lr_k = (1 - (k - 1) / K) * lr_0 for iteration k = 1..K.
inline double annealed_lr(double lr0, int64_t iteration, int64_t num_iterations) {
  const double frac = 1.0 - static_cast<double>(iteration - 1) / static_cast<double>(num_iterations);
  return frac * lr0;
}

}  // namespace pl
