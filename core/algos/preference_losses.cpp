// A first cut: only DPO's sigmoid loss. The full table of TRL's loss_type values, f-DPO, KTO,
// ORPO, SimPO and CPO replaces this file (issue 8, section 2).
#include "core/algos/preference_losses.hpp"

namespace pl {

namespace {
using T = FieldType;
}

const std::vector<FieldSpec>& preference_loss_fields() {
  static const std::vector<FieldSpec> fields = {
      make_field("loss_type", T::String, "sigmoid", 0, 0, "loss", "the preference loss (TRL's loss_type)", false,
                 {"sigmoid"}),
      {"beta", T::Float, 0.1, 1e-4, 100, {}, "beta: the strength of the implicit KL to the reference", true, "loss"},
      {"label_smoothing", T::Float, 0.0, 0, 0.5, {}, "conservative DPO: the assumed share of flipped labels", true, "loss"},
  };
  return fields;
}

PairLossOutputs build_pair_loss(Graph& g, const PairLossInputs& in, const json& values) {
  const std::string type = values.at("loss_type").get<std::string>();
  if (type != "sigmoid") throw ConfigError("loss_type: unknown value '" + type + "'");
  Expr beta = g.param("beta", values.at("beta").get<float>());
  Expr eps = g.param("label_smoothing", values.at("label_smoothing").get<float>());
  Expr chosen = in.chosen_logps - in.ref_chosen_logps;
  Expr rejected = in.rejected_logps - in.ref_rejected_logps;
  Expr logits = chosen - rejected;
  // DPO (Rafailov et al. 2023, eq. 7) with conservative label smoothing (Mitchell 2023):
  // -(1 - eps) log sigma(beta h) - eps log sigma(-beta h).
  Expr per_pair = -(1.0f - eps) * log_sigmoid(beta * logits) - eps * log_sigmoid(-(beta * logits));
  PairLossOutputs out;
  out.loss = mean(per_pair);
  out.chosen_rewards = stop_gradient(beta * chosen);
  out.rejected_rewards = stop_gradient(beta * rejected);
  out.margin = mean(out.chosen_rewards - out.rejected_rewards);
  out.accuracy = mean(greater(out.chosen_rewards, out.rejected_rewards));
  g.name_output("loss", out.loss);
  g.name_output("chosen_rewards", mean(out.chosen_rewards));
  g.name_output("rejected_rewards", mean(out.rejected_rewards));
  g.name_output("margin", out.margin);
  g.name_output("accuracy", out.accuracy);
  return out;
}

void set_preference_loss_params(Graph& g, const json& values) {
  g.set_param("beta", values.at("beta").get<float>());
  g.set_param("label_smoothing", values.at("label_smoothing").get<float>());
}

bool preference_loss_needs_reference(const json&) { return true; }

}  // namespace pl
