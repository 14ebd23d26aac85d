// Proximal Policy Optimization (Schulman et al. 2017, "Proximal Policy Optimization Algorithms"),
// following CleanRL's ppo.py / ppo_continuous_action.py:
//   - collect num_steps x num_envs transitions, GAE(gamma, lambda) advantages (truncation
//     bootstrapped from the true final observation, see rollout.hpp);
//   - update_epochs passes over the batch in num_minibatches shuffled minibatches, each one Adam
//     step on   L = L_clip - ent_coef * H + vf_coef * L_V
//     with L_clip the clipped surrogate (eq. 7), L_V = 0.5 * mean((V - R)^2) or its clipped form,
//     per-minibatch advantage normalisation, global-norm gradient clipping;
//   - optional early stop of the epochs when the k3 KL estimate exceeds target_kl.
#include <cmath>

#include "core/algos/algorithm.hpp"
#include "core/algos/losses.hpp"
#include "core/algos/registry.hpp"

namespace pl {

Schema ppo_schema() {
  return make_schema(
      "ppo", "Proximal Policy Optimization with the clipped surrogate objective (Schulman et al. 2017)",
      {
          {"num_minibatches", FieldType::Int, 4, 1, 1 << 20, {}, "minibatches per epoch (batch = num_envs * num_steps)", false, "rollout"},
          {"update_epochs", FieldType::Int, 4, 1, 1000, {}, "passes over the batch per iteration", false, "rollout"},
          {"clip_coef", FieldType::Float, 0.2, 0, 10, {}, "surrogate clipping coefficient epsilon: the ratio is kept in [1 - eps, 1 + eps]", true, "loss"},
          {"clip_vloss", FieldType::Bool, true, 0, 0, {}, "clip the value loss around the old values (as CleanRL and baselines do)", false, "loss"},
          {"target_kl", FieldType::Float, 0.0, 0, 10, {}, "stop the epochs early when the k3 KL estimate exceeds this; 0 disables", true, "loss"},
      });
}

namespace {

class Ppo final : public OnPolicyAlgorithm {
 public:
  explicit Ppo(const Config& c)
      : OnPolicyAlgorithm(require_one_batch(c), static_cast<int>(c.get_int("num_steps")), minibatch_size(c),
                          /*with_critic=*/true) {
    const int batch = rollout_steps_ * num_envs_;
    if (c.get_int("num_minibatches") > batch)
      throw ConfigError("field 'num_minibatches' must be at most num_envs * num_steps = " + std::to_string(batch) +
                        ", got " + std::to_string(c.get_int("num_minibatches")));
    auto g = std::make_unique<Graph>(minibatch_size(c));
    Expr clip = g->param("clip_coef", 0.2f);
    Expr ent_coef = g->param("ent_coef", 0.0f);
    Expr vf_coef = g->param("vf_coef", 0.5f);
    Expr adv = losses::advantage(*g, c.get_bool("norm_adv"));
    Expr logratio = losses::log_ratio(*g);
    Expr ratio = losses::ratio(*g, logratio);
    Expr pg_loss = losses::clipped_surrogate(adv, ratio, clip);
    Expr v_loss = 0.5f * (c.get_bool("clip_vloss") ? losses::clipped_value_mse(*g, clip) : losses::value_mse(*g));
    Expr entropy = mean(g->input("entropy"));
    Expr loss = pg_loss - ent_coef * entropy + vf_coef * v_loss;
    losses::name_outputs(*g, loss, pg_loss, entropy, &v_loss);
    losses::name_kl_estimators(*g, logratio, ratio);
    g->name_output("clip_fraction", mean(greater(abs(ratio - 1.0f), clip)));
    set_loss(std::move(g), loss);
    num_minibatches_ = static_cast<int>(c.get_int("num_minibatches"));
    update_epochs_ = static_cast<int>(c.get_int("update_epochs"));
    apply_config(c);
  }

  void apply_config(const Config& c) override {
    OnPolicyAlgorithm::apply_config(c);
    target_kl_ = c.get_float("target_kl");
  }

  void iterate(Metrics& m) override {
    begin_iteration(m);
    collect_rollout();
    estimate_advantages(gae_lambda_);
    const int batch = rollout_steps_ * num_envs_;
    const int num_minibatches = num_minibatches_, epochs = update_epochs_;
    for (int k = 0; k < batch; ++k) indices_[k] = k;
    for (int epoch = 0; epoch < epochs; ++epoch) {
      shuffle_rng_.shuffle(indices_.data(), batch);
      double kl3 = 0;
      // Minibatch j covers [j * batch / M, (j + 1) * batch / M): every sample once per epoch.
      for (int j = 0; j < num_minibatches; ++j) {
        const int begin = static_cast<int>(static_cast<int64_t>(j) * batch / num_minibatches);
        const int end = static_cast<int>(static_cast<int64_t>(j + 1) * batch / num_minibatches);
        kl3 = gradient_step(indices_.data() + begin, end - begin);
      }
      ++m.update_epochs_run;
      if (target_kl_ > 0 && kl3 > target_kl_) break;  // CleanRL checks the last minibatch's estimate
    }
    end_iteration(m);
  }

 private:
  static int minibatch_size(const Config& c) {
    const int64_t batch = c.get_int("num_envs") * c.get_int("num_steps");
    const int64_t m = c.get_int("num_minibatches");
    return static_cast<int>((batch + m - 1) / m);
  }
  double target_kl_ = 0;
  int num_minibatches_ = 1, update_epochs_ = 1;
};

}  // namespace

std::unique_ptr<Algorithm> make_ppo(const Config& c) { return std::make_unique<Ppo>(c); }

}  // namespace pl
