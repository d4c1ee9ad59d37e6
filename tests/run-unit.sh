#!/bin/sh
# Runs every unit-test binary given as argument; prints each binary's last
# line and the suite's last line "unit: N passed, N failed"; exits non-zero
# if any binary failed.
cd "$(dirname "$0")/.." || exit 1
SUITE=unit
. tests/lib/common.sh
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	last=$(printf '%s\n' "$out" | tail -n 1)
	p=$(printf '%s' "$last" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1/p')
	f=$(printf '%s' "$last" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\2/p')
	if [ -z "$p" ]; then p=0; f=1; fi
	if [ $rc -ne 0 ] || [ "$f" -ne 0 ]; then
		printf '%s\n' "$out" | tail -n 40
		printf 'unit %-28s FAILED (exit %s)\n' "$(basename "$t")" "$rc"
		[ "$f" -eq 0 ] && f=1
	else
		printf 'unit %-28s %s\n' "$(basename "$t")" "$last"
	fi
	pass=$((pass + p)); fail=$((fail + f))
done
finish
