// A pointer policy that re-encodes the state at every decision: for problems whose state changes
// the nodes themselves (job-shop: each job's next operation, its ready time, its machine's
// availability), an encoding computed once per instance (the Attention Model,
// core/nn/attention_model.hpp) goes stale after the first step. Drakulic et al. 2023 ("BQ-NCO:
// Bisimulation Quotienting for Efficient Neural Combinatorial Optimization", NeurIPS, Sec. 4)
// re-encode the remaining sub-problem at every step; here every decision is a row of node features
// [nodes, node_dim] with a mask, computed by the problem from its state (job-shop:
// core/combo/jobshop_policy.hpp; 1-D bin packing would give nodes = the open bins + a new bin).
//
// Per decision row (one state):
//   H = AmEncoder(x)                       the AM encoder on the row's nodes (Kool et al. 2019,
//                                          Sec. 3.1: embedding, MHA + FF layers with norms)
//   hbar = mean_j H_j                      graph embedding (AM Sec. 3.1)
// With a sub-problem mask k (a row's nodes of the remaining sub-problem, BQ-NCO Sec. 4: for TSP the
// unvisited cities, the current city and the destination), every attention layer reads only the
// nodes with k_j = 1 and hbar = sum_j k_j H_j / sum_j k_j: the encoding of the sub-problem does not
// depend on the nodes outside it, which is BQ-NCO's quotienting of the state. Problems whose nodes
// are all part of the state (job-shop, bin packing) declare no mask.
//   q = W_g hbar                           the context query: the state lives in the node
//                                          features, so the graph embedding is the whole context
//   log p(. | state) = PointerDecoder(H, q, mask)   glimpse + tanh-clipped pointer + masked
//                                          log-softmax (AM Eq. 4, 6-9; C = tanh_clip)
// Rows are independent, so one tape pass scores any set of recorded decisions (a whole batch of
// trajectories, in chunks for training) and the same pass with a size variable decodes (every
// trajectory's current state as one row): training and inference run the same ops.
#pragma once

#include <string>

#include "core/autodiff/tape.hpp"
#include "core/nn/attention_model.hpp"
#include "core/nn/parameters.hpp"
#include "core/util/rng.hpp"

namespace pl {

struct ReencodingSpec {
  std::string name = "reenc";  // tensor-name prefix
  int node_dim = 1;
  int d_model = 64;
  int n_heads = 4;
  int n_layers = 2;
  int d_ff = 128;
  float tanh_clip = 10.0f;
  void validate() const;  // std::invalid_argument naming the bad field
};

class ReencodingModel {
 public:
  ReencodingModel() = default;
  ReencodingModel(Parameters& params, const ReencodingSpec& spec);  // declares (before finalize())
  void init(Parameters& params, Rng& rng) const;

  // The inputs of a scoring pass over R decision rows of n nodes (R and n fixed or size variables).
  struct Inputs {
    Expr nodes;         // float [R, n, node_dim]
    Expr mask;          // int [R, 1, n]: 1 = allowed
    Expr key_mask;      // int [R, n]: the sub-problem's nodes (declared with subproblem only)
    Expr key_weight;    // float [R, 1, n]: key_mask / its row sum (the graph embedding's weights)
  };
  Inputs declare_inputs(Graph& g, Dim R, Dim n, bool subproblem = false) const;
  // log p(node | row's state) for every node: [R, n] (masked nodes: kMaskedLogProb).
  Expr log_probs(Graph& g, Parameters& params, const Inputs& in, Dim R, Dim n) const;

  const ReencodingSpec& spec() const { return spec_; }
  const AmEncoder& encoder() const { return encoder_; }

 private:
  ReencodingSpec spec_;
  AmEncoder encoder_;
  PointerDecoder pointer_;
  int ctx_graph_ = -1;
};

}  // namespace pl
