// What is inside each long main-thread task at start-up: a Chrome trace (devtools.timeline) of the
// page from navigation until it is ready plus a settle time; every top-level task of the page's main
// thread longer than --min-ms is printed with the events inside it that take at least --child-ms
// (script evaluation, function calls with their source location, style recalculation, layout with
// the JS stack that forced it, paint, parsing), nested. The companion of startup.mjs (the long-task
// figures) and startup-profile.mjs (self time per function). With --play MS, the page's first run
// is started (play()) after the settle time and only the tasks of the next MS milliseconds are
// listed: the main thread while the first metrics, charts and policy views arrive.
//   node bench/browser/startup-trace.mjs [--page playground|element] [--min-ms 50] [--child-ms 3]
//                                        [--settle-ms 1500] [--out trace.json] [--hash '#hide=formula']
//                                        [--play 1500]
import { chromium } from 'playwright-core';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { CHROMIUM, CHROMIUM_ARGS, DIST } from '../../tests/browser/browser.mjs';
import { startServer } from '../../scripts/serve.mjs';
import { PAGES, cdpValue, waitReady } from './startup-pages.mjs';

const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
const which = arg('--page', 'playground');
const minMs = Number(arg('--min-ms', 50));
const childMs = Number(arg('--child-ms', 3));
const settleMs = Number(arg('--settle-ms', 1500));
const out = arg('--out', null);
const dist = arg('--dist', DIST);
const playMs = Number(arg('--play', 0));

const server = await startServer({ dir: dist });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
await browser.startTracing(page, {
  categories: ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline', 'disabled-by-default-devtools.timeline.stack',
    'v8.execute', 'v8', 'blink', 'loading', 'blink.user_timing', 'fonts', 'disabled-by-default-fonts'],
});
const cdp = await page.context().newCDPSession(page);
await page.goto(server.url + PAGES[which].path + arg('--hash', ''));
await waitReady(cdp, PAGES[which].ready);
await page.waitForTimeout(settleMs);
if (playMs > 0) {
  await cdpValue(cdp, "performance.mark('pl-play'), window.policylab.play(), 0");
  await page.waitForTimeout(playMs);
}
const buf = await browser.stopTracing();
await browser.close();
await server.close();
if (out) writeFileSync(out, buf);

const events = JSON.parse(buf.toString()).traceEvents;
// The page's renderer main thread: the one that ran the navigation's ParseHTML for our URL.
const mainThreads = new Set(events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
const parse = events.find((e) => e.name === 'ParseHTML' && mainThreads.has(`${e.pid}:${e.tid}`) && String(e.args?.beginData?.url ?? '').startsWith(server.url));
if (!parse) { console.log('no ParseHTML of the page found in the trace'); process.exit(1); }
const key = `${parse.pid}:${parse.tid}`;
const mine = events.filter((e) => `${e.pid}:${e.tid}` === key && (e.ph === 'X' || e.ph === 'B' || e.ph === 'E' || e.ph === 'R' || e.ph === 'I' || e.ph === 'i'));
// Complete events (X) and begin/end pairs (B/E) as intervals.
const spans = [];
const open = [];
for (const e of mine.sort((a, b) => a.ts - b.ts)) {
  if (e.ph === 'X') spans.push({ name: e.name, ts: e.ts, dur: e.dur ?? 0, tdur: e.tdur, args: e.args, cat: e.cat });
  else if (e.ph === 'B') open.push(e);
  else if (e.ph === 'E') {
    for (let k = open.length - 1; k >= 0; --k) if (open[k].name === e.name) { const b = open.splice(k, 1)[0]; spans.push({ name: b.name, ts: b.ts, dur: e.ts - b.ts, args: { ...b.args, end: e.args }, cat: b.cat }); break; }
  }
}
const navStart = parse.ts;  // close enough to the first byte for a time axis
const ready = mine.find((e) => e.name === 'pl-ready');
// Top-level tasks (RunTask; the scheduler's ThreadControllerImpl::RunTask around the same task is merged).
const top = [];
for (const s of spans.filter((x) => x.name === 'ThreadControllerImpl::RunTask' || x.name === 'RunTask').sort((a, b) => a.ts - b.ts || b.dur - a.dur)) {
  const last = top[top.length - 1];
  if (last && s.ts + s.dur <= last.ts + last.dur) continue;
  top.push(s);
}
const play = mine.find((e) => e.name === 'pl-play');
if (playMs > 0 && !play) { console.log('--play: no pl-play mark in the trace (did play() run?)'); process.exit(1); }
const from = playMs > 0 && play ? play.ts : navStart - 1e6;
const long = top.filter((t) => t.dur / 1000 >= minMs && t.ts + t.dur >= from);

const where = (d) => {
  const f = d?.data ?? d?.beginData ?? d ?? {};
  const stack = f.stackTrace ?? d?.beginData?.stackTrace;
  const fn = f.functionName ? `${f.functionName} ` : '';
  const loc = f.url ? `${String(f.url).replace(/^.*\//, '')}:${(f.lineNumber ?? 0) + (f.lineNumber !== undefined ? 1 : 0)}` : '';
  const st = stack?.length ? ` forced by ${stack.slice(0, 3).map((s) => `${s.functionName || '(anon)'}@${String(s.url).replace(/^.*\//, '')}:${s.lineNumber + 1}`).join(' < ')}` : '';
  const elements = d?.beginData?.dirtyObjects !== undefined ? ` ${d.beginData.dirtyObjects}/${d.beginData.totalObjects} objects` : d?.elementCount !== undefined ? ` ${d.elementCount} elements` : '';
  return `${fn}${loc}${elements}${st}`.trim();
};
const INTERESTING = new Set(['EvaluateScript', 'v8.evaluateModule', 'v8.compile', 'v8.compileModule', 'FunctionCall', 'TimerFire', 'FireAnimationFrame',
  'EventDispatch', 'UpdateLayoutTree', 'Layout', 'Paint', 'PrePaint', 'Layerize', 'ParseHTML', 'ParseAuthorStyleSheet', 'HitTest', 'v8.run',
  'RunMicrotasks', 'V8.GC_SCAVENGER', 'MajorGC', 'MinorGC', 'V8.GCFinalizeMC', 'BlinkGC.AtomicPhase', 'UpdateLayerTree', 'Document::updateStyleAndLayout',
  'LocalFrameView::UpdateLifecyclePhases', 'ScheduledAction::execute', 'v8.callFunction', 'CompositeLayers', 'Decode Image', 'ResourceReceivedData',
  'v8.produceModuleCache', 'v8.compileModule', 'WebAssembly.compile', 'v8.wasm.compileLazy', 'HandlePostMessage']);

console.log(`${which}: ${long.length} main-thread tasks >= ${minMs} ms (load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ` +
  `ready at ${ready ? ((ready.ts - navStart) / 1000).toFixed(0) : '?'} ms after ParseHTML` +
  (playMs > 0 ? `; play() at ${play ? ((play.ts - navStart) / 1000).toFixed(0) : '?'} ms, tasks from then on` : '') + ')');
for (const t of long) {
  // tdur: the main thread's CPU time in the task (the rest it waited: descheduled on a loaded
  // machine, or blocked on the browser process, e.g. a synchronous font lookup).
  console.log(`\ntask ${(t.dur / 1000).toFixed(1)} ms at ${((t.ts - navStart) / 1000).toFixed(0)} ms` +
    (t.tdur !== undefined ? ` (CPU ${(t.tdur / 1000).toFixed(1)} ms)` : ''));
  const inner = spans.filter((s) => s !== t && s.ts >= t.ts && s.ts + s.dur <= t.ts + t.dur && INTERESTING.has(s.name) && s.dur / 1000 >= childMs)
    .sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  const stack = [];
  for (const s of inner) {
    while (stack.length && s.ts >= stack[stack.length - 1].ts + stack[stack.length - 1].dur) stack.pop();
    console.log(`  ${'  '.repeat(stack.length)}${(s.dur / 1000).toFixed(1).padStart(6)} ms${s.tdur !== undefined ? ` (CPU ${(s.tdur / 1000).toFixed(1)})` : ''}  ${s.name}  ${where(s.args)}`);
    stack.push(s);
  }
}
