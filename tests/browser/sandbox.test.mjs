// The instance sandbox's job-shop and bin-packing views in Debian's Chromium: a generated 6 × 6
// job-shop solved in the lab worker by every dispatching rule and the exact branch and bound, its
// Gantt chart (36 bars, one row per machine), the makespans in the table equal to the native
// `policylab solve` on the same instance, the schedule built operation by operation with the
// slider and Play; a pasted job-shop file solved and a bad one refused with a visible message
// naming the problem; 1-D bin packing with as many bins drawn as the solver used (first fit and
// best fit); the 3-D bin drawn. Screenshots: test-artifacts/sandbox-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, ROOT, launch, openPage, shot } from './browser.mjs';

const NATIVE = process.env.PL_NATIVE_CLI ?? join(ROOT, 'build', 'policylab');
const WAIT = { timeout: 120000 };
const dir = mkdtempSync(join(tmpdir(), 'policylab-sandbox-'));
// The native CLI's objective of `solver` on a dataset line (null without a native build).
function nativeObjective(problem, solver, text) {
  if (!existsSync(NATIVE)) return null;
  const file = join(dir, `${problem}.txt`);
  writeFileSync(file, text);
  const out = execFileSync(NATIVE, ['solve', '--problem', problem, '--solver', solver, '--json', file], { encoding: 'utf8' });
  return JSON.parse(out).instances[0].objective;
}

let ctx;
before(async () => { ctx = await launch(); });
after(async () => { await ctx?.browser.close(); await ctx?.server.close(); });

// A small POMO run: the sandbox is the combo kind's panel.
const RUN = 'algo=pomo&problem=tsp&n=10&batch_size=4&d_model=16&n_heads=2&n_layers=1&d_ff=32&eval_interval=2&heldout_size=4&max_steps=20&seed=1';
const last = (page) => page.evaluate(() => window.__sandboxLast);
const rowsHave = (page, problem, labels) => page.waitForFunction(([p, want]) => {
  const s = window.__sandboxLast;
  return s?.problem === p && want.every((l) => s.rows.some((r) => r.label === l));
}, [problem, labels], WAIT);
const cell = (page, solver) => page.textContent(`[data-testid=sandbox-table] tr[data-solver="${solver}"] td[data-testid=sandbox-objective]`);

async function openSandbox() {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#' + RUN);
  await page.waitForFunction(() => window.policylab?.meta && window.policylab.runs.every((r) => r.applied), null, WAIT);
  await page.waitForFunction(() => window.__sandboxLast?.rows?.length > 0, null, WAIT);
  return { page, errors };
}

test('job-shop 6 × 6: a Gantt chart of 36 bars, makespans equal to the native CLI, built step by step', async () => {
  const { page, errors } = await openSandbox();
  await page.selectOption('[data-testid=sandbox-problem]', 'jobshop');
  assert.equal(await page.inputValue('[data-testid=sandbox-n]'), '6 × 6');
  await rowsHave(page, 'jobshop', ['branch-and-bound', 'spt', 'mwkr', 'mor', 'fifo']);
  let s = await last(page);
  assert.match(s.text, /^6 6 /);
  assert.equal(s.drawn, 'branch-and-bound', 'the exact schedule is drawn first');
  const bars = () => page.$$eval('[data-testid=sandbox-stage] [data-testid=sandbox-gantt] rect.gantt-op', (els) => els.length);
  assert.equal(await bars(), 36);
  // One row per machine, each with 6 operations (each job visits each machine once).
  const perMachine = await page.$$eval('[data-testid=sandbox-stage] [data-testid=sandbox-gantt] rect.gantt-op', (els) => {
    const c = {}; for (const e of els) c[e.dataset.machine] = (c[e.dataset.machine] ?? 0) + 1; return c;
  });
  assert.deepEqual(Object.values(perMachine), [6, 6, 6, 6, 6, 6]);
  // The table's makespans are the native CLI's on the same instance; gaps are to the exact one.
  const exact = nativeObjective('jobshop', 'branch-and-bound', s.text);
  const mwkr = nativeObjective('jobshop', 'mwkr', s.text);
  if (exact !== null) {
    assert.equal(await cell(page, 'branch-and-bound'), String(exact));
    assert.equal(await cell(page, 'mwkr'), String(mwkr));
  } else console.log('# native CLI not built: makespans not compared');
  assert.match(await page.textContent('[data-testid=sandbox-table] thead'), /gap to exact/);
  assert.match(await page.textContent('[data-testid=sandbox-stage] .gantt-makespan-label'), new RegExp(`makespan ${await cell(page, 'branch-and-bound')}$`));
  // MWKR's schedule: 36 bars, its makespan marked at its own value.
  await page.click('[data-testid=sandbox-table] tr[data-solver="mwkr"]');
  await page.waitForFunction(() => window.__sandboxLast.drawn === 'mwkr', null, WAIT);
  assert.equal(await bars(), 36);
  assert.equal(await page.textContent('[data-testid=sandbox-stage] .gantt-makespan-label'), `makespan ${await cell(page, 'mwkr')}`);
  // Side by side with the exact schedule: both Gantt charts, each with its own makespan.
  await page.selectOption('[data-testid=sandbox-compare]', 'branch-and-bound');
  assert.ok(await page.isVisible('[data-testid=sandbox-compare-stage] [data-testid=sandbox-gantt]'));
  assert.equal(await page.$$eval('[data-testid=sandbox-compare-stage] [data-testid=sandbox-gantt] rect.gantt-op', (els) => els.length), 36);
  assert.equal(await page.textContent('[data-testid=sandbox-compare-stage] .gantt-makespan-label'), `makespan ${await cell(page, 'branch-and-bound')}`);
  // Step by step: 10 operations on the slider (both charts), then Play builds all 36 again.
  await page.$eval('[data-testid=sandbox-step]', (el) => { el.value = '10'; el.dispatchEvent(new Event('input', { bubbles: true })); });
  assert.equal(await bars(), 10);
  assert.equal(await page.$$eval('[data-testid=sandbox-compare-stage] [data-testid=sandbox-gantt] rect.gantt-op', (els) => els.length), 10);
  assert.match(await page.textContent('[data-testid=sandbox-step-caption]'), /^mwkr: 10 of 36 operations/);
  await page.click('[data-testid=sandbox-play]');
  await page.waitForFunction(() => document.querySelector('[data-testid=sandbox-play]').textContent === 'Play'
    && document.querySelectorAll('[data-testid=sandbox-stage] [data-testid=sandbox-gantt] rect.gantt-op').length === 36, null, WAIT);
  await page.locator('[data-panel=instance-sandbox]').screenshot({ path: join(ARTIFACTS, 'sandbox-jobshop.png') });
  // A bad pasted instance: a visible error naming the problem; the drawn instance stays.
  await page.click('[data-testid=sandbox-paste-box] summary');
  await page.fill('[data-testid=sandbox-paste]', '2 2\n0 5 1 3\n1 4 1 6\n');
  await page.click('[data-testid=sandbox-paste-solve]');
  await page.waitForSelector('[data-testid=sandbox-error]:not([hidden])', WAIT);
  const err = await page.textContent('[data-testid=sandbox-error]');
  assert.match(err, /Job-shop: the pasted instance was not read: <pasted>:\d+: jobshop: /);
  assert.ok(await page.isVisible('[data-testid=sandbox-error]'));
  assert.equal(await bars(), 36);
  // A pasted job-shop file (ft06): solved, optimum 55, the error gone.
  await page.fill('[data-testid=sandbox-paste]', readFileSync(join(ROOT, 'tests', 'data', 'ft06.txt'), 'utf8'));
  await page.click('[data-testid=sandbox-paste-solve]');
  await page.waitForFunction(() => window.__sandboxLast?.text?.startsWith('6 6 2 1 0 3') && window.__sandboxLast.rows.some((r) => r.label === 'branch-and-bound'), null, WAIT);
  assert.equal(await cell(page, 'branch-and-bound'), '55');
  assert.ok(!(await page.isVisible('[data-testid=sandbox-error]')));
  s = await last(page);
  if (exact !== null) for (const r of s.rows) assert.equal(r.objective, nativeObjective('jobshop', r.label, s.text), r.label);
  // 20 × 15: the dispatching rules only (the exact solver stops at 6 × 6), 300 bars; gaps to the best.
  await page.selectOption('[data-testid=sandbox-n]', '20 × 15');
  await page.waitForFunction(() => /^20 15 /.test(window.__sandboxLast?.text ?? '') && window.__sandboxLast.rows.length === 4, null, WAIT);
  assert.ok(!(await last(page)).rows.some((r) => r.exact));
  assert.equal(await bars(), 300);
  assert.match(await page.textContent('[data-testid=sandbox-table] thead'), /gap to best/);
  await page.locator('[data-panel=instance-sandbox]').screenshot({ path: join(ARTIFACTS, 'sandbox-jobshop-20x15.png') });
  await shot(page, 'sandbox-jobshop-page');
  assert.deepEqual(errors, []);
  await page.close();
});

test('bin packing: 1-D bins drawn = the solver\'s bin count (first fit and best fit), 3-D bin drawn', async () => {
  const { page, errors } = await openSandbox();
  await page.selectOption('[data-testid=sandbox-problem]', 'binpack1d');
  await rowsHave(page, 'binpack1d', ['first-fit', 'best-fit']);
  const s = await last(page);
  const sizes = s.text.trim().split(/\s+/).map(Number);
  const lb = Math.ceil(sizes.slice(2).reduce((a, b) => a + b, 0) / sizes[1]);
  assert.match(await page.textContent('[data-testid=sandbox-note]'), new RegExp(`lower bound ⌈Σs/C⌉ = ${lb} bins`));
  const binsDrawn = () => page.$$eval('[data-testid=sandbox-stage] [data-testid=sandbox-bins] rect.bin', (els) => els.length);
  for (const solver of ['first-fit', 'best-fit']) {
    await page.click(`[data-testid=sandbox-table] tr[data-solver="${solver}"]`);
    await page.waitForFunction((x) => window.__sandboxLast.drawn === x, solver, WAIT);
    const shown = Number(await cell(page, solver));
    assert.equal(await binsDrawn(), shown, solver);
    assert.ok(shown >= lb);
    assert.equal(await page.$$eval('[data-testid=sandbox-stage] [data-testid=sandbox-bins] rect.item', (els) => els.length), sizes[0]);
    const cliBins = nativeObjective('binpack1d', solver, s.text);
    if (cliBins !== null) assert.equal(shown, cliBins, solver);
  }
  // First fit beside best fit: each column count is its solver's.
  await page.selectOption('[data-testid=sandbox-compare]', 'first-fit');
  assert.equal(await page.$$eval('[data-testid=sandbox-compare-stage] [data-testid=sandbox-bins] rect.bin', (els) => els.length), Number(await cell(page, 'first-fit')));
  assert.equal(await binsDrawn(), Number(await cell(page, 'best-fit')));
  // Items arrive one by one: after 5 items, the bins the first 5 opened.
  await page.$eval('[data-testid=sandbox-step]', (el) => { el.value = '5'; el.dispatchEvent(new Event('input', { bubbles: true })); });
  const best = (await last(page)).rows.find((r) => r.label === 'best-fit');
  assert.equal(await binsDrawn(), Math.max(...best.solution.slice(0, 5)) + 1);
  await page.$eval('[data-testid=sandbox-step]', (el) => { el.value = el.max; el.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.locator('[data-panel=instance-sandbox]').screenshot({ path: join(ARTIFACTS, 'sandbox-binpack1d.png') });
  // A bad pasted 1-D instance names the problem.
  await page.click('[data-testid=sandbox-paste-box] summary');
  await page.fill('[data-testid=sandbox-paste]', '3 10 5 20 1');
  await page.click('[data-testid=sandbox-paste-solve]');
  await page.waitForSelector('[data-testid=sandbox-error]:not([hidden])', WAIT);
  assert.match(await page.textContent('[data-testid=sandbox-error]'), /binpack1d: size of item 2 must be in \[1, 10\]/);
  // 3-D: both rules, utilisation in the table equal to the native CLI's, the bin drawn.
  await page.selectOption('[data-testid=sandbox-problem]', 'binpack3d');
  await rowsHave(page, 'binpack3d', ['first-fit', 'best-fit']);
  const s3 = await last(page);
  for (const solver of ['first-fit', 'best-fit']) {
    const r = s3.rows.find((x) => x.label === solver);
    assert.equal(await cell(page, solver), `${(100 * r.objective).toFixed(1)}%`);
    const cli = nativeObjective('binpack3d', solver, s3.text);
    if (cli !== null) assert.equal(r.objective, cli, solver);
  }
  assert.ok(!(await page.isVisible('[data-testid=sandbox-error]')), 'a new problem clears the old error');
  assert.ok(await page.isVisible('[data-testid=sandbox-stage] [data-testid=sandbox-bin3d]'));
  assert.ok(!(await page.isVisible('[data-testid=sandbox-stage] [data-testid=sandbox-bins]')));
  await page.locator('[data-panel=instance-sandbox]').screenshot({ path: join(ARTIFACTS, 'sandbox-binpack3d.png') });
  // Back to the run's own problem: the policy joins the table again.
  await page.selectOption('[data-testid=sandbox-problem]', 'tsp');
  await page.waitForFunction(() => window.__sandboxLast?.problem === 'tsp' && window.__sandboxLast.rows.some((r) => r.label.startsWith('policy')), null, WAIT);
  assert.deepEqual(errors, []);
  await page.close();
});
