// `reverse` and `copy`: a string over a small alphabet (the first alphabet_size lowercase letters),
// "abcd=" -> "dcba." (reverse) or "abcd." (copy).
//
// String lengths are drawn uniformly from [min_length, length] (min_length 0 means every string
// has exactly `length` symbols), so completion lengths differ between problems when asked to.
//
// With length_budget, the prompt starts with the budget: "<budget>|abcd=", where the budget is the
// target completion length in tokens including EOS written as one base-36 digit (task.hpp); the
// generator states the reference's length (string length + 1), so a model can learn to read it,
// and parse_prompt accepts any budget in the vocabulary for off-target experiments.
//
// Vocabulary: PAD EOS, the alphabet, '=', and with a budget '|' and the budget digits for lengths
// min_length+1..length+1. Prompt length+1 tokens (+2 with a budget), completion length+1.
// Data: the string's symbols as alphabet indices (0 = 'a'). Answer format: one or more alphabet
// symbols, then EOS. Partial credit: the fraction of the reference's positions (symbols and EOS)
// matched. Difficulty: the string length minus the shortest length drawn (0 when fixed).
#pragma once

#include "core/tasks/task.hpp"

namespace pl {

struct StringTaskOptions {
  int length = 5;                 // (longest) string length, 1..16
  int min_length = 0;             // shortest string length; 0 = always `length`
  int alphabet_size = 8;          // symbols 'a'.., 2..26
  bool length_budget = false;     // prefix the prompt with the target completion length
  double heldout_fraction = 0.1;
};

class StringTask final : public SequenceTask {
 public:
  enum class Mode { Reverse, Copy };
  StringTask(Mode mode, const StringTaskOptions& options);

  const std::string& id() const override { return id_; }
  const Vocabulary& vocab() const override { return vocab_; }
  int max_prompt_length() const override { return options_.length + 1 + (options_.length_budget ? 2 : 0); }
  int max_completion_length() const override { return options_.length + 1; }
  int max_data_size() const override { return options_.length; }
  nlohmann::json options() const override;

  void sample(Split split, Rng& rng, Problem& out) const override;
  Score score(const Problem& p, const int* completion, int n) const override;
  Split split_of(const Problem& p) const override;
  void parse_prompt(const std::string& text, Problem& p) const override;

  const SplitRule& split_rule() const { return split_rule_; }
  int min_length() const { return min_length_; }

 private:
  // Prompt, reference and difficulty from out.data; `budget` is the stated target (0 = none).
  void fill_from_data(int budget, Problem& out) const;

  Mode mode_;
  std::string id_;
  StringTaskOptions options_;
  int min_length_;
  Vocabulary vocab_;
  uint64_t salt_;
  SplitRule split_rule_;
};

}  // namespace pl
