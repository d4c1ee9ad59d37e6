#!/bin/bash
# End-to-end logins with a REAL browser: headless Chromium (Debian package,
# /usr/bin/chromium) driven by playwright-core (tests/idp/chromium.mjs) walks
# the relay's context page, the test IdP's login and consent pages (real
# cookies, redirects, CSP form-action) and lands on the relay's callback,
# while pamtester (pam_wrapper, no /etc changes) runs pam_oauth2_pkce.so and
# oauth2-pkce-helper, set up like tests/demo.sh.
#   1. wait = poll: Chromium signs in, pamtester succeeds.
#   2. wait = code: the 6-digit code from the callback page, typed into
#      pamtester's stdin, succeeds.
#   3. "This wasn't me" on the context page: pamtester is refused.
# Needs root (creates the local account alice if missing and removes it
# afterwards; root-owned 0600 config). Without Chromium or playwright-core:
# skipped when not root; as root (CI) both are installed first.
# Last line: "chromium: N passed, N failed"; exit status non-zero on any failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
SUITE=chromium
. tests/lib/common.sh
. tests/lib/accounts.sh
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM

have_browser() { [ -x "$CHROMIUM" ] && [ -f tests/idp/node_modules/playwright-core/package.json ]; }
if ! have_browser; then
	[ "$(id -u)" -eq 0 ] || skip "chromium not installed"
	if [ ! -x "$CHROMIUM" ]; then
		echo "chromium: installing the Debian package chromium"
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y chromium ||
			{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }; } >/dev/null 2>&1
	fi
	if [ ! -f tests/idp/node_modules/playwright-core/package.json ]; then
		echo "chromium: npm ci --prefix tests/idp (playwright-core)"
		npm ci --prefix tests/idp --no-audit --no-fund --loglevel=error >/dev/null
	fi
	have_browser || give_up "chromium or playwright-core could not be installed ($CHROMIUM)"
fi

need_parts
need_root "local account alice, root-owned config"
. tests/idp/lib.sh
. tests/lib/stack.sh
idp_ensure_deps || give_up "idp: node modules"

tmpdir
chmod 0755 "$T"
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
	if [ -n "$RELAY_PID" ]; then kill -TERM "$RELAY_PID" 2>/dev/null; wait "$RELAY_PID" 2>/dev/null; fi
	idp_stop
	accounts_remove
}
at_exit cleanup

echo "== chromium $("$CHROMIUM" --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -n 1)," \
	"playwright-core $(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' tests/idp/node_modules/playwright-core/package.json | head -n 1)"

# ---- IdP + relay (as tests/demo.sh) ------------------------------------------------
port=$(stack_freeport)
RELAY=http://127.0.0.1:$port
idp_start "$T/idp" --redirect-uri "$RELAY/callback" || give_up "IdP did not start"
stack_relay_start "$T" "$port" pkce-es256 || give_up "relay did not start"

# ---- local account, module configuration ----------------------------------------------
accounts_ensure -M -s /usr/sbin/nologin -- alice || give_up "useradd alice"
stack_helper_reach "$T" # PAM-23: the helper uses its cache in $T as _oauth2-pkce
cat >"$T/pam_oauth2_pkce.conf" <<CONF
issuer = $IDP_ISSUER
client_id = pkce-es256
scopes = openid profile email groups
cache_dir = $T/cache
allow_insecure_loopback = yes
relay_url = $RELAY
relay_secret_file = $RELAY_SECRET_FILE
[service chrpoll]
wait = poll
qr = utf8
[service chrcode]
wait = code
qr = off
CONF
chmod 0600 "$T/pam_oauth2_pkce.conf"
mkdir -p "$T/pam.d"
for s in chrpoll chrcode; do
	echo "auth required $MOD helper=$HELPER config=$T/pam_oauth2_pkce.conf timeout=60" >"$T/pam.d/$s"
done

# ---- one login ---------------------------------------------------------------------------
. tests/lib/pamlogin.sh
# browse [chromium.mjs args]: Chromium on $LINK as alice
browse() { chromium_login --user alice --password alice-pw "$@"; }

echo "== real Chromium (headless) through relay, IdP and PAM"
# 1. wait = poll
start_login chrpoll alice
if wait_link; then
	browse --service chrpoll
	end_login "$(after 30)"
	if [ "$BRC" = 0 ] && grep -q '^Signed in' <<<"$BOUT" && granted; then
		ok "wait=poll: Chromium continued, signed in, consented; pamtester granted alice (browser ${BR_MS} ms)"
	else bad "wait=poll (browser rc=$BRC, pamtester rc=$RC)" "$OUTS"$'\n'"$BOUT"; fi
else
	end_login 1
	bad "wait=poll: no link from pamtester" "$OUTS"
fi

# 2. wait = code: the code from the callback page, typed at the "computer"
start_login chrcode alice
if wait_link && wait_for "Then type the code the browser shows" 5; then
	browse --service chrcode
	code=$(grep -Ex '[0-9]{6}' <<<"$BOUT" | head -n 1)
	if [ -n "$code" ]; then printf '%s\n' "$code" >&9; elif [ "$BRC" = 0 ]; then BRC="0, no code"; fi
	end_login "$(after 30)"
	if [ "$BRC" = 0 ] && [ -n "$code" ] && granted; then
		ok "wait=code: the callback page showed the 6-digit code; typed into pamtester, granted (browser ${BR_MS} ms)"
	else bad "wait=code (browser rc=$BRC, code=${code:-none}, pamtester rc=$RC)" "$OUTS"$'\n'"$BOUT"; fi
else
	end_login 1
	bad "wait=code: no link or no code prompt from pamtester" "$OUTS"
fi

# 3. "This wasn't me" on the context page
start_login chrpoll alice
if wait_link; then
	browse --service chrpoll --deny-context
	end_login "$(after 15)"
	if [ "$BRC" = 0 ] && grep -q '^Login refused' <<<"$BOUT" && [ "$RC" != 0 ] &&
		! grep -q "successfully authenticated" <<<"$OUTS" &&
		grep -qF "You said this wasn't me: login refused" <<<"$OUTS"; then
		ok "\"This wasn't me\" in Chromium: pamtester refused (\"You said this wasn't me: login refused\")"
	else bad "deny on the context page (browser rc=$BRC, pamtester rc=$RC)" "$OUTS"$'\n'"$BOUT"; fi
else
	end_login 1
	bad "deny: no link from pamtester" "$OUTS"
fi

finish
