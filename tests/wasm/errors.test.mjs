// Errors from the bindings: a C++ exception is caught in C++ and thrown as a JS Error only after the
// call has returned (wasm/post.js), so no JS exception unwinds a C++ frame and nothing leaks; seeds
// are validated like config fields; the objective is the core's own print of the loss expression.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCore, thrown } from './helpers.mjs';

const M = await loadCore();

test('failing calls leak no memory: the error is thrown after the C++ frame has returned', () => {
  const fail = () => thrown(() => M.validateConfig(JSON.stringify({ algo: 'ppo', learning_rate: 5, note: 'x'.repeat(200) })));
  const t = M.Trainer.fromJson(JSON.stringify({ algo: 'ppo', env_id: 'CartPole-v1', seed: 1 }));
  const failAll = () => {
    fail();
    thrown(() => M.Trainer.fromJson('{"algo": "ppo",'));
    thrown(() => t.set('num_envs', '3'));
    thrown(() => t.evaluate(1, true, -1));
  };
  for (let i = 0; i < 50; i++) failAll();   // warm-up: lazily created statics
  const before = M.heapInUse();
  for (let i = 0; i < 2000; i++) failAll();
  const grown = M.heapInUse() - before;
  assert.ok(grown < 4096, `heap grew by ${grown} bytes over 8000 failed calls`);
  const e = fail();
  assert.equal(e.name, 'ConfigError');
  assert.match(e.message, /learning_rate/);
  // The module and the trainer stay usable, and a success after a failure reports no stale error.
  assert.equal(t.step().length, JSON.parse(t.metricNames()).length);
  assert.ok(JSON.parse(M.validateConfig(JSON.stringify({ algo: 'a2c' }))).algo === 'a2c');
  t.delete();
});

test('a seed that is not an integer in [0, 2^53 - 1] is refused with a message, every entry point', () => {
  const t = M.Trainer.fromJson(JSON.stringify({ algo: 'ppo', env_id: 'CartPole-v1', seed: 1 }));
  const env = M.Env.make('CartPole-v1');
  for (const bad of [-1, 1.5, 2 ** 53, NaN, Infinity]) {
    for (const call of [() => t.evaluate(1, true, bad), () => env.reset(bad), () => t.seedViewer(bad)]) {
      const e = thrown(call);
      assert.equal(e.name, 'ConfigError');
      assert.match(e.message, /^seed must be an integer in \[0, 9007199254740991\], got /, e.message);
    }
  }
  assert.match(thrown(() => t.evaluate(1, true, -1)).message, /got -1$/);
  assert.match(thrown(() => t.evaluate(1, true, 0.25)).message, /got 0\.25$/);
  // The largest exact integer and 0 are accepted.
  assert.equal(env.reset(2 ** 53 - 1).length, 4);
  assert.equal(JSON.parse(t.evaluate(1, true, 0)).episodes, 1);
  const s = M.Trainer.fromJson(JSON.stringify({ algo: 'sft', task: 'addition', digits: 1, max_steps: 2 }));
  assert.match(thrown(() => s.complete('1+2=', 1, 1, 0, 1, true, -3)).message, /^seed must be an integer/);
  assert.match(thrown(() => s.evaluateSequence(4, 0, 1.5)).message, /^seed must be an integer/);
  s.delete(); env.delete(); t.delete();
});

test("the objective is the core's print of the loss expression and follows the config", () => {
  const objective = (c) => {
    const t = M.Trainer.fromJson(JSON.stringify({ env_id: 'CartPole-v1', seed: 1, ...c }));
    const o = JSON.parse(t.objectiveJson());
    t.delete();
    return o;
  };
  const ppo = objective({ algo: 'ppo' });
  assert.match(ppo.text, /\+ vf_coef \* \(0\.5 \* mean\(max\(\(V\(s\) - R\)\^2/);   // the value term's 1/2
  assert.match(ppo.latex, /\\tfrac\{1\}\{2\}/);
  assert.ok(ppo.where_text.includes('clip_coef = 0.2'));
  const withBaseline = objective({ algo: 'reinforce' });
  const without = objective({ algo: 'reinforce', use_baseline: false });
  const all = (o) => [o.text, ...o.where_text].join('\n');
  assert.match(all(withBaseline), /G - V\(s\)/);
  assert.doesNotMatch(all(without), /V\(s\)/);
  assert.notEqual(withBaseline.latex, without.latex);
});
