#!/usr/bin/env bash
# Builds the browser playground into web/dist/:
#   index.html   the playground          embed.html   the iframe-able embed page (classroom mode)
#   policy-lab.js  the <policy-lab> custom element, one self-contained script (worker + wasm inlined)
#   examples/embed.html  the embed demo (from examples/)
#   pretrained/*.plck  the pretrained combinatorial policies (from examples/pretrained/)
# Needs npm ci (node_modules) and builds the wasm first (scripts/build-wasm.sh, incremental).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ ! -x node_modules/.bin/vite ]; then
  echo "build-web: node_modules missing; running npm ci" >&2
  npm ci --no-audit --no-fund
fi
if [ "${SKIP_WASM:-0}" != 1 ]; then bash scripts/build-wasm.sh; fi
echo "build-web: type-checking"
node_modules/.bin/tsc -p web/tsconfig.json
echo "build-web: vite build (playground + embed page)"
node_modules/.bin/vite build web --logLevel warn
echo "build-web: vite build (policy-lab element)"
node_modules/.bin/vite build web --mode element --logLevel warn
mkdir -p web/dist/examples web/dist/pretrained
for f in examples/*.html; do
  [ -e "$f" ] && cp "$f" web/dist/examples/
done
# The pretrained combinatorial policies the combo view's "Pretrained policies" panel loads.
for f in examples/pretrained/*.plck; do
  [ -e "$f" ] && cp "$f" web/dist/pretrained/
done
du -sh web/dist | awk '{print "build-web: web/dist " $1}'
