#!/usr/bin/env bash
# The reproduction of the crash-safety issue, repeated: index a folder, `kill -9` the indexer
# after a delay, run `brain index` again, and compare the counts and `brain check` with a clean
# index of the same folder. Delays are spread evenly over the clean run's length.
#
#   bench/kill-resume.sh FOLDER [RUNS] [BRAIN]     (default: 50 runs, target/release/brain)
set -euo pipefail
folder=$(realpath "$1"); runs=${2:-50}
brain=${3:-${CARGO_TARGET_DIR:-$HOME/.cache/corporate-brain/target}/release/brain}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
counts() { "$brain" status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["files"]["indexed"], d["files"]["failed"], d["chunks"])'; }

export BRAIN_DATA_DIR=$work/clean
"$brain" folders add "$folder" >/dev/null
start=$(date +%s.%N); "$brain" index >/dev/null; clean_s=$(echo "$(date +%s.%N) - $start" | bc)
clean=$(counts)
echo "clean index: $clean (files indexed, failed, chunks) in ${clean_s%.*} s"
ok=0
for i in $(seq 1 "$runs"); do
  delay=$(echo "scale=2; 0.5 + ($clean_s - 1) * ($i - 0.5) / $runs" | bc)
  export BRAIN_DATA_DIR=$work/run-$i
  "$brain" folders add "$folder" >/dev/null
  "$brain" index >/dev/null 2>&1 & pid=$!
  sleep "$delay"; kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  killed=$(counts)
  "$brain" index >/dev/null 2>&1
  resumed=$(counts)
  checked=$("$brain" check >/dev/null 2>&1 && echo ok || echo BROKEN)
  verdict=$([[ "$resumed" == "$clean" && $checked == ok ]] && echo same || echo DIFFERENT)
  [[ $verdict == same ]] && ok=$((ok + 1))
  echo "run $i: killed after $delay s with ($killed) committed; resumed: ($resumed), check $checked: $verdict"
  rm -rf "$BRAIN_DATA_DIR"
done
echo "$ok of $runs resumed runs equal the clean index"
[[ $ok == "$runs" ]]
