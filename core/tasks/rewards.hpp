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

  // Per-completion terms. Throws TaskError when an L1 term is asked for a problem whose prompt
  // states no target length (a task without length_budget).
  float total(const Problem& p, const Score& s) const;
  // total() for each of n completions of the same problem, plus the Kimi group term. No allocation.
  void group_totals(const Problem& p, const Score* scores, int n, float* out) const;
};

// Fields (group "reward"): reward_correct, reward_partial, reward_format, length_reward
// ("none", "l1_exact", "l1_max"), l1_alpha, l1_delta, kimi_length_weight.
const std::vector<FieldSpec>& reward_fields();
// Validates options against reward_fields() (missing -> default; TaskError names a bad field).
RewardSpec make_reward_spec(const json& options);
json reward_spec_to_json(const RewardSpec& spec);

}  // namespace pl
