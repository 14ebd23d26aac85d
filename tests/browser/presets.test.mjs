// Presets in the playground: a link naming only the env gets that env's tuned preset (not CartPole's
// hyperparameters), the page says which preset is in force, the user's own settings survive a task
// change and win over the new preset, and the share URL carries only the user's settings.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { addLab, launch, openPage, shot } from './browser.mjs';

let ctx;
before(async () => { ctx = await launch(); });
after(async () => { await ctx?.browser.close(); await ctx?.server.close(); });

const appReady = (page) => page.waitForFunction(() => window.policylab?.meta && window.policylab.runs.every((r) => r.applied), null, { timeout: 30000 });
const inputOf = (name) => `.field[data-field="${name}"] input, .field[data-field="${name}"] select`;

async function setField(page, name, value) {
  await page.fill(inputOf(name), String(value));
  await page.press(inputOf(name), 'Enter');
}

test('?env_id=Pendulum-v1 applies the Pendulum preset and says so', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '?env_id=Pendulum-v1');
  await appReady(page);
  const preset = await page.evaluate(() => window.policylab.meta.presets.find((p) => p.name === 'ppo/Pendulum-v1').values);
  // The trainer runs with the preset's values, not the schema's CartPole defaults (γ 0.99, lr 2.5e-4, no normalisation).
  const applied = await page.evaluate(() => window.policylab.runs[0].applied);
  assert.equal(applied.env_id, 'Pendulum-v1');
  for (const name of ['gamma', 'learning_rate', 'num_steps', 'num_minibatches', 'update_epochs', 'ent_coef', 'norm_obs', 'norm_reward', 'total_timesteps']) {
    assert.deepEqual(applied[name], preset[name], `${name} comes from the preset`);
  }
  assert.equal(applied.gamma, 0.9);
  assert.equal(applied.norm_obs, true);
  // The controls show the preset's values.
  assert.equal(await page.inputValue(inputOf('gamma')), '0.9');
  assert.equal(await page.inputValue(inputOf('learning_rate')), '0.001');
  // The notice names the preset and its expected result; nothing is overridden yet.
  const notice = page.locator('[data-testid=preset]');
  assert.match(await notice.textContent(), /preset ppo\/Pendulum-v1 in force — expected: /);
  assert.match(await page.textContent('[data-testid=preset-overrides]'), /no field changed from the preset/);
  // The share URL keeps only what the user chose: algo, env, seed — not the preset's values.
  await page.waitForFunction(() => location.hash.includes('env_id=Pendulum-v1'), null, { timeout: 5000 });
  const hash = await page.evaluate(() => location.hash);
  assert.doesNotMatch(hash, /gamma|learning_rate|norm_obs/);
  await shot(page, 'preset-pendulum');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a user-set field survives a task change and wins over the new preset', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + '#algo=ppo&env_id=CartPole-v1&seed=1');
  await appReady(page);
  assert.match(await page.textContent('[data-testid=preset]'), /preset ppo\/CartPole-v1 in force/);
  await setField(page, 'learning_rate', '0.002');
  await page.waitForFunction(() => window.policylab.runs[0].applied.learning_rate === 0.002, null, { timeout: 10000 });
  assert.match(await page.textContent('[data-testid=preset-overrides]'), /learning_rate \(preset 0\.00025\)/);
  // Choose another env: its preset applies to every field the user did not set.
  await page.selectOption(inputOf('env_id'), 'Pendulum-v1');
  await page.waitForFunction(() => document.querySelector('[data-testid=preset]')?.textContent.includes('ppo/Pendulum-v1'), null, { timeout: 5000 });
  assert.equal(await page.inputValue(inputOf('learning_rate')), '0.002', 'the user-set learning rate survives');
  assert.equal(await page.inputValue(inputOf('gamma')), '0.9', "the new preset's gamma");
  assert.match(await page.textContent('[data-testid=preset-overrides]'), /your settings win: learning_rate \(preset 0\.001\)/);
  assert.ok(await page.locator('.field.overridden[data-field="learning_rate"]').count() === 1, 'the control is marked as set');
  await page.click('[data-testid=reset]');
  await page.waitForFunction(() => window.policylab.runs[0].applied.env_id === 'Pendulum-v1', null, { timeout: 10000 });
  const applied = await page.evaluate(() => window.policylab.runs[0].applied);
  assert.equal(applied.learning_rate, 0.002);
  assert.equal(applied.gamma, 0.9);
  assert.equal(applied.num_steps, 512);
  // The link carries the user's setting; opening it re-applies the preset under it.
  await page.waitForFunction(() => location.hash.includes('learning_rate=0.002') && location.hash.includes('env_id=Pendulum-v1'), null, { timeout: 5000 });
  const hash = await page.evaluate(() => location.hash);
  assert.doesNotMatch(hash, /gamma/);
  const again = (await openPage(ctx.browser, ctx.url + hash)).page;
  await appReady(again);
  const reopened = await again.evaluate(() => window.policylab.runs[0].applied);
  assert.equal(reopened.learning_rate, 0.002);
  assert.equal(reopened.gamma, 0.9);
  await again.close();
  // Another algorithm: its own preset for the same env, the user's field still kept.
  await page.selectOption(inputOf('algo'), 'a2c');
  await page.waitForFunction(() => document.querySelector('[data-testid=preset]')?.textContent.includes('a2c/Pendulum-v1'), null, { timeout: 5000 });
  assert.equal(await page.inputValue(inputOf('learning_rate')), '0.002');
  assert.equal(await page.inputValue(inputOf('num_steps')), '8', "a2c's Pendulum preset");
  await shot(page, 'preset-override');
  assert.deepEqual(errors, []);
  await page.close();
});

test('<policy-lab env="Pendulum-v1"> gets the Pendulum preset; set- attributes win', async () => {
  const { page, errors } = await openPage(ctx.browser, ctx.url + 'examples/embed.html');
  await addLab(page, 'preset-test', [['env', 'Pendulum-v1'], ['set-learning_rate', '0.0005']]);
  await page.waitForFunction(() => document.getElementById('preset-test')?.app?.runs?.[0]?.applied, null, { timeout: 30000 });
  const applied = await page.evaluate(() => document.getElementById('preset-test').app.runs[0].applied);
  assert.equal(applied.gamma, 0.9);
  assert.equal(applied.norm_obs, true);
  assert.equal(applied.learning_rate, 0.0005);
  const text = await page.evaluate(() => document.getElementById('preset-test').shadowRoot.querySelector('[data-testid=preset]').textContent);
  assert.match(text, /preset ppo\/Pendulum-v1 in force/);
  assert.match(text, /learning_rate \(preset 0\.001\)/);
  assert.deepEqual(errors.filter((e) => !/favicon/.test(e)), []);
  await page.close();
});
