// The task table (see registry.hpp). Defaults come from each task's options struct, so they are
// written once.
#include "core/tasks/registry.hpp"

#include "core/tasks/addition.hpp"
#include "core/tasks/countdown.hpp"
#include "core/tasks/options.hpp"
#include "core/tasks/sort.hpp"
#include "core/tasks/string_tasks.hpp"

namespace pl {

namespace {

FieldSpec task_field(std::string name, FieldType type, json default_value, double min, double max, std::string doc) {
  return option_field(std::move(name), type, std::move(default_value), min, max, "task", std::move(doc));
}

FieldSpec heldout_fraction_field(double default_value) {
  return task_field("heldout_fraction", FieldType::Float, default_value, 0.01, 0.5,
                    "share of problems held out for evaluation, chosen by a hash of each problem's content; "
                    "held-out problems are never trained on");
}

FieldSpec length_budget_field() {
  return task_field("length_budget", FieldType::Bool, false, 0, 0,
                    "prefix the prompt with the target completion length, \"<budget>|\" (tokens incl. EOS, "
                    "one base-36 digit), for length-control rewards (L1)");
}

std::unique_ptr<SequenceTask> make_addition(const json& o) {
  AdditionOptions options;
  options.digits = o.at("digits").get<int>();
  options.reverse_answer = o.at("reverse_answer").get<bool>();
  options.heldout_fraction = o.at("heldout_fraction").get<double>();
  options.think_mode = o.at("think_mode").get<bool>();
  options.think_share = o.at("think_share").get<double>();
  return std::make_unique<AdditionTask>(options);
}

std::unique_ptr<SequenceTask> make_sort(const json& o) {
  SortOptions options;
  options.list_length = o.at("list_length").get<int>();
  options.heldout_fraction = o.at("heldout_fraction").get<double>();
  return std::make_unique<SortTask>(options);
}

StringTaskOptions string_options(const json& o) {
  StringTaskOptions options;
  options.length = o.at("length").get<int>();
  options.min_length = o.at("min_length").get<int>();
  options.alphabet_size = o.at("alphabet_size").get<int>();
  options.length_budget = o.at("length_budget").get<bool>();
  options.heldout_fraction = o.at("heldout_fraction").get<double>();
  return options;
}

std::unique_ptr<SequenceTask> make_reverse(const json& o) {
  return std::make_unique<StringTask>(StringTask::Mode::Reverse, string_options(o));
}

std::unique_ptr<SequenceTask> make_copy(const json& o) {
  return std::make_unique<StringTask>(StringTask::Mode::Copy, string_options(o));
}

std::unique_ptr<SequenceTask> make_countdown(const json& o) {
  CountdownOptions options;
  options.num_count = o.at("num_count").get<int>();
  options.max_number = o.at("max_number").get<int>();
  options.max_target = o.at("max_target").get<int>();
  options.length_budget = o.at("length_budget").get<bool>();
  options.heldout_fraction = o.at("heldout_fraction").get<double>();
  return std::make_unique<CountdownTask>(options);
}

std::vector<FieldSpec> string_fields() {
  const StringTaskOptions d;
  return {task_field("length", FieldType::Int, d.length, 1, 16, "string length (the longest one when min_length is set)"),
          task_field("min_length", FieldType::Int, d.min_length, 0, 16,
                     "shortest string length: lengths are drawn uniformly from [min_length, length]; 0 = always length"),
          task_field("alphabet_size", FieldType::Int, d.alphabet_size, 2, 26, "symbols used, the letters from 'a'"),
          length_budget_field(), heldout_fraction_field(d.heldout_fraction)};
}

std::vector<TaskSpec> build_tasks() {
  std::vector<TaskSpec> tasks;
  {
    const AdditionOptions d;
    tasks.push_back({"addition", "n-digit + n-digit with zero-padded operands: \"042+317=\" -> \"9530.\" (reversed answer)",
                     {task_field("digits", FieldType::Int, d.digits, 1, 6,
                                 "digits of each operand (zero-padded); the answer has digits+1"),
                      task_field("reverse_answer", FieldType::Bool, d.reverse_answer, 0, 0,
                                 "write the answer least-significant digit first (makes addition learnable by "
                                 "small transformers)"),
                      heldout_fraction_field(d.heldout_fraction),
                      task_field("think_mode", FieldType::Bool, d.think_mode, 0, 0,
                                 "completions open with a Thinking marker 'T' (then the carry digits, then the "
                                 "answer) or a NoThinking marker 'N' (the answer at once), for AdaptThink"),
                      task_field("think_share", FieldType::Float, d.think_share, 0, 1,
                                 "think_mode: share of SFT references written in Thinking mode (1: always think)")},
                     make_addition});
  }
  {
    const SortOptions d;
    tasks.push_back({"sort", "sort a list of digits ascending: \"53192=\" -> \"12359.\"",
                     {task_field("list_length", FieldType::Int, d.list_length, 2, 8, "digits in the list"),
                      heldout_fraction_field(d.heldout_fraction)},
                     make_sort});
  }
  tasks.push_back({"reverse", "reverse a string: \"abcd=\" -> \"dcba.\"", string_fields(), make_reverse});
  tasks.push_back({"copy", "copy a string: \"abcd=\" -> \"abcd.\"", string_fields(), make_copy});
  {
    const CountdownOptions d;
    tasks.push_back({"countdown",
                     "reach the target using each number exactly once with + - * and parentheses: "
                     "\"3,5,7>22:\" -> \"3*5+7.\"",
                     {task_field("num_count", FieldType::Int, d.num_count, 2, 4, "numbers given"),
                      task_field("max_number", FieldType::Int, d.max_number, 2, 99, "numbers are drawn from [1, max_number]"),
                      task_field("max_target", FieldType::Int, d.max_target, 1, 999, "targets lie in [0, max_target]"),
                      length_budget_field(), heldout_fraction_field(d.heldout_fraction)},
                     make_countdown});
  }
  return tasks;
}


}  // namespace

const std::vector<TaskSpec>& all_tasks() {
  static const std::vector<TaskSpec> tasks = build_tasks();
  return tasks;
}

const TaskSpec& task_spec(const std::string& id) {
  std::string ids;
  for (const TaskSpec& spec : all_tasks()) {
    if (spec.id == id) return spec;
    ids += (ids.empty() ? "" : ", ") + spec.id;
  }
  throw TaskError("unknown task '" + id + "' (tasks: " + ids + ")");
}

std::unique_ptr<SequenceTask> make_task(const std::string& id, const json& options) {
  const TaskSpec& spec = task_spec(id);
  return spec.make(resolve_options(spec.fields, options, "task '" + id + "'"));
}


json describe_task(const SequenceTask& task) {
  Problem example = task.make_problem();
  Rng rng = Rng::derive(0, 0x4558414du);  // "EXAM": a fixed stream, the same example every time
  task.sample(Split::Train, rng, example);
  const TaskSpec& spec = task_spec(task.id());
  return {{"id", task.id()},
          {"summary", spec.summary},
          {"vocabulary", task.vocab().chars()},
          {"vocab_size", task.vocab().size()},
          {"max_prompt_length", task.max_prompt_length()},
          {"max_completion_length", task.max_completion_length()},
          {"options", task.options()},
          {"fields", fields_to_json(spec.fields)},
          {"example",
           {{"prompt", task.vocab().decode(example.prompt)},
            {"reference", task.vocab().decode(example.reference)},
            {"difficulty", example.difficulty},
            {"length_target", example.length_target}}}};
}

}  // namespace pl
