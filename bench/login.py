#!/usr/bin/env python3
"""Drives logins through pamtester for bench/login.sh and prints the numbers.

Per login: start pamtester (module -> helper), time until the link is on
screen; the scripted browser signs in and stops before the callback; then
the callback is sent to the relay (t0) and the time until pamtester says
"successfully authenticated" (t1) is the latency measured.
Baseline: a poller that asks the relay every 5 s (device-flow style) for a
login registered directly at the relay; callbacks land at random phases.
"""
import hashlib, base64, json, os, random, re, secrets, statistics, subprocess, sys, time
import urllib.request, urllib.error

RELAY, IDP, SVCDIR = os.environ["RELAY"], os.environ["IDP"], os.environ["SVCDIR"]
N = int(os.environ.get("BENCH_LOGINS", "200"))
NB = int(os.environ.get("BENCH_BASELINE", "12"))
env = dict(os.environ, LD_PRELOAD="libpam_wrapper.so", PAM_WRAPPER="1", PAM_WRAPPER_DEBUGLEVEL="3",
           PAM_WRAPPER_SERVICE_DIR=SVCDIR)
link_re = re.compile(re.escape(RELAY) + r"/l/[A-Za-z0-9_-]{16}")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def one_login():
    t_start = time.monotonic()
    p = subprocess.Popen(["stdbuf", "-o0", "-e0", "pamtester", "-v", "bench", "alice", "authenticate"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=env, bufsize=0)
    buf, link, t_link = b"", None, None
    while link is None:
        chunk = p.stdout.read1(65536) if hasattr(p.stdout, "read1") else os.read(p.stdout.fileno(), 65536)
        if not chunk:
            raise RuntimeError("pamtester ended before the link: " + buf.decode(errors="replace"))
        buf += chunk
        m = link_re.search(buf.decode(errors="replace"))
        if m:
            link, t_link = m.group(0), time.monotonic()
    cb = subprocess.run(["node", "tests/idp/browser.mjs", "--url", link, "--user", "alice",
                         "--password", "alice-pw", "--stop-at-redirect", RELAY + "/callback"],
                        capture_output=True, text=True, check=True).stdout.strip()
    t0 = time.monotonic()
    urllib.request.urlopen(cb).read()
    fd = p.stdout.fileno()
    while b"successfully authenticated" not in buf:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
    t1 = time.monotonic()
    rest = p.stdout.read()
    p.wait()
    out = (buf + rest).decode(errors="replace")
    if "successfully authenticated" not in out:
        raise RuntimeError("login refused: " + out[-400:])
    rss = re.search(r"helper peak RSS (\d+) KiB", out)
    return (t_link - t_start) * 1000, (t1 - t0) * 1000, int(rss.group(1)) if rss else None


def baseline_sample():
    """One login registered at the relay, polled every 5 s; the callback
    lands at a random moment; returns callback -> poll-sees-code in ms."""
    state = secrets.token_urlsafe(32)
    secret = secrets.token_urlsafe(32)
    h = base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()).rstrip(b"=").decode()
    chal = base64.urlsafe_b64encode(hashlib.sha256(b"v" * 43).digest()).rstrip(b"=").decode()
    from urllib.parse import quote
    auth = (f"{IDP}/auth?response_type=code&client_id=pkce-rs256&redirect_uri={quote(RELAY + '/callback', safe='')}"
            f"&scope=openid&state={state}&nonce=n&code_challenge={chal}&code_challenge_method=S256")
    body = json.dumps({"state": state, "poll_secret_sha256": h, "ttl": 60, "authorization_url": auth,
                       "context": {"host": "bench", "service": "bench", "user": "alice", "rhost": ""}}).encode()
    urllib.request.urlopen(urllib.request.Request(RELAY + "/v1/sessions", body,
                                                  {"Content-Type": "application/json"})).read()
    start = time.monotonic()
    fire_at = start + random.uniform(0, 5)
    t0 = None
    next_poll = start
    while True:
        now = time.monotonic()
        if t0 is None and now >= fire_at:
            urllib.request.urlopen(f"{RELAY}/callback?code=c&state={state}").read()
            t0 = time.monotonic()
        if now >= next_poll:
            req = urllib.request.Request(f"{RELAY}/v1/sessions/{state}?wait=0",
                                         headers={"Authorization": "Bearer " + secret})
            ans = json.loads(urllib.request.urlopen(req).read())
            if ans["status"] == "code":
                return (time.monotonic() - t0) * 1000
            next_poll += 5.0
        time.sleep(min(0.005, max(0.0, min(next_poll, fire_at if t0 is None else next_poll) - now)))


def main():
    one_login()  # warms the discovery/JWKS cache
    links, lat, rss = [], [], []
    for i in range(N):
        l, d, r = one_login()
        links.append(l)
        lat.append(d)
        if r:
            rss.append(r)
    base = [baseline_sample() for _ in range(NB)]
    print(f"Login latency over {N} logins on loopback (callback at the relay -> PAM_SUCCESS at pamtester)")
    print(f"  {'':34} {'p50 ms':>9} {'p95 ms':>9}")
    print(f"  {'long-poll (this helper)':34} {pct(lat, 50):9.1f} {pct(lat, 95):9.1f}")
    print(f"  {'baseline: 5 s poll interval':34} {pct(base, 50):9.1f} {pct(base, 95):9.1f}   ({NB} samples)")
    print(f"  ratio baseline/ours at p50: {pct(base, 50) / pct(lat, 50):.0f}x")
    print(f"Module called -> link on screen (warm cache): p50 {pct(links, 50):.1f} ms, p95 {pct(links, 95):.1f} ms")
    if rss:
        print(f"Helper peak RSS: max {max(rss)} KiB ({max(rss) / 1024:.1f} MiB), median {statistics.median(rss):.0f} KiB")


if __name__ == "__main__":
    sys.exit(main())
