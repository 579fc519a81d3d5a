#!/usr/bin/env bash
# e2e.sh - integration tests: real qemu-x86_64 processes with the lockstep
# plugin, under the real lockstep-bpf monitor (BPF uprobes in this kernel).
# Each test could fail; none is skipped in CI.  Needs root (BPF, uprobes).
source "$(dirname "$0")/e2e-common.sh"

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
t="-v: the kernel BTF is cut from the mapped file, and libbpf relocates pt_regs against the cut"
timeout 60 "$MON" run -v -q -- "$G/intloop" 1000 >"$TMP/kb.out" 2>"$TMP/kb.err"
rc=$?
kver=$(uname -r | awk -F. '{ printf "%d", $1 * 1000 + $2 }')
if [ "$rc" = 0 ] && grep -q "^lockstep-bpf: kernel BTF: [0-9]* types cut from the mapped /sys/kernel/btf/vmlinux" "$TMP/kb.err" &&
	grep -q "relo #0: matching candidate #0 <byte_off> \[[0-9]*\] struct pt_regs.di" "$TMP/kb.err" &&
	! grep -q "loading kernel BTF '/sys/kernel/btf/vmlinux'" "$TMP/kb.err"; then
	ok "$t"
elif [ "$rc" = 0 ] && [ "$kver" -lt 6016 ] && grep -q "^lockstep-bpf: kernel BTF: libbpf reads all of it (cannot map" "$TMP/kb.err"; then
	ok "$t (kernel $(uname -r) cannot map its BTF: libbpf read all of it, as it says)"
else
	ko "$t" "rc=$rc" "$(grep -i "btf\|pt_regs\|result" "$TMP/kb.err" "$TMP/kb.out")"
fi

t="divergent runs: exit 1, pcs are path_a/path_b, block number matches a plugin-alone run"
pa=$(sym "$G/branchy" path_a)
pb=$(sym "$G/branchy" path_b)
"$QEMU" -plugin "$PLUGIN,dump=$TMP/alone.bin" "$G/branchy" a 2000000 >/dev/null
want=$(first_block_of "$TMP/alone.bin" "$pa")
start_qemu a2 "wait=20s" "$G/branchy" a 2000000; A=$qpid
start_qemu b2 "wait=20s" "$G/branchy" b 2000000; B=$qpid
monitor t2 --pid "$A" --pid "$B"
wait "$A" "$B"
blk=$(sed -n 's/^DIVERGENCE on vCPU 0 at block \([0-9]*\):.*/\1/p' "$TMP/t2.mon")
apc=$(sed -n 's/^  A (pid [0-9]*): block at \(0x[0-9a-f]*\) .*/\1/p' "$TMP/t2.mon")
bpc=$(sed -n 's/^  B (pid [0-9]*): block at \(0x[0-9a-f]*\) .*/\1/p' "$TMP/t2.mon")
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
apc=$(sed -n 's/^  A (pid [0-9]*): block at \(0x[0-9a-f]*\) .*/\1/p' "$TMP/t3.mon")
bpc=$(sed -n 's/^  B (pid [0-9]*): block at \(0x[0-9a-f]*\) .*/\1/p' "$TMP/t3.mon")
early=$(sed -n 's/^    A: \([0-9]*\) before the comparison started.*/\1/p' "$TMP/t3.mon")
if [ "$mrc" = 1 ] && [ "$((apc))" = "$((pa))" ] && [ "$((bpc))" = "$((pb))" ] && [ "${from:-0}" -gt 0 ] && [ "$early" = "$from" ]; then
	ok "$t (from block $from)"
else
	ko "$t" "exit=$mrc from=$from early=$early A=$apc B=$bpc" "$(cat "$TMP/t3.mon")"
fi

t="attach late: what both rings still hold is compared too (a divergence before the attach is found)"
LA=$(sym "$G/latesplit" path_a) LB=$(sym "$G/latesplit" path_b)
start_qemu a3b "" "$G/latesplit" a 3000000; A=$qpid
start_qemu b3b "" "$G/latesplit" b 3000000; B=$qpid
for _ in $(seq 200); do grep -q split "$TMP/a3b.out" && grep -q split "$TMP/b3b.out" && break; sleep 0.01; done
monitor t3b --pid "$A" --pid "$B"
kill "$A" "$B" 2>/dev/null
wait "$A" "$B" 2>/dev/null
apc=$(sed -n 's/^  A (pid [0-9]*): block at \(0x[0-9a-f]*\) .*/\1/p' "$TMP/t3b.mon")
bpc=$(sed -n 's/^  B (pid [0-9]*): block at \(0x[0-9a-f]*\) .*/\1/p' "$TMP/t3b.mon")
if [ "$mrc" = 1 ] && [ "$((apc))" = "$((LA))" ] && [ "$((bpc))" = "$((LB))" ] && grep -q "from block 0 on" "$TMP/t3b.mon"; then
	ok "$t"
else
	ko "$t" "exit=$mrc A=$apc want $LA B=$bpc want $LB" "$(cat "$TMP/t3b.mon")"
fi

t="attach late to identical QEMUs: the backlog counts as compared, nothing is lost"
start_qemu a3c "" "$G/intloop" 1500000000; A=$qpid
start_qemu b3c "" "$G/intloop" 1500000000; B=$qpid
sleep 0.5
monitor t3c --pid "$A" --pid "$B"
wait "$A" "$B"
from=$(sed -n 's/.*compared: *[0-9]* blocks.*from block \([0-9]*\) on.*/\1/p' "$TMP/t3c.mon")
compared=$(sed -n 's/.*compared: *\([0-9]*\) blocks.*/\1/p' "$TMP/t3c.mon")
pub=$(sed -n 's/^  A (pid [0-9]*): *finished.*, \([0-9]*\) blocks published/\1/p' "$TMP/t3c.mon")
# The comparison starts a ring (2097152 records) before the attach point, rounded to chunks.
if [ "$mrc" = 0 ] && [ -n "$from" ] && [ -n "$pub" ] && [ $((from + compared)) = "$pub" ] && [ "$from" -gt 0 ] &&
	grep -q "A: $from before the comparison started, 0 past the other side's end, 0 published" "$TMP/t3c.mon"; then
	ok "$t (from block $from, $compared compared of $pub)"
else
	ko "$t" "exit=$mrc from=$from compared=$compared pub=$pub" "$(cat "$TMP/t3c.mon")"
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
if [ "$mrc" = 4 ] && [ -n "$compared" ] && [ "$compared" = "$published" ] && [ $((compared % 65536)) != 0 ]; then
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
for arg in "foo=1" "batch=1000" "batch=131072" "ring=1024" "flush=xyz" "verbose=maybe" "junk"; do
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
"$QEMU" "$G/sleeper" 1000 60 >/dev/null & NP=$!
pids+=("$NP")
start_qemu w99 "wait=30s" "$G/sleeper" 1000 60; W=$qpid
PLUGIN_SAVE=$PLUGIN PLUGIN=$OUT/tests/liblockstep-wire99.so
start_qemu w99b "wait=30s" "$G/sleeper" 1000 60; W99=$qpid
PLUGIN=$PLUGIN_SAVE
bash -c 'sleep 0.1 & exec sleep 30' & ZP=$!
pids+=("$ZP")
sleep 0.5
ZOMBIE=$(pgrep -P "$ZP" | head -n 1)
check_err "monitor: a QEMU without the plugin" 2 "has no lockstep plugin loaded; start QEMU with -plugin" --pid "$NP" --pid "$Q"
check_err "monitor: a plugin of another wire format" 2 "wire format 99; this lockstep-bpf (.*) speaks format [0-9]*" --pid "$W" --pid "$W99"
check_err "monitor: a zombie" 2 "has already exited (zombie" --pid "${ZOMBIE:-999999}" --pid "$Q"
kill -9 "$NP" "$W" "$W99" "$ZP" 2>/dev/null
wait "$NP" "$W" "$W99" "$ZP" 2>/dev/null
t="monitor: missing privileges are named"
# From a directory an unprivileged user can reach, wherever the checkout is.
PRIV=$(mktemp -d /tmp/lockstep-priv.XXXXXX)
chmod 755 "$PRIV" && cp "$MON" "$PRIV/" && chmod 755 "$PRIV/lockstep-bpf"
setpriv --reuid=65534 --regid=65534 --clear-groups "$PRIV/lockstep-bpf" --pid "$S" --pid "$Q" >"$TMP/priv.out" 2>&1
rc=$?
rm -rf "$PRIV"
if [ "$rc" = 2 ] && grep -q "missing privileges: CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN" "$TMP/priv.out"; then ok "$t"; else ko "$t" "rc=$rc" "$(cat "$TMP/priv.out")"; fi
kill -9 "$S" "$Q" 2>/dev/null

# ================= lockstep-bpf run, live summary, JSON, metrics =================
# timed CMD...: run with a time limit, exit code in $rc, wall seconds in $secs
timed() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@"
	rc=$?
	t1=$(date +%s.%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
}
alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

t="run: identical QEMUs from the first block, exit 0, output prefixed per side"
timeout 120 "$MON" run -q -- "$G/intloop" 20000000 >"$TMP/r1.out" 2>"$TMP/r1.err"
rc=$?
compared=$(sed -n 's/.*compared: *\([0-9]*\) blocks.*from block \([0-9]*\) on.*/\1 \2/p' "$TMP/r1.out")
pubA=$(sed -n 's/^  A (pid [0-9]*): *finished.*exited with status 0, \([0-9]*\) blocks published/\1/p' "$TMP/r1.out")
if [ "$rc" = 0 ] && [ "$compared" = "$pubA 0" ] && grep -q "^A| [0-9]" "$TMP/r1.err" && grep -q "^B| [0-9]" "$TMP/r1.err" &&
	grep -q "result: no divergence (exit 0)" "$TMP/r1.out" && grep -q "guest $G/intloop, plugin" "$TMP/r1.out"; then
	ok "$t ($pubA blocks)"
else
	ko "$t" "rc=$rc compared='$compared' pubA='$pubA'" "$(cat "$TMP/r1.out" "$TMP/r1.err")"
fi

t="run: per-side QEMU arguments make B diverge; exit 1 at path_a/path_b"
PA=$(sym "$G/branchy" path_a) PB=$(sym "$G/branchy" path_b)
# Both sides get an environment of the same size: a longer one would move the stack and part them at start-up.
EA="--a-arg -E --a-arg BRANCHY=a" EB="--b-arg -E --b-arg BRANCHY=b"
# shellcheck disable=SC2086
timeout 120 "$MON" run -q $EA $EB -- "$G/branchy" env 1000000 >"$TMP/r2.out" 2>"$TMP/r2.err"
rc=$?
apc=$(sed -n 's/^  A (pid [0-9]*): block at \(0x[0-9a-f]*\) .*/\1/p' "$TMP/r2.out")
bpc=$(sed -n 's/^  B (pid [0-9]*): block at \(0x[0-9a-f]*\) .*/\1/p' "$TMP/r2.out")
# Having found what it was asked for, the monitor ends both QEMUs and says so.
if [ "$rc" = 1 ] && [ "$((apc))" = "$((PA))" ] && [ "$((bpc))" = "$((PB))" ]; then
	ok "$t"
else
	ko "$t" "rc=$rc A=$apc (want $PA) B=$bpc (want $PB)" "$(cat "$TMP/r2.out" "$TMP/r2.err")"
fi

t="run: --max-divergences keeps comparing after a divergence"
# shellcheck disable=SC2086
timeout 120 "$MON" run -q --max-divergences 5 $EA $EB -- "$G/branchy" env 1000000 >"$TMP/r3.out" 2>&1
rc=$?
ndiv=$(sed -n 's/^  divergences: *\([0-9]*\) region.*/\1/p' "$TMP/r3.out")
compared=$(sed -n 's/.*compared: *\([0-9]*\) blocks.*/\1/p' "$TMP/r3.out")
# branchy's two paths are one block each: the streams realign and are compared on; the
# second region is real (A and B print different numbers, so printf branches differently).
if [ "$rc" = 1 ] && [ "$ndiv" = 2 ] && [ "$(grep -c '^@@ region [12], vCPU 0: .* back together' "$TMP/r3.out")" = 2 ] &&
	[ -n "$compared" ] && [ "$compared" -gt 1500000 ]; then
	ok "$t ($ndiv divergence, $compared blocks compared)"
else
	ko "$t" "rc=$rc divergences=$ndiv compared=$compared" "$(cat "$TMP/r3.out")"
fi

t="run: --output-dir keeps each side's stdout and stderr in files; --qemu-b runs that binary"
# Another path to the same QEMU stands in for a second build (a shell wrapper would change the guest's environment).
ln -s "$(command -v "$QEMU")" "$TMP/qemu-b"
timeout 120 "$MON" run -q --qemu-b "$TMP/qemu-b" --plugin-args verbose=on -o "$TMP/outdir" -- "$G/branchy" a 100000 >"$TMP/r4.out" 2>"$TMP/r4.err"
rc=$?
"$QEMU" "$G/branchy" a 100000 >"$TMP/r4.plain"
if [ "$rc" = 0 ] && cmp -s "$TMP/outdir/A.stdout" "$TMP/r4.plain" && cmp -s "$TMP/outdir/B.stdout" "$TMP/r4.plain" &&
	grep -q "^   $TMP/qemu-b -plugin" "$TMP/r4.out" && grep -q "^   qemu-x86_64 -plugin" "$TMP/r4.out" &&
	grep -q "liblockstep: exit:" "$TMP/outdir/A.stderr" && grep -q "liblockstep: exit:" "$TMP/outdir/B.stderr" && ! grep -q "^[AB]|" "$TMP/r4.err"; then
	ok "$t"
else
	ko "$t" "rc=$rc" "$(cat "$TMP/r4.out" "$TMP/r4.err"; ls -l "$TMP/outdir")"
fi

t="run: --timeout stops both QEMUs, prints the summary, exit 4"
timed timeout 60 "$MON" run -q --timeout 2s -- "$G/intloop" 300000000000 >"$TMP/r5.out" 2>&1
pids5=$(sed -n 's/^\([AB]\): pid \([0-9]*\),.*/\2/p' "$TMP/r5.out")
left=0
for p in $pids5; do alive "$p" && left=1; done
if [ "$rc" = 4 ] && [ "$left" = 0 ] && [ -n "$pids5" ] && grep -q "^Summary after" "$TMP/r5.out" &&
	grep -q "result: stopped before the comparison finished (exit 4)" "$TMP/r5.out" && awk -v s="$secs" 'BEGIN { exit !(s < 10) }'; then
	ok "$t (${secs}s)"
else
	ko "$t" "rc=$rc left=$left secs=$secs" "$(cat "$TMP/r5.out")"
fi

# SIGHUP is what closing the terminal sends: it must not leave the QEMUs running unwatched.
for sig in TERM HUP; do
	t="run: SIG$sig to the monitor stops both QEMUs cleanly and still prints the summary"
	"$MON" run -q -- "$G/intloop" 300000000000 >"$TMP/r6.out" 2>&1 &
	m=$!
	sleep 1.5
	pids6=$(sed -n 's/^\([AB]\): pid \([0-9]*\),.*/\2/p' "$TMP/r6.out")
	kill -"$sig" "$m"
	wait "$m"
	rc=$?
	left=0
	for p in $pids6; do alive "$p" && left=1; done
	if [ "$rc" = 4 ] && [ "$left" = 0 ] && [ -n "$pids6" ] && grep -q "interrupted after" "$TMP/r6.out" && grep -q "^Summary after" "$TMP/r6.out"; then
		ok "$t"
	else
		ko "$t" "rc=$rc left=$left pids=$pids6" "$(cat "$TMP/r6.out")"
	fi
done

t="run: a QEMU killed mid-run: the other runs on, no longer compared, until Ctrl-C; exit 3, which side ended is named"
"$MON" run -q -- "$G/intloop" 300000000000 >"$TMP/r8.out" 2>&1 &
m=$!
sleep 1.5
pb8=$(sed -n 's/^B: pid \([0-9]*\),.*/\1/p' "$TMP/r8.out")
pa8=$(sed -n 's/^A: pid \([0-9]*\),.*/\1/p' "$TMP/r8.out")
kill -9 "$pb8"
for _ in $(seq 300); do grep -q "B ended first; A (pid $pa8) runs on to its own end" "$TMP/r8.out" && break; sleep 0.1; done
sleep 0.5
alive "$pa8" && a_ran_on=1 || a_ran_on=0
kill -INT "$m"
wait "$m"
rc=$?
if [ "$rc" = 3 ] && [ "$a_ran_on" = 1 ] && ! alive "$pa8" && grep -q "^  B (pid $pb8): .*killed by SIGKILL" "$TMP/r8.out" &&
	grep -q "result: a side ended before the comparison finished (exit 3)" "$TMP/r8.out"; then
	ok "$t"
else
	ko "$t" "rc=$rc a_ran_on=$a_ran_on" "$(cat "$TMP/r8.out")"
fi

t="run: the QEMUs do not inherit the monitor's raised priority"
"$MON" run -q --timeout 2s -- "$G/intloop" 300000000000 >"$TMP/r9.out" 2>&1 &
m=$!
sleep 1
p9=$(sed -n 's/^A: pid \([0-9]*\),.*/\1/p' "$TMP/r9.out")
ni=$(ps -o ni= -p "$p9" 2>/dev/null | tr -d ' ')
mni=$(ps -o ni= -p "$m" 2>/dev/null | tr -d ' ')
wait "$m"
if [ "$ni" = 0 ] && [ "$mni" = -10 ]; then ok "$t"; else ko "$t" "QEMU nice=$ni monitor nice=$mni"; fi

t="run: a guest QEMU cannot load: a clear error, exit 2"
timeout 30 "$MON" run -q -- /etc/passwd >"$TMP/r10.out" 2>&1
rc=$?
if [ "$rc" = 2 ] && grep -q "A (pid [0-9]*) could not run the guest: .*the guest /etc/passwd is not executable" "$TMP/r10.out"; then ok "$t"; else ko "$t" "rc=$rc" "$(cat "$TMP/r10.out")"; fi

t="threads: one stream per vCPU, compared pair-wise; identical pthread guests exit 0"
timeout 120 "$MON" run -q -- "$G/threads" 4 3000000 >"$TMP/th1.out" 2>"$TMP/th1.err"
rc=$?
if [ "$rc" = 0 ] && grep -q "compared: .* from block 0 on (5 vCPU streams)" "$TMP/th1.out" && [ "$(grep -c '^[AB]| [0-3] ' "$TMP/th1.err")" = 8 ]; then
	ok "$t"
else
	ko "$t" "rc=$rc" "$(cat "$TMP/th1.out" "$TMP/th1.err")"
fi

t="threads: the one thread whose work differs is reported on its own vCPU"
timeout 120 "$MON" run -q --a-arg -E --a-arg ODD=9 --b-arg -E --b-arg ODD=2 -- "$G/threads" 4 3000000 >"$TMP/th2.out" 2>"$TMP/th2.err"
rc=$?
# Thread 2 is the fourth thread QEMU creates: vCPU 3.
if [ "$rc" = 1 ] && grep -q "^DIVERGENCE on vCPU 3 at block" "$TMP/th2.out"; then
	ok "$t ($(grep '^DIVERGENCE' "$TMP/th2.out"))"
else
	ko "$t" "rc=$rc" "$(grep -v '^ *[0-9]* *|' "$TMP/th2.out")" "$(cat "$TMP/th2.err")"
fi

t="the monitor killed with SIGKILL: both QEMUs carry on unharmed, the uprobes are gone"
start_qemu k1 "" "$G/intloop" 2000000000; A=$qpid
start_qemu k2 "" "$G/intloop" 2000000000; B=$qpid
"$MON" -q --pid "$A" --pid "$B" >"$TMP/k.mon" 2>&1 &
m=$!
sleep 1.5
probes_during=$(bpftool perf list 2>/dev/null | grep -cE "uprobe +filename /proc/($A|$B)/(root|map_files)/")
kill -9 "$m"
wait "$m" 2>/dev/null
sleep 0.5
probes_after=$(bpftool perf list 2>/dev/null | grep -cE "uprobe +filename /proc/($A|$B)/(root|map_files)/")
alive "$A" && alive "$B" && both_alive=1 || both_alive=0
wait "$A"; ra=$?
wait "$B"; rb=$?
if [ "$probes_during" -ge 2 ] && [ "$probes_after" = 0 ] && [ "$both_alive" = 1 ] && [ "$ra" = 0 ] && [ "$rb" = 0 ] &&
	cmp -s "$TMP/k1.out" "$TMP/k2.out" && [ -s "$TMP/k1.out" ]; then
	ok "$t"
else
	ko "$t" "uprobes during=$probes_during after=$probes_after alive=$both_alive exits=$ra,$rb" "$(bpftool perf list 2>&1 | head -5)"
fi

t="run: B crashes (SIGSEGV): exit 3, says which side, at which block, how far A got"
timed timeout 60 "$MON" run -q --a-arg -E --a-arg BRANCHY=a --b-arg -E --b-arg BRANCHY=c -- "$G/branchy" env 5000000 >"$TMP/cr.out" 2>&1
pubA=$(sed -n 's/^  A (pid [0-9]*): .*, \([0-9]*\) blocks published/\1/p' "$TMP/cr.out")
pubB=$(sed -n 's/^  B (pid [0-9]*): .*, \([0-9]*\) blocks published/\1/p' "$TMP/cr.out")
if [ "$rc" = 3 ] && grep -q "^  B (pid [0-9]*): .*killed by SIGSEGV, [0-9]* blocks published" "$TMP/cr.out" && [ "${pubB:-0}" -ge 4900000 ] &&
	[ "${pubA:-0}" -ge "${pubB:-0}" ] && grep -q "compared: *[1-9]" "$TMP/cr.out" && awk -v s="$secs" 'BEGIN { exit !(s < 5) }'; then
	ok "$t (B at $pubB, A at $pubA, ${secs}s)"
else
	ko "$t" "rc=$rc secs=$secs" "$(cat "$TMP/cr.out")"
fi

t="run: B exits early (status 7) in its last, partly filled chunk: the tail is compared from the rings, exit 1 at the exit call"
EXITSYM=$(sym "$G/branchy" exit)
timed timeout 60 "$MON" run -q --a-arg -E --a-arg BRANCHY=a --b-arg -E --b-arg BRANCHY=e -- "$G/branchy" env 5000000 >"$TMP/ex.out" 2>&1
# The first differing block is the one after the call site: path_a on A, exit() on B.
apc=$(sed -n 's/^> [0-9]* *| \(0x[0-9a-f]*\) .*/\1/p' "$TMP/ex.out")
nextb=$(awk '/^> /{ f = 1; next } f && /^! / { print $(NF - 2); exit }' "$TMP/ex.out")
if [ "$rc" = 1 ] && grep -q "^DIVERGENCE on vCPU 0 at block" "$TMP/ex.out" && [ "$((nextb))" = "$((EXITSYM))" ] &&
	grep -q "^  B (pid [0-9]*): *finished (published its last block); exited with status 7" "$TMP/ex.out"; then
	ok "$t"
else
	ko "$t" "rc=$rc next B pc=$nextb exit=$EXITSYM" "$(cat "$TMP/ex.out")"
fi

# With the gate (the plugins pace themselves from the kernel's state) and
# without it (--no-gate: the monitor's permits every millisecond).
for gate in gate no-gate; do
t="flow control ($gate): B stopped (SIGSTOP) for 5 s holds A within the window; nothing skipped, exit 0"
garg=
want="gate mapped, [0-9]* holds, [1-9][0-9]* decided by the plugin"
if [ $gate = no-gate ]; then garg=--no-gate want="gate not offered"; fi
"$MON" run --json $garg -I 250ms --plugin-args verbose=on -- "$G/intloop" 1500000000 >"$TMP/fc.out" 2>"$TMP/fc.err" &
m=$!
sleep 1
pbf=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["sides"][1]["pid"])' "$TMP/fc.out" 2>/dev/null)
kill -STOP "$pbf"
sleep 5
kill -CONT "$pbf"
wait "$m"
rc=$?
if grep -q "^A| liblockstep: exit: .*, $want" "$TMP/fc.err" && grep -q "^B| liblockstep: exit: .*, $want" "$TMP/fc.err" &&
	python3 - "$TMP/fc.out" "$rc" >"$TMP/fc.check" 2>&1 <<'PY'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
iv = [o for o in objs if o["type"] == "interval"]
s = objs[-1]
# The window is what the ring holds beyond 4 chunks (at most 64) of the batch
# the start event names; a held side may finish the chunk it is in.
batch = objs[0]["batch_blocks"]
window = min(64, 2097152 // batch - 4)
worst = max(abs(o["lag_blocks"]) for o in iv)
stalled = [o for o in iv if o["blocks_per_s"]["A"] == 0 and o["blocks_per_s"]["B"] == 0]
assert worst <= (window + 1) * batch, (worst, window, batch)
assert len(stalled) >= 10, f"only {len(stalled)} intervals with both sides still"
assert int(sys.argv[2]) == 0 and s["exit_code"] == 0, s
assert s["compared_blocks"] == s["sides"]["A"]["blocks_published"] == s["sides"]["B"]["blocks_published"], s
assert s["sides"]["A"]["uncompared"]["total"] == 0 and s["sides"]["A"]["window_overruns"] == 0, s
print(f"max lag {worst} blocks, {len(stalled)} quarter-seconds with both held")
PY
then
	ok "$t ($(cat "$TMP/fc.check"))"
else
	ko "$t" "rc=$rc" "$(cat "$TMP/fc.check")" "$(tail -3 "$TMP/fc.out")" "$(grep 'exit:' "$TMP/fc.err")"
fi
done

t="a QEMU in another network namespace cannot reach the gate: the monitor says why and paces it itself; exit 0"
start_qemu ga "wait=20s,verbose=on" "$G/intloop" 300000000; A=$qpid
# B in a network namespace of its own: the gate's abstract socket is not there.  With the `_` bash gives A
# (QEMU's path, not unshare's): a different length moves the guest's stack and its start-up strrchr can part.
env _="$(command -v "$QEMU")" unshare -n "$QEMU" -plugin "$PLUGIN,wait=20s,verbose=on" "$G/intloop" 300000000 >"$TMP/gb.out" 2>"$TMP/gb.err" &
B=$!
pids+=("$B")
for _ in $(seq 100); do grep -q liblockstep "/proc/$B/maps" 2>/dev/null && break; sleep 0.05; done
monitor gate --pid "$A" --pid "$B"
wait "$A" "$B" 2>/dev/null
if [ "$mrc" = 0 ] && grep -q "B (pid $B) could not take the gate (Connection refused)" "$TMP/gate.mon" &&
	grep -q "^liblockstep: exit: .*, gate mapped, " "$TMP/ga.err" &&
	grep -q "^liblockstep: exit: .*, gate failed (Connection refused): permits from the monitor only" "$TMP/gb.err" &&
	grep -q "B: 0 before the comparison started, 0 past the other side's end, 0 published but never matched" "$TMP/gate.mon"; then
	ok "$t"
else
	ko "$t" "rc=$mrc" "$(cat "$TMP/gate.mon")" "$(grep exit: "$TMP/ga.err" "$TMP/gb.err")"
fi

t="--json: every line is a JSON object; start, interval, divergence (with history), side_exit, summary"
# shellcheck disable=SC2086
timeout 120 "$MON" run --json -I 100ms --max-divergences 2 $EA $EB -- "$G/branchy" env 100000000 >"$TMP/j.out" 2>"$TMP/j.err"
rc=$?
if python3 - "$TMP/j.out" "$PA" "$PB" "$rc" >"$TMP/j.check" 2>&1 <<'PY'
import json, sys
path, pa, pb, rc = sys.argv[1], int(sys.argv[2], 16), int(sys.argv[3], 16), int(sys.argv[4])
objs = [json.loads(l) for l in open(path)]
types = [o["type"] for o in objs]
assert types[0] == "start" and types[-1] == "summary", types
start = objs[0]
assert start["schema"] == 1 and [s["label"] for s in start["sides"]] == ["A", "B"], start
assert all(s["pid"] > 0 and s["guest"].endswith("branchy") and s["plugin_version"] for s in start["sides"]), start
assert "interval" in types, types
iv = [o for o in objs if o["type"] == "interval"]
for o in iv:
    for k in ("blocks", "blocks_per_s", "compared_blocks", "lag_blocks", "divergences", "uncompared_blocks", "lost"):
        assert k in o, (k, o)
d = [o for o in objs if o["type"] == "divergence"]
# --max-divergences 2: the call, then printf of the different result
assert len(d) == 2 and len([o for o in objs if o["type"] == "region"]) == 2, d
d = d[0]
assert d["found"] and int(d["sides"]["A"]["pc"], 16) == pa and int(d["sides"]["B"]["pc"], 16) == pb, d
before = [r for r in d["history"] if r["block"] < d["block"]]
assert len(before) >= 16 and all(not r["differs"] for r in before), d["history"]
row = [r for r in d["history"] if r["block"] == d["block"]][0]
assert row["differs"] and int(row["A"]["pc"], 16) == pa, row
ex = [o for o in objs if o["type"] == "side_exit"]
assert sorted(o["side"] for o in ex) == ["A", "B"], ex
s = objs[-1]
assert s["exit_code"] == rc == 1 and s["divergences"] == 2 and s["result"] == "DIVERGED", s
assert set(s["sides"]) == {"A", "B"} and "uncompared" in s["sides"]["A"], s
print("ok", len(objs), "objects")
PY
then
	ok "$t ($(cat "$TMP/j.check"))"
else
	ko "$t" "rc=$rc" "$(cat "$TMP/j.check")" "$(head -c 3000 "$TMP/j.out")"
fi

t="live summary: plain lines every --interval when stdout is not a terminal"
timeout 120 "$MON" run -I 200ms -- "$G/intloop" 800000000 >"$TMP/l.out" 2>/dev/null
rc=$?
nlines=$(awk '/^# *time/ { h = 1; next } h && /^ *[0-9]+\.[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +-?[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+/ { n++ } END { print n + 0 }' "$TMP/l.out")
if [ "$rc" = 0 ] && [ "$nlines" -ge 3 ] && ! grep -q $'\033' "$TMP/l.out"; then
	ok "$t ($nlines lines)"
else
	ko "$t" "rc=$rc lines=$nlines" "$(cat "$TMP/l.out")"
fi

t="live summary: a refreshing view on a terminal; --quiet turns it off"
script -qfec "$MON run -I 200ms -- $G/intloop 800000000" /dev/null >"$TMP/tty.out" 2>&1
rc=$?
script -qfec "$MON run -q -- $G/intloop 100000000" /dev/null >"$TMP/ttyq.out" 2>&1
rcq=$?
redraws=$(grep -c $'\033\\[6A' "$TMP/tty.out")
if [ "$rc" = 0 ] && [ "$rcq" = 0 ] && [ "$redraws" -ge 2 ] && grep -q "blocks/s" "$TMP/tty.out" && ! grep -q "blocks/s" "$TMP/ttyq.out"; then
	ok "$t ($redraws redraws)"
else
	ko "$t" "rc=$rc rcq=$rcq redraws=$redraws" "$(tail -c 2000 "$TMP/tty.out" | cat -v)"
fi

t="--metrics serves Prometheus text on loopback; --textfile is written atomically"
PORT=$((20000 + RANDOM % 20000))
"$MON" run -q --metrics "$PORT" --textfile "$TMP/lockstep.prom" -I 200ms --timeout 4s -- "$G/intloop" 300000000000 >"$TMP/m.out" 2>&1 &
m=$!
got=
for _ in $(seq 50); do
	sleep 0.1
	curl -sf "http://127.0.0.1:$PORT/metrics" >"$TMP/scrape1" 2>/dev/null && grep -q 'lockstep_blocks_compared_total [1-9]' "$TMP/scrape1" && { got=1; break; }
done
sleep 0.5
curl -sf "http://127.0.0.1:$PORT/metrics" >"$TMP/scrape2" 2>/dev/null
code404=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/nothing")
wait "$m"
rc=$?
c1=$(awk '/^lockstep_blocks_compared_total / { print $2 }' "$TMP/scrape1" 2>/dev/null)
c2=$(awk '/^lockstep_blocks_compared_total / { print $2 }' "$TMP/scrape2" 2>/dev/null)
if [ "$rc" = 4 ] && [ -n "$got" ] && [ "${c2:-0}" -gt "${c1:-0}" ] && [ "$code404" = 404 ] &&
	grep -q '^lockstep_blocks_published_total{side="A",pid="[0-9]*"} [1-9]' "$TMP/scrape2" &&
	grep -q '^# TYPE lockstep_divergences_total counter' "$TMP/scrape2" &&
	grep -q '^lockstep_blocks_compared_total [1-9]' "$TMP/lockstep.prom" &&
	[ -z "$(ls "$TMP" | grep 'lockstep.prom.tmp')" ]; then
	ok "$t (compared $c1 then $c2 blocks)"
else
	ko "$t" "rc=$rc got=$got c1=$c1 c2=$c2 404=$code404" "$(cat "$TMP/m.out")" "$(head -20 "$TMP/scrape2" 2>/dev/null)"
fi

t="plugin wait=: a QEMU with no monitor runs on after the timeout and says so"
"$QEMU" -plugin "$PLUGIN,wait=300ms" "$G/branchy" a 1000 >"$TMP/w.out" 2>"$TMP/w.err"
rc=$?
if [ "$rc" = 0 ] && [ "$(cat "$TMP/w.out")" = 1 ] && grep -q "no lockstep-bpf monitor attached within 300 ms: running unmonitored" "$TMP/w.err"; then
	ok "$t"
else
	ko "$t" "rc=$rc" "$(cat "$TMP/w.err")"
fi

for args in "run|no guest program given" "run --timeout 5x -- $G/intloop|--timeout '5x'" "--pid 1 --pid 2 --interval 10ms|--interval '10ms'" \
	"run --max-divergences 0 -- x|--max-divergences '0'" "run --qemu-a /nonexistent/qemu -- $G/intloop 10|cannot run /nonexistent/qemu" \
	"run --plugin /nonexistent.so -- $G/intloop|--plugin /nonexistent.so" "run --metrics 1.2.3:99999 -- $G/branchy a 10|--metrics"; do
	a=${args%%|*} want=${args#*|}
	t="bad input: lockstep-bpf $a"
	# shellcheck disable=SC2086
	timeout 60 "$MON" $a >"$TMP/bad.out" 2>&1
	rc=$?
	if [ "$rc" = 2 ] && grep -qF -- "$want" "$TMP/bad.out"; then ok "$t"; else ko "$t" "rc=$rc (want 2, '$want')" "$(cat "$TMP/bad.out")"; fi
done

echo "e2e: $pass passed, $fail failed"
[ "$fail" = 0 ]
