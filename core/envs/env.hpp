// The environment interface, shaped after Gymnasium's `Env` (reset/step with terminated and
// truncated), plus what PolicyLab needs beyond it:
//  - a `cost` channel in every step (0 unless the env defines one; constrained RL uses it),
//  - access to the physical state (tests and `policylab env-trace` set it and compare dynamics),
//  - a render state: a small flat record of floats that the browser draws.
//
// Actions are passed as `const float*` for every space. A Discrete action is the index stored as a
// float in action[0] (the rollout buffer keeps all actions as floats); a Box action is `dim` floats.
// Physics is computed in double precision as Gymnasium does; observations are float32.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/util/rng.hpp"

namespace pl {

struct Space {
  enum class Kind { Discrete, Box };
  Kind kind = Kind::Box;
  int n = 0;                    // Discrete: number of actions.
  std::vector<float> low, high; // Box: per-dimension bounds (size = dim). May be +-inf.

  static Space discrete(int n) {
    Space s;
    s.kind = Kind::Discrete;
    s.n = n;
    return s;
  }
  static Space box(std::vector<float> low, std::vector<float> high) {
    Space s;
    s.kind = Kind::Box;
    s.low = std::move(low);
    s.high = std::move(high);
    return s;
  }
  bool is_discrete() const { return kind == Kind::Discrete; }
  // Floats needed to store one element: 1 for Discrete (the index), dim for Box.
  int flat_dim() const { return is_discrete() ? 1 : static_cast<int>(low.size()); }
};

struct StepResult {
  double reward = 0.0;
  bool terminated = false;  // reached a terminal state of the MDP: do not bootstrap
  bool truncated = false;   // stopped for another reason (time limit): bootstrap from the final obs
  double cost = 0.0;        // constraint cost of this transition (0 for unconstrained envs)
};

// Thrown for invalid arguments to envs (unknown id, action out of range, bad state size).
struct EnvError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

class Env {
 public:
  virtual ~Env() = default;

  virtual std::string id() const = 0;
  virtual const Space& observation_space() const = 0;
  virtual const Space& action_space() const = 0;
  // Gymnasium's TimeLimit for this env id: step() reports truncated=true when it is reached.
  virtual int max_episode_steps() const = 0;

  // Seeds the env's generator, then resets. The same seed gives the same initial state.
  void reset(uint64_t seed, float* obs) {
    rng_ = streams::stream(seed, streams::kEnvSeed);
    reset(obs);
  }
  // Resets with the env's generator as it stands (autoreset uses this).
  void reset(float* obs) {
    elapsed_steps_ = 0;
    reset_state(rng_);
    observe(obs);
  }

  // Advances one step. Throws EnvError for an invalid action (wrong index, non-finite value).
  StepResult step(const float* action, float* obs) {
    StepResult r = step_state(action);
    ++elapsed_steps_;
    if (!r.terminated && elapsed_steps_ >= max_episode_steps()) r.truncated = true;
    observe(obs);
    return r;
  }

  int elapsed_steps() const { return elapsed_steps_; }
  // For checkpoints: with set_state() and rng(), restores an episode in progress.
  void restore_elapsed_steps(int steps) { elapsed_steps_ = steps; }

  // The physical state (e.g. CartPole: x, x_dot, theta, theta_dot), in double precision.
  virtual int state_size() const = 0;
  virtual void get_state(double* out) const = 0;
  virtual void set_state(const double* in) = 0;  // observe() afterwards reflects the new state
  // Names of the state components, in order (for the CLI's env-trace and the docs).
  virtual std::vector<std::string> state_names() const = 0;

  // Writes the observation of the current state.
  virtual void observe(float* obs) const = 0;

  // A small flat record the browser draws; layout documented per env by render_names().
  virtual int render_size() const = 0;
  virtual void render_state(float* out) const = 0;
  virtual std::vector<std::string> render_names() const = 0;

  // The generator, for checkpoints.
  Rng& rng() { return rng_; }
  const Rng& rng() const { return rng_; }

 protected:
  virtual void reset_state(Rng& rng) = 0;
  virtual StepResult step_state(const float* action) = 0;

 private:
  Rng rng_;
  int elapsed_steps_ = 0;
};

// Action validation shared by the envs (hot path inline, the error message built out of line).
// A Discrete action must be a finite integer index in [0, n); a Box action must be finite in
// every component (bounds are not enforced here: envs clip as Gymnasium does).
[[noreturn]] void throw_invalid_discrete_action(const char* env_id, float value, int n);
[[noreturn]] void throw_invalid_box_action(const char* env_id, int component, float value,
                                           const Space& space);

inline int discrete_action_index(const char* env_id, const float* action, int n) {
  const float value = action[0];
  // The comparisons are false for NaN, so NaN falls through to the error as well.
  if (value >= 0.0f && value < static_cast<float>(n)) {
    const int index = static_cast<int>(value);
    if (static_cast<float>(index) == value) return index;
  }
  throw_invalid_discrete_action(env_id, value, n);
}

inline void check_box_action_finite(const char* env_id, const float* action, const Space& space) {
  const int dim = space.flat_dim();
  for (int i = 0; i < dim; ++i) {
    if (!std::isfinite(action[i])) throw_invalid_box_action(env_id, i, action[i], space);
  }
}

// Rounds a double to the nearest float32 value, for envs whose Gymnasium state is stored as float32.
// The volatile store is deliberate: GCC 12 at -O3 -march=native vectorized a loop of
// `double(float(x))` and dropped the round trip (wrong code); a volatile cannot be elided.
inline double round_to_float32(double x) {
  volatile float rounded = static_cast<float>(x);
  return rounded;
}

// Registry of env ids (Gymnasium names: "CartPole-v1", "Acrobot-v1", "MountainCar-v0",
// "Pendulum-v1", "MountainCarContinuous-v0"). make_env throws EnvError naming the known ids.
std::unique_ptr<Env> make_env(const std::string& id);
std::vector<std::string> env_ids();

}  // namespace pl
