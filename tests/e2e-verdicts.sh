#!/usr/bin/env bash
# e2e-verdicts.sh - verdicts and causes a reviewer found wrong by trying the
# tool as a user: a different -cpu blamed on code generation, different exit
# statuses after an exec reported as "no divergence", a guest's background
# child killed at a normal end, a shared-/tmp symlink followed by -o, and a
# report under --forward-inputs that forgot what the logs cannot show.
source "$(dirname "$0")/e2e-common.sh"

echo "e2e-verdicts: causes and verdicts ($($QEMU --version | head -1))"

# run_mon NAME ARGS...: `lockstep-bpf run` bounded; exit code in $mrc, output in $TMP/NAME.mon
run_mon() {
	local name=$1
	shift
	timeout -s INT 300 "$MON" run -q "$@" >"$TMP/$name.mon" 2>&1
	mrc=$?
}

t="B started with another -cpu: the cause names the option, not code generation"
run_mon cpu --b-arg=-cpu --b-arg=qemu64 -- "$G/cpuid"
if [ "$mrc" = 1 ] && grep -q "cause: inputs differed: the QEMUs were started with different options: B -cpu qemu64" "$TMP/cpu.mon" &&
	! grep -q "suspect code generation\|suspect the translation" "$TMP/cpu.mon"; then
	ok "$t"
else
	ko "$t" "exit=$mrc" "$(grep -A3 'cause:\|next:' "$TMP/cpu.mon")"
fi

t="both exec the same program, which exits with different statuses: DIVERGED (exit 1), not 'no divergence'"
got=
for k in 1 2 3 4 5 6 7 8; do # the status is the pid's parity: about every other run differs
	run_mon ex$k -- /bin/bash -c 'exec /bin/sh -c "exit \$(( \$\$ % 2 ))"'
	sa=$(sed -n 's/^  A (pid [0-9]*):.*exited with status \([0-9]*\).*/\1/p' "$TMP/ex$k.mon")
	sb=$(sed -n 's/^  B (pid [0-9]*):.*exited with status \([0-9]*\).*/\1/p' "$TMP/ex$k.mon")
	if [ -n "$sa" ] && [ -n "$sb" ] && [ "$sa" != "$sb" ]; then
		got=$k
		break
	fi
done
if [ -n "$got" ] && [ "$mrc" = 1 ] && grep -q "^result: DIVERGED" "$TMP/ex$got.mon"; then
	ok "$t (run $got)"
else
	ko "$t" "exit=$mrc run=$got" "$(tail -12 "$TMP/ex${got:-8}.mon")"
fi

t="a normal end leaves the guest's background children alone (they run on as without the monitor)"
late=$TMP/late.txt
run_mon bg -- /bin/bash -c "(sleep 1; echo late >> $late) & echo early"
for _ in $(seq 100); do [ "$(grep -c late "$late" 2>/dev/null)" = 2 ] && break; sleep 0.1; done
if [ "$mrc" = 0 ] && [ "$(grep -c late "$late" 2>/dev/null)" = 2 ]; then
	ok "$t"
else
	ko "$t" "exit=$mrc, late lines: $(grep -c late "$late" 2>/dev/null)" "$(tail -5 "$TMP/bg.mon")"
fi

t="-o through a symbolic link another user owns (a shared /tmp): refused, nothing created behind it"
mkdir -p "$TMP/victim"
chmod 1777 "$TMP"
ln -s "$TMP/victim" "$TMP/evil"
chown -h 65534 "$TMP/evil"
run_mon sym -o "$TMP/evil" -- "$G/intloop" 10
if [ "$mrc" = 2 ] && grep -q "a symbolic link owned by uid 65534, not by you" "$TMP/sym.mon" && [ -z "$(ls -A "$TMP/victim")" ]; then
	ok "$t"
else
	ko "$t" "exit=$mrc" "$(cat "$TMP/sym.mon")" "$(ls -l "$TMP/victim")"
fi

t="--forward-inputs on a guest that reads the time stamp counter: the report says what the logs cannot show (rdtsc)"
run_mon tsc --forward-inputs -- "$G/tsc"
if [ "$mrc" = 1 ] && grep -q "not recorded.*rdtsc" "$TMP/tsc.mon" && ! grep -q "suspect code generation" "$TMP/tsc.mon"; then
	ok "$t"
else
	ko "$t" "exit=$mrc" "$(grep -A6 'cause:' "$TMP/tsc.mon")"
fi

echo "e2e-verdicts: $pass passed, $fail failed"
[ "$fail" = 0 ]
