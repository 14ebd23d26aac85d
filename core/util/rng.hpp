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
  // sequences; PolicyLab derives per-env and per-purpose streams from the run seed with split().
  void seed(uint64_t seed, uint64_t stream = 0xda3e39cb94b95bdbULL) {
    state_ = 0U;
    inc_ = (stream << 1u) | 1u;
    next_u32();
    state_ += seed;
    next_u32();
    has_spare_normal_ = false;
  }

  // An independent generator for a sub-purpose (env i, sampling, minibatch shuffling...). Uses
  // SplitMix64 over (seed, tag) so that the child streams are decorrelated from the parent.
  static Rng derive(uint64_t seed, uint64_t tag) {
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (tag + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return Rng(z, tag * 2 + 1);
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

}  // namespace pl
