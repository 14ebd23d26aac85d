// The re-encoding training run (reencoding_run.hpp): one class for every problem adapter.
#include "core/algos/reencoding_run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "core/algos/algorithm.hpp"
#include "core/algos/combo_baselines.hpp"
#include "core/combo/solvers.hpp"

namespace pl {

namespace {

// Instances decoded together in evaluation (at most).
constexpr int kEvalChunk = 32;
// Recorded decisions scored per tape pass of the training step (bounds the graph's memory: the
// attention buffers grow with rows x nodes^2, so fewer rows for more nodes).
constexpr int kTrainChunk = 512;
constexpr int kTrainChunkCells = 16384;
// The recorded decisions of one step (1 GB).
constexpr double kMaxRecordFloats = 2.5e8;

// The run's baseline from the config: pomo, exponential or rollout. critic and poppy are the
// Attention Model's (its encoder's graph embedding, its per-agent decoders): the config refuses them
// for these problems (the baseline field's choice conditions for job-shop and bin packing, the
// reencode field's check for TSP and CVRP), so they never reach here.
enum class Baseline { kPomo, kExponential, kRollout };
Baseline parse_baseline(const Config& c) {
  const std::string name = c.get_string("baseline");
  if (name == "pomo") return Baseline::kPomo;
  if (name == "exponential") return Baseline::kExponential;
  if (name == "rollout") return Baseline::kRollout;
  throw std::logic_error("re-encoding run: baseline '" + name + "' passed the config's checks");
}

double now_s() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

class ReencodingRun final : public ComboRun {
 public:
  ReencodingRun(const Config& c, std::unique_ptr<ReencodingRunProblem> problem)
      : ComboRun(c),
        problem_(std::move(problem)),
        B_(static_cast<int>(c.get_int("batch_size"))),
        S_(problem_->group()),
        model_(params_, reencoding_spec(c, problem_->node_dim())),
        baseline_(parse_baseline(c)),
        exp_(c.get_float("exp_beta")) {
    ReencodingRunProblem& p = *problem_;
    const int nodes = p.max_nodes(), F = p.node_dim(), rows = B_ * S_;
    // The recorded decisions of one step: B S trajectories x decisions x nodes x (F features + the
    // action mask + the encoder's mask, 4 bytes each; the last only for problems that mask it,
    // counted always: the bound stays simple and errs on the safe side).
    const double record_floats = static_cast<double>(rows) * p.max_decisions() * nodes * (F + 2);
    if (record_floats > kMaxRecordFloats)
      throw ConfigError("fields 'batch_size', 'n': one step of " + std::to_string(B_) + " instances x " +
                        std::to_string(S_) + " trajectories of " + combo::problem_name(p.kind()) + " size " +
                        std::to_string(p.n()) + " records " + std::to_string(static_cast<long long>(record_floats * 4 / 1e6)) +
                        " MB of decisions (at most " + std::to_string(static_cast<long long>(kMaxRecordFloats * 4 / 1e6)) +
                        " MB); lower batch_size");
    reference_name_ = p.reference(c);
    params_.finalize();
    const uint64_t seed = static_cast<uint64_t>(c.get_int("seed"));
    Rng init_rng = streams::stream(seed, streams::kInit);
    model_.init(params_, init_rng);
    optimizer_ = Optimizer(Optimizer::parse(c.get_string("optimizer")), params_.total_size(), c.get_float("adam_eps"));
    data_rng_ = streams::stream(seed, streams::kData);
    action_rng_ = streams::stream(seed, streams::kActions);

    heldout_size_ = static_cast<int>(c.get_int("heldout_size"));
    const int train_chunk = std::max(16, std::min(kTrainChunk, kTrainChunkCells / nodes));
    const int chunk = std::min(heldout_size_, std::max(1, std::min(kEvalChunk, train_chunk / S_)));
    p.make_policy(model_, params_, std::max({rows, train_chunk, chunk * S_}), B_, heldout_size_);
    record_.allocate(nodes, F, rows * p.max_decisions(), p.policy().problem().masks_encoder());
    inst_.assign(static_cast<size_t>(rows), 0);
    starts_.assign(static_cast<size_t>(rows), 0);
    for (int b = 0; b < B_; ++b)
      for (int s = 0; s < S_; ++s) {
        inst_[b * S_ + s] = b;
        starts_[b * S_ + s] = p.train_start(s);
      }
    objectives_.assign(static_cast<size_t>(rows), 0.0);
    adv_.assign(static_cast<size_t>(rows), 0.0f);

    // The held-out set's reference objectives.
    reference_.assign(static_cast<size_t>(heldout_size_), 0.0);
    double ref_sum = 0;
    for (int i = 0; i < heldout_size_; ++i) {
      reference_[i] = p.heldout_reference(i, reference_name_);
      ref_sum += reference_[i];
    }
    reference_mean_ = ref_sum / heldout_size_;
    eval_inst_.assign(static_cast<size_t>(chunk) * S_, 0);
    eval_starts_.assign(static_cast<size_t>(chunk) * S_, 0);
    eval_objectives_.assign(static_cast<size_t>(chunk) * S_, 0.0);
    heldout_objectives_.assign(static_cast<size_t>(heldout_size_), 0.0);

    if (baseline_ == Baseline::kRollout) {
      // The frozen copy: its own model over its own parameters, a copy of the initial policy.
      bl_epochs_ = RolloutBaselineEpochs(c, seed);
      bl_model_ = ReencodingModel(bl_params_, reencoding_spec(c, F));
      bl_params_.finalize();
      bl_params_.values() = params_.values();
      // Kool et al.'s b(s) is the frozen policy's greedy return on the state the trajectory's
      // log-probabilities condition on. With forced first nodes (job-shop's POMO starts) that state
      // is the instance after the forced first decision (the forced node has log-prob 0), so each
      // trajectory gets the greedy rollout forced to its own first node (as pomo.cpp's rollout
      // baseline starts from the trajectory's first action). A greedy rollout from the policy's own
      // first choice would also be unbiased (it does not depend on the action), but it would charge
      // each trajectory for the quality of a start it did not choose: larger variance. Without
      // forced starts (bin packing) every trajectory of an instance shares one greedy rollout.
      forced_starts_ = p.train_start(0) >= 0;
      bl_rows_ = forced_starts_ ? rows : B_;
      p.make_baseline_policy(bl_model_, bl_params_, std::max(bl_rows_, chunk), bl_epochs_.eval_size());
      bl_inst_.assign(static_cast<size_t>(bl_rows_), 0);
      bl_starts_.assign(static_cast<size_t>(bl_rows_), -1);
      for (int r = 0; r < bl_rows_; ++r) {
        bl_inst_[r] = forced_starts_ ? inst_[r] : r;
        if (forced_starts_) bl_starts_[r] = starts_[r];
      }
      bl_objectives_.assign(static_cast<size_t>(bl_rows_), 0.0);
      draw_baseline_eval_set();
    }
  }

  // --- Algorithm ---
  std::vector<std::string> extra_metrics() const override {
    // pomo's list, so every view reads both alike (critic_loss stays NaN; baseline_updates and
    // baseline_p_value are NaN without the rollout baseline).
    return combo_metric_names();
  }
  Formula objective() const override { return problem_->policy().formula(); }

  void iterate(Metrics& m) override {
    const double t0 = now_s();
    const double lr = step_learning_rate();
    const int rows = B_ * S_;
    combo::ReencodingPolicy& policy = problem_->policy();
    problem_->draw(data_rng_);
    record_.clear();
    policy.rollout(inst_.data(), rows, starts_.data(), /*greedy=*/false, &action_rng_, objectives_.data(), &record_);
    // Advantages R - b on the returns R = +-objective / Z (the instance's own scale).
    double sum_objective = 0;
    for (int r = 0; r < rows; ++r) sum_objective += objectives_[r];
    const double mean_objective = sum_objective / rows;
    double baseline_report = mean_objective;
    if (baseline_ == Baseline::kPomo)
      pomo_advantages();
    else if (baseline_ == Baseline::kExponential || bl_epochs_.warming_up(iteration_))
      baseline_report = exponential_advantages();  // also the rollout baseline's warm-up (Kool et al.)
    else
      baseline_report = rollout_advantages();

    // One REINFORCE step: the recorded decisions scored in chunks, gradients accumulated.
    params_.zero_grad();
    double loss = 0, sum_logp = 0;
    const float scale = 1.0f / static_cast<float>(rows);
    for (int first = 0; first < record_.count; first += policy.max_rows()) {
      const int count = std::min(policy.max_rows(), record_.count - first);
      loss += policy.accumulate(record_, first, count, adv_.data(), scale);
    }
    for (int d = 0; d < record_.count; ++d) sum_logp += record_.logp[d];
    const double norm = clip_grad_norm(params_.grads(), max_grad_norm_);
    if (std::isfinite(norm)) optimizer_.step(params_.values(), params_.grads(), lr);
    ++iteration_;
    global_step_ += rows;
    if (baseline_ == Baseline::kRollout && bl_epochs_.epoch_ends(iteration_)) baseline_epoch_end();
    if (iteration_ == 1 || iteration_ % eval_interval_ == 0 || iteration_ == max_steps_) evaluate_heldout();

    const double seconds = now_s() - t0;
    m.iteration = iteration_;
    m.global_step = global_step_;
    m.learning_rate = lr;
    m.policy_loss = loss;
    // Mean negative log-likelihood of the sampled decisions that had a choice: an estimate of the
    // policy's entropy per decision.
    m.entropy = record_.count > 0 ? -sum_logp / record_.count : 0.0;
    m.grad_norm = norm;
    m.grad_norm_clipped = (max_grad_norm_ > 0 && norm > max_grad_norm_) ? max_grad_norm_ : norm;
    m.update_epochs_run = 1;
    m.episodes = rows;
    m.episodic_return_mean = (problem_->maximize() ? 1.0 : -1.0) * mean_objective;
    m.extra_value(kTrainObjective) = mean_objective;
    m.extra_value(kBaselineValue) = baseline_report;
    m.extra_value(kHeldoutObjective) = heldout_objective_;
    m.extra_value(kHeldoutGap) = heldout_gap_;
    m.extra_value(kHeldoutMsObjective) = heldout_ms_objective_;
    m.extra_value(kHeldoutMsGap) = heldout_ms_gap_;
    m.extra_value(kReference) = reference_mean_;
    m.extra_value(kBaselineUpdates) =
        baseline_ == Baseline::kRollout ? static_cast<double>(bl_epochs_.updates()) : Metrics::kNaN;
    m.extra_value(kBaselineP) = bl_epochs_.last_p();  // NaN until the first t-test (and without one)
    m.extra_value(kInstancesPerS) = seconds > 0 ? B_ / seconds : Metrics::kNaN;
    m.extra_value(kCriticLoss) = Metrics::kNaN;
    if (m.layer_grad_norms.size() == static_cast<size_t>(params_.count()))
      for (int i = 0; i < params_.count(); ++i) m.layer_grad_norms[i] = params_.grad_norm(i);
  }

  void write_state(ByteWriter& w) const override {
    write_training_state(w, iteration_, global_step_, params_, optimizer_);
    put_rng(w, data_rng_);
    put_rng(w, action_rng_);
    for (double v : {heldout_objective_, heldout_gap_, heldout_ms_objective_, heldout_ms_gap_}) w.put<double>(v);
    // Only with those baselines, so the checkpoints of pomo-baseline runs keep their bytes.
    if (baseline_ != Baseline::kPomo) exp_.write(w);
    if (baseline_ == Baseline::kRollout) {
      bl_epochs_.write(w);
      w.put_array(bl_params_.values().data(), static_cast<size_t>(bl_params_.total_size()));
    }
  }
  void read_state(ByteReader& r) override {
    read_training_state(r, iteration_, global_step_, params_, optimizer_);
    get_rng(r, data_rng_, "data rng");
    get_rng(r, action_rng_, "action rng");
    heldout_objective_ = r.get<double>("heldout objective");
    heldout_gap_ = r.get<double>("heldout gap");
    heldout_ms_objective_ = r.get<double>("heldout multistart objective");
    heldout_ms_gap_ = r.get<double>("heldout multistart gap");
    if (baseline_ != Baseline::kPomo) exp_.read(r);
    if (baseline_ == Baseline::kRollout) {
      bl_epochs_.read(r);
      r.get_array(bl_params_.values().data(), static_cast<size_t>(bl_params_.total_size()), "baseline parameters");
      if (!bl_params_.values().allFinite()) throw FormatError("baseline parameters contain non-finite values");
      draw_baseline_eval_set();  // the set of the current frozen copy (drawn from the count of replacements)
    }
    if (!params_.values().allFinite()) throw FormatError("parameters contain non-finite values");
  }

  // --- ComboLearner ---
  combo::ProblemKind problem() const override { return problem_->kind(); }
  int n() const override { return problem_->n(); }
  const Parameters& model_params() const override { return params_; }
  const Parameters* baseline_params() const override {
    return baseline_ == Baseline::kRollout ? &bl_params_ : nullptr;
  }
  double solve(const std::vector<combo::AnyInstance>& instances, const combo::DecodeOptions& options, uint64_t seed,
               std::vector<std::vector<int>>& solutions, std::vector<double>& objectives) const override {
    // Decoding reads the parameters only; the policy's tape views take a mutable buffer.
    return problem_->solve(model_, const_cast<Parameters&>(params_), instances, options, seed, solutions, objectives);
  }

 private:
  enum Extra {
    kTrainObjective, kBaselineValue, kHeldoutObjective, kHeldoutGap, kHeldoutMsObjective, kHeldoutMsGap, kReference,
    kBaselineUpdates, kBaselineP, kInstancesPerS, kCriticLoss
  };

  // Objectives of the `count` instances of a set decoded by `policy` (the current or the frozen
  // one): one greedy trajectory (from the problem's start), or the problem's multi-trajectory decode
  // (every forced start, greedy; or S samples from a fixed seed, so every evaluation draws alike)
  // with the best per instance.
  void decode(combo::ReencodingPolicy& policy, RunSet set, int count, bool multi, double* out) {
    ReencodingRunProblem& p = *problem_;
    p.use(set);
    const int chunk = static_cast<int>(eval_inst_.size()) / S_;
    const int per = multi ? S_ : 1;
    const bool greedy = !multi || p.heldout_multistart();
    Rng rng(kEvalSampleSeed);
    for (int first = 0; first < count; first += chunk) {
      const int k = std::min(chunk, count - first);
      for (int i = 0; i < k; ++i)
        for (int s = 0; s < per; ++s) {
          eval_inst_[i * per + s] = first + i;
          eval_starts_[i * per + s] = multi ? (p.heldout_multistart() ? p.train_start(s) : -1) : p.greedy_start(set, first + i);
        }
      policy.rollout(eval_inst_.data(), k * per, eval_starts_.data(), greedy, greedy ? nullptr : &rng,
                     eval_objectives_.data());
      for (int i = 0; i < k; ++i) {
        const double* v = &eval_objectives_[static_cast<size_t>(i) * per];
        out[first + i] = p.maximize() ? *std::max_element(v, v + per) : *std::min_element(v, v + per);
      }
    }
  }

  void evaluate_heldout() {
    double* objectives = heldout_objectives_.data();
    const bool maximize = problem_->maximize();
    auto summarise = [&](double& mean_objective, double& mean_gap) {
      double sum = 0, sum_gap = 0;
      for (int i = 0; i < heldout_size_; ++i) {
        sum += objectives[i];
        // How much worse than the reference: objective / reference - 1, or 1 - objective / reference.
        if (reference_[i] > 0) sum_gap += maximize ? 1 - objectives[i] / reference_[i] : objectives[i] / reference_[i] - 1;
      }
      mean_objective = sum / heldout_size_;
      mean_gap = 100.0 * sum_gap / heldout_size_;  // mean per-instance gap, in percent
    };
    decode(problem_->policy(), RunSet::kHeldout, heldout_size_, false, objectives);
    summarise(heldout_objective_, heldout_gap_);
    decode(problem_->policy(), RunSet::kHeldout, heldout_size_, true, objectives);
    summarise(heldout_ms_objective_, heldout_ms_gap_);
  }

  // POMO's shared baseline (Kwon et al. 2020, Eq. 3): b = the mean return of the instance's S
  // trajectories.
  void pomo_advantages() {
    const int S = S_;
    const double sign = problem_->maximize() ? 1.0 : -1.0;
    for (int b = 0; b < B_; ++b) {
      const double* v = &objectives_[static_cast<size_t>(b) * S];
      double mean = 0;
      for (int s = 0; s < S; ++s) mean += v[s];
      mean /= S;
      const double Z = problem_->scale(b);
      for (int s = 0; s < S; ++s) adv_[static_cast<size_t>(b) * S + s] = static_cast<float>(sign * (v[s] - mean) / Z);
    }
  }

  // The exponential baseline (Kool et al. 2019, Sec. 4): b <- beta b + (1 - beta) mean_{b,s} R_bs,
  // started at the first batch's mean, kept on the scaled returns R = +-objective / Z so that every
  // trajectory's advantage is R - b in one unit whatever the instance's scale. Returns what b stands
  // for in objective units on this batch (sign undone, times each instance's Z, averaged), so the
  // reported baseline_value reads next to train_objective (3-D packing, Z = 1: b itself).
  double exponential_advantages() {
    const int S = S_;
    const double sign = problem_->maximize() ? 1.0 : -1.0;
    double sum_return = 0;
    for (int b = 0; b < B_; ++b) {
      const double Z = problem_->scale(b);
      for (int s = 0; s < S; ++s) sum_return += sign * objectives_[static_cast<size_t>(b) * S + s] / Z;
    }
    const double value = exp_.update(sum_return / (B_ * S));
    double sum_report = 0;
    for (int b = 0; b < B_; ++b) {
      const double Z = problem_->scale(b);
      sum_report += sign * value * Z;
      for (int s = 0; s < S; ++s) {
        const size_t r = static_cast<size_t>(b) * S + s;
        adv_[r] = static_cast<float>(sign * objectives_[r] / Z - value);
      }
    }
    return sum_report / B_;
  }

  // The greedy-rollout baseline (Kool et al. 2019, Sec. 4, Alg. 1): b(s) = the frozen policy's
  // greedy objective on the same instance (from the trajectory's forced first node, if any; see the
  // constructor), advantage (R - b) = +-(objective - b) / Z. Returns the mean baseline objective.
  double rollout_advantages() {
    const int S = S_;
    const double sign = problem_->maximize() ? 1.0 : -1.0;
    problem_->baseline_policy().rollout(bl_inst_.data(), bl_rows_, bl_starts_.data(), /*greedy=*/true, nullptr,
                                        bl_objectives_.data());
    double sum = 0;
    for (int b = 0; b < B_; ++b) {
      const double Z = problem_->scale(b);
      for (int s = 0; s < S; ++s) {
        const size_t r = static_cast<size_t>(b) * S + s;
        const double v = bl_objectives_[forced_starts_ ? r : static_cast<size_t>(b)];
        adv_[r] = static_cast<float>(sign * (objectives_[r] - v) / Z);
        sum += v;
      }
    }
    return sum / (B_ * S);
  }

  void draw_baseline_eval_set() {
    Rng rng = bl_epochs_.eval_set_rng();
    problem_->draw_baseline_eval(rng);
  }

  // The end of a rollout-baseline epoch (RolloutBaselineEpochs): the candidate (current) and the
  // frozen policy decode the evaluation set greedily (one trajectory each, from the problem's
  // single start); the t-test decides whether the frozen copy becomes the current parameters.
  void baseline_epoch_end() {
    const int m = bl_epochs_.eval_size();
    decode(problem_->policy(), RunSet::kBaselineEval, m, false, bl_epochs_.candidate());
    decode(problem_->baseline_policy(), RunSet::kBaselineEval, m, false, bl_epochs_.baseline());
    if (bl_epochs_.test(problem_->maximize())) {
      bl_params_.values() = params_.values();
      draw_baseline_eval_set();
    }
  }

  static constexpr uint64_t kEvalSampleSeed = 0x6576616c;  // "eval"

  std::unique_ptr<ReencodingRunProblem> problem_;
  int B_, S_;
  ReencodingModel model_;
  Baseline baseline_;
  ExponentialBaseline exp_;  // exponential, and rollout's warm-up
  Optimizer optimizer_;
  Rng data_rng_, action_rng_;

  combo::DecisionRecord record_;
  std::vector<int> inst_, starts_;
  std::vector<double> objectives_;
  std::vector<float> adv_;

  int heldout_size_ = 0;
  std::vector<double> reference_, heldout_objectives_, eval_objectives_;
  std::vector<int> eval_inst_, eval_starts_;
  std::string reference_name_;
  double reference_mean_ = 0;
  double heldout_objective_ = Metrics::kNaN, heldout_gap_ = Metrics::kNaN, heldout_ms_objective_ = Metrics::kNaN,
         heldout_ms_gap_ = Metrics::kNaN;

  // Rollout baseline: the frozen copy (its own model over its own parameters; the problem's
  // baseline policy refers to both), its greedy rollouts of the training batch, the epochs.
  RolloutBaselineEpochs bl_epochs_;
  Parameters bl_params_;
  ReencodingModel bl_model_;
  bool forced_starts_ = false;
  int bl_rows_ = 0;
  std::vector<int> bl_inst_, bl_starts_;
  std::vector<double> bl_objectives_;
};

}  // namespace

ReencodingSpec reencoding_spec(const Config& c, int node_dim) {
  ReencodingSpec s;
  s.node_dim = node_dim;
  read_encoder_shape(c, s);
  return s;
}

std::unique_ptr<Algorithm> make_reencoding_run(const Config& c, std::unique_ptr<ReencodingRunProblem> problem) {
  return std::make_unique<ReencodingRun>(c, std::move(problem));
}

}  // namespace pl
