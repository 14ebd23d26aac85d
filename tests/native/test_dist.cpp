// Distributions: hand-computed log-probs, entropies and KLs; gradients against finite differences;
// masks; sampling statistics.
#include <catch2/catch.hpp>
#include <set>
#include <cmath>
#include <vector>

#include "core/dist/distributions.hpp"
#include "gradcheck.hpp"

using namespace pl;
using pl_test::central_difference;
using pl_test::check_close;
using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;

TEST_CASE("Categorical log-prob and entropy match hand computation", "[dist]") {
  Mat logits(3, 1);
  logits << 1.0f, 2.0f, 3.0f;
  Mat logp(3, 1);
  categorical::log_softmax(logits, nullptr, logp);
  // Z = e + e^2 + e^3 = 30.1929...; log p_3 = 3 - log Z = -0.40760596
  CHECK(logp(2, 0) == Approx(-0.40760596).margin(1e-6));
  CHECK(logp(0, 0) == Approx(-2.40760596).margin(1e-6));
  float a = 1, lp, h;
  categorical::log_prob(logp, &a, &lp);
  CHECK(lp == Approx(-1.40760596).margin(1e-6));
  categorical::entropy(logp, &h);
  double expected = 0;
  for (double l : {-2.40760596, -1.40760596, -0.40760596}) expected -= std::exp(l) * l;
  CHECK(h == Approx(expected).margin(1e-6));  // 0.83240...
}

TEST_CASE("Categorical mask removes actions from sampling, entropy and gradients", "[dist]") {
  Mat logits(3, 2);
  logits.col(0) << 0.5f, 0.1f, 2.0f;
  logits.col(1) << -1.0f, 0.3f, 0.7f;
  std::vector<float> mask{1, 0, 1, 0, 1, 1};  // column 0 forbids action 1; column 1 forbids action 0
  Mat logp(3, 2);
  categorical::log_softmax(logits, mask.data(), logp);
  CHECK(std::isinf(logp(1, 0)));
  CHECK(std::isinf(logp(0, 1)));
  // Column 0 over {0, 2}: log p0 = 0.5 - log(e^0.5 + e^2) = -1.7014132
  CHECK(logp(0, 0) == Approx(-1.7014132).margin(1e-6));
  Rng rng(9);
  std::vector<float> actions(2);
  for (int k = 0; k < 2000; ++k) {
    categorical::sample(logp, rng, actions.data());
    REQUIRE(actions[0] != 1.0f);
    REQUIRE(actions[1] != 0.0f);
  }
  float dlogp[2] = {1.0f, 1.0f}, dent[2] = {0.5f, 0.5f};
  float acts[2] = {0, 2};
  Mat dlogits(3, 2);
  categorical::backward(logp, acts, dlogp, dent, dlogits);
  CHECK(dlogits(1, 0) == 0.0f);
  CHECK(dlogits(0, 1) == 0.0f);
  float h[2];
  categorical::entropy(logp, h);
  CHECK(std::isfinite(h[0]));
}

TEST_CASE("Categorical backward matches finite differences", "[dist][gradcheck]") {
  Mat logits(4, 3);
  Rng rng(5);
  for (int i = 0; i < logits.size(); ++i) logits.data()[i] = static_cast<float>(rng.normal());
  std::vector<float> mask{1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1};
  float actions[3] = {2, 3, 1};
  float wl[3] = {0.7f, -1.1f, 0.4f}, we[3] = {0.2f, 0.5f, -0.3f};
  auto objective = [&] {
    Mat lp(4, 3);
    categorical::log_softmax(logits, mask.data(), lp);
    float logp[3], ent[3];
    categorical::log_prob(lp, actions, logp);
    categorical::entropy(lp, ent);
    double f = 0;
    for (int i = 0; i < 3; ++i) f += wl[i] * logp[i] + we[i] * ent[i];
    return f;
  };
  Mat lp(4, 3), d(4, 3);
  categorical::log_softmax(logits, mask.data(), lp);
  categorical::backward(lp, actions, wl, we, d);
  for (int i = 0; i < logits.size(); ++i)
    check_close(d.data()[i], central_difference(objective, logits.data() + i, 1e-3), "logit " + std::to_string(i));
}

TEST_CASE("Categorical KL matches hand computation and is zero for equal distributions", "[dist]") {
  Mat p(2, 1), q(2, 1);
  p << std::log(0.25f), std::log(0.75f);
  q << std::log(0.5f), std::log(0.5f);
  float kl;
  categorical::kl(p, q, &kl);
  // 0.25 log(0.5) + 0.75 log(1.5) = -0.1732868 + 0.3040988 = 0.1308120
  CHECK(kl == Approx(0.1308120).margin(1e-6));
  categorical::kl(p, p, &kl);
  CHECK(kl == Approx(0.0).margin(1e-7));
}

TEST_CASE("Gaussian log-prob, entropy and KL match the closed forms", "[dist]") {
  Mat mean(2, 1), act(2, 1);
  mean << 0.5f, -1.0f;
  act << 1.0f, 0.0f;
  float log_std[2] = {0.0f, std::log(2.0f)};
  float lp;
  gaussian::log_prob(mean, log_std, act, &lp);
  // dim 0: z = 0.5, -0.125 - 0 - 0.9189385 ; dim 1: z = 0.5, -0.125 - 0.6931472 - 0.9189385
  CHECK(lp == Approx(-0.125 - 0.9189385 - 0.125 - 0.6931472 - 0.9189385).margin(1e-5));
  // entropy = sum (0.5 + 0.9189385 + log_std) = 2.8378770 + 0.6931472
  CHECK(gaussian::entropy(log_std, 2) == Approx(2 * 1.4189385 + 0.6931472).margin(1e-5));
  Mat mq(2, 1);
  mq << 0.0f, -1.0f;
  float log_std_q[2] = {std::log(2.0f), std::log(2.0f)};
  float kl;
  gaussian::kl(mean, log_std, mq, log_std_q, &kl);
  // dim 0: log 2 + (1 + 0.25) / 8 - 0.5 = 0.6931472 + 0.15625 - 0.5 ; dim 1: 0
  CHECK(kl == Approx(0.6931472 + 0.15625 - 0.5).margin(1e-5));
}

TEST_CASE("Gaussian backward matches finite differences", "[dist][gradcheck]") {
  Mat mean(2, 3), act(2, 3);
  Rng rng(21);
  for (int i = 0; i < mean.size(); ++i) {
    mean.data()[i] = static_cast<float>(rng.normal());
    act.data()[i] = static_cast<float>(rng.normal());
  }
  float log_std[2] = {-0.3f, 0.4f};
  float wl[3] = {0.7f, -1.1f, 0.4f}, we[3] = {0.2f, 0.5f, -0.3f};
  auto objective = [&] {
    float logp[3];
    gaussian::log_prob(mean, log_std, act, logp);
    const float h = gaussian::entropy(log_std, 2);
    double f = 0;
    for (int i = 0; i < 3; ++i) f += wl[i] * logp[i] + we[i] * h;
    return f;
  };
  Mat dmean(2, 3);
  float dls[2] = {0, 0};
  gaussian::backward(mean, log_std, act, wl, we, dmean, dls);
  for (int i = 0; i < mean.size(); ++i)
    check_close(dmean.data()[i], central_difference(objective, mean.data() + i, 1e-3), "mean " + std::to_string(i));
  for (int d = 0; d < 2; ++d)
    check_close(dls[d], central_difference(objective, log_std + d, 1e-3), "log_std " + std::to_string(d));
}

TEST_CASE("Samples follow the distributions", "[dist]") {
  Rng rng(77);
  Mat mean(1, 1);
  mean << 1.5f;
  float log_std = std::log(0.5f);
  Mat a(1, 1);
  double s = 0, ss = 0;
  const int N = 200000;
  for (int k = 0; k < N; ++k) {
    gaussian::sample(mean, &log_std, rng, a);
    s += a(0, 0);
    ss += a(0, 0) * a(0, 0);
  }
  const double m = s / N, sd = std::sqrt(ss / N - m * m);
  CHECK(m == Approx(1.5).margin(0.01));
  CHECK(sd == Approx(0.5).margin(0.01));

  Mat logp(3, 1);
  logp << std::log(0.2f), std::log(0.5f), std::log(0.3f);
  int counts[3] = {0, 0, 0};
  float act;
  for (int k = 0; k < N; ++k) {
    categorical::sample(logp, rng, &act);
    counts[static_cast<int>(act)]++;
  }
  CHECK(counts[0] / double(N) == Approx(0.2).margin(0.005));
  CHECK(counts[1] / double(N) == Approx(0.5).margin(0.005));
  CHECK(counts[2] / double(N) == Approx(0.3).margin(0.005));
  categorical::mode(logp, &act);
  CHECK(act == 1.0f);
}

TEST_CASE("RNG streams are reproducible and documented distributions hold", "[rng]") {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    uint32_t x = a.next_u32();
    REQUIRE(x == b.next_u32());
    differs |= x != c.next_u32();
  }
  CHECK(differs);
  // PCG32 reference: pcg32_srandom_r(42, 54) then six outputs (the PCG demo's published values).
  Rng ref(42, 54);
  const uint32_t expected[6] = {0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e};
  for (uint32_t e : expected) CHECK(ref.next_u32() == e);
  Rng u(1);
  for (int i = 0; i < 1000; ++i) {
    double x = u.uniform();
    REQUIRE(x >= 0.0);
    REQUIRE(x < 1.0);
    REQUIRE(u.below(7) < 7u);
  }
}

TEST_CASE("No two purposes share a random stream, for any env, episode or iteration index", "[rng]") {
  // The first two draws (64 bits) of every stream a run draws from, for a few run seeds: the
  // per-purpose streams, env i of a vector env (i < 64), the envs REINFORCE resets at iteration k
  // (k < 64, env i < 8), the env of evaluation episode e (e < 64). All must differ pairwise. The
  // old derivation seeded env i with tag i, so with 4 envs env 1, 2, 3 drew the action, shuffle and
  // init numbers, and REINFORCE's resets at iteration k (tag 4 + k) drew those of env 4 + k.
  using namespace pl::streams;
  std::set<uint64_t> seen;
  int count = 0;
  auto add = [&](pl::Rng r) {
    const uint64_t hi = r.next_u32();
    seen.insert((hi << 32) | r.next_u32());
    ++count;
  };
  for (uint64_t seed : {0ull, 1ull, 2ull, 12345ull}) {
    for (uint64_t purpose : {kInit, kActions, kShuffle, kEvalActions, kViewer, kData, kRollouts, kComplete, kPassAtK,
                             kInstances})
      add(stream(seed, purpose));
    for (uint64_t i = 0; i < 64; ++i) add(stream(seed, kEnvs, i));
    for (uint64_t k = 0; k < 64; ++k)
      for (uint64_t i = 0; i < 8; ++i) add(stream(seed_of(seed, kEpisodeResets, k), kEnvs, i));
    for (uint64_t e = 0; e < 64; ++e) add(stream(seed_of(seed, kEvalEpisodes, e), kEnvSeed));
    for (uint64_t kind = 0; kind < 6; ++kind) add(stream(seed, kInstances, kind));  // core/combo's generators
  }
  CHECK(count == 4 * (10 + 64 + 64 * 8 + 64 + 6));
  CHECK(static_cast<int>(seen.size()) == count);

  // An indexed stream is its purpose's seed derived again with the index, on the purpose's sequence.
  pl::Rng direct(pl::Rng::derive_seed(pl::Rng::derive_seed(7, kEnvs), 3), kEnvs * 2 + 1);
  pl::Rng via = stream(7, kEnvs, 3);
  for (int n = 0; n < 4; ++n) CHECK(via.next_u32() == direct.next_u32());
}
