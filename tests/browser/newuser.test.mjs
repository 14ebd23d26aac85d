// What a new user tripped over in the playground (an audit of the built page, 2026-12-07): share links
// of loaded checkpoints, settings the core rejects, the lab worker failing, keyboard shortcuts, the
// next seed of "+ Compare run", and the phone width.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, shot } from './browser.mjs';

let ctx;
before(async () => { ctx = await launch(); });
after(async () => { await ctx?.browser.close(); await ctx?.server.close(); });

const appReady = (page, timeout = 30000) => page.waitForFunction(() => window.policylab?.meta && window.policylab.runs.every((r) => r.applied), null, { timeout });
const SMALL_TSP = 'algo=pomo&problem=tsp&n=10&batch_size=4&d_model=16&n_heads=2&n_layers=1&d_ff=32&eval_interval=2&heldout_size=4&max_steps=20&seed=1';

test('The share link of a loaded pretrained checkpoint opens without errors, with the same settings', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#' + SMALL_TSP);
  await appReady(page, 90000);
  await page.click('[data-testid=pretrained-tsp20]');
  await page.waitForFunction(() => window.policylab.runs[0].applied?.n === 20 && window.policylab.runs[0].iteration > 0, null, { timeout: 90000 });
  // The checkpoint's config lists every field, also those that do not apply (jobshop's machines, the
  // rollout baseline's options) and the file its training started from: none of them is in the link.
  const message = await page.textContent('[data-testid=messages]');
  assert.match(message, /Loaded checkpoint pomo_tsp20\.plck.*It has finished its max_steps \(\d+\): use it as it is, or to train it further press Download checkpoint, then Reset/);
  // Play on a finished run says why nothing moves.
  await page.click('[data-testid=play]');
  await page.waitForFunction(() => /Every run has finished its max_steps/.test(document.querySelector('[data-testid=messages]').textContent), null, { timeout: 10000 });
  await page.click('[data-testid=share]');
  const link = await page.inputValue('[data-testid=share-url]');
  const hash = link.slice(link.indexOf('#') + 1);
  for (const key of ['machines', 'bl_alpha', 'population', 'init_from']) assert.ok(!new RegExp(`(^|&)${key}=`).test(hash), `${key} in ${hash}`);
  const { page: p2, errors: e2 } = await openPage(ctx.browser, ctx.url + '#' + hash);
  await appReady(p2, 90000);
  assert.equal(await p2.locator('[data-testid=error]').count(), 0, await p2.textContent('[data-testid=messages]'));
  const [a, b] = await Promise.all([page, p2].map((p) => p.evaluate(() => window.policylab.runs[0].applied)));
  for (const key of ['algo', 'problem', 'n', 'd_model', 'n_layers', 'learning_rate', 'max_steps']) assert.deepEqual(b[key], a[key], key);
  assert.deepEqual(errors, []);
  assert.deepEqual(e2, []);
  await p2.close();
  await page.close();
});

test('Settings the core rejects stop the run: Play and Step off, the reason shown, a fixed setting recovers', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#algo=ppo&env_id=CartPole-v1&num_steps=1&num_minibatches=64');
  await page.waitForSelector('[data-testid=error]', { timeout: 30000 });
  assert.match(await page.textContent('[data-testid=messages]'), /settings rejected: .*num_minibatches.*Change the settings, then press Reset\./);
  await page.waitForFunction(() => document.querySelector('[data-testid=play]').disabled, null, { timeout: 10000 });
  assert.ok(await page.isDisabled('[data-testid=step]'));
  assert.match(await page.textContent('[data-testid=status]'), /\(failed\)/);
  const sel = '.field[data-field="num_minibatches"] input';
  await page.fill(sel, '1');
  await page.press(sel, 'Enter');
  await page.click('[data-testid=reset]');
  await page.waitForFunction(() => { const r = window.policylab.runs[0]; return r.applied?.num_minibatches === 1 && !r.failed; }, null, { timeout: 30000 });
  assert.ok(!(await page.isDisabled('[data-testid=play]')));
  assert.deepEqual(errors, []);
  await page.close();
  // Names that are Object.prototype's members are unknown parameters, not fields.
  for (const key of ['constructor', '__proto__']) {
    const { page: p } = await openPage(ctx.browser, ctx.url + `#algo=ppo&${key}=1`);
    await appReady(p);
    assert.match(await p.textContent('[data-testid=messages]'), new RegExp(`unknown parameter "${key}" for ppo`));
    await p.close();
  }
  // A lecturer's typo in the classroom controls list is named, not silently dropped.
  const { page: p3 } = await openPage(ctx.browser, ctx.url + 'embed.html#algo=ppo&controls=learning_rate,bogus_field');
  await appReady(p3);
  assert.match(await p3.textContent('[data-testid=messages]'), /controls: no setting is named "bogus_field"/);
  assert.ok(await p3.isVisible('.field[data-field="learning_rate"]'));
  await p3.close();
});

test('Settings too big for the worker\'s memory: a plain message naming what to reduce, and each run\'s own status', async () => {
  // total_timesteps covers one batch: below it the core refuses the budget before allocating anything.
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#algo=ppo&num_envs=1024&num_steps=100000&total_timesteps=204800000&1.algo=sft&1.task=addition&1.d_model=1024&1.n_layers=24');
  await page.waitForFunction(() => window.policylab?.runs.length === 2 && window.policylab.runs.every((r) => r.rejected), null, { timeout: 90000 });
  const text = await page.textContent('[data-testid=messages]');
  assert.doesNotMatch(text, /bad_alloc/);
  assert.match(text, /Run A: settings rejected: these settings need more memory than the browser gave the worker: reduce num_envs × num_steps \(here 1024 × 100000 = 102,400,000/);
  assert.match(text, /Run B: settings rejected: these settings need more memory .*reduce batch_size, heldout_size or the model \(d_model, n_layers\)/);
  // Run B is an SFT run that never got a trainer: its status is a sequence run's, not an env run's.
  await page.waitForFunction(() => /B: it 0 · held-out/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 10000 });
  assert.match(await page.textContent('[data-testid=status]'), /A: it 0 · 0 steps · return – \(failed\) .* B: it 0 · held-out – · loss – \(failed\)/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('A lab worker that fails to load is reported in the panels that use it', async () => {
  const page = await ctx.browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.route(/labworker[^/]*\.js/, (route) => route.abort());
  await page.goto(ctx.url + '#' + SMALL_TSP);
  await appReady(page, 90000);
  await page.waitForSelector('[data-testid=sandbox-error]:not([hidden])', { timeout: 30000 });
  assert.match(await page.textContent('[data-testid=sandbox-error]'), /the lab worker failed/);
  await page.close();
});

test('Keyboard shortcuts work with the focus on the page itself; three compare runs get three new seeds', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#algo=a2c&env_id=CartPole-v1&seed=1');
  await appReady(page);
  await page.click('h1');  // the focus leaves any control: it is on <body>
  await page.keyboard.press('s');
  await page.waitForFunction(() => window.policylab.runs[0].iteration === 1, null, { timeout: 10000 });
  for (let k = 0; k < 3; ++k) await page.click('[data-testid=compare]');
  await page.waitForFunction(() => window.policylab.runs.length === 4 && window.policylab.runs.every((r) => r.applied), null, { timeout: 60000 });
  assert.deepEqual(await page.evaluate(() => window.policylab.state.runs.map((c) => c.seed)), [1, 2, 3, 4]);
  assert.deepEqual(errors, []);
  await page.close();
});

test('At a phone\'s width every panel\'s controls stay inside it (file inputs, selects, the sandbox), and the embed example does not scroll sideways', async () => {
  // Each control's right edge against its panel's, in the page and inside <policy-lab> shadow roots
  // (KaTeX's formula scrolls within its own box, and charts size themselves: not checked here).
  const overflowing = (page) => page.evaluate(() => {
    const out = [];
    const visit = (root) => root.querySelectorAll('select, input, canvas, label').forEach((e) => {
      const panel = e.parentElement?.closest('.panel');
      if (!panel || e.closest('.uplot')) return;
      const a = e.getBoundingClientRect(), b = panel.getBoundingClientRect();
      if (a.width > 0 && a.right > b.right + 0.5) out.push(`${e.tagName} ${e.dataset.testid ?? e.getAttribute('aria-label') ?? e.textContent.slice(0, 30)}: right ${a.right.toFixed(0)} > ${b.right.toFixed(0)}`);
    });
    visit(document);
    document.querySelectorAll('policy-lab').forEach((el) => el.shadowRoot && visit(el.shadowRoot));
    return out;
  });
  for (const path of ['#' + SMALL_TSP, '#algo=grpo&task=addition', 'examples/embed.html', 'examples/embed_dpo_ipo.html']) {
    const { page, errors } = await openPage(ctx.browser, ctx.url + path, { width: 390, height: 844 });
    if (path.startsWith('#')) await appReady(page, 90000);
    else await page.waitForFunction(() => document.querySelector('policy-lab')?.app?.runs?.[0]?.applied, null, { timeout: 60000 });
    await page.waitForTimeout(500);
    assert.deepEqual(await overflowing(page), [], path);
    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, view: window.innerWidth }));
    assert.ok(widths.scroll <= widths.view, `${path}: page ${widths.scroll} px wide at ${widths.view}`);
    assert.deepEqual(errors.filter((e) => !/favicon/.test(e)), []);
    await page.close();
  }
});

test('At a phone\'s width the playground and the embed page fit: no sideways scrolling', async () => {
  for (const path of ['#algo=grpo&task=addition', 'embed.html#algo=ppo&env_id=Acrobot-v1&controls=learning_rate,ent_coef,seed&hide=export,compare']) {
    const { page, errors } = await openPage(ctx.browser, ctx.url + path, { width: 390, height: 844 });
    await appReady(page, 60000);
    await page.waitForTimeout(500);
    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, view: window.innerWidth }));
    await shot(page, `phone-${path.startsWith('embed') ? 'embed' : 'grpo'}`);
    assert.ok(widths.scroll <= widths.view, `${path}: page ${widths.scroll} px wide at ${widths.view}`);
    assert.deepEqual(errors, []);
    await page.close();
  }
});
