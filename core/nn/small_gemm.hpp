// Portable register-blocked kernels for the three matrix products of pl::Linear, used instead of
// Eigen's products in WebAssembly builds (Eigen 3.4 has no wasm SIMD backend, so its products run
// in the scalar gebp kernel there) and natively when POLICYLAB_PORTABLE_GEMM is defined:
//
//   forward         Y  = W X + b        (W: out x in, X: in x n, Y: out x n, b: out)
//   weight grad     dW += dY X^T        (dY: out x n, dW: out x in)
//   bias grad       db += rowsum(dY)
//   input grad      dX = W^T dY         (dX: in x n)
//
// All matrices are column-major with an arbitrary leading dimension (ld, the distance between
// columns), so Blocks of larger buffers (leftCols(n), topLeftCorner) are used in place. Nothing is
// allocated: the only scratch is a fixed 16 KiB array on the stack.
//
// Vector type. The kernels are written once against a 4-float vector V4 with five operations
// (zero, load, splat-load, store, multiply-add). Under __wasm_simd128__ V4 is a v128_t and the
// operations are wasm_simd128.h intrinsics (f32x4.mul + f32x4.add: wasm SIMD has no FMA); anywhere
// else it is a GCC/Clang vector extension, or a plain float[4] with loops for other compilers, so
// the same blocking and edge handling runs (and is tested) natively.
//
// Blocking. Every product is one generic C (+)= A B with C: M x N, reduction length K:
//   forward      A = W   (direct)              B = X    column-major   C = Y   (+ bias at the end)
//   weight grad  A = dY  (direct)              B = X^T  row-major      C = dW  (accumulate)
//   input grad   A = W^T (packed, see below)   B = dY   column-major   C = dX
// * Micro-kernel (register blocking): an MR x NR = 8 x 4 tile of C lives in 8 vector accumulators
//   (2 vectors of 4 rows x 4 columns) for the whole reduction over kc. Each reduction step loads
//   two vectors from a column of A (8 consecutive rows, contiguous in column-major A), splats the
//   four scalars B(p, j..j+3) and does 8 multiply-adds: 8 accumulators + 2 A vectors + 1 splat =
//   11 live vector registers, within the 16 XMM registers V8 allocates from on x86-64. C is read
//   and written once per tile, not once per reduction step. Narrower variants (4 rows; 1..3
//   columns) cover the edges, so no lane of C outside the matrix is ever written.
// * Row edges: M % 4 leftover rows (e.g. the 1- or 2-unit output layers) are copied into a
//   4-row panel zero-padded to a full vector, computed with the 4-row kernel, and only the valid
//   rows are stored.
// * W^T: the input gradient needs A(i, p) = W(p, i), whose 8 consecutive rows i are 8 different
//   columns of W. W^T is packed, 8 rows at a time, into contiguous kc x 8 panels (zero-padded at
//   the edge) in the stack scratch: for the usual 64 x 64 layers the whole W^T fits (16 KiB) and
//   is packed once per call, then reused for every group of 4 columns of dY.
// * Cache blocking: the reduction is cut into chunks of KC = 256 (the minibatch dimension of the
//   weight gradient, or wide layers), and the rows into blocks of at most MC_MAX rows, so that an
//   A block (<= 128 x 256 floats) stays in L2 and the 4-column B sliver (kc x 4) in L1 while the
//   loop over the row panels of a block reuses it. The loops are: reduction chunk > row block >
//   4-column group of C > 8-row panel.
//
// Floating-point order: each C entry is (C_old +) the sum over the reduction in increasing order
// (+ bias at the end); results match Eigen's products to rounding, not bit for bit.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <type_traits>

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

namespace pl {
namespace small_gemm {
namespace detail {

#ifdef __wasm_simd128__
struct V4 {
  v128_t v;
};
inline V4 vzero() { return {wasm_f32x4_splat(0.0f)}; }
inline V4 vload(const float* p) { return {wasm_v128_load(p)}; }
inline V4 vsplat(const float* p) { return {wasm_v128_load32_splat(p)}; }
inline void vstore(float* p, V4 a) { wasm_v128_store(p, a.v); }
inline V4 vadd(V4 a, V4 b) { return {wasm_f32x4_add(a.v, b.v)}; }
inline V4 vmadd(V4 acc, V4 a, V4 b) { return {wasm_f32x4_add(acc.v, wasm_f32x4_mul(a.v, b.v))}; }
inline V4 vmul(V4 a, V4 b) { return {wasm_f32x4_mul(a.v, b.v)}; }
inline V4 vsub(V4 a, V4 b) { return {wasm_f32x4_sub(a.v, b.v)}; }
inline V4 vset1(float x) { return {wasm_f32x4_splat(x)}; }
// 1.0f where h > 0, else 0.0f (as Eigen's (h > 0).cast<float>()).
inline V4 vpositive(V4 h) { return {wasm_v128_and(wasm_f32x4_gt(h.v, wasm_f32x4_splat(0.0f)), wasm_f32x4_splat(1.0f))}; }
// Eigen 3.4's float tanh (internal::generic_fast_tanh_float: a 13/6-degree rational function on
// the input clamped to +-7.905, x itself below 4e-4) four lanes at a time, written with the same
// operations in the same order. Eigen has no wasm SIMD backend, so its own tanh runs this one lane
// at a time (std::min/max, separate multiply and add: wasm has no FMA), and this gives the same
// bits, four times as fast, inside the forward product's store (Post::Tanh).
inline V4 vtanh(V4 a) {
  const v128_t clamp = wasm_f32x4_splat(7.90531110763549805f);  // Eigen's non-FMA clamp
  // std::min(a, c) = c < a ? c : a and std::max(v, -c) = v < -c ? -c : v: the pseudo-min/max.
  const v128_t x = wasm_f32x4_pmax(wasm_f32x4_pmin(a.v, clamp), wasm_f32x4_neg(clamp));
  const v128_t tiny = wasm_f32x4_lt(wasm_f32x4_abs(a.v), wasm_f32x4_splat(0.0004f));
  auto madd = [](v128_t u, float c, v128_t w) { return wasm_f32x4_add(wasm_f32x4_mul(u, wasm_f32x4_splat(c)), w); };
  auto k = [](float c) { return wasm_f32x4_splat(c); };
  const v128_t x2 = wasm_f32x4_mul(x, x);
  v128_t p = madd(x2, -2.76076847742355e-16f, k(2.00018790482477e-13f));
  p = wasm_f32x4_add(wasm_f32x4_mul(x2, p), k(-8.60467152213735e-11f));
  p = wasm_f32x4_add(wasm_f32x4_mul(x2, p), k(5.12229709037114e-08f));
  p = wasm_f32x4_add(wasm_f32x4_mul(x2, p), k(1.48572235717979e-05f));
  p = wasm_f32x4_add(wasm_f32x4_mul(x2, p), k(6.37261928875436e-04f));
  p = wasm_f32x4_add(wasm_f32x4_mul(x2, p), k(4.89352455891786e-03f));
  p = wasm_f32x4_mul(x, p);
  v128_t q = madd(x2, 1.19825839466702e-06f, k(1.18534705686654e-04f));
  q = wasm_f32x4_add(wasm_f32x4_mul(x2, q), k(2.26843463243900e-03f));
  q = wasm_f32x4_add(wasm_f32x4_mul(x2, q), k(4.89352518554385e-03f));
  return {wasm_v128_bitselect(x, wasm_f32x4_div(p, q), tiny)};
}
// max(a, 0) as Eigen's scalar max(x, 0.0f) (std::max(a, 0) = a < 0 ? 0 : a).
inline V4 vrelu(V4 a) { return {wasm_f32x4_pmax(a.v, wasm_f32x4_splat(0.0f))}; }
#define POLICYLAB_SMALL_GEMM_FUSED_ACTIVATION 1
#elif defined(__GNUC__) && !defined(POLICYLAB_SMALL_GEMM_PLAIN)
// GCC and Clang: generic vector extension (SSE/NEON/... as the target allows). GCC's
// auto-vectoriser makes a poor job of the float[4] version below in the column-major-B kernel.
typedef float V4f __attribute__((vector_size(16)));
struct V4 {
  V4f v;
};
inline V4 vzero() { return {V4f{0.0f, 0.0f, 0.0f, 0.0f}}; }
inline V4 vload(const float* p) {
  V4f r;
  __builtin_memcpy(&r, p, sizeof r);  // unaligned
  return {r};
}
inline V4 vsplat(const float* p) {
  const float s = *p;
  return {V4f{s, s, s, s}};
}
inline void vstore(float* p, V4 a) { __builtin_memcpy(p, &a.v, sizeof a.v); }
inline V4 vadd(V4 a, V4 b) { return {a.v + b.v}; }
inline V4 vmadd(V4 acc, V4 a, V4 b) { return {acc.v + a.v * b.v}; }
inline V4 vmul(V4 a, V4 b) { return {a.v * b.v}; }
inline V4 vsub(V4 a, V4 b) { return {a.v - b.v}; }
inline V4 vset1(float x) { return {V4f{x, x, x, x}}; }
inline V4 vpositive(V4 h) {
  V4 r;
  for (int i = 0; i < 4; ++i) r.v[i] = h.v[i] > 0.0f ? 1.0f : 0.0f;
  return r;
}
#else
// Plain C++ (any compiler; forced with POLICYLAB_SMALL_GEMM_PLAIN).
struct V4 {
  float v[4];
};
inline V4 vzero() { return {{0.0f, 0.0f, 0.0f, 0.0f}}; }
inline V4 vload(const float* p) {
  V4 r;
  for (int i = 0; i < 4; ++i) r.v[i] = p[i];
  return r;
}
inline V4 vsplat(const float* p) {
  const float s = *p;
  return {{s, s, s, s}};
}
inline void vstore(float* p, V4 a) {
  for (int i = 0; i < 4; ++i) p[i] = a.v[i];
}
inline V4 vadd(V4 a, V4 b) {
  V4 r;
  for (int i = 0; i < 4; ++i) r.v[i] = a.v[i] + b.v[i];
  return r;
}
inline V4 vmadd(V4 acc, V4 a, V4 b) {
  V4 r;
  for (int i = 0; i < 4; ++i) r.v[i] = acc.v[i] + a.v[i] * b.v[i];
  return r;
}
inline V4 vmul(V4 a, V4 b) {
  V4 r;
  for (int i = 0; i < 4; ++i) r.v[i] = a.v[i] * b.v[i];
  return r;
}
inline V4 vsub(V4 a, V4 b) {
  V4 r;
  for (int i = 0; i < 4; ++i) r.v[i] = a.v[i] - b.v[i];
  return r;
}
inline V4 vset1(float x) { return {{x, x, x, x}}; }
inline V4 vpositive(V4 h) {
  V4 r;
  for (int i = 0; i < 4; ++i) r.v[i] = h.v[i] > 0.0f ? 1.0f : 0.0f;
  return r;
}
#endif

}  // namespace detail

// What the last reduction chunk's store applies to each C entry after the bias: the hidden layer's
// activation (forward; wasm only, where vtanh/vrelu give Eigen's scalar bits), or the product
// with the activation's derivative read from the layer output h (input gradient: dz = dh * (1 -
// h*h), or dh * [h > 0], the same operations as ActivationFn::backward, so the same bits anywhere).
enum class Post { None, Tanh, Relu, TanhGrad, ReluGrad };

namespace detail {

inline float post_scalar(Post post, float r, float h) {
  if (post == Post::Tanh) return Eigen::numext::tanh(r);
  if (post == Post::Relu) return std::max(r, 0.0f);
  if (post == Post::TanhGrad) return r * (1.0f - h * h);
  if (post == Post::ReluGrad) return r * (h > 0.0f ? 1.0f : 0.0f);
  return r;
}
inline V4 post_vec(Post post, V4 r, const float* h) {
  switch (post) {
    case Post::TanhGrad: {
      const V4 hv = vload(h);
      return vmul(r, vsub(vset1(1.0f), vmul(hv, hv)));
    }
    case Post::ReluGrad: return vmul(r, vpositive(vload(h)));
#ifdef POLICYLAB_SMALL_GEMM_FUSED_ACTIVATION
    case Post::Tanh: return vtanh(r);
    case Post::Relu: return vrelu(r);
#endif
    case Post::None: return r;
    default: {  // never reached through the front ends (see forward)
      alignas(16) float t[4];
      vstore(t, r);
      for (float& v : t) v = post_scalar(post, v, 0.0f);
      return vload(t);
    }
  }
}

constexpr int MR = 8;            // rows of the register tile (2 vectors)
constexpr int NR = 4;            // columns of the register tile
constexpr int KC = 256;          // reduction chunk
constexpr int MC_MAX = 128;      // rows per block (fewer for packed W^T: mc * kc <= PACK)
constexpr int PACK = 4096;       // floats of stack scratch (16 KiB)
static_assert(PACK / KC >= MR && (PACK / KC) % MR == 0, "scratch too small for one W^T panel");

// C tile (4*MV rows valid of which `rows` are stored, NRv columns) (+)= A panel (4*MV x kc,
// A(i, p) = a[i + p*lda]) times B sliver (kc x NRv; B(p, j) = b[p + j*ldb], or b[p*ldb + j] when
// BRow). accumulate: add to C's old values; bias (nullable): add bias[i] to row i at the end.
template <int MV, int NRv, bool BRow>
inline void micro(int kc, const float* a, int lda, const float* b, int ldb, float* c, int ldc, int rows,
                  bool accumulate, const float* bias, Post post, const float* h, int ldh) {
  V4 acc[NRv][MV];
  for (int j = 0; j < NRv; ++j)
    for (int v = 0; v < MV; ++v) acc[j][v] = vzero();
  if (BRow) {
    for (int p = 0; p < kc; ++p) {
      const float* ap = a + static_cast<long>(p) * lda;
      const float* bp = b + static_cast<long>(p) * ldb;
      V4 av[MV];
      for (int v = 0; v < MV; ++v) av[v] = vload(ap + 4 * v);
      for (int j = 0; j < NRv; ++j) {
        const V4 bs = vsplat(bp + j);
        for (int v = 0; v < MV; ++v) acc[j][v] = vmadd(acc[j][v], av[v], bs);
      }
    }
  } else {
    const float* bj[NRv];
    for (int j = 0; j < NRv; ++j) bj[j] = b + static_cast<long>(j) * ldb;
    for (int p = 0; p < kc; ++p) {
      const float* ap = a + static_cast<long>(p) * lda;
      V4 av[MV];
      for (int v = 0; v < MV; ++v) av[v] = vload(ap + 4 * v);
      for (int j = 0; j < NRv; ++j) {
        const V4 bs = vsplat(bj[j] + p);
        for (int v = 0; v < MV; ++v) acc[j][v] = vmadd(acc[j][v], av[v], bs);
      }
    }
  }
  // The store loop below is not unrolled (its activation epilogue is large), so it indexes its tile
  // through memory. Reading a copy keeps `acc` itself out of memory: indexed directly, clang
  // zero-filled an in-memory tile with a memset call per micro-kernel (2.5% of a wasm PPO run).
  V4 tile[NRv][MV];
  for (int j = 0; j < NRv; ++j)
    for (int v = 0; v < MV; ++v) tile[j][v] = acc[j][v];
  for (int j = 0; j < NRv; ++j) {
    float* cj = c + static_cast<long>(j) * ldc;
    const float* hj = h ? h + static_cast<long>(j) * ldh : nullptr;
    if (rows == 4 * MV) {
      for (int v = 0; v < MV; ++v) {
        V4 r = tile[j][v];
        if (accumulate) r = vadd(vload(cj + 4 * v), r);
        if (bias) r = vadd(r, vload(bias + 4 * v));
        if (post != Post::None) r = post_vec(post, r, hj ? hj + 4 * v : nullptr);
        vstore(cj + 4 * v, r);
      }
    } else {
      float tmp[4 * MV];
      for (int v = 0; v < MV; ++v) vstore(tmp + 4 * v, tile[j][v]);
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

template <int MV, bool BRow>
inline void micro_cols(int nr, int kc, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
                       int rows, bool accumulate, const float* bias, Post post, const float* h, int ldh) {
  switch (nr) {
    case 4: micro<MV, 4, BRow>(kc, a, lda, b, ldb, c, ldc, rows, accumulate, bias, post, h, ldh); break;
    case 3: micro<MV, 3, BRow>(kc, a, lda, b, ldb, c, ldc, rows, accumulate, bias, post, h, ldh); break;
    case 2: micro<MV, 2, BRow>(kc, a, lda, b, ldb, c, ldc, rows, accumulate, bias, post, h, ldh); break;
    default: micro<MV, 1, BRow>(kc, a, lda, b, ldb, c, ldc, rows, accumulate, bias, post, h, ldh); break;
  }
}

// Row panel r of a block of mc rows: 8 rows while at least 8 remain, then 4, then the 1..3 rest.
inline int panel_rows(int remaining) { return remaining >= 8 ? 8 : remaining >= 4 ? 4 : remaining; }

// C (M x N) = [C +] A B [+ bias] [then post], reduction K. A(i, p) = a[i + p*lda], or a[p + i*lda]
// when ATrans. h (grad posts): the layer output, same shape as C, column stride ldh.
template <bool ATrans, bool BRow>
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
  alignas(16) float pack[PACK];
  for (int pc = 0; pc < K; pc += KC) {
    const int kc = std::min(KC, K - pc);
    const bool acc = accumulate || pc > 0;
    const bool last = pc + kc == K;
    // Packed W^T panels of a block (rows rounded up to a multiple of 4 <= mc_max) fill <= PACK.
    const int mc_max = ATrans ? std::min(MC_MAX, PACK / kc / MR * MR) : MC_MAX;
    for (int ic = 0; ic < M; ic += mc_max) {
      const int mc = std::min(mc_max, M - ic);
      // Pack what cannot be read in place: all of W^T, or the zero-padded 1..3-row tail.
      for (int r = 0; r < mc; r += panel_rows(mc - r)) {
        const int rows = panel_rows(mc - r);
        if (!ATrans && (rows == 8 || rows == 4)) continue;
        const int w = rows > 4 ? 8 : 4;
        float* dst = pack + (ATrans ? r * kc : 0);
        if (rows < w)  // zero padding rows
          for (int p = 0; p < kc; ++p)
            for (int t = rows; t < w; ++t) dst[p * w + t] = 0.0f;
        for (int t = 0; t < rows; ++t) {
          const int i = ic + r + t;
          if (ATrans) {
            const float* src = a + static_cast<long>(i) * lda + pc;
            for (int p = 0; p < kc; ++p) dst[p * w + t] = src[p];
          } else {
            const float* src = a + i + static_cast<long>(pc) * lda;
            for (int p = 0; p < kc; ++p) dst[p * w + t] = src[static_cast<long>(p) * lda];
          }
        }
      }
      for (int jc = 0; jc < N; jc += NR) {
        const int nr = std::min(NR, N - jc);
        const float* bp = BRow ? b + static_cast<long>(pc) * ldb + jc : b + pc + static_cast<long>(jc) * ldb;
        for (int r = 0; r < mc; r += panel_rows(mc - r)) {
          const int rows = panel_rows(mc - r);
          const int i = ic + r;
          const bool direct = !ATrans && (rows == 8 || rows == 4);
          const float* ap = direct ? a + i + static_cast<long>(pc) * lda : pack + (ATrans ? r * kc : 0);
          const int ap_ld = direct ? lda : (rows > 4 ? 8 : 4);
          float* cp = c + i + static_cast<long>(jc) * ldc;
          const float* bi = last && bias ? bias + i : nullptr;
          const Post pp = last ? post : Post::None;
          const float* hp = h ? h + i + static_cast<long>(jc) * ldh : nullptr;
          if (rows > 4)
            micro_cols<2, BRow>(nr, kc, ap, ap_ld, bp, ldb, cp, ldc, rows, acc, bi, pp, hp, ldh);
          else
            micro_cols<1, BRow>(nr, kc, ap, ap_ld, bp, ldb, cp, ldc, rows, acc, bi, pp, hp, ldh);
        }
      }
    }
  }
}

}  // namespace detail

// ---- Raw kernels (column-major, ld = distance between columns, in floats) ----

// y (out x n) = post(w (out x in) x (in x n) + b) (per row; b may be null).
inline void linear_forward(int out, int in, int n, const float* w, int ldw, const float* b, const float* x, int ldx,
                           float* y, int ldy, Post post = Post::None) {
  detail::gemm<false, false>(out, n, in, w, ldw, x, ldx, y, ldy, false, b, post);
}

// dw (out x in) += dy (out x n) x^T, x: in x n.
inline void linear_weight_grad(int out, int in, int n, const float* dy, int lddy, const float* x, int ldx, float* dw,
                               int lddw) {
  detail::gemm<false, true>(out, in, n, dy, lddy, x, ldx, dw, lddw, true, nullptr);
}

// db (out) += rowsum(dy (out x n)).
inline void linear_bias_grad(int out, int n, const float* dy, int lddy, float* db) {
  using namespace detail;
  int i = 0;
  for (; i + 8 <= out; i += 8) {
    V4 s0 = vzero(), s1 = vzero();
    for (int j = 0; j < n; ++j) {
      const float* col = dy + i + static_cast<long>(j) * lddy;
      s0 = vadd(s0, vload(col));
      s1 = vadd(s1, vload(col + 4));
    }
    vstore(db + i, vadd(vload(db + i), s0));
    vstore(db + i + 4, vadd(vload(db + i + 4), s1));
  }
  for (; i + 4 <= out; i += 4) {
    V4 s = vzero();
    for (int j = 0; j < n; ++j) s = vadd(s, vload(dy + i + static_cast<long>(j) * lddy));
    vstore(db + i, vadd(vload(db + i), s));
  }
  for (; i < out; ++i) {
    float s = 0.0f;
    for (int j = 0; j < n; ++j) s += dy[i + static_cast<long>(j) * lddy];
    db[i] += s;
  }
}

// dx (in x n) = post(w^T dy), w: out x in, dy: out x n; h (TanhGrad / ReluGrad): in x n, stride ldh.
inline void linear_input_grad(int out, int in, int n, const float* w, int ldw, const float* dy, int lddy, float* dx,
                              int lddx, Post post = Post::None, const float* h = nullptr, int ldh = 0) {
  detail::gemm<true, false>(in, n, out, w, ldw, dy, lddy, dx, lddx, false, nullptr, post, h, ldh);
}

// ---- Eigen front ends: take the Linear's operands as Eigen expressions ----
// Each returns false (and does nothing) when an operand is not a float matrix with direct access
// and unit row stride (e.g. a general expression, or a row-major view with several rows); the
// caller then falls back to Eigen's product.

namespace detail {
template <typename E>
constexpr bool plain_float_v = std::is_same<typename std::decay_t<E>::Scalar, float>::value &&
                               (int(std::decay_t<E>::Flags) & Eigen::DirectAccessBit) != 0;

// Column-major view with leading dimension ld (a single row or column may have any inner stride:
// only one of the two strides is ever used).
template <typename E>
bool strided(const E& e, int& ld) {
  if constexpr (plain_float_v<E>) {
    if (e.rows() > 1 && e.rowStride() != 1) return false;
    if (e.cols() > 1 && e.colStride() < 1) return false;
    ld = e.cols() > 1 ? static_cast<int>(e.colStride()) : static_cast<int>(std::max<Eigen::Index>(e.rows(), 1));
    return true;
  } else {
    (void)e;
    ld = 0;
    return false;
  }
}
}  // namespace detail

// y = post(w x + b) (b: out x 1). A fused activation (Tanh, Relu) only where it gives the bits of
// Eigen's own array expression: under wasm SIMD (see vtanh); elsewhere false, and the caller runs
// the product and the activation in two steps.
template <typename W, typename B, typename X, typename Y>
bool forward(const W& w, const B& b, const X& x, Y&& y, Post post = Post::None) {
#ifndef POLICYLAB_SMALL_GEMM_FUSED_ACTIVATION
  if (post != Post::None) return false;
#endif
  if constexpr (detail::plain_float_v<W> && detail::plain_float_v<B> && detail::plain_float_v<X> &&
                detail::plain_float_v<Y>) {
    int ldw, ldb, ldx, ldy;
    if (!detail::strided(w, ldw) || !detail::strided(b, ldb) || !detail::strided(x, ldx) || !detail::strided(y, ldy))
      return false;
    if (b.cols() != 1 || w.cols() != x.rows() || y.rows() != w.rows() || y.cols() != x.cols()) return false;
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
  if constexpr (detail::plain_float_v<W> && detail::plain_float_v<DW> && detail::plain_float_v<DB> &&
                detail::plain_float_v<DY> && detail::plain_float_v<X> && detail::plain_float_v<DX> &&
                detail::plain_float_v<H>) {
    int ldw, lddw, lddb, lddy, ldx, lddx = 1, ldh = 1;
    if (!detail::strided(w, ldw) || !detail::strided(dw, lddw) || !detail::strided(db, lddb) ||
        !detail::strided(dy, lddy) || !detail::strided(x, ldx) || (dx_needed && !detail::strided(dx, lddx)))
      return false;
    const int out = static_cast<int>(w.rows()), in = static_cast<int>(w.cols()), n = static_cast<int>(dy.cols());
    if (dw.rows() != out || dw.cols() != in || db.rows() != out || db.cols() != 1 || dy.rows() != out ||
        x.rows() != in || x.cols() != n || (dx_needed && (dx.rows() != in || dx.cols() != n)))
      return false;
    if (dx_needed && post != Post::None && (!detail::strided(h, ldh) || h.rows() != in || h.cols() != n)) return false;
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

}  // namespace small_gemm
}  // namespace pl
