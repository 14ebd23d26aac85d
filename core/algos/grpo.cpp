// Group-relative policy optimization on verifiable rewards: GRPO (Shao et al. 2024, "DeepSeekMath",
// sec. 4) and the fixes that followed, composed per config, following TRL's GRPOTrainer (option
// names from TRL where it has them, else verl's). One step:
//   1. draw batch_size training prompts and sample num_generations (G) completions of each with the
//      KV-cached sampler (temperature, top_k, top_p);
//   2. score them with the task's verifier; the reward is the task's RewardSpec (correctness by
//      default) or, with `reward_model` (the path of a reward_model checkpoint), the learned reward of
//      its ensemble aggregated by ensemble_aggregation (reward_ensemble.hpp; Coste et al. 2023), minus
//      beta * (summed per-token KL at sampling) when kl_in_reward (reinforce_plus_plus and remax: from
//      each token's return, the KL from that token on). Against a learned reward each step
//      also reports proxy_reward (the aggregated learned reward of the batch's completions),
//      gold_reward (the hidden gold reward of the same completions, with the gold options the reward
//      model's labels came from), ensemble_std (the members' disagreement) and kl_ref (below): the
//      over-optimization picture (Gao et al. 2023, "Scaling Laws for Reward Model
//      Overoptimization"). With `reward_judges` the reward is instead the hidden gold reward's
//      helpfulness judge, and the safety judge's cost is kept within `safety_budget` by
//      `safety_method` (safety.hpp: the one-shot dual of Huang et al. 2024, a Lagrangian, or
//      CGPO's judges). Every estimator and loss below reads these rewards;
//   3. advantages per completion by advantage_estimator (group_advantages.hpp: grpo with
//      scale_rewards group | batch | none = Dr. GRPO, rloo, reinforce_plus_plus[_baseline], remax with
//      a greedy completion per prompt, opo, gpg, bnpo, grpo_passk, adaptthink); A*-PO's V* from
//      astar_ref_samples completions of the reference, AdaptThink's Rbar_ref(x) from
//      adaptthink_ref_samples;
//   4. lay the batch out (left-padded prompts, then completions) with each completion token's
//      aggregation weight (loss_agg_mode), zero for truncated completions (mask_truncated_completions)
//      and for all but the top_entropy_quantile highest-entropy tokens;
//   5. num_iterations (mu) Adam steps on the whole batch against the policy loss (group_losses.hpp:
//      clip with epsilon / epsilon_high / delta / dual-clip and token or sequence (GSPO) ratios,
//      cispo, gpg, gvpo, rebel, astar_po, disco) plus beta * KL to a frozen reference (the weights the
//      run starts from), with the old log-probs snapshotted before the first step. The logits are
//      divided by the sampling temperature, as in TRL.
// PPO-RLHF (advantage_estimator gae; Ouyang et al. 2022, as TRL's PPOTrainer and verl's PPO with a
// critic): a critic (token_critic.hpp: the SFT model with a value head) gives V at every completion
// token; the token rewards are -beta * KL_t (per token, with kl_in_reward) plus the reward at the
// last token; GAE (gamma, lam) over each completion gives per-token advantages, whitened over the
// batch's tokens, and returns; each of the num_iterations steps also takes one critic step on the
// clipped value loss (vf_coef, cliprange_value). num_generations may be 1 (no groups are compared).
// kl_ref (whenever the tape computes the reference's log-probs: beta > 0, gvpo, astar_po, or a
// reward model, for which the run keeps a frozen reference even at beta 0): the sequence-level
// estimate KL(pi || pi_ref) ~ mean over the batch's completions of sum_t (log pi(y_t) - log pi_ref(y_t))
// at sampling, as DPO's evaluation reports it. A resumed run against a reward model reads the
// reward-model checkpoint again (its path is in the config).
#include <chrono>
#include <cmath>

#include "core/algos/group_advantages.hpp"
#include "core/algos/group_losses.hpp"
#include "core/algos/preference_data.hpp"
#include "core/algos/registry.hpp"
#include "core/algos/reward_model.hpp"
#include "core/algos/safety.hpp"
#include "core/algos/sequence.hpp"
#include "core/algos/token_critic.hpp"
#include "core/tasks/rewards.hpp"
#include "core/train/trainer.hpp"

namespace pl {

Schema grpo_schema() {
  using T = FieldType;
  std::vector<FieldSpec> f = {
      {"batch_size", T::Int, 16, 1, 1024, {}, "prompts per step, each sampled num_generations times", false, "run"},
      {"max_steps", T::Int, 200, 1, 1e9, {}, "policy-gradient steps (batches of sampled completions) to train for", false, "run"},
      {"eval_interval", T::Int, 10, 1, 1000000, {}, "steps between held-out evaluations (and at the last step)", false, "run"},
      {"num_generations", T::Int, 8, 1, 256, {}, "completions sampled per prompt (the group size G; at least 2 but for gae and astar_po)", false, "rollout"},
      {"temperature", T::Float, 1.0, 0.05, 10, {}, "sampling temperature (the loss's logits are divided by it too, as in TRL)", false, "rollout"},
      {"top_k", T::Int, 0, 0, 1000, {}, "sample from the k most probable tokens; 0: all", false, "rollout"},
      {"top_p", T::Float, 1.0, 0.01, 1, {}, "nucleus sampling mass; 1: off", false, "rollout"},
      {"dynamic_sampling", T::Bool, false, 0, 0, {}, "drop groups whose rewards are all equal and sample more prompts to refill the batch (DAPO)", false, "rollout"},
      applies_when({"max_num_gen_batches", T::Int, 4, 1, 64, {}, "dynamic_sampling: most sampling rounds per step", false, "rollout"},
                   "dynamic_sampling", {true}),
      {"soft_punish_cache", T::Int, 0, 0, 1000, {}, "DAPO's soft overlong punishment: completions longer than the limit minus this many tokens lose reward linearly; 0: off", false, "reward"},
      {"num_iterations", T::Int, 1, 1, 16, {}, "Adam steps per sampled batch (mu); ratios differ from 1 after the first", false, "loss"},
      {"learning_rate", T::Float, 3e-4, 0, 1, {}, "Adam step size", true, "optim"},
      {"anneal_lr", T::Bool, false, 0, 0, {}, "decay the learning rate linearly to 0 over max_steps", false, "optim"},
      {"adam_eps", T::Float, 1e-8, 1e-12, 1, {}, "epsilon added to Adam's denominator (PyTorch's default)", false, "optim"},
      {"max_grad_norm", T::Float, 1.0, 0, 1e6, {}, "global gradient-norm clip; 0 disables", true, "optim"},
  };
  for (const FieldSpec& l : group_loss_fields()) f.push_back(l);
  for (const FieldSpec& r : reward_fields()) f.push_back(r);
  f.push_back(make_field("reward_model", T::String, "", 0, 0, "reward",
                         "a reward_model checkpoint of the same task: its learned reward replaces the task's reward (RLHF); empty: the verifiable reward"));
  f.push_back(applies_unless(make_field("ensemble_aggregation", T::String, "mean", 0, 0, "reward",
                                       "with reward_model: how its members' rewards combine (Coste et al. 2023): mean, worst_case, uncertainty",
                                       false, ensemble_aggregation_names()),
                            "reward_model", {""}));
  f.push_back(applies_when({"uncertainty_penalty", T::Float, 0.5, 0, 1000, {}, "with reward_model: lambda of the uncertainty aggregation (mean - lambda * variance)", false, "reward"},
                         "ensemble_aggregation", {"uncertainty"}));
  // Constrained alignment (safety.hpp): train on the hidden gold judges of preference_data.hpp.
  f.push_back({"reward_judges", T::Bool, false, 0, 0, {}, "train on the gold judges instead of the task's reward: reward = the helpfulness judge (gold reward without its safety term), safety cost = the safety judge (1 for an unsafe completion)", false, "safety"});
  f.push_back(applies_when(make_field("safety_method", T::String, "none", 0, 0, "safety",
                                     "with reward_judges: how the safety budget is kept: none, dual (one-shot optimal dualization, Huang et al. 2024), lagrangian (online primal-dual), judges (CGPO: flagged completions get no positive advantage)",
                                     false, safety_method_names()),
                          "reward_judges", {true}));
  f.push_back(applies_when({"safety_budget", T::Float, 0.1, 0, 1, {}, "allowed mean safety cost per completion (b)", false, "safety"},
                         "reward_judges", {true}));
  f.push_back(applies_when({"safety_dual_beta", T::Float, 0.1, 1e-3, 100, {}, "dual: beta of the KL-regularized problem whose dual gives lambda*", false, "safety"},
                         "safety_method", {"dual"}));
  f.push_back(applies_when({"safety_dual_prompts", T::Int, 256, 1, 100000, {}, "dual: prompts of the initial policy lambda* is estimated from", false, "safety"},
                         "safety_method", {"dual"}));
  f.push_back(applies_when({"safety_dual_samples", T::Int, 16, 1, 1024, {}, "dual: completions of the initial policy per prompt (at most batch_size * num_generations)", false, "safety"},
                         "safety_method", {"dual"}));
  f.push_back(applies_when({"safety_flagged_reward", T::Float, -1.0, -100, 100, {}, "judges: the reward of a completion a judge flags (below the helpfulness judge's range: it becomes the worst of its group)", false, "safety"},
                         "safety_method", {"judges"}));
  f.push_back(applies_when({"correctness_judge", T::Bool, false, 0, 0, {}, "judges: a second judge flags wrong answers (the task's verifier), as CGPO's rule-based math judge; a completion either judge flags is a negative sample", false, "safety"},
                         "safety_method", {"judges"}));
  f.push_back(applies_when({"safety_lambda_lr", T::Float, 1.0, 0, 1000, {}, "lagrangian: step size of lambda <- max(0, lambda + lr * (cost - budget))", false, "safety"},
                         "safety_method", {"lagrangian"}));
  f.push_back(applies_when({"safety_lambda_init", T::Float, 0.0, 0, 1000, {}, "lagrangian: lambda at the first step", false, "safety"},
                         "safety_method", {"lagrangian"}));
  for (const FieldSpec& p : preference_data_fields())
    if (p.name.rfind("gold_", 0) == 0) {  // the gold reward's options (the judges'), not the labeler's
      FieldSpec g = p;
      g.group = "safety";
      f.push_back(g);
    }
  return make_sequence_schema("grpo", "Group Relative Policy Optimization on verifiable rewards (Shao et al. 2024; TRL GRPOTrainer)", f);
}

namespace {

double now_s() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

json reward_options(const Config& c) {
  json o = json::object();
  for (const FieldSpec& f : reward_fields()) o[f.name] = c.values().at(f.name);
  return o;
}

// The most completions one step samples at once: the policy's, or A*-PO's or AdaptThink's
// reference samples.
int rollout_rows(const Config& c) {
  int rows = static_cast<int>(c.get_int("batch_size") * c.get_int("num_generations"));
  if (c.get_string("policy_loss") == "astar_po")
    rows = std::max(rows, static_cast<int>(c.get_int("batch_size") * c.get_int("astar_ref_samples")));
  if (c.get_string("advantage_estimator") == "adaptthink")
    rows = std::max(rows, static_cast<int>(c.get_int("batch_size") * c.get_int("adaptthink_ref_samples")));
  return rows;
}

// The learned reward of a GRPO run: a reward_model checkpoint's ensemble, its aggregation, and the
// hidden gold reward its labels came from.
struct LearnedReward {
  std::unique_ptr<RewardScorer> scorer;
  std::unique_ptr<GoldReward> gold;
  EnsembleAggregation aggregation = EnsembleAggregation::Mean;
  double penalty = 0;
};

// Reads the reward_model checkpoint named by the config (null when none is); CheckpointError naming
// the field for a file that is corrupt or not a reward model of this run's task (as for init_from).
std::unique_ptr<LearnedReward> load_learned_reward(const Config& c, const SequenceTask& task, int vocab, int rows) {
  const std::string path = c.get_string("reward_model");
  if (path.empty()) return nullptr;
  std::unique_ptr<Trainer> t;
  try {
    t = Trainer::load_file(path);
  } catch (const CheckpointError& e) {
    throw CheckpointError("field 'reward_model': " + std::string(e.what()));
  }
  const RewardModelLearner* rm = reward_model_learner(t->algorithm());
  if (!rm)
    throw CheckpointError("field 'reward_model': '" + path + "' is a " + t->config().algo() + " checkpoint, not a reward_model one");
  const Config& rc = t->config();
  if (rc.get_string("task") != c.get_string("task") || rm->member_spec().vocab != vocab)
    throw CheckpointError("field 'reward_model': '" + path + "' was trained on task '" + rc.get_string("task") + "' (" +
                          std::to_string(rm->member_spec().vocab) + " tokens), not this run's task '" + task.id() +
                          "' (" + std::to_string(vocab) + " tokens): use a reward model of the same task and options");
  for (const FieldSpec& f : c.schema().fields) {
    if (f.group != "task" || !c.values().contains(f.name)) continue;
    const json theirs = rc.values().contains(f.name) ? rc.values().at(f.name) : json();
    if (theirs != c.values().at(f.name))
      throw CheckpointError("field 'reward_model': '" + path + "' was trained with " + f.name + " " +
                            (theirs.is_null() ? std::string("unset") : theirs.dump()) + ", this run has " +
                            c.values().at(f.name).dump() + ": use a reward model of the same task and options");
  }
  auto out = std::make_unique<LearnedReward>();
  out->scorer = std::make_unique<RewardScorer>(rm->member_spec(), rm->ensemble_weights(), rm->members(), rows);
  out->gold = std::make_unique<GoldReward>(task, gold_reward_options(rc.values()));
  out->aggregation = parse_ensemble_aggregation(c.get_string("ensemble_aggregation"), "ensemble_aggregation");
  out->penalty = c.get_float("uncertainty_penalty");
  return out;
}

class Grpo final : public SequenceAlgorithm {
 public:
  explicit Grpo(const Config& c)
      : SequenceAlgorithm(c, rollout_rows(c)),
        reward_(make_reward_spec(reward_options(c))),
        options_(group_loss_options(c.values())),
        learned_(load_learned_reward(c, *task_, model_.spec().vocab,
                                     std::max(rollout_rows(c), static_cast<int>(c.get_int("batch_size"))))) {
    G_ = static_cast<int>(c.get_int("num_generations"));
    rollout_rng_ = streams::stream(static_cast<uint64_t>(c.get_int("seed")), streams::kRollouts);
    rows_ = batch_size_ * G_;
    if (rows_ > 8192) throw ConfigError("batch_size * num_generations must be at most 8192, got " + std::to_string(rows_));
    gae_ = options_.estimator == Estimator::Gae;
    token_adv_ = options_.token_advantages();
    if (G_ < 2 && !options_.takes_single_completions())
      throw ConfigError("field 'num_generations': advantage_estimator '" + c.get_string("advantage_estimator") +
                        "' compares completions of a prompt: needs at least 2, got " + std::to_string(G_));
    if (gae_ && options_.sequence_objective())
      throw ConfigError("advantage_estimator 'gae' gives per-token advantages: use policy_loss clip, cispo or gpg, not '" +
                        c.get_string("policy_loss") + "'");
    // The sequence objectives read the rewards, where kl_in_reward's per-token returns never land.
    if (options_.kl_returns_to_go() && options_.sequence_objective())
      throw ConfigError("field 'kl_in_reward': with advantage_estimator '" + c.get_string("advantage_estimator") +
                        "' the KL goes into per-token returns, which policy_loss '" + c.get_string("policy_loss") +
                        "' does not read (it regresses on the rewards): use clip, cispo or gpg, or kl_in_reward false");
    if (options_.loss == PolicyLoss::Rebel && G_ % 2 != 0)
      throw ConfigError("policy_loss 'rebel' pairs completions: num_generations must be even, got " + std::to_string(G_));
    adaptthink_ = options_.estimator == Estimator::AdaptThink;
    if (adaptthink_) {
      modes_ = task_->answer_modes();
      if (!modes_.on())
        throw ConfigError("advantage_estimator 'adaptthink' needs a task whose completions open with a Thinking or a "
                          "NoThinking marker (e.g. task 'addition' with think_mode true); task '" + task_->id() +
                          "' has no answer modes");
      if (options_.adaptthink_importance_sampling && G_ % 2 != 0)
        throw ConfigError("adaptthink_importance_sampling forces half of each group to each mode: num_generations must "
                          "be even, got " + std::to_string(G_));
    }
    mu_ = static_cast<int>(c.get_int("num_iterations"));
    dynamic_sampling_ = c.get_bool("dynamic_sampling");
    if (dynamic_sampling_ && G_ < 2)  // every group of one has equal rewards: every round would be dropped
      throw ConfigError("field 'dynamic_sampling' drops the groups whose rewards are all equal, and with "
                        "num_generations 1 every group is one: turn it off");
    max_gen_batches_ = static_cast<int>(c.get_int("max_num_gen_batches"));
    soft_punish_cache_ = static_cast<int>(c.get_int("soft_punish_cache"));
    if (soft_punish_cache_ >= task_->max_completion_length())
      throw ConfigError("field 'soft_punish_cache' must be less than the task's longest completion (" +
                        std::to_string(task_->max_completion_length()) + " tokens), got " + std::to_string(soft_punish_cache_));
    sampling_.temperature = static_cast<float>(c.get_float("temperature"));
    sampling_.top_k = static_cast<int>(c.get_int("top_k"));
    sampling_.top_p = static_cast<float>(c.get_float("top_p"));
    sampling_.max_new_tokens = task_->max_completion_length();
    sampling_.eos = Vocabulary::kEos;
    sampling_.pad = Vocabulary::kPad;

    Graph& g = graph_;
    const int T = model_.spec().context - 1;
    batch_tokens_.declare(g, rows_, T);
    const Dims rt = batch_tokens_.dims(g);
    groups_var_ = g.size_var("groups", batch_size_);
    const Dim groups = g.dim(groups_var_);
    loss_in_ = declare_group_loss_inputs(g, rt[0], rt[1], groups, G_, options_);
    loss_in_.old_logp = g.input("old_logp", rt);
    Expr inv_temp = g.constant(1.0f / sampling_.temperature);
    Expr lsm = log_softmax(batch_tokens_.build(g, model_, params_).logits * inv_temp);
    logp_ = loss_in_.logp = gather_last(lsm, batch_tokens_.targets);
    if (keeps_reference()) ref_params_ = params_;
    if (options_.needs_reference() || learned_) {  // the loss's reference term, or kl_ref against a learned reward
      Expr ref_lsm = log_softmax(batch_tokens_.build(g, model_, ref_params_, /*frozen=*/true).logits * inv_temp);
      ref_logp_ = gather_last(ref_lsm, batch_tokens_.targets);
      if (options_.needs_reference()) loss_in_.ref_logp = ref_logp_;
    }
    old_logp_through_ = ref_logp_.valid() ? ref_logp_ : logp_;
    loss_ = build_group_loss(g, loss_in_, options_);
    entropy_ = sum(softmax_entropy(lsm) * loss_in_.token_mean);

    buf_.allocate(rows_, T, batch_size_, token_adv_);
    if (gae_) critic_ = std::make_unique<TokenCritic>(model_.spec(), rows_, T, buf_.token_mean.data(), c.get_float("adam_eps"));
    if (token_adv_) {
      token_rewards_.assign(static_cast<size_t>(sampling_.max_new_tokens), 0.0f);
      row_advantages_.assign(static_cast<size_t>(rows_), 0.0f);
      token_scratch_.assign(static_cast<size_t>(rows_) * sampling_.max_new_tokens, 0.0f);
    }
    buf_.bind(g, loss_in_);
    for (auto* v : {&lengths_}) v->assign(static_cast<size_t>(rows_), 0.0f);
    baselines_.assign(static_cast<size_t>(batch_size_), 0.0f);
    for (int p = 0; p < batch_size_; ++p) prompts_.push_back(task_->make_problem());
    round_prompts_ = prompts_;
    prompt_tokens_.assign(static_cast<size_t>(batch_size_) * task_->max_prompt_length(), 0);
    round_tokens_ = prompt_tokens_;
    prompt_lengths_.assign(static_cast<size_t>(batch_size_), 0);
    round_lengths_ = prompt_lengths_;
    scores_.assign(static_cast<size_t>(rows_), Score{});
    round_scores_ = scores_;
    round_rewards_.assign(static_cast<size_t>(rows_), 0.0f);
    for (auto* v : {&proxy_, &gold_, &spread_, &round_proxy_, &round_gold_, &round_spread_}) v->assign(static_cast<size_t>(rows_), 0.0f);
    ref_scores_.assign(static_cast<size_t>(std::max(1, rollout_rows(c))), Score{});
    ref_rewards_.assign(ref_scores_.size(), 0.0f);
    entropy_scratch_.reserve(static_cast<size_t>(rows_) * sampling_.max_new_tokens);
    completions_.reserve(rows_, sampling_.max_new_tokens, model_.spec().vocab, false);
    if (dynamic_sampling_) round_completions_.reserve(rows_, sampling_.max_new_tokens, model_.spec().vocab, false);
    // A*-PO's reference samples and ReMax's greedy completions.
    const int extra_rows = std::max({options_.loss == PolicyLoss::AStarPo ? batch_size_ * options_.astar_ref_samples : 0,
                                     options_.estimator == Estimator::Remax ? batch_size_ : 0,
                                     adaptthink_ ? batch_size_ * options_.adaptthink_ref_samples : 0});
    if (extra_rows > 0) ref_completions_.reserve(extra_rows, sampling_.max_new_tokens, model_.spec().vocab, false);
    if (reward_.hapo_length > 0) hapo_history_.allocate(reward_.hapo_history_size);
    if (reward_.lapo_table()) lapo_table_.allocate(reward_.lapo_table_size);
    round_known_.assign(static_cast<size_t>(batch_size_), 0);
    known_ = round_known_;
    if (reward_.lapo_budget > 0) {
      Problem probe = task_->make_problem();
      Rng probe_rng = data_rng_;  // a copy: the run's problem stream is untouched
      task_->sample(Split::Train, probe_rng, probe);
      if (probe.length_target <= 0)
        throw ConfigError("field 'lapo_budget_weight' needs a length budget in the prompt: turn on the task's "
                          "length_budget (task '" + task_->id() + "')");
    }
    if (adaptthink_) {
      nothink_.assign(static_cast<size_t>(rows_), 0.0f);
      // pi_IS (AdaptThink sec. 3.2): in every group the first G/2 completions open with the
      // NoThinking marker and the other G/2 with the Thinking marker, as the authors' rollout splits
      // each prompt's samples; the rest of each completion is sampled from the policy.
      if (options_.adaptthink_importance_sampling) {
        forced_first_.assign(static_cast<size_t>(rows_), 0);
        for (int r = 0; r < rows_; ++r) forced_first_[static_cast<size_t>(r)] = r % G_ < G_ / 2 ? modes_.nothink : modes_.think;
      }
    }
    setup_safety(c);
    apply_config(c);
  }

  void apply_config(const Config& c) override {
    SequenceAlgorithm::apply_config(c);
    set_group_loss_params(graph_, c.values());
    beta_ = static_cast<float>(c.get_float("beta"));
    vf_coef_ = static_cast<float>(c.get_float("vf_coef"));
    cliprange_value_ = static_cast<float>(c.get_float("cliprange_value"));
    astar_value_beta_ = static_cast<float>(c.get_float("astar_value_beta"));
  }

  std::vector<std::string> extra_metrics() const override {
    return {"reward_mean", "heldout_accuracy", "train_accuracy", "completion_length", "length_correct",
            "length_wrong", "zero_variance_groups", "clip_low", "clip_high", "kl", "tokens_per_s",
            "advantage_abs_mean", "masked_tokens", "sampling_rounds", "length_error", "heldout_pass_at_k",
            "nothink_share", "accuracy_nothink", "accuracy_think", "heldout_nothink_share", "lapo_known_share",
            "proxy_reward", "gold_reward", "ensemble_std", "kl_ref", "value_clip_fraction",
            "helpfulness", "safety_cost", "safety_budget", "safety_lambda", "flagged_share"};
  }

  void iterate(Metrics& m) override {
    const double t0 = now_s();
    // The reference is the policy the run starts from (after a warm start): snapshot it once.
    if (iteration_ == 0 && keeps_reference()) ref_params_.values() = params_.values();
    if (iteration_ == 0 && gae_) {  // the critic starts from the same weights, with a fresh value head
      Rng head_rng = streams::stream(static_cast<uint64_t>(config_.get_int("seed")), streams::kInit, 1);
      critic_->init_from(params_, head_rng);
    }
    if (iteration_ == 0 && safety_ == SafetyMethod::Dual) estimate_dual();
    const double lambda_used = lambda_;  // the lambda this step's rewards were computed with
    const double lr = step_learning_rate();
    const int rounds = collect_batch();
    const int P = P_, Lp = task_->max_prompt_length();
    double task_reward = 0, len_right = 0, len_wrong = 0, length_error = 0;
    int right = 0, budgeted = 0, nothink = 0, nothink_right = 0, think = 0, think_right = 0;
    for (int r = 0; r < R_; ++r) {
      const Score& sc = scores_[static_cast<size_t>(r)];
      task_reward += buf_.rewards[static_cast<size_t>(r)];
      // Length control: how far completions land from the length their prompt asks for.
      const int target = prompts_[static_cast<size_t>(r / G_)].length_target;
      if (target > 0) {
        length_error += std::abs(sc.length - target);
        ++budgeted;
      }
      right += sc.correct;
      (sc.correct ? len_right : len_wrong) += sc.length;
      if (adaptthink_) {  // the sampled response's mode: its first token
        const int32_t marker = completions_.lengths[r] > 0 ? completions_.row_tokens(r)[0] : -1;
        nothink_[static_cast<size_t>(r)] = marker == modes_.nothink ? 1.0f : 0.0f;
        if (marker == modes_.nothink) {
          ++nothink;
          nothink_right += sc.correct;
        } else if (marker == modes_.think) {
          ++think;
          think_right += sc.correct;
        }
      }
    }
    // The batch layout: left-padded prompts (as the sampler laid them out), then the completion.
    int longest_prompt = 0, longest_completion = 1, completion_tokens = 0;
    for (int p = 0; p < P; ++p) longest_prompt = std::max(longest_prompt, prompt_lengths_[static_cast<size_t>(p)]);
    for (int r = 0; r < R_; ++r) {
      longest_completion = std::max(longest_completion, completions_.lengths[r]);
      completion_tokens += completions_.lengths[r];
    }
    const int T = longest_prompt + longest_completion - 1;
    int real_tokens = 0;
    for (int r = 0; r < R_; ++r) {
      const int p = r / G_, plen = prompt_lengths_[static_cast<size_t>(p)], clen = completions_.lengths[r];
      const int offset = longest_prompt - plen;
      const int32_t* prompt = prompt_tokens_.data() + static_cast<size_t>(p) * Lp;
      const int32_t* completion = completions_.row_tokens(r);
      auto token = [&](int c) {
        if (c < longest_prompt) return c >= offset ? prompt[c - offset] : Vocabulary::kPad;
        return c - longest_prompt < clen ? completion[c - longest_prompt] : Vocabulary::kPad;
      };
      auto real = [&](int c) { return c >= offset && c < longest_prompt + clen; };
      for (int t = 0; t < T; ++t) {
        const size_t at = static_cast<size_t>(r) * T + t;
        const bool target_in_completion = t + 1 >= longest_prompt && t + 1 - longest_prompt < clen;
        batch_tokens_.set(r, t, T, token(t), std::max(0, t - offset), real(t), token(t + 1));
        buf_.token_mean[at] = target_in_completion ? 1.0f / std::max(1, completion_tokens) : 0.0f;
        real_tokens += real(t);
      }
      buf_.inv_len[static_cast<size_t>(r)] = 1.0f / std::max(1, clen);
    }
    batch_tokens_.set_sizes(graph_, R_, T);
    graph_.set_size(groups_var_, P);
    // Old log-probs (and the reference's): the policy that sampled, before any update of this batch.
    graph_.forward(old_logp_through_);
    std::copy(graph_.values(logp_), graph_.values(logp_) + static_cast<size_t>(R_) * T, buf_.old_logp.begin());
    double kl_ref = Metrics::kNaN;
    if (ref_logp_.valid()) {  // sum_t log pi - log pi_ref over each completion, averaged
      const float* ref = graph_.values(ref_logp_);
      double kl = 0;
      for (int r = 0; r < R_; ++r)
        for (int k = 0; k < completions_.lengths[r]; ++k) {
          const size_t at = static_cast<size_t>(r) * T + (longest_prompt - 1 + k);
          kl += buf_.old_logp[at] - ref[at];
        }
      kl_ref = kl / R_;
    }
    if (options_.kl_in_reward && beta_ > 0 && !token_adv_) penalise_kl_in_rewards(T, longest_prompt);
    // AdaptThink's importance sampling (sec. 3.2): the first token was drawn from pi_IS, which puts
    // probability 0.5 on each marker, so its old log-prob (the ratio's denominator) is log 0.5; the
    // later tokens were drawn from the policy and keep theirs. (kl_in_reward above used the
    // policy's own log-probs.)
    if (adaptthink_ && options_.adaptthink_importance_sampling)
      for (int r = 0; r < R_; ++r) buf_.old_logp[static_cast<size_t>(r) * T + (longest_prompt - 1)] = std::log(0.5f);
    layout_T_ = T;
    first_column_ = longest_prompt - 1;
    // Advantages.
    if (options_.estimator == Estimator::Remax) greedy_baselines();
    if (adaptthink_) reference_mean_rewards();
    GroupRewards group{buf_.rewards.data(), P, G_, lengths_.data(), baselines_.data()};
    if (adaptthink_) group.nothink = nothink_.data();
    const int zero_variance =
        token_adv_ ? count_zero_variance_groups(buf_.rewards.data(), P, G_)
                   : estimate_advantages(options_.estimator, group, options_.estimator_options, buf_.advantages.data());
    int flagged = 0;
    if (safety_ == SafetyMethod::Judges) {  // CGPO: the safety judge's flags constrain the update
      for (int r = 0; r < R_; ++r) wrong_[static_cast<size_t>(r)] = scores_[static_cast<size_t>(r)].correct ? 0.0f : 1.0f;
      const float* flags[] = {cost_.data(), wrong_.data()};
      flagged = constrain_flagged_advantages(buf_.advantages.data(), R_, flags, correctness_judge_ ? 2 : 1);
    }
    double explained_variance = Metrics::kNaN;
    if (gae_) explained_variance = token_advantages(T, longest_prompt);
    else if (token_adv_) kl_return_advantages(T, longest_prompt);
    if (options_.loss == PolicyLoss::AStarPo) reference_values();
    if (options_.loss == PolicyLoss::Disco)
      disco_weights(buf_.rewards.data(), P, G_, buf_.disco_pos.data(), buf_.disco_neg.data(), buf_.disco_log_neg.data(), buf_.disco_group.data());
    // Aggregation weights, with the masks; the entropies are the sampler's, of the policy that sampled.
    const int masked = fill_token_weights(
        options_, R_, T, longest_prompt - 1, completions_.lengths.data(), sampling_.max_new_tokens,
        [this](int r) { return !completions_.finished[static_cast<size_t>(r)]; },
        [this](int r, int k) { return completions_.entropy[static_cast<size_t>(r) * completions_.max_new + k]; },
        entropy_scratch_, buf_.weights.data(), buf_.kl_weights.data());
    double loss = 0, entropy = 0, clip_low = 0, clip_high = 0, kl = 0, value_loss = 0, value_clipped = 0;
    for (int k = 0; k < mu_; ++k) {
      // The first step's weights are the ones that just gave the old log-probs, so the nodes through
      // them (the policy's and the reference's forward passes, a third of a step's arithmetic) still
      // hold this step's values: only the loss is evaluated. TRL likewise reuses the training pass's
      // log-probs as the old ones when num_iterations is 1. Later steps see updated weights.
      if (k == 0) graph_.forward_after(old_logp_through_);
      else graph_.forward();
      params_.zero_grad();
      graph_.backward(loss_.loss);
      optimizer_step(m, lr);
      if (gae_) {
        double clipped = 0;
        value_loss += critic_->train(lr, max_grad_norm_, vf_coef_, cliprange_value_, &clipped) / mu_;
        value_clipped += clipped / mu_;
      }
      loss += graph_.scalar(loss_.loss) / mu_;
      entropy += graph_.scalar(entropy_) / mu_;
      clip_low += graph_.scalar(loss_.clip_low) / mu_;
      clip_high += graph_.scalar(loss_.clip_high) / mu_;
      if (loss_.kl.valid()) kl += graph_.scalar(loss_.kl) / mu_;
    }
    const float* row_adv = token_adv_ ? row_advantages_.data() : buf_.advantages.data();
    double abs_adv = 0;
    for (int r = 0; r < R_; ++r) abs_adv += std::fabs(row_adv[r]);
    ++iteration_;
    global_step_ += real_tokens;
    const double seconds = now_s() - t0;
    m.iteration = iteration_;
    m.global_step = global_step_;
    m.policy_loss = loss;
    m.entropy = entropy;
    if (gae_) {
      m.value_loss = value_loss;
      m.explained_variance = explained_variance;
    }
    m.extra_value(kValueClipFraction) = gae_ ? value_clipped : Metrics::kNaN;
    m.extra_value(kRewardMean) = task_reward / R_;
    m.extra_value(kTrainAccuracy) = static_cast<double>(right) / R_;
    m.extra_value(kCompletionLength) = static_cast<double>(completion_tokens) / R_;
    m.extra_value(kLengthCorrect) = right > 0 ? len_right / right : Metrics::kNaN;
    m.extra_value(kLengthWrong) = right < R_ ? len_wrong / (R_ - right) : Metrics::kNaN;
    m.extra_value(kZeroVariance) = static_cast<double>(zero_variance) / P;
    m.extra_value(kClipLow) = clip_low;
    m.extra_value(kClipHigh) = clip_high;
    m.extra_value(kKl) = loss_.kl.valid() ? kl : Metrics::kNaN;
    m.extra_value(kTokensPerS) = seconds > 0 ? real_tokens * mu_ / seconds : Metrics::kNaN;
    m.extra_value(kAdvantageAbs) = abs_adv / R_;
    m.extra_value(kSamplingRounds) = rounds;
    m.extra_value(kLengthError) = budgeted > 0 ? length_error / budgeted : Metrics::kNaN;
    m.extra_value(kMaskedTokens) = static_cast<double>(masked) / std::max(1, completion_tokens);
    if (iteration_ % eval_interval_ == 0 || iteration_ == max_steps_ || iteration_ == 1) evaluate_heldout();
    m.extra_value(kHeldoutAccuracy) = last_heldout_accuracy_;
    m.extra_value(kHeldoutPassAtK) = last_heldout_pass_at_k_;
    m.extra_value(kNothinkShare) = adaptthink_ ? static_cast<double>(nothink) / R_ : Metrics::kNaN;
    m.extra_value(kAccuracyNothink) = nothink > 0 ? static_cast<double>(nothink_right) / nothink : Metrics::kNaN;
    m.extra_value(kAccuracyThink) = think > 0 ? static_cast<double>(think_right) / think : Metrics::kNaN;
    m.extra_value(kHeldoutNothinkShare) = last_heldout_nothink_share_;
    int known = 0;
    for (int p = 0; p < P; ++p) known += known_[static_cast<size_t>(p)];
    m.extra_value(kLapoKnownShare) = reward_.lapo_budget > 0 ? static_cast<double>(known) / P : Metrics::kNaN;
    m.extra_value(kKlRef) = kl_ref;
    double proxy = 0, gold = 0, spread = 0;
    for (int r = 0; r < R_; ++r) {
      proxy += proxy_[static_cast<size_t>(r)];
      gold += gold_[static_cast<size_t>(r)];
      spread += spread_[static_cast<size_t>(r)];
    }
    m.extra_value(kProxyReward) = learned_ ? proxy / R_ : Metrics::kNaN;
    m.extra_value(kGoldReward) = learned_ ? gold / R_ : Metrics::kNaN;
    m.extra_value(kEnsembleStd) = learned_ ? spread / R_ : Metrics::kNaN;
    double cost = 0, helpful = 0;
    if (judges_)
      for (int r = 0; r < R_; ++r) {
        cost += cost_[static_cast<size_t>(r)];
        helpful += helpful_[static_cast<size_t>(r)];
      }
    if (judges_) cost /= R_;
    m.extra_value(kHelpfulness) = judges_ ? helpful / R_ : Metrics::kNaN;
    m.extra_value(kSafetyCost) = judges_ ? cost : Metrics::kNaN;
    m.extra_value(kSafetyBudget) = judges_ ? budget_ : Metrics::kNaN;
    const bool weighted = safety_ == SafetyMethod::Dual || safety_ == SafetyMethod::Lagrangian;
    m.extra_value(kSafetyLambda) = weighted ? lambda_used : Metrics::kNaN;
    m.extra_value(kFlaggedShare) = safety_ == SafetyMethod::Judges ? static_cast<double>(flagged) / R_ : Metrics::kNaN;
    // The Lagrangian baseline's dual ascent on this batch's cost (projected onto lambda >= 0).
    if (safety_ == SafetyMethod::Lagrangian) lambda_ = lagrangian_step(lambda_, lambda_lr_, cost, budget_);
  }

  json recent_groups() const override {
    json groups = json::array();
    const Vocabulary& v = task_->vocab();
    const int shown = iteration_ > 0 ? std::min(P_, kShownGroups) : 0;  // nothing sampled before the first step
    for (int p = 0; p < shown; ++p) {
      json completions = json::array();
      for (int g = 0; g < G_; ++g) {
        const int r = p * G_ + g;
        const int32_t* t = completions_.row_tokens(r);
        completions.push_back({{"text", v.decode(std::vector<int>(t, t + completions_.lengths[r]))},
                               {"reward", float_json(buf_.rewards[static_cast<size_t>(r)])},
                               {"advantage", float_json(token_adv_ ? row_advantages_[static_cast<size_t>(r)] : buf_.advantages[static_cast<size_t>(r)])},
                               {"correct", scores_[static_cast<size_t>(r)].correct},
                               {"length", completions_.lengths[r]}});
        // Against a learned reward: "reward" is the proxy; the hidden gold reward beside it.
        if (learned_) completions.back()["gold"] = float_json(gold_[static_cast<size_t>(r)]);
        // AdaptThink: the old log-prob of the first token (the mode marker), the ratio's denominator.
        if (adaptthink_)
          completions.back()["first_token_old_logp"] =
              float_json(buf_.old_logp[static_cast<size_t>(r) * layout_T_ + first_column_]);
      }
      groups.push_back({{"prompt", v.decode(prompts_[static_cast<size_t>(p)].prompt)}, {"completions", completions}});
    }
    return groups;
  }

  void write_state(ByteWriter& w) const override {
    write_common_state(w);
    put_rng(w, rollout_rng_);
    if (keeps_reference()) w.put_array(ref_params_.values().data(), static_cast<size_t>(ref_params_.total_size()));
    if (gae_) critic_->write_state(w);
    if (adaptthink_) w.put<double>(last_heldout_nothink_share_);
    if (safety_ == SafetyMethod::Dual || safety_ == SafetyMethod::Lagrangian) w.put<double>(lambda_);
    if (reward_.hapo_length > 0) {  // the config says whether the table is there
      w.put_array(hapo_history_.keys().data(), hapo_history_.keys().size());
      w.put_array(hapo_history_.values().data(), hapo_history_.values().size());
      w.put(static_cast<int64_t>(hapo_history_.evictions()));
    }
    if (reward_.lapo_table()) {
      w.put_array(lapo_table_.keys().data(), lapo_table_.keys().size());
      w.put_array(lapo_table_.values().data(), lapo_table_.values().size());
      w.put(static_cast<int64_t>(lapo_table_.evictions()));
    }
  }
  void read_state(ByteReader& r) override {
    read_common_state(r);
    get_rng(r, rollout_rng_, "rollout rng");
    if (keeps_reference())
      r.get_array(ref_params_.values().data(), static_cast<size_t>(ref_params_.total_size()), "reference model");
    if (gae_) critic_->read_state(r);
    if (adaptthink_) last_heldout_nothink_share_ = r.get<double>("held-out NoThinking share");
    if (safety_ == SafetyMethod::Dual || safety_ == SafetyMethod::Lagrangian) lambda_ = r.get<double>("safety lambda");
    if (reward_.hapo_length > 0) {
      r.get_array(hapo_history_.mutable_keys().data(), hapo_history_.mutable_keys().size(), "HAPO history keys");
      r.get_array(hapo_history_.mutable_values().data(), hapo_history_.mutable_values().size(), "HAPO history lengths");
      hapo_history_.restore(r.get<int64_t>("HAPO evictions"));
    }
    if (reward_.lapo_table()) {
      r.get_array(lapo_table_.mutable_keys().data(), lapo_table_.mutable_keys().size(), "LAPO table keys");
      r.get_array(lapo_table_.mutable_values().data(), lapo_table_.mutable_values().size(), "LAPO table lengths");
      lapo_table_.restore(r.get<int64_t>("LAPO evictions"));
    }
  }
  // A warm start from a LAPO run (stage 1 -> stage 2) carries its table of lengths, as the authors
  // hand stage 1's mapping file to stage 2. Tables of other sizes are copied entry by entry.
  void take_warm_start(const Algorithm& source) override {
    const auto* from = dynamic_cast<const Grpo*>(&source);
    if (!from || !from->reward_.lapo_table() || !reward_.lapo_table()) return;
    const LengthHistory& t = from->lapo_table_;
    for (size_t i = 0; i < t.keys().size(); ++i)
      if (t.keys()[i] != 0) lapo_table_.record_key(t.keys()[i], t.values()[i], /*keep_min=*/false);
  }
  Formula objective() const override { return graph_.formula(loss_.loss); }

 private:
  enum Extra {
    kRewardMean, kHeldoutAccuracy, kTrainAccuracy, kCompletionLength, kLengthCorrect, kLengthWrong, kZeroVariance,
    kClipLow, kClipHigh, kKl, kTokensPerS, kAdvantageAbs, kMaskedTokens, kSamplingRounds, kLengthError,
    kHeldoutPassAtK, kNothinkShare, kAccuracyNothink, kAccuracyThink, kHeldoutNothinkShare, kLapoKnownShare,
    kProxyReward, kGoldReward, kEnsembleStd, kKlRef, kValueClipFraction,
    kHelpfulness, kSafetyCost, kSafetyBudget, kSafetyLambda, kFlaggedShare
  };

  // Constrained alignment (safety.hpp): the gold judges, the method and its buffers, all allocated
  // here so that the steady-state loop allocates nothing.
  void setup_safety(const Config& c) {
    safety_ = parse_safety_method(c.get_string("safety_method"), "safety_method");
    budget_ = c.get_float("safety_budget");
    // (The schema refuses a safety method without reward_judges, and each method's options under
    // another: FieldSpec::applies_when.)
    if (!c.get_bool("reward_judges")) return;
    if (learned_ || options_.estimator == Estimator::Remax || options_.estimator == Estimator::AdaptThink ||
        options_.token_advantages() || options_.loss == PolicyLoss::AStarPo)
      throw ConfigError("field 'reward_judges': the gold judges replace the task's reward for group estimators "
                        "(grpo, rloo, ...) only, not with reward_model, remax, adaptthink, gae, astar_po or per-token "
                        "advantages (kl_in_reward with reinforce_plus_plus)");
    try {
      judges_ = std::make_unique<GoldReward>(*task_, gold_reward_options(c.values()));
    } catch (const PreferenceDataError& e) {
      throw ConfigError(e.what());
    }
    for (auto* v : {&cost_, &round_cost_, &helpful_, &round_helpful_, &wrong_}) v->assign(static_cast<size_t>(rows_), 0.0f);
    correctness_judge_ = c.get_bool("correctness_judge");
    lambda_ = safety_ == SafetyMethod::Lagrangian ? c.get_float("safety_lambda_init") : 0.0;
    lambda_lr_ = c.get_float("safety_lambda_lr");
    flagged_reward_ = static_cast<float>(c.get_float("safety_flagged_reward"));
    dual_beta_ = c.get_float("safety_dual_beta");
    if (safety_ == SafetyMethod::Dual) {
      dual_prompts_ = static_cast<int>(c.get_int("safety_dual_prompts"));
      dual_samples_ = static_cast<int>(c.get_int("safety_dual_samples"));
      if (dual_samples_ > rows_)
        throw ConfigError("field 'safety_dual_samples' must be at most batch_size * num_generations (" + std::to_string(rows_) +
                          ", the sampler's rows), got " + std::to_string(dual_samples_));
      dual_r_.assign(static_cast<size_t>(dual_prompts_) * dual_samples_, 0.0f);
      dual_c_ = dual_r_;
    }
  }

  // The judges' reward of one completion (helpfulness - lambda * cost) and its cost and helpfulness.
  float judged_reward(const Problem& q, const int32_t* tokens, int n, float* cost, float* helpful) const {
    const GoldAttributes a = judges_->attributes(q, tokens, n);
    *helpful = static_cast<float>(judges_->helpfulness(a));
    *cost = static_cast<float>(GoldReward::safety_cost(a));
    // CGPO (Xu et al. 2024, sec. 4): a completion that violates a judge's constraint is a negative
    // sample whatever its reward; the judges method gives it the flagged reward.
    if (safety_ == SafetyMethod::Judges && (*cost > 0 || (correctness_judge_ && !a.correct))) return flagged_reward_;
    return static_cast<float>(*helpful - lambda_ * *cost);
  }

  // One-shot dualization (Huang et al. 2024): lambda* = argmin_{lambda >= 0} of the Monte-Carlo dual
  // mean_x beta log mean_y exp((r - lambda c) / beta) + lambda b over safety_dual_prompts prompts
  // with safety_dual_samples samples each of the initial policy (the reference, before any update),
  // on its own random stream so the run's problems and rollouts are those of the unconstrained run.
  // The samples must cover safe completions of most prompts: lambda* exists only when reweighting
  // them can meet the budget (the optimal policy of the KL-regularized problem stays on the
  // reference's support), else it is optimal_safety_dual's cap.
  void estimate_dual() {
    const int Lp = task_->max_prompt_length(), K = dual_samples_;
    const int chunk = std::min(batch_size_, rows_ / K);  // prompts per sampling call
    Rng rng = streams::stream(static_cast<uint64_t>(config_.get_int("seed")), streams::kRollouts, 5);
    for (int first = 0; first < dual_prompts_; first += chunk) {
      const int n = std::min(chunk, dual_prompts_ - first);
      for (int p = 0; p < n; ++p) {
        Problem& q = round_prompts_[static_cast<size_t>(p)];
        task_->sample(Split::Train, rng, q);
        round_lengths_[static_cast<size_t>(p)] = static_cast<int>(q.prompt.size());
        std::copy(q.prompt.begin(), q.prompt.end(), round_tokens_.begin() + static_cast<size_t>(p) * Lp);
      }
      sampler_.generate(params_, round_tokens_.data(), round_lengths_.data(), n, Lp, K, sampling_, rng, completions_);
      for (int row = 0; row < n * K; ++row) {
        const size_t at = static_cast<size_t>(first) * K + row;
        const GoldAttributes a = judges_->attributes(round_prompts_[static_cast<size_t>(row / K)], completions_.row_tokens(row),
                                                     completions_.lengths[row]);
        dual_r_[at] = static_cast<float>(judges_->helpfulness(a));
        dual_c_[at] = static_cast<float>(GoldReward::safety_cost(a));
      }
    }
    lambda_ = optimal_safety_dual(dual_r_.data(), dual_c_.data(), dual_prompts_, K, dual_beta_, budget_);
  }

  // gae: the critic's values at sampling, the token rewards (-beta * KL_t with kl_in_reward, plus
  // the completion's reward at its last token), GAE over each completion into buf_.advantages
  // [R, T] and the critic's returns, then the advantages whitened over the batch's completion
  // tokens (TRL PPOTrainer; verl). Returns the critic's explained variance 1 - Var[R - V] / Var[R].
  double token_advantages(int T, int longest_prompt) {
    critic_->set_layout(batch_tokens_, R_, T);
    const float* values = critic_->values();
    float* returns = critic_->returns();
    const float* ref = options_.kl_in_reward && beta_ > 0 ? graph_.values(ref_logp_) : nullptr;
    std::fill(buf_.advantages.begin(), buf_.advantages.begin() + static_cast<long>(R_) * T, 0.0f);
    std::fill(returns, returns + static_cast<size_t>(R_) * T, 0.0f);
    double sum_r = 0, sum_r2 = 0, sum_e = 0, sum_e2 = 0;
    int n = 0;
    for (int r = 0; r < R_; ++r) {
      const int clen = completions_.lengths[r];
      const size_t first = static_cast<size_t>(r) * T + static_cast<size_t>(longest_prompt - 1);
      for (int k = 0; k < clen; ++k)
        token_rewards_[static_cast<size_t>(k)] =
            ref ? -beta_ * kl_estimate(buf_.old_logp[first + k], ref[first + k], options_.kl) : 0.0f;
      if (clen > 0) token_rewards_[static_cast<size_t>(clen - 1)] += buf_.rewards[static_cast<size_t>(r)];
      gae_advantages(token_rewards_.data(), values + first, clen, options_.estimator_options.gamma,
                     options_.estimator_options.lam, buf_.advantages.data() + first, returns + first);
      for (int k = 0; k < clen; ++k) {
        const double ret = returns[first + k], err = ret - values[first + k];
        sum_r += ret;
        sum_r2 += ret * ret;
        sum_e += err;
        sum_e2 += err * err;
        ++n;
      }
    }
    finish_token_advantages(T, longest_prompt, /*whitened=*/true);
    if (n < 2) return Metrics::kNaN;
    const double var_r = (sum_r2 - sum_r * sum_r / n) / n, var_e = (sum_e2 - sum_e * sum_e / n) / n;
    return var_r > 0 ? 1.0 - var_e / var_r : Metrics::kNaN;
  }

  // kl_in_reward with reinforce_plus_plus or remax, as verl computes them (core_algos.py,
  // compute_reinforce_plus_plus_outcome_advantage and compute_remax_outcome_advantage): the token
  // rewards are -beta * KL_t at sampling plus the completion's reward at its last token, and each
  // token's return sums them from that token on (gamma 1): a token is charged the KL of itself and
  // of the tokens after it, not the whole completion's. ReMax subtracts the greedy completion's
  // reward; REINFORCE++ whitens the returns over the batch's completion tokens.
  void kl_return_advantages(int T, int longest_prompt) {
    const bool remax = options_.estimator == Estimator::Remax;
    const float* ref = beta_ > 0 && ref_logp_.valid() ? graph_.values(ref_logp_) : nullptr;
    std::fill(buf_.advantages.begin(), buf_.advantages.begin() + static_cast<long>(R_) * T, 0.0f);
    for (int r = 0; r < R_; ++r) {
      const size_t first = static_cast<size_t>(r) * T + static_cast<size_t>(longest_prompt - 1);
      const double baseline = remax ? baselines_[static_cast<size_t>(r / G_)] : 0.0;
      const int clen = completions_.lengths[r];
      for (int k = 0; k < clen; ++k)
        token_rewards_[static_cast<size_t>(k)] = ref ? kl_estimate(buf_.old_logp[first + k], ref[first + k], options_.kl) : 0.0f;
      kl_returns_to_go(buf_.rewards[static_cast<size_t>(r)], token_rewards_.data(), clen, static_cast<float>(beta_),
                       static_cast<float>(baseline), buf_.advantages.data() + first);
    }
    finish_token_advantages(T, longest_prompt, /*whitened=*/!remax);
  }

  // Per-token advantages: whitened over the batch's completion tokens (gathered, whitened, put
  // back) when `whitened`; each completion's mean token advantage kept for the metrics and the table.
  void finish_token_advantages(int T, int longest_prompt, bool whitened) {
    int at = 0;
    for (int r = 0; r < R_; ++r) {
      const float* a = buf_.advantages.data() + static_cast<size_t>(r) * T + longest_prompt - 1;
      std::copy(a, a + completions_.lengths[r], token_scratch_.begin() + at);
      at += completions_.lengths[r];
    }
    if (whitened) whiten(token_scratch_.data(), at);
    at = 0;
    for (int r = 0; r < R_; ++r) {
      const int clen = completions_.lengths[r];
      std::copy(token_scratch_.begin() + at, token_scratch_.begin() + at + clen,
                buf_.advantages.begin() + static_cast<long>(r) * T + longest_prompt - 1);
      double row = 0;
      for (int k = 0; k < clen; ++k) row += token_scratch_[static_cast<size_t>(at + k)];
      row_advantages_[static_cast<size_t>(r)] = clen > 0 ? static_cast<float>(row / clen) : 0.0f;
      at += clen;
    }
  }

  // The run keeps a frozen reference: for its loss or estimator, or for kl_ref against a learned reward.
  bool keeps_reference() const { return options_.keeps_reference() || learned_ != nullptr; }

  // The learned reward of n completions rows [row0, row0 + n) of c, all of prompt p of the batch
  // (prompts, lengths: the prompt buffers), into r; their gold rewards and the members' spread
  // into gold and spread when given.
  void learned_rewards(const int32_t* prompt, int prompt_length, const Problem& q, const Completions& c, int row0, int n,
                       float* r, float* gold = nullptr, float* spread = nullptr) {
    RewardScorer& s = *learned_->scorer;
    for (int first = 0; first < n; first += s.capacity()) {
      const int k = std::min(s.capacity(), n - first);
      s.score_groups(k, k, prompt, &prompt_length, 0, c.row_tokens(row0 + first), c.lengths.data() + row0 + first, c.max_new);
      for (int i = 0; i < k; ++i) {
        r[first + i] = static_cast<float>(s.aggregated(i, learned_->aggregation, learned_->penalty));
        if (spread) spread[first + i] = static_cast<float>(s.spread(i));
        if (gold) gold[first + i] = static_cast<float>(learned_->gold->reward(q, c.row_tokens(row0 + first + i), c.lengths[row0 + first + i]));
      }
    }
  }

  // Samples prompts and their G completions, scores them, and lays the kept groups out in
  // prompts_, prompt_tokens_, completions_, scores_, buf_.rewards and lengths_ (P_ groups, R_ rows).
  // With dynamic_sampling (DAPO, Yu et al. 2025, sec. 3.2), groups whose rewards are all equal
  // are dropped and more prompts are sampled until batch_size groups carry signal or
  // max_num_gen_batches rounds were drawn; the step then trains on the groups it has (the last
  // round's as they are when none carried signal). Returns the number of rounds.
  int collect_batch() {
    const int Lp = task_->max_prompt_length();
    Completions& sampled = dynamic_sampling_ ? round_completions_ : completions_;
    P_ = 0;
    int rounds = 0;
    while (P_ < batch_size_ && rounds < (dynamic_sampling_ ? max_gen_batches_ : 1)) {
      ++rounds;
      for (int p = 0; p < batch_size_; ++p) {
        Problem& q = round_prompts_[static_cast<size_t>(p)];
        task_->sample(Split::Train, data_rng_, q);
        if (reward_.lapo_budget > 0) round_known_[static_cast<size_t>(p)] = state_lapo_budget(q);
        round_lengths_[static_cast<size_t>(p)] = static_cast<int>(q.prompt.size());
        std::copy(q.prompt.begin(), q.prompt.end(), round_tokens_.begin() + static_cast<size_t>(p) * Lp);
      }
      SamplingOptions o = sampling_;  // pi_IS: AdaptThink's forced first markers (else none)
      o.first_tokens = forced_first_.empty() ? nullptr : forced_first_.data();
      sampler_.generate(params_, round_tokens_.data(), round_lengths_.data(), batch_size_, Lp, G_, o, rollout_rng_,
                        sampled);
      for (int p = 0; p < batch_size_; ++p) {
        const Problem& q = round_prompts_[static_cast<size_t>(p)];
        Score* s = round_scores_.data() + static_cast<size_t>(p) * G_;
        float* r = round_rewards_.data() + static_cast<size_t>(p) * G_;
        for (int g = 0; g < G_; ++g) s[g] = task_->score(q, sampled.row_tokens(p * G_ + g), sampled.lengths[p * G_ + g]);
        if (learned_) {
          const size_t at = static_cast<size_t>(p) * G_;
          learned_rewards(round_tokens_.data() + static_cast<size_t>(p) * Lp, round_lengths_[static_cast<size_t>(p)], q, sampled,
                          p * G_, G_, r, round_gold_.data() + at, round_spread_.data() + at);
          std::copy(r, r + G_, round_proxy_.begin() + static_cast<long>(at));
        } else if (judges_) {
          const size_t at = static_cast<size_t>(p) * G_;
          for (int g = 0; g < G_; ++g)
            r[g] = judged_reward(q, sampled.row_tokens(p * G_ + g), sampled.lengths[p * G_ + g], &round_cost_[at + g],
                                 &round_helpful_[at + g]);
        } else {
          rewards_of(q, s, G_, r);
        }
        // DAPO's soft overlong punishment (rewards.hpp).
        for (int g = 0; g < G_; ++g)
          r[g] += soft_overlong_penalty(sampled.lengths[p * G_ + g], sampling_.max_new_tokens, soft_punish_cache_);
        const bool keep = !dynamic_sampling_ || count_zero_variance_groups(r, 1, G_) == 0;
        if (!keep || P_ == batch_size_) continue;
        keep_group(p, P_++, sampled);
      }
      record_history(batch_size_);
    }
    if (P_ == 0) {  // no group carried signal in any round: train on the last round as it is
      for (int p = 0; p < batch_size_; ++p) keep_group(p, P_++, sampled);
    }
    R_ = P_ * G_;
    for (int r = 0; r < R_; ++r) lengths_[static_cast<size_t>(r)] = static_cast<float>(completions_.lengths[r]);
    return rounds;
  }

  // The rewards of n completions of problem q: the reward spec's terms, plus HAPO's history-aware
  // length term (rewards.hpp) against the history as it stood before this sampling round.
  void rewards_of(const Problem& q, const Score* s, int n, float* r) const {
    reward_.group_totals(q, s, n, r);
    if (reward_.hapo_length > 0) {
      const int history = hapo_history_.lookup(q.prompt);
      for (int g = 0; g < n; ++g) r[g] += reward_.hapo_length * hapo_length_reward(s[g].length, history, s[g].correct);
    }
    if (reward_.lapo_budget > 0) {  // LAPO-I: around the stated budget, or the group's median while unknown
      const bool known = lapo_table_.lookup_key(lapo_problem_key(q)) > 0;
      const float target = known ? static_cast<float>(q.length_target) : correct_median_length(s, n);
      for (int g = 0; g < n; ++g)
        r[g] += reward_.lapo_budget * lapo_budget_reward(s[g].length, target, s[g].correct, reward_.lapo_sigma);
    }
  }

  // LAPO-I (rewards.hpp): the prompt states the problem's length from the table, or the largest
  // budget while the problem is unknown (the authors state 4096 then). True when it was known.
  bool state_lapo_budget(Problem& q) const {
    const int known = lapo_table_.lookup_key(lapo_problem_key(q));
    const int largest = task_->max_completion_length();
    state_length_budget(task_->vocab(), largest, known > 0 ? known : largest, q);
    return known > 0;
  }

  // HAPO updates each problem's history with the shortest correct completion of the round, after
  // every completion of the round was rewarded against the old history (as the authors' trainer does
  // per batch).
  void record_history(int prompts) {
    if (reward_.lapo_table()) record_lapo_lengths(prompts);
    if (reward_.hapo_length <= 0) return;
    for (int p = 0; p < prompts; ++p) {
      const Score* s = round_scores_.data() + static_cast<size_t>(p) * G_;
      int shortest = 0;
      for (int g = 0; g < G_; ++g)
        if (s[g].correct && (shortest == 0 || s[g].length < shortest)) shortest = s[g].length;
      if (shortest > 0) hapo_history_.record(round_prompts_[static_cast<size_t>(p)].prompt, shortest);
    }
  }

  // LAPO's table (the authors' reward functions keep it per prompt). Stage 1 (LAPO-D) records the
  // median length of each group's correct completions, the latest round winning (and 0, "unknown",
  // when none was correct), which is the statistic stage 2 starts from; stage 2 (LAPO-I) lowers a
  // problem's entry to the round's median when that is shorter than the stated budget, or sets it
  // when the problem was unknown. Stored whole tokens (the prompt states int(median)).
  void record_lapo_lengths(int prompts) {
    for (int p = 0; p < prompts; ++p) {
      const Problem& q = round_prompts_[static_cast<size_t>(p)];
      const float median = correct_median_length(round_scores_.data() + static_cast<size_t>(p) * G_, G_);
      const uint64_t key = lapo_problem_key(q);
      if (reward_.lapo_budget <= 0) {
        lapo_table_.record_key(key, static_cast<int>(median), /*keep_min=*/false);
      } else if (median > 0 && (lapo_table_.lookup_key(key) == 0 || median < static_cast<float>(q.length_target))) {
        lapo_table_.record_key(key, static_cast<int>(median), /*keep_min=*/false);
      }
    }
  }

  // Moves group `from` of the sampling round into slot `to` of the training batch. No allocation
  // (the problems keep their capacity).
  void keep_group(int from, int to, const Completions& sampled) {
    const int Lp = task_->max_prompt_length();
    prompts_[static_cast<size_t>(to)] = round_prompts_[static_cast<size_t>(from)];
    known_[static_cast<size_t>(to)] = round_known_[static_cast<size_t>(from)];
    prompt_lengths_[static_cast<size_t>(to)] = round_lengths_[static_cast<size_t>(from)];
    std::copy(round_tokens_.begin() + static_cast<long>(from) * Lp, round_tokens_.begin() + static_cast<long>(from + 1) * Lp,
              prompt_tokens_.begin() + static_cast<long>(to) * Lp);
    for (int g = 0; g < G_; ++g) {
      const size_t a = static_cast<size_t>(from * G_ + g), b = static_cast<size_t>(to * G_ + g);
      if (&sampled != &completions_ || a != b) completions_.copy_row(sampled, static_cast<int>(a), static_cast<int>(b));
      scores_[b] = round_scores_[a];
      buf_.rewards[b] = round_rewards_[a];
      proxy_[b] = round_proxy_[a];
      gold_[b] = round_gold_[a];
      spread_[b] = round_spread_[a];
      if (judges_) {
        cost_[b] = round_cost_[a];
        helpful_[b] = round_helpful_[a];
      }
    }
  }

  // kl_in_reward (verl's use_kl_in_reward with outcome estimators, which sum the token rewards):
  // r_i -= beta * sum_t kl_t over the completion, kl_t estimated from the sampling policy's and the
  // reference's log-probs.
  void penalise_kl_in_rewards(int T, int longest_prompt) {
    const float* ref = graph_.values(ref_logp_);
    for (int r = 0; r < R_; ++r) {
      double kl = 0;
      for (int k = 0; k < completions_.lengths[r]; ++k) {
        const size_t at = static_cast<size_t>(r) * T + (longest_prompt - 1 + k);
        kl += kl_estimate(buf_.old_logp[at], ref[at], options_.kl);
      }
      buf_.rewards[static_cast<size_t>(r)] -= static_cast<float>(beta_ * kl);
    }
  }

  // ReMax's baseline: the reward of the greedy completion of each prompt under the current policy.
  void greedy_baselines() {
    SamplingOptions greedy = sampling_;
    greedy.greedy = true;
    const int P = P_;
    sampler_.generate(params_, prompt_tokens_.data(), prompt_lengths_.data(), P, task_->max_prompt_length(), 1, greedy,
                      rollout_rng_, ref_completions_);
    for (int p = 0; p < P; ++p) {
      const Problem& q = prompts_[static_cast<size_t>(p)];
      Score& s = ref_scores_[static_cast<size_t>(p)];
      s = task_->score(q, ref_completions_.row_tokens(p), ref_completions_.lengths[p]);
      if (learned_)
        learned_rewards(prompt_tokens_.data() + static_cast<size_t>(p) * task_->max_prompt_length(), prompt_lengths_[static_cast<size_t>(p)],
                        q, ref_completions_, p, 1, &baselines_[static_cast<size_t>(p)]);
      else
        rewards_of(q, &s, 1, &baselines_[static_cast<size_t>(p)]);
    }
  }

  // A*-PO's V*(x) = beta1 log mean_j exp(r_j / beta1) over astar_ref_samples completions of the
  // frozen reference (Brantley et al. 2025, eq. 4), for each prompt of the batch.
  void reference_values() {
    const int P = P_, N = options_.astar_ref_samples;
    sampler_.generate(ref_params_, prompt_tokens_.data(), prompt_lengths_.data(), P, task_->max_prompt_length(), N,
                      sampling_, rollout_rng_, ref_completions_);
    for (int p = 0; p < P; ++p) {
      const Problem& q = prompts_[static_cast<size_t>(p)];
      Score* s = ref_scores_.data();
      for (int j = 0; j < N; ++j) s[j] = task_->score(q, ref_completions_.row_tokens(p * N + j), ref_completions_.lengths[p * N + j]);
      if (learned_)
        learned_rewards(prompt_tokens_.data() + static_cast<size_t>(p) * task_->max_prompt_length(), prompt_lengths_[static_cast<size_t>(p)],
                        q, ref_completions_, p * N, N, ref_rewards_.data());
      else
        rewards_of(q, s, N, ref_rewards_.data());
      const float v = astar_value_star(ref_rewards_.data(), N, static_cast<float>(astar_value_beta_));
      for (int g = 0; g < G_; ++g) buf_.value_star[static_cast<size_t>(p * G_ + g)] = v;
    }
  }

  // AdaptThink's Rbar_ref(x) (Zhang et al. 2025, sec. 3.1): the mean reward of the frozen reference
  // (the weights the run starts from) over adaptthink_ref_samples completions of each prompt,
  // sampled as the reference samples on its own (no forced marker). The paper pre-samples K = 16
  // responses per training problem once; prompts here are drawn from a large space and seldom
  // repeat, so a per-prompt cache would rarely hit, and sampling the frozen reference afresh each
  // step estimates the same quantity without bias (at K sampled rows per prompt).
  void reference_mean_rewards() {
    const int P = P_, K = options_.adaptthink_ref_samples;
    sampler_.generate(ref_params_, prompt_tokens_.data(), prompt_lengths_.data(), P, task_->max_prompt_length(), K,
                      sampling_, rollout_rng_, ref_completions_);
    for (int p = 0; p < P; ++p) {
      const Problem& q = prompts_[static_cast<size_t>(p)];
      Score* s = ref_scores_.data();
      for (int j = 0; j < K; ++j) s[j] = task_->score(q, ref_completions_.row_tokens(p * K + j), ref_completions_.lengths[p * K + j]);
      if (learned_)
        learned_rewards(prompt_tokens_.data() + static_cast<size_t>(p) * task_->max_prompt_length(), prompt_lengths_[static_cast<size_t>(p)],
                        q, ref_completions_, p * K, K, ref_rewards_.data());
      else
        rewards_of(q, s, K, ref_rewards_.data());
      double sum = 0;
      for (int j = 0; j < K; ++j) sum += ref_rewards_[static_cast<size_t>(j)];
      baselines_[static_cast<size_t>(p)] = static_cast<float>(sum / K);
    }
  }

  static constexpr int kShownGroups = 4;
  RewardSpec reward_;
  LengthHistory hapo_history_;  // HAPO's shortest correct length per prompt (allocated when its weight > 0)
  LengthHistory lapo_table_;    // LAPO's median correct length per problem (allocated with either LAPO weight)
  std::vector<uint8_t> round_known_, known_;  // LAPO-I: the prompt's budget came from the table
  GroupLossOptions options_;
  std::unique_ptr<LearnedReward> learned_;  // with reward_model
  std::vector<float> proxy_, gold_, spread_, round_proxy_, round_gold_, round_spread_;  // per row, with reward_model
  SamplingOptions sampling_;
  Rng rollout_rng_;  // sampling completions (problems come from data_rng_)
  int G_ = 2, rows_ = 2, mu_ = 1, groups_var_ = 0;
  int P_ = 1, R_ = 2;  // this step's groups and completions (fewer than the capacity after dynamic sampling)
  bool dynamic_sampling_ = false;
  bool adaptthink_ = false;
  int layout_T_ = 1, first_column_ = 0;  // the last batch's token columns and its first completion target's
  AnswerModes modes_;                 // adaptthink: the task's mode markers
  std::vector<int32_t> forced_first_;  // adaptthink with importance sampling: pi_IS's first token per row
  std::vector<float> nothink_;         // adaptthink: 1 for a NoThinking completion of this step
  int max_gen_batches_ = 1, soft_punish_cache_ = 0;
  float beta_ = 0, astar_value_beta_ = 0.5f;
  bool gae_ = false;
  bool token_adv_ = false;  // buf_.advantages per token [R, T] (GroupLossOptions::token_advantages)
  std::unique_ptr<TokenCritic> critic_;  // gae
  std::vector<float> token_rewards_, row_advantages_;  // gae: one completion's token rewards; each row's mean advantage
  std::vector<float> token_scratch_;                   // gae: the batch's completion-token advantages, gathered
  float vf_coef_ = 0.1f, cliprange_value_ = 0.2f;
  Parameters ref_params_;
  Graph graph_;
  TokenBatch batch_tokens_;
  GroupLossInputs loss_in_;
  GroupLossOutputs loss_;
  Expr logp_, ref_logp_, entropy_;
  Expr old_logp_through_;  // the last node of the pass that gives the old (and reference) log-probs
  std::vector<int32_t> prompt_tokens_;
  GroupLossBuffers buf_;  // the loss's inputs
  std::vector<float> lengths_, baselines_, ref_rewards_, entropy_scratch_;
  std::vector<int> prompt_lengths_;
  std::vector<Problem> prompts_, round_prompts_;
  std::vector<Score> scores_, round_scores_, ref_scores_;
  std::vector<int32_t> round_tokens_;
  std::vector<int> round_lengths_;
  std::vector<float> round_rewards_;
  Completions completions_, ref_completions_, round_completions_;
  // Constrained alignment (reward_judges).
  std::unique_ptr<GoldReward> judges_;
  SafetyMethod safety_ = SafetyMethod::None;
  double budget_ = 0, lambda_ = 0, lambda_lr_ = 0, dual_beta_ = 0.1;
  int dual_prompts_ = 0, dual_samples_ = 16;
  float flagged_reward_ = -1.0f;
  std::vector<float> cost_, round_cost_, helpful_, round_helpful_, dual_r_, dual_c_;
  std::vector<float> wrong_;        // judges: 1 for a completion the correctness judge flags
  bool correctness_judge_ = false;
};

}  // namespace

std::unique_ptr<Algorithm> make_grpo(const Config& c) { return std::make_unique<Grpo>(c); }

}  // namespace pl
