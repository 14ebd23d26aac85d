#include "core/algos/token_critic.hpp"

#include <algorithm>
#include <cmath>

namespace pl {

TokenCritic::TokenCritic(const TransformerSpec& policy_spec, int rows, int time, const float* token_mean, double adam_eps)
    : model_(policy_spec, 1) {
  optimizer_ = Optimizer(Optimizer::Kind::Adam, model_.params().total_size(), adam_eps);
  Graph& g = graph_;
  batch_.declare(g, rows, time);
  const Dims rt = batch_.dims(g);
  values_ = batch_.build(g, model_.member(0), model_.params()).values;  // [rows, time]
  Expr returns = g.input("returns", rt), old_values = g.input("old_values", rt), weights = g.input("token_mean", rt);
  Expr c = g.param("cliprange_value", 0.2f), vf_coef = g.param("vf_coef", 0.1f);
  Expr unclipped = square(values_ - returns);
  // With c = 0 the clipped value is V_old: max(.) would then never let the critic move, so c = 0
  // turns clipping off (the clipped term is replaced by the unclipped one).
  Expr clipped_values = old_values + clamp(values_ - old_values, -1.0f * c, c);
  Expr clipped = where(greater(c, g.constant(0.0f)), square(clipped_values - returns), unclipped);
  loss_ = vf_coef * 0.5f * sum(max(unclipped, clipped) * weights);
  clipped_share_ = sum(greater(clipped, unclipped) * weights);
  returns_.assign(static_cast<size_t>(rows) * time, 0.0f);
  old_values_.assign(static_cast<size_t>(rows) * time, 0.0f);
  g.bind(returns, returns_.data());
  g.bind(old_values, old_values_.data());
  g.bind(weights, token_mean);
}

void TokenCritic::init_from(const Parameters& policy, Rng& head_rng) { model_.init_member_from(0, policy, head_rng); }

void TokenCritic::set_layout(const TokenBatch& from, int rows, int time) {
  const size_t n = static_cast<size_t>(rows) * time;
  std::copy(from.token_ids.begin(), from.token_ids.begin() + static_cast<long>(n), batch_.token_ids.begin());
  std::copy(from.position_ids.begin(), from.position_ids.begin() + static_cast<long>(n), batch_.position_ids.begin());
  std::copy(from.key_mask.begin(), from.key_mask.begin() + static_cast<long>(n), batch_.key_mask.begin());
  std::copy(from.target_ids.begin(), from.target_ids.begin() + static_cast<long>(n), batch_.target_ids.begin());
  batch_.set_sizes(graph_, rows, time);
}

const float* TokenCritic::values() {
  graph_.forward(values_);
  const float* v = graph_.values(values_);
  std::copy(v, v + graph_.numel(values_), old_values_.begin());
  return old_values_.data();
}

double TokenCritic::train(double lr, double max_grad_norm, float vf_coef, float cliprange_value, double* clip_fraction) {
  graph_.set_param("vf_coef", vf_coef);
  graph_.set_param("cliprange_value", cliprange_value);
  Parameters& p = model_.params();
  graph_.forward();
  p.zero_grad();
  graph_.backward(loss_);
  const double norm = clip_grad_norm(p.grads(), max_grad_norm);
  if (std::isfinite(norm)) optimizer_.step(p.values(), p.grads(), lr);
  if (clip_fraction) *clip_fraction = graph_.scalar(clipped_share_);
  return vf_coef > 0 ? graph_.scalar(loss_) / vf_coef : 0.0;
}

void TokenCritic::write_state(ByteWriter& w) const {
  write_training_state(w, 0, 0, model_.params(), optimizer_);
}

void TokenCritic::read_state(ByteReader& r) {
  int64_t iteration = 0, step = 0;
  read_training_state(r, iteration, step, model_.params(), optimizer_);
}

}  // namespace pl
