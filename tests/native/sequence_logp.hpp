// log pi(completion | prompt) of a sequence learner's transformer computed the plain way: the whole
// sequence on its own tape, log-softmax in double. The preference trainers' batched, padded,
// masked sums are checked against it.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/algos/sequence.hpp"

inline double direct_completion_logp(const pl::SequenceLearner& s, const std::vector<int>& prompt,
                                     const std::vector<int>& completion) {
  using namespace pl;
  std::vector<int> seq = prompt;
  seq.insert(seq.end(), completion.begin(), completion.end());
  const int L = static_cast<int>(seq.size()), V = s.model().spec().vocab;
  Graph g;
  const int B = g.size_var("b", 1), T = g.size_var("t", L);
  const Dims d{g.dim(B), g.dim(T)};
  Expr tok = g.int_input("tokens", d), pos = g.int_input("positions", d), mask = g.int_input("mask", d);
  std::vector<int32_t> t(seq.begin(), seq.end()), ps(static_cast<size_t>(L)), m(static_cast<size_t>(L), 1);
  for (int i = 0; i < L; ++i) ps[static_cast<size_t>(i)] = i;
  g.bind_int(tok, t.data());
  g.bind_int(pos, ps.data());
  g.bind_int(mask, m.data());
  Expr logits = s.model().build(g, const_cast<Parameters&>(s.model_params()), tok, pos, mask, true).logits;
  g.forward();
  const float* z = g.values(logits);
  double total = 0;
  for (int k = static_cast<int>(prompt.size()) - 1; k + 1 < L; ++k) {  // position k predicts token k + 1
    double top = -1e30, sum = 0;
    for (int v = 0; v < V; ++v) top = std::max(top, static_cast<double>(z[k * V + v]));
    for (int v = 0; v < V; ++v) sum += std::exp(z[k * V + v] - top);
    total += z[k * V + seq[static_cast<size_t>(k + 1)]] - top - std::log(sum);
  }
  return total;
}
