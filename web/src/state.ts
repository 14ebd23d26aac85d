// The whole playground state, which is also the share URL (TensorFlow Playground style):
//   #algo=ppo&env_id=CartPole-v1&seed=1&learning_rate=0.001&1.seed=2&speed=max&hx=2&hy=3
//   #algo=sft&task=addition&seed=1&digits=2&d_model=32
// Run 0's config fields are unprefixed, run k's are prefixed "k.". Config fields are written when
// they differ from their default (algo, seed and what the run learns — env_id or task — always); the
// default is the preset's value, so a link carries the user's own settings and the preset of its
// algo and task re-applies on load.
// Parsing validates every key against the core's schema (for a sequence task, against the selected
// task's options); a bad key is reported by name and left out, and the rest of the link applies.
// A run may also name a checkpoint whose model weights it starts from: init_from_url (a URL; the
// browser's init_from, see INIT_FROM_URL).
// View options: speed, x (step or time), smooth, sel, hx, hy, hf, det and autoplay (1/true or
// 0/false), controls and hide (comma-separated names).
import type { AlgoSchema, Config, FieldSchema, Meta, TaskInfo } from './protocol';
import { withPresetDefaults } from './presets';
import { distUrl } from './assets';

export const SPEEDS: { id: string; label: string; itersPerSec: number }[] = [
  { id: 'rt', label: 'real time', itersPerSec: -1 },
  { id: '1', label: '1 it/s', itersPerSec: 1 },
  { id: '5', label: '5 it/s', itersPerSec: 5 },
  { id: '20', label: '20 it/s', itersPerSec: 20 },
  { id: 'max', label: 'as fast as possible', itersPerSec: 0 },
];

export interface ViewState {
  speed: string;            // one of SPEEDS ids
  x: 'step' | 'time';       // chart x axis: env steps or wall-clock seconds
  smooth: number;           // rolling-mean window (iterations)
  sel: number;              // selected run (controls, viewer, gradients, map)
  hx: number; hy: number;   // policy/value map: observation dims on x and y
  hf: number[];             // values of the other observation dims
  det: boolean;             // viewer: deterministic (mode) actions
  controls: string[] | null; // classroom mode: only these controls are shown (null: all)
  hide: string[];           // classroom mode: controls/panels hidden
  autoplay: boolean;
}
export interface AppState { runs: Config[]; view: ViewState; }

const VIEW_KEYS = new Set(['speed', 'x', 'smooth', 'sel', 'hx', 'hy', 'hf', 'det', 'controls', 'hide', 'autoplay']);

export function defaultView(): ViewState {
  return { speed: 'max', x: 'step', smooth: 10, sel: 0, hx: 2, hy: 3, hf: [], det: false, controls: null, hide: [], autoplay: false };
}
export function defaultRun(seed = 1): Config { return { algo: 'ppo', env_id: 'CartPole-v1', seed }; }
export function defaultState(): AppState { return { runs: [defaultRun()], view: defaultView() }; }

export function schemaOf(meta: Meta, algo: string): AlgoSchema | undefined {
  return meta.schemas.find((s) => s.algo === algo);
}

// "env" or "sequence" (the algorithm's task kind; views are chosen by it).
// The field naming what a run of each task kind learns (always explicit in a run's config).
const SUBJECT_FIELD: Record<string, string> = { env: 'env_id', sequence: 'task', combo: 'problem' };

export function kindOf(meta: Meta, algo: unknown): string {
  return schemaOf(meta, String(algo))?.task_kind ?? 'env';
}
// What a run learns, for labels and file names: the env id or the sequence task id.
export function taskName(c: Config | null | undefined): string {
  // Combinatorial runs: the problem and its size, as the core names them ("tsp20").
  if (c?.problem !== undefined) return `${String(c.problem)}${c.n ?? ''}`;
  return String(c?.task ?? c?.env_id ?? '');
}
// Fields always written to the URL and kept when the algorithm changes (if the new one has them).
const KEY_FIELDS = ['algo', 'env_id', 'task', 'problem', 'n', 'seed'];
// Config fields that name files on the machine running the CLI: init_from and GRPO's reward_model
// (a reward_model run itself trains in the browser; GRPO against it is CLI-only). The page offers
// no control for them, and a link, which cannot give the page those files, leaves them out.
export const FILE_FIELDS = new Set(['init_from', 'reward_model']);
// init_from for a link: the URL of a checkpoint whose model weights the run starts from (a course
// page's DPO widget starting from a shipped SFT model). Not a core field: the worker downloads the
// file and warm-starts the new trainer from it (worker.ts), and the config the core gets leaves it
// out (coreConfig). A path is relative to the playground's own directory (web/dist, where the
// shipped pretrained/ files are; assets.ts distUrl), not to the page that embeds it; an absolute
// http(s) URL must name the same origin. Written to the link like a field ("1.init_from_url" for run 1).
export const INIT_FROM_URL = 'init_from_url';

// Only the site's own files: a shared link is opened by people who did not write it, and a link naming
// another host would make each visitor's browser download (and the core parse) whatever that host
// serves. So the value is resolved as the worker will fetch it (distUrl: "//host/x" and absolute URLs
// leave the playground's origin) and refused unless it stays on the origin the playground came from.
// resolve: distUrl in the page (a parameter, so the check does not depend on where it runs).
export function parseInitFromUrl(text: string, resolve: (path: string) => string = distUrl): [string | undefined, string | null] {
  const t = text.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(t)?.[1]?.toLowerCase();
  // A scheme other than http(s) (data:, javascript:, file:) names nothing the worker should fetch.
  if (t === '' || /[\s\u0000-\u001f]/.test(t) || (scheme !== undefined && scheme !== 'http' && scheme !== 'https')) {
    return [undefined, `${INIT_FROM_URL}: must be a checkpoint's path relative to the playground (e.g. pretrained/sft_addition1.plck) or an http(s) URL on the playground's own site, got "${text}"`];
  }
  let resolved: URL, home: URL;
  try { resolved = new URL(resolve(t)); home = new URL(resolve('./')); }
  catch { return [undefined, `${INIT_FROM_URL}: "${text}" is not a URL`]; }
  if (resolved.origin !== home.origin) {
    return [undefined, `${INIT_FROM_URL}: "${text}" names ${resolved.href}, which is not on the playground's own site (${home.origin}); only checkpoints served from there are downloaded`];
  }
  return [t, null];
}

export function taskOf(meta: Meta, run: Config): TaskInfo | undefined {
  const schema = schemaOf(meta, String(run.algo));
  const id = run.task ?? schema?.fields.find((f) => f.name === 'task')?.default;
  return meta.tasks.find((t) => t.id === id);
}

// The fields that apply to a run. A sequence schema lists every task's options (the "task" group);
// only the selected task's apply, with that task's defaults and ranges. Defaults are the preset's
// values where the run's algo × task has one (presets.ts): what a field takes unless the user sets it.
export function runFields(meta: Meta, run: Config): FieldSchema[] {
  const fields = allRunFields(meta, run);
  // A field whose condition does not hold (pomo's machines off job-shop) is not the run's: hidden,
  // and its value dropped (applicableRun), since the core refuses it there.
  const valueOf = (name: string) => (name in run ? run[name] : fields.find((f) => f.name === name)?.default);
  const holds = (c: { field: string; values: unknown[]; negated?: boolean }) =>
    c.values.some((v) => same(v, valueOf(c.field))) !== !!c.negated;
  return fields.filter((f) => !f.applies_when || holds(f.applies_when)).map((f) => {
    // Likewise a choice whose condition does not hold is not offered (FieldSchema.choice_applies_when).
    const conds = f.choice_applies_when;
    if (!conds || !f.choices) return f;
    const choices = f.choices.filter((c) => !conds[c] || holds(conds[c]));
    return { ...f, choices, range: 'one of: ' + choices.join(', ') };
  });
}

// The fields whose values decide which fields (and which choices) apply: the task, and every field
// a condition names.
export function decidingFields(schema: AlgoSchema): Set<string> {
  const out = new Set(['task']);
  for (const f of schema.fields) {
    if (f.applies_when) out.add(f.applies_when.field);
    for (const c of Object.values(f.choice_applies_when ?? {})) out.add(c.field);
  }
  return out;
}

// The order a link's deciding fields are read in: each after the fields its own conditions name
// (reward_judges before safety_method, which is valid only with reward_judges true, before the
// safety_dual_* fields), whatever order the link gives them in. task first: it decides which task
// options exist. The depth of a field is one more than that of the deciding fields its conditions name.
function decidingDepth(schema: AlgoSchema, deciding: Set<string>): (name: string) => number {
  const memo = new Map<string, number>();
  const depth = (name: string, seen: Set<string>): number => {
    if (name === 'task') return -1;
    const known = memo.get(name);
    if (known !== undefined) return known;
    if (seen.has(name)) return 0;  // a cycle (none in the core's schemas): stop there
    seen.add(name);
    const f = schema.fields.find((x) => x.name === name);
    const conds = [f?.applies_when, ...Object.values(f?.choice_applies_when ?? {})];
    let d = 0;
    for (const c of conds) if (c && deciding.has(c.field) && c.field !== name) d = Math.max(d, depth(c.field, seen) + 1);
    memo.set(name, d);
    return d;
  };
  return (name) => depth(name, new Set());
}

// Names in a "controls=" list that are no field of any algorithm or task (a lecturer's typo would
// otherwise just hide that control).
export function unknownControls(meta: Meta, names: string[]): string[] {
  const known = new Set<string>(['algo', ...Object.keys(BASIC_FIELDS)]);
  for (const s of meta.schemas) for (const f of s.fields) known.add(f.name);
  for (const t of meta.tasks) for (const f of t.fields) known.add(f.name);
  return names.filter((n) => !known.has(n));
}

function allRunFields(meta: Meta, run: Config): FieldSchema[] {
  const schema = schemaOf(meta, String(run.algo));
  if (!schema) return [];
  if (schema.task_kind !== 'sequence') return withPresetDefaults(meta, run, schema.fields);
  const options = new Set(meta.tasks.flatMap((t) => t.fields.map((f) => f.name)));
  const task = taskOf(meta, run);
  const out: FieldSchema[] = [];
  for (const f of schema.fields) {
    if (!options.has(f.name)) { out.push(f); continue; }
    const tf = task?.fields.find((x) => x.name === f.name);
    if (tf) out.push({ ...f, default: tf.default, min: tf.min ?? f.min, max: tf.max ?? f.max, range: tf.range ?? f.range });
  }
  return withPresetDefaults(meta, run, out);
}

// The run's own fields only: after the algorithm or the task changed, values of fields the new one
// does not have are dropped (the core refuses them). Conditions chain (safety_dual_beta applies with
// safety_method dual, which applies with reward_judges true), so a field dropped can switch off
// others: repeated until nothing more goes, each dropped field then counting at its default (as the
// core's fields_switched_off does: unticking reward_judges drops safety_method, and with it, at its
// default "none", safety_dual_beta).
export function applicableRun(meta: Meta, run: Config): Config {
  let cur = applicableOnce(meta, run);
  // Each pass only removes keys, so this ends; the bound is for safety.
  for (let pass = 0; pass < 64; pass++) {
    const next = applicableOnce(meta, cur);
    if (Object.keys(next).length === Object.keys(cur).length) return next;
    cur = next;
  }
  return cur;
}
function applicableOnce(meta: Meta, run: Config): Config {
  const fields = new Map(runFields(meta, run).map((f) => [f.name, f]));
  const out: Config = { algo: run.algo };
  for (const [k, v] of Object.entries(run)) {
    const f = fields.get(k);
    // A choice that no longer applies goes too (the field takes its default).
    if (k !== 'algo' && f && !(f.choice_applies_when && f.choices && !f.choices.includes(String(v)))) out[k] = v;
  }
  // The weights it starts from stay: a change of task that makes them unfit is reported when the
  // run is reset (the worker's warm start names the field that differs).
  if (INIT_FROM_URL in run) out[INIT_FROM_URL] = run[INIT_FROM_URL];
  // What the run learns is always explicit.
  const key = SUBJECT_FIELD[kindOf(meta, run.algo)] ?? 'env_id';
  if (!(key in out)) out[key] = runFields(meta, run).find((f) => f.name === key)?.default;
  if (!('seed' in out)) out.seed = 1;
  return out;
}

function fmt(v: unknown): string {
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}
export function same(a: unknown, b: unknown): boolean { return JSON.stringify(a) === JSON.stringify(b); }

export function rangeText(f: FieldSchema): string {
  if (f.range) return f.range;
  if (f.choices && f.choices.length) return 'one of: ' + f.choices.join(', ');
  if (f.type === 'bool') return 'true or false';
  if (f.type === 'int_list') return `a list of integers in [${f.min}, ${f.max}]` + (f.max_items ? `, at most ${f.max_items} items` : '');
  if (f.min !== undefined && f.max !== undefined) return `${f.type === 'int' ? 'an integer' : 'a number'} in [${f.min}, ${f.max}]`;
  return f.type;
}

// Parses and validates one field value from text (URL or input box). Returns [value, error].
export function parseField(f: FieldSchema, text: string): [unknown, string | null] {
  const bad = (): [unknown, string] => [undefined, `${f.name}: must be ${rangeText(f)}, got "${text}"`];
  const t = text.trim();
  switch (f.type) {
    case 'int':
    case 'float': {
      if (t === '' || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return bad();
      const v = Number(t);
      if (!Number.isFinite(v)) return bad();
      if (f.type === 'int' && !Number.isInteger(v)) return bad();
      if ((f.min !== undefined && v < f.min) || (f.max !== undefined && v > f.max)) return bad();
      return [v, null];
    }
    case 'bool':
      if (t === 'true' || t === '1') return [true, null];
      if (t === 'false' || t === '0') return [false, null];
      return bad();
    case 'int_list': {
      const parts = t.replace(/^\[|\]$/g, '').split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (!parts.length || (f.max_items && parts.length > f.max_items)) return bad();
      const out: number[] = [];
      for (const p of parts) {
        if (!/^\d+$/.test(p)) return bad();
        const v = Number(p);
        if ((f.min !== undefined && v < f.min) || (f.max !== undefined && v > f.max)) return bad();
        out.push(v);
      }
      return [out, null];
    }
    default:
      if (f.choices && f.choices.length && !f.choices.includes(t)) return bad();
      return [t, null];
  }
}

export function encodeState(meta: Meta | null, s: AppState): string {
  const p = new URLSearchParams();
  s.runs.forEach((run, k) => {
    const pre = k === 0 ? '' : `${k}.`;
    const fields = meta ? runFields(meta, run) : [];
    for (const [name, v] of Object.entries(run)) {
      if (v === undefined || FILE_FIELDS.has(name)) continue;
      const f = fields.find((x) => x.name === name);
      const always = KEY_FIELDS.includes(name);
      if (!always && f && same(f.default, v)) continue;
      p.set(pre + name, fmt(v));
    }
  });
  const v = s.view, d = defaultView();
  if (v.speed !== d.speed) p.set('speed', v.speed);
  if (v.x !== d.x) p.set('x', v.x);
  if (v.smooth !== d.smooth) p.set('smooth', String(v.smooth));
  if (v.sel !== d.sel) p.set('sel', String(v.sel));
  if (v.hx !== d.hx) p.set('hx', String(v.hx));
  if (v.hy !== d.hy) p.set('hy', String(v.hy));
  if (v.hf.length) p.set('hf', v.hf.join(','));
  if (v.det) p.set('det', '1');
  if (v.controls) p.set('controls', v.controls.join(','));
  if (v.hide.length) p.set('hide', v.hide.join(','));
  if (v.autoplay) p.set('autoplay', '1');
  return p.toString().replace(/%2C/g, ',');
}

const MAX_RUNS = 6;
// Fields every run has, in case a schema does not list them.
const BASIC_FIELDS: Record<string, FieldSchema> = {
  env_id: { name: 'env_id', type: 'string', default: 'CartPole-v1' },
  seed: { name: 'seed', type: 'int', default: 1, min: 0, max: 2 ** 31 - 1 },
};

// What a link decodes to: its state, each problem found (one message per bad key, naming it) and
// whether the runs it asks for could be built at all.
export interface Decoded {
  state: AppState;
  // A bad value leaves only its key out (the field or view option takes its default; the rest of the
  // link applies).
  errors: string[];
  // The link's runs are not the ones it asks for: an unknown algorithm, environment or task, a run
  // number past a gap or past MAX_RUNS. A link opened in the address bar of a live session is then
  // not applied at all (App.loadState); a page opened with it uses the closest state it can build.
  unusable: boolean;
}

// Booleans of the view (det, autoplay): the spellings encodeState writes and the config's own.
const TRUE_WORDS = ['1', 'true'], FALSE_WORDS = ['0', 'false'];

// Parses a URL fragment or query, key by key: a bad key is reported and left out, the rest apply.
export function decodeState(meta: Meta, text: string): Decoded {
  const errors: string[] = [];
  let unusable = false;
  const p = new URLSearchParams(text.replace(/^[#?]/, ''));
  const view = defaultView();
  // Each key once: a repeated key is reported (the last value is used, as the page would write it).
  const last = new Map<string, string>(), count = new Map<string, number>();
  for (const [key, val] of p) { last.set(key, val); count.set(key, (count.get(key) ?? 0) + 1); }
  for (const [key, n] of count) if (n > 1) errors.push(`${key}: given ${n} times; the last ("${last.get(key)}") is used`);
  const runKeys: Map<number, Map<string, string>> = new Map();
  for (const [key, val] of last) {
    if (VIEW_KEYS.has(key)) continue;
    const m = /^(?:(\d+)\.)?([a-z_][a-z0-9_]*)$/.exec(key);
    if (!m) { errors.push(`unknown parameter "${key}"`); continue; }
    const k = m[1] === undefined ? 0 : Number(m[1]);
    if (k >= MAX_RUNS) { errors.push(`${key}: at most ${MAX_RUNS} runs (numbered 0 to ${MAX_RUNS - 1}), so run ${k} is left out`); unusable = true; continue; }
    if (!runKeys.has(k)) runKeys.set(k, new Map());
    runKeys.get(k)!.set(m[2], val);
  }
  // Runs are numbered without gaps: "3.algo" with no run 1 or 2 is refused (the missing runs are not
  // made up as default PPO runs); the runs before the first gap are kept.
  let n = 1;
  while (runKeys.has(n)) n++;
  const past = [...runKeys.keys()].filter((k) => k > n).sort((a, b) => a - b);
  if (past.length) {
    errors.push(`run ${past.join(', ')}: runs are numbered 1, 2, ... without gaps, and there is no run ${n}, so ${past.length > 1 ? 'they are' : 'it is'} left out`);
    unusable = true;
  }
  const runs: Config[] = [];
  for (let k = 0; k < n; k++) {
    const kv = runKeys.get(k) ?? new Map<string, string>();
    const where = k === 0 ? '' : `run ${k}: `;
    const askedAlgo = kv.get('algo') ?? 'ppo';
    let schema = schemaOf(meta, askedAlgo);
    if (!schema) {
      // Without its algorithm a run's other keys cannot be read (each algorithm has its own fields).
      errors.push(`${where}algo: must be one of: ${meta.schemas.map((s) => s.algo).join(', ')}, got "${askedAlgo}" (so this run is the default one)`);
      unusable = true;
      schema = schemaOf(meta, 'ppo')!;
      kv.clear();
    }
    const algo = schema.algo;
    const sequence = schema.task_kind === 'sequence', env = schema.task_kind === 'env';
    const subject = SUBJECT_FIELD[schema.task_kind] ?? 'env_id';
    const run: Config = env ? { algo, env_id: 'CartPole-v1', seed: 1 }
      : { algo, [subject]: schema.fields.find((f) => f.name === subject)?.default, seed: 1 };
    // The task and the fields others' conditions name first: they decide which fields are valid.
    const deciding = decidingFields(schema);
    // "when problem is tsp or cvrp, but problem is jobshop"
    const unmet = (c: { field: string; values: unknown[]; negated?: boolean }) =>
      `when ${c.field} is ${c.negated ? 'not ' : ''}${c.values.map(fmt).join(' or ')}, but ${c.field} is ${fmt(run[c.field] ?? schema!.fields.find((x) => x.name === c.field)?.default)}`;
    const depth = decidingDepth(schema, deciding);
    const rank = (name: string) => (deciding.has(name) ? depth(name) : Infinity);
    const order = [...kv.keys()].sort((a, b) => rank(a) - rank(b));
    for (const name of order) {
      const text = kv.get(name)!;
      if (name === 'algo') continue;
      if (name === INIT_FROM_URL) {
        const [v, err] = parseInitFromUrl(text);
        if (err) errors.push(where + err); else run[name] = v;
        continue;
      }
      // What the run learns: an unknown one is reported as such below, and the run keeps its default.
      if (env && name === 'env_id') {
        if (meta.envIds.includes(text.trim())) run.env_id = text.trim();
        else { errors.push(`${where}env_id: unknown environment "${text}" (one of: ${meta.envIds.join(', ')})`); unusable = true; }
        continue;
      }
      if (sequence && name === 'task' && !meta.tasks.some((t) => t.id === text.trim())) {
        errors.push(`${where}task: unknown task "${text}" (one of: ${meta.tasks.map((t) => t.id).join(', ')})`);
        unusable = true;
        continue;
      }
      const fields = runFields(meta, run);
      // Own properties only: "constructor" or "__proto__" must not find Object.prototype's members.
      const basic = Object.prototype.hasOwnProperty.call(BASIC_FIELDS, name) ? BASIC_FIELDS[name] : undefined;
      const f = fields.find((x) => x.name === name) ?? (env ? basic : name === 'seed' ? BASIC_FIELDS.seed : undefined);
      if (!f) {
        const owner = sequence ? schema.fields.find((x) => x.name === name) : undefined;
        const cond = allRunFields(meta, run).find((x) => x.name === name)?.applies_when;
        if (cond) errors.push(`${where}${name}: applies ${unmet(cond)}`);
        else if (owner) errors.push(`${where}${name}: not an option of task "${run.task}" (its options: ${taskOf(meta, run)?.fields.map((x) => x.name).join(', ')})`);
        else errors.push(`${where}unknown parameter "${name}" for ${algo}`);
        continue;
      }
      const choiceCond = schema.fields.find((x) => x.name === name)?.choice_applies_when?.[text.trim()];
      if (choiceCond && !f.choices?.includes(text.trim())) { errors.push(`${where}${name}: ${text.trim()} applies ${unmet(choiceCond)}`); continue; }
      const [v, err] = parseField(f, text);
      if (err) {
        errors.push(where + err);
        if (name === subject) unusable = true;  // a problem the run cannot learn
      } else run[name] = v;
    }
    runs.push(run);
  }
  const num = (key: string, lo: number, hi: number, int = true): number | undefined => {
    const t = last.get(key);
    if (t === undefined) return undefined;
    const v = Number(t);
    if (t.trim() === '' || !Number.isFinite(v) || (int && !Number.isInteger(v)) || v < lo || v > hi) {
      errors.push(`${key}: must be ${int ? 'an integer' : 'a number'} in [${lo}, ${hi}], got "${t}"`);
      return undefined;
    }
    return v;
  };
  const bool = (key: string): boolean | undefined => {
    const t = last.get(key);
    if (t === undefined) return undefined;
    if (TRUE_WORDS.includes(t)) return true;
    if (FALSE_WORDS.includes(t)) return false;
    errors.push(`${key}: must be ${[...TRUE_WORDS, ...FALSE_WORDS].join(', ')} (1 and true mean on), got "${t}"`);
    return undefined;
  };
  const sp = last.get('speed');
  if (sp !== undefined) { if (SPEEDS.some((s) => s.id === sp)) view.speed = sp; else errors.push(`speed: must be one of: ${SPEEDS.map((s) => s.id).join(', ')}, got "${sp}"`); }
  const x = last.get('x');
  if (x !== undefined) { if (x === 'step' || x === 'time') view.x = x; else errors.push(`x: must be step or time, got "${x}"`); }
  view.smooth = num('smooth', 1, 1000) ?? view.smooth;
  view.sel = num('sel', 0, Math.max(0, runs.length - 1)) ?? view.sel;
  // The policy map's dimensions: those of the selected run's environment, and two different ones.
  const envId = runs[view.sel]?.env_id;
  const dims = envId === undefined ? 64 : observationDims(meta, String(envId));
  const dimRange = (key: string) => {
    const v = num(key, 0, 63);
    if (v !== undefined && v >= dims) { errors.push(`${key}: ${envId} has ${dims} observation dimensions (0 to ${dims - 1}), got "${v}"`); return undefined; }
    return v;
  };
  const hx = dimRange('hx'), hy = dimRange('hy');
  // The values the map would use: a link giving only hy=2 meets hx's default 2.
  const fx = hx ?? view.hx, fy = hy ?? view.hy;
  if ((hx !== undefined || hy !== undefined) && fx === fy) {
    errors.push(`hx, hy: the map's x and y must be different dimensions, got ${fx} for both${hx === undefined || hy === undefined ? ` (${hx === undefined ? 'hx' : 'hy'} ${fx} is the default)` : ''}; both take their defaults`);
  } else { view.hx = fx; view.hy = fy; }
  const hf = last.get('hf');
  if (hf !== undefined) {
    const vals = hf.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
    if (vals.some((v) => !Number.isFinite(v))) errors.push(`hf: must be a comma-separated list of numbers, got "${hf}"`);
    else view.hf = vals;
  }
  view.det = bool('det') ?? view.det;
  view.autoplay = bool('autoplay') ?? view.autoplay;
  // Names in controls= and hide= are checked by the page (App.checkViewNames): hide= also names
  // panels and charts, which the views define.
  const c = last.get('controls');
  if (c !== undefined) view.controls = c.split(',').map((s) => s.trim()).filter(Boolean);
  const h = last.get('hide');
  if (h !== undefined) view.hide = h.split(',').map((s) => s.trim()).filter(Boolean);
  return { state: { runs, view }, errors, unusable };
}

// Observation dimensions of an environment (64 when unknown: the policy map's own limit).
function observationDims(meta: Meta, envId: string): number {
  const o = meta.envs[envId]?.observation_space;
  return o?.dim ?? o?.low?.length ?? 64;
}

// The config a run trains with: its fields, others take their defaults (as the core fills them in).
export function fullConfig(meta: Meta, run: Config): Config {
  const out: Config = {};
  for (const f of runFields(meta, run)) out[f.name] = f.default;
  return Object.assign(out, run);
}
// The same without the page's own keys (init_from_url), which the core would refuse as unknown
// fields: what a trainer is made from, and what the exported config JSON holds.
export function coreConfig(meta: Meta, run: Config): Config {
  const { [INIT_FROM_URL]: _url, ...out } = fullConfig(meta, run);
  return out;
}
