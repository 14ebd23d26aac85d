// The gold-reward–KL frontier (the preference-optimization issue's central picture): every run's
// trajectory of the hidden gold reward of its fresh samples against its KL to the reference, one
// color per run, so methods and β values compare on one plot (Gao et al. 2023, "Scaling Laws for
// Reward Model Overoptimization", plot reward against the distance from the start the same way).
// A run that also reports a learned (proxy) reward draws it dashed: the proxy keeps rising while
// the gold reward peaks and falls — over-optimization. The x axis is KL, not steps, so a
// trajectory may turn back; points are drawn in step order and the latest one is ringed.
import { lastFinite } from '../charts';
import type { Run } from '../runs';
import { h } from './dom';

interface Trajectory { label: string; color: string; gold: [number, number][]; proxy: [number, number][] }

// The evaluation rows where both metrics are finite (evaluations happen every eval_interval steps;
// the metrics hold their last value in between, so repeated points are dropped).
function points(xs: number[], ys: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    const x = xs[i], y = ys[i];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    const last = out[out.length - 1];
    if (!last || last[0] !== x || last[1] !== y) out.push([x, y]);
  }
  return out;
}

// Round numbers for axis ticks covering [lo, hi].
function niceTicks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(Number(v.toPrecision(6)));
  return out;
}

export class FrontierView {
  readonly panel: HTMLElement;
  private canvas: HTMLCanvasElement;
  private caption: HTMLElement;
  private pending = 0;

  constructor(private getRuns: () => Run[], private label: (i: number) => string, private isHidden: () => boolean) {
    this.canvas = h('canvas', { width: '480', height: '300', role: 'img', 'data-testid': 'frontier',
      'aria-label': 'Gold reward of fresh samples against KL to the reference, one trajectory per run' }) as HTMLCanvasElement;
    this.caption = h('div', { class: 'caption', 'data-testid': 'frontier-caption' });
    this.panel = h('section', { class: 'panel', 'data-panel': 'frontier', 'data-kind': 'sequence' },
      h('h2', {}, 'Gold reward against KL (every run)'),
      h('p', { class: 'hint' }, 'Each run\'s evaluations in step order: up and to the left is better. Dashed: the learned (proxy) reward, when the run trains on one.'),
      this.canvas, this.caption);
    this.panel.hidden = true;
  }

  // New metrics arrived: redraw at the next frame (once per frame however many runs reported).
  update() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => { this.pending = 0; this.draw(); });
  }

  trajectories(): Trajectory[] {
    return this.getRuns().flatMap((run, i) => {
      const st = run.store;
      // GRPO against a learned reward reports its samples' KL as kl_ref (its `kl` is the loss's
      // term, absent at beta 0); DPO's evaluation reports kl.
      const klCol = st?.cols.includes('kl_ref') && Number.isFinite(lastFinite(st.col('kl_ref'))) ? 'kl_ref' : 'kl';
      if (!st || !st.cols.includes('gold_reward') || !st.cols.includes(klCol)) return [];
      const kl = st.col(klCol);
      const gold = points(kl, st.col('gold_reward'));
      const proxy = st.cols.includes('proxy_reward') ? points(kl, st.col('proxy_reward')) : [];
      return gold.length || proxy.length ? [{ label: `${this.label(i)}: ${run.applied?.algo ?? ''}`, color: run.color, gold, proxy }] : [];
    });
  }

  draw() {
    const runs = this.trajectories();
    this.panel.hidden = runs.length === 0 || this.isHidden();
    if (this.panel.hidden) return;
    const c = this.canvas, g = c.getContext('2d');
    if (!g) return;
    const all = runs.flatMap((r) => [...r.gold, ...r.proxy]);
    let [x0, x1] = [0, Math.max(...all.map((p) => p[0]))];
    let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
    if (x1 <= x0) x1 = x0 + 1e-3;
    if (y1 - y0 < 1e-6) { y0 -= 0.05; y1 += 0.05; }
    const padY = 0.06 * (y1 - y0);
    y0 -= padY; y1 += padY; x1 *= 1.04;
    const L = 52, R = 12, T = 10, B = 36, W = c.width - L - R, H = c.height - T - B;
    const X = (x: number) => L + ((x - x0) / (x1 - x0)) * W;
    const Y = (y: number) => T + H - ((y - y0) / (y1 - y0)) * H;
    g.clearRect(0, 0, c.width, c.height);
    g.font = '11px system-ui, sans-serif';
    g.strokeStyle = 'rgba(0,0,0,0.12)';
    g.fillStyle = '#222';
    g.lineWidth = 1;
    g.textAlign = 'center';
    for (const t of niceTicks(x0, x1)) {
      g.beginPath(); g.moveTo(X(t), T); g.lineTo(X(t), T + H); g.stroke();
      g.fillText(String(t), X(t), T + H + 14);
    }
    g.textAlign = 'right';
    for (const t of niceTicks(y0, y1)) {
      g.beginPath(); g.moveTo(L, Y(t)); g.lineTo(L + W, Y(t)); g.stroke();
      g.fillText(String(t), L - 6, Y(t) + 4);
    }
    g.textAlign = 'center';
    g.fillText('KL to the reference (nats)', L + W / 2, c.height - 4);
    g.save(); g.translate(12, T + H / 2); g.rotate(-Math.PI / 2); g.fillText('reward', 0, 0); g.restore();
    const legend: string[] = [];
    for (const r of runs) {
      for (const [pts, dashed] of [[r.gold, false], [r.proxy, true]] as const) {
        if (!pts.length) continue;
        g.strokeStyle = r.color; g.fillStyle = r.color; g.lineWidth = dashed ? 1.5 : 2;
        g.setLineDash(dashed ? [5, 4] : []);
        g.beginPath();
        pts.forEach(([x, y], k) => (k ? g.lineTo(X(x), Y(y)) : g.moveTo(X(x), Y(y))));
        g.stroke();
        g.setLineDash([]);
        for (const [x, y] of pts) { g.beginPath(); g.arc(X(x), Y(y), 2, 0, 2 * Math.PI); g.fill(); }
        const [lx, ly] = pts[pts.length - 1];
        g.beginPath(); g.arc(X(lx), Y(ly), 5, 0, 2 * Math.PI); g.stroke();
      }
      const last = r.gold[r.gold.length - 1];
      if (last) legend.push(`${r.label} gold ${last[1].toFixed(3)} at KL ${last[0].toFixed(3)}`);
    }
    this.caption.textContent = legend.join(' · ');
  }
}
