// JSON descriptions shared by the CLI and the browser bindings, so both shells show the same facts
// in the same shape.
#pragma once

#include <nlohmann/json.hpp>

#include "core/envs/env.hpp"
#include "core/train/trainer.hpp"

namespace pl {

// {"discrete": true, "n": 2} or {"discrete": false, "dim": 3, "low": [...], "high": [...]}
// (JSON has no infinity: unbounded components are null).
nlohmann::json describe_space(const Space& space);
// {"id", "observation_space", "action_space", "max_episode_steps", "state_names", "render_names"}
nlohmann::json describe_env(const Env& env);
// {"episodes", "return_mean", "return_std", "return_min", "return_max", "length_mean", "returns"}
nlohmann::ordered_json describe_evaluation(const EvalResult& result);

}  // namespace pl
