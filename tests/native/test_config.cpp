// Configuration schemas, validation messages, and the metrics record.
//
// Ranges are read from the schema where an algorithm could legitimately change them; the exact text
// of messages is checked against the shape documented in config.hpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string>

#include "core/algos/algorithm.hpp"
#include "core/algos/registry.hpp"
#include "core/envs/env.hpp"
#include "core/train/config.hpp"
#include "core/train/presets.hpp"
#include "core/train/metrics.hpp"

using pl::json;

namespace {

// The message of the ConfigError that `fn` throws ("" when it throws none).
template <typename Fn>
std::string config_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const pl::ConfigError& error) {
    return error.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string validation_error(const json& user) {
  return config_error_of([&] { pl::validate_config(user); });
}

const pl::FieldSpec& ppo_field(const std::string& name) {
  const pl::FieldSpec* spec = pl::schema_for("ppo").find(name);
  REQUIRE(spec != nullptr);
  return *spec;
}

}  // namespace

// Run fields, then the env task kind's fields, then the optimizer's.
TEST_CASE("common fields: types, defaults, groups and live flags", "[config]") {
  const pl::Schema schema = pl::make_schema("ppo", "test", {});
  struct Expected {
    const char* name;
    pl::FieldType type;
    json default_value;
    const char* group;
    bool live;
  };
  const Expected expected[] = {
      {"algo", pl::FieldType::String, "ppo", "run", false},
      {"seed", pl::FieldType::Int, 1, "run", false},
      {"env_id", pl::FieldType::String, "CartPole-v1", "env", false},
      {"total_timesteps", pl::FieldType::Int, 500000, "run", false},
      {"num_envs", pl::FieldType::Int, 4, "rollout", false},
      {"num_steps", pl::FieldType::Int, 128, "rollout", false},
      {"gamma", pl::FieldType::Float, 0.99, "rollout", false},
      {"gae_lambda", pl::FieldType::Float, 0.95, "rollout", false},
      {"ent_coef", pl::FieldType::Float, 0.01, "loss", true},
      {"vf_coef", pl::FieldType::Float, 0.5, "loss", true},
      {"norm_adv", pl::FieldType::Bool, true, "loss", false},
      {"hidden_sizes", pl::FieldType::IntList, json::array({64, 64}), "network", false},
      {"activation", pl::FieldType::String, "tanh", "network", false},
      {"init_log_std", pl::FieldType::Float, 0.0, "network", false},
      {"norm_obs", pl::FieldType::Bool, false, "env", false},
      {"norm_reward", pl::FieldType::Bool, false, "env", false},
      {"clip_obs", pl::FieldType::Float, 10.0, "env", false},
      {"clip_reward", pl::FieldType::Float, 10.0, "env", false},
      {"learning_rate", pl::FieldType::Float, 2.5e-4, "optim", true},
      {"anneal_lr", pl::FieldType::Bool, true, "optim", false},
      {"optimizer", pl::FieldType::String, "adam", "optim", false},
      {"adam_eps", pl::FieldType::Float, 1e-5, "optim", false},
      {"max_grad_norm", pl::FieldType::Float, 0.5, "optim", true},
  };
  REQUIRE(schema.fields.size() == sizeof expected / sizeof expected[0]);
  for (size_t i = 0; i < schema.fields.size(); ++i) {
    const pl::FieldSpec& spec = schema.fields[i];
    INFO("field " << spec.name);
    CHECK(spec.name == expected[i].name);
    CHECK(spec.type == expected[i].type);
    CHECK(spec.default_value == expected[i].default_value);
    CHECK(spec.group == expected[i].group);
    CHECK(spec.live == expected[i].live);
    CHECK_FALSE(spec.doc.empty());
  }
  CHECK(schema.find("env_id")->choices == pl::env_ids());
  CHECK(schema.find("algo")->choices == std::vector<std::string>{"ppo", "a2c", "reinforce", "sft", "grpo", "dpo", "kto", "reward_model", "pomo"});
  CHECK(schema.find("hidden_sizes")->max_items == 8);
}

TEST_CASE("make_schema: specific fields replace common ones in place or are appended", "[config]") {
  pl::FieldSpec num_steps;
  num_steps.name = "num_steps";
  num_steps.type = pl::FieldType::Int;
  num_steps.default_value = 5;
  num_steps.min = 1;
  num_steps.max = 100000;
  num_steps.group = "rollout";
  num_steps.doc = "a2c's short rollouts";
  pl::FieldSpec extra;
  extra.name = "my_coef";
  extra.type = pl::FieldType::Float;
  extra.default_value = 1;  // an integer default for a Float field is normalised to 1.0
  extra.min = 0;
  extra.max = 2;
  extra.group = "loss";
  extra.doc = "a specific field";

  const pl::Schema common = pl::make_schema("a2c", "test", {});
  const pl::Schema schema = pl::make_schema("a2c", "test", {num_steps, extra});
  REQUIRE(schema.fields.size() == common.fields.size() + 1);
  for (size_t i = 0; i < common.fields.size(); ++i) CHECK(schema.fields[i].name == common.fields[i].name);
  CHECK(schema.find("num_steps")->default_value == 5);
  CHECK(schema.find("num_steps")->doc == "a2c's short rollouts");
  CHECK(schema.fields.back().name == "my_coef");
  CHECK(schema.fields.back().default_value.is_number_float());
  CHECK(schema.find("algo")->default_value == "a2c");

  extra.default_value = 3;  // outside [0, 2]: a programming error caught when the schema is built
  const std::string message = config_error_of([&] { pl::make_schema("a2c", "test", {extra}); });
  CHECK(contains(message, "my_coef"));
  CHECK(contains(message, "[0, 2]"));
}

TEST_CASE("range_text describes each type", "[config]") {
  const pl::Schema schema = pl::make_schema("ppo", "test", {});
  CHECK(schema.find("num_envs")->range_text() == "an integer in [1, 1024]");
  CHECK(schema.find("total_timesteps")->range_text() == "an integer in [1, 10000000000]");
  CHECK(schema.find("seed")->range_text() == "an integer in [0, 2147483647]");
  CHECK(schema.find("gamma")->range_text() == "a float in [0, 1]");
  CHECK(schema.find("adam_eps")->range_text() == "a float in [1e-12, 1]");
  CHECK(schema.find("max_grad_norm")->range_text() == "a float in [0, 1000000]");
  CHECK(schema.find("init_log_std")->range_text() == "a float in [-5, 2]");
  CHECK(schema.find("anneal_lr")->range_text() == "true or false");
  CHECK(schema.find("activation")->range_text() == "one of: tanh, relu");
  CHECK(schema.find("hidden_sizes")->range_text() == "a list of 1 to 8 integers, each in [1, 4096]");
}

TEST_CASE("all_schemas and schema_for", "[config]") {
  const auto& schemas = pl::all_schemas();
  REQUIRE(schemas.size() == 9);
  CHECK(schemas[0].algo == "ppo");
  CHECK(schemas[1].algo == "a2c");
  CHECK(schemas[2].algo == "reinforce");
  CHECK(schemas[3].algo == "sft");
  CHECK(schemas[3].task_kind == "sequence");
  CHECK(schemas[4].algo == "grpo");
  CHECK(schemas[5].algo == "dpo");
  CHECK(schemas[5].task_kind == "sequence");
  CHECK(schemas[6].algo == "kto");
  CHECK(schemas[6].task_kind == "sequence");
  CHECK(schemas[7].algo == "reward_model");
  CHECK(schemas[7].task_kind == "sequence");
  CHECK(schemas[8].algo == "pomo");
  CHECK(schemas[8].task_kind == "combo");
  CHECK(&pl::all_schemas() == &schemas);  // built once
  CHECK(&pl::schema_for("a2c") == &schemas[1]);
  for (const pl::Schema& schema : schemas) {
    CHECK_FALSE(schema.summary.empty());
    for (const pl::FieldSpec& spec : schema.fields) {
      INFO(schema.algo << "." << spec.name);
      CHECK_FALSE(spec.doc.empty());
      CHECK_FALSE(spec.group.empty());
    }
  }
  const std::string message = config_error_of([] { pl::schema_for("dqn"); });
  CHECK(contains(message, "'algo'"));
  CHECK(contains(message, "ppo, a2c, reinforce"));
  CHECK(contains(message, "dqn"));
}

TEST_CASE("The algorithm table is the one list: schemas, algo choices and factories follow it", "[config][registry]") {
  const auto& table = pl::algorithm_table();
  const auto& schemas = pl::all_schemas();
  REQUIRE(schemas.size() == table.size());
  std::vector<std::string> names;
  for (const pl::AlgorithmEntry& e : table) names.push_back(e.name);
  for (size_t i = 0; i < table.size(); ++i) {
    const pl::AlgorithmEntry& e = table[i];
    INFO(e.name);
    const std::string kind = e.task_kind;
    CHECK((kind == "env" || kind == "sequence" || kind == "combo"));
    CHECK(schemas[i].algo == e.name);
    CHECK(schemas[i].task_kind == kind);
    CHECK(&pl::schema_for(e.name) == &schemas[i]);
    CHECK(schemas[i].find("algo")->choices == names);  // the config's algo choices, in table order
    const std::unique_ptr<pl::Algorithm> algo = pl::make_algorithm(pl::validate_config({{"algo", e.name}}));
    REQUIRE(algo != nullptr);
    CHECK((algo->actor_critic() != nullptr) == (kind == "env"));
    CHECK((algo->sequence_learner() != nullptr) == (kind == "sequence"));
    CHECK((algo->combo_learner() != nullptr) == (kind == "combo"));
  }
}

TEST_CASE("validate_config fills defaults", "[config]") {
  for (const char* algo : {"ppo", "a2c", "reinforce"}) {
    INFO(algo);
    const json user = std::string(algo) == "ppo" ? json::object() : json{{"algo", algo}};
    const pl::Config config = pl::validate_config(user);
    CHECK(config.algo() == algo);
    const pl::Schema& schema = pl::schema_for(algo);
    CHECK(&config.schema() == &schema);
    CHECK(config.values().size() == schema.fields.size());
    for (const pl::FieldSpec& spec : schema.fields) {
      INFO(spec.name);
      REQUIRE(config.values().contains(spec.name));
      CHECK(config.values().at(spec.name) == spec.default_value);
    }
    CHECK(config.get_string("algo") == algo);
  }
  const pl::Config config = pl::validate_config({{"num_envs", 8}, {"learning_rate", 1e-3}});
  CHECK(config.get_int("num_envs") == 8);
  CHECK(config.get_float("learning_rate") == Approx(1e-3));
  CHECK(config.get_string("env_id") == ppo_field("env_id").default_value.get<std::string>());
  CHECK(config.get_int_list("hidden_sizes") ==
        ppo_field("hidden_sizes").default_value.get<std::vector<int>>());
}

TEST_CASE("validate_config rejects non-objects and unknown algos", "[config]") {
  CHECK(contains(validation_error(json::array()), "must be a JSON object, got array"));
  CHECK(contains(validation_error(json(3)), "must be a JSON object"));

  std::string message = validation_error({{"algo", "dqn"}});
  CHECK(message == "field 'algo' must be one of: ppo, a2c, reinforce, sft, grpo, dpo, kto, reward_model, pomo, got \"dqn\"");
  message = validation_error({{"algo", 1}});
  CHECK(message == "field 'algo' must be one of: ppo, a2c, reinforce, sft, grpo, dpo, kto, reward_model, pomo, got 1");
}

TEST_CASE("validate_config: wrong type and out-of-range messages name field and range", "[config]") {
  const std::string num_envs_range = ppo_field("num_envs").range_text();
  CHECK(validation_error({{"num_envs", "four"}}) ==
        "field 'num_envs' must be " + num_envs_range + ", got \"four\"");
  CHECK(validation_error({{"num_envs", 0}}) == "field 'num_envs' must be " + num_envs_range + ", got 0");
  CHECK(validation_error({{"num_envs", 1025}}) == "field 'num_envs' must be " + num_envs_range + ", got 1025");
  CHECK(validation_error({{"num_envs", 2.5}}) == "field 'num_envs' must be " + num_envs_range + ", got 2.5");
  CHECK(validation_error({{"num_envs", true}}) == "field 'num_envs' must be " + num_envs_range + ", got true");
  CHECK(validation_error({{"num_envs", nullptr}}) == "field 'num_envs' must be " + num_envs_range + ", got null");

  const std::string gamma_range = ppo_field("gamma").range_text();
  CHECK(validation_error({{"gamma", 1.5}}) == "field 'gamma' must be " + gamma_range + ", got 1.5");
  CHECK(validation_error({{"gamma", "0.9"}}) == "field 'gamma' must be " + gamma_range + ", got \"0.9\"");
  CHECK(validation_error({{"gamma", std::numeric_limits<double>::quiet_NaN()}}) ==
        "field 'gamma' must be " + gamma_range + ", got NaN");
  CHECK(validation_error({{"max_grad_norm", std::numeric_limits<double>::infinity()}}) ==
        "field 'max_grad_norm' must be " + ppo_field("max_grad_norm").range_text() + ", got inf");

  CHECK(validation_error({{"anneal_lr", 1}}) == "field 'anneal_lr' must be true or false, got 1");
  CHECK(validation_error({{"anneal_lr", "true"}}) == "field 'anneal_lr' must be true or false, got \"true\"");

  CHECK(validation_error({{"activation", "sigmoid"}}) ==
        "field 'activation' must be " + ppo_field("activation").range_text() + ", got \"sigmoid\"");
  const std::string env_message = validation_error({{"env_id", "CartPole-v0"}});
  CHECK(contains(env_message, "field 'env_id' must be one of: "));
  for (const std::string& id : pl::env_ids()) CHECK(contains(env_message, id));
  CHECK(contains(validation_error({{"optimizer", "rmsprop"}}), "one of: adam, sgd"));

  // Only one field is wrong: the message names it, not a neighbour.
  const std::string seed_message = validation_error({{"num_envs", 2}, {"seed", -1}});
  CHECK(seed_message == "field 'seed' must be " + ppo_field("seed").range_text() + ", got -1");
}

TEST_CASE("validate_config: Int accepts integral floats, Float accepts integers", "[config]") {
  const pl::Config config = pl::validate_config(
      {{"num_envs", 8.0}, {"total_timesteps", 1e6}, {"learning_rate", 1}, {"seed", 0}});
  CHECK(config.get_int("num_envs") == 8);
  CHECK(config.get_int("total_timesteps") == 1000000);
  CHECK(config.values().at("total_timesteps").is_number_integer());
  CHECK(config.get_float("learning_rate") == 1.0);
  CHECK(config.values().at("learning_rate").is_number_float());
  CHECK(config.get_int("seed") == 0);

  // Beyond 32 bits is fine for total_timesteps (its range goes to 1e10).
  CHECK(pl::validate_config({{"total_timesteps", 10000000000LL}}).get_int("total_timesteps") == 10000000000LL);
  CHECK(contains(validation_error({{"total_timesteps", 1e11}}), "field 'total_timesteps' must be an integer in ["));
  CHECK(contains(validation_error({{"total_timesteps", 18446744073709551615ULL}}), "field 'total_timesteps'"));
}

TEST_CASE("validate_config: IntList checks", "[config]") {
  const std::string range = ppo_field("hidden_sizes").range_text();
  CHECK(range == "a list of 1 to 8 integers, each in [1, 4096]");
  const pl::Config config = pl::validate_config({{"hidden_sizes", {32.0, 16}}});
  CHECK(config.get_int_list("hidden_sizes") == std::vector<int>{32, 16});
  CHECK(config.values().at("hidden_sizes")[0].is_number_integer());

  CHECK(validation_error({{"hidden_sizes", json::array()}}) == "field 'hidden_sizes' must be " + range + ", got []");
  CHECK(validation_error({{"hidden_sizes", 64}}) == "field 'hidden_sizes' must be " + range + ", got 64");
  CHECK(validation_error({{"hidden_sizes", {64, 0}}}) ==
        "field 'hidden_sizes' must be " + range + ", got [64,0] (item 1 is 0)");
  CHECK(validation_error({{"hidden_sizes", {64, "a"}}}) ==
        "field 'hidden_sizes' must be " + range + ", got [64,\"a\"] (item 1 is \"a\")");
  CHECK(validation_error({{"hidden_sizes", {8, 1.5}}}) ==
        "field 'hidden_sizes' must be " + range + ", got [8,1.5] (item 1 is 1.5)");
  const std::string too_long = validation_error({{"hidden_sizes", {1, 2, 3, 4, 5, 6, 7, 8, 9}}});
  CHECK(too_long == "field 'hidden_sizes' must be " + range + ", got [1,2,3,4,5,6,7,8,9] (9 items)");
  CHECK(pl::validate_config({{"hidden_sizes", {1, 2, 3, 4, 5, 6, 7, 4096}}}).get_int_list("hidden_sizes").size() == 8);
}

TEST_CASE("validate_config: unknown fields get a did-you-mean hint", "[config]") {
  CHECK(validation_error({{"lerning_rate", 1e-3}}) == "unknown field 'lerning_rate' (did you mean 'learning_rate'?)");
  CHECK(validation_error({{"num_env", 4}}) == "unknown field 'num_env' (did you mean 'num_envs'?)");
  CHECK(validation_error({{"total-timesteps", 4}}) ==
        "unknown field 'total-timesteps' (did you mean 'total_timesteps'?)");
  CHECK(validation_error({{"gmama", 0.9}}) == "unknown field 'gmama' (did you mean 'gamma'?)");

  const std::string far = validation_error({{"zzzzzzzzzzzz", 1}});
  CHECK(contains(far, "unknown field 'zzzzzzzzzzzz' for algo 'ppo'; valid fields: "));
  for (const pl::FieldSpec& spec : pl::schema_for("ppo").fields) CHECK(contains(far, spec.name));

  // A field that only another algorithm has is rejected and named.
  const pl::Schema& a2c = pl::schema_for("a2c");
  for (const pl::FieldSpec& spec : pl::schema_for("ppo").fields) {
    if (a2c.find(spec.name) != nullptr) continue;
    const std::string message = validation_error({{"algo", "a2c"}, {spec.name, spec.default_value}});
    INFO(message);
    CHECK(contains(message, "unknown field '" + spec.name + "'"));
  }
}

TEST_CASE("Config getters reject missing names and wrong types", "[config]") {
  const pl::Config config = pl::validate_config(json::object());
  CHECK(contains(config_error_of([&] { config.get_int("no_such_field"); }), "no_such_field"));
  CHECK(contains(config_error_of([&] { config.get_int("gamma"); }), "gamma"));
  CHECK(contains(config_error_of([&] { config.get_bool("env_id"); }), "env_id"));
  CHECK(contains(config_error_of([&] { config.get_string("num_envs"); }), "num_envs"));
  CHECK(contains(config_error_of([&] { config.get_int_list("seed"); }), "seed"));
  CHECK(config.get_float("num_envs") == 4.0);  // an integer reads as a number too
  CHECK_FALSE(config_error_of([] { pl::Config().schema(); }).empty());
}

TEST_CASE("Config::set: live fields on a running trainer, validation always", "[config]") {
  pl::Config config = pl::validate_config(json::object());
  REQUIRE(ppo_field("learning_rate").live);
  REQUIRE_FALSE(ppo_field("num_envs").live);

  config.set("learning_rate", 1e-3, /*require_live=*/true);
  CHECK(config.get_float("learning_rate") == Approx(1e-3));
  config.set("ent_coef", 0, true);
  CHECK(config.values().at("ent_coef").is_number_float());

  CHECK(config_error_of([&] { config.set("num_envs", 8, true); }) ==
        "field 'num_envs' cannot change on a running trainer; it applies on reset");
  CHECK(config.get_int("num_envs") == 4);
  config.set("num_envs", 8);  // between runs, any field may change
  CHECK(config.get_int("num_envs") == 8);

  const std::string bad = config_error_of([&] { config.set("learning_rate", -1.0, true); });
  CHECK(bad == "field 'learning_rate' must be " + ppo_field("learning_rate").range_text() + ", got -1.0");
  CHECK(config.get_float("learning_rate") == Approx(1e-3));  // unchanged after a rejected set

  CHECK(config_error_of([&] { config.set("lerning_rate", 1e-3, true); }) ==
        "unknown field 'lerning_rate' (did you mean 'learning_rate'?)");
  CHECK(contains(config_error_of([&] { config.set("algo", "a2c"); }), "algo"));
  config.set("algo", "ppo");  // the same algorithm is a no-op
  CHECK(config.algo() == "ppo");
}

TEST_CASE("parse_assignment", "[config]") {
  using Assignment = std::pair<std::string, json>;
  CHECK(pl::parse_assignment("num_envs=8") == Assignment{"num_envs", 8});
  CHECK(pl::parse_assignment("learning_rate=1e-3") == Assignment{"learning_rate", 1e-3});
  CHECK(pl::parse_assignment("anneal_lr=false") == Assignment{"anneal_lr", false});
  CHECK(pl::parse_assignment("hidden_sizes=[32,32]") == Assignment{"hidden_sizes", json::array({32, 32})});
  CHECK(pl::parse_assignment("env_id=CartPole-v1") == Assignment{"env_id", "CartPole-v1"});
  CHECK(pl::parse_assignment("env_id=\"Acrobot-v1\"") == Assignment{"env_id", "Acrobot-v1"});
  CHECK(pl::parse_assignment("activation=relu") == Assignment{"activation", "relu"});
  CHECK(pl::parse_assignment("name=a=b") == Assignment{"name", "a=b"});
  CHECK(pl::parse_assignment("name=") == Assignment{"name", ""});
  CHECK(pl::parse_assignment(" seed =3") == Assignment{"seed", 3});

  CHECK(contains(config_error_of([] { pl::parse_assignment("num_envs"); }), "key=value"));
  CHECK(contains(config_error_of([] { pl::parse_assignment("=3"); }), "key=value"));

  // Round trip into validation: a string where a number is expected names the field.
  auto [key, value] = pl::parse_assignment("num_envs=four");
  CHECK(validation_error({{key, value}}) ==
        "field 'num_envs' must be " + ppo_field("num_envs").range_text() + ", got \"four\"");
}

TEST_CASE("Schema::to_json shape", "[config]") {
  const json schema = pl::schema_for("ppo").to_json();
  CHECK(schema.at("algo") == "ppo");
  CHECK(schema.at("summary").is_string());
  REQUIRE(schema.at("fields").is_array());
  REQUIRE(schema.at("fields").size() == pl::schema_for("ppo").fields.size());
  const std::set<std::string> types = {"int", "float", "bool", "string", "int_list"};
  const std::set<std::string> groups = {"run", "env", "rollout", "loss", "optim", "network"};
  for (const json& field : schema.at("fields")) {
    INFO(field.dump());
    for (const char* key : {"name", "type", "default", "min", "max", "choices", "doc", "live", "group",
                            "max_items"}) {
      CHECK(field.contains(key));
    }
    CHECK(types.count(field.at("type").get<std::string>()) == 1);
    CHECK(groups.count(field.at("group").get<std::string>()) == 1);
    CHECK(field.at("choices").is_array());
    CHECK(field.at("live").is_boolean());
  }
  auto find = [&](const std::string& name) {
    for (const json& field : schema.at("fields")) {
      if (field.at("name") == name) return field;
    }
    FAIL("no field " << name);
    return json();
  };
  const json num_envs = find("num_envs");
  CHECK(num_envs.at("type") == "int");
  CHECK(num_envs.at("min") == 1);
  CHECK(num_envs.at("max") == 1024);
  CHECK(num_envs.at("max").is_number_integer());
  CHECK(find("total_timesteps").at("max") == 10000000000LL);
  CHECK(find("learning_rate").at("type") == "float");
  CHECK(find("learning_rate").at("live") == true);
  CHECK(find("anneal_lr").at("min").is_null());
  CHECK(find("activation").at("choices") == json::array({"tanh", "relu"}));
  CHECK(find("hidden_sizes").at("type") == "int_list");
  CHECK(find("hidden_sizes").at("max_items") == 8);
  CHECK(find("gamma").at("max_items").is_null());
}

TEST_CASE("applies_when: a field set where its condition does not hold is refused, at its default accepted", "[config]") {
  // pomo's machines applies with problem jobshop only.
  const pl::FieldSpec& machines = *pl::schema_for("pomo").find("machines");
  CHECK(machines.applies_when.field == "problem");
  CHECK(machines.applies_when.text() == "problem is jobshop");
  CHECK(machines.applies_when.holds(json{{"problem", "jobshop"}}));
  CHECK_FALSE(machines.applies_when.holds(json{{"problem", "tsp"}}));
  CHECK_FALSE(machines.applies_when.holds(json::object()));
  CHECK_NOTHROW(pl::validate_config({{"algo", "pomo"}, {"problem", "jobshop"}, {"machines", 4}}));
  CHECK_NOTHROW(pl::validate_config({{"algo", "pomo"}, {"problem", "tsp"}, {"machines", 6}}));  // the default: harmless
  try {
    pl::validate_config({{"algo", "pomo"}, {"problem", "tsp"}, {"machines", 4}});
    FAIL("expected ConfigError");
  } catch (const pl::ConfigError& e) {
    CHECK(std::string(e.what()) ==
          "field 'machines' applies when problem is jobshop, but problem is tsp (remove it, or change problem)");
  }
  // Several values, listed in the message.
  CHECK(pl::schema_for("pomo").find("exp_beta")->applies_when.text() == "baseline is exponential or rollout");
  CHECK_THROWS_WITH(pl::validate_config({{"algo", "pomo"}, {"bl_alpha", 0.1}}),
                    "field 'bl_alpha' applies when baseline is rollout, but baseline is pomo (remove it, or change baseline)");
  CHECK_NOTHROW(pl::validate_config({{"algo", "pomo"}, {"baseline", "rollout"}, {"bl_alpha", 0.1}}));
  // GRPO's options follow the estimator and loss tables: gpg_alpha is gpg's, cispo_clip cispo's,
  // scale_rewards grpo's and grpo_passk's; beta applies whatever the pieces.
  const pl::Schema& grpo = pl::schema_for("grpo");
  CHECK(grpo.find("gpg_alpha")->applies_when.text() == "advantage_estimator is gpg");
  CHECK(grpo.find("scale_rewards")->applies_when.text() == "advantage_estimator is grpo or grpo_passk");
  CHECK(grpo.find("cispo_clip")->applies_when.text() == "policy_loss is cispo");
  CHECK(grpo.find("epsilon")->applies_when.text() == "policy_loss is clip or cispo");
  CHECK(grpo.find("beta")->applies_when.field.empty());
  CHECK_THROWS_WITH(pl::validate_config({{"algo", "grpo"}, {"gpg_alpha", "nonzero_rewards"}}),
                    Catch::Contains("field 'gpg_alpha' applies when advantage_estimator is gpg, but advantage_estimator is grpo"));
  // The schema's JSON carries the condition (the page hides the field when it does not hold).
  for (const json& f : pl::schema_for("pomo").to_json().at("fields"))
    if (f.at("name") == "machines")
      CHECK(f.at("applies_when") == json({{"field", "problem"}, {"values", {"jobshop"}}}));
    else if (f.at("name") == "n")
      CHECK(f.at("applies_when").is_null());
}

TEST_CASE("choice conditions: a choice made where its condition does not hold is refused, naming the usable ones",
          "[config]") {
  // pomo's critic and poppy baselines are the Attention Model's: tsp, cvrp and knapsack only.
  const pl::FieldSpec& baseline = *pl::schema_for("pomo").find("baseline");
  REQUIRE(baseline.choice_condition("critic") != nullptr);
  CHECK(baseline.choice_condition("critic")->text() == "problem is tsp, cvrp or knapsack");
  CHECK(baseline.choice_condition("poppy")->text() == "problem is tsp, cvrp or knapsack");
  CHECK(baseline.choice_condition("rollout") == nullptr);
  for (const char* problem : {"tsp", "cvrp", "knapsack"})
    CHECK_NOTHROW(pl::validate_config({{"algo", "pomo"}, {"problem", problem}, {"baseline", "critic"}}));
  for (const char* choice : {"pomo", "rollout", "exponential"})
    CHECK_NOTHROW(pl::validate_config({{"algo", "pomo"}, {"problem", "binpack1d"}, {"baseline", choice}}));
  CHECK_THROWS_WITH(pl::validate_config({{"algo", "pomo"}, {"problem", "jobshop"}, {"baseline", "critic"}}),
                    "field 'baseline': critic applies when problem is tsp, cvrp or knapsack, but problem is jobshop "
                    "(there use pomo, rollout, exponential)");
  // The schema's JSON carries the conditions (the page offers only the choices that apply).
  for (const json& f : pl::schema_for("pomo").to_json().at("fields")) {
    if (f.at("name") == "baseline")
      CHECK(f.at("choice_applies_when") ==
            json({{"critic", {{"field", "problem"}, {"values", {"tsp", "cvrp", "knapsack"}}}},
                  {"poppy", {{"field", "problem"}, {"values", {"tsp", "cvrp", "knapsack"}}}}}));
    else
      CHECK(f.at("choice_applies_when").is_null());
  }
  // A schema whose condition names a choice the field does not have, or makes its default
  // conditional, is refused when it is built.
  pl::FieldSpec bad = pl::choice_applies_when(baseline, "greedy", "problem", {"tsp"});
  CHECK_THROWS_WITH(pl::make_combo_schema("pomo", "test", {bad}), Catch::Contains("'greedy', which is not one of its choices"));
  bad = pl::choice_applies_when(baseline, "pomo", "problem", {"tsp"});
  CHECK_THROWS_WITH(pl::make_combo_schema("pomo", "test", {bad}), Catch::Contains("its default 'pomo' must always apply"));
}

TEST_CASE("Metrics: scalar names and values in declaration order", "[metrics]") {
  const auto& names = pl::Metrics::scalar_names();
  REQUIRE(names.size() == 21);
  CHECK(names.front() == "iteration");
  CHECK(names[3] == "sps");
  CHECK(names.back() == "update_epochs_run");
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());
  CHECK(std::find(names.begin(), names.end(), "layer_grad_norms") == names.end());

  pl::Metrics m;
  m.iteration = 7;
  m.global_step = 3584;
  m.episodes = 3;
  m.policy_loss = -0.25;
  m.update_epochs_run = 4;
  std::vector<double> values(names.size());
  m.scalars(values.data());
  auto at = [&](const std::string& name) {
    return values[std::find(names.begin(), names.end(), name) - names.begin()];
  };
  CHECK(at("iteration") == 7);
  CHECK(at("global_step") == 3584);
  CHECK(at("episodes") == 3);
  CHECK(at("policy_loss") == -0.25);
  CHECK(at("update_epochs_run") == 4);
  CHECK(std::isnan(at("value_loss")));
}

TEST_CASE("Metrics::to_json: NaN becomes null, layers by name", "[metrics]") {
  pl::Metrics m;
  m.iteration = 2;
  m.global_step = 1024;
  m.entropy = 0.69;
  m.grad_norm = std::numeric_limits<double>::infinity();
  m.layer_grad_norms = {0.5f, std::numeric_limits<float>::quiet_NaN()};
  const json record = m.to_json({"actor.0.weight", "actor.0.bias"});
  for (const std::string& name : pl::Metrics::scalar_names()) CHECK(record.contains(name));
  CHECK(record.at("iteration") == 2);
  CHECK(record.at("iteration").is_number_integer());
  CHECK(record.at("global_step") == 1024);
  CHECK(record.at("entropy") == Approx(0.69));
  CHECK(record.at("value_loss").is_null());
  CHECK(record.at("sps").is_null());
  CHECK(record.at("grad_norm").is_null());
  CHECK(record.at("layer_grad_norms").at("actor.0.weight") == Approx(0.5));
  CHECK(record.at("layer_grad_norms").at("actor.0.bias").is_null());
  CHECK(record.dump().find("NaN") == std::string::npos);

  // Fewer names than norms: the extra norm still gets a key.
  const json unnamed = m.to_json({});
  CHECK(unnamed.at("layer_grad_norms").contains("layer0"));
  CHECK(unnamed.at("layer_grad_norms").contains("layer1"));
}

TEST_CASE("Metrics::first_non_finite", "[metrics]") {
  pl::Metrics m;
  m.policy_loss = 0.1;
  m.entropy = 0.6;
  m.grad_norm = 0.3;
  // value_loss, the KL estimates and explained_variance stay NaN ("does not apply"): not divergence.
  CHECK(m.first_non_finite() == "");

  m.value_loss = 1.0;
  m.approx_kl_k1 = m.approx_kl_k3 = 0.01;
  m.explained_variance = 0.5;
  CHECK(m.first_non_finite() == "");

  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  SECTION("NaN in an always-computed statistic") {
    m.grad_norm = nan;
    CHECK(m.first_non_finite() == "grad_norm");
    m.policy_loss = nan;
    CHECK(m.first_non_finite() == "policy_loss");  // the first in declaration order
  }
  SECTION("Inf anywhere") {
    m.value_loss = inf;
    CHECK(m.first_non_finite() == "value_loss");
    m.value_loss = 1.0;
    m.approx_kl_k3 = -inf;
    CHECK(m.first_non_finite() == "approx_kl_k3");
  }
  SECTION("entropy NaN") {
    m.entropy = nan;
    CHECK(m.first_non_finite() == "entropy");
  }
  SECTION("statistics that are not checked") {
    m.clip_fraction = inf;
    m.episodic_return_mean = nan;
    CHECK(m.first_non_finite() == "");
  }
}

TEST_CASE("Every example config validates as `policylab train` resolves it (preset under the file's fields)", "[config]") {
  // A typo in an example (an unknown field, a value out of range) would only show when a user runs it.
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(POLICYLAB_SOURCE_DIR) + "/examples")) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream f(entry.path());
    const json user = json::parse(f);
    const pl::Preset* preset = pl::preset_for_config(user);
    INFO(entry.path().filename().string());
    CHECK_NOTHROW(pl::validate_config(preset ? pl::apply_preset(*preset, user) : user));
    ++count;
  }
  CHECK(count >= 20);
}

TEST_CASE("A --set that switches a method off leaves out the file's options for it, chains included", "[config]") {
  const pl::json file = {{"algo", "grpo"},
                     {"task", "addition"},
                     {"reward_model", "rm.ckpt"},
                     {"ensemble_aggregation", "uncertainty"},
                     {"uncertainty_penalty", 1.0},
                     {"dynamic_sampling", true},
                     {"max_num_gen_batches", 8}};
  // reward_model "" turns off ensemble_aggregation, which turns off uncertainty_penalty.
  CHECK(pl::fields_switched_off(file, {{"reward_model", ""}}) ==
        std::vector<std::string>{"ensemble_aggregation", "uncertainty_penalty"});
  pl::json c = file;
  for (const std::string& f : pl::fields_switched_off(file, {{"reward_model", ""}})) c.erase(f);
  c["reward_model"] = "";
  CHECK_NOTHROW(pl::validate_config(c));
  CHECK(pl::fields_switched_off(file, {{"dynamic_sampling", false}}) == std::vector<std::string>{"max_num_gen_batches"});
  // An override the file's options still apply under, or one the user set himself, leaves nothing out.
  CHECK(pl::fields_switched_off(file, {{"ensemble_aggregation", "uncertainty"}}).empty());
  CHECK(pl::fields_switched_off(file, {{"dynamic_sampling", false}, {"max_num_gen_batches", 8}}).empty());
  // A field that does not apply under the file's own values is not the override's doing: it stays
  // for validation to refuse.
  pl::json contradictory = {{"algo", "grpo"}, {"task", "addition"}, {"max_num_gen_batches", 8}};
  CHECK(pl::fields_switched_off(contradictory, {{"seed", 2}}).empty());
  CHECK_THROWS_WITH(pl::validate_config(contradictory),
                    Catch::Contains("field 'max_num_gen_batches' applies when dynamic_sampling is true, but dynamic_sampling is false"));
  // HAPO's table size applies while its weight is not 0 (a negated condition).
  CHECK_THROWS_WITH(pl::validate_config({{"algo", "grpo"}, {"task", "addition"}, {"hapo_history_size", 256}}),
                    Catch::Contains("field 'hapo_history_size' applies when hapo_length_weight is not 0"));
  CHECK_NOTHROW(pl::validate_config({{"algo", "grpo"}, {"task", "addition"}, {"hapo_history_size", 256}, {"hapo_length_weight", 0.5}}));
  CHECK(pl::fields_switched_off({{"algo", "nope"}}, {{"x", 1}}).empty());
  // A field the file set where it never applied stays, though the override names its controller.
  CHECK(pl::fields_switched_off({{"algo", "grpo"}, {"dynamic_sampling", false}, {"max_num_gen_batches", 8}},
                                {{"dynamic_sampling", false}})
            .empty());
  // The algo of a --preset when the file names none.
  CHECK(pl::fields_switched_off({{"dynamic_sampling", true}, {"max_num_gen_batches", 8}}, {{"dynamic_sampling", false}},
                                "grpo") == std::vector<std::string>{"max_num_gen_batches"});
}
