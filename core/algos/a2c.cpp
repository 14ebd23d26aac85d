// Advantage Actor-Critic, the synchronous variant of A3C (Mnih et al. 2016, "Asynchronous Methods
// for Deep Reinforcement Learning"), as Stable-Baselines3's A2C computes it:
//   - collect num_steps (default 5) x num_envs transitions, GAE(gamma, lambda) advantages
//     (lambda = 1 gives the n-step returns of the paper);
//   - one gradient step on the whole batch:
//       L = -mean(A log pi(a|s)) - ent_coef * H + vf_coef * mean((V - R)^2)
//     with global-norm gradient clipping. (SB3 uses RMSprop; PolicyLab uses Adam or SGD.)
#include "core/algos/algorithm.hpp"
#include "core/algos/losses.hpp"
#include "core/algos/registry.hpp"

namespace pl {

Schema a2c_schema() {
  return make_schema(
      "a2c", "Advantage Actor-Critic, synchronous (Mnih et al. 2016)",
      {
          {"num_steps", FieldType::Int, 5, 1, 100000, {}, "steps per env per rollout (one gradient step each)", false, "rollout"},
          {"num_envs", FieldType::Int, 8, 1, 1024, {}, "parallel environments", false, "rollout"},
          {"gae_lambda", FieldType::Float, 1.0, 0, 1, {}, "GAE lambda; 1 gives n-step returns", false, "rollout"},
          {"learning_rate", FieldType::Float, 7e-4, 0, 1, {}, "optimizer step size", true, "optim"},
          {"anneal_lr", FieldType::Bool, false, 0, 0, {}, "anneal the learning rate linearly to 0 (SB3's A2C keeps it constant)", false, "optim"},
          {"norm_adv", FieldType::Bool, false, 0, 0, {}, "normalise advantages over the batch", false, "loss"},
          {"max_grad_norm", FieldType::Float, 0.5, 0, 1e6, {}, "global gradient-norm clip; 0 disables", true, "optim"},
          {"ent_coef", FieldType::Float, 0.0, 0, 10, {}, "entropy bonus coefficient", true, "loss"},
      });
}

namespace {

class A2c final : public OnPolicyAlgorithm {
 public:
  explicit A2c(const Config& c)
      : OnPolicyAlgorithm(require_one_batch(c), static_cast<int>(c.get_int("num_steps")),
                          static_cast<int>(c.get_int("num_steps") * c.get_int("num_envs")), /*with_critic=*/true) {
    auto g = std::make_unique<Graph>(rollout_steps_ * num_envs_);
    Expr ent_coef = g->param("ent_coef", 0.0f);
    Expr vf_coef = g->param("vf_coef", 0.5f);
    Expr pg_loss = losses::vanilla_policy_gradient(*g, losses::advantage(*g, c.get_bool("norm_adv")));
    Expr v_loss = losses::value_mse(*g);
    Expr entropy = mean(g->input("entropy"));
    Expr loss = pg_loss - ent_coef * entropy + vf_coef * v_loss;
    losses::name_outputs(*g, loss, pg_loss, entropy, &v_loss);
    set_loss(std::move(g), loss);
  }

  void iterate(Metrics& m) override {
    begin_iteration(m);
    collect_rollout();
    estimate_advantages(gae_lambda_);
    update_on_whole_batch(m);
    end_iteration(m);
  }
};

}  // namespace

std::unique_ptr<Algorithm> make_a2c(const Config& c) { return std::make_unique<A2c>(c); }

}  // namespace pl
