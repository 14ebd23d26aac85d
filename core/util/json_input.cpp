#include "core/util/json_input.hpp"

#include <set>
#include <vector>

namespace pl {

std::string strip_json_exception_tag(const std::string& what) {
  if (what.rfind("[json.exception.", 0) == 0) {
    const size_t end = what.find("] ");
    if (end != std::string::npos) return what.substr(end + 2);
  }
  return what;
}

nlohmann::json parse_user_json(const std::string& text) {
  using E = nlohmann::json::parse_event_t;
  std::vector<std::set<std::string>> open_objects;
  std::string repeated;
  bool too_deep = false;
  // Returning false for a too-deep value makes the parser discard it; parsing goes on (cheaply) to
  // the end, and the result is refused below.
  auto watch = [&](int depth, E event, nlohmann::json& parsed) {
    if (depth > kMaxJsonDepth) {
      too_deep = true;
      return false;
    }
    if (event == E::object_start) open_objects.emplace_back();
    if (event == E::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event == E::key && !open_objects.empty() && !open_objects.back().insert(parsed.get<std::string>()).second &&
        repeated.empty())
      repeated = parsed.get<std::string>();
    return true;
  };
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(text, watch);
  } catch (const nlohmann::json::exception& error) {
    throw JsonInputError(strip_json_exception_tag(error.what()));
  }
  if (too_deep)
    throw JsonInputError("values nested more than " + std::to_string(kMaxJsonDepth) + " levels deep: not an input of policylab's");
  if (!repeated.empty())
    throw JsonInputError("the key '" + repeated + "' appears twice in one object (JSON would keep only one of them)");
  return parsed;
}

}  // namespace pl
