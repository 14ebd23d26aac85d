#include "core/algos/reward_ensemble.hpp"

#include <algorithm>
#include <cmath>

namespace pl {

const std::vector<std::string>& ensemble_aggregation_names() {
  static const std::vector<std::string> names = {"mean", "worst_case", "uncertainty"};
  return names;
}

EnsembleAggregation parse_ensemble_aggregation(const std::string& name, const std::string& field) {
  if (name == "mean") return EnsembleAggregation::Mean;
  if (name == "worst_case") return EnsembleAggregation::WorstCase;
  if (name == "uncertainty") return EnsembleAggregation::Uncertainty;
  throw ConfigError("field '" + field + "' must be one of: mean, worst_case, uncertainty, got \"" + name + "\"");
}

double aggregate_rewards(const float* r, int K, EnsembleAggregation a, double lambda) {
  double mean = 0;
  for (int k = 0; k < K; ++k) mean += r[k];
  mean /= K;
  switch (a) {
    case EnsembleAggregation::Mean:  // Coste et al. 2023, sec. 3: the ensemble mean
      return mean;
    case EnsembleAggregation::WorstCase: {  // Coste et al. 2023, eq. 2 (WCO): min over members
      double lo = r[0];
      for (int k = 1; k < K; ++k) lo = std::min(lo, static_cast<double>(r[k]));
      return lo;
    }
    case EnsembleAggregation::Uncertainty: {  // Coste et al. 2023, eq. 3 (UWO): mean - lambda * variance
      double var = 0;
      for (int k = 0; k < K; ++k) var += (r[k] - mean) * (r[k] - mean);
      return mean - lambda * var / K;
    }
  }
  return mean;
}

double ensemble_std(const float* r, int K) {
  double mean = 0, var = 0;
  for (int k = 0; k < K; ++k) mean += r[k];
  mean /= K;
  for (int k = 0; k < K; ++k) var += (r[k] - mean) * (r[k] - mean);
  return std::sqrt(var / K);
}

RewardEnsemble::RewardEnsemble(const TransformerSpec& policy_spec, int members) {
  if (members < 1) throw std::invalid_argument("a reward ensemble needs at least one member");
  models_.reserve(static_cast<size_t>(members));
  for (int k = 0; k < members; ++k) {
    TransformerSpec s = policy_spec;
    s.name = "rm" + std::to_string(k);
    s.value_head = true;
    const int first = params_.count();
    models_.emplace_back(params_, s);
    ranges_.push_back({first, params_.count()});  // tensor indices for now
  }
  params_.finalize();
  for (auto& r : ranges_) {
    const TensorInfo& last = params_.tensors()[static_cast<size_t>(r.second - 1)];
    r = {params_.tensors()[static_cast<size_t>(r.first)].offset, last.offset + last.size()};
  }
}

void RewardEnsemble::init_member_from(int k, const Parameters& policy, Rng& head_rng) {
  const Transformer& m = member(k);
  // The member's tensors in declaration order are the policy's, then the value head.
  int first = 0;
  while (params_.tensors()[static_cast<size_t>(first)].offset < member_begin(k)) ++first;
  for (int i = 0; i < policy.count(); ++i) {
    const TensorInfo& from = policy.tensors()[static_cast<size_t>(i)];
    const TensorInfo& to = params_.tensors()[static_cast<size_t>(first + i)];
    if (from.size() != to.size()) throw std::invalid_argument("reward model: the policy's tensors do not match " + to.name);
    std::copy(policy.values().data() + from.offset, policy.values().data() + from.offset + from.size(),
              params_.values().data() + to.offset);
  }
  auto w = params_.value(m.value_w());
  for (int i = 0; i < w.size(); ++i) w.data()[i] = static_cast<float>(head_rng.normal() * m.spec().init_std);
  params_.value(m.value_b()).setZero();
}

void RewardRows::declare(int rows, int time) {
  time_capacity = time;
  batch.declare(graph, rows, time);
  last = graph.input("last_token", batch.dims(graph));
  last_mask.assign(static_cast<size_t>(rows) * time, 0.0f);
  graph.bind(last, last_mask.data());
}

Expr RewardRows::add_member(RewardEnsemble& e, int k, bool frozen) {
  Expr values = batch.build(graph, e.member(k), e.params(), frozen).values;  // [rows, time]
  return sum(values * last, -1);
}

void RewardRows::set_row(int r, int time, const int32_t* prompt, int P, const int32_t* completion, int L) {
  for (int t = 0; t < time; ++t) {
    const bool real = t < P + L;
    const int32_t token = !real ? Vocabulary::kPad : (t < P ? prompt[t] : completion[t - P]);
    batch.set(r, t, time, token, t, real, Vocabulary::kPad);
    last_mask[static_cast<size_t>(r) * time + t] = t == P + L - 1 ? 1.0f : 0.0f;
  }
}

RewardLossOutputs build_reward_loss(Graph& g, Expr rewards, int pair_capacity) {
  RewardLossOutputs out;
  out.pairs_var = g.size_var("pairs", pair_capacity);
  const Dim P = g.dim(out.pairs_var);
  Expr by_pair = reshape(rewards, {P, 2});
  out.chosen = g.display(reshape(slice_last(by_pair, 0, 1), {P}), "r(x,y_w)", "r_\\phi(x, y_w)");
  out.rejected = g.display(reshape(slice_last(by_pair, 1, 1), {P}), "r(x,y_l)", "r_\\phi(x, y_l)");
  out.margins = g.display(g.input("margins", {P}), "m", "m");
  Expr coef = g.param("center_rewards_coefficient", 0.0f);
  Expr total = out.chosen + out.rejected;
  out.loss = mean(-log_sigmoid(out.chosen - out.rejected - out.margins)) + coef * mean(square(total));
  out.accuracy = mean(greater(out.chosen, out.rejected));
  return out;
}

RewardScorer::RewardScorer(const TransformerSpec& policy_spec, const Parameters& weights, int members, int rows)
    : ensemble_(policy_spec, members), rows_(std::make_unique<RewardRows>()), capacity_(rows) {
  if (weights.total_size() != ensemble_.params().total_size())
    throw std::invalid_argument("reward scorer: the weights do not match the ensemble's layout");
  ensemble_.params().values() = weights.values();
  rows_->declare(rows, policy_spec.context);
  for (int k = 0; k < members; ++k) rewards_.push_back(rows_->add_member(ensemble_, k, /*frozen=*/true));
}

void RewardScorer::score(int n, const int32_t* prompts, const int* prompt_lengths, int prompt_stride,
                         const int32_t* completions, const int* lengths, int completion_stride) {
  score_groups(n, 1, prompts, prompt_lengths, prompt_stride, completions, lengths, completion_stride);
}

void RewardScorer::score_groups(int n, int g, const int32_t* prompts, const int* prompt_lengths, int prompt_stride,
                                const int32_t* completions, const int* lengths, int completion_stride) {
  if (n < 1 || n > capacity_) throw std::invalid_argument("reward scorer: 1 to capacity rows");
  int time = 1;
  for (int i = 0; i < n; ++i) time = std::max(time, prompt_lengths[i / g] + lengths[i]);
  for (int i = 0; i < n; ++i)
    rows_->set_row(i, time, prompts + static_cast<size_t>(i / g) * prompt_stride, prompt_lengths[i / g],
                   completions + static_cast<size_t>(i) * completion_stride, lengths[i]);
  rows_->set_sizes(n, time);
  rows_->graph.forward(rewards_.back());
}

void RewardScorer::gather(int i, float* out) const {
  for (int k = 0; k < members(); ++k) out[k] = member_rewards(k)[i];
}

double RewardScorer::aggregated(int i, EnsembleAggregation a, double lambda) const {
  float r[64];
  gather(i, r);
  return aggregate_rewards(r, members(), a, lambda);
}

double RewardScorer::spread(int i) const {
  float r[64];
  gather(i, r);
  return ensemble_std(r, members());
}

}  // namespace pl
