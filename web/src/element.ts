// <policy-lab> custom element: one script (worker and wasm inlined) that course pages include.
//   <script type="module" src="policy-lab.js"></script>
//   <policy-lab env="CartPole-v1" algo="ppo" controls="learning_rate,clip_coef" autoplay></policy-lab>
//   <policy-lab algo="sft" task="addition" set-digits="2" autoplay></policy-lab>
// Attributes: env (env tasks) or task (sequence tasks), algo, seed, controls (shown controls), hide
// (hidden controls/panels), autoplay, speed, and any config field as `set-<name>="value"` (e.g.
// set-learning_rate="0.001", or a task option: set-digits="2"); compare-<name>="value" adds a second
// run with those fields changed (a DPO-vs-IPO widget: algo="dpo" compare-loss_type="ipo").
// Changed later (setAttribute), they apply as a new link does on the page: view attributes (speed,
// controls, hide) at once, run settings by reconfiguring the runs they change.
import uplotCss from 'uplot/dist/uPlot.min.css?inline';
import katexCss from 'katex/dist/katex.min.css?inline';
import css from './styles.css?inline';
import InlineWorker from './worker.ts?worker&inline';
import { LAB_WORKER_NAME } from './lab/protocol';
import { App } from './app';

// KaTeX's stylesheet with its fonts inlined (woff2 only: vite.config.ts). A shadow root's @font-face
// rules are ignored by Chromium and WebKit, so those go to the document, once per page; the rest
// (how the objective's spans are laid out) goes into each element's shadow root. Split by the
// browser's CSS parser, once, when the first element is built.
let katexRules: string | null = null;
function katexStyles(): string {
  if (katexRules !== null) return katexRules;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(katexCss);
  const faces: string[] = [], rules: string[] = [];
  for (const r of Array.from(sheet.cssRules)) (r instanceof CSSFontFaceRule ? faces : rules).push(r.cssText);
  const id = 'policy-lab-katex-fonts';
  if (!document.getElementById(id)) {
    const style = document.createElement('style');
    style.id = id;
    style.textContent = faces.join('\n');
    document.head.appendChild(style);
  }
  return (katexRules = rules.join('\n'));
}

// The attributes link() reads: keep the two together.
const LINK_ATTRIBUTES = new Set(['algo', 'env', 'task', 'seed', 'controls', 'hide', 'speed', 'autoplay']);
function readsAttribute(name: string): boolean {
  return LINK_ATTRIBUTES.has(name) || name.startsWith('set-') || name.startsWith('compare-');
}

// What an element hides unless its hide attribute says otherwise: a compact widget.
const DEFAULT_HIDE = 'gradients,heatmap,formula,export,compare,approx_kl,clip_fraction,explained_variance,lr,grad_norm,layer_norms,tokens_per_s';

class PolicyLabElement extends HTMLElement {
  app: App | null = null;
  private pending = 0;
  private applied = '';   // the link last given to the app
  // Attribute changes after the element is built reconfigure it (set-<field> and compare-<field>
  // names are open-ended, so a MutationObserver rather than observedAttributes). Only the attributes
  // link() reads count: a course page or its framework toggling class, style, id or data-* must not
  // reapply the link (which resets the view and would reconfigure a run the user edited). Nor does an
  // attribute set to what it was, unless a run's settings were refused: then it tries them again
  // (the missing checkpoint may be there now).
  private watcher = new MutationObserver((records) => {
    if (!this.app || !records.some((r) => r.attributeName !== null && readsAttribute(r.attributeName))) return;
    const link = this.link();
    if (link === this.applied && !this.app.runs.some((r) => r.rejected || r.failed)) return;
    this.applied = link;
    void this.app.applyLink(link);
  });
  connectedCallback() {
    if (this.app || this.pending) return;
    // The playground is built in a task of its own, not in the one that defines the element (the
    // script's evaluation, already the page's longest at start-up: bench/browser/startup.mjs).
    this.pending = window.setTimeout(() => { this.pending = 0; if (this.isConnected) this.create(); }, 0);
  }
  private create() {
    const root = this.shadowRoot ?? this.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = uplotCss + '\n' + katexStyles() + '\n' + css + '\n:host{display:block}';
    root.appendChild(style);
    this.applied = this.link();
    this.app = new App(root, { factory: () => new InlineWorker(), labFactory: () => new InlineWorker({ name: LAB_WORKER_NAME }), embed: true, useLocation: false, initial: this.applied });
    this.watcher.observe(this, { attributes: true });
  }
  // The element's attributes as a link (the page's URL parameters, state.ts).
  private link(): string {
    const p = new URLSearchParams();
    p.set('algo', this.getAttribute('algo') ?? 'ppo');
    // What the run learns; without either, the algorithm's default env or task.
    if (this.hasAttribute('env')) p.set('env_id', this.getAttribute('env')!);
    if (this.hasAttribute('task')) p.set('task', this.getAttribute('task')!);
    if (this.hasAttribute('seed')) p.set('seed', this.getAttribute('seed')!);
    for (const a of Array.from(this.attributes)) if (a.name.startsWith('set-')) p.set(a.name.slice(4), a.value);
    // A second run to compare (a DPO-vs-IPO widget, say): run A's settings with the compare-<field>
    // attributes changed, e.g. compare-loss_type="ipo". Both runs train side by side.
    const compare = Array.from(this.attributes).filter((a) => a.name.startsWith('compare-'));
    if (compare.length) {
      for (const [k, v] of Array.from(p.entries())) p.set(`1.${k}`, v);
      for (const a of compare) p.set(`1.${a.name.slice(8)}`, a.value);
    }
    if (this.hasAttribute('controls')) p.set('controls', this.getAttribute('controls')!);
    p.set('hide', this.getAttribute('hide') ?? DEFAULT_HIDE);
    if (this.hasAttribute('speed')) p.set('speed', this.getAttribute('speed')!);
    // A boolean attribute: present (any value but "false") is on.
    if (this.hasAttribute('autoplay') && this.getAttribute('autoplay') !== 'false') p.set('autoplay', '1');
    return p.toString();
  }
  disconnectedCallback() {
    clearTimeout(this.pending);
    this.pending = 0;
    this.watcher.disconnect();
    this.app?.pause();
    for (const r of this.app?.runs ?? []) r.dispose();
    this.app = null;
    this.shadowRoot?.replaceChildren();
  }
}

if (!customElements.get('policy-lab')) customElements.define('policy-lab', PolicyLabElement);
export { PolicyLabElement };
