// The policy environment of CVRP and knapsack (core/combo/policy_env.hpp): property tests over
// random states. Random trajectories (uniform over the allowed actions, from every POMO start)
// are checked at every step against the problem's own rules, computed here independently; the
// CVRP mask equals CvrpState's (the environment the solvers' tests cover); every finished
// trajectory is a solution the problem's checker accepts, with the objective the batch reports.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/combo/cvrp.hpp"
#include "core/combo/knapsack.hpp"
#include "core/combo/policy_env.hpp"
#include "core/nn/attention_model.hpp"

using namespace pl;
using namespace pl::combo;

namespace {
// A uniformly drawn allowed action of trajectory s; -1 if none is allowed.
int random_allowed(const TrajectoryEnv& env, int s, Rng& rng) {
  int count = 0;
  for (int j = 0; j < env.nodes(); ++j) count += env.mask(s)[j];
  if (count == 0) return -1;
  int pick = static_cast<int>(rng.below(static_cast<uint32_t>(count)));
  for (int j = 0; j < env.nodes(); ++j)
    if (env.mask(s)[j] && pick-- == 0) return j;
  return -1;
}
}  // namespace

TEST_CASE("CVRP policy env: masks allow only feasible actions and match CvrpState", "[policy_env]") {
  for (int n : {5, 10, 20}) {
    INFO("n = " << n);
    const int count = 6;
    // Instances of the papers' generator, plus a tight capacity (10) so trips fill up often.
    CvrpBatch source = generate_cvrp(n == 5 ? 10 : n, count, 17 + n);
    std::vector<CvrpInstance> instances;
    for (int i = 0; i < count; ++i) {
      CvrpInstance inst = source.instance(i);
      if (n == 5) {
        inst.n = 5;
        inst.xy.resize(12);
        inst.demand.resize(6);
        inst.capacity = 10;
      }
      instances.push_back(inst);
    }
    PolicyBatch batch;
    batch.allocate(ProblemKind::Cvrp, n, count);
    for (int i = 0; i < count; ++i) batch.set(i, instances[i]);
    const int nodes = n + 1, T = max_decisions(ProblemKind::Cvrp, n), L = T + 1;
    TrajectoryEnv env;
    env.setup(ProblemKind::Cvrp, nodes, n);
    std::vector<int> starts(n);
    for (int s = 0; s < n; ++s) starts[s] = s + 1;  // POMO: every customer once
    Rng rng(5 + n);
    int finished_early = 0;
    for (int i = 0; i < count; ++i) {
      const CvrpInstance& inst = instances[i];
      env.reset(&batch, i, nodes, n, starts.data());
      // The reference state, one instance per trajectory: CvrpState over a one-instance batch.
      CvrpBatch one = CvrpBatch::from_instances({inst});
      std::vector<CvrpState> ref(n);
      std::vector<int> load(n), at(n);
      std::vector<std::vector<uint8_t>> served(n, std::vector<uint8_t>(nodes, 0));
      std::vector<std::vector<int>> traj(n, std::vector<int>(L, -1));
      for (int s = 0; s < n; ++s) {
        ref[s].reset(one);
        ref[s].step(0, s + 1);
        load[s] = inst.demand[s + 1];
        at[s] = s + 1;
        served[s][s + 1] = 1;
        traj[s][0] = s + 1;
      }
      for (int t = 0; t < T; ++t)
        for (int s = 0; s < n; ++s) {
          const uint8_t* m = env.mask(s);
          int allowed = 0;
          for (int j = 0; j < nodes; ++j) {
            allowed += m[j];
            if (!m[j]) continue;
            if (j == 0) {
              int left = 0;
              for (int c = 1; c < nodes; ++c) left += !served[s][c];
              REQUIRE((at[s] != 0 || left == 0));  // never the depot twice while customers wait
            } else {
              REQUIRE(!served[s][j]);
              REQUIRE(load[s] + inst.demand[j] <= inst.capacity);
            }
          }
          REQUIRE(allowed >= 1);
          if (!env.done(s)) {
            REQUIRE(!ref[s].done(0));
            for (int j = 0; j < nodes; ++j) REQUIRE(m[j] == ref[s].mask(0)[j]);
            REQUIRE(env.capacity_feature(s) == Approx(1.0 - static_cast<double>(load[s]) / inst.capacity));
          } else {
            REQUIRE(allowed == 1);
            REQUIRE(m[0] == 1);
          }
          const int a = random_allowed(env, s, rng);
          if (!env.done(s)) {
            ref[s].step(0, a);
            if (a == 0) load[s] = 0; else load[s] += inst.demand[a], served[s][a] = 1;
            at[s] = a;
          }
          env.step(s, a);
          traj[s][t + 1] = a;
        }
      for (int s = 0; s < n; ++s) {
        REQUIRE(env.done(s));
        finished_early += traj[s][T] == 0 && traj[s][T - 1] == 0;
        const std::vector<int> solution = trajectory_solution(ProblemKind::Cvrp, traj[s].data(), L);
        const double length = cvrp_check(inst, solution);  // throws on any violation
        // Features are float coordinates of the (unit-square) instance: the same length closely.
        CHECK(batch.objective(i, traj[s].data()) == Approx(length).epsilon(1e-5));
      }
    }
    CHECK(finished_early > 0);  // the pads were exercised
  }
  // An action the mask forbids is refused.
  PolicyBatch batch;
  batch.allocate(ProblemKind::Cvrp, 10, 1);
  Rng rng(3);
  batch.draw(rng, 0, 1);
  TrajectoryEnv env;
  env.setup(ProblemKind::Cvrp, 11, 1);
  const int start = 3;
  env.reset(&batch, 0, 11, 1, &start);
  CHECK_THROWS_AS(env.step(0, 3), ComboError);  // served already
  const int depot = 0;
  CHECK_THROWS_AS(env.reset(&batch, 0, 11, 1, &depot), ComboError);  // POMO starts at a customer
}

TEST_CASE("Knapsack policy env: masks allow only items that fit, episodes end when none fits", "[policy_env]") {
  for (int n : {10, 50}) {
    INFO("n = " << n);
    const int count = 5;
    PolicyBatch batch;
    batch.allocate(ProblemKind::Knapsack, n, count);
    Rng draw_rng(40 + n);
    batch.draw(draw_rng, 0, count);
    REQUIRE(batch.capacity[0] == Approx(n == 50 ? 12.5 : 2.5));
    const int T = max_decisions(ProblemKind::Knapsack, n), L = T + 1;
    TrajectoryEnv env;
    env.setup(ProblemKind::Knapsack, n, n);
    std::vector<int> starts(n);
    for (int s = 0; s < n; ++s) starts[s] = s;
    Rng rng(n);
    for (int i = 0; i < count; ++i) {
      KnapsackInstance inst;
      inst.n = n;
      inst.capacity = batch.capacity[i];
      inst.weight.assign(batch.weight.begin() + i * n, batch.weight.begin() + (i + 1) * n);
      inst.value.assign(batch.value.begin() + i * n, batch.value.begin() + (i + 1) * n);
      env.reset(&batch, i, n, n, starts.data());
      std::vector<double> used(n);
      std::vector<std::vector<uint8_t>> taken(n, std::vector<uint8_t>(n, 0));
      std::vector<std::vector<int>> traj(n, std::vector<int>(L, -1));
      for (int s = 0; s < n; ++s) used[s] = inst.weight[s], taken[s][s] = 1, traj[s][0] = s;
      for (int t = 0; t < T; ++t)
        for (int s = 0; s < n; ++s) {
          const uint8_t* m = env.mask(s);
          bool any_fits = false;
          for (int j = 0; j < n; ++j) any_fits = any_fits || (!taken[s][j] && used[s] + inst.weight[j] <= inst.capacity);
          REQUIRE(env.done(s) == !any_fits);
          for (int j = 0; j < n; ++j) {
            if (env.done(s)) {
              REQUIRE(m[j] == (j == s ? 1 : 0));  // only the pad
            } else {
              REQUIRE(m[j] == (!taken[s][j] && used[s] + inst.weight[j] <= inst.capacity));
            }
          }
          if (!env.done(s)) REQUIRE(env.capacity_feature(s) == Approx(inst.capacity - used[s]).margin(1e-5));
          const int a = random_allowed(env, s, rng);
          REQUIRE(a >= 0);
          if (!env.done(s)) used[s] += inst.weight[a], taken[s][a] = 1;
          env.step(s, a);
          traj[s][t + 1] = a;
        }
      for (int s = 0; s < n; ++s) {
        REQUIRE(env.done(s));
        const std::vector<int> items = trajectory_solution(ProblemKind::Knapsack, traj[s].data(), L);
        const double value = knapsack_check(inst, items);  // throws if over capacity or repeated
        CHECK(batch.objective(i, traj[s].data()) == value);
        // Nothing left out would still fit: the episode ends only when the knapsack is full.
        double w = 0;
        for (int k : items) w += inst.weight[k];
        for (int j = 0; j < n; ++j)
          if (std::find(items.begin(), items.end(), j) == items.end()) CHECK(w + inst.weight[j] > inst.capacity);
      }
    }
  }
  // A first item that does not fit is refused.
  KnapsackInstance inst;
  inst.n = 2;
  inst.capacity = 1;
  inst.weight = {2, 0.5};
  inst.value = {1, 1};
  PolicyBatch batch;
  batch.allocate(ProblemKind::Knapsack, 2, 1);
  batch.set(0, inst);
  TrajectoryEnv env;
  env.setup(ProblemKind::Knapsack, 2, 1);
  const int bad = 0;
  CHECK_THROWS_AS(env.reset(&batch, 0, 2, 1, &bad), ComboError);
  CHECK_THROWS_AS(policy_node_dim(ProblemKind::JobShop), ComboError);
}

// The Attention Model on CVRP and knapsack: the step-by-step inference decoder and the batched
// training pass (replaying the same trajectories through the env) give the same log-probs; pads
// score exactly 0; every decoded trajectory (greedy and sampled) is a solution the checker takes.
TEST_CASE("AM on CVRP and knapsack: decoder log-probs equal the training pass's, decodes are feasible",
          "[policy_env]") {
  for (ProblemKind kind : {ProblemKind::Cvrp, ProblemKind::Knapsack}) {
    INFO(problem_name(kind));
    const int n = 8, B = 3, S = 5;
    AttentionModelSpec spec;
    spec.problem = kind;
    spec.node_dim = policy_node_dim(kind);
    spec.d_model = 8;
    spec.n_heads = 2;
    spec.n_layers = 1;
    spec.d_ff = 12;
    Parameters params;
    AttentionModel model(params, spec);
    params.finalize();
    Rng init(7);
    model.init(params, init);
    PolicyBatch batch;
    batch.allocate(kind, n, B);
    Rng data(11);
    batch.draw(data, 0, B);
    const int nodes = batch.nodes, T = max_decisions(kind, n), L = T + 1;
    REQUIRE(model.decisions(nodes) == T);
    AmPolicy policy(model, params, B, nodes, S);
    policy.encode(batch.features.data(), B, nodes);
    std::vector<int> trajs(static_cast<size_t>(B) * S * L);
    std::vector<float> logp(static_cast<size_t>(B) * S * T);
    std::vector<int> starts(S);
    for (int s = 0; s < S; ++s) starts[s] = kind == ProblemKind::Cvrp ? s + 1 : s;
    Rng rng(13);
    for (int b = 0; b < B; ++b)
      policy.decode(b, &batch, b, S, starts.data(), /*greedy=*/b == 0, &rng, &trajs[static_cast<size_t>(b) * S * L],
                    &logp[static_cast<size_t>(b) * S * T]);
    int pads = 0;
    for (int b = 0; b < B; ++b)
      for (int s = 0; s < S; ++s) {
        const int* traj = &trajs[(static_cast<size_t>(b) * S + s) * L];
        const std::vector<int> solution = trajectory_solution(kind, traj, L);
        if (kind == ProblemKind::Cvrp) {
          CvrpInstance inst;
          inst.n = n;
          inst.capacity = batch.capacity_units[b];
          for (int j = 0; j < nodes; ++j) {
            inst.xy.push_back(batch.instance_features(b)[j * 4]);
            inst.xy.push_back(batch.instance_features(b)[j * 4 + 1]);
            inst.demand.push_back(batch.demand[static_cast<size_t>(b) * nodes + j]);
          }
          CHECK(cvrp_check(inst, solution) == Approx(batch.objective(b, traj)));
          for (int t = 1; t < L; ++t) pads += traj[t] == 0 && traj[t - 1] == 0;
        } else {
          KnapsackInstance inst;
          inst.n = n;
          inst.capacity = batch.capacity[b];
          inst.weight.assign(batch.weight.begin() + b * n, batch.weight.begin() + (b + 1) * n);
          inst.value.assign(batch.value.begin() + b * n, batch.value.begin() + (b + 1) * n);
          CHECK(knapsack_check(inst, solution) == batch.objective(b, traj));
          pads += L - static_cast<int>(solution.size());
        }
      }
    CHECK(pads > 0);  // some trajectories ended before T: the pads are part of what is compared

    Graph g;
    Expr nodes_in = g.input("nodes", {B, nodes, spec.node_dim});
    std::vector<float> features = batch.features;
    g.bind(nodes_in, features.data());
    AttentionModel::TrajectoryInputs in = model.declare_inputs(g, B, S, nodes);
    TrajectoryBuffers buffers;
    buffers.allocate(kind, B, S, nodes);
    buffers.bind(g, in);
    Expr step = model.step_log_probs(g, params, nodes_in, in, B, S, nodes);
    TrajectoryEnv env;
    env.setup(kind, nodes, S);
    buffers.fill(kind, trajs.data(), &batch, env, B, S, nodes);
    g.forward();
    const float* train = g.values(step);
    double max_diff = 0;
    int real_choices = 0;
    for (size_t k = 0; k < logp.size(); ++k) {
      max_diff = std::max(max_diff, std::fabs(static_cast<double>(train[k]) - logp[k]));
      real_choices += logp[k] < -1e-3;
    }
    INFO("largest difference " << max_diff);
    CHECK(max_diff < 1e-5);
    CHECK(real_choices > 0);
  }
}
