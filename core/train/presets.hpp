// Presets: a tuned set of field values for every algorithm × task pair a user can pick, with the
// result it should reach written beside it (as RL Zoo keeps its hyperparameter files). The schema
// defaults are one set for all tasks (CleanRL's CartPole settings for env tasks), which do not
// learn Pendulum or MountainCar in their budget; a preset is what a run of that pair starts from.
//
// A preset sits between the schema defaults and the user: fields the user sets explicitly always
// win, the preset fills in the rest, the schema the remainder. The CLI (`policylab train`), the
// playground and the <policy-lab> element all apply the same table (the browser reads it through
// the wasm bindings' presets()).
#pragma once

#include <string>
#include <vector>

#include "core/train/config.hpp"

namespace pl {

struct Preset {
  std::string algo;      // "ppo"
  std::string task;      // what the run learns: an env id (env algorithms) or a sequence task id
  json values;           // the tuned fields, algo and env_id/task included; validates as a config
  std::string source;    // where the values come from ("examples/ppo_pendulum.json", "RL Zoo a2c.yml")
  std::string expected;  // the result it should reach, e.g. "mean return ≥ -200 from 200k steps (seed 1)"
  std::string note;      // caveats, or why the pair does not learn well; may be empty
  bool learns = true;    // false: the pair does not learn well in a reasonable budget (the note says why)

  std::string name() const { return algo + "/" + task; }  // "ppo/Pendulum-v1"
  json to_json() const;
};

// Every preset, in `policylab algos` order, then task order (envs, then sequence tasks).
const std::vector<Preset>& all_presets();

// The preset of a pair; nullptr when there is none.
const Preset* find_preset(const std::string& algo, const std::string& task);
// The preset named "algo/task"; ConfigError naming the known presets when there is none.
const Preset& preset_named(const std::string& name);

// The field naming what a run of `algo` learns: "env_id" or "task" (ConfigError for an unknown algo).
std::string task_field(const std::string& algo);

// The algo/task pair a user config selects (the schema's defaults where it names neither); the
// preset of that pair, or nullptr (also for an algo or task the config gets wrong: validation
// reports those).
const Preset* preset_for_config(const json& user);

// The preset's values with the user's explicit fields on top (they always win). `user` must be an
// object; its algo and task, when given, must be the preset's (ConfigError otherwise).
json apply_preset(const Preset& preset, const json& user);

// [{name, algo, task, values, source, expected, note, learns}, ...] for the CLI and the browser.
json presets_to_json();

}  // namespace pl
