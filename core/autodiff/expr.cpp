#include "core/autodiff/expr.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace pl {

Graph::Graph(int capacity) : capacity_(capacity), n_(capacity) {
  if (capacity < 1) throw std::invalid_argument("Graph capacity must be >= 1");
}

Expr Graph::add_node(Op op, int a, int b, float constant, bool scalar) {
  Node node;
  node.op = op;
  node.a = a;
  node.b = b;
  node.constant = constant;
  node.scalar = scalar;
  int size = scalar ? 1 : capacity_;
  node.value = Eigen::ArrayXf::Zero(size);
  node.grad = Eigen::ArrayXf::Zero(size);
  nodes_.push_back(std::move(node));
  return Expr{this, static_cast<int>(nodes_.size()) - 1};
}

int Graph::find_named(Op op, const std::string& name) const {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].op == op && nodes_[i].name == name) return static_cast<int>(i);
  return -1;
}

Expr Graph::input(const std::string& name) {
  int existing = find_named(Op::Input, name);
  if (existing >= 0) return Expr{this, existing};
  Expr e = add_node(Op::Input, -1, -1, 0, false);
  nodes_[e.id].name = name;
  return e;
}

Expr Graph::param(const std::string& name, float value) {
  int existing = find_named(Op::Param, name);
  if (existing >= 0) return Expr{this, existing};
  Expr e = add_node(Op::Param, -1, -1, value, true);
  nodes_[e.id].name = name;
  return e;
}

Expr Graph::constant(float value) { return add_node(Op::Const, -1, -1, value, true); }
Expr Graph::count() { return add_node(Op::Count, -1, -1, 0, true); }

void Graph::name_output(const std::string& name, Expr e) { outputs_.emplace_back(name, e.id); }

void Graph::set_param(const std::string& name, float value) {
  int i = find_named(Op::Param, name);
  if (i < 0) throw std::invalid_argument("loss expression has no parameter '" + name + "'");
  nodes_[i].constant = value;
}
bool Graph::has_param(const std::string& name) const { return find_named(Op::Param, name) >= 0; }
bool Graph::has_input(const std::string& name) const { return find_named(Op::Input, name) >= 0; }

void Graph::bind(const std::string& name, const float* data) {
  int i = find_named(Op::Input, name);
  if (i < 0) throw std::invalid_argument("loss expression has no input '" + name + "'");
  nodes_[i].bound = data;
}
void Graph::bind(Expr input, const float* data) { nodes_[input.id].bound = data; }

void Graph::set_size(int n) {
  if (n < 1 || n > capacity_) throw std::invalid_argument("Graph::set_size: n out of [1, capacity]");
  n_ = n;
}

bool Graph::is_scalar(Expr e) const { return nodes_[e.id].scalar; }
float Graph::scalar(Expr e) const { return nodes_[e.id].value[0]; }
const float* Graph::values(Expr e) const { return nodes_[e.id].value.data(); }
const float* Graph::gradient(Expr e) const { return nodes_[e.id].grad.data(); }
const float* Graph::gradient(const std::string& input_name) const {
  int i = find_named(Op::Input, input_name);
  if (i < 0) throw std::invalid_argument("loss expression has no input '" + input_name + "'");
  return nodes_[i].grad.data();
}
bool Graph::has_output(const std::string& name) const {
  for (const auto& o : outputs_)
    if (o.first == name) return true;
  return false;
}
Expr Graph::output_expr(const std::string& name) {
  for (const auto& o : outputs_)
    if (o.first == name) return Expr{this, o.second};
  throw std::invalid_argument("loss expression has no output '" + name + "'");
}
float Graph::output(const std::string& name) const {
  for (const auto& o : outputs_)
    if (o.first == name) return nodes_[o.second].value[0];
  throw std::invalid_argument("loss expression has no output '" + name + "'");
}

namespace {
inline float at(const Eigen::ArrayXf& v, bool scalar, int i) { return scalar ? v[0] : v[i]; }
}  // namespace

void Graph::forward() {
  const int n = n_;
  for (Node& node : nodes_) {
    const int len = node.scalar ? 1 : n;
    const Node* A = node.a >= 0 ? &nodes_[node.a] : nullptr;
    const Node* B = node.b >= 0 ? &nodes_[node.b] : nullptr;
    float* out = node.value.data();
    switch (node.op) {
      case Op::Input:
        if (!node.bound) throw std::logic_error("loss input '" + node.name + "' is not bound");
        for (int i = 0; i < n; ++i) out[i] = node.bound[i];
        break;
      case Op::Param:
      case Op::Const: out[0] = node.constant; break;
      case Op::Count: out[0] = static_cast<float>(n); break;
#define PL_BINARY(OPNAME, EXPR)                                        \
  case Op::OPNAME:                                                     \
    for (int i = 0; i < len; ++i) {                                    \
      const float x = at(A->value, A->scalar, i), y = at(B->value, B->scalar, i); \
      out[i] = (EXPR);                                                 \
    }                                                                  \
    break;
      PL_BINARY(Add, x + y)
      PL_BINARY(Sub, x - y)
      PL_BINARY(Mul, x * y)
      PL_BINARY(Div, x / y)
      PL_BINARY(Min, y < x ? y : x)
      PL_BINARY(Max, y > x ? y : x)
      PL_BINARY(Greater, x > y ? 1.0f : 0.0f)
#undef PL_BINARY
#define PL_UNARY(OPNAME, EXPR)                                         \
  case Op::OPNAME:                                                     \
    for (int i = 0; i < len; ++i) {                                    \
      const float x = A->value[A->scalar ? 0 : i];                     \
      out[i] = (EXPR);                                                 \
    }                                                                  \
    break;
      PL_UNARY(Neg, -x)
      PL_UNARY(Exp, std::exp(x))
      PL_UNARY(Log, std::log(x))
      PL_UNARY(Abs, std::fabs(x))
      PL_UNARY(Square, x * x)
      PL_UNARY(Sqrt, std::sqrt(x))
      PL_UNARY(StopGradient, x)
#undef PL_UNARY
      case Op::Mean:
      case Op::Sum: {
        // Summed in double: the result must not depend on float accumulation order quirks.
        double s = 0;
        if (A->scalar)
          s = static_cast<double>(A->value[0]) * n;
        else
          for (int i = 0; i < n; ++i) s += A->value[i];
        out[0] = static_cast<float>(node.op == Op::Mean ? s / n : s);
        break;
      }
    }
  }
}

void Graph::backward(Expr loss) {
  if (!nodes_[loss.id].scalar) throw std::invalid_argument("Graph::backward: loss must be a scalar");
  const int n = n_;
  for (Node& node : nodes_) node.grad.head(node.scalar ? 1 : n).setZero();
  nodes_[loss.id].grad[0] = 1.0f;
  // Nodes are stored in creation order, which is a topological order: walk it backwards.
  for (int id = loss.id; id >= 0; --id) {
    Node& node = nodes_[id];
    if (node.a < 0) continue;
    Node& A = nodes_[node.a];
    Node* B = node.b >= 0 ? &nodes_[node.b] : nullptr;
    const int len = node.scalar ? 1 : n;
    const float* g = node.grad.data();
    const float* y = node.value.data();
    // Adds d to the gradient of `arg` at sample i, summing over samples when arg is a broadcast scalar.
    auto acc = [](Node& arg, int i, float d) { arg.grad[arg.scalar ? 0 : i] += d; };
    switch (node.op) {
      case Op::Add:
        for (int i = 0; i < len; ++i) { acc(A, i, g[i]); acc(*B, i, g[i]); }
        break;
      case Op::Sub:
        for (int i = 0; i < len; ++i) { acc(A, i, g[i]); acc(*B, i, -g[i]); }
        break;
      case Op::Mul:
        for (int i = 0; i < len; ++i) {
          acc(A, i, g[i] * at(B->value, B->scalar, i));
          acc(*B, i, g[i] * at(A.value, A.scalar, i));
        }
        break;
      case Op::Div:
        for (int i = 0; i < len; ++i) {
          const float yv = at(B->value, B->scalar, i);
          acc(A, i, g[i] / yv);
          acc(*B, i, -g[i] * at(A.value, A.scalar, i) / (yv * yv));
        }
        break;
      case Op::Min:
      case Op::Max:
        for (int i = 0; i < len; ++i) {
          const float x = at(A.value, A.scalar, i), yv = at(B->value, B->scalar, i);
          const bool second = node.op == Op::Min ? yv < x : yv > x;
          acc(second ? *B : A, i, g[i]);
        }
        break;
      case Op::Neg:
        for (int i = 0; i < len; ++i) acc(A, i, -g[i]);
        break;
      case Op::Exp:
        for (int i = 0; i < len; ++i) acc(A, i, g[i] * y[i]);
        break;
      case Op::Log:
        for (int i = 0; i < len; ++i) acc(A, i, g[i] / at(A.value, A.scalar, i));
        break;
      case Op::Abs:
        for (int i = 0; i < len; ++i) {
          const float x = at(A.value, A.scalar, i);
          acc(A, i, x > 0 ? g[i] : (x < 0 ? -g[i] : 0.0f));
        }
        break;
      case Op::Square:
        for (int i = 0; i < len; ++i) acc(A, i, 2.0f * at(A.value, A.scalar, i) * g[i]);
        break;
      case Op::Sqrt:
        for (int i = 0; i < len; ++i) acc(A, i, y[i] > 0 ? g[i] * 0.5f / y[i] : 0.0f);
        break;
      case Op::Greater:
      case Op::StopGradient:
        break;
      case Op::Mean:
      case Op::Sum: {
        const float d = node.op == Op::Mean ? g[0] / n : g[0];
        if (A.scalar)
          A.grad[0] += d * n;
        else
          for (int i = 0; i < n; ++i) A.grad[i] += d;
        break;
      }
      default:
        break;
    }
  }
}

std::string Graph::to_string(Expr e) const {
  const Node& node = nodes_[e.id];
  auto sub = [&](int id) { return to_string(Expr{const_cast<Graph*>(this), id}); };
  std::ostringstream s;
  switch (node.op) {
    case Op::Input:
    case Op::Param: return node.name;
    case Op::Const: s << node.constant; return s.str();
    case Op::Count: return "n";
    case Op::Add: return "(" + sub(node.a) + " + " + sub(node.b) + ")";
    case Op::Sub: return "(" + sub(node.a) + " - " + sub(node.b) + ")";
    case Op::Mul: return sub(node.a) + " * " + sub(node.b);
    case Op::Div: return sub(node.a) + " / " + sub(node.b);
    case Op::Min: return "min(" + sub(node.a) + ", " + sub(node.b) + ")";
    case Op::Max: return "max(" + sub(node.a) + ", " + sub(node.b) + ")";
    case Op::Greater: return "[" + sub(node.a) + " > " + sub(node.b) + "]";
    case Op::Neg: return "-" + sub(node.a);
    case Op::Exp: return "exp(" + sub(node.a) + ")";
    case Op::Log: return "log(" + sub(node.a) + ")";
    case Op::Abs: return "abs(" + sub(node.a) + ")";
    case Op::Square: return "square(" + sub(node.a) + ")";
    case Op::Sqrt: return "sqrt(" + sub(node.a) + ")";
    case Op::StopGradient: return "sg(" + sub(node.a) + ")";
    case Op::Mean: return "mean(" + sub(node.a) + ")";
    case Op::Sum: return "sum(" + sub(node.a) + ")";
  }
  return "?";
}

namespace {
Graph& graph_of(Expr a, Expr b) {
  if (!a.graph || a.graph != b.graph) throw std::logic_error("expressions from different graphs");
  return *a.graph;
}
Expr binary(Op op, Expr a, Expr b) {
  Graph& g = graph_of(a, b);
  return g.add_node(op, a.id, b.id, 0, g.is_scalar(a) && g.is_scalar(b));
}
Expr unary(Op op, Expr a) { return a.graph->add_node(op, a.id, -1, 0, a.graph->is_scalar(a)); }
Expr lift(Expr like, float v) { return like.graph->constant(v); }
}  // namespace

Expr operator+(Expr a, Expr b) { return binary(Op::Add, a, b); }
Expr operator-(Expr a, Expr b) { return binary(Op::Sub, a, b); }
Expr operator*(Expr a, Expr b) { return binary(Op::Mul, a, b); }
Expr operator/(Expr a, Expr b) { return binary(Op::Div, a, b); }
Expr operator-(Expr a) { return unary(Op::Neg, a); }
Expr operator+(Expr a, float b) { return a + lift(a, b); }
Expr operator+(float a, Expr b) { return lift(b, a) + b; }
Expr operator-(Expr a, float b) { return a - lift(a, b); }
Expr operator-(float a, Expr b) { return lift(b, a) - b; }
Expr operator*(Expr a, float b) { return a * lift(a, b); }
Expr operator*(float a, Expr b) { return lift(b, a) * b; }
Expr operator/(Expr a, float b) { return a / lift(a, b); }
Expr exp(Expr a) { return unary(Op::Exp, a); }
Expr log(Expr a) { return unary(Op::Log, a); }
Expr abs(Expr a) { return unary(Op::Abs, a); }
Expr square(Expr a) { return unary(Op::Square, a); }
Expr sqrt(Expr a) { return unary(Op::Sqrt, a); }
Expr min(Expr a, Expr b) { return binary(Op::Min, a, b); }
Expr max(Expr a, Expr b) { return binary(Op::Max, a, b); }
Expr clamp(Expr x, Expr lo, Expr hi) { return max(min(x, hi), lo); }
Expr greater(Expr a, Expr b) { return binary(Op::Greater, a, b); }
Expr stop_gradient(Expr a) { return unary(Op::StopGradient, a); }
Expr mean(Expr a) { return a.graph->add_node(Op::Mean, a.id, -1, 0, true); }
Expr sum(Expr a) { return a.graph->add_node(Op::Sum, a.id, -1, 0, true); }

}  // namespace pl
