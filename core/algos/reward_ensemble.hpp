// Learned rewards on the tiny transformer (issue 8, section 3): a Bradley–Terry reward model is the
// transformer with a scalar head read at the last token of prompt + completion (the EOS when the
// completion has one), as TRL's RewardTrainer reads AutoModelForSequenceClassification's score at
// the last non-padding token; an ensemble is K such models in one flat parameter buffer, whose
// rewards are aggregated as in Coste et al. 2023, "Reward Model Ensembles Help Mitigate
// Overoptimization" (ICLR 2024), sec. 3.
//
// Shared by the reward-model trainer (reward_model.cpp), which trains the members, and the
// group-relative trainer (grpo.cpp), which optimizes a policy against a trained ensemble.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/algos/sequence.hpp"

namespace pl {

enum class EnsembleAggregation { Mean, WorstCase, Uncertainty };
// "mean" | "worst_case" | "uncertainty" (ConfigError naming `field` otherwise).
EnsembleAggregation parse_ensemble_aggregation(const std::string& name, const std::string& field);
const std::vector<std::string>& ensemble_aggregation_names();

// The aggregated reward of one completion from its K member rewards r[0..K) (Coste et al. 2023,
// sec. 3):
//   mean:         R = (1/K) sum_k r_k
//   worst_case:   R = min_k r_k                                   (WCO, their eq. 2)
//   uncertainty:  R = (1/K) sum_k r_k - lambda * (1/K) sum_k (r_k - mean)^2   (UWO, their eq. 3:
//                 the intra-ensemble variance, population form, weighted by lambda)
double aggregate_rewards(const float* r, int K, EnsembleAggregation a, double lambda);
// The members' spread: the population standard deviation of r[0..K) (0 for K = 1).
double ensemble_std(const float* r, int K);

// K reward models in one flat buffer: member k is a Transformer named "rm<k>" with a value head
// (the scalar reward head, TransformerSpec::value_head); its tensors are the policy's ("lm.*")
// followed by value_head.weight and value_head.bias.
class RewardEnsemble {
 public:
  RewardEnsemble(const TransformerSpec& policy_spec, int members);
  int members() const { return static_cast<int>(models_.size()); }
  const Transformer& member(int k) const { return models_[static_cast<size_t>(k)]; }
  Parameters& params() { return params_; }
  const Parameters& params() const { return params_; }
  // The flat-buffer range [begin, end) of member k's tensors (contiguous).
  int member_begin(int k) const { return ranges_[static_cast<size_t>(k)].first; }
  int member_end(int k) const { return ranges_[static_cast<size_t>(k)].second; }
  // Member k's trunk (every tensor but the value head) := the policy's weights (same spec); its
  // value head := N(0, init_std) from rng, bias 0.
  void init_member_from(int k, const Parameters& policy, Rng& head_rng);

 private:
  Parameters params_;
  std::vector<Transformer> models_;
  std::vector<std::pair<int, int>> ranges_;
};

// Rows of prompt + completion token sequences (right padded) through reward models on one tape:
// the reward of row i under a member is the value head at the row's last real token,
//   r(x, y) = sum_t v_t * last_t    (last: 1 at position |x| + |y| - 1, else 0)
// so no gather op is needed and the gradient reaches the head and the trunk through that position only.
struct RewardRows {
  Graph graph;
  TokenBatch batch;
  Expr last;
  std::vector<float> last_mask;
  int time_capacity = 1;

  // rows sequences of at most `time` tokens.
  void declare(int rows, int time);
  // The reward expression [rows] of member k of `e` (frozen: no gradient).
  Expr add_member(RewardEnsemble& e, int k, bool frozen);
  // Lays out row r (prompt, then completion; the active time size is `time`).
  void set_row(int r, int time, const int32_t* prompt, int prompt_length, const int32_t* completion, int completion_length);
  template <typename I>
  void set_row(int r, int time, const std::vector<I>& prompt, const std::vector<I>& completion) {
    const int P = static_cast<int>(prompt.size()), L = static_cast<int>(completion.size());
    for (int t = 0; t < time; ++t) {
      const bool real = t < P + L;
      const int32_t token = !real ? Vocabulary::kPad : static_cast<int32_t>(t < P ? prompt[static_cast<size_t>(t)]
                                                                                 : completion[static_cast<size_t>(t - P)]);
      batch.set(r, t, time, token, t, real, Vocabulary::kPad);
      last_mask[static_cast<size_t>(r) * time + t] = t == P + L - 1 ? 1.0f : 0.0f;
    }
  }
  void set_sizes(int rows, int time) { batch.set_sizes(graph, rows, time); }
};

// The Bradley–Terry reward-model loss on pairs laid out as rows 2i (chosen) and 2i + 1 (rejected),
// as TRL's RewardTrainer computes it:
//   loss = mean_i [ -log sigmoid(r(x_i, y_w) - r(x_i, y_l) - m_i) ]
//        + center_rewards_coefficient * mean_i [ (r(x_i, y_w) + r(x_i, y_l))^2 ]
// m_i: the pair's margin (TRL's optional `margin` column; the Llama 2 paper's margin, Touvron et
// al. 2023, sec. 3.2.2); the centering term is Eisenstein et al. 2023's auxiliary loss that pulls
// the rewards' mean to 0 (TRL's center_rewards_coefficient).
struct RewardLossOutputs {
  Expr loss, accuracy, chosen, rejected;  // accuracy: share of pairs with r_w > r_l; chosen/rejected: [pairs]
  int pairs_var = 0;
  Expr margins;                           // input [pairs]
};
// rewards: [2 * pairs] (a RewardRows member). Registers the live parameter "center_rewards_coefficient".
RewardLossOutputs build_reward_loss(Graph& g, Expr rewards, int pair_capacity);

// A frozen ensemble scoring completions (GRPO against a learned reward): every member on one tape.
class RewardScorer {
 public:
  // Copies the ensemble's weights; scores up to `rows` completions at once.
  RewardScorer(const TransformerSpec& policy_spec, const Parameters& ensemble_weights, int members, int rows);
  int members() const { return ensemble_.members(); }
  int capacity() const { return capacity_; }
  // Scores n (<= capacity) completions: row i is prompt[i] (prompt_lengths[i] tokens, stride
  // prompt_stride) of completion i (completions + i * completion_stride, lengths[i] tokens).
  // member_rewards(k)[i] afterwards. No allocation.
  void score(int n, const int32_t* prompts, const int* prompt_lengths, int prompt_stride, const int32_t* completions,
             const int* lengths, int completion_stride);
  // The same with prompt i / g (groups of g completions per prompt).
  void score_groups(int n, int g, const int32_t* prompts, const int* prompt_lengths, int prompt_stride,
                    const int32_t* completions, const int* lengths, int completion_stride);
  const float* member_rewards(int k) const { return rows_->graph.values(rewards_[static_cast<size_t>(k)]); }
  // Aggregated reward and members' std of row i of the last score().
  double aggregated(int i, EnsembleAggregation a, double lambda) const;
  double spread(int i) const;

 private:
  void gather(int i, float* out) const;
  RewardEnsemble ensemble_;
  std::unique_ptr<RewardRows> rows_;
  std::vector<Expr> rewards_;
  int capacity_ = 1;
};

}  // namespace pl
