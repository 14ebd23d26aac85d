// Training throughput: wall time of whole runs through the Trainer API, as a user runs them
// (`policylab train [--threads N]`), without the CLI's I/O. One thread unless asked for more.
//
//  - the CartPole PPO example (examples/ppo_cartpole.json: CleanRL's defaults, 500k steps);
//  - PPO throughput in env steps/s of whole iterations (collect + update) for each example config,
//    over a shortened run.
// Each figure is the median of `repeats` runs (default 5).
//
// Usage: bench_train [repeats=5] [examples_dir=<source>/examples] [threads=1]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"
#include "core/train/trainer.hpp"
#include "core/util/parallel.hpp"

namespace {

struct Run {
  double seconds;
  int64_t steps;
  double final_return;
};

Run train(const pl::json& cfg) {
  const auto start = std::chrono::steady_clock::now();
  auto trainer = pl::Trainer::from_json(cfg);
  double last_return = 0;
  while (!trainer->done()) {
    const pl::Metrics& m = trainer->step();
    if (m.episodes > 0) last_return = m.episodic_return_mean;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {s, trainer->global_step(), last_return};
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 5;
  const std::string dir = argc > 2 ? argv[2] : std::string(POLICYLAB_SOURCE_DIR) + "/examples";
  const int threads = argc > 3 ? std::atoi(argv[3]) : 1;
  if (repeats <= 0 || threads < 1 || threads > pl::parallel::kMaxThreads) {
    std::fprintf(stderr, "usage: bench_train [repeats>0] [examples_dir] [threads in 1..%d]\n", pl::parallel::kMaxThreads);
    return 2;
  }
  if (threads > 1) pl::parallel::set_threads(threads);
  std::printf("## Training wall time (%d thread%s, median of %d runs)\n\n", threads, threads > 1 ? "s" : "", repeats);
  pl_bench::print_machine();
  std::printf("\n| run | steps | median wall s | min | max | env steps/s | last mean return |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
  struct Case {
    const char* label;
    const char* file;
    int64_t steps;  // 0 = as in the example
  };
  const Case cases[] = {
      {"PPO CartPole-v1 example (full)", "ppo_cartpole.json", 0},
      {"PPO Acrobot-v1", "ppo_acrobot.json", 100000},
      {"PPO Pendulum-v1", "ppo_pendulum.json", 100000},
      {"A2C CartPole-v1", "a2c_cartpole.json", 100000},
      {"REINFORCE CartPole-v1", "reinforce_cartpole.json", 100000},
  };
  for (const Case& c : cases) {
    pl::json cfg = pl_bench::load_json(dir + "/" + c.file);
    if (c.steps > 0) cfg["total_timesteps"] = c.steps;
    std::vector<double> secs;
    Run last{};
    for (int r = 0; r < repeats; ++r) {
      last = train(cfg);
      secs.push_back(last.seconds);
    }
    const double med = pl_bench::median(secs);
    std::printf("| %s | %lld | %.3f | %.3f | %.3f | %.0f | %.1f |\n", c.label, static_cast<long long>(last.steps), med,
                *std::min_element(secs.begin(), secs.end()), *std::max_element(secs.begin(), secs.end()),
                last.steps / med, last.final_return);
    std::fflush(stdout);
  }
  return 0;
}
