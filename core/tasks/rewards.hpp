// Rewards computed from a verifier's Score (task.hpp). Each function cites its source at its
// definition (rewards.cpp). None of them allocates.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tasks/task.hpp"
#include "core/train/config.hpp"

namespace pl {

// 1 when the answer is right, else 0 (the rule-based accuracy reward of DeepSeek-R1 and TinyZero).
float correctness_reward(const Score& s);
// The task's partial credit in [0, 1] (1 exactly when correct).
float partial_credit_reward(const Score& s);
// 1 when the completion parses in the task's answer format and ends with EOS, else 0.
float format_reward(const Score& s);

// L1 / LCPO (Aggarwal & Welleck 2025), with n = s.length and n_target the prompt's budget:
//   exact:  r = correct - alpha * |n_target - n|
//   max:    r = correct * clip(alpha * (n_target - n) + delta, 0, 1)
float l1_exact_reward(const Score& s, int target_length, float alpha);
float l1_max_reward(const Score& s, int target_length, float alpha, float delta);

// Kimi k1.5 length penalty (Team Kimi 2025, sec. 2.3.3) over a group of completions of one prompt:
//   lambda_i = 0.5 - (len_i - min_len) / (max_len - min_len),
//   reward_i = lambda_i if correct_i else min(0, lambda_i);  all 0 when every length is equal.
float kimi_length_lambda(float length, float min_length, float max_length);
void kimi_length_rewards(const float* lengths, const uint8_t* correct, int n, float* out);

// DAPO's soft overlong punishment (Yu et al. 2025, eq. 13) for a completion of `length` tokens under
// the limit L_max with the cache L_c: 0 up to L_max - L_c, then -(length - (L_max - L_c)) / L_c,
// reaching -1 at L_max (and -1 beyond). cache 0: always 0.
float soft_overlong_penalty(int length, int max_length, int cache);

// HAPO's history-aware length reward (Huang, Zhang & Cardie 2025, "HAPO: Training Language Models
// to Reason Concisely via History-Aware Policy Optimization", sec. 3; the cosine form of the
// authors' code). h is the problem's history state, the shortest correct completion found for it
// so far (0: none yet, then the term is 0):
//   f = cos(pi/2 * min(n / h, 2))   (1 at n = 0, 0 at n = h, -1 from n = 2h on)
//   correct: max(f, -0.7)  (a correct answer always out-scores a wrong one);  wrong: min(f, 0)
// (a short wrong answer is not rewarded for its brevity, so exploring shorter answers is safe).
float hapo_length_reward(int length, int history, bool correct);

// HAPO's per-problem history: the shortest correct completion length of each prompt seen, in a
// fixed-capacity table keyed by a 64-bit hash of the prompt's tokens (a problem is its prompt: a
// generated problem seen again is the same problem). Allocated once; never allocates after. A prompt
// whose slots are all taken replaces the entry in its home slot (documented forgetting, counted).
class LengthHistory {
 public:
  static constexpr int kProbe = 8;  // slots tried per prompt
  void allocate(int capacity);       // a power of two
  int capacity() const { return static_cast<int>(keys_.size()); }
  // The history state of a prompt: its shortest correct length, 0 when none is recorded.
  int lookup(const std::vector<int>& prompt) const { return lookup_key(key_of(prompt.data(), static_cast<int>(prompt.size()))); }
  // Records a correct completion of `length` tokens (keeps the minimum).
  void record(const std::vector<int>& prompt, int length) {
    record_key(key_of(prompt.data(), static_cast<int>(prompt.size())), length, /*keep_min=*/true);
  }
  // The same table under any key (LAPO keys a problem by its prompt without the budget): the value,
  // 0 when none; record_key keeps the minimum (keep_min) or replaces the value (a value of 0 then
  // marks the problem unknown again). Lengths below 0 are ignored.
  int lookup_key(uint64_t key) const;
  void record_key(uint64_t key, int length, bool keep_min);
  // FNV-1a over token ids; never 0 (0 marks an empty slot).
  static uint64_t key_of(const int* tokens, int n);
  int size() const { return size_; }
  int64_t evictions() const { return evictions_; }
  const std::vector<uint64_t>& keys() const { return keys_; }
  const std::vector<int32_t>& values() const { return values_; }
  // For checkpoints: the raw table (restore() recounts the entries).
  std::vector<uint64_t>& mutable_keys() { return keys_; }
  std::vector<int32_t>& mutable_values() { return values_; }
  void restore(int64_t evictions);

 private:
  std::vector<uint64_t> keys_;  // 0 = empty
  std::vector<int32_t> values_;
  int size_ = 0;
  int64_t evictions_ = 0;
};

// LAPO's discovery-stage length reward (Wu et al. 2025, "LAPO: Internalizing Reasoning Efficiency
// via Length-Adaptive Policy Optimization", stage 1 (LAPO-D); the rule of the authors' reward
// function). Within a group of completions of one prompt, [lower, upper] is the range between two
// percentiles (30th and 70th in the paper; linear interpolation, numpy's default) of the lengths
// of the correct completions; a correct completion earns
//   1 inside [lower, upper],  max(0, 1 - distance to the nearer end / scale) outside,
// and 0 when wrong or when the range is empty (fewer than two distinct correct lengths). The paper
// adds it with weight 0.7 to the 0/1 accuracy; scale is 100 tokens in the authors' code.
float lapo_length_reward(int length, float lower, float upper, bool correct, float scale);
// The percentile range of the correct completions' lengths of a group; false (and 0, 0) without
// correct ones. No allocation (order statistics by counting: groups are small).
bool lapo_length_range(const Score* scores, int n, float lower_percentile, float upper_percentile, float* lower,
                       float* upper);

// LAPO's internalization stage (LAPO-I; Wu et al. 2025, stage 2; the authors' stage-2 reward
// function). Every training prompt states a length budget n ("I will answer the question with n
// tokens" in the paper; here the task's budget token, so the task needs length_budget): the median
// length of the problem's correct completions found so far (stage 1's statistic, carried over by a
// warm start, then refined in stage 2), or the largest budget while the problem is unknown. A
// correct completion of length L earns
//   exp(-(L - n)^2 / (2 sigma^2))        (sigma = 120 tokens in the authors' code)
// added with weight 0.8 to the 0/1 accuracy; for an unknown problem n is the median length of the
// group's correct completions instead. Wrong completions earn 0.
float lapo_budget_reward(int length, float target, bool correct, float sigma);
// The median length of the correct completions of a group (numpy's median: the mean of the two
// middle ones for an even count); 0 without correct ones. No allocation.
float correct_median_length(const Score* scores, int n);
// The problem key LAPO's table uses: the prompt's tokens after the budget prefix ("<budget>|"),
// so that a problem keeps its statistic whatever budget its prompt states.
uint64_t lapo_problem_key(const Problem& p);
// Rewrites the budget a budgeted prompt states (its first token) and p.length_target; `budget` is
// clamped to [1, max_budget]. Throws TaskError when the prompt states no budget.
void state_length_budget(const Vocabulary& vocab, int max_budget, int budget, Problem& p);

enum class LengthReward { None, L1Exact, L1Max };

// A weighted sum of the terms above, read from the reward fields (reward_fields()):
//   total = w_correct * C + w_partial * partial + w_format * format (+ w_kimi * Kimi term in a group)
// where C is correctness, or L1's reward in its place when length_reward is l1_exact or l1_max
// (so that with w_correct = 1 and the other weights 0 the total is exactly the paper's reward).
struct RewardSpec {
  float correct = 1.0f;
  float partial = 0.0f;
  float format = 0.0f;
  LengthReward length = LengthReward::None;
  float l1_alpha = 0.05f;
  float l1_delta = 0.5f;
  float kimi_length = 0.0f;
  float hapo_length = 0.0f;  // HAPO's w: weight of hapo_length_reward (the trainer holds the history)
  int hapo_history_size = 4096;
  float lapo_length = 0.0f;  // LAPO-D's weight (the paper: 0.7)
  float lapo_scale = 4.0f;   // tokens over which the reward decays outside the range (authors: 100 for LLM answers)
  float lapo_lower = 30.0f, lapo_upper = 70.0f;  // the percentiles
  float lapo_budget = 0.0f;  // LAPO-I's weight (the authors: 0.8); the trainer holds the table
  float lapo_sigma = 1.5f;   // LAPO-I's width in tokens (authors: 120 for LLM answers)
  int lapo_table_size = 4096;
  bool lapo_table() const { return lapo_length > 0 || lapo_budget > 0; }  // the trainer keeps LAPO's table

  // Per-completion terms. Throws TaskError when an L1 term is asked for a problem whose prompt
  // states no target length (a task without length_budget).
  float total(const Problem& p, const Score& s) const;
  // total() for each of n completions of the same problem, plus the group terms (Kimi's length
  // penalty, LAPO-D's length range). No allocation.
  void group_totals(const Problem& p, const Score* scores, int n, float* out) const;
};

// Fields (group "reward"): reward_correct, reward_partial, reward_format, length_reward
// ("none", "l1_exact", "l1_max"), l1_alpha, l1_delta, kimi_length_weight, hapo_length_weight,
// hapo_history_size, lapo_length_weight, lapo_length_scale, lapo_lower_percentile,
// lapo_upper_percentile, lapo_budget_weight, lapo_budget_sigma, lapo_table_size.
const std::vector<FieldSpec>& reward_fields();
// Validates options against reward_fields() (missing -> default; TaskError names a bad field).
RewardSpec make_reward_spec(const json& options);
json reward_spec_to_json(const RewardSpec& spec);

}  // namespace pl
