// Live metric charts (uPlot): every run on the same axes, one color per run. Which charts are shown
// is the selected run's task kind's choice (views/*.ts); the training-dynamics charts every kind
// shares are here.
import type uPlot from 'uplot';
import type { Run } from './runs';
import { knownSize, unwatchSize, watchSize } from './size';

export interface ChartDef {
  id: string;
  // A text, or one made for the selected run (e.g. what a combinatorial problem's objective is).
  title: string | ((selected: Run | undefined) => string);
  // Per run: the series to draw (column name, label suffix, style); a label may depend on the run.
  series: { col: string; label: string | ((run: Run) => string); rolling?: boolean; faded?: boolean; dash?: number[] }[];
  log?: boolean;
  range?: [number, number];  // fixed y range (e.g. [0, 1] for accuracies)
  // The y range starts at 0 (a non-negative metric, e.g. the learning rate: a constant one was drawn
  // on a range so narrow that every tick read the same number).
  fromZero?: boolean;
  // Shown only when a run has a value of this metric (an algorithm's own metrics, e.g. SFT's
  // train_loss; or an option's, e.g. GRPO's KL only with a reference).
  requires?: string;
  perLayer?: boolean;  // per-layer gradient norms of the selected run
  // perLayer: draws one series per group of parameter tensors (the group's norm, sqrt of the sum of
  // squares) instead of one per tensor; e.g. "h0.attn" for a transformer block's attention tensors.
  layerGroup?: (tensor: string) => string;
}

// A series as the PNG export's legend draws it.
interface LegendEntry { label: string; color: string; dash: number[]; width: number; }

export function chartTitle(def: ChartDef, selected: Run | undefined): string {
  return typeof def.title === 'function' ? def.title(selected) : def.title;
}

// The x axis "steps" column of a kind (env steps; gradient steps), and its label.
export interface StepAxis { col: string; label: string; }

// Training-dynamics charts every task kind shows.
// The last finite value of a metric column (NaN when there is none): status lines and summaries.
export function lastFinite(v: ArrayLike<number> | undefined): number {
  if (!v) return NaN;
  for (let i = v.length - 1; i >= 0; --i) if (Number.isFinite(v[i])) return v[i];
  return NaN;
}

export const LR_CHART: ChartDef = { id: 'lr', title: 'Learning rate', fromZero: true, series: [{ col: 'learning_rate', label: 'learning rate' }] };
export const GRAD_NORM_CHART: ChartDef = { id: 'grad_norm', title: 'Global gradient norm (before / after clipping)', series: [
  { col: 'grad_norm', label: 'before clip' }, { col: 'grad_norm_clipped', label: 'after clip', dash: [4, 4] }] };
export const LAYER_NORMS_CHART: ChartDef = { id: 'layer_norms', title: 'Per-layer gradient norm (selected run)', series: [], perLayer: true };

const AXIS = '#222';
// Tick labels that stay readable for tiny (learning rate, KL) and large (steps) values.
function tick(v: number | null): string {
  if (v === null || v === undefined) return '';   // log scales leave gaps in their splits
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + 'M';
  if (a >= 1e4) return (v / 1e3).toFixed(0) + 'k';
  if (a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}
const ticks = (_u: uPlot, splits: (number | null)[]) => splits.map(tick);
const GRID = 'rgba(0,0,0,0.12)';
const LAYER_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function rollingMean(v: number[], w: number): number[] {
  // Mean of the finite values among the last w entries (iterations without a finished episode are
  // NaN and skipped).
  const out = new Array(v.length);
  let sum = 0, cnt = 0;
  for (let i = 0; i < v.length; i++) {
    if (Number.isFinite(v[i])) { sum += v[i]; cnt++; }
    const j = i - w;
    if (j >= 0 && Number.isFinite(v[j])) { sum -= v[j]; cnt--; }
    out[i] = cnt ? sum / cnt : null;
  }
  return out;
}

function fade(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

// uPlot is loaded on its own (a chunk of its own, evaluated in a task of its own), not with the
// page's module: no chart is drawn before the first worker is ready anyway.
let UPlot: typeof uPlot | null = null;
let uplotLoad: Promise<typeof uPlot> | null = null;
function loadUPlot(): Promise<typeof uPlot> {
  return (uplotLoad ??= import('uplot').then((m) => (UPlot = m.default)));
}

const MAX_POINTS = 1500;

function strideIdx(n: number): number[] {
  if (n <= MAX_POINTS) return Array.from({ length: n }, (_, i) => i);
  const s = n / MAX_POINTS, out: number[] = [];
  for (let k = 0; k < MAX_POINTS - 1; k++) out.push(Math.floor(k * s));
  out.push(n - 1);
  return out;
}

const clean = (v: number) => (Number.isFinite(v) ? v : null);

// Norms of groups of tensors: sqrt(sum of squares) of the member norms, per row.
function groupNorms(norms: number[][], names: string[], group: (n: string) => string): { names: string[]; norms: number[][] } {
  const keys: string[] = [], members = new Map<string, number[]>();
  names.forEach((n, l) => {
    const k = group(n);
    if (!members.has(k)) { members.set(k, []); keys.push(k); }
    members.get(k)!.push(l);
  });
  const rows = norms[0]?.length ?? 0;
  return {
    names: keys,
    norms: keys.map((k) => {
      const ls = members.get(k)!, out = new Array(rows);
      for (let i = 0; i < rows; i++) {
        let ss = 0;
        for (const l of ls) { const v = norms[l]?.[i]; ss += v * v; }
        out[i] = Math.sqrt(ss);
      }
      return out;
    }),
  };
}

export class ChartPanel {
  // Each chart's plot, with what its legend and x axis say (the PNG export draws them: uPlot's own
  // legend is HTML, not part of its canvas).
  private plots = new Map<string, { u: uPlot; sig: string; el: HTMLElement; legend: LegendEntry[]; xLabel: string }>();
  private defs: ChartDef[] = [];
  private step: StepAxis = { col: 'global_step', label: 'env steps' };
  private dirty = true;
  private raf = 0;
  private lastDraw = 0;
  // Each chart's box width as last laid out (size.ts): a chart is (re)created at that width, and
  // never reads the layout itself (a forced layout per chart while others are being created).
  private widths = new Map<HTMLElement, number>();

  constructor(private container: HTMLElement, private getRuns: () => Run[], private getSel: () => number,
              private getView: () => { x: 'step' | 'time'; smooth: number }, private runLabel: (i: number) => string,
              private isHidden: (chartId: string) => boolean) {
    loadUPlot().then(() => this.invalidate(), (e) => console.error('could not load the charts (uPlot):', e));
  }

  // The charts to show (the selected run's kind's) and the x axis of "steps".
  setDefs(defs: ChartDef[], step: StepAxis) {
    const same = defs.length === this.defs.length && defs.every((d, i) => d === this.defs[i]) && step.col === this.step.col;
    if (same) return;
    this.queue = [];
    for (const p of this.plots.values()) p.u.destroy();
    this.plots.clear();
    for (const el of this.widths.keys()) unwatchSize(el);
    this.widths.clear();
    this.container.textContent = '';
    this.defs = defs;
    this.step = step;
    for (const def of defs) {
      const el = document.createElement('figure');
      el.className = 'chart';
      el.dataset.chart = def.id;
      el.setAttribute('aria-label', chartTitle(def, this.getRuns()[this.getSel()]));
      el.hidden = this.isHidden(def.id);
      this.container.appendChild(el);
      this.widths.set(el, 0);
      // Only a new width redraws (a chart's own height changes when it is first drawn).
      watchSize(el, () => {
        const w = knownSize(el)?.w ?? 0;
        if (w === this.widths.get(el)) return;
        this.widths.set(el, w);
        const p = this.plots.get(def.id);
        if (p) p.sig = '';
        this.invalidate();
      });
    }
    this.invalidate();
  }
  get stepAxis(): StepAxis { return this.step; }

  invalidate() {
    this.dirty = true;
    if (!this.raf) this.raf = requestAnimationFrame(() => this.frame());
  }

  private frame() {
    this.raf = 0;
    if (!UPlot) return;  // drawn once it has loaded (the constructor's loadUPlot)
    // Charts left over from the previous frame's slice are drawn first.
    if (this.queue.length) { this.drawSlice(); return; }
    // At most ~4 redraws a second: uPlot redraws are cheap, but the page must stay smooth while
    // thousands of points arrive.
    const now = performance.now();
    if (now - this.lastDraw < 250) { this.raf = requestAnimationFrame(() => this.frame()); return; }
    if (!this.dirty) return;
    this.dirty = false;
    this.lastDraw = now;
    this.queue = [...this.defs];
    this.drawSlice();
  }

  // Draws queued charts for at most ~12 ms, and creates at most one new uPlot chart, then yields to
  // the next frame: creating a dozen uPlot charts (the first draw, a resize) in one task would hold
  // the main thread for hundreds of ms, and a new chart's layout and paint land in its frame's task.
  private queue: ChartDef[] = [];
  private drawSlice() {
    const start = performance.now();
    while (this.queue.length && performance.now() - start < 12) {
      if (this.draw(this.queue.shift()!) === 'created') break;
    }
    // New data that arrived while the slices were drawn (dirty again) gets its own frame: without
    // it, the last update of a run that then goes quiet (one step, an eval row) was never drawn.
    if ((this.queue.length || this.dirty) && !this.raf) this.raf = requestAnimationFrame(() => this.frame());
  }

  drawNow() { this.queue = []; if (UPlot) for (const def of this.defs) this.draw(def); }

  private draw(def: ChartDef): 'created' | 'updated' | 'skipped' {
    const el = this.container.querySelector<HTMLElement>(`[data-chart="${def.id}"]`);
    if (!el) return 'skipped';
    const runs = this.getRuns();
    if (def.requires) el.hidden = this.isHidden(def.id) || !runs.some((r) => Number.isFinite(lastFinite(r.store?.col(def.requires!))));
    // Hidden (itself or a panel around it), or not laid out yet: drawn when its width is reported.
    const boxWidth = this.widths.get(el) ?? 0;
    if (el.hidden || el.closest('[hidden]') || boxWidth === 0) return 'skipped';
    const view = this.getView();
    const xcol = view.x === 'time' ? 'wall_s' : this.step.col;
    const tables: uPlot.AlignedData[] = [];
    const series: uPlot.Series[] = [{ label: view.x === 'time' ? 'seconds' : this.step.label }];
    // Points while there are too few to draw a line (the first steps of a slow run).
    const few = Math.max(0, ...runs.map((r) => r.store?.length ?? 0)) < 3;
    if (def.perLayer) {
      const run = runs[this.getSel()];
      const st = run?.store;
      if (st && st.length) {
        const idx = strideIdx(st.length);
        const xs = idx.map((i) => st.col(xcol)[i]);
        const g = def.layerGroup ? groupNorms(st.layerNorms, st.layerNames, def.layerGroup) : { names: st.layerNames, norms: st.layerNorms };
        const ys = g.norms.map((l) => idx.map((i) => clean(l[i])));
        tables.push([xs, ...ys] as uPlot.AlignedData);
        g.norms.forEach((_, l) => series.push({ label: g.names[l] ?? `layer ${l}`, stroke: LAYER_COLORS[l % LAYER_COLORS.length], width: 1.5, spanGaps: true, points: { show: few } }));
      }
    } else {
      runs.forEach((run, r) => {
        const st = run.store;
        // A run of another task kind has none of these columns: not drawn (no empty legend entries).
        if (!st || !st.length || !def.series.some((s) => st.cols.includes(s.col))) return;
        const idx = strideIdx(st.length);
        const xs = idx.map((i) => st.col(xcol)[i]);
        // Series of columns this run does not have (a population's agents beyond its size) are left out.
        const present = def.series.filter((s) => st.cols.includes(s.col));
        const cols = present.map((s) => {
          const c = st.col(s.col);
          const v = s.rolling ? rollingMean(c, view.smooth) : c;
          return idx.map((i) => clean(v[i] as number));
        });
        tables.push([xs, ...cols] as uPlot.AlignedData);
        for (const s of present) {
          series.push({
            label: `${this.runLabel(r)} ${s.rolling ? `mean(${view.smooth})` : typeof s.label === 'function' ? s.label(run) : s.label}`,
            stroke: s.faded ? fade(run.color, 0.35) : run.color,
            width: s.faded ? 1 : 2, dash: s.dash, spanGaps: true,
            points: { show: few },
          });
        }
      });
    }
    const width = Math.max(260, boxWidth - 4);
    const height = Math.round(Math.min(240, Math.max(150, width * 0.45)));
    const title = chartTitle(def, runs[this.getSel()]);
    const sig = JSON.stringify([series.map((s) => [s.label, s.stroke]), width, view.x, few, title]);
    let data: uPlot.AlignedData;
    if (!tables.length) data = [[]];
    else if (tables.length === 1) data = tables[0];
    else data = UPlot!.join(tables);
    const p = this.plots.get(def.id);
    if (p && p.sig === sig) { p.u.setData(data); return 'updated'; }
    if (p) p.u.destroy();
    el.textContent = '';
    el.setAttribute('aria-label', title);
    const u = new UPlot!({
      title, width, height, series,
      scales: {
        x: { time: false },
        y: def.log ? { distr: 3 } : def.range ? { range: def.range }
          : def.fromZero ? { range: (_u: unknown, _min: number, max: number): [number, number] => [0, max > 0 ? 1.1 * max : 1] } : {},
      },
      axes: [{ stroke: AXIS, grid: { stroke: GRID }, ticks: { stroke: GRID }, values: ticks },
             { stroke: AXIS, grid: { stroke: GRID }, ticks: { stroke: GRID }, size: 56, values: ticks }],
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false } },
    }, data, el);
    const legend = series.slice(1).map((x) => ({ label: String(x.label ?? ''), color: String(x.stroke ?? AXIS), dash: (x.dash as number[] | undefined) ?? [], width: Number(x.width ?? 2) }));
    this.plots.set(def.id, { u, sig, el, legend, xLabel: String(series[0].label) });
    return 'created';
  }

  // All charts as one PNG, in a grid: each chart's title, its legend (each series' line in its run's
  // colour and dash, so "A greedy" and "A multi-start" are told apart), its canvas and its x axis.
  async png(): Promise<Blob> {
    this.drawNow();
    const plots = [...this.plots.entries()].filter(([, p]) => p.el.offsetParent !== null);
    const cols = 2, pad = 16, titleH = 28, lineH = 20, xLabelH = 22, sample = 26;
    const cw = Math.max(...plots.map(([, p]) => p.u.ctx.canvas.width), 300);
    const chh = Math.max(...plots.map(([, p]) => p.u.ctx.canvas.height), 150);
    const c = document.createElement('canvas');
    const g = c.getContext('2d')!;
    const legendFont = '14px system-ui, sans-serif';
    // Legend entries laid out in lines of the chart's width.
    g.font = legendFont;
    const layouts = plots.map(([, p]) => {
      const lines: { e: LegendEntry; x: number }[][] = [[]];
      let x = 0;
      for (const e of p.legend) {
        const w = sample + 6 + g.measureText(e.label).width + 18;
        if (x > 0 && x + w > cw) { lines.push([]); x = 0; }
        lines[lines.length - 1].push({ e, x });
        x += w;
      }
      return lines;
    });
    // Each row of charts as tall as its longest legend needs.
    const rows = Math.ceil(plots.length / cols);
    const legendH = Array.from({ length: rows }, (_, r) => Math.max(1, ...layouts.slice(r * cols, r * cols + cols).map((l) => l.length)) * lineH);
    const rowTop: number[] = [];
    let total = 40 + pad;
    for (let r = 0; r < rows; r++) { rowTop.push(total); total += titleH + legendH[r] + chh + xLabelH + pad; }
    c.width = cols * (cw + pad) + pad; c.height = total;
    g.fillStyle = '#fff'; g.fillRect(0, 0, c.width, c.height);
    g.fillStyle = '#111'; g.font = 'bold 20px system-ui, sans-serif';
    g.fillText('PolicyLab — ' + this.getRuns().map((r, i) => `${this.runLabel(i)}: ${r.applied?.algo} ${r.taskName} seed ${r.applied?.seed}`).join('  |  '), pad, 28);
    plots.forEach(([id, p], k) => {
      const row = Math.floor(k / cols), x = pad + (k % cols) * (cw + pad), y = rowTop[row];
      g.fillStyle = '#111'; g.font = '16px system-ui, sans-serif';
      const def = this.defs.find((d) => d.id === id);
      g.fillText(def ? chartTitle(def, this.getRuns()[this.getSel()]) : id, x, y + 18);
      g.font = legendFont;
      layouts[k].forEach((line, j) => {
        const ly = y + titleH + j * lineH + lineH / 2;
        for (const { e, x: ex } of line) {
          g.save();
          g.strokeStyle = e.color; g.lineWidth = Math.max(2, e.width); g.setLineDash(e.dash);
          g.beginPath(); g.moveTo(x + ex, ly); g.lineTo(x + ex + sample, ly); g.stroke();
          g.restore();
          g.fillStyle = '#111'; g.textBaseline = 'middle';
          g.fillText(e.label, x + ex + sample + 6, ly);
          g.textBaseline = 'alphabetic';
        }
      });
      const top = y + titleH + legendH[row];
      g.drawImage(p.u.ctx.canvas, x, top);
      g.fillStyle = '#333'; g.textAlign = 'center';
      g.fillText(p.xLabel, x + p.u.ctx.canvas.width / 2, top + p.u.ctx.canvas.height + 16);
      g.textAlign = 'start';
    });
    return new Promise((res, rej) => c.toBlob((b) => (b ? res(b) : rej(new Error('PNG encoding failed'))), 'image/png'));
  }
}
