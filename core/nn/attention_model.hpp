// The Attention Model for routing problems (Kool, van Hoof & Welling 2019, "Attention, Learn to
// Solve Routing Problems!", ICLR; "AM" below), with POMO's decoder context (Kwon et al. 2020,
// "POMO: Policy Optimization with Multiple Optima for Reinforcement Learning", NeurIPS).
//
// Encoder (AM Sec. 3.1): h0_i = W_x x_i + b_x (x_i the node's features: 2-D coordinates for TSP),
// then n_layers layers of
//     h' = Norm(h + MHA(h)),   h = Norm(h' + FF(h')),   FF(x) = W_2 relu(W_1 x + b_1) + b_2
// (MHA: multi-head self-attention over all nodes, no bias in the q/k/v projections). The paper
// uses batch normalisation and POMO instance normalisation; here Norm is layer normalisation over
// the feature axis (Ba et al. 2016), which the tape has and which, like instance norm, does not
// depend on the other instances of the batch (so training and inference see the same numbers).
// Graph embedding: hbar = mean_i h_i (AM Sec. 3.1).
//
// Decoder (AM Sec. 3.2), for a trajectory with first node pi_1 and last node pi_{t-1}:
//   context query   q = W_g hbar + W_f h_{pi_1} + W_l h_{pi_{t-1}}     (AM Eq. 5's W^Q [hbar, h_last,
//                   h_first], written as three projections; POMO's context: first and last node)
//   glimpse         M-head attention of q over k_j = W_K h_j, v_j = W_V h_j, compatibilities
//                   u_j = q_m . k_mj / sqrt(d_k) with visited nodes masked (AM Eq. 6-7), heads
//                   concatenated and projected by W_O: q' = W_O [glimpse heads] (AM Eq. 4)
//   pointer logits  u_j = C tanh(q' . k'_j / sqrt(d)), k'_j = W_K' h_j, C = tanh_clip = 10,
//                   visited nodes masked (AM Eq. 8)
//   policy          p_j = softmax(u)_j (AM Eq. 9), taken as a masked log-softmax.
//
// The first node is given (POMO's multi-start: every node once; or one start node), so a
// trajectory makes T = n - 1 decisions; the last one has a single allowed node (log-prob 0).
//
// Two paths over the same Parameters:
//  - the training pass (build_trajectory_log_probs): the log-probability of whole trajectories in
//    one batched tape pass given their actions — at step t the context depends only on the first
//    node, the previous node and the visited set, all known once the actions are known;
//  - inference (AmPolicy): the encoder on a tape graph (run once per batch of instances), then a
//    step-by-step decoder in plain Eigen that reuses the encoder output (keys, values, projected
//    first/last embeddings) for every step and trajectory. Building a tape graph per decoding step
//    would re-evaluate shapes and buffers for a handful of small products; the loop below is short,
//    allocation-free, and a test checks its per-step log-probs equal the training pass's.
#pragma once

#include <string>
#include <vector>

#include "core/autodiff/tape.hpp"
#include "core/combo/policy_env.hpp"
#include "core/nn/parameters.hpp"
#include "core/util/rng.hpp"

namespace pl {

struct AttentionModelSpec {
  std::string name = "am";  // tensor-name prefix
  int node_dim = 2;         // features per node (TSP: x, y)
  int d_model = 128;        // embedding width d (AM: 128)
  int n_heads = 8;          // attention heads M (AM: 8)
  int n_layers = 3;         // encoder layers N (AM: 3; POMO: 6)
  int d_ff = 512;           // feed-forward hidden width (AM: 512)
  float tanh_clip = 10.0f;  // C of the pointer logits (AM Eq. 8: C = 10)
  // Poppy (Grinsztajn et al. 2023, "Winner Takes It All: Training Performant RL Populations for
  // Combinatorial Optimization", Sec. 4): K agents that share the encoder, each with its own
  // decoder (context projections, glimpse, pointer). 1 = a single policy.
  int population = 1;
  // The problem fixes the decoder's context (core/combo/policy_env.hpp): TSP first + last node,
  // CVRP last node + remaining capacity, knapsack remaining capacity (each + the graph embedding).
  combo::ProblemKind problem = combo::ProblemKind::Tsp;
  bool uses_first() const { return problem == combo::ProblemKind::Tsp; }
  bool uses_last() const { return problem != combo::ProblemKind::Knapsack; }
  bool uses_capacity() const { return problem != combo::ProblemKind::Tsp; }
  void validate() const;    // throws std::invalid_argument naming the bad field
};

// The AM encoder (embedding + n_layers of MHA / FF with norms, above) as its own piece: its
// tensors, initialisation and tape pass, shared by every policy that encodes node features — the
// Attention Model below and the re-encoding policy (core/nn/reencoding_model.hpp), which runs it on
// every decision's state.
struct AmEncoder {
  struct Layer {
    int qkv_w, out_w, ln1_g, ln1_b, ff1_w, ff1_b, ff2_w, ff2_b, ln2_g, ln2_b;
  };
  int node_dim = 2, d_model = 128, n_heads = 8, d_ff = 512;
  int embed_w = -1, embed_b = -1;
  std::vector<Layer> layers;
  // Declares "<prefix>.init_embed.*" and "<prefix>.encoder.<l>.*" in params (in that order).
  void declare(Parameters& params, const std::string& prefix, int node_dim, int d_model, int n_heads, int n_layers,
               int d_ff);
  void init(Parameters& params, Rng& rng) const;  // AM's U(-1/sqrt(fan_in), ..), norms 1 and 0
  // [B, n, node_dim] -> [B, n, d]. key_mask (int [B, n], optional; 0 = hidden): the nodes every
  // attention layer reads (BQ-NCO's remaining sub-problem); a hidden node's own row is still
  // computed but reaches no other node.
  Expr encode(Graph& g, Parameters& params, Expr nodes, Expr key_mask = Expr{}) const;
};

// The AM decoder after its context query (AM Eq. 4 and 6-9, above): M-head glimpse over the node
// embeddings, then tanh-clipped pointer logits and a masked log-softmax. Shared by the Attention
// Model and the re-encoding policy.
struct PointerDecoder {
  int d_model = 128, n_heads = 8;
  float tanh_clip = 10.0f;
  int glimpse_k = -1, glimpse_v = -1, glimpse_out = -1, logit_k = -1;
  // Declares "<prefix>.decoder.<tag>glimpse_key/glimpse_value/glimpse_out/logit_key.weight" (tag:
  // a population's agent, "agent2."; empty for a single policy).
  void declare(Parameters& params, const std::string& prefix, int d_model, int n_heads, float tanh_clip,
               const std::string& tag = "");
  void init(Parameters& params, Rng& rng) const;
  // H: node embeddings [B, n, D]; q: context queries [B, R, D]; mask int [B, R, n] (1 = allowed),
  // for the glimpse and the pointer. Returns the log-probabilities of every node [B, R, n].
  Expr log_probs(Graph& g, Parameters& params, Expr H, Expr q, Expr mask) const;
};

class AttentionModel {
 public:
  using Layer = AmEncoder::Layer;
  // One agent's decoder: its context projections (-1: not used by the problem's context) and pointer.
  struct Decoder {
    int ctx_graph = -1, ctx_first = -1, ctx_last = -1, ctx_cap = -1;
    PointerDecoder pointer;
  };

  AttentionModel() = default;
  // Declares the model's tensors in `params` (before params.finalize()).
  AttentionModel(Parameters& params, const AttentionModelSpec& spec);
  // AM's initialisation: every weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)); norm gains 1,
  // norm biases 0.
  void init(Parameters& params, Rng& rng) const;

  // Encoder on a tape: nodes [B, n, node_dim] -> node embeddings [B, n, d].
  Expr encode(Graph& g, Parameters& params, Expr nodes) const;

  // The inputs of the batched training pass for B instances with S trajectories each of T = n - 1
  // decisions; step t of trajectory s of instance b is row r = s * T + t.
  struct TrajectoryInputs {
    Expr first_node;    // int [B, S]: the trajectory's first node
    Expr last_node;     // int [B, S*T]: the node visited before step t
    Expr mask;          // int [B, S*T, n]: 1 = not yet visited (allowed) at step t
    Expr actions;       // int [B, S*T]: the node taken at step t
    Expr capacity;      // float [B, S*T, 1]: the context's capacity input (CVRP, knapsack)
  };
  // Declares the inputs above as tape leaves (bind them with bind/bind_int); `agent` > 0 names a
  // second set (a population's agents decode different trajectories of the same instances).
  TrajectoryInputs declare_inputs(Graph& g, int B, int S, int n, int agent = 0) const;
  // log pi(action_t | context_t) for every step: [B, S*T]. nodes: [B, n, node_dim].
  Expr step_log_probs(Graph& g, Parameters& params, Expr nodes, const TrajectoryInputs& in, int B, int S, int n) const;
  // The same from node embeddings H = encode(g, params, nodes) built by the caller (who reads them too,
  // e.g. a critic on the graph embedding), with the decoder of agent `agent`.
  Expr step_log_probs_encoded(Graph& g, Parameters& params, Expr H, const TrajectoryInputs& in, int B, int S,
                              int n, int agent = 0) const;

  const AttentionModelSpec& spec() const { return spec_; }
  int embed_w() const { return encoder_.embed_w; }
  int embed_b() const { return encoder_.embed_b; }
  const std::vector<Layer>& layers() const { return encoder_.layers; }
  int population() const { return static_cast<int>(decoders_.size()); }
  const Decoder& decoder(int agent = 0) const { return decoders_.at(static_cast<size_t>(agent)); }
  // The name agent 0's tensor `name` has in agent `agent`'s decoder ("am.decoder.glimpse_key.weight"
  // -> "am.decoder.agent2.glimpse_key.weight"); agent 0's names are a single policy's, so a
  // population can start from a single policy's checkpoint (Poppy's phase 2 clones its decoder).
  static std::string agent_tensor_name(const std::string& name, int agent);
  // The inverse: agent 0's name of any tensor (encoder tensors map to themselves).
  static std::string single_agent_name(const std::string& name);
  // Decisions per trajectory for `nodes` encoder nodes (combo::max_decisions).
  int decisions(int nodes) const { return combo::max_decisions(spec_.problem, combo::problem_size(spec_.problem, nodes)); }

 private:
  AttentionModelSpec spec_;
  AmEncoder encoder_;
  std::vector<Decoder> decoders_;
};

// Host buffers for the training pass's inputs, filled from whole trajectories (a policy's sampled
// ones): B instances x S trajectories of L = T + 1 ints (a TSP tour: its n cities in order).
struct TrajectoryBuffers {
  std::vector<float> capacity;
  std::vector<int32_t> first_node, last_node, mask, actions;
  void bind(Graph& g, const AttentionModel::TrajectoryInputs& in);
  // B x S trajectories of L = T + 1 ints (policy_env.hpp's layout) over `nodes` encoder
  // nodes, replayed through env (set up for S trajectories) to get each step's mask and context.
  void allocate(combo::ProblemKind kind, int B, int S, int nodes);
  void fill(combo::ProblemKind kind, const int* trajectories, const combo::PolicyBatch* batch, combo::TrajectoryEnv& env,
            int B, int S, int nodes);  // no allocation
};

// Inference over one Parameters buffer: encode a batch of instances once, then decode trajectories
// of any instance of the batch. Allocates only in the constructor.
class AmPolicy {
 public:
  // max_instances: instances per encode(); max_n: nodes per instance; max_trajectories: trajectories
  // decoded together per instance (decode() takes at most this many).
  AmPolicy(const AttentionModel& model, Parameters& params, int max_instances, int max_n, int max_trajectories);
  AmPolicy(const AmPolicy&) = delete;
  AmPolicy& operator=(const AmPolicy&) = delete;

  // Encodes `count` instances of n nodes: nodes float [count, n, node_dim], row-major.
  void encode(const float* nodes, int count, int n);
  // Decodes from node embeddings computed elsewhere instead (a training graph's encoder output with
  // the same parameters: the rollout then costs no second encoder pass): [count, n, d_model],
  // row-major, valid until the decodes are done.
  void use_embeddings(const float* embeddings, int count, int n);
  // Decodes S trajectories of instance i (< the encoded count) starting at starts[s]: greedy (the
  // most probable node, the lowest index on ties) or sampled from rng. Writes tours [S, n] and,
  // when step_logp is given, the log-probability of each decision [S, n - 1]. forced: decode these
  // actions instead ([S, n] tours, first node = starts) — scoring given trajectories.
  void decode(int i, int S, const int* starts, bool greedy, Rng* rng, int* tours, float* step_logp = nullptr,
              const int* forced = nullptr);
  // Any problem: encoded row `row` is instance `inst` of batch (nullptr for TSP); trajectories
  // [S, L = T + 1] in policy_env.hpp's layout, step_logp [S, T] (pads: 0). `agent`: whose decoder
  // (a Poppy population's member; 0 for a single policy).
  // `slot` (< slots()): the scratch this call uses; calls on different slots may run at once (on
  // different encoded rows, after encode()).
  void decode(int row, const combo::PolicyBatch* batch, int inst, int S, const int* starts, bool greedy, Rng* rng,
              int* trajectories, float* step_logp = nullptr, const int* forced = nullptr, int agent = 0,
              int slot = 0);
  // Scratch sets: parallel::threads() when the policy was built.
  int slots() const { return static_cast<int>(slots_.size()); }

  int n() const { return n_; }
  int count() const { return count_; }
  int max_instances() const { return max_instances_; }
  int max_n() const { return max_n_; }
  int max_trajectories() const { return max_traj_; }

 private:
  const AttentionModel& model_;
  Parameters& params_;
  int max_instances_, max_n_, max_traj_;
  int n_ = 0, count_ = 0;
  Graph graph_;
  int var_b_ = 0, var_n_ = 0;
  Expr nodes_in_, embeddings_;
  const float* h_ = nullptr;  // the embeddings decode() reads: this graph's or use_embeddings()'
  std::vector<float, Eigen::aligned_allocator<float>> nodes_buf_;
  // A decode's scratch: the instance's projections of the node embeddings (d x n, column j = node
  // j), the step's blocks and the trajectories' environment.
  struct Slot {
    MatrixXf kg, vg, lk, kl, pf, pl, q, compat, glimpse, logits, logp;
    VectorXf hbar, qg;
    std::vector<uint8_t> mask_t;  // a step's masks key-major (node j's row: every trajectory)
    combo::TrajectoryEnv env;
  };
  std::vector<Slot> slots_;
};

}  // namespace pl
