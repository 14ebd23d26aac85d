#!/usr/bin/env python3
"""Plain PyTorch (CPU) baseline for PolicyLab's examples/dapo_addition.json: seconds per step.

What it implements (written for this comparison; nothing here is PolicyLab code):
  * the same model as PolicyLab's sequence algorithms (core/nn/transformer.cpp with the schema
    defaults of core/algos/sequence.cpp): a GPT-2-shaped causal transformer, vocabulary 14
    (pad, eos, "0123456789+="), context 13 (8-token prompt "123+456=" + 5-token completion: four
    answer digits least-significant first, then eos), d_model 64, 4 heads, 2 pre-LayerNorm blocks,
    MLP 256 with tanh-GELU, learned positions, final LayerNorm, bias-free output head;
  * one GRPO step with the DAPO settings of examples/dapo_addition.json: 32 training prompts x 8
    completions sampled at temperature 1 with a KV cache (prefill, then one token at a time, rows
    stop at eos), dynamic sampling (groups whose 8 rewards are all equal are dropped and a new
    round of 32 prompts x 8 is sampled, at most 4 rounds), reward 1 for the right answer, group
    advantages (r - mean) / (std + 1e-4), one no-grad forward for the old log-probs, the
    token-level PPO-clip loss (epsilon 0.2, epsilon_high 0.28) aggregated as token-mean, backward,
    global grad-norm clip 1.0, Adam (lr 1e-3, eps 1e-8): one optimizer step per sampled batch
    (num_iterations 1);
  * the held-out evaluation: greedy decoding of 500 held-out problems (one batch) every 10 steps.

Weights: random GPT-2 initialisation by default (the SFT checkpoint is not loaded). A random
model rarely emits eos, so completions run to the task's maximum of 5 tokens (as the SFT model's
do: 4 digits + eos), and its groups almost never carry signal, so dynamic sampling would always
take all 4 rounds. To do the same work per step as the PolicyLab run, `--rounds R` fixes the
number of sampling rounds per step (a fractional R alternates, e.g. 1.5 = 1, 2, 1, 2, ...): give
the PolicyLab run's mean rounds per step (its metrics.jsonl). The training batch is always
32 x 8 rows (groups with signal first, filled up from the last round), as in the PolicyLab run
once enough groups carry signal.

Timing: --warmup steps, then --steps timed steps (an evaluation every 10th step, counted in
that step's time). Prints the median seconds of a step without evaluation, the median evaluation,
and the amortised seconds per step (median step + evaluation / 10), then projects --target-steps
steps (270: the steps the PolicyLab run needs to reach 90% on the 2-core AMD EPYC, README).

BLAS: Debian's python3-torch calls the system libblas.so.3, which is the slow reference (netlib)
BLAS unless an optimised one is installed (libopenblas0-pthread or libblis4 switch it through
update-alternatives). The script prints the BLAS it loaded; quote figures with an optimised BLAS
(a pip wheel of torch brings MKL), the reference BLAS makes PyTorch look 5x slower than it is.
Without installing anything system-wide, an extracted OpenBLAS can be put first:
  apt-get download libopenblas0-pthread && dpkg -x libopenblas0-pthread_*.deb /tmp/ob
  export LD_LIBRARY_PATH=/tmp/ob/usr/lib/x86_64-linux-gnu/openblas-pthread

Run (Debian's python3-torch 1.13; any torch >= 1.10 CPU build; torch is optional and not
installed by scripts/setup.sh):
  /usr/bin/python3 bench/pytorch/grpo_addition.py --threads 1   # one thread, as PolicyLab
  /usr/bin/python3 bench/pytorch/grpo_addition.py --threads 0   # torch's default thread count
--rounds defaults to 2.2, the mean sampling rounds per step of PolicyLab's run over its first
270 steps (sampling_rounds in runs/<dir>/metrics.jsonl).
"""
import argparse
import math
import os
import random
import statistics
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser(description="plain PyTorch baseline of one step of examples/dapo_addition.json")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (and OpenBLAS's threads); 0 keeps the defaults")
    ap.add_argument("--rounds", type=float, default=2.2, help="sampling rounds per step (mean; see the header)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--eval-interval", type=int, default=10)
    ap.add_argument("--target-steps", type=int, default=270)
    ap.add_argument("--seed", type=int, default=1)
    return ap.parse_args()


if __name__ == "__main__":
    ARGS = parse_args()
    if ARGS.threads > 0:  # BLAS libraries read these when they load, before torch can set them
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, str(ARGS.threads))

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.exit("bench/pytorch/grpo_addition.py needs PyTorch (e.g. Debian's python3-torch); it is optional "
             "and not installed by scripts/setup.sh")

PAD, EOS, DIGIT0, PLUS, EQUALS = 0, 1, 2, 12, 13
VOCAB, DIGITS = 14, 3
PROMPT_LEN, MAX_NEW = 2 * DIGITS + 2, DIGITS + 2  # "abc+def=" and 4 digits + eos
CONTEXT = PROMPT_LEN + MAX_NEW


class Block(nn.Module):
    def __init__(self, d, h, m):
        super().__init__()
        self.h = h
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, m)
        self.mlp_proj = nn.Linear(m, d)

    def forward(self, x, key_mask, past=None):
        # x [B, T, D]; key_mask [B, S] bool over all keys (past + new); past: (k, v) [B, H, S0, hd]
        B, T, D = x.shape
        hd = D // self.h
        q, k, v = self.c_attn(self.ln_1(x)).split(D, dim=2)
        q, k, v = (t.view(B, T, self.h, hd).transpose(1, 2) for t in (q, k, v))
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        S = k.shape[2]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
        causal = torch.ones(T, S, dtype=torch.bool).tril(S - T)
        allowed = causal[None, None] & key_mask[:, None, None, :]
        att = att.masked_fill(~allowed, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.c_proj(y)
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x, (k, v)


class GPT(nn.Module):
    def __init__(self, vocab=VOCAB, context=CONTEXT, d=64, h=4, layers=2, m=256, std=0.02):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(context, d)
        self.h = nn.ModuleList(Block(d, h, m) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        for name, p in self.named_parameters():  # GPT-2 initialisation
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif "ln_" in name:
                nn.init.ones_(p)
            elif name.endswith("c_proj.weight") or name.endswith("mlp_proj.weight"):
                nn.init.normal_(p, 0.0, std / math.sqrt(2 * layers))
            else:
                nn.init.normal_(p, 0.0, std)

    def forward(self, tokens, positions, key_mask, past=None):
        x = self.wte(tokens) + self.wpe(positions)
        new_past = []
        for i, blk in enumerate(self.h):
            x, kv = blk(x, key_mask, None if past is None else past[i])
            new_past.append(kv)
        return self.lm_head(self.ln_f(x)), new_past


def make_problem(rng):
    a, b = rng.randrange(10 ** DIGITS), rng.randrange(10 ** DIGITS)
    prompt = [DIGIT0 + int(c) for c in f"{a:0{DIGITS}d}"] + [PLUS] + [DIGIT0 + int(c) for c in f"{b:0{DIGITS}d}"] + [EQUALS]
    s = f"{a + b:0{DIGITS + 1}d}"[::-1]  # least-significant digit first
    return prompt, [DIGIT0 + int(c) for c in s] + [EOS]


@torch.no_grad()
def generate(model, prompts, greedy):
    """prompts [B, PROMPT_LEN] (all the same length). Returns tokens [B, MAX_NEW] (PAD after eos),
    their log-probs [B, MAX_NEW] and lengths [B]."""
    B = prompts.shape[0]
    key_mask = torch.ones(B, PROMPT_LEN, dtype=torch.bool)
    pos = torch.arange(PROMPT_LEN).expand(B, -1)
    logits, past = model(prompts, pos, key_mask)
    logits = logits[:, -1]
    out = torch.full((B, MAX_NEW), PAD, dtype=torch.long)
    logps = torch.zeros(B, MAX_NEW)
    lengths = torch.zeros(B, dtype=torch.long)
    done = torch.zeros(B, dtype=torch.bool)
    for t in range(MAX_NEW):
        logp = logits.log_softmax(-1)
        tok = logp.argmax(-1) if greedy else torch.multinomial(logp.exp(), 1).squeeze(1)
        live = ~done
        out[:, t] = torch.where(live, tok, torch.full_like(tok, PAD))
        logps[:, t] = torch.where(live, logp.gather(1, tok[:, None]).squeeze(1), torch.zeros(B))
        lengths += live.long()
        done |= tok == EOS
        if bool(done.all()) or t + 1 == MAX_NEW:
            break
        key_mask = torch.cat([key_mask, torch.ones(B, 1, dtype=torch.bool)], dim=1)
        logits, past = model(out[:, t:t + 1], torch.full((B, 1), PROMPT_LEN + t), key_mask, past)
        logits = logits[:, -1]
    return out, logps, lengths


def rewards_of(completions, answers):
    return (completions == answers).all(dim=1).float()


class Run:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        torch.manual_seed(args.seed)
        self.model = GPT()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3, eps=1e-8)
        heldout = [make_problem(random.Random(10_000 + i)) for i in range(500)]
        self.eval_prompts = torch.tensor([p for p, _ in heldout])
        self.eval_answers = torch.tensor([a for _, a in heldout])
        self.P, self.G = 32, 8
        self.step_index = 0

    def sample_round(self):
        problems = [make_problem(self.rng) for _ in range(self.P)]
        prompts = torch.tensor([p for p, _ in problems]).repeat_interleave(self.G, dim=0)
        answers = torch.tensor([a for _, a in problems]).repeat_interleave(self.G, dim=0)
        tokens, logps, lengths = generate(self.model, prompts, greedy=False)
        return prompts, tokens, lengths, rewards_of(tokens, answers)

    def step(self, rounds):
        P, G = self.P, self.G
        kept, last = [], None
        for _ in range(rounds):  # dynamic sampling: keep the groups whose rewards differ
            prompts, tokens, lengths, r = self.sample_round()
            last = (prompts, tokens, lengths, r)
            varied = r.view(P, G).std(dim=1) > 0
            for p in varied.nonzero().flatten().tolist():
                if len(kept) < P:
                    kept.append(tuple(x[p * G:(p + 1) * G] for x in last))
        for p in range(P - len(kept)):  # fill up from the last round
            kept.append(tuple(x[p * G:(p + 1) * G] for x in last))
        prompts, tokens, lengths, r = (torch.cat(xs) for xs in zip(*kept))
        # group advantages
        rg = r.view(P, G)
        adv = ((rg - rg.mean(1, keepdim=True)) / (rg.std(1, keepdim=True) + 1e-4)).flatten()
        # teacher-forced layout: prompt + completion, targets shifted by one
        seq = torch.cat([prompts, tokens], dim=1)
        inp, tgt = seq[:, :-1], seq[:, 1:]
        T = inp.shape[1]
        pos = torch.arange(T).expand(inp.shape[0], -1)
        key_mask = torch.ones_like(inp, dtype=torch.bool)
        col = torch.arange(T)[None, :] - (PROMPT_LEN - 1)  # index of the completion token predicted
        loss_mask = ((col >= 0) & (col < lengths[:, None])).float()
        with torch.no_grad():  # old log-probs: the policy that sampled
            old = self.model(inp, pos, key_mask)[0].log_softmax(-1).gather(2, tgt[..., None]).squeeze(-1)
        logp = self.model(inp, pos, key_mask)[0].log_softmax(-1).gather(2, tgt[..., None]).squeeze(-1)
        ratio = torch.exp(logp - old)
        a = adv[:, None]
        per_token = -torch.min(ratio * a, ratio.clamp(1 - 0.2, 1 + 0.28) * a)
        loss = (per_token * loss_mask).sum() / loss_mask.sum().clamp(min=1)  # token-mean
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        self.step_index += 1
        return float(r.mean())

    def evaluate(self):
        tokens, _, _ = generate(self.model, self.eval_prompts, greedy=True)
        return float(rewards_of(tokens, self.eval_answers).mean())


def blas_library():
    """The BLAS the process loaded (Debian's torch calls the system libblas.so.3)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() or "mkl" in line.lower()}
        return ", ".join(sorted(libs)) or "(none found)"
    except OSError:
        return "(unknown)"


def main(args):
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    run = Run(args)
    owed = 0.0

    def rounds_now():
        nonlocal owed
        owed += args.rounds
        n = max(1, int(owed + 1e-9))
        owed -= n
        return n

    for _ in range(args.warmup):
        run.step(rounds_now())
    run.evaluate()
    steps, evals = [], []
    for i in range(1, args.steps + 1):
        t0 = time.perf_counter()
        run.step(rounds_now())
        t1 = time.perf_counter()
        steps.append(t1 - t0)
        if i % args.eval_interval == 0:
            run.evaluate()
            evals.append(time.perf_counter() - t1)
    step_s = statistics.median(steps)
    eval_s = statistics.median(evals) if evals else 0.0
    per_step = step_s + eval_s / args.eval_interval
    print(f"torch {torch.__version__}  threads {torch.get_num_threads()}  rounds/step {args.rounds}  "
          f"timed steps {args.steps} after {args.warmup} warm-up")
    print(f"BLAS: {blas_library()}")
    print(f"step median {step_s:.4f} s (min {min(steps):.4f}, max {max(steps):.4f})  "
          f"evaluation of 500 median {eval_s:.4f} s")
    print(f"seconds per step (evaluation amortised) {per_step:.4f}  "
          f"projected {args.target_steps} steps {per_step * args.target_steps:.1f} s")


if __name__ == "__main__":
    main(ARGS)
