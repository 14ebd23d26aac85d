// policylab solve: the reference solvers of the combinatorial problems (core/combo) on a file.
//
//   policylab solve --list [--json]                                  solvers per problem
//   policylab solve --solver NAME FILE [--problem P] [--out PATH] [--json]
//   policylab solve --generate P --n N [--m M] [--count C] [--seed S] --out FILE
//
// FILE is a TSPLIB .tsp file (recognised by its header), a job-shop file (standard "n m" or
// Taillard's format), or a dataset (one instance per line; then --problem says which problem,
// unless the file is one of the first two kinds). Prints each instance's objective and the mean.
// --out writes the solutions: a TSPLIB .tour for a single TSP instance, otherwise one line per
// instance of plain numbers (layouts in the README). Bad input is a one-line error, exit code 2.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/common.hpp"
#include "core/combo/binpack.hpp"
#include "core/combo/cvrp.hpp"
#include "core/combo/jobshop.hpp"
#include "core/combo/knapsack.hpp"
#include "core/combo/solvers.hpp"
#include "core/combo/tsp.hpp"

namespace cli {

namespace {

using namespace pl::combo;

struct SolveOptions {
  std::string file, solver, problem, out, generate;
  bool list = false, as_json = false;
  int n = 0, m = 0, count = 100;
  uint64_t seed = 1;
};

// Whole objectives (TSPLIB lengths, bins, makespans) without decimals; others with six.
std::string format_objective(double v) {
  return format_fixed(v, v == std::floor(v) && std::fabs(v) < 1e12 ? 0 : 6);
}

int run_list(bool as_json) {
  if (as_json) {
    std::cout << solver_catalog().dump(2) << "\n";
    return 0;
  }
  for (ProblemKind kind : all_problems()) {
    std::cout << problem_name(kind) << " (" << objective_name(kind) << "):\n";
    for (const SolverInfo& s : solver_table()) {
      if (s.kind != kind) continue;
      char line[256];
      std::snprintf(line, sizeof line, "  %-20s %-9s %s\n", s.name, s.exact ? "exact" : "heuristic", s.doc);
      std::cout << line;
    }
  }
  return 0;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw UsageError("cannot write '" + path + "'");
  out << text;
  if (!out) throw UsageError("cannot write '" + path + "'");
}

int run_generate(const SolveOptions& o) {
  const ProblemKind kind = parse_problem(o.generate);
  if (o.out.empty()) throw UsageError("--generate writes a dataset: pass --out FILE");
  if (o.n <= 0) throw UsageError("--generate " + o.generate + " needs --n (cities, customers, items or jobs)");
  if (o.count <= 0) throw UsageError("--count must be >= 1, got " + std::to_string(o.count));
  if (o.m > 0 && kind != ProblemKind::JobShop) throw UsageError("--m (machines) is for --generate jobshop only");
  const std::string text = generate_dataset(kind, o.n, o.m > 0 ? o.m : o.n, o.count, o.seed);
  write_text(o.out, text);
  std::cout << "wrote " << o.count << " " << problem_name(kind) << " instances (n = " << o.n
            << (kind == ProblemKind::JobShop ? ", m = " + std::to_string(o.m > 0 ? o.m : o.n) : std::string())
            << ", seed " << o.seed << ") to " << o.out << "\n";
  return 0;
}

int run_solve(const SolveOptions& o) {
  if (o.solver.empty()) throw UsageError("solve needs --solver NAME (see policylab solve --list)");
  const std::string text = read_file(o.file, "instance file");

  // Which problem: --problem, else what the file looks like.
  ProblemKind kind;
  bool tsplib = false;
  if (!o.problem.empty()) {
    kind = parse_problem(o.problem);
    tsplib = kind == ProblemKind::Tsp && looks_like_tsplib(text);
  } else if (looks_like_tsplib(text)) {
    kind = ProblemKind::Tsp;
    tsplib = true;
  } else if (looks_like_jobshop_file(text)) {
    kind = ProblemKind::JobShop;
  } else {
    throw UsageError("cannot tell which problem '" + o.file +
                     "' holds (not a TSPLIB or job-shop file); pass --problem tsp|cvrp|knapsack|jobshop|binpack1d|binpack3d");
  }

  find_solver(kind, o.solver);  // names the problem's solvers when unknown
  const std::vector<AnyInstance> instances = read_instances(kind, text, o.file);
  if (instances.empty()) throw UsageError("'" + o.file + "' holds no " + std::string(problem_name(kind)) + " instance");

  struct Solved {
    Solution solution;
    double seconds = 0;
  };
  std::vector<Solved> solved;
  double total = 0, seconds = 0;
  for (size_t k = 0; k < instances.size(); ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    Solved s;
    try {
      s.solution = solve(instances[k], o.solver);
    } catch (const ComboError& e) {
      // e.g. held-karp on 52 cities: name the instance.
      throw UsageError(o.file + ": instance " + std::to_string(k + 1) + ": " + e.what());
    }
    s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    total += s.solution.objective;
    seconds += s.seconds;
    solved.push_back(std::move(s));
  }
  const double mean = total / static_cast<double>(solved.size());

  if (!o.out.empty()) {
    std::string out;
    if (kind == ProblemKind::Tsp && solved.size() == 1) {
      const std::string& instance_name = std::get<TspInstance>(instances[0]).name;
      const std::string name = tsplib && !instance_name.empty() ? instance_name : "tour";
      out = write_tsplib_tour(solved[0].solution.solution, name + ".tour",
                              "policylab solve --solver " + o.solver + ", length " +
                                  format_objective(solved[0].solution.objective));
    } else {
      for (const Solved& s : solved) out += solution_line(kind, s.solution) + "\n";
    }
    write_text(o.out, out);
  }

  if (o.as_json) {
    nlohmann::json j = {{"problem", problem_name(kind)}, {"solver", o.solver}, {"objective", objective_name(kind)},
                        {"mean", mean},              {"seconds", seconds}};
    if (tsplib) j["metric"] = tsp_metric_name(std::get<TspInstance>(instances[0]).metric);
    nlohmann::json list = nlohmann::json::array();
    for (const Solved& s : solved) list.push_back({{"objective", s.solution.objective}, {"seconds", s.seconds}});
    j["instances"] = list;
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::cout << problem_name(kind) << ": " << solved.size() << (solved.size() == 1 ? " instance" : " instances")
            << " from " << o.file << ", solver " << o.solver
            << (tsplib ? std::string(", TSPLIB ") + tsp_metric_name(std::get<TspInstance>(instances[0]).metric) + " distances" : std::string()) << "\n";
  for (size_t k = 0; k < solved.size(); ++k) {
    char line[128];
    std::snprintf(line, sizeof line, "%6zu  %s %s  (%.3f s)\n", k + 1, objective_name(kind),
                  format_objective(solved[k].solution.objective).c_str(), solved[k].seconds);
    std::cout << line;
  }
  char summary[160];
  std::snprintf(summary, sizeof summary, "mean %s %s over %zu %s (%.3f s)\n", objective_name(kind),
                format_objective(mean).c_str(), solved.size(), solved.size() == 1 ? "instance" : "instances", seconds);
  std::cout << summary;
  return 0;
}

int run(const SolveOptions& o) {
  try {
    if (o.list) return run_list(o.as_json);
    if (!o.generate.empty()) {
      if (!o.file.empty()) throw UsageError("--generate writes a new dataset; it takes no FILE ('" + o.file + "')");
      if (!o.solver.empty() || !o.problem.empty())
        throw UsageError(std::string("--generate writes a dataset and solves nothing: drop ") +
                         (!o.solver.empty() ? "--solver" : "--problem") + " (solve the file afterwards)");
      return run_generate(o);
    }
    if (o.file.empty()) throw UsageError("solve needs FILE (or --list, or --generate PROBLEM)");
    return run_solve(o);
  } catch (const ComboError& e) {
    throw UsageError(e.what());
  }
}

}  // namespace

Command add_solve_command(CLI::App& app) {
  auto o = std::make_shared<SolveOptions>();
  CLI::App* cmd = app.add_subcommand(
      "solve", "Reference solvers for TSP, CVRP, knapsack, job-shop and bin packing on a TSPLIB, job-shop or dataset file; "
               "--generate writes a dataset");
  cmd->add_option("file", o->file, "TSPLIB .tsp, job-shop file, or dataset (one instance per line)");
  cmd->add_option("--solver", o->solver, "Solver (see --list)");
  cmd->add_option("--problem", o->problem, "tsp|cvrp|knapsack|jobshop|binpack1d|binpack3d (datasets)");
  cmd->add_option("--out", o->out, "Write the solutions (TSPLIB .tour for one TSP instance), or the generated dataset");
  cmd->add_flag("--json", o->as_json, "Print JSON");
  cmd->add_flag("--list", o->list, "List the solvers of every problem");
  cmd->add_option("--generate", o->generate, "Write a dataset of this problem's generator instead of solving");
  cmd->add_option("--n", o->n, "--generate: cities, customers, items or jobs")->check(CLI::Range(1, 100000));
  cmd->add_option("--m", o->m, "--generate jobshop: machines (default: --n)")->check(CLI::Range(1, 100));
  cmd->add_option("--count", o->count, "--generate: instances")->check(CLI::Range(1, 10000000))->capture_default_str();
  cmd->add_option("--seed", o->seed, "--generate: seed")->check(seed_validator())->capture_default_str();
  return {cmd, [o] { return run(*o); }};
}

}  // namespace cli
