#!/usr/bin/env bash
# e2e.sh - integration tests: real qemu-x86_64 processes with the lockstep
# plugin, under the real lockstep-bpf monitor (BPF uprobes in this kernel).
# Each test could fail; none is skipped in CI.  Needs root (BPF, uprobes).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUTPUT:-.output}
MON=$OUT/lockstep-bpf
PLUGIN=$OUT/liblockstep.so
G=$OUT/guests
QEMU=${QEMU:-qemu-x86_64}
TMP=$(mktemp -d /tmp/lockstep-e2e.XXXXXX)
pass=0 fail=0 pids=()

cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ]; then
	if [ -n "${CI:-}" ]; then
		echo "e2e: FATAL: CI must run these tests as root (BPF and uprobes need it)" >&2
		exit 1
	fi
	echo "################################################################" >&2
	echo "e2e: SKIPPED: not root. BPF uprobe tests need root: sudo make check" >&2
	echo "################################################################" >&2
	exit 0
fi

ok() { pass=$((pass + 1)); echo "  ok   $1"; }
ko() { fail=$((fail + 1)); echo "  FAIL $1"; shift; for l in "$@"; do echo "       $l"; done; }

# start_qemu NAME PLUGIN_ARGS GUEST ARGS...: background QEMU, pid in $qpid, output in $TMP/NAME.out
start_qemu() {
	local name=$1 pargs=$2
	shift 2
	"$QEMU" -plugin "$PLUGIN${pargs:+,$pargs}" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	qpid=$!
	pids+=("$qpid")
	# The monitor needs the plugin mapped: wait until QEMU has loaded it.
	for _ in $(seq 100); do
		grep -q liblockstep "/proc/$qpid/maps" 2>/dev/null && return 0
		sleep 0.05
	done
}

# monitor NAME ARGS...: run lockstep-bpf with a time limit; exit code in $mrc, output in $TMP/NAME.mon
monitor() {
	local name=$1
	shift
	timeout -s INT 120 "$MON" "$@" >"$TMP/$name.mon" 2>&1
	mrc=$?
}

sym() { nm "$1" | awk -v s="$2" '$3 == s { print "0x" $1 }'; }
field() { sed -n "s/.*$1.*/&/p" "$2"; }

# first block (sequence number) at which pc $2 runs, from a plugin-alone dump of guest run
first_block_of() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
pc = int(sys.argv[2], 16)
for i in range(0, len(data), 8):
    w, = struct.unpack_from('<Q', data, i)
    if w & ((1 << 48) - 1) == pc:
        print(i // 8); break
else:
    print(-1)
PY
}

echo "e2e: integration tests with $($QEMU --version | head -1)"

# --- 1. identical runs: no divergence, exit 0, every block compared ------------
t="identical runs report no divergence, exit 0, all blocks compared"
start_qemu a1 "wait=20s,verbose=on" "$G/branchy" a 2000000; A=$qpid
start_qemu b1 "wait=20s,verbose=on" "$G/branchy" a 2000000; B=$qpid
monitor t1 --pid "$A" --pid "$B"
wait "$A" "$B"
blocks=$(sed -n 's/.*exit: 1 stream(s), \([0-9]*\) blocks.*/\1/p' "$TMP/a1.err")
compared=$(sed -n 's/.*compared: *\([0-9]*\) blocks.*/\1/p' "$TMP/t1.mon")
if [ "$mrc" = 0 ] && grep -q "result: no divergence" "$TMP/t1.mon" && [ -n "$blocks" ] && [ "$compared" = "$blocks" ] &&
	cmp -s "$TMP/a1.out" "$TMP/b1.out"; then
	ok "$t ($compared blocks)"
else
	ko "$t" "exit=$mrc compared=$compared plugin-blocks=$blocks" "$(cat "$TMP/t1.mon")"
fi

# --- 2. divergence: exit 1, right pcs and block number ---------------------------
t="divergent runs: exit 1, pcs are path_a/path_b, block number matches a plugin-alone run"
pa=$(sym "$G/branchy" path_a)
pb=$(sym "$G/branchy" path_b)
"$QEMU" -plugin "$PLUGIN,dump=$TMP/alone.bin" "$G/branchy" a 2000000 >/dev/null
want=$(first_block_of "$TMP/alone.bin" "$pa")
start_qemu a2 "wait=20s" "$G/branchy" a 2000000; A=$qpid
start_qemu b2 "wait=20s" "$G/branchy" b 2000000; B=$qpid
monitor t2 --pid "$A" --pid "$B"
wait "$A" "$B"
blk=$(sed -n 's/^DIVERGENCE on vCPU 0 at block \([0-9]*\)$/\1/p' "$TMP/t2.mon")
apc=$(sed -n 's/^  A (pid [0-9]*): pc \(0x[0-9a-f]*\),.*/\1/p' "$TMP/t2.mon")
bpc=$(sed -n 's/^  B (pid [0-9]*): pc \(0x[0-9a-f]*\),.*/\1/p' "$TMP/t2.mon")
rows=$(grep -c '^[ >!] [0-9]* *|' "$TMP/t2.mon")
if [ "$mrc" = 1 ] && [ "$((apc))" = "$((pa))" ] && [ "$((bpc))" = "$((pb))" ] && [ "$blk" = "$want" ] && [ "$rows" -ge 17 ]; then
	ok "$t (block $blk, A $apc, B $bpc, $rows history rows)"
else
	ko "$t" "exit=$mrc block=$blk want=$want A=$apc want $pa B=$bpc want $pb rows=$rows" "$(cat "$TMP/t2.mon")"
fi

# --- 3. attach to QEMUs that are already running --------------------------------
t="attach to running QEMUs: comparison starts late, divergence still exact"
start_qemu a3 "" "$G/branchy" a 400000000; A=$qpid
start_qemu b3 "" "$G/branchy" b 400000000; B=$qpid
sleep 0.5
monitor t3 --pid "$A" --pid "$B"
wait "$A" "$B"
from=$(sed -n 's/.*from block \([0-9]*\) on.*/\1/p' "$TMP/t3.mon")
apc=$(sed -n 's/^  A (pid [0-9]*): pc \(0x[0-9a-f]*\),.*/\1/p' "$TMP/t3.mon")
bpc=$(sed -n 's/^  B (pid [0-9]*): pc \(0x[0-9a-f]*\),.*/\1/p' "$TMP/t3.mon")
early=$(sed -n 's/^    A: \([0-9]*\) before the comparison started.*/\1/p' "$TMP/t3.mon")
if [ "$mrc" = 1 ] && [ "$((apc))" = "$((pa))" ] && [ "$((bpc))" = "$((pb))" ] && [ "${from:-0}" -gt 0 ] && [ "$early" = "$from" ]; then
	ok "$t (from block $from)"
else
	ko "$t" "exit=$mrc from=$from early=$early A=$apc B=$bpc" "$(cat "$TMP/t3.mon")"
fi

# --- 4. a side killed mid-run: exit 3, says which side ended ---------------------
t="a side killed mid-run: exit 3, the report says which side ended"
start_qemu a4 "wait=20s" "$G/intloop" 3000000000; A=$qpid
start_qemu b4 "wait=20s" "$G/intloop" 3000000000; B=$qpid
(sleep 1; kill -9 "$B") &
monitor t4 --pid "$A" --pid "$B"
kill -9 "$A" 2>/dev/null
wait "$A" "$B" 2>/dev/null
if [ "$mrc" = 3 ] && grep -q "B (pid $B): *exited without publishing its last block" "$TMP/t4.mon" &&
	grep -q "result: a side ended before the comparison finished (exit 3)" "$TMP/t4.mon"; then
	ok "$t"
else
	ko "$t" "exit=$mrc" "$(cat "$TMP/t4.mon")"
fi

# --- 5. a guest blocked in a syscall is compared promptly (partial flush) --------
t="guest stalled in a syscall: its partial chunk is compared while it sleeps"
start_qemu a5 "wait=20s,flush=50ms" "$G/sleeper" 1000000 4; A=$qpid
start_qemu b5 "wait=20s,flush=50ms" "$G/sleeper" 1000000 4; B=$qpid
(sleep 2.5; pkill -INT -f "^$MON --pid $A") &
monitor t5 --pid "$A" --pid "$B"
kill -9 "$A" "$B" 2>/dev/null
wait "$A" "$B" 2>/dev/null
compared=$(sed -n 's/.*compared: *\([0-9]*\) blocks.*/\1/p' "$TMP/t5.mon")
published=$(sed -n 's/^  A (pid [0-9]*): *still running, \([0-9]*\) blocks published/\1/p' "$TMP/t5.mon")
if [ "$mrc" = 0 ] && [ -n "$compared" ] && [ "$compared" = "$published" ] && [ $((compared % 16384)) != 0 ]; then
	ok "$t ($compared blocks compared before the guest woke up)"
else
	ko "$t" "exit=$mrc compared=$compared published=$published" "$(cat "$TMP/t5.mon")"
fi

# --- 6. the plugin alone: same guest output, bad arguments refused ---------------
t="plugin alone: guest output unchanged, no monitor needed"
"$QEMU" "$G/branchy" a 100000 >"$TMP/plain.out"
"$QEMU" -plugin "$PLUGIN" "$G/branchy" a 100000 >"$TMP/plug.out" 2>"$TMP/plug.err"
rc=$?
if [ "$rc" = 0 ] && cmp -s "$TMP/plain.out" "$TMP/plug.out" && [ ! -s "$TMP/plug.err" ]; then ok "$t"; else ko "$t" "rc=$rc"; fi

t="plugin refuses unknown keys and bad values with a clear message"
bad=0
for arg in "foo=1" "batch=1000" "batch=32768" "ring=1024" "flush=xyz" "verbose=maybe" "junk"; do
	"$QEMU" -plugin "$PLUGIN,$arg" "$G/branchy" a 10 >/dev/null 2>"$TMP/bad.err"
	rc=$?
	key=${arg%%=*}
	if [ "$rc" = 0 ] || ! grep -q "liblockstep: .*$key" "$TMP/bad.err" || ! grep -q "Could not load plugin" "$TMP/bad.err"; then
		bad=1
		ko "$t ($arg)" "rc=$rc" "$(cat "$TMP/bad.err")"
	fi
done
[ $bad = 0 ] && ok "$t"

# --- 7. bad monitor input: specific messages, exit 2 -----------------------------
check_err() { # description expected-exit pattern args...
	local d=$1 want=$2 pat=$3
	shift 3
	"$MON" "$@" >"$TMP/err.out" 2>&1
	local rc=$?
	if [ "$rc" = "$want" ] && grep -q -- "$pat" "$TMP/err.out"; then ok "$d"; else ko "$d" "rc=$rc (want $want)" "$(cat "$TMP/err.out")"; fi
}
sleep 60 & S=$!
pids+=("$S")
start_qemu idle "" "$G/sleeper" 1000 60; Q=$qpid
sleep 0.3
check_err "monitor: pid that does not exist" 2 "pid 2147483646 does not exist" --pid 2147483646 --pid "$Q"
check_err "monitor: process without the plugin" 2 "has no lockstep plugin loaded" --pid "$S" --pid "$Q"
check_err "monitor: same pid twice" 2 "given twice" --pid "$Q" --pid "$Q"
check_err "monitor: only one pid" 2 "exactly twice" --pid "$Q"
check_err "monitor: malformed pid" 2 "is not a process id" --pid 12x --pid "$Q"
check_err "monitor: --help documents exit codes" 0 "a side ended before the comparison finished" --help
t="monitor: missing privileges are named"
# From a directory an unprivileged user can reach, wherever the checkout is.
PRIV=$(mktemp -d /tmp/lockstep-priv.XXXXXX)
chmod 755 "$PRIV" && cp "$MON" "$PRIV/" && chmod 755 "$PRIV/lockstep-bpf"
setpriv --reuid=65534 --regid=65534 --clear-groups "$PRIV/lockstep-bpf" --pid "$S" --pid "$Q" >"$TMP/priv.out" 2>&1
rc=$?
rm -rf "$PRIV"
if [ "$rc" = 2 ] && grep -q "missing privileges: CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN" "$TMP/priv.out"; then ok "$t"; else ko "$t" "rc=$rc" "$(cat "$TMP/priv.out")"; fi
kill -9 "$S" "$Q" 2>/dev/null

echo "e2e: $pass passed, $fail failed"
[ "$fail" = 0 ]
