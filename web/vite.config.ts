// Two builds (scripts/build-web.sh runs both):
//   default:        the playground (index.html) and the embed page (embed.html) -> web/dist/
//   --mode element: the <policy-lab> custom element as one self-contained script -> web/dist/policy-lab.js
import { defineConfig, type Plugin } from 'vite';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));

// The element build inlines every asset (library mode), so KaTeX's stylesheet would carry each of
// its 20 fonts three times (woff2, woff, ttf: ~1.3 MB). Every browser that runs the element reads
// woff2, so there its @font-face rules keep only the woff2 source (~260 kB inlined).
function katexWoff2Only(): Plugin {
  return {
    name: 'policylab-katex-woff2-only',
    enforce: 'pre',
    transform(code, id) {
      if (!/katex\/dist\/katex(\.min)?\.css(\?|$)/.test(id)) return null;
      return code.replace(/src:([^;}]*)/g, (all, list: string) => {
        const woff2 = list.split(',').find((s) => s.includes('.woff2'));
        return woff2 ? `src:${woff2.trim()}` : all;
      });
    },
  };
}
const wasmDir = process.env.PL_WASM_DIR ?? resolve(root, '../build-wasm/web');

export default defineConfig(({ mode }) => ({
  root,
  base: './',
  plugins: mode === 'element' ? [katexWoff2Only()] : [],
  resolve: { alias: { '@wasm': wasmDir } },
  worker: { format: 'es' },
  server: { fs: { allow: [root, wasmDir, resolve(root, '../node_modules')] } },
  build: mode === 'element'
    ? {
        outDir: resolve(root, 'dist'),
        emptyOutDir: false,
        target: 'es2020',
        lib: { entry: resolve(root, 'src/element.ts'), formats: ['es'], fileName: () => 'policy-lab.js' },
        // One self-contained script: the views and uPlot the playground loads as chunks of their own
        // (dynamic import()) are inlined here too.
        rollupOptions: { output: { codeSplitting: false } },
        assetsInlineLimit: 100_000_000,
      }
    : {
        outDir: resolve(root, 'dist'),
        emptyOutDir: true,
        target: 'es2020',
        rollupOptions: { input: { main: resolve(root, 'index.html'), embed: resolve(root, 'embed.html') } },
      },
}));
