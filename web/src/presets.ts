// Presets in the page: the core's table of tuned values per algorithm × task (core/train/presets.cpp,
// read through the wasm bindings' presets()). A run's config in the state (= the share URL) holds
// only what the user set; the preset of its algo and task fills the rest, the schema the remainder.
// So choosing an env or task (or an algorithm) re-applies the right preset to every field the user
// has not set, a link re-applies it on load, and the user's own settings always win.
import type { Config, FieldSchema, Meta } from './protocol';

export interface PresetInfo {
  name: string;          // "ppo/Pendulum-v1"
  algo: string;
  task: string;          // env id or sequence task id
  values: Config;        // the tuned fields (algo and env_id/task included)
  source: string;
  expected: string;      // the result it should reach
  note: string;          // caveats; why it does not learn well when learns is false
  learns: boolean;
}

// Fields that say what a run is rather than how it learns (and the seed, which no preset tunes):
// never listed as overrides.
const IDENTITY = new Set(['algo', 'env_id', 'task', 'seed']);

export function presetsOf(meta: Meta): PresetInfo[] {
  return meta.presets ?? [];
}

// The preset of the run's algo and task (the schema's default task when the run names none).
export function presetFor(meta: Meta, run: Config): PresetInfo | undefined {
  const schema = meta.schemas.find((s) => s.algo === String(run.algo ?? 'ppo'));
  if (!schema) return undefined;
  const key = schema.task_kind === 'sequence' ? 'task' : schema.task_kind === 'combo' ? 'problem' : 'env_id';
  const task = run[key] ?? schema.fields.find((f) => f.name === key)?.default;
  return presetsOf(meta).find((p) => p.algo === schema.algo && p.task === task);
}

// The run's fields with the preset's values as their defaults: controls show them, the share URL
// leaves them out, and the full config (what the trainer gets, the exported JSON) takes them.
export function withPresetDefaults(meta: Meta, run: Config, fields: FieldSchema[]): FieldSchema[] {
  const p = presetFor(meta, run);
  if (!p) return fields;
  return fields.map((f) => (f.name in p.values && !IDENTITY.has(f.name) ? { ...f, default: p.values[f.name] } : f));
}

// The fields the user set to something else than the preset (or the schema, for a field the preset
// leaves alone), with the value the preset would give.
export function overrides(meta: Meta, run: Config, fields: FieldSchema[]): { name: string; preset: unknown }[] {
  const out: { name: string; preset: unknown }[] = [];
  for (const f of withPresetDefaults(meta, run, fields)) {
    if (IDENTITY.has(f.name) || !(f.name in run)) continue;
    if (JSON.stringify(run[f.name]) !== JSON.stringify(f.default)) out.push({ name: f.name, preset: f.default });
  }
  return out;
}

function show(v: unknown): string { return Array.isArray(v) ? v.join(',') : String(v); }

// "Preset ppo/Pendulum-v1 in force — expected: …; you changed learning_rate (preset 0.001)."
export function presetNotice(meta: Meta, run: Config, fields: FieldSchema[]): HTMLElement {
  const box = document.createElement('div');
  box.className = 'preset-notice';
  box.dataset.testid = 'preset';
  const p = presetFor(meta, run);
  if (!p) {
    box.textContent = 'No preset for this algorithm and task: the schema defaults apply.';
    return box;
  }
  box.dataset.preset = p.name;
  if (!p.learns) box.classList.add('weak');
  const head = document.createElement('div');
  const strong = document.createElement('strong');
  strong.textContent = `preset ${p.name} in force`;
  head.append(strong, ` — expected: ${p.expected}`);
  box.title = `source: ${p.source}`;
  box.appendChild(head);
  if (p.note) {
    const note = document.createElement('div');
    note.className = 'preset-note';
    note.textContent = p.note;
    box.appendChild(note);
  }
  const changed = overrides(meta, run, fields);
  const yours = document.createElement('div');
  yours.className = 'preset-overrides';
  yours.dataset.testid = 'preset-overrides';
  yours.textContent = changed.length
    ? `your settings win: ${changed.map((c) => `${c.name} (preset ${show(c.preset)})`).join(', ')}`
    : 'no field changed from the preset';
  box.appendChild(yours);
  return box;
}
