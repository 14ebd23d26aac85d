// Views of a task kind. The playground (app.ts) owns what every run has — transport, controls
// generated from the schema, training-dynamics charts, gradients, the objective, exports, compare —
// and hands the rest to the views of the selected run's task kind ("env": the policy acting in its
// env and the policy/value map; "sequence": the samples table and typed-prompt completions). A new
// task kind brings its own module implementing KindViews and registers it in app.ts; app.ts itself
// does not branch on kinds.
import type { ChartDef, StepAxis } from '../charts';
import type { Config, FromWorker, Meta } from '../protocol';
import type { Run } from '../runs';
import type { AppState } from '../state';

// What the views may use of the playground.
export interface ViewHost {
  readonly meta: Meta | null;
  readonly state: AppState;
  readonly runs: Run[];
  // A message in the page's message area (errors stay until dismissed).
  message(text: string, kind?: 'error' | 'info', key?: string): void;
  // The view state changed (it is part of the share URL).
  saveUrl(): void;
  // Classroom mode: a panel or control hidden by hide=...
  isHidden(name: string): boolean;
  // A worker of the core for the loss explorer (made on first use).
  makeLabWorker(): Worker;
  // The selected run becomes a checkpoint (its config, weights and step), as if uploaded; errors
  // are shown in the page.
  loadCheckpoint(bytes: Uint8Array, name: string): Promise<void>;
}

export interface KindViews {
  readonly kind: string;
  // Panels of the side column (each a <section data-panel=...>), shown while the kind is active.
  readonly panels: HTMLElement[];
  // The charts of this kind (in order) and what "steps" means on their x axis.
  readonly charts: ChartDef[];
  readonly stepAxis: StepAxis;
  // The selected run is now of this kind (activate) or of another one (deactivate): views start or
  // stop the worker-side work they need (e.g. the real-time viewer) and clear what they show.
  activate(): void;
  deactivate(): void;
  // Every message of every run's worker (views act on the selected run's).
  onMessage(run: Run, m: FromWorker, selected: boolean): void;
  // Runs were added, removed or the selection changed while the kind is active.
  syncRuns(): void;
  // A field of the selected run's config changed in the controls (applies on reset unless live).
  onFieldChange(name: string, run: Config): void;
  // The status bar's summary of a run (after "A: it 12 · ").
  status(run: Run): string;
  // A line under a control group (e.g. the task's summary), by group name.
  groupNotes(run: Config): Record<string, string>;
}
