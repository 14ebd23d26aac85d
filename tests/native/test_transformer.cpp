// The tiny transformer: end-to-end gradients (every parameter tensor, the value head) against
// finite differences; KV-cached sampling against a full recomputation on the tape; a sequence's
// log-probability equals the sum of its per-step sampling log-probabilities; decoding options;
// no allocation in the sampler's steady state; clear errors.
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "core/nn/sampler.hpp"
#include "core/nn/transformer.hpp"
#include "core/util/allocation_count.hpp"
#include "gradcheck.hpp"

using namespace pl;
using pl_test::central_difference;
using pl_test::check_close;

namespace {

TransformerSpec small_spec(bool value_head) {
  TransformerSpec s;
  s.vocab = 7;
  s.context = 8;
  s.d_model = 8;
  s.n_heads = 2;
  s.n_layers = 2;
  s.d_mlp = 12;
  s.value_head = value_head;
  s.init_std = 0.3f;  // larger than GPT-2's 0.02 so every path carries a visible gradient
  return s;
}

struct Model {
  Parameters params;
  Transformer model;
  explicit Model(const TransformerSpec& s, uint64_t seed = 7) {
    model = Transformer(params, s);
    params.finalize();
    Rng rng(seed);
    model.init(params, rng);
  }
};

// The tape layout of left-padded sequences: positions from each row's first real token, pads
// masked.
struct Layout {
  std::vector<int32_t> tokens, positions, mask;
};
Layout left_padded(const std::vector<std::vector<int32_t>>& rows, int T) {
  Layout l;
  for (const auto& r : rows) {
    const int pad = T - static_cast<int>(r.size());
    for (int c = 0; c < T; ++c) {
      l.tokens.push_back(c < pad ? 0 : r[c - pad]);
      l.positions.push_back(std::max(0, c - pad));
      l.mask.push_back(c < pad ? 0 : 1);
    }
  }
  return l;
}

}  // namespace

TEST_CASE("Transformer gradients match finite differences end to end", "[transformer][gradcheck]") {
  Model m(small_spec(true));
  Graph g;
  const int B = g.size_var("batch", 3), T = g.size_var("time", 6);
  Expr tok = g.int_input("tokens", {g.dim(B), g.dim(T)});
  Expr pos = g.int_input("positions", {g.dim(B), g.dim(T)});
  Expr mask = g.int_input("mask", {g.dim(B), g.dim(T)});
  Expr target = g.int_input("targets", {g.dim(B), g.dim(T)});
  Expr weight = g.input("weights", {g.dim(B), g.dim(T)});
  Transformer::Outputs out = m.model.build(g, m.params, tok, pos, mask);
  Expr nll = -sum(gather_last(log_softmax(out.logits), target) * weight);
  Expr loss = nll + 0.5f * sum(square(out.values) * weight);
  // Two rows, the second left padded by 2; 5 columns active out of a capacity of 6.
  Layout l = left_padded({{1, 2, 3, 4, 5}, {6, 2, 3}}, 5);
  std::vector<int32_t> targets = {2, 3, 4, 5, 1, 0, 0, 2, 3, 1};
  std::vector<float> w = {1, 1, 1, 0.5f, 1, 0, 0, 1, 1, 1};
  g.bind_int(tok, l.tokens.data());
  g.bind_int(pos, l.positions.data());
  g.bind_int(mask, l.mask.data());
  g.bind_int(target, targets.data());
  g.bind(weight, w.data());
  g.set_size(B, 2);
  g.set_size(T, 5);
  auto f = [&] {
    g.forward();
    return static_cast<double>(g.scalar(loss));
  };
  f();
  m.params.zero_grad();
  g.backward(loss);
  const std::vector<float> analytic(m.params.grads().data(), m.params.grads().data() + m.params.total_size());
  int checked = 0;
  for (const TensorInfo& t : m.params.tensors()) {
    // A few entries of every tensor (first, middle, last).
    for (int k : {0, t.size() / 2, t.size() - 1}) {
      const int i = t.offset + k;
      check_close(analytic[i], central_difference(f, &m.params.values()[i], 1e-2), t.name + "[" + std::to_string(k) + "]",
                  3e-2, 3e-3);
      ++checked;
    }
  }
  CHECK(checked == 3 * m.params.count());
  // The value head and the attention weights both received gradient.
  CHECK(m.params.grad_norm(m.model.value_w()) > 0);
  CHECK(m.params.grad_norm(m.model.blocks()[0].qkv_w) > 0);
}

TEST_CASE("KV-cached sampling equals a full recomputation, and log-probs add up", "[transformer][sampling]") {
  Model m(small_spec(false), 11);
  Sampler sampler(m.model, 8);
  // Two prompts of lengths 3 and 1 (left padded), two samples each.
  std::vector<int32_t> prompts = {3, 4, 5, 6, 0, 0};
  std::vector<int> lengths = {3, 1};
  SamplingOptions o;
  o.max_new_tokens = 4;
  o.eos = 1;
  o.temperature = 1.0f;
  Rng rng(5);
  Completions c;
  sampler.generate(m.params, prompts.data(), lengths.data(), 2, 3, 2, o, rng, c, /*keep_distributions=*/true);
  REQUIRE(c.rows == 4);

  // Rebuild each row as prompt + generated tokens, left padded to a common width, on the tape.
  std::vector<std::vector<int32_t>> rows;
  int width = 0;
  for (int r = 0; r < 4; ++r) {
    std::vector<int32_t> seq(prompts.begin() + (r / 2) * 3, prompts.begin() + (r / 2) * 3 + lengths[r / 2]);
    for (int t = 0; t < c.lengths[r]; ++t) seq.push_back(c.row_tokens(r)[t]);
    width = std::max(width, static_cast<int>(seq.size()));
    rows.push_back(seq);
  }
  // The sampler pads prompts to the longest prompt (3); rows are compared column by column from there.
  Graph g;
  const int B = g.size_var("batch", 4), T = g.size_var("time", 8);
  Expr tok = g.int_input("tokens", {g.dim(B), g.dim(T)});
  Expr pos = g.int_input("positions", {g.dim(B), g.dim(T)});
  Expr mask = g.int_input("mask", {g.dim(B), g.dim(T)});
  Expr logp = log_softmax(m.model.build(g, m.params, tok, pos, mask).logits);
  const int total = 3 + o.max_new_tokens;
  Layout l;
  for (int r = 0; r < 4; ++r) {
    const int pad = 3 - lengths[r / 2];
    for (int col = 0; col < total; ++col) {
      const int k = col - pad;
      l.tokens.push_back(k >= 0 && k < static_cast<int>(rows[r].size()) ? rows[r][k] : 0);
      l.positions.push_back(std::max(0, k));
      l.mask.push_back(k >= 0 ? 1 : 0);
    }
  }
  g.bind_int(tok, l.tokens.data());
  g.bind_int(pos, l.positions.data());
  g.bind_int(mask, l.mask.data());
  g.set_size(B, 4);
  g.set_size(T, total);
  g.forward();
  const float* lp = g.values(logp);
  const int V = m.model.spec().vocab;
  for (int r = 0; r < 4; ++r) {
    double sequence_logp = 0, sampled_sum = 0;
    for (int t = 0; t < c.lengths[r]; ++t) {
      const int col = 3 - 1 + t;  // the column whose output predicts generated token t
      for (int v = 0; v < V; ++v) {
        INFO("row " << r << " step " << t << " token " << v);
        CHECK(c.distributions[(static_cast<size_t>(r) * c.max_new + t) * V + v] ==
              Approx(lp[(static_cast<size_t>(r) * total + col) * V + v]).margin(2e-5));
      }
      sequence_logp += lp[(static_cast<size_t>(r) * total + col) * V + c.row_tokens(r)[t]];
      sampled_sum += c.logp[static_cast<size_t>(r) * c.max_new + t];
    }
    CHECK(sampled_sum == Approx(sequence_logp).margin(1e-4));
  }
}

TEST_CASE("Decoding options: greedy, top-k 1, tiny top-p agree, EOS ends a row, errors", "[transformer][sampling]") {
  Model m(small_spec(false), 3);
  Sampler sampler(m.model, 4);
  std::vector<int32_t> prompts = {2, 3, 4, 5};
  std::vector<int> lengths = {4};
  SamplingOptions greedy;
  greedy.greedy = true;
  greedy.max_new_tokens = 4;
  greedy.eos = -1;  // never ends: compare full rows
  Rng rng(1);
  Completions a, b, c;
  sampler.generate(m.params, prompts.data(), lengths.data(), 1, 4, 2, greedy, rng, a);
  SamplingOptions topk = greedy;
  topk.greedy = false;
  topk.top_k = 1;
  sampler.generate(m.params, prompts.data(), lengths.data(), 1, 4, 2, topk, rng, b);
  SamplingOptions topp = topk;
  topp.top_k = 0;
  topp.top_p = 1e-6f;
  sampler.generate(m.params, prompts.data(), lengths.data(), 1, 4, 2, topp, rng, c);
  CHECK(a.tokens == b.tokens);
  CHECK(a.tokens == c.tokens);
  CHECK(std::vector<int32_t>(a.row_tokens(0), a.row_tokens(0) + 4) == std::vector<int32_t>(a.row_tokens(1), a.row_tokens(1) + 4));

  // With EOS = the greedy row's second token, the row stops there and the rest is padding.
  SamplingOptions stop = greedy;
  stop.eos = a.row_tokens(0)[1];
  sampler.generate(m.params, prompts.data(), lengths.data(), 1, 4, 1, stop, rng, b);
  const int first_eos = a.row_tokens(0)[0] == stop.eos ? 0 : 1;
  CHECK(b.lengths[0] == first_eos + 1);
  CHECK(b.finished[0] == 1);
  for (int t = first_eos + 1; t < 4; ++t) CHECK(b.row_tokens(0)[t] == 0);

  SamplingOptions too_long = greedy;
  too_long.max_new_tokens = 5;  // 4 + 5 > context 8
  CHECK_THROWS_WITH(sampler.generate(m.params, prompts.data(), lengths.data(), 1, 4, 1, too_long, rng, b),
                    Catch::Contains("exceed the context of 8"));
  CHECK_THROWS_WITH(sampler.generate(m.params, prompts.data(), lengths.data(), 1, 4, 5, greedy, rng, b),
                    Catch::Contains("batch capacity"));
  std::vector<int32_t> bad = {2, 3, 9, 5};
  CHECK_THROWS_WITH(sampler.generate(m.params, bad.data(), lengths.data(), 1, 4, 1, greedy, rng, b),
                    Catch::Contains("token id 9 outside the vocabulary"));
}

TEST_CASE("Sampling allocates nothing in the steady state and is reproducible", "[transformer][sampling][alloc]") {
  Model m(small_spec(false), 5);
  Sampler sampler(m.model, 6);
  std::vector<int32_t> prompts = {2, 3, 4, 5, 6, 2};
  std::vector<int> lengths = {3, 2};
  SamplingOptions o;
  o.max_new_tokens = 5;
  o.temperature = 0.8f;
  o.top_k = 4;
  o.top_p = 0.9f;
  Completions c;
  Rng r1(42), r2(42);
  sampler.generate(m.params, prompts.data(), lengths.data(), 2, 3, 3, o, r1, c);
  const std::vector<int32_t> first_tokens = c.tokens;
  const std::vector<float> first_logp = c.logp;
  allocation_counter::count = 0;
  allocation_counter::counting = true;
  sampler.generate(m.params, prompts.data(), lengths.data(), 2, 3, 3, o, r2, c);
  allocation_counter::counting = false;
  CHECK(allocation_counter::count == 0);
  CHECK(c.tokens == first_tokens);
  CHECK(c.logp == first_logp);
}

TEST_CASE("A frozen reference copy: same layout, no gradient, unchanged by the policy's updates", "[transformer]") {
  Model m(small_spec(false), 13);
  Parameters reference = m.params;  // the reference model: a second buffer of the same layout
  Graph g;
  const int B = g.size_var("batch", 2), T = g.size_var("time", 5);
  Expr tok = g.int_input("tokens", {g.dim(B), g.dim(T)});
  Expr pos = g.int_input("positions", {g.dim(B), g.dim(T)});
  Expr mask = g.int_input("mask", {g.dim(B), g.dim(T)});
  Expr policy = log_softmax(m.model.build(g, m.params, tok, pos, mask).logits);
  Expr ref = log_softmax(m.model.build(g, reference, tok, pos, mask, /*frozen=*/true).logits);
  // A KL-like loss between policy and reference: gradients reach the policy only.
  Expr loss = sum(exp(policy) * (policy - ref));
  Layout l = left_padded({{2, 3, 4, 5, 6}, {3, 4}}, 5);
  g.bind_int(tok, l.tokens.data());
  g.bind_int(pos, l.positions.data());
  g.bind_int(mask, l.mask.data());
  g.forward();
  CHECK(g.scalar(loss) == Approx(0.0).margin(1e-6));  // identical weights: KL 0
  m.params.zero_grad();
  reference.zero_grad();
  // Move the policy, then the KL becomes positive and the reference has received no gradient.
  for (int i = 0; i < m.params.total_size(); ++i) m.params.values()[i] += 0.05f * std::sin(0.7f * i);
  g.forward();
  g.backward(loss);
  CHECK(g.scalar(loss) > 1e-4);
  CHECK(m.params.grads().norm() > 0);
  CHECK(reference.grads().norm() == 0);
  for (int i = 1; i < 8; ++i) CHECK(reference.values()[i] != m.params.values()[i]);
}

TEST_CASE("Forced first tokens: taken as given with the policy's log-prob, decoding goes on from them", "[transformer][sampling][adaptthink]") {
  Model m(small_spec(false), 5);
  Sampler sampler(m.model, 4);
  const int V = m.model.spec().vocab;
  const std::vector<int32_t> prompt = {2, 3, 4};
  const std::vector<int> length = {3};
  SamplingOptions o;
  o.greedy = true;
  o.max_new_tokens = 4;
  o.eos = -1;  // never ends: compare full rows
  const std::vector<int32_t> first = {5, 6, -1, 5};  // row 2 chooses its own
  o.first_tokens = first.data();
  Rng rng(1);
  Completions forced, free, cont;
  sampler.generate(m.params, prompt.data(), length.data(), 1, 3, 4, o, rng, forced, /*keep_distributions=*/true);
  SamplingOptions plain = o;
  plain.first_tokens = nullptr;
  sampler.generate(m.params, prompt.data(), length.data(), 1, 3, 1, plain, rng, free);
  CHECK(forced.row_tokens(0)[0] == 5);
  CHECK(forced.row_tokens(1)[0] == 6);
  CHECK(forced.row_tokens(3)[0] == 5);
  CHECK(std::vector<int32_t>(forced.row_tokens(2), forced.row_tokens(2) + 4) ==
        std::vector<int32_t>(free.row_tokens(0), free.row_tokens(0) + 4));
  for (int r : {0, 1, 3}) {
    // The reported log-prob is the policy's probability of the forced token.
    CHECK(forced.logp[static_cast<size_t>(r) * 4] == forced.distributions[static_cast<size_t>(r) * 4 * V + first[r]]);
    // The rest is the policy's continuation of prompt + forced token (greedy: the same tokens and
    // the same next-token distributions as decoding from the longer prompt).
    const std::vector<int32_t> longer = {2, 3, 4, first[static_cast<size_t>(r)]};
    const std::vector<int> longer_length = {4};
    SamplingOptions three = plain;
    three.max_new_tokens = 3;
    sampler.generate(m.params, longer.data(), longer_length.data(), 1, 4, 1, three, rng, cont, true);
    for (int t = 0; t < 3; ++t) {
      CHECK(forced.row_tokens(r)[t + 1] == cont.row_tokens(0)[t]);
      for (int v = 0; v < V; ++v)
        CHECK(forced.distributions[(static_cast<size_t>(r) * 4 + t + 1) * V + v] ==
              Approx(cont.distributions[static_cast<size_t>(t) * V + v]).margin(1e-5));
    }
  }
  const std::vector<int32_t> bad = {7, -1, -1, -1};
  o.first_tokens = bad.data();
  CHECK_THROWS_WITH(sampler.generate(m.params, prompt.data(), length.data(), 1, 3, 4, o, rng, forced),
                    Catch::Contains("forced first token 7 outside the vocabulary of 7"));
}
