#include "core/util/parallel.hpp"

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

#if PL_PARALLEL_THREADS
// What each part of the current job threw (null: nothing), rethrown by the caller.
std::exception_ptr thrown[kMaxThreads];

void run_part(int n, int parts, int part, detail::RangeFn fn, const void* context) {
  const int begin = static_cast<int>(static_cast<long long>(n) * part / parts);
  const int end = static_cast<int>(static_cast<long long>(n) * (part + 1) / parts);
  try {
    if (begin < end) fn(context, begin, end, part);
  } catch (...) {
    thrown[part] = std::current_exception();
  }
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Workers 1..threads-1 wait for a new job (a generation number), run their part, count down.
// They spin briefly first (a training step hands them hundreds of jobs a few microseconds apart,
// and waking a sleeping thread costs more than that), then sleep on the condition variable.
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
    pending_.store(size() - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_seq_cst);
    if (sleeping_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
    inside_range = true;
    run_part(n, parts, 0, fn, context);
    inside_range = false;
    while (pending_.load(std::memory_order_acquire) > 0) cpu_relax();
    for (int part = 0; part < parts; ++part)
      if (thrown[part]) {
        std::exception_ptr e = thrown[part];
        for (std::exception_ptr& t : thrown) t = nullptr;
        std::rethrow_exception(e);
      }
  }

 private:
  void work(int part, unsigned long long seen) {
    inside_range = true;
    for (;;) {
      unsigned long long now = seen;
      for (int spin = 0; spin < kSpins && now == seen && !stop_.load(std::memory_order_relaxed); ++spin) {
        cpu_relax();
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
      if (part < parts_) run_part(n_, parts_, part, fn_, context_);
      pending_.fetch_sub(1, std::memory_order_release);
    }
  }

  // ~50 microseconds of pause instructions before a worker sleeps.
  static constexpr int kSpins = 4000;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> stop_{false};
  std::atomic<unsigned long long> generation_{0};
  std::atomic<int> sleeping_{0}, pending_{0};
  // The job: written before the generation is bumped (release), read after it is seen (acquire).
  int n_ = 0, parts_ = 0;
  detail::RangeFn fn_ = nullptr;
  const void* context_ = nullptr;
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

namespace detail {
bool in_parallel_region() { return inside_range; }
bool enter_serial_region() {
  const bool outer = inside_range;
  inside_range = true;
  return outer;
}
void leave_serial_region(bool outer) { inside_range = outer; }
void run(int n, int parts, RangeFn fn, const void* context) {
#if PL_PARALLEL_THREADS
  pool().run(n, parts, fn, context);
#else
  if (n > 0) fn(context, 0, n, 0);
#endif
}
}  // namespace detail

}  // namespace parallel
}  // namespace pl
