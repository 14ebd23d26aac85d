// The preference-loss explorer: every DPO-family loss_type of the core's loss lab
// (core/algos/preference_losses.cpp, evaluated in the lab worker) on one plot, as a function of the
// pair's log-ratio margin h = (log π(y_c) − log π_ref(y_c)) − (log π(y_r) − log π_ref(y_r)), with
// β and label smoothing live. Each point is one pair whose chosen and rejected log-ratios are +h/2
// and −h/2 (one token each, so the per-token losses read the same numbers). The second plot is the
// gradient weight −∂loss/∂log π(y_c): how hard the loss still pushes the chosen completion up at
// that margin — DPO's fades as the margin grows, IPO's turns negative past its target 1/(2β), hinge's
// stops at 1/β.
import uPlot from 'uplot';
import { Coalescer, type LabClient } from '../lab/client';
import type { LabCall, LabResult } from '../lab/protocol';
import { h } from './dom';

interface PrefCurve { type: string; label: string; color: string }
const PREF_CURVES: PrefCurve[] = [
  { type: 'sigmoid', label: 'DPO (sigmoid)', color: '#1f77b4' },
  { type: 'ipo', label: 'IPO', color: '#ff7f0e' },
  { type: 'hinge', label: 'hinge (SLiC)', color: '#2ca02c' },
  { type: 'robust', label: 'robust DPO', color: '#d62728' },
  { type: 'exo_pair', label: 'EXO (ε ≥ 1e-3)', color: '#9467bd' },
  { type: 'nca_pair', label: 'NCA', color: '#8c564b' },
  { type: 'sppo_hard', label: 'SPPO (hard)', color: '#e377c2' },
  { type: 'apo_zero', label: 'APO-zero', color: '#7f7f7f' },
  { type: 'apo_down', label: 'APO-down', color: '#bcbd22' },
  { type: 'discopop', label: 'DiscoPOP', color: '#17becf' },
  { type: 'bco_pair', label: 'BCO (δ = 0)', color: '#393b79' },
];
export const PREF_MARGINS = Array.from({ length: 61 }, (_, i) => -15 + i * 0.5);
const DEFAULT_SHOWN = ['sigmoid', 'ipo', 'hinge'];

interface PrefKnobs { beta: number; label_smoothing: number }

function pairCall(type: string, margin: number, k: PrefKnobs): LabCall {
  return {
    name: type,
    // bco_delta 0: TRL 1.x's BCO (the lab's default too; with bco_running_mean it would be this pair's own reward).
    input: { chosen_logps: [margin / 2], rejected_logps: [-margin / 2], ref_chosen_logps: [0], ref_rejected_logps: [0],
      chosen_tokens: [1], rejected_tokens: [1], bco_delta: 0 },
    // EXO takes the log of the smoothing: at 0 it uses the paper's 1e-3.
    options: { beta: k.beta, label_smoothing: type === 'exo_pair' ? Math.max(1e-3, k.label_smoothing) : k.label_smoothing },
  };
}

export class PreferenceExplorer {
  readonly panel: HTMLElement;
  private refresher = new Coalescer(() => this.redraw());
  private knobs: PrefKnobs = { beta: 0.1, label_smoothing: 0 };
  private shown = new Set(DEFAULT_SHOWN);
  private plots: { loss: uPlot | null; grad: uPlot | null } = { loss: null, grad: null };
  private el: Record<string, HTMLElement> = {};

  constructor(private lab: LabClient) {
    const details = h('details', { 'data-testid': 'pref-explorer' });
    const summary = h('summary', {}, 'Preference losses: DPO, IPO, hinge, ... against the margin');
    const knob = (key: keyof PrefKnobs, label: string, min: number, max: number, step: number) => {
      const input = h('input', { type: 'range', min: String(min), max: String(max), step: String(step), value: String(this.knobs[key]), 'data-testid': `pref-${key}`, 'aria-label': label }) as HTMLInputElement;
      const out = h('span', { class: 'mono' }, String(this.knobs[key]));
      input.addEventListener('input', () => { this.knobs[key] = Number(input.value); out.textContent = input.value; this.refresh(); });
      return h('label', { class: 'inline' }, `${label} `, input, ' ', out);
    };
    const boxes = h('div', { class: 'lab-curves' });
    for (const c of PREF_CURVES) {
      const cb = h('input', { type: 'checkbox', 'data-pref': c.type }) as HTMLInputElement;
      cb.checked = this.shown.has(c.type);
      cb.addEventListener('change', () => { if (cb.checked) this.shown.add(c.type); else this.shown.delete(c.type); this.refresh(); });
      const swatch = h('span', { class: 'swatch' });
      swatch.style.background = c.color;
      boxes.appendChild(h('label', { class: 'inline' }, cb, swatch, ` ${c.label}`));
    }
    const lossPlot = h('div', { class: 'lab-plot', 'data-testid': 'pref-loss-plot' });
    const gradPlot = h('div', { class: 'lab-plot', 'data-testid': 'pref-grad-plot' });
    const err = h('div', { class: 'inline-error', role: 'alert', hidden: '', 'data-testid': 'pref-error' });
    details.append(summary,
      h('p', { class: 'hint' }, 'Computed by the core\'s loss lab (the expressions the DPO trainer uses; `policylab loss sigmoid --input pairs.json`).'),
      h('div', { class: 'lab-knobs' }, knob('beta', 'β', 0.01, 1, 0.01), knob('label_smoothing', 'label smoothing ε', 0, 0.45, 0.01)),
      boxes,
      h('div', { class: 'caption' }, 'loss of one pair against its log-ratio margin h'), lossPlot,
      h('div', { class: 'caption' }, 'gradient weight −∂loss/∂log π(chosen) (0: the pair no longer pushes)'), gradPlot, err);
    this.panel = h('section', { class: 'panel', 'data-panel': 'pref-explorer', 'data-kind': 'sequence' }, details);
    Object.assign(this.el, { lossPlot, gradPlot, err });
    details.addEventListener('toggle', () => { if ((details as HTMLDetailsElement).open) this.refresh(); });
  }

  private refresh() { void this.refresher.run(); }

  private async redraw() {
    const curves = PREF_CURVES.filter((c) => this.shown.has(c.type));
    const calls: LabCall[] = [];
    for (const c of curves) for (const m of PREF_MARGINS) calls.push(pairCall(c.type, m, this.knobs));
    const res = await this.lab.request(calls);
    const bad = res.results?.find((r) => r.error);
    if (res.error || !res.results || bad) {
      this.el.err.textContent = `loss lab: ${res.error ?? bad?.error ?? 'no answer'}`;
      this.el.err.hidden = false;
      return;
    }
    this.el.err.hidden = true;
    this.draw(curves, res.results);
  }

  private draw(curves: PrefCurve[], results: LabResult[]) {
    const n = PREF_MARGINS.length;
    const loss = curves.map((_, k) => results.slice(k * n, (k + 1) * n).map((r) => r.loss ?? NaN));
    const grad = curves.map((_, k) => results.slice(k * n, (k + 1) * n).map((r) => -((r.gradient?.chosen_logps as number[] | undefined)?.[0] ?? NaN)));
    const series = [{ label: 'h' }, ...curves.map((c) => ({ label: c.label, stroke: c.color, width: 2 }))];
    const make = (target: HTMLElement, data: number[][], key: 'loss' | 'grad') => {
      const old = this.plots[key];
      if (old && old.series.length === series.length && series.every((s, i) => old.series[i].label === s.label)) {
        old.setData([PREF_MARGINS, ...data] as uPlot.AlignedData);
        return;
      }
      old?.destroy();
      target.textContent = '';
      const width = Math.max(240, Math.min(520, target.clientWidth || 480));
      this.plots[key] = new uPlot({ width, height: 180, series, scales: { x: { time: false } }, legend: { show: key === 'loss' },
        axes: [{ label: 'margin h' }, {}] }, [PREF_MARGINS, ...data] as uPlot.AlignedData, target);
    };
    make(this.el.lossPlot, loss, 'loss');
    make(this.el.gradPlot, grad, 'grad');
    // The numbers last drawn, for the browser tests.
    (globalThis as unknown as { __prefLast: unknown }).__prefLast = { margins: PREF_MARGINS, types: curves.map((c) => c.type), loss, grad, ...this.knobs };
  }
}
