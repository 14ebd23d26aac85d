#include "core/combo/policy_env.hpp"

#include <algorithm>
#include <cmath>

#include "core/combo/cvrp.hpp"
#include "core/combo/knapsack.hpp"
#include "core/combo/tsp.hpp"

namespace pl::combo {

bool policy_supports(ProblemKind kind) {
  return kind == ProblemKind::Tsp || kind == ProblemKind::Cvrp || kind == ProblemKind::Knapsack;
}

void require_policy_problem(ProblemKind kind) {
  if (!policy_supports(kind))
    throw ComboError(std::string("the attention-model policy learns tsp, cvrp and knapsack, not ") + problem_name(kind));
}

int policy_node_dim(ProblemKind kind) {
  require_policy_problem(kind);
  return kind == ProblemKind::Cvrp ? 4 : 2;
}

int policy_nodes(ProblemKind kind, int n) { return kind == ProblemKind::Cvrp ? n + 1 : n; }
int problem_size(ProblemKind kind, int nodes) { return kind == ProblemKind::Cvrp ? nodes - 1 : nodes; }

int max_decisions(ProblemKind kind, int n) { return kind == ProblemKind::Cvrp ? 2 * n - 1 : n - 1; }

bool policy_is_2d(ProblemKind kind) { return kind == ProblemKind::Tsp || kind == ProblemKind::Cvrp; }

void PolicyBatch::allocate(ProblemKind k, int size, int max_count) {
  require_policy_problem(k);
  kind = k;
  n = size;
  nodes = policy_nodes(k, size);
  node_dim = policy_node_dim(k);
  count = max_count;
  features.assign(static_cast<size_t>(max_count) * nodes * node_dim, 0.0f);
  if (k == ProblemKind::Cvrp) {
    demand.assign(static_cast<size_t>(max_count) * nodes, 0);
    capacity_units.assign(static_cast<size_t>(max_count), cvrp_capacity_for(size));
  }
  if (k == ProblemKind::Knapsack) {
    weight.assign(static_cast<size_t>(max_count) * n, 0.0);
    value.assign(static_cast<size_t>(max_count) * n, 0.0);
    capacity.assign(static_cast<size_t>(max_count), knapsack_capacity_for(size));
  }
}

void PolicyBatch::draw(Rng& rng, int first, int k) {
  for (int i = first; i < first + k; ++i) {
    float* f = &features[static_cast<size_t>(i) * nodes * node_dim];
    switch (kind) {
      case ProblemKind::Tsp:
        for (int j = 0; j < nodes * 2; ++j) f[j] = rng.uniform_float();
        break;
      case ProblemKind::Cvrp: {
        // Kool et al. 2019, App. C.1: depot and customers uniform in the unit square, demands
        // uniform in {1, ..., 9}, capacity by n.
        const int cap = cvrp_capacity_for(n);
        capacity_units[i] = cap;
        int* d = &demand[static_cast<size_t>(i) * nodes];
        for (int j = 0; j < nodes; ++j) {
          float* node = f + static_cast<size_t>(j) * 4;
          node[0] = rng.uniform_float();
          node[1] = rng.uniform_float();
          d[j] = j == 0 ? 0 : 1 + static_cast<int>(rng.below(9));
          node[2] = static_cast<float>(d[j]) / cap;
          node[3] = j == 0 ? 1.0f : 0.0f;
        }
        break;
      }
      default: {
        // POMO Sec. 5.3: weights and values uniform in [0, 1).
        capacity[i] = knapsack_capacity_for(n);
        for (int j = 0; j < n; ++j) {
          f[2 * j] = rng.uniform_float();
          f[2 * j + 1] = rng.uniform_float();
          weight[static_cast<size_t>(i) * n + j] = f[2 * j];
          value[static_cast<size_t>(i) * n + j] = f[2 * j + 1];
        }
        break;
      }
    }
  }
}

namespace {
// Offset and scale that map points into the unit square (identity when they already are in it).
void unit_square(const std::vector<double>& xy, double& lo_x, double& lo_y, double& scale) {
  lo_x = 0, lo_y = 0, scale = 1;
  bool inside = true;
  for (double v : xy) inside = inside && v >= 0 && v <= 1;
  if (inside) return;
  double hi_x = xy[0], hi_y = xy[1];
  lo_x = hi_x, lo_y = hi_y;
  for (size_t j = 0; j + 1 < xy.size(); j += 2) {
    lo_x = std::min(lo_x, xy[j]), hi_x = std::max(hi_x, xy[j]);
    lo_y = std::min(lo_y, xy[j + 1]), hi_y = std::max(hi_y, xy[j + 1]);
  }
  scale = std::max({hi_x - lo_x, hi_y - lo_y, 1e-12});
}

void require_size(const PolicyBatch& b, int n, int i) {
  if (n != b.n || i < 0 || i >= b.count)
    throw ComboError("policy batch: instance of size " + std::to_string(n) + " does not fit a batch of size " +
                     std::to_string(b.n));
}
}  // namespace

void PolicyBatch::set(int i, const TspInstance& inst) {
  require_size(*this, inst.n, i);
  double lo_x, lo_y, scale;
  unit_square(inst.xy, lo_x, lo_y, scale);
  float* f = &features[static_cast<size_t>(i) * nodes * 2];
  for (int j = 0; j < n; ++j) {
    f[2 * j] = static_cast<float>((inst.xy[2 * j] - lo_x) / scale);
    f[2 * j + 1] = static_cast<float>((inst.xy[2 * j + 1] - lo_y) / scale);
  }
}

void PolicyBatch::set(int i, const CvrpInstance& inst) {
  require_size(*this, inst.n, i);
  double lo_x, lo_y, scale;
  unit_square(inst.xy, lo_x, lo_y, scale);
  capacity_units[i] = inst.capacity;
  for (int j = 0; j < nodes; ++j) {
    float* node = &features[(static_cast<size_t>(i) * nodes + j) * 4];
    node[0] = static_cast<float>((inst.xy[2 * j] - lo_x) / scale);
    node[1] = static_cast<float>((inst.xy[2 * j + 1] - lo_y) / scale);
    demand[static_cast<size_t>(i) * nodes + j] = j == 0 ? 0 : inst.demand[j];
    node[2] = j == 0 ? 0.0f : static_cast<float>(inst.demand[j]) / inst.capacity;
    node[3] = j == 0 ? 1.0f : 0.0f;
  }
}

void PolicyBatch::set(int i, const KnapsackInstance& inst) {
  require_size(*this, inst.n, i);
  capacity[i] = inst.capacity;
  for (int j = 0; j < n; ++j) {
    weight[static_cast<size_t>(i) * n + j] = inst.weight[j];
    value[static_cast<size_t>(i) * n + j] = inst.value[j];
    features[(static_cast<size_t>(i) * n + j) * 2] = static_cast<float>(inst.weight[j]);
    features[(static_cast<size_t>(i) * n + j) * 2 + 1] = static_cast<float>(inst.value[j]);
  }
}

double PolicyBatch::objective(int i, const int* traj) const {
  const float* f = instance_features(i);
  auto dist = [&](int a, int b) {
    const double dx = static_cast<double>(f[a * node_dim]) - f[b * node_dim];
    const double dy = static_cast<double>(f[a * node_dim + 1]) - f[b * node_dim + 1];
    return std::sqrt(dx * dx + dy * dy);
  };
  double total = 0;
  switch (kind) {
    case ProblemKind::Tsp:
      for (int k = 0; k < n; ++k) total += dist(traj[k], traj[(k + 1) % n]);
      return total;
    case ProblemKind::Cvrp: {
      // From the depot to the first customer, then every decision (pads are depot to depot: 0).
      int at = 0;
      for (int k = 0; k <= max_decisions(kind, n); ++k) {
        total += dist(at, traj[k]);
        at = traj[k];
      }
      return total;
    }
    default: {
      // The first item, then each decision until the pad (the first item again).
      const double* v = &value[static_cast<size_t>(i) * n];
      total = v[traj[0]];
      for (int k = 1; k <= max_decisions(kind, n); ++k) {
        if (traj[k] == traj[0]) break;
        total += v[traj[k]];
      }
      return total;
    }
  }
}

void TrajectoryEnv::setup(ProblemKind kind, int max_nodes, int max_trajectories) {
  require_policy_problem(kind);
  kind_ = kind;
  const size_t cells = static_cast<size_t>(max_nodes) * max_trajectories;
  mask_.assign(cells, 0);
  visited_.assign(cells, 0);
  for (std::vector<int>* v : {&first_, &last_, &remaining_units_, &served_}) v->assign(max_trajectories, 0);
  done_.assign(max_trajectories, 0);
  used_weight_.assign(max_trajectories, 0.0);
  capacity_feature_.assign(max_trajectories, 0.0f);
}

void TrajectoryEnv::reset(const PolicyBatch* batch, int i, int nodes, int S, const int* starts) {
  if (S < 1 || static_cast<size_t>(S) > done_.size() || static_cast<size_t>(S) * nodes > mask_.size())
    throw ComboError("trajectory env: " + std::to_string(S) + " trajectories of " + std::to_string(nodes) +
                     " nodes exceed its capacity");
  if (kind_ != ProblemKind::Tsp && (batch == nullptr || batch->kind != kind_ || batch->nodes != nodes))
    throw ComboError(std::string("trajectory env: ") + problem_name(kind_) + " needs a batch of its instances");
  batch_ = batch;
  inst_ = i;
  nodes_ = nodes;
  S_ = S;
  std::fill(visited_.begin(), visited_.begin() + static_cast<size_t>(S) * nodes, 0);
  for (int s = 0; s < S; ++s) {
    const int a = starts[s];
    const int lo = kind_ == ProblemKind::Cvrp ? 1 : 0;
    if (a < lo || a >= nodes) throw ComboError("trajectory env: start " + std::to_string(a) + " is not a valid first action");
    first_[s] = a;
    last_[s] = a;
    done_[s] = 0;
    served_[s] = 1;
    visited_[static_cast<size_t>(s) * nodes + a] = 1;
    if (kind_ == ProblemKind::Cvrp) {
      remaining_units_[s] = batch->capacity_units[i] - batch->demand[static_cast<size_t>(i) * nodes + a];
    } else if (kind_ == ProblemKind::Knapsack) {
      used_weight_[s] = 0.0 + batch->weight[static_cast<size_t>(i) * nodes + a];
      if (!(used_weight_[s] <= batch->capacity[i]))
        throw ComboError("trajectory env: the first item " + std::to_string(a) + " does not fit the knapsack");
    }
    update(s);
  }
}

bool TrajectoryEnv::all_done() const {
  for (int s = 0; s < S_; ++s)
    if (!done_[s]) return false;
  return true;
}

void TrajectoryEnv::update(int s) {
  uint8_t* m = &mask_[static_cast<size_t>(s) * nodes_];
  const uint8_t* vis = &visited_[static_cast<size_t>(s) * nodes_];
  const int n = nodes_;
  switch (kind_) {
    case ProblemKind::Tsp: {
      int allowed = 0;
      for (int j = 0; j < n; ++j) allowed += (m[j] = !vis[j]);
      done_[s] = allowed == 0;
      break;
    }
    case ProblemKind::Cvrp: {
      // Kool et al. 2019, App. C.1: a customer is allowed if unserved and its demand fits the
      // remaining capacity; the depot unless the vehicle is there (no two depot visits in a row,
      // no empty trips) while customers are left. Done when all are served and it is back.
      const int* d = &batch_->demand[static_cast<size_t>(inst_) * n];
      const bool all_served = served_[s] == n - 1;
      done_[s] = all_served && last_[s] == 0;
      for (int j = 1; j < n; ++j) m[j] = !vis[j] && d[j] <= remaining_units_[s];
      m[0] = last_[s] != 0 || all_served;
      capacity_feature_[s] = static_cast<float>(remaining_units_[s]) / static_cast<float>(batch_->capacity_units[inst_]);
      break;
    }
    default: {
      // POMO's knapsack: items not taken whose weight fits (summed in the order taken, as
      // knapsack_check sums them). Done when none fits; then the first item is the pad.
      const double* w = &batch_->weight[static_cast<size_t>(inst_) * n];
      const double cap = batch_->capacity[inst_];
      int allowed = 0;
      for (int j = 0; j < n; ++j) allowed += (m[j] = !vis[j] && used_weight_[s] + w[j] <= cap);
      done_[s] = allowed == 0;
      capacity_feature_[s] = static_cast<float>(cap - used_weight_[s]);
      if (done_[s]) m[first_[s]] = 1;
      break;
    }
  }
}

void TrajectoryEnv::step(int s, int a) {
  if (s < 0 || s >= S_ || a < 0 || a >= nodes_ || !mask(s)[a])
    throw ComboError(std::string(problem_name(kind_)) + ": action " + std::to_string(a) + " is not allowed");
  if (done_[s]) return;  // the pad: nothing changes
  const size_t base = static_cast<size_t>(s) * nodes_;
  switch (kind_) {
    case ProblemKind::Cvrp:
      if (a == 0) {
        remaining_units_[s] = batch_->capacity_units[inst_];
      } else {
        remaining_units_[s] -= batch_->demand[static_cast<size_t>(inst_) * nodes_ + a];
        visited_[base + a] = 1;
        ++served_[s];
      }
      break;
    case ProblemKind::Knapsack:
      used_weight_[s] += batch_->weight[static_cast<size_t>(inst_) * nodes_ + a];
      visited_[base + a] = 1;
      break;
    default:
      visited_[base + a] = 1;
      break;
  }
  last_[s] = a;
  update(s);
}

std::vector<int> trajectory_solution(ProblemKind kind, const int* traj, int L) {
  std::vector<int> out;
  switch (kind) {
    case ProblemKind::Tsp:
      out.assign(traj, traj + L);
      break;
    case ProblemKind::Cvrp:
      out.push_back(0);
      for (int k = 0; k < L; ++k)
        if (!(traj[k] == 0 && out.back() == 0)) out.push_back(traj[k]);
      if (out.back() != 0) out.push_back(0);
      break;
    default:
      out.push_back(traj[0]);
      for (int k = 1; k < L && traj[k] != traj[0]; ++k) out.push_back(traj[k]);
      break;
  }
  return out;
}

}  // namespace pl::combo
