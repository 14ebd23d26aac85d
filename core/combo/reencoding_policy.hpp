// The problem-agnostic half of a re-encoding policy (issue #9): rolling out many trajectories of
// a problem whose state is re-encoded at every decision (Drakulic et al. 2023, "BQ-NCO", NeurIPS,
// Sec. 4), every trajectory one row of one tape pass of core/nn/reencoding_model.hpp per decision,
// recording the decisions, and scoring recorded decisions for REINFORCE in chunks of the same pass.
// A problem plugs in through a ReencodingProblem adapter: its rows (one state per trajectory), the
// node features and mask of a row's state, a step, and the objective. Job-shop dispatching
// (jobshop_policy.hpp), online bin packing (binpack_policy.hpp) and TSP / CVRP with BQ-NCO's
// sub-problem (routing_policy.hpp) are the adapters today.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/autodiff/tape.hpp"
#include "core/nn/reencoding_model.hpp"
#include "core/util/rng.hpp"

namespace pl::combo {

// A problem as the re-encoding policy sees it. The rows are loaded from the adapter's current
// source (set by the adapter's owner) and never allocate after the adapter's construction.
class ReencodingProblem {
 public:
  virtual ~ReencodingProblem() = default;
  virtual int node_dim() const = 0;
  // Row r of the next rollout solves instance inst[r] of the current source; rows <= capacity.
  virtual void load(const int* inst, int rows) = 0;
  virtual int nodes() const = 0;          // nodes per row of the loaded rows (one size for all)
  virtual int max_decisions() const = 0;  // an upper bound of any row's decisions
  virtual bool done(int r) const = 0;
  // Row r's node mask (1 = allowed) into out [nodes]; returns the number allowed (>= 1 unless done).
  virtual int mask(int r, int32_t* out) = 0;
  // Row r's node features into out [nodes, node_dim] (called after mask(r) for the same state).
  virtual void features(int r, float* out) = 0;
  // BQ-NCO's sub-problem (reencoding_model.hpp): a problem whose encoder reads only some of a row's
  // nodes (TSP: the unvisited cities, the current one and the destination) says so here and writes
  // row r's encoder mask (1 = in the sub-problem; at least one) after features(r). Job-shop and bin
  // packing encode every node.
  virtual bool masks_encoder() const { return false; }
  virtual void encoder_mask(int /*r*/, int32_t* /*out*/) {}
  // Takes node `node` (allowed by the last mask(r)) in row r's state.
  virtual void step(int r, int node) = 0;
  virtual double objective(int r) const = 0;  // the row's objective once done
};

// Decisions recorded during a rollout for the training pass: only decisions with at least two
// allowed nodes (a single allowed node has log-prob 0 and no gradient).
struct DecisionRecord {
  int nodes = 0, node_dim = 0, count = 0, capacity = 0;
  std::vector<float> features;    // [capacity, nodes, node_dim]
  std::vector<int32_t> mask;      // [capacity, nodes]
  std::vector<int32_t> key_mask;  // [capacity, nodes] the encoder's mask (problems that mask it), else empty
  std::vector<int32_t> actions;   // [capacity]: the node taken
  std::vector<int32_t> row;       // [capacity]: the trajectory (rollout row) of the decision
  std::vector<float> logp;        // [capacity]: the rollout's log-prob of the action
  // Allocates (key_mask: room for the encoder's masks); clear() and the rollout do not.
  void allocate(int nodes, int node_dim, int capacity, bool key_mask = false);
  void clear() { count = 0; }
};

// Rolls out trajectories with a re-encoding policy over a problem adapter; the same graph scores
// recorded decisions for REINFORCE. Allocates only in its constructor.
class ReencodingPolicy {
 public:
  // max_rows: trajectories rolled out together and decisions scored per training chunk;
  // max_nodes: the most nodes a row of `problem` has.
  ReencodingPolicy(const ReencodingModel& model, Parameters& params, ReencodingProblem& problem, int max_rows,
                   int max_nodes);
  ReencodingPolicy(const ReencodingPolicy&) = delete;
  ReencodingPolicy& operator=(const ReencodingPolicy&) = delete;

  // Rolls out `rows` trajectories: row r solves instance inst[r] of the problem's source; starts
  // (if given) with starts[r] >= 0 forces row r's first node (POMO's multi-start), -1 lets the
  // policy choose; greedy (argmax, lowest index on ties) or sampled from rng. Writes each row's
  // objective; record (if given) receives the decisions. Rows that are done wait for the others.
  void rollout(const int* inst, int rows, const int* starts, bool greedy, Rng* rng, double* objectives,
               DecisionRecord* record = nullptr);

  // REINFORCE over recorded decisions [first, first + count) (count <= max_rows): adds the gradient
  // of  -scale * sum_d adv[row(d)] * log p(action_d | state_d)  to params' gradients and returns
  // that loss; logp_out (if given) receives each decision's log-prob.
  double accumulate(const DecisionRecord& record, int first, int count, const float* adv, float scale,
                    float* logp_out = nullptr);

  int max_rows() const { return max_rows_; }
  int max_nodes() const { return max_nodes_; }
  ReencodingProblem& problem() { return problem_; }
  Formula formula() const { return graph_.formula(loss_); }  // the REINFORCE loss as printed

 private:
  void load_rows(int rows, int nodes);
  const ReencodingModel& model_;
  ReencodingProblem& problem_;
  int max_rows_, max_nodes_, F_;
  bool subproblem_;  // problem_.masks_encoder()
  Graph graph_;
  int var_rows_ = 0, var_nodes_ = 0;
  ReencodingModel::Inputs in_;
  Expr logp_, actions_, adv_, step_logp_, loss_;
  std::vector<float, Eigen::aligned_allocator<float>> nodes_buf_, adv_buf_, key_weight_buf_;
  std::vector<int32_t> mask_buf_, key_mask_buf_, actions_buf_;
  std::vector<int> allowed_;
};

// Decodes `per` trajectories of each of instances [0, count) of the problem's current source in
// chunks of the policy's rows (row = instance i, trajectory s in order); start(i, s) is trajectory
// s's forced first node (-1: the policy chooses). best[i] receives instance i's best objective (the
// least, or the greatest with maximize); keep(r, i) is called, right after its chunk, for every row r
// that improves on instance i's best so far (copy the solution from the adapter's state then).
// Allocates (for solvers, not for training loops).
void decode_best(ReencodingPolicy& policy, int count, int per, bool greedy, bool maximize, Rng& rng,
                 const std::function<int(int, int)>& start, const std::function<void(int, int)>& keep, double* best);
// Calls fn(first, last) for each maximal run [first, last) of consecutive items with same(a, b)
// (instances of one size decode as one batch).
template <typename T, typename Same, typename Fn>
void for_each_run(const std::vector<T>& items, Same same, Fn fn) {
  size_t first = 0;
  while (first < items.size()) {
    size_t last = first + 1;
    while (last < items.size() && same(items[first], items[last])) ++last;
    fn(first, last);
    first = last;
  }
}

// A ReencodingPolicy together with the adapter it drives (a Problem with set_source(const Batch&)
// and a constructor taking (max_rows, capacities...)): the form the runs and solvers use.
template <typename Problem, typename Batch>
class SourcedPolicy {
 public:
  template <typename... Capacities>
  SourcedPolicy(const ReencodingModel& model, Parameters& params, int max_rows, int max_nodes, Capacities... caps)
      : problem_(max_rows, caps...), policy_(model, params, problem_, max_rows, max_nodes) {}
  SourcedPolicy(const SourcedPolicy&) = delete;
  SourcedPolicy& operator=(const SourcedPolicy&) = delete;
  // ReencodingPolicy::rollout of instances of `source`.
  void rollout(const Batch& source, const int* inst, int rows, const int* starts, bool greedy, Rng* rng,
               double* objectives, DecisionRecord* record = nullptr) {
    problem_.set_source(source);
    policy_.rollout(inst, rows, starts, greedy, rng, objectives, record);
  }
  // ReencodingPolicy::accumulate.
  double accumulate(const DecisionRecord& record, int first, int count, const float* adv, float scale,
                    float* logp_out = nullptr) {
    return policy_.accumulate(record, first, count, adv, scale, logp_out);
  }
  int max_rows() const { return policy_.max_rows(); }
  Formula formula() const { return policy_.formula(); }
  ReencodingPolicy& policy() { return policy_; }
  Problem& problem() { return problem_; }
  const Problem& problem() const { return problem_; }

 protected:
  Problem problem_;
  ReencodingPolicy policy_;
};

}  // namespace pl::combo
