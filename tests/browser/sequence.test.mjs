// The playground on a sequence task (SFT of a tiny transformer) in Debian's Chromium: chosen in the
// page's controls like any algorithm, trained in the worker, with the samples table, the accuracy
// chart, typed prompts and their errors, pause and live changes, the share URL and the
// <policy-lab> element. Screenshots go to test-artifacts/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, openPage, shot } from './browser.mjs';

let ctx;
before(async () => { ctx = await launch(); });
after(async () => { await ctx?.browser.close(); await ctx?.server.close(); });

const appReady = (page) => page.waitForFunction(() => window.policylab?.meta && window.policylab.runs.every((r) => r.applied), null, { timeout: 30000 });

async function setField(page, name, value) {
  const sel = `.field[data-field="${name}"] input, .field[data-field="${name}"] select`;
  if (await page.locator(`.field[data-field="${name}"] select`).count()) await page.selectOption(sel, String(value));
  else { await page.fill(sel, String(value)); await page.press(sel, 'Enter'); }
}
const fields = (page) => page.$$eval('.field[data-field]', (els) => els.map((e) => e.dataset.field));

test('SFT on addition: chosen in the page, trains in the worker; samples, accuracy, prompts, errors, pause', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#algo=ppo&env_id=CartPole-v1&seed=1');
  await appReady(page);
  // Choose the algorithm and the task in the controls generated from the schema.
  await setField(page, 'algo', 'sft');
  assert.ok((await fields(page)).includes('task'));
  assert.ok(!(await fields(page)).includes('env_id'), 'no env for a sequence task');
  await setField(page, 'task', 'sort');
  let shown = await fields(page);
  assert.ok(shown.includes('list_length') && !shown.includes('digits'), 'only the selected task\'s options');
  await setField(page, 'task', 'addition');
  shown = await fields(page);
  assert.ok(shown.includes('digits') && shown.includes('reverse_answer') && !shown.includes('list_length'));
  for (const f of ['d_model', 'n_heads', 'n_layers', 'd_mlp', 'batch_size', 'learning_rate']) assert.ok(shown.includes(f), f);
  await setField(page, 'digits', '2');
  await setField(page, 'batch_size', '64');
  await setField(page, 'eval_interval', '10');
  await setField(page, 'anneal_lr', 'false').catch(async () => { await page.uncheck('.field[data-field="anneal_lr"] input'); });
  await page.click('[data-testid=reset]');
  await page.waitForFunction(() => window.policylab.runs[0].applied?.algo === 'sft' && window.policylab.runs[0].taskKind === 'sequence', null, { timeout: 20000 });
  const applied = await page.evaluate(() => window.policylab.runs[0].applied);
  assert.equal(applied.task, 'addition'); assert.equal(applied.digits, 2); assert.equal(applied.batch_size, 64);
  // Sequence views on, env views off.
  assert.ok(await page.isVisible('[data-panel=samples]'));
  assert.ok(await page.isVisible('[data-panel=prompt]'));
  assert.ok(await page.isHidden('[data-panel=viewer]'));
  assert.ok(await page.isHidden('[data-panel=heatmap]'));
  assert.ok(await page.locator('[data-chart=heldout]').count() === 1 && await page.locator('[data-chart=return]').count() === 0);

  await page.click('[data-testid=play]');
  await page.waitForFunction(() => window.policylab.runs[0].iteration >= 80, null, { timeout: 120000, polling: 250 });
  // Pause mid-run: it stops at the next gradient step.
  await page.click('[data-testid=play]');
  await page.waitForFunction(() => !window.policylab.runs[0].playing, null, { timeout: 10000 });
  const it1 = await page.evaluate(() => window.policylab.runs[0].iteration);
  await page.waitForTimeout(800);
  assert.equal(await page.evaluate(() => window.policylab.runs[0].iteration), it1, 'no steps while paused');
  assert.equal(await page.textContent('[data-testid=play]'), 'Play');
  // The samples table: 8 held-out problems, colored rows, per-token probabilities on hover.
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=samples] tbody tr').length === 8, null, { timeout: 10000 });
  assert.match(await page.textContent('[data-testid=samples-caption]'), /after step \d+ · \d of 8 correct/);
  const rowClasses = await page.$$eval('[data-testid=samples] tbody tr', (rs) => rs.map((r) => r.className));
  assert.ok(rowClasses.every((c) => c === 'ok' || c === 'bad'));
  assert.match(await page.getAttribute('[data-testid=samples] tbody tr .tok', 'title'), /p = \d/);
  // Held-out accuracy and loss: evaluated every 10 steps, drawn.
  const acc = await page.evaluate(() => window.policylab.runs[0].store.col('heldout_accuracy').filter(Number.isFinite));
  assert.ok(acc.length >= it1 - 1 && acc.every((a) => a >= 0 && a <= 1));
  const loss = await page.evaluate(() => window.policylab.runs[0].store.col('train_loss'));
  assert.ok(loss[loss.length - 1] < loss[0], `loss ${loss[0]} -> ${loss[loss.length - 1]}`);
  assert.ok(await page.locator('[data-chart=heldout] canvas').count() > 0);
  assert.match(await page.textContent('[data-chart=heldout] .u-legend'), /A exact/);
  assert.match(await page.textContent('[data-testid=status]'), /held-out \d+\.\d% · loss \d/);
  assert.match(await page.getAttribute('[data-testid=formula]', 'data-tex'), /log \\pi_\\theta/);
  // Per-layer gradients: the transformer's tensors.
  const layers = await page.$$eval('[data-testid=layer] option', (os) => os.map((o) => o.textContent));
  assert.ok(layers.includes('lm.h0.attn.c_attn.weight') && layers.includes('lm.h0.mlp.c_fc.weight') && layers.includes('lm.wte'));
  assert.match(await page.textContent('[data-chart=layer_norms] .u-legend'), /h0\.attn/);

  // A typed prompt: its completion and the top next-token probabilities at each position.
  await page.fill('[data-testid=prompt]', '12+34=');
  await page.press('[data-testid=prompt]', 'Enter');
  await page.waitForSelector('[data-testid=completion]', { timeout: 10000 });
  assert.match(await page.textContent('[data-testid=completion]'), /12\+34=/);
  assert.match(await page.textContent('[data-testid=completion]'), /correct|wrong|malformed/);
  assert.match(await page.textContent('[data-testid=completions]'), /expected 640\./);
  const topRows = await page.$$eval('[data-testid=topk] tbody tr', (rs) => rs.map((r) => r.querySelectorAll('td.alt').length));
  assert.ok(topRows.length >= 1 && topRows.every((n) => n === 5), `top-5 per position: ${topRows}`);
  assert.equal(await page.locator('[data-testid=topk] td.alt.chosen').count(), topRows.length, 'greedy: the chosen token is among the top 5');
  assert.ok(await page.isHidden('[data-testid=complete-error]'));
  await shot(page, 'sft-addition-trained');
  // Sampling several completions.
  await page.uncheck('[data-testid=greedy]');
  await page.fill('[aria-label="Completions to sample"]', '3');
  await page.click('[data-testid=complete]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=completion]').length === 3, null, { timeout: 10000 });
  // A prompt with an unknown token: the core's message, visibly.
  await page.fill('[data-testid=prompt]', '12x+4=');
  await page.click('[data-testid=complete]');
  await page.waitForSelector('[data-testid=complete-error]:visible', { timeout: 10000 });
  assert.match(await page.textContent('[data-testid=complete-error]'), /unknown token 'x' at position 3 in prompt "12x\+4="/);
  assert.equal(await page.locator('[data-testid=completion]').count(), 0);
  assert.equal(await page.getAttribute('[data-testid=prompt]', 'aria-invalid'), '');
  await shot(page, 'sft-prompt-error');
  // A long paste is not cut short: the message gives its real length (it said 64 tokens).
  await page.fill('[data-testid=prompt]', '1'.repeat(500));
  await page.click('[data-testid=complete]');
  await page.waitForFunction(() => /has 500 tokens/.test(document.querySelector('[data-testid=complete-error]').textContent), null, { timeout: 10000 });

  // A live change applies at the next gradient step.
  await setField(page, 'learning_rate', '0.0005');
  await page.waitForFunction(() => window.policylab.runs[0].applied.learning_rate === 0.0005, null, { timeout: 10000 });
  await page.click('[data-testid=step]');
  await page.waitForFunction((n) => window.policylab.runs[0].iteration === n + 1, it1, { timeout: 20000 });
  await page.waitForFunction(() => window.policylab.runs[0].store.last('learning_rate') === 0.0005, null, { timeout: 10000 });
  // A held-out evaluation on demand.
  await page.click('[data-testid=evaluate-sequence]');
  await page.waitForFunction(() => /accuracy \d/.test(document.querySelector('[data-testid=evaluate-result]').textContent), null, { timeout: 30000 });
  assert.match(await page.textContent('[data-testid=evaluate-result]'), /on 256 held-out problems \(drawn with replacement: 2\d\d distinct\) · pass@4/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('sequence share URL: task and task options round trip; an option of another task is refused', async () => {
  const url = ctx.url + '#algo=sft&task=sort&seed=3&list_length=4&d_model=32&learning_rate=0.002&speed=20';
  const { page, errors } = await openPage(ctx.browser, url);
  await appReady(page);
  const applied = await page.evaluate(() => window.policylab.runs[0].applied);
  assert.equal(applied.task, 'sort'); assert.equal(applied.list_length, 4); assert.equal(applied.d_model, 32); assert.equal(applied.seed, 3);
  assert.ok(!('digits' in applied) && !('env_id' in applied));
  assert.equal(await page.inputValue('.field[data-field="list_length"] input'), '4');
  await page.click('[data-testid=step]');
  await page.waitForFunction(() => window.policylab.runs[0].iteration === 1, null, { timeout: 20000 });
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=samples] tbody tr').length > 0, null, { timeout: 10000 });
  assert.match(await page.inputValue('[data-testid=prompt]'), /^\d{4}=$/, 'the box holds an example of the task');
  await setField(page, 'n_layers', '1');
  assert.match(await page.textContent('.field[data-field="n_layers"] .field-msg'), /applies on reset/);
  await page.click('[data-testid=share]');
  const shared = await page.inputValue('[data-testid=share-url]');
  for (const part of ['algo=sft', 'task=sort', 'list_length=4', 'd_model=32', 'n_layers=1', 'learning_rate=0.002', 'speed=20']) assert.ok(shared.includes(part), `${part} in ${shared}`);
  assert.ok(!shared.includes('env_id') && !shared.includes('digits'), shared);
  const state = await page.evaluate(() => JSON.stringify(window.policylab.state));
  const p2 = (await openPage(ctx.browser, shared)).page;
  await appReady(p2);
  assert.equal(await p2.evaluate(() => JSON.stringify(window.policylab.state)), state);
  assert.equal((await p2.evaluate(() => window.policylab.runs[0].applied)).n_layers, 1);
  await p2.close();
  // Exports: the config JSON (what `policylab train` accepts) and a checkpoint that loads in a fresh page.
  const [cfgDl] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-config]')]);
  assert.match(cfgDl.suggestedFilename(), /^policylab-sft-sort\.json$/);
  const cfg = JSON.parse(readFileSync(await cfgDl.path(), 'utf8'));
  assert.equal(cfg.task, 'sort'); assert.equal(cfg.list_length, 4); assert.equal(cfg.n_layers, 1);
  assert.ok('heldout_fraction' in cfg && 'max_steps' in cfg && !('digits' in cfg) && !('env_id' in cfg), 'every field of the run, none of another task');
  const [ckDl] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-ckpt]')]);
  const p3 = (await openPage(ctx.browser, ctx.url)).page;
  await appReady(p3);
  await p3.setInputFiles('[data-testid=upload]', await ckDl.path());
  await p3.waitForFunction(() => window.policylab.runs[0].applied?.task === 'sort', null, { timeout: 20000 });
  assert.match(await p3.textContent('[data-testid=messages]'), /Loaded checkpoint .*sft on sort/);
  await p3.waitForFunction(() => !document.querySelector('[data-panel=samples]').hidden && document.querySelector('[data-panel=viewer]').hidden, null, { timeout: 5000 });
  await p3.waitForFunction(() => window.policylab.runs[0].iteration === 1, null, { timeout: 5000 });
  await p3.close();
  // Switching task keeps the shared fields and drops the old task's options.
  await setField(page, 'task', 'reverse');
  await page.waitForFunction(() => !('list_length' in window.policylab.state.runs[0]) && window.policylab.state.runs[0].d_model === 32, null, { timeout: 5000 });
  await page.click('[data-testid=reset]');
  await page.waitForFunction(() => window.policylab.runs[0].applied?.task === 'reverse', null, { timeout: 20000 });
  assert.deepEqual(errors, []);
  await page.close();
  // An option of another task in a link: a message naming it, and the defaults.
  const bad = (await openPage(ctx.browser, ctx.url + '#algo=sft&task=sort&digits=2')).page;
  await bad.waitForSelector('[data-testid=error]', { timeout: 30000 });
  assert.match(await bad.textContent('[data-testid=messages]'), /digits: not an option of task "sort"/);
  await bad.close();
});

// GRPO's safety settings chain: safety_dual_* apply with safety_method dual, which applies with
// reward_judges true. A link may name them in any order; unticking reward_judges drops the whole chain.
test('GRPO: chained conditions read in dependency order from a link; unticking the root drops the whole chain', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#algo=grpo&task=addition&digits=1&safety_dual_beta=0.5&safety_method=dual&reward_judges=true');
  await page.waitForFunction(() => window.policylab?.meta && window.policylab.state.runs[0].algo === 'grpo', null, { timeout: 30000 });
  assert.equal(await page.locator('[data-testid=error]').count(), 0, await page.textContent('[data-testid=messages]'));
  let run = await page.evaluate(() => window.policylab.state.runs[0]);
  assert.equal(run.reward_judges, true); assert.equal(run.safety_method, 'dual'); assert.equal(run.safety_dual_beta, 0.5);
  await page.evaluate(() => window.policylab.changeField('reward_judges', false));
  run = await page.evaluate(() => window.policylab.state.runs[0]);
  assert.ok(!('safety_method' in run) && !('safety_dual_beta' in run), JSON.stringify(run));
  // The core takes what is left.
  await page.click('[data-testid=reset]');
  await page.waitForFunction(() => window.policylab.runs[0].applied?.reward_judges === false, null, { timeout: 60000 });
  assert.equal(await page.locator('[data-testid=error]').count(), 0, await page.textContent('[data-testid=messages]'));
  assert.deepEqual(errors, []);
  await page.close();
});

test('two runs of different kinds compared: each run gets its kind\'s views when selected', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#algo=sft&task=copy&length=3&batch_size=32&d_model=32&1.algo=ppo&1.env_id=CartPole-v1&1.seed=2');
  await appReady(page);
  assert.ok(await page.isVisible('[data-panel=samples]'));
  await page.click('[data-testid=step]');
  await page.waitForFunction(() => window.policylab.runs.every((r) => r.iteration === 1), null, { timeout: 30000 });
  await page.click('[data-testid=tab-1]');
  await page.waitForFunction(() => document.querySelector('[data-panel=viewer]') && !document.querySelector('[data-panel=viewer]').hidden, null, { timeout: 5000 });
  assert.ok(await page.isHidden('[data-panel=samples]'));
  assert.ok(await page.locator('[data-chart=return]').count() === 1);
  await page.waitForFunction(() => /episode \d+/.test(document.querySelector('[data-panel=viewer] .caption').textContent), null, { timeout: 10000 });
  assert.match(await page.textContent('[data-testid=status]'), /A: it 1 · held-out .*\|.*B: it 1 · 512 steps · return/);
  await page.click('[data-testid=tab-0]');
  await page.waitForFunction(() => !document.querySelector('[data-panel=samples]').hidden, null, { timeout: 5000 });
  assert.ok(await page.isHidden('[data-panel=viewer]'));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=samples] tbody tr').length > 0, null, { timeout: 10000 });
  await shot(page, 'sft-and-ppo-compared');
  assert.deepEqual(errors, []);
  await page.close();
});

test('<policy-lab algo="sft" task="addition">: the element trains a sequence task', async () => {
  const page = await ctx.browser.newPage({ viewport: { width: 1200, height: 1100 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.route('**/sft-element.html', (r) => r.fulfill({ contentType: 'text/html', body:
    '<!doctype html><meta charset="utf-8"><title>sft element</title><script type="module" src="policy-lab.js"></script>' +
    '<h1 style="font:20px sans-serif">Teaching a transformer to add</h1>' +
    '<policy-lab algo="sft" task="addition" set-digits="2" set-batch_size="32" set-eval_interval="5" controls="learning_rate,digits" autoplay></policy-lab>' }));
  await page.goto(ctx.url + 'sft-element.html');
  await page.waitForFunction(() => document.querySelector('policy-lab')?.app?.runs[0]?.applied, null, { timeout: 30000 });
  const applied = await page.evaluate(() => document.querySelector('policy-lab').app.runs[0].applied);
  assert.equal(applied.algo, 'sft'); assert.equal(applied.task, 'addition'); assert.equal(applied.digits, 2);
  await page.waitForFunction(() => document.querySelector('policy-lab').app.runs[0].iteration > 5, null, { timeout: 60000 });
  const root = (sel) => page.evaluate((s) => { const e = document.querySelector('policy-lab').shadowRoot.querySelector(s); return e ? !e.hidden : null; }, sel);
  assert.equal(await root('[data-panel=samples]'), true);
  assert.equal(await root('[data-panel=prompt]'), true);
  assert.equal(await root('[data-panel=viewer]'), false);
  const shownFields = await page.evaluate(() => [...document.querySelector('policy-lab').shadowRoot.querySelectorAll('.field[data-field]')].map((e) => e.dataset.field));
  assert.deepEqual(shownFields.sort(), ['digits', 'learning_rate']);
  await page.waitForFunction(() => document.querySelector('policy-lab').shadowRoot.querySelectorAll('[data-testid=samples] tbody tr').length > 0, null, { timeout: 20000 });
  await page.waitForTimeout(400);
  await page.screenshot({ path: 'test-artifacts/sft-element.png', fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});
