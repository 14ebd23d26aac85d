// Direct Preference Optimization, offline (Rafailov et al. 2023, "Direct Preference Optimization:
// Your Language Model is Secretly a Reward Model"), following TRL's DPOTrainer (field names from
// TRL: beta, label_smoothing, loss_type). The run starts from an SFT checkpoint (init_from) and
// keeps those weights as the frozen reference pi_ref.
//
// Data: a preference dataset of (prompt, chosen, rejected) pairs, read from the JSONL file named
// by `dataset`, or, when it is empty, generated before the first step from the starting policy
// with the Bradley–Terry labeler over the hidden gold reward (preference_data.hpp; dataset_size,
// sample_temperature, label_temperature, label_noise, gold_*): the same pairs as `policylab prefs
// generate --from INIT --seed SEED` with those options. Not in the constructor: the Trainer loads
// init_from's weights after constructing the algorithm. The last eval_fraction of the pairs are
// held out (reward accuracy on pairs not trained on).
//
// One step:
//   1. take batch_size pairs from a shuffled pass over the training pairs (reshuffled each epoch);
//   2. teacher forcing on the 2 * batch_size sequences prompt + completion (rows 2i: chosen of pair
//      i, 2i + 1: rejected), right padded; the summed log-probability of each completion,
//        log pi(y | x) = sum_t log pi(y_t | x, y_<t)   over the completion's tokens only
//      (prompt positions have weight 0 in the sum);
//   3. the pair loss of preference_losses.hpp (DPO's sigmoid loss, eq. 7:
//        -log sigmoid(beta * [(log pi(y_w|x) - log pi_ref(y_w|x)) - (log pi(y_l|x) - log pi_ref(y_l|x))]));
//   4. one Adam step with global gradient-norm clipping.
// The reference's log-probabilities are computed once per dataset, before the first step: the
// reference is frozen and the dataset fixed, so they are constants, and each step runs the
// transformer once instead of twice. They are kept in checkpoints with the dataset, so a resumed run
// needs neither the file nor a regeneration.
//
// Online iterative DPO (online_interval = k > 0; no dataset file): every k steps, from the first,
// the training pairs are replaced by dataset_size fresh pairs sampled from the current policy and
// labelled by the same Bradley–Terry labeler, and the reference's log-probabilities of the new
// pairs are computed (reference frozen at the start, as in TRL's OnlineDPOTrainer and the online
// iterative RLHF of Xiong et al. 2024, "Iterative Preference Learning from Human Feedback", Alg. 1,
// which keep the KL to the initial policy). With k = 1 and dataset_size = batch_size every step
// learns from its own fresh batch: TRL's OnlineDPOTrainer with a judge (Guo et al. 2024, "Direct
// Language Model Alignment from Online AI Feedback"); a larger k is the iterative, batched form
// (rounds of offline DPO on on-policy data). The data then tracks the policy: pairs from a policy
// that already writes the preferred style no longer rank style, so the signal moves on to what
// separates its current samples.
//
// INPO (Zhang et al. 2024, "Iterative Nash Policy Optimization: Aligning LLMs with General
// Preferences via No-Regret Learning"): online, with each round's reference the geometric mixture
//   log pi_mix(y) = inpo_ratio * log pi_ref(y) + (1 - inpo_ratio) * log pi_t(y),
// pi_t the policy that sampled the round, and loss_type ipo: the round minimises
//   E[(h_t(y_w, y_l) - 1 / (2 beta))^2],  h_t = log pi(y_w)/pi(y_l) - log pi_mix(y_w)/pi_mix(y_l),
// whose minimiser is the mirror-descent step pi_{t+1} ~ pi_t^(1 - ratio) pi_ref^ratio exp(P(y > pi_t) / beta)
// on the preference game (the IPO argument of Azar et al. 2024 applied to pi_mix: the regression
// target of the log-ratio difference is (P(y > pi_t) - P(y' > pi_t)) / beta); the INPO authors'
// `ratio` is inpo_ratio and their eta is 1 / beta. inpo_ratio 1 is online IPO against pi_ref.
//
// Evaluation (every eval_interval steps, the first and the last): reward accuracy on the held-out
// pairs; on the fixed held-out prompts one sample of the policy and one of the reference each
// (temperature 1, the same random stream for both, so the two agree while the policy is the
// reference): the hidden gold reward of both, the policy's win rate (gold reward higher; ties
// count half), the KL estimate KL(pi || pi_ref) ~ mean over samples of sum_t (log pi(y_t) -
// log pi_ref(y_t)), and the greedy held-out accuracy of the task's verifier.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <memory>

#include "core/algos/dpo.hpp"
#include "core/algos/preference_pairs.hpp"
#include "core/algos/preference_losses.hpp"
#include "core/algos/registry.hpp"
#include "core/algos/sequence.hpp"

namespace pl {

Schema dpo_schema() {
  std::vector<FieldSpec> f = preference_run_fields(
      {"preference pairs per step (2x sequences through the model)",
       "JSONL preference file (prompt, chosen, rejected per line); empty: generate dataset_size pairs from the starting policy",
       "share of the dataset's pairs (the last ones) held out for reward accuracy", 1e-4,
       "global gradient-norm clip; 0 disables"});
  f.push_back({"inpo_ratio", FieldType::Float, 1.0, 0, 1, {},
               "INPO (online_interval > 0, loss_type ipo): weight of the initial reference in each round's reference "
               "ratio * log pi_ref + (1 - ratio) * log pi_t; 1: the initial reference alone",
               false, "prefs"});
  f.push_back({"online_interval", FieldType::Int, 0, 0, 1000000, {},
               "online iterative DPO: every k steps sample dataset_size fresh pairs from the current policy and label them "
               "(1 with dataset_size = batch_size: TRL's OnlineDPOTrainer); 0: offline, the dataset is fixed",
               false, "prefs"});
  for (const FieldSpec& l : preference_loss_fields()) f.push_back(l);
  for (const FieldSpec& d : preference_data_fields()) f.push_back(d);
  return make_sequence_schema("dpo", "Direct Preference Optimization from an SFT checkpoint on preference pairs (Rafailov et al. 2023; TRL DPOTrainer)", f);
}

namespace {

constexpr int kMaxEvalChunk = 512;

// The sampler's capacity: a batch of pair generation (2 samples per prompt) and the evaluation's chunks.
int sampler_rows(const Config& c) {
  const int generation = 2 * GenerateOptions().chunk;
  return static_cast<int>(std::max<int64_t>({2 * c.get_int("batch_size"), std::min<int64_t>(c.get_int("heldout_size"), kMaxEvalChunk),
                                             generation}));
}

class Dpo final : public SequenceAlgorithm, public DpoLearner {
 public:
  explicit Dpo(const Config& c) : SequenceAlgorithm(c, sampler_rows(c)), gold_(gold_reward_from_config(*task_, c.values())) {
    seed_ = static_cast<uint64_t>(c.get_int("seed"));
    pass_.rng = streams::stream(seed_, streams::kShuffle);
    dataset_path_ = c.get_string("dataset");
    eval_fraction_ = c.get_float("eval_fraction");
    // A named file is read now, so a bad file stops the run before it starts. A file that is gone
    // is reported at the first step: a resumed run takes its dataset from the checkpoint.
    online_interval_ = static_cast<int>(c.get_int("online_interval"));
    if (online_interval_ > 0 && !dataset_path_.empty())
      throw ConfigError("field 'online_interval': online DPO samples its pairs from the policy; leave 'dataset' empty");
    inpo_ratio_ = c.get_float("inpo_ratio");
    if (inpo_ratio_ < 1 && online_interval_ == 0)
      throw ConfigError("field 'inpo_ratio' mixes the policy that sampled each round into the reference: it needs "
                        "online_interval > 0");
    if (!dataset_path_.empty() && preference_file_exists(dataset_path_)) set_dataset(load_preference_file(dataset_path_, *task_));
    if (dataset_path_.empty()) {
      try {
        generator_ = std::make_unique<PreferenceGenerator>(*task_, model_, generate_options(c.values()));
      } catch (const PreferenceDataError& e) {
        throw ConfigError(e.what());
      }
    }
    generation_rng_ = preference_stream(seed_);

    const int B = batch_size_, T = model_.spec().context - 1;
    Graph& g = graph_;
    batch_.declare(g, 2 * B, T);
    const Dims rt = batch_.dims(g);
    pairs_var_ = g.size_var("pairs", B);
    const Dim P = g.dim(pairs_var_);
    Expr completion_mask = g.input("completion_mask", rt);
    Expr lsm = log_softmax(batch_.build(g, model_, params_).logits);
    Expr token_logp = gather_last(lsm, batch_.targets);
    entropy_sum_ = sum(softmax_entropy(lsm) * completion_mask);  // over completion positions
    // Summed completion log-probabilities per sequence, then split into chosen (even rows) and
    // rejected (odd rows).
    seq_logp_ = sum(token_logp * completion_mask, -1);
    Expr by_pair = reshape(seq_logp_, {P, 2});
    PairLossInputs in;
    in.chosen_logps = g.display(reshape(slice_last(by_pair, 0, 1), {P}), "log pi(y_w|x)", "\\log \\pi_\\theta(y_w \\mid x)");
    in.rejected_logps = g.display(reshape(slice_last(by_pair, 1, 1), {P}), "log pi(y_l|x)", "\\log \\pi_\\theta(y_l \\mid x)");
    in.ref_chosen_logps = g.display(g.input("ref_chosen_logps", {P}), "log pi_ref(y_w|x)", "\\log \\pi_{\\mathrm{ref}}(y_w \\mid x)");
    in.ref_rejected_logps = g.display(g.input("ref_rejected_logps", {P}), "log pi_ref(y_l|x)", "\\log \\pi_{\\mathrm{ref}}(y_l \\mid x)");
    in.chosen_tokens = g.input("chosen_tokens", {P});
    in.rejected_tokens = g.input("rejected_tokens", {P});
    loss_ = build_pair_loss(g, in, c.values());
    chosen_ = in.chosen_logps;
    rejected_ = in.rejected_logps;
    // The reported outputs, looked up once (no string work in the loop).
    chosen_rewards_ = g.output_expr("chosen_rewards");
    rejected_rewards_ = g.output_expr("rejected_rewards");
    for (auto* v : {&completion_mask_}) v->assign(static_cast<size_t>(2 * B) * T, 0.0f);
    for (auto* v : {&ref_chosen_in_, &ref_rejected_in_, &chosen_tokens_in_, &rejected_tokens_in_})
      v->assign(static_cast<size_t>(B), 1.0f);
    g.bind(completion_mask, completion_mask_.data());
    g.bind(in.ref_chosen_logps, ref_chosen_in_.data());
    g.bind(in.ref_rejected_logps, ref_rejected_in_.data());
    g.bind(in.chosen_tokens, chosen_tokens_in_.data());
    g.bind(in.rejected_tokens, rejected_tokens_in_.data());
    last_chosen_.assign(static_cast<size_t>(B), 0.0);
    last_rejected_.assign(static_cast<size_t>(B), 0.0);

    // The reference: its summed completion log-probabilities of pairs (teacher forcing on a tape of
    // its own, forward only), and the evaluation of the policy against it on fresh samples.
    ref_params_ = params_;
    ref_batch_.declare(ref_graph_, 2 * B, T);
    Expr ref_mask = ref_graph_.input("completion_mask", ref_batch_.dims(ref_graph_));
    ref_seq_logp_ = sum(gather_last(log_softmax(ref_batch_.build(ref_graph_, model_, ref_params_, /*frozen=*/true).logits),
                                    ref_batch_.targets) * ref_mask, -1);
    ref_completion_mask_.assign(static_cast<size_t>(2 * B) * T, 0.0f);
    ref_graph_.bind(ref_mask, ref_completion_mask_.data());
    gold_eval_ = std::make_unique<GoldEvaluation>(model_, ref_params_, *task_, sampler_.batch_capacity());
    apply_config(c);
  }

  void apply_config(const Config& c) override {
    SequenceAlgorithm::apply_config(c);
    set_preference_loss_params(graph_, c.values());
  }

  std::vector<std::string> extra_metrics() const override {
    return {"reward_accuracy", "heldout_reward_accuracy", "margin", "chosen_rewards", "rejected_rewards",
            "chosen_logps", "rejected_logps", "kl", "gold_reward", "gold_reward_ref", "win_rate",
            "heldout_accuracy", "epoch"};
  }

  void iterate(Metrics& m) override {
    if (!ready_) prepare();
    if (online_interval_ > 0 && iteration_ > 0 && iteration_ % online_interval_ == 0) refresh_pairs();
    const double lr = step_learning_rate();
    const int P = std::min(batch_size_, train_count_);
    int completion_tokens = 0;
    const int tokens = fill(pass_.next(P), P, &completion_tokens);
    const bool bco_running = graph_.has_output("bco_batch_mean");  // bco_pair with bco_running_mean
    if (bco_running) {
      graph_.set_param("bco_mean", static_cast<float>(bco_.mean));
      graph_.set_param("bco_mean_weight", static_cast<float>(bco_.count) / static_cast<float>(bco_.count + 1));
    }
    graph_.forward();
    if (bco_running) bco_.update(graph_.output("bco_batch_mean"));
    params_.zero_grad();
    graph_.backward(loss_.loss);
    optimizer_step(m, lr);
    double chosen = 0, rejected = 0;
    const float* c = graph_.values(chosen_);
    const float* r = graph_.values(rejected_);
    for (int i = 0; i < P; ++i) {
      chosen += c[i];
      rejected += r[i];
    }
    ++iteration_;
    global_step_ += tokens;
    m.iteration = iteration_;
    m.global_step = global_step_;
    m.policy_loss = graph_.scalar(loss_.loss);
    m.entropy = graph_.scalar(entropy_sum_) / std::max(1, completion_tokens);
    m.extra_value(kRewardAccuracy) = graph_.scalar(loss_.accuracy);
    m.extra_value(kMargin) = graph_.scalar(loss_.margin);
    m.extra_value(kChosenRewards) = graph_.scalar(chosen_rewards_);
    m.extra_value(kRejectedRewards) = graph_.scalar(rejected_rewards_);
    m.extra_value(kChosenLogps) = chosen / P;
    m.extra_value(kRejectedLogps) = rejected / P;
    m.extra_value(kEpoch) = static_cast<double>(iteration_) * P / train_count_;
    if (iteration_ % eval_interval_ == 0 || iteration_ == max_steps_ || iteration_ == 1) evaluate();
    m.extra_value(kHeldoutRewardAccuracy) = last_eval_[0];
    m.extra_value(kKl) = last_eval_[1];
    m.extra_value(kGoldReward) = last_eval_[2];
    m.extra_value(kGoldRewardRef) = last_eval_[3];
    m.extra_value(kWinRate) = last_eval_[4];
    m.extra_value(kHeldoutAccuracy) = last_heldout_accuracy_;
  }

  void write_state(ByteWriter& w) const override {
    write_common_state(w);
    put_rng(w, pass_.rng);
    put_rng(w, generation_rng_);
    w.put<uint8_t>(ready_ ? 1 : 0);
    for (double v : last_eval_) w.put<double>(v);
    if (graph_.has_output("bco_batch_mean")) {
      w.put<double>(bco_.mean);
      w.put<int64_t>(bco_.count);
    }
    if (!ready_) return;
    w.put<int64_t>(pass_.cursor);
    w.put<int64_t>(pass_.epoch);
    write_preference_pairs(w, *task_, dataset_);
    w.put_array(pass_.order.data(), pass_.order.size());
    w.put_array(ref_chosen_.data(), ref_chosen_.size());
    w.put_array(ref_rejected_.data(), ref_rejected_.size());
    w.put_array(ref_params_.values().data(), static_cast<size_t>(ref_params_.total_size()));
  }

  void read_state(ByteReader& r) override {
    read_common_state(r);
    get_rng(r, pass_.rng, "shuffle rng");
    get_rng(r, generation_rng_, "generation rng");
    ready_ = r.get<uint8_t>("dataset flag") != 0;
    for (double& v : last_eval_) v = r.get<double>("evaluation");
    if (graph_.has_output("bco_batch_mean")) {
      bco_.mean = r.get<double>("BCO running mean");
      bco_.count = static_cast<long>(r.get<int64_t>("BCO batch count"));
      if (bco_.count < 0 || !std::isfinite(bco_.mean)) throw FormatError("BCO running mean out of range");
    }
    if (!ready_) return;
    const int cursor = static_cast<int>(r.get<int64_t>("dataset cursor"));
    const int64_t epoch = r.get<int64_t>("epoch");
    set_dataset(read_preference_pairs(r, *task_, model_.spec().vocab));
    pass_.cursor = cursor;
    pass_.epoch = epoch;
    r.get_array(pass_.order.data(), pass_.order.size(), "pair order");
    for (int i : pass_.order)
      if (i < 0 || i >= train_count_) throw FormatError("pair order out of range");
    r.get_array(ref_chosen_.data(), ref_chosen_.size(), "reference log-probabilities");
    r.get_array(ref_rejected_.data(), ref_rejected_.size(), "reference log-probabilities");
    r.get_array(ref_params_.values().data(), static_cast<size_t>(ref_params_.total_size()), "reference model");
    if (pass_.cursor < 0 || pass_.cursor > train_count_) throw FormatError("dataset cursor out of range");
  }

  Formula objective() const override { return graph_.formula(loss_.loss); }

  // --- DpoLearner ---
  void prepare() override {
    if (ready_) return;
    // The reference is the policy the run starts from (after a warm start).
    ref_params_.values() = params_.values();
    if (generator_) {
      set_dataset(generator_->make_dataset());
      generator_->generate(params_, sampler_, gold_, generation_rng_, dataset_);
    } else if (!has_dataset_) {
      set_dataset(load_preference_file(dataset_path_, *task_));
    }
    compute_reference_logps();
    for (int i = 0; i < train_count_; ++i) pass_.order[static_cast<size_t>(i)] = i;
    pass_.shuffle();
    pass_.cursor = 0;
    ready_ = true;
  }

  const PreferenceDataset& dataset() const override { return dataset_; }
  int train_pairs() const override { return train_count_; }

  double pair_loss(const int* pairs, int n, bool gradient) override {
    prepare();
    if (n < 1 || n > batch_size_) throw std::invalid_argument("pair_loss: 1 to batch_size pairs");
    fill(pairs, n);
    graph_.forward();
    if (gradient) {
      params_.zero_grad();
      graph_.backward(loss_.loss);
    }
    const float* c = graph_.values(chosen_);
    const float* r = graph_.values(rejected_);
    for (int i = 0; i < n; ++i) {
      last_chosen_[static_cast<size_t>(i)] = c[i];
      last_rejected_[static_cast<size_t>(i)] = r[i];
    }
    return graph_.scalar(loss_.loss);
  }
  double chosen_logp(int i) const override { return last_chosen_.at(static_cast<size_t>(i)); }
  double rejected_logp(int i) const override { return last_rejected_.at(static_cast<size_t>(i)); }
  double reference_chosen_logp(int pair) const override { return ref_chosen_.at(static_cast<size_t>(pair)); }
  double reference_rejected_logp(int pair) const override { return ref_rejected_.at(static_cast<size_t>(pair)); }

 private:
  enum Extra {
    kRewardAccuracy, kHeldoutRewardAccuracy, kMargin, kChosenRewards, kRejectedRewards, kChosenLogps, kRejectedLogps,
    kKl, kGoldReward, kGoldRewardRef, kWinRate, kHeldoutAccuracy, kEpoch
  };

  // Online DPO: fresh pairs from the current policy in place of the old ones (the split and the
  // buffers stay: no allocation), their reference log-probabilities, a new pass over them.
  void refresh_pairs() {
    generator_->generate(params_, sampler_, gold_, generation_rng_, dataset_);
    compute_reference_logps();
    for (int i = 0; i < train_count_; ++i) pass_.order[static_cast<size_t>(i)] = i;
    pass_.shuffle();
    pass_.cursor = 0;
  }

  // The frozen reference's summed completion log-probabilities of every pair of the dataset (for INPO
  // mixed with the current policy's: the round's pi_t).
  void compute_reference_logps() {
    const int n = static_cast<int>(dataset_.pairs.size());
    for (int first = 0; first < n; first += batch_size_) {
      const int k = std::min(batch_size_, n - first);
      for (int i = 0; i < k; ++i) eval_idx_[static_cast<size_t>(i)] = first + i;
      lay_out(ref_batch_, ref_graph_, ref_completion_mask_, eval_idx_.data(), k);
      ref_graph_.forward(ref_seq_logp_);
      const float* s = ref_graph_.values(ref_seq_logp_);
      for (int i = 0; i < k; ++i) {
        ref_chosen_[static_cast<size_t>(first + i)] = s[2 * i];
        ref_rejected_[static_cast<size_t>(first + i)] = s[2 * i + 1];
      }
      if (inpo_ratio_ < 1) {  // INPO: mix in pi_t, the policy that sampled these pairs (a forward pass)
        lay_out(batch_, graph_, completion_mask_, eval_idx_.data(), k);
        graph_.set_size(pairs_var_, k);
        graph_.forward(seq_logp_);
        const float* t = graph_.values(seq_logp_);
        const float a = static_cast<float>(inpo_ratio_);
        for (int i = 0; i < k; ++i) {
          float& c = ref_chosen_[static_cast<size_t>(first + i)];
          float& r = ref_rejected_[static_cast<size_t>(first + i)];
          c = a * c + (1 - a) * t[2 * i];
          r = a * r + (1 - a) * t[2 * i + 1];
        }
      }
    }
  }

  // Takes the dataset and splits it: the first train_count_ pairs train, the rest are held out.
  void set_dataset(PreferenceDataset data) {
    const int n = static_cast<int>(data.pairs.size());
    train_count_ = preference_train_count(n, eval_fraction_, *task_, model_.spec().context);
    dataset_ = std::move(data);
    has_dataset_ = true;
    if (online_interval_ > 0) {
      // Room for any pair of the task, so that regenerating in place never allocates (pairs read
      // from a checkpoint come without it).
      for (PreferencePair& p : dataset_.pairs) {
        Problem roomy = task_->make_problem();
        roomy = p.problem;
        p.problem = std::move(roomy);
        p.chosen.reserve(static_cast<size_t>(task_->max_completion_length()));
        p.rejected.reserve(static_cast<size_t>(task_->max_completion_length()));
      }
    }
    pass_.order.assign(static_cast<size_t>(train_count_), 0);
    ref_chosen_.assign(static_cast<size_t>(n), 0.0f);
    ref_rejected_.assign(static_cast<size_t>(n), 0.0f);
  }

  // Lays out pairs idx[0, n) on a tape (rows 2i chosen, 2i + 1 rejected; prompt + completion right
  // padded) with their completion masks. Returns the real tokens.
  int lay_out(TokenBatch& batch, Graph& g, std::vector<float>& mask, const int* idx, int n, int* completion_tokens = nullptr) {
    int longest = 2;
    for (int i = 0; i < n; ++i) {
      const PreferencePair& p = dataset_.pairs[static_cast<size_t>(idx[i])];
      const int lp = static_cast<int>(p.problem.prompt.size());
      longest = std::max({longest, lp + static_cast<int>(p.chosen.size()), lp + static_cast<int>(p.rejected.size())});
    }
    const int T = longest - 1;
    int real_tokens = 0, completion = 0;
    for (int i = 0; i < n; ++i) {
      const PreferencePair& p = dataset_.pairs[static_cast<size_t>(idx[i])];
      completion += static_cast<int>(p.chosen.size() + p.rejected.size());
      real_tokens += set_completion_row(batch, mask.data(), 2 * i, T, p.problem.prompt, p.chosen.data(), static_cast<int>(p.chosen.size()));
      real_tokens += set_completion_row(batch, mask.data(), 2 * i + 1, T, p.problem.prompt, p.rejected.data(),
                                        static_cast<int>(p.rejected.size()));
    }
    batch.set_sizes(g, 2 * n, T);
    if (completion_tokens) *completion_tokens = completion;
    return real_tokens;
  }

  // Lays out pairs idx[0, n) on the training tape with their token counts and reference log-probabilities.
  int fill(const int* idx, int n, int* completion_tokens = nullptr) {
    const int tokens = lay_out(batch_, graph_, completion_mask_, idx, n, completion_tokens);
    for (int i = 0; i < n; ++i) {
      const PreferencePair& p = dataset_.pairs[static_cast<size_t>(idx[i])];
      chosen_tokens_in_[static_cast<size_t>(i)] = static_cast<float>(p.chosen.size());
      rejected_tokens_in_[static_cast<size_t>(i)] = static_cast<float>(p.rejected.size());
      ref_chosen_in_[static_cast<size_t>(i)] = ref_chosen_[static_cast<size_t>(idx[i])];
      ref_rejected_in_[static_cast<size_t>(i)] = ref_rejected_[static_cast<size_t>(idx[i])];
    }
    graph_.set_size(pairs_var_, n);
    return tokens;
  }

  // Held-out reward accuracy; gold reward, win rate and KL of fresh samples (GoldEvaluation);
  // greedy accuracy.
  void evaluate() {
    const int n_pairs = static_cast<int>(dataset_.pairs.size());
    double right = 0;
    for (int first = train_count_; first < n_pairs; first += batch_size_) {
      const int k = std::min(batch_size_, n_pairs - first);
      for (int i = 0; i < k; ++i) eval_idx_[static_cast<size_t>(i)] = first + i;
      fill(eval_idx_.data(), k);
      graph_.forward();
      right += graph_.scalar(loss_.accuracy) * k;
    }
    last_eval_[0] = n_pairs > train_count_ ? right / (n_pairs - train_count_) : Metrics::kNaN;

    gold_eval_->run(sampler_, params_, heldout_, gold_, seed_).store(last_eval_ + 1);
    evaluate_heldout();
  }

  GoldReward gold_;
  uint64_t seed_ = 0;
  std::string dataset_path_;
  double eval_fraction_ = 0.1;
  PreferenceDataset dataset_;
  bool has_dataset_ = false, ready_ = false;
  int train_count_ = 0, pairs_var_ = 0;
  PairOrder pass_;  // the shuffled pass over the training pairs
  BcoRunningMean bco_;  // bco_pair's delta with bco_running_mean (TRL 0.x)
  std::vector<float> ref_chosen_, ref_rejected_;  // per pair of the dataset
  Parameters ref_params_;
  Graph graph_;
  TokenBatch batch_;
  PairLossOutputs loss_;
  Expr seq_logp_, chosen_, rejected_, chosen_rewards_, rejected_rewards_, entropy_sum_;
  std::vector<float> completion_mask_, ref_chosen_in_, ref_rejected_in_, chosen_tokens_in_, rejected_tokens_in_;
  std::vector<double> last_chosen_, last_rejected_;
  std::vector<int> eval_idx_ = std::vector<int>(1024);
  // Evaluation: held-out reward accuracy, KL, gold reward (policy, reference), win rate.
  double last_eval_[5] = {Metrics::kNaN, Metrics::kNaN, Metrics::kNaN, Metrics::kNaN, Metrics::kNaN};
  int online_interval_ = 0;
  double inpo_ratio_ = 1.0;
  std::unique_ptr<PreferenceGenerator> generator_;  // without a dataset file
  Rng generation_rng_;                               // the pairs' stream (online: every round's)
  Graph ref_graph_;                                  // the reference's log-probabilities of pairs
  TokenBatch ref_batch_;
  Expr ref_seq_logp_;
  std::vector<float> ref_completion_mask_;
  std::unique_ptr<GoldEvaluation> gold_eval_;  // built once ref_params_ has its size (it keeps pointers into it)
};

}  // namespace

std::unique_ptr<Algorithm> make_dpo(const Config& c) { return std::make_unique<Dpo>(c); }

DpoLearner* dpo_learner(Algorithm& algorithm) { return dynamic_cast<DpoLearner*>(&algorithm); }

}  // namespace pl
