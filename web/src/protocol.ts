// Messages between the UI (main thread) and a training worker. One worker per run.
import type { PresetInfo } from './presets';

export interface FieldSchema {
  name: string;
  type: 'int' | 'float' | 'bool' | 'string' | 'int_list' | string;
  default: unknown;
  min?: number;
  max?: number;
  choices?: string[];
  doc?: string;
  live?: boolean;
  group?: string;
  max_items?: number;
  range?: string;      // the core's own wording of the allowed values
  // The field applies only while another field has one of these values (the core refuses it set
  // elsewhere); the page hides it then (state.ts runFields).
  // negated: the field applies while the other field has none of the values.
  applies_when?: { field: string; values: unknown[]; negated?: boolean } | null;
  // Choices that apply only while another field has one of the values (pomo's critic and poppy
  // baselines with problem tsp, cvrp or knapsack); the page offers them only then (runFields).
  choice_applies_when?: Record<string, { field: string; values: unknown[] }> | null;
}
// task_kind: "env" (Gym-style envs), "sequence" (verifiable sequence tasks) or "combo"
// (combinatorial problems); each kind has its own
// views (web/src/views/).
export interface AlgoSchema { algo: string; summary: string; task_kind: string; fields: FieldSchema[]; }
// A sequence task (the core's describe_task): vocabulary (one character per token), lengths, its
// option fields (the "task" group of a sequence schema) and an example problem.
export interface TaskInfo {
  id: string;
  summary: string;
  vocabulary: string;
  vocab_size: number;
  max_prompt_length: number;
  max_completion_length: number;
  options: Record<string, unknown>;
  fields: FieldSchema[];
  example: { prompt: string; reference: string; difficulty: number; length_target: number };
}
export interface SpaceInfo { discrete: boolean; n?: number; low?: (number | null)[]; high?: (number | null)[]; dim?: number; }
export interface EnvInfo {
  id: string;
  observation_space: SpaceInfo;
  action_space: SpaceInfo;
  max_episode_steps: number;
  state_names: string[];
  render_names: string[];
}
// scalarNames: the metric columns every trainer has; a trainer adds its own (Configured.metricNames).
// presets: the core's preset table (web/src/presets.ts applies it).
export interface Meta { schemas: AlgoSchema[]; envIds: string[]; scalarNames: string[]; envs: Record<string, EnvInfo>; tasks: TaskInfo[]; presets: PresetInfo[]; }

// Sequence tasks: one sampled completion of a typed prompt (SequenceLearner::complete).
export interface CompletionStep { token: string; p: number | null; top: { token: string; p: number | null }[]; }
export interface Completion {
  completion: string; correct: boolean; well_formed: boolean; partial: number | null; reward: number;
  length: number; finished: boolean; steps: CompletionStep[];
}
export interface CompleteResult { prompt: string; reference: string; completions: Completion[]; }
export interface CompleteRequest { prompt: string; n: number; temperature: number; topK: number; topP: number; greedy: boolean; seed: number; }
// A row of the live samples table: a held-out problem and the greedy completion of the latest evaluation.
export interface SampleRow { prompt: string; completion: string; reference: string; correct: boolean; partial: number | null; token_probs: (number | null)[]; }

// Group-relative methods: one prompt of the latest training batch with its G completions.
// gold: the hidden gold reward beside the proxy (reward), when the run trains against a learned reward.
export interface GroupRow { prompt: string; completions: { text: string; reward: number | null; advantage: number | null; correct: boolean; length: number; gold?: number | null }[]; }

// Combinatorial tasks: the policy's solutions of given instances (ComboLearner::solve_text).
export interface ComboSolveResult { decode: string; seconds: number; instances: { objective: number; solution: number[] }[]; }

export type Config = Record<string, unknown>;

export interface HeatmapRequest { dx: number; dy: number; fixed: number[]; res: number; lo: [number, number]; hi: [number, number]; }

// The objective a trainer minimises, printed by the core from its loss expression (text and LaTeX,
// with "where" lines defining its symbols and the coefficients' current values), and rendered with
// KaTeX in the worker (html, and one html per where line; empty when the algorithm prints no formula).
export interface Objective { text: string; latex: string; where_text: string[]; where_latex: string[]; html: string; whereHtml: string[]; }

// UI -> worker. A request the UI waits for carries an id; the worker's reply (or error) carries it
// back as `re`, so each reply is matched to its own request (Run.request).
export type ToWorker = ToWorkerBody & { id?: number };
type ToWorkerBody =
  // (re)create the trainer: Reset. initFromUrl: an absolute URL of a checkpoint whose model weights
  // the new trainer starts from (the link's init_from_url); the worker downloads it, and answers
  // 'configured' only once the trainer has them (or an error, and no new trainer).
  | { type: 'configure'; config: Config; initFromUrl?: string }
  | { type: 'play' }
  | { type: 'pause' }
  | { type: 'step' }                                   // one iteration
  | { type: 'speed'; itersPerSec: number }             // 0 = as fast as possible; -1 = real time
  | { type: 'set'; field: string; value: unknown }     // live hyperparameter
  | { type: 'save' }
  | { type: 'load'; bytes: Uint8Array }
  | { type: 'warm-start'; bytes: Uint8Array }   // init_from: a checkpoint's model weights, before the first step
  | { type: 'reward-model'; bytes: Uint8Array; name: string }  // GRPO against a learned reward: a reward_model checkpoint
  | { type: 'heatmap'; req: HeatmapRequest | null }    // null: stop computing it
  | { type: 'viewer'; on: boolean; deterministic: boolean }
  | { type: 'evaluate'; episodes: number; deterministic: boolean; seed: number }   // env tasks
  | { type: 'complete'; req: CompleteRequest }        // sequence tasks: complete a typed prompt
  | { type: 'evaluate-sequence'; count: number; k: number }
  | { type: 'combo-solve'; text: string; decode: string; seed: number };   // combo tasks: the policy's solutions

// worker -> UI (`re`: the id of the request this replies to, when it replies to one)
export type FromWorker = FromWorkerBody & { re?: number };
type FromWorkerBody =
  | { type: 'ready'; meta: Meta }
  | { type: 'fatal'; message: string }                // wasm failed to load: the worker is unusable
  | { type: 'configured'; config: Config; taskKind: string; taskName: string; metricNames: string[]; layerNames: string[]; layerSizes: number[];
      numParameters: number; resumedStep: number; resumedIteration: number; env: { obsDim: number; actionDim: number; discrete: boolean } | null;
      task: TaskInfo | null }   // sequence tasks: the task with the run's options
  | { type: 'error'; op: string; name: string; message: string }
  | { type: 'metrics'; rows: Float64Array; cols: number; layerNorms: Float32Array; nLayers: number }
  | { type: 'grads'; hist: { name: string; lo: number; hi: number; counts: number[]; norm: number }[] }
  | { type: 'state'; playing: boolean; done: boolean; iteration: number; globalStep: number }
  | { type: 'diverged'; metric: string; iteration: number }
  // A C++ exception in the middle of an iteration: the trainer may be half-updated, so the worker
  // refuses to continue it (play/step) until it is replaced (configure or load).
  | { type: 'failed'; name: string; message: string; iteration: number }
  | { type: 'objective'; objective: Objective }
  | { type: 'set-ok'; field: string; value: unknown }
  | { type: 'saved'; bytes: Uint8Array; config: Config }
  | { type: 'frame'; env: string; render: Float32Array; renderNames: string[]; obs: Float32Array; ret: number; t: number; episode: number }
  | { type: 'heatmap'; req: HeatmapRequest; action: Float32Array; value: Float32Array; actionDim: number; discrete: boolean }
  | { type: 'evaluated'; result: Record<string, unknown> }
  | { type: 'completed'; req: CompleteRequest; result: CompleteResult }
  | { type: 'warm-started'; iteration: number }
  | { type: 'reward-model-set'; path: string }
  | { type: 'samples'; iteration: number; rows: SampleRow[]; groups: GroupRow[] }
  | { type: 'combo-solved'; result: ComboSolveResult }
  | { type: 'sequence-evaluated'; result: { problems: number; distinct_problems: number; accuracy: number; pass_at_k: number; k: number; partial_mean: number; well_formed: number; length_mean: number } };
