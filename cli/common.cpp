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

void print_error(const std::string& message) { std::cerr << "policylab: error: " << one_line(message) << std::endl; }

std::string strip_json_exception_tag(const std::string& what) {
  if (what.rfind("[json.exception.", 0) == 0) {
    const size_t end = what.find("] ");
    if (end != std::string::npos) return what.substr(end + 2);
  }
  return what;
}

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
  // A key given twice in one object: JSON parsers keep one of the two silently ({"algo": "ppo",
  // "algo": "a2c"} trained a2c), so the file is refused with the key named.
  std::vector<std::set<std::string>> open_objects;
  std::string repeated;
  auto watch = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (event == E::object_start) open_objects.emplace_back();
    if (event == E::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event == E::key && !open_objects.empty() && !open_objects.back().insert(parsed.get<std::string>()).second &&
        repeated.empty())
      repeated = parsed.get<std::string>();
    return true;
  };
  nlohmann::json parsed;
  try {
    // The parser's message carries the position: "parse error at line 3, column 5: ...".
    parsed = nlohmann::json::parse(text, watch);
  } catch (const nlohmann::json::exception& error) {
    throw UsageError(path + ": " + strip_json_exception_tag(error.what()));
  }
  if (!repeated.empty())
    throw UsageError(path + ": the key '" + repeated + "' appears twice in one object (JSON would keep only one of them)");
  return parsed;
}

}  // namespace cli
