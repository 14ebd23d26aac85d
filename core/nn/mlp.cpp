#include "core/nn/mlp.hpp"

#include <Eigen/QR>
#include <algorithm>
#include <stdexcept>

namespace pl {

Activation parse_activation(const std::string& name) {
  if (name == "tanh") return Activation::Tanh;
  if (name == "relu") return Activation::ReLU;
  throw std::invalid_argument("unknown activation '" + name + "' (allowed: tanh, relu)");
}

Linear::Linear(Parameters& params, const std::string& name, int in_features, int out_features)
    : in(in_features), out(out_features) {
  weight = params.declare(name + ".weight", out_features, in_features);
  bias = params.declare(name + ".bias", out_features, 1);
}

// Orthogonal initialisation as torch.nn.init.orthogonal_ defines it: draw a standard normal matrix,
// take the QR decomposition of it (of its transpose when it is wide), make the decomposition unique
// by multiplying Q's columns by sign(diag(R)), scale by the gain.
void Linear::init_orthogonal(Parameters& p, Rng& rng, double gain) const {
  const int rows = out, cols = in;
  const bool wide = rows < cols;
  const int r = wide ? cols : rows, c = wide ? rows : cols;  // tall r x c, r >= c
  Eigen::MatrixXd a(r, c);
  for (int j = 0; j < c; ++j)
    for (int i = 0; i < r; ++i) a(i, j) = rng.normal();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
  Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(r, c);
  Eigen::MatrixXd rmat = qr.matrixQR().topLeftCorner(c, c).triangularView<Eigen::Upper>();
  for (int j = 0; j < c; ++j)
    if (rmat(j, j) < 0) q.col(j) *= -1.0;
  Eigen::MatrixXd w = wide ? Eigen::MatrixXd(q.transpose()) : q;
  p.value(weight) = (w * gain).cast<float>();
  p.value(bias).setZero();
}

Mlp::Mlp(Parameters& params, const MlpSpec& spec) : spec_(spec) {
  if (spec.in < 1 || spec.out < 1) throw std::invalid_argument("Mlp: input and output sizes must be >= 1");
  int width = spec.in;
  for (size_t k = 0; k < spec.hidden.size(); ++k) {
    if (spec.hidden[k] < 1) throw std::invalid_argument("Mlp: hidden sizes must be >= 1");
    layers_.emplace_back(params, spec.name + "." + std::to_string(k), width, spec.hidden[k]);
    width = spec.hidden[k];
  }
  layers_.emplace_back(params, spec.name + "." + std::to_string(spec.hidden.size()), width, spec.out);
}

void Mlp::init(Parameters& params, Rng& rng) const {
  for (size_t k = 0; k < layers_.size(); ++k) {
    bool last = k + 1 == layers_.size();
    layers_[k].init_orthogonal(params, rng, last ? spec_.output_gain : spec_.hidden_gain);
  }
}

MlpWorkspace Mlp::make_workspace(int capacity) const {
  MlpWorkspace ws;
  ws.capacity = capacity;
  int max_width = spec_.out;
  ws.h.emplace_back(MatrixXf::Zero(spec_.in, capacity));
  ws.dh.emplace_back(MatrixXf::Zero(spec_.in, capacity));
  for (size_t k = 0; k + 1 < layers_.size(); ++k) {
    ws.h.emplace_back(MatrixXf::Zero(layers_[k].out, capacity));
    ws.dh.emplace_back(MatrixXf::Zero(layers_[k].out, capacity));
    max_width = std::max(max_width, layers_[k].out);
  }
  ws.out = MatrixXf::Zero(spec_.out, capacity);
  ws.dz = MatrixXf::Zero(max_width, capacity);
  return ws;
}

void Mlp::forward(const Parameters& params, MlpWorkspace& ws, int n) const {
  const int L = static_cast<int>(layers_.size());
  for (int k = 0; k < L - 1; ++k) {
    if (layers_[k].forward_activation(params, ws.h[k].leftCols(n), ws.h[k + 1].leftCols(n), spec_.activation))
      continue;
    auto z = ws.dz.topLeftCorner(layers_[k].out, n);  // pre-activation scratch
    layers_[k].forward(params, ws.h[k].leftCols(n), z);
    ActivationFn::forward(spec_.activation, z, ws.h[k + 1].leftCols(n));
  }
  layers_[L - 1].forward(params, ws.h[L - 1].leftCols(n), ws.out.leftCols(n));
}

}  // namespace pl
