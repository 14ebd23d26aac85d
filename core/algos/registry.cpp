#include "core/algos/registry.hpp"

#include "core/algos/algorithm.hpp"

namespace pl {

std::unique_ptr<Algorithm> make_ppo(const Config& c);
std::unique_ptr<Algorithm> make_a2c(const Config& c);
std::unique_ptr<Algorithm> make_reinforce(const Config& c);

std::unique_ptr<Algorithm> make_algorithm(const Config& config) {
  const std::string& algo = config.algo();
  if (algo == "ppo") return make_ppo(config);
  if (algo == "a2c") return make_a2c(config);
  if (algo == "reinforce") return make_reinforce(config);
  throw ConfigError("field 'algo' must be one of: ppo, a2c, reinforce; got \"" + algo + "\"");
}

}  // namespace pl
