#!/bin/bash
# Login latency against two real OpenID Providers in the same run: the
# bundled oidc-provider (tests/idp) and LemonLDAP::NG 2.16 (tests/llng),
# one relay, pam_oauth2_pkce.so under pamtester, oauth2-pkce-helper.
# Per login: pamtester starts (module -> helper -> relay), headless Chromium
# (tests/idp/chromium.mjs --stop-at-callback) signs in at the IdP and stops
# at the redirect to the relay's callback; then the callback is sent to the
# relay (t0) and the time until pamtester prints "successfully
# authenticated" (t1) is measured: the helper's wake-up, the token request,
# discovery/JWKS from its cache, the ID token checks, the mapping, PAM.
# The two IdPs alternate, login by login, after one warm-up login each.
# BENCH_LOGINS (default 20) per IdP. Needs root (local accounts alice and
# dwho; the portal as www-data). Not part of make check.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
N=${BENCH_LOGINS:-20}
[ "$(id -u)" -eq 0 ] || { echo "bench/idp_login.sh: needs root (local accounts)"; exit 1; }
for f in "$B/pam_oauth2_pkce.so" "$B/oauth2-pkce-helper" "$B/oauth2-pkce-relay"; do
	[ -e "$f" ] || { echo "bench/idp_login.sh: missing $f (make B=$B all)"; exit 1; }
done
. tests/idp/lib.sh
. tests/lib/stack.sh
. tests/llng/lib.sh
. tests/lib/accounts.sh
idp_ensure_deps || exit 1
llng_available || exit 1

T=$(mktemp -d)
chmod 0755 "$T"
RELAY_PID=''
cleanup() {
	stack_relay_stop
	idp_stop
	llng_stop
	accounts_remove
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

port=$(stack_freeport)
RELAY=http://127.0.0.1:$port
idp_start "$T/idp" --redirect-uri "$RELAY/callback" >/dev/null || exit 1
llng_start "$T/llng" --redirect-uri "$RELAY/callback" || exit 1
stack_relay_start "$T" "$port" pkce-rs256 "max_sessions = 100000" \
	"allowed_authorization_endpoint = $LLNG_ISSUER/oauth2/authorize" >/dev/null || exit 1
accounts_ensure -M -s /usr/sbin/nologin -- alice dwho || exit 1
mkdir -p "$T/pam.d"
for idp in op llng; do
	if [ "$idp" = op ]; then iss=$IDP_ISSUER; else iss=$LLNG_ISSUER; fi
	cat >"$T/$idp.conf" <<CONF
issuer = $iss
client_id = pkce-rs256
scopes = openid profile email
cache_dir = $T/cache-$idp
allow_insecure_loopback = yes
relay_url = $RELAY
relay_secret_file = $RELAY_SECRET_FILE
max_logins_per_minute = 0
wait = poll
qr = off
CONF
	chmod 0600 "$T/$idp.conf"
	echo "auth required $PWD/$B/pam_oauth2_pkce.so helper=$PWD/$B/oauth2-pkce-helper config=$T/$idp.conf timeout=60" \
		>"$T/pam.d/bench-$idp"
done
echo "oidc-provider at $IDP_ISSUER, LemonLDAP::NG $(dpkg-query -W -f='${Version}' lemonldap-ng) at $LLNG_ISSUER;" \
	"$N logins each, alternating"

RELAY=$RELAY SVCDIR=$T/pam.d N=$N TMPDIR=$T python3 - <<'PY'
import os, re, subprocess, sys, time, urllib.request

RELAY, SVCDIR, N = os.environ["RELAY"], os.environ["SVCDIR"], int(os.environ["N"])
env = dict(os.environ, LD_PRELOAD="libpam_wrapper.so", PAM_WRAPPER="1", PAM_WRAPPER_SERVICE_DIR=SVCDIR)
link_re = re.compile(re.escape(RELAY) + r"/l/[A-Za-z0-9_-]{16}")
IDPS = {  # service, PAM user, IdP user, password, chromium.mjs --idp
    "oidc-provider": ("bench-op", "alice", "alice", "alice-pw", "test"),
    "LemonLDAP::NG": ("bench-llng", "dwho", "dwho", "dwho", "lemonldap"),
}


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def one_login(name):
    svc, pam_user, user, pw, kind = IDPS[name]
    p = subprocess.Popen(["stdbuf", "-o0", "-e0", "pamtester", svc, pam_user, "authenticate"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=env, bufsize=0)
    fd, buf, link = p.stdout.fileno(), b"", None
    try:
        while link is None:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError("pamtester ended before the link: " + buf.decode(errors="replace"))
            buf += chunk
            m = link_re.search(buf.decode(errors="replace"))
            link = m.group(0) if m else None
        br = subprocess.run(["node", "tests/idp/chromium.mjs", "--idp", kind, "--url", link, "--user", user,
                             "--password", pw, "--stop-at-callback", "--timeout", "40"],
                            capture_output=True, text=True)
        cb = [l for l in br.stdout.splitlines() if l.startswith(RELAY + "/callback?")]
        if br.returncode != 0 or not cb:
            raise RuntimeError(f"{name}: browser failed: {br.stderr.strip()[-300:]}")
        t0 = time.monotonic()
        urllib.request.urlopen(cb[0], timeout=10).read()
        while b"successfully authenticated" not in buf:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"{name}: refused: " + buf.decode(errors="replace")[-400:])
            buf += chunk
        t1 = time.monotonic()
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
    return (t1 - t0) * 1000


lat = {k: [] for k in IDPS}
for k in IDPS:
    one_login(k)  # warm-up: discovery and JWKS cached, LLNG's consent given
for i in range(N):
    for k in IDPS:
        lat[k].append(one_login(k))
print(f"callback at the relay -> PAM_SUCCESS at pamtester, {N} logins each (ms)")
print(f"  {'IdP':16} {'p50':>8} {'p95':>8} {'min':>8} {'max':>8}")
for k, xs in lat.items():
    print(f"  {k:16} {pct(xs, 50):8.1f} {pct(xs, 95):8.1f} {min(xs):8.1f} {max(xs):8.1f}")
PY
