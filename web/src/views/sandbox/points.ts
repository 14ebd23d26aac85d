// TSP, CVRP and knapsack in the instance sandbox: points in the unit square on a canvas (knapsack
// items as points: weight across, value up), draggable (make your own instance); a solution drawn
// as its tour or routes (TSP, CVRP: edge by edge in the order chosen) or its chosen items.
import { h } from '../dom';
import { colorOf, numbers, type DrawContext, type EditHost, type ProblemView, type SandboxSize, type SolvedRow } from './types';

export type PointProblem = 'tsp' | 'cvrp' | 'knapsack';

// One instance: points in the unit square (CVRP: the depot first, with demands and a capacity;
// knapsack: (weight, value) per item and the capacity).
export interface PointInstance { problem: PointProblem; xy: number[]; demand: number[]; capacity: number }

// The routes of a solution as point sequences, each a closed loop (TSP: one; CVRP: one per vehicle
// from the depot back to it).
export function routesOf(problem: PointProblem, solution: number[]): number[][] {
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

// Largest instance (points) each exact solver runs on while the user drags: Held-Karp is n^2 2^n
// (about a second at 20); the 1-tree branch and bound takes milliseconds at 50 but can take a
// minute on some TSP100 instances, too long for a drag.
const SETUP: Record<PointProblem, { label: string; sizes: number[]; exactLimit: Record<string, number>; hint: string }> = {
  tsp: { label: 'TSP', sizes: [5, 8, 10, 12, 15, 20, 30, 50, 100], exactLimit: { 'held-karp': 20, 'branch-and-bound': 50 },
    hint: 'Drag a city to make your own instance; every solver runs again when you let go. Click a row to draw its tour; the slider shows it edge by edge.' },
  cvrp: { label: 'CVRP', sizes: [10, 20, 50, 100], exactLimit: {},  // the sizes with the papers' capacities
    hint: 'Drag a customer (dot size = demand; the square is the depot); every solver runs again when you let go.' },
  knapsack: { label: 'Knapsack', sizes: [50, 100, 200], exactLimit: { 'branch-and-bound': Infinity },  // POMO's generator: capacity 12.5 / 25 / 25
    hint: 'Items as points (weight across, value up), filled when packed; drag one to change it.' },
};

class PointsView implements ProblemView<PointInstance> {
  readonly label: string;
  readonly sizes: SandboxSize[];
  readonly defaultSize: number;
  readonly onlyListedSizes: boolean;
  readonly hint: string;
  readonly stepName: string;
  readonly element: HTMLCanvasElement;
  private dragging = -1;

  constructor(readonly id: PointProblem) {
    const s = SETUP[id];
    this.label = s.label;
    this.sizes = s.sizes.map((n) => ({ label: String(n), n }));
    this.defaultSize = Math.max(0, s.sizes.indexOf(10));
    this.onlyListedSizes = id !== 'tsp';  // CVRP: the papers' capacities; knapsack: POMO's
    this.hint = s.hint;
    this.stepName = id === 'knapsack' ? 'item' : 'city';
    this.element = h('canvas', { class: 'instance', 'data-testid': 'sandbox-canvas', width: '360', height: '360',
      'aria-label': 'The instance: drag a point to move it; the drawn solution is the table\'s selected row' });
  }

  parse(line: string): PointInstance {
    const v = numbers(line), problem = this.id;
    if (problem === 'tsp') return { problem, xy: v.slice(1, 1 + 2 * v[0]), demand: [], capacity: 0 };
    if (problem === 'knapsack') return { problem, xy: v.slice(2, 2 + 2 * v[0]), demand: [], capacity: v[1] };
    const n = v[0], xy = [v[2], v[3]], demand = [0];
    for (let c = 0; c < n; ++c) { xy.push(v[4 + 3 * c], v[5 + 3 * c]); demand.push(v[6 + 3 * c]); }
    return { problem, xy, demand, capacity: v[1] };
  }

  text(inst: PointInstance): string {
    const n = inst.xy.length / 2;
    if (inst.problem === 'tsp') return `${n} ${inst.xy.join(' ')}\n`;
    if (inst.problem === 'knapsack') return `${n} ${inst.capacity} ${inst.xy.join(' ')}\n`;
    const parts = [String(n - 1), String(inst.capacity), String(inst.xy[0]), String(inst.xy[1])];
    for (let c = 1; c < n; ++c) parts.push(String(inst.xy[2 * c]), String(inst.xy[2 * c + 1]), String(inst.demand[c]));
    return parts.join(' ') + '\n';
  }

  size(inst: PointInstance): SandboxSize {
    const n = inst.xy.length / 2 - (inst.problem === 'cvrp' ? 1 : 0);
    return { label: String(n), n };
  }
  exactApplies(inst: PointInstance, solver: string): boolean {
    return inst.xy.length / 2 <= (SETUP[this.id].exactLimit[solver] ?? 0);
  }

  // TSP, CVRP: the solution's nodes in the order chosen; knapsack: the items in the order taken.
  steps(_inst: PointInstance, row: SolvedRow): number { return row.solution.length; }
  stepCaption(inst: PointInstance, row: SolvedRow, k: number): string {
    const total = row.solution.length;
    if (k === 0) return `0 of ${total} ${this.stepName === 'item' ? 'items' : 'steps'}`;
    const last = row.solution[k - 1];
    if (inst.problem === 'knapsack') return `${k} of ${total} items taken (last: item ${last})`;
    return `${k} of ${total} steps (last: ${inst.problem === 'cvrp' && last === 0 ? 'the depot' : `node ${last}`})`;
  }
  format(objective: number): string { return objective.toFixed(4); }
  note(): string { return ''; }

  private geometry() {
    const canvas = this.element;
    const dpr = globalThis.devicePixelRatio || 1;
    const css = canvas.clientWidth || 360;
    if (canvas.width !== Math.round(css * dpr)) { canvas.width = Math.round(css * dpr); canvas.height = Math.round(css * dpr); }
    const pad = 12 * dpr, side = canvas.width - 2 * pad;
    return { dpr, pad, side };
  }

  draw(inst: PointInstance, row: SolvedRow | undefined, upto: number, ctx: DrawContext) {
    const canvas = this.element;
    const g = canvas.getContext('2d');
    if (!g) return;
    const { dpr, pad, side } = this.geometry();
    const px = (i: number) => pad + inst.xy[2 * i] * side, py = (i: number) => pad + (1 - inst.xy[2 * i + 1]) * side;
    g.clearRect(0, 0, canvas.width, canvas.height);
    g.strokeStyle = '#ddd';
    g.lineWidth = dpr;
    g.strokeRect(pad, pad, side, side);
    const solution = row && !ctx.dragging ? row.solution.slice(0, upto) : [];
    if (inst.problem !== 'knapsack' && solution.length) {
      // The first `upto` nodes chosen (CVRP: a route still open is drawn from the depot).
      const partial = inst.problem === 'cvrp' ? [0, ...solution] : solution;
      const closed = upto >= (row?.solution.length ?? 0);
      const routes = inst.problem === 'tsp' ? [closed ? [...partial, partial[0]] : partial] : routesOf('cvrp', partial).map((r, k, all) =>
        !closed && k === all.length - 1 && partial[partial.length - 1] !== 0 ? r.slice(0, -1) : r);
      routes.forEach((route, k) => {
        g.strokeStyle = colorOf(k);
        g.lineWidth = 2 * dpr;
        g.beginPath();
        route.forEach((node, j) => (j ? g.lineTo(px(node), py(node)) : g.moveTo(px(node), py(node))));
        g.stroke();
      });
    }
    const n = inst.xy.length / 2;
    if (inst.problem === 'knapsack') {
      // Chosen items filled, the others hollow.
      const chosen = new Set(solution);
      let weight = 0;
      for (let i = 0; i < n; ++i) {
        g.beginPath();
        g.arc(px(i), py(i), 4 * dpr, 0, 2 * Math.PI);
        if (chosen.has(i)) { weight += inst.xy[2 * i]; g.fillStyle = colorOf(0); g.fill(); }
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

  bindEdit(host: EditHost<PointInstance>) {
    const canvas = this.element;
    const toUnit = (e: PointerEvent) => {
      const rect = canvas.getBoundingClientRect();
      const { dpr, pad, side } = this.geometry();
      const x = ((e.clientX - rect.left) * dpr - pad) / side, y = 1 - ((e.clientY - rect.top) * dpr - pad) / side;
      return [Math.min(1, Math.max(0, x)), Math.min(1, Math.max(0, y))];
    };
    canvas.addEventListener('pointerdown', (e) => {
      const inst = host.instance();
      if (!inst) return;
      const [x, y] = toUnit(e);
      let best = -1, bestD = 0.04 * 0.04;  // within 4% of the side
      for (let i = 0; i < inst.xy.length / 2; ++i) {
        const d = (inst.xy[2 * i] - x) ** 2 + (inst.xy[2 * i + 1] - y) ** 2;
        if (d < bestD) { best = i; bestD = d; }
      }
      if (best < 0) return;
      this.dragging = best;
      host.setDragging(true);
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener('pointermove', (e) => {
      const inst = host.instance();
      if (this.dragging < 0 || !inst) return;
      const [x, y] = toUnit(e);
      inst.xy[2 * this.dragging] = x;
      inst.xy[2 * this.dragging + 1] = y;
      host.redraw();
    });
    const end = () => {
      if (this.dragging < 0) return;
      this.dragging = -1;
      host.setDragging(false);
      host.edited();
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }
}

export const pointViews = (): ProblemView<PointInstance>[] => [new PointsView('tsp'), new PointsView('cvrp'), new PointsView('knapsack')];
