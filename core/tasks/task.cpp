// Shared machinery of the sequence tasks (see task.hpp).
#include "core/tasks/task.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pl {

const char* split_name(Split split) { return split == Split::Train ? "train" : "heldout"; }

Problem SequenceTask::make_problem() const {
  Problem p;
  p.prompt.reserve(static_cast<size_t>(max_prompt_length()));
  p.reference.reserve(static_cast<size_t>(max_completion_length()));
  p.data.reserve(static_cast<size_t>(max_data_size()));
  return p;
}

std::vector<Problem> SequenceTask::heldout_set(int count, uint64_t seed) const {
  // A stream of its own (tag "HELD"), so the set does not depend on how training draws problems.
  Rng rng = Rng::derive(seed, 0x48454c44u);
  std::vector<Problem> set;
  set.reserve(static_cast<size_t>(std::max(count, 0)));
  for (int i = 0; i < count; ++i) {
    set.push_back(make_problem());
    sample(Split::Heldout, rng, set.back());
  }
  return set;
}

namespace {

// SplitMix64's output function (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number
// generators"): a bijective mix whose output bits each depend on every input bit.
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

// Printable ASCII is shown as typed, anything else (and the quote and backslash) as \xHH.
std::string quote_text(const std::string& text) {
  constexpr size_t kMaxShown = 40;
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const char c = text[i];
    if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') {
      out += c;
    } else {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\x%02x", static_cast<unsigned char>(c));
      out += buffer;
    }
  }
  if (text.size() > kMaxShown) out += "...";
  return out + "\"";
}

uint64_t content_hash(const int64_t* words, int n, uint64_t salt) {
  // The count goes in first so that contents of different lengths never collide by construction
  // of a prefix; each word is added with the golden-ratio increment before mixing.
  uint64_t h = mix64(salt ^ (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(n + 1)));
  for (int i = 0; i < n; ++i) h = mix64(h + 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(words[i]));
  return h;
}

uint64_t string_salt(const std::string& text) {
  // FNV-1a (Fowler, Noll, Vo) over the bytes, then mixed.
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  return mix64(h);
}

SplitRule SplitRule::by_fraction(double fraction) {
  SplitRule rule;
  // hash <= fraction * 2^64 - 1, computed in long double (64-bit mantissa on x86; the rounding
  // elsewhere moves the share by less than 2^-50).
  const long double threshold = static_cast<long double>(fraction) * 18446744073709551616.0L;
  rule.heldout_max_hash_ = threshold >= 18446744073709551615.0L
                               ? ~0ULL
                               : (threshold < 1.0L ? 0 : static_cast<uint64_t>(threshold) - 1);
  return rule;
}

SplitRule SplitRule::by_enumeration(double fraction, std::vector<uint64_t> all_hashes) {
  std::sort(all_hashes.begin(), all_hashes.end());
  all_hashes.erase(std::unique(all_hashes.begin(), all_hashes.end()), all_hashes.end());
  const uint64_t n = all_hashes.size();
  if (n < 2) throw TaskError("a task needs at least 2 distinct problems to have two splits");
  auto heldout = static_cast<uint64_t>(std::llround(fraction * static_cast<double>(n)));
  heldout = std::min(std::max<uint64_t>(heldout, 1), n - 1);
  SplitRule rule;
  rule.heldout_max_hash_ = all_hashes[heldout - 1];
  rule.space_size_ = n;
  rule.heldout_count_ = heldout;
  return rule;
}

char budget_char(int length) {
  static const char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  return length >= 1 && length <= 35 ? kDigits[length] : '?';
}

int budget_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return 10 + (c - 'A');
  return -1;
}

std::string budget_tokens(int lo, int hi, const std::string& existing) {
  if (lo < 1 || hi > 35 || lo > hi) {
    throw TaskError("length budgets from " + std::to_string(lo) + " to " + std::to_string(hi) +
                    " tokens cannot be written as one base-36 digit (1 to 35)");
  }
  std::string tokens(1, kBudgetSeparator);
  for (int length = lo; length <= hi; ++length) {
    const char c = budget_char(length);
    if (existing.find(c) == std::string::npos) tokens += c;
  }
  return tokens;
}

int completion_length(const int* completion, int n) {
  for (int i = 0; i < n; ++i) {
    if (completion[i] == Vocabulary::kEos) return i + 1;
  }
  return n;
}

float position_match_fraction(const std::vector<int>& reference, const int* completion, int n) {
  const int positions = static_cast<int>(reference.size());
  if (positions == 0) return 0.0f;
  int matches = 0;
  for (int i = 0; i < positions && i < n; ++i) matches += completion[i] == reference[static_cast<size_t>(i)];
  return static_cast<float>(matches) / static_cast<float>(positions);
}

}  // namespace pl
