#!/usr/bin/env bash
# The man pages are clean: no message at all from `mandoc -Tlint` (style
# included) and none from `groff -ww -z -man`. Needs mandoc and groff.
#
#   bash tests/man.sh [PAGE...]      (default: man/*.[1-8])
set -u

cd "$(dirname "$0")/.." || exit 1
SUITE=man BAD_DETAIL=cat
# shellcheck source=tests/lib/common.sh
. tests/lib/common.sh

for tool in mandoc groff; do
	command -v $tool >/dev/null 2>&1 || {
		give_up "$tool is missing (tests/deps.sh installs it)"
	}
done

# the linters must be able to fail: a page with a known fault is reported
tmpdir
tmp=$T
printf '.TH X 8 2026-01-01 x x\n.SH NAME\nx \\- y\n.SH DESCRIPTION\n.BR\n.B\n' >"$tmp/x.8"
if [ -n "$(mandoc -Tlint "$tmp/x.8" 2>&1)" ]; then
	ok "self-test: mandoc -Tlint reports a bad page"
else
	bad "self-test: mandoc -Tlint reports a bad page"
fi
printf '.TH X 8 2026-01-01 x x\n.SH NAME\nx \\- y\n.ZZ\n\\*[undefined]\n' >"$tmp/y.8"
if [ -n "$(groff -ww -z -man "$tmp/y.8" 2>&1)" ]; then
	ok "self-test: groff -ww reports a bad page"
else
	bad "self-test: groff -ww reports a bad page"
fi

[ $# -gt 0 ] || set -- man/*.[1-8]
for page in "$@"; do
	out=$(mandoc -Tlint "$page" 2>&1)
	if [ -z "$out" ]; then
		ok "mandoc -Tlint $page"
	else
		bad "mandoc -Tlint $page" "$out"
	fi
	out=$(groff -ww -z -man "$page" 2>&1)
	if [ -z "$out" ]; then
		ok "groff -ww $page"
	else
		bad "groff -ww $page" "$out"
	fi
done

finish
