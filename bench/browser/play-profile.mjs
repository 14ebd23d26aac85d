// Where the playground's main-thread time goes right after Play: a sampling CPU profile (Chrome
// DevTools Protocol, 100 us interval) of the main thread for --ms milliseconds after play() on a run
// (the CartPole PPO example's hash by default), per function: total (inclusive) and self time. The
// companion of bench.mjs, whose long-task list shows when the main thread is held during training.
//   node bench/browser/play-profile.mjs [--hash 'algo=ppo&env_id=CartPole-v1&seed=1'] [--ms 1000] [--top 35]
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, DIST } from '../../tests/browser/browser.mjs';
import { startServer } from '../../scripts/serve.mjs';
const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
const hash = arg('--hash', 'algo=ppo&env_id=CartPole-v1&seed=1');
const ms = Number(arg('--ms', 1000));
const top = Number(arg('--top', 35));
const server = await startServer({ dir: DIST });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
await page.goto(`${server.url}#${hash}`);
await page.waitForFunction(() => window.policylab?.runs?.[0]?.applied, null, { timeout: 60000 });
await page.waitForTimeout(1500);
const cdp = await page.context().newCDPSession(page);
await cdp.send('Profiler.enable');
await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
await cdp.send('Profiler.start');
await page.evaluate(() => window.policylab.play());
await page.waitForTimeout(ms);
const { profile } = await cdp.send('Profiler.stop');
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const total = new Map(), self = new Map();
const key = (n) => { const f = n.callFrame; const file = f.url ? f.url.replace(/^.*\//, '') : ''; return `${f.functionName || '(anon)'} ${file}:${f.lineNumber + 1}`; };
for (let i = 0; i < profile.samples.length; i++) {
  const dt = (profile.timeDeltas[i] ?? 0) / 1000;
  let id = profile.samples[i];
  self.set(key(byId.get(id)), (self.get(key(byId.get(id))) ?? 0) + dt);
  const seen = new Set();
  while (id !== undefined) { const k = key(byId.get(id)); if (!seen.has(k)) { total.set(k, (total.get(k) ?? 0) + dt); seen.add(k); } id = parent.get(id); }
}
const print = (title, map, n) => {
  console.log(title);
  for (const [k, t] of [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${t.toFixed(1).padStart(8)} ms  ${k}`);
};
print(`main thread, ${ms} ms after Play: total (inclusive) time per function`, total, top);
print('self time', self, Math.ceil(top / 2));
await browser.close(); await server.close();
