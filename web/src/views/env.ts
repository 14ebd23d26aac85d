// Views of env tasks (Gym-style envs): return and PPO-style statistics charts, the current policy
// acting in its env at real-time speed, and a policy/value map over two observation dimensions.
import { GRAD_NORM_CHART, LAYER_NORMS_CHART, LR_CHART, lastFinite, rollingMean, type ChartDef } from '../charts';
import { drawHeatmap, obsNames, obsRange, type HeatmapData } from '../heatmap';
import type { Config, FromWorker, HeatmapRequest } from '../protocol';
import type { Run } from '../runs';
import { watchSize } from '../size';
import { Viewer } from '../viewer';
import { h } from './dom';
import type { KindViews, ViewHost } from './types';

const CHARTS: ChartDef[] = [
  { id: 'return', title: 'Episodic return', series: [
    { col: 'episodic_return_mean', label: 'return', faded: true },
    { col: 'episodic_return_mean', label: 'rolling mean', rolling: true }] },
  { id: 'policy_loss', title: 'Policy loss', series: [{ col: 'policy_loss', label: 'policy loss' }] },
  { id: 'value_loss', title: 'Value loss', series: [{ col: 'value_loss', label: 'value loss' }] },
  { id: 'entropy', title: 'Entropy', series: [{ col: 'entropy', label: 'entropy' }] },
  { id: 'approx_kl', title: 'Approx. KL', series: [
    { col: 'approx_kl_k3', label: 'KL k3' }, { col: 'approx_kl_k1', label: 'KL k1', dash: [4, 4] }] },
  { id: 'clip_fraction', title: 'Clip fraction', series: [{ col: 'clip_fraction', label: 'clip fraction' }] },
  { id: 'explained_variance', title: 'Explained variance', series: [{ col: 'explained_variance', label: 'explained var.' }] },
  LR_CHART, GRAD_NORM_CHART, LAYER_NORMS_CHART,
];

export class EnvViews implements KindViews {
  readonly kind = 'env';
  readonly panels: HTMLElement[];
  readonly charts = CHARTS;
  readonly stepAxis = { col: 'global_step', label: 'env steps' };
  private active = false;
  private viewer: Viewer;
  private heat: HeatmapData | null = null;
  private lastObs: Float32Array | null = null;
  private el: Record<string, HTMLElement> = {};

  constructor(private host: ViewHost) {
    const canvas = h('canvas', { class: 'viewer', width: '480', height: '280', role: 'img', 'aria-label': 'The current policy acting in the environment', 'data-testid': 'viewer' }) as HTMLCanvasElement;
    const cap = h('div', { class: 'caption' });
    const det = h('input', { type: 'checkbox', 'data-testid': 'det' }) as HTMLInputElement;
    const viewerSec = h('section', { class: 'panel', 'data-panel': 'viewer', 'data-kind': 'env' }, h('h2', {}, 'Policy at work (real time)'), canvas, cap, h('label', { class: 'inline' }, det, ' deterministic actions'));
    const hx = h('select', { 'aria-label': 'Map x dimension' }), hy = h('select', { 'aria-label': 'Map y dimension' }), hact = h('select', { 'aria-label': 'Action shown' });
    const fixed = h('div', { class: 'fixed-dims' });
    const hmA = h('canvas', { width: '260', height: '220', role: 'img', 'aria-label': 'Policy map', 'data-testid': 'heat-policy' }) as HTMLCanvasElement;
    const hmV = h('canvas', { width: '260', height: '220', role: 'img', 'aria-label': 'Value map', 'data-testid': 'heat-value' }) as HTMLCanvasElement;
    const legA = h('div', { class: 'caption' }), legV = h('div', { class: 'caption' });
    const heatSec = h('section', { class: 'panel', 'data-panel': 'heatmap', 'data-kind': 'env' }, h('h2', {}, 'Policy / value map'),
      h('div', { class: 'heat-opts' }, h('label', { class: 'inline' }, 'x ', hx), h('label', { class: 'inline' }, 'y ', hy), h('label', { class: 'inline' }, 'action ', hact)),
      fixed, h('div', { class: 'heat-row' }, h('figure', {}, hmA, legA), h('figure', {}, hmV, legV)));
    this.panels = [viewerSec, heatSec];
    Object.assign(this.el, { canvas, cap, det, hx, hy, hact, fixed, hmA, hmV, legA, legV });
    this.viewer = new Viewer(canvas, cap);
    this.viewer.draw();

    det.addEventListener('change', () => { this.host.state.view.det = det.checked; this.syncRuns(); this.host.saveUrl(); });
    for (const s of [hx, hy]) s.addEventListener('change', () => {
      const v = this.host.state.view;
      v.hx = Number((hx as HTMLSelectElement).value); v.hy = Number((hy as HTMLSelectElement).value);
      v.hf = []; this.buildHeatOpts(); this.host.saveUrl();
    });
    hact.addEventListener('change', () => this.drawHeat());
    // The maps are drawn at their displayed size: again when it changes (and once it is first known).
    for (const c of [hmA, hmV]) watchSize(c, () => this.drawHeat());
  }

  private get sel(): number { return this.host.state.view.sel; }

  activate() {
    this.active = true;
    (this.el.det as HTMLInputElement).checked = this.host.state.view.det;
    this.heat = null;
    this.viewer.clear();
    this.buildHeatOpts();
    this.syncRuns();
  }
  deactivate() {
    this.active = false;
    this.heat = null;
    this.viewer.clear();
    for (const r of this.host.runs) { r.viewer(false, false); r.heatmap(null); }
  }

  // The viewer and the map run for the selected run only.
  syncRuns() {
    const v = this.host.state.view;
    this.host.runs.forEach((r, i) => r.viewer(this.active && i === v.sel && !this.host.isHidden('viewer'), v.det));
    this.requestHeatmap();
  }

  onFieldChange(name: string) {
    if (name === 'env_id') this.buildHeatOpts();
  }

  onMessage(run: Run, m: FromWorker, selected: boolean) {
    if (!selected || !this.active) return;
    if (m.type === 'frame') { this.lastObs = m.obs; this.viewer.push(m); }
    else if (m.type === 'heatmap') { this.heat = m; this.drawHeatSoon(); }
    else if (m.type === 'configured') { this.heat = null; this.viewer.clear(); this.buildHeatOpts(); }
  }

  status(run: Run): string {
    const st = run.store;
    const ret = st ? rollingMean(st.col('episodic_return_mean'), this.host.state.view.smooth) : [];
    // The latest iteration that finished an episode (Pendulum's long episodes leave most without one).
    const last = lastFinite(ret);
    return `${run.globalStep.toLocaleString('en-US')} steps · return ${Number.isFinite(last) ? last.toFixed(1) : '–'}`;
  }

  groupNotes(): Record<string, string> { return {}; }

  // ------------------------------------------------------------------ policy/value map
  private envInfo(c: Config | null | undefined) { return c ? this.host.meta?.envs[String(c.env_id)] : undefined; }

  private buildHeatOpts() {
    const env = this.envInfo(this.host.state.runs[this.sel]);
    if (!env) return;
    const names = obsNames(env), d = names.length, v = this.host.state.view;
    if (v.hx >= d) v.hx = 0;
    if (v.hy >= d || v.hy === v.hx) v.hy = v.hx === 0 ? Math.min(1, d - 1) : 0;
    for (const [sel, cur] of [[this.el.hx, v.hx], [this.el.hy, v.hy]] as const) {
      sel.textContent = '';
      names.forEach((n, k) => sel.appendChild(h('option', { value: String(k) }, n)));
      (sel as HTMLSelectElement).value = String(cur);
    }
    const hact = this.el.hact as HTMLSelectElement;
    hact.textContent = '';
    const A = env.action_space.discrete ? env.action_space.n ?? 2 : env.action_space.dim ?? 1;
    for (let a = 0; a < A; a++) hact.appendChild(h('option', { value: String(a) }, env.action_space.discrete ? `P(action ${a})` : `mean action[${a}]`));
    hact.value = String(env.action_space.discrete && A > 1 ? 1 : 0);
    const fx = this.el.fixed;
    fx.textContent = '';
    const fixedVals = names.map((_, k) => v.hf[k] ?? 0);
    names.forEach((n, k) => {
      if (k === v.hx || k === v.hy) return;
      const [lo, hi] = obsRange(env, k);
      const inp = h('input', { type: 'number', step: 'any', value: String(fixedVals[k]), class: 'short', 'aria-label': `${n} (held fixed)` }) as HTMLInputElement;
      inp.addEventListener('change', () => {
        const x = Number(inp.value);
        if (!Number.isFinite(x)) { this.host.message(`${n}: must be a number`, 'error'); return; }
        if (x < lo || x > hi) this.host.message(`${n}: ${x} is outside the usual range [${lo}, ${hi}]`, 'info');
        const hf = names.map((_, q) => v.hf[q] ?? 0); hf[k] = x; v.hf = hf;
        this.requestHeatmap(); this.host.saveUrl();
      });
      fx.appendChild(h('label', { class: 'inline' }, `${n} = `, inp));
    });
    this.requestHeatmap();
  }
  private requestHeatmap() {
    const v = this.host.state.view, runs = this.host.runs;
    const env = this.envInfo(this.host.state.runs[v.sel]);
    if (!env || !runs[v.sel] || !this.active) { for (const r of runs) r.heatmap(null); return; }
    const names = obsNames(env);
    const [x0, x1] = obsRange(env, v.hx), [y0, y1] = obsRange(env, v.hy);
    const req: HeatmapRequest = { dx: v.hx, dy: v.hy, fixed: names.map((_, k) => v.hf[k] ?? 0), res: 40, lo: [x0, y0], hi: [x1, y1] };
    runs.forEach((q, i) => q.heatmap(i === v.sel && !this.host.isHidden('heatmap') ? req : null));
  }
  // In a task of its own right after the next frame (whose style and layout are then done): drawn in
  // a message handler, setting a canvas font forced a style recalculation of whatever the page had
  // changed since the last frame; drawn in the frame itself, it added to the frame that creates a chart.
  private heatPending = false;
  private drawHeatSoon() {
    if (this.heatPending) return;
    this.heatPending = true;
    requestAnimationFrame(() => setTimeout(() => { this.heatPending = false; this.drawHeat(); }, 0));
  }
  private drawHeat() {
    const m = this.heat;
    const env = this.envInfo(this.host.runs[this.sel]?.applied);
    if (!m || !env) return;
    const names = obsNames(env);
    const a = Number((this.el.hact as HTMLSelectElement).value) || 0;
    const mk: [number, number] | null = this.lastObs ? [this.lastObs[m.req.dx], this.lastObs[m.req.dy]] : null;
    this.el.legA.textContent = drawHeatmap(this.el.hmA as HTMLCanvasElement, m, 'action', a, names[m.req.dx], names[m.req.dy], mk);
    this.el.legV.textContent = drawHeatmap(this.el.hmV as HTMLCanvasElement, m, 'value', a, names[m.req.dx], names[m.req.dy], mk);
  }
}
