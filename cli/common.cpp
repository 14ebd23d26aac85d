#include "cli/common.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

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
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(std::string("cannot open ") + what + " '" + path + "': " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw UsageError(std::string("cannot read ") + what + " '" + path + "'");
  return text.str();
}

nlohmann::json read_json_file(const std::string& path, const char* what) {
  const std::string text = read_file(path, what);
  try {
    // The parser's message carries the position: "parse error at line 3, column 5: ...".
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& error) {
    throw UsageError(path + ": " + strip_json_exception_tag(error.what()));
  }
}

}  // namespace cli
