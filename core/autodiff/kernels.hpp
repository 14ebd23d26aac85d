// Raw-buffer kernels shared by the tape's ops (tape.cpp) and by inference code that runs outside a
// tape (the transformer's KV-cached sampler), so that both compute the same numbers the same way.
// Layouts are dense row-major.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/autodiff/tape.hpp"
#include "core/nn/linear_avx2.hpp"
#include "core/nn/small_gemm.hpp"
#include "core/util/parallel.hpp"

namespace pl {
namespace kernels {

// C (M x N) = or += op(A) (M x K) * op(B) (K x N), all row-major with row strides lda, ldb, ldc;
// op(X) = X^T when the flag is set, in which case X is stored transposed (A as K x M, B as N x K).
// The strides let a product read one head's columns of a [rows, D] tensor (attention).
//
// Through the register-blocked kernels of nn/small_gemm.hpp: a row-major C is the column-major
// C^T = op(B)^T op(A)^T, whose left factor op(B)^T reads B's rows as columns (transposed storage
// when tb) and whose right factor op(A)^T is A read column-major (row-major when ta).
inline void gemm_portable(const float* A, int lda, const float* B, int ldb, float* C, int ldc, int M, int K, int N,
                          bool ta, bool tb, bool accumulate) {
  using small_gemm::detail::gemm;
  if (!tb && !ta) gemm<false, false>(N, M, K, B, ldb, A, lda, C, ldc, accumulate, nullptr);
  else if (!tb && ta) gemm<false, true>(N, M, K, B, ldb, A, lda, C, ldc, accumulate, nullptr);
  else if (tb && !ta) gemm<true, false>(N, M, K, B, ldb, A, lda, C, ldc, accumulate, nullptr);
  else gemm<true, true>(N, M, K, B, ldb, A, lda, C, ldc, accumulate, nullptr);
}

// The same with Eigen's products (vectorised for the host ISA natively).
inline void gemm_eigen(const float* A, int lda, const float* B, int ldb, float* C, int ldc, int M, int K, int N,
                       bool ta, bool tb, bool accumulate) {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  using CMap = Eigen::Map<const RowMajor, 0, Stride>;
  Eigen::Map<RowMajor, 0, Stride> c(C, M, N, Stride(ldc));
  const CMap a(A, ta ? K : M, ta ? M : K, Stride(lda));
  const CMap b(B, tb ? N : K, tb ? K : N, Stride(ldb));
  auto run = [&](const auto& x, const auto& y) {
    if (accumulate)
      c.noalias() += x * y;
    else
      c.noalias() = x * y;
  };
  if (!ta && !tb) run(a, b);
  else if (!ta && tb) run(a, b.transpose());
  else if (ta && !tb) run(a.transpose(), b);
  else run(a.transpose(), b.transpose());
}

#if defined(POLICYLAB_LINEAR_AVX2)
// The same with the x86 register-tiled kernels of nn/linear_avx2.hpp (AVX2 + FMA, or AVX-512), by
// the same column-major mapping as gemm_portable. Why: the tape's products are many small ones
// (a POMO TSP20 step: attention products of 380 x 16 x 20 per head, 6080 x 64 x 64 projections),
// where Eigen packs both operands on every call; measured 1.0-1.6x faster across those shapes
// (AVX-512), and each entry's reduction order is fixed by the shapes alone.
inline void gemm_x86(const float* A, int lda, const float* B, int ldb, float* C, int ldc, int M, int K, int N, bool ta,
                     bool tb, bool accumulate) {
  using linear_avx2::detail::gemm;
  if (!tb && !ta) gemm<false, false>(N, M, K, B, ldb, A, lda, C, ldc, accumulate, nullptr);
  else if (!tb && ta) gemm<false, true>(N, M, K, B, ldb, A, lda, C, ldc, accumulate, nullptr);
  else if (tb && !ta) gemm<true, false>(N, M, K, B, ldb, A, lda, C, ldc, accumulate, nullptr);
  else gemm<true, true>(N, M, K, B, ldb, A, lda, C, ldc, accumulate, nullptr);
}
#endif

// WebAssembly has no Eigen SIMD backend: there the portable kernels (wasm SIMD) run the products;
// x86 with AVX2 runs gemm_x86; anything else Eigen's products.
inline void gemm_serial(const float* A, int lda, const float* B, int ldb, float* C, int ldc, int M, int K, int N,
                        bool ta, bool tb, bool accumulate) {
#if defined(__wasm_simd128__) || defined(POLICYLAB_PORTABLE_GEMM)
  gemm_portable(A, lda, B, ldb, C, ldc, M, K, N, ta, tb, accumulate);
#elif defined(POLICYLAB_LINEAR_AVX2)
  gemm_x86(A, lda, B, ldb, C, ldc, M, K, N, ta, tb, accumulate);
#else
  gemm_eigen(A, lda, B, ldb, C, ldc, M, K, N, ta, tb, accumulate);
#endif
}

// Products of at least this many multiply-adds split over parallel::threads() (the hand-off costs
// about a microsecond; 2^17 multiply-adds take ~5 at this machine's speed).
constexpr double kParallelGemmFlops = 131072;

// C = or += op(A) op(B) (gemm_serial), split into row blocks of C (or column blocks, when C is wider
// than tall) over the threads. Each entry's reduction over K runs in the same kernel code in the
// same order however C is split (the register kernels block K by a constant), so the numbers do
// not depend on the thread count. Eigen's products choose their K blocking from the whole shape, so
// that backend never splits.
inline void gemm(const float* A, int lda, const float* B, int ldb, float* C, int ldc, int M, int K, int N, bool ta,
                 bool tb, bool accumulate) {
#if defined(__wasm_simd128__) || defined(POLICYLAB_PORTABLE_GEMM) || defined(POLICYLAB_LINEAR_AVX2)
  if (parallel::threads() > 1 && static_cast<double>(M) * K * N >= kParallelGemmFlops) {
    if (M >= N) {
      constexpr int kRows = 6;  // the register kernels' column block of the transposed product
      parallel::for_range((M + kRows - 1) / kRows, 1, [&](int begin, int end, int) {
        const int i0 = begin * kRows, rows = std::min(M, end * kRows) - i0;
        gemm_serial(ta ? A + i0 : A + static_cast<size_t>(i0) * lda, lda, B, ldb, C + static_cast<size_t>(i0) * ldc,
                    ldc, rows, K, N, ta, tb, accumulate);
      });
    } else {
      constexpr int kCols = 16;  // two 8-float vectors: the kernels' panel width
      parallel::for_range((N + kCols - 1) / kCols, 1, [&](int begin, int end, int) {
        const int j0 = begin * kCols, cols = std::min(N, end * kCols) - j0;
        gemm_serial(A, lda, tb ? B + static_cast<size_t>(j0) * ldb : B + j0, ldb, C + j0, ldc, M, K, cols, ta, tb,
                    accumulate);
      });
    }
    return;
  }
#endif
  gemm_serial(A, lda, B, ldb, C, ldc, M, K, N, ta, tb, accumulate);
}
// Dense operands: the row strides follow from the shapes.
inline void gemm(const float* A, const float* B, float* C, int M, int K, int N, bool ta, bool tb, bool accumulate) {
  gemm(A, ta ? M : K, B, tb ? K : N, C, N, M, K, N, ta, tb, accumulate);
}

inline void add_row_vector(float* out, const float* bias, int M, int N) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) out[static_cast<size_t>(i) * N + j] += bias[j];
}
inline void add_column_sums(const float* g, float* out, int M, int N) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) out[j] += g[static_cast<size_t>(i) * N + j];
}

constexpr float kGeluC = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kGeluA = 0.044715f;
// GELU, tanh approximation as in GPT-2 (Hendrycks & Gimpel 2016, sec. 2), over n values; t receives the tanh term, which the backward pass reuses.
// Eigen's float tanh is a rational approximation (exact to a few ulp), far cheaper than libm's.
inline void gelu_forward(const float* x, float* y, float* t, int n) {
  Eigen::Map<const Eigen::ArrayXf> X(x, n);
  Eigen::Map<Eigen::ArrayXf> T(t, n), Y(y, n);
  T = (kGeluC * (X + kGeluA * X.cube())).tanh();
  Y = 0.5f * X * (1.0f + T);
}
inline void gelu_backward(const float* x, const float* t, const float* g, float* dx, int n) {
  Eigen::Map<const Eigen::ArrayXf> X(x, n), T(t, n), G(g, n);
  Eigen::Map<Eigen::ArrayXf> DX(dx, n);
  DX += G * (0.5f * (1.0f + T) + 0.5f * X * (1.0f - T.square()) * kGeluC * (1.0f + 3.0f * kGeluA * X.square()));
}
// std::exp(x), with the 0 it returns for an argument far below its underflow threshold given
// directly: glibc reaches that 0 through its error path (errno, a floating-point exception), and
// masked log-probabilities (kMaskedLogProb = -1e9) send half the entries of a decoding step there.
// The same bits as std::exp for every argument (e^-110 and e^-800 round to 0 in float and double).
inline float exp_or_zero(float x) { return x < -110.0f ? 0.0f : std::exp(x); }
inline double exp_or_zero(double x) { return x < -800.0 ? 0.0 : std::exp(x); }
inline float sigmoid(float x) {
  if (x >= 0) return 1.0f / (1.0f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.0f + e);
}
inline float softplus(float x) { return std::max(x, 0.0f) + std::log1p(std::exp(-std::fabs(x))); }
// |y| kept >= eps with its sign (0 counts as positive): safe_div's denominator.
inline float guard_denominator(float y, float eps) { return std::fabs(y) < eps ? (y < 0 ? -eps : eps) : y; }

// Log-softmax of `rows` rows of V logits each (x and out: rows x V, row-major, not aliased);
// mask_of(r) gives row r's mask (entry j allowed when nonzero; any integer type) or nullptr for
// all allowed. Masked entries get kMaskedLogProb; a row with nothing allowed is all kMaskedLogProb.
// Per row: m = max over the allowed entries, lse = m + log(sum_j exp(x_j - m)) with the sum in
// double, out_j = x_j - lse.
//
// Why rows at a time: the exponentials of a chunk of rows run as one Eigen array expression (its
// vectorised exp: the same bits as std::exp on 1.1 million inputs in [-100, 10] here, except that
// results below float's normal range flush to 0), where one scalar libm call
// per entry was ~15% of a POMO TSP20 training step (rows of 20 nodes, issue 9). out holds the
// shifted logits and then their exponentials before the final values.
template <typename MaskOf>
inline void log_softmax_rows(const float* x, MaskOf mask_of, float* out, int rows, int V) {
  constexpr int kChunk = 64;  // rows per pass; their maxima stay on the stack
  float row_max[kChunk];
  for (int r0 = 0; r0 < rows; r0 += kChunk) {
    const int nr = std::min(kChunk, rows - r0);
    for (int r = 0; r < nr; ++r) {
      const float* xr = x + static_cast<size_t>(r0 + r) * V;
      const auto* m = mask_of(r0 + r);
      float* o = out + static_cast<size_t>(r0 + r) * V;
      // Branch-free passes that vectorise: the allowed logits (-inf elsewhere), their maximum
      // (Eigen's vectorised maxCoeff; a maximum is exact in any order), the shift.
      if (m) for (int j = 0; j < V; ++j) o[j] = m[j] ? xr[j] : -INFINITY;
      else std::copy(xr, xr + V, o);
      Eigen::Map<Eigen::ArrayXf> row(o, V);
      const float mx = row.maxCoeff();
      row_max[r] = mx;
      if (mx == -INFINITY) row = -INFINITY;  // nothing allowed (-inf - -inf would be NaN)
      else row -= mx;
    }
    Eigen::Map<Eigen::ArrayXf> shifted(out + static_cast<size_t>(r0) * V, static_cast<Eigen::Index>(nr) * V);
    shifted = shifted.exp();  // exp(-inf) = 0: masked entries add nothing below
    for (int r = 0; r < nr; ++r) {
      const float* xr = x + static_cast<size_t>(r0 + r) * V;
      const auto* m = mask_of(r0 + r);
      float* o = out + static_cast<size_t>(r0 + r) * V;
      if (row_max[r] == -INFINITY) {
        std::fill(o, o + V, kMaskedLogProb);
        continue;
      }
      double s = 0;
      for (int j = 0; j < V; ++j) s += o[j];
      const float lse = row_max[r] + static_cast<float>(std::log(s));
      if (m) for (int j = 0; j < V; ++j) o[j] = m[j] ? xr[j] - lse : kMaskedLogProb;
      else for (int j = 0; j < V; ++j) o[j] = xr[j] - lse;
    }
  }
}
// One row (mask: nullptr for all allowed).
inline void log_softmax_row(const float* x, const int32_t* mask, float* out, int V) {
  log_softmax_rows(x, [mask](int) { return mask; }, out, 1, V);
}

// Layer norm of one row (Ba, Kiros & Hinton 2016), biased variance as PyTorch; saves mean, 1/std.
inline void layer_norm_row(const float* x, const float* gamma, const float* beta, float* out, int D, float eps,
                           float* mean_out, float* rstd_out) {
  double m = 0;
  for (int j = 0; j < D; ++j) m += x[j];
  m /= D;
  double v = 0;
  for (int j = 0; j < D; ++j) v += (x[j] - m) * (x[j] - m);
  v /= D;
  const float mean = static_cast<float>(m);
  const float rstd = static_cast<float>(1.0 / std::sqrt(v + eps));
  for (int j = 0; j < D; ++j) out[j] = (x[j] - mean) * rstd * gamma[j] + beta[j];
  if (mean_out) *mean_out = mean;
  if (rstd_out) *rstd_out = rstd;
}
inline void layer_norm_row_backward(const float* x, const float* gamma, const float* g, float mean, float rstd, int D,
                                    float* dx, float* dgamma, float* dbeta) {
  double sum_dxhat = 0, sum_dxhat_xhat = 0;
  for (int j = 0; j < D; ++j) {
    const float xhat = (x[j] - mean) * rstd;
    const float dxhat = g[j] * gamma[j];
    sum_dxhat += dxhat;
    sum_dxhat_xhat += dxhat * xhat;
    if (dgamma) dgamma[j] += g[j] * xhat;
    if (dbeta) dbeta[j] += g[j];
  }
  if (!dx) return;
  const float a = static_cast<float>(sum_dxhat / D), b = static_cast<float>(sum_dxhat_xhat / D);
  for (int j = 0; j < D; ++j) {
    const float xhat = (x[j] - mean) * rstd;
    dx[j] += rstd * (g[j] * gamma[j] - a - xhat * b);
  }
}

// sum_j term(j) for j < n in 8 interleaved partial sums (term j goes to lane j % 8), then the lanes
// in order: vectorises without -ffast-math, and the order depends on n alone, not on the buffers'
// alignment.
template <typename Term>
inline float sum_in_lanes(int n, Term term) {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) lane[l] += term(j + l);
  for (int l = 0; j + l < n; ++l) lane[l] += term(j + l);
  float s = 0;
  for (float v : lane) s += v;
  return s;
}

// Softmax of `rows` rows of V scores each, in place (P: rows x V, row-major). hide(r, row, fill)
// sets row r's hidden entries to `fill` (its masks as branch-free passes). Hidden entries get weight
// exactly 0; a row with nothing visible gets all 0. Per row: the maximum over the visible entries
// is subtracted, then one vectorised exp over the whole block (Eigen's), then each row is divided by
// its sum (8 lanes). Attention's weights, in the training pass and in the AM rollout's glimpse.
template <typename Hide>
inline void softmax_rows(float* P, int rows, int V, Hide hide) {
  for (int i = 0; i < rows; ++i) {
    float* row = P + static_cast<size_t>(i) * V;
    Eigen::Map<Eigen::ArrayXf> r(row, V);
    hide(i, row, -INFINITY);
    const float mx = r.maxCoeff();  // a maximum is exact in any order
    if (mx != -INFINITY) r -= mx;   // else the row sees nothing (-inf - -inf would be NaN)
  }
  Eigen::Map<Eigen::ArrayXf> block(P, static_cast<Eigen::Index>(rows) * V);
  block = block.exp();
  for (int i = 0; i < rows; ++i) {
    float* row = P + static_cast<size_t>(i) * V;
    hide(i, row, 0.0f);  // exactly 0 (the vectorised exp of -inf is a tiny denormal)
    const float total = sum_in_lanes(V, [row](int j) { return row[j]; });
    const float inv = total > 0 ? 1.0f / total : 0.0f;
    for (int j = 0; j < V; ++j) row[j] *= inv;
  }
}

// Multi-head scaled dot-product attention (Vaswani et al. 2017, eq. 1). q, out: [B, tq, D];
// k, v: [B, kv_rows, D] of which the first tk rows are used (kv_rows > tk for a KV cache). Query i
// sees key j when (!causal || j <= i + tk - tq), key_mask[b * kv_rows + j] != 0 and
// query_mask[(b * tq + i) * tk + j] != 0 (each mask when given: key padding, or a mask per query as
// the Attention Model's glimpse has). probs [B, H, tq, tk] receives the attention weights (0 where
// hidden); a query that sees no key outputs 0.
//
// Per (batch, head), the two products run through gemm on the head's strided columns, and the
// masked softmax between them is vectorised passes over the [tq, tk] block (one Eigen exp for the
// block). Why: the per-pair scalar dot products this replaced were the slowest part of the AM
// encoder and of the transformer, and the AM decoder's glimpse could not use them at all.
inline void attention_forward(const float* q, const float* k, const float* v, const int32_t* key_mask,
                              const int32_t* query_mask, float* out, float* probs, int B, int tq, int tk, int D, int H,
                              bool causal, int kv_rows = -1) {
  if (kv_rows < 0) kv_rows = tk;
  const int dh = D / H;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const int offset = tk - tq;
  // The batch elements are independent (each writes its own rows of out and blocks of probs): split
  // over the threads.
  parallel::for_range(B, 1, [&](int b_begin, int b_end, int) {
    for (int b = b_begin; b < b_end; ++b) {
      const float* kb = k + static_cast<size_t>(b) * kv_rows * D;
      const float* vb = v + static_cast<size_t>(b) * kv_rows * D;
      const int32_t* km = key_mask ? key_mask + static_cast<size_t>(b) * kv_rows : nullptr;
      const int32_t* qm = query_mask ? query_mask + static_cast<size_t>(b) * tq * tk : nullptr;
      // Sets query i's hidden entries of `row` to `fill`: branch-free passes that vectorise.
      auto hide = [&](int i, float* row, float fill) {
        if (qm) {
          const int32_t* m = qm + static_cast<size_t>(i) * tk;
          for (int j = 0; j < tk; ++j) row[j] = m[j] ? row[j] : fill;
        }
        if (km)
          for (int j = 0; j < tk; ++j) row[j] = km[j] ? row[j] : fill;
        if (causal)
          for (int j = std::max(0, i + offset + 1); j < tk; ++j) row[j] = fill;
      };
      for (int h = 0; h < H; ++h) {
        const float* qh = q + static_cast<size_t>(b) * tq * D + h * dh;
        float* P = probs + (static_cast<size_t>(b) * H + h) * tq * tk;
        gemm(qh, D, kb + h * dh, D, P, tk, tq, dh, tk, false, true, false);  // scores Q_h K_h^T
        Eigen::Map<Eigen::ArrayXf>(P, static_cast<Eigen::Index>(tq) * tk) *= scale;
        softmax_rows(P, tq, tk, hide);
        gemm(P, tk, vb + h * dh, D, out + static_cast<size_t>(b) * tq * D + h * dh, D, tq, tk, dh, false, false,
             false);  // P V_h
      }
    }
  });
}

// The vector-Jacobian product of attention_forward (keys and values with kv_rows = tk): adds to
// dq, dk, dv (each optional). With dP = G_h V_h^T: dS_ij = p_ij (dP_ij - sum_l p_il dP_il) * scale,
// dQ_h += dS K_h, dK_h += dS^T Q_h, dV_h += P^T G_h. Hidden keys have p = 0, which zeroes their
// terms. scratch: B * tq * tk floats (one block per batch element, which the threads split).
inline void attention_backward(const float* q, const float* k, const float* v, const float* g, const float* probs,
                               float* scratch_all, int B, int tq, int tk, int D, int H, float* dq, float* dk,
                               float* dv) {
  const int dh = D / H;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  parallel::for_range(B, 1, [&](int b_begin, int b_end, int) {
    for (int b = b_begin; b < b_end; ++b) {
      const size_t qoff = static_cast<size_t>(b) * tq * D, koff = static_cast<size_t>(b) * tk * D;
      float* scratch = scratch_all + static_cast<size_t>(b) * tq * tk;
      for (int h = 0; h < H; ++h) {
        const float* P = probs + (static_cast<size_t>(b) * H + h) * tq * tk;
        const float* gh = g + qoff + h * dh;
        if (dv) gemm(P, tk, gh, D, dv + koff + h * dh, D, tk, tq, dh, true, false, true);
        if (!dq && !dk) continue;
        gemm(gh, D, v + koff + h * dh, D, scratch, tk, tq, dh, tk, false, true, false);  // dP
        for (int i = 0; i < tq; ++i) {
          const float* p = P + static_cast<size_t>(i) * tk;
          float* ds = scratch + static_cast<size_t>(i) * tk;
          const float weighted = sum_in_lanes(tk, [p, ds](int j) { return p[j] * ds[j]; });
          for (int j = 0; j < tk; ++j) ds[j] = p[j] * (ds[j] - weighted) * scale;
        }
        if (dq) gemm(scratch, tk, k + koff + h * dh, D, dq + qoff + h * dh, D, tq, tk, dh, false, false, true);
        if (dk) gemm(scratch, tk, q + qoff + h * dh, D, dk + koff + h * dh, D, tk, tq, dh, true, false, true);
      }
    }
  });
}

}  // namespace kernels
}  // namespace pl
