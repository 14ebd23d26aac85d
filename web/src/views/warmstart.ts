// init_from in the browser, for every task kind that has it: the selected run (reset, not yet
// stepped) takes the model weights of a checkpoint file — GRPO from an SFT checkpoint, a Poppy
// population from a single POMO policy.
import type { Run } from '../runs';
import { h } from './dom';
import type { ViewHost } from './types';

export function warmStartRow(host: ViewHost, selected: () => Run | undefined, title: string): HTMLElement {
  const file = h('input', { type: 'file', accept: '.plck,.ckpt,application/octet-stream', 'data-testid': 'warm-start', 'aria-label': 'Checkpoint whose model weights the run starts from' }) as HTMLInputElement;
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    file.value = '';
    const run = selected();
    if (!f || !run) return;
    try {
      await run.warmStart(new Uint8Array(await f.arrayBuffer()));
      host.message(`The run starts from the weights of ${f.name}: press Play.`, 'info', 'warm-start');
    } catch (e) {
      host.message(`Could not start from ${f.name}: ${(e as Error).message}`, 'error', 'warm-start');
    }
  });
  return h('div', { class: 'eval-row', title }, h('label', { class: 'inline' }, 'start from the weights of ', file));
}
