// Constrained alignment (issue 8, section 3): safety as a cost with a budget. The policy maximizes
// a helpfulness reward r(x, y) subject to E[c(x, y)] <= b for a per-completion safety cost c (the
// gold safety judge of preference_data.hpp: 1 for an unsafe completion, else 0). Three ways:
//   dual        one-shot dualization (Huang et al. 2024, "One-Shot Safety Alignment for Large
//               Language Models via Optimal Dualization"): the KL-regularized constrained problem
//                 max_pi E[r] - beta KL(pi || pi_ref)  s.t.  E[c] <= b
//               has the closed-form dual (their eq. for the dual function, with one constraint)
//                 D(lambda) = E_x[ beta log E_{y ~ pi_ref(.|x)} exp((r(x,y) - lambda c(x,y)) / beta) ] + lambda b,
//               convex in lambda >= 0; lambda* = argmin D is found ONCE from samples of the reference
//               policy, then one unconstrained run optimizes r - lambda* c;
//   lagrangian  the classic primal-dual baseline (e.g. Safe RLHF, Dai et al. 2023): reward
//               r - lambda c and after each step lambda <- max(0, lambda + eta (mean cost - b));
//   judges      a mixture of judges (CGPO, Xu et al. 2024, "The Perfect Blend"): each judge flags
//               violating completions and the update is constrained per judge; as in CGPO's
//               constrained policy gradient, a flagged completion is never reinforced: its advantage
//               becomes min(A, 0) (it can only be pushed down). The budget plays no part (CGPO's
//               constraints are hard: no violation is acceptable).
#pragma once

#include <string>
#include <vector>

namespace pl {

enum class SafetyMethod { None, Dual, Lagrangian, Judges };
const std::vector<std::string>& safety_method_names();
// ConfigError naming `field` for an unknown name.
SafetyMethod parse_safety_method(const std::string& name, const std::string& field);

// The Monte-Carlo dual of Huang et al. 2024 for P prompts with G reference samples each (rewards r
// and costs c, row p * G + g): D(lambda) = mean_p beta log mean_g exp((r - lambda c) / beta) + lambda b.
double safety_dual_value(const float* r, const float* c, int P, int G, double beta, double budget, double lambda);
// D'(lambda) = b - mean_p E_{q_lambda(.|p)}[c], q_lambda(g|p) proportional to exp((r - lambda c) / beta):
// the budget minus the cost of the tilted (optimal) policy for that lambda. Non-decreasing in lambda.
double safety_dual_slope(const float* r, const float* c, int P, int G, double beta, double budget, double lambda);
// lambda* = argmin over [0, lambda_max] of D: 0 when the tilted policy at lambda 0 already keeps
// the budget, else the root of D' by bisection (D is convex, D' monotone), lambda_max when the
// budget cannot be met by reweighting the samples (e.g. every sample is unsafe). Never allocates.
double optimal_safety_dual(const float* r, const float* c, int P, int G, double beta, double budget,
                           double lambda_max = 100.0);

// The Lagrangian baseline's dual step: max(0, lambda + lr * (cost - budget)).
inline double lagrangian_step(double lambda, double lr, double cost, double budget) {
  const double next = lambda + lr * (cost - budget);
  return next > 0 ? next : 0.0;
}

// CGPO's per-judge constraint on advantages: every row flagged by any judge (flags[j][row] != 0 for
// judge j of `judges`) gets min(A, 0). Returns how many rows were flagged.
int constrain_flagged_advantages(float* advantages, int rows, const float* const* flags, int judges);

}  // namespace pl
