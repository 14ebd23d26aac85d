// 3-D online bin packing in the instance sandbox: the packed L × W × H bin drawn in isometric
// projection on a canvas, seen from the corner opposite the origin (items are placed from the
// origin's corner outwards). Drawn as unit cells in back-to-front order (x + y + z ascending, exact
// for equal cubes), each face shaded by its direction and outlined only where the item ends, so
// each item reads as one box. The slider adds the placed items in arrival order.
import { h } from '../dom';
import { colorOf, numbers, type DrawContext, type ProblemView, type SandboxSize, type SolvedRow } from './types';

export interface BinPack3DInstance { n: number; L: number; W: number; H: number; item: number[] }

const CSS_W = 420, CSS_H = 340;
const COS30 = Math.cos(Math.PI / 6);

function shade(color: string, f: number, g: CanvasRenderingContext2D): string {
  // Any CSS colour → rgb through the canvas, then scaled.
  g.fillStyle = color;
  const c = g.fillStyle as string;
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c);
  const rgb = m ? [1, 2, 3].map((i) => parseInt(m[i], 16)) : (c.match(/\d+/g) ?? ['128', '128', '128']).slice(0, 3).map(Number);
  return `rgb(${rgb.map((v) => Math.round(v * f)).join(',')})`;
}

class BinPack3DView implements ProblemView<BinPack3DInstance> {
  readonly id = 'binpack3d';
  readonly label = 'Bin packing 3-D';
  readonly sizes: SandboxSize[] = [20, 30, 50, 100].map((n) => ({ label: String(n), n }));
  readonly defaultSize = 2;
  readonly hint = 'A 10 × 10 × 10 bin; items (sides 2–5) arrive one at a time and are dropped at a corner the support rule allows; packing stops at the first item that fits nowhere. The slider adds the items one by one.';
  readonly paste = 'A dataset line "n L W H l1 w1 h1 ... ln wn hn" (integer sizes)';
  readonly stepName = 'item';
  readonly element: HTMLCanvasElement;

  constructor() {
    this.element = h('canvas', { class: 'bin3d', 'data-testid': 'sandbox-bin3d', width: String(CSS_W), height: String(CSS_H), role: 'img', 'aria-label': 'The packed bin' });
  }

  parse(line: string): BinPack3DInstance {
    const v = numbers(line);
    return { n: v[0], L: v[1], W: v[2], H: v[3], item: v.slice(4, 4 + 3 * v[0]) };
  }
  text(inst: BinPack3DInstance): string { return [inst.n, inst.L, inst.W, inst.H, ...inst.item].join(' ') + '\n'; }
  size(inst: BinPack3DInstance): SandboxSize { return { label: String(inst.n), n: inst.n }; }
  exactApplies(): boolean { return true; }  // no exact solver
  steps(_inst: BinPack3DInstance, row: SolvedRow): number { return row.solution.length / 3; }
  format(objective: number): string { return `${(100 * objective).toFixed(1)}%`; }
  note(inst: BinPack3DInstance): string {
    let volume = 0;
    for (let i = 0; i < inst.n; ++i) volume += inst.item[3 * i] * inst.item[3 * i + 1] * inst.item[3 * i + 2];
    return `${inst.n} items of total volume ${volume} in a ${inst.L} × ${inst.W} × ${inst.H} bin (${inst.L * inst.W * inst.H} cells): utilisation = packed volume / bin volume`;
  }
  private utilisation(inst: BinPack3DInstance, k: number): number {
    let v = 0;
    for (let i = 0; i < k; ++i) v += inst.item[3 * i] * inst.item[3 * i + 1] * inst.item[3 * i + 2];
    return v / (inst.L * inst.W * inst.H);
  }
  stepCaption(inst: BinPack3DInstance, row: SolvedRow, k: number): string {
    const placed = row.solution.length / 3;
    const stop = placed < inst.n ? ` (item ${placed} fits nowhere: packing stops)` : '';
    if (k === 0) return `0 of ${placed} items placed${stop}`;
    const i = k - 1, [x, y, z] = row.solution.slice(3 * i, 3 * i + 3);
    return `${k} of ${placed} placed${stop} · item ${i} ${inst.item.slice(3 * i, 3 * i + 3).join('×')} at (${x}, ${y}, ${z}) · utilisation ${(100 * this.utilisation(inst, k)).toFixed(1)}%`;
  }

  draw(inst: BinPack3DInstance, row: SolvedRow | undefined, upto: number, _ctx: DrawContext) {
    const canvas = this.element;
    const dpr = globalThis.devicePixelRatio || 1;
    const cssW = canvas.clientWidth || CSS_W, cssH = Math.round((cssW * CSS_H) / CSS_W);
    if (canvas.width !== Math.round(cssW * dpr)) { canvas.width = Math.round(cssW * dpr); canvas.height = Math.round(cssH * dpr); }
    const g = canvas.getContext('2d');
    if (!g) return;
    const { L, W, H } = inst;
    g.clearRect(0, 0, canvas.width, canvas.height);
    // Isometric: u = (x − y) cos30°, v = (x + y)/2 − z; the viewer looks along −(1, 1, 1).
    const top = 22 * dpr, pad = 10 * dpr;
    const s = Math.min((canvas.width - 2 * pad) / ((L + W) * COS30), (canvas.height - top - pad) / (H + (L + W) / 2));
    const ox = pad + W * COS30 * s + (canvas.width - 2 * pad - (L + W) * COS30 * s) / 2, oy = top + H * s;
    const P = (x: number, y: number, z: number): [number, number] => [ox + (x - y) * COS30 * s, oy + ((x + y) / 2 - z) * s];
    const line = (a: [number, number], b: [number, number]) => { g.moveTo(a[0], a[1]); g.lineTo(b[0], b[1]); };
    // The bin's back walls and floor.
    g.strokeStyle = '#8c959f';
    g.lineWidth = dpr;
    g.beginPath();
    line(P(0, 0, 0), P(L, 0, 0)); line(P(0, 0, 0), P(0, W, 0)); line(P(L, 0, 0), P(L, W, 0)); line(P(0, W, 0), P(L, W, 0));
    line(P(0, 0, 0), P(0, 0, H)); line(P(L, 0, 0), P(L, 0, H)); line(P(0, W, 0), P(0, W, H));
    line(P(0, 0, H), P(L, 0, H)); line(P(0, 0, H), P(0, W, H));
    g.stroke();
    // Cells owned by the placed items.
    const placed = row ? Math.min(upto, row.solution.length / 3) : 0;
    const owner = new Int32Array(L * W * H).fill(-1);
    const at = (x: number, y: number, z: number) => (x < 0 || y < 0 || z < 0 || x >= L || y >= W || z >= H ? -1 : owner[(x * W + y) * H + z]);
    for (let i = 0; i < placed; ++i) {
      const [x0, y0, z0] = row!.solution.slice(3 * i, 3 * i + 3), [l, w, hh] = inst.item.slice(3 * i, 3 * i + 3);
      for (let x = x0; x < x0 + l; ++x) for (let y = y0; y < y0 + w; ++y) for (let z = z0; z < z0 + hh; ++z) owner[(x * W + y) * H + z] = i;
    }
    const cells: number[] = [];
    for (let k = 0; k < owner.length; ++k) if (owner[k] >= 0) cells.push(k);
    const coords = (k: number) => [Math.floor(k / (W * H)), Math.floor(k / H) % W, k % H];
    cells.sort((a, b) => { const [ax, ay, az] = coords(a), [bx, by, bz] = coords(b); return ax + ay + az - (bx + by + bz); });
    const colors = new Map<number, string[]>();
    g.lineJoin = 'round';
    for (const k of cells) {
      const [x, y, z] = coords(k), i = owner[k];
      if (!colors.has(i)) { const c = colorOf(i); colors.set(i, [shade(c, 1, g), shade(c, 0.8, g), shade(c, 0.62, g)]); }
      const [cTop, cX, cY] = colors.get(i)!;
      const latest = i === placed - 1 && row && placed < row.solution.length / 3;
      // Each visible face: its corners, the cells across its four edges (same item: no outline).
      const faces: [boolean, string, [number, number, number][], [number, number, number][]][] = [
        [at(x, y, z + 1) < 0, cTop, [[x, y, z + 1], [x + 1, y, z + 1], [x + 1, y + 1, z + 1], [x, y + 1, z + 1]], [[x, y - 1, z], [x + 1, y, z], [x, y + 1, z], [x - 1, y, z]]],
        [at(x + 1, y, z) < 0, cX, [[x + 1, y, z], [x + 1, y + 1, z], [x + 1, y + 1, z + 1], [x + 1, y, z + 1]], [[x, y, z - 1], [x, y + 1, z], [x, y, z + 1], [x, y - 1, z]]],
        [at(x, y + 1, z) < 0, cY, [[x, y + 1, z], [x + 1, y + 1, z], [x + 1, y + 1, z + 1], [x, y + 1, z + 1]], [[x, y, z - 1], [x + 1, y, z], [x, y, z + 1], [x - 1, y, z]]],
      ];
      for (const [visible, color, corners, across] of faces) {
        if (!visible) continue;
        const pts = corners.map(([a, b, c]) => P(a, b, c));
        g.fillStyle = color;
        g.beginPath();
        pts.forEach(([px, py], j) => (j ? g.lineTo(px, py) : g.moveTo(px, py)));
        g.closePath();
        g.fill();
        // Stroked in its own colour too: no anti-aliasing seams between the cells of one face.
        g.strokeStyle = color;
        g.lineWidth = dpr;
        g.stroke();
        g.strokeStyle = latest ? '#1b1f24' : 'rgba(27,31,36,0.55)';
        g.lineWidth = (latest ? 2 : 1) * dpr;
        g.beginPath();
        for (let e = 0; e < 4; ++e) {
          const [a, b, c] = across[e];
          if (at(a, b, c) === i) continue;
          line(pts[e], pts[(e + 1) % 4]);
        }
        g.stroke();
      }
    }
    // The bin's front edges, over the items.
    g.strokeStyle = 'rgba(87,96,106,0.7)';
    g.lineWidth = dpr;
    g.setLineDash([4 * dpr, 3 * dpr]);
    g.beginPath();
    line(P(L, W, 0), P(L, W, H)); line(P(L, 0, H), P(L, W, H)); line(P(0, W, H), P(L, W, H));
    g.stroke();
    g.setLineDash([]);
    g.fillStyle = '#1b1f24';
    g.font = `${12 * dpr}px sans-serif`;
    const util = row ? `${placed} items · utilisation ${(100 * this.utilisation(inst, placed)).toFixed(1)}%` : 'no packing yet';
    g.fillText(`${L} × ${W} × ${H} bin · ${util}`, pad, 15 * dpr);
    g.fillStyle = '#57606a';
    g.font = `${10 * dpr}px sans-serif`;
    const [axX, axY] = P(L, 0, 0), [ayX, ayY] = P(0, W, 0);
    g.fillText('x', axX + 4 * dpr, axY + 4 * dpr);
    g.fillText('y', ayX - 10 * dpr, ayY + 4 * dpr);
    canvas.setAttribute('aria-label', row ? `${row.label}: ${util}` : 'the bin (no packing yet)');
  }
}

export const binPack3DView = (): ProblemView<BinPack3DInstance> => new BinPack3DView();
