#include "core/envs/classic_control/mountain_car_continuous.hpp"

#include <algorithm>
#include <cmath>

namespace pl {

namespace {

constexpr char kId[] = "MountainCarContinuous-v0";

constexpr double kMinAction = -1.0;
constexpr double kMaxAction = 1.0;
constexpr double kMinPosition = -1.2;
constexpr double kMaxPosition = 0.6;
constexpr double kMaxSpeed = 0.07;
constexpr double kGoalPosition = 0.45;  // 0.5 in the discrete task
constexpr double kGoalVelocity = 0.0;
constexpr double kPower = 0.0015;
constexpr double kGravity = 0.0025;
constexpr double kGoalReward = 100.0;
constexpr double kActionPenalty = 0.1;

constexpr double kResetLow = -0.6;
constexpr double kResetHigh = -0.4;

ClassicControlEnv::Descriptor mountain_car_continuous_descriptor() {
  return {/*id=*/kId,
          /*observation_space=*/
          Space::box({static_cast<float>(kMinPosition), static_cast<float>(-kMaxSpeed)},
                     {static_cast<float>(kMaxPosition), static_cast<float>(kMaxSpeed)}),
          /*action_space=*/
          Space::box({static_cast<float>(kMinAction)}, {static_cast<float>(kMaxAction)}),
          /*max_episode_steps=*/999,
          /*state_names=*/{"position", "velocity"},
          /*render_names=*/{"position", "velocity", "goal_position"}};
}

}  // namespace

MountainCarContinuous::MountainCarContinuous()
    : ClassicControlEnv(mountain_car_continuous_descriptor()) {}

void MountainCarContinuous::reset_state(Rng& rng) {
  position_ = rng.uniform(kResetLow, kResetHigh);  // double until the first step, as in Gymnasium
  velocity_ = 0.0;
}

StepResult MountainCarContinuous::step_state(const float* action) {
  check_box_action_finite(kId, action, action_space());
  const double passed = static_cast<double>(action[0]);
  const double force = std::min(std::max(passed, kMinAction), kMaxAction);

  double velocity = velocity_ + (force * kPower - kGravity * std::cos(3 * position_));
  if (velocity > kMaxSpeed) velocity = kMaxSpeed;
  if (velocity < -kMaxSpeed) velocity = -kMaxSpeed;
  double position = position_ + velocity;
  if (position > kMaxPosition) position = kMaxPosition;
  if (position < kMinPosition) position = kMinPosition;
  if (position == kMinPosition && velocity < 0) velocity = 0.0;  // inelastic left wall

  StepResult result;
  // Gymnasium decides termination on the double values, before storing them as float32.
  result.terminated = position >= kGoalPosition && velocity >= kGoalVelocity;
  // The energy penalty uses the action as passed, not the clipped force (Gymnasium's behaviour;
  // VectorEnv clips Box actions beforehand, so through it the two agree).
  result.reward = (result.terminated ? kGoalReward : 0.0) - passed * passed * kActionPenalty;

  position_ = round_to_float32(position);
  velocity_ = round_to_float32(velocity);
  return result;
}

void MountainCarContinuous::get_state(double* out) const {
  out[0] = position_;
  out[1] = velocity_;
}

void MountainCarContinuous::set_state(const double* in) {
  position_ = in[0];
  velocity_ = in[1];
}

void MountainCarContinuous::observe(float* obs) const {
  obs[0] = static_cast<float>(position_);
  obs[1] = static_cast<float>(velocity_);
}

void MountainCarContinuous::render_state(float* out) const {
  out[0] = static_cast<float>(position_);
  out[1] = static_cast<float>(velocity_);
  out[2] = static_cast<float>(kGoalPosition);
}

}  // namespace pl
