// What the re-encoding policies' tests share (job-shop, TSP and CVRP): a tiny model, and the check
// that scoring a rollout's recorded decisions reproduces the rollout's log-probs and gradients.
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "core/combo/reencoding_policy.hpp"
#include "core/nn/reencoding_model.hpp"
#include "gradcheck.hpp"

namespace pl_test {

// A 2-layer, 8-wide re-encoding model over node_dim features, initialised from seed.
struct TinyReencoding {
  pl::Parameters params;
  pl::ReencodingModel model;
  explicit TinyReencoding(int node_dim, uint64_t seed = 11, float clip = 10.0f) {
    pl::ReencodingSpec s;
    s.node_dim = node_dim;
    s.d_model = 8;
    s.n_heads = 2;
    s.n_layers = 2;
    s.d_ff = 12;
    s.tanh_clip = clip;
    model = pl::ReencodingModel(params, s);
    params.finalize();
    pl::Rng rng(seed);
    model.init(params, rng);
  }
};

// Scores every recorded decision in chunks of `chunk` (another size than the rollout's batches of
// rows) with advantages adv[row]: the log-probs equal the rollout's, and the gradient of
// -sum_d A_d log p(a_d | s_d) over the first 6 decisions matches central differences (few
// decisions: fewer ReLU kinks inside the difference's step). Returns the scored log-probs.
inline std::vector<float> check_scoring_matches_rollout(pl::combo::ReencodingPolicy& policy,
                                                        const pl::combo::DecisionRecord& rec, const std::vector<float>& adv,
                                                        int chunk, TinyReencoding& r) {
  std::vector<float> logp(static_cast<size_t>(rec.count));
  for (int first = 0; first < rec.count; first += chunk)
    policy.accumulate(rec, first, std::min(chunk, rec.count - first), adv.data(), 1.0f, &logp[first]);
  double max_diff = 0;
  for (int d = 0; d < rec.count; ++d) max_diff = std::max(max_diff, std::fabs(static_cast<double>(logp[d]) - rec.logp[d]));
  INFO("largest difference " << max_diff);
  CHECK(max_diff < 1e-5);

  const int count = std::min(6, rec.count);
  r.params.zero_grad();
  policy.accumulate(rec, 0, count, adv.data(), 1.0f);
  const pl::VectorXf analytic = r.params.grads();
  auto f = [&] { return policy.accumulate(rec, 0, count, adv.data(), 1.0f); };
  check_sampled_param_grads(r.params, analytic, f, 3e-3);
  return logp;
}

}  // namespace pl_test
