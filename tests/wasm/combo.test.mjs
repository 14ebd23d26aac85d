// The combinatorial problems in the wasm core, as the playground's instance sandbox calls them:
// the solver catalog, one generated instance, every solver on it — the same numbers as the native
// `policylab solve` — and errors as {"error"} answers naming the problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasNative, loadCore, native, tempDir } from './helpers.mjs';

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
  if (!hasNative()) return t.skip('native CLI not built');
  const dir = tempDir('combo');
  writeFileSync(join(dir, 'one.txt'), text);
  const cli = JSON.parse(native(['solve', '--problem', 'tsp', '--solver', 'held-karp', '--json', join(dir, 'one.txt')]));
  assert.equal(cli.instances[0].objective, exact.objective);
});

test('bad input comes back as a message naming it', () => {
  assert.match(JSON.parse(M.comboSolve('tsp', '3 0 0 1', 'held-karp')).error, /tsp/);
  assert.match(JSON.parse(M.comboSolve('tsp', '5 0 0 1 0 1 1 0 1 .5 .5', 'savings')).error, /unknown solver 'savings' for tsp/);
  assert.match(JSON.parse(M.comboSolve('tssp', '', 'x')).error, /tssp/);
  assert.match(JSON.parse(M.comboGenerate('tsp', 10, 10, -1)).error, /^seed must be an integer/);
  assert.match(JSON.parse(M.comboGenerate('cvrp', 7, 7, 1)).error, /capacities for n = 10, 20, 50, 100/);
});
