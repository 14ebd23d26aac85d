// Optimizers, clipping, annealing and GAE against hand-computed values.
#include <catch2/catch.hpp>
#include <cmath>

#include "core/algos/rollout.hpp"
#include "core/optim/optim.hpp"

using namespace pl;

TEST_CASE("Adam matches the PyTorch update rule step by step", "[optim]") {
  VectorXf p(2), g(2);
  p << 1.0f, -2.0f;
  Optimizer adam(Optimizer::Kind::Adam, 2, 1e-8);
  // Step 1, g = (0.5, -1): m = 0.1 g, v = 0.001 g^2; m_hat = g, v_hat = g^2 -> p -= lr * g / (|g| + eps)
  g << 0.5f, -1.0f;
  adam.step(p, g, 0.1);
  CHECK(p[0] == Approx(1.0 - 0.1).epsilon(1e-6));
  CHECK(p[1] == Approx(-2.0 + 0.1).epsilon(1e-6));
  // Step 2, g = (1, 1): m = 0.9*0.05 + 0.1*1 = 0.145 (dim 0); v = 0.999*0.00025 + 0.001 = 0.00124975
  // step = lr / (1 - 0.81) * m / (sqrt(v) / sqrt(1 - 0.998001) + eps)
  g << 1.0f, 1.0f;
  adam.step(p, g, 0.1);
  const double m0 = 0.145, v0 = 0.00124975;
  const double step0 = 0.1 / (1 - 0.81) * m0 / (std::sqrt(v0) / std::sqrt(1 - 0.998001) + 1e-8);
  CHECK(p[0] == Approx(0.9 - step0).epsilon(1e-5));
  const double m1 = 0.9 * -0.1 + 0.1 * 1, v1 = 0.999 * 0.001 + 0.001;
  const double step1 = 0.1 / (1 - 0.81) * m1 / (std::sqrt(v1) / std::sqrt(1 - 0.998001) + 1e-8);
  CHECK(p[1] == Approx(-1.9 - step1).epsilon(1e-5));
}

TEST_CASE("SGD steps against the gradient", "[optim]") {
  VectorXf p(1), g(1);
  p << 1.0f;
  g << 2.0f;
  Optimizer sgd(Optimizer::Kind::Sgd, 1, 1e-8);
  sgd.step(p, g, 0.25);
  CHECK(p[0] == Approx(0.5));
  CHECK_THROWS(Optimizer::parse("adagrad"));
}

TEST_CASE("Global-norm clipping scales only when the norm exceeds the limit", "[optim]") {
  VectorXf g(2);
  g << 3.0f, 4.0f;  // norm 5
  double norm = clip_grad_norm(g, 1.0);
  CHECK(norm == Approx(5.0));
  CHECK(g.norm() == Approx(1.0).epsilon(1e-5));  // 5 * 1 / (5 + 1e-6)
  CHECK(g[0] / g[1] == Approx(0.75));
  VectorXf h(2);
  h << 0.3f, 0.4f;
  clip_grad_norm(h, 1.0);
  CHECK(h[0] == 0.3f);
  CHECK(h[1] == 0.4f);
  clip_grad_norm(g, 0.0);  // disabled
  CHECK(g.norm() == Approx(1.0).epsilon(1e-5));
}

TEST_CASE("Linear annealing follows CleanRL's schedule", "[optim]") {
  CHECK(annealed_lr(1.0, 1, 4) == Approx(1.0));
  CHECK(annealed_lr(1.0, 2, 4) == Approx(0.75));
  CHECK(annealed_lr(1.0, 4, 4) == Approx(0.25));
}

TEST_CASE("GAE handles termination, truncation and continuation", "[gae]") {
  // One env, T = 5, gamma = 0.9, lambda = 0.8.
  //   t=0: r=1, V=0.5, continues           next_value = V(s1) = 0.4
  //   t=1: r=0, V=0.4, TRUNCATED            next_value = V(final obs) = 2.0 (bootstrapped, chain cut)
  //   t=2: r=1, V=1.0, continues            next_value = V(s3) = 0.2
  //   t=3: r=2, V=0.2, TERMINATED           no bootstrap
  //   t=4: r=1, V=0.3, continues            next_value = V(s5) = 0.6 (rollout end)
  xt::xtensor<float, 2> r = {{1}, {0}, {1}, {2}, {1}};
  xt::xtensor<float, 2> v = {{0.5f}, {0.4f}, {1.0f}, {0.2f}, {0.3f}};
  xt::xtensor<float, 2> nv = {{0.4f}, {2.0f}, {0.2f}, {123.0f}, {0.6f}};  // 123: must be ignored
  xt::xtensor<uint8_t, 2> term = {{0}, {0}, {0}, {1}, {0}};
  xt::xtensor<uint8_t, 2> trunc = {{0}, {1}, {0}, {0}, {0}};
  xt::xtensor<float, 2> adv = xt::zeros<float>({5, 1}), ret = xt::zeros<float>({5, 1});
  compute_gae(r, v, nv, term, trunc, 0.9, 0.8, adv, ret);
  // t=4: delta = 1 + 0.9*0.6 - 0.3 = 1.24 ; A4 = 1.24
  // t=3: delta = 2 - 0.2 = 1.8 (terminal) ; A3 = 1.8 (done: no continuation)
  // t=2: delta = 1 + 0.9*0.2 - 1.0 = 0.18 ; A2 = 0.18 + 0.72*1.8 = 1.476
  // t=1: delta = 0 + 0.9*2.0 - 0.4 = 1.4 (truncated: bootstrap final obs) ; A1 = 1.4 (chain cut)
  // t=0: delta = 1 + 0.9*0.4 - 0.5 = 0.86 ; A0 = 0.86 + 0.72*1.4 = 1.868
  CHECK(adv(4, 0) == Approx(1.24));
  CHECK(adv(3, 0) == Approx(1.8));
  CHECK(adv(2, 0) == Approx(1.476));
  CHECK(adv(1, 0) == Approx(1.4));
  CHECK(adv(0, 0) == Approx(1.868));
  for (int t = 0; t < 5; ++t) CHECK(ret(t, 0) == Approx(adv(t, 0) + v(t, 0)));
}

TEST_CASE("GAE with lambda = 1 and zero values gives discounted returns", "[gae]") {
  xt::xtensor<float, 2> r = {{1, 2}, {1, 2}, {1, 2}};
  xt::xtensor<float, 2> zero = xt::zeros<float>({3, 2});
  xt::xtensor<uint8_t, 2> term = {{0, 0}, {0, 1}, {1, 0}}, trunc = xt::zeros<uint8_t>({3, 2});
  xt::xtensor<float, 2> adv = zero, ret = zero;
  compute_gae(r, zero, zero, term, trunc, 0.5, 1.0, adv, ret);
  CHECK(adv(0, 0) == Approx(1 + 0.5 + 0.25));  // env 0: 1 + .5 * (1 + .5 * 1)
  CHECK(adv(0, 1) == Approx(2 + 0.5 * 2));     // env 1 terminates at t=1
  CHECK(adv(2, 1) == Approx(2));               // a new episode starts at t=2
}

TEST_CASE("Running mean/std merges batches like a single pass", "[normalize]") {
  RunningMeanStd rms(1);
  const float a[3] = {1, 2, 3}, b[2] = {10, 20};
  rms.update(a, 3);
  rms.update(b, 2);
  // With the 1e-4 prior count at mean 0, var 1: values ~ those of {1,2,3,10,20}.
  CHECK(rms.mean[0] == Approx(7.2).epsilon(1e-3));
  CHECK(rms.var[0] == Approx(50.96).epsilon(1e-3));  // population variance of the five values
}

TEST_CASE("Normalisers clip unless the clip is 0, and masked rows do not update statistics", "[normalize]") {
  Normalizers n;
  n.norm_obs = true;
  n.setup(1, 2);
  n.obs_rms.var[0] = 1e-6;  // tiny variance: normalised values are huge
  float obs[2] = {1.0f, -1.0f};
  n.apply_observation(obs, 2);
  CHECK(obs[0] == Approx(10.0));
  CHECK(obs[1] == Approx(-10.0));
  n.clip_obs = 0;  // disables clipping
  float raw[2] = {1.0f, -1.0f};
  n.apply_observation(raw, 2);
  CHECK(raw[0] > 900.0f);
  const uint8_t mask[2] = {1, 0};
  const double count = n.obs_rms.count;
  float batch[2] = {5.0f, 1000.0f};
  n.observation(batch, 2, true, mask);
  CHECK(n.obs_rms.count == Approx(count + 1));
  CHECK(n.obs_rms.mean[0] == Approx(5.0).epsilon(1e-3));  // the masked 1000 did not enter the mean
}
