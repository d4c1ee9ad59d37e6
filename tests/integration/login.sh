#!/bin/bash
# End-to-end login tests, everything real: the test IdP (oidc-provider, tests/idp),
# oauth2-pkce-relay on a free loopback port, pam_oauth2_pkce.so loaded by
# pamtester through pam_wrapper, oauth2-pkce-helper forked by the module, the
# scripted browser (tests/idp/browser.mjs) and curl as the person's phone.
# Needs root (real local accounts alice and bob; root-owned 0600 config).
# B=build-asan runs the ASan build (the runtime goes first in LD_PRELOAD).
# Last line: "login: N passed, N failed"; exit status non-zero on any failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
SUITE=login
. tests/lib/common.sh
. tests/lib/accounts.sh
need_parts
need_root "local accounts, root-owned config"
. tests/idp/lib.sh
. tests/lib/stack.sh
idp_ensure_deps || give_up "test IdP dependencies (tests/idp)"

tmpdir
START_S=$(date +%s)

PRELOAD=$(stack_pam_preload "$MOD")
PT_ASAN=${ASAN_OPTIONS:-detect_leaks=0}             # pamtester (pam_wrapper, libpam leak)
RELAY_ASAN=${RELAY_ASAN_OPTIONS:-detect_leaks=1}      # the relay, checked after a clean stop
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

RELAY_PID=
LN=0     # logins started
LD=      # the current login's directory
cleanup() {
	exec 9>&- 2>/dev/null
	local d p k
	for d in "$T"/l*; do
		[ -f "$d/pid" ] && [ ! -f "$d/rc" ] || continue
		p=$(cat "$d/pid")
		for k in $(pgrep -P "$p" 2>/dev/null); do kill -KILL "$k" 2>/dev/null; done
		kill -KILL "$p" 2>/dev/null
	done
	if [ -n "$RELAY_PID" ]; then kill -TERM "$RELAY_PID" 2>/dev/null; wait "$RELAY_PID" 2>/dev/null; fi
	idp_stop
	if [ -n "${IDP2_PID:-}" ]; then kill -TERM "$IDP2_PID" 2>/dev/null; wait "$IDP2_PID" 2>/dev/null; fi
	accounts_remove
}
at_exit cleanup

freeport() { stack_freeport; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- local accounts ------------------------------------------------------------
accounts_ensure -M -s /usr/sbin/nologin -- alice bob || give_up "useradd alice bob"

# ---- IdP + relay -----------------------------------------------------------------
RPORT=$(freeport)
RELAY=http://127.0.0.1:$RPORT
# IDT-29: a second IdP with oidc-provider's default conformIdTokenClaims:
# the ID token carries only sub; profile, email and groups are in UserInfo
idp_start "$T/idp2" --redirect-uri "$RELAY/callback" --conform-id-token-claims ||
	give_up "IdP (conform) did not start"
IDP2_ISSUER=$IDP_ISSUER IDP2_PID=$IDP_PID
unset IDP_PID
idp_start "$T/idp" --redirect-uri "$RELAY/callback" || give_up "IdP did not start"
if ! RELAY_ENV="ASAN_OPTIONS=$RELAY_ASAN" stack_relay_start "$T" "$RPORT" pkce-rs256 "max_ttl = 120" \
	"allowed_authorization_endpoint = $IDP2_ISSUER/auth"; then
	give_up "relay did not start" "$(cat "$T/relay.log")"
fi

# ---- helper configs, PAM services ---------------------------------------------------
# helper_conf FILE ISSUER RELAY_URL CACHE_DIR: root-owned, mode 0600.
helper_conf() {
	cat >"$1" <<EOF
issuer = $2
client_id = pkce-rs256
scopes = openid profile email groups
cache_dir = $4
allow_insecure_loopback = yes
relay_url = $3
relay_secret_file = $RELAY_SECRET_FILE
http_timeout = 5
max_logins_per_minute = ${5:-0}
wait = poll
qr = utf8

[service sudo]
wait = poll

[service codesvc]
wait = code
qr = ascii

[service entersvc]
wait = enter
qr = off

[service groupsvc]
allowed_groups = wheel

[service lowersvc]
lowercase = yes

[service uialways]
userinfo = always

[service uinever]
userinfo = never
EOF
	chown root:root "$1"
	chmod 0600 "$1"
}
# The module runs the helper with /dev/null as stderr and a fixed environment:
# an instrumented helper gets a wrapper that sends sanitizer reports to files.
HELPER_RUN=$HELPER
if nm "$HELPER" 2>/dev/null | grep -q __asan_init; then
	mkdir -p "$T/san"
	chmod 1733 "$T/san" # the helper writes its reports as _oauth2-pkce (PAM-23)
	HELPER_RUN=$T/helper-asan
	printf '#!/bin/sh\nASAN_OPTIONS=log_path=%s/asan:detect_leaks=1 UBSAN_OPTIONS=log_path=%s/ubsan:print_stacktrace=1 exec %s "$@"\n' \
		"$T/san" "$T/san" "$HELPER" >"$HELPER_RUN"
	chmod 0755 "$HELPER_RUN"
fi
CLOSED=$(freeport) # nothing listens there
stack_helper_reach "$T" # PAM-23: the helper creates and uses the cache dirs as _oauth2-pkce
helper_conf "$T/pam.conf" "$IDP_ISSUER" "$RELAY" "$T/cache"
helper_conf "$T/relaydown.conf" "$IDP_ISSUER" "http://127.0.0.1:$CLOSED" "$T/cache"
helper_conf "$T/idpdown.conf" "http://127.0.0.1:$CLOSED" "$RELAY" "$T/cache-idpdown"
helper_conf "$T/ratelimit.conf" "$IDP_ISSUER" "http://127.0.0.1:$CLOSED" "$T/cache-rate" 2
helper_conf "$T/conform.conf" "$IDP2_ISSUER" "$RELAY" "$T/cache-conform"
mkdir -p "$T/svc"
svc() { # NAME TIMEOUT [CONFIG [MODULE ARGS]]
	echo "auth required $MOD helper=$HELPER_RUN config=${3:-$T/pam.conf} timeout=$2${4:+ $4}" >"$T/svc/$1"
}
for s in sudo login codesvc entersvc groupsvc lowersvc uialways uinever; do svc "$s" 25; done
# the conform IdP: cflogin = the global policy (userinfo = auto, wait = poll)
svc cflogin 25 "$T/conform.conf"
svc cfnever 25 "$T/conform.conf" service=uinever
svc cfgroups 25 "$T/conform.conf" service=groupsvc
svc cfalways 25 "$T/conform.conf" service=uialways
svc deadline 8
svc relaydown 20 "$T/relaydown.conf"
svc idpdown 20 "$T/idpdown.conf"
svc ratesvc 20 "$T/ratelimit.conf"

SECRETS=() # everything that must never reach the relay log (PAM-14)

# ---- one login ------------------------------------------------------------------------
# start_login SERVICE USER: pamtester in the background, stdin from a FIFO on fd 9.
start_login() {
	exec 9>&- 2>/dev/null
	LN=$((LN + 1))
	LD=$T/l$LN
	mkdir -p "$LD"
	mkfifo "$LD/in"
	OUT=$LD/out
	LINK="" OUTS="" RC=""
	(
		LD_PRELOAD=$PRELOAD PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/svc" ASAN_OPTIONS=$PT_ASAN \
			stdbuf -o0 -e0 pamtester -v "$1" "$2" authenticate <"$LD/in" >"$OUT" 2>&1 &
		echo $! >"$LD/pid"
		wait $!
		echo $? >"$LD/rc.tmp" && mv "$LD/rc.tmp" "$LD/rc"
	) 9>&- &
	exec 9<>"$LD/in"
	LOGIN_T0=$(now_ms)
}
# wait_for EXTENDED-REGEX SECONDS: until the output shows it (or pamtester ended).
wait_for() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		grep -Eq -- "$1" "$OUT" 2>/dev/null && return 0
		[ -f "$LD/rc" ] && break
		sleep 0.05
	done
	grep -Eq -- "$1" "$OUT" 2>/dev/null
}
# wait_link: sets LINK (the relay's /l/<id> link from the output).
wait_link() {
	wait_for "$RELAY/l/[A-Za-z0-9_-]{16}" 15
	LINK=$(grep -oE "$RELAY/l/[A-Za-z0-9_-]{16}" "$OUT" | head -n 1)
	[ -n "$LINK" ] && SECRETS+=("${LINK##*/}")
	[ -n "$LINK" ]
}
answer() { printf '%s\n' "$1" >&9; }
# finish_login [SECONDS]: waits for pamtester's exit; sets RC and OUTS.
finish_login() {
	local i p k
	for ((i = 0; i < ${1:-30} * 20; i++)); do
		[ -f "$LD/rc" ] && break
		sleep 0.05
	done
	if [ ! -f "$LD/rc" ]; then
		p=$(cat "$LD/pid")
		for k in $(pgrep -P "$p"); do kill -KILL "$k" 2>/dev/null; done
		kill -KILL "$p" 2>/dev/null
		for ((i = 0; i < 100; i++)); do [ -f "$LD/rc" ] && break; sleep 0.05; done
		echo "(pamtester killed after ${1:-30} s)" >>"$OUT"
	fi
	exec 9>&- 2>/dev/null
	RC=$(cat "$LD/rc" 2>/dev/null || echo 999)
	OUTS=$(cat "$OUT")
	LOGIN_MS=$(($(now_ms) - LOGIN_T0))
}
# browse USER PW [args]: the scripted browser on $LINK; stdout in $BOUT, status in $BRC.
browse() {
	local u=$1 p=$2
	shift 2
	BOUT=$(node "$BROWSER" --url "${BURL:-$LINK}" --user "$u" --password "$p" "$@" 2>"$LD/browser.err")
	BRC=$?
}
granted() { [ "$RC" = 0 ] && grep -q "successfully authenticated" <<<"$OUTS"; }
expect_granted() { # NAME [extra condition status]
	if granted && [ "${2:-0}" = 0 ]; then ok "$1"; else bad "$1 (rc=$RC)" "$OUTS$(cat "$LD/browser.err" 2>/dev/null)"; fi
}
expect_refused() { # NAME MESSAGE
	if [ "$RC" != 0 ] && ! grep -q "successfully authenticated" <<<"$OUTS" && grep -qF -- "$2" <<<"$OUTS"; then
		ok "$1"
	else
		bad "$1 (rc=$RC, want \"$2\")" "$OUTS$(cat "$LD/browser.err" 2>/dev/null)"
	fi
}
param() { # URL NAME: a query parameter's raw value
	sed -n "s/.*[?&]$2=\([^&#]*\).*/\1/p" <<<"$1"
}
# continue_url: GET the /l/ page, POST continue with its csrf; AUTH_URL = the 302 Location.
continue_url() {
	local page csrf
	page=$(curl -sS --max-time 5 "$LINK")
	csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$page" | head -n 1)
	CSRF=$csrf
	AUTH_URL=$(curl -sS --max-time 5 -o /dev/null -w '%{redirect_url}' --data-urlencode "csrf=$csrf" \
		--data-urlencode continue=1 "$LINK")
}
has_utf8_qr() { grep -qF -e '▀' -e '▄' -e '█' <<<"$1"; }
has_ascii_qr() { grep -Eq '^ *(## *){4,}' <<<"$1"; }

echo "== wait modes and QR styles (PAM-22, XD-06)"
# 1 + 17 + 18: poll mode; an unregistered state meanwhile; the callback replayed afterwards
start_login sudo alice
if wait_link; then
	bogus=$(head -c 32 /dev/urandom | basenc --base64url | tr -d '=')
	st=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$RELAY/callback?code=x&state=$bogus")
	if [ "$st" = 404 ]; then ok "RLY-13 callback for an unregistered state: 404"; else bad "RLY-13 unregistered state: HTTP $st"; fi
	browse alice alice-pw --stop-at-redirect "$RELAY/callback"
	CB1=$BOUT
	SECRETS+=("$(param "$CB1" code)" "$(param "$CB1" state)")
	st=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$CB1")
	[ "$st" = 200 ] || bad "callback delivery: HTTP $st"
fi
finish_login 20
qr_line=$(grep -nF -e '▀' -e '▄' -e '█' <<<"$OUTS" | head -n 1 | cut -d: -f1)
link_line=$(grep -nE "$RELAY/l/[A-Za-z0-9_-]{16}" <<<"$OUTS" | head -n 1 | cut -d: -f1)
ok_line=$(grep -n "successfully authenticated" <<<"$OUTS" | head -n 1 | cut -d: -f1)
expect_granted "wait=poll alice: granted (sudo section)"
if [ -n "$qr_line" ] && [ -n "$link_line" ] && [ -n "$ok_line" ] && [ "$qr_line" -lt "$link_line" ] &&
	[ "$link_line" -lt "$ok_line" ] && grep -q "To log in as alice" <<<"$OUTS"; then
	ok "PAM-22 link and UTF-8 QR (half blocks) shown before the result"
else bad "PAM-22 link/QR before success (qr=$qr_line link=$link_line ok=$ok_line)" "$OUTS"; fi
if ! granted; then :; elif grep -q "$bogus" <<<"$OUTS"; then bad "RLY-13 bogus state visible"; else ok "RLY-13 unregistered-state callback did not disturb the concurrent login"; fi
if [ -n "${CB1:-}" ]; then
	st=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$CB1")
	if [ "$st" = 404 ] || [ "$st" = 409 ] || [ "$st" = 410 ]; then ok "code replay: the used callback URL again gets HTTP $st"; else bad "code replay: HTTP $st"; fi
fi

# 2 + 4a: code mode, ASCII QR
start_login codesvc alice
CONFIRM=
if wait_link && wait_for "Then type the code the browser shows" 5; then
	browse alice alice-pw --follow-callback
	CONFIRM=$(grep -oE 'class="code">[0-9]{6}<' <<<"$BOUT" | grep -oE '[0-9]{6}')
	[ -n "$CONFIRM" ] && SECRETS+=("$CONFIRM")
	answer "$CONFIRM"
fi
finish_login 20
if [ -n "$CONFIRM" ]; then expect_granted "XD-06 wait=code alice: confirmation code from the callback page typed, granted"
else bad "XD-06 wait=code: no confirmation code on the callback page (brc=$BRC)" "$BOUT$OUTS"; fi
if has_ascii_qr "$OUTS" && ! has_utf8_qr "$OUTS"; then ok "qr=ascii: '##' QR, no half blocks"; else bad "qr=ascii" "$OUTS"; fi

# 3 + 4b: enter mode, no QR
start_login entersvc alice
if wait_link && wait_for "Press Enter once you have signed in" 5; then
	browse alice alice-pw --follow-callback
	answer ""
fi
finish_login 20
expect_granted "wait=enter alice: browser, then Enter, granted"
if [ -n "$LINK" ] && ! has_utf8_qr "$OUTS" && ! has_ascii_qr "$OUTS"; then ok "qr=off: link printed, no QR"; else bad "qr=off" "$OUTS"; fi

echo "== mapping and policy (PAM-16, IDT-30)"
start_login login alice
wait_link && browse bob bob-pw --follow-callback
finish_login 20
expect_refused "PAM-16 RLY-29 PAM_USER alice, signed in as bob (a raced or substituted code): refused" "This account (bob) is not the one you logged in as (alice)"

start_login groupsvc bob
wait_link && browse bob bob-pw --follow-callback
finish_login 20
expect_refused "allowed_groups = wheel, bob (staff only): refused" "This account cannot log in here: not in an allowed group"

start_login groupsvc alice
wait_link && browse alice alice-pw --follow-callback
finish_login 20
expect_granted "allowed_groups = wheel, alice (staff, wheel): granted (positive twin)"

start_login login bob
wait_link && browse carol carol-pw --follow-callback
finish_login 20
expect_refused "PAM-16/IDT-30 preferred_username 'Bob', PAM_USER bob: refused" "This account cannot log in here: not a valid local user name"

start_login lowersvc bob
wait_link && browse carol carol-pw --follow-callback
finish_login 20
expect_granted "PAM-16/IDT-30 'Bob' with lowercase = yes, PAM_USER bob: granted (positive twin)"

start_login login root
wait_link && browse root root-pw --follow-callback
finish_login 20
expect_refused "IDT-30 uid 0: root signs in as root: refused" "This account cannot log in here: mapping to root is not allowed"

echo "== refusals along the way (AZ-09, PAM-01, XD-02, XD-06)"
start_login login alice
wait_link && browse alice alice-pw --deny --follow-callback
finish_login 20
expect_refused "AZ-09 consent denied at the IdP: refused" "Sign-in was cancelled at the identity provider"

start_login relaydown alice
finish_login 20
expect_refused "relay down: refused" "Login relay unreachable"
if [ "$LOGIN_MS" -lt 10000 ]; then ok "relay down: fails fast (${LOGIN_MS} ms)"; else bad "relay down took ${LOGIN_MS} ms"; fi

# XD-11 / PAM-19: max_logins_per_minute = 2 (relay down, so each try ends fast)
for i in 1 2; do start_login ratesvc alice; finish_login 20; done
expect_refused "XD-11 second login within the limit still runs (relay down)" "Login relay unreachable"
start_login ratesvc alice
finish_login 20
expect_refused "XD-11 third login within a minute: refused before anything starts" "Too many logins started: try again in a minute"
start_login ratesvc bob
finish_login 20
expect_refused "XD-11 the limit is per user: bob still runs" "Login relay unreachable"

start_login idpdown alice
finish_login 20
expect_refused "IdP down (closed port, empty cache): refused" "Identity provider unreachable"
if ! grep -q "$RELAY/l/" <<<"$OUTS"; then ok "AZ-01 IdP down: no link shown"; else bad "AZ-01 IdP down: a link was shown" "$OUTS"; fi

start_login login alice
killed=
if wait_link; then
	p=$(cat "$LD/pid")
	for k in $(pgrep -P "$p"); do
		if tr '\0' ' ' <"/proc/$k/cmdline" 2>/dev/null | grep -q 'oauth2-pkce-helper login'; then
			kill -KILL "$k" && killed=$k
		fi
	done
fi
finish_login 10
if [ -n "$killed" ] && [ "$RC" != 0 ] && ! grep -q "successfully authenticated" <<<"$OUTS"; then
	ok "PAM-01 helper SIGKILLed while waiting: refused (${LOGIN_MS} ms)"
else bad "PAM-01 helper killed (pid=${killed:-none}, rc=$RC)" "$OUTS"; fi

start_login deadline alice
finish_login 20
if [ "$RC" != 0 ] && ! granted && grep -q "Timed out after" <<<"$OUTS" && [ "$LOGIN_MS" -ge 2000 ] && [ "$LOGIN_MS" -le 9000 ]; then
	ok "PAM-01 deadline: timeout=8, nobody signs in: refused after ${LOGIN_MS} ms, \"$(grep -o 'Timed out after [0-9]* s' <<<"$OUTS" | head -n 1)\""
else bad "PAM-01 deadline (rc=$RC, ${LOGIN_MS} ms)" "$OUTS"; fi

start_login codesvc alice
CONFIRM=
if wait_link && wait_for "Then type the code the browser shows" 5; then
	browse alice alice-pw --follow-callback
	CONFIRM=$(grep -oE 'class="code">[0-9]{6}<' <<<"$BOUT" | grep -oE '[0-9]{6}')
	[ -n "$CONFIRM" ] && SECRETS+=("$CONFIRM")
	w=$(printf '%06d' $(((10#${CONFIRM:-0} + 1) % 1000000)))
	answer "$w"
	wait_for "Wrong code \(2 of 3 tries left\)" 5 && answer "$w"
	wait_for "Wrong code \(1 of 3 tries left\)" 5 && answer "$w"
fi
finish_login 20
if [ -n "$CONFIRM" ]; then
	expect_refused "XD-06 wrong confirmation code 3 times (after a real sign-in): refused" "Wrong code 3 times: login refused"
	if grep -qi "maximum number of retries" <<<"$OUTS"; then ok "XD-06 3 wrong codes: PAM_MAXTRIES"; else bad "XD-06 PAM_MAXTRIES not reported" "$OUTS"; fi
else bad "XD-06 wrong code: no confirmation code on the callback page" "$BOUT$OUTS"; fi

start_login login alice
if wait_link; then
	page=$(curl -sS --max-time 5 "$LINK")
	csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$page" | head -n 1)
	t0=$(now_ms)
	st=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' --data-urlencode "csrf=$csrf" --data-urlencode deny=1 "$LINK")
	for ((i = 0; i < 100; i++)); do [ -f "$LD/rc" ] && break; sleep 0.03; done
	took=$(($(now_ms) - t0))
fi
finish_login 10
expect_refused "XD-02 \"This wasn't me\" on the context page: refused" "You said this wasn't me: login refused"
if [ "${st:-}" = 200 ] && [ "${took:-99999}" -le 3000 ]; then ok "XD-02 the held poll woke at once: pamtester ended ${took} ms after the POST"; else bad "XD-02 deny POST HTTP ${st:-?}, ended after ${took:-?} ms"; fi

echo "== second callbacks and stolen codes (RLY-12, RLY-28, code replay)"
# enter mode: the helper polls only after Enter, so both callbacks land first
start_login entersvc alice
if wait_link && wait_for "Press Enter once you have signed in" 5; then
	browse alice alice-pw --stop-at-redirect "$RELAY/callback"
	cb=$BOUT
	SECRETS+=("$(param "$cb" code)" "$(param "$cb" state)")
	fake=$(sed 's/\([?&]code=\)[^&]*/\1forged-code-0123456789/' <<<"$cb")
	st1=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$fake")
	st2=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$cb")
	answer ""
fi
finish_login 20
expect_refused "RLY-12 forged callback then the real one (enter mode): refused" "A second sign-in arrived for this login: refused"
if [ "${st1:-}" = 200 ] && [ "${st2:-}" = 409 ]; then ok "RLY-12 relay answers: first callback 200, second 409"; else bad "RLY-12 relay answers ${st1:-?} / ${st2:-?}"; fi

# poll mode: the held poll takes the first (forged) callback at once; the real code never logs in
start_login sudo alice
if wait_link; then
	browse alice alice-pw --stop-at-redirect "$RELAY/callback"
	cb=$BOUT
	SECRETS+=("$(param "$cb" code)" "$(param "$cb" state)")
	fake=$(sed 's/\([?&]code=\)[^&]*/\1forged-code-0123456789/' <<<"$cb")
	curl -s --max-time 5 -o /dev/null "$fake"
	curl -s --max-time 5 -o /dev/null "$cb"
fi
finish_login 20
if [ "$RC" != 0 ] && ! granted && grep -Eq "A second sign-in arrived for this login: refused|The identity provider refused the sign-in" <<<"$OUTS"; then
	ok "RLY-12 forged callback then the real one (poll mode): refused (\"$(grep -Eo 'A second sign-in arrived|The identity provider refused the sign-in.*' <<<"$OUTS" | head -n 1)\")"
else bad "RLY-12 poll mode (rc=$RC)" "$OUTS"; fi

# RLY-28: a code seen by the relay is useless without the verifier
start_login sudo alice
if wait_link; then
	browse alice alice-pw --stop-at-redirect "$RELAY/callback"
	cb=$BOUT
	code=$(param "$cb" code)
	SECRETS+=("$code" "$(param "$cb" state)")
	tok=$(curl -s --max-time 5 -w '\n%{http_code}' -d grant_type=authorization_code --data-urlencode "code=$code" \
		--data-urlencode "redirect_uri=$RELAY/callback" -d client_id=pkce-rs256 "$IDP_ISSUER/token")
	if [ "$(tail -n 1 <<<"$tok")" = 400 ] && grep -q invalid_grant <<<"$tok" && ! grep -q id_token <<<"$tok"; then
		ok "RLY-28 relayed code redeemed without code_verifier: 400 invalid_grant"
	else bad "RLY-28 token endpoint without verifier" "$tok"; fi
	curl -s --max-time 5 -o /dev/null "$cb"
fi
finish_login 20
expect_granted "RLY-28 the helper (with the verifier) still redeems that code afterwards: granted"

# code replay into another login: the old code under a new login's state
start_login sudo alice
if wait_link && [ -n "${CB1:-}" ]; then
	continue_url
	state=$(param "$AUTH_URL" state)
	SECRETS+=("$state" "$CSRF")
	iss=$(param "$CB1" iss)
	st=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$RELAY/callback?code=$(param "$CB1" code)&state=$state${iss:+&iss=$iss}")
fi
finish_login 20
expect_refused "code replay: the first login's code under a second login's state: refused" "The identity provider refused the sign-in ("
# the person's line names the OAuth error (cmd_login.c finish(): "... (%s)" with tokens->error)
if grep -qF "The identity provider refused the sign-in (invalid_grant)" <<<"$OUTS"; then ok "code replay: the refusal names the IdP's error (invalid_grant)"
else bad "code replay: the refusal does not name the IdP's error (want \"(invalid_grant)\")" "$(grep -F 'The identity provider refused' <<<"$OUTS")"; fi

echo "== ID token binding, secrets (IDT-23, PAM-11, PAM-14)"
start_login sudo alice
if wait_link; then
	continue_url
	state=$(param "$AUTH_URL" state) nonce=$(param "$AUTH_URL" nonce) chal=$(param "$AUTH_URL" code_challenge)
	SECRETS+=("$state" "$nonce" "$CSRF")
	# PAM-11: the login is waiting; nothing of it in any argv or environment
	printf '%s\n' "$state" "$nonce" "$chal" | grep . >"$T/pat"
	if [ ${#state} -eq 43 ] && [ -n "$nonce" ] && [ -n "$chal" ]; then
		hits=$(grep -lF -f "$T/pat" /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null)
		helper_seen=
		for k in $(pgrep -P "$(cat "$LD/pid")"); do grep -q 'oauth2-pkce-helper' "/proc/$k/cmdline" 2>/dev/null && helper_seen=$k; done
		# control: the scan can read the helper's argv and environment
		if [ -n "$helper_seen" ] && ! { grep -q PATH= "/proc/$helper_seen/environ" && grep -q login "/proc/$helper_seen/cmdline"; }; then
			helper_seen=
		fi
		if [ -z "$hits" ] && [ -n "$helper_seen" ]; then ok "PAM-11 state, nonce and challenge in no /proc/*/cmdline or environ while the helper ($helper_seen) waits"
		else bad "PAM-11 secrets in argv/env (helper pid ${helper_seen:-none})" "$hits"; fi
	else bad "PAM-11: no authorization URL from the continue POST" "$AUTH_URL"; fi
	other=$(head -c 16 /dev/urandom | basenc --base64url | tr -d '=')
	BURL=$(sed "s/\([?&]nonce=\)[^&]*/\1$other/" <<<"$AUTH_URL")
	browse alice alice-pw --follow-callback
	BURL=
fi
finish_login 20
expect_refused "IDT-23 ID token with another nonce (same state and challenge): refused" "The identity provider's answer was refused: nonce mismatch"

# PAM-14: the relay log holds no code, state, poll secret, csrf, id or confirmation code
leaks=
for s in "${SECRETS[@]}"; do
	[ -n "$s" ] || continue
	if [ ${#s} -le 8 ]; then grep -qw -- "$s" "$T/relay.log" && leaks+=" $s"; else grep -qF -- "$s" "$T/relay.log" && leaks+=" $s"; fi
done
runs=$(grep -Eo '[A-Za-z0-9_-]{16,}' "$T/relay.log" | grep -v '^oauth2-pkce-relay$' | head -n 3)
lines=$(grep -c '/callback\|/v1/sessions' "$T/relay.log")
if [ -z "$leaks" ] && [ -z "$runs" ] && [ "$lines" -gt 10 ]; then
	ok "PAM-14 relay log ($lines request lines): no code, state, csrf, id, confirmation code, nor any 16+ base64url run (poll secret)"
else bad "PAM-14 relay log leaks:${leaks} ${runs}" "$(head -n 5 "$T/relay.log")"; fi

echo "== claims from UserInfo (IDT-29)"
# me_calls DIR: UserInfo requests the IdP in DIR has answered so far
me_calls() { grep -c ' /me ' "$1/idp.log"; }
ui_mode() { curl -fsS -o /dev/null -X POST "$IDP2_ISSUER/test/userinfo?mode=$1"; }
signin() { # SERVICE USER: a poll-mode login signed in as USER
	start_login "$1" "$2"
	wait_link && browse "$2" "$2-pw" --follow-callback
	finish_login "${3:-20}"
}
m0=$(me_calls "$T/idp2")
signin cflogin alice
expect_granted "IDT-29 ID token with sub only (conformIdTokenClaims): alice mapped from UserInfo's preferred_username, granted"
m1=$(me_calls "$T/idp2")
if [ "$m1" -eq $((m0 + 1)) ]; then ok "IDT-29 userinfo = auto: exactly one UserInfo request for that login"; else bad "IDT-29 UserInfo requests: $m0 -> $m1"; fi

signin cfnever alice
expect_refused "IDT-29 userinfo = never, claims only in UserInfo: refused with the missing-claim reason" "This account cannot log in here: username claim missing or not a string"
if [ "$(me_calls "$T/idp2")" -eq "$m1" ]; then ok "IDT-29 userinfo = never: no UserInfo request"; else bad "IDT-29 userinfo = never asked UserInfo"; fi

signin cfgroups alice
expect_granted "IDT-29 allowed_groups = wheel with groups from UserInfo: alice (staff, wheel) granted"
signin cfgroups bob
expect_refused "IDT-29 allowed_groups = wheel with groups from UserInfo: bob (staff) refused" "This account cannot log in here: not in an allowed group"

start_login cflogin alice
wait_link && browse bob bob-pw --follow-callback
finish_login 20
expect_refused "IDT-29 PAM-16 PAM_USER alice, signed in as bob, name from UserInfo: refused" "This account (bob) is not the one you logged in as (alice)"

m0=$(me_calls "$T/idp")
signin login alice
if granted && [ "$(me_calls "$T/idp")" -eq "$m0" ]; then ok "IDT-29 userinfo = auto, every claim in the ID token: granted without a UserInfo request"
else bad "IDT-29 auto with a full ID token (rc=$RC, /me $m0 -> $(me_calls "$T/idp"))" "$OUTS"; fi
signin uialways alice
if granted && [ "$(me_calls "$T/idp")" -eq $((m0 + 1)) ]; then ok "IDT-29 userinfo = always (real IdP, sub binding holds): granted after one UserInfo request"
else bad "IDT-29 userinfo = always (rc=$RC, /me $m0 -> $(me_calls "$T/idp"))" "$OUTS"; fi

# the fixture: the IdP's /me answers what a real IdP would not (ID token genuine)
for c in "sub-mismatch|The identity provider's user information was refused: UserInfo sub does not match the ID token's sub" \
	"html|The identity provider's user information was refused: UserInfo answer is not application/json" \
	"jwt|The identity provider's user information was refused: signed or encrypted UserInfo (application/jwt) is not accepted" \
	"big|The identity provider's user information was refused: HTTP response too large" \
	"401|The identity provider's user information was refused: UserInfo endpoint refused the access token (HTTP 401/403)" \
	"500|Identity provider unreachable (user information: UserInfo endpoint failed (HTTP 5xx))" \
	"hang|Identity provider unreachable (user information: HTTP request timed out)"; do
	mode=${c%%|*} want=${c#*|}
	ui_mode "$mode" || bad "fixture mode $mode"
	signin cflogin alice
	expect_refused "IDT-29 fixture $mode: refused, own reason (${LOGIN_MS} ms)" "$want"
done
ui_mode real
if grep -q "Authentication service cannot retrieve authentication info" <<<"$OUTS"; then ok "IDT-29 UserInfo unavailable (hang) -> PAM_AUTHINFO_UNAVAIL"
else bad "IDT-29 hang: not PAM_AUTHINFO_UNAVAIL" "$OUTS"; fi
signin cflogin alice
expect_granted "IDT-29 fixture back to real: granted again (positive twin)"

# IDT-29 measurement (opt-in: USERINFO_P50=50): time from the callback to
# the PAM result, userinfo = always vs never on the same IdP, interleaved
if [ -n "${USERINFO_P50:-}" ]; then
	cb_to_result() { # SERVICE FILE: appends ms from the callback GET to pamtester's exit
		local ms=FAILED
		start_login "$1" alice
		if wait_link && browse alice alice-pw --stop-at-redirect "$RELAY/callback"; then
			ms=$(python3 - "$BOUT" "$LD/rc" <<'PY'
import sys, time, os, urllib.request
t0 = time.monotonic()
urllib.request.urlopen(sys.argv[1], timeout=5).read()
while not os.path.exists(sys.argv[2]) and time.monotonic() - t0 < 20:
    time.sleep(0.0005)
print("%.1f" % ((time.monotonic() - t0) * 1000))
PY
)
		fi
		finish_login 20
		granted || ms=FAILED
		echo "$ms" >>"$2"
	}
	: >"$T/t-always"
	: >"$T/t-never"
	for ((i = 0; i < USERINFO_P50; i++)); do
		cb_to_result uialways "$T/t-always"
		cb_to_result uinever "$T/t-never"
	done
	p50() { grep -v FAILED "$1" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
	nfail=$(cat "$T/t-always" "$T/t-never" | grep -c FAILED)
	pa=$(p50 "$T/t-always") pn=$(p50 "$T/t-never")
	echo "IDT-29 measurement: callback -> PAM result, p50 over $USERINFO_P50 logins each, interleaved:"
	echo "       userinfo = always: $pa ms   userinfo = never: $pn ms   extra: $(awk -v a="$pa" -v b="$pn" 'BEGIN {printf "%.1f", a - b}') ms"
	if [ "$nfail" = 0 ]; then ok "IDT-29 measurement: $((2 * USERINFO_P50)) logins granted"; else bad "IDT-29 measurement: $nfail logins not granted"; fi
fi

echo "== the helper runs unprivileged (PAM-23)"
# status_of PID KEY: the value of "KEY:" in /proc/PID/status, tabs kept
status_of() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null; }
# helper_of_login: the pid of the running login's helper (pamtester's child)
helper_of_login() {
	local k
	for k in $(pgrep -P "$(cat "$LD/pid")" 2>/dev/null); do
		tr '\0' ' ' <"/proc/$k/cmdline" 2>/dev/null | grep -q 'oauth2-pkce-helper login' && echo "$k"
	done
}
# sock_uids PID PORT: the owner uid of each of PID's TCP sockets connected to
# 127.0.0.1:PORT, from /proc/net/tcp (inode matched to /proc/PID/fd)
sock_uids() {
	local inodes
	inodes=$(ls -l "/proc/$1/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]/\1/p' | tr '\n' ' ')
	awk -v port="$(printf '%04X' "$2")" -v inodes=" $inodes" \
		'NR > 1 { split($3, r, ":"); if (r[2] == port && index(inodes, " " $10 " ")) print $8 }' /proc/net/tcp
}
HUID=$(stack_helper_user)
HGID=$(id -g _oauth2-pkce 2>/dev/null)
start_login sudo alice
hp= st_uid= st_gid= st_groups=x st_nnp= st_dump= sk=
if wait_link; then
	hp=$(helper_of_login | head -n 1)
	for ((i = 0; i < 40; i++)); do # the long poll to the relay is open while it waits
		sk=$(sock_uids "$hp" "$RPORT" | sort -u | tr '\n' ' ')
		[ -n "$sk" ] && break
		sleep 0.05
	done
	st_uid=$(status_of "$hp" Uid | tr -s '\t ' ' ')
	st_gid=$(status_of "$hp" Gid | tr -s '\t ' ' ')
	st_groups=$(status_of "$hp" Groups | tr -d ' \t')
	st_nnp=$(status_of "$hp" NoNewPrivs)
	st_cap=$(status_of "$hp" CapEff)$(status_of "$hp" CapPrm)
	browse alice alice-pw --follow-callback
fi
finish_login 20
expect_granted "PAM-23 a login whose helper runs as _oauth2-pkce is granted"
if [ -n "$HUID" ] && [ "$st_uid" = "$HUID $HUID $HUID $HUID" ] && [ "$st_gid" = "$HGID $HGID $HGID $HGID" ]; then
	ok "PAM-23 while the login waits the helper's real/effective/saved/fs uid and gid are _oauth2-pkce's ($HUID/$HGID)"
else bad "PAM-23 helper pid=${hp:-none} Uid=\"$st_uid\" Gid=\"$st_gid\", want $HUID/$HGID"; fi
if [ -n "$hp" ] && [ -z "$st_groups" ] && [ "$st_nnp" = 1 ] && [ "$st_cap" = 00000000000000000000000000000000 ]; then
	ok "PAM-23 no supplementary groups, NoNewPrivs 1, no effective or permitted capability"
else bad "PAM-23 Groups=\"$st_groups\" NoNewPrivs=\"$st_nnp\" CapEff+CapPrm=\"${st_cap:-}\""; fi
if [ -n "$HUID" ] && [ "$sk" = "$HUID " ]; then
	ok "PAM-23 the helper's TCP connection to the relay (the long poll) is owned by uid $HUID (/proc/net/tcp)"
else bad "PAM-23 socket owners to the relay: \"$sk\", want $HUID"; fi
bad_files=$(find "$T/cache" ! -user _oauth2-pkce 2>/dev/null)
n_files=$(find "$T/cache" -type f -user _oauth2-pkce 2>/dev/null | wc -l)
if [ "$(stat -c '%U %a' "$T/cache" 2>/dev/null)" = "_oauth2-pkce 700" ] && [ -z "$bad_files" ] && [ "$n_files" -ge 2 ]; then
	ok "PAM-23 cache_dir created 0700 for _oauth2-pkce; the $n_files discovery/JWKS files fetched in it are its own"
else bad "PAM-23 cache: $(stat -c '%U %a' "$T/cache" 2>&1), files not the account's: ${bad_files:-none}, own: $n_files"; fi

sed '1a helper_user = _oauth2-nosuch' "$T/pam.conf" >"$T/nouser.conf"
chmod 0600 "$T/nouser.conf"
svc nouser 20 "$T/nouser.conf"
start_login nouser alice
finish_login 20
expect_refused "PAM-23 helper_user without an account: refused as a configuration error" \
	"Login through the identity provider is not available (configuration error)"
if grep -q "Authentication service cannot retrieve authentication info" <<<"$OUTS" && ! grep -q "$RELAY/l/" <<<"$OUTS"; then
	ok "PAM-23 missing account: PAM_AUTHINFO_UNAVAIL, nothing registered (no link)"
else bad "PAM-23 missing account: not AUTHINFO_UNAVAIL or a link was shown" "$OUTS"; fi

echo "== sanitizers and a clean relay stop"
kill -TERM "$RELAY_PID"
wait "$RELAY_PID"
rrc=$?
RELAY_PID=
if [ "$rrc" = 0 ] && ! grep -Eq 'Sanitizer|runtime error' "$T/relay.log"; then ok "relay: clean exit on SIGTERM, no sanitizer report"
else bad "relay exit $rrc" "$(grep -A15 -E 'Sanitizer|runtime error' "$T/relay.log")"; fi
if grep -lE 'Sanitizer|runtime error' "$T"/l*/out >/dev/null 2>&1; then
	bad "sanitizer report in a pamtester run (module)" "$(cat "$(grep -lE 'Sanitizer|runtime error' "$T"/l*/out | head -n 1)")"
else ok "module: no sanitizer report in $LN pamtester runs"; fi
if [ "$HELPER_RUN" != "$HELPER" ]; then
	if [ -z "$(ls -A "$T/san")" ]; then ok "helper (ASan+UBSan, leaks on) : no report in $LN logins"
	else bad "helper sanitizer reports: $(ls "$T/san" | tr '\n' ' ')" "$(cat "$T"/san/* | head -n 40)"; fi
fi

echo "== took $(($(date +%s) - START_S)) s"
finish
