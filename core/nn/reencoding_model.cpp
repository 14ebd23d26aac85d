#include "core/nn/reencoding_model.hpp"

#include <cmath>
#include <stdexcept>

namespace pl {

void ReencodingSpec::validate() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("re-encoding policy: " + what);
  };
  need(node_dim >= 1, "node_dim must be >= 1, got " + std::to_string(node_dim));
  need(d_model >= 1 && n_heads >= 1 && d_model % n_heads == 0,
       "d_model (" + std::to_string(d_model) + ") must be a multiple of n_heads (" + std::to_string(n_heads) + ")");
  need(n_layers >= 1, "n_layers must be >= 1, got " + std::to_string(n_layers));
  need(d_ff >= 1, "d_ff must be >= 1, got " + std::to_string(d_ff));
  need(tanh_clip > 0, "tanh_clip must be > 0");
}

ReencodingModel::ReencodingModel(Parameters& p, const ReencodingSpec& spec) : spec_(spec) {
  spec.validate();
  const int D = spec.d_model;
  encoder_.declare(p, spec.name, spec.node_dim, D, spec.n_heads, spec.n_layers, spec.d_ff);
  // Row-major [D, D] view of a column-major D x D tensor, as the Attention Model's.
  ctx_graph_ = p.declare(spec.name + ".decoder.context_graph.weight", D, D);
  pointer_.declare(p, spec.name, D, spec.n_heads, spec.tanh_clip);
}

void ReencodingModel::init(Parameters& p, Rng& rng) const {
  encoder_.init(p, rng);
  const double bound = 1.0 / std::sqrt(static_cast<double>(spec_.d_model));
  auto v = p.value(ctx_graph_);
  for (int i = 0; i < v.size(); ++i) v.data()[i] = static_cast<float>(rng.uniform(-bound, bound));
  pointer_.init(p, rng);
}

ReencodingModel::Inputs ReencodingModel::declare_inputs(Graph& g, Dim R, Dim n, bool subproblem) const {
  Inputs in;
  in.nodes = g.input("nodes", {R, n, spec_.node_dim});
  in.mask = g.int_input("mask", {R, 1, n});
  if (subproblem) {
    in.key_mask = g.int_input("key_mask", {R, n});
    in.key_weight = g.input("key_weight", {R, 1, n});
  }
  return in;
}

Expr ReencodingModel::log_probs(Graph& g, Parameters& p, const Inputs& in, Dim R, Dim n) const {
  const int D = spec_.d_model;
  Expr H = encoder_.encode(g, p, in.nodes, in.key_mask);  // [R, n, D]
  Expr hbar = in.key_mask.valid() ? reshape(batch_matmul(in.key_weight, H), {R, D})  // sub-problem mean
                                  : mean(H, 1);                                     // [R, D]
  Expr q = reshape(matmul(hbar, g.parameter(p, ctx_graph_, {D, D})), {R, 1, D});
  Expr logp = pointer_.log_probs(g, p, H, q, in.mask);  // [R, 1, n]
  return reshape(logp, {R, n});
}

}  // namespace pl
