#include "core/algos/actor_critic.hpp"

#include "core/dist/distributions.hpp"
#include "core/util/parallel.hpp"

namespace pl {

namespace {

// Below this many samples the two networks' work (a few microseconds each) is not worth handing one
// of them to another thread: the rollout's forward of num_envs observations per step stays serial,
// and so does A2C's update of 8 x 5 samples (measured: no gain at 40); PPO's minibatches split.
constexpr int kMinSamplesToSplit = 64;

// Runs actor() and critic() -- on two threads when n is large enough and threads are set. The
// actor and the critic are separate networks with separate workspaces and gradient tensors, so
// each computes exactly what it computes alone: a run gives the same numbers with any thread count.
template <typename Actor, typename Critic>
void actor_and_critic(int n, const Actor& actor, const Critic& critic) {
  parallel::for_range(
      2, 1,
      [&](int begin, int end, int) {
        for (int task = begin; task < end; ++task) task == 0 ? actor() : critic();
      },
      n >= kMinSamplesToSplit ? 2 : 1);
}

}  // namespace

ActorCritic::ActorCritic(const ActorCriticSpec& spec) : spec_(spec) {
  MlpSpec actor;
  actor.name = "actor";
  actor.in = spec.obs_dim;
  actor.hidden = spec.hidden;
  actor.out = action_dim();
  actor.activation = spec.activation;
  actor.output_gain = 0.01;  // CleanRL: near-uniform initial policy
  actor_ = Mlp(params_, actor);
  if (!discrete()) log_std_ = params_.declare("actor.log_std", action_dim(), 1);
  if (spec.with_critic) {
    MlpSpec critic = actor;
    critic.name = "critic";
    critic.out = 1;
    critic.output_gain = 1.0;
    critic_ = Mlp(params_, critic);
  }
  params_.finalize();
}

void ActorCritic::init(Rng& rng) {
  actor_.init(params_, rng);
  if (spec_.with_critic) critic_.init(params_, rng);
  if (log_std_ >= 0) params_.value(log_std_).setConstant(spec_.init_log_std);
}

ActorCritic::Batch ActorCritic::make_batch(int capacity) const {
  Batch b;
  b.capacity = capacity;
  b.actor = actor_.make_workspace(capacity);
  if (spec_.with_critic) b.critic = critic_.make_workspace(capacity);
  b.logp_all = MatrixXf::Zero(action_dim(), capacity);
  b.actions = MatrixXf::Zero(act_store_dim(), capacity);
  b.dhead = MatrixXf::Zero(action_dim(), capacity);
  b.logp = VectorXf::Zero(capacity);
  b.entropy = VectorXf::Zero(capacity);
  b.value = VectorXf::Zero(capacity);
  b.dvalue = VectorXf::Zero(capacity);
  b.zeros = VectorXf::Zero(capacity);
  return b;
}

const float* ActorCritic::log_std() const { return log_std_ >= 0 ? params_.value(log_std_).data() : nullptr; }

void ActorCritic::forward(Batch& b, int n, bool with_value) const {
  auto actor = [&] {
    actor_.forward(params_, b.actor, n);
    if (discrete()) categorical::log_softmax(b.actor.out.leftCols(n), nullptr, b.logp_all.leftCols(n));
  };
  if (!with_value || !spec_.with_critic) return actor();
  actor_and_critic(n, actor, [&] { values(b, n); });
}

void ActorCritic::values(Batch& b, int n) const {
  b.critic.input(n) = b.actor.input(n);
  critic_.forward(params_, b.critic, n);
  b.value.head(n) = b.critic.out.row(0).head(n).transpose();
}

void ActorCritic::act(Batch& b, int n, bool deterministic, Rng& rng) const {
  if (discrete()) {
    if (deterministic)
      categorical::mode(b.logp_all.leftCols(n), b.actions.data());
    else
      categorical::sample(b.logp_all.leftCols(n), rng, b.actions.data());
    categorical::log_prob(b.logp_all.leftCols(n), b.actions.data(), b.logp.data());
  } else {
    if (deterministic)
      b.actions.leftCols(n) = b.actor.out.leftCols(n);
    else
      gaussian::sample(b.actor.out.leftCols(n), log_std(), rng, b.actions.leftCols(n));
    gaussian::log_prob(b.actor.out.leftCols(n), log_std(), b.actions.leftCols(n), b.logp.data());
  }
}

void ActorCritic::evaluate_actions(Batch& b, int n) const {
  if (discrete()) {
    categorical::log_prob(b.logp_all.leftCols(n), b.actions.data(), b.logp.data());
    categorical::entropy(b.logp_all.leftCols(n), b.entropy.data());
  } else {
    gaussian::log_prob(b.actor.out.leftCols(n), log_std(), b.actions.leftCols(n), b.logp.data());
    b.entropy.head(n).setConstant(gaussian::entropy(log_std(), action_dim()));
  }
}

void ActorCritic::backward(Batch& b, int n, const float* dlogp, const float* dentropy, const float* dvalue) {
  const bool actor_grad = dlogp || dentropy, critic_grad = dvalue && spec_.with_critic;
  auto actor = [&] {
    if (!actor_grad) return;
    const float* dl = dlogp ? dlogp : b.zeros.data();  // a missing dlogp is a zero column
    if (discrete()) {
      categorical::backward(b.logp_all.leftCols(n), b.actions.data(), dl, dentropy, b.dhead.leftCols(n));
    } else {
      float* dlog_std = params_.grad(log_std_).data();
      gaussian::backward(b.actor.out.leftCols(n), log_std(), b.actions.leftCols(n), dl, dentropy,
                         b.dhead.leftCols(n), dlog_std);
    }
    actor_.backward(params_, b.actor, n, b.dhead.leftCols(n));
  };
  auto critic = [&] {
    if (!critic_grad) return;
    b.dvalue.head(n) = Eigen::Map<const VectorXf>(dvalue, n);
    critic_.backward(params_, b.critic, n, b.dvalue.head(n).transpose());
  };
  if (actor_grad && critic_grad)
    actor_and_critic(n, actor, critic);
  else
    actor(), critic();
}

void ActorCritic::action_summary(Batch& b, int n, float* out) const {
  const int A = action_dim();
  Eigen::Map<MatrixXf> o(out, A, n);
  if (discrete())
    o = b.logp_all.leftCols(n).array().exp().matrix();
  else
    o = b.actor.out.leftCols(n);
}

}  // namespace pl
