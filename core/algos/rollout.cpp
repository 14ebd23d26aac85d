#include "core/algos/rollout.hpp"

#include <algorithm>
#include <cmath>

namespace pl {

void RolloutBuffer::allocate(int T_, int E_, int obs_dim_, int act_dim_) {
  T = T_;
  E = E_;
  obs_dim = obs_dim_;
  act_dim = act_dim_;
  const size_t t = static_cast<size_t>(T), e = static_cast<size_t>(E);
  obs = xt::zeros<float>({t, e, static_cast<size_t>(obs_dim)});
  actions = xt::zeros<float>({t, e, static_cast<size_t>(act_dim)});
  for (auto* a : {&logprobs, &values, &rewards, &costs, &next_values, &advantages, &returns})
    *a = xt::zeros<float>({t, e});
  for (auto* a : {&terminated, &truncated, &valid}) *a = xt::zeros<uint8_t>({t, e});
}

void compute_gae(const xt::xtensor<float, 2>& rewards, const xt::xtensor<float, 2>& values,
                 const xt::xtensor<float, 2>& next_values, const xt::xtensor<uint8_t, 2>& terminated,
                 const xt::xtensor<uint8_t, 2>& truncated, double gamma, double lambda,
                 xt::xtensor<float, 2>& advantages, xt::xtensor<float, 2>& returns) {
  const size_t T = rewards.shape()[0], E = rewards.shape()[1];
  for (size_t e = 0; e < E; ++e) {
    double next_advantage = 0.0;
    for (size_t t = T; t-- > 0;) {
      const bool term = terminated(t, e) != 0;
      const bool done = term || truncated(t, e) != 0;
      const double bootstrap = term ? 0.0 : gamma * next_values(t, e);
      const double delta = rewards(t, e) + bootstrap - values(t, e);
      const double adv = delta + (done ? 0.0 : gamma * lambda * next_advantage);
      advantages(t, e) = static_cast<float>(adv);
      returns(t, e) = static_cast<float>(adv + values(t, e));
      next_advantage = adv;
    }
  }
}

void RunningMeanStd::merge(size_t d, double batch_mean, double batch_var, int n) {
  const double delta = batch_mean - mean[d];
  const double total = count + n;
  const double m2 = var[d] * count + batch_var * n + delta * delta * count * n / total;
  mean[d] += delta * n / total;
  var[d] = m2 / total;
}

void Normalizers::setup(int obs_dim, int num_envs) {
  obs_rms = RunningMeanStd(obs_dim);
  return_rms = RunningMeanStd(1);
  discounted_return.assign(num_envs, 0.0);
}

void Normalizers::observation(float* obs, int n, bool update, const uint8_t* active) {
  if (!norm_obs) return;
  if (update) obs_rms.update(obs, n, active);
  apply_observation(obs, n);
}

void Normalizers::apply_observation(float* obs, int n) const {
  if (!norm_obs) return;
  const size_t dim = obs_rms.mean.size();
  for (int i = 0; i < n; ++i)
    for (size_t d = 0; d < dim; ++d) {
      double x = (obs[i * dim + d] - obs_rms.mean[d]) / std::sqrt(obs_rms.var[d] + kEps);
      obs[i * dim + d] = static_cast<float>(clip_obs > 0 ? std::clamp(x, -clip_obs, clip_obs) : x);
    }
}

void Normalizers::reward(float* rewards, const uint8_t* terminated, int num_envs, const uint8_t* active) {
  if (!norm_reward) return;
  // Gymnasium's NormalizeReward: G <- G * gamma * (1 - terminated) + r ; update var(G) ; r / std(G).
  for (int i = 0; i < num_envs; ++i) {
    if (active && !active[i]) continue;
    discounted_return[i] = discounted_return[i] * gamma * (terminated[i] ? 0.0 : 1.0) + rewards[i];
  }
  return_rms.update(discounted_return.data(), num_envs, active);
  const double scale = 1.0 / std::sqrt(return_rms.var[0] + kEps);
  for (int i = 0; i < num_envs; ++i)
    rewards[i] = static_cast<float>(clip_reward > 0 ? std::clamp(rewards[i] * scale, -clip_reward, clip_reward)
                                                    : rewards[i] * scale);
}

}  // namespace pl
