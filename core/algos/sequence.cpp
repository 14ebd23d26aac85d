#include "core/algos/sequence.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/tasks/registry.hpp"

namespace pl {

namespace {
// Every run evaluates on the same held-out problems whatever its seed, so runs compare fairly.
constexpr int kMaxEvalChunk = 512;

json task_options(const Config& c) {
  json options = json::object();
  for (const FieldSpec& f : task_spec(c.get_string("task")).fields) options[f.name] = c.values().at(f.name);
  return options;
}

std::unique_ptr<SequenceTask> build_task(const Config& c) {
  try {
    return make_task(c.get_string("task"), task_options(c));
  } catch (const TaskError& e) {
    throw ConfigError(e.what());
  }
}

// Left-aligned prompts of `problems[first, first + n)` into a [n, stride] buffer.
void fill_prompts(const std::vector<Problem>& problems, int first, int n, int stride, int32_t* prompts, int* lengths) {
  for (int i = 0; i < n; ++i) {
    const Problem& p = problems[static_cast<size_t>(first + i)];
    lengths[i] = static_cast<int>(p.prompt.size());
    std::copy(p.prompt.begin(), p.prompt.end(), prompts + static_cast<size_t>(i) * stride);
  }
}
}  // namespace

void TokenBatch::declare(Graph& g, int rows, int time) {
  var_rows = g.size_var("rows", rows);
  var_time = g.size_var("time", time);
  const Dims d{g.dim(var_rows), g.dim(var_time)};
  tokens = g.int_input("tokens", d);
  positions = g.int_input("positions", d);
  mask = g.int_input("mask", d);
  targets = g.int_input("targets", d);
  const size_t n = static_cast<size_t>(rows) * time;
  for (auto* v : {&token_ids, &position_ids, &key_mask, &target_ids}) v->assign(n, 0);
  g.bind_int(tokens, token_ids.data());
  g.bind_int(positions, position_ids.data());
  g.bind_int(mask, key_mask.data());
  g.bind_int(targets, target_ids.data());
}

TransformerSpec transformer_spec(const Config& c, const SequenceTask& task) {
  TransformerSpec s;
  s.vocab = task.vocab().size();
  const int need = task.max_prompt_length() + task.max_completion_length();
  const int64_t context = c.get_int("context_length");
  if (context > 0 && context < need)
    throw ConfigError("field 'context_length' must be 0 or at least " + std::to_string(need) + " for task '" +
                      task.id() + "' (longest prompt " + std::to_string(task.max_prompt_length()) + " + completion " +
                      std::to_string(task.max_completion_length()) + " tokens), got " + std::to_string(context));
  s.context = context > 0 ? static_cast<int>(context) : need;
  s.d_model = static_cast<int>(c.get_int("d_model"));
  s.n_heads = static_cast<int>(c.get_int("n_heads"));
  s.n_layers = static_cast<int>(c.get_int("n_layers"));
  s.d_mlp = static_cast<int>(c.get_int("d_mlp"));
  if (s.d_model % s.n_heads != 0)
    throw ConfigError("field 'n_heads' must divide d_model = " + std::to_string(s.d_model) + ", got " +
                      std::to_string(s.n_heads));
  return s;
}

SequenceAlgorithm::SequenceAlgorithm(const Config& c, int rollout_rows)
    : config_(c),
      task_(build_task(c)),
      model_(params_, transformer_spec(c, *task_)),
      sampler_(model_, static_cast<int>(std::max<int64_t>({c.get_int("batch_size"), rollout_rows, c.get_int("eval_pass_k"),
                                                           std::min<int64_t>(c.get_int("heldout_size"), kMaxEvalChunk)}))) {
  params_.finalize();
  const uint64_t seed = static_cast<uint64_t>(c.get_int("seed"));
  Rng init_rng = streams::stream(seed, streams::kInit);
  model_.init(params_, init_rng);
  data_rng_ = streams::stream(seed, streams::kData);
  optimizer_ = Optimizer(Optimizer::parse(c.get_string("optimizer")), params_.total_size(), c.get_float("adam_eps"));
  max_steps_ = c.get_int("max_steps");
  batch_size_ = static_cast<int>(c.get_int("batch_size"));
  eval_interval_ = static_cast<int>(c.get_int("eval_interval"));
  eval_pass_k_ = static_cast<int>(c.get_int("eval_pass_k"));
  eval_seed_ = seed;
  heldout_ = task_->heldout_set(static_cast<int>(c.get_int("heldout_size")), SequenceLearner::kHeldoutSeed);
  const int chunk = sampler_.batch_capacity();
  eval_prompts_.assign(static_cast<size_t>(chunk) * task_->max_prompt_length(), 0);
  eval_lengths_.assign(static_cast<size_t>(chunk), 0);
  eval_out_.reserve(chunk, task_->max_completion_length(), model_.spec().vocab, false);
  recent_tokens_.assign(static_cast<size_t>(kRecentRows) * task_->max_completion_length(), 0);
  recent_logp_.assign(recent_tokens_.size(), 0.0f);
  recent_lengths_.assign(kRecentRows, 0);
  SequenceAlgorithm::apply_config(c);
}

void SequenceAlgorithm::apply_config(const Config& c) {
  config_ = c;
  learning_rate_ = c.get_float("learning_rate");
  anneal_lr_ = c.get_bool("anneal_lr");
  max_grad_norm_ = c.get_float("max_grad_norm");
}

double SequenceAlgorithm::step_learning_rate() const {
  if (!anneal_lr_) return learning_rate_;
  return annealed_lr(learning_rate_, std::min(iteration_ + 1, max_steps_), max_steps_);
}

void SequenceAlgorithm::optimizer_step(Metrics& m, double lr) {
  Parameters& p = params_;
  for (int i = 0; i < p.count(); ++i) m.layer_grad_norms[static_cast<size_t>(i)] = p.grad_norm(i);
  const double norm = clip_grad_norm(p.grads(), max_grad_norm_);
  m.grad_norm = norm;
  m.grad_norm_clipped = (max_grad_norm_ > 0 && norm > max_grad_norm_) ? max_grad_norm_ : norm;
  m.learning_rate = lr;
  // A non-finite gradient would write NaN into every parameter: skip the step; the NaN grad_norm
  // in the metrics stops the run with a message.
  if (std::isfinite(norm)) optimizer_.step(p.values(), p.grads(), lr);
}

void ModeTally::add(const int32_t* completion, int length, bool correct) {
  if (!modes_.on()) return;
  ++answers_;
  if (length < 1) return;
  if (completion[0] == modes_.nothink) {
    ++nothink_;
    nothink_right_ += correct;
  } else if (completion[0] == modes_.think) {
    ++think_;
    think_right_ += correct;
  }
}

bool ModeTally::finish(HeldoutResult& r) const {
  if (!modes_.on()) return false;
  r.nothink_share = answers_ > 0 ? static_cast<double>(nothink_) / answers_ : Metrics::kNaN;
  r.accuracy_nothink = nothink_ > 0 ? static_cast<double>(nothink_right_) / nothink_ : Metrics::kNaN;
  r.accuracy_think = think_ > 0 ? static_cast<double>(think_right_) / think_ : Metrics::kNaN;
  return true;
}

HeldoutResult SequenceAlgorithm::evaluate_heldout() {
  SamplingOptions greedy;
  greedy.greedy = true;
  greedy.max_new_tokens = task_->max_completion_length();
  greedy.eos = Vocabulary::kEos;
  greedy.pad = Vocabulary::kPad;
  HeldoutResult r;
  r.problems = static_cast<int>(heldout_.size());
  const int chunk = sampler_.batch_capacity();
  const int stride = task_->max_prompt_length();
  Rng unused(0);
  ModeTally modes(task_->answer_modes());
  recent_count_ = std::min(kRecentRows, r.problems);
  for (int first = 0; first < r.problems; first += chunk) {
    const int n = std::min(chunk, r.problems - first);
    fill_prompts(heldout_, first, n, stride, eval_prompts_.data(), eval_lengths_.data());
    sampler_.generate(params_, eval_prompts_.data(), eval_lengths_.data(), n, stride, 1, greedy, unused, eval_out_);
    for (int i = 0; i < n; ++i) {
      const Score s = task_->score(heldout_[static_cast<size_t>(first + i)], eval_out_.row_tokens(i), eval_out_.lengths[i]);
      r.accuracy += s.correct;
      r.partial_mean += s.partial;
      r.well_formed += s.well_formed;
      r.length_mean += s.length;
      modes.add(eval_out_.row_tokens(i), eval_out_.lengths[i], s.correct);
      const int row = first + i;
      if (row < recent_count_) {
        const size_t w = static_cast<size_t>(eval_out_.max_new);
        std::copy(eval_out_.row_tokens(i), eval_out_.row_tokens(i) + w, recent_tokens_.begin() + row * w);
        std::copy(eval_out_.logp.begin() + i * w, eval_out_.logp.begin() + (i + 1) * w, recent_logp_.begin() + row * w);
        recent_lengths_[static_cast<size_t>(row)] = eval_out_.lengths[i];
      }
    }
  }
  const double n = std::max(1, r.problems);
  r.accuracy /= n;
  r.partial_mean /= n;
  r.well_formed /= n;
  r.length_mean /= n;
  last_heldout_accuracy_ = r.accuracy;
  last_heldout_partial_ = r.partial_mean;
  last_heldout_well_formed_ = r.well_formed;
  if (modes.finish(r)) last_heldout_nothink_share_ = r.nothink_share;
  if (eval_pass_k_ > 0) {
    r.k = eval_pass_k_;
    r.pass_at_k = heldout_pass_at_k(eval_pass_k_);
    last_heldout_pass_at_k_ = r.pass_at_k;
  }
  return r;
}

// k samples per held-out problem at temperature 1; with n = k samples Chen et al.'s (2021) unbiased
// estimator 1 - C(n - c, k) / C(n, k) is 1 when any sample is right. The samples come from a stream
// of their own, derived from the seed and the step, so evaluating never changes the training run.
double SequenceAlgorithm::heldout_pass_at_k(int k) {
  SamplingOptions o;
  o.temperature = 1.0f;
  o.max_new_tokens = task_->max_completion_length();
  o.eos = Vocabulary::kEos;
  o.pad = Vocabulary::kPad;
  Rng rng = Rng::derive(eval_seed_ + static_cast<uint64_t>(iteration_), streams::kPassAtK);
  const int problems = static_cast<int>(heldout_.size());
  const int chunk = std::max(1, sampler_.batch_capacity() / k);  // the sampler holds chunk * k rows
  const int stride = task_->max_prompt_length();
  int solved = 0;
  for (int first = 0; first < problems; first += chunk) {
    const int n = std::min(chunk, problems - first);
    fill_prompts(heldout_, first, n, stride, eval_prompts_.data(), eval_lengths_.data());
    sampler_.generate(params_, eval_prompts_.data(), eval_lengths_.data(), n, stride, k, o, rng, eval_out_);
    for (int i = 0; i < n; ++i) {
      const Problem& p = heldout_[static_cast<size_t>(first + i)];
      bool any = false;
      for (int j = 0; j < k && !any; ++j) any = task_->score(p, eval_out_.row_tokens(i * k + j), eval_out_.lengths[i * k + j]).correct;
      solved += any;
    }
  }
  return static_cast<double>(solved) / std::max(1, problems);
}

json SequenceAlgorithm::recent_samples() const {
  json rows = json::array();
  const Vocabulary& v = task_->vocab();
  const int w = task_->max_completion_length();
  for (int i = 0; i < recent_count_; ++i) {
    const Problem& p = heldout_[static_cast<size_t>(i)];
    const int32_t* tokens = recent_tokens_.data() + static_cast<size_t>(i) * w;
    const int len = recent_lengths_[static_cast<size_t>(i)];
    std::vector<int> completion(tokens, tokens + len);
    const Score s = task_->score(p, completion.data(), len);
    json probs = json::array();
    for (int t = 0; t < len; ++t) probs.push_back(float_json(std::exp(recent_logp_[static_cast<size_t>(i) * w + t])));
    rows.push_back({{"prompt", v.decode(p.prompt)},
                    {"completion", v.decode(completion)},
                    {"reference", v.decode(p.reference)},
                    {"correct", s.correct},
                    {"partial", float_json(s.partial)},
                    {"token_probs", probs}});
  }
  return rows;
}

void SequenceAlgorithm::write_common_state(ByteWriter& w) const {
  write_training_state(w, iteration_, global_step_, params_, optimizer_);
  put_rng(w, data_rng_);
  w.put<double>(last_heldout_accuracy_);
  w.put<double>(last_heldout_partial_);
  w.put<double>(last_heldout_well_formed_);
  w.put<double>(last_heldout_pass_at_k_);
}

void SequenceAlgorithm::read_common_state(ByteReader& r) {
  read_training_state(r, iteration_, global_step_, params_, optimizer_);
  get_rng(r, data_rng_, "data rng");
  last_heldout_accuracy_ = r.get<double>("held-out accuracy");
  last_heldout_partial_ = r.get<double>("held-out partial credit");
  last_heldout_well_formed_ = r.get<double>("held-out well-formed share");
  last_heldout_pass_at_k_ = r.get<double>("held-out pass@k");
  if (!params_.values().allFinite()) throw FormatError("parameters contain non-finite values");
}

// ---------------------------------------------------------------------------------------------
// SequenceLearner

json SequenceLearner::complete(const std::string& prompt, int n, const SamplingOptions& options, uint64_t seed,
                               int top) const {
  const SequenceTask& t = task();
  if (n < 1 || n > 1024) throw ConfigError("the number of completions must be in [1, 1024], got " + std::to_string(n));
  Problem p = t.make_problem();
  t.parse_prompt(prompt, p);
  SamplingOptions o = options;
  o.eos = Vocabulary::kEos;
  o.pad = Vocabulary::kPad;
  o.max_new_tokens = std::min(t.max_completion_length(), model().spec().context - static_cast<int>(p.prompt.size()));
  if (o.max_new_tokens < 1)
    throw TaskError("prompt " + quote_text(prompt) + " has " + std::to_string(p.prompt.size()) +
                    " tokens: no room left in the model's context of " + std::to_string(model().spec().context));
  Sampler sampler(model(), n);
  std::vector<int32_t> tokens(p.prompt.begin(), p.prompt.end());
  const int length = static_cast<int>(tokens.size());
  Completions out;
  Rng rng = streams::stream(seed, streams::kComplete);
  sampler.generate(model_params(), tokens.data(), &length, 1, length, n, o, rng, out, /*keep_distributions=*/true);
  const Vocabulary& v = t.vocab();
  json completions = json::array();
  for (int r = 0; r < n; ++r) {
    std::vector<int> completion(out.row_tokens(r), out.row_tokens(r) + out.lengths[r]);
    const Score s = t.score(p, completion.data(), out.lengths[r]);
    json steps = json::array();
    for (int k = 0; k < out.lengths[r]; ++k) {
      const float* dist = out.distributions.data() + (static_cast<size_t>(r) * out.max_new + k) * out.vocab;
      std::vector<int> order(static_cast<size_t>(out.vocab));
      for (int j = 0; j < out.vocab; ++j) order[static_cast<size_t>(j)] = j;
      std::partial_sort(order.begin(), order.begin() + std::min(top, out.vocab), order.end(),
                        [&](int a, int b) { return dist[a] > dist[b] || (dist[a] == dist[b] && a < b); });
      json alternatives = json::array();
      for (int j = 0; j < std::min(top, out.vocab); ++j)
        alternatives.push_back({{"token", std::string(1, v.token_char(order[static_cast<size_t>(j)]))},
                                {"p", float_json(std::exp(dist[order[static_cast<size_t>(j)]]))}});
      steps.push_back({{"token", std::string(1, v.token_char(completion[static_cast<size_t>(k)]))},
                       {"p", float_json(std::exp(out.logp[static_cast<size_t>(r) * out.max_new + k]))},
                       {"top", alternatives}});
    }
    completions.push_back({{"completion", v.decode(completion)},
                           {"correct", s.correct},
                           {"well_formed", s.well_formed},
                           {"partial", float_json(s.partial)},
                           {"reward", s.correct ? 1 : 0},
                           {"length", s.length},
                           {"finished", out.finished[static_cast<size_t>(r)] != 0},
                           {"steps", steps}});
  }
  return {{"prompt", v.decode(p.prompt)}, {"reference", v.decode(p.reference)}, {"completions", completions}};
}

HeldoutResult SequenceLearner::evaluate(int count, int k, uint64_t seed) const {
  if (count < 1) throw ConfigError("the number of held-out problems must be >= 1, got " + std::to_string(count));
  if (k < 0 || k > 1024) throw ConfigError("k must be in [0, 1024], got " + std::to_string(k));
  const SequenceTask& t = task();
  const std::vector<Problem> problems = t.heldout_set(count, seed);
  const int chunk = std::min(count, kMaxEvalChunk);
  const int stride = t.max_prompt_length();
  Sampler sampler(model(), std::max(chunk, k));
  std::vector<int32_t> prompts(static_cast<size_t>(chunk) * stride);
  std::vector<int> lengths(static_cast<size_t>(chunk));
  Completions out;
  SamplingOptions o;
  o.max_new_tokens = t.max_completion_length();
  o.eos = Vocabulary::kEos;
  o.pad = Vocabulary::kPad;
  o.greedy = true;
  Rng rng = streams::stream(seed, streams::kPassAtK);
  HeldoutResult r;
  r.problems = count;
  {
    std::set<std::vector<int>> prompts_seen;
    for (const Problem& p : problems) prompts_seen.insert(p.prompt);
    r.distinct_problems = static_cast<int>(prompts_seen.size());
  }
  r.k = k;
  ModeTally modes(t.answer_modes());
  for (int first = 0; first < count; first += chunk) {
    const int n = std::min(chunk, count - first);
    fill_prompts(problems, first, n, stride, prompts.data(), lengths.data());
    sampler.generate(model_params(), prompts.data(), lengths.data(), n, stride, 1, o, rng, out);
    for (int i = 0; i < n; ++i) {
      const Score s = t.score(problems[static_cast<size_t>(first + i)], out.row_tokens(i), out.lengths[i]);
      r.accuracy += s.correct;
      r.partial_mean += s.partial;
      r.well_formed += s.well_formed;
      r.length_mean += s.length;
      modes.add(out.row_tokens(i), out.lengths[i], s.correct);
    }
  }
  modes.finish(r);
  if (k > 0) {
    // k samples per problem at temperature 1: with n = k samples the unbiased estimator
    // 1 - C(n - c, k) / C(n, k) of Chen et al. (2021) is 1 when any sample is right.
    SamplingOptions s = o;
    s.greedy = false;
    s.temperature = 1.0f;
    for (int i = 0; i < count; ++i) {
      const Problem& p = problems[static_cast<size_t>(i)];
      const int len = static_cast<int>(p.prompt.size());
      std::vector<int32_t> prompt(p.prompt.begin(), p.prompt.end());
      sampler.generate(model_params(), prompt.data(), &len, 1, len, k, s, rng, out);
      bool any = false;
      for (int j = 0; j < k && !any; ++j) any = t.score(p, out.row_tokens(j), out.lengths[j]).correct;
      r.pass_at_k += any;
    }
    r.pass_at_k /= count;
  }
  r.accuracy /= count;
  r.partial_mean /= count;
  r.well_formed /= count;
  r.length_mean /= count;
  return r;
}

}  // namespace pl
