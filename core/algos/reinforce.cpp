// REINFORCE (Williams 1992, "Simple Statistical Gradient-Following Algorithms for Connectionist
// Reinforcement Learning"), with an optional learned state-value baseline:
//   - every iteration, each of num_envs envs plays exactly one episode from a fresh reset (capped at
//     the env's time limit, where the return is bootstrapped from V(final obs) when a baseline exists);
//   - Monte-Carlo returns G_t = sum_k gamma^k r_{t+k} (GAE with lambda = 1 computes exactly these);
//   - one gradient step on all steps of the episodes:
//       L = -mean((G - b(s)) log pi(a|s)) - ent_coef * H [+ vf_coef * mean((V - G)^2)]
//     with b = V (baseline) or b = 0.
#include "core/algos/algorithm.hpp"
#include "core/algos/losses.hpp"
#include "core/algos/registry.hpp"

namespace pl {

Schema reinforce_schema() {
  return make_schema(
      "reinforce", "Monte-Carlo policy gradient with an optional learned baseline (Williams 1992)",
      {
          {"num_envs", FieldType::Int, 8, 1, 1024, {}, "episodes per iteration (one per env)", false, "rollout"},
          {"num_steps", FieldType::Int, 0, 0, 100000, {}, "longest episode stored; 0 = the env's time limit", false, "rollout"},
          {"use_baseline", FieldType::Bool, true, 0, 0, {}, "subtract a learned state value from the return", false, "loss"},
          {"learning_rate", FieldType::Float, 1e-3, 0, 1, {}, "optimizer step size", true, "optim"},
          {"anneal_lr", FieldType::Bool, false, 0, 0, {}, "anneal the learning rate linearly to 0", false, "optim"},
          {"norm_adv", FieldType::Bool, true, 0, 0, {}, "normalise G - b over the batch (lower-variance steps)", false, "loss"},
          {"ent_coef", FieldType::Float, 0.0, 0, 10, {}, "entropy bonus coefficient", true, "loss"},
      });
}

namespace {

int episode_cap(const Config& c) {
  const int64_t n = c.get_int("num_steps");
  return n > 0 ? static_cast<int>(n) : make_env(c.get_string("env_id"))->max_episode_steps();
}

class Reinforce final : public OnPolicyAlgorithm {
 public:
  explicit Reinforce(const Config& c)
      : OnPolicyAlgorithm(c, episode_cap(c), episode_cap(c) * static_cast<int>(c.get_int("num_envs")),
                          c.get_bool("use_baseline")) {
    auto g = std::make_unique<Graph>(rollout_steps_ * num_envs_);
    Expr ent_coef = g->param("ent_coef", 0.0f);
    Expr pg_loss = losses::vanilla_policy_gradient(*g, losses::advantage(*g, c.get_bool("norm_adv")));
    Expr entropy = mean(g->input("entropy"));
    Expr loss = pg_loss - ent_coef * entropy;
    Expr v_loss;
    if (c.get_bool("use_baseline")) {
      v_loss = losses::value_mse(*g);
      loss = loss + g->param("vf_coef", 0.5f) * v_loss;
    }
    losses::name_outputs(*g, loss, pg_loss, entropy, c.get_bool("use_baseline") ? &v_loss : nullptr);
    // The advantage is the Monte-Carlo return minus the baseline V(s), or the return alone.
    if (c.get_bool("use_baseline")) g->display(g->input("adv"), "(G - V(s))", "\\big(G - V_\\theta(s)\\big)");
    else g->display(g->input("adv"), "G", "G");
    if (g->has_input("ret")) g->display(g->input("ret"), "G", "G");
    set_loss(std::move(g), loss);
    fixed_rollouts_ = false;
  }

  void iterate(Metrics& m) override {
    begin_iteration(m);
    collect_episodes();
    estimate_advantages(1.0);  // lambda = 1: A_t = G_t - V(s_t), or G_t when V = 0
    update_on_whole_batch(m);
    end_iteration(m);
  }
};

}  // namespace

std::unique_ptr<Algorithm> make_reinforce(const Config& c) { return std::make_unique<Reinforce>(c); }

}  // namespace pl
