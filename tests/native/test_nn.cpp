// Network modules: gradients against finite differences, orthogonal initialisation.
#include <catch2/catch.hpp>

#include "core/nn/mlp.hpp"
#include "gradcheck.hpp"

using namespace pl;
using pl_test::central_difference;
using pl_test::check_close;

namespace {

// Scalar objective f = sum(out .* R) over a batch, so d f / d out = R.
struct MlpHarness {
  Parameters params;
  Mlp mlp;
  MlpWorkspace ws;
  MatrixXf x, r;
  int n;

  MlpHarness(std::vector<int> hidden, Activation act, int in, int out, int batch, uint64_t seed) : n(batch) {
    MlpSpec spec;
    spec.name = "net";
    spec.in = in;
    spec.hidden = hidden;
    spec.out = out;
    spec.activation = act;
    mlp = Mlp(params, spec);
    params.finalize();
    Rng rng(seed);
    mlp.init(params, rng);
    // Non-zero biases so the bias gradient path is exercised away from zero.
    for (int i = 0; i < params.count(); ++i)
      if (params.tensors()[i].cols == 1) params.value(i).setConstant(0.1f);
    ws = mlp.make_workspace(batch + 3);  // capacity larger than n: blocks must respect n
    x = MatrixXf(in, batch);
    r = MatrixXf(out, batch);
    for (int j = 0; j < batch; ++j) {
      for (int i = 0; i < in; ++i) x(i, j) = static_cast<float>(rng.normal());
      for (int i = 0; i < out; ++i) r(i, j) = static_cast<float>(rng.normal());
    }
  }
  double objective() {
    ws.input(n) = x;
    mlp.forward(params, ws, n);
    return static_cast<double>((ws.output(n).array() * r.array()).sum());
  }
  void analytic() {
    params.zero_grad();
    objective();
    mlp.backward(params, ws, n, r, /*input_grad=*/true);
  }
};

void check_mlp_gradients(MlpHarness& h) {
  h.analytic();
  VectorXf grads = h.params.grads();
  MatrixXf input_grad = h.ws.dh[0].leftCols(h.n);
  for (int k = 0; k < h.params.total_size(); ++k) {
    // Padding between tensors (alignment) has no gradient and no effect: skip it.
    bool in_tensor = false;
    for (const TensorInfo& t : h.params.tensors()) in_tensor |= k >= t.offset && k < t.offset + t.size();
    if (!in_tensor) continue;
    double numeric = central_difference([&] { return h.objective(); }, h.params.values().data() + k, 1e-2);
    check_close(grads[k], numeric, "parameter " + std::to_string(k));
  }
  for (int j = 0; j < h.n; ++j)
    for (int i = 0; i < h.x.rows(); ++i) {
      double numeric = central_difference([&] { return h.objective(); }, &h.x(i, j), 1e-2);
      check_close(input_grad(i, j), numeric, "input " + std::to_string(i) + "," + std::to_string(j));
    }
}

}  // namespace

TEST_CASE("Linear layer gradients match finite differences", "[nn][gradcheck]") {
  MlpHarness h({}, Activation::Tanh, 5, 3, 4, 7);  // no hidden layer: a single Linear
  check_mlp_gradients(h);
}

TEST_CASE("Tanh MLP gradients match finite differences", "[nn][gradcheck]") {
  MlpHarness h({8, 6}, Activation::Tanh, 4, 2, 5, 11);
  check_mlp_gradients(h);
}

TEST_CASE("ReLU MLP gradients match finite differences", "[nn][gradcheck]") {
  MlpHarness h({7}, Activation::ReLU, 3, 2, 6, 13);
  check_mlp_gradients(h);
}

TEST_CASE("Linear forward computes W x + b", "[nn]") {
  Parameters p;
  Linear lin(p, "l", 2, 2);
  p.finalize();
  p.value(lin.weight) << 1, 2, 3, 4;  // W = [[1, 2], [3, 4]]
  p.value(lin.bias) << 0.5f, -1;
  MatrixXf x(2, 1), y(2, 1);
  x << 1, -1;
  lin.forward(p, x, y);
  // [1*1 + 2*(-1) + 0.5, 3*1 + 4*(-1) - 1] = [-0.5, -2]
  CHECK(y(0, 0) == Approx(-0.5));
  CHECK(y(1, 0) == Approx(-2.0));
}

TEST_CASE("Orthogonal init gives orthogonal rows or columns scaled by the gain", "[nn]") {
  for (auto shape : {std::pair<int, int>{64, 4}, {4, 64}, {64, 64}}) {
    Parameters p;
    Linear lin(p, "l", shape.second, shape.first);
    p.finalize();
    Rng rng(3);
    const double gain = std::sqrt(2.0);
    lin.init_orthogonal(p, rng, gain);
    Eigen::MatrixXd w = p.value(lin.weight).cast<double>();
    Eigen::MatrixXd gram = w.rows() >= w.cols() ? Eigen::MatrixXd(w.transpose() * w) : Eigen::MatrixXd(w * w.transpose());
    Eigen::MatrixXd expected = Eigen::MatrixXd::Identity(gram.rows(), gram.cols()) * gain * gain;
    CHECK((gram - expected).cwiseAbs().maxCoeff() < 1e-4);
    CHECK(p.value(lin.bias).cwiseAbs().maxCoeff() == 0.0f);
  }
}

TEST_CASE("MLP forward on a prefix of the workspace ignores the remaining columns", "[nn]") {
  MlpHarness h({8}, Activation::Tanh, 3, 2, 4, 5);
  h.objective();
  MatrixXf first = h.ws.output(h.n);
  h.ws.h[0].rightCols(3).setConstant(1e6f);  // garbage beyond n
  h.objective();
  CHECK((h.ws.output(h.n) - first).cwiseAbs().maxCoeff() == 0.0f);
}
