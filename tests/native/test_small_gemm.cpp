// The portable Linear kernels of core/nn/small_gemm.hpp (used by wasm builds) against Eigen's
// products: many shapes (edges of the 8 x 4 register tile, of the 256 reduction chunk and of the
// packed W^T blocks), operands that are blocks of larger buffers (outer stride > rows, unaligned
// starts), accumulation into dW/db, no writes outside the destination blocks, and the Eigen front
// ends Linear uses. Natively this runs the plain C++ vector fallback; compiled with em++ -msimd128
// the same file tests the wasm_simd128 path.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "core/nn/small_gemm.hpp"

namespace {

using Mat = Eigen::MatrixXf;
using MatD = Eigen::MatrixXd;
constexpr float kSentinel = 12345.0f;
const float kNaN = std::numeric_limits<float>::quiet_NaN();

struct Shape {
  int out, in, n;
};

// A rows x cols block at (r0, c0) of a larger buffer filled with kSentinel: outer stride > rows,
// and a start that is generally not 16-byte aligned.
struct Embedded {
  Mat buf;
  int r0, c0, rows, cols;
  Embedded(int rows_, int cols_, int pad_rows, int r0_, int c0_)
      : buf(Mat::Constant(rows_ + pad_rows + r0_, cols_ + c0_ + 1, kSentinel)), r0(r0_), c0(c0_), rows(rows_),
        cols(cols_) {}
  auto block() { return buf.block(r0, c0, rows, cols); }
  // Everything outside the block still holds the sentinel.
  bool outside_untouched() const {
    for (int j = 0; j < buf.cols(); ++j)
      for (int i = 0; i < buf.rows(); ++i) {
        const bool inside = i >= r0 && i < r0 + rows && j >= c0 && j < c0 + cols;
        if (!inside && buf(i, j) != kSentinel) return false;
      }
    return true;
  }
};

Mat random_matrix(int rows, int cols, std::mt19937& gen) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  Mat m(rows, cols);
  for (int j = 0; j < cols; ++j)
    for (int i = 0; i < rows; ++i) m(i, j) = d(gen);
  return m;
}

// |got - want| <= rtol * scale elementwise, where scale is the same product taken over absolute
// values (plus 1): the natural bound for a rounded sum of products, also under cancellation.
template <typename G, typename W, typename S>
void check_close(const G& got, const W& want, const S& scale, const char* what, const Shape& s) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
  double worst = 0.0;
  int bad = 0;
  for (int j = 0; j < got.cols(); ++j)
    for (int i = 0; i < got.rows(); ++i) {
      const double g = got(i, j), w = want(i, j);
      const double d = std::abs(g - w) / (1e-5 * (static_cast<double>(scale(i, j)) + 1.0));
      if (!(d <= 1.0)) ++bad;  // also catches NaN
      worst = std::max(worst, d);
    }
  INFO(what << " out=" << s.out << " in=" << s.in << " n=" << s.n << ": " << bad
            << " entries off; worst |diff| / tolerance " << worst);
  CHECK(bad == 0);
}

std::vector<Shape> shapes() {
  std::vector<Shape> v;
  // Edges of the register tile (8 rows x 4 columns) in every dimension, small and typical sizes.
  const int small[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 13};
  for (int out : small)
    for (int in : small)
      for (int n : {1, 3, 4, 6, 9}) v.push_back({out, in, n});
  // Layer sizes of the examples (obs 2..6, hidden 64, actions 1..3), acting (n = 4) and minibatches.
  for (int n : {4, 5, 128, 131})
    for (Shape s : {Shape{64, 4, n}, Shape{64, 64, n}, Shape{2, 64, n}, Shape{1, 64, n}, Shape{3, 64, n},
                    Shape{64, 6, n}, Shape{32, 3, n}})
      v.push_back(s);
  // Reduction longer than one 256 chunk (weight gradient over n, forward over in, W^T over out),
  // several row blocks (> 128 rows; > 16 rows of packed W^T when out > 256), odd everything.
  v.push_back({17, 9, 257});
  v.push_back({5, 3, 600});
  v.push_back({9, 300, 7});
  v.push_back({300, 11, 6});
  v.push_back({130, 130, 33});
  v.push_back({261, 37, 10});
  v.push_back({35, 519, 5});
  v.push_back({67, 45, 513});
  return v;
}

}  // namespace

TEST_CASE("small_gemm forward matches Eigen: Y = W X + b on blocks", "[nn][small_gemm]") {
  std::mt19937 gen(7);
  for (const Shape& s : shapes()) {
    const int pad = 1 + (s.out + s.in + s.n) % 5;
    Embedded w(s.out, s.in, pad, 1, 2), x(s.in, s.n, pad + 2, 3, 1), y(s.out, s.n, pad, 1, 0);
    Embedded b(s.out, 1, 0, 1, 0);
    w.block() = random_matrix(s.out, s.in, gen);
    x.block() = random_matrix(s.in, s.n, gen);
    b.block() = random_matrix(s.out, 1, gen);
    y.block().setConstant(kNaN);  // every entry must be written

    pl::small_gemm::linear_forward(s.out, s.in, s.n, w.block().data(), static_cast<int>(w.buf.rows()),
                                   b.block().data(), x.block().data(), static_cast<int>(x.buf.rows()),
                                   y.block().data(), static_cast<int>(y.buf.rows()));
    Mat want = w.block() * x.block();
    want.colwise() += b.block().col(0);
    const Mat scale = w.block().cwiseAbs() * x.block().cwiseAbs();
    check_close(y.block(), want, scale, "forward", s);
    CHECK(y.outside_untouched());
    CHECK(w.outside_untouched());
    CHECK(x.outside_untouched());
  }
}

TEST_CASE("small_gemm backward matches Eigen: dW += dY X^T, db += rowsum dY, dX = W^T dY", "[nn][small_gemm]") {
  std::mt19937 gen(11);
  for (const Shape& s : shapes()) {
    const int pad = 1 + (2 * s.out + s.in + s.n) % 4;
    Embedded w(s.out, s.in, pad, 2, 1), dy(s.out, s.n, pad, 1, 1), x(s.in, s.n, pad, 0, 2);
    Embedded dw(s.out, s.in, pad + 1, 3, 1), db(s.out, 1, 0, 1, 0), dx(s.in, s.n, pad, 1, 0);
    w.block() = random_matrix(s.out, s.in, gen);
    dy.block() = random_matrix(s.out, s.n, gen);
    x.block() = random_matrix(s.in, s.n, gen);
    const Mat dw0 = random_matrix(s.out, s.in, gen), db0 = random_matrix(s.out, 1, gen);
    dw.block() = dw0;
    db.block() = db0;
    dx.block().setConstant(kNaN);

    const int lddy = static_cast<int>(dy.buf.rows()), ldx = static_cast<int>(x.buf.rows());
    pl::small_gemm::linear_weight_grad(s.out, s.in, s.n, dy.block().data(), lddy, x.block().data(), ldx,
                                       dw.block().data(), static_cast<int>(dw.buf.rows()));
    pl::small_gemm::linear_bias_grad(s.out, s.n, dy.block().data(), lddy, db.block().data());
    pl::small_gemm::linear_input_grad(s.out, s.in, s.n, w.block().data(), static_cast<int>(w.buf.rows()),
                                      dy.block().data(), lddy, dx.block().data(), static_cast<int>(dx.buf.rows()));

    const Mat want_dw = dw0 + dy.block() * x.block().transpose();
    const Mat want_db = db0 + dy.block().rowwise().sum();
    const Mat want_dx = w.block().transpose() * dy.block();
    const Mat scale_dw =
        (dw0.cwiseAbs() + dy.block().cwiseAbs() * x.block().cwiseAbs().transpose()).eval();
    const Mat scale_db = db0.cwiseAbs() + dy.block().cwiseAbs().rowwise().sum();
    const Mat scale_dx = w.block().cwiseAbs().transpose() * dy.block().cwiseAbs();
    check_close(dw.block(), want_dw, scale_dw, "dW", s);
    check_close(db.block(), want_db, scale_db, "db", s);
    check_close(dx.block(), want_dx, scale_dx, "dX", s);
    CHECK(dw.outside_untouched());
    CHECK(db.outside_untouched());
    CHECK(dx.outside_untouched());
    CHECK(dy.outside_untouched());
  }
}

TEST_CASE("small_gemm gradients accumulate over repeated calls", "[nn][small_gemm]") {
  std::mt19937 gen(3);
  const Shape s{13, 6, 37};
  const Mat dy = random_matrix(s.out, s.n, gen), x = random_matrix(s.in, s.n, gen);
  Mat dw = Mat::Zero(s.out, s.in), db = Mat::Zero(s.out, 1);
  for (int rep = 0; rep < 3; ++rep) {
    pl::small_gemm::linear_weight_grad(s.out, s.in, s.n, dy.data(), s.out, x.data(), s.in, dw.data(), s.out);
    pl::small_gemm::linear_bias_grad(s.out, s.n, dy.data(), s.out, db.data());
  }
  const Mat want_dw = 3.0f * (dy * x.transpose()), want_db = 3.0f * dy.rowwise().sum();
  check_close(dw, want_dw, 3.0f * (dy.cwiseAbs() * x.cwiseAbs().transpose()), "dW x3", s);
  check_close(db, want_db, 3.0f * dy.cwiseAbs().rowwise().sum(), "db x3", s);
}

TEST_CASE("small_gemm Eigen front ends take Linear's operands", "[nn][small_gemm]") {
  std::mt19937 gen(5);
  const int out = 6, in = 5, cap = 20, n = 11;
  // Parameters-style maps for W and b; workspace-style leftCols / topLeftCorner blocks.
  Eigen::VectorXf params = Eigen::VectorXf::Zero(64 + out * in + out);  // 16-byte aligned, as Parameters
  Eigen::Map<Mat, Eigen::Aligned16> w(params.data(), out, in), b(params.data() + 32, out, 1);
  w = random_matrix(out, in, gen);
  b = random_matrix(out, 1, gen);
  Mat h = random_matrix(in, cap, gen), z = Mat::Constant(out + 3, cap, kSentinel);

  REQUIRE(pl::small_gemm::forward(w, b, h.leftCols(n), z.topLeftCorner(out, n)));
  Mat want = w * h.leftCols(n);
  want.colwise() += b.col(0);
  check_close(z.topLeftCorner(out, n), want, (w.cwiseAbs() * h.leftCols(n).cwiseAbs()).eval(), "front forward",
              Shape{out, in, n});
  CHECK((z.bottomRows(3).array() == kSentinel).all());
  CHECK((z.rightCols(cap - n).array() == kSentinel).all());

  // Backward with dy a row vector view of a VectorXf (as the critic head passes it: 1 x n).
  Eigen::VectorXf dvalue = Eigen::VectorXf::Random(cap);
  Eigen::Map<Mat, Eigen::Aligned16> w1(params.data(), 1, in), dw1(params.data() + 40, 1, in), db1(params.data() + 48, 1, 1);
  dw1.setZero();
  db1.setConstant(0.5f);
  Mat dx = Mat::Constant(in, cap, kNaN);
  REQUIRE(pl::small_gemm::backward(w1, dw1, db1.col(0), dvalue.head(n).transpose(), h.leftCols(n), dx.leftCols(n), true));
  const Mat dvt = dvalue.head(n).transpose();
  check_close(dw1, (dvt * h.leftCols(n).transpose()).eval(), (dvt.cwiseAbs() * h.leftCols(n).cwiseAbs().transpose()).eval(),
              "front dW (row-vector dy)", Shape{1, in, n});
  CHECK(db1(0, 0) == Approx(0.5f + dvt.sum()).epsilon(1e-5).margin(1e-5));
  check_close(dx.leftCols(n), (w1.transpose() * dvt).eval(), (w1.cwiseAbs().transpose() * dvt.cwiseAbs()).eval(),
              "front dX (row-vector dy)", Shape{1, in, n});
  CHECK(dx.rightCols(cap - n).array().isNaN().all());

  // dx_needed = false leaves dx alone.
  Mat dx2 = Mat::Constant(in, n, kSentinel);
  REQUIRE(pl::small_gemm::backward(w1, dw1, db1.col(0), dvt, h.leftCols(n), dx2, false));
  CHECK((dx2.array() == kSentinel).all());

  // Operands without unit row stride or without direct access are refused (the caller uses Eigen).
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> hr = h.leftCols(n);
  CHECK_FALSE(pl::small_gemm::forward(w, b, hr, z.topLeftCorner(out, n)));
  CHECK_FALSE(pl::small_gemm::forward(w, b, h.leftCols(n) * 2.0f, z.topLeftCorner(out, n)));
  CHECK_FALSE(pl::small_gemm::forward(w, b, h.topRows(in - 1).leftCols(n), z.topLeftCorner(out, n)));  // size mismatch
}
