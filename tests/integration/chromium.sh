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

need_files "$B/pam_oauth2_pkce.so" "$B/oauth2-pkce-helper" "$B/oauth2-pkce-relay"
MOD=$(realpath "$B/pam_oauth2_pkce.so")
HELPER=$(realpath "$B/oauth2-pkce-helper")
RELAYBIN=$(realpath "$B/oauth2-pkce-relay")
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
N=0
# start_login SERVICE: pamtester SERVICE alice authenticate in the background,
# stdin a FIFO kept open on fd 9, unbuffered output in $OUT.
start_login() {
	exec 9>&- 2>/dev/null
	N=$((N + 1))
	OUT=$T/out$N
	mkfifo "$T/in$N"
	LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
		stdbuf -o0 -e0 pamtester "$1" alice authenticate <"$T/in$N" >"$OUT" 2>&1 9>&- &
	PAM_PID=$!
	exec 9>"$T/in$N"
	LINK=
}
# wait_for EXTENDED-REGEX SECONDS: until pamtester's output shows it (or it ended).
wait_for() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		grep -Eq -- "$1" "$OUT" 2>/dev/null && return 0
		kill -0 "$PAM_PID" 2>/dev/null || break
		sleep 0.1
	done
	grep -Eq -- "$1" "$OUT" 2>/dev/null
}
wait_link() {
	wait_for "$RELAY/l/[A-Za-z0-9_-]{16}" 15 || return 1
	LINK=$(grep -Eo "$RELAY/l/[A-Za-z0-9_-]{16}" "$OUT" | head -n 1)
}
# browse [chromium.mjs args]: Chromium on $LINK; BOUT (stdout+stderr), BRC.
browse() {
	local t0
	t0=$(date +%s%N)
	TMPDIR=$T node tests/idp/chromium.mjs --url "$LINK" --user alice --password alice-pw \
		--screenshot "$T/shot$N.png" "$@" >"$T/br$N" 2>&1 &
	BR_PID=$!
	wait "$BR_PID"; BRC=$?
	BR_PID=
	BOUT=$(cat "$T/br$N")
	BR_MS=$((($(date +%s%N) - t0) / 1000000))
}
# end_login [SECONDS]: waits for pamtester; RC and OUTS.
end_login() {
	local i k
	for ((i = 0; i < ${1:-30} * 10; i++)); do
		kill -0 "$PAM_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$PAM_PID" 2>/dev/null; then
		for k in $(pgrep -P "$PAM_PID" 2>/dev/null); do kill -KILL "$k" 2>/dev/null; done
		kill -KILL "$PAM_PID" 2>/dev/null
		echo "(pamtester killed after ${1:-30} s)" >>"$OUT"
	fi
	wait "$PAM_PID"; RC=$?
	PAM_PID=
	exec 9>&- 2>/dev/null
	OUTS=$(grep -v '^PWRAP' "$OUT")
}
# after SECONDS: how long to wait for pamtester: SECONDS, or 2 if the browser failed.
after() { if [ "$BRC" = 0 ]; then echo "$1"; else echo 2; fi; }
granted() { [ "$RC" = 0 ] && grep -q "successfully authenticated" <<<"$OUTS"; }

echo "== real Chromium (headless) through relay, IdP and PAM"
# 1. wait = poll
start_login chrpoll
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
start_login chrcode
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
start_login chrpoll
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
