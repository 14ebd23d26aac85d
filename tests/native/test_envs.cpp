// Tests of the classic-control envs and the VectorEnv.
//
// Every transition is checked against a reference written here from the published equations, in a
// different but mathematically equivalent form from the env's code (e.g. the Acrobot's book
// equations solved by Cramer's rule, the pendulum angle normalised with atan2), plus at least one
// case per env whose numbers are worked out by hand in a comment. Constants are restated here on
// purpose rather than taken from the env headers.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/envs/classic_control/acrobot.hpp"
#include "core/envs/classic_control/cartpole.hpp"
#include "core/envs/classic_control/mountain_car.hpp"
#include "core/envs/classic_control/mountain_car_continuous.hpp"
#include "core/envs/classic_control/pendulum.hpp"
#include "core/envs/env.hpp"
#include "core/envs/vector_env.hpp"
#include "core/util/rng.hpp"

using Catch::Matchers::Contains;

namespace {

constexpr double kPi = 3.14159265358979323846;

// ---------------------------------------------------------------------------------------------
// Small helpers

struct Transition {
  std::vector<float> obs;
  pl::StepResult result;
  std::vector<double> state;
};

// Puts `env` in `state` and steps it once with a single-float action.
Transition step_from(pl::Env& env, const std::vector<double>& state, float action) {
  env.set_state(state.data());
  Transition t;
  t.obs.resize(static_cast<size_t>(env.observation_space().flat_dim()));
  t.result = env.step(&action, t.obs.data());
  t.state.resize(static_cast<size_t>(env.state_size()));
  env.get_state(t.state.data());
  return t;
}

std::vector<float> reset_obs(pl::Env& env, uint64_t seed) {
  std::vector<float> obs(static_cast<size_t>(env.observation_space().flat_dim()));
  env.reset(seed, obs.data());
  return obs;
}

std::vector<double> current_state(const pl::Env& env) {
  std::vector<double> s(static_cast<size_t>(env.state_size()));
  env.get_state(s.data());
  return s;
}

Approx close(double expected) { return Approx(expected).epsilon(1e-12).margin(1e-14); }
Approx close_float(double expected) { return Approx(expected).epsilon(1e-6).margin(1e-7); }

// Runs `limit` steps, putting the env back into `safe_state` before each one, and checks that
// only the last step is truncated. Then checks that termination on the limit step wins.
void check_time_limit(pl::Env& env, const std::vector<double>& safe_state, float safe_action,
                      const std::vector<double>& terminating_state, float terminating_action,
                      int limit) {
  REQUIRE(env.max_episode_steps() == limit);
  std::vector<float> obs(static_cast<size_t>(env.observation_space().flat_dim()));
  env.reset(uint64_t{1}, obs.data());
  for (int t = 1; t <= limit; ++t) {
    env.set_state(safe_state.data());
    const pl::StepResult r = env.step(&safe_action, obs.data());
    REQUIRE_FALSE(r.terminated);
    REQUIRE(r.truncated == (t == limit));
    REQUIRE(env.elapsed_steps() == t);
  }

  if (terminating_state.empty()) return;  // Pendulum has no terminal state
  env.reset(uint64_t{2}, obs.data());
  for (int t = 1; t < limit; ++t) {
    env.set_state(safe_state.data());
    REQUIRE_FALSE(env.step(&safe_action, obs.data()).truncated);
  }
  env.set_state(terminating_state.data());
  const pl::StepResult last = env.step(&terminating_action, obs.data());
  REQUIRE(last.terminated);
  REQUIRE_FALSE(last.truncated);  // terminated has priority: do not bootstrap this step
}

// Same seed gives the same first observation and state; a different seed gives another one.
void check_reset_determinism(const std::string& id) {
  auto a = pl::make_env(id);
  auto b = pl::make_env(id);
  const std::vector<float> obs_a = reset_obs(*a, 1234);
  const std::vector<float> obs_b = reset_obs(*b, 1234);
  REQUIRE(obs_a == obs_b);
  REQUIRE(current_state(*a) == current_state(*b));
  const std::vector<float> obs_c = reset_obs(*b, 1235);
  REQUIRE(obs_a != obs_c);
  // Reseeding an env that has already run reproduces the same start.
  float action[1] = {0.0f};
  std::vector<float> scratch(obs_a.size());
  for (int i = 0; i < 5; ++i) a->step(action, scratch.data());
  REQUIRE(reset_obs(*a, 1234) == obs_a);
}

// ---------------------------------------------------------------------------------------------
// Reference dynamics, restated from the published equations.

// CartPole (Barto, Sutton & Anderson 1983; corrected form in Florian 2007), explicit Euler, tau=0.02.
std::array<double, 4> cartpole_reference(const std::array<double, 4>& s, int action) {
  const double g = 9.8, cart_mass = 1.0, pole_mass = 0.1, half_length = 0.5, tau = 0.02;
  const double total = cart_mass + pole_mass;
  const double force = action == 1 ? 10.0 : -10.0;
  const double x = s[0], x_dot = s[1], th = s[2], th_dot = s[3];
  const double c = std::cos(th), sn = std::sin(th);
  const double th_acc = (g * sn - c * (force + pole_mass * half_length * th_dot * th_dot * sn) / total) /
                        (half_length * (4.0 / 3.0 - pole_mass * c * c / total));
  const double x_acc = (force + pole_mass * half_length * (th_dot * th_dot * sn - th_acc * c)) / total;
  return {x + tau * x_dot, x_dot + tau * x_acc, th + tau * th_dot, th_dot + tau * th_acc};
}

// Acrobot, book equations (Sutton & Barto), written as the 2x2 system
//   d1 a1 + d2 a2 = -phi1
//   d2 a1 + d22 a2 = tau - m2 l1 lc2 w1^2 sin(theta2) - phi2
// and solved by Cramer's rule; cos(x - pi/2) is written sin(x). `nips` drops the w1^2 term.
std::array<double, 4> acrobot_derivative_reference(const std::array<double, 4>& s, double tau,
                                                   bool nips = false) {
  const double m1 = 1.0, m2 = 1.0, l1 = 1.0, lc1 = 0.5, lc2 = 0.5, i1 = 1.0, i2 = 1.0, g = 9.8;
  const double t1 = s[0], t2 = s[1], w1 = s[2], w2 = s[3];
  const double d1 = m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * std::cos(t2)) + i1 + i2;
  const double d2 = m2 * (lc2 * lc2 + l1 * lc2 * std::cos(t2)) + i2;
  const double d22 = m2 * lc2 * lc2 + i2;
  const double phi2 = m2 * lc2 * g * std::sin(t1 + t2);
  const double phi1 = -m2 * l1 * lc2 * std::sin(t2) * (w2 * w2 + 2 * w2 * w1) +
                      (m1 * lc1 + m2 * l1) * g * std::sin(t1) + phi2;
  const double centrifugal = nips ? 0.0 : m2 * l1 * lc2 * w1 * w1 * std::sin(t2);
  const double rhs1 = -phi1;
  const double rhs2 = tau - centrifugal - phi2;
  const double det = d1 * d22 - d2 * d2;
  const double a1 = (rhs1 * d22 - d2 * rhs2) / det;
  const double a2 = (d1 * rhs2 - d2 * rhs1) / det;
  return {w1, w2, a1, a2};
}

double wrap_reference(double x) {
  // Whole turns until in [-pi, pi]; the step's angle change is far below a turn.
  while (x > kPi) x -= 2 * kPi;
  while (x < -kPi) x += 2 * kPi;
  return x;
}

std::array<double, 4> acrobot_reference(const std::array<double, 4>& s, int action, bool nips = false,
                                        bool clip_and_wrap = true) {
  const double torque = action - 1.0;  // actions 0, 1, 2 -> -1, 0, +1
  const double h = 0.2;
  auto add = [](const std::array<double, 4>& a, double scale, const std::array<double, 4>& b) {
    return std::array<double, 4>{a[0] + scale * b[0], a[1] + scale * b[1], a[2] + scale * b[2],
                                 a[3] + scale * b[3]};
  };
  const auto k1 = acrobot_derivative_reference(s, torque, nips);
  const auto k2 = acrobot_derivative_reference(add(s, h / 2, k1), torque, nips);
  const auto k3 = acrobot_derivative_reference(add(s, h / 2, k2), torque, nips);
  const auto k4 = acrobot_derivative_reference(add(s, h, k3), torque, nips);
  std::array<double, 4> next;
  for (int i = 0; i < 4; ++i) next[i] = s[i] + h * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]) / 6;
  if (clip_and_wrap) {
    next[0] = wrap_reference(next[0]);
    next[1] = wrap_reference(next[1]);
    next[2] = std::clamp(next[2], -4 * kPi, 4 * kPi);
    next[3] = std::clamp(next[3], -9 * kPi, 9 * kPi);
  }
  return next;
}

double acrobot_tip_height(double theta1, double theta2) {
  // Pivot at the origin, links of length 1 hanging down at theta = 0: the tip's height is
  // -cos(theta1) - cos(theta1 + theta2).
  return -std::cos(theta1) - std::cos(theta1 + theta2);
}

// Mountain car (Moore 1990; Sutton's MountainCar1.cp): v' = clip(v + (a-1) 0.001 - 0.0025 cos 3x),
// x' = clip(x + v'), v' = 0 on hitting the left wall while moving left.
std::array<double, 2> mountain_car_reference(const std::array<double, 2>& s, int action) {
  double v = std::clamp(s[1] + 0.001 * (action - 1) - 0.0025 * std::cos(3 * s[0]), -0.07, 0.07);
  const double x = std::clamp(s[0] + v, -1.2, 0.6);
  if (x <= -1.2 && v < 0) v = 0;
  return {x, v};
}

// Pendulum: theta'' = 3 g / (2 l) sin(theta) + 3 u / (m l^2), g = 10, m = l = 1, dt = 0.05.
struct PendulumStep {
  double theta, theta_dot, reward;
};
PendulumStep pendulum_reference(double theta, double theta_dot, double action) {
  const double u = std::clamp(action, -2.0, 2.0);
  const double wrapped = std::atan2(std::sin(theta), std::cos(theta));  // angle in [-pi, pi]
  const double reward = -(wrapped * wrapped + 0.1 * theta_dot * theta_dot + 0.001 * u * u);
  const double acc = 15.0 * std::sin(theta) + 3.0 * u;
  const double new_theta_dot = std::clamp(theta_dot + 0.05 * acc, -8.0, 8.0);
  return {theta + 0.05 * new_theta_dot, new_theta_dot, reward};
}

// Continuous mountain car: force = clip(a, -1, 1), power 0.0015, goal 0.45, reward
// 100 [goal] - 0.1 a^2 with the action as passed; state stored as float32 afterwards.
struct MountainCarContinuousStep {
  double position, velocity, reward;
  bool terminated;
};
MountainCarContinuousStep mountain_car_continuous_reference(double position, double velocity,
                                                            double action) {
  const double force = std::clamp(action, -1.0, 1.0);
  double v = std::clamp(velocity + 0.0015 * force - 0.0025 * std::cos(3 * position), -0.07, 0.07);
  const double x = std::clamp(position + v, -1.2, 0.6);
  if (x <= -1.2 && v < 0) v = 0;
  const bool goal = x >= 0.45 && v >= 0;
  return {x, v, (goal ? 100.0 : 0.0) - 0.1 * action * action, goal};
}

}  // namespace

// =============================================================================================
// Registry

TEST_CASE("registry: every id makes its env, unknown ids name the known ones", "[envs][registry]") {
  const std::vector<std::string> expected = {"CartPole-v1", "Acrobot-v1", "MountainCar-v0",
                                             "Pendulum-v1", "MountainCarContinuous-v0"};
  const std::vector<std::string> ids = pl::env_ids();
  REQUIRE(std::set<std::string>(ids.begin(), ids.end()) ==
          std::set<std::string>(expected.begin(), expected.end()));
  REQUIRE(ids.size() == expected.size());
  for (const std::string& id : ids) {
    auto env = pl::make_env(id);
    REQUIRE(env != nullptr);
    REQUIRE(env->id() == id);
    REQUIRE(static_cast<int>(env->state_names().size()) == env->state_size());
    REQUIRE(static_cast<int>(env->render_names().size()) == env->render_size());
  }

  REQUIRE_THROWS_AS(pl::make_env("CartPole-v0"), pl::EnvError);
  REQUIRE_THROWS_WITH(pl::make_env("CartPole-v0"),
                      Contains("CartPole-v0") && Contains("CartPole-v1") && Contains("Acrobot-v1") &&
                          Contains("MountainCar-v0") && Contains("Pendulum-v1") &&
                          Contains("MountainCarContinuous-v0"));
  REQUIRE_THROWS_AS(pl::make_env(""), pl::EnvError);
}

TEST_CASE("spaces and limits are Gymnasium's", "[envs][spaces]") {
  const float fmax = std::numeric_limits<float>::max();
  {
    pl::CartPole env;
    const pl::Space& o = env.observation_space();
    // high = [2 * 2.4, float32 max, 2 * 12 deg in rad, float32 max] as float32
    REQUIRE(o.high == std::vector<float>{4.8f, fmax, static_cast<float>(24 * kPi / 180), fmax});
    REQUIRE(o.low == std::vector<float>{-4.8f, -fmax, -static_cast<float>(24 * kPi / 180), -fmax});
    REQUIRE(o.high[2] == Approx(0.41887903));
    REQUIRE(env.action_space().is_discrete());
    REQUIRE(env.action_space().n == 2);
    REQUIRE(env.max_episode_steps() == 500);
  }
  {
    pl::Acrobot env;
    const pl::Space& o = env.observation_space();
    REQUIRE(o.high == std::vector<float>{1, 1, 1, 1, static_cast<float>(4 * kPi), static_cast<float>(9 * kPi)});
    REQUIRE(o.high[4] == Approx(12.566371));
    REQUIRE(o.high[5] == Approx(28.274334));
    REQUIRE(o.low[5] == -o.high[5]);
    REQUIRE(env.action_space().n == 3);
    REQUIRE(env.max_episode_steps() == 500);
  }
  {
    pl::MountainCar env;
    REQUIRE(env.observation_space().low == std::vector<float>{-1.2f, -0.07f});
    REQUIRE(env.observation_space().high == std::vector<float>{0.6f, 0.07f});
    REQUIRE(env.action_space().n == 3);
    REQUIRE(env.max_episode_steps() == 200);
  }
  {
    pl::Pendulum env;
    REQUIRE(env.observation_space().high == std::vector<float>{1.f, 1.f, 8.f});
    REQUIRE(env.observation_space().low == std::vector<float>{-1.f, -1.f, -8.f});
    REQUIRE_FALSE(env.action_space().is_discrete());
    REQUIRE(env.action_space().low == std::vector<float>{-2.f});
    REQUIRE(env.action_space().high == std::vector<float>{2.f});
    REQUIRE(env.max_episode_steps() == 200);
    REQUIRE(env.gravity() == 10.0);
  }
  {
    pl::MountainCarContinuous env;
    REQUIRE(env.observation_space().low == std::vector<float>{-1.2f, -0.07f});
    REQUIRE(env.observation_space().high == std::vector<float>{0.6f, 0.07f});
    REQUIRE(env.action_space().low == std::vector<float>{-1.f});
    REQUIRE(env.action_space().high == std::vector<float>{1.f});
    REQUIRE(env.max_episode_steps() == 999);
  }
}

TEST_CASE("invalid actions throw EnvError naming env, value and range", "[envs][errors]") {
  std::vector<float> obs(8);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();

  pl::CartPole cartpole;
  cartpole.reset(uint64_t{0}, obs.data());
  for (float bad : {2.0f, -1.0f, 0.5f, 1.0000001f, nan, inf, -inf}) {
    REQUIRE_THROWS_AS(cartpole.step(&bad, obs.data()), pl::EnvError);
  }
  float two = 2.0f;
  REQUIRE_THROWS_WITH(cartpole.step(&two, obs.data()),
                      Contains("CartPole-v1") && Contains("2") && Contains("[0, 1]"));
  float half = 0.5f;
  REQUIRE_THROWS_WITH(cartpole.step(&half, obs.data()), Contains("0.5"));
  // Failed steps did not count as steps.
  REQUIRE(cartpole.elapsed_steps() == 0);

  pl::Acrobot acrobot;
  acrobot.reset(uint64_t{0}, obs.data());
  float three = 3.0f;
  REQUIRE_THROWS_WITH(acrobot.step(&three, obs.data()), Contains("Acrobot-v1") && Contains("[0, 2]"));
  pl::MountainCar car;
  car.reset(uint64_t{0}, obs.data());
  float minus = -1.0f;
  REQUIRE_THROWS_WITH(car.step(&minus, obs.data()), Contains("MountainCar-v0") && Contains("-1"));

  pl::Pendulum pendulum;
  pendulum.reset(uint64_t{0}, obs.data());
  REQUIRE_THROWS_WITH(pendulum.step(&nan, obs.data()), Contains("Pendulum-v1") && Contains("nan") &&
                                                           Contains("[-2, 2]"));
  REQUIRE_THROWS_AS(pendulum.step(&inf, obs.data()), pl::EnvError);
  pl::MountainCarContinuous continuous;
  continuous.reset(uint64_t{0}, obs.data());
  REQUIRE_THROWS_WITH(continuous.step(&inf, obs.data()),
                      Contains("MountainCarContinuous-v0") && Contains("inf") && Contains("[-1, 1]"));

  // Valid edge values are accepted: the last index, and out-of-bounds but finite Box actions.
  float one = 1.0f, big = 50.0f;
  REQUIRE_NOTHROW(cartpole.step(&one, obs.data()));
  REQUIRE_NOTHROW(acrobot.step(&two, obs.data()));
  REQUIRE_NOTHROW(pendulum.step(&big, obs.data()));
}

// =============================================================================================
// CartPole-v1

TEST_CASE("CartPole: hand-computed step from rest", "[envs][cartpole]") {
  pl::CartPole env;
  env.reset(uint64_t{0}, std::vector<float>(4).data());
  // From (0, 0, 0, 0) pushing right (F = +10): sin = 0, cos = 1.
  //   temp      = (F + 0) / (m_c + m_p) = 10 / 1.1 = 100/11
  //   theta_acc = (g*0 - 1*100/11) / (0.5 * (4/3 - 0.1/1.1)) = -(100/11) / (41/66) = -600/41
  //   x_acc     = 100/11 - 0.05 * (-600/41) / 1.1 = 100/11 + 300/451 = 4400/451 = 400/41
  // Euler with tau = 0.02 (positions use the old, zero velocities):
  //   x = 0, x_dot = 0.02 * 400/41 = 8/41, theta = 0, theta_dot = 0.02 * -600/41 = -12/41
  Transition t = step_from(env, {0, 0, 0, 0}, 1.0f);
  REQUIRE(t.state[0] == 0.0);
  REQUIRE(t.state[1] == close(8.0 / 41));
  REQUIRE(t.state[2] == 0.0);
  REQUIRE(t.state[3] == close(-12.0 / 41));
  REQUIRE(t.obs[1] == static_cast<float>(t.state[1]));
  REQUIRE(t.obs[3] == close_float(-0.29268293));
  REQUIRE(t.result.reward == 1.0);
  REQUIRE_FALSE(t.result.terminated);
  REQUIRE_FALSE(t.result.truncated);

  // Pushing left mirrors it.
  t = step_from(env, {0, 0, 0, 0}, 0.0f);
  REQUIRE(t.state[1] == close(-8.0 / 41));
  REQUIRE(t.state[3] == close(12.0 / 41));
}

TEST_CASE("CartPole: transitions match the reference equations", "[envs][cartpole]") {
  pl::CartPole env;
  env.reset(uint64_t{0}, std::vector<float>(4).data());
  pl::Rng rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const std::array<double, 4> s = {rng.uniform(-2, 2), rng.uniform(-3, 3), rng.uniform(-0.2, 0.2),
                                     rng.uniform(-3, 3)};
    const int action = static_cast<int>(rng.below(2));
    const auto expected = cartpole_reference(s, action);
    const Transition t = step_from(env, {s.begin(), s.end()}, static_cast<float>(action));
    for (int i = 0; i < 4; ++i) {
      REQUIRE(t.state[i] == close(expected[i]));
      REQUIRE(t.obs[i] == close_float(expected[i]));
    }
    const bool out = std::fabs(expected[0]) > 2.4 || std::fabs(expected[2]) > 12 * kPi / 180;
    REQUIRE(t.result.terminated == out);
  }
}

TEST_CASE("CartPole: termination beyond 12 degrees or 2.4 m", "[envs][cartpole]") {
  pl::CartPole env;
  env.reset(uint64_t{0}, std::vector<float>(4).data());
  // 12 degrees = 0.20944 rad. theta advances by tau * theta_dot = 0.02 * 0.1 = 0.002.
  REQUIRE(step_from(env, {0, 0, 0.2094, 0.1}, 1.0f).result.terminated);    // 0.2114 > 0.20944
  REQUIRE(step_from(env, {0, 0, -0.2094, -0.1}, 0.0f).result.terminated);  // -0.2114
  REQUIRE_FALSE(step_from(env, {0, 0, 0.2, 0.0}, 1.0f).result.terminated);  // stays at 0.2
  REQUIRE_FALSE(step_from(env, {0, 0, 0.2094, -0.01}, 1.0f).result.terminated);  // 0.2092
  // x advances by 0.02 * x_dot = 0.02.
  REQUIRE(step_from(env, {2.39, 1.0, 0, 0}, 1.0f).result.terminated);    // 2.41 > 2.4
  REQUIRE(step_from(env, {-2.39, -1.0, 0, 0}, 0.0f).result.terminated);  // -2.41
  REQUIRE_FALSE(step_from(env, {2.37, 1.0, 0, 0}, 1.0f).result.terminated);  // 2.39

  // The terminating step pays +1; a step taken after it pays 0 (Gymnasium's behaviour). The pole
  // is falling right (theta 0.25 -> 0.27 -> ...) and pushing the cart left only speeds it up.
  env.set_state(std::vector<double>{0, 0, 0.25, 1.0}.data());
  std::vector<float> obs(4);
  float left = 0.0f;
  pl::StepResult first = env.step(&left, obs.data());
  REQUIRE(first.terminated);
  REQUIRE(first.reward == 1.0);
  pl::StepResult after = env.step(&left, obs.data());
  REQUIRE(after.terminated);
  REQUIRE(after.reward == 0.0);
  // A reset starts paying again.
  env.reset(obs.data());
  REQUIRE(env.step(&left, obs.data()).reward == 1.0);
}

TEST_CASE("CartPole: truncation at 500, termination wins on the last step", "[envs][cartpole]") {
  pl::CartPole env;
  check_time_limit(env, {0, 0, 0, 0}, 1.0f, {0, 0, 0.2094, 0.1}, 1.0f, 500);
}

TEST_CASE("CartPole: reset is U(-0.05, 0.05)^4 and seeded", "[envs][cartpole]") {
  pl::CartPole env;
  std::array<double, 4> lo, hi;
  lo.fill(1.0);
  hi.fill(-1.0);
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    const std::vector<float> obs = reset_obs(env, seed);
    const std::vector<double> s = current_state(env);
    REQUIRE(env.elapsed_steps() == 0);
    for (int i = 0; i < 4; ++i) {
      REQUIRE(s[i] >= -0.05);
      REQUIRE(s[i] < 0.05);
      REQUIRE(obs[i] == static_cast<float>(s[i]));
      lo[i] = std::min(lo[i], s[i]);
      hi[i] = std::max(hi[i], s[i]);
    }
  }
  for (int i = 0; i < 4; ++i) {  // the whole interval is used, not a corner of it
    REQUIRE(lo[i] < -0.049);
    REQUIRE(hi[i] > 0.049);
  }
  check_reset_determinism("CartPole-v1");
}

TEST_CASE("CartPole: render state", "[envs][cartpole]") {
  pl::CartPole env;
  env.reset(uint64_t{0}, std::vector<float>(4).data());
  env.set_state(std::vector<double>{1.5, 0.3, -0.1, 2.0}.data());
  std::vector<float> r(static_cast<size_t>(env.render_size()));
  env.render_state(r.data());
  REQUIRE(env.render_names() == std::vector<std::string>{"x", "theta", "x_threshold"});
  REQUIRE(r == std::vector<float>{1.5f, -0.1f, 2.4f});
}

// =============================================================================================
// Acrobot-v1

TEST_CASE("Acrobot: hand-computed accelerations from rest", "[envs][acrobot]") {
  // Hanging at rest (all zero) with torque +1: cos(theta2) = 1, sin(theta2) = 0, sin(theta1) = 0.
  //   d1  = 1*0.25 + 1*(1 + 0.25 + 2*1*0.5*1) + 1 + 1 = 0.25 + 2.25 + 2 = 4.5
  //   d2  = 1*(0.25 + 0.5*1) + 1 = 1.75
  //   phi1 = phi2 = 0
  //   ddtheta2 = (1 + 0 - 0 - 0) / (0.25 + 1 - 1.75^2/4.5) = 1 / (1.25 - 3.0625/4.5) = 4.5/2.5625 = 72/41
  //   ddtheta1 = -(1.75 * 72/41 + 0) / 4.5 = -28/41
  const auto k = acrobot_derivative_reference({0, 0, 0, 0}, 1.0);
  REQUIRE(k[2] == close(-28.0 / 41));
  REQUIRE(k[3] == close(72.0 / 41));

  // Over one 0.2 s step the velocities are close to acceleration * dt (the accelerations fade as
  // the links move, so within 10%): dtheta1 ~ -28/41*0.2 = -0.1366, dtheta2 ~ 72/41*0.2 = 0.3512.
  pl::Acrobot env;
  env.reset(uint64_t{0}, std::vector<float>(6).data());
  const Transition t = step_from(env, {0, 0, 0, 0}, 2.0f);
  REQUIRE(t.state[2] == Approx(-28.0 / 41 * 0.2).epsilon(0.1));
  REQUIRE(t.state[3] == Approx(72.0 / 41 * 0.2).epsilon(0.1));
  // The same step computed independently in Python from Gymnasium's formulas (double precision):
  // (-0.013262967177227795, 0.03428722934738544, -0.12866185280996106, 0.33450108998660194).
  REQUIRE(t.state[0] == close(-0.013262967177227795));
  REQUIRE(t.state[1] == close(0.03428722934738544));
  REQUIRE(t.state[2] == close(-0.12866185280996106));
  REQUIRE(t.state[3] == close(0.33450108998660194));
  REQUIRE(t.result.reward == -1.0);
  REQUIRE_FALSE(t.result.terminated);
  // Observation: cos, sin of each angle, then the velocities.
  REQUIRE(t.obs[0] == close_float(std::cos(-0.013262967177227795)));
  REQUIRE(t.obs[1] == close_float(std::sin(-0.013262967177227795)));
  REQUIRE(t.obs[2] == close_float(std::cos(0.03428722934738544)));
  REQUIRE(t.obs[3] == close_float(std::sin(0.03428722934738544)));
  REQUIRE(t.obs[4] == close_float(-0.12866185280996106));
  REQUIRE(t.obs[5] == close_float(0.33450108998660194));

  // No torque at the bottom: the equilibrium is kept.
  const Transition rest = step_from(env, {0, 0, 0, 0}, 1.0f);
  for (double v : rest.state) REQUIRE(std::fabs(v) < 1e-12);
}

TEST_CASE("Acrobot: transitions match the book equations with one RK4 step", "[envs][acrobot]") {
  pl::Acrobot env;
  env.reset(uint64_t{0}, std::vector<float>(6).data());
  // A case with both velocities nonzero, computed in Python from Gymnasium's formulas.
  const Transition t = step_from(env, {0.3, -0.7, 1.2, -2.5}, 0.0f);
  REQUIRE(t.state[0] == close(0.4911490238286126));
  REQUIRE(t.state[1] == close(-1.111930647728801));
  REQUIRE(t.state[2] == close(0.6794561873229488));
  REQUIRE(t.state[3] == close(-1.572004020466693));

  pl::Rng rng(11);
  int clipped = 0, wrapped = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const std::array<double, 4> s = {rng.uniform(-kPi, kPi), rng.uniform(-kPi, kPi),
                                     rng.uniform(-4 * kPi, 4 * kPi), rng.uniform(-9 * kPi, 9 * kPi)};
    const int action = static_cast<int>(rng.below(3));
    const auto expected = acrobot_reference(s, action);
    const auto raw = acrobot_reference(s, action, false, false);
    clipped += std::fabs(raw[2]) > 4 * kPi || std::fabs(raw[3]) > 9 * kPi;
    wrapped += std::fabs(raw[0]) > kPi || std::fabs(raw[1]) > kPi;
    const Transition step = step_from(env, {s.begin(), s.end()}, static_cast<float>(action));
    for (int i = 0; i < 4; ++i) REQUIRE(step.state[i] == Approx(expected[i]).epsilon(1e-9).margin(1e-9));
    REQUIRE(step.state[0] >= -kPi);
    REQUIRE(step.state[0] <= kPi);
    REQUIRE(step.state[1] >= -kPi);
    REQUIRE(step.state[1] <= kPi);
    REQUIRE(step.obs[0] == close_float(std::cos(expected[0])));
    REQUIRE(step.obs[3] == close_float(std::sin(expected[1])));
    REQUIRE(step.obs[5] == close_float(expected[3]));
    const bool goal = acrobot_tip_height(step.state[0], step.state[1]) > 1.0;
    REQUIRE(step.result.terminated == goal);
    REQUIRE(step.result.reward == (goal ? 0.0 : -1.0));
  }
  // The random states exercised both the wrapping and the clipping paths.
  REQUIRE(clipped > 0);
  REQUIRE(wrapped > 0);
}

TEST_CASE("Acrobot: book dynamics, not the NIPS paper's", "[envs][acrobot]") {
  // With a fast first link the w1^2 sin(theta2) term matters: the env must follow the book.
  pl::Acrobot env;
  env.reset(uint64_t{0}, std::vector<float>(6).data());
  const std::array<double, 4> s = {0.4, 1.2, 6.0, 0.0};
  const auto book = acrobot_reference(s, 1);
  const auto nips = acrobot_reference(s, 1, true);
  REQUIRE(std::fabs(book[3] - nips[3]) > 0.1);
  const Transition t = step_from(env, {s.begin(), s.end()}, 1.0f);
  REQUIRE(t.state[3] == close(book[3]));
}

TEST_CASE("Acrobot: wrapping and velocity clipping", "[envs][acrobot]") {
  pl::Acrobot env;
  env.reset(uint64_t{0}, std::vector<float>(6).data());
  // Elbow spinning at 28.224 rad/s with torque +1: unclipped, Python's reference gives
  // theta2 = 5.104653988839018 and dtheta2 = 33.519529857856405 > 9 pi = 28.274...;
  // so theta2 wraps to 5.104653988839018 - 2 pi and dtheta2 is clipped to exactly 9 pi.
  const Transition t = step_from(env, {0, 0, 0, 9 * kPi - 0.05}, 2.0f);
  REQUIRE(t.state[1] == close(5.104653988839018 - 2 * kPi));
  REQUIRE(t.state[3] == 9 * kPi);
  REQUIRE(t.obs[5] == static_cast<float>(9 * kPi));
  // And the mirror image.
  const Transition m = step_from(env, {0, 0, 0, -(9 * kPi - 0.05)}, 0.0f);
  REQUIRE(m.state[1] == close(-5.104653988839018 + 2 * kPi));
  REQUIRE(m.state[3] == -9 * kPi);
}

TEST_CASE("Acrobot: termination when the tip is above the line", "[envs][acrobot]") {
  pl::Acrobot env;
  env.reset(uint64_t{0}, std::vector<float>(6).data());
  // Both links up (theta1 = pi): height -cos(pi) - cos(pi) = 2 > 1, and it stays near there.
  Transition up = step_from(env, {kPi, 0, 0, 0}, 1.0f);
  REQUIRE(up.result.terminated);
  REQUIRE(up.result.reward == 0.0);
  // theta1 = 2.5, theta2 = 0: height -2 cos(2.5) = 1.60 > 1.
  REQUIRE(step_from(env, {2.5, 0, 0, 0}, 1.0f).result.terminated);
  // Link 1 up, link 2 folded horizontal: height 1 - cos(pi + pi/2) = 1 + 0 = 1, not above the line;
  // the elbow then falls further, so the step does not terminate.
  REQUIRE_FALSE(step_from(env, {kPi, kPi / 2, 0, 0}, 1.0f).result.terminated);
  // theta1 = 1.8: height -2 cos(1.8) = 0.45.
  REQUIRE_FALSE(step_from(env, {1.8, 0, 0, 0}, 1.0f).result.terminated);
}

TEST_CASE("Acrobot: truncation at 500, termination wins on the last step", "[envs][acrobot]") {
  pl::Acrobot env;
  check_time_limit(env, {0, 0, 0, 0}, 1.0f, {kPi, 0, 0, 0}, 1.0f, 500);
  // Without set_state: hanging with zero torque never reaches the goal, so the episode is cut at 500.
  std::vector<float> obs(6);
  env.reset(uint64_t{3}, obs.data());
  float coast = 1.0f;
  int steps = 0;
  pl::StepResult r;
  do {
    r = env.step(&coast, obs.data());
    ++steps;
  } while (!r.terminated && !r.truncated);
  REQUIRE(steps == 500);
  REQUIRE(r.truncated);
}

TEST_CASE("Acrobot: reset is U(-0.1, 0.1)^4 stored as float32", "[envs][acrobot]") {
  pl::Acrobot env;
  std::array<double, 4> lo, hi;
  lo.fill(1.0);
  hi.fill(-1.0);
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    const std::vector<float> obs = reset_obs(env, seed);
    const std::vector<double> s = current_state(env);
    for (int i = 0; i < 4; ++i) {
      REQUIRE(s[i] >= -0.1);
      REQUIRE(s[i] <= 0.1);
      REQUIRE(s[i] == static_cast<double>(static_cast<float>(s[i])));  // Gymnasium's astype(float32)
      lo[i] = std::min(lo[i], s[i]);
      hi[i] = std::max(hi[i], s[i]);
    }
    REQUIRE(obs[0] == close_float(std::cos(s[0])));
    REQUIRE(obs[1] == close_float(std::sin(s[0])));
    REQUIRE(obs[4] == static_cast<float>(s[2]));
  }
  for (int i = 0; i < 4; ++i) {
    REQUIRE(lo[i] < -0.099);
    REQUIRE(hi[i] > 0.099);
  }
  check_reset_determinism("Acrobot-v1");
}

TEST_CASE("Acrobot: render state", "[envs][acrobot]") {
  pl::Acrobot env;
  env.set_state(std::vector<double>{0.5, -1.0, 2.0, 3.0}.data());
  std::vector<float> r(static_cast<size_t>(env.render_size()));
  env.render_state(r.data());
  REQUIRE(env.render_names() == std::vector<std::string>{"theta1", "theta2"});
  REQUIRE(r == std::vector<float>{0.5f, -1.0f});
}

// =============================================================================================
// MountainCar-v0

TEST_CASE("MountainCar: hand-computed step", "[envs][mountaincar]") {
  pl::MountainCar env;
  env.reset(uint64_t{0}, std::vector<float>(2).data());
  // From (-0.5, 0) accelerating right (action 2):
  //   v' = 0 + (2-1)*0.001 - 0.0025*cos(-1.5) = 0.001 - 0.0025*0.0707372016677029
  //      = 0.001 - 0.000176843004169 = 0.000823156995831
  //   x' = -0.5 + 0.000823156995831 = -0.499176843004169
  Transition t = step_from(env, {-0.5, 0.0}, 2.0f);
  REQUIRE(t.state[1] == close(0.000823156995831));
  REQUIRE(t.state[0] == close(-0.499176843004169));
  REQUIRE(t.obs[0] == close_float(-0.499176843004169));
  REQUIRE(t.result.reward == -1.0);
  REQUIRE_FALSE(t.result.terminated);
  // Coasting (action 1) only feels the slope: v' = -0.000176843004169.
  t = step_from(env, {-0.5, 0.0}, 1.0f);
  REQUIRE(t.state[1] == close(-0.000176843004169));
}

TEST_CASE("MountainCar: transitions match the reference", "[envs][mountaincar]") {
  pl::MountainCar env;
  env.reset(uint64_t{0}, std::vector<float>(2).data());
  pl::Rng rng(5);
  for (int trial = 0; trial < 500; ++trial) {
    const std::array<double, 2> s = {rng.uniform(-1.2, 0.6), rng.uniform(-0.07, 0.07)};
    const int action = static_cast<int>(rng.below(3));
    const auto expected = mountain_car_reference(s, action);
    const Transition t = step_from(env, {s[0], s[1]}, static_cast<float>(action));
    REQUIRE(t.state[0] == close(expected[0]));
    REQUIRE(t.state[1] == Approx(expected[1]).epsilon(1e-12).margin(1e-15));
    REQUIRE(t.obs[1] == close_float(expected[1]));
    REQUIRE(t.result.terminated == (expected[0] >= 0.5 && expected[1] >= 0));
    REQUIRE(t.result.reward == -1.0);
  }
}

TEST_CASE("MountainCar: speed limit, inelastic wall and goal", "[envs][mountaincar]") {
  pl::MountainCar env;
  env.reset(uint64_t{0}, std::vector<float>(2).data());
  // At x = -pi/6 the slope term cos(3x) = cos(-pi/2) ~ 0, so v' = 0.0695 + 0.001 = 0.0705 -> 0.07.
  Transition t = step_from(env, {-kPi / 6, 0.0695}, 2.0f);
  REQUIRE(t.state[1] == 0.07);
  REQUIRE(t.state[0] == close(-kPi / 6 + 0.07));
  // Near the left wall moving left: v' = -0.05 - 0.001 - 0.0025*cos(-3.57) = -0.0487; x' = -1.2387,
  // clipped to -1.2, and the wall stops the car.
  t = step_from(env, {-1.19, -0.05}, 0.0f);
  REQUIRE(t.state[0] == -1.2);
  REQUIRE(t.state[1] == 0.0);
  // Goal: from (0.49, 0.02) coasting, v' = 0.02 - 0.0025*cos(1.47) = 0.01975, x' = 0.50975 >= 0.5.
  t = step_from(env, {0.49, 0.02}, 1.0f);
  REQUIRE(t.state[0] >= 0.5);
  REQUIRE(t.result.terminated);
  REQUIRE(t.result.reward == -1.0);
  // Past the goal line but moving left is not the goal: v' = -0.001 - 0.0025*cos(1.65) = -0.0008,
  // x' = 0.5492.
  t = step_from(env, {0.55, -0.001}, 1.0f);
  REQUIRE(t.state[0] > 0.5);
  REQUIRE(t.state[1] < 0);
  REQUIRE_FALSE(t.result.terminated);
}

TEST_CASE("MountainCar: truncation at 200, termination wins on the last step", "[envs][mountaincar]") {
  pl::MountainCar env;
  check_time_limit(env, {-0.5, 0.0}, 1.0f, {0.49, 0.02}, 1.0f, 200);
  // Coasting from the valley never reaches the flag: the episode is cut at exactly 200 steps.
  std::vector<float> obs(2);
  env.reset(uint64_t{9}, obs.data());
  float coast = 1.0f;
  int steps = 0;
  double total = 0.0;
  pl::StepResult r;
  do {
    r = env.step(&coast, obs.data());
    total += r.reward;
    ++steps;
  } while (!r.terminated && !r.truncated);
  REQUIRE(steps == 200);
  REQUIRE(r.truncated);
  REQUIRE(total == -200.0);
}

// Both mountain cars: position U(-0.6, -0.4) spread over the whole range, velocity 0, observation =
// state as float32, same seed -> same reset.
static void check_mountain_car_reset(pl::Env& env) {
  double lo = 0, hi = -1;
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    const std::vector<float> obs = reset_obs(env, seed);
    const std::vector<double> s = current_state(env);
    REQUIRE(s[0] >= -0.6);
    REQUIRE(s[0] < -0.4);
    REQUIRE(s[1] == 0.0);
    REQUIRE(obs[0] == static_cast<float>(s[0]));
    REQUIRE(obs[1] == 0.0f);
    lo = std::min(lo, s[0]);
    hi = std::max(hi, s[0]);
  }
  REQUIRE(lo < -0.599);
  REQUIRE(hi > -0.401);
  check_reset_determinism(env.id());
}

TEST_CASE("MountainCar: reset position U(-0.6, -0.4), velocity 0", "[envs][mountaincar]") {
  pl::MountainCar env;
  check_mountain_car_reset(env);
}

TEST_CASE("MountainCar: render state", "[envs][mountaincar]") {
  pl::MountainCar env;
  env.set_state(std::vector<double>{-0.3, 0.01}.data());
  std::vector<float> r(static_cast<size_t>(env.render_size()));
  env.render_state(r.data());
  REQUIRE(env.render_names() == std::vector<std::string>{"position", "velocity", "goal_position"});
  REQUIRE(r == std::vector<float>{-0.3f, 0.01f, 0.5f});
}

// =============================================================================================
// Pendulum-v1

TEST_CASE("Pendulum: hand-computed step", "[envs][pendulum]") {
  pl::Pendulum env;
  env.reset(uint64_t{0}, std::vector<float>(3).data());
  // theta = pi/2 (horizontal), theta_dot = 0, u = 1:
  //   reward = -((pi/2)^2 + 0.1*0 + 0.001*1) = -(2.4674011002723395 + 0.001) = -2.4684011002723395
  //   theta_dot' = 0 + (3*10/2 * sin(pi/2) + 3/1 * 1) * 0.05 = (15 + 3) * 0.05 = 0.9
  //   theta'     = pi/2 + 0.9 * 0.05 = pi/2 + 0.045
  //   obs = (cos(pi/2 + 0.045), sin(pi/2 + 0.045), 0.9) = (-sin 0.045, cos 0.045, 0.9)
  //       = (-0.0449848140376601, 0.9989876708478425, 0.9)
  Transition t = step_from(env, {kPi / 2, 0.0}, 1.0f);
  REQUIRE(t.result.reward == close(-2.4684011002723395));
  REQUIRE(t.state[1] == close(0.9));
  REQUIRE(t.state[0] == close(kPi / 2 + 0.045));
  REQUIRE(t.obs[0] == close_float(-0.0449848140376601));
  REQUIRE(t.obs[1] == close_float(0.9989876708478425));
  REQUIRE(t.obs[2] == 0.9f);
  REQUIRE_FALSE(t.result.terminated);

  // Torque 5 is clipped to 2 and the speed limit applies: theta = pi/2, theta_dot = 7.9:
  //   reward = -((pi/2)^2 + 0.1*62.41 + 0.001*4) = -(2.4674011002723395 + 6.241 + 0.004) = -8.7124011002723395
  //   theta_dot' = 7.9 + (15 + 6) * 0.05 = 8.95 -> clipped to 8;  theta' = pi/2 + 0.4
  t = step_from(env, {kPi / 2, 7.9}, 5.0f);
  REQUIRE(t.result.reward == close(-8.7124011002723395));
  REQUIRE(t.state[1] == 8.0);
  REQUIRE(t.state[0] == close(kPi / 2 + 0.4));
  std::vector<float> r(2);
  env.render_state(r.data());
  REQUIRE(r[1] == 2.0f);  // the clipped torque is what was applied

  // The cost normalises the angle: theta = 2 pi - 0.5 costs like -0.5, theta = -4 like 2 pi - 4.
  REQUIRE(step_from(env, {2 * kPi - 0.5, 0.0}, 0.0f).result.reward == close(-0.25));
  REQUIRE(step_from(env, {-4.0, 0.0}, 0.0f).result.reward == close(-(2 * kPi - 4) * (2 * kPi - 4)));
  REQUIRE(step_from(env, {0.0, 0.0}, 0.0f).result.reward == 0.0);
}

TEST_CASE("Pendulum: transitions match the reference", "[envs][pendulum]") {
  pl::Pendulum env;
  env.reset(uint64_t{0}, std::vector<float>(3).data());
  pl::Rng rng(3);
  for (int trial = 0; trial < 500; ++trial) {
    const double theta = rng.uniform(-10, 10), theta_dot = rng.uniform(-8, 8);
    const float action = static_cast<float>(rng.uniform(-3, 3));
    const PendulumStep expected = pendulum_reference(theta, theta_dot, action);
    const Transition t = step_from(env, {theta, theta_dot}, action);
    REQUIRE(t.state[0] == close(expected.theta));
    REQUIRE(t.state[1] == close(expected.theta_dot));
    REQUIRE(t.result.reward == Approx(expected.reward).epsilon(1e-10).margin(1e-12));
    REQUIRE(t.obs[0] == close_float(std::cos(expected.theta)));
    REQUIRE(t.obs[1] == close_float(std::sin(expected.theta)));
    REQUIRE(t.obs[2] == close_float(expected.theta_dot));
    REQUIRE_FALSE(t.result.terminated);
  }
  // Gymnasium's normalisation agrees with atan2 away from the +-pi seam.
  for (double x : {-7.0, -3.0, -0.1, 0.0, 0.1, 3.0, 7.0, 100.0}) {
    REQUIRE(pl::pendulum_angle_normalize(x) == Approx(std::atan2(std::sin(x), std::cos(x))).margin(1e-12));
  }
  REQUIRE(pl::pendulum_angle_normalize(kPi) == Approx(-kPi));  // [-pi, pi): pi maps to -pi
}

TEST_CASE("Pendulum: truncation at 200, never terminates", "[envs][pendulum]") {
  pl::Pendulum env;
  check_time_limit(env, {0.0, 0.0}, 0.0f, {}, 0.0f, 200);
  std::vector<float> obs(3);
  env.reset(uint64_t{4}, obs.data());
  pl::Rng rng(4);
  for (int t = 1; t <= 200; ++t) {
    const float u = static_cast<float>(rng.uniform(-2, 2));
    const pl::StepResult r = env.step(&u, obs.data());
    REQUIRE_FALSE(r.terminated);
    REQUIRE(r.truncated == (t == 200));
    REQUIRE(r.reward <= 0.0);
    REQUIRE(r.reward >= -16.2736044);  // -(pi^2 + 0.1*8^2 + 0.001*2^2)
  }
}

TEST_CASE("Pendulum: reset theta U(-pi, pi), theta_dot U(-1, 1), no torque yet", "[envs][pendulum]") {
  pl::Pendulum env;
  double lo0 = 9, hi0 = -9, lo1 = 9, hi1 = -9;
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    const std::vector<float> obs = reset_obs(env, seed);
    const std::vector<double> s = current_state(env);
    REQUIRE(s[0] >= -kPi);
    REQUIRE(s[0] <= kPi);
    REQUIRE(s[1] >= -1.0);
    REQUIRE(s[1] <= 1.0);
    REQUIRE(obs[0] == close_float(std::cos(s[0])));
    REQUIRE(obs[1] == close_float(std::sin(s[0])));
    REQUIRE(obs[2] == static_cast<float>(s[1]));
    lo0 = std::min(lo0, s[0]);
    hi0 = std::max(hi0, s[0]);
    lo1 = std::min(lo1, s[1]);
    hi1 = std::max(hi1, s[1]);
    std::vector<float> r(2);
    env.render_state(r.data());
    REQUIRE(r[0] == static_cast<float>(s[0]));
    REQUIRE(r[1] == 0.0f);
  }
  REQUIRE(lo0 < -3.1);
  REQUIRE(hi0 > 3.1);
  REQUIRE(lo1 < -0.99);
  REQUIRE(hi1 > 0.99);
  REQUIRE(env.render_names() == std::vector<std::string>{"theta", "last_torque"});
  check_reset_determinism("Pendulum-v1");
}

// =============================================================================================
// MountainCarContinuous-v0

TEST_CASE("MountainCarContinuous: hand-computed step", "[envs][mountaincarcontinuous]") {
  pl::MountainCarContinuous env;
  env.reset(uint64_t{0}, std::vector<float>(2).data());
  // From (-0.5, 0) with a = 0.5:
  //   v' = 0 + 0.5*0.0015 - 0.0025*cos(-1.5) = 0.00075 - 0.000176843004169 = 0.000573156995831
  //   x' = -0.5 + 0.000573156995831 = -0.499426843004169
  //   reward = -0.1 * 0.5^2 = -0.025
  // and the state is stored as float32.
  Transition t = step_from(env, {-0.5, 0.0}, 0.5f);
  REQUIRE(t.state[0] == static_cast<double>(static_cast<float>(-0.499426843004169)));
  REQUIRE(t.state[1] == static_cast<double>(static_cast<float>(0.000573156995831)));
  REQUIRE(t.result.reward == close(-0.025));
  REQUIRE_FALSE(t.result.terminated);

  // a = 3 is clipped to 1 for the dynamics, but the penalty uses the 3 as passed:
  //   v' = 0.0015 - 0.000176843004169 = 0.001323156995831;  reward = -0.1 * 9 = -0.9
  t = step_from(env, {-0.5, 0.0}, 3.0f);
  REQUIRE(t.state[1] == static_cast<double>(static_cast<float>(0.001323156995831)));
  REQUIRE(t.result.reward == close(-0.9));

  // Goal: from (0.44, 0.02) with a = 1: v' = 0.02 + 0.0015 - 0.0025*cos(1.32) = 0.020879,
  // x' = 0.460879 >= 0.45, so reward = 100 - 0.1 * 1 = 99.9.
  t = step_from(env, {0.44, 0.02}, 1.0f);
  REQUIRE(t.result.terminated);
  REQUIRE(t.result.reward == close(99.9));
}

TEST_CASE("MountainCarContinuous: transitions match the reference", "[envs][mountaincarcontinuous]") {
  pl::MountainCarContinuous env;
  env.reset(uint64_t{0}, std::vector<float>(2).data());
  pl::Rng rng(8);
  for (int trial = 0; trial < 500; ++trial) {
    const double position = rng.uniform(-1.2, 0.6), velocity = rng.uniform(-0.07, 0.07);
    const float action = static_cast<float>(rng.uniform(-1.5, 1.5));
    const MountainCarContinuousStep expected = mountain_car_continuous_reference(position, velocity, action);
    const Transition t = step_from(env, {position, velocity}, action);
    REQUIRE(t.state[0] == close_float(expected.position));
    REQUIRE(t.state[1] == Approx(expected.velocity).epsilon(1e-6).margin(1e-9));
    REQUIRE(t.state[0] == static_cast<double>(static_cast<float>(t.state[0])));
    REQUIRE(t.state[1] == static_cast<double>(static_cast<float>(t.state[1])));
    REQUIRE(t.obs[0] == static_cast<float>(t.state[0]));
    REQUIRE(t.result.terminated == expected.terminated);
    REQUIRE(t.result.reward == close(expected.reward));
  }
  // Wall: from (-1.19, -0.05) pushing left, x' = -1.19 - 0.05 - 0.0015 + 0.0023 < -1.2 -> -1.2, v' = 0.
  const Transition wall = step_from(env, {-1.19, -0.05}, -1.0f);
  REQUIRE(wall.state[0] == static_cast<double>(-1.2f));
  REQUIRE(wall.state[1] == 0.0);
}

TEST_CASE("MountainCarContinuous: truncation at 999, termination wins on the last step",
          "[envs][mountaincarcontinuous]") {
  pl::MountainCarContinuous env;
  check_time_limit(env, {-0.5, 0.0}, 0.0f, {0.44, 0.02}, 1.0f, 999);
}

TEST_CASE("MountainCarContinuous: reset and render", "[envs][mountaincarcontinuous]") {
  pl::MountainCarContinuous env;
  check_mountain_car_reset(env);

  env.set_state(std::vector<double>{0.1, -0.02}.data());
  std::vector<float> r(static_cast<size_t>(env.render_size()));
  env.render_state(r.data());
  REQUIRE(env.render_names() == std::vector<std::string>{"position", "velocity", "goal_position"});
  REQUIRE(r == std::vector<float>{0.1f, -0.02f, 0.45f});
}

// =============================================================================================
// VectorEnv

namespace {

struct VectorBuffers {
  std::vector<float> obs, rewards, costs, final_obs, actions;
  std::vector<uint8_t> terminated, truncated;
  explicit VectorBuffers(const pl::VectorEnv& v)
      : obs(static_cast<size_t>(v.num_envs() * v.obs_dim())),
        rewards(static_cast<size_t>(v.num_envs())),
        costs(static_cast<size_t>(v.num_envs())),
        final_obs(static_cast<size_t>(v.num_envs() * v.obs_dim()), -999.0f),
        actions(static_cast<size_t>(v.num_envs() * v.act_dim())),
        terminated(static_cast<size_t>(v.num_envs())),
        truncated(static_cast<size_t>(v.num_envs())) {}
  void step(pl::VectorEnv& v) {
    v.step(actions.data(), obs.data(), rewards.data(), costs.data(), terminated.data(),
           truncated.data(), final_obs.data());
  }
  std::vector<float> obs_row(const pl::VectorEnv& v, int i) const {
    return {obs.begin() + i * v.obs_dim(), obs.begin() + (i + 1) * v.obs_dim()};
  }
  std::vector<float> final_row(const pl::VectorEnv& v, int i) const {
    return {final_obs.begin() + i * v.obs_dim(), final_obs.begin() + (i + 1) * v.obs_dim()};
  }
};

}  // namespace

TEST_CASE("VectorEnv: construction errors and shapes", "[envs][vector]") {
  REQUIRE_THROWS_AS(pl::VectorEnv("CartPole-v1", 0), pl::EnvError);
  REQUIRE_THROWS_WITH(pl::VectorEnv("CartPole-v1", -3), Contains("num_envs") && Contains("-3"));
  REQUIRE_THROWS_AS(pl::VectorEnv("NoSuchEnv-v0", 2), pl::EnvError);
  pl::VectorEnv v("Pendulum-v1", 3);
  REQUIRE(v.num_envs() == 3);
  REQUIRE(v.obs_dim() == 3);
  REQUIRE(v.act_dim() == 1);
  pl::VectorEnv c("Acrobot-v1", 1);
  REQUIRE(c.obs_dim() == 6);
  REQUIRE(c.act_dim() == 1);
}

TEST_CASE("VectorEnv: reset seeds env i with its own stream of the envs purpose", "[envs][vector]") {
  pl::VectorEnv v("CartPole-v1", 3);
  VectorBuffers b(v);
  v.reset(42, b.obs.data());
  for (int i = 0; i < 3; ++i) {
    pl::CartPole single;
    single.rng() = pl::streams::stream(42, pl::streams::kEnvs, static_cast<uint64_t>(i));
    std::vector<float> obs(4);
    single.reset(obs.data());
    REQUIRE(b.obs_row(v, i) == obs);
  }
  REQUIRE(b.obs_row(v, 0) != b.obs_row(v, 1));
}

TEST_CASE("VectorEnv: same-step autoreset writes final_obs and a fresh obs", "[envs][vector]") {
  const uint64_t seed = 17;
  pl::VectorEnv v("CartPole-v1", 2);
  VectorBuffers b(v);
  v.reset(seed, b.obs.data());
  const std::vector<float> env1_start = b.obs_row(v, 1);

  // Put env 0 one step from falling over; env 1 stays where its reset put it.
  const std::vector<double> falling = {0, 0, 0.2094, 0.1};
  v.env(0).set_state(falling.data());
  b.actions = {1.0f, 1.0f};
  b.step(v);

  // The episode's true last observation, computed on a separate env.
  pl::CartPole reference;
  const Transition last = step_from(reference, falling, 1.0f);
  REQUIRE(b.terminated[0] == 1);
  REQUIRE(b.truncated[0] == 0);
  REQUIRE(b.rewards[0] == 1.0f);
  REQUIRE(b.final_row(v, 0) == last.obs);

  // obs row 0 is the first observation of the next episode, drawn from env 0's own generator
  // after its first reset.
  pl::CartPole replay;
  replay.rng() = pl::streams::stream(seed, pl::streams::kEnvs, 0);
  std::vector<float> first(4), second(4);
  replay.reset(first.data());
  replay.reset(second.data());
  REQUIRE(b.obs_row(v, 0) == second);
  REQUIRE(b.obs_row(v, 0) != last.obs);
  REQUIRE(v.env(0).elapsed_steps() == 0);

  // Env 1 went on normally and its final_obs row was not needed.
  REQUIRE(b.terminated[1] == 0);
  REQUIRE(b.truncated[1] == 0);
  REQUIRE(v.env(1).elapsed_steps() == 1);
  REQUIRE(b.obs_row(v, 1) != env1_start);

  REQUIRE(v.finished().size() == 1);
  REQUIRE(v.finished()[0].env_index == 0);
  REQUIRE(v.finished()[0].length == 1);
  REQUIRE(v.finished()[0].ret == 1.0);
  REQUIRE(v.finished()[0].cost == 0.0);

  // The next step finishes nothing, so the list is cleared.
  b.step(v);
  REQUIRE(v.finished().empty());
}

TEST_CASE("VectorEnv: episode statistics match single-env rollouts", "[envs][vector]") {
  // CartPole always pushed right falls after some steps; each env's episode lengths and returns
  // must equal those of a single env replaying the same seed and actions.
  const uint64_t seed = 5;
  const int n = 3;
  pl::VectorEnv v("CartPole-v1", n);
  VectorBuffers b(v);
  v.reset(seed, b.obs.data());
  std::fill(b.actions.begin(), b.actions.end(), 1.0f);

  std::vector<std::vector<int>> vector_lengths(n);
  std::vector<std::vector<double>> vector_returns(n);
  const int steps = 300;
  for (int t = 0; t < steps; ++t) {
    b.step(v);
    int ended = 0;
    for (int i = 0; i < n; ++i) ended += b.terminated[i] | b.truncated[i];
    REQUIRE(static_cast<int>(v.finished().size()) == ended);
    for (const pl::EpisodeStat& stat : v.finished()) {
      vector_lengths[stat.env_index].push_back(stat.length);
      vector_returns[stat.env_index].push_back(stat.ret);
    }
  }

  for (int i = 0; i < n; ++i) {
    pl::CartPole single;
    single.rng() = pl::streams::stream(seed, pl::streams::kEnvs, static_cast<uint64_t>(i));
    std::vector<float> obs(4);
    single.reset(obs.data());
    std::vector<int> lengths;
    std::vector<double> returns;
    int length = 0;
    double ret = 0.0;
    float right = 1.0f;
    for (int t = 0; t < steps; ++t) {
      const pl::StepResult r = single.step(&right, obs.data());
      ret += r.reward;
      ++length;
      if (r.terminated || r.truncated) {
        lengths.push_back(length);
        returns.push_back(ret);
        length = 0;
        ret = 0.0;
        single.reset(obs.data());
      }
    }
    REQUIRE(lengths.size() > 5);  // pushing one way fails quickly: many episodes
    REQUIRE(vector_lengths[i] == lengths);
    REQUIRE(vector_returns[i] == returns);
    for (size_t k = 0; k < lengths.size(); ++k) REQUIRE(returns[k] == static_cast<double>(lengths[k]));
  }
}

TEST_CASE("VectorEnv: truncation statistics and final_obs on MountainCar", "[envs][vector]") {
  pl::VectorEnv v("MountainCar-v0", 3);
  VectorBuffers b(v);
  v.reset(99, b.obs.data());
  std::fill(b.actions.begin(), b.actions.end(), 1.0f);  // coast: never reaches the flag
  std::vector<double> last_state(2);
  for (int t = 1; t <= 200; ++t) {
    if (t == 200) v.env(2).get_state(last_state.data());
    b.step(v);
    for (int i = 0; i < 3; ++i) {
      REQUIRE(b.terminated[i] == 0);
      REQUIRE(b.truncated[i] == (t == 200 ? 1 : 0));
      REQUIRE(b.rewards[i] == -1.0f);
    }
    if (t < 200) REQUIRE(v.finished().empty());
  }
  REQUIRE(v.finished().size() == 3);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(v.finished()[i].env_index == i);
    REQUIRE(v.finished()[i].length == 200);
    REQUIRE(v.finished()[i].ret == -200.0);
    // Fresh episode in obs: velocity 0, position in the reset interval.
    REQUIRE(b.obs_row(v, i)[1] == 0.0f);
    REQUIRE(b.obs_row(v, i)[0] >= -0.6f);
    REQUIRE(b.obs_row(v, i)[0] <= -0.4f);
  }
  // final_obs of env 2 is its 200th state: one coasting step from the state before it.
  pl::MountainCar reference;
  const Transition expected = step_from(reference, last_state, 1.0f);
  REQUIRE(b.final_row(v, 2) == expected.obs);
}

TEST_CASE("VectorEnv: Box actions are clipped before the env sees them", "[envs][vector]") {
  // MountainCarContinuous charges 0.1 a^2 on the action it receives: an unclipped 3 would cost
  // 0.9, the clipped 1 costs 0.1 (and -2 -> -1 likewise).
  pl::VectorEnv v("MountainCarContinuous-v0", 3);
  VectorBuffers b(v);
  v.reset(1, b.obs.data());
  std::vector<double> start(2);
  v.env(0).get_state(start.data());
  b.actions = {3.0f, -2.0f, 0.5f};
  b.step(v);
  REQUIRE(b.rewards[0] == Approx(-0.1));
  REQUIRE(b.rewards[1] == Approx(-0.1));
  REQUIRE(b.rewards[2] == Approx(-0.025));  // inside the bounds: untouched
  // The dynamics saw force 1.
  pl::MountainCarContinuous reference;
  REQUIRE(b.obs_row(v, 0) == step_from(reference, start, 1.0f).obs);
  // The caller's action buffer is left alone: the learner keeps its unclipped sample.
  REQUIRE(b.actions[0] == 3.0f);

  // Pendulum: the applied torque is within +-2.
  pl::VectorEnv p("Pendulum-v1", 2);
  VectorBuffers pb(p);
  p.reset(2, pb.obs.data());
  pb.actions = {10.0f, -0.5f};
  pb.step(p);
  std::vector<float> r(2);
  p.env(0).render_state(r.data());
  REQUIRE(r[1] == 2.0f);
  p.env(1).render_state(r.data());
  REQUIRE(r[1] == -0.5f);

  // A non-finite action still reaches the env's validation.
  pb.actions = {std::numeric_limits<float>::quiet_NaN(), 0.0f};
  REQUIRE_THROWS_AS(pb.step(p), pl::EnvError);
}

TEST_CASE("VectorEnv: same seed and actions give identical runs", "[envs][vector]") {
  for (const std::string& id : pl::env_ids()) {
    INFO(id);
    pl::VectorEnv a(id, 4), b(id, 4), c(id, 4);
    VectorBuffers ba(a), bb(b), bc(c);
    a.reset(2024, ba.obs.data());
    b.reset(2024, bb.obs.data());
    c.reset(2025, bc.obs.data());
    REQUIRE(ba.obs == bb.obs);
    REQUIRE(ba.obs != bc.obs);
    pl::Rng actions(77);
    const bool discrete = a.action_space().is_discrete();
    const int n_actions = a.action_space().n;
    int episodes = 0;
    const pl::EpisodeStat* finished_data = a.finished().data();
    for (int t = 0; t < 1200; ++t) {
      for (float& act : ba.actions) {
        act = discrete ? static_cast<float>(actions.below(static_cast<uint32_t>(n_actions)))
                       : static_cast<float>(actions.uniform(-2.5, 2.5));
      }
      bb.actions = ba.actions;
      ba.step(a);
      bb.step(b);
      REQUIRE(ba.obs == bb.obs);
      REQUIRE(ba.rewards == bb.rewards);
      REQUIRE(ba.terminated == bb.terminated);
      REQUIRE(ba.truncated == bb.truncated);
      episodes += static_cast<int>(a.finished().size());
      // The statistics buffer is never reallocated (no allocation in step()).
      REQUIRE(a.finished().data() == finished_data);
    }
    REQUIRE(episodes > 0);  // every env finishes episodes within 1200 steps (limits <= 999)
  }
}

TEST_CASE("VectorEnv: paused envs are not stepped", "[envs][vector]") {
  pl::VectorEnv v("CartPole-v1", 2);
  std::vector<float> obs(8), final_obs(8), rewards(2), costs(2);
  std::vector<uint8_t> term(2), trunc(2);
  v.reset(3, obs.data());
  const std::vector<float> paused_row(obs.begin() + 4, obs.end());
  const float actions[2] = {1.0f, 1.0f};
  const uint8_t active[2] = {1, 0};
  v.step(actions, obs.data(), rewards.data(), costs.data(), term.data(), trunc.data(), final_obs.data(), active);
  CHECK(v.env(0).elapsed_steps() == 1);
  CHECK(v.env(1).elapsed_steps() == 0);
  CHECK(rewards[0] == 1.0f);
  CHECK(rewards[1] == 0.0f);
  CHECK(std::vector<float>(obs.begin() + 4, obs.end()) == paused_row);
}
