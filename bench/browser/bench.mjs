// Browser benchmark: the CartPole PPO example (examples/ppo_cartpole.json, 500k steps) trained in the
// playground's worker in Debian's Chromium, next to the native CLI on the same config and seed.
// Reports: wall time (browser: Play -> done, and the trainer's own wall_s), native wall time, the
// ratio, and the UI frame time while training (requestAnimationFrame deltas: median, p95, max).
//   node bench/browser/bench.mjs [--config examples/ppo_cartpole.json] [--no-native]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, openPage, shot, ROOT } from '../../tests/browser/browser.mjs';

const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
const configPath = arg('--config', join(ROOT, 'examples', 'ppo_cartpole.json'));
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const cli = process.env.PL_NATIVE_CLI ?? join(ROOT, 'build', 'policylab');

function pct(sorted, p) { return sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))]; }

// --- browser ---
const { server, browser, url } = await launch();
const hash = new URLSearchParams(Object.entries(config).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)])).toString();
const { page, errors } = await openPage(browser, `${url}#${hash}`, { width: 1600, height: 1000 });
await page.waitForFunction(() => window.policylab?.runs?.[0]?.applied, null, { timeout: 60000 });
const result = await page.evaluate(async (timeoutMs) => {
  const app = window.policylab;
  const deltas = [];
  // Main-thread tasks over 50 ms (the browser's "long task"): work that would make the UI stutter.
  const longTasks = [];
  const observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) longTasks.push({ duration: e.duration, at: e.startTime - t0 }); });
  try { observer.observe({ type: 'longtask', buffered: false }); } catch { /* not supported: reported as null */ }
  // Main-thread responsiveness probe: a message posted every ~4 ms is handled as soon as the main
  // thread is free, so its delay measures how long the page's own work (charts, canvases, message
  // handling) holds the thread. A p95 under 16 ms means the UI's work fits within a 60 Hz frame.
  const delays = [];
  const channel = new MessageChannel();
  let sentAt = 0;
  const ping = () => { sentAt = performance.now(); channel.port2.postMessage(0); };
  channel.port1.onmessage = () => { delays.push(performance.now() - sentAt); if (running) setTimeout(ping, 4); };
  const t0 = performance.now();
  let last = t0, running = true;
  ping();
  const tick = (t) => { deltas.push(t - last); last = t; if (running) requestAnimationFrame(tick); };
  requestAnimationFrame((t) => { last = t; requestAnimationFrame(tick); });
  app.play();
  await new Promise((resolve, reject) => {
    const check = () => {
      const r = app.runs[0];
      if (r.done && !r.playing) resolve();
      else if (r.diverged || r.crashed) reject(new Error('run stopped: ' + (r.diverged ?? 'crashed')));
      else if (performance.now() - t0 > timeoutMs) reject(new Error('timeout'));
      else setTimeout(check, 100);
    };
    check();
  });
  const wall = (performance.now() - t0) / 1000;
  running = false;
  observer.disconnect();
  const st = app.runs[0].store;
  return { wall, deltas: deltas.slice(5), trainerWall: st.last('wall_s'), steps: st.last('global_step'),
           iterations: st.length, finalReturn: app.meanReturn(0), longTasks, delays };
}, 30 * 60 * 1000);
await shot(page, 'bench-ppo-cartpole');
await browser.close();
await server.close();

const d = [...result.deltas].sort((a, b) => a - b);
const md = [...result.delays].sort((a, b) => a - b);
const mainThread = { n: md.length, median: pct(md, 0.5), p95: pct(md, 0.95), p99: pct(md, 0.99), max: md[md.length - 1] };
const frames = { n: d.length, median: pct(d, 0.5), p95: pct(d, 0.95), max: d[d.length - 1],
                 over25: d.filter((x) => x > 25).length };

// --- native (same config, same seed), right after, on the same machine ---
let nativeWall = null;
if (!process.argv.includes('--no-native') && existsSync(cli)) {
  const out = mkdtempSync(join(tmpdir(), 'policylab-bench-'));
  const t0 = process.hrtime.bigint();
  execFileSync(cli, ['train', configPath, '--out', out], { stdio: ['ignore', 'ignore', 'ignore'] });
  nativeWall = Number(process.hrtime.bigint() - t0) / 1e9;
}

console.log(`PolicyLab browser benchmark: ${config.algo} ${config.env_id} seed ${config.seed}, ${result.steps} env steps, ${result.iterations} iterations`);
console.log(`  browser worker (Chromium, wasm): ${result.wall.toFixed(2)} s Play->done; trainer wall_s ${result.trainerWall.toFixed(2)} s; ${(result.steps / result.wall).toFixed(0)} steps/s`);
if (nativeWall !== null) {
  console.log(`  native CLI (-O3 -march=native): ${nativeWall.toFixed(2)} s`);
  console.log(`  ratio browser/native: ${(result.wall / nativeWall).toFixed(2)}x (trainer-only: ${(result.trainerWall / nativeWall).toFixed(2)}x)`);
}
console.log(`  UI frame time while training (rAF deltas, ${frames.n} frames): median ${frames.median.toFixed(1)} ms, p95 ${frames.p95.toFixed(1)} ms, max ${frames.max.toFixed(1)} ms`);
console.log(`  main-thread busy time (delay of a message posted every 4 ms, ${mainThread.n} samples): median ${mainThread.median.toFixed(1)} ms, p95 ${mainThread.p95.toFixed(1)} ms, p99 ${mainThread.p99.toFixed(1)} ms, max ${mainThread.max.toFixed(1)} ms`);
console.log(`  frames longer than 25 ms (a dropped frame at 60 Hz): ${frames.over25} of ${frames.n}; main-thread long tasks (>50 ms): ${result.longTasks.length}${result.longTasks.map((t) => ` ${t.duration.toFixed(0)} ms at ${(t.at / 1000).toFixed(2)} s`).join(',')}`);
console.log(`  final rolling-mean return: ${result.finalReturn.toFixed(1)}`);
if (errors.length) console.log(`  page errors: ${errors.join(' | ')}`);
