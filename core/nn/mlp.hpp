// Batched feed-forward modules: Linear, Tanh, ReLU and an MLP built from them.
//
// Layout: a batch is a column-major matrix with one sample per column (features x batch), so a
// Linear layer is out = W in + b with W of shape (out x in), as in PyTorch's nn.Linear.
// Every forward/backward works on the first n columns of buffers allocated once for a capacity
// (an MlpWorkspace), so training allocates nothing per step.
#pragma once

#include <string>
#include <vector>

#include "core/nn/parameters.hpp"
#include "core/util/rng.hpp"

// WebAssembly builds (and native builds with -DPOLICYLAB_PORTABLE_GEMM) run Linear's products in
// the register-blocked kernels of small_gemm.hpp: Eigen 3.4 has no wasm SIMD backend, so its own
// products are scalar there. Native builds keep Eigen's products (vectorised for the host ISA).
// Native builds for x86-64 with AVX2 and FMA run them in linear_avx2.hpp's kernels, which read
// the small operands in place (Eigen's products repack both operands on every call, a large share
// of the time at these sizes); other native targets keep Eigen's products.
#if defined(__wasm_simd128__) || defined(POLICYLAB_PORTABLE_GEMM)
#define POLICYLAB_SMALL_GEMM 1
#include "core/nn/small_gemm.hpp"
#else
#include "core/nn/linear_avx2.hpp"  // defines POLICYLAB_LINEAR_AVX2 where the target allows
#endif

namespace pl {

enum class Activation { Tanh, ReLU };
Activation parse_activation(const std::string& name);  // "tanh" | "relu"

// y = W x + b. Gradients accumulate (+=) into the parameter gradient buffer.
struct Linear {
  int in = 0, out = 0;
  int weight = -1, bias = -1;  // tensor indices in Parameters

  Linear() = default;
  Linear(Parameters& params, const std::string& name, int in_features, int out_features);

  template <typename In, typename Out>
  void forward(const Parameters& p, const In& x, Out&& y) const {
#ifdef POLICYLAB_SMALL_GEMM
    if (small_gemm::forward(p.value(weight), p.value(bias), x, y)) return;
#elif defined(POLICYLAB_LINEAR_AVX2)
    if (linear_avx2::forward(p.value(weight), p.value(bias), x, y)) return;
#endif
    y.noalias() = p.value(weight) * x;
    y.colwise() += p.value(bias).col(0);
  }
  // y = activation(W x + b) in one pass (the activation applied in the product's store), where the
  // native kernels can give the same bits as forward() followed by ActivationFn::forward; false
  // (y untouched) otherwise, and the caller runs the two steps.
  template <typename In, typename Out>
  bool forward_activation(const Parameters& p, const In& x, Out&& y, Activation a) const {
#if defined(POLICYLAB_SMALL_GEMM)
    return small_gemm::forward(p.value(weight), p.value(bias), x, y,
                               a == Activation::Tanh ? small_gemm::Post::Tanh : small_gemm::Post::Relu);
#elif defined(POLICYLAB_LINEAR_AVX2)
    return linear_avx2::forward(p.value(weight), p.value(bias), x, y,
                                a == Activation::Tanh ? linear_avx2::Post::Tanh : linear_avx2::Post::Relu);
#else
    (void)p, (void)x, (void)y, (void)a;
    return false;
#endif
  }
  // dy: out x n, x: the forward input. Writes dx (in x n) when dx_needed.
  template <typename DY, typename X, typename DX>
  void backward(Parameters& p, const DY& dy, const X& x, DX&& dx, bool dx_needed) const {
#ifdef POLICYLAB_SMALL_GEMM
    if (small_gemm::backward(p.value(weight), p.grad(weight), p.grad(bias), dy, x, dx, dx_needed)) return;
#elif defined(POLICYLAB_LINEAR_AVX2)
    if (linear_avx2::backward(p.value(weight), p.grad(weight), p.grad(bias), dy, x, dx, dx_needed)) return;
#endif
    p.grad(weight).noalias() += dy * x.transpose();
    p.grad(bias).col(0) += dy.rowwise().sum();
    if (dx_needed) dx.noalias() = p.value(weight).transpose() * dy;
  }
  // backward() with dx_needed, where x = a(z) is the output of the previous layer's activation,
  // and dx replaced by the gradient w.r.t. that z: dx = (W^T dy) * a'(x), the derivative applied
  // in the product's store (the same bits as ActivationFn::backward after backward()). False
  // (nothing done) where the native kernels cannot; the caller then runs the two steps.
  template <typename DY, typename X, typename DX>
  bool backward_activation(Parameters& p, const DY& dy, const X& x, DX&& dx, Activation a) const {
#if defined(POLICYLAB_SMALL_GEMM)
    return small_gemm::backward(p.value(weight), p.grad(weight), p.grad(bias), dy, x, dx, true,
                                a == Activation::Tanh ? small_gemm::Post::TanhGrad : small_gemm::Post::ReluGrad, x);
#elif defined(POLICYLAB_LINEAR_AVX2)
    return linear_avx2::backward(p.value(weight), p.grad(weight), p.grad(bias), dy, x, dx, true,
                                 a == Activation::Tanh ? linear_avx2::Post::TanhGrad : linear_avx2::Post::ReluGrad, x);
#else
    (void)p, (void)dy, (void)x, (void)dx, (void)a;
    return false;
#endif
  }
  // Orthogonal init with gain (Saxe et al. 2014; CleanRL's layer_init), bias = 0.
  void init_orthogonal(Parameters& p, Rng& rng, double gain) const;
};

// Elementwise activations. Backward uses the forward output y (tanh' = 1 - y^2, relu' = [y > 0]).
struct ActivationFn {
  template <typename X, typename Y>
  static void forward(Activation a, const X& x, Y&& y) {
    if (a == Activation::Tanh)
      y = x.array().tanh().matrix();
    else
      y = x.array().max(0.0f).matrix();
  }
  template <typename Y, typename DY, typename DX>
  static void backward(Activation a, const Y& y, const DY& dy, DX&& dx) {
    if (a == Activation::Tanh)
      dx = (dy.array() * (1.0f - y.array().square())).matrix();
    else
      dx = (dy.array() * (y.array() > 0.0f).template cast<float>()).matrix();
  }
};

struct MlpSpec {
  std::string name;             // tensor name prefix, e.g. "actor"
  int in = 0;
  std::vector<int> hidden;      // hidden layer widths
  int out = 0;
  Activation activation = Activation::Tanh;
  double hidden_gain = 1.4142135623730951;  // sqrt(2), CleanRL's hidden-layer gain
  double output_gain = 1.0;     // 0.01 for a policy head, 1.0 for a value head (CleanRL)
};

// Activations of one batch: act[0] = input, act[2k+1] = pre-activation... kept simple: for layer k,
// z[k] = Linear_k(h[k]); h[k+1] = activation(z[k]) for hidden layers. Output = z[last].
struct MlpWorkspace {
  int capacity = 0;
  std::vector<MatrixXf> h;   // h[0] input, h[k] output of hidden layer k (post-activation)
  MatrixXf out;              // output layer (out x capacity)
  std::vector<MatrixXf> dh;  // gradient w.r.t. h[k], k >= 1 (dh[0] unused unless input grad asked)
  MatrixXf dz;               // scratch for gradient w.r.t. pre-activation (max width x capacity)

  auto input(int n) { return h[0].leftCols(n); }
  auto output(int n) const { return out.leftCols(n); }
};

class Mlp {
 public:
  Mlp() = default;
  Mlp(Parameters& params, const MlpSpec& spec);

  void init(Parameters& params, Rng& rng) const;
  MlpWorkspace make_workspace(int capacity) const;

  // Forward over the first n columns of ws.h[0] (fill ws.input(n) first). Result in ws.output(n).
  void forward(const Parameters& params, MlpWorkspace& ws, int n) const;
  // Backward from dout (out x n) through the network; accumulates parameter gradients. When
  // input_grad is true the gradient w.r.t. the input is left in ws.dh[0] (for gradient checks).
  // ws.dh[k] (k >= 1) and ws.dz are scratch: the gradient w.r.t. a hidden layer's pre-activation
  // is left in ws.dh[k] by the fused product, or in ws.dz by the two-step fallback.
  template <typename DOut>
  void backward(Parameters& params, MlpWorkspace& ws, int n, const DOut& dout, bool input_grad = false) const {
    const int L = static_cast<int>(layers_.size());
    if (L == 1) {
      layers_[0].backward(params, dout, ws.h[0].leftCols(n), ws.dh[0].leftCols(n), input_grad);
      return;
    }
    using DzView = Eigen::Map<const MatrixXf, 0, Eigen::OuterStride<>>;
    int ld = 0;
    const float* dz = backward_hidden(params, ws, n, L - 1, dout, ld);
    for (int k = L - 2; k >= 1; --k)
      dz = backward_hidden(params, ws, n, k, DzView(dz, layers_[k].out, n, Eigen::OuterStride<>(ld)), ld);
    layers_[0].backward(params, DzView(dz, layers_[0].out, n, Eigen::OuterStride<>(ld)), ws.h[0].leftCols(n),
                        ws.dh[0].leftCols(n), input_grad);
  }

  const MlpSpec& spec() const { return spec_; }
  const std::vector<Linear>& layers() const { return layers_; }

 private:
  // Backward of layer k >= 1 from dzk (gradient w.r.t. its output, pre-activation): accumulates its
  // parameter gradients and returns the gradient w.r.t. layer k-1's pre-activation (column stride
  // in ld).
  template <typename DZ>
  const float* backward_hidden(Parameters& params, MlpWorkspace& ws, int n, int k, const DZ& dzk, int& ld) const {
    const Linear& l = layers_[k];
    auto x = ws.h[k].leftCols(n);
    auto dh = ws.dh[k].leftCols(n);
    ld = static_cast<int>(ws.dh[k].rows());
    if (l.backward_activation(params, dzk, x, dh, spec_.activation)) return ws.dh[k].data();
    l.backward(params, dzk, x, dh, true);
    ActivationFn::backward(spec_.activation, x, dh, ws.dz.topLeftCorner(l.in, n));
    ld = static_cast<int>(ws.dz.rows());
    return ws.dz.data();
  }

  MlpSpec spec_;
  std::vector<Linear> layers_;
};

}  // namespace pl
