#!/usr/bin/env bash
# valgrind.sh - the unit tests under valgrind memcheck: every forked test
# process is traced, and any report (invalid access, uninitialised value,
# definite leak) fails the run.  Criterion's own exit status cannot carry
# them: a leak is found after the test has already reported success.
set -uo pipefail
cd "$(dirname "$0")/.."
UNIT=${OUTPUT:-.output}/unit-tests
LOG=$(mktemp /tmp/lockstep-valgrind.XXXXXX)
trap 'rm -f "$LOG"' EXIT
command -v valgrind >/dev/null || { echo "valgrind: not installed (make deps installs it)" >&2; exit 2; }
valgrind -q --trace-children=yes --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite "$UNIT" --jobs 2 >"$LOG" 2>&1
rc=$?
tail -n 1 "$LOG"
# With -q valgrind prints only what it found; Criterion's note about --jobs is not a finding.
if [ "$rc" != 0 ] || grep -q '^==[0-9]*== ' "$LOG"; then
	grep -v 'Criterion has detected that it is running under valgrind' "$LOG" | head -n 60
	echo "valgrind: FAILED (exit $rc)" >&2
	exit 1
fi
echo "valgrind: clean"
