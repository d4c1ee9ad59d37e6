#!/usr/bin/env python3
"""Abuse and fault cases against a running oauth2-pkce-relay (issue 6).

Driven by tests/relay/abuse.sh, which starts a fresh relay per case:

    attack.py CASE --port PORT --pid PID --regsec-file FILE

Each case runs its attack with python3 asyncio (stdlib only), an honest
login beside it (register, hold a poll with wait=20, send the callback, the
held poll answers with the code within 2 s), /healthz probes (each must
answer within 1 s), and measures the relay's RSS before and after.
Prints "ok   NAME" / "FAIL NAME" lines (details indented below a FAIL);
abuse.sh counts them. Counts and deadlines come from ABUSE_* variables.
"""
import argparse
import asyncio
import base64
import hashlib
import json
import os
import random
import re
import secrets
import socket
import struct
import sys
import time
import traceback

BASE = "https://relay.example.org"
EP = "https://idp.example.com/authorize"
CID = "pam-client"
ISS = "https://idp.example.com"
HOST = "relay.example.org"


def env_int(name, default):
    return int(os.environ.get(name, default))


def env_float(name, default):
    return float(os.environ.get(name, default))


RSS_MIB = env_float("ABUSE_RSS_MIB", 20)
SETTLE = env_float("ABUSE_SETTLE", 0.5)
HONEST_WAKE = env_float("ABUSE_HONEST_WAKE", 2.0)


# ---- output --------------------------------------------------------------

def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name, flush=True)
    if not cond and detail:
        for line in str(detail).splitlines()[:20]:
            print("     " + line, flush=True)
    return cond


def note(text):
    print("     " + text, flush=True)


# ---- relay handle --------------------------------------------------------

class Relay:
    def __init__(self, port, pid, regsec):
        self.port = port
        self.pid = pid
        self.regsec = regsec

    def rss_kib(self):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return -1

    def fds(self):
        try:
            return len(os.listdir(f"/proc/{self.pid}/fd"))
        except OSError:
            return -1

    def alive(self):
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except OSError:
            return False


# ---- HTTP on raw streams -------------------------------------------------

class Resp:
    def __init__(self, status, headers, body, head):
        self.status = status
        self.headers = headers  # lower-case name -> last value
        self.body = body
        self.head = head  # raw header block, bytes

    def head_no_date(self):
        return b"\r\n".join(l for l in self.head.split(b"\r\n") if not l.lower().startswith(b"date:"))


def src_addrs(n, first=2):
    return [f"127.0.0.{i}" for i in range(first, first + n)]


CONNECT_SEM = None


async def connect(r, src="127.0.0.1", timeout=10.0, bulk=True):
    """Attack traffic (bulk) takes turns for connect() so the listen backlog is
    not what is being measured; honest traffic and probes never wait for it."""
    opening = asyncio.open_connection("127.0.0.1", r.port, local_addr=(src, 0), limit=1 << 20)
    if not bulk:
        return await asyncio.wait_for(opening, timeout)
    async with CONNECT_SEM:
        return await asyncio.wait_for(opening, timeout)


def close_writer(w, rst=False):
    if w is None:
        return
    try:
        if rst:
            sock = w.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        w.close()
    except Exception:
        pass


async def read_response(reader, head_only=False):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    status = int(parts[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    if head_only or status in (204, 304) or status < 200:
        body = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        body = await reader.read()
    return Resp(status, headers, body, head)


def build(method, path, headers=(), body=None, close=False):
    if isinstance(path, str):
        path = path.encode()
    out = [method.encode() + b" " + path + b" HTTP/1.1", b"Host: " + HOST.encode()]
    for k, v in headers:
        out.append(k.encode() + b": " + (v if isinstance(v, bytes) else v.encode()))
    if body is not None:
        out.append(b"Content-Length: %d" % len(body))
    if close:
        out.append(b"Connection: close")
    return b"\r\n".join(out) + b"\r\n\r\n" + (body or b"")


async def request(r, method, path, headers=(), body=None, timeout=5.0, src="127.0.0.1"):
    """One request on its own connection; a Resp, or None (no answer in time / closed)."""
    w = None
    try:
        rd, w = await connect(r, src, timeout, bulk=False)
        w.write(build(method, path, headers, body, close=True))
        await w.drain()
        return await asyncio.wait_for(read_response(rd), timeout)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ValueError):
        return None
    finally:
        close_writer(w)


async def ka_run(r, reqs, src="127.0.0.1", timeout=10.0, on_done=None):
    """Sends reqs one after another on one keep-alive connection (a new one
    when the relay says Connection: close). No retries: a request that gets
    no answer is recorded as None and the connection is replaced."""
    out = []
    rd = w = None
    for q in reqs:
        resp = None
        try:
            if w is None:
                rd, w = await connect(r, src, timeout)
            w.write(q)
            await w.drain()
            resp = await asyncio.wait_for(read_response(rd), timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ValueError):
            close_writer(w)
            w = None
        out.append(resp)
        if on_done:
            on_done()
        if resp is not None and resp.headers.get("connection", "").lower() == "close":
            close_writer(w)
            w = None
    close_writer(w)
    return out


def split(items, n):
    return [items[i::n] for i in range(n)]


async def ka_many(r, reqs, conns, srcs=("127.0.0.1",), timeout=10.0, on_done=None):
    """reqs spread over conns keep-alive connections; answers in reqs' order."""
    idx = list(range(len(reqs)))
    parts = split(idx, conns)
    res = await asyncio.gather(*(ka_run(r, [reqs[i] for i in p], srcs[k % len(srcs)], timeout, on_done)
                                 for k, p in enumerate(parts)))
    out = [None] * len(reqs)
    for p, rs in zip(parts, res):
        for i, x in zip(p, rs):
            out[i] = x
    return out


def parse_all(buf):
    """Every complete response in buf (Content-Length framing)."""
    out = []
    while True:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return out
        head = buf[:end]
        try:
            status = int(head.split(b"\r\n", 1)[0].split(b" ")[1])
        except (IndexError, ValueError):
            return out
        n = 0
        for l in head.split(b"\r\n")[1:]:
            if l.lower().startswith(b"content-length:"):
                n = int(l.split(b":", 1)[1])
        out.append(status)
        buf = buf[end + 4 + n:]


async def raw_exchange(r, chunks, timeout=3.0, src="127.0.0.1", pace=0.0, stop_after=None):
    """Sends chunks (stopping when the relay closes or resets) and reads until
    EOF, timeout or stop_after complete answers. Returns (statuses, closed,
    bytes_sent)."""
    rd, w = await connect(r, src)
    sent = 0
    buf = b""
    closed = False

    async def sender():
        nonlocal sent
        try:
            for c in chunks:
                w.write(c)
                await w.drain()
                sent += len(c)
                if pace:
                    await asyncio.sleep(pace)
        except (OSError, RuntimeError):
            pass

    st = asyncio.ensure_future(sender())
    t_end = time.monotonic() + timeout
    try:
        while True:
            left = t_end - time.monotonic()
            if left <= 0:
                break
            data = await asyncio.wait_for(rd.read(65536), left)
            if not data:
                closed = True
                break
            buf += data
            if stop_after and len(parse_all(buf)) >= stop_after:
                break
    except asyncio.TimeoutError:
        pass
    except OSError:
        closed = True
    st.cancel()
    close_writer(w)
    return parse_all(buf), closed, sent


# ---- logins --------------------------------------------------------------

def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rnd43():
    return b64(secrets.token_bytes(32))


def mkurl(state, chal, extra=""):
    return (f"{EP}?response_type=code&client_id={CID}&redirect_uri=https%3A%2F%2Frelay.example.org%2Fcallback"
            f"&scope=openid%20profile&state={state}&nonce=n0nce-1&code_challenge={chal}"
            f"&code_challenge_method=S256{extra}")


def regbody(state, secret, ttl=300, url=None, ctx=None):
    return json.dumps({
        "state": state,
        "poll_secret_sha256": b64(hashlib.sha256(secret.encode()).digest()),
        "ttl": ttl,
        "authorization_url": url or mkurl(state, rnd43()),
        "context": ctx or {"host": "web1.example.org", "service": "sshd", "user": "alice",
                           "rhost": "203.0.113.9"},
    }, separators=(",", ":")).encode()


def reg_headers(r):
    return [("Authorization", "Bearer " + r.regsec), ("Content-Type", "application/json")]


def poll_req(state, secret, wait=None, close=False):
    q = f"?wait={wait}" if wait is not None else ""
    return build("GET", f"/v1/sessions/{state}{q}", [("Authorization", "Bearer " + secret)], close=close)


def cb_req(state, code, close=False):
    return build("GET", f"/callback?code={code}&state={state}&iss=https%3A%2F%2Fidp.example.com", close=close)


async def register_many(r, n, conns=16):
    logins = [(rnd43(), rnd43()) for _ in range(n)]
    reqs = [build("POST", "/v1/sessions", reg_headers(r), regbody(s, p)) for s, p in logins]
    res = await ka_many(r, reqs, conns, timeout=20)
    bad = sum(1 for x in res if x is None or x.status != 201)
    return logins, bad


async def honest_login(r):
    """(ok, detail): register, hold a poll (wait=20), callback, the poll answers with the code."""
    state, secret = rnd43(), rnd43()
    t_start = time.monotonic()
    resp = await request(r, "POST", "/v1/sessions", reg_headers(r), regbody(state, secret), timeout=5)
    if resp is None or resp.status != 201:
        return False, f"register -> {resp.status if resp else 'no answer in 5 s'}"
    poll = asyncio.ensure_future(request(r, "GET", f"/v1/sessions/{state}?wait=20",
                                         [("Authorization", "Bearer " + secret)], timeout=25))
    await asyncio.sleep(0.3)
    code = "honest-" + b64(secrets.token_bytes(12))
    t0 = time.monotonic()
    cb = await request(r, "GET", f"/callback?code={code}&state={state}&iss=https%3A%2F%2Fidp.example.com",
                       timeout=5)
    if cb is None or cb.status != 200:
        poll.cancel()
        return False, f"callback -> {cb.status if cb else 'no answer in 5 s'}"
    try:
        pr = await asyncio.wait_for(poll, HONEST_WAKE + 3)
    except asyncio.TimeoutError:
        return False, f"held poll: no answer {HONEST_WAKE + 3:.0f} s after the callback"
    dt = time.monotonic() - t0
    want = {"status": "code", "code": code, "iss": ISS}
    try:
        got = json.loads(pr.body) if pr else None
    except ValueError:
        got = pr.body
    if pr is None or pr.status != 200 or got != want:
        return False, f"held poll -> {pr.status if pr else 'none'} {got!r}"
    if dt > HONEST_WAKE:
        return False, f"held poll answered {dt * 1000:.0f} ms after the callback (> {HONEST_WAKE} s)"
    return True, f"wake {dt * 1000:.0f} ms, whole login {(time.monotonic() - t_start) * 1000:.0f} ms"


class Prober:
    """/healthz every 0.25 s from 127.0.0.1; each must answer 200 ok within 1 s."""

    def __init__(self, r):
        self.r = r
        self.n = self.bad = 0
        self.max_ms = 0.0
        self.peak_rss = r.rss_kib()
        self._stop = False
        self._task = asyncio.ensure_future(self._run())

    async def _run(self):
        while not self._stop:
            t = time.monotonic()
            try:
                resp = await asyncio.wait_for(request(self.r, "GET", "/healthz", timeout=1.0), 1.0)
            except asyncio.TimeoutError:
                resp = None
            ms = (time.monotonic() - t) * 1000
            self.n += 1
            self.max_ms = max(self.max_ms, ms)
            if resp is None or resp.status != 200 or resp.body != b"ok\n":
                self.bad += 1
            self.peak_rss = max(self.peak_rss, self.r.rss_kib())
            await asyncio.sleep(max(0.0, 0.25 - (time.monotonic() - t)))

    async def stop(self):
        self._stop = True
        await self._task

    def summary(self):
        return f"{self.n} probes, {self.bad} failed or slower than 1 s, max {self.max_ms:.0f} ms"


async def watch(r):
    """The "watch" mode, a process of its own so that a busy attacker's event
    loop cannot slow it down: /healthz probes until "stop" on stdin, the
    honest login when "honest" arrives; then one JSON line with the results."""
    prober = Prober(r)
    loop = asyncio.get_running_loop()
    honest = None
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if line == "honest" and honest is None:
            honest = asyncio.ensure_future(honest_login(r))
        elif line in ("stop", ""):
            break
    h = await honest if honest is not None else (False, "never started")
    await prober.stop()
    print(json.dumps({"honest": h, "summary": prober.summary(), "bad": prober.bad, "n": prober.n,
                      "peak_rss": prober.peak_rss}), flush=True)


async def beside(r, label, attack, rss_bound=None):
    """Runs attack(engaged); a watcher process probes /healthz throughout and
    runs an honest login once engaged is set; RSS before/after."""
    rss0 = r.rss_kib()
    child = await asyncio.create_subprocess_exec(
        sys.executable, os.path.abspath(__file__), "watch", "--port", str(r.port), "--pid", str(r.pid),
        "--regsec-file", REGSEC_FILE, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    engaged = asyncio.Event()
    at = asyncio.ensure_future(attack(engaged))
    waiter = asyncio.ensure_future(engaged.wait())
    await asyncio.wait([at, waiter], return_when=asyncio.FIRST_COMPLETED)
    if not engaged.is_set():
        waiter.cancel()
        note("(the attack ended before it was in full swing: honest login after it)")
    child.stdin.write(b"honest\n")
    await child.stdin.drain()
    try:
        result = await at
    finally:
        child.stdin.write(b"stop\n")
        await child.stdin.drain()
        out = await child.stdout.read()
        await child.wait()
    try:
        w = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        w = {"honest": [False, "watcher failed: %r" % out[-200:]], "summary": "watcher failed", "bad": 1, "n": 0,
             "peak_rss": -1}
    h_ok, h_detail = w["honest"]
    check(f"{label}: an honest login completes during the attack ({h_detail})", h_ok, h_detail)
    check(f"{label}: /healthz answers within 1 s during the attack ({w['summary']})",
          w["bad"] == 0 and w["n"] > 0, w["summary"])
    await asyncio.sleep(SETTLE)
    rss1 = r.rss_kib()
    bound = rss_bound if rss_bound is not None else RSS_MIB
    check(f"{label}: relay RSS {rss0 / 1024:.1f} MiB before, peak {w['peak_rss'] / 1024:.1f}, "
          f"{rss1 / 1024:.1f} after (bound +{bound:.0f} MiB)",
          rss1 >= 0 and rss1 - rss0 < bound * 1024, f"before {rss0} KiB, after {rss1} KiB")
    return result


async def alive_and_serving(r, label):
    resp = await request(r, "GET", "/healthz", timeout=2)
    return check(f"{label}: relay alive and serving afterwards",
                 r.alive() and resp is not None and resp.status == 200,
                 "process gone" if not r.alive() else f"/healthz -> {resp.status if resp else 'no answer'}")


# ---- 1. many concurrent connections --------------------------------------

async def case_conns(r):
    n = env_int("ABUSE_CONNS", 4096)
    per = env_int("ABUSE_CONN_REQS", 3)
    deadline = env_float("ABUSE_CONNS_DEADLINE", 20)
    srcs = src_addrs(16)
    label = f"{n} concurrent connections x {per} requests"
    stats = {}

    async def attack(engaged):
        t0 = time.monotonic()
        opened = await asyncio.gather(*(connect(r, srcs[i % len(srcs)]) for i in range(n)),
                                      return_exceptions=True)
        conns = [c for c in opened if not isinstance(c, BaseException)]
        stats["connect_fail"] = n - len(conns)
        stats["connect_ms"] = (time.monotonic() - t0) * 1000
        go = asyncio.Event()

        async def one(rd, w, k):
            got = []
            await go.wait()
            for j in range(per):
                kind = (k + j) % 3
                if kind == 0:
                    q, want = build("GET", "/healthz"), 200
                elif kind == 1:
                    q, want = build("GET", "/l/" + rnd43()[:16]), 404
                else:
                    q, want = cb_req(rnd43(), "x"), 404
                try:
                    w.write(q)
                    await w.drain()
                    resp = await asyncio.wait_for(read_response(rd), deadline)
                    got.append(resp.status == want)
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
                    got.append(False)
                    break
            close_writer(w)
            return got

        tasks = [asyncio.ensure_future(one(rd, w, k)) for k, (rd, w) in enumerate(conns)]
        t1 = time.monotonic()
        go.set()
        engaged.set()
        res = await asyncio.gather(*tasks)
        stats["req_ms"] = (time.monotonic() - t1) * 1000
        stats["answered"] = sum(sum(1 for x in g if x) for g in res)
        stats["conns"] = len(conns)

    await beside(r, label, attack)
    want = n * per
    check(f"{label}: all {n} connections accepted (connect phase {stats['connect_ms']:.0f} ms)",
          stats["connect_fail"] == 0, f"{stats['connect_fail']} connects failed")
    check(f"{label}: all {want} requests answered right, in {stats['req_ms']:.0f} ms (deadline {deadline:.0f} s)",
          stats["answered"] == want, f"{stats['answered']} of {want} answered with the expected status")
    await alive_and_serving(r, label)


# ---- 2. slowloris (RLY-22) -------------------------------------------------

async def case_slowloris(r):
    n_hdr = env_int("ABUSE_SLOW_CONNS", 1000)
    n_body = env_int("ABUSE_SLOW_BODY_CONNS", 200)
    interval = env_float("ABUSE_SLOW_INTERVAL", 2.0)
    deadline = env_float("ABUSE_SLOW_DEADLINE", 12.0)
    per_ip = env_int("ABUSE_SLOW_PER_IP", 64)  # the relay's max_connections_per_ip for this case
    hdr_srcs = src_addrs(max(1, (n_hdr + 49) // 50), 2)  # 50 per address, under the per-IP limit
    body_srcs = src_addrs(max(1, (n_body + 49) // 50), 100)
    label = "RLY-22 slowloris (one byte per %gs)" % interval
    results = {"hdr": [], "body": []}
    perip = {}

    async def slow(kind, k, src, start_delay):
        await asyncio.sleep(start_delay)
        try:
            rd, w = await connect(r, src)
        except (OSError, asyncio.TimeoutError):
            results[kind].append(None)
            return
        t0 = time.monotonic()
        if kind == "hdr":
            if k % 2:
                first, trickle = b"", b"GET /healthz HTTP/1.1\r\nHost: relay.example.org\r\n" + b"X-Slow: " + b"a" * 64
            else:
                first, trickle = b"GET /healthz HTTP/1.1\r\nHost: relay.example.org\r\nX-Slow: ", b"a" * 64
        else:
            st, sec = rnd43(), rnd43()
            first = (b"POST /v1/sessions HTTP/1.1\r\nHost: relay.example.org\r\nAuthorization: Bearer "
                     + r.regsec.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n")
            trickle = regbody(st, sec)[:200]
        closed_at = None

        async def reader():
            try:
                while await rd.read(4096):
                    pass
            except OSError:
                pass
            return time.monotonic()

        rt = asyncio.ensure_future(reader())
        try:
            if first:
                w.write(first)
                await w.drain()
            for b in trickle:
                done, _ = await asyncio.wait([rt], timeout=interval)
                if done or time.monotonic() - t0 > deadline + 2:
                    break
                w.write(bytes([b]))
                await w.drain()
        except OSError:
            pass
        try:
            closed_at = await asyncio.wait_for(rt, max(0.1, t0 + deadline + 2 - time.monotonic()))
        except asyncio.TimeoutError:
            closed_at = None
        close_writer(w, rst=True)
        results[kind].append(None if closed_at is None else closed_at - t0)

    async def per_ip_probe():
        # From one more address: per_ip + 16 idle connections; only per_ip of them may be served.
        src = "127.0.0.250"
        opened = await asyncio.gather(*(connect(r, src) for _ in range(per_ip + 16)), return_exceptions=True)
        conns = [c for c in opened if not isinstance(c, BaseException)]
        await asyncio.sleep(0.5)

        async def ask(rd, w):
            try:
                w.write(build("GET", "/healthz", close=True))
                await w.drain()
                resp = await asyncio.wait_for(read_response(rd), 3)
                return resp.status == 200
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
                return False
            finally:
                close_writer(w)

        perip["served"] = sum(await asyncio.gather(*(ask(rd, w) for rd, w in conns)))
        perip["opened"] = len(conns)

    async def attack(engaged):
        tasks = [asyncio.ensure_future(slow("hdr", k, hdr_srcs[k // 50 % len(hdr_srcs)], random.random() * interval))
                 for k in range(n_hdr)]
        tasks += [asyncio.ensure_future(slow("body", k, body_srcs[k // 50 % len(body_srcs)],
                                             random.random() * interval)) for k in range(n_body)]
        await asyncio.sleep(interval + 1.5)
        engaged.set()
        await per_ip_probe()
        await asyncio.gather(*tasks)

    await beside(r, label, attack)
    for kind, n, what in (("hdr", n_hdr, "headers"), ("body", n_body, "a body (Content-Length 500)")):
        ts = results[kind]
        closed = sorted(t for t in ts if t is not None)
        worst = closed[-1] if closed else 0
        spread = (f" after {closed[0]:.2f} / {closed[len(closed) // 2]:.2f} / {worst:.2f} s (min/median/max)"
                  if closed else "")
        check(f"{label}: all {n} connections trickling {what} closed by the relay within {deadline:g} s "
              f"({len(closed)} closed{spread})",
              len(closed) == n and worst <= deadline,
              f"{n - len(closed)} still open {deadline + 2:g} s after connecting; "
              f"{sum(1 for t in closed if t > deadline)} closed late: "
              + " ".join("%.2f" % t for t in closed if t > deadline)[:300])
    check(f"RLY-22 per-IP limit: {per_ip + 16} connections from one address, at most {per_ip} served "
          f"({perip.get('served')} of {perip.get('opened')})",
          perip.get("served", 10 ** 9) <= per_ip and perip.get("served", 0) > 0, str(perip))
    await alive_and_serving(r, label)


# ---- 3. abandoned long-polls -----------------------------------------------

async def case_abandon(r):
    n = env_int("ABUSE_ABANDON", 1000)
    free_by = env_float("ABUSE_ABANDON_DEADLINE", 2.0)
    srcs = src_addrs(8)
    label = f"{n} abandoned long-polls (wait=30)"
    logins, bad = await register_many(r, n)
    check(f"{label}: {n} logins registered", bad == 0, f"{bad} registrations failed")
    stats = {}

    async def attack(engaged):
        fd0 = r.fds()
        opened = await asyncio.gather(*(connect(r, srcs[i % len(srcs)]) for i in range(n)), return_exceptions=True)
        conns = [c for c in opened if not isinstance(c, BaseException)]
        for (rd, w), (s, p) in zip(conns, logins):
            w.write(poll_req(s, p, 30))
        await asyncio.gather(*(w.drain() for rd, w in conns), return_exceptions=True)
        t = time.monotonic()
        while r.fds() < fd0 + 0.95 * len(conns) and time.monotonic() - t < 3:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        stats["held_fds"] = r.fds() - fd0
        for k, (rd, w) in enumerate(conns):
            close_writer(w, rst=bool(k % 2))  # half close with FIN, half with RST
        t_close = time.monotonic()
        engaged.set()
        freed = None
        while time.monotonic() - t_close < free_by + 3:
            if r.fds() <= fd0 + 10:
                freed = time.monotonic() - t_close
                break
            await asyncio.sleep(0.05)
        stats["freed"] = freed
        stats["left"] = r.fds() - fd0
        stats["fd0"] = fd0

    await beside(r, label, attack)
    fr = stats["freed"]
    check(f"{label}: descriptors freed within {free_by:g} s of the clients closing "
          f"({stats['held_fds']} held, freed in {'%.2f s' % fr if fr is not None else 'never'})",
          fr is not None and fr <= free_by,
          f"{stats['left']} descriptors above the {stats['fd0']} before, {free_by + 3:g} s after closing")
    await alive_and_serving(r, label)


# ---- 4. 5000 held long-polls woken by a burst of callbacks ------------------

async def case_wake(r):
    n = env_int("ABUSE_HELD", 5000)
    cb_conns = env_int("ABUSE_CB_CONNS", 200)
    deadline = env_float("ABUSE_WAKE_DEADLINE", 10.0)
    srcs = src_addrs(16)
    label = f"{n} held long-polls woken by {n} callbacks"
    logins, bad = await register_many(r, n, 32)
    check(f"{label}: {n} logins registered", bad == 0, f"{bad} registrations failed")
    codes = [f"w{i}-" + b64(secrets.token_bytes(9)) for i in range(n)]
    stats = {}

    async def attack(engaged):
        fd0 = r.fds()
        answers = [None] * n
        extra = [0] * n
        t_ans = [None] * n
        t_cb = [None] * n

        async def hold(i):
            try:
                rd, w = await connect(r, srcs[i % len(srcs)])
            except (OSError, asyncio.TimeoutError):
                answers[i] = "connect failed"
                return
            try:
                w.write(poll_req(*logins[i], 30))
                await w.drain()
                written[0] += 1
                resp = await asyncio.wait_for(read_response(rd), 40)
                t_ans[i] = time.monotonic()
                answers[i] = resp
                try:  # anything more on this connection would be a second answer
                    more = await asyncio.wait_for(rd.read(4096), 0.3)
                    extra[i] = len(more)
                except (asyncio.TimeoutError, OSError):
                    pass
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as e:
                answers[i] = f"{type(e).__name__}"
            finally:
                close_writer(w)

        written = [0]
        t = time.monotonic()
        holders = [asyncio.ensure_future(hold(i)) for i in range(n)]
        while (written[0] < n or r.fds() < fd0 + n) and time.monotonic() - t < 20:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        stats["held_fds"] = r.fds() - fd0
        stats["hold_ms"] = (time.monotonic() - t) * 1000
        engaged.set()
        order = list(range(n))
        random.shuffle(order)

        def done_cb(i):
            t_cb[i] = time.monotonic()

        t_burst = time.monotonic()
        parts = split(order, cb_conns)

        async def cb_conn(part, k):
            out = {}
            rd = w = None
            for i in part:
                resp = None
                try:
                    if w is None:
                        rd, w = await connect(r, srcs[k % len(srcs)])
                    w.write(cb_req(logins[i][0], codes[i]))
                    await w.drain()
                    resp = await asyncio.wait_for(read_response(rd), 10)
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
                    close_writer(w)
                    w = None
                done_cb(i)
                out[i] = resp.status if resp else None
            close_writer(w)
            return out

        cbres = await asyncio.gather(*(cb_conn(p, k) for k, p in enumerate(parts)))
        stats["burst_ms"] = (time.monotonic() - t_burst) * 1000
        cbst = {}
        for d in cbres:
            cbst.update(d)
        stats["cb_ok"] = sum(1 for v in cbst.values() if v == 200)
        _, pending = await asyncio.wait(holders, timeout=deadline)
        for p in pending:
            p.cancel()
        good = lost = wrong = 0
        lats = []
        samples = []
        for i in range(n):
            a = answers[i]
            if isinstance(a, Resp):
                try:
                    got = json.loads(a.body)
                except ValueError:
                    got = None
                if a.status == 200 and got == {"status": "code", "code": codes[i], "iss": ISS}:
                    good += 1
                    if t_cb[i] is not None:
                        lats.append(max(0.0, t_ans[i] - t_cb[i]))
                else:
                    wrong += 1
                    if len(samples) < 3:
                        samples.append(f"poll {i}: {a.status} {a.body[:80]!r}")
            else:
                lost += 1
                if len(samples) < 3:
                    samples.append(f"poll {i}: {a or 'no answer'}")
        lats.sort()
        stats.update(good=good, lost=lost, wrong=wrong, samples=samples,
                     twice=sum(1 for x in extra if x),
                     p50=lats[len(lats) // 2] * 1000 if lats else -1,
                     p99=lats[int(len(lats) * 0.99)] * 1000 if lats else -1,
                     maxlat=lats[-1] * 1000 if lats else -1)
        # single hand-out: every login is gone now
        again = await ka_many(r, [poll_req(s, p, 0) for s, p in logins], 32)
        stats["again404"] = sum(1 for x in again if x is not None and x.status == 404)

    await beside(r, label, attack)
    check(f"{label}: all {n} polls held before the burst ({stats['held_fds']} more descriptors in the relay, "
          f"{stats['hold_ms']:.0f} ms)", stats["held_fds"] >= n, "the relay holds fewer connections than polls sent")
    check(f"{label}: all {n} callbacks answered 200 "
          f"(burst over {cb_conns} connections, {stats['burst_ms']:.0f} ms)",
          stats["cb_ok"] == n, f"{n - stats['cb_ok']} callbacks not answered 200")
    check(f"{label}: every poll answered with its own code within {deadline:g} s, none lost "
          f"(wake after the callback's answer: p50 {stats['p50']:.0f} ms, p99 {stats['p99']:.0f} ms, "
          f"max {stats['maxlat']:.0f} ms)",
          stats["good"] == n,
          f"{stats['good']} right, {stats['wrong']} wrong answers, {stats['lost']} lost\n" + "\n".join(stats["samples"]))
    check(f"{label}: none answered twice (no second answer on any poll connection; "
          f"{stats['again404']} of {n} later polls -> 404)",
          stats["twice"] == 0 and stats["again404"] == n,
          f"{stats['twice']} connections got more bytes; {n - stats['again404']} later polls not 404")
    await alive_and_serving(r, label)


# ---- 5. callback flood for unknown states ----------------------------------

async def case_flood(r):
    n = env_int("ABUSE_FLOOD", 20000)
    conns = env_int("ABUSE_FLOOD_CONNS", 64)
    label = f"{n} callbacks for unknown states over {conns} keep-alive connections"
    reqs = [cb_req(rnd43(), "c" + rnd43()) for _ in range(n)]
    stats = {}

    async def attack(engaged):
        done = [0]

        def tick():
            done[0] += 1
            if done[0] == n // 10:
                engaged.set()

        t = time.monotonic()
        res = await ka_many(r, reqs, conns, src_addrs(8), 10, tick)
        stats["ms"] = (time.monotonic() - t) * 1000
        stats["n404"] = sum(1 for x in res if x is not None and x.status == 404)
        bodies = {x.body for x in res if x is not None}
        stats["bodies"] = len(bodies)

    await beside(r, label, attack)
    check(f"{label}: all 404 with one identical body ({stats['ms']:.0f} ms, {n * 1000 / stats['ms']:.0f} req/s)",
          stats["n404"] == n and stats["bodies"] == 1,
          f"{stats['n404']} of {n} were 404; {stats['bodies']} distinct bodies")
    await alive_and_serving(r, label)


# ---- 6. poll-secret brute force ----------------------------------------------

async def case_brute(r):
    n = env_int("ABUSE_BRUTE", 10000)
    conns = env_int("ABUSE_BRUTE_CONNS", 64)
    label = f"RLY-17 poll-secret brute force ({n} wrong bearers)"
    state, secret = rnd43(), rnd43()
    resp = await request(r, "POST", "/v1/sessions", reg_headers(r), regbody(state, secret))
    check(f"{label}: target login registered", resp is not None and resp.status == 201,
          resp.status if resp else "no answer")
    held = asyncio.ensure_future(request(r, "GET", f"/v1/sessions/{state}?wait=20",
                                         [("Authorization", "Bearer " + secret)], timeout=40))
    await asyncio.sleep(0.3)
    wrongs = []
    for i in range(n):
        k = i % 50
        if k == 0:
            b = secret[:-1]
        elif k == 1:
            b = secret + "A"
        elif k == 2:
            b = secret[:-1] + ("A" if secret[-1] != "A" else "B")
        elif k == 3:
            b = ""
        elif k == 4:
            b = secret.upper() if secret.upper() != secret else secret.lower()
        else:
            b = rnd43()
        wait = 30 if k == 5 else (0 if k % 2 else None)
        wrongs.append(poll_req(state, b, wait))
    wrongs.append(build("GET", f"/v1/sessions/{state}", [("Authorization", "Basic " + base64.b64encode(
        ("x:" + secret).encode()).decode())]))
    wrongs.append(build("GET", f"/v1/sessions/{state}"))
    stats = {}

    async def attack(engaged):
        done = [0]

        def tick():
            done[0] += 1
            if done[0] == len(wrongs) // 10:
                engaged.set()

        t = time.monotonic()
        res = await ka_many(r, wrongs, conns, src_addrs(8), 10, tick)
        stats["ms"] = (time.monotonic() - t) * 1000
        stats["n404"] = sum(1 for x in res if x is not None and x.status == 404)
        stats["variants"] = len({(x.head_no_date(), x.body) for x in res if x is not None})

    await beside(r, label, attack)
    m = len(wrongs)
    check(f"{label}: all {m} -> 404, headers and body identical ({stats['ms']:.0f} ms)",
          stats["n404"] == m and stats["variants"] == 1,
          f"{stats['n404']} of {m} were 404; {stats['variants']} distinct answers")
    code = "brute-" + b64(secrets.token_bytes(9))
    t0 = time.monotonic()
    cb = await request(r, "GET", f"/callback?code={code}&state={state}")
    try:
        pr = await asyncio.wait_for(held, HONEST_WAKE + 3)
    except asyncio.TimeoutError:
        pr = None
    dt = time.monotonic() - t0
    ok = cb is not None and cb.status == 200 and pr is not None and pr.status == 200 and \
        json.loads(pr.body or b"null") == {"status": "code", "code": code}
    check(f"{label}: the attacked login's held poll (right secret) still gets its code ({dt * 1000:.0f} ms)",
          ok and dt <= HONEST_WAKE,
          f"callback {cb.status if cb else None}, poll {pr.status if pr else None} {pr.body[:80] if pr else b''!r}")
    await alive_and_serving(r, label)


# ---- 7. oversize requests (RLY-23) -------------------------------------------

async def case_oversize(r):
    label = "RLY-23 oversize requests"
    state, secret = rnd43(), rnd43()
    resp = await request(r, "POST", "/v1/sessions", reg_headers(r), regbody(state, secret))
    lid = json.loads(resp.body)["id"] if resp is not None and resp.status == 201 else "AAAAAAAAAAAAAAAA"
    hreg = b"Authorization: Bearer " + r.regsec.encode() + b"\r\nContent-Type: application/json\r\n"

    def chunked_forever(path, extra_headers, chunk=4096, total=16 << 20):
        yield (b"POST " + path + b" HTTP/1.1\r\nHost: relay.example.org\r\n" + extra_headers
               + b"Transfer-Encoding: chunked\r\n\r\n")
        piece = b"%x\r\n" % chunk + b"a" * chunk + b"\r\n"
        for _ in range(total // chunk):
            yield piece

    def big_header(size):
        yield b"GET /healthz HTTP/1.1\r\nHost: relay.example.org\r\nX-Big: "
        for _ in range(size // 4096):
            yield b"b" * 4096
        yield b"\r\n\r\n"

    def many_headers(n):
        yield b"GET /healthz HTTP/1.1\r\nHost: relay.example.org\r\n"
        for i in range(0, n, 100):
            yield b"".join(b"X-H%d: v\r\n" % j for j in range(i, min(n, i + 100)))
        yield b"\r\n"

    tests = [
        # name, chunks, accepted statuses, close-without-answer accepted
        ("request target of 9 KiB -> 414", [build("GET", "/l/" + "A" * 9 * 1024)], {414}, True),
        ("request target of 64 KiB -> 414", [build("GET", "/callback?code=" + "c" * 64 * 1024 + "&state=x")],
         {414}, True),
        ("headers of 40 KiB in total (40 x 1 KiB) -> 431",
         [build("GET", "/healthz", [("X-Pad-%d" % i, "p" * 1024) for i in range(40)])], {431}, True),
        ("one 1 MiB header -> 431", big_header(1 << 20), {431}, True),
        ("200 small headers -> 431", many_headers(200), {431}, True),
        ("10,000 headers -> 431", many_headers(10000), {431}, True),
        ("POST /v1/sessions with Content-Length 10 MB -> 413 (without sending it)",
         [b"POST /v1/sessions HTTP/1.1\r\nHost: relay.example.org\r\n" + hreg + b"Content-Length: 10000000\r\n\r\n"],
         {413}, False),
        ("POST /l/<id> with Content-Length 10 MB -> 413",
         [b"POST /l/" + lid.encode() + b" HTTP/1.1\r\nHost: relay.example.org\r\n"
          b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000\r\n\r\n"], {413}, False),
        ("POST /v1/sessions chunked body running past 16 KiB -> 413 or closed",
         chunked_forever(b"/v1/sessions", hreg), {413}, True),
        ("POST /l/<id> chunked form body running past 1 KiB -> 413 or closed",
         chunked_forever(b"/l/" + lid.encode(), b"Content-Type: application/x-www-form-urlencoded\r\n", 256),
         {413}, True),
    ]
    rss0 = r.rss_kib()
    for name, chunks, want, close_ok in tests:
        statuses, closed, sent = await raw_exchange(r, chunks, timeout=5, stop_after=1)
        first = statuses[0] if statuses else None
        good = (first in want) or (first is None and closed and close_ok)
        got = (f"{first}" if first else f"no answer, {'closed' if closed else 'left open'}") + f", {sent} bytes sent"
        check(f"{label}: {name} ({got})", good and r.alive(), "relay process gone" if not r.alive() else got)
        hz = await request(r, "GET", "/healthz", timeout=2)
        if hz is None or hz.status != 200:
            check(f"{label}: relay still serving after: {name}", False, "healthz failed")

    async def attack(engaged):
        engaged.set()
        await asyncio.sleep(0.1)

    await beside(r, label, attack)
    rss1 = r.rss_kib()
    check(f"{label}: RSS bounded over all of them ({rss0 / 1024:.1f} -> {rss1 / 1024:.1f} MiB)",
          rss1 - rss0 < RSS_MIB * 1024)
    poll = await request(r, "GET", f"/v1/sessions/{state}", [("Authorization", "Bearer " + secret)])
    check(f"{label}: the login the oversize forms aimed at is still pending",
          poll is not None and b'"status":"pending"' in poll.body, poll.body if poll else "no answer")
    await alive_and_serving(r, label)


# ---- 8. malformed percent-encoding and UTF-8 ----------------------------------

async def case_encoding(r):
    label = "malformed encoding"
    state, secret = rnd43(), rnd43()
    resp = await request(r, "POST", "/v1/sessions", reg_headers(r), regbody(state, secret))
    lid = json.loads(resp.body)["id"] if resp is not None and resp.status == 201 else "AAAAAAAAAAAAAAAA"
    page = await request(r, "GET", "/l/" + lid)
    csrf = "x" * 43
    if page is not None:
        m = re.search(rb'name="csrf" value="([^"]*)"', page.body)
        if m:
            csrf = m.group(1).decode()
    S = state
    U = rnd43()  # an unknown state: a 404 there means the query was accepted
    bad = {
        "bad escape %zz": "%zz", "truncated escape %": "%", "truncated escape %4": "%4",
        "escape of an escape %%41": "%%41", "%G1": "%G1", "%00": "%00", "overlong / %C0%AF": "%C0%AF",
        "3-byte overlong %E0%80%AF": "%E0%80%AF", "4-byte overlong %F0%80%80%AF": "%F0%80%80%AF",
        "lone high surrogate %ED%A0%80": "%ED%A0%80", "lone low surrogate %ED%BF%BF": "%ED%BF%BF",
        "invalid byte %FF": "%FF", "truncated sequence %E2%82": "%E2%82",
    }
    some = ("bad escape %zz", "truncated escape %", "%00", "overlong / %C0%AF", "lone high surrogate %ED%A0%80",
            "invalid byte %FF")
    groups = {}  # area -> [(name, raw request, allowed statuses, close-without-answer accepted)]

    def add(area, name, raw, want, close_ok=False):
        groups.setdefault(area, []).append((name, raw, want, close_ok))

    def get(path, hdrs=()):
        return build("GET", path, hdrs, close=True)

    cb = "/callback query strings"
    for what, v in bad.items():
        add(cb, f"code={what}", get(f"/callback?code=a{v}&state={S}"), {400})
    for what in some:
        v = bad[what]
        add(cb, f"iss={what}", get(f"/callback?code=a&state={S}&iss=x{v}"), {400})
        add(cb, f"error={what}", get(f"/callback?error=e{v}&state={S}"), {400})
        add(cb, f"state={what}", get(f"/callback?code=a&state={S[:40]}{v}"), {400})
        # unknown state: a 404 means the relay took the malformed name
        add(cb, f"unknown parameter name with {what}", get(f"/callback?code=a&state={U}&x{v}=1"), {400})
        add(cb, f"unknown parameter value with {what}", get(f"/callback?code=a&state={U}&session_state=x{v}"),
            {400})
    for what in ("bad escape %zz", "truncated escape %", "%00"):
        add(cb, f"error_description={what} (escapes strict)",
            get(f"/callback?error=access_denied&error_description=d{bad[what]}&state={S}"), {400})
    raw_cb = "raw bytes in the request target"
    for raw, what in ((b"\xc0\xaf", "overlong C0 AF"), (b"\xed\xa0\x80", "lone surrogate"),
                      (b"\xff", "FF"), (b"\x01", "control byte 01"), (b"\x7f", "DEL"),
                      (b"\x00", "NUL"), (b"\x1b[2J", "ESC sequence")):
        add(raw_cb, f"/callback code=a<{what}>b",
            b"GET /callback?code=a" + raw + b"b&state=" + S.encode() + b" HTTP/1.1\r\nHost: "
            + HOST.encode() + b"\r\nConnection: close\r\n\r\n", {400}, True)
    auth = [("Authorization", "Bearer " + secret)]
    pq = "poll query and path"
    for q, what in (("wait=%zz", "bad escape"), ("wait=1%00", "%00 after digit"), ("wait=%00", "%00"),
                    ("wait=%C0%B1", "overlong digit 1"), ("wait=%ED%A0%80", "lone surrogate"),
                    ("w%zzait=1", "bad escape in name"), ("%00=1", "NUL name"), ("wait=1%", "truncated escape"),
                    ("wait=%EF%BC%91", "fullwidth digit 1"), ("wait=%FF", "invalid byte"),
                    ("wait%C0%AF=1", "overlong in name")):
        add(pq, f"?{q} ({what})", get(f"/v1/sessions/{S}?{q}", auth), {400})
    for p, what in (("%zz", "bad escape"), (S[:40] + "%00", "%00"), ("%C0%AF" * 8, "overlong"),
                    (S[:40] + "%ED%A0%80", "lone surrogate")):
        add(pq, f"/v1/sessions/<{what}> -> 400/404", get(f"/v1/sessions/{p}", auth), {400, 404})
    for p, what in (("%zz", "bad escape"), ("%00" * 16, "%00"), ("%C0%AF" * 8, "overlong")):
        add(pq, f"/l/<{what}> -> 400/404", get(f"/l/{p}"), {400, 404})

    def form(body):
        return build("POST", f"/l/{lid}", [("Content-Type", "application/x-www-form-urlencoded")],
                     body.encode() if isinstance(body, str) else body, close=True)

    fm = "/l/<id> form bodies"
    for body, what, want in (
            ("csrf=%zz&continue=1", "csrf bad escape", {400}),
            (f"csrf={csrf}&continue=%zz", "continue bad escape", {400}),
            (f"csrf={csrf}&deny=1%", "deny truncated escape", {400}),
            (f"csrf={csrf[:42]}%00&continue=1", "csrf with %00", {400}),
            (f"csrf={csrf}%00&continue=1", "csrf + %00", {400}),
            (f"csrf={csrf[:41]}%C0%AF&continue=1", "csrf with overlong UTF-8 (43 bytes) -> 400/403", {400, 403}),
            (f"csrf={csrf[:40]}%ED%A0%80&continue=1", "csrf with lone surrogate (43 bytes) -> 400/403",
             {400, 403}),
            (f"c%zzsrf={csrf}&continue=1", "name bad escape", {400}),
            (f"%C0%AFcsrf={csrf}&continue=1", "name with overlong UTF-8", {400}),
            (f"csrf={csrf}&continue=1&%00=1", "NUL name", {400}),
            (b"csrf=" + csrf.encode()[:41] + b"\xc0\xaf&continue=1", "raw overlong bytes in csrf -> 400/403",
             {400, 403})):
        add(fm, what, form(body), want)

    rj = "registration JSON"
    reg_states = []

    def reg(mut):
        st = rnd43()
        reg_states.append(st)
        return build("POST", "/v1/sessions", reg_headers(r), mut(regbody(st, secret)), close=True)

    for raw, what in ((b"\xc0\xaf", "overlong"), (b"\xed\xa0\x80", "lone surrogate (CESU)"), (b"\xff", "byte FF"),
                      (b"\xe2\x82", "truncated sequence"), (b"\xf4\x90\x80\x80", "above U+10FFFF"),
                      (b"\xc1\xbf", "overlong C1")):
        add(rj, f"context user with {what}",
            reg(lambda b, raw=raw: b.replace(b'"user":"alice"', b'"user":"al' + raw + b'ice"')), {400})
        add(rj, f"member name with {what}", reg(lambda b, raw=raw: b.replace(b'"ttl"', b'"t' + raw + b'tl"')),
            {400})
    for esc, what in (("\\ud800", "lone high surrogate escape"), ("\\udc00", "lone low surrogate escape"),
                      ("\\ud800\\u0041", "high surrogate + non-surrogate"), ("\\u0000", "\\u0000"),
                      ("\\uZZZZ", "bad \\u escape \\uZZZZ"), ("\\u00zz", "bad \\u escape \\u00zz"),
                      ("\\x41", "bad escape \\x")):
        add(rj, f"context host with {what}",
            reg(lambda b, esc=esc: b.replace(b'"host":"web1', b'"host":"web1' + esc.encode())), {400})
    for v, what in (("%zz", "bad escape"), ("%00", "%00"), ("%C0%AF", "overlong"), ("%ED%A0%80", "lone surrogate"),
                    ("%FF", "byte FF"), ("%", "truncated escape")):
        add(rj, f"authorization_url login_hint={what}",
            reg(lambda b, v=v: b.replace(b"&code_challenge_method=S256",
                                         b"&code_challenge_method=S256&login_hint=a" + v.encode())), {400})

    async def one(t):
        name, raw, want, close_ok = t
        statuses, closed, _ = await raw_exchange(r, [raw], timeout=3, stop_after=1)
        first = statuses[0] if statuses else None
        good = (first in want) or (first is None and closed and close_ok)
        return name, good, first, closed

    total = 0
    for area, tests in groups.items():
        results = []
        for i in range(0, len(tests), 16):
            results += await asyncio.gather(*(one(t) for t in tests[i:i + 16]))
        total += len(tests)
        fails = [f"{n}: got {f}" if f else f"{n}: no answer, connection {'closed' if c else 'left open'}"
                 for n, g, f, c in results if not g]
        fivexx = [n for n, g, f, c in results if f is not None and f >= 500]
        check(f"{label}: {area}: {len(tests)} inputs -> 400 (or as noted), never 5xx, relay alive"
              f"{' (%d wrong)' % len(fails) if fails else ''}", not fails and not fivexx and r.alive(),
              "\n".join(fails))
    regd = await ka_many(r, [poll_req(st, secret) for st in reg_states], 4)
    took = sum(1 for x in regd if x is None or x.status != 404)
    check(f"{label}: none of the {len(reg_states)} malformed registrations was stored", took == 0,
          f"{took} of them answer the poll")
    poll = await request(r, "GET", f"/v1/sessions/{S}", auth)
    pg = await request(r, "GET", "/l/" + lid)
    check(f"{label}: the target login is still pending and its link unused",
          poll is not None and b'"status":"pending"' in poll.body and pg is not None and pg.status == 200,
          f"poll {poll.body if poll else None!r}, /l/ {pg.status if pg else None}")

    async def attack(engaged):
        engaged.set()
        await asyncio.sleep(0.1)

    await beside(r, label, attack)
    await alive_and_serving(r, label)


# ---- 9. framing (RFC 9112 §6.1, §6.3, §5) ---------------------------------------

async def case_framing(r):
    label = "framing"
    reg = (b"POST /v1/sessions HTTP/1.1\r\nHost: relay.example.org\r\nAuthorization: Bearer " + r.regsec.encode()
           + b"\r\nContent-Type: application/json\r\n")
    pipelined = b"GET /healthz HTTP/1.1\r\nHost: relay.example.org\r\n\r\n"
    secret = rnd43()
    states = []

    def fresh():
        """A valid registration body for a new state (so a smuggled request would be stored)."""
        st = rnd43()
        states.append(st)
        b = regbody(st, secret)
        return b, b"%x\r\n" % len(b) + b + b"\r\n0\r\n\r\n"

    get = b"GET /healthz HTTP/1.1\r\nHost: relay.example.org\r\n"
    # name, request (a function of a fresh registration body and its chunked form), allowed statuses, must close.
    # A pipelined GET /healthz follows each one: after a framing error it must get no answer.
    cases = [
        ("RFC 9112 6.1: Content-Length and Transfer-Encoding: chunked",
         lambda b, c: reg + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + c, {400}, True),
        ("RFC 9112 6.1: Transfer-Encoding: chunked then Content-Length",
         lambda b, c: reg + b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n\r\n" % len(c) + c, {400}, True),
        ("RFC 9112 6.1: GET with Content-Length and Transfer-Encoding",
         lambda b, c: get + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", {400}, True),
        ("RFC 9112 6.3: two different Content-Length headers",
         lambda b, c: reg + b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n" % (len(b), len(b) + 5) + b + b"xxxxx",
         {400}, True),
        ("RFC 9112 6.3: Content-Length list with different values",
         lambda b, c: reg + b"Content-Length: %d, %d\r\n\r\n" % (len(b), len(b) + 5) + b + b"xxxxx", {400}, True),
        ("RFC 9112 6.3: Content-Length with a plus sign",
         lambda b, c: reg + b"Content-Length: +%d\r\n\r\n" % len(b) + b, {400}, True),
        ("RFC 9112 6.3: Content-Length: -1", lambda b, c: reg + b"Content-Length: -1\r\n\r\n", {400}, True),
        ("RFC 9112 6.3: Content-Length in hex (0x10)",
         lambda b, c: reg + b"Content-Length: 0x10\r\n\r\n" + b"a" * 16, {400}, True),
        ("RFC 9112 6.1: Transfer-Encoding: gzip",
         lambda b, c: reg + b"Transfer-Encoding: gzip\r\n\r\n" + b, {400, 501}, True),
        ("RFC 9112 6.1: Transfer-Encoding: gzip, chunked",
         lambda b, c: reg + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + c, {400, 501}, True),
        ("RFC 9112 6.3: Transfer-Encoding: chunked, gzip (chunked not last)",
         lambda b, c: reg + b"Transfer-Encoding: chunked, gzip\r\n\r\n" + c, {400, 501}, True),
        ("RFC 9112 6.1: Transfer-Encoding: xchunked",
         lambda b, c: reg + b"Transfer-Encoding: xchunked\r\n\r\n" + c, {400, 501}, True),
        ("RFC 9112 5.2: obs-fold header line", lambda b, c: get + b"X-A: a\r\n b\r\n\r\n", {400}, False),
        ("RFC 9112 5.2: obs-fold in Content-Length",
         lambda b, c: reg + b"Content-Length:\r\n %d\r\n\r\n" % len(b) + b, {400}, False),
        ("RFC 9112 2.2: bare CR in a header", lambda b, c: get + b"X-A: a\rb\r\n\r\n", {400}, False),
        ("RFC 9112 5.1: space before the colon", lambda b, c: get.replace(b"Host:", b"Host :") + b"\r\n",
         {400}, False),
        ("RFC 9112 5.1: space before the colon (Content-Length)",
         lambda b, c: reg + b"Content-Length : %d\r\n\r\n" % len(b) + b, {400}, False),
    ]
    tests = [(name, mk(*fresh()), want, must_close) for name, mk, want, must_close in cases]

    async def one(t):
        name, raw, want, must_close = t
        statuses, closed, _ = await raw_exchange(r, [raw + pipelined], timeout=2)
        first = statuses[0] if statuses else None
        good = first in want and (not must_close or (closed and len(statuses) == 1))
        got = (f"{first if first else 'no answer'}, {len(statuses)} answer(s), "
               f"{'closed' if closed else 'left open'}")
        return name, want, must_close, good, got

    results = await asyncio.gather(*(one(t) for t in tests))
    for name, want, must_close, good, got in results:
        w = "/".join(str(x) for x in sorted(want))
        check(f"{label}: {name} -> {w}{' and closed (pipelined request unanswered)' if must_close else ''} ({got})",
              good and r.alive(), got)
    # none of the ambiguous registrations was stored
    regd = await ka_many(r, [poll_req(st, secret) for st in states], 4)
    took = sum(1 for x in regd if x is None or x.status != 404)
    check(f"{label}: none of the {len(states)} ambiguously framed registrations was stored", took == 0,
          f"{took} of them answer the poll (registered)")

    async def attack(engaged):
        engaged.set()
        await asyncio.sleep(0.1)

    await beside(r, label, attack)
    await alive_and_serving(r, label)


CASES = {
    "conns": case_conns,
    "slowloris": case_slowloris,
    "abandon": case_abandon,
    "wake": case_wake,
    "flood": case_flood,
    "brute": case_brute,
    "oversize": case_oversize,
    "encoding": case_encoding,
    "framing": case_framing,
    "watch": watch,
}


REGSEC_FILE = None


async def amain(a):
    global CONNECT_SEM, REGSEC_FILE
    REGSEC_FILE = os.path.abspath(a.regsec_file)
    CONNECT_SEM = asyncio.Semaphore(env_int("ABUSE_CONNECT_PARALLEL", 100))
    with open(a.regsec_file) as f:
        regsec = f.read().strip()
    r = Relay(a.port, a.pid, regsec)
    try:
        await CASES[a.case](r)
    except Exception:
        check(f"{a.case}: the harness ran to the end", False, traceback.format_exc())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("case", choices=sorted(CASES))
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--regsec-file", required=True)
    a = p.parse_args()
    asyncio.run(amain(a))


if __name__ == "__main__":
    main()
