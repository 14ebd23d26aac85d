#include "core/combo/knapsack.hpp"

#include <algorithm>
#include <numeric>

namespace pl::combo {

KnapsackInstance KnapsackBatch::instance(int i) const {
  KnapsackInstance inst;
  inst.n = n;
  inst.capacity = capacity;
  inst.weight.assign(weight.begin() + static_cast<ptrdiff_t>(i) * n, weight.begin() + static_cast<ptrdiff_t>(i + 1) * n);
  inst.value.assign(value.begin() + static_cast<ptrdiff_t>(i) * n, value.begin() + static_cast<ptrdiff_t>(i + 1) * n);
  return inst;
}

KnapsackBatch KnapsackBatch::from_instances(const std::vector<KnapsackInstance>& instances) {
  KnapsackBatch batch;
  batch.count = static_cast<int>(instances.size());
  if (!instances.empty()) {
    batch.n = instances[0].n;
    batch.capacity = instances[0].capacity;
  }
  for (const KnapsackInstance& inst : instances) {
    if (inst.n != batch.n || inst.capacity != batch.capacity)
      throw ComboError("knapsack: a batch holds instances of one size and one capacity");
    batch.weight.insert(batch.weight.end(), inst.weight.begin(), inst.weight.end());
    batch.value.insert(batch.value.end(), inst.value.begin(), inst.value.end());
  }
  return batch;
}

double knapsack_capacity_for(int n) { return n >= 100 ? 25.0 : n / 4.0; }

KnapsackBatch generate_knapsack(int n, int count, uint64_t seed) {
  if (n < kMinGeneratedSize || n > kMaxGeneratedSize)
    throw ComboError("knapsack: the generator makes instances of " + std::to_string(kMinGeneratedSize) + " to " +
                     std::to_string(kMaxGeneratedSize) + " items (as training), got n = " + std::to_string(n));
  const double capacity = knapsack_capacity_for(n);
  if (count < 1) throw ComboError("knapsack: count must be >= 1, got " + std::to_string(count));
  Rng rng = instance_stream(seed, ProblemKind::Knapsack);
  KnapsackBatch batch;
  batch.n = n;
  batch.count = count;
  batch.capacity = capacity;
  batch.weight.resize(static_cast<size_t>(count) * n);
  batch.value.resize(static_cast<size_t>(count) * n);
  for (size_t k = 0; k < batch.weight.size(); ++k) {
    // A zero weight would make the value/weight ratio infinite; 2^-53 is the smallest draw.
    batch.weight[k] = std::max(rng.uniform(), 1.0 / 9007199254740992.0);
    batch.value[k] = rng.uniform();
  }
  return batch;
}

double knapsack_check(const KnapsackInstance& inst, const std::vector<int>& items) {
  std::vector<uint8_t> seen(static_cast<size_t>(inst.n), 0);
  double weight = 0, value = 0;
  for (int k : items) {
    if (k < 0 || k >= inst.n) throw ComboError("knapsack: item " + std::to_string(k) + " is not in [0, " + std::to_string(inst.n) + ")");
    if (seen[k]) throw ComboError("knapsack: item " + std::to_string(k) + " is chosen twice");
    seen[k] = 1;
    weight += inst.weight[k];
    value += inst.value[k];
  }
  if (weight > inst.capacity)
    throw ComboError("knapsack: chosen weight " + format_number(weight) + " exceeds the capacity " + format_number(inst.capacity));
  return value;
}

std::vector<KnapsackInstance> read_knapsack_dataset(const std::string& text, const std::string& file) {
  std::vector<KnapsackInstance> instances;
  for (const DataLine& line : read_data_lines(text, file, ProblemKind::Knapsack)) {
    KnapsackInstance inst;
    inst.n = line.integer(0, "n (the number of items)", 1, 1000000);
    line.expect_count(2 * static_cast<size_t>(inst.n) + 2, "n, capacity, then weight value of each of the n items");
    inst.capacity = line.real(1, "capacity", 0, 1e300);
    inst.weight.resize(inst.n);
    inst.value.resize(inst.n);
    for (int k = 0; k < inst.n; ++k) {
      const std::string wname = "weight of item " + std::to_string(k + 1);
      const std::string vname = "value of item " + std::to_string(k + 1);
      inst.weight[k] = line.numbers[2 + 2 * k];
      if (!(inst.weight[k] > 0)) line.fail(wname + " must be > 0, got " + format_number(inst.weight[k]));
      inst.value[k] = line.real(3 + 2 * k, vname.c_str(), 0, 1e300);
    }
    instances.push_back(std::move(inst));
  }
  return instances;
}

std::string write_knapsack_dataset(const std::vector<KnapsackInstance>& instances) {
  std::string out;
  for (const KnapsackInstance& inst : instances) {
    out += std::to_string(inst.n) + " " + format_number(inst.capacity);
    for (int k = 0; k < inst.n; ++k) out += " " + format_number(inst.weight[k]) + " " + format_number(inst.value[k]);
    out += "\n";
  }
  return out;
}

// ---- Decoding state ----

void KnapsackState::reset(const KnapsackBatch& batch) {
  batch_ = &batch;
  count_ = batch.count;
  n_ = batch.n;
  mask_.assign(static_cast<size_t>(count_) * n_, 0);
  taken_.assign(static_cast<size_t>(count_) * n_, 0);
  allowed_.assign(count_, 0);
  remaining_.assign(count_, batch.capacity);
  value_.assign(count_, 0.0);
  for (int i = 0; i < count_; ++i) update_mask(i);
}

void KnapsackState::update_mask(int i) {
  const size_t base = static_cast<size_t>(i) * n_;
  int allowed = 0;
  for (int k = 0; k < n_; ++k) {
    const bool ok = !taken_[base + k] && batch_->weight[base + k] <= remaining_[i];
    mask_[base + k] = ok;
    allowed += ok;
  }
  allowed_[i] = allowed;
}

void KnapsackState::step(int i, int item) {
  if (i < 0 || i >= count_) throw ComboError("knapsack: instance " + std::to_string(i) + " is not in the batch");
  const size_t base = static_cast<size_t>(i) * n_;
  if (item < 0 || item >= n_ || !mask_[base + item])
    throw ComboError("knapsack: item " + std::to_string(item) + " is not allowed now in instance " + std::to_string(i));
  taken_[base + item] = 1;
  remaining_[i] -= batch_->weight[base + item];
  value_[i] += batch_->value[base + item];
  update_mask(i);
}

void KnapsackState::step_all(const int* actions) {
  for (int i = 0; i < count_; ++i)
    if (!done(i)) step(i, actions[i]);
}

bool KnapsackState::all_done() const {
  for (int i = 0; i < count_; ++i)
    if (!done(i)) return false;
  return true;
}

// ---- Solvers ----

namespace {

// Items in decreasing value/weight (ties by index, for determinism).
std::vector<int> by_ratio(const KnapsackInstance& inst) {
  std::vector<int> order(inst.n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return inst.value[a] * inst.weight[b] > inst.value[b] * inst.weight[a];
  });
  return order;
}

struct BranchAndBound {
  const KnapsackInstance& inst;
  std::vector<int> order;
  std::vector<uint8_t> chosen, best_chosen;
  double best = -1;
  long long nodes = 0, max_nodes;

  // Dantzig's bound from position k with `room` left: whole items in ratio order, then the
  // fraction of the first that does not fit.
  double bound(size_t k, double room) const {
    double total = 0;
    for (; k < order.size(); ++k) {
      const int item = order[k];
      if (inst.weight[item] <= room) {
        room -= inst.weight[item];
        total += inst.value[item];
      } else {
        return total + inst.value[item] * (room / inst.weight[item]);
      }
    }
    return total;
  }

  void search(size_t k, double room, double value) {
    if (++nodes > max_nodes) {
      throw ComboError("knapsack: branch-and-bound gave up after " + std::to_string(max_nodes) + " nodes on " +
                       std::to_string(inst.n) + " items");
    }
    if (value > best) {
      best = value;
      best_chosen = chosen;
    }
    if (k == order.size()) return;
    // Prune when even the relaxation cannot beat the incumbent strictly.
    if (value + bound(k, room) <= best) return;
    const int item = order[k];
    if (inst.weight[item] <= room) {  // take it first: the greedy dive finds a good incumbent fast
      chosen[item] = 1;
      search(k + 1, room - inst.weight[item], value + inst.value[item]);
      chosen[item] = 0;
    }
    search(k + 1, room, value);
  }
};

std::vector<int> items_of(const std::vector<uint8_t>& chosen) {
  std::vector<int> items;
  for (size_t k = 0; k < chosen.size(); ++k)
    if (chosen[k]) items.push_back(static_cast<int>(k));
  return items;
}

}  // namespace

std::vector<int> knapsack_branch_and_bound(const KnapsackInstance& inst, long long max_nodes) {
  BranchAndBound bb{inst, by_ratio(inst), {}, {}, -1, 0, max_nodes};
  bb.chosen.assign(inst.n, 0);
  bb.best_chosen.assign(inst.n, 0);
  bb.search(0, inst.capacity, 0.0);
  return items_of(bb.best_chosen);
}

std::vector<int> knapsack_greedy(const KnapsackInstance& inst) {
  std::vector<uint8_t> chosen(inst.n, 0);
  double room = inst.capacity;
  for (int item : by_ratio(inst)) {
    if (inst.weight[item] <= room) {
      chosen[item] = 1;
      room -= inst.weight[item];
    }
  }
  return items_of(chosen);
}

}  // namespace pl::combo
