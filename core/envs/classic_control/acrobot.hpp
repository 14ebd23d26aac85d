// Acrobot-v1: a two-link pendulum actuated only at the elbow; swing the tip above a line.
//
// The task is Sutton (1996), "Generalization in reinforcement learning: successful examples using
// sparse coarse coding", NIPS 8, with the dynamics of Sutton & Barto, "Reinforcement Learning: An
// Introduction" (the "book" equations, which include a term missing from the NIPS paper). The
// constants, one fourth-order Runge-Kutta step over dt = 0.2 s, the angle wrapping and the velocity
// clipping follow Gymnasium's AcrobotEnv (from RLPy).
//
//   state        theta1, theta2, dtheta1, dtheta2  (theta1 = 0 hangs down; theta2 is relative
//                to link 1; angles wrapped to [-pi, pi]; |dtheta1| <= 4 pi, |dtheta2| <= 9 pi)
//   observation  cos theta1, sin theta1, cos theta2, sin theta2, dtheta1, dtheta2 (float32)
//   action       Discrete(3): torque -1, 0, +1 on the elbow
//   reward       -1 per step, 0 on the step that reaches the goal
//   terminated   -cos(theta1) - cos(theta1 + theta2) > 1 (tip above the line);  truncated at 500
//   render       theta1, theta2
#pragma once

#include "core/envs/classic_control/classic_control_env.hpp"

namespace pl {

class Acrobot final : public ClassicControlEnv {
 public:
  Acrobot();

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
  double state_[4] = {0.0, 0.0, 0.0, 0.0};  // theta1, theta2, dtheta1, dtheta2
};

}  // namespace pl
