// Policy/value map over two observation dimensions (the others held at chosen values), drawn as
// two heatmaps: action probability (Discrete) or mean action (Box), and state value.
import type { EnvInfo, HeatmapRequest } from './protocol';
import { knownSize } from './size';

// Default ranges for unbounded observation dims (CartPole's velocities).
const DEFAULT_SPAN: Record<string, number[]> = { 'CartPole-v1': [2.4, 3, 0.2095, 3.5] };

export function obsRange(env: EnvInfo, d: number): [number, number] {
  const lo = env.observation_space.low?.[d], hi = env.observation_space.high?.[d];
  const span = DEFAULT_SPAN[env.id]?.[d];
  if (span !== undefined) return [-span, span];
  const l = lo === null || lo === undefined || !Number.isFinite(lo) || lo < -1e6 ? -3 : lo;
  const h = hi === null || hi === undefined || !Number.isFinite(hi) || hi > 1e6 ? 3 : hi;
  return [l, h];
}

export function obsNames(env: EnvInfo): string[] {
  const n = env.observation_space.dim ?? env.observation_space.low?.length ?? 0;
  const known: Record<string, string[]> = {
    'CartPole-v1': ['cart position', 'cart velocity', 'pole angle', 'pole angular velocity'],
    'Acrobot-v1': ['cos θ1', 'sin θ1', 'cos θ2', 'sin θ2', 'θ1 velocity', 'θ2 velocity'],
    'MountainCar-v0': ['position', 'velocity'],
    'MountainCarContinuous-v0': ['position', 'velocity'],
    'Pendulum-v1': ['cos θ', 'sin θ', 'angular velocity'],
  };
  const k = known[env.id];
  return Array.from({ length: n }, (_, i) => k?.[i] ?? `obs[${i}]`);
}

// Sizes the canvas' backing store to its displayed size x devicePixelRatio and scales the context,
// so drawing happens in CSS pixels. Returns the drawing size in CSS pixels. The displayed size is the
// one last laid out (size.ts; the caller watches the canvas and redraws when it changes), never read
// from the layout here: that would force one in the middle of a worker-message handler.
function fitToDisplay(canvas: HTMLCanvasElement, g: CanvasRenderingContext2D): { W: number; H: number } {
  const dpr = Math.max(1, window.devicePixelRatio || 1);
  const size = knownSize(canvas);
  const W = Math.round(size?.w || Number(canvas.getAttribute('width')) || 260);
  const H = Math.round(size?.h || Number(canvas.getAttribute('height')) || 220);
  if (canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(H * dpr)) {
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
  }
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { W, H };
}

// Diverging blue-white-red for [-1, 1]; sequential viridis-like for [0, 1].
function diverging(t: number): [number, number, number] {
  t = Math.max(-1, Math.min(1, t));
  if (t < 0) { const a = -t; return [255 - a * 196, 255 - a * 139, 255 - a * 45]; }
  return [255 - t * 40, 255 - t * 196, 255 - t * 196];
}
function sequential(t: number): [number, number, number] {
  t = Math.max(0, Math.min(1, t));
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = t * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(x)), f = x - i;
  return [0, 1, 2].map((c) => stops[i][c] + f * (stops[i + 1][c] - stops[i][c])) as [number, number, number];
}

export interface HeatmapData { req: HeatmapRequest; action: Float32Array; value: Float32Array; actionDim: number; discrete: boolean; }

export function drawHeatmap(canvas: HTMLCanvasElement, h: HeatmapData, which: 'action' | 'value', actionIndex: number,
                            xlabel: string, ylabel: string, marker: [number, number] | null): string {
  const r = h.req.res, g = canvas.getContext('2d')!;
  const img = g.createImageData(r, r);
  let lo = Infinity, hi = -Infinity;
  const vals = new Float32Array(r * r);
  for (let k = 0; k < r * r; k++) {
    const v = which === 'value' ? h.value[k] : h.action[k * h.actionDim + Math.min(actionIndex, h.actionDim - 1)];
    vals[k] = v;
    if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  }
  let legend: string;
  for (let k = 0; k < r * r; k++) {
    let c: [number, number, number];
    if (which === 'action' && h.discrete) c = diverging(2 * vals[k] - 1);          // probability 0..1
    else if (which === 'action') { const m = Math.max(Math.abs(lo), Math.abs(hi), 1e-9); c = diverging(vals[k] / m); }
    else c = sequential(hi > lo ? (vals[k] - lo) / (hi - lo) : 0.5);
    img.data.set([c[0], c[1], c[2], 255], k * 4);
  }
  if (which === 'action' && h.discrete) legend = `P(action ${actionIndex}): blue 0 → white 0.5 → red 1`;
  else if (which === 'action') legend = `mean action: blue ${(-Math.max(Math.abs(lo), Math.abs(hi))).toFixed(2)} → red ${Math.max(Math.abs(lo), Math.abs(hi)).toFixed(2)}`;
  else legend = `value: ${Number.isFinite(lo) ? lo.toFixed(1) : '?'} (dark) → ${Number.isFinite(hi) ? hi.toFixed(1) : '?'} (bright)`;
  const off = document.createElement('canvas');
  off.width = r; off.height = r;
  off.getContext('2d')!.putImageData(img, 0, 0);
  // Drawn at the canvas' displayed size times the device pixel ratio, so text is never scaled down
  // or pixelated; the axis end labels sit outside the image, beside its edges, at a readable size.
  const { W, H } = fitToDisplay(canvas, g);
  const padL = 50, padB = 36, padT = 6, padR = 6;  // room for "-3.50" and the axis names
  const iw = W - padL - padR, ih = H - padT - padB;
  g.fillStyle = '#fff'; g.fillRect(0, 0, W, H);
  g.imageSmoothingEnabled = false;
  g.drawImage(off, padL, padT, iw, ih);
  g.strokeStyle = '#888'; g.lineWidth = 1; g.strokeRect(padL - 0.5, padT - 0.5, iw + 1, ih + 1);
  g.fillStyle = '#111'; g.font = '600 12.5px system-ui, sans-serif';
  const [x0, x1] = [h.req.lo[0], h.req.hi[0]], [y0, y1] = [h.req.lo[1], h.req.hi[1]];
  g.textBaseline = 'top';
  g.textAlign = 'left'; g.fillText(x0.toFixed(2), padL, padT + ih + 3);
  g.textAlign = 'right'; g.fillText(x1.toFixed(2), padL + iw, padT + ih + 3);
  g.textBaseline = 'middle';
  g.textAlign = 'right'; g.fillText(y1.toFixed(2), padL - 4, padT + 7); g.fillText(y0.toFixed(2), padL - 4, padT + ih - 7);
  g.font = '12px system-ui, sans-serif'; g.fillStyle = '#333';
  g.textAlign = 'center'; g.textBaseline = 'bottom'; g.fillText(xlabel, padL + iw / 2, H - 2);
  g.save(); g.translate(12, padT + ih / 2); g.rotate(-Math.PI / 2); g.textBaseline = 'middle'; g.fillText(ylabel, 0, 0); g.restore();
  g.textAlign = 'left'; g.textBaseline = 'alphabetic';
  if (marker) {
    const mx = padL + ((marker[0] - x0) / (x1 - x0)) * iw, my = padT + ((y1 - marker[1]) / (y1 - y0)) * ih;
    if (mx >= padL && mx <= padL + iw && my >= padT && my <= padT + ih) {
      g.strokeStyle = '#000'; g.lineWidth = 2; g.beginPath(); g.arc(mx, my, 5, 0, Math.PI * 2); g.stroke();
      g.strokeStyle = '#fff'; g.lineWidth = 1; g.beginPath(); g.arc(mx, my, 6.5, 0, Math.PI * 2); g.stroke();
    }
  }
  return legend;
}

export function drawHistogram(canvas: HTMLCanvasElement, h: { name: string; lo: number; hi: number; counts: number[]; norm: number } | undefined) {
  const g = canvas.getContext('2d')!, W = canvas.width, H = canvas.height;
  g.fillStyle = '#fff'; g.fillRect(0, 0, W, H);
  if (!h) { g.fillStyle = '#666'; g.font = '13px system-ui, sans-serif'; g.fillText('no gradient yet', 10, 20); return; }
  const max = Math.max(1, ...h.counts), n = h.counts.length, pad = 24, bw = (W - 2 * pad) / n;
  for (let i = 0; i < n; i++) {
    const bh = (h.counts[i] / max) * (H - 2 * pad);
    g.fillStyle = i === (n >> 1) ? '#7f8c8d' : '#4e79a7';
    g.fillRect(pad + i * bw + 1, H - pad - bh, bw - 2, bh);
  }
  g.fillStyle = '#222'; g.font = '12px system-ui, sans-serif';
  g.fillText(h.lo.toExponential(1), pad, H - 6);
  g.textAlign = 'right'; g.fillText(h.hi.toExponential(1), W - pad, H - 6);
  g.textAlign = 'center'; g.fillText(`${h.name} · ‖g‖ = ${h.norm.toExponential(2)}`, W / 2, 14);
  g.textAlign = 'left';
}
