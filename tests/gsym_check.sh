#!/usr/bin/env bash
# gsym_check.sh - guest symbolization and disassembly on real QEMU runs.
#
# Runs the sleeper guest (static-PIE x86_64, static aarch64; at QEMU's own
# guest_base and at one forced with -B) with QEMU's -d in_asm log, reads the
# QEMU's /proc/PID/maps while the guest sleeps, and has gsym-probe (user/gsym.c
# and user/disasm.c, as the monitor uses them) symbolize and disassemble the
# pcs of the blocks QEMU logged.  QEMU names each block's function itself
# ("IN: work") and prints its instructions: every named block must get the
# same name (or an alias at the same address), and the first instruction of
# each block the same length and mnemonic.  Needs no privileges.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUTPUT:-.output}
PROBE=$OUT/tests/gsym-probe
G=$OUT/guests
for f in "$PROBE" "$G/pie/sleeper" "$G/aarch64/sleeper"; do
	[ -x "$f" ] || { echo "gsym_check: $f missing: run make first" >&2; exit 2; }
done
TMP=$(mktemp -d /tmp/lockstep-gsym.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); echo "  ok   $*"; }
bad() { failed=$((failed + 1)); echo "  FAIL $*"; }

# same_insn E_MACHINE QEMU_LEN QEMU_TEXT OUR_LEN OUR_TEXT: QEMU's log (Capstone
# too) against ours.  aarch64: the same text.  x86: QEMU prints AT&T syntax,
# we print Intel: the same length and the same mnemonic up to the AT&T size
# suffix and the few names the two syntaxes spell differently.
same_insn() {
	local machine=$1 qlen=$2 qt=$3 plen=$4 pt=$5
	if [ "$machine" = 183 ]; then # undecodable (SVE in Capstone 4): the same .byte text, our length -1
		[ "$qlen" = "$plen" -o "$plen" = -1 ] && [ "$(echo $qt)" = "$(echo $pt)" ]
		return
	fi
	if [ "$qlen" -lt 8 ]; then [ "$qlen" = "$plen" ] || return 1; else [ "$plen" -ge 8 ] || return 1; fi
	local qm=${qt%% *} pm=${pt%% *}
	case "$qm/$pm" in
	cltq/cdqe | cqto/cqo | cltd/cdq | cwtl/cwde | movz*/movzx | movs*/movsx* | movabs*/mov | movd/movq) return 0 ;;
	esac
	[[ $qm == "$pm"* ]]
}

# check NAME QEMU GUEST GUEST_BASE [QEMU-OPTION...]
check() {
	local name=$1 qemu=$2 guest=$3 base=$4
	shift 4
	local log=$TMP/$name.log maps=$TMP/$name.maps
	echo "$name: $qemu $* $guest"
	"$qemu" "$@" -d in_asm -D "$log" "$guest" 20000 5 >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		grep -q '^IN: work$' "$log" 2>/dev/null && break
		sleep 0.05
	done
	sleep 0.2 # the rest of the first work() call, then it sleeps
	if ! cp "/proc/$pid/maps" "$maps" 2>/dev/null || ! grep -q '^IN: work$' "$log"; then
		bad "$name: QEMU did not get to work() (or exited)"
		kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
		return
	fi
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
	echo "    maps (guest part):"
	grep -F "$(realpath "$guest")" "$maps" | sed 's/^/      /'

	# Each logged block: pc, QEMU's name for it, then its first instruction's
	# byte count (QEMU wraps x86 bytes after 8) and text, tab-separated.
	awk 'function hex(s, n) { return length(s) == n && s ~ /^[0-9a-f]+$/ }
		/^IN: / { name = substr($0, 5); getline; if (name == "" || $1 !~ /^0x/) next
		pc = $1; sub(":", "", pc); n = 0; i = 2
		for (; i <= NF; i++) { if (hex($i, 2)) n++; else if (hex($i, 8)) n += 4; else break }
		t = $i; for (i++; i <= NF; i++) t = t " " $i
		print pc "\t" name "\t" n "\t" t }' "$log" | sort -u -t$'\t' -k1,1 | head -n 400 >"$TMP/$name.blocks"
	local nblocks
	nblocks=$(wc -l <"$TMP/$name.blocks")
	[ "$nblocks" -gt 20 ] || { bad "$name: only $nblocks named blocks in QEMU's log"; return; }
	# shellcheck disable=SC2046
	"$PROBE" -b "$base" "$maps" $(cut -f1 "$TMP/$name.blocks") >"$TMP/$name.probe" 2>"$TMP/$name.err"
	local machine main
	read -r _ machine main < <(head -n 1 "$TMP/$name.probe")
	[ "$main" = "$(realpath "$guest")" ] && ok "main program: $main (e_machine $machine)" ||
		bad "main program: '$main', want $(realpath "$guest")"

	# Symbol values from nm, to accept an alias (same address) of QEMU's name.
	nm "$guest" | awk '{ print $3, $1 }' | sort -u >"$TMP/$name.nm"
	local mism=0 dmism=0 checked=0 work_line=""
	while IFS=$'\t' read -r pc qname qlen qinsn && IFS=$'\t' read -r ppc psym pvaddr plen pinsn <&3; do
		checked=$((checked + 1))
		[ "$qname" = work ] && [ -z "$work_line" ] && work_line="$pc -> $psym (link-time $pvaddr): $pinsn"
		local ours=${psym%%+*}
		ours=${ours%% (*}
		if [ "$ours" != "$qname" ]; then
			local a b
			a=$(awk -v s="$ours" '$1 == s { print $2; exit }' "$TMP/$name.nm")
			b=$(awk -v s="$qname" '$1 == s { print $2; exit }' "$TMP/$name.nm")
			if [ -z "$a" ] || [ "$a" != "$b" ]; then
				mism=$((mism + 1))
				[ $mism -le 5 ] && echo "      $pc: QEMU says $qname, we say $psym"
			fi
		fi
		if ! same_insn "$machine" "$qlen" "$qinsn" "$plen" "$pinsn"; then
			dmism=$((dmism + 1))
			[ $dmism -le 5 ] && echo "      $pc: QEMU: $qlen bytes '$qinsn', we: $plen bytes '$pinsn'"
		fi
		ppc=$((ppc)) # (read for alignment with the blocks file)
	done <"$TMP/$name.blocks" 3< <(tail -n +2 "$TMP/$name.probe")
	[ -n "$work_line" ] && echo "    e.g. $work_line"
	[ "$mism" = 0 ] && ok "$checked blocks: the symbol QEMU names" || bad "$mism of $checked blocks named otherwise"
	[ "$dmism" = 0 ] && ok "$checked blocks: first instruction decoded alike" ||
		bad "$dmism of $checked first instructions decoded otherwise"
}

# QEMU 7.2 on an x86_64 host picks guest_base 0 for these guests (the
# plugin reports the real value to the monitor); -B forces another one.
check x86_64-static-pie qemu-x86_64 "$G/pie/sleeper" 0
check x86_64-static-pie-B qemu-x86_64 "$G/pie/sleeper" 0x100000000000 -B 0x100000000000
check x86_64-static qemu-x86_64 "$G/sleeper" 0
check aarch64-static qemu-aarch64 "$G/aarch64/sleeper" 0
check aarch64-static-B qemu-aarch64 "$G/aarch64/sleeper" 0x200000000000 -B 0x200000000000

echo "gsym_check: $passed passed, $failed failed"
[ "$failed" = 0 ]
