#include "core/optim/optim.hpp"

#include <stdexcept>

namespace pl {

Optimizer::Kind Optimizer::parse(const std::string& name) {
  if (name == "adam") return Kind::Adam;
  if (name == "sgd") return Kind::Sgd;
  throw std::invalid_argument("unknown optimizer '" + name + "' (allowed: adam, sgd)");
}

}  // namespace pl
