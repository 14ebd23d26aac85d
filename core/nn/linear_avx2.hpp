// Native x86-64 (AVX2 + FMA) kernels for the three matrix products of pl::Linear, used by the MLP
// path (actor-critic agents) instead of Eigen's products when the target has AVX2 and FMA.
//
// Why: the PPO agents' layers are small (4 -> 64 -> 64 -> 1..2 units) and the batches short (4
// columns in a rollout step, 128 in a CartPole minibatch). For such sizes Eigen's general product
// spends a large share of its time packing both operands into its own panel layout on every call
// and in per-call set-up; the profile of the CartPole PPO example showed about 10% of the time in
// Eigen's pack routines on top of its 24 x 4 kernel. These kernels read W, X and dY in place (only
// W^T for the input gradient and zero-padded row tails are packed, on the stack) and run one
// 16 x 6 register tile for every product shape.
//
//   forward         Y  = W X + b        (W: out x in, X: in x n, Y: out x n, b: out)
//   weight grad     dW += dY X^T
//   bias grad       db += rowsum(dY)
//   input grad      dX = W^T dY
//
// Every product is one C (+)= A B with C: M x N, reduction length K (see small_gemm.hpp for the
// same scheme at 4 floats a vector, which the wasm build and the transformer's tape use; this file
// is separate so that their rounding stays exactly as it was):
//   forward      A = W   (direct)      B = X    column-major   C = Y (+ bias at the end)
//   weight grad  A = dY  (direct)      B = X^T  row-major      C = dW (accumulate)
//   input grad   A = W^T (packed)      B = dY   column-major   C = dX
// * Micro-kernel: a 16 x 6 tile of C in 12 ymm accumulators (2 vectors of 8 rows x 6 columns) for
//   the whole reduction chunk; each step loads 2 vectors of a column of A, broadcasts 6 scalars of
//   B and does 12 fused multiply-adds (12 + 2 + 1 = 15 of the 16 ymm registers). Narrower
//   variants (8 rows; 1..5 columns) cover the edges.
// * Row tails of 1..7 rows (the 1- or 2-unit output layers) are packed into an 8-row panel
//   zero-padded to a full vector; only the valid rows are stored.
// * The reduction is cut into chunks of KC so the packed panel (16 x KC floats) fits the stack
//   scratch; each chunk adds to the result of the previous one.
//
// Floating-point order: each C entry is (C_old +) the fused multiply-add chain over the reduction
// in increasing order (+ bias at the end). It is fixed by the shapes alone (never by alignment or
// by the number of threads), so the same config and seed give the same numbers run after run.
#pragma once

#if defined(__AVX2__) && defined(__FMA__) && !defined(__wasm__)
#define POLICYLAB_LINEAR_AVX2 1

#include <immintrin.h>

#include <algorithm>

#include "core/nn/small_gemm.hpp"  // the Eigen operand checks (strided, plain_float_v)

namespace pl {
namespace linear_avx2 {
namespace detail {

// Fixed-count loops over the register tile are unrolled before GCC decides where acc[][] lives:
// without it the 12 accumulators are kept on the stack and stored on every reduction step.
#if defined(__clang__)
#define PL_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define PL_UNROLL _Pragma("GCC unroll 16")
#else
#define PL_UNROLL
#endif

constexpr int NR = 6;     // columns of the register tile
constexpr int KC = 512;   // reduction chunk
constexpr int PANEL = 16; // rows of the register tile (2 vectors of 8)

// C tile (8*MV rows of which `rows` are stored, NRv columns) (+)= A panel (8*MV x kc, A(i, p) =
// a[i + p*lda]) times B sliver (kc x NRv; B(p, j) = b[p + j*ldb], or b[p*ldb + j] when BRow).
template <int MV, int NRv, bool BRow>
inline void micro(int kc, const float* a, int lda, const float* b, int ldb, float* c, int ldc, int rows,
                  bool accumulate, const float* bias) {
  __m256 acc[NRv][MV];
  PL_UNROLL for (int j = 0; j < NRv; ++j)
    PL_UNROLL for (int v = 0; v < MV; ++v) acc[j][v] = _mm256_setzero_ps();
  const float* bj[NRv];
  PL_UNROLL for (int j = 0; j < NRv; ++j) bj[j] = BRow ? b + j : b + static_cast<long>(j) * ldb;
  for (int p = 0; p < kc; ++p) {
    const float* ap = a + static_cast<long>(p) * lda;
    __m256 av[MV];
    PL_UNROLL for (int v = 0; v < MV; ++v) av[v] = _mm256_loadu_ps(ap + 8 * v);
    const long boff = BRow ? static_cast<long>(p) * ldb : p;
    PL_UNROLL for (int j = 0; j < NRv; ++j) {
      const __m256 bs = _mm256_broadcast_ss(bj[j] + boff);
      PL_UNROLL for (int v = 0; v < MV; ++v) acc[j][v] = _mm256_fmadd_ps(av[v], bs, acc[j][v]);
    }
  }
  PL_UNROLL for (int j = 0; j < NRv; ++j) {
    float* cj = c + static_cast<long>(j) * ldc;
    if (rows == 8 * MV) {
      PL_UNROLL for (int v = 0; v < MV; ++v) {
        __m256 r = acc[j][v];
        if (accumulate) r = _mm256_add_ps(_mm256_loadu_ps(cj + 8 * v), r);
        if (bias) r = _mm256_add_ps(r, _mm256_loadu_ps(bias + 8 * v));
        _mm256_storeu_ps(cj + 8 * v, r);
      }
    } else {
      alignas(32) float tmp[8 * MV];
      PL_UNROLL for (int v = 0; v < MV; ++v) _mm256_store_ps(tmp + 8 * v, acc[j][v]);
      for (int i = 0; i < rows; ++i) {
        float r = tmp[i];
        if (accumulate) r = cj[i] + r;
        if (bias) r = r + bias[i];
        cj[i] = r;
      }
    }
  }
}

template <int MV, bool BRow>
inline void micro_cols(int nr, int kc, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
                       int rows, bool accumulate, const float* bias) {
  switch (nr) {
    case 6: micro<MV, 6, BRow>(kc, a, lda, b, ldb, c, ldc, rows, accumulate, bias); break;
    case 5: micro<MV, 5, BRow>(kc, a, lda, b, ldb, c, ldc, rows, accumulate, bias); break;
    case 4: micro<MV, 4, BRow>(kc, a, lda, b, ldb, c, ldc, rows, accumulate, bias); break;
    case 3: micro<MV, 3, BRow>(kc, a, lda, b, ldb, c, ldc, rows, accumulate, bias); break;
    case 2: micro<MV, 2, BRow>(kc, a, lda, b, ldb, c, ldc, rows, accumulate, bias); break;
    default: micro<MV, 1, BRow>(kc, a, lda, b, ldb, c, ldc, rows, accumulate, bias); break;
  }
}

// Rows of the next row panel: 16 while at least 16 remain, then 8, then the 1..7 rest.
inline int panel_rows(int remaining) { return remaining >= 16 ? 16 : remaining >= 8 ? 8 : remaining; }

// C (M x N) = [C +] A B [+ bias], reduction K. A(i, p) = a[i + p*lda], or a[p + i*lda] when ATrans.
template <bool ATrans, bool BRow>
inline void gemm(int M, int N, int K, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
                 bool accumulate, const float* bias) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {  // empty product: C = [C +] 0 [+ bias]
    for (int j = 0; j < N; ++j)
      for (int i = 0; i < M; ++i) {
        float& cij = c[i + static_cast<long>(j) * ldc];
        const float r = accumulate ? cij : 0.0f;
        cij = bias ? r + bias[i] : r;
      }
    return;
  }
  alignas(32) float pack[PANEL * KC];
  for (int pc = 0; pc < K; pc += KC) {
    const int kc = std::min(KC, K - pc);
    const bool acc = accumulate || pc > 0;
    const bool last = pc + kc == K;
    for (int r = 0; r < M; r += panel_rows(M - r)) {
      const int rows = panel_rows(M - r);
      const int w = rows > 8 ? 16 : 8;
      const bool direct = !ATrans && rows == w;
      if (!direct) {  // W^T, or a zero-padded tail: pack A(r.., pc..) as kc x w, row-contiguous
        // Zero the whole panel with vector stores first, then write the valid rows. A per-p loop
        // over the padding rows only (t = rows..w-1) was compiled by GCC into one `rep stos` per
        // p, whose start-up cost made it ~19% of the forward product's profile (1- and 2-unit
        // output layers, issue 10 section 3).
        const __m256 zero = _mm256_setzero_ps();
        for (int q = 0; q < kc * w; q += 8) _mm256_store_ps(pack + q, zero);
        for (int t = 0; t < rows; ++t) {
          const int i = r + t;
          if (ATrans) {
            const float* src = a + static_cast<long>(i) * lda + pc;
            for (int p = 0; p < kc; ++p) pack[p * w + t] = src[p];
          } else {
            const float* src = a + i + static_cast<long>(pc) * lda;
            for (int p = 0; p < kc; ++p) pack[p * w + t] = src[static_cast<long>(p) * lda];
          }
        }
      }
      const float* ap = direct ? a + r + static_cast<long>(pc) * lda : pack;
      const int ap_ld = direct ? lda : w;
      const float* bi = last && bias ? bias + r : nullptr;
      for (int jc = 0; jc < N; jc += NR) {
        const int nr = std::min(NR, N - jc);
        const float* bp = BRow ? b + static_cast<long>(pc) * ldb + jc : b + pc + static_cast<long>(jc) * ldb;
        float* cp = c + r + static_cast<long>(jc) * ldc;
        if (w == 16)
          micro_cols<2, BRow>(nr, kc, ap, ap_ld, bp, ldb, cp, ldc, rows, acc, bi);
        else
          micro_cols<1, BRow>(nr, kc, ap, ap_ld, bp, ldb, cp, ldc, rows, acc, bi);
      }
    }
  }
}

}  // namespace detail

// ---- Raw kernels (column-major, ld = distance between columns, in floats) ----

// y (out x n) = w (out x in) x (in x n) + b (per row; b may be null).
inline void linear_forward(int out, int in, int n, const float* w, int ldw, const float* b, const float* x, int ldx,
                           float* y, int ldy) {
  detail::gemm<false, false>(out, n, in, w, ldw, x, ldx, y, ldy, false, b);
}

// dw (out x in) += dy (out x n) x^T, x: in x n.
inline void linear_weight_grad(int out, int in, int n, const float* dy, int lddy, const float* x, int ldx, float* dw,
                               int lddw) {
  detail::gemm<false, true>(out, in, n, dy, lddy, x, ldx, dw, lddw, true, nullptr);
}

// db (out) += rowsum(dy (out x n)), each row summed over the columns in order.
inline void linear_bias_grad(int out, int n, const float* dy, int lddy, float* db) {
  int i = 0;
  for (; i + 8 <= out; i += 8) {
    __m256 s = _mm256_setzero_ps();
    for (int j = 0; j < n; ++j) s = _mm256_add_ps(s, _mm256_loadu_ps(dy + i + static_cast<long>(j) * lddy));
    _mm256_storeu_ps(db + i, _mm256_add_ps(_mm256_loadu_ps(db + i), s));
  }
  for (; i < out; ++i) {
    float s = 0.0f;
    for (int j = 0; j < n; ++j) s += dy[i + static_cast<long>(j) * lddy];
    db[i] += s;
  }
}

// dx (in x n) = w^T dy, w: out x in, dy: out x n.
inline void linear_input_grad(int out, int in, int n, const float* w, int ldw, const float* dy, int lddy, float* dx,
                              int lddx) {
  detail::gemm<true, false>(in, n, out, w, ldw, dy, lddy, dx, lddx, false, nullptr);
}

// ---- Eigen front ends, as small_gemm's: false (nothing done) when an operand has no direct
// column-major access; the caller then falls back to Eigen's product. ----

// y = w x + b (b: out x 1).
template <typename W, typename B, typename X, typename Y>
bool forward(const W& w, const B& b, const X& x, Y&& y) {
  using small_gemm::detail::plain_float_v;
  using small_gemm::detail::strided;
  if constexpr (plain_float_v<W> && plain_float_v<B> && plain_float_v<X> && plain_float_v<Y>) {
    int ldw, ldb, ldx, ldy;
    if (!strided(w, ldw) || !strided(b, ldb) || !strided(x, ldx) || !strided(y, ldy)) return false;
    if (b.cols() != 1 || w.cols() != x.rows() || y.rows() != w.rows() || y.cols() != x.cols()) return false;
    linear_forward(static_cast<int>(w.rows()), static_cast<int>(w.cols()), static_cast<int>(x.cols()), w.data(), ldw,
                   b.data(), x.data(), ldx, y.data(), ldy);
    return true;
  } else {
    return false;
  }
}

// dw += dy x^T; db += rowsum(dy); dx = w^T dy when dx_needed (dx untouched otherwise).
template <typename W, typename DW, typename DB, typename DY, typename X, typename DX>
bool backward(const W& w, DW&& dw, DB&& db, const DY& dy, const X& x, DX&& dx, bool dx_needed) {
  using small_gemm::detail::plain_float_v;
  using small_gemm::detail::strided;
  if constexpr (plain_float_v<W> && plain_float_v<DW> && plain_float_v<DB> && plain_float_v<DY> &&
                plain_float_v<X> && plain_float_v<DX>) {
    int ldw, lddw, lddb, lddy, ldx, lddx = 1;
    if (!strided(w, ldw) || !strided(dw, lddw) || !strided(db, lddb) || !strided(dy, lddy) || !strided(x, ldx) ||
        (dx_needed && !strided(dx, lddx)))
      return false;
    const int out = static_cast<int>(w.rows()), in = static_cast<int>(w.cols()), n = static_cast<int>(dy.cols());
    if (dw.rows() != out || dw.cols() != in || db.rows() != out || db.cols() != 1 || dy.rows() != out ||
        x.rows() != in || x.cols() != n || (dx_needed && (dx.rows() != in || dx.cols() != n)))
      return false;
    linear_weight_grad(out, in, n, dy.data(), lddy, x.data(), ldx, dw.data(), lddw);
    linear_bias_grad(out, n, dy.data(), lddy, db.data());
    if (dx_needed) linear_input_grad(out, in, n, w.data(), ldw, dy.data(), lddy, dx.data(), lddx);
    return true;
  } else {
    return false;
  }
}

}  // namespace linear_avx2
}  // namespace pl

#undef PL_UNROLL

#endif  // AVX2 && FMA
