#!/bin/bash
# Per-service assurance end to end (IDT-25, IDT-26, AZ-07, XD-12): the test
# IdP (oidc-provider) is told which acr/amr a sign-in gets and how long ago
# it happened (POST /test/assurance), the real relay, pam_oauth2_pkce.so in
# pamtester through pam_wrapper, the helper, the scripted browser.
# Policy under test: sudo has max_age = 300 + required_amr = mfa, sshd has
# none, acrsvc has acr_values + required_acr. Plus verify-id-token
# --service on a saved token. ASSURANCE_BENCH=N also times N logins with
# and N without max_age (interleaved) and prints the p50 of each.
# Needs root (local account alice, root-owned config).
# Last line: "assurance: N passed, N failed"; exit status non-zero on any failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
SUITE=assurance
. tests/lib/common.sh
. tests/lib/accounts.sh
need_parts
need_root "local accounts, root-owned config"
. tests/idp/lib.sh
. tests/lib/stack.sh
idp_ensure_deps || give_up "test IdP dependencies (tests/idp)"

tmpdir
PRELOAD=$(stack_pam_preload "$MOD")

RELAY_PID=
LN=0
LD=
cleanup() {
	exec 9>&- 2>/dev/null
	local d p k
	for d in "$T"/l*; do
		[ -f "$d/pid" ] && [ ! -f "$d/rc" ] || continue
		p=$(cat "$d/pid")
		for k in $(pgrep -P "$p" 2>/dev/null); do kill -KILL "$k" 2>/dev/null; done
		kill -KILL "$p" 2>/dev/null
	done
	stack_relay_stop
	idp_stop
	accounts_remove
}
at_exit cleanup
now_ms() { echo $(($(date +%s%N) / 1000000)); }

accounts_ensure -M -s /usr/sbin/nologin -- alice || give_up "useradd alice"

RPORT=$(stack_freeport)
RELAY=http://127.0.0.1:$RPORT
idp_start "$T/idp" --redirect-uri "$RELAY/callback" || give_up "IdP did not start"
if ! stack_relay_start "$T" "$RPORT" pkce-rs256 "max_ttl = 120"; then
	give_up "relay did not start" "$(cat "$T/relay.log")"
fi

stack_helper_reach "$T" # PAM-23: the helper uses its cache in $T as _oauth2-pkce
cat >"$T/pam.conf" <<EOF
issuer = $IDP_ISSUER
client_id = pkce-rs256
scopes = openid profile email groups
cache_dir = $T/cache
allow_insecure_loopback = yes
relay_url = $RELAY
relay_secret_file = $RELAY_SECRET_FILE
http_timeout = 5
max_logins_per_minute = 0
clock_skew = 60
wait = poll
qr = off

[service sudo]
max_age = 300
required_amr = mfa

[service sshd]
wait = poll

[service acrsvc]
acr_values = urn:pam-test:loa:2 phr
required_acr = urn:pam-test:loa:2 phr

[service agesvc]
max_age = 300

[service loginsvc]
prompt = login
EOF
chown root:root "$T/pam.conf"
chmod 0600 "$T/pam.conf"
mkdir -p "$T/svc"
for s in sudo sshd acrsvc agesvc loginsvc; do
	echo "auth required $MOD helper=$HELPER config=$T/pam.conf timeout=25" >"$T/svc/$s"
done

# assurance [QUERY]: what the IdP's next sign-ins get ("" = reset)
assurance() {
	curl -fsS --max-time 5 -X POST "$IDP_ISSUER/test/assurance${1:+?$1}" >/dev/null ||
		bad "POST /test/assurance?$1"
}

start_login() { # SERVICE USER
	exec 9>&- 2>/dev/null
	LN=$((LN + 1))
	LD=$T/l$LN
	mkdir -p "$LD"
	mkfifo "$LD/in"
	OUT=$LD/out
	(
		LD_PRELOAD=$PRELOAD PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/svc" ASAN_OPTIONS=detect_leaks=0 \
			stdbuf -o0 -e0 pamtester -v "$1" "$2" authenticate <"$LD/in" >"$OUT" 2>&1 &
		echo $! >"$LD/pid"
		wait $!
		echo $? >"$LD/rc.tmp" && mv "$LD/rc.tmp" "$LD/rc"
	) 9>&- &
	exec 9<>"$LD/in"
	LOGIN_T0=$(now_ms)
}
wait_link() {
	local i
	for ((i = 0; i < 300; i++)); do
		LINK=$(grep -oE "$RELAY/l/[A-Za-z0-9_-]{16}" "$OUT" 2>/dev/null | head -n 1)
		[ -n "$LINK" ] && return 0
		[ -f "$LD/rc" ] && break
		sleep 0.05
	done
	return 1
}
finish_login() {
	local i p k
	for ((i = 0; i < 600; i++)); do
		[ -f "$LD/rc" ] && break
		sleep 0.05
	done
	if [ ! -f "$LD/rc" ]; then
		p=$(cat "$LD/pid")
		for k in $(pgrep -P "$p"); do kill -KILL "$k" 2>/dev/null; done
		kill -KILL "$p" 2>/dev/null
		for ((i = 0; i < 100; i++)); do [ -f "$LD/rc" ] && break; sleep 0.05; done
	fi
	exec 9>&- 2>/dev/null
	RC=$(cat "$LD/rc" 2>/dev/null || echo 999)
	OUTS=$(cat "$OUT")
	LOGIN_MS=$(($(now_ms) - LOGIN_T0))
}
# login SERVICE: one whole login as alice; AUTH_URL = what the relay sent the
# browser to (the authorization request as registered)
login() {
	local page csrf
	AUTH_URL=
	start_login "$1" alice
	if wait_link; then
		page=$(curl -sS --max-time 5 "$LINK")
		csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$page" | head -n 1)
		AUTH_URL=$(curl -sS --max-time 5 -o /dev/null -w '%{redirect_url}' --data-urlencode "csrf=$csrf" \
			--data-urlencode continue=1 "$LINK")
		node "$BROWSER" --url "$AUTH_URL" --user alice --password alice-pw --follow-callback \
			>"$LD/browser.out" 2>"$LD/browser.err"
	fi
	finish_login
}
granted() { [ "$RC" = 0 ] && grep -q "successfully authenticated" <<<"$OUTS"; }
expect_granted() {
	if granted; then ok "$1"; else bad "$1 (rc=$RC)" "$OUTS$(cat "$LD/browser.err" 2>/dev/null)"; fi
}
expect_refused() { # NAME MESSAGE
	if [ "$RC" != 0 ] && ! grep -q "successfully authenticated" <<<"$OUTS" && grep -qF -- "$2" <<<"$OUTS"; then
		ok "$1"
	else
		bad "$1 (rc=$RC, want \"$2\")" "$OUTS$(cat "$LD/browser.err" 2>/dev/null)"
	fi
}
has_param() { grep -qE "[?&]$1(&|$)" <<<"$AUTH_URL"; }

echo "== AZ-07: what each service sends"
assurance "amr=pwd,mfa"
login sudo
if has_param "max_age=300" && ! grep -q "acr_values=" <<<"$AUTH_URL"; then
	ok "AZ-07 sudo: max_age=300 in the authorization request, no acr_values"
else bad "AZ-07 sudo request" "$AUTH_URL"; fi
expect_granted "IDT-25/26 sudo, fresh MFA sign-in (amr [pwd, mfa], auth_time now): granted"
login sshd
if [ -n "$AUTH_URL" ] && ! grep -qE "max_age=|acr_values=" <<<"$AUTH_URL"; then
	ok "AZ-07 sshd: neither max_age nor acr_values sent"
else bad "AZ-07 sshd request" "$AUTH_URL"; fi
expect_granted "sshd (no rule), MFA sign-in: granted"
login acrsvc
if has_param "acr_values=urn%3Apam-test%3Aloa%3A2%20phr"; then
	ok "AZ-07 acrsvc: acr_values=urn:pam-test:loa:2 phr sent, encoded"
else bad "AZ-07 acrsvc request" "$AUTH_URL"; fi
expect_refused "IDT-26 acrsvc, sign-in without acr: refused" "acrsvc needs a stronger sign-in (urn:pam-test:loa:2 phr)"

echo "== IDT-26 required_amr (sudo: mfa; sshd: none)"
assurance "amr=pwd"
login sudo
expect_refused "IDT-26 sudo, password-only sign-in (amr [pwd]): refused" "sudo needs multi-factor sign-in"
login sshd
expect_granted "sshd, password-only sign-in: granted"
assurance ""
login sudo
expect_refused "IDT-26 sudo, no amr at all: refused" "sudo needs multi-factor sign-in"
login sshd
expect_granted "sshd, no amr: granted"

echo "== IDT-25 max_age (sudo and agesvc: 300 s, skew 60 s)"
assurance "amr=mfa&auth_age=600"
login sudo
expect_refused "IDT-25 sudo, MFA sign-in 600 s old: refused" \
	"This sign-in is older than sudo allows (max 300 s): sign in again"
login agesvc
expect_refused "IDT-25 agesvc, sign-in 600 s old: refused" \
	"This sign-in is older than agesvc allows (max 300 s): sign in again"
login sshd
expect_granted "sshd, the same 600 s old sign-in: granted (no max_age)"
assurance "amr=mfa&auth_age=340"
login sudo
expect_granted "IDT-25 sudo, sign-in 340 s old (within max_age + skew): granted"
assurance "amr=mfa&auth_age=420"
login sudo
expect_refused "IDT-25 sudo, sign-in 420 s old (beyond max_age + skew): refused" "older than sudo allows"

echo "== IDT-25 prompt=login: a sign-in during this login"
assurance ""
login loginsvc
if has_param "prompt=login" && ! grep -q "max_age=" <<<"$AUTH_URL"; then
	ok "AZ-07 loginsvc: prompt=login sent"
else bad "AZ-07 loginsvc request" "$AUTH_URL"; fi
expect_granted "IDT-25 loginsvc, fresh sign-in: granted"
assurance "auth_age=600"
login loginsvc
expect_refused "IDT-25 loginsvc, IdP answers prompt=login from a 600 s old session: refused" \
	"This sign-in is older than this login (loginsvc asks for a new one): sign in again"

echo "== amr must be a JSON array of strings"
assurance "amr=pwd,mfa&amr_string=1"
login sudo
expect_refused "IDT-26 sudo, amr \"pwd mfa\" as one string: refused" \
	"The identity provider described the sign-in in a form sudo cannot check"
login sshd
expect_granted "sshd (no amr rule), the same string amr: granted"

echo "== IDT-26 required_acr (acrsvc: urn:pam-test:loa:2 or phr)"
assurance "acr=urn:pam-test:loa:1"
login acrsvc
expect_refused "IDT-26 acrsvc, acr urn:pam-test:loa:1: refused" "acrsvc needs a stronger sign-in"
login sshd
expect_granted "sshd, acr urn:pam-test:loa:1: granted"
assurance "acr=phr"
login acrsvc
expect_granted "IDT-26 acrsvc, acr phr: granted"
assurance "acr=urn:pam-test:loa:2&amr=hwk,mfa"
login acrsvc
expect_granted "IDT-26 acrsvc, acr urn:pam-test:loa:2: granted"

echo "== verify-id-token --service applies the same rules"
# an ID token for alice without max_age (no auth_time), amr [pwd]
assurance "amr=pwd"
verifier=$(head -c 32 /dev/urandom | basenc --base64url | tr -d '=')
challenge=$(printf '%s' "$verifier" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=')
state=$(head -c 16 /dev/urandom | basenc --base64url | tr -d '=')
nonce=n-$(head -c 16 /dev/urandom | basenc --base64url | tr -d '=')
cb=$(idp_get_code "$T/idp" alice alice-pw pkce-rs256 "$RELAY/callback" "$state" "$nonce" "$challenge" 2>"$T/gc.err")
code=$(sed -n 's/.*[?&]code=\([^&#]*\).*/\1/p' <<<"$cb")
tok=$(curl -sS --max-time 5 -d grant_type=authorization_code -d client_id=pkce-rs256 \
	--data-urlencode "code=$code" --data-urlencode "redirect_uri=$RELAY/callback" \
	--data-urlencode "code_verifier=$verifier" "$IDP_ISSUER/token" |
	python3 -c 'import json,sys; print(json.load(sys.stdin).get("id_token",""))' 2>/dev/null)
if [ -z "$tok" ]; then
	bad "verify-id-token: no ID token from the IdP" "$cb$(cat "$T/gc.err")"
else
	v_out=$(printf '%s\n' "$tok" | "$HELPER" verify-id-token --config "$T/pam.conf" --nonce "$nonce" --service sshd 2>&1)
	v_rc=$?
	if [ "$v_rc" = 0 ] && grep -qx "amr=pwd" <<<"$v_out"; then
		ok "verify-id-token --service sshd: accepted, amr=pwd printed"
	else bad "verify-id-token --service sshd (rc=$v_rc)" "$v_out"; fi
	v_out=$(printf '%s\n' "$tok" | "$HELPER" verify-id-token --config "$T/pam.conf" --nonce "$nonce" --service sudo 2>&1)
	v_rc=$?
	if [ "$v_rc" = 1 ] && grep -q "refused: auth_time missing (max_age sent)" <<<"$v_out"; then
		ok "IDT-25 verify-id-token --service sudo, token without auth_time: refused"
	else bad "verify-id-token --service sudo (rc=$v_rc)" "$v_out"; fi
	v_out=$(printf '%s\n' "$tok" | "$HELPER" verify-id-token --config "$T/pam.conf" --nonce "$nonce" --service acrsvc 2>&1)
	v_rc=$?
	if [ "$v_rc" = 1 ] && grep -q "refused: acr not one of required_acr" <<<"$v_out"; then
		ok "IDT-26 verify-id-token --service acrsvc, token without acr: refused"
	else bad "verify-id-token --service acrsvc (rc=$v_rc)" "$v_out"; fi
	v_out=$(printf '%s\n' "$tok" | "$HELPER" verify-id-token --config "$T/pam.conf" --nonce "$nonce" 2>&1)
	v_rc=$?
	if [ "$v_rc" = 0 ]; then ok "verify-id-token without --service: the global policy (no rule) accepts"
	else bad "verify-id-token global (rc=$v_rc)" "$v_out"; fi
fi

if [ "${ASSURANCE_BENCH:-0}" -gt 0 ]; then
	echo "== login time with and without max_age (${ASSURANCE_BENCH} each, interleaved)"
	assurance "amr=mfa"
	: >"$T/ms.age" && : >"$T/ms.none"
	for ((i = 0; i < ASSURANCE_BENCH; i++)); do
		login agesvc
		granted && echo "$LOGIN_MS" >>"$T/ms.age"
		login sshd
		granted && echo "$LOGIN_MS" >>"$T/ms.none"
	done
	p50() { sort -n "$1" | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
	n_age=$(wc -l <"$T/ms.age") n_none=$(wc -l <"$T/ms.none")
	echo "login ms p50: max_age=300 $(p50 "$T/ms.age") (n=$n_age), no max_age $(p50 "$T/ms.none") (n=$n_none)"
	if [ "$n_age" = "$ASSURANCE_BENCH" ] && [ "$n_none" = "$ASSURANCE_BENCH" ]; then
		ok "bench: every timed login granted"
	else bad "bench: some timed logins failed ($n_age, $n_none of $ASSURANCE_BENCH)"; fi
fi

finish
