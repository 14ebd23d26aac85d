// policylab eval CHECKPOINT --instances FILE [--decode D] [--reference SOLVER | --optimum SOLUTIONS]
//               [--out FILE] [--json]
// for checkpoints of a combinatorial-problem policy (task kind "combo", e.g. algo pomo): decodes
// every instance of FILE (a dataset or a TSPLIB file) with the policy, prints the mean objective,
// the decoding time per instance, and the mean gap to a reference: a solver run on every instance,
// or solutions given in a file (e.g. Held-Karp's tours, solved once with `policylab solve --out`).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/common.hpp"
#include "core/algos/combo.hpp"
#include "core/combo/policy_decoder.hpp"
#include "core/combo/solvers.hpp"
#include "core/train/trainer.hpp"

namespace cli {

int run_eval_combo(const ComboEvalOptions& o, const pl::Trainer& trainer) {
  using namespace pl::combo;
  if (o.instances.empty())
    throw UsageError("eval of a " + trainer.config().algo() + " checkpoint (" + trainer.task_name() +
                     ") needs --instances FILE (a dataset, e.g. from `policylab solve --generate " +
                     problem_name(trainer.combo().problem()) + " --n " + std::to_string(trainer.combo().n()) +
                     " --out FILE`, or a TSPLIB or job-shop file)");
  const pl::ComboLearner& learner = trainer.combo();
  const ProblemKind kind = learner.problem();
  std::vector<AnyInstance> instances;
  DecodeOptions decode;
  try {
    decode = parse_decode(o.decode);
    instances = learner.read_policy_instances(read_file(o.instances, "instances"), o.instances);
  } catch (const ComboError& e) {
    throw UsageError(e.what());
  }
  // Reference solutions from a file: each checked against its instance before the policy decodes
  // (a wrong file fails at once, not after the decoding).
  std::vector<double> reference_objectives;
  if (!o.optimum.empty()) {
    if (!o.reference.empty())
      throw UsageError("--optimum and --reference both give the gap's reference: pass one of them");
    std::vector<std::vector<int>> given;
    try {
      given = read_solutions(kind, read_file(o.optimum, "optimum file"), o.optimum);
    } catch (const ComboError& e) {
      throw UsageError(e.what());
    }
    if (given.size() != instances.size())
      throw UsageError("--optimum: '" + o.optimum + "' holds " + std::to_string(given.size()) + " solutions, '" +
                       o.instances + "' " + std::to_string(instances.size()) +
                       " instances (one line per instance; a blank line is an empty solution)");
    for (size_t i = 0; i < given.size(); ++i) {
      try {
        reference_objectives.push_back(check_solution(instances[i], given[i]));
      } catch (const ComboError& e) {
        throw UsageError("--optimum: '" + o.optimum + "', solution " + std::to_string(i + 1) + " does not fit instance " +
                         std::to_string(i + 1) + " of '" + o.instances + "': " + e.what());
      }
    }
  }
  // The reference: explicit, or by problem: TSP exact when every instance is small enough to solve
  // fast (Held-Karp to 15 cities, the 1-tree branch and bound to 50; else none), CVRP Clarke-Wright
  // savings, knapsack branch and bound (exact).
  std::string reference = o.optimum.empty() ? o.reference : "solutions in " + o.optimum;
  if (reference.empty()) {
    if (kind == ProblemKind::Tsp) {
      int largest = 0;
      for (const AnyInstance& inst : instances) largest = std::max(largest, policy_problem_size(inst));
      reference = largest <= 15 ? "held-karp" : largest <= 50 ? "branch-and-bound" : "none";
    } else if (kind == ProblemKind::JobShop) {
      // Branch and bound is exact up to 6 x 6; MWKR (the best dispatching rule here) beyond.
      bool small = true;
      for (const AnyInstance& inst : instances) {
        const auto& js = std::get<JobShopInstance>(inst);
        small = small && js.jobs <= 6 && js.machines <= 6;
      }
      reference = small ? "branch-and-bound" : "mwkr";
    } else if (kind == ProblemKind::BinPack1D || kind == ProblemKind::BinPack3D) {
      reference = "best-fit";  // the online rule to beat (Johnson et al. 1974; deepest-bottom-left in 3-D)
    } else {
      reference = kind == ProblemKind::Cvrp ? "savings" : "branch-and-bound";
    }
  }
  if (reference != "none" && o.optimum.empty()) {
    try {
      find_solver(kind, reference);
    } catch (const ComboError& e) {
      throw UsageError(std::string("--reference: ") + e.what() + ", or none");
    }
    if (reference == "held-karp")
      for (const AnyInstance& inst : instances)
        if (policy_problem_size(inst) > 20)
          throw UsageError("--reference held-karp solves n <= 20; the file has an instance of " +
                           std::to_string(policy_problem_size(inst)) + " cities (use --reference branch-and-bound, local-search or none)");
  }

  std::vector<std::vector<int>> solutions;
  std::vector<double> objectives;
  double seconds = 0;
  try {
    seconds = learner.solve(instances, decode, o.seed, solutions, objectives);
  } catch (const ComboError& e) {
    throw UsageError(e.what());
  }
  const size_t count = instances.size();
  double mean = 0;
  for (double v : objectives) mean += v;
  mean /= static_cast<double>(count);
  double ref_mean = NAN, gap = NAN;
  if (reference != "none") {
    if (o.optimum.empty())
      for (size_t i = 0; i < count; ++i) reference_objectives.push_back(pl::combo::solve(instances[i], reference).objective);
    ref_mean = 0;
    double sum_gap = 0;
    for (size_t i = 0; i < count; ++i) {
      const double r = reference_objectives[i];
      ref_mean += r;
      // How much worse than the reference: length / reference - 1, or 1 - value / reference.
      if (r > 0) sum_gap += maximizes(kind) ? 1 - objectives[i] / r : objectives[i] / r - 1;
    }
    ref_mean /= static_cast<double>(count);
    gap = 100.0 * sum_gap / static_cast<double>(count);
  }
  if (!o.out.empty()) {
    std::string text;
    // Each solution with its objective as a trailing comment (read_solutions skips it, so the file
    // is also an --optimum file).
    for (size_t i = 0; i < count; ++i) {
      char objective[48];
      std::snprintf(objective, sizeof objective, "%.9g", objectives[i]);
      text += solution_line(kind, Solution{objectives[i], solutions[i]}) + "  # " + objective_name(kind) + " " + objective + "\n";
    }
    std::ofstream out(o.out, std::ios::binary);
    if (!out || !(out << text)) throw UsageError("cannot write '" + o.out + "'");
  }
  const double ms = 1000.0 * seconds / static_cast<double>(count);
  if (o.as_json) {
    nlohmann::ordered_json j;
    j["checkpoint"] = o.checkpoint;
    j["algo"] = trainer.config().algo();
    j["problem"] = problem_name(kind);
    j["iteration"] = trainer.iteration();
    j["instances"] = count;
    j["decode"] = decode.text();
    j["objective_mean"] = mean;
    j["ms_per_instance"] = ms;
    j["reference"] = reference;
    j["reference_mean"] = reference != "none" ? nlohmann::ordered_json(ref_mean) : nlohmann::ordered_json(nullptr);
    j["gap_percent"] = reference != "none" ? nlohmann::ordered_json(gap) : nlohmann::ordered_json(nullptr);
    // Every instance's objective (and its reference's), in the order of the instances file.
    j["objectives"] = objectives;
    if (reference != "none") j["reference_objectives"] = reference_objectives;
    std::cout << j.dump() << std::endl;
    return 0;
  }
  std::cout << trainer.config().algo() << " on " << trainer.task_name() << ", " << trainer.iteration()
            << " gradient steps\n"
            << "  instances        " << count << " (" << o.instances << ")\n"
            << "  decode           " << decode.text() << "\n"
            << "  mean " << objective_name(kind) << std::string(12 - std::string(objective_name(kind)).size(), ' ')
            << format_fixed(mean, 4) << "\n"
            << "  time/instance    " << format_fixed(ms, 3) << " ms\n";
  if (reference != "none")
    std::cout << "  reference        " << reference << ", mean " << format_fixed(ref_mean, 4) << "\n"
              << "  gap              " << format_fixed(gap, 2) << "% (mean over instances)\n";
  if (!o.out.empty()) std::cout << "  solutions written to " << o.out << "\n";
  std::cout << std::flush;
  return 0;
}

}  // namespace cli
