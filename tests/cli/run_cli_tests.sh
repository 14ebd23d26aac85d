#!/usr/bin/env bash
# End-to-end tests of the policylab command line: exit codes and one-line messages for bad input,
# and a tiny train -> eval round trip, env-trace output, envs and algos listings.
#
#   tests/cli/run_cli_tests.sh PATH/TO/policylab
#
# Prints one line per failed check and "N passed, M failed" at the end; exits 1 if any failed.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 PATH/TO/policylab" >&2
  exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 2

passed=0
failed=0
OUT="$WORK/stdout"
ERR="$WORK/stderr"

pass() { passed=$((passed + 1)); }
fail() {
  failed=$((failed + 1))
  echo "FAIL: $1"
  shift
  for detail in "$@"; do echo "      $detail"; done
}

# expect_error NAME CODE PATTERN ARGS...
# The command must exit with CODE and print exactly one line on stderr, "policylab: error: ...",
# matching the extended regex PATTERN.
expect_error() {
  local name=$1 code=$2 pattern=$3
  shift 3
  "$BIN" "$@" >"$OUT" 2>"$ERR"
  local rc=$?
  local lines
  lines=$(wc -l <"$ERR")
  if [ "$rc" -ne "$code" ]; then
    fail "$name: exit code $rc, expected $code" "stderr: $(head -c 300 "$ERR")"
  elif [ "$lines" -ne 1 ]; then
    fail "$name: stderr has $lines lines, expected 1" "stderr: $(head -c 300 "$ERR")"
  elif ! grep -q '^policylab: error: ' "$ERR"; then
    fail "$name: stderr does not start with 'policylab: error: '" "stderr: $(cat "$ERR")"
  elif ! grep -Eq -- "$pattern" "$ERR"; then
    fail "$name: stderr does not match /$pattern/" "stderr: $(cat "$ERR")"
  else
    pass
  fi
}

# expect_ok NAME PATTERN ARGS...: exit code 0 and stdout matching PATTERN.
expect_ok() {
  local name=$1 pattern=$2
  shift 2
  "$BIN" "$@" >"$OUT" 2>"$ERR"
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "$name: exit code $rc, expected 0" "stderr: $(tail -c 300 "$ERR")"
  elif ! grep -Eq -- "$pattern" "$OUT"; then
    fail "$name: stdout does not match /$pattern/" "stdout: $(head -c 300 "$OUT")"
  else
    pass
  fi
}

# check NAME CONDITION...: a plain assertion (the condition is a command).
check() {
  local name=$1
  shift
  if "$@"; then pass; else fail "$name"; fi
}

# --- Usage errors -------------------------------------------------------------------------------
expect_error "no command" 2 "subcommand" 
expect_error "unknown command" 2 "unknown command 'frobnicate'" frobnicate
expect_error "unknown option" 2 "--bogus" envs --bogus
expect_error "train without config" 2 "config is required" train

# --- Config files ---------------------------------------------------------------------------------
printf '{"env_id": "CartPole-v1", "num_envs": 2, "num_steps": 32, "total_timesteps": 256}\n' >good.json
printf '{\n  "env_id": "CartPole-v1",\n  "num_envs": tru\n}\n' >malformed.json
printf '[1, 2]\n' >array.json
printf '{"lerning_rate": 0.001}\n' >typo.json
printf '{"num_envs": 4, "zzzzzzzzzzzzzzzz": 1}\n' >unknown.json

expect_error "missing config file" 2 "cannot open config file 'missing.json'" train missing.json
expect_error "config is a directory" 2 "is a directory" train .
expect_error "malformed JSON names file and position" 2 "malformed.json: parse error at line [34], column [0-9]+" train malformed.json
expect_error "config not an object" 2 "must be a JSON object, got array" train array.json
expect_error "unknown field with suggestion" 2 "unknown field 'lerning_rate' \(did you mean 'learning_rate'\?\)" \
  train typo.json
expect_error "unknown field lists valid fields" 2 "unknown field 'zzzzzzzzzzzzzzzz'.*valid fields: .*learning_rate" \
  train unknown.json

# --- Overrides ------------------------------------------------------------------------------------
expect_error "--set out of range" 2 "field 'num_envs' must be an integer in \[1, 1024\], got 0" \
  train good.json --set num_envs=0
expect_error "--set wrong type" 2 "field 'num_envs' must be an integer in \[1, 1024\], got \"four\"" \
  train good.json --set num_envs=four
expect_error "--set float range" 2 "field 'gamma' must be a float in \[0, 1\], got 1.5" \
  train good.json --set gamma=1.5
expect_error "--set without =" 2 "expected key=value" train good.json --set num_envs
expect_error "--set unknown field" 2 "did you mean 'num_envs'" train good.json --set num_env=4
expect_error "--set unknown algo" 2 "field 'algo' must be one of: ppo, a2c, reinforce" \
  train good.json --set algo=dqn
expect_error "--set unknown env" 2 "field 'env_id' must be one of: .*CartPole-v1" \
  train good.json --set env_id=Nope-v0
expect_error "--seed out of range" 2 "field 'seed' must be an integer in \[0, 2147483647\], got -1" \
  train good.json --seed -1
expect_error "--seed not a number" 2 "seed" train good.json --seed abc
expect_error "--total-timesteps zero" 2 "field 'total_timesteps'" train good.json --total-timesteps 0
check "rejected configs create no run directory" test ! -e runs

# --- eval errors ------------------------------------------------------------------------------------
head -c 4096 /dev/urandom >corrupt.ckpt
: >empty.ckpt
expect_error "eval missing checkpoint" 2 "cannot open checkpoint 'missing.ckpt'" eval missing.ckpt
expect_error "eval corrupt checkpoint" 1 "." eval corrupt.ckpt
expect_error "eval empty checkpoint" 1 "." eval empty.ckpt
expect_error "eval a JSON file" 1 "." eval good.json
expect_error "eval --episodes 0" 2 "episodes" eval corrupt.ckpt --episodes 0

# --- env-trace ----------------------------------------------------------------------------------------
expect_error "env-trace wrong state count" 2 "4 state components \(x, x_dot, theta, theta_dot\), got 3" \
  env-trace --env CartPole-v1 --state 0,0,0 --actions 1
expect_error "env-trace unknown env" 2 "unknown env id 'Nope-v0'.*CartPole-v1" env-trace --env Nope-v0 --actions 1
expect_error "env-trace bad number" 2 "--actions: 'x' is not a finite number" \
  env-trace --env CartPole-v1 --actions 1,x
expect_error "env-trace invalid discrete action" 2 "invalid action 2" env-trace --env CartPole-v1 --actions 1,0,2
check "env-trace prints nothing before an invalid action" test ! -s "$OUT"
expect_error "env-trace without --env" 2 "--env" env-trace --actions 1

expect_ok "env-trace CartPole" '^\{"step":1,"obs":\[' env-trace --env CartPole-v1 --state 0,0,0.05,0 --actions 1,1,0,1,0
check "env-trace prints one line per action" test "$(wc -l <"$OUT")" -eq 5
check "env-trace lines have all keys" test "$(grep -c '"reward":.*"terminated":.*"truncated":.*"cost":' "$OUT")" -eq 5
expect_ok "env-trace Pendulum (Box actions)" '"step":3' env-trace --env Pendulum-v1 --actions 2,-2,0.5
check "env-trace Pendulum line count" test "$(wc -l <"$OUT")" -eq 3

# --- Listings -----------------------------------------------------------------------------------------
expect_ok "envs" "CartPole-v1" envs
for id in Acrobot-v1 MountainCar-v0 Pendulum-v1 MountainCarContinuous-v0; do
  check "envs lists $id" grep -q "$id" "$OUT"
done
expect_ok "envs --json" '"max_episode_steps"' envs --json
expect_ok "algos" "learning_rate" algos
for algo in ppo a2c reinforce; do check "algos lists $algo" grep -q "^$algo: " "$OUT"; done
expect_ok "algos --json" '"learning_rate"' algos --json
if command -v python3 >/dev/null 2>&1; then
  check "algos --json is valid JSON" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [s["algo"] for s in d] == ["ppo","a2c","reinforce"]' "$OUT"
fi

# --- A tiny training run, then eval of its checkpoint ------------------------------------------------
expect_ok "train tiny PPO" "^done: " train good.json --out run1
check "train wrote config.json" test -s run1/config.json
check "config.json is resolved (has defaults)" grep -q '"learning_rate"' run1/config.json
check "train wrote metrics.jsonl" test -s run1/metrics.jsonl
check "metrics.jsonl has one record per iteration" test "$(grep -c '"iteration":' run1/metrics.jsonl)" -ge 2
check "train wrote a checkpoint" test -s run1/checkpoint
expect_ok "eval tiny checkpoint" '"return_mean":' eval run1/checkpoint --episodes 2 --deterministic
check "eval reports the episode count" grep -q '"episodes":2' "$OUT"

head -c 100 run1/checkpoint >truncated.ckpt
expect_error "eval truncated checkpoint" 1 "." eval truncated.ckpt

expect_ok "train with overrides into the default directory" "^done: " \
  train good.json --seed 3 --total-timesteps 64 --set algo=a2c --set num_steps=8
check "default run directory is runs/<env>_<algo>_<seed>" test -s runs/CartPole-v1_a2c_3/checkpoint
check "--total-timesteps override reached config.json" grep -q '"total_timesteps": 64' runs/CartPole-v1_a2c_3/config.json

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
