// The objective being optimized, as a KaTeX formula that follows the algorithm and its coefficients.
import katex from 'katex';
import type { Config } from './protocol';

function num(v: unknown): string {
  const x = Number(v);
  if (!Number.isFinite(x)) return '?';
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e4)) {
    const [m, e] = x.toExponential(2).split('e');
    return `${m.replace(/\.?0+$/, '')}\\times 10^{${Number(e)}}`;
  }
  return String(Number(x.toPrecision(4)));
}

export function objectiveTex(c: Config): { main: string; notes: string[] } {
  const algo = String(c.algo);
  if (algo === 'sft') {
    // Completion-only cross-entropy over the batch's completion tokens (TRL SFTTrainer).
    const notes = [`(x, y) \\sim \\text{${String(c.task ?? 'task')}},\\ B = ${num(c.batch_size ?? 256)}`, `N_y = \\textstyle\\sum_b |y^{(b)}|`];
    if (c.learning_rate !== undefined) notes.push(`\\text{step size } \\alpha = ${num(c.learning_rate)}${c.max_grad_norm !== undefined ? `,\\ \\|g\\| \\le ${num(c.max_grad_norm)}` : ''}`);
    return { main: `\\min_\\theta\\; -\\frac{1}{N_y} \\sum_{b=1}^{B} \\sum_{t=1}^{|y^{(b)}|} \\log \\pi_\\theta\\big(y^{(b)}_t \\mid x^{(b)},\\, y^{(b)}_{<t}\\big)`, notes };
  }
  if (algo === 'grpo') {
    // Group-relative clipped surrogate (Shao et al. 2024) with an optional k3 KL to the reference.
    const lo = num(c.epsilon ?? 0.2), hi = Number(c.epsilon_high ?? 0) > 0 ? num(c.epsilon_high) : lo;
    const beta = Number(c.beta ?? 0) > 0 ? ` - ${num(c.beta)}\\, \\mathbb{D}_{\\mathrm{KL}}\\big[\\pi_\\theta \\,\\|\\, \\pi_{\\text{ref}}\\big]` : '';
    const main = `\\max_\\theta\\; \\mathbb{E}_{x,\\, \\{y_i\\}_{i=1}^{G}}\\Big[\\frac{1}{G}\\sum_{i=1}^{G} \\frac{1}{|y_i|}\\sum_{t} \\min\\big(r_{i,t}\\hat A_i,\\; \\operatorname{clip}(r_{i,t},\\, 1-${lo},\\, 1+${hi})\\,\\hat A_i\\big)${beta}\\Big]`;
    const adv = c.advantage_estimator === 'rloo' ? `\\hat A_i = R_i - \\tfrac{1}{G-1}\\textstyle\\sum_{j\\ne i} R_j`
      : c.scale_rewards === 'none' ? `\\hat A_i = R_i - \\operatorname{mean}(R)` : `\\hat A_i = \\frac{R_i - \\operatorname{mean}(R)}{\\operatorname{std}(R)}`;
    const notes = [adv, `G = ${num(c.num_generations ?? 8)}`, `r_{i,t} = \\frac{\\pi_\\theta(y_{i,t}\\mid x, y_{i,<t})}{\\pi_{\\theta_{\\text{old}}}(y_{i,t}\\mid x, y_{i,<t})}`];
    if (c.learning_rate !== undefined) notes.push(`\\text{step size } \\alpha = ${num(c.learning_rate)}`);
    return { main, notes };
  }
  const ent = c.ent_coef !== undefined ? num(c.ent_coef) : null;
  const vf = c.vf_coef !== undefined ? num(c.vf_coef) : null;
  const adv = c.norm_adv === true ? '\\hat A^{\\text{norm}}_t' : '\\hat A_t';
  const notes: string[] = [];
  const entTerm = ent && Number(c.ent_coef) !== 0 ? ` + ${ent}\\, \\mathcal{H}[\\pi_\\theta(\\cdot\\mid s_t)]` : '';
  let main: string;
  if (algo === 'ppo') {
    const eps = num(c.clip_coef ?? 0.2);
    const vfl = c.clip_vloss === true ? 'L^{V,\\text{clip}}_t' : '\\big(V_\\theta(s_t) - R_t\\big)^2';
    main = `\\max_\\theta\\; \\mathbb{E}_t\\Big[\\min\\big(r_t(\\theta)\\,${adv},\\; \\operatorname{clip}(r_t(\\theta),\\, 1-${eps},\\, 1+${eps})\\,${adv}\\big)` +
      (vf ? ` - ${vf}\\, ${vfl}` : '') + `${entTerm}\\Big]`;
    notes.push(`r_t(\\theta) = \\frac{\\pi_\\theta(a_t\\mid s_t)}{\\pi_{\\theta_{\\text{old}}}(a_t\\mid s_t)}`);
    if (c.gae_lambda !== undefined) notes.push(`\\hat A_t = \\operatorname{GAE}(\\gamma = ${num(c.gamma)},\\ \\lambda = ${num(c.gae_lambda)})`);
    if (c.target_kl !== undefined && c.target_kl !== null && Number(c.target_kl) > 0) notes.push(`\\text{stop epochs when } \\widehat{\\mathrm{KL}} > ${num(c.target_kl)}`);
  } else if (algo === 'a2c') {
    main = `\\max_\\theta\\; \\mathbb{E}_t\\Big[\\log \\pi_\\theta(a_t\\mid s_t)\\,${adv}` + (vf ? ` - ${vf}\\,\\big(V_\\theta(s_t) - R_t\\big)^2` : '') + `${entTerm}\\Big]`;
    notes.push(`\\hat A_t = ${c.gae_lambda !== undefined ? `\\operatorname{GAE}(\\gamma = ${num(c.gamma)},\\ \\lambda = ${num(c.gae_lambda)})` : `R_t - V(s_t),\\ \\gamma = ${num(c.gamma)}`}`);
  } else {
    const base = vf ? 'b(s_t)' : '0';
    main = `\\max_\\theta\\; \\mathbb{E}\\Big[\\sum_t \\log \\pi_\\theta(a_t\\mid s_t)\\,\\big(G_t - ${base}\\big)` + `${entTerm}\\Big]`;
    notes.push(`G_t = \\sum_{k\\ge t} ${num(c.gamma)}^{\\,k-t} r_k`);
  }
  if (c.learning_rate !== undefined) notes.push(`\\text{step size } \\alpha = ${num(c.learning_rate)}${c.max_grad_norm !== undefined ? `,\\ \\|g\\| \\le ${num(c.max_grad_norm)}` : ''}`);
  return { main, notes };
}

export function renderObjective(el: HTMLElement, c: Config) {
  const { main, notes } = objectiveTex(c);
  el.textContent = '';
  const m = document.createElement('div');
  m.className = 'formula-main';
  katex.render(main, m, { displayMode: true, throwOnError: false });
  el.appendChild(m);
  const n = document.createElement('div');
  n.className = 'formula-notes';
  katex.render(notes.join(',\\quad '), n, { displayMode: false, throwOnError: false });
  el.appendChild(n);
  el.dataset.tex = main;
}
