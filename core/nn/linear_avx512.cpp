// The AVX-512 instance of the x86 product kernels (see linear_avx512.hpp for why and how it is kept
// apart). POLICYLAB_AVX512_KERNELS is defined, together with -mavx512f, for this file alone by
// CMake on x86-64; elsewhere (other CPUs, WebAssembly, a build already targeting AVX-512) the file
// holds only the "not supported" answer.
#include "core/nn/linear_avx512.hpp"

#if defined(POLICYLAB_AVX512_KERNELS)
#include <immintrin.h>

namespace pl {
namespace linear_avx512 {
namespace {  // internal linkage: none of these can be picked by the linker for another file

using linear_avx2::Post;

#if defined(__clang__)
#define PL_UNROLL _Pragma("unroll")
#else
#define PL_UNROLL _Pragma("GCC unroll 16")
#endif

using vec = __m512;
constexpr int VW = 16;
constexpr int MAXMV = 4;
inline int imin(int a, int b) { return a < b ? a : b; }
inline vec vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, vec v) { _mm512_storeu_ps(p, v); }
inline vec vzero() { return _mm512_setzero_ps(); }
inline vec vset1(float x) { return _mm512_set1_ps(x); }
inline vec vfmadd(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
inline vec vadd(vec a, vec b) { return _mm512_add_ps(a, b); }
inline vec vsub(vec a, vec b) { return _mm512_sub_ps(a, b); }
inline vec vmul(vec a, vec b) { return _mm512_mul_ps(a, b); }
inline vec vpositive(vec h) {
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(h, _mm512_setzero_ps(), _CMP_GT_OQ), _mm512_set1_ps(1.0f));
}
// Eigen's pmax<Packet8f>(r, 0) = _mm256_max_ps(0, r) (operands swapped for std::max's NaN rule).
inline vec vmax0(vec r) { return _mm512_max_ps(_mm512_setzero_ps(), r); }
// Eigen 3.4's ptanh<Packet8f> with FMA (generic_fast_tanh_float: a 13/6 rational approximation on
// [-c, c], x itself below 4e-4 in magnitude), the same operations in the same order on 16 lanes, so
// the same bits (the test compares them with Eigen's over a sweep of inputs). Eigen's pmin(a, b) is
// _mm256_min_ps(b, a), pselect(m, a, b) a blend taking a where m is set.
inline vec vtanh(vec a_x) {
  const vec x = _mm512_max_ps(_mm512_set1_ps(-7.99881172180175781f), _mm512_min_ps(_mm512_set1_ps(7.99881172180175781f), a_x));
  const __m512 abs_x = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a_x), _mm512_set1_epi32(0x7FFFFFFF)));
  const __mmask16 tiny = _mm512_cmp_ps_mask(abs_x, _mm512_set1_ps(0.0004f), _CMP_LT_OQ);
  const vec x2 = _mm512_mul_ps(x, x);
  vec p = _mm512_fmadd_ps(x2, _mm512_set1_ps(-2.76076847742355e-16f), _mm512_set1_ps(2.00018790482477e-13f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-8.60467152213735e-11f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(5.12229709037114e-08f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(1.48572235717979e-05f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(6.37261928875436e-04f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(4.89352455891786e-03f));
  p = _mm512_mul_ps(x, p);
  vec q = _mm512_fmadd_ps(x2, _mm512_set1_ps(1.19825839466702e-06f), _mm512_set1_ps(1.18534705686654e-04f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(2.26843463243900e-03f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(4.89352518554385e-03f));
  return _mm512_mask_blend_ps(tiny, _mm512_div_ps(p, q), x);
}
// The scalar tail's tanh (never reached: the front end fuses an activation only into layers whose
// rows fill whole 8-float vectors).
inline float stanh(float x) { return _mm512_cvtss_f32(vtanh(_mm512_set1_ps(x))); }

#include "core/nn/linear_x86_tiles.inc"

#undef PL_UNROLL

}  // namespace

bool supported() {
  static const bool ok = __builtin_cpu_supports("avx512f");
  return ok;
}

void gemm(bool a_trans, bool b_row, bool c_trans, int M, int N, int K, const float* a, int lda, const float* b,
          int ldb, float* c, int ldc, bool accumulate, const float* bias, Post post, const float* h, int ldh) {
  if (c_trans)  // the transposed weight gradient: A direct, B row-major
    gemm_tiles<false, true, true>(M, N, K, a, lda, b, ldb, c, ldc, accumulate, bias, post, h, ldh);
  else if (a_trans && b_row)
    gemm_tiles<true, true>(M, N, K, a, lda, b, ldb, c, ldc, accumulate, bias, post, h, ldh);
  else if (a_trans)
    gemm_tiles<true, false>(M, N, K, a, lda, b, ldb, c, ldc, accumulate, bias, post, h, ldh);
  else if (b_row)
    gemm_tiles<false, true>(M, N, K, a, lda, b, ldb, c, ldc, accumulate, bias, post, h, ldh);
  else
    gemm_tiles<false, false>(M, N, K, a, lda, b, ldb, c, ldc, accumulate, bias, post, h, ldh);
}

}  // namespace linear_avx512
}  // namespace pl

#else

namespace pl {
namespace linear_avx512 {
bool supported() { return false; }
void gemm(bool, bool, bool, int, int, int, const float*, int, const float*, int, float*, int, bool, const float*,
          linear_avx2::Post, const float*, int) {}
}  // namespace linear_avx512
}  // namespace pl

#endif
