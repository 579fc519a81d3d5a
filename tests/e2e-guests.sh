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

echo "e2e-guests: $pass passed, $fail failed"
[ "$fail" = 0 ]
