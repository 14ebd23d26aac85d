// The objective the playground shows is printed from each algorithm's loss expression (Graph::formula
// through Algorithm::objective and Trainer::objective), so it follows the loss and its coefficients.
#include <catch2/catch.hpp>

#include <string>

#include "core/autodiff/tape.hpp"
#include "core/train/trainer.hpp"

using namespace pl;

namespace {

Formula objective_of(json config) {
  config["total_timesteps"] = 2048;
  return Trainer::from_json(config)->objective();
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace

TEST_CASE("A formula prints displayed sub-expressions as symbols and defines them", "[autodiff][formula]") {
  Graph g(4);
  Expr logp = g.display(g.input("logp"), "logp", "\\log\\pi");
  Expr clip = g.display(g.param("clip_coef", 0.2f), "clip_coef", "\\epsilon");
  Expr ratio = g.display(exp(logp - g.input("old_logp")), "r", "r");
  Expr loss = mean(min(ratio, clamp(ratio, 1.0f - clip, 1.0f + clip))) * 0.5f;
  const Formula f = g.formula(loss);
  CHECK(f.text == "mean(min(r, clip(r, 1 - clip_coef, 1 + clip_coef))) * 0.5");
  CHECK(has(f.latex, "\\tfrac{1}{2}"));
  REQUIRE(f.where_text.size() == 2);
  CHECK(f.where_text[0] == "r = exp(logp - old_logp)");
  CHECK(f.where_text[1] == "clip_coef = 0.2");
  CHECK(f.where_latex[0] == "r = \\exp(\\log\\pi - \\mathrm{old\\_logp})");
  g.set_param("clip_coef", 0.3f);
  CHECK(g.formula(loss).where_text[1] == "clip_coef = 0.3");
  // Division keeps its parentheses: a / (b * c), not a / b * c.
  Expr a = g.input("a"), b = g.input("b"), c = g.input("c");
  CHECK(g.formula(a / (b * c)).text == "a / (b * c)");
}

TEST_CASE("PPO's objective is its loss expression: the value term's 1/2, clipping, coefficients", "[formula][trainer]") {
  const Formula f = objective_of({{"algo", "ppo"}, {"env_id", "CartPole-v1"}, {"num_envs", 2}, {"num_steps", 64}});
  // L = clipped surrogate - ent_coef * H + vf_coef * 0.5 * clipped value loss
  CHECK(has(f.text, "mean(max(-A_hat * r, -A_hat * clip(r, 1 - clip_coef, 1 + clip_coef)))"));
  CHECK(has(f.text, "(V_old(s) + clip(V(s) - V_old(s), -clip_coef, clip_coef) - R)^2"));
  CHECK(has(f.text, "- ent_coef * mean(H(pi(.|s)))"));
  CHECK(has(f.text, "+ vf_coef * (0.5 * mean(max((V(s) - R)^2"));
  CHECK(has(f.latex, "c_V \\cdot (\\tfrac{1}{2} \\cdot"));
  const std::string where = joined(f.where_text);
  CHECK(has(where, "r = exp(log pi(a|s) - log pi_old(a|s))"));
  CHECK(has(where, "A_hat = (A - mean(A)) / "));
  CHECK(has(where, "clip_coef = 0.2\n"));
  CHECK(has(where, "vf_coef = 0.5\n"));
  CHECK(has(where, "A = GAE(gamma = 0.99, lambda = 0.95)"));
  // Without the clipped value loss the value term is the plain squared error, still halved.
  const Formula plain = objective_of({{"algo", "ppo"}, {"env_id", "CartPole-v1"}, {"num_envs", 2}, {"num_steps", 64},
                                      {"clip_vloss", false}, {"norm_adv", false}});
  CHECK(has(plain.text, "+ vf_coef * (0.5 * mean((V(s) - R)^2))"));
  CHECK(has(plain.text, "-A * r"));
  CHECK_FALSE(has(plain.text, "A_hat"));
}

TEST_CASE("A live coefficient change shows in the objective", "[formula][trainer]") {
  auto t = Trainer::from_json({{"algo", "ppo"}, {"env_id", "CartPole-v1"}, {"num_envs", 2}, {"num_steps", 64}});
  t->set("clip_coef", 0.1);
  CHECK(has(joined(t->objective().where_text), "clip_coef = 0.1\n"));
}

TEST_CASE("REINFORCE's objective has the baseline only when use_baseline is on", "[formula][trainer]") {
  const Formula with = objective_of({{"algo", "reinforce"}, {"env_id", "CartPole-v1"}});
  const Formula without = objective_of({{"algo", "reinforce"}, {"env_id", "CartPole-v1"}, {"use_baseline", false}});
  CHECK(has(with.text + joined(with.where_text), "G - V(s)"));
  CHECK(has(with.text, "vf_coef * mean((V(s) - G)^2)"));
  CHECK_FALSE(has(without.text + joined(without.where_text), "V(s)"));
  CHECK_FALSE(has(without.latex + joined(without.where_latex), "V_\\theta"));
  CHECK_FALSE(has(without.text, "vf_coef"));
  CHECK(has(joined(without.where_text), "G = sum_k gamma^k r_{t+k}"));
  CHECK(with.text != without.text);
}

TEST_CASE("A2C's objective: policy gradient, entropy bonus, unhalved value loss", "[formula][trainer]") {
  const Formula f = objective_of({{"algo", "a2c"}, {"env_id", "CartPole-v1"}});
  CHECK(f.text == "-mean(A * log pi(a|s)) - ent_coef * mean(H(pi(.|s))) + vf_coef * mean((V(s) - R)^2)");
}

TEST_CASE("SFT's objective is its token cross-entropy", "[formula][trainer]") {
  const Formula f = Trainer::from_json({{"algo", "sft"}, {"task", "addition"}, {"digits", 1}, {"max_steps", 2}})->objective();
  CHECK(f.text == "-sum(log pi(y_t|x,y_<t) * w_t)");
  CHECK(has(f.latex, "\\log \\pi_\\theta(y_t \\mid x, y_{<t})"));
  REQUIRE(f.where_text.size() == 1);
  CHECK(f.where_text[0] == "log pi(y_t|x,y_<t) = log_softmax(f_theta)[targets]");
}
