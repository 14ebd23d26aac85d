#include "core/envs/classic_control/mountain_car.hpp"

#include <algorithm>
#include <cmath>

namespace pl {

namespace {

constexpr char kId[] = "MountainCar-v0";

constexpr double kMinPosition = -1.2;
constexpr double kMaxPosition = 0.6;
constexpr double kMaxSpeed = 0.07;
constexpr double kGoalPosition = 0.5;
constexpr double kGoalVelocity = 0.0;
constexpr double kForce = 0.001;
constexpr double kGravity = 0.0025;  // the valley is y = sin(3x), hence the cos(3x) slope term

constexpr double kResetLow = -0.6;
constexpr double kResetHigh = -0.4;

ClassicControlEnv::Descriptor mountain_car_descriptor() {
  return {/*id=*/kId,
          /*observation_space=*/
          Space::box({static_cast<float>(kMinPosition), static_cast<float>(-kMaxSpeed)},
                     {static_cast<float>(kMaxPosition), static_cast<float>(kMaxSpeed)}),
          /*action_space=*/Space::discrete(3),
          /*max_episode_steps=*/200,
          /*state_names=*/{"position", "velocity"},
          /*render_names=*/{"position", "velocity", "goal_position"}};
}

}  // namespace

MountainCar::MountainCar() : ClassicControlEnv(mountain_car_descriptor()) {}

void MountainCar::reset_state(Rng& rng) {
  position_ = rng.uniform(kResetLow, kResetHigh);
  velocity_ = 0.0;
}

StepResult MountainCar::step_state(const float* action) {
  const int push = discrete_action_index(kId, action, 3);
  // velocity += (a - 1) * force - cos(3 position) * gravity, summed in Gymnasium's order.
  velocity_ += (push - 1) * kForce + std::cos(3 * position_) * (-kGravity);
  velocity_ = std::min(std::max(velocity_, -kMaxSpeed), kMaxSpeed);
  position_ += velocity_;
  position_ = std::min(std::max(position_, kMinPosition), kMaxPosition);
  // The left wall is inelastic: hitting it stops the car.
  if (position_ == kMinPosition && velocity_ < 0) velocity_ = 0.0;

  StepResult result;
  result.terminated = position_ >= kGoalPosition && velocity_ >= kGoalVelocity;
  result.reward = -1.0;
  return result;
}

void MountainCar::get_state(double* out) const {
  out[0] = position_;
  out[1] = velocity_;
}

void MountainCar::set_state(const double* in) {
  position_ = in[0];
  velocity_ = in[1];
}

void MountainCar::observe(float* obs) const {
  obs[0] = static_cast<float>(position_);
  obs[1] = static_cast<float>(velocity_);
}

void MountainCar::render_state(float* out) const {
  out[0] = static_cast<float>(position_);
  out[1] = static_cast<float>(velocity_);
  out[2] = static_cast<float>(kGoalPosition);
}

}  // namespace pl
