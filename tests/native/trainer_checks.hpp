// Checks every trainer's tests make: the steady-state loop allocates nothing, and a checkpoint
// resumes the run exactly.
#pragma once

#include <catch2/catch.hpp>
#include <initializer_list>

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
