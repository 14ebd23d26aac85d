// Sequence tasks (core/tasks): vocabularies, generators and their train/held-out split, verifiers on
// hand-written answers, exact length bounds, the registry's option validation, and the reward terms
// against hand-computed values.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/tasks/addition.hpp"
#include "core/tasks/countdown.hpp"
#include "core/tasks/registry.hpp"
#include "core/tasks/rewards.hpp"
#include "core/tasks/string_tasks.hpp"

// Reads the allocation counter; test_training.cpp defines the counting operator new for this binary.
#include "core/util/allocation_count.hpp"

using pl::json;
using pl::Problem;
using pl::Score;
using pl::SequenceTask;
using pl::Split;

namespace {

struct Config {
  std::string task;
  json options;
};

// Default options of every task plus corners: smallest and largest spaces, budgets, variable lengths.
const std::vector<Config>& configs() {
  static const std::vector<Config> list = {
      {"addition", json::object()},
      {"addition", {{"digits", 1}}},
      {"addition", {{"digits", 6}, {"reverse_answer", false}}},
      {"sort", json::object()},
      {"sort", {{"list_length", 2}}},
      {"sort", {{"list_length", 8}}},
      {"reverse", json::object()},
      {"reverse", {{"length", 12}, {"min_length", 1}, {"length_budget", true}}},
      {"reverse", {{"length", 3}, {"alphabet_size", 2}}},
      {"copy", json::object()},
      {"copy", {{"length", 7}, {"min_length", 2}, {"alphabet_size", 3}, {"length_budget", true}}},
      {"countdown", json::object()},
      {"countdown", {{"num_count", 2}}},
      {"countdown", {{"num_count", 4}, {"length_budget", true}}},
      {"countdown", {{"num_count", 4}, {"max_number", 99}}},
      {"countdown", {{"num_count", 2}, {"max_number", 3}, {"max_target", 10}}},
  };
  return list;
}

std::string label(const Config& c) { return c.task + " " + c.options.dump(); }

template <typename Fn>
std::string task_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const pl::TaskError& error) {
    return error.what();
  }
  return "";
}

Score score_text(const SequenceTask& task, const Problem& p, const std::string& completion) {
  const std::vector<int> ids = task.vocab().encode(completion, "completion");
  return task.score(p, ids.data(), static_cast<int>(ids.size()));
}

Problem parsed(const SequenceTask& task, const std::string& prompt) {
  Problem p = task.make_problem();
  task.parse_prompt(prompt, p);
  return p;
}

// The content of a problem, what the split is a function of.
std::vector<int64_t> content(const std::string& task, const Problem& p) {
  std::vector<int64_t> key = p.data;
  if (task == "countdown") std::sort(key.begin() + 1, key.end());  // the puzzle is a multiset
  return key;
}

}  // namespace

// ---- Vocabulary --------------------------------------------------------------------------------

TEST_CASE("Vocabulary: PAD and EOS first, one character per token, round trip", "[tasks]") {
  const pl::Vocabulary vocab("0123456789+=");
  CHECK(vocab.size() == 14);
  CHECK(vocab.chars() == "_.0123456789+=");
  CHECK(vocab.token_char(pl::Vocabulary::kPad) == '_');
  CHECK(vocab.token_char(pl::Vocabulary::kEos) == '.');
  CHECK(vocab.id_of('0') == 2);
  CHECK(vocab.id_of('=') == 13);
  CHECK(vocab.id_of('x') == -1);
  CHECK(vocab.token_char(99) == '?');

  const std::string text = "042+317=9530._";
  const std::vector<int> ids = vocab.encode(text);
  CHECK(ids.size() == text.size());
  CHECK(ids[12] == pl::Vocabulary::kEos);
  CHECK(ids[13] == pl::Vocabulary::kPad);
  CHECK(vocab.decode(ids) == text);
  CHECK(vocab.decode(ids.data(), 3) == "042");

  int buffer[8];
  CHECK(vocab.encode_into("12+3", buffer) == -1);
  CHECK(buffer[2] == vocab.id_of('+'));
  CHECK(vocab.encode_into("12x+", buffer) == 2);
}

TEST_CASE("Vocabulary: an unknown token names the character, its position and the vocabulary", "[tasks]") {
  const pl::Vocabulary vocab("0123456789+=");
  CHECK(task_error_of([&] { vocab.encode("12x+456=", "prompt"); }) ==
        "unknown token 'x' at position 3 in prompt \"12x+456=\" (vocabulary: 0123456789+=)");
  CHECK_THAT(task_error_of([&] { vocab.encode("1 2"); }), Catch::Contains("unknown token ' ' at position 2"));
  CHECK_THAT(task_error_of([] { pl::Vocabulary("abca"); }), Catch::Contains("'a' appears twice"));
  CHECK_THAT(task_error_of([] { pl::Vocabulary("ab."); }), Catch::Contains("reserved"));
  CHECK_THAT(task_error_of([] { pl::Vocabulary("a\n"); }), Catch::Contains("not a printable"));
}

// ---- Registry ----------------------------------------------------------------------------------

TEST_CASE("Registry: tasks, defaults, vocabularies and lengths at default options", "[tasks]") {
  std::vector<std::string> ids;
  for (const pl::TaskSpec& spec : pl::all_tasks()) ids.push_back(spec.id);
  CHECK(ids == std::vector<std::string>{"addition", "sort", "reverse", "copy", "countdown"});

  struct Expected {
    const char* id;
    const char* vocabulary;
    int prompt, completion;
  };
  const Expected expected[] = {
      {"addition", "_.0123456789+=", 8, 5},
      {"sort", "_.0123456789=", 6, 6},
      {"reverse", "_.abcdefgh=", 6, 6},
      {"copy", "_.abcdefgh=", 6, 6},
      {"countdown", "_.0123456789+-*(),>:", 9, 8},
  };
  for (const Expected& e : expected) {
    INFO(e.id);
    const auto task = pl::make_task(e.id);
    CHECK(task->id() == e.id);
    CHECK(task->vocab().chars() == e.vocabulary);
    CHECK(task->max_prompt_length() == e.prompt);
    CHECK(task->max_completion_length() == e.completion);
    // options() echoes every field at its default.
    for (const pl::FieldSpec& f : pl::task_spec(e.id).fields) CHECK(task->options().at(f.name) == f.default_value);
  }
  CHECK(pl::make_task("addition")->vocab().size() == 14);
}

TEST_CASE("Registry: fields are documented, in group 'task', and a shared name means one thing", "[tasks]") {
  std::map<std::string, const pl::FieldSpec*> seen;
  for (const pl::TaskSpec& spec : pl::all_tasks()) {
    CHECK_FALSE(spec.summary.empty());
    for (const pl::FieldSpec& f : spec.fields) {
      INFO(spec.id << "." << f.name);
      CHECK(f.group == "task");
      CHECK_FALSE(f.doc.empty());
      const auto it = seen.find(f.name);
      if (it == seen.end()) {
        seen[f.name] = &f;
      } else {
        // Same name in two tasks: same type, range, default and doc.
        CHECK(it->second->type == f.type);
        CHECK(it->second->min == f.min);
        CHECK(it->second->max == f.max);
        CHECK(it->second->default_value == f.default_value);
        CHECK(it->second->doc == f.doc);
      }
    }
  }
  CHECK(seen.count("heldout_fraction") == 1);
  CHECK(seen.count("length_budget") == 1);
}

TEST_CASE("Registry: unknown tasks, unknown options and out-of-range values are named", "[tasks]") {
  CHECK(task_error_of([] { pl::task_spec("adition"); }) ==
        "unknown task 'adition' (tasks: addition, sort, reverse, copy, countdown)");
  CHECK(task_error_of([] { pl::make_task("addition", {{"digit", 3}}); }) ==
        "task 'addition' has no field 'digit' (did you mean 'digits'?); fields: digits, reverse_answer, "
        "heldout_fraction, think_mode, think_share");
  CHECK(task_error_of([] { pl::make_task("addition", {{"digits", 9}}); }) ==
        "task 'addition': field 'digits' must be an integer in [1, 6], got 9");
  CHECK(task_error_of([] { pl::make_task("sort", {{"list_length", 2.5}}); }) ==
        "task 'sort': field 'list_length' must be an integer in [2, 8], got 2.5");
  CHECK(task_error_of([] { pl::make_task("countdown", {{"length_budget", "yes"}}); }) ==
        "task 'countdown': field 'length_budget' must be true or false, got \"yes\"");
  CHECK(task_error_of([] { pl::make_task("copy", {{"heldout_fraction", 0.9}}); }) ==
        "task 'copy': field 'heldout_fraction' must be a float in [0.01, 0.5], got 0.9");
  CHECK_THAT(task_error_of([] { pl::make_task("reverse", {{"min_length", 7}}); }),
             Catch::Contains("'min_length' (7) must be at most field 'length' (5)"));
  CHECK_THAT(task_error_of([] { pl::make_task("sort", json::array({1})); }), Catch::Contains("must be a JSON object"));
  // Integral floats are integers; null means all defaults.
  CHECK(pl::make_task("addition", {{"digits", 2.0}})->max_prompt_length() == 6);
  CHECK(pl::make_task("sort", nullptr)->max_prompt_length() == 6);
}

TEST_CASE("Registry: describe_task gives vocabulary, lengths, options and an example", "[tasks]") {
  const auto task = pl::make_task("countdown", {{"length_budget", true}});
  const json d = pl::describe_task(*task);
  CHECK(d["id"] == "countdown");
  CHECK(d["vocabulary"] == task->vocab().chars());
  CHECK(d["vocab_size"] == task->vocab().size());
  CHECK(d["max_prompt_length"] == task->max_prompt_length());
  CHECK(d["max_completion_length"] == task->max_completion_length());
  CHECK(d["options"]["length_budget"] == true);
  CHECK(d["fields"].size() == pl::task_spec("countdown").fields.size());
  // The example is a real problem: its reference is right for its prompt, and it is stable.
  const Problem p = parsed(*task, d["example"]["prompt"].get<std::string>());
  CHECK(score_text(*task, p, d["example"]["reference"].get<std::string>()).correct);
  CHECK(pl::describe_task(*task) == d);
  for (const pl::TaskSpec& spec : pl::all_tasks()) CHECK_NOTHROW(pl::describe_task(*pl::make_task(spec.id)));
}

// ---- Generators, splits, bounds ----------------------------------------------------------------

TEST_CASE("References always score correct, in both splits, for every task", "[tasks]") {
  for (const Config& c : configs()) {
    INFO(label(c));
    const auto task = pl::make_task(c.task, c.options);
    pl::Rng rng(7);
    Problem p = task->make_problem();
    std::vector<int> padded;
    for (Split split : {Split::Train, Split::Heldout}) {
      for (int i = 0; i < 1500; ++i) {
        task->sample(split, rng, p);
        INFO(task->vocab().decode(p.prompt) << " -> " << task->vocab().decode(p.reference));
        REQUIRE(!p.reference.empty());
        REQUIRE(p.reference.back() == pl::Vocabulary::kEos);
        CHECK(task->split_of(p) == split);
        // The reference, and the reference followed by padding, as a sampler would return it.
        padded = p.reference;
        padded.resize(static_cast<size_t>(task->max_completion_length()) + 2, pl::Vocabulary::kPad);
        for (const std::vector<int>* completion : {&p.reference, &padded}) {
          const Score s = task->score(p, completion->data(), static_cast<int>(completion->size()));
          REQUIRE(s.correct);
          CHECK(s.well_formed);
          CHECK(s.partial == 1.0f);
          CHECK(s.length == static_cast<int>(p.reference.size()));
        }
        // The prompt as text parses back to the same problem.
        const Problem back = parsed(*task, task->vocab().decode(p.prompt));
        CHECK(back.prompt == p.prompt);
        CHECK(back.data == p.data);
        CHECK(back.length_target == p.length_target);
        const Score s = task->score(back, p.reference.data(), static_cast<int>(p.reference.size()));
        CHECK(s.correct);
      }
    }
  }
}

TEST_CASE("Max lengths are exact: never exceeded and reached", "[tasks]") {
  for (const Config& c : configs()) {
    INFO(label(c));
    const auto task = pl::make_task(c.task, c.options);
    pl::Rng rng(11);
    Problem p = task->make_problem();
    size_t longest_prompt = 0, longest_reference = 0, largest_data = 0;
    for (int i = 0; i < 20000; ++i) {
      task->sample(i % 2 ? Split::Heldout : Split::Train, rng, p);
      longest_prompt = std::max(longest_prompt, p.prompt.size());
      longest_reference = std::max(longest_reference, p.reference.size());
      largest_data = std::max(largest_data, p.data.size());
      if (p.length_target > 0) CHECK(p.length_target == static_cast<int>(p.reference.size()));
    }
    CHECK(static_cast<int>(longest_prompt) == task->max_prompt_length());
    CHECK(static_cast<int>(longest_reference) == task->max_completion_length());
    CHECK(static_cast<int>(largest_data) == task->max_data_size());
  }
  // The countdown context stays small for up to 4 numbers (defaults otherwise).
  const auto four = pl::make_task("countdown", {{"num_count", 4}});
  CHECK(four->max_prompt_length() == 11);
  CHECK(four->max_completion_length() == 12);
  const auto budget = pl::make_task("countdown", {{"num_count", 4}, {"length_budget", true}});
  CHECK(budget->max_prompt_length() + budget->max_completion_length() <= 32);
}

TEST_CASE("Train and held-out problems are disjoint, and the held-out share is the option", "[tasks]") {
  for (const Config& c : configs()) {
    INFO(label(c));
    const auto task = pl::make_task(c.task, c.options);
    pl::Rng rng(3);
    Problem p = task->make_problem();
    std::set<std::vector<int64_t>> train, heldout;
    for (int i = 0; i < 3000; ++i) {
      task->sample(Split::Train, rng, p);
      train.insert(content(c.task, p));
      task->sample(Split::Heldout, rng, p);
      heldout.insert(content(c.task, p));
    }
    std::vector<std::vector<int64_t>> both;
    std::set_intersection(train.begin(), train.end(), heldout.begin(), heldout.end(), std::back_inserter(both));
    CHECK(both.empty());
    CHECK(heldout.size() > 0);
  }

  // Small spaces are enumerated: exactly round(fraction * N) held out (at least 1), and sampling
  // reaches every problem of each split.
  struct Small {
    std::string task;
    json options;
    size_t space, heldout;
  };
  const Small smalls[] = {
      {"addition", {{"digits", 1}}, 100, 10},
      {"sort", {{"list_length", 2}}, 100, 10},
      {"sort", {{"list_length", 2}, {"heldout_fraction", 0.25}}, 100, 25},
      {"reverse", {{"length", 3}, {"alphabet_size", 2}}, 8, 1},
      {"copy", {{"length", 2}, {"min_length", 1}, {"alphabet_size", 2}}, 6, 1},
  };
  for (const Small& s : smalls) {
    INFO(s.task << " " << s.options.dump());
    const auto task = pl::make_task(s.task, s.options);
    pl::Rng rng(5);
    Problem p = task->make_problem();
    std::set<std::vector<int64_t>> train, heldout;
    for (int i = 0; i < 4000; ++i) {
      task->sample(Split::Train, rng, p);
      train.insert(p.data);
      task->sample(Split::Heldout, rng, p);
      heldout.insert(p.data);
    }
    CHECK(heldout.size() == s.heldout);
    CHECK(train.size() == s.space - s.heldout);
  }
  // The smallest countdown space is enumerated too (multisets with their reachable targets).
  const pl::CountdownTask tiny({2, 3, 10, false, 0.1});
  CHECK(tiny.split_rule().space_size() > 0);
  CHECK(tiny.split_rule().heldout_count() >= 1);

  // Large spaces: the share of held-out problems among uniformly drawn ones is the fraction.
  const auto addition = pl::make_task("addition");
  pl::Rng rng(9);
  int held = 0;
  const int draws = 40000;
  char text[16];
  for (int i = 0; i < draws; ++i) {
    std::snprintf(text, sizeof text, "%03u+%03u=", rng.below(1000), rng.below(1000));
    held += addition->split_of(parsed(*addition, text)) == Split::Heldout;
  }
  CHECK(std::abs(static_cast<double>(held) / draws - 0.1) < 0.01);
}

TEST_CASE("Generators are deterministic in the seed, the held-out set is fixed", "[tasks]") {
  for (const Config& c : configs()) {
    INFO(label(c));
    const auto task = pl::make_task(c.task, c.options);
    auto draw = [&](uint64_t seed) {
      pl::Rng rng(seed);
      Problem p = task->make_problem();
      std::vector<std::vector<int>> prompts;
      for (int i = 0; i < 50; ++i) {
        task->sample(i % 3 ? Split::Train : Split::Heldout, rng, p);
        prompts.push_back(p.prompt);
        prompts.push_back(p.reference);
      }
      return prompts;
    };
    CHECK(draw(1) == draw(1));
    CHECK(draw(1) != draw(2));

    const std::vector<Problem> a = task->heldout_set(40, 123), b = task->heldout_set(40, 123);
    REQUIRE(a.size() == 40);
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].prompt == b[i].prompt);
      CHECK(a[i].reference == b[i].reference);
      CHECK(task->split_of(a[i]) == Split::Heldout);
    }
  }
}

TEST_CASE("Difficulty grading covers several buckets", "[tasks]") {
  struct Expected {
    std::string task;
    json options;
    std::set<int> buckets;
  };
  const Expected expected[] = {
      {"addition", json::object(), {0, 1, 2, 3}},
      {"sort", json::object(), {0, 1, 2, 3}},
      {"reverse", {{"min_length", 2}}, {0, 1, 2, 3}},
      {"countdown", json::object(), {0, 1, 2}},  // 3 numbers: at most two '*' or one '*' and one pair
      {"countdown", {{"num_count", 4}}, {0, 1, 2, 3}},
  };
  for (const Expected& e : expected) {
    INFO(e.task);
    const auto task = pl::make_task(e.task, e.options);
    pl::Rng rng(2);
    Problem p = task->make_problem();
    std::set<int> seen;
    for (int i = 0; i < 3000; ++i) {
      task->sample(Split::Train, rng, p);
      seen.insert(p.difficulty);
    }
    CHECK(seen == e.buckets);
  }
  // Addition's difficulty is the number of carries.
  const auto addition = pl::make_task("addition");
  CHECK(parsed(*addition, "999+001=").difficulty == 3);
  CHECK(parsed(*addition, "123+456=").difficulty == 0);
  CHECK(parsed(*addition, "095+005=").difficulty == 2);
  // Sort: inversions in quartiles of the maximum (10 for 5 digits).
  const auto sort = pl::make_task("sort");
  CHECK(parsed(*sort, "12345=").difficulty == 0);
  CHECK(parsed(*sort, "54321=").difficulty == 3);
}

TEST_CASE("sample and score allocate nothing once the problem has capacity", "[tasks]") {
  namespace counter = pl::allocation_counter;
  // The counter counts only if some translation unit of this binary replaced operator new.
  counter::count = 0;
  counter::counting = true;
  int* volatile probe = new int(1);
  counter::counting = false;
  delete probe;
  if (counter::count == 0) {
    WARN("operator new is not counted in this binary; skipping the allocation check");
    return;
  }
  for (const Config& c : configs()) {
    INFO(label(c));
    const auto task = pl::make_task(c.task, c.options);
    pl::Rng rng(4);
    Problem p = task->make_problem();
    task->sample(Split::Train, rng, p);  // warm-up (function-local statics, if any)
    const std::vector<int> completion = p.reference;
    Score total;
    counter::count = 0;
    counter::counting = true;
    for (int i = 0; i < 200; ++i) {
      task->sample(i % 2 ? Split::Heldout : Split::Train, rng, p);
      const Score s = task->score(p, completion.data(), static_cast<int>(completion.size()));
      total.length += s.length;
    }
    counter::counting = false;
    CHECK(counter::count == 0);
    CHECK(total.length > 0);
  }
}

// ---- Verifiers on hand-written answers ---------------------------------------------------------

TEST_CASE("addition: reversed and plain answers, malformed answers, partial credit", "[tasks]") {
  const auto reversed = pl::make_task("addition");
  const Problem p = parsed(*reversed, "042+317=");
  CHECK(reversed->vocab().decode(p.reference) == "9530.");
  CHECK(p.data == std::vector<int64_t>{42, 317});

  Score s = score_text(*reversed, p, "9530.");
  CHECK(s.correct);
  CHECK(s.well_formed);
  CHECK(s.partial == 1.0f);
  CHECK(s.length == 5);
  CHECK(score_text(*reversed, p, "9530.__").correct);
  CHECK(score_text(*reversed, p, "9530.12").correct);  // tokens after EOS are ignored

  s = score_text(*reversed, p, "0359.");  // the plain order is wrong when the reversed one is asked for
  CHECK_FALSE(s.correct);
  CHECK(s.well_formed);
  CHECK(s.partial == Approx(1.0 / 5));  // only the EOS matches the reference position-wise
  s = score_text(*reversed, p, "9531.");
  CHECK_FALSE(s.correct);
  CHECK(s.partial == Approx(4.0 / 5));
  s = score_text(*reversed, p, "953.");  // three digits: not the format
  CHECK_FALSE(s.well_formed);
  CHECK_FALSE(s.correct);
  CHECK(s.length == 4);
  s = score_text(*reversed, p, "9530");  // no EOS
  CHECK_FALSE(s.well_formed);
  CHECK_FALSE(s.correct);
  CHECK(s.length == 4);
  CHECK(s.partial == Approx(4.0 / 5));
  CHECK_FALSE(score_text(*reversed, p, "95+0.").well_formed);
  CHECK_FALSE(score_text(*reversed, p, "9_30.").well_formed);
  CHECK_FALSE(score_text(*reversed, p, ".").well_formed);
  CHECK(score_text(*reversed, p, "").length == 0);

  const auto plain = pl::make_task("addition", {{"reverse_answer", false}});
  const Problem q = parsed(*plain, "042+317=");
  CHECK(plain->vocab().decode(q.reference) == "0359.");
  CHECK(score_text(*plain, q, "0359.").correct);
  CHECK_FALSE(score_text(*plain, q, "9530.").correct);
  CHECK(score_text(*plain, parsed(*plain, "999+999="), "1998.").correct);
  CHECK(score_text(*reversed, parsed(*reversed, "999+999="), "8991.").correct);
}

TEST_CASE("addition with think_mode: Thinking and NoThinking completions, lengths, references", "[tasks][adaptthink]") {
  const auto task = pl::make_task("addition", {{"think_mode", true}});
  CHECK(task->vocab().chars() == "_.0123456789+=TN");
  CHECK(task->max_prompt_length() == 8);       // prompts are unchanged
  CHECK(task->max_completion_length() == 9);   // 'T', 3 carries, 4 answer digits, EOS
  CHECK(task->answer_modes().think == 14);
  CHECK(task->answer_modes().nothink == 15);
  CHECK_FALSE(pl::make_task("addition")->answer_modes().on());
  // 042 + 317 = 359: column sums 2+7 = 9, 4+1 = 5, 0+3 = 3, so no carry anywhere.
  const Problem p = parsed(*task, "042+317=");
  CHECK(p.data == std::vector<int64_t>{42, 317});
  CHECK(task->vocab().decode(p.reference) == "T0009530.");  // think_share 1: always think
  Score s = score_text(*task, p, "T0009530.");
  CHECK(s.correct);
  CHECK(s.well_formed);
  CHECK(s.length == 9);
  s = score_text(*task, p, "N9530.");
  CHECK(s.correct);
  CHECK(s.well_formed);
  CHECK(s.length == 6);
  CHECK(s.partial == 1.0f);
  // The scratchpad is not graded, only its form ('0' or '1' per column).
  CHECK(score_text(*task, p, "T1119530.").correct);
  CHECK_FALSE(score_text(*task, p, "T0209530.").well_formed);
  // Without a marker, or with the wrong structure for the marker, nothing is well formed.
  CHECK_FALSE(score_text(*task, p, "9530.").well_formed);
  CHECK_FALSE(score_text(*task, p, "N0009530.").well_formed);  // NoThinking has no scratchpad
  CHECK_FALSE(score_text(*task, p, "T9530.").well_formed);     // Thinking needs one
  CHECK_FALSE(score_text(*task, p, "").well_formed);
  // Partial credit against the reference in the completion's mode: "N9531." matches N, 9, 5, 3 and
  // EOS of "N9530." (5 of 6); "T0009531." 8 of 9 of "T0009530.".
  s = score_text(*task, p, "N9531.");
  CHECK_FALSE(s.correct);
  CHECK(s.partial == Approx(5.0 / 6));
  CHECK(score_text(*task, p, "T0009531.").partial == Approx(8.0 / 9));
  // 999 + 999 = 1998: a carry out of every column.
  const Problem q = parsed(*task, "999+999=");
  CHECK(task->vocab().decode(q.reference) == "T1118991.");
  CHECK(score_text(*task, q, "N8991.").correct);
  // 158 + 67 = 225: 8+7 = 15 carries, 5+6+1 = 12 carries, 1+0+1 = 2 does not.
  CHECK(task->vocab().decode(parsed(*task, "158+067=").reference) == "T1105220.");
  // Plain answer order: the scratchpad stays least-significant column first.
  const auto plain = pl::make_task("addition", {{"think_mode", true}, {"reverse_answer", false}});
  CHECK(plain->vocab().decode(parsed(*plain, "158+067=").reference) == "T1100225.");
  CHECK(score_text(*plain, parsed(*plain, "158+067="), "N0225.").correct);
  // think_share: 0 writes every reference without thinking; 0.5 about half of them in each mode.
  const auto never = pl::make_task("addition", {{"think_mode", true}, {"think_share", 0.0}});
  CHECK(never->vocab().decode(parsed(*never, "042+317=").reference) == "N9530.");
  const auto mixed = pl::make_task("addition", {{"think_mode", true}, {"think_share", 0.5}});
  pl::Rng rng(3);
  Problem r = mixed->make_problem();
  int thinking = 0;
  for (int i = 0; i < 1000; ++i) {
    mixed->sample(Split::Train, rng, r);
    thinking += r.reference[0] == 14;
    CHECK(mixed->score(r, r.reference.data(), static_cast<int>(r.reference.size())).correct);
  }
  CHECK(thinking > 450);
  CHECK(thinking < 550);
  // The option does not change the problems drawn: the same stream gives the same prompts.
  const auto off = pl::make_task("addition");
  pl::Rng a(7), b(7);
  Problem x = off->make_problem(), y = task->make_problem();
  for (int i = 0; i < 20; ++i) {
    off->sample(Split::Heldout, a, x);
    task->sample(Split::Heldout, b, y);
    CHECK(x.prompt == y.prompt);
  }
  CHECK_THROWS_WITH(pl::make_task("addition", {{"think_mode", true}, {"think_share", 1.5}}), Catch::Contains("think_share"));
}

TEST_CASE("sort: the sorted permutation only", "[tasks]") {
  const auto task = pl::make_task("sort");
  const Problem p = parsed(*task, "53192=");
  CHECK(task->vocab().decode(p.reference) == "12359.");
  CHECK(score_text(*task, p, "12359.").correct);
  Score s = score_text(*task, p, "12395.");
  CHECK_FALSE(s.correct);
  CHECK(s.well_formed);
  CHECK(s.partial == Approx(4.0 / 6));
  s = score_text(*task, p, "1235.");  // a digit dropped
  CHECK_FALSE(s.correct);
  CHECK(s.well_formed);
  s = score_text(*task, p, "123599.");  // one too many
  CHECK_FALSE(s.correct);
  CHECK(s.well_formed);
  CHECK_FALSE(score_text(*task, p, "12358.").correct);  // sorted, but not a permutation of the list
  CHECK_FALSE(score_text(*task, p, "53192.").correct);
  CHECK_FALSE(score_text(*task, p, "12=59.").well_formed);
  CHECK_FALSE(score_text(*task, p, "12359").well_formed);
  CHECK(score_text(*task, parsed(*task, "00000="), "00000.").correct);
}

TEST_CASE("reverse and copy: verifiers, variable lengths and budgets", "[tasks]") {
  const auto reverse = pl::make_task("reverse", {{"length", 6}, {"min_length", 2}, {"alphabet_size", 4}});
  const Problem p = parsed(*reverse, "abcd=");
  CHECK(reverse->vocab().decode(p.reference) == "dcba.");
  CHECK(p.difficulty == 2);
  CHECK(score_text(*reverse, p, "dcba.").correct);
  Score s = score_text(*reverse, p, "abcd.");
  CHECK_FALSE(s.correct);
  CHECK(s.well_formed);
  CHECK(s.partial == Approx(1.0 / 5));
  s = score_text(*reverse, p, "dcb.");  // stopped early
  CHECK_FALSE(s.correct);
  CHECK(s.well_formed);
  CHECK(s.length == 4);
  CHECK(s.partial == Approx(3.0 / 5));
  CHECK_FALSE(score_text(*reverse, p, "dc=a.").well_formed);
  CHECK_FALSE(score_text(*reverse, p, "dcba").well_formed);

  const auto copy = pl::make_task("copy", {{"alphabet_size", 4}});
  CHECK(score_text(*copy, parsed(*copy, "abcda="), "abcda.").correct);
  CHECK_FALSE(score_text(*copy, parsed(*copy, "abcda="), "adcba.").correct);

  // With a budget, the prompt states the target completion length, which data carries.
  const auto budgeted = pl::make_task("reverse", {{"length", 12}, {"min_length", 1}, {"length_budget", true}});
  CHECK(budgeted->vocab().chars() == "_.abcdefgh=|23456789ABCD");
  const Problem b = parsed(*budgeted, "5|abcd=");
  CHECK(b.length_target == 5);
  CHECK(budgeted->vocab().decode(b.reference) == "dcba.");
  CHECK(parsed(*budgeted, "A|abcd=").length_target == 10);  // off-target budgets are accepted
  CHECK_THAT(task_error_of([&] { parsed(*budgeted, "abcd="); }), Catch::Contains("not of the reverse form"));
}

TEST_CASE("countdown: any valid expression is right, misuse and malformed ones are wrong", "[tasks]") {
  const auto task = pl::make_task("countdown");
  const Problem p = parsed(*task, "3,5,7>22:");
  CHECK(p.data == std::vector<int64_t>{22, 3, 5, 7});
  CHECK(score_text(*task, p, task->vocab().decode(p.reference)).correct);

  for (const char* right : {"3*5+7.", "7+5*3.", "7+3*5.", "(5*3)+7.", "((3*5))+7.", "5*3+7._", "(7+(3*5))."}) {
    INFO(right);
    const Score s = score_text(*task, p, right);
    CHECK(s.correct);
    CHECK(s.well_formed);
    CHECK(s.partial == 1.0f);
  }
  CHECK(score_text(*task, parsed(*task, "3,5,7>5:"), "7-(5-3).").correct);
  CHECK_FALSE(score_text(*task, parsed(*task, "3,5,7>5:"), "7-5-3.").correct);  // left associative: -1
  CHECK(score_text(*task, parsed(*task, "3,5,7>56:"), "(3+5)*7.").correct);
  CHECK(score_text(*task, parsed(*task, "3,5,7>0:"), "3*5-7-8.").partial == 0.0f);  // 8 is not given

  // Well formed but wrong: wrong value (partial credit by closeness), reused or missing numbers.
  Score s = score_text(*task, p, "3+5+7.");
  CHECK_FALSE(s.correct);
  CHECK(s.well_formed);
  CHECK(s.partial == Approx(1.0 - 7.0 / 22.0));
  s = score_text(*task, p, "3*5*7.");  // 105: farther than the target itself
  CHECK(s.well_formed);
  CHECK(s.partial == 0.0f);
  for (const char* misuse : {"22.", "3*5+5+2.", "3*5+7*1.", "5*3+7+0.", "35-13.", "3*5+7-3+3."}) {
    INFO(misuse);
    s = score_text(*task, p, misuse);
    CHECK(s.well_formed);
    CHECK_FALSE(s.correct);
    CHECK(s.partial == 0.0f);
  }
  // Malformed: grammar errors, unary minus, leading zeros, no EOS, empty.
  for (const char* bad : {"3*(5+7.", "3**5+7.", "-3+5*7.", "3*5+7)", "(3*5+7", "03*5+7.", "3*5+7", ".", "3,5+7.",
                          "3*5_+7.", "()3*5+7."}) {
    INFO(bad);
    s = score_text(*task, p, bad);
    CHECK_FALSE(s.well_formed);
    CHECK_FALSE(s.correct);
    CHECK(s.partial == 0.0f);
  }
  CHECK(score_text(*task, p, "3*5+7").length == 5);
  CHECK(score_text(*task, p, "3*5+7.__").length == 6);

  // Deep nesting and huge literals do not break the verifier.
  std::string deep(200, '(');
  deep += "3";
  deep += std::string(200, ')');
  std::vector<int> ids = task->vocab().encode(deep + "*5+7.");
  CHECK_FALSE(task->score(p, ids.data(), static_cast<int>(ids.size())).well_formed);
  ids = task->vocab().encode("99999999999999999999*99999999999999*3+5+7.");
  s = task->score(p, ids.data(), static_cast<int>(ids.size()));
  CHECK(s.well_formed);
  CHECK_FALSE(s.correct);
}

TEST_CASE("countdown: generated targets, prompts and budgets", "[tasks]") {
  const auto task = pl::make_task("countdown", {{"num_count", 4}, {"length_budget", true}});
  pl::Rng rng(21);
  Problem p = task->make_problem();
  std::set<int> budgets;
  for (int i = 0; i < 2000; ++i) {
    task->sample(Split::Train, rng, p);
    CHECK(p.data[0] >= 0);
    CHECK(p.data[0] <= 99);
    for (size_t k = 1; k < p.data.size(); ++k) CHECK((p.data[k] >= 1 && p.data[k] <= 9));
    CHECK(p.length_target == static_cast<int>(p.reference.size()));
    CHECK(pl::budget_value(task->vocab().token_char(p.prompt[0])) == p.length_target);
    CHECK(p.prompt[1] == task->vocab().id_of('|'));
    budgets.insert(p.length_target);
  }
  CHECK(budgets.size() >= 4);  // redundant parentheses make several budgets

  // A typed prompt gets a reference by search, padded towards its budget; an unsolvable one none.
  const Problem q = parsed(*task, "C|3,5,7,2>24:");
  CHECK(q.length_target == 12);
  CHECK(q.reference.size() <= 12);
  CHECK(q.reference.size() >= 10);
  CHECK(score_text(*task, q, task->vocab().decode(q.reference)).correct);
  CHECK(parsed(*task, "9|1,1,1,1>99:").reference.empty());

  const auto plain = pl::make_task("countdown");
  CHECK_THAT(task_error_of([&] { parsed(*plain, "3,5>22:"); }), Catch::Contains("not of the countdown form: 3 numbers"));
  CHECK_THAT(task_error_of([&] { parsed(*plain, "3,5,0>22:"); }), Catch::Contains("in [1, 9]"));
  CHECK_THAT(task_error_of([&] { parsed(*plain, "3,5,7>100:"); }), Catch::Contains("has 10 tokens"));
  CHECK_THAT(task_error_of([&] { parsed(*plain, "3,5,17>9:"); }), Catch::Contains("not of the countdown form"));
  CHECK_THAT(task_error_of([&] { parsed(*plain, "3,5,7>22:3,5,7>22:"); }), Catch::Contains("at most 9"));
  CHECK(task_error_of([&] { parsed(*plain, "3;5,7>22:"); }) ==
        "unknown token ';' at position 2 in prompt \"3;5,7>22:\" (vocabulary: 0123456789+-*(),>:)");
}

TEST_CASE("parse_prompt names what is wrong with a typed prompt", "[tasks]") {
  const auto addition = pl::make_task("addition");
  CHECK(task_error_of([&] { parsed(*addition, "12x+456="); }) ==
        "unknown token 'x' at position 3 in prompt \"12x+456=\" (vocabulary: 0123456789+=)");
  CHECK_THAT(task_error_of([&] { parsed(*addition, "42+317="); }),
             Catch::Contains("is not of the addition form") && Catch::Contains("\"042+317=\""));
  CHECK_THAT(task_error_of([&] { parsed(*addition, "0042+317="); }), Catch::Contains("has 9 tokens"));
  const auto sort = pl::make_task("sort");
  CHECK_THAT(task_error_of([&] { parsed(*sort, "1234="); }), Catch::Contains("not of the sort form: 5 digits"));
  CHECK_THAT(task_error_of([&] { parsed(*sort, "12345"); }), Catch::Contains("not of the sort form"));
  const auto copy = pl::make_task("copy");
  CHECK_THAT(task_error_of([&] { parsed(*copy, "abcdz="); }), Catch::Contains("unknown token 'z' at position 5"));
  CHECK_THAT(task_error_of([&] { parsed(*copy, "abcd="); }), Catch::Contains("5 to 5 of them"));
}

// ---- Rewards ------------------------------------------------------------------------------------

TEST_CASE("Rewards: correctness, partial credit and format", "[tasks]") {
  Score right;
  right.correct = right.well_formed = true;
  right.partial = 1.0f;
  right.length = 5;
  Score wrong;
  wrong.well_formed = true;
  wrong.partial = 0.25f;
  wrong.length = 7;
  const Score broken;
  CHECK(pl::correctness_reward(right) == 1.0f);
  CHECK(pl::correctness_reward(wrong) == 0.0f);
  CHECK(pl::partial_credit_reward(wrong) == 0.25f);
  CHECK(pl::format_reward(wrong) == 1.0f);
  CHECK(pl::format_reward(broken) == 0.0f);
}

TEST_CASE("Rewards: L1 exact and max against hand-computed values", "[tasks]") {
  Score s;
  s.correct = true;
  s.length = 7;
  // exact: correct - alpha |n_target - n|
  CHECK(pl::l1_exact_reward(s, 10, 0.1f) == Approx(1.0 - 0.3));
  CHECK(pl::l1_exact_reward(s, 4, 0.1f) == Approx(1.0 - 0.3));
  CHECK(pl::l1_exact_reward(s, 7, 0.1f) == Approx(1.0));
  s.correct = false;
  CHECK(pl::l1_exact_reward(s, 10, 0.1f) == Approx(-0.3));
  // max: correct * clip(alpha (n_target - n) + delta, 0, 1)
  s.correct = true;
  CHECK(pl::l1_max_reward(s, 10, 0.1f, 0.5f) == Approx(0.8));  // 0.1 * 3 + 0.5
  CHECK(pl::l1_max_reward(s, 7, 0.1f, 0.5f) == Approx(0.5));   // at the budget: delta
  CHECK(pl::l1_max_reward(s, 5, 0.1f, 0.5f) == Approx(0.3));   // 2 over
  CHECK(pl::l1_max_reward(s, 1, 0.1f, 0.5f) == 0.0f);          // clipped at 0
  CHECK(pl::l1_max_reward(s, 20, 0.1f, 0.5f) == 1.0f);         // clipped at 1
  s.correct = false;
  CHECK(pl::l1_max_reward(s, 10, 0.1f, 0.5f) == 0.0f);
}

TEST_CASE("Rewards: Kimi k1.5 group length penalty", "[tasks]") {
  const float lengths[4] = {4, 6, 8, 12};
  const uint8_t correct[4] = {1, 0, 1, 0};
  float out[4];
  pl::kimi_length_rewards(lengths, correct, 4, out);
  // lambda = 0.5 - (len - 4) / 8: 0.5, 0.25, 0, -0.5; wrong answers get min(0, lambda).
  CHECK(out[0] == Approx(0.5));
  CHECK(out[1] == Approx(0.0));
  CHECK(out[2] == Approx(0.0));
  CHECK(out[3] == Approx(-0.5));

  const uint8_t all_correct[4] = {1, 1, 1, 1};
  pl::kimi_length_rewards(lengths, all_correct, 4, out);
  CHECK(out[1] == Approx(0.25));
  CHECK(out[3] == Approx(-0.5));

  const float equal[3] = {5, 5, 5};
  pl::kimi_length_rewards(equal, all_correct, 3, out);
  CHECK((out[0] == 0.0f && out[1] == 0.0f && out[2] == 0.0f));
  pl::kimi_length_rewards(lengths, correct, 1, out);
  CHECK(out[0] == 0.0f);
}

TEST_CASE("Rewards: HAPO's history-aware length term against hand-computed values", "[tasks]") {
  // f = cos(pi/2 * min(n / h, 2)); correct: max(f, -0.7); wrong: min(f, 0); no history: 0.
  CHECK(pl::hapo_length_reward(5, 0, true) == 0.0f);
  CHECK(pl::hapo_length_reward(5, 0, false) == 0.0f);
  CHECK(pl::hapo_length_reward(0, 10, true) == Approx(1.0));
  CHECK(pl::hapo_length_reward(5, 10, true) == Approx(0.70710678));   // cos(pi/4)
  CHECK(pl::hapo_length_reward(10, 10, true) == Approx(0.0).margin(1e-6));
  CHECK(pl::hapo_length_reward(15, 10, true) == Approx(-0.7));         // cos(3pi/4) = -0.707 -> floor -0.7
  CHECK(pl::hapo_length_reward(40, 10, true) == Approx(-0.7));
  CHECK(pl::hapo_length_reward(5, 10, false) == 0.0f);                 // brevity alone earns nothing
  CHECK(pl::hapo_length_reward(15, 10, false) == Approx(-0.70710678));
  CHECK(pl::hapo_length_reward(40, 10, false) == Approx(-1.0));        // n >= 2h
}

TEST_CASE("Rewards: LAPO-D's percentile length range against hand-computed values", "[tasks]") {
  // Correct lengths 3, 4, 5, 6, 10 (and a wrong 2, which does not count): with linear interpolation
  // the 30th percentile sits at position 0.3 * 4 = 1.2 -> 4 + 0.2 * (5 - 4) = 4.2, the 70th at 2.8 ->
  // 5 + 0.8 * (6 - 5) = 5.8.
  Score s[6];
  const int lengths[6] = {10, 2, 5, 3, 6, 4};
  const bool correct[6] = {true, false, true, true, true, true};
  for (int i = 0; i < 6; ++i) {
    s[i].length = lengths[i];
    s[i].correct = correct[i];
  }
  float lo = -1, hi = -1;
  REQUIRE(pl::lapo_length_range(s, 6, 30, 70, &lo, &hi));
  CHECK(lo == Approx(4.2));
  CHECK(hi == Approx(5.8));
  CHECK(pl::lapo_length_reward(5, lo, hi, true, 4) == 1.0f);
  CHECK(pl::lapo_length_reward(10, lo, hi, true, 4) == Approx(0.0));  // 1 - 4.2 / 4 < 0: floored at 0
  CHECK(pl::lapo_length_reward(10, lo, hi, true, 100) == Approx(1.0 - 4.2 / 100));
  CHECK(pl::lapo_length_reward(3, lo, hi, true, 4) == Approx(1.0 - 1.2 / 4));
  CHECK(pl::lapo_length_reward(5, lo, hi, false, 4) == 0.0f);  // wrong answers earn nothing
  // Equal correct lengths give an empty range: no length reward. No correct answer: no range.
  s[0].length = s[2].length = s[3].length = s[4].length = s[5].length = 4;
  REQUIRE(pl::lapo_length_range(s, 6, 30, 70, &lo, &hi));
  CHECK(lo == hi);
  CHECK(pl::lapo_length_reward(4, lo, hi, true, 4) == 0.0f);
  for (Score& x : s) x.correct = false;
  CHECK_FALSE(pl::lapo_length_range(s, 6, 30, 70, &lo, &hi));

  // In a RewardSpec the term is added over the group with its weight.
  const pl::RewardSpec spec = pl::make_reward_spec({{"lapo_length_weight", 0.7}, {"lapo_length_scale", 100}});
  for (int i = 0; i < 6; ++i) {
    s[i].length = lengths[i];
    s[i].correct = correct[i];
  }
  float out[6];
  spec.group_totals(Problem{}, s, 6, out);
  CHECK(out[0] == Approx(1.0 + 0.7 * (1.0 - 4.2 / 100)));
  CHECK(out[1] == Approx(0.0));
  CHECK(out[2] == Approx(1.7));
  CHECK_THROWS_WITH(pl::make_reward_spec({{"lapo_lower_percentile", 80}}), Catch::Contains("lapo_lower_percentile"));
}

TEST_CASE("Rewards: LAPO-I's budget reward, median and budget restating against hand-computed values", "[tasks]") {
  // exp(-(L - n)^2 / (2 sigma^2)) for a correct answer; 0 for a wrong one or without a target.
  CHECK(pl::lapo_budget_reward(7, 7.0f, true, 1.5f) == 1.0f);
  CHECK(pl::lapo_budget_reward(9, 7.0f, true, 1.5f) == Approx(std::exp(-4.0 / 4.5)));
  CHECK(pl::lapo_budget_reward(5, 7.5f, true, 120.0f) == Approx(std::exp(-6.25 / 28800.0)));
  CHECK(pl::lapo_budget_reward(7, 7.0f, false, 1.5f) == 0.0f);
  CHECK(pl::lapo_budget_reward(7, 0.0f, true, 1.5f) == 0.0f);
  // The median of the correct lengths (numpy's: the two middle ones averaged for an even count).
  Score s[5];
  const int lengths[5] = {9, 4, 6, 2, 7};
  const bool correct[5] = {true, true, true, false, true};
  for (int i = 0; i < 5; ++i) {
    s[i].length = lengths[i];
    s[i].correct = correct[i];
  }
  CHECK(pl::correct_median_length(s, 5) == Approx(6.5));  // 4, 6, 7, 9
  CHECK(pl::correct_median_length(s, 3) == Approx(6.0));  // 9, 4, 6
  s[0].correct = s[1].correct = s[2].correct = s[4].correct = false;
  CHECK(pl::correct_median_length(s, 5) == 0.0f);

  // Restating a budgeted prompt: only the first token and length_target change, and the problem's
  // key ignores the budget.
  const auto task = pl::make_task("countdown", {{"length_budget", true}});
  Problem p = task->make_problem();
  pl::Rng rng(3);
  task->sample(Split::Train, rng, p);
  REQUIRE(p.length_target > 0);
  const std::vector<int> before = p.prompt;
  const uint64_t key = pl::lapo_problem_key(p);
  pl::state_length_budget(task->vocab(), task->max_completion_length(), 6, p);
  CHECK(p.length_target == 6);
  CHECK(task->vocab().token_char(p.prompt[0]) == '6');
  CHECK(std::equal(p.prompt.begin() + 1, p.prompt.end(), before.begin() + 1));
  CHECK(pl::lapo_problem_key(p) == key);
  pl::state_length_budget(task->vocab(), task->max_completion_length(), 99, p);  // clamped to the largest
  CHECK(p.length_target == task->max_completion_length());
  Problem scored = task->make_problem();  // the restated prompt parses back to the same problem
  task->parse_prompt(task->vocab().decode(p.prompt), scored);
  CHECK(scored.data == p.data);
  CHECK(scored.length_target == p.length_target);
  const auto plain = pl::make_task("countdown", json::object());
  Problem q = plain->make_problem();
  plain->sample(Split::Train, rng, q);
  CHECK_THROWS_WITH(pl::state_length_budget(plain->vocab(), 8, 5, q), Catch::Contains("length_budget"));
  CHECK_THROWS_WITH(pl::make_reward_spec({{"lapo_table_size", 100}}), Catch::Contains("lapo_table_size"));
}

TEST_CASE("Rewards: the length table replaces values on request and forgets a problem set to 0", "[tasks]") {
  pl::LengthHistory h;
  h.allocate(8);
  const uint64_t a = pl::LengthHistory::key_of(std::vector<int>{3, 4}.data(), 2);
  h.record_key(a, 7, /*keep_min=*/false);
  h.record_key(a, 9, /*keep_min=*/false);  // LAPO's latest median wins, even when longer
  CHECK(h.lookup_key(a) == 9);
  h.record_key(a, 5, /*keep_min=*/true);
  h.record_key(a, 8, /*keep_min=*/true);
  CHECK(h.lookup_key(a) == 5);
  h.record_key(a, 0, /*keep_min=*/false);  // no correct answer in stage 1's latest round: unknown again
  CHECK(h.lookup_key(a) == 0);
  const uint64_t b = pl::LengthHistory::key_of(std::vector<int>{3, 5}.data(), 2);
  h.record_key(b, 0, /*keep_min=*/false);  // unknown and not held: nothing is stored
  CHECK(h.size() == 1);
}

TEST_CASE("Rewards: HAPO's history keeps each prompt's shortest correct length in a fixed table", "[tasks]") {
  pl::LengthHistory h;
  CHECK_THROWS_WITH(h.allocate(12), Catch::Contains("power of two"));
  h.allocate(8);
  const std::vector<int> a = {3, 4, 5}, b = {3, 4, 6};
  CHECK(h.lookup(a) == 0);
  h.record(a, 6);
  h.record(a, 9);  // longer: the minimum stays
  CHECK(h.lookup(a) == 6);
  h.record(a, 4);
  CHECK(h.lookup(a) == 4);
  CHECK(h.lookup(b) == 0);  // a different prompt is a different problem
  h.record(b, 7);
  CHECK((h.lookup(a) == 4 && h.lookup(b) == 7 && h.size() == 2));
  // More prompts than slots: the table forgets (counted), never grows.
  for (int k = 0; k < 20; ++k) h.record({100 + k}, 3);
  CHECK(h.size() == 8);
  CHECK(h.evictions() > 0);
  CHECK(h.lookup({119}) == 3);  // the newest is always kept
  // restore() recounts a table loaded from a checkpoint.
  pl::LengthHistory copy;
  copy.allocate(8);
  copy.mutable_keys() = h.keys();
  copy.mutable_values() = h.values();
  copy.restore(h.evictions());
  CHECK((copy.size() == h.size() && copy.lookup({119}) == 3));
  CHECK_THROWS_WITH(pl::make_reward_spec({{"hapo_history_size", 100}}), Catch::Contains("hapo_history_size"));
}

TEST_CASE("RewardSpec: weights from fields, L1 in place of correctness, Kimi over a group", "[tasks]") {
  const pl::RewardSpec defaults = pl::make_reward_spec(json::object());
  CHECK(defaults.correct == 1.0f);
  CHECK(defaults.partial == 0.0f);
  CHECK(defaults.length == pl::LengthReward::None);
  CHECK(pl::reward_spec_to_json(defaults)["l1_alpha"] == json(0.05));
  for (const pl::FieldSpec& f : pl::reward_fields()) {
    CHECK(f.group == "reward");
    CHECK(pl::reward_spec_to_json(defaults).at(f.name) == f.default_value);
  }

  // Weighted sum; with a budgeted task, L1 replaces the correctness term.
  const auto task = pl::make_task("reverse", {{"length", 6}, {"min_length", 2}, {"length_budget", true}});
  const Problem p = parsed(*task, "5|abcd=");  // target 5 tokens
  const Score right = score_text(*task, p, "dcba.");
  const Score long_wrong = score_text(*task, p, "dcbaa.");
  const Score malformed = score_text(*task, p, "dcb");
  pl::RewardSpec spec = pl::make_reward_spec({{"reward_partial", 0.5}, {"reward_format", 0.1}});
  CHECK(spec.total(p, right) == Approx(1.0 + 0.5 + 0.1));
  CHECK(spec.total(p, long_wrong) == Approx(0.5 * long_wrong.partial + 0.1));
  CHECK(spec.total(p, malformed) == Approx(0.5 * 3.0 / 5));

  spec = pl::make_reward_spec({{"length_reward", "l1_exact"}, {"l1_alpha", 0.1}});
  CHECK(spec.total(p, right) == Approx(1.0));
  CHECK(spec.total(p, long_wrong) == Approx(-0.1));
  spec = pl::make_reward_spec({{"length_reward", "l1_max"}, {"l1_alpha", 0.1}, {"l1_delta", 0.5}});
  CHECK(spec.total(p, right) == Approx(0.5));
  const Problem roomy = parsed(*task, "7|abcd=");
  CHECK(spec.total(roomy, right) == Approx(0.7));

  // Kimi's group term is added with its weight.
  spec = pl::make_reward_spec({{"kimi_length_weight", 2.0}});
  const Score group[3] = {right, long_wrong, malformed};  // lengths 5, 6, 3
  float out[3];
  spec.group_totals(p, group, 3, out);
  CHECK(out[0] == Approx(1.0 + 2.0 * (0.5 - 2.0 / 3)));
  CHECK(out[1] == Approx(2.0 * (0.5 - 3.0 / 3)));
  CHECK(out[2] == Approx(0.0));  // wrong but shortest: min(0, 0.5)

  // L1 needs a stated target; bad fields are named.
  const auto plain = pl::make_task("reverse");
  const Problem q = parsed(*plain, "abcde=");
  CHECK_THAT(task_error_of([&] { pl::make_reward_spec({{"length_reward", "l1_max"}}).total(q, right); }),
             Catch::Contains("turn on the task's length_budget"));
  CHECK(task_error_of([] { pl::make_reward_spec({{"length_reward", "l2"}}); }) ==
        "reward: field 'length_reward' must be one of: none, l1_exact, l1_max, got \"l2\"");
  CHECK_THAT(task_error_of([] { pl::make_reward_spec({{"l1_alpa", 0.1}}); }), Catch::Contains("did you mean 'l1_alpha'"));
}
