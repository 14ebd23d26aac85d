#include "core/combo/routing_policy.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>

namespace pl::combo {

int routing_reencoding_features(ProblemKind kind) {
  if (kind == ProblemKind::Tsp) return kTspReencodingFeatures;
  if (kind == ProblemKind::Cvrp) return kCvrpReencodingFeatures;
  throw ComboError(std::string("the routing re-encoding policy solves tsp and cvrp, not ") + problem_name(kind));
}

namespace {
// The fewest cities / customers of an instance (what read_policy_instances admits: two encoder
// nodes, a CVRP depot and one customer).
int min_size(ProblemKind kind) { return kind == ProblemKind::Cvrp ? 1 : 2; }
}  // namespace

RoutingReencodingProblem::RoutingReencodingProblem(int max_rows, ProblemKind kind, int max_n)
    : kind_(kind),
      max_rows_(max_rows),
      max_nodes_(policy_nodes(kind, max_n)),
      max_steps_(kind == ProblemKind::Cvrp ? 2 * max_n : max_n) {
  routing_reencoding_features(kind);  // refuses other problems
  inst_.assign(static_cast<size_t>(max_rows), 0);
  steps_.assign(static_cast<size_t>(max_rows), 0);
  served_.assign(static_cast<size_t>(max_rows), 0);
  remaining_.assign(static_cast<size_t>(max_rows), 0);
  route_.assign(static_cast<size_t>(max_rows) * max_steps_, 0);
  visited_.assign(static_cast<size_t>(max_rows) * max_nodes_, 0);
}

void RoutingReencodingProblem::set_source(const PolicyBatch& source) {
  if (source.kind != kind_)
    throw ComboError(std::string("the ") + problem_name(kind_) + " re-encoding policy reads " + problem_name(kind_) +
                     " instances, not " + problem_name(source.kind));
  if (source.n < min_size(kind_) || source.nodes > max_nodes_)
    throw ComboError(std::string("the ") + problem_name(kind_) + " re-encoding policy was built for " +
                     std::to_string(min_size(kind_)) + " to " + std::to_string(problem_size(kind_, max_nodes_)) +
                     (kind_ == ProblemKind::Cvrp ? " customers" : " cities") + ", got " + std::to_string(source.n));
  source_ = &source;
}

void RoutingReencodingProblem::load(const int* inst, int rows) {
  if (!source_) throw ComboError("RoutingReencodingProblem: no source batch");
  if (rows > max_rows_) throw ComboError("RoutingReencodingProblem: more rows than its capacity");
  nodes_ = source_->nodes;
  for (int r = 0; r < rows; ++r) {
    if (inst[r] < 0 || inst[r] >= source_->count) throw ComboError("RoutingReencodingProblem: instance out of range");
    inst_[r] = inst[r];
    steps_[r] = served_[r] = 0;
    if (kind_ == ProblemKind::Cvrp) remaining_[r] = source_->capacity_units[inst[r]];
    std::fill_n(&visited_[static_cast<size_t>(r) * max_nodes_], nodes_, uint8_t{0});
  }
}

int RoutingReencodingProblem::current(int r) const {
  if (steps_[r] > 0) return route(r)[steps_[r] - 1];
  return kind_ == ProblemKind::Cvrp ? 0 : -1;
}

bool RoutingReencodingProblem::done(int r) const {
  if (kind_ == ProblemKind::Tsp) return steps_[r] == nodes_;
  return served_[r] == nodes_ - 1 && steps_[r] > 0 && current(r) == 0;
}

int RoutingReencodingProblem::mask(int r, int32_t* out) {
  const uint8_t* v = &visited_[static_cast<size_t>(r) * max_nodes_];
  if (kind_ == ProblemKind::Tsp) {
    for (int j = 0; j < nodes_; ++j) out[j] = !v[j];
    return nodes_ - steps_[r];
  }
  const int* demand = &source_->demand[static_cast<size_t>(inst_[r]) * nodes_];
  int allowed = 0;
  for (int j = 1; j < nodes_; ++j) allowed += (out[j] = !v[j] && demand[j] <= remaining_[r]);
  allowed += (out[0] = current(r) != 0 || served_[r] == nodes_ - 1);
  return allowed;
}

void RoutingReencodingProblem::features(int r, float* out) {
  const float* p = features_of(r);
  const int origin = current(r);
  if (kind_ == ProblemKind::Tsp) {
    const int destination = steps_[r] > 0 ? route(r)[0] : -1;
    for (int j = 0; j < nodes_; ++j) {
      float* f = out + static_cast<size_t>(j) * kTspReencodingFeatures;
      f[0] = p[2 * j];
      f[1] = p[2 * j + 1];
      f[2] = j == origin ? 1.0f : 0.0f;
      f[3] = j == destination ? 1.0f : 0.0f;
    }
    return;
  }
  const int D = source_->node_dim;  // x, y, demand / capacity, depot flag
  const float left = static_cast<float>(remaining_[r]) / static_cast<float>(source_->capacity_units[inst_[r]]);
  for (int j = 0; j < nodes_; ++j) {
    float* f = out + static_cast<size_t>(j) * kCvrpReencodingFeatures;
    f[0] = p[j * D];
    f[1] = p[j * D + 1];
    f[2] = p[j * D + 2];
    f[3] = j == origin ? 1.0f : 0.0f;
    f[4] = j == 0 ? 1.0f : 0.0f;
    f[5] = left;
  }
}

void RoutingReencodingProblem::encoder_mask(int r, int32_t* out) {
  const uint8_t* v = &visited_[static_cast<size_t>(r) * max_nodes_];
  for (int j = 0; j < nodes_; ++j) out[j] = !v[j];  // a CVRP depot is never visited: the destination
  if (steps_[r] > 0) {
    out[current(r)] = 1;
    if (kind_ == ProblemKind::Tsp) out[route(r)[0]] = 1;
  }
}

void RoutingReencodingProblem::step(int r, int node) {
  uint8_t* v = &visited_[static_cast<size_t>(r) * max_nodes_];
  const bool depot = kind_ == ProblemKind::Cvrp && node == 0;
  // The mask's rules (no allocation): a node in range, not visited, not after the end; CVRP: a
  // demand that fits, no depot-to-depot move while customers are left.
  bool allowed = node >= 0 && node < nodes_ && (depot || !v[node]) && steps_[r] < max_steps_ && !done(r);
  if (allowed && kind_ == ProblemKind::Cvrp)
    allowed = depot ? (current(r) != 0 || served_[r] == nodes_ - 1)
                    : source_->demand[static_cast<size_t>(inst_[r]) * nodes_ + node] <= remaining_[r];
  if (!allowed) throw ComboError("RoutingReencodingProblem: node " + std::to_string(node) + " is not allowed");
  if (kind_ == ProblemKind::Cvrp) {
    if (depot) {
      remaining_[r] = source_->capacity_units[inst_[r]];
    } else {
      remaining_[r] -= source_->demand[static_cast<size_t>(inst_[r]) * nodes_ + node];
      ++served_[r];
    }
  }
  if (!depot) v[node] = 1;
  route_[static_cast<size_t>(r) * max_steps_ + steps_[r]++] = node;
}

double RoutingReencodingProblem::objective(int r) const {
  const float* p = features_of(r);
  if (kind_ == ProblemKind::Tsp) return tour_length_xy(p, nodes_, route(r));
  const int D = source_->node_dim;
  double total = 0;
  int at = 0;
  for (int k = 0; k < steps_[r]; ++k) {
    const int to = route(r)[k];
    const double dx = static_cast<double>(p[at * D]) - p[to * D], dy = static_cast<double>(p[at * D + 1]) - p[to * D + 1];
    total += std::sqrt(dx * dx + dy * dy);
    at = to;
  }
  return total;
}

std::vector<int> RoutingReencodingProblem::solution(int r) const {
  if (kind_ == ProblemKind::Tsp) return std::vector<int>(route(r), route(r) + steps_[r]);
  std::vector<int> out{0};
  for (int k = 0; k < steps_[r]; ++k)
    if (!(route(r)[k] == 0 && out.back() == 0)) out.push_back(route(r)[k]);
  if (out.back() != 0) out.push_back(0);
  return out;
}

double solve_routing_reencoding_instances(ProblemKind kind, const ReencodingModel& model, Parameters& params,
                                          const std::vector<AnyInstance>& instances, const DecodeOptions& options,
                                          uint64_t seed, std::vector<std::vector<int>>& solutions,
                                          std::vector<double>& objectives) {
  solutions.assign(instances.size(), {});
  objectives.assign(instances.size(), 0.0);
  for (const AnyInstance& inst : instances) {
    if (kind_of(inst) != kind)
      throw ComboError(std::string("the policy solves ") + problem_name(kind) + ", not " + problem_name(kind_of(inst)));
    if (policy_problem_size(inst) < min_size(kind))
      throw ComboError(std::string("the policy needs at least 2 cities per instance, got ") +
                       std::to_string(policy_problem_size(inst)));
  }
  Rng rng(seed);
  const auto t0 = std::chrono::steady_clock::now();
  const int copies = options.kind == DecodeKind::MultistartAug8 ? 8 : 1;
  auto same = [](const AnyInstance& a, const AnyInstance& b) { return policy_problem_size(a) == policy_problem_size(b); };
  // Consecutive instances of one size decode together; copy k of instance i (the k-th symmetry of
  // the square) is instance k * count + i of one batch.
  for_each_run(instances, same, [&](size_t first, size_t last) {
    const int n = policy_problem_size(instances[first]), count = static_cast<int>(last - first);
    PolicyBatch batch;
    batch.allocate(kind, n, count * copies);
    const int nodes = batch.nodes, D = batch.node_dim;
    for (int i = 0; i < count; ++i) {
      set_policy_instance(batch, i, instances[first + i]);
      const float* f = batch.instance_features(i);
      for (int k = 1; k < copies; ++k) {
        const int c = k * count + i;
        symmetric_copy(k, f, &batch.features[static_cast<size_t>(c) * nodes * D], nodes, D);
        if (kind == ProblemKind::Cvrp) {
          std::copy_n(&batch.demand[static_cast<size_t>(i) * nodes], nodes, &batch.demand[static_cast<size_t>(c) * nodes]);
          batch.capacity_units[c] = batch.capacity_units[i];
        }
      }
    }
    const int per = options.kind == DecodeKind::Greedy ? 1 : options.kind == DecodeKind::Sample ? options.samples : n;
    const bool greedy = options.kind != DecodeKind::Sample;
    const int lowest_start = kind == ProblemKind::Cvrp ? 1 : 0;  // multistart_actions: customers 1..n, cities 0..n-1
    // Fewer rows for more nodes: the attention buffers grow with rows x nodes^2.
    const int cap = std::max(1, std::min({256, 16384 / nodes, count * copies * per}));
    RoutingReencodingPolicy policy(model, params, cap, nodes, kind, n);
    policy.problem().set_source(batch);
    std::vector<double> best_copy(static_cast<size_t>(count) * copies),
        best(static_cast<size_t>(count), std::numeric_limits<double>::infinity());
    decode_best(
        policy.policy(), count * copies, per, greedy, /*maximize=*/false, rng,
        [&](int i, int s) { return options.kind == DecodeKind::Greedy ? single_start(batch, i) : lowest_start + s % n; },
        [&](int r, int i) {
          const int orig = i % count;
          const double length = policy.problem().objective(r);
          if (length < best[orig]) {
            best[orig] = length;
            solutions[first + orig] = policy.problem().solution(r);
          }
        },
        best_copy.data());
    for (int i = 0; i < count; ++i) objectives[first + i] = check_solution(instances[first + i], solutions[first + i]);
  });
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace pl::combo
