// Action distributions over a batch (one sample per column), with the gradients that connect a
// loss's d/d(log-prob) and d/d(entropy) to the network outputs.
//
//  - Categorical over A actions from logits (A x n), with an optional action mask (A x n, nonzero =
//    allowed): masked actions get probability 0, are never sampled, and receive no gradient
//    (Huang & Ontañón 2022, "A Closer Look at Invalid Action Masking in Policy Gradient Algorithms").
//  - DiagGaussian over A dims from means (A x n) and a state-independent log-std vector (A), as in
//    CleanRL's continuous PPO. Samples are unbounded; the env wrapper clips them to the action box,
//    while the log-probability is of the unclipped sample (Gymnasium ClipAction + CleanRL).
#pragma once

#include <Eigen/Core>
#include <cmath>

#include "core/util/rng.hpp"

namespace pl {

using MatrixXfRef = Eigen::Ref<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>>;
using ConstMatrixXfRef = Eigen::Ref<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>>;

namespace categorical {

// log-softmax of each column into logp (A x n); masked entries (mask != 0 allowed) get -inf.
// mask may be nullptr (all allowed); it is laid out like logits (column-major A x n).
void log_softmax(const ConstMatrixXfRef& logits, const float* mask, MatrixXfRef logp);
// Per column: log-prob of actions[i] (an index stored as float), and entropy -sum p log p.
void log_prob(const ConstMatrixXfRef& logp, const float* actions, float* out);
void entropy(const ConstMatrixXfRef& logp, float* out);
// Samples one index per column from the probabilities exp(logp); mode = argmax.
void sample(const ConstMatrixXfRef& logp, Rng& rng, float* actions_out);
void mode(const ConstMatrixXfRef& logp, float* actions_out);
// d loss / d logits for loss depending on log_prob (dlogp per sample) and entropy (dent per sample):
//   d logp(a)/d z_j = [j = a] - p_j ;   d H / d z_j = -p_j (log p_j + H).
void backward(const ConstMatrixXfRef& logp, const float* actions, const float* dlogp, const float* dent,
              MatrixXfRef dlogits);
// KL(p || q) per column from two log-softmax matrices.
void kl(const ConstMatrixXfRef& logp, const ConstMatrixXfRef& logq, float* out);

}  // namespace categorical

namespace gaussian {

constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log(sqrt(2 pi))

// log N(a; mean, exp(log_std)) summed over dims, per column.
void log_prob(const ConstMatrixXfRef& mean, const float* log_std, const ConstMatrixXfRef& actions, float* out);
// Entropy is the same for every sample: sum_d (0.5 + log sqrt(2 pi) + log_std_d).
float entropy(const float* log_std, int dims);
void sample(const ConstMatrixXfRef& mean, const float* log_std, Rng& rng, MatrixXfRef actions_out);
// Gradients: dmean (A x n) = dlogp * (a - mu) / sigma^2 ;
//            dlog_std (A) += sum_i dlogp_i * (z_i^2 - 1) + dent_i * 1.
void backward(const ConstMatrixXfRef& mean, const float* log_std, const ConstMatrixXfRef& actions,
              const float* dlogp, const float* dent, MatrixXfRef dmean, float* dlog_std);
// KL(p || q) per column for two diagonal Gaussians.
void kl(const ConstMatrixXfRef& mean_p, const float* log_std_p, const ConstMatrixXfRef& mean_q,
        const float* log_std_q, float* out);

}  // namespace gaussian

}  // namespace pl
