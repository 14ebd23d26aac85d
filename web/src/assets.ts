// Files shipped beside the playground in web/dist (pretrained/*.plck), located from this script's own
// URL rather than the page's: a course page elsewhere on the site (/course/pomo.html loading
// ../policy-lab.js) has a document base that is not web/dist.
//   element build (--mode element): this code is in web/dist/policy-lab.js, so dist is './'
//   page build: this code is in a chunk under web/dist/assets/, so dist is '../'
// (A variable, not a literal, is passed to new URL: Vite would take a literal for an asset to bundle.)
const DIST_FROM_SCRIPT = import.meta.env.MODE === 'element' ? './' : '../';

export function distUrl(path: string): string {
  return new URL(path, new URL(DIST_FROM_SCRIPT, import.meta.url)).href;
}
