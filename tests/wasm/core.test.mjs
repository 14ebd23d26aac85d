// The core compiled to WebAssembly, under node: API surface, errors as JS exceptions, viewer bits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCore, thrown } from './helpers.mjs';

const M = await loadCore();
const PPO = JSON.stringify({ algo: 'ppo', env_id: 'CartPole-v1', seed: 1 });

test('schemas: every algorithm, its task kind, every field typed with a default and a doc', () => {
  const schemas = JSON.parse(M.schemas());
  assert.deepEqual(schemas.map((s) => s.algo).sort(), ['a2c', 'dpo', 'grpo', 'kto', 'pomo', 'ppo', 'reinforce', 'reward_model', 'sft']);
  const KIND = { sft: 'sequence', grpo: 'sequence', dpo: 'sequence', kto: 'sequence', reward_model: 'sequence', pomo: 'combo' };
  for (const s of schemas) assert.equal(s.task_kind, KIND[s.algo] ?? 'env', s.algo);
  for (const s of schemas) {
    assert.ok(s.fields.length > 5, s.algo);
    for (const f of s.fields) {
      assert.equal(typeof f.name, 'string');
      assert.ok(['int', 'float', 'bool', 'string', 'int_list'].includes(f.type), `${s.algo}.${f.name}: ${f.type}`);
      assert.ok('default' in f && typeof f.doc === 'string' && typeof f.live === 'boolean', `${s.algo}.${f.name}`);
    }
    const lr = s.fields.find((f) => f.name === 'learning_rate');
    assert.ok(lr && lr.live, `${s.algo}: learning_rate is live`);
  }
  assert.deepEqual(JSON.parse(M.envIds()), ['CartPole-v1', 'Acrobot-v1', 'MountainCar-v0', 'Pendulum-v1', 'MountainCarContinuous-v0']);
  const names = JSON.parse(M.scalarNames());
  for (const k of ['global_step', 'episodic_return_mean', 'policy_loss', 'grad_norm', 'grad_norm_clipped']) assert.ok(names.includes(k), k);
});

test('a bad config raises a JS Error whose message names the field', () => {
  let e = thrown(() => M.Trainer.fromJson(JSON.stringify({ algo: 'ppo', learning_rate: 5 })));
  assert.ok(e instanceof Error);
  assert.equal(e.name, 'ConfigError');
  assert.match(e.message, /learning_rate/);
  assert.match(e.message, /\[0, 1\]/);
  e = thrown(() => M.Trainer.fromJson(JSON.stringify({ algo: 'ppo', clip_coeff: 0.1 })));
  assert.match(e.message, /clip_coeff/);
  e = thrown(() => M.Trainer.fromJson(JSON.stringify({ algo: 'sac' })));
  assert.match(e.message, /algo/);
  e = thrown(() => M.Trainer.fromJson(JSON.stringify({ env_id: 'Pong-v5' })));
  assert.match(e.message, /env_id|Pong/);
  e = thrown(() => M.Trainer.fromJson('{"algo": "ppo",'));
  assert.equal(e.name, 'ConfigError');
  assert.match(e.message, /^invalid JSON: parse error at line 1/);
  // A key given twice and values nested past 64 levels are refused by name (the core's parse_user_json).
  e = thrown(() => M.Trainer.fromJson('{"algo": "ppo", "algo": "a2c"}'));
  assert.equal(e.name, 'ConfigError');
  assert.match(e.message, /the key 'algo' appears twice/);
  e = thrown(() => M.Trainer.fromJson('{"algo": "ppo", "hidden_sizes": ' + '['.repeat(100000) + ']'.repeat(100000) + '}'));
  assert.match(e.message, /nested more than 64 levels deep/);
  e = thrown(() => M.validateConfig(JSON.stringify({ num_envs: 0 })));
  assert.match(e.message, /num_envs/);
  // The module stays usable after errors.
  const t = M.Trainer.fromJson(PPO);
  assert.equal(t.step().length, JSON.parse(M.scalarNames()).length);
  t.delete();
});

test('validateConfig fills every field with its default', () => {
  const full = JSON.parse(M.validateConfig(JSON.stringify({ algo: 'a2c' })));
  const schema = JSON.parse(M.schema('a2c'));
  const fields = Array.isArray(schema) ? schema : schema.fields;
  for (const f of fields) assert.ok(f.name in full, f.name);
  assert.equal(full.algo, 'a2c');
});

test('live hyperparameters change between iterations; others are refused with a message', () => {
  const t = M.Trainer.fromJson(JSON.stringify({ algo: 'ppo', env_id: 'CartPole-v1', seed: 1, anneal_lr: false }));
  t.step();
  t.set('learning_rate', '0.001');
  const names = JSON.parse(M.scalarNames());
  const row = t.step();
  assert.ok(Math.abs(row[names.indexOf('learning_rate')] - 0.001) < 1e-12);
  assert.equal(JSON.parse(t.configJson()).learning_rate, 0.001);
  let e = thrown(() => t.set('gamma', '0.5'));
  assert.match(e.message, /gamma/);
  e = thrown(() => t.set('clip_coef', '-1'));
  assert.match(e.message, /clip_coef/);
  t.delete();
});

test('stepMany returns rows of scalar metrics; per-layer gradients are exposed', () => {
  const t = M.Trainer.fromJson(PPO);
  const cols = JSON.parse(M.scalarNames()).length;
  const rows = t.stepMany(3, 1e9);
  assert.equal(rows.length, 3 * cols);
  const names = JSON.parse(t.layerNames());
  const sizes = JSON.parse(t.layerSizes());
  assert.equal(names.length, sizes.length);
  assert.equal(t.layerGradNorms().length, names.length);
  const g = t.layerGradient(0);
  assert.equal(g.length, sizes[0]);
  assert.ok(g.some((x) => x !== 0));
  assert.ok(sizes.reduce((a, b) => a + b, 0) <= t.numParameters());
  assert.throws(() => t.layerGradient(names.length), /out of range/);
  assert.equal(t.firstNonFinite(), '');
  t.delete();
});

test('the steady-state training loop allocates nothing in wasm either', () => {
  for (const cfg of [{ algo: 'ppo', env_id: 'CartPole-v1', num_steps: 64 },
                     { algo: 'a2c', env_id: 'Pendulum-v1', norm_obs: true, norm_reward: true },
                     { algo: 'reinforce', env_id: 'CartPole-v1', num_steps: 200, norm_obs: true },
                     // Sequence tasks: gradient steps and held-out evaluations (every 2nd step), fixed
                     // and varying sequence lengths.
                     { algo: 'sft', task: 'addition', batch_size: 32, d_model: 32, d_mlp: 64, eval_interval: 2, heldout_size: 40 },
                     { algo: 'sft', task: 'reverse', min_length: 2, batch_size: 16, d_model: 16, n_heads: 2, d_mlp: 32, eval_interval: 2, heldout_size: 20 }]) {
    const t = M.Trainer.fromJson(JSON.stringify({ seed: 1, ...cfg }));
    t.stepMany(3, 1e9);  // warm-up: buffers (and the 3-row metrics batch) reach their size
    const before = M.allocationCount();
    t.stepMany(3, 1e9);
    assert.equal(M.allocationCount() - before, 0, `${cfg.algo} on ${cfg.env_id ?? cfg.task} allocated`);
    t.delete();
  }
});

test('viewer: an env stepped by the policy, policy/value over a grid', () => {
  for (const id of JSON.parse(M.envIds())) {
    const t = M.Trainer.fromJson(JSON.stringify({ algo: 'ppo', env_id: id, seed: 3 }));
    const env = M.Env.make(id);
    const info = JSON.parse(M.envInfo(id));
    let obs = env.reset(5);
    assert.equal(obs.length, t.obsDim());
    t.seedViewer(1);
    for (let k = 0; k < 20; k++) {
      const a = t.act(obs, k % 2 === 0);
      assert.equal(a.length, info.action_space.discrete ? 1 : info.action_space.dim);
      const r = env.step(a);
      assert.equal(typeof r.reward, 'number');
      obs = r.terminated || r.truncated ? env.reset(6) : r.obs;
    }
    assert.equal(env.renderState().length, JSON.parse(env.renderNames()).length);
    const n = 7, grid = new Float32Array(n * t.obsDim());
    const pv = t.policyValue(grid, n);
    assert.equal(pv.action.length, n * t.actionDim());
    assert.equal(pv.value.length, n);
    if (t.discreteActions()) {
      const s = pv.action.slice(0, t.actionDim()).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(s - 1) < 1e-5, `${id}: probabilities sum to 1`);
    }
    assert.throws(() => t.policyValue(new Float32Array(3), 2), /observation/);
    t.delete(); env.delete();
  }
  assert.throws(() => M.Env.make('Nope-v0'), (e) => e.name === 'EnvError' && /Nope-v0/.test(e.message));
});

test('checkpoint round trip in wasm restores the policy and the run position', () => {
  const a = M.Trainer.fromJson(PPO);
  a.step(); a.step();
  const bytes = a.saveBytes();
  assert.ok(bytes instanceof Uint8Array && bytes.length > 1000);
  const b = M.Trainer.fromCheckpoint(bytes);
  assert.equal(b.globalStep(), a.globalStep());
  assert.equal(b.iteration(), a.iteration());
  assert.equal(b.configJson(), a.configJson());
  // Same parameters: identical deterministic and sampled evaluations.
  assert.equal(b.evaluate(3, true, 1), a.evaluate(3, true, 1));
  assert.equal(b.evaluate(3, false, 2), a.evaluate(3, false, 2));
  // Training goes on from there. (The in-flight episodes of the training envs are not part of a
  // checkpoint, so the next iteration is not bit-identical to the uninterrupted run.)
  const rb = b.step();
  assert.equal(rb[JSON.parse(M.scalarNames()).indexOf('iteration')], 3);
  a.delete(); b.delete();
});

test('a corrupt checkpoint raises CheckpointError', () => {
  let e = thrown(() => M.Trainer.fromCheckpoint(new Uint8Array([1, 2, 3, 4])));
  assert.equal(e.name, 'CheckpointError');
  const t = M.Trainer.fromJson(PPO);
  t.step();
  const bytes = t.saveBytes();
  bytes[bytes.length >> 1] ^= 0xff;
  e = thrown(() => M.Trainer.fromCheckpoint(bytes));
  assert.equal(e.name, 'CheckpointError');
  e = thrown(() => M.Trainer.fromCheckpoint(bytes.slice(0, 100)));
  assert.equal(e.name, 'CheckpointError');
  t.delete();
});
