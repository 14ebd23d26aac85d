// A synchronous vector of N copies of one env with autoreset and episode statistics.
//
// Autoreset follows Gymnasium's SyncVectorEnv "same-step" mode (gymnasium <= 0.29, CleanRL's
// setting): when env i terminates or truncates, its episode's true last observation is written to
// `final_obs` row i, and `obs` row i already holds the first observation of the next episode. A
// learner bootstraps a truncated episode from V(final_obs), never from V(obs) of the next episode.
//
// Box actions are clipped to the action space before the env sees them (Gymnasium's ClipAction
// wrapper as used by CleanRL): the learner keeps the unclipped sample for its log-probability.
//
// All buffers are allocated in the constructor; step() allocates nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/envs/env.hpp"
#include "core/util/bytes.hpp"

namespace pl {

struct EpisodeStat {
  int env_index = 0;
  double ret = 0.0;     // undiscounted sum of rewards
  double cost = 0.0;    // undiscounted sum of costs
  int length = 0;
};

class VectorEnv {
 public:
  VectorEnv(const std::string& env_id, int num_envs);

  int num_envs() const { return static_cast<int>(envs_.size()); }
  int obs_dim() const { return obs_dim_; }
  int act_dim() const { return act_dim_; }  // floats per action (1 for discrete)
  const Space& observation_space() const { return envs_[0]->observation_space(); }
  const Space& action_space() const { return envs_[0]->action_space(); }
  Env& env(int i) { return *envs_[i]; }
  const Env& env(int i) const { return *envs_[i]; }

  // Seeds env i with streams::stream(seed, kEnvs, i) and writes the N first observations (row-major N x obs_dim).
  void reset(uint64_t seed, float* obs);

  // actions: N x act_dim. Outputs: obs N x obs_dim (after autoreset), rewards/costs N,
  // terminated/truncated N (0/1), final_obs N x obs_dim (rows valid where an episode ended).
  // With `active` (N flags), envs whose flag is 0 are not stepped: their obs rows are left as they
  // are and their reward, cost and flags are 0 (episodic collection pauses finished envs).
  void step(const float* actions, float* obs, float* rewards, float* costs, uint8_t* terminated,
            uint8_t* truncated, float* final_obs, const uint8_t* active = nullptr);

  // Episodes that ended during the last step() (capacity N, no allocation).
  const std::vector<EpisodeStat>& finished() const { return finished_; }

  // Checkpoint of the episodes in progress: each env's physical state, step count and generator,
  // and the running episode statistics. read_state throws FormatError on a mismatch.
  void write_state(ByteWriter& w) const;
  void read_state(ByteReader& r);

 private:
  std::vector<std::unique_ptr<Env>> envs_;
  int obs_dim_ = 0, act_dim_ = 0;
  std::vector<float> clipped_action_;
  std::vector<double> running_return_, running_cost_;
  std::vector<int> running_length_;
  std::vector<EpisodeStat> finished_;
};

}  // namespace pl
