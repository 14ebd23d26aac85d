/// <reference lib="webworker" />
// The loss-lab worker: loads the wasm core on the first request and evaluates batches of loss-lab
// calls, so the loss explorer's curves (hundreds of evaluations) never run on the main thread.
import { loadCore, type Core } from '../core';
import type { LabRequest, LabResponse, LabResult } from './protocol';

const ctx = self as unknown as DedicatedWorkerGlobalScope;
let core: Promise<Core> | null = null;

ctx.onmessage = async (ev: MessageEvent<LabRequest>) => {
  const { id, calls } = ev.data;
  try {
    core ??= loadCore();
    const M = await core;
    const results: LabResult[] = calls.map((c) => JSON.parse(M.lossLab(c.name, JSON.stringify(c.input), JSON.stringify(c.options))));
    ctx.postMessage({ id, results } satisfies LabResponse);
  } catch (e) {
    ctx.postMessage({ id, error: e instanceof Error ? e.message : String(e) } satisfies LabResponse);
  }
};
