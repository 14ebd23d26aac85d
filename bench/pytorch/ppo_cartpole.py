#!/usr/bin/env python3
"""Plain PyTorch (CPU) baseline for PolicyLab's examples/ppo_cartpole.json: wall time of the run.

What it implements (written for this comparison, following the structure of CleanRL's ppo.py;
nothing here is PolicyLab code): PPO on CartPole-v1 with the example's settings: 4 environments
stepped in turn (as gymnasium's SyncVectorEnv does) x 128 steps per rollout, 500k environment
steps (976 updates), actor and critic MLPs 4-64-64-{2,1} with tanh, orthogonal initialisation
(sqrt 2, actor head 0.01, critic head 1), Adam (lr 2.5e-4 annealed linearly to 0, eps 1e-5), GAE
(gamma 0.99, lambda 0.95), 4 epochs x 4 minibatches of 128, normalised advantages, clipped
surrogate (0.2), clipped value loss, entropy 0.01, value coefficient 0.5, grad clip 0.5.
gymnasium is not needed: CartPole-v1 is written out here with gymnasium's equations (Euler
integration, tau 0.02, termination at |x| > 2.4 or |theta| > 12 degrees, truncation at 500 steps,
reset to U(-0.05, 0.05)^4), stepped in plain Python per environment as gymnasium does.

Run (torch optional, not installed by scripts/setup.sh):
  /usr/bin/python3 bench/pytorch/ppo_cartpole.py --threads 1                   # the whole 500k run
  /usr/bin/python3 bench/pytorch/ppo_cartpole.py --threads 1 --updates 100     # projected from 100
Prints the wall seconds, the seconds per update and the projection to 976 updates, and the mean
return of the last finished episodes. See grpo_addition.py's header on Debian's reference BLAS
(at these sizes the BLAS matters little: the run is per-op overhead).
"""
import argparse
import math
import os
import random
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser(description="plain PyTorch PPO on CartPole-v1 (CleanRL's structure)")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads; 0 keeps the default")
    ap.add_argument("--total-timesteps", type=int, default=500_000)
    ap.add_argument("--updates", type=int, default=0, help="stop after this many updates and project (0: all)")
    ap.add_argument("--seed", type=int, default=1)
    return ap.parse_args()


if __name__ == "__main__":
    ARGS = parse_args()
    if ARGS.threads > 0:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, str(ARGS.threads))

try:
    import numpy as np
    import torch
    import torch.nn as nn
    from torch.distributions.categorical import Categorical
except ImportError:
    sys.exit("bench/pytorch/ppo_cartpole.py needs PyTorch and NumPy (e.g. Debian's python3-torch); it is "
             "optional and not installed by scripts/setup.sh")


class CartPole:
    """CartPole-v1 with gymnasium's dynamics, auto-reset (the final observation is not needed)."""
    gravity, masscart, masspole, length, force_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    total_mass = masscart + masspole
    polemass_length = masspole * length
    theta_limit = 12 * 2 * math.pi / 360
    x_limit = 2.4

    def __init__(self, rng):
        self.rng = rng
        self.reset()

    def reset(self):
        self.s = [self.rng.uniform(-0.05, 0.05) for _ in range(4)]
        self.t = 0
        self.ret = 0.0
        return self.s

    def step(self, action):
        x, x_dot, theta, theta_dot = self.s
        force = self.force_mag if action == 1 else -self.force_mag
        cos, sin = math.cos(theta), math.sin(theta)
        temp = (force + self.polemass_length * theta_dot ** 2 * sin) / self.total_mass
        theta_acc = (self.gravity * sin - cos * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * cos ** 2 / self.total_mass))
        x_acc = temp - self.polemass_length * theta_acc * cos / self.total_mass
        x += self.tau * x_dot
        x_dot += self.tau * x_acc
        theta += self.tau * theta_dot
        theta_dot += self.tau * theta_acc
        self.s = [x, x_dot, theta, theta_dot]
        self.t += 1
        self.ret += 1.0
        terminated = abs(x) > self.x_limit or abs(theta) > self.theta_limit
        truncated = self.t >= 500
        finished = None
        if terminated or truncated:
            finished = self.ret
            self.reset()
        return self.s, 1.0, terminated, finished


def layer_init(layer, std=math.sqrt(2), bias_const=0.0):
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    def __init__(self):
        super().__init__()
        self.critic = nn.Sequential(layer_init(nn.Linear(4, 64)), nn.Tanh(), layer_init(nn.Linear(64, 64)), nn.Tanh(),
                                    layer_init(nn.Linear(64, 1), std=1.0))
        self.actor = nn.Sequential(layer_init(nn.Linear(4, 64)), nn.Tanh(), layer_init(nn.Linear(64, 64)), nn.Tanh(),
                                   layer_init(nn.Linear(64, 2), std=0.01))

    def get_value(self, x):
        return self.critic(x)

    def get_action_and_value(self, x, action=None):
        probs = Categorical(logits=self.actor(x))
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action), probs.entropy(), self.critic(x)


def main(args):
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    num_envs, num_steps, minibatches, epochs = 4, 128, 4, 4
    gamma, lam, clip, ent_coef, vf_coef, max_grad = 0.99, 0.95, 0.2, 0.01, 0.5, 0.5
    lr = 2.5e-4
    batch = num_envs * num_steps
    mb = batch // minibatches
    num_updates = args.total_timesteps // batch
    run_updates = args.updates if args.updates > 0 else num_updates
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    envs = [CartPole(random.Random(args.seed + i)) for i in range(num_envs)]
    agent = Agent()
    optimizer = torch.optim.Adam(agent.parameters(), lr=lr, eps=1e-5)
    obs = torch.zeros(num_steps, num_envs, 4)
    actions = torch.zeros(num_steps, num_envs)
    logprobs = torch.zeros(num_steps, num_envs)
    rewards = torch.zeros(num_steps, num_envs)
    dones = torch.zeros(num_steps, num_envs)
    values = torch.zeros(num_steps, num_envs)
    next_obs = torch.tensor([e.s for e in envs], dtype=torch.float32)
    next_done = torch.zeros(num_envs)
    returns_seen = []
    start = time.perf_counter()
    for update in range(1, run_updates + 1):
        optimizer.param_groups[0]["lr"] = (1.0 - (update - 1.0) / num_updates) * lr
        for step in range(num_steps):
            obs[step] = next_obs
            dones[step] = next_done
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob
            stepped = [e.step(a) for e, a in zip(envs, action.tolist())]
            rewards[step] = torch.tensor([s[1] for s in stepped])
            next_obs = torch.tensor([s[0] for s in stepped], dtype=torch.float32)
            next_done = torch.tensor([float(s[2] or s[3] is not None) for s in stepped])
            returns_seen += [s[3] for s in stepped if s[3] is not None]
        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(num_steps)):
                if t == num_steps - 1:
                    nextnonterminal, nextvalues = 1.0 - next_done, next_value
                else:
                    nextnonterminal, nextvalues = 1.0 - dones[t + 1], values[t + 1]
                delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = delta + gamma * lam * nextnonterminal * lastgaelam
            returns = advantages + values
        b_obs, b_logprobs, b_actions = obs.reshape(-1, 4), logprobs.reshape(-1), actions.reshape(-1)
        b_advantages, b_returns, b_values = advantages.reshape(-1), returns.reshape(-1), values.reshape(-1)
        b_inds = np.arange(batch)
        for _ in range(epochs):
            np.random.shuffle(b_inds)
            for s in range(0, batch, mb):
                i = b_inds[s:s + mb]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(b_obs[i], b_actions.long()[i])
                ratio = (newlogprob - b_logprobs[i]).exp()
                adv = b_advantages[i]
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                pg_loss = torch.max(-adv * ratio, -adv * torch.clamp(ratio, 1 - clip, 1 + clip)).mean()
                newvalue = newvalue.view(-1)
                v_unclipped = (newvalue - b_returns[i]) ** 2
                v_clipped = b_values[i] + torch.clamp(newvalue - b_values[i], -clip, clip)
                v_loss = 0.5 * torch.max(v_unclipped, (v_clipped - b_returns[i]) ** 2).mean()
                loss = pg_loss - ent_coef * entropy.mean() + v_loss * vf_coef
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), max_grad)
                optimizer.step()
    wall = time.perf_counter() - start
    per = wall / run_updates
    last = returns_seen[-20:]
    print(f"torch {torch.__version__}  threads {torch.get_num_threads()}  updates {run_updates} of {num_updates}")
    print(f"wall {wall:.2f} s  {per * 1000:.2f} ms/update  projected {num_updates} updates {per * num_updates:.1f} s  "
          f"mean return of the last {len(last)} episodes {sum(last) / max(1, len(last)):.1f}")


if __name__ == "__main__":
    main(ARGS)
