#include "core/algos/loss_lab.hpp"

#include <algorithm>
#include <cmath>

#include "core/algos/group_losses.hpp"
#include "core/tasks/options.hpp"
#include "core/tasks/task.hpp"

namespace pl {

namespace {

// The lab's options: the group-relative fields plus seq-mean-token-sum-norm's constant.
const std::vector<FieldSpec>& lab_fields() {
  static const std::vector<FieldSpec> fields = [] {
    std::vector<FieldSpec> f = group_loss_fields();
    f.push_back(make_field("max_completion_length", FieldType::Int, 0, 0, 1e6, "loss",
                           "seq-mean-token-sum-norm's constant; 0: the longest completion of the input"));
    return f;
  }();
  return fields;
}

json resolve_lab_options(const json& options) {
  try {
    return resolve_options(lab_fields(), options, "loss lab");
  } catch (const TaskError& e) {
    throw LossLabError(e.what());
  }
}

std::vector<float> number_list(const json& input, const std::string& column, size_t expected, const char* per) {
  const json& v = input.at(column);
  if (!v.is_array()) throw LossLabError("column '" + column + "' must be a list of numbers (one " + per + ")");
  if (expected > 0 && v.size() != expected)
    throw LossLabError("column '" + column + "' must have " + std::to_string(expected) + " entries (one " + per +
                       "), got " + std::to_string(v.size()));
  std::vector<float> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number() || !std::isfinite(v[i].get<double>()))
      throw LossLabError("column '" + column + "' entry " + std::to_string(i) + " must be a finite number, got " + v[i].dump());
    out.push_back(v[i].get<float>());
  }
  return out;
}

// Ragged per-token rows; `shape` (when given) must match row by row.
std::vector<std::vector<float>> token_rows(const json& input, const std::string& column,
                                           const std::vector<std::vector<float>>* shape) {
  const json& v = input.at(column);
  if (!v.is_array() || v.empty()) throw LossLabError("column '" + column + "' must be a non-empty list of per-completion token lists");
  if (shape && v.size() != shape->size())
    throw LossLabError("column '" + column + "' must have " + std::to_string(shape->size()) +
                       " completions like logp, got " + std::to_string(v.size()));
  std::vector<std::vector<float>> rows;
  for (size_t r = 0; r < v.size(); ++r) {
    const std::string where = "column '" + column + "' completion " + std::to_string(r);
    if (!v[r].is_array() || v[r].empty()) throw LossLabError(where + " must be a non-empty list of numbers");
    if (shape && v[r].size() != (*shape)[r].size())
      throw LossLabError(where + " must have " + std::to_string((*shape)[r].size()) + " tokens like logp, got " +
                         std::to_string(v[r].size()));
    rows.emplace_back();
    for (const json& x : v[r]) {
      if (!x.is_number() || !std::isfinite(x.get<double>())) throw LossLabError(where + " has a non-number " + x.dump());
      rows.back().push_back(x.get<float>());
    }
  }
  return rows;
}

const std::vector<std::string>& known_columns() {
  static const std::vector<std::string> c = {"group_size", "logp",      "old_logp",   "ref_logp", "rewards", "advantages",
                                             "baselines",  "value_star", "truncated", "entropy",  "lengths"};
  return c;
}

struct Batch {
  int R = 0, G = 0, P = 0;
  std::vector<float> rewards, lengths, baselines;
};

// Rows, groups and the per-completion columns every evaluation reads.
Batch read_batch(const json& input, int rows_hint) {
  if (!input.is_object()) throw LossLabError("the input must be a JSON object with columns (see policylab loss --help)");
  for (auto it = input.begin(); it != input.end(); ++it) {
    if (std::find(known_columns().begin(), known_columns().end(), it.key()) == known_columns().end()) {
      std::string list;
      for (const std::string& c : known_columns()) list += (list.empty() ? "" : ", ") + c;
      throw LossLabError("unknown column '" + it.key() + "'; columns: " + list);
    }
  }
  Batch b;
  b.R = rows_hint > 0 ? rows_hint : input.contains("rewards") && input["rewards"].is_array() ? static_cast<int>(input["rewards"].size()) : 0;
  if (b.R == 0) throw LossLabError("the input needs 'rewards' (per completion) or 'logp' (per token)");
  b.G = b.R;
  if (input.contains("group_size")) {
    const json& g = input["group_size"];
    if (!g.is_number_integer() || g.get<int64_t>() < 1)
      throw LossLabError("'group_size' must be a positive integer, got " + g.dump());
    b.G = static_cast<int>(g.get<int64_t>());
  }
  if (b.R % b.G != 0)
    throw LossLabError("the " + std::to_string(b.R) + " completions do not split into groups of group_size " + std::to_string(b.G));
  b.P = b.R / b.G;
  if (input.contains("rewards")) b.rewards = number_list(input, "rewards", static_cast<size_t>(b.R), "per completion");
  if (input.contains("baselines")) b.baselines = number_list(input, "baselines", static_cast<size_t>(b.P), "per prompt");
  if (input.contains("lengths")) b.lengths = number_list(input, "lengths", static_cast<size_t>(b.R), "per completion");
  return b;
}

json list(const std::vector<float>& v) {
  json out = json::array();
  for (float x : v) out.push_back(x);
  return out;
}

// Advantages from the estimator (or the given column).
std::vector<float> advantages_of(const json& input, const Batch& b, const GroupLossOptions& o, int* zero_variance) {
  std::vector<float> adv(static_cast<size_t>(b.R), 0.0f);
  if (input.contains("advantages")) {
    adv = number_list(input, "advantages", static_cast<size_t>(b.R), "per completion");
    *zero_variance = b.rewards.empty() ? 0 : count_zero_variance_groups(b.rewards.data(), b.P, b.G);
    return adv;
  }
  if (b.rewards.empty()) throw LossLabError("the input needs 'rewards' (per completion) or 'advantages'");
  if (o.estimator == Estimator::Remax && b.baselines.empty())
    throw LossLabError("estimator 'remax' needs 'baselines' (the greedy completion's reward, one per prompt)");
  GroupRewards in{b.rewards.data(), b.P, b.G, b.lengths.empty() ? nullptr : b.lengths.data(),
                  b.baselines.empty() ? nullptr : b.baselines.data()};
  *zero_variance = estimate_advantages(o.estimator, in, o.estimator_options, adv.data());
  return adv;
}

json evaluate_estimator(const EstimatorInfo& e, const json& input, json values) {
  const Batch b = read_batch(input, input.contains("logp") && input["logp"].is_array() ? static_cast<int>(input["logp"].size()) : 0);
  values["advantage_estimator"] = e.name;
  GroupLossOptions o = group_loss_options(values);
  json in = input;
  in.erase("advantages");  // the estimator is what is asked for
  int zero = 0;
  const std::vector<float> adv = advantages_of(in, b, o, &zero);
  return {{"estimator", e.name}, {"advantages", list(adv)}, {"zero_variance_groups", zero}};
}

json evaluate_policy_loss(const PolicyLossInfo& info, const json& input, json values) {
  if (!input.is_object() || !input.contains("logp"))
    throw LossLabError("loss '" + std::string(info.name) + "' needs the column 'logp' (per completion, a list of token log-probs)");
  const std::vector<std::vector<float>> logp = token_rows(input, "logp", nullptr);
  const Batch b = read_batch(input, static_cast<int>(logp.size()));
  values["policy_loss"] = info.name;
  const GroupLossOptions o = group_loss_options(values);
  const std::vector<std::vector<float>> old = input.contains("old_logp") ? token_rows(input, "old_logp", &logp) : logp;
  const std::vector<std::vector<float>> ref = input.contains("ref_logp") ? token_rows(input, "ref_logp", &logp) : old;
  std::vector<std::vector<float>> entropy;
  if (input.contains("entropy")) entropy = token_rows(input, "entropy", &logp);
  if (o.sequence_objective() && b.rewards.empty())
    throw LossLabError("loss '" + std::string(info.name) + "' needs the column 'rewards' (per completion)");
  if (o.loss == PolicyLoss::Rebel && b.G % 2 != 0) throw LossLabError("loss 'rebel' pairs completions: group_size must be even");
  if (o.loss == PolicyLoss::Gvpo && b.G < 2) throw LossLabError("loss 'gvpo' needs groups of at least 2 completions");
  if (o.top_entropy_quantile < 1.0f && entropy.empty())
    throw LossLabError("top_entropy_quantile < 1 needs the column 'entropy' (per token, like logp)");
  std::vector<float> value_star;
  if (o.loss == PolicyLoss::AStarPo) {
    if (!input.contains("value_star")) throw LossLabError("loss 'astar_po' needs the column 'value_star' (V*, one per prompt)");
    value_star = number_list(input, "value_star", static_cast<size_t>(b.P), "per prompt");
  }
  std::vector<uint8_t> truncated(static_cast<size_t>(b.R), 0);
  if (input.contains("truncated")) {
    const json& t = input["truncated"];
    if (!t.is_array() || t.size() != static_cast<size_t>(b.R))
      throw LossLabError("column 'truncated' must be a list of " + std::to_string(b.R) + " booleans (one per completion)");
    for (size_t i = 0; i < t.size(); ++i) {
      if (!t[i].is_boolean()) throw LossLabError("column 'truncated' entry " + std::to_string(i) + " must be true or false");
      truncated[i] = t[i].get<bool>();
    }
  }
  Batch with_lengths = b;
  if (with_lengths.lengths.empty())
    for (const auto& row : logp) with_lengths.lengths.push_back(static_cast<float>(row.size()));
  int zero_variance = 0;
  const std::vector<float> adv = advantages_of(input, with_lengths, o, &zero_variance);

  // Dense [R, T] layout of the completion tokens.
  const int R = b.R, P = b.P, G = b.G;
  int T = 0, N = 0;
  for (const auto& row : logp) {
    T = std::max(T, static_cast<int>(row.size()));
    N += static_cast<int>(row.size());
  }
  const int max_len = values.at("max_completion_length").get<int>() > 0 ? values.at("max_completion_length").get<int>() : T;
  float entropy_floor = -1.0f;
  if (o.top_entropy_quantile < 1.0f) {
    std::vector<float> all;
    for (const auto& row : entropy) all.insert(all.end(), row.begin(), row.end());
    entropy_floor = quantile(all, 1.0 - o.top_entropy_quantile);
  }
  const size_t n = static_cast<size_t>(R) * T;
  std::vector<float> lp(n, 0.0f), rlp(n, 0.0f);
  GroupLossBuffers buf;
  buf.allocate(R, T, P);
  buf.advantages = adv;
  if (!b.rewards.empty()) buf.rewards = b.rewards;
  int masked = 0;
  for (int r = 0; r < R; ++r) {
    const int L = static_cast<int>(logp[static_cast<size_t>(r)].size());
    buf.inv_len[static_cast<size_t>(r)] = 1.0f / static_cast<float>(L);
    if (!value_star.empty()) buf.value_star[static_cast<size_t>(r)] = value_star[static_cast<size_t>(r / G)];
    const float w = aggregation_weight(o.agg, R, L, N, max_len);
    for (int t = 0; t < L; ++t) {
      const size_t at = static_cast<size_t>(r) * T + t;
      lp[at] = logp[static_cast<size_t>(r)][static_cast<size_t>(t)];
      buf.old_logp[at] = old[static_cast<size_t>(r)][static_cast<size_t>(t)];
      rlp[at] = ref[static_cast<size_t>(r)][static_cast<size_t>(t)];
      buf.token_mean[at] = 1.0f / static_cast<float>(N);
      const bool off = (o.mask_truncated && truncated[static_cast<size_t>(r)]) ||
                       (!entropy.empty() && o.top_entropy_quantile < 1.0f &&
                        entropy[static_cast<size_t>(r)][static_cast<size_t>(t)] < entropy_floor);
      masked += off;
      buf.weights[at] = off ? 0.0f : w;
    }
  }
  if (o.loss == PolicyLoss::Disco)
    disco_weights(buf.rewards.data(), P, G, buf.disco_pos.data(), buf.disco_neg.data(), buf.disco_log_neg.data(),
                  buf.disco_group.data());

  Graph g;
  const Dim rows = g.dim(g.size_var("rows", R)), time = g.dim(g.size_var("time", T)), groups = g.dim(g.size_var("groups", P));
  GroupLossInputs in = declare_group_loss_inputs(g, rows, time, groups, G, o);
  in.logp = g.input("logp", {rows, time});
  in.old_logp = g.input("old_logp", {rows, time});
  in.ref_logp = g.input("ref_logp", {rows, time});
  const GroupLossOutputs out = build_group_loss(g, in, o);
  set_group_loss_params(g, values);
  g.bind(in.logp, lp.data());
  g.bind(in.ref_logp, rlp.data());
  buf.bind(g, in);
  g.forward();
  g.backward(out.loss);
  const float* grad = g.gradient(in.logp);
  json grad_rows = json::array();
  for (int r = 0; r < R; ++r) {
    json row = json::array();
    for (size_t t = 0; t < logp[static_cast<size_t>(r)].size(); ++t) row.push_back(grad ? grad[static_cast<size_t>(r) * T + t] : 0.0f);
    grad_rows.push_back(row);
  }
  json outputs = {{"pg_loss", g.scalar(out.pg_loss)},
                  {"kl", g.scalar(out.kl)},
                  {"clip_low", g.scalar(out.clip_low)},
                  {"clip_high", g.scalar(out.clip_high)},
                  {"masked_tokens", masked},
                  {"zero_variance_groups", zero_variance}};
  return {{"loss_name", info.name},
          {"loss", g.scalar(out.loss)},
          {"outputs", outputs},
          {"advantages", list(adv)},
          {"gradient", {{"logp", grad_rows}}},
          {"formula", g.to_string(out.loss)}};
}

}  // namespace

json loss_lab_catalog() {
  json estimators_json = json::array(), losses_json = json::array();
  for (const EstimatorInfo& e : estimators())
    estimators_json.push_back({{"name", e.name}, {"summary", e.summary}, {"reference", e.reference},
                               {"inputs", json(std::vector<std::string>{"rewards"})}, {"options", e.options}});
  for (size_t i = 0; i < estimators_json.size(); ++i)
    for (const std::string& c : estimators()[i].inputs) estimators_json[i]["inputs"].push_back(c);
  for (const PolicyLossInfo& l : policy_losses()) {
    json inputs = {"logp", "old_logp", "advantages or rewards"};
    for (const std::string& c : l.inputs) inputs.push_back(c);
    json options = l.options;
    for (const char* common : {"beta", "kl_estimator", "mask_truncated_completions", "top_entropy_quantile"})
      options.push_back(common);
    losses_json.push_back({{"name", l.name}, {"summary", l.summary}, {"reference", l.reference}, {"inputs", inputs},
                           {"options", options}});
  }
  return {{"estimators", estimators_json}, {"losses", losses_json}, {"fields", fields_to_json(lab_fields())}};
}

json evaluate_loss_lab(const std::string& name, const json& input, const json& options) {
  const json values = resolve_lab_options(options);
  // "estimator:NAME" or "loss:NAME" say which; a bare name that is both (gpg) must say.
  std::string bare = name;
  bool want_estimator = true, want_loss = true;
  if (name.rfind("estimator:", 0) == 0) bare = name.substr(10), want_loss = false;
  if (name.rfind("loss:", 0) == 0) bare = name.substr(5), want_estimator = false;
  const EstimatorInfo* e = want_estimator ? find_estimator(bare) : nullptr;
  const PolicyLossInfo* l = want_loss ? find_policy_loss(bare) : nullptr;
  if (e && l)
    throw LossLabError("'" + bare + "' is both an advantage estimator and a policy loss: say estimator:" + bare +
                       " or loss:" + bare);
  try {
    if (e) return evaluate_estimator(*e, input, values);
    if (l) return evaluate_policy_loss(*l, input, values);
  } catch (const ConfigError& e) {
    throw LossLabError(e.what());
  } catch (const json::exception& e) {
    throw LossLabError(std::string("malformed input: ") + e.what());
  }
  std::string names;
  for (const EstimatorInfo& e : estimators()) names += std::string(names.empty() ? "" : ", ") + e.name;
  for (const PolicyLossInfo& l : policy_losses()) names += std::string(", ") + l.name;
  throw LossLabError("unknown estimator or loss '" + name + "'; known: " + names);
}

}  // namespace pl
