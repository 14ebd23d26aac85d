// The interface the Trainer drives, and OnPolicyAlgorithm: the machinery every on-policy
// policy-gradient method shares (rollout collection, minibatch gradient steps through a loss graph,
// clipping, optimizer, metrics, checkpoint state). Each algorithm file (ppo.cpp, a2c.cpp,
// reinforce.cpp) defines its hyperparameters, its loss expression and its iteration schedule.
#pragma once

#include <memory>
#include <vector>

#include "core/algos/actor_critic.hpp"
#include "core/algos/rollout.hpp"
#include "core/autodiff/tape.hpp"
#include "core/envs/vector_env.hpp"
#include "core/optim/optim.hpp"
#include "core/train/config.hpp"
#include "core/train/metrics.hpp"
#include "core/util/bytes.hpp"

namespace pl {

class SequenceLearner;
class ComboLearner;

// The part of every checkpoint that records training progress: iteration and step counters, the
// parameters, the optimizer's step count and moments (same layout for every algorithm).
void write_training_state(ByteWriter& w, int64_t iteration, int64_t global_step, const Parameters& params,
                          const Optimizer& optimizer);
// Throws FormatError on negative counters or a size mismatch.
void read_training_state(ByteReader& r, int64_t& iteration, int64_t& global_step, Parameters& params,
                         Optimizer& optimizer);

// What the Trainer drives. An algorithm owns its parameters (one flat buffer: the optimizer,
// clipping, checkpoints and the gradient views read it), names the metrics it adds to the shared
// record, and offers the view of its task kind: an actor-critic acting in Gym-style envs, or a
// sequence model on a verifiable sequence task.
class Algorithm {
 public:
  virtual ~Algorithm() = default;
  // One iteration; fills the algorithm's part of the metrics record.
  virtual void iterate(Metrics& m) = 0;
  // A live hyperparameter changed (the config is already validated and updated).
  virtual void apply_config(const Config& config) = 0;
  virtual int64_t global_step() const = 0;
  virtual int64_t iteration() const = 0;
  virtual bool done() const = 0;  // the run has used its budget
  virtual Parameters& params() = 0;
  virtual const Parameters& params() const = 0;
  // The model weights a warm start (init_from) replaces, and gives when this run is the source:
  // params() for every algorithm that trains its model; a reward model (reward_model.cpp) trains
  // reward heads on copies of the policy it starts from and keeps that policy here.
  virtual Parameters& model_weights() { return params(); }
  virtual const Parameters& model_weights() const { return params(); }
  // Metrics this algorithm adds to the record (Metrics::extra, in this order), fixed at construction.
  virtual std::vector<std::string> extra_metrics() const { return {}; }
  virtual void write_state(ByteWriter& w) const = 0;
  virtual void read_state(ByteReader& r) = 0;  // throws FormatError
  // The objective being minimised, printed from the loss expression itself (Graph::formula) with the
  // coefficients' current values. Empty when the algorithm does not print one.
  virtual Formula objective() const { return {}; }
  // A warm start (init_from) took `source`'s model weights; an algorithm may take more of its state
  // (LAPO's stage 2 takes stage 1's length table). Nothing by default.
  virtual void take_warm_start(const Algorithm& source) { (void)source; }
  // A warm start from weights of another layout that this algorithm knows how to extend (Poppy's
  // population from a single policy: the decoder cloned per agent). Returns false, changing
  // nothing, when it does not apply; the Trainer then refuses the checkpoint as not matching.
  virtual bool adopt_weights(const Parameters& from) {
    (void)from;
    return false;
  }

  // Task-kind views (null when the algorithm is of the other kind).
  virtual const ActorCritic* actor_critic() const { return nullptr; }
  virtual const Normalizers* normalizers() const { return nullptr; }
  virtual SequenceLearner* sequence_learner() { return nullptr; }
  virtual const SequenceLearner* sequence_learner() const { return nullptr; }
  virtual ComboLearner* combo_learner() { return nullptr; }
  virtual const ComboLearner* combo_learner() const { return nullptr; }
};

class OnPolicyAlgorithm : public Algorithm {
 public:
  // Reads the shared hyperparameters (env, rollout shape, network, optimizer, normalisation).
  // rollout_steps: T of the buffer; minibatch_capacity: the largest batch one gradient step sees.
  OnPolicyAlgorithm(const Config& config, int rollout_steps, int minibatch_capacity, bool with_critic);

  void apply_config(const Config& config) override;
  int64_t global_step() const override { return global_step_; }
  int64_t iteration() const override { return iteration_; }
  // Fixed-size rollouts run total_timesteps / (num_envs * num_steps) iterations (rounded down), as
  // CleanRL does;
  // episodic collection (REINFORCE) runs until total_timesteps env steps have been taken.
  bool done() const override {
    return fixed_rollouts_ ? iteration_ >= num_iterations_ : global_step_ >= total_timesteps_;
  }
  Parameters& params() override { return agent_.params(); }
  const Parameters& params() const override { return agent_.params(); }
  const ActorCritic* actor_critic() const override { return &agent_; }
  const Normalizers* normalizers() const override { return &norm_; }
  void write_state(ByteWriter& w) const override;
  void read_state(ByteReader& r) override;
  const RolloutBuffer& rollout() const { return buffer_; }  // the last collected batch (tests, inspection)
  // The loss graph's formula, and how the advantage and returns it reads were estimated.
  Formula objective() const override;

 protected:
  // Fixed-size rollouts (PPO, A2C): refuses a total_timesteps below one batch, which trains nothing.
  static const Config& require_one_batch(const Config& config);  // throws ConfigError; returns config
  // Sets the loss graph (built by the algorithm's constructor) and checks its inputs and outputs.
  void set_loss(std::unique_ptr<Graph> graph, Expr loss);
  Graph& graph() { return *graph_; }

  // Starts an iteration: learning-rate annealing, statistics reset.
  void begin_iteration(Metrics& m);
  // Collects rollout_steps steps from every env with autoreset (continuing episodes across
  // iterations), then fills next_values for bootstrapping.
  void collect_rollout();
  // Resets all envs and runs each for exactly one episode (REINFORCE); steps after an env's episode
  // ended are marked invalid.
  void collect_episodes();
  // Fills buffer advantages/returns with GAE(gamma, lambda).
  void estimate_advantages(double lambda);
  // One optimizer step on the samples idx[0..n) (flat indices t * E + e of the buffer).
  // Returns the loss graph's "approx_kl_k3" output when it has one, else NaN.
  double gradient_step(const int* idx, int n);
  // Writes the averaged update statistics, episode statistics, explained variance into m.
  void end_iteration(Metrics& m);

  // One gradient step on every valid sample of the buffer (A2C, REINFORCE).
  void update_on_whole_batch(Metrics& m);

  const Config& config() const { return config_; }

  Config config_;
  VectorEnv env_;
  ActorCritic agent_;
  Optimizer optimizer_;
  RolloutBuffer buffer_;
  Normalizers norm_;
  Rng action_rng_, shuffle_rng_;
  std::vector<int> indices_;  // sample indices (shuffled for minibatches)

  int num_envs_, rollout_steps_;
  double gamma_;
  int64_t global_step_ = 0, iteration_ = 0, num_iterations_ = 1;
  double learning_rate_ = 0, max_grad_norm_ = 0;
  bool anneal_lr_ = false;
  bool fixed_rollouts_ = true;  // false for episodic collection
  int64_t total_timesteps_ = 0;
  uint64_t seed_ = 0;
  double gae_lambda_ = 0.95;

 private:
  void reset_envs(uint64_t seed);
  void record_episodes();
  // Stores observations, actions at row t, acts in every env, normalises what came back.
  void act_and_step(int t, const uint8_t* active = nullptr);
  // Stores env e's transition of the last act_and_step at row t.
  void store_transition(int t, int e);
  // next_values(t, e) = V(final obs) for the valid truncated transitions of row t.
  void bootstrap_truncated(int t);
  // next_values(t, e) = values(t + 1, e) for the transitions that continue their episode.
  void link_next_values();
  // values(t, e) = V(obs(t, e)) for every valid transition of the rollout, in one critic pass
  // after the collection (the parameters do not change during it, and each sample's value is
  // computed by the same arithmetic whatever the batch: the same numbers as one pass per step).
  void evaluate_rollout_values();

  std::unique_ptr<Graph> graph_;
  Expr loss_;
  Expr in_logp_, in_old_logp_, in_adv_, in_value_, in_old_value_, in_ret_, in_entropy_;
  // Reported outputs, looked up once (no string work per minibatch).
  Expr out_pg_, out_v_, out_entropy_, out_kl1_, out_kl3_, out_clip_;
  bool uses_value_ = false, uses_entropy_ = false;
  bool ratio_stats_ = false;  // the loss reports KL estimators and clip fraction (PPO)

  ActorCritic::Batch act_batch_, final_batch_, mb_;
  ActorCritic::Batch values_batch_;  // the whole rollout (evaluate_rollout_values)
  VectorXf mb_old_logp_, mb_adv_, mb_ret_, mb_old_value_;
  std::vector<float> obs_, final_obs_, rewards_, costs_;
  std::vector<uint8_t> terminated_, truncated_;
  std::vector<uint8_t> active_;  // episodic collection: env still in its episode

  // Per-iteration accumulators.
  std::vector<EpisodeStat> episodes_;
  int updates_ = 0;
  double sum_pg_ = 0, sum_v_ = 0, sum_ent_ = 0, sum_kl1_ = 0, sum_kl3_ = 0, sum_clip_ = 0;
  double sum_gnorm_ = 0, sum_gnorm_clipped_ = 0;
  std::vector<double> sum_layer_norms_;
  double current_lr_ = 0;
};

}  // namespace pl
