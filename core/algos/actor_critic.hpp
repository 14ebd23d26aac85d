// The agent shared by the policy-gradient algorithms: separate actor and critic MLPs (CleanRL's
// Agent), a Categorical head for Discrete action spaces and a diagonal Gaussian with a
// state-independent log-std parameter for Box spaces. All parameters live in one Parameters buffer.
//
// A Batch holds the buffers for one batch capacity (the rollout's num_envs, or a minibatch), so the
// training loop allocates nothing.
#pragma once

#include <string>
#include <vector>

#include "core/envs/env.hpp"
#include "core/nn/mlp.hpp"
#include "core/nn/parameters.hpp"
#include "core/util/rng.hpp"

namespace pl {

struct ActorCriticSpec {
  int obs_dim = 0;
  Space action_space;
  std::vector<int> hidden{64, 64};
  Activation activation = Activation::Tanh;
  bool with_critic = true;
  float init_log_std = 0.0f;
};

class ActorCritic {
 public:
  struct Batch {
    int capacity = 0;
    MlpWorkspace actor, critic;
    MatrixXf logp_all;        // Categorical: log-softmax (A x capacity)
    MatrixXf actions;         // act_dim x capacity
    MatrixXf dhead;           // gradient w.r.t. actor outputs (A x capacity)
    VectorXf logp, entropy, value, dvalue;
    VectorXf zeros;           // the actor's d loss / d logp when a loss has no log-prob term
    auto obs(int n) { return actor.input(n); }  // fill this with observations (obs_dim x n)
  };

  explicit ActorCritic(const ActorCriticSpec& spec);
  void init(Rng& rng);
  Batch make_batch(int capacity) const;

  // Observations are in b.obs(n). Forward actor (and critic when it exists). With parallel threads
  // set, the actor and the critic run on two threads for batches of 64 samples and more (PPO's
  // minibatches; not the rollout's few environments), here and in backward().
  void forward(Batch& b, int n, bool with_value) const;
  // The critic alone: V of the observations in b.obs(n) into b.value.
  void values(Batch& b, int n) const;
  // After forward: sample (or take the mode of) actions into b.actions, their log-probs into b.logp.
  void act(Batch& b, int n, bool deterministic, Rng& rng) const;
  // After forward with given actions in b.actions: log-probs and entropies per sample.
  void evaluate_actions(Batch& b, int n) const;
  // Backward from per-sample d loss / d logp, d loss / d entropy, d loss / d value (any may be null).
  // Accumulates into params().grads().
  void backward(Batch& b, int n, const float* dlogp, const float* dentropy, const float* dvalue);

  // Discrete: probabilities (A x n). Box: means (A x n).
  void action_summary(Batch& b, int n, float* out) const;

  Parameters& params() { return params_; }
  const Parameters& params() const { return params_; }
  const ActorCriticSpec& spec() const { return spec_; }
  bool discrete() const { return spec_.action_space.is_discrete(); }
  bool has_critic() const { return spec_.with_critic; }
  int action_dim() const { return discrete() ? spec_.action_space.n : spec_.action_space.flat_dim(); }
  int act_store_dim() const { return spec_.action_space.flat_dim(); }  // floats per stored action
  const float* log_std() const;

 private:
  ActorCriticSpec spec_;
  Parameters params_;
  Mlp actor_, critic_;
  int log_std_ = -1;  // tensor index (Box only)
};

}  // namespace pl
