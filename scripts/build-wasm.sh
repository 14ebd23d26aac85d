#!/usr/bin/env bash
# Builds the core + Embind bindings to WebAssembly with Debian's em++ (emscripten 3.1.6).
#   build-wasm/web/policylab.mjs   ES6 module (wasm embedded) for the browser worker and the embed
#   build-wasm/node/policylab.cjs  CommonJS module (wasm embedded) for node (tests/wasm)
# Incremental (make with -MMD dependencies); safe to run again. JOBS=N sets parallel compiles.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$ROOT/build-wasm}"
# Debian's emscripten finds its node modules (acorn, ...) through NODE_PATH.
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"

if ! command -v em++ >/dev/null 2>&1; then
  echo "build-wasm: em++ not found (apt-get install emscripten; scripts/setup.sh does it)" >&2
  exit 1
fi
if ! find "$ROOT/core" -name '*.cpp' | grep -q .; then
  echo "build-wasm: no core/**/*.cpp sources yet" >&2
  exit 1
fi

# Only these host headers are visible to em++ (never -I/usr/include: emscripten's sysroot must not
# see the host's libc headers).
mkdir -p "$OUT/include"
for lib in xtensor xtl nlohmann; do
  if [ ! -d "/usr/include/$lib" ]; then
    echo "build-wasm: /usr/include/$lib missing (apt-get install libxtensor-dev nlohmann-json3-dev)" >&2
    exit 1
  fi
  ln -sfn "/usr/include/$lib" "$OUT/include/$lib"
done

JOBS="${JOBS:-2}"
make --no-print-directory -f "$ROOT/wasm/wasm.mk" -j"$JOBS" ROOT="$ROOT" OUT="$OUT"
ls -l "$OUT/web/policylab.mjs" "$OUT/node/policylab.cjs" | awk '{print "build-wasm: " $5 " bytes  " $9}'
