#!/bin/bash
# Integration tests against the real OpenID provider (tests/idp, oidc-provider):
# lib/ and oauth2-pkce-helper do discovery, JWKS, PKCE round trips, code
# redemption, ID-token validation, key rotation and TLS for real.
# Last line: "integration: N passed, N failed"; exit non-zero on failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
SUITE=integration BAD_DETAIL='tail -n 15'
. tests/lib/common.sh
HELPER=$B/oauth2-pkce-helper
RT=$B/tests/integration/roundtrip
. tests/idp/lib.sh
. tests/lib/stack.sh
idp_ensure_deps || give_up "test IdP dependencies (tests/idp)"

tmpdir
# PAM-23: check, verify-id-token and the round trip (as a login) run their
# network part as _oauth2-pkce, with its cache in $T
stack_helper_reach "$T"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	idp_stop
}
at_exit cleanup
REDIRECT=http://127.0.0.1:9/callback

# config FILE ISSUER CLIENT [extra lines...]: a root-owned 0600 config.
config() {
	local f=$1 iss=$2 client=$3
	shift 3
	{
		echo "issuer = $iss"
		echo "client_id = $client"
		echo "scopes = openid profile email groups"
		echo "cache_dir = $T/cache"
		echo "allow_insecure_loopback = yes"
		for l in "$@"; do echo "$l"; done
	} >"$f"
	chmod 0600 "$f"
}

# login CONFIG USER PASSWORD [roundtrip args]: runs the round trip, the
# scripted browser in the middle. Sets $out (stdout+stderr) and $rc.
login() {
	local cfg=$1 user=$2 pw=$3
	shift 3
	local url cb
	coproc RTP { "$RT" --config "$cfg" --redirect-uri "$REDIRECT" "$@" 2>&1; }
	local rin rout rpid=$RTP_PID
	# copies: bash closes RTP's own fds as soon as the round trip exits
	exec {rin}<&"${RTP[0]}" {rout}>&"${RTP[1]}"
	local pre=''
	while IFS= read -r -t 20 url <&"$rin"; do
		[ "${url#URL }" != "$url" ] && break
		pre+="$url"$'\n'
	done
	if [ "${url#URL }" = "$url" ]; then
		out="$pre$(cat <&"$rin")"; wait "$rpid"; rc=$?; exec {rin}<&- {rout}>&-; return
	fi
	cb=$(node tests/idp/browser.mjs --url "${url#URL }" --user "$user" --password "$pw" \
		--stop-at-redirect "$REDIRECT" ${IDP_CACERT:+--cacert "$IDP_CACERT"} ${BROWSER_ARGS:-} 2>&1)
	printf '%s\n' "$cb" >&"$rout"
	exec {rout}>&-
	out="$pre$(cat <&"$rin")"
	wait "$rpid"; rc=$?
	exec {rin}<&-
}

idp_start "$T/idp" --redirect-uri "$REDIRECT" || give_up "IdP did not start"
for c in rs256 es256 eddsa; do config "$T/$c.conf" "$IDP_ISSUER" "pkce-$c"; done

echo "== check (AZ-01 AZ-02)"
out=$("$HELPER" check --config "$T/rs256.conf" 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q "$IDP_ISSUER" <<<"$out"; then ok "check: discovery and JWKS fetched"; else bad "check (rc=$rc)" "$out"; fi
if grep -q "userinfo_endpoint.*$IDP_ISSUER/me" <<<"$out" && grep -q "userinfo=auto" <<<"$out"; then ok "IDT-29 check: userinfo_endpoint and the userinfo policy shown"; else bad "IDT-29 check: no userinfo_endpoint line" "$out"; fi
# the discovery and JWKS files are written by the process that fetched them
bad_files=$(find "$T/cache" ! -user _oauth2-pkce 2>/dev/null)
n_files=$(find "$T/cache" -type f -user _oauth2-pkce 2>/dev/null | wc -l)
if [ "$(stat -c '%U %a' "$T/cache" 2>/dev/null)" = "_oauth2-pkce 700" ] && [ -z "$bad_files" ] && [ "$n_files" -ge 2 ]; then
	ok "PAM-23 check as root: cache_dir made 0700 for _oauth2-pkce, the $n_files discovery/JWKS files fetched into it are its own"
else bad "PAM-23 check cache: $(stat -c '%U %a' "$T/cache" 2>&1), not the account's: ${bad_files:-none}, its own: $n_files" "$out"; fi
mkdir -m 0700 "$T/cache-root"
sed "s|^cache_dir = .*|cache_dir = $T/cache-root|" "$T/rs256.conf" >"$T/cache-root.conf" && chmod 0600 "$T/cache-root.conf"
out=$("$HELPER" check --config "$T/cache-root.conf" 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q "^problem: cache_dir: .*$T/cache-root is owned by uid 0, not by helper_user _oauth2-pkce" <<<"$out" &&
	[ -z "$(ls -A "$T/cache-root")" ]; then
	ok "PAM-23 check as root, cache_dir owned by root: one problem naming the owner and helper_user, nothing written in it"
else bad "PAM-23 check with a root-owned cache_dir (rc=$rc)" "$out"; fi
sed '1a helper_user = _oauth2-nosuch' "$T/rs256.conf" >"$T/nouser.conf" && chmod 0600 "$T/nouser.conf"
out=$("$HELPER" check --config "$T/nouser.conf" 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q "^problem: helper_user _oauth2-nosuch: no such account (create the account, or set helper_user in $T/nouser.conf)" <<<"$out" &&
	! grep -q '^authorization_endpoint:' <<<"$out" && ! grep -q 'http: GET' <<<"$out"; then
	ok "PAM-23 check as root, helper_user without an account: one problem naming it and the option, no request made"
else bad "PAM-23 check without helper_user (rc=$rc)" "$out"; fi
out=$(printf 'x\n' | "$HELPER" verify-id-token --config "$T/nouser.conf" --nonce n 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "helper_user _oauth2-nosuch: no such account (create the account, or set helper_user in $T/nouser.conf)" <<<"$out"; then
	ok "PAM-23 verify-id-token as root, helper_user without an account: configuration error naming it"
else bad "PAM-23 verify-id-token without helper_user (rc=$rc)" "$out"; fi
# while check waits for an IdP that accepts and never answers: its uids and
# its TCP connection's owner (/proc/net/tcp) are _oauth2-pkce's
python3 tests/lib/faultd.py hang "$T/hang.port" 2>>"$T/faultd.log" & PIDS+=($!)
for ((i = 0; i < 50; i++)); do [ -s "$T/hang.port" ] && break; sleep 0.1; done
PHANG=$(cat "$T/hang.port" 2>/dev/null)
config "$T/hang.conf" "http://127.0.0.1:${PHANG:-9}" pkce-rs256 "http_timeout = 5"
"$HELPER" check --config "$T/hang.conf" >"$T/hang.out" 2>&1 & cpid=$!
HUID=$(stack_helper_user) st_uid= sk=
for ((i = 0; i < 60; i++)); do
	inodes=$(ls -l "/proc/$cpid/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]/\1/p' | tr '\n' ' ')
	sk=$(awk -v port="$(printf '%04X' "${PHANG:-9}")" -v inodes=" $inodes" \
		'NR > 1 { split($3, r, ":"); if (r[2] == port && index(inodes, " " $10 " ")) print $8 }' /proc/net/tcp | sort -u | tr '\n' ' ')
	[ -n "$sk" ] && break
	sleep 0.1
done
st_uid=$(sed -n 's/^Uid:[[:space:]]*//p' "/proc/$cpid/status" 2>/dev/null | tr -s '\t ' ' ')
st_nnp=$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' "/proc/$cpid/status" 2>/dev/null)
kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null
if [ -n "$HUID" ] && [ "$sk" = "$HUID " ] && [ "$st_uid" = "$HUID $HUID $HUID $HUID" ] && [ "$st_nnp" = 1 ]; then
	ok "PAM-23 check as root talks to the IdP as _oauth2-pkce: uids $HUID, NoNewPrivs 1, its TCP connection owned by uid $HUID"
else bad "PAM-23 check while it waits: Uid=\"$st_uid\" NoNewPrivs=\"$st_nnp\" socket owners \"$sk\", want $HUID" "$(cat "$T/hang.out")"; fi
config "$T/slash.conf" "$IDP_ISSUER/" pkce-rs256
out=$("$HELPER" check --config "$T/slash.conf" 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -qi "issuer" <<<"$out"; then ok "AZ-01 issuer with a trailing slash: discovery refused"; else bad "AZ-01 trailing slash (rc=$rc)" "$out"; fi

echo "== PKCE round trips (TOK-01)"
for c in rs256 es256 eddsa; do
	ROUNDTRIP_SAVE_TOKEN=$T/token-$c login "$T/$c.conf" alice alice-pw
	alg=$(grep -o 'alg=[A-Za-z0-9]*' <<<"$out" | head -n 1)
	if [ $rc -eq 0 ] && grep -qx 'preferred_username=alice' <<<"$out" && grep -qx 'sub=sub-alice' <<<"$out"; then
		ok "round trip pkce-$c: ID token accepted ($alg)"
	else bad "round trip pkce-$c (rc=$rc)" "$out"; fi
done

echo "== refusals from the real IdP (TOK-02, TOK-03, RLY-28)"
login "$T/rs256.conf" alice alice-pw --wrong-verifier
if [ $rc -eq 1 ] && grep -q 'refused: token endpoint' <<<"$out" && grep -q 'invalid_grant' <<<"$out"; then ok "TOK-03 wrong code_verifier: refused, invalid_grant reported"; else bad "wrong verifier (rc=$rc)" "$out"; fi
login "$T/rs256.conf" alice alice-pw --replay
if [ $rc -eq 1 ] && grep -q 'invalid_grant' <<<"$out" && ! grep -q 'second redemption was accepted' <<<"$out"; then ok "TOK-03 replayed code: refused"; else bad "replayed code (rc=$rc)" "$out"; fi
BROWSER_ARGS=--deny login "$T/rs256.conf" alice alice-pw
if [ $rc -eq 1 ] && grep -q 'identity provider returned an error' <<<"$out"; then ok "AZ-09 consent denied: access_denied refused"; else bad "deny (rc=$rc)" "$out"; fi

echo "== verify-id-token (offline and online)"
tok=$(sed -n 1p "$T/token-rs256"); nonce=$(sed -n 2p "$T/token-rs256")
curl -fsS "$IDP_ISSUER/jwks" >"$T/jwks.json"
out=$(printf '%s\n' "$tok" | "$HELPER" verify-id-token --config "$T/rs256.conf" --nonce "$nonce" 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q '^sub=sub-alice$' <<<"$out"; then ok "verify-id-token online: accepted"; else bad "verify online (rc=$rc)" "$out"; fi
out=$(printf '%s\n' "$tok" | "$HELPER" verify-id-token --config "$T/rs256.conf" --nonce "$nonce" --jwks-file "$T/jwks.json" 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q '^preferred_username=alice$' <<<"$out"; then ok "verify-id-token --jwks-file: accepted offline"; else bad "verify offline (rc=$rc)" "$out"; fi
out=$(printf '%s\n' "$tok" | "$HELPER" verify-id-token --config "$T/rs256.conf" --nonce wrong-nonce --jwks-file "$T/jwks.json" 2>&1); rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -qi 'nonce' <<<"$out"; then ok "IDT-23 wrong nonce: refused, one line"; else bad "wrong nonce (rc=$rc)" "$out"; fi
out=$(printf '%s\n' "$tok" | "$HELPER" verify-id-token --config "$T/es256.conf" --nonce "$nonce" --jwks-file "$T/jwks.json" 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -qi 'aud' <<<"$out"; then ok "IDT-18 token for another client: refused"; else bad "other client (rc=$rc)" "$out"; fi

echo "== key rotation (IDT-12, IDT-14)"
old_tok=$tok; old_nonce=$nonce
idp_rotate >/dev/null
login "$T/rs256.conf" alice alice-pw --debug
if [ $rc -eq 0 ] && grep -qi 'refresh' <<<"$out"; then ok "IDT-14 rotated key: accepted after one JWKS refresh"; else bad "rotation (rc=$rc)" "$out"; fi
curl -fsS "$IDP_ISSUER/jwks" >"$T/jwks2.json"
out=$(printf '%s\n' "$old_tok" | "$HELPER" verify-id-token --config "$T/rs256.conf" --nonce "$old_nonce" --jwks-file "$T/jwks2.json" 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -qi 'kid' <<<"$out"; then ok "IDT-14 token signed with the retired key: refused"; else bad "old key (rc=$rc)" "$out"; fi
idp_rotate >/dev/null
login "$T/es256.conf" alice alice-pw --debug
if [ $rc -eq 1 ] && grep -qi 'kid' <<<"$out" && ! grep -qi 'refreshing' <<<"$out"; then ok "IDT-12 second unknown kid within 60 s: no second fetch, refused"; else bad "refresh rate limit (rc=$rc)" "$out"; fi
idp_stop

echo "== TLS for real (TOK-05)"
mk_ca() { # DIR NAME
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$2" -keyout "$1/$2.key" -out "$1/$2.pem" 2>/dev/null
}
mkdir -p "$T/tls"
mk_ca "$T/tls" ca; mk_ca "$T/tls" otherca
openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout "$T/tls/srv.key" -out "$T/tls/srv.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' >"$T/tls/ext"
openssl x509 -req -in "$T/tls/srv.csr" -CA "$T/tls/ca.pem" -CAkey "$T/tls/ca.key" -CAcreateserial \
	-days 2 -extfile "$T/tls/ext" -out "$T/tls/srv.pem" 2>/dev/null
IDP_CACERT=$T/tls/ca.pem idp_start "$T/idps" --https "$T/tls/srv.pem:$T/tls/srv.key" --issuer-host localhost --redirect-uri "$REDIRECT" ||
	bad "https IdP did not start"
config "$T/tls-ok.conf" "$IDP_ISSUER" pkce-rs256 "ca_file = $T/tls/ca.pem"
sed -i '/allow_insecure_loopback/d' "$T/tls-ok.conf"
out=$("$HELPER" check --config "$T/tls-ok.conf" 2>&1); rc=$?
if [ $rc -eq 0 ]; then ok "TOK-05 https IdP with the right CA: accepted"; else bad "right CA (rc=$rc)" "$out"; fi
IDP_CACERT=$T/tls/ca.pem ROUNDTRIP_SAVE_TOKEN=$T/token-tls login "$T/tls-ok.conf" alice alice-pw
if [ $rc -eq 0 ] && grep -qx 'preferred_username=alice' <<<"$out"; then ok "TOK-05 full round trip over https"; else bad "https round trip (rc=$rc)" "$out"; fi
curl -fsS --cacert "$T/tls/ca.pem" "$IDP_ISSUER/jwks" >"$T/jwks-tls.json"
printf 'issuer = %s\nclient_id = pkce-rs256\n' "$IDP_ISSUER" >"$T/min.conf"; chmod 0600 "$T/min.conf"
out=$(sed -n 1p "$T/token-tls" | "$HELPER" verify-id-token --config "$T/min.conf" --nonce "$(sed -n 2p "$T/token-tls")" --jwks-file "$T/jwks-tls.json" 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q '^sub=sub-alice$' <<<"$out"; then ok "verify-id-token with only issuer and client_id in the config"; else bad "minimal config (rc=$rc)" "$out"; fi
config "$T/tls-ca.conf" "$IDP_ISSUER" pkce-rs256 "ca_file = $T/tls/otherca.pem"
out=$("$HELPER" check --config "$T/tls-ca.conf" 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -qi 'tls\|certificate' <<<"$out"; then ok "TOK-05 wrong CA: refused"; else bad "wrong CA (rc=$rc)" "$out"; fi
config "$T/tls-nosys.conf" "$IDP_ISSUER" pkce-rs256
out=$("$HELPER" check --config "$T/tls-nosys.conf" 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -qi 'tls\|certificate' <<<"$out"; then ok "TOK-05 private CA not configured (system store): refused"; else bad "system store (rc=$rc)" "$out"; fi
wrong_host=${IDP_ISSUER/localhost/127.0.0.1}
config "$T/tls-host.conf" "$wrong_host" pkce-rs256 "ca_file = $T/tls/ca.pem"
out=$("$HELPER" check --config "$T/tls-host.conf" 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -qi 'tls\|certificate' <<<"$out"; then ok "TOK-05 wrong host name (127.0.0.1 vs cert for localhost): refused"; else bad "wrong host (rc=$rc)" "$out"; fi
http_issuer=${IDP_ISSUER/https:/http:}
config "$T/tls-http.conf" "$http_issuer" pkce-rs256
sed -i '/allow_insecure_loopback/d' "$T/tls-http.conf"
out=$("$HELPER" check --config "$T/tls-http.conf" 2>&1); rc=$?
if [ $rc -ne 0 ]; then ok "TOK-05 http:// issuer without allow_insecure_loopback: refused"; else bad "http issuer (rc=$rc)" "$out"; fi

finish
