#include "core/train/describe.hpp"


namespace pl {

nlohmann::json describe_space(const Space& space) {
  if (space.is_discrete()) return {{"discrete", true}, {"n", space.n}};
  nlohmann::json low = nlohmann::json::array(), high = nlohmann::json::array();
  for (float v : space.low) low.push_back(float_json(v));
  for (float v : space.high) high.push_back(float_json(v));
  return {{"discrete", false}, {"dim", space.flat_dim()}, {"low", low}, {"high", high}};
}

nlohmann::json describe_env(const Env& env) {
  return {{"id", env.id()},
          {"observation_space", describe_space(env.observation_space())},
          {"action_space", describe_space(env.action_space())},
          {"max_episode_steps", env.max_episode_steps()},
          {"state_names", env.state_names()},
          {"render_names", env.render_names()}};
}

nlohmann::ordered_json describe_evaluation(const EvalResult& r) {
  nlohmann::ordered_json j;
  j["episodes"] = r.episodes;
  j["return_mean"] = r.return_mean;
  j["return_std"] = r.return_std;
  j["return_min"] = r.return_min;
  j["return_max"] = r.return_max;
  j["length_mean"] = r.length_mean;
  j["returns"] = r.returns;
  return j;
}

}  // namespace pl
