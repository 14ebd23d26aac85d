// A tiny causal transformer language model (GPT-2 shape; Radford et al. 2019): token embedding
// plus learned positions, n_layers pre-LayerNorm blocks (causal multi-head self-attention, GELU
// MLP), a final LayerNorm, an output head, and an optional scalar value head per token (for
// PPO-style RL and RLHF).
//
// The model owns no numbers: its tensors live in a Parameters buffer (one flat buffer, as the MLP's),
// so a frozen reference copy is a second Parameters of the same layout driven by the same model.
// Training runs the model on a tape (build()); sampling runs the KV-cached decoder (sampler.hpp)
// over the same kernels.
//
// Layout of a batch: token ids, positions and a key mask, each int [B, T]. Sequences may be left
// padded (generation: prompts end in the same column) or right padded (teacher forcing); the
// positions count from each sequence's first real token, and padding has key mask 0, so both
// layouts give the same numbers for the real tokens.
#pragma once

#include <string>
#include <vector>

#include "core/autodiff/tape.hpp"
#include "core/nn/parameters.hpp"
#include "core/util/rng.hpp"

namespace pl {

struct TransformerSpec {
  std::string name = "lm";  // tensor-name prefix
  int vocab = 14;           // tokens
  int context = 16;         // maximum sequence length (learned positions)
  int d_model = 64;
  int n_heads = 4;
  int n_layers = 2;
  int d_mlp = 256;
  bool value_head = false;
  float init_std = 0.02f;   // GPT-2's initialisation
  void validate() const;    // throws std::invalid_argument naming the bad field
};

class Transformer {
 public:
  struct Block {
    int ln1_g, ln1_b, qkv_w, qkv_b, proj_w, proj_b, ln2_g, ln2_b, fc_w, fc_b, mlp_proj_w, mlp_proj_b;
  };
  struct Outputs {
    Expr logits;  // [B, T, vocab]
    Expr values;  // [B, T] (value head only)
  };

  Transformer() = default;
  // Declares the model's tensors in `params` (before params.finalize()).
  Transformer(Parameters& params, const TransformerSpec& spec);

  // GPT-2 initialisation: weights N(0, init_std), residual projections N(0, init_std / sqrt(2 L)),
  // biases 0, LayerNorm gains 1.
  void init(Parameters& params, Rng& rng) const;

  // The forward pass on a tape. tokens, positions, key_mask: int [B, T] (T <= context).
  // frozen: no gradients (a reference model).
  Outputs build(Graph& g, Parameters& params, Expr tokens, Expr positions, Expr key_mask, bool frozen = false) const;

  const TransformerSpec& spec() const { return spec_; }
  int wte() const { return wte_; }
  int wpe() const { return wpe_; }
  const std::vector<Block>& blocks() const { return blocks_; }
  int lnf_g() const { return lnf_g_; }
  int lnf_b() const { return lnf_b_; }
  int head() const { return head_; }
  int value_w() const { return value_w_; }
  int value_b() const { return value_b_; }

 private:
  TransformerSpec spec_;
  int wte_ = -1, wpe_ = -1, lnf_g_ = -1, lnf_b_ = -1, head_ = -1, value_w_ = -1, value_b_ = -1;
  std::vector<Block> blocks_;
};

}  // namespace pl
