// The vocabulary of a sequence task, kept as data: every token is ONE printable ASCII character, so
// prompts and completions print as plain text everywhere (CLI, metrics, browser) and a task's
// tokenizer is nothing more than its string of token characters.
//
// Id 0 is PAD (shown '_'), id 1 is EOS (shown '.'); the task's own tokens follow in the order given.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace pl {

class Vocabulary {
 public:
  static constexpr int kPad = 0;
  static constexpr int kEos = 1;
  static constexpr char kPadChar = '_';
  static constexpr char kEosChar = '.';

  Vocabulary() : Vocabulary(std::string()) {}
  // `task_tokens`: the task's token characters, in id order starting at 2. Throws TaskError (see
  // task.hpp) for a non-printable or repeated character, or one of the reserved '_' and '.'.
  explicit Vocabulary(const std::string& task_tokens);

  int size() const { return static_cast<int>(chars_.size()); }
  // '?' for an id outside [0, size()).
  char token_char(int id) const { return id >= 0 && id < size() ? chars_[static_cast<size_t>(id)] : '?'; }
  // -1 when `c` is not a token ('_' and '.' are PAD and EOS).
  int id_of(char c) const { return ids_[static_cast<unsigned char>(c)]; }
  // All token characters in id order, PAD and EOS included ("_." followed by the task's tokens).
  const std::string& chars() const { return chars_; }
  // The task's tokens only (what error messages list).
  std::string task_chars() const { return chars_.substr(2); }

  // One character per id (PAD and EOS print as '_' and '.'); nothing stops the decoding early.
  std::string decode(const int* ids, int n) const;
  std::string decode(const std::vector<int>& ids) const {
    return decode(ids.data(), static_cast<int>(ids.size()));
  }

  // Encodes text (PAD and EOS characters included). Throws TaskError naming the first unknown
  // character, its 1-based position, the text (called `what` in the message) and the vocabulary:
  //   unknown token 'x' at position 3 in prompt "12x+456=" (vocabulary: 0123456789+=)
  std::vector<int> encode(const std::string& text, const char* what = "text") const;

  // The hot-path form: writes text.size() ids to `out` (the caller's buffer, at least that long)
  // and returns -1, or returns the 0-based position of the first unknown character (ids before it
  // are written). Never allocates or throws.
  int encode_into(const std::string& text, int* out) const noexcept;

 private:
  std::string chars_;
  std::array<int16_t, 256> ids_{};
};

}  // namespace pl
