// Metrics export (CSV, JSON) and downloads.
import type { Run } from './runs';
import { taskName } from './state';

export function download(name: string, blob: Blob) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

const cell = (v: number) => (Number.isFinite(v) ? String(v) : '');

export function exportCsv(runs: Run[], label: (i: number) => string): string {
  // Runs may have different columns (an algorithm adds its own metrics): the union, in order.
  const cols = [...new Set(runs.flatMap((r) => r.store?.cols ?? []))];
  const layers = [...new Set(runs.flatMap((r) => r.layerNames))];
  // "env_id" is the env id or the sequence task id (what the run learns).
  const head = ['run', 'algo', 'env_id', 'seed', ...cols, ...layers.map((l) => `grad_norm/${l}`)];
  const lines = [head.join(',')];
  runs.forEach((r, i) => {
    const st = r.store;
    if (!st) return;
    for (let k = 0; k < st.length; k++) {
      const row = [label(i), String(r.applied?.algo ?? ''), taskName(r.applied), String(r.applied?.seed ?? '')];
      for (const c of cols) row.push(st.cols.includes(c) ? cell(st.col(c)[k]) : '');
      for (const l of layers) { const j = st.layerNames.indexOf(l); row.push(j >= 0 && st.layerNorms[j] ? cell(st.layerNorms[j][k]) : ''); }
      lines.push(row.join(','));
    }
  });
  return lines.join('\n') + '\n';
}

export function exportJson(runs: Run[], label: (i: number) => string): string {
  const out = runs.map((r, i) => {
    const st = r.store;
    const metrics: Record<string, (number | null)[]> = {};
    if (st) for (const c of st.cols) metrics[c] = st.col(c).map((v) => (Number.isFinite(v) ? v : null));
    const layer_grad_norms: Record<string, (number | null)[]> = {};
    if (st) st.layerNames.forEach((n, j) => (layer_grad_norms[n] = (st.layerNorms[j] ?? []).map((v) => (Number.isFinite(v) ? v : null))));
    return { run: label(i), config: r.applied, metrics, layer_grad_norms };
  });
  return JSON.stringify({ policylab: 1, runs: out }, null, 1);
}
