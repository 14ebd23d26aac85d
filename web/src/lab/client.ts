// The main thread's side of the lab worker: requests by id, the worker made on first use.
import type { LabCall, LabRequest, LabResponse } from './protocol';

export class LabClient {
  private worker: Worker | null = null;
  private nextId = 1;
  private waiting = new Map<number, (r: LabResponse) => void>();

  constructor(private makeWorker: () => Worker) {}

  request(calls: LabCall[]): Promise<LabResponse> {
    if (!this.worker) {
      this.worker = this.makeWorker();
      this.worker.onmessage = (ev: MessageEvent<LabResponse>) => {
        const done = this.waiting.get(ev.data.id);
        this.waiting.delete(ev.data.id);
        done?.(ev.data);
      };
    }
    const id = this.nextId++;
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
