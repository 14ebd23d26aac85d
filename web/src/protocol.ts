// Messages between the UI (main thread) and a training worker. One worker per run.

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
}
export interface AlgoSchema { algo: string; summary: string; fields: FieldSchema[]; }
export interface SpaceInfo { discrete: boolean; n?: number; low?: (number | null)[]; high?: (number | null)[]; dim?: number; }
export interface EnvInfo {
  id: string;
  observation_space: SpaceInfo;
  action_space: SpaceInfo;
  max_episode_steps: number;
  state_names: string[];
  render_names: string[];
}
export interface Meta { schemas: AlgoSchema[]; envIds: string[]; scalarNames: string[]; envs: Record<string, EnvInfo>; }

export type Config = Record<string, unknown>;

export interface HeatmapRequest { dx: number; dy: number; fixed: number[]; res: number; lo: [number, number]; hi: [number, number]; }

// UI -> worker
export type ToWorker =
  | { type: 'configure'; config: Config }             // (re)create the trainer: Reset
  | { type: 'play' }
  | { type: 'pause' }
  | { type: 'step' }                                   // one iteration
  | { type: 'speed'; itersPerSec: number }             // 0 = as fast as possible; -1 = real time
  | { type: 'set'; field: string; value: unknown }     // live hyperparameter
  | { type: 'save' }
  | { type: 'load'; bytes: Uint8Array }
  | { type: 'heatmap'; req: HeatmapRequest | null }    // null: stop computing it
  | { type: 'viewer'; on: boolean; deterministic: boolean }
  | { type: 'evaluate'; episodes: number };

// worker -> UI
export type FromWorker =
  | { type: 'ready'; meta: Meta }
  | { type: 'fatal'; message: string }                // wasm failed to load: the worker is unusable
  | { type: 'configured'; config: Config; layerNames: string[]; layerSizes: number[]; obsDim: number; actionDim: number; discrete: boolean; numParameters: number; resumedStep: number }
  | { type: 'error'; op: string; name: string; message: string }
  | { type: 'metrics'; rows: Float64Array; cols: number; layerNorms: Float32Array; nLayers: number }
  | { type: 'grads'; hist: { name: string; lo: number; hi: number; counts: number[]; norm: number }[] }
  | { type: 'state'; playing: boolean; done: boolean; iteration: number; globalStep: number }
  | { type: 'diverged'; metric: string; iteration: number }
  | { type: 'set-ok'; field: string; value: unknown }
  | { type: 'saved'; bytes: Uint8Array; config: Config }
  | { type: 'frame'; env: string; render: Float32Array; renderNames: string[]; obs: Float32Array; ret: number; t: number; episode: number }
  | { type: 'heatmap'; req: HeatmapRequest; action: Float32Array; value: Float32Array; actionDim: number; discrete: boolean }
  | { type: 'evaluated'; result: Record<string, unknown> };
