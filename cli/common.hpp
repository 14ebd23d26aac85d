// What every command of the `policylab` CLI shares: exit codes, the one-line error format, reading
// input files, and how a command in its own file registers itself.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace cli {

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInterrupted = 130;  // the shell's convention for SIGINT

// A mistake in what the user asked for (arguments, input files): exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Messages stay on one line (scripts grep them); "policylab: error: <message>" on stderr.
std::string one_line(std::string text);
void print_error(const std::string& message);

// A reward_model checkpoint holds the reward heads it trained and the frozen SFT policy it started
// from: sampling, evaluating or generating pairs from it would show that untrained policy under the
// reward model's name. `what` is the command ("sample", "eval", "prefs --from").
void refuse_reward_model_checkpoint(const std::string& algo, const std::string& path, const std::string& what);
// The whole file; UsageError naming `what` and the path when it cannot be read.
std::string read_file(const std::string& path, const char* what);
// A JSON file; UsageError with the parser's position when it is malformed.
nlohmann::json read_json_file(const std::string& path, const char* what);
// The --seed of eval, sample, env-trace, prefs and solve takes what a config's seed field takes:
// an integer in [0, 2147483647] (read into an unsigned option, "-1" became 2^64 - 1).
CLI::Validator seed_validator();

// A number as the user would write it: "0", "1.5", "1e-05".
std::string format_general(double value);
// A number with a fixed count of decimals (scientific from 1e12 on); "-" when it is not finite.
std::string format_fixed(double value, int decimals);

// A command defined in its own file: add_X(app) declares it on `app` and returns how to run it
// once parsed (the returned function is called only when the subcommand was given).
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// The commands in their own files.
Command add_loss_command(CLI::App& app);  // cli/loss.cpp
Command add_solve_command(CLI::App& app);  // cli/solve.cpp
Command add_prefs_command(CLI::App& app);  // cli/prefs.cpp

}  // namespace cli

namespace pl {
class Trainer;
}

namespace cli {

// eval of a combinatorial-problem checkpoint (cli/combo_eval.cpp).
struct ComboEvalOptions {
  std::string checkpoint, instances, decode = "greedy", reference, out;
  std::string optimum;  // reference solutions, one per instance (instead of running a solver)
  uint64_t seed = 12345;
  bool as_json = false;
};
int run_eval_combo(const ComboEvalOptions& options, const pl::Trainer& trainer);

}  // namespace cli
