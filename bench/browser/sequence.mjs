// Sequence-model runs in a Chromium tab, trained by the playground's worker from an SFT start, next
// to the same run natively — the browser half of bench_grpo's and the DPO example's figures.
//   grpo: examples/dapo_addition.json from examples/sft_addition_warm.json, timed to the first
//         evaluation at 90% held-out greedy accuracy (500 problems every eval_interval steps, part
//         of the time, as natively);
//   dpo:  examples/dpo_addition.json from examples/sft_addition_dpo.json, timed to the end of the
//         run (pair generation from the starting policy and the reference log-probs included).
// The SFT start is trained natively once, not timed, and handed to the page as a user would: the
// warm-start file input (init_from without files). Natively the same config runs through the CLI
// with init_from (wall time of the whole command, so its start-up and file output count too).
//   node bench/browser/sequence.mjs [--case grpo|dpo] [--runs 1] [--timeout-min 30] [--no-native]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, openPage, shot, ROOT } from '../../tests/browser/browser.mjs';

const CASES = {
  grpo: { config: 'dapo_addition.json', start: 'sft_addition_warm.json', goal: 0.9 },
  dpo: { config: 'dpo_addition.json', start: 'sft_addition_dpo.json', goal: null },
};
const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
const which = arg('--case', 'grpo');
const spec = CASES[which];
if (!spec) throw new Error(`--case must be one of ${Object.keys(CASES).join(', ')}`);
const runs = Number(arg('--runs', '1'));
const timeoutMs = Number(arg('--timeout-min', '30')) * 60 * 1000;
const cli = process.env.PL_NATIVE_CLI ?? join(ROOT, 'build', 'policylab');
if (!existsSync(cli)) throw new Error(`${cli} missing: build the native CLI first`);

const dir = mkdtempSync(join(tmpdir(), `policylab-${which}-browser-`));
execFileSync(cli, ['train', join(ROOT, 'examples', spec.start), '--out', join(dir, 'sft')], { stdio: 'ignore' });
const startPath = join(dir, 'sft', 'checkpoint');
const start = { name: 'sft-start.plck', mimeType: 'application/octet-stream', buffer: readFileSync(startPath) };
const configFor = (seed) => {
  const config = JSON.parse(readFileSync(join(ROOT, 'examples', spec.config), 'utf8'));
  delete config.init_from;
  config.seed = seed;
  return config;
};

// The first row of metrics.jsonl at which the goal holds (or the last row), and the run's wall time.
function nativeRun(seed) {
  const config = { ...configFor(seed), init_from: startPath };
  const path = join(dir, `native-${seed}.json`);
  writeFileSync(path, JSON.stringify(config));
  const t0 = process.hrtime.bigint();
  execFileSync(cli, ['train', path, '--out', join(dir, `native-${seed}`)], { stdio: 'ignore' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const rows = readFileSync(join(dir, `native-${seed}`, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const hit = spec.goal === null ? null : rows.find((r) => r.heldout_accuracy >= spec.goal);
  // With a goal: the trainer's own clock at that row (the CLI trains on past it to max_steps).
  return { seconds: hit ? hit.wall_s : spec.goal === null ? seconds : null, steps: (hit ?? rows[rows.length - 1]).iteration,
           last: rows[rows.length - 1] };
}

const { server, browser, url } = await launch();
const results = [];
for (let r = 0; r < runs; ++r) {
  const config = configFor(r + 1);
  const hash = new URLSearchParams(Object.entries(config).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)])).toString();
  const { page, errors } = await openPage(browser, `${url}#${hash}`);
  await page.waitForFunction(() => window.policylab?.runs?.[0]?.applied, null, { timeout: 60000 });
  await page.setInputFiles('[data-testid=warm-start]', start);
  await page.waitForFunction((n) => document.querySelector('[data-testid=messages]').textContent.includes(`starts from the weights of ${n}`), start.name, { timeout: 30000 });
  const browserResult = await page.evaluate(async ({ limit, goal }) => {
    const app = window.policylab;
    const t0 = performance.now();
    app.play();
    return await new Promise((resolve, reject) => {
      const check = () => {
        const run = app.runs[0];
        const acc = run.store?.col('heldout_accuracy') ?? [];
        const reached = goal !== null && acc.some((x) => x >= goal);
        if (reached || (run.done && !run.playing)) {
          const seconds = (performance.now() - t0) / 1000;
          app.pause();
          const tokens = run.store.last('global_step');
          resolve({ reached, seconds, steps: run.iteration, tokens, winRate: run.store.last('win_rate'), epoch: run.store.last('epoch'),
                    best: Math.max(0, ...acc.filter(Number.isFinite)) });
        } else if (run.diverged || run.crashed || run.failed) reject(new Error('run stopped: ' + (run.failed ?? run.diverged ?? 'crashed')));
        else if (performance.now() - t0 > limit) reject(new Error('timeout'));
        else setTimeout(check, 50);
      };
      check();
    });
  }, { limit: timeoutMs, goal: spec.goal });
  await shot(page, `bench-${which}-seed${r + 1}`);
  const native = process.argv.includes('--no-native') ? null : nativeRun(r + 1);
  results.push({ seed: r + 1, browser: browserResult, native, errors });
  const b = browserResult;
  const what = spec.goal === null ? `${b.steps} steps (${b.epoch?.toFixed(2)} epochs, win rate ${(100 * b.winRate).toFixed(1)}%)`
    : b.reached ? `90% after ${b.steps} steps` : `not 90% (best ${(100 * b.best).toFixed(1)}%) after ${b.steps} steps`;
  console.log(`${which} seed ${r + 1}: Chromium tab (worker): ${what}, ${b.seconds.toFixed(1)} s, ${(b.tokens / b.seconds / 1000).toFixed(1)} k tokens/s`);
  if (native) {
    const ratio = native.seconds ? ` — browser/native ${(b.seconds / native.seconds).toFixed(2)}x` : '';
    console.log(`${which} seed ${r + 1}: native CLI: ${native.seconds ? native.seconds.toFixed(1) + ' s' : 'goal not reached'} (${native.steps} steps)${ratio}`);
  }
  if (errors.length) console.log(`  page errors: ${errors.join(' | ')}`);
  await page.close();
}
await browser.close();
await server.close();
console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
