// The loss explorer: the group-relative policy losses and advantage estimators evaluated by the core's
// loss lab (core/algos/loss_lab.hpp, in a worker of its own), so what it draws is what trains.
//  - Losses: a token's loss and its gradient weight -d loss / d log pi as a function of its
//    probability ratio r = pi / pi_old, for a positive or a negative advantage: PPO-clip, DAPO's
//    clip-higher, dual-clip, CISPO, GSPO (the ratio of a two-token completion whose other token has
//    ratio 1, so the sequence ratio is sqrt(r)) and GPG's plain -A log pi.
//  - Estimators: a group's rewards (drag the sliders) and the advantage each estimator gives every
//    completion: GRPO, Dr. GRPO, RLOO, REINFORCE++ (with and without the group baseline), OPO, GPG,
//    BNPO, pass@k, ReMax and AdaptThink (these two with a fixed per-prompt baseline, named in the row).
import uPlot from 'uplot';
import { Coalescer, type LabClient } from '../lab/client';
import type { LabCall, LabResult, LossCall } from '../lab/protocol';
import { h } from './dom';

interface Curve { id: string; label: string; color: string; call: (r: number, a: number, o: Knobs) => LossCall; token: number }
interface Knobs { epsilon: number; epsilon_high: number; clip_ratio_c: number }

const ONE_TOKEN = (r: number, a: number) => ({ logp: [[Math.log(r)]], old_logp: [[0]], advantages: [a] });
const CURVES: Curve[] = [
  { id: 'clip', label: 'PPO-clip', color: '#1f77b4', token: 0,
    call: (r, a, o) => ({ name: 'clip', input: ONE_TOKEN(r, a), options: { epsilon: o.epsilon, loss_agg_mode: 'token-mean' } }) },
  { id: 'clip_higher', label: 'clip-higher (DAPO)', color: '#ff7f0e', token: 0,
    call: (r, a, o) => ({ name: 'clip', input: ONE_TOKEN(r, a), options: { epsilon: o.epsilon, epsilon_high: o.epsilon_high, loss_agg_mode: 'token-mean' } }) },
  { id: 'dual_clip', label: 'dual-clip', color: '#2ca02c', token: 0,
    call: (r, a, o) => ({ name: 'clip', input: ONE_TOKEN(r, a), options: { epsilon: o.epsilon, clip_ratio_c: o.clip_ratio_c, loss_agg_mode: 'token-mean' } }) },
  { id: 'cispo', label: 'CISPO (cap 1 + ε_high)', color: '#d62728', token: 0,
    call: (r, a, o) => ({ name: 'cispo', input: ONE_TOKEN(r, a), options: { epsilon: o.epsilon, epsilon_high: o.epsilon_high, loss_agg_mode: 'token-mean' } }) },
  { id: 'gspo', label: 'GSPO (2 tokens, other at r = 1)', color: '#9467bd', token: 0,
    call: (r, a, o) => ({ name: 'clip', input: { logp: [[Math.log(r), 0]], old_logp: [[0, 0]], advantages: [a] },
      options: { epsilon: o.epsilon, importance_sampling_level: 'sequence', loss_agg_mode: 'seq-mean-token-mean' } }) },
  { id: 'gpg', label: 'GPG (−A log π)', color: '#8c564b', token: 0,
    call: (r, a) => ({ name: 'loss:gpg', input: ONE_TOKEN(r, a), options: { loss_agg_mode: 'token-mean' } }) },
];
const RATIOS = Array.from({ length: 59 }, (_, i) => 0.1 + (i * 2.9) / 58);

// `input`: what a row needs beyond the group's rewards and lengths (a baseline, mode flags).
interface EstimatorRow { label: string; name: string; options: Record<string, unknown>; input?: Record<string, unknown> }
const ESTIMATORS: EstimatorRow[] = [
  { label: 'GRPO', name: 'grpo', options: {} },
  { label: 'Dr. GRPO', name: 'grpo', options: { scale_rewards: 'none' } },
  { label: 'RLOO', name: 'rloo', options: {} },
  { label: 'REINFORCE++', name: 'reinforce_plus_plus', options: {} },
  { label: 'REINFORCE++ baseline', name: 'reinforce_plus_plus_baseline', options: {} },
  { label: 'OPO (length-weighted)', name: 'opo', options: {} },
  { label: 'GPG', name: 'estimator:gpg', options: {} },
  { label: 'BNPO', name: 'bnpo', options: {} },
  { label: 'pass@k', name: 'grpo_passk', options: {} },
  { label: 'ReMax (greedy reward 0.5)', name: 'remax', options: {}, input: { baselines: [0.5] } },
  { label: 'AdaptThink (#1–3 NoThinking, R̄_ref 0.5)', name: 'adaptthink', options: {}, input: { baselines: [0.5], nothink: [1, 1, 1, 0, 0, 0] } },
];
const GROUP = 6;
const LENGTHS = [4, 6, 8, 10, 12, 14];  // completion lengths (OPO and REINFORCE++ weigh by them)

export class LossExplorer {
  readonly panel: HTMLElement;
  private refresher = new Coalescer(() => this.redraw());
  private knobs: Knobs = { epsilon: 0.2, epsilon_high: 0.28, clip_ratio_c: 3 };
  private sign = 1;
  private shown = new Set(CURVES.map((c) => c.id));
  private rewards = [1, 0, 0, 1, 0, 0];
  private plots: { loss: uPlot | null; grad: uPlot | null } = { loss: null, grad: null };
  private el: Record<string, HTMLElement> = {};

  constructor(private lab: LabClient) {
    const details = h('details', { 'data-testid': 'loss-explorer' });
    const summary = h('summary', {}, 'Loss explorer: clipping and advantage estimators');
    const sign = h('select', { 'aria-label': 'Sign of the advantage', 'data-testid': 'lab-sign' },
      h('option', { value: '1' }, 'A > 0 (a good completion)'), h('option', { value: '-1' }, 'A < 0 (a bad completion)'));
    const knob = (key: keyof Knobs, label: string, min: number, max: number, step: number) => {
      const input = h('input', { type: 'range', min: String(min), max: String(max), step: String(step), value: String(this.knobs[key]), 'data-testid': `lab-${key}`, 'aria-label': label }) as HTMLInputElement;
      const out = h('span', { class: 'mono' }, String(this.knobs[key]));
      input.addEventListener('input', () => { this.knobs[key] = Number(input.value); out.textContent = input.value; this.refresh(); });
      return h('label', { class: 'inline' }, `${label} `, input, ' ', out);
    };
    const boxes = h('div', { class: 'lab-curves' });
    for (const c of CURVES) {
      const cb = h('input', { type: 'checkbox', checked: '', 'data-curve': c.id }) as HTMLInputElement;
      cb.addEventListener('change', () => { if (cb.checked) this.shown.add(c.id); else this.shown.delete(c.id); this.refresh(); });
      const swatch = h('span', { class: 'swatch' });
      swatch.style.background = c.color;
      boxes.appendChild(h('label', { class: 'inline' }, cb, swatch, ` ${c.label}`));
    }
    const lossPlot = h('div', { class: 'lab-plot', 'data-testid': 'lab-loss-plot' });
    const gradPlot = h('div', { class: 'lab-plot', 'data-testid': 'lab-grad-plot' });
    const sliders = h('div', { class: 'lab-rewards' });
    this.rewards.forEach((r, i) => {
      const s = h('input', { type: 'range', min: '0', max: '1', step: '0.05', value: String(r), 'aria-label': `reward of completion ${i + 1}`, 'data-testid': `lab-reward-${i}` }) as HTMLInputElement;
      s.addEventListener('input', () => { this.rewards[i] = Number(s.value); this.refresh(); });
      sliders.appendChild(h('label', { class: 'reward-slider' }, `#${i + 1} (${LENGTHS[i]} tok)`, s));
    });
    const advTable = h('table', { class: 'lab-adv', 'data-testid': 'lab-advantages' });
    const err = h('div', { class: 'inline-error', role: 'alert', hidden: '', 'data-testid': 'lab-error' });
    details.append(summary,
      h('p', { class: 'hint' }, 'Computed by the core\'s loss lab (the expressions GRPO trains with; `policylab loss` on the command line).'),
      h('div', { class: 'lab-knobs' }, sign, knob('epsilon', 'ε', 0.05, 0.5, 0.01), knob('epsilon_high', 'ε_high', 0, 1, 0.01), knob('clip_ratio_c', 'dual-clip c', 1.5, 5, 0.1)),
      boxes,
      h('div', { class: 'caption' }, 'loss of one token against its ratio r = π / π_old'), lossPlot,
      h('div', { class: 'caption' }, 'gradient weight −∂loss/∂log π (0: the token is clipped, no gradient)'), gradPlot,
      h('h3', {}, 'Advantages of one group'), sliders, h('div', { class: 'table-wrap' }, advTable), err);
    this.panel = h('section', { class: 'panel', 'data-panel': 'loss-explorer', 'data-kind': 'sequence' }, details);
    Object.assign(this.el, { lossPlot, gradPlot, advTable, err });
    sign.addEventListener('change', () => { this.sign = Number((sign as HTMLSelectElement).value); this.refresh(); });
    details.addEventListener('toggle', () => { if ((details as HTMLDetailsElement).open) this.refresh(); });
  }

  private refresh() { void this.refresher.run(); }

  private async redraw() {
    const curves = CURVES.filter((c) => this.shown.has(c.id));
    const calls: LabCall[] = [];
    for (const c of curves) for (const r of RATIOS) calls.push(c.call(r, this.sign, this.knobs));
    const groupInput = { group_size: GROUP, rewards: this.rewards, lengths: LENGTHS };
    for (const e of ESTIMATORS) calls.push({ name: e.name, input: { ...groupInput, ...e.input }, options: e.options });
    const res = await this.lab.request(calls);
    if (res.error || !res.results) { this.fail(res.error ?? 'the loss lab did not answer'); return; }
    const bad = res.results.find((r) => r.error);
    if (bad) { this.fail(bad.error!); return; }
    this.el.err.hidden = true;
    this.draw(curves, res.results.slice(0, curves.length * RATIOS.length));
    this.table(res.results.slice(curves.length * RATIOS.length));
  }

  private fail(message: string) {
    this.el.err.textContent = `loss lab: ${message}`;
    this.el.err.hidden = false;
  }

  private draw(curves: Curve[], results: LabResult[]) {
    const loss: number[][] = [], grad: number[][] = [];
    curves.forEach((c, k) => {
      const rows = results.slice(k * RATIOS.length, (k + 1) * RATIOS.length);
      loss.push(rows.map((r) => r.loss ?? NaN));
      grad.push(rows.map((r) => -(r.gradient?.logp[0][c.token] ?? NaN)));
    });
    const series = [{ label: 'r' }, ...curves.map((c) => ({ label: c.label, stroke: c.color, width: 2 }))];
    const make = (target: HTMLElement, data: number[][], key: 'loss' | 'grad') => {
      const width = Math.max(240, Math.min(520, target.clientWidth || 480));
      const old = this.plots[key];
      if (old && old.series.length === series.length && series.every((s, i) => old.series[i].label === s.label)) {
        old.setData([RATIOS, ...data] as uPlot.AlignedData);
        return;
      }
      old?.destroy();
      target.textContent = '';
      this.plots[key] = new uPlot({ width, height: 180, series, scales: { x: { time: false } }, legend: { show: key === 'loss' },
        axes: [{ label: 'ratio r' }, {}] }, [RATIOS, ...data] as uPlot.AlignedData, target);
    };
    make(this.el.lossPlot, loss, 'loss');
    make(this.el.gradPlot, grad, 'grad');
    // The numbers last drawn, for the browser tests.
    (globalThis as unknown as { __labLast: unknown }).__labLast = { ratios: RATIOS, labels: curves.map((c) => c.label), loss, grad, sign: this.sign };
  }

  private table(results: LabResult[]) {
    const t = this.el.advTable;
    t.textContent = '';
    const head = h('tr', {}, h('th', { scope: 'col' }, 'estimator'));
    for (let i = 0; i < GROUP; ++i) head.appendChild(h('th', { scope: 'col' }, `#${i + 1} r=${this.rewards[i].toFixed(2)}`));
    t.appendChild(h('thead', {}, head));
    const body = h('tbody');
    const scale = Math.max(1e-6, ...results.flatMap((r) => (r.advantages ?? []).map(Math.abs)));
    ESTIMATORS.forEach((e, k) => {
      const tr = h('tr', {}, h('th', { scope: 'row' }, e.label));
      for (const a of results[k].advantages ?? []) {
        const cell = h('td', { class: 'mono', title: String(a) }, a.toFixed(2));
        const share = Math.min(1, Math.abs(a) / scale);
        cell.style.background = a >= 0 ? `rgba(44, 160, 44, ${(0.6 * share).toFixed(3)})` : `rgba(214, 39, 40, ${(0.6 * share).toFixed(3)})`;
        tr.appendChild(cell);
      }
      body.appendChild(tr);
    });
    t.appendChild(body);
  }
}
