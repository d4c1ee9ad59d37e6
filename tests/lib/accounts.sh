# shellcheck shell=bash
# Local accounts for the tests that log in for real (root only):
#
#   accounts_ensure [useradd options] -- USER...
#       creates each USER that does not exist yet (useradd OPTIONS USER);
#       an account that already exists is used as it is and never removed.
#       Returns non-zero, naming the user, if useradd fails.
#   accounts_remove
#       removes the accounts accounts_ensure created (with their home if
#       useradd made one: -m); call it from the suite's cleanup, after the
#       processes running as them are gone.
#
# ACCOUNTS_CREATED lists the accounts created so far.

ACCOUNTS_CREATED=()
ACCOUNTS_HOME=()

accounts_ensure() {
	local opts=() u home=
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		[ "$1" = -m ] && home=-r
		opts+=("$1")
		shift
	done
	shift
	for u in "$@"; do
		getent passwd "$u" >/dev/null && continue
		if ! useradd "${opts[@]}" "$u"; then
			# a parallel run may have made it meanwhile: then use it
			getent passwd "$u" >/dev/null && continue
			echo "useradd $u failed" >&2
			return 1
		fi
		ACCOUNTS_CREATED+=("$u")
		ACCOUNTS_HOME+=("$home")
	done
}

accounts_remove() {
	local i u
	for i in "${!ACCOUNTS_CREATED[@]}"; do
		u=${ACCOUNTS_CREATED[$i]}
		# shellcheck disable=SC2086 # ACCOUNTS_HOME is "" or -r
		userdel ${ACCOUNTS_HOME[$i]} "$u" 2>/dev/null || userdel "$u" 2>/dev/null ||
			echo "warning: userdel $u failed"
	done
	ACCOUNTS_CREATED=()
	ACCOUNTS_HOME=()
}
