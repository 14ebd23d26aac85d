#!/usr/bin/env bash
# End-to-end tests of the policylab command line: exit codes and one-line messages for bad input,
# a tiny train -> eval round trip, env-trace output, envs, tasks and algos listings, and a tiny SFT run on
# a sequence task with eval and sample of its checkpoint.
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
PRETRAINED="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../examples/pretrained" && pwd)"  # before the cd below
TEST_DATA="$(cd "$(dirname "${BASH_SOURCE[0]}")/../data" && pwd)"

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

# The pretrained policies shipped in examples/pretrained/ (scripts/pretrain-combo.sh): each loads,
# and with multi-start decoding solves fresh instances (seed 7) within a bound of its reference.
# pretrained_gap NAME FILE GENERATE_ARGS REFERENCE MAX_GAP_PERCENT
pretrained_gap() {
  local name=$1 file=$2 gen=$3 ref=$4 bound=$5
  # shellcheck disable=SC2086
  "$BIN" solve --generate $gen --count 20 --seed 7 --out "pre_$name.txt" >/dev/null 2>&1
  expect_ok "pretrained $name evaluates" "^  gap +-?[0-9.]+% \(mean over instances\)$" \
    eval "$PRETRAINED/$file" --instances "pre_$name.txt" --decode multistart --reference "$ref"
  local gap
  gap=$(awk '/^  gap/ {sub("%", "", $2); print $2}' "$OUT")
  check "pretrained $name: multi-start gap ${gap:-?}% < $bound% to $ref" awk -v g="${gap:-1e9}" -v b="$bound" 'BEGIN { exit !(g < b) }'
}

# --- Usage errors -------------------------------------------------------------------------------
expect_error "no command" 2 "subcommand" 
expect_error "unknown command" 2 "unknown command 'frobnicate'" frobnicate
expect_error "unknown option" 2 "--bogus" envs --bogus
expect_error "train without config" 2 "train needs a CONFIG file or --preset ALGO/TASK" train

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
printf '{"algo": "ppo", "env_id": "CartPole-v1", "algo": "a2c"}\n' >dupkey.json
expect_error "a key given twice in a config" 2 "dupkey.json: the key 'algo' appears twice in one object" train dupkey.json
# Nesting 100000 deep overflowed the stack of the code printing the value in the error (exit 139).
nested() { head -c "$1" /dev/zero | tr '\0' '['; head -c "$1" /dev/zero | tr '\0' ']'; }
{ printf '{"algo": "ppo", "hidden_sizes": '; nested 100000; printf '}\n'; } >deep.json
expect_error "a config nested 100000 deep" 2 "deep.json: values nested more than 64 levels deep" train deep.json
expect_error "a --set value nested 50000 deep" 2 "--set hidden_sizes: values nested more than 64 levels deep" \
  train --preset ppo/CartPole-v1 --set "hidden_sizes=$(nested 50000)"
expect_error "a --set value with a key given twice" 2 "--set hidden_sizes: the key 'a' appears twice" \
  train --preset ppo/CartPole-v1 --set 'hidden_sizes={"a": 1, "a": 2}'
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
expect_error "--total-timesteps below one batch" 2 "field 'total_timesteps' must be at least one batch, num_envs \\* num_steps = 64, got 32" train good.json --total-timesteps 32
check "rejected configs create no run directory" test ! -e runs

# --- eval errors ------------------------------------------------------------------------------------
head -c 4096 /dev/urandom >corrupt.ckpt
: >empty.ckpt
expect_error "eval missing checkpoint" 2 "cannot open checkpoint 'missing.ckpt'" eval missing.ckpt
expect_error "eval corrupt checkpoint names the file" 1 "'corrupt.ckpt': " eval corrupt.ckpt
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
expect_error "env-trace state beyond float range" 2 "--state: '1e308' is beyond float range" \
  env-trace --env CartPole-v1 --state 1e308,0,0,0 --actions 1
# Step 1 is finite, step 2 overflows: nothing is printed, not even step 1.
expect_error "env-trace non-finite step" 2 "step 2 of CartPole-v1 gives a non-finite observation or reward" \
  env-trace --env CartPole-v1 --state 0,0,0.1,1e19 --actions 1,1
check "env-trace prints nothing before a non-finite step" test ! -s "$OUT"
expect_error "env-trace negative seed" 2 "--seed: must be an integer in \[0, 2147483647\], got '-1'" \
  env-trace --env CartPole-v1 --seed -1 --actions 1
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
for algo in ppo a2c reinforce sft grpo dpo kto reward_model; do check "algos lists $algo" grep -q "^$algo: " "$OUT"; done
check "algos shows sft's task kind" grep -A1 -q "^sft: " "$OUT"
check "algos: sft is a sequence algorithm" test "$(grep -A1 '^sft: ' "$OUT" | tail -1)" = \
  "  task kind: sequence (verifiable sequence tasks: \`policylab tasks\`)"
check "algos: ppo is an env algorithm" test "$(grep -A1 '^ppo: ' "$OUT" | tail -1 | cut -c1-18)" = "  task kind: env ("
expect_ok "tasks" "^addition: " tasks
for task in addition sort reverse copy countdown; do check "tasks lists $task" grep -q "^$task: " "$OUT"; done
check "tasks shows an example per task" test "$(grep -c '^    example      .* -> .*\.$' "$OUT")" -eq 5
check "tasks shows option types, defaults and ranges" grep -q '^      digits (int) = 3    an integer in \[1, 6\]$' "$OUT"
check "tasks shows vocabularies" grep -q '^    vocabulary   _\.0123456789+=  (14 tokens' "$OUT"
expect_ok "tasks --json" '"max_completion_length"' tasks --json
if command -v python3 >/dev/null 2>&1; then
  check "tasks --json describes every task" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert [t["id"] for t in d] == ["addition", "sort", "reverse", "copy", "countdown"], d
for t in d:
    for key in ("summary", "vocabulary", "vocab_size", "max_prompt_length", "max_completion_length", "options", "fields", "example"):
        assert key in t, (t["id"], key)
    assert t["example"]["reference"].endswith("."), t["example"]
    for f in t["fields"]:
        assert {"name", "type", "default", "doc", "range"} <= set(f), f
        assert t["options"][f["name"]] == f["default"], f
add = d[0]
assert add["vocabulary"] == "_.0123456789+=" and add["max_prompt_length"] == 8 and add["max_completion_length"] == 5
' "$OUT"
fi
expect_ok "algos --json" '"learning_rate"' algos --json
if command -v python3 >/dev/null 2>&1; then
  check "algos --json is valid JSON" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [s["algo"] for s in d] == ["ppo","a2c","reinforce","sft","grpo","dpo","kto","reward_model","pomo"]' "$OUT"
  check "algos --json has each task kind" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert {s["algo"]: s["task_kind"] for s in d} == {"ppo":"env","a2c":"env","reinforce":"env","sft":"sequence","grpo":"sequence","dpo":"sequence","kto":"sequence","reward_model":"sequence","pomo":"combo"}' "$OUT"
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
expect_error "eval truncated checkpoint names the file" 1 "'truncated.ckpt': checkpoint is truncated" eval truncated.ckpt

expect_ok "train with overrides into the default directory" "^done: " \
  train good.json --seed 3 --total-timesteps 64 --set algo=a2c --set num_steps=8
check "default run directory is runs/<env>_<algo>_<seed>" test -s runs/CartPole-v1_a2c_3/checkpoint
check "--total-timesteps override reached config.json" grep -q '"total_timesteps": 64' runs/CartPole-v1_a2c_3/config.json

# --- Interrupted runs continue exactly: Ctrl-C, a killed process with --checkpoint-every --------------
# Each run is stopped once its metrics file has a few lines (no timing), then resumed; the metrics
# equal a straight run's apart from wall-clock fields.
printf '{"algo": "sft", "task": "addition", "max_steps": 150, "eval_interval": 25, "heldout_size": 50, "seed": 2}\n' >long.json
"$BIN" train long.json --out straight >/dev/null 2>&1
wait_lines() {  # wait_lines FILE N PID: until FILE has N lines or PID has ended
  while kill -0 "$3" 2>/dev/null && [ "$( (wc -l <"$1") 2>/dev/null || echo 0)" -lt "$2" ]; do sleep 0.02; done
}
same_metrics() {  # same_metrics A B: equal records without the wall-clock fields
  python3 -c '
import json, sys
wall = lambda r: {k: v for k, v in json.loads(r).items() if k not in ("wall_s", "sps") and not k.endswith("_per_s")}
a, b = (open(f).read().splitlines() for f in sys.argv[1:3])
sys.exit(0 if len(a) == len(b) and all(wall(x) == wall(y) for x, y in zip(a, b)) else 1)' "$1" "$2"
}
"$BIN" train long.json --out stopped >/dev/null 2>"$ERR" &
pid=$!
wait_lines stopped/metrics.jsonl 10 $pid
kill -INT $pid
wait $pid
check "Ctrl-C stops a run with exit 130" test $? -eq 130
check "an interrupted run keeps fewer iterations" test "$(wc -l <stopped/metrics.jsonl)" -lt 150
cp -r stopped garbled
sed -i '2s/.*/not json/' garbled/metrics.jsonl
expect_error "train --resume names a metrics line that is not a record" 2 "garbled/metrics.jsonl:2: not a metrics record" train --resume garbled
cp -r stopped gappy
sed -i '2,4d' gappy/metrics.jsonl
expect_ok "train --resume with records lost from metrics.jsonl" "^done: sft on addition, 150 gradient steps" train --resume gappy
check "train --resume warns of the gap lost records leave" grep -Eq \
  "^policylab: warning: gappy/metrics.jsonl holds [0-9]+ records of the checkpoint's [0-9]+ iterations" "$ERR"
expect_ok "train --resume continues an interrupted run" "^done: sft on addition, 150 gradient steps" train --resume stopped
check "train --resume of a whole metrics file does not warn" bash -c "! grep -q warning '$ERR'"
check "train --resume says where it resumes" grep -Eq '^policylab: resuming sft on addition at [0-9]+ of 150 gradient steps; writing stopped$' "$ERR"
if command -v python3 >/dev/null 2>&1; then
  check "a resumed run's metrics equal a straight run's" same_metrics straight/metrics.jsonl stopped/metrics.jsonl
fi
"$BIN" train long.json --out killed --checkpoint-every 20 >/dev/null 2>&1 &
pid=$!
wait_lines killed/metrics.jsonl 50 $pid
kill -KILL $pid
wait $pid 2>/dev/null
printf '{"iteration": 9' >>killed/metrics.jsonl  # a line cut short, as a kill during a write leaves it
check "a killed run left its periodic checkpoint" test -s killed/checkpoint
expect_ok "train --resume continues a killed run from its last checkpoint" "^done: sft on addition, 150 gradient steps" train --resume killed
if command -v python3 >/dev/null 2>&1; then
  check "a killed and resumed run's metrics equal a straight run's (records after the checkpoint dropped)" same_metrics straight/metrics.jsonl killed/metrics.jsonl
fi
expect_error "train --resume of a finished run" 2 "--resume: the run in 'straight' has already used its whole budget \(150 iterations\); nothing to resume" train --resume straight
expect_error "train --resume with --set" 2 "--resume continues the saved run as it was configured, into its own directory; --set cannot change it" \
  train --resume straight --set learning_rate=0.1
expect_error "train --resume of a directory without a run" 2 "--resume: 'nowhere' is not a run directory" train --resume nowhere
mkdir -p empty_run
expect_error "train --resume of a directory without a checkpoint" 2 "cannot open checkpoint 'empty_run/checkpoint'" train --resume empty_run
expect_error "train --checkpoint-every 0" 2 "--checkpoint-every" train long.json --checkpoint-every 0

# --- Sequence tasks: a tiny SFT run, then eval and sample of its checkpoint -------------------------
# Tiny models and budgets (each run well under a second); results are not checked, shapes are.
printf '{"algo": "sft", "task": "sort", "list_length": 3, "max_steps": 20, "batch_size": 16, "eval_interval": 10,
  "heldout_size": 16, "d_model": 16, "n_heads": 2, "n_layers": 1, "d_mlp": 32}\n' >sft.json
printf '{"algo": "sft", "task": "addition", "digits": 1, "max_steps": 5, "batch_size": 8, "heldout_size": 8,
  "d_model": 16, "n_heads": 2, "n_layers": 1, "d_mlp": 32}\n' >sft_add.json
printf '{"algo": "sft", "task": "addition", "list_length": 3}\n' >sft_wrong_option.json

expect_error "sft: --total-timesteps does not apply" 2 "--total-timesteps: algo 'sft' .*max_steps" \
  train sft.json --total-timesteps 100 --out bad1
expect_error "sft: unknown task" 2 "field 'task' must be one of: addition, sort, reverse, copy, countdown" \
  train sft.json --set task=multiply --out bad2
expect_error "sft: another task's option" 2 "field 'list_length' is an option of task sort, not of task 'addition'" \
  train sft_wrong_option.json --out bad3
expect_error "sft: n_heads must divide d_model" 2 "n_heads" train sft.json --set n_heads=3 --out bad4
expect_error "sft: init_from missing" 2 "field 'init_from': cannot open checkpoint 'missing.ckpt'" \
  train sft.json --set init_from=missing.ckpt --out bad5
expect_error "sft: init_from corrupt" 1 "init_from 'corrupt.ckpt': " train sft.json --set init_from=corrupt.ckpt --out bad6

expect_ok "train tiny SFT" "^done: sft on sort, 20 gradient steps \([0-9]+ tokens\) in [0-9.]+ s; held-out accuracy [0-9.]+%" \
  train sft.json --out sft1
check "sft: train wrote a checkpoint" test -s sft1/checkpoint
check "sft: one metrics record per gradient step" test "$(grep -c '"iteration":' sft1/metrics.jsonl)" -eq 20
check "sft: metrics carry the sequence metrics" \
  test "$(grep -c '"train_loss":.*' sft1/metrics.jsonl)" -eq 20 -a "$(grep -c '"heldout_accuracy":' sft1/metrics.jsonl)" -eq 20
check "sft: config.json has the task and its options" grep -q '"list_length": 3' sft1/config.json
check "sft: config.json has no other task's options" test "$(grep -c '"digits"' sft1/config.json)" -eq 0
expect_ok "train tiny SFT into the default directory" "^done: " train sft.json --seed 4 --set max_steps=2
check "sft: default run directory is runs/<task>_<algo>_<seed>" test -s runs/sort_sft_4/checkpoint
expect_ok "train tiny SFT on addition" "^done: sft on addition" train sft_add.json --out add1

# --- prefs: preference data from the tiny addition SFT, then a tiny DPO run on it -----------------
expect_ok "prefs generate" "^wrote 30 pairs to prefs.jsonl \(addition; labels agree with the gold reward on" \
  prefs generate --from add1/checkpoint --size 30 --noise 0.1 --seed 2 --out prefs.jsonl
check "prefs generate writes one pair per line" test "$(grep -c '"chosen":' prefs.jsonl)" -eq 30
"$BIN" prefs generate --from add1/checkpoint --size 30 --noise 0.1 --seed 2 --out prefs_b.jsonl >/dev/null 2>&1
check "prefs generate is reproducible per seed" cmp -s prefs.jsonl prefs_b.jsonl
expect_ok "prefs generate --unpaired" "^wrote 20 unpaired examples" \
  prefs generate --from add1/checkpoint --size 10 --unpaired --out kto.jsonl
expect_error "prefs stats on an unpaired file says what it is" 2 \
  "kto.jsonl:1: an unpaired example \(prompt, completion, label: the kto algorithm's form" prefs stats kto.jsonl --from add1/checkpoint
expect_error "prefs generate --noise nan (was 'got null')" 2 "--noise \(the field label_noise\) must be a finite number, got nan" \
  prefs generate --from add1/checkpoint --size 4 --noise nan --out nan.jsonl
check "unpaired examples: half desirable" test "$(grep -c '"label":true' kto.jsonl)" -eq 10
expect_ok "prefs stats" "^prefs.jsonl: 30 pairs on addition" prefs stats prefs.jsonl --from add1/checkpoint
expect_ok "prefs stats --task --json" '"pairs": 30' prefs stats prefs.jsonl --task addition --set digits=1 --json
printf '{"prompt": "1+2=", "chosen": "3.", "rejected": "4.", "chosen": "5."}\n' >prefs_dupkey.jsonl
expect_error "prefs: a key given twice in a line (the last one won)" 2 \
  "prefs_dupkey.jsonl:1: malformed JSON: the key 'chosen' appears twice in one object" \
  prefs stats prefs_dupkey.jsonl --task addition --set digits=1
printf '{"prompt": "1+2=", "chosen": "30.", "rejected": "40."}\n{"prompt": "1+2=", "chosen": "3x.", "rejected": "40."}\n' >bad_prefs.jsonl
expect_error "prefs stats: an unknown token names the line and field" 2 \
  "bad_prefs.jsonl:2: field 'chosen': unknown token 'x' at position 2" prefs stats bad_prefs.jsonl --task addition --set digits=1
printf '{"prompt": "1+2=", "chosen": "30."\n' >bad_json.jsonl
expect_error "prefs stats: malformed JSON" 2 "bad_json.jsonl:1: malformed JSON" \
  prefs stats bad_json.jsonl --task addition --set digits=1
printf '{"prompt": "1+2=", "chosen": "30."}\n' >missing.jsonl
expect_error "prefs stats: missing field" 2 "missing.jsonl:1: missing field 'rejected'" \
  prefs stats missing.jsonl --task addition --set digits=1
expect_error "prefs: an unknown subcommand is named" 2 "unknown prefs subcommand 'bogus' \(subcommands: generate, stats" prefs bogus
expect_error "prefs generate: an unknown option" 2 "prefs generate: unexpected argument '--bogus'" \
  prefs generate --from add1/checkpoint --out x.jsonl --bogus
expect_error "prefs without a subcommand" 2 "prefs needs a subcommand \(subcommands: generate, stats" prefs
expect_error "prefs generate: an env checkpoint" 2 "preference data needs a sequence-task checkpoint" \
  prefs generate --from run1/checkpoint --out x.jsonl
expect_error "prefs generate --noise out of range" 2 "field 'label_noise' must be a float in \[0, 0.5\], got 0.7" \
  prefs generate --from add1/checkpoint --noise 0.7 --out x.jsonl
# The flags take their schema fields' ranges (--temperature 0.01 once reached a near-deterministic
# policy that never made a pair and redrew forever).
expect_error "prefs generate --temperature out of range" 2 "field 'sample_temperature' must be a float in \[0.05, 10\], got 0.01" \
  prefs generate --from add1/checkpoint --temperature 0.01 --out x.jsonl
expect_error "prefs generate --label-temperature out of range" 2 "field 'label_temperature' must be a float in \[0.001, 100\], got 1e-300" \
  prefs generate --from add1/checkpoint --label-temperature 1e-300 --out x.jsonl
expect_error "prefs generate --size out of range" 2 "field 'dataset_size' must be an integer in \[1, 1000000\], got 0" \
  prefs generate --from add1/checkpoint --size 0 --out x.jsonl
expect_error "prefs generate: unknown --set" 2 "unknown preference option 'gold_colour'" \
  prefs generate --from add1/checkpoint --set gold_colour=1 --out x.jsonl
expect_error "prefs stats without a task" 2 "--from CHECKPOINT or --task ID" prefs stats prefs.jsonl
printf '{"algo": "dpo", "task": "addition", "digits": 1, "init_from": "add1/checkpoint", "dataset": "prefs.jsonl",
  "max_steps": 4, "batch_size": 4, "eval_interval": 2, "heldout_size": 8, "d_model": 16, "n_heads": 2, "n_layers": 1,
  "d_mlp": 32}\n' >dpo.json
expect_ok "train tiny DPO on a preference file" "^done: dpo on addition" train dpo.json --out dpo1
check "dpo: metrics carry the win rate" test "$(grep -c '"win_rate":' dpo1/metrics.jsonl)" -eq 4
expect_error "dpo: a bad preference file names the field, line and field" 2 \
  "field 'dataset': bad_prefs.jsonl:2: field 'chosen': unknown token 'x'" train dpo.json --set dataset=bad_prefs.jsonl --out bad_dpo
cp dpo1/metrics.jsonl dpo1_metrics.before
expect_error "dpo: a missing preference file is named before the run directory is written" 2 \
  "field 'dataset': cannot open file 'typo.jsonl': No such file or directory" train dpo.json --set dataset=typo.jsonl --out dpo1
check "dpo: the existing run in that directory is left as it was" cmp -s dpo1/metrics.jsonl dpo1_metrics.before
expect_ok "train tiny online DPO (pairs sampled every 2 steps)" "^done: dpo on addition" \
  train dpo.json --set dataset= --set dataset_size=16 --set online_interval=2 --out dpo_online
expect_error "online DPO with a dataset file names the field" 2 \
  "field 'online_interval': online DPO samples its pairs from the policy; leave 'dataset' empty" train dpo.json --set online_interval=2 --out bad_dpo
# KTO on the unpaired examples, and on the pairs (unpaired as TRL does).
sed 's/"algo": "dpo"/"algo": "kto"/; s/prefs.jsonl/kto.jsonl/' dpo.json >kto.json
expect_ok "train tiny KTO on unpaired examples" "^done: kto on addition" train kto.json --out kto1
check "kto: metrics carry the reference point and the win rate" \
  test "$(grep '"reference_point":' kto1/metrics.jsonl | grep -c '"win_rate":')" -eq 4
expect_ok "train tiny KTO on preference pairs" "^done: kto on addition" train kto.json --set dataset=prefs.jsonl --out kto2
check "kto on pairs: held-out pairs are ranked" test "$(grep -c '"heldout_reward_accuracy":[0-9]' kto2/metrics.jsonl)" -eq 4
printf '{"prompt": "1+2=", "completion": "30.", "label": true}\n{"prompt": "1+2=", "completion": "30.", "label": 1}\n' >bad_kto.jsonl
expect_error "kto: a label that is not true or false names the line" 2 \
  "field 'dataset': bad_kto.jsonl:2: field 'label' must be true \(desirable\) or false, got 1" train kto.json --set dataset=bad_kto.jsonl --out bad_kto
expect_error "kto: a pair loss is not an unpaired one" 2 "field 'loss_type' must be one of: kto, apo_zero_unpaired" \
  train kto.json --set loss_type=sigmoid --out bad_kto
# Reward models: a tiny ensemble on the preference file, then GRPO against it.
printf '{"algo": "reward_model", "task": "addition", "digits": 1, "init_from": "add1/checkpoint", "dataset": "prefs.jsonl",
  "max_steps": 4, "batch_size": 4, "eval_interval": 2, "heldout_size": 8, "num_reward_models": 2,
  "ensemble_aggregation": "worst_case", "d_model": 16, "n_heads": 2, "n_layers": 1, "d_mlp": 32}\n' >rm.json
expect_ok "train a tiny reward-model ensemble on a preference file" "^done: reward_model on addition" train rm.json --out rm1
check "reward_model: the summary gives its held-out agreement with the gold reward (it has no accuracy)" \
  grep -Eq "held-out pairs ranked as the gold reward ranks them [0-9.]+%" "$OUT"
check "reward_model: metrics carry the gold accuracy and the ensemble's spread" \
  test "$(grep '"ensemble_std":[0-9]' rm1/metrics.jsonl | grep -c '"heldout_gold_accuracy":[0-9]')" -eq 4
expect_error "reward_model: a bad aggregation names the field" 2 "field 'ensemble_aggregation' must be one of: mean, worst_case, uncertainty" \
  train rm.json --set ensemble_aggregation=median --out bad_rm1
expect_error "reward_model: a bad ensemble size names the field" 2 "field 'num_reward_models'" \
  train rm.json --set num_reward_models=0 --out bad_rm2
expect_error "reward_model: a negative centering coefficient names the field" 2 "field 'center_rewards_coefficient'" \
  train rm.json --set center_rewards_coefficient=-1 --out bad_rm3
printf '{"algo": "grpo", "task": "addition", "digits": 1, "init_from": "add1/checkpoint", "reward_model": "rm1/checkpoint",
  "max_steps": 3, "batch_size": 4, "num_generations": 4, "eval_interval": 3, "heldout_size": 8, "d_model": 16,
  "n_heads": 2, "n_layers": 1, "d_mlp": 32}\n' >grpo_rm.json
for cmd in "sample rm1/checkpoint --prompt 3+4=" "eval rm1/checkpoint" "prefs generate --from rm1/checkpoint --size 4 --out rmprefs.jsonl"; do
  # shellcheck disable=SC2086
  expect_error "${cmd%% *}: a reward_model checkpoint (its policy is the untrained SFT start)" 2 \
    "'rm1/checkpoint' is a reward_model checkpoint, whose policy is the SFT model it started from" $cmd
done
expect_ok "grpo against the learned reward" "^done: grpo on addition" train grpo_rm.json --out grpo_rm1
check "grpo against a reward model: proxy and gold rewards and KL each step" \
  test "$(grep -c '"gold_reward":[-0-9].*"kl_ref":[-0-9].*"proxy_reward":[-0-9]' grpo_rm1/metrics.jsonl)" -eq 3
expect_error "grpo: reward_model naming an SFT checkpoint" 1 "field 'reward_model': 'add1/checkpoint' is a sft checkpoint, not a reward_model one" \
  train grpo_rm.json --set reward_model=add1/checkpoint --out bad_rm4
# Constrained alignment: GRPO on the gold judges with a safety budget.
printf '{"algo": "grpo", "task": "addition", "digits": 1, "init_from": "add1/checkpoint", "reward_judges": true,
  "gold_unsafe_substring": "1", "safety_method": "lagrangian", "safety_budget": 0.2, "max_steps": 3, "batch_size": 4,
  "num_generations": 4, "eval_interval": 3, "heldout_size": 8, "d_model": 16, "n_heads": 2, "n_layers": 1, "d_mlp": 32}\n' >grpo_safe.json
expect_ok "grpo with a safety budget (lagrangian)" "^done: grpo on addition" train grpo_safe.json --out grpo_safe1
check "grpo with a safety budget: cost, budget and lambda each step" \
  test "$(grep -c '"safety_budget":0.2.*"safety_cost":[0-9].*"safety_lambda":[0-9]' grpo_safe1/metrics.jsonl)" -eq 3
expect_ok "grpo with the one-shot dual" "^done: grpo on addition" train grpo_safe.json --set safety_method=dual \
  --set safety_dual_prompts=8 --out grpo_safe2
expect_error "grpo: a negative safety budget names the field" 2 "field 'safety_budget' must be a float in \[0, 1\], got -0.1" \
  train grpo_safe.json --set safety_budget=-0.1 --out bad_safe1
expect_error "grpo: an unknown safety method names the field" 2 "field 'safety_method' must be one of: none, dual, lagrangian, judges" \
  train grpo_safe.json --set safety_method=shield --out bad_safe2
expect_error "grpo: a safety method without the gold judges" 2 "field 'safety_method' applies when reward_judges is true, but reward_judges is false" \
  train grpo_safe.json --set safety_method=judges --set reward_judges=false --out bad_safe3
expect_error "grpo: a method's option under another method" 2 "field 'safety_dual_prompts' applies when safety_method is dual, but safety_method is lagrangian" \
  train grpo_safe.json --set safety_dual_prompts=8 --out bad_safe4
# A --set that switches the file's method off leaves the file's options for it out, and says so.
printf '{"algo": "grpo", "task": "addition", "digits": 1, "init_from": "add1/checkpoint", "max_steps": 2, "batch_size": 4,
  "num_generations": 4, "eval_interval": 2, "heldout_size": 8, "d_model": 16, "n_heads": 2, "n_layers": 1, "d_mlp": 32,
  "reward_judges": true, "gold_unsafe_substring": "1", "safety_method": "dual", "safety_dual_prompts": 8,
  "safety_dual_samples": 4}\n' >grpo_dual.json
expect_ok "grpo: --set safety_method=none on a dual config" "^done: grpo on addition" \
  train grpo_dual.json --set safety_method=none --out grpo_safe3
check "grpo: --set safety_method=none says it left the dual's options out" grep -q \
  "left out of grpo_dual.json, as they no longer apply after --set: safety_dual_prompts, safety_dual_samples$" "$ERR"
expect_ok "grpo: --set reward_judges=false on a dual config" "^done: grpo on addition" \
  train grpo_dual.json --set reward_judges=false --out grpo_safe4
check "grpo: --set reward_judges=false leaves out the method and its options" grep -q \
  "no longer apply after --set: safety_method, safety_dual_prompts, safety_dual_samples$" "$ERR"

expect_error "sft: init_from another task" 1 \
  "init_from 'add1/checkpoint': its model .*task 'addition'.* does not match this run's .*task 'sort'" \
  train sft.json --set init_from=add1/checkpoint --out bad7
expect_error "sft: init_from an env checkpoint" 1 "init_from 'run1/checkpoint': .*task 'CartPole-v1'" \
  train sft.json --set init_from=run1/checkpoint --out bad8
expect_error "sft: init_from another model size" 1 "init_from 'sft1/checkpoint': .*does not match" \
  train sft.json --set d_model=32 --set init_from=sft1/checkpoint --out bad9
check "rejected sft configs create no run directory" test ! -e bad1 -a ! -e bad2 -a ! -e bad3 -a ! -e bad4 \
  -a ! -e bad5 -a ! -e bad6 -a ! -e bad7 -a ! -e bad8 -a ! -e bad9
expect_ok "sft: warm start from init_from" "^done: sft on sort" train sft.json --set init_from=sft1/checkpoint --out warm

# eval of a sequence checkpoint
expect_ok "eval sft checkpoint" "^  accuracy +[0-9.]+%  \(greedy, pass@1\)$" eval sft1/checkpoint --problems 20
check "eval sft: names the run" grep -q '^sft on sort (heldout_fraction 0.1, list_length 3), 20 gradient steps$' "$OUT"
check "eval sft: pass@8 by default" grep -Eq '^  pass@8 +[0-9.]+%  \(8 samples at temperature 1\)$' "$OUT"
check "eval sft: problem count" grep -Eq '^  held-out problems  20 \(seed 12345(; drawn with replacement, 1[0-9] distinct)?\)$' "$OUT"
expect_ok "eval sft --k 0" "accuracy" eval sft1/checkpoint --problems 20 --k 0
check "eval sft --k 0 runs no pass@k" test "$(grep -c '^  pass@' "$OUT")" -eq 0
expect_ok "eval sft --json" '^\{"checkpoint":"sft1/checkpoint","algo":"sft","task":"sort",' \
  eval sft1/checkpoint --problems 20 --k 3 --seed 7 --json
cp "$OUT" eval1.json
if command -v python3 >/dev/null 2>&1; then
  check "eval sft --json fields" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["problems"] == 20 and 1 <= d["distinct_problems"] <= 20 and d["k"] == 3 and d["seed"] == 7 and d["iteration"] == 20, d
assert d["task_options"] == {"heldout_fraction": 0.1, "list_length": 3}, d
for key in ("accuracy", "pass_at_k", "partial_mean", "well_formed"):
    assert 0 <= d[key] <= 1, (key, d)
assert 1 <= d["length_mean"] <= 4, d
' eval1.json
fi
expect_ok "eval sft --json again" '"problems":20' eval sft1/checkpoint --problems 20 --k 3 --seed 7 --json
check "eval sft is deterministic" cmp -s "$OUT" eval1.json
expect_ok "eval warm-started checkpoint" "accuracy" eval warm/checkpoint --problems 8 --k 0

expect_error "eval sft --episodes" 2 "--episodes applies to env checkpoints; 'sft1/checkpoint' holds sft on sort.*--problems" \
  eval sft1/checkpoint --episodes 3
expect_error "eval sft --deterministic" 2 "--deterministic applies to env checkpoints" eval sft1/checkpoint --deterministic
expect_error "eval env --k" 2 "--k applies to sequence-task checkpoints; 'run1/checkpoint' holds ppo on CartPole-v1" \
  eval run1/checkpoint --k 4
expect_error "eval env --problems" 2 "--problems applies to sequence-task checkpoints" eval run1/checkpoint --problems 5
expect_error "eval --problems 0" 2 "--problems" eval sft1/checkpoint --problems 0
expect_error "eval --k too large" 2 "--k" eval sft1/checkpoint --k 5000
expect_ok "eval env checkpoint still prints JSON with --json" '"return_mean":' eval run1/checkpoint --episodes 1 --json

# sample
expect_ok "sample" '^sft on sort, 20 gradient steps; prompt "312=", reference "123."; temperature 1.00$' \
  sample sft1/checkpoint --prompt 312= -n 3 --seed 5
check "sample prints one line per completion" \
  test "$(grep -Ec '^[123]  312=[^ ]*  reward [01]  (correct|wrong)  +partial [01]\.[0-9]{2}  (well-formed|malformed) +[0-9]+ tokens' "$OUT")" -eq 3
check "sample prints a summary" grep -Eq '^[0-3]/3 correct \([0-9.]+%\), mean partial [01]\.[0-9]{3}$' "$OUT"
cp "$OUT" sample1.txt
expect_ok "sample again" "312=" sample sft1/checkpoint --prompt 312= -n 3 --seed 5
check "sample is deterministic in its seed" cmp -s "$OUT" sample1.txt
expect_ok "sample --greedy --probs" "; greedy$" sample sft1/checkpoint --prompt 312= -n 2 --greedy --probs
check "sample --probs prints one line per token" grep -Eq '^     .  p [01]\.[0-9]{3}   top:(  . [01]\.[0-9]{3}){5}$' "$OUT"
check "sample --greedy completions are equal" \
  test "$(grep -E '^[12]  312=' "$OUT" | cut -c4- | sort -u | wc -l)" -eq 1
expect_ok "sample --json" '^\{"completions":\[' sample sft1/checkpoint --prompt 312= -n 4 --top-k 3 --top-p 0.9 --json
if command -v python3 >/dev/null 2>&1; then
  check "sample --json fields" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["prompt"] == "312=" and d["reference"] == "123.", d
assert len(d["completions"]) == 4
for c in d["completions"]:
    assert {"completion", "correct", "well_formed", "partial", "reward", "length", "finished", "steps"} <= set(c), c
    assert len(c["steps"]) == c["length"] == len(c["completion"]), c
    for s in c["steps"]:
        assert 0 <= s["p"] <= 1 and len(s["top"]) == 5, s
' "$OUT"
fi

expect_error "sample unknown token" 2 "unknown token 'a' at position 2 in prompt \"3a2=\"" \
  sample sft1/checkpoint --prompt 3a2=
expect_error "sample prompt too long" 2 "prompt \"31211111111111111111=\" has 21 tokens; sort prompts have 4" \
  sample sft1/checkpoint --prompt 31211111111111111111=
expect_error "sample malformed prompt" 2 "not of the sort form" sample sft1/checkpoint --prompt 12=
expect_error "sample negative seed" 2 "--seed: must be an integer in \[0, 2147483647\], got '-1'" \
  sample sft1/checkpoint --prompt 312= --seed -1
expect_error "sample env checkpoint" 2 "sample needs a sequence-task checkpoint.*'run1/checkpoint' holds ppo on CartPole-v1" \
  sample run1/checkpoint --prompt 312=
expect_error "sample corrupt checkpoint" 1 "." sample corrupt.ckpt --prompt 312=
expect_error "sample truncated checkpoint" 1 "'truncated.ckpt': checkpoint is truncated" sample truncated.ckpt --prompt 312=
expect_error "sample missing checkpoint" 2 "cannot open checkpoint 'missing.ckpt'" sample missing.ckpt --prompt 312=
expect_error "sample without --prompt" 2 "--prompt is required" sample sft1/checkpoint
expect_error "sample --temperature 0" 2 "--temperature must be in \[1e-06, 3.4e38\], got 0" sample sft1/checkpoint --prompt 312= --temperature 0
# A float-subnormal temperature made every logit / T infinite: garbage samples with exit 0 before.
expect_error "sample --temperature 1e-39" 2 "--temperature must be in \[1e-06, 3.4e38\], got 1e-39" \
  sample sft1/checkpoint --prompt 312= --temperature 1e-39
expect_error "sample --temperature beyond float range" 2 "--temperature must be in \[1e-06, 3.4e38\], got 1e\+39" \
  sample sft1/checkpoint --prompt 312= --temperature 1e39
expect_error "sample --greedy with --temperature" 2 "--greedy takes the most likely token at every step; it has no --temperature" \
  sample sft1/checkpoint --prompt 312= --greedy --temperature 1
expect_error "sample --greedy with --top-k (was ignored)" 2 "--greedy takes the most likely token at every step; it has no --top-k" \
  sample sft1/checkpoint --prompt 312= --greedy --top-k 3
expect_error "sample --greedy with --top-p (was ignored)" 2 "it has no --top-p" sample sft1/checkpoint --prompt 312= --greedy --top-p 0.5
expect_error "sample --top-p 0" 2 "--top-p must be in \(0, 1\], got 0" sample sft1/checkpoint --prompt 312= --top-p 0
expect_error "sample --top-p 1.5" 2 "--top-p must be in \(0, 1\], got 1.5" sample sft1/checkpoint --prompt 312= --top-p 1.5
expect_error "sample -n 0" 2 "-n" sample sft1/checkpoint --prompt 312= -n 0
expect_error "sample --top-k -1" 2 "--top-k" sample sft1/checkpoint --prompt 312= --top-k -1

# --- Presets: tuned values per algo x task under the user's fields ----------------------------------
expect_error "unknown preset names the presets" 2 "unknown preset 'ppo/Pendulum' \(presets: ppo/CartPole-v1, .*ppo/Pendulum-v1.*sft/addition" \
  train --preset ppo/Pendulum
expect_error "preset contradicts the config" 2 "preset 'ppo/Pendulum-v1' is for env_id 'Pendulum-v1', but the config sets env_id \"CartPole-v1\"" \
  train good.json --preset ppo/Pendulum-v1
expect_error "--preset with --no-preset" 2 "--preset and --no-preset exclude each other" train --preset ppo/Pendulum-v1 --no-preset
expect_ok "presets" "^ppo/Pendulum-v1$" presets
check "presets lists every algo x task pair (3 algos x 5 envs + 5 algos x 5 tasks)" \
  test "$(grep -cE '^(ppo|a2c|reinforce)/[A-Za-z]+-v[01]|^(sft|grpo|dpo|kto|reward_model)/[a-z]+' "$OUT")" -eq 40
check "presets show expected results" test "$(grep -c '^    expected  ' "$OUT")" -eq 46
check "presets say which pairs do not learn well" grep -q '^reinforce/Pendulum-v1  (does not learn well on its own)$' "$OUT"
expect_ok "presets --json" '"expected"' presets --json
if command -v python3 >/dev/null 2>&1; then
  check "presets --json: one per pair, values name the pair" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d) == len({p["name"] for p in d}) == 46, len(d)
for p in d:
    key = "task" if p["algo"] in ("sft", "grpo", "dpo", "kto", "reward_model") else "problem" if p["algo"] == "pomo" else "env_id"
    assert p["values"]["algo"] == p["algo"] and p["values"][key] == p["task"], p
    assert p["expected"] and p["source"], p
' "$OUT"
  # The README's table of presets lists every one (it had 28 of 46).
  check "README: the presets table has a row per preset" python3 -c '
import json, sys
readme = open(sys.argv[2], encoding="utf-8").read()
missing = [p["name"] for p in json.load(open(sys.argv[1])) if "| `" + p["name"] + "`" not in readme]
assert not missing, missing
' "$OUT" "$TEST_DATA/../../README.md"
fi
# --preset alone is a config; the CLI says which preset is in force; explicit fields win.
"$BIN" train --preset ppo/Pendulum-v1 --total-timesteps 256 --set num_steps=64 --out pre1 >"$OUT" 2>"$ERR"
check "train --preset runs" test $? -eq 0 -a -s pre1/checkpoint
check "train --preset says which preset is in force" grep -q '^policylab: preset ppo/Pendulum-v1 in force; the config overrides num_steps=64, total_timesteps=256; expected: ' "$ERR"
check "train --preset: the preset's fields" grep -q '"gamma": 0.9,' pre1/config.json
check "train --preset: the preset's normalisation" grep -q '"norm_obs": true,' pre1/config.json
check "train --preset: explicit fields win" grep -q '"num_steps": 64,' pre1/config.json
# A config naming only the algo and the task gets the pair's preset.
printf '{"algo": "a2c", "env_id": "Pendulum-v1"}\n' >pair.json
"$BIN" train pair.json --total-timesteps 128 --set gamma=0.95 --out pre2 >"$OUT" 2>"$ERR"
check "a config naming algo and task trains" test $? -eq 0 -a -s pre2/checkpoint
check "a config naming algo and task gets its preset" grep -q '^policylab: preset a2c/Pendulum-v1 in force' "$ERR"
check "its preset fills the rest" grep -q '"num_steps": 8,' pre2/config.json
check "its explicit fields win" grep -q '"gamma": 0.95,' pre2/config.json
"$BIN" train pair.json --total-timesteps 128 --no-preset --out pre3 >"$OUT" 2>"$ERR"
check "--no-preset: schema defaults" grep -q '"gamma": 0.99,' pre3/config.json
check "--no-preset prints no preset" test "$(grep -c 'preset' "$ERR")" -eq 0

# --- the loss lab
cat >lab.json <<'JSON'
{"group_size": 2, "logp": [[-0.5945349, -1.6931472], [-0.9046898]], "old_logp": [[-1, -1], [-1]], "advantages": [1, -1]}
JSON
expect_ok "loss --list" "^  disco  " loss --list
check "loss --list names every estimator" test "$(grep -cE '^  (grpo|rloo|reinforce_plus_plus|reinforce_plus_plus_baseline|remax|opo|gpg|bnpo|grpo_passk)  ' "$OUT")" -ge 9
expect_ok "loss --list --json" '"estimators"' loss --list --json
expect_ok "loss clip" '"loss": -0.2000' loss clip --input lab.json --set loss_agg_mode=token-mean
check "loss clip prints the gradient" grep -q '"gradient"' "$OUT"
echo '{"group_size": 2, "rewards": [1, 0, 1, 1]}' >lab_rewards.json
expect_ok "loss estimator" '"zero_variance_groups": 1' loss rloo --input lab_rewards.json
expect_error "loss: an option the estimator does not read" 2 "estimator 'rloo' reads no option 'epsilon' \(its options: none\)" \
  loss rloo --input lab_rewards.json --set epsilon=0.3
# AdaptThink: delta 0.05 * nothink + r - Rbar_ref = 0.55, -0.5, 0.75, 0.8 (test_grpo.cpp's batch)
echo '{"group_size": 2, "rewards": [1, 0, 1, 1], "baselines": [0.5, 0.25], "nothink": [1, 0, 0, 1]}' >lab_adaptthink.json
expect_ok "loss adaptthink" '0\.5499999' loss adaptthink --input lab_adaptthink.json
check "loss adaptthink: the NoThinking bonus on the second group" grep -q '0\.7999999' "$OUT"
expect_error "loss adaptthink without its columns" 2 "estimator 'adaptthink' needs 'baselines'" loss adaptthink --input lab_rewards.json
printf '{"rewards": [1, 0], "values": [[0.5, 0.2, 0.4], [0.1, 0.3]]}\n' >lab_gae.json
expect_ok "loss gae: per-token advantages and returns (gamma 0.9, lambda 0.8)" '"returns"' loss gae --input lab_gae.json --set gamma=0.9 --set lam=0.8
check "loss gae: the hand-computed unwhitened advantages" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
a = d["unwhitened_advantages"][0]
assert abs(a[2] - 0.6) < 1e-6 and abs(a[1] - 0.592) < 1e-6 and abs(a[0] - 0.10624) < 1e-6, a
' "$OUT"
expect_error "loss gae without values" 2 "estimator 'gae' needs the column 'values'" loss gae --input lab_rewards.json
expect_error "loss unknown name" 2 "unknown estimator or loss 'clipp'" loss clipp --input lab.json
expect_error "loss ambiguous name" 2 "say estimator:gpg or loss:gpg" loss gpg --input lab.json
expect_error "loss bad option" 2 "field 'epsilon' must be a float in \[0, 10\], got -1" loss clip --input lab.json --set epsilon=-1
expect_error "loss unknown option" 2 "loss lab has no field 'epsilonn' \\(did you mean 'epsilon'\\?\\)" loss clip --input lab.json --set epsilonn=1
expect_error "loss missing input" 2 "cannot open loss input 'nope.json'" loss clip --input nope.json
echo '{"logp": [[-1, "x"]]}' >lab_bad.json
expect_error "loss non-number" 2 "lab_bad.json: column 'logp' completion 0 has \"x\", not a finite number within float range" loss clip --input lab_bad.json
echo '{"group_size": 2, "logp": [[-1], [-1]], "advantages": [1e39, -1]}' >lab_huge.json
expect_error "loss: a number beyond float range" 2 "column 'advantages' entry 0 must be a finite number within float range \(\|x\| <= 3.4e38\), got 1e\+39" \
  loss clip --input lab_huge.json
# exp(-1 - -200) overflows float: the loss and gradient were printed as null with exit 0
echo '{"group_size": 2, "logp": [[-1], [-1]], "old_logp": [[-200], [-1]], "advantages": [-1, -1]}' >lab_overflow.json
expect_error "loss: a non-finite result is an error" 2 "lab_overflow.json: '[a-z_.]+.*' is not finite \(NaN or infinity\) for this input" \
  loss clip --input lab_overflow.json
echo '{"group_size": 2, "rewards": [1, 0], "lengths": [-1, 1]}' >lab_lengths.json
expect_error "loss: lengths are whole tokens" 2 "column 'lengths' entry 0 must be a whole number of tokens >= 1, got -1" \
  loss reinforce_plus_plus --input lab_lengths.json
echo '[1, 2]' >lab_array.json
echo '{"group_size": 2, "group_size": 1, "rewards": [1, 0]}' >lab_dupkey.json
echo '{"group_size": 1, "rewards": [1, 0]}' >lab_g1.json
expect_error "loss grpo: groups of one (train refuses num_generations 1; all advantages were 0)" 2 \
  "group_size must be at least 2 \(as num_generations in training: only gae and astar_po take one completion per prompt\), got 1" \
  loss grpo --input lab_g1.json
expect_error "loss: a key given twice" 2 "lab_dupkey.json: the key 'group_size' appears twice in one object" loss rloo --input lab_dupkey.json
expect_error "loss: the input is an object" 2 "the input must be a JSON object of columns, got array" loss clip --input lab_array.json
mkdir -p lab_dir
expect_error "loss: a directory as input" 2 "loss input 'lab_dir' is a directory, not a file" loss clip --input lab_dir
expect_error "loss without --input" 2 "needs --input" loss clip
# preference losses: one pair with equal log-ratios, so DPO's loss is log 2 and d/d chosen_logps = -beta / 2
echo '{"chosen_logps": [-1], "rejected_logps": [-2], "ref_chosen_logps": [-1], "ref_rejected_logps": [-2], "chosen_tokens": [2], "rejected_tokens": [4]}' >lab_pair.json
expect_ok "loss --list names the preference losses" "^  apo_down  " loss --list
check "loss --list names every preference loss" test "$(grep -cE '^  (sigmoid|hinge|ipo|exo_pair|nca_pair|robust|bco_pair|sppo_hard|aot|aot_pair|apo_zero|apo_down|discopop|sigmoid_norm|sft|simpo|cpo|orpo|kto|apo_zero_unpaired)  ' "$OUT")" -eq 20
expect_ok "loss sigmoid" '"loss": 0\.69314' loss sigmoid --input lab_pair.json
check "loss sigmoid prints d loss / d chosen_logps" grep -Eq '"chosen_logps": \[$' "$OUT"
check "loss sigmoid: the gradient is -beta / 2" grep -Eq '^ +-0\.0500' "$OUT"
check "loss sigmoid prints the accuracy" grep -q '"accuracy": 0' "$OUT"
expect_ok "loss sigmoid,sft with weights" '"weight": 0\.5' loss sigmoid,sft --input lab_pair.json --set loss_weights=1,0.5
echo '{"chosen_logps": [-1], "rejected_logps": [-2], "ref_chosen_logps": [-1]}' >lab_pair_bad.json
expect_error "loss pair missing column" 2 "lab_pair_bad.json: loss 'sigmoid' needs the column 'ref_rejected_logps'" loss sigmoid --input lab_pair_bad.json
expect_error "loss pair bad option" 2 "field 'label_smoothing' must be a float in \[0, 0\.5\], got 0\.7" loss sigmoid --input lab_pair.json --set label_smoothing=0.7
expect_error "loss pair unknown loss in a list" 2 "unknown loss 'sftt' \\(entry 2 of 'sigmoid,sftt'\\)" loss sigmoid,sftt --input lab_pair.json

# --- solve: reference solvers of the combinatorial problems (core/combo) --------------------------
expect_ok "solve --list" "^  held-karp +exact" solve --list
printf '3 0 0 1e15 0 0 1e15\n' >far.txt
expect_ok "solve: a length beyond 1e12 in scientific notation (it printed 16 digits and 6 decimals)" \
  "^mean length 3\.414214e\+15 over 1 instance" solve far.txt --problem tsp --solver held-karp
expect_ok "solve --list --json" '"binpack3d"' solve --list --json
printf 'NAME : hand4\nTYPE : TSP\nDIMENSION : 4\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 2.5 0\n3 3.5 1\n4 3.5 4\nEOF\n' >hand4.tsp
# nint rounding: 3 (2.5 rounds up) + 1 + 3 + 5
expect_ok "solve TSPLIB with TSPLIB rounding" "^mean length 12 over 1 instance" solve --solver held-karp hand4.tsp --out hand4.tour
check "solve --out writes a TSPLIB tour" grep -Pzq 'TYPE : TOUR\nDIMENSION : 4\nTOUR_SECTION\n1\n(4\n3\n2|2\n3\n4)\n-1\nEOF' hand4.tour
expect_ok "solve --json" '^\{"instances":\[\{"objective":12\.0,' solve --solver nearest-neighbor hand4.tsp --json
expect_ok "solve --generate tsp" "^wrote 5 tsp instances \(n = 8, seed 3\) to tsp8.txt" \
  solve --generate tsp --n 8 --count 5 --seed 3 --out tsp8.txt
check "the generated dataset has one line per instance" test "$(wc -l <tsp8.txt)" -eq 5
"$BIN" solve --generate tsp --n 8 --count 5 --seed 3 --out tsp8b.txt >/dev/null 2>&1
check "--generate is reproducible per seed" cmp -s tsp8.txt tsp8b.txt
expect_ok "solve a dataset exactly" "^mean length [0-9.]+ over 5 instances" solve --problem tsp --solver held-karp tsp8.txt --out tsp8.sol
cp "$OUT" exact.txt
check "--out writes one solution line per instance" test "$(wc -l <tsp8.sol)" -eq 5
expect_ok "solve a dataset with 2-opt" "^mean length" solve --problem tsp --solver 2-opt tsp8.txt
check "2-opt is no shorter than Held-Karp" awk -v e="$(grep '^mean' exact.txt | cut -d' ' -f3)" \
  '/^mean/ { exit !($3 >= e - 1e-6) }' "$OUT"
expect_ok "solve a dataset with the 1-tree branch and bound" "^mean length [0-9.]+ over 5 instances" solve --problem tsp --solver branch-and-bound tsp8.txt
check "branch and bound and Held-Karp agree on every instance" cmp -s <(grep -o 'length [0-9.]*' exact.txt) <(grep -o 'length [0-9.]*' "$OUT")
expect_ok "branch and bound proves berlin52's TSPLIB optimum" "^mean length 7542 over 1 instance" solve --solver branch-and-bound "$TEST_DATA/berlin52.tsp"
"$BIN" solve --generate tsp --n 50 --count 2 --seed 7 --out tsp50.txt >/dev/null 2>&1
expect_ok "branch and bound solves TSP50" "^mean length [0-9.]+ over 2 instances" solve --problem tsp --solver branch-and-bound tsp50.txt
printf '# 3 jobs, 2 machines\n3 2\n0 3 1 2\n1 2 0 4\n0 1 1 1\n' >js.txt
expect_ok "solve a job-shop file exactly" "^     1  makespan 8 " solve --solver branch-and-bound js.txt
for problem in cvrp knapsack binpack1d binpack3d jobshop; do
  n=20; solver=savings
  case $problem in
    knapsack) n=50; solver=branch-and-bound ;;
    binpack1d) n=60; solver=best-fit ;;
    binpack3d) n=40; solver=first-fit ;;
    jobshop) n=4; solver=branch-and-bound ;;
  esac
  "$BIN" solve --generate $problem --n $n --count 3 --out $problem.txt >/dev/null 2>&1
  expect_ok "solve $problem --solver $solver" "^mean [a-z]+ [0-9.]+ over 3 instances" solve --problem $problem --solver $solver $problem.txt
done

expect_error "solve without --solver" 2 "solve needs --solver NAME" solve hand4.tsp
expect_error "solve unknown solver lists the problem's solvers" 2 "unknown solver 'foo' for tsp; its solvers: held-karp, branch-and-bound, nearest-neighbor" \
  solve --solver foo hand4.tsp
expect_error "solve unknown problem" 2 "unknown problem 'tssp'; problems: tsp, cvrp" solve --problem tssp --solver x tsp8.txt
expect_error "solve dataset without --problem" 2 "cannot tell which problem 'tsp8.txt' holds.*pass --problem" solve --solver 2-opt tsp8.txt
expect_error "solve missing file" 2 "cannot open instance file 'missing.txt'" solve --problem tsp --solver 2-opt missing.txt
"$BIN" solve --generate tsp --n 21 --count 1 --out tsp21.txt >/dev/null 2>&1
# 15 copies of one city among 30: the branch and bound merges copies (it took minutes and refused before)
awk 'BEGIN { srand(3); printf "30"; for (i = 0; i < 15; i++) printf " 0.5 0.5 %.6f %.6f", rand(), rand(); print "" }' >tspdup.txt
expect_ok "branch-and-bound with repeated cities" "^mean length [0-9.]+ over 1 instance" \
  solve --problem tsp --solver branch-and-bound tspdup.txt
expect_error "held-karp refuses 21 cities" 2 "tsp21.txt: instance 1: held-karp solves TSP instances of at most 20 cities.*has 21" \
  solve --problem tsp --solver held-karp tsp21.txt
printf '1 30 0.5 0.5 0.1 0.1 5\n1 30 0.5 0.5 0.1 0.1 -3\n' >badcvrp.txt
expect_error "negative demand names file, line and problem" 2 "badcvrp.txt:2: cvrp: demand of customer 1 must be in \[1, 30\], got -3" \
  solve --problem cvrp --solver savings badcvrp.txt
printf '2 0 0 1 1\n2 0 O 1 1\n' >badtsp.txt
expect_error "a typo in a dataset" 2 "badtsp.txt:2: tsp: 'O' \(number 3 on the line\) is not a number" solve --problem tsp --solver 2-opt badtsp.txt
printf '2 1 0.5 0.5 0.1\n' >badknap.txt
expect_error "wrong count of numbers" 2 "badknap.txt:1: knapsack: expected 6 numbers \(n, capacity, then weight value of each of the n items\), got 5" \
  solve --problem knapsack --solver greedy badknap.txt
sed 's/EUC_2D/GEO/' hand4.tsp >geo.tsp
expect_error "unsupported TSPLIB type" 2 "geo.tsp:4: TSPLIB: EDGE_WEIGHT_TYPE 'GEO' is not supported \(EUC_2D, CEIL_2D, ATT are\)" \
  solve --solver 2-opt geo.tsp
printf '2 2\n0 3 1 2\n1 2 1 4\n' >badjs.txt
expect_error "job-shop file with a repeated machine" 2 "badjs.txt:3: jobshop: job 2 visits machine 1 twice" solve --solver spt badjs.txt
"$BIN" solve --generate jobshop --n 7 --count 1 --out js7.txt >/dev/null 2>&1
expect_error "job-shop branch and bound refuses 7 x 7" 2 "at most 6 jobs and 6 machines; this one is 7 x 7" \
  solve --problem jobshop --solver branch-and-bound js7.txt
expect_error "--generate without --n" 2 "--generate cvrp needs --n" solve --generate cvrp --out x.txt
expect_error "--generate with --solver" 2 "--generate writes a dataset and solves nothing: drop --solver" solve --generate tsp --n 5 --solver 2-opt --out x.txt
expect_error "--generate without --out" 2 "--generate writes a dataset: pass --out FILE" solve --generate tsp --n 5
expect_ok "--generate cvrp with an n between the papers' (as training: the next capacity above)" "^wrote 1 cvrp instance" \
  solve --generate cvrp --n 30 --count 1 --out cvrp30.txt
check "--generate cvrp --n 30: capacity 40, as training" grep -Eq "^30 40( |$)" cvrp30.txt
expect_error "--generate cvrp beyond training's sizes" 2 "5 to 200 customers \(as training\), got n = 201" solve --generate cvrp --n 201 --out x.txt
expect_error "--generate unknown problem" 2 "unknown problem 'foo'" solve --generate foo --n 3 --out x.txt
expect_error "--m is for job-shop" 2 "--m \(machines\) is for --generate jobshop only" solve --generate tsp --n 5 --m 3 --out x.txt

# --- Combinatorial problems: a tiny POMO run on TSP, then eval of its checkpoint on a file ---------------
printf '{"algo": "pomo", "n": 6, "max_steps": 4, "batch_size": 4, "eval_interval": 2, "heldout_size": 4,
  "d_model": 16, "n_heads": 2, "n_layers": 1, "d_ff": 16}\n' >pomo.json
expect_ok "train pomo" "^done: pomo on tsp6, 4 gradient steps .*held-out greedy length [0-9.]+, gap [0-9.]+%" \
  train pomo.json --out pomo1
check "pomo metrics name the gap" grep -q '"heldout_gap":' pomo1/metrics.jsonl
# --threads: a speed setting; the run's numbers are the same (sizes that cross the split threshold).
printf '{"algo": "pomo", "n": 10, "max_steps": 3, "batch_size": 16, "eval_interval": 2, "heldout_size": 4,
  "d_model": 64, "n_heads": 4, "n_layers": 1, "d_ff": 64}\n' >pomo_big.json
"$BIN" train pomo_big.json --out threads1 >/dev/null 2>&1
expect_ok "train --threads 2" "^done: pomo on tsp10, 3 gradient steps" train pomo_big.json --threads 2 --out threads2
check "--threads 2 gives the same metrics as one thread" python3 -c '
import json, sys
rows = [[json.loads(l) for l in open(f)] for f in sys.argv[1:]]
timing = ("wall", "per_s", "time", "fps", "sps")
strip = lambda r: {k: v for k, v in r.items() if not any(t in k for t in timing)}
assert len(rows[0]) == 3 and [strip(r) for r in rows[0]] == [strip(r) for r in rows[1]]' threads1/metrics.jsonl threads2/metrics.jsonl
expect_error "--threads out of range" 2 "--threads: Value 0 not in range 1 to 8" train pomo.json --threads 0
"$BIN" solve --generate tsp --n 6 --count 5 --seed 3 --out tsp6.txt >/dev/null 2>&1
expect_ok "eval pomo greedy" "^  gap +[0-9.]+% \(mean over instances\)$" eval pomo1/checkpoint --instances tsp6.txt
check "eval pomo: reference is held-karp" grep -q '^  reference        held-karp, mean ' "$OUT"
check "eval pomo: time per instance" grep -Eq '^  time/instance    [0-9.]+ ms$' "$OUT"
expect_ok "eval pomo multistart_aug8 --out" '"decode":"multistart_aug8"' \
  eval pomo1/checkpoint --instances tsp6.txt --decode multistart_aug8 --out tours6.txt --json
check "eval pomo --out writes a tour per instance" test "$(wc -l <tours6.txt)" -eq 5
check "... each with its length as a comment, the JSON's objectives" python3 -c '
import json, sys
objectives = json.load(open(sys.argv[1]))["objectives"]
lines = open(sys.argv[2]).read().splitlines()
assert [float(l.split("# length ")[1]) for l in lines] == [float("%.9g" % o) for o in objectives], lines
' "$OUT" tours6.txt
expect_ok "eval --out reads back as --optimum (comments skipped): gap 0" "^  gap +0.00% " \
  eval pomo1/checkpoint --instances tsp6.txt --decode multistart_aug8 --optimum tours6.txt
# --optimum: Held-Karp's tours solved once give the same gap as --reference held-karp; the policy's
# own tours as the reference give a gap of exactly 0.
"$BIN" solve --solver held-karp tsp6.txt --problem tsp --out hk6.txt >/dev/null 2>&1
"$BIN" eval pomo1/checkpoint --instances tsp6.txt --reference held-karp --json >eval_hk.json 2>/dev/null
expect_ok "eval pomo --optimum" '"reference":"solutions in hk6.txt"' eval pomo1/checkpoint --instances tsp6.txt --optimum hk6.txt --json
check "eval --optimum: the gap and every objective as with --reference held-karp" python3 -c '
import json, sys
a, b = json.load(open(sys.argv[1])), json.loads(open(sys.argv[2]).read())
assert len(a["objectives"]) == 5 and a["objectives"] == b["objectives"], (a, b)
assert all(abs(x - y) < 1e-12 for x, y in zip(a["reference_objectives"], b["reference_objectives"])), (a, b)
assert abs(a["gap_percent"] - b["gap_percent"]) < 1e-9' eval_hk.json "$OUT"
expect_ok "eval pomo --optimum its own tours" '"gap_percent":0(\.0)?[,}]' \
  eval pomo1/checkpoint --instances tsp6.txt --decode multistart_aug8 --optimum tours6.txt --json
head -n 4 hk6.txt >hk6_short.txt
expect_error "eval --optimum: a line short" 2 "'hk6_short.txt' holds 4 solutions, 'tsp6.txt' 5 instances" \
  eval pomo1/checkpoint --instances tsp6.txt --optimum hk6_short.txt
sed '2s/^0 /O /' hk6.txt >hk6_typo.txt
expect_error "eval --optimum: a typo" 2 "hk6_typo.txt:2: tsp solution: 'O' is not an integer" \
  eval pomo1/checkpoint --instances tsp6.txt --optimum hk6_typo.txt
sed '3s/.*/0 1 2 3 4 4/' hk6.txt >hk6_bad.txt
expect_error "eval --optimum: not a tour" 2 "solution 3 does not fit instance 3 of 'tsp6.txt'" \
  eval pomo1/checkpoint --instances tsp6.txt --optimum hk6_bad.txt
expect_error "eval --optimum with --reference" 2 "--optimum and --reference both give the gap's reference" \
  eval pomo1/checkpoint --instances tsp6.txt --optimum hk6.txt --reference held-karp
expect_ok "eval pomo sample:4 on TSPLIB" "mean length" eval pomo1/checkpoint --instances hand4.tsp --decode sample:4 --reference none
expect_error "eval pomo without --instances" 2 "needs --instances FILE" eval pomo1/checkpoint
expect_error "eval pomo bad decode" 2 "unknown decode 'beam'; use greedy, sample:N, multistart or multistart_aug8" \
  eval pomo1/checkpoint --instances tsp6.txt --decode beam
expect_error "eval pomo sample:0" 2 "sample:N needs an integer N in \[1, 4096\]" eval pomo1/checkpoint --instances tsp6.txt --decode sample:0
expect_error "eval pomo missing instances" 2 "cannot open instances 'nope.txt'|nope.txt" eval pomo1/checkpoint --instances nope.txt
expect_error "eval pomo bad instance file" 2 "badtsp.txt:2: tsp: 'O'" eval pomo1/checkpoint --instances badtsp.txt
printf 'NAME : one\nTYPE : TSP\nDIMENSION : 1\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\nEOF\n' >one.tsp
expect_error "eval pomo --instances /dev/zero (it hung reading forever)" 2 "instances '/dev/zero' is a device, not a file" \
  eval pomo1/checkpoint --instances /dev/zero
expect_error "eval of /dev/zero as a checkpoint" 1 "'/dev/zero': not a PolicyLab checkpoint \\(bad magic bytes\\)" eval /dev/zero
expect_error "eval pomo on a one-city TSPLIB file" 2 "one.tsp:3: TSPLIB: DIMENSION .* must be an integer in \\[2, 100000\\], got '1'" \
  eval pomo1/checkpoint --instances one.tsp
expect_error "eval pomo unknown reference" 2 "--reference: unknown solver 'exact' for tsp" eval pomo1/checkpoint --instances tsp6.txt --reference exact
expect_error "eval pomo --episodes names the flag that does not apply" 2 \
  "--episodes does not apply to 'pomo1/checkpoint', which holds pomo on tsp6 \(a combinatorial problem\): eval takes --instances" \
  eval pomo1/checkpoint --instances tsp6.txt --episodes 3
printf 'NAME : two\nTYPE : TSP\nDIMENSION : 4\nDIMENSION : 5\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1 0\n3 1 1\n4 0 1\nEOF\n' >twodim.tsp
expect_error "a TSPLIB file with two DIMENSION lines (the later won; the node lines were blamed)" 2 \
  "twodim.tsp:4: TSPLIB: a second DIMENSION line \(the first said 4\)" eval pomo1/checkpoint --instances twodim.tsp
expect_error "eval env checkpoint --instances" 2 "--instances, --decode, --reference, --optimum and --out apply to combinatorial-problem checkpoints" \
  eval run1/checkpoint --instances tsp6.txt
expect_error "pomo config: n_heads must divide d_model" 2 "n_heads" train pomo.json --set n_heads=3 --out pomo2
expect_error "pomo config: unknown baseline" 2 "field 'baseline' must be one of: pomo, rollout, exponential, critic, poppy" \
  train pomo.json --set baseline=actor --out pomo2
# Poppy: a population warm-started from the single policy above (its decoder cloned per agent).
expect_ok "train poppy from a pomo checkpoint" "^done: pomo on tsp6, 2 gradient steps" \
  train pomo.json --set baseline=poppy --set population=3 --set max_steps=2 --set init_from=pomo1/checkpoint --out poppy1
check "poppy metrics: each agent's wins" grep -q '"agent2_wins":' poppy1/metrics.jsonl
expect_ok "eval a poppy population" "^  gap +[0-9.]+% \(mean over instances\)$" eval poppy1/checkpoint --instances tsp6.txt --decode multistart
expect_error "poppy needs a population" 2 "field 'population' must be >= 2 with baseline poppy" \
  train pomo.json --set baseline=poppy --out poppy2
expect_error "a population needs poppy" 2 "baseline 'pomo' trains one agent, got population 2" \
  train pomo.json --set population=2 --out poppy2
expect_error "a population's checkpoint does not start a single policy" 1 "init_from 'poppy1/checkpoint': .*does not match" \
  train pomo.json --set init_from=poppy1/checkpoint --out poppy2
expect_error "pomo --total-timesteps" 2 "--total-timesteps: algo 'pomo' trains on a combo task" train pomo.json --total-timesteps 5
# CVRP and knapsack policies: train, eval against their default references, errors by name.
expect_ok "train pomo cvrp" "^done: pomo on cvrp6, 4 gradient steps .*held-out greedy length [0-9.]+, gap -?[0-9.]+%" \
  train pomo.json --set problem=cvrp --out pomo_cvrp
"$BIN" solve --generate cvrp --n 10 --count 3 --seed 2 --out cvrp10.txt >/dev/null 2>&1
expect_ok "eval pomo cvrp aug8 against savings" "^  reference        savings, mean " \
  eval pomo_cvrp/checkpoint --instances cvrp10.txt --decode multistart_aug8 --out routes10.txt
check "eval pomo cvrp --out writes routes from the depot" grep -Eq '^0( [0-9]+)+ 0  # length [0-9.]+$' routes10.txt
expect_error "eval pomo cvrp on a tsp file" 2 "cvrp" eval pomo_cvrp/checkpoint --instances tsp6.txt
expect_ok "train pomo knapsack" "^done: pomo on knapsack6, 4 gradient steps .*held-out greedy value [0-9.]+" \
  train pomo.json --set problem=knapsack --out pomo_kp
"$BIN" solve --generate knapsack --n 50 --count 2 --seed 2 --out kp50.txt >/dev/null 2>&1
expect_ok "eval pomo knapsack against branch and bound" "^  reference        branch-and-bound, mean " \
  eval pomo_kp/checkpoint --instances kp50.txt --decode multistart
expect_error "eval pomo knapsack aug8" 2 "not knapsack; use multistart" eval pomo_kp/checkpoint --instances kp50.txt --decode multistart_aug8
expect_error "pomo knapsack with a TSP reference" 2 "field 'reference'.*held-karp" train pomo.json --set problem=knapsack --set reference=held-karp --out pomo_kp2
# TSP and CVRP with BQ-NCO's re-encoding policy: train, eval of datasets and a TSPLIB file, errors by name.
expect_ok "train pomo tsp reencode" "^done: pomo on tsp6, 4 gradient steps .*held-out greedy length [0-9.]+, gap [0-9.]+% \(multi-start" \
  train pomo.json --set reencode=true --out pomo_re
expect_ok "eval pomo tsp reencode multistart_aug8 --out" "^  gap +[0-9.]+% \(mean over instances\)$" \
  eval pomo_re/checkpoint --instances tsp6.txt --decode multistart_aug8 --out tours_re.txt
check "eval pomo tsp reencode --out writes a tour per instance" test "$(wc -l <tours_re.txt)" -eq 5
expect_ok "eval pomo tsp reencode on TSPLIB" "mean length" eval pomo_re/checkpoint --instances hand4.tsp --reference none
expect_error "reencode with the critic baseline" 2 \
  "field 'reencode': the re-encoding policy trains with baseline pomo, rollout or exponential, got critic" \
  train pomo.json --set reencode=true --set baseline=critic --out pomo_re2
expect_error "reencode on knapsack" 2 "field 'reencode' applies when problem is tsp or cvrp, but problem is knapsack" \
  train pomo.json --set reencode=true --set problem=knapsack --out pomo_re2
expect_ok "train pomo cvrp reencode" "^done: pomo on cvrp6, 4 gradient steps .*held-out greedy length [0-9.]+, gap -?[0-9.]+%" \
  train pomo.json --set reencode=true --set problem=cvrp --out pomo_cvrp_re
expect_ok "eval pomo cvrp reencode aug8 against savings" "^  reference        savings, mean " \
  eval pomo_cvrp_re/checkpoint --instances cvrp10.txt --decode multistart_aug8 --out routes_re10.txt
check "eval pomo cvrp reencode --out writes routes from the depot" grep -Eq '^0( [0-9]+)+ 0  # length [0-9.]+$' routes_re10.txt
expect_error "an attention-model checkpoint does not start a re-encoding run" 1 \
  "init_from 'pomo1/checkpoint': .*does not match.*field 'reencode' is false there, true here" \
  train pomo.json --set reencode=true --set init_from=pomo1/checkpoint --out pomo_re2
# Job-shop policy (re-encoding every dispatching state): train, eval of a generated dataset and of
# a standard file against branch and bound, errors by name.
expect_ok "train pomo jobshop" "^done: pomo on jobshop5x3, 4 gradient steps .*held-out greedy makespan [0-9.]+, gap [0-9.]+%" \
  train pomo.json --set problem=jobshop --set n=5 --set machines=3 --out pomo_js
"$BIN" solve --generate jobshop --n 5 --m 3 --count 4 --seed 2 --out js5.txt >/dev/null 2>&1
expect_ok "eval pomo jobshop against branch and bound" "^  reference        branch-and-bound, mean " \
  eval pomo_js/checkpoint --instances js5.txt --decode multistart --out js5.sol
check "eval pomo jobshop --out writes a schedule per instance" test "$(wc -l <js5.sol)" -eq 4
printf '3 3\n0 3 1 2 2 2\n0 2 2 1 1 4\n1 4 2 3 0 1\n' >js3.txt
expect_ok "eval pomo jobshop on a standard file, sample:4" "^  mean makespan " \
  eval pomo_js/checkpoint --instances js3.txt --decode sample:4
expect_error "eval pomo jobshop aug8" 2 "multistart_aug8.*jobshop decodes greedy, sample:N or multistart" \
  eval pomo_js/checkpoint --instances js5.txt --decode multistart_aug8
expect_error "eval pomo jobshop on a tsp file" 2 "jobshop" eval pomo_js/checkpoint --instances tsp6.txt
expect_ok "train pomo jobshop with the rollout baseline" "^done: pomo on jobshop5x3, 4 gradient steps .*held-out greedy makespan [0-9.]+" \
  train pomo.json --set problem=jobshop --set n=5 --set machines=3 --set baseline=rollout --set bl_interval=2 \
  --set bl_eval_size=4 --out pomo_js3
expect_error "pomo jobshop with the critic baseline" 2 "field 'baseline': critic applies when problem is tsp, cvrp or knapsack, but problem is jobshop .there use pomo, rollout, exponential." \
  train pomo.json --set problem=jobshop --set baseline=critic --out pomo_js2
expect_error "pomo jobshop 7 jobs with branch and bound" 2 "field 'reference': branch-and-bound solves job-shop up to 6 x 6" \
  train pomo.json --set problem=jobshop --set n=7 --set reference=branch-and-bound --out pomo_js2
expect_error "pomo jobshop machines 0" 2 "machines" train pomo.json --set problem=jobshop --set machines=0 --out pomo_js2
expect_error "pomo tsp with machines" 2 "field 'machines' applies when problem is jobshop, but problem is tsp" train pomo.json --set machines=4 --out pomo_js2
# Online bin-packing policies (the same re-encoding run): train, eval against best fit, errors by name.
expect_ok "train pomo binpack1d" "^done: pomo on binpack1d6, 4 gradient steps .*held-out greedy bins [0-9.]+, gap -?[0-9.]+%" \
  train pomo.json --set problem=binpack1d --set samples=4 --out pomo_bp1
"$BIN" solve --generate binpack1d --n 40 --count 3 --seed 2 --out bp40.txt >/dev/null 2>&1
expect_ok "eval pomo binpack1d against best fit" "^  reference        best-fit, mean " \
  eval pomo_bp1/checkpoint --instances bp40.txt --decode sample:4 --out bp40.sol
check "eval pomo binpack1d --out writes a packing per instance" test "$(wc -l <bp40.sol)" -eq 3
expect_error "eval pomo binpack1d multistart" 2 "binpack1d decodes greedy or sample:N" \
  eval pomo_bp1/checkpoint --instances bp40.txt --decode multistart
expect_ok "train pomo binpack3d" "^done: pomo on binpack3d6, 2 gradient steps .*held-out greedy utilisation [0-9.]+" \
  train pomo.json --set problem=binpack3d --set max_steps=2 --out pomo_bp3
"$BIN" solve --generate binpack3d --n 30 --count 2 --seed 2 --out bp3.txt >/dev/null 2>&1
expect_ok "eval pomo binpack3d against first fit" "^  reference        first-fit, mean " \
  eval pomo_bp3/checkpoint --instances bp3.txt --reference first-fit
expect_ok "train pomo binpack1d with the exponential baseline" "^done: pomo on binpack1d6, 4 gradient steps " \
  train pomo.json --set problem=binpack1d --set samples=4 --set baseline=exponential --out pomo_bp4
expect_error "pomo binpack1d with the poppy baseline" 2 "field 'baseline': poppy applies when problem is tsp, cvrp or knapsack, but problem is binpack1d .there use pomo, rollout, exponential." \
  train pomo.json --set problem=binpack1d --set baseline=poppy --set population=2 --out pomo_bp2
expect_error "pomo tsp with samples" 2 "field 'samples' applies when problem is binpack1d or binpack3d, but problem is tsp" \
  train pomo.json --set samples=4 --out pomo_bp2
expect_error "pomo binpack3d with machines" 2 "field 'machines' applies when problem is jobshop, but problem is binpack3d" \
  train pomo.json --set problem=binpack3d --set machines=4 --out pomo_bp2

pretrained_gap tsp20 pomo_tsp20.plck "tsp --n 20" local-search 0.3
pretrained_gap tsp50 pomo_tsp50.plck "tsp --n 50" branch-and-bound 2.0
expect_ok "eval TSP50 without --reference: the exact branch and bound" "^  reference        branch-and-bound, mean " \
  eval "$PRETRAINED/pomo_tsp50.plck" --instances pre_tsp50.txt
"$BIN" solve --generate tsp --n 51 --count 1 --out tsp51.txt >/dev/null 2>&1
expect_ok "eval past 50 cities without --reference" "^  time/instance" eval "$PRETRAINED/pomo_tsp50.plck" --instances tsp51.txt
check "... has no reference and no gap" sh -c "! grep -Eq '^  (reference|gap) ' '$OUT'"
pretrained_gap cvrp20 pomo_cvrp20.plck "cvrp --n 20" savings 2.0
pretrained_gap knapsack50 pomo_knapsack50.plck "knapsack --n 50" branch-and-bound 0.2
pretrained_gap jobshop6x6 pomo_jobshop6x6.plck "jobshop --n 6 --m 6" branch-and-bound 10

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
