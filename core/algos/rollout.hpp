// Rollout storage, advantage estimation and observation/reward normalisation: the pieces shared by
// every on-policy algorithm.
#pragma once

#include <cstdint>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "core/nn/parameters.hpp"

namespace pl {

// time x env (x feature) storage, allocated once per run (xtensor, row-major). Row-major
// [t][e][feature] memory means the observations of all T*E samples are, seen from Eigen, one
// column-major feature x sample matrix (flat sample index k = t * E + e).
struct RolloutBuffer {
  int T = 0, E = 0, obs_dim = 0, act_dim = 0;
  xt::xtensor<float, 3> obs;          // T x E x obs_dim (as fed to the networks: normalised if enabled)
  xt::xtensor<float, 3> actions;      // T x E x act_dim (unclipped samples)
  xt::xtensor<float, 2> logprobs;     // log pi_old(a|s)
  xt::xtensor<float, 2> values;       // V_old(s)
  xt::xtensor<float, 2> rewards;      // as the learner sees them (scaled if norm_reward)
  xt::xtensor<float, 2> costs;
  xt::xtensor<uint8_t, 2> terminated; // transition t ended in a terminal state
  xt::xtensor<uint8_t, 2> truncated;  // transition t was cut by a time limit
  xt::xtensor<float, 2> next_values;  // V(s_{t+1}); for a truncated step, V(true final observation)
  xt::xtensor<float, 2> advantages;
  xt::xtensor<float, 2> returns;
  xt::xtensor<uint8_t, 2> valid;      // sample present (episodic collection leaves tails empty)

  void allocate(int T, int E, int obs_dim, int act_dim);
  int samples() const { return T * E; }
  Eigen::Map<const MatrixXf> obs_matrix() const { return Eigen::Map<const MatrixXf>(obs.data(), obs_dim, T * E); }
  Eigen::Map<const MatrixXf> action_matrix() const {
    return Eigen::Map<const MatrixXf>(actions.data(), act_dim, T * E);
  }
};

// Generalised Advantage Estimation (Schulman et al. 2016, eq. 16) with termination and truncation
// handled separately:
//   delta_t = r_t + gamma * (1 - terminated_t) * next_value_t - V(s_t)
//   A_t     = delta_t + gamma * lambda * (1 - done_t) * A_{t+1},   done_t = terminated_t | truncated_t
// A terminal step does not bootstrap. A truncated step bootstraps from the value of its true final
// observation (which Gymnasium's autoreset hands back as final_observation) and stops the recursion,
// because the next stored step belongs to a new episode. Returns_t = A_t + V(s_t) (the value target).
// At the last stored step t = T-1 of a continuing episode, next_value is V(s_T) of the observation
// the rollout stopped at. Shapes: T x E.
void compute_gae(const xt::xtensor<float, 2>& rewards, const xt::xtensor<float, 2>& values,
                 const xt::xtensor<float, 2>& next_values, const xt::xtensor<uint8_t, 2>& terminated,
                 const xt::xtensor<uint8_t, 2>& truncated, double gamma, double lambda,
                 xt::xtensor<float, 2>& advantages, xt::xtensor<float, 2>& returns);

// Running mean and variance over batches (Chan et al. parallel update), as Gymnasium's
// RunningMeanStd: starts from mean 0, var 1, count 1e-4.
class RunningMeanStd {
 public:
  RunningMeanStd() = default;
  explicit RunningMeanStd(int dim) : mean(dim, 0.0), var(dim, 1.0) {}
  // Merges a batch of n rows of dim values; with `mask`, only the rows whose flag is nonzero.
  template <typename T>
  void update(const T* batch, int n, const uint8_t* mask = nullptr) {
    int rows = 0;
    for (int i = 0; i < n; ++i) rows += (!mask || mask[i]) ? 1 : 0;
    if (rows == 0) return;
    const size_t dim = mean.size();
    for (size_t d = 0; d < dim; ++d) {
      double m = 0.0, v = 0.0;
      for (int i = 0; i < n; ++i)
        if (!mask || mask[i]) m += batch[i * dim + d];
      m /= rows;
      for (int i = 0; i < n; ++i)
        if (!mask || mask[i]) v += (batch[i * dim + d] - m) * (batch[i * dim + d] - m);
      v /= rows;  // population variance of the batch, as numpy's var
      merge(d, m, v, rows);
    }
    count += rows;
  }
  std::vector<double> mean, var;
  double count = 1e-4;

 private:
  void merge(size_t d, double batch_mean, double batch_var, int n);
};

// Gymnasium's NormalizeObservation (running statistics updated with every observation batch seen in
// training; frozen for evaluation) and NormalizeReward (rewards divided by the running std of the
// discounted return, reset at termination), each followed by clipping as CleanRL's wrappers do.
struct Normalizers {
  bool norm_obs = false, norm_reward = false;
  double clip_obs = 10, clip_reward = 10, gamma = 0.99;  // a clip of 0 disables clipping
  static constexpr double kEps = 1e-8;
  RunningMeanStd obs_rms, return_rms;
  std::vector<double> discounted_return;  // per env

  void setup(int obs_dim, int num_envs);
  // In place on n rows of obs_dim; updates the statistics first when `update` is true. With
  // `active`, only the flagged rows update the statistics (all rows are normalised).
  void observation(float* obs, int n, bool update, const uint8_t* active = nullptr);
  // Normalises with the statistics as they stand (evaluation, the browser's policy view).
  void apply_observation(float* obs, int n) const;
  // In place on num_envs rewards; `terminated` resets the discounted return of that env. With
  // `active`, envs whose flag is 0 are left out (their return and the statistics do not move).
  void reward(float* rewards, const uint8_t* terminated, int num_envs, const uint8_t* active = nullptr);
};

}  // namespace pl
