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

JobShopProblem::JobShopProblem(int max_rows, int max_jobs, int max_machines) {
  if (max_rows < 1 || max_jobs < 2 || max_machines < 1)
    throw std::invalid_argument("JobShopPolicy: capacities must be >= 1 (jobs >= 2)");
  rows_.allocate(max_jobs, max_machines, max_rows);
  state_.reset(rows_);  // the state's buffers at their largest
  scale_.assign(static_cast<size_t>(max_rows), 1.0f);
}

void JobShopProblem::load(const int* inst, int rows) {
  const JobShopBatch& source = *source_;
  const int n = source.jobs, m = source.machines;
  const size_t ops = static_cast<size_t>(n) * m;
  rows_.jobs = n, rows_.machines = m, rows_.count = rows;
  for (int r = 0; r < rows; ++r) {
    std::copy(&source.machine[inst[r] * ops], &source.machine[inst[r] * ops] + ops, &rows_.machine[r * ops]);
    std::copy(&source.duration[inst[r] * ops], &source.duration[inst[r] * ops] + ops, &rows_.duration[r * ops]);
    scale_[r] = jobshop_scale(rows_, r);
  }
  state_.reset(rows_);
}

int JobShopProblem::mask(int r, int32_t* out) {
  const uint8_t* allowed = state_.mask(r);
  int count = 0;
  for (int j = 0; j < rows_.jobs; ++j) count += out[j] = allowed[j];
  return count;
}

JobShopPolicy::JobShopPolicy(const ReencodingModel& model, Parameters& params, int max_rows, int max_jobs,
                             int max_machines)
    : SourcedPolicy(model, params, max_rows, max_jobs, max_jobs, max_machines),
      max_jobs_(max_jobs),
      max_machines_(max_machines) {}

void JobShopPolicy::rollout(const JobShopBatch& source, const int* inst, int rows, const int* starts, bool greedy,
                            Rng* rng, double* makespans, DecisionRecord* record) {
  const int n = source.jobs, m = source.machines;
  if (rows < 1 || rows > max_rows() || n < 2 || n > max_jobs_ || m < 1 || m > max_machines_)
    throw std::invalid_argument("JobShopPolicy::rollout: " + std::to_string(rows) + " trajectories of " +
                                std::to_string(n) + " x " + std::to_string(m) + " exceed the capacity (" +
                                std::to_string(max_rows()) + " of " + std::to_string(max_jobs_) + " x " +
                                std::to_string(max_machines_) + ")");
  SourcedPolicy::rollout(source, inst, rows, starts, greedy, rng, makespans, record);
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
  auto same = [](const AnyInstance& a, const AnyInstance& b) {
    const auto &x = std::get<JobShopInstance>(a), &y = std::get<JobShopInstance>(b);
    return x.jobs == y.jobs && x.machines == y.machines;
  };
  for_each_run(instances, same, [&](size_t first, size_t last) {
    const auto& head = std::get<JobShopInstance>(instances[first]);
    std::vector<JobShopInstance> group;
    for (size_t k = first; k < last; ++k) group.push_back(std::get<JobShopInstance>(instances[k]));
    const JobShopBatch batch = JobShopBatch::from_instances(group);
    const int n = head.jobs, count = static_cast<int>(group.size());
    const int per = options.kind == DecodeKind::Greedy ? 1 : options.kind == DecodeKind::Sample ? options.samples : n;
    const bool greedy = options.kind != DecodeKind::Sample;
    const int cap = std::max(1, std::min({256, 16384 / n, count * per}));
    JobShopPolicy policy(model, params, cap, n, head.machines);
    policy.problem().set_source(batch);
    std::vector<double> best(static_cast<size_t>(count));
    decode_best(
        policy.policy(), count, per, greedy, /*maximize=*/false, rng,
        [&](int i, int s) { return options.kind == DecodeKind::Greedy ? jobshop_single_start(batch, i) : s % n; },
        [&](int r, int i) { solutions[first + i] = policy.state().schedule(r); }, best.data());
    for (int i = 0; i < count; ++i) objectives[first + i] = check_solution(instances[first + i], solutions[first + i]);
  });
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace pl::combo
