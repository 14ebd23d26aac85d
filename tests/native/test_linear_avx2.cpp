// The native AVX2/FMA (or AVX-512) Linear kernels of core/nn/linear_avx2.hpp against a plain double-precision
// reference: shapes on every edge of the 16 x 6 register tile, of the 8-row tail panel and of the
// 512 reduction chunk; operands that are blocks of larger buffers (outer stride > rows, unaligned
// starts); accumulation into dW/db; no writes outside the destination blocks; the same numbers on
// a repeated call. Skipped (one passing check) on targets without AVX2 and FMA.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/nn/linear_avx2.hpp"

#ifdef POLICYLAB_LINEAR_AVX2
namespace {

using Mat = Eigen::MatrixXf;
constexpr float kSentinel = 12345.0f;

struct Shape {
  int out, in, n;
};

// A rows x cols block at (1, 1) of a buffer filled with kSentinel, with `pad` spare rows below it.
struct Embedded {
  Mat buf;
  int rows, cols;
  Embedded(int rows_, int cols_, int pad) : buf(Mat::Constant(rows_ + 1 + pad, cols_ + 2, kSentinel)), rows(rows_), cols(cols_) {}
  auto block() { return buf.block(1, 1, rows, cols); }
  float* data() { return &buf(1, 1); }
  int ld() const { return static_cast<int>(buf.rows()); }
  bool outside_untouched() const {
    for (int j = 0; j < buf.cols(); ++j)
      for (int i = 0; i < buf.rows(); ++i) {
        const bool inside = i >= 1 && i < 1 + rows && j >= 1 && j < 1 + cols;
        if (!inside && buf(i, j) != kSentinel) return false;
      }
    return true;
  }
};

void fill_random(Eigen::Ref<Mat, 0, Eigen::OuterStride<>> m, std::mt19937& gen) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (int j = 0; j < m.cols(); ++j)
    for (int i = 0; i < m.rows(); ++i) m(i, j) = d(gen);
}

// Plain reference: C(i, j) = c0(i, j) + sum_p A(i, p) B(p, j) in double, with the matching sum of
// absolute products as the scale of the rounding error allowed.
struct Reference {
  Eigen::MatrixXd value, scale;
};

template <typename A, typename B>
Reference product(const A& a, const B& b) {
  Reference r{Eigen::MatrixXd::Zero(a.rows(), b.cols()), Eigen::MatrixXd::Zero(a.rows(), b.cols())};
  for (int j = 0; j < b.cols(); ++j)
    for (int i = 0; i < a.rows(); ++i)
      for (int p = 0; p < a.cols(); ++p) {
        const double t = static_cast<double>(a(i, p)) * b(p, j);
        r.value(i, j) += t;
        r.scale(i, j) += std::abs(t);
      }
  return r;
}

template <typename G>
void check_close(const G& got, const Eigen::MatrixXd& want, const Eigen::MatrixXd& scale, const char* what,
                 const Shape& s) {
  int bad = 0;
  for (int j = 0; j < got.cols(); ++j)
    for (int i = 0; i < got.rows(); ++i)
      if (!(std::abs(got(i, j) - want(i, j)) <= 1e-5 * (scale(i, j) + 1.0))) ++bad;  // also NaN
  INFO(what << " out=" << s.out << " in=" << s.in << " n=" << s.n << ": " << bad << " entries off");
  CHECK(bad == 0);
}

std::vector<Shape> shapes() {
  std::vector<Shape> v;
  const int sizes[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 33, 64};
  for (int out : sizes)
    for (int in : sizes)
      for (int n : {1, 4, 5, 6, 7, 13}) v.push_back({out, in, n});
  v.push_back({64, 64, 128});
  v.push_back({2, 64, 128});
  v.push_back({64, 4, 512});
  v.push_back({17, 600, 9});    // forward reduction (in) across two 512 chunks
  v.push_back({9, 5, 1100});    // weight-grad reduction (n) across three chunks
  return v;
}

}  // namespace

TEST_CASE("linear_avx2 forward, weight, bias and input gradients match a plain reference", "[nn][linear_avx2]") {
  std::mt19937 gen(7);
  namespace k = pl::linear_avx2;
  for (const Shape& s : shapes()) {
    Embedded w(s.out, s.in, 3), b(s.out, 1, 2), x(s.in, s.n, 5), dy(s.out, s.n, 1);
    fill_random(w.block(), gen);
    fill_random(b.block(), gen);
    fill_random(x.block(), gen);
    fill_random(dy.block(), gen);

    Embedded y(s.out, s.n, 2);
    k::linear_forward(s.out, s.in, s.n, w.data(), w.ld(), b.data(), x.data(), x.ld(), y.data(), y.ld());
    Reference fwd = product(w.block(), x.block());
    for (int j = 0; j < s.n; ++j) fwd.value.col(j) += b.block().cast<double>();
    check_close(y.block(), fwd.value, fwd.scale + b.block().cast<double>().cwiseAbs().replicate(1, s.n), "forward", s);
    CHECK(y.outside_untouched());

    // Gradients accumulate onto what the buffers held.
    Embedded dw(s.out, s.in, 1), db(s.out, 1, 3), dx(s.in, s.n, 2);
    fill_random(dw.block(), gen);
    fill_random(db.block(), gen);
    const Mat dw0 = dw.block(), db0 = db.block();
    k::linear_weight_grad(s.out, s.in, s.n, dy.data(), dy.ld(), x.data(), x.ld(), dw.data(), dw.ld());
    k::linear_bias_grad(s.out, s.n, dy.data(), dy.ld(), db.data());
    k::linear_input_grad(s.out, s.in, s.n, w.data(), w.ld(), dy.data(), dy.ld(), dx.data(), dx.ld());

    Reference gw = product(dy.block(), x.block().transpose());
    check_close(dw.block(), gw.value + dw0.cast<double>(), gw.scale + dw0.cast<double>().cwiseAbs(), "weight grad", s);
    Eigen::MatrixXd ones = Eigen::MatrixXd::Ones(s.n, 1);
    Reference gb = product(dy.block(), ones);
    check_close(db.block(), gb.value + db0.cast<double>(), gb.scale + db0.cast<double>().cwiseAbs(), "bias grad", s);
    Reference gx = product(w.block().transpose(), dy.block());
    check_close(dx.block(), gx.value, gx.scale, "input grad", s);
    CHECK(dw.outside_untouched());
    CHECK(db.outside_untouched());
    CHECK(dx.outside_untouched());

    // Deterministic: the same call gives the same bits.
    Embedded y2(s.out, s.n, 2);
    k::linear_forward(s.out, s.in, s.n, w.data(), w.ld(), b.data(), x.data(), x.ld(), y2.data(), y2.ld());
    CHECK(Mat(y2.block()) == Mat(y.block()));
  }
}

TEST_CASE("linear_avx2 Eigen front ends take Linear's operands", "[nn][linear_avx2]") {
  std::mt19937 gen(11);
  Mat w(5, 3), b(5, 1), x(3, 20), y = Mat::Zero(5, 20);
  fill_random(w, gen);
  fill_random(b, gen);
  fill_random(x, gen);
  REQUIRE(pl::linear_avx2::forward(w, b, x.leftCols(9), y.leftCols(9)));
  const Mat want = (w * x.leftCols(9)).colwise() + b.col(0);
  CHECK((y.leftCols(9) - want).cwiseAbs().maxCoeff() < 1e-5f);
  CHECK(y.rightCols(11).isZero());
  // A general expression is refused (the caller falls back to Eigen).
  CHECK_FALSE(pl::linear_avx2::forward(w, b, x.leftCols(9) * 2.0f, y.leftCols(9)));

  Mat dw = Mat::Zero(5, 3), db = Mat::Zero(5, 1), dy(5, 9), dx(3, 9);
  fill_random(dy, gen);
  REQUIRE(pl::linear_avx2::backward(w, dw, db, dy, x.leftCols(9), dx, true));
  CHECK((dw - dy * x.leftCols(9).transpose()).cwiseAbs().maxCoeff() < 1e-4f);
  CHECK((db.col(0) - dy.rowwise().sum()).cwiseAbs().maxCoeff() < 1e-4f);
  CHECK((dx - w.transpose() * dy).cwiseAbs().maxCoeff() < 1e-4f);
}
TEST_CASE("linear_avx2 fused epilogues give the bits of the two-step path", "[nn][linear_avx2]") {
  // The forward product with the activation applied in its store must equal the product followed
  // by Eigen's array tanh / max(., 0) bit for bit (the fused path runs Eigen's own packet code); the
  // input gradient with the derivative applied must equal dx then ActivationFn's formula; the
  // narrow-layer weight gradient (computed transposed) must equal the direct product's chain.
  std::mt19937 gen(19);
  namespace k = pl::linear_avx2;
  namespace d = pl::linear_avx2::detail;
  for (const Shape& s : shapes()) {
    Mat w(s.out, s.in), b(s.out, 1), x(s.in, s.n), dy(s.out, s.n), h(s.in, s.n);
    fill_random(w, gen);
    fill_random(b, gen);
    fill_random(x, gen);
    fill_random(dy, gen);
    fill_random(h, gen);
    h = h.array().tanh().matrix();
    x *= 3.0f;  // pre-activations past tanh's clamp (|z| > 7.9) and below its tiny cut-off occur
    INFO("out=" << s.out << " in=" << s.in << " n=" << s.n);
    Mat z(s.out, s.n), y(s.out, s.n);
    k::linear_forward(s.out, s.in, s.n, w.data(), s.out, b.data(), x.data(), s.in, z.data(), s.out);
    if (s.out % k::kActivationRows == 0) {
      k::linear_forward(s.out, s.in, s.n, w.data(), s.out, b.data(), x.data(), s.in, y.data(), s.out, k::Post::Tanh);
      CHECK(y == Mat(z.array().tanh().matrix()));
      k::linear_forward(s.out, s.in, s.n, w.data(), s.out, b.data(), x.data(), s.in, y.data(), s.out, k::Post::Relu);
      CHECK(y == Mat(z.array().max(0.0f).matrix()));
    } else {  // the front end refuses, so the caller takes the two-step path
      CHECK_FALSE(k::forward(w, b, x, y, k::Post::Tanh));
    }
    Mat dx(s.in, s.n), dz(s.in, s.n);
    k::linear_input_grad(s.out, s.in, s.n, w.data(), s.out, dy.data(), s.out, dx.data(), s.in);
    k::linear_input_grad(s.out, s.in, s.n, w.data(), s.out, dy.data(), s.out, dz.data(), s.in, k::Post::TanhGrad,
                         h.data(), s.in);
    CHECK(dz == Mat((dx.array() * (1.0f - h.array().square())).matrix()));
    k::linear_input_grad(s.out, s.in, s.n, w.data(), s.out, dy.data(), s.out, dz.data(), s.in, k::Post::ReluGrad,
                         h.data(), s.in);
    CHECK(dz == Mat((dx.array() * (h.array() > 0.0f).cast<float>()).matrix()));
    Mat dw0(s.out, s.in);
    fill_random(dw0, gen);
    Mat dw1 = dw0, dw2 = dw0;
    k::linear_weight_grad(s.out, s.in, s.n, dy.data(), s.out, x.data(), s.in, dw1.data(), s.out);
    d::gemm<false, true>(s.out, s.in, s.n, dy.data(), s.out, x.data(), s.in, dw2.data(), s.out, true, nullptr);
    CHECK(dw1 == dw2);
  }
}
// Runs f with the AVX-512 kernels switched on or off, then restores the default.
template <typename F>
void with_wide_kernels(bool on, F&& f) {
  const bool before = pl::linear_avx2::wide_kernels();
  pl::linear_avx2::set_wide_kernels(on);
  f();
  pl::linear_avx2::set_wide_kernels(before);
}

bool same_bits(const Mat& a, const Mat& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  return std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<size_t>(a.size())) == 0;
}

TEST_CASE("linear_avx2 on AVX-512 (chosen at run time) gives the bits of the AVX2 kernels", "[nn][linear_avx2][avx512]") {
  // Every product and fused epilogue the front ends use, over the edge shapes (row tails of 1..15
  // rows, which the 16-float kernels pad, and 8-row tails that get the vector epilogue), once with
  // 8-float and once with 16-float vectors: the same bits, so a run's numbers do not depend on
  // whether the CPU has AVX-512.
  namespace k = pl::linear_avx2;
#if defined(__AVX512F__)
  CHECK(k::wide_kernels());
  WARN("this build targets AVX-512 itself: there are no 8-float kernels to compare with");
#else
  if (!pl::linear_avx512::supported()) {
    CHECK_FALSE(k::set_wide_kernels(true));  // refused where the CPU lacks AVX-512F
    WARN("this CPU has no AVX-512F: the bit comparison of the two kernel widths did not run here");
    return;
  }
  REQUIRE(k::set_wide_kernels(true));
  REQUIRE_FALSE(k::set_wide_kernels(false));
  k::set_wide_kernels(true);
  std::mt19937 gen(23);
  std::vector<Shape> v = shapes();
  for (int out : {40, 56, 72, 128, 130}) v.push_back({out, 64, 37});
  // Empty products (their stores alone) and fused epilogues after two reduction chunks.
  for (Shape e : {Shape{16, 0, 4}, Shape{8, 0, 3}, Shape{24, 600, 5}, Shape{600, 24, 5}}) v.push_back(e);
  for (const Shape& s : v) {
    Mat w(s.out, s.in), b(s.out, 1), x(s.in, s.n), dy(s.out, s.n), h(s.in, s.n), dw0(s.out, s.in), dwt0(s.out, s.in);
    for (Mat* m : {&w, &b, &x, &dy, &h, &dw0, &dwt0}) fill_random(*m, gen);
    h = h.array().tanh().matrix();
    x *= 3.0f;
    INFO("out=" << s.out << " in=" << s.in << " n=" << s.n);
    auto run = [&](bool wide) {
      std::vector<Mat> r;
      with_wide_kernels(wide, [&] {
        Mat y(s.out, s.n);
        for (k::Post post : {k::Post::None, k::Post::Tanh, k::Post::Relu}) {
          if (post != k::Post::None && s.out % k::kActivationRows != 0) continue;
          k::linear_forward(s.out, s.in, s.n, w.data(), s.out, b.data(), x.data(), s.in, y.data(), s.out, post);
          r.push_back(y);
        }
        Mat dx(s.in, s.n);
        for (k::Post post : {k::Post::None, k::Post::TanhGrad, k::Post::ReluGrad}) {
          k::linear_input_grad(s.out, s.in, s.n, w.data(), s.out, dy.data(), s.out, dx.data(), s.in, post, h.data(),
                               s.in);
          r.push_back(dx);
        }
        Mat dw = dw0, dwt = dwt0;
        k::linear_weight_grad(s.out, s.in, s.n, dy.data(), s.out, x.data(), s.in, dw.data(), s.out);
        r.push_back(dw);
        k::detail::gemm<false, true, true>(s.in, s.out, s.n, x.data(), s.in, dy.data(), s.out, dwt.data(), s.out, true,
                                           nullptr);
        r.push_back(dwt);
        // The tape's fourth form, A^T B with B row-major (A = w^T stored as in x out, B = x stored as
        // its transpose), accumulating into C.
        const Mat wt = w.transpose(), xt = x.transpose();
        Mat c = dy;
        k::detail::gemm<true, true>(s.out, s.n, s.in, wt.data(), s.in, xt.data(), s.n, c.data(), s.out, true, nullptr);
        r.push_back(c);
      });
      return r;
    };
    const std::vector<Mat> narrow = run(false), wide = run(true);
    REQUIRE(narrow.size() == wide.size());
    for (size_t i = 0; i < narrow.size(); ++i) {
      INFO("product " << i);
      CHECK(same_bits(narrow[i], wide[i]));
    }
  }
  // tanh over a sweep of magnitudes (the tiny cut-off 4e-4, the clamp at 7.9988, infinities, NaN):
  // a 16-row layer of unit weights passes each input through the fused tanh unchanged but for it
  // (-0 arrives as +0: the product chain starts from +0).
  std::vector<float> inputs = {0.0f, 0.0004f, -0.0004f, 0.00039999f, 7.99881172180175781f, 8.0f, 1e30f,
                               std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                               std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::denorm_min()};
  for (double m = 1e-7; m < 30.0; m *= 1.01) inputs.insert(inputs.end(), {static_cast<float>(m), static_cast<float>(-m)});
  const int n = static_cast<int>(inputs.size());
  const Mat ones = Mat::Ones(16, 1), zero = Mat::Zero(16, 1);
  Mat xs = Eigen::Map<Mat>(inputs.data(), 1, n);
  Mat y_narrow(16, n), y_wide(16, n);
  with_wide_kernels(false, [&] {
    k::linear_forward(16, 1, n, ones.data(), 16, zero.data(), xs.data(), 1, y_narrow.data(), 16, k::Post::Tanh);
  });
  with_wide_kernels(true, [&] {
    k::linear_forward(16, 1, n, ones.data(), 16, zero.data(), xs.data(), 1, y_wide.data(), 16, k::Post::Tanh);
  });
  int differ = 0;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < 16; ++i) {
      const float a = y_narrow(i, j), c = y_wide(i, j);
      if (std::memcmp(&a, &c, sizeof a) != 0) ++differ;  // NaN payloads included
    }
  CHECK(differ == 0);
  CHECK(y_narrow(0, 0) == 0.0f);
  CHECK(std::abs(y_narrow(0, n - 2) - std::tanh(inputs[n - 2])) < 1e-6f);  // the sweep's largest input
#endif
}
#else
TEST_CASE("linear_avx2 is not compiled for this target", "[nn][linear_avx2]") { SUCCEED("no AVX2 + FMA"); }
#endif
