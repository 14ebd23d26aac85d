// Job-shop scheduling in the instance sandbox: a schedule as a Gantt chart (SVG) — one row per
// machine, one bar per operation coloured by its job and labelled with it, the makespan marked — on
// a time axis shared by every solution in the table (the longest makespan), so switching rows
// compares them at one scale. The slider builds the schedule operation by operation in the order of
// their start times (ties: lower job first).
//
// The solvers return start times only (core/combo/jobshop.hpp), not the order they dispatched in.
// For the active schedules they build (dispatching with L2D's left shift, Giffler–Thompson branch
// and bound), dispatching the operations in start-time order into the same placement rebuilds the
// same schedule, so this is one dispatch order of it — not necessarily the rule's own, which may
// place an operation into an earlier gap after later-starting ones.
import { colorOf, numbers, svg, type DrawContext, type ProblemView, type SandboxSize, type SolvedRow } from './types';

export interface JobShopInstance { jobs: number; machines: number; machine: number[]; duration: number[] }

// The exact branch and bound is offered up to this size (the core refuses larger instances).
const EXACT_JOBS = 6, EXACT_MACHINES = 6;
const W = 480, LEFT = 36, RIGHT = 10, TOP = 22, ROW = 28, AXIS = 22, LEGEND = 18, PER = 42;

// The operations (job-major indices) of a schedule in the order they are built.
export function buildOrder(inst: JobShopInstance, start: number[]): number[] {
  const ops = [...Array(inst.jobs * inst.machines).keys()];
  return ops.sort((a, b) => start[a] - start[b] || Math.floor(a / inst.machines) - Math.floor(b / inst.machines) || a - b);
}

// A round step of about `target` ticks for the axis.
function tickStep(span: number, target = 8): number {
  const raw = span / target, p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

class JobShopView implements ProblemView<JobShopInstance> {
  readonly id = 'jobshop';
  readonly label = 'Job-shop';
  readonly sizes: SandboxSize[] = [[3, 3], [4, 4], [6, 6], [10, 5], [10, 10], [15, 10], [15, 15], [20, 15]].map(([n, m]) => ({ label: `${n} × ${m}`, n, machines: m }));
  readonly defaultSize = 2;
  readonly hint = 'Jobs × machines; each job visits every machine once in its own order. The Gantt chart has one row per machine, bars coloured by job; the slider builds the schedule one operation at a time (in start-time order).';
  readonly paste = 'A job-shop file (first line "n m", then per job m pairs "machine duration", machines from 0; or Taillard\'s Times/Machines format) or a dataset line "n m m d m d ..."';
  readonly stepName = 'operation';
  readonly element: SVGSVGElement;

  constructor() {
    this.element = svg('svg', { class: 'gantt', 'data-testid': 'sandbox-gantt', role: 'img', width: '100%', viewBox: `0 0 ${W} 200` });
  }

  parse(line: string): JobShopInstance {
    const v = numbers(line), jobs = v[0], machines = v[1], machine: number[] = [], duration: number[] = [];
    for (let o = 0; o < jobs * machines; ++o) { machine.push(v[2 + 2 * o]); duration.push(v[3 + 2 * o]); }
    return { jobs, machines, machine, duration };
  }
  text(inst: JobShopInstance): string {
    const parts = [inst.jobs, inst.machines];
    for (let o = 0; o < inst.jobs * inst.machines; ++o) parts.push(inst.machine[o], inst.duration[o]);
    return parts.join(' ') + '\n';
  }
  size(inst: JobShopInstance): SandboxSize { return { label: `${inst.jobs} × ${inst.machines}`, n: inst.jobs, machines: inst.machines }; }
  exactApplies(inst: JobShopInstance): boolean { return inst.jobs <= EXACT_JOBS && inst.machines <= EXACT_MACHINES; }
  steps(inst: JobShopInstance): number { return inst.jobs * inst.machines; }
  format(objective: number): string { return String(Math.round(objective)); }

  // Σ durations per machine and per job: the makespan is at least their maximum.
  note(inst: JobShopInstance): string {
    const perMachine = Array(inst.machines).fill(0), perJob = Array(inst.jobs).fill(0);
    for (let o = 0; o < inst.jobs * inst.machines; ++o) { perMachine[inst.machine[o]] += inst.duration[o]; perJob[Math.floor(o / inst.machines)] += inst.duration[o]; }
    return `${inst.jobs} jobs × ${inst.machines} machines · lower bound max(machine load, job length) = ${Math.max(...perMachine, ...perJob)}`;
  }

  stepCaption(inst: JobShopInstance, row: SolvedRow, k: number): string {
    const total = inst.jobs * inst.machines;
    if (k === 0) return `0 of ${total} operations scheduled`;
    const order = buildOrder(inst, row.solution);
    const o = order[k - 1], j = Math.floor(o / inst.machines), s = row.solution[o];
    let end = 0;
    for (const p of order.slice(0, k)) end = Math.max(end, row.solution[p] + inst.duration[p]);
    return `${k} of ${total} operations · job ${j} op ${o % inst.machines} on machine ${inst.machine[o]}: ${s} → ${s + inst.duration[o]} · makespan so far ${end}`;
  }

  draw(inst: JobShopInstance, row: SolvedRow | undefined, upto: number, ctx: DrawContext) {
    const el = this.element, m = inst.machines, n = inst.jobs;
    const perRow = Math.floor((W - LEFT) / PER), legendRows = Math.ceil(n / perRow);
    const height = TOP + m * ROW + AXIS + 4 + LEGEND * legendRows;
    el.setAttribute('viewBox', `0 0 ${W} ${height}`);
    el.textContent = '';
    const makespanOf = (r: SolvedRow) => Math.max(0, ...r.solution.map((s, o) => s + inst.duration[o]));
    // The time axis: the longest makespan in the table (or the total work before any solution).
    const horizon = Math.max(1, ...ctx.rows.filter((r) => r.solution.length === n * m).map(makespanOf),
      row ? makespanOf(row) : inst.duration.reduce((a, b) => a + b, 0) / Math.max(1, m));
    const x = (t: number) => LEFT + ((W - LEFT - RIGHT) * t) / horizon;
    for (let k = 0; k < m; ++k) {
      const y = TOP + k * ROW;
      el.append(svg('rect', { x: LEFT, y, width: W - LEFT - RIGHT, height: ROW, class: 'gantt-lane', fill: k % 2 ? '#f6f8fa' : '#fff' }),
        svg('text', { x: LEFT - 6, y: y + ROW / 2 + 4, 'text-anchor': 'end', class: 'gantt-machine' }, `M${k}`));
    }
    // Axis ticks.
    const axisY = TOP + m * ROW;
    const step = tickStep(horizon);
    for (let t = 0; t <= horizon + 1e-9; t += step) {
      el.append(svg('line', { x1: x(t), x2: x(t), y1: axisY, y2: axisY + 4, stroke: '#57606a' }),
        svg('text', { x: x(t), y: axisY + 15, 'text-anchor': 'middle', class: 'gantt-tick' }, String(t)));
    }
    el.append(svg('line', { x1: LEFT, x2: W - RIGHT, y1: axisY, y2: axisY, stroke: '#57606a' }));
    if (row && row.solution.length === n * m) {
      const order = buildOrder(inst, row.solution).slice(0, Math.min(upto, n * m));
      let end = 0;
      order.forEach((o, i) => {
        const j = Math.floor(o / m), s = row.solution[o], d = inst.duration[o], mk = inst.machine[o];
        end = Math.max(end, s + d);
        const bx = x(s), bw = Math.max(1, x(s + d) - x(s)), by = TOP + mk * ROW + 3;
        const latest = i === order.length - 1 && order.length < n * m;
        const bar = svg('rect', { x: bx, y: by, width: bw, height: ROW - 6, rx: 2, fill: colorOf(j), class: 'gantt-op',
          stroke: latest ? '#1b1f24' : '#fff', 'stroke-width': latest ? 2 : 0.75, 'data-job': j, 'data-op': o % m, 'data-machine': mk, 'data-start': s });
        bar.append(svg('title', {}, `job ${j}, operation ${o % m}: machine ${mk}, ${s} → ${s + d} (duration ${d})`));
        el.append(bar);
        if (bw >= 14) el.append(svg('text', { x: bx + bw / 2, y: by + (ROW - 6) / 2 + 4, 'text-anchor': 'middle', class: 'gantt-label' }, bw >= 30 ? `J${j}` : String(j)));
      });
      // The makespan (of the operations shown so far while building).
      const full = order.length === n * m;
      el.append(svg('line', { x1: x(end), x2: x(end), y1: TOP - 4, y2: axisY, class: 'gantt-makespan', stroke: '#a40e26', 'stroke-width': 2, 'stroke-dasharray': '5 3' }),
        svg('text', { x: Math.min(x(end) + 4, W - RIGHT - 2), y: TOP - 6, 'text-anchor': x(end) > W - 90 ? 'end' : 'start', class: 'gantt-makespan-label', fill: '#a40e26' },
          `${full ? 'makespan' : 'so far'} ${end}`));
    }
    // Legend: the jobs' colours.
    for (let j = 0; j < n; ++j) {
      const lx = LEFT + (j % perRow) * PER, ly = axisY + AXIS + 4 + Math.floor(j / perRow) * LEGEND;
      el.append(svg('rect', { x: lx, y: ly, width: 12, height: 12, fill: colorOf(j), rx: 2 }),
        svg('text', { x: lx + 15, y: ly + 10, class: 'gantt-tick' }, `J${j}`));
    }
    el.setAttribute('aria-label', row ? `Gantt chart of ${row.label}'s schedule, makespan ${this.format(row.objective)}` : 'Gantt chart (no schedule yet)');
  }
}

export const jobShopView = (): ProblemView<JobShopInstance> => new JobShopView();
