// Group Relative Policy Optimization (Shao et al. 2024, "DeepSeekMath", sec. 4), following TRL's
// GRPOTrainer (option names from TRL where it has them, else verl's):
//   - each step draws batch_size training prompts and samples num_generations (G) completions of
//     each with the KV-cached sampler (temperature, top_k, top_p);
//   - the task's verifier scores them; the reward is the task's RewardSpec (correctness by default);
//   - advantages per completion: GRPO's group-normalised reward (scale_rewards group | batch | none,
//     none being Dr. GRPO) or RLOO's leave-one-out baseline (group_advantages.hpp);
//   - num_iterations (mu) Adam steps on the whole batch, each minimising the clipped surrogate per
//     completion token, with the old log-probs snapshotted before the first step:
//       l_t = -min(r_t A, clip(r_t, 1 - epsilon, 1 + epsilon_high) A) + beta * k3_t,
//       r_t = pi(o_t | q, o_<t) / pi_old(o_t | q, o_<t), logits divided by the sampling temperature,
//       k3_t = exp(ref_t - logp_t) - (ref_t - logp_t) - 1 to a frozen reference (the weights the run
//       starts from; TRL's estimator, not clamped);
//   - aggregated over tokens by loss_agg_mode (verl's names): token-mean (DAPO), seq-mean-token-mean
//     (GRPO, TRL's "grpo"), seq-mean-token-sum, seq-mean-token-sum-norm (Dr. GRPO's constant
//     max_completion_length). Every mode is a weighted sum of the per-token losses, with weights
//     computed from the completion lengths.
#include <chrono>
#include <cmath>

#include "core/algos/group_advantages.hpp"
#include "core/algos/registry.hpp"
#include "core/algos/sequence.hpp"
#include "core/tasks/rewards.hpp"

namespace pl {

Schema grpo_schema() {
  using T = FieldType;
  std::vector<FieldSpec> f = {
      {"batch_size", T::Int, 16, 1, 1024, {}, "prompts per step, each sampled num_generations times", false, "run"},
      {"max_steps", T::Int, 200, 1, 1e9, {}, "policy-gradient steps (batches of sampled completions) to train for", false, "run"},
      {"eval_interval", T::Int, 10, 1, 1000000, {}, "steps between held-out evaluations (and at the last step)", false, "run"},
      {"num_generations", T::Int, 8, 2, 256, {}, "completions sampled per prompt (the group size G)", false, "rollout"},
      {"temperature", T::Float, 1.0, 0.05, 10, {}, "sampling temperature (the loss's logits are divided by it too, as in TRL)", false, "rollout"},
      {"top_k", T::Int, 0, 0, 1000, {}, "sample from the k most probable tokens; 0: all", false, "rollout"},
      {"top_p", T::Float, 1.0, 0.01, 1, {}, "nucleus sampling mass; 1: off", false, "rollout"},
      make_field("advantage_estimator", T::String, "grpo", 0, 0, "loss",
                 "grpo: group-normalised rewards; rloo: leave-one-out baseline", false, {"grpo", "rloo"}),
      make_field("scale_rewards", T::String, "group", 0, 0, "loss",
                 "grpo: divide by the group's std, the batch's, or none (Dr. GRPO)", false, {"group", "batch", "none"}),
      {"std_eps", T::Float, 1e-4, 0, 1, {}, "added to the std before dividing (TRL 1e-4; verl 1e-6)", false, "loss"},
      {"epsilon", T::Float, 0.2, 0, 10, {}, "clipping: the ratio is kept above 1 - epsilon", true, "loss"},
      {"epsilon_high", T::Float, 0.0, 0, 10, {}, "upper clipping 1 + epsilon_high (DAPO's clip-higher, e.g. 0.28); 0: epsilon", true, "loss"},
      {"beta", T::Float, 0.0, 0, 10, {}, "weight of the k3 KL to the reference in the loss; 0 builds no reference", false, "loss"},
      make_field("loss_agg_mode", T::String, "seq-mean-token-mean", 0, 0, "loss",
                 "how per-token losses aggregate (verl's names)", false,
                 {"token-mean", "seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm"}),
      {"num_iterations", T::Int, 1, 1, 16, {}, "Adam steps per sampled batch (mu); ratios differ from 1 after the first", false, "loss"},
      {"learning_rate", T::Float, 3e-4, 0, 1, {}, "Adam step size", true, "optim"},
      {"anneal_lr", T::Bool, false, 0, 0, {}, "decay the learning rate linearly to 0 over max_steps", false, "optim"},
      {"adam_eps", T::Float, 1e-8, 1e-12, 1, {}, "epsilon added to Adam's denominator (PyTorch's default)", false, "optim"},
      {"max_grad_norm", T::Float, 1.0, 0, 1e6, {}, "global gradient-norm clip; 0 disables", true, "optim"},
  };
  for (const FieldSpec& r : reward_fields()) f.push_back(r);
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

class Grpo final : public SequenceAlgorithm {
 public:
  explicit Grpo(const Config& c)
      : SequenceAlgorithm(c, static_cast<int>(c.get_int("batch_size") * c.get_int("num_generations"))),
        reward_(make_reward_spec(reward_options(c))) {
    G_ = static_cast<int>(c.get_int("num_generations"));
    rollout_rng_ = streams::stream(static_cast<uint64_t>(c.get_int("seed")), streams::kRollouts);
    rows_ = batch_size_ * G_;
    if (rows_ > 8192) throw ConfigError("batch_size * num_generations must be at most 8192, got " + std::to_string(rows_));
    const std::string est = c.get_string("advantage_estimator");
    rloo_ = est == "rloo";
    const std::string scale = c.get_string("scale_rewards");
    scale_ = scale == "group" ? ScaleRewards::Group : scale == "batch" ? ScaleRewards::Batch : ScaleRewards::None;
    std_eps_ = static_cast<float>(c.get_float("std_eps"));
    beta_ = static_cast<float>(c.get_float("beta"));
    agg_ = c.get_string("loss_agg_mode");
    mu_ = static_cast<int>(c.get_int("num_iterations"));
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
    Expr weights = g.input("weights", rt);        // the aggregation's weight of each token's loss
    Expr token_mean = g.input("token_mean", rt);  // 1 / (completion tokens) on completion tokens
    Expr adv = g.input("advantages", rt);
    in_old_ = g.input("old_logp", rt);
    Expr inv_temp = g.constant(1.0f / sampling_.temperature);
    Expr lsm = log_softmax(batch_tokens_.build(g, model_, params_).logits * inv_temp);
    logp_ = gather_last(lsm, batch_tokens_.targets);
    Expr eps_low = g.param("epsilon", 0.2f), eps_high = g.param("epsilon_high", 0.2f);
    Expr ratio = exp(logp_ - in_old_);
    Expr clipped = clamp(ratio, 1.0f - eps_low, 1.0f + eps_high);
    Expr per_token = -min(ratio * adv, clipped * adv);
    if (beta_ > 0) {
      ref_params_ = params_;
      Expr ref_lsm = log_softmax(batch_tokens_.build(g, model_, ref_params_, /*frozen=*/true).logits * inv_temp);
      Expr d = gather_last(ref_lsm, batch_tokens_.targets) - logp_;
      Expr k3 = exp(d) - d - 1.0f;
      per_token = per_token + beta_ * k3;
      kl_ = sum(k3 * token_mean);
    }
    loss_ = sum(per_token * weights);
    entropy_ = sum(softmax_entropy(lsm) * token_mean);
    // TRL's clip ratios: low where the ratio fell under 1 - epsilon with A < 0, high above 1 + epsilon_high with A > 0.
    Expr zero = g.constant(0.0f);
    clip_low_ = sum(greater(1.0f - eps_low, ratio) * greater(zero, adv) * token_mean);
    clip_high_ = sum(greater(ratio, 1.0f + eps_high) * greater(adv, zero) * token_mean);

    const size_t n = static_cast<size_t>(rows_) * T;
    for (auto* v : {&weights_, &token_mean_, &adv_tok_, &old_logp_}) v->assign(n, 0.0f);
    g.bind(weights, weights_.data());
    g.bind(token_mean, token_mean_.data());
    g.bind(adv, adv_tok_.data());
    g.bind(in_old_, old_logp_.data());
    for (int p = 0; p < batch_size_; ++p) prompts_.push_back(task_->make_problem());
    prompt_tokens_.assign(static_cast<size_t>(batch_size_) * task_->max_prompt_length(), 0);
    prompt_lengths_.assign(static_cast<size_t>(batch_size_), 0);
    rewards_.assign(static_cast<size_t>(rows_), 0.0f);
    advantages_.assign(static_cast<size_t>(rows_), 0.0f);
    scores_.assign(static_cast<size_t>(rows_), Score{});
    completions_.reserve(rows_, sampling_.max_new_tokens, model_.spec().vocab, false);
    apply_config(c);
  }

  void apply_config(const Config& c) override {
    SequenceAlgorithm::apply_config(c);
    const double eps = c.get_float("epsilon"), eps_high = c.get_float("epsilon_high");
    graph_.set_param("epsilon", static_cast<float>(eps));
    graph_.set_param("epsilon_high", static_cast<float>(eps_high > 0 ? eps_high : eps));
  }

  std::vector<std::string> extra_metrics() const override {
    return {"reward_mean", "heldout_accuracy", "train_accuracy", "completion_length", "length_correct",
            "length_wrong", "zero_variance_groups", "clip_low", "clip_high", "kl", "tokens_per_s"};
  }

  void iterate(Metrics& m) override {
    const double t0 = now_s();
    // The reference is the policy the run starts from (after a warm start): snapshot it once.
    if (iteration_ == 0 && beta_ > 0) ref_params_.values() = params_.values();
    const double lr = step_learning_rate();
    const int P = batch_size_, Lp = task_->max_prompt_length();
    for (int p = 0; p < P; ++p) {
      Problem& q = prompts_[static_cast<size_t>(p)];
      task_->sample(Split::Train, data_rng_, q);
      prompt_lengths_[static_cast<size_t>(p)] = static_cast<int>(q.prompt.size());
      std::copy(q.prompt.begin(), q.prompt.end(), prompt_tokens_.begin() + static_cast<size_t>(p) * Lp);
    }
    sampler_.generate(params_, prompt_tokens_.data(), prompt_lengths_.data(), P, Lp, G_, sampling_, rollout_rng_,
                      completions_);
    // Rewards, then advantages.
    double reward_sum = 0, len_right = 0, len_wrong = 0;
    int right = 0;
    for (int p = 0; p < P; ++p) {
      Score* s = scores_.data() + static_cast<size_t>(p) * G_;
      for (int g = 0; g < G_; ++g) {
        const int r = p * G_ + g;
        s[g] = task_->score(prompts_[static_cast<size_t>(p)], completions_.row_tokens(r), completions_.lengths[r]);
        right += s[g].correct;
        (s[g].correct ? len_right : len_wrong) += s[g].length;
      }
      reward_.group_totals(prompts_[static_cast<size_t>(p)], s, G_, rewards_.data() + static_cast<size_t>(p) * G_);
    }
    for (float r : rewards_) reward_sum += r;
    const int zero_variance = rloo_ ? rloo_advantages(rewards_.data(), P, G_, advantages_.data())
                                    : grpo_advantages(rewards_.data(), P, G_, scale_, std_eps_, advantages_.data());
    // The batch layout: left-padded prompts (as the sampler laid them out), then the completion.
    int longest_prompt = 0, longest_completion = 1, completion_tokens = 0;
    for (int p = 0; p < P; ++p) longest_prompt = std::max(longest_prompt, prompt_lengths_[static_cast<size_t>(p)]);
    for (int r = 0; r < rows_; ++r) {
      longest_completion = std::max(longest_completion, completions_.lengths[r]);
      completion_tokens += completions_.lengths[r];
    }
    const int T = longest_prompt + longest_completion - 1;
    const double L_max = sampling_.max_new_tokens;
    int real_tokens = 0;
    for (int r = 0; r < rows_; ++r) {
      const int p = r / G_, plen = prompt_lengths_[static_cast<size_t>(p)], clen = completions_.lengths[r];
      const int offset = longest_prompt - plen;
      const int32_t* prompt = prompt_tokens_.data() + static_cast<size_t>(p) * Lp;
      const int32_t* completion = completions_.row_tokens(r);
      auto token = [&](int c) {
        if (c < longest_prompt) return c >= offset ? prompt[c - offset] : Vocabulary::kPad;
        return c - longest_prompt < clen ? completion[c - longest_prompt] : Vocabulary::kPad;
      };
      auto real = [&](int c) { return c >= offset && c < longest_prompt + clen; };
      // Aggregation weight of each completion token (see the file comment).
      double w;
      if (agg_ == "token-mean") w = 1.0 / std::max(1, completion_tokens);
      else if (agg_ == "seq-mean-token-mean") w = 1.0 / (static_cast<double>(rows_) * std::max(1, clen));
      else if (agg_ == "seq-mean-token-sum") w = 1.0 / rows_;
      else w = 1.0 / (rows_ * L_max);
      for (int t = 0; t < T; ++t) {
        const size_t at = static_cast<size_t>(r) * T + t;
        const bool target_in_completion = t + 1 >= longest_prompt && t + 1 - longest_prompt < clen;
        batch_tokens_.set(r, t, T, token(t), std::max(0, t - offset), real(t), token(t + 1));
        weights_[at] = target_in_completion ? static_cast<float>(w) : 0.0f;
        token_mean_[at] = target_in_completion ? 1.0f / std::max(1, completion_tokens) : 0.0f;
        adv_tok_[at] = advantages_[static_cast<size_t>(r)];
        real_tokens += real(t);
      }
    }
    batch_tokens_.set_sizes(graph_, rows_, T);
    // Old log-probs: the policy that sampled, before any update of this batch.
    graph_.forward(logp_);
    std::copy(graph_.values(logp_), graph_.values(logp_) + static_cast<size_t>(rows_) * T, old_logp_.begin());
    double loss = 0, entropy = 0, clip_low = 0, clip_high = 0, kl = 0;
    for (int k = 0; k < mu_; ++k) {
      graph_.forward();
      params_.zero_grad();
      graph_.backward(loss_);
      optimizer_step(m, lr);
      loss += graph_.scalar(loss_) / mu_;
      entropy += graph_.scalar(entropy_) / mu_;
      clip_low += graph_.scalar(clip_low_) / mu_;
      clip_high += graph_.scalar(clip_high_) / mu_;
      if (beta_ > 0) kl += graph_.scalar(kl_) / mu_;
    }
    ++iteration_;
    global_step_ += real_tokens;
    const double seconds = now_s() - t0;
    m.iteration = iteration_;
    m.global_step = global_step_;
    m.policy_loss = loss;
    m.entropy = entropy;
    m.extra_value(kRewardMean) = reward_sum / rows_;
    m.extra_value(kTrainAccuracy) = static_cast<double>(right) / rows_;
    m.extra_value(kCompletionLength) = static_cast<double>(completion_tokens) / rows_;
    m.extra_value(kLengthCorrect) = right > 0 ? len_right / right : Metrics::kNaN;
    m.extra_value(kLengthWrong) = right < rows_ ? len_wrong / (rows_ - right) : Metrics::kNaN;
    m.extra_value(kZeroVariance) = static_cast<double>(zero_variance) / P;
    m.extra_value(kClipLow) = clip_low;
    m.extra_value(kClipHigh) = clip_high;
    m.extra_value(kKl) = beta_ > 0 ? kl : Metrics::kNaN;
    m.extra_value(kTokensPerS) = seconds > 0 ? real_tokens * mu_ / seconds : Metrics::kNaN;
    if (iteration_ % eval_interval_ == 0 || iteration_ == max_steps_ || iteration_ == 1) evaluate_heldout();
    m.extra_value(kHeldoutAccuracy) = last_heldout_accuracy_;
  }

  void write_state(ByteWriter& w) const override {
    write_common_state(w);
    put_rng(w, rollout_rng_);
    if (beta_ > 0) w.put_array(ref_params_.values().data(), static_cast<size_t>(ref_params_.total_size()));
  }
  void read_state(ByteReader& r) override {
    read_common_state(r);
    get_rng(r, rollout_rng_, "rollout rng");
    if (beta_ > 0) r.get_array(ref_params_.values().data(), static_cast<size_t>(ref_params_.total_size()), "reference model");
  }

 private:
  enum Extra {
    kRewardMean, kHeldoutAccuracy, kTrainAccuracy, kCompletionLength, kLengthCorrect, kLengthWrong, kZeroVariance,
    kClipLow, kClipHigh, kKl, kTokensPerS
  };
  RewardSpec reward_;
  SamplingOptions sampling_;
  Rng rollout_rng_;  // sampling completions (problems come from data_rng_)
  int G_ = 2, rows_ = 2, mu_ = 1;
  bool rloo_ = false;
  ScaleRewards scale_ = ScaleRewards::Group;
  float std_eps_ = 1e-4f, beta_ = 0;
  std::string agg_;
  Parameters ref_params_;
  Graph graph_;
  TokenBatch batch_tokens_;
  Expr in_old_, logp_, loss_, entropy_, kl_, clip_low_, clip_high_;
  std::vector<int32_t> prompt_tokens_;
  std::vector<float> weights_, token_mean_, adv_tok_, old_logp_, rewards_, advantages_;
  std::vector<int> prompt_lengths_;
  std::vector<Problem> prompts_;
  std::vector<Score> scores_;
  Completions completions_;
};

}  // namespace

std::unique_ptr<Algorithm> make_grpo(const Config& c) { return std::make_unique<Grpo>(c); }

}  // namespace pl
