#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/insns.sh - what each plugin costs per guest block in host
# instructions, counted by valgrind's callgrind: the same every run,
# whatever else the machine is doing, so it shows a change the noisy wall
# times of bench/run.sh cannot (on this kind of machine those move by 10-40%
# between runs).  It counts instructions, not time: a store or a cache miss
# costs more than an add, so it complements the wall-time ratios, it does
# not replace them.
#
# Usage: bash bench/insns.sh        (after make; about a minute)
#
# For each guest, the host instructions QEMU executes are counted at two
# lengths of the same guest; the difference divided by the difference in
# blocks is the cost of one more block, start-up cancelled out:
#   plain, count (the counting plugin), store (one store per block), plugin
# (liblockstep.so, no monitor; under valgrind its chunk fold runs 4-lane, as
# valgrind has no AVX-512).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

OUT=${OUTPUT:-.output}
QEMU=${QEMU:-qemu-x86_64}
command -v valgrind >/dev/null || { echo "insns: valgrind is not installed (make deps)" >&2; exit 1; }
for f in "$OUT/liblockstep.so" "$OUT/libcountblocks.so" "$OUT/libstoreblocks.so" "$OUT/guests/intloop" "$OUT/guests/calls"; do
	[[ -e $f ]] || { echo "insns: $f is missing: run make first" >&2; exit 1; }
done

# count CONFIG GUEST ARG: host instructions of one run
count() {
	local p=()
	case $1 in
	count) p=(-plugin "$OUT/libcountblocks.so") ;;
	store) p=(-plugin "$OUT/libstoreblocks.so") ;;
	plugin) p=(-plugin "$OUT/liblockstep.so") ;;
	esac
	valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file=/dev/null \
		"$QEMU" "${p[@]}" "$OUT/guests/$2" "$3" 2>&1 >/dev/null | sed -n 's/.*Collected : //p'
}

# blocks GUEST ARG: guest blocks of one run (the counting plugin's exit line)
blocks() {
	"$QEMU" -plugin "$OUT/libcountblocks.so" "$OUT/guests/$1" "$2" 2>&1 >/dev/null | sed -n 's/^countblocks: \([0-9]*\) blocks/\1/p'
}

echo "host instructions per guest block (callgrind; exact, so one run is enough)"
printf '%-10s %10s %10s %10s %10s   %s\n' guest plain count store plugin "plugin/count, plugin/store"
for spec in "intloop 1000000 3000000" "calls 20 24"; do
	read -r g a1 a2 <<<"$spec"
	db=$(($(blocks "$g" "$a2") - $(blocks "$g" "$a1")))
	declare -A per=()
	for c in plain count store plugin; do
		n1=$(count "$c" "$g" "$a1")
		n2=$(count "$c" "$g" "$a2")
		per[$c]=$(awk -v a="$n1" -v b="$n2" -v d="$db" 'BEGIN { printf "%.2f", (b - a) / d }')
	done
	printf '%-10s %10s %10s %10s %10s   %s\n' "$g" "${per[plain]}" "${per[count]}" "${per[store]}" "${per[plugin]}" \
		"$(awk -v p="${per[plugin]}" -v c="${per[count]}" -v s="${per[store]}" 'BEGIN { printf "%.3fx, %.3fx", p / c, p / s }')"
done
