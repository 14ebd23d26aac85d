// Shared helpers for the wasm tests: the node build of the core and the native CLI.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WASM_NODE = process.env.PL_WASM_NODE ?? join(ROOT, 'build-wasm', 'node', 'policylab.cjs');
export const NATIVE_CLI = process.env.PL_NATIVE_CLI ?? join(ROOT, 'build', 'policylab');

let modPromise = null;
// The Embind module (one instance shared by the tests of a file).
export function loadCore() {
  if (!modPromise) {
    if (!existsSync(WASM_NODE)) throw new Error(`${WASM_NODE} missing: run bash scripts/build-wasm.sh`);
    const create = createRequire(import.meta.url)(WASM_NODE);
    modPromise = create();
  }
  return modPromise;
}

export const hasNative = () => existsSync(NATIVE_CLI);

export function tempDir(tag) { return mkdtempSync(join(tmpdir(), `policylab-${tag}-`)); }

export function native(args, opts = {}) {
  return execFileSync(NATIVE_CLI, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

// Calls fn and returns the JS error it throws (fails when it does not throw).
export function thrown(fn) {
  try { fn(); } catch (e) { return e; }
  throw new Error('expected an exception');
}
