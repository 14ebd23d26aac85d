#include "core/algos/loss_lab.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/algos/group_losses.hpp"
#include "core/algos/preference_losses.hpp"
#include "core/tasks/options.hpp"
#include "core/tasks/task.hpp"
#include "core/util/text.hpp"

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

// The options every policy loss reads besides its own (the KL to the reference and the masks).
const char* const kEveryLossOptions[] = {"beta", "kl_estimator", "mask_truncated_completions", "top_entropy_quantile"};

// An option the evaluated piece does not read would change nothing: it is refused by name rather
// than silently ignored (`what` names the piece, `context` says under which input).
void refuse_unread_options(const std::string& what, const std::vector<std::string>& reads, const json& options,
                           const std::string& context) {
  if (!options.is_object()) return;
  for (auto it = options.begin(); it != options.end(); ++it)
    if (std::find(reads.begin(), reads.end(), it.key()) == reads.end())
      throw LossLabError(what + " reads no option '" + it.key() + "'" + context + " (its options: " +
                         (reads.empty() ? "none" : join(reads)) + ")");
}

// The lab computes in float, as training does: a double beyond float's range (1e39) would become
// infinite and give NaN results, so it is refused with the other non-numbers.
bool is_float_number(const json& x) {
  return x.is_number() && std::isfinite(x.get<double>()) && std::fabs(x.get<double>()) <= std::numeric_limits<float>::max();
}
const char* const kFloatNumber = "a finite number within float range (|x| <= 3.4e38)";

std::vector<float> number_list(const json& input, const std::string& column, size_t expected, const char* per) {
  const json& v = input.at(column);
  if (!v.is_array()) throw LossLabError("column '" + column + "' must be a list of numbers (one " + per + ")");
  if (expected > 0 && v.size() != expected)
    throw LossLabError("column '" + column + "' must have " + std::to_string(expected) + " entries (one " + per +
                       "), got " + std::to_string(v.size()));
  std::vector<float> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!is_float_number(v[i]))
      throw LossLabError("column '" + column + "' entry " + std::to_string(i) + " must be " + kFloatNumber + ", got " + v[i].dump());
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
      if (!is_float_number(x)) throw LossLabError(where + " has " + x.dump() + ", not " + kFloatNumber);
      rows.back().push_back(x.get<float>());
    }
  }
  return rows;
}

const std::vector<std::string>& known_columns() {
  static const std::vector<std::string> c = {"group_size", "logp",      "old_logp",   "ref_logp", "rewards", "advantages",
                                             "baselines",  "value_star", "truncated", "entropy",  "lengths", "nothink",
                                             "values",     "kl"};
  return c;
}

struct Batch {
  int R = 0, G = 0, P = 0;
  std::vector<float> rewards, lengths, baselines, nothink;
};

// Rows, groups and the per-completion columns every evaluation reads.
Batch read_batch(const json& input, int rows_hint) {
  if (!input.is_object()) throw LossLabError("the input must be a JSON object with columns (see policylab loss --help)");
  for (auto it = input.begin(); it != input.end(); ++it) {
    if (std::find(known_columns().begin(), known_columns().end(), it.key()) == known_columns().end()) {
      throw LossLabError("unknown column '" + it.key() + "'; columns: " + join(known_columns()));
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
  if (input.contains("nothink")) b.nothink = number_list(input, "nothink", static_cast<size_t>(b.R), "per completion");
  for (size_t i = 0; i < b.lengths.size(); ++i)
    if (!(b.lengths[i] >= 1 && b.lengths[i] == std::floor(b.lengths[i])))
      throw LossLabError("column 'lengths' entry " + std::to_string(i) + " must be a whole number of tokens >= 1, got " +
                         input["lengths"][i].dump());
  for (size_t i = 0; i < b.nothink.size(); ++i)
    if (b.nothink[i] != 0 && b.nothink[i] != 1)
      throw LossLabError("column 'nothink' entry " + std::to_string(i) + " must be 1 (a NoThinking completion) or 0, got " +
                         input["nothink"][i].dump());
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
  if (o.estimator == Estimator::Gae)
    throw LossLabError("estimator 'gae' gives per-token advantages from a critic: evaluate `gae` on its own (columns "
                       "'rewards' and 'values'), or give the loss 'advantages'");
  // As the trainer's num_generations: a group of one has nothing to be compared with (most
  // estimators would give it 0 silently).
  if (b.G < 2 && !o.takes_single_completions())
    throw LossLabError("group_size must be at least 2 (as num_generations in training: only gae and astar_po take one "
                       "completion per prompt), got " + std::to_string(b.G));
  if (o.estimator == Estimator::Remax && b.baselines.empty())
    throw LossLabError("estimator 'remax' needs 'baselines' (the greedy completion's reward, one per prompt)");
  if (o.estimator == Estimator::AdaptThink && (b.baselines.empty() || b.nothink.empty()))
    throw LossLabError("estimator 'adaptthink' needs 'baselines' (the reference model's mean reward, one per prompt) and "
                       "'nothink' (1 for a NoThinking completion, else 0, per completion)");
  GroupRewards in{b.rewards.data(), b.P, b.G, b.lengths.empty() ? nullptr : b.lengths.data(),
                  b.baselines.empty() ? nullptr : b.baselines.data()};
  in.nothink = b.nothink.empty() ? nullptr : b.nothink.data();
  *zero_variance = estimate_advantages(o.estimator, in, o.estimator_options, adv.data());
  return adv;
}

// GAE (group_advantages.hpp) on completions given as per-token critic values: token rewards
// -beta * kl_t (the optional per-token 'kl' column) plus the completion's reward at its last token;
// the advantages whitened over every token, as the trainer does, and the critic's returns.
json evaluate_gae(const json& input, const json& values) {
  if (!input.is_object() || !input.contains("values"))
    throw LossLabError("estimator 'gae' needs the column 'values' (per completion, the critic's V at each token)");
  const std::vector<std::vector<float>> v = token_rows(input, "values", nullptr);
  const Batch b = read_batch(input, static_cast<int>(v.size()));
  if (b.rewards.empty()) throw LossLabError("estimator 'gae' needs the column 'rewards' (per completion)");
  std::vector<std::vector<float>> kl;
  if (input.contains("kl")) kl = token_rows(input, "kl", &v);
  const float gamma = values.at("gamma").get<float>(), lam = values.at("lam").get<float>(), beta = values.at("beta").get<float>();
  json adv = json::array(), returns = json::array(), raw = json::array();
  std::vector<float> all;
  std::vector<std::vector<float>> a(v.size()), ret(v.size());
  for (size_t r = 0; r < v.size(); ++r) {
    const int n = static_cast<int>(v[r].size());
    std::vector<float> tr(static_cast<size_t>(n), 0.0f);
    for (int k = 0; k < n; ++k) tr[static_cast<size_t>(k)] = kl.empty() ? 0.0f : -beta * kl[r][static_cast<size_t>(k)];
    tr.back() += b.rewards[r];
    a[r].resize(static_cast<size_t>(n));
    ret[r].resize(static_cast<size_t>(n));
    gae_advantages(tr.data(), v[r].data(), n, gamma, lam, a[r].data(), ret[r].data());
    raw.push_back(list(a[r]));
    returns.push_back(list(ret[r]));
    all.insert(all.end(), a[r].begin(), a[r].end());
  }
  whiten(all.data(), static_cast<int>(all.size()));
  size_t at = 0;
  for (size_t r = 0; r < v.size(); ++r) {
    std::vector<float> w(all.begin() + static_cast<long>(at), all.begin() + static_cast<long>(at + a[r].size()));
    adv.push_back(list(w));
    at += a[r].size();
  }
  return {{"estimator", "gae"}, {"advantages", adv}, {"unwhitened_advantages", raw}, {"returns", returns}};
}

json evaluate_estimator(const EstimatorInfo& e, const json& input, json values) {
  if (e.id == Estimator::Gae) return evaluate_gae(input, values);
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
  // The lab's advantages are one per completion (the graph would read per-token ones past them).
  if (o.token_advantages())
    throw LossLabError("per-token advantages (gae, or kl_in_reward with reinforce_plus_plus or remax) are not in the "
                       "loss lab: give the loss an 'advantages' column");
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
  const size_t n = static_cast<size_t>(R) * T;
  std::vector<float> lp(n, 0.0f), rlp(n, 0.0f);
  GroupLossBuffers buf;
  buf.allocate(R, T, P);
  buf.advantages = adv;
  if (!b.rewards.empty()) buf.rewards = b.rewards;
  std::vector<int> lengths(static_cast<size_t>(R));
  for (int r = 0; r < R; ++r) {
    const int L = static_cast<int>(logp[static_cast<size_t>(r)].size());
    lengths[static_cast<size_t>(r)] = L;
    buf.inv_len[static_cast<size_t>(r)] = 1.0f / static_cast<float>(L);
    if (!value_star.empty()) buf.value_star[static_cast<size_t>(r)] = value_star[static_cast<size_t>(r / G)];
    for (int t = 0; t < L; ++t) {
      const size_t at = static_cast<size_t>(r) * T + t;
      lp[at] = logp[static_cast<size_t>(r)][static_cast<size_t>(t)];
      buf.old_logp[at] = old[static_cast<size_t>(r)][static_cast<size_t>(t)];
      rlp[at] = ref[static_cast<size_t>(r)][static_cast<size_t>(t)];
      buf.token_mean[at] = 1.0f / static_cast<float>(N);
    }
  }
  std::vector<float> scratch;
  const int masked = fill_token_weights(
      o, R, T, 0, lengths.data(), max_len, [&truncated](int r) { return truncated[static_cast<size_t>(r)] != 0; },
      [&entropy](int r, int k) { return entropy[static_cast<size_t>(r)][static_cast<size_t>(k)]; }, scratch,
      buf.weights.data(), buf.kl_weights.data());
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

// --- preference losses (preference_losses.hpp) ---

// A field table without loss_type: the lab's loss is named on the command line.
std::vector<FieldSpec> without_loss_type(const std::vector<FieldSpec>& fields) {
  std::vector<FieldSpec> out;
  for (const FieldSpec& f : fields) {
    if (f.name != "loss_type") out.push_back(f);
  }
  return out;
}
const std::vector<FieldSpec>& pair_lab_fields() {
  static const std::vector<FieldSpec> fields = without_loss_type(preference_loss_fields());
  return fields;
}
const std::vector<FieldSpec>& unpaired_lab_fields() {
  static const std::vector<FieldSpec> fields = without_loss_type(unpaired_loss_fields());
  return fields;
}

json resolve_fields(const std::vector<FieldSpec>& fields, const json& options) {
  try {
    return resolve_options(fields, options, "loss lab");
  } catch (const TaskError& e) {
    throw LossLabError(e.what());
  }
}

void check_columns(const json& input, const std::vector<std::string>& known, const std::string& what) {
  if (!input.is_object()) throw LossLabError("the input must be a JSON object with " + what + " columns (see the README's loss lab)");
  for (auto it = input.begin(); it != input.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      throw LossLabError("unknown column '" + it.key() + "' for " + what + " losses; columns: " + join(known));
    }
  }
}

std::vector<float> required_column(const json& input, const std::string& column, size_t expected, const std::string& loss,
                                   const char* what) {
  if (!input.contains(column))
    throw LossLabError("loss '" + loss + "' needs the column '" + column + "' (" + what + ")");
  return number_list(input, column, expected, "per pair");
}

// The gradient and the values of an [n] tensor of a graph, as JSON lists.
json gradient_list(const Graph& g, Expr e, int n) {
  const float* grad = g.gradient(e);
  json out = json::array();
  for (int i = 0; i < n; ++i) out.push_back(grad ? grad[i] : 0.0f);
  return out;
}
json value_list(const Graph& g, Expr e, int n) {
  const float* v = g.values(e);
  json out = json::array();
  for (int i = 0; i < n; ++i) out.push_back(v[i]);
  return out;
}

// A preference loss, or a comma-separated list of them (whose bad entries the pair loss names).
bool is_pair_loss_list(const std::string& name) {
  return name.find(',') != std::string::npos || find_preference_loss(name) != nullptr;
}

json evaluate_pair_loss(const std::string& loss_type, const json& input, const json& options) {
  json values = resolve_fields(pair_lab_fields(), options);
  values["loss_type"] = loss_type;
  const bool needs_reference = preference_loss_needs_reference(values);
  const bool needs_tokens = preference_loss_needs_tokens(values);
  check_columns(input,
                {"chosen_logps", "rejected_logps", "ref_chosen_logps", "ref_rejected_logps", "chosen_tokens",
                 "rejected_tokens", "bco_delta"},
                "pair");
  const std::vector<float> chosen = required_column(input, "chosen_logps", 0, loss_type, "the policy's summed log-prob of each chosen completion");
  const size_t P = chosen.size();
  if (P == 0) throw LossLabError("column 'chosen_logps' must have at least one pair");
  const std::vector<float> rejected = required_column(input, "rejected_logps", P, loss_type, "one per pair");
  std::vector<float> ref_chosen(P, 0.0f), ref_rejected(P, 0.0f), chosen_tokens(P, 1.0f), rejected_tokens(P, 1.0f);
  if (needs_reference || input.contains("ref_chosen_logps"))
    ref_chosen = required_column(input, "ref_chosen_logps", P, loss_type, "the reference's log-prob of each chosen completion");
  if (needs_reference || input.contains("ref_rejected_logps"))
    ref_rejected = required_column(input, "ref_rejected_logps", P, loss_type, "the reference's log-prob of each rejected completion");
  for (auto [column, target] : {std::pair<const char*, std::vector<float>*>{"chosen_tokens", &chosen_tokens},
                                {"rejected_tokens", &rejected_tokens}}) {
    if (!needs_tokens && !input.contains(column)) continue;
    *target = required_column(input, column, P, loss_type, "completion token counts, for the per-token averages");
    for (size_t i = 0; i < P; ++i) {
      if ((*target)[i] < 1.0f)
        throw LossLabError("column '" + std::string(column) + "' entry " + std::to_string(i) + " must be at least 1, got " +
                           std::to_string((*target)[i]));
    }
  }
  const auto terms = preference_loss_terms(values);
  bool has_bco = false, has_orpo = false;
  for (const auto& [name, weight] : terms) {
    has_bco |= name == "bco_pair";
    has_orpo |= name == "orpo";
  }
  if (has_orpo) {
    for (size_t i = 0; i < P; ++i) {
      if (!(chosen[i] / chosen_tokens[i] < 0) || !(rejected[i] / rejected_tokens[i] < 0))
        throw LossLabError("loss 'orpo' needs log-probs below 0 (a probability below 1): pair " + std::to_string(i));
    }
  }
  // BCO's delta: the column when given; else 0 (TRL 1.x), or with bco_running_mean this batch's
  // mean reward, TRL 0.x's running mean after its first batch (the graph computes it).
  const bool bco_column = input.contains("bco_delta");
  float bco_delta = 0.0f;
  if (bco_column) {
    if (!is_float_number(input["bco_delta"]))
      throw LossLabError("column 'bco_delta' must be a number (BCO's reward shift)");
    bco_delta = input["bco_delta"].get<float>();
  }

  Graph g;
  const Dim pairs = g.dim(g.size_var("pairs", static_cast<int>(P)));
  PairLossInputs in;
  in.chosen_logps = g.input("chosen_logps", {pairs});
  in.rejected_logps = g.input("rejected_logps", {pairs});
  in.ref_chosen_logps = g.input("ref_chosen_logps", {pairs});
  in.ref_rejected_logps = g.input("ref_rejected_logps", {pairs});
  in.chosen_tokens = g.input("chosen_tokens", {pairs});
  in.rejected_tokens = g.input("rejected_tokens", {pairs});
  const PairLossOutputs out = build_pair_loss(g, in, values);
  if (bco_column && g.has_param("bco_delta")) g.set_param("bco_delta", bco_delta);
  if (bco_column && g.has_param("bco_mean")) {  // running mean: the column as the mean, this batch not added
    g.set_param("bco_mean", bco_delta);
    g.set_param("bco_mean_weight", 1.0f);
  }
  g.bind(in.chosen_logps, chosen.data());
  g.bind(in.rejected_logps, rejected.data());
  g.bind(in.ref_chosen_logps, ref_chosen.data());
  g.bind(in.ref_rejected_logps, ref_rejected.data());
  g.bind(in.chosen_tokens, chosen_tokens.data());
  g.bind(in.rejected_tokens, rejected_tokens.data());
  g.forward();
  g.backward(out.loss);
  const int n = static_cast<int>(P);
  json outputs = {{"chosen_rewards", value_list(g, out.chosen_rewards, n)},
                  {"rejected_rewards", value_list(g, out.rejected_rewards, n)},
                  {"margin", g.scalar(out.margin)},
                  {"accuracy", g.scalar(out.accuracy)},
                  {"reward_mean", g.scalar(out.reward_mean)}};
  if (has_bco) outputs["bco_delta"] = !bco_column && g.has_output("bco_batch_mean") ? g.output("bco_batch_mean") : bco_delta;
  json term_list = json::array();
  for (const auto& [name, weight] : terms) term_list.push_back({{"loss_type", name}, {"weight", weight}});
  return {{"loss_name", loss_type},
          {"loss", g.scalar(out.loss)},
          {"terms", term_list},
          {"outputs", outputs},
          {"gradient", {{"chosen_logps", gradient_list(g, in.chosen_logps, n)},
                        {"rejected_logps", gradient_list(g, in.rejected_logps, n)}}},
          {"formula", g.to_string(out.loss)}};
}

json evaluate_unpaired_loss(const PreferenceLossInfo& info, const json& input, const json& options) {
  json values = resolve_fields(unpaired_lab_fields(), options);
  values["loss_type"] = info.name;
  const std::string name = info.name;
  check_columns(input, {"logps", "ref_logps", "desirable", "kl"}, "unpaired");
  if (!input.contains("logps")) throw LossLabError("loss '" + name + "' needs the column 'logps' (the policy's summed log-prob per example)");
  const std::vector<float> logps = number_list(input, "logps", 0, "per example");
  const size_t N = logps.size();
  if (N == 0) throw LossLabError("column 'logps' must have at least one example");
  if (!input.contains("ref_logps")) throw LossLabError("loss '" + name + "' needs the column 'ref_logps' (the reference's, per example)");
  const std::vector<float> ref = number_list(input, "ref_logps", N, "per example");
  if (!input.contains("desirable")) throw LossLabError("loss '" + name + "' needs the column 'desirable' (true/false or 1/0 per example)");
  const json& d = input["desirable"];
  if (!d.is_array() || d.size() != N)
    throw LossLabError("column 'desirable' must have " + std::to_string(N) + " entries (one per example)");
  std::vector<float> desirable;
  for (size_t i = 0; i < N; ++i) {
    if (d[i].is_boolean()) desirable.push_back(d[i].get<bool>() ? 1.0f : 0.0f);
    else if (d[i].is_number() && (d[i].get<double>() == 0 || d[i].get<double>() == 1)) desirable.push_back(d[i].get<float>());
    else throw LossLabError("column 'desirable' entry " + std::to_string(i) + " must be true/false or 1/0, got " + d[i].dump());
  }
  float kl = 0.0f;
  if (name == "kto" && !input.contains("kl"))
    throw LossLabError("loss 'kto' needs the column 'kl': the reference point z0, max(0, mean(logp - ref_logp)) of mismatched completions");
  if (input.contains("kl")) {
    if (!is_float_number(input["kl"]))
      throw LossLabError("column 'kl' must be a number (KTO's reference point z0)");
    kl = input["kl"].get<float>();
  }
  Graph g;
  const Dim examples = g.dim(g.size_var("examples", static_cast<int>(N)));
  UnpairedLossInputs in;
  in.logps = g.input("logps", {examples});
  in.ref_logps = g.input("ref_logps", {examples});
  in.desirable = g.input("desirable", {examples});
  in.kl = g.input("kl", {Dim(1)});
  const UnpairedLossOutputs out = build_unpaired_loss(g, in, values);
  g.bind(in.logps, logps.data());
  g.bind(in.ref_logps, ref.data());
  g.bind(in.desirable, desirable.data());
  g.bind(in.kl, &kl);
  g.forward();
  g.backward(out.loss);
  const int n = static_cast<int>(N);
  json outputs = {{"rewards", value_list(g, out.rewards, n)},
                  {"chosen_rewards", g.scalar(out.chosen_rewards)},
                  {"rejected_rewards", g.scalar(out.rejected_rewards)},
                  {"margin", g.scalar(out.margin)},
                  {"kl", g.scalar(out.kl)}};
  return {{"loss_name", name},
          {"loss", g.scalar(out.loss)},
          {"outputs", outputs},
          {"gradient", {{"logps", gradient_list(g, in.logps, n)}}},
          {"formula", g.to_string(out.loss)}};
}

json preference_catalog(const std::vector<PreferenceLossInfo>& table) {
  json out = json::array();
  for (const PreferenceLossInfo& l : table)
    out.push_back({{"name", l.name}, {"summary", l.summary}, {"reference", l.reference}, {"inputs", l.inputs},
                   {"options", l.options}, {"reference_free", l.reference_free}});
  return out;
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
    for (const char* common : kEveryLossOptions) options.push_back(common);
    losses_json.push_back({{"name", l.name}, {"summary", l.summary}, {"reference", l.reference}, {"inputs", inputs},
                           {"options", options}});
  }
  return {{"estimators", estimators_json},
          {"losses", losses_json},
          {"fields", fields_to_json(lab_fields())},
          {"preference_losses", preference_catalog(preference_losses())},
          {"preference_fields", fields_to_json(pair_lab_fields())},
          {"unpaired_losses", preference_catalog(unpaired_losses())},
          {"unpaired_fields", fields_to_json(unpaired_lab_fields())}};
}

namespace {

// The first non-finite number in a result ("gradient.logp[0][0]"), or "" when every one is finite.
std::string first_non_finite(const json& j, const std::string& path) {
  if (j.is_number_float()) return std::isfinite(j.get<double>()) ? "" : path;
  if (j.is_array())
    for (size_t i = 0; i < j.size(); ++i) {
      const std::string p = first_non_finite(j[i], path + "[" + std::to_string(i) + "]");
      if (!p.empty()) return p;
    }
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string p = first_non_finite(it.value(), path.empty() ? it.key() : path + "." + it.key());
      if (!p.empty()) return p;
    }
  return "";
}

json evaluate_any(const std::string& name, const json& input, const json& options);

}  // namespace

// Training stops on a non-finite loss; the lab refuses one instead of printing null (what JSON makes
// of NaN and infinity) as if it were a result.
json evaluate_loss_lab(const std::string& name, const json& input, const json& options) {
  if (!input.is_object())
    throw LossLabError(std::string("the input must be a JSON object of columns, got ") + input.type_name() +
                       " (see policylab loss --help)");
  json result = evaluate_any(name, input, options);
  const std::string bad = first_non_finite(result, "");
  if (!bad.empty())
    throw LossLabError("'" + bad + "' is not finite (NaN or infinity) for this input: a float overflowed (exp of a " +
                       "log-ratio above 88, for one) or the formula is undefined there");
  return result;
}

namespace {

json evaluate_any(const std::string& name, const json& input, const json& options) {
  // Preference losses read pair (or, KTO, unpaired) columns and their own options.
  try {
    if (is_pair_loss_list(name)) return evaluate_pair_loss(name, input, options);
    if (const PreferenceLossInfo* u = find_unpaired_loss(name)) return evaluate_unpaired_loss(*u, input, options);
  } catch (const ConfigError& e) {
    throw LossLabError(e.what());
  } catch (const json::exception& e) {
    throw LossLabError(std::string("malformed input: ") + e.what());
  }
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
  // An estimator reads only its own options: another one (epsilon for rloo) would change nothing,
  // so it is refused by name rather than silently ignored.
  if (e) refuse_unread_options("estimator '" + std::string(e->name) + "'", e->options, options, "");
  // A loss likewise: its own options, the KL and mask options every loss takes, and, when the
  // advantages come from the rewards (no 'advantages' column), the estimator and its options.
  if (l) {
    std::vector<std::string> reads = l->options;
    reads.insert(reads.end(), std::begin(kEveryLossOptions), std::end(kEveryLossOptions));
    if (std::find(reads.begin(), reads.end(), "loss_agg_mode") != reads.end()) reads.push_back("max_completion_length");
    if (!input.contains("advantages")) {
      reads.push_back("advantage_estimator");
      if (const EstimatorInfo* used = find_estimator(values.at("advantage_estimator").get<std::string>()))
        reads.insert(reads.end(), used->options.begin(), used->options.end());
    }
    refuse_unread_options("loss '" + std::string(l->name) + "'", reads, options,
                          input.contains("advantages") ? " with an 'advantages' column" : "");
  }
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
  for (const PreferenceLossInfo& l : preference_losses()) names += std::string(", ") + l.name;
  for (const PreferenceLossInfo& l : unpaired_losses()) names += std::string(", ") + l.name;
  throw LossLabError("unknown estimator or loss '" + name + "'; known: " + names);
}

}  // namespace

}  // namespace pl
