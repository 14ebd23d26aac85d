// policylab: the native command line.
//
//   policylab train CONFIG.json [--seed N] [--total-timesteps N] [--set key=value]... [--out DIR]
//                   [--preset ALGO/TASK | --no-preset]
//   policylab train --preset ALGO/TASK [...]              (the preset alone is a config)
//   policylab eval CHECKPOINT [--episodes N] [--deterministic] [--seed N]      (env checkpoints)
//   policylab eval CHECKPOINT [--problems N] [--k K] [--seed N] [--json]       (sequence checkpoints)
//   policylab eval CHECKPOINT --instances FILE [--decode D] [--reference S | --optimum SOLUTIONS]
//                  [--out FILE] [--json]                                        (combo checkpoints)
//   policylab sample CHECKPOINT --prompt TEXT [-n N] [--temperature T] [--top-k K] [--top-p P]
//                    [--greedy] [--seed N] [--probs] [--json]
//   policylab envs [--json]
//   policylab tasks [--json]
//   policylab algos [--json]
//   policylab presets [--json]
//   policylab env-trace --env ID [--state v1,v2,...] --actions a1,a2,... [--seed N]
//
// Every failure is reported as one line "policylab: error: <message>" on stderr. Exit codes:
//   0 success, 1 a runtime failure (divergence, corrupt checkpoint, I/O), 2 a usage or
//   configuration error (bad arguments, unreadable or invalid config), 130 interrupted (Ctrl-C).
#include <CLI/CLI.hpp>

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "core/algos/combo.hpp"
#include "core/combo/solvers.hpp"
#include "core/algos/sequence.hpp"
#include "core/envs/env.hpp"
#include "core/nn/sampler.hpp"
#include "core/tasks/registry.hpp"
#include "core/tasks/task.hpp"
#include "core/train/config.hpp"
#include "core/train/metrics.hpp"
#include "core/train/describe.hpp"
#include "core/train/presets.hpp"
#include "core/util/parallel.hpp"
#include "core/train/trainer.hpp"

namespace fs = std::filesystem;
using namespace cli;  // NOLINT: the shared CLI pieces (common.hpp)

namespace {

// Set by the SIGINT handler; training stops after the current iteration and keeps its checkpoint.
volatile std::sig_atomic_t g_interrupted = 0;

void on_interrupt(int) {
  g_interrupted = 1;
  // A second Ctrl-C kills the process the usual way (e.g. if an iteration takes very long).
  std::signal(SIGINT, SIG_DFL);
}

// ---------------------------------------------------------------------------------------------
// Formatting helpers

// "1234567" -> "1.23M": compact counts for the progress line.
std::string compact_count(double value) {
  char buffer[32];
  if (value >= 1e9) {
    std::snprintf(buffer, sizeof buffer, "%.2fG", value / 1e9);
  } else if (value >= 1e6) {
    std::snprintf(buffer, sizeof buffer, "%.2fM", value / 1e6);
  } else if (value >= 1e4) {
    std::snprintf(buffer, sizeof buffer, "%.1fk", value / 1e3);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.0f", value);
  }
  return buffer;
}

// Seconds as "m:ss" or "h:mm:ss".
std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long long total = static_cast<long long>(seconds + 0.5);
  char buffer[32];
  if (total >= 3600) {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", total / 3600, (total / 60) % 60, total % 60);
  } else {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", total / 60, total % 60);
  }
  return buffer;
}

int terminal_columns() {
  winsize size{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

// ---------------------------------------------------------------------------------------------
// Input files


pl::json load_config_file(const std::string& path) {
  if (fs::is_directory(path)) throw UsageError("config '" + path + "' is a directory, not a JSON file");
  return read_json_file(path, "config file");
}

// The resolved config in schema order (the validated values are in a sorted map), for config.json.
std::string pretty_config(const pl::Config& config) {
  nlohmann::ordered_json ordered = nlohmann::ordered_json::object();
  for (const pl::FieldSpec& spec : config.schema().fields) {
    if (!config.values().contains(spec.name)) continue;  // another task's option
    ordered[spec.name] = nlohmann::ordered_json::parse(config.values().at(spec.name).dump());
  }
  return ordered.dump(2) + "\n";
}

// ---------------------------------------------------------------------------------------------
// train

// Progress report on stderr. On a terminal: one line redrawn in place (at most 10 times a second).
// Otherwise (a log file, CI): a plain line at most once a second, plus the last iteration.
class ProgressReport {
 public:
  // sequence: the budget is in gradient steps (iterations) and the score is held-out accuracy;
  // otherwise env steps and the mean episodic return.
  // combo: gradient steps, and the score is the greedy held-out gap to the reference (percent).
  // first_step: where a resumed run starts (the rate counts the steps taken since).
  ProgressReport(int64_t total_steps, bool sequence, bool interactive, bool combo = false, int64_t first_step = 0)
      : total_steps_(total_steps), first_step_(first_step), sequence_(sequence || combo), combo_(combo),
        interactive_(interactive), start_(Clock::now()), last_draw_(start_) {}

  ~ProgressReport() { end_line(); }

  void update(const pl::Metrics& metrics, bool last) {
    const double score = combo_      ? metrics.extra_named("heldout_gap")
                         : sequence_ ? metrics.extra_named("heldout_accuracy")
                                     : metrics.episodic_return_mean;
    if (std::isfinite(score)) latest_score_ = score;
    // A reward model has no held-out accuracy: its held-out pairs ranked as the gold reward ranks them.
    const double gold = sequence_ && !combo_ ? metrics.extra_named("heldout_gold_accuracy") : NAN;
    if (std::isfinite(gold)) latest_gold_ = gold;
    const auto now = Clock::now();
    const double since_draw = std::chrono::duration<double>(now - last_draw_).count();
    const double min_interval = interactive_ ? 0.1 : 1.0;
    if (!last && drawn_once_ && since_draw < min_interval) return;
    last_draw_ = now;
    drawn_once_ = true;

    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double steps = static_cast<double>(sequence_ ? metrics.iteration : metrics.global_step);
    const double rate = elapsed > 0 ? (steps - static_cast<double>(first_step_)) / elapsed : 0.0;
    const double fraction = std::min(1.0, steps / static_cast<double>(total_steps_));
    const double eta = rate > 0 ? (static_cast<double>(total_steps_) - steps) / rate : NAN;

    std::string status = format_fixed(100.0 * fraction, 1) + "%  " + compact_count(steps) + "/" +
                         compact_count(static_cast<double>(total_steps_)) + " steps  " +
                         compact_count(rate) + (sequence_ ? " steps/s" : " sps") + "  ETA " +
                         (last ? "0:00" : format_duration(eta)) +
                         (combo_ ? "  held-out gap " + format_fixed(latest_score_, 2) + "%"
                          : sequence_ && !std::isfinite(latest_score_) && std::isfinite(latest_gold_)
                              ? "  held-out vs gold " + format_fixed(100.0 * latest_gold_, 1) + "%"
                          : sequence_ ? "  held-out " + format_fixed(100.0 * latest_score_, 1) + "%"
                                    : "  return " + format_fixed(latest_score_, 1));
    if (interactive_) {
      const int columns = terminal_columns();
      const int bar_width = std::max(0, std::min(30, columns - static_cast<int>(status.size()) - 4));
      std::string line;
      if (bar_width >= 8) {
        const int filled = static_cast<int>(fraction * bar_width + 0.5);
        line = "[" + std::string(filled, '#') + std::string(bar_width - filled, '.') + "] ";
      }
      line += status;
      // Never wrap: a wrapped line cannot be redrawn with \r.
      if (static_cast<int>(line.size()) >= columns) line.resize(std::max(0, columns - 1));
      std::cerr << '\r' << line << "\033[K" << std::flush;
      line_open_ = true;
    } else {
      std::cerr << "iteration " << metrics.iteration << "  " << status << "  policy_loss "
                << format_fixed(metrics.policy_loss, 4) << "  entropy " << format_fixed(metrics.entropy, 3)
                << std::endl;
    }
  }

  // Ends the redrawn line so that what follows (summary, error) starts on its own line.
  void end_line() {
    if (line_open_) std::cerr << std::endl;
    line_open_ = false;
  }

  double latest_score() const { return latest_score_; }
  double latest_gold() const { return latest_gold_; }
  double elapsed_s() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  using Clock = std::chrono::steady_clock;
  int64_t total_steps_;
  int64_t first_step_ = 0;
  bool sequence_;
  bool combo_;
  bool interactive_;
  Clock::time_point start_, last_draw_;
  bool drawn_once_ = false;
  bool line_open_ = false;
  double latest_score_ = NAN;
  double latest_gold_ = NAN;
};

struct TrainOptions {
  std::string config_path;
  int64_t seed = 0;
  int64_t total_timesteps = 0;
  bool has_seed = false, has_total_timesteps = false;
  std::vector<std::string> assignments;
  std::string out_dir;
  std::string preset;      // --preset ALGO/TASK; empty: the preset of the config's algo and task
  bool no_preset = false;  // --no-preset: schema defaults under the config, as before presets
  std::string resume_dir;  // --resume DIR: continue the run saved in DIR/checkpoint
  int64_t checkpoint_every = 0;  // --checkpoint-every N: also save every N iterations (0: at the end only)
};

// The fields the user set that the preset sets otherwise, as "learning_rate=0.003, seed=2".
std::string overridden_fields(const pl::Preset& preset, const pl::json& user) {
  std::string text;
  for (auto it = user.begin(); it != user.end(); ++it) {
    if (it.key() == "algo" || it.key() == pl::task_field(preset.algo)) continue;
    const auto from_preset = preset.values.find(it.key());
    if (from_preset != preset.values.end() && *from_preset == it.value()) continue;
    text += (text.empty() ? "" : ", ") + it.key() + "=" + it.value().dump();
  }
  return text;
}

// The lines of a metrics file whose iteration is at most `last` (a resumed run drops the records of
// iterations after its checkpoint, as a run killed between checkpoints leaves them). A missing file
// is empty; a last line without its newline that is not a record (a process killed mid-write) is
// dropped; any other line that is not a record is an error.
std::string metrics_up_to(const std::string& path, int64_t last, int64_t* kept_records) {
  std::ifstream in(path, std::ios::binary);
  std::string kept, line;
  int number = 0;
  *kept_records = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    const bool partial = in.eof();  // the file ended before this line's newline
    const pl::json record = pl::json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.is_object() || !record.contains("iteration") ||
        !record["iteration"].is_number_integer()) {
      if (partial) break;
      throw UsageError(path + ":" + std::to_string(number) + ": not a metrics record (a JSON object with an iteration)");
    }
    if (record["iteration"].get<int64_t>() <= last) {
      kept += line + "\n";
      ++*kept_records;
    }
  }
  return kept;
}

// Trains until the budget is used or Ctrl-C, writing DIR/metrics.jsonl (a line per iteration) and
// DIR/checkpoint (at the end, and every checkpoint_every iterations when > 0). A resumed run keeps
// its metrics up to the checkpoint's iteration and appends to them.
int train_loop(pl::Trainer& trainer, const std::string& out_dir, const std::string& preset_line, bool resumed,
               int64_t checkpoint_every) {
  const pl::Config& config = trainer.config();
  // Progress counts env steps on env tasks and gradient steps on sequence tasks.
  const bool combo = trainer.task_kind() == "combo";
  const bool sequence = trainer.task_kind() == "sequence" || combo;
  const int64_t budget = sequence ? config.get_int("max_steps") : config.get_int("total_timesteps");

  const std::string metrics_path = (fs::path(out_dir) / "metrics.jsonl").string();
  std::string kept_metrics;  // a resumed run's records up to its checkpoint
  if (resumed) {
    int64_t kept_records = 0;
    kept_metrics = metrics_up_to(metrics_path, trainer.iteration(), &kept_records);
    // A record per iteration: fewer means the file lost some (cut, edited); the run resumes exactly
    // all the same, but its metrics will have a gap, which is said rather than left to be found.
    if (kept_records < trainer.iteration())
      std::cerr << "policylab: warning: " << metrics_path << " holds " << kept_records << " records of the checkpoint's "
                << trainer.iteration() << " iterations; the resumed run's records follow them, with a gap" << std::endl;
  } else {
    fs::create_directories(out_dir);
    std::ofstream config_out(fs::path(out_dir) / "config.json");
    config_out << pretty_config(config);
    if (!config_out) throw std::runtime_error("cannot write " + (fs::path(out_dir) / "config.json").string());
  }
  if (resumed) {  // the kept records go to a temporary name, then over the old file: a kill here loses nothing
    const std::string tmp = metrics_path + ".tmp";
    {
      std::ofstream kept(tmp, std::ios::binary | std::ios::trunc);
      kept << kept_metrics;
      if (!kept) throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
    }
    if (std::rename(tmp.c_str(), metrics_path.c_str()) != 0)
      throw std::runtime_error("cannot write " + metrics_path + ": " + std::strerror(errno));
  }
  std::ofstream metrics_out(metrics_path, resumed ? std::ios::app : std::ios::trunc);
  if (!metrics_out) throw std::runtime_error("cannot write " + metrics_path + ": " + std::strerror(errno));
  const std::string checkpoint_path = (fs::path(out_dir) / "checkpoint").string();

  if (!preset_line.empty()) std::cerr << preset_line << std::endl;
  if (resumed) {
    std::cerr << "policylab: resuming " << config.algo() << " on " << trainer.task_name() << " at "
              << (sequence ? trainer.iteration() : trainer.global_step()) << " of " << budget
              << (sequence ? " gradient" : "") << " steps; writing " << out_dir << std::endl;
  } else {
    std::cerr << "policylab: training " << config.algo() << " on " << trainer.task_name() << " for " << budget
              << (sequence ? " gradient" : "") << " steps (" << trainer.num_parameters()
              << " parameters); writing " << out_dir << std::endl;
  }

  const int64_t first_env_step = trainer.global_step();  // a resumed run's rates count from here
  ProgressReport progress(budget, sequence, isatty(STDERR_FILENO) == 1, combo,
                          sequence ? trainer.iteration() : trainer.global_step());
  g_interrupted = 0;
  std::signal(SIGINT, on_interrupt);

  while (!trainer.done() && !g_interrupted) {
    const pl::Metrics& metrics = trainer.step();
    // Written before the divergence check: the record that went bad is the one to look at.
    metrics_out << metrics.to_json(trainer.layer_names()).dump() << '\n' << std::flush;
    if (!metrics_out) throw std::runtime_error("cannot write " + metrics_path);

    const std::string bad = metrics.first_non_finite();
    if (!bad.empty()) {
      progress.end_line();
      std::vector<double> values(static_cast<size_t>(metrics.num_scalars()));
      metrics.scalars(values.data());
      const std::vector<std::string> names = metrics.names();
      const double bad_value = values[std::find(names.begin(), names.end(), bad) - names.begin()];
      throw std::runtime_error("training diverged at iteration " + std::to_string(metrics.iteration) +
                               " (step " + std::to_string(metrics.global_step) + "): " + bad + " is " +
                               (std::isnan(bad_value) ? "NaN" : (bad_value > 0 ? "inf" : "-inf")) +
                               "; no checkpoint written; metrics are in " + metrics_path +
                               " (try a lower learning_rate or a max_grad_norm > 0)");
    }
    progress.update(metrics, trainer.done());
    if (checkpoint_every > 0 && trainer.iteration() % checkpoint_every == 0 && !trainer.done())
      trainer.save_file(checkpoint_path);  // written to a temporary name, then renamed
  }
  std::signal(SIGINT, SIG_DFL);
  progress.end_line();

  trainer.save_file(checkpoint_path);

  const pl::Metrics& last = trainer.last_metrics();
  const double elapsed = progress.elapsed_s();
  std::cout << (g_interrupted ? "interrupted: " : "done: ") << config.algo() << " on " << trainer.task_name() << ", ";
  if (combo) {
    const pl::combo::ProblemKind kind = trainer.combo().problem();
    std::cout << trainer.iteration() << " gradient steps (" << trainer.global_step() << " trajectories) in "
              << format_fixed(elapsed, 1) << " s; held-out greedy " << pl::combo::objective_name(kind) << " "
              << format_fixed(last.extra_named("heldout_objective"), 4) << ", gap "
              << format_fixed(last.extra_named("heldout_gap"), 2) << "% (multi-start "
              << format_fixed(last.extra_named("heldout_multistart_gap"), 2) << "%) to "
              << format_fixed(last.extra_named("reference_objective"), 4);
  } else if (sequence) {
    std::cout << trainer.iteration() << " gradient steps (" << trainer.global_step() << " tokens) in "
              << format_fixed(elapsed, 1) << " s; ";
    // A reward model writes no completions: its held-out figure is the pairs ranked as the gold reward ranks them.
    const double accuracy = progress.latest_score(), gold = progress.latest_gold();
    if (std::isfinite(accuracy)) std::cout << "held-out accuracy " << format_fixed(100.0 * accuracy, 1) << "%";
    else if (std::isfinite(gold)) std::cout << "held-out pairs ranked as the gold reward ranks them " << format_fixed(100.0 * gold, 1) << "%";
    else std::cout << "no held-out evaluation yet";
  } else {
    std::cout << trainer.global_step() << " steps in " << trainer.iteration() << " iterations, "
              << format_fixed(elapsed, 1) << " s ("
              << compact_count(elapsed > 0 ? static_cast<double>(last.global_step - first_env_step) / elapsed : 0.0)
              << " sps); last mean return "
              << (std::isfinite(progress.latest_score()) ? format_fixed(progress.latest_score(), 2)
                                                         : std::string("n/a (no episode finished)"));
  }
  std::cout << "; checkpoint " << checkpoint_path << std::endl;
  return g_interrupted ? kExitInterrupted : 0;
}

std::unique_ptr<pl::Trainer> load_checkpoint(const std::string& path);

// --resume DIR: the run saved in DIR/checkpoint continues as it was configured, to its budget.
int resume_train(const TrainOptions& options) {
  const char* other = !options.config_path.empty() ? "a CONFIG file"
                      : !options.preset.empty()    ? "--preset"
                      : options.no_preset          ? "--no-preset"
                      : !options.assignments.empty() ? "--set"
                      : options.has_seed             ? "--seed"
                      : options.has_total_timesteps  ? "--total-timesteps"
                      : !options.out_dir.empty()     ? "--out"
                                                     : nullptr;
  if (other != nullptr)
    throw UsageError(std::string("--resume continues the saved run as it was configured, into its own directory; ") + other +
                     " cannot change it (start a new run for that)");
  const std::string dir = options.resume_dir;
  if (!fs::is_directory(dir)) throw UsageError("--resume: '" + dir + "' is not a run directory");
  const std::unique_ptr<pl::Trainer> trainer = load_checkpoint((fs::path(dir) / "checkpoint").string());
  if (trainer->done())
    throw UsageError("--resume: the run in '" + dir + "' has already used its whole budget (" +
                     std::to_string(trainer->iteration()) + " iterations); nothing to resume");
  return train_loop(*trainer, dir, "", true, options.checkpoint_every);
}

int run_train(const TrainOptions& options) {
  if (!options.resume_dir.empty()) return resume_train(options);
  if (options.config_path.empty() && options.preset.empty()) {
    throw UsageError("train needs a CONFIG file or --preset ALGO/TASK (see `policylab presets`)");
  }
  if (options.no_preset && !options.preset.empty()) throw UsageError("--preset and --no-preset exclude each other");
  pl::json user = options.config_path.empty() ? pl::json::object() : load_config_file(options.config_path);
  if (!user.is_object()) {
    throw UsageError(options.config_path + ": the config must be a JSON object, got " + user.type_name());
  }
  // Overrides: the file, then each --set in order, then the dedicated flags.
  pl::json sets = pl::json::object();
  for (const std::string& text : options.assignments) {
    auto [key, value] = pl::parse_assignment(text);
    sets[key] = value;
  }
  // A --set that switches a method off leaves out the file's options for it (said below), rather
  // than refusing the file's own example: `--set safety_method=none` on the dual example.
  const std::vector<std::string> switched_off =
      pl::fields_switched_off(user, sets, options.preset.empty() ? "ppo" : pl::preset_named(options.preset).algo);
  for (const std::string& field : switched_off) user.erase(field);
  for (auto it = sets.begin(); it != sets.end(); ++it) user[it.key()] = it.value();
  // The preset of the pair (the flags below do not change the pair).
  const pl::Preset* preset = !options.preset.empty() ? &pl::preset_named(options.preset)
                             : options.no_preset      ? nullptr
                                                      : pl::preset_for_config(user);
  if (options.has_seed) user["seed"] = options.seed;
  if (options.has_total_timesteps) {
    // Sequence algorithms count gradient steps (max_steps), not env steps; say so instead of
    // reporting an unknown field.
    const pl::json& algo_json = preset != nullptr && !user.contains("algo") ? preset->values.at("algo") : user.value("algo", pl::json());
    if (algo_json.is_string()) {
      const std::string algo = algo_json.get<std::string>();
      for (const pl::Schema& schema : pl::all_schemas()) {
        if (schema.algo == algo && schema.task_kind != "env") {
          throw UsageError("--total-timesteps: algo '" + algo + "' trains on a " + schema.task_kind +
                           " task and counts gradient steps; use --set max_steps=N");
        }
      }
    }
    user["total_timesteps"] = options.total_timesteps;
  }
  // The preset goes under everything the user wrote (file, --set, flags): explicit fields always
  // win. An unknown algo or task has no preset; validation names the mistake.
  std::string preset_line;  // said once the config is accepted (a rejected one gets one error line)
  if (preset != nullptr) {
    const std::string overridden = overridden_fields(*preset, user);
    user = pl::apply_preset(*preset, user);
    preset_line = "policylab: preset " + preset->name() + " in force" +
                  (overridden.empty() ? "" : "; the config overrides " + overridden) + "; expected: " + preset->expected +
                  (preset->learns ? "" : " (" + preset->note + ")");
  }

  const pl::Config config = pl::validate_config(user);
  if (!switched_off.empty()) {
    std::string names;
    for (const std::string& field : switched_off) names += (names.empty() ? "" : ", ") + field;
    std::cerr << "policylab: left out of " << options.config_path << ", as they no longer apply after --set: " << names
              << std::endl;
  }
  // A missing init_from file is a mistake in the config (exit 2), like a missing checkpoint for
  // eval; a file that is there but corrupt or of another task is a CheckpointError (exit 1).
  // So are the other files a run reads (the trainer reports a missing preference dataset only at
  // its first step, because a resumed run takes its pairs from the checkpoint: by then the run
  // directory, and an old run's metrics in it, would have been overwritten).
  for (const char* field : {"init_from", "reward_model", "dataset"}) {
    if (!config.values().contains(field)) continue;
    const std::string path = config.get_string(field);
    const bool checkpoint = std::string(field) != "dataset";
    if (!path.empty() && !fs::exists(path)) {
      throw UsageError(std::string("field '") + field + "': cannot open " + (checkpoint ? "checkpoint" : "file") + " '" +
                       path + "': " + std::strerror(ENOENT));
    }
    if (!path.empty() && fs::is_directory(path)) {
      throw UsageError(std::string("field '") + field + "': '" + path + "' is a directory" +
                       (checkpoint ? " (pass DIR/checkpoint)" : ""));
    }
  }
  // The trainer is built before anything is written, so that a rejected config leaves no directory.
  pl::Trainer trainer(config);
  const std::string out_dir =
      !options.out_dir.empty()
          ? options.out_dir
          : "runs/" + trainer.task_name() + "_" + config.algo() + "_" + std::to_string(config.get_int("seed"));
  return train_loop(trainer, out_dir, preset_line, false, options.checkpoint_every);
}


// ---------------------------------------------------------------------------------------------
// Checkpoints

// Loads a checkpoint file. A missing file or a directory is a usage error (exit 2); a corrupt or
// incompatible file throws CheckpointError, a runtime failure (exit 1).
std::unique_ptr<pl::Trainer> load_checkpoint(const std::string& path) {
  if (!fs::exists(path)) {
    throw UsageError("cannot open checkpoint '" + path + "': " + std::strerror(ENOENT));
  }
  if (fs::is_directory(path)) {
    throw UsageError("checkpoint '" + path + "' is a directory (pass DIR/checkpoint)");
  }
  return pl::Trainer::load_file(path);
}

// "sft on addition" / "ppo on CartPole-v1": what a checkpoint holds, for messages.
std::string describe_run(const pl::Trainer& trainer) {
  return trainer.config().algo() + " on " + trainer.task_name();
}

// The task's options as "digits 3, reverse_answer true, heldout_fraction 0.1".
std::string describe_options(const pl::json& options) {
  std::string text;
  for (auto it = options.begin(); it != options.end(); ++it) {
    text += (text.empty() ? "" : ", ") + it.key() + " " + it.value().dump();
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// eval

struct EvalOptions {
  std::string checkpoint_path;
  int episodes = 10;
  bool deterministic = false;
  uint64_t seed = 12345;
  int problems = 500;
  int k = 8;
  bool as_json = false;
  // Combinatorial-problem checkpoints.
  std::string instances, decode = "greedy", reference, out, optimum;
  // Which options were given (env and sequence checkpoints take different ones).
  bool has_episodes = false, has_deterministic = false, has_problems = false, has_k = false;
  bool has_combo = false;  // --instances, --decode, --reference, --optimum or --out
};

// A rate or mean for JSON output, to 6 significant digits (0.424, not 0.42400001019239425).
double rounded(double value) {
  if (!std::isfinite(value)) return value;
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return std::strtod(buffer, nullptr);
}

int run_eval_sequence(const EvalOptions& options, const pl::Trainer& trainer) {
  if (options.has_episodes || options.has_deterministic) {
    throw UsageError(std::string(options.has_episodes ? "--episodes" : "--deterministic") +
                     " applies to env checkpoints; '" + options.checkpoint_path + "' holds " +
                     describe_run(trainer) + " (a sequence task): use --problems N and --k K");
  }
  const pl::SequenceLearner& learner = trainer.sequence();
  const pl::HeldoutResult r = learner.evaluate(options.problems, options.k, options.seed);
  const pl::json task_options = learner.task().options();
  if (options.as_json) {
    nlohmann::ordered_json summary;
    summary["checkpoint"] = options.checkpoint_path;
    summary["algo"] = trainer.config().algo();
    summary["task"] = trainer.task_name();
    summary["task_options"] = nlohmann::ordered_json::parse(task_options.dump());
    summary["iteration"] = trainer.iteration();
    summary["global_step"] = trainer.global_step();
    summary["problems"] = r.problems;
    summary["distinct_problems"] = r.distinct_problems;
    summary["seed"] = options.seed;
    summary["accuracy"] = rounded(r.accuracy);
    summary["k"] = r.k;
    summary["pass_at_k"] = r.k > 0 ? nlohmann::ordered_json(rounded(r.pass_at_k)) : nlohmann::ordered_json(nullptr);
    summary["partial_mean"] = rounded(r.partial_mean);
    summary["well_formed"] = rounded(r.well_formed);
    summary["length_mean"] = rounded(r.length_mean);
    if (learner.task().answer_modes().on()) {  // Thinking / NoThinking answer modes (AdaptThink)
      auto or_null = [](double v) { return std::isnan(v) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(rounded(v)); };
      summary["nothink_share"] = rounded(r.nothink_share);
      summary["accuracy_nothink"] = or_null(r.accuracy_nothink);
      summary["accuracy_think"] = or_null(r.accuracy_think);
    }
    std::cout << summary.dump() << std::endl;
    return 0;
  }
  std::cout << describe_run(trainer) << " (" << describe_options(task_options) << "), " << trainer.iteration()
            << " gradient steps\n"
            << "  held-out problems  " << r.problems << " (seed " << options.seed
            << (r.distinct_problems < r.problems
                    ? "; drawn with replacement, " + std::to_string(r.distinct_problems) + " distinct"
                    : std::string())
            << ")\n"
            << "  accuracy           " << format_fixed(100.0 * r.accuracy, 1) << "%  (greedy, pass@1)\n";
  if (r.k > 0) {
    std::cout << "  pass@" << r.k << std::string(r.k < 10 ? 13 : r.k < 100 ? 12 : r.k < 1000 ? 11 : 10, ' ')
              << format_fixed(100.0 * r.pass_at_k, 1) << "%  (" << r.k << " samples at temperature 1)\n";
  }
  std::cout << "  partial credit     " << format_fixed(r.partial_mean, 3) << "  (greedy)\n"
            << "  well-formed        " << format_fixed(100.0 * r.well_formed, 1) << "%\n"
            << "  mean length        " << format_fixed(r.length_mean, 2) << " tokens (EOS included)" << std::endl;
  if (learner.task().answer_modes().on()) {
    auto percent = [](double v) { return std::isnan(v) ? std::string("-") : format_fixed(100.0 * v, 1) + "%"; };
    std::cout << "  NoThinking share   " << percent(r.nothink_share) << "  (greedy answers opening with the NoThinking marker)\n"
              << "  accuracy by mode   NoThinking " << percent(r.accuracy_nothink) << ", Thinking " << percent(r.accuracy_think)
              << std::endl;
  }
  return 0;
}

int run_eval(const EvalOptions& options) {
  const std::unique_ptr<pl::Trainer> trainer = load_checkpoint(options.checkpoint_path);
  refuse_reward_model_checkpoint(trainer->config().algo(), options.checkpoint_path, "eval");
  if (trainer->task_kind() == "combo") {
    if (options.has_episodes || options.has_deterministic || options.has_problems || options.has_k)
      throw UsageError(std::string(options.has_episodes        ? "--episodes"
                                   : options.has_deterministic ? "--deterministic"
                                   : options.has_problems      ? "--problems"
                                                               : "--k") +
                       " does not apply to '" + options.checkpoint_path + "', which holds " + describe_run(*trainer) +
                       " (a combinatorial problem): eval takes --instances FILE and --decode greedy|sample:N|"
                       "multistart|multistart_aug8");
    ComboEvalOptions combo;
    combo.checkpoint = options.checkpoint_path;
    combo.instances = options.instances;
    combo.decode = options.decode;
    combo.reference = options.reference;
    combo.optimum = options.optimum;
    combo.out = options.out;
    combo.seed = options.seed;
    combo.as_json = options.as_json;
    return run_eval_combo(combo, *trainer);
  }
  if (options.has_combo)
    throw UsageError("--instances, --decode, --reference, --optimum and --out apply to combinatorial-problem checkpoints; '" +
                     options.checkpoint_path + "' holds " + describe_run(*trainer));
  if (trainer->task_kind() == "sequence") return run_eval_sequence(options, *trainer);
  if (options.has_problems || options.has_k) {
    throw UsageError(std::string(options.has_problems ? "--problems" : "--k") +
                     " applies to sequence-task checkpoints; '" + options.checkpoint_path + "' holds " +
                     describe_run(*trainer) + " (an env task): use --episodes N");
  }
  const pl::EvalResult result = trainer->evaluate(options.episodes, options.deterministic, options.seed);
  // Keys in a fixed, readable order (nlohmann::json would sort them).
  nlohmann::ordered_json summary;
  summary["checkpoint"] = options.checkpoint_path;
  summary["algo"] = trainer->config().algo();
  summary["env_id"] = trainer->config().get_string("env_id");
  summary["global_step"] = trainer->global_step();
  summary["episodes"] = result.episodes;
  summary["deterministic"] = options.deterministic;
  summary["seed"] = options.seed;
  summary.update(pl::describe_evaluation(result));
  std::cout << summary.dump() << std::endl;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// sample

struct SampleOptions {
  std::string checkpoint_path;
  std::string prompt;
  int n = 1;
  double temperature = 1.0;
  int top_k = 0;
  double top_p = 1.0;
  bool greedy = false;
  bool has_temperature = false, has_top_k = false, has_top_p = false;
  uint64_t seed = 1;
  bool probs = false;
  bool as_json = false;
};

int run_sample(const SampleOptions& options) {
  if (options.greedy && (options.has_temperature || options.has_top_k || options.has_top_p))
    throw UsageError(std::string("--greedy takes the most likely token at every step; it has no ") +
                     (options.has_temperature ? "--temperature" : options.has_top_k ? "--top-k" : "--top-p"));
  // The sampler divides float logits by it: below the floor, or beyond float range, they overflow.
  if (!(options.temperature >= pl::kMinTemperature && options.temperature <= std::numeric_limits<float>::max())) {
    throw UsageError("--temperature must be in [" + format_general(pl::kMinTemperature) + ", 3.4e38], got " +
                     format_general(options.temperature) + " (use --greedy for the most likely tokens)");
  }
  if (!(options.top_p > 0 && options.top_p <= 1)) {
    throw UsageError("--top-p must be in (0, 1], got " + format_general(options.top_p));
  }
  const std::unique_ptr<pl::Trainer> trainer = load_checkpoint(options.checkpoint_path);
  refuse_reward_model_checkpoint(trainer->config().algo(), options.checkpoint_path, "sample");
  if (trainer->task_kind() != "sequence") {
    throw UsageError("sample needs a sequence-task checkpoint (e.g. algo sft); '" + options.checkpoint_path +
                     "' holds " + describe_run(*trainer) +
                     (trainer->task_kind() == "combo" ? " (a combinatorial problem)" : " (an env task)") + ": use eval");
  }
  const pl::SequenceLearner& learner = trainer->sequence();
  pl::SamplingOptions sampling;
  sampling.temperature = static_cast<float>(options.temperature);
  sampling.top_k = options.top_k;
  sampling.top_p = static_cast<float>(options.top_p);
  sampling.greedy = options.greedy;
  pl::json result;
  try {
    result = learner.complete(options.prompt, options.n, sampling, options.seed);
  } catch (const pl::TaskError& error) {
    // An unknown token, a prompt too long for the model or not of the task's form: the user's input.
    const std::string message = error.what();
    if (message.find("e.g.") != std::string::npos) throw UsageError(message);
    const pl::SequenceTask& task = learner.task();
    const pl::json example = pl::describe_task(task).at("example");
    throw UsageError(message + "; " + task.id() + " prompts look like " +
                     pl::quote_text(example.at("prompt").get<std::string>()));
  }
  if (options.as_json) {
    std::cout << result.dump() << std::endl;
    return 0;
  }
  const std::string prompt = result.at("prompt").get<std::string>();
  std::cout << describe_run(*trainer) << ", " << trainer->iteration() << " gradient steps; prompt "
            << pl::quote_text(prompt) << ", reference " << pl::quote_text(result.at("reference").get<std::string>())
            << "; " << (options.greedy ? std::string("greedy")
                                       : "temperature " + format_fixed(options.temperature, 2) +
                                             (options.top_k > 0 ? ", top-k " + std::to_string(options.top_k) : "") +
                                             (options.top_p < 1 ? ", top-p " + format_fixed(options.top_p, 2) : ""))
            << "\n";
  const pl::json& completions = result.at("completions");
  const int width = static_cast<int>(std::to_string(completions.size()).size());
  size_t text_width = 0;
  for (const pl::json& c : completions) text_width = std::max(text_width, c.at("completion").get<std::string>().size());
  int correct = 0;
  double partial = 0;
  int index = 0;
  for (const pl::json& c : completions) {
    ++index;
    const std::string completion = c.at("completion").get<std::string>();
    const bool is_correct = c.at("correct").get<bool>();
    correct += is_correct;
    partial += c.at("partial").get<double>();
    std::string number = std::to_string(index);
    std::cout << std::string(static_cast<size_t>(width) - number.size(), ' ') << number << "  " << prompt
              << completion << std::string(text_width - completion.size(), ' ') << "  reward "
              << c.at("reward").dump() << "  " << (is_correct ? "correct" : "wrong  ") << "  partial "
              << format_fixed(c.at("partial").get<double>(), 2) << "  "
              << (c.at("well_formed").get<bool>() ? "well-formed" : "malformed  ") << "  " << c.at("length").dump()
              << " tokens" << (c.at("finished").get<bool>() ? "" : " (no EOS: stopped at the length limit)") << "\n";
    if (options.probs) {
      // One line per token: the token, its probability, and the model's top next-token choices.
      for (const pl::json& step : c.at("steps")) {
        std::cout << std::string(static_cast<size_t>(width) + 4, ' ') << step.at("token").get<std::string>() << "  p "
                  << format_fixed(step.at("p").get<double>(), 3) << "   top:";
        for (const pl::json& alt : step.at("top")) {
          std::cout << "  " << alt.at("token").get<std::string>() << " " << format_fixed(alt.at("p").get<double>(), 3);
        }
        std::cout << "\n";
      }
    }
  }
  if (completions.size() > 1) {
    std::cout << correct << "/" << completions.size() << " correct ("
              << format_fixed(100.0 * correct / static_cast<double>(completions.size()), 1) << "%), mean partial "
              << format_fixed(partial / static_cast<double>(completions.size()), 3) << "\n";
  }
  std::cout << std::flush;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// envs, tasks, algos

std::string format_bound(float value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return pl::float_json(value).dump();
}

std::string describe_space(const pl::Space& space, bool with_bounds) {
  if (space.is_discrete()) return "Discrete(" + std::to_string(space.n) + ")";
  std::string text = "Box(" + std::to_string(space.flat_dim()) + ")";
  if (with_bounds) {
    std::string low, high;
    for (int i = 0; i < space.flat_dim(); ++i) {
      low += (i ? ", " : "") + format_bound(space.low[i]);
      high += (i ? ", " : "") + format_bound(space.high[i]);
    }
    text += " low [" + low + "] high [" + high + "]";
  }
  return text;
}

int run_envs(bool as_json) {
  pl::json list = pl::json::array();
  for (const std::string& id : pl::env_ids()) {
    const std::unique_ptr<pl::Env> env = pl::make_env(id);
    if (as_json) {
      list.push_back(pl::describe_env(*env));
      continue;
    }
    std::string state;
    for (const std::string& name : env->state_names()) state += (state.empty() ? "" : ", ") + name;
    std::cout << id << "\n"
              << "    observation  " << describe_space(env->observation_space(), false) << "\n"
              << "    action       " << describe_space(env->action_space(), true) << "\n"
              << "    max steps    " << env->max_episode_steps() << "\n"
              << "    state        " << state << "\n";
  }
  if (as_json) std::cout << list.dump(2) << std::endl;
  return 0;
}

int run_tasks(bool as_json) {
  pl::json list = pl::json::array();
  for (const pl::TaskSpec& spec : pl::all_tasks()) {
    const std::unique_ptr<pl::SequenceTask> task = pl::make_task(spec.id);
    const pl::json d = pl::describe_task(*task);
    if (as_json) {
      list.push_back(d);
      continue;
    }
    const pl::json& example = d.at("example");
    std::cout << spec.id << ": " << spec.summary << "\n"
              << "    vocabulary   " << d.at("vocabulary").get<std::string>() << "  (" << d.at("vocab_size").get<int>()
              << " tokens; '_' is padding, '.' ends a completion)\n"
              << "    lengths      prompt up to " << d.at("max_prompt_length").get<int>() << " tokens, completion up to "
              << d.at("max_completion_length").get<int>() << " (EOS included)\n"
              << "    example      " << example.at("prompt").get<std::string>() << " -> "
              << example.at("reference").get<std::string>() << "\n"
              << "    options\n";
    const char* type_names[] = {"int", "float", "bool", "string", "int list"};
    for (const pl::FieldSpec& field : spec.fields) {
      std::cout << "      " << field.name << " (" << type_names[static_cast<int>(field.type)]
                << ") = " << field.default_value.dump() << "    " << field.range_text() << "\n"
                << "          " << field.doc << "\n";
    }
    std::cout << "\n";
  }
  if (as_json) {
    std::cout << list.dump(2) << std::endl;
    return 0;
  }
  std::cout << "Train with algo \"sft\" and \"task\": \"<id>\" plus any options in the config (see examples/sft_*.json);\n"
               "`policylab sample CHECKPOINT --prompt TEXT` takes a prompt typed as in the examples.\n";
  return 0;
}

int run_presets(bool as_json) {
  if (as_json) {
    std::cout << pl::presets_to_json().dump(2) << std::endl;
    return 0;
  }
  for (const pl::Preset& p : pl::all_presets()) {
    std::cout << p.name() << (p.learns ? "" : "  (does not learn well on its own)") << "\n"
              << "    expected  " << p.expected << "\n";
    if (!p.note.empty()) std::cout << "    note      " << p.note << "\n";
    std::cout << "    source    " << p.source << "\n";
  }
  std::cout << "\n`policylab train --preset ALGO/TASK` trains a preset; a config's own fields and --set win over it.\n"
               "A config that names an algo and a task gets that pair's preset (--no-preset: schema defaults only).\n";
  return 0;
}

int run_algos(bool as_json) {
  if (as_json) {
    pl::json list = pl::json::array();
    for (const pl::Schema& schema : pl::all_schemas()) list.push_back(schema.to_json());
    std::cout << list.dump(2) << std::endl;
    return 0;
  }
  const char* type_names[] = {"int", "float", "bool", "string", "int list"};
  for (const pl::Schema& schema : pl::all_schemas()) {
    std::cout << schema.algo << ": " << schema.summary << "\n"
              << "  task kind: " << schema.task_kind
              << (schema.task_kind == "sequence" ? " (verifiable sequence tasks: `policylab tasks`)"
                                                 : " (Gym-style environments: `policylab envs`)")
              << "\n";
    for (const pl::FieldSpec& spec : schema.fields) {
      std::cout << "  " << spec.name << " (" << type_names[static_cast<int>(spec.type)]
                << (spec.live ? ", live" : "") << ") = " << spec.default_value.dump() << "    "
                << spec.range_text() << "\n"
                << "      " << spec.doc
                << (spec.applies_when.field.empty() ? "" : " (applies when " + spec.applies_when.text() + ")") << "\n";
    }
    std::cout << "\n";
  }
  std::cout << "Fields marked live may be changed on a running trainer; --set key=value overrides any field.\n";
  return 0;
}

// ---------------------------------------------------------------------------------------------
// env-trace

std::vector<double> parse_number_list(const std::string& text, const char* option) {
  std::vector<double> values;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    const char* begin = item.c_str();
    char* end = nullptr;
    const double value = std::strtod(begin, &end);  // overflow: infinity; underflow: the nearest double
    while (end && (*end == ' ' || *end == '\t')) ++end;
    if (item.empty() || end == begin || *end != '\0' || !std::isfinite(value)) {
      throw UsageError(std::string(option) + ": '" + item + "' is not a finite number (expected v1,v2,...)");
    }
    if (std::fabs(value) > std::numeric_limits<float>::max())  // the envs compute in float
      throw UsageError(std::string(option) + ": '" + item + "' is beyond float range (|x| <= 3.4e38)");
    values.push_back(value);
  }
  if (values.empty()) throw UsageError(std::string(option) + ": expected a comma-separated list of numbers");
  return values;
}

struct TraceOptions {
  std::string env_id;
  std::string state;
  std::string actions;
  uint64_t seed = 0;
};

int run_env_trace(const TraceOptions& options) {
  try {
    const std::unique_ptr<pl::Env> env = pl::make_env(options.env_id);
    std::vector<float> obs(static_cast<size_t>(env->observation_space().flat_dim()));
    env->reset(options.seed, obs.data());

    if (!options.state.empty()) {
      const std::vector<double> state = parse_number_list(options.state, "--state");
      if (static_cast<int>(state.size()) != env->state_size()) {
        std::string names;
        for (const std::string& name : env->state_names()) names += (names.empty() ? "" : ", ") + name;
        throw UsageError("--state: " + options.env_id + " has " + std::to_string(env->state_size()) +
                         " state components (" + names + "), got " + std::to_string(state.size()));
      }
      env->set_state(state.data());
      env->observe(obs.data());
    }

    // One number per step for Discrete and 1-d Box actions; a d-dimensional Box action takes d
    // consecutive numbers.
    const std::vector<double> numbers = parse_number_list(options.actions, "--actions");
    const int action_dim = env->action_space().flat_dim();
    if (numbers.size() % static_cast<size_t>(action_dim) != 0) {
      throw UsageError("--actions: " + options.env_id + " actions have " + std::to_string(action_dim) +
                       " components; got " + std::to_string(numbers.size()) + " numbers, not a multiple");
    }
    std::vector<float> action(static_cast<size_t>(action_dim));
    const size_t steps = numbers.size() / static_cast<size_t>(action_dim);
    // Invalid discrete actions are rejected before the first step, so the output is all or nothing.
    if (env->action_space().is_discrete()) {
      const std::string id = env->id();
      for (double number : numbers) {
        const float as_float = static_cast<float>(number);
        pl::discrete_action_index(id.c_str(), &as_float, env->action_space().n);
      }
    }
    std::vector<std::string> lines;  // printed once every step is known to be finite
    for (size_t step = 0; step < steps; ++step) {
      for (int i = 0; i < action_dim; ++i) action[i] = static_cast<float>(numbers[step * action_dim + i]);
      const pl::StepResult result = env->step(action.data(), obs.data());
      bool finite = std::isfinite(result.reward) && std::isfinite(result.cost);
      for (float v : obs) finite = finite && std::isfinite(v);
      if (!finite)
        throw UsageError("step " + std::to_string(step + 1) + " of " + options.env_id +
                         " gives a non-finite observation or reward (the envs compute in float): " +
                         (options.state.empty() ? "the actions are" : "the --state or the actions are") + " too large");
      pl::json obs_json = pl::json::array();
      for (float v : obs) obs_json.push_back(pl::float_json(v));
      // Keys in a fixed, readable order (nlohmann's json sorts keys alphabetically).
      nlohmann::ordered_json line;
      line["step"] = step + 1;
      line["obs"] = nlohmann::ordered_json::parse(obs_json.dump());
      line["reward"] = result.reward;
      line["terminated"] = result.terminated;
      line["truncated"] = result.truncated;
      line["cost"] = result.cost;
      lines.push_back(line.dump());
    }
    for (const std::string& line : lines) std::cout << line << "\n";
    std::cout << std::flush;
  } catch (const pl::EnvError& error) {
    // An unknown env id or an invalid action is a mistake in the arguments.
    throw UsageError(error.what());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"PolicyLab: policy optimization on one CPU core: PPO, A2C and REINFORCE on classic-control envs; SFT, "
               "GRPO and its variants, DPO-family preference losses, KTO and reward models on tiny transformers and "
               "verifiable sequence tasks; POMO and Poppy attention policies for TSP, CVRP, knapsack and job-shop",
               "policylab"};
  app.require_subcommand(1);

  TrainOptions train;
  CLI::App* train_cmd = app.add_subcommand("train", "Train an agent from a JSON config");
  train_cmd->add_option("config", train.config_path,
                        "JSON config (fields: see `policylab algos`); optional with --preset");
  train_cmd->add_option("--preset", train.preset,
                        "Start from this preset (ALGO/TASK, see `policylab presets`); the config's fields win");
  train_cmd->add_flag("--no-preset", train.no_preset, "Fill unset fields from the schema defaults, not the pair's preset");
  CLI::Option* seed_option = train_cmd->add_option("--seed", train.seed, "Override the config's seed");
  CLI::Option* timesteps_option =
      train_cmd->add_option("--total-timesteps", train.total_timesteps, "Override the config's total_timesteps");
  train_cmd->add_option("--set", train.assignments, "Override a field: key=value (value is JSON or a string); repeatable")
      ->allow_extra_args(false);
  train_cmd->add_option("--out", train.out_dir, "Output directory (default runs/<env>_<algo>_<seed>)");
  train_cmd->add_option("--resume", train.resume_dir,
                        "Continue the run saved in this directory (its checkpoint, config and metrics) to its budget");
  train_cmd->add_option("--checkpoint-every", train.checkpoint_every,
                        "Also write the checkpoint every N iterations, not only at the end (for --resume after a crash)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  // A speed setting, not part of the run: the numbers are the same with any thread count.
  int threads = 1;
  const std::string threads_help = "Threads for the large matrix products, attention blocks, POMO's rollout and the actor and "
                                   "critic of PPO's minibatches (1-" +
                                   std::to_string(pl::parallel::kMaxThreads) +
                                   "); the results are identical with any count";
  train_cmd->add_option("--threads", threads, threads_help)
      ->check(CLI::Range(1, pl::parallel::kMaxThreads))
      ->capture_default_str();

  EvalOptions eval;
  CLI::App* eval_cmd = app.add_subcommand(
      "eval",
      "Evaluate a checkpoint: env tasks run episodes (JSON summary); sequence tasks report held-out accuracy "
      "(greedy) and pass@k");
  eval_cmd->add_option("checkpoint", eval.checkpoint_path, "Checkpoint file (DIR/checkpoint of a run)")->required();
  CLI::Option* episodes_option =
      eval_cmd->add_option("--episodes", eval.episodes, "Env tasks: episodes to run")->check(CLI::Range(1, 1000000))
          ->capture_default_str();
  CLI::Option* deterministic_option =
      eval_cmd->add_flag("--deterministic", eval.deterministic, "Env tasks: take the policy's mode instead of sampling");
  CLI::Option* problems_option =
      eval_cmd->add_option("--problems", eval.problems, "Sequence tasks: held-out problems to solve")
          ->check(CLI::Range(1, 100000))
          ->capture_default_str();
  CLI::Option* k_option =
      eval_cmd->add_option("--k", eval.k, "Sequence tasks: samples per problem for pass@k (0: greedy accuracy only)")
          ->check(CLI::Range(0, 1024))
          ->capture_default_str();
  eval_cmd->add_option("--seed", eval.seed, "Seed of the evaluation envs or held-out problems, and of sampling")
      ->check(seed_validator())
      ->capture_default_str();
  eval_cmd->add_flag("--json", eval.as_json, "Print JSON (env checkpoints always print JSON)");
  eval_cmd->add_option("--threads", threads, threads_help)
      ->check(CLI::Range(1, pl::parallel::kMaxThreads))
      ->capture_default_str();
  CLI::Option* instances_option =
      eval_cmd->add_option("--instances", eval.instances, "Combo tasks: instances to solve (dataset or TSPLIB file)");
  CLI::Option* decode_option = eval_cmd->add_option(
      "--decode", eval.decode, "Combo tasks: greedy, sample:N, multistart or multistart_aug8 (best tour per instance)")
      ->capture_default_str();
  CLI::Option* reference_option = eval_cmd->add_option(
      "--reference", eval.reference,
      "Combo tasks: reference solver of the gap (see `policylab solve --list`), or none; default held-karp for n <= 15, tsp branch-and-bound to 50");
  CLI::Option* optimum_option = eval_cmd->add_option(
      "--optimum", eval.optimum,
      "Combo tasks: the gap's reference as solutions, one line per instance as `policylab solve --out` writes them "
      "(e.g. --solver held-karp once), or a TSPLIB .tour; each is checked against its instance");
  CLI::Option* out_option = eval_cmd->add_option(
      "--out", eval.out, "Combo tasks: write the solutions, one line per instance (the layout of `policylab solve --out`)");

  SampleOptions sample;
  CLI::App* sample_cmd = app.add_subcommand(
      "sample", "Complete a prompt with a sequence-task checkpoint; prints each completion with its reward");
  sample_cmd->add_option("checkpoint", sample.checkpoint_path, "Checkpoint file (DIR/checkpoint of an sft run)")
      ->required();
  sample_cmd->add_option("--prompt", sample.prompt, "Prompt, typed as the task shows it (see `policylab tasks`)")
      ->required();
  sample_cmd->add_option("-n", sample.n, "Completions to sample")->check(CLI::Range(1, 1024))->capture_default_str();
  CLI::Option* temperature_option =
      sample_cmd->add_option("--temperature", sample.temperature, "Sampling temperature (at least 1e-06)")->capture_default_str();
  CLI::Option* top_k_option = sample_cmd->add_option("--top-k", sample.top_k, "Keep the k most likely tokens (0: off)")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  CLI::Option* top_p_option =
      sample_cmd->add_option("--top-p", sample.top_p, "Nucleus sampling: keep the smallest set with this mass, in (0, 1]")
      ->capture_default_str();
  sample_cmd->add_flag("--greedy", sample.greedy, "Take the most likely token at each step");
  sample_cmd->add_option("--seed", sample.seed, "Seed of the sampling")->check(seed_validator())->capture_default_str();
  sample_cmd->add_flag("--probs", sample.probs, "Also print each token's probability and the top alternatives");
  sample_cmd->add_flag("--json", sample.as_json, "Print JSON: per completion its score and per-token probabilities");

  bool envs_json = false;
  CLI::App* envs_cmd = app.add_subcommand("envs", "List the environments");
  envs_cmd->add_flag("--json", envs_json, "Print JSON");

  bool tasks_json = false;
  CLI::App* tasks_cmd = app.add_subcommand("tasks", "List the sequence tasks and their options");
  tasks_cmd->add_flag("--json", tasks_json, "Print JSON");

  bool algos_json = false;
  CLI::App* algos_cmd = app.add_subcommand("algos", "List the algorithms and their config fields");
  algos_cmd->add_flag("--json", algos_json, "Print the schemas as JSON");

  bool presets_json = false;
  CLI::App* presets_cmd = app.add_subcommand("presets", "List the tuned presets of every algorithm and task, with expected results");
  presets_cmd->add_flag("--json", presets_json, "Print JSON");

  TraceOptions trace;
  CLI::App* trace_cmd = app.add_subcommand(
      "env-trace", "Step an env from a given state with given actions; prints one JSON line per step");
  trace_cmd->add_option("--env", trace.env_id, "Env id (see `policylab envs`)")->required();
  trace_cmd->add_option("--state", trace.state, "Physical state after reset, comma-separated (see `policylab envs`)");
  trace_cmd->add_option("--actions", trace.actions,
                        "Actions, comma-separated (a d-dimensional Box action takes d numbers)")
      ->required();
  trace_cmd->add_option("--seed", trace.seed, "Seed of the reset")->check(seed_validator())->capture_default_str();

  // Commands defined in their own files (cli/<name>.cpp).
  const std::vector<Command> more_commands = {add_loss_command(app), add_solve_command(app), add_prefs_command(app)};

  // CLI11 reports an unknown command as "A subcommand is required"; name it instead.
  if (argc > 1 && argv[1][0] != '-') {
    const std::string command = argv[1];
    std::vector<CLI::App*> commands = {train_cmd, eval_cmd, sample_cmd, envs_cmd, tasks_cmd, algos_cmd, presets_cmd, trace_cmd};
    for (const Command& c : more_commands) commands.push_back(c.app);
    const bool known = std::any_of(commands.begin(), commands.end(),
                                   [&](const CLI::App* sub) { return sub->get_name() == command; });
    if (!known) {
      std::string names;
      for (const CLI::App* sub : commands) names += (names.empty() ? "" : ", ") + sub->get_name();
      print_error("unknown command '" + command + "'; commands: " + names);
      return kExitUsage;
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);  // --help
    print_error(std::string(error.what()) + " (see policylab --help)");
    return kExitUsage;
  }

  try {
    train.has_seed = seed_option->count() > 0;
    train.has_total_timesteps = timesteps_option->count() > 0;
    eval.has_episodes = episodes_option->count() > 0;
    eval.has_deterministic = deterministic_option->count() > 0;
    eval.has_problems = problems_option->count() > 0;
    eval.has_k = k_option->count() > 0;
    eval.has_combo = instances_option->count() + decode_option->count() + reference_option->count() +
                     optimum_option->count() + out_option->count() > 0;
    if (threads > 1) pl::parallel::set_threads(threads);
    if (train_cmd->parsed()) return run_train(train);
    if (eval_cmd->parsed()) return run_eval(eval);
    if (sample_cmd->parsed()) {
      sample.has_temperature = temperature_option->count() > 0;
      sample.has_top_k = top_k_option->count() > 0;
      sample.has_top_p = top_p_option->count() > 0;
      return run_sample(sample);
    }
    if (envs_cmd->parsed()) return run_envs(envs_json);
    if (tasks_cmd->parsed()) return run_tasks(tasks_json);
    if (algos_cmd->parsed()) return run_algos(algos_json);
    if (presets_cmd->parsed()) return run_presets(presets_json);
    if (trace_cmd->parsed()) return run_env_trace(trace);
    for (const Command& c : more_commands) {
      if (c.app->parsed()) return c.run();
    }
    print_error("no command given (see policylab --help)");
    return kExitUsage;
  } catch (const UsageError& error) {
    print_error(error.what());
    return kExitUsage;
  } catch (const pl::ConfigError& error) {
    print_error(error.what());
    return kExitUsage;
  } catch (const pl::TaskError& error) {
    // A task id, task option or prompt the task cannot read: the user's input.
    print_error(error.what());
    return kExitUsage;
  } catch (const pl::CheckpointError& error) {
    print_error(error.what());
    return kExitRuntime;
  } catch (const pl::EnvError& error) {
    print_error(error.what());
    return kExitRuntime;
  } catch (const std::exception& error) {
    print_error(error.what());
    return kExitRuntime;
  } catch (...) {
    print_error("unexpected error");
    return kExitRuntime;
  }
}
