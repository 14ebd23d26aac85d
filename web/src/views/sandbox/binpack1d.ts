// 1-D online bin packing in the instance sandbox: bins as columns (SVG) filled bottom-up by their
// items in arrival order, each item labelled with its size; the lower bound ⌈Σs/C⌉ marked as a
// dashed line after that many columns. The slider brings the items in one at a time (the arriving
// item outlined), so first fit and best fit (click their rows) are watched deciding the same items.
import { colorOf, numbers, svg, type DrawContext, type ProblemView, type SandboxSize, type SolvedRow } from './types';

export interface BinPack1DInstance { n: number; capacity: number; size: number[] }

const W = 480, H = 240, LEFT = 30, RIGHT = 6, TOP = 20, BOTTOM = 22;

export function lowerBound(inst: BinPack1DInstance): number {
  return Math.ceil(inst.size.reduce((a, b) => a + b, 0) / inst.capacity);
}

class BinPack1DView implements ProblemView<BinPack1DInstance> {
  readonly id = 'binpack1d';
  readonly label = 'Bin packing 1-D';
  readonly sizes: SandboxSize[] = [10, 20, 40, 60, 120].map((n) => ({ label: String(n), n }));
  readonly defaultSize = 2;
  readonly hint = 'Items (Falkenauer\'s uniform class: sizes 20–100, bins of 150) arrive one at a time and are placed at once. Columns are bins; click first-fit or best-fit to compare; the slider brings the items in one by one.';
  readonly paste = 'A dataset line "n capacity s1 ... sn" (integer sizes in [1, capacity])';
  readonly stepName = 'item';
  readonly element: SVGSVGElement;

  constructor() {
    this.element = svg('svg', { class: 'bins', 'data-testid': 'sandbox-bins', role: 'img', width: '100%', viewBox: `0 0 ${W} ${H}` });
  }

  parse(line: string): BinPack1DInstance {
    const v = numbers(line);
    return { n: v[0], capacity: v[1], size: v.slice(2, 2 + v[0]) };
  }
  text(inst: BinPack1DInstance): string { return [inst.n, inst.capacity, ...inst.size].join(' ') + '\n'; }
  size(inst: BinPack1DInstance): SandboxSize { return { label: String(inst.n), n: inst.n }; }
  exactApplies(): boolean { return true; }  // no exact solver
  steps(inst: BinPack1DInstance): number { return inst.n; }
  format(objective: number): string { return String(Math.round(objective)); }
  note(inst: BinPack1DInstance): string {
    const total = inst.size.reduce((a, b) => a + b, 0);
    return `${inst.n} items, Σs = ${total}, capacity ${inst.capacity}: lower bound ⌈Σs/C⌉ = ${lowerBound(inst)} bins`;
  }
  stepCaption(inst: BinPack1DInstance, row: SolvedRow, k: number): string {
    if (k === 0) return `0 of ${inst.n} items placed`;
    const bins = Math.max(...row.solution.slice(0, k)) + 1;
    return `${k} of ${inst.n} items · item ${k - 1} (size ${inst.size[k - 1]}) → bin ${row.solution[k - 1]} · ${bins} bin${bins > 1 ? 's' : ''} open`;
  }

  draw(inst: BinPack1DInstance, row: SolvedRow | undefined, upto: number, ctx: DrawContext) {
    const el = this.element;
    el.textContent = '';
    const lb = lowerBound(inst);
    // Column width from the most bins any solution in the table uses (a shared scale).
    const most = Math.max(lb, ...ctx.rows.filter((r) => r.solution.length === inst.n).map((r) => Math.max(-1, ...r.solution) + 1));
    const slot = (W - LEFT - RIGHT) / Math.max(1, most), gap = Math.min(4, slot * 0.15), bw = slot - gap;
    const y = (v: number) => TOP + (H - TOP - BOTTOM) * (1 - v / inst.capacity);
    // Capacity axis.
    el.append(svg('line', { x1: LEFT - 4, x2: LEFT - 4, y1: y(0), y2: y(inst.capacity), stroke: '#57606a' }),
      svg('text', { x: LEFT - 7, y: y(inst.capacity) + 4, 'text-anchor': 'end', class: 'gantt-tick' }, String(inst.capacity)),
      svg('text', { x: LEFT - 7, y: y(0) + 4, 'text-anchor': 'end', class: 'gantt-tick' }, '0'));
    const shown = row && row.solution.length === inst.n ? Math.min(upto, inst.n) : 0;
    const bins = shown ? Math.max(...row!.solution.slice(0, shown)) + 1 : 0;
    const load = Array(bins).fill(0);
    for (let b = 0; b < bins; ++b) {
      el.append(svg('rect', { x: LEFT + b * slot, y: y(inst.capacity), width: bw, height: y(0) - y(inst.capacity), class: 'bin', fill: '#fff', stroke: '#8c959f', 'data-bin': b }));
    }
    for (let i = 0; i < shown; ++i) {
      const b = row!.solution[i], s = inst.size[i];
      const bx = LEFT + b * slot, top = y(load[b] + s), hgt = y(load[b]) - y(load[b] + s);
      const latest = i === shown - 1 && shown < inst.n;
      const item = svg('rect', { x: bx + 1, y: top, width: Math.max(1, bw - 2), height: Math.max(0.5, hgt), class: 'item', fill: colorOf(i % 10),
        'fill-opacity': 0.85, stroke: latest ? '#1b1f24' : '#fff', 'stroke-width': latest ? 2 : 0.75, 'data-item': i, 'data-bin': b });
      item.append(svg('title', {}, `item ${i}: size ${s}, bin ${b}`));
      el.append(item);
      if (bw >= 16 && hgt >= 11) el.append(svg('text', { x: bx + bw / 2, y: top + hgt / 2 + 4, 'text-anchor': 'middle', class: 'bin-label' }, String(s)));
      load[b] += s;
    }
    for (let b = 0; b < bins; ++b) {
      if (bw >= 14) el.append(svg('text', { x: LEFT + b * slot + bw / 2, y: H - BOTTOM + 14, 'text-anchor': 'middle', class: 'gantt-tick' }, String(b)));
    }
    // The lower bound: no packing uses fewer bins than the columns left of this line.
    const lx = LEFT + lb * slot - gap / 2;
    el.append(svg('line', { x1: lx, x2: lx, y1: TOP - 6, y2: y(0), stroke: '#a40e26', 'stroke-width': 1.5, 'stroke-dasharray': '5 3', class: 'bins-lower-bound' }),
      svg('text', { x: Math.min(lx, W - RIGHT), y: TOP - 8, 'text-anchor': lx > W / 2 ? 'end' : 'start', fill: '#a40e26', class: 'gantt-tick' }, `lower bound ⌈Σs/C⌉ = ${lb}`),
      svg('text', { x: LEFT, y: TOP - 8, class: 'gantt-tick' }, row ? `${bins} bin${bins === 1 ? '' : 's'}` : 'no packing yet'));
    el.setAttribute('aria-label', row ? `${row.label}: ${bins} bins for ${shown} items (lower bound ${lb})` : 'bins (no packing yet)');
  }
}

export const binPack1DView = (): ProblemView<BinPack1DInstance> => new BinPack1DView();
