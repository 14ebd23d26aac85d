// `pomo` with `problem: jobshop`: a learned job-shop dispatching policy (issue #9). The MDP is L2D's
// (Zhang et al. 2020, Sec. 3: action = a job, its next operation placed with left shift; mask =
// jobs with operations left); the policy re-encodes the state at every decision (BQ-NCO, Drakulic
// et al. 2023), core/nn/reencoding_model.hpp over core/combo/jobshop_policy.hpp's job features.
//
// Training (REINFORCE with POMO's shared baseline, Kwon et al. 2020, Sec. 4.1-4.2): each of the
// batch_size fresh instances (Taillard's generator, as L2D trains) is rolled out n times, trajectory
// j forced to dispatch job j first, then sampling from the policy. The return of a trajectory is
// R = -makespan / Z (Z the instance's largest total job work: L2D's step rewards C_LB(before) -
// C_LB(after) sum to C_LB(start) - makespan, a constant of the instance minus the makespan; the
// division by Z weighs instances by relative makespan, as the gap is measured). POMO's baseline is
// the mean return of the instance's n trajectories (POMO Eq. 3), and
//     loss = -1/(B n) sum_{b,s} (R_bs - b_b) sum_t log p_theta(a_t | s_t)       (POMO Eq. 4)
// summed over the recorded decisions with two or more allowed jobs (the others have log-prob 0),
// scored in chunks of the same tape pass that decoded them (gradients accumulate). One Adam step
// with global-norm clipping per iteration. Held-out evaluation as pomo's: greedy (one trajectory
// from jobshop_single_start) and multi-start (every first job, greedy; the best one counts)
// against branch-and-bound (exact, up to 6 x 6) or the MWKR rule.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include "core/algos/algorithm.hpp"
#include "core/algos/combo.hpp"
#include "core/combo/jobshop_policy.hpp"
#include "core/combo/policy_decoder.hpp"
#include "core/combo/solvers.hpp"
#include "core/nn/reencoding_model.hpp"

namespace pl {

namespace {

// Its own held-out seed (every job-shop run evaluates on the same instances whatever its seed).
constexpr uint64_t kJobShopHeldoutSeed = 0x6a6f6273686f70ULL;  // "jobshop"
// Instances decoded together in evaluation.
constexpr int kEvalChunk = 32;
// Recorded decisions scored per tape pass of the training step (bounds the graph's memory).
constexpr int kTrainChunk = 512;
// Taillard's generator's limit (generate_jobshop), and the recorded decisions of one step (1 GB).
constexpr int kMaxJobs = 100;
constexpr double kMaxRecordFloats = 2.5e8;

double now_s() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

ReencodingSpec jobshop_spec(const Config& c) {
  ReencodingSpec s;
  s.node_dim = combo::kJobShopFeatures;
  s.d_model = static_cast<int>(c.get_int("d_model"));
  s.n_heads = static_cast<int>(c.get_int("n_heads"));
  s.n_layers = static_cast<int>(c.get_int("n_layers"));
  s.d_ff = static_cast<int>(c.get_int("d_ff"));
  s.tanh_clip = static_cast<float>(c.get_float("tanh_clip"));
  if (s.d_model % s.n_heads != 0)
    throw ConfigError("field 'n_heads' must divide d_model = " + std::to_string(s.d_model) + ", got " +
                      std::to_string(s.n_heads));
  return s;
}

// The held-out gap's reference: the config's (a job-shop solver), or auto: branch and bound (exact)
// up to 6 x 6, else MWKR (the best of the four rules on L2D's 6 x 6 to 20 x 20 instances, and here).
std::string jobshop_reference(const Config& c, int n, int m) {
  std::string name = c.get_string("reference");
  if (name == "auto") name = (n <= 6 && m <= 6) ? "branch-and-bound" : "mwkr";
  try {
    combo::find_solver(combo::ProblemKind::JobShop, name);
  } catch (const combo::ComboError& e) {
    throw ConfigError(std::string("field 'reference': ") + e.what());
  }
  if (name == "branch-and-bound" && (n > 6 || m > 6))
    throw ConfigError("field 'reference': branch-and-bound solves job-shop up to 6 x 6, got " + std::to_string(n) +
                      " x " + std::to_string(m) + " (use mwkr)");
  return name;
}

class PomoJobShop final : public ComboRun {
 public:
  explicit PomoJobShop(const Config& c)
      : ComboRun(c),
        n_(static_cast<int>(c.get_int("n"))),
        m_(static_cast<int>(c.get_int("machines"))),
        B_(static_cast<int>(c.get_int("batch_size"))),
        S_(n_),
        model_(params_, jobshop_spec(c)) {
    if (n_ > kMaxJobs)
      throw ConfigError("field 'n': problem jobshop takes at most " + std::to_string(kMaxJobs) + " jobs, got " +
                        std::to_string(n_));
    // The recorded decisions of one step (B n trajectories x (n m - 1) decisions x n jobs x F features).
    const double record_floats = static_cast<double>(B_) * n_ * (n_ * m_ - 1) * n_ * combo::kJobShopFeatures;
    if (record_floats > kMaxRecordFloats)
      throw ConfigError("fields 'batch_size', 'n', 'machines': one step of " + std::to_string(B_) + " instances x " +
                        std::to_string(n_) + " starts of " + std::to_string(n_) + " x " + std::to_string(m_) +
                        " records " + std::to_string(static_cast<long long>(record_floats * 4 / 1e6)) +
                        " MB of decisions (at most " + std::to_string(static_cast<long long>(kMaxRecordFloats * 4 / 1e6)) +
                        " MB); lower batch_size");
    if (c.get_string("baseline") != "pomo")
      throw ConfigError("field 'baseline': problem jobshop trains with pomo (the multi-start shared baseline), got '" +
                        c.get_string("baseline") + "'");
    params_.finalize();
    const uint64_t seed = static_cast<uint64_t>(c.get_int("seed"));
    Rng init_rng = streams::stream(seed, streams::kInit);
    model_.init(params_, init_rng);
    optimizer_ = Optimizer(Optimizer::parse(c.get_string("optimizer")), params_.total_size(), c.get_float("adam_eps"));
    data_rng_ = streams::stream(seed, streams::kData);
    action_rng_ = streams::stream(seed, streams::kActions);

    const int rows = B_ * S_;
    heldout_size_ = static_cast<int>(c.get_int("heldout_size"));
    const int chunk = std::min(heldout_size_, kEvalChunk);
    policy_ = std::make_unique<combo::JobShopPolicy>(model_, params_, std::max({rows, kTrainChunk, chunk * S_}), n_, m_);
    batch_.allocate(n_, m_, B_);
    record_.allocate(n_, rows * (n_ * m_ - 1));
    inst_.assign(static_cast<size_t>(rows), 0);
    starts_.assign(static_cast<size_t>(rows), 0);
    for (int b = 0; b < B_; ++b)
      for (int s = 0; s < S_; ++s) {
        inst_[b * S_ + s] = b;
        starts_[b * S_ + s] = s;  // POMO: trajectory s dispatches job s first
      }
    makespans_.assign(static_cast<size_t>(rows), 0.0);
    adv_.assign(static_cast<size_t>(rows), 0.0f);

    // Held-out set and its reference makespans.
    heldout_ = combo::generate_jobshop(n_, m_, heldout_size_, kJobShopHeldoutSeed);
    reference_name_ = jobshop_reference(c, n_, m_);
    reference_.assign(static_cast<size_t>(heldout_size_), 0.0);
    double ref_sum = 0;
    for (int i = 0; i < heldout_size_; ++i) {
      reference_[i] = combo::solve(combo::AnyInstance(heldout_.instance(i)), reference_name_).objective;
      ref_sum += reference_[i];
    }
    reference_mean_ = ref_sum / heldout_size_;
    eval_inst_.assign(static_cast<size_t>(chunk) * S_, 0);
    eval_starts_.assign(static_cast<size_t>(chunk) * S_, 0);
    eval_makespans_.assign(static_cast<size_t>(chunk) * S_, 0.0);
    heldout_objectives_.assign(static_cast<size_t>(heldout_size_), 0.0);
  }

  // --- Algorithm ---
  std::vector<std::string> extra_metrics() const override {
    // pomo's list, so every view reads both alike (the rollout-baseline and critic entries stay NaN).
    return combo_metric_names();
  }
  Formula objective() const override { return policy_->formula(); }

  void iterate(Metrics& m) override {
    const double t0 = now_s();
    const double lr = step_learning_rate();
    const int S = S_, rows = B_ * S_;
    batch_.draw(data_rng_, 0, B_);
    record_.clear();
    policy_->rollout(batch_, inst_.data(), rows, starts_.data(), /*greedy=*/false, &action_rng_, makespans_.data(),
                     &record_);
    // POMO's shared baseline on R = -makespan / Z (the instance's own scale).
    double sum_makespan = 0;
    for (int b = 0; b < B_; ++b) {
      const double* v = &makespans_[static_cast<size_t>(b) * S];
      double mean = 0;
      for (int s = 0; s < S; ++s) mean += v[s];
      mean /= S;
      sum_makespan += mean * S;
      const double Z = combo::jobshop_scale(batch_, b);
      for (int s = 0; s < S; ++s) adv_[static_cast<size_t>(b) * S + s] = static_cast<float>(-(v[s] - mean) / Z);
    }
    const double mean_makespan = sum_makespan / rows;

    // One REINFORCE step: the recorded decisions scored in chunks, gradients accumulated.
    params_.zero_grad();
    double loss = 0, sum_logp = 0;
    const float scale = 1.0f / static_cast<float>(rows);
    for (int first = 0; first < record_.count; first += policy_->max_rows()) {
      const int count = std::min(policy_->max_rows(), record_.count - first);
      loss += policy_->accumulate(record_, first, count, adv_.data(), scale);
    }
    for (int d = 0; d < record_.count; ++d) sum_logp += record_.logp[d];
    const double norm = clip_grad_norm(params_.grads(), max_grad_norm_);
    if (std::isfinite(norm)) optimizer_.step(params_.values(), params_.grads(), lr);
    ++iteration_;
    global_step_ += rows;
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
    m.episodic_return_mean = -mean_makespan;
    m.extra_value(kTrainObjective) = mean_makespan;
    m.extra_value(kBaselineValue) = mean_makespan;
    m.extra_value(kHeldoutObjective) = heldout_objective_;
    m.extra_value(kHeldoutGap) = heldout_gap_;
    m.extra_value(kHeldoutMsObjective) = heldout_ms_objective_;
    m.extra_value(kHeldoutMsGap) = heldout_ms_gap_;
    m.extra_value(kReference) = reference_mean_;
    m.extra_value(kBaselineUpdates) = Metrics::kNaN;
    m.extra_value(kBaselineP) = Metrics::kNaN;
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
  }
  void read_state(ByteReader& r) override {
    read_training_state(r, iteration_, global_step_, params_, optimizer_);
    get_rng(r, data_rng_, "data rng");
    get_rng(r, action_rng_, "action rng");
    heldout_objective_ = r.get<double>("heldout objective");
    heldout_gap_ = r.get<double>("heldout gap");
    heldout_ms_objective_ = r.get<double>("heldout multistart objective");
    heldout_ms_gap_ = r.get<double>("heldout multistart gap");
    if (!params_.values().allFinite()) throw FormatError("parameters contain non-finite values");
  }

  // --- ComboLearner ---
  combo::ProblemKind problem() const override { return combo::ProblemKind::JobShop; }
  int n() const override { return n_; }
  const Parameters& model_params() const override { return params_; }
  double solve(const std::vector<combo::AnyInstance>& instances, const combo::DecodeOptions& options, uint64_t seed,
               std::vector<std::vector<int>>& solutions, std::vector<double>& objectives) const override {
    // Decoding reads the parameters only; the policy's tape views take a mutable buffer.
    return combo::solve_jobshop_instances(model_, const_cast<Parameters&>(params_), instances, options, seed, solutions,
                                          objectives);
  }

 private:
  enum Extra {
    kTrainObjective, kBaselineValue, kHeldoutObjective, kHeldoutGap, kHeldoutMsObjective, kHeldoutMsGap, kReference,
    kBaselineUpdates, kBaselineP, kInstancesPerS, kCriticLoss
  };

  // Makespans of the held-out set, greedy (one trajectory from the MWKR job) or multi-start (every
  // first job, greedy; the shortest counts).
  void decode_heldout(bool multistart, double* out) {
    const int chunk = static_cast<int>(eval_inst_.size()) / S_;
    const int per = multistart ? S_ : 1;
    for (int first = 0; first < heldout_size_; first += chunk) {
      const int k = std::min(chunk, heldout_size_ - first);
      for (int i = 0; i < k; ++i)
        for (int s = 0; s < per; ++s) {
          eval_inst_[i * per + s] = first + i;
          eval_starts_[i * per + s] = multistart ? s : combo::jobshop_single_start(heldout_, first + i);
        }
      policy_->rollout(heldout_, eval_inst_.data(), k * per, eval_starts_.data(), /*greedy=*/true, nullptr,
                       eval_makespans_.data());
      for (int i = 0; i < k; ++i)
        out[first + i] = *std::min_element(&eval_makespans_[static_cast<size_t>(i) * per],
                                           &eval_makespans_[static_cast<size_t>(i) * per] + per);
    }
  }

  void evaluate_heldout() {
    double* objectives = heldout_objectives_.data();
    auto summarise = [&](double& mean_objective, double& mean_gap) {
      double sum = 0, sum_gap = 0;
      for (int i = 0; i < heldout_size_; ++i) {
        sum += objectives[i];
        if (reference_[i] > 0) sum_gap += objectives[i] / reference_[i] - 1;
      }
      mean_objective = sum / heldout_size_;
      mean_gap = 100.0 * sum_gap / heldout_size_;  // mean per-instance gap, in percent
    };
    decode_heldout(false, objectives);
    summarise(heldout_objective_, heldout_gap_);
    decode_heldout(true, objectives);
    summarise(heldout_ms_objective_, heldout_ms_gap_);
  }

  int n_, m_, B_, S_;
  ReencodingModel model_;
  Optimizer optimizer_;
  Rng data_rng_, action_rng_;

  std::unique_ptr<combo::JobShopPolicy> policy_;
  combo::JobShopBatch batch_;
  combo::DecisionRecord record_;
  std::vector<int> inst_, starts_;
  std::vector<double> makespans_;
  std::vector<float> adv_;

  int heldout_size_ = 0;
  combo::JobShopBatch heldout_;
  std::vector<double> reference_, heldout_objectives_, eval_makespans_;
  std::vector<int> eval_inst_, eval_starts_;
  std::string reference_name_;
  double reference_mean_ = 0;
  double heldout_objective_ = Metrics::kNaN, heldout_gap_ = Metrics::kNaN, heldout_ms_objective_ = Metrics::kNaN,
         heldout_ms_gap_ = Metrics::kNaN;
};

}  // namespace

std::unique_ptr<Algorithm> make_pomo_jobshop(const Config& c) { return std::make_unique<PomoJobShop>(c); }

}  // namespace pl
