#!/usr/bin/env bash
# shellcheck disable=SC2016 # node -e programs are single-quoted on purpose
# Self-test of the bundled test OpenID provider (server.mjs), the scripted
# browser (browser.mjs) and lib.sh. Needs node, npm (first run), curl, openssl.
#
#   bash tests/idp/selftest.sh        (KEEP_TMP=1 keeps the temp dir)
# Last line: "idp: N passed, N failed".
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
SUITE=idp
. tests/lib/common.sh
# shellcheck source=lib.sh
. "$here/lib.sh"

nok() { bad "$*"; }
# check NAME COMMAND...: run COMMAND, count the result.
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else nok "$name"; fi
}

tmpdir
tmp=$T
relay_pid=
cleanup() {
    idp_stop
    if [ -n "$relay_pid" ]; then kill "$relay_pid" 2>/dev/null || true; fi
}
at_exit cleanup

idp_ensure_deps

# ---------------------------------------------------------------- helpers

# jget JSON PATH: print a member (dotted path; arrays joined with spaces);
# nothing if JSON is not JSON or has no such member.
jget() {
    node -e '
        let v;
        try { v = JSON.parse(process.argv[1]); } catch { process.exit(0); }
        for (const k of process.argv[2].split(".").filter(Boolean)) v = v == null ? undefined : v[k];
        if (v === undefined) process.exit(0);
        process.stdout.write(Array.isArray(v) ? v.join(" ") : typeof v === "object" ? JSON.stringify(v) : String(v));
    ' "$1" "$2"
}

# jwt_info JWT JWKS_JSON: {"header":..,"payload":..,"verified":bool}, the
# signature checked against the key with the token's kid.
jwt_info() {
    node -e '
        const crypto = require("node:crypto");
        try {
        const [tok, jwksText] = process.argv.slice(1);
        const [h, p, s] = tok.split(".");
        const header = JSON.parse(Buffer.from(h, "base64url"));
        const payload = JSON.parse(Buffer.from(p, "base64url"));
        let verified = false;
        const jwk = JSON.parse(jwksText).keys.find((k) => k.kid === header.kid);
        if (jwk && jwk.alg === header.alg) {
            const key = crypto.createPublicKey({ key: jwk, format: "jwk" });
            const data = Buffer.from(`${h}.${p}`);
            const sig = Buffer.from(s, "base64url");
            if (header.alg === "RS256") verified = crypto.verify("sha256", data, key, sig);
            else if (header.alg === "ES256") verified = crypto.verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, sig);
            else if (header.alg === "EdDSA") verified = crypto.verify(null, data, key, sig);
        }
        process.stdout.write(JSON.stringify({ header, payload, verified }));
        } catch (err) {
            process.stdout.write(JSON.stringify({ error: err.message, verified: false }));
        }
    ' "$1" "$2"
}

words() { tr ' ' '\n' <<<"$1" | grep -v '^$'; }
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
rand43() { openssl rand 32 | b64url; }
challenge_of() { printf '%s' "$1" | openssl dgst -sha256 -binary | b64url; }
# qparam URL NAME: a query parameter of URL.
qparam() {
    node -e 'const v = new URL(process.argv[1]).searchParams.get(process.argv[2]); if (v !== null) process.stdout.write(v);' "$1" "$2"
}

REDIRECT=http://127.0.0.1/callback
CURL=(curl -sS)

# login USER PASSWORD CLIENT [browser args]: sets VERIFIER STATE NONCE CB
# (the final redirect URL) and CODE; returns the browser's status.
login() {
    local user=$1 pw=$2 client=$3
    shift 3
    VERIFIER=$(rand43)
    STATE=$(rand43)
    NONCE=$(rand43)
    CB=
    CODE=
    CB=$(idp_get_code "$tmp/idp" "$user" "$pw" "$client" "${REDIRECT_URI:-$REDIRECT}" "$STATE" "$NONCE" \
        "$(challenge_of "$VERIFIER")" "$@" 2>"$tmp/browser.err") || return 1
    CODE=$(qparam "$CB" code)
}

# redeem CLIENT CODE [VERIFIER] [curl args...]: sets HTTP (status) and BODY.
redeem() {
    local client=$1 code=$2 verifier=${3:-}
    shift 2
    [ $# -gt 0 ] && shift
    local args=(-d grant_type=authorization_code --data-urlencode "code=$code"
        --data-urlencode "redirect_uri=${REDIRECT_URI:-$REDIRECT}")
    if [ "$client" != pkce-confidential ]; then
        args+=(-d "client_id=$client")
    fi
    if [ -n "$verifier" ]; then
        args+=(--data-urlencode "code_verifier=$verifier")
    fi
    HTTP=$("${CURL[@]}" -o "$tmp/body" -w '%{http_code}' "$@" "${args[@]}" "$IDP_ISSUER/token") || HTTP=000
    BODY=$(cat "$tmp/body" 2>/dev/null || true)
}

eq() { [ "$1" = "$2" ] || { echo "     expected [$2], got [$1]" >&2; return 1; }; }
contains() { case " $1 " in *" $2 "*) return 0 ;; esac; echo "     [$1] lacks [$2]" >&2; return 1; }

# ---------------------------------------------------------------- start

if idp_start "$tmp/idp"; then ok "idp starts ($IDP_ISSUER)"; else give_up "idp starts"; fi
check "issuer is http://127.0.0.1:PORT" eq "$IDP_ISSUER" "http://127.0.0.1:$IDP_PORT"

disc=$("${CURL[@]}" "$IDP_ISSUER/.well-known/openid-configuration" || true)
check "discovery issuer" eq "$(jget "$disc" issuer)" "$IDP_ISSUER"
check "discovery: S256 only" eq "$(jget "$disc" code_challenge_methods_supported)" "S256"
for alg in RS256 ES256 EdDSA; do
    check "discovery: id_token alg $alg" contains "$(jget "$disc" id_token_signing_alg_values_supported)" $alg
done
check "discovery: RFC 9207 iss" eq "$(jget "$disc" authorization_response_iss_parameter_supported)" true
check "discovery: groups scope" contains "$(jget "$disc" scopes_supported)" groups
check "discovery: token endpoint" eq "$(jget "$disc" token_endpoint)" "$IDP_ISSUER/token"

jwks=$("${CURL[@]}" "$IDP_ISSUER/jwks" || true)
kids0=$(node -e 'console.log(JSON.parse(process.argv[1]).keys.map((k) => k.kid).sort().join(" "))' "$jwks")
check "jwks: 3 distinct kids" eq "$(words "$kids0" | sort -u | wc -l | tr -d ' ')" 3
check "jwks: public keys only" eq "$(node -e 'console.log(JSON.parse(process.argv[1]).keys.some((k) => "d" in k))' "$jwks")" false
check "keys.json written" test -s "$tmp/idp/keys.json"

# ---------------------------------------------------------------- round trip

if login alice alice-pw pkce-rs256; then ok "browser: alice signs in"; else nok "browser: alice signs in: $(cat "$tmp/browser.err")"; fi
check "callback goes to redirect_uri" eq "${CB%%\?*}" "$REDIRECT"
check "callback has a code" test -n "$CODE"
check "callback state" eq "$(qparam "$CB" state)" "$STATE"
check "callback iss" eq "$(qparam "$CB" iss)" "$IDP_ISSUER"

redeem pkce-rs256 "$CODE" "wrong-$VERIFIER"
check "wrong verifier: HTTP 400" eq "$HTTP" 400
check "wrong verifier: invalid_grant" eq "$(jget "$BODY" error)" invalid_grant
redeem pkce-rs256 "$CODE"
check "no verifier: refused" eq "$HTTP:$(jget "$BODY" error)" "400:invalid_grant"
redeem pkce-rs256 "$CODE" "$VERIFIER"
check "right verifier: HTTP 200" eq "$HTTP" 200
idt=$(jget "$BODY" id_token)
check "id_token returned" test -n "$idt"
info=$(jwt_info "${idt:-e30.e30.}" "$jwks")
check "id_token alg RS256" eq "$(jget "$info" header.alg)" RS256
check "id_token signature verifies" eq "$(jget "$info" verified)" true
check "id_token preferred_username alice" eq "$(jget "$info" payload.preferred_username)" alice
check "id_token nonce" eq "$(jget "$info" payload.nonce)" "$NONCE"
check "id_token sub" eq "$(jget "$info" payload.sub)" sub-alice
check "id_token aud" eq "$(jget "$info" payload.aud)" pkce-rs256
check "id_token iss" eq "$(jget "$info" payload.iss)" "$IDP_ISSUER"
check "id_token email" eq "$(jget "$info" payload.email)" alice@example.org
check "id_token groups" eq "$(jget "$info" payload.groups)" "staff wheel"
old_idt=$idt
redeem pkce-rs256 "$CODE" "$VERIFIER"
check "replayed code: invalid_grant" eq "$HTTP:$(jget "$BODY" error)" "400:invalid_grant"

for pair in pkce-es256:ES256 pkce-eddsa:EdDSA; do
    client=${pair%%:*}
    alg=${pair#*:}
    if login bob bob-pw "$client"; then
        redeem "$client" "$CODE" "$VERIFIER"
        info=$(jwt_info "$(jget "$BODY" id_token)" "$jwks")
        check "$client: id_token alg $alg" eq "$(jget "$info" header.alg)" "$alg"
        check "$client: signature verifies" eq "$(jget "$info" verified)" true
        check "$client: bob's groups" eq "$(jget "$info" payload.groups)" staff
    else
        nok "$client: bob signs in: $(cat "$tmp/browser.err")"
    fi
done

secret=${IDP_CLIENT_SECRET:-te:st+se%cr/et}
if login carol carol-pw pkce-confidential; then
    redeem pkce-confidential "$CODE" "$VERIFIER" -d client_id=pkce-confidential
    check "confidential without secret: invalid_client" eq "$HTTP:$(jget "$BODY" error)" "401:invalid_client"
    basic=$(printf '%s:%s' pkce-confidential "$(idp_urlencode "$secret")" | openssl base64 -A)
    redeem pkce-confidential "$CODE" "$VERIFIER" -H "Authorization: Basic $basic"
    check "confidential with client_secret_basic: 200" eq "$HTTP" 200
    info=$(jwt_info "$(jget "$BODY" id_token)" "$jwks")
    check "carol: preferred_username Bob" eq "$(jget "$info" payload.preferred_username)" Bob
    check "carol: no email claim" eq "$(jget "$info" payload.email)" ""
else
    nok "carol signs in: $(cat "$tmp/browser.err")"
fi

# ---------------------------------------------------------------- refusals

if login alice wrong-pw pkce-rs256; then nok "wrong password refused"; else
    check "wrong password refused" grep -q 'login rejected' "$tmp/browser.err"
fi
if login Bob bob-pw pkce-rs256; then nok "user Bob (capital B) does not exist"; else
    check "user Bob (capital B) does not exist" grep -q 'login rejected' "$tmp/browser.err"
fi
if login alice alice-pw pkce-rs256 --deny; then
    check "deny: error=access_denied" eq "$(qparam "$CB" error)" access_denied
    check "deny: state" eq "$(qparam "$CB" state)" "$STATE"
    check "deny: iss" eq "$(qparam "$CB" iss)" "$IDP_ISSUER"
    check "deny: no code" eq "$CODE" ""
else
    nok "deny: browser: $(cat "$tmp/browser.err")"
fi
if REDIRECT_URI=http://127.0.0.1:1/evil login alice alice-pw pkce-rs256; then
    nok "unregistered redirect_uri refused (got $CB)"
else
    check "unregistered redirect_uri refused" grep -q 'redirect_uri' "$tmp/browser.err"
fi
if out=$(node "$here/browser.mjs" --url "$IDP_ISSUER/auth?response_type=code&client_id=pkce-rs256&redirect_uri=$(idp_urlencode "$REDIRECT")&scope=openid&state=s&nonce=n" --user alice --password alice-pw 2>&1); then
    check "missing code_challenge refused" eq "$(qparam "$out" error)" invalid_request
else
    nok "missing code_challenge refused: $out"
fi

# ---------------------------------------------------------------- redirect URIs at runtime

if idp_set_redirect_uris http://127.0.0.1:9/cb >/dev/null; then
    if REDIRECT_URI=http://127.0.0.1:9/cb login alice alice-pw pkce-rs256; then
        check "new redirect_uri works" eq "${CB%%\?*}" http://127.0.0.1:9/cb
    else
        nok "new redirect_uri works: $(cat "$tmp/browser.err")"
    fi
    if login alice alice-pw pkce-rs256; then nok "old redirect_uri dropped"; else ok "old redirect_uri dropped"; fi
    idp_set_redirect_uris "$REDIRECT" >/dev/null || nok "restore redirect_uri"
else
    nok "POST /test/redirect-uris"
fi

# ---------------------------------------------------------------- relay-like page

# A fake relay: /l/abc is a context page with a CSRF-protected "continue" form
# (and a second "This wasn't me" form) that 302s to the authorization URL;
# /relay-cb is its redirect_uri (no "/callback" in the path, so the browser
# stops because the redirect leaves the IdP's origin).
cat >"$tmp/fake-relay.mjs" <<'JS'
import * as http from 'node:http';
import * as fs from 'node:fs';
const [portFile, authUrlFile] = process.argv.slice(2);
const page = `<!DOCTYPE html><html><body><h1>Sign in to host1</h1>
<form method="post" action="/l/abc/go"><input type="hidden" name="csrf" value="tok&amp;123">
<button type="submit" name="action" value="continue">Continue to sign in</button></form>
<form method="post" action="/l/abc/deny"><button type="submit" name="action" value="deny">This wasn't me</button></form>
</body></html>`;
const srv = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    if (req.method === 'GET' && u.pathname === '/l/abc') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'set-cookie': 'c=tok; Path=/l/abc; HttpOnly' });
      return res.end(page);
    }
    if (req.method === 'POST' && u.pathname === '/l/abc/go') {
      const f = new URLSearchParams(body);
      if (f.get('csrf') !== 'tok&123' || f.get('action') !== 'continue' || req.headers.cookie !== 'c=tok') {
        res.writeHead(403); return res.end('csrf');
      }
      res.writeHead(302, { location: fs.readFileSync(authUrlFile, 'utf8').trim() });
      return res.end();
    }
    if (req.method === 'GET' && u.pathname === '/relay-cb') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end(`relay callback state=${u.searchParams.get('state')} code=${u.searchParams.has('code')}\n`);
    }
    res.writeHead(404); res.end();
  });
});
srv.listen(0, '127.0.0.1', () => fs.writeFileSync(portFile, String(srv.address().port)));
process.on('SIGTERM', () => process.exit(0));
JS
node "$tmp/fake-relay.mjs" "$tmp/relay.port" "$tmp/relay.authurl" &
relay_pid=$!
for _ in $(seq 50); do [ -s "$tmp/relay.port" ] && break; sleep 0.1; done
relay=http://127.0.0.1:$(cat "$tmp/relay.port" 2>/dev/null || echo 0)
if idp_set_redirect_uris "$REDIRECT" "$relay/relay-cb" >/dev/null; then
    VERIFIER=$(rand43) STATE=$(rand43)
    idp_auth_url pkce-rs256 "$relay/relay-cb" "$STATE" n "$(challenge_of "$VERIFIER")" >"$tmp/relay.authurl"
    if out=$(node "$here/browser.mjs" --url "$relay/l/abc" --user alice --password alice-pw 2>"$tmp/browser.err"); then
        check "relay page: continue form, stop when leaving the IdP" eq "${out%%\?*}" "$relay/relay-cb"
        check "relay page: state" eq "$(qparam "$out" state)" "$STATE"
    else
        nok "relay page: browser: $(cat "$tmp/browser.err")"
    fi
    if out=$(node "$here/browser.mjs" --url "$relay/l/abc" --user alice --password alice-pw --follow-callback 2>"$tmp/browser.err"); then
        check "--follow-callback prints the callback page" eq "$out" "relay callback state=$STATE code=true"
    else
        nok "--follow-callback: $(cat "$tmp/browser.err")"
    fi
else
    nok "redirect_uris for the fake relay"
fi
kill "$relay_pid" 2>/dev/null || true
wait "$relay_pid" 2>/dev/null || true
idp_set_redirect_uris "$REDIRECT" >/dev/null || nok "restore redirect_uri"

# ---------------------------------------------------------------- rotation

login alice alice-pw pkce-rs256 || true
pre_code=$CODE pre_verifier=$VERIFIER
rot=$(idp_rotate || true)
new_rs=$(jget "$rot" kids.RS256)
check "rotate answers new kids" test -n "$new_rs"
jwks1=$("${CURL[@]}" "$IDP_ISSUER/jwks" || true)
kids1=$(node -e 'console.log(JSON.parse(process.argv[1]).keys.map((k) => k.kid).sort().join(" "))' "$jwks1")
check "rotate: jwks has 3 keys" eq "$(words "$kids1" | wc -l | tr -d ' ')" 3
check "rotate: kids changed" eq "$(words "$kids0 $kids1" | sort | uniq -d | wc -l | tr -d ' ')" 0
check "rotate: RS256 kid is first" eq "$(node -e 'console.log(JSON.parse(process.argv[1]).keys.find((k) => k.alg === "RS256").kid)' "$jwks1")" "$new_rs"
check "rotate: old id_token no longer verifies" eq "$(jget "$(jwt_info "$old_idt" "$jwks1")" verified)" false
redeem pkce-rs256 "$pre_code" "$pre_verifier"
check "code from before rotation still redeems" eq "$HTTP" 200
info=$(jwt_info "$(jget "$BODY" id_token)" "$jwks1")
check "rotate: new tokens use the new kid" eq "$(jget "$info" header.kid)" "$new_rs"
check "rotate: new token verifies" eq "$(jget "$info" verified)" true
rot2=$(idp_rotate keep || true)
jwks2=$("${CURL[@]}" "$IDP_ISSUER/jwks" || true)
check "rotate keep=1: old and new kids served" eq "$(node -e 'console.log(JSON.parse(process.argv[1]).keys.length)' "$jwks2")" 6
check "rotate keep=1: new RS256 kid first" eq "$(node -e 'console.log(JSON.parse(process.argv[1]).keys.find((k) => k.alg === "RS256").kid)' "$jwks2")" "$(jget "$rot2" kids.RS256)"
check "rotation persisted to keys.json" eq "$(node -e 'console.log(require(process.argv[1]).keys.length)' "$tmp/idp/keys.json")" 6

if grep -Eq 'code=|state=|code_challenge|code_verifier|password' "$tmp/idp/idp.log"; then
    nok "log has no query strings or secrets"
else
    ok "log has no query strings or secrets"
fi

# ---------------------------------------------------------------- restart and stop

old_pid=$IDP_PID
idp_stop
check "SIGTERM stops the idp" eval "! kill -0 $old_pid 2>/dev/null"
check "ready.json removed on stop" test ! -e "$tmp/idp/ready.json"
if idp_start "$tmp/idp"; then
    check "restart keeps keys.json" eq "$("${CURL[@]}" "$IDP_ISSUER/jwks" || true)" "$jwks2"
    idp_stop
else
    nok "restart"
fi

# ---------------------------------------------------------------- HTTPS

pki=$tmp/pki
mkdir -p "$pki"
if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.pem" -days 2 \
        -subj /CN=idp-selftest-ca -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1 \
    && openssl req -newkey rsa:2048 -nodes -keyout "$pki/srv.key" -out "$pki/srv.csr" \
        -subj /CN=localhost >/dev/null 2>&1 \
    && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$pki/ext" \
    && openssl x509 -req -in "$pki/srv.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
        -out "$pki/srv.pem" -days 2 -extfile "$pki/ext" >/dev/null 2>&1; then
    ok "test CA and server certificate"
else
    nok "test CA and server certificate"
fi

if idp_start "$tmp/idp-tls" --https "$pki/srv.pem:$pki/srv.key"; then
    check "https issuer" eq "$IDP_ISSUER" "https://127.0.0.1:$IDP_PORT"
    disc=$(curl -sS --cacert "$pki/ca.pem" "$IDP_ISSUER/.well-known/openid-configuration" || true)
    check "https discovery with --cacert" eq "$(jget "$disc" issuer)" "$IDP_ISSUER"
    check "https without the CA is refused" eval "! curl -sS -o /dev/null '$IDP_ISSUER/.well-known/openid-configuration' 2>/dev/null"
    export IDP_CACERT=$pki/ca.pem
    CURL=(curl -sS --cacert "$pki/ca.pem")
    if login alice alice-pw pkce-eddsa; then
        redeem pkce-eddsa "$CODE" "$VERIFIER"
        check "https round trip" eq "$HTTP" 200
        check "https callback iss" eq "$(qparam "$CB" iss)" "$IDP_ISSUER"
    else
        nok "https: browser with --cacert: $(cat "$tmp/browser.err")"
    fi
    check "https rotate" eval "idp_rotate >/dev/null"
    idp_stop
    unset IDP_CACERT
else
    nok "https idp starts"
fi
if idp_start "$tmp/idp-tls2" --https "$pki/srv.pem:$pki/srv.key" --issuer-host localhost; then
    check "--issuer-host localhost" eq "$IDP_ISSUER" "https://localhost:$IDP_PORT"
    disc=$(curl -sS --cacert "$pki/ca.pem" "$IDP_ISSUER/.well-known/openid-configuration" || true)
    check "https://localhost discovery" eq "$(jget "$disc" issuer)" "$IDP_ISSUER"
    idp_stop
else
    nok "https idp (issuer-host localhost) starts"
fi

finish
