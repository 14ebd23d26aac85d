// Shared helpers for the browser tests and the browser benchmark: Debian's Chromium through
// playwright-core (never a downloaded browser) and a loopback static server for web/dist.
import { chromium } from 'playwright-core';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../scripts/serve.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = join(ROOT, 'web', 'dist');
export const ARTIFACTS = join(ROOT, 'test-artifacts');

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic'];

export async function launch() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found (apt-get install chromium)`);
  if (!existsSync(join(DIST, 'index.html'))) throw new Error('web/dist is not built (bash scripts/build-web.sh)');
  mkdirSync(ARTIFACTS, { recursive: true });
  const server = await startServer({ dir: DIST });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  return { server, browser, url: server.url };
}

// Opens a page, collecting console errors and page errors.
export async function openPage(browser, url, viewport = { width: 1600, height: 1000 }) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url);
  return { page, errors };
}

// Adds a <policy-lab id=ID> with these attributes ([name, value] pairs, in order) to the page's body,
// as a course page would write it.
export function addLab(page, id, attributes) {
  return page.evaluate(([labId, attrs]) => {
    const el = document.createElement('policy-lab');
    el.id = labId;
    for (const [k, v] of attrs) el.setAttribute(k, v);
    document.body.appendChild(el);
  }, [id, attributes]);
}

export function shot(page, name) {
  return page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}
