// `reverse` and `copy` (see string_tasks.hpp).
#include "core/tasks/string_tasks.hpp"

#include <algorithm>

namespace pl {

namespace {

constexpr int kSymbol0 = 2;  // id of 'a'
constexpr int kMaxLength = 16;

std::string alphabet(int size) {
  std::string letters;
  for (int i = 0; i < size; ++i) letters += static_cast<char>('a' + i);
  return letters;
}

}  // namespace

StringTask::StringTask(Mode mode, const StringTaskOptions& options)
    : mode_(mode), id_(mode == Mode::Reverse ? "reverse" : "copy"), options_(options) {
  if (options_.length < 1 || options_.length > kMaxLength) throw TaskError(id_ + ": length must be in [1, 16]");
  if (options_.alphabet_size < 2 || options_.alphabet_size > 26) {
    throw TaskError(id_ + ": alphabet_size must be in [2, 26]");
  }
  if (options_.min_length < 0 || options_.min_length > options_.length) {
    throw TaskError(id_ + ": field 'min_length' (" + std::to_string(options_.min_length) +
                    ") must be at most field 'length' (" + std::to_string(options_.length) +
                    "); 0 means every string has `length` symbols");
  }
  if (!(options_.heldout_fraction > 0 && options_.heldout_fraction < 1)) {
    throw TaskError(id_ + ": heldout_fraction must be in (0, 1)");
  }
  min_length_ = options_.min_length == 0 ? options_.length : options_.min_length;
  std::string tokens = alphabet(options_.alphabet_size) + "=";
  if (options_.length_budget) tokens += budget_tokens(min_length_ + 1, options_.length + 1, tokens);
  vocab_ = Vocabulary(tokens);
  salt_ = string_salt(id_);

  // Enumerate every string when there are few enough (sum over lengths of alphabet^length).
  const uint64_t a = static_cast<uint64_t>(options_.alphabet_size);
  uint64_t space = 0;
  for (int length = min_length_; length <= options_.length && space <= SplitRule::kMaxEnumerated; ++length) {
    uint64_t count = 1;
    for (int i = 0; i < length && count <= SplitRule::kMaxEnumerated; ++i) count *= a;
    space += count;
  }
  if (space <= SplitRule::kMaxEnumerated) {
    std::vector<uint64_t> hashes;
    hashes.reserve(space);
    int64_t symbols[kMaxLength];
    for (int length = min_length_; length <= options_.length; ++length) {
      std::fill(symbols, symbols + length, 0);
      while (true) {
        hashes.push_back(content_hash(symbols, length, salt_));
        int i = 0;  // odometer increment in base `a`
        while (i < length && ++symbols[i] == static_cast<int64_t>(a)) symbols[i++] = 0;
        if (i == length) break;
      }
    }
    split_rule_ = SplitRule::by_enumeration(options_.heldout_fraction, std::move(hashes));
  } else {
    split_rule_ = SplitRule::by_fraction(options_.heldout_fraction);
  }
}

nlohmann::json StringTask::options() const {
  return {{"length", options_.length},
          {"min_length", options_.min_length},
          {"alphabet_size", options_.alphabet_size},
          {"length_budget", options_.length_budget},
          {"heldout_fraction", options_.heldout_fraction}};
}

void StringTask::fill_from_data(int budget, Problem& out) const {
  const int length = static_cast<int>(out.data.size());
  out.prompt.clear();
  if (budget > 0) {
    out.prompt.push_back(vocab_.id_of(budget_char(budget)));
    out.prompt.push_back(vocab_.id_of(kBudgetSeparator));
  }
  for (int64_t symbol : out.data) out.prompt.push_back(kSymbol0 + static_cast<int>(symbol));
  out.prompt.push_back(vocab_.id_of('='));

  out.reference.clear();
  for (int i = 0; i < length; ++i) {
    const size_t source = static_cast<size_t>(mode_ == Mode::Reverse ? length - 1 - i : i);
    out.reference.push_back(kSymbol0 + static_cast<int>(out.data[source]));
  }
  out.reference.push_back(Vocabulary::kEos);
  out.difficulty = length - min_length_;
  out.length_target = budget;
}

void StringTask::sample(Split split, Rng& rng, Problem& out) const {
  const auto lengths = static_cast<uint32_t>(options_.length - min_length_ + 1);
  const auto symbols = static_cast<uint32_t>(options_.alphabet_size);
  sample_from_split(split_rule_, split, [&] {
    const int length = min_length_ + static_cast<int>(rng.below(lengths));
    out.data.clear();
    for (int i = 0; i < length; ++i) out.data.push_back(rng.below(symbols));
    return content_hash(out.data.data(), length, salt_);
  });
  // The stated budget is the reference's length: the string and its EOS.
  fill_from_data(options_.length_budget ? static_cast<int>(out.data.size()) + 1 : 0, out);
}

Split StringTask::split_of(const Problem& p) const {
  return split_rule_.split_of(content_hash(p.data.data(), static_cast<int>(p.data.size()), salt_));
}

Score StringTask::score(const Problem& p, const int* completion, int n) const {
  Score s;
  s.length = completion_length(completion, n);
  // Well formed: one or more alphabet symbols, then EOS.
  s.well_formed = s.length >= 2 && completion[s.length - 1] == Vocabulary::kEos;
  for (int i = 0; s.well_formed && i < s.length - 1; ++i) {
    s.well_formed = completion[i] >= kSymbol0 && completion[i] < kSymbol0 + options_.alphabet_size;
  }
  s.correct = s.well_formed && s.length == static_cast<int>(p.reference.size()) &&
              std::equal(p.reference.begin(), p.reference.end(), completion);
  s.partial = s.correct ? 1.0f : position_match_fraction(p.reference, completion, n);
  return s;
}

void StringTask::parse_prompt(const std::string& text, Problem& p) const {
  const std::vector<int> ids = vocab_.encode(text, "prompt");
  const std::string letters = alphabet(options_.alphabet_size);
  const std::string example_string = std::string("abcdefghijklmnop").substr(0, static_cast<size_t>(options_.length));
  std::string example = example_string + "=";
  if (options_.length_budget) example = std::string(1, budget_char(options_.length + 1)) + kBudgetSeparator + example;
  const std::string form_hint = " (e.g. \"" + example + "\"; symbols " + letters + ", " +
                                std::to_string(min_length_) + " to " + std::to_string(options_.length) + " of them)";
  if (static_cast<int>(ids.size()) > max_prompt_length()) {
    throw TaskError("prompt " + quote_text(text) + " has " + std::to_string(ids.size()) + " tokens; " + id_ +
                    " prompts have at most " + std::to_string(max_prompt_length()) + form_hint);
  }
  size_t start = 0;
  int budget = 0;
  bool ok = true;
  if (options_.length_budget) {
    // "<budget>|": any budget digit of the vocabulary is accepted.
    ok = ids.size() >= 2 && ids[1] == vocab_.id_of(kBudgetSeparator) &&
         budget_value(vocab_.token_char(ids[0])) >= 1;
    if (ok) budget = budget_value(vocab_.token_char(ids[0]));
    start = 2;
  }
  const int length = static_cast<int>(ids.size()) - static_cast<int>(start) - 1;
  ok = ok && length >= min_length_ && length <= options_.length && ids.back() == vocab_.id_of('=');
  for (size_t i = start; ok && i + 1 < ids.size(); ++i) {
    ok = ids[i] >= kSymbol0 && ids[i] < kSymbol0 + options_.alphabet_size;
  }
  if (!ok) {
    throw TaskError("prompt " + quote_text(text) + " is not of the " + id_ + " form: " +
                    (options_.length_budget ? "a budget digit and '|', then " : "") +
                    "a string of symbols, then '='" + form_hint);
  }
  p.data.clear();
  for (size_t i = start; i + 1 < ids.size(); ++i) p.data.push_back(ids[i] - kSymbol0);
  fill_from_data(budget, p);
}

}  // namespace pl
