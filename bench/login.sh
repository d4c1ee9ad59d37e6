#!/bin/bash
# Login latency benchmark on loopback (the real IdP, relay, module, helper):
#  - callback at the relay -> PAM_SUCCESS at pamtester (p50/p95, N logins),
#    next to a baseline measured in the same run: the same relay polled at a
#    fixed 5 s interval (what device-flow modules do);
#  - module called -> link on screen, warm cache;
#  - the helper's peak RSS (wait4 in the module, logged with debug).
# BENCH_LOGINS (default 200), BENCH_BASELINE (default 12 samples).
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
. tests/idp/lib.sh
. tests/lib/stack.sh
idp_ensure_deps || exit 1
[ "$(id -u)" -eq 0 ] || { echo "bench/login.sh: needs root (local account alice)"; exit 1; }
T=$(mktemp -d)
chmod 0755 "$T"
RELAY_PID= created=
cleanup() {
	stack_relay_stop
	idp_stop
	[ -n "$created" ] && userdel alice 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
port=$(stack_freeport)
RELAY=http://127.0.0.1:$port
idp_start "$T/idp" --redirect-uri "$RELAY/callback" >/dev/null || exit 1
stack_relay_start "$T" "$port" pkce-rs256 "max_sessions = 100000" >/dev/null || exit 1
id alice >/dev/null 2>&1 || { useradd -M -s /usr/sbin/nologin alice && created=1; }
cat >"$T/pam.conf" <<CONF
issuer = $IDP_ISSUER
client_id = pkce-rs256
cache_dir = $T/cache
allow_insecure_loopback = yes
relay_url = $RELAY
relay_secret_file = $RELAY_SECRET_FILE
max_logins_per_minute = 0
wait = poll
qr = utf8
CONF
chmod 0600 "$T/pam.conf"
mkdir -p "$T/pam.d"
echo "auth required $PWD/$B/pam_oauth2_pkce.so helper=$PWD/$B/oauth2-pkce-helper config=$T/pam.conf timeout=60 debug" >"$T/pam.d/bench"
RELAY=$RELAY IDP=$IDP_ISSUER SVCDIR=$T/pam.d python3 bench/login.py
