#!/usr/bin/env bash
# The WASM suite (also CI's "wasm smoke target": keeps the core building for the browser).
# Builds the wasm (incremental) and the native CLI the parity tests compare against, then runs
# tests/wasm/*.test.mjs with node's test runner.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/build-wasm.sh
NATIVE_BUILD="${NATIVE_BUILD:-$ROOT/build}"
export PL_NATIVE_CLI="${PL_NATIVE_CLI:-$NATIVE_BUILD/policylab}"
if [ "${SKIP_NATIVE:-0}" != 1 ]; then
  if [ ! -f "$NATIVE_BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$NATIVE_BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  echo "test-wasm: building the native CLI for the parity tests"
  cmake --build "$NATIVE_BUILD" --target policylab -j"${JOBS:-2}" >/dev/null
fi
node --test tests/wasm/
