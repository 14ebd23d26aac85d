#!/usr/bin/env bash
# Trains the pretrained combinatorial policies shipped in examples/pretrained/ (issue #9: "a small
# pretrained checkpoint per problem in examples/ so a visitor sees a competent solver at once and can
# fine-tune it"): the POMO examples' configs (TSP20's whole 100000-step run, the others with shorter
# budgets), seed 1. The playground loads them from pretrained/ beside the page (scripts/build-web.sh
# copies them); `policylab eval` and `policylab train --set init_from=...` read them natively.
# Takes about 2 hours on 2 cores (TSP50's 50000 steps about 70 minutes of it).
#   bash scripts/pretrain-combo.sh [path/to/policylab]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/pretrain-common.sh"
train() { local name="$1"; shift; pretrain "pomo_$name.plck" "$@"; }
train tsp20 pomo_tsp20.json --threads 2
train tsp50 pomo_tsp50.json --threads 2  # fine-tunes the TSP20 policy just written (init_from)
train knapsack50 pomo_knapsack50.json --set max_steps=150
train cvrp20 pomo_cvrp20.json --set max_steps=1000 --set eval_interval=250
train jobshop6x6 pomo_jobshop6x6.json
train binpack1d pomo_binpack1d.json
train binpack3d pomo_binpack3d.json
ls -l "$OUT"
