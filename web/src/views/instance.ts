// The instance sandbox of the combinatorial problems: one instance of a problem — generated with a
// seed, pasted (a dataset line or a job-shop file, read by the core), or edited by hand where the
// problem's view allows it — and the core's reference solvers (core/combo/solvers.hpp, in the lab
// worker, never on the main thread) run on it side by side: exact where the size allows, heuristics
// always, with each solution's objective and gap (to the exact solver when one ran, else to the
// best). A learned policy's solution joins the same table and drawing through setExtra(), so
// learned, heuristic and exact solutions are compared on one instance. The selected row is drawn by
// the problem's own view module (sandbox/registry.ts: tours, routes, Gantt charts, bins), step by
// step with the slider or Play. This file never branches on the problem.
import { Coalescer, type LabClient } from '../lab/client';
import type { ComboProblemInfo, LabCall } from '../lab/protocol';
import { h } from './dom';
import { makeProblemViews, type AnyProblemView } from './sandbox/registry';
import type { SandboxSize, SolvedRow } from './sandbox/types';

export type { SolvedRow } from './sandbox/types';

export class InstanceSandbox {
  readonly panel: HTMLElement;
  private views: AnyProblemView[] = makeProblemViews();
  // A second set of drawings for the side-by-side comparison (a second solution at the same step).
  private twins: AnyProblemView[] = makeProblemViews();
  private compare = '';     // label of the compared solution ('' = none)
  private view: AnyProblemView = this.views[0];
  private catalog: Record<string, ComboProblemInfo> | null = null;
  private inst: unknown = null;
  private size: SandboxSize = this.view.sizes[this.view.defaultSize];
  private seed = 1;
  private pasted = '';      // the source of a pasted instance (its dataset line), '' = generated
  private rows: SolvedRow[] = [];
  private extra: SolvedRow | null = null;
  private shown = '';       // label of the drawn solution ('' = the policy's, else the best)
  private dragging = false;
  private making = '';      // the instance being generated (problem:size:seed)
  private step = Infinity;  // construction steps of the drawn solution shown (Infinity = all)
  private animation = 0;
  private solver = new Coalescer(() => this.solveAll());
  private el: Record<string, HTMLElement> = {};
  // Called after each solve with the instance (a view can then decode its policy on it).
  onInstance: (() => void) | null = null;

  constructor(private lab: LabClient) {
    const details = h('details', { 'data-testid': 'instance-sandbox' });
    const problem = h('select', { 'aria-label': 'Problem', 'data-testid': 'sandbox-problem' });
    for (const v of this.views) problem.appendChild(h('option', { value: v.id }, v.label));
    const size = h('select', { 'aria-label': 'Size', 'data-testid': 'sandbox-n' });
    const fresh = h('button', { 'data-testid': 'sandbox-new', title: 'A new random instance (the next seed)' }, 'New instance');
    const seed = h('span', { class: 'mono caption', 'data-testid': 'sandbox-seed' });
    const hint = h('p', { class: 'hint', 'data-testid': 'sandbox-hint' });
    const pasteText = h('textarea', { rows: '4', class: 'mono sandbox-paste', 'aria-label': 'An instance to paste', 'data-testid': 'sandbox-paste' }) as HTMLTextAreaElement;
    const pasteGo = h('button', { 'data-testid': 'sandbox-paste-solve' }, 'Solve this instance');
    const paste = h('details', { class: 'sandbox-paste-box', 'data-testid': 'sandbox-paste-box' }, h('summary', {}, 'Paste an instance'), pasteText, h('div', {}, pasteGo));
    const mainCap = h('div', { class: 'caption', 'data-testid': 'sandbox-main-caption', hidden: '' });
    const stage = h('div', { class: 'sandbox-stage', 'data-testid': 'sandbox-stage' }, mainCap);
    for (const v of this.views) { (v.element as HTMLElement).style.display = 'none'; stage.appendChild(v.element); }
    const compareSel = h('select', { 'aria-label': 'Compare with another solution', 'data-testid': 'sandbox-compare' }) as HTMLSelectElement;
    const compareCap = h('div', { class: 'caption', 'data-testid': 'sandbox-compare-caption' });
    const stage2 = h('div', { class: 'sandbox-stage', 'data-testid': 'sandbox-compare-stage', hidden: '' }, compareCap);
    for (const v of this.twins) { (v.element as HTMLElement).style.display = 'none'; stage2.appendChild(v.element); }
    const play = h('button', { 'data-testid': 'sandbox-play', title: 'Build the drawn solution step by step' }, 'Play');
    const slider = h('input', { type: 'range', min: '0', max: '0', step: '1', value: '0', 'aria-label': 'Steps of the drawn solution shown', 'data-testid': 'sandbox-step' }) as HTMLInputElement;
    const stepCap = h('span', { class: 'caption mono', 'data-testid': 'sandbox-step-caption', 'aria-live': 'off' });
    const table = h('table', { class: 'samples sandbox', 'data-testid': 'sandbox-table' });
    const note = h('p', { class: 'caption', 'data-testid': 'sandbox-note' });
    const err = h('div', { class: 'inline-error', role: 'alert', hidden: '', 'data-testid': 'sandbox-error' });
    details.append(h('summary', {}, 'Instance sandbox: heuristics, exact solvers and the policy on one instance'),
      h('div', { class: 'lab-knobs' }, h('label', { class: 'inline' }, 'problem ', problem), h('label', { class: 'inline' }, 'size ', size), fresh, seed),
      hint, paste, err, stage, stage2, h('div', { class: 'sandbox-steps' }, play, slider, stepCap), table,
      h('label', { class: 'inline' }, 'compare with ', compareSel), note);
    this.panel = h('section', { class: 'panel', 'data-panel': 'instance-sandbox' }, details);
    Object.assign(this.el, { details, problem, size, seed, hint, paste, pasteText, stage, mainCap, stage2, compareSel, compareCap, play, slider, stepCap, table, note, err });
    compareSel.addEventListener('change', () => { this.compare = compareSel.value; this.draw(); });
    this.chooseView(this.view.id);
    problem.addEventListener('change', () => {
      this.chooseView((problem as HTMLSelectElement).value);
      void this.newInstance();
    });
    size.addEventListener('change', () => {
      const s = this.view.sizes.find((x) => x.label === (size as HTMLSelectElement).value);
      if (s) this.size = s;
      void this.newInstance();
    });
    fresh.addEventListener('click', () => { this.seed += 1; void this.newInstance(); });
    pasteGo.addEventListener('click', () => void this.readPasted(pasteText.value));
    play.addEventListener('click', () => (this.animation ? this.stopPlay() : this.play()));
    slider.addEventListener('input', () => { this.stopPlay(); this.step = Number(slider.value); this.draw(); });
    details.addEventListener('toggle', () => { if ((details as HTMLDetailsElement).open && !this.inst) void this.newInstance(); });
    for (const v of this.views) {
      v.bindEdit?.({
        instance: () => (this.view === v ? this.inst : null),
        redraw: () => this.draw(),
        setDragging: (on) => { this.dragging = on; if (!on) this.extra = null; },  // the policy's solution was for the old instance
        edited: () => { this.pasted = ''; this.draw(); void this.solver.run(); },
      });
    }
    // No instance (and no lab worker) until the panel is opened or shown: setProblem() or the toggle.
  }

  // The problem and size to show (a training run's): a new instance if they changed. A size the
  // generator makes but the menu lacks is added (n jobs × machines for job-shop); problems whose
  // generator makes only the listed sizes (CVRP, knapsack) show their default.
  setProblem(problem: string, n: number, machines?: number) {
    const view = this.views.find((v) => v.id === problem);
    if (!view) return;
    const size = view.sizes.find((s) => s.n === n && (machines === undefined || s.machines === machines))
      ?? (view.onlyListedSizes ? view.sizes[view.defaultSize]
        : { label: machines === undefined ? String(n) : `${n} × ${machines}`, n, machines });
    if (view === this.view && size.label === this.size.label && this.inst && !this.pasted) return;
    this.chooseView(problem, size);
    void this.newInstance();
  }
  problem(): string { return this.view.id; }
  instance(): unknown { return this.inst; }
  // The current instance as the core's dataset line (what a policy is asked to solve).
  instanceText(): string | null { return this.inst ? this.view.text(this.inst) : null; }
  // A solution from elsewhere (the learned policy) shown with the solvers'; null removes it.
  // animate: build it step by step (the order the policy chose).
  // While another row is drawn (picked in the table), its slider position and Play go on undisturbed.
  setExtra(row: SolvedRow | null, animate = false) {
    const policyDrawn = !!this.extra && this.drawnRow() === this.extra;
    this.extra = row;
    this.renderTable();
    const drawn = this.drawnRow();
    if (row && drawn === row && animate) { this.play(); return; }
    if (policyDrawn || (row && drawn === row)) { this.stopPlay(); this.step = Infinity; }
    this.draw();
  }

  private chooseView(id: string, size?: SandboxSize) {
    const view = this.views.find((v) => v.id === id) ?? this.views[0];
    if (view !== this.view) {
      // The instance belongs to its problem's view: none until the new problem's arrives.
      this.stopPlay();
      this.inst = null;
      this.rows = [];
      this.extra = null;
      this.shown = '';
      this.compare = '';
      this.pasted = '';
      (this.el.pasteText as HTMLTextAreaElement).value = '';
    }
    this.view = view;
    (this.el.problem as HTMLSelectElement).value = this.view.id;
    for (const v of this.views) (v.element as HTMLElement).style.display = v === this.view ? '' : 'none';
    for (const v of this.twins) (v.element as HTMLElement).style.display = v.id === this.view.id ? '' : 'none';
    this.el.hint.textContent = this.view.hint;
    this.el.paste.hidden = !this.view.paste;
    (this.el.pasteText as HTMLTextAreaElement).placeholder = this.view.paste ?? '';
    this.fillSizes(size ?? this.view.sizes[this.view.defaultSize]);
    if (!this.inst) this.renderTable();
  }

  private fillSizes(want: SandboxSize) {
    const sizes = [...this.view.sizes];
    if (!sizes.some((s) => s.label === want.label)) sizes.push(want);
    this.size = want;
    const sel = this.el.size as HTMLSelectElement;
    sel.textContent = '';
    for (const s of sizes) sel.appendChild(h('option', { value: s.label }, s.label));
    sel.value = want.label;
  }

  private fail(message: string) {
    this.el.err.textContent = message;
    this.el.err.hidden = false;
  }

  private ensureCatalog(calls: LabCall[]) {
    if (!this.catalog) calls.push({ combo: 'catalog' });
  }

  private async newInstance() {
    // The same instance asked for twice while it is being made (the panel opening and a run's
    // problem arriving together) is made once.
    const key = `${this.view.id}:${this.size.label}:${this.seed}`;
    if (key === this.making) return;
    this.making = key;
    try { await this.makeInstance(); } finally { if (this.making === key) this.making = ''; }
  }

  private async makeInstance() {
    const view = this.view, size = this.size;
    this.el.seed.textContent = `seed ${this.seed}`;
    const calls: LabCall[] = [{ combo: 'generate', problem: view.id, n: size.n, machines: size.machines ?? size.n, seed: this.seed }];
    this.ensureCatalog(calls);
    const res = await this.lab.request(calls);
    const gen = res.results?.[0];
    if (res.error || !gen || gen.error || !gen.text) { this.fail(`${view.label} instance: ${res.error ?? gen?.error ?? 'no answer'}`); return; }
    if (res.results![1]?.catalog) this.catalog = res.results![1].catalog;
    if (view !== this.view) return;  // another problem was chosen meanwhile
    this.pasted = '';
    this.setInstance(view.parse(gen.text));
  }

  // A pasted text: the core reads it (a dataset or a file, errors naming the line and problem) and
  // gives it back as a dataset line; the first instance is shown.
  private async readPasted(text: string) {
    const view = this.view;
    const calls: LabCall[] = [{ combo: 'read', problem: view.id, text }];
    this.ensureCatalog(calls);
    const res = await this.lab.request(calls);
    const read = res.results?.[0];
    if (res.results?.[1]?.catalog) this.catalog = res.results[1].catalog;
    if (res.error || !read || read.error || !read.text) { this.fail(`${view.label}: the pasted instance was not read: ${res.error ?? read?.error ?? 'no answer'}`); return; }
    if (view !== this.view) return;
    const line = read.text.split('\n')[0];
    this.pasted = line;
    const inst = view.parse(line);
    this.fillSizes(view.size(inst));
    this.el.seed.textContent = read.count && read.count > 1 ? `pasted (the first of ${read.count} instances)` : 'pasted';
    this.setInstance(inst);
  }

  private setInstance(inst: unknown) {
    this.el.err.hidden = true;
    this.inst = inst;
    this.rows = [];
    this.extra = null;
    this.shown = '';
    this.stopPlay();
    this.step = Infinity;
    this.renderTable();
    this.draw();
    void this.solver.run();
  }

  // Every applicable solver of the problem on the current instance, in one batch.
  private async solveAll() {
    const inst = this.inst, view = this.view, info = this.catalog?.[view.id];
    if (!inst || !info) return;
    const solvers = info.solvers.filter((s) => !s.exact || view.exactApplies(inst, s.name));
    const text = view.text(inst);
    const res = await this.lab.request(solvers.map((s) => ({ combo: 'solve', problem: view.id, text, solver: s.name })));
    if (inst !== this.inst) return;  // a newer instance replaced it meanwhile
    if (res.error || !res.results) { this.fail(`${view.label} solvers: ${res.error ?? 'no answer'}`); return; }
    const bad = res.results.find((r) => r.error);
    if (bad) { this.fail(`${view.label} solvers: ${bad.error}`); return; }
    this.el.err.hidden = true;
    this.rows = res.results.map((r, k) => ({
      label: solvers[k].name, exact: solvers[k].exact, objective: r.instances![0].objective,
      solution: r.instances![0].solution, ms: r.instances![0].seconds * 1000,
    }));
    this.step = Infinity;
    this.renderTable();
    this.draw();
    this.onInstance?.();
  }

  private allRows(): SolvedRow[] { return this.extra ? [this.extra, ...this.rows] : this.rows; }
  private maximize(): boolean { return this.catalog?.[this.view.id]?.maximize ?? false; }
  // The reference of the gaps: the exact solver's solution when one ran, else the best.
  private reference(): SolvedRow | undefined {
    const exact = this.rows.find((r) => r.exact);
    if (exact) return exact;
    let best: SolvedRow | undefined;
    for (const r of this.rows) if (!best || (this.maximize() ? r.objective > best.objective : r.objective < best.objective)) best = r;
    return best;
  }

  private renderTable() {
    const t = this.el.table;
    t.textContent = '';
    const info = this.catalog?.[this.view.id];
    const ref = this.reference();
    t.appendChild(h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'solver'), h('th', { scope: 'col' }, info?.objective ?? 'objective'),
      h('th', { scope: 'col', title: ref?.exact ? 'relative to the exact solver\'s optimum' : 'relative to the best reference solver' }, ref?.exact ? 'gap to exact' : 'gap to best'),
      h('th', { scope: 'col' }, 'ms'))));
    const body = h('tbody');
    const drawn = this.drawnRow();
    for (const r of this.allRows()) {
      const gap = ref ? (100 * Math.abs(r.objective - ref.objective)) / Math.max(1e-12, Math.abs(ref.objective)) : NaN;
      const tr = h('tr', { 'data-solver': r.label, class: r === drawn ? 'selected' : '', tabindex: '0' },
        h('th', { scope: 'row' }, r.label + (r.exact ? ' (exact)' : '')),
        h('td', { class: 'mono', 'data-testid': 'sandbox-objective' }, this.view.format(r.objective)),
        h('td', { class: 'mono' }, Number.isFinite(gap) ? `${gap.toFixed(2)}%` : '—'),
        h('td', { class: 'mono' }, r.ms.toFixed(1)));
      const pick = () => { this.shown = r.label; this.stopPlay(); this.step = Infinity; this.renderTable(); this.draw(); };
      tr.addEventListener('click', pick);
      tr.addEventListener('keydown', (e) => { if ((e as KeyboardEvent).key === 'Enter') pick(); });
      body.appendChild(tr);
    }
    t.appendChild(body);
    this.el.note.textContent = this.inst ? this.view.note(this.inst, this.rows) : '';
    // The comparison menu: every row (the compared one kept while it is in the table).
    const sel = this.el.compareSel as HTMLSelectElement;
    sel.textContent = '';
    sel.appendChild(h('option', { value: '' }, 'none'));
    for (const r of this.allRows()) sel.appendChild(h('option', { value: r.label }, r.label));
    if (!this.allRows().some((r) => r.label === this.compare)) this.compare = '';
    sel.value = this.compare;
    this.publish();
  }

  // The last table and drawing, for the browser tests.
  private publish() {
    (globalThis as unknown as { __sandboxLast: unknown }).__sandboxLast = {
      problem: this.view.id, instance: this.inst, text: this.instanceText(), rows: this.allRows(),
      drawn: this.drawnRow()?.label ?? null, compare: this.compare || null, step: Number((this.el.slider as HTMLInputElement).value),
    };
  }

  private drawnRow(): SolvedRow | undefined {
    return this.allRows().find((r) => r.label === this.shown) ?? this.extra ?? this.reference();
  }

  // ------------------------------------------------------------------ drawing, step by step
  private draw() {
    const inst = this.inst;
    if (!inst) return;
    const row = this.drawnRow();
    const slider = this.el.slider as HTMLInputElement;
    const total = row ? this.view.steps(inst, row) : 0;
    const upto = Math.min(this.step, total);
    slider.max = String(total);
    slider.value = String(upto);
    slider.disabled = !row;
    (this.el.play as HTMLButtonElement).disabled = !row;
    this.el.stepCap.textContent = row ? `${row.label}: ${this.view.stepCaption(inst, row, upto)}` : 'solving…';
    this.view.draw(inst, row, upto, { rows: this.allRows(), dragging: this.dragging });
    // The compared solution at the same step (its own count of steps may differ: a 3-D packing).
    const other = this.allRows().find((r) => r.label === this.compare);
    this.el.stage2.hidden = !other;
    this.el.mainCap.hidden = !other;
    this.el.mainCap.textContent = row ? `drawn: ${row.label}` : '';
    if (other) {
      const twin = this.twins.find((v) => v.id === this.view.id)!;
      const otherTotal = twin.steps(inst, other), otherUpto = upto >= total ? otherTotal : Math.min(upto, otherTotal);
      this.el.compareCap.textContent = `compared: ${other.label}: ${twin.stepCaption(inst, other, otherUpto)}`;
      twin.draw(inst, other, otherUpto, { rows: this.allRows(), dragging: this.dragging });
    }
    this.publish();
  }

  // Builds the drawn solution from step 0, about 90 ms a step (1–4 s in all).
  private play() {
    const inst = this.inst, row = this.drawnRow();
    if (!inst || !row) return;
    this.stopPlay();
    const total = this.view.steps(inst, row), ms = Math.min(4000, Math.max(1000, 90 * total)), start = performance.now();
    (this.el.play as HTMLButtonElement).textContent = 'Pause';
    const tick = () => {
      this.step = Math.floor((total * (performance.now() - start)) / ms);
      if (this.step >= total) { this.step = Infinity; this.stopPlay(); this.draw(); return; }
      this.draw();
      this.animation = requestAnimationFrame(tick);
    };
    this.step = 0;
    this.draw();
    this.animation = requestAnimationFrame(tick);
  }
  private stopPlay() {
    if (this.animation) cancelAnimationFrame(this.animation);
    this.animation = 0;
    (this.el.play as HTMLButtonElement).textContent = 'Play';
  }
}
