// Pendulum-v1: swing a torque-limited pendulum up and keep it upright.
//
// The classic inverted-pendulum swing-up problem of control theory; constants, dynamics and
// reward follow Gymnasium's PendulumEnv (g = 10 by default). There is no terminal state.
//
//   state        theta (0 is upright, not wrapped), theta_dot in [-8, 8]
//   observation  cos theta, sin theta, theta_dot (float32)
//   action       Box([-2], [2]): torque, clipped to the bounds by the env itself
//   reward       -(normalize(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2), from the state before the step
//   truncated    at 200 steps
//   render       theta, last_torque (the clipped torque of the last step, 0 after reset)
#pragma once

#include "core/envs/classic_control/classic_control_env.hpp"

namespace pl {

class Pendulum final : public ClassicControlEnv {
 public:
  explicit Pendulum(double gravity = 10.0);

  // Only the physics is here; the id, spaces, time limit and names are in the descriptor that the
  // constructor passes to ClassicControlEnv.
  void get_state(double* out) const override;
  void set_state(const double* in) override;
  void observe(float* obs) const override;
  void render_state(float* out) const override;

  double gravity() const { return gravity_; }

 protected:
  void reset_state(Rng& rng) override;
  StepResult step_state(const float* action) override;

 private:
  double gravity_;
  double theta_ = 0.0, theta_dot_ = 0.0;
  double last_torque_ = 0.0;
};

// Maps an angle to [-pi, pi) as Gymnasium's angle_normalize, ((x + pi) mod 2 pi) - pi, with
// Python's floored modulo (the result takes the sign of the divisor).
double pendulum_angle_normalize(double x);

}  // namespace pl
