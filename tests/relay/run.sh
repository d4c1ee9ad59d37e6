#!/bin/bash
# Callback relay tests (SECURITY.md §6 RLY, §8 XD): the real
# oauth2-pkce-relay on a free loopback port, driven with real curl.
# RELAY=path overrides the binary (default $B/oauth2-pkce-relay).
# Last line: "relay: N passed, N failed"; exit status non-zero on any failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
SUITE=relay BAD_DETAIL='head -n 20'
. tests/lib/common.sh
RELAY=${RELAY:-$B/oauth2-pkce-relay}
[ -x "$RELAY" ] || give_up "relay binary $RELAY not found"
RELAY=$(realpath "$RELAY")
tmpdir
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
}
at_exit cleanup
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

BASE=https://relay.example.org
EP=https://idp.example.com/authorize
EP2=https://login.example.net:8443/oauth2/v1/auth
CID=pam-client
REDIR_ENC='https%3A%2F%2Frelay.example.org%2Fcallback'
NONCE=n0nce-123

rnd43() { head -c 32 /dev/urandom | basenc --base64url | tr -d '='; }
sha_b64() { printf '%s' "$1" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '='; }
now_ns() { date +%s%N; }

# conf FILE [extra lines]: extras start on line 8. Registration is open and
# metrics go to a free port unless the extras say otherwise.
conf() {
	{
		echo "# relay test config"
		echo "base_url = $BASE"
		echo "allowed_authorization_endpoint = $EP"
		echo "allowed_authorization_endpoint = $EP2"
		echo "allowed_client_id = $CID"
		echo "allowed_client_id = other-client"
		echo "max_ttl = 300"
		printf '%s\n' "${@:2}"
		printf '%s\n' "${@:2}" | grep -q '^\(registration_secret_file\|open_registration\) ' ||
			echo "open_registration = yes"
		printf '%s\n' "${@:2}" | grep -q '^metrics_listen ' || echo "metrics_listen = 127.0.0.1:0"
	} >"$1"
}

start_relay() { # CONF LOG -> RPID, PORT
	"$RELAY" --config "$1" --listen 127.0.0.1:0 2>>"$2" &
	RPID=$!
	PIDS+=("$RPID")
	PORT=
	for _ in $(seq 200); do
		PORT=$(sed -n 's/.* port \([0-9][0-9]*\),.*/\1/p' "$2" | tail -n 1)
		[ -n "$PORT" ] && return 0
		kill -0 "$RPID" 2>/dev/null || break
		sleep 0.05
	done
	echo "relay did not start:"
	cat "$2"
	return 1
}

# req METHOD PATH [curl args]: sets st; headers in $T/h, body in $T/b.
req() {
	local m=$1 p=$2
	shift 2
	if [ "$m" = HEAD ]; then
		st=$(curl -s --max-time 40 -o "$T/b" -D "$T/h" -w '%{http_code}' --head "$@" "http://127.0.0.1:$PORT$p")
	else
		st=$(curl -s --max-time 40 -o "$T/b" -D "$T/h" -w '%{http_code}' -X "$m" "$@" "http://127.0.0.1:$PORT$p")
	fi
}
hdrs() { tr -d '\r' <"$T/h" | grep -vi '^date:'; }
body() { cat "$T/b"; }
snap() { { echo "$st"; hdrs; body; } >"$T/snap.$1"; } # status+headers(no Date)+body

mkurl() { # STATE CHALLENGE [EXTRA] [ENDPOINT]
	printf '%s?response_type=code&client_id=%s&redirect_uri=%s&scope=openid%%20profile&state=%s&nonce=%s&code_challenge=%s&code_challenge_method=S256%s' \
		"${4:-$EP}" "$CID" "$REDIR_ENC" "$1" "$NONCE" "$2" "${3:-}"
}
DEFCTX='{"host":"web1.example.org","service":"sshd","user":"alice","rhost":"203.0.113.9"}'
regbody() { # STATE HASH URL [TTL] [EXTRA-JSON] [CONTEXT-JSON]
	printf '{"state":"%s","poll_secret_sha256":"%s","ttl":%s,"authorization_url":"%s","context":%s%s}' \
		"$1" "$2" "${4:-120}" "$3" "${6:-$DEFCTX}" "${5:-}"
}
register() { # BODY [curl args]
	local b=$1
	shift
	req POST /v1/sessions -H 'Content-Type: application/json' --data-binary "$b" "$@"
}
# new_login [TTL] [EXTRA-JSON]: a registered login; sets STATE SECRET HASH CHAL URL ID LINK
new_login() {
	STATE=$(rnd43)
	SECRET=$(rnd43)
	HASH=$(sha_b64 "$SECRET")
	CHAL=$(rnd43)
	URL=$(mkurl "$STATE" "$CHAL")
	register "$(regbody "$STATE" "$HASH" "$URL" "${1:-120}" "${2:-}")"
	ID=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$T/b")
	LINK=$(sed -n 's/.*"link":"\([^"]*\)".*/\1/p' "$T/b")
	ALL_SECRETS+=("$STATE" "$SECRET")
	ALL_IDS+=("$ID")
}
csrf_of() { # ID
	curl -s "http://127.0.0.1:$PORT/l/$1" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p'
}
poll() { # STATE SECRET [WAIT]
	req GET "/v1/sessions/$1${3:+?wait=$3}" ${2:+-H "Authorization: Bearer $2"}
}
callback() { # QUERY
	req GET "/callback?$1"
}
bg_poll() { # STATE SECRET WAIT OUT: a poll in the background; OUT.end = when it answered
	( curl -s --max-time 40 -H "Authorization: Bearer $2" \
		"http://127.0.0.1:$PORT/v1/sessions/$1?wait=$3" >"$4"; now_ns >"$4.end" ) &
}
ALL_SECRETS=()
ALL_IDS=()

# ---- configuration errors (exit 2, one line) --------------------------------
conf "$T/bad1.conf" "colour = blue"
out=$("$RELAY" --config "$T/bad1.conf" 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "bad1.conf:8: unknown key \"colour\"" <<<"$out" && [ "$(wc -l <<<"$out")" -eq 1 ]
check "config: unknown key -> FILE:LINE: unknown key, exit 2" $? "rc=$rc $out"
printf 'allowed_authorization_endpoint = %s\nallowed_client_id = c\n' "$EP" >"$T/bad2.conf"
out=$("$RELAY" --config "$T/bad2.conf" 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "base_url is required" <<<"$out"
check "config: base_url required" $? "rc=$rc $out"
printf 'base_url = http://relay.example.org\nallowed_authorization_endpoint = %s\nallowed_client_id = c\n' "$EP" >"$T/bad3.conf"
out=$("$RELAY" --config "$T/bad3.conf" 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "bad3.conf:1: base_url: URL must be https" <<<"$out"
check "RLY-31 config: http base_url refused" $? "rc=$rc $out"
printf 'base_url = http://127.0.0.1:9\nallowed_authorization_endpoint = %s\nallowed_client_id = c\nallow_insecure_loopback = yes\nlisten = nonsense\n' "$EP" >"$T/bad4.conf"
out=$("$RELAY" --config "$T/bad4.conf" 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "bad4.conf:5: listen" <<<"$out"
check "config: bad listen (loopback http base_url accepted with allow_insecure_loopback)" $? "rc=$rc $out"
printf 'base_url = https://r.example\nallowed_authorization_endpoint = https://IDP.example.com/authorize\nallowed_client_id = c\n' >"$T/bad5.conf"
out=$("$RELAY" --config "$T/bad5.conf" 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "bad5.conf:2: allowed_authorization_endpoint" <<<"$out"
check "config: endpoint host must be lowercase (exact comparison)" $? "rc=$rc $out"
printf 'x' >"$T/weak.secret"
chmod 644 "$T/weak.secret"
conf "$T/bad6.conf" "registration_secret_file = $T/weak.secret"
out=$("$RELAY" --config "$T/bad6.conf" 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "must not be accessible by group or others" <<<"$out"
check "RLY-04 config: group/world-readable registration secret refused" $? "rc=$rc $out"
# config_error NAME WANT-TEXT [extra lines]: conf + extras must stop the relay
# with exit 2 and exactly one line containing WANT-TEXT.
config_error() {
	local name=$1 want=$2
	shift 2
	conf "$T/cerr.conf" "$@"
	out=$("$RELAY" --config "$T/cerr.conf" 2>&1)
	rc=$?
	[ $rc -eq 2 ] && grep -qF -- "$want" <<<"$out" && [ "$(wc -l <<<"$out")" -eq 1 ]
	check "config: $name -> exit 2, one line" $? "rc=$rc $out"
}
# No credential and no open_registration: refused, naming the file.
printf 'base_url = %s\nallowed_authorization_endpoint = %s\nallowed_client_id = c\n' "$BASE" "$EP" >"$T/nocred.conf"
out=$("$RELAY" --config "$T/nocred.conf" 2>&1)
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] &&
	grep -qF "$T/nocred.conf: registration needs a credential: set registration_secret_file (or open_registration = yes" <<<"$out"
check "RLY-04 config: no registration_secret_file and no open_registration -> exit 2, one line" $? "rc=$rc $out"
config_error "open_registration = no is no credential" "registration needs a credential" "open_registration = no"
# The configuration itself through lib/file.c (PAM-15): no symlink, not group-writable.
printf 'base_url = %s\nallowed_authorization_endpoint = %s\nallowed_client_id = c\nopen_registration = yes\n' \
	"$BASE" "$EP" >"$T/ok.conf"
ln -sf "$T/ok.conf" "$T/link.conf"
out=$(timeout 5 "$RELAY" --config "$T/link.conf" 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -qF "$T/link.conf: is a symbolic link" <<<"$out"
check "PAM-15 config: a symlinked configuration -> exit 2, named" $? "rc=$rc $out"
chmod 0664 "$T/ok.conf"
out=$(timeout 5 "$RELAY" --config "$T/ok.conf" 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -qF "$T/ok.conf: mode 0664: must not be writable by group or others" <<<"$out"
check "PAM-15 config: a group-writable configuration -> exit 2, named" $? "rc=$rc $out"
REGSEC=$(rnd43)
REGSEC2=$(rnd43)
(umask 077; printf '%s\n' "$REGSEC" >"$T/reg.secret"; printf '%s' "$REGSEC2" >"$T/reg2.secret")
config_error "open_registration with a secret" "cerr.conf:9: open_registration = yes and registration_secret_file exclude each other" \
	"registration_secret_file = $T/reg.secret" "open_registration = yes"
config_error "the same secret file twice" "cerr.conf:9: registration_secret_file: $T/reg.secret already given on line 8" \
	"registration_secret_file = $T/reg.secret" "registration_secret_file = $T/reg.secret"
config_error "relative secret path" "cerr.conf:8: registration_secret_file: must be an absolute path" \
	"registration_secret_file = reg.secret"
config_error "missing secret file" "cerr.conf:9: registration_secret_file: $T/none.secret: cannot open" \
	"registration_secret_file = $T/reg.secret" "registration_secret_file = $T/none.secret"
many=()
for i in $(seq 17); do
	(umask 077; printf 'secret-%02d-%s\n' "$i" "$REGSEC" >"$T/many$i.secret")
	many+=("registration_secret_file = $T/many$i.secret")
done
config_error "17 secret files" "cerr.conf:24: registration_secret_file: at most 16 files" "${many[@]}"
config_error "duplicate key" 'cerr.conf:9: duplicate key "max_sessions"' "max_sessions = 5" "max_sessions = 6"
config_error "threads out of range" "cerr.conf:8: threads: 0..64 (0: one per online CPU)" "threads = 65"
config_error "threads not a number" "cerr.conf:8: threads: 0..64" "threads = two"
config_error "bad metrics_listen" "cerr.conf:8: metrics_listen: expected HOST:PORT (IPv4, [IPv6] or localhost) or off" \
	"metrics_listen = *:9464"
config_error "metrics_listen equal to listen" "cerr.conf:9: metrics_listen: must differ from listen (127.0.0.1:9999)" \
	"listen = 127.0.0.1:9999" "metrics_listen = 127.0.0.1:9999"
config_error "trusted_proxies: not an address" 'cerr.conf:8: trusted_proxies: "proxy.example" is not an IPv4 or IPv6 address[/prefix]' \
	"trusted_proxies = 10.0.0.1 proxy.example"
config_error "trusted_proxies: host bits" 'cerr.conf:9: trusted_proxies: "192.168.1.1/24" has host bits set (the network is 192.168.1.0/24)' \
	"trusted_proxies = 10.0.0.0/8" "trusted_proxies = 192.168.1.1/24"
config_error "trusted_proxies: IPv6 host bits" '(the network is 2001:db8::/32)' "trusted_proxies = 2001:db8::1/32"
config_error "trusted_proxies: prefix /33" 'cerr.conf:8: trusted_proxies: bad prefix length in "10.0.0.0/33"' "trusted_proxies = 10.0.0.0/33"
config_error "trusted_proxies: /0 trusts everyone" 'bad prefix length in "::/0"' "trusted_proxies = ::/0"
config_error "store: unknown backend" "cerr.conf:8: store: memory or redis" "store = disk"
config_error "store = redis without redis_url" "cerr.conf:8: store = redis needs redis_url" "store = redis"
config_error "redis_url with store = memory" "cerr.conf:8: redis_url: only with store = redis" "redis_url = redis://127.0.0.1:6379"
config_error "redis_url: password in the URL" "cerr.conf:9: redis_url: no user, password, query or fragment in the URL (use redis_password_file)" \
	"store = redis" "redis_url = redis://:hunter2@127.0.0.1:6379"
config_error "redis_url: TLS" "cerr.conf:9: redis_url: rediss:// (TLS) is not supported" "store = redis" "redis_url = rediss://127.0.0.1"
config_error "redis_url: other scheme" "cerr.conf:9: redis_url: expected redis://HOST[:PORT][/DB] or unix:/PATH" \
	"store = redis" "redis_url = http://127.0.0.1:6379"
config_error "redis_url: bad database" "cerr.conf:9: redis_url: database number 0..255" "store = redis" "redis_url = redis://127.0.0.1/300"
config_error "redis_url: relative socket" "cerr.conf:9: redis_url: unix: needs an absolute socket path" "store = redis" "redis_url = unix:redis.sock"
config_error "redis_password_file: group-readable" "cerr.conf:10: redis_password_file: $T/weak.secret: mode 0644: must not be accessible by group or others" \
	"store = redis" "redis_url = redis://127.0.0.1" "redis_password_file = $T/weak.secret"
config_error "redis_password_file with store = memory" "cerr.conf:8: redis_password_file: only with store = redis" \
	"redis_password_file = $T/reg.secret"
# The values each key yields, rconf_is_trusted_proxy, rconf_reg_authorized: in C.
out=$(tests/relay/config-unit.sh 2>&1)
rc=$?
last=$(tail -n 1 <<<"$out")
[ $rc -eq 0 ] && grep -q '^[0-9]* passed, 0 failed$' <<<"$last"
check "config: relay/rconf.c unit tests (tests/relay/config_unit.c): $last" $? "$(tail -n 20 <<<"$out")"
# The shipped example, as shipped but for its secret's path and a free metrics port.
sed "s|^registration_secret_file = .*|registration_secret_file = $T/reg.secret|" config/oauth2-pkce-relay.conf >"$T/example.conf"
echo "metrics_listen = 127.0.0.1:0" >>"$T/example.conf"
if grep -q "^registration_secret_file = $T/reg.secret\$" "$T/example.conf" &&
	start_relay "$T/example.conf" "$T/example.log"; then
	kill -TERM "$RPID"
	wait "$RPID"
	ok "the example config/oauth2-pkce-relay.conf loads (rc $?)"
else
	bad "the example config/oauth2-pkce-relay.conf loads" "$(cat "$T/example.log" 2>/dev/null)"
fi
# Positive loads of the new keys (the relay starts with them).
conf "$T/keys.conf" "threads = 2" "trusted_proxies = 127.0.0.1 10.0.0.0/8" "trusted_proxies = ::1 fd00::/8" \
	"registration_secret_file = $T/reg.secret" "registration_secret_file = $T/reg2.secret" "metrics_listen = off"
if start_relay "$T/keys.conf" "$T/keys.log"; then
	kill -TERM "$RPID"
	wait "$RPID"
	ok "config: threads, trusted_proxies, two secrets, metrics_listen = off load (rc $?)"
else
	bad "config: threads, trusted_proxies, two secrets, metrics_listen = off load" "$(cat "$T/keys.log")"
fi
out=$("$RELAY" --bogus 2>&1)
[ $? -eq 2 ]
check "usage error -> exit 2" $? "$out"

# ---- the main relay ------------------------------------------------------------
conf "$T/relay.conf"
LOG=$T/relay.log
start_relay "$T/relay.conf" "$LOG" || give_up "relay did not start" "$(cat "$LOG")"
MAIN_PID=$RPID

req GET /healthz
[ "$st" = 200 ] && [ "$(body)" = ok ]
check "healthz -> 200 ok" $? "$st $(body)"

# ---- registration ---------------------------------------------------------------
new_login 120
[ "$st" = 201 ] && [ ${#ID} -eq 16 ] && [ "$LINK" = "$BASE/l/$ID" ] && grep -q '"expires_in":120' "$T/b"
check "registration happy path -> 201 {id, link, expires_in}" $? "$st $(body)"
grep -qi '^cache-control: no-store' "$T/h"
check "RLY-09 JSON answers carry Cache-Control: no-store" $?

# RLY-01 / RLY-02 / RLY-03: the authorization URL is validated whole.
bad_url() { # NAME URL EXPECTED-ERROR-SUBSTRING [STATE]
	local s=${4:-$(rnd43)}
	register "$(regbody "$s" "$(sha_b64 x)" "$2")"
	if [ "$st" = 400 ] && grep -q "$3" "$T/b"; then ok "$1 -> 400"; else bad "$1 -> 400" "$st $(body)"; fi
}
S=$(rnd43)
C=$(rnd43)
Q="response_type=code&client_id=$CID&redirect_uri=$REDIR_ENC&scope=openid&state=$S&nonce=n&code_challenge=$C&code_challenge_method=S256"
bad_url "RLY-01a other host" "https://evil.example/authorize?$Q" "endpoint" "$S"
bad_url "RLY-01b suffix host" "https://idp.example.com.evil.example/authorize?$Q" "endpoint" "$S"
bad_url "RLY-01c userinfo" "https://idp.example.com@evil.example/authorize?$Q" "endpoint" "$S"
bad_url "RLY-01d scheme-relative" "//evil.example/authorize?$Q" "endpoint" "$S"
bad_url "RLY-01e backslashes" 'https:\\\\evil.example/authorize?'"$Q" "character not allowed" "$S"
bad_url "RLY-01f http" "http://idp.example.com/authorize?$Q" "endpoint" "$S"
bad_url "RLY-01g javascript:" "javascript:alert(1)//?$Q" "endpoint" "$S"
bad_url "RLY-01h other path" "https://idp.example.com/authorize2?$Q" "endpoint" "$S"
bad_url "RLY-01h path prefix" "https://idp.example.com/authorize/../x?$Q" "endpoint" "$S"
bad_url "RLY-01i IDN look-alike (raw)" "https://іdp.example.com/authorize?$Q" "character not allowed" "$S"
bad_url "RLY-01i IDN look-alike (punycode)" "https://xn--dp-jtb.example.com/authorize?$Q" "endpoint" "$S"
bad_url "RLY-01j uppercase host, trailing dot, :443" "https://IDP.EXAMPLE.COM.:443/authorize?$Q" "endpoint" "$S"
bad_url "RLY-01j explicit default port" "https://idp.example.com:443/authorize?$Q" "endpoint" "$S"
bad_url "RLY-02 client_id not allowed" "$EP?${Q/client_id=$CID/client_id=evil}" "client_id not allowed" "$S"
bad_url "RLY-02 redirect_uri other host" "$EP?${Q/$REDIR_ENC/https%3A%2F%2Fevil.example%2Fcallback}" "redirect_uri" "$S"
bad_url "RLY-02 redirect_uri trailing slash" "$EP?${Q/$REDIR_ENC/${REDIR_ENC}%2F}" "redirect_uri" "$S"
bad_url "RLY-02 redirect_uri http" "$EP?${Q/$REDIR_ENC/http%3A%2F%2Frelay.example.org%2Fcallback}" "redirect_uri" "$S"
bad_url "RLY-02 response_type token" "$EP?${Q/response_type=code/response_type=token}" "response_type" "$S"
bad_url "RLY-02 plain challenge method" "$EP?${Q/method=S256/method=plain}" "S256" "$S"
bad_url "RLY-02 missing code_challenge_method" "$EP?${Q/&code_challenge_method=S256/}" "missing" "$S"
bad_url "RLY-02 state mismatch" "$EP?$Q" "state differs" "$(rnd43)"
bad_url "RLY-02 fragment" "$EP?$Q#frag" "fragment" "$S"
bad_url "RLY-02 duplicated parameter" "$EP?$Q&client_id=$CID" "duplicated" "$S"
bad_url "RLY-02 duplicated parameter (percent-encoded name)" "$EP?$Q&%72edirect_uri=https%3A%2F%2Fevil.example%2F" "duplicated" "$S"
bad_url "RLY-02 request object refused" "$EP?$Q&request=eyJhbGciOiJub25lIn0.e30." "not allowed" "$S"
bad_url "RLY-02 response_mode refused" "$EP?$Q&response_mode=fragment" "not allowed" "$S"
bad_url "RLY-02 scope without openid" "$EP?${Q/scope=openid/scope=profile}" "openid" "$S"
bad_url "RLY-02 nonce missing" "$EP?${Q/&nonce=n/}" "missing" "$S"
bad_url "RLY-02 short code_challenge" "$EP?${Q/code_challenge=$C/code_challenge=abc}" "code_challenge" "$S"
bad_url "RLY-02 no query" "$EP" "no query" "$S"
bad_url "RLY-03 CRLF" "$EP?$Q\\r\\nSet-Cookie: x=1" "character not allowed" "$S"
bad_url "RLY-03 encoded CRLF in a value" "$EP?$Q&login_hint=a%0D%0ASet-Cookie:x" "control" "$S"
bad_url "RLY-03 space" "$EP?$Q&login_hint=a b" "character not allowed" "$S"
register "$(regbody "$S" "$(sha_b64 x)" "$EP?$Q&login_hint=a\\u0000b")"
[ "$st" = 400 ]
check "RLY-03 NUL -> 400" $? "$st $(body)"
LONG=$(head -c 2100 /dev/zero | tr '\0' a)
bad_url "RLY-03 longer than 2048 bytes" "$EP?$Q&login_hint=$LONG" "2048" "$S"
URL2049=$(mkurl "$S" "$C" "&login_hint=")
URL2049="$URL2049$(head -c $((2048 - ${#URL2049})) /dev/zero | tr '\0' b)"
register "$(regbody "$S" "$(sha_b64 x)" "$URL2049")"
[ "$st" = 201 ] && [ ${#URL2049} -eq 2048 ]
check "RLY-03 exactly 2048 bytes accepted" $? "$st ${#URL2049} $(body)"
S2=$(rnd43)
register "$(regbody "$S2" "$(sha_b64 x)" "$(mkurl "$S2" "$C" "" "$EP2")")"
[ "$st" = 201 ]
check "RLY-01 second allowed endpoint (with port and path) accepted" $? "$st $(body)"

# RLY-05: input limits, before anything touches the store.
S=$(rnd43)
GOOD=$(regbody "$S" "$(sha_b64 x)" "$(mkurl "$S" "$C")")
BIG="${GOOD%\}},\"x\":\"$(head -c 17000 /dev/zero | tr '\0' a)\"}"
register "$BIG"
[ "$st" = 413 ]
check "RLY-05 body > 16 KiB -> 413" $? "$st $(body)"
curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
	--data-binary "$BIG" "http://127.0.0.1:$PORT/v1/sessions" >"$T/chunked" 2>/dev/null
[ "$(cat "$T/chunked")" != 201 ]
check "RLY-23 chunked body > 16 KiB -> refused (connection closed)" $? "$(cat "$T/chunked")"
rl5() { # NAME BODY [CTYPE] [STATUS]
	req POST /v1/sessions -H "Content-Type: ${3:-application/json}" --data-binary "$2"
	if [ "$st" = "${4:-400}" ]; then ok "$1 -> ${4:-400}"; else bad "$1 -> ${4:-400}" "$st $(body)"; fi
}
rl5 "RLY-05 not JSON" "state=$S"
rl5 "RLY-05 truncated JSON" "${GOOD%\}}"
rl5 "RLY-05 trailing garbage" "$GOOD x"
rl5 "RLY-05 JSON array" "[$GOOD]"
rl5 "RLY-05 missing poll_secret_sha256" "$(regbody "$S" "" "$(mkurl "$S" "$C")" | sed 's/"poll_secret_sha256":"",//')"
rl5 "RLY-05 missing context" "$(printf '{"state":"%s","poll_secret_sha256":"%s","ttl":60,"authorization_url":"%s"}' "$S" "$(sha_b64 x)" "$(mkurl "$S" "$C")")"
rl5 "RLY-05 state 42 characters" "$(regbody "${S:0:42}" "$(sha_b64 x)" "$(mkurl "${S:0:42}" "$C")")"
rl5 "RLY-05 state with bad characters" "$(regbody "${S:0:42}+" "$(sha_b64 x)" "$(mkurl "${S:0:42}%2B" "$C")")"
rl5 "RLY-05 poll hash as 64 hex" "$(regbody "$S" "$(printf x | sha256sum | cut -c1-64)" "$(mkurl "$S" "$C")")"
rl5 "RLY-05 unknown key" "${GOOD%\}},\"extra\":1}"
rl5 "RLY-05 duplicate key" "${GOOD%\}},\"state\":\"$S\"}"
rl5 "RLY-05 case-shadowed duplicate key" "${GOOD%\}},\"STATE\":\"$S\"}"
rl5 "RLY-05 ttl as string" "$(regbody "$S" "$(sha_b64 x)" "$(mkurl "$S" "$C")" '"60"')"
rl5 "RLY-05 ttl 0" "$(regbody "$S" "$(sha_b64 x)" "$(mkurl "$S" "$C")" 0)"
rl5 "RLY-07 ttl in the past (negative)" "$(regbody "$S" "$(sha_b64 x)" "$(mkurl "$S" "$C")" -5)"
rl5 "RLY-05 ttl fractional" "$(regbody "$S" "$(sha_b64 x)" "$(mkurl "$S" "$C")" 1.5)"
rl5 "RLY-05 confirm_code not digits" "${GOOD%\}},\"confirm_code\":\"12ab\"}"
rl5 "RLY-05 confirm_code too short" "${GOOD%\}},\"confirm_code\":\"123\"}"
rl5 "RLY-05 confirm_code as number" "${GOOD%\}},\"confirm_code\":123456}"
rl5 "XD-03 context user with control character" "$(regbody "$S" "$(sha_b64 x)" "$(mkurl "$S" "$C")" 60 "" '{"host":"h","service":"sshd","user":"a\u001bb"}')"
rl5 "XD-03 context rhost with bidi override" "$(regbody "$S" "$(sha_b64 x)" "$(mkurl "$S" "$C")" 60 "" '{"host":"h","service":"sshd","user":"a","rhost":"\u202eelpmaxe"}')"
# XD-03: invisible, format, filler and variation-selector characters, as JSON
# escapes (U+E0041 as a surrogate pair) and as raw UTF-8, each -> 400.
for cp in '\u2060' '\u00ad' '\u3164' '\udb40\udc41' '\ufe0f' '\u180e' '\u115f' '\u00a0'; do
	rl5 "XD-03 context user with invisible $cp" "$(regbody "$S" "$(sha_b64 x)" "$(mkurl "$S" "$C")" 60 "" "{\"host\":\"h\",\"service\":\"sshd\",\"user\":\"a${cp}b\"}")"
done
rl5 "XD-03 context rhost with U+2060 U+00AD U+3164 U+E0041 U+FE0F (raw UTF-8)" "$(regbody "$S" "$(sha_b64 x)" "$(mkurl "$S" "$C")" 60 "" "$(printf '{"host":"h","service":"sshd","user":"a","rhost":"x\xe2\x81\xa0\xc2\xad\xe3\x85\xa4\xf3\xa0\x81\x81\xef\xb8\x8fy"}')")"
grep -qF "context: control, invisible or bidirectional characters not allowed" "$T/b"
check "XD-03 refusal names the rule" $? "$(body)"
S3=$(rnd43)
register "$(regbody "$S3" "$(sha_b64 x)" "$(mkurl "$S3" "$C")" 60 "" "$(printf '{"host":"h","service":"sshd","user":"Jos\xc3\xa9 \xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd","rhost":"\xe5\xb1\xb1\xe7\x94\xb0.example \xf0\x9f\x98\x80"}')")"
[ "$st" = 201 ]
check "XD-03 context with Latin, Cyrillic, CJK and emoji text accepted" $? "$st $(body)"
rl5 "XD-03 context value over 128 bytes" "$(regbody "$S" "$(sha_b64 x)" "$(mkurl "$S" "$C")" 60 "" "{\"host\":\"$(head -c 129 /dev/zero | tr '\0' h)\",\"service\":\"sshd\",\"user\":\"a\"}")"
rl5 "XD-03 context unknown member" "$(regbody "$S" "$(sha_b64 x)" "$(mkurl "$S" "$C")" 60 "" '{"host":"h","service":"sshd","user":"a","ruser":"x"}')"
rl5 "XD-03 context user missing" "$(regbody "$S" "$(sha_b64 x)" "$(mkurl "$S" "$C")" 60 "" '{"host":"h","service":"sshd"}')"
rl5 "RLY-05 invalid UTF-8" "$(regbody "$S" "$(sha_b64 x)" "$(mkurl "$S" "$C")" 60 "" "$(printf '{"host":"h\xff","service":"sshd","user":"a"}')")"
rl5 "RLY-05 wrong Content-Type" "$GOOD" "text/plain" 415
req GET /v1/sessions
[ "$st" = 405 ]
check "GET /v1/sessions -> 405" $? "$st"
register "$GOOD"
[ "$st" = 201 ]
check "RLY-05 the same body, well-formed, is accepted" $? "$st $(body)"

# RLY-06: duplicate state -> 409, first untouched.
new_login 120
FIRST_ID=$ID FIRST_STATE=$STATE FIRST_SECRET=$SECRET
register "$(regbody "$STATE" "$(sha_b64 other)" "$URL" 60)"
st409=$st
req GET "/l/$FIRST_ID"
stl=$st
poll "$FIRST_STATE" "$FIRST_SECRET"
[ "$st409" = 409 ] && [ "$stl" = 200 ] && [ "$st" = 200 ] && grep -q '"status":"pending"' "$T/b"
check "RLY-06 duplicate state -> 409, first session untouched" $? "$st409 $stl $st $(body)"

# RLY-07: TTL clamped to max_ttl.
new_login 900
grep -q '"expires_in":300' "$T/b"
check "RLY-07 ttl 900 clamped to max_ttl 300" $? "$(body)"
new_login 1e12
[ "$st" = 201 ] && grep -q '"expires_in":300' "$T/b"
check "RLY-07 ttl 1e12 clamped to max_ttl 300" $? "$st $(body)"

# ---- the context page (XD-01, XD-03, RLY-14, XD-05) ------------------------------------
STATE=$(rnd43) SECRET=$(rnd43) CHAL=$(rnd43)
URL=$(mkurl "$STATE" "$CHAL" "&login_hint=a%40b.example&prompt=login")
register "$(regbody "$STATE" "$(sha_b64 "$SECRET")" "$URL" 120 "" \
	'{"host":"web1.example.org","service":"sudo","user":"<b>root</b>","rhost":"\"><script>alert(1)</script>"}')"
ID=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$T/b")
ALL_SECRETS+=("$STATE" "$SECRET")
req GET "/l/$ID"
cp "$T/b" "$T/ctx.html"
[ "$st" = 200 ] && grep -q 'web1.example.org' "$T/b" && grep -q '>sudo<' "$T/b" &&
	grep -q '&lt;b&gt;root&lt;/b&gt;' "$T/b" && grep -q '&quot;&gt;&lt;script&gt;' "$T/b" &&
	! grep -q '<script' "$T/b" && ! grep -q '<b>root' "$T/b" && grep -q 'Link expires in' "$T/b"
check "XD-01/XD-03 context page shows host, account, service, origin, expiry; escaped" $? "$(body)"
grep -q 'name="continue"' "$T/b" && grep -q 'Continue to sign in' "$T/b" && grep -q 'name="deny"' "$T/b" &&
	grep -q "This wasn't me" "$T/b" && grep -q 'type="hidden" name="csrf" value="[A-Za-z0-9_-]\{43\}"' "$T/b" &&
	grep -q "method=\"post\" action=\"$BASE/l/$ID\"" "$T/b"
check "XD-01 one form: continue + deny buttons, hidden csrf, posting to /l/<id>" $?
CSRF=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$T/ctx.html")
for i in 1 2 3; do req GET "/l/$ID"; req HEAD "/l/$ID"; done
[ "$st" = 200 ]
HEAD_ST=$st
req HEAD /callback
HEADCB=$st
poll "$STATE" "$SECRET"
grep -q '"status":"pending"' "$T/b" && [ "$HEADCB" = 405 ]
check "RLY-14 GET/HEAD /l/ and HEAD /callback change nothing" $? "$HEAD_ST $HEADCB $(body)"
req POST "/l/$ID" --data "csrf=$(rnd43)&continue=1"
[ "$st" = 403 ]
check "bad csrf -> 403" $? "$st"
req POST "/l/$ID" --data "continue=1"
[ "$st" = 400 ]
check "missing csrf -> 400" $? "$st"
req POST "/l/$ID" --data "csrf=$CSRF&continue=1&deny=1"
[ "$st" = 400 ]
check "continue and deny together -> 400" $? "$st"
req POST "/l/$ID" -H 'Content-Type: text/plain' --data "csrf=$CSRF&continue=1"
[ "$st" = 415 ]
check "form with wrong Content-Type -> 415" $? "$st"
req POST "/l/$ID" --data "csrf=$CSRF&continue=1&pad=$(head -c 2000 /dev/zero | tr '\0' a)"
[ "$st" = 413 ]
check "form body over 1 KiB -> 413" $? "$st"
locs=0 loc_ok=0
for i in 1 2 3; do
	req POST "/l/$ID" --data "csrf=$CSRF&continue=1"
	loc=$(tr -d '\r' <"$T/h" | sed -n 's/^[Ll]ocation: //p')
	[ "$st" = 302 ] && locs=$((locs + 1))
	[ "$loc" = "$URL" ] && loc_ok=$((loc_ok + 1))
done
grep -qi '^cache-control: no-store' "$T/h"
nostore=$?
[ $locs -eq 3 ] && [ $loc_ok -eq 3 ] && [ $nostore -eq 0 ]
check "RLY-14/RLY-03 POST continue -> 302, Location byte-identical, no-store (3 times)" $? "locs=$locs loc_ok=$loc_ok"
req POST "/l/$ID" --data "csrf=$CSRF&continue=1"
[ "$st" = 410 ]
check "XD-05 4th continue -> 410" $? "$st"
req GET "/l/$ID"
[ "$st" = 410 ]
check "XD-05 used-up link page -> 410" $? "$st"

# XD-02: deny.
new_login 120
CSRF=$(csrf_of "$ID")
bg_poll "$STATE" "$SECRET" 10 "$T/deny.poll"
sleep 0.3
t0=$(now_ns)
req POST "/l/$ID" --data "csrf=$CSRF&deny=1"
DENY_ST=$st
grep -q "Login refused. You can close this page." "$T/b"
DENY_TXT=$?
wait $!
lat=$((($(cat "$T/deny.poll.end") - t0) / 1000000))
[ "$DENY_ST" = 200 ] && [ $DENY_TXT -eq 0 ] && grep -q '"status":"denied"' "$T/deny.poll" && [ $lat -lt 500 ]
check "XD-02 deny -> 'Login refused' page; waiting poll says denied at once (${lat} ms)" $? "$DENY_ST $(cat "$T/deny.poll")"
req POST "/l/$ID" --data "csrf=$CSRF&continue=1"
[ "$st" = 404 ] || [ "$st" = 410 ]
check "XD-02 the link is dead after deny" $? "$st"

# ---- callbacks (RLY-11/12/13, XD-06/07) --------------------------------------------
new_login 120 ',"confirm_code":"482913"'
CODE1="c0de-$(rnd43)"
callback "code=$CODE1&state=$STATE&iss=https%3A%2F%2Fidp.example.com"
cp "$T/b" "$T/cb1.html"
[ "$st" = 200 ] && grep -q '482913' "$T/b" && ! grep -q "$CODE1" "$T/b"
check "XD-06 first callback page shows the confirmation code (and not the code)" $? "$st $(body)"
req GET "/l/$ID"
[ "$st" = 410 ]
check "context page after the callback -> 410" $? "$st"
callback "code=$CODE1&state=$STATE&iss=https%3A%2F%2Fidp.example.com"
[ "$st" = 409 ] && ! grep -q '482913' "$T/b" && grep -q "already used" "$T/b"
check "XD-07 reload: 'already used', confirmation code never shown again" $? "$st $(body)"
poll "$STATE" "$SECRET"
cp "$T/b" "$T/p1"
[ "$st" = 200 ] && grep -q "\"status\":\"code\",\"code\":\"$CODE1\",\"iss\":\"https://idp.example.com\"" "$T/b" &&
	! grep -q 482913 "$T/b"
check "RLY-15 poll returns code + iss verbatim (reload did not poison; no confirm code)" $? "$st $(body)"
poll "$STATE" "$SECRET"
[ "$st" = 404 ]
check "RLY-18 single hand-out: second poll -> 404" $? "$st $(body)"
callback "code=$CODE1&state=$STATE"
[ "$st" = 404 ]
check "callback after hand-out -> generic 404 page" $? "$st"

new_login 120 ',"confirm_code":"771199"'
callback "code=junk&state=$STATE"
grep -q 771199 "$T/b"
PREFETCH=$?
callback "code=victim-code&state=$STATE&iss=https%3A%2F%2Fidp.example.com"
[ "$st" = 409 ] && ! grep -q 771199 "$T/b"
SECOND=$?
poll "$STATE" "$SECRET"
[ $PREFETCH -eq 0 ] && [ $SECOND -eq 0 ] && grep -q '"status":"conflict"' "$T/b" && ! grep -q 'junk\|victim' "$T/b"
check "RLY-12/XD-07 second, different callback -> 'already used' page, poll says conflict, no code" $? "$st $(body)"

new_login 120
callback "error=access_denied&error_description=User+cancelled&state=$STATE"
[ "$st" = 200 ] && grep -q "not completed" "$T/b" && ! grep -q "cancelled" "$T/b"
cbst=$?
poll "$STATE" "$SECRET"
[ $cbst -eq 0 ] && grep -q '"status":"error","error":"access_denied","error_description":"User cancelled"' "$T/b"
check "error callback -> static page; poll says error + description" $? "$(body)"

# RLY-11: reflected XSS.
new_login 120
XSS_ERR='%3Cscript%3Ealert(1)%3C%2Fscript%3E'
XSS_DESC='%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E'
callback "error=$XSS_ERR&error_description=$XSS_DESC&error_uri=javascript%3Aalert(1)&state=%3Csvg%20onload%3Dalert(1)%3E"
x1=$st
grep -qi 'script\|onerror\|javascript\|svg\|alert' "$T/b"
r1=$?
grep -qi '^content-type: text/html; charset=utf-8' "$T/h"
c1=$?
callback "error=$XSS_ERR&error_description=$XSS_DESC&error_uri=javascript%3Aalert(1)&state=$STATE"
x2=$st
grep -qi 'script\|onerror\|javascript\|svg\|alert\|img' "$T/b"
r2=$?
[ "$x1" = 400 ] && [ $r1 -ne 0 ] && [ $c1 -eq 0 ] && [ "$x2" = 200 ] && [ $r2 -ne 0 ]
check "RLY-11 callback input never reflected (bad state 400, good state 200)" $? "$x1 $x2 $(body)"
poll "$STATE" "$SECRET"
grep -q '"error":"<script>alert(1)</script>"' "$T/b" && grep -qi '^content-type: application/json' "$T/h"
check "RLY-11 the IdP's error travels only in JSON to the helper" $? "$(body)"

# RLY-13: callback parameter hygiene.
new_login 120
rl13() { # NAME QUERY
	callback "$2"
	if [ "$st" = 400 ]; then ok "$1 -> 400"; else bad "$1 -> 400" "$st"; fi
}
rl13 "RLY-13 duplicated code" "code=a&code=b&state=$STATE"
rl13 "RLY-13 duplicated state" "code=a&state=$STATE&state=$STATE"
rl13 "RLY-13 missing state" "code=a"
rl13 "RLY-13 code and error together" "code=a&error=x&state=$STATE"
rl13 "RLY-13 neither code nor error" "state=$STATE&iss=x"
rl13 "RLY-13 code over 2048 bytes" "code=$(head -c 2049 /dev/zero | tr '\0' c)&state=$STATE"
rl13 "RLY-13 non-printable code" "code=a%01b&state=$STATE"
rl13 "RLY-13 non-ASCII code" "code=a%C3%A9&state=$STATE"
rl13 "RLY-13 NUL in code" "code=a%00b&state=$STATE"
rl13 "RLY-13 bad escape" "code=a%zz&state=$STATE"
rl13 "RLY-13 empty code" "code=&state=$STATE"
rl13 "RLY-13 no query" ""
poll "$STATE" "$SECRET"
grep -q '"status":"pending"' "$T/b"
check "RLY-13 malformed callbacks left the session pending" $? "$(body)"
callback "code=$(head -c 2048 /dev/zero | tr '\0' c)&state=$STATE&session_state=abc"
[ "$st" = 200 ]
check "RLY-13 code of exactly 2048 bytes + an extra IdP parameter accepted" $? "$st"

# RLY-13/RLY-07: unknown vs expired: byte-identical, and everything 404 after expiry.
new_login 1
EXP_ID=$ID EXP_STATE=$STATE EXP_SECRET=$SECRET
sleep 2
callback "code=abc&state=$EXP_STATE"
snap cb_expired
callback "code=abc&state=$(rnd43)"
snap cb_unknown
cmp -s "$T/snap.cb_expired" "$T/snap.cb_unknown" && [ "$st" = 404 ]
check "RLY-13 callback: unknown and expired state byte-identical (404)" $? "$(diff "$T/snap.cb_expired" "$T/snap.cb_unknown")"
req GET "/l/$EXP_ID"
snap l_expired
req GET "/l/$(rnd43 | cut -c1-16)"
snap l_unknown
cmp -s "$T/snap.l_expired" "$T/snap.l_unknown" && [ "$st" = 404 ]
check "RLY-07 /l/: expired and unknown id byte-identical (404)" $? "$(diff "$T/snap.l_expired" "$T/snap.l_unknown")"
poll "$EXP_STATE" "$EXP_SECRET"
snap p_expired
poll "$(rnd43)" "$EXP_SECRET"
snap p_unknown
cmp -s "$T/snap.p_expired" "$T/snap.p_unknown" && [ "$st" = 404 ]
check "RLY-07 poll: expired and unknown state identical (404)" $? "$(diff "$T/snap.p_expired" "$T/snap.p_unknown")"
req POST "/l/$EXP_ID" --data "csrf=$(rnd43)&continue=1"
[ "$st" = 404 ]
check "RLY-07 continue after expiry -> 404" $? "$st"
req GET /no/such/path
snap other
sed 1d "$T/snap.other" | cmp -s - <(sed 1d "$T/snap.l_unknown")
check "unknown path -> the same generic 404 page" $?

# RLY-17: poll authentication without an oracle.
new_login 120
poll "$STATE" ""
snap p_missing
poll "$STATE" "$(rnd43)"
snap p_wrong
poll "$(rnd43)" "$SECRET"
snap p_unknown2
req GET "/v1/sessions/$STATE" -H "Authorization: Basic $(printf 'a:%s' "$SECRET" | base64 -w0)"
snap p_basic
poll "short" "$SECRET"
snap p_short
cmp -s "$T/snap.p_missing" "$T/snap.p_wrong" && cmp -s "$T/snap.p_wrong" "$T/snap.p_unknown2" &&
	cmp -s "$T/snap.p_wrong" "$T/snap.p_basic" && cmp -s "$T/snap.p_wrong" "$T/snap.p_short" &&
	head -n1 "$T/snap.p_wrong" | grep -q 404
check "RLY-17 missing/wrong/Basic bearer identical to unknown state (404)" $? "$(diff "$T/snap.p_missing" "$T/snap.p_unknown2")"
poll "$STATE" "$SECRET"
grep -q '"status":"pending"' "$T/b"
check "RLY-17 right secret -> pending" $? "$(body)"
for q in "wait=-1" "wait=abc" "wait=1&wait=2" "wait=" "other=1" "wait=1&x=2"; do
	req GET "/v1/sessions/$STATE?$q" -H "Authorization: Bearer $SECRET"
	[ "$st" = 400 ] || break
done
[ "$st" = 400 ]
check "RLY-21 bad wait (-1, abc, twice, empty, unknown parameter) -> 400" $? "$q $st"
req HEAD "/v1/sessions/$STATE" -H "Authorization: Bearer $SECRET"
[ "$st" = 405 ]
check "HEAD on the poll -> 405" $? "$st"

# RLY-18: 20 concurrent pollers.
new_login 120
callback "code=the-only-code&state=$STATE"
cpids=()
for i in $(seq 20); do
	curl -s --max-time 20 -H "Authorization: Bearer $SECRET" \
		"http://127.0.0.1:$PORT/v1/sessions/$STATE" >"$T/cc.$i" &
	cpids+=($!)
done
wait "${cpids[@]}"
n=$(grep -l '"code":"the-only-code"' "$T"/cc.* | wc -l)
n404=$(grep -l '"error":"not found"' "$T"/cc.* | wc -l)
[ "$n" -eq 1 ] && [ "$n404" -eq 19 ]
check "RLY-18 20 concurrent pollers after the callback: exactly one gets the code" $? "code=$n 404=$n404"
new_login 120
cpids=()
for i in $(seq 20); do
	curl -s --max-time 20 -H "Authorization: Bearer $SECRET" \
		"http://127.0.0.1:$PORT/v1/sessions/$STATE?wait=10" >"$T/cw.$i" &
	cpids+=($!)
done
sleep 0.5
callback "code=the-long-code&state=$STATE"
wait "${cpids[@]}"
n=$(grep -l '"code":"the-long-code"' "$T"/cw.* | wc -l)
nother=$(grep -L '"code":"the-long-code"' "$T"/cw.* | xargs grep -l '"status":"pending"\|"error":"not found"' | wc -l)
[ "$n" -eq 1 ] && [ "$nother" -eq 19 ]
check "RLY-18 20 concurrent long-pollers: exactly one gets the code (others pending/404)" $? "code=$n other=$nother"

# Long-poll: wakes the moment the callback lands; pending after wait=N.
lats=()
for run in 1 2 3 4 5; do
	new_login 120
	bg_poll "$STATE" "$SECRET" 10 "$T/lp.out"
	sleep 0.5
	t0=$(now_ns)
	curl -s -o /dev/null "http://127.0.0.1:$PORT/callback?code=lp$run&state=$STATE"
	wait $!
	lats+=($((($(cat "$T/lp.out.end") - t0) / 1000000)))
	grep -q "\"code\":\"lp$run\"" "$T/lp.out" || lats+=(99999)
done
max=0
for l in "${lats[@]}"; do [ "$l" -gt $max ] && max=$l; done
[ $max -lt 200 ]
check "long-poll (wait=10) returns < 200 ms after the callback: ${lats[*]} ms" $? "${lats[*]}"
echo "     long-poll wake latency (callback sent -> poll answered): ${lats[*]} ms"
new_login 120
t0=$(now_ns)
poll "$STATE" "$SECRET" 1
dt=$((($(now_ns) - t0) / 1000000))
grep -q '"status":"pending"' "$T/b" && [ $dt -ge 950 ] && [ $dt -lt 1500 ]
check "long-poll wait=1 without a callback -> pending after ~1 s (${dt} ms)" $? "$dt $(body)"
new_login 1
t0=$(now_ns)
poll "$STATE" "$SECRET" 10
dt=$((($(now_ns) - t0) / 1000000))
grep -q '"status":"expired"' "$T/b" && [ $dt -lt 1600 ]
check "RLY-21 long-poll on a session that expires meanwhile -> expired (${dt} ms)" $? "$dt $(body)"

# ---- headers and methods (RLY-09, RLY-10, RLY-24) ------------------------------------
CSP_WANT="Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https://idp.example.com https://login.example.net:8443; frame-ancestors 'none'; base-uri 'none'"
html_ok() { # NAME: checks the last response's headers and body
	local h
	h=$(hdrs)
	grep -qi '^content-type: text/html; charset=utf-8$' <<<"$h" &&
		grep -qxF "$CSP_WANT" <<<"$h" &&
		grep -qi '^x-frame-options: DENY$' <<<"$h" &&
		grep -qi '^referrer-policy: no-referrer$' <<<"$h" &&
		grep -qi '^cache-control: no-store$' <<<"$h" &&
		grep -qi '^x-content-type-options: nosniff$' <<<"$h" &&
		! grep -qi '^access-control-' <<<"$h" &&
		! grep -qiE '<script|<img|<link|<iframe|<object|src=|href=|@import|url\(' "$T/b" &&
		! grep -oE 'https?://[^"<> ]*' "$T/b" | grep -qv "^$BASE/"
}
new_login 120 ',"confirm_code":"5555"'
CSRF=$(csrf_of "$ID")
pages=0 pages_ok=0 failed_pages=""
page() { # NAME METHOD PATH [curl args]
	local name=$1
	shift
	req "$@" -H "Origin: https://evil.example"
	[ "$1" = HEAD ] && : >"$T/b" # curl --head writes the headers there
	pages=$((pages + 1))
	if html_ok; then pages_ok=$((pages_ok + 1)); else failed_pages="$failed_pages $name($st)"; fi
}
page context GET "/l/$ID"
page context-head HEAD "/l/$ID"
page forbidden POST "/l/$ID" --data "csrf=$(rnd43)&continue=1"
page badform POST "/l/$ID" --data "x=1"
page media POST "/l/$ID" -H 'Content-Type: text/plain' --data "x=1"
page toolarge POST "/l/$ID" --data "x=$(head -c 2000 /dev/zero | tr '\0' a)"
page confirm GET "/callback?code=hdr&state=$STATE"
page used GET "/callback?code=hdr2&state=$STATE"
page gone GET "/l/$ID"
page notfound GET "/l/AAAAAAAAAAAAAAAA"
page badreq GET "/callback?state=x"
page unknown-state GET "/callback?code=x&state=$(rnd43)"
page method-head-callback HEAD "/callback?code=x&state=$(rnd43)"
page method-trace TRACE /l/x
page other GET /x
new_login 120
page cb-done GET "/callback?code=x&state=$STATE"
new_login 120
page cb-error GET "/callback?error=access_denied&state=$STATE"
new_login 120
page denied POST "/l/$ID" --data "csrf=$(csrf_of "$ID")&deny=1"
[ $pages -eq $pages_ok ]
check "RLY-09/RLY-10 security headers and no external content on all $pages HTML responses" $? "failed:$failed_pages"

new_login 120
req POST "/l/$ID" --data "csrf=$(csrf_of "$ID")&continue=1"
hdrs | grep -qi '^cache-control: no-store$' && hdrs | grep -qi '^referrer-policy: no-referrer$'
check "RLY-09 302 from /l/ carries no-store and no-referrer" $?

acao=0
for p in /healthz "/l/$ID" "/v1/sessions/$STATE" /callback /v1/sessions; do
	for m in GET OPTIONS POST; do
		req "$m" "$p" -H "Origin: https://evil.example" -H "Access-Control-Request-Method: POST"
		hdrs | grep -qi '^access-control-' && acao=$((acao + 1))
	done
done
[ $acao -eq 0 ]
check "RLY-24 no CORS headers on any answer, preflights included" $? "$acao"
req OPTIONS /v1/sessions -H "Origin: https://evil.example" -H "Access-Control-Request-Method: POST"
o=$st
req TRACE /healthz
t=$st
req PUT /v1/sessions
u=$st
req DELETE "/l/$ID"
d=$st
[ "$o" = 405 ] && [ "$t" = 405 ] && [ "$u" = 405 ] && [ "$d" = 405 ]
check "RLY-24 OPTIONS, TRACE, PUT, DELETE -> 405" $? "$o $t $u $d"
req POST /callback --data "code=x&state=$STATE"
[ "$st" = 405 ]
check "POST /callback -> 405 (no form_post)" $? "$st"

# RLY-30: ids and enumeration.
idok=1
for i in "${ALL_IDS[@]}"; do [[ "$i" =~ ^[A-Za-z0-9_-]{16}$ ]] || idok=0; done
uniq=$(printf '%s\n' "${ALL_IDS[@]}" | sort | uniq -d | wc -l)
[ $idok -eq 1 ] && [ "$uniq" -eq 0 ] && [ ${#ALL_IDS[@]} -gt 20 ]
check "RLY-30 ${#ALL_IDS[@]} ids: 16 base64url characters (96 bits), all distinct" $?
: >"$T/enum.cfg"
: >"$T/enum50.cfg"
# 1000 random ids from one process (4000 small ones take minutes on a busy machine)
python3 - "$PORT" "$T/enum.cfg" "$T/enum50.cfg" <<'PY'
import base64, os, sys
port, allf, f50 = sys.argv[1], sys.argv[2], sys.argv[3]
with open(allf, "w") as a, open(f50, "w") as b:
    for i in range(1000):
        u = 'url = "http://127.0.0.1:%s/l/%s"' % (port, base64.urlsafe_b64encode(os.urandom(12)).decode())
        a.write(u + '\noutput = "/dev/null"\n')
        if i < 50:
            b.write(u + "\n")
PY
curl -s -K "$T/enum.cfg" -w '%{http_code}\n' >"$T/enum.codes"
curl -s -K "$T/enum50.cfg" >"$T/enum.bodies"
req GET "/l/$(rnd43 | cut -c1-16)"
for i in $(seq 50); do cat "$T/b"; done >"$T/enum.want"
[ "$(sort -u "$T/enum.codes")" = 404 ] && [ "$(wc -l <"$T/enum.codes")" -eq 1000 ] &&
	cmp -s "$T/enum.bodies" "$T/enum.want"
check "RLY-30 1000 random /l/ ids: all 404, bodies identical" $? "$(sort "$T/enum.codes" | uniq -c)"

# ---- keep-alive and pipelining ----------------------------------------------------------------
# 1400 requests in one write on one connection: every one answered, in order
# (the core answers pipelined requests in a loop; a body-less GET, then the
# next), and a request after a framing error on the same connection is never
# read.
out=$(python3 - "$PORT" <<'PY'
import re, socket, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port)); s.settimeout(10)
reqs = b"".join(b"GET /%s HTTP/1.1\r\nHost: r\r\n\r\n" % (b"healthz" if i % 2 == 0 else b"nope")
                for i in range(1400))
s.sendall(reqs)
data = b""
while data.count(b"HTTP/1.1 ") < 1400:
    d = s.recv(1 << 20)
    if not d:
        break
    data += d
codes = re.findall(rb"HTTP/1\.1 ([0-9]{3}) [A-Z]", data)
want = [b"200" if i % 2 == 0 else b"404" for i in range(1400)]
t = socket.create_connection(("127.0.0.1", port)); t.settimeout(5)
t.sendall(b"GET /healthz HTTP/1.1\r\nHost: r\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nX"
          b"GET /healthz HTTP/1.1\r\nHost: r\r\n\r\n")
rest = b""
try:
    while True:
        d = t.recv(65536)
        if not d:
            break
        rest += d
except socket.timeout:
    rest += b"TIMEOUT"
print("pipelined=%s framing=%d/%s" % (codes == want, rest.count(b"HTTP/1.1 "),
      rest.split(b" ")[1].decode() if rest.startswith(b"HTTP/1.1 ") else "-"))
PY
)
[ "$out" = "pipelined=True framing=1/400" ]
check "keep-alive: 1400 pipelined requests answered in order; after a framing error (two Content-Length) one 400 and the connection closed" $? "$out"

# ---- registration secret (RLY-04) and capacity (RLY-08) --------------------------------
conf "$T/secret.conf" "registration_secret_file = $T/reg.secret" "max_sessions = 2"
MAIN_PORT=$PORT
start_relay "$T/secret.conf" "$T/relay2.log" || give_up "relay did not start" "$(cat "$T/relay2.log")"
SEC_PID=$RPID
S=$(rnd43)
B1=$(regbody "$S" "$(sha_b64 x)" "$(mkurl "$S" "$C")")
register "$B1"
a=$st
grep -qi '^www-authenticate: Bearer' "$T/h"
wa=$?
register "$B1" -H "Authorization: Bearer $(rnd43)"
b=$st
register "$B1" -H "Authorization: Bearer ${REGSEC}x"
c=$st
register "$B1" -H "Authorization: Bearer $REGSEC"
d=$st
[ "$a" = 401 ] && [ $wa -eq 0 ] && [ "$b" = 401 ] && [ "$c" = 401 ] && [ "$d" = 201 ]
check "RLY-04 registration secret: none/wrong -> 401, right -> 201" $? "$a $b $c $d"
S=$(rnd43)
register "$(regbody "$S" "$(sha_b64 x)" "$(mkurl "$S" "$C")")" -H "Authorization: Bearer $REGSEC"
S=$(rnd43)
register "$(regbody "$S" "$(sha_b64 x)" "$(mkurl "$S" "$C")")" -H "Authorization: Bearer $REGSEC"
[ "$st" = 503 ] && grep -q "too many" "$T/b"
check "RLY-08 beyond max_sessions -> 503" $? "$st $(body)"

kill -TERM "$SEC_PID"
wait "$SEC_PID"
rc=$?
[ $rc -eq 0 ]
check "second relay stops cleanly on SIGTERM" $? "rc=$rc"

# Several credentials at once (rotation, one per host group), then rotated.
reg_st() { # [TOKEN]: status of a fresh registration
	local s
	s=$(rnd43)
	register "$(regbody "$s" "$(sha_b64 x)" "$(mkurl "$s" "$C")")" ${1:+-H "Authorization: Bearer $1"}
	echo "$st"
}
conf "$T/two.conf" "registration_secret_file = $T/reg.secret" "registration_secret_file = $T/reg2.secret"
start_relay "$T/two.conf" "$T/relay3.log" || give_up "relay did not start" "$(cat "$T/relay3.log")"
a=$(reg_st "$REGSEC") b=$(reg_st "$REGSEC2") c=$(reg_st "$(rnd43)") d=$(reg_st) e=$(reg_st "${REGSEC2}${REGSEC}")
[ "$a" = 201 ] && [ "$b" = 201 ] && [ "$c" = 401 ] && [ "$d" = 401 ] && [ "$e" = 401 ]
check "RLY-04 two registration secrets: each -> 201; other, none, both glued -> 401" $? "$a $b $c $d $e"
kill -TERM "$RPID"
wait "$RPID"
conf "$T/rotated.conf" "registration_secret_file = $T/reg2.secret"
start_relay "$T/rotated.conf" "$T/relay4.log" || give_up "relay did not start" "$(cat "$T/relay4.log")"
a=$(reg_st "$REGSEC") b=$(reg_st "$REGSEC2")
[ "$a" = 401 ] && [ "$b" = 201 ]
check "RLY-04 rotation: the retired secret -> 401, the new one -> 201" $? "$a $b"
kill -TERM "$RPID"
wait "$RPID"
PORT=$MAIN_PORT

# Graceful stop while long-polls are held: they answer, the relay exits 0.
new_login 120
bg_poll "$STATE" "$SECRET" 20 "$T/stop.poll"
POLLER=$!
new_login 120
bg_poll "$STATE" "$SECRET" 20 "$T/stop2.poll"
POLLER2=$!
sleep 0.5
t0=$(now_ns)
kill -TERM "$MAIN_PID"
wait "$MAIN_PID"
rc=$?
wait $POLLER $POLLER2
dt=$((($(now_ns) - t0) / 1000000))
[ $rc -eq 0 ] && grep -q '"status":"pending"' "$T/stop.poll" && grep -q '"status":"pending"' "$T/stop2.poll" &&
	[ $dt -lt 2000 ]
check "SIGTERM with held long-polls: each answered pending, exit 0 (${dt} ms)" $? "rc=$rc $(cat "$T/stop.poll" "$T/stop2.poll" 2>/dev/null)"

# ---- RLY-26: no secrets in the logs -------------------------------------------------
cat "$LOG" "$T/relay2.log" "$T/relay3.log" "$T/relay4.log" >"$T/all.log"
leaks=""
for s in "${ALL_SECRETS[@]}" "${ALL_IDS[@]}" "$CODE1" the-only-code the-long-code victim-code \
	482913 771199 5555 "$REGSEC" "$REGSEC2" Bearer Authorization; do
	[ -n "$s" ] && grep -qF -- "$s" "$T/all.log" && leaks="$leaks ${s:0:12}..."
done
[ -z "$leaks" ] && [ "$(grep -c ' /l/:id \| /callback \| /v1/sessions' "$T/all.log")" -gt 100 ] &&
	! grep -q '?' "$T/all.log"
check "RLY-26 logs: no code, state, poll secret, id, confirmation code, query string" $? "leaked:$leaks"
grep -q 'GET /v1/sessions/:state 200 [0-9]*ms sid=[0-9a-f]\{12\} (code)' "$T/all.log"
check "RLY-26 logs name sessions by a 12-hex hash of the id" $?
if grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$T/all.log"; then
	bad "sanitizers: no reports" "$(grep -A5 'Sanitizer\|runtime error' "$T/all.log" | head -n 30)"
else
	ok "sanitizers: no reports in the relay logs"
fi

finish
