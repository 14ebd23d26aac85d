// The algorithms PolicyLab knows. Each algorithm's file defines its schema (its hyperparameters,
// documented where they are defined) and its factory.
#pragma once

#include <memory>
#include <vector>

#include "core/train/config.hpp"

namespace pl {

class Algorithm;

Schema ppo_schema();
Schema a2c_schema();
Schema reinforce_schema();

// Builds the algorithm named by config.algo() (the config is already validated).
std::unique_ptr<Algorithm> make_algorithm(const Config& config);

}  // namespace pl
