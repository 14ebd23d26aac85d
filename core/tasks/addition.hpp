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
//
// Two answer modes (think_mode, for AdaptThink: Zhang et al. 2025, arXiv 2505.13417): the
// vocabulary gains a Thinking marker 'T' and a NoThinking marker 'N' (16 tokens) and every
// completion opens with one of them:
//   Thinking:   'T', a scratchpad of `digits` carry digits ('0' or '1': the carry out of each
//               column, least-significant column first), the digits+1 answer digits, EOS;
//   NoThinking: 'N', the digits+1 answer digits, EOS.
// "042+317=" -> "T0109530." or "N9530." (reversed answer). The longest completion is 2*digits+3
// tokens (Thinking), NoThinking takes digits+3. The verifier accepts both modes: well formed
// requires the mode's structure (scratchpad tokens '0'/'1'; the carries themselves are not graded),
// correct is the answer's. Partial credit compares with the reference written in the completion's
// mode. SFT's reference is a Thinking completion for a think_share fraction of the problems
// (chosen by a hash of the problem, so a problem always has the same reference), NoThinking for the
// rest; think_share 1 (the default) is the always-thinking reasoning model AdaptThink starts from.
#pragma once

#include "core/tasks/task.hpp"

namespace pl {

struct AdditionOptions {
  int digits = 3;                 // operand digits, 1..6
  bool reverse_answer = true;     // answer least-significant digit first
  double heldout_fraction = 0.1;  // share of problems held out
  bool think_mode = false;        // completions open with a Thinking or NoThinking marker (above)
  double think_share = 1.0;       // think_mode: share of SFT references written in Thinking mode, [0, 1]
};

class AdditionTask final : public SequenceTask {
 public:
  explicit AdditionTask(const AdditionOptions& options);

  const std::string& id() const override { return id_; }
  const Vocabulary& vocab() const override { return vocab_; }
  int max_prompt_length() const override { return 2 * options_.digits + 2; }
  int max_completion_length() const override {
    return options_.think_mode ? 2 * options_.digits + 3 : options_.digits + 2;
  }
  int max_data_size() const override { return 2; }
  nlohmann::json options() const override;

  void sample(Split split, Rng& rng, Problem& out) const override;
  Score score(const Problem& p, const int* completion, int n) const override;
  Split split_of(const Problem& p) const override;
  void parse_prompt(const std::string& text, Problem& p) const override;
  AnswerModes answer_modes() const override;

  const SplitRule& split_rule() const { return split_rule_; }

 private:
  uint64_t hash_of(int64_t a, int64_t b) const;
  void fill(int64_t a, int64_t b, Problem& out) const;  // prompt, reference, data, difficulty
  // Token k of the completion of a + b in the given mode (think_mode), EOS included; -1 past its end.
  int mode_token(int64_t a, int64_t b, bool think, int k) const;

  std::string id_ = "addition";
  AdditionOptions options_;
  Vocabulary vocab_;
  int64_t operand_limit_;  // 10^digits
  uint64_t salt_;
  SplitRule split_rule_;
};

}  // namespace pl
