// REINFORCE for the Attention Model on TSP, CVRP and 0-1 knapsack (`problem`; the problems'
// features, masks and decoder contexts are core/combo/policy_env.hpp's), with three baselines:
//  - pomo:        POMO (Kwon et al. 2020, Sec. 4.2): every instance is rolled out from each of its
//                 n first actions (TSP every city, CVRP every customer, knapsack every item); the
//                 shared baseline of the n trajectories is their mean return,
//                 b(s) = (1/n) sum_j R(tau_j) (POMO Eq. 3);
//  - rollout:     the greedy-rollout baseline (Kool et al. 2019, Sec. 4, Alg. 1): b(s) = cost of the
//                 greedy solution of a frozen copy of the policy from the same first action; every
//                 bl_interval steps the current policy and the baseline policy decode a fixed
//                 evaluation set greedily, and the baseline is replaced when a one-sided paired
//                 t-test at level bl_alpha says the current policy is better (then the evaluation
//                 set is drawn anew). During the first bl_interval steps the exponential baseline is
//                 used (Kool et al.'s warm-up);
//  - exponential: the exponential moving average of the batch's mean cost, b <- beta b + (1 - beta)
//                 mean(L) (Kool et al. 2019, Sec. 4), started at the first batch's mean (warm-up);
//  - poppy:       a population of K agents (Grinsztajn et al. 2023, "Winner Takes It All: Training
//                 Performant RL Populations for Combinatorial Optimization", NeurIPS; `population`
//                 = K >= 2): the agents share the encoder and each has its own decoder
//                 (AttentionModelSpec::population). Every agent rolls out every instance from each
//                 of POMO's n first actions; for each (instance, first action) only the best agent's
//                 trajectory is trained, with advantage R(tau*) - R(tau**), the best minus the
//                 second-best agent's return (Poppy Alg. 1 / Eq. 3: the gradient of the population's
//                 max return; a tie gives 0). Each (instance, first action) pair is one instance of
//                 Poppy's objective here, so agents are compared on trajectories with the same start;
//                 at inference the population decodes together and the best solution wins. Poppy
//                 starts from a trained single policy whose decoder it clones K times (its phase 2):
//                 `init_from` a single policy's checkpoint of the same model does that.
//  - critic:      a learned value of the instance, b(s) = v_phi(s) (the critic baseline Kool et al.
//                 2019, Sec. 4 and App. B compare against; Bello et al. 2016's actor-critic): a
//                 2-layer MLP on the policy encoder's graph embedding hbar, read through a stop-gradient
//                 (the critic does not shape the policy's encoder), trained by its own Adam on
//                 mean (v_phi(s) - L)^2 at the same learning rate; v_phi is evaluated before the
//                 policy's step and the gradient clip applies to the policy alone.
// One trajectory per instance for rollout, exponential and critic, from a uniformly drawn first action (the
// first node of a TSP tour does not change its length); n per instance (and per agent) for pomo and poppy.
//
// Loss (REINFORCE, Williams 1992; AM Eq. 9-10; POMO Eq. 4): with the reward R = -L (tour or route
// length; for knapsack R = the value packed),
//     loss = -mean_{b,s} (R(tau_bs) - b_bs) * log p_theta(tau_bs),
// (Poppy: summed over the agents, each with its own trajectories and advantages, 0 where it lost)
//     log p_theta(tau) = sum_t log p_theta(pi_t | s, pi_<t),
// computed in one batched tape pass from the sampled actions (AttentionModel::step_log_probs).
// One iteration: batch_size fresh instances (policy_env.hpp's generators), sampled trajectories, one
// Adam step with global-norm clipping. Every eval_interval steps (and at the first and last): greedy
// and multi-start decoding of a fixed held-out set, mean objective and gap to a reference solver.
// Objectives are in the problem's own units (lengths, values); baselines and the reported
// `train_objective`, `baseline_value`, `heldout_objective` too; the gap is how much worse than the
// reference, in percent (length / reference - 1, or 1 - value / reference).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>

#include "core/algos/algorithm.hpp"
#include "core/algos/combo.hpp"
#include "core/algos/combo_baselines.hpp"
#include "core/algos/registry.hpp"
#include "core/combo/solvers.hpp"
#include "core/util/parallel.hpp"

namespace pl {

namespace {
// critic and poppy are the Attention Model's (its graph embedding, its decoders). Only where reencode
// applies (tsp, cvrp): elsewhere its own applies-when message says it does not apply.
void check_reencode(const json& v) {
  const std::string baseline = v.at("baseline").get<std::string>(), problem = v.at("problem").get<std::string>();
  if (v.at("reencode").get<bool>() && (problem == "tsp" || problem == "cvrp") &&
      (baseline == "critic" || baseline == "poppy"))
    throw ConfigError("field 'reencode': the re-encoding policy trains with baseline pomo, rollout or exponential, "
                      "got " + baseline + " (the Attention Model's)");
}

// Poppy's population needs the poppy baseline and the poppy baseline a population.
void check_population(const json& values) {
  const bool poppy = values.at("baseline").get<std::string>() == "poppy";
  const int64_t K = values.at("population").get<int64_t>();
  if (poppy && K < 2)
    throw ConfigError("field 'population' must be >= 2 with baseline poppy (the best agent learns against the "
                      "second best), got " + std::to_string(K));
  if (!poppy && K != 1)
    throw ConfigError("field 'population' is Poppy's (baseline poppy); baseline '" +
                      values.at("baseline").get<std::string>() + "' trains one agent, got population " +
                      std::to_string(K));
}

}  // namespace

Schema pomo_schema() {
  Schema schema = make_combo_schema(
      "pomo",
      "REINFORCE for the Attention Model on TSP, CVRP and knapsack (POMO's multi-start shared baseline, Kool et "
      "al.'s greedy-rollout baseline, an exponential or critic baseline, Poppy populations), and for policies "
      "re-encoding every state on job-shop (multi-start), TSP and CVRP (reencode: BQ-NCO's sub-problem, multi-start) and online 1-D/3-D bin packing (sampled shared baseline; "
      "or Kool et al.'s rollout or exponential baseline)",
      {
          // POMO's Adam step size for TSP (Kwon et al. 2020, Sec. 5: 1e-4, no decay), AM's
          // gradient clip (Kool et al. 2019: max norm 1).
          make_field("learning_rate", FieldType::Float, 1e-4, 0, 1, "optim",
                     "Adam step size (start value when anneal_lr is on)", true),
          make_field("anneal_lr", FieldType::Bool, false, 0, 0, "optim", "decay the learning rate linearly to 0 over the run"),
          make_field("adam_eps", FieldType::Float, 1e-8, 1e-12, 1, "optim", "epsilon added to Adam's denominator"),
          make_field("max_grad_norm", FieldType::Float, 1.0, 0, 1e6, "optim", "global gradient-norm clip; 0 disables",
                     true),
          // critic and poppy are the Attention Model's (its graph embedding, its decoders).
          choice_applies_when(
              choice_applies_when(
                  make_field("baseline", FieldType::String, "pomo", 0, 0, "loss",
                             "REINFORCE baseline: pomo (mean over the n multi-start trajectories of an instance, or "
                             "the `samples` samples), rollout (greedy rollout of a frozen policy, t-test replacement), "
                             "exponential (moving average of the cost), critic (a learned value of the instance on the "
                             "encoder's graph embedding), poppy (a population of `population` agents: only the best "
                             "agent per instance and first action learns, on the best minus the second-best return). "
                             "critic and poppy: problems tsp, cvrp and knapsack, not with reencode",
                             false, {"pomo", "rollout", "exponential", "critic", "poppy"}),
                  "critic", "problem", {"tsp", "cvrp", "knapsack"}),
              "poppy", "problem", {"tsp", "cvrp", "knapsack"}),
          // BQ-NCO's re-encoding for TSP and CVRP (pomo_routing_reencoding.cpp); job-shop and bin
          // packing always re-encode, knapsack uses the Attention Model.
          applies_when(make_field("reencode", FieldType::Bool, false, 0, 0, "model",
                                  "re-encode the remaining sub-problem (current node, unvisited nodes, destination: "
                                  "the first city, or the depot with the remaining capacity) at every step, as BQ-NCO "
                                  "(Drakulic et al. 2023), instead of encoding the instance once (the Attention Model)"),
                       "problem", {"tsp", "cvrp"}),
          applies_when(make_field("population", FieldType::Int, 1, 1, 32, "loss",
                                  "Poppy: agents sharing the encoder, each with its own decoder (at least 2)"),
                       "baseline", {"poppy"}),
          applies_when(make_field("exp_beta", FieldType::Float, 0.8, 0, 1, "loss",
                                  "exponential baseline: weight of the old value (Kool et al.: 0.8); also the rollout "
                                  "baseline's warm-up"),
                       "baseline", {"exponential", "rollout"}),
          applies_when(make_field("bl_interval", FieldType::Int, 100, 1, 1000000, "loss",
                                  "rollout baseline: gradient steps per epoch (the t-test runs at the end of each)"),
                       "baseline", {"rollout"}),
          applies_when(make_field("bl_eval_size", FieldType::Int, 512, 2, 100000, "loss",
                                  "rollout baseline: instances of the t-test's evaluation set (Kool et al.: 10000)"),
                       "baseline", {"rollout"}),
          applies_when(make_field("bl_alpha", FieldType::Float, 0.05, 0, 1, "loss",
                                  "rollout baseline: significance level of the one-sided paired t-test"),
                       "baseline", {"rollout"}),
      });
  for (FieldSpec& f : schema.fields) {
    if (f.name == "population") f.check = check_population;
    if (f.name == "reencode") f.check = check_reencode;
  }
  return schema;
}

// ---------------------------------------------------------------------------------------------
// The t-test

namespace {
// Regularised incomplete beta I_x(a, b) by its continued fraction (DLMF 8.17.22), evaluated with
// the modified Lentz method; the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) keeps x on the side where
// the fraction converges fast.
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - incomplete_beta(b, a, 1 - x);
  const double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  const double tiny = 1e-300;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (std::fabs(d) < tiny) d = tiny;
  d = 1 / d;
  double f = d;
  for (int m = 1; m <= 300; ++m) {
    // Even term d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)), odd d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)).
    for (int odd = 0; odd < 2; ++odd) {
      const double num = odd ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                             : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
      d = 1 + num * d;
      if (std::fabs(d) < tiny) d = tiny;
      c = 1 + num / c;
      if (std::fabs(c) < tiny) c = tiny;
      d = 1 / d;
      f *= d * c;
      if (odd && std::fabs(d * c - 1) < 1e-15) return std::exp(log_front) * f / a;
    }
  }
  return std::exp(log_front) * f / a;
}
}  // namespace

double poppy_advantages(const double* objectives, int K, size_t R, bool maximize, float* adv) {
  if (K < 2) throw std::invalid_argument("poppy_advantages: a population has at least 2 agents");
  auto beats = [maximize](double a, double b) { return maximize ? a > b : a < b; };
  const double sign = maximize ? 1.0 : -1.0;
  std::fill(adv, adv + static_cast<size_t>(K) * R, 0.0f);
  double sum_second = 0;
  for (size_t r = 0; r < R; ++r) {
    auto value = [&](int k) { return objectives[static_cast<size_t>(k) * R + r]; };
    int winner = 0;
    for (int k = 1; k < K; ++k)
      if (beats(value(k), value(winner))) winner = k;
    int second = winner == 0 ? 1 : 0;
    for (int k = 0; k < K; ++k)
      if (k != winner && beats(value(k), value(second))) second = k;
    adv[static_cast<size_t>(winner) * R + r] = static_cast<float>(sign * (value(winner) - value(second)));
    sum_second += value(second);
  }
  return sum_second / static_cast<double>(R);
}

double student_t_cdf(double t, double nu) {
  if (std::isnan(t)) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  // P(|T| > |t|) = I_{nu / (nu + t^2)}(nu / 2, 1 / 2).
  const double tail = 0.5 * incomplete_beta(nu / 2, 0.5, nu / (nu + t * t));
  return t < 0 ? tail : 1 - tail;
}

double paired_t_test_p(const double* candidate, const double* baseline, int m) {
  if (m < 2) return 1.0;
  double mean = 0;
  for (int i = 0; i < m; ++i) mean += candidate[i] - baseline[i];
  mean /= m;
  double ss = 0;
  for (int i = 0; i < m; ++i) {
    const double d = candidate[i] - baseline[i] - mean;
    ss += d * d;
  }
  const double sd = std::sqrt(ss / (m - 1));
  if (sd == 0) return mean < 0 ? 0.0 : (mean > 0 ? 1.0 : 0.5);
  const double t = mean / (sd / std::sqrt(static_cast<double>(m)));
  return student_t_cdf(t, m - 1);
}

// Every run evaluates on the same held-out instances whatever its seed, so runs compare fairly.
constexpr uint64_t kHeldoutSeed = 0x746f75727331ULL;

combo::PolicyBatch policy_heldout_set(combo::ProblemKind kind, int n, int count) {
  combo::PolicyBatch batch;
  batch.allocate(kind, n, count);
  Rng rng = streams::stream(kHeldoutSeed, streams::kInstances);
  batch.draw(rng, 0, count);
  return batch;
}

std::string policy_reference_solver(const Config& c, combo::ProblemKind kind, int n) {
  std::string name = c.get_string("reference");
  if (name == "auto")
    name = kind == combo::ProblemKind::Tsp    ? (n <= 13 ? "held-karp" : n <= 50 ? "branch-and-bound" : "local-search")
           : kind == combo::ProblemKind::Cvrp ? "savings"
                                              : "branch-and-bound";
  try {
    combo::find_solver(kind, name);
  } catch (const combo::ComboError& e) {
    throw ConfigError(std::string("field 'reference': ") + e.what());
  }
  if (name == "held-karp" && n > 20)
    throw ConfigError("field 'reference': held-karp solves n <= 20, got n = " + std::to_string(n));
  return name;
}

// ---------------------------------------------------------------------------------------------

namespace {

// The reference objectives of a held-out set, solved once per process: the set depends only on the
// problem, its size and count (a fixed seed), and an exact reference takes seconds at TSP50, which a
// Reset in the playground (or a run per seed in one process) would otherwise pay every time.
std::vector<double> heldout_reference(combo::ProblemKind kind, int n, const combo::PolicyBatch& heldout,
                                      const std::string& solver) {
  using Key = std::tuple<int, int, int, std::string>;
  static std::mutex mutex;
  static std::map<Key, std::vector<double>> solved;
  const Key key{static_cast<int>(kind), n, heldout.count, solver};
  {
    std::lock_guard<std::mutex> lock(mutex);
    const auto it = solved.find(key);
    if (it != solved.end()) return it->second;
  }
  std::vector<double> objectives(static_cast<size_t>(heldout.count));
  for (int i = 0; i < heldout.count; ++i) objectives[i] = combo::solve(combo::policy_instance(heldout, i), solver).objective;
  std::lock_guard<std::mutex> lock(mutex);
  if (solved.size() >= 16) solved.clear();  // a bound on what a long session keeps
  solved.emplace(key, objectives);
  return objectives;
}

// Instances decoded together in evaluation.
constexpr int kEvalChunk = 64;

double now_s() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

combo::ProblemKind problem_of(const Config& c) { return combo::parse_problem(c.get_string("problem")); }

AttentionModelSpec model_spec(const Config& c) {
  AttentionModelSpec s;
  s.problem = problem_of(c);
  s.node_dim = combo::policy_node_dim(s.problem);
  read_encoder_shape(c, s);
  s.population = static_cast<int>(c.get_int("population"));
  return s;
}


class Pomo final : public ComboRun {
 public:
  explicit Pomo(const Config& c)
      : ComboRun(c),
        critic_(c.get_string("baseline") == "critic"),
        kind_(problem_of(c)),
        n_(static_cast<int>(c.get_int("n"))),
        B_(static_cast<int>(c.get_int("batch_size"))),
        model_(params_, model_spec(c)) {
    params_.finalize();
    const uint64_t seed = static_cast<uint64_t>(c.get_int("seed"));
    Rng init_rng = streams::stream(seed, streams::kInit);
    model_.init(params_, init_rng);
    if (critic_) {
      const int D = model_.spec().d_model;
      // Row-major [r, c] tape views of column-major (c x r) tensors, as the Attention Model's.
      critic_w1_ = critic_params_.declare("critic.0.weight", D, D);
      critic_b1_ = critic_params_.declare("critic.0.bias", D, 1);
      critic_w2_ = critic_params_.declare("critic.2.weight", 1, D);
      critic_b2_ = critic_params_.declare("critic.2.bias", 1, 1);
      critic_params_.finalize();
      // AM's initialisation U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from the init stream after the policy's.
      for (const auto& [t, fan] : {std::pair<int, int>{critic_w1_, D}, {critic_b1_, D}, {critic_w2_, D}, {critic_b2_, D}}) {
        auto v = critic_params_.value(t);
        const double bound = 1.0 / std::sqrt(static_cast<double>(fan));
        for (int i = 0; i < v.size(); ++i) v.data()[i] = static_cast<float>(init_rng.uniform(-bound, bound));
      }
      critic_opt_ = Optimizer(Optimizer::parse(c.get_string("optimizer")), critic_params_.total_size(),
                              c.get_float("adam_eps"));
    }
    optimizer_ = Optimizer(Optimizer::parse(c.get_string("optimizer")), params_.total_size(), c.get_float("adam_eps"));
    data_rng_ = streams::stream(seed, streams::kData);
    action_rng_ = streams::stream(seed, streams::kActions);
    maximize_ = combo::maximizes(kind_);
    const std::string bl = c.get_string("baseline");
    baseline_ = bl == "pomo"      ? kPomo
                : bl == "rollout" ? kRollout
                : bl == "critic"  ? kCritic
                : bl == "poppy"   ? kPoppy
                                  : kExponential;
    K_ = model_.population();
    S_ = baseline_ == kPomo || baseline_ == kPoppy ? n_ : 1;
    nodes_ = combo::policy_nodes(kind_, n_);
    T_ = combo::max_decisions(kind_, n_);
    L_ = T_ + 1;
    const int T = T_;
    exp_ = ExponentialBaseline(c.get_float("exp_beta"));

    // Training pass: B instances x S trajectories of T decisions.
    batch_.allocate(kind_, n_, B_);
    Expr nodes = graph_.input("nodes", {B_, nodes_, batch_.node_dim});
    graph_.bind(nodes, batch_.features.data());
    // One set of trajectory inputs and advantages per agent (a single one without a population).
    inputs_.resize(static_cast<size_t>(K_));
    buffers_.resize(static_cast<size_t>(K_));
    std::vector<Expr> adv(static_cast<size_t>(K_));
    adv_.assign(static_cast<size_t>(K_) * B_ * S_, 0.0f);
    for (int k = 0; k < K_; ++k) {
      inputs_[k] = model_.declare_inputs(graph_, B_, S_, nodes_, k);
      buffers_[k].allocate(kind_, B_, S_, nodes_);
      buffers_[k].bind(graph_, inputs_[k]);
      adv[k] = graph_.input(k == 0 ? "adv" : "adv_agent" + std::to_string(k), {B_, S_});
      graph_.bind(adv[k], &adv_[static_cast<size_t>(k) * B_ * S_]);
    }
    replay_env_.setup(kind_, nodes_, S_);
    H_ = model_.encode(graph_, params_, nodes);
    if (critic_) {
      // v_phi(s) from the graph embedding (built before the decoder, so forward(value_) runs the
      // encoder and the critic only), and its regression loss on the sampled objectives.
      const int D = model_.spec().d_model;
      Expr hbar = stop_gradient(mean(H_, 1));  // [B, D]
      Expr hidden = relu(linear(hbar, graph_.parameter(critic_params_, critic_w1_, {D, D}),
                                graph_.parameter(critic_params_, critic_b1_, {D})));
      value_ = linear(hidden, graph_.parameter(critic_params_, critic_w2_, {D, 1}),
                      graph_.parameter(critic_params_, critic_b2_, {1}));  // [B, 1]
      Expr target = graph_.input("critic_target", {B_, 1});
      critic_target_.assign(static_cast<size_t>(B_), 0.0f);
      graph_.bind(target, critic_target_.data());
      critic_loss_ = mean(square(value_ - target));
    }
    // The sampled decisions' mean negative log-likelihood: an estimate of the policy's entropy per
    // decision (the actions are on-policy samples), reported as `entropy` (a population's: the mean
    // over its agents). Every decision slot counts (a TSP tour's last step and the pads of finished
    // CVRP and knapsack trajectories have log-prob 0); the factor T / (T - 1) leaves out the last slot.
    const float nll_scale = static_cast<float>(T) / std::max(1, T - 1) / static_cast<float>(K_);
    for (int k = 0; k < K_; ++k) {
      Expr step = model_.step_log_probs_encoded(graph_, params_, H_, inputs_[k], B_, S_, nodes_, k);
      Expr logp = sum(reshape(step, {B_, S_, T}), 2);  // log p(tau) = sum_t log p(pi_t | ...)
      Expr nll = -mean(step) * nll_scale;
      // Poppy's advantage is the winner's margin over the second-best agent (0 for the others).
      Expr term = K_ == 1 ? -mean(graph_.display(adv[k], "R - b", "(R - b)") *
                                  graph_.display(logp, "log p(tau)", "\\log p_\\theta(\\tau)"))
                          : -mean(graph_.display(adv[k], "A_" + std::to_string(k), "A_{" + std::to_string(k) + "}") *
                                  graph_.display(logp, "log p_" + std::to_string(k) + "(tau)",
                                                 "\\log p_{\\theta_{" + std::to_string(k) + "}}(\\tau)"));
      loss_ = k == 0 ? term : loss_ + term;
      nll_ = k == 0 ? nll : nll_ + nll;
    }
    // One backward pass serves both: the policy loss does not reach the critic (adv is an input)
    // and the critic loss does not reach the policy (the stop-gradient).
    total_loss_ = critic_ ? loss_ + critic_loss_ : loss_;

    policy_ = std::make_unique<AmPolicy>(model_, params_, B_, nodes_, S_);
    trajs_.assign(static_cast<size_t>(K_) * B_ * S_ * L_, 0);
    objectives_.assign(static_cast<size_t>(K_) * B_ * S_, 0.0);
    population_best_.assign(static_cast<size_t>(B_) * S_, 0.0);
    starts_.assign(static_cast<size_t>(B_) * n_, 0);
    instance_seeds_.assign(static_cast<size_t>(B_), 0);
    bl_traj_.assign(static_cast<size_t>(L_), 0);

    // Held-out set and its reference objectives.
    heldout_size_ = static_cast<int>(c.get_int("heldout_size"));
    heldout_ = policy_heldout_set(kind_, n_, heldout_size_);
    reference_name_ = policy_reference_solver(c, kind_, n_);
    reference_ = heldout_reference(kind_, n_, heldout_, reference_name_);
    double ref_sum = 0;
    for (int i = 0; i < heldout_size_; ++i) ref_sum += reference_[i];
    reference_mean_ = ref_sum / heldout_size_;
    const int chunk = std::min(heldout_size_, kEvalChunk);
    greedy_ = std::make_unique<combo::PolicyDecoder>(model_, params_, chunk, n_, combo::DecodeOptions{});
    combo::DecodeOptions ms;
    ms.kind = combo::DecodeKind::Multistart;
    multistart_ = std::make_unique<combo::PolicyDecoder>(model_, params_, chunk, n_, ms);
    eval_trajs_.assign(static_cast<size_t>(chunk) * L_, 0);
    eval_objectives_.assign(static_cast<size_t>(chunk), 0.0);
    eval_agents_.assign(static_cast<size_t>(chunk), 0);
    heldout_objectives_.assign(static_cast<size_t>(heldout_size_), 0.0);
    heldout_agents_.assign(static_cast<size_t>(heldout_size_), 0);
    agent_wins_.assign(static_cast<size_t>(K_), Metrics::kNaN);

    if (baseline_ == kRollout) {
      bl_model_ = AttentionModel(bl_params_, model_spec(c));
      bl_params_.finalize();
      bl_params_.values() = params_.values();
      bl_policy_ = std::make_unique<AmPolicy>(bl_model_, bl_params_, B_, nodes_, 1);
      bl_greedy_ = std::make_unique<combo::PolicyDecoder>(bl_model_, bl_params_, chunk, n_, combo::DecodeOptions{});
      bl_epochs_ = RolloutBaselineEpochs(c, seed);
      bl_eval_.allocate(kind_, n_, bl_epochs_.eval_size());
      draw_baseline_eval_set();
    }
  }

  // --- Algorithm ---
  std::vector<std::string> extra_metrics() const override {
    std::vector<std::string> names = combo_metric_names();
    // Poppy: the share of held-out instances (in percent) whose best multi-start solution is agent k's.
    if (K_ > 1)
      for (int k = 0; k < K_; ++k) names.push_back("agent" + std::to_string(k) + "_wins");
    return names;
  }
  Formula objective() const override { return graph_.formula(loss_); }

  void iterate(Metrics& m) override {
    const double t0 = now_s();
    const double lr = step_learning_rate();
    const int S = S_, L = L_;
    const size_t agent_trajs = static_cast<size_t>(B_) * S;  // trajectories per agent
    batch_.draw(data_rng_, 0, B_);
    // Sample the trajectories with the current policy (each agent of a population), decoding from the
    // training graph's encoder output (one encoder pass per step serves the rollout and the update).
    graph_.forward(H_);
    policy_->use_embeddings(graph_.values(H_), B_, nodes_);
    // Each instance's first actions and its own sampling stream are drawn here, in instance order,
    // so that the instances then decode on any thread in any order with the same numbers.
    for (int b = 0; b < B_; ++b) {
      int* starts = &starts_[static_cast<size_t>(b) * n_];
      const int first_actions = combo::multistart_actions(batch_, b, starts);
      if (first_actions < S) throw std::logic_error("pomo: a generated instance has fewer first actions than trajectories");
      if (S == 1) starts[0] = starts[action_rng_.below(static_cast<uint32_t>(first_actions))];
      instance_seeds_[b] = static_cast<uint64_t>(action_rng_.next_u32()) << 32 | action_rng_.next_u32();
    }
    parallel::for_range(
        B_, 1,
        [&](int begin, int end, int slot) {
          for (int b = begin; b < end; ++b) {
            Rng rng(instance_seeds_[b]);
            for (int k = 0; k < K_; ++k) {
              int* trajs = &trajs_[(k * agent_trajs + static_cast<size_t>(b) * S) * L];
              policy_->decode(b, &batch_, b, S, &starts_[static_cast<size_t>(b) * n_], /*greedy=*/false, &rng, trajs,
                              nullptr, nullptr, k, slot);
              for (int s = 0; s < S; ++s)
                objectives_[k * agent_trajs + static_cast<size_t>(b) * S + s] =
                    batch_.objective(b, trajs + static_cast<size_t>(s) * L);
            }
          }
        },
        policy_->slots());
    // The objective of the run's solutions: a population's is its best agent's per trajectory slot.
    double sum_objective = 0;
    for (size_t r = 0; r < agent_trajs; ++r) {
      double best = objectives_[r];
      for (int k = 1; k < K_; ++k) best = better(objectives_[k * agent_trajs + r], best);
      population_best_[r] = best;
      sum_objective += best;
    }
    const double mean_objective = sum_objective / static_cast<double>(agent_trajs);
    // Baselines (in objective units), then advantages R - b: objective - b when it is maximised
    // (knapsack value), b - objective when minimised (lengths: R = -L).
    const double sign = maximize_ ? 1.0 : -1.0;
    double baseline_report = 0;
    if (baseline_ == kPoppy) {
      baseline_report = poppy_advantages(objectives_.data(), K_, agent_trajs, maximize_, adv_.data());
    } else if (baseline_ == kPomo) {
      for (int b = 0; b < B_; ++b) {
        const double* v = &objectives_[static_cast<size_t>(b) * S];
        double mean = 0;
        for (int s = 0; s < S; ++s) mean += v[s];
        mean /= S;
        for (int s = 0; s < S; ++s) adv_[static_cast<size_t>(b) * S + s] = static_cast<float>(sign * (v[s] - mean));
      }
      baseline_report = mean_objective;
    } else if (baseline_ == kCritic) {
      // The critic's value of each instance (the encoder and the critic only: they read the node
      // features, not the trajectories), before the step.
      graph_.forward_after(H_, value_);
      const float* v = graph_.values(value_);
      double sum = 0;
      for (int b = 0; b < B_; ++b) {
        adv_[b] = static_cast<float>(sign * (objectives_[b] - v[b]));
        critic_target_[b] = static_cast<float>(objectives_[b]);
        sum += v[b];
      }
      baseline_report = sum / B_;
    } else if (baseline_ == kExponential || bl_epochs_.warming_up(iteration_)) {
      const double b = exp_.update(mean_objective);
      for (size_t k = 0; k < adv_.size(); ++k) adv_[k] = static_cast<float>(sign * (objectives_[k] - b));
      baseline_report = b;
    } else {
      bl_policy_->encode(batch_.features.data(), B_, nodes_);
      double sum = 0;
      for (int b = 0; b < B_; ++b) {
        const int start = trajs_[static_cast<size_t>(b) * L];
        bl_policy_->decode(b, &batch_, b, 1, &start, /*greedy=*/true, nullptr, bl_traj_.data());
        const double v = batch_.objective(b, bl_traj_.data());
        adv_[b] = static_cast<float>(sign * (objectives_[b] - v));
        sum += v;
      }
      baseline_report = sum / B_;
    }

    // One REINFORCE step through the batched training pass.
    for (int k = 0; k < K_; ++k)
      buffers_[k].fill(kind_, &trajs_[k * agent_trajs * L], &batch_, replay_env_, B_, S, nodes_);
    graph_.forward_after(H_);
    params_.zero_grad();
    if (critic_) critic_params_.zero_grad();
    graph_.backward(total_loss_);
    const double norm = clip_grad_norm(params_.grads(), max_grad_norm_);
    if (std::isfinite(norm)) optimizer_.step(params_.values(), params_.grads(), lr);
    if (critic_ && critic_params_.grads().allFinite()) critic_opt_.step(critic_params_.values(), critic_params_.grads(), lr);
    ++iteration_;
    global_step_ += static_cast<int64_t>(K_) * B_ * S;

    if (baseline_ == kRollout && bl_epochs_.epoch_ends(iteration_)) baseline_epoch_end();
    if (iteration_ == 1 || iteration_ % eval_interval_ == 0 || iteration_ == max_steps_) evaluate_heldout();

    const double seconds = now_s() - t0;
    m.iteration = iteration_;
    m.global_step = global_step_;
    m.learning_rate = lr;
    m.policy_loss = graph_.scalar(loss_);
    m.entropy = graph_.scalar(nll_);
    m.grad_norm = norm;
    m.grad_norm_clipped = (max_grad_norm_ > 0 && norm > max_grad_norm_) ? max_grad_norm_ : norm;
    m.update_epochs_run = 1;
    m.episodes = K_ * B_ * S;
    m.episodic_return_mean = sign * mean_objective;
    m.extra_value(kTrainObjective) = mean_objective;
    m.extra_value(kBaselineValue) = baseline_report;
    m.extra_value(kHeldoutObjective) = heldout_objective_;
    m.extra_value(kHeldoutGap) = heldout_gap_;
    m.extra_value(kHeldoutMsObjective) = heldout_ms_objective_;
    m.extra_value(kHeldoutMsGap) = heldout_ms_gap_;
    m.extra_value(kReference) = reference_mean_;
    m.extra_value(kBaselineUpdates) = baseline_ == kRollout ? static_cast<double>(bl_epochs_.updates()) : Metrics::kNaN;
    m.extra_value(kBaselineP) = bl_epochs_.last_p();
    m.extra_value(kInstancesPerS) = seconds > 0 ? B_ / seconds : Metrics::kNaN;
    m.extra_value(kCriticLoss) = critic_ ? static_cast<double>(graph_.scalar(critic_loss_)) : Metrics::kNaN;
    if (K_ > 1)
      for (int k = 0; k < K_; ++k) m.extra_value(kAgentWins + k) = agent_wins_[k];
    if (m.layer_grad_norms.size() == static_cast<size_t>(params_.count()))
      for (int i = 0; i < params_.count(); ++i) m.layer_grad_norms[i] = params_.grad_norm(i);
  }

  void write_state(ByteWriter& w) const override {
    write_training_state(w, iteration_, global_step_, params_, optimizer_);
    put_rng(w, data_rng_);
    put_rng(w, action_rng_);
    exp_.write(w);
    bl_epochs_.write(w);
    if (baseline_ == kRollout) w.put_array(bl_params_.values().data(), static_cast<size_t>(bl_params_.total_size()));
    for (double v : {heldout_objective_, heldout_gap_, heldout_ms_objective_, heldout_ms_gap_}) w.put<double>(v);
    if (critic_) write_training_state(w, iteration_, global_step_, critic_params_, critic_opt_);
    if (K_ > 1) w.put_array(agent_wins_.data(), agent_wins_.size());
  }
  void read_state(ByteReader& r) override {
    read_training_state(r, iteration_, global_step_, params_, optimizer_);
    get_rng(r, data_rng_, "data rng");
    get_rng(r, action_rng_, "action rng");
    exp_.read(r);
    bl_epochs_.read(r);
    if (baseline_ == kRollout) {
      r.get_array(bl_params_.values().data(), static_cast<size_t>(bl_params_.total_size()), "baseline parameters");
      draw_baseline_eval_set();  // the set of the current baseline (drawn from the count of updates)
    }
    heldout_objective_ = r.get<double>("heldout objective");
    heldout_gap_ = r.get<double>("heldout gap");
    heldout_ms_objective_ = r.get<double>("heldout multistart objective");
    heldout_ms_gap_ = r.get<double>("heldout multistart gap");
    if (critic_) {
      int64_t it = 0, steps = 0;
      read_training_state(r, it, steps, critic_params_, critic_opt_);
      if (!critic_params_.values().allFinite()) throw FormatError("critic parameters contain non-finite values");
    }
    if (K_ > 1) r.get_array(agent_wins_.data(), agent_wins_.size(), "agents' wins");
    if (!params_.values().allFinite()) throw FormatError("parameters contain non-finite values");
  }

  // Poppy's phase 2 (Grinsztajn et al. 2023, Sec. 4, Fig. 2): a population starts from a trained
  // single policy, its encoder shared and its decoder cloned into every agent. Takes the weights of
  // a model whose tensors are this one's with the agents' decoders named as agent 0's.
  bool adopt_weights(const Parameters& from) override {
    if (K_ == 1) return false;
    for (int j = 0; j < from.count(); ++j)  // a single policy: no agents' decoders
      if (AttentionModel::single_agent_name(from.tensors()[j].name) != from.tensors()[j].name) return false;
    std::vector<int> source(static_cast<size_t>(params_.count()), -1);
    for (int i = 0; i < params_.count(); ++i) {
      const TensorInfo& t = params_.tensors()[i];
      const std::string name = AttentionModel::single_agent_name(t.name);
      for (int j = 0; j < from.count(); ++j)
        if (from.tensors()[j].name == name && from.tensors()[j].size() == t.size()) source[i] = j;
      if (source[i] < 0) return false;
    }
    for (int i = 0; i < params_.count(); ++i) params_.value(i) = from.value(source[i]);
    return true;
  }

  // --- ComboLearner ---
  combo::ProblemKind problem() const override { return kind_; }
  int n() const override { return n_; }
  const AttentionModel& model() const { return model_; }
  const Parameters& model_params() const override { return params_; }
  const Parameters* baseline_params() const override { return baseline_ == kRollout ? &bl_params_ : nullptr; }
  double solve(const std::vector<combo::AnyInstance>& instances, const combo::DecodeOptions& options, uint64_t seed,
               std::vector<std::vector<int>>& solutions, std::vector<double>& objectives) const override {
    // Decoding reads the parameters only; AmPolicy's tape views take a mutable buffer.
    return combo::solve_instances(model_, const_cast<Parameters&>(params_), instances, options, seed, solutions,
                                  objectives);
  }

  // For tests: the rollout baseline's decision on given costs.
  bool baseline_replaced_last() const { return bl_epochs_.replaced_last(); }

 private:
  enum Baseline { kPomo, kRollout, kExponential, kCritic, kPoppy };
  enum Extra {
    kTrainObjective, kBaselineValue, kHeldoutObjective, kHeldoutGap, kHeldoutMsObjective, kHeldoutMsGap, kReference,
    kBaselineUpdates, kBaselineP, kInstancesPerS, kCriticLoss, kAgentWins  // then one per agent
  };

  // a is strictly better than b (larger when maximised); the better of the two, b on ties.
  bool beats(double a, double b) const { return maximize_ ? a > b : a < b; }
  double better(double a, double b) const { return beats(a, b) ? a : b; }

  // Decodes the `count` instances of `set` with a decoder, objectives into out (and the winning
  // agent of each into agents, when given).
  void decode_set(combo::PolicyDecoder& decoder, const combo::PolicyBatch& set, int count, double* out,
                  int* agents = nullptr) {
    const int chunk = static_cast<int>(eval_objectives_.size());
    Rng unused(0);
    for (int first = 0; first < count; first += chunk) {
      const int k = std::min(chunk, count - first);
      decoder.solve(set, first, k, unused, eval_trajs_.data(), eval_objectives_.data(), eval_agents_.data());
      std::copy(eval_objectives_.begin(), eval_objectives_.begin() + k, out + first);
      if (agents) std::copy(eval_agents_.begin(), eval_agents_.begin() + k, agents + first);
    }
  }

  // How much worse an objective is than the reference's, as a fraction.
  double gap(double objective, double reference) const {
    if (!(reference > 0)) return 0;
    return maximize_ ? 1 - objective / reference : objective / reference - 1;
  }

  void evaluate_heldout() {
    double* objectives = heldout_objectives_.data();
    auto summarise = [&](double& mean_objective, double& mean_gap) {
      double sum = 0, sum_gap = 0;
      for (int i = 0; i < heldout_size_; ++i) {
        sum += objectives[i];
        sum_gap += gap(objectives[i], reference_[i]);
      }
      mean_objective = sum / heldout_size_;
      mean_gap = 100.0 * sum_gap / heldout_size_;  // mean per-instance gap, in percent
    };
    decode_set(*greedy_, heldout_, heldout_size_, objectives);
    summarise(heldout_objective_, heldout_gap_);
    decode_set(*multistart_, heldout_, heldout_size_, objectives, heldout_agents_.data());
    summarise(heldout_ms_objective_, heldout_ms_gap_);
    if (K_ > 1) {
      std::fill(agent_wins_.begin(), agent_wins_.end(), 0.0);
      for (int i = 0; i < heldout_size_; ++i) agent_wins_[heldout_agents_[i]] += 100.0 / heldout_size_;
    }
  }

  void draw_baseline_eval_set() {
    Rng rng = bl_epochs_.eval_set_rng();
    bl_eval_.draw(rng, 0, bl_epochs_.eval_size());
  }

  // The end of a rollout-baseline epoch (RolloutBaselineEpochs): candidate and frozen policy decode
  // the evaluation set greedily; the t-test decides.
  void baseline_epoch_end() {
    decode_set(*greedy_, bl_eval_, bl_epochs_.eval_size(), bl_epochs_.candidate());
    decode_set(*bl_greedy_, bl_eval_, bl_epochs_.eval_size(), bl_epochs_.baseline());
    if (bl_epochs_.test(maximize_)) {
      bl_params_.values() = params_.values();
      draw_baseline_eval_set();
    }
  }

  bool critic_ = false;  // baseline critic: the members under "Critic baseline" below are in use
  combo::ProblemKind kind_;
  int n_, B_, S_ = 1, nodes_ = 0, T_ = 0, L_ = 1;
  int K_ = 1;  // agents: Poppy's population, else 1
  bool maximize_ = false;
  AttentionModel model_;
  Optimizer optimizer_;
  Rng data_rng_, action_rng_;
  Baseline baseline_ = kPomo;

  Graph graph_;
  std::vector<AttentionModel::TrajectoryInputs> inputs_;  // per agent
  std::vector<TrajectoryBuffers> buffers_;                // per agent
  combo::TrajectoryEnv replay_env_;  // replays sampled trajectories into the training pass's masks
  Expr H_;  // the encoder's output: evaluated first, read by the rollout, reused by the training pass
  Expr loss_, nll_;
  combo::PolicyBatch batch_;
  std::vector<float> adv_;
  std::unique_ptr<AmPolicy> policy_;
  std::vector<int> trajs_, starts_, bl_traj_;  // starts_: [B, n], each instance's first actions
  std::vector<uint64_t> instance_seeds_;        // [B]: each instance's sampling stream this step
  std::vector<double> objectives_;       // [K, B, S]
  std::vector<double> population_best_;  // [B, S]: the best agent's objective

  // Held-out evaluation.
  int heldout_size_ = 0;
  combo::PolicyBatch heldout_;
  std::vector<double> reference_, heldout_objectives_;
  std::string reference_name_;
  double reference_mean_ = 0;
  std::unique_ptr<combo::PolicyDecoder> greedy_, multistart_;
  std::vector<int> eval_trajs_, eval_agents_, heldout_agents_;
  std::vector<double> eval_objectives_, agent_wins_;
  double heldout_objective_ = Metrics::kNaN, heldout_gap_ = Metrics::kNaN, heldout_ms_objective_ = Metrics::kNaN,
         heldout_ms_gap_ = Metrics::kNaN;

  // Critic baseline.
  Parameters critic_params_;
  Optimizer critic_opt_;
  int critic_w1_ = -1, critic_b1_ = -1, critic_w2_ = -1, critic_b2_ = -1;
  Expr value_, critic_loss_, total_loss_;
  std::vector<float> critic_target_;

  // Baselines.
  ExponentialBaseline exp_;
  RolloutBaselineEpochs bl_epochs_;
  Parameters bl_params_;
  AttentionModel bl_model_;
  std::unique_ptr<AmPolicy> bl_policy_;
  std::unique_ptr<combo::PolicyDecoder> bl_greedy_;
  combo::PolicyBatch bl_eval_;
};

}  // namespace

// problem jobshop: core/algos/pomo_jobshop.cpp (a re-encoding policy over L2D's dispatching state).
std::unique_ptr<Algorithm> make_pomo_jobshop(const Config& c);
// problems binpack1d, binpack3d: core/algos/pomo_binpack.cpp (re-encoding packing policies).
std::unique_ptr<Algorithm> make_pomo_binpack(const Config& c);
// problems tsp and cvrp with reencode: core/algos/pomo_routing_reencoding.cpp (BQ-NCO's policy).
std::unique_ptr<Algorithm> make_pomo_routing_reencoding(const Config& c);

std::unique_ptr<Algorithm> make_pomo(const Config& c) {
  const combo::ProblemKind kind = problem_of(c);
  if (kind == combo::ProblemKind::JobShop) return make_pomo_jobshop(c);
  if (kind == combo::ProblemKind::BinPack1D || kind == combo::ProblemKind::BinPack3D) return make_pomo_binpack(c);
  if ((kind == combo::ProblemKind::Tsp || kind == combo::ProblemKind::Cvrp) && c.get_bool("reencode"))
    return make_pomo_routing_reencoding(c);
  return std::make_unique<Pomo>(c);
}

}  // namespace pl
