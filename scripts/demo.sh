#!/usr/bin/env bash
# demo.sh - the main job on a bundled guest with a known divergence: two
# qemu-x86_64 runs of tests/guests/branchy, started and compared by
# `lockstep-bpf run`, that differ only in which function one indirect call
# reaches (the guest reads the choice from $BRANCHY, set per side with -E).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUTPUT:-.output}
if [ "$(id -u)" != 0 ]; then
	echo "the demo attaches BPF uprobes: run it as root (sudo make demo)" >&2
	exit 2
fi
G=$OUT/guests/branchy
cmd=("$OUT/lockstep-bpf" run --a-arg -E --a-arg BRANCHY=a --b-arg -E --b-arg BRANCHY=b -- "$G" env 300000000)
echo "== ${cmd[*]}"
echo "   (both QEMUs start held before their first block; the monitor attaches, then releases them)"
"${cmd[@]}"
rc=$?
echo "== lockstep-bpf exited with $rc (1 = divergence found)"
echo "   path_a and path_b in the guest's symbol table:"
nm "$G" | grep -E ' path_[ab]$' | sed 's/^/   /'
[ $rc = 1 ]
