// Configuration: each algorithm's schema is data (field, type, range, default, one-line doc, whether
// it may change on a live trainer). The CLI's help, the browser's controls and validation are all
// generated from it, so there is one source of truth.
//
// Field names follow CleanRL where one exists (total_timesteps, learning_rate, num_envs, ...).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace pl {

using json = nlohmann::json;

// Bad configuration: the message names the field and the allowed range or values.
struct ConfigError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

enum class FieldType { Int, Float, Bool, String, IntList };

struct FieldSpec {
  std::string name;
  FieldType type = FieldType::Float;
  json default_value;
  double min = 0, max = 0;            // inclusive range (Int, Float, and IntList elements)
  std::vector<std::string> choices;   // allowed values for String fields
  std::string doc;                    // one line, shown as --help text and tooltip
  bool live = false;                  // may be changed on a running trainer between iterations
  std::string group;                  // UI grouping: "run", "env", "rollout", "loss", "optim", "network"
  int max_items = 0;                  // IntList: maximum length (min length is 1)
  // A check beyond type, range and choices, on the whole validated values (e.g. a list written in a
  // string, or a field that must agree with another); throws ConfigError naming the field.
  std::function<void(const json& values)> check = nullptr;
  // The field means something only while another field (a choice or a bool) has one of these
  // values (pomo's `machines` only with problem jobshop, `population` only with baseline poppy).
  // Elsewhere it would be ignored, so a config that sets it to anything but its default is refused
  // (validate_config), and the page hides it. Empty `field`: the field always applies.
  struct Condition {
    std::string field;
    std::vector<json> values;
    bool negated = false;  // holds while `field` has none of `values` (a weight that is not 0)
    bool holds(const json& values_of_config) const;
    std::string text() const;  // e.g. "problem is jobshop" or "baseline is rollout or exponential"
  };
  Condition applies_when;
  // Choices of a String field that mean something only under a condition (pomo's baseline critic
  // and poppy only with problem tsp, cvrp or knapsack): a config choosing one elsewhere is refused
  // (validate_config) and the page does not offer it. Choices not listed always apply.
  std::vector<std::pair<std::string, Condition>> choice_conditions;
  const Condition* choice_condition(const std::string& choice) const;  // nullptr: always applies

  std::string range_text() const;     // e.g. "a float in [0, 1]" or "one of: ppo, a2c"
};

// `spec` that applies only while `field` has one of `values` (FieldSpec::applies_when).
FieldSpec applies_when(FieldSpec spec, std::string field, std::vector<json> values);
// `spec` that applies only while `field` has none of `values` (HAPO's table size while its weight is
// not 0, the ensemble options while reward_model names a file).
FieldSpec applies_unless(FieldSpec spec, std::string field, std::vector<json> values);
// `spec` whose choice `choice` applies only while `field` has one of `values`
// (FieldSpec::choice_conditions).
FieldSpec choice_applies_when(FieldSpec spec, std::string choice, std::string field, std::vector<json> values);

// A field spec in one call (the schemas' and the tasks' option tables use it).
FieldSpec make_field(std::string name, FieldType type, json default_value, double min, double max, std::string group,
                     std::string doc, bool live = false, std::vector<std::string> choices = {});
// A list of fields as JSON: every key present for every field (null where it does not apply).
json fields_to_json(const std::vector<FieldSpec>& fields);

struct Schema {
  std::string algo;
  std::string summary;                // one line about the algorithm
  std::string task_kind = "env";      // "env" (Gym-style envs), "sequence" (verifiable sequence tasks) or
                                      // "combo" (a constructive policy on a combinatorial problem)
  std::vector<FieldSpec> fields;

  const FieldSpec* find(const std::string& name) const;
  json to_json() const;               // list of field descriptions (for the CLI and the browser)
};

// A validated configuration: every field of the algorithm's schema is present with a valid value.
class Config {
 public:
  Config() = default;
  const std::string& algo() const { return algo_; }
  const json& values() const { return values_; }
  const Schema& schema() const;

  int64_t get_int(const std::string& name) const;
  double get_float(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  std::string get_string(const std::string& name) const;
  std::vector<int> get_int_list(const std::string& name) const;

  // Sets one field after validating it (type, range, and `live` when require_live is true).
  void set(const std::string& name, const json& value, bool require_live = false);

  friend Config validate_config(const json& user);

 private:
  std::string algo_;
  json values_;
};

// Validates a user config (a JSON object). "algo" selects the schema (default "ppo"); missing fields
// take their defaults; an unknown key, a wrong type or an out-of-range value throws ConfigError with
// the field name, the allowed range and, for unknown keys, a "did you mean" hint.
Config validate_config(const json& user);

// The fields of `file` that stop applying (FieldSpec::applies_when) because `overrides` changed a
// field deciding them: a config file's dual-method options under --set safety_method=none. The
// caller leaves them out and says so; a field that does not apply under the file's own values
// stays, for validate_config to refuse. Follows chains (reward_model "" turns off
// ensemble_aggregation, which turns off uncertainty_penalty). `algo` when neither names one (a
// --preset's). Empty when the algo is unknown.
std::vector<std::string> fields_switched_off(const json& file, const json& overrides, const std::string& algo = "ppo");

// Parses "key=value" as the CLI's --set does: value parsed as JSON when it parses, else a string.
std::pair<std::string, json> parse_assignment(const std::string& text);

// Registered algorithms and their schemas.
const std::vector<Schema>& all_schemas();
const Schema& schema_for(const std::string& algo);  // throws ConfigError for unknown algo

// Builds a schema from run fields (algo, seed), optimizer fields, the fields of the task kind and the
// algorithm's own; a field in `specific` with the same name as a shared one replaces it (e.g. a
// different default).
//  - env (make_schema): env_id, the rollout shape, the actor-critic network, observation and reward
//    normalisation, the policy-gradient loss weights;
//  - sequence (make_sequence_schema): task and the task's options (core/tasks/registry.hpp), the
//    transformer's size, the step budget, batch size and held-out evaluation.
Schema make_schema(const std::string& algo, const std::string& summary, std::vector<FieldSpec> specific);
Schema make_sequence_schema(const std::string& algo, const std::string& summary, std::vector<FieldSpec> specific);
//  - combo (make_combo_schema): the problem and its size, the Attention Model's size, the step budget,
//    batch size, held-out evaluation and its reference solver.
Schema make_combo_schema(const std::string& algo, const std::string& summary, std::vector<FieldSpec> specific);

}  // namespace pl
