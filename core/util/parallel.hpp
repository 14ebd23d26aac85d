// Splitting a loop over the machine's cores, natively (the browser build runs everything on the
// worker's one thread).
//
// Why: a long native run (POMO on TSP, SFT of the transformer) spends most of its time in matrix
// products and attention blocks that split into independent rows; on the 2-core machines this
// project targets, the second core roughly halves those parts.
//
// Determinism: work is split into contiguous index ranges and every index is computed by the same
// arithmetic whichever thread runs it, and no reduction crosses indices, so a run gives the same
// numbers with any thread count (tests check it bit for bit). `threads` is a speed setting, not part
// of a run's config.
//
// No allocation per call: the workers are created by set_threads and wait for work; a call hands
// them a pointer to the caller's function and returns when every range is done. Calls from inside a
// range run serially (no nesting). An exception thrown in a range is rethrown to the caller once
// every range has ended (of several, the one from the lowest indices).
#pragma once

#include <algorithm>

namespace pl {
namespace parallel {

// The most threads set_threads accepts (buffers sized per thread use it).
constexpr int kMaxThreads = 8;

// Sets the number of threads used by for_range (1 = serial, the default). Throws
// std::invalid_argument outside [1, kMaxThreads], or above 1 where threads are unavailable (the
// browser build). Not to be called while a for_range runs.
void set_threads(int threads);
int threads();
// Whether this machine's build can run more than one thread.
bool available();
// How many calls have been split over threads since the program started (for tests: that a path
// does split).
long long split_calls();

namespace detail {
using RangeFn = void (*)(const void* context, int begin, int end, int part);
void run(int n, int parts, RangeFn fn, const void* context);
bool in_parallel_region();
bool enter_serial_region();            // returns whether the caller was already inside a range
void leave_serial_region(bool outer);  // restores that
}  // namespace detail

// Runs f(begin, end, part) over [0, n) on parts = min(threads(), n / min_per_part, max_parts)
// threads: each index in exactly one call, each call a contiguous range, `part` the thread's
// number from 0 (an index into per-thread scratch, < parts; no two calls of this for_range with
// the same part run at once). A thread may get several ranges (its own four chunks, and chunks it
// takes over from a thread that has not got to them) or none, so f must not depend on how [0, n)
// is cut. Serial (one call f(0, n, 0)) when parts is 1 or when called from inside a range (nested
// calls are all part 0, on whichever thread runs them).
template <typename F>
void for_range(int n, int min_per_part, const F& f, int max_parts = kMaxThreads) {
  const int parts = std::min({threads(), n / std::max(1, min_per_part), max_parts});
  if (parts <= 1 || detail::in_parallel_region()) {
    // Still a range: calls inside it are serial whether or not this one was split. The guard
    // restores the flag when f throws too (else the thread's later calls would all run serially).
    struct SerialRegion {
      bool outer = detail::enter_serial_region();
      ~SerialRegion() { detail::leave_serial_region(outer); }
    } region;
    if (n > 0) f(0, n, 0);
    return;
  }
  detail::run(
      n, parts,
      [](const void* context, int begin, int end, int part) { (*static_cast<const F*>(context))(begin, end, part); },
      &f);
}

}  // namespace parallel
}  // namespace pl
