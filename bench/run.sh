#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/run.sh - what monitoring with lockstep-bpf costs, measured side by side.
#
# Usage: make bench            (builds first)
#        bash bench/run.sh [--runs N] [--quick]
#
# The claim under test is "compare two QEMUs at close to full speed": the
# per-block plugin work plus one uprobe hit per 65536-block chunk should cost
# little more than the cheapest possible per-block plugin, and the monitor
# itself should use almost no CPU.  So for each guest -- intloop (tight loop,
# ~1e9 blocks) and calls (call-heavy fib) -- this script runs, in one go:
#
#   plain      qemu-x86_64 guest
#   count      qemu-x86_64 -plugin libcountblocks.so guest   (the floor: any
#              plugin with a per-block exec callback costs at least this)
#   store      qemu-x86_64 -plugin libstoreblocks.so guest   (the second floor:
#              one 8-byte store per block into a 16 MiB ring, nothing else; any
#              plugin that records the order of blocks costs at least this)
#   plugin     qemu-x86_64 -plugin liblockstep.so guest      (no monitor: the
#              probed function is a NOP and a ret)
#   monitored  two liblockstep QEMUs started together with wait=10s, then
#              lockstep-bpf --pid A --pid B.  Each QEMU's wall time is taken
#              from the monitor's attach (its "comparing" line, printed right
#              after it grants the first lease that releases the held QEMUs)
#              to that QEMU's exit, so the monitor's start-up latency is not
#              billed to the guest; QEMU's own start-up before the hold point
#              (~10-20 ms) is thereby left out too, which plain/count/plugin
#              include.  CPU time (user+sys, which includes the BPF program
#              run in the uprobe) and max RSS come from /usr/bin/time per
#              process.  The slower QEMU of the pair is what the bars use.
#   count pair, plugin pair
#              two counting-plugin QEMUs started together, and two
#              liblockstep.so QEMUs with no monitor: the same two-at-once
#              load as the monitored pair, without lockstep-bpf (slower of the
#              pair; wall from their start).  They split the monitored
#              figure into what running two QEMUs costs on this machine, what
#              the plugin adds, and what the monitor and uprobes add.
#   mon-short  the same monitored pair on a guest a tenth as long, only to
#              check that the monitor's memory does not grow with run length.
#
# Configurations are interleaved (run 1: plain, count, store, plugin, count
# pair, plugin pair, monitored, mon-short for each guest; run 2: the same ...) so slow drifts of the machine
# hit all of them alike, and medians over the runs are reported.  The bars
# are ratios and counts, never absolute times:
#   monitored / count   <= 1.15x  (wall, slower QEMU of the pair)
#   monitored / plain   <= 1.6x   on the call-heavy guest
#   monitor CPU         <  5% of one monitored QEMU's CPU time
#   uprobe hits         at most one per 4096 blocks (hits = the plugin's
#                       publications, i.e. calls of the probed lockstep_publish,
#                       from its verbose=on exit line; blocks from the same line)
#   ring memory         the ring the plugin allocates <= 16 MiB per vCPU (its
#                       exit line says; max RSS over the counting plugin shown)
#   monitor max RSS     long guest - short guest <= 512 KiB (RSS noise allowance)
# Next to each configuration the table shows "other cpu": CPU seconds that
# everything else on the machine used during its runs (busy ticks in
# /proc/stat minus the measured processes' own CPU time), so a run slowed by
# a neighbour can be told from a slow configuration.  Load outside the VM
# (host steal) does not show there; a wall time well above the CPU time with
# no permit-window holds to explain it points at it.
#
# Failed bars are reported, not fatal: the exit status is non-zero only when
# something really went wrong (a run failed, a guest printed something
# different, or the monitor did not report "no divergence" with exit 0 for
# two identical runs).  Timings only mean something on an otherwise idle
# machine; the default mode takes about 2-3 minutes on 2 cores, --quick
# (guests a tenth as long) about half a minute.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS=
QUICK=0
usage() {
	echo "usage: bash bench/run.sh [--runs N] [--quick]" >&2
	exit 2
}
while (($#)); do
	case $1 in
	--runs)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage
		RUNS=$2
		shift 2
		;;
	--runs=*)
		RUNS=${1#--runs=}
		[[ $RUNS =~ ^[1-9][0-9]*$ ]] || usage
		shift
		;;
	--quick) QUICK=1; shift ;;
	-h | --help) usage ;;
	*) usage ;;
	esac
done

OUT=${OUTPUT:-.output}
QEMU=${QEMU:-qemu-x86_64}
MON=$OUT/lockstep-bpf
PLUGIN=$OUT/liblockstep.so
COUNT=$OUT/libcountblocks.so
STORE=$OUT/libstoreblocks.so
MON_TIMEOUT=300

RUNS=${RUNS:-5}
if ((QUICK)); then
	INTLOOP_N=100000000 INTLOOP_SHORT=10000000
	CALLS_N=33 CALLS_SHORT=28
else
	INTLOOP_N=1000000000 INTLOOP_SHORT=100000000
	CALLS_N=38 CALLS_SHORT=33 # fib(38): ~5.7e8 blocks, ~1.4 s plain; each -5 is ~1/11
fi
GUESTS=(intloop calls)
declare -A GARG=([intloop]=$INTLOOP_N [calls]=$CALLS_N)
declare -A GSHORT=([intloop]=$INTLOOP_SHORT [calls]=$CALLS_SHORT)

die() {
	echo "bench: error: $*" >&2
	exit 1
}
log() { echo "bench: $*" >&2; }

# ---- prerequisites ----
((EUID == 0)) || die "must run as root (the monitor loads BPF programs and attaches uprobes)"
command -v "$QEMU" >/dev/null || die "$QEMU not found"
for f in "$MON" "$PLUGIN" "$COUNT" "$STORE" "$OUT/guests/intloop" "$OUT/guests/calls"; do
	[[ -e $f ]] || die "$f is missing: run 'make' first (or 'make bench')"
done
if [[ ! -x /usr/bin/time ]]; then
	log "installing /usr/bin/time (Debian package 'time')"
	if ! { DEBIAN_FRONTEND=noninteractive apt-get -qq update >/dev/null &&
		DEBIAN_FRONTEND=noninteractive apt-get -qq install -y time >/dev/null; }; then
		die "cannot install the 'time' package"
	fi
fi
command -v timeout >/dev/null || die "timeout (coreutils) not found"

TMP=$(mktemp -d /tmp/lockstep-bench.XXXXXX)
KEEP_TMP=0
declare -a STARTED=() # pids this script started in the background
cleanup() {
	local rc=$? p
	for p in "${STARTED[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	if ((rc != 0 || KEEP_TMP)); then
		echo "bench: logs kept in $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT

# A fork-free short sleep for polling loops: read with a timeout from a FIFO
# nobody writes to.
mkfifo "$TMP/sleep.fifo"
exec {SLEEP_FD}<>"$TMP/sleep.fifo"
nap() { read -r -t "$1" -u "$SLEEP_FD" _ || true; }

# now_us VAR: microseconds since the epoch into VAR, without forking (a
# command substitution would fork, and forks take milliseconds here).
now_us() {
	local _now=$EPOCHREALTIME
	printf -v "$1" '%s' "${_now/./}"
}

# busy_ticks VAR: CPU ticks (all CPUs) spent busy since boot, from /proc/stat.
# Busy ticks during a run minus the CPU time of the processes measured is
# what everything else on the machine used meanwhile: reported as "other
# cpu", so a noisy run can be told from a slow one.
CLK_TCK=$(getconf CLK_TCK)
busy_ticks() {
	local _cpu _u _n _s _idle _iow _irq _sirq _steal _rest
	read -r _cpu _u _n _s _idle _iow _irq _sirq _steal _rest </proc/stat
	printf -v "$1" '%s' $((_u + _n + _s + _irq + _sirq + _steal))
}
# record_other guest config busy0 busy1 our-cpu-seconds...
record_other() {
	local g=$1 c=$2 b0=$3 b1=$4
	shift 4
	record "$g" "$c" other_cpu "$(awk -v b0="$b0" -v b1="$b1" -v hz="$CLK_TCK" -v ours="$*" \
		'BEGIN { n = split(ours, o, " "); s = 0; for (i = 1; i <= n; i++) s += o[i];
			 x = (b1 - b0) / hz - s; printf "%.2f", (x > 0 ? x : 0) }')"
}
last_metric() { # guest config metric: the value recorded last
	awk -v g="$1" -v c="$2" -v m="$3" '$1 == g && $2 == c && $3 == m { v = $4 } END { print v }' "$RES"
}

RES=$TMP/results # lines: guest config metric value
: >"$RES"
record() { echo "$1 $2 $3 $4" >>"$RES"; }

TFMT='%e %U %S %M' # wall, user, sys (s), max RSS (KiB)

# The last line of a /usr/bin/time -o file (it puts "Command exited with
# non-zero status N" in front when the command fails).
time_fields() { tail -n 1 "$1"; }

fail_run() { # what, dir-prefix
	KEEP_TMP=1
	echo "bench: error: $1" >&2
	local f
	for f in "$2".err "$2".time "$2".log; do
		if [[ -s $f ]]; then
			echo "--- $f" >&2
			tail -n 20 "$f" >&2
		fi
	done
	exit 1
}

# Checks that a run printed what the first run of that guest and argument printed.
check_output() { # guest.arg, prefix, what
	local ref=$TMP/ref.$1
	if [[ ! -e $ref ]]; then
		cp "$2.out" "$ref"
	elif ! cmp -s "$ref" "$2.out"; then
		fail_run "$3: the guest printed '$(head -c 80 "$2.out")', the plain run '$(head -c 80 "$ref")'" "$2"
	fi
}

# Records CPU (user+sys) and max RSS of a finished /usr/bin/time run.
record_time() { # guest config prefix [metric-suffix]
	local u s m
	read -r _ u s m < <(time_fields "$3.time")
	record "$1" "$2" cpu "$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.3f", u + s }')"
	record "$1" "$2" rss_kib "$m"
}

# Parses the plugin's verbose=on exit line into "blocks pubs waits wait_s expiries ring_kib".
plugin_stats() {
	sed -n 's/^liblockstep: exit: .* stream(s), \([0-9]*\) blocks, [0-9]* instructions, \([0-9]*\) publications, \([0-9]*\) permit waits (\([0-9.]*\) s waiting), \([0-9]*\) lease expiries, ring \([0-9]*\) KiB per vCPU.*/\1 \2 \3 \4 \5 \6/p' "$1" | tail -n 1
}

# ---- configurations 1-3: one QEMU in the foreground ----
run_single() { # guest config run-index qemu-args...
	local g=$1 cfg=$2 r=$3
	shift 3
	local p=$TMP/$g.$cfg.$r t0 t1 b0 b1 rc=0
	busy_ticks b0
	now_us t0
	/usr/bin/time -o "$p.time" -f "$TFMT" "$QEMU" "$@" "$OUT/guests/$g" "${GARG[$g]}" >"$p.out" 2>"$p.err" || rc=$?
	now_us t1
	busy_ticks b1
	((rc == 0)) || fail_run "$g/$cfg run $r: $QEMU exited with status $rc" "$p"
	check_output "$g.${GARG[$g]}" "$p" "$g/$cfg run $r"
	record "$g" "$cfg" wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e6 }')"
	record_time "$g" "$cfg" "$p"
	record_other "$g" "$cfg" "$b0" "$b1" "$(last_metric "$g" "$cfg" cpu)"
	if [[ $cfg == plugin ]]; then
		local st
		st=$(plugin_stats "$p.err")
		[[ -n $st ]] || fail_run "$g/$cfg run $r: no 'liblockstep: exit:' line (verbose=on)" "$p"
		record "$g" "$cfg" ring_kib "$(awk '{ print $6 }' <<<"$st")"
	fi
}

# ---- configurations 5-6: two QEMUs at once, no monitor ----
# The monitored pair is two QEMUs running at once; on a 2-CPU machine they
# share caches, memory bandwidth and (under a hypervisor) the host's cores.
# The same pair with the counting plugin, and with liblockstep.so alone,
# shows what that sharing costs by itself, so the monitored figure can be
# split into the machine's part and ours.
run_pair() { # guest config run-index qemu-args...
	local g=$1 cfg=$2 r=$3
	shift 3
	local p=$TMP/$g.$cfg.$r t0 b0 b1 side rc t_end
	local -A sub
	busy_ticks b0
	now_us t0
	for side in A B; do
		(
			rc=0 t=
			/usr/bin/time -o "$p.$side.time" -f "$TFMT" "$QEMU" "$@" "$OUT/guests/$g" "${GARG[$g]}" \
				>"$p.$side.out" 2>"$p.$side.err" || rc=$?
			now_us t
			echo "$t $rc" >"$p.$side.end"
		) &
		sub[$side]=$!
		STARTED+=("$!")
	done
	for side in A B; do
		wait "${sub[$side]}" || true
	done
	busy_ticks b1
	STARTED=()
	for side in A B; do
		[[ -s $p.$side.end ]] || fail_run "$g/$cfg run $r: QEMU $side left no exit record" "$p.$side"
		read -r t_end rc <"$p.$side.end"
		((rc == 0)) || fail_run "$g/$cfg run $r: QEMU $side exited with status $rc" "$p.$side"
		check_output "$g.${GARG[$g]}" "$p.$side" "$g/$cfg run $r, QEMU $side"
		record "$g" "$cfg" "wall_$side" "$(awk -v a="$t0" -v b="$t_end" 'BEGIN { printf "%.4f", (b - a) / 1e6 }')"
		record_time "$g" "${cfg}_$side" "$p.$side"
	done
	local wa wb ca cb
	wa=$(last_metric "$g" "$cfg" wall_A)
	wb=$(last_metric "$g" "$cfg" wall_B)
	ca=$(last_metric "$g" "${cfg}_A" cpu)
	cb=$(last_metric "$g" "${cfg}_B" cpu)
	record "$g" "$cfg" wall "$(awk -v a="$wa" -v b="$wb" 'BEGIN { print (a > b ? a : b) }')"
	record "$g" "$cfg" cpu_slower "$(awk -v a="$ca" -v b="$cb" 'BEGIN { print (a > b ? a : b) }')"
	record_other "$g" "$cfg" "$b0" "$b1" "$ca" "$cb"
}

# ---- configuration 4: two held QEMUs, then the monitor ----
child_of() { # VAR pid: the pid's (first) child pid into VAR, or nothing
	local _child=
	if [[ -r /proc/$2/task/$2/children ]]; then
		read -r _child _ </proc/"$2"/task/"$2"/children || true
	else
		_child=$(pgrep -P "$2" | head -n 1) || true
	fi
	printf -v "$1" '%s' "$_child"
}

# The QEMU is held (in the plugin's wait loop) once the plugin is mapped and
# its vCPU thread sleeps in nanosleep.  Fork-free: this runs every few ms.
qemu_held() { # pid
	local wchan=
	read -r wchan </proc/"$1"/wchan 2>/dev/null || true # no trailing newline: read "fails"
	[[ $wchan == *nanosleep* ]] || return 1
	local -a maps
	mapfile -t maps </proc/"$1"/maps 2>/dev/null || return 1
	[[ "${maps[*]}" == *liblockstep* ]]
}

run_monitored() { # guest config run-index guest-arg
	local g=$1 cfg=$2 r=$3 arg=$4
	local d=$TMP/$g.$cfg.$r side pa pb b0 b1
	local -A sub qpid
	busy_ticks b0
	for side in A B; do
		(
			rc=0 t=
			/usr/bin/time -o "$d.$side.time" -f "$TFMT" "$QEMU" -plugin "$PLUGIN,wait=10s,verbose=on" \
				"$OUT/guests/$g" "$arg" >"$d.$side.out" 2>"$d.$side.err" || rc=$?
			now_us t
			echo "$t $rc" >"$d.$side.end"
		) &
		sub[$side]=$!
		STARTED+=("$!")
	done
	# Find both QEMUs (subshell -> /usr/bin/time -> qemu) and wait until both are held.
	local deadline now tp
	now_us deadline
	deadline=$((deadline + 8000000))
	for side in A B; do
		while :; do
			child_of tp "${sub[$side]}"
			[[ -n $tp ]] && child_of "qpid[$side]" "$tp"
			if [[ -n ${qpid[$side]:-} ]] && qemu_held "${qpid[$side]}"; then
				STARTED+=("${qpid[$side]}")
				break
			fi
			now_us now
			((now < deadline)) || fail_run "$g/$cfg run $r: QEMU $side did not reach the plugin's wait within 8 s" "$d.$side"
			nap 0.002
		done
	done
	local t_held
	now_us t_held
	pa=${qpid[A]} pb=${qpid[B]}
	# The monitor's stdout goes through a line stamper so the "comparing" line
	# (flushed right after the first lease is granted) dates the attach.
	{
		rc=0
		/usr/bin/time -o "$d.mon.time" -f "$TFMT" timeout "$MON_TIMEOUT" "$MON" --pid "$pa" --pid "$pb" 2>"$d.mon.err" || rc=$?
		echo "$rc" >"$d.mon.rc"
	} | while IFS= read -r line; do
		now_us t
		printf '%s %s\n' "$t" "$line"
	done >"$d.mon.log"
	local mrc rc
	mrc=$(<"$d.mon.rc")
	# A failed monitor is an error: stop here (the cleanup ends the QEMUs).
	((mrc == 0)) || fail_run "$g/$cfg run $r: lockstep-bpf exited with status $mrc for two identical runs" "$d.mon"
	for side in A B; do
		wait "${sub[$side]}" || true
	done
	busy_ticks b1
	STARTED=()
	for side in A B; do
		[[ -s $d.$side.end ]] || fail_run "$g/$cfg run $r: QEMU $side left no exit record" "$d.$side"
		read -r _ rc <"$d.$side.end"
		((rc == 0)) || fail_run "$g/$cfg run $r: monitored QEMU $side exited with status $rc" "$d.$side"
		check_output "$g.$arg" "$d.$side" "$g/$cfg run $r, QEMU $side"
	done
	grep -q ' result: no divergence' "$d.mon.log" ||
		fail_run "$g/$cfg run $r: the monitor did not print 'result: no divergence'" "$d.mon"
	local t_attach
	t_attach=$(awk '$2 == "comparing" { print $1; exit }' "$d.mon.log")
	[[ -n $t_attach ]] || fail_run "$g/$cfg run $r: no 'comparing' line from the monitor" "$d.mon"

	local compared blocks pubs wait_s exp t_end wall_a wall_b cpu_a cpu_b
	compared=$(sed -n 's/^[0-9]* *compared: *\([0-9]*\) blocks.*/\1/p' "$d.mon.log")
	for side in A B; do
		read -r blocks pubs _ wait_s exp < <(plugin_stats "$d.$side.err") ||
			fail_run "$g/$cfg run $r: QEMU $side printed no 'liblockstep: exit:' line" "$d.$side"
		[[ $compared == "$blocks" ]] ||
			fail_run "$g/$cfg run $r: the monitor compared ${compared:-?} blocks, QEMU $side ran $blocks" "$d.mon"
		read -r t_end _ <"$d.$side.end"
		record "$g" "$cfg" "wall_$side" "$(awk -v a="$t_attach" -v b="$t_end" 'BEGIN { printf "%.4f", (b - a) / 1e6 }')"
		record_time "$g" "${cfg}_$side" "$d.$side"
		record "$g" "$cfg" "blocks_$side" "$blocks"
		record "$g" "$cfg" "pubs_$side" "$pubs"
		record "$g" "$cfg" "holdsec_$side" "$wait_s"
		record "$g" "$cfg" "expiries_$side" "$exp"
	done
	record_time "$g" "${cfg}_mon" "$d.mon"
	record_other "$g" "$cfg" "$b0" "$b1" "$(last_metric "$g" "${cfg}_A" cpu)" "$(last_metric "$g" "${cfg}_B" cpu)" \
		"$(last_metric "$g" "${cfg}_mon" cpu)"
	record "$g" "$cfg" attach_s "$(awk -v a="$t_held" -v b="$t_attach" 'BEGIN { printf "%.4f", (b - a) / 1e6 }')"
	# Per-run derived figures: the slower QEMU of the pair, the monitor's share.
	wall_a=$(last_metric "$g" "$cfg" wall_A)
	wall_b=$(last_metric "$g" "$cfg" wall_B)
	record "$g" "$cfg" wall "$(awk -v a="$wall_a" -v b="$wall_b" 'BEGIN { print (a > b ? a : b) }')"
	cpu_a=$(last_metric "$g" "${cfg}_A" cpu)
	cpu_b=$(last_metric "$g" "${cfg}_B" cpu)
	record "$g" "$cfg" cpu_slower "$(awk -v a="$cpu_a" -v b="$cpu_b" 'BEGIN { print (a > b ? a : b) }')"
	local mcpu
	mcpu=$(last_metric "$g" "${cfg}_mon" cpu)
	record "$g" "$cfg" mon_cpu_pct "$(awk -v m="$mcpu" -v a="$cpu_a" -v b="$cpu_b" 'BEGIN { printf "%.3f", 100 * m / ((a + b) / 2) }')"
}

# ---- the runs ----
log "$RUNS run(s), $( ((QUICK)) && echo quick || echo default) mode: intloop ${GARG[intloop]}, calls ${GARG[calls]}; short: intloop ${GSHORT[intloop]}, calls ${GSHORT[calls]}"
now_us T_START
for ((r = 1; r <= RUNS; r++)); do
	for g in "${GUESTS[@]}"; do
		log "run $r/$RUNS: $g: plain, count, store, plugin, count pair, plugin pair, monitored, mon-short"
		run_single "$g" plain "$r"
		run_single "$g" count "$r" -plugin "$COUNT"
		run_single "$g" store "$r" -plugin "$STORE"
		run_single "$g" plugin "$r" -plugin "$PLUGIN,verbose=on"
		run_pair "$g" countpair "$r" -plugin "$COUNT"
		run_pair "$g" pluginpair "$r" -plugin "$PLUGIN"
		run_monitored "$g" monitored "$r" "${GARG[$g]}"
		run_monitored "$g" monshort "$r" "${GSHORT[$g]}"
	done
done
now_us T_END
T_TOTAL=$(awk -v a="$T_START" -v b="$T_END" 'BEGIN { printf "%.0f", (b - a) / 1e6 }')

# ---- reporting ----
# median guest config metric -> the median over the runs (empty if none)
median() {
	awk -v g="$1" -v c="$2" -v m="$3" '$1 == g && $2 == c && $3 == m { print $4 }' "$RES" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.6g", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
total() {
	awk -v g="$1" -v c="$2" -v m="$3" '$1 == g && $2 == c && $3 == m { s += $4 } END { printf "%.0f", s }' "$RES"
}
minmax() {
	awk -v g="$1" -v c="$2" -v m="$3" '$1 == g && $2 == c && $3 == m { if (n++ == 0 || $4 < lo) lo = $4; if ($4 > hi) hi = $4 }
		END { printf "%.2f-%.2f", lo, hi }' "$RES"
}
calc() { awk "BEGIN { printf \"$1\", ($2) }"; } # calc FORMAT EXPR

BARS=$TMP/bars
NFAIL=0
bar() { # ok(1/0) text
	local v=PASS
	(($1)) || { v=FAIL; NFAIL=$((NFAIL + 1)); }
	printf '  %-4s  %s\n' "$v" "$2" >>"$BARS"
}
: >"$BARS"

echo
echo "lockstep-bpf benchmark: $RUNS run(s), medians; $(nproc) CPU(s), kernel $(uname -r), $("$QEMU" --version | head -n 1)"
echo "wall = elapsed s (monitored: from the monitor's attach to that QEMU's exit; slower = the later of the pair);"
echo "cpu = user+sys s; maxRSS = /usr/bin/time %M; other cpu = CPU s used by everything else on the machine"
echo "during the run (median/max; should be ~0 on an idle machine), from /proc/stat"
for g in "${GUESTS[@]}"; do
	p_wall=$(median "$g" plain wall)
	c_wall=$(median "$g" count wall)
	c_cpu=$(median "$g" count cpu)
	echo
	echo "== $g ${GARG[$g]} (short: ${GSHORT[$g]}) =="
	printf '%-20s %7s %7s %7s %7s %9s %9s  %-11s %s\n' configuration wall x-plain x-count cpu cpu/count maxRSS \
		'wall range' 'other cpu'
	# row label wall-metric-config wall-metric cpu-config cpu-metric rss-config
	row() {
		local w c rss xw=- xc=- xcc=- range=- other=-
		w=$(median "$g" "$2" "$3")
		c=$(median "$g" "$4" "$5")
		rss=$(median "$g" "$6" rss_kib)
		if [[ -n $w ]]; then
			xw=$(calc '%.2fx' "$w / $p_wall")
			xc=$(calc '%.2fx' "$w / $c_wall")
			range=$(minmax "$g" "$2" "$3")
			other="$(calc '%.2f' "$(median "$g" "$2" other_cpu)")/$(minmax "$g" "$2" other_cpu | cut -d- -f2)"
		fi
		[[ $4 == *_mon ]] || xcc=$(calc '%.2fx' "$c / $c_cpu")
		printf '%-20s %7s %7s %7s %7.2f %9s %5.1f MiB  %-11s %s\n' "$1" "${w:--}" "$xw" "$xc" "$c" "$xcc" \
			"$(calc '%.1f' "$rss / 1024")" "$range" "$other"
	}
	row "plain" plain wall plain cpu plain
	row "count (floor)" count wall count cpu count
	row "store-only (floor 2)" store wall store cpu store
	row "plugin, no monitor" plugin wall plugin cpu plugin
	row "count pair, slower" countpair wall countpair cpu_slower countpair_A
	row "plugin pair, slower" pluginpair wall pluginpair cpu_slower pluginpair_A
	row "monitored QEMU A" monitored wall_A monitored_A cpu monitored_A
	row "monitored QEMU B" monitored wall_B monitored_B cpu monitored_B
	row "monitored, slower" monitored wall monitored cpu_slower monitored_A
	row "monitor" none none monitored_mon cpu monitored_mon
	row "monitor, short run" none none monshort_mon cpu monshort_mon

	blocks=$(total "$g" monitored blocks_A)
	pubs=$(total "$g" monitored pubs_A)
	blocks_b=$(total "$g" monitored blocks_B)
	pubs_b=$(total "$g" monitored pubs_B)
	echo "  monitored pairs: held by the permit window (median s) A $(median "$g" monitored holdsec_A), B $(median "$g" monitored holdsec_B);" \
		"lease expiries A $(total "$g" monitored expiries_A), B $(total "$g" monitored expiries_B);" \
		"attach took $(median "$g" monitored attach_s) s after both were held"
	echo "  uprobe hits (publications): A $pubs for $blocks blocks, B $pubs_b for $blocks_b blocks over $RUNS run(s)"

	# Bars.
	m_wall=$(median "$g" monitored wall)
	x=$(calc '%.3f' "$m_wall / $c_wall")
	bar "$(calc '%d' "$x <= 1.15")" "$g: monitored / count = ${x}x wall (bar <= 1.15x; plugin alone is $(calc '%.2f' "$(median "$g" plugin wall) / $c_wall")x, monitored cpu/count $(calc '%.2f' "$(median "$g" monitored cpu_slower) / $c_cpu")x)"
	cp_wall=$(median "$g" countpair wall)
	pp_wall=$(median "$g" pluginpair wall)
	echo "  two at once: count pair / count $(calc '%.2f' "$cp_wall / $c_wall")x (the machine's share);" \
		"plugin pair / count pair $(calc '%.2f' "$pp_wall / $cp_wall")x (the plugin's);" \
		"monitored / plugin pair $(calc '%.2f' "$m_wall / $pp_wall")x (the monitor's and the uprobes');" \
		"monitored / count pair $(calc '%.2f' "$m_wall / $cp_wall")x"
	if [[ $g == calls ]]; then
		x=$(calc '%.3f' "$m_wall / $p_wall")
		bar "$(calc '%d' "$x <= 1.6")" "$g: monitored / plain = ${x}x wall on the call-heavy guest (bar <= 1.6x)"
	fi
	x=$(median "$g" monitored mon_cpu_pct)
	q_long=$(calc '%.4f' "($(median "$g" monitored_A cpu) + $(median "$g" monitored_B cpu)) / 2")
	q_short=$(calc '%.4f' "($(median "$g" monshort_A cpu) + $(median "$g" monshort_B cpu)) / 2")
	m_long=$(median "$g" monitored_mon cpu)
	m_short=$(median "$g" monshort_mon cpu)
	# The marginal share (long minus short run) leaves out the monitor's fixed
	# start-up cost (loading and attaching the BPF program); information only.
	marg=$(calc '%.1f%%' "$q_long - $q_short > 0 ? 100 * ($m_long - $m_short) / ($q_long - $q_short) : 0")
	bar "$(calc '%d' "$x < 5")" "$g: monitor CPU = $(calc '%.2f' "$x")% of one monitored QEMU's CPU (bar < 5%; $m_long s vs $q_long s; short run $m_short s vs $q_short s, marginal $marg)"
	hp=$((pubs + pubs_b))
	hb=$((blocks + blocks_b))
	if ((hp > 0)); then
		bpb=$(calc '%.1f' "$hb / $hp")
		bar "$(calc '%d' "$hb / $hp >= 4096")" "$g: uprobe hits = one per $bpb blocks ($hp hits, $hb blocks; bar: at most one per 4096)"
	else
		bar 0 "$g: no uprobe hits were counted"
	fi
	ring=$(median "$g" plugin ring_kib)
	rss=$(calc '%.0f' "$(median "$g" plugin rss_kib) - $(median "$g" count rss_kib)")
	bar "$(calc '%d' "$ring <= 16384")" "$g: plugin ring = $(calc '%.2f' "$ring / 1024") MiB per vCPU, as the plugin reports it (bar <= 16 MiB); max RSS over the counting plugin +$(calc '%.2f' "$rss / 1024") MiB in all (ring, batch, flusher thread)"
	ml=$(median "$g" monitored_mon rss_kib)
	ms=$(median "$g" monshort_mon rss_kib)
	bar "$(calc '%d' "$ml - $ms <= 512")" "$g: monitor max RSS long $(calc '%.2f' "$ml / 1024") MiB vs short $(calc '%.2f' "$ms / 1024") MiB, growth $(calc '%+.0f' "$ml - $ms") KiB (bar: no growth beyond 512 KiB noise)"
done

echo
echo "== bars (ratios and counts only; a failed bar does not fail the benchmark) =="
cat "$BARS"
echo
echo "all $((RUNS * 2 * 2)) monitored pairs: monitor exit 0, 'result: no divergence', every block compared from block 0"
noisy=$(awk '$3 == "other_cpu" && $4 > 0.1 { n++ } END { print n + 0 }' "$RES")
nruns=$(awk '$3 == "other_cpu" { n++ } END { print n + 0 }' "$RES")
if ((noisy)); then
	echo "note: in $noisy of $nruns measured runs other processes used more than 0.1 CPU s: the machine was not idle, wall ranges show the noise"
fi
echo "$NFAIL bar(s) failed; total benchmark time ${T_TOTAL} s"
exit 0
