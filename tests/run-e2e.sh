#!/usr/bin/env bash
# run-e2e.sh - every integration script, one after another: e2e.sh and
# e2e-explain.sh first (the core), then each tests/e2e-*.sh in name order, so a
# new script joins `make check` and `make sanitize` by being there.  A failing
# script does not stop the others (one run shows every failure); the exit
# status is non-zero if any failed.  OUTPUT names the build, as for each script.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts=(tests/e2e.sh tests/e2e-explain.sh)
for s in tests/e2e-*.sh; do
	case $s in tests/e2e-common.sh | tests/e2e-explain.sh) continue ;; esac
	scripts+=("$s")
done
failed=()
for s in "${scripts[@]}"; do
	echo "== $s"
	bash "$s" || failed+=("$s")
done
if [ ${#failed[@]} != 0 ]; then
	echo "integration scripts that failed: ${failed[*]}" >&2
	exit 1
fi
echo "integration scripts: all ${#scripts[@]} passed"
