// The playground: wires the state (= share URL), the runs (one worker each) and the views. What
// every run has (transport, controls, training-dynamics charts, gradients, objective, exports,
// compare) is here; the views of a task kind (env: policy viewer and map; sequence: samples table
// and prompt box) live in views/ behind the KindViews interface, chosen by the selected run's kind.
import { distUrl } from './assets';
import { ChartPanel, rollingMean } from './charts';
import { buildControls, markField } from './controls';
import { exportCsv, exportJson, download } from './exporter';
import { drawHistogram } from './heatmap';
import type { Config, FromWorker, Meta } from './protocol';
import { presetNotice } from './presets';
import { COLORS, Run, type WorkerFactory } from './runs';
import { FILE_FIELDS, INIT_FROM_URL, SPEEDS, applicableRun, coreConfig, decidingFields, decodeState, defaultState, encodeState, fullConfig, kindOf, runFields, same, schemaOf, taskName, unknownControls, type AppState } from './state';
import { h } from './views/dom';
import { EnvViews } from './views/env';
import type { KindViews, ViewHost } from './views/types';

export interface AppOptions {
  factory: WorkerFactory;
  embed?: boolean;         // compact layout (embed page, <policy-lab>)
  useLocation?: boolean;   // read/write the page URL (false for <policy-lab>: attributes instead)
  initial?: string;        // initial state as URL parameters (when not from the location)
  labFactory?: () => Worker;  // the loss explorer's worker (web/src/lab/labworker.ts)
}

// Yields to the event loop: what follows runs in a new task (other events and a frame may come first).
const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
// Resolves in a task after the next frame has been rendered.
const afterFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));


export class App implements ViewHost {
  meta: Meta | null = null;
  state: AppState = defaultState();
  runs: Run[] = [];
  private el: Record<string, HTMLElement> = {};
  private charts!: ChartPanel;
  // The views of each task kind; the selected run's kind is active.
  private kinds: Record<string, KindViews> = {};
  private active: KindViews | null = null;
  private urlTimer = 0;
  private statusTimer = 0;
  playing = false;
  // Links being applied, one after the other (start's, then applyLink's).
  private linkQueue: Promise<void> = Promise.resolve();
  // For tests and the benchmark.
  readonly ready: Promise<void>;

  constructor(private root: HTMLElement | ShadowRoot, private opts: AppOptions) {
    this.build();
    this.ready = this.start();
  }

  makeLabWorker(): Worker {
    if (!this.opts.labFactory) throw new Error('this page has no loss-lab worker');
    return this.opts.labFactory();
  }

  // ------------------------------------------------------------------ layout
  private build() {
    const embed = !!this.opts.embed;
    const wrap = h('div', { class: 'pl-app' + (embed ? ' embed' : '') });
    const msgs = h('div', { class: 'messages', role: 'alert', 'aria-live': 'assertive', 'data-testid': 'messages' });
    const play = h('button', { class: 'primary', 'data-testid': 'play', title: 'Play / pause (space)', 'aria-keyshortcuts': 'Space' }, 'Play');
    const step = h('button', { 'data-testid': 'step', title: 'One iteration (S)', 'aria-keyshortcuts': 's' }, 'Step');
    const reset = h('button', { 'data-testid': 'reset', title: 'Recreate the trainers with the current settings (R)', 'aria-keyshortcuts': 'r' }, 'Reset');
    const speed = h('select', { 'data-testid': 'speed', 'aria-label': 'Training speed' });
    for (const s of SPEEDS) speed.appendChild(h('option', { value: s.id }, s.label));
    const speedLab = h('label', { class: 'inline' }, 'Speed ', speed);
    const status = h('div', { class: 'status', 'data-testid': 'status', 'aria-live': 'off' }, 'loading the WebAssembly core…');
    const transport = h('div', { class: 'transport', role: 'toolbar', 'aria-label': 'Training' }, play, step, reset, speedLab, status);
    const tabs = h('div', { class: 'run-tabs', role: 'tablist', 'aria-label': 'Runs', 'data-testid': 'run-tabs' });
    const compare = h('button', { 'data-testid': 'compare', title: 'Add a run to compare (copy of the selected run with the next seed)' }, '+ Compare run');
    const share = h('button', { 'data-testid': 'share', title: 'Copy a link that reproduces this setup' }, 'Share link');
    const shareOut = h('input', { class: 'share-url', readonly: '', 'aria-label': 'Share link', 'data-testid': 'share-url' }) as HTMLInputElement;
    // Two configurations on the same seed differ only by the configuration (no seed noise).
    const compareSame = h('button', { 'data-testid': 'compare-same-seed', title: 'Add a run to compare: a copy of the selected run with the same seed (change one setting, press Reset)' }, '+ Same seed');
    const runsBar = h('div', { class: 'runs-bar', 'data-panel': 'compare' }, tabs, compare, compareSame, share, shareOut);
    const header = h('header', { class: 'top' },
      h('h1', {}, h('span', { class: 'logo' }, 'PolicyLab'), h('span', { class: 'sub' }, embed ? '' : ' — train RL agents and tiny transformers live in your browser')),
      transport);
    const controls = h('section', { class: 'controls', 'data-panel': 'controls', 'aria-label': 'Hyperparameters' });
    const charts = h('section', { class: 'charts', 'data-panel': 'charts', 'aria-label': 'Training curves' });
    const xsel = h('select', { 'aria-label': 'Chart x axis', 'data-testid': 'xaxis' }, h('option', { value: 'step' }, 'env steps'), h('option', { value: 'time' }, 'wall time (s)'));
    const smooth = h('input', { type: 'number', min: '1', max: '1000', step: '1', 'aria-label': 'Rolling mean window (iterations)', class: 'short' }) as HTMLInputElement;
    const chartOpts = h('div', { class: 'chart-opts', 'data-panel': 'charts' }, h('label', { class: 'inline' }, 'x axis ', xsel), h('label', { class: 'inline' }, 'rolling mean over ', smooth, ' iterations'));
    // The env views now (the default task's); the other kinds' in start() (loadKinds).
    this.kinds = { env: new EnvViews(this) };
    const kindPanels = this.kinds.env.panels;
    for (const p of kindPanels) p.hidden = true;
    const layerSel = h('select', { 'aria-label': 'Layer for the gradient histogram', 'data-testid': 'layer' });
    const hist = h('canvas', { width: '480', height: '170', role: 'img', 'aria-label': 'Histogram of the latest gradient', 'data-testid': 'hist' }) as HTMLCanvasElement;
    const gradSec = h('section', { class: 'panel', 'data-panel': 'gradients' }, h('h2', {}, 'Latest gradient (histogram)'), h('label', { class: 'inline' }, 'layer ', layerSel), hist);
    const formula = h('div', { class: 'formula', 'data-testid': 'formula' });
    const formSec = h('section', { class: 'panel', 'data-panel': 'formula' }, h('h2', {}, 'Objective (selected run)'), formula);
    const upload = h('input', { type: 'file', accept: '.plck,.ckpt,application/octet-stream', class: 'visually-hidden', id: 'pl-upload', 'data-testid': 'upload' }) as HTMLInputElement;
    const exp = h('section', { class: 'panel export', 'data-panel': 'export' }, h('h2', {}, 'Export'),
      h('div', { class: 'btns' },
        h('button', { 'data-export': 'csv' }, 'Metrics CSV'), h('button', { 'data-export': 'json' }, 'Metrics JSON'),
        h('button', { 'data-export': 'png' }, 'Charts PNG'), h('button', { 'data-export': 'config', 'data-testid': 'export-config' }, 'Config JSON'),
        h('button', { 'data-export': 'ckpt', 'data-testid': 'export-ckpt' }, 'Download checkpoint'),
        h('label', { class: 'button', for: 'pl-upload', tabindex: '0', role: 'button' }, 'Upload checkpoint'), upload),
      h('p', { class: 'hint' }, 'The config JSON trains unchanged with the native CLI: policylab train config.json --out runs/x'));
    const side = h('div', { class: 'side' }, ...kindPanels, gradSec, formSec, exp);
    const mainEl = h('main', { class: 'grid' }, controls, h('div', { class: 'center' }, chartOpts, charts), side);
    wrap.append(header, msgs, runsBar, mainEl);
    this.root.appendChild(wrap);
    Object.assign(this.el, { wrap, msgs, play, step, reset, speed, status, tabs, compare, compareSame, share, shareOut, controls, charts, xsel, smooth, layerSel, hist, formula, upload, exp, gradSec });
    this.charts = new ChartPanel(charts, () => this.runs, () => this.state.view.sel, () => this.state.view, (i) => this.label(i), (id) => this.isHidden(id));

    play.addEventListener('click', () => (this.playing ? this.pause() : this.play()));
    step.addEventListener('click', () => this.stepOnce());
    reset.addEventListener('click', () => this.reset());
    speed.addEventListener('change', () => { this.state.view.speed = (speed as HTMLSelectElement).value; this.applySpeed(); this.saveUrl(); });
    compare.addEventListener('click', () => this.addRun());
    compareSame.addEventListener('click', () => this.addRun(true));
    share.addEventListener('click', () => this.share());
    xsel.addEventListener('change', () => { this.state.view.x = (xsel as HTMLSelectElement).value as 'step' | 'time'; this.charts.invalidate(); this.saveUrl(); });
    smooth.addEventListener('change', () => {
      const v = Number(smooth.value);
      if (!Number.isInteger(v) || v < 1 || v > 1000) { this.message('rolling mean window: must be an integer in [1, 1000]', 'error'); smooth.value = String(this.state.view.smooth); return; }
      this.state.view.smooth = v; this.charts.invalidate(); this.saveUrl();
    });
    layerSel.addEventListener('change', () => this.drawGrads());
    exp.addEventListener('click', (e) => { const b = (e.target as HTMLElement).closest('[data-export]'); if (b) this.exportAs((b as HTMLElement).dataset.export!); });
    exp.querySelector('label.button')!.addEventListener('keydown', (e) => { const k = (e as KeyboardEvent).key; if (k === 'Enter' || k === ' ') { e.preventDefault(); upload.click(); } });
    upload.addEventListener('change', async () => {
      const f = upload.files?.[0];
      upload.value = '';
      if (f) await this.loadCheckpoint(new Uint8Array(await f.arrayBuffer()), f.name);
    });
    // On a page of its own the shortcuts work wherever the focus is (after a click on the page's
    // background it is on <body>, outside the app); an element embedded in a course page takes them
    // only while the focus is inside it.
    (this.opts.useLocation ? document : wrap).addEventListener('keydown', (e) => this.onKey(e as KeyboardEvent));
    if (this.opts.useLocation) window.addEventListener('hashchange', () => { if (location.hash.slice(1) !== this.encoded()) void this.applyLink(location.hash); });
  }

  private onKey(e: KeyboardEvent) {
    const t = e.target as HTMLElement;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA' || t.tagName === 'BUTTON' || t.isContentEditable)) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === ' ') { e.preventDefault(); this.playing ? this.pause() : this.play(); }
    else if (e.key === 's') this.stepOnce();
    else if (e.key === 'r') this.reset();
  }

  label(i: number): string { return String.fromCharCode(65 + i); }

  // ------------------------------------------------------------------ messages
  message(text: string, kind: 'error' | 'info' = 'info', key?: string) {
    const box = this.el.msgs;
    if (key) box.querySelector(`[data-key="${CSS.escape(key)}"]`)?.remove();
    const m = h('div', { class: `msg ${kind}`, 'data-testid': kind === 'error' ? 'error' : 'info' });
    if (key) m.dataset.key = key;
    const close = h('button', { class: 'close', 'aria-label': 'Dismiss message', title: 'Dismiss' }, '×');
    close.addEventListener('click', () => m.remove());
    m.append(h('span', {}, text), close);
    box.appendChild(m);
    if (kind === 'info') setTimeout(() => m.remove(), 8000);
  }

  // ------------------------------------------------------------------ startup and state
  private async start() {
    // The first worker starts once the page has shown its first frame. Its start (the worker
    // script's parse, the inlined core's decode and WebAssembly compile) keeps both cores of a small
    // machine busy, and begun inside the module's evaluation it stretched the task that first lays
    // out the page from ~15 ms of CPU to 50-70 ms of wall time (bench/browser/startup.mjs).
    // A background tab or an off-screen iframe may render no frame for a long time: 100 ms at most.
    await Promise.race([afterFrame(), new Promise((resolve) => setTimeout(resolve, 100))]);
    const first = this.newRun(0);
    const kinds = this.loadKinds();
    kinds.catch(() => {});  // reported below, unless the worker failed first
    void this.warmFonts();
    let meta: Meta;
    try {
      meta = await first.whenReady();
      await kinds;
    } catch (e) {
      this.el.status.textContent = 'WebAssembly core unavailable';
      this.message(`Could not start training: ${(e as Error).message}. Reload the page to try again.`, 'error', 'fatal');
      this.setEnabled(false);
      return;
    }
    // The schema and the first run appear together: whoever sees `meta` (the page's code, a test
    // waiting for every run to be applied) also sees the run, which loadState configures. With meta
    // set first, a loaded machine's slow view chunks left a window with meta and no runs.
    this.runs = [first];
    this.meta = meta;
    const text = this.opts.useLocation ? (location.hash || location.search) : (this.opts.initial ?? '');
    // In the queue of links (applyLink): an element's attribute changed meanwhile applies after this.
    await (this.linkQueue = this.linkQueue.then(async () => {
      await this.loadState(text, false);
      if (this.state.view.autoplay) this.play();
    }));
  }

  // The views of the sequence and combinatorial task kinds: modules of their own (chunks Vite splits
  // off), loaded and built, each in a task of its own, while the first worker starts, so that the
  // page's module evaluation holds only what its first paint needs (bench/browser/startup.mjs).
  private async loadKinds() {
    const loaders: [string, () => Promise<(host: ViewHost) => KindViews>][] = [
      ['sequence', () => import('./views/sequence').then((m) => (v) => new m.SequenceViews(v))],
      ['combo', () => import('./views/combo').then((m) => (v) => new m.ComboViews(v))],
    ];
    // One module graph at a time: evaluated together they made one long task.
    for (const [kind, load] of loaders) {
      const make = await load();
      await nextTask();
      const views = make(this);
      for (const p of views.panels) p.hidden = true;
      this.el.gradSec.before(...views.panels);
      this.kinds[kind] = views;
    }
  }

  // The first layout of text in a font family the page has not used yet asks the browser process
  // for it (a synchronous call per family name: the controls' monospace stack is five names, the
  // objective's KaTeX fallbacks and MathML four more), and on a loaded machine those calls made
  // the tasks that first lay out the controls and the objective 3-4 times their CPU time
  // (bench/browser/startup-trace.mjs). Here the same families are laid out while the first worker
  // starts and the main thread is idle: a hidden sample per frame, removed afterwards. The KaTeX
  // sample also starts loading the KaTeX web fonts the objective uses.
  private async warmFonts() {
    const box = h('div', { class: 'font-warmup', 'aria-hidden': 'true' });
    box.style.cssText = 'position:absolute;left:-10000px;top:0;visibility:hidden;pointer-events:none;white-space:nowrap';
    const samples = [
      () => h('div', { class: 'field' }, h('label', {}, 'learning_rate')),
      () => { const k = h('span', { class: 'katex' }); k.innerHTML = '<span class="katex-mathml"><math><mi>θ</mi></math></span><span class="katex-html"><span class="mord mathnormal">θ</span><span class="mord">(0.5)</span><span class="mord amsrm">≥</span><span class="delimsizing size1">(</span><span class="mord mathcal">L</span></span>'; return k; },
    ];
    await afterFrame();
    this.el.wrap.appendChild(box);
    for (const make of samples) {
      box.appendChild(make());
      await afterFrame();
    }
    box.remove();
    // The canvases' fonts (charts' tick labels, the histogram, the policy map and the viewer): the
    // first text drawn in a family looks it up the same way, inside the task of the first draw.
    const g = document.createElement('canvas').getContext('2d');
    if (g) for (const font of ['12px system-ui, sans-serif', '10px sans-serif']) { g.font = font; g.fillText('0', 0, 0); }
  }

  private newRun(index: number): Run {
    return new Run(this.opts.factory, {
      onMessage: (run, m) => this.onWorker(run, m),
      onCrash: (run, message) => {
        this.message(`Run ${this.label(this.runs.indexOf(run))}: the training worker stopped (${message}). Press Reset to start it again.`, 'error', `crash${run.id}`);
        this.refreshStatus();
      },
    }, index);
  }

  encoded(): string { return encodeState(this.meta, this.state); }

  // A new link for a live session (the element's changed attributes): applied after any link still
  // being applied; with autoplay, runs it restarts (or autoplay just turned on) start playing, as
  // those of a new element would.
  applyLink(text: string): Promise<void> {
    this.linkQueue = this.linkQueue.then(async () => {
      if (!this.meta) { this.opts.initial = text; return; }  // start() reads it once the core is ready
      const wasAutoplay = this.state.view.autoplay;
      const restarted = await this.loadState(text, true);
      if (this.state.view.autoplay && (restarted || !wasAutoplay)) this.play();
    });
    return this.linkQueue;
  }

  // Applies a link (the page's URL, or the element's attributes as one). A bad key is reported by name
  // and left out; the rest applies. fromUser: a link given to a live session (the address bar, an
  // element's changed attributes): a link whose runs cannot be built is not applied at all, and the
  // runs whose settings it does not change keep training where they are. Resolves with whether runs
  // were (re)configured.
  private async loadState(text: string, fromUser: boolean): Promise<boolean> {
    const meta = this.meta!;
    const { state, errors, unusable } = decodeState(meta, text);
    // The previous link's complaints go with it.
    for (const key of ['url', 'controls', 'hide']) this.el.msgs.querySelector(`[data-key="${key}"]`)?.remove();
    // An element's settings come from its attributes: set-NAME for the run, compare-NAME for the second.
    const source = !this.opts.useLocation ? 'The element\'s attributes (set-NAME; compare-NAME for "run 1")' : fromUser ? 'The new link' : 'The link';
    if (fromUser && unusable) {
      this.message(`${source} cannot be used, so the current runs and settings are kept: ${errors.join('; ')}.`, 'error', 'url');
      this.saveUrl(true);  // the address bar shows the session again
      return false;
    }
    if (errors.length) {
      this.message(`${source}: ${errors.join('; ')}. ${errors.length > 1 ? 'These were' : 'This was'} left out (the defaults apply there); the other settings are used.`, 'error', 'url');
    }
    this.checkViewNames(state.view.controls, state.view.hide);
    // The runs this link changes (or adds); the others keep their trainers.
    const before = this.state.runs;
    // A run counts as unchanged only while it has a trainer of those settings: after a refused
    // configure (rejected, failed) `applied` still names the settings before it, and the same link
    // given again (the missing checkpoint now hosted, say) must try again.
    const unchanged = (r: Run | undefined, i: number, c: Config) =>
      i < before.length && !!r?.applied && !r.crashed && !r.rejected && !r.failed && this.sameRun(before[i], c);
    const changed = state.runs.map((c, i) => !unchanged(this.runs[i], i, c));
    const restarts = changed.some(Boolean) || this.runs.length !== state.runs.length;
    // Only the runs that restart stop; the others keep training (or not) as they were. Play shows
    // "Pause" while any of those still trains.
    this.runs.forEach((r, i) => { if (i >= state.runs.length || changed[i]) r.pause(); });
    if (restarts) {
      this.playing = this.playing && this.runs.some((r, i) => i < state.runs.length && !changed[i] && r.playing);
      this.refreshStatus();
    }
    this.state = state;
    // One run per config; spare workers are kept for reuse.
    while (this.runs.length < state.runs.length) {
      const r = this.newRun(this.runs.length);
      this.runs.push(r);
    }
    while (this.runs.length > state.runs.length) this.runs.pop()!.dispose();
    await Promise.all(this.runs.map((r) => r.whenReady().catch(() => undefined)));
    this.applyHidden();
    this.runs.forEach((r, i) => { if (changed[i]) this.configureRun(r, this.state.runs[i]); });
    (this.el.speed as HTMLSelectElement).value = state.view.speed;
    (this.el.xsel as HTMLSelectElement).value = state.view.x;
    (this.el.smooth as HTMLInputElement).value = String(state.view.smooth);
    this.applySpeed();
    // The views, then the controls, each in a task of its own: built in one task they held the main
    // thread for hundreds of ms at start-up (bench/browser/startup.mjs).
    await nextTask();
    this.syncKind(true);
    this.renderTabs();
    await nextTask();
    this.renderControls();
    this.renderFormula();
    this.saveUrl(errors.length > 0 || fromUser);
    this.charts.invalidate();
    // Enabled first, then the status: a configure refused while this link was applied (a missing
    // init_from_url answers fast) has left the run stuck, and refreshStatus keeps Play and Step off then.
    this.setEnabled(true);
    this.refreshStatus();
    return restarts;
  }
  // Two runs' settings are the same when every field (explicit or default) has the same value.
  private sameRun(a: Config, b: Config): boolean {
    const full = (c: Config) => Object.entries(fullConfig(this.meta!, c)).filter(([k]) => !FILE_FIELDS.has(k)).sort(([x], [y]) => (x < y ? -1 : 1));
    return same(full(a), full(b));
  }
  // Classroom mode's lists name config fields (controls=), or those and the page's panels, charts and
  // buttons (hide=): a typo would otherwise just leave something shown, or hide nothing.
  private checkViewNames(controls: string[] | null, hide: string[]) {
    const unknown = controls ? unknownControls(this.meta!, controls) : [];
    if (unknown.length) this.message(`controls: no setting is named ${unknown.map((n) => `"${n}"`).join(', ')} (the list takes config field names, e.g. learning_rate)`, 'error', 'controls');
    const panels = new Set<string>(['play', 'step', 'reset', 'speed']);
    this.el.wrap.querySelectorAll<HTMLElement>('[data-panel]').forEach((p) => panels.add(p.dataset.panel!));
    const charts = new Set<string>();
    for (const k of Object.values(this.kinds)) for (const c of k.charts) charts.add(c.id);
    const badHide = unknownControls(this.meta!, hide).filter((n) => !panels.has(n) && !charts.has(n));
    if (badHide.length) {
      this.message(`hide: nothing is named ${badHide.map((n) => `"${n}"`).join(', ')} (the list takes config field names, the panels and buttons ${[...panels].sort().join(', ')}, and the charts ${[...charts].sort().join(', ')})`, 'error', 'hide');
    }
  }

  // Classroom mode: "controls=a,b" shows only those controls; "hide=a,b" hides controls or panels.
  // A task kind's panels show only while the kind is active.
  private applyHidden() {
    const hide = new Set(this.state.view.hide);
    this.el.wrap.querySelectorAll<HTMLElement>('[data-panel]').forEach((p) => {
      p.hidden = hide.has(p.dataset.panel!) || (p.dataset.kind !== undefined && p.dataset.kind !== this.active?.kind);
    });
    this.el.wrap.querySelectorAll<HTMLElement>('[data-chart]').forEach((c) => { c.hidden = hide.has(c.dataset.chart!); });
    for (const b of [this.el.play, this.el.step, this.el.reset]) b.hidden = hide.has((b as HTMLElement).dataset.testid!);
    (this.el.speed.parentElement as HTMLElement).hidden = hide.has('speed');
  }
  isHidden(name: string): boolean { return this.state.view.hide.includes(name); }
  private controlVisible(name: string): boolean {
    const v = this.state.view;
    if (v.hide.includes(name) || FILE_FIELDS.has(name)) return false;
    if (v.controls) return v.controls.includes(name);
    return true;
  }

  saveUrl(now = false) {
    if (!this.opts.useLocation) return;
    clearTimeout(this.urlTimer);
    const write = () => {
      const enc = this.encoded();
      if (location.hash.slice(1) !== enc) history.replaceState(null, '', `${location.pathname}${location.search}#${enc}`);
      (this.el.shareOut as HTMLInputElement).value = location.href;
    };
    if (now) write(); else this.urlTimer = window.setTimeout(write, 150);
  }

  private share() {
    this.saveUrl(true);
    const url = this.opts.useLocation ? location.href : `${location.origin}${location.pathname}#${this.encoded()}`;
    const out = this.el.shareOut as HTMLInputElement;
    out.value = url;
    out.classList.add('shown');
    out.select();
    navigator.clipboard?.writeText(url).then(() => this.message('Link copied to the clipboard.', 'info'), () => this.message('Copy the link from the box.', 'info'));
  }

  // ------------------------------------------------------------------ transport
  private setEnabled(on: boolean) {
    for (const b of [this.el.play, this.el.step, this.el.reset, this.el.compare, this.el.compareSame]) (b as HTMLButtonElement).disabled = !on;
  }
  play() {
    if (!this.meta || this.runs.every((r) => r.failed || r.crashed)) return;
    if (this.runs.some((r) => r.done) && this.runs.every((r) => r.done || r.failed || r.crashed || r.diverged)) {
      this.message('Every run has finished its max_steps or total_timesteps: Reset starts it again from scratch.', 'info', 'finished');
      return;
    }
    this.playing = true;
    for (const r of this.runs) if (!r.diverged && !r.crashed && !r.failed) r.play();
    this.refreshStatus();
  }
  pause() {
    this.playing = false;
    for (const r of this.runs) r.pause();
    this.refreshStatus();
  }
  stepOnce() {
    this.playing = false;
    for (const r of this.runs) if (!r.crashed && !r.failed) r.step();
    this.refreshStatus();
  }
  async reset() {
    if (!this.meta) return;
    const wasPlaying = this.playing;
    this.pause();
    this.el.msgs.querySelectorAll('.msg.error').forEach((m) => m.remove());
    for (const r of this.runs) if (r.crashed) r.respawn();
    await Promise.all(this.runs.map((r) => r.whenReady().catch(() => undefined)));
    this.runs.forEach((r, i) => this.configureRun(r, this.state.runs[i]));
    this.applySpeed();
    this.active?.syncRuns();
    this.renderControls();
    this.charts.invalidate();
    this.refreshStatus();  // configure() cleared failed runs: Play and Step are back at once
    if (wasPlaying) this.play();
  }
  private applySpeed() {
    const s = SPEEDS.find((x) => x.id === this.state.view.speed) ?? SPEEDS[SPEEDS.length - 1];
    for (const r of this.runs) r.speed(s.itersPerSec);
  }

  // A run's task kind: its trainer's once it has one, else (none yet, or its settings were refused)
  // the one of the algorithm chosen in the controls.
  private runKind(i: number): string {
    const r = this.runs[i];
    if (r?.applied && !r.rejected) return r.taskKind;
    return this.meta ? kindOf(this.meta, this.state.runs[i]?.algo) : 'env';
  }
  private selectedKind(): string { return this.runKind(this.state.view.sel); }
  // Activates the views of the selected run's kind (its panels, charts and worker-side work).
  private syncKind(force = false) {
    const next = this.kinds[this.selectedKind()] ?? this.kinds.env;
    if (next !== this.active || force) {
      const prev = this.active;
      this.active = next;
      for (const k of Object.values(this.kinds)) if (k !== next && (k === prev || force)) k.deactivate();
      this.charts.setDefs(next.charts, next.stepAxis);
      const xsel = this.el.xsel as HTMLSelectElement;
      xsel.options[0].textContent = next.stepAxis.label;
      this.applyHidden();
      next.activate();
    } else next.syncRuns();
  }

  // ------------------------------------------------------------------ runs (compare)
  async addRun(sameSeed = false) {
    if (!this.meta || this.runs.length >= 6) { this.message('At most 6 runs can be compared.', 'error'); return; }
    const src = this.state.runs[this.state.view.sel];
    // The next seed no run has yet (five clicks from run A give seeds 2..6, not five copies of 2).
    const seeds = new Set(this.state.runs.map((c) => Number(c.seed ?? 1)));
    let seed = Number(src.seed ?? 1) + 1;
    while (seeds.has(seed)) seed++;
    const cfg: Config = sameSeed ? { ...src } : { ...src, seed };
    this.state.runs.push(cfg);
    const r = this.newRun(this.runs.length);
    this.runs.push(r);
    try { await r.whenReady(); } catch { return; }
    this.configureRun(r, cfg);
    this.applySpeed();
    this.active?.syncRuns();
    if (this.playing) r.play();
    this.renderTabs();
    this.saveUrl();
  }
  removeRun(i: number) {
    if (this.runs.length <= 1) return;
    this.runs[i].dispose();
    this.runs.splice(i, 1);
    this.state.runs.splice(i, 1);
    this.runs.forEach((r, k) => (r.color = COLORS[k % COLORS.length]));
    // The selection follows its run: removing a run before it shifts its index down by one; removing
    // the selected run itself selects the one that took its place (or the new last one).
    const sel = this.state.view.sel;
    this.select(i < sel ? sel - 1 : Math.min(sel, this.runs.length - 1));
  }
  select(i: number) {
    this.state.view.sel = i;
    this.syncKind(true);
    this.renderTabs();
    this.renderControls();
    this.fillLayers();
    this.renderFormula();
    this.drawGrads();
    this.charts.invalidate();
    this.saveUrl();
  }
  private renderTabs() {
    const tabs = this.el.tabs;
    tabs.textContent = '';
    this.runs.forEach((r, i) => {
      const c = this.state.runs[i];
      const sel = i === this.state.view.sel;
      const t = h('button', { role: 'tab', 'aria-selected': String(sel), class: 'tab' + (sel ? ' selected' : ''), 'data-testid': `tab-${i}`, tabindex: sel ? '0' : '-1' },
        h('span', { class: 'swatch', style: `background:${r.color}` }), `${this.label(i)}: ${c.algo} · ${taskName(c)} · seed ${c.seed}`);
      t.addEventListener('click', () => this.select(i));
      t.addEventListener('keydown', (e) => {
        const k = (e as KeyboardEvent).key;
        if (k === 'ArrowRight' || k === 'ArrowLeft') {
          const j = (i + (k === 'ArrowRight' ? 1 : this.runs.length - 1)) % this.runs.length;
          this.select(j);
          (this.el.tabs.querySelector(`[data-testid="tab-${j}"]`) as HTMLElement)?.focus();
        }
      });
      const wrapTab = h('span', { class: 'tab-wrap' }, t);
      if (this.runs.length > 1) {
        const x = h('button', { class: 'tab-close', 'aria-label': `Remove run ${this.label(i)}`, title: 'Remove this run' }, '×');
        x.addEventListener('click', () => this.removeRun(i));
        wrapTab.appendChild(x);
      }
      tabs.appendChild(wrapTab);
    });
  }

  // ------------------------------------------------------------------ controls
  // Rebuilds the controls in a task of its own (after a worker message), coalescing repeated calls.
  private controlsTimer = 0;
  private renderControlsSoon() {
    if (this.controlsTimer) return;
    this.controlsTimer = window.setTimeout(() => { this.controlsTimer = 0; this.renderControls(); }, 0);
  }
  // What a trainer gets: every field, the user's settings over the preset of the run's algo and task
  // (state.runFields' defaults), so the worker never falls back to another task's schema defaults.
  // The run's init_from_url (state.ts) goes beside it: the worker downloads that checkpoint and starts
  // the trainer from its weights. Resolved against the playground's directory, not the document's,
  // so that a course page elsewhere on the site names the shipped pretrained/ files as the page does.
  private configureRun(r: Run, run: Config) {
    const url = run[INIT_FROM_URL];
    return r.configure(coreConfig(this.meta!, run), typeof url === 'string' ? distUrl(url) : undefined);
  }
  // The notice above the controls: which preset is in force, its expected result, the user's overrides.
  private renderPresetNotice() {
    if (!this.meta) return;
    const run = this.state.runs[this.state.view.sel];
    const notice = presetNotice(this.meta, run, runFields(this.meta, run));
    // A run that starts from a checkpoint on the web says which (the preset's note may ask for one).
    if (typeof run[INIT_FROM_URL] === 'string') {
      notice.appendChild(h('div', { class: 'preset-note', 'data-testid': 'init-from-url' }, `starts from the weights of ${String(run[INIT_FROM_URL])} (${INIT_FROM_URL})`));
    }
    const old = this.el.controls.querySelector('[data-testid="preset"]');
    if (old) old.replaceWith(notice); else this.el.controls.prepend(notice);
  }
  private renderControls() {
    if (!this.meta) return;
    const sel = this.state.view.sel, run = this.state.runs[sel];
    const schema = schemaOf(this.meta, String(run.algo))!;
    const kind = this.kinds[schema.task_kind] ?? this.kinds.env;
    buildControls(this.el.controls, {
      schema, fields: runFields(this.meta, run), groupNotes: kind.groupNotes(run),
      algos: this.meta.schemas.map((s) => s.algo), envIds: this.meta.envIds, run,
      applied: this.runs[sel]?.applied ?? null,
      visible: (n) => this.controlVisible(n),
      order: this.state.view.controls,
      onChange: (name, value) => this.changeField(name, value),
    });
    this.renderPresetNotice();
  }
  changeField(name: string, value: unknown) {
    const sel = this.state.view.sel, run = this.state.runs[sel], r = this.runs[sel];
    if (name === 'algo' || name === 'task') {
      // Keep the fields the new algorithm (or task) also has; the others' values would be refused.
      this.state.runs[sel] = applicableRun(this.meta!, { ...run, [name]: value });
      this.renderControls();
      if (!r.applied || !same(r.applied[name], value)) markField(this.el.controls, name, 'applies on reset', 'pending');
    } else {
      run[name] = value;
      // A field other fields' conditions name (pomo's problem, baseline) shows or hides them
      // (FieldSchema.applies_when) and their choices: the values of the hidden ones go, as the core
      // would refuse them.
      const schema = schemaOf(this.meta!, String(run.algo));
      const decides = schema !== undefined && decidingFields(schema).has(name);
      if (decides) {
        const kept = applicableRun(this.meta!, run);
        for (const key of Object.keys(run)) if (!(key in kept)) delete run[key];
      }
      // Another env brings its preset: the controls show its values for the fields the user has not set.
      if (name === 'env_id' || decides) this.renderControls();
      const f = runFields(this.meta!, run).find((x) => x.name === name);
      const sameAlgo = r.applied && r.applied.algo === run.algo;
      if (f?.live && sameAlgo && !r.crashed) {
        r.set(name, value);
        markField(this.el.controls, name, 'applies at the next iteration', 'ok');
      } else if (r.applied && !same(r.applied[name], value)) {
        markField(this.el.controls, name, 'applies on reset', 'pending');
      } else markField(this.el.controls, name, '', '');
      this.active?.onFieldChange(name, run);
    }
    this.renderPresetNotice();
    this.renderTabs();
    this.renderFormula();
    this.saveUrl();
  }

  // The selected run's objective: printed by the core from its trainer's loss expression and rendered
  // with KaTeX in its worker (Run.objective); a setting that applies on reset shows after Reset.
  private renderFormula() {
    const el = this.el.formula, o = this.runs[this.state.view.sel]?.objective;
    el.textContent = '';
    el.dataset.tex = o?.latex ?? '';
    el.dataset.text = o?.text ?? '';
    if (!o) return;
    if (!o.html) { el.appendChild(h('p', { class: 'hint' }, 'This algorithm does not print its objective.')); return; }
    el.appendChild(h('div', { class: 'formula-lead' }, 'minimised over θ (the loss the core differentiates):'));
    const main = h('div', { class: 'formula-main' });
    main.innerHTML = o.html;
    el.appendChild(main);
    // A piece KaTeX cannot break (a long fraction) still wider than the panel: scale it down to
    // fit (to 70% at most; below that it scrolls inside the panel). Measured once the formula is
    // laid out (a ResizeObserver runs after layout, before paint): reading its width right away
    // would force a layout of its ≈ 400 KaTeX spans while the panel is still off screen and skipped
    // (content-visibility), the longest task of the start-up.
    const fit = new ResizeObserver(() => {
      if (!main.isConnected) { fit.disconnect(); return; }
      if (main.clientWidth === 0) return;
      fit.disconnect();
      const over = main.scrollWidth / main.clientWidth;
      if (over > 1.01) main.style.fontSize = `${(1.05 * Math.max(0.7, 1 / over)).toFixed(3)}rem`;
    });
    fit.observe(main);
    // The "where" lines (as many KaTeX spans again) a frame later, so that their first layout is not
    // in the same task as the formula's.
    if (o.whereHtml.length) requestAnimationFrame(() => setTimeout(() => {
      if (!main.isConnected) return;  // rendered again meanwhile
      const notes = h('ul', { class: 'formula-notes', 'aria-label': 'where' });
      for (const w of o.whereHtml) { const li = h('li', {}); li.innerHTML = w; notes.appendChild(li); }
      el.appendChild(notes);
    }, 0));
  }

  // ------------------------------------------------------------------ worker messages
  private onWorker(run: Run, m: FromWorker) {
    const i = this.runs.indexOf(run);
    if (i < 0) return;
    const selected = i === this.state.view.sel;
    switch (m.type) {
      case 'configured':
        // A refusal of this run's earlier settings (a checkpoint URL that was missing, say) is over.
        this.el.msgs.querySelector(`[data-key="configure${run.id}"]`)?.remove();
        if (selected) { this.syncKind(); this.fillLayers(); this.renderControlsSoon(); }
        this.charts.invalidate();
        break;
      case 'metrics':
        this.charts.invalidate();
        this.refreshStatusSoon();
        break;
      case 'state':
        this.refreshStatusSoon();
        break;
      case 'grads':
        if (selected) this.drawGrads();
        break;
      case 'objective':
        if (selected) this.renderFormula();
        break;
      case 'failed':
        this.message(`Run ${this.label(i)} failed at iteration ${m.iteration}: ${m.name}: ${m.message}. Its trainer may be half-updated, so it cannot continue: press Reset to start it again.`, 'error', `fail${run.id}`);
        if (this.runs.every((r) => r.failed || r.crashed || r.diverged || r.done)) this.playing = false;
        this.refreshStatus();
        break;
      case 'diverged':
        this.message(`Run ${this.label(i)} diverged at iteration ${m.iteration}: ${m.metric} became NaN or infinite, so training stopped. Lower the learning rate (or raise max_grad_norm's clipping) and press Reset.`, 'error', `div${run.id}`);
        if (this.runs.every((r) => r.diverged || r.crashed || r.done)) this.playing = false;
        this.refreshStatus();
        break;
      case 'error': {
        // Typed-prompt errors are shown beside the prompt box (sequence views).
        // Shown by whoever asked: the view (typed prompts, warm starts), loadCheckpoint (a checkpoint).
        if (m.op === 'complete' || m.op === 'warm-start' || m.op === 'reward-model' || m.op === 'load') break;
        const what = m.op === 'configure' ? 'settings rejected' : m.op === 'load' ? 'checkpoint rejected' : m.op === 'set' ? 'change rejected' : `${m.op} failed`;
        // A rejected configuration leaves the run without a trainer: it cannot play until its
        // settings are changed (a later 'configured' clears this).
        if (m.op === 'configure') {
          run.failed = `settings rejected: ${m.message}`;
          run.playing = false;
          if (this.runs.every((r) => r.failed || r.crashed || r.diverged || r.done)) this.playing = false;
          this.refreshStatus();
        }
        if (m.name === 'InitFromUrl') {
          // The checkpoint the link (or the element's set-init_from_url) names could not be used.
          this.message(`Run ${this.label(i)} could not start from the checkpoint of ${INIT_FROM_URL}: ${m.message}. The run has no trainer: correct ${INIT_FROM_URL} in the link (or the element's attribute), or remove it.`, 'error', `${m.op}${run.id}`);
          break;
        }
        this.message(`Run ${this.label(i)}: ${what}: ${m.message}${m.op === 'configure' ? '. Change the settings, then press Reset.' : ''}`, 'error', `${m.op}${run.id}`);
        if (m.op === 'set' && selected) this.renderControls();
        break;
      }
    }
    for (const k of Object.values(this.kinds)) k.onMessage(run, m, selected);
  }

  private refreshStatusSoon() {
    if (this.statusTimer) return;
    this.statusTimer = window.setTimeout(() => { this.statusTimer = 0; this.refreshStatus(); }, 200);
  }
  refreshStatus() {
    const anyPlaying = this.runs.some((r) => r.playing);
    if (this.playing && !anyPlaying && this.runs.every((r) => r.done || r.diverged || r.crashed)) this.playing = false;
    const play = this.el.play as HTMLButtonElement;
    // Failed (or stopped) runs cannot continue: with no other run, Play and Step are off and Reset is offered.
    const stuck = this.runs.length > 0 && this.runs.every((r) => r.failed || r.crashed);
    if (this.meta) { play.disabled = stuck; (this.el.step as HTMLButtonElement).disabled = stuck; }
    this.el.reset.classList.toggle('primary', stuck);
    play.textContent = this.playing ? 'Pause' : 'Play';
    play.setAttribute('aria-pressed', String(this.playing));
    const parts = this.runs.map((r, i) => {
      const tag = r.crashed ? ' (stopped)' : r.failed ? ' (failed)' : r.diverged ? ' (diverged)' : r.done ? ' (done)' : '';
      const views = this.kinds[this.runKind(i)] ?? this.kinds.env;
      return `${this.label(i)}: it ${r.iteration} · ${views.status(r)}${tag}`;
    });
    this.el.status.textContent = parts.join('   |   ');
  }

  // Latest rolling-mean return of run i (tests and bench read it).
  meanReturn(i = 0): number {
    const st = this.runs[i]?.store;
    if (!st) return NaN;
    const v = rollingMean(st.col('episodic_return_mean'), this.state.view.smooth);
    const last = v.length ? v[v.length - 1] : null;
    return last === null ? NaN : last;
  }

  // ------------------------------------------------------------------ gradients
  private fillLayers() {
    const r = this.runs[this.state.view.sel], sel = this.el.layerSel as HTMLSelectElement;
    const cur = sel.value;
    sel.textContent = '';
    r.layerNames.forEach((n, i) => sel.appendChild(h('option', { value: String(i) }, n)));
    if (cur && Number(cur) < r.layerNames.length) sel.value = cur;
  }
  private drawGrads() {
    if (this.el.gradSec.hidden) return;  // classroom mode's hide=gradients: nothing to draw into
    if ((this.el.layerSel as HTMLSelectElement).options.length === 0) this.fillLayers();
    const i = Number((this.el.layerSel as HTMLSelectElement).value) || 0;
    drawHistogram(this.el.hist as HTMLCanvasElement, this.runs[this.state.view.sel]?.grads[i]);
  }

  // ------------------------------------------------------------------ export / import
  private async exportAs(kind: string) {
    const sel = this.state.view.sel, r = this.runs[sel];
    try {
      if (kind === 'csv') download('policylab-metrics.csv', new Blob([exportCsv(this.runs, (i) => this.label(i))], { type: 'text/csv' }));
      else if (kind === 'json') download('policylab-metrics.json', new Blob([exportJson(this.runs, (i) => this.label(i))], { type: 'application/json' }));
      else if (kind === 'png') download('policylab-charts.png', await this.charts.png());
      else if (kind === 'config') {
        if (!r.applied) throw new Error('the run has no trainer yet');
        // The validated config, every field explicit: the native CLI trains it unchanged.
        const run = this.state.runs[sel], cfg = coreConfig(this.meta!, run);
        download(`policylab-${cfg.algo}-${taskName(cfg)}.json`, new Blob([JSON.stringify(cfg, null, 2) + '\n'], { type: 'application/json' }));
        // The CLI's init_from names a file on its machine, which a URL is not.
        if (typeof run[INIT_FROM_URL] === 'string') this.message(`The config leaves out ${INIT_FROM_URL} (${String(run[INIT_FROM_URL])}): download that checkpoint and set init_from to its path to start the CLI's run from it.`, 'info', 'export-init');
      } else if (kind === 'ckpt') {
        const { bytes, config } = await r.save();
        download(`policylab-${config.algo}-${taskName(config)}-${r.globalStep}.plck`, new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
      }
    } catch (e) {
      this.message(`Export failed: ${(e as Error).message}`, 'error');
    }
  }
  async loadCheckpoint(bytes: Uint8Array, name: string) {
    const sel = this.state.view.sel, r = this.runs[sel];
    this.pause();
    try {
      const cfg = await r.load(bytes);
      // The run's settings become the checkpoint's (only non-default fields are kept in the URL).
      // Its init_from named a file of the machine that trained it: the weights are loaded now, and a
      // Reset here starts from scratch.
      // Only the fields that apply to it: a checkpoint's config lists every field of its algorithm.
      const { init_from: _file, ...settings } = cfg;
      this.state.runs[sel] = applicableRun(this.meta!, settings);
      // A finished run (the pretrained policies end at their max_steps) does not move on Play.
      const budget = cfg.max_steps !== undefined ? 'max_steps' : 'total_timesteps';
      const finished = budget === 'max_steps' ? r.iteration >= Number(cfg.max_steps) : r.globalStep >= Number(cfg.total_timesteps);
      // (the budget is not a live field: a changed one applies to a new trainer, from scratch)
      const next = finished
        ? ` It has finished its ${budget} (${cfg[budget]}): use it as it is, or to train it further press Download checkpoint, then Reset, and start the reset run from that file's weights.`
        : ' Press Play to continue training.';
      this.message(`Loaded checkpoint ${name}: ${cfg.algo} on ${taskName(cfg)}, ${r.globalStep || 'resumed'} steps.${next}`, 'info');
      this.renderTabs(); this.renderControls(); this.renderFormula(); this.saveUrl();
    } catch (e) {
      this.message(`Could not load ${name}: ${(e as Error).message}`, 'error', 'ckpt');
    }
  }
}
