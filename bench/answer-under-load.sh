#!/usr/bin/env bash
# First-token time and tokens/s of `brain ask`, idle and while `brain index` indexes a large
# folder into the same data dir (as the app's watcher does while people ask), as a ratio.
#
#   bench/answer-under-load.sh [BRAIN] [LARGE_FOLDER] [QUESTIONS_PER_SIDE]
#   LOAD=tune bench/answer-under-load.sh   the load is `brain tune` writing questions instead
#
# BRAIN defaults to the release build, LARGE_FOLDER to the staff handbook of ../shared/data.
# Every ask loads the model (a fresh process), so model loading is reported apart from
# first-token time. The model is the configured default (`brain models use`), or $BRAIN_LLM.
set -euo pipefail
cd "$(dirname "$0")/.."
BRAIN=${1:-${CARGO_TARGET_DIR:-$HOME/.cache/corporate-brain/target}/release/brain}
LARGE=${2:-../shared/data/company-docs/handbook-18f/pages}
N=${3:-3}
export BRAIN_DATA_DIR=$(mktemp -d)
trap 'kill $indexer 2>/dev/null || true; rm -rf "$BRAIN_DATA_DIR"' EXIT
indexer=

"$BRAIN" folders add assets/sample-docs >/dev/null
"$BRAIN" index >/dev/null
questions=("What should I do if I lose my laptop?" "How many days of annual leave do employees get?" "When is a doctor's note needed?"
  "Who approves travel expenses?" "How long can a sabbatical last?")

# Every question is asked of the sample documents only (`--folder`): the folder indexed beside
# them would otherwise give the loaded side other sources, a longer prompt and a slower first
# token for a reason that is not the load. The prompt's size is printed to show they match.
ask() { # prints "first_token_ms tokens_per_second model_load_ms prompt_tokens"
  "$BRAIN" ask "$1" --folder "$PWD/assets/sample-docs" --json |
    python3 -c 'import json,sys; a=json.load(sys.stdin); t=a["timings_ms"]; print(t.get("first_token_ms") or 0, t["tokens_per_second"], t["model_load_ms"], a["prompt_tokens"])'
}

run_side() {
  for ((i = 0; i < N; i++)); do ask "${questions[i % ${#questions[@]}]}"; done
}

echo "idle:"
idle=$(run_side); echo "$idle"
if [ "${LOAD:-index}" = tune ]; then
  "$BRAIN" tune --questions 100 >/dev/null 2>&1 &
  indexer=$!
  sleep 8 # the model is loaded and writing questions
  echo "while brain tune writes questions:"
else
  "$BRAIN" folders add "$LARGE" >/dev/null
  "$BRAIN" index >/dev/null 2>&1 &
  indexer=$!
  sleep 8 # the indexer is past loading its models and embedding
  echo "while indexing $LARGE:"
fi
busy=$(run_side); echo "$busy"
still=$(kill -0 $indexer 2>/dev/null && echo yes || echo no)
echo "load still running at the end: $still"
python3 - "$idle" "$busy" <<'EOF'
import statistics, sys
def cols(s):
    rows = [list(map(float, l.split())) for l in s.strip().splitlines()]
    return [r[0] for r in rows], [r[1] for r in rows]
(ift, itps), (bft, btps) = cols(sys.argv[1]), cols(sys.argv[2])
m = statistics.median
print(f"first token p50: idle {m(ift):.0f} ms, under load {m(bft):.0f} ms; ratio idle/load {m(ift)/m(bft):.2f}")
print(f"tokens/s median: idle {m(itps):.1f}, under load {m(btps):.1f}; ratio load/idle {m(btps)/m(itps):.2f}")
EOF
