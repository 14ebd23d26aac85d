// The x86 product kernels of linear_avx2.hpp on 16-float AVX-512 vectors, chosen at run time.
//
// Why: the default build targets x86-64-v3 (AVX2), so that every x86-64 machine computes the same
// numbers. On a CPU with AVX-512 the same kernels on zmm registers (a 64 x 6 register tile: twice
// the multiply-adds per instruction, and one row panel for a 64-unit layer) make the MLP agents'
// and the tape's products up to ~2x faster. Each C entry is the same fused multiply-add chain
// whatever the vector width, and the fused epilogues are computed as the 8-float build computes
// them, so switching this path on changes the speed and never the numbers (tests compare the bits).
//
// linear_avx512.cpp is the only file compiled with -mavx512f (CMake sets that flag for it alone);
// it includes no Eigen and no standard-library header, and its kernels have internal linkage, so no
// AVX-512 instruction can reach code that runs on a CPU without it.
#pragma once

#include "core/nn/linear_post.hpp"

namespace pl {
namespace linear_avx512 {

// True when this build holds the AVX-512 kernels and the CPU (and OS) supports AVX-512F.
bool supported();

// C (M x N) = [C +] A B [+ bias] [then post], as linear_avx2::detail::gemm_tiles<ATrans, BRow,
// CTrans> (same arguments, same bits). Call only when supported().
void gemm(bool a_trans, bool b_row, bool c_trans, int M, int N, int K, const float* a, int lda, const float* b,
          int ldb, float* c, int ldc, bool accumulate, const float* bias, linear_avx2::Post post, const float* h,
          int ldh);

}  // namespace linear_avx512
}  // namespace pl
