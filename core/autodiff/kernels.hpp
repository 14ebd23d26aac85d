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
// log(1 - e^x) for x < 0 (Maechler 2012, "Accurately computing log(1 - exp(-|a|))"): log(-expm1(x))
// near 0, log1p(-e^x) below -log 2; x is taken as at most -1e-10 (at 0 the value is -infinity;
// the bound keeps the derivative within 1e10, whose square a float still holds).
constexpr float kLog1mExpMaxArg = -1e-10f;
inline float log1mexp(float x) {
  const double z = std::min(static_cast<double>(x), static_cast<double>(kLog1mExpMaxArg));
  return static_cast<float>(z > -0.6931471805599453 ? std::log(-std::expm1(z)) : std::log1p(-std::exp(z)));
}
// Its derivative -e^x / (1 - e^x) = -1 / expm1(-x), at the same argument.
inline float log1mexp_grad(float x) {
  const double z = std::min(static_cast<double>(x), static_cast<double>(kLog1mExpMaxArg));
  return static_cast<float>(-1.0 / std::expm1(-z));
}
// |y| kept >= eps with its sign (0 counts as positive): safe_div's denominator.
inline float guard_denominator(float y, float eps) { return std::fabs(y) < eps ? (y < 0 ? -eps : eps) : y; }

// sum_j term(j) for j < n in double, in four interleaved partial sums (term j to lane j % 4) added
// pairwise: a chain of n dependent additions was half of a 20-entry log-softmax row's time.
template <typename Term>
inline double sum_in_double_lanes(int n, Term term) {
  double lane[4] = {0, 0, 0, 0};
  int j = 0;
  for (; j + 4 <= n; j += 4)
    for (int l = 0; l < 4; ++l) lane[l] += term(j + l);
  for (int l = 0; j + l < n; ++l) lane[l] += term(j + l);
  return (lane[0] + lane[1]) + (lane[2] + lane[3]);
}

// Arguments of the vectorised exponentials of probabilities (softmax, log-softmax) are raised to at
// least this. Why: Eigen's float exp of anything below about -87.3 (a hidden entry's -inf, a masked
// log-probability's -1e9) returns a subnormal, and producing a subnormal costs the x86 core a
// microcode assist of about a hundred cycles per vector: a third of the AM glimpse attention's
// forward pass, where half the entries are hidden. e^-80 ~ 1.8e-35 is a normal float; every use
// zeroes the hidden entries afterwards or adds them to a sum >= 1, where it vanishes.
constexpr float kExpFloor = -80.0f;

// Log-softmax of `rows` rows of V logits each (x and out: rows x V, row-major, not aliased);
// mask_of(r) gives row r's mask (entry j allowed when nonzero; any integer type) or nullptr for
// all allowed. Masked entries get kMaskedLogProb; a row with nothing allowed is all kMaskedLogProb.
// Per row: m = max over the allowed entries, lse = m + log(sum_j exp(x_j - m)) with the sum in
// double (sum_in_double_lanes), out_j = x_j - lse.
//
// Why rows at a time: the exponentials of a chunk of rows run as one Eigen array expression (its
// vectorised exp; arguments are floored at kExpFloor), where one scalar libm call
// per entry was ~15% of a POMO TSP20 training step (rows of 20 nodes, issue 9). out holds the
// shifted logits and then their exponentials before the final values.
//
// Rows per pass (their maxima stay on the stack). A caller that splits the rows over threads cuts
// at multiples of it, so that every pass starts where one thread's would: the vectorised exp runs
// a scalar head (to the vector alignment) and tail whose last bits can differ (not every input
// rounds alike: 48 of 12 480 differed in one test), so a pass cut elsewhere changed a few bits.
constexpr int kLogSoftmaxPassRows = 64;
template <typename MaskOf>
inline void log_softmax_rows(const float* x, MaskOf mask_of, float* out, int rows, int V) {
  constexpr int kChunk = kLogSoftmaxPassRows;
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
    shifted = shifted.max(kExpFloor).exp();  // masked entries add e^-80 to a sum >= 1: nothing
    for (int r = 0; r < nr; ++r) {
      const float* xr = x + static_cast<size_t>(r0 + r) * V;
      const auto* m = mask_of(r0 + r);
      float* o = out + static_cast<size_t>(r0 + r) * V;
      if (row_max[r] == -INFINITY) {
        std::fill(o, o + V, kMaskedLogProb);
        continue;
      }
      const double s = sum_in_double_lanes(V, [o](int j) { return o[j]; });
      const float lse = row_max[r] + static_cast<float>(std::log(s));
      // The subtraction, then the select: each a pass that vectorises (a select of a difference
      // compiles to a branch per entry, which mispredicts on a decoding mask).
      for (int k = 0; k < V; ++k) o[k] = xr[k] - lse;
      if (m)
        for (int k = 0; k < V; ++k) o[k] = m[k] ? o[k] : kMaskedLogProb;
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
  block = block.max(kExpFloor).exp();
  for (int i = 0; i < rows; ++i) {
    float* row = P + static_cast<size_t>(i) * V;
    hide(i, row, 0.0f);  // exactly 0 (they hold e^kExpFloor)
    const float total = sum_in_lanes(V, [row](int j) { return row[j]; });
    const float inv = total > 0 ? 1.0f / total : 0.0f;
    for (int j = 0; j < V; ++j) row[j] *= inv;
  }
}

// Softmax over the keys of a key-major score block, in place: P is tk x tq with row stride tq, row
// j holding key j's scores for every query, and each column (a query) is normalised over its
// visible keys after scaling by `scale`. hide(j, row, c0, w, fill) sets the hidden entries of key
// row j's columns [c0, c0 + w) (row points at column c0) to `fill`. Hidden entries get exactly 0; a
// query that sees no key gets 0 everywhere. Each query's maximum and sum run over j in order.
//
// Why key-major: with a few keys per query (the Attention Model's glimpse: 20 nodes, 380 queries
// per instance) a query-major row is too short to vectorise, and each row's reductions are a chain
// of dependent horizontal operations (softmax_rows: ~60% of the glimpse's forward pass). Here every
// pass is an element-wise operation between long rows.
template <typename Hide>
inline void softmax_keys(float* P, int tk, int tq, float scale, Hide hide) {
  constexpr int kCols = 512;  // queries per pass: their maxima and sums stay on the stack
  float top[kCols], total[kCols];
  for (int c0 = 0; c0 < tq; c0 += kCols) {
    const int w = std::min(kCols, tq - c0);
    std::fill(top, top + w, -INFINITY);
    for (int j = 0; j < tk; ++j) {
      float* row = P + static_cast<size_t>(j) * tq + c0;
      for (int i = 0; i < w; ++i) row[i] *= scale;
      hide(j, row, c0, w, -INFINITY);
      for (int i = 0; i < w; ++i) top[i] = top[i] < row[i] ? row[i] : top[i];  // exact in any order
    }
    // A query that sees nothing: exp(-inf - 0) = 0 (-inf - -inf would be NaN).
    for (int i = 0; i < w; ++i) top[i] = top[i] == -INFINITY ? 0.0f : top[i];
    for (int j = 0; j < tk; ++j) {
      float* row = P + static_cast<size_t>(j) * tq + c0;
      for (int i = 0; i < w; ++i) row[i] -= top[i];
    }
    // One exp over the block when it is one pass (Eigen computes the unaligned head and tail of
    // each row with scalar libm calls: rows of 20 spend most of their time there).
    if (w == tq) {
      Eigen::Map<Eigen::ArrayXf> block(P, static_cast<Eigen::Index>(tk) * tq);
      block = block.max(kExpFloor).exp();
    } else {
      for (int j = 0; j < tk; ++j) {
        Eigen::Map<Eigen::ArrayXf> row(P + static_cast<size_t>(j) * tq + c0, w);
        row = row.max(kExpFloor).exp();
      }
    }
    std::fill(total, total + w, 0.0f);
    for (int j = 0; j < tk; ++j) {
      float* row = P + static_cast<size_t>(j) * tq + c0;
      hide(j, row, c0, w, 0.0f);  // exactly 0 (they hold e^kExpFloor)
      for (int i = 0; i < w; ++i) total[i] += row[i];
    }
    for (int i = 0; i < w; ++i) total[i] = total[i] > 0 ? 1.0f / total[i] : 0.0f;
    for (int j = 0; j < tk; ++j) {
      float* row = P + static_cast<size_t>(j) * tq + c0;
      for (int i = 0; i < w; ++i) row[i] *= total[i];
    }
  }
}

// Multi-head scaled dot-product attention (Vaswani et al. 2017, eq. 1). q, out: [B, tq, D];
// k, v: [B, kv_rows, D] of which the first tk rows are used (kv_rows > tk for a KV cache). Query i
// sees key j when (!causal || j <= i + tk - tq), key_mask[b * kv_rows + j] != 0 and
// query_mask[(b * tq + i) * tk + j] != 0 (each mask when given: key padding, or a mask per query as
// the Attention Model's glimpse has). probs [B, H, tk, tq] receives the attention weights key-major
// (row j: key j's weight in every query; 0 where hidden); a query that sees no key outputs 0.
// scratch: B * tq * tk floats, used with a query mask (its key-major copy), else may be null.
//
// Per (batch, head), the two products run through gemm on the head's strided columns, with the
// masked softmax between them (softmax_keys). A single query (the KV-cached sampler's step) takes
// the query-major softmax_rows, the same layout when tq = 1. Why products: the per-pair scalar dot
// products this replaced were the slowest part of the AM encoder and of the transformer, and the AM
// decoder's glimpse could not use them at all.
inline void attention_forward(const float* q, const float* k, const float* v, const int32_t* key_mask,
                              const int32_t* query_mask, float* out, float* probs, float* scratch, int B, int tq,
                              int tk, int D, int H, bool causal, int kv_rows = -1) {
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
      if (tq == 1) {
        // Query i = 0's hidden entries of its row set to `fill`: branch-free passes that vectorise.
        auto hide = [&](int, float* row, float fill) {
          if (qm)
            for (int j = 0; j < tk; ++j) row[j] = qm[j] ? row[j] : fill;
          if (km)
            for (int j = 0; j < tk; ++j) row[j] = km[j] ? row[j] : fill;
          if (causal)
            for (int j = std::max(0, offset + 1); j < tk; ++j) row[j] = fill;
        };
        for (int h = 0; h < H; ++h) {
          float* P = probs + (static_cast<size_t>(b) * H + h) * tk;
          gemm(q + static_cast<size_t>(b) * D + h * dh, D, kb + h * dh, D, P, tk, 1, dh, tk, false, true, false);
          Eigen::Map<Eigen::ArrayXf>(P, tk) *= scale;
          softmax_rows(P, 1, tk, hide);
          gemm(P, tk, vb + h * dh, D, out + static_cast<size_t>(b) * D + h * dh, D, 1, tk, dh, false, false, false);
        }
        continue;
      }
      // The query mask key-major (1 visible, 0 hidden), once per batch element for all heads.
      float* visible = qm ? scratch + static_cast<size_t>(b) * tq * tk : nullptr;
      if (qm)
        for (int i = 0; i < tq; ++i)
          for (int j = 0; j < tk; ++j)
            visible[static_cast<size_t>(j) * tq + i] = qm[static_cast<size_t>(i) * tk + j] ? 1.0f : 0.0f;
      // Key j's hidden queries among columns [c0, c0 + w) set to `fill`.
      auto hide = [&](int j, float* row, int c0, int w, float fill) {
        if (km && !km[j]) {
          std::fill(row, row + w, fill);
          return;
        }
        if (qm) {
          const float* m = visible + static_cast<size_t>(j) * tq + c0;
          for (int i = 0; i < w; ++i) row[i] = m[i] != 0.0f ? row[i] : fill;
        }
        if (causal)  // query i sees key j when i >= j - offset
          for (int i = 0; i < std::min(w, j - offset - c0); ++i) row[i] = fill;
      };
      for (int h = 0; h < H; ++h) {
        const float* qh = q + static_cast<size_t>(b) * tq * D + h * dh;
        float* P = probs + (static_cast<size_t>(b) * H + h) * tq * tk;
        gemm(kb + h * dh, D, qh, D, P, tq, tk, dh, tq, false, true, false);  // scores K_h Q_h^T (key-major)
        softmax_keys(P, tk, tq, scale, hide);
        gemm(P, tq, vb + h * dh, D, out + static_cast<size_t>(b) * tq * D + h * dh, D, tq, tk, dh, true, false,
             false);  // P V_h
      }
    }
  });
}

// The vector-Jacobian product of attention_forward (keys and values with kv_rows = tk; probs
// key-major): adds to dq, dk, dv (each optional). With dP = G_h V_h^T: dS_ij = p_ij (dP_ij -
// sum_l p_il dP_il) * scale, dQ_h += dS K_h, dK_h += dS^T Q_h, dV_h += P^T G_h. Hidden keys have
// p = 0, which zeroes their terms. scratch: B * tq * tk floats (dP^T, then dS^T, one block per batch
// element, which the threads split).
inline void attention_backward(const float* q, const float* k, const float* v, const float* g, const float* probs,
                               float* scratch_all, int B, int tq, int tk, int D, int H, float* dq, float* dk,
                               float* dv) {
  const int dh = D / H;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  parallel::for_range(B, 1, [&](int b_begin, int b_end, int) {
    for (int b = b_begin; b < b_end; ++b) {
      const size_t qoff = static_cast<size_t>(b) * tq * D, koff = static_cast<size_t>(b) * tk * D;
      float* ds = scratch_all + static_cast<size_t>(b) * tq * tk;  // key-major, as P
      for (int h = 0; h < H; ++h) {
        const float* P = probs + (static_cast<size_t>(b) * H + h) * tq * tk;
        const float* gh = g + qoff + h * dh;
        if (dv) gemm(P, tq, gh, D, dv + koff + h * dh, D, tk, tq, dh, false, false, true);
        if (!dq && !dk) continue;
        gemm(v + koff + h * dh, D, gh, D, ds, tq, tk, dh, tq, false, true, false);  // dP^T = V_h G_h^T
        constexpr int kCols = 512;  // queries per pass: their weighted sums stay on the stack
        float weighted[kCols];
        for (int c0 = 0; c0 < tq; c0 += kCols) {
          const int w = std::min(kCols, tq - c0);
          std::fill(weighted, weighted + w, 0.0f);
          for (int j = 0; j < tk; ++j) {
            const float* p = P + static_cast<size_t>(j) * tq + c0;
            const float* d = ds + static_cast<size_t>(j) * tq + c0;
            for (int i = 0; i < w; ++i) weighted[i] += p[i] * d[i];
          }
          for (int j = 0; j < tk; ++j) {
            const float* p = P + static_cast<size_t>(j) * tq + c0;
            float* d = ds + static_cast<size_t>(j) * tq + c0;
            for (int i = 0; i < w; ++i) d[i] = p[i] * (d[i] - weighted[i]) * scale;
          }
        }
        if (dq) gemm(ds, tq, k + koff + h * dh, D, dq + qoff + h * dh, D, tq, tk, dh, true, false, true);
        if (dk) gemm(ds, tq, q + qoff + h * dh, D, dk + koff + h * dh, D, tk, tq, dh, false, false, true);
      }
    }
  });
}

}  // namespace kernels
}  // namespace pl
