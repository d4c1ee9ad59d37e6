#!/bin/bash
# Whole logins against a second, independent OpenID Provider: LemonLDAP::NG
# (Debian lemonldap-ng 2.16), configured by this test (tests/llng/lib.sh: a
# private configuration, portal under nginx + FastCGI on a free loopback
# port), driven by headless Chromium (tests/idp/chromium.mjs --idp
# lemonldap) through its real login form and consent page, with the real
# relay, pam_oauth2_pkce.so under pamtester (pam_wrapper, no /etc/pam.d
# changes) and oauth2-pkce-helper.
#   1. oauth2-pkce-helper check against it (discovery, JWKS, algorithms).
#   2. wait = poll: dwho signs in (consent page shown): granted; the claims
#      were in the ID token (IDTokenForceClaims): no UserInfo request.
#   3. wait = code, a second client with LLNG's default (profile claims from
#      UserInfo only): the code from the callback page typed in: granted
#      after exactly one UserInfo request (IDT-29).
#   4. PAM_USER rtyler, dwho signs in (consent remembered by LLNG): refused
#      (PAM-16).
#   5. rtyler clicks "Refuse" on LLNG's consent page: LLNG sends
#      error=consent_required (not access_denied) with state and no iss:
#      refused at once, the IdP's error named.
#   6. PKCE enforced by the IdP: the code taken at the callback and sent to
#      the token endpoint without code_verifier is refused by LLNG (400
#      invalid_grant); the callback delivered afterwards: refused (LLNG
#      burns a code at its first use, so the helper's exchange fails).
#   7. LLNG's default issuer (oidcServiceMetaDataIssuer deleted: the portal
#      URL with a trailing slash): check with issuer = that URL, slash
#      included: ok; the same without the slash: refused (AZ-01).
# Needs root (local accounts dwho and rtyler, created if missing and removed
# afterwards; root-owned 0600 config; the portal runs as www-data). Not root
# and LemonLDAP::NG, nginx or Chromium missing: skipped; as root they are
# installed first. Last line: "llng: N passed, N failed"; exit non-zero on
# failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
SUITE=llng
. tests/lib/common.sh
. tests/lib/accounts.sh
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM

. tests/llng/lib.sh
have_all() {
	[ -x "$CHROMIUM" ] && [ -f tests/idp/node_modules/playwright-core/package.json ] && llng_available 2>/dev/null
}
if ! have_all; then
	[ "$(id -u)" -eq 0 ] || skip "not root, and LemonLDAP::NG, nginx or Chromium not installed"
	echo "llng: installing lemonldap-ng lemonldap-ng-fastcgi-server nginx chromium"
	{ DEBIAN_FRONTEND=noninteractive apt-get install -y lemonldap-ng lemonldap-ng-fastcgi-server nginx chromium ||
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y lemonldap-ng \
			lemonldap-ng-fastcgi-server nginx chromium; }; } >/dev/null 2>&1
	[ -f tests/idp/node_modules/playwright-core/package.json ] ||
		npm ci --prefix tests/idp --no-audit --no-fund --loglevel=error >/dev/null
	have_all || { llng_available; give_up "LemonLDAP::NG, nginx, chromium or playwright-core could not be installed"; }
fi

need_parts
need_root "local accounts, root-owned config, the portal as www-data"
. tests/lib/stack.sh
# B=build-asan: the sanitizer runtimes go first in pamtester's LD_PRELOAD
PRELOAD=$(stack_pam_preload "$MOD")
PT_ASAN=${ASAN_OPTIONS:-detect_leaks=0} # pamtester (pam_wrapper, libpam leak)

tmpdir
chmod 0755 "$T"
START_S=$(date +%s)
RELAY_PID='' PAM_PID='' BR_PID=''
cleanup() {
	exec 9>&- 2>/dev/null
	local k
	if [ -n "$BR_PID" ]; then kill -TERM "$BR_PID" 2>/dev/null; wait "$BR_PID" 2>/dev/null; fi
	if [ -n "$PAM_PID" ]; then
		for k in $(pgrep -P "$PAM_PID" 2>/dev/null); do kill -KILL "$k" 2>/dev/null; done
		kill -KILL "$PAM_PID" 2>/dev/null
		wait "$PAM_PID" 2>/dev/null
	fi
	stack_relay_stop
	llng_stop
	accounts_remove
}
at_exit cleanup

# ---- LemonLDAP::NG, relay --------------------------------------------------------------
RPORT=$(stack_freeport)
RELAY=http://127.0.0.1:$RPORT
t0=$(date +%s%N)
if ! llng_start "$T/llng" --redirect-uri "$RELAY/callback" --userinfo-client-id pkce-userinfo; then
	give_up "LemonLDAP::NG did not start" "$(tail -n 20 "$T/llng/cli.log" "$T/llng/portal.log" 2>/dev/null)"
fi
echo "== LemonLDAP::NG $(dpkg-query -W -f='${Version}' lemonldap-ng 2>/dev/null) at $LLNG_ISSUER" \
	"(configured and started in $((($(date +%s%N) - t0) / 1000000)) ms)"
# stack_relay_start allows $IDP_ISSUER/auth (oidc-provider's path); LLNG's
# authorization endpoint is /oauth2/authorize.
if ! IDP_ISSUER=$LLNG_ISSUER stack_relay_start "$T" "$RPORT" "$LLNG_CLIENT_ID" \
	"allowed_authorization_endpoint = $LLNG_ISSUER/oauth2/authorize" "allowed_client_id = $LLNG_UI_CLIENT_ID"; then
	give_up "relay did not start" "$(tail -n 20 "$T/relay.log")"
fi

# ---- local accounts, module configuration ------------------------------------------------
accounts_ensure -M -s /usr/sbin/nologin -- dwho rtyler || give_up "useradd dwho rtyler"
# pam_oauth2_pkce.conf: the client with the claims in the ID token (service
# llngpoll); ui.conf: the UserInfo client (service llngcode).
for c in pam_oauth2_pkce:"$LLNG_CLIENT_ID":poll ui:"$LLNG_UI_CLIENT_ID":code; do
	IFS=: read -r f client mode <<<"$c"
	cat >"$T/$f.conf" <<CONF
issuer = $LLNG_ISSUER
client_id = $client
scopes = openid profile email
cache_dir = $T/cache
allow_insecure_loopback = yes
relay_url = $RELAY
relay_secret_file = $RELAY_SECRET_FILE
max_logins_per_minute = 0
wait = $mode
qr = off
CONF
	chmod 0600 "$T/$f.conf"
done
mkdir -p "$T/pam.d"
echo "auth required $MOD helper=$HELPER config=$T/pam_oauth2_pkce.conf timeout=60" >"$T/pam.d/llngpoll"
echo "auth required $MOD helper=$HELPER config=$T/ui.conf timeout=60" >"$T/pam.d/llngcode"

# ---- one login (as tests/integration/chromium.sh) -----------------------------------------
. tests/lib/pamlogin.sh
# browse USER [chromium.mjs args]: Chromium on $LINK through LLNG's login
# form (password = login for the demo users)
browse() {
	local u=$1
	shift
	chromium_login --idp lemonldap --user "$u" --password "$u" --timeout 30 "$@"
}
portal_log() { tail -n 8 "$T/llng/portal.log" 2>/dev/null; }
userinfo_calls() { grep -c ' /oauth2/userinfo' "$T/llng/access.log"; }

# ---- 1. oauth2-pkce-helper check ----------------------------------------------------------
echo "== oauth2-pkce-helper check against LemonLDAP::NG"
out=$("$HELPER" check --config "$T/pam_oauth2_pkce.conf" 2>&1); rc=$?
if [ "$rc" = 0 ] && grep -qx "issuer: $LLNG_ISSUER" <<<"$out" &&
	grep -qx "token_endpoint: $LLNG_ISSUER/oauth2/token" <<<"$out" &&
	grep -q "^key: kid=llng-test-1 kty=RSA bits=2048" <<<"$out" &&
	grep -qx "usable_keys: 1 of 1" <<<"$out" && ! grep -q "^problem:" <<<"$out"; then
	ok "check: discovery, JWKS (kid llng-test-1, RSA 2048), no problem, exit 0"
else bad "check (rc=$rc)" "$out"; fi
# LLNG advertises none and HS* for ID tokens: only the RS* remain usable (IDT-01, IDT-02).
if grep -qx "usable_algs: RS256 RS384 RS512" <<<"$out"; then
	ok "IDT-01 IDT-02 check: of LLNG's none/HS*/RS* only RS256 RS384 RS512 usable"
else bad "check: usable_algs" "$(grep -E '_algs' <<<"$out")"; fi

echo "== real Chromium through relay, LemonLDAP::NG's login form and consent page, PAM"
# ---- 2. wait = poll ----------------------------------------------------------------------
start_login llngpoll dwho
m0=$(userinfo_calls)
if wait_link; then
	browse dwho --service llngpoll
	end_login "$(after 30)"
	if [ "$BRC" = 0 ] && grep -qx 'consent: shown' <<<"$BOUT" && grep -q '^Signed in' <<<"$BOUT" && granted; then
		ok "wait=poll: dwho signed in at LLNG, consent page accepted; pamtester granted dwho (browser ${BR_MS} ms)"
	else bad "wait=poll (browser rc=$BRC, pamtester rc=$RC)" "$OUTS"$'\n'"$BOUT"$'\n'"$(portal_log)"; fi
	m1=$(userinfo_calls)
	if granted && [ "$m1" = "$m0" ]; then ok "IDT-29 claims in LLNG's ID token (IDTokenForceClaims): no UserInfo request"
	else bad "IDT-29 UserInfo requests with IDTokenForceClaims: $m0 -> $m1"; fi
else
	end_login 1
	bad "wait=poll: no link from pamtester" "$OUTS"
fi

# ---- 3. wait = code, claims from UserInfo -------------------------------------------------
start_login llngcode dwho
m0=$(userinfo_calls)
if wait_link && wait_for "Then type the code the browser shows" 5; then
	browse dwho --service llngcode
	code=$(grep -Ex '[0-9]{6}' <<<"$BOUT" | head -n 1)
	if [ -n "$code" ]; then printf '%s\n' "$code" >&9; elif [ "$BRC" = 0 ]; then BRC="0, no code"; fi
	end_login "$(after 30)"
	if [ "$BRC" = 0 ] && [ -n "$code" ] && grep -qx 'consent: shown' <<<"$BOUT" && granted; then
		ok "wait=code: the callback page's code typed into pamtester: granted (browser ${BR_MS} ms)"
	else bad "wait=code (browser rc=$BRC, code=${code:-none}, pamtester rc=$RC)" "$OUTS"$'\n'"$BOUT"$'\n'"$(portal_log)"; fi
	m1=$(userinfo_calls)
	if granted && [ "$m1" = $((m0 + 1)) ]; then
		ok "IDT-29 LLNG's default (preferred_username only in UserInfo): granted after exactly one UserInfo request"
	else bad "IDT-29 UserInfo client: UserInfo requests $m0 -> $m1"; fi
else
	end_login 1
	bad "wait=code: no link or no code prompt from pamtester" "$OUTS"
fi

# ---- 4. the mapped user differs ----------------------------------------------------------
start_login llngpoll rtyler
if wait_link; then
	browse dwho --account rtyler --service llngpoll
	end_login "$(after 30)"
	if [ "$BRC" = 0 ] && [ "$RC" != 0 ] && ! grep -q "successfully authenticated" <<<"$OUTS" &&
		grep -qF "This account (dwho) is not the one you logged in as (rtyler)" <<<"$OUTS" &&
		grep -qx 'consent: remembered' <<<"$BOUT"; then
		ok "PAM-16 PAM_USER rtyler, dwho signed in at LLNG (consent remembered): refused"
	else bad "PAM-16 mapped user differs (browser rc=$BRC, pamtester rc=$RC)" "$OUTS"$'\n'"$BOUT"; fi
else
	end_login 1
	bad "PAM-16: no link from pamtester" "$OUTS"
fi

# ---- 5. consent refused at the IdP ---------------------------------------------------------
start_login llngpoll rtyler
if wait_link; then
	browse rtyler --service llngpoll --refuse-consent
	t0=$(date +%s%N)
	end_login "$(after 15)"
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ "$BRC" = 0 ] && [ "$RC" != 0 ] && ! grep -q "successfully authenticated" <<<"$OUTS" &&
		grep -qF "The identity provider returned an error: consent_required: consent not given" <<<"$OUTS" &&
		[ "$ms" -lt 10000 ]; then
		ok "rtyler refused consent at LLNG (error=consent_required): refused ${ms} ms after the callback page"
	else bad "consent refused (browser rc=$BRC, pamtester rc=$RC, ${ms} ms)" "$OUTS"$'\n'"$BOUT"; fi
else
	end_login 1
	bad "consent refused: no link from pamtester" "$OUTS"
fi

# ---- 6. PKCE required by the IdP; a burned code fails closed -------------------------------
start_login llngpoll dwho
if wait_link; then
	browse dwho --service llngpoll --stop-at-callback
	CB=$(grep -E "^$RELAY/callback\?" <<<"$BOUT" | head -n 1)
	lcode=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$CB")
	if [ -n "$lcode" ]; then
		tok=$(curl -sS --max-time 10 -w '\n%{http_code}' --data-urlencode grant_type=authorization_code \
			--data-urlencode "code=$lcode" --data-urlencode "client_id=$LLNG_CLIENT_ID" \
			--data-urlencode "redirect_uri=$RELAY/callback" "$LLNG_ISSUER/oauth2/token")
		if [ "$(tail -n 1 <<<"$tok")" = 400 ] && grep -q '"invalid_grant"' <<<"$tok" && ! grep -q id_token <<<"$tok"; then
			ok "LLNG RequirePKCE: the code without code_verifier: 400 invalid_grant"
		else bad "LLNG accepted a token request without code_verifier" "$tok"; fi
		st=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$CB")
	fi
	end_login "$(if [ -n "$lcode" ]; then echo 20; else echo 2; fi)"
	if [ -n "$lcode" ] && [ "$RC" != 0 ] && ! grep -q "successfully authenticated" <<<"$OUTS"; then
		ok "the callback delivered after that (HTTP $st): the helper's exchange fails (code burned by LLNG): refused"
	else bad "burned code (browser rc=$BRC, code ${lcode:+seen}, pamtester rc=$RC)" "$OUTS"$'\n'"$BOUT"; fi
else
	end_login 1
	bad "PKCE: no link from pamtester" "$OUTS"
fi

# ---- 7. LLNG's default issuer -------------------------------------------------------------
if _llng_cli del oidcServiceMetaDataIssuer; then
	for ((i = 0; i < 100; i++)); do
		curl -sS --max-time 5 "$LLNG_ISSUER/.well-known/openid-configuration" 2>/dev/null |
			grep -qF "\"issuer\":\"$LLNG_ISSUER/\"" && break
		sleep 0.1
	done
	sed "s|^issuer = .*|issuer = $LLNG_ISSUER/|" "$T/pam_oauth2_pkce.conf" >"$T/slash.conf"
	chmod 0600 "$T/slash.conf"
	out=$("$HELPER" check --config "$T/slash.conf" 2>&1); rc=$?
	if [ "$rc" = 0 ] && grep -qx "issuer: $LLNG_ISSUER/" <<<"$out" && grep -qx "usable_keys: 1 of 1" <<<"$out"; then
		ok "AZ-01 LLNG's default issuer \"$LLNG_ISSUER/\" and issuer = the same, slash included: check ok"
	else bad "AZ-01 default issuer with slash (rc=$rc)" "$out"; fi
	out=$("$HELPER" check --config "$T/pam_oauth2_pkce.conf" 2>&1); rc=$?
	if [ "$rc" != 0 ] && grep -q "does not match" <<<"$out"; then
		ok "AZ-01 LLNG's default issuer, issuer = $LLNG_ISSUER (no slash): refused"
	else bad "AZ-01 default issuer without slash (rc=$rc)" "$out"; fi
else
	bad "lemonldap-ng-cli del oidcServiceMetaDataIssuer" "$(tail -n 10 "$T/llng/cli.log")"
fi

echo "llng: $(($(date +%s) - START_S)) s"
finish
