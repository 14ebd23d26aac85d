// DPO in the playground (Debian's Chromium): a run of the `dpo` algorithm generates its preference
// pairs in the worker, trains, and shows DPO's own charts — implicit rewards of the chosen and
// rejected completions, their log-probabilities, the ranking accuracy and the hidden gold reward —
// beside the preference-loss explorer and the gold-reward–KL frontier of every run; charts of other
// algorithms' metrics stay hidden.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST, launch, openPage, shot } from './browser.mjs';

let ctx;
before(async () => { ctx = await launch(); });
after(async () => { await ctx?.browser.close(); await ctx?.server.close(); });

test('DPO: pairs generated and trained in the worker; its charts, not GRPO\'s', async () => {
  const cfg = 'algo=dpo&task=addition&digits=1&dataset_size=64&batch_size=8&max_steps=20&eval_interval=2&heldout_size=8&d_model=16&n_heads=2&n_layers=1&d_mlp=32&seed=1';
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#' + cfg);
  await page.waitForFunction(() => window.policylab?.meta && window.policylab.runs.every((r) => r.applied), null, { timeout: 30000 });
  for (let i = 0; i < 4; ++i) await page.click('[data-testid=step]');
  await page.waitForFunction(() => window.policylab.runs[0].iteration >= 4, null, { timeout: 30000 });
  const margins = await page.evaluate(() => [...window.policylab.runs[0].store.col('margin')]);
  assert.ok(margins.length >= 4 && margins.every(Number.isFinite), JSON.stringify(margins));
  for (const id of ['dpo_rewards', 'dpo_logps', 'dpo_accuracy', 'gold', 'heldout']) {
    await page.waitForSelector(`figure.chart[data-chart=${id}]:not([hidden])`, { timeout: 10000 });
  }
  for (const id of ['reward', 'clip_fraction', 'nothink', 'combo_gap']) {
    assert.ok(await page.locator(`figure.chart[data-chart=${id}]:not([hidden])`).count() === 0, `${id} is hidden`);
  }
  assert.ok(await page.isVisible('[data-panel=pref-explorer]'));
  // The gold-reward–KL frontier: one trajectory (run A), its last point the run's last evaluation.
  await page.waitForSelector('[data-panel=frontier]:not([hidden])', { timeout: 10000 });
  const caption = await page.textContent('[data-testid=frontier-caption]');
  const st = await page.evaluate(() => { const s = window.policylab.runs[0].store; return { gold: s.last('gold_reward'), kl: s.last('kl') }; });
  assert.ok(caption.startsWith(`A: dpo gold ${st.gold.toFixed(3)} at KL ${st.kl.toFixed(3)}`), `${caption} vs ${JSON.stringify(st)}`);
  // A second run (next seed) adds a second trajectory; classroom mode can hide the panel.
  await page.click('[data-testid=compare]');
  await page.waitForFunction(() => window.policylab.runs.length === 2 && window.policylab.runs[1].applied, null, { timeout: 30000 });
  for (let i = 0; i < 2; ++i) await page.click('[data-testid=step]');
  await page.waitForFunction(() => window.policylab.runs[1].iteration >= 2, null, { timeout: 30000 });
  await page.waitForFunction(() => / · B: dpo gold /.test(document.querySelector('[data-testid=frontier-caption]').textContent), null, { timeout: 10000 });
  await shot(page, 'dpo');
  assert.deepEqual(errors, []);
});

test('KTO: unpaired examples trained in the worker; its reference point and the DPO family\'s charts', async () => {
  const cfg = 'algo=kto&task=addition&digits=1&dataset_size=64&batch_size=8&max_steps=20&eval_interval=2&heldout_size=8&d_model=16&n_heads=2&n_layers=1&d_mlp=32&seed=1';
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#' + cfg);
  await page.waitForFunction(() => window.policylab?.meta && window.policylab.runs.every((r) => r.applied), null, { timeout: 30000 });
  for (let i = 0; i < 4; ++i) await page.click('[data-testid=step]');
  await page.waitForFunction(() => window.policylab.runs[0].iteration >= 4, null, { timeout: 30000 });
  const z0 = await page.evaluate(() => [...window.policylab.runs[0].store.col('reference_point')]);
  assert.ok(z0.length >= 4 && z0.every((v) => Number.isFinite(v) && v >= 0), JSON.stringify(z0));
  for (const id of ['kto_reference', 'kto_heldout', 'dpo_rewards', 'dpo_logps', 'gold']) {
    await page.waitForSelector(`figure.chart[data-chart=${id}]:not([hidden])`, { timeout: 10000 });
  }
  // No train-batch pair accuracy: KTO's batches are single examples.
  assert.ok(await page.locator('figure.chart[data-chart=dpo_accuracy]:not([hidden])').count() === 0, 'dpo_accuracy is hidden');
  await page.waitForSelector('[data-panel=frontier]:not([hidden])', { timeout: 10000 });
  assert.match(await page.textContent('[data-testid=frontier-caption]'), /^A: kto gold /);
  // The objective shown is KTO's, printed from its loss expression.
  await page.waitForFunction(() => window.policylab.runs[0].objective && document.querySelector('[data-testid=formula] .katex'), null, { timeout: 30000 });
  assert.match(await page.getAttribute('[data-testid=formula]', 'data-tex'), /z_0/);
  await shot(page, 'kto');
  assert.deepEqual(errors, []);
});

test('A DPO-vs-IPO widget: one <policy-lab> element with compare-loss_type trains both runs, two sliders shown', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + 'examples/embed_dpo_ipo.html');
  await page.waitForFunction(() => {
    const runs = document.querySelector('policy-lab')?.app?.runs;
    return runs?.length === 2 && runs.every((r) => r.applied);
  }, null, { timeout: 30000 });
  const configs = await page.evaluate(() => document.querySelector('policy-lab').app.runs.map((r) => ({ algo: r.applied.algo, loss: r.applied.loss_type, seed: r.applied.seed, n: r.applied.dataset_size })));
  assert.deepEqual(configs, [{ algo: 'dpo', loss: 'sigmoid', seed: 1, n: 256 }, { algo: 'dpo', loss: 'ipo', seed: 1, n: 256 }]);
  // Both start from the shipped SFT model (set-init_from_url): the first held-out evaluation is that
  // model's (about 90% here), where fresh weights score 0.
  await page.locator('policy-lab [data-testid=step]').click();
  await page.waitForFunction(() => document.querySelector('policy-lab').app.runs.every((r) => r.iteration >= 1 && r.store.length >= 1), null, { timeout: 60000 });
  const first = await page.evaluate(() => document.querySelector('policy-lab').app.runs.map((r) => r.store.col('heldout_accuracy')[0]));
  assert.ok(first.every((a) => a > 0.5), `first held-out accuracy ${first}`);
  // Only the two chosen controls are shown.
  const shown = await page.evaluate(() => [...document.querySelector('policy-lab').shadowRoot.querySelectorAll('[data-field]')]
    .filter((e) => !e.hidden && e.offsetParent !== null).map((e) => e.dataset.field));
  assert.deepEqual([...new Set(shown)].sort(), ['beta', 'label_noise']);
  const step = page.locator('policy-lab [data-testid=step]');
  for (let i = 0; i < 2; ++i) await step.click();
  await page.waitForFunction(() => document.querySelector('policy-lab').app.runs.every((r) => r.iteration >= 3), null, { timeout: 60000 });
  assert.match(await page.locator('policy-lab [data-testid=frontier-caption]').textContent(), /A: dpo gold .* · B: dpo gold /);
  await shot(page, 'embed_dpo_ipo');
  assert.deepEqual(errors, []);
});

// A course page one directory below web/dist with one <policy-lab> element: its init_from_url is
// resolved against the element script's directory, where pretrained/ is.
async function coursePage(attrs, setup = async () => {}) {
  const page = await ctx.browser.newPage({ viewport: { width: 1200, height: 1100 } });
  const errors = [], requested = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => { if (r.url().endsWith('.plck')) requested.push(new URL(r.url()).pathname); });
  await setup(page);
  await page.route('**/course/dpo.html', (r) => r.fulfill({ contentType: 'text/html', body:
    '<!doctype html><meta charset="utf-8"><title>DPO lecture</title><link rel="icon" href="data:,"><script type="module" src="../policy-lab.js"></script>' +
    `<policy-lab ${attrs}></policy-lab>` }));
  await page.goto(ctx.url + 'course/dpo.html');
  return { page, errors, requested };
}
const SMALL_DPO = 'algo="dpo" task="addition" set-digits="1" set-dataset_size="64" set-max_steps="20" set-heldout_size="50"';
const shadowTexts = (page, id) => page.evaluate((id) => [...document.querySelector('policy-lab').shadowRoot.querySelectorAll(`[data-testid=${id}]`)].map((e) => e.textContent), id);

test('init_from_url: a missing file and a checkpoint of another model are refused in the page; the right one starts the run', async () => {
  const { page, errors, requested } = await coursePage(`${SMALL_DPO} set-init_from_url="pretrained/no_such.plck"`);
  await page.waitForFunction(() => document.querySelector('policy-lab')?.shadowRoot?.querySelector('[data-testid=error]'), null, { timeout: 90000 });
  let shown = await shadowTexts(page, 'error');
  assert.equal(shown.length, 1, JSON.stringify(shown));
  assert.match(shown[0], /Run A could not start from the checkpoint of init_from_url: .*\/pretrained\/no_such\.plck: HTTP 404/);
  assert.deepEqual(requested, ['/pretrained/no_such.plck']);
  // No trainer from fresh weights stands in for the missing one: nothing to play.
  assert.equal(await page.evaluate(() => document.querySelector('policy-lab').app.runs[0].applied), null);
  assert.ok(await page.locator('policy-lab [data-testid=play]').isDisabled());
  await shot(page, 'init_from_url_missing');

  // A checkpoint of another task and model (a POMO bin-packing policy): the core's mismatch, named.
  await page.evaluate(() => document.querySelector('policy-lab').setAttribute('set-init_from_url', 'pretrained/pomo_binpack3d.plck'));
  await page.waitForFunction(() => /pomo_binpack3d/.test(document.querySelector('policy-lab').shadowRoot.querySelector('[data-testid=error]')?.textContent ?? ''), null, { timeout: 60000 });
  shown = await shadowTexts(page, 'error');
  assert.equal(shown.length, 1, JSON.stringify(shown));
  assert.match(shown[0], /pomo_binpack3d\.plck: .*does not match this run's/);

  // The shipped SFT model: the error goes, and the run starts at that model's accuracy.
  await page.evaluate(() => document.querySelector('policy-lab').setAttribute('set-init_from_url', 'pretrained/sft_addition1.plck'));
  await page.waitForFunction(() => document.querySelector('policy-lab').app.runs[0].applied, null, { timeout: 60000 });
  assert.deepEqual(await shadowTexts(page, 'error'), []);
  await page.locator('policy-lab [data-testid=step]').click();
  await page.waitForFunction(() => document.querySelector('policy-lab').app.runs[0].store?.length >= 1, null, { timeout: 60000 });
  const acc = await page.evaluate(() => document.querySelector('policy-lab').app.runs[0].store.col('heldout_accuracy')[0]);
  assert.ok(acc > 0.5, `first held-out accuracy ${acc}`);
  assert.match((await shadowTexts(page, 'init-from-url'))[0], /starts from the weights of pretrained\/sft_addition1\.plck/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('init_from_url round-trips in the share link (run 1 too), and a link naming no fetchable URL is told so', async () => {
  const cfg = 'algo=dpo&task=addition&seed=1&digits=1&dataset_size=64&max_steps=20&heldout_size=50&init_from_url=pretrained/sft_addition1.plck';
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#' + cfg);
  await page.waitForFunction(() => window.policylab?.meta && window.policylab.runs.every((r) => r.applied), null, { timeout: 60000 });
  await page.click('[data-testid=compare-same-seed]');
  await page.waitForFunction(() => window.policylab.runs.length === 2 && window.policylab.runs[1].applied, null, { timeout: 60000 });
  await page.click('[data-testid=step]');
  await page.waitForFunction(() => window.policylab.runs.every((r) => r.store?.length >= 1), null, { timeout: 60000 });
  const first = await page.evaluate(() => window.policylab.runs.map((r) => r.store.col('heldout_accuracy')[0]));
  assert.ok(first.every((a) => a > 0.5), `first held-out accuracy ${first}`);
  await page.waitForFunction(() => location.hash.includes('1.init_from_url='), null, { timeout: 5000 });
  const link = await page.evaluate(() => location.href);
  const params = new URLSearchParams(new URL(link).hash.slice(1));
  assert.equal(params.get('init_from_url'), 'pretrained/sft_addition1.plck');
  assert.equal(params.get('1.init_from_url'), 'pretrained/sft_addition1.plck');
  // The link opened afresh: both runs start from the file again.
  const again = await openPage(ctx.browser, link);
  await again.page.waitForFunction(() => window.policylab?.meta && window.policylab.runs.length === 2 && window.policylab.runs.every((r) => r.applied), null, { timeout: 60000 });
  await again.page.click('[data-testid=step]');
  await again.page.waitForFunction(() => window.policylab.runs.every((r) => r.store?.length >= 1), null, { timeout: 60000 });
  assert.deepEqual(await again.page.evaluate(() => window.policylab.runs.map((r) => r.store.col('heldout_accuracy')[0])), first);
  assert.equal(await again.page.evaluate(() => location.href), link);
  assert.deepEqual(again.errors, []);
  await again.page.close();
  // Another site's file, protocol-relative or absolute: a shared link must not make its visitors'
  // browsers download (and the core parse) what some other host serves. Named, left out, not fetched.
  for (const evil of ['//evil.example/x.plck', 'https://evil.example/x.plck']) {
    const other = await ctx.browser.newPage();
    const asked = [];
    other.on('request', (r) => { if (r.url().includes('evil.example')) asked.push(r.url()); });
    await other.goto(ctx.url + '#algo=dpo&task=addition&digits=1&init_from_url=' + encodeURIComponent(evil));
    await other.waitForFunction(() => window.policylab?.runs?.[0]?.applied, null, { timeout: 60000 });
    const text = await other.textContent('[data-testid=error]');
    assert.match(text, /init_from_url: ".*evil\.example\/x\.plck" names https?:\/\/evil\.example\/x\.plck, which is not on the playground's own site \(http:\/\/127\.0\.0\.1:\d+\)/, text);
    assert.deepEqual(asked, []);
    assert.equal(await other.evaluate(() => 'init_from_url' in window.policylab.state.runs[0]), false);
    await other.close();
  }
  // A scheme the worker must not fetch: the key is named and left out (the run trains from fresh weights).
  const bad = await openPage(ctx.browser, ctx.url + '#algo=dpo&task=addition&digits=1&init_from_url=javascript:alert(1)');
  await bad.page.waitForSelector('[data-testid=error]', { timeout: 60000 });
  assert.match(await bad.page.textContent('[data-testid=error]'), /init_from_url: must be a checkpoint's path relative to the playground .* or an http\(s\) URL on the playground's own site, got "javascript:alert\(1\)"/);
  await bad.page.close();
  assert.deepEqual(errors, []);
  await page.close();
});

// A checkpoint the server is slow to refuse, asked for together with autoplay (one attribute change):
// the page's Play reaches the worker while it downloads, and waits there. Once the file is refused,
// that Play must find no trainer, not the one made before from other settings (trained under the new
// settings' name while the page says the run has none). Hosted later, the same attributes set again
// start the run: a refused run is not taken for one already running those settings.
test('init_from_url refused while a Play waits: the old trainer does not train; the same link again, once the file is there, starts the run', async () => {
  const sft = readFileSync(join(DIST, 'pretrained', 'sft_addition1.plck'));
  let hosted = false;
  const setup = (page) => page.route('**/pretrained/later.plck', async (route) => {
    if (hosted) { await route.fulfill({ status: 200, contentType: 'application/octet-stream', body: sft }); return; }
    await new Promise((res) => setTimeout(res, 600));
    await route.fulfill({ status: 404, body: 'not here yet' });
  });
  const { page, errors } = await coursePage(`${SMALL_DPO} set-init_from_url="pretrained/sft_addition1.plck"`, setup);
  await page.waitForFunction(() => document.querySelector('policy-lab')?.app?.runs?.[0]?.applied, null, { timeout: 90000 });
  await page.evaluate(() => { const el = document.querySelector('policy-lab'); el.setAttribute('set-init_from_url', 'pretrained/later.plck'); el.setAttribute('autoplay', ''); });
  await page.waitForFunction(() => /later\.plck: HTTP 404/.test(document.querySelector('policy-lab').shadowRoot.querySelector('[data-testid=error]')?.textContent ?? ''), null, { timeout: 60000 });
  await page.waitForTimeout(1500);
  const after = await page.evaluate(() => { const r = document.querySelector('policy-lab').app.runs[0]; return { iteration: r.iteration, playing: r.playing, rows: r.store?.length ?? 0 }; });
  assert.deepEqual(after, { iteration: 0, playing: false, rows: 0 }, 'the previous trainer did not train');
  assert.ok(await page.locator('policy-lab [data-testid=play]').isDisabled());

  hosted = true;
  await page.evaluate(() => document.querySelector('policy-lab').setAttribute('set-init_from_url', 'pretrained/later.plck'));
  await page.waitForFunction(() => { const r = document.querySelector('policy-lab').app.runs[0]; return !r.rejected && !r.failed && r.iteration >= 1; }, null, { timeout: 60000 });
  assert.deepEqual(await shadowTexts(page, 'error'), []);
  const acc = await page.evaluate(() => document.querySelector('policy-lab').app.runs[0].store.col('heldout_accuracy')[0]);
  assert.ok(acc > 0.5, `first held-out accuracy ${acc}: the hosted file's weights`);
  assert.deepEqual(errors, []);
  await page.close();
});

// A checkpoint is a few MB: a file the server says is far larger is refused before it is read.
test('init_from_url: a file larger than the download cap is refused by its size, not as out of memory', async () => {
  const setup = (page) => page.route('**/pretrained/huge.plck', (route) => route.fulfill({
    status: 200, contentType: 'application/octet-stream', headers: { 'content-length': String(200 * 1024 * 1024) }, body: Buffer.alloc(16),
  }));
  const { page } = await coursePage(`${SMALL_DPO} set-init_from_url="pretrained/huge.plck"`, setup);
  await page.waitForFunction(() => document.querySelector('policy-lab')?.shadowRoot?.querySelector('[data-testid=error]'), null, { timeout: 90000 });
  const shown = await shadowTexts(page, 'error');
  assert.match(shown[0], /huge\.plck: larger than 64 MB, the most a checkpoint is downloaded for/, shown[0]);
  assert.doesNotMatch(shown[0], /memory/);
  await page.close();
});
