#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/real.sh - block counts and times of the real-program corpus
# (tests/e2e-real.sh): Debian's gzip, sha256sum, sort, xz and python3, on the
# same deterministic inputs.  For each: plain qemu-x86_64 (wall), and
# `lockstep-bpf run` of two QEMUs (wall of the whole command, blocks
# compared, verdict).  Needs root (the monitor).  Prints a Markdown table
# for bench/README.md.
#
# Usage: sudo bash bench/real.sh [--runs N]   (median of N runs, default 3)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUTPUT:-.output}
MON=$OUT/lockstep-bpf
QEMU=${QEMU:-qemu-x86_64}
RUNS=3
[ "${1:-}" = --runs ] && RUNS=$2
TMP=$(mktemp -d /tmp/lockstep-real.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
unset PYTHONHASHSEED

# The same generator as tests/e2e-real.sh (kept in step by hand: a 32-bit LCG over a fixed word list).
sed -n '/^gen_text() {/,/^}/p' tests/e2e-real.sh >"$TMP/gen.sh"
source "$TMP/gen.sh"
gen_text "$TMP/text3m" 3000000
head -c 1000000 "$TMP/text3m" >"$TMP/text1m"
head -c 200000 "$TMP/text3m" >"$TMP/text200k"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'; }

# row LABEL ENV ARGS...: plain and monitored times, blocks and verdict
row() {
	local label=$1 envs=$2
	shift 2
	local plain=() mon=() blocks="" verdict="" t0 t1
	for _ in $(seq "$RUNS"); do
		plain+=("$(secs env $envs "$QEMU" "$@")")
		t0=$(date +%s.%N)
		env $envs "$MON" run -q -o "$TMP/o" -- "$@" >"$TMP/mon" 2>&1
		t1=$(date +%s.%N)
		mon+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }')")
		blocks=$(sed -n 's/^  compared: *\([0-9]*\) blocks.*/\1/p' "$TMP/mon")
		verdict=$(sed -n 's/^result: \(.*\) (exit.*/\1/p' "$TMP/mon")
	done
	printf '| %s | %s | %s | %s | %s |\n' "$label" "$blocks" \
		"$(printf '%s\n' "${plain[@]}" | median)" "$(printf '%s\n' "${mon[@]}" | median)" "$verdict"
}

echo "| program | blocks compared | plain qemu-x86_64 (s) | lockstep-bpf run (s) | verdict |"
echo "|---|---|---|---|---|"
row "gzip -c, 3 MB" "" /usr/bin/gzip -c "$TMP/text3m"
row "sha256sum, 3 MB" "" /usr/bin/sha256sum "$TMP/text3m"
row "sort, 1 MB" "LC_ALL=C" /usr/bin/sort "$TMP/text1m"
row "xz -T1 -c, 200 kB" "" /usr/bin/xz -T1 -c "$TMP/text200k"
row "python3 -c 'print(sum(range(10**6)))', PYTHONHASHSEED=0" "PYTHONHASHSEED=0" /usr/bin/python3 -c 'print(sum(range(10**6)))'
row "the same without PYTHONHASHSEED" "" /usr/bin/python3 -c 'print(sum(range(10**6)))'
row "xz -T2 -c, 1 MB" "" /usr/bin/xz -T2 -c "$TMP/text1m"
