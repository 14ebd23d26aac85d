// Native x86-64 (AVX2 + FMA, or AVX-512) kernels for the three matrix products of pl::Linear, used
// by the MLP path (actor-critic agents) instead of Eigen's products when the target has AVX2 and
// FMA, and by the tape's products (autodiff/kernels.hpp). When the target also has AVX-512F (e.g.
// -march=native on Zen 4/5 or Sapphire Rapids) the same kernels run on 16-float zmm vectors with a
// 64 x 6 register tile: twice the multiply-adds per instruction, and the 64-unit hidden layers fill
// one row panel. The default x86-64-v3 build gets that too, chosen at run time on a CPU with
// AVX-512F: linear_avx512.cpp compiles the same kernel text (linear_x86_tiles.inc) for zmm vectors.
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
// * Micro-kernel (AVX2): a 16 x 6 tile of C in 12 ymm accumulators (2 vectors of 8 rows x 6
//   columns) for the whole reduction chunk; each step loads 2 vectors of a column of A, broadcasts
//   6 scalars of B and does 12 fused multiply-adds (12 + 2 + 1 = 15 of the 16 ymm registers).
//   AVX-512: a 64 x 6 tile in 24 zmm accumulators (4 vectors of 16 rows; 24 + 4 + 1 = 29 of the 32
//   zmm registers). Narrower variants (fewer row vectors; 1..5 columns) cover the edges.
// * Row tails shorter than one vector (the 1- or 2-unit output layers) are packed into a one-vector
//   panel zero-padded to a full vector; only the valid rows are stored. (Masked loads straight from
//   W instead measured slower on the AMD EPYC.) The weight gradient of such a layer is computed
//   transposed (see linear_weight_grad).
// * The reduction is cut into chunks of KC so the packed panel (rows x KC floats) fits the
//   scratch; each chunk adds to the result of the previous one.
// * Epilogues (Post) fused into the last chunk's store, so the batch is not read and written again:
//   the forward product can apply the hidden layer's activation (tanh through Eigen's own packet
//   tanh, max(z, 0) through Eigen's pmax: the same instructions Eigen's array expressions run, so
//   the same bits; only when every row is in a full vector, where Eigen's array loop has no scalar
//   tail either), and the input-gradient product can multiply by the activation's derivative read
//   from the layer's output (dz = dh * (1 - h*h), or dh * [h > 0], as ActivationFn::backward).
//
// Floating-point order: each C entry is (C_old +) the fused multiply-add chain over the reduction
// in increasing order (+ bias at the end). It is fixed by the shapes alone (never by alignment, by
// the vector width or by the number of threads), so the same config and seed give the same numbers
// run after run, and the AVX-512 and AVX2 builds give the same bits.
#pragma once

#if defined(__AVX2__) && defined(__FMA__) && !defined(__wasm__)
#define POLICYLAB_LINEAR_AVX2 1

#include <immintrin.h>

#include <Eigen/Core>  // internal::ptanh / pmax: the fused activations run Eigen's own packet code
#include <algorithm>
#include <cstdlib>

#include "core/nn/linear_avx512.hpp"
#include "core/nn/linear_post.hpp"  // Post: the fused epilogues
#include "core/nn/small_gemm.hpp"  // the Eigen operand checks (strided, plain_float_v)

namespace pl {
namespace linear_avx2 {

namespace detail {

#if defined(__AVX512F__)
#include "core/nn/linear_x86_zmm.inc"
#else
using vec = __m256;
constexpr int VW = 8;
constexpr int MAXMV = 2;  // 16 rows
inline vec vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, vec v) { _mm256_storeu_ps(p, v); }
inline vec vzero() { return _mm256_setzero_ps(); }
inline vec vset1(float x) { return _mm256_set1_ps(x); }
inline vec vfmadd(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
inline vec vadd(vec a, vec b) { return _mm256_add_ps(a, b); }
inline vec vsub(vec a, vec b) { return _mm256_sub_ps(a, b); }
inline vec vmul(vec a, vec b) { return _mm256_mul_ps(a, b); }
inline vec vpositive(vec h) {
  return _mm256_and_ps(_mm256_cmp_ps(h, _mm256_setzero_ps(), _CMP_GT_OQ), _mm256_set1_ps(1.0f));
}
inline vec vtanh(vec r) { return Eigen::internal::ptanh(r); }
inline vec vmax0(vec r) { return Eigen::internal::pmax(r, vzero()); }
inline float stanh(float r) { return Eigen::numext::tanh(r); }
#endif

#include "core/nn/linear_x86_tiles.inc"

// Whether the products run in linear_avx512.cpp's 16-float kernels (the same bits, see there):
// on by default where the CPU has AVX-512F and the build does not already target it; off with the
// environment variable POLICYLAB_AVX512=0 (for A/B timings) or set_wide_kernels(false) (tests).
#if defined(POLICYLAB_AVX512_DISPATCH) && !defined(__AVX512F__)
inline bool& wide_kernels_flag() {
  static bool on = [] {
    const char* env = std::getenv("POLICYLAB_AVX512");
    return linear_avx512::supported() && !(env && env[0] == '0');
  }();
  return on;
}
#endif

// C (M x N) = [C +] A B [+ bias] [then post] (gemm_tiles), in the AVX-512 kernels when chosen.
template <bool ATrans, bool BRow, bool CTrans = false>
inline void gemm(int M, int N, int K, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
                 bool accumulate, const float* bias, Post post = Post::None, const float* h = nullptr, int ldh = 0) {
#if defined(POLICYLAB_AVX512_DISPATCH) && !defined(__AVX512F__)
  static_assert(!CTrans || (!ATrans && BRow), "linear_avx512::gemm has the transposed C only with direct A, row B");
  // A tanh on rows outside whole 8-float vectors would take the scalar tanh, which the two copies
  // compute differently (see linear_x86_zmm.inc): those stay here.
  if (wide_kernels_flag() && !(post == Post::Tanh && M % kNarrowestVW != 0)) {
    linear_avx512::gemm(ATrans, BRow, CTrans, M, N, K, a, lda, b, ldb, c, ldc, accumulate, bias, post, h, ldh);
    return;
  }
#endif
  gemm_tiles<ATrans, BRow, CTrans>(M, N, K, a, lda, b, ldb, c, ldc, accumulate, bias, post, h, ldh);
}

}  // namespace detail

// Whether the AVX-512 kernels run the products (see gemm above); set_wide_kernels(true) only takes
// effect where they are supported. Returns the state now in force. Not for use while another
// thread runs products.
inline bool wide_kernels() {
#if defined(__AVX512F__)
  return true;
#elif defined(POLICYLAB_AVX512_DISPATCH)
  return detail::wide_kernels_flag();
#else
  return false;
#endif
}
inline bool set_wide_kernels(bool on) {
#if defined(POLICYLAB_AVX512_DISPATCH) && !defined(__AVX512F__)
  detail::wide_kernels_flag() = on && linear_avx512::supported();
#endif
  (void)on;
  return wide_kernels();
}

// Rows a fused forward activation needs to be a multiple of (see the header).
constexpr int kActivationRows = detail::VW;

// ---- Raw kernels (column-major, ld = distance between columns, in floats) ----

// y (out x n) = post(w (out x in) x (in x n) + b) (b per row, may be null). post: None, or Tanh /
// Relu when out is a multiple of kActivationRows.
inline void linear_forward(int out, int in, int n, const float* w, int ldw, const float* b, const float* x, int ldx,
                           float* y, int ldy, Post post = Post::None) {
  detail::gemm<false, false>(out, n, in, w, ldw, x, ldx, y, ldy, false, b, post);
}

// dw (out x in) += dy (out x n) x^T, x: in x n.
// A layer narrower than one vector (the 1- or 2-unit output layers) computes dW^T += x dy^T
// instead: x's columns fill whole vectors in place (in rows), where dy's 1..2 rows would be
// zero-padded to a full vector (8x to 16x the multiply-adds). Each entry is the same fused
// multiply-add chain over the batch (only the factors of each product swap), so the same bits.
inline void linear_weight_grad(int out, int in, int n, const float* dy, int lddy, const float* x, int ldx, float* dw,
                               int lddw) {
  if (out < detail::VW && in >= detail::VW)
    detail::gemm<false, true, true>(in, out, n, x, ldx, dy, lddy, dw, lddw, true, nullptr);
  else
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

// dx (in x n) = post(w^T dy), w: out x in, dy: out x n. post: None, or TanhGrad / ReluGrad with h
// (in x n, column stride ldh) the output of the activation that produced this layer's input.
inline void linear_input_grad(int out, int in, int n, const float* w, int ldw, const float* dy, int lddy, float* dx,
                              int lddx, Post post = Post::None, const float* h = nullptr, int ldh = 0) {
  detail::gemm<true, false>(in, n, out, w, ldw, dy, lddy, dx, lddx, false, nullptr, post, h, ldh);
}

// ---- Eigen front ends, as small_gemm's: false (nothing done) when an operand has no direct
// column-major access (or a fused activation cannot be applied); the caller then falls back to
// Eigen's product. ----

// y = post(w x + b) (b: out x 1).
template <typename W, typename B, typename X, typename Y>
bool forward(const W& w, const B& b, const X& x, Y&& y, Post post = Post::None) {
  using small_gemm::detail::plain_float_v;
  using small_gemm::detail::strided;
  if constexpr (plain_float_v<W> && plain_float_v<B> && plain_float_v<X> && plain_float_v<Y>) {
    int ldw, ldb, ldx, ldy;
    if (!strided(w, ldw) || !strided(b, ldb) || !strided(x, ldx) || !strided(y, ldy)) return false;
    if (b.cols() != 1 || w.cols() != x.rows() || y.rows() != w.rows() || y.cols() != x.cols()) return false;
    if (post != Post::None && w.rows() % kActivationRows != 0) return false;
    linear_forward(static_cast<int>(w.rows()), static_cast<int>(w.cols()), static_cast<int>(x.cols()), w.data(), ldw,
                   b.data(), x.data(), ldx, y.data(), ldy, post);
    return true;
  } else {
    return false;
  }
}

// dw += dy x^T; db += rowsum(dy); dx = post(w^T dy) when dx_needed (dx untouched otherwise); h:
// the activation output the grad posts read (same shape as dx; ignored for Post::None).
template <typename W, typename DW, typename DB, typename DY, typename X, typename DX, typename H>
bool backward(const W& w, DW&& dw, DB&& db, const DY& dy, const X& x, DX&& dx, bool dx_needed, Post post,
              const H& h) {
  using small_gemm::detail::plain_float_v;
  using small_gemm::detail::strided;
  if constexpr (plain_float_v<W> && plain_float_v<DW> && plain_float_v<DB> && plain_float_v<DY> &&
                plain_float_v<X> && plain_float_v<DX> && plain_float_v<H>) {
    int ldw, lddw, lddb, lddy, ldx, lddx = 1, ldh = 1;
    if (!strided(w, ldw) || !strided(dw, lddw) || !strided(db, lddb) || !strided(dy, lddy) || !strided(x, ldx) ||
        (dx_needed && !strided(dx, lddx)))
      return false;
    const int out = static_cast<int>(w.rows()), in = static_cast<int>(w.cols()), n = static_cast<int>(dy.cols());
    if (dw.rows() != out || dw.cols() != in || db.rows() != out || db.cols() != 1 || dy.rows() != out ||
        x.rows() != in || x.cols() != n || (dx_needed && (dx.rows() != in || dx.cols() != n)))
      return false;
    if (dx_needed && post != Post::None && (!strided(h, ldh) || h.rows() != in || h.cols() != n)) return false;
    linear_weight_grad(out, in, n, dy.data(), lddy, x.data(), ldx, dw.data(), lddw);
    linear_bias_grad(out, n, dy.data(), lddy, db.data());
    if (dx_needed) linear_input_grad(out, in, n, w.data(), ldw, dy.data(), lddy, dx.data(), lddx, post, h.data(), ldh);
    return true;
  } else {
    return false;
  }
}
template <typename W, typename DW, typename DB, typename DY, typename X, typename DX>
bool backward(const W& w, DW&& dw, DB&& db, const DY& dy, const X& x, DX&& dx, bool dx_needed) {
  return backward(w, dw, db, dy, x, dx, dx_needed, Post::None, x);
}

}  // namespace linear_avx2
}  // namespace pl

#undef PL_UNROLL

#endif  // AVX2 && FMA
