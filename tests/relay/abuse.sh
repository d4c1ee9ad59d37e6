#!/bin/bash
# Abuse and fault tests for the callback relay (issue 6; SECURITY.md §6 RLY):
# a fresh oauth2-pkce-relay per case on a free loopback port, attacked by
# tests/relay/attack.py (python3 asyncio, stdlib only) while an honest login
# runs beside the attack and must still complete, /healthz must answer within
# 1 s, and the relay's RSS must come back (printed before/peak/after).
#
# Cases (ABUSE_CASES="conns slowloris ..." runs a subset):
#   conns      4096 concurrent connections, each making requests
#   slowloris  RLY-22: headers and bodies trickled a byte every 2 s: closed
#              within 12 s; the per-IP limit holds
#   abandon    1000 held long-polls whose clients close: descriptors freed in 2 s
#   wake       5000 held long-polls woken by 5000 callbacks: each answered once
#   flood      20k callbacks for unknown states: all 404
#   brute      RLY-17: 10k polls with wrong bearers: identical 404s
#   oversize   RLY-23: request line, headers, bodies over their caps
#   encoding   malformed percent-encoding and UTF-8 everywhere: 400, never 5xx
#   framing    RFC 9112 §6.1/§6.3/§5: ambiguous framing refused and closed
# Counts and deadlines: ABUSE_* variables, see attack.py.
# RELAY=path overrides the binary (default $B/oauth2-pkce-relay).
# Last line: "relay-abuse: N passed, N failed"; exit status non-zero on any failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
SUITE=relay-abuse BAD_DETAIL='head -n 20'
. tests/lib/common.sh
RELAY=${RELAY:-$B/oauth2-pkce-relay}
[ -x "$RELAY" ] || give_up "relay binary $RELAY not found"
RELAY=$(realpath "$RELAY")
ATTACK=$(realpath tests/relay/attack.py)
tmpdir
RPID=
cleanup() {
	[ -n "$RPID" ] && kill -KILL "$RPID" 2>/dev/null
	wait 2>/dev/null
}
at_exit cleanup
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# Many connections: as many descriptors as the hard limit allows (the relay
# inherits the limit; max_connections below is lowered to fit if needed).
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=65536
want=$((hard < 20000 ? hard : 20000))
ulimit -n "$want" 2>/dev/null
[ "$(ulimit -n)" -lt 12000 ] && echo "     note: ulimit -n is $(ulimit -n); the 4096/5000-connection cases may fail for that reason"

# An ASan/UBSan relay keeps freed memory in quarantine: a wider RSS bound.
if grep -q __asan_init "$RELAY" 2>/dev/null; then
	export ABUSE_RSS_MIB=${ABUSE_RSS_MIB:-100}
	echo "     note: sanitizer build, RSS bound +$ABUSE_RSS_MIB MiB"
fi

REGSEC=$(head -c 32 /dev/urandom | basenc --base64url | tr -d '=')
(umask 077; printf '%s\n' "$REGSEC" >"$T/reg.secret")

conf() { # FILE [extra lines]
	{
		echo "# relay abuse test config"
		echo "base_url = https://relay.example.org"
		echo "allowed_authorization_endpoint = https://idp.example.com/authorize"
		echo "allowed_client_id = pam-client"
		echo "max_ttl = 300"
		echo "registration_secret_file = $T/reg.secret"
		# /metrics on a free port, not the fixed default (a relay built
		# before metrics existed does not know the key)
		grep -q metrics_listen "$RELAY" && echo "metrics_listen = 127.0.0.1:0"
		printf '%s\n' "${@:2}"
	} >"$1"
}

start_relay() { # CONF LOG -> RPID, PORT
	"$RELAY" --config "$1" --listen 127.0.0.1:0 2>>"$2" &
	RPID=$!
	PORT=
	for _ in $(seq 200); do
		PORT=$(sed -n 's/.* port \([0-9][0-9]*\),.*/\1/p' "$2" | tail -n 1)
		[ -n "$PORT" ] && return 0
		kill -0 "$RPID" 2>/dev/null || break
		sleep 0.05
	done
	echo "relay did not start:"
	cat "$2"
	return 1
}

# Stops the relay by PID: SIGTERM, at most 8 s (held polls get their answer),
# then SIGKILL. Checks it was still running, exited 0 and left no sanitizer
# report.
stop_relay() { # NAME LOG
	local rc alive=0
	kill -0 "$RPID" 2>/dev/null && alive=1
	kill -TERM "$RPID" 2>/dev/null
	for _ in $(seq 80); do
		kill -0 "$RPID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$RPID" 2>/dev/null
	wait "$RPID"
	rc=$?
	RPID=
	if [ $alive = 1 ] && [ $rc = 0 ]; then
		ok "$1: the relay survived and exits 0 on SIGTERM"
	else
		bad "$1: the relay survived and exits 0 on SIGTERM" "running before SIGTERM: $alive, exit status $rc
$(tail -n 5 "$2")"
	fi
	if grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$2"; then
		bad "$1: no sanitizer reports" "$(grep -A8 'Sanitizer\|runtime error' "$2" | head -n 30)"
	fi
}

run_case() { # CASE [config lines]
	local c=$1 line
	shift
	conf "$T/$c.conf" "$@"
	echo "# $c"
	start_relay "$T/$c.conf" "$T/$c.log" || { bad "$c: relay starts"; return; }
	local t0=$SECONDS
	while IFS= read -r line; do
		echo "$line"
		case $line in
		"ok   "*) pass=$((pass + 1)) ;;
		"FAIL "*) fail=$((fail + 1)) ;;
		esac
	done < <(python3 "$ATTACK" "$c" --port "$PORT" --pid "$RPID" --regsec-file "$T/reg.secret" 2>&1)
	stop_relay "$c" "$T/$c.log"
	echo "     ($c: $((SECONDS - t0)) s)"
}

BIG="max_connections = 8192
max_connections_per_ip = 0"
CASES=${ABUSE_CASES:-conns slowloris abandon wake flood brute oversize encoding framing}
for c in $CASES; do
	case $c in
	conns | wake | flood | brute) run_case "$c" "$BIG" ;;
	abandon) run_case "$c" "max_connections_per_ip = 0" ;; # the default max_connections (1024): abandoned slots hurt
	slowloris) run_case "$c" "max_connections = 8192" "max_connections_per_ip = ${ABUSE_SLOW_PER_IP:-64}" ;;
	oversize | encoding | framing) run_case "$c" ;;
	*) bad "unknown case $c" ;;
	esac
done

finish
