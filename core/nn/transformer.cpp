#include "core/nn/transformer.hpp"

#include <cmath>
#include <stdexcept>

namespace pl {

void TransformerSpec::validate() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("transformer: " + what);
  };
  need(vocab >= 2, "vocab must be >= 2, got " + std::to_string(vocab));
  need(context >= 1 && context <= 1024, "context must be in [1, 1024], got " + std::to_string(context));
  need(d_model >= 1 && n_heads >= 1 && d_model % n_heads == 0,
       "d_model (" + std::to_string(d_model) + ") must be a multiple of n_heads (" + std::to_string(n_heads) + ")");
  need(n_layers >= 1, "n_layers must be >= 1, got " + std::to_string(n_layers));
  need(d_mlp >= 1, "d_mlp must be >= 1, got " + std::to_string(d_mlp));
}

Transformer::Transformer(Parameters& p, const TransformerSpec& spec) : spec_(spec) {
  spec.validate();
  const int D = spec.d_model, M = spec.d_mlp;
  const std::string& n = spec.name;
  // A row-major [r, c] tape view is a column-major (c x r) Parameters tensor.
  auto matrix = [&](const std::string& name, int rows, int cols) { return p.declare(n + "." + name, cols, rows); };
  auto vector = [&](const std::string& name, int size) { return p.declare(n + "." + name, size, 1); };
  wte_ = matrix("wte", spec.vocab, D);
  wpe_ = matrix("wpe", spec.context, D);
  for (int l = 0; l < spec.n_layers; ++l) {
    const std::string b = "h" + std::to_string(l) + ".";
    Block blk;
    blk.ln1_g = vector(b + "ln_1.weight", D);
    blk.ln1_b = vector(b + "ln_1.bias", D);
    blk.qkv_w = matrix(b + "attn.c_attn.weight", D, 3 * D);
    blk.qkv_b = vector(b + "attn.c_attn.bias", 3 * D);
    blk.proj_w = matrix(b + "attn.c_proj.weight", D, D);
    blk.proj_b = vector(b + "attn.c_proj.bias", D);
    blk.ln2_g = vector(b + "ln_2.weight", D);
    blk.ln2_b = vector(b + "ln_2.bias", D);
    blk.fc_w = matrix(b + "mlp.c_fc.weight", D, M);
    blk.fc_b = vector(b + "mlp.c_fc.bias", M);
    blk.mlp_proj_w = matrix(b + "mlp.c_proj.weight", M, D);
    blk.mlp_proj_b = vector(b + "mlp.c_proj.bias", D);
    blocks_.push_back(blk);
  }
  lnf_g_ = vector("ln_f.weight", D);
  lnf_b_ = vector("ln_f.bias", D);
  head_ = matrix("lm_head.weight", D, spec.vocab);
  if (spec.value_head) {
    value_w_ = matrix("value_head.weight", D, 1);
    value_b_ = vector("value_head.bias", 1);
  }
}

void Transformer::init(Parameters& p, Rng& rng) const {
  auto normal = [&](int t, double std) {
    auto v = p.value(t);
    for (int i = 0; i < v.size(); ++i) v.data()[i] = static_cast<float>(rng.normal() * std);
  };
  auto fill = [&](int t, float x) { p.value(t).setConstant(x); };
  const double std = spec_.init_std;
  const double residual_std = std / std::sqrt(2.0 * spec_.n_layers);
  normal(wte_, std);
  normal(wpe_, std);
  for (const Block& b : blocks_) {
    fill(b.ln1_g, 1.0f);
    fill(b.ln1_b, 0.0f);
    normal(b.qkv_w, std);
    fill(b.qkv_b, 0.0f);
    normal(b.proj_w, residual_std);
    fill(b.proj_b, 0.0f);
    fill(b.ln2_g, 1.0f);
    fill(b.ln2_b, 0.0f);
    normal(b.fc_w, std);
    fill(b.fc_b, 0.0f);
    normal(b.mlp_proj_w, residual_std);
    fill(b.mlp_proj_b, 0.0f);
  }
  fill(lnf_g_, 1.0f);
  fill(lnf_b_, 0.0f);
  normal(head_, std);
  if (spec_.value_head) {
    normal(value_w_, std);
    fill(value_b_, 0.0f);
  }
}

Transformer::Outputs Transformer::build(Graph& g, Parameters& p, Expr tokens, Expr positions, Expr key_mask,
                                        bool frozen) const {
  const int D = spec_.d_model, M = spec_.d_mlp, V = spec_.vocab;
  auto P = [&](int t, const Dims& d) { return g.parameter(p, t, d, frozen); };
  Expr x = embedding(P(wte_, {V, D}), tokens) + embedding(P(wpe_, {spec_.context, D}), positions);
  for (const Block& b : blocks_) {
    Expr h = layer_norm(x, P(b.ln1_g, {D}), P(b.ln1_b, {D}));
    Expr qkv = linear(h, P(b.qkv_w, {D, 3 * D}), P(b.qkv_b, {3 * D}));
    Expr a = attention(slice_last(qkv, 0, D), slice_last(qkv, D, D), slice_last(qkv, 2 * D, D), spec_.n_heads,
                       /*causal=*/true, key_mask);
    x = x + linear(a, P(b.proj_w, {D, D}), P(b.proj_b, {D}));
    Expr h2 = layer_norm(x, P(b.ln2_g, {D}), P(b.ln2_b, {D}));
    Expr m = gelu(linear(h2, P(b.fc_w, {D, M}), P(b.fc_b, {M})));
    x = x + linear(m, P(b.mlp_proj_w, {M, D}), P(b.mlp_proj_b, {D}));
  }
  Expr hf = layer_norm(x, P(lnf_g_, {D}), P(lnf_b_, {D}));
  Outputs out;
  out.logits = matmul(hf, P(head_, {D, V}));
  if (spec_.value_head) {
    const Dims td = g.dims(tokens);  // a copy: the nodes added below may move the graph's storage
    out.values = reshape(linear(hf, P(value_w_, {D, 1}), P(value_b_, {1})), td);
  }
  return out;
}

}  // namespace pl
