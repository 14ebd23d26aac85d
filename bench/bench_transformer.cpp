// Speed of the reference tiny transformer (2 layers, d_model 64, 4 heads, MLP 256, context 16,
// vocabulary 14), single thread:
//  - training tokens/s: forward, backward and Adam on batches of 256 sequences of 16 tokens,
//    teacher-forcing cross-entropy on every position (the tape path SFT uses);
//  - sampling tokens/s: 256 sequences, an 8-token prompt, 8 new tokens, temperature 1 (KV cache).
// Each figure is the median of `repeats` runs (default 5) after one warm-up.
//
// Usage: bench_transformer [repeats=5] [steps_per_repeat=10]
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench/bench_common.hpp"
#include "core/nn/sampler.hpp"
#include "core/nn/transformer.hpp"
#include "core/optim/optim.hpp"

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 5;
  const int steps = argc > 2 ? std::atoi(argv[2]) : 10;
  const int B = 256, T = 16;
  pl::TransformerSpec spec;  // defaults are the reference model
  pl::Parameters params;
  pl::Transformer model(params, spec);
  params.finalize();
  pl::Rng rng(1);
  model.init(params, rng);
  pl::Optimizer adam(pl::Optimizer::Kind::Adam, params.total_size(), 1e-8);

  pl::Graph g;
  const int vb = g.size_var("batch", B), vt = g.size_var("time", T);
  pl::Expr tok = g.int_input("tokens", {g.dim(vb), g.dim(vt)});
  pl::Expr pos = g.int_input("positions", {g.dim(vb), g.dim(vt)});
  pl::Expr mask = g.int_input("mask", {g.dim(vb), g.dim(vt)});
  pl::Expr target = g.int_input("targets", {g.dim(vb), g.dim(vt)});
  pl::Expr logits = model.build(g, params, tok, pos, mask).logits;
  pl::Expr loss = -pl::mean(pl::gather_last(pl::log_softmax(logits), target));
  std::vector<int32_t> tokens(B * T), positions(B * T), ones(B * T, 1), targets(B * T);
  for (int i = 0; i < B * T; ++i) {
    tokens[i] = static_cast<int32_t>(rng.below(spec.vocab));
    targets[i] = static_cast<int32_t>(rng.below(spec.vocab));
    positions[i] = i % T;
  }
  g.bind_int(tok, tokens.data());
  g.bind_int(pos, positions.data());
  g.bind_int(mask, ones.data());
  g.bind_int(target, targets.data());
  auto train_step = [&] {
    g.forward();
    params.zero_grad();
    g.backward(loss);
    adam.step(params.values(), params.grads(), 1e-3);
  };

  pl::Sampler sampler(model, B);
  std::vector<int32_t> prompts(B * 8);
  for (auto& t : prompts) t = static_cast<int32_t>(2 + rng.below(spec.vocab - 2));
  std::vector<int> lengths(B, 8);
  pl::SamplingOptions so;
  so.max_new_tokens = 8;
  so.eos = -1;  // every row generates all 8 tokens
  pl::Completions out;

  std::vector<double> train_tps, sample_tps;
  for (int r = 0; r <= repeats; ++r) {
    double t0 = pl_bench::now_s();
    for (int s = 0; s < steps; ++s) train_step();
    const double train_s = pl_bench::now_s() - t0;
    t0 = pl_bench::now_s();
    for (int s = 0; s < steps; ++s)
      sampler.generate(params, prompts.data(), lengths.data(), B, 8, 1, so, rng, out);
    const double sample_s = pl_bench::now_s() - t0;
    if (r == 0) continue;  // warm-up
    train_tps.push_back(static_cast<double>(B) * T * steps / train_s);
    sample_tps.push_back(static_cast<double>(B) * so.max_new_tokens * steps / sample_s);
  }
  std::printf("Reference transformer (%d parameters), batch %d x %d tokens, single thread, median of %d x %d steps\n",
              params.total_size(), B, T, repeats, steps);
  pl_bench::print_machine();
  std::printf("\n| figure | median | min | max |\n|---|---:|---:|---:|\n");
  pl_bench::print_stats_row("training tokens/s (fwd + bwd + Adam)", train_tps, "%.0f");
  pl_bench::print_stats_row("sampling tokens/s (KV cache, 256 rows)", sample_tps, "%.0f");
  std::printf("\nlast training loss %.4f\n", g.scalar(loss));
  return 0;
}
