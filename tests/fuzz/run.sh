#!/bin/sh
# Runs each libFuzzer binary for FUZZ_SECONDS on a scratch copy of its seed
# corpus (tests/fuzz/corpus/<name>/, never modified). Crashes are kept in
# $B/fuzz/crash-<name>-*. Last line: "fuzz: N passed, N failed"; skipped
# when given no binaries (no clang).
set -u
cd "$(dirname "$0")/../.." || exit 1
SUITE=fuzz
. tests/lib/common.sh
secs=${FUZZ_SECONDS:-5}
[ $# -gt 0 ] || skip "no fuzz targets built (clang not found)"
for bin in "$@"; do
	name=$(basename "$bin")
	work="$B/fuzz/work-$name"
	rm -rf "$work"
	mkdir -p "$work"
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/" 2>/dev/null
	if "$bin" -max_total_time="$secs" -timeout=5 -rss_limit_mb=1024 -max_len=65536 \
		-artifact_prefix="$B/fuzz/crash-$name-" -print_final_stats=0 \
		"$work" >"$B/fuzz/$name.log" 2>&1; then
		runs=$(grep -o 'Done [0-9]* runs' "$B/fuzz/$name.log" | tail -n 1)
		echo "fuzz $name: ok (${runs:-no stats}, ${secs}s)"
		pass=$((pass + 1))
	else
		tail -n 30 "$B/fuzz/$name.log"
		echo "fuzz $name: FAILED (see $B/fuzz/$name.log)"
		fail=$((fail + 1))
	fi
done
finish
