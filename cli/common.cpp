#include "cli/common.hpp"

#include <cerrno>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <vector>

#include "core/util/json_input.hpp"

namespace cli {

CLI::Validator seed_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const bool digits = !text.empty() && text.size() <= 10 && text.find_first_not_of("0123456789") == std::string::npos;
        if (digits && std::stoll(text) <= 2147483647) return "";
        return "must be an integer in [0, 2147483647], got '" + text + "'";
      },
      "SEED");
}

std::string format_fixed(double value, int decimals) {
  if (!std::isfinite(value)) return "-";
  char buffer[64];
  // Beyond 1e12 fixed notation is a wall of digits (1e38 had 39 before the point): scientific.
  if (std::fabs(value) >= 1e12) std::snprintf(buffer, sizeof buffer, "%.*e", std::max(decimals, 3), value);
  else std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string format_general(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

void refuse_reward_model_checkpoint(const std::string& algo, const std::string& path, const std::string& what) {
  if (algo != "reward_model") return;
  throw UsageError(what + ": '" + path + "' is a reward_model checkpoint, whose policy is the SFT model it started " +
                   "from, untrained: give that SFT checkpoint, or a policy trained against the reward model (grpo " +
                   "with reward_model); the reward model's own held-out accuracy is in its run's metrics.jsonl");
}

void print_error(const std::string& message) { std::cerr << "policylab: error: " << one_line(message) << std::endl; }

std::string read_file(const std::string& path, const char* what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw UsageError(std::string(what) + " '" + path + "' is a directory, not a file");
  if (std::filesystem::is_character_file(path, ec)) throw UsageError(std::string(what) + " '" + path + "' is a device, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(std::string("cannot open ") + what + " '" + path + "': " + std::strerror(errno));
  // Read in blocks up to a bound: a device such as /dev/zero never ends (it hung the reader).
  constexpr size_t kMaxInputBytes = size_t{1} << 30;
  std::string text;
  char block[1 << 16];
  while (in.read(block, sizeof block) || in.gcount() > 0) {
    text.append(block, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxInputBytes)
      throw UsageError(std::string(what) + " '" + path + "' is larger than 1 GiB: not an input file of policylab's");
  }
  if (in.bad()) throw UsageError(std::string("cannot read ") + what + " '" + path + "'");
  return text;
}

nlohmann::json read_json_file(const std::string& path, const char* what) {
  const std::string text = read_file(path, what);
  try {
    return pl::parse_user_json(text);  // refuses repeated keys and absurd nesting, by message
  } catch (const pl::JsonInputError& error) {
    throw UsageError(path + ": " + error.what());
  }
}

}  // namespace cli
