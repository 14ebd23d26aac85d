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

float lapo_length_reward(int length, float lower, float upper, bool correct, float scale) {
  if (!correct || !(lower < upper)) return 0.0f;
  const float n = static_cast<float>(length);
  if (n >= lower && n <= upper) return 1.0f;
  const float margin = std::min(std::fabs(n - lower), std::fabs(n - upper));
  return std::max(0.0f, 1.0f - margin / scale);
}

namespace {
// The k-th smallest (0-based) length among the correct completions, by counting (O(n^2), no memory).
float correct_order_statistic(const Score* s, int n, int k) {
  for (int i = 0; i < n; ++i) {
    if (!s[i].correct) continue;
    int less = 0, not_greater = 0;
    for (int j = 0; j < n; ++j) {
      if (!s[j].correct) continue;
      less += s[j].length < s[i].length;
      not_greater += s[j].length <= s[i].length;
    }
    if (less <= k && k < not_greater) return static_cast<float>(s[i].length);
  }
  return 0.0f;  // unreachable for 0 <= k < the number of correct completions
}

float correct_percentile(const Score* s, int n, int count, float percent) {
  const double pos = percent / 100.0 * (count - 1);
  const int lo = static_cast<int>(std::floor(pos));
  const int hi = std::min(lo + 1, count - 1);
  const float a = correct_order_statistic(s, n, lo), b = correct_order_statistic(s, n, hi);
  return static_cast<float>(a + (pos - lo) * (b - a));
}
}  // namespace

bool lapo_length_range(const Score* scores, int n, float lower_percentile, float upper_percentile, float* lower,
                       float* upper) {
  int count = 0;
  for (int i = 0; i < n; ++i) count += scores[i].correct;
  *lower = *upper = 0.0f;
  if (count == 0) return false;
  *lower = correct_percentile(scores, n, count, lower_percentile);
  *upper = correct_percentile(scores, n, count, upper_percentile);
  return true;
}

float lapo_budget_reward(int length, float target, bool correct, float sigma) {
  if (!correct || target <= 0) return 0.0f;
  const double d = static_cast<double>(length) - target;
  return static_cast<float>(std::exp(-d * d / (2.0 * static_cast<double>(sigma) * sigma)));
}

float correct_median_length(const Score* scores, int n) {
  int count = 0;
  for (int i = 0; i < n; ++i) count += scores[i].correct;
  return count == 0 ? 0.0f : correct_percentile(scores, n, count, 50.0f);
}

uint64_t lapo_problem_key(const Problem& p) {
  const int skip = p.length_target > 0 ? 2 : 0;  // "<budget>|"
  const int n = static_cast<int>(p.prompt.size()) - skip;
  return LengthHistory::key_of(p.prompt.data() + skip, std::max(0, n));
}

void state_length_budget(const Vocabulary& vocab, int max_budget, int budget, Problem& p) {
  if (p.length_target <= 0 || p.prompt.size() < 2 || p.prompt[1] != vocab.id_of(kBudgetSeparator))
    throw TaskError("lapo_budget_weight needs a length budget in the prompt: turn on the task's length_budget");
  const int b = std::max(1, std::min(budget, max_budget));
  const int id = vocab.id_of(budget_char(b));
  if (id < 0) throw TaskError("the task's vocabulary cannot state a budget of " + std::to_string(b) + " tokens");
  p.prompt[0] = id;
  p.length_target = b;
}

float hapo_length_reward(int length, int history, bool correct) {
  if (history <= 0) return 0.0f;
  constexpr double kHalfPi = 1.5707963267948966;
  const double ratio = std::min(static_cast<double>(length) / history, 2.0);
  const float f = static_cast<float>(std::cos(kHalfPi * ratio));
  return correct ? std::max(f, -0.7f) : std::min(f, 0.0f);
}

void LengthHistory::allocate(int capacity) {
  if (capacity < kProbe || (capacity & (capacity - 1)) != 0)
    throw TaskError("hapo_history_size must be a power of two >= " + std::to_string(kProbe) + ", got " +
                    std::to_string(capacity));
  keys_.assign(static_cast<size_t>(capacity), 0);
  values_.assign(static_cast<size_t>(capacity), 0);
  size_ = 0;
  evictions_ = 0;
}

// FNV-1a over the token ids (Fowler, Noll & Vo): fast, and equal prompts give equal keys; 0 is
// kept for "empty".
uint64_t LengthHistory::key_of(const int* tokens, int n) {
  uint64_t h = 1469598103934665603ull;
  for (int i = 0; i < n; ++i) {
    for (int b = 0; b < 4; ++b) {
      h ^= static_cast<uint64_t>((static_cast<uint32_t>(tokens[i]) >> (8 * b)) & 0xffu);
      h *= 1099511628211ull;
    }
  }
  return h == 0 ? 1 : h;
}

int LengthHistory::lookup_key(uint64_t key) const {
  if (keys_.empty()) return 0;
  const size_t mask = keys_.size() - 1;
  for (int k = 0; k < kProbe; ++k) {
    const size_t slot = (key + static_cast<uint64_t>(k)) & mask;
    if (keys_[slot] == key) return values_[slot];
    if (keys_[slot] == 0) return 0;
  }
  return 0;
}

void LengthHistory::record_key(uint64_t key, int length, bool keep_min) {
  if (keys_.empty() || length < 0 || (keep_min && length == 0)) return;
  const size_t mask = keys_.size() - 1;
  for (int k = 0; k < kProbe; ++k) {
    const size_t slot = (key + static_cast<uint64_t>(k)) & mask;
    if (keys_[slot] == key) {
      values_[slot] = keep_min ? std::min(values_[slot], length) : length;
      return;
    }
    if (keys_[slot] == 0) {
      if (length == 0) return;  // "unknown" for a problem the table does not hold: nothing to do
      keys_[slot] = key;
      values_[slot] = length;
      ++size_;
      return;
    }
  }
  if (length == 0) return;
  const size_t home = key & mask;  // every probed slot is taken: forget the home slot's problem
  keys_[home] = key;
  values_[home] = length;
  ++evictions_;
}

void LengthHistory::restore(int64_t evictions) {
  size_ = static_cast<int>(std::count_if(keys_.begin(), keys_.end(), [](uint64_t k) { return k != 0; }));
  evictions_ = evictions;
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
  if (kimi_length != 0.0f) {
    for (int i = 0; i < n; ++i) {
      // kimi_length_rewards' rule, applied to the group's Score lengths in place.
      const float lambda = kimi_length_lambda(static_cast<float>(scores[i].length), lo, hi);
      out[i] += kimi_length * (scores[i].correct ? lambda : std::min(0.0f, lambda));
    }
  }
  float lower = 0, upper = 0;
  if (lapo_length != 0.0f && lapo_length_range(scores, n, lapo_lower, lapo_upper, &lower, &upper)) {
    for (int i = 0; i < n; ++i)
      out[i] += lapo_length * lapo_length_reward(scores[i].length, lower, upper, scores[i].correct, lapo_scale);
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
        applies_when(option_field("l1_alpha", FieldType::Float, float_json(d.l1_alpha), 0, 1, "reward",
                     "L1's alpha: reward per token of distance to the budget"),
                     "length_reward", {"l1_exact", "l1_max"}),
        applies_when(option_field("l1_delta", FieldType::Float, float_json(d.l1_delta), 0, 1, "reward",
                     "L1-Max's delta: the reward factor of a completion exactly at the budget"),
                     "length_reward", {"l1_max"}),
        option_field("kimi_length_weight", FieldType::Float, float_json(d.kimi_length), 0, 10, "reward",
                     "weight of Kimi k1.5's group-relative length penalty (0 = off)"),
        option_field("hapo_length_weight", FieldType::Float, float_json(d.hapo_length), 0, 10, "reward",
                     "weight of HAPO's history-aware length reward (Huang et al. 2025; 0 = off): shorter than the "
                     "problem's shortest correct answer so far is rewarded"),
        applies_unless(option_field("hapo_history_size", FieldType::Int, 4096, 8, 1 << 20, "reward",
                     "problems HAPO's history table holds (a power of two)"),
                     "hapo_length_weight", {0}),
        option_field("lapo_length_weight", FieldType::Float, float_json(d.lapo_length), 0, 10, "reward",
                     "weight of LAPO-D's length reward (Wu et al. 2025; paper 0.7; 0 = off): correct answers whose "
                     "length lies in the group's percentile range of correct lengths"),
        applies_unless(option_field("lapo_length_scale", FieldType::Float, float_json(d.lapo_scale), 0.01, 1e6, "reward",
                     "LAPO-D: tokens over which the reward falls to 0 outside the range (authors: 100 for LLM answers)"),
                     "lapo_length_weight", {0}),
        applies_unless(option_field("lapo_lower_percentile", FieldType::Float, float_json(d.lapo_lower), 0, 100, "reward",
                     "LAPO-D: lower end of the range, a percentile of the group's correct lengths"),
                     "lapo_length_weight", {0}),
        applies_unless(option_field("lapo_upper_percentile", FieldType::Float, float_json(d.lapo_upper), 0, 100, "reward",
                     "LAPO-D: upper end of the range, a percentile of the group's correct lengths"),
                     "lapo_length_weight", {0}),
        option_field("lapo_budget_weight", FieldType::Float, float_json(d.lapo_budget), 0, 10, "reward",
                     "weight of LAPO-I's budget reward (Wu et al. 2025, stage 2; authors 0.8; 0 = off): each prompt "
                     "states its problem's median correct length, and correct answers near it earn up to 1 (needs "
                     "the task's length_budget)"),
        applies_unless(option_field("lapo_budget_sigma", FieldType::Float, float_json(d.lapo_sigma), 0.01, 1e6, "reward",
                     "LAPO-I: width in tokens of the Gaussian around the stated budget (authors: 120 for LLM answers)"),
                     "lapo_budget_weight", {0}),
        option_field("lapo_table_size", FieldType::Int, d.lapo_table_size, 8, 1 << 20, "reward",
                     "problems LAPO's length table holds (a power of two); a warm start from a LAPO run takes its table"),
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
  spec.hapo_length = v["hapo_length_weight"].get<float>();
  spec.hapo_history_size = v["hapo_history_size"].get<int>();
  if ((spec.hapo_history_size & (spec.hapo_history_size - 1)) != 0)
    throw TaskError("field 'hapo_history_size' must be a power of two, got " + std::to_string(spec.hapo_history_size));
  spec.lapo_length = v["lapo_length_weight"].get<float>();
  spec.lapo_scale = v["lapo_length_scale"].get<float>();
  spec.lapo_lower = v["lapo_lower_percentile"].get<float>();
  spec.lapo_upper = v["lapo_upper_percentile"].get<float>();
  spec.lapo_budget = v["lapo_budget_weight"].get<float>();
  spec.lapo_sigma = v["lapo_budget_sigma"].get<float>();
  spec.lapo_table_size = v["lapo_table_size"].get<int>();
  if ((spec.lapo_table_size & (spec.lapo_table_size - 1)) != 0)
    throw TaskError("field 'lapo_table_size' must be a power of two, got " + std::to_string(spec.lapo_table_size));
  if (spec.lapo_lower > spec.lapo_upper)
    throw TaskError("field 'lapo_lower_percentile' (" + std::to_string(spec.lapo_lower) +
                    ") must not exceed 'lapo_upper_percentile' (" + std::to_string(spec.lapo_upper) + ")");
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
          {"kimi_length_weight", float_json(spec.kimi_length)},
          {"hapo_length_weight", float_json(spec.hapo_length)},
          {"hapo_history_size", spec.hapo_history_size},
          {"lapo_length_weight", float_json(spec.lapo_length)},
          {"lapo_length_scale", float_json(spec.lapo_scale)},
          {"lapo_lower_percentile", float_json(spec.lapo_lower)},
          {"lapo_upper_percentile", float_json(spec.lapo_upper)},
          {"lapo_budget_weight", float_json(spec.lapo_budget)},
          {"lapo_budget_sigma", float_json(spec.lapo_sigma)},
          {"lapo_table_size", spec.lapo_table_size}};
}

}  // namespace pl
