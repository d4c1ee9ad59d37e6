#!/bin/bash
# clang-format --dry-run over the C files given (the Makefile passes every C
# file: FORMAT_SRCS); one check per file, the first lines of what would change
# for a file that is not clean. Last line: "format: N passed, N failed".
# `make format` rewrites them.
set -u
cd "$(dirname "$0")/.." || exit 1
SUITE=format BAD_DETAIL='head -n 12'
. tests/lib/common.sh
command -v clang-format >/dev/null 2>&1 || give_up "clang-format not found (apt-get install -y clang-format)"
[ $# -gt 0 ] || give_up "no files given"
tmpdir
for f in "$@"; do
	out=$(clang-format --dry-run --Werror "$f" 2>&1)
	check "$f" $? "$out"
done >"$T/out"
# the files that are not clean, then a count of the clean ones
grep -v '^ok   ' "$T/out"
echo "$pass of $# files clean (clang-format $(clang-format --version | grep -o '[0-9][0-9.]*' | head -n 1))"
finish
