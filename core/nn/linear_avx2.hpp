// Native x86-64 (AVX2 + FMA, or AVX-512) kernels for the three matrix products of pl::Linear, used
// by the MLP path (actor-critic agents) instead of Eigen's products when the target has AVX2 and
// FMA. When the target also has AVX-512F (e.g. -march=native on Zen 4/5 or Sapphire Rapids) the
// same kernels run on 16-float zmm vectors with a 64 x 6 register tile: twice the multiply-adds
// per instruction, and the 64-unit hidden layers fill one row panel.
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

#include "core/nn/small_gemm.hpp"  // the Eigen operand checks (strided, plain_float_v)

namespace pl {
namespace linear_avx2 {

// What the last reduction chunk's store applies to each C entry after the bias (see the header).
enum class Post { None, Tanh, Relu, TanhGrad, ReluGrad };

namespace detail {

// Fixed-count loops over the register tile are unrolled before GCC decides where acc[][] lives:
// without it the accumulators are kept on the stack and stored on every reduction step.
#if defined(__clang__)
#define PL_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define PL_UNROLL _Pragma("GCC unroll 16")
#else
#define PL_UNROLL
#endif

#if defined(__AVX512F__)
using vec = __m512;
constexpr int VW = 16;    // floats per vector
constexpr int MAXMV = 4;  // row vectors of the register tile (64 rows)
inline vec vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, vec v) { _mm512_storeu_ps(p, v); }
inline vec vzero() { return _mm512_setzero_ps(); }
inline vec vset1(float x) { return _mm512_set1_ps(x); }
inline vec vfmadd(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
inline vec vadd(vec a, vec b) { return _mm512_add_ps(a, b); }
inline vec vsub(vec a, vec b) { return _mm512_sub_ps(a, b); }
inline vec vmul(vec a, vec b) { return _mm512_mul_ps(a, b); }
// 1.0f where h > 0, else 0.0f (as Eigen's (h > 0).cast<float>()).
inline vec vpositive(vec h) {
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(h, _mm512_setzero_ps(), _CMP_GT_OQ), _mm512_set1_ps(1.0f));
}
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
#endif

constexpr int NR = 6;              // columns of the register tile
constexpr int KC = 512;            // reduction chunk (part of the rounding order: keep it)
constexpr int PANEL = VW * MAXMV;  // rows of the register tile

// The epilogue on one full vector r of C; h: the same rows of the layer output (grad posts only).
inline vec post_vec(Post post, vec r, const float* h) {
  switch (post) {
    case Post::Tanh: return Eigen::internal::ptanh(r);
    case Post::Relu: return Eigen::internal::pmax(r, vzero());
    case Post::TanhGrad: {
      const vec hv = vload(h);
      return vmul(r, vsub(vset1(1.0f), vmul(hv, hv)));
    }
    case Post::ReluGrad: return vmul(r, vpositive(vload(h)));
    default: return r;
  }
}
// The same for one entry of a row tail. The front end never fuses an activation where a row tail
// exists (Eigen's scalar tanh rounds differently from its packet one); these two lines only keep
// the raw kernel correct if it is called so.
inline float post_scalar(Post post, float r, float h) {
  if (post == Post::Tanh) return Eigen::numext::tanh(r);
  if (post == Post::Relu) return std::max(r, 0.0f);
  if (post == Post::TanhGrad) return r * (1.0f - h * h);
  if (post == Post::ReluGrad) return r * (h > 0.0f ? 1.0f : 0.0f);
  return r;
}

// C tile (VW*MV rows of which `rows` are stored, NRv columns) (+)= A panel (VW*MV x kc, A(i, p) =
// a[i + p*lda]) times B sliver (kc x NRv; B(p, j) = b[p + j*ldb], or b[p*ldb + j] when BRow).
// CTrans: C(i, j) is stored at c[j + i*ldc] (the transposed weight gradient, see
// linear_weight_grad); no bias or post then.
template <int MV, int NRv, bool BRow, bool CTrans = false>
inline void micro(int kc, const float* a, int lda, const float* b, int ldb, float* c, int ldc, int rows,
                  bool accumulate, const float* bias, Post post, const float* h, int ldh) {
  vec acc[NRv][MV];
  PL_UNROLL for (int j = 0; j < NRv; ++j)
    PL_UNROLL for (int v = 0; v < MV; ++v) acc[j][v] = vzero();
  const float* bj[NRv];
  PL_UNROLL for (int j = 0; j < NRv; ++j) bj[j] = BRow ? b + j : b + static_cast<long>(j) * ldb;
  for (int p = 0; p < kc; ++p) {
    const float* ap = a + static_cast<long>(p) * lda;
    vec av[MV];
    PL_UNROLL for (int v = 0; v < MV; ++v) av[v] = vload(ap + VW * v);
    const long boff = BRow ? static_cast<long>(p) * ldb : p;
    PL_UNROLL for (int j = 0; j < NRv; ++j) {
      const vec bs = vset1(bj[j][boff]);
      PL_UNROLL for (int v = 0; v < MV; ++v) acc[j][v] = vfmadd(av[v], bs, acc[j][v]);
    }
  }
  if (CTrans) {
    alignas(64) float tmp[NRv][VW * MV];
    PL_UNROLL for (int j = 0; j < NRv; ++j)
      PL_UNROLL for (int v = 0; v < MV; ++v) vstore(tmp[j] + VW * v, acc[j][v]);
    for (int i = 0; i < rows; ++i) {
      float* ci = c + static_cast<long>(i) * ldc;
      for (int j = 0; j < NRv; ++j) ci[j] = accumulate ? ci[j] + tmp[j][i] : tmp[j][i];
    }
    return;
  }
  PL_UNROLL for (int j = 0; j < NRv; ++j) {
    float* cj = c + static_cast<long>(j) * ldc;
    const float* hj = h ? h + static_cast<long>(j) * ldh : nullptr;
    if (rows == VW * MV) {
      PL_UNROLL for (int v = 0; v < MV; ++v) {
        vec r = acc[j][v];
        if (accumulate) r = vadd(vload(cj + VW * v), r);
        if (bias) r = vadd(r, vload(bias + VW * v));
        if (post != Post::None) r = post_vec(post, r, hj ? hj + VW * v : nullptr);
        vstore(cj + VW * v, r);
      }
    } else {
      alignas(64) float tmp[VW * MV];
      PL_UNROLL for (int v = 0; v < MV; ++v) vstore(tmp + VW * v, acc[j][v]);
      for (int i = 0; i < rows; ++i) {
        float r = tmp[i];
        if (accumulate) r = cj[i] + r;
        if (bias) r = r + bias[i];
        if (post != Post::None) r = post_scalar(post, r, hj ? hj[i] : 0.0f);
        cj[i] = r;
      }
    }
  }
}

template <int MV, bool BRow, bool CTrans>
inline void micro_cols(int nr, int kc, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
                       int rows, bool accumulate, const float* bias, Post post, const float* h, int ldh) {
  switch (nr) {
    case 6: micro<MV, 6, BRow, CTrans>(kc, a, lda, b, ldb, c, ldc, rows, accumulate, bias, post, h, ldh); break;
    case 5: micro<MV, 5, BRow, CTrans>(kc, a, lda, b, ldb, c, ldc, rows, accumulate, bias, post, h, ldh); break;
    case 4: micro<MV, 4, BRow, CTrans>(kc, a, lda, b, ldb, c, ldc, rows, accumulate, bias, post, h, ldh); break;
    case 3: micro<MV, 3, BRow, CTrans>(kc, a, lda, b, ldb, c, ldc, rows, accumulate, bias, post, h, ldh); break;
    case 2: micro<MV, 2, BRow, CTrans>(kc, a, lda, b, ldb, c, ldc, rows, accumulate, bias, post, h, ldh); break;
    default: micro<MV, 1, BRow, CTrans>(kc, a, lda, b, ldb, c, ldc, rows, accumulate, bias, post, h, ldh); break;
  }
}

// Rows of the next row panel: the largest whole-vector tile that fits (PANEL, ..., 2 VW, VW
// rows), then the 1..VW-1 rest.
inline int panel_rows(int remaining) {
  if (remaining < VW) return remaining;
  int mv = std::min(MAXMV, remaining / VW);
  if (MAXMV == 4 && mv == 3) mv = 2;  // tiles of 1, 2 or 4 vectors (48 rows = 32 + 16)
  return mv * VW;
}

// pack[p*w + t] = src[t*lda + p] for t < rows & ~7, p < kc (the rest, if any, is left to the
// caller's scalar loop; returns the first row not packed): W^T packed by 8 x 8 register transposes
// instead of one scalar load and store per entry (the input gradient's packing was ~6% of the
// CartPole example's profile). A copy: no arithmetic, so the same bits.
inline int pack_transposed(const float* src, int lda, int rows, int kc, float* pack, int w) {
  const int rows8 = rows & ~7;
  if ((kc & 7) != 0) return 0;
  for (int t = 0; t < rows8; t += 8) {
    const float* s0 = src + static_cast<long>(t) * lda;
    for (int p = 0; p < kc; p += 8) {
      __m256 r0 = _mm256_loadu_ps(s0 + p), r1 = _mm256_loadu_ps(s0 + lda + p);
      __m256 r2 = _mm256_loadu_ps(s0 + 2L * lda + p), r3 = _mm256_loadu_ps(s0 + 3L * lda + p);
      __m256 r4 = _mm256_loadu_ps(s0 + 4L * lda + p), r5 = _mm256_loadu_ps(s0 + 5L * lda + p);
      __m256 r6 = _mm256_loadu_ps(s0 + 6L * lda + p), r7 = _mm256_loadu_ps(s0 + 7L * lda + p);
      const __m256 u0 = _mm256_unpacklo_ps(r0, r1), u1 = _mm256_unpackhi_ps(r0, r1);
      const __m256 u2 = _mm256_unpacklo_ps(r2, r3), u3 = _mm256_unpackhi_ps(r2, r3);
      const __m256 u4 = _mm256_unpacklo_ps(r4, r5), u5 = _mm256_unpackhi_ps(r4, r5);
      const __m256 u6 = _mm256_unpacklo_ps(r6, r7), u7 = _mm256_unpackhi_ps(r6, r7);
      const __m256 v0 = _mm256_shuffle_ps(u0, u2, 0x44), v1 = _mm256_shuffle_ps(u0, u2, 0xEE);
      const __m256 v2 = _mm256_shuffle_ps(u1, u3, 0x44), v3 = _mm256_shuffle_ps(u1, u3, 0xEE);
      const __m256 v4 = _mm256_shuffle_ps(u4, u6, 0x44), v5 = _mm256_shuffle_ps(u4, u6, 0xEE);
      const __m256 v6 = _mm256_shuffle_ps(u5, u7, 0x44), v7 = _mm256_shuffle_ps(u5, u7, 0xEE);
      float* d = pack + static_cast<long>(p) * w + t;
      _mm256_storeu_ps(d + 0L * w, _mm256_permute2f128_ps(v0, v4, 0x20));
      _mm256_storeu_ps(d + 1L * w, _mm256_permute2f128_ps(v1, v5, 0x20));
      _mm256_storeu_ps(d + 2L * w, _mm256_permute2f128_ps(v2, v6, 0x20));
      _mm256_storeu_ps(d + 3L * w, _mm256_permute2f128_ps(v3, v7, 0x20));
      _mm256_storeu_ps(d + 4L * w, _mm256_permute2f128_ps(v0, v4, 0x31));
      _mm256_storeu_ps(d + 5L * w, _mm256_permute2f128_ps(v1, v5, 0x31));
      _mm256_storeu_ps(d + 6L * w, _mm256_permute2f128_ps(v2, v6, 0x31));
      _mm256_storeu_ps(d + 7L * w, _mm256_permute2f128_ps(v3, v7, 0x31));
    }
  }
  return rows8;
}

// Scratch for packed panels (W^T, zero-padded tails): per thread, so no call allocates.
inline float* pack_buffer() {
  alignas(64) static thread_local float buf[PANEL * KC];
  return buf;
}

// C (M x N) = [C +] A B [+ bias] [then post], reduction K. A(i, p) = a[i + p*lda], or a[p + i*lda]
// when ATrans. h (grad posts): the layer output, same shape as C, column stride ldh. CTrans: C(i, j)
// at c[j + i*ldc] (no bias, no post).
template <bool ATrans, bool BRow, bool CTrans = false>
inline void gemm(int M, int N, int K, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
                 bool accumulate, const float* bias, Post post = Post::None, const float* h = nullptr, int ldh = 0) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {  // empty product: C = [C +] 0 [+ bias] [then post]
    for (int j = 0; j < N; ++j)
      for (int i = 0; i < M; ++i) {
        float& cij = c[i + static_cast<long>(j) * ldc];
        float r = accumulate ? cij : 0.0f;
        r = bias ? r + bias[i] : r;
        if (post != Post::None) r = post_scalar(post, r, h ? h[i + static_cast<long>(j) * ldh] : 0.0f);
        cij = r;
      }
    return;
  }
  float* pack = pack_buffer();
  for (int pc = 0; pc < K; pc += KC) {
    const int kc = std::min(KC, K - pc);
    const bool acc = accumulate || pc > 0;
    const bool last = pc + kc == K;
    for (int r = 0; r < M; r += panel_rows(M - r)) {
      const int rows = panel_rows(M - r);
      const int w = rows < VW ? VW : rows;  // panel width: whole vectors
      const bool direct = !ATrans && rows == w;
      if (!direct) {  // W^T, or a zero-padded tail: pack A(r.., pc..) as kc x w, row-contiguous
        // Zero the whole panel with vector stores first, then write the valid rows. A per-p loop
        // over the padding rows only (t = rows..w-1) was compiled by GCC into one `rep stos` per
        // p, whose start-up cost made it ~19% of the forward product's profile (1- and 2-unit
        // output layers, issue 10 section 3).
        if (rows < w) {
          const vec zero = vzero();
          for (int q = 0; q < kc * w; q += VW) vstore(pack + q, zero);
        }
        int t0 = 0;
        if (ATrans) t0 = pack_transposed(a + static_cast<long>(r) * lda + pc, lda, rows, kc, pack, w);
        for (int t = t0; t < rows; ++t) {
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
      const Post pp = last ? post : Post::None;
      for (int jc = 0; jc < N; jc += NR) {
        const int nr = std::min(NR, N - jc);
        const float* bp = BRow ? b + static_cast<long>(pc) * ldb + jc : b + pc + static_cast<long>(jc) * ldb;
        float* cp = CTrans ? c + jc + static_cast<long>(r) * ldc : c + r + static_cast<long>(jc) * ldc;
        const float* hp = h ? h + r + static_cast<long>(jc) * ldh : nullptr;
        switch (w / VW) {
#if defined(__AVX512F__)
          case 4: micro_cols<4, BRow, CTrans>(nr, kc, ap, ap_ld, bp, ldb, cp, ldc, rows, acc, bi, pp, hp, ldh); break;
#endif
          case 2: micro_cols<2, BRow, CTrans>(nr, kc, ap, ap_ld, bp, ldb, cp, ldc, rows, acc, bi, pp, hp, ldh); break;
          default: micro_cols<1, BRow, CTrans>(nr, kc, ap, ap_ld, bp, ldb, cp, ldc, rows, acc, bi, pp, hp, ldh); break;
        }
      }
    }
  }
}

}  // namespace detail

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
