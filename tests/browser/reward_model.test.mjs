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
