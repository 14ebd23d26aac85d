// The algorithms PolicyLab knows: one table. Each algorithm's file defines its schema (its
// hyperparameters, documented where they are defined) and its factory; adding an algorithm is its
// file plus one row in registry.cpp.
#pragma once

#include <memory>
#include <vector>

#include "core/train/config.hpp"

namespace pl {

class Algorithm;

struct AlgorithmEntry {
  const char* name;
  Schema (*schema)();
  std::unique_ptr<Algorithm> (*make)(const Config&);
  const char* task_kind;  // "env" or "sequence"
};

// In the order `policylab algos` and the browser list them.
const std::vector<AlgorithmEntry>& algorithm_table();

// Builds the algorithm named by config.algo() (the config is already validated).
std::unique_ptr<Algorithm> make_algorithm(const Config& config);

}  // namespace pl
