# shellcheck shell=bash
# Helpers for tests that need the bundled test OpenID provider.
#
#   . tests/idp/lib.sh
#   idp_ensure_deps
#   idp_start "$tmp/idp" --redirect-uri http://127.0.0.1:8080/callback
#   code_url=$(idp_get_code "$tmp/idp" alice alice-pw pkce-rs256 \
#                 http://127.0.0.1:8080/callback "$state" "$nonce" "$challenge")
#   idp_rotate            # or: idp_rotate keep
#   idp_stop
#
# Exports after idp_start: IDP_ISSUER, IDP_PORT, IDP_PID, IDP_STATEDIR.
# If IDP_CACERT is set (HTTPS IdP), idp_rotate and idp_get_code trust it.
# IDP_SCOPE overrides the scope idp_get_code asks for.
# Safe to source from scripts running under `set -eu`.

IDP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# idp_ensure_deps: install the pinned node modules (npm ci) if missing.
idp_ensure_deps() {
    if [ -d "$IDP_DIR/node_modules/oidc-provider" ] && [ -d "$IDP_DIR/node_modules/playwright-core" ]; then
        return 0
    fi
    command -v node >/dev/null 2>&1 || { echo "idp: node not found" >&2; return 1; }
    command -v npm >/dev/null 2>&1 || { echo "idp: npm not found" >&2; return 1; }
    npm ci --prefix "$IDP_DIR" --no-audit --no-fund --loglevel=error >/dev/null || {
        echo "idp: npm ci in $IDP_DIR failed" >&2
        return 1
    }
}

# _idp_json_field FILE KEY: a string or number member of a flat JSON object.
_idp_json_field() {
    sed -n "s/.*\"$2\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" "$1"
}

# idp_start STATEDIR [extra server.mjs args...]
# Starts the IdP on a free loopback port; log in STATEDIR/idp.log. A start
# that does not get ready (seen rarely on a loaded machine) is retried once.
idp_start() {
    local dir=$1 try
    shift
    for try in 1 2; do
        _idp_start_once "$dir" "$@" && return 0
        [ "$try" = 1 ] && echo "idp: retrying the start once" >&2
    done
    return 1
}

_idp_start_once() {
    local dir=$1
    shift
    mkdir -p "$dir"
    rm -f "$dir/ready.json"
    node "$IDP_DIR/server.mjs" --port 0 --dir "$dir" "$@" >>"$dir/idp.log" 2>&1 &
    local pid=$!
    local i
    for ((i = 0; i < 150; i++)); do
        if [ -s "$dir/ready.json" ]; then
            break
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    if [ ! -s "$dir/ready.json" ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "idp: server did not become ready; last lines of $dir/idp.log:" >&2
        tail -n 20 "$dir/idp.log" >&2 || true
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        return 1
    fi
    IDP_ISSUER=$(_idp_json_field "$dir/ready.json" issuer)
    IDP_PORT=$(_idp_json_field "$dir/ready.json" port)
    IDP_PID=$pid
    IDP_STATEDIR=$dir
    export IDP_ISSUER IDP_PORT IDP_PID IDP_STATEDIR
}

# idp_stop: SIGTERM the IdP started by idp_start and wait for it.
idp_stop() {
    local pid=${IDP_PID:-}
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    unset IDP_PID
}

# idp_rotate [keep]: new signing keys; prints the JSON answer (new kids).
idp_rotate() {
    local q=
    if [ -n "${1:-}" ]; then
        q='?keep=1'
    fi
    curl -fsS ${IDP_CACERT:+--cacert "$IDP_CACERT"} -X POST "$IDP_ISSUER/test/rotate$q"
}

# idp_set_redirect_uris URI...: replace the redirect_uris of all clients.
idp_set_redirect_uris() {
    local args=() u
    for u in "$@"; do
        args+=(--data-urlencode "uri=$u")
    done
    curl -fsS ${IDP_CACERT:+--cacert "$IDP_CACERT"} -X POST "${args[@]}" "$IDP_ISSUER/test/redirect-uris"
}

# idp_urlencode STRING: percent-encode everything but RFC 3986 unreserved.
idp_urlencode() {
    local LC_ALL=C
    local s=$1 out='' c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
            [A-Za-z0-9._~-]) out+=$c ;;
            *)
                printf -v c '%d' "'$c"
                printf -v c '%%%02X' $((c & 255))
                out+=$c
                ;;
        esac
    done
    printf '%s' "$out"
}

# idp_auth_url CLIENT_ID REDIRECT_URI STATE NONCE CHALLENGE: the authorization URL.
idp_auth_url() {
    local issuer=${IDP_ISSUER:?idp_auth_url: IDP_ISSUER not set}
    printf '%s/auth?response_type=code&client_id=%s&redirect_uri=%s&scope=%s&state=%s&nonce=%s&code_challenge=%s&code_challenge_method=S256\n' \
        "$issuer" "$(idp_urlencode "$1")" "$(idp_urlencode "$2")" \
        "$(idp_urlencode "${IDP_SCOPE:-openid profile email groups}")" \
        "$(idp_urlencode "$3")" "$(idp_urlencode "$4")" "$(idp_urlencode "$5")"
}

# idp_get_code STATEDIR USER PASSWORD CLIENT_ID REDIRECT_URI STATE NONCE CHALLENGE [browser.mjs args...]
# Signs USER in with the scripted browser and prints the final redirect URL
# (REDIRECT_URI?code=...&state=...&iss=... or ...?error=...). Extra args go to
# browser.mjs (e.g. --deny). IDP_ISSUER defaults to STATEDIR/ready.json.
idp_get_code() {
    local dir=$1 user=$2 password=$3 client_id=$4 redirect_uri=$5 state=$6 nonce=$7 challenge=$8
    shift 8
    local IDP_ISSUER=${IDP_ISSUER:-$(_idp_json_field "$dir/ready.json" issuer)}
    local url
    url=$(idp_auth_url "$client_id" "$redirect_uri" "$state" "$nonce" "$challenge")
    node "$IDP_DIR/browser.mjs" --url "$url" --user "$user" --password "$password" \
        --stop-at-redirect "$redirect_uri" ${IDP_CACERT:+--cacert "$IDP_CACERT"} "$@"
}
