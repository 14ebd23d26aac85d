// Bradley–Terry reward models on the tiny transformer, and ensembles of them (issue 8, section 3),
// following TRL's RewardTrainer (option names from TRL: center_rewards_coefficient, the per-pair
// `margin` column) and Coste et al. 2023, "Reward Model Ensembles Help Mitigate Overoptimization"
// (num_reward_models, ensemble_aggregation, uncertainty_penalty).
//
// A reward model is the transformer with a scalar head read at the last token of prompt + completion
// (reward_ensemble.hpp). The run starts from an SFT checkpoint (init_from): every member's trunk is
// a copy of that policy and its head is freshly initialised (the usual way a reward model is made
// from an SFT model, Ouyang et al. 2022, sec. 3.5). The policy itself is kept unchanged: it is what
// generates the pairs and what `policylab sample` reads from the checkpoint.
//
// Data: the preference pairs DPO uses (preference_pairs.hpp): the JSONL file named by `dataset`, or
// dataset_size pairs sampled from the starting policy and labelled by the Bradley–Terry labeler over
// the hidden gold reward (the same pairs as `policylab prefs generate --from INIT --seed SEED`); the
// last eval_fraction held out.
//
// One step, for each member k of the K = num_reward_models:
//   1. take batch_size pairs from a shuffled pass over member k's training pairs;
//   2. the rewards r_k(x, y_w), r_k(x, y_l) of the 2 * batch_size sequences prompt + completion;
//   3. TRL's loss (reward_ensemble.hpp): mean -log sigmoid(r_w - r_l - margin)
//      + center_rewards_coefficient * mean (r_w + r_l)^2;
//   4. clip member k's gradient to max_grad_norm on its own; then one Adam step on the whole buffer
//      (Adam is elementwise, so the members train independently).
// Ensemble members differ as in Coste et al. 2023 (sec. 4.1: members trained from different
// seeds) by the seed of their head's initialisation and of their pair order, and, our choice for a
// small dataset where identical data would make the members nearly identical, each trains on its own
// bootstrap resample of the training pairs (as many draws with replacement; Efron 1979; the
// "bootstrapped ensemble" of Lakshminarayanan et al. 2017 without adversarial training). With K = 1
// the single model trains on the training pairs themselves, as TRL does.
//
// Reported per step: the loss (policy_loss), the batch's accuracy against the labels
// (reward_accuracy), chosen_rewards, rejected_rewards and margin (means over the batch and the
// members), and as `entropy` the mean entropy of the Bradley–Terry preference sigmoid(r_w - r_l).
// Evaluation (every eval_interval steps, the first and the last) on the held-out pairs, with the
// members' rewards aggregated by ensemble_aggregation (mean, worst_case, uncertainty with
// uncertainty_penalty; reward_ensemble.hpp): accuracy against the labels, accuracy against the
// hidden gold reward (pairs whose gold rewards differ), the mean and standard deviation of the
// aggregated rewards, and the members' disagreement (the std across members, averaged over the
// held-out completions).
#include <algorithm>
#include <cmath>

#include "core/algos/preference_pairs.hpp"
#include "core/algos/registry.hpp"
#include "core/algos/reward_model.hpp"

namespace pl {

Schema reward_model_schema() {
  using T = FieldType;
  std::vector<FieldSpec> f = preference_run_fields(
      {"preference pairs per step and member (2x sequences through each model)",
       "JSONL preference file (prompt, chosen, rejected, optional margin per line); empty: generate dataset_size pairs from the starting policy",
       "share of the dataset's pairs (the last ones) held out for reward accuracy", 1e-3,
       "gradient-norm clip per member; 0 disables"});
  const std::vector<FieldSpec> specific = {
      {"center_rewards_coefficient", T::Float, 0.0, 0, 100, {}, "weight of mean (r_w + r_l)^2, which centres the rewards on 0 (TRL; Eisenstein et al. 2023); 0: off", true, "loss"},
      {"num_reward_models", T::Int, 1, 1, 16, {}, "ensemble size K; members differ by head seed, pair order and a bootstrap resample of the pairs (K > 1)", false, "loss"},
      make_field("ensemble_aggregation", T::String, "mean", 0, 0, "loss",
                 "how the members' rewards combine (Coste et al. 2023): mean, worst_case (min), uncertainty (mean - uncertainty_penalty * variance)",
                 true, ensemble_aggregation_names()),
      {"uncertainty_penalty", T::Float, 0.5, 0, 1000, {}, "lambda of the uncertainty aggregation (UWO)", true, "loss"},
  };
  f.insert(f.end(), specific.begin(), specific.end());
  for (const FieldSpec& d : preference_data_fields()) f.push_back(d);
  return make_sequence_schema("reward_model",
                              "Bradley–Terry reward model (and ensembles) on preference pairs from an SFT checkpoint (TRL RewardTrainer; Coste et al. 2023)",
                              f);
}

namespace {

int sampler_rows(const Config& c) {
  return static_cast<int>(std::max<int64_t>(2 * GenerateOptions().chunk, c.get_int("batch_size")));
}

class RewardModel final : public SequenceAlgorithm, public RewardModelLearner {
 public:
  explicit RewardModel(const Config& c)
      : SequenceAlgorithm(c, sampler_rows(c)),
        gold_(gold_reward_from_config(*task_, c.values())),
        ensemble_(model_.spec(), static_cast<int>(c.get_int("num_reward_models"))) {
    seed_ = static_cast<uint64_t>(c.get_int("seed"));
    dataset_path_ = c.get_string("dataset");
    eval_fraction_ = c.get_float("eval_fraction");
    const int K = ensemble_.members(), B = batch_size_, T = model_.spec().context;
    rm_optimizer_ = Optimizer(Optimizer::parse(c.get_string("optimizer")), ensemble_.params().total_size(), c.get_float("adam_eps"));
    passes_.resize(static_cast<size_t>(K));
    for (int k = 0; k < K; ++k) {
      passes_[static_cast<size_t>(k)].rng = streams::stream(seed_, streams::kShuffle, static_cast<uint64_t>(k));
      auto rows = std::make_unique<RewardRows>();
      rows->declare(2 * B, T);
      Expr rewards = rows->add_member(ensemble_, k, /*frozen=*/false);
      losses_.push_back(build_reward_loss(rows->graph, rewards, B));
      margins_.emplace_back(static_cast<size_t>(B), 0.0f);
      rows->graph.bind(losses_.back().margins, margins_.back().data());
      rows_.push_back(std::move(rows));
    }
    if (!dataset_path_.empty() && preference_file_exists(dataset_path_)) set_dataset(load_preference_file(dataset_path_, *task_));
    member_rewards_.assign(static_cast<size_t>(K), 0.0f);
    apply_config(c);
  }

  void apply_config(const Config& c) override {
    SequenceAlgorithm::apply_config(c);
    for (auto& r : rows_) r->graph.set_param("center_rewards_coefficient", static_cast<float>(c.get_float("center_rewards_coefficient")));
    aggregation_ = parse_ensemble_aggregation(c.get_string("ensemble_aggregation"), "ensemble_aggregation");
    penalty_ = c.get_float("uncertainty_penalty");
  }

  Parameters& params() override { return ensemble_.params(); }
  const Parameters& params() const override { return ensemble_.params(); }
  Parameters& model_weights() override { return params_; }
  const Parameters& model_weights() const override { return params_; }

  std::vector<std::string> extra_metrics() const override {
    return {"reward_accuracy", "heldout_reward_accuracy", "heldout_gold_accuracy", "chosen_rewards", "rejected_rewards",
            "margin", "heldout_reward_mean", "heldout_reward_std", "ensemble_std", "epoch"};
  }

  void iterate(Metrics& m) override {
    if (!ready_) prepare();
    const double lr = step_learning_rate();
    const int K = ensemble_.members();
    const int P = std::min(batch_size_, train_count_);
    ensemble_.params().zero_grad();
    double loss = 0, accuracy = 0, chosen = 0, rejected = 0, entropy = 0;
    int tokens = 0;
    for (int k = 0; k < K; ++k) {
      tokens += fill(k, passes_[static_cast<size_t>(k)].next(P), P);
      Graph& g = rows_[static_cast<size_t>(k)]->graph;
      const RewardLossOutputs& o = losses_[static_cast<size_t>(k)];
      g.forward();
      g.backward(o.loss);
      loss += g.scalar(o.loss) / K;
      accuracy += g.scalar(o.accuracy) / K;
      const float* c = g.values(o.chosen);
      const float* r = g.values(o.rejected);
      for (int i = 0; i < P; ++i) {
        chosen += c[i] / (static_cast<double>(K) * P);
        rejected += r[i] / (static_cast<double>(K) * P);
        entropy += preference_entropy(c[i] - r[i]) / (static_cast<double>(K) * P);
      }
    }
    step_members(m, lr);
    ++iteration_;
    global_step_ += tokens;
    m.iteration = iteration_;
    m.global_step = global_step_;
    m.policy_loss = loss;
    m.entropy = entropy;
    m.extra_value(kRewardAccuracy) = accuracy;
    m.extra_value(kChosenRewards) = chosen;
    m.extra_value(kRejectedRewards) = rejected;
    m.extra_value(kMargin) = chosen - rejected;
    m.extra_value(kEpoch) = static_cast<double>(iteration_) * P / train_count_;
    if (iteration_ % eval_interval_ == 0 || iteration_ == max_steps_ || iteration_ == 1) evaluate();
    m.extra_value(kHeldoutRewardAccuracy) = last_eval_[0];
    m.extra_value(kHeldoutGoldAccuracy) = last_eval_[1];
    m.extra_value(kRewardMean) = last_eval_[2];
    m.extra_value(kRewardStd) = last_eval_[3];
    m.extra_value(kEnsembleStd) = last_eval_[4];
  }

  void write_state(ByteWriter& w) const override {
    write_common_state(w);
    write_training_state(w, iteration_, global_step_, ensemble_.params(), rm_optimizer_);
    w.put<uint8_t>(ready_ ? 1 : 0);
    for (double v : last_eval_) w.put<double>(v);
    if (!ready_) return;
    write_preference_pairs(w, *task_, dataset_);
    for (const PreferencePair& p : dataset_.pairs) w.put<double>(p.margin);
    for (const PairOrder& o : passes_) {
      w.put<int64_t>(static_cast<int64_t>(o.order.size()));
      o.write(w);
    }
  }

  void read_state(ByteReader& r) override {
    read_common_state(r);
    int64_t iteration = 0, global_step = 0;
    read_training_state(r, iteration, global_step, ensemble_.params(), rm_optimizer_);
    if (iteration != iteration_ || global_step != global_step_) throw FormatError("reward model counters disagree");
    if (!ensemble_.params().values().allFinite()) throw FormatError("reward model parameters contain non-finite values");
    ready_ = r.get<uint8_t>("dataset flag") != 0;
    for (double& v : last_eval_) v = r.get<double>("evaluation");
    if (!ready_) return;
    PreferenceDataset data = read_preference_pairs(r, *task_, model_.spec().vocab);
    for (PreferencePair& p : data.pairs) {
      p.margin = r.get<double>("pair margin");
      if (!std::isfinite(p.margin)) throw FormatError("non-finite pair margin");
    }
    set_dataset(std::move(data));
    for (PairOrder& o : passes_) {
      const int64_t n = r.get<int64_t>("member pairs");
      if (n != train_count_) throw FormatError("a member's pair count differs from the training pairs");
      o.order.assign(static_cast<size_t>(n), 0);
      o.read(r, train_count_);
    }
  }

  Formula objective() const override { return rows_.front()->graph.formula(losses_.front().loss); }

  // --- RewardModelLearner ---
  void prepare() override {
    if (ready_) return;
    if (dataset_path_.empty()) {
      GenerateOptions o = generate_options(config_.values());
      Rng rng = preference_stream(seed_);
      set_dataset(generate_preferences(*task_, params_, sampler_, gold_, o, rng));
    } else if (!has_dataset_) {
      set_dataset(load_preference_file(dataset_path_, *task_));
    }
    const int K = ensemble_.members();
    for (int k = 0; k < K; ++k) {
      // Member k: the policy's trunk and a head from its own stream.
      Rng head = streams::stream(seed_, streams::kInit, static_cast<uint64_t>(k + 1));
      ensemble_.init_member_from(k, params_, head);
      PairOrder& o = passes_[static_cast<size_t>(k)];
      o.order.assign(static_cast<size_t>(train_count_), 0);
      if (K == 1) {
        for (int i = 0; i < train_count_; ++i) o.order[static_cast<size_t>(i)] = i;
      } else {  // a bootstrap resample: train_count_ draws with replacement
        Rng draw = streams::stream(seed_, streams::kShuffle, static_cast<uint64_t>(1000 + k));
        for (int i = 0; i < train_count_; ++i) o.order[static_cast<size_t>(i)] = static_cast<int>(draw.below(static_cast<uint32_t>(train_count_)));
      }
      o.shuffle();
      o.cursor = 0;
    }
    ready_ = true;
  }

  const PreferenceDataset& dataset() const override { return dataset_; }
  int train_pairs() const override { return train_count_; }
  int members() const override { return ensemble_.members(); }
  const std::vector<int>& member_pairs(int k) const override { return passes_.at(static_cast<size_t>(k)).order; }

  double pair_loss(int member, const int* pairs, int n, bool gradient) override {
    prepare();
    if (member < 0 || member >= ensemble_.members()) throw std::invalid_argument("pair_loss: no such member");
    if (n < 1 || n > batch_size_) throw std::invalid_argument("pair_loss: 1 to batch_size pairs");
    fill(member, pairs, n);
    Graph& g = rows_[static_cast<size_t>(member)]->graph;
    g.forward();
    if (gradient) {
      ensemble_.params().zero_grad();
      g.backward(losses_[static_cast<size_t>(member)].loss);
    }
    return g.scalar(losses_[static_cast<size_t>(member)].loss);
  }
  double chosen_reward(int member, int i) const override {
    return rows_.at(static_cast<size_t>(member))->graph.values(losses_[static_cast<size_t>(member)].chosen)[i];
  }
  double rejected_reward(int member, int i) const override {
    return rows_.at(static_cast<size_t>(member))->graph.values(losses_[static_cast<size_t>(member)].rejected)[i];
  }
  const Parameters& ensemble_weights() const override { return ensemble_.params(); }
  const TransformerSpec& member_spec() const override { return model_.spec(); }

 private:
  enum Extra {
    kRewardAccuracy, kHeldoutRewardAccuracy, kHeldoutGoldAccuracy, kChosenRewards, kRejectedRewards, kMargin,
    kRewardMean, kRewardStd, kEnsembleStd, kEpoch
  };

  // The entropy (nats) of the Bradley–Terry preference P(y_w > y_l) = sigmoid(d), d = r_w - r_l: how
  // unsure the reward model is about a pair (log 2 at d = 0). The record's `entropy` is its mean over
  // the batch's pairs and the members.
  static double preference_entropy(double d) {
    const double p = 1.0 / (1.0 + std::exp(-d));
    const double softplus_neg = d > 0 ? std::log1p(std::exp(-d)) : -d + std::log1p(std::exp(d));  // -log p
    const double softplus_pos = softplus_neg + d;                                                // -log(1 - p)
    return p * softplus_neg + (1 - p) * softplus_pos;
  }

  void set_dataset(PreferenceDataset data) {
    train_count_ = preference_train_count(static_cast<int>(data.pairs.size()), eval_fraction_, *task_, model_.spec().context);
    dataset_ = std::move(data);
    has_dataset_ = true;
    score_gold();
  }

  // The gold reward of every pair's two completions (the held-out accuracy against gold).
  void score_gold() {
    gold_chosen_.assign(dataset_.pairs.size(), 0.0);
    gold_rejected_.assign(dataset_.pairs.size(), 0.0);
    for (size_t i = 0; i < dataset_.pairs.size(); ++i) {
      const PreferencePair& p = dataset_.pairs[i];
      gold_chosen_[i] = gold_.reward(p.problem, p.chosen.data(), static_cast<int>(p.chosen.size()));
      gold_rejected_[i] = gold_.reward(p.problem, p.rejected.data(), static_cast<int>(p.rejected.size()));
    }
  }

  // Lays pairs idx[0, n) out in member k's rows (2i chosen, 2i + 1 rejected) with their margins.
  // Returns the real tokens.
  int fill(int k, const int* idx, int n) {
    RewardRows& rows = *rows_[static_cast<size_t>(k)];
    int time = 1, tokens = 0;
    for (int i = 0; i < n; ++i) {
      const PreferencePair& p = dataset_.pairs[static_cast<size_t>(idx[i])];
      const int lp = static_cast<int>(p.problem.prompt.size());
      time = std::max({time, lp + static_cast<int>(p.chosen.size()), lp + static_cast<int>(p.rejected.size())});
      tokens += 2 * lp + static_cast<int>(p.chosen.size() + p.rejected.size());
    }
    for (int i = 0; i < n; ++i) {
      const PreferencePair& p = dataset_.pairs[static_cast<size_t>(idx[i])];
      rows.set_row(2 * i, time, p.problem.prompt, p.chosen);
      rows.set_row(2 * i + 1, time, p.problem.prompt, p.rejected);
      margins_[static_cast<size_t>(k)][static_cast<size_t>(i)] = static_cast<float>(p.margin);
    }
    rows.set_sizes(2 * n, time);
    rows.graph.set_size(losses_[static_cast<size_t>(k)].pairs_var, n);
    return tokens;
  }

  // Per member k: clip its gradient on its own; then one optimizer step on the whole buffer.
  void step_members(Metrics& m, double lr) {
    Parameters& p = ensemble_.params();
    for (int i = 0; i < p.count(); ++i) m.layer_grad_norms[static_cast<size_t>(i)] = p.grad_norm(i);
    double total = 0, clipped = 0;
    for (int k = 0; k < ensemble_.members(); ++k) {
      auto g = p.grads().segment(ensemble_.member_begin(k), ensemble_.member_end(k) - ensemble_.member_begin(k));
      const double norm = std::sqrt(static_cast<double>(g.squaredNorm()));
      total += norm * norm;
      double after = norm;
      if (max_grad_norm_ > 0 && norm > max_grad_norm_) {
        g *= static_cast<float>(max_grad_norm_ / (norm + 1e-6));
        after = max_grad_norm_;
      }
      clipped += after * after;
    }
    m.grad_norm = std::sqrt(total);
    m.grad_norm_clipped = std::sqrt(clipped);
    m.learning_rate = lr;
    if (std::isfinite(m.grad_norm)) rm_optimizer_.step(p.values(), p.grads(), lr);
  }

  // Held-out pairs under the aggregated reward: accuracy against the labels and against gold,
  // the rewards' mean and std, and the members' disagreement.
  void evaluate() {
    const int n_pairs = static_cast<int>(dataset_.pairs.size()), K = ensemble_.members();
    double right = 0, gold_right = 0, sum = 0, sq = 0, spread = 0;
    int gold_pairs = 0;
    for (int first = train_count_; first < n_pairs; first += batch_size_) {
      const int n = std::min(batch_size_, n_pairs - first);
      for (int i = 0; i < n; ++i) eval_idx_[static_cast<size_t>(i)] = first + i;
      for (int k = 0; k < K; ++k) {
        fill(k, eval_idx_.data(), n);
        rows_[static_cast<size_t>(k)]->graph.forward(losses_[static_cast<size_t>(k)].rejected);
      }
      for (int i = 0; i < n; ++i) {
        double agg[2];
        for (int side = 0; side < 2; ++side) {
          for (int k = 0; k < K; ++k) member_rewards_[static_cast<size_t>(k)] = static_cast<float>(side == 0 ? chosen_reward(k, i) : rejected_reward(k, i));
          agg[side] = aggregate_rewards(member_rewards_.data(), K, aggregation_, penalty_);
          spread += ensemble_std(member_rewards_.data(), K);
          sum += agg[side];
          sq += agg[side] * agg[side];
        }
        const double order = agg[0] > agg[1] ? 1.0 : (agg[0] == agg[1] ? 0.5 : 0.0);
        right += order;
        const double gc = gold_chosen_[static_cast<size_t>(first + i)], gr = gold_rejected_[static_cast<size_t>(first + i)];
        if (gc != gr) {
          ++gold_pairs;
          gold_right += gc > gr ? order : 1.0 - order;
        }
      }
    }
    const int held = n_pairs - train_count_;
    const double nan = Metrics::kNaN;
    last_eval_[0] = held > 0 ? right / held : nan;
    last_eval_[1] = gold_pairs > 0 ? gold_right / gold_pairs : nan;
    const double mean = held > 0 ? sum / (2.0 * held) : nan;
    last_eval_[2] = mean;
    last_eval_[3] = held > 0 ? std::sqrt(std::max(0.0, sq / (2.0 * held) - mean * mean)) : nan;
    last_eval_[4] = held > 0 ? spread / (2.0 * held) : nan;
  }

  GoldReward gold_;
  RewardEnsemble ensemble_;
  Optimizer rm_optimizer_;
  uint64_t seed_ = 0;
  std::string dataset_path_;
  double eval_fraction_ = 0.1;
  PreferenceDataset dataset_;
  std::vector<double> gold_chosen_, gold_rejected_;
  bool has_dataset_ = false, ready_ = false;
  int train_count_ = 0;
  std::vector<PairOrder> passes_;  // per member
  std::vector<std::unique_ptr<RewardRows>> rows_;
  std::vector<RewardLossOutputs> losses_;
  std::vector<std::vector<float>> margins_;
  std::vector<float> member_rewards_;
  std::vector<int> eval_idx_ = std::vector<int>(1024);
  EnsembleAggregation aggregation_ = EnsembleAggregation::Mean;
  double penalty_ = 0.5;
  // Held-out: accuracy vs labels, vs gold, reward mean, reward std, ensemble std.
  double last_eval_[5] = {Metrics::kNaN, Metrics::kNaN, Metrics::kNaN, Metrics::kNaN, Metrics::kNaN};
};

}  // namespace

std::unique_ptr<Algorithm> make_reward_model(const Config& c) { return std::make_unique<RewardModel>(c); }

RewardModelLearner* reward_model_learner(Algorithm& algorithm) { return dynamic_cast<RewardModelLearner*>(&algorithm); }
const RewardModelLearner* reward_model_learner(const Algorithm& algorithm) {
  return dynamic_cast<const RewardModelLearner*>(&algorithm);
}

}  // namespace pl
