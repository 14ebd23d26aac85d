// `addition` (see addition.hpp).
#include "core/tasks/addition.hpp"

#include <algorithm>

namespace pl {

namespace {

constexpr int kDigit0 = 2;  // id of '0': digits are the first task tokens
constexpr int kPlus = 12;
constexpr int kEquals = 13;
constexpr int kThink = 14;    // 'T' (think_mode only)
constexpr int kNoThink = 15;  // 'N' (think_mode only)

int64_t power_of_ten(int n) {
  int64_t p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

// Writes `value` as exactly `width` digits, most significant first, into `out`.
void push_digits(int64_t value, int width, std::vector<int>& out) {
  int64_t scale = power_of_ten(width - 1);
  for (int i = 0; i < width; ++i) {
    out.push_back(kDigit0 + static_cast<int>((value / scale) % 10));
    scale /= 10;
  }
}

int count_carries(int64_t a, int64_t b, int digits) {
  int carries = 0, carry = 0;
  for (int i = 0; i < digits; ++i) {
    carry = (a % 10 + b % 10 + carry) >= 10 ? 1 : 0;
    carries += carry;
    a /= 10;
    b /= 10;
  }
  return carries;
}

}  // namespace

AdditionTask::AdditionTask(const AdditionOptions& options)
    : options_(options), vocab_(options.think_mode ? "0123456789+=TN" : "0123456789+="), salt_(string_salt("addition")) {
  if (options_.digits < 1 || options_.digits > 6) throw TaskError("addition: digits must be in [1, 6]");
  if (!(options_.think_share >= 0 && options_.think_share <= 1)) throw TaskError("addition: think_share must be in [0, 1]");
  if (!(options_.heldout_fraction > 0 && options_.heldout_fraction < 1)) {
    throw TaskError("addition: heldout_fraction must be in (0, 1)");
  }
  operand_limit_ = power_of_ten(options_.digits);
  const uint64_t space = static_cast<uint64_t>(operand_limit_ * operand_limit_);
  if (space <= SplitRule::kMaxEnumerated) {
    std::vector<uint64_t> hashes;
    hashes.reserve(space);
    for (int64_t a = 0; a < operand_limit_; ++a) {
      for (int64_t b = 0; b < operand_limit_; ++b) hashes.push_back(hash_of(a, b));
    }
    split_rule_ = SplitRule::by_enumeration(options_.heldout_fraction, std::move(hashes));
  } else {
    split_rule_ = SplitRule::by_fraction(options_.heldout_fraction);
  }
}

nlohmann::json AdditionTask::options() const {
  return {{"digits", options_.digits},
          {"reverse_answer", options_.reverse_answer},
          {"heldout_fraction", options_.heldout_fraction},
          {"think_mode", options_.think_mode},
          {"think_share", options_.think_share}};
}

AnswerModes AdditionTask::answer_modes() const {
  AnswerModes m;
  if (options_.think_mode) {
    m.think = kThink;
    m.nothink = kNoThink;
  }
  return m;
}

int AdditionTask::mode_token(int64_t a, int64_t b, bool think, int k) const {
  const int d = options_.digits;
  if (k == 0) return think ? kThink : kNoThink;
  --k;
  if (think) {
    if (k < d) {  // the carry out of column k (least-significant column first)
      int carry = 0;
      int64_t x = a, y = b;
      for (int i = 0; i <= k; ++i) {
        carry = (x % 10 + y % 10 + carry) >= 10 ? 1 : 0;
        x /= 10;
        y /= 10;
      }
      return kDigit0 + carry;
    }
    k -= d;
  }
  if (k <= d) {
    const int place = options_.reverse_answer ? k : d - k;
    return kDigit0 + static_cast<int>(((a + b) / power_of_ten(place)) % 10);
  }
  return k == d + 1 ? Vocabulary::kEos : -1;
}

uint64_t AdditionTask::hash_of(int64_t a, int64_t b) const {
  const int64_t words[2] = {a, b};
  return content_hash(words, 2, salt_);
}

void AdditionTask::fill(int64_t a, int64_t b, Problem& out) const {
  const int d = options_.digits;
  out.prompt.clear();
  push_digits(a, d, out.prompt);
  out.prompt.push_back(kPlus);
  push_digits(b, d, out.prompt);
  out.prompt.push_back(kEquals);

  out.reference.clear();
  if (options_.think_mode) {
    // The reference's mode: Thinking for a think_share fraction of the problems, by a hash of the
    // problem (salted apart from the split's hash), so the rng streams are those without modes.
    const int64_t words[2] = {a, b};
    const double u = static_cast<double>(content_hash(words, 2, salt_ ^ 0x7468696e6b6d6f64ull) >> 11) * 0x1.0p-53;
    const bool think = u < options_.think_share;
    for (int k = 0, t; (t = mode_token(a, b, think, k)) >= 0; ++k) out.reference.push_back(t);
  } else {
    push_digits(a + b, d + 1, out.reference);
    if (options_.reverse_answer) std::reverse(out.reference.begin(), out.reference.end());
    out.reference.push_back(Vocabulary::kEos);
  }

  out.data.clear();
  out.data.push_back(a);
  out.data.push_back(b);
  out.difficulty = count_carries(a, b, d);
  out.length_target = 0;
}

void AdditionTask::sample(Split split, Rng& rng, Problem& out) const {
  const auto limit = static_cast<uint32_t>(operand_limit_);
  int64_t a = 0, b = 0;
  sample_from_split(split_rule_, split, [&] {
    a = rng.below(limit);
    b = rng.below(limit);
    return hash_of(a, b);
  });
  fill(a, b, out);
}

Split AdditionTask::split_of(const Problem& p) const { return split_rule_.split_of(hash_of(p.data[0], p.data[1])); }

Score AdditionTask::score(const Problem& p, const int* completion, int n) const {
  Score s;
  s.length = completion_length(completion, n);
  const int answer_digits = options_.digits + 1;
  if (options_.think_mode) {
    // The marker, then (Thinking) digits carry digits, then the answer digits and EOS.
    const int first = n > 0 ? completion[0] : -1;
    const bool think = first == kThink, nothink = first == kNoThink;
    const int scratch = think ? options_.digits : 0, start = 1 + scratch;
    bool well_formed = (think || nothink) && s.length == start + answer_digits + 1 &&
                       completion[start + answer_digits] == Vocabulary::kEos;
    for (int i = 1; well_formed && i < start; ++i) well_formed = completion[i] == kDigit0 || completion[i] == kDigit0 + 1;
    int64_t value = 0;
    for (int i = 0; well_formed && i < answer_digits; ++i) {
      const int digit = completion[start + i] - kDigit0;
      if (digit < 0 || digit > 9) {
        well_formed = false;
        break;
      }
      value += digit * power_of_ten(options_.reverse_answer ? i : answer_digits - 1 - i);
    }
    s.well_formed = well_formed;
    s.correct = well_formed && value == p.data[0] + p.data[1];
    if (s.correct) {
      s.partial = 1.0f;
    } else if (think || nothink) {  // against the reference written in the completion's mode
      const int positions = start + answer_digits + 1;
      int matches = 0;
      for (int k = 0; k < positions && k < n; ++k) matches += completion[k] == mode_token(p.data[0], p.data[1], think, k);
      s.partial = static_cast<float>(matches) / static_cast<float>(positions);
    } else {
      s.partial = position_match_fraction(p.reference, completion, n);
    }
    return s;
  }
  // Well formed: exactly digits+1 digits, then EOS.
  bool well_formed = s.length == answer_digits + 1 && completion[answer_digits] == Vocabulary::kEos;
  int64_t value = 0;
  for (int i = 0; well_formed && i < answer_digits; ++i) {
    const int digit = completion[i] - kDigit0;
    if (digit < 0 || digit > 9) {
      well_formed = false;
      break;
    }
    // Reversed answers are read least-significant digit first.
    const int place = options_.reverse_answer ? i : answer_digits - 1 - i;
    value += digit * power_of_ten(place);
  }
  s.well_formed = well_formed;
  s.correct = well_formed && value == p.data[0] + p.data[1];
  s.partial = s.correct ? 1.0f : position_match_fraction(p.reference, completion, n);
  return s;
}

void AdditionTask::parse_prompt(const std::string& text, Problem& p) const {
  const std::vector<int> ids = vocab_.encode(text, "prompt");
  const int d = options_.digits;
  const std::string example = "\"" + std::string("042135").substr(0, static_cast<size_t>(d)) + "+" +
                              std::string("317264").substr(0, static_cast<size_t>(d)) + "=\"";
  if (static_cast<int>(ids.size()) > max_prompt_length()) {
    throw TaskError("prompt " + quote_text(text) + " has " + std::to_string(ids.size()) +
                    " tokens; addition prompts have " + std::to_string(max_prompt_length()) + " (e.g. " +
                    example + ")");
  }
  // The form is fixed: d digits, '+', d digits, '='.
  bool ok = static_cast<int>(ids.size()) == max_prompt_length() && ids[static_cast<size_t>(d)] == kPlus &&
            ids.back() == kEquals;
  int64_t operands[2] = {0, 0};
  for (int k = 0; ok && k < 2; ++k) {
    for (int i = 0; i < d; ++i) {
      const int digit = ids[static_cast<size_t>(k * (d + 1) + i)] - kDigit0;
      if (digit < 0 || digit > 9) {
        ok = false;
        break;
      }
      operands[k] = operands[k] * 10 + digit;
    }
  }
  if (!ok) {
    throw TaskError("prompt " + quote_text(text) + " is not of the addition form: two " + std::to_string(d) +
                    "-digit operands written with leading zeros, then '=' (e.g. " + example + ")");
  }
  fill(operands[0], operands[1], p);
}

}  // namespace pl
