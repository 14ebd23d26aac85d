// Checks every trainer's tests make: the steady-state loop allocates nothing, and a checkpoint
// resumes the run exactly.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <cmath>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/algos/combo.hpp"
#include "core/algos/sequence.hpp"
#include "core/train/config.hpp"
#include "core/train/trainer.hpp"
#include "core/util/allocation_count.hpp"

// The heap allocations of `steps` training steps.
inline long allocations_during(pl::Trainer& t, int steps) {
  pl::allocation_counter::count = 0;
  pl::allocation_counter::counting = true;
  for (int i = 0; i < steps; ++i) t.step();
  pl::allocation_counter::counting = false;
  return static_cast<long>(pl::allocation_counter::count);
}

// Saves t, loads a copy and steps both `steps` times: the loss and the named metrics agree exactly.
inline void check_resumes_exactly(pl::Trainer& t, int steps, std::initializer_list<const char*> metrics) {
  auto u = pl::Trainer::load_bytes(t.save_bytes());
  for (int i = 0; i < steps; ++i) {
    const pl::Metrics& a = t.step();
    const pl::Metrics& b = u->step();
    INFO("step " << a.iteration);
    CHECK(a.policy_loss == b.policy_loss);
    for (const char* m : metrics) CHECK(a.extra_named(m) == b.extra_named(m));
  }
}

// A step's scalar metrics without its timings (wall_s, sps, instances_per_s), which differ between
// runs that are otherwise the same: for comparing two runs' records.
inline std::vector<double> scalars_without_timings(const pl::Metrics& m) {
  std::vector<double> v(static_cast<size_t>(m.num_scalars()));
  m.scalars(v.data());
  const std::vector<std::string> names = m.names();
  std::vector<double> out;
  for (size_t i = 0; i < v.size(); ++i)
    if (names[i] != "wall_s" && names[i] != "sps" && names[i] != "instances_per_s") out.push_back(v[i]);
  return out;
}

// Equal element by element, NaN equal to NaN (metrics a step does not have are NaN).
inline bool same_values(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

// Steps an SFT run until its held-out greedy accuracy (`count` held-out problems, checked every
// `every` steps; the first `count` of the problems the run's own held-out evaluation scores) first reaches `at_least`, or the run ends; returns the last accuracy measured. The
// RL tests start from a half-trained model: where an SFT run's rising edge falls moves with the
// rounding (a constant-rate SFT run plateaus, then rises within ~50 steps, a few hundred steps
// earlier or later from one instruction set to another), so they stop on the edge, not at a step.
inline double train_until_accuracy(pl::Trainer& t, double at_least, int every, int count) {
  double accuracy = 0;
  while (!t.done()) {
    t.step();
    if (t.iteration() % every != 0) continue;
    accuracy = t.sequence().evaluate(count, 0, pl::SequenceLearner::kHeldoutSeed).accuracy;
    if (accuracy >= at_least) break;
  }
  return accuracy;
}

// A combinatorial run of `cfg` saved after 3 steps (past a baseline's warm-up and first epoch) and
// loaded continues exactly (every metric but the timings, the weights and a rollout baseline's
// frozen copy), and 6 steady-state steps of it (evaluations and epoch ends included) allocate nothing.
inline void check_combo_resumes_without_allocating(nlohmann::json cfg) {
  pl::Trainer a(pl::validate_config(cfg));
  for (int k = 0; k < 3; ++k) a.step();
  std::unique_ptr<pl::Trainer> c = pl::Trainer::load_bytes(a.save_bytes());
  while (!a.done()) REQUIRE(same_values(scalars_without_timings(a.step()), scalars_without_timings(c->step())));
  CHECK(a.combo().model_params().values() == c->combo().model_params().values());
  if (a.combo().baseline_params()) CHECK(a.combo().baseline_params()->values() == c->combo().baseline_params()->values());
  cfg["max_steps"] = 20;
  pl::Trainer t(pl::validate_config(cfg));
  for (int k = 0; k < 3; ++k) t.step();  // warm-up: the first evaluation, epoch end and frozen rollout
  CHECK(allocations_during(t, 6) == 0);
}
