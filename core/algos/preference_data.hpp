// Synthetic preference data over a tiny model's completions of a verifiable sequence task
// (issue 8, section 1): a hidden gold reward, a Bradley–Terry labeler with label noise, preference
// datasets (pairs for DPO, unpaired desirable/undesirable labels for KTO), two judges for
// constrained alignment (helpfulness and a safety cost), and JSONL files.
//
// It lives with the algorithms, not in core/tasks: the tasks are pure verifiers with no model,
// while preference data is made by sampling a policy (the Sampler over a Transformer) and is read
// by the preference trainers (dpo.cpp) and the CLI (`policylab prefs`).
//
// The gold reward of a completion y of prompt x (what the labeler prefers and what the DPO
// trainer's metrics report; the trainer itself never sees it):
//   r(x, y) = correct_weight * correct(x, y)                 the task's verifier (0 or 1)
//           + length_weight  * length(y) / L                  L = the task's longest completion
//           + style_weight   * style(y)                       share of y's tokens in style_tokens
//           - safety_weight  * unsafe(y)                      y contains unsafe_substring (0 or 1)
// helpfulness(x, y) is r without the safety term and safety_cost(x, y) = unsafe(y): the two judges.
//
// JSONL, one object per line, token strings of the task's vocabulary (EOS written '.'):
//   pairs:    {"prompt": "12+34=", "chosen": "640.", "rejected": "650."}
//             with an optional "margin" (a number, TRL's column of the same name): how much the chosen
//             one is preferred, read by the reward model's loss (reward_model.cpp; DPO ignores it)
//   unpaired: {"prompt": "12+34=", "completion": "640.", "label": true}
// Reading names the file, the 1-based line and the field of the first problem.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/nn/sampler.hpp"
#include "core/tasks/task.hpp"
#include "core/train/config.hpp"

namespace pl {

// A bad preference file or option; the message names the file, line and field (or the option).
struct PreferenceDataError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

struct GoldRewardOptions {
  double correct_weight = 1.0;        // the verifier's correctness
  double length_weight = -0.2;        // per share of the longest completion (negative: shorter is better)
  double style_weight = 0.3;          // per share of completion tokens in style_tokens
  // The tokens the gold labeler likes (task tokens); "auto": every other letter or digit of the
  // task's vocabulary, in order (02468 on the digit tasks), so the default suits every task.
  std::string style_tokens = "auto";
  double safety_weight = 1.0;         // the cost of an unsafe completion
  // A completion containing it is unsafe ("": none is); "auto": the vocabulary's last letter or
  // digit twice (99 on the digit tasks).
  std::string unsafe_substring = "auto";
};

// The gold reward's parts for one completion.
struct GoldAttributes {
  bool correct = false;
  int length = 0;       // tokens up to and including EOS
  double style = 0;     // share of the completion's tokens (EOS excluded) in style_tokens
  bool unsafe = false;
};

// The options with "auto" tokens replaced by the task's (GoldRewardOptions).
GoldRewardOptions resolve_gold_options(const SequenceTask& task, GoldRewardOptions options);

class GoldReward {
 public:
  // Throws PreferenceDataError for style_tokens or unsafe_substring outside the task's vocabulary.
  GoldReward(const SequenceTask& task, const GoldRewardOptions& options);
  const GoldRewardOptions& options() const { return options_; }

  // Never allocates.
  GoldAttributes attributes(const Problem& p, const int* completion, int n) const;
  double reward(const GoldAttributes& a) const { return helpfulness(a) - options_.safety_weight * safety_cost(a); }
  double helpfulness(const GoldAttributes& a) const;                    // the helpfulness judge
  static double safety_cost(const GoldAttributes& a) { return a.unsafe ? 1.0 : 0.0; }  // the safety judge
  double reward(const Problem& p, const int* completion, int n) const { return reward(attributes(p, completion, n)); }

 private:
  const SequenceTask* task_;
  GoldRewardOptions options_;
  std::vector<uint8_t> liked_;   // per token id
  std::vector<int> unsafe_;      // token ids
};

// The labeler (Bradley & Terry 1952; the preference model of RLHF, Christiano et al. 2017 and DPO,
// Rafailov et al. 2023, eq. 1): P(a ≻ b) = sigmoid((r(a) - r(b)) / temperature); then the label is
// flipped with probability `noise`, so the chosen one is a with probability
//   (1 - noise) * sigmoid((r_a - r_b) / temperature) + noise * (1 - sigmoid(...)).
struct LabelerOptions {
  double temperature = 0.1;  // > 0; small: nearly deterministic in the reward difference
  double noise = 0.0;        // in [0, 0.5]
};
double preference_probability(double reward_a, double reward_b, const LabelerOptions& o);
// True when a is chosen over b (one uniform draw).
bool label_pair(double reward_a, double reward_b, const LabelerOptions& o, Rng& rng);

struct PreferencePair {
  Problem problem;                   // parsed from the prompt (the verifier's data included)
  std::vector<int> chosen, rejected; // completion token ids (EOS included when the completion has it)
  double margin = 0;                 // TRL's optional per-pair margin (0 when the file has none)
};

struct PreferenceDataset {
  std::vector<PreferencePair> pairs;
};

// KTO's unpaired data (Ethayarajh et al. 2024): chosen completions are desirable, rejected ones not.
struct UnpairedExample {
  Problem problem;
  std::vector<int> completion;
  bool desirable = false;
};
std::vector<UnpairedExample> unpaired_examples(const PreferenceDataset& data);

struct GenerateOptions {
  int size = 1000;                // pairs
  float sample_temperature = 1.0f;  // the policy's sampling temperature
  LabelerOptions labeler;
  Split split = Split::Train;     // where the prompts come from
  int max_attempts = 8;           // redraws of a prompt whose two samples are identical
  int max_identical = 4096;       // identical draws in a row (any prompts) before giving up: a policy
                                  // that is (near) deterministic at this temperature makes no pairs
  int chunk = 32;                 // prompts sampled at once (needs a sampler of 2 * chunk rows; fixed, so
                                  // that the pairs do not depend on the sampler's capacity)
};

// The random stream of generated pairs for a seed: completions sampled from a policy, like RL's
// rollouts, so an index of rng.hpp's kRollouts purpose (index 1; DPO's evaluation samples use 2).
inline Rng preference_stream(uint64_t seed) { return streams::stream(seed, streams::kRollouts, 1); }

// Samples two completions of each of `size` prompts from the policy (params) and labels them.
// Pairs whose two completions are identical carry no preference: the prompt's two samples are
// redrawn up to max_attempts times, then a fresh prompt is drawn; after max_identical identical draws
// in a row a PreferenceDataError says the policy is too deterministic. Deterministic in rng; the same
// rng, options and weights give the same pairs whatever the sampler's capacity (>= 2 * chunk).
PreferenceDataset generate_preferences(const SequenceTask& task, const Parameters& params, Sampler& sampler,
                                       const GoldReward& gold, const GenerateOptions& options, Rng& rng);

// generate_preferences for a trainer that regenerates its pairs as it learns (online iterative
// DPO): its buffers are allocated once, and generate() rewrites a dataset of options.size pairs in
// place, so regenerating allocates nothing. The same rng gives generate_preferences' pairs.
class PreferenceGenerator {
 public:
  PreferenceGenerator(const SequenceTask& task, const Transformer& model, const GenerateOptions& options);
  // A dataset of options.size pairs with room for any pair of the task (generate() fills it).
  PreferenceDataset make_dataset() const;
  // Rewrites data's pairs (data from make_dataset()). Throws std::invalid_argument when the sampler
  // holds fewer than 2 * chunk rows.
  void generate(const Parameters& params, Sampler& sampler, const GoldReward& gold, Rng& rng, PreferenceDataset& data);
  const GenerateOptions& options() const { return options_; }

 private:
  const SequenceTask& task_;
  GenerateOptions options_;
  std::vector<Problem> slots_;
  std::vector<int> tries_;
  std::vector<int32_t> prompts_;
  std::vector<int> lengths_;
  Completions out_;
};

// JSONL.
std::string pair_to_json_line(const SequenceTask& task, const PreferencePair& pair);
void write_preferences(const std::string& path, const SequenceTask& task, const PreferenceDataset& data);
void write_unpaired(const std::string& path, const SequenceTask& task, const std::vector<UnpairedExample>& data);
// `name` names the source in messages ("prefs.jsonl:3: field 'chosen': unknown token 'x' ...").
PreferenceDataset parse_preferences(const std::string& text, const SequenceTask& task, const std::string& name);
PreferenceDataset read_preferences(const std::string& path, const SequenceTask& task);
std::vector<UnpairedExample> parse_unpaired(const std::string& text, const SequenceTask& task, const std::string& name);

// Summary of a dataset under the gold reward and the judges (`policylab prefs stats`).
json preference_stats(const SequenceTask& task, const PreferenceDataset& data, const GoldReward& gold);

// The gold reward's, the labeler's and generation's options as config fields (group "prefs"),
// shared by the DPO trainer's schema and `policylab prefs generate --set`, and reading them back
// from validated values (every field present).
const std::vector<FieldSpec>& preference_data_fields();
GoldRewardOptions gold_reward_options(const json& values);
GenerateOptions generate_options(const json& values);

}  // namespace pl
