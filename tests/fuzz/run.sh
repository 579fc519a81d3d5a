#!/usr/bin/env bash
# run.sh NAME... - run each fuzz target built in $OUTPUT/fuzz for FUZZ_TIME
# seconds: first over its checked-in corpus (the regression inputs of every
# crash found so far), then exploring from it.  Any crash, leak, sanitizer
# finding, timeout or excess memory fails the run.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUTPUT:-.output}/fuzz
T=${FUZZ_TIME:-20}
pass=0 fail=0
for n in "$@"; do
	bin=$OUT/fuzz_$n corpus=tests/fuzz/corpus/$n work=$OUT/corpus-$n
	mkdir -p "$work"
	log=$OUT/$n.log
	if "$bin" -max_total_time="$T" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$OUT/$n-" "$work" "$corpus" >"$log" 2>&1; then
		echo "fuzz $n: ok ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs in ${T}s)"
		pass=$((pass + 1))
	else
		echo "fuzz $n: FAILED (see $log; the input is $OUT/$n-*)"
		tail -40 "$log"
		fail=$((fail + 1))
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" = 0 ]
