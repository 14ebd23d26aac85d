// The training run of a re-encoding policy (core/combo/reencoding_policy.hpp), shared by every
// problem that has one (`pomo` with problem jobshop: pomo_jobshop.cpp; binpack1d / binpack3d:
// pomo_binpack.cpp). A problem plugs in through a ReencodingRunProblem: its adapter, its training
// and held-out instances, its group of trajectories per instance and its reference objectives.
//
// Training (REINFORCE with a shared group baseline): each of the batch_size fresh instances is
// rolled out S times (the problem's group: job-shop's n POMO starts, each trajectory forced to a
// different first node; bin packing's `samples` sampled trajectories). The return of a trajectory
// is R = -objective / Z (minimised) or +objective / Z (maximised), Z the instance's scale; the
// baseline is the mean return of the instance's S trajectories (Kwon et al. 2020, POMO, Eq. 3:
// b = 1/N sum_j R(tau_j); with sampled instead of forced starts it is the same shared mean over N
// samples of one instance), and
//     loss = -1/(B S) sum_{b,s} (R_bs - b_b) sum_t log p_theta(a_t | s_t)       (POMO Eq. 4)
// summed over the recorded decisions with two or more allowed nodes (the others have log-prob 0),
// scored in chunks of the same tape pass that decoded them (gradients accumulate). One Adam step
// with global-norm clipping per iteration. Held-out evaluation on the problem's fixed held-out set
// (a seed of its own: every run of the problem evaluates on the same instances): one greedy
// trajectory per instance, and the problem's multi-trajectory decode (job-shop: every first job,
// greedy; bin packing: S samples from a fixed seed) with the best per instance; gap to the
// problem's reference solver.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/algos/combo.hpp"
#include "core/combo/reencoding_policy.hpp"
#include "core/combo/solvers.hpp"
#include "core/nn/reencoding_model.hpp"

namespace pl {

class ReencodingRunProblem {
 public:
  virtual ~ReencodingRunProblem() = default;
  virtual combo::ProblemKind kind() const = 0;
  virtual int n() const = 0;          // the training size (jobs, items)
  virtual int node_dim() const = 0;
  virtual int max_nodes() const = 0;  // nodes per row of the training and held-out instances
  virtual int max_decisions() const = 0;  // decisions per trajectory at most
  virtual bool maximize() const = 0;
  // Trajectories per training instance, and trajectory s's forced first node (-1: the policy's).
  virtual int group() const = 0;
  virtual int train_start(int s) const = 0;
  // Held-out: the greedy trajectory's first node of instance i (-1: the policy's), and whether the
  // multi-trajectory decode forces starts (group() greedy trajectories) or samples group() of them.
  virtual int heldout_start(int i) const = 0;
  virtual bool heldout_multistart() const = 0;
  // Makes the policy (after the model's parameters are finalised): max_rows rows.
  virtual void make_policy(const ReencodingModel& model, Parameters& params, int max_rows, int batch_size,
                           int heldout_size) = 0;
  virtual combo::ReencodingPolicy& policy() = 0;
  // Draws batch_size fresh training instances (no allocation) and makes them the policy's source.
  virtual void draw(Rng& rng) = 0;
  virtual void use_heldout() = 0;                        // the held-out set as the policy's source
  virtual double scale(int b) const = 0;                 // training instance b's Z (> 0)
  virtual double heldout_reference(int i, const std::string& solver) const = 0;
  virtual std::string reference(const Config& c) const = 0;  // the resolved reference solver's name
  // ComboLearner::solve for this problem.
  virtual double solve(const ReencodingModel& model, Parameters& params, const std::vector<combo::AnyInstance>& instances,
                       const combo::DecodeOptions& options, uint64_t seed, std::vector<std::vector<int>>& solutions,
                       std::vector<double>& objectives) const = 0;
};

// The part of a run problem that is the same for every adapter with a Batch type that has
// allocate/draw/instance (a combo::SourcedPolicy<Problem, Batch> as Policy): the policy, the
// training batch drawn in place, the held-out set and its reference objectives.
template <typename Policy, typename Batch>
class SourcedRunProblem : public ReencodingRunProblem {
 public:
  combo::ReencodingPolicy& policy() override { return policy_->policy(); }
  void draw(Rng& rng) override {
    batch_.draw(rng, 0, batch_.count);
    policy_->problem().set_source(batch_);
  }
  void use_heldout() override { policy_->problem().set_source(heldout_); }
  double heldout_reference(int i, const std::string& solver) const override {
    return combo::solve(combo::AnyInstance(heldout_.instance(i)), solver).objective;
  }

 protected:
  std::unique_ptr<Policy> policy_;
  Batch batch_, heldout_;
};

// The re-encoding training run over `problem` (which has read its own config fields).
std::unique_ptr<Algorithm> make_reencoding_run(const Config& c, std::unique_ptr<ReencodingRunProblem> problem);
// The model's spec from the config's model fields and the problem's node features.
ReencodingSpec reencoding_spec(const Config& c, int node_dim);

}  // namespace pl
