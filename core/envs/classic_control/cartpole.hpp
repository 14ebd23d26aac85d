// CartPole-v1: balance a pole hinged on a cart by pushing the cart left or right.
//
// The task is Barto, Sutton & Anderson (1983), "Neuronlike adaptive elements that can solve
// difficult learning control problems", IEEE Trans. SMC 13(5); the constants, the explicit Euler
// integrator and the episode rules follow Gymnasium's CartPoleEnv (Sutton's pole.c lineage).
//
//   state        x, x_dot, theta, theta_dot   (theta = 0 is upright, radians)
//   observation  the state as float32
//   action       Discrete(2): 0 pushes left, 1 pushes right (force 10 N)
//   reward       +1 per step, including the step that terminates
//   terminated   |x| > 2.4 or |theta| > 12 degrees;  truncated at 500 steps
//   render       x, theta, x_threshold
#pragma once

#include "core/envs/classic_control/classic_control_env.hpp"

namespace pl {

class CartPole final : public ClassicControlEnv {
 public:
  CartPole();

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
  double x_ = 0.0, x_dot_ = 0.0, theta_ = 0.0, theta_dot_ = 0.0;
  // Gymnasium pays the reward of the terminating step and 0 for any step taken after it.
  bool already_terminated_ = false;
};

}  // namespace pl
