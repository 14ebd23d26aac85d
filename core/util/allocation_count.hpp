// The counter behind allocation_counter.hpp, for test files other than the one that defines the
// counting operator new: include this one to read or reset it.
#pragma once

namespace pl {
namespace allocation_counter {
inline long count = 0;
inline bool counting = false;
}  // namespace allocation_counter
}  // namespace pl
