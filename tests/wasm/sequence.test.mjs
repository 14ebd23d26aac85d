// Sequence tasks in the core compiled to WebAssembly, under node: the task registry, SFT training
// with its own metric columns, typed-prompt completions, the live samples table, held-out
// evaluation, kind errors and checkpoints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCore, thrown } from './helpers.mjs';

const M = await loadCore();
// A small model so that a few steps take well under a second.
const SFT = { algo: 'sft', task: 'addition', digits: 2, seed: 1, batch_size: 32, d_model: 32, n_heads: 4, n_layers: 1, d_mlp: 64, eval_interval: 5, heldout_size: 64 };
const make = (extra = {}) => M.Trainer.fromJson(JSON.stringify({ ...SFT, ...extra }));
// Timings differ between two runs of the same config.
const TIMING = new Set(['wall_s', 'sps', 'tokens_per_s']);

test('tasks: listTasks and describeTask give each task its vocabulary, options and an example', () => {
  const tasks = JSON.parse(M.listTasks());
  assert.deepEqual(tasks.map((t) => t.id), ['addition', 'sort', 'reverse', 'copy', 'countdown']);
  for (const t of tasks) {
    assert.ok(t.vocabulary.startsWith('_.'), `${t.id}: PAD and EOS first`);
    assert.equal(t.vocabulary.length, t.vocab_size);
    assert.ok(t.max_prompt_length > 0 && t.max_completion_length > 0);
    assert.ok(t.example.prompt.length > 0 && t.example.reference.endsWith('.'), t.id);
    for (const f of t.fields) assert.ok(f.name in t.options, `${t.id}.${f.name}`);
  }
  const two = JSON.parse(M.describeTask('addition', JSON.stringify({ digits: 2 })));
  assert.equal(two.options.digits, 2);
  assert.equal(two.example.prompt.length, 6);   // "12+34="
  assert.deepEqual(JSON.parse(M.describeTask('sort', '')).options, tasks[1].options);
  let e = thrown(() => M.describeTask('addition', JSON.stringify({ digits: 99 })));
  assert.equal(e.name, 'TaskError');
  assert.match(e.message, /digits/);
  e = thrown(() => M.describeTask('multiply', '{}'));
  assert.equal(e.name, 'TaskError');
  assert.match(e.message, /unknown task 'multiply'.*addition/);
});

test('sft trains in wasm: its metric columns include held-out accuracy, and the loss falls', () => {
  const t = make();
  assert.equal(t.taskKind(), 'sequence');
  assert.equal(t.taskName(), 'addition');
  const names = JSON.parse(t.metricNames());
  const fixed = JSON.parse(M.scalarNames());
  assert.deepEqual(names.slice(0, fixed.length), fixed, 'the fixed columns first');
  for (const k of ['train_loss', 'token_accuracy', 'heldout_accuracy', 'heldout_partial', 'heldout_well_formed', 'tokens_per_s']) assert.ok(names.includes(k), k);
  const col = (row, k) => row[names.indexOf(k)];
  const first = t.step();
  assert.equal(first.length, names.length);
  assert.equal(col(first, 'iteration'), 1);
  assert.ok(col(first, 'heldout_accuracy') >= 0 && col(first, 'heldout_accuracy') <= 1, 'evaluated at the first step');
  assert.ok(Number.isFinite(col(first, 'train_loss')));
  assert.equal(col(first, 'policy_loss'), col(first, 'train_loss'));
  const rows = t.stepMany(29, 1e9);
  assert.equal(rows.length, 29 * names.length);
  const last = rows.subarray(28 * names.length);
  assert.equal(col(last, 'iteration'), 30);
  assert.equal(t.iteration(), 30);
  assert.ok(col(last, 'train_loss') < 0.8 * col(first, 'train_loss'), `loss ${col(first, 'train_loss')} -> ${col(last, 'train_loss')}`);
  assert.ok(col(last, 'global_step') > col(first, 'global_step'));
  assert.equal(t.firstNonFinite(), '');
  // Per-layer gradients: the transformer's tensors.
  const layers = JSON.parse(t.layerNames());
  for (const n of ['lm.wte', 'lm.h0.attn.c_attn.weight', 'lm.h0.mlp.c_fc.weight', 'lm.lm_head.weight']) assert.ok(layers.includes(n), n);
  assert.equal(t.layerGradNorms().length, layers.length);
  assert.equal(t.layerGradient(layers.indexOf('lm.h0.attn.c_attn.weight')).length, JSON.parse(t.layerSizes())[layers.indexOf('lm.h0.attn.c_attn.weight')]);
  // The learning rate is live.
  t.set('learning_rate', '0.0005');
  assert.equal(JSON.parse(t.configJson()).learning_rate, 0.0005);
  assert.match(thrown(() => t.set('d_model', '16')).message, /d_model/);
  t.delete();
});

test('complete(): well-formed JSON with per-token top probabilities; greedy is deterministic', () => {
  const t = make();
  t.stepMany(10, 1e9);
  const r = JSON.parse(t.complete('12+34=', 3, 1.0, 0, 1.0, false, 7));
  assert.equal(r.prompt, '12+34=');
  assert.equal(r.reference, '640.');   // reversed answer (46 -> "640") and EOS
  assert.equal(r.completions.length, 3);
  for (const c of r.completions) {
    assert.equal(typeof c.completion, 'string');
    assert.equal(c.steps.map((s) => s.token).join(''), c.completion);
    assert.equal(c.length, c.completion.length);
    assert.equal(c.reward, c.correct ? 1 : 0);
    assert.ok(c.partial >= 0 && c.partial <= 1);
    assert.equal(typeof c.well_formed, 'boolean');
    assert.equal(c.finished, c.completion.endsWith('.'));
    for (const s of c.steps) {
      assert.ok(s.p > 0 && s.p <= 1, `p ${s.p}`);
      assert.equal(s.top.length, 5);
      for (let j = 1; j < s.top.length; j++) assert.ok(s.top[j - 1].p >= s.top[j].p, 'top tokens sorted');
      const sum = s.top.reduce((a, x) => a + x.p, 0);
      assert.ok(sum <= 1 + 1e-5);
    }
  }
  const g1 = t.complete('12+34=', 1, 1.0, 0, 1.0, true, 1), g2 = t.complete('12+34=', 1, 1.0, 0, 1.0, true, 99);
  assert.equal(g1, g2, 'greedy does not depend on the seed');
  const greedy = JSON.parse(g1).completions[0];
  for (const s of greedy.steps) assert.equal(s.token, s.top[0].token, 'greedy picks the most likely token');
  assert.equal(t.complete('12+34=', 2, 0.7, 3, 0.9, false, 5), t.complete('12+34=', 2, 0.7, 3, 0.9, false, 5), 'same seed, same samples');
  t.delete();
});

test('a bad prompt or sampling option throws the core message as a JS Error', () => {
  const t = make();
  let e = thrown(() => t.complete('12x+4=', 1, 1, 0, 1, true, 1));
  assert.equal(e.name, 'TaskError');
  assert.match(e.message, /unknown token 'x'/);
  assert.match(e.message, /12x\+4=/);
  assert.match(e.message, /vocabulary: 0123456789\+=/);
  e = thrown(() => t.complete('1234+5678=', 1, 1, 0, 1, true, 1));
  assert.equal(e.name, 'TaskError');
  assert.ok(e.message.length > 10, e.message);
  e = thrown(() => t.complete('12+34=', 0, 1, 0, 1, true, 1));
  assert.match(e.message, /number of completions/);
  e = thrown(() => t.complete('12+34=', 1, 0, 0, 1, false, 1));
  assert.match(e.message, /temperature/);
  e = thrown(() => t.complete('12+34=', 1, 1, 0, 1.5, false, 1));
  assert.match(e.message, /top_p/);
  // Still usable afterwards.
  assert.equal(JSON.parse(t.complete('12+34=', 1, 1, 0, 1, true, 1)).completions.length, 1);
  t.delete();
});

test('recentSamples and evaluateSequence: the latest held-out problems, accuracy and pass@k', () => {
  const t = make();
  assert.deepEqual(JSON.parse(t.recentSamples()), [], 'no evaluation before the first step');
  t.stepMany(5, 1e9);
  const rows = JSON.parse(t.recentSamples());
  assert.ok(rows.length > 0 && rows.length <= 8);
  for (const r of rows) {
    assert.match(r.prompt, /^\d\d\+\d\d=$/);
    assert.match(r.reference, /^\d{3}\.$/);
    assert.equal(r.token_probs.length, r.completion.length);
    assert.equal(typeof r.correct, 'boolean');
    assert.equal(r.correct, r.completion === r.reference);
  }
  const ev = JSON.parse(t.evaluateSequence(50, 3, 1));
  assert.equal(ev.problems, 50);
  assert.equal(ev.k, 3);
  for (const k of ['accuracy', 'pass_at_k', 'partial_mean', 'well_formed']) assert.ok(ev[k] >= 0 && ev[k] <= 1, k);
  assert.equal(t.evaluateSequence(50, 0, 1), t.evaluateSequence(50, 0, 1), 'deterministic');
  assert.match(thrown(() => t.evaluateSequence(0, 0, 1)).message, /held-out problems/);
  t.delete();
});

test('env-only methods refuse a sequence trainer and sequence methods an env trainer, with the core message', () => {
  const s = make();
  for (const f of [() => s.obsDim(), () => s.act(new Float32Array(4), true), () => s.policyValue(new Float32Array(4), 1), () => s.evaluate(1, true, 1)]) {
    const e = thrown(f);
    assert.equal(e.name, 'ConfigError');
    assert.match(e.message, /sequence model/);
  }
  const p = M.Trainer.fromJson(JSON.stringify({ algo: 'ppo', env_id: 'CartPole-v1' }));
  assert.equal(p.taskKind(), 'env');
  assert.equal(p.taskName(), 'CartPole-v1');
  assert.deepEqual(JSON.parse(p.metricNames()), JSON.parse(M.scalarNames()), 'env trainers have no extra columns');
  for (const f of [() => p.complete('1+1=', 1, 1, 0, 1, true, 1), () => p.recentSamples(), () => p.evaluateSequence(4, 0, 1)]) {
    const e = thrown(f);
    assert.equal(e.name, 'ConfigError');
    assert.match(e.message, /env, not on a sequence task/);
  }
  // A task option of another task, and an env field, are refused by name.
  let e = thrown(() => M.Trainer.fromJson(JSON.stringify({ ...SFT, list_length: 4 })));
  assert.match(e.message, /list_length.*task sort/);
  e = thrown(() => M.Trainer.fromJson(JSON.stringify({ ...SFT, env_id: 'CartPole-v1' })));
  assert.match(e.message, /env_id/);
  s.delete(); p.delete();
});

test('sft checkpoint round trip in wasm: same model, same completions, training resumes exactly', () => {
  const a = make({ eval_interval: 4 });
  a.stepMany(6, 1e9);
  const bytes = a.saveBytes();
  const b = M.Trainer.fromCheckpoint(bytes);
  assert.equal(b.taskKind(), 'sequence');
  assert.equal(b.configJson(), a.configJson());
  assert.equal(b.iteration(), 6);
  assert.equal(b.globalStep(), a.globalStep());
  assert.equal(b.complete('12+34=', 2, 1, 0, 1, false, 3), a.complete('12+34=', 2, 1, 0, 1, false, 3));
  assert.equal(b.evaluateSequence(40, 0, 2), a.evaluateSequence(40, 0, 2));
  const names = JSON.parse(a.metricNames());
  // heldout_partial and heldout_well_formed are written at evaluation steps only; between them the
  // uninterrupted trainer repeats its last values while a loaded one has none (NaN) — a checkpoint
  // keeps only the held-out accuracy. Compared at evaluation steps (8 here).
  const EVAL_ONLY = new Set(['heldout_partial', 'heldout_well_formed']);
  for (let k = 0; k < 3; k++) {
    const ra = a.step(), rb = b.step(), it = 7 + k;
    names.forEach((n, i) => {
      if (TIMING.has(n) || (EVAL_ONLY.has(n) && it % 4 !== 0)) return;
      assert.ok(Object.is(ra[i], rb[i]), `step ${it} ${n}: ${ra[i]} vs ${rb[i]}`);
    });
  }
  // A corrupt sft checkpoint is refused.
  const bad = a.saveBytes();
  bad[bad.length >> 1] ^= 0xff;
  assert.equal(thrown(() => M.Trainer.fromCheckpoint(bad)).name, 'CheckpointError');
  a.delete(); b.delete();
});

test('two trainers of the same config give the same metrics (determinism in wasm)', () => {
  const a = make(), b = make();
  const names = JSON.parse(a.metricNames());
  const ra = a.stepMany(6, 1e9), rb = b.stepMany(6, 1e9);
  for (let r = 0; r < 6; r++) names.forEach((n, i) => {
    if (!TIMING.has(n)) assert.ok(Object.is(ra[r * names.length + i], rb[r * names.length + i]), `row ${r} ${n}`);
  });
  assert.equal(a.recentSamples(), b.recentSamples());
  a.delete(); b.delete();
});
