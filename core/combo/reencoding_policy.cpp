#include "core/combo/reencoding_policy.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace pl::combo {

void DecisionRecord::allocate(int nodes_, int node_dim_, int capacity_, bool with_key_mask) {
  nodes = nodes_;
  node_dim = node_dim_;
  capacity = capacity_;
  count = 0;
  features.assign(static_cast<size_t>(capacity) * nodes * node_dim, 0.0f);
  mask.assign(static_cast<size_t>(capacity) * nodes, 0);
  key_mask.assign(with_key_mask ? static_cast<size_t>(capacity) * nodes : 0, 0);
  actions.assign(static_cast<size_t>(capacity), 0);
  row.assign(static_cast<size_t>(capacity), 0);
  logp.assign(static_cast<size_t>(capacity), 0.0f);
}

ReencodingPolicy::ReencodingPolicy(const ReencodingModel& model, Parameters& params, ReencodingProblem& problem,
                                   int max_rows, int max_nodes)
    : model_(model),
      problem_(problem),
      max_rows_(max_rows),
      max_nodes_(max_nodes),
      F_(problem.node_dim()),
      subproblem_(problem.masks_encoder()) {
  if (max_rows < 1 || max_nodes < 1) throw std::invalid_argument("ReencodingPolicy: capacities must be >= 1");
  if (model.spec().node_dim != F_)
    throw std::invalid_argument("ReencodingPolicy: the model reads " + std::to_string(model.spec().node_dim) +
                                " features per node, the problem gives " + std::to_string(F_));
  var_rows_ = graph_.size_var("rows", max_rows);
  var_nodes_ = graph_.size_var("nodes", max_nodes);
  const Dim R = graph_.dim(var_rows_), N = graph_.dim(var_nodes_);
  in_ = model.declare_inputs(graph_, R, N, subproblem_);
  nodes_buf_.assign(static_cast<size_t>(max_rows) * max_nodes * F_, 0.0f);
  mask_buf_.assign(static_cast<size_t>(max_rows) * max_nodes, 1);
  if (subproblem_) {
    // Every node in the sub-problem until a problem says otherwise (rows that skip the policy
    // still go through the pass and need a mask with at least one node).
    key_mask_buf_.assign(static_cast<size_t>(max_rows) * max_nodes, 1);
    key_weight_buf_.assign(static_cast<size_t>(max_rows) * max_nodes, 0.0f);
    graph_.bind_int(in_.key_mask, key_mask_buf_.data());
    graph_.bind(in_.key_weight, key_weight_buf_.data());
  }
  actions_buf_.assign(static_cast<size_t>(max_rows), 0);
  adv_buf_.assign(static_cast<size_t>(max_rows), 0.0f);
  graph_.bind(in_.nodes, nodes_buf_.data());
  graph_.bind_int(in_.mask, mask_buf_.data());
  logp_ = model.log_probs(graph_, params, in_, R, N);  // [R, n]
  // The training head: REINFORCE over decisions, loss = -scale * sum_d A_d log p(a_d | s_d)
  // (Williams 1992; POMO Eq. 4 with log p(tau) = sum_t log p(a_t | s_t)).
  actions_ = graph_.int_input("actions", {R});
  adv_ = graph_.input("adv", {R});
  graph_.bind_int(actions_, actions_buf_.data());
  graph_.bind(adv_, adv_buf_.data());
  step_logp_ = gather_last(logp_, actions_);
  loss_ = -(sum(graph_.display(adv_, "R - b", "(R - b)") *
                graph_.display(step_logp_, "log p(a|s)", "\\log p_\\theta(a_t \\mid s_t)")) *
            graph_.param("loss_scale", 1.0f));
  allowed_.assign(static_cast<size_t>(max_rows), 0);
}

void ReencodingPolicy::load_rows(int rows, int nodes) {
  graph_.set_size(var_rows_, rows);
  graph_.set_size(var_nodes_, nodes);
  // The graph embedding's weights: 1 / |sub-problem| on its nodes.
  if (subproblem_)
    for (int r = 0; r < rows; ++r) {
      const int32_t* k = &key_mask_buf_[static_cast<size_t>(r) * nodes];
      int in = 0;
      for (int j = 0; j < nodes; ++j) in += k[j] != 0;
      const float w = 1.0f / static_cast<float>(std::max(1, in));
      float* out = &key_weight_buf_[static_cast<size_t>(r) * nodes];
      for (int j = 0; j < nodes; ++j) out[j] = k[j] ? w : 0.0f;
    }
}

void ReencodingPolicy::rollout(const int* inst, int rows, const int* starts, bool greedy, Rng* rng, double* objectives,
                               DecisionRecord* record) {
  if (rows < 1 || rows > max_rows_)
    throw std::invalid_argument("ReencodingPolicy::rollout: " + std::to_string(rows) + " trajectories exceed the capacity (" +
                                std::to_string(max_rows_) + ")");
  if (!greedy && !rng) throw std::invalid_argument("ReencodingPolicy::rollout: sampling needs an rng");
  problem_.load(inst, rows);
  const int n = problem_.nodes(), F = F_;
  if (n < 1 || n > max_nodes_)
    throw std::invalid_argument("ReencodingPolicy::rollout: " + std::to_string(n) + " nodes exceed the capacity (" +
                                std::to_string(max_nodes_) + ")");
  if (record && (record->nodes != n || record->node_dim != F))
    throw std::invalid_argument("ReencodingPolicy::rollout: record of another size");
  if (record && record->key_mask.empty() == subproblem_)
    throw std::invalid_argument(std::string("ReencodingPolicy::rollout: the problem ") +
                                (subproblem_ ? "masks its encoder: allocate the record with key_mask"
                                             : "does not mask its encoder: allocate the record without key_mask"));
  const int decisions = problem_.max_decisions();
  for (int t = 0; t < decisions; ++t) {
    bool need_policy = false, any = false;
    for (int r = 0; r < rows; ++r) {
      if (problem_.done(r)) {
        allowed_[r] = -1;
        continue;
      }
      any = true;
      int32_t* m = &mask_buf_[static_cast<size_t>(r) * n];
      const int count = problem_.mask(r, m);
      allowed_[r] = (t == 0 && starts && starts[r] >= 0) ? 0 : count;  // 0: forced first action
      if (allowed_[r] < 2) continue;
      need_policy = true;
      problem_.features(r, &nodes_buf_[static_cast<size_t>(r) * n * F]);
      if (subproblem_) problem_.encoder_mask(r, &key_mask_buf_[static_cast<size_t>(r) * n]);
    }
    if (!any) break;
    if (need_policy) {
      // Rows that need no decision still go through the pass with whatever their buffers hold (a
      // valid earlier state or the initial ones): their output is not read.
      load_rows(rows, n);
      graph_.forward(logp_);
    }
    const float* lp = need_policy ? graph_.values(logp_) : nullptr;
    for (int r = 0; r < rows; ++r) {
      if (allowed_[r] < 0) continue;
      const int32_t* allowed = &mask_buf_[static_cast<size_t>(r) * n];
      int a = -1;
      if (allowed_[r] == 0) {
        a = starts[r];
        if (a < 0 || a >= n || !allowed[a])
          throw std::invalid_argument("ReencodingPolicy::rollout: start node " + std::to_string(a) + " is not allowed");
      } else if (allowed_[r] == 1) {
        for (int j = 0; j < n && a < 0; ++j)
          if (allowed[j]) a = j;
      } else {
        const float* u = lp + static_cast<size_t>(r) * n;
        if (greedy) {
          for (int j = 0; j < n; ++j)
            if (allowed[j] && (a < 0 || u[j] > u[a])) a = j;
        } else {
          // Inverse-CDF draw over the allowed nodes; the last allowed node takes the rounding rest.
          const double x = rng->uniform();
          double acc = 0;
          for (int j = 0; j < n; ++j) {
            if (!allowed[j]) continue;
            a = j;
            acc += std::exp(static_cast<double>(u[j]));
            if (x < acc) break;
          }
        }
        if (record) {
          if (record->count >= record->capacity) throw std::logic_error("ReencodingPolicy::rollout: decision record full");
          const int d = record->count++;
          std::copy(&nodes_buf_[static_cast<size_t>(r) * n * F], &nodes_buf_[static_cast<size_t>(r) * n * F] + n * F,
                    &record->features[static_cast<size_t>(d) * n * F]);
          std::copy(allowed, allowed + n, &record->mask[static_cast<size_t>(d) * n]);
          if (subproblem_)
            std::copy(&key_mask_buf_[static_cast<size_t>(r) * n], &key_mask_buf_[static_cast<size_t>(r) * n] + n,
                      &record->key_mask[static_cast<size_t>(d) * n]);
          record->actions[d] = a;
          record->row[d] = r;
          record->logp[d] = u[a];
        }
      }
      problem_.step(r, a);
    }
  }
  for (int r = 0; r < rows; ++r) objectives[r] = problem_.objective(r);
}

double ReencodingPolicy::accumulate(const DecisionRecord& record, int first, int count, const float* adv, float scale,
                                    float* logp_out) {
  if (count < 1 || count > max_rows_ || first < 0 || first + count > record.count || record.nodes > max_nodes_ ||
      record.node_dim != F_)
    throw std::invalid_argument("ReencodingPolicy::accumulate: decisions out of range");
  if (record.key_mask.empty() == subproblem_)
    throw std::invalid_argument("ReencodingPolicy::accumulate: the record's encoder masks do not match the problem's");
  const int n = record.nodes, F = F_;
  std::copy(&record.features[static_cast<size_t>(first) * n * F],
            &record.features[static_cast<size_t>(first + count) * n * F], nodes_buf_.begin());
  std::copy(&record.mask[static_cast<size_t>(first) * n], &record.mask[static_cast<size_t>(first + count) * n],
            mask_buf_.begin());
  if (subproblem_)
    std::copy(&record.key_mask[static_cast<size_t>(first) * n], &record.key_mask[static_cast<size_t>(first + count) * n],
              key_mask_buf_.begin());
  for (int d = 0; d < count; ++d) {
    actions_buf_[d] = record.actions[first + d];
    adv_buf_[d] = adv[record.row[first + d]];
  }
  load_rows(count, n);
  graph_.set_param("loss_scale", scale);
  graph_.forward();
  graph_.backward(loss_);
  if (logp_out) std::copy(graph_.values(step_logp_), graph_.values(step_logp_) + count, logp_out);
  return graph_.scalar(loss_);
}

void decode_best(ReencodingPolicy& policy, int count, int per, bool greedy, bool maximize, Rng& rng,
                 const std::function<int(int, int)>& start, const std::function<void(int, int)>& keep, double* best) {
  std::vector<int> inst, starts;
  for (int i = 0; i < count; ++i)
    for (int s = 0; s < per; ++s) {
      inst.push_back(i);
      starts.push_back(start(i, s));
    }
  const int total = static_cast<int>(inst.size()), cap = policy.max_rows();
  std::vector<double> objectives(static_cast<size_t>(cap));
  std::fill(best, best + count, maximize ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity());
  for (int r0 = 0; r0 < total; r0 += cap) {
    const int rows = std::min(cap, total - r0);
    policy.rollout(&inst[r0], rows, &starts[r0], greedy, &rng, objectives.data());
    for (int r = 0; r < rows; ++r) {
      const int i = inst[r0 + r];
      if (maximize ? objectives[r] > best[i] : objectives[r] < best[i]) {
        best[i] = objectives[r];
        keep(r, i);
      }
    }
  }
}

}  // namespace pl::combo
