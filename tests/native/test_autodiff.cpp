// Loss expressions: every operation's gradient against finite differences, broadcasting, the PPO
// loss against hand-computed values.
#include <catch2/catch.hpp>
#include <functional>
#include <vector>

#include "core/algos/losses.hpp"
#include "core/autodiff/expr.hpp"
#include "core/util/rng.hpp"
#include "gradcheck.hpp"

using namespace pl;
using pl_test::central_difference;
using pl_test::check_close;

namespace {

// Builds f(x, y) over columns x, y (and scalar parameter s) with `make`, then checks d mean-like
// scalar output / d x and d y against finite differences.
void check_expression(const std::string& name, const std::function<Expr(Graph&, Expr, Expr, Expr)>& make,
                      std::vector<float> x, std::vector<float> y) {
  const int n = static_cast<int>(x.size());
  Graph g(n + 2);
  Expr ex = g.input("x"), ey = g.input("y");
  Expr s = g.param("s", 0.7f);
  Expr out = make(g, ex, ey, s);
  // Weighted sum so each sample's gradient is distinct.
  std::vector<float> w(n);
  for (int i = 0; i < n; ++i) w[i] = 0.3f + 0.25f * i;
  Expr ew = g.input("w");
  Expr loss = g.is_scalar(out) ? out : sum(out * ew);
  g.bind("x", x.data());
  g.bind("y", y.data());
  g.bind("w", w.data());
  g.set_size(n);
  auto f = [&] {
    g.forward();
    return static_cast<double>(g.scalar(loss));
  };
  f();
  g.backward(loss);
  std::vector<float> gx(g.gradient(ex), g.gradient(ex) + n), gy(g.gradient(ey), g.gradient(ey) + n);
  for (int i = 0; i < n; ++i) {
    check_close(gx[i], central_difference(f, &x[i], 1e-3), name + " d/dx[" + std::to_string(i) + "]");
    check_close(gy[i], central_difference(f, &y[i], 1e-3), name + " d/dy[" + std::to_string(i) + "]");
  }
}

const std::vector<float> kX{0.5f, -1.2f, 2.0f, 0.1f, 1.3f};
const std::vector<float> kY{1.5f, 0.4f, -0.7f, 0.9f, 2.2f};
const std::vector<float> kPos{0.5f, 1.2f, 2.0f, 0.3f, 1.7f};

}  // namespace

TEST_CASE("Each expression operation has finite-difference-correct gradients", "[autodiff][gradcheck]") {
  check_expression("add", [](Graph&, Expr x, Expr y, Expr) { return x + y; }, kX, kY);
  check_expression("sub", [](Graph&, Expr x, Expr y, Expr) { return x - y; }, kX, kY);
  check_expression("mul", [](Graph&, Expr x, Expr y, Expr) { return x * y; }, kX, kY);
  check_expression("div", [](Graph&, Expr x, Expr y, Expr) { return x / y; }, kX, kPos);
  check_expression("neg", [](Graph&, Expr x, Expr y, Expr) { return -x * y; }, kX, kY);
  check_expression("exp", [](Graph&, Expr x, Expr y, Expr) { return exp(x) + y; }, kX, kY);
  check_expression("log", [](Graph&, Expr x, Expr y, Expr) { return log(x) * y; }, kPos, kY);
  check_expression("abs", [](Graph&, Expr x, Expr y, Expr) { return abs(x) * y; }, kX, kY);
  check_expression("square", [](Graph&, Expr x, Expr y, Expr) { return square(x - y); }, kX, kY);
  check_expression("sqrt", [](Graph&, Expr x, Expr y, Expr) { return sqrt(x) * y; }, kPos, kY);
  check_expression("min", [](Graph&, Expr x, Expr y, Expr) { return min(x, y); }, kX, kY);
  check_expression("max", [](Graph&, Expr x, Expr y, Expr) { return max(x, y); }, kX, kY);
  check_expression("clamp", [](Graph&, Expr x, Expr y, Expr s) { return clamp(x, -s, s) * y; }, kX, kY);
  check_expression("mean", [](Graph&, Expr x, Expr y, Expr) { return mean(x * y); }, kX, kY);
  check_expression("sum", [](Graph&, Expr x, Expr y, Expr) { return sum(exp(x) * y); }, kX, kY);
  check_expression("scalar broadcast", [](Graph&, Expr x, Expr y, Expr) { return (x - mean(x)) / (mean(y) + 3.0f); },
                   kX, kY);
  check_expression("normalised advantage", [](Graph& g, Expr x, Expr y, Expr) {
    Expr c = x - mean(x);
    return c / (sqrt(sum(square(c)) / (g.count() - 1.0f)) + 1e-8f) * y;
  }, kX, kY);
}

TEST_CASE("Scalar parameters receive summed gradients", "[autodiff]") {
  Graph g(3);
  Expr x = g.input("x");
  Expr s = g.param("s", 2.0f);
  Expr loss = sum(x * s);
  std::vector<float> xs{1, 2, 3};
  g.bind("x", xs.data());
  g.set_size(3);
  g.forward();
  g.backward(loss);
  CHECK(g.scalar(loss) == Approx(12.0));
  CHECK(g.gradient(s)[0] == Approx(6.0));  // d/ds sum(s x) = sum x
  g.set_param("s", 3.0f);
  g.forward();
  CHECK(g.scalar(loss) == Approx(18.0));
  CHECK_THROWS_AS(g.set_param("nope", 1.0f), std::invalid_argument);
}

TEST_CASE("clamp passes the gradient on the closed interval, as torch.clamp", "[autodiff]") {
  Graph g(4);
  Expr x = g.input("x");
  Expr loss = sum(clamp(x, g.constant(-1.0f), g.constant(1.0f)));
  std::vector<float> xs{-2.0f, -1.0f, 1.0f, 0.5f};
  g.bind("x", xs.data());
  g.set_size(4);
  g.forward();
  g.backward(loss);
  CHECK(g.gradient(x)[0] == 0.0f);
  CHECK(g.gradient(x)[1] == 1.0f);
  CHECK(g.gradient(x)[2] == 1.0f);
  CHECK(g.gradient(x)[3] == 1.0f);
}

TEST_CASE("PPO clipped surrogate matches hand-computed values", "[autodiff][ppo]") {
  // Samples: (adv, ratio) = (1, 1.5), (1, 0.5), (-1, 1.5), (-1, 0.5); eps = 0.2.
  // Per sample max(-A r, -A clip(r)):
  //   A=1, r=1.5: max(-1.5, -1.2) = -1.2 (clipped, no gradient)
  //   A=1, r=0.5: max(-0.5, -0.8) = -0.5 (unclipped, d/dr = -1)
  //   A=-1,r=1.5: max(1.5, 1.2) = 1.5   (unclipped, d/dr = 1)
  //   A=-1,r=0.5: max(0.5, 0.8) = 0.8   (clipped, no gradient)
  // mean = (-1.2 - 0.5 + 1.5 + 0.8) / 4 = 0.15
  Graph g(4);
  Expr adv = g.input("adv");
  Expr ratio = exp(losses::log_ratio(g));
  Expr loss = losses::clipped_surrogate(adv, ratio, g.param("clip_coef", 0.2f));
  Expr clipfrac = mean(greater(abs(ratio - 1.0f), g.param("clip_coef", 0.2f)));
  std::vector<float> a{1, 1, -1, -1}, old_logp{0, 0, 0, 0};
  std::vector<float> logp{std::log(1.5f), std::log(0.5f), std::log(1.5f), std::log(0.5f)};
  g.bind("adv", a.data());
  g.bind("logp", logp.data());
  g.bind("old_logp", old_logp.data());
  g.set_size(4);
  g.forward();
  g.backward(loss);
  CHECK(g.scalar(loss) == Approx(0.15).margin(1e-6));
  CHECK(g.scalar(clipfrac) == Approx(1.0));
  // d loss / d logp_i = (1/4) * d/dr * r
  const float* d = g.gradient("logp");
  CHECK(d[0] == Approx(0.0));
  CHECK(d[1] == Approx(0.25 * -1.0 * 0.5));
  CHECK(d[2] == Approx(0.25 * 1.0 * 1.5));
  CHECK(d[3] == Approx(0.0));
}

TEST_CASE("KL estimators k1 and k3 match their definitions", "[autodiff]") {
  Graph g(3);
  Expr lr = losses::log_ratio(g);
  losses::name_kl_estimators(g, lr, exp(lr));
  std::vector<float> logp{-0.1f, -1.0f, -2.0f}, old_logp{-0.3f, -0.9f, -2.5f};
  g.bind("logp", logp.data());
  g.bind("old_logp", old_logp.data());
  g.set_size(3);
  g.forward();
  double k1 = 0, k3 = 0;
  for (int i = 0; i < 3; ++i) {
    double l = logp[i] - old_logp[i];
    k1 += -l / 3;
    k3 += (std::exp(l) - 1 - l) / 3;
  }
  CHECK(g.output("approx_kl_k1") == Approx(k1).margin(1e-6));
  CHECK(g.output("approx_kl_k3") == Approx(k3).margin(1e-6));
}

TEST_CASE("Clipped value loss matches hand-computed values", "[autodiff]") {
  // V=2, V_old=1, R=3, eps=0.2: unclipped (2-3)^2 = 1; clipped V = 1.2 -> (1.2-3)^2 = 3.24; max = 3.24.
  // V=1, V_old=1.1, R=0: unclipped 1; clipped 1.0 (|V - V_old| = 0.1 < eps) -> 1; max = 1.
  Graph g(2);
  Expr vl = losses::clipped_value_mse(g, g.param("clip_coef", 0.2f));
  std::vector<float> v{2, 1}, vo{1, 1.1f}, r{3, 0};
  g.bind("value", v.data());
  g.bind("old_value", vo.data());
  g.bind("ret", r.data());
  g.set_size(2);
  g.forward();
  CHECK(g.scalar(vl) == Approx((3.24 + 1.0) / 2));
}
