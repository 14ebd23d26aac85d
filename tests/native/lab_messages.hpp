// The loss lab's message for an input or option it refuses ("no error" when it accepts them): the
// error tests of the group-relative and the preference losses read what a user would see.
#pragma once

#include <string>

#include "core/algos/loss_lab.hpp"

inline std::string loss_lab_message(const std::string& name, const pl::json& in, const pl::json& opt = pl::json::object()) {
  try {
    pl::evaluate_loss_lab(name, in, opt);
  } catch (const pl::LossLabError& e) {
    return e.what();
  }
  return "no error";
}
