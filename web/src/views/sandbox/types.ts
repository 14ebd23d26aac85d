// What the instance sandbox (views/instance.ts) asks of a problem's view. The sandbox owns what every
// problem has — choosing the problem and size, generating or pasting an instance, running the
// core's reference solvers in the lab worker, the table of solvers (objective, gap), the step slider
// and Play — and hands the drawing to the problem's own module (points.ts for TSP, CVRP and
// knapsack; jobshop.ts; binpack1d.ts; binpack3d.ts), listed once in registry.ts. The sandbox never
// branches on the problem.
//
// An instance travels as the core's dataset line (the layouts of `policylab solve`, README
// "Combinatorial problems"); each module parses it into what it draws.

// One size the problem's generator makes (comboGenerate's n and machines).
export interface SandboxSize { label: string; n: number; machines?: number }

// A solved instance: a reference solver's or the learned policy's.
export interface SolvedRow { label: string; objective: number; solution: number[]; ms: number; exact: boolean }

// What a drawing may know besides its instance and solution.
export interface DrawContext {
  rows: SolvedRow[];   // every solution in the table (a shared scale: the longest makespan, the most bins)
  dragging: boolean;   // a point is being dragged (points.ts)
}

// Lets a view edit its instance by hand (points.ts: drag a city).
export interface EditHost<I> {
  instance(): I | null;
  redraw(): void;
  // The instance changed: solutions are solved again.
  edited(): void;
  setDragging(on: boolean): void;
}

export interface ProblemView<I> {
  readonly id: string;          // the core's problem name (comboGenerate / comboSolve)
  readonly label: string;
  readonly sizes: SandboxSize[];
  readonly defaultSize: number; // index into sizes
  readonly onlyListedSizes?: boolean;  // the generator makes no other size (a run's other size maps to the default)
  readonly hint: string;        // a line above the drawing: what it shows and how to use it
  readonly paste?: string;      // the paste box's placeholder; absent: no paste box
  readonly stepName: string;    // what one step of a solution is ("operation", "item", "edge")
  readonly element: Element;    // the drawing (made once; shown while the problem is chosen)
  // The dataset line (one instance) → the instance, and back.
  parse(line: string): I;
  text(inst: I): string;
  // The size of an instance (each exact solver is offered up to its size: exactApplies).
  size(inst: I): SandboxSize;
  exactApplies(inst: I, solver: string): boolean;
  // How many construction steps the solution has (the slider's range), and the caption of step k.
  steps(inst: I, row: SolvedRow): number;
  stepCaption(inst: I, row: SolvedRow, k: number): string;
  // Draws the instance with the first `upto` steps of the solution (row undefined: no solution yet).
  draw(inst: I, row: SolvedRow | undefined, upto: number, ctx: DrawContext): void;
  format(objective: number): string;
  // A line under the table (e.g. a lower bound), or ''.
  note(inst: I, rows: SolvedRow[]): string;
  // Hand edits (optional): called once with the sandbox's hooks.
  bindEdit?(host: EditHost<I>): void;
}

// Categorical colours (Tableau 10), then golden-angle hues for more.
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
export function colorOf(k: number): string {
  return k < PALETTE.length ? PALETTE[k] : `hsl(${Math.round((k * 137.508) % 360)}, 55%, 55%)`;
}

export const SVG_NS = 'http://www.w3.org/2000/svg';
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// The numbers of a dataset line.
export function numbers(line: string): number[] {
  return line.trim().split(/\s+/).filter((s) => s.length).map(Number);
}
