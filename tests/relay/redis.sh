#!/bin/bash
# Several relay instances sharing one Redis (store = redis; RLY-19, RLY-20):
# a real redis-server on a free loopback port and three real relays (same
# base_url and allow-lists, different ports), driven with curl and a small
# Python client for the races and the timings. Checks: register / context
# page + callback / poll on three different instances; a poll held on A
# answers within 1 s of the callback on B; 1000 races of two callbacks for
# one login on two instances (first wins, exactly one code handed out) and
# of two polls for one code; max_sessions across instances; Redis killed and
# restarted mid-login (fail closed, /healthz 503 then 200 by itself, never a
# second hand-out); a relay restart keeps pending logins.
# B=build dir (default build); RACES=N overrides 1000.
# Last line: "relay-redis: N passed, N failed"; exit status non-zero on any failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
SUITE=relay-redis BAD_DETAIL='head -n 20'
. tests/lib/common.sh
RELAY=${RELAY:-$B/oauth2-pkce-relay}
RACES=${RACES:-1000}
[ -x "$RELAY" ] || give_up "relay binary $RELAY not found"
command -v redis-server >/dev/null || give_up "redis-server not found (tests/deps.sh installs it)"
RELAY=$(realpath "$RELAY")
tmpdir
PIDS=()
REDIS_PID=
cleanup() {
	exec 2>/dev/null # no "Killed" job notices after the last line
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$REDIS_PID" ] && kill -9 "$REDIS_PID" 2>/dev/null
	wait 2>/dev/null
}
at_exit cleanup

BASE=https://relay.example.org
EP=https://idp.example.com/authorize
CID=pam-client
REDIR_ENC='https%3A%2F%2Frelay.example.org%2Fcallback'
rnd43() { head -c 32 /dev/urandom | basenc --base64url | tr -d '='; }
sha_b64() { printf '%s' "$1" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '='; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

REDIS_PORT=$(free_port)
redis_start() { # [extra redis-server args]
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
		--daemonize no --dir "$T" "$@" >>"$T/redis.log" 2>&1 &
	REDIS_PID=$!
	for _ in $(seq 100); do
		redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0
		sleep 0.05
	done
	echo "redis-server did not start"; cat "$T/redis.log"
	return 1
}
redis_kill() { kill -9 "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; REDIS_PID=; }

REGSEC=$(rnd43)
(umask 077; printf '%s\n' "$REGSEC" >"$T/reg.secret")
conf() { # FILE DB MAX
	{
		echo "base_url = $BASE"
		echo "allowed_authorization_endpoint = $EP"
		echo "allowed_client_id = $CID"
		echo "max_ttl = 300"
		echo "max_sessions = $3"
		echo "registration_secret_file = $T/reg.secret"
		echo "metrics_listen = off"
		echo "store = redis"
		echo "redis_url = redis://127.0.0.1:$REDIS_PORT/$2"
	} >"$1"
}
# start_relay NAME CONF [PORT]: sets PORT_<NAME>, PID_<NAME>
start_relay() {
	local name=$1 log=$T/$1.log port
	"$RELAY" --config "$2" --listen "127.0.0.1:${3:-0}" 2>>"$log" &
	local pid=$!
	PIDS+=("$pid")
	for _ in $(seq 200); do
		port=$(sed -n 's/.* port \([0-9][0-9]*\),.*/\1/p' "$log" | tail -n 1)
		if [ -n "$port" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = 200 ]; then
			eval "PORT_$name=$port PID_$name=$pid"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "relay $name did not start:"; cat "$log"
	return 1
}
healthz() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$1/healthz"; }
wait_health() { # PORT WANT SECONDS
	local i
	for i in $(seq $(($3 * 20))); do
		[ "$(healthz "$1")" = "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# req PORT METHOD PATH [curl args]: sets st; body in $T/b
req() {
	local port=$1 m=$2 p=$3
	shift 3
	st=$(curl -s --max-time 40 -o "$T/b" -w '%{http_code}' -X "$m" "$@" "http://127.0.0.1:$port$p")
}
mkurl() { # STATE CHALLENGE
	printf '%s?response_type=code&client_id=%s&redirect_uri=%s&scope=openid%%20profile&state=%s&nonce=n0nce&code_challenge=%s&code_challenge_method=S256' \
		"$EP" "$CID" "$REDIR_ENC" "$1" "$2"
}
new_login() { # PORT [TTL]: sets STATE SECRET ID
	STATE=$(rnd43)
	SECRET=$(rnd43)
	local body
	body=$(printf '{"state":"%s","poll_secret_sha256":"%s","ttl":%s,"authorization_url":"%s","context":{"host":"web1.example.org","service":"sshd","user":"alice","rhost":"203.0.113.9"}}' \
		"$STATE" "$(sha_b64 "$SECRET")" "${2:-120}" "$(mkurl "$STATE" "$(rnd43)")")
	req "$1" POST /v1/sessions -H 'Content-Type: application/json' -H "Authorization: Bearer $REGSEC" \
		--data-binary "$body"
	ID=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$T/b")
}
poll() { req "$1" GET "/v1/sessions/$2${4:+?wait=$4}" -H "Authorization: Bearer $3"; }

# ---- start --------------------------------------------------------------------
redis_start || give_up "redis-server did not start" "$(cat "$T/redis.log")"
conf "$T/r.conf" 0 10000
start_relay A "$T/r.conf" && start_relay B "$T/r.conf" && start_relay C "$T/r.conf" ||
	give_up "three relays did not start"
ok "redis-server and three relays (store = redis) up: $PORT_A $PORT_B $PORT_C"

# ---- one login across three instances --------------------------------------------
new_login "$PORT_A"
[ "$st" = 201 ] && [ -n "$ID" ]
check "RLY-19 register on A -> 201" $? "$st $(cat "$T/b")"
req "$PORT_B" GET "/l/$ID"
[ "$st" = 200 ] && grep -q web1.example.org "$T/b"
check "RLY-19 context page of A's login on B" $? "$st"
CSRF=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$T/b")
req "$PORT_C" POST "/l/$ID" -H 'Content-Type: application/x-www-form-urlencoded' --data "csrf=$CSRF&continue=1" -D "$T/h"
[ "$st" = 302 ] && grep -qi "^location: $EP?" "$T/h"
check "RLY-19 continue on C -> 302 to the IdP" $? "$st"
req "$PORT_B" GET "/callback?code=CODE-XYZ&state=$STATE&iss=https%3A%2F%2Fidp.example.com"
check "RLY-19 callback on B -> 200" "$([ "$st" = 200 ]; echo $?)" "$st"
poll "$PORT_C" "$STATE" "$SECRET"
[ "$st" = 200 ] && grep -q '"status":"code","code":"CODE-XYZ","iss":"https://idp.example.com"' "$T/b"
check "RLY-19 poll on C hands the code out" $? "$st $(cat "$T/b")"
poll "$PORT_A" "$STATE" "$SECRET"
check "RLY-18 a second poll on A -> 404 (handed out once)" "$([ "$st" = 404 ]; echo $?)" "$st"
poll "$PORT_B" "$(rnd43)" "$SECRET"
check "RLY-17 unknown state on B -> 404" "$([ "$st" = 404 ]; echo $?)" "$st"

# ---- a held poll on A woken by the callback on B ------------------------------------
new_login "$PORT_C"
( curl -s --max-time 20 -H "Authorization: Bearer $SECRET" \
	"http://127.0.0.1:$PORT_A/v1/sessions/$STATE?wait=15" >"$T/held"; date +%s%N >"$T/held.end" ) &
HP=$!
sleep 0.3
t0=$(date +%s%N)
req "$PORT_B" GET "/callback?code=HELD-CODE&state=$STATE"
wait "$HP"
ms=$(( ($(cat "$T/held.end") - t0) / 1000000 ))
grep -q '"code":"HELD-CODE"' "$T/held" && [ "$ms" -lt 1000 ]
check "RLY-19 poll held on A answers ${ms} ms after the callback on B (< 1 s)" $? "$(cat "$T/held")"

# ---- deny on B wakes a poll held on C ------------------------------------------------
new_login "$PORT_A"
req "$PORT_B" GET "/l/$ID"
CSRF=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$T/b")
( curl -s --max-time 20 -H "Authorization: Bearer $SECRET" \
	"http://127.0.0.1:$PORT_C/v1/sessions/$STATE?wait=15" >"$T/held" ) &
HP=$!
sleep 0.3
req "$PORT_B" POST "/l/$ID" -H 'Content-Type: application/x-www-form-urlencoded' --data "csrf=$CSRF&deny=1"
wait "$HP"
grep -q '"status":"denied"' "$T/held"
check "XD-02 deny on B answers the poll held on C" $? "$(cat "$T/held")"

# ---- races and timings (Python: many requests, two threads at once) --------------------
cat >"$T/race.py" <<'EOF'
import base64, hashlib, http.client, json, os, sys, threading, time
A, B, C, regsec, races = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
EP = "https://idp.example.com/authorize"
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
conns = {}
def conn(port):
    k = (threading.get_ident(), port)
    if k not in conns:
        conns[k] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    return conns[k]
def req(port, method, path, body=None, headers={}):
    for attempt in range(2):
        c = conn(port)
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            return r.status, r.read()
        except (http.client.HTTPException, OSError):
            c.close(); conns.pop((threading.get_ident(), port), None)
            if attempt: raise
def register(port):
    state, secret = b64(os.urandom(32)), b64(os.urandom(32))
    url = (EP + "?response_type=code&client_id=pam-client&redirect_uri=https%3A%2F%2Frelay.example.org%2Fcallback"
           "&scope=openid&state=" + state + "&nonce=n&code_challenge=" + b64(os.urandom(32)) + "&code_challenge_method=S256")
    body = json.dumps({"state": state, "poll_secret_sha256": b64(hashlib.sha256(secret.encode()).digest()),
                       "ttl": 120, "authorization_url": url,
                       "context": {"host": "h", "service": "sshd", "user": "alice"}})
    st, b = req(port, "POST", "/v1/sessions", body, {"Content-Type": "application/json", "Authorization": "Bearer " + regsec})
    if st != 201: raise SystemExit("register %d %s" % (st, b))
    return state, secret, json.loads(b)["id"]
def poll(port, state, secret, wait=None):
    return req(port, "GET", "/v1/sessions/" + state + ("?wait=%d" % wait if wait is not None else ""),
               headers={"Authorization": "Bearer " + secret})
def callback(port, state, code):
    return req(port, "GET", "/callback?code=%s&state=%s" % (code, state))[0]
def pair(f1, f2):
    out = [None, None]; bar = threading.Barrier(2)
    def run(i, f):
        bar.wait(); out[i] = f()
    ts = [threading.Thread(target=run, args=(0, f1)), threading.Thread(target=run, args=(1, f2))]
    for t in ts: t.start()
    for t in ts: t.join()
    return out
mode = sys.argv[6]
if mode == "races":
    same_bad = diff_bad = poll_bad = 0
    for i in range(races):
        # identical callbacks on two instances (a reload reaching both), then two pollers
        s, sec, _ = register((A, B, C)[i % 3])
        r = pair(lambda: callback(A, s, "CODE%d" % i), lambda: callback(B, s, "CODE%d" % i))
        if sorted(r) != [200, 409]: same_bad += 1
        p = pair(lambda: poll(B, s, sec), lambda: poll(C, s, sec))
        codes = [x for x in p if x[0] == 200 and b'"status":"code"' in x[1] and (b'"code":"CODE%d"' % i) in x[1]]
        if len(codes) != 1 or sorted(x[0] for x in p) != [200, 404]: poll_bad += 1
        # different callbacks on two instances: one wins, the login is then a conflict
        s, sec, _ = register((A, B, C)[i % 3])
        r = pair(lambda: callback(A, s, "AAA%d" % i), lambda: callback(C, s, "CCC%d" % i))
        if sorted(r) != [200, 409]: diff_bad += 1
        p = pair(lambda: poll(A, s, sec), lambda: poll(B, s, sec))
        good = [x for x in p if x[0] == 200 and b'"status":"conflict"' in x[1]]
        if len(good) != 1 or any(b'"code"' in x[1] for x in p) or sorted(x[0] for x in p) != [200, 404]: diff_bad += 1
    print("same %d diff %d poll %d" % (same_bad, diff_bad, poll_bad))
elif mode == "wake":
    lat = []
    for i in range(races):
        s, sec, _ = register(B)
        res = {}
        def held():
            st, b = poll(A, s, sec, 10); res["t"] = time.perf_counter(); res["b"] = b
        t = threading.Thread(target=held); t.start()
        time.sleep(0.02)
        t0 = time.perf_counter()
        callback(B, s, "W%d" % i)
        t.join()
        if b'"code":"W%d"' % i not in res["b"]: print("missed", i); sys.exit(1)
        lat.append((res["t"] - t0) * 1000)
    lat.sort()
    print("%.2f %.2f %.2f" % (lat[len(lat) // 2], lat[int(len(lat) * 0.99) - 1], lat[-1]))
elif mode == "cycles":
    # full cycles (register -> callback -> poll) for N seconds with 8 threads,
    # each step on a different instance when several are given
    ports = [A, B, C]; dur = races; n = [0] * 8; stop = time.time() + dur
    def worker(k):
        i = k
        while time.time() < stop:
            s, sec, _ = register(ports[i % 3])
            callback(ports[(i + 1) % 3], s, "X")
            st, b = poll(ports[(i + 2) % 3], s, sec)
            if st != 200: raise SystemExit("poll %d" % st)
            n[k] += 1; i += 1
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in ts: t.start()
    for t in ts: t.join()
    print("%.0f" % (sum(n) / dur))
EOF
out=$(python3 "$T/race.py" "$PORT_A" "$PORT_B" "$PORT_C" "$REGSEC" "$RACES" races 2>&1)
[ "$out" = "same 0 diff 0 poll 0" ]
check "RLY-12/RLY-18 $RACES races on two instances: identical callbacks (one 200, one 409), two polls (exactly one code); different callbacks (first wins, conflict, no code)" $? "$out"

out=$(python3 "$T/race.py" "$PORT_A" "$PORT_B" "$PORT_C" "$REGSEC" 200 wake 2>&1)
read -r p50 p99 pmax <<<"$out"
awk -v p="$p99" 'BEGIN { exit !(p + 0 > 0 && p + 0 < 1000) }'
check "RLY-19 cross-instance wake over HTTP, 200 times: p50 ${p50:-?} ms, p99 ${p99:-?} ms, max ${pmax:-?} ms (< 1 s)" $? "$out"

# ---- max_sessions across instances (database 1, max 3) ----------------------------------
conf "$T/m.conf" 1 3
start_relay D "$T/m.conf" && start_relay E "$T/m.conf"
new_login "$PORT_D"; s1=$st
new_login "$PORT_E"; s2=$st
new_login "$PORT_D"; s3=$st
new_login "$PORT_E"; s4=$st; b4=$(cat "$T/b")
new_login "$PORT_D"; s5=$st
[ "$s1$s2$s3" = 201201201 ] && [ "$s4" = 503 ] && [ "$s5" = 503 ] && grep -q "too many pending logins" <<<"$b4"
check "RLY-08 max_sessions = 3 holds across two instances (4th and 5th -> 503)" $? "$s1 $s2 $s3 $s4 $s5 $b4"
poll "$PORT_C" "$STATE" "$SECRET"
check "a login in database 1 is not visible to instances on database 0" "$([ "$st" = 404 ]; echo $?)" "$st"
kill "$PID_D" "$PID_E" 2>/dev/null

# ---- a relay restart keeps pending logins -------------------------------------------------
new_login "$PORT_A"
kill -TERM "$PID_A"; wait "$PID_A" 2>/dev/null
start_relay A "$T/r.conf" "$PORT_A"
req "$PORT_A" GET "/l/$ID"
[ "$st" = 200 ] && grep -q web1.example.org "$T/b"
check "restart of relay A keeps its pending login (context page on the new A)" $? "$st"
req "$PORT_A" GET "/callback?code=AFTER-RESTART&state=$STATE"
poll "$PORT_B" "$STATE" "$SECRET"
grep -q '"code":"AFTER-RESTART"' "$T/b"
check "the login completes after the restart (callback on A, poll on B)" $? "$st $(cat "$T/b")"

# ---- Redis killed and restarted mid-login (RLY-20) ---------------------------------------------
new_login "$PORT_A"; S1=$STATE; P1=$SECRET
req "$PORT_B" GET "/callback?code=BEFORE-CRASH&state=$S1"  # code waiting in Redis
new_login "$PORT_B"; S2=$STATE; P2=$SECRET
( curl -s --max-time 20 -o "$T/held2" -w '%{http_code}' -H "Authorization: Bearer $P2" \
	"http://127.0.0.1:$PORT_C/v1/sessions/$S2?wait=15" >"$T/held2.st"; date +%s%N >"$T/held2.end" ) &
HP=$!
sleep 0.3
t0=$(date +%s%N)
redis_kill
wait_health "$PORT_A" 503 5 && wait_health "$PORT_B" 503 5 && wait_health "$PORT_C" 503 5
check "RLY-20 Redis down: /healthz 503 on every instance" $? "$(healthz "$PORT_A") $(healthz "$PORT_B") $(healthz "$PORT_C")"
curl -s --max-time 5 "http://127.0.0.1:$PORT_A/healthz" | grep -q "unavailable"
check "RLY-20 /healthz says the store is unavailable" $?
wait "$HP"
ms=$(( ($(cat "$T/held2.end") - t0) / 1000000 ))
grep -q '"code"' "$T/held2"
check "RLY-20 a poll held on C when Redis died answers (HTTP $(cat "$T/held2.st"), ${ms} ms), no code" "$([ "$ms" -lt 5000 ] && ! grep -q '"code"' "$T/held2"; echo $?)" "$(cat "$T/held2")"
poll "$PORT_C" "$S1" "$P1"
[ "$st" = 503 ] && grep -q '"store unavailable"' "$T/b"
check "RLY-20 Redis down: poll fails closed, 503 store unavailable (HTTP $st, no code)" $? "$(cat "$T/b")"
new_login "$PORT_A"
[ "$st" = 503 ] && grep -q '"store unavailable"' "$T/b"
check "RLY-20 Redis down: registration refused, 503 store unavailable (HTTP $st)" $? "$(cat "$T/b")"
req "$PORT_B" GET "/callback?code=DURING&state=$S2"
[ "$st" = 503 ]
check "RLY-20 Redis down: callback not accepted, 503 (HTTP $st)" $?
redis_start
wait_health "$PORT_A" 200 10 && wait_health "$PORT_B" 200 10 && wait_health "$PORT_C" 200 10
check "RLY-20 Redis back: /healthz 200 on every instance by itself" $? "$(healthz "$PORT_A") $(healthz "$PORT_B") $(healthz "$PORT_C")"
poll "$PORT_A" "$S1" "$P1"
check "RLY-20 the login whose code was waiting fails closed (Redis without persistence lost it: 404)" "$([ "$st" = 404 ]; echo $?)" "$st $(cat "$T/b")"
new_login "$PORT_B"
req "$PORT_C" GET "/callback?code=RECOVERED&state=$STATE"
poll "$PORT_A" "$STATE" "$SECRET" 5
grep -q '"code":"RECOVERED"' "$T/b"
check "RLY-20 a new login works across instances after the restart" $? "$st $(cat "$T/b")"

# Redis with an append-only file, restarted: the pending login resumes, its
# code is handed out once.
redis_kill
redis_start --appendonly yes --appendfsync always
wait_health "$PORT_A" 200 10
new_login "$PORT_A"
req "$PORT_B" GET "/callback?code=PERSISTED&state=$STATE"
redis-cli -p "$REDIS_PORT" shutdown >/dev/null 2>&1
wait "$REDIS_PID" 2>/dev/null
REDIS_PID=
redis_start --appendonly yes --appendfsync always
wait_health "$PORT_C" 200 10
poll "$PORT_C" "$STATE" "$SECRET"; a=$st; ab=$(cat "$T/b")
poll "$PORT_A" "$STATE" "$SECRET"; b=$st
grep -q '"code":"PERSISTED"' <<<"$ab" && [ "$b" = 404 ]
check "RLY-20 with a persistent Redis the login resumes after its restart and the code is handed out once ($a, then $b)" $? "$a $ab / $b"

# ---- throughput (information) ------------------------------------------------------------
if [ -n "${REDIS_BENCH:-}" ]; then
	out=$(python3 "$T/race.py" "$PORT_A" "$PORT_B" "$PORT_C" "$REGSEC" 5 cycles 2>&1)
	echo "# full cycles/s, three instances on Redis (each step on another instance): $out"
fi

finish
