#!/usr/bin/env bash
# e2e-hostile.sh - the monitor runs as root and reads QEMUs that may run as
# anyone, whose plugin memory a guest (linux-user) or a modified plugin can
# write, and whose mapped files' owners can replace them.  Here the QEMUs
# run as an unprivileged user (nobody), their plugins' fields are
# corrupted through /proc/PID/mem (tests/hostile_poke.py), their mapped
# files are replaced by FIFOs and symlinks, and a stranger floods the gate
# socket: the monitor must fail the side with a clear message, stay small,
# never crash, block or follow, and still serve the real plugins.
source "$(dirname "$0")/e2e-common.sh"

echo "e2e-hostile: a root monitor and untrusted QEMUs ($($QEMU --version | head -1))"
PY3=$(command -v /usr/bin/python3 || command -v python3) # the system's: quick to start, and nobody can run it
POKE="$PY3 tests/hostile_poke.py"
TIME=/usr/bin/time
# Everything the unprivileged QEMUs load, where nobody can read it (the build tree may be private).
chmod 755 "$TMP"
H=$TMP/h
mkdir -p "$H"
cp "$PLUGIN" "$G/branchy" "$G/sleeper" "$H/"
chmod -R a+rX "$H"
AS_NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
# stop PID...: kill QEMUs of ours and reap them quietly
stop() { kill -9 "$@" 2>/dev/null; { wait "$@"; } 2>/dev/null; }

# start_nobody NAME PLUGIN_FILE PLUGIN_ARGS GUEST ARGS...: like start_qemu, as nobody
start_nobody() {
	local name=$1 plugin=$2 pargs=$3
	shift 3
	"${AS_NOBODY[@]}" "$QEMU" -plugin "$plugin${pargs:+,$pargs}" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	qpid=$!
	pids+=("$qpid")
	for _ in $(seq 200); do
		grep -q liblockstep "/proc/$qpid/maps" 2>/dev/null && return 0
		sleep 0.05
	done
}

# monitor_k NAME ARGS...: like monitor, but a monitor that blocks in an open is killed after 60 s (SIGINT cannot end it)
monitor_k() {
	local name=$1
	shift
	timeout -k 10 -s INT 60 "$MON" "$@" >"$TMP/$name.mon" 2>&1
	mrc=$?
}

# rss_ok FILE: the monitor's peak RSS (KiB, from time -f) stayed below 512 MiB
rss_ok() { local r; r=$(tail -1 "$1"); [ -n "$r" ] && [ "$r" -lt 524288 ]; }

# --- 1. the plugin info says the syscall log is 2^40 records -------------------------
t="a corrupt plugin info (sys_order 40) is refused at the attach: exit 2, why, no crash"
start_nobody a1 "$H/liblockstep.so" "wait=30s" "$H/branchy" a 3000000; A=$qpid
start_nobody b1 "$H/liblockstep.so" "wait=30s" "$H/branchy" b 3000000; B=$qpid
$POKE "$A" "$H/liblockstep.so" info.sys_order=40 >/dev/null
timeout -k 10 -s INT 120 $TIME -o "$TMP/t1.rss" -f %M "$MON" --pid "$A" --pid "$B" >"$TMP/t1.mon" 2>&1
mrc=$?
stop "$A" "$B"
if [ "$mrc" = 2 ] && grep -q "A: pid $A: the lockstep plugin's info in its memory is corrupt (sys_order is out of range)" "$TMP/t1.mon" &&
	rss_ok "$TMP/t1.rss"; then
	ok "$t"
else
	ko "$t" "exit=$mrc rss=$(tail -1 "$TMP/t1.rss") KiB" "$(tail -20 "$TMP/t1.mon")"
fi

# --- 2. a stream whose ring is 2^60 records ---------------------------------------
t="a corrupt stream (ring_order 60, head elsewhere) ends the comparison: exit 2, which side and why"
start_nobody a2 "$H/liblockstep.so" "wait=30s" "$H/branchy" a 3000000; A=$qpid
start_nobody b2 "$H/liblockstep.so" "wait=30s" "$H/branchy" b 3000000; B=$qpid
$POKE "$B" "$H/liblockstep.so" batch.ring_order=60 batch.head_addr=0x10 >/dev/null
timeout -k 10 -s INT 120 $TIME -o "$TMP/t2.rss" -f %M "$MON" --pid "$A" --pid "$B" >"$TMP/t2.mon" 2>&1
mrc=$?
stop "$A" "$B"
if [ "$mrc" = 2 ] && grep -q "B (pid $B): vCPU 0's stream is corrupt in its memory (its batch or ring order differs from the plugin's)" "$TMP/t2.mon" &&
	rss_ok "$TMP/t2.rss"; then
	ok "$t"
else
	ko "$t" "exit=$mrc rss=$(tail -1 "$TMP/t2.rss") KiB" "$(tail -20 "$TMP/t2.mon")"
fi

# --- 3. the syscall log's fields changed during the comparison ------------------------
# What the root monitor saw from a QEMU under an unprivileged user: sys_next
# huge, sys_addr at another mapping (the ring), and once the monitor has
# checked the info, sys_order 25 there -- an unbounded copy, one
# process_vm_readv a record, and a segfault when a read failed part way
# (recs NULL, n > 0).  Rewritten every millisecond until the QEMU is gone,
# so the plugin's own stores cannot undo it.
t="a syscall log corrupted during the comparison: the divergence is reported, the log is not used and says why, RSS bounded"
start_nobody a3 "$H/liblockstep.so" "wait=30s" "$H/branchy" a 300000000; A=$qpid
start_nobody b3 "$H/liblockstep.so" "wait=30s" "$H/branchy" b 300000000; B=$qpid
$POKE "$A" "$H/liblockstep.so" --for 100 batch.sys_next=0x4000000000000 batch.sys_addr=batch.ring_addr \
	>"$TMP/poke.out" 2>&1 &
poker=$!
pids+=("$poker")
for _ in $(seq 600); do grep -q poked "$TMP/poke.out" && break; sleep 0.05; done
$TIME -o "$TMP/t3.rss" -f %M "$MON" --timeout 100s --pid "$A" --pid "$B" >"$TMP/t3.mon" 2>&1 &
mon=$!
for _ in $(seq 600); do grep -q "^comparing" "$TMP/t3.mon" && break; sleep 0.05; done
$POKE "$A" "$H/liblockstep.so" --for 100 info.sys_order=25 >"$TMP/poke2.out" 2>&1 &
poker2=$!
pids+=("$poker2")
wait "$mon"
mrc=$?
stop "$A" "$B"
wait "$poker" "$poker2" 2>/dev/null
if [ "$mrc" = 1 ] && grep -q "A (pid $A): vCPU 0's syscall log not used: sys_next is out of range" "$TMP/t3.mon" &&
	grep -q "cause unknown: A's syscall log could not be used (sys_next is out of range)" "$TMP/t3.mon" &&
	grep -q "path_a" "$TMP/t3.mon" && grep -q "path_b" "$TMP/t3.mon" && rss_ok "$TMP/t3.rss"; then
	ok "$t (peak RSS $(tail -1 "$TMP/t3.rss") KiB)"
else
	ko "$t" "exit=$mrc rss=$(tail -1 "$TMP/t3.rss") KiB" "$(tail -30 "$TMP/t3.mon")"
fi

# --- 4. the plugin's path in /proc/PID/maps is now a FIFO, or a symlink to one ----------
# The plugin file is removed after QEMU mapped it: maps says "PATH (deleted)",
# and its owner puts a FIFO (4a) or a symlink to a FIFO (4b) at exactly that
# name.  Opening it by name blocks root forever (no writer comes) or follows
# the link; the mapped inode itself is what the monitor must read.
for kind in fifo symlink; do
	t="the plugin's mapped path replaced by a $kind: the monitor neither blocks nor follows, and compares"
	D=$TMP/p-$kind
	mkdir -p "$D"
	cp "$PLUGIN" "$D/liblockstep.so"
	chmod -R a+rX "$D"
	start_nobody a4 "$D/liblockstep.so" "wait=30s" "$H/branchy" a 1000000; A=$qpid
	start_nobody b4 "$H/liblockstep.so" "wait=30s" "$H/branchy" a 1000000; B=$qpid
	rm "$D/liblockstep.so"
	if [ $kind = fifo ]; then
		mkfifo "$D/liblockstep.so (deleted)"
	else
		mkfifo "$D/elsewhere"
		ln -s "$D/elsewhere" "$D/liblockstep.so (deleted)"
	fi
	monitor_k t4 --pid "$A" --pid "$B"
	stop "$A" "$B"
	if [ "$mrc" = 0 ] && grep -q "result: no divergence" "$TMP/t4.mon"; then
		ok "$t"
	else
		ko "$t" "exit=$mrc (124/130: it blocked)" "$(tail -15 "$TMP/t4.mon")"
	fi
done

# --- 5. the guest's ELF (read for symbols) renamed over by a FIFO -------------------
t="the guest ELF's path replaced by a FIFO after QEMU loaded it: the report still names path_a/path_b, no hang"
D=$TMP/g
mkdir -p "$D"
cp "$G/branchy" "$D/branchy"
chmod -R a+rX "$D"
start_nobody a5 "$H/liblockstep.so" "wait=30s" "$D/branchy" a 1000000; A=$qpid
start_nobody b5 "$H/liblockstep.so" "wait=30s" "$D/branchy" b 1000000; B=$qpid
mkfifo "$D/new" && mv "$D/new" "$D/branchy"
monitor_k t5 --pid "$A" --pid "$B"
stop "$A" "$B"
if [ "$mrc" = 1 ] && grep -q "path_a" "$TMP/t5.mon" && grep -q "path_b" "$TMP/t5.mon"; then
	ok "$t"
else
	ko "$t" "exit=$mrc (124/130: it blocked)" "$(tail -15 "$TMP/t5.mon")"
fi

# --- 6. strangers flood the gate socket --------------------------------------
# Anyone can connect to an abstract socket, and its name is in
# /proc/net/unix.  Four unprivileged flooders watch for this monitor's
# socket (by its pid: other monitors may run on the machine) and connect as
# fast as they can, keeping its backlog full, until the monitor ends.  The
# guests sleep in nanosleep through the attach, so their plugins first look
# at the offer (at a chunk boundary) when the flood is on.  Both must still
# take the gate (the monitor's -v says so), and the refusals are counted by uid.
t="a flood of connects to the gate socket by an unprivileged user: both plugins still take the gate"
cat >"$TMP/flood.py" <<'PY'
import os, socket, sys, time
mon, end = sys.argv[1], time.monotonic() + 60
prefix = '@lockstep-bpf.%s.' % mon
name = None
while name is None and time.monotonic() < end and os.path.exists('/proc/' + mon):
    for line in open('/proc/net/unix'):
        f = line.split()
        if len(f) >= 8 and f[7].startswith(prefix):
            name = f[7][1:]
    time.sleep(0.01)
n = 0
while name and time.monotonic() < end and os.path.exists('/proc/' + mon):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.setblocking(False)
    try:
        s.connect('\0' + name)
        n += 1
    except OSError:
        pass
    s.close()
print('%d' % n)
PY
chmod a+r "$TMP/flood.py"
start_nobody a6 "$H/liblockstep.so" "" "$H/sleeper" 1000000 6; A=$qpid
start_nobody b6 "$H/liblockstep.so" "" "$H/sleeper" 1000000 6; B=$qpid
sleep 1 # both in their 6 s nanosleep
"$MON" --timeout 100s -v --pid "$A" --pid "$B" >"$TMP/t6.mon" 2>&1 & # $! is the monitor: the flooders look for its socket
mon=$!
flood=()
for k in 1 2 3 4; do
	"${AS_NOBODY[@]}" "$PY3" "$TMP/flood.py" "$mon" >"$TMP/flood$k.out" 2>&1 &
	flood+=($!)
	pids+=($!)
done
wait "$mon"
mrc=$?
wait "${flood[@]}"
stop "$A" "$B"
n=$(cat "$TMP"/flood?.out | awk '{ s += $1 } END { print s + 0 }')
if [ "$mrc" = 0 ] && grep -q "A paces itself from the kernel's state (the gate)" "$TMP/t6.mon" &&
	grep -q "B paces itself from the kernel's state (the gate)" "$TMP/t6.mon" &&
	grep -q "gate: 1 connection(s) from A, 1 from B, [0-9]* refused ([0-9]* from uid 65534)" "$TMP/t6.mon"; then
	ok "$t ($n connects by the flooders; $(grep -o '[0-9]* refused[^;]*' "$TMP/t6.mon"))"
else
	ko "$t" "exit=$mrc, $n connects by the flooders" "$(grep -i "gate\|result" "$TMP/t6.mon" | grep -v "^libbpf" | tail -10)"
fi

# --- 7. a translation log that claims to have grown by gigabytes ---------------------
t="a translation log claiming 3 GiB used (of a 4G log): the monitor reads at most 1 GiB of it, says so, stays small"
start_nobody a7 "$H/liblockstep.so" "wait=30s,tlog=4G" "$H/branchy" a 3000000; A=$qpid
start_nobody b7 "$H/liblockstep.so" "wait=30s,tlog=4G" "$H/branchy" a 3000000; B=$qpid
$POKE "$A" "$H/liblockstep.so" --for 10 info.tlog_used=$((3 << 30)) >"$TMP/t7.poke" & # the plugin's own stores would undo one write
poke=$!
for _ in $(seq 200); do grep -q poked "$TMP/t7.poke" && break; sleep 0.05; done # written once before the monitor looks
timeout -k 10 -s INT 120 $TIME -o "$TMP/t7.rss" -f %M "$MON" --insn --pid "$A" --pid "$B" >"$TMP/t7.mon" 2>&1
mrc=$?
stop "$A" "$B"
wait "$poke" 2>/dev/null
if grep -q "A (pid $A): its translation log passed the 1024 MiB the monitor reads of it: blocks translated after that are not disassembled" "$TMP/t7.mon" &&
	rss_ok "$TMP/t7.rss" && [ "$mrc" -le 4 ]; then
	ok "$t (exit $mrc, peak RSS $(tail -1 "$TMP/t7.rss") KiB)"
else
	ko "$t" "exit=$mrc, peak RSS $(tail -1 "$TMP/t7.rss") KiB" "$(grep -v '^libbpf' "$TMP/t7.mon" | tail -8)"
fi

echo "e2e-hostile: $pass passed, $fail failed"
[ "$fail" = 0 ]
