#!/usr/bin/env bash
# `npm start`: installs what is missing, builds the native CLI, the WebAssembly core and the web
# playground, then serves the playground on localhost (Ctrl-C stops it).
#   PORT=8080 npm start      serve on another port
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh
echo "== native build (build/policylab)"
bash scripts/build-native.sh
echo "== web build (WebAssembly core + playground)"
bash scripts/build-web.sh
echo "== serving the playground"
exec node scripts/serve.mjs --dir web/dist --port "${PORT:-5173}"
