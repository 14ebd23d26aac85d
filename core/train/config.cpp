// Configuration schemas and validation (see config.hpp).
//
// Every error message produced here names the field and states what it accepts, in the shape
//   field 'num_envs' must be an integer in [1, 1024], got "four"
// so that the CLI and the browser can show it to the user as is.
#include "core/train/config.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <utility>

#include "core/algos/registry.hpp"
#include "core/combo/common.hpp"
#include "core/envs/env.hpp"
#include "core/tasks/registry.hpp"
#include "core/util/json_input.hpp"
#include "core/util/text.hpp"

namespace pl {

namespace {

// The algorithm names, from the registry table (names only: make_schema needs them while
// all_schemas() is still being built).
const std::vector<std::string>& algo_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const AlgorithmEntry& e : algorithm_table()) n.push_back(e.name);
    return n;
  }();
  return names;
}


// Shortest decimal text that reads back as the same double; integral values print without an
// exponent (so ranges read "[1, 10000000000]", not "[1, 1e+10]").
std::string format_number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == std::floor(value) && std::fabs(value) < 1e16) {
    return std::to_string(static_cast<long long>(value));
  }
  char buffer[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

std::string range_brackets(const FieldSpec& spec) {
  return "[" + format_number(spec.min) + ", " + format_number(spec.max) + "]";
}

// The offending value as the user wrote it (JSON), shortened so one message stays one line.
std::string describe_value(const json& value) {
  if (value.is_number_float() && !std::isfinite(value.get<double>())) {
    return format_number(value.get<double>());
  }
  std::string text = value.dump();
  constexpr size_t kMaxLength = 60;
  if (text.size() > kMaxLength) text = text.substr(0, kMaxLength - 3) + "...";
  return text;
}

[[noreturn]] void throw_bad_value(const FieldSpec& spec, const json& value,
                                  const std::string& detail = "") {
  std::string message =
      "field '" + spec.name + "' must be " + spec.range_text() + ", got " + describe_value(value);
  if (!detail.empty()) message += " (" + detail + ")";
  throw ConfigError(message);
}

// A JSON number that is an integer (1, or 1e6 written as a float) inside [min, max]; returns false
// for anything else. Integral floats are accepted because JSON writers (and people) write 1e6.
bool integral_in_range(const json& value, double min, double max, int64_t* out) {
  if (!value.is_number()) return false;
  double as_double;
  if (value.is_number_unsigned()) {
    as_double = static_cast<double>(value.get<uint64_t>());
  } else if (value.is_number_integer()) {
    as_double = static_cast<double>(value.get<int64_t>());
  } else {
    as_double = value.get<double>();
    if (!std::isfinite(as_double) || as_double != std::floor(as_double)) return false;
  }
  if (as_double < min || as_double > max) return false;
  // Every range in the schemas lies well inside int64, so the cast below is exact: for integer
  // JSON values we take the exact integer rather than its double image.
  if (value.is_number_unsigned()) {
    *out = static_cast<int64_t>(value.get<uint64_t>());
  } else if (value.is_number_integer()) {
    *out = value.get<int64_t>();
  } else {
    *out = static_cast<int64_t>(as_double);
  }
  return true;
}

// Checks `value` against `spec` and returns it in canonical form (Int as a JSON integer, Float as
// a JSON float, IntList as an array of integers), or throws ConfigError.
json normalize_value(const FieldSpec& spec, const json& value) {
  switch (spec.type) {
    case FieldType::Int: {
      int64_t integer = 0;
      if (!integral_in_range(value, spec.min, spec.max, &integer)) throw_bad_value(spec, value);
      return json(integer);
    }
    case FieldType::Float: {
      if (!value.is_number()) throw_bad_value(spec, value);
      const double number = value.get<double>();
      if (!std::isfinite(number) || number < spec.min || number > spec.max) {
        throw_bad_value(spec, value);
      }
      return json(number);
    }
    case FieldType::Bool: {
      if (!value.is_boolean()) throw_bad_value(spec, value);
      return value;
    }
    case FieldType::String: {
      if (!value.is_string()) throw_bad_value(spec, value);
      const std::string& text = value.get_ref<const std::string&>();
      if (!spec.choices.empty() &&
          std::find(spec.choices.begin(), spec.choices.end(), text) == spec.choices.end()) {
        throw_bad_value(spec, value);
      }
      return value;
    }
    case FieldType::IntList: {
      if (!value.is_array() || value.empty()) throw_bad_value(spec, value);
      if (spec.max_items > 0 && value.size() > static_cast<size_t>(spec.max_items)) {
        throw_bad_value(spec, value, std::to_string(value.size()) + " items");
      }
      json items = json::array();
      for (size_t i = 0; i < value.size(); ++i) {
        int64_t integer = 0;
        if (!integral_in_range(value[i], spec.min, spec.max, &integer)) {
          throw_bad_value(spec, value, "item " + std::to_string(i) + " is " + describe_value(value[i]));
        }
        items.push_back(integer);
      }
      return items;
    }
  }
  throw ConfigError("field '" + spec.name + "' has an unknown type");  // unreachable
}

// Edit distance with adjacent transpositions (optimal string alignment), case-insensitive and with
// '-' read as '_', so "Learning-Rate", "lerning_rate" and "laerning_rate" all find learning_rate.
size_t typo_distance(const std::string& a_raw, const std::string& b_raw) {
  auto canonical = [](std::string s) {
    for (char& c : s) c = (c == '-') ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  const std::string a = canonical(a_raw), b = canonical(b_raw);
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1, 0));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const size_t substitution = d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, substitution});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

[[noreturn]] void throw_unknown_field(const Schema& schema, const std::string& name) {
  std::string best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  std::vector<std::string> valid;
  for (const FieldSpec& spec : schema.fields) {
    valid.push_back(spec.name);
    const size_t distance = typo_distance(name, spec.name);
    if (distance < best_distance) {
      best_distance = distance;
      best = spec.name;
    }
  }
  // A suggestion is offered when at most about a third of the name is wrong (and always for one
  // or two edits), which catches typos without suggesting unrelated fields for short names.
  const size_t tolerance = std::max<size_t>(2, name.size() / 3);
  if (best_distance <= tolerance) {
    throw ConfigError("unknown field '" + name + "' (did you mean '" + best + "'?)");
  }
  // A field of another algorithm (e.g. clip_coef with algo "a2c") gets a targeted message.
  std::vector<std::string> owners;
  for (const Schema& other : all_schemas()) {
    if (other.algo != schema.algo && other.find(name) != nullptr) owners.push_back(other.algo);
  }
  if (!owners.empty()) {
    throw ConfigError("unknown field '" + name + "' for algo '" + schema.algo + "' (it is a field of " +
                      join(owners) + ")");
  }
  throw ConfigError("unknown field '" + name + "' for algo '" + schema.algo + "'; valid fields: " + join(valid));
}

FieldSpec field(std::string name, FieldType type, json default_value, double min, double max,
                std::string group, std::string doc, bool live = false) {
  return make_field(std::move(name), type, std::move(default_value), min, max, std::move(group), std::move(doc), live);
}

FieldSpec choice_field(std::string name, std::vector<std::string> choices, std::string default_value,
                       std::string group, std::string doc) {
  FieldSpec spec = field(std::move(name), FieldType::String, json(std::move(default_value)), 0, 0,
                         std::move(group), std::move(doc));
  spec.choices = std::move(choices);
  return spec;
}

FieldSpec bool_field(std::string name, bool default_value, std::string group, std::string doc) {
  return field(std::move(name), FieldType::Bool, json(default_value), 0, 0, std::move(group), std::move(doc));
}

// Fields every algorithm has.
std::vector<FieldSpec> run_fields(const std::string& algo) {
  using T = FieldType;
  return {choice_field("algo", algo_names(), algo, "run", "the learning algorithm"),
          field("seed", T::Int, 1, 0, 2147483647, "run",
                "seed of every random stream (envs or tasks, initialisation, sampling, shuffling)")};
}

// The gradient optimizer (defaults: CleanRL's ppo.py; sequence schemas override some).
std::vector<FieldSpec> optimizer_fields() {
  using T = FieldType;
  return {
      field("learning_rate", T::Float, 2.5e-4, 0, 1, "optim",
            "optimizer step size (start value when anneal_lr is on)", true),
      bool_field("anneal_lr", true, "optim", "decay the learning rate linearly to 0 over the run"),
      choice_field("optimizer", {"adam", "sgd"}, "adam", "optim", "the gradient optimizer"),
      field("adam_eps", T::Float, 1e-5, 1e-12, 1, "optim", "epsilon added to Adam's denominator for stability"),
      field("max_grad_norm", T::Float, 0.5, 0, 1e6, "optim", "global gradient-norm clip; 0 disables", true),
  };
}

// Env tasks: the environment, the rollout shape, the actor-critic and the policy-gradient loss.
// Defaults follow CleanRL's ppo.py where it has the field.
std::vector<FieldSpec> env_fields() {
  using T = FieldType;
  std::vector<FieldSpec> fields;
  fields.push_back(choice_field("env_id", env_ids(), "CartPole-v1", "env",
                                "the environment (Gymnasium id)"));
  fields.push_back(field("total_timesteps", T::Int, 500000, 1, 1e10, "run",
                         "env steps (summed over all envs) to train for"));
  fields.push_back(field("num_envs", T::Int, 4, 1, 1024, "rollout", "parallel envs in the vector env"));
  fields.push_back(field("num_steps", T::Int, 128, 1, 100000, "rollout", "steps per env per rollout"));
  fields.push_back(field("gamma", T::Float, 0.99, 0, 1, "rollout", "discount factor"));
  fields.push_back(field("gae_lambda", T::Float, 0.95, 0, 1, "rollout",
                         "lambda of generalised advantage estimation (1 = Monte Carlo returns)"));
  fields.push_back(field("ent_coef", T::Float, 0.01, 0, 10, "loss",
                         "weight of the entropy bonus in the loss", true));
  fields.push_back(field("vf_coef", T::Float, 0.5, 0, 100, "loss",
                         "weight of the value-function loss in the loss", true));
  fields.push_back(bool_field("norm_adv", true, "loss",
                              "normalise advantages to zero mean and unit std per minibatch"));
  FieldSpec hidden = field("hidden_sizes", T::IntList, json::array({64, 64}), 1, 4096, "network",
                           "widths of the hidden layers of the policy and value networks");
  hidden.max_items = 8;
  fields.push_back(hidden);
  fields.push_back(choice_field("activation", {"tanh", "relu"}, "tanh", "network",
                                "activation function of the hidden layers"));
  fields.push_back(field("init_log_std", T::Float, 0.0, -5, 2, "network",
                         "initial log std of the Gaussian policy (continuous actions)"));
  fields.push_back(bool_field("norm_obs", false, "env",
                              "normalise observations by running mean/std (Gymnasium NormalizeObservation)"));
  fields.push_back(bool_field("norm_reward", false, "env",
                              "scale rewards by the running std of the discounted return (Gymnasium NormalizeReward)"));
  fields.push_back(field("clip_obs", T::Float, 10.0, 0, 1e6, "env",
                         "clip normalised observations to [-clip_obs, clip_obs]; 0 disables"));
  fields.push_back(field("clip_reward", T::Float, 10.0, 0, 1e6, "env",
                         "clip normalised rewards to [-clip_reward, clip_reward]; 0 disables"));
  return fields;
}

// Sequence tasks: the task and its options, the transformer, the step budget and evaluation.
// Task options from every task are listed (each task's own defaults are applied when validating).
std::vector<FieldSpec> sequence_fields() {
  using T = FieldType;
  std::vector<FieldSpec> fields;
  std::vector<std::string> task_ids;
  for (const TaskSpec& t : all_tasks()) task_ids.push_back(t.id);
  fields.push_back(choice_field("task", task_ids, "addition", "task", "the verifiable sequence task"));
  for (const TaskSpec& t : all_tasks())
    for (const FieldSpec& f : t.fields) {
      bool seen = false;
      for (const FieldSpec& g : fields) seen = seen || g.name == f.name;
      if (!seen) {
        FieldSpec option = f;
        option.doc += " (task option)";
        fields.push_back(option);
      }
    }
  fields.push_back(field("max_steps", T::Int, 2000, 1, 1e9, "run", "gradient steps to train for"));
  fields.push_back(field("batch_size", T::Int, 256, 1, 4096, "run", "sequences per gradient step"));
  fields.push_back(field("eval_interval", T::Int, 50, 1, 1000000, "run",
                         "gradient steps between held-out evaluations (and at the last step)"));
  fields.push_back(field("heldout_size", T::Int, 256, 1, 100000, "run", "problems in the fixed held-out set"));
  fields.push_back(field("eval_pass_k", T::Int, 0, 0, 64, "run",
                         "held-out pass@k at every evaluation: k samples per problem at temperature 1; 0: off"));
  FieldSpec init = field("init_from", T::String, "", 0, 0, "run",
                         "checkpoint whose model weights to start from (same task and model size); empty: fresh");
  fields.push_back(init);
  fields.push_back(field("d_model", T::Int, 64, 4, 1024, "model", "transformer width"));
  fields.push_back(field("n_heads", T::Int, 4, 1, 64, "model", "attention heads (must divide d_model)"));
  fields.push_back(field("n_layers", T::Int, 2, 1, 24, "model", "transformer blocks"));
  fields.push_back(field("d_mlp", T::Int, 256, 1, 8192, "model", "hidden width of each block's MLP"));
  fields.push_back(field("context_length", T::Int, 0, 0, 1024, "model",
                         "positions the model has; 0: the task's longest prompt plus completion"));
  return fields;
}

// Combinatorial problems: the problem and its size, the Attention Model (Kool et al. 2019; defaults
// are the paper's sizes), the step budget and the held-out evaluation against a reference solver.
std::vector<FieldSpec> combo_fields() {
  using T = FieldType;
  std::vector<FieldSpec> fields;
  fields.push_back(choice_field("problem", {"tsp", "cvrp", "knapsack", "jobshop", "binpack1d", "binpack3d"}, "tsp",
                                "task",
                                "the combinatorial problem: tsp (uniform cities), cvrp (Kool et al.'s generator: "
                                "demands 1..9, capacity 20/30/40/50 by n), knapsack (POMO's: weights and values U(0,1)), "
                                "jobshop (Taillard's generator, L2D's dispatching; a policy re-encoding every state), "
                                "binpack1d (online 1-D bin packing, Falkenauer's uniform items 20..100 in bins of 150; "
                                "minimise bins), binpack3d (online 3-D bin packing, Zhao et al. 2021: items 2..5 per side "
                                "into a 10x10x10 bin; maximise utilisation); the last three re-encode every state"));
  fields.push_back(field("n", T::Int, 20, combo::kMinGeneratedSize, combo::kMaxGeneratedSize, "task",
                         "instance size: cities (tsp), customers besides the depot (cvrp), items (knapsack, binpack1d, "
                         "binpack3d: the arriving sequence), jobs (jobshop)"));
  fields.push_back(applies_when(field("machines", T::Int, 6, 1, 100, "task", "machines (operations per job)"),
                                "problem", {"jobshop"}));
  fields.push_back(applies_when(field("samples", T::Int, 8, 2, 256, "task",
                                      "sampled trajectories per training instance, whose mean return is the shared "
                                      "baseline (POMO Eq. 3 with sampled instead of forced starts); also the held-out "
                                      "best-of-samples decode"),
                                "problem", {"binpack1d", "binpack3d"}));
  fields.push_back(field("max_steps", T::Int, 2000, 1, 1e9, "run", "gradient steps to train for"));
  fields.push_back(field("batch_size", T::Int, 64, 1, 4096, "run", "instances per gradient step"));
  fields.push_back(field("eval_interval", T::Int, 50, 1, 1000000, "run",
                         "gradient steps between held-out evaluations (and at the first and last step)"));
  fields.push_back(field("heldout_size", T::Int, 128, 1, 100000, "run", "instances in the fixed held-out set"));
  fields.push_back(field("init_from", T::String, "", 0, 0, "run",
                         "checkpoint whose model weights to start from (same problem, size and model; a single "
                         "policy's for a Poppy population, whose decoder every agent clones); empty: fresh"));
  fields.push_back(choice_field("reference",
                                {"auto", "held-karp", "local-search", "farthest-insertion", "2-opt", "savings",
                                 "nearest-neighbor", "branch-and-bound", "greedy", "spt", "mwkr", "mor", "fifo",
                                 "first-fit", "best-fit"},
                                "auto", "run",
                                "reference solver of the held-out gap (one of the problem's solvers); auto: tsp "
                                "held-karp (exact) for n <= 13, branch-and-bound (exact) up to 50, else "
                                "local-search; cvrp savings; knapsack "
                                "branch-and-bound (exact); jobshop branch-and-bound (exact) up to 6 x 6, else mwkr; "
                                "binpack1d / binpack3d best-fit (first-fit also accepted)"));
  fields.push_back(field("d_model", T::Int, 128, 4, 1024, "model", "embedding width d"));
  fields.push_back(field("n_heads", T::Int, 8, 1, 64, "model", "attention heads (must divide d_model)"));
  fields.push_back(field("n_layers", T::Int, 3, 1, 24, "model", "encoder layers"));
  fields.push_back(field("d_ff", T::Int, 512, 1, 8192, "model", "hidden width of each encoder layer's feed-forward"));
  fields.push_back(field("tanh_clip", T::Float, 10.0, 0.1, 1000, "model", "C of the pointer logits C tanh(u)"));
  return fields;
}

// Each task's options are its own: an option of another task is an error, and options the user
// did not set take the selected task's defaults.
void resolve_task_options(const json& user, json& values) {
  const std::string id = values.at("task").get<std::string>();
  const TaskSpec& selected = task_spec(id);
  auto is_option_of = [](const TaskSpec& t, const std::string& name) {
    for (const FieldSpec& f : t.fields)
      if (f.name == name) return true;
    return false;
  };
  for (auto it = user.begin(); it != user.end(); ++it) {
    if (is_option_of(selected, it.key())) continue;
    std::vector<std::string> owners;
    for (const TaskSpec& t : all_tasks())
      if (is_option_of(t, it.key())) owners.push_back(t.id);
    if (owners.empty()) continue;
    std::vector<std::string> own;
    for (const FieldSpec& f : selected.fields) own.push_back(f.name);
    throw ConfigError("field '" + it.key() + "' is an option of task " + join(owners, " and ") + ", not of task '" + id +
                      "' (its options: " + join(own) + ")");
  }
  for (const TaskSpec& t : all_tasks())
    for (const FieldSpec& f : t.fields) values.erase(f.name);
  for (const FieldSpec& f : selected.fields)
    values[f.name] = user.contains(f.name) ? normalize_value(f, user.at(f.name)) : normalize_value(f, f.default_value);
}

const char* type_name(FieldType type) {
  switch (type) {
    case FieldType::Int: return "int";
    case FieldType::Float: return "float";
    case FieldType::Bool: return "bool";
    case FieldType::String: return "string";
    case FieldType::IntList: return "int_list";
  }
  return "unknown";
}

// A numeric bound for the schema JSON: integers stay integers (2147483647, not 2.147483647e9).
json bound_json(FieldType type, double bound) {
  if (type == FieldType::Float) return json(bound);
  return json(static_cast<int64_t>(bound));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// FieldSpec / Schema

std::string FieldSpec::range_text() const {
  switch (type) {
    case FieldType::Int: return "an integer in " + range_brackets(*this);
    case FieldType::Float: return "a float in " + range_brackets(*this);
    case FieldType::Bool: return "true or false";
    case FieldType::String:
      return choices.empty() ? std::string("a string") : "one of: " + join(choices);
    case FieldType::IntList: {
      const std::string count =
          max_items > 0 ? "1 to " + std::to_string(max_items) : std::string("1 or more");
      return "a list of " + count + " integers, each in " + range_brackets(*this);
    }
  }
  return "a value";
}

const FieldSpec* Schema::find(const std::string& name) const {
  for (const FieldSpec& spec : fields) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

FieldSpec make_field(std::string name, FieldType type, json default_value, double min, double max, std::string group,
                     std::string doc, bool live, std::vector<std::string> choices) {
  FieldSpec spec;
  spec.name = std::move(name);
  spec.type = type;
  spec.default_value = std::move(default_value);
  spec.min = min;
  spec.max = max;
  spec.group = std::move(group);
  spec.doc = std::move(doc);
  spec.live = live;
  spec.choices = std::move(choices);
  return spec;
}

bool FieldSpec::Condition::holds(const json& values_of_config) const {
  if (field.empty()) return true;
  const auto it = values_of_config.find(field);
  if (it == values_of_config.end()) return false;
  return (std::find(values.begin(), values.end(), *it) != values.end()) != negated;
}

std::string FieldSpec::Condition::text() const {
  std::string out = field + (negated ? " is not " : " is ");
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += i + 1 == values.size() ? " or " : ", ";
    out += values[i].is_string() ? values[i].get<std::string>() : values[i].dump();
  }
  return out;
}

FieldSpec applies_when(FieldSpec spec, std::string field, std::vector<json> values) {
  spec.applies_when = {std::move(field), std::move(values)};
  return spec;
}

FieldSpec applies_unless(FieldSpec spec, std::string field, std::vector<json> values) {
  spec.applies_when = {std::move(field), std::move(values), /*negated=*/true};
  return spec;
}

FieldSpec choice_applies_when(FieldSpec spec, std::string choice, std::string field, std::vector<json> values) {
  spec.choice_conditions.emplace_back(std::move(choice), FieldSpec::Condition{std::move(field), std::move(values)});
  return spec;
}

const FieldSpec::Condition* FieldSpec::choice_condition(const std::string& choice) const {
  for (const auto& [name, condition] : choice_conditions)
    if (name == choice) return &condition;
  return nullptr;
}

namespace {
// {choice: {field, values}} for the conditional choices of a field, null when it has none.
json choice_conditions_json(const FieldSpec& spec) {
  if (spec.choice_conditions.empty()) return nullptr;
  json out = json::object();
  for (const auto& [choice, condition] : spec.choice_conditions)
    out[choice] = {{"field", condition.field}, {"values", condition.values}};
  return out;
}
}  // namespace

json fields_to_json(const std::vector<FieldSpec>& fields) {
  json field_list = json::array();
  for (const FieldSpec& spec : fields) {
    const bool numeric = spec.type == FieldType::Int || spec.type == FieldType::Float ||
                         spec.type == FieldType::IntList;
    // Every key is present for every field (null where it does not apply) so readers need no
    // per-type presence checks.
    field_list.push_back({
        {"name", spec.name},
        {"type", type_name(spec.type)},
        {"default", spec.default_value},
        {"min", numeric ? bound_json(spec.type, spec.min) : json(nullptr)},
        {"max", numeric ? bound_json(spec.type, spec.max) : json(nullptr)},
        {"choices", spec.choices},
        {"doc", spec.doc},
        {"live", spec.live},
        {"group", spec.group},
        {"max_items", spec.type == FieldType::IntList ? json(spec.max_items) : json(nullptr)},
        {"range", spec.range_text()},
        {"applies_when", spec.applies_when.field.empty()
                             ? json(nullptr)
                             : json{{"field", spec.applies_when.field},
                                    {"values", spec.applies_when.values},
                                    {"negated", spec.applies_when.negated}}},
        {"choice_applies_when", choice_conditions_json(spec)},
    });
  }
  return field_list;
}

json Schema::to_json() const {
  return {{"algo", algo}, {"summary", summary}, {"task_kind", task_kind}, {"fields", fields_to_json(fields)}};
}

namespace {
Schema assemble_schema(const std::string& algo, const std::string& summary, const std::string& kind,
                       std::vector<FieldSpec> specific) {
  Schema schema;
  schema.algo = algo;
  schema.summary = summary;
  schema.task_kind = kind;
  schema.fields = run_fields(algo);
  const std::vector<FieldSpec> task_fields =
      kind == "sequence" ? sequence_fields() : kind == "combo" ? combo_fields() : env_fields();
  schema.fields.insert(schema.fields.end(), task_fields.begin(), task_fields.end());
  const std::vector<FieldSpec> optim = optimizer_fields();
  schema.fields.insert(schema.fields.end(), optim.begin(), optim.end());
  for (FieldSpec& spec : specific) {
    bool replaced = false;
    for (FieldSpec& existing : schema.fields) {
      if (existing.name == spec.name) {
        existing = spec;
        replaced = true;
        break;
      }
    }
    if (!replaced) schema.fields.push_back(std::move(spec));
  }
  // A schema whose own defaults do not validate is a programming error; catching it here (once, when
  // the schemas are built) beats a confusing message on every run.
  for (FieldSpec& spec : schema.fields) {
    try {
      spec.default_value = normalize_value(spec, spec.default_value);
    } catch (const ConfigError& error) {
      throw ConfigError("schema '" + algo + "': invalid default: " + error.what());
    }
  }
  // A condition on a field the schema lacks, or on a value that field cannot take, would hide the
  // field for good: a programming error too.
  const auto check_condition = [&](const std::string& subject, const FieldSpec::Condition& condition) {
    const FieldSpec* controller = schema.find(condition.field);
    if (controller == nullptr)
      throw ConfigError("schema '" + algo + "': " + subject + " applies when unknown field '" + condition.field +
                        "' has a value");
    for (const json& value : condition.values) {
      try {
        normalize_value(*controller, value);
      } catch (const ConfigError& error) {
        throw ConfigError("schema '" + algo + "': " + subject + " applies when " + error.what());
      }
    }
  };
  for (const FieldSpec& spec : schema.fields) {
    if (!spec.applies_when.field.empty()) check_condition("field '" + spec.name + "'", spec.applies_when);
    for (const auto& [choice, condition] : spec.choice_conditions) {
      if (std::find(spec.choices.begin(), spec.choices.end(), choice) == spec.choices.end())
        throw ConfigError("schema '" + algo + "': field '" + spec.name + "' has a condition on '" + choice +
                          "', which is not one of its choices");
      if (spec.default_value == choice)
        throw ConfigError("schema '" + algo + "': field '" + spec.name + "': its default '" + choice +
                          "' must always apply");
      check_condition("field '" + spec.name + "' = " + choice, condition);
    }
  }
  return schema;
}
}  // namespace

Schema make_schema(const std::string& algo, const std::string& summary, std::vector<FieldSpec> specific) {
  return assemble_schema(algo, summary, "env", std::move(specific));
}
Schema make_sequence_schema(const std::string& algo, const std::string& summary, std::vector<FieldSpec> specific) {
  return assemble_schema(algo, summary, "sequence", std::move(specific));
}
Schema make_combo_schema(const std::string& algo, const std::string& summary, std::vector<FieldSpec> specific) {
  return assemble_schema(algo, summary, "combo", std::move(specific));
}

const std::vector<Schema>& all_schemas() {
  // Built on first use (function-local static: thread-safe, and after all other statics exist).
  static const std::vector<Schema> schemas = [] {
    std::vector<Schema> all;
    for (const AlgorithmEntry& e : algorithm_table()) {
      all.push_back(e.schema());
      // A row whose schema names another algorithm or task kind is a programming error: say so at once.
      if (all.back().algo != e.name || all.back().task_kind != e.task_kind)
        throw std::logic_error(std::string("algorithm table row '") + e.name + "' (" + e.task_kind +
                               "): its schema is '" + all.back().algo + "' (" + all.back().task_kind + ")");
    }
    return all;
  }();
  return schemas;
}

const Schema& schema_for(const std::string& algo) {
  for (const Schema& schema : all_schemas()) {
    if (schema.algo == algo) return schema;
  }
  throw ConfigError("field 'algo' must be one of: " + join(algo_names()) + ", got " + json(algo).dump());
}

// ---------------------------------------------------------------------------------------------
// Validation

Config validate_config(const json& user) {
  if (!user.is_object()) {
    throw ConfigError(std::string("the config must be a JSON object, got ") + user.type_name());
  }
  std::string algo = "ppo";
  if (user.contains("algo")) {
    const json& requested = user.at("algo");
    if (!requested.is_string()) {
      throw ConfigError("field 'algo' must be one of: " + join(algo_names()) + ", got " +
                        describe_value(requested));
    }
    algo = requested.get<std::string>();
  }
  const Schema& schema = schema_for(algo);

  Config config;
  config.algo_ = algo;
  config.values_ = json::object();
  for (auto it = user.begin(); it != user.end(); ++it) {
    const FieldSpec* spec = schema.find(it.key());
    if (spec == nullptr) throw_unknown_field(schema, it.key());
    config.values_[it.key()] = normalize_value(*spec, it.value());
  }
  for (const FieldSpec& spec : schema.fields) {
    if (!config.values_.contains(spec.name)) config.values_[spec.name] = spec.default_value;
  }
  if (schema.task_kind == "sequence") resolve_task_options(user, config.values_);
  for (const FieldSpec& spec : schema.fields)
    if (spec.check) spec.check(config.values_);
  // A field set where it does not apply would be ignored: say so instead (FieldSpec::applies_when).
  for (const FieldSpec& spec : schema.fields) {
    if (spec.applies_when.holds(config.values_) || !user.contains(spec.name) ||
        config.values_[spec.name] == spec.default_value)
      continue;
    const json& controller = config.values_[spec.applies_when.field];
    throw ConfigError("field '" + spec.name + "' applies when " + spec.applies_when.text() + ", but " +
                      spec.applies_when.field + " is " +
                      (controller.is_string() ? controller.get<std::string>() : controller.dump()) +
                      " (remove it, or change " + spec.applies_when.field + ")");
  }
  // A choice that means nothing under the other fields' values (FieldSpec::choice_conditions).
  for (const FieldSpec& spec : schema.fields) {
    if (spec.choice_conditions.empty()) continue;
    const json& value = config.values_[spec.name];
    const FieldSpec::Condition* condition = value.is_string() ? spec.choice_condition(value.get<std::string>()) : nullptr;
    if (condition == nullptr || condition->holds(config.values_)) continue;
    std::vector<std::string> usable;
    for (const std::string& choice : spec.choices) {
      const FieldSpec::Condition* c = spec.choice_condition(choice);
      if (c == nullptr || c->holds(config.values_)) usable.push_back(choice);
    }
    const json& controller = config.values_[condition->field];
    throw ConfigError("field '" + spec.name + "': " + value.get<std::string>() + " applies when " + condition->text() +
                      ", but " + condition->field + " is " +
                      (controller.is_string() ? controller.get<std::string>() : controller.dump()) + " (there use " +
                      join(usable) + ")");
  }
  return config;
}

std::vector<std::string> fields_switched_off(const json& file, const json& overrides, const std::string& default_algo) {
  std::vector<std::string> off;
  if (!file.is_object() || !overrides.is_object()) return off;
  json merged = file;
  for (auto it = overrides.begin(); it != overrides.end(); ++it) merged[it.key()] = it.value();
  const json algo = merged.value("algo", json(default_algo));
  const Schema* schema = nullptr;
  for (const Schema& s : all_schemas())
    if (algo.is_string() && s.algo == algo.get<std::string>()) schema = &s;
  if (schema == nullptr) return off;
  json effective = merged, own = file;  // the deciding fields' values, defaults included; the file's alone
  for (const FieldSpec& spec : schema->fields) {
    if (!effective.contains(spec.name)) effective[spec.name] = spec.default_value;
    if (!own.contains(spec.name)) own[spec.name] = spec.default_value;
  }
  const auto switched = [&](const std::string& name) {
    return overrides.contains(name) || std::find(off.begin(), off.end(), name) != off.end();
  };
  for (bool more = true; more;) {  // until no field turns off another
    more = false;
    for (const FieldSpec& spec : schema->fields) {
      const FieldSpec::Condition& c = spec.applies_when;
      // Only fields the file set where they applied: one that never applied is the file's own
      // mistake, for validate_config to refuse.
      if (c.field.empty() || !file.contains(spec.name) || overrides.contains(spec.name) || !switched(c.field) ||
          std::find(off.begin(), off.end(), spec.name) != off.end() || c.holds(effective) || !c.holds(own))
        continue;
      off.push_back(spec.name);
      effective[spec.name] = spec.default_value;
      more = true;
    }
  }
  return off;
}

std::pair<std::string, json> parse_assignment(const std::string& text) {
  const size_t equals = text.find('=');
  if (equals == std::string::npos) {
    throw ConfigError("expected key=value, got '" + text + "'");
  }
  auto trim = [](const std::string& s) {
    const size_t first = s.find_first_not_of(" \t");
    if (first == std::string::npos) return std::string();
    const size_t last = s.find_last_not_of(" \t");
    return s.substr(first, last - first + 1);
  };
  const std::string key = trim(text.substr(0, equals));
  if (key.empty()) throw ConfigError("expected key=value, got '" + text + "' (empty key)");
  const std::string raw_value = text.substr(equals + 1);
  // JSON when it parses (numbers, true/false, [64,64], "quoted"), otherwise the raw text, so that
  // env_id=CartPole-v1 works without shell-escaped quotes.
  json value;
  try {
    value = parse_user_json(raw_value);
  } catch (const JsonInputError& e) {
    // Text that is not JSON is the raw string; JSON that is refused (a repeated key, absurd nesting) is an error.
    if (json::accept(raw_value)) throw ConfigError("--set " + key + ": " + e.what());
    value = raw_value;
  }
  return {key, value};
}

// ---------------------------------------------------------------------------------------------
// Config

const Schema& Config::schema() const {
  if (algo_.empty()) throw ConfigError("empty config: build it with validate_config()");
  return schema_for(algo_);
}

namespace {
// Getter failures are programming errors (asking for a field the schema does not have, or with the
// wrong type); they still throw ConfigError so that they surface as a clear message.
[[noreturn]] void throw_bad_get(const std::string& name, const char* wanted, const json& values) {
  if (!values.contains(name)) throw ConfigError("config has no field '" + name + "'");
  throw ConfigError("config field '" + name + "' is not " + wanted + " (it is " +
                    values.at(name).dump() + ")");
}
}  // namespace

int64_t Config::get_int(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || !it->is_number_integer()) throw_bad_get(name, "an integer", values_);
  return it->get<int64_t>();
}

double Config::get_float(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || !it->is_number()) throw_bad_get(name, "a number", values_);
  return it->get<double>();
}

bool Config::get_bool(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || !it->is_boolean()) throw_bad_get(name, "a bool", values_);
  return it->get<bool>();
}

std::string Config::get_string(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || !it->is_string()) throw_bad_get(name, "a string", values_);
  return it->get<std::string>();
}

std::vector<int> Config::get_int_list(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || !it->is_array()) throw_bad_get(name, "a list of integers", values_);
  std::vector<int> out;
  for (const json& item : *it) {
    if (!item.is_number_integer()) throw_bad_get(name, "a list of integers", values_);
    out.push_back(static_cast<int>(item.get<int64_t>()));
  }
  return out;
}

void Config::set(const std::string& name, const json& value, bool require_live) {
  const Schema& current = schema();
  const FieldSpec* spec = current.find(name);
  if (spec == nullptr) throw_unknown_field(current, name);
  if (require_live && !spec->live) {
    throw ConfigError("field '" + name + "' cannot change on a running trainer; it applies on reset");
  }
  json normalized = normalize_value(*spec, value);
  // Changing the algorithm changes the whole schema, which one field assignment cannot express.
  if (name == "algo" && normalized.get<std::string>() != algo_) {
    throw ConfigError("field 'algo' cannot be changed with set(); validate a new config with algo " +
                      normalized.dump());
  }
  json previous = values_[name];
  values_[name] = std::move(normalized);
  if (spec->check) {
    try {
      spec->check(values_);
    } catch (...) {
      values_[name] = std::move(previous);
      throw;
    }
  }
}

}  // namespace pl
