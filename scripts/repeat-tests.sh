#!/usr/bin/env bash
# Runs the full `npm test` several times in a row, one run with a CPU hog (a busy loop on one
# core) beside it, and lists each run's result and duration: a test that fails only on a busy
# machine shows up here. Logs go to a temp directory, named at the end.
#   scripts/repeat-tests.sh            # 5 runs, the 5th beside a CPU hog
#   RUNS=3 HOG_RUN=1 scripts/repeat-tests.sh
set -uo pipefail
cd "$(dirname "$0")/.."
runs="${RUNS:-5}"
hog_run="${HOG_RUN:-$runs}"
logs="$(mktemp -d -t shardline-repeat-XXXXXX)"
hog=""
stop_hog() {
  if [ -n "$hog" ]; then kill "$hog" 2>/dev/null; wait "$hog" 2>/dev/null; hog=""; fi
}
trap stop_hog EXIT

results=()
failed=0
for ((run = 1; run <= runs; run++)); do
  beside="quiet"
  if [ "$run" = "$hog_run" ]; then
    node -e 'for (;;) {}' &
    hog=$!
    beside="CPU hog (pid $hog)"
  fi
  started=$SECONDS
  npm test </dev/null >"$logs/run-$run.log" 2>&1
  code=$?
  stop_hog
  took=$((SECONDS - started))
  # vitest's closing counts, without colour codes.
  counts="$(sed 's/\x1b\[[0-9;]*m//g' "$logs/run-$run.log" | grep -E '^ +Tests ' | tail -n 1 | sed 's/^ *//')"
  [ "$code" = 0 ] || failed=$((failed + 1))
  line="$(printf 'run %d  %-20s exit %d  %4ss  %s' "$run" "$beside" "$code" "$took" "${counts:-no vitest summary (see log)}")"
  results+=("$line")
  echo "$line"
done

printf '\n=== %d runs of npm test, %d failed (logs in %s)\n' "$runs" "$failed" "$logs"
for r in "${results[@]}"; do printf '  %s\n' "$r"; done
[ "$failed" = 0 ]
