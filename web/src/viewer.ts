// Canvas view of the current policy acting in its env, drawn from the observation (Gymnasium's
// documented layouts) and the env's render state. Frames arrive from the worker at the env's real
// speed; drawing happens on requestAnimationFrame, at the canvas' size as last laid out (size.ts:
// never a layout read that would force one).
import { knownSize, watchSize } from './size';

export interface Frame { env: string; render: Float32Array; renderNames: string[]; obs: Float32Array; ret: number; t: number; episode: number; }

const C = { bg: '#fbfbf8', ground: '#444', cart: '#2c3e50', pole: '#d35400', axle: '#7f8c8d', link: '#2471a3', goal: '#27ae60', text: '#222' };

function field(f: Frame, names: string[], fallback: number): number {
  for (const n of names) {
    const i = f.renderNames.indexOf(n);
    if (i >= 0 && i < f.render.length) return f.render[i];
  }
  return fallback;
}

export class Viewer {
  private frame: Frame | null = null;
  private raf = 0;
  constructor(private canvas: HTMLCanvasElement, private caption: HTMLElement) {
    watchSize(canvas, () => this.drawSoon());
  }

  push(f: Frame) {
    this.frame = f;
    this.drawSoon();
  }
  clear() { this.frame = null; this.caption.textContent = 'waiting for the policy…'; this.drawSoon(); }
  private drawSoon() {
    if (!this.raf) this.raf = requestAnimationFrame(() => { this.raf = 0; this.draw(); });
  }

  draw() {
    const cv = this.canvas, g = cv.getContext('2d')!;
    const dpr = window.devicePixelRatio || 1;
    const size = knownSize(cv);
    const w = size?.w || 400, h = size?.h || 260;
    if (cv.width !== Math.round(w * dpr)) { cv.width = Math.round(w * dpr); cv.height = Math.round(h * dpr); }
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = C.bg; g.fillRect(0, 0, w, h);
    const f = this.frame;
    if (!f) { this.caption.textContent = 'waiting for the policy…'; return; }
    const o = f.obs;
    if (f.env.startsWith('CartPole')) this.cartpole(g, w, h, field(f, ['x', 'cart_position'], o[0]), field(f, ['theta', 'pole_angle'], o[2]));
    else if (f.env.startsWith('Acrobot')) this.acrobot(g, w, h, field(f, ['theta1'], Math.atan2(o[1], o[0])), field(f, ['theta2'], Math.atan2(o[3], o[2])));
    else if (f.env.startsWith('MountainCar')) this.mountaincar(g, w, h, field(f, ['position', 'x'], o[0]));
    else if (f.env.startsWith('Pendulum')) this.pendulum(g, w, h, field(f, ['theta'], Math.atan2(o[1], o[0])), field(f, ['last_torque', 'last_u', 'torque'], NaN));
    else { g.fillStyle = C.text; g.fillText(Array.from(f.render).map((v) => v.toFixed(2)).join('  '), 10, 20); }
    this.caption.textContent = `episode ${f.episode} · step ${f.t} · return ${f.ret.toFixed(1)}`;
  }

  private cartpole(g: CanvasRenderingContext2D, w: number, h: number, x: number, theta: number) {
    const worldW = 4.8, scale = Math.min(w / worldW, h * 0.55), groundY = h * 0.78;
    const cx = w / 2 + x * scale, poleLen = scale * 1.0, cartW = scale * 0.5, cartH = cartW * 0.6;
    g.strokeStyle = C.ground; g.lineWidth = 2; g.beginPath(); g.moveTo(0, groundY); g.lineTo(w, groundY); g.stroke();
    // Track limits (|x| > 2.4 ends the episode).
    g.strokeStyle = '#c0392b'; g.setLineDash([4, 4]);
    for (const lim of [-2.4, 2.4]) { const lx = w / 2 + lim * scale; g.beginPath(); g.moveTo(lx, groundY - 60); g.lineTo(lx, groundY + 10); g.stroke(); }
    g.setLineDash([]);
    g.fillStyle = C.cart; g.fillRect(cx - cartW / 2, groundY - cartH, cartW, cartH);
    const ax = cx, ay = groundY - cartH * 0.8;
    g.strokeStyle = C.pole; g.lineWidth = Math.max(6, scale * 0.1); g.lineCap = 'round';
    g.beginPath(); g.moveTo(ax, ay); g.lineTo(ax + Math.sin(theta) * poleLen, ay - Math.cos(theta) * poleLen); g.stroke();
    g.fillStyle = C.axle; g.beginPath(); g.arc(ax, ay, 4, 0, Math.PI * 2); g.fill();
  }

  private acrobot(g: CanvasRenderingContext2D, w: number, h: number, t1: number, t2: number) {
    const s = Math.min(w, h) / 4.6, cx = w / 2, cy = h / 2;
    const p1 = [cx + s * Math.sin(t1), cy + s * Math.cos(t1)];
    const p2 = [p1[0] + s * Math.sin(t1 + t2), p1[1] + s * Math.cos(t1 + t2)];
    g.strokeStyle = C.goal; g.setLineDash([6, 4]); g.lineWidth = 2;
    g.beginPath(); g.moveTo(0, cy - s); g.lineTo(w, cy - s); g.stroke(); g.setLineDash([]);
    g.strokeStyle = C.link; g.lineWidth = 10; g.lineCap = 'round';
    g.beginPath(); g.moveTo(cx, cy); g.lineTo(p1[0], p1[1]); g.lineTo(p2[0], p2[1]); g.stroke();
    g.fillStyle = '#f1c40f';
    for (const p of [[cx, cy], p1]) { g.beginPath(); g.arc(p[0], p[1], 5, 0, Math.PI * 2); g.fill(); }
  }

  private mountaincar(g: CanvasRenderingContext2D, w: number, h: number, pos: number) {
    const lo = -1.2, hi = 0.6, sx = w / (hi - lo), sy = h * 0.75;
    const Y = (x: number) => h - 20 - (Math.sin(3 * x) * 0.45 + 0.55) * sy;
    g.strokeStyle = C.ground; g.lineWidth = 2; g.beginPath();
    for (let i = 0; i <= 100; i++) { const x = lo + (i / 100) * (hi - lo); const px = (x - lo) * sx; if (i) g.lineTo(px, Y(x)); else g.moveTo(px, Y(x)); }
    g.stroke();
    const fx = (0.5 - lo) * sx, fy = Y(0.5);
    g.strokeStyle = C.text; g.beginPath(); g.moveTo(fx, fy); g.lineTo(fx, fy - 40); g.stroke();
    g.fillStyle = C.goal; g.beginPath(); g.moveTo(fx, fy - 40); g.lineTo(fx + 22, fy - 33); g.lineTo(fx, fy - 26); g.fill();
    const px = (pos - lo) * sx, py = Y(pos), ang = Math.atan(Math.cos(3 * pos) * 3 * 0.45 * sy / sx);
    g.save(); g.translate(px, py); g.rotate(-ang);
    g.fillStyle = C.cart; g.fillRect(-20, -18, 40, 14);
    g.fillStyle = C.axle; for (const wx of [-12, 12]) { g.beginPath(); g.arc(wx, -4, 5, 0, Math.PI * 2); g.fill(); }
    g.restore();
  }

  private pendulum(g: CanvasRenderingContext2D, w: number, h: number, theta: number, u: number) {
    const s = Math.min(w, h) * 0.38, cx = w / 2, cy = h / 2;
    g.strokeStyle = C.pole; g.lineWidth = 14; g.lineCap = 'round';
    g.beginPath(); g.moveTo(cx, cy); g.lineTo(cx + s * Math.sin(theta), cy - s * Math.cos(theta)); g.stroke();
    g.fillStyle = C.text; g.beginPath(); g.arc(cx, cy, 5, 0, Math.PI * 2); g.fill();
    if (Number.isFinite(u) && Math.abs(u) > 1e-3) {
      // Applied torque as an arc whose length follows |u| (max 2).
      g.strokeStyle = '#8e44ad'; g.lineWidth = 3;
      const a0 = -Math.PI / 2, a1 = a0 + (u / 2) * Math.PI * 0.8;
      g.beginPath(); g.arc(cx, cy, s * 0.35, Math.min(a0, a1), Math.max(a0, a1)); g.stroke();
    }
  }
}
