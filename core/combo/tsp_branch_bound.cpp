// Exact TSP by branch and bound on the Held–Karp 1-tree bound, for sizes Held–Karp's dynamic
// programme cannot reach (TSP50 and TSP100 optima for the learned policies' gaps).
//
// Bound (Held & Karp 1970, "The traveling-salesman problem and minimum spanning trees"; 1971, Part
// II): a 1-tree is a spanning tree on cities 1..n-1 plus two edges at city 0. Every tour is one, so
// the cheapest 1-tree bounds the optimum from below. Penalties pi on the cities add 2·Σpi to every
// tour but not to every 1-tree, so for any pi
//     L(pi) = min over 1-trees T of Σ_{(i,j) in T} (d(i,j) + pi_i + pi_j)  -  2·Σ_i pi_i
// is a lower bound, and subgradient ascent on pi (Held, Wolfe & Crowder 1974, "Validation of
// subgradient optimization") raises it: g_i = deg_T(i) - 2, step t = lambda·(U - L)/||g||^2 with U
// the best tour so far, lambda halved when L stalls. A 1-tree whose degrees are all 2 is a tour of
// length L: optimal under the node's constraints.
//
// Branching (Volgenant & Jonker 1982, "A branch and bound algorithm for the symmetric traveling
// salesman problem based on the 1-tree relaxation"): at a city v of degree > 2 with free tree edges
// e1, e2 the children are {e1 out}, {e1 in, e2 out}, {e1 in, e2 in} — every tour is in exactly one
// (two children when v already has an included edge). Included edges enter the 1-tree before any
// free edge (Prim on the key (not included, cost)); excluded edges are never used. A city with two
// included edges has its other edges excluded, and the edge joining the two ends of a path of
// included edges is excluded unless the path covers every city, so included edges never close a
// subtour. Depth first, from the local-search tour as the first upper bound.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/combo/tsp.hpp"

namespace pl::combo {

namespace {

constexpr int8_t kFree = 0, kIn = 1, kOut = -1;

// One subproblem: which edges are forced into or out of the tour, and its best penalties (the
// children start their ascent from them).
struct Node {
  std::vector<int8_t> status;      // n * n, symmetric
  std::vector<int> forced_degree;  // included edges per city
  std::vector<int> open_degree;    // edges not excluded per city
  int forced_edges = 0;
  std::vector<double> pi;
};

class OneTreeSearch {
 public:
  OneTreeSearch(const DistanceMatrix& d, std::vector<int> tour, long max_nodes)
      : d_(d), n_(d.n), max_nodes_(max_nodes), best_tour_(std::move(tour)) {
    upper_ = length(best_tour_);
    integral_ = true;
    for (double v : d_.d) integral_ = integral_ && v == std::floor(v) && std::fabs(v) < 1e15;
    const size_t n = static_cast<size_t>(n_);
    in_tree_.resize(n);
    key_forced_.resize(n);
    key_cost_.resize(n);
    parent_.resize(n);
    degree_.resize(n);
    edges_.resize(n);
    best_edges_.resize(n);
    best_degree_.resize(n);
    pi_.resize(n);
  }

  std::vector<int> run(TspBranchBoundStats* stats) {
    Node root;
    root.status.assign(static_cast<size_t>(n_) * n_, kFree);
    for (int i = 0; i < n_; ++i) root.status[static_cast<size_t>(i) * n_ + i] = kOut;
    root.forced_degree.assign(n_, 0);
    root.open_degree.assign(n_, n_ - 1);
    root.pi.assign(n_, 0.0);
    std::vector<Node> stack;
    stack.push_back(std::move(root));
    long nodes = 0;
    while (!stack.empty()) {
      Node node = std::move(stack.back());
      stack.pop_back();
      if (++nodes > max_nodes_) {
        throw ComboError("branch-and-bound did not prove a tour optimal within " + std::to_string(max_nodes_) +
                         " search nodes (n = " + std::to_string(n_) + "; best tour so far " + std::to_string(upper_) +
                         "); use local-search for instances this hard");
      }
      const bool root_node = nodes == 1;
      const bool open = ascend(node, root_node);
      if (root_node && stats) stats->root_bound = root_bound_;
      if (!open) continue;
      branch(node, stack);
    }
    if (stats) stats->nodes = nodes;
    return best_tour_;
  }

 private:
  int8_t& at(Node& node, int a, int b) const { return node.status[static_cast<size_t>(a) * n_ + b]; }
  int8_t at(const Node& node, int a, int b) const { return node.status[static_cast<size_t>(a) * n_ + b]; }

  double length(const std::vector<int>& tour) const { return tour_length(d_, tour); }

  // A node whose bound reaches the best tour cannot hold a shorter one. With integer distances
  // every tour length is an integer, so a bound above U - 1 suffices.
  bool prunable(double bound) const {
    const double eps = 1e-9 * std::max(1.0, std::fabs(upper_));
    return integral_ ? bound > upper_ - 1 + eps : bound >= upper_ - eps;
  }

  bool exclude(Node& node, int a, int b) const {
    const int8_t s = at(node, a, b);
    if (s == kOut) return true;
    if (s == kIn) return false;
    at(node, a, b) = at(node, b, a) = kOut;
    return --node.open_degree[a] >= 2 && --node.open_degree[b] >= 2;
  }

  // The other end of the path of included edges that starts at `end` (a city with at most one).
  int path_end(const Node& node, int end, int& cities) const {
    int previous = -1, current = end;
    cities = 1;
    for (;;) {
      int next = -1;
      for (int u = 0; u < n_ && next < 0; ++u)
        if (u != previous && at(node, current, u) == kIn) next = u;
      if (next < 0 || next == end) return current;
      previous = current;
      current = next;
      ++cities;
    }
  }

  bool include(Node& node, int a, int b) const {
    const int8_t s = at(node, a, b);
    if (s == kIn) return true;
    if (s == kOut) return false;
    at(node, a, b) = at(node, b, a) = kIn;
    ++node.forced_edges;
    if (++node.forced_degree[a] > 2 || ++node.forced_degree[b] > 2) return false;
    for (int v : {a, b}) {
      if (node.forced_degree[v] != 2) continue;
      for (int u = 0; u < n_; ++u)
        if (at(node, v, u) == kFree && !exclude(node, v, u)) return false;
    }
    // The new edge joined two paths (or extended one); its ends must not be joined early.
    if (node.forced_edges < n_ - 1) {
      int cities = 0;
      const int one_end = path_end(node, a, cities);  // walks from a to one end of its path
      const int other_end = path_end(node, one_end, cities);
      // (Two cities: the ends' edge is the new edge itself.)
      if (cities > 2 && cities < n_ && !exclude(node, one_end, other_end)) return false;
    }
    return true;
  }

  // Key order of Prim's algorithm: included edges first, then cheaper ones.
  static bool better(bool forced_a, double cost_a, bool forced_b, double cost_b) {
    return forced_a != forced_b ? forced_a : cost_a < cost_b;
  }

  // The least 1-tree under penalties pi_ into edges_/degree_; its penalised weight minus 2·Σpi
  // into `bound`. False when the exclusions leave no 1-tree.
  bool one_tree(const Node& node, double& bound) {
    const double* pi = pi_.data();
    std::fill(in_tree_.begin(), in_tree_.end(), uint8_t{0});
    std::fill(degree_.begin(), degree_.end(), 0);
    double weight = 0;
    // Prim over cities 1..n-1, from city 1.
    in_tree_[1] = 1;
    for (int v = 2; v < n_; ++v) {
      const int8_t s = at(node, 1, v);
      parent_[v] = s == kOut ? -1 : 1;
      key_forced_[v] = s == kIn;
      key_cost_[v] = d_(1, v) + pi[1] + pi[v];
    }
    int edge = 0;
    for (int added = 2; added < n_; ++added) {
      int pick = -1;
      for (int v = 2; v < n_; ++v) {
        if (in_tree_[v] || parent_[v] < 0) continue;
        if (pick < 0 || better(key_forced_[v], key_cost_[v], key_forced_[pick], key_cost_[pick])) pick = v;
      }
      if (pick < 0) return false;  // the free and included edges do not connect 1..n-1
      in_tree_[pick] = 1;
      edges_[edge++] = {parent_[pick], pick};
      ++degree_[parent_[pick]];
      ++degree_[pick];
      weight += key_cost_[pick];
      const int8_t* row = &node.status[static_cast<size_t>(pick) * n_];
      for (int u = 2; u < n_; ++u) {
        if (in_tree_[u] || row[u] == kOut) continue;
        const bool forced = row[u] == kIn;
        const double cost = d_(pick, u) + pi[pick] + pi[u];
        if (parent_[u] < 0 || better(forced, cost, key_forced_[u], key_cost_[u])) {
          parent_[u] = pick;
          key_forced_[u] = forced;
          key_cost_[u] = cost;
        }
      }
    }
    // The two best edges at city 0.
    int first = -1, second = -1;
    double first_cost = 0, second_cost = 0;
    bool first_forced = false, second_forced = false;
    for (int u = 1; u < n_; ++u) {
      const int8_t s = at(node, 0, u);
      if (s == kOut) continue;
      const bool forced = s == kIn;
      const double cost = d_(0, u) + pi[0] + pi[u];
      if (first < 0 || better(forced, cost, first_forced, first_cost)) {
        second = first, second_cost = first_cost, second_forced = first_forced;
        first = u, first_cost = cost, first_forced = forced;
      } else if (second < 0 || better(forced, cost, second_forced, second_cost)) {
        second = u, second_cost = cost, second_forced = forced;
      }
    }
    if (second < 0) return false;
    edges_[edge++] = {0, first};
    edges_[edge++] = {0, second};
    degree_[0] = 2;
    ++degree_[first];
    ++degree_[second];
    weight += first_cost + second_cost;
    double pi_sum = 0;
    for (int v = 0; v < n_; ++v) pi_sum += pi[v];
    bound = weight - 2 * pi_sum;
    return true;
  }

  std::vector<int> tour_of(const std::vector<std::pair<int, int>>& edges) const {
    std::vector<int> next(2 * static_cast<size_t>(n_), -1);
    for (const auto& [a, b] : edges) {
      next[2 * a + (next[2 * a] >= 0)] = b;
      next[2 * b + (next[2 * b] >= 0)] = a;
    }
    std::vector<int> tour = {0};
    int previous = 0, current = next[0];
    while (current != 0) {
      tour.push_back(current);
      const int step = next[2 * current] == previous ? next[2 * current + 1] : next[2 * current];
      previous = current;
      current = step;
    }
    return tour;
  }

  // Subgradient ascent on the node's penalties. False when the node is closed (no 1-tree, a bound
  // at the best tour, or a 1-tree that is a tour); true with the best 1-tree in best_edges_ /
  // best_degree_ to branch on.
  bool ascend(Node& node, bool root) {
    // The root gets the long ascent; children start from their parent's penalties.
    // Tuned on 64 random TSP50 instances (nodes / time): a child step factor of 2 halves the
    // nodes of 1 and a seventh of 0.2's; longer ascents cost more than the nodes they save.
    const int max_iterations = root ? std::max(1000, 20 * n_) : std::max(50, n_);
    const int stall_limit = root ? std::max(10, n_ / 2) : 5;
    double lambda = 2.0;
    double best = -std::numeric_limits<double>::infinity();
    int stalled = 0;
    pi_ = node.pi;
    for (int it = 0; it < max_iterations; ++it) {
      double bound = 0;
      if (!one_tree(node, bound)) return false;
      double norm2 = 0;
      for (int v = 0; v < n_; ++v) norm2 += static_cast<double>(degree_[v] - 2) * (degree_[v] - 2);
      if (norm2 == 0) {  // a tour; its length is `bound`, the least under this node's constraints
        if (bound < upper_) {
          upper_ = bound;
          best_tour_ = tour_of(edges_);
          upper_ = length(best_tour_);  // summed in tour order, as the caller will
        }
        if (root) root_bound_ = bound;
        return false;
      }
      if (bound > best) {
        best = bound;
        node.pi = pi_;
        best_edges_ = edges_;
        best_degree_ = degree_;
        stalled = 0;
      } else if (++stalled >= stall_limit) {
        lambda /= 2;
        stalled = 0;
      }
      if (prunable(best)) {
        if (root) root_bound_ = best;
        return false;
      }
      if (lambda < 1e-6) break;
      const double step = lambda * std::max(upper_ - bound, 1e-9 * std::max(1.0, upper_)) / norm2;
      for (int v = 0; v < n_; ++v) pi_[v] += step * (degree_[v] - 2);
    }
    if (root) root_bound_ = best;
    return true;
  }

  // Children of a node at its city of largest degree (Volgenant & Jonker's partition).
  void branch(const Node& node, std::vector<Node>& stack) {
    int v = 0;
    for (int u = 1; u < n_; ++u)
      if (best_degree_[u] > best_degree_[v]) v = u;
    // Its free tree edges, the longest first: excluding a long edge is the likelier child.
    std::vector<int> free_ends;
    for (const auto& [a, b] : best_edges_) {
      const int other = a == v ? b : b == v ? a : -1;
      if (other >= 0 && at(node, v, other) == kFree) free_ends.push_back(other);
    }
    std::sort(free_ends.begin(), free_ends.end(), [&](int x, int y) { return d_(v, x) > d_(v, y); });
    // A city with two included edges has degree 2, so v has at most one and >= 2 free tree edges.
    const int e1 = free_ends[0], e2 = free_ends[1];
    std::vector<Node> children;
    {
      Node child = node;
      if (exclude(child, v, e1)) children.push_back(std::move(child));
    }
    {
      Node child = node;
      if (include(child, v, e1) && (node.forced_degree[v] == 1 || exclude(child, v, e2)))
        children.push_back(std::move(child));
    }
    if (node.forced_degree[v] == 0) {
      Node child = node;
      if (include(child, v, e1) && include(child, v, e2)) children.push_back(std::move(child));
    }
    // Depth first, the first child next.
    for (auto it = children.rbegin(); it != children.rend(); ++it) stack.push_back(std::move(*it));
  }

  const DistanceMatrix& d_;
  const int n_;
  const long max_nodes_;
  std::vector<int> best_tour_;
  double upper_ = 0;
  bool integral_ = false;
  double root_bound_ = 0;
  // Work arrays of one_tree and ascend.
  std::vector<uint8_t> in_tree_;
  std::vector<uint8_t> key_forced_;
  std::vector<double> key_cost_;
  std::vector<int> parent_, degree_, best_degree_;
  std::vector<std::pair<int, int>> edges_, best_edges_;
  std::vector<double> pi_;
};


// Coincident cities: rep[c] is the first city that c duplicates (distance 0 both ways and the same
// distances to every other city), or c itself. Their zero-length edges tie every 1-tree with many
// others, and the search then took minutes and a million nodes on 15 copies of one point among 30
// cities. A tour visits a group of copies one after the other at no cost, and when the triangle
// inequality holds through the group's city no tour does better by splitting the group, so the
// optimum over the distinct cities is the optimum: merged only when that check passes (to 1e-12
// relative, the rounding of Euclidean distances), else searched as they are.
std::vector<int> coincident_representatives(const DistanceMatrix& d) {
  const int n = d.n;
  std::vector<int> rep(static_cast<size_t>(n));
  auto same_city = [&](int a, int b) {
    if (d(a, b) != 0 || d(b, a) != 0) return false;
    for (int k = 0; k < n; ++k)
      if (d(a, k) != d(b, k) || d(k, a) != d(k, b)) return false;
    return true;
  };
  bool any = false;
  for (int c = 0; c < n; ++c) {
    rep[static_cast<size_t>(c)] = c;
    for (int r = 0; r < c; ++r)
      if (rep[static_cast<size_t>(r)] == r && same_city(r, c)) {
        rep[static_cast<size_t>(c)] = r;
        any = true;
        break;
      }
  }
  if (!any) return rep;
  for (int x = 0; x < n; ++x) {
    bool has_copy = false;
    for (int c = x + 1; c < n && !has_copy; ++c) has_copy = rep[static_cast<size_t>(c)] == x;
    if (!has_copy) continue;
    for (int a = 0; a < n; ++a)
      for (int b = 0; b < n; ++b) {
        const double via = d(a, x) + d(x, b);
        if (d(a, b) > via + 1e-12 * via) {
          for (int c = 0; c < n; ++c) rep[static_cast<size_t>(c)] = c;
          return rep;
        }
      }
  }
  return rep;
}

}  // namespace

std::vector<int> tsp_branch_and_bound(const DistanceMatrix& d, long max_nodes, TspBranchBoundStats* stats,
                                      std::vector<int> start) {
  const int n = d.n;
  if (!start.empty()) check_tour(n, start);
  const std::vector<int> rep = n > 3 ? coincident_representatives(d) : std::vector<int>{};
  std::vector<int> distinct;  // the cities that are their own representative
  for (int c = 0; c < static_cast<int>(rep.size()); ++c)
    if (rep[static_cast<size_t>(c)] == c) distinct.push_back(c);
  if (n > 3 && static_cast<int>(distinct.size()) < n) {
    const int m = static_cast<int>(distinct.size());
    std::vector<int> index(static_cast<size_t>(n), -1);
    for (int i = 0; i < m; ++i) index[static_cast<size_t>(distinct[static_cast<size_t>(i)])] = i;
    DistanceMatrix merged{m, std::vector<double>(static_cast<size_t>(m) * m)};
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j) merged.d[static_cast<size_t>(i) * m + j] = d(distinct[static_cast<size_t>(i)], distinct[static_cast<size_t>(j)]);
    std::vector<int> merged_start;  // the start tour's order of the distinct cities (copies dropped)
    for (int c : start)
      if (rep[static_cast<size_t>(c)] == c) merged_start.push_back(index[static_cast<size_t>(c)]);
    const std::vector<int> merged_tour = tsp_branch_and_bound(merged, max_nodes, stats, std::move(merged_start));
    std::vector<int> tour;  // each distinct city followed by its copies
    tour.reserve(static_cast<size_t>(n));
    for (int i : merged_tour) {
      const int city = distinct[static_cast<size_t>(i)];
      tour.push_back(city);
      for (int c = city + 1; c < n; ++c)
        if (rep[static_cast<size_t>(c)] == city) tour.push_back(c);
    }
    return tour;
  }
  if (n <= 3) {
    std::vector<int> tour(n);
    for (int c = 0; c < n; ++c) tour[c] = c;
    if (stats) *stats = TspBranchBoundStats{};
    return tour;
  }
  // The first upper bound decides how much of the tree is cut and how well the ascent's steps are
  // sized (they aim at it): the best local optimum from farthest insertion and from the nearest
  // neighbour tour of every city.
  if (!start.empty()) return OneTreeSearch(d, std::move(start), max_nodes).run(stats);
  start = tsp_farthest_insertion(d);
  tsp_local_search(d, start);
  double start_length = tour_length(d, start);
  for (int city = 0; city < n; ++city) {
    std::vector<int> tour = tsp_nearest_neighbor(d, city);
    tsp_local_search(d, tour);
    const double length = tour_length(d, tour);
    if (length < start_length) {
      start_length = length;
      start = std::move(tour);
    }
  }
  return OneTreeSearch(d, std::move(start), max_nodes).run(stats);
}

}  // namespace pl::combo
