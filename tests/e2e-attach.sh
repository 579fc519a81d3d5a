#!/usr/bin/env bash
# e2e-attach.sh - how the monitor meets its QEMUs: through a wrapper script,
# while they are still starting or already exiting, a second monitor on the
# same pair, and the /metrics server under idle connections.  Real
# qemu-x86_64 and the real monitor; needs root (BPF, uprobes).
source "$(dirname "$0")/e2e-common.sh"

echo "e2e-attach: integration tests with $($QEMU --version | head -1)"

# A wrapper script as "another build": bash sets `_` (and PWD, SHLVL when
# missing) in what the guest gets, and glibc's start-up walks every variable.
WRAP=$TMP/qemu-wrapper.sh
printf '#!/bin/bash\nexec %s "$@"\n' "$(command -v "$QEMU")" >"$WRAP"
chmod +x "$WRAP"

t="wrapper script as --qemu-b: the cause names the environment order bash changed, not code generation"
# The same variables (bash keeps PWD, SHLVL=1 and _ as given), exported in bash's own order.
env -i PATH="$PATH" PWD="$PWD" SHLVL=1 ZZZ=1 AAAAAA=2 _=/x/y timeout -s INT 120 "$MON" run --qemu-b "$WRAP" -- \
	"$G/intloop" 1000 >"$TMP/w1.mon" 2>&1
rc=$?
cause=$(grep -A1 '^  cause:' "$TMP/w1.mon" | head -2 | tr '\n' ' ')
if [ "$rc" = 1 ] && grep -q '^  cause: inputs differed: .*environment order: the same 6 variables, but variable 0 is PATH in A and PWD in B' "$TMP/w1.mon" &&
	! grep -q 'suspect code generation' "$TMP/w1.mon"; then
	ok "$t"
else
	ko "$t" "rc=$rc cause: $cause"
fi

t="wrapper script, empty environment: the cause names PWD and SHLVL that bash added"
env -i PATH="$PATH" timeout -s INT 120 "$MON" run --qemu-b "$WRAP" -- "$G/intloop" 1000 >"$TMP/w2.mon" 2>&1
rc=$?
cause=$(grep -A1 '^  cause:' "$TMP/w2.mon" | head -2 | tr '\n' ' ')
if [ "$rc" = 1 ] && grep -q '^  cause: inputs differed: .*environment PWD (A unset, B "' "$TMP/w2.mon" &&
	grep -q 'environment SHLVL (A unset, B "' "$TMP/w2.mon" && ! grep -q 'suspect code generation' "$TMP/w2.mon"; then
	ok "$t"
else
	ko "$t" "rc=$rc cause: $cause"
fi

# --- QEMUs and the monitor started in the same instant -------------------------
t="qemu & qemu & lockstep-bpf --pid A --pid B at once: every try attaches (25 tries)"
bad=0 lastmsg= attached=0
for k in $(seq 25); do
	# Half the tries without wait=: the monitor attaches to guests that may already run.
	pa=wait=20s n=300000
	[ $((k % 2)) = 0 ] && pa= n=5000000
	"$QEMU" -plugin "$PLUGIN${pa:+,$pa}" "$G/intloop" $n >/dev/null 2>"$TMP/r$k.a" & A=$!
	"$QEMU" -plugin "$PLUGIN${pa:+,$pa}" "$G/intloop" $n >/dev/null 2>"$TMP/r$k.b" & B=$!
	timeout -s INT 120 "$MON" --pid "$A" --pid "$B" >"$TMP/r$k.mon" 2>&1
	rc=$?
	pids+=("$A" "$B")
	wait "$A" "$B"
	[ "$rc" = 0 ] && attached=$((attached + 1))
	# Without wait= a guest may finish before the monitor looks: "does not exist"/"exited" is honest then.
	if [ "$rc" != 0 ] && ! { [ -z "$pa" ] && grep -q "does not exist\|exited\|exiting\|ended before" "$TMP/r$k.mon"; }; then
		bad=$((bad + 1))
		lastmsg="try $k ($pa) rc=$rc: $(head -c 600 "$TMP/r$k.mon")"
	fi
done
if [ $bad = 0 ]; then ok "$t ($attached compared to the end; the others, without wait=, ended first and were named so)"; else ko "$t" "$bad of 25 failed; last: $lastmsg"; fi

t="a QEMU that is still starting is waited for; a process that never becomes one is refused ('not a QEMU', or 'not loaded yet' after the bound)"
start_qemu idle "wait=30s" "$G/sleeper" 1000 60; Q=$qpid
bash -c 'sleep 0.7; exec "$0" -plugin "$1,wait=30s" "$2" 1000 1' "$QEMU" "$PLUGIN" "$G/sleeper" >/dev/null 2>&1 & LATE=$!
pids+=("$LATE")
timeout -s INT 60 "$MON" --pid "$LATE" --pid "$Q" --timeout 2s >"$TMP/late.mon" 2>&1
rc1=$?
sleep 60 & S=$!
pids+=("$S")
"$MON" --pid "$S" --pid "$Q" >"$TMP/notq.mon" 2>&1
rc2=$?
# A shell that never execs a QEMU: waited for, within the bound, then refused.
bash -c 'sleep 60; :' & SH=$!
pids+=("$SH")
"$MON" --pid "$SH" --pid "$Q" >"$TMP/shell.mon" 2>&1
rc3=$?
{
	kill -9 "$Q" "$LATE" "$S" "$SH"
	wait "$Q" "$LATE" "$S" "$SH"
} 2>/dev/null
if [ "$rc1" != 2 ] && grep -q "^B: pid $Q" "$TMP/late.mon" && [ "$rc2" = 2 ] &&
	grep -q "A: pid $S (.*sleep) is not a QEMU: it has no lockstep plugin loaded" "$TMP/notq.mon" && [ "$rc3" = 2 ] &&
	grep -q "A: pid $SH (.*bash) has no lockstep plugin loaded yet (waited 5.0 s: it never became a QEMU)" "$TMP/shell.mon"; then
	ok "$t"
else
	ko "$t" "late: rc=$rc1 $(head -c 400 "$TMP/late.mon")" "not a QEMU: rc=$rc2 $(cat "$TMP/notq.mon")" \
		"a shell: rc=$rc3 $(cat "$TMP/shell.mon")"
fi

# --- two monitors on one pair ------------------------------------------------------
t="a second monitor on the same pair is refused (exit 2, naming the first); the first is undisturbed"
start_qemu m1a "wait=30s" "$G/branchy" a 30000000; A=$qpid
start_qemu m1b "wait=30s" "$G/branchy" a 30000000; B=$qpid
"$MON" --timeout 100s --pid "$A" --pid "$B" >"$TMP/m1.mon" 2>&1 & M1=$!
pids+=("$M1")
for _ in $(seq 200); do grep -q "^comparing" "$TMP/m1.mon" 2>/dev/null && break; sleep 0.05; done
"$MON" --pid "$B" --pid "$A" >"$TMP/m2.mon" 2>&1
rc2=$?
wait "$M1"
rc1=$?
wait "$A" "$B"
if [ "$rc2" = 2 ] && grep -q "pid $B is already monitored by another lockstep-bpf (pid $M1)" "$TMP/m2.mon" &&
	[ "$rc1" = 0 ] && grep -q "^result: no divergence" "$TMP/m1.mon" && grep -q "^  lost: *none" "$TMP/m1.mon"; then
	ok "$t"
else
	ko "$t" "second: rc=$rc2 $(cat "$TMP/m2.mon")" "first: rc=$rc1 $(grep -v '^ *[0-9.]* *[0-9]' "$TMP/m1.mon" | head -c 900)"
fi

t="a monitor killed by SIGKILL leaves no claim behind: the next one attaches"
start_qemu k1a "" "$G/intloop" 4000000000; A=$qpid
start_qemu k1b "" "$G/intloop" 4000000000; B=$qpid
"$MON" --pid "$A" --pid "$B" >"$TMP/k1.mon" 2>&1 & M1=$!
pids+=("$M1")
for _ in $(seq 200); do grep -q "^comparing" "$TMP/k1.mon" 2>/dev/null && break; sleep 0.05; done
kill -9 "$M1"
wait "$M1" 2>/dev/null
timeout -s INT 120 "$MON" --pid "$A" --pid "$B" --timeout 1s >"$TMP/k2.mon" 2>&1
rc=$?
kill -9 "$A" "$B" 2>/dev/null
wait "$A" "$B" 2>/dev/null
# 4: the guests still ran at --timeout (the usual case); 0: an unloaded machine let them finish first.
if { [ "$rc" = 4 ] || [ "$rc" = 0 ]; } && grep -q "^comparing" "$TMP/k2.mon" && ! grep -q "already monitored" "$TMP/k2.mon"; then
	ok "$t"
else
	ko "$t" "rc=$rc $(grep -v '^ *[0-9.]* *[0-9]' "$TMP/k2.mon" | head -c 900)"
fi

# --- attach while both QEMUs are exiting -----------------------------------------
t="--pid 0-100 ms after two short QEMUs start: none hangs, each ends with a coherent verdict (30 tries)"
bad=0 lastmsg= seen=
for k in $(seq 30); do
	"$QEMU" -plugin "$PLUGIN" "$G/intloop" 300000 >/dev/null 2>"$TMP/x$k.a" & A=$!
	"$QEMU" -plugin "$PLUGIN" "$G/intloop" 300000 >/dev/null 2>"$TMP/x$k.b" & B=$!
	pids+=("$A" "$B")
	sleep "0.$(printf '%03d' $((RANDOM % 100)))"
	# A hang shows as exit 4 (interrupted) after 30 s; a normal run takes well under a second.
	timeout -s INT 30 "$MON" --pid "$A" --pid "$B" >"$TMP/x$k.mon" 2>&1
	rc=$?
	# Both QEMUs must end by themselves too (bounded: the monitor is gone).
	for _ in $(seq 300); do kill -0 "$A" 2>/dev/null || kill -0 "$B" 2>/dev/null || break; sleep 0.1; done
	qa=running
	kill -0 "$A" 2>/dev/null || kill -0 "$B" 2>/dev/null || qa=ended
	kill -9 "$A" "$B" 2>/dev/null
	wait "$A" "$B" 2>/dev/null
	coherent=no
	case $rc in
	0) grep -q "^result: no divergence (exit 0)" "$TMP/x$k.mon" && grep -q "^  compared: *[0-9]* blocks" "$TMP/x$k.mon" && coherent=yes ;;
	2) grep -q "does not exist\|has already exited\|exited while the monitor was attaching\|exited while the monitor was starting\|has exited or is exiting" "$TMP/x$k.mon" && coherent=yes ;;
	3) grep -q "not compared: .*(did it exit?)\|exited" "$TMP/x$k.mon" && coherent=yes ;;
	esac
	seen="$seen $rc"
	if [ $coherent != yes ] || [ $qa != ended ]; then
		bad=$((bad + 1))
		lastmsg="try $k rc=$rc QEMUs $qa: $(grep -v '^ *[0-9.]* *[0-9]' "$TMP/x$k.mon" | head -c 900)"
	fi
done
if [ $bad = 0 ]; then ok "$t (exit codes:$(echo $seen | tr ' ' '\n' | sort | uniq -c | tr -s ' \n' ' '))"; else ko "$t" "$bad of 30 failed; last: $lastmsg"; fi

# --- attach while both QEMUs are still in their first chunk ------------------------
# branchy env 30000 parts at block ~38684, inside chunk 0 (blocks 0-65535): a side that
# publishes chunk 0 before its uprobe goes in must not make the kernel start at
# chunk 1 and the run end "no divergence" (1 of 12 did before the fix).
t="--pid at the instant two divergent QEMUs start (24 tries, half with wait=): each reports the divergence at its block or refuses, none says no divergence"
pa=$(sym "$G/branchy" path_a)
"$QEMU" -plugin "$PLUGIN,dump=$TMP/c0.bin" -E BRANCHY=a "$G/branchy" env 30000 >/dev/null
want=$(first_block_of "$TMP/c0.bin" "$pa")
bad=0 lastmsg= seen=
for k in $(seq 24); do
	pargs=
	[ $((k % 2)) = 0 ] && pargs=",wait=20s"
	"$QEMU" -plugin "$PLUGIN$pargs" -E BRANCHY=a "$G/branchy" env 30000 >/dev/null 2>&1 & A=$!
	"$QEMU" -plugin "$PLUGIN$pargs" -E BRANCHY=b "$G/branchy" env 30000 >/dev/null 2>&1 & B=$!
	pids+=("$A" "$B")
	timeout -s INT 60 "$MON" --pid "$A" --pid "$B" >"$TMP/c$k.mon" 2>&1
	rc=$?
	kill -9 "$A" "$B" 2>/dev/null
	wait "$A" "$B" 2>/dev/null
	blk=$(sed -n 's/^DIVERGENCE on vCPU 0 at block \([0-9]*\):.*/\1/p' "$TMP/c$k.mon")
	good=no
	case $rc in
	1) [ "$blk" = "$want" ] && good=yes ;;
	2) grep -q "not loaded\|not initialised\|exited\|does not exist" "$TMP/c$k.mon" && good=yes ;;
	esac
	grep -q "no divergence" "$TMP/c$k.mon" && good=no
	seen="$seen $rc"
	if [ $good != yes ]; then
		bad=$((bad + 1))
		lastmsg="try $k${pargs:+ ($pargs)} rc=$rc block=$blk want $want: $(grep -v '^ *[0-9.]* *[0-9]' "$TMP/c$k.mon" | head -c 900)"
	fi
done
if [ $bad = 0 ]; then ok "$t (block $want; exit codes:$(echo $seen | tr ' ' '\n' | sort | uniq -c | tr -s ' \n' ' '))"; else ko "$t" "$bad of 24 wrong; last: $lastmsg"; fi

t="--pid on two QEMUs held before their first block (wait=): chunk 0 is held too and compared from both rings"
start_qemu h1 "wait=20s" "$G/intloop" 3000000; A=$qpid
start_qemu h2 "wait=20s" "$G/intloop" 3000000; B=$qpid
monitor h0 -v --pid "$A" --pid "$B"
wait "$A" "$B" 2>/dev/null
if [ "$mrc" = 0 ] && grep -q "vCPU 0: compared blocks 0 to 65535 from both rings" "$TMP/h0.mon" &&
	grep -q "^result: no divergence (exit 0)" "$TMP/h0.mon"; then
	ok "$t"
else
	ko "$t" "rc=$mrc $(grep -v '^ *[0-9.]* *[0-9]\|^libbpf' "$TMP/h0.mon" | head -c 900)"
fi

t="--pid attached late to identical QEMUs: exit 0, and the result line itself says how many blocks were not compared"
start_qemu l1 "" "$G/intloop" 600000000; A=$qpid
start_qemu l2 "" "$G/intloop" 600000000; B=$qpid
sleep 1
monitor l0 --pid "$A" --pid "$B"
wait "$A" "$B" 2>/dev/null
from=$(sed -n 's/.*compared: *[0-9]* blocks.*from block \([0-9]*\) on.*/\1/p' "$TMP/l0.mon")
compared=$(sed -n 's/.*compared: *\([0-9]*\) blocks.*/\1/p' "$TMP/l0.mon")
if [ "$mrc" = 0 ] && [ "${from:-0}" -gt 0 ] &&
	grep -q "^result: no divergence in the $compared blocks compared; $from published before the attach were not compared (no longer in the rings) (exit 0)" "$TMP/l0.mon"; then
	ok "$t (from block $from)"
else
	ko "$t" "rc=$mrc from=$from compared=$compared $(grep '^result' "$TMP/l0.mon")"
fi

# --- a monitor slower than its lease -------------------------------------------------
# Copying a late attach's backlog (both rings, 16 MiB each) takes the main loop
# longer than a short lease, as a loaded machine does with the default one: the
# leases used to lapse there, both QEMUs ran on unpaced and one overran the
# window (exit 3, 4 of 4 tries before the renewal thread).
t="--pid --lease=50 attached late: the leases never lapse while the monitor copies the backlog, nothing overruns (3 tries)"
bad=0 lastmsg=
for k in 1 2 3; do
	start_qemu s1 "verbose=on" "$G/intloop" 600000000; A=$qpid
	start_qemu s2 "verbose=on" "$G/intloop" 600000000; B=$qpid
	sleep 0.5
	monitor s0 --lease=50 --pid "$A" --pid "$B"
	wait "$A" "$B" 2>/dev/null
	exp=$(grep -ho '[0-9]* lease expiries' "$TMP/s1.err" "$TMP/s2.err" | tr '\n' ' ')
	if [ "$mrc" != 0 ] || grep -q "OVERRUN" "$TMP/s0.mon" || [ "$exp" != "0 lease expiries 0 lease expiries " ]; then
		bad=$((bad + 1))
		lastmsg="try $k rc=$mrc plugins: $exp $(grep 'OVERRUN\|^result' "$TMP/s0.mon")"
	fi
done
if [ $bad = 0 ]; then ok "$t"; else ko "$t" "$bad of 3 failed; last: $lastmsg"; fi

# --- /metrics with idle connections open --------------------------------------------
t="--metrics: 30 idle connections open, a scrape is still answered promptly"
PORT=$((20000 + RANDOM % 20000))
"$MON" run -q --metrics "$PORT" --timeout 20s -- "$G/intloop" 300000000000 >"$TMP/mi.out" 2>&1 &
m=$!
pids+=("$m")
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null 2>&1 && break; sleep 0.1; done
# 30 clients that connect and never send a byte, held open while the scrape runs.
python3 - "$PORT" >"$TMP/mi.py" 2>&1 <<'PY' &
import socket, sys, time
s = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(30)]
print("open", flush=True)
time.sleep(8)
PY
py=$!
for _ in $(seq 100); do grep -q open "$TMP/mi.py" && break; sleep 0.05; done
sleep 0.2
t0=$(date +%s%N)
curl -sf -m 30 "http://127.0.0.1:$PORT/metrics" >"$TMP/mi.scrape" 2>/dev/null
crc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
kill "$py" "$m" 2>/dev/null
wait "$py" "$m" 2>/dev/null
# Served one at a time, each idle client held the scrape up to its 1 s deadline: 30 s in all.
if [ "$crc" = 0 ] && grep -q '^lockstep_blocks_compared_total' "$TMP/mi.scrape" && [ "$ms" -lt 2000 ]; then
	ok "$t ($ms ms)"
else
	ko "$t" "curl rc=$crc after $ms ms" "$(head -c 400 "$TMP/mi.out")"
fi

echo "e2e-attach: $pass passed, $fail failed"
[ "$fail" = 0 ]
