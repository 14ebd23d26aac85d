// Reward models in the playground (Debian's Chromium): a `reward_model` run (an ensemble of two)
// generates its preference pairs in the worker, trains, and shows the reward-model charts — the
// learned rewards of chosen and rejected completions, held-out ranking against the hidden gold
// reward, the ensemble's disagreement — while DPO's charts (implicit rewards, log-probs, win rate) stay hidden.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, shot } from './browser.mjs';

let ctx;
before(async () => { ctx = await launch(); });
after(async () => { await ctx?.browser.close(); await ctx?.server.close(); });

test('reward_model: an ensemble trained in the worker; its charts, not DPO\'s', async () => {
  const cfg = 'algo=reward_model&task=addition&digits=1&dataset_size=64&batch_size=8&max_steps=20&eval_interval=2&heldout_size=8&num_reward_models=2&d_model=16&n_heads=2&n_layers=1&d_mlp=32&seed=1';
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#' + cfg);
  await page.waitForFunction(() => window.policylab?.meta && window.policylab.runs.every((r) => r.applied), null, { timeout: 30000 });
  for (let i = 0; i < 4; ++i) await page.click('[data-testid=step]');
  await page.waitForFunction(() => window.policylab.runs[0].iteration >= 4, null, { timeout: 30000 });
  const gold = await page.evaluate(() => [...window.policylab.runs[0].store.col('heldout_gold_accuracy')]);
  assert.ok(gold.length >= 4 && gold.every(Number.isFinite), JSON.stringify(gold));
  const spread = await page.evaluate(() => [...window.policylab.runs[0].store.col('ensemble_std')]);
  assert.ok(spread.every((x) => Number.isFinite(x) && x > 0), JSON.stringify(spread));
  for (const id of ['rm_loss', 'rm_rewards', 'rm_gold_accuracy', 'rm_spread', 'dpo_accuracy']) {
    await page.waitForSelector(`figure.chart[data-chart=${id}]:not([hidden])`, { timeout: 10000 });
  }
  for (const id of ['dpo_rewards', 'dpo_logps', 'gold', 'reward', 'proxy_gold']) {
    assert.ok(await page.locator(`figure.chart[data-chart=${id}]:not([hidden])`).count() === 0, `${id} is hidden`);
  }
  await shot(page, 'reward_model');
  assert.deepEqual(errors, []);
});

test('RLHF in the page: run B (GRPO) trains against run A\'s reward model; proxy, gold and KL, the gold column, the frontier', async () => {
  const tiny = 'task=addition&digits=1&d_model=16&n_heads=2&n_layers=1&d_mlp=32&heldout_size=8&eval_interval=2&max_steps=60';
  const a = `algo=reward_model&${tiny}&dataset_size=64&batch_size=8&seed=1`;
  const b = `1.algo=grpo&${tiny.split('&').map((kv) => '1.' + kv).join('&')}&1.batch_size=4&1.num_generations=4&1.seed=1`;
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#' + a + '&' + b + '&sel=1');
  await page.waitForFunction(() => window.policylab?.meta && window.policylab.runs.length === 2 && window.policylab.runs.every((r) => r.applied), null, { timeout: 30000 });
  // The row offers run A's reward model to the selected GRPO run.
  await page.waitForSelector('[data-testid=reward-model-row]:not([hidden]) [data-testid=reward-model-run-A]', { timeout: 10000 });
  for (let i = 0; i < 3; ++i) await page.click('[data-testid=step]');
  // Both runs done with the clicked steps, so none of them is still in flight when run B restarts.
  await page.waitForFunction(() => window.policylab.runs.every((r) => r.iteration >= 3), null, { timeout: 30000 });
  await page.click('[data-testid=reward-model-run-A]');
  await page.waitForFunction(() => /^\/reward_models\//.test(String(window.policylab.runs[1].applied?.reward_model ?? '')), null, { timeout: 30000 });
  assert.equal(await page.evaluate(() => window.policylab.runs[1].iteration), 0, 'the run restarted');
  for (let i = 0; i < 3; ++i) await page.click('[data-testid=step]');
  await page.waitForFunction(() => window.policylab.runs[1].iteration >= 3, null, { timeout: 30000 });
  const cols = await page.evaluate(() => {
    const s = window.policylab.runs[1].store;
    return { proxy: [...s.col('proxy_reward')], gold: [...s.col('gold_reward')], kl: [...s.col('kl_ref')] };
  });
  assert.ok(cols.proxy.length >= 3 && cols.proxy.every(Number.isFinite), JSON.stringify(cols));
  assert.ok(cols.gold.every(Number.isFinite) && cols.kl.every(Number.isFinite), JSON.stringify(cols));
  // The training groups show the hidden gold reward beside the proxy.
  await page.waitForSelector('[data-testid=groups] th[data-col=gold]:not([hidden])', { timeout: 10000 });
  assert.ok(await page.locator('[data-testid=groups] td[data-col=gold]').count() > 0);
  await page.waitForFunction(() => / · B: grpo gold /.test(document.querySelector('[data-testid=frontier-caption]')?.textContent ?? '')
    || /B: grpo gold /.test(document.querySelector('[data-testid=frontier-caption]')?.textContent ?? ''), null, { timeout: 10000 });
  // A file that is not a reward model is refused with a message naming the problem.
  await page.setInputFiles('[data-testid=reward-model-file]', { name: 'notes.ckpt', mimeType: 'application/octet-stream', buffer: Buffer.from('not a checkpoint') });
  await page.waitForFunction(() => /Could not train against notes\.ckpt/.test(document.body.textContent), null, { timeout: 10000 });
  await shot(page, 'rlhf');
  assert.deepEqual(errors, []);
});
