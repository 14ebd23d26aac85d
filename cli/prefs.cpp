// policylab prefs: synthetic preference data (core/algos/preference_data.hpp).
//
//   policylab prefs generate --from CHECKPOINT --size N [--noise P] [--label-temperature T]
//                            [--temperature T] [--seed S] [--split train|heldout] [--set k=v]...
//                            [--unpaired] --out FILE.jsonl
//   policylab prefs stats FILE.jsonl (--from CHECKPOINT | --task ID) [--set k=v]... [--json]
//
// generate samples two completions per prompt from the checkpoint's policy and labels them with the
// Bradley–Terry labeler over the hidden gold reward (one JSON object per line: prompt, chosen,
// rejected; with --unpaired: prompt, completion, label). stats reads a file and reports the gold
// reward, the judges (helpfulness, safety) and the verifier on the chosen and the rejected side.
// --set takes the gold reward's options (gold_*) and, with --task, the task's options. Bad input is
// a one-line error, exit code 2.
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/common.hpp"
#include "core/algos/preference_data.hpp"
#include "core/algos/sequence.hpp"
#include "core/tasks/registry.hpp"
#include "core/train/trainer.hpp"

namespace cli {

namespace {

namespace fs = std::filesystem;

struct PrefsOptions {
  std::string from, task, out, file, split = "train";
  std::vector<std::string> assignments;
  int size = 2000;
  double noise = 0.0, label_temperature = 0.1, temperature = 1.0;
  uint64_t seed = 1;
  bool unpaired = false, as_json = false;
  bool has_noise = false, has_label_temperature = false, has_temperature = false, has_size = false;
};

std::unique_ptr<pl::Trainer> load_sequence_checkpoint(const std::string& path) {
  if (!fs::exists(path)) throw UsageError("cannot open checkpoint '" + path + "': " + std::strerror(ENOENT));
  if (fs::is_directory(path)) throw UsageError("checkpoint '" + path + "' is a directory (pass DIR/checkpoint)");
  std::unique_ptr<pl::Trainer> t = pl::Trainer::load_file(path);
  refuse_reward_model_checkpoint(t->config().algo(), path, "prefs --from");
  if (t->task_kind() != "sequence")
    throw UsageError("checkpoint '" + path + "' is " + t->config().algo() + " on " + t->task_name() +
                     ": preference data needs a sequence-task checkpoint (e.g. sft on addition)");
  return t;
}

// The preference options (schema defaults, then --set) and the task's options, validated through
// the dpo schema so that a bad value is named as in a config.
pl::Config prefs_config(const std::string& task, const pl::json& task_options, const std::vector<std::string>& sets,
                        bool task_options_allowed) {
  pl::json user = {{"algo", "dpo"}, {"task", task}};
  for (auto it = task_options.begin(); it != task_options.end(); ++it) user[it.key()] = it.value();
  const pl::TaskSpec& spec = pl::task_spec(task);
  for (const std::string& text : sets) {
    auto [key, value] = pl::parse_assignment(text);
    bool known = false;
    for (const pl::FieldSpec& f : pl::preference_data_fields()) known = known || f.name == key;
    bool task_option = false;
    for (const pl::FieldSpec& f : spec.fields) task_option = task_option || f.name == key;
    if (task_option && !task_options_allowed)
      throw UsageError("--set " + key + ": the task's options come from the checkpoint");
    if (!known && !task_option) {
      std::string names;
      for (const pl::FieldSpec& f : pl::preference_data_fields()) names += (names.empty() ? "" : ", ") + f.name;
      throw UsageError("--set: unknown preference option '" + key + "' (options: " + names + ")");
    }
    user[key] = value;
  }
  return pl::validate_config(user);
}

int run_generate(const PrefsOptions& o) {
  if (o.from.empty()) throw UsageError("prefs generate needs --from CHECKPOINT (the policy that samples)");
  if (o.out.empty()) throw UsageError("prefs generate needs --out FILE.jsonl");
  // The flags set schema fields: validated as --set would be ("field 'sample_temperature' must be a
  // float in [0.05, 10], got 0.01"), after any --set of the same field.
  std::vector<std::string> sets = o.assignments;
  auto flag = [&](bool given, const char* name, const char* field, double value) {
    if (!given) return;
    // JSON has no nan or inf (dump() writes null): name the flag and what was given.
    if (!std::isfinite(value))
      throw UsageError(std::string(name) + " (the field " + field + ") must be a finite number, got " +
                       std::to_string(value));
    sets.push_back(std::string(field) + "=" + pl::json(value).dump());
  };
  if (o.has_size) sets.push_back("dataset_size=" + std::to_string(o.size));
  flag(o.has_noise, "--noise", "label_noise", o.noise);
  flag(o.has_label_temperature, "--label-temperature", "label_temperature", o.label_temperature);
  flag(o.has_temperature, "--temperature", "sample_temperature", o.temperature);
  if (o.split != "train" && o.split != "heldout") throw UsageError("--split must be train or heldout, got '" + o.split + "'");
  std::unique_ptr<pl::Trainer> source = load_sequence_checkpoint(o.from);
  const pl::SequenceLearner& learner = source->sequence();
  const pl::SequenceTask& task = learner.task();
  const pl::Config c = prefs_config(task.id(), task.options(), sets, false);
  pl::GoldReward gold(task, pl::gold_reward_options(c.values()));
  pl::GenerateOptions g = pl::generate_options(c.values());
  g.split = o.split == "train" ? pl::Split::Train : pl::Split::Heldout;
  pl::Sampler sampler(learner.model(), 512);
  pl::Rng rng = pl::preference_stream(o.seed);
  const pl::PreferenceDataset data = pl::generate_preferences(task, learner.model_params(), sampler, gold, g, rng);
  if (o.unpaired) pl::write_unpaired(o.out, task, pl::unpaired_examples(data));
  else pl::write_preferences(o.out, task, data);
  const pl::json s = pl::preference_stats(task, data, gold);
  std::cout << "wrote " << (o.unpaired ? 2 * data.pairs.size() : data.pairs.size())
            << (o.unpaired ? " unpaired examples" : " pairs") << " to " << o.out << " (" << task.id()
            << "; labels agree with the gold reward on " << format_fixed(100 * s["gold_agreement"].get<double>(), 1)
            << "% of pairs; chosen correct " << format_fixed(100 * s["chosen"]["correct"].get<double>(), 1)
            << "%, rejected correct " << format_fixed(100 * s["rejected"]["correct"].get<double>(), 1) << "%)" << std::endl;
  return 0;
}

int run_stats(const PrefsOptions& o) {
  if (o.file.empty()) throw UsageError("prefs stats needs a FILE.jsonl");
  if (o.from.empty() == o.task.empty()) throw UsageError("prefs stats needs the task: --from CHECKPOINT or --task ID");
  std::unique_ptr<pl::Trainer> source;
  std::unique_ptr<pl::SequenceTask> own_task;
  pl::Config c;
  const pl::SequenceTask* task = nullptr;
  if (!o.from.empty()) {
    source = load_sequence_checkpoint(o.from);
    task = &source->sequence().task();
    c = prefs_config(task->id(), task->options(), o.assignments, false);
  } else {
    pl::task_spec(o.task);  // TaskError naming the known tasks
    c = prefs_config(o.task, pl::json::object(), o.assignments, true);
    pl::json options = pl::json::object();
    for (const pl::FieldSpec& f : pl::task_spec(o.task).fields) options[f.name] = c.values().at(f.name);
    own_task = pl::make_task(o.task, options);
    task = own_task.get();
  }
  pl::GoldReward gold(*task, pl::gold_reward_options(c.values()));
  const pl::PreferenceDataset data = pl::parse_preferences(read_file(o.file, "preference file"), *task, o.file);
  const pl::json s = pl::preference_stats(*task, data, gold);
  if (o.as_json) {
    std::cout << s.dump(2) << std::endl;
    return 0;
  }
  std::cout << o.file << ": " << s["pairs"].get<int>() << " pairs on " << task->id() << "\n"
            << "  labels agree with the gold reward: " << s["gold_agreement"].get<double>() * 100 << "% (ties "
            << s["gold_ties"].get<double>() * 100 << "%, identical pairs " << s["identical_pairs"].get<int>() << ")\n";
  for (const char* side : {"chosen", "rejected"}) {
    const pl::json& x = s[side];
    std::cout << "  " << side << ": gold reward " << x["gold_reward"].get<double>() << ", helpfulness "
              << x["helpfulness"].get<double>() << ", correct " << x["correct"].get<double>() * 100 << "%, unsafe "
              << x["unsafe"].get<double>() * 100 << "%, length " << x["length"].get<double>() << "\n";
  }
  return 0;
}

int run_prefs(const PrefsOptions& o, const std::string& verb) {
  try {
    if (verb == "generate") return run_generate(o);
    return run_stats(o);
  } catch (const pl::PreferenceDataError& e) {
    throw UsageError(e.what());
  }
}

}  // namespace

Command add_prefs_command(CLI::App& app) {
  auto o = std::make_shared<PrefsOptions>();
  CLI::App* cmd = app.add_subcommand("prefs", "Synthetic preference data: generate pairs from a checkpoint's policy with a "
                                              "Bradley–Terry labeler over a hidden gold reward, or summarise a file");
  // A word that is no subcommand is named (CLI11 would only say "A subcommand is required").
  cmd->require_subcommand(0, 1);
  cmd->allow_extras();
  CLI::App* gen = cmd->add_subcommand("generate", "Sample pairs from a sequence-task checkpoint and label them (JSONL)");
  gen->add_option("--from", o->from, "Checkpoint whose policy samples the completions (e.g. an SFT run)")->required();
  CLI::Option* size = gen->add_option("--size", o->size, "Preference pairs to generate (the field dataset_size)")->capture_default_str();
  CLI::Option* noise = gen->add_option("--noise", o->noise, "Share of labels flipped (the field label_noise)")->capture_default_str();
  CLI::Option* label_t =
      gen->add_option("--label-temperature", o->label_temperature, "Bradley–Terry temperature of the labeler (the field label_temperature)")
          ->capture_default_str();
  CLI::Option* temp = gen->add_option("--temperature", o->temperature, "Sampling temperature of the policy (the field sample_temperature)")
                          ->capture_default_str();
  gen->add_option("--seed", o->seed, "Seed of the prompts, samples and labels")->check(seed_validator())->capture_default_str();
  gen->add_option("--split", o->split, "Prompts from the task's train or heldout split")->capture_default_str();
  gen->add_option("--set", o->assignments, "Gold-reward option: key=value (gold_*; see `policylab algos`); repeatable")
      ->allow_extra_args(false);
  gen->add_flag("--unpaired", o->unpaired, "Write unpaired examples (prompt, completion, label) for KTO");
  gen->add_option("--out", o->out, "Output JSONL file")->required();
  CLI::App* stats = cmd->add_subcommand("stats", "Summarise a preference file under the gold reward and the judges");
  stats->add_option("file", o->file, "Preference JSONL file")->required();
  stats->add_option("--from", o->from, "Take the task from this checkpoint");
  stats->add_option("--task", o->task, "The task of the file (its options with --set)");
  stats->add_option("--set", o->assignments, "Gold-reward or task option: key=value; repeatable")->allow_extra_args(false);
  stats->add_flag("--json", o->as_json, "Print JSON");
  return {cmd, [o, cmd, gen, stats, size, noise, label_t, temp] {
            const std::vector<std::string> extra = cmd->remaining(true);
            if (!gen->parsed() && !stats->parsed())
              throw UsageError((extra.empty() ? std::string("prefs needs a subcommand")
                                              : "unknown prefs subcommand '" + extra.front() + "'") +
                               " (subcommands: generate, stats; see policylab prefs --help)");
            // allow_extras passes a subcommand's unknown arguments up here: they are still errors.
            if (!extra.empty()) throw UsageError("prefs " + std::string(gen->parsed() ? "generate" : "stats") +
                                                 ": unexpected argument '" + extra.front() + "'");
            o->has_size = size->count() > 0;
            o->has_noise = noise->count() > 0;
            o->has_label_temperature = label_t->count() > 0;
            o->has_temperature = temp->count() > 0;
            return run_prefs(*o, gen->parsed() ? "generate" : "stats");
          }};
}

}  // namespace cli
