#include "core/combo/tsp_policy.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <string>

namespace pl::combo {

TspReencodingProblem::TspReencodingProblem(int max_rows, int max_n) : max_rows_(max_rows), max_n_(max_n) {
  inst_.assign(static_cast<size_t>(max_rows), 0);
  steps_.assign(static_cast<size_t>(max_rows), 0);
  tour_.assign(static_cast<size_t>(max_rows) * max_n, 0);
  visited_.assign(static_cast<size_t>(max_rows) * max_n, 0);
}

void TspReencodingProblem::set_source(const PolicyBatch& source) {
  if (source.kind != ProblemKind::Tsp)
    throw ComboError(std::string("the TSP re-encoding policy reads tsp instances, not ") + problem_name(source.kind));
  if (source.n < 2 || source.n > max_n_)
    throw ComboError("the TSP re-encoding policy was built for 2 to " + std::to_string(max_n_) + " cities, got " +
                     std::to_string(source.n));
  source_ = &source;
}

void TspReencodingProblem::load(const int* inst, int rows) {
  if (!source_) throw ComboError("TspReencodingProblem: no source batch");
  if (rows > max_rows_) throw ComboError("TspReencodingProblem: more rows than its capacity");
  n_ = source_->n;
  for (int r = 0; r < rows; ++r) {
    if (inst[r] < 0 || inst[r] >= source_->count) throw ComboError("TspReencodingProblem: instance out of range");
    inst_[r] = inst[r];
    steps_[r] = 0;
    std::fill_n(&visited_[static_cast<size_t>(r) * max_n_], n_, uint8_t{0});
  }
}

int TspReencodingProblem::mask(int r, int32_t* out) {
  const uint8_t* v = &visited_[static_cast<size_t>(r) * max_n_];
  for (int j = 0; j < n_; ++j) out[j] = !v[j];
  return n_ - steps_[r];
}

void TspReencodingProblem::features(int r, float* out) {
  const float* p = xy(r);
  const int first = steps_[r] > 0 ? tour(r)[0] : -1, current = steps_[r] > 0 ? tour(r)[steps_[r] - 1] : -1;
  for (int j = 0; j < n_; ++j) {
    float* f = out + static_cast<size_t>(j) * kTspReencodingFeatures;
    f[0] = p[2 * j];
    f[1] = p[2 * j + 1];
    f[2] = j == current ? 1.0f : 0.0f;
    f[3] = j == first ? 1.0f : 0.0f;
  }
}

void TspReencodingProblem::encoder_mask(int r, int32_t* out) {
  const uint8_t* v = &visited_[static_cast<size_t>(r) * max_n_];
  for (int j = 0; j < n_; ++j) out[j] = !v[j];
  if (steps_[r] > 0) out[tour(r)[0]] = out[tour(r)[steps_[r] - 1]] = 1;
}

void TspReencodingProblem::step(int r, int city) {
  uint8_t* v = &visited_[static_cast<size_t>(r) * max_n_];
  if (city < 0 || city >= n_ || v[city]) throw ComboError("TspReencodingProblem: city " + std::to_string(city) + " is not allowed");
  v[city] = 1;
  tour_[static_cast<size_t>(r) * max_n_ + steps_[r]++] = city;
}

double TspReencodingProblem::objective(int r) const { return tour_length_xy(xy(r), n_, tour(r)); }

double solve_tsp_reencoding_instances(const ReencodingModel& model, Parameters& params,
                                      const std::vector<AnyInstance>& instances, const DecodeOptions& options,
                                      uint64_t seed, std::vector<std::vector<int>>& solutions,
                                      std::vector<double>& objectives) {
  solutions.assign(instances.size(), {});
  objectives.assign(instances.size(), 0.0);
  for (const AnyInstance& inst : instances) {
    if (kind_of(inst) != ProblemKind::Tsp)
      throw ComboError(std::string("the policy solves tsp, not ") + problem_name(kind_of(inst)));
    if (std::get<TspInstance>(inst).n < 2)
      throw ComboError("the policy builds tours: an instance needs at least 2 cities, got " +
                       std::to_string(std::get<TspInstance>(inst).n));
  }
  Rng rng(seed);
  const auto t0 = std::chrono::steady_clock::now();
  const int copies = options.kind == DecodeKind::MultistartAug8 ? 8 : 1;
  auto same = [](const AnyInstance& a, const AnyInstance& b) {
    return std::get<TspInstance>(a).n == std::get<TspInstance>(b).n;
  };
  // Consecutive instances of one size decode together; copy k of instance i (the k-th symmetry of
  // the square) is row instance k * count + i of one batch.
  for_each_run(instances, same, [&](size_t first, size_t last) {
    const int n = std::get<TspInstance>(instances[first]).n, count = static_cast<int>(last - first);
    PolicyBatch batch;
    batch.allocate(ProblemKind::Tsp, n, count * copies);
    for (int i = 0; i < count; ++i) {
      set_policy_instance(batch, i, instances[first + i]);
      const float* f = batch.instance_features(i);
      for (int k = 1; k < copies; ++k) {
        float* g = &batch.features[static_cast<size_t>(k * count + i) * n * 2];
        for (int j = 0; j < n; ++j) dihedral(k, f[2 * j], f[2 * j + 1], g[2 * j], g[2 * j + 1]);
      }
    }
    const int per = options.kind == DecodeKind::Greedy ? 1 : options.kind == DecodeKind::Sample ? options.samples : n;
    const bool greedy = options.kind != DecodeKind::Sample;
    // Fewer rows for more cities: the attention buffers grow with rows x cities^2.
    const int cap = std::max(1, std::min({256, 16384 / n, count * copies * per}));
    TspReencodingPolicy policy(model, params, cap, n, n);
    policy.problem().set_source(batch);
    std::vector<double> best_copy(static_cast<size_t>(count) * copies),
        best(static_cast<size_t>(count), std::numeric_limits<double>::infinity());
    decode_best(
        policy.policy(), count * copies, per, greedy, /*maximize=*/false, rng,
        [&](int i, int s) { return options.kind == DecodeKind::Greedy ? single_start(batch, i) : s % n; },
        [&](int r, int i) {
          const int orig = i % count;
          const double length = policy.problem().objective(r);
          if (length < best[orig]) {
            best[orig] = length;
            solutions[first + orig].assign(policy.problem().tour(r), policy.problem().tour(r) + n);
          }
        },
        best_copy.data());
    for (int i = 0; i < count; ++i) objectives[first + i] = check_solution(instances[first + i], solutions[first + i]);
  });
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace pl::combo
