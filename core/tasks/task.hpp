// Verifiable sequence tasks: a prompt of tokens, a completion the policy writes, and a rule-based
// verifier. A small causal transformer learns them by supervised fine-tuning on the reference
// completions (teacher forcing) and then by RL on the verifier's rewards (rewards.hpp).
//
// Every task has
//  - a vocabulary of one-character tokens (vocabulary.hpp), so everything prints as text;
//  - exact maximum prompt and completion lengths (a transformer's context is sized from them);
//  - a seeded generator over two disjoint splits: a deterministic hash of a problem's *content*
//    (never of the rng) decides whether it is a training or a held-out problem, and sample() draws
//    by rejection from the requested split, so no held-out problem is ever trained on;
//  - a verifier that accepts any valid answer (not only the reference) and grades partial credit.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/tasks/vocabulary.hpp"
#include "core/util/rng.hpp"

namespace pl {

// A bad task id, option, prompt or vocabulary; the message names the culprit and what is allowed.
struct TaskError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

enum class Split { Train, Heldout };
const char* split_name(Split split);  // "train", "heldout"

struct Problem {                 // one prompt with what the verifier needs; reused, so keep capacity
  std::vector<int> prompt;       // token ids, no EOS
  std::vector<int> reference;    // one correct completion, ending with EOS (SFT's teacher target)
  std::vector<int64_t> data;     // task-specific numbers the verifier needs (layout: each task's header)
  int difficulty = 0;            // graded difficulty bucket, 0 = easiest (e.g. number of carries)
  int length_target = 0;         // target completion length (tokens incl. EOS) stated by the prompt's
                                 // budget token when the task's `length_budget` is on; 0 otherwise
};

// The two answer modes of a task whose completions open with a mode marker (AdaptThink's Thinking
// and NoThinking: Zhang et al. 2025, arXiv 2505.13417): the marker token ids, -1 when the task has
// no modes.
struct AnswerModes {
  int think = -1, nothink = -1;
  bool on() const { return think >= 0 && nothink >= 0; }
};

struct Score {                   // what a verifier says about one completion
  bool correct = false;          // the answer is right (any valid answer counts, not string match)
  bool well_formed = false;      // the completion parses in the task's answer format and ends with EOS
  float partial = 0;             // partial credit in [0, 1] (1 exactly when correct)
  int length = 0;                // completion tokens up to and including EOS (or all if no EOS)
};

class SequenceTask {
 public:
  virtual ~SequenceTask() = default;
  virtual const std::string& id() const = 0;
  virtual const Vocabulary& vocab() const = 0;
  virtual int max_prompt_length() const = 0;       // tokens
  virtual int max_completion_length() const = 0;   // tokens incl. EOS, for the longest reference answer AND the sampling budget
  virtual int max_data_size() const = 0;           // most entries a Problem's data ever holds
  // The task's options, every field present (the registry's fields; see registry.hpp).
  virtual nlohmann::json options() const = 0;

  // A Problem whose vectors already have the capacity of the longest problem, so that sample()
  // into it never allocates.
  Problem make_problem() const;

  // Draws one problem from the split. Does not allocate once `out`'s vectors have capacity (see
  // make_problem). Deterministic in rng.
  virtual void sample(Split split, Rng& rng, Problem& out) const = 0;
  // Rule-based verifier over a completion of n tokens (may contain EOS and trailing PAD; tokens after
  // the first EOS are ignored). Never allocates.
  virtual Score score(const Problem& p, const int* completion, int n) const = 0;
  // The split a problem belongs to (from its content: p.data, the budget excluded).
  virtual Split split_of(const Problem& p) const = 0;

  // Fixed held-out evaluation set: `count` problems drawn from the held-out split with a fixed
  // stream derived from `seed` (same set every call). Small problem spaces may repeat problems.
  std::vector<Problem> heldout_set(int count, uint64_t seed) const;

  // Parses a prompt typed by a user (e.g. "123+456="), throws TaskError naming the problem (unknown
  // token, too long, not of the task's prompt form), and fills p (data, reference, difficulty and
  // length_target included, so that a completion can be scored). A prompt need not come from
  // either split, and with a length budget any budget the vocabulary can state is accepted.
  virtual void parse_prompt(const std::string& text, Problem& p) const = 0;
  // The mode markers, when every completion opens with one (see AnswerModes); none by default.
  virtual AnswerModes answer_modes() const { return {}; }
};

// ---- Helpers shared by the task implementations ---------------------------------------------

// `text` in double quotes for messages: non-printable characters escaped, long text shortened.
std::string quote_text(const std::string& text);

// A 64-bit hash of a problem's content words (SplitMix64's finaliser, Steele et al. 2014, applied
// after each word). `salt` separates tasks, so that e.g. copy and reverse split differently.
uint64_t content_hash(const int64_t* words, int n, uint64_t salt);
uint64_t string_salt(const std::string& text);

// Decides a problem's split from its content hash.
//  - Large (or not enumerable) spaces: held out iff the hash falls in the lowest `fraction` of the
//    64-bit range, so the held-out share is `fraction` in expectation.
//  - Small spaces (every content hash listed): exactly clamp(round(fraction * N), 1, N - 1) of the
//    N problems, those with the smallest hashes, are held out, so both splits stay non-empty and
//    the held-out share is meaningful even for a few dozen problems.
class SplitRule {
 public:
  static constexpr uint64_t kMaxEnumerated = 1u << 16;  // spaces up to this size are enumerated

  SplitRule() = default;
  static SplitRule by_fraction(double fraction);
  static SplitRule by_enumeration(double fraction, std::vector<uint64_t> all_hashes);

  Split split_of(uint64_t hash) const { return hash <= heldout_max_hash_ ? Split::Heldout : Split::Train; }
  // Problems in the space and how many are held out (0, 0 when the space was not enumerated).
  uint64_t space_size() const { return space_size_; }
  uint64_t heldout_count() const { return heldout_count_; }

 private:
  uint64_t heldout_max_hash_ = 0;
  uint64_t space_size_ = 0, heldout_count_ = 0;
};

// Draws by rejection until `draw()` (which fills a problem and returns its content hash) lands in
// the requested split. Both splits are non-empty by construction; the bound on attempts only turns
// a broken task into an error instead of a hang.
template <typename Draw>
void sample_from_split(const SplitRule& rule, Split split, Draw&& draw) {
  constexpr int kMaxAttempts = 1 << 20;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    if (rule.split_of(draw()) == split) return;
  }
  throw std::logic_error(std::string("no problem found in the ") + split_name(split) + " split");
}

// Length budgets: the target completion length (tokens incl. EOS) is written as ONE base-36 digit,
// '1'..'9' then 'A' = 10, 'B' = 11, ... 'Z' = 35, so it stays a single token; for the default
// options of every task it is a plain decimal digit. A budgeted prompt is "<budget>|<prompt>",
// e.g. "6|abcde=" (reverse) or "9|3,5,7>22:" (countdown).
constexpr char kBudgetSeparator = '|';
char budget_char(int length);   // 1 <= length <= 35
int budget_value(char c);       // -1 for a character that is not a base-36 digit
// The budget characters for lengths in [lo, hi] not already in `existing`, plus the separator.
std::string budget_tokens(int lo, int hi, const std::string& existing);

// Completion tokens up to and including the first EOS, or n when there is none.
int completion_length(const int* completion, int n);
// Fraction of the reference's positions (its closing EOS included) that the completion matches
// token for token: the partial credit of tasks with a unique answer (1 exactly when it matches).
float position_match_fraction(const std::vector<int>& reference, const int* completion, int n);

}  // namespace pl
