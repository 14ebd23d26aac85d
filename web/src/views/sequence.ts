// Views of verifiable sequence tasks (addition, sort, reverse, copy, countdown) learned by a tiny
// transformer (SFT, GRPO; charts an algorithm's own metrics need show only for its runs): held-out accuracy and loss charts, a live table of held-out prompts with the model's
// greedy completions (colored by correctness, per-token probabilities on hover), and a box where a
// typed prompt is completed by the model, with its top next-token probabilities at each position.
import { GRAD_NORM_CHART, LAYER_NORMS_CHART, LR_CHART, lastFinite, type ChartDef } from '../charts';
import type { CompleteRequest, CompleteResult, Completion, Config, FromWorker, GroupRow, SampleRow, TaskInfo } from '../protocol';
import type { Run } from '../runs';
import { taskOf } from '../state';
import { h } from './dom';
import { warmStartRow } from './warmstart';
import { LabClient } from '../lab/client';
import { LossExplorer } from './losslab';
import { PreferenceExplorer } from './preflab';
import { FrontierView } from './frontier';
import type { KindViews, ViewHost } from './types';

// Per-layer gradient norms grouped by module: "wte", "wpe", "h0.attn", "h0.mlp", "h0.ln", ...,
// "ln_f", "lm_head" (the histogram still lists every tensor).
export function transformerGroup(tensor: string): string {
  const n = tensor.replace(/^lm\./, '');
  let m = /^h(\d+)\.(attn|mlp)\./.exec(n);
  if (m) return `h${m[1]}.${m[2]}`;
  m = /^h(\d+)\.ln_\d/.exec(n);
  if (m) return `h${m[1]}.ln`;
  return n.replace(/\.(weight|bias)$/, '');
}

const CHARTS: ChartDef[] = [
  { id: 'heldout', title: 'Held-out accuracy (greedy)', range: [0, 1], requires: 'heldout_accuracy', series: [
    { col: 'heldout_accuracy', label: 'exact' },
    { col: 'heldout_partial', label: 'partial credit', dash: [4, 4] },
    { col: 'heldout_well_formed', label: 'well formed', faded: true },
    { col: 'heldout_pass_at_k', label: 'pass@k (eval_pass_k samples)', dash: [1, 3] }] },
  // SFT
  { id: 'loss', title: 'Training loss (cross-entropy per completion token)', log: true, requires: 'train_loss', series: [{ col: 'train_loss', label: 'loss' }] },
  { id: 'token_accuracy', title: 'Token accuracy (training batch)', range: [0, 1], requires: 'token_accuracy', series: [{ col: 'token_accuracy', label: 'token accuracy' }] },
  // Group-relative RL (GRPO)
  { id: 'reward', title: 'Reward and accuracy of the sampled completions', requires: 'reward_mean', series: [
    { col: 'reward_mean', label: 'mean reward' }, { col: 'train_accuracy', label: 'correct', dash: [4, 4] }] },
  { id: 'policy_loss', title: 'Policy loss (clipped surrogate)', requires: 'reward_mean', series: [{ col: 'policy_loss', label: 'policy loss' }] },
  { id: 'completion_length', title: 'Completion length (tokens)', requires: 'completion_length', series: [
    { col: 'completion_length', label: 'all' }, { col: 'length_correct', label: 'correct', dash: [4, 4] }, { col: 'length_wrong', label: 'wrong', faded: true }] },
  { id: 'kl', title: 'KL to the reference model', requires: 'kl', series: [{ col: 'kl', label: 'KL' }] },
  { id: 'clip_fraction', title: 'Clipped ratios (low / high)', requires: 'clip_low', series: [
    { col: 'clip_low', label: 'low' }, { col: 'clip_high', label: 'high', dash: [4, 4] }] },
  { id: 'zero_variance_groups', title: 'Groups with equal rewards (no signal)', requires: 'zero_variance_groups', series: [{ col: 'zero_variance_groups', label: 'share' }] },
  // AdaptThink: how often the model skips thinking, and its accuracy in each mode.
  { id: 'nothink', title: 'NoThinking share (sampled; held-out greedy) and accuracy by mode', requires: 'nothink_share', range: [0, 1], series: [
    { col: 'nothink_share', label: 'NoThinking share' }, { col: 'heldout_nothink_share', label: 'held-out NoThinking', dash: [4, 4] },
    { col: 'accuracy_nothink', label: 'accuracy (NoThinking)', faded: true }, { col: 'accuracy_think', label: 'accuracy (Thinking)', faded: true }] },
  // Length control: how far completions land from the budget their prompt states (L1, LAPO-I), and
  // the share of LAPO-I's prompts whose budget came from its table of discovered lengths.
  { id: 'length_error', title: 'Distance to the stated length budget (tokens)', requires: 'length_error', series: [
    { col: 'length_error', label: 'mean |length − budget|' }] },
  { id: 'lapo_known', title: 'LAPO-I: prompts stating a discovered length', requires: 'lapo_known_share', range: [0, 1], series: [
    { col: 'lapo_known_share', label: 'share' }] },
  // DPO: the implicit rewards beta log(pi / ref) of the chosen and rejected completions (both often
  // fall, the rejected faster), their log-probabilities, and the hidden gold reward of fresh samples.
  { id: 'dpo_loss', title: 'Preference loss (the loss_type)', requires: 'chosen_logps', series: [{ col: 'policy_loss', label: 'loss' }] },
  { id: 'dpo_rewards', title: 'Implicit rewards β·log(π/π_ref): chosen, rejected, margin', requires: 'chosen_logps', series: [
    { col: 'chosen_rewards', label: 'chosen' }, { col: 'rejected_rewards', label: 'rejected', dash: [4, 4] }, { col: 'margin', label: 'margin', faded: true }] },
  { id: 'dpo_logps', title: 'Log-probabilities of the chosen and rejected completions', requires: 'chosen_logps', series: [
    { col: 'chosen_logps', label: 'chosen' }, { col: 'rejected_logps', label: 'rejected', dash: [4, 4] }] },
  { id: 'dpo_accuracy', title: 'Pairs ranked right by the (implicit) reward (train; held-out)', requires: 'reward_accuracy', range: [0, 1], series: [
    { col: 'reward_accuracy', label: 'train', rolling: true }, { col: 'heldout_reward_accuracy', label: 'held-out', dash: [4, 4] }] },
  // PPO-RLHF (advantage_estimator gae): the critic's clipped value loss and how much of the returns'
  // variance its values explain.
  { id: 'critic', title: 'Critic (gae): value loss and explained variance', requires: 'value_clip_fraction', series: [
    { col: 'value_loss', label: 'value loss' }, { col: 'explained_variance', label: 'explained variance', dash: [4, 4] }] },
  // KTO: its reference point z0 (the batch's KL estimate from mismatched completions, clamped at 0)
  // and the held-out implicit-reward margin between desirable and undesirable examples.
  { id: 'kto_reference', title: 'KTO: reference point z₀ and held-out margin (desirable − undesirable)', requires: 'reference_point', series: [
    { col: 'reference_point', label: 'z₀', rolling: true }, { col: 'heldout_margin', label: 'held-out margin', dash: [4, 4] }] },
  { id: 'kto_heldout', title: 'Held-out pairs ranked right by the implicit reward', requires: 'reference_point', range: [0, 1], series: [
    { col: 'heldout_reward_accuracy', label: 'held-out' }] },
  { id: 'gold', title: 'Hidden gold reward of fresh samples (policy; SFT reference) and win rate', requires: 'win_rate', series: [
    { col: 'gold_reward', label: 'policy' }, { col: 'gold_reward_ref', label: 'reference', faded: true }, { col: 'win_rate', label: 'win rate', dash: [4, 4] }] },
  // Reward models: the learned rewards of chosen and rejected completions, held-out ranking against
  // the labels and the hidden gold reward, and the ensemble's disagreement.
  { id: 'rm_loss', title: 'Reward-model loss (Bradley–Terry)', requires: 'heldout_gold_accuracy', series: [{ col: 'policy_loss', label: 'loss' }] },
  { id: 'rm_rewards', title: 'Learned rewards: chosen, rejected, margin', requires: 'heldout_gold_accuracy', series: [
    { col: 'chosen_rewards', label: 'chosen' }, { col: 'rejected_rewards', label: 'rejected', dash: [4, 4] }, { col: 'margin', label: 'margin', faded: true }] },
  { id: 'rm_gold_accuracy', title: 'Held-out pairs ranked as the hidden gold reward ranks them', requires: 'heldout_gold_accuracy', range: [0, 1], series: [
    { col: 'heldout_gold_accuracy', label: 'vs gold' }] },
  { id: 'rm_spread', title: 'Held-out reward std and ensemble disagreement (std across members)', requires: 'heldout_reward_std', series: [
    { col: 'heldout_reward_std', label: 'reward std' }, { col: 'ensemble_std', label: 'members', dash: [4, 4] }] },
  // RL against a learned reward: the over-optimization picture (proxy up, gold up then down, KL).
  { id: 'proxy_gold', title: 'Learned (proxy) and hidden gold reward of the sampled completions', requires: 'proxy_reward', series: [
    { col: 'proxy_reward', label: 'proxy' }, { col: 'gold_reward', label: 'gold', dash: [4, 4] }] },
  { id: 'kl_ref', title: 'KL(π ‖ π_ref) of the sampled completions (sum over tokens)', requires: 'kl_ref', series: [{ col: 'kl_ref', label: 'KL' }] },
  // Constrained alignment (GRPO with reward_judges): the safety judge's batch cost against its
  // budget, the helpfulness judge, and the multiplier lambda (fixed for the one-shot dual, moving
  // for the Lagrangian baseline) or the share of completions a judge flagged (CGPO).
  { id: 'safety_cost', title: 'Safety cost of the sampled completions against its budget', requires: 'safety_cost', range: [0, 1], series: [
    { col: 'safety_cost', label: 'cost', rolling: true }, { col: 'safety_budget', label: 'budget', dash: [4, 4] }, { col: 'flagged_share', label: 'flagged (judges)', faded: true }] },
  { id: 'safety_helpfulness', title: 'Helpfulness judge of the sampled completions', requires: 'helpfulness', series: [
    { col: 'helpfulness', label: 'helpfulness', rolling: true }] },
  { id: 'safety_lambda', title: 'Safety multiplier λ (dual: λ* fixed; lagrangian: dual ascent)', requires: 'safety_lambda', series: [
    { col: 'safety_lambda', label: 'λ' }] },
  { id: 'entropy', title: 'Mean token entropy (nats)', series: [{ col: 'entropy', label: 'entropy' }] },
  LR_CHART, GRAD_NORM_CHART,
  { ...LAYER_NORMS_CHART, title: 'Gradient norm per module (selected run)', layerGroup: transformerGroup },
  { id: 'tokens_per_s', title: 'Training throughput (tokens/s)', requires: 'tokens_per_s', series: [{ col: 'tokens_per_s', label: 'tokens/s' }] },
];

const pct = (x: number | null | undefined, digits = 0) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(digits)}%`);
const prob = (p: number | null) => (p === null ? '?' : p >= 0.995 ? p.toFixed(3) : p.toFixed(2));
// A token shown as text: PAD and EOS are visible characters already ('_', '.').
const shown = (t: string) => (t === ' ' ? '␠' : t);

// Tokens of a completion, shaded by how unsure the model was (1 - p), with p on hover.
function tokenSpans(tokens: string[], probs: (number | null)[]): HTMLElement {
  const wrap = h('span', { class: 'tokens' });
  tokens.forEach((t, i) => {
    const p = probs[i] ?? null;
    const s = h('span', { class: 'tok', title: `'${t}'  p = ${prob(p)}`, 'data-p': p === null ? '' : String(p) }, shown(t));
    if (p !== null) s.style.backgroundColor = `rgba(255, 166, 0, ${(0.75 * (1 - p)).toFixed(3)})`;
    wrap.appendChild(s);
  });
  return wrap;
}

interface RunSeqState { samples: { iteration: number; rows: SampleRow[] } | null; groups: GroupRow[]; }

export class SequenceViews implements KindViews {
  readonly kind = 'sequence';
  readonly panels: HTMLElement[];
  readonly charts = CHARTS;
  readonly stepAxis = { col: 'iteration', label: 'gradient steps' };
  private active = false;
  private el: Record<string, HTMLElement> = {};
  private perRun = new WeakMap<Run, RunSeqState>();
  private example = '';          // the example prompt last put in the box
  private seed = 1;              // sampling seed of the next completion (greedy ignores it)
  private result: CompleteResult | null = null;
  private shownCompletion = 0;   // whose next-token table is shown
  private busy = false;
  private frontier: FrontierView;

  constructor(private host: ViewHost) {
    // Samples table.
    const samplesCap = h('div', { class: 'caption', 'data-testid': 'samples-caption' }, 'no evaluation yet: press Play or Step');
    const tbody = h('tbody');
    const table = h('table', { class: 'samples', 'data-testid': 'samples' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'prompt'), h('th', { scope: 'col' }, 'model'), h('th', { scope: 'col' }, 'expected'), h('th', { scope: 'col' }, 'score'))),
      tbody);
    const evalCount = h('input', { type: 'number', min: '1', max: '4096', step: '1', value: '256', class: 'short', 'aria-label': 'Held-out problems to evaluate' }) as HTMLInputElement;
    const evalK = h('input', { type: 'number', min: '0', max: '64', step: '1', value: '4', class: 'tiny', 'aria-label': 'k for pass@k (0: greedy only)' }) as HTMLInputElement;
    const evalBtn = h('button', { type: 'button', 'data-testid': 'evaluate-sequence', title: 'Greedy accuracy on held-out problems, and pass@k with k samples at temperature 1' }, 'Evaluate');
    const evalOut = h('div', { class: 'caption', 'data-testid': 'evaluate-result', 'aria-live': 'polite' });
    // init_from in the browser: start the (reset) run from another run's weights, e.g. GRPO from SFT.
    const warmRow = warmStartRow(host, () => this.selRun, 'Like init_from: the run takes the checkpoint\'s model weights (same task, task options and model size), before its first step (press Reset first)');
    // RLHF in the page: a GRPO run trains against a learned reward, a reward_model checkpoint file or
    // another run's reward model (its checkpoint now); proxy and gold rewards, KL and the frontier follow.
    const rmFile = h('input', { type: 'file', accept: '.plck,.ckpt,application/octet-stream', 'data-testid': 'reward-model-file', 'aria-label': 'reward_model checkpoint the GRPO run trains against' }) as HTMLInputElement;
    const rmRuns = h('span', { class: 'inline', 'data-testid': 'reward-model-runs' });
    const rmRow = h('div', { class: 'eval-row', 'data-testid': 'reward-model-row', hidden: '', title: 'GRPO against a learned reward (RLHF): the run restarts with the reward model as its reward; the hidden gold reward is reported beside it' },
      h('label', { class: 'inline' }, 'train against the reward model ', rmFile), rmRuns);
    rmFile.addEventListener('change', async () => {
      const f = rmFile.files?.[0];
      rmFile.value = '';
      if (f) await this.useRewardModel(new Uint8Array(await f.arrayBuffer()), f.name);
    });
    const samplesSec = h('section', { class: 'panel', 'data-panel': 'samples', 'data-kind': 'sequence' },
      h('h2', {}, 'Held-out samples (greedy)'), samplesCap, h('div', { class: 'table-wrap' }, table),
      h('p', { class: 'hint' }, 'Shading: how unsure the model was of each token (darker = lower probability); hover a token for its probability.'),
      h('div', { class: 'eval-row' }, h('label', { class: 'inline' }, 'accuracy on ', evalCount, ' problems'), h('label', { class: 'inline' }, 'pass@', evalK), evalBtn),
      evalOut, warmRow, rmRow);
    // Prompt box.
    const input = h('input', { type: 'text', class: 'prompt-input', 'data-testid': 'prompt', 'aria-label': 'Prompt for the model', spellcheck: 'false', autocomplete: 'off', autocapitalize: 'off' }) as HTMLInputElement;
    const go = h('button', { type: 'submit', class: 'primary', 'data-testid': 'complete' }, 'Complete');
    const form = h('form', { class: 'prompt-form' }, input, go);
    const greedy = h('input', { type: 'checkbox', checked: '', 'data-testid': 'greedy' }) as HTMLInputElement;
    const temp = h('input', { type: 'number', min: '0.05', max: '10', step: '0.1', value: '1', class: 'tiny', 'aria-label': 'Sampling temperature' }) as HTMLInputElement;
    const count = h('input', { type: 'number', min: '1', max: '8', step: '1', value: '1', class: 'tiny', 'aria-label': 'Completions to sample' }) as HTMLInputElement;
    const opts = h('div', { class: 'prompt-opts' }, h('label', { class: 'inline' }, greedy, ' greedy'),
      h('label', { class: 'inline' }, 'temperature ', temp), h('label', { class: 'inline' }, 'samples ', count));
    const vocab = h('div', { class: 'caption', 'data-testid': 'vocab' });
    const err = h('div', { class: 'inline-error', role: 'alert', 'data-testid': 'complete-error', hidden: '' });
    const outs = h('div', { class: 'completions', 'data-testid': 'completions', 'aria-live': 'polite' });
    const topk = h('div', { class: 'topk', 'data-testid': 'topk' });
    const promptSec = h('section', { class: 'panel', 'data-panel': 'prompt', 'data-kind': 'sequence' },
      h('h2', {}, 'Try a prompt'), form, opts, vocab, err, outs, topk);
    // The latest training batch's groups (group-relative methods).
    const groupsBody = h('tbody');
    const groupsSec = h('section', { class: 'panel', 'data-panel': 'groups', 'data-kind': 'sequence' },
      h('h2', {}, 'Training groups (latest batch)'),
      h('p', { class: 'hint' }, 'Each prompt with its sampled completions, their rewards and advantages: a group whose rewards are all equal teaches nothing.'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'samples groups', 'data-testid': 'groups' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'completion'), h('th', { scope: 'col' }, 'reward'),
          h('th', { scope: 'col', 'data-col': 'gold', title: 'the hidden gold reward (the reward column is the learned, proxy reward)', hidden: '' }, 'gold'),
          h('th', { scope: 'col' }, 'advantage'))),
        groupsBody)));
    groupsSec.dataset.empty = '1';
    // One lab worker (made on first use) serves both explorers.
    const lab = new LabClient(() => host.makeLabWorker());
    const explorer = new LossExplorer(lab);
    const prefs = new PreferenceExplorer(lab);
    this.frontier = new FrontierView(() => host.runs, (i) => String.fromCharCode(65 + i), () => host.isHidden('frontier'));
    this.panels = [this.frontier.panel, samplesSec, groupsSec, promptSec, explorer.panel, prefs.panel];
    this.el.groupsBody = groupsBody;
    this.el.groupsSec = groupsSec;
    Object.assign(this.el, { samplesCap, tbody, evalCount, evalK, evalBtn, evalOut, input, go, greedy, temp, count, vocab, err, outs, topk, rmRow, rmRuns });

    form.addEventListener('submit', (e) => { e.preventDefault(); this.complete(); });
    greedy.addEventListener('change', () => { temp.disabled = greedy.checked; });
    temp.disabled = true;
    evalBtn.addEventListener('click', () => this.evaluate());
  }

  private get selRun(): Run | undefined { return this.host.runs[this.host.state.view.sel]; }
  private seqState(run: Run): RunSeqState {
    let s = this.perRun.get(run);
    if (!s) { s = { samples: null, groups: [] }; this.perRun.set(run, s); }
    return s;
  }
  // The task the selected run's trainer learns (with its options), else the one in the controls.
  private task(): TaskInfo | undefined {
    const meta = this.host.meta, run = this.selRun;
    if (run?.task) return run.task;
    if (!meta) return undefined;
    const c = run?.applied ?? this.host.state.runs[this.host.state.view.sel];
    return c ? taskOf(meta, c) : undefined;
  }

  activate() {
    this.active = true;
    this.renderRewardModelRow();
    this.frontier.update();
    this.clearResult();
    this.showTask();
    this.renderSamples();
    this.renderGroups();
  }
  deactivate() {
    this.active = false;
    this.clearResult();
  }
  syncRuns() {
    if (!this.active) return;
    this.renderRewardModelRow();
    this.frontier.update();
    this.showTask();
    this.renderSamples();
    this.renderGroups();
  }
  onFieldChange() { /* task and model changes apply on reset, when the trainer is configured */ }

  onMessage(run: Run, m: FromWorker, selected: boolean) {
    if (this.active && (m.type === 'metrics' || m.type === 'configured')) this.frontier.update();
    if (m.type === 'samples') Object.assign(this.seqState(run), { samples: { iteration: m.iteration, rows: m.rows }, groups: m.groups ?? [] });
    else if (m.type === 'configured') Object.assign(this.seqState(run), { samples: null, groups: [] });
    if (m.type === 'configured' && this.active) this.renderRewardModelRow();  // another run may now be a reward model
    if (!selected || !this.active) return;
    if (m.type === 'samples') { this.renderSamples(); this.renderGroups(); }
    else if (m.type === 'configured') { this.clearResult(); this.showTask(); this.renderSamples(); this.renderGroups(); this.renderRewardModelRow(); }
  }

  status(run: Run): string {
    const st = run.store;
    const acc = st ? lastFinite(st.col('heldout_accuracy')) : NaN;
    // SFT reports its loss; RL algorithms the mean reward of their samples.
    if (st?.cols.includes('reward_mean')) {
      const reward = lastFinite(st.col('reward_mean'));
      return `held-out ${pct(acc, 1)} · reward ${Number.isFinite(reward) ? reward.toFixed(3) : '–'}`;
    }
    // SFT's cross-entropy, else the preference or reward-model loss (policy_loss); a reward model's
    // held-out figure is its agreement with the hidden gold reward.
    const sft = st ? lastFinite(st.col('train_loss')) : NaN;
    const loss = Number.isFinite(sft) || !st ? sft : lastFinite(st.col('policy_loss'));
    const gold = st && !Number.isFinite(acc) ? lastFinite(st.col('heldout_gold_accuracy')) : NaN;
    const heldout = Number.isFinite(gold) ? `held-out vs gold ${pct(gold, 1)}` : `held-out ${pct(acc, 1)}`;
    return `${heldout} · loss ${Number.isFinite(loss) ? loss.toFixed(3) : '–'}`;
  }

  groupNotes(run: Config): Record<string, string> {
    const t = this.host.meta ? taskOf(this.host.meta, run) : undefined;
    return t ? { task: t.summary } : {};
  }

  // ------------------------------------------------------------------ training groups
  private renderGroups() {
    const run = this.selRun, body = this.el.groupsBody;
    const groups = run ? this.seqState(run).groups : [];
    body.textContent = '';
    this.el.groupsSec.dataset.empty = groups.length ? '' : '1';
    const scale = Math.max(1e-6, ...groups.flatMap((g) => g.completions.map((c) => Math.abs(c.advantage ?? 0))));
    // Against a learned reward the table shows the hidden gold reward beside the proxy.
    const gold = groups.some((g) => g.completions.some((c) => c.gold !== undefined));
    const goldHead = this.el.groupsSec.querySelector<HTMLElement>('th[data-col=gold]');
    if (goldHead) goldHead.hidden = !gold;
    for (const g of groups) {
      body.appendChild(h('tr', { class: 'group-head' }, h('td', { class: 'mono', colspan: gold ? '4' : '3' }, g.prompt)));
      for (const c of g.completions) {
        const a = c.advantage ?? 0;
        const adv = h('td', { class: 'mono', title: String(c.advantage) }, a.toFixed(2));
        adv.style.background = a >= 0 ? `rgba(44, 160, 44, ${(0.6 * Math.min(1, a / scale)).toFixed(3)})` : `rgba(214, 39, 40, ${(0.6 * Math.min(1, -a / scale)).toFixed(3)})`;
        const cells = [h('td', { class: 'mono' }, c.text), h('td', { class: 'mono' }, (c.reward ?? NaN).toFixed(2))];
        if (gold) cells.push(h('td', { class: 'mono', 'data-col': 'gold' }, (c.gold ?? NaN).toFixed(2)));
        body.appendChild(h('tr', { class: c.correct ? 'ok' : 'bad' }, ...cells, adv));
      }
    }
  }

  // ------------------------------------------------------------------ samples table
  private renderSamples() {
    const run = this.selRun, tbody = this.el.tbody;
    const s = run ? this.seqState(run).samples : null;
    tbody.textContent = '';
    if (!s || !s.rows.length) {
      // A reward model scores completions and writes none: its evaluations are the charts.
      this.el.samplesCap.textContent = run?.applied?.algo === 'reward_model'
        ? 'a reward model writes no completions: its held-out agreement with the gold reward is charted'
        : 'no evaluation yet: press Play or Step';
      return;
    }
    const right = s.rows.filter((r) => r.correct).length;
    this.el.samplesCap.textContent = `after step ${s.iteration} · ${right} of ${s.rows.length} correct`;
    for (const r of s.rows) {
      const tr = h('tr', { class: r.correct ? 'ok' : 'bad' },
        h('td', { class: 'mono' }, r.prompt),
        h('td', { class: 'mono' }, tokenSpans([...r.completion], r.token_probs)),
        h('td', { class: 'mono muted' }, r.reference),
        h('td', { class: 'score', title: r.correct ? 'correct' : `wrong; partial credit ${pct(r.partial)}` },
          r.correct ? '✓' : `✗ ${pct(r.partial)}`));
      tbody.appendChild(tr);
    }
  }

  // The reward-model row: shown for a GRPO run, with a button per other run that trains a reward model.
  private renderRewardModelRow() {
    const run = this.selRun, row = this.el.rmRow, list = this.el.rmRuns;
    const grpo = (run?.applied ?? this.host.state.runs[this.host.state.view.sel])?.algo === 'grpo';
    row.hidden = !grpo;
    list.textContent = '';
    if (!grpo) return;
    this.host.runs.forEach((other, i) => {
      if (other === run || other.applied?.algo !== 'reward_model') return;
      const label = String.fromCharCode(65 + i);
      const b = h('button', { type: 'button', 'data-testid': `reward-model-run-${label}`, title: `Run ${label}'s reward model as it is now` }, `or run ${label}'s`);
      b.addEventListener('click', async () => {
        try {
          const { bytes } = await other.save();
          await this.useRewardModel(bytes, `run ${label}'s reward model`);
        } catch (e) {
          this.host.message(`Could not take run ${label}'s reward model: ${(e as Error).message}`, 'error', 'reward-model');
        }
      });
      list.appendChild(b);
    });
  }

  private async useRewardModel(bytes: Uint8Array, name: string) {
    const run = this.selRun;
    if (!run) return;
    try {
      await run.useRewardModel(bytes, name);
      this.host.message(`The run trains against ${name} (restarted; Reset or a changed setting drops it): press Play.`, 'info', 'reward-model');
    } catch (e) {
      this.host.message(`Could not train against ${name}: ${(e as Error).message}`, 'error', 'reward-model');
    }
  }

  private async evaluate() {
    const run = this.selRun;
    if (!run) return;
    const count = Number((this.el.evalCount as HTMLInputElement).value);
    const k = Number((this.el.evalK as HTMLInputElement).value);
    const out = this.el.evalOut;
    if (!Number.isInteger(count) || count < 1 || count > 4096) { out.textContent = 'problems: must be an integer in [1, 4096]'; out.classList.add('error'); return; }
    if (!Number.isInteger(k) || k < 0 || k > 64) { out.textContent = 'k: must be an integer in [0, 64]'; out.classList.add('error'); return; }
    out.classList.remove('error');
    out.textContent = 'evaluating…';
    (this.el.evalBtn as HTMLButtonElement).disabled = true;
    try {
      const r = await run.evaluateSequence(count, k);
      const repeats = r.distinct_problems < r.problems ? ` (drawn with replacement: ${r.distinct_problems} distinct)` : '';
      out.textContent = `step ${run.iteration}: accuracy ${pct(r.accuracy, 1)} on ${r.problems} held-out problems${repeats}` +
        (r.k > 0 ? ` · pass@${r.k} ${pct(r.pass_at_k, 1)}` : '') + ` · well formed ${pct(r.well_formed)} · mean length ${r.length_mean.toFixed(1)}`;
    } catch (e) {
      out.textContent = `evaluation failed: ${(e as Error).message}`;
      out.classList.add('error');
    } finally {
      (this.el.evalBtn as HTMLButtonElement).disabled = false;
    }
  }

  // ------------------------------------------------------------------ typed prompts
  private showTask() {
    const t = this.task(), input = this.el.input as HTMLInputElement;
    if (!t) { this.el.vocab.textContent = ''; return; }
    const ex = t.example.prompt;
    if (!input.value || input.value === this.example) input.value = ex;
    this.example = ex;
    input.placeholder = ex;  // no maxLength: a cut paste was reported with the cut length; the core names the real one
    const tokens = t.vocabulary.replace(/^_\./, '');
    this.el.vocab.textContent = `${t.id} · tokens ${tokens} · e.g. ${ex} → ${t.example.reference}`;
  }

  private clearResult() {
    this.result = null;
    this.el.outs.textContent = '';
    this.el.topk.textContent = '';
    this.showError('');
  }
  private showError(text: string) {
    const err = this.el.err;
    err.textContent = text;
    err.hidden = !text;
    (this.el.input as HTMLInputElement).toggleAttribute('aria-invalid', !!text);
  }

  private async complete() {
    const run = this.selRun;
    if (!run || this.busy) return;
    const greedy = (this.el.greedy as HTMLInputElement).checked;
    const temperature = Number((this.el.temp as HTMLInputElement).value);
    const n = Number((this.el.count as HTMLInputElement).value);
    if (!Number.isInteger(n) || n < 1 || n > 8) { this.showError('samples: must be an integer in [1, 8]'); return; }
    if (!greedy && !(temperature > 0 && temperature <= 10)) { this.showError('temperature: must be a number in (0, 10]'); return; }
    const req: CompleteRequest = { prompt: (this.el.input as HTMLInputElement).value, n, temperature: greedy ? 1 : temperature, topK: 0, topP: 1, greedy, seed: this.seed++ };
    this.busy = true;
    (this.el.go as HTMLButtonElement).disabled = true;
    try {
      const r = await run.complete(req);
      this.showError('');
      this.result = r;
      this.shownCompletion = 0;
      this.renderResult();
    } catch (e) {
      this.result = null;
      this.el.outs.textContent = '';
      this.el.topk.textContent = '';
      this.showError(`${(e as Error).message}`);
    } finally {
      this.busy = false;
      (this.el.go as HTMLButtonElement).disabled = false;
    }
  }

  private renderResult() {
    const r = this.result, outs = this.el.outs;
    outs.textContent = '';
    if (!r) return;
    r.completions.forEach((c, i) => {
      const verdict = c.correct ? '✓ correct' : c.well_formed ? `✗ wrong · partial ${pct(c.partial)}` : `✗ malformed · partial ${pct(c.partial)}`;
      const row = h('button', { type: 'button', class: `completion ${c.correct ? 'ok' : 'bad'}${i === this.shownCompletion ? ' shown' : ''}`, 'data-testid': 'completion',
        title: r.completions.length > 1 ? 'Show this completion’s next-token probabilities' : '', 'aria-pressed': String(i === this.shownCompletion) },
        h('span', { class: 'mono muted' }, r.prompt),
        h('span', { class: 'mono' }, tokenSpans(c.steps.map((s) => s.token), c.steps.map((s) => s.p))),
        h('span', { class: 'verdict' }, verdict + (c.finished ? '' : ' · no EOS')),
        h('span', { class: 'reward' }, `reward ${c.reward}`));
      row.addEventListener('click', () => { this.shownCompletion = i; this.renderResult(); });
      outs.appendChild(row);
    });
    outs.appendChild(h('div', { class: 'caption' }, `expected ${r.reference}`));
    this.renderTopK(r.completions[this.shownCompletion]);
  }

  // Next-token probabilities at each generated position: the chosen token and the top 5.
  private renderTopK(c: Completion | undefined) {
    const box = this.el.topk;
    box.textContent = '';
    if (!c) return;
    const width = Math.max(0, ...c.steps.map((s) => s.top.length));
    const head = h('tr', {}, h('th', { scope: 'col' }, 'pos'), h('th', { scope: 'col' }, 'chose'));
    for (let j = 0; j < width; j++) head.appendChild(h('th', { scope: 'col' }, `top ${j + 1}`));
    const body = h('tbody');
    c.steps.forEach((s, k) => {
      const tr = h('tr', {}, h('th', { scope: 'row' }, String(k + 1)), h('td', { class: 'mono chosen-tok', title: `p = ${prob(s.p)}` }, `${shown(s.token)} `, h('small', {}, prob(s.p))));
      for (const alt of s.top) {
        const p = alt.p ?? 0;
        const bar = h('span', { class: 'bar' });
        bar.style.width = `${Math.max(1, Math.round(100 * p))}%`;
        tr.appendChild(h('td', { class: 'alt' + (alt.token === s.token ? ' chosen' : ''), title: `'${alt.token}'  p = ${prob(alt.p)}` },
          bar, h('span', { class: 'mono t' }, shown(alt.token)), h('span', { class: 'pv' }, prob(alt.p))));
      }
      body.appendChild(tr);
    });
    box.append(h('div', { class: 'caption' }, 'Next-token probabilities at each position (top 5; the chosen token outlined)'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'topk-table' }, h('thead', {}, head), body)));
  }
}
