// A run: one worker training one config, and the metrics it has produced.
import type { ComboSolveResult, CompleteRequest, CompleteResult, Config, FromWorker, HeatmapRequest, Meta, Objective, TaskInfo, ToWorker } from './protocol';

export const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

export type WorkerFactory = () => Worker;

// Columnar, growing store of the metrics rows (the trainer's metric columns) + per-layer norms.
export class MetricStore {
  cols: string[];
  data: number[][];
  layerNorms: number[][] = [];
  layerNames: string[] = [];
  constructor(cols: string[]) { this.cols = cols; this.data = cols.map(() => []); }
  get length(): number { return this.data[0]?.length ?? 0; }
  col(name: string): number[] { const i = this.cols.indexOf(name); return i < 0 ? [] : this.data[i]; }
  append(rows: Float64Array, ncols: number, norms: Float32Array, nLayers: number) {
    const n = Math.floor(rows.length / ncols);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < ncols && c < this.data.length; c++) this.data[c].push(rows[r * ncols + c]);
      if (nLayers) {
        while (this.layerNorms.length < nLayers) this.layerNorms.push(new Array(this.length - 1).fill(NaN));
        for (let l = 0; l < nLayers; l++) this.layerNorms[l].push(norms[r * nLayers + l]);
      }
    }
  }
  clear() { this.data = this.cols.map(() => []); this.layerNorms = []; }
  last(name: string): number { const c = this.col(name); return c.length ? c[c.length - 1] : NaN; }
}

export interface RunEvents {
  onMessage(run: Run, m: FromWorker): void;
  onCrash(run: Run, message: string): void;
}

let nextId = 1;

export class Run {
  readonly id = nextId++;
  worker: Worker | null = null;
  meta: Meta | null = null;
  store: MetricStore | null = null;
  applied: Config | null = null;       // the config the trainer was created with (+ live changes)
  layerNames: string[] = [];
  taskKind = 'env';                    // of the trainer (applied config)
  taskName = '';                       // env id or sequence task id
  task: TaskInfo | null = null;        // sequence tasks: the task with the run's options
  grads: Extract<FromWorker, { type: 'grads' }>['hist'] = [];   // latest gradient histograms
  obsDim = 0; actionDim = 0; discrete = true;   // env tasks
  playing = false; done = false; iteration = 0; globalStep = 0;
  diverged: string | null = null;
  failed: string | null = null;        // why an iteration threw (the trainer is not continued); cleared by configure/load
  // The last configure was refused: `applied` and `taskKind` still describe the trainer before it,
  // not the settings the run now stands for.
  rejected = false;
  objective: Objective | null = null;  // the trainer's objective, printed by the core from its loss expression
  crashed = false;
  color: string;
  private ready: Promise<Meta>;
  private resolveReady!: (m: Meta) => void;
  private rejectReady!: (e: Error) => void;
  private waiters: ((m: FromWorker) => boolean)[] = [];
  private nextRequest = 1;

  constructor(private factory: WorkerFactory, private events: RunEvents, index: number) {
    this.color = COLORS[index % COLORS.length];
    this.ready = new Promise((res, rej) => { this.resolveReady = res; this.rejectReady = rej; });
    this.ready.catch(() => {});
    this.spawn();
  }

  private spawn() {
    this.crashed = false;
    let w: Worker;
    try {
      w = this.factory();
    } catch (e) {
      this.crashed = true;
      this.rejectReady(new Error('could not start the training worker: ' + (e as Error).message));
      return;
    }
    this.worker = w;
    w.onmessage = (ev: MessageEvent<FromWorker>) => this.handle(ev.data);
    w.onerror = (ev: ErrorEvent) => {
      ev.preventDefault?.();
      this.crash(ev.message || 'the training worker failed to load or crashed');
    };
    w.onmessageerror = () => this.crash('a message from the training worker could not be read');
  }

  private crash(message: string) {
    this.crashed = true;
    this.playing = false;
    this.worker?.terminate();
    this.worker = null;
    this.rejectReady(new Error(message));
    this.events.onCrash(this, message);
  }

  // Replaces a crashed worker with a fresh one (Reset does this).
  respawn() {
    this.worker?.terminate();
    this.ready = new Promise((res, rej) => { this.resolveReady = res; this.rejectReady = rej; });
    this.ready.catch(() => {});
    this.spawn();
  }

  whenReady(): Promise<Meta> { return this.ready; }

  private handle(m: FromWorker) {
    switch (m.type) {
      case 'ready':
        this.meta = m.meta;
        this.store = new MetricStore(m.meta.scalarNames);
        this.resolveReady(m.meta);
        break;
      case 'fatal':
        this.crashed = true;
        this.rejectReady(new Error(m.message));
        break;
      case 'configured':
        this.rejected = false;
        this.applied = m.config;
        // The new trainer's counters arrive with it, so no one reads the old run's iteration beside
        // the new config while the 'state' message that follows is still on its way.
        this.iteration = m.resumedIteration; this.globalStep = m.resumedStep;
        this.layerNames = m.layerNames;
        this.taskKind = m.taskKind; this.taskName = m.taskName; this.task = m.task;
        if (m.env) { this.obsDim = m.env.obsDim; this.actionDim = m.env.actionDim; this.discrete = m.env.discrete; }
        // Columns are the trainer's own (its algorithm may add metrics).
        this.store = new MetricStore(m.metricNames);
        this.store.layerNames = m.layerNames;
        this.grads = [];
        this.diverged = null;
        this.failed = null;
        this.objective = null;
        break;
      case 'objective':
        this.objective = m.objective;
        break;
      case 'failed':
        this.failed = `${m.name}: ${m.message}`; this.playing = false;
        break;
      case 'metrics':
        this.store?.append(m.rows, m.cols, m.layerNorms, m.nLayers);
        break;
      case 'grads':
        this.grads = m.hist;
        break;
      case 'state':
        this.playing = m.playing; this.done = m.done; this.iteration = m.iteration; this.globalStep = m.globalStep;
        break;
      case 'diverged':
        this.diverged = m.metric; this.playing = false;
        break;
      case 'error':
        if (m.op === 'configure') this.rejected = true;
        break;
      case 'set-ok':
        if (this.applied) this.applied = { ...this.applied, [m.field]: m.value };
        break;
    }
    this.waiters = this.waiters.filter((w) => !w(m));
    this.events.onMessage(this, m);
  }

  send(m: ToWorker, transfer: Transferable[] = []) {
    if (this.worker && !this.crashed) this.worker.postMessage(m, transfer);
  }
  // Sends m with a fresh id and resolves with the reply that carries that id back (re) and for which
  // pick returns non-undefined; an error reply with that id rejects. Replies to other requests (a
  // Reset's configure racing a checkpoint load) never resolve it.
  request<T>(m: ToWorker, pick: (r: FromWorker) => T | undefined, transfer: Transferable[] = []): Promise<T> {
    const id = this.nextRequest++;
    return new Promise((resolve, reject) => {
      if (!this.worker || this.crashed) { reject(new Error('the training worker is not running')); return; }
      this.waiters.push((r) => {
        if (r.re !== id) return false;
        if (r.type === 'error') { const e = new Error(r.message); e.name = r.name; reject(e); return true; }
        const v = pick(r);
        if (v !== undefined) { resolve(v); return true; }
        return false;
      });
      this.send({ ...m, id }, transfer);
    });
  }

  // Recreates the trainer (Reset); resolves with the applied config (rejects when it is refused, or
  // when the checkpoint at initFromUrl cannot be downloaded or does not fit).
  configure(config: Config, initFromUrl?: string): Promise<Config> {
    this.diverged = null; this.failed = null;
    const p = this.request({ type: 'configure', config, initFromUrl }, (r) => (r.type === 'configured' ? r.config : undefined));
    p.catch(() => {});   // a refused config is shown from its error message (App.onWorker)
    return p;
  }
  // Env tasks: `episodes` episodes on fresh envs seeded from `seed`, with the mode (deterministic) or
  // sampled actions; does not change the training state.
  evaluate(episodes: number, deterministic: boolean, seed: number): Promise<Record<string, unknown>> {
    return this.request({ type: 'evaluate', episodes, deterministic, seed }, (r) => (r.type === 'evaluated' ? r.result : undefined));
  }
  play() { this.send({ type: 'play' }); }
  pause() { this.send({ type: 'pause' }); }
  step() { this.send({ type: 'step' }); }
  speed(itersPerSec: number) { this.send({ type: 'speed', itersPerSec }); }
  set(field: string, value: unknown) { this.send({ type: 'set', field, value }); }
  heatmap(req: HeatmapRequest | null) { this.send({ type: 'heatmap', req }); }
  viewer(on: boolean, deterministic: boolean) { this.send({ type: 'viewer', on, deterministic }); }
  save(): Promise<{ bytes: Uint8Array; config: Config }> {
    return this.request({ type: 'save' }, (r) => (r.type === 'saved' ? { bytes: r.bytes, config: r.config } : undefined));
  }
  // Sequence tasks: completions of a typed prompt; held-out accuracy and pass@k.
  complete(req: CompleteRequest): Promise<CompleteResult> {
    return this.request({ type: 'complete', req }, (r) => (r.type === 'completed' ? r.result : undefined));
  }
  evaluateSequence(count: number, k: number) {
    return this.request({ type: 'evaluate-sequence', count, k }, (r) => (r.type === 'sequence-evaluated' ? r.result : undefined));
  }
  // Combinatorial tasks: the current policy's solutions of instances (dataset text).
  comboSolve(text: string, decode: string, seed: number): Promise<ComboSolveResult> {
    return this.request({ type: 'combo-solve', text, decode, seed }, (r) => (r.type === 'combo-solved' ? r.result : undefined));
  }
  // init_from in the browser: the trainer (reset, not stepped) takes a checkpoint's model weights.
  warmStart(bytes: Uint8Array): Promise<number> {
    return this.request({ type: 'warm-start', bytes }, (r) => (r.type === 'warm-started' ? r.iteration : undefined));
  }
  // GRPO against a learned reward: the run restarts with a reward_model checkpoint (kept in the
  // worker's memory); resolves with the path its config now names.
  useRewardModel(bytes: Uint8Array, name: string): Promise<string> {
    return this.request({ type: 'reward-model', bytes, name }, (r) => (r.type === 'reward-model-set' ? r.path : undefined));
  }
  load(bytes: Uint8Array): Promise<Config> {
    return this.request({ type: 'load', bytes }, (r) => (r.type === 'configured' ? r.config : undefined));
  }
  dispose() { this.worker?.terminate(); this.worker = null; }
}
