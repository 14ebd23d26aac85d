// The example configs (examples/*.json) the tests train or compare against, read from the source
// tree (POLICYLAB_SOURCE_DIR), so a test checks the file users run.
#pragma once

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

// path: relative to the source directory, e.g. "examples/ppo_cartpole.json".
inline nlohmann::json load_example(const std::string& path) {
  std::ifstream f(std::string(POLICYLAB_SOURCE_DIR) + "/" + path);
  REQUIRE(f.good());
  return nlohmann::json::parse(f);
}
