// Decoding TSP tours with the Attention Model (core/nn/attention_model.hpp): greedy, sampling,
// POMO's multi-start (Kwon et al. 2020, Sec. 4.1: every node once as the first node, greedy) and
// POMO's x8 instance augmentation (Sec. 4.3: the 8 symmetries of the unit square applied to the
// coordinates, which keep every tour length); the best tour per instance wins.
#pragma once

#include <string>
#include <vector>

#include "core/combo/tsp.hpp"
#include "core/nn/attention_model.hpp"

namespace pl::combo {

enum class DecodeKind { Greedy, Sample, Multistart, MultistartAug8 };
struct DecodeOptions {
  DecodeKind kind = DecodeKind::Greedy;
  int samples = 1;  // Sample: tours drawn per instance
  std::string text() const;  // "greedy", "sample:16", "multistart", "multistart_aug8"
};
// "greedy" | "sample:N" (1 <= N <= 4096) | "multistart" | "multistart_aug8"; ComboError otherwise.
DecodeOptions parse_decode(const std::string& text);

// The k-th (0..7) symmetry of the unit square applied to (x, y) (POMO Table 1):
// (x,y) (y,x) (1-x,y) (y,1-x) (x,1-y) (1-y,x) (1-x,1-y) (1-y,1-x).
void dihedral(int k, float x, float y, float& ox, float& oy);

// Length of the closed tour over float coordinates xy [n, 2], in double.
double tour_length_xy(const float* xy, int n, const int* tour);

// Decodes batches of TSP instances with a policy; allocates only in its constructor.
// Trajectories per instance: greedy 1 (starting at node 0), sample:N N (start nodes 0, 1, ...
// cycling), multistart n, multistart_aug8 8n.
class TspDecoder {
 public:
  // instances: instances per solve() call; max_n: the largest n; options fix the capacities.
  TspDecoder(const AttentionModel& model, Parameters& params, int instances, int max_n, const DecodeOptions& options);

  // Decodes count (<= instances) instances of n nodes, coordinates xy [count, n, 2] in the unit
  // square. Writes the best tour of each instance [count, n] and its length [count].
  void solve(const float* xy, int count, int n, Rng& rng, int* tours, double* lengths);

  const DecodeOptions& options() const { return options_; }
  AmPolicy& policy() { return policy_; }

 private:
  int trajectories(int n) const;
  DecodeOptions options_;
  int instances_, max_n_;
  AmPolicy policy_;
  std::vector<float> aug_;  // [copies * instances, n, 2] encoded coordinates
  std::vector<int> starts_, tours_;
};

// The policy's tours of arbitrary TSP instances (a dataset, a TSPLIB file): coordinates outside
// the unit square are scaled into it (one scale for both axes, so tours keep their order of
// length); lengths are the instances' own (tour_length). Returns the seconds spent decoding.
double solve_instances(const AttentionModel& model, Parameters& params, const std::vector<TspInstance>& instances,
                       const DecodeOptions& options, uint64_t seed, std::vector<std::vector<int>>& tours,
                       std::vector<double>& lengths);

}  // namespace pl::combo
