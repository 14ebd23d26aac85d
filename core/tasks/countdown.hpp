// `countdown`: reach a target with the given numbers and + - * and parentheses.
//
// Rules follow TinyZero's Countdown task (Pan et al. 2025, github.com/Jiayi-Pan/TinyZero,
// verl/utils/reward_score/countdown.py: `validate_equation` requires the sorted numbers of the
// equation to equal the sorted given numbers), i.e. EACH GIVEN NUMBER IS USED EXACTLY ONCE. Unlike
// TinyZero there is no division, so every expression evaluates exactly in integers; intermediate
// values may be negative, the target is in [0, max_target].
//
// Prompt: the numbers separated by ',', then '>' and the target, then ':', e.g. "3,5,7>22:"
// (numbers in [1, max_number], written without leading zeros). Completion: an expression and EOS,
// e.g. "3*5+7." or "7+5*3."; any valid expression is correct (the verifier parses and evaluates it).
// With length_budget the prompt starts with "<budget>|" (task.hpp: the target completion length
// incl. EOS as one base-36 digit), e.g. "9|3,5,7>22:"; the generator then wraps 0..2 random
// subexpressions of the reference in redundant parentheses and states the reference's length, so
// that the budget can be met by writing more or fewer parentheses.
//
// Grammar of an answer (before EOS):  expr := term (('+'|'-') term)*,  term := factor ('*' factor)*,
// factor := number | '(' expr ')',  number := digits without a leading zero. No unary minus.
//
// Vocabulary: PAD EOS 0-9 + - * ( ) , > :  (20 tokens), with a budget also '|' and the budget
// digits not already tokens. Lengths with D = digits of max_number and T = digits of the largest
// reachable target (min(max_target, the largest value of num_count copies of max_number)):
//   prompt     = num_count*D + (num_count-1) + 1 + T + 1   (+2 with a budget)
//   completion = num_count*D + (num_count-1) + 2*(num_count-2) + 1   (+4 with a budget),
// since a minimally parenthesised expression over k numbers needs at most k-2 pairs.
// Defaults (3 numbers up to 9, targets up to 99): prompt 9, completion 8.
//
// Data: {target, n_1, ..., n_k} in prompt order. Well formed: parses by the grammar and ends with
// EOS. Correct: well formed, uses the given numbers exactly once each, and evaluates to the target.
// Partial credit: for a well-formed expression using exactly the given numbers,
// max(0, 1 - |value - target| / max(target, 1)); 0 otherwise (so writing the target itself earns
// nothing). Difficulty: multiplications plus necessary parenthesis pairs in the generated reference.
#pragma once

#include "core/tasks/task.hpp"

namespace pl {

struct CountdownOptions {
  int num_count = 3;              // numbers given, 2..4
  int max_number = 9;             // numbers in [1, max_number], 2..99
  int max_target = 99;            // targets in [0, max_target], 1..999
  bool length_budget = false;
  double heldout_fraction = 0.1;
};

class CountdownTask final : public SequenceTask {
 public:
  static constexpr int kMaxNumbers = 4;
  static constexpr int kBudgetExtraPairs = 2;  // redundant pairs the budgeted generator may add

  explicit CountdownTask(const CountdownOptions& options);

  const std::string& id() const override { return id_; }
  const Vocabulary& vocab() const override { return vocab_; }
  int max_prompt_length() const override { return max_prompt_; }
  int max_completion_length() const override { return max_completion_; }
  int max_data_size() const override { return options_.num_count + 1; }
  nlohmann::json options() const override;

  void sample(Split split, Rng& rng, Problem& out) const override;
  Score score(const Problem& p, const int* completion, int n) const override;
  Split split_of(const Problem& p) const override;
  // Also finds a reference by exhaustive search; an unsolvable puzzle gets an empty reference.
  void parse_prompt(const std::string& text, Problem& p) const override;

  const SplitRule& split_rule() const { return split_rule_; }

 private:
  uint64_t hash_of(const int64_t* numbers, int64_t target) const;
  void write_prompt(int budget, Problem& out) const;  // from out.data

  std::string id_ = "countdown";
  CountdownOptions options_;
  Vocabulary vocab_;
  int max_prompt_ = 0, max_completion_ = 0, min_completion_ = 0;
  uint64_t salt_;
  SplitRule split_rule_;
};

}  // namespace pl
