#include "core/algos/preference_pairs.hpp"

#include <cmath>
#include <fstream>

namespace pl {

GoldReward gold_reward_from_config(const SequenceTask& task, const json& values) {
  try {
    return GoldReward(task, gold_reward_options(values));
  } catch (const PreferenceDataError& e) {
    throw ConfigError(e.what());
  }
}

bool preference_file_exists(const std::string& path) { return std::ifstream(path).good(); }

PreferenceDataset load_preference_file(const std::string& path, const SequenceTask& task) {
  if (!preference_file_exists(path)) throw ConfigError("field 'dataset': cannot open preference file '" + path + "'");
  try {
    return read_preferences(path, task);
  } catch (const PreferenceDataError& e) {
    throw ConfigError(std::string("field 'dataset': ") + e.what());
  }
}

int preference_train_count(int n, double eval_fraction, const SequenceTask& task, int context) {
  const int held = static_cast<int>(std::floor(eval_fraction * n + 0.5));
  if (n - held < 1)
    throw ConfigError("field 'eval_fraction': " + std::to_string(eval_fraction) + " of " + std::to_string(n) +
                      " pairs leaves none to train on");
  if (task.max_prompt_length() + task.max_completion_length() > context)
    throw ConfigError("the model's context is too short for the task's sequences");
  return n - held;
}

void PairOrder::shuffle() {
  for (int i = static_cast<int>(order.size()) - 1; i > 0; --i)
    std::swap(order[static_cast<size_t>(i)], order[rng.below(static_cast<uint32_t>(i + 1))]);
}

const int* PairOrder::next(int n) {
  if (cursor + n > static_cast<int>(order.size())) {
    shuffle();
    cursor = 0;
    ++epoch;
  }
  const int* out = order.data() + cursor;
  cursor += n;
  return out;
}

void PairOrder::write(ByteWriter& w) const {
  put_rng(w, rng);
  w.put<int64_t>(cursor);
  w.put<int64_t>(epoch);
  w.put_array(order.data(), order.size());
}

void PairOrder::read(ByteReader& r, int limit) {
  get_rng(r, rng, "pair order rng");
  cursor = static_cast<int>(r.get<int64_t>("dataset cursor"));
  epoch = r.get<int64_t>("epoch");
  r.get_array(order.data(), order.size(), "pair order");
  for (int i : order)
    if (i < 0 || i >= limit) throw FormatError("pair order out of range");
  if (cursor < 0 || cursor > static_cast<int>(order.size())) throw FormatError("dataset cursor out of range");
}

namespace {
void put_ints(ByteWriter& w, const std::vector<int>& v) {
  w.put<uint64_t>(v.size());
  w.put_array(v.data(), v.size());
}
// A completion from a checkpoint: within the task's lengths and the vocabulary (the batch layouts
// rely on both).
void get_ints(ByteReader& r, std::vector<int>& v, const SequenceTask& task, int vocab) {
  const uint64_t n = r.get<uint64_t>("completion length");
  if (n < 1 || n > static_cast<uint64_t>(task.max_completion_length()))
    throw FormatError("bad completion length in a preference pair");
  v.assign(static_cast<size_t>(n), 0);
  r.get_array(v.data(), v.size(), "completion");
  for (int t : v)
    if (t < 0 || t >= vocab) throw FormatError("bad token in a preference pair");
}
}  // namespace

void write_preference_pairs(ByteWriter& w, const SequenceTask& task, const PreferenceDataset& data) {
  w.put<int64_t>(static_cast<int64_t>(data.pairs.size()));
  const Vocabulary& v = task.vocab();
  for (const PreferencePair& p : data.pairs) {
    w.put_string(v.decode(p.problem.prompt));
    put_ints(w, p.chosen);
    put_ints(w, p.rejected);
  }
}

PreferenceDataset read_preference_pairs(ByteReader& r, const SequenceTask& task, int vocab) {
  const int64_t n = r.get<int64_t>("preference pairs");
  if (n < 1 || n > 100000000) throw FormatError("bad number of preference pairs");
  PreferenceDataset data;
  for (int64_t i = 0; i < n; ++i) {
    PreferencePair p;
    p.problem = task.make_problem();
    try {
      task.parse_prompt(r.get_string("preference prompt"), p.problem);
    } catch (const TaskError& e) {
      throw FormatError(std::string("preference pair: ") + e.what());
    }
    get_ints(r, p.chosen, task, vocab);
    get_ints(r, p.rejected, task, vocab);
    data.pairs.push_back(std::move(p));
  }
  return data;
}

}  // namespace pl
