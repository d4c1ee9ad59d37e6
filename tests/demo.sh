#!/bin/bash
# make demo: a real authorization-code + PKCE round trip against the bundled
# test IdP (oidc-provider on loopback): discovery, JWKS, the authorization
# link, sign-in by the scripted browser (or by you: DEMO_INTERACTIVE=1),
# code redemption with the code_verifier, ID-token validation, claims.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
. tests/idp/lib.sh
idp_ensure_deps || exit 1
T=$(mktemp -d)
trap 'idp_stop; rm -rf "$T"' EXIT
REDIRECT=http://127.0.0.1:9/callback

echo "== starting the test IdP (oidc-provider) on loopback"
idp_start "$T/idp" --redirect-uri "$REDIRECT" || exit 1
echo "   issuer $IDP_ISSUER"
cat >"$T/demo.conf" <<CONF
issuer = $IDP_ISSUER
client_id = pkce-es256
scopes = openid profile email groups
cache_dir = $T/cache
allow_insecure_loopback = yes
CONF
chmod 0600 "$T/demo.conf"

echo "== oauth2-pkce-helper check"
"$B/oauth2-pkce-helper" check --config "$T/demo.conf" | sed 's/^/   /'

echo "== PKCE round trip"
coproc RTP { "$B/tests/integration/roundtrip" --config "$T/demo.conf" --redirect-uri "$REDIRECT" 2>&1; }
rt_pid=$RTP_PID rt_in=${RTP[0]} rt_out=${RTP[1]}
IFS= read -r -t 20 url <&"$rt_in"
url=${url#URL }
echo "   Sign in here: $url"
if [ "${DEMO_INTERACTIVE:-0}" = 1 ]; then
	echo "   Users: alice / alice-pw, bob / bob-pw. After consent the browser fails to"
	echo "   load $REDIRECT?...: paste that whole address here and press Enter."
	IFS= read -r cb
else
	echo "   (the scripted browser signs in as alice and consents)"
	cb=$(node tests/idp/browser.mjs --url "$url" --user alice --password alice-pw --stop-at-redirect "$REDIRECT")
fi
echo "   redirected to ${cb%%\?*}?code=...&state=...&iss=..."
printf '%s\n' "$cb" >&"$rt_out"
out=$(cat <&"$rt_in")
wait "$rt_pid"; rc=$?
echo "== result"
printf '%s\n' "$out" | sed 's/^/   /'
if [ $rc -eq 0 ]; then echo "demo: ID token validated; the local user would be $(sed -n 's/^preferred_username=//p' <<<"$out")"; else echo "demo: refused"; fi
exit $rc
