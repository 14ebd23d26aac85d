// Group-relative RL in the core compiled to WebAssembly, under node: the loss lab gives the native
// CLI's numbers, GRPO trains (every policy loss) and shows its groups, and a run warm-starts from a
// checkpoint's bytes (init_from for the browser), natively trained or not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasNative, loadCore, native, tempDir, thrown } from './helpers.mjs';

const M = await loadCore();
const BATCH = { group_size: 2, logp: [[-0.5945349, -1.6931472], [-0.9046898]], old_logp: [[-1, -1], [-1]], advantages: [1, -1] };
const TINY = { algo: 'grpo', task: 'addition', digits: 1, seed: 3, batch_size: 4, num_generations: 4, d_model: 16, n_heads: 2, n_layers: 1, d_mlp: 32, eval_interval: 5, heldout_size: 8 };

test('loss lab: values and gradients; the same numbers as the native CLI; errors as JSON', () => {
  const out = JSON.parse(M.lossLab('clip', JSON.stringify(BATCH), JSON.stringify({ loss_agg_mode: 'token-mean' })));
  assert.ok(Math.abs(out.loss + 0.2) < 1e-6, String(out.loss));
  assert.ok(Math.abs(out.gradient.logp[0][1] + 0.5 / 3) < 1e-6);
  assert.equal(out.gradient.logp[0][0], 0);
  if (hasNative()) {
    const dir = tempDir('lab');
    writeFileSync(join(dir, 'in.json'), JSON.stringify(BATCH));
    const cli = JSON.parse(native(['loss', 'clip', '--input', join(dir, 'in.json'), '--set', 'loss_agg_mode=token-mean']));
    assert.ok(Math.abs(cli.loss - out.loss) < 1e-6);
    assert.deepEqual(cli.gradient.logp.flat().map((x) => x.toFixed(6)), out.gradient.logp.flat().map((x) => x.toFixed(6)));
  }
  const bad = JSON.parse(M.lossLab('clipp', JSON.stringify(BATCH), '{}'));
  assert.match(bad.error, /unknown estimator or loss 'clipp'/);
  const badOpt = JSON.parse(M.lossLab('clip', JSON.stringify(BATCH), JSON.stringify({ epsilon: -1 })));
  assert.match(badOpt.error, /field 'epsilon' must be a float in \[0, 10\]/);
  const catalog = JSON.parse(M.lossLabCatalog());
  assert.equal(catalog.estimators.length, 11);  // adaptthink and gae (per token, with a critic) are the last two
  assert.equal(catalog.losses.length, 7);
});

test('GRPO trains with every policy loss and shows its latest groups', () => {
  for (const policy_loss of ['clip', 'cispo', 'gpg', 'gvpo', 'rebel', 'astar_po', 'disco']) {
    // astar_ref_samples is A*-PO's own field (refused with another loss: applies_when).
    const t = M.Trainer.fromJson(JSON.stringify({ ...TINY, policy_loss, ...(policy_loss === 'astar_po' ? { astar_ref_samples: 2 } : {}) }));
    assert.deepEqual(JSON.parse(t.recentGroups()), [], 'nothing before the first step');
    const names = JSON.parse(t.metricNames());
    for (let i = 0; i < 2; ++i) {
      const row = t.step();
      assert.ok(Number.isFinite(row[names.indexOf('policy_loss')]), policy_loss);
    }
    const groups = JSON.parse(t.recentGroups());
    assert.equal(groups.length, 4);
    assert.equal(groups[0].completions.length, 4);
    t.delete();
  }
});

test('warm start from checkpoint bytes: weights of another run, refused for another model or after a step', () => {
  const first = M.Trainer.fromJson(JSON.stringify(TINY));
  first.step();
  const bytes = first.saveBytes();
  const second = M.Trainer.fromJson(JSON.stringify({ ...TINY, seed: 9 }));
  // The same weights: the greedy completion of a prompt and every token's probabilities agree.
  const probs = (t) => JSON.stringify(JSON.parse(t.complete('1+2=', 1, 1, 0, 1, true, 1)).completions[0].steps);
  assert.notEqual(probs(second), probs(first), 'seed 9 starts elsewhere');
  second.warmStart(bytes);
  assert.equal(probs(second), probs(first));
  const other = M.Trainer.fromJson(JSON.stringify({ ...TINY, d_model: 32, n_heads: 4 }));
  assert.match(thrown(() => other.warmStart(bytes)).message, /does not match this run's/);
  second.step();
  assert.match(thrown(() => second.warmStart(bytes)).message, /reset the run first/);
  for (const t of [first, second, other]) t.delete();
});
