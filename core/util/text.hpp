// Line-oriented reading of text files (datasets, instance files, JSONL): every line with its 1-based
// number, a Windows line ending stripped, blank lines skipped, so each format's reader keeps only
// its own rules (comments, tokens, JSON) and names lines the same way in its errors.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace pl {

// Calls fn(number, line) for each line of `text` that is not blank (spaces and tabs only).
template <typename Fn>
void for_each_nonblank_line(const std::string& text, Fn&& fn) {
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    fn(number, line);
  }
}

// "a, b, c": names listed in messages.
inline std::string join(const std::vector<std::string>& items, const char* separator = ", ") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

}  // namespace pl
