// The wasm calls behind the playground's job-shop and bin-packing views: comboRead (a pasted file
// or dataset read by the core and given back as dataset lines) and comboSolve on job-shop and bin
// packing — every solver's objective equals the native CLI's on the same file, the schedules and
// packings are valid by an independent check here, and bad text comes back as {"error"} naming the
// problem (never an abort: the module answers the next call).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, hasNative, loadCore, native, tempDir } from './helpers.mjs';

const M = await loadCore();
const FT06 = join(ROOT, 'tests', 'data', 'ft06.txt');
const solveJs = (problem, text, solver) => JSON.parse(M.comboSolve(problem, text, solver));
const cli = (problem, solver, file) => JSON.parse(native(['solve', '--problem', problem, '--solver', solver, '--json', file]));

// Makespan of start times (job-major), after checking precedence and machine overlaps.
function makespan(line, start) {
  const v = line.trim().split(/\s+/).map(Number), n = v[0], m = v[1];
  const mach = (o) => v[2 + 2 * o], dur = (o) => v[3 + 2 * o];
  assert.equal(start.length, n * m);
  let end = 0;
  for (let j = 0; j < n; ++j) for (let k = 1; k < m; ++k) {
    const o = j * m + k;
    assert.ok(start[o] >= start[o - 1] + dur(o - 1), `job ${j} op ${k} starts before its predecessor ends`);
  }
  for (let a = 0; a < n * m; ++a) {
    assert.ok(start[a] >= 0);
    end = Math.max(end, start[a] + dur(a));
    for (let b = a + 1; b < n * m; ++b) {
      if (mach(a) !== mach(b)) continue;
      assert.ok(start[a] + dur(a) <= start[b] || start[b] + dur(b) <= start[a], `operations ${a} and ${b} overlap on machine ${mach(a)}`);
    }
  }
  return end;
}

test('comboRead: a job-shop file comes back as the dataset line the solvers read', () => {
  const file = readFileSync(FT06, 'utf8');
  const read = JSON.parse(M.comboRead('jobshop', file));
  assert.equal(read.count, 1);
  assert.match(read.text, /^6 6 2 1 0 3 1 6 3 7 5 3 4 6 1 8 /);
  assert.equal(read.text.trim().split(/\s+/).length, 2 + 72);
  // Taillard's format reads to the same numbers (machines 1-based there).
  const taillard = 'Nb of jobs, Nb of Machines\n2 2 1 1 1 1\nTimes\n3 4\n5 6\nMachines\n1 2\n2 1\n';
  assert.equal(JSON.parse(M.comboRead('jobshop', taillard)).text.trim(), '2 2 0 3 1 4 1 5 0 6');
  const twoLines = JSON.parse(M.comboRead('binpack1d', '3 10 1 2 3\n# a comment\n2 10 9 9\n'));
  assert.equal(twoLines.count, 2);
  assert.deepEqual(twoLines.text.trim().split('\n'), ['3 10 1 2 3', '2 10 9 9']);
});

test('job-shop: every solver on ft06 equals the native CLI, the exact one finds 55, schedules are valid', (t) => {
  const file = readFileSync(FT06, 'utf8');
  const line = JSON.parse(M.comboRead('jobshop', file)).text;
  const solvers = JSON.parse(M.comboCatalog()).jobshop.solvers.map((s) => s.name);
  assert.deepEqual(solvers.sort(), ['branch-and-bound', 'fifo', 'mor', 'mwkr', 'spt']);
  const got = {};
  for (const s of solvers) {
    const r = solveJs('jobshop', file, s);
    assert.equal(r.objective, 'makespan');
    const inst = r.instances[0];
    assert.equal(makespan(line, inst.solution), inst.objective, s);
    // The file and its dataset line are the same instance.
    assert.equal(solveJs('jobshop', line, s).instances[0].objective, inst.objective, s);
    got[s] = inst.objective;
  }
  assert.equal(got['branch-and-bound'], 55);
  for (const s of solvers) assert.ok(got[s] >= 55, s);
  if (!hasNative()) return t.skip('native CLI not built');
  for (const s of solvers) assert.equal(cli('jobshop', s, FT06).instances[0].objective, got[s], s);
});

// The sandbox builds a schedule in start-time order (web/src/views/sandbox/jobshop.ts): dispatched
// in that order, each operation placed at the earliest time its job and machine allow (a gap
// between scheduled operations if it fits: L2D's placement), every solver's schedule comes back
// exactly — they are active schedules, so start-time order is one dispatch order of each.
function replayInStartOrder(line, start) {
  const v = line.trim().split(/\s+/).map(Number), n = v[0], m = v[1];
  const order = [...Array(n * m).keys()].sort((a, b) => start[a] - start[b] || a - b);
  const busy = Array.from({ length: m }, () => []), jobEnd = Array(n).fill(0), out = Array(n * m);
  for (const o of order) {
    const mk = v[2 + 2 * o], d = v[3 + 2 * o], j = Math.floor(o / m);
    let t = jobEnd[j];
    for (const [s, e] of busy[mk].sort((a, b) => a[0] - b[0])) { if (t + d <= s) break; t = Math.max(t, e); }
    out[o] = t;
    busy[mk].push([t, t + d]);
    jobEnd[j] = t + d;
  }
  return out;
}

test('job-shop: every solver\'s schedule is rebuilt by dispatching in start-time order', () => {
  for (let seed = 1; seed <= 8; ++seed) {
    const line = JSON.parse(M.comboGenerate('jobshop', 6, 6, seed)).text;
    for (const s of ['branch-and-bound', 'spt', 'mwkr', 'mor', 'fifo']) {
      const start = solveJs('jobshop', line, s).instances[0].solution;
      assert.deepEqual(replayInStartOrder(line, start), start, `seed ${seed} ${s}`);
    }
  }
});

test('bin packing 1-D and 3-D: first fit and best fit equal the native CLI on generated files', (t) => {
  const dir = tempDir('sandbox');
  for (const [problem, n] of [['binpack1d', 40], ['binpack3d', 50]]) {
    const text = JSON.parse(M.comboGenerate(problem, n, n, 3)).text;
    writeFileSync(join(dir, `${problem}.txt`), text);
    const v = text.trim().split(/\s+/).map(Number);
    for (const s of ['first-fit', 'best-fit']) {
      const r = solveJs(problem, text, s).instances[0];
      if (problem === 'binpack1d') {
        // Bins numbered in opening order, none overflowing; objective = bins; at least ⌈Σs/C⌉.
        const load = [];
        r.solution.forEach((b, i) => { assert.ok(b <= load.length, 'bins open in order'); load[b] = (load[b] ?? 0) + v[2 + i]; });
        assert.ok(load.every((l) => l <= v[1]));
        assert.equal(r.objective, load.length);
        assert.ok(r.objective >= Math.ceil(v.slice(2).reduce((a, b) => a + b, 0) / v[1]));
      } else {
        // Placements inside the bin; utilisation = packed volume / bin volume.
        const k = r.solution.length / 3;
        let vol = 0;
        for (let i = 0; i < k; ++i) {
          const [l, w, h] = v.slice(4 + 3 * i, 7 + 3 * i), [x, y, z] = r.solution.slice(3 * i, 3 * i + 3);
          assert.ok(x + l <= v[1] && y + w <= v[2] && z + h <= v[3]);
          vol += l * w * h;
        }
        assert.ok(Math.abs(r.objective - vol / (v[1] * v[2] * v[3])) < 1e-12);
      }
      if (hasNative()) assert.equal(cli(problem, s, join(dir, `${problem}.txt`)).instances[0].objective, r.objective, `${problem} ${s}`);
    }
  }
  if (!hasNative()) t.skip('native CLI not built');
});

test('bad text comes back as a message naming the problem and line, and the module goes on', () => {
  const cases = [
    ['jobshop', '2 2 0 5 1', 'mwkr', /jobshop: expected 10 numbers/],
    ['jobshop', '2 2 0 5 0 3 1 4 0 6', 'spt', /jobshop: .*machine/],
    ['jobshop', '2 2\n0 5 1 x\n1 4 0 6\n', 'fifo', /jobshop/],
    ['binpack1d', '3 10 5 20 1', 'first-fit', /binpack1d: .*size/],
    ['binpack3d', '1 10 10 10 2 2', 'best-fit', /binpack3d/],
    ['binpack1d', '', 'best-fit', /no binpack1d instance/],
  ];
  for (const [problem, text, solver, want] of cases) {
    const solved = JSON.parse(M.comboSolve(problem, text, solver));
    assert.match(solved.error ?? '', want, `${problem} solve: ${text}`);
    const read = JSON.parse(M.comboRead(problem, text));
    assert.match(read.error ?? '', want, `${problem} read: ${text}`);
  }
  assert.match(JSON.parse(M.comboRead('jobshop', '2 2 0 5 1')).error, /^<pasted>:1: jobshop: /);
  assert.match(JSON.parse(M.comboRead('jobs', '1')).error, /unknown problem 'jobs'/);
  // The exact solver refuses a 7 × 7 instance by name.
  const big = JSON.parse(M.comboGenerate('jobshop', 7, 7, 1)).text;
  assert.match(JSON.parse(M.comboSolve('jobshop', big, 'branch-and-bound')).error, /at most 6 jobs and 6 machines/);
  // Still answering.
  assert.equal(JSON.parse(M.comboSolve('jobshop', readFileSync(FT06, 'utf8'), 'branch-and-bound')).instances[0].objective, 55);
});

test('failed reads and solves leak nothing', () => {
  const failAll = () => {
    M.comboRead('jobshop', '2 2 0 5 1');
    M.comboRead('binpack1d', '3 10 5 20 1');
    M.comboSolve('jobshop', '2 2\n0 5 1 3\n1 4 1 6\n', 'mwkr');
    M.comboSolve('binpack3d', '1 10 10 10 2 2', 'first-fit');
  };
  for (let i = 0; i < 50; i++) failAll();  // warm-up: lazily created statics
  const before = M.heapInUse();
  for (let i = 0; i < 1000; i++) failAll();
  const grown = M.heapInUse() - before;
  assert.ok(grown < 4096, `heap grew by ${grown} bytes over 4000 failed calls`);
});
