// Task and reward options are data: a list of FieldSpec (core/train/config.hpp) per task, from which
// the CLI, the browser and validation are generated, as for the algorithms' schemas.
#pragma once

#include <string>
#include <vector>

#include "core/train/config.hpp"

namespace pl {

// Checks an options object (null counts as {}) against `fields` and returns one with every field:
// missing keys take their defaults, Int fields come back as JSON integers and Float fields as
// floats. Throws TaskError, prefixed by `owner` (e.g. "task 'addition'"), for an unknown key (with
// a "did you mean" hint and the list of fields) or a wrong type or out-of-range value (naming the
// field and its range, e.g. "task 'addition': field 'digits' must be an integer in [1, 6], got 9").
json resolve_options(const std::vector<FieldSpec>& fields, const json& options, const std::string& owner);

// A FieldSpec in one line (group is "task" or "reward").
FieldSpec option_field(std::string name, FieldType type, json default_value, double min, double max,
                       std::string group, std::string doc, std::vector<std::string> choices = {});

}  // namespace pl
