#!/usr/bin/env bash
# `make test-under-load`: the whole suite, RUNS times in a row (default 3), while two busy-loop
# processes load both cores — the suite must not depend on how fast this machine is.
# Usage: scripts/test-under-load.sh PYTHON [pytest args...]
set -euo pipefail
PY="$1"; shift
RUNS="${RUNS:-3}"
busy=()
cleanup() { for pid in "${busy[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
for _ in 1 2; do
  "$PY" -c 'while True: pass' &
  busy+=("$!")
done
echo "test-under-load: 2 busy loops (pids ${busy[*]}); $RUNS runs of the suite"
for run in $(seq 1 "$RUNS"); do
  echo "=== run $run of $RUNS under load ==="
  bash "$(dirname "$0")/run-tests.sh" "$PY" "$@"
done
