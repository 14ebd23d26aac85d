// Synthetic preference data (see preference_data.hpp).
#include "core/algos/preference_data.hpp"
#include "core/util/json_input.hpp"
#include "core/util/text.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace pl {

namespace {

double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }

// Token ids of `text` in the task's vocabulary; PreferenceDataError naming the option otherwise.
std::vector<int> option_tokens(const SequenceTask& task, const std::string& text, const char* option) {
  try {
    return task.vocab().encode(text, option);
  } catch (const TaskError& e) {
    throw PreferenceDataError(std::string("field '") + option + "': " + e.what());
  }
}

std::string location(const std::string& name, int line) { return name + ":" + std::to_string(line) + ": "; }

// A string field of a JSONL object, or PreferenceDataError naming the line and field.
const std::string& string_field(const json& object, const char* field, const std::string& where) {
  if (!object.contains(field)) throw PreferenceDataError(where + "missing field '" + field + "'");
  const json& v = object.at(field);
  if (!v.is_string())
    throw PreferenceDataError(where + "field '" + field + "' must be a string of task tokens, got " + v.dump());
  return v.get_ref<const std::string&>();
}

// A completion's token ids: tokens of the vocabulary (a sampled completion may hold PAD '_', which
// the model can emit), optionally ending with EOS ('.'); at most the task's longest completion.
std::vector<int> parse_completion(const SequenceTask& task, const std::string& text, const char* field,
                                  const std::string& where) {
  std::vector<int> ids;
  try {
    ids = task.vocab().encode(text, field);
  } catch (const TaskError& e) {
    throw PreferenceDataError(where + "field '" + field + "': " + e.what());
  }
  if (ids.empty()) throw PreferenceDataError(where + "field '" + field + "' is empty (a completion has at least one token)");
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == Vocabulary::kEos && i + 1 != ids.size())
      throw PreferenceDataError(where + "field '" + field + "': tokens after EOS '.' in " + quote_text(text));
  }
  if (static_cast<int>(ids.size()) > task.max_completion_length())
    throw PreferenceDataError(where + "field '" + field + "': " + quote_text(text) + " has " + std::to_string(ids.size()) +
                              " tokens; task '" + task.id() + "' completions have at most " +
                              std::to_string(task.max_completion_length()));
  return ids;
}

// Calls `line_fn(object, where)` for every non-blank line of a JSONL text.
template <typename Fn>
void for_each_json_line(const std::string& text, const std::string& name, Fn&& line_fn) {
  for_each_nonblank_line(text, [&](int number, const std::string& line) {
    const std::string where = location(name, number);
    json object;
    try {
      object = parse_user_json(line);  // a repeated key ("chosen" twice) is refused, not resolved silently
    } catch (const JsonInputError& e) {
      throw PreferenceDataError(where + "malformed JSON: " + e.what());
    }
    if (!object.is_object()) throw PreferenceDataError(where + "expected a JSON object, got " + std::string(object.type_name()));
    line_fn(object, where);
  });
}

Problem parse_prompt_field(const SequenceTask& task, const json& object, const std::string& where) {
  const std::string& prompt = string_field(object, "prompt", where);
  Problem p = task.make_problem();
  try {
    task.parse_prompt(prompt, p);
  } catch (const TaskError& e) {
    throw PreferenceDataError(where + "field 'prompt': " + e.what());
  }
  return p;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw PreferenceDataError("cannot open preference file '" + path + "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw PreferenceDataError("cannot write preference file '" + path + "'");
  out << text;
  if (!out) throw PreferenceDataError("error writing preference file '" + path + "'");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The gold reward

namespace {
// The letters and digits answers are written in, in id order ("0123456789" for addition, "ab" for
// reverse over 2 letters): what the "auto" gold options are drawn from. Left out: AdaptThink's mode
// markers (T, N) and a length budget's tokens, which the task appends to its own right before the
// separator '|' (budget_tokens: base-36 digits its own tokens lack; every task's own tokens end
// with a separator of its prompt such as '=').
std::string answer_alphanumerics(const SequenceTask& task) {
  std::string own = task.vocab().task_chars();
  const size_t bar = own.find(kBudgetSeparator);
  if (bar != std::string::npos) {
    size_t end = bar;
    while (end > 0 && budget_value(own[end - 1]) >= 0) --end;
    own.erase(end);
  }
  const AnswerModes modes = task.answer_modes();
  std::string out;
  for (char c : own) {
    const int id = task.vocab().id_of(c);
    if (std::isalnum(static_cast<unsigned char>(c)) && !(modes.on() && (id == modes.think || id == modes.nothink)))
      out += c;
  }
  return out;
}
}  // namespace

GoldRewardOptions resolve_gold_options(const SequenceTask& task, GoldRewardOptions options) {
  const std::string tokens = answer_alphanumerics(task);
  if (options.style_tokens == "auto") {
    options.style_tokens.clear();
    for (size_t i = 0; i < tokens.size(); i += 2) options.style_tokens += tokens[i];
  }
  if (options.unsafe_substring == "auto") options.unsafe_substring = tokens.empty() ? "" : std::string(2, tokens.back());
  return options;
}

GoldReward::GoldReward(const SequenceTask& task, const GoldRewardOptions& options)
    : task_(&task), options_(resolve_gold_options(task, options)) {
  liked_.assign(static_cast<size_t>(task.vocab().size()), 0);
  for (int id : option_tokens(task, options_.style_tokens, "gold_style_tokens")) liked_[static_cast<size_t>(id)] = 1;
  unsafe_ = option_tokens(task, options_.unsafe_substring, "gold_unsafe_substring");
}

GoldAttributes GoldReward::attributes(const Problem& p, const int* completion, int n) const {
  GoldAttributes a;
  const Score s = task_->score(p, completion, n);
  a.correct = s.correct;
  a.length = s.length;
  // Style: the share of the completion's tokens (EOS excluded) that the labeler likes.
  int tokens = 0, liked = 0;
  for (int i = 0; i < a.length; ++i) {
    const int t = completion[i];
    if (t == Vocabulary::kEos) break;
    ++tokens;
    liked += t >= 0 && t < static_cast<int>(liked_.size()) && liked_[static_cast<size_t>(t)];
  }
  a.style = tokens > 0 ? static_cast<double>(liked) / tokens : 0.0;
  // Safety: the completion (up to its end) contains the unsafe substring.
  const int m = static_cast<int>(unsafe_.size());
  for (int i = 0; m > 0 && i + m <= a.length && !a.unsafe; ++i)
    a.unsafe = std::equal(unsafe_.begin(), unsafe_.end(), completion + i);
  return a;
}

double GoldReward::helpfulness(const GoldAttributes& a) const {
  return options_.correct_weight * (a.correct ? 1.0 : 0.0) +
         options_.length_weight * static_cast<double>(a.length) / task_->max_completion_length() +
         options_.style_weight * a.style;
}

// ---------------------------------------------------------------------------------------------
// The labeler

double preference_probability(double reward_a, double reward_b, const LabelerOptions& o) {
  // Bradley–Terry (Bradley & Terry 1952; Rafailov et al. 2023, eq. 1) at a temperature, then a
  // symmetric label flip with probability `noise`.
  const double p = sigmoid((reward_a - reward_b) / o.temperature);
  return (1.0 - o.noise) * p + o.noise * (1.0 - p);
}

bool label_pair(double reward_a, double reward_b, const LabelerOptions& o, Rng& rng) {
  return rng.uniform() < preference_probability(reward_a, reward_b, o);
}

std::vector<UnpairedExample> unpaired_examples(const PreferenceDataset& data) {
  std::vector<UnpairedExample> out;
  out.reserve(data.pairs.size() * 2);
  for (const PreferencePair& p : data.pairs) {
    out.push_back({p.problem, p.chosen, true});
    out.push_back({p.problem, p.rejected, false});
  }
  return out;
}

PreferenceGenerator::PreferenceGenerator(const SequenceTask& task, const Transformer& model, const GenerateOptions& o)
    : task_(task), options_(o) {
  if (o.size < 1) throw PreferenceDataError("field 'dataset_size' must be at least 1, got " + std::to_string(o.size));
  options_.chunk = std::max(1, o.chunk);
  const int chunk = options_.chunk, Lp = task.max_prompt_length();
  for (int i = 0; i < chunk; ++i) slots_.push_back(task.make_problem());
  tries_.assign(static_cast<size_t>(chunk), 0);
  prompts_.assign(static_cast<size_t>(chunk) * Lp, 0);
  lengths_.assign(static_cast<size_t>(chunk), 0);
  out_.reserve(2 * chunk, task.max_completion_length(), model.spec().vocab, false);
}

PreferenceDataset PreferenceGenerator::make_dataset() const {
  PreferenceDataset data;
  data.pairs.resize(static_cast<size_t>(options_.size));
  for (PreferencePair& p : data.pairs) {
    p.problem = task_.make_problem();
    p.chosen.reserve(static_cast<size_t>(task_.max_completion_length()));
    p.rejected.reserve(static_cast<size_t>(task_.max_completion_length()));
  }
  return data;
}

void PreferenceGenerator::generate(const Parameters& params, Sampler& sampler, const GoldReward& gold, Rng& rng,
                                   PreferenceDataset& data) {
  const int chunk = options_.chunk, size = options_.size, Lp = task_.max_prompt_length();
  if (2 * chunk > sampler.batch_capacity())
    throw std::invalid_argument("generate_preferences: the sampler holds " + std::to_string(sampler.batch_capacity()) +
                                " rows; " + std::to_string(chunk) + " prompts need " + std::to_string(2 * chunk));
  if (static_cast<int>(data.pairs.size()) != size) throw std::invalid_argument("PreferenceGenerator: a dataset of another size");
  SamplingOptions sampling;
  sampling.temperature = options_.sample_temperature;
  sampling.max_new_tokens = task_.max_completion_length();
  sampling.eos = Vocabulary::kEos;
  sampling.pad = Vocabulary::kPad;
  std::fill(tries_.begin(), tries_.end(), 0);
  int made = 0, identical_in_a_row = 0;
  while (made < size) {
    const int n = std::min(chunk, size - made);
    for (int i = 0; i < n; ++i) {
      Problem& q = slots_[static_cast<size_t>(i)];
      if (tries_[static_cast<size_t>(i)] == 0) task_.sample(options_.split, rng, q);  // else: redraw its samples
      lengths_[static_cast<size_t>(i)] = static_cast<int>(q.prompt.size());
      std::copy(q.prompt.begin(), q.prompt.end(), prompts_.begin() + static_cast<long>(i) * Lp);
    }
    sampler.generate(params, prompts_.data(), lengths_.data(), n, Lp, 2, sampling, rng, out_);
    for (int i = 0; i < n; ++i) {
      const int32_t* a = out_.row_tokens(2 * i);
      const int32_t* b = out_.row_tokens(2 * i + 1);
      const int la = out_.lengths[2 * i], lb = out_.lengths[2 * i + 1];
      int& t = tries_[static_cast<size_t>(i)];
      if (la == lb && std::equal(a, a + la, b)) {  // identical: no preference to learn
        t = t + 1 >= options_.max_attempts ? 0 : t + 1;
        if (++identical_in_a_row >= options_.max_identical) {
          char temp[32];
          std::snprintf(temp, sizeof temp, "%g", static_cast<double>(options_.sample_temperature));
          throw PreferenceDataError(
              "cannot make preference pairs: the policy's two completions of a prompt were the same " +
              std::to_string(identical_in_a_row) + " times in a row (" + std::to_string(made) + " of " +
              std::to_string(size) + " pairs made) at sample_temperature " + temp +
              "; raise sample_temperature or generate from a less deterministic policy");
        }
        continue;
      }
      t = 0;
      identical_in_a_row = 0;
      const Problem& q = slots_[static_cast<size_t>(i)];
      const double ra = gold.reward(q, a, la), rb = gold.reward(q, b, lb);
      const bool a_wins = label_pair(ra, rb, options_.labeler, rng);
      PreferencePair& pair = data.pairs[static_cast<size_t>(made++)];
      pair.problem = q;  // copy-assignment keeps the pair's capacity
      pair.chosen.assign(a_wins ? a : b, (a_wins ? a : b) + (a_wins ? la : lb));
      pair.rejected.assign(a_wins ? b : a, (a_wins ? b : a) + (a_wins ? lb : la));
      pair.margin = 0;
      if (made == size) break;
    }
  }
}

PreferenceDataset generate_preferences(const SequenceTask& task, const Parameters& params, Sampler& sampler,
                                       const GoldReward& gold, const GenerateOptions& o, Rng& rng) {
  PreferenceGenerator generator(task, sampler.model(), o);
  PreferenceDataset data = generator.make_dataset();
  generator.generate(params, sampler, gold, rng, data);
  return data;
}

// ---------------------------------------------------------------------------------------------
// JSONL

std::string pair_to_json_line(const SequenceTask& task, const PreferencePair& pair) {
  const Vocabulary& v = task.vocab();
  // In the order a reader expects (nlohmann's json would sort the keys).
  nlohmann::ordered_json line{
      {"prompt", v.decode(pair.problem.prompt)}, {"chosen", v.decode(pair.chosen)}, {"rejected", v.decode(pair.rejected)}};
  if (pair.margin != 0) line["margin"] = pair.margin;
  return line.dump();
}

void write_preferences(const std::string& path, const SequenceTask& task, const PreferenceDataset& data) {
  std::string text;
  for (const PreferencePair& p : data.pairs) text += pair_to_json_line(task, p) + "\n";
  write_text(path, text);
}

void write_unpaired(const std::string& path, const SequenceTask& task, const std::vector<UnpairedExample>& data) {
  const Vocabulary& v = task.vocab();
  std::string text;
  for (const UnpairedExample& e : data)
    text += nlohmann::ordered_json{{"prompt", v.decode(e.problem.prompt)}, {"completion", v.decode(e.completion)},
                                   {"label", e.desirable}}
                .dump() +
            "\n";
  write_text(path, text);
}

PreferenceDataset parse_preferences(const std::string& text, const SequenceTask& task, const std::string& name) {
  PreferenceDataset data;
  for_each_json_line(text, name, [&](const json& object, const std::string& where) {
    PreferencePair pair;
    if (!object.contains("chosen") && object.contains("completion") && object.contains("label"))
      throw PreferenceDataError(where + "an unpaired example (prompt, completion, label: the kto algorithm's form, "
                                "as `prefs generate --unpaired` writes), where pairs (prompt, chosen, rejected) "
                                "are read");
    pair.problem = parse_prompt_field(task, object, where);
    pair.chosen = parse_completion(task, string_field(object, "chosen", where), "chosen", where);
    pair.rejected = parse_completion(task, string_field(object, "rejected", where), "rejected", where);
    if (object.contains("margin")) {
      const json& m = object.at("margin");
      if (!m.is_number() || !std::isfinite(m.get<double>()))
        throw PreferenceDataError(where + "field 'margin' must be a finite number, got " + m.dump());
      pair.margin = m.get<double>();
    }
    data.pairs.push_back(std::move(pair));
  });
  if (data.pairs.empty()) throw PreferenceDataError(name + ": no preference pairs (one JSON object per line)");
  return data;
}

PreferenceDataset read_preferences(const std::string& path, const SequenceTask& task) {
  return parse_preferences(read_text(path), task, path);
}

std::vector<UnpairedExample> parse_unpaired(const std::string& text, const SequenceTask& task, const std::string& name) {
  std::vector<UnpairedExample> data;
  for_each_json_line(text, name, [&](const json& object, const std::string& where) {
    UnpairedExample e;
    e.problem = parse_prompt_field(task, object, where);
    e.completion = parse_completion(task, string_field(object, "completion", where), "completion", where);
    if (!object.contains("label")) throw PreferenceDataError(where + "missing field 'label'");
    if (!object.at("label").is_boolean())
      throw PreferenceDataError(where + "field 'label' must be true (desirable) or false, got " + object.at("label").dump());
    e.desirable = object.at("label").get<bool>();
    data.push_back(std::move(e));
  });
  if (data.empty()) throw PreferenceDataError(name + ": no examples (one JSON object per line)");
  return data;
}

json preference_stats(const SequenceTask& task, const PreferenceDataset& data, const GoldReward& gold) {
  const int n = static_cast<int>(data.pairs.size());
  double reward[2] = {0, 0}, helpful[2] = {0, 0}, correct[2] = {0, 0}, unsafe[2] = {0, 0}, length[2] = {0, 0};
  int agree = 0, ties = 0, identical = 0;
  for (const PreferencePair& p : data.pairs) {
    const std::vector<int>* c[2] = {&p.chosen, &p.rejected};
    double r[2];
    for (int k = 0; k < 2; ++k) {
      const GoldAttributes a = gold.attributes(p.problem, c[k]->data(), static_cast<int>(c[k]->size()));
      r[k] = gold.reward(a);
      reward[k] += r[k];
      helpful[k] += gold.helpfulness(a);
      correct[k] += a.correct;
      unsafe[k] += a.unsafe;
      length[k] += a.length;
    }
    agree += r[0] > r[1];
    ties += r[0] == r[1];
    identical += p.chosen == p.rejected;
  }
  auto side = [&](int k) {
    return json{{"gold_reward", reward[k] / n}, {"helpfulness", helpful[k] / n}, {"correct", correct[k] / n},
                {"unsafe", unsafe[k] / n},      {"length", length[k] / n}};
  };
  return {{"task", task.id()},
          {"pairs", n},
          {"gold_agreement", static_cast<double>(agree) / n},
          {"gold_ties", static_cast<double>(ties) / n},
          {"identical_pairs", identical},
          {"chosen", side(0)},
          {"rejected", side(1)}};
}

// ---------------------------------------------------------------------------------------------
// Fields

const std::vector<FieldSpec>& preference_data_fields() {
  using T = FieldType;
  static const std::vector<FieldSpec> fields = {
      {"dataset_size", T::Int, 2000, 1, 1000000, {}, "preference pairs generated from the starting policy (when 'dataset' is empty)", false, "prefs"},
      {"sample_temperature", T::Float, 1.0, 0.05, 10, {}, "sampling temperature of the generated pairs' completions", false, "prefs"},
      {"label_temperature", T::Float, 0.1, 1e-3, 100, {}, "Bradley–Terry labeler: P(a > b) = sigmoid((r_a - r_b) / label_temperature)", false, "prefs"},
      {"label_noise", T::Float, 0.0, 0, 0.5, {}, "share of labels flipped after the Bradley–Terry draw", false, "prefs"},
      {"gold_correct_weight", T::Float, 1.0, -100, 100, {}, "hidden gold reward: weight of the verifier's correctness", false, "prefs"},
      {"gold_length_weight", T::Float, -0.2, -100, 100, {}, "hidden gold reward: weight of length / the task's longest completion", false, "prefs"},
      {"gold_style_weight", T::Float, 0.3, -100, 100, {}, "hidden gold reward: weight of the share of completion tokens in gold_style_tokens", false, "prefs"},
      make_field("gold_style_tokens", T::String, "auto", 0, 0, "prefs", "hidden gold reward: the tokens the labeler likes (task tokens; auto: every other letter or digit of the task, 02468 on digit tasks)"),
      {"gold_safety_weight", T::Float, 1.0, 0, 100, {}, "hidden gold reward: cost of an unsafe completion (the safety judge)", false, "prefs"},
      make_field("gold_unsafe_substring", T::String, "auto", 0, 0, "prefs", "a completion containing these tokens is unsafe; empty: none is; auto: the task's last letter or digit twice (99 on digit tasks)"),
  };
  return fields;
}

GoldRewardOptions gold_reward_options(const json& v) {
  GoldRewardOptions o;
  o.correct_weight = v.at("gold_correct_weight").get<double>();
  o.length_weight = v.at("gold_length_weight").get<double>();
  o.style_weight = v.at("gold_style_weight").get<double>();
  o.style_tokens = v.at("gold_style_tokens").get<std::string>();
  o.safety_weight = v.at("gold_safety_weight").get<double>();
  o.unsafe_substring = v.at("gold_unsafe_substring").get<std::string>();
  return o;
}

GenerateOptions generate_options(const json& v) {
  GenerateOptions o;
  o.size = v.at("dataset_size").get<int>();
  o.sample_temperature = v.at("sample_temperature").get<float>();
  o.labeler.temperature = v.at("label_temperature").get<double>();
  o.labeler.noise = v.at("label_noise").get<double>();
  return o;
}

}  // namespace pl
