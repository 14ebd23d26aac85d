#include "core/algos/combo.hpp"

#include "core/combo/solvers.hpp"

namespace pl {

std::vector<combo::AnyInstance> ComboLearner::read_policy_instances(const std::string& text,
                                                                    const std::string& source) const {
  using namespace combo;
  const ProblemKind kind = problem();
  std::vector<AnyInstance> instances = read_instances(kind, text, source);
  if (instances.empty()) throw ComboError(source + ": no instances in the file");
  if (kind == ProblemKind::JobShop) {
    // The encoder's nodes are the jobs.
    for (size_t i = 0; i < instances.size(); ++i) {
      const auto& js = std::get<JobShopInstance>(instances[i]);
      if (js.jobs < 2 || js.jobs > kMaxPolicyNodes)
        throw ComboError(source + ": instance " + std::to_string(i + 1) + " has " + std::to_string(js.jobs) +
                         " jobs; the policy dispatches 2 to " + std::to_string(kMaxPolicyNodes));
    }
    return instances;
  }
  if (kind == ProblemKind::BinPack1D) return instances;  // nodes: kBinPack1DSlots + 1 whatever the items
  if (kind == ProblemKind::BinPack3D) {
    // The encoder's nodes are the bin's L x W corners.
    for (size_t i = 0; i < instances.size(); ++i) {
      const auto& bp = std::get<BinPack3DInstance>(instances[i]);
      if (bp.length * bp.width > kMaxPolicyNodes)
        throw ComboError(source + ": instance " + std::to_string(i + 1) + " has a " + std::to_string(bp.length) + " x " +
                         std::to_string(bp.width) + " bin floor; the policy's encoder takes at most " +
                         std::to_string(kMaxPolicyNodes) + " corners");
    }
    return instances;
  }
  // "cities" / "city" and so on, by count.
  auto unit = [kind](int count) {
    const std::string one = kind == ProblemKind::Tsp ? "city" : kind == ProblemKind::Cvrp ? "customer" : "item";
    return count == 1 ? one : kind == ProblemKind::Tsp ? std::string("cities") : one + "s";
  };
  for (size_t i = 0; i < instances.size(); ++i) {
    const int size = policy_problem_size(instances[i]);
    const int nodes = policy_nodes(kind, size);
    if (nodes < 2)
      throw ComboError(source + ": instance " + std::to_string(i + 1) + " has " + std::to_string(size) + " " + unit(size) +
                       "; the policy needs at least " + std::to_string(size + 2 - nodes));
    if (nodes > kMaxPolicyNodes)
      throw ComboError(source + ": the policy's encoder takes at most " +
                       std::to_string(problem_size(kind, kMaxPolicyNodes)) + " " + unit(2) + ", got " + std::to_string(size) +
                       " (instance " + std::to_string(i + 1) + ")");
  }
  return instances;
}

nlohmann::json ComboLearner::solve_text(const std::string& text, const std::string& decode, uint64_t seed) const {
  const combo::DecodeOptions options = combo::parse_decode(decode);
  const std::vector<combo::AnyInstance> instances = read_policy_instances(text, "instances");
  std::vector<std::vector<int>> solutions;
  std::vector<double> objectives;
  const double seconds = solve(instances, options, seed, solutions, objectives);
  nlohmann::json rows = nlohmann::json::array();
  for (size_t i = 0; i < instances.size(); ++i)
    rows.push_back({{"objective", objectives[i]}, {"solution", solutions[i]}});
  return {{"decode", options.text()}, {"seconds", seconds}, {"instances", rows}};
}

}  // namespace pl
