#include "core/nn/attention_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/autodiff/kernels.hpp"
#include "core/util/parallel.hpp"

namespace pl {

void AttentionModelSpec::validate() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("attention model: " + what);
  };
  need(node_dim >= 1, "node_dim must be >= 1, got " + std::to_string(node_dim));
  need(d_model >= 1 && n_heads >= 1 && d_model % n_heads == 0,
       "d_model (" + std::to_string(d_model) + ") must be a multiple of n_heads (" + std::to_string(n_heads) + ")");
  need(n_layers >= 1, "n_layers must be >= 1, got " + std::to_string(n_layers));
  need(d_ff >= 1, "d_ff must be >= 1, got " + std::to_string(d_ff));
  need(tanh_clip > 0, "tanh_clip must be > 0");
  need(population >= 1 && population <= 64, "population must be in [1, 64], got " + std::to_string(population));
  need(combo::policy_supports(problem), std::string("no policy for problem ") + combo::problem_name(problem));
  need(node_dim == combo::policy_node_dim(problem), std::string("node_dim of ") + combo::problem_name(problem) + " must be " +
                                                        std::to_string(combo::policy_node_dim(problem)));
}

namespace {
// A row-major [r, c] tape view is a column-major (c x r) Parameters tensor (as the transformer's).
int declare_matrix(Parameters& p, const std::string& name, int rows, int cols) { return p.declare(name, cols, rows); }
int declare_vector(Parameters& p, const std::string& name, int size) { return p.declare(name, size, 1); }
// AM's code initialises every parameter U(-1/sqrt(fan), 1/sqrt(fan)) with fan = its last
// dimension; here fan = the input width of the layer it belongs to.
void init_uniform(Parameters& p, Rng& rng, int t, int fan_in) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  auto v = p.value(t);
  for (int i = 0; i < v.size(); ++i) v.data()[i] = static_cast<float>(rng.uniform(-bound, bound));
}
}  // namespace

void AmEncoder::declare(Parameters& p, const std::string& n, int node_dim_, int d_model_, int n_heads_, int n_layers,
                        int d_ff_) {
  node_dim = node_dim_;
  d_model = d_model_;
  n_heads = n_heads_;
  d_ff = d_ff_;
  const int D = d_model, F = d_ff;
  embed_w = declare_matrix(p, n + ".init_embed.weight", node_dim, D);
  embed_b = declare_vector(p, n + ".init_embed.bias", D);
  layers.clear();
  for (int l = 0; l < n_layers; ++l) {
    const std::string b = n + ".encoder." + std::to_string(l) + ".";
    Layer L;
    L.qkv_w = declare_matrix(p, b + "attn.qkv.weight", D, 3 * D);
    L.out_w = declare_matrix(p, b + "attn.out.weight", D, D);
    L.ln1_g = declare_vector(p, b + "norm1.weight", D);
    L.ln1_b = declare_vector(p, b + "norm1.bias", D);
    L.ff1_w = declare_matrix(p, b + "ff.0.weight", D, F);
    L.ff1_b = declare_vector(p, b + "ff.0.bias", F);
    L.ff2_w = declare_matrix(p, b + "ff.2.weight", F, D);
    L.ff2_b = declare_vector(p, b + "ff.2.bias", D);
    L.ln2_g = declare_vector(p, b + "norm2.weight", D);
    L.ln2_b = declare_vector(p, b + "norm2.bias", D);
    layers.push_back(L);
  }
}

void AmEncoder::init(Parameters& p, Rng& rng) const {
  const int D = d_model, F = d_ff;
  init_uniform(p, rng, embed_w, node_dim);
  init_uniform(p, rng, embed_b, node_dim);
  for (const Layer& L : layers) {
    init_uniform(p, rng, L.qkv_w, D);
    init_uniform(p, rng, L.out_w, D);
    p.value(L.ln1_g).setConstant(1.0f);
    p.value(L.ln1_b).setConstant(0.0f);
    init_uniform(p, rng, L.ff1_w, D);
    init_uniform(p, rng, L.ff1_b, D);
    init_uniform(p, rng, L.ff2_w, F);
    init_uniform(p, rng, L.ff2_b, F);
    p.value(L.ln2_g).setConstant(1.0f);
    p.value(L.ln2_b).setConstant(0.0f);
  }
}

Expr AmEncoder::encode(Graph& g, Parameters& p, Expr nodes, Expr key_mask) const {
  const int D = d_model, F = d_ff;
  auto P = [&](int t, const Dims& d) { return g.parameter(p, t, d); };
  Expr h = linear(nodes, P(embed_w, {node_dim, D}), P(embed_b, {D}));
  for (const Layer& L : layers) {
    Expr qkv = matmul(h, P(L.qkv_w, {D, 3 * D}));
    Expr a = attention(slice_last(qkv, 0, D), slice_last(qkv, D, D), slice_last(qkv, 2 * D, D), n_heads,
                       /*causal=*/false, key_mask);
    h = layer_norm(h + matmul(a, P(L.out_w, {D, D})), P(L.ln1_g, {D}), P(L.ln1_b, {D}));
    Expr f = linear(relu(linear(h, P(L.ff1_w, {D, F}), P(L.ff1_b, {F}))), P(L.ff2_w, {F, D}), P(L.ff2_b, {D}));
    h = layer_norm(h + f, P(L.ln2_g, {D}), P(L.ln2_b, {D}));
  }
  return h;
}

void PointerDecoder::declare(Parameters& p, const std::string& n, int d_model_, int n_heads_, float tanh_clip_,
                             const std::string& tag) {
  d_model = d_model_;
  n_heads = n_heads_;
  tanh_clip = tanh_clip_;
  const int D = d_model;
  glimpse_k = declare_matrix(p, n + ".decoder." + tag + "glimpse_key.weight", D, D);
  glimpse_v = declare_matrix(p, n + ".decoder." + tag + "glimpse_value.weight", D, D);
  glimpse_out = declare_matrix(p, n + ".decoder." + tag + "glimpse_out.weight", D, D);
  logit_k = declare_matrix(p, n + ".decoder." + tag + "logit_key.weight", D, D);
}

void PointerDecoder::init(Parameters& p, Rng& rng) const {
  for (int t : {glimpse_k, glimpse_v, glimpse_out, logit_k}) init_uniform(p, rng, t, d_model);
}

Expr PointerDecoder::log_probs(Graph& g, Parameters& p, Expr H, Expr q, Expr mask) const {
  const int D = d_model;
  auto P = [&](int t) { return g.parameter(p, t, {D, D}); };
  // Glimpse (AM Eq. 6-7 and 4): M heads of attention over the nodes still allowed (the action mask
  // per query), scaled by 1/sqrt(D/M), then W_O.
  Expr heads = attention(q, matmul(H, P(glimpse_k)), matmul(H, P(glimpse_v)), n_heads, /*causal=*/false, mask);
  // Pointer logits with tanh clipping (AM Eq. 8) and the masked log-softmax (AM Eq. 9). The compatibility
  // of the glimpse g = heads W_O with node j's key k_j = h_j W_K, g . k_j / sqrt(D), is computed as
  // heads . (h_j W_K W_O^T / sqrt(D)): W_O and the scale go into the nodes' keys (n rows per instance)
  // instead of every query row (R = trajectories x steps rows); the same products in another order,
  // a quarter of the decoder's arithmetic saved.
  Expr keys = matmul(H, matmul(P(logit_k), P(glimpse_out), /*transpose_w=*/true) *
                            (1.0f / std::sqrt(static_cast<float>(D))));  // [B, n, D]
  Expr u = batch_matmul(heads, keys, false, true);
  Expr logits = tanh(u) * tanh_clip;  // [B, R, n]
  return log_softmax(logits, mask);
}

AttentionModel::AttentionModel(Parameters& p, const AttentionModelSpec& spec) : spec_(spec) {
  spec.validate();
  const int D = spec.d_model;
  const std::string& n = spec.name;
  encoder_.declare(p, n, spec.node_dim, D, spec.n_heads, spec.n_layers, spec.d_ff);
  auto matrix = [&](const std::string& name, int rows, int cols) { return declare_matrix(p, n + "." + name, rows, cols); };
  for (int k = 0; k < spec.population; ++k) {
    const std::string tag = k == 0 ? "" : "agent" + std::to_string(k) + ".";
    Decoder d;
    d.ctx_graph = matrix("decoder." + tag + "context_graph.weight", D, D);
    // TSP's tensors keep their names and order, so its checkpoints load unchanged.
    if (spec.uses_first()) d.ctx_first = matrix("decoder." + tag + "context_first.weight", D, D);
    if (spec.uses_last()) d.ctx_last = matrix("decoder." + tag + "context_last.weight", D, D);
    if (spec.uses_capacity()) d.ctx_cap = matrix("decoder." + tag + "context_capacity.weight", 1, D);
    d.pointer.declare(p, n, D, spec.n_heads, spec.tanh_clip, tag);
    decoders_.push_back(d);
  }
}

namespace {
const std::string kDecoderPrefix = "decoder.";
const std::string kAgentTag = "agent";
}  // namespace

std::string AttentionModel::agent_tensor_name(const std::string& name, int agent) {
  const size_t at = name.find(kDecoderPrefix);
  if (agent == 0 || at == std::string::npos) return name;
  const size_t cut = at + kDecoderPrefix.size();
  return name.substr(0, cut) + kAgentTag + std::to_string(agent) + "." + name.substr(cut);
}

std::string AttentionModel::single_agent_name(const std::string& name) {
  const size_t at = name.find(kDecoderPrefix + kAgentTag);
  if (at == std::string::npos) return name;
  const size_t digits = at + kDecoderPrefix.size() + kAgentTag.size();
  size_t end = digits;
  while (end < name.size() && name[end] >= '0' && name[end] <= '9') ++end;
  if (end == digits || end >= name.size() || name[end] != '.') return name;
  return name.substr(0, at + kDecoderPrefix.size()) + name.substr(end + 1);
}

void AttentionModel::init(Parameters& p, Rng& rng) const {
  // The draw order of the original single loop: encoder, context, pointer, capacity.
  const int D = spec_.d_model;
  encoder_.init(p, rng);
  for (const Decoder& d : decoders_) {
    for (int t : {d.ctx_graph, d.ctx_first, d.ctx_last})
      if (t >= 0) init_uniform(p, rng, t, D);
    d.pointer.init(p, rng);
    if (d.ctx_cap >= 0) init_uniform(p, rng, d.ctx_cap, 1);
  }
}

Expr AttentionModel::encode(Graph& g, Parameters& p, Expr nodes) const { return encoder_.encode(g, p, nodes); }

AttentionModel::TrajectoryInputs AttentionModel::declare_inputs(Graph& g, int B, int S, int n, int agent) const {
  const int T = decisions(n);
  // Inputs are found by name: each agent's set has its own.
  const std::string tag = agent == 0 ? "" : "_agent" + std::to_string(agent);
  TrajectoryInputs in;
  if (spec_.uses_first()) in.first_node = g.int_input("first_node" + tag, {B, S});
  if (spec_.uses_last()) in.last_node = g.int_input("last_node" + tag, {B, S * T});
  if (spec_.uses_capacity()) in.capacity = g.input("capacity" + tag, {B, S * T, 1});
  in.mask = g.int_input("mask" + tag, {B, S * T, n});
  in.actions = g.int_input("actions" + tag, {B, S * T});
  return in;
}

Expr AttentionModel::step_log_probs(Graph& g, Parameters& p, Expr nodes, const TrajectoryInputs& in, int B, int S,
                                    int n) const {
  return step_log_probs_encoded(g, p, encode(g, p, nodes), in, B, S, n);
}

Expr AttentionModel::step_log_probs_encoded(Graph& g, Parameters& p, Expr H, const TrajectoryInputs& in, int B, int S,
                                            int n, int agent) const {
  const int D = spec_.d_model, T = decisions(n), R = S * T;
  const Decoder& dec = decoder(agent);
  auto P = [&](int t) { return g.parameter(p, t, {D, D}); };
  Expr hbar = mean(H, 1);                                         // [B, D], AM's graph embedding
  // Context query (AM Eq. 5, POMO's first/last nodes), one row per step.
  // The parts shared by a trajectory's steps (the graph's, the first node's) are summed at one row
  // per trajectory, then broadcast over the steps once.
  Expr q_traj = reshape(matmul(hbar, P(dec.ctx_graph)), {B, 1, 1, D});
  // CVRP: AM App. C.1's [hbar, h_last, D_t]; knapsack: POMO's graph embedding + capacity.
  Expr q_steps;
  // The first and last nodes' rows of H W are picked from the instance's own table (an index, not
  // a one-hot product).
  if (spec_.uses_last()) q_steps = reshape(embedding(matmul(H, P(dec.ctx_last)), in.last_node), {B, S, T, D});
  if (spec_.uses_capacity()) {
    Expr q_cap = reshape(matmul(in.capacity, g.parameter(p, dec.ctx_cap, {1, D})), {B, S, T, D});
    q_steps = q_steps.valid() ? q_steps + q_cap : q_cap;
  }
  if (spec_.uses_first()) q_traj = reshape(embedding(matmul(H, P(dec.ctx_first)), in.first_node), {B, S, 1, D}) + q_traj;
  Expr q = reshape(q_steps + q_traj, {B, R, D});
  return gather_last(dec.pointer.log_probs(g, p, H, q, in.mask), in.actions);  // [B, R]
}

void TrajectoryBuffers::allocate(combo::ProblemKind kind, int B, int S, int nodes) {
  const int T = combo::max_decisions(kind, combo::problem_size(kind, nodes));
  const size_t rows = static_cast<size_t>(B) * S * T;
  first_node.assign(static_cast<size_t>(B) * S, 0);
  last_node.assign(rows, 0);
  capacity.assign(rows, 0.0f);
  mask.assign(rows * nodes, 0);
  actions.assign(rows, 0);
}

void TrajectoryBuffers::fill(combo::ProblemKind kind, const int* trajs, const combo::PolicyBatch* batch,
                             combo::TrajectoryEnv& env, int B, int S, int n) {
  const int T = combo::max_decisions(kind, combo::problem_size(kind, n)), L = T + 1;
  for (int b = 0; b < B; ++b) {
    const int* traj = trajs + static_cast<size_t>(b) * S * L;
    // The starts are every trajectory's first int (stride L): replay the S trajectories together.
    int* starts = &actions[static_cast<size_t>(b) * S * T];  // scratch: read by reset, overwritten below
    for (int s = 0; s < S; ++s) starts[s] = traj[static_cast<size_t>(s) * L];
    env.reset(batch, b, n, S, starts);
    for (int s = 0; s < S; ++s) first_node[static_cast<size_t>(b) * S + s] = traj[static_cast<size_t>(s) * L];
    for (int t = 0; t < T; ++t)
      for (int s = 0; s < S; ++s) {
        const size_t row = static_cast<size_t>(b) * S * T + static_cast<size_t>(s) * T + t;
        const uint8_t* m = env.mask(s);
        for (int j = 0; j < n; ++j) mask[row * n + j] = m[j];
        last_node[row] = env.last(s);
        capacity[row] = env.capacity_feature(s);
        const int a = traj[static_cast<size_t>(s) * L + t + 1];
        env.step(s, a);
        actions[row] = a;
      }
  }
}

void TrajectoryBuffers::bind(Graph& g, const AttentionModel::TrajectoryInputs& in) {
  if (in.first_node.valid()) g.bind_int(in.first_node, first_node.data());
  if (in.last_node.valid()) g.bind_int(in.last_node, last_node.data());
  if (in.capacity.valid()) g.bind(in.capacity, capacity.data());
  g.bind_int(in.mask, mask.data());
  g.bind_int(in.actions, actions.data());
}

// ---------------------------------------------------------------------------------------------
// Inference

AmPolicy::AmPolicy(const AttentionModel& model, Parameters& params, int max_instances, int max_n,
                   int max_trajectories)
    : model_(model), params_(params), max_instances_(max_instances), max_n_(max_n), max_traj_(max_trajectories) {
  if (max_instances < 1 || max_n < 2 || max_trajectories < 1)
    throw std::invalid_argument("AmPolicy: capacities must be >= 1 (n >= 2)");
  const AttentionModelSpec& s = model.spec();
  var_b_ = graph_.size_var("instances", max_instances);
  var_n_ = graph_.size_var("nodes", max_n);
  nodes_in_ = graph_.input("nodes", {graph_.dim(var_b_), graph_.dim(var_n_), s.node_dim});
  nodes_buf_.assign(static_cast<size_t>(max_instances) * max_n * s.node_dim, 0.0f);
  graph_.bind(nodes_in_, nodes_buf_.data());
  embeddings_ = model.encode(graph_, params, nodes_in_);
  const int D = s.d_model;
  slots_.resize(static_cast<size_t>(std::max(1, parallel::threads())));
  for (Slot& w : slots_) {
    for (MatrixXf* m : {&w.kg, &w.vg, &w.lk, &w.kl, &w.pf, &w.pl}) m->setZero(D, max_n);
    for (MatrixXf* m : {&w.q, &w.glimpse}) m->setZero(D, max_trajectories);
    for (MatrixXf* m : {&w.compat, &w.logits, &w.logp}) m->setZero(max_n, max_trajectories);
    w.hbar.setZero(D);
    w.qg.setZero(D);
    w.mask_t.assign(static_cast<size_t>(max_n) * max_trajectories, 0);
    w.env.setup(s.problem, max_n, max_trajectories);
  }
}

void AmPolicy::encode(const float* nodes, int count, int n) {
  if (count < 1 || count > max_instances_ || n < 2 || n > max_n_)
    throw std::invalid_argument("AmPolicy::encode: " + std::to_string(count) + " instances of " + std::to_string(n) +
                                " nodes exceed the capacity (" + std::to_string(max_instances_) + " of " +
                                std::to_string(max_n_) + ")");
  const size_t size = static_cast<size_t>(count) * n * model_.spec().node_dim;
  std::copy(nodes, nodes + size, nodes_buf_.begin());
  graph_.set_size(var_b_, count);
  graph_.set_size(var_n_, n);
  graph_.forward(embeddings_);
  h_ = graph_.values(embeddings_);
  count_ = count;
  n_ = n;
}

void AmPolicy::use_embeddings(const float* embeddings, int count, int n) {
  if (!embeddings || count < 1 || count > max_instances_ || n < 2 || n > max_n_)
    throw std::invalid_argument("AmPolicy::use_embeddings: " + std::to_string(count) + " instances of " +
                                std::to_string(n) + " nodes exceed the capacity (" + std::to_string(max_instances_) +
                                " of " + std::to_string(max_n_) + ")");
  h_ = embeddings;
  count_ = count;
  n_ = n;
}

void AmPolicy::decode(int i, int S, const int* starts, bool greedy, Rng* rng, int* tours, float* step_logp,
                      const int* forced) {
  decode(i, nullptr, i, S, starts, greedy, rng, tours, step_logp, forced);
}

void AmPolicy::decode(int i, const combo::PolicyBatch* batch, int inst, int S, const int* starts, bool greedy, Rng* rng,
                      int* tours, float* step_logp, const int* forced, int agent, int slot) {
  if (i < 0 || i >= count_) throw std::invalid_argument("AmPolicy::decode: instance out of range");
  if (S < 1 || S > max_traj_) throw std::invalid_argument("AmPolicy::decode: trajectories out of range");
  if (!greedy && !forced && !rng) throw std::invalid_argument("AmPolicy::decode: sampling needs an rng");
  if (agent < 0 || agent >= model_.population()) throw std::invalid_argument("AmPolicy::decode: agent out of range");
  if (slot < 0 || slot >= slots()) throw std::invalid_argument("AmPolicy::decode: scratch slot out of range");
  Slot& w = slots_[static_cast<size_t>(slot)];
  const AttentionModelSpec& s = model_.spec();
  const AttentionModel::Decoder& dec = model_.decoder(agent);
  const int n = n_, D = s.d_model, M = s.n_heads, dk = D / M;
  const int T = model_.decisions(n), L = T + 1;
  // The encoder output of instance i: row-major [n, D] is column-major D x n (column j = node j).
  const float* h = h_ + static_cast<size_t>(i) * n * D;
  Eigen::Map<const MatrixXf> H(h, D, n);
  const Parameters& p = params_;
  auto kg = w.kg.leftCols(n), vg = w.vg.leftCols(n), kl = w.kl.leftCols(n), pf = w.pf.leftCols(n), pl = w.pl.leftCols(n);
  kg.noalias() = p.value(dec.pointer.glimpse_k) * H;
  vg.noalias() = p.value(dec.pointer.glimpse_v) * H;
  // The logit keys with W_O folded in (PointerDecoder::log_probs): column j = (h_j W_K W_O^T)^T / sqrt(D).
  auto lk = w.lk.leftCols(n);
  lk.noalias() = p.value(dec.pointer.logit_k) * H;
  kl.noalias() = p.value(dec.pointer.glimpse_out).transpose() * lk;
  kl *= 1.0f / std::sqrt(static_cast<float>(D));  // and AM's 1/sqrt(D)
  if (s.uses_first()) pf.noalias() = p.value(dec.ctx_first) * H;
  if (s.uses_last()) pl.noalias() = p.value(dec.ctx_last) * H;
  w.hbar = H.rowwise().sum() / static_cast<float>(n);
  w.qg.noalias() = p.value(dec.ctx_graph) * w.hbar;
  const float inv_sqrt_dk = 1.0f / std::sqrt(static_cast<float>(dk));
  const float C = s.tanh_clip;

  try {
    w.env.reset(batch, inst, n, S, starts);
  } catch (const combo::ComboError& e) {
    throw std::invalid_argument(std::string("AmPolicy::decode: ") + e.what());
  }
  for (int t = 0; t < S; ++t) tours[static_cast<size_t>(t) * L] = starts[t];
  auto q = w.q.leftCols(S), glimpse = w.glimpse.leftCols(S);
  // Contiguous blocks, so the exponentials and the tanh run over whole rows or blocks as Eigen
  // array expressions, as the tape's ops do: the glimpse's scores key-major (S x n, column j = node
  // j's score in every trajectory: kernels::softmax_keys, as the training pass's attention), the
  // pointer's n x S (column t: trajectory t; kernels::log_softmax_rows).
  Eigen::Map<MatrixXf> compat_t(w.compat.data(), S, n), logits(w.logits.data(), n, S), logp(w.logp.data(), n, S);
  const auto mask_of = [&w](int t) { return w.env.mask(t); };
  const auto hide = [&w, S](int j, float* row, int c0, int width, float fill) {
    const uint8_t* m = w.mask_t.data() + static_cast<size_t>(j) * S + c0;
    for (int i = 0; i < width; ++i) row[i] = m[i] ? row[i] : fill;
  };
  for (int step = 0; step < T; ++step) {
    for (int t = 0; t < S; ++t) {
      q.col(t) = w.qg;
      if (s.uses_first()) q.col(t) += pf.col(w.env.first(t));
      if (s.uses_last()) q.col(t) += pl.col(w.env.last(t));
      if (s.uses_capacity()) q.col(t) += p.value(dec.ctx_cap).col(0) * w.env.capacity_feature(t);
      const uint8_t* m = w.env.mask(t);
      for (int j = 0; j < n; ++j) w.mask_t[static_cast<size_t>(j) * S + t] = m[j];
    }
    for (int m = 0; m < M; ++m) {
      compat_t.noalias() = q.middleRows(m * dk, dk).transpose() * kg.middleRows(m * dk, dk);
      // The glimpse weights, by the training pass's attention softmax.
      kernels::softmax_keys(compat_t.data(), n, S, inv_sqrt_dk, hide);
      glimpse.middleRows(m * dk, dk).noalias() = vg.middleRows(m * dk, dk) * compat_t.transpose();
    }
    logits.noalias() = kl.transpose() * glimpse;
    logits.array() = logits.array().tanh() * C;
    kernels::log_softmax_rows(logits.data(), mask_of, logp.data(), S, n);
    // The probabilities, for the inverse-CDF draw (masked entries hold e^kExpFloor: skipped there).
    if (!greedy && !forced) logits.array() = logp.array().max(kernels::kExpFloor).exp();
    for (int t = 0; t < S; ++t) {
      const float* u = logp.col(t).data();
      const float* prob = logits.col(t).data();
      const uint8_t* allowed = w.env.mask(t);
      int a = -1;
      if (forced) {
        a = forced[static_cast<size_t>(t) * L + step + 1];
        if (a < 0 || a >= n || !allowed[a]) throw std::invalid_argument("AmPolicy::decode: forced action is not allowed");
      } else if (greedy) {
        for (int j = 0; j < n; ++j)
          if (allowed[j] && (a < 0 || u[j] > u[a])) a = j;
      } else {
        // Inverse-CDF draw over the allowed nodes; the last allowed node takes the rounding rest.
        const double r = rng->uniform();
        double acc = 0;
        for (int j = 0; j < n; ++j) {
          if (!allowed[j]) continue;
          a = j;
          acc += prob[j];
          if (r < acc) break;
        }
      }
      tours[static_cast<size_t>(t) * L + step + 1] = a;
      if (step_logp) step_logp[static_cast<size_t>(t) * T + step] = u[a];
      w.env.step(t, a);
    }
  }
}

}  // namespace pl
