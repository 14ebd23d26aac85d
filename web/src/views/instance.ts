// The instance sandbox of the combinatorial problems: one TSP, CVRP or knapsack instance drawn on a
// canvas (knapsack items as points: weight across, value up), its points draggable (make your own
// instance), and the core's reference solvers
// (core/combo/solvers.hpp, in the lab worker) run on it side by side — exact where the problem
// size allows, heuristics always — with each solution's objective and gap to the best. A learned
// policy's solution joins the same table and drawing through setExtra(), so learned, heuristic and
// exact solutions are compared on one instance.
import { Coalescer, type LabClient } from '../lab/client';
import type { ComboProblemInfo, LabCall } from '../lab/protocol';
import { h } from './dom';

export type DrawableProblem = 'tsp' | 'cvrp' | 'knapsack';
const PROBLEMS: { id: DrawableProblem; label: string; sizes: number[] }[] = [
  { id: 'tsp', label: 'TSP', sizes: [5, 8, 10, 12, 15, 20, 30, 50, 100] },
  { id: 'cvrp', label: 'CVRP', sizes: [10, 20, 50, 100] },  // the sizes with the papers' capacities
  { id: 'knapsack', label: 'Knapsack', sizes: [50, 100, 200] },  // POMO's generator: capacity 12.5 / 25 / 25
];
// The sizes the core's generator makes for a problem (a policy of another size still solves them).
export function sandboxSize(problem: DrawableProblem, n: number): number {
  const sizes = PROBLEMS.find((p) => p.id === problem)!.sizes;
  return problem === 'knapsack' && !sizes.includes(n) ? sizes[0] : n;
}
// Held-Karp's time and memory grow as n^2 2^n: past 20 cities it is not offered (the core refuses).
const EXACT_LIMIT: Record<string, number> = { tsp: 20 };
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

// One instance: points in the unit square (CVRP: the depot first, with demands and a capacity;
// knapsack: (weight, value) per item and the capacity).
export interface Instance { problem: DrawableProblem; xy: number[]; demand: number[]; capacity: number }
export interface SolvedRow { label: string; objective: number; solution: number[]; ms: number; exact: boolean }

// The dataset line of an instance (the layouts of `policylab solve`).
export function instanceText(inst: Instance): string {
  const n = inst.xy.length / 2;
  if (inst.problem === 'tsp') return `${n} ${inst.xy.join(' ')}\n`;
  if (inst.problem === 'knapsack') return `${n} ${inst.capacity} ${inst.xy.join(' ')}\n`;
  const parts = [String(n - 1), String(inst.capacity), String(inst.xy[0]), String(inst.xy[1])];
  for (let c = 1; c < n; ++c) parts.push(String(inst.xy[2 * c]), String(inst.xy[2 * c + 1]), String(inst.demand[c]));
  return parts.join(' ') + '\n';
}

export function parseInstance(problem: DrawableProblem, text: string): Instance {
  const v = text.trim().split(/\s+/).map(Number);
  if (problem === 'tsp') return { problem, xy: v.slice(1, 1 + 2 * v[0]), demand: [], capacity: 0 };
  if (problem === 'knapsack') return { problem, xy: v.slice(2, 2 + 2 * v[0]), demand: [], capacity: v[1] };
  const n = v[0], xy = [v[2], v[3]], demand = [0];
  for (let c = 0; c < n; ++c) { xy.push(v[4 + 3 * c], v[5 + 3 * c]); demand.push(v[6 + 3 * c]); }
  return { problem, xy, demand, capacity: v[1] };
}

// The routes of a solution as point sequences, each a closed loop (TSP: one; CVRP: one per vehicle
// from the depot back to it).
export function routesOf(problem: DrawableProblem, solution: number[]): number[][] {
  if (problem === 'knapsack') return [];  // items are chosen, not visited
  if (problem === 'tsp') return solution.length ? [[...solution, solution[0]]] : [];
  const routes: number[][] = [];
  let cur: number[] = [];
  for (const node of solution) {
    if (node === 0) { if (cur.length) routes.push([0, ...cur, 0]); cur = []; } else cur.push(node);
  }
  if (cur.length) routes.push([0, ...cur, 0]);
  return routes;
}

export class InstanceSandbox {
  readonly panel: HTMLElement;
  private catalog: Record<string, ComboProblemInfo> | null = null;
  private inst: Instance | null = null;
  private problem: DrawableProblem = 'tsp';
  private n = 10;
  private seed = 1;
  private rows: SolvedRow[] = [];
  private extra: SolvedRow | null = null;
  private shown = '';  // label of the drawn solution ('' = the best)
  private dragging = -1;
  private making = '';  // the instance being generated (problem:n:seed)
  private reveal = Infinity;  // edges of the policy's route drawn so far (setExtra's animation)
  private animation = 0;
  private solver = new Coalescer(() => this.solveAll());
  private el: Record<string, HTMLElement> = {};
  // Called after each solve with the instance (a view can then decode its policy on it).
  onInstance: ((inst: Instance) => void) | null = null;

  constructor(private lab: LabClient) {
    const details = h('details', { 'data-testid': 'instance-sandbox' });
    const problem = h('select', { 'aria-label': 'Problem', 'data-testid': 'sandbox-problem' });
    for (const p of PROBLEMS) problem.appendChild(h('option', { value: p.id }, p.label));
    const size = h('select', { 'aria-label': 'Size', 'data-testid': 'sandbox-n' });
    const fresh = h('button', { 'data-testid': 'sandbox-new', title: 'A new random instance (the next seed)' }, 'New instance');
    const seed = h('span', { class: 'mono caption', 'data-testid': 'sandbox-seed' });
    const canvas = h('canvas', { class: 'instance', 'data-testid': 'sandbox-canvas', width: '360', height: '360',
      'aria-label': 'The instance: drag a point to move it; the drawn solution is the table\'s selected row' });
    const table = h('table', { class: 'samples sandbox', 'data-testid': 'sandbox-table' });
    const err = h('div', { class: 'inline-error', role: 'alert', hidden: '', 'data-testid': 'sandbox-error' });
    details.append(h('summary', {}, 'Instance sandbox: heuristics, exact solvers and the policy on one instance'),
      h('p', { class: 'hint' }, 'Drag a point to make your own instance; every solver runs again when you let go. Click a row to draw its solution.'),
      h('div', { class: 'lab-knobs' }, h('label', { class: 'inline' }, 'problem ', problem), h('label', { class: 'inline' }, 'n ', size), fresh, seed),
      canvas, table, err);
    this.panel = h('section', { class: 'panel', 'data-panel': 'instance-sandbox' }, details);
    Object.assign(this.el, { details, problem, size, seed, canvas, table, err });
    this.fillSizes();
    problem.addEventListener('change', () => {
      this.problem = (problem as HTMLSelectElement).value as DrawableProblem;
      this.fillSizes();
      void this.newInstance();
    });
    size.addEventListener('change', () => { this.n = Number((size as HTMLSelectElement).value); void this.newInstance(); });
    fresh.addEventListener('click', () => { this.seed += 1; void this.newInstance(); });
    details.addEventListener('toggle', () => { if ((details as HTMLDetailsElement).open && !this.inst) void this.newInstance(); });
    this.bindDrag(canvas as HTMLCanvasElement);
    // No instance (and no lab worker) until the panel is opened or shown: setProblem() or the toggle.
  }

  // The problem and size to show (a training run's): a new instance if they changed.
  setProblem(problem: DrawableProblem, n: number) {
    if (problem === this.problem && n === this.n && this.inst) return;
    this.problem = problem;
    (this.el.problem as HTMLSelectElement).value = problem;
    this.fillSizes(n);
    void this.newInstance();
  }
  instance(): Instance | null { return this.inst; }
  // A solution from elsewhere (the learned policy) shown with the solvers'; null removes it.
  // animate: draw its route edge by edge, in the order the policy chose the nodes.
  setExtra(row: SolvedRow | null, animate = false) {
    this.extra = row;
    cancelAnimationFrame(this.animation);
    this.reveal = Infinity;
    if (row && animate) {
      const edges = row.solution.length, start = performance.now(), ms = Math.min(1500, 60 * edges);
      const tick = () => {
        this.reveal = Math.floor((edges * (performance.now() - start)) / ms);
        if (this.reveal >= edges) this.reveal = Infinity;
        this.draw();
        if (Number.isFinite(this.reveal)) this.animation = requestAnimationFrame(tick);
      };
      this.reveal = 0;
      this.animation = requestAnimationFrame(tick);
    }
    this.renderTable();
    this.draw();
  }

  private fillSizes(want = this.n) {
    const sizes = [...PROBLEMS.find((p) => p.id === this.problem)!.sizes];
    if (!sizes.includes(want)) sizes.push(want), sizes.sort((a, b) => a - b);
    this.n = want;
    const sel = this.el.size as HTMLSelectElement;
    sel.textContent = '';
    for (const s of sizes) sel.appendChild(h('option', { value: String(s) }, String(s)));
    sel.value = String(this.n);
  }

  private fail(message: string) {
    this.el.err.textContent = message;
    this.el.err.hidden = false;
  }

  private async newInstance() {
    // The same instance asked for twice while it is being made (the panel opening and a run's
    // problem arriving together) is made once.
    const key = `${this.problem}:${this.n}:${this.seed}`;
    if (key === this.making) return;
    this.making = key;
    try { await this.makeInstance(); } finally { if (this.making === key) this.making = ''; }
  }

  private async makeInstance() {
    this.el.seed.textContent = `seed ${this.seed}`;
    const calls: LabCall[] = [{ combo: 'generate', problem: this.problem, n: this.n, seed: this.seed }];
    if (!this.catalog) calls.push({ combo: 'catalog' });
    const res = await this.lab.request(calls);
    const gen = res.results?.[0];
    if (res.error || !gen || gen.error || !gen.text) { this.fail(`instance: ${res.error ?? gen?.error ?? 'no answer'}`); return; }
    if (res.results![1]?.catalog) this.catalog = res.results![1].catalog;
    this.inst = parseInstance(this.problem, gen.text);
    this.rows = [];
    this.extra = null;
    this.shown = '';
    this.draw();
    void this.solver.run();
  }

  // Every applicable solver of the problem on the current instance, in one batch.
  private async solveAll() {
    const inst = this.inst, info = this.catalog?.[this.problem];
    if (!inst || !info) return;
    const n = inst.xy.length / 2;
    const solvers = info.solvers.filter((s) => !s.exact || n <= (EXACT_LIMIT[inst.problem] ?? Infinity));
    const text = instanceText(inst);
    const res = await this.lab.request(solvers.map((s) => ({ combo: 'solve', problem: inst.problem, text, solver: s.name })));
    if (inst !== this.inst) return;  // a newer instance replaced it meanwhile
    if (res.error || !res.results) { this.fail(`solvers: ${res.error ?? 'no answer'}`); return; }
    const bad = res.results.find((r) => r.error);
    if (bad) { this.fail(`solvers: ${bad.error}`); return; }
    this.el.err.hidden = true;
    this.rows = res.results.map((r, k) => ({
      label: solvers[k].name, exact: solvers[k].exact, objective: r.instances![0].objective,
      solution: r.instances![0].solution, ms: r.instances![0].seconds * 1000,
    }));
    this.renderTable();
    this.draw();
    this.onInstance?.(inst);
  }

  private allRows(): SolvedRow[] { return this.extra ? [this.extra, ...this.rows] : this.rows; }
  private best(): SolvedRow | undefined {
    const maximize = this.catalog?.[this.problem]?.maximize ?? false;
    let best: SolvedRow | undefined;
    for (const r of this.rows) if (!best || (maximize ? r.objective > best.objective : r.objective < best.objective)) best = r;
    return best;
  }

  private renderTable() {
    const t = this.el.table;
    t.textContent = '';
    const info = this.catalog?.[this.problem];
    t.appendChild(h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'solver'), h('th', { scope: 'col' }, info?.objective ?? 'objective'),
      h('th', { scope: 'col', title: 'relative to the best reference solver' }, 'gap'), h('th', { scope: 'col' }, 'ms'))));
    const body = h('tbody');
    const best = this.best();
    const drawn = this.drawnRow();
    for (const r of this.allRows()) {
      const gap = best ? (100 * Math.abs(r.objective - best.objective)) / Math.max(1e-12, Math.abs(best.objective)) : NaN;
      const tr = h('tr', { 'data-solver': r.label, class: r === drawn ? 'selected' : '', tabindex: '0' },
        h('th', { scope: 'row' }, r.label + (r.exact ? ' (exact)' : '')),
        h('td', { class: 'mono' }, r.objective.toFixed(4)),
        h('td', { class: 'mono' }, Number.isFinite(gap) ? `${gap.toFixed(2)}%` : '—'),
        h('td', { class: 'mono' }, r.ms.toFixed(1)));
      const pick = () => { this.shown = r.label; this.renderTable(); this.draw(); };
      tr.addEventListener('click', pick);
      tr.addEventListener('keydown', (e) => { if ((e as KeyboardEvent).key === 'Enter') pick(); });
      body.appendChild(tr);
    }
    t.appendChild(body);
    // The last table, for the browser tests.
    (globalThis as unknown as { __sandboxLast: unknown }).__sandboxLast = { instance: this.inst, rows: this.allRows() };
  }

  private drawnRow(): SolvedRow | undefined {
    return this.allRows().find((r) => r.label === this.shown) ?? this.extra ?? this.best();
  }

  // ------------------------------------------------------------------ canvas
  private geometry(canvas: HTMLCanvasElement) {
    const dpr = globalThis.devicePixelRatio || 1;
    const css = canvas.clientWidth || 360;
    if (canvas.width !== Math.round(css * dpr)) { canvas.width = Math.round(css * dpr); canvas.height = Math.round(css * dpr); }
    const pad = 12 * dpr, side = canvas.width - 2 * pad;
    return { dpr, pad, side };
  }

  private draw() {
    const canvas = this.el.canvas as HTMLCanvasElement;
    const g = canvas.getContext('2d');
    const inst = this.inst;
    if (!g || !inst) return;
    const { dpr, pad, side } = this.geometry(canvas);
    const px = (i: number) => pad + inst.xy[2 * i] * side, py = (i: number) => pad + (1 - inst.xy[2 * i + 1]) * side;
    g.clearRect(0, 0, canvas.width, canvas.height);
    g.strokeStyle = '#ddd';
    g.lineWidth = dpr;
    g.strokeRect(pad, pad, side, side);
    const row = this.drawnRow();
    if (row && this.dragging < 0) {
      routesOf(inst.problem, row.solution).forEach((route, k) => {
        g.strokeStyle = COLORS[k % COLORS.length];
        g.lineWidth = 2 * dpr;
        g.beginPath();
        const shown = row === this.extra && Number.isFinite(this.reveal) ? route.slice(0, this.reveal + 1) : route;
        shown.forEach((node, j) => (j ? g.lineTo(px(node), py(node)) : g.moveTo(px(node), py(node))));
        g.stroke();
      });
    }
    const n = inst.xy.length / 2;
    if (inst.problem === 'knapsack') {
      // Chosen items filled (in the order taken while the policy's choice is revealed), the others hollow.
      const chosen = new Set(row && this.dragging < 0
        ? (row === this.extra && Number.isFinite(this.reveal) ? row.solution.slice(0, this.reveal) : row.solution) : []);
      let weight = 0;
      for (let i = 0; i < n; ++i) {
        g.beginPath();
        g.arc(px(i), py(i), 4 * dpr, 0, 2 * Math.PI);
        if (chosen.has(i)) { weight += inst.xy[2 * i]; g.fillStyle = COLORS[0]; g.fill(); }
        else { g.strokeStyle = '#888'; g.lineWidth = dpr; g.stroke(); }
      }
      g.fillStyle = '#444';
      g.font = `${11 * dpr}px sans-serif`;
      g.fillText(`weight →   value ↑   packed ${weight.toFixed(2)} of ${inst.capacity}`, pad, pad - 2 * dpr);
      return;
    }
    for (let i = 0; i < n; ++i) {
      const depot = inst.problem === 'cvrp' && i === 0;
      const r = (depot ? 6 : inst.problem === 'cvrp' ? 2.5 + inst.demand[i] / 3 : 4) * dpr;
      g.fillStyle = depot ? '#222' : '#444';
      if (depot) g.fillRect(px(i) - r, py(i) - r, 2 * r, 2 * r);
      else { g.beginPath(); g.arc(px(i), py(i), r, 0, 2 * Math.PI); g.fill(); }
    }
  }

  private bindDrag(canvas: HTMLCanvasElement) {
    const toUnit = (e: PointerEvent) => {
      const rect = canvas.getBoundingClientRect();
      const { dpr, pad, side } = this.geometry(canvas);
      const x = ((e.clientX - rect.left) * dpr - pad) / side, y = 1 - ((e.clientY - rect.top) * dpr - pad) / side;
      return [Math.min(1, Math.max(0, x)), Math.min(1, Math.max(0, y))];
    };
    canvas.addEventListener('pointerdown', (e) => {
      const inst = this.inst;
      if (!inst) return;
      const [x, y] = toUnit(e);
      let best = -1, bestD = 0.04 * 0.04;  // within 4% of the side
      for (let i = 0; i < inst.xy.length / 2; ++i) {
        const d = (inst.xy[2 * i] - x) ** 2 + (inst.xy[2 * i + 1] - y) ** 2;
        if (d < bestD) { best = i; bestD = d; }
      }
      if (best < 0) return;
      this.dragging = best;
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (this.dragging < 0 || !this.inst) return;
      const [x, y] = toUnit(e);
      this.inst.xy[2 * this.dragging] = x;
      this.inst.xy[2 * this.dragging + 1] = y;
      this.draw();
    });
    const end = () => {
      if (this.dragging < 0) return;
      this.dragging = -1;
      this.extra = null;  // the policy's solution was for the old instance
      this.draw();
      void this.solver.run();
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }
}
