// Group-relative RL in the wasm core (node; V8, the engine of Chromium): wall time from the SFT start
// to 90% held-out accuracy with examples/dapo_addition.json, the same run bench_grpo times natively.
// The SFT start is trained natively once (build/policylab, examples/sft_addition_warm.json) and
// handed to the wasm trainer as checkpoint bytes (Trainer.warmStart: init_from without files).
//   node bench/wasm_grpo.mjs [--config examples/dapo_addition.json] [--runs 1]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCore, ROOT, NATIVE_CLI } from '../tests/wasm/helpers.mjs';

const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
const configPath = arg('--config', join(ROOT, 'examples', 'dapo_addition.json'));
const runs = Number(arg('--runs', '1'));
const now = () => Number(process.hrtime.bigint()) / 1e9;
if (!existsSync(NATIVE_CLI)) throw new Error(`${NATIVE_CLI} missing: build the native CLI first`);

const dir = mkdtempSync(join(tmpdir(), 'policylab-grpobench-'));
execFileSync(NATIVE_CLI, ['train', join(ROOT, 'examples', 'sft_addition_warm.json'), '--out', join(dir, 'sft')], { stdio: 'ignore' });
const start = new Uint8Array(readFileSync(join(dir, 'sft', 'checkpoint')));
const M = await loadCore();
const results = [];
for (let r = 0; r < runs; ++r) {
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  delete config.init_from;
  config.seed = r + 1;
  const t = M.Trainer.fromJson(JSON.stringify(config));
  t.warmStart(start);
  const names = JSON.parse(t.metricNames());
  const acc = names.indexOf('heldout_accuracy');
  const t0 = now();
  let reached = false;
  while (!t.done()) {
    const row = t.step();
    if (row[acc] >= 0.9) { reached = true; break; }
  }
  const wall = now() - t0;
  results.push({ seed: r + 1, reached, steps: t.iteration(), seconds: wall });
  console.log(`seed ${r + 1}: ${reached ? '90%' : 'not 90%'} after ${t.iteration()} steps, ${wall.toFixed(1)} s (wasm, node ${process.version})`);
  t.delete();
}
rmSync(dir, { recursive: true, force: true });
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
console.log(`median seconds to 90%: ${median(results.map((x) => (x.reached ? x.seconds : Infinity))).toFixed(1)}`);
