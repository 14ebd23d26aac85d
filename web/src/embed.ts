// The iframe-able embed page (embed.html): the compact playground. Classroom mode hides chosen
// controls and panels through the URL: embed.html#env_id=CartPole-v1&controls=learning_rate,clip_coef&hide=gradients,heatmap
import 'uplot/dist/uPlot.min.css';
import 'katex/dist/katex.min.css';
import './styles.css';
import { App } from './app';

const app = new App(document.getElementById('app')!, {
  factory: () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }),
  labFactory: () => new Worker(new URL('./lab/labworker.ts', import.meta.url), { type: 'module' }),
  useLocation: true,
  embed: true,
});
(window as unknown as { policylab: App }).policylab = app;
