#include "core/combo/solvers.hpp"

#include <cctype>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <sstream>

namespace pl::combo {

const std::vector<SolverInfo>& solver_table() {
  static const std::vector<SolverInfo> table = {
      {ProblemKind::Tsp, "held-karp", true, "Held-Karp dynamic programming, n <= 20 (Held & Karp 1962)"},
      {ProblemKind::Tsp, "branch-and-bound", true, "1-tree bound branch and bound, any n (Held & Karp 1970; Volgenant & Jonker 1982)"},
      {ProblemKind::Tsp, "nearest-neighbor", false, "nearest neighbour from city 1"},
      {ProblemKind::Tsp, "farthest-insertion", false, "farthest insertion (Rosenkrantz et al. 1977)"},
      {ProblemKind::Tsp, "cheapest-insertion", false, "cheapest insertion (Rosenkrantz et al. 1977)"},
      {ProblemKind::Tsp, "2-opt", false, "nearest neighbour, then 2-opt to a local optimum (Croes 1958)"},
      {ProblemKind::Tsp, "or-opt", false, "nearest neighbour, then Or-opt to a local optimum (Or 1976)"},
      {ProblemKind::Tsp, "local-search", false, "farthest insertion, then 2-opt and Or-opt alternated"},
      {ProblemKind::Cvrp, "nearest-neighbor", false, "nearest customer that fits, else back to the depot"},
      {ProblemKind::Cvrp, "savings", false, "Clarke & Wright (1964) savings, parallel version"},
      {ProblemKind::Knapsack, "branch-and-bound", true, "depth-first branch and bound, Dantzig bound (Horowitz & Sahni 1974)"},
      {ProblemKind::Knapsack, "greedy", false, "decreasing value/weight, take what fits"},
      {ProblemKind::JobShop, "branch-and-bound", true, "Giffler-Thompson active schedules, <= 6 jobs x 6 machines"},
      {ProblemKind::JobShop, "spt", false, "shortest processing time"},
      {ProblemKind::JobShop, "mwkr", false, "most work remaining"},
      {ProblemKind::JobShop, "mor", false, "most operations remaining"},
      {ProblemKind::JobShop, "fifo", false, "first in, first out (earliest job ready time)"},
      {ProblemKind::BinPack1D, "first-fit", false, "lowest-numbered bin that fits (Johnson et al. 1974)"},
      {ProblemKind::BinPack1D, "best-fit", false, "fullest bin that fits (Johnson et al. 1974)"},
      {ProblemKind::BinPack3D, "first-fit", false, "first feasible corner, x-major"},
      {ProblemKind::BinPack3D, "best-fit", false, "feasible corner of lowest resulting top (deepest bottom-left)"},
  };
  return table;
}

const SolverInfo& find_solver(ProblemKind kind, const std::string& name) {
  std::string names;
  for (const SolverInfo& s : solver_table()) {
    if (s.kind != kind) continue;
    if (name == s.name) return s;
    names += (names.empty() ? "" : ", ") + std::string(s.name);
  }
  throw ComboError("unknown solver '" + name + "' for " + problem_name(kind) + "; its solvers: " + names);
}

const char* objective_name(ProblemKind kind) {
  switch (kind) {
    case ProblemKind::Tsp: return "length";
    case ProblemKind::Cvrp: return "length";
    case ProblemKind::Knapsack: return "value";
    case ProblemKind::JobShop: return "makespan";
    case ProblemKind::BinPack1D: return "bins";
    case ProblemKind::BinPack3D: return "utilisation";
  }
  return "objective";
}

bool maximizes(ProblemKind kind) { return kind == ProblemKind::Knapsack || kind == ProblemKind::BinPack3D; }

ProblemKind kind_of(const AnyInstance& instance) {
  // The variant's alternatives are declared in ProblemKind's order.
  static const ProblemKind kinds[] = {ProblemKind::Tsp,     ProblemKind::Cvrp,      ProblemKind::Knapsack,
                                      ProblemKind::JobShop, ProblemKind::BinPack1D, ProblemKind::BinPack3D};
  return kinds[instance.index()];
}

namespace {

template <typename T>
std::vector<AnyInstance> widen(std::vector<T> instances) {
  std::vector<AnyInstance> out;
  out.reserve(instances.size());
  for (T& i : instances) out.emplace_back(std::move(i));
  return out;
}

std::vector<int> solve_tsp(const TspInstance& inst, const std::string& solver) {
  const DistanceMatrix d = inst.matrix();
  if (solver == "held-karp") return tsp_held_karp(d);
  if (solver == "branch-and-bound") return tsp_branch_and_bound(d);
  if (solver == "nearest-neighbor") return tsp_nearest_neighbor(d);
  if (solver == "farthest-insertion") return tsp_farthest_insertion(d);
  if (solver == "cheapest-insertion") return tsp_cheapest_insertion(d);
  std::vector<int> tour;
  if (solver == "2-opt") {
    tour = tsp_nearest_neighbor(d);
    tsp_two_opt(d, tour);
  } else if (solver == "or-opt") {
    tour = tsp_nearest_neighbor(d);
    tsp_or_opt(d, tour);
  } else {  // local-search
    tour = tsp_farthest_insertion(d);
    tsp_local_search(d, tour);
  }
  return tour;
}

template <typename Batch>
auto instances_of(const Batch& batch) {
  std::vector<decltype(batch.instance(0))> out;
  for (int i = 0; i < batch.count; ++i) out.push_back(batch.instance(i));
  return out;
}

std::string join(const std::vector<int>& values) {
  std::string out;
  for (size_t k = 0; k < values.size(); ++k) out += (k ? " " : "") + std::to_string(values[k]);
  return out;
}

}  // namespace

std::string generate_dataset(ProblemKind kind, int n, int machines, int count, uint64_t seed) {
  switch (kind) {
    case ProblemKind::Tsp: return write_tsp_dataset(instances_of(generate_tsp(n, count, seed)));
    case ProblemKind::Cvrp: return write_cvrp_dataset(instances_of(generate_cvrp(n, count, seed)));
    case ProblemKind::Knapsack: return write_knapsack_dataset(instances_of(generate_knapsack(n, count, seed)));
    case ProblemKind::JobShop: return write_jobshop_dataset(instances_of(generate_jobshop(n, machines, count, seed)));
    case ProblemKind::BinPack1D: return write_binpack1d_dataset(instances_of(generate_binpack1d(n, count, seed)));
    case ProblemKind::BinPack3D: return write_binpack3d_dataset(instances_of(generate_binpack3d(n, count, seed)));
  }
  return {};
}

std::vector<AnyInstance> read_instances(ProblemKind kind, const std::string& text, const std::string& file) {
  switch (kind) {
    case ProblemKind::Tsp:
      if (looks_like_tsplib(text)) return widen(std::vector<TspInstance>{read_tsplib(text, file)});
      return widen(read_tsp_dataset(text, file));
    case ProblemKind::Cvrp: return widen(read_cvrp_dataset(text, file));
    case ProblemKind::Knapsack: return widen(read_knapsack_dataset(text, file));
    case ProblemKind::JobShop:
      if (looks_like_jobshop_file(text)) return widen(std::vector<JobShopInstance>{read_jobshop_file(text, file)});
      return widen(read_jobshop_dataset(text, file));
    case ProblemKind::BinPack1D: return widen(read_binpack1d_dataset(text, file));
    case ProblemKind::BinPack3D: return widen(read_binpack3d_dataset(text, file));
  }
  return {};
}

double check_solution(const AnyInstance& instance, const std::vector<int>& solution) {
  switch (kind_of(instance)) {
    case ProblemKind::Tsp: return tour_length(std::get<TspInstance>(instance), solution);
    case ProblemKind::Cvrp: return cvrp_check(std::get<CvrpInstance>(instance), solution);
    case ProblemKind::Knapsack: return knapsack_check(std::get<KnapsackInstance>(instance), solution);
    case ProblemKind::JobShop: return jobshop_check(std::get<JobShopInstance>(instance), solution);
    case ProblemKind::BinPack1D: return binpack1d_check(std::get<BinPack1DInstance>(instance), solution);
    case ProblemKind::BinPack3D: return binpack3d_check(std::get<BinPack3DInstance>(instance), solution);
  }
  throw ComboError("unknown problem");
}

Solution solve(const AnyInstance& instance, const std::string& name) {
  const ProblemKind kind = kind_of(instance);
  const std::string solver = find_solver(kind, name).name;
  Solution s;
  switch (kind) {
    case ProblemKind::Tsp: {
      const auto& inst = std::get<TspInstance>(instance);
      s.solution = solve_tsp(inst, solver);
      break;
    }
    case ProblemKind::Cvrp: {
      const auto& inst = std::get<CvrpInstance>(instance);
      s.solution = solver == "savings" ? cvrp_savings(inst) : cvrp_nearest_neighbor(inst);
      break;
    }
    case ProblemKind::Knapsack: {
      const auto& inst = std::get<KnapsackInstance>(instance);
      s.solution = solver == "greedy" ? knapsack_greedy(inst) : knapsack_branch_and_bound(inst);
      break;
    }
    case ProblemKind::JobShop: {
      const auto& inst = std::get<JobShopInstance>(instance);
      if (solver == "branch-and-bound") s.solution = jobshop_branch_and_bound(inst);
      else if (solver == "spt") s.solution = jobshop_dispatch(inst, DispatchRule::Spt);
      else if (solver == "mwkr") s.solution = jobshop_dispatch(inst, DispatchRule::Mwkr);
      else if (solver == "mor") s.solution = jobshop_dispatch(inst, DispatchRule::Mor);
      else s.solution = jobshop_dispatch(inst, DispatchRule::Fifo);
      break;
    }
    case ProblemKind::BinPack1D: {
      const auto& inst = std::get<BinPack1DInstance>(instance);
      s.solution = solver == "best-fit" ? binpack1d_best_fit(inst) : binpack1d_first_fit(inst);
      break;
    }
    case ProblemKind::BinPack3D: {
      const auto& inst = std::get<BinPack3DInstance>(instance);
      s.solution = solver == "best-fit" ? binpack3d_best_fit(inst) : binpack3d_first_fit(inst);
      break;
    }
  }
  s.objective = check_solution(instance, s.solution);
  return s;
}

std::string solution_line(ProblemKind kind, const Solution& solution) {
  // A 3-D packing line starts with the number of packed items (placements are triples).
  if (kind == ProblemKind::BinPack3D)
    return std::to_string(solution.solution.size() / 3) + (solution.solution.empty() ? "" : " " + join(solution.solution));
  return join(solution.solution);
}

std::vector<std::vector<int>> read_solutions(ProblemKind kind, const std::string& text, const std::string& file) {
  // A TSPLIB tour starts with a keyword line ("NAME : ...", "TYPE : TOUR"), a solutions file with
  // numbers (or a comment, or a blank line for an empty solution).
  if (kind == ProblemKind::Tsp) {
    const size_t first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && std::isalpha(static_cast<unsigned char>(text[first])))
      return {read_tsplib_tour(text, file)};
  }
  std::vector<std::vector<int>> solutions;
  size_t start = 0;
  for (int line_no = 1; start < text.size(); ++line_no) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t first = line.find_first_not_of(" \t");
    if (first != std::string::npos && line[first] == '#') continue;  // a comment line
    const size_t comment = line.find('#');  // a comment after the solution (eval --out: its objective)
    if (comment != std::string::npos) line.erase(comment);
    const auto fail = [&](const std::string& message) {
      throw ComboError(file + ":" + std::to_string(line_no) + ": " + problem_name(kind) + " solution: " + message);
    };
    std::vector<int> solution;
    std::istringstream tokens(line);
    for (std::string token; tokens >> token;) {
      char* rest = nullptr;
      errno = 0;
      const long v = std::strtol(token.c_str(), &rest, 10);
      if (*rest != '\0' || errno == ERANGE || v < INT_MIN || v > INT_MAX)
        fail("'" + token + "' is not an integer (solution lines are the integers `policylab solve --out` writes)");
      solution.push_back(static_cast<int>(v));
    }
    if (kind == ProblemKind::BinPack3D) {
      // "count x y z x y z ...": the count of packed items, then a placement per item.
      if (solution.empty()) fail("an empty line (a 3-D packing line starts with its count of packed items)");
      if (solution[0] < 0 || static_cast<size_t>(solution[0]) * 3 != solution.size() - 1)
        fail("the line starts with " + std::to_string(solution[0]) + " packed items but holds " +
             std::to_string(solution.size() - 1) + " numbers after it (3 per item)");
      solution.erase(solution.begin());
    }
    solutions.push_back(std::move(solution));
  }
  return solutions;
}

nlohmann::json solver_catalog() {
  nlohmann::json out = nlohmann::json::object();
  for (ProblemKind kind : all_problems()) {
    nlohmann::json solvers = nlohmann::json::array();
    for (const SolverInfo& s : solver_table())
      if (s.kind == kind) solvers.push_back({{"name", s.name}, {"exact", s.exact}, {"doc", s.doc}});
    out[problem_name(kind)] = {{"objective", objective_name(kind)}, {"maximize", maximizes(kind)}, {"solvers", solvers}};
  }
  return out;
}

nlohmann::json solve_to_json(const std::string& problem, const std::string& text, const std::string& solver) {
  const ProblemKind kind = parse_problem(problem);
  find_solver(kind, solver);
  const std::vector<AnyInstance> instances = read_instances(kind, text, "<instance>");
  if (instances.empty()) throw ComboError("no " + std::string(problem_name(kind)) + " instance given");
  nlohmann::json list = nlohmann::json::array();
  for (const AnyInstance& instance : instances) {
    const auto t0 = std::chrono::steady_clock::now();
    const Solution s = solve(instance, solver);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    list.push_back({{"objective", s.objective}, {"solution", s.solution}, {"seconds", seconds}});
  }
  return {{"problem", problem_name(kind)}, {"objective", objective_name(kind)}, {"maximize", maximizes(kind)},
          {"instances", list}};
}

}  // namespace pl::combo
