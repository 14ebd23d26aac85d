// The main thread's side of the lab worker: requests by id, the worker made on first use.
import type { LabCall, LabRequest, LabResponse } from './protocol';

export class LabClient {
  private worker: Worker | null = null;
  private nextId = 1;
  private waiting = new Map<number, (r: LabResponse) => void>();

  constructor(private makeWorker: () => Worker) {}

  request(calls: LabCall[]): Promise<LabResponse> {
    const id = this.nextId++;
    if (!this.worker) {
      try {
        this.worker = this.makeWorker();
      } catch (e) {
        return Promise.resolve({ id, error: `the lab worker could not start: ${(e as Error).message}` });
      }
      this.worker.onmessage = (ev: MessageEvent<LabResponse>) => {
        const done = this.waiting.get(ev.data.id);
        this.waiting.delete(ev.data.id);
        done?.(ev.data);
      };
      // A worker that fails to load, or throws outside a request's own error handling, answers
      // nothing: every waiting request gets the failure (the views show it in their panels), and
      // the next request starts a fresh worker.
      const worker = this.worker;
      const fail = (message: string) => {
        if (this.worker !== worker) return;  // a late event of a worker already replaced
        worker.terminate();
        this.worker = null;
        const waiting = [...this.waiting];
        this.waiting.clear();
        for (const [wid, done] of waiting) done({ id: wid, error: `the lab worker failed (${message}); it restarts on the next change` });
      };
      worker.onerror = (ev: ErrorEvent) => { ev.preventDefault?.(); fail(ev.message || 'it did not load'); };
      worker.onmessageerror = () => fail('a message could not be read');
    }
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker!.postMessage({ id, calls } satisfies LabRequest);
    });
  }
}

// Runs `work` with at most one run in flight: a call made meanwhile runs once more when the
// current one returns (sliders dragged during a batch are drawn when it lands, never queued up).
export class Coalescer {
  private busy = false;
  private again = false;
  constructor(private work: () => Promise<void>) {}
  async run() {
    if (this.busy) { this.again = true; return; }
    this.busy = true;
    try {
      do {
        this.again = false;
        await this.work();
      } while (this.again);
    } finally {
      this.busy = false;
    }
  }
}
