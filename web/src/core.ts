// Typed view of the Embind module built from wasm/bindings.cpp.
// @ts-ignore -- emscripten's generated ES6 module (build-wasm/web/policylab.mjs) has no types.
import createPolicyLab from '@wasm/policylab.mjs';

export interface CoreTrainer {
  warmStart(bytes: Uint8Array): void;
  taskKind(): string;
  taskName(): string;
  metricNames(): string;
  step(): Float64Array;
  stepMany(maxIters: number, budgetMs: number): Float64Array;
  firstNonFinite(): string;
  lastMetricsJson(): string;
  layerGradNorms(): Float32Array;
  done(): boolean;
  globalStep(): number;
  iteration(): number;
  configJson(): string;
  objectiveJson(): string;
  set(field: string, valueJson: string): void;
  evaluate(episodes: number, deterministic: boolean, seed: number): string;
  saveBytes(): Uint8Array;
  obsDim(): number;
  actionDim(): number;
  discreteActions(): boolean;
  numParameters(): number;
  layerNames(): string;
  layerSizes(): string;
  layerGradient(i: number): Float32Array;
  seedViewer(seed: number): void;
  act(obs: Float32Array, deterministic: boolean): Float32Array;
  policyValue(obs: Float32Array, n: number): { action: Float32Array; value: Float32Array };
  complete(prompt: string, n: number, temperature: number, topK: number, topP: number, greedy: boolean, seed: number): string;
  recentSamples(): string;
  recentGroups(): string;
  evaluateSequence(count: number, k: number, seed: number): string;
  comboSolve(text: string, decode: string, seed: number): string;
  delete(): void;
}
export interface CoreEnv {
  id(): string;
  obsDim(): number;
  maxEpisodeSteps(): number;
  elapsedSteps(): number;
  reset(seed: number): Float32Array;
  step(action: Float32Array): { obs: Float32Array; reward: number; terminated: boolean; truncated: boolean; cost: number };
  observe(): Float32Array;
  renderState(): Float32Array;
  renderNames(): string;
  delete(): void;
}
export interface Core {
  schemas(): string;
  schema(algo: string): string;
  envIds(): string;
  scalarNames(): string;
  validateConfig(json: string): string;
  envInfo(id: string): string;
  listTasks(): string;
  describeTask(id: string, optionsJson: string): string;
  // A reward-model checkpoint kept in the worker's in-memory files; returns its path (GRPO's reward_model).
  storeRewardModel(bytes: Uint8Array): string;
  presets(): string;
  lossLabCatalog(): string;
  lossLab(name: string, inputJson: string, optionsJson: string): string;
  comboCatalog(): string;
  comboSolve(problem: string, text: string, solver: string): string;
  comboGenerate(problem: string, n: number, machines: number, seed: number): string;
  comboRead(problem: string, text: string): string;
  Trainer: { fromJson(json: string): CoreTrainer; fromCheckpoint(bytes: Uint8Array): CoreTrainer };
  Env: { make(id: string): CoreEnv };
}

export async function loadCore(): Promise<Core> {
  return (await createPolicyLab()) as Core;
}
