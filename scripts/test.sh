#!/usr/bin/env bash
# `npm test`: installs what is missing, builds, and runs every suite:
#   1. native (Catch2 via CTest: gradient checks, envs, config, checkpoints, learning, CLI)
#   2. wasm   (the core under node: parity with native, errors, checkpoints both ways)
#   3. browser (the playground in Debian's Chromium via playwright-core)
# Each suite prints its own summary; the script fails if any suite fails.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh

echo "== native suite"
bash scripts/build-native.sh
(cd build && ctest --output-on-failure -j"${JOBS:-2}")

if [ -f scripts/test-wasm.sh ]; then
  echo "== wasm suite"
  SKIP_NATIVE=1 bash scripts/test-wasm.sh
fi
if [ -f scripts/test-browser.sh ]; then
  echo "== browser suite"
  bash scripts/test-browser.sh
fi
echo "== all suites passed"
