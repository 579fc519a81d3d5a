#!/usr/bin/env bash
# e2e-explain.sh - integration tests of what a divergence report explains
# (issue 5): guest symbols for static and static-PIE guests, disassembly,
# the first divergent instruction, syscall-based cause, re-convergence into
# regions, --insn against -singlestep, --stop-on-divergence, aarch64 guests.
# Real QEMUs under the real monitor; needs root like e2e.sh.
source "$(dirname "$0")/e2e-common.sh"
QA64=${QEMU_AARCH64:-qemu-aarch64}

echo "e2e-explain: divergence reports with $($QEMU --version | head -1)"

# run_mon NAME ARGS...: `lockstep-bpf run` with a time limit; exit code in $mrc, stdout+stderr in $TMP/NAME.mon
run_mon() {
	local name=$1
	shift
	timeout -s INT 120 "$MON" run -q "$@" >"$TMP/$name.mon" 2>&1
	mrc=$?
}
has() { grep -qF -- "$1" "$2"; }

# --- symbols, disassembly, first instruction, same-inputs cause, rejoin -------------
for variant in static pie; do
	g=$G/branchy
	[ "$variant" = pie ] && g=$G/pie/branchy
	t="$variant guest: report names path_a/path_b, the branch before them, disassembles both, blames the environment, rejoins"
	run_mon br-$variant --a-arg -E --a-arg BRANCHY=a --b-arg -E --b-arg BRANCHY=b -- "$g" env 300000
	f=$TMP/br-$variant.mon
	if [ "$mrc" = 1 ] && grep -q "^DIVERGENCE on vCPU 0 at block [0-9]*: after call" "$f" &&
		grep -q "A (pid [0-9]*): block at 0x[0-9a-f]* path_a, " "$f" &&
		grep -q "B (pid [0-9]*): block at 0x[0-9a-f]* path_b, " "$f" &&
		grep -q "last in common  0x[0-9a-f]* *main+0x[0-9a-f]* *call " "$f" &&
		grep -q "^  A's divergent block:" "$f" && grep -q "^  > 0x[0-9a-f]* *path_a  *" "$f" &&
		has '  cause: inputs differed: the guests were started differently: environment BRANCHY (A "a", B "b")' "$f" &&
		grep -q "^    also: inputs differed before the divergence ([0-9]* candidates; the data does not tell which): .*getrandom #[0-9]*" "$f" &&
		has "next: start both guests with the same arguments" "$f" &&
		grep -q "^@@ region 1, vCPU 0: A blocks [0-9]*-[0-9]* (1), B blocks [0-9]*-[0-9]* (1) apart; back together at A [0-9]* = B [0-9]* @@" "$f"; then
		ok "$t"
	else
		ko "$t" "rc=$mrc" "$(cat "$f")"
	fi
done

t="dynamically linked PIE guest (host ld.so and libc): path_a/path_b at the load bias"
run_mon br-dyn --a-arg -E --a-arg BRANCHY=a --b-arg -E --b-arg BRANCHY=b -- "$G/dyn/branchy" env 300000
f=$TMP/br-dyn.mon
if [ "$mrc" = 1 ] && grep -q "^DIVERGENCE on vCPU 0 at block [0-9]*: after call .* (main+0x[0-9a-f]*), A went on at path_a and B at path_b" "$f" &&
	grep -q "A (pid [0-9]*): block at 0x[0-9a-f]* path_a, " "$f"; then
	ok "$t"
else
	ko "$t" "rc=$mrc" "$(cat "$f")"
fi

t="stripped guest: where no symbol is known the report says so, in the headline, the history and the disassembly"
run_mon br-strip --a-arg -E --a-arg BRANCHY=a --b-arg -E --b-arg BRANCHY=b -- "$G/stripped/branchy" env 300000
f=$TMP/br-strip.mon
if [ "$mrc" = 1 ] && grep -q "A (pid [0-9]*): block at 0x[0-9a-f]* branchy+0x[0-9a-f]* (no symbol), " "$f" &&
	grep -q "^> [0-9]* *| 0x[0-9a-f]* *\.\.\.+0x[0-9a-f]* (no symbol) " "$f" &&
	grep -q "^  > 0x[0-9a-f]* *branchy+0x[0-9a-f]* (no symbol) mov " "$f"; then
	ok "$t"
else
	ko "$t" "rc=$mrc" "$(cat "$f")"
fi

t="the reported block is the first differing record of the plugins' own dumps"
"$QEMU" -E BRANCHY=a -plugin "$PLUGIN,dump=$TMP/da" "$G/branchy" env 300000 >/dev/null
"$QEMU" -E BRANCHY=b -plugin "$PLUGIN,dump=$TMP/db" "$G/branchy" env 300000 >/dev/null
want=$(cmp "$TMP/da" "$TMP/db" 2>/dev/null | awk '{ sub(",", "", $5); print int(($5 - 1) / 8) }')
got=$(sed -n 's/^DIVERGENCE on vCPU 0 at block \([0-9]*\):.*/\1/p' "$TMP/br-static.mon")
if [ -n "$want" ] && [ "$want" = "$got" ]; then ok "$t ($got)"; else ko "$t" "dump says $want, report says $got"; fi

# --- a data-only difference: every region at its first block -------------------
t="data-only differences (printf of 1 vs 99999): each region is reported at its first block, checked against the dumps"
# Through a pipe, as under the monitor: glibc buffers a pipe and /dev/null differently.
"$QEMU" -E V=1 -plugin "$PLUGIN,dump=$TMP/oa" "$G/dataonly" 100000 | cat >/dev/null
"$QEMU" -E V=99999 -plugin "$PLUGIN,dump=$TMP/ob" "$G/dataonly" 100000 | cat >/dev/null
run_mon dataonly --max-divergences 10 --a-arg -E --a-arg V=1 --b-arg -E --b-arg V=99999 -- "$G/dataonly" 100000
if [ "$mrc" = 1 ] && python3 - "$TMP/dataonly.mon" "$TMP/oa" "$TMP/ob" >"$TMP/dataonly.check" 2>&1 <<'PY'
import re, struct, sys
text = open(sys.argv[1]).read()
rec = [struct.unpack(f"<{len(b) // 8}Q", b) for b in (open(p, "rb").read() for p in sys.argv[2:4])]
starts = []
for m in re.finditer(r"^DIVERGENCE on vCPU 0 at (?:A's block (\d+) = B's (\d+)|block (\d+)):", text, re.M):
    a = int(m.group(1) or m.group(3)); b = int(m.group(2) or m.group(3))
    starts.append((a, b))
backs = [(int(a), int(b)) for a, b in re.findall(r"^@@ region \d+, vCPU 0: .* back together at A (\d+) = B (\d+) @@", text, re.M)]
assert len(starts) >= 3 and len(backs) == len(starts), (starts, backs)
pa = pb = 0
for (a, b), (ra, rb) in zip(starts, backs):
    # In step from the last rejoin up to the reported block, and different exactly there.
    assert a - pa == b - pb, ("not the same distance from the last rejoin", pa, pb, a, b)
    assert rec[0][pa:a] == rec[1][pb:b], ("a difference before the reported block", pa, pb, a, b)
    assert rec[0][a] != rec[1][b], ("the reported blocks are equal", a, b)
    pa, pb = ra, rb
assert rec[0][pa:] == rec[1][pb:], "after the last rejoin the runs are the same to the end"
print(f"{len(starts)} regions, each at its first block")
PY
then ok "$t ($(cat "$TMP/dataonly.check"))"; else ko "$t" "rc=$mrc" "$(cat "$TMP/dataonly.check")" "$(grep '^@@\|^DIVERG' "$TMP/dataonly.mon")"; fi

# --- inputs differed: getpid, clock_gettime ------------------------------------
for mode in pid clock; do
	name=getpid
	[ "$mode" = clock ] && name=clock_gettime
	t="a guest branching on $name: cause 'inputs differed' names $name first among the candidates; the loop region rejoins"
	run_mon in-$mode -- "$G/inputs" "$mode" 200000
	f=$TMP/in-$mode.mon
	if [ "$mrc" = 1 ] && grep -q "^  cause: inputs differed before the divergence ([0-9]* candidates; the data does not tell which): $name #[0-9]*, .*getrandom #" "$f" &&
		grep -q "^    $name #[0-9]* at block [0-9]*: " "$f" && has "last syscalls before it:" "$f" &&
		has "next: the guest saw different inputs before the divergence" "$f" && grep -q "^@@ region 1, vCPU 0: .*back together" "$f" &&
		grep -q "spin" "$f"; then
		ok "$t"
	else
		ko "$t" "rc=$mrc" "$(cat "$f")"
	fi
done

t="JSON: inputs_differed names the most recent candidate syscall, its log index and both results, and lists every candidate"
run_mon in-json --json -- "$G/inputs" pid 200000
if [ "$mrc" = 1 ] && python3 - "$TMP/in-json.mon" <<'PY'
import json, sys
d = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
d = [e for e in d if e['type'] == 'divergence'][0]
c = d['cause']
assert c['cause'] == 'inputs_differed', c
s = c['syscall']
assert s['name'] == 'getpid' and s['index'] > 0 and s['block'] > 0, s
assert s['A']['state'] == 'returned' and s['A']['ret'] != s['B']['ret'], s
k = c['candidates']
assert k[0]['kind'] == 'syscall' and k[0]['index'] == s['index'], k
assert {'getrandom', 'set_tid_address'} <= {x['name'] for x in k}, k
assert c['started_differently'] is None and c['qemu_options'] is None, c
PY
then ok "$t"; else ko "$t" "rc=$mrc" "$(cat "$TMP/in-json.mon")"; fi

# --- regions ----------------------------------------------------------------
t="three detours on one side: three regions, each reported at its first block and rejoined"
run_mon reg --max-divergences 10 --a-arg -E --a-arg DETOURS=10101 --b-arg -E --b-arg DETOURS=00000 -- "$G/regions" 100000
f=$TMP/reg.mon
n=$(grep -c "^DIVERGENCE on vCPU 0 at " "$f")
r=$(grep -c "^@@ region [0-9], vCPU 0: A blocks [0-9]*-[0-9]* ([1-9][0-9]*), B no blocks (at [0-9]*) apart; back together" "$f")
if [ "$mrc" = 1 ] && [ "$n" = 3 ] && [ "$r" = 3 ] && grep -q "divergences:   3 regions" "$f" &&
	[ "$(grep -c '^  > 0x[0-9a-f]* *main+0x[0-9a-f]* *call ' "$f")" = 3 ] &&
	[ "$(grep -c '^  cause: inputs differed: the guests were started differently: environment DETOURS' "$f")" = 3 ] &&
	[ "$(grep -c '^    this vCPU already parted at A block' "$f")" = 2 ]; then
	ok "$t"
else
	ko "$t" "rc=$mrc divergences=$n rejoined=$r" "$(cat "$f")"
fi

t="--max-divergences 2 stops after the second region closes"
run_mon reg2 --max-divergences 2 --a-arg -E --a-arg DETOURS=10101 --b-arg -E --b-arg DETOURS=00000 -- "$G/regions" 100000
if [ "$mrc" = 1 ] && [ "$(grep -c '^DIVERGENCE' "$TMP/reg2.mon")" = 2 ] && [ "$(grep -c '^@@ region' "$TMP/reg2.mon")" = 2 ]; then
	ok "$t"
else
	ko "$t" "rc=$mrc" "$(cat "$TMP/reg2.mon")"
fi

t="JSON: divergence with symbols and cause, region events with both sides' lengths"
run_mon js --json --max-divergences 10 --a-arg -E --a-arg DETOURS=01 --b-arg -E --b-arg DETOURS=00 -- "$G/regions" 100000
if [ "$mrc" = 1 ] && python3 - "$TMP/js.mon" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
d = [e for e in evs if e['type'] == 'divergence']
r = [e for e in evs if e['type'] == 'region']
assert len(d) == 1 and len(r) == 1, (len(d), len(r))
d = d[0]
assert d['cause']['cause'] == 'inputs_differed', d['cause']
assert 'environment DETOURS' in d['cause']['text'], d['cause']
assert d['sides']['A']['symbol'].startswith('main+'), d['sides']
assert d['sides']['A']['disassembly'][0]['text'].startswith('call '), d['sides']
assert d['first_instruction']['last_common']['text'].startswith('j'), d
assert any((h['A'] or {}).get('symbol') == 'detour' for h in d['history']), d['history']
assert any('symbol' in (h['A'] or {}) for h in d['history'])
r = r[0]
assert r['rejoined'] and r['A']['length'] > 0 and r['B']['length'] == 0, r
PY
then ok "$t"; else ko "$t" "rc=$mrc" "$(cat "$TMP/js.mon")"; fi

# --- same inputs: nothing the guests were given differs ------------------------------
# The time counter is no recorded input: glibc's start-up getrandom and thread
# id are, and differ, so they are candidates the data cannot rule out.
t="a guest that parts on the time counter: glibc's start-up inputs are candidates, not 'code generation' (a pipe's fstat is not blamed), the caveat names rdtsc"
run_mon tsc -- "$G/tsc" 100000
[ "$mrc" = 0 ] && run_mon tsc -- "$G/tsc" 100000 # both read the same counter: once in 16384 runs
f=$TMP/tsc.mon
if [ "$mrc" = 1 ] && grep -q "^  cause: inputs differed before the divergence (2 candidates; the data does not tell which): getrandom #[0-9]*, set_tid_address #[0-9]*$" "$f" &&
	grep -q "^  #[0-9]* *[0-9]* *newfstatat(1, " "$f" && has "not recorded: rdtsc" "$f" &&
	! grep -q "suspect code generation" "$f" && ! grep -q "started differently" "$f"; then
	ok "$t"
else
	ko "$t" "rc=$mrc" "$(cat "$f")"
fi

t="later regions on the same vCPU are said to follow an earlier one (text and JSON)"
run_mon tsc3 --max-divergences 5 -- "$G/tsc" 100000 3
run_mon tsc3j --json --max-divergences 5 -- "$G/tsc" 100000 3
if [ "$mrc" = 1 ] && [ "$(grep -c '^  cause: after an earlier region: the runs already parted at A block' "$TMP/tsc3.mon")" = 2 ] &&
	[ "$(grep -c '^  cause: inputs differed before the divergence' "$TMP/tsc3.mon")" = 1 ] && has "next: look at this vCPU's first region" "$TMP/tsc3.mon" &&
	python3 - "$TMP/tsc3j.mon" <<'PY'
import json, sys
d = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
c = [e['cause']['cause'] for e in d if e['type'] == 'divergence']
assert c == ['inputs_differed', 'earlier_region', 'earlier_region'], c
PY
then ok "$t"; else ko "$t" "rc=$mrc" "$(cat "$TMP/tsc3.mon")"; fi

# --- --insn against -singlestep --------------------------------------------------
t="B with -singlestep: blocks differ (report says to use --insn), exit 1"
run_mon ss1 --b-arg -singlestep -- "$G/calls" 22
if [ "$mrc" = 1 ] && has "cut differently: rerun with --insn" "$TMP/ss1.mon"; then ok "$t"; else ko "$t" "rc=$mrc" "$(cat "$TMP/ss1.mon")"; fi

t="--insn with B on -singlestep: the same instruction stream, exit 0, every instruction compared"
# The plugins' own exit lines (verbose=on, -d plugin) give what each side ran:
# compared + folded must be all of it, on both sides, and no lease ran out
# while the monitor compared (a lapsed lease lets a QEMU exit before its end is copied).
run_mon ss2 --insn --plugin-args verbose=on --a-arg -d --a-arg plugin --b-arg -d --b-arg plugin --b-arg -singlestep -- "$G/calls" 22
f=$TMP/ss2.mon
cmp_insns=$(sed -n 's/^  compared: .* blocks, \([0-9]*\) instructions.*/\1/p' "$f")
every=yes
for s in A B; do
	ran=$(sed -n "s/^$s| liblockstep: exit: 1 stream(s), [0-9]* blocks, \([0-9]*\) instructions.*/\1/p" "$f")
	folded=$(sed -n "s/^.*$s: \([0-9]*\) back-to-back re-executions of one instruction counted once, \([0-9]*\) instructions QEMU listed but backed out/\1 + \2/p" "$f")
	[ -n "$ran" ] && [ -n "$folded" ] && [ -n "$cmp_insns" ] && [ "$ran" = $((cmp_insns + folded)) ] || every="no: $s ran ${ran:-?}, compared ${cmp_insns:-?} + folded ${folded:-?}"
	grep -q "^$s| liblockstep: exit: .* 0 lease expiries" "$f" || every="no: $s's lease ran out"
	grep -q "^    $s: 0 before the comparison started, 0 past the other side's end, 0 published but never matched" "$f" || every="no: $s has blocks not compared"
done
if [ "$mrc" = 0 ] && grep -q "divergences:   0 regions" "$f" && [ "$every" = yes ]; then
	ok "$t"
else
	ko "$t" "rc=$mrc, every instruction: $every" "$(grep -v 'syscall\|logs:' "$f")"
fi

t="--insn with -singlestep: syscalls paired by order name getpid first among the candidates, and the options that differ"
run_mon ssp --insn --b-arg -singlestep -- "$G/inputs" pid 20000
f=$TMP/ssp.mon
if [ "$mrc" = 1 ] && grep -q "^  cause: inputs differed before the divergence ([0-9]* candidates; the data does not tell which): getpid #[0-9]*, " "$f" &&
	has "paired by order: the blocks are cut or numbered differently" "$f" &&
	has "the QEMUs run with different options: B -singlestep" "$f"; then
	ok "$t"
else
	ko "$t" "rc=$mrc" "$(cat "$f")"
fi

t="--insn with -singlestep still finds a real divergence, at its instruction"
run_mon ss3 --insn --b-arg -singlestep --a-arg -E --a-arg BRANCHY=a --b-arg -E --b-arg BRANCHY=b -- "$G/branchy" env 20000
if [ "$mrc" = 1 ] && grep -q "^DIVERGENCE on vCPU 0 at A's instruction [0-9]* = B's [0-9]*: after call\|^DIVERGENCE on vCPU 0 at instruction [0-9]*: after call" "$TMP/ss3.mon" &&
	grep -q "A (pid [0-9]*): 0x[0-9a-f]* path_a" "$TMP/ss3.mon"; then
	ok "$t"
else
	ko "$t" "rc=$mrc" "$(cat "$TMP/ss3.mon")"
fi

# --- --stop-on-divergence ---------------------------------------------------------
t="--stop-on-divergence leaves both QEMUs stopped, prints pids and how to resume or end them"
timeout -s INT 120 "$MON" run -q --stop-on-divergence -o "$TMP/frout" --a-arg -E --a-arg BRANCHY=a --b-arg -E --b-arg BRANCHY=b \
	-- "$G/branchy" env 300000 >"$TMP/fr.mon" 2>&1 &
m=$!
for _ in $(seq 300); do has "Ctrl-C here ends both" "$TMP/fr.mon" && break; sleep 0.1; done
pa=$(sed -n 's/^  A: pid \([0-9]*\).*/\1/p' "$TMP/fr.mon")
pb=$(sed -n 's/^  B: pid \([0-9]*\).*/\1/p' "$TMP/fr.mon")
pids+=("${pa:-0}" "${pb:-0}")
sleep 0.5 # still stopped a while later
sa=$(awk '{print $3}' "/proc/${pa:-0}/stat" 2>/dev/null)
sb=$(awk '{print $3}' "/proc/${pb:-0}/stat" 2>/dev/null)
if has "FROZEN: both QEMUs are stopped" "$TMP/fr.mon" && [ "$sa" = T ] && [ "$sb" = T ] &&
	grep -q "^  A: pid $pa, vCPU 0 at block [0-9]* ([0-9]* after its divergent block)" "$TMP/fr.mon" &&
	has "takes a debugger only before the guest starts" "$TMP/fr.mon" &&
	has "kill -CONT $pa $pb" "$TMP/fr.mon" && has "kill -KILL $pa $pb" "$TMP/fr.mon" && has "gdb -p $pa" "$TMP/fr.mon"; then
	# Resumed, they finish by themselves (the lease lets them go), and so does the monitor.
	kill -CONT "$pa" "$pb"
	wait "$m"
	mrc=$?
	if [ "$mrc" = 1 ] && [ -s "$TMP/frout/A.stdout" ] && [ -s "$TMP/frout/B.stdout" ]; then ok "$t"; else
		ko "$t" "after SIGCONT: rc=$mrc A=$(cat "$TMP/frout/A.stdout") B=$(cat "$TMP/frout/B.stdout")" "$(cat "$TMP/fr.mon")"; fi
else
	kill -INT "$m" 2>/dev/null
	wait "$m"
	ko "$t" "states=$sa/$sb" "$(cat "$TMP/fr.mon")"
fi

# --- aarch64 guest ------------------------------------------------------------------
t="aarch64 guest under qemu-aarch64: symbols and aarch64 disassembly in the report"
run_mon a64 --qemu-a "$QA64" --a-arg -E --a-arg BRANCHY=a --b-arg -E --b-arg BRANCHY=b -- "$G/aarch64/branchy" env 100000
if [ "$mrc" = 1 ] && grep -q "A (pid [0-9]*): block at 0x[0-9a-f]* path_a" "$TMP/a64.mon" &&
	grep -q "last in common .*main+0x[0-9a-f]* *blr " "$TMP/a64.mon"; then
	ok "$t"
else
	ko "$t" "rc=$mrc" "$(cat "$TMP/a64.mon")"
fi

echo "e2e-explain: $pass passed, $fail failed"
[ "$fail" = 0 ]
