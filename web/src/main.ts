// The playground page (index.html).
import 'uplot/dist/uPlot.min.css';
import 'katex/dist/katex.min.css';
import './styles.css';
import { App } from './app';

const app = new App(document.getElementById('app')!, {
  factory: () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }),
  labFactory: () => new Worker(new URL('./lab/labworker.ts', import.meta.url), { type: 'module' }),
  useLocation: true,
});
(window as unknown as { policylab: App }).policylab = app;
