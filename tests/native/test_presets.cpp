// Presets (core/train/presets.hpp): every pair a user can pick has one, each validates against its
// algorithm's schema, the user's fields win, rows taken from examples/ equal their example (so the
// example's learning test in test_training.cpp / test_sft.cpp checks the preset's expected result),
// and the cheap presets that no example covers are trained here to their expected result.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>

#include "core/algos/registry.hpp"
#include "core/envs/env.hpp"
#include "core/tasks/registry.hpp"
#include "core/train/presets.hpp"
#include "core/train/trainer.hpp"
#include "examples.hpp"

using namespace pl;

TEST_CASE("Every algorithm x task pair a user can pick has exactly one preset", "[presets]") {
  std::set<std::string> expected;
  for (const AlgorithmEntry& a : algorithm_table()) {
    const bool sequence = std::string(a.task_kind) == "sequence";
    if (std::string(a.task_kind) == "combo") {
      // The problems the policies learn (the schema's `problem` choices).
      for (const char* problem : {"tsp", "cvrp", "knapsack", "jobshop", "binpack1d", "binpack3d"}) expected.insert(std::string(a.name) + "/" + problem);
      continue;
    }
    if (sequence) {
      for (const TaskSpec& t : all_tasks()) expected.insert(std::string(a.name) + "/" + t.id);
    } else {
      for (const std::string& id : env_ids()) expected.insert(std::string(a.name) + "/" + id);
    }
  }
  std::set<std::string> names;
  for (const Preset& p : all_presets()) {
    INFO(p.name());
    CHECK(names.insert(p.name()).second);  // no duplicates
  }
  CHECK(names == expected);
  for (const std::string& name : expected) {
    const size_t slash = name.find('/');
    CHECK(find_preset(name.substr(0, slash), name.substr(slash + 1)) != nullptr);
  }
}

TEST_CASE("Every preset validates against its algorithm's schema and says what it should reach", "[presets]") {
  for (const Preset& p : all_presets()) {
    INFO(p.name());
    const Config c = validate_config(p.values);  // throws ConfigError on an unknown or out-of-range field
    CHECK(c.algo() == p.algo);
    CHECK(c.get_string(task_field(p.algo)) == p.task);
    CHECK_FALSE(p.expected.empty());
    CHECK(p.expected.find("TODO") == std::string::npos);
    CHECK_FALSE(p.source.empty());
    // A pair that does not learn well must say why.
    if (!p.learns) CHECK_FALSE(p.note.empty());
    // Every preset builds a trainer (catches cross-field constraints validation cannot see).
    CHECK_NOTHROW(Trainer(c));
  }
}

TEST_CASE("Presets taken from examples/ equal their example config", "[presets]") {
  // The learning tests train the examples (test_training.cpp: ppo_cartpole, ppo_pendulum; test_sft.cpp:
  // addition), so equality here makes them tests of these presets' expected results too.
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"ppo/CartPole-v1", "examples/ppo_cartpole.json"},      {"ppo/Acrobot-v1", "examples/ppo_acrobot.json"},
      {"ppo/Pendulum-v1", "examples/ppo_pendulum.json"},      {"a2c/CartPole-v1", "examples/a2c_cartpole.json"},
      {"reinforce/CartPole-v1", "examples/reinforce_cartpole.json"}, {"sft/addition", "examples/sft_addition.json"},
      {"sft/sort", "examples/sft_sort.json"},                 {"sft/countdown", "examples/sft_countdown.json"},
      {"pomo/tsp", "examples/pomo_tsp20.json"},               {"pomo/cvrp", "examples/pomo_cvrp20.json"},
      {"pomo/knapsack", "examples/pomo_knapsack50.json"},   {"pomo/jobshop", "examples/pomo_jobshop6x6.json"},
      {"pomo/binpack1d", "examples/pomo_binpack1d.json"},   {"pomo/binpack3d", "examples/pomo_binpack3d.json"},
  };
  for (const auto& [name, file] : pairs) {
    INFO(name << " vs " << file);
    const Preset& p = preset_named(name);
    CHECK(p.source.find(file) != std::string::npos);
    CHECK(validate_config(p.values).values() == validate_config(load_example(file)).values());
  }
  // GRPO's example warm-starts from a file; its preset is the example without init_from.
  json grpo = load_example("examples/grpo_addition.json");
  grpo.erase("init_from");
  CHECK(validate_config(preset_named("grpo/addition").values).values() == validate_config(grpo).values());
  // So are the preference trainers'.
  for (const char* algo : {"dpo", "kto", "reward_model"}) {
    INFO(algo);
    json example = load_example(std::string("examples/") + algo + "_addition.json");
    example.erase("init_from");
    CHECK(validate_config(preset_named(std::string(algo) + "/addition").values).values() == validate_config(example).values());
  }
}

TEST_CASE("A preset fills what the user left out, the user's explicit fields win", "[presets]") {
  const Preset& pendulum = preset_named("ppo/Pendulum-v1");
  // A config naming only the algorithm and the task gets the whole preset.
  const json only_pair = {{"algo", "ppo"}, {"env_id", "Pendulum-v1"}};
  REQUIRE(preset_for_config(only_pair) == &pendulum);
  const Config c = validate_config(apply_preset(pendulum, only_pair));
  CHECK(c.get_float("gamma") == 0.9);
  CHECK(c.get_float("learning_rate") == 0.001);
  CHECK(c.get_bool("norm_obs"));
  // Not CartPole's settings (the schema defaults), which do not learn Pendulum in the budget.
  CHECK(c.get_float("gamma") != schema_for("ppo").find("gamma")->default_value.get<double>());

  // Explicit fields win, whatever their value (also one equal to the schema default).
  const json user = {{"algo", "ppo"}, {"env_id", "Pendulum-v1"}, {"learning_rate", 3e-4}, {"gamma", 0.99}, {"seed", 7}};
  const Config mine = validate_config(apply_preset(pendulum, user));
  CHECK(mine.get_float("learning_rate") == 3e-4);
  CHECK(mine.get_float("gamma") == 0.99);
  CHECK(mine.get_int("seed") == 7);
  CHECK(mine.get_int("num_steps") == 512);  // still the preset's

  // The pair comes from the schema defaults when the config names neither (ppo on CartPole-v1);
  // sequence algorithms use the task.
  CHECK(preset_for_config(json::object())->name() == "ppo/CartPole-v1");
  CHECK(preset_for_config({{"algo", "sft"}, {"task", "sort"}})->name() == "sft/sort");
  CHECK(preset_for_config({{"algo", "a2c"}, {"env_id", "MountainCar-v0"}})->name() == "a2c/MountainCar-v0");
  CHECK(preset_for_config({{"algo", "pomo"}, {"problem", "cvrp"}})->name() == "pomo/cvrp");
  CHECK(preset_for_config({{"algo", "pomo"}})->name() == "pomo/tsp");
  // A config the schema will refuse has no preset (validation names the mistake).
  CHECK(preset_for_config({{"algo", "dqn"}}) == nullptr);
  CHECK(preset_for_config({{"env_id", "Nope-v0"}}) == nullptr);
  CHECK(preset_for_config({{"algo", 3}}) == nullptr);
}

TEST_CASE("Preset errors name the presets and the contradiction", "[presets]") {
  try {
    preset_named("ppo/Pendulum");
    FAIL("no error");
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    CHECK(message.find("unknown preset 'ppo/Pendulum'") != std::string::npos);
    CHECK(message.find("ppo/Pendulum-v1") != std::string::npos);
    CHECK(message.find("sft/addition") != std::string::npos);
  }
  const Preset& p = preset_named("ppo/Pendulum-v1");
  CHECK_THROWS_WITH(apply_preset(p, {{"env_id", "CartPole-v1"}}),
                    Catch::Contains("preset 'ppo/Pendulum-v1' is for env_id 'Pendulum-v1'"));
  CHECK_THROWS_WITH(apply_preset(p, {{"algo", "a2c"}}), Catch::Contains("is for algo 'ppo'"));
  CHECK_THROWS_AS(apply_preset(p, json::array()), ConfigError);
}

TEST_CASE("presets_to_json lists every preset with its expected result", "[presets]") {
  const json list = presets_to_json();
  REQUIRE(list.size() == all_presets().size());
  for (const json& p : list) {
    for (const char* key : {"name", "algo", "task", "values", "source", "expected", "note", "learns"})
      CHECK(p.contains(key));
    CHECK(p.at("name") == p.at("algo").get<std::string>() + "/" + p.at("task").get<std::string>());
  }
}

// The presets no example covers and that train in seconds: each reaches its expected result
// (seed 1; measured deterministic evaluations in the comments, thresholds leave a margin).
TEST_CASE("Cheap presets reach their expected results", "[presets][learning]") {
  struct Case {
    const char* name;
    double min_eval;  // deterministic evaluation over 20 episodes
  };
  const Case cases[] = {
      {"a2c/MountainCarContinuous-v0", 80.0},  // measured 92.7 (100k steps)
      {"ppo/MountainCarContinuous-v0", 80.0},  // measured 93.5 (200k steps)
      {"a2c/Acrobot-v1", -120.0},              // measured -83 (500k steps)
      {"reinforce/Acrobot-v1", -120.0},        // measured -80 (500k steps)
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const Preset& p = preset_named(c.name);
    REQUIRE(p.learns);
    Trainer t(validate_config(p.values));
    while (!t.done()) t.step();
    const double eval = t.evaluate(20, true).return_mean;
    INFO("deterministic evaluation mean return " << eval);
    CHECK(eval >= c.min_eval);
  }
}

TEST_CASE("The sft/reverse preset learns reversal within its first 100 steps", "[presets][learning][sft]") {
  // The preset's 1000-step run is at 100% from its first evaluation (step 100); a user's max_steps
  // (an explicit field) shortens it, and 100 steps already reach >= 95%.
  const Preset& p = preset_named("sft/reverse");
  Trainer t(validate_config(apply_preset(p, {{"max_steps", 100}})));
  while (!t.done()) t.step();
  const double accuracy = t.last_metrics().extra_named("heldout_accuracy");
  INFO("held-out greedy accuracy after 100 steps: " << accuracy);
  CHECK(accuracy >= 0.95);
}
