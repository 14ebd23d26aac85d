#include "core/combo/cvrp.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace pl::combo {

CvrpInstance CvrpBatch::instance(int i) const {
  CvrpInstance inst;
  inst.n = n;
  inst.capacity = capacity;
  const size_t nodes = static_cast<size_t>(n) + 1;
  inst.xy.assign(xy.begin() + i * nodes * 2, xy.begin() + (i + 1) * nodes * 2);
  inst.demand.assign(demand.begin() + i * nodes, demand.begin() + (i + 1) * nodes);
  return inst;
}

CvrpBatch CvrpBatch::from_instances(const std::vector<CvrpInstance>& instances) {
  CvrpBatch batch;
  batch.count = static_cast<int>(instances.size());
  if (!instances.empty()) {
    batch.n = instances[0].n;
    batch.capacity = instances[0].capacity;
  }
  for (const CvrpInstance& inst : instances) {
    if (inst.n != batch.n || inst.capacity != batch.capacity)
      throw ComboError("cvrp: a batch holds instances of one size and one capacity");
    batch.xy.insert(batch.xy.end(), inst.xy.begin(), inst.xy.end());
    batch.demand.insert(batch.demand.end(), inst.demand.begin(), inst.demand.end());
  }
  return batch;
}

int cvrp_capacity_for(int n) {
  if (n <= 10) return 20;
  if (n <= 20) return 30;
  if (n <= 50) return 40;
  return 50;
}

CvrpBatch generate_cvrp(int n, int count, uint64_t seed) {
  if (n < kMinGeneratedSize || n > kMaxGeneratedSize)
    throw ComboError("cvrp: the generator makes instances of " + std::to_string(kMinGeneratedSize) + " to " +
                     std::to_string(kMaxGeneratedSize) + " customers (as training), got n = " + std::to_string(n));
  const int capacity = cvrp_capacity_for(n);
  if (count < 1) throw ComboError("cvrp: count must be >= 1, got " + std::to_string(count));
  Rng rng = instance_stream(seed, ProblemKind::Cvrp);
  CvrpBatch batch;
  batch.n = n;
  batch.count = count;
  batch.capacity = capacity;
  const size_t nodes = static_cast<size_t>(n) + 1;
  batch.xy.resize(count * nodes * 2);
  batch.demand.resize(count * nodes);
  for (int i = 0; i < count; ++i) {
    for (size_t c = 0; c < nodes; ++c) {
      batch.xy[(i * nodes + c) * 2] = rng.uniform();
      batch.xy[(i * nodes + c) * 2 + 1] = rng.uniform();
    }
    batch.demand[i * nodes] = 0;
    for (size_t c = 1; c < nodes; ++c) batch.demand[i * nodes + c] = 1 + static_cast<int>(rng.below(9));
  }
  return batch;
}

double cvrp_check(const CvrpInstance& inst, const std::vector<int>& solution) {
  if (solution.size() < 2 || solution.front() != 0 || solution.back() != 0)
    throw ComboError("cvrp: a solution starts and ends at the depot (node 0)");
  std::vector<uint8_t> seen(static_cast<size_t>(inst.n) + 1, 0);
  double length = 0;
  int load = 0, served = 0;
  for (size_t k = 0; k < solution.size(); ++k) {
    const int node = solution[k];
    if (node < 0 || node > inst.n)
      throw ComboError("cvrp: node " + std::to_string(node) + " is not in [0, " + std::to_string(inst.n) + "]");
    if (k > 0) {
      const int prev = solution[k - 1];
      const double dx = inst.xy[2 * prev] - inst.xy[2 * node], dy = inst.xy[2 * prev + 1] - inst.xy[2 * node + 1];
      length += std::sqrt(dx * dx + dy * dy);
    }
    if (node == 0) {
      load = 0;
      continue;
    }
    if (seen[node]) throw ComboError("cvrp: customer " + std::to_string(node) + " is visited twice");
    seen[node] = 1;
    ++served;
    load += inst.demand[node];
    if (load > inst.capacity)
      throw ComboError("cvrp: a route carries " + std::to_string(load) + " > capacity " + std::to_string(inst.capacity) +
                       " (at customer " + std::to_string(node) + ")");
  }
  if (served != inst.n) {
    for (int c = 1; c <= inst.n; ++c)
      if (!seen[c]) throw ComboError("cvrp: customer " + std::to_string(c) + " is not visited");
  }
  return length;
}

std::vector<CvrpInstance> read_cvrp_dataset(const std::string& text, const std::string& file) {
  std::vector<CvrpInstance> instances;
  for (const DataLine& line : read_data_lines(text, file, ProblemKind::Cvrp)) {
    CvrpInstance inst;
    inst.n = line.integer(0, "n (the number of customers)", 1, 100000);
    line.expect_count(3 * static_cast<size_t>(inst.n) + 4,
                      "n, capacity, depot x y, then x y demand of each of the n customers");
    inst.capacity = line.integer(1, "capacity", 1, 1000000000);
    inst.xy.resize(2 * (static_cast<size_t>(inst.n) + 1));
    inst.demand.assign(static_cast<size_t>(inst.n) + 1, 0);
    inst.xy[0] = line.numbers[2];
    inst.xy[1] = line.numbers[3];
    for (int c = 1; c <= inst.n; ++c) {
      const size_t at = 4 + 3 * static_cast<size_t>(c - 1);
      inst.xy[2 * c] = line.numbers[at];
      inst.xy[2 * c + 1] = line.numbers[at + 1];
      const std::string what = "demand of customer " + std::to_string(c);
      inst.demand[c] = line.integer(at + 2, what.c_str(), 1, inst.capacity);
    }
    instances.push_back(std::move(inst));
  }
  return instances;
}

std::string write_cvrp_dataset(const std::vector<CvrpInstance>& instances) {
  std::string out;
  for (const CvrpInstance& inst : instances) {
    out += std::to_string(inst.n) + " " + std::to_string(inst.capacity) + " " + format_number(inst.xy[0]) + " " +
           format_number(inst.xy[1]);
    for (int c = 1; c <= inst.n; ++c) {
      out += " " + format_number(inst.xy[2 * c]) + " " + format_number(inst.xy[2 * c + 1]) + " " +
             std::to_string(inst.demand[c]);
    }
    out += "\n";
  }
  return out;
}

// ---- Decoding state ----

void CvrpState::reset(const CvrpBatch& batch) {
  batch_ = &batch;
  count_ = batch.count;
  n_ = batch.n;
  const size_t nodes = static_cast<size_t>(n_) + 1;
  mask_.assign(count_ * nodes, 0);
  visited_.assign(count_ * nodes, 0);
  current_.assign(count_, 0);
  remaining_.assign(count_, batch.capacity);
  served_.assign(count_, 0);
  length_.assign(count_, 0.0);
  for (int i = 0; i < count_; ++i) update_mask(i);
}

void CvrpState::update_mask(int i) {
  const size_t nodes = static_cast<size_t>(n_) + 1;
  uint8_t* m = &mask_[i * nodes];
  const uint8_t* visited = &visited_[i * nodes];
  const int* demand = &batch_->demand[i * nodes];
  if (done(i)) {
    std::fill(m, m + nodes, 0);
    return;
  }
  for (size_t c = 1; c < nodes; ++c) m[c] = !visited[c] && demand[c] <= remaining_[i];
  // At the depot with customers left, another depot visit would be an empty trip; every customer
  // fits a full vehicle (demand <= capacity), so some customer is allowed there.
  m[0] = current_[i] != 0 || served_[i] == n_;
}

void CvrpState::step(int i, int node) {
  const size_t nodes = static_cast<size_t>(n_) + 1;
  if (i < 0 || i >= count_) throw ComboError("cvrp: instance " + std::to_string(i) + " is not in the batch");
  if (node < 0 || node > n_ || !mask_[i * nodes + node])
    throw ComboError("cvrp: node " + std::to_string(node) + " is not allowed now in instance " + std::to_string(i));
  const double* xy = &batch_->xy[i * nodes * 2];
  const int from = current_[i];
  const double dx = xy[2 * from] - xy[2 * node], dy = xy[2 * from + 1] - xy[2 * node + 1];
  length_[i] += std::sqrt(dx * dx + dy * dy);
  current_[i] = node;
  if (node == 0) {
    remaining_[i] = batch_->capacity;
  } else {
    visited_[i * nodes + node] = 1;
    remaining_[i] -= batch_->demand[i * nodes + node];
    ++served_[i];
  }
  update_mask(i);
}

void CvrpState::step_all(const int* actions) {
  for (int i = 0; i < count_; ++i)
    if (!done(i)) step(i, actions[i]);
}

bool CvrpState::all_done() const {
  for (int i = 0; i < count_; ++i)
    if (!done(i)) return false;
  return true;
}

// ---- Solvers ----

std::vector<int> cvrp_nearest_neighbor(const CvrpInstance& inst) {
  const DistanceMatrix d = inst.matrix();
  std::vector<uint8_t> visited(static_cast<size_t>(inst.n) + 1, 0);
  std::vector<int> solution = {0};
  int current = 0, remaining = inst.capacity, served = 0;
  while (served < inst.n) {
    int next = -1;
    for (int c = 1; c <= inst.n; ++c) {
      if (visited[c] || inst.demand[c] > remaining) continue;
      if (next < 0 || d(current, c) < d(current, next)) next = c;
    }
    if (next < 0) {  // nothing fits: back to the depot
      solution.push_back(0);
      current = 0;
      remaining = inst.capacity;
      continue;
    }
    solution.push_back(next);
    visited[next] = 1;
    remaining -= inst.demand[next];
    current = next;
    ++served;
  }
  solution.push_back(0);
  return solution;
}

std::vector<int> cvrp_savings(const CvrpInstance& inst) {
  const int n = inst.n;
  const DistanceMatrix d = inst.matrix();
  // Routes as customer lists; route_of[c] is c's route, or -1 once routes merge away.
  std::vector<std::vector<int>> routes(static_cast<size_t>(n) + 1);
  std::vector<int> route_of(static_cast<size_t>(n) + 1, -1), load(static_cast<size_t>(n) + 1, 0);
  for (int c = 1; c <= n; ++c) {
    routes[c] = {c};
    route_of[c] = c;
    load[c] = inst.demand[c];
  }
  struct Saving {
    double value;
    int i, j;
  };
  std::vector<Saving> savings;
  savings.reserve(static_cast<size_t>(n) * (n - 1) / 2);
  for (int i = 1; i <= n; ++i)
    for (int j = i + 1; j <= n; ++j) savings.push_back({d(0, i) + d(0, j) - d(i, j), i, j});
  // Ties by customer ids, so that the result does not depend on the sort's implementation.
  std::sort(savings.begin(), savings.end(), [](const Saving& a, const Saving& b) {
    if (a.value != b.value) return a.value > b.value;
    return a.i != b.i ? a.i < b.i : a.j < b.j;
  });
  for (const Saving& s : savings) {
    if (s.value <= 0) break;
    const int ri = route_of[s.i], rj = route_of[s.j];
    if (ri == rj) continue;
    if (load[ri] + load[rj] > inst.capacity) continue;
    std::vector<int>& a = routes[ri];
    std::vector<int>& b = routes[rj];
    // i and j must both be route ends (next to the depot); orient so that a ends with i and b
    // starts with j, then join a + b.
    const bool i_end = a.back() == s.i, i_start = a.front() == s.i;
    const bool j_start = b.front() == s.j, j_end = b.back() == s.j;
    if (!(i_end || i_start) || !(j_start || j_end)) continue;
    if (!i_end) std::reverse(a.begin(), a.end());
    if (!j_start) std::reverse(b.begin(), b.end());
    a.insert(a.end(), b.begin(), b.end());
    load[ri] += load[rj];
    for (int c : b) route_of[c] = ri;
    b.clear();
  }
  std::vector<int> solution = {0};
  for (int r = 1; r <= n; ++r) {
    if (routes[r].empty()) continue;
    solution.insert(solution.end(), routes[r].begin(), routes[r].end());
    solution.push_back(0);
  }
  return solution;
}

}  // namespace pl::combo
