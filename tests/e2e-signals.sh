#!/usr/bin/env bash
# e2e-signals.sh - a guest whose timer signal lands at different blocks in
# two runs (tests/guests/signals.c: a 1 kHz ITIMER_REAL with a SIGALRM
# handler, and SIGUSR1 sent to itself): the divergence is real, and its
# cause must be named as an asynchronous signal, never code generation.
# Needs root (BPF, uprobes); none is skipped in CI.
source "$(dirname "$0")/e2e-common.sh"

echo "e2e-signals: asynchronous signals with $($QEMU --version | head -1)"

# --- 1. text: every divergence names an asynchronous signal -------------------
# Where the alarm lands depends on the host's timing, so a run may, rarely,
# not diverge: up to 6 runs, and at least 2 must diverge (the guest waits for
# one alarm at least, so two runs taking every alarm at the same block is
# all but impossible, also on a loaded machine).
t="a 1 kHz timer: each divergence names an asynchronous signal, never 'suspect code generation'"
diverged=0 bad=() crashed=()
for i in 1 2 3 4 5 6; do
	timeout -s INT 300 "$MON" run -- "$G/signals" 300000 >"$TMP/s$i.out" 2>&1
	rc=$?
	if grep -q "killed by SIG\(SEGV\|ABRT\|BUS\)" "$TMP/s$i.out"; then
		crashed+=("run $i: a QEMU crashed: $(grep -m1 'killed by' "$TMP/s$i.out")")
		continue
	fi
	[ "$rc" = 1 ] || { [ "$rc" = 0 ] && continue; bad+=("run $i: exit $rc: $(tail -3 "$TMP/s$i.out")"); continue; }
	diverged=$((diverged + 1))
	ncause=$(grep -c "^  cause: " "$TMP/s$i.out")
	# Each cause, its headline and the lines under it (the signal may be named there when the logs do not line up).
	nsig=$(awk '/^  cause: /{c=1; s=0} c && /asynchronous signal/{s=1} c && /^  (last syscalls|next:)/{n+=s; c=0} END{print n+0}' "$TMP/s$i.out")
	if [ "$ncause" = 0 ] || [ "$nsig" != "$ncause" ] || grep -q "suspect code generation" "$TMP/s$i.out" ||
		! grep -q "asynchronous signal (likely): \|asynchronous signal, most likely: \|an asynchronous signal is a candidate, a likely one: " "$TMP/s$i.out" ||
		! grep -q "^  next: a signal's delivery point is not deterministic" "$TMP/s$i.out"; then
		bad+=("run $i: $ncause causes, $nsig naming a signal:" "$(sed -n '/^DIVERGENCE/p;/^  cause: /,/^  last syscalls/p;/^  next:/,/^@@/p' "$TMP/s$i.out")")
	fi
	[ "$diverged" -ge 3 ] && break
done
if [ "$diverged" -ge 2 ] && [ ${#bad[@]} = 0 ] && [ ${#crashed[@]} = 0 ]; then
	ok "$t ($diverged diverging runs)"
else
	ko "$t" "diverging runs: $diverged (want 2 at least)" "${crashed[@]}" "${bad[@]}"
fi

# --- 2. JSON: a candidate of kind signal, first when likely --------------------
t="--json: cause.candidates has {kind: signal}, first when likely; the cause is never same_inputs"
res=""
for i in 1 2 3 4; do
	timeout -s INT 300 "$MON" run --json -- "$G/signals" 300000 >"$TMP/j$i.out" 2>"$TMP/j$i.err"
	res=$(python3 - "$TMP/j$i.out" <<'PY'
import json, sys
n = bad = 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d.get("type") != "divergence" or not d.get("found"):
        continue
    n += 1
    c = d["cause"]
    k = c["candidates"]
    sig = [x for x in k if x["kind"] == "signal"]
    if (c["cause"] == "same_inputs" or not sig or (sig[0]["likely"] and k[0] is not sig[0])
            or "suspect code generation" in c["text"]
            or (sig[0]["likely"] and "not deterministic" not in d["next_step"])):
        bad += 1
        print("bad:", json.dumps(c)[:600], d["next_step"])
print("diverged" if n and not bad else "none" if not n else "wrong")
PY
)
	case "$res" in *none) continue ;; *) break ;; esac
done
if [ "${res##*$'\n'}" = diverged ] || [ "$res" = diverged ]; then ok "$t"; else ko "$t" "$res" "$(tail -3 "$TMP/j$i.err")"; fi

# --- 3. without the timer: SIGUSR1 sent to itself is synchronous, no divergence
t="without the timer: kill(getpid(), SIGUSR1) every 4096 iterations is delivered alike, no divergence"
timeout -s INT 300 "$MON" run -- "$G/signals" 300000 0 >"$TMP/n.out" 2>&1
rc=$?
if [ "$rc" = 0 ] && grep -q "result: no divergence" "$TMP/n.out"; then
	ok "$t"
else
	ko "$t" "exit $rc" "$(sed -n '/^DIVERGENCE/,/^  next/p;/result:/p' "$TMP/n.out" | head -40)"
fi

echo "e2e-signals: $pass passed, $fail failed"
[ "$fail" = 0 ]
