// `sort`: sort a list of digits ascending, "53192=" -> "12359.".
//
// Vocabulary: PAD EOS 0-9 =  (13 tokens). Prompt list_length+1 tokens, completion list_length+1.
// Data: the list, in prompt order. Answer format: one or more digits, then EOS; correct exactly
// when they are the sorted permutation of the list. Partial credit: the fraction of the
// reference's positions (digits and EOS) matched. Difficulty: the inversion count in quartiles of
// its maximum L(L-1)/2, floor(4 * inversions / (L(L-1)/2 + 1)), so buckets 0..3.
#pragma once

#include "core/tasks/task.hpp"

namespace pl {

struct SortOptions {
  int list_length = 5;            // digits to sort, 2..8
  double heldout_fraction = 0.1;
};

class SortTask final : public SequenceTask {
 public:
  explicit SortTask(const SortOptions& options);

  const std::string& id() const override { return id_; }
  const Vocabulary& vocab() const override { return vocab_; }
  int max_prompt_length() const override { return options_.list_length + 1; }
  int max_completion_length() const override { return options_.list_length + 1; }
  int max_data_size() const override { return options_.list_length; }
  nlohmann::json options() const override;

  void sample(Split split, Rng& rng, Problem& out) const override;
  Score score(const Problem& p, const int* completion, int n) const override;
  Split split_of(const Problem& p) const override;
  void parse_prompt(const std::string& text, Problem& p) const override;

  const SplitRule& split_rule() const { return split_rule_; }

 private:
  void fill_from_data(Problem& out) const;  // prompt, reference and difficulty from out.data

  std::string id_ = "sort";
  SortOptions options_;
  Vocabulary vocab_;
  uint64_t salt_;
  SplitRule split_rule_;
};

}  // namespace pl
