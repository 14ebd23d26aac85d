// `countdown` (see countdown.hpp).
#include "core/tasks/countdown.hpp"

#include <algorithm>
#include <cstdlib>

namespace pl {

namespace {

constexpr int kDigit0 = 2;  // ids follow the vocabulary string "0123456789+-*(),>:"
constexpr int kPlus = 12, kMinus = 13, kTimes = 14, kOpen = 15, kClose = 16, kComma = 17, kArrow = 18,
              kColon = 19;
constexpr int kMaxNodes = 2 * CountdownTask::kMaxNumbers - 1;
constexpr int kMaxParseDepth = 32;          // nesting beyond this is rejected as malformed
constexpr int64_t kNumberCap = 1000000000;  // literals are saturated here (no given number is this big)

bool is_digit(int id) { return id >= kDigit0 && id < kDigit0 + 10; }

int decimal_digits(int64_t value) {
  int digits = 1;
  while (value >= 10) {
    value /= 10;
    ++digits;
  }
  return digits;
}

int64_t apply(int op, int64_t a, int64_t b) {
  return op == kPlus ? a + b : op == kMinus ? a - b : a * b;
}

// An expression tree over at most kMaxNumbers leaves, in fixed arrays (no allocation).
struct ExprTree {
  int count = 0;
  int root = 0;
  int64_t value[kMaxNodes];
  int op[kMaxNodes];  // 0 for a leaf, else kPlus / kMinus / kTimes
  int left[kMaxNodes], right[kMaxNodes];
  int extra_pairs[kMaxNodes];  // redundant parentheses around the node

  int add_leaf(int64_t number) {
    value[count] = number;
    op[count] = 0;
    left[count] = right[count] = -1;
    extra_pairs[count] = 0;
    return count++;
  }
  int add_node(int operation, int l, int r) {
    value[count] = apply(operation, value[l], value[r]);
    op[count] = operation;
    left[count] = l;
    right[count] = r;
    extra_pairs[count] = 0;
    return count++;
  }
};

int precedence(int op) { return op == kTimes ? 2 : 1; }

// Parentheses a node needs under its parent so that the usual precedence and left associativity
// read the printed text back to the same value: a lower-precedence child, or a + or - child on the
// right of a '-' (a-(b-c) differs from a-b-c).
bool needs_parentheses(const ExprTree& tree, int node, int parent_op, bool is_right) {
  if (tree.op[node] == 0 || parent_op == 0) return false;
  if (precedence(tree.op[node]) < precedence(parent_op)) return true;
  return is_right && parent_op == kMinus && precedence(tree.op[node]) == precedence(parent_op);
}

struct EmitStats {
  int necessary_pairs = 0;
  int multiplications = 0;
};

void push_number(int64_t number, std::vector<int>& out) {
  int64_t scale = 1;
  while (scale * 10 <= number) scale *= 10;
  for (; scale > 0; scale /= 10) out.push_back(kDigit0 + static_cast<int>((number / scale) % 10));
}

void emit(const ExprTree& tree, int node, int parent_op, bool is_right, std::vector<int>& out, EmitStats& stats) {
  const bool paren = needs_parentheses(tree, node, parent_op, is_right);
  const int opens = tree.extra_pairs[node] + (paren ? 1 : 0);
  stats.necessary_pairs += paren ? 1 : 0;
  for (int i = 0; i < opens; ++i) out.push_back(kOpen);
  if (tree.op[node] == 0) {
    push_number(tree.value[node], out);
  } else {
    stats.multiplications += tree.op[node] == kTimes ? 1 : 0;
    emit(tree, tree.left[node], tree.op[node], false, out, stats);
    out.push_back(tree.op[node]);
    emit(tree, tree.right[node], tree.op[node], true, out, stats);
  }
  for (int i = 0; i < opens; ++i) out.push_back(kClose);
}

// Every value in [0, max_target] that some expression over all the `count` values reaches (the
// order of combination covers every binary tree: any tree is built by combining two subtrees).
void mark_reachable(const int64_t* values, int count, int64_t max_target, std::vector<char>& reached) {
  if (count == 1) {
    if (values[0] >= 0 && values[0] <= max_target) reached[static_cast<size_t>(values[0])] = 1;
    return;
  }
  int64_t next[CountdownTask::kMaxNumbers];
  for (int i = 0; i < count; ++i) {
    for (int j = i + 1; j < count; ++j) {
      int m = 0;
      for (int k = 0; k < count; ++k) {
        if (k != i && k != j) next[m++] = values[k];
      }
      const int64_t results[4] = {values[i] + values[j], values[i] - values[j], values[j] - values[i],
                                  values[i] * values[j]};
      for (int64_t r : results) {
        next[m] = r;
        mark_reachable(next, m + 1, max_target, reached);
      }
    }
  }
}

// Depth-first search for an expression over `items` (node ids of `tree`) equal to `target`.
bool solve(ExprTree& tree, const int* items, int count, int64_t target) {
  if (count == 1) {
    tree.root = items[0];
    return tree.value[items[0]] == target;
  }
  int next[CountdownTask::kMaxNumbers];
  for (int i = 0; i < count; ++i) {
    for (int j = 0; j < count; ++j) {
      if (i == j) continue;
      for (int operation : {kPlus, kMinus, kTimes}) {
        if (operation != kMinus && j < i) continue;  // + and * commute
        int m = 0;
        for (int k = 0; k < count; ++k) {
          if (k != i && k != j) next[m++] = items[k];
        }
        next[m] = tree.add_node(operation, items[i], items[j]);
        if (solve(tree, next, m + 1, target)) return true;
        --tree.count;
      }
    }
  }
  return false;
}

// Recursive-descent parser and evaluator of an answer (task header: grammar). Allocation-free:
// it records at most kMaxNumbers + 1 literals (more already means a wrong count).
struct ExpressionParser {
  ExpressionParser(const int* completion, int length) : tokens(completion), end(length) {}

  const int* tokens;
  int end;
  int pos = 0;
  int depth = 0;
  bool ok = true;
  bool overflow = false;
  int numbers_used = 0;
  int64_t numbers[CountdownTask::kMaxNumbers + 1];

  bool at(int id) const { return pos < end && tokens[pos] == id; }

  int64_t combine(int op, int64_t a, int64_t b) {
    int64_t r = 0;
    bool over = op == kPlus ? __builtin_add_overflow(a, b, &r)
                            : op == kMinus ? __builtin_sub_overflow(a, b, &r) : __builtin_mul_overflow(a, b, &r);
    overflow = overflow || over;
    return over ? 0 : r;
  }

  int64_t expr() {
    int64_t v = term();
    while (ok && (at(kPlus) || at(kMinus))) {
      const int op = tokens[pos++];
      v = combine(op, v, term());
    }
    return v;
  }
  int64_t term() {
    int64_t v = factor();
    while (ok && at(kTimes)) {
      ++pos;
      v = combine(kTimes, v, factor());
    }
    return v;
  }
  int64_t factor() {
    if (!ok) return 0;
    if (at(kOpen)) {
      ++pos;
      if (++depth > kMaxParseDepth) {
        ok = false;
        return 0;
      }
      const int64_t v = expr();
      --depth;
      if (!at(kClose)) {
        ok = false;
        return 0;
      }
      ++pos;
      return v;
    }
    if (!(pos < end && is_digit(tokens[pos]))) {
      ok = false;
      return 0;
    }
    // A leading zero ("07") is not how the prompt writes a number: malformed.
    if (tokens[pos] == kDigit0 && pos + 1 < end && is_digit(tokens[pos + 1])) {
      ok = false;
      return 0;
    }
    int64_t v = 0;
    while (pos < end && is_digit(tokens[pos])) {
      v = std::min<int64_t>(kNumberCap, v * 10 + (tokens[pos] - kDigit0));
      ++pos;
    }
    if (numbers_used <= CountdownTask::kMaxNumbers) numbers[numbers_used] = v;
    ++numbers_used;
    return v;
  }
};

void sort_small(int64_t* values, int n) {
  for (int i = 1; i < n; ++i) {
    for (int j = i; j > 0 && values[j - 1] > values[j]; --j) std::swap(values[j - 1], values[j]);
  }
}

// Reads a number without a leading zero starting at ids[*pos]; -1 when there is none.
int64_t read_number(const std::vector<int>& ids, size_t* pos) {
  const size_t start = *pos;
  int64_t v = 0;
  while (*pos < ids.size() && is_digit(ids[*pos]) && *pos - start < 4) v = v * 10 + (ids[(*pos)++] - kDigit0);
  if (*pos == start || (*pos - start > 1 && ids[start] == kDigit0)) return -1;
  if (*pos < ids.size() && is_digit(ids[*pos])) return -1;  // too many digits
  return v;
}

}  // namespace

CountdownTask::CountdownTask(const CountdownOptions& options) : options_(options), salt_(string_salt("countdown")) {
  const int k = options_.num_count;
  if (k < 2 || k > kMaxNumbers) throw TaskError("countdown: num_count must be in [2, 4]");
  if (options_.max_number < 2 || options_.max_number > 99) throw TaskError("countdown: max_number must be in [2, 99]");
  if (options_.max_target < 1 || options_.max_target > 999) throw TaskError("countdown: max_target must be in [1, 999]");
  if (!(options_.heldout_fraction > 0 && options_.heldout_fraction < 1)) {
    throw TaskError("countdown: heldout_fraction must be in (0, 1)");
  }

  // The largest value k copies of max_number reach with + and * (subtraction never helps):
  // best[c] = max over splits c = a + b of max(best[a] + best[b], best[a] * best[b]).
  int64_t best[kMaxNumbers + 1] = {0, options_.max_number};
  for (int c = 2; c <= k; ++c) {
    for (int a = 1; a < c; ++a) best[c] = std::max({best[c], best[a] + best[c - a], best[a] * best[c - a]});
  }
  const int number_digits = decimal_digits(options_.max_number);
  const int target_digits = decimal_digits(std::min<int64_t>(options_.max_target, best[k]));
  const int budget_tokens_count = options_.length_budget ? 2 : 0;
  max_prompt_ = k * number_digits + (k - 1) + 1 + target_digits + 1 + budget_tokens_count;
  max_completion_ = k * number_digits + (k - 1) + 2 * (k - 2) + 1 + (options_.length_budget ? 2 * kBudgetExtraPairs : 0);
  min_completion_ = k + (k - 1) + 1;  // one-digit numbers, no parentheses, EOS

  std::string tokens = "0123456789+-*(),>:";
  if (options_.length_budget) tokens += budget_tokens(min_completion_, max_completion_, tokens);
  vocab_ = Vocabulary(tokens);

  // Small spaces are enumerated: every multiset of numbers with every target it reaches.
  const int64_t m = options_.max_number;
  int64_t multisets = 1;  // C(m + k - 1, k)
  for (int i = 1; i <= k; ++i) multisets = multisets * (m + k - i) / i;
  bool enumerated = false;
  if (multisets <= 3000) {
    std::vector<uint64_t> hashes;
    std::vector<char> reached(static_cast<size_t>(options_.max_target) + 1);
    int64_t numbers[kMaxNumbers];
    std::fill(numbers, numbers + k, 1);
    while (hashes.size() <= SplitRule::kMaxEnumerated) {
      std::fill(reached.begin(), reached.end(), 0);
      mark_reachable(numbers, k, options_.max_target, reached);
      for (int64_t t = 0; t <= options_.max_target; ++t) {
        if (reached[static_cast<size_t>(t)]) hashes.push_back(hash_of(numbers, t));
      }
      // Next non-decreasing sequence in [1, m]^k.
      int i = k - 1;
      while (i >= 0 && numbers[i] == m) --i;
      if (i < 0) break;
      ++numbers[i];
      for (int j = i + 1; j < k; ++j) numbers[j] = numbers[i];
    }
    if (hashes.size() <= SplitRule::kMaxEnumerated) {
      split_rule_ = SplitRule::by_enumeration(options_.heldout_fraction, std::move(hashes));
      enumerated = true;
    }
  }
  if (!enumerated) split_rule_ = SplitRule::by_fraction(options_.heldout_fraction);
}

nlohmann::json CountdownTask::options() const {
  return {{"num_count", options_.num_count},
          {"max_number", options_.max_number},
          {"max_target", options_.max_target},
          {"length_budget", options_.length_budget},
          {"heldout_fraction", options_.heldout_fraction}};
}

uint64_t CountdownTask::hash_of(const int64_t* numbers, int64_t target) const {
  // The puzzle is the multiset of numbers and the target: every ordering (and every budget) of the
  // same puzzle lands in the same split.
  int64_t words[kMaxNumbers + 1];
  const int k = options_.num_count;
  std::copy(numbers, numbers + k, words);
  sort_small(words, k);
  words[k] = target;
  return content_hash(words, k + 1, salt_);
}

void CountdownTask::write_prompt(int budget, Problem& out) const {
  out.prompt.clear();
  if (budget > 0) {
    out.prompt.push_back(vocab_.id_of(budget_char(budget)));
    out.prompt.push_back(vocab_.id_of(kBudgetSeparator));
  }
  for (int i = 0; i < options_.num_count; ++i) {
    if (i > 0) out.prompt.push_back(kComma);
    push_number(out.data[static_cast<size_t>(i) + 1], out.prompt);
  }
  out.prompt.push_back(kArrow);
  push_number(out.data[0], out.prompt);
  out.prompt.push_back(kColon);
  out.length_target = budget;
}

void CountdownTask::sample(Split split, Rng& rng, Problem& out) const {
  const int k = options_.num_count;
  const auto m = static_cast<uint32_t>(options_.max_number);
  ExprTree tree;
  int64_t numbers[kMaxNumbers];
  sample_from_split(split_rule_, split, [&] {
    do {
      // Random numbers combined two at a time in random order: a random tree shape and operators.
      tree.count = 0;
      int items[kMaxNumbers];
      for (int i = 0; i < k; ++i) {
        numbers[i] = 1 + rng.below(m);
        items[i] = tree.add_leaf(numbers[i]);
      }
      for (int count = k; count > 1; --count) {
        const int i = static_cast<int>(rng.below(static_cast<uint32_t>(count)));
        int j = static_cast<int>(rng.below(static_cast<uint32_t>(count - 1)));
        if (j >= i) ++j;
        static const int kOps[3] = {kPlus, kMinus, kTimes};
        const int node = tree.add_node(kOps[rng.below(3)], items[i], items[j]);
        const int lo = std::min(i, j), hi = std::max(i, j);
        items[lo] = node;
        items[hi] = items[count - 1];
      }
      tree.root = items[0];
    } while (tree.value[tree.root] < 0 || tree.value[tree.root] > options_.max_target);
    return hash_of(numbers, tree.value[tree.root]);
  });

  out.data.clear();
  out.data.push_back(tree.value[tree.root]);
  for (int i = 0; i < k; ++i) out.data.push_back(numbers[i]);
  if (options_.length_budget) {
    // Redundant pairs around random subexpressions make budgets of several lengths.
    const int pairs = static_cast<int>(rng.below(kBudgetExtraPairs + 1));
    for (int i = 0; i < pairs; ++i) ++tree.extra_pairs[rng.below(static_cast<uint32_t>(tree.count))];
  }
  out.reference.clear();
  EmitStats stats;
  emit(tree, tree.root, 0, false, out.reference, stats);
  out.reference.push_back(Vocabulary::kEos);
  out.difficulty = stats.multiplications + stats.necessary_pairs;
  write_prompt(options_.length_budget ? static_cast<int>(out.reference.size()) : 0, out);
}

Split CountdownTask::split_of(const Problem& p) const {
  return split_rule_.split_of(hash_of(p.data.data() + 1, p.data[0]));
}

Score CountdownTask::score(const Problem& p, const int* completion, int n) const {
  Score s;
  s.length = completion_length(completion, n);
  const bool has_eos = s.length >= 1 && completion[s.length - 1] == Vocabulary::kEos;
  if (!has_eos || s.length < 2) return s;
  ExpressionParser parser(completion, s.length - 1);
  const int64_t value = parser.expr();
  s.well_formed = parser.ok && parser.pos == parser.end;
  if (!s.well_formed) return s;

  // Each given number exactly once: the sorted literals equal the sorted numbers.
  const int k = options_.num_count;
  bool uses_numbers = parser.numbers_used == k;
  if (uses_numbers) {
    int64_t given[kMaxNumbers];
    std::copy(p.data.begin() + 1, p.data.begin() + 1 + k, given);
    sort_small(given, k);
    sort_small(parser.numbers, k);
    uses_numbers = std::equal(given, given + k, parser.numbers);
  }
  if (!uses_numbers || parser.overflow) return s;
  const int64_t target = p.data[0];
  s.correct = value == target;
  // Closeness in proportion to the target (1 exactly at the target).
  const double miss = static_cast<double>(std::llabs(value - target)) / static_cast<double>(std::max<int64_t>(target, 1));
  s.partial = s.correct ? 1.0f : static_cast<float>(std::max(0.0, 1.0 - miss));
  return s;
}

void CountdownTask::parse_prompt(const std::string& text, Problem& p) const {
  const std::vector<int> ids = vocab_.encode(text, "prompt");
  const int k = options_.num_count;
  std::string example = std::string("3,5,7,2").substr(0, static_cast<size_t>(2 * k - 1)) + ">22:";
  if (options_.length_budget) example = std::string(1, budget_char(max_completion_)) + kBudgetSeparator + example;
  const std::string form = std::string(options_.length_budget ? "a budget digit and '|', then " : "") +
                           std::to_string(k) + " numbers in [1, " + std::to_string(options_.max_number) +
                           "] separated by ',', then '>' and a target in [0, " + std::to_string(options_.max_target) +
                           "], then ':' (e.g. \"" + example + "\")";
  if (static_cast<int>(ids.size()) > max_prompt_) {
    throw TaskError("prompt " + quote_text(text) + " has " + std::to_string(ids.size()) +
                    " tokens; countdown prompts have at most " + std::to_string(max_prompt_) + ": " + form);
  }
  size_t pos = 0;
  int budget = 0;
  bool ok = true;
  if (options_.length_budget) {
    ok = ids.size() >= 2 && ids[1] == vocab_.id_of(kBudgetSeparator) && budget_value(vocab_.token_char(ids[0])) >= 1;
    if (ok) budget = budget_value(vocab_.token_char(ids[0]));
    pos = 2;
  }
  int64_t numbers[kMaxNumbers] = {0};
  for (int i = 0; ok && i < k; ++i) {
    if (i > 0) ok = pos < ids.size() && ids[pos++] == kComma;
    if (ok) numbers[i] = read_number(ids, &pos);
    ok = ok && numbers[i] >= 1 && numbers[i] <= options_.max_number;
  }
  ok = ok && pos < ids.size() && ids[pos++] == kArrow;
  const int64_t target = ok ? read_number(ids, &pos) : -1;
  ok = ok && target >= 0 && target <= options_.max_target && pos + 1 == ids.size() && ids[pos] == kColon;
  if (!ok) throw TaskError("prompt " + quote_text(text) + " is not of the countdown form: " + form);

  p.data.clear();
  p.data.push_back(target);
  for (int i = 0; i < k; ++i) p.data.push_back(numbers[i]);
  write_prompt(budget, p);

  // A reference by search; with a budget, padded with redundant outer parentheses towards it.
  ExprTree tree;
  int items[kMaxNumbers];
  for (int i = 0; i < k; ++i) items[i] = tree.add_leaf(numbers[i]);
  p.reference.clear();
  p.difficulty = 0;
  if (!solve(tree, items, k, target)) return;
  EmitStats stats;
  emit(tree, tree.root, 0, false, p.reference, stats);
  p.reference.push_back(Vocabulary::kEos);
  const int pad_pairs = std::max(0, (std::min(budget, max_completion_) - static_cast<int>(p.reference.size())) / 2);
  if (pad_pairs > 0) {
    tree.extra_pairs[tree.root] = pad_pairs;
    p.reference.clear();
    EmitStats ignored;
    emit(tree, tree.root, 0, false, p.reference, ignored);
    p.reference.push_back(Vocabulary::kEos);
  }
  p.difficulty = stats.multiplications + stats.necessary_pairs;
}

}  // namespace pl
