// Whether the AVX-512 product kernels of linear_avx512.cpp may run here. Kept out of that file:
// it is compiled with -mavx512f, and a compiler may assume the target's features there (fold the
// check to true, or encode this code with EVEX); this file is compiled for the build's own target.
#include "core/nn/linear_avx512.hpp"

namespace pl {
namespace linear_avx512 {

bool supported() {
#if defined(POLICYLAB_AVX512_DISPATCH) && (defined(__x86_64__) || defined(_M_X64))
  static const bool ok = __builtin_cpu_supports("avx512f");
  return ok;
#else
  return false;
#endif
}

}  // namespace linear_avx512
}  // namespace pl
