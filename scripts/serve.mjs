// Minimal static file server for web/dist (no dependencies). Loopback only.
//   node scripts/serve.mjs [--port 5173] [--dir web/dist]
// Also importable: startServer({ dir, port }) -> { url, close() } (tests and bench use it).
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png',
  '.svg': 'image/svg+xml', '.woff2': 'font/woff2', '.woff': 'font/woff', '.ttf': 'font/ttf', '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

export function startServer({ dir, port = 0, host = '127.0.0.1', quiet = true } = {}) {
  const root = resolve(dir);
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      let path = normalize(join(root, decodeURIComponent(url.pathname)));
      if (path !== root && !path.startsWith(root + sep)) { res.writeHead(403).end('forbidden'); return; }
      let st = await stat(path).catch(() => null);
      if (st?.isDirectory()) { path = join(path, 'index.html'); st = await stat(path).catch(() => null); }
      if (!st) { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'); return; }
      const body = await readFile(path);
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
      res.end(body);
      if (!quiet) console.log(`${req.method} ${url.pathname} 200`);
    } catch (e) {
      res.writeHead(500).end(String(e));
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const a = server.address();
      ok({ url: `http://${host}:${a.port}/`, port: a.port, close: () => new Promise((r) => server.close(r)), server });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
  const here = fileURLToPath(new URL('..', import.meta.url));
  const dir = arg('--dir', join(here, 'web', 'dist'));
  const port = Number(arg('--port', process.env.PORT ?? 5173));
  const s = await startServer({ dir, port });
  console.log(`PolicyLab playground: ${s.url}`);
  console.log(`  embed page:   ${s.url}embed.html`);
  console.log(`  embed demo:   ${s.url}examples/embed.html`);
}
