// Messages of the loss-lab worker (labworker.ts): batches of loss-lab evaluations
// (core/algos/loss_lab.hpp), answered by request id.
export interface LabCall {
  name: string;                       // an estimator or policy loss ("loss:gpg" / "estimator:gpg" for the shared name)
  input: Record<string, unknown>;     // the lab's input columns
  options: Record<string, unknown>;   // the lab's options
}
export interface LabRequest { id: number; calls: LabCall[] }
// Each result is the lab's JSON, or { error } for input it rejects.
export interface LabResult {
  error?: string;
  loss?: number;
  advantages?: number[];
  zero_variance_groups?: number;
  outputs?: Record<string, number>;
  gradient?: { logp: number[][] };
}
export interface LabResponse { id: number; results?: LabResult[]; error?: string }
