#include "core/combo/policy_decoder.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <type_traits>
#include <variant>

namespace pl::combo {

std::string DecodeOptions::text() const {
  switch (kind) {
    case DecodeKind::Greedy: return "greedy";
    case DecodeKind::Sample: return "sample:" + std::to_string(samples);
    case DecodeKind::Multistart: return "multistart";
    case DecodeKind::MultistartAug8: return "multistart_aug8";
  }
  return "?";
}

DecodeOptions parse_decode(const std::string& text) {
  DecodeOptions o;
  if (text == "greedy") return o;
  if (text == "multistart") {
    o.kind = DecodeKind::Multistart;
    return o;
  }
  if (text == "multistart_aug8") {
    o.kind = DecodeKind::MultistartAug8;
    return o;
  }
  if (text.rfind("sample:", 0) == 0) {
    const std::string count = text.substr(7);
    char* end = nullptr;
    const long k = count.empty() ? 0 : std::strtol(count.c_str(), &end, 10);
    if (!count.empty() && end && *end == '\0' && k >= 1 && k <= 4096) {
      o.kind = DecodeKind::Sample;
      o.samples = static_cast<int>(k);
      return o;
    }
    throw ComboError("decode '" + text + "': sample:N needs an integer N in [1, 4096]");
  }
  throw ComboError("unknown decode '" + text + "'; use greedy, sample:N, multistart or multistart_aug8");
}

void dihedral(int k, float x, float y, float& ox, float& oy) {
  switch (k & 7) {
    case 0: ox = x, oy = y; break;
    case 1: ox = y, oy = x; break;
    case 2: ox = 1 - x, oy = y; break;
    case 3: ox = y, oy = 1 - x; break;
    case 4: ox = x, oy = 1 - y; break;
    case 5: ox = 1 - y, oy = x; break;
    case 6: ox = 1 - x, oy = 1 - y; break;
    default: ox = 1 - y, oy = 1 - x; break;
  }
}

void symmetric_copy(int k, const float* from, float* to, int nodes, int dim) {
  std::copy(from, from + static_cast<size_t>(nodes) * dim, to);
  for (int j = 0; j < nodes; ++j) dihedral(k, from[j * dim], from[j * dim + 1], to[j * dim], to[j * dim + 1]);
}

double tour_length_xy(const float* xy, int n, const int* tour) {
  double total = 0;
  for (int k = 0; k < n; ++k) {
    const int a = tour[k], b = tour[(k + 1) % n];
    const double dx = static_cast<double>(xy[2 * a]) - xy[2 * b], dy = static_cast<double>(xy[2 * a + 1]) - xy[2 * b + 1];
    total += std::sqrt(dx * dx + dy * dy);
  }
  return total;
}

int multistart_actions(const PolicyBatch& batch, int i, int* out) {
  int count = 0;
  switch (batch.kind) {
    case ProblemKind::Tsp:
      for (int j = 0; j < batch.n; ++j) out[count++] = j;
      break;
    case ProblemKind::Cvrp:
      for (int j = 1; j <= batch.n; ++j) out[count++] = j;
      break;
    default: {
      const double* w = &batch.weight[static_cast<size_t>(i) * batch.n];
      for (int j = 0; j < batch.n; ++j)
        if (w[j] <= batch.capacity[i]) out[count++] = j;
      break;
    }
  }
  return count;
}

int single_start(const PolicyBatch& batch, int i) {
  switch (batch.kind) {
    case ProblemKind::Tsp: return 0;
    case ProblemKind::Cvrp: {
      const float* f = batch.instance_features(i);
      int best = 1;
      double best_d = std::numeric_limits<double>::infinity();
      for (int j = 1; j <= batch.n; ++j) {
        const double dx = static_cast<double>(f[j * batch.node_dim]) - f[0];
        const double dy = static_cast<double>(f[j * batch.node_dim + 1]) - f[1];
        const double d = dx * dx + dy * dy;
        if (d < best_d) best_d = d, best = j;
      }
      return best;
    }
    default: {
      const double* w = &batch.weight[static_cast<size_t>(i) * batch.n];
      const double* v = &batch.value[static_cast<size_t>(i) * batch.n];
      int best = -1;
      for (int j = 0; j < batch.n; ++j) {
        if (w[j] > batch.capacity[i]) continue;
        // v_j / w_j > v_b / w_b without dividing (weights may be 0).
        if (best < 0 || v[j] * w[best] > v[best] * w[j]) best = j;
      }
      return best;
    }
  }
}

namespace {
int copies_of(const DecodeOptions& o) { return o.kind == DecodeKind::MultistartAug8 ? 8 : 1; }
int max_trajectories(const DecodeOptions& o, int max_n) {
  return o.kind == DecodeKind::Sample ? o.samples : o.kind == DecodeKind::Greedy ? 1 : max_n;
}
}  // namespace

PolicyDecoder::PolicyDecoder(const AttentionModel& model, Parameters& params, int instances, int max_n,
                             const DecodeOptions& options)
    : options_(options),
      kind_(model.spec().problem),
      instances_(instances),
      max_n_(max_n),
      population_(model.population()),
      policy_(model, params, instances * copies_of(options), policy_nodes(model.spec().problem, max_n),
              max_trajectories(options, max_n)) {
  if (options.kind == DecodeKind::MultistartAug8 && !policy_is_2d(kind_))
    throw ComboError(std::string("decode multistart_aug8: the x8 symmetries apply to points in the plane (tsp, cvrp), not ") +
                     problem_name(kind_) + "; use multistart");
  const int copies = copies_of(options);
  const int nodes = policy_nodes(kind_, max_n);
  const int S = std::max(policy_.max_trajectories(), max_n);
  aug_.assign(static_cast<size_t>(copies) * instances * nodes * policy_node_dim(kind_), 0.0f);
  starts_.assign(static_cast<size_t>(S), 0);
  trajectories_.assign(static_cast<size_t>(policy_.max_trajectories()) * (max_decisions(kind_, max_n) + 1), 0);
}

void PolicyDecoder::solve(const PolicyBatch& batch, int first, int count, Rng& rng, int* trajectories,
                          double* objectives, int* agents) {
  const int n = batch.n;
  if (batch.kind != kind_ || count < 1 || count > instances_ || n < 1 || n > max_n_ || first < 0 ||
      first + count > batch.count)
    throw ComboError(std::string("policy decoder: ") + std::to_string(count) + " " + problem_name(batch.kind) +
                     " instances of size " + std::to_string(n) + " exceed its capacity (" + std::to_string(instances_) +
                     " " + problem_name(kind_) + " instances of size " + std::to_string(max_n_) + ")");
  const int copies = copies_of(options_);
  const int nodes = batch.nodes, dim = batch.node_dim, L = max_decisions(kind_, n) + 1;
  // Copy c of instance i is encoded row c * count + i; the symmetries move (x, y) only (CVRP's
  // demand and depot flag stay).
  for (int c = 0; c < copies; ++c)
    for (int i = 0; i < count; ++i) {
      const float* from = batch.instance_features(first + i);
      float* to = &aug_[(static_cast<size_t>(c) * count + i) * nodes * dim];
      if (policy_is_2d(kind_)) symmetric_copy(c, from, to, nodes, dim);
      else std::copy(from, from + static_cast<size_t>(nodes) * dim, to);
    }
  policy_.encode(aug_.data(), copies * count, nodes);
  const bool greedy = options_.kind != DecodeKind::Sample;
  const bool maximize = maximizes(kind_);
  for (int i = 0; i < count; ++i) {
    const int inst = first + i;
    int S = 0;
    if (options_.kind == DecodeKind::Greedy) {
      const int s0 = single_start(batch, inst);
      if (s0 >= 0) starts_[S++] = s0;
    } else {
      const int k = multistart_actions(batch, inst, starts_.data());
      if (options_.kind == DecodeKind::Sample && k > 0) {
        // Start actions cycling through the list: sample s starts at list[s mod k].
        for (int s = k; s < options_.samples; ++s) starts_[s] = starts_[s % k];
        S = options_.samples;
      } else {
        S = k;
      }
    }
    int* best_traj = trajectories + static_cast<size_t>(i) * L;
    if (agents) agents[i] = 0;
    if (S == 0) {  // nothing fits the knapsack: the empty solution
      std::fill(best_traj, best_traj + L, -1);
      objectives[i] = 0;
      continue;
    }
    double best = maximize ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    for (int agent = 0; agent < population_; ++agent)
      for (int c = 0; c < copies; ++c) {
        policy_.decode(c * count + i, &batch, inst, S, starts_.data(), greedy, &rng, trajectories_.data(), nullptr,
                       nullptr, agent);
        for (int s = 0; s < S; ++s) {
          const int* traj = &trajectories_[static_cast<size_t>(s) * L];
          // The symmetries keep lengths: measure on the original features.
          const double value = batch.objective(inst, traj);
          if (maximize ? value > best : value < best) {
            best = value;
            std::copy(traj, traj + L, best_traj);
            if (agents) agents[i] = agent;
          }
        }
      }
    objectives[i] = best;
  }
}

int policy_problem_size(const AnyInstance& instance) {
  return std::visit(
      [](const auto& inst) -> int {
        using I = std::decay_t<decltype(inst)>;
        if constexpr (std::is_same_v<I, TspInstance> || std::is_same_v<I, CvrpInstance> ||
                      std::is_same_v<I, KnapsackInstance>)
          return inst.n;
        else
          return 0;
      },
      instance);
}

AnyInstance policy_instance(const PolicyBatch& batch, int i) {
  const float* f = batch.instance_features(i);
  switch (batch.kind) {
    case ProblemKind::Tsp: {
      TspInstance inst;
      inst.n = batch.n;
      inst.xy.assign(f, f + static_cast<size_t>(batch.n) * 2);
      return inst;
    }
    case ProblemKind::Cvrp: {
      CvrpInstance inst;
      inst.n = batch.n;
      inst.capacity = batch.capacity_units[i];
      inst.xy.resize(static_cast<size_t>(batch.nodes) * 2);
      for (int j = 0; j < batch.nodes; ++j) {
        inst.xy[2 * j] = f[j * batch.node_dim];
        inst.xy[2 * j + 1] = f[j * batch.node_dim + 1];
      }
      const int* d = &batch.demand[static_cast<size_t>(i) * batch.nodes];
      inst.demand.assign(d, d + batch.nodes);
      return inst;
    }
    default: {
      KnapsackInstance inst;
      inst.n = batch.n;
      inst.capacity = batch.capacity[i];
      const size_t at = static_cast<size_t>(i) * batch.n;
      inst.weight.assign(batch.weight.begin() + static_cast<long>(at), batch.weight.begin() + static_cast<long>(at + batch.n));
      inst.value.assign(batch.value.begin() + static_cast<long>(at), batch.value.begin() + static_cast<long>(at + batch.n));
      return inst;
    }
  }
}

void set_policy_instance(PolicyBatch& batch, int i, const AnyInstance& instance) {
  std::visit(
      [&](const auto& inst) {
        using I = std::decay_t<decltype(inst)>;
        if constexpr (std::is_same_v<I, TspInstance> || std::is_same_v<I, CvrpInstance> ||
                      std::is_same_v<I, KnapsackInstance>)
          batch.set(i, inst);
        else
          throw ComboError(std::string("the attention-model policy does not read ") + problem_name(kind_of(instance)));
      },
      instance);
}

double solve_instances(const AttentionModel& model, Parameters& params, const std::vector<AnyInstance>& instances,
                       const DecodeOptions& options, uint64_t seed, std::vector<std::vector<int>>& solutions,
                       std::vector<double>& objectives) {
  const ProblemKind kind = model.spec().problem;
  solutions.assign(instances.size(), {});
  objectives.assign(instances.size(), 0.0);
  if (instances.empty()) return 0;
  int max_n = 1;
  for (const AnyInstance& inst : instances) {
    if (kind_of(inst) != kind)
      throw ComboError(std::string("the policy solves ") + problem_name(kind) + ", not " + problem_name(kind_of(inst)));
    max_n = std::max(max_n, policy_problem_size(inst));
  }
  // One instance per solve() call (a file's instances may differ in size): capacity 1 keeps the
  // encoder's attention buffers at copies x heads x nodes^2.
  PolicyDecoder decoder(model, params, 1, max_n, options);
  Rng rng(seed);
  const auto t0 = std::chrono::steady_clock::now();
  PolicyBatch batch;
  std::vector<int> traj;
  double objective = 0;
  for (size_t k = 0; k < instances.size(); ++k) {
    const int n = policy_problem_size(instances[k]);
    batch.allocate(kind, n, 1);
    set_policy_instance(batch, 0, instances[k]);
    const int L = max_decisions(kind, n) + 1;
    traj.assign(static_cast<size_t>(L), 0);
    decoder.solve(batch, 0, 1, rng, traj.data(), &objective);
    solutions[k] = traj[0] < 0 ? std::vector<int>{} : trajectory_solution(kind, traj.data(), L);
    objectives[k] = check_solution(instances[k], solutions[k]);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace pl::combo
