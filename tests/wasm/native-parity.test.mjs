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
    native(['train', cfg, '--out', join(dir, 'run')]);
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
