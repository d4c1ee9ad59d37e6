# shellcheck shell=bash
# What every suite script shares: the counter, the result lines, the one last
# line tests/check.sh reads, the scratch directory and the exit trap. From
# the top of the repository:
#
#   SUITE=relay
#   . tests/lib/common.sh
#
#   ok NAME                    "ok   NAME", counted as passed
#   bad NAME [DETAIL]          "FAIL NAME" and DETAIL through $BAD_DETAIL
#                              (default "tail -n 20"), indented; counted as failed
#   check NAME STATUS [DETAIL] ok if STATUS is 0, bad otherwise
#   finish                     the last line "SUITE: N passed, N failed", then
#                              exits 0 if nothing failed, 1 otherwise
#   give_up NAME [DETAIL]      bad NAME, then finish (a set-up step failed)
#   skip REASON                the suite cannot run here: "SUITE: skipped
#                              (REASON)" and "SUITE: 0 passed, 0 failed", exit 0
#   tmpdir                     T=$(mktemp -d), removed at exit (KEEP_TMP=1 keeps it)
#   at_exit COMMAND            run COMMAND at exit, in the order registered,
#                              before $T is removed
#   need_files FILE...         give_up "missing FILE (make B=$B all)" unless each exists
#   need_root WHY              give_up "needs root (WHY)" unless running as root
#
# INT, TERM and HUP exit 130 through the same trap. B defaults to build.
# POSIX sh: tests/run-unit.sh and tests/fuzz/run.sh source it too.

B=${B:-build}
SUITE=${SUITE:-$(basename "$0" .sh)}
pass=0
fail=0
BAD_DETAIL=${BAD_DETAIL:-tail -n 20}
T=
COMMON_AT_EXIT=

ok() {
	pass=$((pass + 1))
	echo "ok   $1"
}

bad() {
	fail=$((fail + 1))
	echo "FAIL $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | eval "$BAD_DETAIL" | sed 's/^/     /'
	return 0
}

check() { # NAME CONDITION-STATUS [DETAIL]
	if [ "$2" = 0 ]; then ok "$1"; else bad "$1" "${3:-}"; fi
}

finish() {
	echo "$SUITE: $pass passed, $fail failed"
	[ "$fail" -eq 0 ] && exit 0
	exit 1
}

give_up() {
	bad "$@"
	finish
}

skip() {
	echo "$SUITE: skipped ($1)"
	echo "$SUITE: 0 passed, 0 failed"
	exit 0
}

tmpdir() {
	T=$(mktemp -d) || give_up "mktemp -d"
}

need_files() {
	for f in "$@"; do
		[ -e "$f" ] || give_up "missing $f (make B=$B all)"
	done
}

# need_parts: the built module, helper and relay (else give_up); sets MOD,
# HELPER, RELAYBIN (absolute) and BROWSER (the scripted browser).
need_parts() {
	need_files "$B/pam_oauth2_pkce.so" "$B/oauth2-pkce-helper" "$B/oauth2-pkce-relay"
	MOD=$(realpath "$B/pam_oauth2_pkce.so")
	HELPER=$(realpath "$B/oauth2-pkce-helper")
	RELAYBIN=$(realpath "$B/oauth2-pkce-relay")
	BROWSER=$(realpath tests/idp/browser.mjs)
}

# asan_module: the module in $B is a sanitizer build
asan_module() { nm -D "$MOD" 2>/dev/null | grep -q __asan_init; }

need_root() {
	[ "$(id -u)" -eq 0 ] || give_up "needs root ($1)"
}

at_exit() {
	COMMON_AT_EXIT="$COMMON_AT_EXIT
$1"
}

common_exit() {
	trap - EXIT INT TERM HUP
	set +e # every step runs, also in a `set -e` suite
	eval "$COMMON_AT_EXIT"
	if [ -n "$T" ] && [ -d "$T" ]; then
		if [ -n "${KEEP_TMP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
	fi
}
trap common_exit EXIT
trap 'exit 130' INT TERM HUP
