// The AVX-512 instance of the x86 product kernels (see linear_avx512.hpp for why and how it is kept
// apart). POLICYLAB_AVX512_KERNELS is defined, together with -mavx512f, for this file alone by
// CMake on x86-64; elsewhere (other CPUs, WebAssembly, a build already targeting AVX-512) the file
// holds an empty gemm() that is never called. supported() is in linear_avx512_cpu.cpp, compiled
// without -mavx512f: the CPU check itself must run on any CPU.
#include "core/nn/linear_avx512.hpp"

#if defined(POLICYLAB_AVX512_KERNELS)
#include <immintrin.h>

namespace pl {
namespace linear_avx512 {
namespace {  // internal linkage: none of these can be picked by the linker for another file

using linear_avx2::Post;

#include "core/nn/linear_x86_zmm.inc"
#include "core/nn/linear_x86_tiles.inc"
#undef PL_UNROLL

}  // namespace

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
void gemm(bool, bool, bool, int, int, int, const float*, int, const float*, int, float*, int, bool, const float*,
          linear_avx2::Post, const float*, int) {}
}  // namespace linear_avx512
}  // namespace pl

#endif
