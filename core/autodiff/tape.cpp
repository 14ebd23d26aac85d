// The tensor tape (see tape.hpp): node construction with shape checks, active shapes, and the
// forward / vector-Jacobian product of every op. Kernels shared with inference code (the
// transformer's KV-cached sampler) live in kernels.hpp.
#include "core/autodiff/tape.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include <Eigen/Core>

#include "core/autodiff/kernels.hpp"
#include "core/nn/parameters.hpp"
#include "core/util/parallel.hpp"

namespace pl {

namespace {

// Elements per thread below which an op's loop is not split over the threads (the hand-off costs
// about a microsecond; a split pays from a few ten thousand elements).
constexpr int kParallelElements = 16384;

// A row-wise kernel that runs in passes of `rows_per_pass` rows of V elements splits over the
// threads in whole passes, at least kParallelElements elements a thread.
int passes_per_part(int V, int rows_per_pass) {
  const long long per_pass = static_cast<long long>(V) * rows_per_pass;
  return static_cast<int>(std::max<long long>(1, (kParallelElements + per_pass - 1) / per_pass));
}

// Right-aligned NumPy broadcasting of two dims lists; throws with both shapes when they clash.
bool broadcast_dims(const Dims& a, const Dims& b, Dims& out) {
  const size_t r = std::max(a.size(), b.size());
  out.assign(r, Dim(1));
  for (size_t k = 0; k < r; ++k) {
    const Dim da = k < r - a.size() ? Dim(1) : a[k - (r - a.size())];
    const Dim db = k < r - b.size() ? Dim(1) : b[k - (r - b.size())];
    if (da == db || (db.var < 0 && db.fixed == 1)) {
      out[k] = da;
    } else if (da.var < 0 && da.fixed == 1) {
      out[k] = db;
    } else {
      return false;
    }
  }
  return true;
}

// Row-major strides of `shape` (rank r) padded on the left to 4 dims, with 0 where the operand
// has extent 1 and the output does not (broadcast).
void broadcast_strides(const int* shape, int rank, const int* out_shape4, int* strides4) {
  int padded[kMaxDims];
  for (int k = 0; k < kMaxDims; ++k) padded[k] = k < kMaxDims - rank ? 1 : shape[k - (kMaxDims - rank)];
  int s = 1;
  for (int k = kMaxDims - 1; k >= 0; --k) {
    strides4[k] = (padded[k] == 1 && out_shape4[k] != 1) ? 0 : s;
    s *= padded[k];
  }
}

void pad4(const int* shape, int rank, int* out4) {
  for (int k = 0; k < kMaxDims; ++k) out4[k] = k < kMaxDims - rank ? 1 : shape[k - (kMaxDims - rank)];
}

// Calls f(out_index, a_index, b_index, c_index) over a 4-D broadcast iteration space.
template <typename F>
void for_each_broadcast(const int* s, const int* sa, const int* sb, const int* sc, F&& f) {
  int o = 0;
  for (int i0 = 0; i0 < s[0]; ++i0)
    for (int i1 = 0; i1 < s[1]; ++i1)
      for (int i2 = 0; i2 < s[2]; ++i2) {
        const int ba = i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
        const int bb = i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
        const int bc = i0 * sc[0] + i1 * sc[1] + i2 * sc[2];
        for (int i3 = 0; i3 < s[3]; ++i3, ++o) f(o, ba + i3 * sa[3], bb + i3 * sb[3], bc + i3 * sc[3]);
      }
}

// Elementwise kernels over operands that are either full (one value per output) or scalars, the
// shapes of the column loss language: the op's function is inlined into a tight loop per case.
template <typename F>
void flat_binary(float* out, const float* a, bool full_a, const float* b, bool full_b, int n, F f) {
  if (full_a && full_b) {
    for (int i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
  } else if (full_a) {
    const float y = b[0];
    for (int i = 0; i < n; ++i) out[i] = f(a[i], y);
  } else if (full_b) {
    const float x = a[0];
    for (int i = 0; i < n; ++i) out[i] = f(x, b[i]);
  } else {
    for (int i = 0; i < n; ++i) out[i] = f(a[0], b[0]);
  }
}

// Adds the vector-Jacobian products da(x, y, out, g) and db(...) to the full or scalar gradients
// (a scalar operand receives the sum over the outputs).
template <typename DA, typename DB>
void flat_binary_grad(const float* g, const float* a, bool full_a, const float* b, bool full_b, const float* y, int n,
                      float* ga, float* gb, DA da, DB db) {
  double sa = 0, sb = 0;
  for (int i = 0; i < n; ++i) {
    const float x = a[full_a ? i : 0], v = b[full_b ? i : 0];
    if (ga) {
      const float d = da(x, v, y[i], g[i]);
      if (full_a) ga[i] += d; else sa += d;
    }
    if (gb) {
      const float d = db(x, v, y[i], g[i]);
      if (full_b) gb[i] += d; else sb += d;
    }
  }
  if (ga && !full_a) ga[0] += static_cast<float>(sa);
  if (gb && !full_b) gb[0] += static_cast<float>(sb);
}

// Calls apply(out_index, a_index, b_index, c_index) over the broadcast of A, B (and C) to the
// output: a flat loop when every operand is full or a scalar, else the 4-D strided walk.
template <typename Node, typename F>
void for_each_element(const Node& n, const Node* A, const Node* B, const Node* C, F&& apply) {
  const int len = n.numel;
  const int la = A->numel, lb = B->numel, lc = C ? C->numel : 1;
  if ((la == len || la == 1) && (lb == len || lb == 1) && (lc == len || lc == 1)) {
    const int sa = la == len && len > 1 ? 1 : 0, sb = lb == len && len > 1 ? 1 : 0, sc = lc == len && len > 1 ? 1 : 0;
    for (int i = 0; i < len; ++i) apply(i, i * sa, i * sb, i * sc);
    return;
  }
  int s[kMaxDims], sa[kMaxDims], sb[kMaxDims], sc[kMaxDims] = {0, 0, 0, 0};
  pad4(n.shape, static_cast<int>(n.dims.size()), s);
  broadcast_strides(A->shape, static_cast<int>(A->dims.size()), s, sa);
  broadcast_strides(B->shape, static_cast<int>(B->dims.size()), s, sb);
  if (C) broadcast_strides(C->shape, static_cast<int>(C->dims.size()), s, sc);
  for_each_broadcast(s, sa, sb, sc, apply);
}

// Calls f(std::integral_constant<Op, op>{}) for the elementwise binary ops (and Where), so that a
// broadcast loop's body is compiled once per op: a switch on the op inside the per-element lambda
// ran as an indirect jump per element (a POMO training step's broadcast adds and products,
// issue 9).
template <typename F>
void dispatch_binary(Op op, F&& f) {
  switch (op) {
    case Op::Add: f(std::integral_constant<Op, Op::Add>{}); return;
    case Op::Sub: f(std::integral_constant<Op, Op::Sub>{}); return;
    case Op::Mul: f(std::integral_constant<Op, Op::Mul>{}); return;
    case Op::Div: f(std::integral_constant<Op, Op::Div>{}); return;
    case Op::Min: f(std::integral_constant<Op, Op::Min>{}); return;
    case Op::Max: f(std::integral_constant<Op, Op::Max>{}); return;
    case Op::Greater: f(std::integral_constant<Op, Op::Greater>{}); return;
    case Op::SafeDiv: f(std::integral_constant<Op, Op::SafeDiv>{}); return;
    case Op::Where: f(std::integral_constant<Op, Op::Where>{}); return;
    default: return;
  }
}

// A tensor seen as [outer, m, inner] around `axis` (m = the axis's extent), for reductions.
template <typename Node>
void axis_extents(const Node& a, int axis, int& outer, int& m, int& inner) {
  outer = inner = 1;
  for (int k = 0; k < axis; ++k) outer *= a.shape[k];
  for (int k = axis + 1; k < static_cast<int>(a.dims.size()); ++k) inner *= a.shape[k];
  m = a.shape[axis];
}

bool is_differentiable(Op op) { return op != Op::Greater && op != Op::StopGradient; }

int normalize_axis(int axis, int rank) {
  const int a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw std::invalid_argument("axis " + std::to_string(axis) + " out of range for rank " +
                                                      std::to_string(rank));
  return a;
}

}  // namespace

// Gives the op functions below access to node dims while building.
struct GraphAccess {
  static const Dims& dims(const Graph& g, int id) { return g.nodes_[id].dims; }
  static bool is_int(const Graph& g, int id) { return g.nodes_[id].is_int; }
};

Graph::Graph(int capacity) { size_var("n", capacity); }

int Graph::size_var(const std::string& name, int capacity) {
  if (capacity < 1) throw std::invalid_argument("size variable '" + name + "' needs a capacity >= 1");
  vars_.push_back({name, capacity, capacity});
  shapes_dirty_ = true;
  return static_cast<int>(vars_.size()) - 1;
}

void Graph::set_size(int var, int n) {
  if (var < 0 || var >= static_cast<int>(vars_.size())) throw std::invalid_argument("Graph::set_size: unknown size variable");
  SizeVar& v = vars_[var];
  if (n < 1 || n > v.capacity)
    throw std::invalid_argument("Graph::set_size: " + v.name + " = " + std::to_string(n) + " out of [1, " +
                                std::to_string(v.capacity) + "]");
  if (v.active != n) {
    v.active = n;
    shapes_dirty_ = true;
  }
}

int Graph::capacity_numel(const Dims& d) const {
  int64_t n = 1;
  for (const Dim& x : d) n *= x.var >= 0 ? vars_[x.var].capacity : x.fixed;
  if (n > (int64_t{1} << 31) - 1) throw std::invalid_argument("tensor too large");
  return static_cast<int>(n);
}

std::string Graph::describe(const Dims& d) const {
  std::string s = "[";
  for (size_t k = 0; k < d.size(); ++k) {
    if (k) s += ", ";
    s += d[k].var >= 0 ? vars_[d[k].var].name : std::to_string(d[k].fixed);
  }
  return s + "]";
}

Expr Graph::add_node(Op op, std::initializer_list<int> args, const Dims& dims, Attr attr) {
  if (dims.size() > static_cast<size_t>(kMaxDims)) throw std::invalid_argument("tensors have at most 4 dimensions");
  for (const Dim& d : dims)
    if (d.var >= static_cast<int>(vars_.size())) throw std::invalid_argument("unknown size variable in dims");
  Node node;
  node.op = op;
  node.dims = dims;
  node.attr = attr;
  for (int a : args) {
    if (a < 0) continue;
    node.args[node.nargs++] = a;
    if (nodes_[a].needs_grad && is_differentiable(op)) node.needs_grad = true;
  }
  const int cap = capacity_numel(dims);
  if (op == Op::Reshape) {
    node.view = true;
  } else if (op != Op::Input && op != Op::IntInput && op != Op::Parameter) {
    node.own_value.assign(static_cast<size_t>(cap), 0.0f);
    node.value = node.own_value.data();
  }
  nodes_.push_back(std::move(node));
  Node& n = nodes_.back();
  // Inputs and hyperparameters get gradients too: d loss / d clip_coef is worth seeing.
  if (op == Op::Input || op == Op::Param) n.needs_grad = true;
  if (n.needs_grad && !n.view && op != Op::Parameter) {
    n.own_grad.assign(static_cast<size_t>(cap), 0.0f);
    n.grad = n.own_grad.data();
  }
  if (n.view) {
    n.value = nodes_[n.args[0]].value;
    n.grad = nodes_[n.args[0]].grad;
  }
  // Saved activations for the backward pass.
  switch (op) {
    case Op::LayerNorm: n.aux.assign(2 * static_cast<size_t>(cap / std::max(1, n.dims.back().fixed)), 0.0f); break;
    case Op::MaxAxis:
    case Op::Gelu: n.aux.assign(static_cast<size_t>(cap), 0.0f); break;
    case Op::Attention: {
      // probabilities [B, heads, Tk, Tq], then a scratch [B, Tq, Tk] (the forward pass's key-major
      // query mask, the backward pass's dP)
      const Dims& kd = nodes_[n.args[1]].dims;
      const int64_t tk = kd[1].var >= 0 ? vars_[kd[1].var].capacity : kd[1].fixed;
      n.aux.assign(static_cast<size_t>(cap / n.dims.back().fixed) * (attr.i0 + 1) * tk, 0.0f);
      break;
    }
    default: break;
  }
  shapes_dirty_ = true;
  return Expr{this, static_cast<int>(nodes_.size()) - 1};
}

int Graph::find_named(Op op, const std::string& name) const {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].op == op && nodes_[i].name == name) return static_cast<int>(i);
  return -1;
}

Expr Graph::input(const std::string& name) {
  if (vars_.empty()) throw std::logic_error("Graph::input(name) needs Graph(capacity)");
  return input(name, {dim(0)});
}

Expr Graph::input(const std::string& name, const Dims& dims) {
  const int existing = find_named(Op::Input, name);
  if (existing >= 0) return Expr{this, existing};
  Expr e = add_node(Op::Input, {}, dims);
  nodes_[e.id].name = name;
  return e;
}

Expr Graph::int_input(const std::string& name, const Dims& dims) {
  const int existing = find_named(Op::IntInput, name);
  if (existing >= 0) return Expr{this, existing};
  Expr e = add_node(Op::IntInput, {}, dims);
  nodes_[e.id].name = name;
  nodes_[e.id].is_int = true;
  return e;
}

Expr Graph::param(const std::string& name, float value) {
  const int existing = find_named(Op::Param, name);
  if (existing >= 0) return Expr{this, existing};
  Expr e = add_node(Op::Param, {}, {});
  nodes_[e.id].name = name;
  nodes_[e.id].attr.f0 = value;
  return e;
}

Expr Graph::constant(float value) {
  Expr e = add_node(Op::Const, {}, {});
  nodes_[e.id].attr.f0 = value;
  return e;
}

Expr Graph::count() { return add_node(Op::Count, {}, {}); }

Expr Graph::parameter(Parameters& params, int index, const Dims& dims, bool frozen) {
  const TensorInfo& t = params.tensors().at(static_cast<size_t>(index));
  int64_t n = 1;
  for (const Dim& d : dims) {
    if (d.var >= 0) throw std::invalid_argument("parameter '" + t.name + "' must have fixed dims");
    n *= d.fixed;
  }
  if (n != t.size())
    throw std::invalid_argument("parameter '" + t.name + "' has " + std::to_string(t.size()) + " values, dims " +
                                describe(dims) + " hold " + std::to_string(n));
  Expr e = add_node(Op::Parameter, {}, dims);
  Node& node = nodes_[e.id];
  node.name = t.name;
  node.needs_grad = !frozen;
  node.value = params.values().data() + t.offset;
  node.grad = frozen ? nullptr : params.grads().data() + t.offset;
  return e;
}

void Graph::bind(const std::string& name, const float* data) {
  const int i = find_named(Op::Input, name);
  if (i < 0) throw std::invalid_argument("graph has no input '" + name + "'");
  nodes_[i].value = const_cast<float*>(data);  // inputs are never written
}
void Graph::bind(Expr input, const float* data) { nodes_[input.id].value = const_cast<float*>(data); }
void Graph::bind_int(Expr input, const int32_t* data) { nodes_[input.id].ints = data; }

void Graph::set_param(const std::string& name, float value) {
  const int i = find_named(Op::Param, name);
  if (i < 0) throw std::invalid_argument("graph has no parameter '" + name + "'");
  nodes_[i].attr.f0 = value;
}
bool Graph::has_param(const std::string& name) const { return find_named(Op::Param, name) >= 0; }
bool Graph::has_input(const std::string& name) const { return find_named(Op::Input, name) >= 0; }

void Graph::name_output(const std::string& name, Expr e) { outputs_.emplace_back(name, e.id); }
bool Graph::has_output(const std::string& name) const {
  for (const auto& o : outputs_)
    if (o.first == name) return true;
  return false;
}
Expr Graph::output_expr(const std::string& name) {
  for (const auto& o : outputs_)
    if (o.first == name) return Expr{this, o.second};
  throw std::invalid_argument("graph has no output '" + name + "'");
}
float Graph::output(const std::string& name) const {
  for (const auto& o : outputs_)
    if (o.first == name) return nodes_[o.second].value[0];
  throw std::invalid_argument("graph has no output '" + name + "'");
}

float Graph::scalar(Expr e) const { return nodes_[e.id].value[0]; }
const float* Graph::values(Expr e) const { return nodes_[e.id].value; }
float* Graph::mutable_values(Expr e) { return nodes_[e.id].value; }
const float* Graph::gradient(Expr e) const { return nodes_[e.id].grad; }
const float* Graph::gradient(const std::string& input_name) const {
  const int i = find_named(Op::Input, input_name);
  if (i < 0) throw std::invalid_argument("graph has no input '" + input_name + "'");
  return nodes_[i].grad;
}
bool Graph::is_scalar(Expr e) const { return nodes_[e.id].dims.empty(); }
int Graph::rank(Expr e) const { return static_cast<int>(nodes_[e.id].dims.size()); }
const Dims& Graph::dims(Expr e) const { return nodes_[e.id].dims; }
Op Graph::op(Expr e) const { return nodes_[e.id].op; }
int Graph::extent(Expr e, int axis) const {
  const_cast<Graph*>(this)->refresh_shapes();
  const Node& n = nodes_[e.id];
  return n.shape[normalize_axis(axis, static_cast<int>(n.dims.size()))];
}
int Graph::numel(Expr e) const {
  const_cast<Graph*>(this)->refresh_shapes();
  return nodes_[e.id].numel;
}
int64_t Graph::allocated_floats() const {
  int64_t total = 0;
  for (const Node& n : nodes_) total += n.own_value.size() + n.own_grad.size() + n.aux.size();
  return total;
}

void Graph::refresh_shapes() {
  if (!shapes_dirty_) return;
  for (Node& n : nodes_) {
    n.numel = 1;
    for (size_t k = 0; k < n.dims.size(); ++k) {
      n.shape[k] = n.dims[k].var >= 0 ? vars_[n.dims[k].var].active : n.dims[k].fixed;
      n.numel *= n.shape[k];
    }
    if (n.op == Op::Reshape && n.numel != nodes_[n.args[0]].numel)
      throw std::invalid_argument("reshape to " + describe(n.dims) + ": " + std::to_string(n.numel) +
                                  " elements at the active sizes, its argument has " +
                                  std::to_string(nodes_[n.args[0]].numel));
  }
  shapes_dirty_ = false;
}

void Graph::forward() {
  refresh_shapes();
  for (Node& n : nodes_) forward_node(n);
}

void Graph::forward(Expr upto) {
  refresh_shapes();
  for (int i = 0; i <= upto.id; ++i) forward_node(nodes_[i]);
}

void Graph::forward_after(Expr done, Expr upto) {
  const int last = upto.valid() ? upto.id : static_cast<int>(nodes_.size()) - 1;
  if (!done.valid() || done.id > last) throw std::invalid_argument("Graph::forward_after: `done` must precede `upto`");
  refresh_shapes();
  for (int i = done.id + 1; i <= last; ++i) forward_node(nodes_[i]);
}

void Graph::backward(Expr loss) {
  refresh_shapes();
  if (nodes_[loss.id].numel != 1) throw std::invalid_argument("Graph::backward: the loss must have one element");
  for (int i = 0; i <= loss.id; ++i) {
    Node& n = nodes_[i];
    if (!n.needs_grad || n.view || n.op == Op::Parameter) continue;
    // Large gradients are cleared by all threads (a few % of a POMO step on one).
    float* grad = n.grad;
    parallel::for_range(n.numel, kParallelElements,
                        [grad](int begin, int end, int) { std::fill(grad + begin, grad + end, 0.0f); });
  }
  if (!nodes_[loss.id].needs_grad) return;
  nodes_[loss.id].grad[0] = 1.0f;
  for (int i = loss.id; i >= 0; --i) {
    Node& n = nodes_[i];
    if (n.needs_grad && n.nargs > 0) backward_node(n);
  }
}

// ---------------------------------------------------------------------------------------------
// Forward

namespace {
// f(b) for each element of a batched product: split over the threads when there are several (each
// product then serial: the same kernels in the same order, so the same numbers; a POMO step's
// pointer products are 16 of 380 x 64 x 20, each too small to split well by rows), else the one
// product split by rows.
template <typename F>
void for_each_batch(int batches, const F& f) {
  if (batches == 1) {
    f(0);
    return;
  }
  parallel::for_range(batches, 1, [&](int begin, int end, int) {
    for (int b = begin; b < end; ++b) f(b);
  });
}
}  // namespace

void Graph::forward_node(Node& n) {
  Node* A = n.nargs > 0 ? &nodes_[n.args[0]] : nullptr;
  Node* B = n.nargs > 1 ? &nodes_[n.args[1]] : nullptr;
  Node* C = n.nargs > 2 ? &nodes_[n.args[2]] : nullptr;
  float* out = n.value;
  const int len = n.numel;
  const int rank = static_cast<int>(n.dims.size());
  switch (n.op) {
    case Op::Input:
      if (!n.value) throw std::logic_error("graph input '" + n.name + "' is not bound");
      return;
    case Op::IntInput:
      if (!n.ints) throw std::logic_error("graph input '" + n.name + "' is not bound");
      return;
    case Op::Parameter: return;
    case Op::Param:
    case Op::Const: out[0] = n.attr.f0; return;
    case Op::Count: out[0] = static_cast<float>(vars_[0].active); return;
    case Op::Reshape:
      n.value = A->value;
      n.grad = A->grad;
      return;
    default: break;
  }

  switch (n.op) {
    case Op::Add: case Op::Sub: case Op::Mul: case Op::Div: case Op::Min: case Op::Max: case Op::Greater:
    case Op::SafeDiv: case Op::Where: {
      const float* a = A->value;
      const float* b = B->value;
      const float eps = n.attr.f0;
      if (!C && (A->numel == len || A->numel == 1) && (B->numel == len || B->numel == 1)) {
        const bool fa = A->numel == len && len > 1, fb = B->numel == len && len > 1;
        switch (n.op) {
          case Op::Add: flat_binary(out, a, fa, b, fb, len, [](float x, float y) { return x + y; }); return;
          case Op::Sub: flat_binary(out, a, fa, b, fb, len, [](float x, float y) { return x - y; }); return;
          case Op::Mul: flat_binary(out, a, fa, b, fb, len, [](float x, float y) { return x * y; }); return;
          case Op::Div: flat_binary(out, a, fa, b, fb, len, [](float x, float y) { return x / y; }); return;
          case Op::Min: flat_binary(out, a, fa, b, fb, len, [](float x, float y) { return y < x ? y : x; }); return;
          case Op::Max: flat_binary(out, a, fa, b, fb, len, [](float x, float y) { return y > x ? y : x; }); return;
          case Op::Greater:
            flat_binary(out, a, fa, b, fb, len, [](float x, float y) { return x > y ? 1.0f : 0.0f; });
            return;
          case Op::SafeDiv:
            flat_binary(out, a, fa, b, fb, len,
                        [eps](float x, float y) { return x / kernels::guard_denominator(y, eps); });
            return;
          default: break;
        }
      }
      dispatch_binary(n.op, [&](auto tag) {
        constexpr Op op = decltype(tag)::value;
        for_each_element(n, A, B, C, [&](int o, int ia, int ib, int ic) {
          const float x = a[ia], y = b[ib];
          switch (op) {
            case Op::Add: out[o] = x + y; break;
            case Op::Sub: out[o] = x - y; break;
            case Op::Mul: out[o] = x * y; break;
            case Op::Div: out[o] = x / y; break;
            case Op::Min: out[o] = y < x ? y : x; break;
            case Op::Max: out[o] = y > x ? y : x; break;
            case Op::Greater: out[o] = x > y ? 1.0f : 0.0f; break;
            case Op::SafeDiv: out[o] = x / kernels::guard_denominator(y, eps); break;
            case Op::Where: out[o] = x != 0.0f ? y : C->value[ic]; break;
            default: break;
          }
        });
      });
      return;
    }
    default: break;
  }

  switch (n.op) {
#define PL_UNARY(OPNAME, EXPR)            \
  case Op::OPNAME: {                      \
    const float* a = A->value;            \
    for (int i = 0; i < len; ++i) {       \
      const float x = a[i];               \
      out[i] = (EXPR);                    \
    }                                     \
    return;                               \
  }
    PL_UNARY(Neg, -x)
    PL_UNARY(Log, std::log(x))
    PL_UNARY(SafeLog, std::log(std::max(x, n.attr.f0)))
    PL_UNARY(Abs, std::fabs(x))
    PL_UNARY(Square, x * x)
    PL_UNARY(Sqrt, std::sqrt(x))
    PL_UNARY(SafeSqrt, std::sqrt(std::max(x, 0.0f)))
    PL_UNARY(Relu, x > 0 ? x : 0.0f)
    PL_UNARY(Sigmoid, kernels::sigmoid(x))
    PL_UNARY(Softplus, kernels::softplus(x))
    PL_UNARY(LogSigmoid, -kernels::softplus(-x))
    PL_UNARY(Log1mExp, kernels::log1mexp(x))
    PL_UNARY(StopGradient, x)
    PL_UNARY(ClampConst, std::min(std::max(x, n.attr.f0), n.attr.f1))
#undef PL_UNARY
    case Op::Gelu: kernels::gelu_forward(A->value, out, n.aux.data(), len); return;
    // Vectorised through Eigen (its float tanh and exp are SIMD polynomial approximations; libm's
    // are scalar calls).
    case Op::Tanh: Eigen::Map<Eigen::ArrayXf>(out, len) = Eigen::Map<const Eigen::ArrayXf>(A->value, len).tanh(); return;
    case Op::Exp: Eigen::Map<Eigen::ArrayXf>(out, len) = Eigen::Map<const Eigen::ArrayXf>(A->value, len).exp(); return;
    case Op::Sum:
    case Op::Mean: {
      // Summed in double: the result must not depend on float accumulation order quirks.
      double s = 0;
      for (int i = 0; i < A->numel; ++i) s += A->value[i];
      out[0] = static_cast<float>(n.op == Op::Mean ? s / A->numel : s);
      return;
    }
    case Op::SumAxis: case Op::MeanAxis: case Op::MaxAxis: case Op::LogSumExpAxis: {
      int outer, m, inner;
      axis_extents(*A, n.attr.i0, outer, m, inner);
      const float* a = A->value;
      for (int o = 0; o < outer; ++o)
        for (int i = 0; i < inner; ++i) {
          const float* col = a + static_cast<size_t>(o) * m * inner + i;
          float& y = out[o * inner + i];
          if (n.op == Op::MaxAxis || n.op == Op::LogSumExpAxis) {
            int best = 0;
            for (int j = 1; j < m; ++j)
              if (col[j * inner] > col[best * inner]) best = j;
            const float mx = col[best * inner];
            if (n.op == Op::MaxAxis) {
              y = mx;
              n.aux[o * inner + i] = static_cast<float>(best);
            } else {
              double s = 0;
              for (int j = 0; j < m; ++j) s += kernels::exp_or_zero(static_cast<double>(col[j * inner]) - mx);
              y = mx + static_cast<float>(std::log(s));
            }
          } else {
            double s = 0;
            for (int j = 0; j < m; ++j) s += col[j * inner];
            y = static_cast<float>(n.op == Op::MeanAxis ? s / m : s);
          }
        }
      return;
    }
    case Op::SliceLast: {
      const int w = A->shape[A->dims.size() - 1], start = n.attr.i0, l = n.attr.i1;
      const int rows = len / l;
      for (int r = 0; r < rows; ++r) std::copy(A->value + r * w + start, A->value + r * w + start + l, out + r * l);
      return;
    }
    case Op::Transpose12: {
      int s[kMaxDims];
      pad4(A->shape, static_cast<int>(A->dims.size()), s);
      // in [s0, s1, s2, s3] -> out [s0, s2, s1, s3]
      for (int i0 = 0; i0 < s[0]; ++i0)
        for (int i1 = 0; i1 < s[1]; ++i1)
          for (int i2 = 0; i2 < s[2]; ++i2)
            std::copy_n(A->value + ((i0 * s[1] + i1) * s[2] + i2) * s[3], s[3],
                        out + ((i0 * s[2] + i2) * s[1] + i1) * s[3]);
      return;
    }
    case Op::MatMul: {
      const int K = A->shape[A->dims.size() - 1];
      const int M = A->numel / K;
      const int N = n.shape[rank - 1];
      kernels::gemm(A->value, B->value, out, M, K, N, false, n.attr.i0 != 0, false);
      return;
    }
    case Op::Linear: {
      const int K = A->shape[A->dims.size() - 1];
      const int M = A->numel / K;
      const int N = n.shape[rank - 1];
      kernels::gemm(A->value, B->value, out, M, K, N, false, false, false);
      kernels::add_row_vector(out, C->value, M, N);
      return;
    }
    case Op::BatchMatMul: {
      const int ra = static_cast<int>(A->dims.size()), rb = static_cast<int>(B->dims.size());
      const bool ta = n.attr.i0 != 0, tb = n.attr.i1 != 0;
      const int M = ta ? A->shape[ra - 1] : A->shape[ra - 2], K = ta ? A->shape[ra - 2] : A->shape[ra - 1];
      const int N = tb ? B->shape[rb - 2] : B->shape[rb - 1];
      const int batches = len / (M * N);
      for_each_batch(batches, [&](int b) {
        kernels::gemm(A->value + static_cast<size_t>(b) * M * K, B->value + static_cast<size_t>(b) * K * N,
                      out + static_cast<size_t>(b) * M * N, M, K, N, ta, tb, false);
      });
      return;
    }
    case Op::Embedding: {
      // A table per batch element ([B, V, D], ids [B, ...]) indexes its own rows: ids of element b
      // read table b (the Attention Model's context picks node embeddings of its own instance).
      const bool batched = A->dims.size() == 3;
      const int V = A->shape[batched ? 1 : 0], D = A->shape[batched ? 2 : 1];
      const int per_table = batched ? B->numel / A->shape[0] : B->numel;
      for (int i = 0; i < B->numel; ++i) {
        const int id = B->ints[i];
        if (id < 0 || id >= V)
          throw std::out_of_range("embedding: id " + std::to_string(id) + " outside [0, " + std::to_string(V) + ")");
        const size_t row = static_cast<size_t>(i / per_table) * V + id;
        std::copy_n(A->value + row * D, D, out + static_cast<size_t>(i) * D);
      }
      return;
    }
    case Op::GatherLast: {
      const int V = A->shape[A->dims.size() - 1];
      for (int i = 0; i < len; ++i) {
        const int id = B->ints[i];
        if (id < 0 || id >= V)
          throw std::out_of_range("gather: index " + std::to_string(id) + " outside [0, " + std::to_string(V) + ")");
        out[i] = A->value[static_cast<size_t>(i) * V + id];
      }
      return;
    }
    case Op::LogSoftmax: {
      const int V = n.shape[rank - 1];
      const int rows = len / V;
      const int32_t* mask = B ? B->ints : nullptr;
      // Rows are independent: large tensors (the AM decoder's [B, R, n]) split over the threads, in
      // whole passes of the kernel (kernels::kLogSoftmaxPassRows: the same bits with any split).
      constexpr int kPass = kernels::kLogSoftmaxPassRows;
      const int passes = (rows + kPass - 1) / kPass;
      parallel::for_range(passes, passes_per_part(V, kPass), [&](int first_pass, int end_pass, int) {
        const int begin = first_pass * kPass, end = std::min(rows, end_pass * kPass);
        const size_t first = static_cast<size_t>(begin) * V;
        const int32_t* m = mask ? mask + first : nullptr;
        kernels::log_softmax_rows(
            A->value + first, [m, V](int r) { return m ? m + static_cast<size_t>(r) * V : nullptr; }, out + first,
            end - begin, V);
      });
      return;
    }
    case Op::SoftmaxEntropy: {
      const int V = A->shape[A->dims.size() - 1];
      for (int r = 0; r < len; ++r) {
        const float* lp = A->value + static_cast<size_t>(r) * V;
        double h = 0;
        for (int j = 0; j < V; ++j) h -= static_cast<double>(kernels::exp_or_zero(lp[j])) * lp[j];
        out[r] = static_cast<float>(h);
      }
      return;
    }
    case Op::LayerNorm: {
      const int D = n.shape[rank - 1];
      const int rows = len / D;
      for (int r = 0; r < rows; ++r)
        kernels::layer_norm_row(A->value + static_cast<size_t>(r) * D, B->value, C->value, out + static_cast<size_t>(r) * D,
                                D, n.attr.f0, &n.aux[2 * r], &n.aux[2 * r + 1]);
      return;
    }
    case Op::Attention: {
      const Node& K = *B;
      const Node& V = nodes_[n.args[2]];
      const int32_t* mask = n.nargs > 3 ? nodes_[n.args[3]].ints : nullptr;
      const bool per_query = n.attr.i2 != 0;
      const int batch = A->shape[0], tq = A->shape[1], tk = K.shape[1], D = A->shape[2];
      const size_t probs = n.aux.size() / (n.attr.i0 + 1) * n.attr.i0;  // at capacity; the scratch follows
      kernels::attention_forward(A->value, K.value, V.value, per_query ? nullptr : mask, per_query ? mask : nullptr, out,
                                 n.aux.data(), n.aux.data() + probs, batch, tq, tk, D, n.attr.i0, n.attr.i1 != 0);
      return;
    }
    case Op::SegmentSum:
    case Op::SegmentMean: {
      const int S = n.shape[0];
      const int inner = len / S;
      const int32_t* off = B->ints;
      const int items = A->shape[0];
      for (int s = 0; s < S; ++s) {
        if (off[s] < 0 || off[s + 1] < off[s] || off[s + 1] > items)
          throw std::out_of_range("segment offsets must be non-decreasing within [0, " + std::to_string(items) + "]");
        const int count = off[s + 1] - off[s];
        for (int i = 0; i < inner; ++i) {
          double acc = 0;
          for (int j = off[s]; j < off[s + 1]; ++j) acc += A->value[static_cast<size_t>(j) * inner + i];
          out[s * inner + i] = static_cast<float>(n.op == Op::SegmentMean ? (count > 0 ? acc / count : 0.0) : acc);
        }
      }
      return;
    }
    case Op::SegmentBroadcast: {
      const int S = A->shape[0];
      const int inner = A->numel / S;
      const int32_t* off = B->ints;
      const int items = n.shape[0];
      std::fill(out, out + len, 0.0f);
      for (int s = 0; s < S; ++s) {
        if (off[s] < 0 || off[s + 1] < off[s] || off[s + 1] > items)
          throw std::out_of_range("segment offsets must be non-decreasing within [0, " + std::to_string(items) + "]");
        for (int j = off[s]; j < off[s + 1]; ++j)
          std::copy_n(A->value + static_cast<size_t>(s) * inner, inner, out + static_cast<size_t>(j) * inner);
      }
      return;
    }
    default: throw std::logic_error("forward: unhandled op");
  }
}

// ---------------------------------------------------------------------------------------------
// Backward: each case adds d loss / d argument given g = d loss / d node (vector-Jacobian product).

void Graph::backward_node(Node& n) {
  Node* A = n.nargs > 0 ? &nodes_[n.args[0]] : nullptr;
  Node* B = n.nargs > 1 ? &nodes_[n.args[1]] : nullptr;
  Node* C = n.nargs > 2 ? &nodes_[n.args[2]] : nullptr;
  const float* g = n.grad;
  const float* y = n.value;
  const int len = n.numel;
  const int rank = static_cast<int>(n.dims.size());
  float* ga = A && A->needs_grad ? A->grad : nullptr;
  float* gb = B && B->needs_grad ? B->grad : nullptr;
  float* gc = C && C->needs_grad ? C->grad : nullptr;

  switch (n.op) {
    case Op::Reshape: return;  // shares its argument's gradient buffer
    case Op::Add: case Op::Sub: case Op::Mul: case Op::Div: case Op::Min: case Op::Max: case Op::SafeDiv:
    case Op::Where: {
      const float* a = A->value;
      const float* b = B->value;
      const float eps = n.attr.f0;
      if (!C && (A->numel == len || A->numel == 1) && (B->numel == len || B->numel == 1)) {
        const bool fa = A->numel == len && len > 1, fb = B->numel == len && len > 1;
        switch (n.op) {
          case Op::Add:
            flat_binary_grad(g, a, fa, b, fb, y, len, ga, gb, [](float, float, float, float d) { return d; },
                             [](float, float, float, float d) { return d; });
            return;
          case Op::Sub:
            flat_binary_grad(g, a, fa, b, fb, y, len, ga, gb, [](float, float, float, float d) { return d; },
                             [](float, float, float, float d) { return -d; });
            return;
          case Op::Mul:
            flat_binary_grad(g, a, fa, b, fb, y, len, ga, gb, [](float, float v, float, float d) { return d * v; },
                             [](float x, float, float, float d) { return d * x; });
            return;
          case Op::Div:
            flat_binary_grad(g, a, fa, b, fb, y, len, ga, gb, [](float, float v, float, float d) { return d / v; },
                             [](float x, float v, float, float d) { return -d * x / (v * v); });
            return;
          case Op::Min:
            flat_binary_grad(g, a, fa, b, fb, y, len, ga, gb,
                             [](float x, float v, float, float d) { return v < x ? 0.0f : d; },
                             [](float x, float v, float, float d) { return v < x ? d : 0.0f; });
            return;
          case Op::Max:
            flat_binary_grad(g, a, fa, b, fb, y, len, ga, gb,
                             [](float x, float v, float, float d) { return v > x ? 0.0f : d; },
                             [](float x, float v, float, float d) { return v > x ? d : 0.0f; });
            return;
          case Op::SafeDiv:
            flat_binary_grad(
                g, a, fa, b, fb, y, len, ga, gb,
                [eps](float, float v, float, float d) { return d / kernels::guard_denominator(v, eps); },
                [eps](float x, float v, float, float d) {
                  const float den = kernels::guard_denominator(v, eps);
                  return std::fabs(v) >= eps ? -d * x / (den * den) : 0.0f;
                });
            return;
          default: break;
        }
      }
      dispatch_binary(n.op, [&](auto tag) {
        constexpr Op op = decltype(tag)::value;
        for_each_element(n, A, B, C, [&](int o, int ia, int ib, int ic) {
          const float d = g[o];
          const float x = a[ia], v = b[ib];
          switch (op) {
            case Op::Add:
              if (ga) ga[ia] += d;
              if (gb) gb[ib] += d;
              break;
            case Op::Sub:
              if (ga) ga[ia] += d;
              if (gb) gb[ib] -= d;
              break;
            case Op::Mul:
              if (ga) ga[ia] += d * v;
              if (gb) gb[ib] += d * x;
              break;
            case Op::Div:
              if (ga) ga[ia] += d / v;
              if (gb) gb[ib] -= d * x / (v * v);
              break;
            case Op::SafeDiv: {
              const float den = kernels::guard_denominator(v, eps);
              if (ga) ga[ia] += d / den;
              if (gb && std::fabs(v) >= eps) gb[ib] -= d * x / (den * den);
              break;
            }
            case Op::Min:
            case Op::Max: {
              const bool second = op == Op::Min ? v < x : v > x;
              if (second) {
                if (gb) gb[ib] += d;
              } else if (ga) {
                ga[ia] += d;
              }
              break;
            }
            case Op::Where:  // a = cond (no gradient), b = if-true, c = if-false
              if (x != 0.0f) {
                if (gb) gb[ib] += d;
              } else if (gc) {
                gc[ic] += d;
              }
              break;
            default: break;
          }
        });
      });
      return;
    }
    default: break;
  }
  if (!ga && n.op != Op::Linear && n.op != Op::MatMul && n.op != Op::BatchMatMul && n.op != Op::LayerNorm &&
      n.op != Op::Attention)
    return;

  switch (n.op) {
#define PL_UNARY_GRAD(OPNAME, EXPR)                 \
  case Op::OPNAME: {                                \
    const float* a = A->value;                      \
    for (int i = 0; i < len; ++i) {                 \
      const float x = a[i], d = g[i], out = y[i];   \
      (void)x;                                      \
      (void)out;                                    \
      ga[i] += (EXPR);                              \
    }                                               \
    return;                                         \
  }
    PL_UNARY_GRAD(Neg, -d)
    PL_UNARY_GRAD(Exp, d * out)
    PL_UNARY_GRAD(Log, d / x)
    PL_UNARY_GRAD(SafeLog, x > n.attr.f0 ? d / x : 0.0f)
    PL_UNARY_GRAD(Abs, x > 0 ? d : (x < 0 ? -d : 0.0f))
    PL_UNARY_GRAD(Square, 2.0f * x * d)
    PL_UNARY_GRAD(Sqrt, out > 0 ? d * 0.5f / out : 0.0f)
    PL_UNARY_GRAD(SafeSqrt, x > 0 ? d * 0.5f / std::max(out, n.attr.f0) : 0.0f)
    PL_UNARY_GRAD(Tanh, d * (1.0f - out * out))
    PL_UNARY_GRAD(Relu, x > 0 ? d : 0.0f)
    PL_UNARY_GRAD(Sigmoid, d * out * (1.0f - out))
    PL_UNARY_GRAD(Softplus, d * kernels::sigmoid(x))
    PL_UNARY_GRAD(LogSigmoid, d * kernels::sigmoid(-x))
    PL_UNARY_GRAD(Log1mExp, d * kernels::log1mexp_grad(x))
    PL_UNARY_GRAD(ClampConst, (x >= n.attr.f0 && x <= n.attr.f1) ? d : 0.0f)
#undef PL_UNARY_GRAD
    case Op::Gelu: kernels::gelu_backward(A->value, n.aux.data(), g, ga, len); return;
    case Op::Sum:
    case Op::Mean: {
      const float d = n.op == Op::Mean ? g[0] / A->numel : g[0];
      for (int i = 0; i < A->numel; ++i) ga[i] += d;
      return;
    }
    case Op::SumAxis: case Op::MeanAxis: case Op::MaxAxis: case Op::LogSumExpAxis: {
      int outer, m, inner;
      axis_extents(*A, n.attr.i0, outer, m, inner);
      for (int o = 0; o < outer; ++o)
        for (int i = 0; i < inner; ++i) {
          const int oi = o * inner + i;
          const size_t base = static_cast<size_t>(o) * m * inner + i;
          if (n.op == Op::MaxAxis) {
            ga[base + static_cast<size_t>(n.aux[oi]) * inner] += g[oi];
          } else if (n.op == Op::LogSumExpAxis) {
            for (int j = 0; j < m; ++j) ga[base + j * inner] += g[oi] * kernels::exp_or_zero(A->value[base + j * inner] - y[oi]);
          } else {
            const float d = n.op == Op::MeanAxis ? g[oi] / m : g[oi];
            for (int j = 0; j < m; ++j) ga[base + j * inner] += d;
          }
        }
      return;
    }
    case Op::SliceLast: {
      const int w = A->shape[A->dims.size() - 1], start = n.attr.i0, l = n.attr.i1;
      const int rows = len / l;
      for (int r = 0; r < rows; ++r)
        for (int j = 0; j < l; ++j) ga[r * w + start + j] += g[r * l + j];
      return;
    }
    case Op::Transpose12: {
      int s[kMaxDims];
      pad4(A->shape, static_cast<int>(A->dims.size()), s);
      for (int i0 = 0; i0 < s[0]; ++i0)
        for (int i1 = 0; i1 < s[1]; ++i1)
          for (int i2 = 0; i2 < s[2]; ++i2) {
            float* dst = ga + ((i0 * s[1] + i1) * s[2] + i2) * s[3];
            const float* src = g + ((i0 * s[2] + i2) * s[1] + i1) * s[3];
            for (int j = 0; j < s[3]; ++j) dst[j] += src[j];
          }
      return;
    }
    case Op::MatMul:
    case Op::Linear: {
      const int K = A->shape[A->dims.size() - 1];
      const int M = A->numel / K;
      const int N = n.shape[rank - 1];
      const bool tw = n.op == Op::MatMul && n.attr.i0 != 0;
      // y = a w (w: K x N, or N x K transposed); da += g w^T; dw += a^T g (or g^T a)
      if (ga) kernels::gemm(g, B->value, ga, M, N, K, false, !tw, true);
      if (gb) {
        if (tw)
          kernels::gemm(g, A->value, gb, N, M, K, true, false, true);
        else
          kernels::gemm(A->value, g, gb, K, M, N, true, false, true);
      }
      if (n.op == Op::Linear && gc) kernels::add_column_sums(g, gc, M, N);
      return;
    }
    case Op::BatchMatMul: {
      const int ra = static_cast<int>(A->dims.size()), rb = static_cast<int>(B->dims.size());
      const bool ta = n.attr.i0 != 0, tb = n.attr.i1 != 0;
      const int M = ta ? A->shape[ra - 1] : A->shape[ra - 2], K = ta ? A->shape[ra - 2] : A->shape[ra - 1];
      const int N = tb ? B->shape[rb - 2] : B->shape[rb - 1];
      const int batches = len / (M * N);
      for_each_batch(batches, [&](int b) {
        const float* gb_ = g + static_cast<size_t>(b) * M * N;
        const float* a = A->value + static_cast<size_t>(b) * M * K;
        const float* w = B->value + static_cast<size_t>(b) * K * N;
        // C = op(A) op(B). dop(A) = G op(B)^T, dop(B) = op(A)^T G.
        if (ga) {
          float* d = ga + static_cast<size_t>(b) * M * K;
          if (!ta)
            kernels::gemm(gb_, w, d, M, N, K, false, !tb, true);  // dA = G op(B)^T (M x K)
          else
            kernels::gemm(w, gb_, d, K, N, M, tb, true, true);  // dA (K x M) = op(B) G^T
        }
        if (gb) {
          float* d = B->grad + static_cast<size_t>(b) * K * N;
          if (!tb)
            kernels::gemm(a, gb_, d, K, M, N, !ta, false, true);  // dB = op(A)^T G (K x N)
          else
            kernels::gemm(gb_, a, d, N, M, K, true, ta, true);  // dB (N x K) = G^T op(A)
        }
      });
      return;
    }
    case Op::Embedding: {
      const bool batched = A->dims.size() == 3;
      const int V = A->shape[batched ? 1 : 0], D = A->shape[batched ? 2 : 1];
      const int per_table = batched ? B->numel / A->shape[0] : B->numel;
      for (int i = 0; i < B->numel; ++i) {
        float* row = ga + (static_cast<size_t>(i / per_table) * V + B->ints[i]) * D;
        const float* src = g + static_cast<size_t>(i) * D;
        for (int j = 0; j < D; ++j) row[j] += src[j];
      }
      return;
    }
    case Op::GatherLast: {
      const int V = A->shape[A->dims.size() - 1];
      for (int i = 0; i < len; ++i) ga[static_cast<size_t>(i) * V + B->ints[i]] += g[i];
      return;
    }
    case Op::LogSoftmax: {
      const int V = n.shape[rank - 1];
      const int rows = len / V;
      const int32_t* mask = B ? B->ints : nullptr;
      // d/dx_j = g_j - p_j sum_k g_k over the allowed entries, p = exp(y). The probabilities of a
      // chunk of rows come from one vectorised exp (as in the forward pass). Rows split over the
      // threads in whole chunks, as in the forward pass (the same bits with any split).
      constexpr int kBuffer = 2048;
      const int chunk = std::max(1, kBuffer / V);
      const int chunks = (rows + chunk - 1) / chunk;
      parallel::for_range(chunks, passes_per_part(V, chunk), [&](int first_chunk, int end_chunk, int) {
      const int begin = first_chunk * chunk, end = std::min(rows, end_chunk * chunk);
      float p[kBuffer];
      for (int r0 = begin; r0 < end; r0 += chunk) {
        const int nr = std::min(chunk, end - r0);
        const bool vectorised = V <= kBuffer;
        if (vectorised)
          Eigen::Map<Eigen::ArrayXf>(p, static_cast<Eigen::Index>(nr) * V) =
              Eigen::Map<const Eigen::ArrayXf>(y + static_cast<size_t>(r0) * V, static_cast<Eigen::Index>(nr) * V)
                  .max(kernels::kExpFloor)
                  .exp();  // masked entries: zeroed below
        for (int r = r0; r < r0 + nr; ++r) {
          const size_t o = static_cast<size_t>(r) * V;
          float* pr = p + static_cast<size_t>(r - r0) * V;
          const int32_t* m = mask ? mask + o : nullptr;
          const float gs = static_cast<float>(
              kernels::sum_in_double_lanes(V, [&](int j) { return !m || m[j] ? g[o + j] : 0.0f; }));
          if (vectorised) {
            // Selects of loaded values only, so that the passes vectorise (as kernels::log_softmax_rows).
            if (m) {
              for (int k = 0; k < V; ++k) pr[k] = m[k] ? pr[k] : 0.0f;
              for (int k = 0; k < V; ++k) {
                const float gk = m[k] ? g[o + k] : 0.0f;
                ga[o + k] += gk - pr[k] * gs;
              }
            } else {
              for (int k = 0; k < V; ++k) ga[o + k] += g[o + k] - pr[k] * gs;
            }
          } else {
            for (int j = 0; j < V; ++j)
              if (!m || m[j]) ga[o + j] += g[o + j] - std::exp(y[o + j]) * gs;
          }
        }
      }
      });
      return;
    }
    case Op::SoftmaxEntropy: {
      const int V = A->shape[A->dims.size() - 1];
      for (int r = 0; r < len; ++r) {
        const float* lp = A->value + static_cast<size_t>(r) * V;
        float* d = ga + static_cast<size_t>(r) * V;
        for (int j = 0; j < V; ++j) d[j] -= g[r] * kernels::exp_or_zero(lp[j]) * (lp[j] + 1.0f);
      }
      return;
    }
    case Op::LayerNorm: {
      const int D = n.shape[rank - 1];
      const int rows = len / D;
      for (int r = 0; r < rows; ++r)
        kernels::layer_norm_row_backward(A->value + static_cast<size_t>(r) * D, B->value, g + static_cast<size_t>(r) * D,
                                         n.aux[2 * r], n.aux[2 * r + 1], D, ga ? ga + static_cast<size_t>(r) * D : nullptr,
                                         gb, gc);
      return;
    }
    case Op::Attention: {
      const Node& K = *B;
      const Node& V = nodes_[n.args[2]];
      const int batch = A->shape[0], tq = A->shape[1], tk = K.shape[1], D = A->shape[2];
      const size_t probs = n.aux.size() / (n.attr.i0 + 1) * n.attr.i0;  // at capacity; the scratch follows
      kernels::attention_backward(A->value, K.value, V.value, g, n.aux.data(), n.aux.data() + probs, batch, tq, tk, D,
                                  n.attr.i0, ga, K.needs_grad ? K.grad : nullptr, V.needs_grad ? V.grad : nullptr);
      return;
    }
    case Op::SegmentSum:
    case Op::SegmentMean: {
      const int S = n.shape[0];
      const int inner = len / S;
      const int32_t* off = B->ints;
      for (int s = 0; s < S; ++s) {
        const int count = off[s + 1] - off[s];
        if (count == 0) continue;
        const float scale = n.op == Op::SegmentMean ? 1.0f / count : 1.0f;
        for (int j = off[s]; j < off[s + 1]; ++j)
          for (int i = 0; i < inner; ++i) ga[static_cast<size_t>(j) * inner + i] += g[s * inner + i] * scale;
      }
      return;
    }
    case Op::SegmentBroadcast: {
      const int S = A->shape[0];
      const int inner = A->numel / S;
      const int32_t* off = B->ints;
      for (int s = 0; s < S; ++s)
        for (int j = off[s]; j < off[s + 1]; ++j)
          for (int i = 0; i < inner; ++i) ga[s * inner + i] += g[static_cast<size_t>(j) * inner + i];
      return;
    }
    default: return;
  }
}

// ---------------------------------------------------------------------------------------------
// Text and LaTeX of a formula, precedence-aware (a / (b * c) keeps its parentheses).

namespace {
struct Printed {
  std::string s;
  int prec;  // 1 sum, 2 product, 3 unary minus, 4 atom / function call
};
std::string number_text(float v) {
  std::ostringstream o;
  o << v;
  return o.str();
}
// 1e-08 -> 10^{-8}, 2.5e-05 -> 2.5 \cdot 10^{-5}, 0.5 -> \tfrac{1}{2}.
std::string number_latex(float v) {
  if (v == 0.5f) return "\\tfrac{1}{2}";
  const std::string t = number_text(v);
  const size_t e = t.find('e');
  if (e == std::string::npos) return t;
  const std::string mant = t.substr(0, e);
  const int expo = std::stoi(t.substr(e + 1));
  const std::string pow = "10^{" + std::to_string(expo) + "}";
  return mant == "1" ? pow : mant == "-1" ? "-" + pow : mant + " \\cdot " + pow;
}
bool is_model_op(Op op) {
  switch (op) {
    case Op::MatMul: case Op::Linear: case Op::BatchMatMul: case Op::Embedding: case Op::LayerNorm:
    case Op::Attention: case Op::Parameter:
      return true;
    default: return false;
  }
}
}  // namespace

// root: the node whose definition is printed (printed in full even when it has a symbol); every
// other node with a symbol prints as its symbol. A model's network (matrix products, embeddings,
// attention, layer norms, parameter tensors) prints as f_theta: the formula is the loss, not the net.
std::string Graph::text(int id, bool latex, int root) const {
  struct Printer {
    const Graph& g;
    bool latex;
    int root;
    Printed p(int i) const {
      const Node& n = g.nodes_[i];
      if (i != root) {
        auto sym = g.symbols_.find(i);
        if (sym != g.symbols_.end()) return {latex ? sym->second.second : sym->second.first, 4};
      }
      auto a = [&](int k) { return p(n.args[k]); };
      auto wrap = [](const Printed& x, int need) { return x.prec < need ? "(" + x.s + ")" : x.s; };
      auto fn = [&](const char* plain, const char* tex, const std::string& inner) {
        return Printed{(latex ? std::string(tex) : std::string(plain)) + "(" + inner + ")", 4};
      };
      // Between arguments: KaTeX may break a long inline formula there (the page wraps it).
      const std::string comma = latex ? ",\\allowbreak " : ", ";
      if (is_model_op(n.op)) return {latex ? "f_\\theta" : "f_theta", 4};
      switch (n.op) {
        case Op::Input: case Op::IntInput: case Op::Param:
          return {latex ? "\\mathrm{" + escape_latex(n.name) + "}" : n.name, 4};
        case Op::Const:
          return {latex ? number_latex(n.attr.f0) : number_text(n.attr.f0), n.attr.f0 < 0 ? 3 : 4};
        case Op::Count: return {"n", 4};
        case Op::Add: return {wrap(a(0), 1) + " + " + wrap(a(1), 2), 1};
        case Op::Sub: return {wrap(a(0), 1) + " - " + wrap(a(1), 2), 1};
        case Op::Mul: return {wrap(a(0), 2) + (latex ? " \\cdot " : " * ") + wrap(a(1), 3), 2};
        case Op::Div:
        case Op::SafeDiv:
          if (latex) return {"\\frac{" + a(0).s + "}{" + a(1).s + "}", 4};
          return {wrap(a(0), 2) + " / " + wrap(a(1), 3), 2};
        case Op::Neg: return {"-" + wrap(a(0), 3), 3};
        case Op::Min: return fn("min", "\\min", a(0).s + comma + a(1).s);
        case Op::Max: {
          // clamp(x, lo, hi) is built as max(min(x, hi), lo): printed as clip(x, lo, hi).
          const Node& inner = g.nodes_[n.args[0]];
          if (inner.op == Op::Min && !g.symbols_.count(n.args[0]))
            return fn("clip", "\\operatorname{clip}", p(inner.args[0]).s + comma + a(1).s + comma + p(inner.args[1]).s);
          return fn("max", "\\max", a(0).s + comma + a(1).s);
        }
        case Op::Greater: return {(latex ? "\\mathbb{1}[" : "[") + a(0).s + " > " + a(1).s + "]", 4};
        case Op::Exp: return fn("exp", "\\exp", a(0).s);
        case Op::Log: case Op::SafeLog: return fn("log", "\\log", a(0).s);
        case Op::Abs: return {latex ? "\\left|" + a(0).s + "\\right|" : "abs(" + a(0).s + ")", 4};
        case Op::Square: return {wrap(a(0), 4) + (latex ? "^2" : "^2"), 4};
        case Op::Sqrt: case Op::SafeSqrt:
          return {latex ? "\\sqrt{" + a(0).s + "}" : "sqrt(" + a(0).s + ")", 4};
        case Op::Tanh: return fn("tanh", "\\tanh", a(0).s);
        case Op::Relu: return fn("relu", "\\operatorname{relu}", a(0).s);
        case Op::Gelu: return fn("gelu", "\\operatorname{gelu}", a(0).s);
        case Op::Sigmoid: return fn("sigmoid", "\\sigma", a(0).s);
        case Op::Softplus: return fn("softplus", "\\operatorname{softplus}", a(0).s);
        case Op::LogSigmoid: return fn("log_sigmoid", "\\log\\sigma", a(0).s);
        case Op::Log1mExp: return fn("log1mexp", "\\operatorname{log1mexp}", a(0).s);
        case Op::StopGradient: return fn("sg", "\\operatorname{sg}", a(0).s);
        case Op::ClampConst: {
          const std::string lo = latex ? number_latex(n.attr.f0) : number_text(n.attr.f0);
          const std::string hi = latex ? number_latex(n.attr.f1) : number_text(n.attr.f1);
          return fn("clip", "\\operatorname{clip}", a(0).s + comma + lo + comma + hi);
        }
        case Op::Where: return fn("where", "\\operatorname{where}", a(0).s + comma + a(1).s + comma + a(2).s);
        case Op::Sum: case Op::SumAxis: return fn("sum", "\\sum", a(0).s);
        case Op::Mean: case Op::MeanAxis:
          // \big[ rather than \left[: a \left...\right group cannot be broken across lines.
          return latex ? Printed{"\\hat{\\mathbb{E}}\\big[" + a(0).s + "\\big]", 4} : fn("mean", "", a(0).s);
        case Op::MaxAxis: return fn("max", "\\max", a(0).s);
        case Op::LogSumExpAxis: return fn("logsumexp", "\\operatorname{logsumexp}", a(0).s);
        case Op::Reshape: case Op::SliceLast: case Op::Transpose12: return a(0);
        case Op::LogSoftmax: return fn("log_softmax", "\\log\\operatorname{softmax}", a(0).s);
        case Op::SoftmaxEntropy: return fn("entropy", "\\mathcal{H}", a(0).s);
        case Op::GatherLast:
          return latex ? Printed{"\\left[" + a(0).s + "\\right]_{" + a(1).s + "}", 4} : Printed{wrap(a(0), 4) + "[" + a(1).s + "]", 4};
        case Op::SegmentSum: return fn("segment_sum", "\\operatorname{segsum}", a(0).s);
        case Op::SegmentMean: return fn("segment_mean", "\\operatorname{segmean}", a(0).s);
        case Op::SegmentBroadcast: return fn("segment_broadcast", "\\operatorname{segbcast}", a(0).s);
        default: return fn("op", "\\operatorname{op}", a(0).s);
      }
    }
    static std::string escape_latex(const std::string& name) {
      std::string out;
      for (char c : name) {
        if (c == '_') out += "\\_";
        else out += c;
      }
      return out;
    }
  };
  return Printer{*this, latex, root}.p(id).s;
}

std::string Graph::to_string(Expr e) const { return text(e.id, false, e.id); }
std::string Graph::to_latex(Expr e) const { return text(e.id, true, e.id); }

Expr Graph::display(Expr e, const std::string& text, const std::string& latex) {
  symbols_[e.id] = {text, latex};
  return e;
}

Formula Graph::formula(Expr e) const {
  Formula f;
  f.text = text(e.id, false, e.id);
  f.latex = text(e.id, true, e.id);
  // Symbols in order of first use (depth-first, arguments left to right, as printed); a displayed
  // sub-expression is defined once, then its own symbols; named scalars last, with their values.
  std::vector<int> defined, scalars;
  std::vector<char> seen(nodes_.size(), 0);
  std::vector<int> order;
  // Pre-order walk that stops at symbols (defined in their own line) and model ops (f_theta).
  struct Walker {
    const Graph& g;
    std::vector<char>& seen;
    std::vector<int>& order;
    void walk(int i, bool is_root) {
      if (seen[i]) return;
      seen[i] = 1;
      const Node& n = g.nodes_[i];
      const bool symbol = g.symbols_.count(i) > 0;
      if (symbol && !is_root && n.op != Op::Param) {
        order.push_back(i);
        return;  // its own symbols come with its definition
      }
      if (n.op == Op::Param) { order.push_back(i); return; }
      if (is_model_op(n.op)) return;
      for (int k = 0; k < n.nargs; ++k) walk(n.args[k], false);
    }
  };
  Walker w{*this, seen, order};
  w.walk(e.id, true);
  for (size_t k = 0; k < order.size(); ++k) {
    const int i = order[k];
    const Node& n = nodes_[i];
    if (n.op == Op::Param) { scalars.push_back(i); continue; }
    if (n.op == Op::Input || n.op == Op::IntInput) continue;  // an input's symbol needs no definition
    defined.push_back(i);
    for (int a = 0; a < n.nargs; ++a) w.walk(n.args[a], false);
  }
  auto symbol = [&](int i, bool latex) {
    auto s = symbols_.find(i);
    if (s != symbols_.end()) return latex ? s->second.second : s->second.first;
    return text(i, latex, -1);
  };
  for (int i : defined) {
    f.where_text.push_back(symbol(i, false) + " = " + text(i, false, i));
    f.where_latex.push_back(symbol(i, true) + " = " + text(i, true, i));
  }
  for (int i : scalars) {
    f.where_text.push_back(symbol(i, false) + " = " + number_text(nodes_[i].attr.f0));
    f.where_latex.push_back(symbol(i, true) + " = " + number_latex(nodes_[i].attr.f0));
  }
  return f;
}

// ---------------------------------------------------------------------------------------------
// Op functions

namespace {

Graph& graph_of(Expr a, Expr b) {
  if (!a.graph || a.graph != b.graph) throw std::logic_error("expressions from different graphs");
  return *a.graph;
}
const Dims& dims_of(Expr e) { return GraphAccess::dims(*e.graph, e.id); }
std::string shape_text(Expr e) {
  std::string s = "[";
  const Dims& d = dims_of(e);
  for (size_t k = 0; k < d.size(); ++k) {
    if (k) s += ", ";
    s += d[k].var >= 0 ? "v" + std::to_string(d[k].var) : std::to_string(d[k].fixed);
  }
  return s + "]";
}
void require_float(Expr e, const char* what) {
  if (GraphAccess::is_int(*e.graph, e.id)) throw std::invalid_argument(std::string(what) + ": expected a float tensor");
}
void require_int(Expr e, const char* what) {
  if (!GraphAccess::is_int(*e.graph, e.id)) throw std::invalid_argument(std::string(what) + ": expected an int tensor");
}

Expr binary(Op op, Expr a, Expr b, float attr_f = 0) {
  Graph& g = graph_of(a, b);
  require_float(a, "elementwise op");
  require_float(b, "elementwise op");
  Dims out;
  if (!broadcast_dims(dims_of(a), dims_of(b), out))
    throw std::invalid_argument("cannot broadcast " + shape_text(a) + " with " + shape_text(b));
  Graph::Attr attr;
  attr.f0 = attr_f;
  return g.add_node(op, {a.id, b.id}, out, attr);
}
Expr unary(Op op, Expr a, float f0 = 0, float f1 = 0) {
  require_float(a, "elementwise op");
  Graph::Attr attr;
  attr.f0 = f0;
  attr.f1 = f1;
  return a.graph->add_node(op, {a.id}, dims_of(a), attr);
}
Expr lift(Expr like, float v) { return like.graph->constant(v); }

Expr reduce_axis(Op op, Expr a, int axis, bool keepdim) {
  const Dims& d = dims_of(a);
  const int ax = normalize_axis(axis, static_cast<int>(d.size()));
  Dims out;
  for (int k = 0; k < static_cast<int>(d.size()); ++k) {
    if (k != ax)
      out.push_back(d[k]);
    else if (keepdim)
      out.push_back(Dim(1));
  }
  Graph::Attr attr;
  attr.i0 = ax;
  return a.graph->add_node(op, {a.id}, out, attr);
}

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
Expr operator/(float a, Expr b) { return lift(b, a) / b; }
Expr min(Expr a, Expr b) { return binary(Op::Min, a, b); }
Expr max(Expr a, Expr b) { return binary(Op::Max, a, b); }
Expr greater(Expr a, Expr b) { return binary(Op::Greater, a, b); }
Expr clamp(Expr x, Expr lo, Expr hi) { return max(min(x, hi), lo); }
Expr clamp(Expr x, float lo, float hi) {
  if (!(lo <= hi)) throw std::invalid_argument("clamp: lo must be <= hi");
  return unary(Op::ClampConst, x, lo, hi);
}
Expr where(Expr cond, Expr a, Expr b) {
  Graph& g = graph_of(cond, a);
  graph_of(a, b);
  Dims ab, out;
  if (!broadcast_dims(dims_of(a), dims_of(b), ab) || !broadcast_dims(dims_of(cond), ab, out))
    throw std::invalid_argument("where: cannot broadcast " + shape_text(cond) + ", " + shape_text(a) + ", " +
                                shape_text(b));
  return g.add_node(Op::Where, {cond.id, a.id, b.id}, out);
}
Expr exp(Expr a) { return unary(Op::Exp, a); }
Expr log(Expr a) { return unary(Op::Log, a); }
Expr abs(Expr a) { return unary(Op::Abs, a); }
Expr square(Expr a) { return unary(Op::Square, a); }
Expr sqrt(Expr a) { return unary(Op::Sqrt, a); }
Expr tanh(Expr a) { return unary(Op::Tanh, a); }
Expr relu(Expr a) { return unary(Op::Relu, a); }
Expr gelu(Expr a) { return unary(Op::Gelu, a); }
Expr sigmoid(Expr a) { return unary(Op::Sigmoid, a); }
Expr softplus(Expr a) { return unary(Op::Softplus, a); }
Expr log_sigmoid(Expr a) { return unary(Op::LogSigmoid, a); }
Expr log1mexp(Expr a) { return unary(Op::Log1mExp, a); }
Expr stop_gradient(Expr a) { return unary(Op::StopGradient, a); }
Expr safe_log(Expr x, float eps) { return unary(Op::SafeLog, x, eps); }
Expr safe_div(Expr a, Expr b, float eps) { return binary(Op::SafeDiv, a, b, eps); }
Expr safe_sqrt(Expr x, float eps) { return unary(Op::SafeSqrt, x, eps); }

Expr sum(Expr a) { return a.graph->add_node(Op::Sum, {a.id}, {}); }
Expr mean(Expr a) { return a.graph->add_node(Op::Mean, {a.id}, {}); }
Expr sum(Expr a, int axis, bool keepdim) { return reduce_axis(Op::SumAxis, a, axis, keepdim); }
Expr mean(Expr a, int axis, bool keepdim) { return reduce_axis(Op::MeanAxis, a, axis, keepdim); }
Expr max(Expr a, int axis, bool keepdim) { return reduce_axis(Op::MaxAxis, a, axis, keepdim); }
Expr logsumexp(Expr a, int axis, bool keepdim) { return reduce_axis(Op::LogSumExpAxis, a, axis, keepdim); }

Expr reshape(Expr a, const Dims& dims) { return a.graph->add_node(Op::Reshape, {a.id}, dims); }

Expr slice_last(Expr a, int start, int length) {
  Dims d = dims_of(a);
  if (d.empty() || d.back().var >= 0 || start < 0 || length < 1 || start + length > d.back().fixed)
    throw std::invalid_argument("slice_last: [" + std::to_string(start) + ", " + std::to_string(start + length) +
                                ") outside the last axis of " + shape_text(a));
  d.back() = Dim(length);
  Graph::Attr attr;
  attr.i0 = start;
  attr.i1 = length;
  return a.graph->add_node(Op::SliceLast, {a.id}, d, attr);
}

Expr transpose12(Expr a) {
  Dims d = dims_of(a);
  if (d.size() != 4) throw std::invalid_argument("transpose12 needs a rank-4 tensor, got " + shape_text(a));
  std::swap(d[1], d[2]);
  return a.graph->add_node(Op::Transpose12, {a.id}, d);
}

Expr matmul(Expr a, Expr w, bool transpose_w) {
  Graph& g = graph_of(a, w);
  const Dims& da = dims_of(a);
  const Dims& dw = dims_of(w);
  if (da.empty() || dw.size() != 2 || dw[0].var >= 0 || dw[1].var >= 0)
    throw std::invalid_argument("matmul: " + shape_text(a) + " x " + shape_text(w) + " (w must be a fixed [K, N])");
  const Dim k = transpose_w ? dw[1] : dw[0];
  if (da.back() != k) throw std::invalid_argument("matmul: inner sizes differ: " + shape_text(a) + " x " + shape_text(w));
  Dims out = da;
  out.back() = transpose_w ? dw[0] : dw[1];
  Graph::Attr attr;
  attr.i0 = transpose_w ? 1 : 0;
  return g.add_node(Op::MatMul, {a.id, w.id}, out, attr);
}

Expr linear(Expr x, Expr w, Expr b) {
  Graph& g = graph_of(x, w);
  graph_of(w, b);
  const Dims& dx = dims_of(x);
  const Dims& dw = dims_of(w);
  const Dims& db = dims_of(b);
  if (dx.empty() || dw.size() != 2 || dx.back() != dw[0] || db.size() != 1 || db[0] != dw[1])
    throw std::invalid_argument("linear: " + shape_text(x) + " x " + shape_text(w) + " + " + shape_text(b));
  Dims out = dx;
  out.back() = dw[1];
  return g.add_node(Op::Linear, {x.id, w.id, b.id}, out);
}

Expr batch_matmul(Expr a, Expr b, bool transpose_a, bool transpose_b) {
  Graph& g = graph_of(a, b);
  const Dims& da = dims_of(a);
  const Dims& db = dims_of(b);
  const size_t r = da.size();
  bool ok = r >= 3 && db.size() == r;
  for (size_t k = 0; ok && k + 2 < r; ++k) ok = da[k] == db[k];
  const Dim m = ok ? (transpose_a ? da[r - 1] : da[r - 2]) : Dim(1);
  const Dim ka = ok ? (transpose_a ? da[r - 2] : da[r - 1]) : Dim(1);
  const Dim kb = ok ? (transpose_b ? db[r - 1] : db[r - 2]) : Dim(1);
  const Dim nn = ok ? (transpose_b ? db[r - 2] : db[r - 1]) : Dim(1);
  if (!ok || ka != kb)
    throw std::invalid_argument("batch_matmul: " + shape_text(a) + " x " + shape_text(b));
  Dims out(da.begin(), da.end() - 2);
  out.push_back(m);
  out.push_back(nn);
  Graph::Attr attr;
  attr.i0 = transpose_a;
  attr.i1 = transpose_b;
  return g.add_node(Op::BatchMatMul, {a.id, b.id}, out, attr);
}

Expr embedding(Expr table, Expr ids) {
  Graph& g = graph_of(table, ids);
  require_int(ids, "embedding ids");
  const Dims& dt = dims_of(table);
  const Dims& di = dims_of(ids);
  if (dt.size() == 3 ? di.empty() || di[0] != dt[0] : dt.size() != 2)
    throw std::invalid_argument("embedding: table must be [V, D], or [B, V, D] with ids [B, ...], got table " +
                                shape_text(table) + " and ids " + shape_text(ids));
  Dims out = di;
  out.push_back(dt.back());
  return g.add_node(Op::Embedding, {table.id, ids.id}, out);
}

Expr gather_last(Expr x, Expr ids) {
  Graph& g = graph_of(x, ids);
  require_int(ids, "gather indices");
  Dims dx = dims_of(x);
  dx.pop_back();
  if (dx != dims_of(ids)) throw std::invalid_argument("gather_last: " + shape_text(x) + " with indices " + shape_text(ids));
  return g.add_node(Op::GatherLast, {x.id, ids.id}, dx);
}

Expr log_softmax(Expr logits) {
  require_float(logits, "log_softmax");
  return logits.graph->add_node(Op::LogSoftmax, {logits.id}, dims_of(logits));
}
Expr log_softmax(Expr logits, Expr mask) {
  Graph& g = graph_of(logits, mask);
  require_int(mask, "log_softmax mask");
  if (dims_of(logits) != dims_of(mask))
    throw std::invalid_argument("log_softmax: mask " + shape_text(mask) + " must match logits " + shape_text(logits));
  return g.add_node(Op::LogSoftmax, {logits.id, mask.id}, dims_of(logits));
}
Expr softmax_entropy(Expr logp) {
  Dims d = dims_of(logp);
  if (d.empty()) throw std::invalid_argument("softmax_entropy needs a distribution axis");
  d.pop_back();
  return logp.graph->add_node(Op::SoftmaxEntropy, {logp.id}, d);
}
Expr layer_norm(Expr x, Expr gamma, Expr beta, float eps) {
  Graph& g = graph_of(x, gamma);
  graph_of(gamma, beta);
  const Dims& d = dims_of(x);
  if (d.empty() || d.back().var >= 0 || dims_of(gamma) != Dims{d.back()} || dims_of(beta) != Dims{d.back()})
    throw std::invalid_argument("layer_norm: " + shape_text(x) + " with gamma " + shape_text(gamma) + ", beta " +
                                shape_text(beta));
  Graph::Attr attr;
  attr.f0 = eps;
  return g.add_node(Op::LayerNorm, {x.id, gamma.id, beta.id}, d, attr);
}
Expr attention(Expr q, Expr k, Expr v, int heads, bool causal, Expr mask) {
  Graph& g = graph_of(q, k);
  graph_of(k, v);
  const Dims& dq = dims_of(q);
  const Dims& dk = dims_of(k);
  const bool ok = dq.size() == 3 && dk.size() == 3 && dims_of(v) == dk && dq[0] == dk[0] && dq[2] == dk[2] &&
                  dq[2].var < 0 && heads >= 1 && dq[2].fixed % heads == 0;
  if (!ok)
    throw std::invalid_argument("attention: q " + shape_text(q) + ", k " + shape_text(k) + ", v " + shape_text(v) +
                                " with " + std::to_string(heads) + " heads");
  const int tk_capacity = dk[1].var >= 0 ? g.capacity(dk[1].var) : dk[1].fixed;
  if (tk_capacity > 1024) throw std::invalid_argument("attention: at most 1024 keys");
  Graph::Attr attr;
  attr.i0 = heads;
  attr.i1 = causal;
  if (mask.valid()) {
    graph_of(q, mask);
    require_int(mask, "attention mask");
    attr.i2 = dims_of(mask) == Dims{dk[0], dq[1], dk[1]};  // a mask per query; else key padding
    if (!attr.i2 && dims_of(mask) != Dims{dk[0], dk[1]})
      throw std::invalid_argument("attention: mask " + shape_text(mask) + " must be [B, Tk] or [B, Tq, Tk]");
    return g.add_node(Op::Attention, {q.id, k.id, v.id, mask.id}, dq, attr);
  }
  return g.add_node(Op::Attention, {q.id, k.id, v.id}, dq, attr);
}

namespace {
Expr segment_reduce(Op op, Expr x, Expr offsets, Dim segments) {
  Graph& g = graph_of(x, offsets);
  require_int(offsets, "segment offsets");
  Dims d = dims_of(x);
  if (d.empty()) throw std::invalid_argument("segment ops need an item axis");
  d[0] = segments;
  return g.add_node(op, {x.id, offsets.id}, d);
}
}  // namespace
Expr segment_sum(Expr x, Expr offsets, Dim segments) { return segment_reduce(Op::SegmentSum, x, offsets, segments); }
Expr segment_mean(Expr x, Expr offsets, Dim segments) { return segment_reduce(Op::SegmentMean, x, offsets, segments); }
Expr segment_broadcast(Expr x, Expr offsets, Dim items) { return segment_reduce(Op::SegmentBroadcast, x, offsets, items); }

}  // namespace pl
