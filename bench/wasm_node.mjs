// Node benchmark: the same training run in the wasm core (build-wasm/node/policylab.cjs, loaded as
// tests/wasm/helpers.mjs does) and in the native CLI (build/policylab), interleaved, median of N.
// Measures the core only (no browser, no worker messaging): the wasm/native ratio of training.
//   node bench/wasm_node.mjs [--config examples/ppo_cartpole.json] [--steps 100000] [--runs 3]
//                            [--no-native] [--no-wasm]
// PL_WASM_NODE / PL_NATIVE_CLI override the two builds (as in tests/wasm).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCore, ROOT, WASM_NODE, NATIVE_CLI } from '../tests/wasm/helpers.mjs';

const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
const configPath = arg('--config', join(ROOT, 'examples', 'ppo_cartpole.json'));
const steps = Number(arg('--steps', '100000'));
const runs = Number(arg('--runs', '3'));
const config = { ...JSON.parse(readFileSync(configPath, 'utf8')), total_timesteps: steps };
const doWasm = !process.argv.includes('--no-wasm');
const doNative = !process.argv.includes('--no-native') && existsSync(NATIVE_CLI);

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const now = () => Number(process.hrtime.bigint()) / 1e9;

const M = doWasm ? await loadCore() : null;
function runWasm() {
  const t0 = now();
  const t = M.Trainer.fromJson(JSON.stringify(config));
  let last = null;
  while (!t.done()) last = t.stepMany(1000, 1e9);
  const wall = now() - t0;
  const step = t.globalStep();
  t.delete();
  return { wall, step, last };
}

const dir = mkdtempSync(join(tmpdir(), 'policylab-wasmbench-'));
const cfgFile = join(dir, 'config.json');
writeFileSync(cfgFile, JSON.stringify(config));
function runNative(i) {
  const out = join(dir, `run${i}`);
  const t0 = now();
  execFileSync(NATIVE_CLI, ['train', cfgFile, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  const wall = now() - t0;
  rmSync(out, { recursive: true, force: true });
  return wall;
}

console.log(`PolicyLab node benchmark: ${config.algo} ${config.env_id} seed ${config.seed}, ${steps} env steps, median of ${runs}`);
if (doWasm) console.log(`  wasm:   ${WASM_NODE}`);
if (doNative) console.log(`  native: ${NATIVE_CLI}`);
const w = [], n = [];
let wasmSteps = 0;  // whole iterations: 100000 steps of 4 x 128 run 195 iterations, 99840 steps
for (let i = 0; i < runs; ++i) {
  // Interleaved so that load from other processes affects both sides alike.
  if (doWasm) { const r = runWasm(); w.push(r.wall); wasmSteps = r.step; }
  if (doNative) n.push(runNative(i));
  console.log(`  run ${i + 1}: ${doWasm ? `wasm ${w[i].toFixed(2)} s` : ''}${doNative ? `  native ${n[i].toFixed(2)} s` : ''}`);
}
rmSync(dir, { recursive: true, force: true });
const fmt = (xs) => `median ${median(xs).toFixed(2)} s  [${xs.map((x) => x.toFixed(2)).join(', ')}]`;
if (doWasm) console.log(`  wasm (node ${process.version}): ${fmt(w)}  ${(wasmSteps / median(w)).toFixed(0)} steps/s (${wasmSteps} steps)`);
if (doNative) console.log(`  native CLI:          ${fmt(n)}  ${(steps / median(n)).toFixed(0)} steps/s`);
if (doWasm && doNative) console.log(`  ratio wasm/native:   ${(median(w) / median(n)).toFixed(2)}x`);
