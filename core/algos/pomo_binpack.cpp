// `pomo` with `problem: binpack1d | binpack3d`: learned online bin-packing policies (issue #9),
// the re-encoding policy over core/combo/binpack_policy.hpp's adapters, trained by the shared
// re-encoding run (reencoding_run.hpp); this file is bin packing's side of it.
//
// Baseline: POMO's forced first actions make no sense for online packing (the first item always
// opens the first bin in 1-D; in 3-D most first corners are equivalent), so each instance is rolled
// out `samples` times, every trajectory sampled from the policy. `baseline`: pomo, the mean return
// of the instance's samples (POMO's shared baseline, Kwon et al. 2020, Eq. 3, with sampled starts:
// REINFORCE with a leave-none-out sample-mean baseline); exponential, b <- beta b + (1 - beta) mean R
// over the batch's samples (Kool et al. 2019, Sec. 4); rollout, b = the return of one greedy
// packing of the instance by the frozen policy, shared by its samples (Kool et al. 2019, Sec. 4 /
// Alg. 1; replaced by t-test every bl_interval steps: reencoding_run.hpp). Critic and poppy are the
// Attention Model's and are refused.
//   1-D: R = -(bins used) / LB, LB = ceil(sum of sizes / C) (Martello & Toth's L1), so instances
//        weigh by their relative waste; the held-out gap is bins / reference - 1.
//   3-D: R = utilisation (Zhao et al. 2021, Sec. 4: the step reward is the placed item's volume
//        ratio, whose sum is the final utilisation); the held-out gap is 1 - utilisation / reference.
// References (Johnson et al. 1974 for first fit and best fit): `reference` first-fit or best-fit;
// auto: best-fit (1-D: the fullest bin that fits; 3-D: the deepest-bottom-left corner).
#include <algorithm>
#include <memory>

#include "core/algos/algorithm.hpp"
#include "core/algos/reencoding_run.hpp"
#include "core/combo/binpack_policy.hpp"
#include "core/combo/solvers.hpp"

namespace pl {

namespace {

// Their own held-out seeds (every run of a problem evaluates on the same instances).
constexpr uint64_t kBinPack1DHeldoutSeed = 0x62696e31ULL;  // "bin1"
constexpr uint64_t kBinPack3DHeldoutSeed = 0x62696e33ULL;  // "bin3"

// What both bin-packing problems share: config checks, trajectories, reference, solving.
template <typename Policy, typename Batch>
class BinPackRunProblem : public SourcedRunProblem<Policy, Batch> {
 public:
  BinPackRunProblem(const Config& c, combo::ProblemKind kind)
      : kind_(kind), n_(static_cast<int>(c.get_int("n"))), S_(static_cast<int>(c.get_int("samples"))) {}
  combo::ProblemKind kind() const override { return kind_; }
  int n() const override { return n_; }
  int max_decisions() const override { return n_; }
  int group() const override { return S_; }
  int train_start(int) const override { return -1; }
  int greedy_start(RunSet, int) const override { return -1; }
  bool heldout_multistart() const override { return false; }
  std::string reference(const Config& c) const override {
    std::string name = c.get_string("reference");
    if (name == "auto") name = "best-fit";
    try {
      combo::find_solver(kind_, name);
    } catch (const combo::ComboError& e) {
      throw ConfigError(std::string("field 'reference': ") + e.what());
    }
    return name;
  }
  double solve(const ReencodingModel& model, Parameters& params, const std::vector<combo::AnyInstance>& instances,
               const combo::DecodeOptions& options, uint64_t seed, std::vector<std::vector<int>>& solutions,
               std::vector<double>& objectives) const override {
    return combo::solve_binpack_instances(kind_, model, params, instances, options, seed, solutions, objectives);
  }

 protected:
  void allocate(Batch& batch, int count) const override { batch.allocate(n_, count); }
  using SourcedRunProblem<Policy, Batch>::batch_;
  combo::ProblemKind kind_;
  int n_, S_;
};

class BinPack1DRunProblem final : public BinPackRunProblem<combo::BinPack1DPolicy, combo::BinPack1DBatch> {
 public:
  explicit BinPack1DRunProblem(const Config& c) : BinPackRunProblem(c, combo::ProblemKind::BinPack1D) {}
  int node_dim() const override { return combo::kBinPack1DFeatures; }
  int max_nodes() const override { return combo::kBinPack1DSlots + 1; }
  bool maximize() const override { return false; }
  double scale(int b) const override {
    long total = 0;
    for (int k = 0; k < n_; ++k) total += batch_.size[static_cast<size_t>(b) * n_ + k];
    return static_cast<double>((total + batch_.capacity - 1) / batch_.capacity);
  }

 private:
  std::unique_ptr<combo::BinPack1DPolicy> new_policy(const ReencodingModel& model, Parameters& params,
                                                     int max_rows) const override {
    return std::make_unique<combo::BinPack1DPolicy>(model, params, max_rows, max_nodes(), n_);
  }
  combo::BinPack1DBatch generate_heldout(int count) const override {
    return combo::generate_binpack1d(n_, count, kBinPack1DHeldoutSeed);
  }
};

class BinPack3DRunProblem final : public BinPackRunProblem<combo::BinPack3DPolicy, combo::BinPack3DBatch> {
 public:
  explicit BinPack3DRunProblem(const Config& c) : BinPackRunProblem(c, combo::ProblemKind::BinPack3D) {}
  int node_dim() const override { return combo::kBinPack3DFeatures; }
  int max_nodes() const override { return kCells; }
  bool maximize() const override { return true; }
  double scale(int) const override { return 1.0; }

 private:
  std::unique_ptr<combo::BinPack3DPolicy> new_policy(const ReencodingModel& model, Parameters& params,
                                                     int max_rows) const override {
    return std::make_unique<combo::BinPack3DPolicy>(model, params, max_rows, kCells, n_, kCells);
  }
  combo::BinPack3DBatch generate_heldout(int count) const override {
    return combo::generate_binpack3d(n_, count, kBinPack3DHeldoutSeed);
  }

  static constexpr int kCells = 100;  // the generator's 10 x 10 bin floor
};

}  // namespace

std::unique_ptr<Algorithm> make_pomo_binpack(const Config& c) {
  if (c.get_string("problem") == "binpack1d") return make_reencoding_run(c, std::make_unique<BinPack1DRunProblem>(c));
  return make_reencoding_run(c, std::make_unique<BinPack3DRunProblem>(c));
}

}  // namespace pl
