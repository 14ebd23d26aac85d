// Vocabulary (see vocabulary.hpp).
#include "core/tasks/vocabulary.hpp"

#include <cstdio>

#include "core/tasks/task.hpp"

namespace pl {

namespace {

bool printable(char c) { return c >= 0x20 && c <= 0x7e; }

// 'x' for a printable character, '\xHH' otherwise, so a message stays one readable line.
std::string quote_char(char c) {
  if (printable(c) && c != '\'' && c != '\\') return std::string("'") + c + "'";
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "'\\x%02x'", static_cast<unsigned char>(c));
  return buffer;
}

}  // namespace

Vocabulary::Vocabulary(const std::string& task_tokens) {
  ids_.fill(-1);
  chars_ = std::string(1, kPadChar) + kEosChar;
  ids_[static_cast<unsigned char>(kPadChar)] = kPad;
  ids_[static_cast<unsigned char>(kEosChar)] = kEos;
  for (char c : task_tokens) {
    if (!printable(c) || c == ' ') {
      throw TaskError("vocabulary token " + quote_char(c) + " is not a printable non-space ASCII character");
    }
    if (ids_[static_cast<unsigned char>(c)] >= 0) {
      throw TaskError("vocabulary token " + quote_char(c) + " appears twice (or is the reserved '_' or '.')");
    }
    ids_[static_cast<unsigned char>(c)] = static_cast<int16_t>(chars_.size());
    chars_ += c;
  }
}

std::string Vocabulary::decode(const int* ids, int n) const {
  std::string text(static_cast<size_t>(n > 0 ? n : 0), '?');
  for (int i = 0; i < n; ++i) text[static_cast<size_t>(i)] = token_char(ids[i]);
  return text;
}

int Vocabulary::encode_into(const std::string& text, int* out) const noexcept {
  for (size_t i = 0; i < text.size(); ++i) {
    const int id = id_of(text[i]);
    if (id < 0) return static_cast<int>(i);
    out[i] = id;
  }
  return -1;
}

std::vector<int> Vocabulary::encode(const std::string& text, const char* what) const {
  std::vector<int> ids(text.size());
  const int bad = encode_into(text, ids.data());
  if (bad >= 0) {
    throw TaskError("unknown token " + quote_char(text[static_cast<size_t>(bad)]) + " at position " +
                    std::to_string(bad + 1) + " in " + what + " " + quote_text(text) +
                    " (vocabulary: " + task_chars() + ")");
  }
  return ids;
}

}  // namespace pl
