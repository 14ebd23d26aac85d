#include "core/combo/jobshop_policy.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <cmath>
#include <stdexcept>

namespace pl::combo {

float jobshop_scale(const JobShopBatch& batch, int i) {
  const int n = batch.jobs, m = batch.machines;
  const int* d = &batch.duration[static_cast<size_t>(i) * n * m];
  int best = 1;
  for (int j = 0; j < n; ++j) {
    int work = 0;
    for (int k = 0; k < m; ++k) work += d[j * m + k];
    best = std::max(best, work);
  }
  return static_cast<float>(best);
}

void jobshop_features(const JobShopState& st, int i, float scale, float* out) {
  const JobShopBatch& b = *st.batch();
  const int n = st.jobs(), m = st.machines();
  const float inv = 1.0f / scale;
  const float clb = static_cast<float>(st.lower_bound(i)) * inv;
  for (int j = 0; j < n; ++j) {
    float* f = out + static_cast<size_t>(j) * kJobShopFeatures;
    const int k = st.next_op(i, j);
    const float r = static_cast<float>(st.job_ready(i, j)) * inv;
    if (k >= m) {
      // Finished: its end stands in for every time of the job; no operation, no work left.
      f[0] = 0, f[1] = r, f[2] = 0, f[3] = r, f[4] = r, f[5] = r, f[6] = 0, f[7] = 0, f[8] = clb, f[9] = 1;
      continue;
    }
    const size_t o = (static_cast<size_t>(i) * n + j) * m + k;
    const int p = b.duration[o];
    const int lb_job = st.lower_bound_of(i, j, m - 1);  // r_j + remaining work (the unscheduled chain)
    f[0] = static_cast<float>(p) * inv;
    f[1] = r;
    f[2] = static_cast<float>(st.machine_ready(i, b.machine[o])) * inv;
    f[3] = static_cast<float>(st.earliest_start(i, j)) * inv;
    f[4] = static_cast<float>(st.lower_bound_of(i, j, k)) * inv;
    f[5] = static_cast<float>(lb_job) * inv;
    f[6] = static_cast<float>(lb_job - st.job_ready(i, j)) * inv;
    f[7] = static_cast<float>(m - k) / static_cast<float>(m);
    f[8] = clb;
    f[9] = 0;
  }
}

int jobshop_single_start(const JobShopBatch& batch, int i) {
  const int n = batch.jobs, m = batch.machines;
  const int* d = &batch.duration[static_cast<size_t>(i) * n * m];
  int best = 0, best_work = -1;
  for (int j = 0; j < n; ++j) {
    int work = 0;
    for (int k = 0; k < m; ++k) work += d[j * m + k];
    if (work > best_work) best = j, best_work = work;
  }
  return best;
}

void DecisionRecord::allocate(int jobs_, int capacity_) {
  jobs = jobs_;
  capacity = capacity_;
  count = 0;
  nodes.assign(static_cast<size_t>(capacity) * jobs * kJobShopFeatures, 0.0f);
  mask.assign(static_cast<size_t>(capacity) * jobs, 0);
  actions.assign(static_cast<size_t>(capacity), 0);
  row.assign(static_cast<size_t>(capacity), 0);
  logp.assign(static_cast<size_t>(capacity), 0.0f);
}

JobShopPolicy::JobShopPolicy(const ReencodingModel& model, Parameters& params, int max_rows, int max_jobs,
                             int max_machines)
    : model_(model), params_(params), max_rows_(max_rows), max_jobs_(max_jobs), max_machines_(max_machines) {
  if (max_rows < 1 || max_jobs < 2 || max_machines < 1)
    throw std::invalid_argument("JobShopPolicy: capacities must be >= 1 (jobs >= 2)");
  if (model.spec().node_dim != kJobShopFeatures)
    throw std::invalid_argument("JobShopPolicy: the model reads " + std::to_string(model.spec().node_dim) +
                                " features per node, job-shop gives " + std::to_string(kJobShopFeatures));
  const int M = model.spec().n_heads;
  var_rows_ = graph_.size_var("rows", max_rows);
  var_jobs_ = graph_.size_var("jobs", max_jobs);
  const Dim R = graph_.dim(var_rows_), N = graph_.dim(var_jobs_);
  in_ = model.declare_inputs(graph_, R, N);
  nodes_buf_.assign(static_cast<size_t>(max_rows) * max_jobs * kJobShopFeatures, 0.0f);
  mask_buf_.assign(static_cast<size_t>(max_rows) * max_jobs, 1);
  gmask_buf_.assign(static_cast<size_t>(max_rows) * M * max_jobs, 1);
  actions_buf_.assign(static_cast<size_t>(max_rows), 0);
  adv_buf_.assign(static_cast<size_t>(max_rows), 0.0f);
  graph_.bind(in_.nodes, nodes_buf_.data());
  graph_.bind_int(in_.mask, mask_buf_.data());
  graph_.bind_int(in_.glimpse_mask, gmask_buf_.data());
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
  rows_.allocate(max_jobs, max_machines, max_rows);
  state_.reset(rows_);  // the state's buffers at their largest
  scale_.assign(static_cast<size_t>(max_rows), 1.0f);
  allowed_.assign(static_cast<size_t>(max_rows), 0);
}

void JobShopPolicy::load_rows(int rows, int jobs) {
  graph_.set_size(var_rows_, rows);
  graph_.set_size(var_jobs_, jobs);
  // The glimpse mask is the action mask for every head.
  const int M = model_.spec().n_heads;
  for (int r = 0; r < rows; ++r)
    for (int h = 0; h < M; ++h)
      std::copy(&mask_buf_[static_cast<size_t>(r) * jobs], &mask_buf_[static_cast<size_t>(r) * jobs] + jobs,
                &gmask_buf_[(static_cast<size_t>(r) * M + h) * jobs]);
}

void JobShopPolicy::rollout(const JobShopBatch& source, const int* inst, int rows, const int* starts, bool greedy,
                            Rng* rng, double* makespans, DecisionRecord* record) {
  const int n = source.jobs, m = source.machines;
  if (rows < 1 || rows > max_rows_ || n < 2 || n > max_jobs_ || m < 1 || m > max_machines_)
    throw std::invalid_argument("JobShopPolicy::rollout: " + std::to_string(rows) + " trajectories of " +
                                std::to_string(n) + " x " + std::to_string(m) + " exceed the capacity (" +
                                std::to_string(max_rows_) + " of " + std::to_string(max_jobs_) + " x " +
                                std::to_string(max_machines_) + ")");
  if (!greedy && !rng) throw std::invalid_argument("JobShopPolicy::rollout: sampling needs an rng");
  if (record && record->jobs != n) throw std::invalid_argument("JobShopPolicy::rollout: record of another size");
  // One instance copy per row, in the policy's own batch (so the state never allocates again).
  const size_t ops = static_cast<size_t>(n) * m;
  rows_.jobs = n, rows_.machines = m, rows_.count = rows;
  for (int r = 0; r < rows; ++r) {
    std::copy(&source.machine[inst[r] * ops], &source.machine[inst[r] * ops] + ops, &rows_.machine[r * ops]);
    std::copy(&source.duration[inst[r] * ops], &source.duration[inst[r] * ops] + ops, &rows_.duration[r * ops]);
    scale_[r] = jobshop_scale(rows_, r);
  }
  state_.reset(rows_);
  const int F = kJobShopFeatures;
  const int decisions = n * m;  // every trajectory schedules every operation, one per decision
  for (int t = 0; t < decisions; ++t) {
    bool need_policy = false;
    for (int r = 0; r < rows; ++r) {
      const uint8_t* allowed = state_.mask(r);
      int count = 0;
      for (int j = 0; j < n; ++j) count += allowed[j];
      allowed_[r] = (t == 0 && starts && starts[r] >= 0) ? 0 : count;  // 0: forced first action
      if (allowed_[r] < 2) continue;
      need_policy = true;
      jobshop_features(state_, r, scale_[r], &nodes_buf_[static_cast<size_t>(r) * n * F]);
      for (int j = 0; j < n; ++j) mask_buf_[static_cast<size_t>(r) * n + j] = allowed[j];
    }
    if (need_policy) {
      // Rows that need no decision still go through the pass with whatever their buffers hold (a
      // valid earlier state or the initial ones): their output is not read.
      load_rows(rows, n);
      graph_.forward(logp_);
    }
    const float* lp = need_policy ? graph_.values(logp_) : nullptr;
    for (int r = 0; r < rows; ++r) {
      const uint8_t* allowed = state_.mask(r);
      int a = -1;
      if (allowed_[r] == 0) {
        a = starts[r];
        if (a < 0 || a >= n || !allowed[a])
          throw std::invalid_argument("JobShopPolicy::rollout: start job " + std::to_string(a) + " is not allowed");
      } else if (allowed_[r] == 1) {
        for (int j = 0; j < n && a < 0; ++j)
          if (allowed[j]) a = j;
      } else {
        const float* u = lp + static_cast<size_t>(r) * n;
        if (greedy) {
          for (int j = 0; j < n; ++j)
            if (allowed[j] && (a < 0 || u[j] > u[a])) a = j;
        } else {
          // Inverse-CDF draw over the allowed jobs; the last allowed job takes the rounding rest.
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
          if (record->count >= record->capacity) throw std::logic_error("JobShopPolicy::rollout: decision record full");
          const int d = record->count++;
          std::copy(&nodes_buf_[static_cast<size_t>(r) * n * F], &nodes_buf_[static_cast<size_t>(r) * n * F] + n * F,
                    &record->nodes[static_cast<size_t>(d) * n * F]);
          std::copy(&mask_buf_[static_cast<size_t>(r) * n], &mask_buf_[static_cast<size_t>(r) * n] + n,
                    &record->mask[static_cast<size_t>(d) * n]);
          record->actions[d] = a;
          record->row[d] = r;
          record->logp[d] = u[a];
        }
      }
      state_.step(r, a);
    }
  }
  for (int r = 0; r < rows; ++r) makespans[r] = state_.lower_bound(r);
}

double JobShopPolicy::accumulate(const DecisionRecord& record, int first, int count, const float* adv, float scale,
                                 float* logp_out) {
  if (count < 1 || count > max_rows_ || first < 0 || first + count > record.count)
    throw std::invalid_argument("JobShopPolicy::accumulate: decisions out of range");
  const int n = record.jobs, F = kJobShopFeatures;
  std::copy(&record.nodes[static_cast<size_t>(first) * n * F], &record.nodes[static_cast<size_t>(first + count) * n * F],
            nodes_buf_.begin());
  std::copy(&record.mask[static_cast<size_t>(first) * n], &record.mask[static_cast<size_t>(first + count) * n],
            mask_buf_.begin());
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

double solve_jobshop_instances(const ReencodingModel& model, Parameters& params, const std::vector<AnyInstance>& instances,
                               const DecodeOptions& options, uint64_t seed, std::vector<std::vector<int>>& solutions,
                               std::vector<double>& objectives) {
  if (options.kind == DecodeKind::MultistartAug8)
    throw ComboError("decode multistart_aug8: the x8 augmentation is the unit square's symmetries (tsp, cvrp); jobshop "
                     "decodes greedy, sample:N or multistart");
  solutions.assign(instances.size(), {});
  objectives.assign(instances.size(), 0.0);
  for (const AnyInstance& inst : instances) {
    if (kind_of(inst) != ProblemKind::JobShop)
      throw ComboError(std::string("the policy solves jobshop, not ") + problem_name(kind_of(inst)));
    const auto& js = std::get<JobShopInstance>(inst);
    if (js.jobs < 2 || js.machines < 1)
      throw ComboError("the policy dispatches jobs: an instance needs at least 2 jobs and 1 machine, got " +
                       std::to_string(js.jobs) + " x " + std::to_string(js.machines));
  }
  Rng rng(seed);
  const auto t0 = std::chrono::steady_clock::now();
  // Consecutive instances of one size decode together: every (instance, trajectory) is a row, rows
  // go through the policy in chunks (fewer rows for more jobs: the attention buffers grow with
  // rows x jobs^2).
  size_t first = 0;
  while (first < instances.size()) {
    const auto& head = std::get<JobShopInstance>(instances[first]);
    size_t last = first + 1;
    while (last < instances.size() && std::get<JobShopInstance>(instances[last]).jobs == head.jobs &&
           std::get<JobShopInstance>(instances[last]).machines == head.machines)
      ++last;
    std::vector<JobShopInstance> group;
    for (size_t k = first; k < last; ++k) group.push_back(std::get<JobShopInstance>(instances[k]));
    const JobShopBatch batch = JobShopBatch::from_instances(group);
    const int n = head.jobs, count = static_cast<int>(group.size());
    const int per = options.kind == DecodeKind::Greedy ? 1 : options.kind == DecodeKind::Sample ? options.samples : n;
    const bool greedy = options.kind != DecodeKind::Sample;
    std::vector<int> inst, starts;
    for (int i = 0; i < count; ++i)
      for (int s = 0; s < per; ++s) {
        inst.push_back(i);
        starts.push_back(options.kind == DecodeKind::Greedy ? jobshop_single_start(batch, i) : s % n);
      }
    const int total = static_cast<int>(inst.size());
    const int cap = std::max(1, std::min({256, 16384 / n, total}));
    JobShopPolicy policy(model, params, cap, n, head.machines);
    std::vector<double> makespans(static_cast<size_t>(cap));
    std::vector<double> best(static_cast<size_t>(count), std::numeric_limits<double>::infinity());
    for (int r0 = 0; r0 < total; r0 += cap) {
      const int rows = std::min(cap, total - r0);
      policy.rollout(batch, &inst[r0], rows, &starts[r0], greedy, &rng, makespans.data());
      for (int r = 0; r < rows; ++r) {
        const int i = inst[r0 + r];
        if (makespans[r] < best[i]) {
          best[i] = makespans[r];
          solutions[first + i] = policy.state().schedule(r);
        }
      }
    }
    for (int i = 0; i < count; ++i) objectives[first + i] = check_solution(instances[first + i], solutions[first + i]);
    first = last;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace pl::combo
