// The loss explorer (web/src/views/losslab.ts) in Debian's Chromium: its numbers come from the
// core's loss lab in a worker of its own and match the definitions — PPO-clip's gradient weight is 0
// where the ratio is clipped, clip-higher moves the bound, dual-clip bounds a negative advantage's
// loss at c|A| — and the estimators table follows the dragged rewards. Screenshot: test-artifacts/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, shot } from './browser.mjs';

let ctx;
before(async () => { ctx = await launch(); });
after(async () => { await ctx?.browser.close(); await ctx?.server.close(); });

test('loss explorer: curves and advantages from the core, in a worker', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#algo=grpo&task=addition&digits=2&seed=1');
  await page.waitForFunction(() => window.policylab?.meta && window.policylab.runs.every((r) => r.applied), null, { timeout: 30000 });
  assert.ok(await page.isVisible('[data-panel=loss-explorer]'));
  await page.click('[data-testid=loss-explorer] summary');
  // The advantages table: six columns of the group, one row per estimator.
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=lab-advantages] tbody tr').length === 11, null, { timeout: 30000 });
  const grpoRow = () => page.$$eval('[data-testid=lab-advantages] tbody tr', (rows) => [...rows[0].querySelectorAll('td')].map((td) => Number(td.title)));
  const rlooRow = () => page.$$eval('[data-testid=lab-advantages] tbody tr', (rows) => [...rows[2].querySelectorAll('td')].map((td) => Number(td.title)));
  // Rewards (1, 0, 0, 1, 0, 0): RLOO gives 1 - 1/5 = 0.8 to a right answer and 0 - 2/5 = -0.4 to a wrong one.
  let rloo = await rlooRow();
  assert.ok(Math.abs(rloo[0] - 0.8) < 1e-5 && Math.abs(rloo[1] + 0.4) < 1e-5, JSON.stringify(rloo));
  // AdaptThink (the last row; #1-3 NoThinking, Rbar_ref 0.5, delta 0.05): delta [NoThinking] + r - 0.5.
  const adapt = await page.$$eval('[data-testid=lab-advantages] tbody tr', (rows) =>
    ({ label: rows[10].querySelector('th').textContent, a: [...rows[10].querySelectorAll('td')].map((td) => Number(td.title)) }));
  assert.match(adapt.label, /AdaptThink/);
  [0.55, -0.45, -0.45, 0.5, -0.5, -0.5].forEach((x, i) => assert.ok(Math.abs(adapt.a[i] - x) < 1e-5, JSON.stringify(adapt)));
  // Drag reward 2 to 1: the GRPO row follows (three right answers of six: symmetric advantages).
  await page.$eval('[data-testid=lab-reward-1]', (el) => { el.value = '1'; el.dispatchEvent(new Event('input')); });
  await page.waitForFunction(() => {
    const rows = document.querySelectorAll('[data-testid=lab-advantages] tbody tr');
    const a = [...rows[0].querySelectorAll('td')].map((td) => Number(td.title));
    return Math.abs(a[1] - a[0]) < 1e-6 && Math.abs(a[0] + a[2]) < 1e-6;
  }, null, { timeout: 10000 });
  const grpo = await grpoRow();
  assert.ok(grpo[0] > 0 && grpo[2] < 0);
  // The loss curves: PPO-clip's gradient weight for A > 0 is r inside [1 - eps, 1 + eps] and 0 above.
  await page.waitForSelector('[data-testid=lab-grad-plot] .uplot');
  const curves = await page.evaluate(() => window.__labLast ?? null);
  assert.ok(curves, 'the explorer exposes its last curves for tests');
  const { ratios, grad, loss, labels } = curves;
  const col = (label) => labels.indexOf(label);
  const at = (r) => ratios.findIndex((x) => Math.abs(x - r) < 0.03);
  const i1 = at(1.0), i2 = at(2.0);
  assert.ok(i1 >= 0 && i2 >= 0);
  assert.ok(Math.abs(grad[col('PPO-clip')][i1] - ratios[i1]) < 1e-4, 'unclipped: weight A r');
  assert.ok(grad[col('PPO-clip')][i2] === 0, 'clipped above 1 + eps: no gradient');
  assert.ok(Math.abs(loss[col('PPO-clip')][i2] + 1.2) < 1e-5, 'loss -(1 + eps) A when clipped');
  // Clip-higher (eps_high 0.28): still clipped at r = 2, but the loss is -(1.28) A.
  assert.ok(Math.abs(loss[col('clip-higher (DAPO)')][i2] + 1.28) < 1e-5);
  // A < 0: dual-clip bounds the loss at c |A| = 3 for large ratios; PPO-clip keeps growing as r.
  await page.selectOption('[data-testid=lab-sign]', '-1');
  await page.waitForFunction(() => window.__labLast?.sign === -1, null, { timeout: 10000 });
  const neg = await page.evaluate(() => window.__labLast);
  const i35 = neg.ratios.length - 1;  // r = 3
  assert.ok(Math.abs(neg.loss[neg.labels.indexOf('PPO-clip')][i35] - neg.ratios[i35]) < 1e-4);
  assert.ok(neg.loss[neg.labels.indexOf('dual-clip')][i35] <= 3 + 1e-5);
  await shot(page, 'loss-explorer');
  assert.deepEqual(errors, []);
});

test('preference-loss explorer: DPO, IPO and hinge against the margin, beta live, from the core', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#algo=grpo&task=addition&digits=2&seed=1');
  await page.waitForFunction(() => window.policylab?.meta && window.policylab.runs.every((r) => r.applied), null, { timeout: 30000 });
  await page.click('[data-testid=pref-explorer] summary');
  await page.waitForFunction(() => window.__prefLast?.types?.length === 3, null, { timeout: 30000 });
  let last = await page.evaluate(() => window.__prefLast);
  const at = (m) => last.margins.findIndex((x) => Math.abs(x - m) < 1e-9);
  const col = (t) => last.types.indexOf(t);
  // DPO at h = 0: log 2, pushing the chosen up with weight beta / 2.
  assert.ok(Math.abs(last.loss[col('sigmoid')][at(0)] - Math.LN2) < 1e-5);
  assert.ok(Math.abs(last.grad[col('sigmoid')][at(0)] - 0.05) < 1e-5);
  // IPO regresses h onto 1 / (2 beta) = 5: no push there, a pull back beyond it.
  assert.ok(Math.abs(last.grad[col('ipo')][at(5)]) < 1e-4);
  assert.ok(last.grad[col('ipo')][at(10)] < 0);
  // Hinge: weight beta below the margin 1 / beta = 10, none beyond.
  assert.ok(Math.abs(last.grad[col('hinge')][at(5)] - 0.1) < 1e-5);
  assert.ok(Math.abs(last.grad[col('hinge')][at(12)]) === 0);
  // Drag beta to 0.5: DPO's weight at h = 0 becomes 0.25.
  await page.$eval('[data-testid=pref-beta]', (el) => { el.value = '0.5'; el.dispatchEvent(new Event('input')); });
  await page.waitForFunction(() => window.__prefLast?.beta === 0.5, null, { timeout: 10000 });
  last = await page.evaluate(() => window.__prefLast);
  assert.ok(Math.abs(last.grad[col('sigmoid')][at(0)] - 0.25) < 1e-5);
  await shot(page, 'preference-explorer');
  assert.deepEqual(errors, []);
});

test('warm start in the browser: a run takes a checkpoint\'s weights (init_from), with the core\'s checks', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#algo=grpo&task=addition&digits=2&d_model=16&n_heads=2&n_layers=1&d_mlp=32&batch_size=4&num_generations=4&heldout_size=16&seed=1');
  await page.waitForFunction(() => window.policylab?.meta && window.policylab.runs.every((r) => r.applied), null, { timeout: 30000 });
  // A checkpoint of this model (seed 1's initial weights), as the export button saves it.
  const saved = await page.evaluate(async () => Array.from((await window.policylab.runs[0].save()).bytes));
  const file = { name: 'start.plck', mimeType: 'application/octet-stream', buffer: Buffer.from(saved) };
  await page.setInputFiles('[data-testid=warm-start]', file);
  await page.waitForFunction(() => document.querySelector('[data-testid=messages]').textContent.includes('starts from the weights of start.plck'), null, { timeout: 10000 });
  // After a step the weights the run started from are fixed: the core says to reset first.
  await page.click('[data-testid=step]');
  await page.waitForFunction(() => window.policylab.runs[0].iteration >= 1, null, { timeout: 30000 });
  await page.setInputFiles('[data-testid=warm-start]', file);
  await page.waitForFunction(() => /Could not start from start\.plck: .*reset the run first/.test(document.querySelector('[data-testid=messages]').textContent), null, { timeout: 10000 });
  // Another model size is refused, naming both models.
  const second = await openPage(ctx.browser, ctx.url + '#algo=grpo&task=addition&digits=2&d_model=32&n_heads=4&n_layers=1&d_mlp=32&batch_size=4&num_generations=4&heldout_size=16&seed=1');
  await second.page.waitForFunction(() => window.policylab?.meta && window.policylab.runs.every((r) => r.applied), null, { timeout: 30000 });
  await second.page.setInputFiles('[data-testid=warm-start]', file);
  await second.page.waitForFunction(() => /Could not start from start\.plck: .*does not match this run's/.test(document.querySelector('[data-testid=messages]').textContent), null, { timeout: 10000 });
  assert.deepEqual(second.errors, []);
  assert.deepEqual(errors, []);
});
