# e2e-common.sh - what every integration test script shares: paths, the
# root check (loud skip outside CI, failure in CI), pass/fail accounting and
# helpers to start QEMUs and the monitor.  Sourced, not run.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUTPUT:-.output}
MON=$OUT/lockstep-bpf
PLUGIN=$OUT/liblockstep.so
G=$OUT/guests
QEMU=${QEMU:-qemu-x86_64}
TMP=$(mktemp -d /tmp/lockstep-e2e.XXXXXX)
pass=0 fail=0 pids=()

cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ]; then
	if [ -n "${CI:-}" ]; then
		echo "e2e: FATAL: CI must run these tests as root (BPF and uprobes need it)" >&2
		exit 1
	fi
	echo "################################################################" >&2
	echo "e2e: SKIPPED: not root. BPF uprobe tests need root: sudo make check" >&2
	echo "################################################################" >&2
	exit 0
fi

ok() { pass=$((pass + 1)); echo "  ok   $1"; }
ko() { fail=$((fail + 1)); echo "  FAIL $1"; shift; for l in "$@"; do echo "       $l"; done; }

# start_qemu NAME PLUGIN_ARGS GUEST ARGS...: background QEMU, pid in $qpid, output in $TMP/NAME.out
start_qemu() {
	local name=$1 pargs=$2
	shift 2
	"$QEMU" -plugin "$PLUGIN${pargs:+,$pargs}" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	qpid=$!
	pids+=("$qpid")
	# The monitor needs the plugin mapped: wait until QEMU has loaded it.
	for _ in $(seq 100); do
		grep -q liblockstep "/proc/$qpid/maps" 2>/dev/null && return 0
		sleep 0.05
	done
}

# monitor NAME ARGS...: run lockstep-bpf with a time limit; exit code in $mrc, output in $TMP/NAME.mon
monitor() {
	local name=$1
	shift
	timeout -s INT 120 "$MON" "$@" >"$TMP/$name.mon" 2>&1
	mrc=$?
}

sym() { nm "$1" | awk -v s="$2" '$3 == s { print "0x" $1 }'; }
field() { sed -n "s/.*$1.*/&/p" "$2"; }

# first block (sequence number) at which pc $2 runs, from a plugin-alone dump of guest run
first_block_of() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
pc = int(sys.argv[2], 16)
for i in range(0, len(data), 8):
    w, = struct.unpack_from('<Q', data, i)
    if w & ((1 << 48) - 1) == pc:
        print(i // 8); break
else:
    print(-1)
PY
}

