#include "core/combo/binpack.hpp"

#include <algorithm>

namespace pl::combo {

// ---- 1-D ----

BinPack1DInstance BinPack1DBatch::instance(int i) const {
  BinPack1DInstance inst;
  inst.n = n;
  inst.capacity = capacity;
  inst.size.assign(size.begin() + static_cast<ptrdiff_t>(i) * n, size.begin() + static_cast<ptrdiff_t>(i + 1) * n);
  return inst;
}

BinPack1DBatch BinPack1DBatch::from_instances(const std::vector<BinPack1DInstance>& instances) {
  BinPack1DBatch batch;
  batch.count = static_cast<int>(instances.size());
  if (!instances.empty()) {
    batch.n = instances[0].n;
    batch.capacity = instances[0].capacity;
  }
  for (const BinPack1DInstance& inst : instances) {
    if (inst.n != batch.n || inst.capacity != batch.capacity)
      throw ComboError("binpack1d: a batch holds instances of one size and one capacity");
    batch.size.insert(batch.size.end(), inst.size.begin(), inst.size.end());
  }
  return batch;
}

BinPack1DBatch generate_binpack1d(int n, int count, uint64_t seed) {
  if (n < 1 || n > 100000) throw ComboError("binpack1d: n must be in [1, 100000], got " + std::to_string(n));
  if (count < 1) throw ComboError("binpack1d: count must be >= 1, got " + std::to_string(count));
  Rng rng = instance_stream(seed, ProblemKind::BinPack1D);
  BinPack1DBatch batch;
  batch.allocate(n, count);
  batch.draw(rng, 0, count);
  return batch;
}

void BinPack1DBatch::allocate(int n_, int count_) {
  n = n_;
  count = count_;
  capacity = 150;
  size.assign(static_cast<size_t>(count) * n, 1);
}

void BinPack1DBatch::draw(Rng& rng, int first, int k) {
  for (size_t j = static_cast<size_t>(first) * n; j < static_cast<size_t>(first + k) * n; ++j)
    size[j] = 20 + static_cast<int>(rng.below(81));
}

int binpack1d_check(const BinPack1DInstance& inst, const std::vector<int>& bin_of_item) {
  if (static_cast<int>(bin_of_item.size()) != inst.n)
    throw ComboError("binpack1d: expected a bin for each of " + std::to_string(inst.n) + " items, got " +
                     std::to_string(bin_of_item.size()));
  std::vector<long long> load;
  for (int k = 0; k < inst.n; ++k) {
    const int b = bin_of_item[k];
    if (b < 0 || b > static_cast<int>(load.size()))
      throw ComboError("binpack1d: item " + std::to_string(k) + " goes to bin " + std::to_string(b) +
                       "; bins are numbered in opening order from 0");
    if (b == static_cast<int>(load.size())) load.push_back(0);
    load[b] += inst.size[k];
    if (load[b] > inst.capacity)
      throw ComboError("binpack1d: bin " + std::to_string(b) + " overflows at item " + std::to_string(k));
  }
  return static_cast<int>(load.size());
}

int binpack1d_lower_bound(const BinPack1DInstance& inst) {
  long long total = 0;
  for (int s : inst.size) total += s;
  return static_cast<int>((total + inst.capacity - 1) / inst.capacity);
}

std::vector<BinPack1DInstance> read_binpack1d_dataset(const std::string& text, const std::string& file) {
  std::vector<BinPack1DInstance> instances;
  for (const DataLine& line : read_data_lines(text, file, ProblemKind::BinPack1D)) {
    BinPack1DInstance inst;
    inst.n = line.integer(0, "n (the number of items)", 1, 1000000);
    line.expect_count(static_cast<size_t>(inst.n) + 2, "n, capacity, then the size of each of the n items");
    inst.capacity = line.integer(1, "capacity", 1, 1000000000);
    inst.size.resize(inst.n);
    for (int k = 0; k < inst.n; ++k) {
      const std::string what = "size of item " + std::to_string(k + 1);
      inst.size[k] = line.integer(2 + k, what.c_str(), 1, inst.capacity);
    }
    instances.push_back(std::move(inst));
  }
  return instances;
}

std::string write_binpack1d_dataset(const std::vector<BinPack1DInstance>& instances) {
  std::string out;
  for (const BinPack1DInstance& inst : instances) {
    out += std::to_string(inst.n) + " " + std::to_string(inst.capacity);
    for (int s : inst.size) out += " " + std::to_string(s);
    out += "\n";
  }
  return out;
}

void BinPack1DState::reset(const BinPack1DBatch& batch) {
  batch_ = &batch;
  count_ = batch.count;
  n_ = batch.n;
  mask_.assign(static_cast<size_t>(count_) * n_, 0);
  load_.assign(static_cast<size_t>(count_) * n_, 0);
  bin_of_.assign(static_cast<size_t>(count_) * n_, -1);
  open_.assign(count_, 0);
  placed_.assign(count_, 0);
  for (int i = 0; i < count_; ++i) update_mask(i);
}

void BinPack1DState::update_mask(int i) {
  uint8_t* m = &mask_[static_cast<size_t>(i) * n_];
  std::fill(m, m + n_, 0);
  if (done(i)) return;
  const int size = item_size(i);
  const int* load = &load_[static_cast<size_t>(i) * n_];
  for (int b = 0; b < open_[i]; ++b) m[b] = load[b] + size <= batch_->capacity;
  m[open_[i]] = 1;  // open_ <= placed_ < n_, so the new-bin action exists
}

double BinPack1DState::step(int i, int bin) {
  if (i < 0 || i >= count_) throw ComboError("binpack1d: instance " + std::to_string(i) + " is not in the batch");
  if (bin < 0 || bin >= n_ || !mask_[static_cast<size_t>(i) * n_ + bin])
    throw ComboError("binpack1d: bin " + std::to_string(bin) + " is not allowed for item " + std::to_string(placed_[i]) +
                     " of instance " + std::to_string(i));
  const double reward = bin == open_[i] ? -1.0 : 0.0;
  if (bin == open_[i]) ++open_[i];
  load_[static_cast<size_t>(i) * n_ + bin] += item_size(i);
  bin_of_[static_cast<size_t>(i) * n_ + placed_[i]] = bin;
  ++placed_[i];
  update_mask(i);
  return reward;
}

bool BinPack1DState::all_done() const {
  for (int i = 0; i < count_; ++i)
    if (!done(i)) return false;
  return true;
}

namespace {
template <typename Choose>
std::vector<int> pack1d(const BinPack1DInstance& inst, Choose choose) {
  const BinPack1DBatch batch = BinPack1DBatch::from_instances({inst});
  BinPack1DState state;
  state.reset(batch);
  while (!state.done(0)) state.step(0, choose(state));
  return std::vector<int>(state.assignment(0), state.assignment(0) + inst.n);
}
}  // namespace

std::vector<int> binpack1d_first_fit(const BinPack1DInstance& inst) {
  return pack1d(inst, [](const BinPack1DState& s) {
    const uint8_t* m = s.mask(0);
    int b = 0;
    while (!m[b]) ++b;  // the new-bin action is always allowed
    return b;
  });
}

std::vector<int> binpack1d_best_fit(const BinPack1DInstance& inst) {
  return pack1d(inst, [](const BinPack1DState& s) {
    const uint8_t* m = s.mask(0);
    int best = s.open_bins(0);
    for (int b = 0; b < s.open_bins(0); ++b)
      if (m[b] && (best == s.open_bins(0) || s.load(0, b) > s.load(0, best))) best = b;
    return best;
  });
}

// ---- 3-D ----

BinPack3DInstance BinPack3DBatch::instance(int i) const {
  BinPack3DInstance inst;
  inst.n = n;
  inst.length = length;
  inst.width = width;
  inst.height = height;
  inst.item.assign(item.begin() + static_cast<ptrdiff_t>(i) * n * 3, item.begin() + static_cast<ptrdiff_t>(i + 1) * n * 3);
  return inst;
}

BinPack3DBatch BinPack3DBatch::from_instances(const std::vector<BinPack3DInstance>& instances) {
  BinPack3DBatch batch;
  batch.count = static_cast<int>(instances.size());
  if (!instances.empty()) {
    batch.n = instances[0].n;
    batch.length = instances[0].length;
    batch.width = instances[0].width;
    batch.height = instances[0].height;
  }
  for (const BinPack3DInstance& inst : instances) {
    if (inst.n != batch.n || inst.length != batch.length || inst.width != batch.width || inst.height != batch.height)
      throw ComboError("binpack3d: a batch holds instances of one size and one bin");
    batch.item.insert(batch.item.end(), inst.item.begin(), inst.item.end());
  }
  return batch;
}

BinPack3DBatch generate_binpack3d(int n, int count, uint64_t seed) {
  if (n < 1 || n > 100000) throw ComboError("binpack3d: n must be in [1, 100000], got " + std::to_string(n));
  if (count < 1) throw ComboError("binpack3d: count must be >= 1, got " + std::to_string(count));
  Rng rng = instance_stream(seed, ProblemKind::BinPack3D);
  BinPack3DBatch batch;
  batch.allocate(n, count);
  batch.draw(rng, 0, count);
  return batch;
}

void BinPack3DBatch::allocate(int n_, int count_) {
  n = n_;
  count = count_;
  length = width = height = 10;
  item.assign(static_cast<size_t>(count) * n * 3, 1);
}

void BinPack3DBatch::draw(Rng& rng, int first, int k) {
  for (size_t j = static_cast<size_t>(first) * n * 3; j < static_cast<size_t>(first + k) * n * 3; ++j)
    item[j] = 2 + static_cast<int>(rng.below(4));
}

bool binpack3d_feasible(const int* heights, int L, int W, int H, int l, int w, int h, int x, int y, int& z) {
  if (x < 0 || y < 0 || x + l > L || y + w > W) return false;
  int top = 0;
  for (int a = x; a < x + l; ++a)
    for (int b = y; b < y + w; ++b) top = std::max(top, heights[a * W + b]);
  z = top;
  if (top + h > H) return false;
  if (top == 0) return true;  // on the floor
  int supported = 0;
  for (int a = x; a < x + l; ++a)
    for (int b = y; b < y + w; ++b) supported += heights[a * W + b] == top;
  const int corners = (heights[x * W + y] == top) + (heights[x * W + y + w - 1] == top) +
                      (heights[(x + l - 1) * W + y] == top) + (heights[(x + l - 1) * W + y + w - 1] == top);
  // Strict "more than" in integers: supported / area > p  <=>  100 * supported > p * area.
  const int area = l * w;
  return (100 * supported > 60 * area && corners == 4) || (100 * supported > 80 * area && corners >= 3) ||
         100 * supported > 95 * area;
}

namespace {
void check_item_sizes(const DataLine& line, BinPack3DInstance& inst) {
  for (int k = 0; k < inst.n; ++k) {
    const std::string l = "length of item " + std::to_string(k + 1), w = "width of item " + std::to_string(k + 1),
                      h = "height of item " + std::to_string(k + 1);
    inst.item[3 * k] = line.integer(4 + 3 * k, l.c_str(), 1, inst.length);
    inst.item[3 * k + 1] = line.integer(5 + 3 * k, w.c_str(), 1, inst.width);
    inst.item[3 * k + 2] = line.integer(6 + 3 * k, h.c_str(), 1, inst.height);
  }
}
}  // namespace

std::vector<BinPack3DInstance> read_binpack3d_dataset(const std::string& text, const std::string& file) {
  std::vector<BinPack3DInstance> instances;
  for (const DataLine& line : read_data_lines(text, file, ProblemKind::BinPack3D)) {
    BinPack3DInstance inst;
    inst.n = line.integer(0, "n (the number of items)", 1, 1000000);
    line.expect_count(3 * static_cast<size_t>(inst.n) + 4, "n, bin L W H, then l w h of each of the n items");
    inst.length = line.integer(1, "bin length L", 1, 100);
    inst.width = line.integer(2, "bin width W", 1, 100);
    inst.height = line.integer(3, "bin height H", 1, 100);
    inst.item.resize(3 * static_cast<size_t>(inst.n));
    check_item_sizes(line, inst);
    instances.push_back(std::move(inst));
  }
  return instances;
}

std::string write_binpack3d_dataset(const std::vector<BinPack3DInstance>& instances) {
  std::string out;
  for (const BinPack3DInstance& inst : instances) {
    out += std::to_string(inst.n) + " " + std::to_string(inst.length) + " " + std::to_string(inst.width) + " " +
           std::to_string(inst.height);
    for (int s : inst.item) out += " " + std::to_string(s);
    out += "\n";
  }
  return out;
}

double binpack3d_check(const BinPack3DInstance& inst, const std::vector<int>& placed) {
  if (placed.size() % 3 != 0 || static_cast<int>(placed.size() / 3) > inst.n)
    throw ComboError("binpack3d: a placement list has x y z for at most " + std::to_string(inst.n) + " items");
  const int L = inst.length, W = inst.width, H = inst.height;
  std::vector<int> heights(static_cast<size_t>(L) * W, 0);
  long long volume = 0;
  for (size_t k = 0; k < placed.size() / 3; ++k) {
    const int l = inst.item[3 * k], w = inst.item[3 * k + 1], h = inst.item[3 * k + 2];
    const int x = placed[3 * k], y = placed[3 * k + 1], z = placed[3 * k + 2];
    int rest = -1;
    if (!binpack3d_feasible(heights.data(), L, W, H, l, w, h, x, y, rest) || rest != z) {
      throw ComboError("binpack3d: item " + std::to_string(k) + " at (" + std::to_string(x) + ", " + std::to_string(y) +
                       ", " + std::to_string(z) + ") does not fit, floats or lacks support");
    }
    for (int a = x; a < x + l; ++a)
      for (int b = y; b < y + w; ++b) heights[a * W + b] = z + h;
    volume += static_cast<long long>(l) * w * h;
  }
  return static_cast<double>(volume) / (static_cast<double>(L) * W * H);
}

void BinPack3DState::reset(const BinPack3DBatch& batch) {
  batch_ = &batch;
  count_ = batch.count;
  n_ = batch.n;
  L_ = batch.length;
  W_ = batch.width;
  H_ = batch.height;
  mask_.assign(static_cast<size_t>(count_) * L_ * W_, 0);
  done_.assign(count_, 0);
  heights_.assign(static_cast<size_t>(count_) * L_ * W_, 0);
  placed_.assign(count_, 0);
  where_.assign(static_cast<size_t>(count_) * n_ * 3, -1);
  volume_.assign(count_, 0);
  for (int i = 0; i < count_; ++i) update_mask(i);
}

void BinPack3DState::update_mask(int i) {
  uint8_t* m = &mask_[static_cast<size_t>(i) * L_ * W_];
  std::fill(m, m + L_ * W_, 0);
  if (placed_[i] == n_) {
    done_[i] = 1;
    return;
  }
  const int* it = &batch_->item[(static_cast<size_t>(i) * n_ + placed_[i]) * 3];
  bool any = false;
  int z;
  for (int x = 0; x < L_; ++x)
    for (int y = 0; y < W_; ++y) {
      const bool ok = binpack3d_feasible(heights(i), L_, W_, H_, it[0], it[1], it[2], x, y, z);
      m[x * W_ + y] = ok;
      any = any || ok;
    }
  done_[i] = !any;
}

double BinPack3DState::step(int i, int action) {
  if (i < 0 || i >= count_) throw ComboError("binpack3d: instance " + std::to_string(i) + " is not in the batch");
  if (action < 0 || action >= L_ * W_ || !mask_[static_cast<size_t>(i) * L_ * W_ + action])
    throw ComboError("binpack3d: placement " + std::to_string(action) + " is not allowed for item " +
                     std::to_string(placed_[i]) + " of instance " + std::to_string(i));
  const int* it = &batch_->item[(static_cast<size_t>(i) * n_ + placed_[i]) * 3];
  const int x = action / W_, y = action % W_;
  int z = 0;
  int* hm = &heights_[static_cast<size_t>(i) * L_ * W_];
  binpack3d_feasible(hm, L_, W_, H_, it[0], it[1], it[2], x, y, z);
  for (int a = x; a < x + it[0]; ++a)
    for (int b = y; b < y + it[1]; ++b) hm[a * W_ + b] = z + it[2];
  int* w = &where_[(static_cast<size_t>(i) * n_ + placed_[i]) * 3];
  w[0] = x;
  w[1] = y;
  w[2] = z;
  const int volume = it[0] * it[1] * it[2];
  volume_[i] += volume;
  ++placed_[i];
  update_mask(i);
  return static_cast<double>(volume) / (L_ * W_ * H_);
}

bool BinPack3DState::all_done() const {
  for (int i = 0; i < count_; ++i)
    if (!done(i)) return false;
  return true;
}

namespace {
template <typename Choose>
std::vector<int> pack3d(const BinPack3DInstance& inst, Choose choose) {
  const BinPack3DBatch batch = BinPack3DBatch::from_instances({inst});
  BinPack3DState state;
  state.reset(batch);
  while (!state.done(0)) state.step(0, choose(state, batch));
  return std::vector<int>(state.placements(0), state.placements(0) + 3 * state.item(0));
}
}  // namespace

std::vector<int> binpack3d_first_fit(const BinPack3DInstance& inst) {
  return pack3d(inst, [](const BinPack3DState& s, const BinPack3DBatch&) {
    const uint8_t* m = s.mask(0);
    int a = 0;
    while (!m[a]) ++a;  // not done: some placement is allowed
    return a;
  });
}

std::vector<int> binpack3d_best_fit(const BinPack3DInstance& inst) {
  return pack3d(inst, [](const BinPack3DState& s, const BinPack3DBatch& b) {
    const uint8_t* m = s.mask(0);
    const int* it = &b.item[static_cast<size_t>(s.item(0)) * 3];
    int best = -1, best_top = 0, z = 0;
    for (int a = 0; a < s.actions(); ++a) {
      if (!m[a]) continue;
      binpack3d_feasible(s.heights(0), b.length, b.width, b.height, it[0], it[1], it[2], a / b.width, a % b.width, z);
      if (best < 0 || z + it[2] < best_top) {  // x-major scan: the first of equal tops has smaller x, y
        best = a;
        best_top = z + it[2];
      }
    }
    return best;
  });
}

}  // namespace pl::combo
