// core/util/parallel: ranges cover every index once, nested calls run serially, bad thread counts
// are refused; the split products, attention and a whole training run give the same numbers bit
// for bit with one thread and with several, and with the AVX-512 kernels or without.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <cmath>
#include <vector>

#include "core/autodiff/kernels.hpp"
#include "core/autodiff/tape.hpp"
#include "core/train/config.hpp"
#include "core/train/trainer.hpp"
#include "core/util/parallel.hpp"
#include "core/util/rng.hpp"

using namespace pl;

namespace {

// Sets the thread count for a scope, back to 1 after.
struct Threads {
  explicit Threads(int n) { parallel::set_threads(n); }
  ~Threads() { parallel::set_threads(1); }
};

std::vector<float> random_vector(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = rng.uniform_float() - 0.5f;
  return v;
}

// Equal element by element, NaN equal to NaN (a metric a run does not report).
bool same_numbers(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

// The metrics of a run's first `steps` iterations with `threads` threads (NaN where the algorithm
// reports none); for env tasks then the trained policy's outputs and values on fixed observations
// (every weight of the actor and the critic shows in them).
std::vector<double> metrics_of(const json& config, int threads, int steps) {
  Threads t(threads);
  Trainer trainer(validate_config(config));
  std::vector<double> out;
  for (int i = 0; i < steps; ++i) {
    const Metrics& m = trainer.step();
    out.insert(out.end(), {m.policy_loss, m.value_loss, m.entropy, m.grad_norm, m.approx_kl_k3, m.episodic_return_mean});
  }
  if (trainer.task_kind() == "env") {
    const int n = 16;
    const std::vector<float> obs = random_vector(static_cast<size_t>(n) * trainer.obs_dim(), 11);
    std::vector<float> actions(static_cast<size_t>(n) * 8), values(n);
    trainer.policy_value(obs.data(), n, actions.data(), values.data());
    out.insert(out.end(), actions.begin(), actions.end());
    out.insert(out.end(), values.begin(), values.end());
  }
  return out;
}

}  // namespace

TEST_CASE("for_range: every index once, in contiguous ranges of parts numbered from 0, and nested calls are serial", "[parallel]") {
  REQUIRE(parallel::available());
  Threads threads(3);
  CHECK(parallel::threads() == 3);
  for (int n : {0, 1, 2, 5, 100, 1001}) {
    // Catch's assertions are not thread-safe: the ranges record what they see, checked after.
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    std::atomic<int> parts_seen{0}, calls{0}, nested_calls{0}, bad_ranges{0}, bad_nested{0};
    std::atomic<int> running[3] = {{0}, {0}, {0}};
    std::atomic<bool> overlapped{false};
    parallel::for_range(n, 1, [&](int begin, int end, int part) {
      if (part < 0 || part >= 3 || begin >= end) {
        bad_ranges++;
        return;
      }
      // Per-thread scratch indexed by part is safe: no two calls of one part at once.
      if (running[part].fetch_add(1) != 0) overlapped = true;
      parts_seen.fetch_or(1 << part);
      calls++;
      for (int i = begin; i < end; ++i) hits[static_cast<size_t>(i)]++;
      // Inside a range: one serial call over the whole inner range.
      parallel::for_range(10, 1, [&](int b, int e, int p) {
        if (b != 0 || e != 10 || p != 0) bad_nested++;
        nested_calls++;
      });
      running[part]--;
    });
    INFO("n = " << n);
    CHECK(bad_ranges == 0);
    CHECK(bad_nested == 0);
    for (int i = 0; i < n; ++i) CHECK(hits[static_cast<size_t>(i)] == 1);
    CHECK_FALSE(overlapped);
    // Four chunks per part (none empty), and only parts below min(3, n) take part.
    const int expected_parts = std::min(3, n);
    CHECK((parts_seen & ~((1 << expected_parts) - 1)) == 0);
    CHECK(calls == std::min(n, 4 * expected_parts));
    CHECK(nested_calls == calls);
  }
  // min_per_part: 10 indices, at least 4 per part -> 2 parts (numbered 0 and 1).
  std::atomic<int> parts_seen{0};
  parallel::for_range(10, 4, [&](int, int, int part) { parts_seen.fetch_or(1 << part); });
  CHECK((parts_seen & ~3) == 0);
}

TEST_CASE("for_range: an exception reaches the caller after every range, the lowest one's of several", "[parallel]") {
  Threads threads(2);
  for (int round = 0; round < 50; ++round) {
    std::vector<std::atomic<int>> hits(80);
    // Chunks of 10: indices 15 and 65 throw, in chunks 1 and 6 (owned by different threads).
    auto job = [&](int begin, int end, int) {
      for (int i = begin; i < end; ++i) {
        hits[static_cast<size_t>(i)]++;
        if (i == 15 || i == 65) throw std::runtime_error("index " + std::to_string(i));
      }
    };
    CHECK_THROWS_WITH(parallel::for_range(80, 1, job), "index 15");
    // Every chunk still ran (a chunk stops at its own throw).
    for (int i = 0; i < 80; ++i) CHECK(hits[static_cast<size_t>(i)] == (i % 10 <= 5 || (i / 10 != 1 && i / 10 != 6)));
    // The next job does not see the old exceptions.
    std::atomic<int> count{0};
    CHECK_NOTHROW(parallel::for_range(80, 1, [&](int begin, int end, int) { count += end - begin; }));
    CHECK(count == 80);
  }
}

TEST_CASE("for_range: a throw on the serial path leaves later calls free to split", "[parallel]") {
  Threads threads(2);
  CHECK_THROWS(parallel::for_range(8, 1, [](int, int, int) { throw std::runtime_error("serial"); }, /*max_parts=*/1));
  std::atomic<int> calls{0};
  parallel::for_range(8, 1, [&](int, int, int) { calls++; });
  CHECK(calls == 8);
}

TEST_CASE("for_range: chunks a thread has not got to are taken over", "[parallel]") {
  // Part 1 sleeps 50 ms in its first chunk; part 0 meanwhile finishes its own chunks and takes
  // part 1's other three (with fixed halves it would run only its own four).
  Threads threads(2);
  std::atomic<int> calls_by_part[2] = {{0}, {0}};
  std::vector<std::atomic<int>> hits(80);
  parallel::for_range(80, 1, [&](int begin, int end, int part) {
    if (part == 1 && calls_by_part[1] == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    calls_by_part[part]++;
    for (int i = begin; i < end; ++i) hits[static_cast<size_t>(i)]++;
  });
  for (auto& h : hits) CHECK(h == 1);
  CHECK(calls_by_part[0] + calls_by_part[1] == 8);
  CHECK(calls_by_part[0] > 4);
  // Many short jobs in a row (workers between spinning, yielding and sleeping) each run every index.
  for (int round = 0; round < 200; ++round) {
    std::atomic<int> sum{0};
    parallel::for_range(64, 1, [&](int begin, int end, int) {
      for (int i = begin; i < end; ++i) sum += i;
    });
    CHECK(sum == 64 * 63 / 2);
  }
}

TEST_CASE("set_threads refuses counts outside [1, kMaxThreads]", "[parallel]") {
  CHECK_THROWS_WITH(parallel::set_threads(0), Catch::Contains("threads must be in [1, 8], got 0"));
  CHECK_THROWS_WITH(parallel::set_threads(9), Catch::Contains("got 9"));
  CHECK(parallel::threads() == 1);
}

TEST_CASE("Split products equal the one-thread product bit for bit", "[parallel][autodiff]") {
  // Shapes above the split threshold, tall (rows split) and wide (columns split), with strides.
  struct Shape { int M, K, N; };
  for (Shape s : {Shape{6080, 64, 64}, Shape{64, 6080, 64}, Shape{37, 129, 3001}, Shape{1000, 300, 17}}) {
    for (int flags = 0; flags < 8; ++flags) {
      const bool ta = flags & 1, tb = flags & 2, acc = flags & 4;
      const int lda = (ta ? s.M : s.K) + 1, ldb = (tb ? s.K : s.N) + 2, ldc = s.N + 3;
      const std::vector<float> a = random_vector(static_cast<size_t>(ta ? s.K : s.M) * lda, 1);
      const std::vector<float> b = random_vector(static_cast<size_t>(tb ? s.N : s.K) * ldb, 2);
      std::vector<float> one = random_vector(static_cast<size_t>(s.M) * ldc, 3), two = one;
      kernels::gemm(a.data(), lda, b.data(), ldb, one.data(), ldc, s.M, s.K, s.N, ta, tb, acc);
      {
        Threads threads(2);
        kernels::gemm(a.data(), lda, b.data(), ldb, two.data(), ldc, s.M, s.K, s.N, ta, tb, acc);
      }
      INFO("M " << s.M << " K " << s.K << " N " << s.N << " ta " << ta << " tb " << tb << " acc " << acc);
      CHECK(one == two);
    }
  }
}

TEST_CASE("Attention forward and backward split over the batch equal one thread's bit for bit", "[parallel][attention]") {
  const int B = 5, Tq = 7, Tk = 9, D = 16, H = 4;
  auto run = [&](int threads, std::vector<float>& out, std::vector<float>& grads) {
    Threads t(threads);
    Graph g;
    Expr q = g.input("q", {B, Tq, D}), k = g.input("k", {B, Tk, D}), v = g.input("v", {B, Tk, D});
    Expr m = g.int_input("m", {B, Tq, Tk});
    std::vector<float> qv = random_vector(B * Tq * D, 4), kv = random_vector(B * Tk * D, 5), vv = random_vector(B * Tk * D, 6);
    std::vector<int32_t> mask(B * Tq * Tk);
    Rng rng(7);
    for (int32_t& x : mask) x = rng.uniform_float() < 0.7f;
    g.bind(q, qv.data());
    g.bind(k, kv.data());
    g.bind(v, vv.data());
    g.bind_int(m, mask.data());
    Expr o = attention(q, k, v, H, false, m);
    Expr loss = sum(square(o));
    g.forward();
    g.backward(loss);
    out.assign(g.values(o), g.values(o) + B * Tq * D);
    grads.clear();
    for (Expr x : {q, k, v}) grads.insert(grads.end(), g.gradient(x), g.gradient(x) + g.numel(x));
  };
  std::vector<float> out1, grad1, out2, grad2;
  run(1, out1, grad1);
  run(2, out2, grad2);
  CHECK(out1 == out2);
  CHECK(grad1 == grad2);
}

TEST_CASE("Log-softmax forward and backward split over rows equal one thread's bit for bit", "[parallel][autodiff]") {
  // Vocabulary sizes that put a thread's first row at every alignment: the vectorised exp handles
  // an unaligned start and a short tail apart (scalar), so a split that moved them changed bits
  // (SFT at batch 196 of 3-digit addition differed with two threads).
  for (int V : {13, 14, 64, 3001}) {
    const int rows = 2 * 16384 / V * 3 + 7;
    auto run = [&](int threads, std::vector<float>& out, std::vector<float>& grad) {
      Threads t(threads);
      Graph g;
      Expr x = g.input("x", {rows, V});
      Expr m = g.int_input("m", {rows, V});
      std::vector<float> xv = random_vector(static_cast<size_t>(rows) * V, 8);
      for (float& v : xv) v *= 20.0f;
      std::vector<int32_t> mask(static_cast<size_t>(rows) * V);
      Rng rng(9);
      for (int32_t& b : mask) b = rng.uniform_float() < 0.8f;
      const std::vector<float> w = random_vector(static_cast<size_t>(rows) * V, 10);
      Expr weights = g.input("w", {rows, V});
      g.bind(x, xv.data());
      g.bind_int(m, mask.data());
      g.bind(weights, w.data());
      Expr y = log_softmax(x, m);
      Expr loss = sum(clamp(y, -30.0f, 0.0f) * weights);  // the masked entries (a large negative) out
      g.forward();
      g.backward(loss);
      out.assign(g.values(y), g.values(y) + g.numel(y));
      grad.assign(g.gradient(x), g.gradient(x) + g.numel(x));
    };
    const long long splits = parallel::split_calls();
    std::vector<float> out1, grad1, out2, grad2;
    run(1, out1, grad1);
    run(2, out2, grad2);
    INFO("V " << V << ", " << rows << " rows");
    CHECK(parallel::split_calls() > splits);
    CHECK(out1 == out2);
    CHECK(grad1 == grad2);
  }
}

TEST_CASE("A POMO run and an SFT run give the same metrics with one thread and with two", "[parallel][slow]") {
  // Sizes whose products cross the split threshold (the encoder's [B n, D] x [D, D]).
  const json pomo = {{"algo", "pomo"}, {"problem", "tsp"}, {"n", 10}, {"batch_size", 16}, {"d_model", 64},
                     {"n_heads", 4},   {"n_layers", 2},    {"d_ff", 128}, {"max_steps", 4}, {"eval_interval", 100},
                     {"heldout_size", 4}, {"seed", 3}};
  CHECK(same_numbers(metrics_of(pomo, 1, 4), metrics_of(pomo, 2, 4)));
  // The transformer: batch 64 of addition, d_model 64 (products [64 T, 64] x [64, 256]).
  const json sft = {{"algo", "sft"},    {"task", "addition"}, {"digits", 3},  {"max_steps", 4},
                    {"batch_size", 64}, {"d_model", 64},      {"n_heads", 4}, {"n_layers", 2},
                    {"d_mlp", 256},     {"eval_interval", 100}, {"heldout_size", 8}, {"seed", 3}};
  CHECK(same_numbers(metrics_of(sft, 1, 4), metrics_of(sft, 2, 4)));
}

TEST_CASE("PPO and A2C runs give the same metrics with one thread and with two (actor and critic split)", "[parallel]") {
  // Minibatches of 128 (PPO) and batches of 64 (A2C) reach the split's 64 samples; each two-thread
  // run is checked to have split.
  auto split_run = [](const json& config) {
    const long long before = parallel::split_calls();
    std::vector<double> out = metrics_of(config, 2, 3);
    CHECK(parallel::split_calls() > before);
    return out;
  };
  const json ppo_cartpole = {{"algo", "ppo"}, {"env_id", "CartPole-v1"}, {"num_envs", 4}, {"num_steps", 128},
                             {"total_timesteps", 1536}, {"seed", 5}};
  CHECK(same_numbers(metrics_of(ppo_cartpole, 1, 3), split_run(ppo_cartpole)));
  // A Gaussian policy: the actor's task also writes the log-std gradient.
  const json ppo_pendulum = {{"algo", "ppo"}, {"env_id", "Pendulum-v1"}, {"num_envs", 2}, {"num_steps", 256},
                             {"total_timesteps", 1536}, {"seed", 6}};
  CHECK(same_numbers(metrics_of(ppo_pendulum, 1, 3), split_run(ppo_pendulum)));
  const json a2c = {{"algo", "a2c"}, {"env_id", "CartPole-v1"}, {"num_envs", 16}, {"num_steps", 4},
                    {"total_timesteps", 192}, {"seed", 7}};
  CHECK(same_numbers(metrics_of(a2c, 1, 3), split_run(a2c)));
}

#if defined(POLICYLAB_LINEAR_AVX2)
TEST_CASE("PPO, A2C, POMO and SFT runs give the same numbers with the AVX-512 kernels and without", "[parallel][avx512]") {
  // The kernel test compares each product's bits (test_linear_avx2.cpp); this one whole runs, the
  // MLP agents' fused layers and the tape's products together.
#if defined(__AVX512F__)
  WARN("this build targets AVX-512 itself: there are no 8-float kernels to compare with");
  return;
#endif
  if (!linear_avx512::supported()) {
    WARN("this CPU has no AVX-512F: the comparison of the two kernel widths did not run here");
    return;
  }
  const bool before = linear_avx2::wide_kernels();
  auto run = [&](const json& config, bool wide, int threads) {
    linear_avx2::set_wide_kernels(wide);
    std::vector<double> out = metrics_of(config, threads, 3);
    linear_avx2::set_wide_kernels(before);
    return out;
  };
  const json ppo = {{"algo", "ppo"}, {"env_id", "Pendulum-v1"}, {"num_envs", 2}, {"num_steps", 256},
                    {"total_timesteps", 1536}, {"seed", 6}};
  const json a2c = {{"algo", "a2c"}, {"env_id", "CartPole-v1"}, {"num_envs", 16}, {"num_steps", 4},
                    {"total_timesteps", 192}, {"seed", 7}};
  const json pomo = {{"algo", "pomo"}, {"problem", "tsp"}, {"n", 10}, {"batch_size", 8}, {"d_model", 32},
                     {"n_heads", 4},   {"n_layers", 2},    {"d_ff", 64}, {"max_steps", 3}, {"eval_interval", 100},
                     {"heldout_size", 4}, {"seed", 3}};
  const json sft = {{"algo", "sft"},    {"task", "addition"}, {"digits", 3},  {"max_steps", 3},
                    {"batch_size", 16}, {"d_model", 32},      {"n_heads", 4}, {"n_layers", 1},
                    {"d_mlp", 64},      {"eval_interval", 100}, {"heldout_size", 8}, {"seed", 3}};
  for (const json& config : {ppo, a2c, pomo, sft}) {
    INFO(config.dump());
    const std::vector<double> narrow = run(config, false, 1);
    CHECK(same_numbers(narrow, run(config, true, 1)));
    CHECK(same_numbers(narrow, run(config, true, 2)));  // and the products split over two threads
  }
}
#endif
