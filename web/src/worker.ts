/// <reference lib="webworker" />
// Training worker: owns one wasm module, one Trainer and one viewer env. Training never runs on the
// main thread. Metrics go to the UI in batches (Float64Array rows of the trainer's metricNames()).
// What else runs depends on the trainer's task kind: env tasks get the real-time viewer and the
// policy/value map; sequence tasks get the live samples table and typed-prompt completions. Nothing
// of one kind runs for a trainer of the other.
import katex from 'katex';
import type { Config, FromWorker, HeatmapRequest, Meta, Objective, ToWorker } from './protocol';
import { loadCore, type Core, type CoreEnv, type CoreTrainer } from './core';
import { serveLab } from './lab/serve';
import { LAB_WORKER_NAME } from './lab/protocol';

const ctx = self as unknown as DedicatedWorkerGlobalScope;
const post = (m: FromWorker, transfer: Transferable[] = []) => ctx.postMessage(m, transfer);

let M: Core | null = null;
let meta: Meta | null = null;
let trainer: CoreTrainer | null = null;
let config: Config | null = null;
let warmBytes: Uint8Array | null = null;  // the weights the run was told to start from (kept across a reward-model restart)
let kind = 'env';             // the trainer's task kind
let nCols = 0;                // metric columns of the trainer
let lastSamples = '';         // the samples table last sent (sequence tasks)
let lastGroups = '';          // the training groups last sent (group-relative methods)
let playing = false;
let failed = false;           // a C++ exception in the middle of an iteration: the trainer is not continued
let itersPerSec = 0;          // 0: as fast as possible; -1: real time; >0: iterations per second
let lastIterAt = 0;
let loopScheduled = false;
let pending: { rows: number[]; norms: number[]; nLayers: number } = { rows: [], norms: [], nLayers: 0 };
let lastFlush = 0;
let lastGrads = 0;
let heatReq: HeatmapRequest | null = null;
let lastHeat = 0;

// Real-time viewer state.
let viewerOn = true;
let viewerDet = false;
let viewerEnv: CoreEnv | null = null;
let viewerObs: Float32Array | null = null;
let viewerRet = 0;
let viewerEpisode = 0;
let viewerSeed = 1000;
let viewerNext = 0;
let viewerTimer: ReturnType<typeof setTimeout> | null = null;
let renderNames: string[] = [];

// Seconds of simulated time per env step, so that the viewer runs at the env's real speed
// (Gymnasium's render_fps).
const FPS: Record<string, number> = {
  'CartPole-v1': 50, 'Acrobot-v1': 15, 'MountainCar-v0': 30, 'MountainCarContinuous-v0': 30, 'Pendulum-v1': 30,
};

function errMsg(e: unknown, c: Config | null = config): { name: string; message: string } {
  const raw = e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) };
  return isOutOfMemory(raw.message) ? { name: 'OutOfMemory', message: outOfMemoryMessage(c) } : raw;
}

// The core's std::bad_alloc (or the WebAssembly heap refusing to grow) means the settings, each within
// its range, together need more memory than the browser lets this worker have: no bug to report, but
// sizes to reduce, named for the run's kind.
function isOutOfMemory(message: string): boolean {
  return /bad_alloc|Cannot enlarge memory|out of memory|\bOOM\b|Array buffer allocation failed/i.test(message);
}
function outOfMemoryMessage(c: Config | null): string {
  const lead = 'these settings need more memory than the browser gave the worker';
  const kind = c ? meta?.schemas.find((s) => s.algo === c.algo)?.task_kind : undefined;
  const n = (k: string) => Number(c?.[k]);
  if (kind === 'env' && Number.isFinite(n('num_envs')) && n('num_steps') > 0) {
    const steps = n('num_envs') * n('num_steps');
    return `${lead}: reduce num_envs × num_steps (here ${n('num_envs')} × ${n('num_steps')} = ${steps.toLocaleString('en-US')} steps kept per rollout)`;
  }
  if (kind === 'env') return `${lead}: reduce num_envs or the rollout length`;
  if (kind === 'sequence') return `${lead}: reduce batch_size, heldout_size or the model (d_model, n_layers)`;
  if (kind === 'combo') return `${lead}: reduce batch_size, n, heldout_size or the model (d_model, n_layers)`;
  return `${lead}: reduce the batch, rollout or model sizes`;
}

async function init() {
  try {
    M = await loadCore();
    const envIds: string[] = JSON.parse(M.envIds());
    const envs: Meta['envs'] = {};
    for (const id of envIds) envs[id] = JSON.parse(M.envInfo(id));
    const schemas = JSON.parse(M.schemas()) as Meta['schemas'];
    // The core writes null where a key does not apply; the UI treats absent and null alike.
    for (const s of schemas) for (const f of s.fields) for (const k of Object.keys(f) as (keyof typeof f)[]) if (f[k] === null) delete f[k];
    const tasks = JSON.parse(M.listTasks()) as Meta['tasks'];
    meta = { schemas, envIds, scalarNames: JSON.parse(M.scalarNames()), envs, tasks, presets: JSON.parse(M.presets()) };
    post({ type: 'ready', meta });
  } catch (e) {
    post({ type: 'fatal', message: 'Could not load the WebAssembly core: ' + errMsg(e).message });
  }
}

function stateMsg() {
  post({
    type: 'state', playing, done: trainer ? trainer.done() : false,
    iteration: trainer ? trainer.iteration() : 0, globalStep: trainer ? trainer.globalStep() : 0,
  });
}

// The trainer's objective, printed by the core from its loss expression, rendered with KaTeX here
// (off the main thread).
function objectiveOf(t: CoreTrainer): Objective {
  const o = JSON.parse(t.objectiveJson()) as Omit<Objective, 'html' | 'whereHtml'>;
  // Inline mode: KaTeX may break the line after a top-level + or -, so a long objective wraps
  // inside its panel instead of running off its right edge.
  const tex = (s: string) => katex.renderToString(s, { throwOnError: false, output: 'html', displayMode: false });
  return { ...o, html: o.latex ? tex(`L(\\theta) = ${o.latex}`) : '', whereHtml: o.where_latex.map(tex) };
}
function sendObjective() {
  if (!trainer) return;
  try { post({ type: 'objective', objective: objectiveOf(trainer) }); }
  catch (e) { post({ type: 'error', op: 'objective', ...errMsg(e) }); }
}

// Adopts a new trainer (configure, load); `re` is the id of the request that made it.
function adopt(t: CoreTrainer, re?: number) {
  if (trainer) trainer.delete();
  trainer = t;
  failed = false;
  config = JSON.parse(t.configJson());
  pending = { rows: [], norms: [], nLayers: 0 };
  kind = t.taskKind();
  // Sequence tasks: the task as configured (its example and vocabulary follow the options).
  let task: Meta['tasks'][number] | null = null;
  if (kind === 'sequence') {
    const id = String(config!.task), spec = meta!.tasks.find((x) => x.id === id);
    const options: Record<string, unknown> = {};
    for (const f of spec?.fields ?? []) options[f.name] = config![f.name];
    task = JSON.parse(M!.describeTask(id, JSON.stringify(options)));
  }
  const metricNames: string[] = JSON.parse(t.metricNames());
  nCols = metricNames.length;
  const layerNames: string[] = JSON.parse(t.layerNames());
  post({
    type: 'configured', config: config!, taskKind: kind, taskName: t.taskName(), metricNames, layerNames,
    layerSizes: JSON.parse(t.layerSizes()), numParameters: t.numParameters(), resumedStep: t.globalStep(), resumedIteration: t.iteration(),
    env: kind === 'env' ? { obsDim: t.obsDim(), actionDim: t.actionDim(), discrete: t.discreteActions() } : null, task, re,
  });
  sendObjective();
  if (kind === 'env') {
    resetViewer();
    stateMsg();
    sendHeatmap(true);
  } else {
    stopViewer();
    lastSamples = '';
    lastGroups = '';
    stateMsg();
    sendSamples();
  }
}

// A refused configure (its settings, or the checkpoint it should start from): the run now stands for
// settings no trainer was made from, so the previous trainer goes too. Kept, it would answer the Play a
// page sends right after a Reset (held while the checkpoint downloads) and train the old settings under
// the new ones' name. Play and Step find no trainer until the next 'configured'.
function refuseConfigure(name: string, message: string, re?: number) {
  playing = false;
  if (trainer) trainer.delete();
  trainer = null;
  config = null;
  failed = false;
  warmBytes = null;
  pending = { rows: [], norms: [], nLayers: 0 };
  stopViewer();
  post({ type: 'error', op: 'configure', name, message, re });
  stateMsg();
}

function configure(c: Config, re?: number) {
  playing = false;
  try {
    adopt(M!.Trainer.fromJson(JSON.stringify(c)), re);
  } catch (e) {
    const m = errMsg(e, c);
    refuseConfigure(m.name, m.message, re);
  }
}

// A checkpoint is a few MB; a link naming something far larger is refused before it fills the
// worker's memory. And a server that never answers must not hold the run (and the requests queued
// behind its configure) forever.
const MAX_CHECKPOINT_BYTES = 64 * 1024 * 1024;
const DOWNLOAD_TIMEOUT_MS = 30_000;

// The body of res, refused (a message) past MAX_CHECKPOINT_BYTES: by its Content-Length when the server
// gives one, else while reading, so a body without a length is not read to the end first.
async function readCapped(res: Response, url: string): Promise<Uint8Array | string> {
  const tooBig = `${url}: larger than ${MAX_CHECKPOINT_BYTES / (1024 * 1024)} MB, the most a checkpoint is downloaded for`;
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > MAX_CHECKPOINT_BYTES) { void res.body?.cancel(); return tooBig; }
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_CHECKPOINT_BYTES) { void reader.cancel(); return tooBig; }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.byteLength; }
  return out;
}

// A configure with initFromUrl (the link's init_from_url): the new trainer starts from the model
// weights of the checkpoint at that URL, downloaded here, so the main thread only names it (and has
// checked that it is one of the site's own files: state.ts parseInitFromUrl). Nothing new is made
// unless every part works: a failed, slow or oversized download or a checkpoint of another task or
// model is refused as a configure is (named 'InitFromUrl', so the page says which file and why).
async function configureFrom(c: Config, url: string, re?: number) {
  playing = false;
  const refuse = (message: string) => refuseConfigure('InitFromUrl', message, re);
  let bytes: Uint8Array;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), DOWNLOAD_TIMEOUT_MS);
  try {
    const res = await fetch(url, { signal: abort.signal });
    if (!res.ok) { refuse(`${url}: HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}`); return; }
    const body = await readCapped(res, url);
    if (typeof body === 'string') { refuse(body); return; }
    bytes = body;
  } catch (e) {
    // The download's own error, as it is: not errMsg, which would call an allocation failure of
    // the browser's network stack "these settings need more memory" and name batch sizes.
    const why = abort.signal.aborted ? `no answer within ${DOWNLOAD_TIMEOUT_MS / 1000} s` : e instanceof Error ? e.message : String(e);
    refuse(`${url}: could not be downloaded (${why})`);
    return;
  } finally {
    clearTimeout(timer);
  }
  let t: CoreTrainer;
  try { t = M!.Trainer.fromJson(JSON.stringify(c)); }
  catch (e) { const m = errMsg(e, c); refuseConfigure(m.name, m.message, re); return; }
  try { t.warmStart(bytes); }
  catch (e) { t.delete(); refuse(`${url}: ${errMsg(e, c).message}`); return; }
  warmBytes = bytes;
  // adopt reads the new trainer (its task, metrics, layers): an exception there would otherwise be
  // lost in this async function's promise, and the page's configure would never be answered.
  try { adopt(t, re); }
  catch (e) { const m = errMsg(e, c); refuseConfigure(m.name, m.message, re); }
}

function flush(force = false) {
  const now = performance.now();
  if (!pending.rows.length || (!force && now - lastFlush < 100)) return;
  lastFlush = now;
  const rows = new Float64Array(pending.rows);
  const layerNorms = new Float32Array(pending.norms);
  post({ type: 'metrics', rows, cols: nCols, layerNorms, nLayers: pending.nLayers }, [rows.buffer, layerNorms.buffer]);
  pending = { rows: [], norms: [], nLayers: pending.nLayers };
  if (force || now - lastGrads > 500) { lastGrads = now; sendGrads(); }
  sendSamples();
  stateMsg();
}

// --- Sequence tasks: the live samples table (the latest held-out evaluation), sent when it changed ---
function sendSamples() {
  if (!trainer || kind !== 'sequence') return;
  try {
    const text = trainer.recentSamples();
    const groups = trainer.recentGroups();  // the latest training batch's groups (GRPO): new every step
    if (text === lastSamples && groups === lastGroups) return;
    lastSamples = text;
    lastGroups = groups;
    post({ type: 'samples', iteration: trainer.iteration(), rows: JSON.parse(text), groups: JSON.parse(groups) });
  } catch (e) {
    post({ type: 'error', op: 'samples', ...errMsg(e) });
  }
}

function sendGrads() {
  if (!trainer) return;
  const names: string[] = JSON.parse(trainer.layerNames());
  const hist = names.map((name, i) => {
    const g = trainer!.layerGradient(i);
    let hi = 0, ss = 0;
    for (let k = 0; k < g.length; k++) { const a = Math.abs(g[k]); if (a > hi && Number.isFinite(a)) hi = a; ss += g[k] * g[k]; }
    if (hi === 0) hi = 1e-8;
    const bins = 31, counts = new Array(bins).fill(0);
    for (let k = 0; k < g.length; k++) {
      if (!Number.isFinite(g[k])) continue;
      const b = Math.min(bins - 1, Math.max(0, Math.floor(((g[k] + hi) / (2 * hi)) * bins)));
      counts[b]++;
    }
    return { name, lo: -hi, hi, counts, norm: Math.sqrt(ss) };
  });
  post({ type: 'grads', hist });
}

// One iteration. Returns false when training must stop (done, diverged or failed).
function oneIteration(): boolean {
  if (!trainer || failed || trainer.done()) return false;
  let row: Float64Array;
  const before = trainer.globalStep();
  try {
    row = trainer.step();
  } catch (e) {
    // The exception left the iteration half done (some envs stepped, some parameters updated?):
    // this trainer is not continued. Reset (configure) or a checkpoint (load) replaces it.
    playing = false;
    failed = true;
    flush(true);
    post({ type: 'failed', ...errMsg(e), iteration: trainer.iteration() });
    return false;
  }
  lastIterStepsPerEnv = (trainer.globalStep() - before) / Math.max(1, Number(config?.num_envs ?? 1));
  const norms = trainer.layerGradNorms();
  for (let i = 0; i < row.length; i++) pending.rows.push(row[i]);
  for (let i = 0; i < norms.length; i++) pending.norms.push(norms[i]);
  pending.nLayers = norms.length;
  const bad = trainer.firstNonFinite();
  if (bad) {
    playing = false;
    flush(true);
    post({ type: 'diverged', metric: bad, iteration: trainer.iteration() });
    return false;
  }
  return true;
}

// "Real time" on a sequence task: a few gradient steps a second, to watch the samples change.
const SEQUENCE_REALTIME_ITERS_PER_S = 4;

// Env steps each env took in the last iteration (real-time pacing).
let lastIterStepsPerEnv = 0;

// Env steps per env one iteration takes: what the last iteration took (an episodic iteration, such
// as REINFORCE's one episode per env, varies in length), or before the first one, its rollout
// length: num_steps, where 0 (REINFORCE's default) means the env's time limit.
export function stepsPerEnvOfIteration(c: Config, lastStepsPerEnv: number, timeLimit: number): number {
  if (lastStepsPerEnv > 0) return lastStepsPerEnv;
  const n = Number(c.num_steps ?? 0);
  return n > 0 ? n : timeLimit;
}

function secondsPerIteration(): number {
  if (!config) return 0;
  if (itersPerSec > 0) return 1 / itersPerSec;
  // Sequence and combinatorial runs have no env clock: a few gradient steps a second.
  if (itersPerSec < 0 && kind !== 'env') return 1 / SEQUENCE_REALTIME_ITERS_PER_S;
  if (itersPerSec < 0) {
    // Real time: one env's steps of an iteration take (steps per env) / fps seconds.
    const id = String(config.env_id);
    const perEnv = stepsPerEnvOfIteration(config, lastIterStepsPerEnv, meta?.envs[id]?.max_episode_steps ?? 500);
    return perEnv / (FPS[id] ?? 50);
  }
  return 0;
}

// The training loop: runs iterations for up to ~25 ms, then yields to the event loop so that
// messages (pause, set, heatmap, complete) and the viewer are served. An iteration longer than that
// (a sequence task's gradient step with a held-out evaluation) runs alone in its slice, so pause and
// live changes act at the next iteration.
function loop() {
  loopScheduled = false;
  if (!playing || !trainer) return;
  const start = performance.now();
  const spi = secondsPerIteration() * 1000;
  while (playing && performance.now() - start < 25) {
    if (spi > 0 && performance.now() - lastIterAt < spi) break;
    lastIterAt = performance.now();
    if (!oneIteration()) { playing = false; break; }
    viewerCatchUp();
  }
  flush(!playing);
  maybeHeatmap();
  viewerCatchUp();
  if (playing) schedule(spi > 0 ? Math.max(0, spi - (performance.now() - lastIterAt)) : 0);
  else stateMsg();
}

// setTimeout(0) is clamped to >= 4 ms after nesting; a MessageChannel yields without that delay.
const chan = new MessageChannel();
chan.port1.onmessage = () => loop();
function schedule(delayMs: number) {
  if (loopScheduled) return;
  loopScheduled = true;
  if (delayMs <= 0) chan.port2.postMessage(0);
  else setTimeout(loop, Math.min(delayMs, 250));
}

// --- Policy/value map ---
function maybeHeatmap() {
  if (heatReq && performance.now() - lastHeat > 700) sendHeatmap();
}
function sendHeatmap(force = false) {
  if (!trainer || !heatReq || kind !== 'env') return;
  if (!force && performance.now() - lastHeat < 100) return;
  lastHeat = performance.now();
  const r = heatReq, d = trainer.obsDim();
  if (r.dx >= d || r.dy >= d) return;
  const n = r.res * r.res, obs = new Float32Array(n * d);
  for (let j = 0; j < r.res; j++) {
    for (let i = 0; i < r.res; i++) {
      const k = j * r.res + i, row = obs.subarray(k * d, (k + 1) * d);
      for (let q = 0; q < d; q++) row[q] = r.fixed[q] ?? 0;
      row[r.dx] = r.lo[0] + ((i + 0.5) / r.res) * (r.hi[0] - r.lo[0]);
      row[r.dy] = r.hi[1] - ((j + 0.5) / r.res) * (r.hi[1] - r.lo[1]);   // top row = high y
    }
  }
  try {
    const pv = trainer.policyValue(obs, n);
    post({ type: 'heatmap', req: r, action: pv.action, value: pv.value, actionDim: trainer.actionDim(), discrete: trainer.discreteActions() },
      [pv.action.buffer, pv.value.buffer]);
  } catch (e) {
    post({ type: 'error', op: 'heatmap', ...errMsg(e) });
  }
}

// --- Real-time viewer: the current policy acting in its own env, at the env's own speed ---
function stopViewer() {
  if (viewerTimer) clearTimeout(viewerTimer);
  viewerTimer = null;
  viewerEnv?.delete();
  viewerEnv = null;
  viewerObs = null;
}
function resetViewer() {
  if (!M || !config || kind !== 'env') return;
  const id = String(config.env_id);
  try {
    if (!viewerEnv || viewerEnv.id() !== id) {
      if (viewerEnv) viewerEnv.delete();
      viewerEnv = M.Env.make(id);
      renderNames = JSON.parse(viewerEnv.renderNames());
    }
    trainer?.seedViewer(viewerSeed);
    viewerObs = viewerEnv.reset(viewerSeed++);
    viewerRet = 0;
    viewerEpisode++;
    viewerNext = performance.now();
    sendFrame();
    if (!viewerTimer) viewerTick();
  } catch (e) {
    post({ type: 'error', op: 'viewer', ...errMsg(e) });
  }
}
function sendFrame() {
  if (!viewerEnv || !viewerObs) return;
  const render = viewerEnv.renderState();
  post({ type: 'frame', env: viewerEnv.id(), render, renderNames, obs: viewerObs.slice(), ret: viewerRet, t: viewerEnv.elapsedSteps(), episode: viewerEpisode }, [render.buffer]);
}
function viewerStep(): boolean {
  if (!viewerEnv || !viewerObs || !trainer) return false;
  const a = trainer.act(viewerObs, viewerDet);
  const r = viewerEnv.step(a);
  viewerObs = r.obs;
  viewerRet += r.reward;
  if (r.terminated || r.truncated) {
    viewerObs = viewerEnv.reset(viewerSeed++);
    viewerRet = 0;
    viewerEpisode++;
  }
  return true;
}
// Runs the env steps that are due by the wall clock (at most a few, so a long training iteration
// does not make the viewer race to catch up), then sends one frame.
function viewerCatchUp() {
  if (!viewerOn || !viewerEnv || !config) return;
  const now = performance.now();
  if (now < viewerNext) return;
  const dt = 1000 / (FPS[viewerEnv.id()] ?? 30);
  let n = 0;
  try {
    while (viewerNext <= now && n < 3) { viewerStep(); viewerNext += dt; n++; }
  } catch (e) {
    viewerOn = false;
    post({ type: 'error', op: 'viewer', ...errMsg(e) });
    return;
  }
  if (viewerNext < now) viewerNext = now + dt;
  if (n) sendFrame();
}
function viewerTick() {
  viewerCatchUp();
  const dt = viewerEnv ? 1000 / (FPS[viewerEnv.id()] ?? 30) : 50;
  viewerTimer = setTimeout(viewerTick, viewerOn ? Math.max(1, viewerNext - performance.now()) : 200 + 0 * dt);
}

// The run worker: requests of protocol.ts (configure, play, step, save, ...).
const NEEDS_TRAINER = new Set<ToWorker['type']>(['set', 'save', 'reward-model', 'warm-start', 'complete', 'evaluate-sequence', 'combo-solve', 'evaluate']);
function serveTraining() {
  // Requests that arrive while a configure downloads its start weights wait for it, in order: the
  // Play a page sends right after a Reset (autoplay) must train the new trainer once it has those
  // weights, not the old trainer, nor a new one from fresh weights.
  let held: ToWorker[] | null = null;
  const release = () => {
    const waiting = held ?? [];
    held = null;
    while (waiting.length && !held) handle(waiting.shift()!);
    if (held) (held as ToWorker[]).unshift(...waiting);  // another download began: the rest waits for it too
  };
  ctx.onmessage = (ev: MessageEvent<ToWorker>) => { if (held) held.push(ev.data); else handle(ev.data); };
  const handle = (m: ToWorker) => {
    const re = m.id;
    if (!M) { post({ type: 'error', op: m.type, name: 'Error', message: 'core not loaded', re }); return; }
    // No trainer (none made yet, or the last configure was refused): a request the page waits for
    // is answered with why, rather than never; Play and Step below do nothing.
    if (!trainer && re !== undefined && NEEDS_TRAINER.has(m.type)) {
      post({ type: 'error', op: m.type, name: 'Error', message: 'the run has no trainer (none made yet, or its settings were refused)', re });
      return;
    }
    switch (m.type) {
      case 'configure':
        lastIterStepsPerEnv = 0; warmBytes = null;
        if (m.initFromUrl) { held = []; void configureFrom(m.config, m.initFromUrl, re).finally(release); }
        else configure(m.config, re);
        break;
      case 'play':
        if (!trainer) { playing = false; stateMsg(); break; }
        if (failed) { post({ type: 'error', op: 'play', name: 'Error', message: 'the run failed; press Reset', re }); stateMsg(); break; }
        if (trainer.done()) { stateMsg(); break; }
        playing = true; lastIterAt = 0; schedule(0); stateMsg(); break;
      case 'pause': playing = false; flush(true); stateMsg(); break;
      case 'step':
        playing = false;
        if (failed) { post({ type: 'error', op: 'step', name: 'Error', message: 'the run failed; press Reset', re }); stateMsg(); break; }
        oneIteration();
        flush(true); sendHeatmap(true); stateMsg(); break;
      case 'speed': itersPerSec = m.itersPerSec; break;
      case 'set':
        if (!trainer) break;
        try {
          trainer.set(m.field, JSON.stringify(m.value));
          config = JSON.parse(trainer.configJson());
          post({ type: 'set-ok', field: m.field, value: m.value, re });
          sendObjective();
        } catch (e) { post({ type: 'error', op: 'set', ...errMsg(e), re }); }
        break;
      case 'save':
        if (!trainer) break;
        try {
          const bytes = trainer.saveBytes();
          post({ type: 'saved', bytes, config: JSON.parse(trainer.configJson()), re }, [bytes.buffer]);
        } catch (e) { post({ type: 'error', op: 'save', ...errMsg(e), re }); }
        break;
      case 'load':
        try { playing = false; lastIterStepsPerEnv = 0; warmBytes = null; adopt(M.Trainer.fromCheckpoint(m.bytes), re); }
        catch (e) { post({ type: 'error', op: 'load', ...errMsg(e, null), re }); }  // (the file's config is unknown)
        break;
      case 'reward-model':
        // The run restarts against the learned reward (a new trainer: reward_model is read when it is
        // made), keeping the weights it was told to start from.
        if (!trainer || !config) break;
        try {
          const path = M!.storeRewardModel(m.bytes);
          playing = false;
          lastIterStepsPerEnv = 0;
          const next = M!.Trainer.fromJson(JSON.stringify({ ...config, reward_model: path }));
          if (warmBytes) next.warmStart(warmBytes);
          adopt(next);
          post({ type: 'reward-model-set', path, re });
        } catch (e) { post({ type: 'error', op: 'reward-model', ...errMsg(e), re }); }
        break;
      case 'warm-start':
        if (!trainer) break;
        try {
          trainer.warmStart(m.bytes);
          warmBytes = m.bytes;
          lastSamples = '';
          post({ type: 'warm-started', iteration: trainer.iteration(), re });
        } catch (e) { post({ type: 'error', op: 'warm-start', ...errMsg(e), re }); }
        break;
      case 'heatmap': heatReq = m.req; sendHeatmap(true); break;
      case 'viewer':
        viewerOn = m.on; viewerDet = m.deterministic;
        if (viewerOn) viewerNext = performance.now();
        break;
      case 'complete': {
        if (!trainer) break;
        const r = m.req;
        try { post({ type: 'completed', req: r, result: JSON.parse(trainer.complete(r.prompt, r.n, r.temperature, r.topK, r.topP, r.greedy, r.seed)), re }); }
        catch (e) { post({ type: 'error', op: 'complete', ...errMsg(e), re }); }
        break;
      }
      case 'evaluate-sequence':
        if (!trainer) break;
        try { post({ type: 'sequence-evaluated', result: JSON.parse(trainer.evaluateSequence(m.count, m.k, 12345)), re }); }
        catch (e) { post({ type: 'error', op: 'evaluate-sequence', ...errMsg(e), re }); }
        break;
      case 'combo-solve':
        if (!trainer) break;
        try { post({ type: 'combo-solved', result: JSON.parse(trainer.comboSolve(m.text, m.decode, m.seed)), re }); }
        catch (e) { post({ type: 'error', op: 'combo-solve', ...errMsg(e), re }); }
        break;
      case 'evaluate':
        if (!trainer) break;
        // The requested action mode (deterministic: the mode; else sampled) and episode seed; the core
        // refuses a seed that is not an integer in [0, 2^53 - 1].
        try { post({ type: 'evaluated', result: JSON.parse(trainer.evaluate(m.episodes, m.deterministic, m.seed)), re }); }
        catch (e) { post({ type: 'error', op: 'evaluate', ...errMsg(e), re }); }
        break;
    }
  };
}

// The <policy-lab> element starts this script twice: as its run's worker, and named LAB_WORKER_NAME
// as its lab worker (lab/serve.ts), so that its one inlined script carries the wasm core once.
if (ctx.name === LAB_WORKER_NAME) serveLab(ctx);
else {
  serveTraining();
  init();
}
