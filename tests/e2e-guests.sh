#!/usr/bin/env bash
# e2e-guests.sh - the plugin must not harm guests that do what ordinary
# programs do: take signals from timers and from themselves, fork, vfork,
# clone, exec.  Each guest must run under the plugin (alone, and several
# QEMUs at once on a loaded machine) and under the monitor exactly as it runs
# natively, and the monitor must say what it could and could not compare.
source "$(dirname "$0")/e2e-common.sh"

echo "e2e-guests: guests that take signals, fork and exec, with $($QEMU --version | head -1)"

# --- signals ---------------------------------------------------------------------
# A 1 kHz SIGALRM is process-directed: the kernel may deliver it to any QEMU
# thread that does not block it, and QEMU's handler crashes on a thread that
# is not a vCPU.  Three QEMUs at once, twice, so the vCPU threads get preempted.
SIGN=10000000
want_sig=$("$G/signals" $SIGN)
t="signals: 3 QEMUs at once with the plugin, a 1 kHz timer guest: every run ends as natively"
bad=()
for round in 1 2; do
	rpids=()
	for k in 1 2 3; do
		"$QEMU" -plugin "$PLUGIN" "$G/signals" $SIGN >"$TMP/sig$round$k.out" 2>"$TMP/sig$round$k.err" &
		rpids+=($!)
		pids+=($!)
	done
	for k in 1 2 3; do
		wait "${rpids[$((k - 1))]}"
		rc=$?
		got=$(cat "$TMP/sig$round$k.out")
		[ "$rc" = 0 ] && [ "$got" = "$want_sig" ] || bad+=("run $round.$k: exit $rc, '$got' $(head -c 300 "$TMP/sig$round$k.err")")
	done
done
if [ ${#bad[@]} = 0 ]; then
	ok "$t ($want_sig)"
else
	ko "$t" "want '$want_sig' exit 0" "${bad[@]}"
fi

# Under the monitor the streams part wherever an alarm lands at different
# blocks (delivery is asynchronous): the honest verdict is a divergence (or
# none, if every alarm happened to land alike), one side entering the handler.
t="signals under the monitor: no side crashes; a divergence, at entry to the alarm handler"
timeout -s INT 120 "$MON" run -q -o "$TMP/sigmon" -- "$G/signals" 3000000 >"$TMP/sigmon.mon" 2>&1
rc=$?
head=$(grep -m1 "^DIVERGENCE" "$TMP/sigmon.mon")
if ! grep -q "SIGSEGV\|signal 11\|Segmentation" "$TMP/sigmon.mon" "$TMP/sigmon/"*.stderr &&
	{ { [ "$rc" = 1 ] && [[ "$head" == *"at on_alarm"* ]]; } ||
		{ [ "$rc" = 0 ] && [ "$(cat "$TMP/sigmon/A.stdout")" = "$("$G/signals" 3000000)" ]; }; }; then
	ok "$t (exit $rc${head:+: ${head#*: }})"
else
	ko "$t" "rc=$rc" "$(cat "$TMP/sigmon.mon")" "$(cat "$TMP/sigmon/"*.stderr)"
fi

t="signals under the monitor, every region followed to the end: both guests finish as natively"
want=$("$G/signals" 1000000)
timeout -s INT 300 "$MON" run -q --max-divergences 1000000 -o "$TMP/sigall" -- "$G/signals" 1000000 >"$TMP/sigall.mon" 2>&1
rc=$?
if [ "$rc" -le 1 ] && [ "$(cat "$TMP/sigall/A.stdout")" = "$want" ] && [ "$(cat "$TMP/sigall/B.stdout")" = "$want" ] &&
	grep -q "A (pid [0-9]*): *finished (published its last block); exited with status 0" "$TMP/sigall.mon" &&
	grep -q "B (pid [0-9]*): *finished (published its last block); exited with status 0" "$TMP/sigall.mon"; then
	ok "$t (exit $rc, $(grep -o "divergences: *[0-9]* regions\?" "$TMP/sigall.mon"))"
else
	ko "$t" "rc=$rc want '$want'" "$(tail -15 "$TMP/sigall.mon")" "$(cat "$TMP/sigall/"*)"
fi

# --- fork, vfork, clone, exec -------------------------------------------------------
# A child the guest forks is a copy of QEMU and its plugin.  Since kernel
# 6.18 the uprobe on the plugin's NOP is a call to a trampoline page fork does
# not copy: a child that published died of SIGSEGV.  It must live and end as
# natively; the monitor says a side forked and that children are not compared.
FN=1000000
want_fork=$("$G/forker" children $FN; echo "exit $?")
t="forker alone with the plugin: fork, vfork, clone and fork+exec children end as natively"
got=$("$QEMU" -plugin "$PLUGIN" "$G/forker" children $FN 2>"$TMP/fork-alone.err"; echo "exit $?")
if [ "$got" = "$want_fork" ]; then
	ok "$t"
else
	ko "$t" "want: $want_fork" "got:  $got" "$(head -c 500 "$TMP/fork-alone.err")"
fi

t="forker under the monitor: children live, no divergence (exit 0), the fork is reported"
timeout -s INT 120 "$MON" run -q -o "$TMP/forkmon" -- "$G/forker" children $FN >"$TMP/forkmon.mon" 2>&1
rc=$?
wa="$(cat "$TMP/forkmon/A.stdout"; echo "exit 0")"
wb="$(cat "$TMP/forkmon/B.stdout"; echo "exit 0")"
if [ "$rc" = 0 ] && [ "$wa" = "$want_fork" ] && [ "$wb" = "$want_fork" ] &&
	grep -q "^lockstep-bpf: A forked a child process (pid [0-9]*) at block [0-9]* of vCPU 0: children are not compared" "$TMP/forkmon.mon" &&
	grep -q "^  B forked 4 child processes (the first, pid [0-9]*, at block [0-9]* of vCPU 0): children are not compared" "$TMP/forkmon.mon" &&
	grep -q "result: no divergence (exit 0)" "$TMP/forkmon.mon"; then
	ok "$t"
else
	ko "$t" "rc=$rc" "$(cat "$TMP/forkmon.mon")" "A: $wa" "B: $wb" "$(cat "$TMP/forkmon/A.stderr")"
fi

# An execve that succeeds replaces the QEMU by the program (qemu-user runs it
# on the host): every block before it is compared, and the monitor says where
# each side stopped being QEMU instead of reporting a side that vanished.
want_exec=$("$G/forker" exec $FN)
t="a guest that execs: all blocks before the exec compared, the exec reported, the program's output kept, exit 0"
timeout -s INT 120 "$MON" run -q -o "$TMP/execmon" -- "$G/forker" exec $FN >"$TMP/execmon.mon" 2>&1
rc=$?
at=$(sed -n "s/^  A exec'd \/bin\/echo at block \([0-9]*\) of vCPU 0: from there on that process runs the new program, not QEMU.*/\1/p" "$TMP/execmon.mon")
compared=$(sed -n 's/.*compared: *\([0-9]*\) blocks.*/\1/p' "$TMP/execmon.mon")
if [ "$rc" = 0 ] && [ "$(cat "$TMP/execmon/A.stdout")" = "$want_exec" ] && [ "$(cat "$TMP/execmon/B.stdout")" = "$want_exec" ] &&
	[ -n "$at" ] && [ "$compared" = "$at" ] && grep -q "^  B exec'd /bin/echo at block $at of vCPU 0" "$TMP/execmon.mon"; then
	ok "$t ($compared blocks)"
else
	ko "$t" "rc=$rc want '$want_exec' exec at '$at' compared '$compared'" "$(cat "$TMP/execmon.mon")" "$(cat "$TMP/execmon/"*)"
fi

t="--pid on a child the guest forked is refused: it records nothing"
# The child must outlive the monitor's start-up on a loaded machine (CI ran 1 s: gone first, once).
start_qemu fc "" "$G/forker" children 20000000; A=$qpid
child=
for _ in $(seq 1500); do
	child=$(cat /proc/"$A"/task/*/children 2>/dev/null | awk '{ print $1 }')
	[ -n "$child" ] && break
	sleep 0.02
done
monitor fc --pid "$child" --pid "$A"
wait "$A"
if [ -n "$child" ] && [ "$mrc" = 2 ] && grep -q "A: pid $child is a child process its guest forked: its plugin records nothing" "$TMP/fc.mon"; then
	ok "$t"
else
	ko "$t" "rc=$mrc child=$child" "$(cat "$TMP/fc.mon")"
fi

# --- bad plugin arguments, and orders the monitor reads from a QEMU ---------------
t="dump= to a path that cannot be created refuses the plugin (QEMU does not start)"
"$QEMU" -plugin "$PLUGIN,dump=$TMP/no/such/dir/x" "$G/intloop" 10 >"$TMP/dump.out" 2>"$TMP/dump.err"
rc=$?
if [ "$rc" != 0 ] && [ ! -s "$TMP/dump.out" ] && grep -q "liblockstep: dump=$TMP/no/such/dir/x: cannot create it: No such file or directory; not loading" "$TMP/dump.err"; then
	ok "$t (exit $rc)"
else
	ko "$t" "rc=$rc" "$(cat "$TMP/dump.out" "$TMP/dump.err")"
fi

# The monitor shifts by the orders it reads from each QEMU: a plugin whose
# memory says chunks of 2^40 blocks (the guest can write it in linux-user) is
# refused before any shift, not reported as "batch of 256".
t="a QEMU whose plugin says batch_order 40 is refused clearly (exit 2)"
start_qemu po1 "wait=30s" "$G/intloop" 1000; A=$qpid
start_qemu po2 "wait=30s" "$G/intloop" 1000; B=$qpid
off=$(nm -D "$PLUGIN" | awk '$3 == "lockstep_plugin_info" { print $1 }')
base=$(awk -v p="$(realpath "$PLUGIN")" '$6 == p && $3 == "00000000" { split($1, r, "-"); print r[1]; exit }' "/proc/$A/maps")
python3 - "$A" "$base" "$off" <<'PY'
import ctypes, struct, sys
pid, base, off = int(sys.argv[1]), int(sys.argv[2], 16), int(sys.argv[3], 16)
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
buf = ctypes.create_string_buffer(struct.pack("<I", 40))
local, remote = iovec(ctypes.cast(buf, ctypes.c_void_p), 4), iovec(base + off + 8, 4)  # batch_order
libc = ctypes.CDLL(None, use_errno=True)
if libc.process_vm_writev(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) != 4:
    sys.exit("process_vm_writev failed: errno %d" % ctypes.get_errno())
PY
monitor po --pid "$A" --pid "$B"
kill "$A" "$B" 2>/dev/null
wait "$A" "$B" 2>/dev/null
if [ "$mrc" = 2 ] && grep -q "A: pid $A: the lockstep plugin's info in its memory is corrupt (batch_order is out of range)" "$TMP/po.mon" &&
	! grep -q "batch of" "$TMP/po.mon"; then
	ok "$t"
else
	ko "$t" "rc=$mrc base=$base off=$off" "$(cat "$TMP/po.mon")"
fi

echo "e2e-guests: $pass passed, $fail failed"
[ "$fail" = 0 ]
