#!/usr/bin/env bash
# Installs what PolicyLab needs and is missing, and nothing else:
#   native: a C++17 compiler, CMake, Eigen 3.4, xtensor, Catch2 v2, nlohmann-json, CLI11
#   web:    emscripten (em++ 3.1.6), Chromium (browser tests), Node.js + npm, and `npm ci`
# As root it runs apt-get; otherwise it prints the exact command to run and stops.
#
# Usage: scripts/setup.sh [--native-only]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

native_pkgs=(g++ cmake make libeigen3-dev xtensor-dev catch2 nlohmann-json3-dev libcli11-dev)
web_pkgs=(emscripten chromium nodejs npm)
pkgs=("${native_pkgs[@]}")
[ "${1:-}" = "--native-only" ] || pkgs+=("${web_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  # nodejs/npm may come from elsewhere than Debian (e.g. a preinstalled Node 20): accept the command.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages. Run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if [ "${1:-}" != "--native-only" ]; then
  cd "$ROOT"
  # npm ci when node_modules is missing or older than the lock file.
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
echo "setup: ok"
