// Start-up benchmark: main-thread long tasks (> 50 ms, the browser's Long Tasks API) from the first
// byte of the page until the playground is ready and has shown its first frame of every view,
// median over repeats, for the playground page and the <policy-lab> element page.
//   node bench/browser/startup.mjs [--repeats 5] [--settle-ms 1500] [--dist DIR]
// --dist serves another build of the playground (an A/B against an older commit's web/dist).
// Speed targets live here, never in timed tests (the browser suite checks the structure instead:
// the wasm module is never instantiated on the main thread).
import { chromium } from 'playwright-core';
import { loadavg } from 'node:os';
import { CHROMIUM, CHROMIUM_ARGS, DIST } from '../../tests/browser/browser.mjs';
import { startServer } from '../../scripts/serve.mjs';

const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
const repeats = Number(arg('--repeats', 5));
const settleMs = Number(arg('--settle-ms', 1500));
const dist = arg('--dist', DIST);

// Installed before any page script runs: records every long task with its start and duration.
const PROBE = `
  window.__longTasks = [];
  try {
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration }); })
      .observe({ type: 'longtask', buffered: true });
  } catch (e) { window.__longTasks = null; }
`;

async function once(browser, url, readyFn) {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.addInitScript(PROBE);
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForFunction(readyFn, null, { timeout: 60000 });
  const readyMs = Date.now() - t0;
  await page.waitForTimeout(settleMs);
  const tasks = await page.evaluate(() => window.__longTasks);
  await page.close();
  return { readyMs, tasks };
}

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))]; };

const server = await startServer({ dir: dist });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
const url = server.url;
const pages = [
  { name: 'playground (index.html)', url, ready: () => window.policylab?.meta && window.policylab.runs.every((r) => r.applied) },
  { name: '<policy-lab> element (examples/embed.html)', url: url + 'examples/embed.html',
    ready: () => document.querySelector('policy-lab')?.app?.runs?.[0]?.applied },
];
console.log(`PolicyLab start-up benchmark: main-thread long tasks (> 50 ms), ${repeats} loads each, viewport 1440x900, ${dist}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
for (const p of pages) {
  const longest = [], counts = [], ready = [];
  for (let k = 0; k < repeats; k++) {
    const r = await once(browser, p.url, p.ready);
    if (r.tasks === null) { console.log('  Long Tasks API not supported'); break; }
    longest.push(r.tasks.length ? Math.max(...r.tasks.map((t) => t.duration)) : 0);
    counts.push(r.tasks.length);
    ready.push(r.readyMs);
    if (k === 0 && r.tasks.length) console.log(`  ${p.name}, load 1: ${r.tasks.map((t) => `${t.duration.toFixed(0)} ms at ${t.start.toFixed(0)} ms`).join(', ')}`);
  }
  if (!longest.length) continue;
  console.log(`  ${p.name}: longest task median ${pct(longest, 0.5).toFixed(0)} ms (max ${Math.max(...longest).toFixed(0)} ms), ` +
    `long tasks per load median ${pct(counts, 0.5)}, ready after median ${pct(ready, 0.5)} ms`);
}
await browser.close();
await server.close();
