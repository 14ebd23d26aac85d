// MountainCar-v0: an underpowered car in a valley must rock back and forth to reach the flag.
//
// The task is Moore (1990), "Efficient memory-based learning for robot control", PhD thesis,
// University of Cambridge (tech. report UCAM-CL-TR-209), in the form of Sutton's MountainCar1.cp;
// constants and episode rules follow Gymnasium's MountainCarEnv.
//
//   state        position in [-1.2, 0.6], velocity in [-0.07, 0.07]
//   observation  the state as float32
//   action       Discrete(3): 0 accelerates left, 1 coasts, 2 accelerates right
//   reward       -1 per step
//   terminated   position >= 0.5 and velocity >= 0;  truncated at 200 steps
//   render       position, velocity, goal_position
#pragma once

#include "core/envs/classic_control/classic_control_env.hpp"

namespace pl {

class MountainCar final : public ClassicControlEnv {
 public:
  MountainCar();

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
