#!/bin/bash
# Builds tests/relay/config_unit.c against relay/rconf.c (and the two lib
# files it uses) and runs it. Sources, not $B objects, so that it always
# tests the tree as it is. With sanitizers when the compiler has them.
# Last line: "N passed, N failed"; exit status non-zero on any failure.
set -u
cd "$(dirname "$0")/../.."
CC=${CC:-cc}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
src=(tests/relay/config_unit.c relay/rconf.c lib/log.c lib/err.c lib/secret.c lib/url.c lib/file.c)
flags=(-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes
	-Wmissing-prototypes -Wno-missing-field-initializers -Werror -Ilib -Irelay -Itests/unit)
san=(-fsanitize=address,undefined -fno-sanitize-recover=all)
if ! "$CC" "${flags[@]}" "${san[@]}" -o "$T/config_unit" "${src[@]}" -lcrypto 2>"$T/cc.err"; then
	"$CC" "${flags[@]}" -o "$T/config_unit" "${src[@]}" -lcrypto 2>"$T/cc.err" || {
		cat "$T/cc.err"
		echo "0 passed, 1 failed"
		exit 1
	}
fi
mkdir -m 700 "$T/d"
ASAN_OPTIONS=detect_leaks=1 "$T/config_unit" "$T/d"
