// One reverse-mode autodiff for the whole core: a build-once, static-shape tensor tape.
//
// A Graph is built once (when a trainer is constructed) from leaves — float inputs bound to caller
// memory, integer inputs (token ids, masks, offsets), named scalar hyperparameters, and parameter
// tensors that are views into a model's flat Parameters buffer — and from operations. Every
// tensor has up to 4 dimensions; each dimension is either fixed or the active value of a *size
// variable* (batch, sequence length, number of sequences...) declared with a capacity. Buffers are
// allocated for the capacities when a node is created; each step sets the active sizes
// (set_size) and runs forward() and backward() over the active region only, so the steady-state
// training loop allocates nothing. Active tensors are stored densely in row-major order.
//
//   Graph g;                                   // or Graph g(capacity): one size variable "n"
//   int B = g.size_var("batch", 256), T = g.size_var("time", 16);
//   Expr ids = g.int_input("tokens", {B, T});
//   Expr x = embedding(g.parameter(params, wte, {V, D}), ids);   // [B, T, D]
//   ...
//   g.set_size(B, 64); g.set_size(T, 12); g.forward(); g.backward(loss);
//
// The column subset is today's loss-expression language: Graph(capacity) declares one size
// variable n; input(name) is an [n] column, param(name) a scalar, count() the scalar n, and
// mean/sum reduce everything to a scalar. PPO's loss reads as it did (algos/losses.hpp).
//
// Gradients: parameters' gradients accumulate (+=) into the Parameters gradient buffer, so the
// optimizer, clipping and checkpoints keep working on one flat buffer; every other node's gradient
// is recomputed by backward(). Broadcasting follows NumPy (right-aligned; a dimension of fixed size
// 1 broadcasts). min/max send the gradient to the selected argument (the first on ties), so
// clamp(x, lo, hi) passes the gradient for lo <= x <= hi as torch.clamp does.
//
// Room for forward mode: every op is a (forward, vector-Jacobian product) pair over raw buffers in
// tape.cpp; a Jacobian-vector product (TRPO's Fisher-vector products) is a third function per op
// over a tangent buffer per node, walked in creation order like forward().
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

namespace pl {

class Graph;
class Parameters;

constexpr int kMaxDims = 4;
// A masked logit's log-probability: exp() of it is exactly 0 in float, and 0 * it is 0 (no NaN as
// with -inf), so entropies and expectations over masked distributions stay finite.
constexpr float kMaskedLogProb = -1e9f;

// One dimension of a tensor: a fixed size, or the active value of size variable `var`.
struct Dim {
  int fixed = 1;
  int var = -1;
  Dim(int f = 1) : fixed(f) {}  // NOLINT: an int is a fixed dimension
  static Dim variable(int v) {
    Dim d;
    d.var = v;
    d.fixed = 0;
    return d;
  }
  bool operator==(const Dim& o) const { return var == o.var && (var >= 0 || fixed == o.fixed); }
  bool operator!=(const Dim& o) const { return !(*this == o); }
};
using Dims = std::vector<Dim>;

// A formula printed from a graph (Graph::formula): the expression, and the "where" lines that
// define the symbols it uses (a displayed sub-expression "r = exp(...)", a named scalar with its
// current value "clip_coef = 0.2"), in order of first use. Text and LaTeX (KaTeX) forms.
struct Formula {
  std::string text, latex;
  std::vector<std::string> where_text, where_latex;
};

// A handle to a node of a graph.
struct Expr {
  Graph* graph = nullptr;
  int id = -1;
  bool valid() const { return graph != nullptr && id >= 0; }
};

enum class Op {
  // leaves
  Input, IntInput, Param, Const, Count, Parameter,
  // elementwise binary (broadcasting)
  Add, Sub, Mul, Div, Min, Max, Greater, SafeDiv,
  // elementwise unary
  Neg, Exp, Log, SafeLog, Abs, Square, Sqrt, SafeSqrt, Tanh, Relu, Gelu, Sigmoid, Softplus,
  LogSigmoid, Log1mExp, StopGradient, ClampConst,
  Where,  // where(cond, a, b): cond a float tensor, nonzero selects a
  // reductions
  Sum, Mean,               // everything -> scalar
  SumAxis, MeanAxis, MaxAxis, LogSumExpAxis,
  // shape
  Reshape, SliceLast, Transpose12,
  // linear algebra
  MatMul, Linear, BatchMatMul,
  // indexing
  Embedding, GatherLast,
  // fused
  LogSoftmax, SoftmaxEntropy, LayerNorm, Attention,
  // segments over integer offsets
  SegmentSum, SegmentMean, SegmentBroadcast,
};

// Per-node constants of an op (axis, heads, flags, eps, clamp bounds).
struct OpAttr {
  int i0 = 0, i1 = 0, i2 = 0;
  float f0 = 0, f1 = 0;
};

class Graph {
 public:
  Graph() = default;
  // A graph with one size variable "n" of this capacity (the column loss language).
  explicit Graph(int capacity);
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // --- sizes ---
  int size_var(const std::string& name, int capacity);  // returns its index
  Dim dim(int var) const { return Dim::variable(var); }
  void set_size(int var, int n);  // 1 <= n <= capacity (0 allowed for variables declared with allow_empty)
  void set_size(int n) { set_size(0, n); }  // the first variable ("n" of Graph(capacity))
  int size(int var = 0) const { return vars_[var].active; }
  int capacity(int var = 0) const { return vars_[var].capacity; }

  // --- leaves ---
  Expr input(const std::string& name);                    // float column [n] (variable 0)
  Expr input(const std::string& name, const Dims& dims);  // float tensor bound with bind()
  Expr int_input(const std::string& name, const Dims& dims);  // int32 tensor bound with bind_int()
  Expr param(const std::string& name, float value);       // named scalar, settable between steps
  Expr constant(float value);
  Expr count();                                           // active size of variable 0, a scalar
  // A parameter tensor: a view of Parameters tensor `index` with the given fixed dims (their
  // product = the tensor's size; a tensor declared (rows, cols) column-major is row-major
  // [cols, rows]). Gradients accumulate into params.grads().
  // frozen: a view without gradient (a reference model or target network in the same graph).
  Expr parameter(Parameters& params, int index, const Dims& dims, bool frozen = false);

  void bind(const std::string& name, const float* data);
  void bind(Expr input, const float* data);
  void bind_int(Expr input, const int32_t* data);
  void set_param(const std::string& name, float value);  // throws std::invalid_argument if unknown
  bool has_param(const std::string& name) const;
  bool has_input(const std::string& name) const;

  // Names a node as an output to report (e.g. "pg_loss").
  void name_output(const std::string& name, Expr e);
  float output(const std::string& name) const;
  bool has_output(const std::string& name) const;
  Expr output_expr(const std::string& name);

  // --- evaluation ---
  void forward();             // every node
  void forward(Expr upto);    // nodes 0..upto (e.g. logits only, for inference)
  // The nodes after `done` (through `upto`, or to the end): those up to `done` already hold the
  // values of the current inputs (an encoder evaluated once, read by a rollout, then the rest).
  void forward_after(Expr done, Expr upto = Expr{});
  void backward(Expr loss);   // loss: a node with one element

  // --- reading ---
  float scalar(Expr e) const;
  const float* values(Expr e) const;
  float* mutable_values(Expr e);
  const float* gradient(Expr e) const;
  const float* gradient(const std::string& input_name) const;
  bool is_scalar(Expr e) const;
  int rank(Expr e) const;
  int extent(Expr e, int axis) const;  // active size of an axis (negative counts from the end)
  int numel(Expr e) const;             // active number of elements
  const Dims& dims(Expr e) const;
  Op op(Expr e) const;
  int num_nodes() const { return static_cast<int>(nodes_.size()); }
  int64_t allocated_floats() const;  // memory held by the graph's own buffers

  // The formula rooted at e as text: "mean(max(-adv * ratio, ...))" (docs, the browser).
  std::string to_string(Expr e) const;
  // The same as LaTeX (KaTeX), e.g. "\frac{a}{b \cdot c}".
  std::string to_latex(Expr e) const;
  // Prints node e as a symbol wherever it occurs inside another formula (an input: "A" for "adv";
  // a sub-expression: "r" for exp(logp - old_logp), defined in Formula's where lines). Returns e.
  Expr display(Expr e, const std::string& text, const std::string& latex);
  // The formula rooted at e with the definitions of the symbols it uses.
  Formula formula(Expr e) const;

  // --- building (used by the op functions below) ---
  using Attr = OpAttr;
  Expr add_node(Op op, std::initializer_list<int> args, const Dims& dims, Attr attr = {});

 private:
  struct SizeVar {
    std::string name;
    int capacity = 1, active = 1;
  };
  struct Node {
    Op op = Op::Const;
    int args[4] = {-1, -1, -1, -1};
    int nargs = 0;
    Dims dims;
    Attr attr;
    std::string name;           // Input / IntInput / Param
    bool is_int = false;        // IntInput
    bool needs_grad = false;    // some parameter, float input or differentiable node below it
    bool view = false;          // Reshape: shares its argument's buffers
    // Allocated for capacities, aligned for the widest SIMD packet: Eigen computes a peeled head
    // of an unaligned buffer with scalar libm calls and the rest with SIMD approximations, so the
    // same numbers would otherwise round differently in two graphs (a resumed run would drift).
    std::vector<float, Eigen::aligned_allocator<float>> own_value, own_grad, aux;
    float* value = nullptr;     // own_value, a bound input, a parameter view or a view's argument
    float* grad = nullptr;
    const int32_t* ints = nullptr;
    int shape[kMaxDims] = {1, 1, 1, 1};  // active extents (rank entries)
    int numel = 1;
  };
  friend struct GraphAccess;

  int capacity_numel(const Dims& d) const;
  void refresh_shapes();
  void forward_node(Node& n);
  void backward_node(Node& n);
  int find_named(Op op, const std::string& name) const;
  std::string describe(const Dims& d) const;
  std::string text(int id, bool latex, int root = -1) const;

  std::vector<SizeVar> vars_;
  std::vector<Node> nodes_;
  std::vector<std::pair<std::string, int>> outputs_;
  std::map<int, std::pair<std::string, std::string>> symbols_;  // node -> (text, LaTeX), see display()
  bool shapes_dirty_ = true;
};

// --- elementwise (broadcasting) ---
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
Expr operator/(float a, Expr b);
Expr min(Expr a, Expr b);
Expr max(Expr a, Expr b);
Expr greater(Expr a, Expr b);            // 1 where a > b else 0, no gradient
Expr clamp(Expr x, Expr lo, Expr hi);    // max(min(x, hi), lo)
Expr clamp(Expr x, float lo, float hi);  // one op; gradient passes inside [lo, hi]
Expr where(Expr cond, Expr a, Expr b);   // cond != 0 ? a : b (no gradient to cond)
Expr exp(Expr a);
Expr log(Expr a);
Expr abs(Expr a);
Expr square(Expr a);
Expr sqrt(Expr a);
Expr tanh(Expr a);
Expr relu(Expr a);
Expr gelu(Expr a);         // GPT-2's tanh approximation (Hendrycks & Gimpel 2016)
Expr sigmoid(Expr a);
Expr softplus(Expr a);     // log(1 + e^x), stable
Expr log_sigmoid(Expr a);  // -softplus(-x), stable
Expr log1mexp(Expr a);     // log(1 - e^x) for x < 0, stable near 0 and far below (x above -1e-10 taken as -1e-10)
Expr stop_gradient(Expr a);
// Domain-guarded: log(max(x, eps)) with no gradient where clamped; a / b with |b| kept >= eps
// (sign preserved, 0 counts as positive); sqrt(max(x, 0)) with the gradient 0.5 / max(y, eps).
Expr safe_log(Expr x, float eps = 1e-12f);
Expr safe_div(Expr a, Expr b, float eps = 1e-12f);
Expr safe_sqrt(Expr x, float eps = 1e-12f);

// --- reductions ---
Expr sum(Expr a);   // all elements -> scalar
Expr mean(Expr a);
Expr sum(Expr a, int axis, bool keepdim = false);  // negative axis counts from the end
Expr mean(Expr a, int axis, bool keepdim = false);
Expr max(Expr a, int axis, bool keepdim = false);  // gradient to the first maximum
Expr logsumexp(Expr a, int axis, bool keepdim = false);

// --- shape ---
Expr reshape(Expr a, const Dims& dims);              // a view (no copy); sizes must agree when active
Expr slice_last(Expr a, int start, int length);      // a[..., start:start+length]
Expr transpose12(Expr a);                            // [A, B, C, D] -> [A, C, B, D] (heads <-> time)

// --- linear algebra ---
Expr matmul(Expr a, Expr w, bool transpose_w = false);  // [..., K] x [K, N] ([N, K] transposed) -> [..., N]
Expr linear(Expr x, Expr w, Expr b);                    // x [..., K] @ w [K, N] + b [N]
// [..., M, K] x [..., K, N] -> [..., M, N] over matching leading dims; either operand transposed.
Expr batch_matmul(Expr a, Expr b, bool transpose_a = false, bool transpose_b = false);

// --- indexing ---
Expr embedding(Expr table, Expr ids);  // table [V, D], ids int [...] -> [..., D]; or a table per batch
                                       // element: table [B, V, D], ids [B, ...] -> [B, ..., D]
Expr gather_last(Expr x, Expr ids);    // x [..., V], ids int [...] -> [...], x[..., ids]

// --- fused ---
// log-softmax over the last axis; optional int mask of the same shape (0 = not allowed): masked
// entries get kMaskedLogProb and no gradient.
Expr log_softmax(Expr logits);
Expr log_softmax(Expr logits, Expr mask);
// -sum(exp(logp) * logp) over the last axis, from log-probabilities (masked entries contribute 0).
Expr softmax_entropy(Expr logp);
// (x - mean) / sqrt(var + eps) * gamma + beta over the last axis (Ba et al. 2016).
Expr layer_norm(Expr x, Expr gamma, Expr beta, float eps = 1e-5f);
// Multi-head scaled dot-product attention (Vaswani et al. 2017): q [B, Tq, D], k, v [B, Tk, D],
// `heads` heads of D / heads; causal: query i sees keys j <= i (+ offset Tk - Tq); mask (int, 0 =
// hidden) is either [B, Tk] (key padding) or [B, Tq, Tk] (a mask per query, shared by the heads: the
// Attention Model's glimpse over the nodes still allowed). A query that sees no key outputs 0.
Expr attention(Expr q, Expr k, Expr v, int heads, bool causal, Expr mask = Expr{});

// --- segments: offsets int [S + 1], segment s covers [offsets[s], offsets[s + 1]) of axis 0 ---
Expr segment_sum(Expr x, Expr offsets, Dim segments);    // [N] -> [S]
Expr segment_mean(Expr x, Expr offsets, Dim segments);   // empty segments give 0
Expr segment_broadcast(Expr x, Expr offsets, Dim items); // [S] -> [N]

}  // namespace pl
