// A small reverse-mode autodiff over per-sample columns, for writing losses once as expressions.
//
// A Graph is built once (at trainer construction) from named inputs (per-sample columns such as the
// new log-probability, the advantage, the value), named scalar parameters (hyperparameters such as
// clip_coef that may change between iterations) and operations. forward() evaluates every node over
// the active batch size n <= capacity; backward(loss) fills the gradient of a scalar node with respect
// to every node, in particular the inputs, whose gradients then flow into the distribution and the
// network modules. Buffers are allocated when the graph is built: evaluation allocates nothing.
//
//   Graph g(256);
//   Expr ratio = exp(g.input("logp") - g.input("old_logp"));
//   Expr loss = mean(max(-g.input("adv") * ratio, -g.input("adv") * clamp(ratio, 1 - clip, 1 + clip)));
//
// Nodes are either columns (one value per sample) or scalars; binary operations broadcast a scalar
// over a column. min/max send the gradient to the selected argument (the first one on ties), so
// clamp(x, lo, hi) passes the gradient for lo <= x <= hi as torch.clamp does.
#pragma once

#include <Eigen/Core>
#include <string>
#include <vector>

namespace pl {

class Graph;

struct Expr {
  Graph* graph = nullptr;
  int id = -1;
};

enum class Op {
  Input, Param, Const, Count,           // leaves (Count: the active batch size n, a scalar)
  Add, Sub, Mul, Div, Min, Max,          // binary, with scalar broadcasting
  Neg, Exp, Log, Abs, Square, Sqrt,      // unary
  Greater,                               // indicator [a > b] (no gradient)
  StopGradient,                          // value of its argument, no gradient
  Mean, Sum                              // column -> scalar
};

class Graph {
 public:
  explicit Graph(int capacity);

  Expr input(const std::string& name);               // a per-sample column
  Expr param(const std::string& name, float value);  // a named scalar, settable with set_param
  Expr constant(float value);
  Expr count();                                      // n, the active batch size

  // Marks a node as an output to report (e.g. "pg_loss"); value(name) reads it after forward().
  void name_output(const std::string& name, Expr e);

  void set_param(const std::string& name, float value);  // throws std::invalid_argument if unknown
  bool has_param(const std::string& name) const;
  bool has_input(const std::string& name) const;
  // Points an input at n contiguous floats (valid until forward() has run).
  void bind(const std::string& name, const float* data);
  void bind(Expr input, const float* data);

  void set_size(int n);  // active batch size, 1 <= n <= capacity
  int size() const { return n_; }
  int capacity() const { return capacity_; }

  void forward();
  void backward(Expr loss);  // loss must be a scalar node

  float scalar(Expr e) const;  // value of a scalar node
  float output(const std::string& name) const;
  bool has_output(const std::string& name) const;
  Expr output_expr(const std::string& name);  // throws std::invalid_argument if unknown
  const float* values(Expr e) const;    // n values (column) or 1 (scalar)
  const float* gradient(Expr e) const;  // d loss / d node, same shape as values
  const float* gradient(const std::string& input_name) const;
  bool is_scalar(Expr e) const;

  // Text of the expression rooted at e, e.g. "mean(max(-adv * ratio, ...))" (for docs/the browser).
  std::string to_string(Expr e) const;

  // Internal: adds a node (used by the operator functions below).
  Expr add_node(Op op, int a, int b, float constant, bool scalar);

 private:
  struct Node {
    Op op;
    int a = -1, b = -1;
    float constant = 0;     // Const / Param value
    bool scalar = false;
    std::string name;       // Input / Param name
    const float* bound = nullptr;
    Eigen::ArrayXf value, grad;
  };
  int find_named(Op op, const std::string& name) const;
  std::vector<Node> nodes_;
  std::vector<std::pair<std::string, int>> outputs_;
  int capacity_, n_;
};

Expr operator+(Expr a, Expr b);
Expr operator-(Expr a, Expr b);
Expr operator*(Expr a, Expr b);
Expr operator/(Expr a, Expr b);
Expr operator-(Expr a);
Expr operator+(Expr a, float b);
Expr operator+(float a, Expr b);
Expr operator-(Expr a, float b);
Expr operator-(float a, Expr b);
Expr operator*(Expr a, float b);
Expr operator*(float a, Expr b);
Expr operator/(Expr a, float b);
Expr exp(Expr a);
Expr log(Expr a);
Expr abs(Expr a);
Expr square(Expr a);
Expr sqrt(Expr a);
Expr min(Expr a, Expr b);
Expr max(Expr a, Expr b);
Expr clamp(Expr x, Expr lo, Expr hi);  // max(min(x, hi), lo)
Expr greater(Expr a, Expr b);          // 1 where a > b else 0, no gradient
Expr stop_gradient(Expr a);
Expr mean(Expr a);
Expr sum(Expr a);

}  // namespace pl
