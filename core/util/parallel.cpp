#include "core/util/parallel.hpp"

#include <atomic>
#include <exception>
#include <stdexcept>
#include <string>

#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
#define PL_PARALLEL_THREADS 0
#else
#define PL_PARALLEL_THREADS 1
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#endif

namespace pl {
namespace parallel {
namespace {

thread_local bool inside_range = false;
std::atomic<long long> splits{0};  // split_calls()

#if PL_PARALLEL_THREADS
// Chunks per part: enough for a thread that finishes early to take over a slower thread's last
// quarter, few enough that a chunk stays worth a claim.
constexpr int kChunksPerPart = 4;

// What each chunk of the current job threw (null: nothing; written only by the thread that claimed
// the chunk). The caller rethrows the lowest chunk's, so which of several errors is reported does
// not depend on which thread ran what.
std::exception_ptr thrown[kMaxThreads * kChunksPerPart];

// One chunk of the current job: [begin, end) of chunk c of `chunks`, run as part `part`.
void run_chunk(int n, int chunks, int c, int part, detail::RangeFn fn, const void* context) {
  const int begin = static_cast<int>(static_cast<long long>(n) * c / chunks);
  const int end = static_cast<int>(static_cast<long long>(n) * (c + 1) / chunks);
  try {
    if (begin < end) fn(context, begin, end, part);
  } catch (...) {
    thrown[c] = std::current_exception();
  }
}

// One round of a wait loop: a pause instruction for the first kPauses rounds (a hand-off a few
// microseconds away is caught at once), then a yield, which gives the core to another runnable
// thread if there is one — on a machine with more threads than cores (several runs at once) the
// thread being waited for may be exactly that one — and returns at once if there is none.
constexpr int kPauses = 256;
inline void wait_round(int round) {
#if defined(__x86_64__) || defined(__i386__)
  if (round < kPauses) {
    _mm_pause();
    return;
  }
#else
  (void)round;
#endif
  std::this_thread::yield();
}

// Workers 1..threads-1 wait for a new job (a generation number), run their part, count down.
// They wait briefly first (a training step hands them hundreds of jobs a few microseconds apart,
// and waking a sleeping thread costs more than that), then sleep on a condition variable; the
// caller waits at the join the same way.
//
// A job's range is cut into kChunksPerPart chunks per part, and part p owns the p-th run of them:
// each thread runs its own chunks in order (the same rows as a plain static split, so consecutive
// jobs find their data in the same core's cache), then claims what is left of the other parts'.
// Why: with fixed halves and pure spinning, a machine with more runnable threads than cores (two
// runs of two threads on two cores — a seed sweep — or a build alongside) made the caller spin at
// every join for a worker that was not scheduled, on the core that worker needed: two such runs
// at once took 1.5x as long as the same two runs with one thread each.
class Pool {
 public:
  ~Pool() { resize(1); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int threads) {
    if (threads == size()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_.store(true);
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
    stop_.store(false);
    // A worker starts from the generation at its creation: a job posted before its thread gets to
    // run is still its to do.
    const unsigned long long generation = generation_.load();
    for (int w = 1; w < threads; ++w) workers_.emplace_back([this, w, generation] { work(w, generation); });
  }

  void run(int n, int parts, detail::RangeFn fn, const void* context) {
    n_ = n;
    parts_ = parts;
    fn_ = fn;
    context_ = context;
    // Every worker takes part in every job (those past `parts` with nothing to do), so none can
    // still be reading this job's fields when the next one is written.
    chunks_ = std::min(n, parts * kChunksPerPart);
    for (int part = 0; part < parts; ++part) {
      claims_[part].next.store(chunks_ * part / parts, std::memory_order_relaxed);
      claims_[part].end = chunks_ * (part + 1) / parts;
    }
    pending_.store(size() - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_seq_cst);
    if (sleeping_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
    inside_range = true;
    run_claims(0);
    inside_range = false;
    // What is left at the join are chunks already running. Wait as a worker does: pauses, yields,
    // then sleep until the last one ends (the flag and the count are seq_cst on both sides: either
    // the last worker sees the flag and notifies, or this thread sees the count at 0 before it
    // waits).
    for (int round = 0; pending_.load(std::memory_order_acquire) > 0; ++round) {
      if (round < kSpins) {
        wait_round(round);
        continue;
      }
      std::unique_lock<std::mutex> lock(mutex_);
      joining_.store(true, std::memory_order_seq_cst);
      done_.wait(lock, [&] { return pending_.load(std::memory_order_seq_cst) == 0; });
      joining_.store(false, std::memory_order_relaxed);
      break;
    }
    for (int c = 0; c < chunks_; ++c)
      if (thrown[c]) {
        std::exception_ptr e = thrown[c];
        for (std::exception_ptr& t : thrown) t = nullptr;
        std::rethrow_exception(e);
      }
  }

 private:
  // This thread's own chunks, then the other parts' unclaimed ones (the next part's first).
  void run_claims(int part) {
    for (int k = 0; k < parts_; ++k) {
      Claims& owner = claims_[(part + k) % parts_];
      for (int c = owner.next.fetch_add(1, std::memory_order_relaxed); c < owner.end;
           c = owner.next.fetch_add(1, std::memory_order_relaxed))
        run_chunk(n_, chunks_, c, part, fn_, context_);
    }
  }

  void work(int part, unsigned long long seen) {
    inside_range = true;
    for (;;) {
      unsigned long long now = seen;
      for (int spin = 0; spin < kSpins && now == seen && !stop_.load(std::memory_order_relaxed); ++spin) {
        wait_round(spin);
        now = generation_.load(std::memory_order_acquire);
      }
      if (now == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleeping_.fetch_add(1, std::memory_order_seq_cst);
        wake_.wait(lock, [&] { return stop_.load() || generation_.load(std::memory_order_seq_cst) != seen; });
        sleeping_.fetch_sub(1, std::memory_order_seq_cst);
        if (stop_.load()) return;
        now = generation_.load(std::memory_order_acquire);
      }
      seen = now;
      if (part < parts_) run_claims(part);
      if (pending_.fetch_sub(1, std::memory_order_seq_cst) == 1 && joining_.load(std::memory_order_seq_cst)) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  // Wait rounds before a worker (or the caller at a join) sleeps: kPauses pauses (~30 ns each on
  // the 2-core AMD EPYC VM), then yields (~1.3 us each there when nothing else wants the core):
  // ~90 us in all.
  static constexpr int kSpins = kPauses + 64;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::atomic<bool> stop_{false}, joining_{false};
  std::atomic<unsigned long long> generation_{0};
  std::atomic<int> sleeping_{0}, pending_{0};
  // The job: written before the generation is bumped (release), read after it is seen (acquire).
  int n_ = 0, parts_ = 0, chunks_ = 0;
  detail::RangeFn fn_ = nullptr;
  const void* context_ = nullptr;
  // Part p's chunks [first, end): `next` is the next one to claim (by its owner or another thread);
  // a cache line each, so claims on one part do not slow the others.
  struct alignas(64) Claims {
    std::atomic<int> next{0};
    int end = 0;
  };
  Claims claims_[kMaxThreads];
};

Pool& pool() {
  static Pool p;
  return p;
}
#endif

}  // namespace

bool available() { return PL_PARALLEL_THREADS != 0; }

void set_threads(int threads) {
  if (threads < 1 || threads > kMaxThreads)
    throw std::invalid_argument("threads must be in [1, " + std::to_string(kMaxThreads) + "], got " +
                                std::to_string(threads));
#if PL_PARALLEL_THREADS
  pool().resize(threads);
#else
  if (threads > 1) throw std::invalid_argument("threads: this build runs on one thread");
#endif
}

int threads() {
#if PL_PARALLEL_THREADS
  return pool().size();
#else
  return 1;
#endif
}

long long split_calls() { return splits.load(std::memory_order_relaxed); }

namespace detail {
bool in_parallel_region() { return inside_range; }
bool enter_serial_region() {
  const bool outer = inside_range;
  inside_range = true;
  return outer;
}
void leave_serial_region(bool outer) { inside_range = outer; }
void run(int n, int parts, RangeFn fn, const void* context) {
  splits.fetch_add(1, std::memory_order_relaxed);
#if PL_PARALLEL_THREADS
  pool().run(n, parts, fn, context);
#else
  if (n > 0) fn(context, 0, n, 0);
#endif
}
}  // namespace detail

}  // namespace parallel
}  // namespace pl
