// The pages the start-up benchmarks load and how they tell the page is ready, shared by startup.mjs,
// startup-trace.mjs and startup-profile.mjs.
//
// Readiness is polled with a bare CDP Runtime.evaluate of a short expression, never with
// playwright's page.waitForFunction / page.evaluate: those first inject playwright's own script
// into the page, a main-thread task of 80–170 ms on this machine that the Long Tasks API counts as
// the page's (it was the "≈ 120 ms task at 360 ms" of earlier runs).

export const PAGES = {
  playground: { name: 'playground (index.html)', path: '',
    ready: '!!(window.policylab && window.policylab.meta && window.policylab.runs.length && window.policylab.runs.every((r) => r.applied))' },
  element: { name: '<policy-lab> element (examples/embed.html)', path: 'examples/embed.html',
    ready: "!!document.querySelector('policy-lab')?.app?.runs?.[0]?.applied" },
};

// Long-task probe, installed before any page script runs (page.addInitScript).
export const LONGTASK_PROBE = `
  window.__longTasks = [];
  try {
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration }); })
      .observe({ type: 'longtask', buffered: true });
  } catch (e) { window.__longTasks = null; }
`;

export async function cdpValue(cdp, expression) {
  const r = await cdp.send('Runtime.evaluate', { expression, returnByValue: true });
  if (r.exceptionDetails) throw new Error(`${expression}: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
  return r.result.value;
}

// Polls the page's ready expression every 50 ms; once true, marks the moment in the page
// (performance.mark('pl-ready'), seen in traces) and returns performance.now() of the page then.
export async function waitReady(cdp, expression, timeoutMs = 60000) {
  const t0 = Date.now();
  for (;;) {
    let ok = false;
    try { ok = await cdpValue(cdp, expression); } catch { /* the page is navigating */ }
    if (ok) return cdpValue(cdp, "performance.mark('pl-ready'), performance.now()");
    if (Date.now() - t0 > timeoutMs) throw new Error(`page not ready after ${timeoutMs} ms: ${expression}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Trace categories for mainThreadTasks: the top-level tasks (with their CPU time), the page's
// ParseHTML (which names its renderer main thread) and the pl-ready mark.
export const TASK_TRACE_CATEGORIES = ['toplevel', 'devtools.timeline', 'blink.user_timing'];

// The top-level tasks of the page's renderer main thread in a Chrome trace, from the page's first
// ParseHTML on: { at (ms after that ParseHTML), wall (ms), cpu (ms: the thread's CPU time in the
// task; the rest it was descheduled or blocked, e.g. on a synchronous font lookup in the browser
// process) }, and readyAt (ms, the pl-ready mark) when present.
export function mainThreadTasks(traceBuffer, pageUrl) {
  const events = JSON.parse(traceBuffer.toString()).traceEvents;
  const mains = new Set(events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  const parse = events.filter((e) => e.name === 'ParseHTML' && mains.has(`${e.pid}:${e.tid}`) && String(e.args?.beginData?.url ?? '').startsWith(pageUrl))
    .sort((a, b) => a.ts - b.ts)[0];
  if (!parse) return null;
  const on = (e) => e.pid === parse.pid && e.tid === parse.tid;
  const t0 = parse.ts;
  const top = [];
  for (const e of events.filter((x) => on(x) && x.ph === 'X' && (x.name === 'ThreadControllerImpl::RunTask' || x.name === 'RunTask') && x.ts + (x.dur ?? 0) >= t0)
    .sort((a, b) => a.ts - b.ts || b.dur - a.dur)) {
    const last = top[top.length - 1];
    if (last && e.ts + e.dur <= last.ts + last.dur) continue;  // the same task, nested
    top.push(e);
  }
  const ready = events.find((e) => on(e) && e.name === 'pl-ready');
  return {
    tasks: top.map((e) => ({ at: (e.ts - t0) / 1000, wall: e.dur / 1000, cpu: (e.tdur ?? e.dur) / 1000 })),
    readyAt: ready ? (ready.ts - t0) / 1000 : null,
  };
}
