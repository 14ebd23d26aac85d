// The task registry: one table of tasks, each with its option fields (data, like the algorithms'
// schemas in core/train/config.hpp) and a factory. `policylab tasks`, the CLI's --set and the
// browser's controls are generated from it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/tasks/task.hpp"
#include "core/train/config.hpp"

namespace pl {

struct TaskSpec {
  std::string id;
  std::string summary;             // one line
  std::vector<FieldSpec> fields;   // group "task"; a name shared by two tasks means the same thing
  // Builds the task from options holding EVERY field, already validated (make_task resolves them).
  std::unique_ptr<SequenceTask> (*make)(const json& options);
};

// addition, sort, reverse, copy, countdown.
const std::vector<TaskSpec>& all_tasks();
// Throws TaskError "unknown task 'x' (tasks: addition, sort, ...)".
const TaskSpec& task_spec(const std::string& id);
// `options`: an object holding values for some of the task's fields (null or {} = all defaults).
// Missing -> default; an unknown key, wrong type or out-of-range value -> TaskError naming the
// field and its range.
std::unique_ptr<SequenceTask> make_task(const std::string& id, const json& options = json::object());

// {"id", "summary", "vocabulary" (every token character in id order, "_." first), "vocab_size",
//  "max_prompt_length", "max_completion_length", "options", "fields" (the spec's field list),
//  "example": {"prompt", "reference", "difficulty", "length_target"}} for `policylab tasks` and the
// browser. The example is the first training problem of a fixed stream.
json describe_task(const SequenceTask& task);

}  // namespace pl
