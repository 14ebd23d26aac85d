#!/usr/bin/env bash
# The transformer benchmark (bench/bench_transformer.cpp) compiled to WebAssembly and run under
# node, next to the native build: the same program, the same sizes, so the two tables compare.
#   scripts/bench-wasm-transformer.sh [repeats=5] [steps_per_repeat=10]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/build-wasm/bench"
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"
mkdir -p "$OUT/include"
for lib in xtensor xtl nlohmann; do ln -sfn "/usr/include/$lib" "$OUT/include/$lib"; done
SRCS=(bench/bench_transformer.cpp core/autodiff/tape.cpp core/nn/transformer.cpp core/nn/sampler.cpp)
JS="$OUT/bench_transformer.cjs"
newer=0
for s in "${SRCS[@]}" core/autodiff/kernels.hpp core/autodiff/tape.hpp core/nn/small_gemm.hpp; do
  [ "$ROOT/$s" -nt "$JS" ] && newer=1
done
if [ ! -f "$JS" ] || [ "$newer" = 1 ]; then
  echo "bench-wasm-transformer: em++ (-O3 -msimd128)" >&2
  (cd "$ROOT" && em++ -std=c++17 -O3 -msimd128 -DNDEBUG -DEIGEN_NO_DEBUG -I. -I/usr/include/eigen3 -I"$OUT/include" \
      "${SRCS[@]}" -sALLOW_MEMORY_GROWTH=1 -sSINGLE_FILE=1 -sENVIRONMENT=node -o "$JS")
fi
echo "== WebAssembly (node $(node --version))"
node "$JS" "${1:-5}" "${2:-10}"
if [ -x "$ROOT/build/bench_transformer" ]; then
  echo "== native"
  "$ROOT/build/bench_transformer" "${1:-5}" "${2:-10}"
fi
