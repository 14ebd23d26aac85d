#include "core/combo/jobshop.hpp"
#include "core/util/text.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace pl::combo {

namespace {

constexpr int kMaxDuration = 1000000;
constexpr int kMaxSide = 1000;  // jobs or machines in a file

struct TextLine {
  int number;  // 1-based
  std::vector<std::string> tokens;
};

// Non-blank, non-comment lines with their tokens.
std::vector<TextLine> text_lines(const std::string& text) {
  std::vector<TextLine> lines;
  for_each_nonblank_line(text, [&](int number, const std::string& line) {
    if (line[line.find_first_not_of(" \t")] == '#') return;
    TextLine t{number, {}};
    std::istringstream tokens(line);
    std::string token;
    while (tokens >> token) t.tokens.push_back(token);
    lines.push_back(std::move(t));
  });
  return lines;
}

[[noreturn]] void file_fail(const std::string& file, int line, const std::string& message) {
  throw ComboError(file + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": jobshop: " + message);
}

bool parse_int(const std::string& token, long long& value) {
  if (token.empty() || token.find_first_not_of("0123456789+-") != std::string::npos) return false;
  char* end = nullptr;
  value = std::strtoll(token.c_str(), &end, 10);
  return end == token.c_str() + token.size();
}

bool all_numbers(const TextLine& line) {
  long long v;
  for (const std::string& t : line.tokens)
    if (!parse_int(t, v)) return false;
  return !line.tokens.empty();
}

int int_token(const std::string& file, const TextLine& line, size_t index, const std::string& what, long long lo,
              long long hi) {
  long long v;
  if (!parse_int(line.tokens[index], v))
    file_fail(file, line.number, "'" + line.tokens[index] + "' (" + what + ") is not an integer");
  if (v < lo || v > hi) {
    file_fail(file, line.number,
              what + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(v));
  }
  return static_cast<int>(v);
}

// Each job uses each machine exactly once.
void check_machine_orders(const JobShopInstance& inst, const std::string& where_prefix,
                          const std::vector<int>& job_lines, const std::string& file) {
  std::vector<int> seen(inst.machines);
  for (int j = 0; j < inst.jobs; ++j) {
    std::fill(seen.begin(), seen.end(), 0);
    for (int k = 0; k < inst.machines; ++k) {
      const int mc = inst.machine[j * inst.machines + k];
      if (seen[mc]) {
        const std::string message = "job " + std::to_string(j + 1) + " visits machine " + std::to_string(mc) +
                                    " twice (each job visits each machine once)";
        if (job_lines.empty()) throw ComboError(where_prefix + message);
        file_fail(file, job_lines[j], message);
      }
      seen[mc] = 1;
    }
  }
}

}  // namespace

JobShopInstance JobShopBatch::instance(int i) const {
  JobShopInstance inst;
  inst.jobs = jobs;
  inst.machines = machines;
  const size_t ops = static_cast<size_t>(jobs) * machines;
  inst.machine.assign(machine.begin() + i * ops, machine.begin() + (i + 1) * ops);
  inst.duration.assign(duration.begin() + i * ops, duration.begin() + (i + 1) * ops);
  return inst;
}

JobShopBatch JobShopBatch::from_instances(const std::vector<JobShopInstance>& instances) {
  JobShopBatch batch;
  batch.count = static_cast<int>(instances.size());
  if (!instances.empty()) {
    batch.jobs = instances[0].jobs;
    batch.machines = instances[0].machines;
  }
  for (const JobShopInstance& inst : instances) {
    if (inst.jobs != batch.jobs || inst.machines != batch.machines)
      throw ComboError("jobshop: a batch holds instances of one size");
    batch.machine.insert(batch.machine.end(), inst.machine.begin(), inst.machine.end());
    batch.duration.insert(batch.duration.end(), inst.duration.begin(), inst.duration.end());
  }
  return batch;
}

void JobShopBatch::allocate(int jobs_, int machines_, int capacity) {
  jobs = jobs_;
  machines = machines_;
  count = capacity;
  machine.assign(static_cast<size_t>(capacity) * jobs_ * machines_, 0);
  duration.assign(static_cast<size_t>(capacity) * jobs_ * machines_, 1);
}

void JobShopBatch::draw(Rng& rng, int first, int n) {
  const size_t ops = static_cast<size_t>(jobs) * machines;
  for (int i = first; i < first + n; ++i) {
    for (int j = 0; j < jobs; ++j) {
      int* order = &machine[i * ops + static_cast<size_t>(j) * machines];
      for (int k = 0; k < machines; ++k) order[k] = k;
      rng.shuffle(order, machines);
      for (int k = 0; k < machines; ++k) duration[i * ops + static_cast<size_t>(j) * machines + k] = 1 + static_cast<int>(rng.below(99));
    }
  }
}

JobShopBatch generate_jobshop(int jobs, int machines, int count, uint64_t seed) {
  if (jobs < 1 || jobs > 100 || machines < 1 || machines > 100)
    throw ComboError("jobshop: jobs and machines must be in [1, 100], got " + std::to_string(jobs) + " x " +
                     std::to_string(machines));
  if (count < 1) throw ComboError("jobshop: count must be >= 1, got " + std::to_string(count));
  Rng rng = instance_stream(seed, ProblemKind::JobShop);
  JobShopBatch batch;
  batch.allocate(jobs, machines, count);
  batch.draw(rng, 0, count);
  return batch;
}

int jobshop_check(const JobShopInstance& inst, const std::vector<int>& start) {
  const int n = inst.jobs, m = inst.machines;
  if (static_cast<int>(start.size()) != n * m)
    throw ComboError("jobshop: a schedule has " + std::to_string(n * m) + " start times, got " + std::to_string(start.size()));
  int makespan = 0;
  for (int j = 0; j < n; ++j) {
    for (int k = 0; k < m; ++k) {
      const int o = j * m + k;
      if (start[o] < 0) throw ComboError("jobshop: operation " + std::to_string(k) + " of job " + std::to_string(j) + " has no start");
      if (k > 0 && start[o] < start[o - 1] + inst.duration[o - 1])
        throw ComboError("jobshop: operation " + std::to_string(k) + " of job " + std::to_string(j) +
                         " starts before its predecessor ends");
      makespan = std::max(makespan, start[o] + inst.duration[o]);
    }
  }
  // Machine overlaps: operations of a machine sorted by start must not overlap.
  for (int mc = 0; mc < m; ++mc) {
    std::vector<std::pair<int, int>> intervals;
    for (int o = 0; o < n * m; ++o)
      if (inst.machine[o] == mc && inst.duration[o] > 0) intervals.push_back({start[o], start[o] + inst.duration[o]});
    std::sort(intervals.begin(), intervals.end());
    for (size_t s = 1; s < intervals.size(); ++s)
      if (intervals[s].first < intervals[s - 1].second)
        throw ComboError("jobshop: two operations overlap on machine " + std::to_string(mc) + " at time " +
                         std::to_string(intervals[s].first));
  }
  return makespan;
}

bool looks_like_jobshop_file(const std::string& text) {
  const std::vector<TextLine> lines = text_lines(text);
  for (const TextLine& line : lines)
    if (line.tokens.size() == 1 && (line.tokens[0] == "Times" || line.tokens[0] == "times" || line.tokens[0] == "TIMES"))
      return true;
  return !lines.empty() && lines[0].tokens.size() == 2 && all_numbers(lines[0]) && lines.size() > 1;
}

JobShopInstance read_jobshop_file(const std::string& text, const std::string& file) {
  const std::vector<TextLine> lines = text_lines(text);
  auto is_word = [](const TextLine& line, const char* word) {
    if (line.tokens.size() != 1) return false;
    std::string t = line.tokens[0];
    for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return t == word;
  };
  size_t times_at = lines.size();
  for (size_t i = 0; i < lines.size(); ++i)
    if (is_word(lines[i], "times")) times_at = i;
  JobShopInstance inst;
  std::vector<int> job_lines;
  if (lines.empty()) file_fail(file, 0, "the file is empty");

  if (times_at < lines.size()) {
    // Taillard: the first all-number line before "Times" starts with n m.
    size_t header = times_at;
    for (size_t i = 0; i < times_at; ++i)
      if (all_numbers(lines[i])) {
        header = i;
        break;
      }
    if (header == times_at || lines[header].tokens.size() < 2)
      file_fail(file, lines[times_at].number, "Taillard format: no 'n m ...' header line before Times");
    inst.jobs = int_token(file, lines[header], 0, "number of jobs", 1, kMaxSide);
    inst.machines = int_token(file, lines[header], 1, "number of machines", 1, kMaxSide);
    const int n = inst.jobs, m = inst.machines;
    inst.machine.assign(static_cast<size_t>(n) * m, 0);
    inst.duration.assign(static_cast<size_t>(n) * m, 0);
    const size_t machines_at = times_at + 1 + n;
    if (machines_at >= lines.size() || !is_word(lines[machines_at], "machines")) {
      const int at = machines_at < lines.size() ? lines[machines_at].number : lines.back().number;
      file_fail(file, at, "Taillard format: expected 'Machines' after " + std::to_string(n) + " lines of times");
    }
    if (lines.size() != machines_at + 1 + n) {
      const int at = lines.size() > machines_at + 1 + n ? lines[machines_at + 1 + n].number : lines.back().number;
      file_fail(file, at, "Taillard format: expected " + std::to_string(n) + " lines of machines after 'Machines', got " +
                              std::to_string(static_cast<long long>(lines.size()) - static_cast<long long>(machines_at) - 1));
    }
    for (int j = 0; j < n; ++j) {
      const TextLine& times = lines[times_at + 1 + j];
      const TextLine& machines = lines[machines_at + 1 + j];
      if (static_cast<int>(times.tokens.size()) != m)
        file_fail(file, times.number, "expected " + std::to_string(m) + " durations, got " + std::to_string(times.tokens.size()));
      if (static_cast<int>(machines.tokens.size()) != m)
        file_fail(file, machines.number, "expected " + std::to_string(m) + " machines, got " + std::to_string(machines.tokens.size()));
      for (int k = 0; k < m; ++k) {
        inst.duration[j * m + k] = int_token(file, times, k, "duration", 0, kMaxDuration);
        inst.machine[j * m + k] = int_token(file, machines, k, "machine (1-based)", 1, m) - 1;
      }
      job_lines.push_back(machines.number);
    }
  } else {
    const TextLine& header = lines[0];
    if (header.tokens.size() != 2) file_fail(file, header.number, "the first line is 'n m' (jobs machines), got " + std::to_string(header.tokens.size()) + " fields");
    inst.jobs = int_token(file, header, 0, "number of jobs", 1, kMaxSide);
    inst.machines = int_token(file, header, 1, "number of machines", 1, kMaxSide);
    const int n = inst.jobs, m = inst.machines;
    if (static_cast<int>(lines.size()) - 1 != n) {
      const int at = static_cast<int>(lines.size()) - 1 > n ? lines[n + 1].number : lines.back().number;
      file_fail(file, at, "expected " + std::to_string(n) + " job lines after 'n m', got " + std::to_string(lines.size() - 1));
    }
    inst.machine.assign(static_cast<size_t>(n) * m, 0);
    inst.duration.assign(static_cast<size_t>(n) * m, 0);
    for (int j = 0; j < n; ++j) {
      const TextLine& line = lines[1 + j];
      if (static_cast<int>(line.tokens.size()) != 2 * m)
        file_fail(file, line.number, "job " + std::to_string(j + 1) + ": expected " + std::to_string(2 * m) +
                                         " numbers (machine duration for each of " + std::to_string(m) + " operations), got " +
                                         std::to_string(line.tokens.size()));
      for (int k = 0; k < m; ++k) {
        inst.machine[j * m + k] = int_token(file, line, 2 * k, "machine", 0, m - 1);
        inst.duration[j * m + k] = int_token(file, line, 2 * k + 1, "duration", 0, kMaxDuration);
      }
      job_lines.push_back(line.number);
    }
  }
  check_machine_orders(inst, "", job_lines, file);
  return inst;
}

std::string write_jobshop_file(const JobShopInstance& inst) {
  std::string out = std::to_string(inst.jobs) + " " + std::to_string(inst.machines) + "\n";
  for (int j = 0; j < inst.jobs; ++j) {
    for (int k = 0; k < inst.machines; ++k) {
      out += (k ? " " : "") + std::to_string(inst.machine[j * inst.machines + k]) + " " +
             std::to_string(inst.duration[j * inst.machines + k]);
    }
    out += "\n";
  }
  return out;
}

std::vector<JobShopInstance> read_jobshop_dataset(const std::string& text, const std::string& file) {
  std::vector<JobShopInstance> instances;
  for (const DataLine& line : read_data_lines(text, file, ProblemKind::JobShop)) {
    JobShopInstance inst;
    inst.jobs = line.integer(0, "n (the number of jobs)", 1, kMaxSide);
    inst.machines = line.integer(1, "m (the number of machines)", 1, kMaxSide);
    const int n = inst.jobs, m = inst.machines;
    line.expect_count(2 + 2 * static_cast<size_t>(n) * m, "n m, then machine duration of each operation, job by job");
    inst.machine.resize(static_cast<size_t>(n) * m);
    inst.duration.resize(static_cast<size_t>(n) * m);
    for (int o = 0; o < n * m; ++o) {
      const std::string where = " of job " + std::to_string(o / m + 1) + " operation " + std::to_string(o % m + 1);
      inst.machine[o] = line.integer(2 + 2 * o, ("machine" + where).c_str(), 0, m - 1);
      inst.duration[o] = line.integer(3 + 2 * o, ("duration" + where).c_str(), 0, kMaxDuration);
    }
    try {
      check_machine_orders(inst, "", {}, file);
    } catch (const ComboError& error) {
      line.fail(error.what());
    }
    instances.push_back(std::move(inst));
  }
  return instances;
}

std::string write_jobshop_dataset(const std::vector<JobShopInstance>& instances) {
  std::string out;
  for (const JobShopInstance& inst : instances) {
    out += std::to_string(inst.jobs) + " " + std::to_string(inst.machines);
    for (int o = 0; o < inst.ops(); ++o) out += " " + std::to_string(inst.machine[o]) + " " + std::to_string(inst.duration[o]);
    out += "\n";
  }
  return out;
}

// ---- Dispatching state ----

void JobShopState::reset(const JobShopBatch& batch) {
  batch_ = &batch;
  count_ = batch.count;
  jobs_ = batch.jobs;
  machines_ = batch.machines;
  const size_t ops = static_cast<size_t>(jobs_) * machines_;
  mask_.assign(static_cast<size_t>(count_) * jobs_, 1);
  next_.assign(static_cast<size_t>(count_) * jobs_, 0);
  job_ready_.assign(static_cast<size_t>(count_) * jobs_, 0);
  start_.assign(count_ * ops, -1);
  lb_.assign(count_ * ops, 0);
  lb_max_.assign(count_, 0);
  scheduled_.assign(count_, 0);
  slot_start_.assign(count_ * static_cast<size_t>(machines_) * jobs_, 0);
  slot_end_.assign(count_ * static_cast<size_t>(machines_) * jobs_, 0);
  slots_.assign(static_cast<size_t>(count_) * machines_, 0);
  for (int i = 0; i < count_; ++i) {
    for (int j = 0; j < jobs_; ++j) {
      int end = 0;
      for (int k = 0; k < machines_; ++k) {
        const size_t o = i * ops + static_cast<size_t>(j) * machines_ + k;
        end += batch.duration[o];
        lb_[o] = end;
      }
      lb_max_[i] = std::max(lb_max_[i], end);
    }
  }
}

// Earliest start >= ready with the machine idle for p: the first gap that fits, scanning the
// machine's operations (s, e: starts and ends sorted by start) in time order (t stays at or after
// every earlier end); pos = the slot the operation goes to.
int JobShopState::place(const int* s, const int* e, int used, int ready, int p, int& pos) {
  int t = ready;
  pos = used;
  for (int q = 0; q < used; ++q) {
    if (t + p <= s[q]) {
      pos = q;
      break;
    }
    t = std::max(t, e[q]);
  }
  return t;
}

int JobShopState::earliest_start(int i, int job) const {
  const size_t jx = static_cast<size_t>(i) * jobs_ + job;
  const int k = next_[jx];
  if (k >= machines_) return job_ready_[jx];
  const size_t o = (static_cast<size_t>(i) * jobs_ + job) * machines_ + k;
  const size_t mx = static_cast<size_t>(i) * machines_ + batch_->machine[o];
  int pos = 0;
  return place(&slot_start_[mx * jobs_], &slot_end_[mx * jobs_], slots_[mx], job_ready_[jx], batch_->duration[o], pos);
}

int JobShopState::machine_ready(int i, int machine) const {
  const size_t mx = static_cast<size_t>(i) * machines_ + machine;
  // Slots are sorted by start and never overlap, so the last one ends last.
  return slots_[mx] == 0 ? 0 : slot_end_[mx * jobs_ + slots_[mx] - 1];
}

double JobShopState::step(int i, int job) {
  if (i < 0 || i >= count_) throw ComboError("jobshop: instance " + std::to_string(i) + " is not in the batch");
  if (job < 0 || job >= jobs_ || !mask_[static_cast<size_t>(i) * jobs_ + job])
    throw ComboError("jobshop: job " + std::to_string(job) + " has no operation left to schedule in instance " + std::to_string(i));
  const size_t ops = static_cast<size_t>(jobs_) * machines_;
  const size_t jx = static_cast<size_t>(i) * jobs_ + job;
  const int k = next_[jx];
  const size_t o = i * ops + static_cast<size_t>(job) * machines_ + k;
  const int mc = batch_->machine[o], p = batch_->duration[o];
  const size_t mx = static_cast<size_t>(i) * machines_ + mc;
  int* s = &slot_start_[mx * jobs_];
  int* e = &slot_end_[mx * jobs_];
  int& used = slots_[mx];
  // Earliest start >= the job's ready time with the machine idle for p: the first gap that fits,
  // scanning the machine's operations in time order (t stays at or after every earlier end).
  int pos = used;
  const int t = place(s, e, used, job_ready_[jx], p, pos);
  for (int q = used; q > pos; --q) {
    s[q] = s[q - 1];
    e[q] = e[q - 1];
  }
  s[pos] = t;
  e[pos] = t + p;
  ++used;
  start_[o] = t;
  job_ready_[jx] = t + p;
  ++next_[jx];
  ++scheduled_[i];
  if (next_[jx] == machines_) mask_[jx] = 0;
  // Only this job's bounds change (the others' depend on their own predecessors) and they only
  // grow, so C_LB is the old one or this job's last bound.
  lb_[o] = t + p;
  for (int q = k + 1; q < machines_; ++q) lb_[o + (q - k)] = lb_[o + (q - k) - 1] + batch_->duration[o + (q - k)];
  const int before = lb_max_[i];
  lb_max_[i] = std::max(before, lb_[i * ops + static_cast<size_t>(job) * machines_ + machines_ - 1]);
  return static_cast<double>(before - lb_max_[i]);
}

bool JobShopState::all_done() const {
  for (int i = 0; i < count_; ++i)
    if (!done(i)) return false;
  return true;
}

std::vector<int> JobShopState::schedule(int i) const {
  const size_t ops = static_cast<size_t>(jobs_) * machines_;
  return std::vector<int>(start_.begin() + i * ops, start_.begin() + (i + 1) * ops);
}

// ---- Solvers ----

std::vector<int> jobshop_dispatch(const JobShopInstance& inst, DispatchRule rule) {
  const JobShopBatch batch = JobShopBatch::from_instances({inst});
  const int n = inst.jobs, m = inst.machines;
  // remaining[j * (m + 1) + k]: work of job j from operation k on.
  std::vector<long long> remaining(static_cast<size_t>(n) * (m + 1), 0);
  for (int j = 0; j < n; ++j)
    for (int k = m - 1; k >= 0; --k) remaining[j * (m + 1) + k] = remaining[j * (m + 1) + k + 1] + inst.duration[j * m + k];
  JobShopState state;
  state.reset(batch);
  while (!state.done(0)) {
    int pick = -1;
    long long pick_key = 0;
    for (int j = 0; j < n; ++j) {
      if (!state.mask(0)[j]) continue;
      const int k = state.next_op(0, j);
      long long key = 0;  // smaller is better
      switch (rule) {
        case DispatchRule::Spt: key = inst.duration[j * m + k]; break;
        case DispatchRule::Mwkr: key = -remaining[j * (m + 1) + k]; break;
        case DispatchRule::Mor: key = -(m - k); break;
        case DispatchRule::Fifo: key = state.job_ready(0, j); break;
      }
      if (pick < 0 || key < pick_key) {
        pick = j;
        pick_key = key;
      }
    }
    state.step(0, pick);
  }
  return state.schedule(0);
}

namespace {

struct GifflerThompson {
  GifflerThompson(const JobShopInstance& instance, int jobs, int machines) : inst(instance), n(jobs), m(machines) {}
  const JobShopInstance& inst;
  int n, m;
  std::vector<int> next, job_ready, mach_ready, start;
  std::vector<long long> rem_job, rem_mach;
  int best = INT_MAX;
  std::vector<int> best_start;
  long long nodes = 0, max_nodes = 0;

  void search(int done) {
    if (++nodes > max_nodes) {
      throw ComboError("jobshop: branch-and-bound gave up after " + std::to_string(max_nodes) + " nodes on a " +
                       std::to_string(n) + " x " + std::to_string(m) + " instance");
    }
    if (done == n * m) {
      int makespan = 0;
      for (int j = 0; j < n; ++j) makespan = std::max(makespan, job_ready[j]);
      if (makespan < best) {
        best = makespan;
        best_start = start;
      }
      return;
    }
    long long bound = 0;
    for (int j = 0; j < n; ++j) bound = std::max(bound, job_ready[j] + rem_job[j]);
    for (int mc = 0; mc < m; ++mc) bound = std::max(bound, mach_ready[mc] + rem_mach[mc]);
    if (bound >= best) return;
    // The eligible operation of earliest completion C* fixes machine M*; the conflict set is the
    // eligible operations on M* that could start before C* (Giffler & Thompson 1960).
    int star_job = -1;
    long long c_star = 0;
    for (int j = 0; j < n; ++j) {
      if (next[j] == m) continue;
      const int o = j * m + next[j];
      const long long es = std::max(job_ready[j], mach_ready[inst.machine[o]]);
      if (star_job < 0 || es + inst.duration[o] < c_star) {
        star_job = j;
        c_star = es + inst.duration[o];
      }
    }
    const int m_star = inst.machine[star_job * m + next[star_job]];
    for (int j = 0; j < n; ++j) {
      if (next[j] == m) continue;
      const int o = j * m + next[j];
      if (inst.machine[o] != m_star) continue;
      const int es = std::max(job_ready[j], mach_ready[m_star]);
      if (es >= c_star && j != star_job) continue;
      const int p = inst.duration[o];
      const int saved_job = job_ready[j], saved_mach = mach_ready[m_star];
      start[o] = es;
      job_ready[j] = es + p;
      mach_ready[m_star] = es + p;
      rem_job[j] -= p;
      rem_mach[m_star] -= p;
      ++next[j];
      search(done + 1);
      --next[j];
      rem_job[j] += p;
      rem_mach[m_star] += p;
      job_ready[j] = saved_job;
      mach_ready[m_star] = saved_mach;
      start[o] = -1;
    }
  }
};

}  // namespace

std::vector<int> jobshop_branch_and_bound(const JobShopInstance& inst) {
  // 6 x 6 (L2D's smallest size) takes at most 0.05 s on 100 random instances; 8 x 8 already takes
  // seconds to minutes.
  if (inst.jobs > 6 || inst.machines > 6) {
    throw ComboError("jobshop: branch-and-bound solves instances of at most 6 jobs and 6 machines; this one is " +
                     std::to_string(inst.jobs) + " x " + std::to_string(inst.machines));
  }
  const int n = inst.jobs, m = inst.machines;
  GifflerThompson gt(inst, n, m);
  gt.max_nodes = 200000000;
  gt.next.assign(n, 0);
  gt.job_ready.assign(n, 0);
  gt.mach_ready.assign(m, 0);
  gt.start.assign(static_cast<size_t>(n) * m, -1);
  gt.rem_job.assign(n, 0);
  gt.rem_mach.assign(m, 0);
  for (int o = 0; o < n * m; ++o) {
    gt.rem_job[o / m] += inst.duration[o];
    gt.rem_mach[inst.machine[o]] += inst.duration[o];
  }
  // The best dispatching rule is the first incumbent, so that the bound prunes from the start.
  for (DispatchRule rule : {DispatchRule::Spt, DispatchRule::Mwkr, DispatchRule::Mor, DispatchRule::Fifo}) {
    std::vector<int> schedule = jobshop_dispatch(inst, rule);
    const int makespan = jobshop_check(inst, schedule);
    if (makespan < gt.best) {
      gt.best = makespan;
      gt.best_start = schedule;
    }
  }
  gt.search(0);
  return gt.best_start;
}

}  // namespace pl::combo
