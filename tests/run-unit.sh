#!/bin/sh
# Runs every unit-test binary given as argument; prints each suite's last
# line and a total "N passed, N failed"; exits non-zero if any suite failed.
pass=0 fail=0 bad=0
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	last=$(printf '%s\n' "$out" | tail -n 1)
	p=$(printf '%s' "$last" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1/p')
	f=$(printf '%s' "$last" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\2/p')
	if [ -z "$p" ]; then p=0; f=1; fi
	if [ $rc -ne 0 ] || [ "$f" -ne 0 ]; then
		printf '%s\n' "$out" | tail -n 40
		printf 'unit %-28s FAILED (exit %s)\n' "$(basename "$t")" "$rc"
		bad=1
		[ "$f" -eq 0 ] && f=1
	else
		printf 'unit %-28s %s\n' "$(basename "$t")" "$last"
	fi
	pass=$((pass + p)); fail=$((fail + f))
done
echo "unit total: $pass passed, $fail failed"
exit $bad
