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
idp_ensure_deps || exit 1
[ "$(id -u)" -eq 0 ] || { echo "bench/login.sh: needs root (local account alice)"; exit 1; }
T=$(mktemp -d)
chmod 0755 "$T"
RELAY_PID= created=
cleanup() {
	[ -n "$RELAY_PID" ] && kill "$RELAY_PID" 2>/dev/null && wait "$RELAY_PID" 2>/dev/null
	idp_stop
	[ -n "$created" ] && userdel alice 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RELAY=http://127.0.0.1:$port
idp_start "$T/idp" --redirect-uri "$RELAY/callback" >/dev/null || exit 1
printf 'base_url = %s\nallowed_authorization_endpoint = %s/auth\nallowed_client_id = pkce-rs256\nallow_insecure_loopback = yes\nmax_sessions = 100000\n' \
	"$RELAY" "$IDP_ISSUER" >"$T/relay.conf"
"$B/oauth2-pkce-relay" --config "$T/relay.conf" --listen "127.0.0.1:$port" 2>/dev/null &
RELAY_PID=$!
for _ in $(seq 50); do curl -fs "$RELAY/healthz" >/dev/null && break; sleep 0.1; done
id alice >/dev/null 2>&1 || { useradd -M -s /usr/sbin/nologin alice && created=1; }
cat >"$T/pam.conf" <<CONF
issuer = $IDP_ISSUER
client_id = pkce-rs256
cache_dir = $T/cache
allow_insecure_loopback = yes
relay_url = $RELAY
max_logins_per_minute = 0
wait = poll
qr = utf8
CONF
chmod 0600 "$T/pam.conf"
mkdir -p "$T/pam.d"
echo "auth required $PWD/$B/pam_oauth2_pkce.so helper=$PWD/$B/oauth2-pkce-helper config=$T/pam.conf timeout=60 debug" >"$T/pam.d/bench"
RELAY=$RELAY IDP=$IDP_ISSUER SVCDIR=$T/pam.d python3 bench/login.py
