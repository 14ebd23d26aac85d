// `addition`: n-digit + n-digit with zero-padded operands, "042+317=" -> "0359." (or, with
// reverse_answer, least-significant digit first: "9530.").
//
// Writing the sum least-significant digit first lets a causal model produce each digit right after
// the carry that decides it; it is the standard trick that makes addition learnable by small
// transformers (Lee et al. 2023, "Teaching Arithmetic to Small Transformers", "reversed" format).
//
// Vocabulary: PAD EOS 0-9 + =  (14 tokens). Prompt 2*digits+2 tokens, completion digits+2 (the
// digits+1 answer digits and EOS). Data: {a, b}. Difficulty: the number of carries (0..digits).
// Answer format: exactly digits+1 digits, then EOS. Partial credit: the fraction of the reference's
// positions (answer digits and EOS) matched.
#pragma once

#include "core/tasks/task.hpp"

namespace pl {

struct AdditionOptions {
  int digits = 3;                 // operand digits, 1..6
  bool reverse_answer = true;     // answer least-significant digit first
  double heldout_fraction = 0.1;  // share of problems held out
};

class AdditionTask final : public SequenceTask {
 public:
  explicit AdditionTask(const AdditionOptions& options);

  const std::string& id() const override { return id_; }
  const Vocabulary& vocab() const override { return vocab_; }
  int max_prompt_length() const override { return 2 * options_.digits + 2; }
  int max_completion_length() const override { return options_.digits + 2; }
  int max_data_size() const override { return 2; }
  nlohmann::json options() const override;

  void sample(Split split, Rng& rng, Problem& out) const override;
  Score score(const Problem& p, const int* completion, int n) const override;
  Split split_of(const Problem& p) const override;
  void parse_prompt(const std::string& text, Problem& p) const override;

  const SplitRule& split_rule() const { return split_rule_; }

 private:
  uint64_t hash_of(int64_t a, int64_t b) const;
  void fill(int64_t a, int64_t b, Problem& out) const;  // prompt, reference, data, difficulty

  std::string id_ = "addition";
  AdditionOptions options_;
  Vocabulary vocab_;
  int64_t operand_limit_;  // 10^digits
  uint64_t salt_;
  SplitRule split_rule_;
};

}  // namespace pl
