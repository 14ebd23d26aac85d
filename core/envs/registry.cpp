// The env registry (ids are Gymnasium's) and the shared action-validation errors.
#include <iomanip>
#include <sstream>

#include "core/envs/classic_control/acrobot.hpp"
#include "core/envs/classic_control/cartpole.hpp"
#include "core/envs/classic_control/mountain_car.hpp"
#include "core/envs/classic_control/mountain_car_continuous.hpp"
#include "core/envs/classic_control/pendulum.hpp"
#include "core/envs/env.hpp"

namespace pl {

namespace {

struct RegistryEntry {
  const char* id;
  std::unique_ptr<Env> (*make)();
};

template <typename EnvType>
std::unique_ptr<Env> make_one() {
  return std::make_unique<EnvType>();
}

// One table, so that make_env and env_ids cannot disagree.
const RegistryEntry kRegistry[] = {
    {"CartPole-v1", &make_one<CartPole>},
    {"Acrobot-v1", &make_one<Acrobot>},
    {"MountainCar-v0", &make_one<MountainCar>},
    {"Pendulum-v1", &make_one<Pendulum>},
    {"MountainCarContinuous-v0", &make_one<MountainCarContinuous>},
};

// Enough digits to tell 0.99999994f from 1.
std::string format_float(float value) {
  std::ostringstream out;
  out << std::setprecision(9) << value;
  return out.str();
}

}  // namespace

std::unique_ptr<Env> make_env(const std::string& id) {
  for (const RegistryEntry& entry : kRegistry) {
    if (id == entry.id) return entry.make();
  }
  std::string message = "unknown env id '" + id + "'; known ids:";
  for (const RegistryEntry& entry : kRegistry) message += std::string(" ") + entry.id;
  throw EnvError(message);
}

std::vector<std::string> env_ids() {
  std::vector<std::string> ids;
  for (const RegistryEntry& entry : kRegistry) ids.emplace_back(entry.id);
  return ids;
}

void throw_invalid_discrete_action(const char* env_id, float value, int n) {
  throw EnvError(std::string(env_id) + ": invalid action " + format_float(value) +
                 "; the action space is Discrete(" + std::to_string(n) +
                 "), an integer index in [0, " + std::to_string(n - 1) + "]");
}

void throw_invalid_box_action(const char* env_id, int component, float value, const Space& space) {
  std::string message = std::string(env_id) + ": invalid action component " +
                        std::to_string(component) + " = " + format_float(value) +
                        "; actions must be finite";
  if (component < static_cast<int>(space.low.size())) {
    message += " (the Box bounds [" + format_float(space.low[component]) + ", " +
               format_float(space.high[component]) + "] are applied by clipping)";
  }
  throw EnvError(message);
}

}  // namespace pl
