#!/usr/bin/env bash
# e2e-run.sh - `lockstep-bpf run` as a user meets it: guests that cannot
# start, the QEMUs' output when the monitor is killed, whom the guests run
# as, their stdin, --output-dir's files, a side that ends first; and two
# --pid attach corners.  Real qemu-x86_64 under the real monitor.  Needs root.
source "$(dirname "$0")/e2e-common.sh"

echo "e2e-run: run mode with $($QEMU --version | head -1)"
R=$G/runenv

# wait_for FILE PATTERN [TRIES of 0.1 s]: until grep -q finds PATTERN in FILE
wait_for() {
	for _ in $(seq "${3:-600}"); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
# gone PID [TRIES of 0.1 s]: until the process has exited
gone() {
	for _ in $(seq "${2:-600}"); do [ -e "/proc/$1" ] || return 0; sleep 0.1; done
	return 1
}
# pid_of FILE LABEL: the pid in the monitor's "A: pid N, ..." header
pid_of() { sed -n "s/^$2: pid \([0-9]*\),.*/\1/p" "$1" | head -1; }

# --- item 3: a guest that cannot run is an environment error, with QEMU's reason -------
t="a guest of another architecture: exit 2, both sides named with QEMU's own reason, not 'no divergence'"
timeout 120 "$MON" run -q -- "$G/aarch64/runenv" >"$TMP/arch.out" 2>"$TMP/arch.err"
rc=$?
if [ "$rc" = 2 ] && grep -q "result: error (exit 2)" "$TMP/arch.out" &&
	grep -q "^lockstep-bpf: A (pid [0-9]*) could not run the guest: it exited with status 255 before publishing a single block; its last message: .*Invalid ELF image for this architecture" "$TMP/arch.err" &&
	grep -q "^lockstep-bpf: B (pid [0-9]*) could not run the guest: .*Invalid ELF image for this architecture" "$TMP/arch.err"; then
	ok "$t"
else
	ko "$t" "rc=$rc" "$(cat "$TMP/arch.out" "$TMP/arch.err")"
fi

t="only B cannot run the guest (--qemu-b qemu-aarch64): exit 2 naming B and its reason, A stopped, not exit 3"
timeout 120 "$MON" run -q --qemu-b qemu-aarch64 -- "$G/branchy" a 400000000 >"$TMP/archb.out" 2>"$TMP/archb.err"
rc=$?
if [ "$rc" = 2 ] && grep -q "^lockstep-bpf: B (pid [0-9]*) could not run the guest: .*Invalid ELF image for this architecture" "$TMP/archb.err" &&
	! grep -q "^lockstep-bpf: A (pid [0-9]*) could not run" "$TMP/archb.err"; then
	ok "$t"
else
	ko "$t" "rc=$rc" "$(cat "$TMP/archb.out" "$TMP/archb.err")"
fi

t="a guest file that is not executable, or missing: exit 2; QEMU says nothing, so the monitor says what is wrong"
printf 'not a program\n' >"$TMP/noexec"
timeout 120 "$MON" run -q -- "$TMP/noexec" >"$TMP/nx.out" 2>"$TMP/nx.err"
rc=$?
timeout 120 "$MON" run -q -- "$TMP/missing" >"$TMP/ms.out" 2>"$TMP/ms.err"
rc2=$?
if [ "$rc" = 2 ] && grep -q "could not run the guest: it exited with status 1 before publishing a single block; it printed nothing; the guest $TMP/noexec is not executable (mode 644)" "$TMP/nx.err" &&
	[ "$rc2" = 2 ] && grep -q "^lockstep-bpf: A could not start: .*; it printed nothing; the guest $TMP/missing: No such file or directory" "$TMP/ms.err"; then
	ok "$t"
else
	ko "$t" "rc=$rc rc2=$rc2" "$(cat "$TMP/nx.out" "$TMP/nx.err" "$TMP/ms.err")"
fi

t="a QEMU that cannot load the plugin: exit 2 with QEMU's message, before any comparison"
timeout 120 "$MON" run -q --plugin-args bogus=1 -- "$R" >"$TMP/pl.out" 2>"$TMP/pl.err"
rc=$?
if [ "$rc" = 2 ] && grep -q "^lockstep-bpf: A could not start: .* before its plugin was ready; its last message: .*Could not load plugin" "$TMP/pl.err"; then
	ok "$t"
else
	ko "$t" "rc=$rc" "$(cat "$TMP/pl.out" "$TMP/pl.err")"
fi

# --- item 7: the QEMUs' output survives the monitor -------------------------------------
t="monitor killed with SIGKILL: both QEMUs run on to a normal end, their later output still on stderr"
"$MON" run -q --plugin-args verbose=on -- "$R" 3 >"$TMP/kill.out" 2>"$TMP/kill.err" &
M=$!
pids+=("$M")
wait_for "$TMP/kill.err" "^A| early stderr" && wait_for "$TMP/kill.err" "^B| early stderr"
A=$(pid_of "$TMP/kill.out" A) B=$(pid_of "$TMP/kill.out" B)
kill -9 "$M"
wait "$M" 2>/dev/null
gone "$A"; gone "$B"
# the relay ends when both have closed their output
wait_for "$TMP/kill.err" "^A| exit: " 100; wait_for "$TMP/kill.err" "^B| exit: " 100
if [ -n "$A" ] && [ -n "$B" ] && grep -q "^A| late stdout" "$TMP/kill.err" && grep -q "^B| late stdout" "$TMP/kill.err" &&
	grep -q "^A| late stderr" "$TMP/kill.err" && grep -q "^B| late stderr" "$TMP/kill.err" &&
	grep -q "^A| liblockstep: exit: 1 stream(s)" "$TMP/kill.err" && grep -q "^B| liblockstep: exit: 1 stream(s)" "$TMP/kill.err"; then
	ok "$t"
else
	ko "$t" "A=$A B=$B" "$(cat "$TMP/kill.out" "$TMP/kill.err")"
fi

# --- item 10: the guests run as the user who ran sudo, not as root ----------------------
id lockstep-test >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin lockstep-test
TU=$(id -u lockstep-test) TG=$(id -g lockstep-test)

t="SUDO_UID/SUDO_GID: both guests run as that user; the gate still takes both (non-root) plugins"
SUDO_UID=$TU SUDO_GID=$TG timeout 120 "$MON" run -v -q -- "$R" >"$TMP/sudo.out" 2>"$TMP/sudo.err"
rc=$?
# long enough for both plugins to take the gate's offer
SUDO_UID=$TU SUDO_GID=$TG timeout 120 "$MON" run -v -q -- "$G/intloop" 3000000 >"$TMP/sudog.out" 2>"$TMP/sudog.err"
rcg=$?
if [ "$rc" = 0 ] && grep -q "^A| uid $TU euid $TU gid $TG egid $TG groups 1" "$TMP/sudo.err" &&
	grep -q "^B| uid $TU euid $TU gid $TG egid $TG groups 1" "$TMP/sudo.err" &&
	grep -q "^lockstep-bpf: the QEMUs run as user lockstep-test (uid $TU, from SUDO_UID)" "$TMP/sudo.err" &&
	[ "$rcg" = 0 ] && grep -q "^lockstep-bpf: gate: 1 connection(s) from A, 1 from B, 0 refused" "$TMP/sudog.err"; then
	ok "$t"
else
	ko "$t" "rc=$rc rcg=$rcg" "$(grep -v '^libbpf' "$TMP/sudo.err"; cat "$TMP/sudo.out"; grep -v '^libbpf' "$TMP/sudog.err")"
fi

t="--user NAME with --output-dir: the guests run as NAME, their files are written and belong to NAME"
timeout 120 "$MON" run -q --user lockstep-test -o "$TMP/uout" -- "$R" >"$TMP/user.out" 2>"$TMP/user.err"
rc=$?
if [ "$rc" = 0 ] && grep -q "^uid $TU euid $TU gid $TG" "$TMP/uout/A.stdout" && grep -q "^uid $TU euid $TU" "$TMP/uout/B.stdout" &&
	grep -q "late stderr" "$TMP/uout/B.stderr" && [ "$(stat -c %U "$TMP/uout/A.stdout")" = lockstep-test ]; then
	ok "$t"
else
	ko "$t" "rc=$rc" "$(cat "$TMP/user.out" "$TMP/user.err" "$TMP"/uout/* 2>&1)"
fi

t="a guest the guests' user cannot read: exit 2, the message says whom they run as and --as-root"
mkdir -p "$TMP/private" && chmod 700 "$TMP/private" && cp "$R" "$TMP/private/runenv"
SUDO_UID=$TU SUDO_GID=$TG timeout 120 "$MON" run -q -- "$TMP/private/runenv" >"$TMP/priv.out" 2>"$TMP/priv.err"
rc=$?
if [ "$rc" = 2 ] && grep -q "could not start: .*the QEMUs run as user lockstep-test (uid $TU, from SUDO_UID): can that user read $TMP/private/runenv" "$TMP/priv.err"; then
	ok "$t"
else
	ko "$t" "rc=$rc" "$(cat "$TMP/priv.out" "$TMP/priv.err")"
fi

t="--as-root keeps root under sudo; --user and --as-root together are refused (exit 2)"
SUDO_UID=$TU SUDO_GID=$TG timeout 120 "$MON" run -q --as-root -- "$R" >"$TMP/root.out" 2>"$TMP/root.err"
rc=$?
timeout 60 "$MON" run -q --as-root --user lockstep-test -- "$R" >/dev/null 2>"$TMP/both.err"
rc2=$?
if [ "$rc" = 0 ] && grep -q "^A| uid 0 euid 0" "$TMP/root.err" && grep -q "^B| uid 0 euid 0" "$TMP/root.err" &&
	[ "$rc2" = 2 ] && grep -q "say different things" "$TMP/both.err"; then
	ok "$t"
else
	ko "$t" "rc=$rc rc2=$rc2" "$(cat "$TMP/root.err" "$TMP/both.err")"
fi

t="--user with an unknown name: exit 2 naming it, no QEMU started"
timeout 60 "$MON" run -q --user no-such-user-here -- "$R" >"$TMP/nouser.out" 2>"$TMP/nouser.err"
rc=$?
if [ "$rc" = 2 ] && grep -q "^lockstep-bpf: --user no-such-user-here: no such user" "$TMP/nouser.err" && ! grep -q "^A: pid" "$TMP/nouser.out"; then
	ok "$t"
else
	ko "$t" "rc=$rc" "$(cat "$TMP/nouser.out" "$TMP/nouser.err")"
fi

# --- item 12 (part): --output-dir never follows or truncates what is there ----------------
t="--output-dir with a planted symlink A.stdout -> a root file: refused (exit 2), the file untouched"
mkdir -p "$TMP/planted"
chown lockstep-test "$TMP/planted"
printf 'precious\n' >"$TMP/victim"
ln -s "$TMP/victim" "$TMP/planted/A.stdout"
timeout 60 "$MON" run -q -o "$TMP/planted" -- "$R" >"$TMP/pl2.out" 2>"$TMP/pl2.err"
rc=$?
if [ "$rc" = 2 ] && [ "$(cat "$TMP/victim")" = precious ] &&
	grep -q "A.stdout already exists (a symbolic link); lockstep-bpf neither overwrites nor follows files there" "$TMP/pl2.err" &&
	[ ! -e "$TMP/planted/B.stdout" ] && ! grep -q "^A: pid" "$TMP/pl2.out"; then
	ok "$t"
else
	ko "$t" "rc=$rc victim=$(cat "$TMP/victim")" "$(cat "$TMP/pl2.out" "$TMP/pl2.err")"
fi

t="--output-dir with an existing regular file: refused (exit 2), its content kept"
mkdir -p "$TMP/old"
printf 'earlier run\n' >"$TMP/old/B.stderr"
timeout 60 "$MON" run -q -o "$TMP/old" -- "$R" >/dev/null 2>"$TMP/old.err"
rc=$?
if [ "$rc" = 2 ] && [ "$(cat "$TMP/old/B.stderr")" = "earlier run" ] && grep -q "B.stderr already exists; " "$TMP/old.err" &&
	[ ! -e "$TMP/old/A.stdout" ]; then
	ok "$t"
else
	ko "$t" "rc=$rc" "$(cat "$TMP/old.err")"
fi

# --- smaller items ---------------------------------------------------------------------------
t="--stdin: both guests read the same copy of the monitor's stdin; without it, /dev/null"
printf 'line one\nline two\n' | timeout 120 "$MON" run -q --stdin -- "$R" >"$TMP/in.out" 2>"$TMP/in.err"
rc=$?
printf 'ignored\n' | timeout 120 "$MON" run -q -- "$R" >"$TMP/in0.out" 2>"$TMP/in0.err"
rc0=$?
if [ "$rc" = 0 ] && grep -q "^A| stdin 18 bytes, hash " "$TMP/in.err" &&
	[ "$(sed -n 's/^A| stdin //p' "$TMP/in.err")" = "$(sed -n 's/^B| stdin //p' "$TMP/in.err")" ] &&
	[ "$rc0" = 0 ] && grep -q "^A| stdin 0 bytes" "$TMP/in0.err" && grep -q "^B| stdin 0 bytes" "$TMP/in0.err"; then
	ok "$t"
else
	ko "$t" "rc=$rc rc0=$rc0" "$(cat "$TMP/in.err" "$TMP/in0.err")"
fi

t="A killed in run mode: B runs on to its own end with all its output, exit 3"
"$MON" run -q -- "$R" 4 >"$TMP/ka.out" 2>"$TMP/ka.err" &
M=$!
pids+=("$M")
wait_for "$TMP/ka.err" "^A| early stderr" && wait_for "$TMP/ka.err" "^B| early stderr"
sleep 1 # both are in their sleep, their blocks so far flushed
A=$(pid_of "$TMP/ka.out" A)
kill -9 "$A"
for _ in $(seq 600); do [ -e "/proc/$M" ] || break; sleep 0.1; done
wait "$M"
rc=$?
if [ "$rc" = 3 ] && grep -q "^B| late stdout" "$TMP/ka.err" && grep -q "^B| late stderr" "$TMP/ka.err" &&
	grep -q "A ended first; B (pid [0-9]*) runs on to its own end" "$TMP/ka.err" &&
	grep -q "B (pid [0-9]*): .*exited with status 0" "$TMP/ka.out" && grep -q "A (pid [0-9]*): .*killed by SIGKILL" "$TMP/ka.out"; then
	ok "$t"
else
	ko "$t" "rc=$rc" "$(cat "$TMP/ka.out" "$TMP/ka.err")"
fi

t="--pid, the backlog not held (both blocked in a syscall): the notice and the summary give one number"
start_qemu bka "" "$G/sleeper" 100000 30; A=$qpid
start_qemu bkb "" "$G/sleeper" 100000 30; B=$qpid
sleep 1.5 # both in their sleep, with their blocks flushed
monitor bk -q --timeout 4s --pid "$A" --pid "$B"
kill -9 "$A" "$B" 2>/dev/null
wait "$A" "$B" 2>/dev/null
na=$(sed -n 's/.*the blocks published before the attach are not compared (A \([0-9]*\), B \([0-9]*\)).*/\1/p' "$TMP/bk.mon")
sa=$(sed -n 's/^    A: \([0-9]*\) before the comparison started.*/\1/p' "$TMP/bk.mon")
sb=$(sed -n 's/^    B: \([0-9]*\) before the comparison started.*/\1/p' "$TMP/bk.mon")
if [ "$mrc" = 4 ] && [ -n "$na" ] && [ "$na" -gt 0 ] && [ "$na" = "$sa" ] && [ "$sa" = "$sb" ]; then
	ok "$t ($na blocks)"
else
	ko "$t" "rc=$mrc notice=$na summary=$sa/$sb" "$(cat "$TMP/bk.mon")"
fi

t="--pid: a QEMU that exits after the checks, before the attach: 'exited', exit 2"
start_qemu xa "" "$G/intloop" 3000000000; A=$qpid
start_qemu xb "" "$G/intloop" 3000000000; B=$qpid
sleep 0.5 # both past their first chunks: the monitor holds them at the later one
kill -STOP "$A" # A cannot reach the held chunk: the monitor waits 2 s before attaching
"$MON" -v -q --pid "$A" --pid "$B" >"$TMP/x.out" 2>"$TMP/x.err" &
M=$!
pids+=("$M")
# -v: the kernel BTF line comes after both pids are checked
wait_for "$TMP/x.err" "kernel BTF"
kill -9 "$A"
wait "$M"
rc=$?
kill -9 "$B" 2>/dev/null
wait "$A" "$B" 2>/dev/null
if [ "$rc" = 2 ] && grep -q "^lockstep-bpf: A (pid $A) exited while the monitor was starting, before its uprobe could be attached" "$TMP/x.err"; then
	ok "$t"
else
	ko "$t" "rc=$rc" "$(grep -v '^libbpf' "$TMP/x.err")"
fi

echo "e2e-run: $pass passed, $fail failed"
[ "$fail" = 0 ]
