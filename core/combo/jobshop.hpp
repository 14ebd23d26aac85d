// Job-shop scheduling: n jobs, m machines; job j is a chain of m operations, its k-th on machine
// machine(j, k) for duration(j, k) (integers), each machine once per job. Minimise the makespan.
//
// Files:
//  - standard n x m format (OR-Library, Beasley 1990): first line "n m", then one line per job with
//    m pairs "machine duration", machines 0-based. Lines starting with '#' are comments.
//  - Taillard's format (Taillard 1993): a header line of numbers starting with n m (the site's
//    "Nb of jobs, Nb of Machines, Time seed, ..." label line may precede it), a line "Times" and n
//    lines of m durations, a line "Machines" and n lines of m machines, 1-based.
// Dataset line: `n m` then n * m pairs `machine duration`, job by job — 2 + 2nm numbers.
// Generator (Taillard 1993; L2D, Zhang et al. 2020, Sec. 5): durations uniform in {1, ..., 99},
// each job's machine order a uniform random permutation.
// A schedule is the start time of every operation, job-major: start[j * m + k].
#pragma once

#include <string>
#include <vector>

#include "core/combo/common.hpp"
#include "core/util/rng.hpp"

namespace pl::combo {

struct JobShopInstance {
  int jobs = 0, machines = 0;
  std::vector<int> machine, duration;  // [j * machines + k]
  int ops() const { return jobs * machines; }
};

// Flat: instance i's operation (j, k) is machine[(i * jobs + j) * machines + k].
struct JobShopBatch {
  int jobs = 0, machines = 0, count = 0;
  std::vector<int> machine, duration;
  JobShopInstance instance(int i) const;
  // Room for `capacity` instances (count = capacity); draw() fills instances [first, first + n)
  // from generate_jobshop's distribution without allocating (a training loop's fresh instances).
  void allocate(int jobs, int machines, int capacity);
  void draw(Rng& rng, int first, int n);
  static JobShopBatch from_instances(const std::vector<JobShopInstance>& instances);
};

JobShopBatch generate_jobshop(int jobs, int machines, int count, uint64_t seed);

// Makespan of a schedule; ComboError naming the first violation (job precedence, two operations
// overlapping on a machine, a negative start, a wrong size).
int jobshop_check(const JobShopInstance& instance, const std::vector<int>& start);

// A standard or Taillard file (detected by a "Times" line); errors name the file and line.
JobShopInstance read_jobshop_file(const std::string& text, const std::string& file);
// True when the first data line has exactly two numbers (a standard file), or there is a Times line.
bool looks_like_jobshop_file(const std::string& text);
std::string write_jobshop_file(const JobShopInstance& instance);  // standard format

std::vector<JobShopInstance> read_jobshop_dataset(const std::string& text, const std::string& file);
std::string write_jobshop_dataset(const std::vector<JobShopInstance>& instances);

// L2D's dispatching state (Zhang et al. 2020, "Learning to Dispatch for Job Shop Scheduling via
// Deep Reinforcement Learning", Sec. 3-4). Action = a job: its next unscheduled operation (the
// only eligible one of the job, by precedence) is scheduled now. Mask: jobs with operations left.
// Placement: the earliest start at or after the job's previous operation ends where the machine is
// idle for the whole duration — an idle gap between already scheduled operations if one fits
// (L2D's permissible left shift), otherwise after the machine's last operation.
// Lower bound (L2D, Sec. 3): LB(o) = the end of o if scheduled, else LB(job predecessor of o) +
// duration(o) (the first operation's predecessor ends at 0); C_LB = max over operations. The
// reward of a step is C_LB(before) - C_LB(after) <= 0, so an episode's return is C_LB(start) -
// makespan.
class JobShopState {
 public:
  void reset(const JobShopBatch& batch);  // allocates; step() and mask() never do
  int count() const { return count_; }
  int jobs() const { return jobs_; }
  int machines() const { return machines_; }
  const uint8_t* mask(int i) const { return &mask_[static_cast<size_t>(i) * jobs_]; }
  double step(int i, int job);  // returns the reward; ComboError if the mask forbids it
  bool done(int i) const { return scheduled_[i] == jobs_ * machines_; }
  bool all_done() const;
  int next_op(int i, int job) const { return next_[static_cast<size_t>(i) * jobs_ + job]; }  // == machines: job finished
  int job_ready(int i, int job) const { return job_ready_[static_cast<size_t>(i) * jobs_ + job]; }
  int lower_bound(int i) const { return lb_max_[i]; }  // C_LB; the makespan once done
  int lower_bound_of(int i, int job, int k) const { return lb_[(static_cast<size_t>(i) * jobs_ + job) * machines_ + k]; }
  const int* start(int i) const { return &start_[static_cast<size_t>(i) * jobs_ * machines_]; }  // -1: not scheduled
  std::vector<int> schedule(int i) const;
  // Where the job's next operation would start if dispatched now (left shift included), without
  // scheduling it; the job's ready time once it is finished.
  int earliest_start(int i, int job) const;
  // When machine `machine` finishes its last scheduled operation (0 before any).
  int machine_ready(int i, int machine) const;
  const JobShopBatch* batch() const { return batch_; }

 private:
  static int place(const int* s, const int* e, int used, int ready, int p, int& pos);
  const JobShopBatch* batch_ = nullptr;
  int count_ = 0, jobs_ = 0, machines_ = 0;
  std::vector<uint8_t> mask_;
  std::vector<int> next_, job_ready_, start_, lb_, lb_max_, scheduled_;
  // Per instance and machine, its scheduled operations sorted by start: [slot] start and end.
  std::vector<int> slot_start_, slot_end_, slots_;
};

// ---- Reference solvers (return a schedule) ----

// Priority dispatching rules over the eligible operations, placed by JobShopState (so with L2D's
// left shift); ties go to the lowest job index. SPT: shortest processing time of the operation;
// MWKR: most work remaining in the job (this operation included); MOR: most operations remaining;
// FIFO: the operation that became eligible first (smallest job ready time). As L2D's baselines
// (Zhang et al. 2020, Sec. 5; Haupt 1989 for the rules).
enum class DispatchRule { Spt, Mwkr, Mor, Fifo };
std::vector<int> jobshop_dispatch(const JobShopInstance& instance, DispatchRule rule);
// Exact: depth-first branch and bound over the active schedules of Giffler & Thompson (1960)
// (branch on the conflict set of the operation with the earliest completion), pruning with the
// job and machine bounds max(ready + remaining work), starting from the best dispatching rule.
// Up to 6 jobs and 6 machines, and 2e8 search nodes; ComboError otherwise.
std::vector<int> jobshop_branch_and_bound(const JobShopInstance& instance);

}  // namespace pl::combo
