// Hyperparameter controls generated from the core's schema (type, range, default, doc as tooltip).
// Live fields apply at the next iteration; the others say "applies on reset" until Reset.
import type { AlgoSchema, Config, FieldSchema } from './protocol';
import { parseField, rangeText, same } from './state';

const GROUP_TITLES: Record<string, string> = {
  run: 'Run', env: 'Environment', task: 'Task', rollout: 'Rollout', loss: 'Loss', optim: 'Optimizer', network: 'Network',
  model: 'Model', reward: 'Reward',
};
const GROUP_ORDER = ['run', 'env', 'task', 'rollout', 'loss', 'reward', 'optim', 'network', 'model'];

export interface ControlOptions {
  schema: AlgoSchema;
  fields: FieldSchema[];        // the fields that apply to this run (state.ts runFields)
  groupNotes?: Record<string, string>;  // a line shown at the top of a group (e.g. the task's summary)
  algos: string[];
  envIds: string[];
  run: Config;                  // what the user set (the share URL)
  applied: Config | null;       // what the trainer runs with
  visible: (name: string) => boolean;
  // Classroom mode's controls= list: its controls in its order (their groups in the order of their
  // first control), not the schema's.
  order?: string[] | null;
  onChange: (name: string, value: unknown) => void;
}

function display(f: FieldSchema, v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

// What the controls in a root were last built from (see buildControls); forgotten when something
// else changes them (markField, a rejected value), so the next build rebuilds.
const builtFrom = new WeakMap<HTMLElement, string>();

export function buildControls(root: HTMLElement, o: ControlOptions) {
  const fields: FieldSchema[] = [...o.fields];
  // algo is chosen by its own select (it changes the schema); make sure env_id (env tasks) and seed exist.
  const algoField: FieldSchema = o.schema.fields.find((f) => f.name === 'algo') ??
    { name: 'algo', type: 'string', default: o.schema.algo, choices: o.algos, doc: 'algorithm', group: 'run' };
  if (o.schema.task_kind === 'env' && !fields.some((f) => f.name === 'env_id')) fields.unshift({ name: 'env_id', type: 'string', default: 'CartPole-v1', choices: o.envIds, doc: 'environment', group: 'env' });
  if (!fields.some((f) => f.name === 'seed')) fields.unshift({ name: 'seed', type: 'int', default: 1, min: 0, max: 2 ** 31 - 1, doc: 'random seed', group: 'run' });
  const all = [{ ...algoField, choices: o.algos, group: 'run' }, ...fields.filter((f) => f.name !== 'algo')];
  const order = o.order;
  if (order) all.sort((a, b) => rank(order, a.name) - rank(order, b.name));
  const groups = new Map<string, FieldSchema[]>();
  for (const f of all) {
    if (!o.visible(f.name)) continue;
    const g = f.group || 'other';
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(f);
  }
  // The controls are a function of these: when none changed since the last build (a worker's
  // 'configured' message at start-up asks again for the same controls), the DOM is kept, since a
  // rebuild restyles and lays out the whole column again (≈ 1100 elements, one long task).
  const key = JSON.stringify([o.schema.algo, o.schema.summary ?? '', o.envIds, o.groupNotes ?? {},
    [...groups.entries()].map(([g, list]) => [g, list.map((f) => [f, valueOf(f, o), isPending(f, o)])])]);
  if (builtFrom.get(root) === key && root.firstChild) return;
  builtFrom.set(root, key);
  root.textContent = '';
  const groupOrder = order ? [...groups.keys()] : [...GROUP_ORDER, ...[...groups.keys()].filter((g) => !GROUP_ORDER.includes(g))];
  for (const g of groupOrder) {
    const list = groups.get(g);
    if (!list) continue;
    const fs = document.createElement('fieldset');
    const lg = document.createElement('legend');
    lg.textContent = GROUP_TITLES[g] ?? g;
    fs.appendChild(lg);
    for (const f of list) fs.appendChild(control(f, o, root));
    if (o.groupNotes?.[g]) {
      const p = document.createElement('p');
      p.className = 'group-note';
      p.textContent = o.groupNotes[g];
      fs.appendChild(p);
    }
    root.appendChild(fs);
  }
  if (o.schema.summary) {
    const p = document.createElement('p');
    p.className = 'algo-summary';
    p.textContent = o.schema.summary;
    root.prepend(p);
  }
}

// A name's place in a list (names not in it go last, in their own order: sort is stable).
const rank = (list: string[], name: string) => { const i = list.indexOf(name); return i < 0 ? list.length : i; };

const valueOf = (f: FieldSchema, o: ControlOptions): unknown =>
  (f.name in o.run ? o.run[f.name] : f.name === 'algo' ? o.schema.algo : f.default);
function isPending(f: FieldSchema, o: ControlOptions): boolean {
  const applied = o.applied ? (f.name === 'algo' ? o.applied.algo : o.applied[f.name]) : undefined;
  return o.applied !== null && applied !== undefined && !same(applied, valueOf(f, o));
}

function control(f: FieldSchema, o: ControlOptions, root: HTMLElement): HTMLElement {
  const wrap = document.createElement('div');
  wrap.className = 'field';
  wrap.dataset.field = f.name;
  const id = `f-${f.name}`;
  // f.default is the preset's value where the run's algo × task has a preset (state.runFields).
  const tip = `${f.doc ?? ''}${f.doc ? ' — ' : ''}${rangeText(f)}; default ${display(f, f.default)}${f.live ? '; changes live' : '; applies on reset'}`;
  const label = document.createElement('label');
  label.htmlFor = id;
  label.textContent = f.name;
  label.title = tip;
  wrap.title = tip;
  const value = valueOf(f, o);
  let input: HTMLInputElement | HTMLSelectElement;
  const choices = f.choices?.length ? f.choices : f.name === 'env_id' ? o.envIds : null;
  if (choices) {
    const s = document.createElement('select');
    for (const c of choices) { const op = document.createElement('option'); op.value = c; op.textContent = c; s.appendChild(op); }
    s.value = String(value);
    input = s;
  } else if (f.type === 'bool') {
    const c = document.createElement('input');
    c.type = 'checkbox';
    c.checked = value === true;
    input = c;
  } else {
    const t = document.createElement('input');
    if (f.type === 'int' || f.type === 'float') {
      t.type = 'number';
      if (f.min !== undefined) t.min = String(f.min);
      if (f.max !== undefined) t.max = String(f.max);
      t.step = f.type === 'int' ? '1' : 'any';
      t.inputMode = f.type === 'int' ? 'numeric' : 'decimal';
    } else t.type = 'text';
    t.value = display(f, value);
    input = t;
  }
  input.id = id;
  input.name = f.name;
  const msg = document.createElement('div');
  msg.className = 'field-msg';
  msg.id = `${id}-msg`;
  msg.setAttribute('aria-live', 'polite');
  input.setAttribute('aria-describedby', msg.id);
  const badge = document.createElement('span');
  badge.className = 'badge';
  const pending = isPending(f, o);
  if (f.live) { badge.textContent = 'live'; badge.classList.add('live'); badge.title = 'applies at the next iteration'; }
  if (pending && !f.live) { msg.textContent = 'applies on reset'; wrap.classList.add('pending'); }
  // A value the user set over the preset (or default): marked, so the preset notice's list is visible here too.
  if (!['algo', 'env_id', 'task', 'seed'].includes(f.name) && f.name in o.run && !same(o.run[f.name], f.default)) {
    wrap.classList.add('overridden');
    label.title = wrap.title = `${tip}; you set this (preset or default: ${display(f, f.default)})`;
  }
  const commit = () => {
    let text: string;
    if (input instanceof HTMLInputElement && input.type === 'checkbox') text = String(input.checked);
    else text = input.value;
    const [v, err] = f.name === 'algo' ? [text, null] : parseField(f, text);
    if (err) {
      builtFrom.delete(root);
      input.setAttribute('aria-invalid', 'true');
      msg.textContent = err;
      msg.classList.add('error');
      wrap.classList.add('invalid');
      return;
    }
    input.removeAttribute('aria-invalid');
    msg.classList.remove('error');
    wrap.classList.remove('invalid');
    o.onChange(f.name, v);
  };
  input.addEventListener('change', commit);
  if (input instanceof HTMLInputElement && input.type !== 'checkbox') {
    input.addEventListener('keydown', (e) => { if (e.key === 'Enter') commit(); });
  }
  const row = document.createElement('div');
  row.className = 'field-row';
  row.append(label, badge);
  wrap.append(row, input, msg);
  return wrap;
}

// Shows a field's status after a change ("applies at the next iteration" / "applies on reset").
export function markField(root: HTMLElement, name: string, text: string, cls: 'pending' | 'ok' | 'error' | '') {
  const wrap = root.querySelector<HTMLElement>(`.field[data-field="${name}"]`);
  if (!wrap) return;
  builtFrom.delete(root);
  const msg = wrap.querySelector<HTMLElement>('.field-msg');
  if (msg) { msg.textContent = text; msg.classList.toggle('error', cls === 'error'); }
  wrap.classList.toggle('pending', cls === 'pending');
}
