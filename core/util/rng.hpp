// PolicyLab's one random number generator.
//
// PCG32 (O'Neill 2014, "PCG: A Family of Simple Fast Space-Efficient Statistically Good Algorithms
// for Random Number Generation", the XSH-RR 64/32 member). Every distribution used by PolicyLab is
// implemented here from the raw 32-bit stream, never through <random>, because the standard library's
// distributions differ between libstdc++, libc++ and emscripten: with this RNG the same seed yields
// the same integer stream everywhere. Uniform and categorical draws are bit-identical across
// platforms; normal draws use std::log/std::cos/std::sqrt (Box–Muller), so they are identical on a
// given libm and may differ in the last ulp between libms (e.g. glibc vs emscripten's musl).
#pragma once

#include <cmath>
#include <cstdint>

namespace pl {

class Rng {
 public:
  static constexpr double kTwoPi = 6.283185307179586476925286766559;

  explicit Rng(uint64_t seed = 0x853c49e6748fea9bULL, uint64_t stream = 0xda3e39cb94b95bdbULL) {
    this->seed(seed, stream);
  }

  // Seeds as PCG's reference `pcg32_srandom_r` does. `stream` selects one of 2^63 independent
  // sequences; PolicyLab derives per-env and per-purpose streams from the run seed (namespace
  // streams below).
  void seed(uint64_t seed, uint64_t stream = 0xda3e39cb94b95bdbULL) {
    state_ = 0U;
    inc_ = (stream << 1u) | 1u;
    next_u32();
    state_ += seed;
    next_u32();
    has_spare_normal_ = false;
  }

  // An independent generator for a tag: SplitMix64 over (seed, tag) as the state, so that the child
  // stream is decorrelated from the parent, and the tag as the sequence. Use the named purposes of
  // namespace streams below, not ad-hoc tags.
  static Rng derive(uint64_t seed, uint64_t tag) { return Rng(derive_seed(seed, tag), tag * 2 + 1); }
  static uint64_t derive_seed(uint64_t seed, uint64_t tag) {
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (tag + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  uint32_t next_u32() {
    uint64_t old = state_;
    state_ = old * 6364136223846793005ULL + inc_;
    uint32_t xorshifted = static_cast<uint32_t>(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = static_cast<uint32_t>(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((~rot + 1u) & 31u));
  }

  // Uniform float in [0, 1) with 24 random bits (every representable step of 2^-24).
  float uniform_float() { return static_cast<float>(next_u32() >> 8) * (1.0f / 16777216.0f); }

  // Uniform double in [0, 1) with 53 random bits.
  double uniform() {
    uint64_t hi = next_u32() >> 5;  // 27 bits
    uint64_t lo = next_u32() >> 6;  // 26 bits
    return static_cast<double>((hi << 26) | lo) * (1.0 / 9007199254740992.0);
  }

  double uniform(double low, double high) { return low + (high - low) * uniform(); }

  // Unbiased integer in [0, n) (Lemire's rejection method on the 32-bit stream).
  uint32_t below(uint32_t n) {
    uint64_t m = static_cast<uint64_t>(next_u32()) * n;
    uint32_t l = static_cast<uint32_t>(m);
    if (l < n) {
      uint32_t t = (0u - n) % n;
      while (l < t) {
        m = static_cast<uint64_t>(next_u32()) * n;
        l = static_cast<uint32_t>(m);
      }
    }
    return static_cast<uint32_t>(m >> 32);
  }

  // Standard normal by the Box–Muller transform; the second variate is kept for the next call.
  double normal() {
    if (has_spare_normal_) {
      has_spare_normal_ = false;
      return spare_normal_;
    }
    double u1 = 1.0 - uniform();  // (0, 1]: log is finite
    double u2 = uniform();
    double r = std::sqrt(-2.0 * std::log(u1));
    spare_normal_ = r * std::sin(kTwoPi * u2);
    has_spare_normal_ = true;
    return r * std::cos(kTwoPi * u2);
  }

  // Index drawn from unnormalised non-negative weights by inverse CDF. Returns the last index with
  // positive weight if rounding leaves the draw past the total.
  template <typename Weights>
  int categorical(const Weights& w, int n) {
    double total = 0.0;
    for (int i = 0; i < n; ++i) total += static_cast<double>(w[i]);
    double u = uniform() * total;
    int last_positive = -1;
    for (int i = 0; i < n; ++i) {
      double wi = static_cast<double>(w[i]);
      if (wi <= 0.0) continue;
      last_positive = i;
      if (u < wi) return i;
      u -= wi;
    }
    return last_positive;
  }

  // Fisher–Yates shuffle of an index array.
  template <typename T>
  void shuffle(T* data, int n) {
    for (int i = n - 1; i > 0; --i) {
      int j = static_cast<int>(below(static_cast<uint32_t>(i + 1)));
      T tmp = data[i];
      data[i] = data[j];
      data[j] = tmp;
    }
  }

  // Full state, for checkpoints.
  struct State {
    uint64_t state, inc;
    double spare_normal;
    uint8_t has_spare_normal;
  };
  State get_state() const { return {state_, inc_, spare_normal_, static_cast<uint8_t>(has_spare_normal_)}; }
  void set_state(const State& s) {
    state_ = s.state;
    inc_ = s.inc;
    spare_normal_ = s.spare_normal;
    has_spare_normal_ = s.has_spare_normal != 0;
  }

 private:
  uint64_t state_ = 0, inc_ = 1;
  double spare_normal_ = 0.0;
  bool has_spare_normal_ = false;
};

// The random streams of a run: the one place that names them.
//
// Every purpose has its own tag, an ASCII word read as a big-endian 64-bit number ("actions" is
// 0x616374696f6e73). The stream of a purpose is Rng::derive(seed, tag): SplitMix64 of (seed, tag)
// as the PCG state, the tag as the PCG sequence selector. A purpose with an index derives twice,
// first the purpose, then the index: seed_of(s, purpose, i) = derive_seed(derive_seed(s, purpose), i),
// and stream(s, purpose, i) is that seed on the purpose's sequence. So env i of a vector env draws
// from stream(s, kEnvs, i); REINFORCE's resets at iteration k reset the vector env with the seed
// seed_of(s, kEpisodeResets, k) (its env i then draws from stream(that seed, kEnvs, i)); episode e
// of an evaluation resets its env with seed_of(s, kEvalEpisodes, e). Never derive from the run seed
// with a bare index or with tag + index: env i was once seeded with derive(seed, i), so with 4 envs
// env 1, 2, 3 drew the numbers of the action, shuffle and init streams, and REINFORCE's resets
// (envs tag + iteration) walked into the other tags.
//
// Why streams do not coincide: streams of different purposes are different PCG sequences for every
// seed and index (their selectors differ: the tags are distinct modulo 2^62, checked below); within
// a purpose, distinct indices give distinct seeds (SplitMix64 is a bijection and the index enters as
// seed + golden * (index + 1)), and streams reached through different chains of derivations differ
// unless two 64-bit hashes collide. tests/native/test_dist.cpp checks the first draws of all of them.
namespace streams {
constexpr uint64_t kInit = 0x696e6974ULL;                  // "init": parameter initialisation
constexpr uint64_t kActions = 0x616374696f6e73ULL;         // "actions": action sampling in rollouts
constexpr uint64_t kShuffle = 0x73687566666c65ULL;         // "shuffle": minibatch order
constexpr uint64_t kEnvs = 0x656e7673ULL;                  // "envs": env i of a vector env (indexed)
constexpr uint64_t kEpisodeResets = 0x7265736574ULL;       // "reset": REINFORCE's resets at iteration k (indexed)
constexpr uint64_t kEnvSeed = 0x656e76ULL;                 // "env": a single env reset with a seed (Env::reset)
constexpr uint64_t kEvalActions = 0x6576616c616374ULL;     // "evalact": actions in Trainer::evaluate
constexpr uint64_t kEvalEpisodes = 0x6576616c657069ULL;    // "evalepi": episode e of Trainer::evaluate (indexed)
constexpr uint64_t kViewer = 0x766965776572ULL;            // "viewer": the browser's policy viewer
constexpr uint64_t kData = 0x64617461ULL;                  // "data": training problems of a sequence task
constexpr uint64_t kRollouts = 0x726f6c6c6f7574ULL;        // "rollout": completions sampled for RL (GRPO)
constexpr uint64_t kComplete = 0x636f6d706c657465ULL;      // "complete": sampling a typed prompt
constexpr uint64_t kPassAtK = 0x7061737340ULL;             // "pass@": held-out pass@k samples
constexpr uint64_t kHeldout = 0x48454c44ULL;               // "HELD": a task's held-out set (core/tasks/task.cpp)
constexpr uint64_t kExample = 0x4558414dULL;               // "EXAM": a task's listed example (core/tasks/registry.cpp)
constexpr uint64_t kInstances = 0x696e7374616e6365ULL;     // "instance": combinatorial instances, indexed by problem (core/combo)

inline constexpr uint64_t kAll[] = {kInit,   kActions,  kShuffle,  kEnvs,    kEpisodeResets, kEnvSeed, kEvalActions,
                             kEvalEpisodes, kViewer, kData, kRollouts, kComplete, kPassAtK, kHeldout, kExample,
                             kInstances};
// PCG keeps the selector as (2 * tag + 1) << 1 | 1: tags equal modulo 2^62 would share a sequence.
constexpr bool selectors_distinct() {
  const int n = static_cast<int>(sizeof(kAll) / sizeof(kAll[0]));
  for (int a = 0; a < n; ++a)
    for (int b = a + 1; b < n; ++b)
      if (((kAll[a] ^ kAll[b]) & ((1ULL << 62) - 1)) == 0) return false;
  return true;
}
static_assert(selectors_distinct(), "two stream tags select the same PCG sequence");

// The stream of a purpose.
inline Rng stream(uint64_t seed, uint64_t purpose) { return Rng::derive(seed, purpose); }
// The seed of index `index` of a purpose (e.g. what VectorEnv::reset receives at iteration k).
inline uint64_t seed_of(uint64_t seed, uint64_t purpose, uint64_t index) {
  return Rng::derive_seed(Rng::derive_seed(seed, purpose), index);
}
// The stream of index `index` of a purpose (e.g. env i).
inline Rng stream(uint64_t seed, uint64_t purpose, uint64_t index) {
  return Rng(seed_of(seed, purpose, index), purpose * 2 + 1);
}
}  // namespace streams

}  // namespace pl
