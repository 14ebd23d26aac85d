#include "core/algos/algorithm.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace pl {

namespace {

ActorCriticSpec agent_spec(const Config& c, const VectorEnv& env, bool with_critic) {
  ActorCriticSpec s;
  s.obs_dim = env.obs_dim();
  s.action_space = env.action_space();
  s.hidden = c.get_int_list("hidden_sizes");
  s.activation = parse_activation(c.get_string("activation"));
  s.with_critic = with_critic;
  s.init_log_std = static_cast<float>(c.get_float("init_log_std"));
  return s;
}
}  // namespace

OnPolicyAlgorithm::OnPolicyAlgorithm(const Config& config, int rollout_steps, int minibatch_capacity,
                                     bool with_critic)
    : config_(config),
      env_(config.get_string("env_id"), static_cast<int>(config.get_int("num_envs"))),
      agent_(agent_spec(config, env_, with_critic)),
      optimizer_(Optimizer::parse(config.get_string("optimizer")), agent_.params().total_size(),
                 config.get_float("adam_eps")),
      num_envs_(static_cast<int>(config.get_int("num_envs"))),
      rollout_steps_(rollout_steps),
      gamma_(config.get_float("gamma")) {
  const uint64_t seed = static_cast<uint64_t>(config.get_int("seed"));
  Rng init_rng = streams::stream(seed, streams::kInit);
  agent_.init(init_rng);
  action_rng_ = streams::stream(seed, streams::kActions);
  shuffle_rng_ = streams::stream(seed, streams::kShuffle);

  const int obs_dim = env_.obs_dim(), act_dim = env_.act_dim();
  buffer_.allocate(rollout_steps_, num_envs_, obs_dim, act_dim);
  norm_.norm_obs = config.get_bool("norm_obs");
  norm_.norm_reward = config.get_bool("norm_reward");
  norm_.clip_obs = config.get_float("clip_obs");
  norm_.clip_reward = config.get_float("clip_reward");
  norm_.gamma = gamma_;
  norm_.setup(obs_dim, num_envs_);

  act_batch_ = agent_.make_batch(num_envs_);
  final_batch_ = agent_.make_batch(num_envs_);
  if (agent_.has_critic()) values_batch_ = agent_.make_batch(rollout_steps_ * num_envs_);
  mb_ = agent_.make_batch(minibatch_capacity);
  mb_old_logp_ = VectorXf::Zero(minibatch_capacity);
  mb_adv_ = VectorXf::Zero(minibatch_capacity);
  mb_ret_ = VectorXf::Zero(minibatch_capacity);
  mb_old_value_ = VectorXf::Zero(minibatch_capacity);
  obs_.assign(static_cast<size_t>(num_envs_) * obs_dim, 0.0f);
  final_obs_.assign(obs_.size(), 0.0f);
  rewards_.assign(num_envs_, 0.0f);
  costs_.assign(num_envs_, 0.0f);
  terminated_.assign(num_envs_, 0);
  truncated_.assign(num_envs_, 0);
  active_.assign(num_envs_, 1);
  indices_.assign(static_cast<size_t>(buffer_.samples()), 0);
  episodes_.reserve(static_cast<size_t>(buffer_.samples()) + num_envs_);
  sum_layer_norms_.assign(agent_.params().count(), 0.0);

  const int64_t batch = static_cast<int64_t>(rollout_steps_) * num_envs_;
  total_timesteps_ = config.get_int("total_timesteps");
  seed_ = seed;
  gae_lambda_ = config.get_float("gae_lambda");
  num_iterations_ = total_timesteps_ / batch;
  apply_config(config);
  reset_envs(seed);
}

const Config& OnPolicyAlgorithm::require_one_batch(const Config& config) {
  // CleanRL runs total_timesteps // batch iterations: a budget below one batch would train nothing
  // (it ran one whole batch past the budget here before), so it is refused by name, before the
  // rollout buffers for that batch are allocated (gigabytes for num_steps 100000).
  const int64_t batch = config.get_int("num_steps") * config.get_int("num_envs");
  const int64_t budget = config.get_int("total_timesteps");
  if (budget < batch)
    throw ConfigError("field 'total_timesteps' must be at least one batch, num_envs * num_steps = " +
                      std::to_string(batch) + ", got " + std::to_string(budget));
  return config;
}

void OnPolicyAlgorithm::apply_config(const Config& config) {
  config_ = config;
  learning_rate_ = config.get_float("learning_rate");
  anneal_lr_ = config.get_bool("anneal_lr");
  max_grad_norm_ = config.get_float("max_grad_norm");
  if (graph_) {
    for (const char* name : {"clip_coef", "ent_coef", "vf_coef"})
      if (graph_->has_param(name)) graph_->set_param(name, static_cast<float>(config.get_float(name)));
  }
}

void OnPolicyAlgorithm::reset_envs(uint64_t seed) {
  env_.reset(seed, obs_.data());
  norm_.observation(obs_.data(), num_envs_, true);
}

void OnPolicyAlgorithm::set_loss(std::unique_ptr<Graph> graph, Expr loss) {
  graph_ = std::move(graph);
  loss_ = loss;
  Graph& g = *graph_;
  in_logp_ = g.input("logp");
  in_old_logp_ = g.input("old_logp");
  in_adv_ = g.input("adv");
  in_ret_ = g.input("ret");
  in_old_value_ = g.input("old_value");
  uses_value_ = g.has_input("value");
  uses_entropy_ = g.has_input("entropy");
  in_value_ = g.input("value");
  in_entropy_ = g.input("entropy");
  ratio_stats_ = g.has_output("approx_kl_k3") && g.has_output("clip_fraction");
  out_pg_ = g.output_expr("pg_loss");
  out_entropy_ = g.output_expr("entropy");
  if (uses_value_) out_v_ = g.output_expr("v_loss");
  if (ratio_stats_) {
    out_kl1_ = g.output_expr("approx_kl_k1");
    out_kl3_ = g.output_expr("approx_kl_k3");
    out_clip_ = g.output_expr("clip_fraction");
  }
  g.bind(in_old_logp_, mb_old_logp_.data());
  g.bind(in_adv_, mb_adv_.data());
  g.bind(in_ret_, mb_ret_.data());
  g.bind(in_old_value_, mb_old_value_.data());
  g.bind(in_logp_, mb_.logp.data());
  g.bind(in_value_, mb_.value.data());
  g.bind(in_entropy_, mb_.entropy.data());
  apply_config(config_);
}

Formula OnPolicyAlgorithm::objective() const {
  Formula f = graph_->formula(loss_);
  auto num = [](double v) {
    std::ostringstream o;
    o << v;
    return o.str();
  };
  // What the graph's inputs were computed from (rollout.hpp): GAE for fixed-size rollouts, the
  // Monte-Carlo return of each episode for episodic collection (REINFORCE).
  if (fixed_rollouts_) {
    f.where_text.push_back("A = GAE(gamma = " + num(gamma_) + ", lambda = " + num(gae_lambda_) + "), R = A + V_old(s)");
    f.where_latex.push_back("A = \\operatorname{GAE}(\\gamma = " + num(gamma_) + ",\\ \\lambda = " + num(gae_lambda_) +
                            "),\\ R = A + V_{\\theta_{\\mathrm{old}}}(s)");
  } else {
    f.where_text.push_back("G = sum_k gamma^k r_{t+k}, gamma = " + num(gamma_));
    f.where_latex.push_back("G_t = \\sum_{k \\ge 0} \\gamma^k r_{t+k},\\ \\gamma = " + num(gamma_));
  }
  return f;
}

void OnPolicyAlgorithm::begin_iteration(Metrics& m) {
  ++iteration_;
  if (!anneal_lr_)
    current_lr_ = learning_rate_;
  else if (fixed_rollouts_)
    current_lr_ = annealed_lr(learning_rate_, std::min(iteration_, num_iterations_), num_iterations_);
  else  // episodic iterations vary in length: anneal by the share of the step budget used so far
    current_lr_ = learning_rate_ * std::max(0.0, 1.0 - static_cast<double>(global_step_) / total_timesteps_);
  episodes_.clear();
  updates_ = 0;
  sum_pg_ = sum_v_ = sum_ent_ = sum_kl1_ = sum_kl3_ = sum_clip_ = 0;
  sum_gnorm_ = sum_gnorm_clipped_ = 0;
  std::fill(sum_layer_norms_.begin(), sum_layer_norms_.end(), 0.0);
  m.update_epochs_run = 0;
}

void OnPolicyAlgorithm::record_episodes() {
  for (const EpisodeStat& s : env_.finished())
    if (episodes_.size() < episodes_.capacity()) episodes_.push_back(s);
}

void OnPolicyAlgorithm::act_and_step(int t, const uint8_t* active) {
  const int E = num_envs_;
  std::copy(obs_.begin(), obs_.end(), &buffer_.obs(t, 0, 0));
  std::copy(obs_.begin(), obs_.end(), act_batch_.obs(E).data());
  agent_.forward(act_batch_, E, /*with_value=*/false);  // values: evaluate_rollout_values
  agent_.act(act_batch_, E, false, action_rng_);
  std::copy(act_batch_.actions.data(), act_batch_.actions.data() + static_cast<size_t>(E) * env_.act_dim(),
            &buffer_.actions(t, 0, 0));
  env_.step(act_batch_.actions.data(), obs_.data(), rewards_.data(), costs_.data(), terminated_.data(),
            truncated_.data(), final_obs_.data(), active);
  // The statistics are updated with the next observations, which are then normalised, and final
  // observations are normalised with the same updated statistics (SB3's VecNormalize order).
  // Paused envs (episodic collection) neither update the statistics nor move their return.
  norm_.observation(obs_.data(), E, true, active);
  norm_.observation(final_obs_.data(), E, false);
  norm_.reward(rewards_.data(), terminated_.data(), E, active);
}

void OnPolicyAlgorithm::store_transition(int t, int e) {
  buffer_.valid(t, e) = 1;
  buffer_.logprobs(t, e) = act_batch_.logp[e];
  buffer_.rewards(t, e) = rewards_[e];
  buffer_.costs(t, e) = costs_[e];
  buffer_.terminated(t, e) = terminated_[e];
  buffer_.truncated(t, e) = truncated_[e] && !terminated_[e];
}

void OnPolicyAlgorithm::bootstrap_truncated(int t) {
  // A truncated episode is bootstrapped from the value of its true final observation, never from
  // the first observation of the episode that autoreset started.
  if (!agent_.has_critic()) return;
  const int E = num_envs_;
  bool any = false;
  for (int e = 0; e < E; ++e) any |= buffer_.valid(t, e) && buffer_.truncated(t, e);
  if (!any) return;
  std::copy(final_obs_.begin(), final_obs_.end(), final_batch_.obs(E).data());
  agent_.forward(final_batch_, E, true);
  for (int e = 0; e < E; ++e)
    if (buffer_.valid(t, e) && buffer_.truncated(t, e)) buffer_.next_values(t, e) = final_batch_.value[e];
}

void OnPolicyAlgorithm::evaluate_rollout_values() {
  float* values = buffer_.values.data();
  const uint8_t* valid = buffer_.valid.data();
  const int total = buffer_.samples();
  std::fill(values, values + total, 0.0f);
  if (!agent_.has_critic()) return;
  // Samples are numbered t * E + e: episodic collection fills only the first rows.
  int n = total;
  while (n > 0 && !valid[n - 1]) --n;
  values_batch_.obs(n) = buffer_.obs_matrix().leftCols(n);
  agent_.values(values_batch_, n);
  for (int k = 0; k < n; ++k)
    if (valid[k]) values[k] = values_batch_.value[k];
}

void OnPolicyAlgorithm::link_next_values() {
  // Within an episode, the next state's value is the value stored at the next row.
  for (int t = 0; t + 1 < rollout_steps_; ++t)
    for (int e = 0; e < num_envs_; ++e)
      if (!buffer_.truncated(t, e)) buffer_.next_values(t, e) = buffer_.values(t + 1, e);
}

void OnPolicyAlgorithm::collect_rollout() {
  const int E = num_envs_, T = rollout_steps_;
  for (int t = 0; t < T; ++t) {
    act_and_step(t);
    global_step_ += E;
    record_episodes();
    for (int e = 0; e < E; ++e) store_transition(t, e);
    bootstrap_truncated(t);
  }
  evaluate_rollout_values();
  link_next_values();
  if (agent_.has_critic()) {
    // The rollout stops mid-episode: the last row bootstraps from V(the observation it stopped at).
    std::copy(obs_.begin(), obs_.end(), final_batch_.obs(E).data());
    agent_.forward(final_batch_, E, true);
    for (int e = 0; e < E; ++e)
      if (!buffer_.truncated(T - 1, e)) buffer_.next_values(T - 1, e) = final_batch_.value[e];
  }
}

void OnPolicyAlgorithm::collect_episodes() {
  const int E = num_envs_, D = env_.obs_dim(), T = rollout_steps_;
  // A fresh, seed-determined start for this iteration's episodes.
  reset_envs(streams::seed_of(seed_, streams::kEpisodeResets, static_cast<uint64_t>(iteration_)));
  std::fill(active_.begin(), active_.end(), 1);
  for (auto* flags : {&buffer_.valid, &buffer_.terminated, &buffer_.truncated}) flags->fill(0);
  for (auto* column : {&buffer_.rewards, &buffer_.next_values}) column->fill(0.0f);  // values: evaluate_rollout_values
  int active_count = E;
  for (int t = 0; t < T && active_count > 0; ++t) {
    act_and_step(t, active_.data());
    // Only the first episode of each env counts; the autoreset episodes after it are discarded.
    for (const EpisodeStat& s : env_.finished())
      if (active_[s.env_index]) episodes_.push_back(s);
    for (int e = 0; e < E; ++e) {
      if (!active_[e]) continue;
      ++global_step_;
      store_transition(t, e);
      if (terminated_[e] || truncated_[e]) {
        active_[e] = 0;
        --active_count;
      } else if (t + 1 == T) {
        // The buffer is full before the episode ended: cut it here and bootstrap from V(s_T).
        buffer_.truncated(t, e) = 1;
        std::copy(&obs_[static_cast<size_t>(e) * D], &obs_[static_cast<size_t>(e + 1) * D],
                  &final_obs_[static_cast<size_t>(e) * D]);
      }
    }
    bootstrap_truncated(t);
  }
  evaluate_rollout_values();
  link_next_values();
}

void OnPolicyAlgorithm::estimate_advantages(double lambda) {
  compute_gae(buffer_.rewards, buffer_.values, buffer_.next_values, buffer_.terminated, buffer_.truncated,
              gamma_, lambda, buffer_.advantages, buffer_.returns);
}

void OnPolicyAlgorithm::update_on_whole_batch(Metrics& m) {
  int n = 0;
  const int total = buffer_.samples();
  const uint8_t* valid = buffer_.valid.data();
  for (int k = 0; k < total; ++k)
    if (valid[k]) indices_[n++] = k;
  gradient_step(indices_.data(), n);
  m.update_epochs_run = 1;
}

double OnPolicyAlgorithm::gradient_step(const int* idx, int n) {
  const auto obs = buffer_.obs_matrix();
  const auto actions = buffer_.action_matrix();
  auto mb_obs = mb_.obs(n);
  for (int k = 0; k < n; ++k) {
    const int s = idx[k];
    mb_obs.col(k) = obs.col(s);
    mb_.actions.col(k) = actions.col(s);
    mb_old_logp_[k] = buffer_.logprobs.data()[s];
    mb_adv_[k] = buffer_.advantages.data()[s];
    mb_ret_[k] = buffer_.returns.data()[s];
    mb_old_value_[k] = buffer_.values.data()[s];
  }
  agent_.forward(mb_, n, uses_value_);
  agent_.evaluate_actions(mb_, n);

  Graph& g = *graph_;
  g.set_size(n);
  g.forward();
  g.backward(loss_);

  agent_.params().zero_grad();
  agent_.backward(mb_, n, g.gradient(in_logp_), uses_entropy_ ? g.gradient(in_entropy_) : nullptr,
                  uses_value_ ? g.gradient(in_value_) : nullptr);

  Parameters& p = agent_.params();
  for (int i = 0; i < p.count(); ++i) sum_layer_norms_[i] += p.grad_norm(i);
  const double norm = clip_grad_norm(p.grads(), max_grad_norm_);
  sum_gnorm_ += norm;
  sum_gnorm_clipped_ += (max_grad_norm_ > 0 && norm > max_grad_norm_) ? max_grad_norm_ : norm;
  // A non-finite gradient would write NaN into every parameter: skip the step, keep the agent
  // intact, and let the NaN grad_norm in the metrics stop the run with a message.
  if (std::isfinite(norm)) optimizer_.step(p.values(), p.grads(), current_lr_);

  ++updates_;
  sum_pg_ += g.scalar(out_pg_);
  sum_v_ += uses_value_ ? g.scalar(out_v_) : 0.0;
  sum_ent_ += g.scalar(out_entropy_);
  double kl3 = std::numeric_limits<double>::quiet_NaN();
  if (ratio_stats_) {
    sum_kl1_ += g.scalar(out_kl1_);
    kl3 = g.scalar(out_kl3_);
    sum_kl3_ += kl3;
    sum_clip_ += g.scalar(out_clip_);
  }
  return kl3;
}

void OnPolicyAlgorithm::end_iteration(Metrics& m) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  m.iteration = iteration_;
  m.global_step = global_step_;
  m.learning_rate = current_lr_;
  m.episodes = static_cast<int>(episodes_.size());
  if (!episodes_.empty()) {
    double sum_r = 0, sum_l = 0, sum_c = 0, mn = episodes_[0].ret, mx = episodes_[0].ret;
    for (const EpisodeStat& s : episodes_) {
      sum_r += s.ret;
      sum_l += s.length;
      sum_c += s.cost;
      mn = std::min(mn, s.ret);
      mx = std::max(mx, s.ret);
    }
    const double k = static_cast<double>(episodes_.size());
    m.episodic_return_mean = sum_r / k;
    m.episodic_return_min = mn;
    m.episodic_return_max = mx;
    m.episodic_length_mean = sum_l / k;
    m.episodic_cost_mean = sum_c / k;
  } else {
    m.episodic_return_mean = m.episodic_return_min = m.episodic_return_max = nan;
    m.episodic_length_mean = m.episodic_cost_mean = nan;
  }
  const double u = std::max(updates_, 1);
  m.policy_loss = updates_ ? sum_pg_ / u : nan;
  m.value_loss = (updates_ && uses_value_) ? sum_v_ / u : nan;
  m.entropy = updates_ ? sum_ent_ / u : nan;
  const bool ratio_stats = ratio_stats_;
  m.approx_kl_k1 = (updates_ && ratio_stats) ? sum_kl1_ / u : nan;
  m.approx_kl_k3 = (updates_ && ratio_stats) ? sum_kl3_ / u : nan;
  m.clip_fraction = (updates_ && ratio_stats) ? sum_clip_ / u : nan;
  m.grad_norm = updates_ ? sum_gnorm_ / u : nan;
  m.grad_norm_clipped = updates_ ? sum_gnorm_clipped_ / u : nan;
  m.layer_grad_norms.resize(sum_layer_norms_.size());
  for (size_t i = 0; i < sum_layer_norms_.size(); ++i) m.layer_grad_norms[i] = static_cast<float>(sum_layer_norms_[i] / u);

  // Explained variance of the value predictions over the valid samples: 1 - Var[R - V] / Var[R].
  m.explained_variance = nan;
  if (agent_.has_critic()) {
    double n = 0, sy = 0, syy = 0, sd = 0, sdd = 0;
    const int total = buffer_.samples();
    for (int k = 0; k < total; ++k) {
      if (!buffer_.valid.data()[k]) continue;
      const double y = buffer_.returns.data()[k], d = y - buffer_.values.data()[k];
      n += 1;
      sy += y;
      syy += y * y;
      sd += d;
      sdd += d * d;
    }
    if (n > 1) {
      const double var_y = syy / n - (sy / n) * (sy / n);
      const double var_d = sdd / n - (sd / n) * (sd / n);
      if (var_y > 0) m.explained_variance = 1.0 - var_d / var_y;
    }
  }
}

void write_training_state(ByteWriter& w, int64_t iteration, int64_t global_step, const Parameters& params,
                          const Optimizer& optimizer) {
  w.put<int64_t>(iteration);
  w.put<int64_t>(global_step);
  w.put_array(params.values().data(), static_cast<size_t>(params.total_size()));
  w.put<int64_t>(optimizer.steps());
  w.put_array(optimizer.first_moment().data(), static_cast<size_t>(optimizer.first_moment().size()));
  w.put_array(optimizer.second_moment().data(), static_cast<size_t>(optimizer.second_moment().size()));
}

void read_training_state(ByteReader& r, int64_t& iteration, int64_t& global_step, Parameters& params,
                         Optimizer& optimizer) {
  iteration = r.get<int64_t>("iteration");
  global_step = r.get<int64_t>("global_step");
  if (iteration < 0 || global_step < 0) throw FormatError("negative iteration or step count");
  r.get_array(params.values().data(), static_cast<size_t>(params.total_size()), "parameters");
  optimizer.set_steps(r.get<int64_t>("optimizer steps"));
  r.get_array(optimizer.first_moment().data(), static_cast<size_t>(optimizer.first_moment().size()),
              "optimizer first moment");
  r.get_array(optimizer.second_moment().data(), static_cast<size_t>(optimizer.second_moment().size()),
              "optimizer second moment");
}

void OnPolicyAlgorithm::write_state(ByteWriter& w) const {
  write_training_state(w, iteration_, global_step_, agent_.params(), optimizer_);
  put_rng(w, action_rng_);
  put_rng(w, shuffle_rng_);
  const size_t D = norm_.obs_rms.mean.size();
  w.put_array(norm_.obs_rms.mean.data(), D);
  w.put_array(norm_.obs_rms.var.data(), D);
  w.put<double>(norm_.obs_rms.count);
  w.put<double>(norm_.return_rms.mean[0]);
  w.put<double>(norm_.return_rms.var[0]);
  w.put<double>(norm_.return_rms.count);
  w.put_array(norm_.discounted_return.data(), norm_.discounted_return.size());
  env_.write_state(w);
  w.put_array(obs_.data(), obs_.size());
}

void OnPolicyAlgorithm::read_state(ByteReader& r) {
  Parameters& p = agent_.params();
  read_training_state(r, iteration_, global_step_, p, optimizer_);
  get_rng(r, action_rng_, "action rng");
  get_rng(r, shuffle_rng_, "shuffle rng");
  const size_t D = norm_.obs_rms.mean.size();
  r.get_array(norm_.obs_rms.mean.data(), D, "observation mean");
  r.get_array(norm_.obs_rms.var.data(), D, "observation variance");
  norm_.obs_rms.count = r.get<double>("observation count");
  norm_.return_rms.mean[0] = r.get<double>("return mean");
  norm_.return_rms.var[0] = r.get<double>("return variance");
  norm_.return_rms.count = r.get<double>("return count");
  r.get_array(norm_.discounted_return.data(), norm_.discounted_return.size(), "discounted returns");
  // The episodes in progress and the observation the next step acts on: training resumes exactly.
  env_.read_state(r);
  r.get_array(obs_.data(), obs_.size(), "current observations");
  if (!p.values().allFinite()) throw FormatError("parameters contain non-finite values");
}

}  // namespace pl
