// WASM vs native: the same fixed-seed run gives the same metrics, and checkpoints cross both ways.
//
// Tolerance. Integer fields and everything decided by the RNG's integer stream (episode counts,
// returns, lengths: categorical sampling is bit-identical across platforms) must be identical. The
// float statistics may differ in the last bits: the native build uses -march=native, so GCC
// contracts a*b+c into FMA instructions (one rounding instead of two), while wasm has no FMA; and
// glibc's libm (expf, logf, tanhf, log, cos...) differs from emscripten's musl in the last ulp. These
// differences, ~1e-7 relative, compound through 4 epochs x 4 minibatches of Adam updates, so floats
// are compared with |a - b| <= 1e-4 |a| + 1e-6 (measured: <= 2e-4 relative on the approx-KL
// estimates, which are small differences of logs, and <= 5e-6 on the losses). wall_s and sps are
// timings and are not compared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasNative, loadCore, native, NATIVE_CLI, tempDir } from './helpers.mjs';

const M = await loadCore();
const skip = hasNative() ? false : `native CLI not built (${NATIVE_CLI}); scripts/test-wasm.sh builds it`;
const CONFIG = { algo: 'ppo', env_id: 'CartPole-v1', seed: 1, total_timesteps: 2048 };  // 4 iterations
const EXACT = new Set(['iteration', 'global_step', 'episodes', 'episodic_return_mean', 'episodic_return_min',
  'episodic_return_max', 'episodic_length_mean', 'episodic_cost_mean', 'update_epochs_run', 'learning_rate']);
const IGNORED = new Set(['wall_s', 'sps']);
const RTOL = 1e-4, ATOL = 1e-6;

let nativeRun = null;
function trainNative() {
  if (!nativeRun) {
    const dir = tempDir('native');
    const cfg = join(dir, 'config.in.json');
    writeFileSync(cfg, JSON.stringify(CONFIG));
    // --no-preset: the core on exactly this config on both sides (the CLI would fill unset fields from
    // the pair's preset; the wasm Trainer takes the config as given).
    native(['train', cfg, '--no-preset', '--out', join(dir, 'run')]);
    const rows = readFileSync(join(dir, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    nativeRun = { dir, rows, checkpoint: join(dir, 'run', 'checkpoint') };
  }
  return nativeRun;
}

function compareRow(n, w, names, where) {
  let worst = 0;
  names.forEach((k, i) => {
    if (IGNORED.has(k)) return;
    const a = n[k], b = w[i];
    if (a === null || a === undefined) { assert.ok(Number.isNaN(b), `${where} ${k}: native null, wasm ${b}`); return; }
    if (EXACT.has(k)) { assert.equal(b, a, `${where} ${k}`); return; }
    const d = Math.abs(a - b);
    worst = Math.max(worst, d / Math.max(Math.abs(a), 1e-12));
    assert.ok(d <= RTOL * Math.abs(a) + ATOL, `${where} ${k}: native ${a} vs wasm ${b} (|diff| ${d.toExponential(2)})`);
  });
  return worst;
}

test('fixed-seed PPO CartPole: wasm metrics match native metrics.jsonl', { skip }, () => {
  const { rows } = trainNative();
  assert.equal(rows.length, 4);
  const names = JSON.parse(M.scalarNames());
  const t = M.Trainer.fromJson(JSON.stringify(CONFIG));
  let worst = 0;
  for (const n of rows) {
    const w = t.step();
    worst = Math.max(worst, compareRow(n, w, names, `iteration ${n.iteration}`));
    // Per-layer gradient norms too.
    const lg = t.layerGradNorms(), ln = JSON.parse(t.layerNames());
    const nl = n.layer_grad_norms;
    if (nl) ln.forEach((name, i) => {
      const a = Array.isArray(nl) ? nl[i] : nl[name];
      if (typeof a === 'number') assert.ok(Math.abs(a - lg[i]) <= 1e-3 * Math.abs(a) + 1e-6, `layer ${name}: ${a} vs ${lg[i]}`);
    });
  }
  assert.ok(t.done());
  console.log(`# wasm vs native: largest relative difference over ${rows.length} iterations: ${worst.toExponential(2)}`);
  t.delete();
});

test('a checkpoint saved natively loads in wasm (same config, step, evaluation)', { skip }, () => {
  const { checkpoint } = trainNative();
  const bytes = new Uint8Array(readFileSync(checkpoint));
  const t = M.Trainer.fromCheckpoint(bytes);
  assert.equal(t.globalStep(), 2048);
  const cfg = JSON.parse(t.configJson());
  for (const [k, v] of Object.entries(CONFIG)) assert.deepEqual(cfg[k], v, k);
  const nat = JSON.parse(native(['eval', checkpoint, '--episodes', '5', '--deterministic', '--seed', '7']));
  const w = JSON.parse(t.evaluate(5, true, 7));
  assert.equal(w.episodes, nat.episodes);
  assert.deepEqual(w.returns, nat.returns, 'deterministic evaluation returns');
  // Training continues from the checkpoint.
  t.step();
  assert.equal(t.globalStep(), 2560);
  t.delete();
});

test('a checkpoint saved in wasm loads natively (same evaluation)', { skip }, () => {
  const t = M.Trainer.fromJson(JSON.stringify({ ...CONFIG, seed: 9 }));
  t.step(); t.step(); t.step();
  const dir = tempDir('wasm');
  const path = join(dir, 'checkpoint');
  writeFileSync(path, t.saveBytes());
  const nat = JSON.parse(native(['eval', path, '--episodes', '5', '--deterministic', '--seed', '11']));
  assert.equal(nat.global_step, 1536);
  assert.equal(nat.env_id, 'CartPole-v1');
  const w = JSON.parse(t.evaluate(5, true, 11));
  assert.deepEqual(nat.returns, w.returns);
  // Stochastic evaluation draws the same actions too (categorical draws are bit-identical).
  const ns = JSON.parse(native(['eval', path, '--episodes', '3', '--seed', '5']));
  const ws = JSON.parse(t.evaluate(3, false, 5));
  assert.deepEqual(ns.returns, ws.returns);
  t.delete();
});

test('the browser exports a config the native CLI trains unchanged', { skip }, () => {
  // What the playground's "Config JSON" button writes: the validated config, every field explicit.
  const full = JSON.parse(M.validateConfig(JSON.stringify({ algo: 'a2c', env_id: 'Acrobot-v1', seed: 4, total_timesteps: 400, learning_rate: 0.001 })));
  const dir = tempDir('cfg');
  writeFileSync(join(dir, 'config.json'), JSON.stringify(full, null, 2));
  native(['train', join(dir, 'config.json'), '--out', join(dir, 'run')]);
  const written = JSON.parse(readFileSync(join(dir, 'run', 'config.json'), 'utf8'));
  assert.deepEqual(written, full);
});

// --- Sequence tasks (SFT) ---------------------------------------------------------------------
// The same fixed-seed SFT run natively and in wasm. The problems drawn (integer RNG stream) are
// identical, so iteration, global_step (tokens) and the learning-rate schedule match exactly. The
// floats (losses, entropies, gradient norms) go through libm's exp/log/tanh and the initial normal
// draws, which differ in the last ulp between glibc and musl, and through Adam's updates; they are
// compared within a relative tolerance (SEQ_RTOL; measured: <= 1.4e-6 relative over 12 steps). Greedy held-out
// accuracies count argmax decisions: a near-tie may flip one answer, so they may differ by at most
// one problem in SEQ_CONFIG.heldout_size.
const SEQ_CONFIG = { algo: 'sft', task: 'addition', digits: 2, seed: 4, max_steps: 12, batch_size: 32, eval_interval: 4,
  heldout_size: 64, d_model: 32, n_heads: 4, n_layers: 1, d_mlp: 64 };
const SEQ_EXACT = new Set(['iteration', 'global_step', 'learning_rate', 'episodes']);
const SEQ_COUNTS = new Set(['heldout_accuracy', 'heldout_well_formed']);
const SEQ_IGNORED = new Set(['wall_s', 'sps', 'tokens_per_s']);
const SEQ_RTOL = 1e-4, SEQ_ATOL = 1e-6;

let nativeSeq = null;
function trainNativeSequence() {
  if (!nativeSeq) {
    const dir = tempDir('native-sft');
    const cfg = join(dir, 'config.in.json');
    writeFileSync(cfg, JSON.stringify(SEQ_CONFIG));
    // --no-preset: the core on exactly this config on both sides (the CLI would fill unset fields from
    // the pair's preset; the wasm Trainer takes the config as given).
    native(['train', cfg, '--no-preset', '--out', join(dir, 'run')]);
    const rows = readFileSync(join(dir, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    nativeSeq = { dir, rows, checkpoint: join(dir, 'run', 'checkpoint') };
  }
  return nativeSeq;
}

test('fixed-seed SFT on addition: wasm metrics match native metrics.jsonl', { skip }, () => {
  const { rows } = trainNativeSequence();
  assert.equal(rows.length, SEQ_CONFIG.max_steps);
  const t = M.Trainer.fromJson(JSON.stringify(SEQ_CONFIG));
  const names = JSON.parse(t.metricNames());
  let worst = 0, worstName = '';
  for (const n of rows) {
    const w = t.step();
    names.forEach((k, i) => {
      if (SEQ_IGNORED.has(k)) return;
      const a = n[k], b = w[i];
      const where = `iteration ${n.iteration} ${k}`;
      if (a === null || a === undefined) { assert.ok(Number.isNaN(b), `${where}: native null, wasm ${b}`); return; }
      if (SEQ_EXACT.has(k)) { assert.equal(b, a, where); return; }
      if (SEQ_COUNTS.has(k)) { assert.ok(Math.abs(a - b) <= 1 / SEQ_CONFIG.heldout_size + 1e-12, `${where}: native ${a} vs wasm ${b}`); return; }
      const d = Math.abs(a - b);
      if (d / Math.max(Math.abs(a), 1e-12) > worst) { worst = d / Math.max(Math.abs(a), 1e-12); worstName = k; }
      assert.ok(d <= SEQ_RTOL * Math.abs(a) + SEQ_ATOL, `${where}: native ${a} vs wasm ${b} (|diff| ${d.toExponential(2)})`);
    });
  }
  assert.ok(t.done());
  console.log(`# sft wasm vs native: largest relative difference over ${rows.length} steps: ${worst.toExponential(2)} (${worstName})`);
  t.delete();
});

test('SFT checkpoints cross both ways: same greedy completions natively and in wasm', { skip }, () => {
  const { checkpoint } = trainNativeSequence();
  const fromNative = M.Trainer.fromCheckpoint(new Uint8Array(readFileSync(checkpoint)));
  assert.equal(fromNative.iteration(), SEQ_CONFIG.max_steps);
  assert.equal(JSON.parse(fromNative.configJson()).task, 'addition');
  const prompts = ['12+34=', '99+99=', '07+50='];
  const nativeSample = (path, prompt) => JSON.parse(native(['sample', path, '--prompt', prompt, '--greedy', '--json']));
  const same = (a, b, where) => {
    assert.equal(b.completions[0].completion, a.completions[0].completion, where);
    a.completions[0].steps.forEach((s, k) => assert.ok(Math.abs(s.p - b.completions[0].steps[k].p) <= 1e-3 * s.p + 1e-6, `${where} token ${k}: ${s.p} vs ${b.completions[0].steps[k].p}`));
  };
  for (const p of prompts) same(nativeSample(checkpoint, p), JSON.parse(fromNative.complete(p, 1, 1, 0, 1, true, 1)), `native checkpoint, ${p}`);
  // A checkpoint saved in wasm, read by the native CLI.
  const t = M.Trainer.fromJson(JSON.stringify({ ...SEQ_CONFIG, seed: 8, max_steps: 6 }));
  t.stepMany(6, 1e9);
  const path = join(tempDir('wasm-sft'), 'checkpoint');
  writeFileSync(path, t.saveBytes());
  for (const p of prompts) same(JSON.parse(t.complete(p, 1, 1, 0, 1, true, 1)), nativeSample(path, p), `wasm checkpoint, ${p}`);
  fromNative.delete(); t.delete();
});
