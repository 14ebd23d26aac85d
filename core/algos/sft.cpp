// Supervised fine-tuning (a warm start for RL): teacher forcing on the task's reference
// completions, cross-entropy over the completion tokens only, averaged over the batch's completion
// tokens — TRL's SFTTrainer with completion_only_loss. One iteration is one Adam step on
// batch_size freshly drawn training problems; every eval_interval steps (and at the last one) the
// model decodes the fixed held-out set greedily and the verifier scores the answers.
//
// Layout of a batch: sequence = prompt + reference (EOS included), right padded; the model reads
// tokens [0, L - 1) and predicts tokens [1, L); the weight of position t is 1 / (completion tokens in
// the batch) when token t + 1 belongs to the completion, else 0.
#include <chrono>
#include <cmath>

#include "core/algos/registry.hpp"
#include "core/algos/sequence.hpp"

namespace pl {

Schema sft_schema() {
  return make_sequence_schema(
      "sft", "Supervised fine-tuning: teacher forcing on reference completions, loss on completion tokens (TRL SFTTrainer)",
      {
          // TRL's TrainingArguments defaults, with a larger step size for a model of 10^5 parameters.
          {"learning_rate", FieldType::Float, 1e-3, 0, 1, {}, "Adam step size (start value when anneal_lr is on)", true, "optim"},
          {"adam_eps", FieldType::Float, 1e-8, 1e-12, 1, {}, "epsilon added to Adam's denominator (PyTorch's default)", false, "optim"},
          {"max_grad_norm", FieldType::Float, 1.0, 0, 1e6, {}, "global gradient-norm clip; 0 disables", true, "optim"},
      });
}

namespace {

double now_s() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

class Sft final : public SequenceAlgorithm {
 public:
  explicit Sft(const Config& c) : SequenceAlgorithm(c) {
    const int B = batch_size_, T = model_.spec().context - 1;
    if (T < 1) throw ConfigError("the task's sequences are too short to train on");
    Graph& g = graph_;
    batch_tokens_.declare(g, B, T);
    Expr weights = g.input("weights", batch_tokens_.dims(g));
    logp_ = log_softmax(batch_tokens_.build(g, model_, params_).logits);
    loss_ = -sum(g.display(gather_last(logp_, batch_tokens_.targets), "log pi(y_t|x,y_<t)", "\\log \\pi_\\theta(y_t \\mid x, y_{<t})") *
                 g.display(weights, "w_t", "w_t"));
    entropy_ = sum(softmax_entropy(logp_) * weights);
    weights_.assign(static_cast<size_t>(B) * T, 0.0f);
    g.bind(weights, weights_.data());
    batch_.reserve(static_cast<size_t>(B));
    for (int b = 0; b < B; ++b) batch_.push_back(task_->make_problem());
  }

  std::vector<std::string> extra_metrics() const override {
    return {"train_loss", "token_accuracy", "heldout_accuracy", "heldout_partial", "heldout_well_formed", "tokens_per_s", "heldout_pass_at_k"};
  }

  void iterate(Metrics& m) override {
    const double t0 = now_s();
    const double lr = step_learning_rate();
    const int B = batch_size_;
    int longest = 2;
    for (Problem& p : batch_) {
      task_->sample(Split::Train, data_rng_, p);
      longest = std::max(longest, static_cast<int>(p.prompt.size() + p.reference.size()));
    }
    const int T = longest - 1;
    int completion_tokens = 0, real_tokens = 0;
    for (const Problem& p : batch_) completion_tokens += static_cast<int>(p.reference.size());
    const float w = 1.0f / static_cast<float>(std::max(1, completion_tokens));
    for (int b = 0; b < B; ++b) {
      const Problem& p = batch_[static_cast<size_t>(b)];
      const int P = static_cast<int>(p.prompt.size()), L = P + static_cast<int>(p.reference.size());
      auto token = [&](int i) { return i < P ? p.prompt[static_cast<size_t>(i)] : p.reference[static_cast<size_t>(i - P)]; };
      for (int t = 0; t < T; ++t) {
        const bool real = t < L - 1;
        batch_tokens_.set(b, t, T, real ? token(t) : Vocabulary::kPad, t, real,
                          real ? token(t + 1) : Vocabulary::kPad);
        weights_[static_cast<size_t>(b) * T + t] = real && t + 1 >= P ? w : 0.0f;
        real_tokens += real;
      }
    }
    batch_tokens_.set_sizes(graph_, B, T);
    graph_.forward();
    params_.zero_grad();
    graph_.backward(loss_);
    optimizer_step(m, lr);
    ++iteration_;
    global_step_ += real_tokens;

    // Token accuracy: argmax prediction = reference token, over completion positions.
    const int V = model_.spec().vocab;
    const float* lp = graph_.values(logp_);
    int right = 0;
    for (size_t i = 0; i < static_cast<size_t>(B) * T; ++i) {
      if (weights_[i] == 0.0f) continue;
      const float* row = lp + i * V;
      int best = 0;
      for (int v = 1; v < V; ++v)
        if (row[v] > row[best]) best = v;
      right += best == batch_tokens_.target_ids[i];
    }
    const double train_s = now_s() - t0;
    m.iteration = iteration_;
    m.global_step = global_step_;
    m.policy_loss = graph_.scalar(loss_);
    m.entropy = graph_.scalar(entropy_);
    m.extra_value(kTrainLoss) = m.policy_loss;
    m.extra_value(kTokenAccuracy) = static_cast<double>(right) / std::max(1, completion_tokens);
    m.extra_value(kTokensPerS) = train_s > 0 ? real_tokens / train_s : Metrics::kNaN;
    if (iteration_ % eval_interval_ == 0 || iteration_ == max_steps_ || iteration_ == 1) evaluate_heldout();
    m.extra_value(kHeldoutAccuracy) = last_heldout_accuracy_;
    m.extra_value(kHeldoutPartial) = last_heldout_partial_;
    m.extra_value(kHeldoutWellFormed) = last_heldout_well_formed_;
    m.extra_value(kHeldoutPassAtK) = last_heldout_pass_at_k_;
  }

  void write_state(ByteWriter& w) const override { write_common_state(w); }
  void read_state(ByteReader& r) override { read_common_state(r); }
  Formula objective() const override { return graph_.formula(loss_); }

 private:
  enum Extra { kTrainLoss, kTokenAccuracy, kHeldoutAccuracy, kHeldoutPartial, kHeldoutWellFormed, kTokensPerS, kHeldoutPassAtK };
  Graph graph_;
  TokenBatch batch_tokens_;
  Expr logp_, loss_, entropy_;
  std::vector<float> weights_;
  std::vector<Problem> batch_;
};

}  // namespace

std::unique_ptr<Algorithm> make_sft(const Config& c) { return std::make_unique<Sft>(c); }

}  // namespace pl
