// MountainCarContinuous-v0: MountainCar with a continuous force and an energy penalty.
//
// The task is Moore (1990), "Efficient memory-based learning for robot control", PhD thesis,
// University of Cambridge; this continuous variant (goal at 0.45, +100 on success) follows
// Gymnasium's Continuous_MountainCarEnv.
//
//   state        position in [-1.2, 0.6], velocity in [-0.07, 0.07]
//   observation  the state as float32
//   action       Box([-1], [1]): force, clipped to the bounds for the dynamics
//   reward       -0.1 a^2 per step with `a` the action as passed (not clipped), +100 on the goal step
//   terminated   position >= 0.45 and velocity >= 0;  truncated at 999 steps
//   render       position, velocity, goal_position
//
// Like Gymnasium, the state is stored as float32 after every step (its step() ends with
// `np.array([...], dtype=np.float32)`), while each step is computed in double from that state.
#pragma once

#include "core/envs/classic_control/classic_control_env.hpp"

namespace pl {

class MountainCarContinuous final : public ClassicControlEnv {
 public:
  MountainCarContinuous();

  // Only the physics is here; the id, spaces, time limit and names are in the descriptor that the
  // constructor passes to ClassicControlEnv.
  void get_state(double* out) const override;
  void set_state(const double* in) override;
  void observe(float* obs) const override;
  void render_state(float* out) const override;

 protected:
  void reset_state(Rng& rng) override;
  StepResult step_state(const float* action) override;

 private:
  double position_ = 0.0, velocity_ = 0.0;
};

}  // namespace pl
