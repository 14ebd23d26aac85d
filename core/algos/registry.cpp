#include "core/algos/registry.hpp"

#include "core/algos/algorithm.hpp"

namespace pl {

// Defined in each algorithm's file.
Schema ppo_schema();
Schema a2c_schema();
Schema reinforce_schema();
Schema sft_schema();
Schema grpo_schema();
Schema dpo_schema();
Schema kto_schema();
Schema reward_model_schema();
Schema pomo_schema();
std::unique_ptr<Algorithm> make_ppo(const Config& c);
std::unique_ptr<Algorithm> make_a2c(const Config& c);
std::unique_ptr<Algorithm> make_reinforce(const Config& c);
std::unique_ptr<Algorithm> make_sft(const Config& c);
std::unique_ptr<Algorithm> make_grpo(const Config& c);
std::unique_ptr<Algorithm> make_dpo(const Config& c);
std::unique_ptr<Algorithm> make_kto(const Config& c);
std::unique_ptr<Algorithm> make_reward_model(const Config& c);
std::unique_ptr<Algorithm> make_pomo(const Config& c);

const std::vector<AlgorithmEntry>& algorithm_table() {
  static const std::vector<AlgorithmEntry> table = {
      {"ppo", &ppo_schema, &make_ppo, "env"},
      {"a2c", &a2c_schema, &make_a2c, "env"},
      {"reinforce", &reinforce_schema, &make_reinforce, "env"},
      {"sft", &sft_schema, &make_sft, "sequence"},
      {"grpo", &grpo_schema, &make_grpo, "sequence"},
      {"dpo", &dpo_schema, &make_dpo, "sequence"},
      {"kto", &kto_schema, &make_kto, "sequence"},
      {"reward_model", &reward_model_schema, &make_reward_model, "sequence"},
      {"pomo", &pomo_schema, &make_pomo, "combo"},
  };
  return table;
}

std::unique_ptr<Algorithm> make_algorithm(const Config& config) {
  for (const AlgorithmEntry& e : algorithm_table())
    if (config.algo() == e.name) return e.make(config);
  throw ConfigError("unknown algo \"" + config.algo() + "\"");  // validate_config rejects it first
}

}  // namespace pl
