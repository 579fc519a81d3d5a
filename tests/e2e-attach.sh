#!/usr/bin/env bash
# e2e-attach.sh - how the monitor meets its QEMUs: through a wrapper script,
# while they are still starting or already exiting, a second monitor on the
# same pair, and the /metrics server under idle connections.  Real
# qemu-x86_64 and the real monitor; needs root (BPF, uprobes).
source "$(dirname "$0")/e2e-common.sh"

echo "e2e-attach: integration tests with $($QEMU --version | head -1)"

# A wrapper script as "another build": bash sets `_` (and PWD, SHLVL when
# missing) in what the guest gets, and glibc's start-up walks every variable.
WRAP=$TMP/qemu-wrapper.sh
printf '#!/bin/bash\nexec %s "$@"\n' "$(command -v "$QEMU")" >"$WRAP"
chmod +x "$WRAP"

t="wrapper script as --qemu-b: the cause names the environment order bash changed, not code generation"
# The same variables (bash keeps PWD, SHLVL=1 and _ as given), exported in bash's own order.
env -i PATH="$PATH" PWD="$PWD" SHLVL=1 ZZZ=1 AAAAAA=2 _=/x/y timeout -s INT 120 "$MON" run --qemu-b "$WRAP" -- \
	"$G/intloop" 1000 >"$TMP/w1.mon" 2>&1
rc=$?
cause=$(grep -A1 '^  cause:' "$TMP/w1.mon" | head -2 | tr '\n' ' ')
if [ "$rc" = 1 ] && grep -q '^  cause: inputs differed: .*environment order: the same 6 variables, but variable 0 is PATH in A and PWD in B' "$TMP/w1.mon" &&
	! grep -q 'suspect code generation' "$TMP/w1.mon"; then
	ok "$t"
else
	ko "$t" "rc=$rc cause: $cause"
fi

t="wrapper script, empty environment: the cause names PWD and SHLVL that bash added"
env -i PATH="$PATH" timeout -s INT 120 "$MON" run --qemu-b "$WRAP" -- "$G/intloop" 1000 >"$TMP/w2.mon" 2>&1
rc=$?
cause=$(grep -A1 '^  cause:' "$TMP/w2.mon" | head -2 | tr '\n' ' ')
if [ "$rc" = 1 ] && grep -q '^  cause: inputs differed: .*environment PWD (A unset, B "' "$TMP/w2.mon" &&
	grep -q 'environment SHLVL (A unset, B "' "$TMP/w2.mon" && ! grep -q 'suspect code generation' "$TMP/w2.mon"; then
	ok "$t"
else
	ko "$t" "rc=$rc cause: $cause"
fi

echo "e2e-attach: $pass passed, $fail failed"
[ "$fail" = 0 ]
