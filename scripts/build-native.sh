#!/usr/bin/env bash
# Configures (Release, -march=x86-64-v3 unless POLICYLAB_ARCH says otherwise) and builds the native tree in build/: the policylab CLI, the
# Catch2 suite and the benchmarks. Incremental. JOBS=N sets parallel compiles (default 2).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${POLICYLAB_ARCH+-DPOLICYLAB_ARCH=$POLICYLAB_ARCH} >/dev/null
cmake --build build -j"${JOBS:-2}" "$@"
