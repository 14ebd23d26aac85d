#include "core/combo/tsp_policy.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace pl::combo {

std::string DecodeOptions::text() const {
  switch (kind) {
    case DecodeKind::Greedy: return "greedy";
    case DecodeKind::Sample: return "sample:" + std::to_string(samples);
    case DecodeKind::Multistart: return "multistart";
    case DecodeKind::MultistartAug8: return "multistart_aug8";
  }
  return "?";
}

DecodeOptions parse_decode(const std::string& text) {
  DecodeOptions o;
  if (text == "greedy") return o;
  if (text == "multistart") {
    o.kind = DecodeKind::Multistart;
    return o;
  }
  if (text == "multistart_aug8") {
    o.kind = DecodeKind::MultistartAug8;
    return o;
  }
  if (text.rfind("sample:", 0) == 0) {
    const std::string count = text.substr(7);
    char* end = nullptr;
    const long k = count.empty() ? 0 : std::strtol(count.c_str(), &end, 10);
    if (!count.empty() && end && *end == '\0' && k >= 1 && k <= 4096) {
      o.kind = DecodeKind::Sample;
      o.samples = static_cast<int>(k);
      return o;
    }
    throw ComboError("decode '" + text + "': sample:N needs an integer N in [1, 4096]");
  }
  throw ComboError("unknown decode '" + text + "'; use greedy, sample:N, multistart or multistart_aug8");
}

void dihedral(int k, float x, float y, float& ox, float& oy) {
  switch (k & 7) {
    case 0: ox = x, oy = y; break;
    case 1: ox = y, oy = x; break;
    case 2: ox = 1 - x, oy = y; break;
    case 3: ox = y, oy = 1 - x; break;
    case 4: ox = x, oy = 1 - y; break;
    case 5: ox = 1 - y, oy = x; break;
    case 6: ox = 1 - x, oy = 1 - y; break;
    default: ox = 1 - y, oy = 1 - x; break;
  }
}

double tour_length_xy(const float* xy, int n, const int* tour) {
  double total = 0;
  for (int k = 0; k < n; ++k) {
    const int a = tour[k], b = tour[(k + 1) % n];
    const double dx = static_cast<double>(xy[2 * a]) - xy[2 * b], dy = static_cast<double>(xy[2 * a + 1]) - xy[2 * b + 1];
    total += std::sqrt(dx * dx + dy * dy);
  }
  return total;
}

namespace {
int copies_of(const DecodeOptions& o) { return o.kind == DecodeKind::MultistartAug8 ? 8 : 1; }
}  // namespace

int TspDecoder::trajectories(int n) const {
  switch (options_.kind) {
    case DecodeKind::Greedy: return 1;
    case DecodeKind::Sample: return options_.samples;
    default: return n;
  }
}

TspDecoder::TspDecoder(const AttentionModel& model, Parameters& params, int instances, int max_n,
                       const DecodeOptions& options)
    : options_(options),
      instances_(instances),
      max_n_(max_n),
      policy_(model, params, instances * copies_of(options),
              max_n, options.kind == DecodeKind::Sample ? options.samples
                     : options.kind == DecodeKind::Greedy ? 1
                                                          : max_n) {
  const int copies = copies_of(options);
  const int S = policy_.max_trajectories();
  aug_.assign(static_cast<size_t>(copies) * instances * max_n * 2, 0.0f);
  starts_.assign(static_cast<size_t>(S), 0);
  tours_.assign(static_cast<size_t>(S) * max_n, 0);
}

void TspDecoder::solve(const float* xy, int count, int n, Rng& rng, int* tours, double* lengths) {
  if (count < 1 || count > instances_ || n < 2 || n > max_n_)
    throw ComboError("tsp decoder: " + std::to_string(count) + " instances of " + std::to_string(n) +
                     " cities exceed its capacity (" + std::to_string(instances_) + " of " + std::to_string(max_n_) + ")");
  const int copies = copies_of(options_);
  const int S = trajectories(n);
  // Copy c of instance i is encoded row c * count + i.
  for (int c = 0; c < copies; ++c)
    for (int i = 0; i < count; ++i)
      for (int j = 0; j < n; ++j) {
        const size_t from = (static_cast<size_t>(i) * n + j) * 2;
        const size_t to = ((static_cast<size_t>(c) * count + i) * n + j) * 2;
        dihedral(c, xy[from], xy[from + 1], aug_[to], aug_[to + 1]);
      }
  policy_.encode(aug_.data(), copies * count, n);
  const bool greedy = options_.kind != DecodeKind::Sample;
  for (int s = 0; s < S; ++s) starts_[s] = s % n;
  for (int i = 0; i < count; ++i) {
    const float* inst = xy + static_cast<size_t>(i) * n * 2;
    double best = std::numeric_limits<double>::infinity();
    for (int c = 0; c < copies; ++c) {
      policy_.decode(c * count + i, S, starts_.data(), greedy, &rng, tours_.data());
      for (int s = 0; s < S; ++s) {
        const int* tour = &tours_[static_cast<size_t>(s) * n];
        // The symmetries keep lengths: measure on the original coordinates.
        const double length = tour_length_xy(inst, n, tour);
        if (length < best) {
          best = length;
          std::copy(tour, tour + n, tours + static_cast<size_t>(i) * n);
        }
      }
    }
    lengths[i] = best;
  }
}

double solve_instances(const AttentionModel& model, Parameters& params, const std::vector<TspInstance>& instances,
                       const DecodeOptions& options, uint64_t seed, std::vector<std::vector<int>>& tours,
                       std::vector<double>& lengths) {
  tours.assign(instances.size(), {});
  lengths.assign(instances.size(), 0.0);
  if (instances.empty()) return 0;
  int max_n = 2;
  for (const TspInstance& inst : instances) max_n = std::max(max_n, inst.n);
  // One instance per solve() call (a file's instances may differ in n): capacity 1 keeps the
  // encoder's attention buffers at copies x heads x max_n^2.
  TspDecoder decoder(model, params, 1, max_n, options);
  Rng rng(seed);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<float> xy;
  std::vector<int> tour;
  double best_length = 0;
  // One instance at a time (instances of a file may differ in n).
  for (size_t k = 0; k < instances.size(); ++k) {
    const TspInstance& inst = instances[k];
    const int n = inst.n;
    double lo_x = 0, lo_y = 0, scale = 1;
    bool inside = true;
    for (double v : inst.xy) inside = inside && v >= 0 && v <= 1;
    if (!inside) {
      double hi_x = inst.xy[0], hi_y = inst.xy[1];
      lo_x = hi_x, lo_y = hi_y;
      for (int j = 0; j < n; ++j) {
        lo_x = std::min(lo_x, inst.xy[2 * j]), hi_x = std::max(hi_x, inst.xy[2 * j]);
        lo_y = std::min(lo_y, inst.xy[2 * j + 1]), hi_y = std::max(hi_y, inst.xy[2 * j + 1]);
      }
      scale = std::max({hi_x - lo_x, hi_y - lo_y, 1e-12});
    }
    xy.assign(static_cast<size_t>(n) * 2, 0.0f);
    for (int j = 0; j < n; ++j) {
      xy[2 * j] = static_cast<float>((inst.xy[2 * j] - lo_x) / scale);
      xy[2 * j + 1] = static_cast<float>((inst.xy[2 * j + 1] - lo_y) / scale);
    }
    tour.assign(static_cast<size_t>(n), 0);
    decoder.solve(xy.data(), 1, n, rng, tour.data(), &best_length);
    tours[k] = tour;
    lengths[k] = tour_length(inst, tour);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace pl::combo
