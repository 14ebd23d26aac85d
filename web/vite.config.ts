// Two builds (scripts/build-web.sh runs both):
//   default:        the playground (index.html) and the embed page (embed.html) -> web/dist/
//   --mode element: the <policy-lab> custom element as one self-contained script -> web/dist/policy-lab.js
import { defineConfig } from 'vite';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const wasmDir = process.env.PL_WASM_DIR ?? resolve(root, '../build-wasm/web');

export default defineConfig(({ mode }) => ({
  root,
  base: './',
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
