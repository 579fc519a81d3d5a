#!/usr/bin/env bash
# sanitize.sh - unit and integration tests on the ASan+UBSan build in
# $OUTPUT (make sanitize builds it).  Any finding aborts the process that
# made it, which fails the test that ran it.  The plugin inside QEMU has
# UBSan only: the ASan runtime must be the first library of a process, and
# preloading it into QEMU deadlocks QEMU's exit (libp11-kit's destructor
# waits on glibc's locale lock); the plugin's logic runs under ASan in the
# unit tests instead.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUTPUT:?OUTPUT must name the sanitizer build}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=abort_on_error=1

echo "sanitize: unit tests (ASan+UBSan, the plugin's parts included)"
"$OUT/unit-tests" --jobs 2 || exit 1
echo "sanitize: integration tests (ASan+UBSan monitor, UBSan plugin)"
OUTPUT=$OUT bash tests/e2e.sh || exit 1
OUTPUT=$OUT bash tests/e2e-explain.sh || exit 1
OUTPUT=$OUT bash tests/e2e-real.sh || exit 1
OUTPUT=$OUT bash tests/e2e-signals.sh
