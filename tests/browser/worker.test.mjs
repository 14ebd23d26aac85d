// The playground's objective, layout at 1440 px, and the worker protocol: the objective shown is the
// core's print of the loss expression; it fits its panel; the heatmap's labels are drawn at display
// resolution; evaluate honours its mode and seed; real-time pacing of episodic runs; replies matched
// to their requests by id; a run whose iteration threw is marked failed; the wasm module and KaTeX
// never run on the main thread.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, shot } from './browser.mjs';

let ctx;
before(async () => { ctx = await launch(); });
after(async () => { await ctx?.browser.close(); await ctx?.server.close(); });

const appReady = (page) => page.waitForFunction(() => window.policylab?.meta && window.policylab.runs.every((r) => r.applied), null, { timeout: 30000 });
const objectiveReady = (page) => page.waitForFunction(() => window.policylab.runs[0].objective && document.querySelector('[data-testid=formula] .katex'), null, { timeout: 30000 });
const objective = (page) => page.evaluate(() => {
  const o = window.policylab.runs[0].objective;
  return { text: o.text, latex: o.latex, where: o.where_text.join('\n'), shown: document.querySelector('[data-testid=formula]').dataset.tex };
});

async function setField(page, name, value) {
  const sel = `.field[data-field="${name}"] input, .field[data-field="${name}"] select`;
  if (await page.$(`.field[data-field="${name}"] select`)) await page.selectOption(sel, String(value));
  else if (await page.$(`.field[data-field="${name}"] input[type=checkbox]`)) await page.setChecked(sel, value === true || value === 'true');
  else { await page.fill(sel, String(value)); await page.press(sel, 'Enter'); }
}

test("the objective shown is the core's print of the trainer's loss expression", async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#algo=ppo&env_id=CartPole-v1&seed=1', { width: 1440, height: 900 });
  await appReady(page);
  await objectiveReady(page);
  let o = await objective(page);
  assert.equal(o.shown, o.latex, 'the panel renders the LaTeX the core printed');
  assert.match(o.text, /\+ vf_coef \* \(0\.5 \* mean\(max\(\(V\(s\) - R\)\^2/, 'PPO halves its value loss');
  assert.match(o.latex, /c_V \\cdot \(\\tfrac\{1\}\{2\}/);
  assert.match(o.where, /clip_coef = 0\.2/);
  // A live coefficient change reaches the formula (its where line) without a reset.
  await setField(page, 'clip_coef', '0.3');
  await page.waitForFunction(() => window.policylab.runs[0].objective.where_text.includes('clip_coef = 0.3'), null, { timeout: 10000 });
  assert.match(await page.textContent('[data-testid=formula] .formula-notes'), /0\.3/);
  // REINFORCE: a baseline term only with use_baseline.
  await setField(page, 'algo', 'reinforce');
  await page.click('[data-testid=reset]');
  await page.waitForFunction(() => window.policylab.runs[0].applied?.algo === 'reinforce' && window.policylab.runs[0].objective, null, { timeout: 20000 });
  o = await objective(page);
  assert.match(o.text + o.where, /G - V\(s\)/);
  const withBaseline = o.shown;
  await setField(page, 'use_baseline', 'false');
  await page.click('[data-testid=reset]');
  await page.waitForFunction(() => window.policylab.runs[0].applied?.use_baseline === false && window.policylab.runs[0].objective, null, { timeout: 20000 });
  o = await objective(page);
  assert.doesNotMatch(o.text + o.where, /V\(s\)|b\(s\)/);
  assert.notEqual(o.shown, withBaseline, 'the shown formula follows use_baseline');
  assert.equal(o.shown, o.latex);
  assert.deepEqual(errors, []);
  await page.close();
});

test('at 1440 px the objective fits its panel and the heatmap is drawn at display resolution', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#algo=ppo&env_id=CartPole-v1&seed=1', { width: 1440, height: 900 });
  await appReady(page);
  await objectiveReady(page);
  await page.waitForFunction(() => window.policylab.runs[0].iteration === 0 && document.querySelector('[data-testid=heat-value]'), null, { timeout: 10000 });
  await page.click('[data-testid=step]');
  await page.waitForTimeout(1500);
  const fit = await page.evaluate(() => {
    const panel = document.querySelector('[data-panel=formula]').getBoundingClientRect();
    const boxes = [...document.querySelectorAll('[data-testid=formula] .formula-main, [data-testid=formula] .formula-notes li')];
    return {
      vw: document.documentElement.clientWidth, panelRight: panel.right, pageScroll: document.documentElement.scrollWidth,
      overflowing: boxes.filter((b) => b.scrollWidth > b.clientWidth + 1).map((b) => `${b.className || 'where'}: ${b.scrollWidth} > ${b.clientWidth}`),
      outside: boxes.filter((b) => b.getBoundingClientRect().right > panel.right + 0.5).length,
    };
  });
  assert.ok(fit.panelRight <= fit.vw, `formula panel ends at ${fit.panelRight} of ${fit.vw}`);
  assert.equal(fit.pageScroll, fit.vw, 'no horizontal page scroll');
  assert.deepEqual(fit.overflowing, [], 'the formula wraps inside its panel');
  assert.equal(fit.outside, 0);
  // The heatmaps' backing stores match their displayed size (x devicePixelRatio): text is neither
  // scaled down nor pixelated.
  const heat = await page.$$eval('[data-testid=heat-policy], [data-testid=heat-value]', (cs) =>
    cs.map((c) => ({ w: c.width, h: c.height, cw: c.clientWidth, ch: c.clientHeight, dpr: devicePixelRatio })));
  assert.equal(heat.length, 2);
  for (const c of heat) {
    assert.equal(c.w, Math.round(c.cw * c.dpr), JSON.stringify(c));
    assert.equal(c.h, Math.round(c.ch * c.dpr), JSON.stringify(c));
  }
  await shot(page, 'layout-1440');
  const panel = await page.$('[data-panel=formula]');
  await panel.screenshot({ path: 'test-artifacts/layout-1440-objective.png' });
  await (await page.$('[data-panel=heatmap]')).screenshot({ path: 'test-artifacts/layout-1440-heatmap.png' });
  assert.deepEqual(errors, []);
  await page.close();
});

test('evaluate honours the requested mode and seed, and refuses a bad seed', async () => {
  const { page } = await openPage(ctx.browser, ctx.url + '#algo=ppo&env_id=CartPole-v1&seed=4');
  await appReady(page);
  const r = await page.evaluate(async () => {
    const run = window.policylab.runs[0];
    const ev = async (det, seed) => (await run.evaluate(6, det, seed)).returns;
    const out = { det1: await ev(true, 1), det2: await ev(true, 2), sto1: await ev(false, 1), sto1b: await ev(false, 1), sto2: await ev(false, 2) };
    try { await run.evaluate(2, true, -1); out.bad = 'accepted'; } catch (e) { out.bad = `${e.name}: ${e.message}`; }
    try { await run.evaluate(2, true, 0.5); out.frac = 'accepted'; } catch (e) { out.frac = `${e.name}: ${e.message}`; }
    return out;
  });
  assert.deepEqual(r.sto1, r.sto1b, 'same mode and seed: same episodes');
  assert.notDeepEqual(r.sto1, r.sto2, 'another seed: other episodes');
  assert.notDeepEqual(r.det1, r.sto1, 'sampled actions differ from the mode');
  assert.match(r.bad, /^ConfigError: seed must be an integer in \[0, 9007199254740991\], got -1$/);
  assert.match(r.frac, /got 0\.5$/);
  await page.close();
});

test('real-time speed paces REINFORCE by the env steps of its episodes (num_steps 0 = time limit)', async () => {
  const { page } = await openPage(ctx.browser, ctx.url + '#algo=reinforce&env_id=CartPole-v1&seed=1&speed=rt');
  await appReady(page);
  await page.click('[data-testid=play]');
  await page.waitForFunction(() => window.policylab.runs[0].iteration >= 1, null, { timeout: 20000 });
  const t0 = Date.now();
  await page.waitForTimeout(2000);
  const { steps, numEnvs } = await page.evaluate(() => ({ steps: window.policylab.runs[0].globalStep, numEnvs: window.policylab.runs[0].applied.num_envs }));
  const seconds = (Date.now() - t0) / 1000 + 1;   // + the time before the first iteration was seen
  await page.click('[data-testid=play]');
  // Real time: each env's steps at CartPole's 50 steps/s, plus at most one iteration (500 steps) ahead.
  // An upper bound only, so a slow machine cannot fail it; unpaced, this is thousands of steps per env.
  const perEnv = steps / numEnvs;
  assert.ok(perEnv <= 50 * seconds + 500, `${perEnv.toFixed(0)} steps per env in ${seconds.toFixed(1)} s at real-time speed`);
  await page.close();
});

test('replies are matched to their requests: a checkpoint load racing a Reset resolves with its own config', async () => {
  const { page } = await openPage(ctx.browser, ctx.url + '#algo=ppo&env_id=Pendulum-v1&seed=3&num_steps=64&num_minibatches=2');
  await appReady(page);
  const r = await page.evaluate(async () => {
    const run = window.policylab.runs[0];
    const { bytes } = await run.save();
    // The Reset's configure is sent first, so its 'configured' reply arrives before the load's.
    const reset = run.configure({ algo: 'a2c', env_id: 'CartPole-v1', seed: 9 });
    const loaded = await run.load(bytes);
    const resetTo = await reset;
    return { loaded: loaded.env_id, loadedAlgo: loaded.algo, reset: resetTo.env_id, final: run.applied.env_id };
  });
  assert.equal(r.loaded, 'Pendulum-v1');
  assert.equal(r.loadedAlgo, 'ppo');
  assert.equal(r.reset, 'CartPole-v1');
  assert.equal(r.final, 'Pendulum-v1', 'the load came last, so its trainer is the one in force');
  await page.close();
});

test('an exception in the middle of an iteration marks the run failed, says why, disables Play and offers Reset', async () => {
  const page = await ctx.browser.newPage({ viewport: { width: 1440, height: 900 } });
  // Fault injection: the worker's trainer.step() call throws when the test asks (as a C++ exception
  // thrown through the bindings does: an Error named after the C++ error kind).
  await page.route('**/assets/worker-*.js', async (route) => {
    const resp = await route.fetch();
    const body = await resp.text();
    assert.equal(body.split('.step()').length, 2, 'one trainer.step() call in the worker');
    await route.fulfill({ response: resp, body: body.replace('.step()', '.step(...(self.__plFault?.() ?? []))') });
  });
  await page.goto(ctx.url + '#algo=ppo&env_id=CartPole-v1&seed=1');
  await appReady(page);
  await page.click('[data-testid=step]');
  await page.waitForFunction(() => window.policylab.runs[0].iteration === 1, null, { timeout: 20000 });
  const [worker] = page.workers();
  await worker.evaluate(() => { self.__plFault = () => { const e = new Error('CartPole-v1: invalid action 7'); e.name = 'EnvError'; throw e; }; });
  await page.click('[data-testid=play]');
  await page.waitForSelector('[data-testid=error]:has-text("failed at iteration")', { timeout: 20000 });
  const text = await page.textContent('[data-testid=messages]');
  assert.match(text, /Run A failed at iteration 1: EnvError: CartPole-v1: invalid action 7/);
  assert.match(text, /press Reset/);
  assert.ok(await page.isDisabled('[data-testid=play]'), 'Play is disabled');
  assert.ok(await page.isDisabled('[data-testid=step]'), 'Step is disabled');
  assert.ok(await page.isEnabled('[data-testid=reset]'), 'Reset is offered');
  assert.match(await page.textContent('[data-testid=status]'), /\(failed\)/);
  assert.equal(await page.evaluate(() => window.policylab.runs[0].playing), false);
  await shot(page, 'failed-run');
  // The worker refuses to continue the half-updated trainer even if asked directly.
  const it = await page.evaluate(() => window.policylab.runs[0].iteration);
  await worker.evaluate(() => { self.__plFault = undefined; });
  await page.evaluate(() => window.policylab.runs[0].step());
  await page.waitForTimeout(500);
  assert.equal(await page.evaluate(() => window.policylab.runs[0].iteration), it);
  // Reset replaces it: Play is back and training continues.
  await page.click('[data-testid=reset]');
  await page.waitForFunction(() => !window.policylab.runs[0].failed && window.policylab.runs[0].applied, null, { timeout: 20000 });
  assert.ok(await page.isEnabled('[data-testid=play]'));
  await page.click('[data-testid=step]');
  await page.waitForFunction(() => window.policylab.runs[0].iteration === 1, null, { timeout: 20000 });
  await page.close();
});

test('the wasm module and KaTeX never run on the main thread (playground and <policy-lab>)', async () => {
  // Records every WebAssembly compile/instantiate on the page's main thread (workers have their own
  // WebAssembly object, untouched).
  const probe = () => {
    window.__wasmCalls = [];
    for (const k of ['compile', 'compileStreaming', 'instantiate', 'instantiateStreaming', 'validate']) {
      const f = WebAssembly[k];
      if (f) WebAssembly[k] = function (...a) { window.__wasmCalls.push(k); return f.apply(this, a); };
    }
    for (const k of ['Module', 'Instance']) {
      const C = WebAssembly[k];
      WebAssembly[k] = new Proxy(C, { construct(t, a) { window.__wasmCalls.push(k); return Reflect.construct(t, a); } });
    }
  };
  for (const [path, ready] of [['#algo=ppo&env_id=CartPole-v1&seed=1', () => window.policylab?.runs?.[0]?.objective],
    ['examples/embed.html', () => document.querySelector('policy-lab')?.app?.runs?.[0]?.applied]]) {
    const page = await ctx.browser.newPage();
    await page.addInitScript(probe);
    const scripts = [];
    page.on('response', async (r) => { if (r.url().endsWith('.js') && !/worker-/.test(r.url())) scripts.push(await r.text()); });
    await page.goto(ctx.url + path);
    await page.waitForFunction(ready, null, { timeout: 30000 });
    await page.waitForTimeout(300);
    assert.deepEqual(await page.evaluate(() => window.__wasmCalls), [], `${path}: no WebAssembly on the main thread`);
    assert.ok(page.workers().length >= 1, `${path}: the core runs in a worker`);
    if (!path.startsWith('examples')) {
      // The playground's main-thread scripts carry no KaTeX renderer: the worker renders the objective.
      assert.ok(scripts.length > 0);
      assert.ok(scripts.every((s) => !s.includes('KaTeX parse error')), 'no KaTeX in the main-thread bundle');
    }
    await page.close();
  }
});
