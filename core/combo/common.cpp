#include "core/combo/common.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace pl::combo {

const char* problem_name(ProblemKind kind) {
  switch (kind) {
    case ProblemKind::Tsp: return "tsp";
    case ProblemKind::Cvrp: return "cvrp";
    case ProblemKind::Knapsack: return "knapsack";
    case ProblemKind::JobShop: return "jobshop";
    case ProblemKind::BinPack1D: return "binpack1d";
    case ProblemKind::BinPack3D: return "binpack3d";
  }
  return "?";
}

const std::vector<ProblemKind>& all_problems() {
  static const std::vector<ProblemKind> kinds = {ProblemKind::Tsp,     ProblemKind::Cvrp,      ProblemKind::Knapsack,
                                                 ProblemKind::JobShop, ProblemKind::BinPack1D, ProblemKind::BinPack3D};
  return kinds;
}

ProblemKind parse_problem(const std::string& name) {
  std::string names;
  for (ProblemKind kind : all_problems()) {
    if (name == problem_name(kind)) return kind;
    names += (names.empty() ? "" : ", ") + std::string(problem_name(kind));
  }
  throw ComboError("unknown problem '" + name + "'; problems: " + names);
}

Rng instance_stream(uint64_t seed, ProblemKind kind) {
  return streams::stream(seed, streams::kInstances, static_cast<uint64_t>(kind));
}

void DataLine::fail(const std::string& message) const {
  throw ComboError(file + ":" + std::to_string(line) + ": " + problem_name(kind) + ": " + message);
}

int DataLine::integer(size_t index, const char* what, int lo, int hi) const {
  if (index >= numbers.size()) fail(std::string("missing ") + what);
  const double v = numbers[index];
  if (v != std::floor(v)) fail(std::string(what) + " must be an integer, got " + format_number(v));
  if (v < lo || v > hi) {
    fail(std::string(what) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
         format_number(v));
  }
  return static_cast<int>(v);
}

double DataLine::real(size_t index, const char* what, double lo, double hi) const {
  if (index >= numbers.size()) fail(std::string("missing ") + what);
  const double v = numbers[index];
  if (v < lo || v > hi) {
    fail(std::string(what) + " must be in [" + format_number(lo) + ", " + format_number(hi) + "], got " +
         format_number(v));
  }
  return v;
}

void DataLine::expect_count(size_t expected, const std::string& layout) const {
  if (numbers.size() != expected) {
    fail("expected " + std::to_string(expected) + " numbers (" + layout + "), got " + std::to_string(numbers.size()));
  }
}

std::vector<DataLine> read_data_lines(const std::string& text, const std::string& file, ProblemKind kind) {
  std::vector<DataLine> lines;
  size_t pos = 0;
  int line_number = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();  // files written on Windows
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;

    DataLine data;
    data.file = file;
    data.line = line_number;
    data.kind = kind;
    size_t i = first;
    int token_index = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i >= line.size()) break;
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
      const std::string token = line.substr(i, j - i);
      ++token_index;
      // strtod accepts "nan", "inf" and hex; a dataset holds plain finite decimals only.
      // Overflow gives infinity (refused); underflow (ERANGE below 1e-308) gives the nearest double,
      // a number like any other.
      char* parse_end = nullptr;
      const double value = std::strtod(token.c_str(), &parse_end);
      const bool plain = token.find_first_not_of("0123456789+-.eE") == std::string::npos;
      if (!plain || parse_end != token.c_str() + token.size() || token.empty() || !std::isfinite(value)) {
        data.fail("'" + token + "' (number " + std::to_string(token_index) + " on the line) is not a number");
      }
      data.numbers.push_back(value);
      i = j;
    }
    lines.push_back(std::move(data));
  }
  return lines;
}

std::string format_number(double value) {
  char buffer[40];
  // The shortest precision that reads back exactly, so that datasets stay readable.
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) return buffer;
  }
  return buffer;
}

void check_matrix_size(int n) {
  if (n > kMaxMatrixSize) {
    throw ComboError("the routing solvers keep an n x n distance matrix; " + std::to_string(n) + " points exceed " +
                     std::to_string(kMaxMatrixSize));
  }
}

DistanceMatrix euclidean_matrix(const double* xy, int n) {
  check_matrix_size(n);
  DistanceMatrix m;
  m.n = n;
  m.d.assign(static_cast<size_t>(n) * n, 0.0);
  for (int a = 0; a < n; ++a) {
    for (int b = a + 1; b < n; ++b) {
      const double dx = xy[2 * a] - xy[2 * b], dy = xy[2 * a + 1] - xy[2 * b + 1];
      const double dist = std::sqrt(dx * dx + dy * dy);
      m.d[static_cast<size_t>(a) * n + b] = dist;
      m.d[static_cast<size_t>(b) * n + a] = dist;
    }
  }
  return m;
}

}  // namespace pl::combo
