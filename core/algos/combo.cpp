#include "core/algos/combo.hpp"

#include "core/combo/solvers.hpp"

namespace pl {

std::vector<combo::TspInstance> ComboLearner::read_policy_instances(const std::string& text,
                                                                    const std::string& source) const {
  using namespace combo;
  std::vector<TspInstance> instances;
  for (AnyInstance& a : read_instances(problem(), text, source)) instances.push_back(std::get<TspInstance>(std::move(a)));
  if (instances.empty()) throw ComboError(source + ": no instances in the file");
  for (size_t i = 0; i < instances.size(); ++i) {
    if (instances[i].n < 2)
      throw ComboError(source + ": instance " + std::to_string(i + 1) + " has " + std::to_string(instances[i].n) +
                       " city; the policy needs at least 2");
    if (instances[i].n > kMaxPolicyCities)
      throw ComboError(source + ": the policy's encoder takes at most " + std::to_string(kMaxPolicyCities) +
                       " cities, got " + std::to_string(instances[i].n));
  }
  return instances;
}

nlohmann::json ComboLearner::solve_text(const std::string& text, const std::string& decode, uint64_t seed) const {
  const combo::DecodeOptions options = combo::parse_decode(decode);
  const std::vector<combo::TspInstance> instances = read_policy_instances(text, "instances");
  std::vector<std::vector<int>> tours;
  std::vector<double> lengths;
  const double seconds = solve(instances, options, seed, tours, lengths);
  nlohmann::json rows = nlohmann::json::array();
  for (size_t i = 0; i < instances.size(); ++i) rows.push_back({{"objective", lengths[i]}, {"solution", tours[i]}});
  return {{"decode", options.text()}, {"seconds", seconds}, {"instances", rows}};
}

}  // namespace pl
