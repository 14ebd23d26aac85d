// Where the playground's start-up main-thread time goes: a sampling CPU profile (Chrome DevTools
// Protocol, 100 us interval) of the page's main thread from navigation until the playground is
// ready plus a settle time, summed per function (self time), the top entries printed with their
// source location. The companion of startup.mjs (which measures the long tasks themselves).
//   node bench/browser/startup-profile.mjs [--page playground|element] [--top 25] [--settle-ms 1000]
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, DIST } from '../../tests/browser/browser.mjs';
import { startServer } from '../../scripts/serve.mjs';
import { PAGES, waitReady } from './startup-pages.mjs';

const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
const which = arg('--page', 'playground');
const top = Number(arg('--top', 25));
const settleMs = Number(arg('--settle-ms', 1000));

const server = await startServer({ dir: arg('--dist', DIST) });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
const cdp = await page.context().newCDPSession(page);
await cdp.send('Profiler.enable');
await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
await cdp.send('Profiler.start');
await page.goto(server.url + PAGES[which].path);
await waitReady(cdp, PAGES[which].ready);
await page.waitForTimeout(settleMs);
const { profile } = await cdp.send('Profiler.stop');
// Self time per node from the samples and their time deltas, summed per function and location.
const self = new Map();
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
for (let i = 0; i < profile.samples.length; i++) {
  const n = byId.get(profile.samples[i]);
  const f = n.callFrame;
  const file = f.url ? f.url.replace(/^.*\//, '') : '';
  const key = `${f.functionName || '(anonymous)'}  ${file}${file ? `:${f.lineNumber + 1}:${f.columnNumber + 1}` : ''}`;
  self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
console.log(`${which}: ${total.toFixed(0)} ms sampled on the main thread (idle included); top ${top} by self time:`);
for (const [k, ms] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${ms.toFixed(1).padStart(8)} ms  ${k}`);
await browser.close();
await server.close();
