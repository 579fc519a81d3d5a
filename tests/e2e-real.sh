#!/usr/bin/env bash
# e2e-real.sh - a corpus of real programs nobody here wrote (issue 16):
# Debian's own gzip, sha256sum, sort, xz and python3 under qemu-x86_64 and
# the monitor, each with its expected verdict.  The clean ones must compare
# every block without a divergence; the ones that part must name the causes
# the evidence allows: python3's hash seed (getrandom) among the candidates,
# thread interleaving for multi-threaded xz, and never "suspect code
# generation" for either.  Dynamically linked host binaries: QEMU loads the
# host's ld.so and libraries.  Block counts and times: bench/README.md.
source "$(dirname "$0")/e2e-common.sh"

echo "e2e-real: Debian programs under $($QEMU --version | head -1)"

PY=/usr/bin/python3 # Debian's, not a pyenv or venv shim earlier on PATH
unset PYTHONHASHSEED # the guests inherit the environment: only the clean python3 case sets it
for p in /usr/bin/gzip /usr/bin/sha256sum /usr/bin/sort /usr/bin/xz "$PY"; do
	if [ ! -x "$p" ]; then
		echo "e2e-real: FATAL: $p is missing: run scripts/deps.sh" >&2
		exit 1
	fi
done

# run_mon NAME ARGS...: `lockstep-bpf run` with a generous time limit (a loaded
# CI machine); exit code in $mrc, report in $TMP/NAME.mon, the guests' output in $TMP/NAME.d
run_mon() {
	local name=$1
	shift
	# -o never overwrites: a name run again (the xz -T2 retries) starts from an empty directory.
	rm -rf "$TMP/$name.d"
	timeout -s INT 600 "$MON" run -q -o "$TMP/$name.d" "$@" >"$TMP/$name.mon" 2>&1
	mrc=$?
}

# gen_text FILE BYTES: words and numbers from a fixed 32-bit LCG, the same
# file on every machine (every multiplication stays below 2^53, exact in awk)
gen_text() {
	awk -v n="$2" 'BEGIN {
		nw = split("the of and to in is was that for on with as by at from his her which or are be this " \
			"had not but have an they were their one all been has more when who will would no out so if " \
			"said what up its about into than them can only other new some could time these two may then " \
			"do first any my now such like our over man me even most made after also did many before must " \
			"through back years where much your way well down should because each just those people how", w, " ")
		x = 16; s = 0
		while (s < n) {
			x = (x * 69069 + 1) % 4294967296; k = 4 + int(x / 65536) % 9; line = ""
			for (i = 0; i < k; i++) {
				x = (x * 69069 + 1) % 4294967296
				line = line (i ? " " : "") w[1 + int(x / 65536) % nw]
			}
			x = (x * 69069 + 1) % 4294967296
			line = line " " x; print line; s += length(line) + 1
		}
	}' >"$1"
}
gen_text "$TMP/text3m" 3000000
head -c 1000000 "$TMP/text3m" >"$TMP/text1m"
head -c 200000 "$TMP/text3m" >"$TMP/text200k"

# clean NAME DESCRIPTION EXPECTED_STDOUT_FILE ARGS...: no divergence, every
# block compared, and A's output is what the program gives natively
clean() {
	local name=$1 t=$2 want=$3
	shift 3
	run_mon "$name" "$@"
	local f=$TMP/$name.mon blocks
	blocks=$(sed -n 's/^  compared: *\([0-9]*\) blocks.*/\1/p' "$f")
	if [ "$mrc" = 0 ] && grep -q "^result: no divergence (exit 0)" "$f" && grep -q "divergences:   0 regions" "$f" &&
		grep -q "^  lost: *none" "$f" && [ "${blocks:-0}" -gt 100000 ] &&
		cmp -s "$want" "$TMP/$name.d/A.stdout" && cmp -s "$want" "$TMP/$name.d/B.stdout"; then
		ok "$t ($blocks blocks)"
	else
		ko "$t" "rc=$mrc blocks=${blocks:-?}" "$(cat "$f")"
	fi
}

/usr/bin/gzip -c "$TMP/text3m" >"$TMP/want.gz"
clean gzip "gzip -c of a 3 MB file: clean" "$TMP/want.gz" /usr/bin/gzip -c "$TMP/text3m"

/usr/bin/sha256sum "$TMP/text3m" >"$TMP/want.sha"
clean sha "sha256sum of a 3 MB file: clean" "$TMP/want.sha" /usr/bin/sha256sum "$TMP/text3m"

LC_ALL=C /usr/bin/sort "$TMP/text1m" >"$TMP/want.sort"
LC_ALL=C clean sort "sort of a 1 MB file: clean" "$TMP/want.sort" /usr/bin/sort "$TMP/text1m"

/usr/bin/xz -T1 -c "$TMP/text200k" >"$TMP/want.xz"
clean xz1 "xz -T1 -c of 200 kB: clean" "$TMP/want.xz" /usr/bin/xz -T1 -c "$TMP/text200k"

SCRIPT='print(sum(range(10**6)))'
echo 499999500000 >"$TMP/want.py"
PYTHONHASHSEED=0 clean pyseed "python3 with PYTHONHASHSEED=0: clean" "$TMP/want.py" "$PY" -c "$SCRIPT"

# Python seeds its string hashing from getrandom: without PYTHONHASHSEED the
# two runs hash differently and part in start-up.  glibc's own start-up
# getrandom and the thread id differ too: the report lists every one of them
# and does not claim to know which.
t="python3 without PYTHONHASHSEED: diverges, candidates include getrandom, the data does not tell which"
run_mon py --json -- "$PY" -c "$SCRIPT"
if [ "$mrc" = 1 ] && python3 - "$TMP/py.mon" >"$TMP/py.check" 2>&1 <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
d = [e for e in evs if e['type'] == 'divergence'][0]
c = d['cause']
assert c['cause'] == 'inputs_differed', c['cause']
names = [k['name'] for k in c['candidates'] if k['kind'] == 'syscall']
assert 'getrandom' in names and len(names) >= 2, names
head = c['text'].split('\n')[0]
assert 'candidates; the data does not tell which' in head and 'getrandom #' in head, head
assert 'suspect code generation' not in c['text'], c['text']
# cause.syscall is the most recent candidate, listed first
assert c['syscall']['index'] == c['candidates'][0]['index'], (c['syscall'], c['candidates'][0])
idx = [k['index'] for k in c['candidates'] if k['kind'] == 'syscall']
assert idx == sorted(idx, reverse=True), idx
g = [k for k in c['candidates'] if k['name'] == 'getrandom'][0]
assert g['A']['out_head'] != g['B']['out_head'], g
print(', '.join(names))
PY
then ok "$t ($(cat "$TMP/py.check"))"; else ko "$t" "rc=$mrc" "$(cat "$TMP/py.check")" "$(grep -v '^{"type":"live' "$TMP/py.mon" | head -c 4000)"; fi

# Multi-threaded xz parts where its threads meet (pthread_mutex_lock,
# pthread_cond_signal, or liblzma's worker hand-off), in a different order on
# the two sides.  Not every run parts: each one that does must name thread
# interleaving; runs go on until two have parted (most do; at most 8 runs).
t="xz -T2 -c: where it parts, thread interleaving is a candidate and code generation is not blamed"
parted=0 runs=0 bad="" first="" odd=0
while [ "$parted" -lt 2 ] && [ "$runs" -lt 8 ] && [ -z "$bad" ]; do
	runs=$((runs + 1))
	run_mon xz2 --json -- /usr/bin/xz -T2 -c "$TMP/text1m"
	[ "$mrc" = 0 ] && continue
	# Known open defect (stop notes of 2026-12-05): a run whose thread streams end a few blocks apart with no
	# divergence found ends exit 3 ("a side ended before the comparison finished"); not this test's subject.
	if [ "$mrc" = 3 ] && ! grep -q '"type":"divergence"' "$TMP/xz2.mon"; then
		odd=$((odd + 1))
		continue
	fi
	# 1, or 3 once in CI with the divergence reported (a known, open defect: see the stop notes of 2026-12-05)
	if { [ "$mrc" = 1 ] || [ "$mrc" = 3 ]; } && python3 - "$TMP/xz2.mon" >"$TMP/xz2.check" 2>&1 <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
d = [e for e in evs if e['type'] == 'divergence'][0]
c = d['cause']
kinds = [k['kind'] for k in c['candidates']]
assert 'thread_interleaving' in kinds, kinds
assert 'thread interleaving' in c['text'].split('\n')[0], c['text']
assert 'suspect code generation' not in c['text'], c['text']
assert c['cause'] in ('inputs_differed', 'thread_interleaving'), c['cause']
i = [k for k in c['candidates'] if k['kind'] == 'thread_interleaving'][0]
print('at %s: %s' % (d['sides']['A']['symbol'], i['why']))
PY
	then
		parted=$((parted + 1))
		[ -n "$first" ] || first=$(cat "$TMP/xz2.check")
	else
		bad="run $runs: rc=$mrc $(cat "$TMP/xz2.check" 2>/dev/null)"
	fi
done
if [ -z "$bad" ] && [ "$parted" -ge 1 ]; then
	ok "$t ($parted of $runs parted, $odd ended exit 3 without a divergence; $first)"
elif [ -n "$bad" ]; then
	ko "$t" "$bad" "$(grep -v '^{"type":"live' "$TMP/xz2.mon" | head -c 4000)"
else
	ko "$t" "none of $runs runs parted: the test needs a program that does"
fi

echo "e2e-real: $pass passed, $fail failed"
[ "$fail" = 0 ]
