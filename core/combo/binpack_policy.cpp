#include "core/combo/binpack_policy.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

namespace pl::combo {

namespace {
constexpr int K1 = kBinPack1DSlots;
}

// ---- 1-D ----

BinPack1DProblem::BinPack1DProblem(int max_rows, int max_items) {
  if (max_rows < 1 || max_items < 1) throw std::invalid_argument("BinPack1DPolicy: capacities must be >= 1");
  rows_.allocate(max_items, max_rows);
  state_.reset(rows_);  // the state's buffers at their largest
  slot_bin_.assign(static_cast<size_t>(max_rows) * K1, -1);
  left_.assign(static_cast<size_t>(max_rows), 0);
}

void BinPack1DProblem::load(const int* inst, int rows) {
  const BinPack1DBatch& source = *source_;
  const int n = source.n;
  if (static_cast<size_t>(rows) * n > rows_.size.size() || rows > static_cast<int>(left_.size()))
    throw std::invalid_argument("BinPack1DPolicy: " + std::to_string(rows) + " rows of " + std::to_string(n) +
                                " items exceed the capacity");
  rows_.n = n, rows_.capacity = source.capacity, rows_.count = rows;
  for (int r = 0; r < rows; ++r) {
    const int* from = &source.size[static_cast<size_t>(inst[r]) * n];
    std::copy(from, from + n, &rows_.size[static_cast<size_t>(r) * n]);
    int total = 0;
    for (int k = 0; k < n; ++k) total += from[k];
    left_[r] = total;
  }
  state_.reset(rows_);
}

int BinPack1DProblem::mask(int r, int32_t* out) {
  // The open bins that fit the arriving item, fullest first (ties: lower number), into the slots.
  const uint8_t* fits = state_.mask(r);
  int* slots = &slot_bin_[static_cast<size_t>(r) * K1];
  const int open = state_.open_bins(r);
  int used = 0;
  for (int b = 0; b < open; ++b) {
    if (!fits[b]) continue;
    // Insertion into the sorted slots (at most K kept: the fullest).
    int at = used;
    while (at > 0 && state_.load(r, slots[at - 1]) < state_.load(r, b)) --at;
    if (at >= K1) continue;
    for (int k = std::min(used, K1 - 1); k > at; --k) slots[k] = slots[k - 1];
    slots[at] = b;
    used = std::min(used + 1, K1);
  }
  for (int k = used; k < K1; ++k) slots[k] = -1;
  for (int k = 0; k < K1; ++k) out[k] = k < used;
  out[K1] = 1;  // the new bin
  return used + 1;
}

void binpack1d_features(const BinPack1DState& st, int r, const int* slot_bin, int remaining_size, float* out) {
  const int n = st.actions(), C = st.capacity();
  const float inv = 1.0f / static_cast<float>(C);
  const int s = st.item_size(r);
  int free_total = 0;
  for (int b = 0; b < st.open_bins(r); ++b) free_total += C - st.load(r, b);
  const float common[] = {static_cast<float>(s) * inv, static_cast<float>(remaining_size) * inv,
                          static_cast<float>(n - st.item(r)) / static_cast<float>(n), static_cast<float>(free_total) * inv};
  for (int k = 0; k <= K1; ++k) {
    float* f = out + static_cast<size_t>(k) * kBinPack1DFeatures;
    const bool is_new = k == K1, real = is_new || slot_bin[k] >= 0;
    const int load = (is_new || !real) ? 0 : st.load(r, slot_bin[k]);
    const int free = real ? C - load : 0;
    f[0] = static_cast<float>(load) * inv;
    f[1] = static_cast<float>(free) * inv;
    f[2] = common[0];
    f[3] = real ? static_cast<float>(free - s) * inv : 0.0f;
    f[4] = real ? 1.0f : 0.0f;
    f[5] = is_new ? 1.0f : 0.0f;
    f[6] = common[1];
    f[7] = common[2];
    f[8] = common[3];
  }
}

void BinPack1DProblem::features(int r, float* out) {
  binpack1d_features(state_, r, &slot_bin_[static_cast<size_t>(r) * K1], left_[r], out);
}

void BinPack1DProblem::step(int r, int node) {
  const int bin = node == K1 ? state_.open_bins(r) : slot_bin_[static_cast<size_t>(r) * K1 + node];
  left_[r] -= state_.item_size(r);
  state_.step(r, bin);
}

// ---- 3-D ----

BinPack3DProblem::BinPack3DProblem(int max_rows, int max_items, int max_cells) {
  if (max_rows < 1 || max_items < 1 || max_cells < 1)
    throw std::invalid_argument("BinPack3DPolicy: capacities must be >= 1");
  rows_.allocate(max_items, max_rows);
  // The largest bin the rows will hold: a max_cells x 1 floor (any L x W <= max_cells fits its buffers).
  rows_.length = max_cells, rows_.width = 1;
  state_.reset(rows_);
  rows_.length = rows_.width = 10;
}

void BinPack3DProblem::load(const int* inst, int rows) {
  const BinPack3DBatch& source = *source_;
  const int n = source.n;
  rows_.n = n, rows_.length = source.length, rows_.width = source.width, rows_.height = source.height;
  rows_.count = rows;
  if (static_cast<size_t>(rows) * n * 3 > rows_.item.size())
    throw std::invalid_argument("BinPack3DPolicy: " + std::to_string(rows) + " rows of " + std::to_string(n) +
                                " items exceed the capacity");
  for (int r = 0; r < rows; ++r) {
    const int* from = &source.item[static_cast<size_t>(inst[r]) * n * 3];
    std::copy(from, from + 3 * n, &rows_.item[static_cast<size_t>(r) * n * 3]);
  }
  state_.reset(rows_);
}

int BinPack3DProblem::mask(int r, int32_t* out) {
  const uint8_t* m = state_.mask(r);
  const int cells = rows_.length * rows_.width;
  int count = 0;
  for (int a = 0; a < cells; ++a) count += out[a] = m[a];
  return count;
}

void binpack3d_features(const BinPack3DState& st, const BinPack3DBatch& b, int r, float* out) {
  const int L = b.length, W = b.width, H = b.height;
  const int* it = &b.item[(static_cast<size_t>(r) * b.n + st.item(r)) * 3];
  const int l = it[0], w = it[1], h = it[2];
  const int* hm = st.heights(r);
  const uint8_t* m = st.mask(r);
  const float iL = 1.0f / L, iW = 1.0f / W, iH = 1.0f / H;
  const float util = static_cast<float>(st.utilisation(r));
  for (int x = 0; x < L; ++x)
    for (int y = 0; y < W; ++y) {
      // The footprint's cells inside the bin (a corner near the far walls sees a clipped footprint).
      const int x1 = std::min(x + l, L), y1 = std::min(y + w, W);
      int z = 0, sum = 0;
      for (int a = x; a < x1; ++a)
        for (int c = y; c < y1; ++c) z = std::max(z, hm[a * W + c]), sum += hm[a * W + c];
      int support = 0;
      for (int a = x; a < x1; ++a)
        for (int c = y; c < y1; ++c) support += hm[a * W + c] == z;
      const int cells = (x1 - x) * (y1 - y);
      float* f = out + static_cast<size_t>(x * W + y) * kBinPack3DFeatures;
      f[0] = x * iL;
      f[1] = y * iW;
      f[2] = z * iH;
      f[3] = (z + h) * iH;
      f[4] = static_cast<float>(support) / static_cast<float>(l * w);
      f[5] = static_cast<float>(sum) / static_cast<float>(cells) * iH;
      f[6] = hm[x * W + y] * iH;
      f[7] = m[x * W + y] ? 1.0f : 0.0f;
      f[8] = l * iL;
      f[9] = w * iW;
      f[10] = h * iH;
      f[11] = util;
    }
}

void BinPack3DProblem::features(int r, float* out) { binpack3d_features(state_, rows_, r, out); }

// ---- solving instances ----

double solve_binpack_instances(ProblemKind kind, const ReencodingModel& model, Parameters& params,
                               const std::vector<AnyInstance>& instances, const DecodeOptions& options, uint64_t seed,
                               std::vector<std::vector<int>>& solutions, std::vector<double>& objectives) {
  const char* name = problem_name(kind);
  if (options.kind == DecodeKind::Multistart || options.kind == DecodeKind::MultistartAug8)
    throw ComboError(std::string("decode ") + options.text() + ": " + name +
                     " has no first action to force (its online items arrive in order); " + name +
                     " decodes greedy or sample:N");
  for (const AnyInstance& inst : instances)
    if (kind_of(inst) != kind) throw ComboError(std::string("the policy solves ") + name + ", not " + problem_name(kind_of(inst)));
  solutions.assign(instances.size(), {});
  objectives.assign(instances.size(), 0.0);
  Rng rng(seed);
  const auto t0 = std::chrono::steady_clock::now();
  const int per = options.kind == DecodeKind::Sample ? options.samples : 1;
  const bool greedy = options.kind != DecodeKind::Sample;
  auto no_start = [](int, int) { return -1; };
  if (kind == ProblemKind::BinPack1D) {
    auto same = [](const AnyInstance& a, const AnyInstance& b) {
      const auto &x = std::get<BinPack1DInstance>(a), &y = std::get<BinPack1DInstance>(b);
      return x.n == y.n && x.capacity == y.capacity;
    };
    for_each_run(instances, same, [&](size_t first, size_t last) {
      std::vector<BinPack1DInstance> group;
      for (size_t k = first; k < last; ++k) group.push_back(std::get<BinPack1DInstance>(instances[k]));
      const BinPack1DBatch batch = BinPack1DBatch::from_instances(group);
      const int count = static_cast<int>(group.size());
      BinPack1DPolicy policy(model, params, std::max(1, std::min(256, count * per)), K1 + 1, batch.n);
      policy.problem().set_source(batch);
      std::vector<double> best(static_cast<size_t>(count));
      decode_best(policy.policy(), count, per, greedy, /*maximize=*/false, rng, no_start,
                  [&](int r, int i) {
                    const int* a = policy.problem().state().assignment(r);
                    solutions[first + i].assign(a, a + batch.n);
                  },
                  best.data());
    });
  } else if (kind == ProblemKind::BinPack3D) {
    auto same = [](const AnyInstance& a, const AnyInstance& b) {
      const auto &x = std::get<BinPack3DInstance>(a), &y = std::get<BinPack3DInstance>(b);
      return x.n == y.n && x.length == y.length && x.width == y.width && x.height == y.height;
    };
    for_each_run(instances, same, [&](size_t first, size_t last) {
      std::vector<BinPack3DInstance> group;
      for (size_t k = first; k < last; ++k) group.push_back(std::get<BinPack3DInstance>(instances[k]));
      const BinPack3DBatch batch = BinPack3DBatch::from_instances(group);
      const int count = static_cast<int>(group.size()), cells = batch.length * batch.width;
      BinPack3DPolicy policy(model, params, std::max(1, std::min({256, 16384 / cells, count * per})), cells, batch.n,
                             cells);
      policy.problem().set_source(batch);
      std::vector<double> best(static_cast<size_t>(count));
      decode_best(policy.policy(), count, per, greedy, /*maximize=*/true, rng, no_start,
                  [&](int r, int i) {
                    const BinPack3DState& st = policy.problem().state();
                    solutions[first + i].assign(st.placements(r), st.placements(r) + 3 * st.item(r));
                  },
                  best.data());
    });
  } else {
    throw ComboError(std::string("solve_binpack_instances: ") + name + " is not a bin-packing problem");
  }
  for (size_t i = 0; i < instances.size(); ++i) objectives[i] = check_solution(instances[i], solutions[i]);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace pl::combo
