#include "core/envs/classic_control/acrobot.hpp"

#include <algorithm>
#include <cmath>

namespace pl {

namespace {

constexpr char kId[] = "Acrobot-v1";
constexpr double kPi = 3.14159265358979323846;

constexpr double kDt = 0.2;
constexpr double kLinkLength1 = 1.0;      // l1 [m]
constexpr double kLinkMass1 = 1.0;        // m1 [kg]
constexpr double kLinkMass2 = 1.0;        // m2 [kg]
constexpr double kLinkComPosition1 = 0.5; // lc1 [m], centre of mass of link 1
constexpr double kLinkComPosition2 = 0.5; // lc2 [m], centre of mass of link 2
constexpr double kLinkInertia = 1.0;      // I1 = I2, moment of inertia of each link
constexpr double kGravity = 9.8;
constexpr double kMaxVelocity1 = 4 * kPi;
constexpr double kMaxVelocity2 = 9 * kPi;
constexpr double kTorques[3] = {-1.0, 0.0, 1.0};

constexpr double kResetHalfWidth = 0.1;

// Time derivative of (theta1, theta2, dtheta1, dtheta2) under elbow torque `a`: the book
// equations of Sutton & Barto, with the terms grouped in the order Gymnasium evaluates them.
void acrobot_derivative(const double* s, double a, double* ds) {
  const double m1 = kLinkMass1, m2 = kLinkMass2, l1 = kLinkLength1;
  const double lc1 = kLinkComPosition1, lc2 = kLinkComPosition2;
  const double i1 = kLinkInertia, i2 = kLinkInertia, g = kGravity;
  const double theta1 = s[0], theta2 = s[1], dtheta1 = s[2], dtheta2 = s[3];

  const double cos_theta2 = std::cos(theta2);
  const double sin_theta2 = std::sin(theta2);
  const double d1 = m1 * (lc1 * lc1) + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * cos_theta2) + i1 + i2;
  const double d2 = m2 * (lc2 * lc2 + l1 * lc2 * cos_theta2) + i2;
  const double phi2 = m2 * lc2 * g * std::cos(theta1 + theta2 - kPi / 2.0);
  const double phi1 = -m2 * l1 * lc2 * (dtheta2 * dtheta2) * sin_theta2 -
                      2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin_theta2 +
                      (m1 * lc1 + m2 * l1) * g * std::cos(theta1 - kPi / 2) + phi2;
  // The "book" form: the NIPS paper omits the -m2 l1 lc2 dtheta1^2 sin(theta2) term.
  const double ddtheta2 =
      (a + d2 / d1 * phi1 - m2 * l1 * lc2 * (dtheta1 * dtheta1) * sin_theta2 - phi2) /
      (m2 * (lc2 * lc2) + i2 - (d2 * d2) / d1);
  const double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;

  ds[0] = dtheta1;
  ds[1] = dtheta2;
  ds[2] = ddtheta1;
  ds[3] = ddtheta2;
}

// Gymnasium's wrap(): shifts by whole turns until x is in [low, high]. Non-finite values are
// returned unchanged (the loop would never end on an infinity), and huge values are first reduced
// with fmod so that a state set from outside cannot make this loop run for ages.
double wrap_angle(double x, double low, double high) {
  if (!std::isfinite(x)) return x;
  const double width = high - low;
  if (std::fabs(x) > 1e6) x = std::fmod(x, width);
  while (x > high) x -= width;
  while (x < low) x += width;
  return x;
}

double clip(double x, double low, double high) { return std::min(std::max(x, low), high); }

ClassicControlEnv::Descriptor acrobot_descriptor() {
  const float v1 = static_cast<float>(kMaxVelocity1);
  const float v2 = static_cast<float>(kMaxVelocity2);
  return {/*id=*/kId,
          /*observation_space=*/
          Space::box({-1.f, -1.f, -1.f, -1.f, -v1, -v2}, {1.f, 1.f, 1.f, 1.f, v1, v2}),
          /*action_space=*/Space::discrete(3),
          /*max_episode_steps=*/500,
          /*state_names=*/{"theta1", "theta2", "dtheta1", "dtheta2"},
          /*render_names=*/{"theta1", "theta2"}};
}

}  // namespace

Acrobot::Acrobot() : ClassicControlEnv(acrobot_descriptor()) {}

void Acrobot::reset_state(Rng& rng) {
  // Gymnasium stores the reset draw as float32 (`.astype(np.float32)`), so the first state is
  // float32-representable; integration afterwards is in double.
  for (double& component : state_) {
    component = round_to_float32(rng.uniform(-kResetHalfWidth, kResetHalfWidth));
  }
}

StepResult Acrobot::step_state(const float* action) {
  const double torque = kTorques[discrete_action_index(kId, action, 3)];

  // One classical RK4 step over [0, dt], as Gymnasium's rk4() does with t = [0, dt]; the torque is
  // held constant over the step (it is the fifth, zero-derivative, component of Gymnasium's state).
  const double h = kDt;
  const double half_h = h / 2.0;
  double k1[4], k2[4], k3[4], k4[4], probe[4];
  acrobot_derivative(state_, torque, k1);
  for (int i = 0; i < 4; ++i) probe[i] = state_[i] + half_h * k1[i];
  acrobot_derivative(probe, torque, k2);
  for (int i = 0; i < 4; ++i) probe[i] = state_[i] + half_h * k2[i];
  acrobot_derivative(probe, torque, k3);
  for (int i = 0; i < 4; ++i) probe[i] = state_[i] + h * k3[i];
  acrobot_derivative(probe, torque, k4);
  for (int i = 0; i < 4; ++i) {
    state_[i] = state_[i] + h / 6.0 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
  }

  state_[0] = wrap_angle(state_[0], -kPi, kPi);
  state_[1] = wrap_angle(state_[1], -kPi, kPi);
  state_[2] = clip(state_[2], -kMaxVelocity1, kMaxVelocity1);
  state_[3] = clip(state_[3], -kMaxVelocity2, kMaxVelocity2);

  StepResult result;
  // Height of the tip above the pivot is -cos(theta1) - cos(theta1 + theta2) (links of length 1);
  // the goal line is one link length above the pivot.
  result.terminated = -std::cos(state_[0]) - std::cos(state_[1] + state_[0]) > 1.0;
  result.reward = result.terminated ? 0.0 : -1.0;
  return result;
}

void Acrobot::get_state(double* out) const { std::copy(state_, state_ + 4, out); }

void Acrobot::set_state(const double* in) { std::copy(in, in + 4, state_); }

void Acrobot::observe(float* obs) const {
  obs[0] = static_cast<float>(std::cos(state_[0]));
  obs[1] = static_cast<float>(std::sin(state_[0]));
  obs[2] = static_cast<float>(std::cos(state_[1]));
  obs[3] = static_cast<float>(std::sin(state_[1]));
  obs[4] = static_cast<float>(state_[2]);
  obs[5] = static_cast<float>(state_[3]);
}

void Acrobot::render_state(float* out) const {
  out[0] = static_cast<float>(state_[0]);
  out[1] = static_cast<float>(state_[1]);
}

}  // namespace pl
