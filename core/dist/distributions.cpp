#include "core/dist/distributions.hpp"

#include <limits>

namespace pl {
namespace categorical {

void log_softmax(const ConstMatrixXfRef& logits, const float* mask, MatrixXfRef logp) {
  const int A = static_cast<int>(logits.rows()), n = static_cast<int>(logits.cols());
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (int i = 0; i < n; ++i) {
    const float* m = mask ? mask + static_cast<ptrdiff_t>(i) * A : nullptr;
    float mx = neg_inf;
    for (int j = 0; j < A; ++j)
      if (!m || m[j] != 0.0f) mx = std::max(mx, logits(j, i));
    double z = 0.0;
    for (int j = 0; j < A; ++j)
      if (!m || m[j] != 0.0f) z += std::exp(static_cast<double>(logits(j, i) - mx));
    const float lse = mx + static_cast<float>(std::log(z));
    for (int j = 0; j < A; ++j) logp(j, i) = (!m || m[j] != 0.0f) ? logits(j, i) - lse : neg_inf;
  }
}

void log_prob(const ConstMatrixXfRef& logp, const float* actions, float* out) {
  for (int i = 0; i < logp.cols(); ++i) out[i] = logp(static_cast<int>(actions[i]), i);
}

void entropy(const ConstMatrixXfRef& logp, float* out) {
  for (int i = 0; i < logp.cols(); ++i) {
    float h = 0.0f;
    for (int j = 0; j < logp.rows(); ++j) {
      const float lp = logp(j, i);
      if (std::isfinite(lp)) h -= std::exp(lp) * lp;  // masked: p log p -> 0
    }
    out[i] = h;
  }
}

void sample(const ConstMatrixXfRef& logp, Rng& rng, float* actions_out) {
  const int A = static_cast<int>(logp.rows());
  for (int i = 0; i < logp.cols(); ++i) {
    struct ProbAt {
      const ConstMatrixXfRef& lp;
      int col;
      float operator[](int j) const { return std::exp(lp(j, col)); }
    } probs{logp, i};
    actions_out[i] = static_cast<float>(rng.categorical(probs, A));
  }
}

void mode(const ConstMatrixXfRef& logp, float* actions_out) {
  for (int i = 0; i < logp.cols(); ++i) {
    Eigen::Index best;
    logp.col(i).maxCoeff(&best);
    actions_out[i] = static_cast<float>(best);
  }
}

void backward(const ConstMatrixXfRef& logp, const float* actions, const float* dlogp, const float* dent,
              MatrixXfRef dlogits) {
  const int A = static_cast<int>(logp.rows());
  for (int i = 0; i < logp.cols(); ++i) {
    float h = 0.0f;
    for (int j = 0; j < A; ++j)
      if (std::isfinite(logp(j, i))) h -= std::exp(logp(j, i)) * logp(j, i);
    const int a = static_cast<int>(actions[i]);
    for (int j = 0; j < A; ++j) {
      const float lp = logp(j, i);
      if (!std::isfinite(lp)) {  // masked action: no gradient
        dlogits(j, i) = 0.0f;
        continue;
      }
      const float p = std::exp(lp);
      float d = dlogp[i] * ((j == a ? 1.0f : 0.0f) - p);
      if (dent) d += dent[i] * (-p * (lp + h));
      dlogits(j, i) = d;
    }
  }
}

void kl(const ConstMatrixXfRef& logp, const ConstMatrixXfRef& logq, float* out) {
  for (int i = 0; i < logp.cols(); ++i) {
    float s = 0.0f;
    for (int j = 0; j < logp.rows(); ++j)
      if (std::isfinite(logp(j, i))) s += std::exp(logp(j, i)) * (logp(j, i) - logq(j, i));
    out[i] = s;
  }
}

}  // namespace categorical

namespace gaussian {

void log_prob(const ConstMatrixXfRef& mean, const float* log_std, const ConstMatrixXfRef& actions, float* out) {
  const int A = static_cast<int>(mean.rows());
  for (int i = 0; i < mean.cols(); ++i) {
    float s = 0.0f;
    for (int d = 0; d < A; ++d) {
      const float z = (actions(d, i) - mean(d, i)) * std::exp(-log_std[d]);
      s += -0.5f * z * z - log_std[d] - static_cast<float>(kLogSqrt2Pi);
    }
    out[i] = s;
  }
}

float entropy(const float* log_std, int dims) {
  float h = 0.0f;
  for (int d = 0; d < dims; ++d) h += 0.5f + static_cast<float>(kLogSqrt2Pi) + log_std[d];
  return h;
}

void sample(const ConstMatrixXfRef& mean, const float* log_std, Rng& rng, MatrixXfRef actions_out) {
  for (int i = 0; i < mean.cols(); ++i)
    for (int d = 0; d < mean.rows(); ++d)
      actions_out(d, i) = mean(d, i) + std::exp(log_std[d]) * static_cast<float>(rng.normal());
}

void backward(const ConstMatrixXfRef& mean, const float* log_std, const ConstMatrixXfRef& actions,
              const float* dlogp, const float* dent, MatrixXfRef dmean, float* dlog_std) {
  const int A = static_cast<int>(mean.rows());
  for (int d = 0; d < A; ++d) {
    const float inv_var = std::exp(-2.0f * log_std[d]);
    // Summed in a register in sample order (the same additions as into memory): the log-std gradient
    // may share a cache line with the critic's, which another thread writes meanwhile.
    float dls = dlog_std[d];
    for (int i = 0; i < mean.cols(); ++i) {
      const float diff = actions(d, i) - mean(d, i);
      dmean(d, i) = dlogp[i] * diff * inv_var;
      dls += dlogp[i] * (diff * diff * inv_var - 1.0f) + (dent ? dent[i] : 0.0f);
    }
    dlog_std[d] = dls;
  }
}

void kl(const ConstMatrixXfRef& mean_p, const float* log_std_p, const ConstMatrixXfRef& mean_q,
        const float* log_std_q, float* out) {
  // KL(N(mp, sp^2) || N(mq, sq^2)) = log(sq/sp) + (sp^2 + (mp - mq)^2) / (2 sq^2) - 1/2, per dim.
  const int A = static_cast<int>(mean_p.rows());
  for (int i = 0; i < mean_p.cols(); ++i) {
    float s = 0.0f;
    for (int d = 0; d < A; ++d) {
      const float var_p = std::exp(2.0f * log_std_p[d]), var_q = std::exp(2.0f * log_std_q[d]);
      const float dm = mean_p(d, i) - mean_q(d, i);
      s += log_std_q[d] - log_std_p[d] + (var_p + dm * dm) / (2.0f * var_q) - 0.5f;
    }
    out[i] = s;
  }
}

}  // namespace gaussian
}  // namespace pl
