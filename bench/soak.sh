#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/soak.sh - a long monitored run: ten billion blocks (by default)
# through a pair of QEMUs under `lockstep-bpf run`, checking that nothing is
# lost and that neither the monitor's nor the QEMUs' memory grows with the
# length of the run.
#
# Usage: make soak             (builds first)
#        bash bench/soak.sh [--blocks N]
#
# RSS (VmRSS from /proc) of the monitor and both QEMUs is sampled every
# second; growth is measured from the sample at 3 s (rings, translation
# cache and BPF maps are in place by then) to the last one.  Bars: every
# block compared, no lost events, exit 0, growth of each process at most
# 1 MiB.  Failing a bar fails the script (exit 1).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BLOCKS=10000000000
while (($#)); do
	case $1 in
	--blocks)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "usage: bash bench/soak.sh [--blocks N]" >&2; exit 2; }
		BLOCKS=$2
		shift 2
		;;
	*) echo "usage: bash bench/soak.sh [--blocks N]" >&2; exit 2 ;;
	esac
done
OUT=${OUTPUT:-.output}
MON=$OUT/lockstep-bpf
((EUID == 0)) || { echo "soak: must run as root (BPF, uprobes)" >&2; exit 2; }
[[ -x $MON && -x $OUT/guests/intloop ]] || { echo "soak: run 'make' first" >&2; exit 2; }

TMP=$(mktemp -d /tmp/lockstep-soak.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# intloop runs about one block per loop iteration.
"$MON" run --json -I 1s -o "$TMP/out" -- "$OUT/guests/intloop" "$BLOCKS" >"$TMP/events" 2>"$TMP/err" &
mon=$!
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
pa= pb= t=0
: >"$TMP/rss"
while kill -0 "$mon" 2>/dev/null; do
	sleep 1
	t=$((t + 1))
	if [[ -z $pa ]]; then
		read -r pa pb < <(python3 -c 'import json,sys
o=json.loads(open(sys.argv[1]).readline()); print(o["sides"][0]["pid"], o["sides"][1]["pid"])' "$TMP/events" 2>/dev/null) || true
	fi
	[[ -n $pa ]] && echo "$t $(rss "$mon") $(rss "$pa") $(rss "$pb")" >>"$TMP/rss"
done
wait "$mon" && rc=0 || rc=$?
python3 - "$TMP/events" "$TMP/rss" "$rc" "$BLOCKS" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
rows = [list(map(int, l.split())) for l in open(sys.argv[2]) if len(l.split()) == 4]
rc, blocks = int(sys.argv[3]), int(sys.argv[4])
s = events[-1]
assert s["type"] == "summary", s
fails = []
pub = s["sides"]["A"]["blocks_published"]
print(f"soak: {pub} blocks per side in {s['time']:.1f} s; compared {s['compared_blocks']}; "
      f"lost events {s['events_lost']}, bad batches {s['bad_batches']}; exit {rc} ({s['result']})")
if rc != 0: fails.append(f"exit {rc}")
if s["compared_blocks"] != pub or pub < blocks: fails.append("not every block compared")
if s["events_lost"] or s["bad_batches"]: fails.append("lost events")
for u in ("A", "B"):
    if s["sides"][u]["uncompared"]["total"]: fails.append(f"{u}: uncompared blocks")
base = next((r for r in rows if r[0] >= 3 and all(r[1:])), None)
last = next((r for r in reversed(rows) if all(r[1:])), None)
if base and last and last[0] > base[0]:
    for i, name in ((1, "monitor"), (2, "QEMU A"), (3, "QEMU B")):
        g = last[i] - base[i]
        print(f"soak: {name} RSS {base[i] / 1024:.1f} MiB at {base[0]} s, {last[i] / 1024:.1f} MiB at {last[0]} s ({g:+d} KiB)")
        if g > 1024: fails.append(f"{name} RSS grew {g} KiB")
else:
    fails.append("run too short to sample memory growth")
print("soak: " + ("PASS" if not fails else "FAIL: " + "; ".join(fails)))
sys.exit(1 if fails else 0)
PY
