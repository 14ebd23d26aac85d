// The whole chain (loss expression -> distribution -> networks) against finite differences, and the
// Trainer: determinism, live hyperparameters, checkpoints, no allocation in the training loop,
// and learning on CartPole and Pendulum.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <new>
#include <sstream>

#include "core/algos/actor_critic.hpp"
#include "core/algos/algorithm.hpp"
#include "core/algos/losses.hpp"
#include "core/algos/registry.hpp"
#include "core/train/trainer.hpp"
#include "gradcheck.hpp"

using namespace pl;
using pl_test::central_difference;
using pl_test::check_close;

// Replaces the global operator new for this test binary (counts only while enabled).
#include "core/util/allocation_counter.hpp"
#include "examples.hpp"

namespace {


// PPO loss through the agent for a fixed batch: returns the loss; fills parameter gradients when
// `backward` is true.
struct ChainHarness {
  ActorCritic agent;
  ActorCritic::Batch b;
  Graph g;
  Expr loss, logp, ent, value;
  int n;
  std::vector<float> obs, old_logp, adv, ret, old_value;

  ChainHarness(const Space& space, int obs_dim, int batch)
      : agent(ActorCriticSpec{obs_dim, space, {6, 5}, Activation::Tanh, true, -0.2f}), g(batch), n(batch) {
    Rng rng(99);
    agent.init(rng);
    // Make the policy head far from uniform so gradients are not all tiny.
    for (int i = 0; i < agent.params().total_size(); ++i) agent.params().values()[i] *= 3.0f;
    b = agent.make_batch(batch);
    obs.resize(static_cast<size_t>(obs_dim) * batch);
    for (float& x : obs) x = static_cast<float>(rng.normal());
    std::copy(obs.begin(), obs.end(), b.obs(n).data());
    agent.forward(b, n, true);
    agent.act(b, n, false, rng);  // fixed actions from the initial policy
    for (int i = 0; i < n; ++i) {
      old_logp.push_back(b.logp[i] + static_cast<float>(0.2 * rng.normal()));
      adv.push_back(static_cast<float>(rng.normal()));
      ret.push_back(static_cast<float>(rng.normal()));
      old_value.push_back(b.value[i] + static_cast<float>(0.3 * rng.normal()));
    }
    Expr clip = g.param("clip_coef", 0.2f);
    Expr a = losses::advantage(g, true);
    Expr ratio = exp(losses::log_ratio(g));
    loss = losses::clipped_surrogate(a, ratio, clip) - 0.01f * mean(g.input("entropy")) +
           0.5f * 0.5f * losses::clipped_value_mse(g, clip);
    logp = g.input("logp");
    ent = g.input("entropy");
    value = g.input("value");
    g.bind("old_logp", old_logp.data());
    g.bind("adv", adv.data());
    g.bind("ret", ret.data());
    g.bind("old_value", old_value.data());
    g.bind(logp, b.logp.data());
    g.bind(ent, b.entropy.data());
    g.bind(value, b.value.data());
    g.set_size(n);
  }
  double evaluate(bool backward) {
    std::copy(obs.begin(), obs.end(), b.obs(n).data());
    agent.forward(b, n, true);
    agent.evaluate_actions(b, n);
    g.forward();
    if (backward) {
      g.backward(loss);
      agent.params().zero_grad();
      agent.backward(b, n, g.gradient(logp), g.gradient(ent), g.gradient(value));
    }
    return g.scalar(loss);
  }
};

void check_chain(const Space& space) {
  ChainHarness h(space, 3, 7);
  h.evaluate(true);
  VectorXf grads = h.agent.params().grads();
  int checked = 0, expected = 0;
  for (const TensorInfo& t : h.agent.params().tensors()) {
    expected += t.size();
    for (int k = t.offset; k < t.offset + t.size(); ++k) {
      double numeric = central_difference([&] { return h.evaluate(false); }, h.agent.params().values().data() + k, 2e-3);
      check_close(grads[k], numeric, t.name + "[" + std::to_string(k - t.offset) + "]", 3e-2, 1e-3);
      ++checked;
    }
  }
  CHECK(checked == expected);  // every parameter, including log_std and the critic, was checked
}

std::vector<json> run_iterations(const json& cfg, int iterations) {
  auto t = Trainer::from_json(cfg);
  std::vector<json> out;
  for (int i = 0; i < iterations; ++i) out.push_back(t->step().to_json(t->layer_names()));
  for (json& j : out) {
    j.erase("wall_s");
    j.erase("sps");
  }
  return out;
}

}  // namespace

TEST_CASE("PPO loss gradients through a Categorical agent match finite differences", "[gradcheck][agent]") {
  check_chain(Space::discrete(3));
}

TEST_CASE("PPO loss gradients through a Gaussian agent match finite differences", "[gradcheck][agent]") {
  check_chain(Space::box({-2.0f, -1.0f}, {2.0f, 1.0f}));
}

TEST_CASE("A truncated episode bootstraps from the value of its true final observation", "[trainer][gae]") {
  // MountainCar-v0 under a near-uniform initial policy practically never reaches the goal, so the
  // first episode is truncated by the 200-step limit at row 199 and autoreset starts a new one.
  Config c = validate_config({{"algo", "ppo"}, {"env_id", "MountainCar-v0"}, {"num_envs", 1}, {"num_steps", 256},
                              {"seed", 1}});
  auto algo = make_algorithm(c);
  auto* on_policy = dynamic_cast<OnPolicyAlgorithm*>(algo.get());
  REQUIRE(on_policy);
  const VectorXf params_at_collection = algo->params().values();
  Metrics m;
  algo->iterate(m);
  algo->params().values() = params_at_collection;  // the critic that produced the values
  const RolloutBuffer& b = on_policy->rollout();
  REQUIRE(b.truncated(199, 0) == 1);
  REQUIRE(b.terminated(199, 0) == 0);
  // Replay the last transition of the episode to get its true final observation.
  auto env = make_env("MountainCar-v0");
  std::vector<float> obs(2);
  env->reset(0, obs.data());
  const double state[2] = {b.obs(199, 0, 0), b.obs(199, 0, 1)};
  env->set_state(state);
  env->step(&b.actions(199, 0, 0), obs.data());
  ActorCritic::Batch batch = algo->actor_critic()->make_batch(1);
  std::copy(obs.begin(), obs.end(), batch.obs(1).data());
  algo->actor_critic()->forward(batch, 1, true);
  CHECK(b.next_values(199, 0) == Approx(batch.value[0]).margin(1e-4));
  // ...and not from the first observation of the next episode.
  CHECK(std::fabs(b.next_values(199, 0) - b.values(200, 0)) > 1e-3);
  // A continuing step bootstraps from the next row's value.
  CHECK(b.next_values(100, 0) == b.values(101, 0));
}

TEST_CASE("Same config and seed give identical metrics, another seed differs", "[trainer][determinism]") {
  for (const char* algo : {"ppo", "a2c", "reinforce"}) {
    for (const char* env : {"CartPole-v1", "Pendulum-v1"}) {
      json cfg = {{"algo", algo}, {"env_id", env}, {"seed", 3}, {"num_envs", 2}, {"total_timesteps", 100000}};
      if (std::string(algo) == "ppo") cfg["num_steps"] = 64;
      if (std::string(algo) == "reinforce") cfg["num_steps"] = 100;
      INFO(algo << " on " << env);
      auto a = run_iterations(cfg, 3), b = run_iterations(cfg, 3);
      CHECK(a == b);
      cfg["seed"] = 4;
      CHECK(run_iterations(cfg, 3) != a);
    }
  }
}

TEST_CASE("A step budget below one batch is refused and above it whole batches are run", "[trainer][config]") {
  // CleanRL's iteration count, total_timesteps // (num_envs * num_steps), is 0 below one batch.
  for (const char* algo : {"ppo", "a2c"}) {
    INFO(algo);
    json cfg = {{"algo", algo}, {"seed", 1}, {"num_envs", 4}, {"num_steps", 128}, {"total_timesteps", 511}};
    try {
      Trainer::from_json(cfg);
      FAIL("a budget of 511 steps with batches of 512 was accepted");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) ==
            "field 'total_timesteps' must be at least one batch, num_envs * num_steps = 512, got 511");
    }
    cfg["total_timesteps"] = 1500;  // two whole batches (1024 steps), as CleanRL rounds down
    auto t = Trainer::from_json(cfg);
    int iterations = 0;
    while (!t->done()) t->step(), ++iterations;
    CHECK(iterations == 2);
    CHECK(t->global_step() == 1024);
  }
}

TEST_CASE("Live hyperparameters change between iterations, structural ones are refused", "[trainer]") {
  auto t = Trainer::from_json({{"algo", "ppo"}, {"seed", 1}, {"num_steps", 32}});
  t->step();
  t->set("learning_rate", 0.01);
  t->set("clip_coef", 0.05);
  CHECK(t->config().get_float("clip_coef") == Approx(0.05));
  CHECK_THROWS_AS(t->set("num_envs", 8), ConfigError);
  CHECK_THROWS_AS(t->set("anneal_lr", false), ConfigError);
  CHECK_THROWS_AS(t->set("clip_coef", -1), ConfigError);
  CHECK_THROWS_AS(t->set("clip_cof", 0.1), ConfigError);
}

TEST_CASE("Changing clip_coef live changes the clip fraction of the next iteration", "[trainer]") {
  json cfg = {{"algo", "ppo"}, {"seed", 2}, {"num_steps", 64}, {"learning_rate", 3e-3}};
  auto a = Trainer::from_json(cfg), b = Trainer::from_json(cfg);
  a->step();
  b->step();
  a->set("clip_coef", 0.001);  // nearly every sample outside the tiny trust region after one step
  const double tight = a->step().clip_fraction, normal = b->step().clip_fraction;
  CHECK(tight > normal);
}

TEST_CASE("Checkpoint round trip restores the agent exactly", "[trainer][checkpoint]") {
  for (const char* env : {"CartPole-v1", "Pendulum-v1"}) {
    json cfg = {{"algo", "ppo"}, {"env_id", env}, {"seed", 5}, {"num_steps", 64}, {"norm_obs", true}};
    auto t = Trainer::from_json(cfg);
    for (int i = 0; i < 3; ++i) t->step();
    const std::string bytes = t->save_bytes();
    auto u = Trainer::load_bytes(bytes);
    CHECK(u->global_step() == t->global_step());
    CHECK(u->iteration() == t->iteration());
    EvalResult ea = t->evaluate(3, false, 7), eb = u->evaluate(3, false, 7);
    CHECK(ea.returns == eb.returns);
    CHECK(u->save_bytes() == bytes);  // nothing lost in between
    // Training continues from the checkpoint identically on both copies.
    CHECK(t->step().to_json(t->layer_names())["policy_loss"] == u->step().to_json(u->layer_names())["policy_loss"]);
  }
}

TEST_CASE("Corrupt, truncated and wrong-version checkpoints are rejected with a clear error", "[checkpoint]") {
  auto t = Trainer::from_json({{"algo", "ppo"}, {"seed", 1}, {"num_steps", 16}});
  const std::string good = t->save_bytes();
  auto message_of = [](const std::string& bytes) -> std::string {
    try {
      Trainer::load_bytes(bytes);
    } catch (const CheckpointError& e) {
      return e.what();
    }
    return "";
  };
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x20;
  CHECK_THAT(message_of(flipped), Catch::Contains("checksum"));
  CHECK_THAT(message_of(good.substr(0, good.size() - 9)), Catch::Contains("truncated"));
  CHECK_THAT(message_of(""), Catch::Contains("not a PolicyLab checkpoint"));
  CHECK_THAT(message_of("hello world, this is not a checkpoint at all"), Catch::Contains("not a PolicyLab checkpoint"));
  std::string wrong_version = good;
  wrong_version[8] = 9;  // version field follows the 8-byte magic
  CHECK_THAT(message_of(wrong_version), Catch::Contains("version 9"));
  CHECK(message_of(good).empty());
  const size_t payload = good.size() - 8 - 4 - 8 - 4;  // magic, version, size; CRC after the payload
  CHECK(message_of(good + "x") == "checkpoint has trailing data after its payload of " + std::to_string(payload) + " bytes");
  CHECK_THROWS_AS(Trainer::load_file("/nonexistent/ckpt"), CheckpointError);
  // A file is read no further than its header announces (/dev/zero never ends; bad magic here).
  CHECK_THROWS_WITH(Trainer::load_file("/dev/zero"), "'/dev/zero': not a PolicyLab checkpoint (bad magic bytes)");
  // A header announcing more than a checkpoint can hold is refused before anything is read.
  std::string huge = good.substr(0, 8 + 4);
  const uint64_t announced = uint64_t{1} << 40;
  huge.append(reinterpret_cast<const char*>(&announced), sizeof announced);
  {
    std::ofstream f("test_huge_header.ckpt", std::ios::binary);
    f << huge;
  }
  CHECK_THROWS_WITH(Trainer::load_file("test_huge_header.ckpt"),
                    Catch::Contains("checkpoint is corrupt (its header announces a payload of 1099511627776 bytes)"));
  // Below that bound, a header announcing more than the file holds allocates no more than the file.
  huge = good.substr(0, 8 + 4);
  const uint64_t two_gib = uint64_t{1} << 31;
  huge.append(reinterpret_cast<const char*>(&two_gib), sizeof two_gib);
  huge += "some bytes";
  {
    std::ofstream f("test_huge_header.ckpt", std::ios::binary);
    f << huge;
  }
  CHECK_THROWS_WITH(Trainer::load_file("test_huge_header.ckpt"),
                    Catch::Contains("checkpoint is truncated (payload size 2147483648, file holds 6 bytes)"));
  std::remove("test_huge_header.ckpt");
}

TEST_CASE("The steady-state training loop allocates nothing", "[trainer][alloc]") {
  for (const char* algo : {"ppo", "a2c", "reinforce"}) {
    for (const char* env : {"CartPole-v1", "Pendulum-v1"}) {
      json cfg = {{"algo", algo}, {"env_id", env}, {"seed", 1}, {"num_steps", 64}, {"norm_obs", true},
                  {"norm_reward", true}};
      if (std::string(algo) == "reinforce") cfg["num_steps"] = 200;
      auto t = Trainer::from_json(cfg);
      t->step();  // warm-up
      allocation_counter::count = 0;
      allocation_counter::counting = true;
      for (int i = 0; i < 3; ++i) t->step();
      allocation_counter::counting = false;
      INFO(algo << " on " << env);
      CHECK(allocation_counter::count == 0);
    }
  }
}

TEST_CASE("PPO learns CartPole-v1 with CleanRL's defaults (examples/ppo_cartpole.json)", "[learning]") {
  auto t = Trainer::from_json(load_example("examples/ppo_cartpole.json"));
  std::vector<double> returns;
  while (!t->done()) {
    const Metrics& m = t->step();
    if (m.episodes > 0) returns.push_back(m.episodic_return_mean);
  }
  REQUIRE(returns.size() >= 10);
  double best_window = 0;  // best mean over 10 consecutive iterations with finished episodes
  for (size_t i = 10; i <= returns.size(); ++i) {
    double s = 0;
    for (size_t k = i - 10; k < i; ++k) s += returns[k];
    best_window = std::max(best_window, s / 10);
  }
  INFO("best 10-iteration mean return " << best_window);
  CHECK(best_window >= 475.0);
  CHECK(t->evaluate(20, true).return_mean >= 475.0);
}

TEST_CASE("PPO learns Pendulum-v1 (examples/ppo_pendulum.json)", "[learning]") {
  auto t = Trainer::from_json(load_example("examples/ppo_pendulum.json"));
  while (!t->done()) t->step();
  const double eval = t->evaluate(20, true).return_mean;
  INFO("deterministic evaluation mean return " << eval);
  CHECK(eval >= -300.0);
}

TEST_CASE("REINFORCE pauses finished envs: only used transitions reach the normalisers", "[trainer][reinforce]") {
  Config c = validate_config({{"algo", "reinforce"}, {"env_id", "CartPole-v1"}, {"num_envs", 4}, {"seed", 2},
                              {"norm_obs", true}, {"norm_reward", true}});
  auto algo = make_algorithm(c);
  Metrics m;
  for (int i = 0; i < 3; ++i) algo->iterate(m);
  // Reset observations (4 per reset: one at construction, one per iteration) plus one per used step.
  const double expected = 4.0 * (3 + 1) + static_cast<double>(algo->global_step());
  CHECK(algo->normalizers()->obs_rms.count == Approx(expected + 1e-4));
  CHECK(algo->normalizers()->return_rms.count == Approx(static_cast<double>(algo->global_step()) + 1e-4));
}

TEST_CASE("Episodic learning-rate annealing follows the share of the step budget used", "[trainer][reinforce]") {
  Config c = validate_config({{"algo", "reinforce"}, {"num_envs", 2}, {"seed", 1}, {"anneal_lr", true},
                              {"learning_rate", 0.01}, {"total_timesteps", 2000}});
  auto algo = make_algorithm(c);
  Metrics m;
  for (int i = 0; i < 4; ++i) {
    const int64_t before = algo->global_step();
    algo->iterate(m);
    CHECK(m.learning_rate == Approx(0.01 * (1.0 - before / 2000.0)));
  }
}

TEST_CASE("A non-finite gradient skips the update and leaves the parameters finite", "[trainer]") {
  Config c = validate_config({{"algo", "ppo"}, {"seed", 1}, {"num_steps", 64}, {"learning_rate", 1.0},
                              {"max_grad_norm", 0}, {"optimizer", "sgd"}, {"vf_coef", 100}, {"anneal_lr", false}});
  auto algo = make_algorithm(c);
  Metrics m;
  bool diverged = false;
  for (int i = 0; i < 20 && !diverged; ++i) {
    algo->iterate(m);
    diverged = !m.first_non_finite().empty();
  }
  REQUIRE(diverged);  // this config blows up within a few iterations
  CHECK(algo->params().values().allFinite());
}
