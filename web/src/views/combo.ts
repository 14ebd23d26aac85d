// Views of the combinatorial task kind (algo pomo, core/algos/pomo.cpp): the training curves of a
// constructive policy (held-out tour length and gap to the reference solver, the baseline, the
// rollout baseline's t-test) and the instance sandbox with the policy's own tour beside the
// heuristics and the exact solver on the same instance — drawn edge by edge in the order the policy
// chose the cities, redrawn as training goes on, on an instance you can drag into any shape.
import { GRAD_NORM_CHART, LR_CHART, type ChartDef } from '../charts';
import { distUrl } from '../assets';
import { LabClient } from '../lab/client';
import type { Config, FromWorker } from '../protocol';
import type { Run } from '../runs';
import { h } from './dom';
import { warmStartRow } from './warmstart';
import { InstanceSandbox } from './instance';
import type { KindViews, ViewHost } from './types';

// What each problem's objective is, and what its multi-trajectory held-out decode means: POMO's
// forced starts (every first city, item or job), or for bin packing, where there is no first choice
// to force, the best of a fixed number of samples (the config's `samples`).
const PROBLEMS: Record<string, { objective: string; better: 'lower' | 'higher'; multi: string }> = {
  tsp: { objective: 'tour length', better: 'lower', multi: 'multi-start' },
  cvrp: { objective: 'total route length', better: 'lower', multi: 'multi-start' },
  knapsack: { objective: 'packed value', better: 'higher', multi: 'multi-start' },
  jobshop: { objective: 'makespan', better: 'lower', multi: 'multi-start' },
  binpack1d: { objective: 'bins used', better: 'lower', multi: 'best of samples' },
  binpack3d: { objective: 'space utilisation', better: 'higher', multi: 'best of samples' },
};
const problemOf = (run: Run | undefined) => PROBLEMS[String(run?.applied?.problem ?? 'tsp')] ?? PROBLEMS.tsp;
const multiLabel = (run: Run) => problemOf(run).multi;

const CHARTS: ChartDef[] = [
  { id: 'combo_gap', title: 'Held-out gap to the reference solver (%)', requires: 'heldout_gap', series: [
    { col: 'heldout_gap', label: 'greedy' },
    { col: 'heldout_multistart_gap', label: multiLabel, dash: [4, 4] }] },
  { id: 'combo_objective', requires: 'heldout_objective',
    title: (run) => { const p = problemOf(run); return `Objective: ${p.objective}, ${p.better} is better (held-out mean; training samples)`; },
    series: [
    { col: 'heldout_objective', label: 'greedy' },
    { col: 'heldout_multistart_objective', label: multiLabel, dash: [4, 4] },
    { col: 'reference_objective', label: 'reference solver', faded: true },
    { col: 'train_objective', label: 'training samples', rolling: true }] },
  { id: 'combo_baseline', title: 'Baseline (the objective the advantage is measured against)', requires: 'baseline_value', series: [
    { col: 'baseline_value', label: 'baseline' }] },
  { id: 'combo_critic', title: 'Critic baseline: mean (v(s) − objective)²', requires: 'critic_loss', series: [
    { col: 'critic_loss', label: 'critic loss' }] },
  { id: 'combo_poppy', title: 'Poppy: held-out instances each agent wins (%, multi-start)', requires: 'agent0_wins', range: [0, 100],
    series: Array.from({ length: 8 }, (_, k) => ({ col: `agent${k}_wins`, label: `agent ${k}`, dash: k ? [2 + 2 * k, 3] : undefined })) },
  { id: 'combo_ttest', title: 'Rollout baseline: one-sided t-test p-value (replaced when < 0.05)', requires: 'baseline_p_value', range: [0, 1], series: [
    { col: 'baseline_p_value', label: 'p' }] },
  { id: 'policy_loss', title: 'Policy loss −(R − b) log π', series: [{ col: 'policy_loss', label: 'policy loss' }] },
  { id: 'entropy', title: 'Mean negative log-likelihood of the sampled decisions', series: [{ col: 'entropy', label: 'nats' }] },
  LR_CHART,
  GRAD_NORM_CHART,
  { id: 'instances_per_s', title: 'Training throughput (instances/s)', requires: 'instances_per_s', series: [{ col: 'instances_per_s', label: 'instances/s' }] },
];
// The checkpoints of examples/pretrained/ (scripts/pretrain-combo.sh), with what they reach.
const PRETRAINED = [
  { id: 'tsp20', label: 'TSP20', note: '100000 steps; held-out gap 0.76% greedy, 0.13% multi-start (to the optimum)' },
  { id: 'tsp50', label: 'TSP50', note: 'the TSP20 policy fine-tuned 50000 steps on TSP50; held-out gap 3.61% greedy, 1.31% multi-start, 0.60% multi-start ×8 augmentation (to the optimum)' },
  { id: 'cvrp20', label: 'CVRP20', note: '1000 steps; held-out gap 7.52% greedy, 0.12% multi-start (to Clarke-Wright savings)' },
  { id: 'knapsack50', label: 'knapsack-50', note: '150 steps; held-out gap 0.15% greedy, 0.03% multi-start (to the optimum)' },
  { id: 'jobshop6x6', label: 'job-shop 6×6', note: '400 steps; held-out gap 7.49% greedy, 5.19% multi-start (to the optimum)' },
  { id: 'binpack1d', label: '1-D bin packing (50 items)', note: '150 steps; held-out greedy 21.98 bins = best-fit 21.98, best of 8 samples 21.78' },
  { id: 'binpack3d', label: '3-D bin packing (40 items)', note: '100 steps; held-out greedy utilisation 0.441 vs best-fit 0.396' },
];
const DECODES = [
  { id: 'greedy', label: 'greedy' },
  { id: 'multistart', label: 'multi-start (POMO)' },
  { id: 'multistart_aug8', label: 'multi-start ×8 augmentation' },
  { id: 'sample:16', label: 'best of 16 samples' },
];
// Redraw the policy's tour at most this often while training runs.
const REFRESH_MS = 700;

export class ComboViews implements KindViews {
  readonly kind = 'combo';
  readonly panels: HTMLElement[];
  readonly charts = CHARTS;
  readonly stepAxis = { col: 'iteration', label: 'gradient steps' };
  private active = false;
  private sandbox: InstanceSandbox;
  private decode = 'greedy';
  private lastSolve = 0;
  private refreshTimer = 0;
  private solving = false;
  private pending = false;
  private followed = '';  // the run's problem and size the sandbox last followed
  private el: Record<string, HTMLElement> = {};

  constructor(private host: ViewHost) {
    this.sandbox = new InstanceSandbox(new LabClient(() => host.makeLabWorker()));
    const decode = h('select', { 'aria-label': 'How the policy decodes', 'data-testid': 'combo-decode' }) as HTMLSelectElement;
    for (const d of DECODES) decode.appendChild(h('option', { value: d.id }, d.label));
    const note = h('div', { class: 'caption', 'data-testid': 'combo-policy-note', 'aria-live': 'polite' }, 'the policy joins the table once its run is configured');
    decode.addEventListener('change', () => { this.decode = decode.value; this.solvePolicy(true); });
    this.sandbox.panel.querySelector('details')?.append(h('div', { class: 'eval-row' }, h('label', { class: 'inline' }, 'policy decodes ', decode)), note);
    this.sandbox.panel.dataset.kind = 'combo';
    this.sandbox.onInstance = () => this.solvePolicy(true);
    this.panels = [this.sandbox.panel, this.pretrainedPanel()];
    Object.assign(this.el, { decode, note });
  }

  private get selRun(): Run | undefined { return this.host.runs[this.host.state.view.sel]; }

  // A competent solver at once: the selected run becomes a pretrained checkpoint of examples/pretrained/
  // (shipped beside the page), which Play fine-tunes; or starts from a checkpoint file's weights
  // (Poppy's population from a single POMO policy).
  private pretrainedPanel(): HTMLElement {
    const status = h('div', { class: 'caption', 'data-testid': 'pretrained-status', 'aria-live': 'polite' });
    const buttons = PRETRAINED.map((p) => {
      const b = h('button', { type: 'button', 'data-testid': `pretrained-${p.id}`, title: p.note }, p.label) as HTMLButtonElement;
      b.addEventListener('click', async () => {
        const file = `pomo_${p.id}.plck`;
        status.textContent = `loading ${file} …`;
        try {
          const res = await fetch(distUrl(`pretrained/${file}`));
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          await this.host.loadCheckpoint(new Uint8Array(await res.arrayBuffer()), file);
          status.textContent = `${p.label}: ${p.note}`;
        } catch (e) {
          status.textContent = '';
          this.host.message(`Could not fetch the pretrained ${p.label} policy (${file}): ${(e as Error).message}`, 'error', 'pretrained');
        }
      });
      return b;
    });
    return h('section', { class: 'panel', 'data-panel': 'pretrained', 'data-kind': 'combo' },
      h('h2', {}, 'Pretrained policies'),
      h('p', { class: 'hint' }, 'Load a trained policy into the selected run, see it solve the sandbox instance, press Play to fine-tune it.'),
      h('div', { class: 'eval-row' }, ...buttons), status,
      warmStartRow(this.host, () => this.selRun, 'Like init_from: the reset run takes the checkpoint\'s weights (same problem, size and model); a Poppy population clones a single policy\'s decoder into every agent'));
  }

  activate() {
    this.active = true;
    // Open on first show (its lab worker starts then, not when a page of another kind loads).
    this.sandbox.panel.querySelector('details')?.setAttribute('open', '');
    this.followRun();
  }
  deactivate() {
    this.active = false;
    this.sandbox.setExtra(null);
  }
  syncRuns() {
    if (this.active) this.followRun();
  }
  onFieldChange() { /* problem and size apply on reset, when the trainer is configured */ }

  onMessage(run: Run, m: FromWorker, selected: boolean) {
    if (!selected || !this.active) return;
    if (m.type === 'configured') this.followRun();
    else if (m.type === 'metrics') this.solveSoon();
  }

  // At most one policy solve per REFRESH_MS while metrics arrive, and always one after the last of
  // them (a trailing timer): otherwise steps that end within REFRESH_MS of a solve leave the drawn
  // policy stale.
  private solveSoon() {
    const wait = REFRESH_MS - (performance.now() - this.lastSolve);
    if (wait <= 0) { this.solvePolicy(false); return; }
    if (!this.refreshTimer) this.refreshTimer = window.setTimeout(() => { this.refreshTimer = 0; this.solvePolicy(false); }, wait);
  }

  // The held-out figures come from the latest evaluation, every eval_interval steps (10000 in some
  // presets): the status says which iteration they are from, so they are not read as the policy's
  // current ones (the sandbox shows those).
  status(run: Run): string {
    const st = run.store;
    const gaps = st?.col('heldout_gap') ?? [];
    let at = gaps.length - 1;
    while (at >= 0 && !Number.isFinite(gaps[at])) at--;
    if (!st || at < 0) return `held-out gap – · ${problemOf(run).objective} – (not evaluated yet)`;
    const obj = st.col('heldout_objective')[at], iteration = st.col('iteration')[at];
    return `held-out gap ${gaps[at].toFixed(2)}% · ${problemOf(run).objective} ${Number.isFinite(obj) ? obj.toFixed(3) : '–'} (at iteration ${iteration})`;
  }

  groupNotes(): Record<string, string> { return {}; }

  // The selected run's problem and size.
  private runProblem(): { problem: string; n: number; machines?: number } | null {
    const c: Config | undefined = this.selRun?.applied ?? this.host.state.runs[this.host.state.view.sel];
    if (!c) return null;
    const problem = String(c.problem ?? 'tsp');
    // Machines size job-shop instances only (the other problems' sizes are n alone).
    return { problem, n: Number(c.n ?? 10), machines: problem !== 'jobshop' || c.machines === undefined ? undefined : Number(c.machines) };
  }

  // The sandbox shows the selected run's problem and size when they change (a problem picked in the
  // sandbox meanwhile stays until then).
  private followRun() {
    const p = this.runProblem();
    if (!p) return;
    const key = `${p.problem}:${p.n}:${p.machines ?? ''}`;
    if (key !== this.followed) {
      this.followed = key;
      this.sandbox.setProblem(p.problem, p.n, p.machines);
    }
    this.solvePolicy(true);
  }

  // The policy's solution of the sandbox's instance, from the selected run's worker (one request in
  // flight; a request made meanwhile runs when it returns).
  private solvePolicy(animate: boolean) {
    const run = this.selRun, inst = this.sandbox.instance(), text = this.sandbox.instanceText();
    // Only on the run's own problem (the sandbox may show another one).
    if (!this.active || !run?.applied || !inst || !text) return;
    const own = this.runProblem()?.problem;
    if (this.sandbox.problem() !== own) {
      this.el.note.textContent = `the selected run's policy solves ${own} instances: choose ${own} above to see it here`;
      this.el.note.classList.remove('error');
      return;
    }
    if (this.solving) { this.pending = true; return; }
    this.solving = true;
    this.lastSolve = performance.now();
    const decode = this.decode;
    run.comboSolve(text, decode, 1).then((r) => {
      if (inst !== this.sandbox.instance()) return;  // the instance changed meanwhile
      const sol = r.instances[0];
      this.sandbox.setExtra({ label: `policy (${decode}, step ${run.iteration})`, objective: sol.objective, solution: sol.solution, ms: r.seconds * 1000, exact: false }, animate);
      this.el.note.textContent = `the selected run's policy at step ${run.iteration}`;
      this.el.note.classList.remove('error');
    }).catch((e: Error) => {
      this.el.note.textContent = `policy: ${e.message}`;
      this.el.note.classList.add('error');
    }).finally(() => {
      this.solving = false;
      if (this.pending) { this.pending = false; this.solvePolicy(false); }
    });
  }
}
