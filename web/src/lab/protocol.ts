// Messages of the lab worker (labworker.ts): batches of calls of the core's stateless functions,
// answered by request id — the loss lab (core/algos/loss_lab.hpp) for the loss explorer, and the
// combinatorial problems' generators and reference solvers (core/combo/solvers.hpp) for the
// instance sandbox.
export interface LossCall {
  name: string;                       // an estimator or policy loss ("loss:gpg" / "estimator:gpg" for the shared name)
  input: Record<string, unknown>;     // the lab's input columns
  options: Record<string, unknown>;   // the lab's options
}
export type ComboCall =
  | { combo: 'catalog' }
  | { combo: 'generate'; problem: string; n: number; machines?: number; seed: number }
  | { combo: 'solve'; problem: string; text: string; solver: string }
  | { combo: 'read'; problem: string; text: string };  // a pasted text as dataset lines (the core's readers)
export type LabCall = LossCall | ComboCall;
export interface LabRequest { id: number; calls: LabCall[] }
// Each result is the core's JSON, or { error } for input it rejects.
export interface LabResult {
  error?: string;
  // loss lab
  loss?: number;
  advantages?: number[];
  zero_variance_groups?: number;
  outputs?: Record<string, number>;
  gradient?: { logp: number[][]; chosen_logps?: number[]; rejected_logps?: number[]; logps?: number[] };
  // combo: generate, read (read: also how many instances the text held)
  text?: string;
  count?: number;
  // combo: solve
  objective?: string;
  maximize?: boolean;
  instances?: { objective: number; solution: number[]; seconds: number }[];
  // combo: catalog
  catalog?: Record<string, ComboProblemInfo>;
}
export interface ComboProblemInfo { objective: string; maximize: boolean; solvers: { name: string; exact: boolean; doc: string }[] }
export interface LabResponse { id: number; results?: LabResult[]; error?: string }

// The worker name under which worker.ts serves the lab instead of a run (the <policy-lab> element
// starts its one inlined worker script both ways). Here, not in serve.ts: the element's main thread
// imports it, and serve.ts brings the wasm core with it.
export const LAB_WORKER_NAME = 'policylab-lab';
