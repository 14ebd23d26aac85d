// Batched autoregressive sampling from a Transformer with a KV cache.
//
// Prompts of different lengths are left padded so that they end in the same column; each row's
// positions count from its first real token and padding is masked out of attention, so a row's
// numbers do not depend on what else is in the batch. Every prompt can be sampled group_size times
// in one batch (the G completions per prompt of group-relative methods).
//
// Decoding: temperature, then top-k, then top-p (nucleus; Holtzman et al. 2020), or greedy. The
// log-probability and entropy returned for each token are those of the temperature-scaled
// distribution before top-k/top-p truncation — the policy the RL losses differentiate, as TRL's
// GRPOTrainer and verl compute them (greedy: temperature 1).
//
// All buffers are allocated for a batch capacity when the sampler is made: generate() allocates
// nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "core/nn/transformer.hpp"

namespace pl {

// The lowest sampling temperature: below it logits / T can overflow a float (at 1e-39 every logit
// became infinite and the samples were garbage); greedy decoding is the T -> 0 limit.
constexpr float kMinTemperature = 1e-6f;

struct SamplingOptions {
  float temperature = 1.0f;  // >= kMinTemperature, finite
  int top_k = 0;             // 0: off
  float top_p = 1.0f;        // in (0, 1]; 1: off
  bool greedy = false;
  int max_new_tokens = 8;
  int eos = 1;
  int pad = 0;
  // Optional, per row (rows = num_prompts * group_size, prompt-major): the first generated token
  // is forced to first_tokens[row] instead of sampled (-1: sampled as usual), and decoding goes on
  // from it; no rng draw is spent on a forced token. Its logp and entropy are still the policy's
  // at that position. AdaptThink's importance sampling forces the mode marker this way.
  const int32_t* first_tokens = nullptr;
};

// What generate() writes: rows = num_prompts * group_size, prompt-major (row = prompt * G + g).
struct Completions {
  int rows = 0, max_new = 0, vocab = 0;
  std::vector<int32_t> tokens;    // [rows, max_new]; pad after EOS
  std::vector<int> lengths;       // generated tokens, EOS included
  std::vector<uint8_t> finished;  // ended with EOS (otherwise truncated at max_new_tokens)
  std::vector<float> logp;        // [rows, max_new] log pi(token | prefix), 0 after the end
  std::vector<float> entropy;     // [rows, max_new]
  std::vector<float> distributions;  // [rows, max_new, vocab] log-probs, when keep_distributions
  void reserve(int rows, int max_new, int vocab, bool keep_distributions);
  const int32_t* row_tokens(int r) const { return tokens.data() + static_cast<size_t>(r) * max_new; }
  // Copies row `from_row` of `from` (same max_new, no distributions) into row `to_row`. No allocation.
  void copy_row(const Completions& from, int from_row, int to_row);
};

class Sampler {
 public:
  Sampler(const Transformer& model, int batch_capacity);

  // prompts: num_prompts rows of prompt_stride ints; row i holds prompt_lengths[i] >= 1 tokens.
  // Throws std::invalid_argument when the batch exceeds the capacity or prompt + max_new_tokens
  // exceeds the model's context.
  void generate(const Parameters& params, const int32_t* prompts, const int* prompt_lengths, int num_prompts,
                int prompt_stride, int group_size, const SamplingOptions& options, Rng& rng, Completions& out,
                bool keep_distributions = false);

  // The last decode step's logits [rows, vocab] (tests compare them with a full recomputation).
  const float* logits() const { return logits_.data(); }
  int batch_capacity() const { return capacity_; }
  const Transformer& model() const { return *model_; }

 private:
  // Runs column `c` (token ids tokens_[r], positions pos_[r]) through the model for `rows` rows,
  // writing the next-token logits into logits_ and this column's keys/values into the caches.
  void step(const Parameters& params, int rows, int c);
  // Samples (or, when forced >= 0, takes) the next token of one row.
  int choose(const float* logits, const SamplingOptions& o, Rng& rng, float* logp_out, float* entropy_out,
             float* dist_out, int forced = -1);

  const Transformer* model_;
  int capacity_;
  std::vector<std::vector<float>> cache_k_, cache_v_;  // per layer [capacity, context, D]
  std::vector<int32_t> key_mask_;                      // [capacity, context]
  std::vector<int32_t> tokens_, pos_;                  // [capacity] the column being decoded
  std::vector<float> x_, h_, qkv_, q_, att_, logits_, probs_;
  // Aligned: the vectorised GELU must round the same in every sampler (see Graph's buffers).
  std::vector<float, Eigen::aligned_allocator<float>> mlp_, gelu_tanh_;
  std::vector<float> scaled_, logp_, weights_;
  std::vector<int> order_, offset_;
};

}  // namespace pl
