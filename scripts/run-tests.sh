#!/usr/bin/env bash
# `make test`: the whole suite. The docs test (tests/docs: every README/docs command run as
# written, mostly waiting on subprocesses and emulated plants) runs in a second pytest process
# beside the rest, so the two cores are both used; its report is printed after the rest's.
# With pytest arguments (PYTEST_ARGS, e.g. a test path) it is one plain pytest run.
# Usage: scripts/run-tests.sh PYTHON [pytest args...]
set -uo pipefail
PY="$1"; shift
# bytecode of the project's packages (stamp-checked, so only changed files are compiled): with
# PYTHONDONTWRITEBYTECODE set, every CLI subprocess of the tests would compile them again
"$PY" -m compileall -q -j 0 workbench fmu_models golden_batch spc simulation optimization twin viz twin_app \
  >/dev/null 2>&1 || true
if [ "$#" -gt 0 ]; then
  exec "$PY" -m pytest "$@"
fi
log="$(mktemp -t twin-docs-test.XXXXXX)"
"$PY" -m pytest -m "docs and not docs_with_rest" tests/docs -p no:cacheprovider >"$log" 2>&1 &
docs=$!
trap 'kill "$docs" 2>/dev/null || true' INT TERM
"$PY" -m pytest -m "not docs or docs_with_rest"
rest=$?
wait "$docs"
docs_rc=$?
echo "=== tests/docs (README and docs commands, run beside the suite) ==="
cat "$log"
rm -f "$log"
if [ "$rest" -ne 0 ]; then exit "$rest"; fi
exit "$docs_rc"
