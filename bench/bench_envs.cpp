// Raw single-env throughput: steps per second of each registered env, with uniformly random
// actions from pl::Rng and a reset whenever an episode ends (resets are part of the cost, as in
// training). Each env is timed over `steps` steps, `repeats` times; the median is reported as a
// markdown table with the machine and compiler it was measured on.
//
// Usage: bench_envs [steps_per_repeat=2000000] [repeats=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_common.hpp"
#include "core/envs/env.hpp"
#include "core/util/rng.hpp"

namespace {

struct Measurement {
  double steps_per_second;
  long episodes;
  double checksum;  // sum of rewards: keeps the work observable so it cannot be optimised away
};

Measurement time_env(pl::Env& env, long steps, uint64_t seed) {
  const pl::Space& space = env.action_space();
  const bool discrete = space.is_discrete();
  std::vector<float> obs(static_cast<size_t>(env.observation_space().flat_dim()));
  std::vector<float> action(static_cast<size_t>(space.flat_dim()));
  pl::Rng rng = pl::Rng::derive(seed, 0x62656e6368 /* "bench" */);
  env.reset(seed, obs.data());

  long episodes = 0;
  double checksum = 0.0;
  const auto start = std::chrono::steady_clock::now();
  for (long t = 0; t < steps; ++t) {
    if (discrete) {
      action[0] = static_cast<float>(rng.below(static_cast<uint32_t>(space.n)));
    } else {
      for (size_t d = 0; d < action.size(); ++d) {
        action[d] = space.low[d] + (space.high[d] - space.low[d]) * rng.uniform_float();
      }
    }
    const pl::StepResult r = env.step(action.data(), obs.data());
    checksum += r.reward;
    if (r.terminated || r.truncated) {
      env.reset(obs.data());
      ++episodes;
    }
  }
  const auto stop = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(stop - start).count();
  return {static_cast<double>(steps) / seconds, episodes, checksum + obs[0]};
}

}  // namespace

int main(int argc, char** argv) {
  const long steps = argc > 1 ? std::atol(argv[1]) : 2000000;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  if (steps <= 0 || repeats <= 0) {
    std::fprintf(stderr, "usage: bench_envs [steps_per_repeat>0] [repeats>0]\n");
    return 2;
  }

  std::printf("## Env step throughput (single env, random actions, reset on done)\n\n");
  pl_bench::print_machine();
  std::printf("- %ld steps per repeat, median of %d repeats\n\n", steps, repeats);
  std::printf("| env | median steps/s | min steps/s | max steps/s | ns/step | episodes/repeat |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");

  double sink = 0.0;
  for (const std::string& id : pl::env_ids()) {
    auto env = pl::make_env(id);
    std::vector<double> rates;
    long episodes = 0;
    for (int rep = 0; rep < repeats; ++rep) {
      const Measurement m = time_env(*env, steps, static_cast<uint64_t>(rep));
      rates.push_back(m.steps_per_second);
      episodes = m.episodes;
      sink += m.checksum;
    }
    std::sort(rates.begin(), rates.end());
    const double median = pl_bench::median(rates);
    std::printf("| %s | %.2f M | %.2f M | %.2f M | %.1f | %ld |\n", id.c_str(), median / 1e6,
                rates.front() / 1e6, rates.back() / 1e6, 1e9 / median, episodes);
  }
  std::printf("\n(checksum %.6g)\n", sink);
  return 0;
}
