// The combinatorial problems in the wasm core, as the playground's instance sandbox calls them:
// the solver catalog, one generated instance, every solver on it — the same numbers as the native
// `policylab solve` — and errors as {"error"} answers naming the problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasNative, loadCore, native, tempDir, thrown } from './helpers.mjs';

const M = await loadCore();

test('catalog, generate and solve: Held-Karp is never beaten and equals the native CLI', (t) => {
  const catalog = JSON.parse(M.comboCatalog());
  assert.deepEqual(Object.keys(catalog).sort(), ['binpack1d', 'binpack3d', 'cvrp', 'jobshop', 'knapsack', 'tsp']);
  assert.equal(catalog.tsp.objective, 'length');
  assert.equal(catalog.knapsack.maximize, true);
  const text = JSON.parse(M.comboGenerate('tsp', 10, 10, 7)).text;
  assert.match(text, /^10 /);
  assert.equal(JSON.parse(M.comboGenerate('tsp', 10, 10, 7)).text, text, 'same seed, same instance');
  const solved = Object.fromEntries(catalog.tsp.solvers.map((s) => [s.name, JSON.parse(M.comboSolve('tsp', text, s.name))]));
  const exact = solved['held-karp'].instances[0];
  assert.deepEqual([...exact.solution].sort((a, b) => a - b), [...Array(10).keys()]);
  for (const [name, r] of Object.entries(solved)) assert.ok(r.instances[0].objective >= exact.objective - 1e-9, name);
  assert.ok(Math.abs(solved['branch-and-bound'].instances[0].objective - exact.objective) < 1e-9, 'the two exact solvers agree');
  // TSP50, beyond Held-Karp: the branch and bound's optimum is no longer than local search's tour.
  const fifty = JSON.parse(M.comboGenerate('tsp', 50, 50, 7)).text;
  const optimum = JSON.parse(M.comboSolve('tsp', fifty, 'branch-and-bound')).instances[0];
  assert.deepEqual([...optimum.solution].sort((a, b) => a - b), [...Array(50).keys()]);
  assert.ok(optimum.objective <= JSON.parse(M.comboSolve('tsp', fifty, 'local-search')).instances[0].objective + 1e-12);
  if (!hasNative()) return t.skip('native CLI not built');
  const dir = tempDir('combo');
  writeFileSync(join(dir, 'one.txt'), text);
  const cli = JSON.parse(native(['solve', '--problem', 'tsp', '--solver', 'held-karp', '--json', join(dir, 'one.txt')]));
  assert.equal(cli.instances[0].objective, exact.objective);
  writeFileSync(join(dir, 'fifty.txt'), fifty);
  const cli50 = JSON.parse(native(['solve', '--problem', 'tsp', '--solver', 'branch-and-bound', '--json', join(dir, 'fifty.txt')]));
  assert.ok(Math.abs(cli50.instances[0].objective - optimum.objective) < 1e-9, 'the same optimum natively');
});

test('bad input comes back as a message naming it', () => {
  assert.match(JSON.parse(M.comboSolve('tsp', '3 0 0 1', 'held-karp')).error, /tsp/);
  assert.match(JSON.parse(M.comboSolve('tsp', '5 0 0 1 0 1 1 0 1 .5 .5', 'savings')).error, /unknown solver 'savings' for tsp/);
  assert.match(JSON.parse(M.comboSolve('tssp', '', 'x')).error, /tssp/);
  assert.match(JSON.parse(M.comboGenerate('tsp', 10, 10, -1)).error, /^seed must be an integer/);
  assert.match(JSON.parse(M.comboGenerate('cvrp', 201, 7, 1)).error, /5 to 200 customers \(as training\), got n = 201/);
});

test('POMO policies of CVRP and knapsack solve given instances: feasible routes and packings, by the checker', () => {
  const base = { algo: 'pomo', n: 8, batch_size: 4, max_steps: 3, eval_interval: 3, heldout_size: 4, d_model: 16, n_heads: 2, n_layers: 1, d_ff: 16, seed: 3 };
  const cvrp = M.Trainer.fromJson(JSON.stringify({ ...base, problem: 'cvrp' }));
  for (let k = 0; k < 3; ++k) cvrp.step();
  const text = JSON.parse(M.comboGenerate('cvrp', 10, 10, 5)).text;
  const solved = JSON.parse(cvrp.comboSolve(text, 'multistart_aug8', 1));
  const routes = solved.instances[0].solution;
  assert.equal(routes[0], 0);
  assert.equal(routes[routes.length - 1], 0);
  assert.deepEqual(routes.filter((c) => c !== 0).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // The checker's length: the savings solver's objective on the same instance is of the same scale.
  const savings = JSON.parse(M.comboSolve('cvrp', text, 'savings')).instances[0].objective;
  assert.ok(solved.instances[0].objective > 0.5 * savings && solved.instances[0].objective < 5 * savings);
  cvrp.delete();
  const knapsack = M.Trainer.fromJson(JSON.stringify({ ...base, problem: 'knapsack' }));
  knapsack.step();
  const items = JSON.parse(M.comboGenerate('knapsack', 50, 50, 5)).text;
  const packed = JSON.parse(knapsack.comboSolve(items, 'multistart', 1)).instances[0];
  const optimum = JSON.parse(M.comboSolve('knapsack', items, 'branch-and-bound')).instances[0].objective;
  assert.ok(packed.objective > 0 && packed.objective <= optimum + 1e-9, `${packed.objective} vs ${optimum}`);
  const e = thrown(() => knapsack.comboSolve(items, 'multistart_aug8', 1));
  assert.match(e.message, /use multistart/);
  knapsack.delete();
});

test('The job-shop policy solves given instances in wasm: schedules checked by the checker, never below the optimum', () => {
  const js = M.Trainer.fromJson(JSON.stringify({ algo: 'pomo', problem: 'jobshop', n: 5, machines: 3, batch_size: 2, max_steps: 2,
    eval_interval: 2, heldout_size: 4, d_model: 16, n_heads: 2, n_layers: 1, d_ff: 16, seed: 3 }));
  js.step();
  const text = JSON.parse(M.comboGenerate('jobshop', 5, 3, 5)).text;
  const solved = JSON.parse(js.comboSolve(text, 'multistart', 1)).instances[0];
  assert.equal(solved.solution.length, 15, 'a start time per operation');
  const optimum = JSON.parse(M.comboSolve('jobshop', text, 'branch-and-bound')).instances[0].objective;
  assert.ok(solved.objective >= optimum, `${solved.objective} vs ${optimum}`);
  const e = thrown(() => js.comboSolve(text, 'multistart_aug8', 1));
  assert.match(e.message, /jobshop decodes greedy, sample:N or multistart/);
  js.delete();
});

test('The re-encoding TSP and CVRP policies train and solve in wasm; a wasm checkpoint decodes natively to the same routes', (t) => {
  for (const problem of ['tsp', 'cvrp']) {
    const run = M.Trainer.fromJson(JSON.stringify({ algo: 'pomo', problem, reencode: true, n: 6, batch_size: 2, max_steps: 2,
      eval_interval: 2, heldout_size: 4, d_model: 16, n_heads: 2, n_layers: 1, d_ff: 16, seed: 3 }));
    run.step();
    run.step();
    const text = JSON.parse(M.comboGenerate(problem, 10, 0, 4)).text;
    const solved = JSON.parse(run.comboSolve(text, 'multistart_aug8', 1)).instances[0];
    const reference = JSON.parse(M.comboSolve(problem, text, problem === 'tsp' ? 'held-karp' : 'savings')).instances[0].objective;
    if (problem === 'tsp') {
      assert.deepEqual([...solved.solution].sort((a, b) => a - b), [...Array(10).keys()], 'a tour visits every city once');
      assert.ok(solved.objective >= reference - 1e-9, `${solved.objective} vs Held-Karp ${reference}`);
    } else {
      assert.equal(solved.solution[0], 0);
      assert.equal(solved.solution.at(-1), 0);
      assert.ok(solved.objective > 0 && solved.objective < 3 * reference, `${solved.objective} vs savings ${reference}`);
    }
    if (hasNative()) {
      const dir = tempDir(`reenc-${problem}`);
      writeFileSync(join(dir, 'checkpoint'), run.saveBytes());
      writeFileSync(join(dir, 'instances.txt'), text);
      const greedy = JSON.parse(run.comboSolve(text, 'greedy', 1)).instances[0];
      native(['eval', join(dir, 'checkpoint'), '--instances', join(dir, 'instances.txt'), '--decode', 'greedy',
        '--reference', 'none', '--out', join(dir, 'solutions.txt')]);
      // The solution, without the objective eval --out writes after it as a comment.
      const line = readFileSync(join(dir, 'solutions.txt'), 'utf8').split('#')[0].trim().split(/\s+/).map(Number);
      assert.deepEqual(line, greedy.solution, `${problem}: native and wasm greedy decode alike`);
    } else {
      t.diagnostic('native CLI not built: the cross-check of the wasm checkpoint is skipped');
    }
    const e = thrown(() => run.comboSolve('2 0 O 1 1\n', 'greedy', 1));
    assert.match(e.message, new RegExp(`${problem}: 'O'`));
    run.delete();
  }
});
