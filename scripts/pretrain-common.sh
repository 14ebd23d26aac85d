# Sourced by the pretrain-*.sh scripts: where the CLI and the shipped checkpoints are, a scratch run
# directory, and `pretrain FILE CONFIG [train options...]`, which trains examples/CONFIG and copies
# its checkpoint to examples/pretrained/FILE (the playground serves that folder as pretrained/).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${1:-$ROOT/build/policylab}"
OUT="$ROOT/examples/pretrained"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
cd "$ROOT"  # examples' init_from paths are relative to the repository root
pretrain() {
  local file="$1" config="$2"
  shift 2
  echo "pretrain: $file from examples/$config $*"
  "$BIN" train "$ROOT/examples/$config" "$@" --out "$WORK/run" | tail -1
  cp "$WORK/run/checkpoint" "$OUT/$file"
  rm -rf "$WORK/run"
}
