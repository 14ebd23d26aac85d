// Option resolution for tasks and rewards (see options.hpp).
#include "core/tasks/options.hpp"

#include <algorithm>
#include <cmath>

#include "core/tasks/task.hpp"

namespace pl {

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string shown(const json& value) {
  std::string text = value.dump();
  return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

}  // namespace

FieldSpec option_field(std::string name, FieldType type, json default_value, double min, double max,
                       std::string group, std::string doc, std::vector<std::string> choices) {
  return make_field(std::move(name), type, std::move(default_value), min, max, std::move(group), std::move(doc),
                    /*live=*/false, std::move(choices));
}

json resolve_options(const std::vector<FieldSpec>& fields, const json& options, const std::string& owner) {
  if (!options.is_null() && !options.is_object()) {
    throw TaskError(owner + ": options must be a JSON object, got " + shown(options));
  }
  std::string names;
  for (const FieldSpec& f : fields) names += (names.empty() ? "" : ", ") + f.name;
  json resolved = json::object();
  if (options.is_object()) {
    for (auto it = options.begin(); it != options.end(); ++it) {
      const std::string& key = it.key();
      const auto spec = std::find_if(fields.begin(), fields.end(), [&](const FieldSpec& f) { return f.name == key; });
      if (spec != fields.end()) continue;
      std::string hint;
      size_t best = key.size();
      for (const FieldSpec& f : fields) {
        const size_t d = edit_distance(key, f.name);
        if (d < best && d <= std::max<size_t>(2, key.size() / 3)) {
          best = d;
          hint = " (did you mean '" + f.name + "'?)";
        }
      }
      throw TaskError(owner + " has no field '" + key + "'" + hint + "; fields: " + (names.empty() ? "none" : names));
    }
  }
  for (const FieldSpec& spec : fields) {
    const json value = options.is_object() && options.contains(spec.name) ? options.at(spec.name) : spec.default_value;
    const std::string bad = owner + ": field '" + spec.name + "' must be " + spec.range_text() + ", got " + shown(value);
    switch (spec.type) {
      case FieldType::Int: {
        if (!value.is_number()) throw TaskError(bad);
        const double number = value.get<double>();
        // Integral floats (3.0, 1e2) are accepted, as the config validation does.
        if (!std::isfinite(number) || number != std::floor(number) || number < spec.min || number > spec.max) {
          throw TaskError(bad);
        }
        resolved[spec.name] = static_cast<int64_t>(number);
        break;
      }
      case FieldType::Float: {
        if (!value.is_number()) throw TaskError(bad);
        const double number = value.get<double>();
        if (!std::isfinite(number) || number < spec.min || number > spec.max) throw TaskError(bad);
        resolved[spec.name] = number;
        break;
      }
      case FieldType::Bool:
        if (!value.is_boolean()) throw TaskError(bad);
        resolved[spec.name] = value;
        break;
      case FieldType::String:
        if (!value.is_string() ||
            (!spec.choices.empty() &&
             std::find(spec.choices.begin(), spec.choices.end(), value.get<std::string>()) == spec.choices.end())) {
          throw TaskError(bad);
        }
        resolved[spec.name] = value;
        break;
      case FieldType::IntList:
        throw TaskError(owner + ": field '" + spec.name + "' has a type options do not support");
    }
  }
  return resolved;
}

}  // namespace pl
