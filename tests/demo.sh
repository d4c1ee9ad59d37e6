#!/bin/bash
# make demo: one real PAM login through the whole product, on loopback:
# the bundled test IdP (oidc-provider), the callback relay, the PAM module
# loaded by pamtester (pam_wrapper: no /etc changes) and the helper. Prints
# the link and the QR code exactly as a person sees them; the scripted
# browser signs in (or you do: DEMO_INTERACTIVE=1 and a browser on this
# machine); ends with the local user PAM granted. Stops all it started and
# removes the demo account it created.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
. tests/idp/lib.sh
. tests/lib/stack.sh
idp_ensure_deps || exit 1
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (it creates the local account alice and removes it afterwards)" >&2
	exit 1
fi
T=$(mktemp -d)
chmod 0755 "$T"
RELAY_PID= PAM_PID= created=
cleanup() {
	[ -n "$PAM_PID" ] && kill "$PAM_PID" 2>/dev/null
	stack_relay_stop
	idp_stop
	[ -n "$created" ] && userdel alice 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
port=$(stack_freeport)
RELAY=http://127.0.0.1:$port

echo "== 1. the test identity provider (oidc-provider) and the callback relay, on loopback"
idp_start "$T/idp" --redirect-uri "$RELAY/callback" || exit 1
stack_relay_start "$T" "$port" pkce-es256 || exit 1
echo "   IdP   $IDP_ISSUER"
echo "   relay $RELAY"

echo "== 2. the local account and the module configuration"
if ! id alice >/dev/null 2>&1; then
	useradd -M -s /usr/sbin/nologin alice && created=1
	echo "   created the local account alice (removed at the end)"
fi
stack_helper_reach "$T" # PAM-23: the helper uses its cache in $T as _oauth2-pkce
cat >"$T/pam_oauth2_pkce.conf" <<CONF
issuer = $IDP_ISSUER
client_id = pkce-es256
scopes = openid profile email groups
cache_dir = $T/cache
allow_insecure_loopback = yes
relay_url = $RELAY
relay_secret_file = $RELAY_SECRET_FILE
[service demo]
wait = poll
qr = utf8
CONF
chmod 0600 "$T/pam_oauth2_pkce.conf"
mkdir -p "$T/pam.d"
echo "auth required $PWD/$B/pam_oauth2_pkce.so helper=$PWD/$B/oauth2-pkce-helper config=$T/pam_oauth2_pkce.conf timeout=110" >"$T/pam.d/demo"
sed 's/^/   /' "$T/pam.d/demo"

echo "== 3. pamtester demo alice authenticate (what the person sees)"
start=$(date +%s%N)
LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
	stdbuf -o0 -e0 pamtester demo alice authenticate </dev/null >"$T/out" 2>&1 &
PAM_PID=$!
link=
for _ in $(seq 100); do
	link=$(grep -Eo "$RELAY/l/[A-Za-z0-9_-]{16}" "$T/out" | head -n 1)
	[ -n "$link" ] && break
	sleep 0.1
done
sed -n '/To log in/,/Waiting/p' "$T/out"
if [ -z "$link" ]; then
	echo "demo: no link appeared"; cat "$T/out"; exit 1
fi
echo "   (link and QR on screen after $(( ($(date +%s%N) - start) / 1000000 )) ms)"

echo "== 4. the phone"
if [ "${DEMO_INTERACTIVE:-0}" = 1 ]; then
	echo "   Open the link in a browser on this machine and sign in as alice / alice-pw."
else
	echo "   The scripted browser opens the link, continues on the relay's page, signs in"
	echo "   as alice at the IdP, consents, and lands on the relay's callback."
	node tests/idp/browser.mjs --url "$link" --user alice --password alice-pw --follow-callback >/dev/null ||
		echo "   the browser failed"
fi
wait "$PAM_PID"; rc=$?
PAM_PID=
echo "== 5. the result"
grep -v -e '^PWRAP' -e 'To log in' "$T/out" | sed -n '/Waiting/,$p' | sed 's/^/   /'
if [ $rc -eq 0 ] && grep -q "successfully authenticated" "$T/out"; then
	echo "demo: PAM_SUCCESS: the local user alice was granted, through the identity provider"
	exit 0
fi
echo "demo: the login was refused (pamtester exit $rc)"
exit 1
