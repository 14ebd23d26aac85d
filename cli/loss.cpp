// policylab loss: the loss lab on the command line (core/algos/loss_lab.hpp).
//
//   policylab loss --list [--json]                     every estimator and loss, inputs and options
//   policylab loss NAME --input FILE.json [--set k=v]...   value, named outputs and d loss / d logp
//                                                      (preference losses: d loss / d chosen_logps, rejected_logps)
#include <iostream>

#include "cli/common.hpp"
#include "core/algos/loss_lab.hpp"
#include "core/train/config.hpp"

namespace cli {

namespace {

struct LossOptions {
  std::string name, input_path;
  std::vector<std::string> assignments;
  bool list = false, as_json = false;
};

void print_catalog(const nlohmann::json& catalog) {
  std::cout << "Advantage estimators (policylab loss NAME --input FILE with 'rewards', 'group_size'):\n";
  for (const auto& e : catalog["estimators"]) {
    std::cout << "  " << e["name"].get<std::string>() << "  " << e["summary"].get<std::string>() << "\n"
              << "      inputs: " << e["inputs"].dump() << "  options: " << e["options"].dump() << "  ["
              << e["reference"].get<std::string>() << "]\n";
  }
  std::cout << "Policy losses (input 'logp' per token; see the README's loss lab section):\n";
  for (const auto& l : catalog["losses"]) {
    std::cout << "  " << l["name"].get<std::string>() << "  " << l["summary"].get<std::string>() << "\n"
              << "      inputs: " << l["inputs"].dump() << "  options: " << l["options"].dump() << "  ["
              << l["reference"].get<std::string>() << "]\n";
  }
  std::cout << "Options (--set name=value):\n";
  for (const auto& f : catalog["fields"]) {
    std::cout << "  " << f["name"].get<std::string>() << " = " << f["default"].dump() << "  "
              << f["doc"].get<std::string>() << "\n";
  }
  std::cout << "Preference losses (one entry per pair; NAME may be a comma-separated list, weighted by loss_weights):\n";
  for (const auto& l : catalog["preference_losses"]) {
    std::cout << "  " << l["name"].get<std::string>() << "  " << l["summary"].get<std::string>() << "\n"
              << "      inputs: " << l["inputs"].dump() << "  options: " << l["options"].dump() << "  ["
              << l["reference"].get<std::string>() << "]\n";
  }
  std::cout << "Unpaired preference losses (one entry per example):\n";
  for (const auto& l : catalog["unpaired_losses"]) {
    std::cout << "  " << l["name"].get<std::string>() << "  " << l["summary"].get<std::string>() << "\n"
              << "      inputs: " << l["inputs"].dump() << "  options: " << l["options"].dump() << "  ["
              << l["reference"].get<std::string>() << "]\n";
  }
  for (const char* key : {"preference_fields", "unpaired_fields"}) {
    std::cout << (std::string(key) == "preference_fields" ? "Preference-loss options" : "Unpaired-loss options")
              << " (--set name=value):\n";
    for (const auto& f : catalog[key]) {
      std::cout << "  " << f["name"].get<std::string>() << " = " << f["default"].dump() << "  "
                << f["doc"].get<std::string>() << "\n";
    }
  }
}

int run_loss(const LossOptions& o) {
  if (o.list) {
    const nlohmann::json catalog = pl::loss_lab_catalog();
    if (o.as_json) std::cout << catalog.dump(2) << "\n";
    else print_catalog(catalog);
    return 0;
  }
  if (o.name.empty()) throw UsageError("name an estimator or loss (policylab loss --list), or pass --list");
  if (o.input_path.empty()) throw UsageError("loss '" + o.name + "' needs --input FILE.json (columns: see the README)");
  const nlohmann::json input = read_json_file(o.input_path, "loss input");
  nlohmann::json options = nlohmann::json::object();
  for (const std::string& text : o.assignments) {
    auto [key, value] = pl::parse_assignment(text);
    options[key] = value;
  }
  try {
    std::cout << pl::evaluate_loss_lab(o.name, input, options).dump(2) << "\n";
  } catch (const pl::LossLabError& e) {
    throw UsageError(o.input_path + ": " + e.what());
  }
  return 0;
}

}  // namespace

Command add_loss_command(CLI::App& app) {
  auto options = std::make_shared<LossOptions>();
  CLI::App* cmd = app.add_subcommand(
      "loss", "The loss lab: evaluate an advantage estimator, a group-relative policy loss or a preference loss on your "
              "numbers, with its gradient with respect to the policy's log-probabilities");
  cmd->add_option("name", options->name, "Estimator or loss (see --list)");
  cmd->add_flag("--list", options->list, "List every estimator and loss with its input columns and options");
  cmd->add_option("--input", options->input_path, "JSON file with the input columns");
  cmd->add_option("--set", options->assignments, "Set an option: key=value (value is JSON or a string); repeatable")
      ->allow_extra_args(false);
  cmd->add_flag("--json", options->as_json, "--list: print JSON");
  return {cmd, [options] { return run_loss(*options); }};
}

}  // namespace cli
