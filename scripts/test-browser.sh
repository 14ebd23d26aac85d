#!/usr/bin/env bash
# The browser suite: builds wasm + web (incremental wasm; Vite build) and runs tests/browser/*.test.mjs
# in Debian's Chromium through playwright-core. Screenshots: test-artifacts/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM_PATH:-}" ]; then
  echo "test-browser: /usr/bin/chromium missing (apt-get install chromium; scripts/setup.sh does it)" >&2
  exit 1
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then bash scripts/build-web.sh; fi
mkdir -p test-artifacts
node --test --test-concurrency=1 tests/browser/
