#include "core/envs/classic_control/pendulum.hpp"

#include <algorithm>
#include <cmath>

namespace pl {

namespace {

constexpr char kId[] = "Pendulum-v1";
constexpr double kPi = 3.14159265358979323846;

constexpr double kMaxSpeed = 8.0;
constexpr double kMaxTorque = 2.0;
constexpr double kDt = 0.05;
constexpr double kMass = 1.0;
constexpr double kLength = 1.0;

constexpr double kResetMaxTheta = kPi;
constexpr double kResetMaxThetaDot = 1.0;

ClassicControlEnv::Descriptor pendulum_descriptor() {
  const float max_speed = static_cast<float>(kMaxSpeed);
  return {/*id=*/kId,
          /*observation_space=*/Space::box({-1.f, -1.f, -max_speed}, {1.f, 1.f, max_speed}),
          /*action_space=*/
          Space::box({static_cast<float>(-kMaxTorque)}, {static_cast<float>(kMaxTorque)}),
          /*max_episode_steps=*/200,
          /*state_names=*/{"theta", "theta_dot"},
          /*render_names=*/{"theta", "last_torque"}};
}

}  // namespace

double pendulum_angle_normalize(double x) {
  const double two_pi = 2 * kPi;
  // Floored modulo as Python/NumPy compute it: fmod, then move a remainder of the wrong sign
  // into [0, 2 pi).
  double mod = std::fmod(x + kPi, two_pi);
  if (mod != 0.0) {
    if (mod < 0.0) mod += two_pi;
  } else {
    mod = 0.0;  // Python returns +0.0 for a positive divisor
  }
  return mod - kPi;
}

Pendulum::Pendulum(double gravity) : ClassicControlEnv(pendulum_descriptor()), gravity_(gravity) {}

void Pendulum::reset_state(Rng& rng) {
  theta_ = rng.uniform(-kResetMaxTheta, kResetMaxTheta);
  theta_dot_ = rng.uniform(-kResetMaxThetaDot, kResetMaxThetaDot);
  last_torque_ = 0.0;  // Gymnasium's last_u = None: nothing applied yet
}

StepResult Pendulum::step_state(const float* action) {
  check_box_action_finite(kId, action, action_space());
  const double torque = std::min(std::max(static_cast<double>(action[0]), -kMaxTorque), kMaxTorque);
  last_torque_ = torque;

  // The cost is of the state the action is taken in, so it is computed before integrating.
  const double normalized_theta = pendulum_angle_normalize(theta_);
  const double cost = normalized_theta * normalized_theta + 0.1 * (theta_dot_ * theta_dot_) +
                      0.001 * (torque * torque);

  // Semi-implicit Euler on theta'' = 3g/(2l) sin(theta) + 3/(m l^2) u (a uniform rod pivoting at
  // one end, theta measured from upright): the new velocity is clipped, then moves the angle.
  double new_theta_dot = theta_dot_ + (3 * gravity_ / (2 * kLength) * std::sin(theta_) +
                                       3.0 / (kMass * (kLength * kLength)) * torque) * kDt;
  new_theta_dot = std::min(std::max(new_theta_dot, -kMaxSpeed), kMaxSpeed);
  theta_ = theta_ + new_theta_dot * kDt;
  theta_dot_ = new_theta_dot;

  StepResult result;
  result.reward = -cost;
  return result;
}

void Pendulum::get_state(double* out) const {
  out[0] = theta_;
  out[1] = theta_dot_;
}

void Pendulum::set_state(const double* in) {
  theta_ = in[0];
  theta_dot_ = in[1];
}

void Pendulum::observe(float* obs) const {
  obs[0] = static_cast<float>(std::cos(theta_));
  obs[1] = static_cast<float>(std::sin(theta_));
  obs[2] = static_cast<float>(theta_dot_);
}

void Pendulum::render_state(float* out) const {
  out[0] = static_cast<float>(theta_);
  out[1] = static_cast<float>(last_torque_);
}

}  // namespace pl
