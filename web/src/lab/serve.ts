/// <reference lib="webworker" />
// The lab worker's service (its entry is labworker.ts): loads the wasm core on the first request and answers batches of calls of the
// core's stateless functions (lab/protocol.ts), so the loss explorer's curves (hundreds of
// evaluations) and the reference solvers (Held-Karp takes a while at n = 20) never run on the main
// thread.
import { loadCore, type Core } from '../core';
import type { LabCall, LabRequest, LabResponse, LabResult } from './protocol';

let core: Promise<Core> | null = null;

function call(M: Core, c: LabCall): LabResult {
  if (!('combo' in c)) return JSON.parse(M.lossLab(c.name, JSON.stringify(c.input), JSON.stringify(c.options)));
  switch (c.combo) {
    case 'catalog': return { catalog: JSON.parse(M.comboCatalog()) };
    case 'generate': return JSON.parse(M.comboGenerate(c.problem, c.n, c.machines ?? c.n, c.seed));
    case 'solve': return JSON.parse(M.comboSolve(c.problem, c.text, c.solver));
    case 'read': return JSON.parse(M.comboRead(c.problem, c.text));
  }
}

// Answers the lab's requests on this worker scope. The <policy-lab> element runs it in a second
// instance of the main worker's script (worker.ts, started with the name LAB_WORKER_NAME), so its
// single inlined script carries the wasm core once.
export function serveLab(ctx: DedicatedWorkerGlobalScope) {
  ctx.onmessage = async (ev: MessageEvent<LabRequest>) => {
    const { id, calls } = ev.data;
    try {
      core ??= loadCore();
      const M = await core;
      const results = calls.map((c) => {
        try {
          return call(M, c);
        } catch (e) {
          return { error: e instanceof Error ? e.message : String(e) };
        }
      });
      ctx.postMessage({ id, results } satisfies LabResponse);
    } catch (e) {
      ctx.postMessage({ id, error: e instanceof Error ? e.message : String(e) } satisfies LabResponse);
    }
  };
}
