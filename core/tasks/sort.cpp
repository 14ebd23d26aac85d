// `sort` (see sort.hpp).
#include "core/tasks/sort.hpp"

#include <algorithm>

namespace pl {

namespace {

constexpr int kDigit0 = 2;
constexpr int kEquals = 12;
constexpr int kMaxList = 8;

}  // namespace

SortTask::SortTask(const SortOptions& options)
    : options_(options), vocab_("0123456789="), salt_(string_salt("sort")) {
  const int length = options_.list_length;
  if (length < 2 || length > kMaxList) throw TaskError("sort: list_length must be in [2, 8]");
  if (!(options_.heldout_fraction > 0 && options_.heldout_fraction < 1)) {
    throw TaskError("sort: heldout_fraction must be in (0, 1)");
  }
  uint64_t space = 1;
  for (int i = 0; i < length; ++i) space *= 10;
  if (space <= SplitRule::kMaxEnumerated) {
    std::vector<uint64_t> hashes;
    hashes.reserve(space);
    int64_t digits[kMaxList];
    for (uint64_t index = 0; index < space; ++index) {
      uint64_t rest = index;
      for (int i = 0; i < length; ++i, rest /= 10) digits[i] = static_cast<int64_t>(rest % 10);
      hashes.push_back(content_hash(digits, length, salt_));
    }
    split_rule_ = SplitRule::by_enumeration(options_.heldout_fraction, std::move(hashes));
  } else {
    split_rule_ = SplitRule::by_fraction(options_.heldout_fraction);
  }
}

nlohmann::json SortTask::options() const {
  return {{"list_length", options_.list_length}, {"heldout_fraction", options_.heldout_fraction}};
}

void SortTask::fill_from_data(Problem& out) const {
  const int length = options_.list_length;
  out.prompt.clear();
  for (int64_t digit : out.data) out.prompt.push_back(kDigit0 + static_cast<int>(digit));
  out.prompt.push_back(kEquals);

  // Counting sort: the reference and the inversion count without a scratch buffer.
  int counts[10] = {0};
  int inversions = 0;
  for (int i = 0; i < length; ++i) {
    const int digit = static_cast<int>(out.data[static_cast<size_t>(i)]);
    for (int larger = digit + 1; larger < 10; ++larger) inversions += counts[larger];
    ++counts[digit];
  }
  out.reference.clear();
  for (int digit = 0; digit < 10; ++digit) {
    for (int k = 0; k < counts[digit]; ++k) out.reference.push_back(kDigit0 + digit);
  }
  out.reference.push_back(Vocabulary::kEos);
  const int max_inversions = length * (length - 1) / 2;
  out.difficulty = 4 * inversions / (max_inversions + 1);
  out.length_target = 0;
}

void SortTask::sample(Split split, Rng& rng, Problem& out) const {
  sample_from_split(split_rule_, split, [&] {
    out.data.clear();
    for (int i = 0; i < options_.list_length; ++i) out.data.push_back(rng.below(10));
    return content_hash(out.data.data(), options_.list_length, salt_);
  });
  fill_from_data(out);
}

Split SortTask::split_of(const Problem& p) const {
  return split_rule_.split_of(content_hash(p.data.data(), static_cast<int>(p.data.size()), salt_));
}

Score SortTask::score(const Problem& p, const int* completion, int n) const {
  Score s;
  s.length = completion_length(completion, n);
  // Well formed: one or more digits, then EOS.
  s.well_formed = s.length >= 2 && completion[s.length - 1] == Vocabulary::kEos;
  for (int i = 0; s.well_formed && i < s.length - 1; ++i) {
    s.well_formed = completion[i] >= kDigit0 && completion[i] < kDigit0 + 10;
  }
  // The sorted permutation is unique, so it is the reference.
  s.correct = s.well_formed && s.length == static_cast<int>(p.reference.size()) &&
              std::equal(p.reference.begin(), p.reference.end(), completion);
  s.partial = s.correct ? 1.0f : position_match_fraction(p.reference, completion, n);
  return s;
}

void SortTask::parse_prompt(const std::string& text, Problem& p) const {
  const std::vector<int> ids = vocab_.encode(text, "prompt");
  const int length = options_.list_length;
  const std::string example = "\"" + std::string("531928476").substr(0, static_cast<size_t>(length)) + "=\"";
  if (static_cast<int>(ids.size()) > max_prompt_length()) {
    throw TaskError("prompt " + quote_text(text) + " has " + std::to_string(ids.size()) +
                    " tokens; sort prompts have " + std::to_string(max_prompt_length()) + " (e.g. " + example + ")");
  }
  bool ok = static_cast<int>(ids.size()) == length + 1 && ids.back() == kEquals;
  for (int i = 0; ok && i < length; ++i) ok = ids[static_cast<size_t>(i)] >= kDigit0 && ids[static_cast<size_t>(i)] < kDigit0 + 10;
  if (!ok) {
    throw TaskError("prompt " + quote_text(text) + " is not of the sort form: " + std::to_string(length) +
                    " digits, then '=' (e.g. " + example + ")");
  }
  p.data.clear();
  for (int i = 0; i < length; ++i) p.data.push_back(ids[static_cast<size_t>(i)] - kDigit0);
  fill_from_data(p);
}

}  // namespace pl
