#include "core/nn/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "core/autodiff/kernels.hpp"

namespace pl {

void Completions::reserve(int r, int m, int v, bool keep_distributions) {
  rows = r;
  max_new = m;
  vocab = v;
  const size_t n = static_cast<size_t>(r) * m;
  // resize keeps capacity: a second call with the same or smaller shape allocates nothing
  tokens.resize(n);
  logp.resize(n);
  entropy.resize(n);
  lengths.resize(static_cast<size_t>(r));
  finished.resize(static_cast<size_t>(r));
  distributions.resize(keep_distributions ? n * v : 0);
}

void Completions::copy_row(const Completions& from, int from_row, int to_row) {
  const size_t a = static_cast<size_t>(from_row) * from.max_new, b = static_cast<size_t>(to_row) * max_new;
  std::copy(from.tokens.begin() + static_cast<long>(a), from.tokens.begin() + static_cast<long>(a + max_new), tokens.begin() + static_cast<long>(b));
  std::copy(from.logp.begin() + static_cast<long>(a), from.logp.begin() + static_cast<long>(a + max_new), logp.begin() + static_cast<long>(b));
  std::copy(from.entropy.begin() + static_cast<long>(a), from.entropy.begin() + static_cast<long>(a + max_new), entropy.begin() + static_cast<long>(b));
  lengths[static_cast<size_t>(to_row)] = from.lengths[static_cast<size_t>(from_row)];
  finished[static_cast<size_t>(to_row)] = from.finished[static_cast<size_t>(from_row)];
}

Sampler::Sampler(const Transformer& model, int batch_capacity) : model_(&model), capacity_(batch_capacity) {
  if (batch_capacity < 1) throw std::invalid_argument("sampler: batch capacity must be >= 1");
  const TransformerSpec& s = model.spec();
  const size_t B = static_cast<size_t>(batch_capacity), D = s.d_model, C = s.context;
  cache_k_.assign(s.n_layers, std::vector<float>(B * C * D));
  cache_v_.assign(s.n_layers, std::vector<float>(B * C * D));
  key_mask_.assign(B * C, 0);
  tokens_.assign(B, 0);
  pos_.assign(B, 0);
  x_.assign(B * D, 0);
  h_.assign(B * D, 0);
  qkv_.assign(B * 3 * D, 0);
  q_.assign(B * D, 0);
  att_.assign(B * D + B * s.n_heads * C, 0);  // output, then the attention weights
  mlp_.assign(B * s.d_mlp, 0);
  gelu_tanh_.assign(B * s.d_mlp, 0);
  logits_.assign(B * s.vocab, 0);
  probs_.assign(s.vocab, 0);
  scaled_.assign(s.vocab, 0);
  logp_.assign(s.vocab, 0);
  weights_.assign(s.vocab, 0);
  order_.assign(s.vocab, 0);
  offset_.assign(B, 0);
}

void Sampler::step(const Parameters& p, int rows, int c) {
  const TransformerSpec& s = model_->spec();
  const int D = s.d_model, M = s.d_mlp, V = s.vocab, C = s.context, H = s.n_heads;
  const float* wte = p.value(model_->wte()).data();
  const float* wpe = p.value(model_->wpe()).data();
  for (int r = 0; r < rows; ++r) {
    const float* te = wte + static_cast<size_t>(tokens_[r]) * D;
    const float* pe = wpe + static_cast<size_t>(pos_[r]) * D;
    float* x = x_.data() + static_cast<size_t>(r) * D;
    for (int j = 0; j < D; ++j) x[j] = te[j] + pe[j];
  }
  float* att_out = att_.data();
  float* att_probs = att_.data() + static_cast<size_t>(capacity_) * D;
  for (size_t l = 0; l < model_->blocks().size(); ++l) {
    const Transformer::Block& b = model_->blocks()[l];
    for (int r = 0; r < rows; ++r)
      kernels::layer_norm_row(x_.data() + static_cast<size_t>(r) * D, p.value(b.ln1_g).data(), p.value(b.ln1_b).data(),
                              h_.data() + static_cast<size_t>(r) * D, D, 1e-5f, nullptr, nullptr);
    kernels::gemm(h_.data(), p.value(b.qkv_w).data(), qkv_.data(), rows, D, 3 * D, false, false, false);
    kernels::add_row_vector(qkv_.data(), p.value(b.qkv_b).data(), rows, 3 * D);
    float* K = cache_k_[l].data();
    float* Vc = cache_v_[l].data();
    for (int r = 0; r < rows; ++r) {
      const float* row = qkv_.data() + static_cast<size_t>(r) * 3 * D;
      std::copy(row, row + D, q_.data() + static_cast<size_t>(r) * D);
      std::copy(row + D, row + 2 * D, K + (static_cast<size_t>(r) * C + c) * D);
      std::copy(row + 2 * D, row + 3 * D, Vc + (static_cast<size_t>(r) * C + c) * D);
    }
    kernels::attention_forward(q_.data(), K, Vc, key_mask_.data(), /*query_mask=*/nullptr, att_out, att_probs,
                               /*scratch=*/nullptr, rows, 1, c + 1, D, H,
                               /*causal=*/true, /*kv_rows=*/C);
    // x += att W_proj + b
    kernels::gemm(att_out, p.value(b.proj_w).data(), x_.data(), rows, D, D, false, false, true);
    kernels::add_row_vector(x_.data(), p.value(b.proj_b).data(), rows, D);
    for (int r = 0; r < rows; ++r)
      kernels::layer_norm_row(x_.data() + static_cast<size_t>(r) * D, p.value(b.ln2_g).data(), p.value(b.ln2_b).data(),
                              h_.data() + static_cast<size_t>(r) * D, D, 1e-5f, nullptr, nullptr);
    kernels::gemm(h_.data(), p.value(b.fc_w).data(), mlp_.data(), rows, D, M, false, false, false);
    kernels::add_row_vector(mlp_.data(), p.value(b.fc_b).data(), rows, M);
    kernels::gelu_forward(mlp_.data(), mlp_.data(), gelu_tanh_.data(), rows * M);
    kernels::gemm(mlp_.data(), p.value(b.mlp_proj_w).data(), x_.data(), rows, M, D, false, false, true);
    kernels::add_row_vector(x_.data(), p.value(b.mlp_proj_b).data(), rows, D);
  }
  for (int r = 0; r < rows; ++r)
    kernels::layer_norm_row(x_.data() + static_cast<size_t>(r) * D, p.value(model_->lnf_g()).data(),
                            p.value(model_->lnf_b()).data(), h_.data() + static_cast<size_t>(r) * D, D, 1e-5f, nullptr,
                            nullptr);
  kernels::gemm(h_.data(), p.value(model_->head()).data(), logits_.data(), rows, D, V, false, false, false);
}

int Sampler::choose(const float* logits, const SamplingOptions& o, Rng& rng, float* logp_out, float* entropy_out,
                    float* dist_out, int forced) {
  const int V = model_->spec().vocab;
  const float t = o.greedy ? 1.0f : o.temperature;
  for (int j = 0; j < V; ++j) scaled_[j] = logits[j] / t;
  kernels::log_softmax_row(scaled_.data(), nullptr, logp_.data(), V);
  double h = 0;
  for (int j = 0; j < V; ++j) h -= static_cast<double>(kernels::exp_or_zero(logp_[j])) * logp_[j];
  if (dist_out) std::copy(logp_.begin(), logp_.end(), dist_out);
  int token = 0;
  if (forced >= 0) {
    token = forced;
  } else if (o.greedy) {
    for (int j = 1; j < V; ++j)
      if (logits[j] > logits[token]) token = j;
  } else {
    for (int j = 0; j < V; ++j) order_[j] = j;
    // Most probable first; ties by token id, so the order is the same everywhere.
    std::sort(order_.begin(), order_.end(), [&](int a, int b) { return logp_[a] > logp_[b] || (logp_[a] == logp_[b] && a < b); });
    int keep = (o.top_k > 0 && o.top_k < V) ? o.top_k : V;
    if (o.top_p < 1.0f) {
      double cumulative = 0;
      int n = 0;
      while (n < keep) {
        cumulative += std::exp(static_cast<double>(logp_[order_[n]]));
        ++n;
        if (cumulative >= o.top_p) break;
      }
      keep = n;
    }
    std::fill(weights_.begin(), weights_.end(), 0.0f);
    for (int k = 0; k < keep; ++k) weights_[order_[k]] = std::exp(logp_[order_[k]]);
    token = rng.categorical(weights_.data(), V);
  }
  *logp_out = logp_[token];
  *entropy_out = static_cast<float>(h);
  return token;
}

void Sampler::generate(const Parameters& params, const int32_t* prompts, const int* prompt_lengths, int num_prompts,
                       int prompt_stride, int group_size, const SamplingOptions& o, Rng& rng, Completions& out,
                       bool keep_distributions) {
  const TransformerSpec& s = model_->spec();
  const int rows = num_prompts * group_size;
  if (num_prompts < 1 || group_size < 1 || rows > capacity_)
    throw std::invalid_argument("sampler: " + std::to_string(num_prompts) + " prompts x " + std::to_string(group_size) +
                                " samples exceed the batch capacity " + std::to_string(capacity_));
  if (!o.greedy && !(o.temperature >= kMinTemperature && std::isfinite(o.temperature))) {
    char message[160];
    std::snprintf(message, sizeof message, "sampler: temperature must be finite and at least %g (greedy decoding is the limit), got %g",
                  static_cast<double>(kMinTemperature), static_cast<double>(o.temperature));
    throw std::invalid_argument(message);
  }
  if (!(o.top_p > 0 && o.top_p <= 1)) throw std::invalid_argument("sampler: top_p must be in (0, 1]");
  if (o.max_new_tokens < 1) throw std::invalid_argument("sampler: max_new_tokens must be >= 1");
  int longest = 0;
  for (int i = 0; i < num_prompts; ++i) {
    if (prompt_lengths[i] < 1 || prompt_lengths[i] > prompt_stride)
      throw std::invalid_argument("sampler: prompt " + std::to_string(i) + " has length " +
                                  std::to_string(prompt_lengths[i]));
    longest = std::max(longest, prompt_lengths[i]);
  }
  if (longest + o.max_new_tokens > s.context)
    throw std::invalid_argument("sampler: prompt of " + std::to_string(longest) + " tokens + " +
                                std::to_string(o.max_new_tokens) + " new tokens exceed the context of " +
                                std::to_string(s.context));
  for (int i = 0; i < num_prompts; ++i)
    for (int k = 0; k < prompt_lengths[i]; ++k) {
      const int32_t t = prompts[static_cast<size_t>(i) * prompt_stride + k];
      if (t < 0 || t >= s.vocab)
        throw std::invalid_argument("sampler: token id " + std::to_string(t) + " outside the vocabulary of " +
                                    std::to_string(s.vocab));
    }
  if (o.first_tokens)
    for (int r = 0; r < rows; ++r)
      if (o.first_tokens[r] >= s.vocab)
        throw std::invalid_argument("sampler: forced first token " + std::to_string(o.first_tokens[r]) +
                                    " outside the vocabulary of " + std::to_string(s.vocab));
  out.reserve(rows, o.max_new_tokens, s.vocab, keep_distributions);
  std::fill(out.tokens.begin(), out.tokens.end(), o.pad);
  std::fill(out.logp.begin(), out.logp.end(), 0.0f);
  std::fill(out.entropy.begin(), out.entropy.end(), 0.0f);
  std::fill(out.lengths.begin(), out.lengths.end(), 0);
  std::fill(out.finished.begin(), out.finished.end(), 0);
  const int C = s.context, V = s.vocab;
  for (int r = 0; r < rows; ++r) {
    offset_[r] = longest - prompt_lengths[r / group_size];  // left padding of row r
    std::fill(key_mask_.begin() + static_cast<size_t>(r) * C, key_mask_.begin() + static_cast<size_t>(r + 1) * C, 0);
  }
  int active = rows;
  for (int c = 0; c + 1 < longest + o.max_new_tokens && active > 0; ++c) {
    for (int r = 0; r < rows; ++r) {
      const int k = c - offset_[r];
      if (c < longest) {
        tokens_[r] = k >= 0 ? prompts[static_cast<size_t>(r / group_size) * prompt_stride + k] : o.pad;
        key_mask_[static_cast<size_t>(r) * C + c] = k >= 0 ? 1 : 0;
      } else {
        const int t = c - longest;  // the generated token fed back in this column
        tokens_[r] = out.tokens[static_cast<size_t>(r) * o.max_new_tokens + t];
        key_mask_[static_cast<size_t>(r) * C + c] = 1;
      }
      pos_[r] = std::max(k, 0);
    }
    step(params, rows, c);
    if (c + 1 < longest) continue;
    const int t = c + 1 - longest;  // index of the token being generated
    for (int r = 0; r < rows; ++r) {
      if (out.finished[r] || out.lengths[r] < t) continue;  // ended earlier
      const size_t at = static_cast<size_t>(r) * o.max_new_tokens + t;
      float* dist = keep_distributions ? out.distributions.data() + at * V : nullptr;
      const int forced = t == 0 && o.first_tokens ? o.first_tokens[r] : -1;
      const int token =
          choose(logits_.data() + static_cast<size_t>(r) * V, o, rng, &out.logp[at], &out.entropy[at], dist, forced);
      out.tokens[at] = token;
      out.lengths[r] = t + 1;
      if (token == o.eos) {
        out.finished[r] = 1;
        --active;
      }
    }
  }
}

}  // namespace pl
