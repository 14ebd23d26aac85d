// Kahneman–Tversky Optimization, offline (Ethayarajh et al. 2024, "KTO: Model Alignment as
// Prospect Theoretic Optimization"), following TRL's KTOTrainer (field names from TRL: beta,
// desirable_weight, undesirable_weight, loss_type kto | apo_zero_unpaired). Like DPO the run starts
// from an SFT checkpoint (init_from) whose weights stay the frozen reference pi_ref; unlike DPO it
// learns from single completions labelled desirable or undesirable, so it needs no pairs.
//
// Data: the JSONL file named by `dataset`, either unpaired examples ({"prompt", "completion",
// "label": true|false} per line, TRL's unpaired format) or preference pairs ({"prompt", "chosen",
// "rejected"}), which are unpaired as TRL's unpair_preference_dataset does: the chosen completion
// desirable, the rejected one undesirable. With no file, dataset_size pairs are generated from the
// starting policy by the Bradley–Terry labeler over the hidden gold reward (the same pairs as DPO's
// and `policylab prefs generate --from INIT --seed SEED`) and unpaired. The last eval_fraction of
// the pairs (or of the examples, for an unpaired file) are held out. desirable_keep drops a share
// of the training split's desirable examples, for the paper's imbalanced-data experiments (sec. 4.3:
// KTO matches DPO with up to 90% of the desirable data discarded, with desirable_weight raised so
// that lambda_D n_D / (lambda_U n_U) lies in [1, 4/3], eq. 9).
//
// One step:
//   1. take batch_size examples from a shuffled pass over the kept training examples;
//   2. the reference point z0 (eq. 7's z_ref = KL(pi || pi_ref), estimated as TRL does): each
//      example's prompt x_i with the completion y'_i of another example (mismatched: no signal about
//      x_i's preferred answer), z0 = max(0, mean_i [log pi(y'_i | x_i) - log pi_ref(y'_i | x_i)]),
//      computed without gradient (a forward pass only; TRL detaches it as well);
//   3. teacher forcing on the batch's prompt + completion sequences: log pi(y | x) summed over the
//      completion's tokens;
//   4. the loss of preference_losses.hpp's build_unpaired_loss (KTO, eq. 8 with TRL's weights):
//        desirable:   lambda_D (1 - sigmoid(beta (log pi/pi_ref (y|x) - z0)))
//        undesirable: lambda_U (1 - sigmoid(beta (z0 - log pi/pi_ref (y|x))))
//      averaged over the batch; one Adam step with global gradient-norm clipping.
// The mismatched completion of example i is fixed when the data is prepared: that of the nearest
// earlier training example (cyclically) whose prompt differs. TRL also fixes it at dataset
// preparation, shifting completions by one within each batch-sized chunk of the dataset; ours skips
// neighbours with the same prompt, which unpaired pairs always are. Being fixed, the reference's
// log-probabilities of both rows are computed once, before the first step.
//
// Evaluation (every eval_interval steps, the first and the last): on the held-out examples the
// implicit rewards beta (log pi - log pi_ref): their margin (mean over desirable minus mean over
// undesirable) and, when the data came in pairs, the share of held-out pairs ranked right (DPO's
// held-out reward accuracy, comparable across the two trainers); the policy against the reference on
// fresh samples of the held-out prompts (GoldEvaluation: gold reward, win rate, KL); greedy accuracy.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>

#include "core/algos/kto.hpp"
#include "core/algos/preference_losses.hpp"
#include "core/algos/preference_pairs.hpp"
#include "core/algos/registry.hpp"
#include "core/algos/sequence.hpp"
#include "core/util/json_input.hpp"

namespace pl {

Schema kto_schema() {
  std::vector<FieldSpec> f = preference_run_fields(
      {"examples per step (each also scores a mismatched completion for the reference point)",
       "JSONL file of unpaired examples (prompt, completion, label) or of preference pairs (prompt, chosen, rejected: "
       "chosen desirable, rejected undesirable); empty: generate dataset_size pairs from the starting policy",
       "share of the dataset (the last pairs, or examples) held out for the held-out margin and pair accuracy", 1e-4,
       "global gradient-norm clip; 0 disables"});
  f.push_back({"desirable_keep", FieldType::Float, 1.0, 0, 1, {},
               "share of the training split's desirable examples kept (KTO's imbalanced-data setting: 0.1 keeps one in ten)",
               false, "prefs"});
  for (const FieldSpec& l : unpaired_loss_fields()) f.push_back(l);
  for (const FieldSpec& d : preference_data_fields()) f.push_back(d);
  return make_sequence_schema(
      "kto", "Kahneman–Tversky Optimization from an SFT checkpoint on desirable/undesirable examples (Ethayarajh et al. 2024; TRL KTOTrainer)", f);
}

namespace {

constexpr int kMaxEvalChunk = 512;

int sampler_rows(const Config& c) {
  return static_cast<int>(std::max<int64_t>({c.get_int("batch_size"), std::min<int64_t>(c.get_int("heldout_size"), kMaxEvalChunk),
                                             2 * GenerateOptions().chunk}));
}

// The examples of a KTO data file and whether they came as pairs (then examples 2i and 2i + 1 are
// pair i's chosen and rejected completions). The form is read from the first line's fields.
struct KtoData {
  std::vector<UnpairedExample> examples;
  bool paired = false;
};

KtoData load_kto_file(const std::string& path, const SequenceTask& task) {
  if (!preference_file_exists(path)) throw ConfigError("field 'dataset': cannot open preference file '" + path + "'");
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  // The first non-blank line decides the form; a line that is not JSON is reported by the unpaired
  // reader with its line number.
  bool pairs = false;
  std::istringstream lines(s);
  for (std::string line; std::getline(lines, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    // (A line that is not JSON, or JSON the reader refuses, is reported by the unpaired reader.)
    json first;
    try {
      first = parse_user_json(line);
    } catch (const JsonInputError&) {
    }
    pairs = first.is_object() && first.contains("chosen");
    break;
  }
  try {
    KtoData d;
    d.paired = pairs;
    d.examples = pairs ? unpaired_examples(parse_preferences(s, task, path)) : parse_unpaired(s, task, path);
    return d;
  } catch (const PreferenceDataError& e) {
    throw ConfigError(std::string("field 'dataset': ") + e.what());
  }
}

class Kto final : public SequenceAlgorithm, public KtoLearner {
 public:
  explicit Kto(const Config& c) : SequenceAlgorithm(c, sampler_rows(c)), gold_(gold_reward_from_config(*task_, c.values())) {
    seed_ = static_cast<uint64_t>(c.get_int("seed"));
    pass_.rng = streams::stream(seed_, streams::kShuffle);
    dataset_path_ = c.get_string("dataset");
    eval_fraction_ = c.get_float("eval_fraction");
    desirable_keep_ = c.get_float("desirable_keep");
    uses_reference_point_ = c.get_string("loss_type") == "kto";
    if (!dataset_path_.empty() && preference_file_exists(dataset_path_)) set_data(load_kto_file(dataset_path_, *task_));

    const int B = batch_size_, T = model_.spec().context - 1;
    Graph& g = graph_;
    batch_.declare(g, B, T);
    const Dims rt = batch_.dims(g);
    const Dims rows{rt[0]};
    Expr completion_mask = g.input("completion_mask", rt);
    Expr lsm = log_softmax(batch_.build(g, model_, params_).logits);
    entropy_sum_ = sum(softmax_entropy(lsm) * completion_mask);
    seq_logp_ = sum(gather_last(lsm, batch_.targets) * completion_mask, -1);
    UnpairedLossInputs in;
    in.logps = g.display(seq_logp_, "log pi(y|x)", "\\log \\pi_\\theta(y \\mid x)");
    in.ref_logps = g.display(g.input("ref_logps", rows), "log pi_ref(y|x)", "\\log \\pi_{\\mathrm{ref}}(y \\mid x)");
    in.desirable = g.display(g.input("desirable", rows), "d", "d");
    in.kl = g.display(g.input("kl", rows), "z0", "z_0");
    loss_ = build_unpaired_loss(g, in, c.values());
    completion_mask_.assign(static_cast<size_t>(B) * T, 0.0f);
    for (auto* v : {&ref_in_, &desirable_in_, &kl_in_, &mismatched_ref_}) v->assign(static_cast<size_t>(B), 0.0f);
    g.bind(completion_mask, completion_mask_.data());
    g.bind(in.ref_logps, ref_in_.data());
    g.bind(in.desirable, desirable_in_.data());
    g.bind(in.kl, kl_in_.data());
    last_logp_.assign(static_cast<size_t>(B), 0.0);
    scratch_idx_.assign(static_cast<size_t>(B), 0);

    ref_params_ = params_;
    gold_eval_ = std::make_unique<GoldEvaluation>(model_, ref_params_, *task_, sampler_.batch_capacity());
    apply_config(c);
  }

  void apply_config(const Config& c) override {
    SequenceAlgorithm::apply_config(c);
    set_unpaired_loss_params(graph_, c.values());
    beta_ = c.get_float("beta");
  }

  std::vector<std::string> extra_metrics() const override {
    return {"chosen_rewards", "rejected_rewards", "margin", "chosen_logps", "rejected_logps", "reference_point",
            "heldout_margin", "heldout_reward_accuracy", "kl", "gold_reward", "gold_reward_ref", "win_rate",
            "heldout_accuracy", "epoch"};
  }

  void iterate(Metrics& m) override {
    if (!ready_) prepare();
    const double lr = step_learning_rate();
    const int n = std::min(batch_size_, kept_count());
    const int* idx = pass_.next(n);
    const float z0 = uses_reference_point_ ? estimate_reference_point(idx, n) : 0.0f;
    int completion_tokens = 0;
    const int tokens = fill(idx, n, z0, &completion_tokens);
    graph_.forward();
    params_.zero_grad();
    graph_.backward(loss_.loss);
    optimizer_step(m, lr);
    const float* lp = graph_.values(seq_logp_);
    double logp[2] = {0, 0};
    int count[2] = {0, 0};
    for (int i = 0; i < n; ++i) {
      const int side = examples_[static_cast<size_t>(idx[i])].desirable ? 0 : 1;
      logp[side] += lp[i];
      ++count[side];
    }
    ++iteration_;
    global_step_ += tokens;
    m.iteration = iteration_;
    m.global_step = global_step_;
    m.policy_loss = graph_.scalar(loss_.loss);
    m.entropy = graph_.scalar(entropy_sum_) / std::max(1, completion_tokens);
    m.extra_value(kChosenRewards) = graph_.scalar(loss_.chosen_rewards);
    m.extra_value(kRejectedRewards) = graph_.scalar(loss_.rejected_rewards);
    m.extra_value(kMargin) = graph_.scalar(loss_.margin);
    m.extra_value(kChosenLogps) = count[0] ? logp[0] / count[0] : Metrics::kNaN;
    m.extra_value(kRejectedLogps) = count[1] ? logp[1] / count[1] : Metrics::kNaN;
    m.extra_value(kReferencePoint) = z0;
    m.extra_value(kEpoch) = static_cast<double>(iteration_) * n / kept_count();
    if (iteration_ % eval_interval_ == 0 || iteration_ == max_steps_ || iteration_ == 1) evaluate();
    for (int k = 0; k < kEvalCount; ++k) m.extra_value(kHeldoutMargin + k) = last_eval_[k];
    m.extra_value(kHeldoutAccuracy) = last_heldout_accuracy_;
  }

  void write_state(ByteWriter& w) const override {
    write_common_state(w);
    w.put<uint8_t>(ready_ ? 1 : 0);
    for (double v : last_eval_) w.put<double>(v);
    if (!ready_) return;
    w.put<uint8_t>(paired_ ? 1 : 0);
    write_unpaired_examples(w, *task_, examples_);
    pass_.write(w);
    w.put_array(ref_logp_.data(), ref_logp_.size());
    w.put_array(ref_mismatched_.data(), ref_mismatched_.size());
    w.put_array(ref_params_.values().data(), static_cast<size_t>(ref_params_.total_size()));
  }

  void read_state(ByteReader& r) override {
    read_common_state(r);
    ready_ = r.get<uint8_t>("dataset flag") != 0;
    for (double& v : last_eval_) v = r.get<double>("evaluation");
    if (!ready_) return;
    KtoData d;
    d.paired = r.get<uint8_t>("pairs flag") != 0;
    d.examples = read_unpaired_examples(r, *task_, model_.spec().vocab);
    if (d.paired && d.examples.size() % 2 != 0) throw FormatError("paired KTO data with an odd number of examples");
    set_data(std::move(d));
    pass_.read(r, static_cast<int>(examples_.size()));
    for (int i : pass_.order)
      if (i >= train_count_) throw FormatError("example order out of the training split");
    r.get_array(ref_logp_.data(), ref_logp_.size(), "reference log-probabilities");
    r.get_array(ref_mismatched_.data(), ref_mismatched_.size(), "reference log-probabilities");
    r.get_array(ref_params_.values().data(), static_cast<size_t>(ref_params_.total_size()), "reference model");
  }

  Formula objective() const override { return graph_.formula(loss_.loss); }

  // --- KtoLearner ---
  void prepare() override {
    if (ready_) return;
    ref_params_.values() = params_.values();  // the reference is the policy the run starts from
    if (dataset_path_.empty()) {
      GenerateOptions o = generate_options(config_.values());
      Rng rng = preference_stream(seed_);
      KtoData d;
      d.paired = true;
      d.examples = unpaired_examples(generate_preferences(*task_, params_, sampler_, gold_, o, rng));
      set_data(std::move(d));
    } else if (!has_data_) {
      set_data(load_kto_file(dataset_path_, *task_));
    }
    // The reference's log-probabilities of every example and of the training examples' mismatched
    // rows, once (the policy is the reference now).
    const int n = static_cast<int>(examples_.size());
    std::vector<int> idx(static_cast<size_t>(batch_size_));
    for (int pass = 0; pass < 2; ++pass) {
      const bool mismatched = pass == 1;
      const int count = mismatched ? train_count_ : n;
      std::vector<float>& out = mismatched ? ref_mismatched_ : ref_logp_;
      for (int first = 0; first < count; first += batch_size_) {
        const int k = std::min(batch_size_, count - first);
        for (int i = 0; i < k; ++i) idx[static_cast<size_t>(i)] = first + i;
        lay_out(idx.data(), k, mismatched);
        graph_.forward(seq_logp_);
        const float* s = graph_.values(seq_logp_);
        for (int i = 0; i < k; ++i) out[static_cast<size_t>(first + i)] = s[i];
      }
    }
    pass_.shuffle();
    pass_.cursor = 0;
    ready_ = true;
  }

  const std::vector<UnpairedExample>& examples() const override { return examples_; }
  int train_examples() const override { return train_count_; }
  int kept_examples() const override { return kept_count(); }
  int mismatched(int i) const override { return mismatch_.at(static_cast<size_t>(i)); }

  double example_loss(const int* idx, int n, bool gradient, const float* fixed_z0) override {
    prepare();
    if (n < 1 || n > batch_size_) throw std::invalid_argument("example_loss: 1 to batch_size examples");
    for (int i = 0; i < n; ++i)
      if (idx[i] < 0 || idx[i] >= train_count_) throw std::invalid_argument("example_loss: a training example's index");
    last_z0_ = fixed_z0 ? *fixed_z0 : (uses_reference_point_ ? estimate_reference_point(idx, n) : 0.0f);
    fill(idx, n, last_z0_);
    graph_.forward();
    if (gradient) {
      params_.zero_grad();
      graph_.backward(loss_.loss);
    }
    const float* lp = graph_.values(seq_logp_);
    for (int i = 0; i < n; ++i) last_logp_[static_cast<size_t>(i)] = lp[i];
    return graph_.scalar(loss_.loss);
  }
  double logp(int i) const override { return last_logp_.at(static_cast<size_t>(i)); }
  double reference_point() const override { return last_z0_; }

 private:
  enum Extra {
    kChosenRewards, kRejectedRewards, kMargin, kChosenLogps, kRejectedLogps, kReferencePoint,
    kHeldoutMargin, kHeldoutRewardAccuracy, kKl, kGoldReward, kGoldRewardRef, kWinRate,  // the evaluation, in last_eval_'s order
    kHeldoutAccuracy, kEpoch
  };
  static constexpr int kEvalCount = kWinRate - kHeldoutMargin + 1;

  int kept_count() const { return static_cast<int>(pass_.order.size()); }

  // Takes the examples and splits them: the first train_count_ train (whole pairs when paired),
  // the rest are held out; keeps desirable_keep of the training split's desirable examples (chosen
  // by the seed) in the pass; fixes each training example's mismatched completion.
  void set_data(KtoData d) {
    const int n = static_cast<int>(d.examples.size());
    const int context = model_.spec().context;
    train_count_ = d.paired ? 2 * preference_train_count(n / 2, eval_fraction_, *task_, context, "pairs")
                            : preference_train_count(n, eval_fraction_, *task_, context, "examples");
    examples_ = std::move(d.examples);
    paired_ = d.paired;
    has_data_ = true;
    std::vector<int> desirable;
    for (int i = 0; i < train_count_; ++i)
      if (examples_[static_cast<size_t>(i)].desirable) desirable.push_back(i);
    Rng keep_rng = streams::stream(seed_, streams::kShuffle, 1);
    for (int i = static_cast<int>(desirable.size()) - 1; i > 0; --i)
      std::swap(desirable[static_cast<size_t>(i)], desirable[keep_rng.below(static_cast<uint32_t>(i + 1))]);
    const size_t keep = static_cast<size_t>(std::floor(desirable_keep_ * static_cast<double>(desirable.size()) + 0.5));
    std::vector<uint8_t> dropped(static_cast<size_t>(train_count_), 0);
    for (size_t k = keep; k < desirable.size(); ++k) dropped[static_cast<size_t>(desirable[k])] = 1;
    pass_.order.clear();
    for (int i = 0; i < train_count_; ++i)
      if (!dropped[static_cast<size_t>(i)]) pass_.order.push_back(i);
    if (pass_.order.empty())
      throw ConfigError("field 'desirable_keep': " + json(desirable_keep_).dump() + " leaves no training example");
    mismatch_.assign(static_cast<size_t>(train_count_), 0);
    for (int i = 0; i < train_count_; ++i) {
      int j = (i + train_count_ - 1) % train_count_;
      for (int k = 1; k < train_count_; ++k) {
        const int c = (i + train_count_ - k) % train_count_;
        if (examples_[static_cast<size_t>(c)].problem.prompt != examples_[static_cast<size_t>(i)].problem.prompt) {
          j = c;
          break;
        }
      }
      mismatch_[static_cast<size_t>(i)] = j;
    }
    ref_logp_.assign(static_cast<size_t>(n), 0.0f);
    ref_mismatched_.assign(static_cast<size_t>(train_count_), 0.0f);
    heldout_rewards_.assign(static_cast<size_t>(n - train_count_), 0.0);
  }

  // Lays out examples idx[0, n) as rows prompt + completion (with `mismatched`: the example's
  // prompt with its mismatched completion). Returns the real tokens.
  int lay_out(const int* idx, int n, bool mismatched, int* completion_tokens = nullptr) {
    auto completion = [&](int i) -> const std::vector<int>& {
      const int source = mismatched ? mismatch_[static_cast<size_t>(idx[i])] : idx[i];
      return examples_[static_cast<size_t>(source)].completion;
    };
    int longest = 2;
    for (int i = 0; i < n; ++i)
      longest = std::max(longest, static_cast<int>(examples_[static_cast<size_t>(idx[i])].problem.prompt.size() + completion(i).size()));
    const int T = longest - 1;
    int real = 0, completion_total = 0;
    for (int i = 0; i < n; ++i) {
      const std::vector<int>& y = completion(i);
      completion_total += static_cast<int>(y.size());
      real += set_completion_row(batch_, completion_mask_.data(), i, T, examples_[static_cast<size_t>(idx[i])].problem.prompt,
                                 y.data(), static_cast<int>(y.size()));
    }
    batch_.set_sizes(graph_, n, T);
    if (completion_tokens) *completion_tokens = completion_total;
    return real;
  }

  // Lays out examples idx[0, n) with their reference log-probabilities, labels and the reference point.
  int fill(const int* idx, int n, float z0, int* completion_tokens = nullptr) {
    const int tokens = lay_out(idx, n, false, completion_tokens);
    for (int i = 0; i < n; ++i) {
      ref_in_[static_cast<size_t>(i)] = ref_logp_[static_cast<size_t>(idx[i])];
      desirable_in_[static_cast<size_t>(i)] = examples_[static_cast<size_t>(idx[i])].desirable ? 1.0f : 0.0f;
      kl_in_[static_cast<size_t>(i)] = z0;
    }
    return tokens;
  }

  // z0 = max(0, mean_i log pi/pi_ref (y'_i | x_i)) over the examples' mismatched rows (a forward pass).
  float estimate_reference_point(const int* idx, int n) {
    lay_out(idx, n, true);
    graph_.forward(seq_logp_);
    for (int i = 0; i < n; ++i) mismatched_ref_[static_cast<size_t>(i)] = ref_mismatched_[static_cast<size_t>(idx[i])];
    return kto_reference_point(graph_.values(seq_logp_), mismatched_ref_.data(), n);
  }

  void evaluate() {
    const int n = static_cast<int>(examples_.size()), held = n - train_count_;
    double reward[2] = {0, 0};
    int count[2] = {0, 0};
    for (int first = train_count_; first < n; first += batch_size_) {
      const int k = std::min(batch_size_, n - first);
      for (int i = 0; i < k; ++i) scratch_idx_[static_cast<size_t>(i)] = first + i;
      lay_out(scratch_idx_.data(), k, false);
      graph_.forward(seq_logp_);
      const float* lp = graph_.values(seq_logp_);
      for (int i = 0; i < k; ++i) {
        const double r = beta_ * (static_cast<double>(lp[i]) - ref_logp_[static_cast<size_t>(first + i)]);
        heldout_rewards_[static_cast<size_t>(first + i - train_count_)] = r;
        const int side = examples_[static_cast<size_t>(first + i)].desirable ? 0 : 1;
        reward[side] += r;
        ++count[side];
      }
    }
    last_eval_[0] = count[0] && count[1] ? reward[0] / count[0] - reward[1] / count[1] : Metrics::kNaN;
    // Pairs ranked right, as DPO's held-out reward accuracy (train_count_ is even when paired).
    double right = 0;
    for (int i = 0; paired_ && i + 1 < held; i += 2) right += heldout_rewards_[static_cast<size_t>(i)] > heldout_rewards_[static_cast<size_t>(i + 1)];
    last_eval_[1] = paired_ && held >= 2 ? right / (held / 2) : Metrics::kNaN;
    gold_eval_->run(sampler_, params_, heldout_, gold_, seed_).store(last_eval_ + 2);
    evaluate_heldout();
  }

  GoldReward gold_;
  uint64_t seed_ = 0;
  std::string dataset_path_;
  double eval_fraction_ = 0.1, desirable_keep_ = 1.0, beta_ = 0.1;
  bool uses_reference_point_ = true;
  std::vector<UnpairedExample> examples_;
  bool paired_ = false, has_data_ = false, ready_ = false;
  int train_count_ = 0;
  PairOrder pass_;                  // the shuffled pass over the kept training examples
  std::vector<int> mismatch_;       // per training example: whose completion its mismatched row takes
  std::vector<float> ref_logp_;     // per example
  std::vector<float> ref_mismatched_;  // per training example: its mismatched row
  std::vector<double> heldout_rewards_;
  Parameters ref_params_;
  Graph graph_;
  TokenBatch batch_;
  UnpairedLossOutputs loss_;
  Expr seq_logp_, entropy_sum_;
  std::vector<float> completion_mask_, ref_in_, desirable_in_, kl_in_, mismatched_ref_;
  std::vector<double> last_logp_;
  std::vector<int> scratch_idx_;
  float last_z0_ = 0;
  // held-out margin, held-out pair accuracy, KL, gold reward (policy, reference), win rate
  double last_eval_[kEvalCount] = {Metrics::kNaN, Metrics::kNaN, Metrics::kNaN, Metrics::kNaN, Metrics::kNaN, Metrics::kNaN};
  std::unique_ptr<GoldEvaluation> gold_eval_;  // built once ref_params_ has its size (it keeps pointers into it)
};

}  // namespace

std::unique_ptr<Algorithm> make_kto(const Config& c) { return std::make_unique<Kto>(c); }

KtoLearner* kto_learner(Algorithm& algorithm) { return dynamic_cast<KtoLearner*>(&algorithm); }

}  // namespace pl
