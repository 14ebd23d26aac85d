// The tensor tape: every op's vector-Jacobian product against central finite differences, in one
// table (a new op joins with one row); broadcasting, active sizes below capacity, parameter views,
// no allocation after build, error messages; the PPO loss pieces against hand-computed values.
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <vector>

#include "core/algos/losses.hpp"
#include "core/autodiff/kernels.hpp"
#include "core/autodiff/tape.hpp"
#include "core/nn/parameters.hpp"
#include "core/util/allocation_count.hpp"
#include "core/util/rng.hpp"
#include "gradcheck.hpp"

using namespace pl;
using pl_test::central_difference;
using pl_test::check_close;

namespace {

enum class Domain { Any, Positive, Unit };

struct FloatArg {
  std::vector<int> dims;  // -1 = size variable "a" (capacity 4, active 3), -2 = "b" (capacity 5, active 4)
  Domain domain = Domain::Any;
};
struct IntArg {
  std::vector<int> dims;
  std::vector<int32_t> values;  // active layout
};
using Build = std::function<Expr(Graph&, const std::vector<Expr>&, const std::vector<Expr>&)>;
struct Row {
  const char* name;
  std::vector<FloatArg> floats;
  std::vector<IntArg> ints;
  Build build;
};

Dims to_dims(const std::vector<int>& d, int va, int vb) {
  Dims out;
  for (int x : d) out.push_back(x == -1 ? Dim::variable(va) : x == -2 ? Dim::variable(vb) : Dim(x));
  return out;
}

// Builds the row's graph with two size variables below capacity, loss = sum(out * w) with fixed
// random weights w, and checks d loss / d every active element of every float argument.
void check_row(const Row& row) {
  Graph g;
  const int va = g.size_var("a", 4), vb = g.size_var("b", 5);
  std::vector<Expr> fl, in;
  std::vector<std::vector<float>> data;
  std::vector<std::vector<int32_t>> ints;
  Rng rng(1234 + std::hash<std::string>()(row.name) % 1000);
  for (size_t k = 0; k < row.floats.size(); ++k) {
    fl.push_back(g.input("x" + std::to_string(k), to_dims(row.floats[k].dims, va, vb)));
    std::vector<float> v(64 * 5 * 5);
    for (float& x : v) {
      const float u = rng.uniform_float();
      x = row.floats[k].domain == Domain::Any ? 4.0f * u - 2.0f
          : row.floats[k].domain == Domain::Positive ? 0.3f + 2.0f * u
                                                      : 0.05f + 0.9f * u;
    }
    data.push_back(std::move(v));
  }
  for (size_t k = 0; k < row.ints.size(); ++k) {
    in.push_back(g.int_input("i" + std::to_string(k), to_dims(row.ints[k].dims, va, vb)));
    ints.push_back(row.ints[k].values);
    ints.back().resize(64 * 5 * 5, 0);
  }
  Expr out = row.build(g, fl, in);
  Expr w = g.input("w", g.dims(out));
  Expr loss = sum(out * w);
  std::vector<float> weights(64 * 5 * 5 * 8);
  for (float& x : weights) x = 0.5f + rng.uniform_float();
  for (size_t k = 0; k < fl.size(); ++k) g.bind(fl[k], data[k].data());
  for (size_t k = 0; k < in.size(); ++k) g.bind_int(in[k], ints[k].data());
  g.bind(w, weights.data());
  g.set_size(va, 3);
  g.set_size(vb, 4);
  auto f = [&] {
    g.forward();
    return static_cast<double>(g.scalar(loss));
  };
  f();
  g.backward(loss);
  for (size_t k = 0; k < fl.size(); ++k) {
    const int n = g.numel(fl[k]);
    std::vector<float> analytic(g.gradient(fl[k]), g.gradient(fl[k]) + n);
    for (int i = 0; i < n; ++i)
      check_close(analytic[i], central_difference(f, &data[k][i], 1e-3),
                  std::string(row.name) + " d/dx" + std::to_string(k) + "[" + std::to_string(i) + "]");
  }
}

using E = const std::vector<Expr>&;

const std::vector<Row>& gradient_table() {
  static const std::vector<Row> rows = {
      // elementwise binary, with broadcasting and active sizes below capacity
      {"add", {{{-1, 3}}, {{3}}}, {}, [](Graph&, E x, E) { return x[0] + x[1]; }},
      {"sub", {{{-1, 3}}, {{-1, 1}}}, {}, [](Graph&, E x, E) { return x[0] - x[1]; }},
      {"mul", {{{-1, -2, 2}}, {{-2, 1}}}, {}, [](Graph&, E x, E) { return x[0] * x[1]; }},
      {"div", {{{-1, 3}}, {{3}, Domain::Positive}}, {}, [](Graph&, E x, E) { return x[0] / x[1]; }},
      {"broadcast both ways", {{{-1, 1, 3}}, {{-2, 1}}}, {}, [](Graph&, E x, E) { return x[0] * x[1] + x[1]; }},
      {"min", {{{-1, 3}}, {{-1, 3}}}, {}, [](Graph&, E x, E) { return min(x[0], x[1]); }},
      {"max", {{{-1, 3}}, {{3}}}, {}, [](Graph&, E x, E) { return max(x[0], x[1]); }},
      {"greater (no gradient) times x", {{{-1, 3}}, {{-1, 3}}}, {},
       [](Graph&, E x, E) { return greater(x[0], x[1]) * x[0]; }},
      {"clamp by tensors", {{{-1, 3}}, {{}}, {{}}}, {},
       [](Graph&, E x, E) { return clamp(x[0], x[1] - 1.0f, x[2] + 1.0f); }},
      {"clamp by constants", {{{-1, 3}}}, {}, [](Graph&, E x, E) { return clamp(x[0], -0.8f, 1.1f); }},
      {"where", {{{-1, 3}}, {{-1, 3}}, {{3}}}, {},
       [](Graph&, E x, E) { return where(greater(x[0], x[1]), x[0] * x[2], x[1]); }},
      {"safe_div", {{{-1, 3}}, {{3}}}, {}, [](Graph&, E x, E) { return safe_div(x[0], x[1], 1e-2f); }},
      // elementwise unary
      {"neg", {{{-1, 3}}}, {}, [](Graph&, E x, E) { return -x[0]; }},
      {"exp", {{{-1, 3}}}, {}, [](Graph&, E x, E) { return exp(x[0]); }},
      {"log", {{{-1, 3}, Domain::Positive}}, {}, [](Graph&, E x, E) { return log(x[0]); }},
      {"safe_log", {{{-1, 3}, Domain::Positive}}, {}, [](Graph&, E x, E) { return safe_log(x[0]); }},
      {"abs", {{{-1, 3}}}, {}, [](Graph&, E x, E) { return abs(x[0]); }},
      {"square", {{{-1, 3}}}, {}, [](Graph&, E x, E) { return square(x[0]); }},
      {"sqrt", {{{-1, 3}, Domain::Positive}}, {}, [](Graph&, E x, E) { return sqrt(x[0]); }},
      {"safe_sqrt", {{{-1, 3}, Domain::Positive}}, {}, [](Graph&, E x, E) { return safe_sqrt(x[0]); }},
      {"tanh", {{{-1, 3}}}, {}, [](Graph&, E x, E) { return tanh(x[0]); }},
      {"relu", {{{-1, 3}}}, {}, [](Graph&, E x, E) { return relu(x[0]); }},
      {"gelu", {{{-1, 3}}}, {}, [](Graph&, E x, E) { return gelu(x[0]); }},
      {"sigmoid", {{{-1, 3}}}, {}, [](Graph&, E x, E) { return sigmoid(x[0]); }},
      {"softplus", {{{-1, 3}}}, {}, [](Graph&, E x, E) { return softplus(x[0] * 5.0f); }},
      {"log_sigmoid", {{{-1, 3}}}, {}, [](Graph&, E x, E) { return log_sigmoid(x[0] * 5.0f); }},
      {"log1mexp", {{{-1, 3}, Domain::Positive}}, {}, [](Graph&, E x, E) { return log1mexp(-x[0]); }},
      {"stop_gradient keeps the other path", {{{-1, 3}}}, {},
       [](Graph&, E x, E) { return x[0] * 2.0f + stop_gradient(x[0]) * 0.0f; }},
      // reductions
      {"sum", {{{-1, -2}}}, {}, [](Graph&, E x, E) { return sum(square(x[0])); }},
      {"mean", {{{-1, -2}}}, {}, [](Graph&, E x, E) { return mean(exp(x[0])); }},
      {"sum axis 0", {{{-1, -2, 2}}}, {}, [](Graph&, E x, E) { return sum(x[0] * x[0], 0); }},
      {"sum axis 1 keepdim", {{{-1, -2, 2}}}, {}, [](Graph&, E x, E) { return sum(x[0] * x[0], 1, true); }},
      {"mean axis -1", {{{-1, -2, 3}}}, {}, [](Graph&, E x, E) { return mean(exp(x[0]), -1); }},
      {"max axis", {{{-1, 5}}}, {}, [](Graph&, E x, E) { return max(x[0], -1); }},
      {"logsumexp axis", {{{-1, -2}}}, {}, [](Graph&, E x, E) { return logsumexp(x[0], 1); }},
      // shape
      {"reshape", {{{-1, 6}}}, {}, [](Graph& g, E x, E) { return square(reshape(x[0], {g.dim(0), 2, 3})); }},
      {"slice_last", {{{-1, 6}}}, {}, [](Graph&, E x, E) { return square(slice_last(x[0], 2, 3)); }},
      {"transpose12", {{{2, -1, 3, 2}}}, {}, [](Graph&, E x, E) { return square(transpose12(x[0])); }},
      // linear algebra
      {"matmul", {{{-1, -2, 3}}, {{3, 4}}}, {}, [](Graph&, E x, E) { return matmul(x[0], x[1]); }},
      {"matmul transposed", {{{-1, 3}}, {{4, 3}}}, {}, [](Graph&, E x, E) { return matmul(x[0], x[1], true); }},
      {"linear", {{{-1, 3}}, {{3, 2}}, {{2}}}, {}, [](Graph&, E x, E) { return linear(x[0], x[1], x[2]); }},
      {"batch_matmul", {{{-1, 2, 3}}, {{-1, 3, 2}}}, {}, [](Graph&, E x, E) { return batch_matmul(x[0], x[1]); }},
      {"batch_matmul A^T", {{{-1, 3, 2}}, {{-1, 3, 4}}}, {},
       [](Graph&, E x, E) { return batch_matmul(x[0], x[1], true, false); }},
      {"batch_matmul B^T", {{{2, -1, 2, 3}}, {{2, -1, 4, 3}}}, {},
       [](Graph&, E x, E) { return batch_matmul(x[0], x[1], false, true); }},
      {"batch_matmul A^T B^T", {{{-1, 3, 2}}, {{-1, 4, 3}}}, {},
       [](Graph&, E x, E) { return batch_matmul(x[0], x[1], true, true); }},
      // indexing
      {"embedding", {{{5, 3}}}, {{{-1, 2}, {4, 0, 4, 2, 1, 3}}},
       [](Graph&, E x, E i) { return embedding(x[0], i[0]); }},
      {"embedding, a table per batch element", {{{-1, 4, 3}}}, {{{-1, 2}, {3, 0, 1, 1, 2, 3}}},
       [](Graph&, E x, E i) { return embedding(x[0], i[0]); }},
      {"gather_last", {{{-1, 4}}}, {{{-1}, {3, 0, 2}}}, [](Graph&, E x, E i) { return gather_last(x[0], i[0]); }},
      // fused
      {"log_softmax", {{{-1, 5}}}, {}, [](Graph&, E x, E) { return log_softmax(x[0]); }},
      {"log_softmax masked", {{{-1, 4}}}, {{{-1, 4}, {1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1}}},
       // probabilities: a masked log-probability (-1e9) would swamp a float sum of the outputs
       [](Graph&, E x, E i) { return exp(log_softmax(x[0], i[0])); }},
      {"log_softmax + gather + entropy", {{{-1, 4}}}, {{{-1}, {3, 0, 2}}, {{-1, 4}, {1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1}}},
       [](Graph&, E x, E i) {
         Expr lp = log_softmax(x[0], i[1]);
         return gather_last(lp, i[0]) + 0.5f * softmax_entropy(lp);
       }},
      {"layer_norm", {{{-1, 5}}, {{5}}, {{5}}}, {}, [](Graph&, E x, E) { return layer_norm(x[0], x[1], x[2]); }},
      {"attention causal", {{{2, -1, 4}}, {{2, -1, 4}}, {{2, -1, 4}}}, {},
       [](Graph&, E x, E) { return attention(x[0], x[1], x[2], 2, true); }},
      {"attention key mask", {{{2, -1, 4}}, {{2, -1, 4}}, {{2, -1, 4}}}, {{{2, -1}, {1, 1, 0, 0, 1, 1}}},
       [](Graph&, E x, E i) { return attention(x[0], x[1], x[2], 2, false, i[0]); }},
      {"attention mask per query (one query sees nothing)", {{{2, -1, 4}}, {{2, -2, 4}}, {{2, -2, 4}}},
       {{{2, -1, -2}, {1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, /**/ 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 0}}},
       [](Graph&, E x, E i) { return attention(x[0], x[1], x[2], 2, false, i[0]); }},
      {"attention causal + padding, Tq < Tk", {{{2, -1, 4}}, {{2, -2, 4}}, {{2, -2, 4}}}, {{{2, -2}, {0, 1, 1, 1, 1, 1, 0, 1}}},
       [](Graph&, E x, E i) { return attention(x[0], x[1], x[2], 1, true, i[0]); }},
      // segments (offsets over b = 4 items, a = 3 segments, the second empty)
      {"segment_sum", {{{-2, 2}}}, {{{4}, {0, 1, 1, 4}}},
       [](Graph& g, E x, E i) { return segment_sum(x[0], i[0], g.dim(0)); }},
      {"segment_mean", {{{-2}}}, {{{4}, {0, 1, 1, 4}}},
       [](Graph& g, E x, E i) { return segment_mean(exp(x[0]), i[0], g.dim(0)); }},
      {"segment_broadcast", {{{-1}}}, {{{4}, {0, 1, 1, 4}}},
       [](Graph& g, E x, E i) { return square(segment_broadcast(x[0], i[0], g.dim(1))); }},
  };
  return rows;
}

}  // namespace

TEST_CASE("Every tape op's gradient matches finite differences (one row per op)", "[autodiff][gradcheck]") {
  for (const Row& row : gradient_table()) {
    SECTION(row.name) { check_row(row); }
  }
}

TEST_CASE("log1mexp stays accurate where 1 - e^x rounds to 0 or 1 in float", "[autodiff]") {
  // log(1 - e^x) near 0 is log(-x) - x/2 + ...; far below, -e^x.
  CHECK(kernels::log1mexp(-1e-10f) == Approx(std::log(1e-10)).epsilon(1e-6));
  CHECK(kernels::log1mexp(-1e-3f) == Approx(std::log(-std::expm1(-1e-3))).epsilon(1e-6));
  CHECK(kernels::log1mexp(-50.0f) == Approx(-std::exp(-50.0)).epsilon(1e-6));
  CHECK(kernels::log1mexp(-2.0f) == Approx(std::log(1 - std::exp(-2.0))).epsilon(1e-6));
  // 0 (a log-probability of exactly 0) is taken as -1e-10: finite, and so is the derivative.
  CHECK(kernels::log1mexp(0.0f) == Approx(std::log(1e-10)).epsilon(1e-6));
  CHECK(kernels::log1mexp_grad(0.0f) == Approx(-1e10).epsilon(1e-6));
  CHECK(kernels::log1mexp_grad(-1e-10f) == Approx(-1e10).epsilon(1e-6));
  CHECK(kernels::log1mexp_grad(-2.0f) == Approx(-std::exp(-2.0) / (1 - std::exp(-2.0))).epsilon(1e-6));
}

TEST_CASE("stop_gradient and greater pass no gradient", "[autodiff]") {
  Graph g(3);
  Expr x = g.input("x");
  Expr loss = sum(stop_gradient(x) * x + greater(x, g.constant(0.0f)));
  std::vector<float> xs{1, -2, 3};
  g.bind(x, xs.data());
  g.forward();
  g.backward(loss);
  for (int i = 0; i < 3; ++i) CHECK(g.gradient(x)[i] == Approx(xs[i]));  // only the un-stopped factor
}

TEST_CASE("Parameter tensors are views into the flat buffer and accumulate gradients", "[autodiff]") {
  Parameters p;
  const int w = p.declare("w", 3, 2), b = p.declare("b", 3, 1);
  p.finalize();
  for (int i = 0; i < p.total_size(); ++i) p.values()[i] = 0.1f * (i + 1);
  Graph g;
  const int n = g.size_var("n", 4);
  Expr x = g.input("x", {g.dim(n), 2});
  Expr y = linear(x, g.parameter(p, w, {2, 3}), g.parameter(p, b, {3}));
  Expr loss = sum(y);
  std::vector<float> xs{1, 2, 3, 4};
  g.bind(x, xs.data());
  g.set_size(n, 2);
  p.zero_grad();
  g.forward();
  g.backward(loss);
  g.backward(loss);  // accumulates: twice the single-pass gradient
  // d sum(x W + b) / d W[k][j] = sum_i x[i][k]
  const float* gw = p.grads().data() + p.tensors()[w].offset;
  CHECK(gw[0] == Approx(2 * (1 + 3)));
  CHECK(gw[3] == Approx(2 * (2 + 4)));
  CHECK(p.grads()[p.tensors()[b].offset] == Approx(2 * 2));
  // y[0][0] = x[0] . W[:, 0] + b[0] with W row-major [2, 3]: W[0][0] = 0.1, W[1][0] = 0.4
  CHECK(g.values(y)[0] == Approx(1 * 0.1 + 2 * 0.4 + p.values()[p.tensors()[b].offset]));
  CHECK_THROWS_WITH(g.parameter(p, w, {4, 2}), Catch::Contains("has 6 values"));
}

TEST_CASE("Forward and backward allocate nothing after the graph is built", "[autodiff][alloc]") {
  Graph g;
  const int B = g.size_var("batch", 8), T = g.size_var("time", 6);
  Expr x = g.input("x", {g.dim(B), g.dim(T), 8});
  Expr ids = g.int_input("ids", {g.dim(B), g.dim(T)});
  Expr h = layer_norm(x, g.input("gamma", {8}), g.input("beta", {8}));
  Expr a = attention(h, h, h, 2, true);
  Expr lp = log_softmax(a);
  Expr loss = -mean(gather_last(lp, ids)) - 0.01f * mean(softmax_entropy(lp));
  std::vector<float> xs(8 * 6 * 8, 0.3f), gamma(8, 1.0f), beta(8, 0.0f);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = std::sin(0.37f * i);
  std::vector<int32_t> id(8 * 6, 3);
  g.bind(x, xs.data());
  g.bind("gamma", gamma.data());
  g.bind("beta", beta.data());
  g.bind_int(ids, id.data());
  g.set_size(B, 5);
  g.set_size(T, 4);
  g.forward();
  g.backward(loss);
  allocation_counter::count = 0;
  allocation_counter::counting = true;
  for (int step = 0; step < 3; ++step) {
    g.set_size(B, 3 + step);
    g.set_size(T, 6 - step);
    g.forward();
    g.backward(loss);
  }
  allocation_counter::counting = false;
  CHECK(allocation_counter::count == 0);
}

TEST_CASE("A graph evaluated below capacity equals one built at that size", "[autodiff]") {
  auto run = [](int capacity, int n) {
    Graph g;
    const int v = g.size_var("n", capacity);
    Expr x = g.input("x", {g.dim(v), 3});
    Expr loss = mean(logsumexp(x * x, 1));
    std::vector<float> xs(capacity * 3);
    for (size_t i = 0; i < xs.size(); ++i) xs[i] = 0.1f * static_cast<float>(i) - 0.4f;
    g.bind(x, xs.data());
    g.set_size(v, n);
    g.forward();
    g.backward(loss);
    return std::make_pair(g.scalar(loss), std::vector<float>(g.gradient(x), g.gradient(x) + n * 3));
  };
  const auto small = run(2, 2), large = run(7, 2);
  CHECK(small.first == large.first);
  REQUIRE(small.second.size() == large.second.size());
  for (size_t i = 0; i < small.second.size(); ++i) {
    INFO("element " << i << ": " << small.second[i] << " vs " << large.second[i]);
    CHECK(small.second[i] == large.second[i]);
  }
}

TEST_CASE("forward_after evaluates only the nodes after a prefix already evaluated", "[autodiff]") {
  Graph g;
  Expr x = g.input("x", {2, 3});
  std::vector<float> xs = {0.5f, -1.0f, 2.0f, 0.25f, 1.5f, -0.75f};
  g.bind(x, xs.data());
  Expr encoded = tanh(x) * 2.0f;           // the prefix ("an encoder")
  Expr loss = mean(logsumexp(encoded, 1));  // the rest
  g.forward(encoded);
  const std::vector<float> prefix(g.values(encoded), g.values(encoded) + 6);
  // Values written into the prefix between the two calls are what the rest reads: it is not re-run.
  g.mutable_values(encoded)[0] = 7.0f;
  g.forward_after(encoded);
  const float with_edit = g.scalar(loss);
  g.forward();
  const float full = g.scalar(loss);
  for (int i = 0; i < 6; ++i) CHECK(g.values(encoded)[i] == prefix[i]);
  CHECK(with_edit != full);
  g.mutable_values(encoded)[0] = prefix[0];
  g.forward_after(encoded);
  CHECK(g.scalar(loss) == full);
  CHECK_THROWS_WITH(g.forward_after(loss, encoded), Catch::Contains("must precede"));
}

TEST_CASE("Shape errors and bad indices are clear messages", "[autodiff]") {
  Graph g;
  const int n = g.size_var("n", 4);
  Expr a = g.input("a", {g.dim(n), 3});
  Expr b = g.input("b", {4});
  CHECK_THROWS_WITH(a + b, Catch::Contains("cannot broadcast"));
  CHECK_THROWS_WITH(matmul(a, g.input("w", {4, 2})), Catch::Contains("inner sizes differ"));
  Expr ids = g.int_input("ids", {g.dim(n)});
  Expr e = embedding(g.input("table", {5, 2}), ids);
  std::vector<float> table(10, 1.0f), av(12, 0), bv(4, 0), wv(8, 0);
  std::vector<int32_t> bad{0, 7, 1, 1};
  g.bind("table", table.data());
  g.bind("a", av.data());
  g.bind("b", bv.data());
  g.bind("w", wv.data());
  g.bind_int(ids, bad.data());
  CHECK_THROWS_WITH(g.forward(e), Catch::Contains("id 7 outside [0, 5)"));
  CHECK_THROWS_WITH(g.set_size(n, 5), Catch::Contains("out of [1, 4]"));
}

TEST_CASE("A table per batch element: ids of element b read table b's rows", "[autodiff]") {
  Graph g;
  Expr table = g.input("table", {2, 3, 2});  // table b, row v = {10 b + v, -(10 b + v)}
  Expr ids = g.int_input("ids", {2, 2});
  Expr e = embedding(table, ids);
  std::vector<float> t{0, 0, 1, -1, 2, -2, 10, -10, 11, -11, 12, -12};
  std::vector<int32_t> i{2, 0, 1, 2};
  g.bind(table, t.data());
  g.bind_int(ids, i.data());
  g.forward(e);
  const std::vector<float> got(g.values(e), g.values(e) + 8);
  CHECK(got == std::vector<float>{2, -2, 0, 0, 11, -11, 12, -12});
  CHECK_THROWS_WITH(embedding(table, g.int_input("ids3", {3, 2})), Catch::Contains("[B, V, D] with ids [B, ...]"));
}

TEST_CASE("Formulas print with the parentheses they need", "[autodiff]") {
  Graph g(2);
  Expr a = g.input("a"), b = g.input("b"), c = g.input("c");
  CHECK(g.to_string(a / (b * c)) == "a / (b * c)");
  CHECK(g.to_string(a / b * c) == "a / b * c");
  CHECK(g.to_string(a - (b - c)) == "a - (b - c)");
  CHECK(g.to_string((a + b) * c) == "(a + b) * c");
  CHECK(g.to_latex(a / (b * c)) == "\\frac{\\mathrm{a}}{\\mathrm{b} \\cdot \\mathrm{c}}");
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

TEST_CASE("The normalised advantage matches its definition and gradient", "[autodiff]") {
  Graph g(5);
  Expr adv = losses::advantage(g, true);
  Expr loss = sum(adv * g.input("w"));
  std::vector<float> a{0.5f, -1.2f, 2.0f, 0.1f, 1.3f}, w{0.3f, 0.55f, 0.8f, 1.05f, 1.3f};
  g.bind("adv", a.data());
  g.bind("w", w.data());
  auto f = [&] {
    g.forward();
    return static_cast<double>(g.scalar(loss));
  };
  f();
  g.backward(loss);
  std::vector<float> analytic(g.gradient("adv"), g.gradient("adv") + 5);
  for (int i = 0; i < 5; ++i) check_close(analytic[i], central_difference(f, &a[i], 1e-3), "d/dadv");
  double m = 0, s = 0;
  for (float x : a) m += x / 5.0;
  for (float x : a) s += (x - m) * (x - m) / 4.0;
  f();
  CHECK(g.values(adv)[2] == Approx((a[2] - m) / (std::sqrt(s) + 1e-8)).epsilon(1e-5));
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

TEST_CASE("The portable (wasm) and x86 matrix kernels equal Eigen's products in every transposition and stride", "[autodiff][small_gemm]") {
  Rng rng(5);
  for (int M : {1, 3, 8, 13}) {
    for (int K : {1, 5, 16, 300}) {
      for (int N : {1, 4, 7, 33}) {
        for (int flags = 0; flags < 16; ++flags) {
          const bool ta = flags & 1, tb = flags & 2, acc = flags & 4;
          // Strided: each operand is a block of a wider row-major buffer (as one head's columns).
          const int pad = flags & 8 ? 3 : 0;
          const int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
          std::vector<float> a(static_cast<size_t>(ta ? K : M) * lda), b(static_cast<size_t>(tb ? N : K) * ldb);
          for (float& x : a) x = rng.uniform_float() - 0.5f;
          for (float& x : b) x = rng.uniform_float() - 0.5f;
          std::vector<float> c1(static_cast<size_t>(M) * ldc, 0.25f), c2 = c1;
          kernels::gemm_portable(a.data(), lda, b.data(), ldb, c1.data(), ldc, M, K, N, ta, tb, acc);
          kernels::gemm_eigen(a.data(), lda, b.data(), ldb, c2.data(), ldc, M, K, N, ta, tb, acc);
#if defined(POLICYLAB_LINEAR_AVX2)
          std::vector<float> c3(c1.size(), 0.25f);
          kernels::gemm_x86(a.data(), lda, b.data(), ldb, c3.data(), ldc, M, K, N, ta, tb, acc);
#else
          const std::vector<float>& c3 = c2;
#endif
          for (int i = 0; i < M; ++i)
            for (int j = 0; j < ldc; ++j) {
              const size_t at = static_cast<size_t>(i) * ldc + j;
              INFO("M " << M << " K " << K << " N " << N << " ta " << ta << " tb " << tb << " acc " << acc << " pad " << pad
                        << " C(" << i << ", " << j << ")");
              if (j >= N) {  // the padding columns are not written
                REQUIRE(c1[at] == 0.25f);
                REQUIRE(c3[at] == 0.25f);
                continue;
              }
              double want = acc ? 0.25 : 0.0;  // by the definition, in double
              for (int p = 0; p < K; ++p)
                want += static_cast<double>(ta ? a[static_cast<size_t>(p) * lda + i] : a[static_cast<size_t>(i) * lda + p]) *
                        (tb ? b[static_cast<size_t>(j) * ldb + p] : b[static_cast<size_t>(p) * ldb + j]);
              REQUIRE(c2[at] == Approx(want).margin(1e-5));
              REQUIRE(c1[at] == Approx(want).margin(1e-5));
              REQUIRE(c3[at] == Approx(want).margin(1e-5));
            }
        }
      }
    }
  }
}

TEST_CASE("Attention equals its definition with causal, key-padding and per-query masks", "[autodiff][attention]") {
  // softmax_j(q_i . k_j / sqrt(dh)) over the visible keys, times v_j, per head; in double here.
  const int B = 2, Tq = 3, Tk = 5, D = 8, H = 2, dh = D / H;
  Rng rng(11);
  std::vector<float> q(B * Tq * D), k(B * Tk * D), v(B * Tk * D);
  for (auto* x : {&q, &k, &v})
    for (float& e : *x) e = 2.0f * rng.uniform_float() - 1.0f;
  std::vector<int32_t> keys{1, 1, 0, 1, 1, /**/ 0, 1, 1, 1, 0};
  std::vector<int32_t> per_query(B * Tq * Tk);
  for (int32_t& m : per_query) m = rng.uniform_float() < 0.6f;
  for (int j = 0; j < Tk; ++j) per_query[1 * Tk + j] = 0;  // batch 0, query 1 sees nothing
  // Variant 3: the per-query masks with scores 200x as large, so that visible keys sit far more than
  // kernels::kExpFloor below a row's maximum (their weights are e^-80 or less, not the exact ~0).
  std::vector<float> q_large(q);
  for (float& e : q_large) e *= 200.0f;
  int far_below = 0;  // visible keys more than 80 below their row's maximum, in variant 3
  for (int variant = 0; variant < 4; ++variant) {
    const bool causal = variant == 0;
    const std::vector<float>& qv = variant == 3 ? q_large : q;
    Graph g;
    Expr eq = g.input("q", {B, Tq, D}), ek = g.input("k", {B, Tk, D}), ev = g.input("v", {B, Tk, D});
    Expr mask = variant == 1 ? g.int_input("m", {B, Tk}) : variant >= 2 ? g.int_input("m", {B, Tq, Tk}) : Expr{};
    Expr out = attention(eq, ek, ev, H, causal, mask);
    g.bind(eq, qv.data());
    g.bind(ek, k.data());
    g.bind(ev, v.data());
    if (variant == 1) g.bind_int(mask, keys.data());
    if (variant >= 2) g.bind_int(mask, per_query.data());
    g.forward();
    for (int b = 0; b < B; ++b)
      for (int h = 0; h < H; ++h)
        for (int i = 0; i < Tq; ++i) {
          std::vector<double> w(Tk, 0.0);
          double mx = -1e300, total = 0;
          std::vector<bool> seen(Tk);
          for (int j = 0; j < Tk; ++j) {
            seen[j] = (!causal || j <= i + Tk - Tq) && (variant != 1 || keys[b * Tk + j]) &&
                      (variant < 2 || per_query[(b * Tq + i) * Tk + j]);
            if (!seen[j]) continue;
            double s = 0;
            for (int c = 0; c < dh; ++c) s += double(qv[(b * Tq + i) * D + h * dh + c]) * k[(b * Tk + j) * D + h * dh + c];
            w[j] = s / std::sqrt(double(dh));
            mx = std::max(mx, w[j]);
          }
          for (int j = 0; j < Tk; ++j) total += seen[j] ? std::exp(w[j] - mx) : 0.0;
          for (int j = 0; j < Tk; ++j) far_below += variant == 3 && seen[j] && w[j] - mx < -80;
          for (int c = 0; c < dh; ++c) {
            double want = 0;
            for (int j = 0; j < Tk; ++j)
              if (seen[j]) want += std::exp(w[j] - mx) / total * v[(b * Tk + j) * D + h * dh + c];
            INFO("variant " << variant << " b " << b << " h " << h << " i " << i << " c " << c);
            CHECK(g.values(out)[(b * Tq + i) * D + h * dh + c] == Approx(want).margin(1e-5));
          }
        }
  }
  CHECK(far_below > 0);
  Graph g;
  Expr eq = g.input("q", {B, Tq, D}), ek = g.input("k", {B, Tk, D});
  CHECK_THROWS_WITH(attention(eq, ek, ek, H, false, g.int_input("m", {B, Tk, Tq})),
                    Catch::Contains("must be [B, Tk] or [B, Tq, Tk]"));
}
