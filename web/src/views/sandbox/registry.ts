// The problems of the instance sandbox, in the order of its menu: each brings its own view module.
// A new problem is one module implementing ProblemView (types.ts) and one line here.
import { binPack1DView } from './binpack1d';
import { binPack3DView } from './binpack3d';
import { jobShopView } from './jobshop';
import { pointViews } from './points';
import type { ProblemView } from './types';

// Views hold their drawing element, so each sandbox makes its own set.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyProblemView = ProblemView<any>;
export function makeProblemViews(): AnyProblemView[] {
  return [...pointViews(), jobShopView(), binPack1DView(), binPack3DView()];
}
