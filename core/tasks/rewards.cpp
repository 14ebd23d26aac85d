// Reward terms (see rewards.hpp).
#include "core/tasks/rewards.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "core/tasks/options.hpp"
#include "core/train/metrics.hpp"

namespace pl {

// Rule-based accuracy reward: DeepSeek-AI 2025 ("DeepSeek-R1", sec. 2.2.2, accuracy rewards) and
// TinyZero's Countdown score use a 0/1 verdict from a verifier, not a learned reward model.
float correctness_reward(const Score& s) { return s.correct ? 1.0f : 0.0f; }

float partial_credit_reward(const Score& s) { return s.partial; }

// Format reward: DeepSeek-R1 (sec. 2.2.2, format rewards) rewards output in the required format
// whatever the answer; here the format is the task's answer grammar followed by EOS.
float format_reward(const Score& s) { return s.well_formed ? 1.0f : 0.0f; }

// L1-Exact, Aggarwal & Welleck 2025, "L1: Controlling How Long A Reasoning Model Thinks With
// Reinforcement Learning" (LCPO's reward): r(y, y_gold, n_gold) = I(y = y_gold) - alpha * |n_gold - n_y|.
// The paper sizes alpha for budgets of thousands of tokens; these tasks count tens, hence a larger
// default (reward_fields()).
float soft_overlong_penalty(int length, int max_length, int cache) {
  if (cache <= 0) return 0.0f;
  const int free_length = max_length - cache;
  if (length <= free_length) return 0.0f;
  if (length > max_length) return -1.0f;
  return -static_cast<float>(length - free_length) / static_cast<float>(cache);
}

float l1_exact_reward(const Score& s, int target_length, float alpha) {
  return correctness_reward(s) - alpha * static_cast<float>(std::abs(target_length - s.length));
}

// L1-Max, same paper: r = I(y = y_gold) * clip(alpha * (n_gold - n_y) + delta, 0, 1): a soft budget,
// full reward well under it, delta exactly at it, nothing far over it; only correct answers earn it.
float l1_max_reward(const Score& s, int target_length, float alpha, float delta) {
  const float soft = alpha * static_cast<float>(target_length - s.length) + delta;
  return correctness_reward(s) * std::min(1.0f, std::max(0.0f, soft));
}

// Kimi k1.5 (Team Kimi 2025, "Kimi k1.5: Scaling Reinforcement Learning with LLMs", sec. 2.3.3,
// length penalty): lambda = 0.5 - (len(i) - min_len) / (max_len - min_len), so within a group the
// shortest completion gets +0.5 and the longest -0.5. Equal lengths carry no information: 0.
float kimi_length_lambda(float length, float min_length, float max_length) {
  if (!(max_length > min_length)) return 0.0f;
  return 0.5f - (length - min_length) / (max_length - min_length);
}

// Same section: len_reward(i) = lambda if r(x, y_i, y*) = 1, else min(0, lambda) — correct answers
// are rewarded for being short, wrong ones only penalised for being long (never paid for brevity).
void kimi_length_rewards(const float* lengths, const uint8_t* correct, int n, float* out) {
  if (n <= 0) return;
  float lo = lengths[0], hi = lengths[0];
  for (int i = 1; i < n; ++i) {
    lo = std::min(lo, lengths[i]);
    hi = std::max(hi, lengths[i]);
  }
  for (int i = 0; i < n; ++i) {
    const float lambda = kimi_length_lambda(lengths[i], lo, hi);
    out[i] = correct[i] ? lambda : std::min(0.0f, lambda);
  }
}

float RewardSpec::total(const Problem& p, const Score& s) const {
  float main_term = correctness_reward(s);
  if (length != LengthReward::None) {
    if (p.length_target <= 0) {
      throw TaskError(std::string("length_reward '") + (length == LengthReward::L1Exact ? "l1_exact" : "l1_max") +
                      "' needs a target length in the prompt: turn on the task's length_budget");
    }
    main_term = length == LengthReward::L1Exact ? l1_exact_reward(s, p.length_target, l1_alpha)
                                                : l1_max_reward(s, p.length_target, l1_alpha, l1_delta);
  }
  return correct * main_term + partial * partial_credit_reward(s) + format * format_reward(s);
}

void RewardSpec::group_totals(const Problem& p, const Score* scores, int n, float* out) const {
  if (n <= 0) return;
  float lo = static_cast<float>(scores[0].length), hi = lo;
  for (int i = 0; i < n; ++i) {
    out[i] = total(p, scores[i]);
    lo = std::min(lo, static_cast<float>(scores[i].length));
    hi = std::max(hi, static_cast<float>(scores[i].length));
  }
  if (kimi_length == 0.0f) return;
  for (int i = 0; i < n; ++i) {
    // kimi_length_rewards' rule, applied to the group's Score lengths in place.
    const float lambda = kimi_length_lambda(static_cast<float>(scores[i].length), lo, hi);
    out[i] += kimi_length * (scores[i].correct ? lambda : std::min(0.0f, lambda));
  }
}

const std::vector<FieldSpec>& reward_fields() {
  static const std::vector<FieldSpec> fields = [] {
    const RewardSpec d;
    return std::vector<FieldSpec>{
        option_field("reward_correct", FieldType::Float, float_json(d.correct), 0, 10, "reward",
                     "weight of the 0/1 correctness reward (replaced by L1's reward when length_reward is set)"),
        option_field("reward_partial", FieldType::Float, float_json(d.partial), 0, 10, "reward",
                     "weight of the task's partial credit in [0, 1]"),
        option_field("reward_format", FieldType::Float, float_json(d.format), 0, 10, "reward",
                     "weight of the format reward (1 when the answer parses and ends with EOS)"),
        option_field("length_reward", FieldType::String, "none", 0, 0, "reward",
                     "L1 length control (Aggarwal & Welleck 2025) against the prompt's budget: exact or max",
                     {"none", "l1_exact", "l1_max"}),
        option_field("l1_alpha", FieldType::Float, float_json(d.l1_alpha), 0, 1, "reward",
                     "L1's alpha: reward per token of distance to the budget"),
        option_field("l1_delta", FieldType::Float, float_json(d.l1_delta), 0, 1, "reward",
                     "L1-Max's delta: the reward factor of a completion exactly at the budget"),
        option_field("kimi_length_weight", FieldType::Float, float_json(d.kimi_length), 0, 10, "reward",
                     "weight of Kimi k1.5's group-relative length penalty (0 = off)"),
    };
  }();
  return fields;
}

RewardSpec make_reward_spec(const json& options) {
  const json v = resolve_options(reward_fields(), options, "reward");
  RewardSpec spec;
  spec.correct = v["reward_correct"].get<float>();
  spec.partial = v["reward_partial"].get<float>();
  spec.format = v["reward_format"].get<float>();
  const std::string mode = v["length_reward"].get<std::string>();
  spec.length = mode == "l1_exact" ? LengthReward::L1Exact : mode == "l1_max" ? LengthReward::L1Max : LengthReward::None;
  spec.l1_alpha = v["l1_alpha"].get<float>();
  spec.l1_delta = v["l1_delta"].get<float>();
  spec.kimi_length = v["kimi_length_weight"].get<float>();
  return spec;
}

json reward_spec_to_json(const RewardSpec& spec) {
  const char* mode = spec.length == LengthReward::L1Exact ? "l1_exact" : spec.length == LengthReward::L1Max ? "l1_max" : "none";
  return {{"reward_correct", float_json(spec.correct)},
          {"reward_partial", float_json(spec.partial)},
          {"reward_format", float_json(spec.format)},
          {"length_reward", mode},
          {"l1_alpha", float_json(spec.l1_alpha)},
          {"l1_delta", float_json(spec.l1_delta)},
          {"kimi_length_weight", float_json(spec.kimi_length)}};
}

}  // namespace pl
