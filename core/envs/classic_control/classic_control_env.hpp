// The common base of the classic-control envs.
//
// Each of them is described by the same handful of fixed facts (Gymnasium id, spaces, time limit,
// names of the state and render components) that Env asks for through virtual functions. Rather
// than have every env restate those eight overrides, an env hands its facts to this class once, in
// its constructor, and implements only its physics: reset_state, step_state, get_state, set_state,
// observe and render_state. Callers still see the plain Env interface.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/envs/env.hpp"

namespace pl {

class ClassicControlEnv : public Env {
 public:
  // What an env is, as opposed to how it moves. The sizes of the state and of the render record
  // are the lengths of their name lists, so a name cannot be added without the size following.
  struct Descriptor {
    std::string id;                          // Gymnasium's id, e.g. "CartPole-v1"
    Space observation_space;
    Space action_space;
    int max_episode_steps = 0;               // Gymnasium's registered TimeLimit for the id
    std::vector<std::string> state_names;    // one per component of get_state()/set_state()
    std::vector<std::string> render_names;   // one per component of render_state()
  };

  // Final: the descriptor is the only place these facts are stated.
  std::string id() const final { return descriptor_.id; }
  const Space& observation_space() const final { return descriptor_.observation_space; }
  const Space& action_space() const final { return descriptor_.action_space; }
  int max_episode_steps() const final { return descriptor_.max_episode_steps; }

  int state_size() const final { return static_cast<int>(descriptor_.state_names.size()); }
  std::vector<std::string> state_names() const final { return descriptor_.state_names; }

  int render_size() const final { return static_cast<int>(descriptor_.render_names.size()); }
  std::vector<std::string> render_names() const final { return descriptor_.render_names; }

 protected:
  // Protected: only a concrete env knows its descriptor.
  explicit ClassicControlEnv(Descriptor descriptor) : descriptor_(std::move(descriptor)) {}

 private:
  Descriptor descriptor_;
};

}  // namespace pl
