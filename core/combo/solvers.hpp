// The reference solvers of every combinatorial problem behind one table, so that the CLI
// (`policylab solve`), the playground (through the wasm bindings) and training (the gap of a learned
// policy to the best reference) name, run and report them the same way.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/combo/binpack.hpp"
#include "core/combo/cvrp.hpp"
#include "core/combo/jobshop.hpp"
#include "core/combo/knapsack.hpp"
#include "core/combo/tsp.hpp"

namespace pl::combo {

struct SolverInfo {
  ProblemKind kind;
  const char* name;
  bool exact;
  const char* doc;
};
// Every solver of every problem, in the order `policylab solve --list` prints them.
const std::vector<SolverInfo>& solver_table();
// The solver `name` of `kind`; ComboError listing that problem's solvers otherwise.
const SolverInfo& find_solver(ProblemKind kind, const std::string& name);

// What a problem's objective is called ("length", "value", "makespan", "bins", "utilisation") and
// whether larger is better (knapsack value, 3-D utilisation): the gap of a solution is measured
// against the better reference in that direction.
const char* objective_name(ProblemKind kind);
bool maximizes(ProblemKind kind);

// One instance of any problem.
using AnyInstance =
    std::variant<TspInstance, CvrpInstance, KnapsackInstance, JobShopInstance, BinPack1DInstance, BinPack3DInstance>;
ProblemKind kind_of(const AnyInstance& instance);

// `count` instances of the problem's generator (n cities, customers, items or jobs; `machines` for
// job-shop) as dataset text, one instance per line.
std::string generate_dataset(ProblemKind kind, int n, int machines, int count, uint64_t seed);

// The instances of `text` for `kind`: a TSPLIB file (tsp), a job-shop file (jobshop), or a dataset
// (one instance per line). Errors name the file and line (ComboError).
std::vector<AnyInstance> read_instances(ProblemKind kind, const std::string& text, const std::string& file);

// A solved instance: the objective, and the solution as the problem's checker reads it (a tour, a
// route sequence with depot visits, the chosen items, operation start times, bins of items, or
// placements x y z per packed item).
struct Solution {
  double objective = 0;
  std::vector<int> solution;
};
// The objective of `solution` by the problem's checker; ComboError naming the first violation
// (tour_length and the *_check functions of each problem).
double check_solution(const AnyInstance& instance, const std::vector<int>& solution);
// Runs solver `name` (find_solver) on the instance and checks the result with the problem's checker.
Solution solve(const AnyInstance& instance, const std::string& name);
// The solution as one line of a solutions file (the layouts in the README's "Combinatorial
// problems" section).
std::string solution_line(ProblemKind kind, const Solution& solution);
// The inverse: a solutions file (one solution_line per instance, as `policylab solve --out` and
// `policylab eval --out` write them; a blank line is an empty solution, '#' starts a comment, on a
// line of its own or after a solution), or for TSP a TSPLIB .tour holding one tour. Only the layout
// is checked here (integers, a 3-D line's count); check_solution says whether a solution fits its
// instance. ComboError "FILE:LINE: ..." otherwise.
std::vector<std::vector<int>> read_solutions(ProblemKind kind, const std::string& text, const std::string& file);

// For the playground and `policylab solve --list --json`: every problem with its objective, its
// direction and its solvers ({"tsp": {"objective": "length", "maximize": false, "solvers": [{"name",
// "exact", "doc"}...]}, ...}).
nlohmann::json solver_catalog();
// Solves every instance of `text` (read_instances) with `solver`: {"problem", "objective",
// "maximize", "instances": [{"objective", "solution": [...], "seconds"}]}. Bad input throws ComboError.
nlohmann::json solve_to_json(const std::string& problem, const std::string& text, const std::string& solver);

}  // namespace pl::combo
