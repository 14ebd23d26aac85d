#include "cli/common.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

namespace cli {

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
