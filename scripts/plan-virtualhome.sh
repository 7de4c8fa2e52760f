#!/usr/bin/env bash
# Runs `clea plan` on every problem of Embodied Agent Interface's VirtualHome domain (PyPI
# `virtualhome-eval`, installed into .venv by scripts/setup.sh) and prints the tally:
#   scripts/plan-virtualhome.sh [TIMEOUT_S]      (default 30 s per problem)
# Plans and JSON reports go to target/plan-virtualhome/. tests/tests/pddl_outside.rs checks a
# sample of them against PyVAL and Fast Downward in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
timeout_s=${1:-30}
clea=${CLEA_BIN:-target/debug/clea}
[ -x "$clea" ] || cargo build -q -p clea-launch
vh=$(.venv/bin/python -c "import importlib.util, os; print(os.path.dirname(importlib.util.find_spec('virtualhome_eval').origin))")/resources/virtualhome
out=target/plan-virtualhome
mkdir -p "$out"
solved=0; none=0; limit=0; total=0
for p in $(find "$vh/problem_pddl" -name '*.pddl' | sort); do
  name=$(basename "$(dirname "$p")")-$(basename "$p" .pddl)
  total=$((total + 1))
  rc=0
  "$clea" plan "$vh/virtualhome.pddl" "$p" --json --timeout-s "$timeout_s" --plan-file "$out/$name.plan" > "$out/$name.json" 2> "$out/$name.err" || rc=$?
  if [ $rc -eq 0 ]; then solved=$((solved + 1))
  elif grep -q "no plan exists" "$out/$name.err"; then none=$((none + 1))
  else limit=$((limit + 1)); echo "limit: $name: $(cat "$out/$name.err")"; fi
  printf '\r%d problems: %d plans, %d without a plan, %d over the limit' $total $solved $none $limit >&2
done
echo >&2
echo "{\"problems\": $total, \"plans\": $solved, \"no_plan\": $none, \"over_limit\": $limit, \"timeout_s\": $timeout_s}"
