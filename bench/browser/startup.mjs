// Start-up benchmark: main-thread long tasks (> 50 ms, the browser's Long Tasks API) from the first
// byte of the page until the playground is ready (every run has its trainer) and then for a settle
// time in which it shows its first frame of every view (charts, policy viewer, map, objective),
// median over repeats, for the playground page and the <policy-lab> element page.
// Each load is also traced (top-level tasks only): the longest main-thread task's CPU time, which
// a loaded machine does not inflate the way it inflates wall time (a task's wall time includes the
// time its thread was descheduled, and blocked on the browser process, e.g. font lookups).
//   node bench/browser/startup.mjs [--repeats 5] [--settle-ms 1500] [--dist DIR] [--page playground|element] [--no-trace]
// --dist serves another build of the playground (an A/B against an older commit's web/dist).
// Speed targets live here, never in timed tests (the browser suite checks the structure instead:
// the wasm module is never instantiated on the main thread). Readiness is polled over CDP, not with
// playwright's page.waitForFunction, whose injected script is itself a long task (startup-pages.mjs).
import { chromium } from 'playwright-core';
import { loadavg } from 'node:os';
import { CHROMIUM, CHROMIUM_ARGS, DIST } from '../../tests/browser/browser.mjs';
import { startServer } from '../../scripts/serve.mjs';
import { LONGTASK_PROBE, PAGES, TASK_TRACE_CATEGORIES, cdpValue, mainThreadTasks, waitReady } from './startup-pages.mjs';

const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
const repeats = Number(arg('--repeats', 5));
const settleMs = Number(arg('--settle-ms', 1500));
const dist = arg('--dist', DIST);
const only = arg('--page', null);
const traced = !process.argv.includes('--no-trace');

async function once(browser, url, ready) {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.addInitScript(LONGTASK_PROBE);
  const cdp = await page.context().newCDPSession(page);
  if (traced) await browser.startTracing(page, { categories: TASK_TRACE_CATEGORIES });
  await page.goto(url);
  const readyAt = await waitReady(cdp, ready);
  await new Promise((r) => setTimeout(r, settleMs));
  const tasks = await cdpValue(cdp, 'window.__longTasks');
  const trace = traced ? mainThreadTasks(await browser.stopTracing(), url) : null;
  await page.close();
  return { readyAt, tasks, trace };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const longest = (ts) => (ts.length ? Math.max(...ts.map((t) => t.duration)) : 0);

const server = await startServer({ dir: dist });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
console.log(`PolicyLab start-up benchmark: main-thread long tasks (> 50 ms), ${repeats} loads each, viewport 1440x900, ${dist}, ` +
  `load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
for (const [key, p] of Object.entries(PAGES)) {
  if (only && key !== only) continue;
  const toReady = [], all = [], counts = [], ready = [], cpuToReady = [], cpuAll = [];
  for (let k = 0; k < repeats; k++) {
    const r = await once(browser, server.url + p.path, p.ready);
    if (r.tasks === null) { console.log('  Long Tasks API not supported'); break; }
    toReady.push(longest(r.tasks.filter((t) => t.start < r.readyAt)));
    all.push(longest(r.tasks));
    counts.push(r.tasks.length);
    ready.push(r.readyAt);
    let cpuNote = '';
    if (r.trace) {
      const maxCpu = (ts) => (ts.length ? Math.max(...ts.map((t) => t.cpu)) : 0);
      const before = r.trace.readyAt === null ? r.trace.tasks : r.trace.tasks.filter((t) => t.at < r.trace.readyAt);
      cpuToReady.push(maxCpu(before));
      cpuAll.push(maxCpu(r.trace.tasks));
      const top = [...r.trace.tasks].sort((a, b) => b.cpu - a.cpu).slice(0, 3);
      cpuNote = `; most CPU: ${top.map((t) => `${t.cpu.toFixed(0)} ms CPU (${t.wall.toFixed(0)} wall) at ${t.at.toFixed(0)}`).join(', ')}`;
    }
    console.log(`  ${p.name}, load ${k + 1}: ready at ${r.readyAt.toFixed(0)} ms; long tasks: ` +
      (r.tasks.map((t) => `${t.duration.toFixed(0)} ms at ${t.start.toFixed(0)}`).join(', ') || 'none') + cpuNote);
  }
  if (!all.length) continue;
  console.log(`  ${p.name}: longest task until ready median ${median(toReady).toFixed(0)} ms (max ${Math.max(...toReady).toFixed(0)}), ` +
    `until ready + ${settleMs} ms median ${median(all).toFixed(0)} ms (max ${Math.max(...all).toFixed(0)}), ` +
    `long tasks per load median ${median(counts)}, ready after median ${median(ready).toFixed(0)} ms`);
  if (cpuAll.length) console.log(`  ${p.name}: most CPU time in one main-thread task: until ready median ${median(cpuToReady).toFixed(0)} ms ` +
    `(max ${Math.max(...cpuToReady).toFixed(0)}), until ready + ${settleMs} ms median ${median(cpuAll).toFixed(0)} ms (max ${Math.max(...cpuAll).toFixed(0)})`);
}
console.log(`load average after: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
await browser.close();
await server.close();
