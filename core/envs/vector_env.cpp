#include "core/envs/vector_env.hpp"

#include <cmath>

#include <algorithm>

namespace pl {

VectorEnv::VectorEnv(const std::string& env_id, int num_envs) {
  if (num_envs < 1) {
    throw EnvError("VectorEnv(" + env_id + "): num_envs must be at least 1, got " +
                   std::to_string(num_envs));
  }
  envs_.reserve(static_cast<size_t>(num_envs));
  for (int i = 0; i < num_envs; ++i) envs_.push_back(make_env(env_id));  // throws on unknown id
  obs_dim_ = envs_[0]->observation_space().flat_dim();
  act_dim_ = envs_[0]->action_space().flat_dim();
  clipped_action_.assign(static_cast<size_t>(act_dim_), 0.0f);
  running_return_.assign(static_cast<size_t>(num_envs), 0.0);
  running_cost_.assign(static_cast<size_t>(num_envs), 0.0);
  running_length_.assign(static_cast<size_t>(num_envs), 0);
  finished_.reserve(static_cast<size_t>(num_envs));  // at most one episode per env per step
}

void VectorEnv::reset(uint64_t seed, float* obs) {
  for (int i = 0; i < num_envs(); ++i) {
    Env& e = *envs_[i];
    e.rng() = streams::stream(seed, streams::kEnvs, static_cast<uint64_t>(i));
    e.reset(obs + static_cast<size_t>(i) * obs_dim_);
    running_return_[i] = 0.0;
    running_cost_[i] = 0.0;
    running_length_[i] = 0;
  }
  finished_.clear();
}

void VectorEnv::step(const float* actions, float* obs, float* rewards, float* costs,
                     uint8_t* terminated, uint8_t* truncated, float* final_obs, const uint8_t* active) {
  finished_.clear();  // keeps its capacity: no allocation below
  const Space& space = action_space();
  const bool clip = !space.is_discrete();

  for (int i = 0; i < num_envs(); ++i) {
    if (active && !active[i]) {
      rewards[i] = costs[i] = 0.0f;
      terminated[i] = truncated[i] = 0;
      continue;
    }
    Env& e = *envs_[i];
    const float* action = actions + static_cast<size_t>(i) * act_dim_;
    if (clip) {
      // Gymnasium's ClipAction: np.clip(a, low, high). NaN passes through and the env rejects it.
      for (int d = 0; d < act_dim_; ++d) {
        clipped_action_[d] = std::min(std::max(action[d], space.low[d]), space.high[d]);
      }
      action = clipped_action_.data();
    }

    float* obs_row = obs + static_cast<size_t>(i) * obs_dim_;
    const StepResult r = e.step(action, obs_row);
    rewards[i] = static_cast<float>(r.reward);
    costs[i] = static_cast<float>(r.cost);
    terminated[i] = r.terminated ? 1 : 0;
    truncated[i] = r.truncated ? 1 : 0;

    running_return_[i] += r.reward;
    running_cost_[i] += r.cost;
    running_length_[i] += 1;

    if (r.terminated || r.truncated) {
      // Same-step autoreset: keep the true last observation, then start the next episode in obs.
      std::copy(obs_row, obs_row + obs_dim_, final_obs + static_cast<size_t>(i) * obs_dim_);
      EpisodeStat stat;
      stat.env_index = i;
      stat.ret = running_return_[i];
      stat.cost = running_cost_[i];
      stat.length = running_length_[i];
      finished_.push_back(stat);
      running_return_[i] = 0.0;
      running_cost_[i] = 0.0;
      running_length_[i] = 0;
      e.reset(obs_row);
    }
  }
}

void VectorEnv::write_state(ByteWriter& w) const {
  w.put<int32_t>(num_envs());
  std::vector<double> state;
  for (int i = 0; i < num_envs(); ++i) {
    const Env& e = *envs_[i];
    state.resize(e.state_size());
    e.get_state(state.data());
    w.put_array(state.data(), state.size());
    w.put<int32_t>(e.elapsed_steps());
    put_rng(w, e.rng());
    w.put<double>(running_return_[i]);
    w.put<double>(running_cost_[i]);
    w.put<int32_t>(running_length_[i]);
  }
}

void VectorEnv::read_state(ByteReader& r) {
  const int32_t n = r.get<int32_t>("number of envs");
  if (n != num_envs())
    throw FormatError("checkpoint has " + std::to_string(n) + " envs, the config " + std::to_string(num_envs()));
  std::vector<double> state;
  for (int i = 0; i < num_envs(); ++i) {
    Env& e = *envs_[i];
    state.resize(e.state_size());
    r.get_array(state.data(), state.size(), "env state");
    for (double x : state)
      if (!std::isfinite(x)) throw FormatError("env state contains non-finite values");
    e.set_state(state.data());
    const int32_t elapsed = r.get<int32_t>("env step count");
    if (elapsed < 0 || elapsed > e.max_episode_steps()) throw FormatError("env step count out of range");
    e.restore_elapsed_steps(elapsed);
    get_rng(r, e.rng(), "env rng");
    running_return_[i] = r.get<double>("episode return");
    running_cost_[i] = r.get<double>("episode cost");
    running_length_[i] = r.get<int32_t>("episode length");
  }
}

}  // namespace pl
