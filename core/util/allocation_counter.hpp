// Counts heap allocations made through operator new, for the tests that check the steady-state
// training loop allocates nothing (natively in tests/native, in wasm through the bindings).
//
// It *defines* the replaceable global operator new/delete, so include it in exactly one translation
// unit of a program; other units read the counter through allocation_count.hpp. Counting happens only while `counting` is true. Not for concurrent use.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

#include "core/util/allocation_count.hpp"

// GCC pairs the malloc inside operator new with the free inside operator delete after inlining
// and warns that they "mismatch"; here they are the same pair by construction.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  if (pl::allocation_counter::counting) ++pl::allocation_counter::count;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
