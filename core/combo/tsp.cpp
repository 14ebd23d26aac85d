#include "core/combo/tsp.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace pl::combo {

namespace {

// TSPLIB's nint: (int)(x + 0.5) (Reinelt 1995, Sec. 2.1); distances are non-negative.
double nint(double x) { return std::floor(x + 0.5); }

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  const size_t b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Splits a file into lines without the line ends.
std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

// A whole-token number; false for anything else ("1x", "nan", "").
bool parse_number(const std::string& token, double& value) {
  if (token.empty() || token.find_first_not_of("0123456789+-.eE") != std::string::npos) return false;
  char* end = nullptr;
  value = std::strtod(token.c_str(), &end);
  return end == token.c_str() + token.size() && std::isfinite(value);
}

std::vector<std::string> tokens_of(const std::string& line) {
  std::vector<std::string> tokens;
  std::istringstream in(line);
  std::string token;
  while (in >> token) tokens.push_back(token);
  return tokens;
}

// "KEY : VALUE" / "KEY: VALUE" / "KEY" (a section) -> key (upper case) and value.
void split_keyword(const std::string& line, std::string& key, std::string& value) {
  const size_t colon = line.find(':');
  if (colon == std::string::npos) {
    key = upper(trim(line));
    value.clear();
  } else {
    key = upper(trim(line.substr(0, colon)));
    value = trim(line.substr(colon + 1));
  }
}

[[noreturn]] void tsplib_fail(const std::string& file, int line, const std::string& message) {
  throw ComboError(file + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": TSPLIB: " + message);
}

// A DIMENSION line's value (the number of cities), given `dimension` so far (-1: none yet): a
// second DIMENSION line is refused (the later one used to win, and the node lines were blamed).
int parse_dimension(const std::string& file, int line_no, const std::string& value, int dimension) {
  if (dimension >= 0) tsplib_fail(file, line_no, "a second DIMENSION line (the first said " + std::to_string(dimension) + ")");
  double v;
  if (!parse_number(value, v) || v != std::floor(v) || v < kMinTspCities || v > kMaxTspCities)
    tsplib_fail(file, line_no, "DIMENSION (the number of cities) must be an integer in [" + std::to_string(kMinTspCities) +
                                   ", " + std::to_string(kMaxTspCities) + "], got '" + value + "'");
  return static_cast<int>(v);
}

}  // namespace

const char* tsp_metric_name(TspMetric metric) {
  switch (metric) {
    case TspMetric::Euclidean: return "euclidean";
    case TspMetric::Euc2D: return "EUC_2D";
    case TspMetric::Ceil2D: return "CEIL_2D";
    case TspMetric::Att: return "ATT";
  }
  return "?";
}

double TspInstance::distance(int a, int b) const {
  const double dx = xy[2 * a] - xy[2 * b], dy = xy[2 * a + 1] - xy[2 * b + 1];
  switch (metric) {
    case TspMetric::Euclidean: return std::sqrt(dx * dx + dy * dy);
    case TspMetric::Euc2D: return nint(std::sqrt(dx * dx + dy * dy));
    case TspMetric::Ceil2D: return std::ceil(std::sqrt(dx * dx + dy * dy));
    case TspMetric::Att: {
      const double r = std::sqrt((dx * dx + dy * dy) / 10.0);
      const double t = nint(r);
      return t < r ? t + 1 : t;
    }
  }
  return 0;
}

DistanceMatrix TspInstance::matrix() const {
  if (metric == TspMetric::Euclidean) return euclidean_matrix(xy.data(), n);
  check_matrix_size(n);
  DistanceMatrix m;
  m.n = n;
  m.d.assign(static_cast<size_t>(n) * n, 0.0);
  for (int a = 0; a < n; ++a)
    for (int b = 0; b < n; ++b)
      if (a != b) m.d[static_cast<size_t>(a) * n + b] = distance(a, b);
  return m;
}

TspInstance TspBatch::instance(int i) const {
  TspInstance inst;
  inst.n = n;
  inst.xy.assign(xy.begin() + static_cast<ptrdiff_t>(i) * n * 2, xy.begin() + static_cast<ptrdiff_t>(i + 1) * n * 2);
  return inst;
}

TspBatch TspBatch::from_instances(const std::vector<TspInstance>& instances) {
  TspBatch batch;
  batch.count = static_cast<int>(instances.size());
  batch.n = instances.empty() ? 0 : instances[0].n;
  for (const TspInstance& inst : instances) {
    if (inst.n != batch.n) {
      throw ComboError("tsp: a batch holds instances of one size; got " + std::to_string(batch.n) + " and " +
                       std::to_string(inst.n) + " cities");
    }
    batch.xy.insert(batch.xy.end(), inst.xy.begin(), inst.xy.end());
  }
  return batch;
}

TspBatch generate_tsp(int n, int count, uint64_t seed) {
  if (n < kMinGeneratedSize || n > kMaxGeneratedSize)
    throw ComboError("tsp: n must be in [" + std::to_string(kMinGeneratedSize) + ", " + std::to_string(kMaxGeneratedSize) +
                     "] (as training), got " + std::to_string(n));
  if (count < 1) throw ComboError("tsp: count must be >= 1, got " + std::to_string(count));
  Rng rng = instance_stream(seed, ProblemKind::Tsp);
  TspBatch batch;
  batch.n = n;
  batch.count = count;
  batch.xy.resize(static_cast<size_t>(count) * n * 2);
  for (double& v : batch.xy) v = rng.uniform();
  return batch;
}

void check_tour(int n, const std::vector<int>& tour) {
  if (static_cast<int>(tour.size()) != n) {
    throw ComboError("tour has " + std::to_string(tour.size()) + " cities, the instance " + std::to_string(n));
  }
  std::vector<uint8_t> seen(static_cast<size_t>(n), 0);
  for (int c : tour) {
    if (c < 0 || c >= n) throw ComboError("tour visits city " + std::to_string(c) + ", not in [0, " + std::to_string(n) + ")");
    if (seen[c]) throw ComboError("tour visits city " + std::to_string(c) + " twice");
    seen[c] = 1;
  }
}

double tour_length(const TspInstance& instance, const std::vector<int>& tour) {
  check_tour(instance.n, tour);
  double total = 0;
  for (int k = 0; k < instance.n; ++k) total += instance.distance(tour[k], tour[(k + 1) % instance.n]);
  return total;
}

double tour_length(const DistanceMatrix& d, const std::vector<int>& tour) {
  double total = 0;
  const int n = static_cast<int>(tour.size());
  for (int k = 0; k < n; ++k) total += d(tour[k], tour[(k + 1) % n]);
  return total;
}

// ---- TSPLIB ----

bool looks_like_tsplib(const std::string& text) {
  int examined = 0;
  for (const std::string& raw : split_lines(text)) {
    const std::string line = trim(raw);
    if (line.empty()) continue;
    if (++examined > 3) break;
    std::string key, value;
    split_keyword(line, key, value);
    if (key == "NAME" || key == "TYPE" || key == "DIMENSION" || key == "COMMENT" || key == "EDGE_WEIGHT_TYPE" ||
        key == "NODE_COORD_SECTION")
      return true;
  }
  return false;
}

TspInstance read_tsplib(const std::string& text, const std::string& file) {
  const std::vector<std::string> lines = split_lines(text);
  TspInstance inst;
  int dimension = -1;
  bool have_type = false, have_weight_type = false, have_coords = false;
  size_t i = 0;
  for (; i < lines.size(); ++i) {
    const int line_no = static_cast<int>(i) + 1;
    const std::string line = trim(lines[i]);
    if (line.empty()) continue;
    std::string key, value;
    split_keyword(line, key, value);
    if (key == "EOF") break;
    if (key == "NAME") {
      inst.name = value;
    } else if (key == "COMMENT" || key == "DISPLAY_DATA_TYPE") {
      // informative only
    } else if (key == "TYPE") {
      if (upper(value) != "TSP") tsplib_fail(file, line_no, "TYPE '" + value + "' is not supported (only TSP)");
      have_type = true;
    } else if (key == "DIMENSION") {
      dimension = parse_dimension(file, line_no, value, dimension);
    } else if (key == "EDGE_WEIGHT_TYPE") {
      const std::string type = upper(value);
      if (type == "EUC_2D") {
        inst.metric = TspMetric::Euc2D;
      } else if (type == "CEIL_2D") {
        inst.metric = TspMetric::Ceil2D;
      } else if (type == "ATT") {
        inst.metric = TspMetric::Att;
      } else {
        tsplib_fail(file, line_no, "EDGE_WEIGHT_TYPE '" + value + "' is not supported (EUC_2D, CEIL_2D, ATT are)");
      }
      have_weight_type = true;
    } else if (key == "NODE_COORD_TYPE") {
      if (upper(value) != "TWOD_COORDS") tsplib_fail(file, line_no, "NODE_COORD_TYPE '" + value + "' is not supported (TWOD_COORDS is)");
    } else if (key == "NODE_COORD_SECTION") {
      if (dimension < 0) tsplib_fail(file, line_no, "NODE_COORD_SECTION before DIMENSION");
      inst.n = dimension;
      inst.xy.assign(static_cast<size_t>(dimension) * 2, 0.0);
      std::vector<uint8_t> seen(static_cast<size_t>(dimension), 0);
      int read = 0;
      while (read < dimension) {
        ++i;
        if (i >= lines.size()) {
          tsplib_fail(file, static_cast<int>(lines.size()),
                      "NODE_COORD_SECTION ends after " + std::to_string(read) + " of " + std::to_string(dimension) + " nodes");
        }
        const int node_line = static_cast<int>(i) + 1;
        const std::vector<std::string> tokens = tokens_of(lines[i]);
        if (tokens.empty()) continue;
        if (tokens.size() != 3) {
          tsplib_fail(file, node_line, "a node line is 'id x y', got " + std::to_string(tokens.size()) + " fields" +
                                           (read < dimension ? " (section has " + std::to_string(read) + " of " +
                                                                   std::to_string(dimension) + " nodes)"
                                                             : ""));
        }
        double id, x, y;
        for (int k = 0; k < 3; ++k) {
          double v;
          if (!parse_number(tokens[k], v)) tsplib_fail(file, node_line, "'" + tokens[k] + "' is not a number");
        }
        parse_number(tokens[0], id);
        parse_number(tokens[1], x);
        parse_number(tokens[2], y);
        if (std::fabs(x) > kMaxCoordinate || std::fabs(y) > kMaxCoordinate)
          tsplib_fail(file, node_line, "coordinates must be within +-1e15 (distances would overflow), got " + tokens[1] + " " + tokens[2]);
        if (id != std::floor(id) || id < 1 || id > dimension)
          tsplib_fail(file, node_line, "node id " + tokens[0] + " is not in [1, " + std::to_string(dimension) + "]");
        const int node = static_cast<int>(id) - 1;
        if (seen[node]) tsplib_fail(file, node_line, "node " + tokens[0] + " appears twice");
        seen[node] = 1;
        inst.xy[2 * node] = x;
        inst.xy[2 * node + 1] = y;
        ++read;
      }
      have_coords = true;
    } else if (key == "EDGE_WEIGHT_SECTION" || key == "EDGE_WEIGHT_FORMAT" || key == "DISPLAY_DATA_SECTION" ||
               key == "FIXED_EDGES_SECTION" || key == "CAPACITY" || key == "DEMAND_SECTION" || key == "DEPOT_SECTION" ||
               key == "EDGE_DATA_FORMAT" || key == "EDGE_DATA_SECTION" || key == "TOUR_SECTION") {
      tsplib_fail(file, line_no, key + " is not supported (a TSP with NODE_COORD_SECTION is)");
    } else if (have_coords && std::isdigit(static_cast<unsigned char>(key[0]))) {
      tsplib_fail(file, line_no, "more node lines than DIMENSION (" + std::to_string(dimension) + ")");
    } else {
      tsplib_fail(file, line_no, "unknown keyword '" + key + "'");
    }
  }
  if (!have_type && !have_coords && !have_weight_type) tsplib_fail(file, 0, "not a TSPLIB file (no TYPE, EDGE_WEIGHT_TYPE or NODE_COORD_SECTION)");
  if (!have_weight_type) tsplib_fail(file, 0, "EDGE_WEIGHT_TYPE is missing");
  if (!have_coords) tsplib_fail(file, 0, "NODE_COORD_SECTION is missing");
  return inst;
}

std::string write_tsplib_tour(const std::vector<int>& tour, const std::string& name, const std::string& comment) {
  std::string out = "NAME : " + name + "\n";
  if (!comment.empty()) out += "COMMENT : " + comment + "\n";
  out += "TYPE : TOUR\nDIMENSION : " + std::to_string(tour.size()) + "\nTOUR_SECTION\n";
  for (int c : tour) out += std::to_string(c + 1) + "\n";
  out += "-1\nEOF\n";
  return out;
}

std::vector<int> read_tsplib_tour(const std::string& text, const std::string& file) {
  const std::vector<std::string> lines = split_lines(text);
  int dimension = -1;
  std::vector<int> tour;
  bool in_section = false, terminated = false;
  for (size_t i = 0; i < lines.size() && !terminated; ++i) {
    const int line_no = static_cast<int>(i) + 1;
    const std::string line = trim(lines[i]);
    if (line.empty()) continue;
    if (in_section) {
      for (const std::string& token : tokens_of(line)) {
        double v;
        if (!parse_number(token, v) || v != std::floor(v)) tsplib_fail(file, line_no, "'" + token + "' is not a city id");
        if (v == -1) {
          terminated = true;
          break;
        }
        if (v < 1 || (dimension > 0 && v > dimension))
          tsplib_fail(file, line_no, "city id " + token + " is not in [1, " + std::to_string(dimension) + "]");
        tour.push_back(static_cast<int>(v) - 1);
      }
      continue;
    }
    std::string key, value;
    split_keyword(line, key, value);
    if (key == "NAME" || key == "COMMENT") continue;
    if (key == "TYPE") {
      if (upper(value) != "TOUR") tsplib_fail(file, line_no, "TYPE '" + value + "' is not TOUR");
    } else if (key == "DIMENSION") {
      dimension = parse_dimension(file, line_no, value, dimension);
    } else if (key == "TOUR_SECTION") {
      if (dimension < 0) tsplib_fail(file, line_no, "TOUR_SECTION before DIMENSION");
      in_section = true;
    } else if (key == "EOF") {
      break;
    } else {
      tsplib_fail(file, line_no, "unknown keyword '" + key + "'");
    }
  }
  if (!in_section) tsplib_fail(file, 0, "TOUR_SECTION is missing");
  if (!terminated) tsplib_fail(file, 0, "TOUR_SECTION does not end with -1");
  try {
    check_tour(dimension, tour);
  } catch (const ComboError& error) {
    tsplib_fail(file, 0, error.what());
  }
  return tour;
}

// ---- Datasets ----

std::vector<TspInstance> read_tsp_dataset(const std::string& text, const std::string& file) {
  std::vector<TspInstance> instances;
  for (const DataLine& line : read_data_lines(text, file, ProblemKind::Tsp)) {
    TspInstance inst;
    inst.n = line.integer(0, "n (the number of cities)", kMinTspCities, kMaxTspCities);
    line.expect_count(2 * static_cast<size_t>(inst.n) + 1, "n, then x y of each of the n cities");
    for (int c = 0; c < inst.n; ++c) {
      line.real(1 + 2 * static_cast<size_t>(c), "a city's x", -kMaxCoordinate, kMaxCoordinate);
      line.real(2 + 2 * static_cast<size_t>(c), "a city's y", -kMaxCoordinate, kMaxCoordinate);
    }
    inst.xy.assign(line.numbers.begin() + 1, line.numbers.end());
    instances.push_back(std::move(inst));
  }
  return instances;
}

std::string write_tsp_dataset(const std::vector<TspInstance>& instances) {
  std::string out;
  for (const TspInstance& inst : instances) {
    out += std::to_string(inst.n);
    for (double v : inst.xy) out += " " + format_number(v);
    out += "\n";
  }
  return out;
}

// ---- Decoding state ----

void TspState::reset(const TspBatch& batch) {
  batch_ = &batch;
  count_ = batch.count;
  n_ = batch.n;
  mask_.assign(static_cast<size_t>(count_) * n_, 1);
  current_.assign(count_, -1);
  first_.assign(count_, -1);
  steps_.assign(count_, 0);
  tour_.assign(static_cast<size_t>(count_) * n_, -1);
  length_.assign(count_, 0.0);
}

void TspState::step(int i, int city) {
  if (i < 0 || i >= count_) throw ComboError("tsp: instance " + std::to_string(i) + " is not in the batch");
  if (city < 0 || city >= n_ || !mask_[static_cast<size_t>(i) * n_ + city]) {
    throw ComboError("tsp: city " + std::to_string(city) + " is not allowed at step " + std::to_string(steps_[i]) +
                     " of instance " + std::to_string(i));
  }
  const double* xy = &batch_->xy[static_cast<size_t>(i) * n_ * 2];
  auto dist = [xy](int a, int b) {
    const double dx = xy[2 * a] - xy[2 * b], dy = xy[2 * a + 1] - xy[2 * b + 1];
    return std::sqrt(dx * dx + dy * dy);
  };
  if (steps_[i] == 0) {
    first_[i] = city;
  } else {
    length_[i] += dist(current_[i], city);
  }
  mask_[static_cast<size_t>(i) * n_ + city] = 0;
  current_[i] = city;
  tour_[static_cast<size_t>(i) * n_ + steps_[i]] = city;
  if (++steps_[i] == n_) length_[i] += dist(city, first_[i]);
}

void TspState::step_all(const int* actions) {
  for (int i = 0; i < count_; ++i)
    if (!done(i)) step(i, actions[i]);
}

bool TspState::all_done() const {
  for (int i = 0; i < count_; ++i)
    if (!done(i)) return false;
  return true;
}

// ---- Solvers ----

std::vector<int> tsp_held_karp(const DistanceMatrix& d) {
  const int n = d.n;
  if (n > 20) {
    throw ComboError("held-karp solves TSP instances of at most 20 cities (2^19 x 19 states); this one has " +
                     std::to_string(n));
  }
  if (n <= 3) {
    std::vector<int> tour(n);
    for (int c = 0; c < n; ++c) tour[c] = c;
    return tour;
  }
  // City 0 is the fixed start. best[S][j]: shortest path from 0 through exactly the cities of S
  // (bit k = city k + 1), ending at j + 1 in S (Held & Karp 1962, Eq. 1).
  const int m = n - 1;
  const size_t subsets = size_t{1} << m;
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> best(subsets * m, inf);
  for (int j = 0; j < m; ++j) best[(size_t{1} << j) * m + j] = d(0, j + 1);
  // dk[j * m + k] = d(k + 1, j + 1): the row the inner loop reads, contiguous.
  std::vector<double> dk(static_cast<size_t>(m) * m);
  for (int j = 0; j < m; ++j)
    for (int k = 0; k < m; ++k) dk[static_cast<size_t>(j) * m + k] = d(k + 1, j + 1);
  for (size_t s = 1; s < subsets; ++s) {
    if ((s & (s - 1)) == 0) continue;  // singletons are initialised
    for (size_t js = s; js; js &= js - 1) {  // the set bits of s only
      const int j = __builtin_ctzll(js);
      const size_t prev = s & ~(size_t{1} << j);
      const double* from = &best[prev * m];
      const double* row = &dk[static_cast<size_t>(j) * m];
      double value = inf;
      for (size_t ks = prev; ks; ks &= ks - 1) {
        const int k = __builtin_ctzll(ks);
        value = std::min(value, from[k] + row[k]);
      }
      best[s * m + j] = value;
    }
  }
  // Close the cycle, then walk back: the predecessor is any k with an equal total (recomputed
  // rather than stored, halving the memory).
  size_t s = subsets - 1;
  int last = 0;
  double total = inf;
  for (int j = 0; j < m; ++j) {
    const double v = best[s * m + j] + d(j + 1, 0);
    if (v < total) {
      total = v;
      last = j;
    }
  }
  std::vector<int> reversed;
  reversed.push_back(last + 1);
  while ((s & (s - 1)) != 0) {
    const size_t prev = s & ~(size_t{1} << last);
    int pick = -1;
    for (int k = 0; k < m; ++k) {
      if (!(prev >> k & 1)) continue;
      if (best[prev * m + k] + d(k + 1, last + 1) == best[s * m + last]) {
        pick = k;
        break;
      }
    }
    s = prev;
    last = pick;
    reversed.push_back(last + 1);
  }
  std::vector<int> tour = {0};
  tour.insert(tour.end(), reversed.rbegin(), reversed.rend());
  return tour;
}

std::vector<int> tsp_nearest_neighbor(const DistanceMatrix& d, int start) {
  const int n = d.n;
  std::vector<int> tour;
  if (n == 0) return tour;
  std::vector<uint8_t> visited(n, 0);
  int current = start;
  tour.push_back(current);
  visited[current] = 1;
  for (int step = 1; step < n; ++step) {
    int next = -1;
    for (int c = 0; c < n; ++c)
      if (!visited[c] && (next < 0 || d(current, c) < d(current, next))) next = c;
    tour.push_back(next);
    visited[next] = 1;
    current = next;
  }
  return tour;
}

namespace {

// Cheapest position to insert `city` into the cycle `tour`: returns the index to insert before
// (1..size, after tour[pos - 1]) and its cost d(a,c) + d(c,b) - d(a,b).
std::pair<int, double> cheapest_position(const DistanceMatrix& d, const std::vector<int>& tour, int city) {
  const int size = static_cast<int>(tour.size());
  if (size == 1) return {1, 2 * d(tour[0], city)};
  int best_pos = 1;
  double best_cost = std::numeric_limits<double>::infinity();
  for (int k = 0; k < size; ++k) {
    const int a = tour[k], b = tour[(k + 1) % size];
    const double cost = d(a, city) + d(city, b) - d(a, b);
    if (cost < best_cost) {
      best_cost = cost;
      best_pos = k + 1;
    }
  }
  return {best_pos, best_cost};
}

}  // namespace

std::vector<int> tsp_farthest_insertion(const DistanceMatrix& d) {
  const int n = d.n;
  std::vector<int> tour;
  if (n == 0) return tour;
  tour.push_back(0);
  std::vector<uint8_t> in_tour(n, 0);
  in_tour[0] = 1;
  std::vector<double> to_tour(n);  // distance of each city to the nearest tour city
  for (int c = 0; c < n; ++c) to_tour[c] = d(0, c);
  for (int step = 1; step < n; ++step) {
    int pick = -1;
    for (int c = 0; c < n; ++c)
      if (!in_tour[c] && (pick < 0 || to_tour[c] > to_tour[pick])) pick = c;
    const int pos = cheapest_position(d, tour, pick).first;
    tour.insert(tour.begin() + pos, pick);
    in_tour[pick] = 1;
    for (int c = 0; c < n; ++c) to_tour[c] = std::min(to_tour[c], d(pick, c));
  }
  return tour;
}

std::vector<int> tsp_cheapest_insertion(const DistanceMatrix& d) {
  const int n = d.n;
  std::vector<int> tour;
  if (n == 0) return tour;
  tour.push_back(0);
  std::vector<uint8_t> in_tour(n, 0);
  in_tour[0] = 1;
  for (int step = 1; step < n; ++step) {
    int pick = -1, pick_pos = 1;
    double pick_cost = std::numeric_limits<double>::infinity();
    for (int c = 0; c < n; ++c) {
      if (in_tour[c]) continue;
      const auto [pos, cost] = cheapest_position(d, tour, c);
      if (cost < pick_cost) {
        pick = c;
        pick_pos = pos;
        pick_cost = cost;
      }
    }
    tour.insert(tour.begin() + pick_pos, pick);
    in_tour[pick] = 1;
  }
  return tour;
}

namespace {

// A move is taken only if it gains more than this: with rounding, a zero-gain move could
// otherwise be taken back and forth forever. 1e-10 for the unit square's instances; relative to
// the longest distance beyond (rounding grows with it: TSPLIB coordinates reach 10^6), far above
// the rounding of a move's four-term gain (about 4.4e-16 of the longest distance).
double min_gain(const DistanceMatrix& d) {
  double longest = 0;
  for (double v : d.d) longest = std::max(longest, v);
  return std::max(1e-10, 1e-13 * longest);
}

bool two_opt_pass(const DistanceMatrix& d, std::vector<int>& t, double threshold) {
  const int n = static_cast<int>(t.size());
  if (n < 4) return false;
  bool improved = false;
  for (int i = 0; i < n - 1; ++i) {
    for (int j = i + 2; j < n; ++j) {
      if (i == 0 && j == n - 1) continue;  // the two edges share city t[0]
      const int a = t[i], b = t[i + 1], c = t[j], e = t[(j + 1) % n];
      // Replace edges (a,b), (c,e) by (a,c), (b,e): reverse t[i+1..j].
      const double delta = d(a, c) + d(b, e) - d(a, b) - d(c, e);
      if (delta < -threshold) {
        std::reverse(t.begin() + i + 1, t.begin() + j + 1);
        improved = true;
      }
    }
  }
  return improved;
}

bool or_opt_pass(const DistanceMatrix& d, std::vector<int>& t, double threshold) {
  const int n = static_cast<int>(t.size());
  bool improved = false;
  std::vector<int> rest, segment;
  for (int len = 1; len <= 3; ++len) {
    if (n < len + 3) break;
    for (int i = 0; i < n; ++i) {
      // Segment t[i .. i+len-1] (cyclic), between p and q.
      segment.clear();
      for (int k = 0; k < len; ++k) segment.push_back(t[(i + k) % n]);
      const int p = t[(i + n - 1) % n], q = t[(i + len) % n];
      const double removal_gain = d(p, segment.front()) + d(segment.back(), q) - d(p, q);
      // The rest of the cycle, starting at q and ending at p.
      rest.clear();
      for (int k = 0; k < n - len; ++k) rest.push_back(t[(i + len + k) % n]);
      const int r = static_cast<int>(rest.size());
      double best = -threshold;
      int best_edge = -1;
      bool best_reversed = false;
      for (int k = 0; k < r - 1; ++k) {  // edge (rest[k], rest[k+1]); (p, q) = (rest[r-1], rest[0]) is where it was
        const int u = rest[k], v = rest[k + 1];
        const double forward = d(u, segment.front()) + d(segment.back(), v) - d(u, v) - removal_gain;
        const double backward = d(u, segment.back()) + d(segment.front(), v) - d(u, v) - removal_gain;
        if (forward < best) {
          best = forward;
          best_edge = k;
          best_reversed = false;
        }
        if (backward < best) {
          best = backward;
          best_edge = k;
          best_reversed = true;
        }
      }
      if (best_edge < 0) continue;
      if (best_reversed) std::reverse(segment.begin(), segment.end());
      std::vector<int> next(rest.begin(), rest.begin() + best_edge + 1);
      next.insert(next.end(), segment.begin(), segment.end());
      next.insert(next.end(), rest.begin() + best_edge + 1, rest.end());
      t.swap(next);
      improved = true;
    }
  }
  return improved;
}

}  // namespace

void tsp_two_opt(const DistanceMatrix& d, std::vector<int>& tour) {
  const double gain = min_gain(d);
  while (two_opt_pass(d, tour, gain)) {
  }
}

void tsp_or_opt(const DistanceMatrix& d, std::vector<int>& tour) {
  const double gain = min_gain(d);
  while (or_opt_pass(d, tour, gain)) {
  }
}

void tsp_local_search(const DistanceMatrix& d, std::vector<int>& tour) {
  const double gain = min_gain(d);
  for (;;) {
    const double before = tour_length(d, tour);
    while (two_opt_pass(d, tour, gain)) {
    }
    while (or_opt_pass(d, tour, gain)) {
    }
    if (tour_length(d, tour) > before - gain) break;
  }
}

}  // namespace pl::combo
