// End-to-end tests of the playground in Debian's Chromium (playwright-core, no downloaded browser).
// The built web/dist is served on a loopback port by the test itself. Screenshots go to
// test-artifacts/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { addLab, launch, openPage, shot } from './browser.mjs';

let ctx;
before(async () => { ctx = await launch(); });
after(async () => { await ctx?.browser.close(); await ctx?.server.close(); });

const appReady = (page) => page.waitForFunction(() => window.policylab?.meta && window.policylab.runs.every((r) => r.applied), null, { timeout: 30000 });
const hashOf = (page) => page.evaluate(() => location.hash.slice(1));

async function setField(page, name, value) {
  const sel = `.field[data-field="${name}"] input, .field[data-field="${name}"] select`;
  await page.fill(sel, String(value));
  await page.press(sel, 'Enter');
}

test('PPO on CartPole trains past a return of 200; pause stops it', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#algo=ppo&env_id=CartPole-v1&seed=1');
  await appReady(page);
  await page.click('[data-testid=play]');
  await page.waitForFunction(() => window.policylab.meanReturn(0) > 200, null, { timeout: 180000, polling: 500 });
  const ret = await page.evaluate(() => window.policylab.meanReturn(0));
  await page.click('[data-testid=play]');                 // now "Pause"
  await page.waitForFunction(() => !window.policylab.runs[0].playing, null, { timeout: 10000 });
  const it1 = await page.evaluate(() => window.policylab.runs[0].iteration);
  await page.waitForTimeout(800);
  const it2 = await page.evaluate(() => window.policylab.runs[0].iteration);
  assert.equal(it2, it1, 'no iterations while paused');
  assert.equal(await page.textContent('[data-testid=play]'), 'Play');
  // Charts, viewer, map, histogram and formula are drawn.
  assert.ok(await page.locator('[data-chart=return] canvas').count() > 0);
  assert.match(await page.textContent('.caption'), /episode \d+/);
  assert.ok((await page.getAttribute('[data-testid=formula]', 'data-tex')).includes('clip'));
  await shot(page, 'trained-cartpole');
  console.log(`# return after training: ${ret.toFixed(1)} at iteration ${it2}`);
  assert.deepEqual(errors, []);
  // Step runs exactly one iteration.
  await page.click('[data-testid=step]');
  await page.waitForFunction((n) => window.policylab.runs[0].iteration === n + 1, it2, { timeout: 10000 });
  await page.close();
});

test('hyperparameters: live change applies at the next iteration, others on reset, bad input is refused', async () => {
  const { page } = await openPage(ctx.browser, ctx.url + '#algo=ppo&env_id=CartPole-v1&seed=2&anneal_lr=false');
  await appReady(page);
  await page.click('[data-testid=step]');
  await setField(page, 'learning_rate', '0.001');
  await page.waitForFunction(() => window.policylab.runs[0].applied.learning_rate === 0.001, null, { timeout: 10000 });
  assert.match(await page.textContent('.field[data-field="learning_rate"] .field-msg'), /next iteration/);
  await page.click('[data-testid=step]');
  await page.waitForFunction(() => window.policylab.runs[0].store.last('learning_rate') === 0.001, null, { timeout: 10000 });
  // The share URL follows (written shortly after a change).
  await page.waitForFunction(() => location.hash.includes('learning_rate=0.001'), null, { timeout: 5000 });
  // Not live: waits for Reset.
  await setField(page, 'gamma', '0.95');
  assert.match(await page.textContent('.field[data-field="gamma"] .field-msg'), /applies on reset/);
  assert.equal(await page.evaluate(() => window.policylab.runs[0].applied.gamma), 0.99);
  await page.click('[data-testid=reset]');
  await page.waitForFunction(() => window.policylab.runs[0].applied.gamma === 0.95, null, { timeout: 10000 });
  // Out of range: a message naming the field; nothing applied.
  await setField(page, 'clip_coef', '50');
  const msg = await page.textContent('.field[data-field="clip_coef"] .field-msg');
  assert.match(msg, /clip_coef/);
  assert.equal(await page.getAttribute('.field[data-field="clip_coef"] input', 'aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => window.policylab.runs[0].applied.clip_coef), 0.2);
  await shot(page, 'hyperparameters');
  await page.close();
});

test('share URL round trip reproduces the setup', async () => {
  const { page } = await openPage(ctx.browser, ctx.url);
  await appReady(page);
  await page.selectOption('.field[data-field="algo"] select', 'a2c');
  await page.click('[data-testid=reset]');
  await page.waitForFunction(() => window.policylab.runs[0].applied.algo === 'a2c', null, { timeout: 10000 });
  await setField(page, 'seed', '7');
  await setField(page, 'learning_rate', '0.002');
  await page.selectOption('[data-testid=speed]', '5');
  await page.click('[data-testid=share]');
  const url = await page.inputValue('[data-testid=share-url]');
  assert.match(url, /algo=a2c/);
  assert.match(url, /seed=7/);
  assert.match(url, /learning_rate=0.002/);
  assert.match(url, /speed=5/);
  const state = await page.evaluate(() => JSON.stringify(window.policylab.state));
  const p2 = (await openPage(ctx.browser, url)).page;
  await appReady(p2);
  assert.equal(await p2.evaluate(() => JSON.stringify(window.policylab.state)), state);
  assert.equal(await p2.inputValue('.field[data-field="learning_rate"] input'), '0.002');
  const applied = await p2.evaluate(() => window.policylab.runs[0].applied);
  assert.equal(applied.algo, 'a2c'); assert.equal(applied.seed, 7); assert.equal(applied.learning_rate, 0.002);
  await page.close(); await p2.close();
});

test('compare two runs side by side', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#algo=ppo&env_id=CartPole-v1&seed=1');
  await appReady(page);
  await page.click('[data-testid=compare]');
  await page.waitForFunction(() => window.policylab.runs.length === 2 && window.policylab.runs[1].applied, null, { timeout: 30000 });
  // Make run B different: an A2C run.
  await page.click('[data-testid=tab-1]');
  await page.selectOption('.field[data-field="algo"] select', 'a2c');
  await page.click('[data-testid=reset]');
  await page.waitForFunction(() => window.policylab.runs[1].applied?.algo === 'a2c', null, { timeout: 10000 });
  await page.click('[data-testid=play]');
  await page.waitForFunction(() => window.policylab.runs.every((r) => r.globalStep > 20000), null, { timeout: 120000, polling: 500 });
  await page.click('[data-testid=play]');
  await page.waitForFunction(() => location.hash.includes('1.algo=a2c'), null, { timeout: 5000 });
  const hash = await hashOf(page);
  assert.match(hash, /1\.seed=2/);
  // "+ Same seed": a copy on the selected run's seed, so two configurations differ only by their settings.
  await page.click('[data-testid=tab-0]');
  await page.click('[data-testid=compare-same-seed]');
  await page.waitForFunction(() => window.policylab.runs.length === 3 && window.policylab.runs[2].applied, null, { timeout: 30000 });
  assert.equal(await page.evaluate(() => window.policylab.runs[2].applied.seed), 1);
  assert.equal(await page.evaluate(() => window.policylab.runs[2].applied.algo), 'ppo');
  const legend = await page.textContent('[data-chart=return] .u-legend');
  assert.match(legend, /A return/);
  assert.match(legend, /B return/);
  assert.equal(await page.locator('[role=tab]').count(), 3);
  await page.waitForTimeout(400);
  await shot(page, 'compare-two-runs');
  // The CSV export has both runs.
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('[data-export=csv]')]);
  const csv = readFileSync(await dl.path(), 'utf8').trim().split('\n');
  assert.match(csv[0], /^run,algo,env_id,seed,iteration,global_step/);
  assert.ok(csv.some((l) => l.startsWith('A,ppo')) && csv.some((l) => l.startsWith('B,a2c')));
  // The charts PNG carries each chart's legend (every run's series as a line in its colour and dash,
  // then its label) and its x axis label: what is drawn into the export (a canvas outside the page) is recorded.
  await page.evaluate(() => {
    window.__drawn = { text: [], lines: [] };
    const P = CanvasRenderingContext2D.prototype, fillText = P.fillText, stroke = P.stroke;
    P.fillText = function (t, ...a) { window.__drawn.text.push(String(t)); return fillText.call(this, t, ...a); };
    P.stroke = function (...a) { if (!this.canvas.isConnected) window.__drawn.lines.push({ color: String(this.strokeStyle), dash: this.getLineDash().join(',') }); return stroke.apply(this, a); };
  });
  const [png] = await Promise.all([page.waitForEvent('download'), page.click('[data-export=png]')]);
  assert.match(png.suggestedFilename(), /\.png$/);
  await png.saveAs('test-artifacts/charts-export.png');
  const drawn = await page.evaluate(() => window.__drawn);
  // (run C, just added, has no metrics yet: it is in no chart)
  for (const label of ['A return', 'B return', 'A mean(10)', 'env steps']) assert.ok(drawn.text.includes(label), `the PNG shows "${label}"`);
  const colors = new Set(drawn.lines.map((l) => l.color));
  for (const c of ['#1f77b4', '#d62728']) assert.ok(colors.has(c), `a legend line in run colour ${c}`);
  assert.ok(drawn.lines.some((l) => l.dash !== ''), 'a dashed series keeps its dash in the legend');
  assert.deepEqual(errors, []);
  await page.close();
});

test('removing a run keeps the selected run selected', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#algo=ppo&env_id=CartPole-v1&seed=1&1.algo=a2c&1.env_id=CartPole-v1&1.seed=2&2.algo=reinforce&2.env_id=CartPole-v1&2.seed=3');
  await appReady(page);
  await page.click('[data-testid=tab-1]');
  // Removing run A (before the selected one): the a2c run, now first, stays selected.
  await page.click('[aria-label="Remove run A"]');
  await page.waitForFunction(() => window.policylab.runs.length === 2, null, { timeout: 10000 });
  assert.equal(await page.evaluate(() => window.policylab.state.view.sel), 0);
  assert.equal(await page.evaluate(() => window.policylab.state.runs[0].algo), 'a2c');
  assert.equal(await page.getAttribute('[data-testid=tab-0]', 'aria-selected'), 'true');
  assert.match(await page.textContent('[data-testid=tab-0]'), /a2c/);
  assert.equal(await page.inputValue('.field[data-field="algo"] select'), 'a2c');
  // Removing a run after the selected one leaves the selection alone.
  await page.click('[aria-label="Remove run B"]');
  await page.waitForFunction(() => window.policylab.runs.length === 1, null, { timeout: 10000 });
  assert.equal(await page.evaluate(() => window.policylab.state.runs[0].algo), 'a2c');
  assert.deepEqual(errors, []);
  await page.close();
});

test('exports: config JSON and checkpoint download, then checkpoint upload', async () => {
  const { page } = await openPage(ctx.browser, ctx.url + '#algo=ppo&env_id=Pendulum-v1&seed=3');
  await appReady(page);
  await page.click('[data-testid=step]');
  await page.waitForFunction(() => window.policylab.runs[0].iteration === 1, null, { timeout: 20000 });
  const [cfgDl] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-config]')]);
  const cfg = JSON.parse(readFileSync(await cfgDl.path(), 'utf8'));
  assert.equal(cfg.env_id, 'Pendulum-v1');
  assert.ok('clip_coef' in cfg && 'hidden_sizes' in cfg, 'every field explicit');
  const [ckDl] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-ckpt]')]);
  const ckPath = await ckDl.path();
  const p2 = (await openPage(ctx.browser, ctx.url)).page;
  await appReady(p2);
  await p2.setInputFiles('[data-testid=upload]', ckPath);
  await p2.waitForFunction(() => window.policylab.runs[0].applied?.env_id === 'Pendulum-v1', null, { timeout: 20000 });
  assert.match(await p2.textContent('[data-testid=messages]'), /Loaded checkpoint/);
  assert.equal(await p2.evaluate(() => window.policylab.runs[0].globalStep), await page.evaluate(() => window.policylab.runs[0].globalStep));
  // A file that is not a checkpoint: a clear message, the page keeps working.
  await p2.setInputFiles('[data-testid=upload]', { name: 'junk.plck', mimeType: 'application/octet-stream', buffer: Buffer.from('not a checkpoint') });
  await p2.waitForSelector('[data-testid=error]:has-text("junk.plck")', { timeout: 10000 });
  await page.close(); await p2.close();
});

test('a bad or tampered URL: each bad key is named and left out, the valid settings are kept', async () => {
  const { page } = await openPage(ctx.browser, ctx.url + '#algo=ppo&learning_rate=banana&clip_coef=99&bogus=1&speed=warp&gamma=0.95&x=time');
  await page.waitForSelector('[data-testid=error]', { timeout: 30000 });
  const text = await page.textContent('[data-testid=messages]');
  assert.match(text, /left out/);
  assert.match(text, /learning_rate/);
  assert.match(text, /clip_coef/);
  assert.match(text, /bogus/);
  assert.match(text, /speed/);
  await appReady(page);
  const applied = await page.evaluate(() => window.policylab.runs[0].applied);
  assert.equal(applied.learning_rate, 0.00025);
  assert.equal(applied.gamma, 0.95, 'a valid setting beside bad ones is kept');
  assert.equal(await page.evaluate(() => window.policylab.state.view.x), 'time');
  assert.equal(await hashOf(page), 'algo=ppo&env_id=CartPole-v1&seed=1&gamma=0.95&x=time');
  await shot(page, 'bad-url');
  // Still usable.
  await page.click('[data-testid=step]');
  await page.waitForFunction(() => window.policylab.runs[0].iteration === 1, null, { timeout: 20000 });
  await page.close();
});

test('a bad link typed into the address bar of a live session: the bad key is named, the running run is kept', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#algo=a2c&env_id=Acrobot-v1&seed=1&speed=5');
  await appReady(page);
  await page.click('[data-testid=play]');
  await page.waitForFunction(() => window.policylab.runs[0].iteration >= 3, null, { timeout: 30000 });
  const id = await page.evaluate(() => window.policylab.runs[0].id);
  // One bad value: named; the others (the same run) apply, so the run keeps training where it is.
  await page.evaluate(() => { location.hash = '#algo=a2c&env_id=Acrobot-v1&seed=1&speed=5&learning_rate=5'; });
  await page.waitForSelector('[data-testid=error]:has-text("learning_rate")', { timeout: 10000 });
  const it = await page.evaluate(() => window.policylab.runs[0].iteration);
  await page.waitForFunction((n) => window.policylab.runs[0].iteration > n, it, { timeout: 30000 });
  const kept = await page.evaluate(() => ({ id: window.policylab.runs[0].id, algo: window.policylab.runs[0].applied.algo, env: window.policylab.runs[0].applied.env_id, playing: window.policylab.playing }));
  assert.deepEqual(kept, { id, algo: 'a2c', env: 'Acrobot-v1', playing: true });
  assert.ok(it >= 3, `the run was not restarted (iteration ${it})`);
  // A link whose run cannot be built (an unknown algorithm): nothing of it applies, the address bar
  // shows the session again.
  await page.evaluate(() => { location.hash = '#algo=bogus&env_id=CartPole-v1&speed=max'; });
  await page.waitForSelector('[data-testid=error]:has-text("cannot be used")', { timeout: 10000 });
  assert.match(await page.textContent('[data-testid=messages]'), /algo: must be one of: .*got "bogus"/);
  await page.waitForFunction(() => location.hash.includes('algo=a2c'), null, { timeout: 5000 });
  const after = await page.evaluate(() => ({ algo: window.policylab.state.runs[0].algo, speed: window.policylab.state.view.speed, it: window.policylab.runs[0].iteration }));
  assert.equal(after.algo, 'a2c'); assert.equal(after.speed, '5'); assert.ok(after.it > it);
  // A good link still applies.
  await page.evaluate(() => { location.hash = '#algo=ppo&env_id=CartPole-v1&seed=3'; });
  await page.waitForFunction(() => window.policylab.runs[0].applied?.algo === 'ppo' && window.policylab.runs[0].applied.seed === 3, null, { timeout: 20000 });
  assert.equal(await page.locator('[data-testid=error]').count(), 0, 'the old link\'s complaints are gone');
  assert.deepEqual(errors, []);
  await page.close();
});

test('share links: gaps in run numbers, bad booleans, unknown hide names, repeated keys and map dimensions are reported', async () => {
  const { page } = await openPage(ctx.browser, ctx.url + '#algo=ppo&seed=4&seed=5&3.algo=a2c&det=yes&autoplay=maybe&hide=heatmap,bogus_panel&hx=9&hy=1');
  await appReady(page);
  const text = await page.textContent('[data-testid=messages]');
  assert.match(text, /run 3: runs are numbered .* there is no run 1/);
  assert.match(text, /det: must be 1, true, 0, false .*got "yes"/);
  assert.match(text, /autoplay: .*got "maybe"/);
  assert.match(text, /hide: nothing is named "bogus_panel"/);
  assert.match(text, /seed: given 2 times; the last \("5"\) is used/);
  assert.match(text, /hx: CartPole-v1 has 4 observation dimensions/);
  const st = await page.evaluate(() => window.policylab.state);
  assert.equal(st.runs.length, 1, 'no default runs are made up for the gap');
  assert.equal(st.runs[0].seed, 5);
  assert.equal(st.view.det, false); assert.equal(st.view.autoplay, false);
  assert.equal(st.view.hy, 1, 'a valid map dimension beside a bad one is kept');
  assert.equal(await page.evaluate(() => window.policylab.playing), false);
  assert.ok(await page.isHidden('[data-panel=heatmap]'));
  await page.close();
  // One map dimension given, equal to the other's default: the pair the map would use is refused.
  const only = await openPage(ctx.browser, ctx.url + '#algo=ppo&hy=2');
  await appReady(only.page);
  assert.match(await only.page.textContent('[data-testid=messages]'), /hx, hy: the map's x and y must be different dimensions, got 2 for both \(hx 2 is the default\)/);
  const v = await only.page.evaluate(() => window.policylab.state.view);
  assert.deepEqual([v.hx, v.hy], [2, 3]);
  await only.page.close();
});

test('a live link changing one run restarts only that run: the other keeps playing', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#algo=a2c&env_id=CartPole-v1&seed=1&1.algo=a2c&1.env_id=CartPole-v1&1.seed=2&speed=5');
  await appReady(page);
  await page.click('[data-testid=play]');
  await page.waitForFunction(() => window.policylab.runs.every((r) => r.iteration >= 3), null, { timeout: 30000 });
  const ids = await page.evaluate(() => window.policylab.runs.map((r) => r.id));
  await page.evaluate(() => { location.hash = '#algo=a2c&env_id=CartPole-v1&seed=1&1.algo=a2c&1.env_id=CartPole-v1&1.seed=3&speed=5'; });
  await page.waitForFunction(() => window.policylab.runs[1].applied?.seed === 3, null, { timeout: 20000 });
  const it = await page.evaluate(() => window.policylab.runs[0].iteration);
  // Run A, unchanged, trains on; run B, restarted, waits for Play (no autoplay).
  await page.waitForFunction((n) => window.policylab.runs[0].iteration > n + 2, it, { timeout: 30000 });
  const st = await page.evaluate(() => ({ ids: window.policylab.runs.map((r) => r.id), a: window.policylab.runs[0].playing, b: window.policylab.runs[1].playing, bIt: window.policylab.runs[1].iteration, playing: window.policylab.playing }));
  assert.deepEqual(st, { ids, a: true, b: false, bIt: 0, playing: true });
  assert.equal(await page.textContent('[data-testid=play]'), 'Pause');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a diverging run stops itself and names the non-finite metric', async () => {
  const { page } = await openPage(ctx.browser, ctx.url + '#algo=ppo&env_id=CartPole-v1&learning_rate=1&max_grad_norm=0&optimizer=sgd&vf_coef=100');
  await appReady(page);
  await page.click('[data-testid=play]');
  await page.waitForSelector('[data-testid=error]:has-text("diverged")', { timeout: 30000 });
  const text = await page.textContent('[data-testid=messages]');
  assert.match(text, /(grad_norm|value_loss|policy_loss|entropy|approx_kl\w*|explained_variance)\S* became NaN or infinite/);
  await page.waitForFunction(() => !window.policylab.runs[0].playing && window.policylab.runs[0].diverged, null, { timeout: 10000 });
  assert.equal(await page.textContent('[data-testid=play]'), 'Play');
  await shot(page, 'diverged');
  await page.close();
});

test('a worker that fails to load shows a message instead of a blank page', async () => {
  const page = await ctx.browser.newPage();
  await page.route('**/assets/worker-*.js', (r) => r.abort());
  await page.goto(ctx.url);
  await page.waitForSelector('[data-testid=error]', { timeout: 30000 });
  assert.match(await page.textContent('[data-testid=messages]'), /Could not start training/);
  assert.ok(await page.isDisabled('[data-testid=play]'));
  await shot(page, 'worker-failed');
  await page.close();
});

test('embed page: classroom mode shows only the chosen controls', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + 'embed.html#algo=ppo&env_id=CartPole-v1&controls=learning_rate,clip_coef&hide=export,gradients&autoplay=1', { width: 1100, height: 900 });
  await appReady(page);
  const fields = await page.$$eval('.field[data-field]', (els) => els.map((e) => e.dataset.field));
  // In the list's order (the schema has clip_coef's group, loss, before learning_rate's).
  assert.deepEqual(fields, ['learning_rate', 'clip_coef']);
  assert.ok(await page.isHidden('[data-panel=export]'));
  assert.ok(await page.isHidden('[data-panel=gradients]'));
  await page.waitForFunction(() => window.policylab.runs[0].iteration > 2, null, { timeout: 30000 });
  await shot(page, 'embed-classroom');
  assert.deepEqual(errors, []);
  await page.close();
});

test('examples/embed.html: the <policy-lab> element and the iframe embed', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + 'examples/embed.html', { width: 1200, height: 1000 });
  // Ready: the controls are built (a task after the core's metadata arrives).
  await page.waitForFunction(() => document.querySelector('policy-lab')?.app?.meta && document.querySelector('policy-lab').shadowRoot.querySelector('.field[data-field]'), null, { timeout: 30000 });
  const fields = await page.evaluate(() => [...document.querySelector('policy-lab').shadowRoot.querySelectorAll('.field[data-field]')].map((e) => e.dataset.field));
  assert.deepEqual(fields.sort(), ['clip_coef', 'learning_rate']);
  // autoplay: it trains by itself.
  await page.waitForFunction(() => document.querySelector('policy-lab').app.runs[0].iteration > 2, null, { timeout: 30000 });
  const frame = page.frameLocator('#frame');
  await frame.locator('.field[data-field="ent_coef"]').waitFor({ timeout: 30000 });
  assert.equal(await frame.locator('.field[data-field]').count(), 3);
  await page.waitForTimeout(500);
  await shot(page, 'examples-embed');
  assert.deepEqual(errors, []);
  await page.close();
});

test('<policy-lab> renders the objective with KaTeX\'s stylesheet and fonts, as the playground does', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + 'examples/embed_dpo_ipo.html', { width: 1200, height: 1000 });
  await addLab(page, 'formula-test', [['algo', 'ppo'], ['hide', 'heatmap']]);
  await page.waitForFunction(() => document.getElementById('formula-test')?.shadowRoot?.querySelector('[data-testid=formula] .katex'), null, { timeout: 30000 });
  const looks = await page.evaluate(async () => {
    const root = document.getElementById('formula-test').shadowRoot;
    const k = root.querySelector('[data-testid=formula] .katex');
    const vlist = root.querySelector('[data-testid=formula] .vlist-t');
    const loaded = await document.fonts.load('16px KaTeX_Main');
    return { family: getComputedStyle(k).fontFamily, vlist: vlist && getComputedStyle(vlist).display, fontsLoaded: loaded.length };
  });
  // KaTeX's own font and layout rules apply inside the shadow root (without them its spans stack
  // up as plain text), and the fonts load (their @font-face rules live in the document).
  assert.match(looks.family, /KaTeX_Main/);
  assert.equal(looks.vlist, 'inline-table');
  assert.ok(looks.fontsLoaded > 0, 'the KaTeX_Main font face loads');
  await page.locator('#formula-test [data-panel=formula]').screenshot({ path: 'test-artifacts/element-formula.png' });
  assert.deepEqual(errors.filter((e) => !/favicon/.test(e)), []);
  await page.close();
});

test('<policy-lab> with a bad view attribute names it and keeps the others', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + 'examples/embed_dpo_ipo.html');
  await addLab(page, 'bad-attr',
    [['env', 'Acrobot-v1'], ['algo', 'a2c'], ['speed', '10'], ['set-learning_rate', '0.001'], ['controls', 'learning_rate,gamma']]);
  await page.waitForFunction(() => document.getElementById('bad-attr')?.app?.runs?.[0]?.applied, null, { timeout: 30000 });
  const got = await page.evaluate(() => {
    const el = document.getElementById('bad-attr');
    return { applied: el.app.runs[0].applied, msgs: el.shadowRoot.querySelector('[data-testid=messages]').textContent,
      fields: [...el.shadowRoot.querySelectorAll('.field[data-field]')].map((e) => e.dataset.field) };
  });
  assert.match(got.msgs, /speed: must be one of: .*got "10"/);
  assert.equal(got.applied.algo, 'a2c'); assert.equal(got.applied.env_id, 'Acrobot-v1'); assert.equal(got.applied.learning_rate, 0.001);
  assert.deepEqual(got.fields, ['learning_rate', 'gamma']);
  assert.deepEqual(errors.filter((e) => !/favicon/.test(e)), []);
  await page.close();
});

test('<policy-lab> follows attribute changes: view attributes at once, run settings by reconfiguring', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + 'examples/embed_dpo_ipo.html');
  await addLab(page, 'live-attrs', [['env', 'CartPole-v1'], ['algo', 'ppo'], ['speed', '5']]);
  const lab = (f) => page.evaluate(f);
  await page.waitForFunction(() => document.getElementById('live-attrs')?.app?.runs?.[0]?.applied, null, { timeout: 30000 });
  await page.click('#live-attrs [data-testid=step]');
  await page.waitForFunction(() => document.getElementById('live-attrs').app.runs[0].iteration === 1, null, { timeout: 20000 });
  // View attributes: no restart.
  await lab(() => { const el = document.getElementById('live-attrs'); el.setAttribute('speed', 'max'); el.setAttribute('controls', 'learning_rate'); });
  await page.waitForFunction(() => document.getElementById('live-attrs').app.state.view.speed === 'max', null, { timeout: 10000 });
  await page.waitForFunction(() => [...document.getElementById('live-attrs').shadowRoot.querySelectorAll('.field[data-field]')].map((e) => e.dataset.field).join() === 'learning_rate', null, { timeout: 10000 });
  assert.equal(await page.inputValue('#live-attrs [data-testid=speed]'), 'max');
  assert.equal(await lab(() => document.getElementById('live-attrs').app.runs[0].iteration), 1, 'the run was not restarted');
  // Run settings: the run is reconfigured as a new element's would be.
  await lab(() => document.getElementById('live-attrs').setAttribute('env', 'Acrobot-v1'));
  await page.waitForFunction(() => document.getElementById('live-attrs').app.runs[0].applied?.env_id === 'Acrobot-v1', null, { timeout: 20000 });
  await lab(() => document.getElementById('live-attrs').setAttribute('algo', 'a2c'));
  await page.waitForFunction(() => document.getElementById('live-attrs').app.runs[0].applied?.algo === 'a2c', null, { timeout: 20000 });
  assert.equal(await lab(() => document.getElementById('live-attrs').app.runs[0].applied.env_id), 'Acrobot-v1');
  // A second run to compare, and autoplay: both train.
  await lab(() => { const el = document.getElementById('live-attrs'); el.setAttribute('compare-seed', '2'); el.setAttribute('autoplay', ''); });
  await page.waitForFunction(() => { const rs = document.getElementById('live-attrs').app.runs; return rs.length === 2 && rs[1].applied?.seed === 2 && rs.every((r) => r.iteration > 2); }, null, { timeout: 60000 });
  // Attributes the element does not read (a page's class, style, id or data-* toggles) leave it
  // alone: a setting edited in the controls, not in the attributes, keeps its trainer and its training.
  await lab(() => { const el = document.getElementById('live-attrs'); el.setAttribute('autoplay', 'false'); });
  await page.waitForFunction(() => !document.getElementById('live-attrs').app.state.view.autoplay, null, { timeout: 10000 });
  await lab(() => document.getElementById('live-attrs').app.pause());
  await lab(() => { const app = document.getElementById('live-attrs').app; app.select(0); app.changeField('gamma', 0.95); });
  await page.click('#live-attrs [data-testid=reset]');
  await page.waitForFunction(() => document.getElementById('live-attrs').app.runs[0].applied?.gamma === 0.95, null, { timeout: 20000 });
  await page.click('#live-attrs [data-testid=step]');
  await page.waitForFunction(() => document.getElementById('live-attrs').app.runs[0].iteration === 1, null, { timeout: 20000 });
  await lab(() => { const el = document.getElementById('live-attrs'); el.classList.add('highlight'); el.style.outline = '1px solid red'; el.dataset.slide = '3'; el.title = 'PPO'; });
  await page.waitForTimeout(1000);
  const kept = await lab(() => { const app = document.getElementById('live-attrs').app; return { it: app.runs[0].iteration, gamma: app.state.runs[0].gamma, applied: app.runs[0].applied.gamma }; });
  assert.deepEqual(kept, { it: 1, gamma: 0.95, applied: 0.95 });
  // A bad attribute value: named, and the element keeps its runs.
  await lab(() => document.getElementById('live-attrs').setAttribute('algo', 'bogus'));
  await page.waitForFunction(() => /cannot be used/.test(document.getElementById('live-attrs').shadowRoot.querySelector('[data-testid=messages]').textContent), null, { timeout: 10000 });
  assert.equal(await lab(() => document.getElementById('live-attrs').app.runs[0].applied.algo), 'a2c');
  assert.deepEqual(errors.filter((e) => !/favicon/.test(e)), []);
  await page.close();
});
