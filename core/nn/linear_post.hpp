// What the last reduction chunk's store of the x86 product kernels applies to each C entry after
// the bias (see linear_avx2.hpp). Its own header so that linear_avx512.cpp, which must not include
// Eigen (see there), shares the type.
#pragma once

namespace pl {
namespace linear_avx2 {

enum class Post { None, Tanh, Relu, TanhGrad, ReluGrad };

}  // namespace linear_avx2
}  // namespace pl
