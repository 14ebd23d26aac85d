#include "core/envs/classic_control/cartpole.hpp"

#include <cmath>
#include <limits>

namespace pl {

namespace {

constexpr char kId[] = "CartPole-v1";
constexpr double kPi = 3.14159265358979323846;

constexpr double kGravity = 9.8;
constexpr double kCartMass = 1.0;
constexpr double kPoleMass = 0.1;
constexpr double kTotalMass = kPoleMass + kCartMass;
constexpr double kHalfPoleLength = 0.5;  // Gymnasium's `length` is half the pole
constexpr double kPoleMassLength = kPoleMass * kHalfPoleLength;
constexpr double kForceMagnitude = 10.0;
constexpr double kTau = 0.02;  // seconds per step

constexpr double kThetaThreshold = 12 * 2 * kPi / 360;  // 12 degrees, written as Gymnasium does
constexpr double kXThreshold = 2.4;

constexpr double kResetHalfWidth = 0.05;

ClassicControlEnv::Descriptor cartpole_descriptor() {
  // Observation bounds are twice the termination thresholds so that the terminal observation is
  // still inside the space; velocities are unbounded (float32 max), as in Gymnasium.
  const float big = std::numeric_limits<float>::max();
  const float x_bound = static_cast<float>(kXThreshold * 2);
  const float theta_bound = static_cast<float>(kThetaThreshold * 2);
  return {/*id=*/kId,
          /*observation_space=*/
          Space::box({-x_bound, -big, -theta_bound, -big}, {x_bound, big, theta_bound, big}),
          /*action_space=*/Space::discrete(2),
          /*max_episode_steps=*/500,
          /*state_names=*/{"x", "x_dot", "theta", "theta_dot"},
          /*render_names=*/{"x", "theta", "x_threshold"}};
}

}  // namespace

CartPole::CartPole() : ClassicControlEnv(cartpole_descriptor()) {}

void CartPole::reset_state(Rng& rng) {
  x_ = rng.uniform(-kResetHalfWidth, kResetHalfWidth);
  x_dot_ = rng.uniform(-kResetHalfWidth, kResetHalfWidth);
  theta_ = rng.uniform(-kResetHalfWidth, kResetHalfWidth);
  theta_dot_ = rng.uniform(-kResetHalfWidth, kResetHalfWidth);
  already_terminated_ = false;
}

StepResult CartPole::step_state(const float* action) {
  const int push = discrete_action_index(kId, action, 2);
  const double force = push == 1 ? kForceMagnitude : -kForceMagnitude;
  const double cos_theta = std::cos(theta_);
  const double sin_theta = std::sin(theta_);

  // Equations of motion of the frictionless cart-pole (Barto et al. 1983; see also Florian 2007,
  // "Correct equations for the dynamics of the cart-pole system"), grouped as Gymnasium groups them.
  const double temp = (force + kPoleMassLength * (theta_dot_ * theta_dot_) * sin_theta) / kTotalMass;
  const double theta_acc =
      (kGravity * sin_theta - cos_theta * temp) /
      (kHalfPoleLength * (4.0 / 3.0 - kPoleMass * (cos_theta * cos_theta) / kTotalMass));
  const double x_acc = temp - kPoleMassLength * theta_acc * cos_theta / kTotalMass;

  // Explicit Euler: positions advance with the old velocities (Gymnasium's default "euler").
  x_ = x_ + kTau * x_dot_;
  x_dot_ = x_dot_ + kTau * x_acc;
  theta_ = theta_ + kTau * theta_dot_;
  theta_dot_ = theta_dot_ + kTau * theta_acc;

  StepResult result;
  result.terminated = x_ < -kXThreshold || x_ > kXThreshold || theta_ < -kThetaThreshold ||
                      theta_ > kThetaThreshold;
  if (!result.terminated) {
    result.reward = 1.0;
  } else if (!already_terminated_) {
    already_terminated_ = true;
    result.reward = 1.0;
  } else {
    result.reward = 0.0;  // stepping past the end: Gymnasium warns and pays nothing
  }
  return result;
}

void CartPole::get_state(double* out) const {
  out[0] = x_;
  out[1] = x_dot_;
  out[2] = theta_;
  out[3] = theta_dot_;
}

void CartPole::set_state(const double* in) {
  x_ = in[0];
  x_dot_ = in[1];
  theta_ = in[2];
  theta_dot_ = in[3];
  already_terminated_ = false;  // a state set from outside starts a fresh trajectory
}

void CartPole::observe(float* obs) const {
  obs[0] = static_cast<float>(x_);
  obs[1] = static_cast<float>(x_dot_);
  obs[2] = static_cast<float>(theta_);
  obs[3] = static_cast<float>(theta_dot_);
}

void CartPole::render_state(float* out) const {
  out[0] = static_cast<float>(x_);
  out[1] = static_cast<float>(theta_);
  out[2] = static_cast<float>(kXThreshold);
}

}  // namespace pl
