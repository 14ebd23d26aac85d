// The MLP of the classic-control agents, two ways: the hand-written batched module (nn/mlp.hpp,
// what PPO/A2C/REINFORCE use) and the same network on the tensor tape (linear + tanh ops). Forward
// and backward of a CartPole PPO minibatch (obs 4 -> 64 -> 64 -> 2, batch 128), single thread,
// median of `repeats` runs of `iters` passes. This is the measurement behind keeping the
// hand-written path for the MLP (README, Design).
//
// Usage: bench_mlp_paths [repeats=5] [iters=20000]
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench/bench_common.hpp"
#include "core/autodiff/tape.hpp"
#include "core/nn/mlp.hpp"

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 5;
  const int iters = argc > 2 ? std::atoi(argv[2]) : 20000;
  const int B = 128, In = 4, H = 64, Out = 2;
  pl::Parameters params;
  pl::MlpSpec spec;
  spec.name = "actor";
  spec.in = In;
  spec.hidden = {H, H};
  spec.out = Out;
  pl::Mlp mlp(params, spec);
  params.finalize();
  pl::Rng rng(1);
  mlp.init(params, rng);
  pl::MlpWorkspace ws = mlp.make_workspace(B);
  for (int i = 0; i < In * B; ++i) ws.h[0].data()[i] = static_cast<float>(rng.normal());
  pl::MatrixXf dout = pl::MatrixXf::Constant(Out, B, 0.01f);

  // The same network on the tape. The Mlp's tensors are column-major (out x in) = row-major
  // [in, out]: the tape's x [B, in] @ W [in, out] layout reads them as they are.
  pl::Graph g;
  const int vb = g.size_var("batch", B);
  pl::Expr x = g.input("obs", {g.dim(vb), In});
  const auto& layers = mlp.layers();
  pl::Expr h = x;
  for (size_t k = 0; k < layers.size(); ++k) {
    pl::Expr w = g.parameter(params, layers[k].weight, {layers[k].in, layers[k].out});
    pl::Expr b = g.parameter(params, layers[k].bias, {layers[k].out});
    h = pl::linear(h, w, b);
    if (k + 1 < layers.size()) h = pl::tanh(h);
  }
  pl::Expr loss = 0.01f * pl::sum(h);
  std::vector<float> obs(static_cast<size_t>(B) * In);
  for (float& v : obs) v = static_cast<float>(rng.normal());
  g.bind(x, obs.data());

  std::vector<double> hand, tape;
  for (int r = 0; r <= repeats; ++r) {
    double t0 = pl_bench::now_s();
    for (int i = 0; i < iters; ++i) {
      mlp.forward(params, ws, B);
      mlp.backward(params, ws, B, dout);
    }
    const double hand_s = pl_bench::now_s() - t0;
    t0 = pl_bench::now_s();
    for (int i = 0; i < iters; ++i) {
      g.forward();
      g.backward(loss);
    }
    const double tape_s = pl_bench::now_s() - t0;
    if (r == 0) continue;
    hand.push_back(1e6 * hand_s / iters);
    tape.push_back(1e6 * tape_s / iters);
  }
  std::printf("MLP %d -> %d -> %d -> %d, batch %d, forward + backward, single thread, median of %d x %d\n", In, H, H,
              Out, B, repeats, iters);
  pl_bench::print_machine();
  std::printf("\n| path | median us/pass | min | max |\n|---|---:|---:|---:|\n");
  pl_bench::print_stats_row("hand-written Mlp (nn/mlp.hpp)", hand, "%.2f");
  pl_bench::print_stats_row("tensor tape (linear + tanh)", tape, "%.2f");
  return 0;
}
