// Loss pieces written as expressions (core/autodiff), shared by the algorithm files.
//
// Inputs every policy-gradient loss graph may use (bound per minibatch by OnPolicyAlgorithm):
//   logp      log pi_theta(a|s)          (gradient flows to the actor)
//   old_logp  log pi_old(a|s) at collection time
//   adv       advantage estimate
//   value     V_theta(s)                 (gradient flows to the critic)
//   old_value V_old(s) at collection time
//   ret       value target (advantage + old value)
//   entropy   H[pi_theta(.|s)]           (gradient flows to the actor)
// Outputs each loss names: "loss" (what is minimised), "pg_loss", "v_loss", "entropy", and, where
// they apply, "approx_kl_k1", "approx_kl_k3", "clip_fraction".
#pragma once

#include "core/autodiff/tape.hpp"

namespace pl {
namespace losses {

// How the loss's inputs and coefficients print in its formula (Graph::formula: the objective the
// playground shows is printed from the loss graph itself). Only what the graph has is named.
inline void display_symbols(Graph& g) {
  auto in = [&](const char* name, const char* text, const char* latex) {
    if (g.has_input(name)) g.display(g.input(name), text, latex);
  };
  in("logp", "log pi(a|s)", "\\log\\pi_\\theta(a\\mid s)");
  in("old_logp", "log pi_old(a|s)", "\\log\\pi_{\\theta_{\\mathrm{old}}}(a\\mid s)");
  in("adv", "A", "A");
  in("value", "V(s)", "V_\\theta(s)");
  in("old_value", "V_old(s)", "V_{\\theta_{\\mathrm{old}}}(s)");
  in("ret", "R", "R");
  in("entropy", "H(pi(.|s))", "\\mathcal{H}[\\pi_\\theta(\\cdot\\mid s)]");
  auto param = [&](const char* name, const char* latex) {
    if (g.has_param(name)) g.display(g.param(name, 0.0f), name, latex);
  };
  param("clip_coef", "\\epsilon");
  param("ent_coef", "c_{\\mathcal{H}}");
  param("vf_coef", "c_V");
}

// Per-minibatch advantage normalisation, (A - mean A) / (std A + 1e-8) with the unbiased std, as
// CleanRL's PPO does. Without norm the advantage is used as is.
inline Expr advantage(Graph& g, bool normalize) {
  Expr adv = g.input("adv");
  if (!normalize) return adv;
  Expr centered = adv - mean(adv);
  Expr n_minus_1 = max(g.count() - 1.0f, g.constant(1.0f));
  return g.display(centered / (sqrt(sum(square(centered)) / n_minus_1) + 1e-8f), "A_hat", "\\hat{A}");
}

// Probability ratio r = pi_theta / pi_old = exp(logp - old_logp).
inline Expr log_ratio(Graph& g) { return g.input("logp") - g.input("old_logp"); }
inline Expr ratio(Graph& g, Expr logratio) { return g.display(exp(logratio), "r", "r(\\theta)"); }

// KL(pi_old || pi_theta) estimators from samples of pi_old (Schulman 2020, "Approximating KL
// Divergence"): k1 = -log r (unbiased, high variance), k3 = (r - 1) - log r (unbiased, low variance).
inline void name_kl_estimators(Graph& g, Expr logratio, Expr ratio) {
  g.name_output("approx_kl_k1", mean(-logratio));
  g.name_output("approx_kl_k3", mean((ratio - 1.0f) - logratio));
}

// PPO's clipped surrogate (Schulman et al. 2017, eq. 7), as a loss to minimise:
//   mean(max(-A r, -A clip(r, 1 - eps, 1 + eps)))
inline Expr clipped_surrogate(Expr adv, Expr ratio, Expr clip) {
  return mean(max(-adv * ratio, -adv * clamp(ratio, 1.0f - clip, 1.0f + clip)));
}

// The likelihood-ratio policy gradient (Williams 1992): -mean(A log pi(a|s)).
inline Expr vanilla_policy_gradient(Graph& g, Expr adv) { return -mean(adv * g.input("logp")); }

// Squared error of the value head, mean((V - R)^2).
inline Expr value_mse(Graph& g) { return mean(square(g.input("value") - g.input("ret"))); }

// PPO's clipped value loss (CleanRL, following the OpenAI baselines implementation):
//   mean(max((V - R)^2, (V_old + clip(V - V_old, -eps, eps) - R)^2))
inline Expr clipped_value_mse(Graph& g, Expr clip) {
  Expr v = g.input("value"), v_old = g.input("old_value"), ret = g.input("ret");
  Expr v_clipped = v_old + clamp(v - v_old, -clip, clip);
  return mean(max(square(v - ret), square(v_clipped - ret)));
}

// Names the outputs every loss reports ("loss", "pg_loss", "entropy", and "v_loss" when it has a
// value term), so OnPolicyAlgorithm can read them into the metrics record; and the symbols its
// formula prints with (display_symbols).
inline void name_outputs(Graph& g, Expr loss, Expr pg_loss, Expr entropy, const Expr* v_loss) {
  display_symbols(g);
  g.name_output("loss", loss);
  g.name_output("pg_loss", pg_loss);
  g.name_output("entropy", entropy);
  if (v_loss) g.name_output("v_loss", *v_loss);
}

}  // namespace losses
}  // namespace pl
