// Group-relative RL speed: wall time from an SFT checkpoint to 90% held-out greedy accuracy on 3-digit
// addition, single thread, through the Trainer API (as `policylab train` runs it, without its I/O).
//
//  - the SFT start: examples/sft_addition_warm.json (500 steps, about a third of the held-out set
//    right), trained once and not timed;
//  - then a GRPO config from examples/ (default dapo_addition.json) with init_from = that checkpoint,
//    stepped until an evaluation (every eval_interval steps, 500 held-out problems, included in the
//    time) reaches 90%, or max_steps;
//  - reported: seconds and steps to 90%, completion tokens sampled per second and tokens trained per
//    second (forward + backward over prompt and completion, times num_iterations).
// Each figure is the median of `repeats` runs with seeds 1..repeats (default 3).
//
// Usage: bench_grpo [repeats=3] [config=<source>/examples/dapo_addition.json]
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"
#include "core/train/trainer.hpp"

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 3;
  const std::string examples = std::string(POLICYLAB_SOURCE_DIR) + "/examples/";
  const std::string config_path = argc > 2 ? argv[2] : examples + "dapo_addition.json";
  const std::string checkpoint = "bench_grpo_sft.ckpt";
  {
    const double t0 = pl_bench::now_s();
    auto sft = pl::Trainer::from_json(pl_bench::load_json(examples + "sft_addition_warm.json"));
    while (!sft->done()) sft->step();
    sft->save_file(checkpoint);
    std::printf("SFT start: %.1f%% held-out after %lld steps (%.1f s, not counted)\n",
                100 * sft->last_metrics().extra_named("heldout_accuracy"), static_cast<long long>(sft->iteration()),
                pl_bench::now_s() - t0);
  }
  std::vector<double> seconds, steps, sampled_rate, trained_rate;
  for (int r = 0; r < repeats; ++r) {
    pl::json cfg = pl_bench::load_json(config_path);
    cfg["init_from"] = checkpoint;
    cfg["seed"] = r + 1;
    auto t = pl::Trainer::from_json(cfg);
    const double t0 = pl_bench::now_s();
    double completion_tokens = 0, trained_tokens = 0, train_seconds = 0;
    bool reached = false;
    while (!t->done()) {
      const double s0 = pl_bench::now_s();
      const pl::Metrics& m = t->step();
      const double dt = pl_bench::now_s() - s0;
      completion_tokens += m.extra_named("completion_length") * cfg.value("batch_size", 16) * cfg.value("num_generations", 8);
      trained_tokens += m.extra_named("tokens_per_s") * dt;
      train_seconds += dt;
      if (m.extra_named("heldout_accuracy") >= 0.9) {
        reached = true;
        break;
      }
    }
    const double total = pl_bench::now_s() - t0;
    std::printf("seed %d: %s after %lld steps, %.1f s\n", r + 1, reached ? "90%" : "not 90%",
                static_cast<long long>(t->iteration()), total);
    seconds.push_back(reached ? total : 1e9);
    steps.push_back(static_cast<double>(t->iteration()));
    sampled_rate.push_back(completion_tokens / train_seconds);
    trained_rate.push_back(trained_tokens / train_seconds);
  }
  std::remove(checkpoint.c_str());
  std::printf("\n## GRPO from SFT to 90%% held-out (%s, median of %d seeds)\n\n", config_path.c_str(), repeats);
  pl_bench::print_machine();
  std::printf("\n| figure | median | min | max |\n|---|---|---|---|\n");
  pl_bench::print_stats_row("seconds to 90%", seconds, "%.1f");
  pl_bench::print_stats_row("steps to 90%", steps, "%.0f");
  pl_bench::print_stats_row("completion tokens sampled / s (whole steps)", sampled_rate, "%.0f");
  pl_bench::print_stats_row("tokens trained / s", trained_rate, "%.0f");
  return 0;
}
