#!/bin/bash
# Key rotation in the middle of a login (IDT-12, IDT-14; the OpenID
# Foundation RP test rp-key-rotation-op-sign-key) and XD-13 (the helper's
# audit line and the relay's request lines carry the same session hash),
# through the real stack: the test IdP (oidc-provider, tests/idp; its
# loopback-only POST /test/rotate switches the signing keys), the real relay,
# pam_oauth2_pkce.so under pamtester + pam_wrapper, the helper it forks, and
# the scripted browser.
# The helper logs to syslog and these machines have no /dev/log: pamtester
# (and so the helper) runs in a private mount namespace whose /dev is an
# overlay with /dev/log bound to a datagram socket this script reads.
# Needs root. Last line: "rotation: N passed, N failed"; exit status non-zero on failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
SUITE=rotation
. tests/lib/common.sh
. tests/lib/accounts.sh
need_parts
need_root "local account, root-owned config, mount namespace"
. tests/idp/lib.sh
. tests/lib/stack.sh
idp_ensure_deps || give_up "test IdP dependencies (tests/idp)"

tmpdir
PRELOAD=$(stack_pam_preload "$MOD")
RELAY_PID= LOG_PID= PT_PID=
cleanup() {
	[ -n "$PT_PID" ] && kill -KILL "$PT_PID" 2>/dev/null
	stack_relay_stop
	idp_stop
	[ -n "$LOG_PID" ] && kill "$LOG_PID" 2>/dev/null && wait "$LOG_PID" 2>/dev/null
	accounts_remove
}
at_exit cleanup

accounts_ensure -M -s /usr/sbin/nologin -- alice || give_up "useradd alice"

# ---- syslog listener (the helper's audit lines) ---------------------------------
SYSLOG=$T/syslog
python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    print(s.recv(65536).decode(errors="replace"), flush=True)
' "$T/log.sock" >"$SYSLOG" &
LOG_PID=$!
for _ in $(seq 50); do [ -S "$T/log.sock" ] && break; sleep 0.1; done
[ -S "$T/log.sock" ] || give_up "syslog listener did not start"
# PAM-23: the helper logs and caches as _oauth2-pkce once it has dropped root
chmod 0666 "$T/log.sock"
stack_helper_reach "$T"
mkdir -p "$T/ovl/up" "$T/ovl/work"

# ---- IdP + relay -------------------------------------------------------------------
RPORT=$(stack_freeport)
RELAY=http://127.0.0.1:$RPORT
idp_start "$T/idp" --redirect-uri "$RELAY/callback" || give_up "IdP did not start"
stack_relay_start "$T" "$RPORT" pkce-rs256 "max_ttl = 120" || give_up "relay did not start"

# CONF FILE CACHE_DIR: root-owned 0600
helper_conf() {
	cat >"$1" <<EOF
issuer = $IDP_ISSUER
client_id = pkce-rs256
scopes = openid profile email groups
cache_dir = $2
allow_insecure_loopback = yes
relay_url = $RELAY
relay_secret_file = $RELAY_SECRET_FILE
http_timeout = 5
wait = poll
qr = off
EOF
	chown root:root "$1"
	chmod 0600 "$1"
}
helper_conf "$T/pam.conf" "$T/cache"
mkdir -p "$T/svc"
echo "auth required $MOD helper=$HELPER config=$T/pam.conf timeout=25" >"$T/svc/login"

# login_run USER [ROTATE]: one login; ROTATE=1 switches the IdP's signing keys
# after the helper has fetched the JWKS and shown the link, before sign-in.
# Sets RC, OUT, SID_LINK (the relay link id's session hash as the relay
# computes it: first 12 hex of SHA-256(id)).
LN=0
login_run() {
	local out link i
	LN=$((LN + 1))
	out=$T/out$LN
	: >"$out"
	unshare -m sh -c '
		set -e
		mount --make-rprivate /
		mount -t overlay overlay -o "lowerdir=/dev,upperdir=$1/ovl/up,workdir=$1/ovl/work" /dev
		touch /dev/log
		mount --bind "$1/log.sock" /dev/log
		shift
		exec env "$@"' sh "$T" \
		LD_PRELOAD="$PRELOAD" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/svc" \
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} \
		stdbuf -o0 -e0 pamtester -v login "$1" authenticate </dev/null >"$out" 2>&1 &
	PT_PID=$!
	link=
	for ((i = 0; i < 300; i++)); do
		link=$(grep -oE "$RELAY/l/[A-Za-z0-9_-]{16}" "$out" | head -n 1)
		[ -n "$link" ] && break
		kill -0 "$PT_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ -n "$link" ]; then
		[ "${2:-0}" = 1 ] && idp_rotate >"$T/rotate$LN.json"
		node "$BROWSER" --url "$link" --user "$1" --password "$1-pw" --follow-callback \
			>/dev/null 2>"$T/browser$LN.err"
	fi
	wait "$PT_PID"
	RC=$?
	PT_PID=
	OUT=$(cat "$out")
	SID_LINK=
	[ -n "$link" ] && SID_LINK=$(printf '%s' "${link##*/}" | openssl dgst -sha256 -r | cut -c1-12)
	sleep 0.3 # the relay writes its log lines once per loop turn
}
granted() { [ "$RC" = 0 ] && grep -q "successfully authenticated" <<<"$OUT"; }
nlines() { grep -c -- "$1" "$SYSLOG"; }

echo "== XD-13: one session hash in the helper's and the relay's log lines"
login_run alice
if granted; then ok "plain login: granted"; else bad "plain login (rc=$RC)" "$OUT"; fi
hsid=$(grep -oE 'login granted: .* sid=[0-9a-f]{12}' "$SYSLOG" | tail -n 1 | grep -oE 'sid=[0-9a-f]{12}' | cut -d= -f2)
rsids=$(grep -oE 'sid=[0-9a-f]{12}' "$T/relay.log" | cut -d= -f2 | sort -u)
if [ -n "$hsid" ] && [ "$hsid" = "$SID_LINK" ]; then
	ok "XD-13 helper audit line sid=$hsid = first 12 hex of SHA-256(link id)"
else bad "XD-13 helper sid '$hsid' vs link hash '$SID_LINK'" "$(cat "$SYSLOG")"; fi
if [ -n "$hsid" ] && [ "$rsids" = "$hsid" ] && [ "$(grep -c "sid=$hsid" "$T/relay.log")" -ge 3 ]; then
	ok "XD-13 the relay's request lines (register, page, callback, poll) carry the same sid=$hsid"
else bad "XD-13 relay sids '$rsids' vs helper '$hsid'" "$(cat "$T/relay.log")"; fi

echo "== IDT-12 IDT-14 rp-key-rotation-op-sign-key: keys rotate mid-login"
rm -rf "$T/cache" # the helper fetches discovery + JWKS from the network at login start
ref0=$(nlines 'refreshing the key set')
login_run alice 1
ref1=$(nlines 'refreshing the key set')
if granted && [ "$ref1" -eq $((ref0 + 1)) ]; then
	ok "IDT-12 rotation after the helper's JWKS fetch: one refetch, granted"
else bad "IDT-12 mid-login rotation (rc=$RC, refreshes $ref0 -> $ref1)" "$OUT$(tail -n 8 "$SYSLOG")"; fi
if grep -q 'rotated keys' "$T/idp/idp.log" 2>/dev/null || [ -s "$T/rotate$LN.json" ]; then
	ok "the IdP switched its signing keys during that login"
else bad "no rotation happened"; fi

rl0=$(nlines 'refresh rate-limited')
login_run alice 1
ref2=$(nlines 'refreshing the key set')
rl1=$(nlines 'refresh rate-limited')
if ! granted && [ "$RC" != 0 ] && [ "$ref2" -eq "$ref1" ] && [ "$rl1" -eq $((rl0 + 1)) ]; then
	ok "IDT-12 a second unknown kid within 60 s (another rotation): no refetch, refused"
else bad "IDT-12 rate limit (rc=$RC, refreshes $ref1 -> $ref2, rate-limited $rl0 -> $rl1)" "$OUT$(tail -n 8 "$SYSLOG")"; fi

echo "== PAM-23 helper_user without an account: one log line names it and the option"
sed '1a helper_user = _oauth2-nosuch' "$T/pam.conf" >"$T/nouser.conf"
chmod 0600 "$T/nouser.conf"
echo "auth required $MOD helper=$HELPER config=$T/nouser.conf timeout=25" >"$T/svc/login"
n0=$(nlines 'helper_user _oauth2-nosuch: no such account')
login_run alice
echo "auth required $MOD helper=$HELPER config=$T/pam.conf timeout=25" >"$T/svc/login"
if ! granted && [ "$RC" != 0 ] && ! grep -q "$RELAY/l/" <<<"$OUT" &&
	[ "$(nlines "helper_user _oauth2-nosuch: no such account (create the account, or set helper_user in $T/nouser.conf)")" -eq $((n0 + 1)) ]; then
	ok "PAM-23 missing helper_user: refused, no link, one log line naming the account, the option and the file"
else bad "PAM-23 missing helper_user (rc=$RC)" "$OUT$(tail -n 5 "$SYSLOG")"; fi

echo "== IDT-12 a key the IdP never published"
helper_conf "$T/forged.conf" "$T/cache-forged"
nonce=n-$(openssl rand -hex 8)
forged=$(cd tests/idp && node --input-type=module -e '
import * as jose from "jose";
const { privateKey } = await jose.generateKeyPair("RS256");
const now = Math.floor(Date.now() / 1000);
const t = await new jose.SignJWT({ sub: "alice", nonce: process.argv[3], preferred_username: "alice" })
  .setProtectedHeader({ alg: "RS256", kid: "never-published", typ: "JWT" })
  .setIssuer(process.argv[1]).setAudience(process.argv[2]).setIssuedAt(now).setExpirationTime(now + 300)
  .sign(privateKey);
console.log(t);' "$IDP_ISSUER" pkce-rs256 "$nonce" 2>/dev/null)
if [ -z "$forged" ]; then
	bad "could not mint a token (jose)"
else
	out1=$(printf '%s\n' "$forged" | "$HELPER" verify-id-token --config "$T/forged.conf" --nonce "$nonce" --debug 2>&1); rc1=$?
	out2=$(printf '%s\n' "$forged" | "$HELPER" verify-id-token --config "$T/forged.conf" --nonce "$nonce" --debug 2>&1); rc2=$?
	if [ $rc1 -ne 0 ] && grep -q 'refreshing the key set' <<<"$out1" && grep -qi 'kid' <<<"$out1"; then
		ok "IDT-12 token signed with a never-published key: one refetch, still unknown, refused"
	else bad "never-published key (rc=$rc1)" "$out1"; fi
	if [ $rc2 -ne 0 ] && ! grep -q 'refreshing the key set' <<<"$out2" && grep -q 'rate-limited' <<<"$out2"; then
		ok "IDT-12 two unknown-kid tokens within a minute: one refetch only"
	else bad "second unknown kid (rc=$rc2)" "$out2"; fi
fi
finish
