// Combinatorial optimisation problems (issue #9, sections 1 and 4): what every problem shares.
//
// Each problem (tsp.hpp, cvrp.hpp, knapsack.hpp, jobshop.hpp, binpack.hpp) has
//  - an instance type, and a batch of instances of one size in flat buffers (what a policy reads);
//  - a seeded generator of batches (the distributions of the papers the issue names);
//  - a dataset line layout (one instance per line of plain numbers) with a reader whose errors
//    name the file, the line and the problem, and a writer that the reader reads back exactly;
//  - a batched decoding state: reset() allocates, then mask(i) (1 = allowed) and step(i, action)
//    never allocate, and the mask never allows an action step() would reject;
//  - reference solvers (exact and heuristic), each a function over one instance.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/util/rng.hpp"

namespace pl::combo {

// Bad input (a malformed file or dataset line, an instance a solver cannot take, an infeasible
// action): the message names the culprit. The CLI reports it as a usage error (exit 2).
struct ComboError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

enum class ProblemKind { Tsp, Cvrp, Knapsack, JobShop, BinPack1D, BinPack3D };
const char* problem_name(ProblemKind kind);  // "tsp", "cvrp", "knapsack", "jobshop", "binpack1d", "binpack3d"
// The kind named `name`; ComboError listing the names otherwise.
ProblemKind parse_problem(const std::string& name);
const std::vector<ProblemKind>& all_problems();

// The random stream of a problem generator: streams::kInstances derived again with the problem
// kind as the index, so that TSP and CVRP batches of the same seed are independent.
Rng instance_stream(uint64_t seed, ProblemKind kind);

// One data line of a dataset file: its numbers, and where it came from (for error messages).
struct DataLine {
  std::string file;          // the path as given (or "<string>")
  int line = 0;              // 1-based line number in the file
  ProblemKind kind = ProblemKind::Tsp;
  std::vector<double> numbers;

  // "FILE:LINE: tsp: <message>"
  [[noreturn]] void fail(const std::string& message) const;
  // numbers[index] as an integer in [lo, hi]; fails naming `what` otherwise.
  int integer(size_t index, const char* what, int lo, int hi) const;
  // numbers[index] as a real in [lo, hi].
  double real(size_t index, const char* what, double lo, double hi) const;
  // Fails unless there are exactly `expected` numbers; `layout` says what they are.
  void expect_count(size_t expected, const std::string& layout) const;
};

// Splits `text` into data lines of numbers. Blank lines and lines starting with '#' are skipped.
// A token that is not a finite number fails with the file, line, problem and the token.
std::vector<DataLine> read_data_lines(const std::string& text, const std::string& file, ProblemKind kind);

// A number as the datasets write it: shortest text that reads back to the same double ("%.17g"
// trimmed): saving and loading a dataset gives bit-identical instances.
std::string format_number(double value);

// Square matrix of pairwise distances (row-major), what the TSP and CVRP solvers work on.
struct DistanceMatrix {
  int n = 0;
  std::vector<double> d;
  double operator()(int a, int b) const { return d[static_cast<size_t>(a) * n + b]; }
};

// The sizes the instance generators make (`solve --generate`, training's instances): training's
// range of the field n, so a policy of any trainable size has held-out datasets of its size.
constexpr int kMinGeneratedSize = 5, kMaxGeneratedSize = 200;

// Euclidean distance matrix of n points stored as x0 y0 x1 y1 ...; ComboError above
// kMaxMatrixSize points (the matrix would take n^2 doubles: 3.2 GB at 20000).
constexpr int kMaxMatrixSize = 20000;
DistanceMatrix euclidean_matrix(const double* xy, int n);
void check_matrix_size(int n);

}  // namespace pl::combo
