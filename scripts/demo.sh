#!/usr/bin/env bash
# demo.sh - the main job on a bundled guest with a known divergence: two
# qemu-x86_64 runs of tests/guests/branchy that differ only in which function
# one indirect call reaches, compared by lockstep-bpf.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUTPUT:-.output}
if [ "$(id -u)" != 0 ]; then
	echo "the demo attaches BPF uprobes: run it as root (sudo make demo)" >&2
	exit 2
fi
G=$OUT/guests/branchy
echo "== A: qemu-x86_64 -plugin $OUT/liblockstep.so,wait=10s $G a 3000000"
echo "== B: qemu-x86_64 -plugin $OUT/liblockstep.so,wait=10s $G b 3000000"
echo "   (wait=10s holds each guest before its first block until a monitor attaches)"
qemu-x86_64 -plugin "$OUT/liblockstep.so,wait=10s" "$G" a 3000000 >/dev/null & A=$!
qemu-x86_64 -plugin "$OUT/liblockstep.so,wait=10s" "$G" b 3000000 >/dev/null & B=$!
for p in $A $B; do
	for _ in $(seq 100); do grep -q liblockstep "/proc/$p/maps" 2>/dev/null && break; sleep 0.05; done
done
echo "== lockstep-bpf --pid $A --pid $B"
"$OUT/lockstep-bpf" --pid "$A" --pid "$B"
rc=$?
wait $A $B
echo "== lockstep-bpf exited with $rc (1 = divergence found)"
echo "   path_a and path_b in the guest's symbol table:"
nm "$G" | grep -E ' path_[ab]$' | sed 's/^/   /'
[ $rc = 1 ]
