#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/monitor-kill.sh - what a monitor that dies costs the QEMUs it was
# watching.  Side by side, RUNS times (medians): two QEMUs with the plugin and
# no monitor; and two QEMUs with the plugin, a monitor attached that is
# SIGKILLed 0.5 s later (the plugin-only runs are pairs too, so both
# configurations share the CPUs alike).  After the kill the uprobes are gone and the last
# lease (250 ms) runs out, so the QEMUs should finish at plugin-only speed:
# the ratio printed is the monitored-then-orphaned wall time over the
# plugin-only one (both from QEMU start to exit; the first includes 0.5 s
# of monitored running and the lease).
#
# Usage: bash bench/monitor-kill.sh [RUNS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${1:-3}
OUT=${OUTPUT:-.output}
N=1000000000
((EUID == 0)) || { echo "monitor-kill: must run as root" >&2; exit 2; }
now() { date +%s.%N; }
alone=() killed=()
for ((r = 1; r <= RUNS; r++)); do
	t0=$(now)
	qemu-x86_64 -plugin "$OUT/liblockstep.so" "$OUT/guests/intloop" "$N" >/dev/null & a=$!
	qemu-x86_64 -plugin "$OUT/liblockstep.so" "$OUT/guests/intloop" "$N" >/dev/null & b=$!
	wait "$a" "$b"
	alone+=("$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')")
	t0=$(now)
	qemu-x86_64 -plugin "$OUT/liblockstep.so,wait=10s" "$OUT/guests/intloop" "$N" >/dev/null & a=$!
	qemu-x86_64 -plugin "$OUT/liblockstep.so,wait=10s" "$OUT/guests/intloop" "$N" >/dev/null & b=$!
	for p in $a $b; do
		for _ in $(seq 200); do grep -q liblockstep "/proc/$p/maps" 2>/dev/null && break; sleep 0.01; done
	done
	"$OUT/lockstep-bpf" -q --pid "$a" --pid "$b" >/dev/null 2>&1 & m=$!
	sleep 0.5
	kill -9 "$m"
	wait "$m" 2>/dev/null || true
	wait "$a" "$b"
	killed+=("$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')")
done
med() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ma=$(med "${alone[@]}") mk=$(med "${killed[@]}")
echo "monitor-kill: plugin-only pair $ma s; pair whose monitor was SIGKILLed after 0.5 s: $mk s (slower of the two, incl. start-up hold)"
awk -v a="$ma" -v k="$mk" 'BEGIN { printf "monitor-kill: ratio %.2fx (1e9 blocks, %s runs; ~1.0-1.1x expected: monitored for 0.5 s, then plugin-only speed)\n", k / a, '"$RUNS"' }'
