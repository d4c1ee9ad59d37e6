#!/bin/bash
# make bench-relay: the callback relay next to nginx 1.22, in the same run,
# with the same load generator on the same CPUs (issue 6, "Measure").
#
#  1. /healthz vs nginx `return 200 "ok\n"` (wrk): req/s, p99, server CPU
#     per request, ratio relay/nginx at 64, 256, 1024 connections.
#  2. The context page GET /l/<id> of a pending login vs nginx serving a
#     static page of the same size.
#  3. Full cycles register -> callback -> poll (bench/relay_cycle, every
#     status checked) vs nginx answering the same three requests with fixed
#     201/200/200 answers of the same sizes. Goal: >= 0.6x at every c.
#  4. Stall sweep: /healthz at c = 1 .. 4096, 2 s each; a point below 10%
#     of the median is a STALL (run once more to show it). Goal: 0.
#  5. Wake: 5000 held long-polls (?wait=30), 5000 callbacks in a burst
#     over 16 connections; callback sent -> poll answered per login (this
#     includes the callback's own handling and its wait behind the other 15
#     in flight; "callback answered -> poll answered" is shown too). Goal:
#     p99 <= 1 ms, none lost.
#  6. Memory per pending login: VmRSS before/after 100k registrations.
#     Goal: <= 1 KiB.
#  7. Redis (store = redis): three relays on one redis-server, each cycle's
#     register / callback / poll on three different instances, cycles/s and
#     server CPU per cycle (relays + redis-server) beside one memory-store
#     relay driven the same way; a cross-instance wake: polls held on
#     instance A, callbacks one at a time to instance B, beside the same
#     paced wake on one memory relay. Redis and the relays on the server CPU.
# Server CPU is utime+stime from /proc/PID/stat (all relay threads; all
# nginx workers). Server on one CPU, load generator on another (relay
# threads = 1, nginx worker_processes 1); when the relay takes `threads`,
# sections 1-3 again with servers and load on both CPUs (threads = 2).
#
# Env: B (build dir), RELAYBIN (default $B/oauth2-pkce-relay),
# BENCH_RELAY_SECS (3, per point of 1-3), BENCH_RELAY_SWEEP_SECS (2),
# BENCH_RELAY_CONNS ("64 256 1024"), BENCH_RELAY_WAKE (5000),
# BENCH_RELAY_WAKE_CONNS (16), BENCH_RELAY_LOGINS (100000),
# BENCH_RELAY_SWEEP (the concurrencies of 4), BENCH_RELAY_REDIS_CONNS
# ("64 256", of 7), BENCH_RELAY_REDIS_WAKE (1000 held, of 7). Exit 0 when
# every part ran (goals missed are reported, not fatal), 1 when something
# could not be measured. Other processes on the machine skew everything: the run says so.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
RELAYBIN=${RELAYBIN:-$B/oauth2-pkce-relay}
DRIVER=$B/bench/relay_cycle
SECS=${BENCH_RELAY_SECS:-3}
SWEEP_SECS=${BENCH_RELAY_SWEEP_SECS:-2}
CONCS=${BENCH_RELAY_CONNS:-64 256 1024}
SWEEP=${BENCH_RELAY_SWEEP:-1 2 4 8 16 32 64 127 128 129 256 512 1024 2048 4096}
WAKE_N=${BENCH_RELAY_WAKE:-5000}
WAKE_CONNS=${BENCH_RELAY_WAKE_CONNS:-16}
MEM_N=${BENCH_RELAY_LOGINS:-100000}
MAXS=$((MEM_N > 200000 ? MEM_N + 10000 : 200000))

for t in wrk nginx taskset curl python3 awk; do
	command -v "$t" >/dev/null 2>&1 || { echo "bench-relay: $t not found (make deps)"; exit 1; }
done
for f in "$RELAYBIN" "$DRIVER"; do
	[ -x "$f" ] || { echo "bench-relay: $f not built (make bench-relay builds both)"; exit 1; }
done
NGINX=$(command -v nginx)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
HZ=$(getconf CLK_TCK)

T=$(mktemp -d)
chmod 0755 "$T" # nginx workers (nobody) read the static page
RPID="" NPID="" NWORKERS="" THREADS_KEY=unknown FAILED=0
RR_PIDS=() # section 7: redis-server and its three relays
NOTES=()
note() { NOTES+=("$*"); echo "note: $*"; }

relay_stop() {
	[ -n "$RPID" ] || return 0
	kill "$RPID" 2>/dev/null
	wait "$RPID" 2>/dev/null
	RPID=
}
nginx_stop() {
	[ -n "$NPID" ] || return 0
	kill "$NPID" 2>/dev/null
	wait "$NPID" 2>/dev/null
	NPID=
}
rr_stop() {
	local p
	for p in "${RR_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${RR_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	RR_PIDS=()
}
cleanup() {
	relay_stop
	nginx_stop
	rr_stop
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# CPUs: the load generator on the first allowed one, servers on the second.
read -r -a CPUS <<<"$(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)))')"
if [ "${#CPUS[@]}" -ge 2 ]; then
	LOAD1=${CPUS[0]} SRV1=${CPUS[1]} BOTH=${CPUS[0]},${CPUS[1]}
else
	LOAD1=${CPUS[0]} SRV1=${CPUS[0]} BOTH=${CPUS[0]}
	note "one CPU only: server and load generator share it"
fi

cpu_us() { # PID... -> utime+stime of all of them, microseconds
	local p s=0 v
	for p in "$@"; do
		v=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null) || continue
		s=$((s + ${v:-0}))
	done
	echo $((s * 1000000 / HZ))
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
kv() { printf '%s\n' "$1" | sed -n "s/^$2=//p" | head -n 1; } # OUTPUT KEY
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

head -c 32 /dev/urandom | basenc --base64url | tr -d '=\n' >"$T/reg.secret"
chmod 0600 "$T/reg.secret"

# relay_start NAME THREADS CPUS: a fresh relay; sets RPID RPORT.
relay_start() {
	local name=$1 threads=$2 cpus=$3 log=$T/$1.log rc
	RPORT=$(freeport)
	{
		echo "listen = 127.0.0.1:$RPORT"
		echo "base_url = http://127.0.0.1:$RPORT"
		echo "allowed_authorization_endpoint = https://idp.example.org/auth"
		echo "allowed_client_id = pam-client"
		echo "allow_insecure_loopback = yes"
		echo "registration_secret_file = $T/reg.secret"
		echo "max_sessions = $MAXS"
		echo "max_ttl = 600"
		echo "max_connections = 8192"
		echo "max_connections_per_ip = 0"
		if [ "$THREADS_KEY" != no ]; then
			echo "threads = $threads"
			echo "metrics_listen = off" # the default port may be taken
		fi
	} >"$T/$name.conf"
	# one line per request on stderr: keep the first 64 KiB (start-up, errors)
	taskset -c "$cpus" "$RELAYBIN" --config "$T/$name.conf" 2> >(head -c 65536 >"$log") &
	RPID=$!
	for _ in $(seq 100); do
		if curl -fsS --max-time 1 "http://127.0.0.1:$RPORT/healthz" >/dev/null 2>&1; then
			[ "$THREADS_KEY" = unknown ] && THREADS_KEY=yes
			return 0
		fi
		kill -0 "$RPID" 2>/dev/null || break
		sleep 0.05
	done
	wait "$RPID"
	rc=$?
	RPID=
	sleep 0.2
	if [ "$rc" = 2 ] && [ "$THREADS_KEY" = unknown ] && grep -q 'unknown key "threads"' "$log"; then
		THREADS_KEY=no
		note "this relay has no 'threads' key (exit 2, unknown key): runs with its own threading"
		relay_start "$@"
		return
	fi
	echo "bench-relay: relay did not start (exit $rc):"
	cat "$log"
	return 1
}

pad() { head -c "$1" /dev/zero | tr '\0' x; }

# nginx_start WORKERS CPUS: answers of the sizes the probe measured; sets
# NPID NPORT NWORKERS (pids, comma-separated).
nginx_start() {
	local w=$1 cpus=$2 d=$T/nginx
	NPORT=$(freeport)
	mkdir -p "$d/www/l" "$d/tmp"
	{ printf '<!doctype html><p>'; pad $((CTX_BYTES - 18)); } >"$d/www/l/page"
	chmod -R a+rX "$d/www"
	cat >"$d/nginx.conf" <<CONF
worker_processes $w;
worker_rlimit_nofile 65536;
daemon off;
master_process on;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 16384; }
http {
	access_log off;
	keepalive_requests 100000000;
	keepalive_timeout 75s;
	server_tokens off;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	types { }
	default_type application/json;
	server {
		listen 127.0.0.1:$NPORT backlog=4096;
		add_header Cache-Control no-store always;
		add_header X-Content-Type-Options nosniff always;
		add_header Referrer-Policy no-referrer always;
		add_header X-Frame-Options DENY always;
		add_header Content-Security-Policy "default-src 'none'; frame-ancestors 'none'; base-uri 'none'" always;
		location = /healthz { default_type text/plain; charset utf-8; return 200 "ok\n"; }
		location = /v1/sessions { return 201 '{"id":"$(pad $((REG_BYTES - 9)))"}'; }
		location /v1/sessions/ { return 200 '{"status":"code","code":"$(pad $((POLL_BYTES - 27)))"}'; }
		location = /callback { default_type text/html; charset utf-8; return 200 '<!doctype html><p>$(pad $((CB_BYTES - 18)))'; }
		location = /l/page { default_type text/html; charset utf-8; root $d/www; }
	}
}
CONF
	taskset -c "$cpus" "$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/error.log" &
	NPID=$!
	for _ in $(seq 100); do
		curl -fsS --max-time 1 "http://127.0.0.1:$NPORT/healthz" >/dev/null 2>&1 && break
		kill -0 "$NPID" 2>/dev/null || { echo "bench-relay: nginx did not start:"; cat "$d/error.log"; NPID=; return 1; }
		sleep 0.05
	done
	NWORKERS=$(ps -o pid= --ppid "$NPID" | awk '{ printf "%s%s", s, $1; s = "," }')
	[ -n "$NWORKERS" ] || { echo "bench-relay: no nginx workers"; return 1; }
}

# cpus_snap CPULIST -> "busy total" jiffies of those CPUs (/proc/stat)
cpus_snap() {
	awk -v l=",$1," '$1 ~ /^cpu[0-9]/ && index(l, "," substr($1, 4) ",") {
		b += $2 + $3 + $4 + $7 + $8 + $9; t += $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }
		END { print b + 0, t + 0 }' /proc/stat
}
# cpus_busy "SNAP0" "SNAP1" -> percent busy in between
cpus_busy() { echo "$1 $2" | awk '{ printf "%.0f", ($4 > $2 ? 100 * ($3 - $1) / ($4 - $2) : 0) }'; }

# wrk_run URL CONNS THREADS CPUS PIDS SECS
#   -> "req/s p99_ms cpu_us_per_req errors server_busy% load_cpus_busy%"
wrk_run() {
	local url=$1 c=$2 th=$3 cpus=$4 pids=$5 secs=$6 out c0 c1 l0 l1
	[ "$th" -gt "$c" ] && th=$c
	# shellcheck disable=SC2086
	c0=$(cpu_us ${pids//,/ })
	l0=$(cpus_snap "$cpus")
	out=$(taskset -c "$cpus" wrk -t"$th" -c"$c" -d"${secs}s" --latency --timeout 2s "$url" 2>&1)
	l1=$(cpus_snap "$cpus")
	# shellcheck disable=SC2086
	c1=$(cpu_us ${pids//,/ })
	printf '%s\n' "$out" | awk -v cpu=$((c1 - c0)) -v secs="$secs" -v lb="$(cpus_busy "$l0" "$l1")" '
		function ms(v, n) {
			n = v + 0
			if (v ~ /us$/) return n / 1000
			if (v ~ /ms$/) return n
			if (v ~ /m$/) return n * 60000
			if (v ~ /s$/) return n * 1000
			return n
		}
		/^ +99%/ { p99 = ms($2) }
		/Requests\/sec:/ { rps = $2 }
		/ requests in / { n = $1 }
		/Socket errors:/ { e += $4 + $6 + $8 + $10 }
		/Non-2xx or 3xx/ { e += $NF }
		END { printf "%.0f %.2f %.1f %d %.0f %d\n", rps, p99 == "" ? -1 : p99, n ? cpu / n : -1, e,
			cpu / secs / 10000, lb }'
}

# cyc_run PORT CONNS CPUS PIDS DRIVERS: sets CYC (driver output, summed over
# DRIVERS processes, each with CONNS/DRIVERS connections) and LOADBUSY (% busy
# of the load CPUs, warm-up included).
cyc_run() {
	local port=$1 c=$2 cpus=$3 pids=$4 nd=$5 i o dp=() l0
	l0=$(cpus_snap "$cpus")
	for ((i = 0; i < nd; i++)); do
		taskset -c "$cpus" "$DRIVER" cycle --port "$port" --conns $((c / nd)) --duration "$SECS" \
			--warmup 0.5 --secret-file "$T/reg.secret" --pid "$pids" >"$T/cyc.out.$i" 2>"$T/cyc.err.$i" &
		dp+=($!)
	done
	wait "${dp[@]}"
	LOADBUSY=$(cpus_busy "$l0" "$(cpus_snap "$cpus")")
	CYC=$(awk -F= '
		$1 ~ /_per_s$|^cycles$|^bad_status$|^errors$|^timeouts$|^inflight_at_end$|^stuck_at_end$|^client_cpu_s$/ { s[$1] += $2 }
		$1 ~ /_p99_ms$|_max_ms$|^oldest_inflight_ms$/ { if (!($1 in m) || $2 > m[$1]) m[$1] = $2 }
		$1 == "server_cpu_s" && !($1 in m) { m[$1] = $2 }
		END { for (k in s) print k "=" s[k]; for (k in m) print k "=" m[k] }' "$T"/cyc.out.*)
	o=$(cat "$T"/cyc.err.* 2>/dev/null | head -n 3)
	[ -n "$o" ] && printf '%s\n' "$o" | sed 's/^/    /'
	rm -f "$T"/cyc.out.* "$T"/cyc.err.*
}

declare -A R
STARRED=
# star LOAD_BUSY%: "*" when the load generator (on CPUs of its own) was the
# limit; starred LOAD_BUSY%...: the same test in this shell, for the footnote
star() {
	[ "${PINNED:-0}" = 1 ] && [ "${1:-0}" -ge 95 ] && printf '*'
	return 0
}
starred() {
	local b
	for b in "$@"; do [ -n "$(star "$b")" ] && STARRED=1; done
	return 0
}

# sections 1-3 for one CPU layout
compare() { # LABEL THREADS SRVCPUS LOADCPUS WRKTHREADS DRIVERS
	local label=$1 th=$2 scpu=$3 lcpu=$4 wt=$5 nd=$6 c r n ID rc nc
	PINNED=0
	[ "$scpu" != "$lcpu" ] && PINNED=1
	echo
	echo "=== $label"
	relay_start main "$th" "$scpu" || return 1
	local probe
	probe=$("$DRIVER" probe --port "$RPORT" --secret-file "$T/reg.secret") || { echo "probe failed"; return 1; }
	ID=$(kv "$probe" probe_id)
	REG_BYTES=$(kv "$probe" reg_body_bytes) CB_BYTES=$(kv "$probe" cb_body_bytes)
	POLL_BYTES=$(kv "$probe" poll_body_bytes) CTX_BYTES=$(kv "$probe" ctx_body_bytes)
	if [ "$(kv "$probe" reg_status)/$(kv "$probe" cb_status)/$(kv "$probe" poll_status)/$(kv "$probe" ctx_status)" != 201/200/200/200 ]; then
		echo "bench-relay: the relay's answers are not 201/200/200/200:"
		printf '%s\n' "$probe"
		return 1
	fi
	nginx_start "$th" "$scpu" || return 1
	nc=$("$DRIVER" probe --port "$NPORT" --secret-file "$T/reg.secret")
	if [ "$(kv "$nc" reg_status)/$(kv "$nc" cb_status)/$(kv "$nc" poll_status)/$(kv "$nc" poll_has_code)" != 201/200/200/1 ]; then
		echo "bench-relay: nginx's fixed answers are not 201/200/200 with a code:"
		printf '%s\n' "$nc"
		return 1
	fi
	echo "relay pid threads: $(awk '/^Threads:/ { print $2 }' "/proc/$RPID/status"), config threads: $([ "$THREADS_KEY" = yes ] && echo "$th" || echo "(no key)"); nginx workers: $th; server CPUs $scpu, load CPUs $lcpu"
	echo "answer bodies (relay = nginx): register $REG_BYTES, callback $CB_BYTES, poll $POLL_BYTES, context page $CTX_BYTES bytes"

	for what in healthz ctx; do
		echo
		if [ "$what" = healthz ]; then
			echo "-- /healthz vs nginx return 200 (wrk -t$wt, ${SECS}s)"
		else
			echo "-- context page GET /l/<id> vs nginx static page of $CTX_BYTES bytes (wrk -t$wt, ${SECS}s)"
		fi
		printf '%6s | %9s %8s %9s %5s %5s | %9s %8s %9s %5s %5s | %6s\n' conns "relay r/s" "p99 ms" "cpu us/r" "busy%" errs \
			"nginx r/s" "p99 ms" "cpu us/r" "busy%" errs ratio
		for c in $CONCS; do
			if [ "$what" = healthz ]; then
				r=$(wrk_run "http://127.0.0.1:$RPORT/healthz" "$c" "$wt" "$lcpu" "$RPID" "$SECS")
				n=$(wrk_run "http://127.0.0.1:$NPORT/healthz" "$c" "$wt" "$lcpu" "$NWORKERS" "$SECS")
			else
				r=$(wrk_run "http://127.0.0.1:$RPORT/l/$ID" "$c" "$wt" "$lcpu" "$RPID" "$SECS")
				n=$(wrk_run "http://127.0.0.1:$NPORT/l/page" "$c" "$wt" "$lcpu" "$NWORKERS" "$SECS")
			fi
			read -r r_rps r_p99 r_cpu r_err r_busy r_lb <<<"$r"
			read -r n_rps n_p99 n_cpu n_err n_busy n_lb <<<"$n"
			R[$label,$what,$c]=$(ratio "$r_rps" "$n_rps")
			starred "$r_lb" "$n_lb"
			printf '%6s | %9s %8s %9s %5s %5s | %9s %8s %9s %5s %5s | %6s\n' "$c" "$r_rps$(star "$r_lb")" "$r_p99" "$r_cpu" \
				"$r_busy" "$r_err" "$n_rps$(star "$n_lb")" "$n_p99" "$n_cpu" "$n_busy" "$n_err" "${R[$label,$what,$c]}"
		done
	done

	echo
	echo "-- full cycle register -> callback -> poll (relay_cycle x$nd, ${SECS}s after 0.5s warm-up; p99 in ms)"
	printf '%6s | %9s %7s %7s %8s %5s | %9s %7s %7s %8s %5s | %6s\n' conns "relay c/s" "req p99" "cyc p99" "cpu us/c" errs \
		"nginx c/s" "req p99" "cyc p99" "cpu us/c" errs ratio
	for c in $CONCS; do
		local rc_rate rc_req rc_cyc rc_cpu rc_err nc_rate nc_req nc_cyc nc_cpu nc_err stuck
		cyc_run "$RPORT" "$c" "$lcpu" "$RPID" "$nd"
		rc_rate=$(kv "$CYC" cycles_per_s) rc_req=$(kv "$CYC" req_p99_ms) rc_cyc=$(kv "$CYC" cycle_p99_ms)
		rc_cpu=$(awk -v s="$(kv "$CYC" server_cpu_s)" -v n="$(kv "$CYC" cycles)" 'BEGIN { printf "%.1f", (n > 0 ? s * 1e6 / n : -1) }')
		rc_err=$(($(kv "$CYC" errors) + $(kv "$CYC" bad_status)))
		stuck=$(kv "$CYC" stuck_at_end)
		rc_rate+=$(star "$LOADBUSY")
		starred "$LOADBUSY"
		cyc_run "$NPORT" "$c" "$lcpu" "$NWORKERS" "$nd"
		nc_rate=$(kv "$CYC" cycles_per_s) nc_req=$(kv "$CYC" req_p99_ms) nc_cyc=$(kv "$CYC" cycle_p99_ms)
		nc_cpu=$(awk -v s="$(kv "$CYC" server_cpu_s)" -v n="$(kv "$CYC" cycles)" 'BEGIN { printf "%.1f", (n > 0 ? s * 1e6 / n : -1) }')
		nc_err=$(($(kv "$CYC" errors) + $(kv "$CYC" bad_status)))
		R[$label,cycle,$c]=$(ratio "${rc_rate%\*}" "$nc_rate")
		nc_rate+=$(star "$LOADBUSY")
		starred "$LOADBUSY"
		R[$label,cyccpu,$c]="$rc_cpu/$nc_cpu"
		printf '%6s | %9s %7.2f %7.2f %8s %5s | %9s %7.2f %7.2f %8s %5s | %6s\n' "$c" "$rc_rate" "$rc_req" "$rc_cyc" "$rc_cpu" "$rc_err" \
			"$nc_rate" "$nc_req" "$nc_cyc" "$nc_cpu" "$nc_err" "${R[$label,cycle,$c]}"
		[ "${stuck:-0}" -gt 0 ] && echo "       relay: $stuck requests unanswered for more than 1 s when the window closed"
	done
	[ -n "$STARRED" ] && echo "  * the load generator's CPUs were >= 95% busy: that server may have had room to go faster"
	STARRED=
	relay_stop
	nginx_stop
}

# Other processes on the machine skew every number: say so.
busy_pct() { # percent of all CPUs busy over one second
	local a b
	a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
	echo "$a $b" | awk '{ printf "%.0f", ($4 > $2 ? 100 * ($3 - $1) / ($4 - $2) : 0) }'
}
check_idle() { # WHEN
	local b
	b=$(busy_pct)
	[ "$b" -gt 10 ] && note "machine $b% busy $1 (other processes): numbers are skewed"
	return 0
}
check_idle "before the run"
echo "bench-relay: $RELAYBIN vs $("$NGINX" -v 2>&1 | sed 's/.*: //'), $(wrk --version 2>&1 | head -n 1 | awk '{ print $1, $2 }'), $(nproc) CPUs"
L1="1 core each (server CPU $SRV1, load CPU $LOAD1)"
compare "$L1" 1 "$SRV1" "$LOAD1" 1 1 || FAILED=1
L2=
if [ "$THREADS_KEY" = yes ] && [ "${#CPUS[@]}" -ge 2 ]; then
	L2="2 cores shared (server CPUs $BOTH, load CPUs $BOTH, threads = 2)"
	compare "$L2" 2 "$BOTH" "$BOTH" 2 2 || FAILED=1
fi

# ---- 4: stall sweep ----------------------------------------------------------
echo
echo "=== stall sweep: /healthz, relay on CPU $SRV1, wrk -t1 on CPU $LOAD1, ${SWEEP_SECS}s per point"
STALLS=-1
if relay_start sweep 1 "$SRV1"; then
	declare -A SW
	for c in $SWEEP; do
		SW[$c]=$(wrk_run "http://127.0.0.1:$RPORT/healthz" "$c" 1 "$LOAD1" "$RPID" "$SWEEP_SECS")
	done
	# shellcheck disable=SC2086
	median=$(for c in $SWEEP; do echo "${SW[$c]}" | awk '{ print $1 }'; done | sort -n |
		awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	STALLS=0
	low() { awk -v r="$1" -v m="$median" 'BEGIN { exit !(r < m / 10) }'; }
	printf '%6s %10s %9s %6s\n' conns "req/s" "p99 ms" errs
	for c in $SWEEP; do
		read -r s_rps s_p99 _ s_err _ <<<"${SW[$c]}"
		flag=
		if low "$s_rps"; then
			# run once more, for the reader: a stall mostly repeats (not
			# always to the same depth); a dip from another process on a
			# busy machine mostly does not
			again=$(wrk_run "http://127.0.0.1:$RPORT/healthz" "$c" 1 "$LOAD1" "$RPID" "$SWEEP_SECS")
			flag="STALL (again: ${again%% *} req/s)"
			STALLS=$((STALLS + 1))
		fi
		printf '%6s %10s %9s %6s %s\n' "$c" "$s_rps" "$s_p99" "$s_err" "$flag"
	done
	echo "median $median req/s"
	echo "stalls: $STALLS"
	relay_stop
else
	FAILED=1
fi

# ---- 5: wake latency -----------------------------------------------------------
echo
echo "=== wake: $WAKE_N held long-polls (?wait=30), $WAKE_N callbacks in a burst over $WAKE_CONNS connections"
W=
if relay_start wake 1 "$SRV1"; then
	W=$(taskset -c "$LOAD1" "$DRIVER" wake --port "$RPORT" --count "$WAKE_N" --conns "$WAKE_CONNS" --settle 1 \
		--secret-file "$T/reg.secret" --pid "$RPID" 2>"$T/wake.err")
	sed 's/^/    /' "$T/wake.err" | head -n 5
	echo "registered $(kv "$W" registered), held $(kv "$W" polls_held) (opened in $(kv "$W" poll_connect_s) s), burst took $(kv "$W" burst_s) s"
	echo "callback sent -> poll answered: p50 $(kv "$W" wake_p50_ms) ms, p99 $(kv "$W" wake_p99_ms) ms, max $(kv "$W" wake_max_ms) ms"
	echo "callback answered -> poll answered: p50 $(kv "$W" wake_after_cb_answer_p50_ms) ms, p99 $(kv "$W" wake_after_cb_answer_p99_ms) ms; callback round trip p99 $(kv "$W" cb_rtt_p99_ms) ms"
	echo "answered $(kv "$W" answered)/$WAKE_N, lost $(kv "$W" lost), answered early $(kv "$W" early), wrong answer $(kv "$W" poll_wrong), callbacks not 200 $(kv "$W" callbacks_other)"
	echo "relay CPU per callback + wake: $(kv "$W" server_cpu_us_per_wake) us"
	relay_stop
else
	FAILED=1
fi
# The same held polls, woken one at a time (one callback connection: the
# next callback leaves when the previous one was answered): what one person
# waits for while $WAKE_N others are held, without the queue of a burst.
echo "=== wake, paced: $WAKE_N held long-polls, callbacks one at a time"
WP=
if relay_start wakep 1 "$SRV1"; then
	WP=$(taskset -c "$LOAD1" "$DRIVER" wake --port "$RPORT" --count "$WAKE_N" --conns 1 --settle 1 \
		--secret-file "$T/reg.secret" --pid "$RPID" 2>"$T/wakep.err")
	sed 's/^/    /' "$T/wakep.err" | head -n 5
	echo "callback sent -> poll answered: p50 $(kv "$WP" wake_p50_ms) ms, p99 $(kv "$WP" wake_p99_ms) ms, max $(kv "$WP" wake_max_ms) ms"
	echo "answered $(kv "$WP" answered)/$WAKE_N, lost $(kv "$WP" lost), relay CPU per callback + wake: $(kv "$WP" server_cpu_us_per_wake) us"
	relay_stop
else
	FAILED=1
fi

# ---- 6: memory per pending login -----------------------------------------------------
echo
echo "=== memory: VmRSS before/after registering $MEM_N logins (64 connections)"
M_PER=-
if relay_start mem 1 "$SRV1"; then
	rss0=$(rss_kb "$RPID")
	M=$(taskset -c "$LOAD1" "$DRIVER" fill --port "$RPORT" --count "$MEM_N" --conns 64 \
		--secret-file "$T/reg.secret" --pid "$RPID" 2>"$T/mem.err")
	sed 's/^/    /' "$T/mem.err" | head -n 5
	rss1=$(rss_kb "$RPID")
	reg=$(kv "$M" registered)
	M_PER=$(awk -v a="$rss0" -v b="$rss1" -v n="$reg" 'BEGIN { printf "%.0f", (n > 0 ? (b - a) * 1024 / n : -1) }')
	echo "registered $reg (failed $(kv "$M" failed)) in $(kv "$M" seconds) s, $(kv "$M" regs_per_s)/s, relay CPU $(kv "$M" server_cpu_us_per_reg) us per registration"
	echo "VmRSS $rss0 kB -> $rss1 kB: $M_PER bytes per pending login"
	relay_stop
else
	FAILED=1
fi

# ---- 7: Redis store, three instances ----------------------------------------------
RR_CONCS=${BENCH_RELAY_REDIS_CONNS:-64 256}
RR_WAKE=${BENCH_RELAY_REDIS_WAKE:-1000}
echo
echo "=== redis: 3 relay instances (store = redis) on one redis-server"
declare -A RR
RRW="" RMW=""
# rr_relay NAME: one relay (store = redis, threads = 1) on the server CPU;
# every instance has the base_url of A (as behind one load balancer)
rr_relay() {
	local name=$1 port pid
	port=$(freeport)
	[ -n "${RR_BASE:-}" ] || RR_BASE=http://127.0.0.1:$port
	cat >"$T/$name.conf" <<CONF
listen = 127.0.0.1:$port
base_url = $RR_BASE
allowed_authorization_endpoint = https://idp.example.org/auth
allowed_client_id = pam-client
allow_insecure_loopback = yes
registration_secret_file = $T/reg.secret
max_sessions = $MAXS
max_ttl = 600
max_connections = 8192
max_connections_per_ip = 0
threads = 1
metrics_listen = off
store = redis
redis_url = redis://127.0.0.1:$REDIS_PORT/0
CONF
	taskset -c "$SRV1" "$RELAYBIN" --config "$T/$name.conf" 2> >(head -c 65536 >"$T/$name.log") &
	pid=$!
	RR_PIDS+=("$pid")
	for _ in $(seq 100); do
		if curl -fsS --max-time 1 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
			RR_PORTS+=("$port") RR_RELAYS+=("$pid")
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "bench-relay: relay $name (store = redis) did not start:"
	cat "$T/$name.log"
	return 1
}
# rr_cyc PORTS CONNS PIDS BASE: relay_cycle cycle --ports (3 sockets per
# cycle slot, register / callback / poll on ports 1 / 2 / 3 rotated per slot);
# sets CYC and LOADBUSY as cyc_run does
rr_cyc() {
	local l0
	l0=$(cpus_snap "$LOAD1")
	CYC=$(taskset -c "$LOAD1" "$DRIVER" cycle --ports "$1" --conns "$2" --duration "$SECS" --warmup 0.5 \
		--base "$4" --secret-file "$T/reg.secret" --pid "$3" 2>"$T/rr.err")
	LOADBUSY=$(cpus_busy "$l0" "$(cpus_snap "$LOAD1")")
	head -n 3 "$T/rr.err" | sed 's/^/    /'
}
rr_row() { # -> "c/s req_p99 cyc_p99 cpu_us/c errors last_pid_cpu_us/c"
	printf '%s %s %s %s %s %s\n' "$(kv "$CYC" cycles_per_s)$(star "$LOADBUSY")" "$(kv "$CYC" req_p99_ms)" "$(kv "$CYC" cycle_p99_ms)" \
		"$(awk -v s="$(kv "$CYC" server_cpu_s)" -v n="$(kv "$CYC" cycles)" 'BEGIN { printf "%.1f", (n > 0 ? s * 1e6 / n : -1) }')" \
		"$(($(kv "$CYC" errors) + $(kv "$CYC" bad_status)))" \
		"$(awk -v s="$(kv "$CYC" server_cpu_s_by_pid)" -v n="$(kv "$CYC" cycles)" 'BEGIN { k = split(s, v, ","); printf "%.1f", (n > 0 && k ? v[k] * 1e6 / n : -1) }')"
}
RR_PORTS=() RR_RELAYS=() RR_BASE="" REDIS_PORT=$(freeport) REDIS_PID=""
PINNED=0
[ "$SRV1" != "$LOAD1" ] && PINNED=1
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	note "redis-server/redis-cli not found (make deps): no Redis section"
	FAILED=1
else
	taskset -c "$SRV1" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
		--daemonize no --dir "$T" >"$T/redis.log" 2>&1 &
	REDIS_PID=$!
	RR_PIDS+=("$REDIS_PID")
	for _ in $(seq 100); do
		redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
		sleep 0.05
	done
fi
if [ -n "$REDIS_PID" ] && redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG &&
	rr_relay rA && rr_relay rB && rr_relay rC && relay_start rmem 1 "$SRV1"; then
	RPIDS=$(IFS=,; echo "${RR_RELAYS[*]},$REDIS_PID")
	echo "$(redis-server --version | awk '{ print $1, $2, $3 }') (--save '' --appendonly no) and relays A B C (threads = 1 each) on server CPU $SRV1; one memory-store relay (threads = 1) on CPU $SRV1 beside them; relay_cycle on load CPU $LOAD1"
	echo
	echo "-- full cycles, each on three instances (register on A, callback on B, poll on C, rotated per cycle); ${SECS}s after 0.5s warm-up"
	echo "   memory 1: the same driver, its three sockets per cycle all to the one relay; cpu us/c: server CPU per cycle, for"
	echo "   redis-3 the three relays + redis-server (\"redis\": redis-server's part of it)"
	printf '%6s | %11s %7s %7s %8s %6s %5s | %9s %7s %7s %8s %5s | %6s\n' conns "redis-3 c/s" "req p99" "cyc p99" "cpu us/c" redis errs \
		"mem-1 c/s" "req p99" "cyc p99" "cpu us/c" errs ratio
	for c in $RR_CONCS; do
		rr_cyc "$(IFS=,; echo "${RR_PORTS[*]}")" "$c" "$RPIDS" "$RR_BASE"
		read -r a_rate a_req a_cyc a_cpu a_err a_redis <<<"$(rr_row)"
		starred "$LOADBUSY"
		rr_cyc "$RPORT,$RPORT,$RPORT" "$c" "$RPID" "http://127.0.0.1:$RPORT"
		read -r m_rate m_req m_cyc m_cpu m_err _ <<<"$(rr_row)"
		starred "$LOADBUSY"
		RR[$c]=${a_rate%\*} RR[r$c]=$(ratio "${a_rate%\*}" "${m_rate%\*}")
		printf '%6s | %11s %7.2f %7.2f %8s %6s %5s | %9s %7.2f %7.2f %8s %5s | %6s\n' "$c" "$a_rate" "$a_req" "$a_cyc" "$a_cpu" "$a_redis" "$a_err" \
			"$m_rate" "$m_req" "$m_cyc" "$m_cpu" "$m_err" "${RR[r$c]}"
	done
	[ -n "$STARRED" ] && echo "  * the load generator's CPU was >= 95% busy: that server may have had room to go faster"
	STARRED=
	echo
	echo "-- cross-instance wake: $RR_WAKE polls held on A (?wait=30), callbacks one at a time to B; callback sent -> poll answered"
	RRW=$(taskset -c "$LOAD1" "$DRIVER" wake --port "${RR_PORTS[0]}" --cb-port "${RR_PORTS[1]}" --count "$RR_WAKE" --conns 1 \
		--settle 1 --base "$RR_BASE" --secret-file "$T/reg.secret" --pid "$RPIDS" 2>"$T/rrw.err")
	sed 's/^/    /' "$T/rrw.err" | head -n 5
	# shellcheck disable=SC2034 # read as ${!v} below
	RMW=$(taskset -c "$LOAD1" "$DRIVER" wake --port "$RPORT" --count "$RR_WAKE" --conns 1 --settle 1 \
		--secret-file "$T/reg.secret" --pid "$RPID" 2>"$T/rmw.err")
	sed 's/^/    /' "$T/rmw.err" | head -n 5
	printf '%-28s | %7s %7s %7s | %8s %5s | %s\n' "" "p50 ms" "p99 ms" "max ms" answered lost "server CPU us per callback + wake"
	for w in "redis, held on A, cb to B:RRW" "memory, one relay:RMW"; do
		v=${w##*:}
		v=${!v}
		printf '%-28s | %7s %7s %7s | %8s %5s | %s\n' "${w%:*}" "$(kv "$v" wake_p50_ms)" "$(kv "$v" wake_p99_ms)" "$(kv "$v" wake_max_ms)" \
			"$(kv "$v" answered)/$RR_WAKE" "$(kv "$v" lost)" "$(kv "$v" server_cpu_us_per_wake)"
	done
	echo "(redis: callback answered -> poll answered p50 $(kv "$RRW" wake_after_cb_answer_p50_ms) ms, p99 $(kv "$RRW" wake_after_cb_answer_p99_ms) ms; callback round trip p99 $(kv "$RRW" cb_rtt_p99_ms) ms; CPU: relays + redis-server)"
else
	echo "bench-relay: redis-server or a relay did not start"
	[ -n "$REDIS_PID" ] && cat "$T/redis.log"
	FAILED=1
fi
relay_stop
rr_stop

check_idle "after the run"

# ---- summary ----------------------------------------------------------------------
echo
echo "=== summary: relay / nginx, same run (goal for cycles: >= 0.6 at every concurrency)"
for L in "$L1" ${L2:+"$L2"}; do
	echo "$L"
	for what in healthz ctx cycle; do
		line=$(printf '  %-8s' "$what")
		for c in $CONCS; do line+=$(printf '  c=%-5s %5s' "$c" "${R[$L,$what,$c]:--}"); done
		if [ "$what" = cycle ]; then
			ok=yes
			for c in $CONCS; do
				awk -v r="${R[$L,cycle,$c]:-0}" 'BEGIN { exit !(r + 0 >= 0.6) }' || ok=no
			done
			line+="   goal: $([ $ok = yes ] && echo met || echo MISSED)"
		fi
		echo "$line"
	done
	line="  server CPU us per cycle (relay/nginx):"
	for c in $CONCS; do line+=" c=$c ${R[$L,cyccpu,$c]:--}"; done
	echo "$line"
done
goal() { awk -v v="$1" -v g="$2" 'BEGIN { ok = v != "" && v != "-" && v + 0 >= 0 && v + 0 <= g; print (ok ? "met" : "MISSED") }'; }
echo "stalls: $STALLS (goal 0: $([ "$STALLS" = 0 ] && echo met || echo MISSED))"
if [ -n "$W" ]; then
	lost=$(kv "$W" lost)
	echo "wake in a burst of $WAKE_N: p99 $(kv "$W" wake_p99_ms) ms (queueing behind the burst; lost $lost, goal 0: $([ "$lost" = 0 ] && echo met || echo MISSED)); relay CPU $(kv "$W" server_cpu_us_per_wake) us per wake"
fi
if [ -n "$WP" ]; then
	echo "wake of a held poll with $WAKE_N held (paced): p99 $(kv "$WP" wake_p99_ms) ms (goal <= 1 ms: $(goal "$(kv "$WP" wake_p99_ms)" 1)); lost $(kv "$WP" lost)"
fi
echo "memory $M_PER bytes per pending login (goal <= 1024: $(goal "$M_PER" 1024))"
if [ -n "$RRW" ]; then
	line="redis: 3 instances" sep=
	for c in $RR_CONCS; do line+="$sep ${RR[$c]:--}"; sep=" /"; done
	line+=" cycles/s at c=${RR_CONCS// //} ("
	sep=
	for c in $RR_CONCS; do line+="$sep${RR[r$c]:--}"; sep=" / "; done
	echo "$line x one memory relay); cross-instance wake p50 $(kv "$RRW" wake_p50_ms) ms p99 $(kv "$RRW" wake_p99_ms) ms; lost $(kv "$RRW" lost)"
fi
for n in "${NOTES[@]}"; do echo "note: $n"; done
exit "$FAILED"
