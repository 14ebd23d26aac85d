// Displayed sizes of canvases and chart boxes, delivered by a ResizeObserver after the browser's own
// layout, so drawing code never reads clientWidth in the middle of a task: such a read forces a
// style-and-layout of the whole dirty page there and then (≈ 100 ms in the first worker-message
// handler at start-up, bench/browser/startup-trace.mjs).
const sizes = new WeakMap<Element, { w: number; h: number }>();
const callbacks = new WeakMap<Element, () => void>();
let observer: ResizeObserver | null = null;

// Starts tracking el's client size (content + padding, as clientWidth/clientHeight); onResize runs
// when it changes (the first report included), after layout.
export function watchSize(el: HTMLElement, onResize: () => void) {
  callbacks.set(el, onResize);
  observer ??= new ResizeObserver((entries) => {
    for (const e of entries) {
      const t = e.target as HTMLElement;
      // Inside a ResizeObserver callback layout is clean: these reads force nothing.
      const s = { w: t.clientWidth, h: t.clientHeight };
      const old = sizes.get(t);
      sizes.set(t, s);
      if (!old || old.w !== s.w || old.h !== s.h) callbacks.get(t)?.();
    }
  });
  observer.observe(el);
}

export function unwatchSize(el: HTMLElement) {
  observer?.unobserve(el);
  sizes.delete(el);
  callbacks.delete(el);
}

// The last reported size (0 x 0 while not laid out or hidden), or null before the first report.
export function knownSize(el: Element): { w: number; h: number } | null {
  return sizes.get(el) ?? null;
}
