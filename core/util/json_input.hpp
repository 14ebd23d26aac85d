// JSON text that comes from users (config files, --set values, dataset lines, loss-lab inputs, the
// page's settings) parsed with two guards nlohmann's parser does not have:
//  - a key repeated in one object is refused with its name: the parser keeps one of the two
//    silently ({"algo": "ppo", "algo": "a2c"} trained a2c);
//  - values nested deeper than kMaxJsonDepth are refused: no input of ours nests more than a few
//    levels, and printing a value nested 100000 deep (in an error message) overflows the stack.
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace pl {

constexpr int kMaxJsonDepth = 64;

struct JsonInputError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Throws JsonInputError with the parser's position ("parse error at line 3, column 5: ..."), the
// repeated key, or the depth; the message has no "[json.exception...]" tag.
nlohmann::json parse_user_json(const std::string& text);

// nlohmann's messages start with "[json.exception.parse_error.101] "; the tag means nothing to users.
std::string strip_json_exception_tag(const std::string& what);

}  // namespace pl
