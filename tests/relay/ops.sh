#!/bin/bash
# Relay operations tests (issue 6 "Operations"): the real oauth2-pkce-relay,
# the real nginx and real curl, everything on free loopback ports.
#  - nginx TLS front built from config/nginx/oauth2-pkce-relay.conf (only
#    ports and certificate paths swapped) with a throwaway CA: a whole login
#    through https; the relay logs the client nginx saw (RLY-25, XD-10).
#  - trusted_proxies: forwarded addresses believed only from a trusted peer,
#    walked from the right; malformed fields not believed.
#  - GET /metrics on its own listener (RLY-27): format, exact counter deltas,
#    held-poll gauge, histogram, no per-login labels.
#  - SIGTERM: 20 held polls answered, exit 0, within 3 s.
#  - threads = 1 / 4; the open_registration warning.
# RELAY=path overrides the binary (default $B/oauth2-pkce-relay).
# Last line: "relay-ops: N passed, N failed"; exit status non-zero on any failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
SUITE=relay-ops BAD_DETAIL='head -n 20'
. tests/lib/common.sh
RELAY=${RELAY:-$B/oauth2-pkce-relay}
EXAMPLE=config/nginx/oauth2-pkce-relay.conf
[ -x "$RELAY" ] || give_up "relay binary $RELAY not found"
for t in curl openssl nginx python3 ss; do
	command -v "$t" >/dev/null 2>&1 || give_up "$t not found (make deps)"
done
RELAY=$(realpath "$RELAY")
tmpdir
chmod 0755 "$T" # nginx workers (nobody when run as root) use temp dirs below it
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
}
at_exit cleanup
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

EP=https://idp.example.com/authorize
ISS=https://idp.example.com
CID=pam-client
CLIENT=127.0.0.2 # a second loopback address: what nginx sees, not its own 127.0.0.1
SECRETS=()       # every state, poll secret, id, code and csrf of this run

rnd43() { head -c 32 /dev/urandom | basenc --base64url | tr -d '='; }
sha_b64() { printf '%s' "$1" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '='; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

REGSEC=$(rnd43)
(umask 077; printf '%s\n' "$REGSEC" >"$T/reg.secret")
SECRETS+=("$REGSEC")

# conf FILE BASE_URL [extra lines]
conf() {
	{
		echo "# relay ops test config"
		echo "base_url = $2"
		echo "allowed_authorization_endpoint = $EP"
		echo "allowed_client_id = $CID"
		echo "max_ttl = 300"
		printf '%s\n' "${@:3}"
	} >"$1"
}

# start_relay CONF LOG -> RPID PORT MPORT (MPORT empty with metrics_listen = off)
start_relay() {
	"$RELAY" --config "$1" --listen 127.0.0.1:0 2>>"$2" &
	RPID=$!
	PIDS+=("$RPID")
	PORT='' MPORT=''
	for _ in $(seq 200); do
		PORT=$(sed -n 's/.*listening on .* port \([0-9][0-9]*\),.*/\1/p' "$2" | tail -n 1)
		[ -n "$PORT" ] && break
		kill -0 "$RPID" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$PORT" ] || { echo "relay did not start:"; cat "$2"; return 1; }
	grep -q '^metrics_listen = off$' "$1" && return 0
	for _ in $(seq 40); do
		MPORT=$(sed -n 's/.*metrics on .* port \([0-9][0-9]*\)$/\1/p' "$2" | tail -n 1)
		[ -n "$MPORT" ] && return 0
		sleep 0.05
	done
	echo "relay logged no metrics port:"
	cat "$2"
	return 1
}

# req METHOD URL [curl args]: sets st; headers in $T/h, body in $T/b.
req() {
	local m=$1 u=$2
	shift 2
	st=$(curl -s --max-time 40 -o "$T/b" -D "$T/h" -w '%{http_code}' -X "$m" "$@" "$u")
}
body() { cat "$T/b"; }
hdr() { tr -d '\r' <"$T/h" | sed -n "s/^$1: //Ip"; } # NAME -> value(s)

mkurl() { # BASE STATE CHALLENGE -> an authorization URL the relay accepts
	local r="$1/callback"
	r=${r//:/%3A}
	r=${r//\//%2F}
	printf '%s?response_type=code&client_id=%s&redirect_uri=%s&scope=openid%%20profile&state=%s&nonce=n0nce-1&code_challenge=%s&code_challenge_method=S256' \
		"$EP" "$CID" "$r" "$2" "$3"
}
regbody() { # STATE HASH URL TTL
	printf '{"state":"%s","poll_secret_sha256":"%s","ttl":%s,"authorization_url":"%s","context":{"host":"web1.example.org","service":"sshd","user":"alice","rhost":"203.0.113.9"}}' \
		"$1" "$2" "$4" "$3"
}
# new_login ADDR BASE TTL [curl args]: sets STATE SECRET URL ID LINK (and st)
new_login() {
	local addr=$1 base=$2 ttl=$3 chal
	shift 3
	STATE=$(rnd43) SECRET=$(rnd43) chal=$(rnd43)
	URL=$(mkurl "$base" "$STATE" "$chal")
	req POST "$addr/v1/sessions" -H 'Content-Type: application/json' \
		--data-binary "$(regbody "$STATE" "$(sha_b64 "$SECRET")" "$URL" "$ttl")" "$@"
	ID=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$T/b")
	LINK=$(sed -n 's/.*"link":"\([^"]*\)".*/\1/p' "$T/b")
	SECRETS+=("$STATE" "$SECRET" "$chal")
	[ -n "$ID" ] && SECRETS+=("$ID")
	return 0
}
count200() { # FILE... [STATUS]: how many curl -w files hold STATUS (default 200)
	local want=200 n=0 f
	[[ ${!#} =~ ^[0-9]{3}$ ]] && { want=${!#}; set -- "${@:1:$#-1}"; }
	for f in "$@"; do [ "$(cat "$f")" = "$want" ] && n=$((n + 1)); done
	echo $n
}
leaks() { # FILE|DIR...: the first bytes of every secret of this run found in them
	printf '%s\n' "${SECRETS[@]}" | grep -v '^$' >"$T/secrets.lst"
	grep -rhoF -f "$T/secrets.lst" "$@" 2>/dev/null | cut -c1-8 | sort -u | sed 's/$/.../' | tr '\n' ' '
}
poll_url() { echo "$1/v1/sessions/$2${3:+?wait=$3}"; } # ADDR STATE [WAIT]

# Metrics: scrape MPORT FILE; mval FILE KEY (0 when absent)
scrape() { curl -s --max-time 5 -o "$2" -w '%{http_code}' "http://127.0.0.1:$1/metrics"; }
mval() { awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }' "$1"; }
wait_held() { # MPORT N: until relay_held_polls is N (3 s at most)
	for _ in $(seq 60); do
		scrape "$1" "$T/wh.m" >/dev/null
		[ "$(mval "$T/wh.m" relay_held_polls)" = "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# Log lines: mark LOG; reqline LOG FROM REGEX -> the newest request line
# after line FROM matching REGEX (waits up to 3 s: the relay logs after the
# answer is sent); client_of LINE -> its client address.
mark() { wc -l <"$1"; }
reqline() {
	local l
	for _ in $(seq 60); do
		l=$(tail -n +$(($2 + 1)) "$1" | grep -E -- "$3" | tail -n 1)
		[ -n "$l" ] && { printf '%s\n' "$l"; return 0; }
		sleep 0.05
	done
	return 1
}
client_of() { sed -n 's/.* oauth2-pkce-relay: \([^ ]*\) .*/\1/p' <<<"$1"; }

CONN=()    # curl arguments that reach a relay (TLS, source address)
REGAUTH=() # the registration bearer, when the relay wants one
# full_login NAME ADDR BASE [MPORT]: register, context page, continue (302,
# Location byte for byte), a held poll, the callback, the poll answered.
full_login() {
	local p=$1 addr=$2 base=$3 mport=${4:-} csrf loc code cpid held cbst t0 ms want
	new_login "$addr" "$base" 120 "${CONN[@]}" "${REGAUTH[@]}"
	[ "$st" = 201 ] && [ "$LINK" = "$base/l/$ID" ]
	check "$p: register -> 201, link = base_url/l/<id>" $? "$st $(body)"
	req GET "$addr/l/$ID" "${CONN[@]}"
	csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$T/b")
	[ -n "$csrf" ] && SECRETS+=("$csrf")
	[ "$st" = 200 ] && grep -q '>web1.example.org<' "$T/b" && [ ${#csrf} -eq 43 ]
	check "$p: context page -> 200 with the host and a csrf field" $? "$st $(head -c 300 "$T/b")"
	req POST "$addr/l/$ID" "${CONN[@]}" --data "csrf=$csrf&continue=1"
	loc=$(hdr location)
	[ "$st" = 302 ] && [ "$loc" = "$URL" ]
	check "$p: continue -> 302, Location = the authorization URL byte for byte" $? "$st $loc"
	curl -s --max-time 40 "${CONN[@]}" -H "Authorization: Bearer $SECRET" -o "$T/fl.poll" \
		-w '%{http_code}' "$(poll_url "$addr" "$STATE" 25)" >"$T/fl.poll.st" &
	cpid=$!
	if [ -n "$mport" ]; then wait_held "$mport" 1; else sleep 0.3; fi
	held=$?
	code="c0de-$(rnd43)"
	SECRETS+=("$code")
	t0=$(now_ms)
	req GET "$addr/callback?code=$code&state=$STATE&iss=https%3A%2F%2Fidp.example.com" "${CONN[@]}"
	cbst=$st
	wait "$cpid"
	ms=$(($(now_ms) - t0))
	want="{\"status\":\"code\",\"code\":\"$code\",\"iss\":\"$ISS\"}"
	[ $held -eq 0 ] && [ "$cbst" = 200 ] && [ "$(cat "$T/fl.poll.st")" = 200 ] &&
		[ "$(cat "$T/fl.poll")" = "$want" ] && [ $ms -lt 2000 ]
	check "$p: callback -> 200; the held poll (wait=25) answered with code and iss (${ms} ms)" $? \
		"held=$held callback=$cbst poll=$(cat "$T/fl.poll.st") $(cat "$T/fl.poll")"
}

# ==== 1. nginx TLS front (config/nginx/oauth2-pkce-relay.conf) ===================
# The example's own directives, as shipped.
ex_active() { sed 's/#.*//' "$EXAMPLE"; }
miss=""
# shellcheck disable=SC2016 # nginx variables, literally
for d in 'listen 443 ssl http2;' 'proxy_http_version 1.1;' 'proxy_set_header Connection "";' \
	'proxy_set_header X-Forwarded-For $remote_addr;' 'proxy_set_header Forwarded "";' \
	'proxy_read_timeout 40s;' 'proxy_buffering off;' 'client_max_body_size 16k;' \
	'ssl_protocols TLSv1.2 TLSv1.3;' 'keepalive 32;' 'proxy_redirect off;' 'access_log off;' \
	'location = /v1/sessions {'; do
	ex_active | grep -qF -- "$d" || miss="$miss [$d]"
done
ex_active | grep -qi 'Strict-Transport-Security' && miss="$miss [adds HSTS itself]"
ex_active | grep -qF 'proxy_add_x_forwarded_for' && miss="$miss [appends to X-Forwarded-For]"
sed -n '/location \/v1\/sessions\/ {/,/}/p' "$EXAMPLE" | grep -q 'proxy_buffering off;' ||
	miss="$miss [proxy_buffering off not in location /v1/sessions/]"
[ -z "$miss" ]
check "nginx example: keepalive upstream (HTTP/1.1, Connection \"\"), X-Forwarded-For replaced, Forwarded dropped, 40 s read timeout, unbuffered polls, 16k bodies, TLS 1.2+1.3, no HSTS of its own" $? "$miss"

# A throwaway CA and a server certificate for IP 127.0.0.1.
mkdir -p "$T/pki"
(
	cd "$T/pki" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
		-days 2 -subj /CN=ops-test-ca -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr \
			-subj /CN=127.0.0.1 &&
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >srv.ext &&
		openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-extfile srv.ext -out srv.pem
) >"$T/pki/openssl.log" 2>&1
check "test CA and server certificate (SAN IP:127.0.0.1)" $? "$(cat "$T/pki/openssl.log")"

NPORT=$(freeport)
FBASE=https://127.0.0.1:$NPORT
conf "$T/front.conf" "$FBASE" "registration_secret_file = $T/reg.secret" "trusted_proxies = 127.0.0.1" \
	"max_connections_per_ip = 2" "threads = 2" "metrics_listen = 127.0.0.1:0"
FLOG=$T/front.log
start_relay "$T/front.conf" "$FLOG" || give_up "relay did not start" "$(cat "$FLOG")"
FPORT=$PORT FMPORT=$MPORT

# The example with its ports and certificate paths swapped, inside a minimal
# nginx.conf (temp paths under the prefix).
N=$T/ngx
mkdir -p "$N/logs" "$N/tmp"
sed -e "s|^\([[:space:]]*server\) 127\.0\.0\.1:8080;|\1 127.0.0.1:$FPORT;|" \
	-e "s|^\([[:space:]]*listen\) 443 ssl http2;|\1 127.0.0.1:$NPORT ssl http2;|" \
	-e '/^[[:space:]]*listen \[::\]:443 ssl http2;/d' \
	-e "s|^\([[:space:]]*ssl_certificate\) .*;|\1 $T/pki/srv.pem;|" \
	-e "s|^\([[:space:]]*ssl_certificate_key\) .*;|\1 $T/pki/srv.key;|" "$EXAMPLE" >"$N/front.conf"
cat >"$N/nginx.conf" <<CONF
worker_processes 1;
events { worker_connections 512; }
http {
	client_body_temp_path $N/tmp/body;
	proxy_temp_path $N/tmp/proxy;
	fastcgi_temp_path $N/tmp/fastcgi;
	uwsgi_temp_path $N/tmp/uwsgi;
	scgi_temp_path $N/tmp/scgi;
	include $N/front.conf;
}
CONF
nchanged=$(diff "$EXAMPLE" "$N/front.conf" | grep -c '^<')
[ "$nchanged" -eq 5 ] && grep -q "server 127.0.0.1:$FPORT;" "$N/front.conf" &&
	grep -q "listen 127.0.0.1:$NPORT ssl http2;" "$N/front.conf"
check "test nginx config = the example but for upstream port, listen, certificate paths ($nchanged lines)" $? \
	"$(diff "$EXAMPLE" "$N/front.conf")"
NGX_G="daemon off; pid $N/nginx.pid; error_log stderr;"
out=$(nginx -t -c "$N/nginx.conf" -p "$N/" -e stderr -g "$NGX_G" 2>&1)
check "nginx -t accepts the example" $? "$out"
nginx -c "$N/nginx.conf" -p "$N/" -e stderr -g "$NGX_G" 2>"$N/stderr.log" &
NPID=$!
PIDS+=("$NPID")
CONN=(--cacert "$T/pki/ca.pem" --interface "$CLIENT")
REGAUTH=(-H "Authorization: Bearer $REGSEC")
for _ in $(seq 100); do
	curl -fs --max-time 1 "${CONN[@]}" "$FBASE/healthz" >/dev/null 2>&1 && break
	kill -0 "$NPID" 2>/dev/null || break
	sleep 0.05
done
req GET "$FBASE/healthz" "${CONN[@]}" --http2
hv=$(curl -s -o /dev/null -w '%{http_version}' "${CONN[@]}" --http2 "$FBASE/healthz")
[ "$st" = 200 ] && [ "$(body)" = ok ] && [ "$hv" = 2 ]
check "nginx up: https://127.0.0.1:$NPORT/healthz -> 200 ok over HTTP/2, verified with the test CA" $? \
	"$st $(body) http=$hv $(cat "$N/stderr.log")"
t12=$(curl -s -o /dev/null -w '%{http_code}' "${CONN[@]}" --tlsv1.2 --tls-max 1.2 "$FBASE/healthz")
t13=$(curl -s -o /dev/null -w '%{http_code}' "${CONN[@]}" --tlsv1.3 "$FBASE/healthz")
nov=$(curl -s -o /dev/null -w '%{http_code}' --interface "$CLIENT" "$FBASE/healthz")
[ "$t12" = 200 ] && [ "$t13" = 200 ] && [ "$nov" = 000 ]
check "TLS 1.2 and 1.3 accepted; without the test CA curl refuses the certificate" $? "1.2:$t12 1.3:$t13 noCA:$nov"

req POST "$FBASE/v1/sessions" "${CONN[@]}" -H 'Content-Type: application/json' --data-binary '{}'
[ "$st" = 401 ] && hdr www-authenticate | grep -q '^Bearer'
check "through nginx: registration without the bearer secret -> 401, WWW-Authenticate: Bearer" $? "$st $(body)"

m0=$(mark "$FLOG")
full_login "RLY-25 https front" "$FBASE" "$FBASE" "$FMPORT"
nhsts=$(hdr strict-transport-security | wc -l)
[ "$nhsts" -eq 1 ] && [ "$(hdr strict-transport-security)" = "max-age=31536000" ]
check "through nginx: Strict-Transport-Security exactly once (the relay's)" $? "$(hdr strict-transport-security)"
# Upstream keep-alive: the login's requests came over few, reused connections.
nup=$(ss -Htn state established "( dport = :$FPORT )" | wc -l)
[ "$nup" -ge 1 ] && [ "$nup" -le 2 ]
check "nginx keeps HTTP/1.1 connections to the relay open between requests ($nup open)" $? \
	"$(ss -Htn "( dport = :$FPORT or sport = :$FPORT )")"
bad_lines=""
for pat in 'POST /v1/sessions 201' 'GET /l/:id 200' 'POST /l/:id 302' 'GET /callback 200' \
	'GET /v1/sessions/:state 200'; do
	l=$(reqline "$FLOG" "$m0" "oauth2-pkce-relay: [^ ]+ $pat ") || { bad_lines="$bad_lines [no '$pat']"; continue; }
	[ "$(client_of "$l")" = "$CLIENT" ] || bad_lines="$bad_lines [$l]"
done
[ -z "$bad_lines" ]
check "RLY-25/XD-10 the relay logs the client nginx saw ($CLIENT), not the proxy (127.0.0.1), for every step" $? "$bad_lines"

# A client's own forwarding headers do not get through nginx: a Forwarded
# passed on would be believed (the relay prefers it); an X-Forwarded-For
# appended to would carry "garbage", and the relay would log the proxy.
front_fwd() { # NAME [curl args]
	local name=$1 l
	shift
	m0=$(mark "$FLOG")
	curl -s -o /dev/null "${CONN[@]}" "$@" "$FBASE/ops-probe-front"
	l=$(reqline "$FLOG" "$m0" 'GET \(other\) 404 ')
	[ "$(client_of "$l")" = "$CLIENT" ]
	check "XD-10 through nginx, client sends $name: log shows $CLIENT" $? "$l"
}
front_fwd "Forwarded: for=203.0.113.7 (dropped)" -H 'Forwarded: for=203.0.113.7'
front_fwd "X-Forwarded-For: garbage (replaced, not appended to)" -H 'X-Forwarded-For: garbage'
front_fwd "X-Forwarded-For: 203.0.113.7 + Forwarded: for=203.0.113.7" -H 'X-Forwarded-For: 203.0.113.7' \
	-H 'Forwarded: for=203.0.113.7'

big=$(head -c 17000 /dev/zero | tr '\0' a)
req POST "$FBASE/v1/sessions" "${CONN[@]}" "${REGAUTH[@]}" -H 'Content-Type: application/json' --data-binary "$big"
[ "$st" = 413 ]
check "through nginx: a 17000-byte body -> 413 (client_max_body_size 16k)" $? "$st"

# max_connections_per_ip (2 here) counts the client behind a trusted proxy
# (RLY-25): through nginx, 3 polls from each of two client addresses: two
# held per client, the third answered 503 at once. Then 3 direct ones from
# one untrusted address: two held, the third refused at accept.
CLIENT2=127.0.0.3
scrape "$FMPORT" "$T/pi0.m" >/dev/null
new_login "$FBASE" "$FBASE" 120 "${CONN[@]}" "${REGAUTH[@]}"
S1=$STATE P1=$SECRET
new_login "$FBASE" "$FBASE" 120 "${CONN[@]}" "${REGAUTH[@]}"
S2=$STATE P2=$SECRET
new_login "$FBASE" "$FBASE" 120 "${CONN[@]}" "${REGAUTH[@]}"
S3=$STATE P3=$SECRET
cpids=()
for i in 1 2 3; do
	curl -s --max-time 10 --cacert "$T/pki/ca.pem" --interface "$CLIENT" -H "Authorization: Bearer $P1" \
		-o "$T/pn.$i" -w '%{http_code}' "$(poll_url "$FBASE" "$S1" 2)" >"$T/pn.$i.st" &
	cpids+=($!)
	curl -s --max-time 10 --cacert "$T/pki/ca.pem" --interface "$CLIENT2" -H "Authorization: Bearer $P2" \
		-o "$T/pn.$((i + 3))" -w '%{http_code}' "$(poll_url "$FBASE" "$S2" 2)" >"$T/pn.$((i + 3)).st" &
	cpids+=($!)
done
t0=$(now_ms)
wait_held "$FMPORT" 4
h4=$?
wait "${cpids[@]}"
ms=$(($(now_ms) - t0))
nn=$(count200 "$T"/pn.?.st)
n503=$(count200 "$T"/pn.?.st 503)
np=$(grep -l '^{"status":"pending"}$' "$T"/pn.? | wc -l)
na=$(count200 "$T"/pn.1.st "$T"/pn.2.st "$T"/pn.3.st)
nb=$(count200 "$T"/pn.4.st "$T"/pn.5.st "$T"/pn.6.st)
scrape "$FMPORT" "$T/pi1.m" >/dev/null
k='relay_refusals_total{reason="max_connections_per_ip"}'
dref=$(($(mval "$T/pi1.m" "$k") - $(mval "$T/pi0.m" "$k")))
[ $h4 -eq 0 ] && [ "$nn" -eq 4 ] && [ "$np" -eq 4 ] && [ "$n503" -eq 2 ] && [ "$na" -eq 2 ] && [ "$nb" -eq 2 ] &&
	[ "$dref" -eq 2 ]
check "RLY-25 through nginx, max_connections_per_ip = 2 counts each client behind the proxy: 2 held + 1 refused (503) per client (${ms} ms)" $? \
	"held4=$h4 200s=$nn 503s=$n503 pending=$np per-client=$na/$nb delta=$dref $(cat "$T"/pn.?.st)"
cpids=()
for i in 1 2 3; do
	curl -s --max-time 10 --interface "$CLIENT" -H "Authorization: Bearer $P3" -o "$T/pd.$i" -w '%{http_code}' \
		"$(poll_url "http://127.0.0.1:$FPORT" "$S3" 2)" >"$T/pd.$i.st" &
	cpids+=($!)
done
wait "${cpids[@]}"
nd=$(count200 "$T"/pd.?.st)
nd0=$(count200 "$T"/pd.?.st 000)
scrape "$FMPORT" "$T/pi2.m" >/dev/null
dref=$(($(mval "$T/pi2.m" "$k") - $(mval "$T/pi1.m" "$k")))
[ "$nd" -eq 2 ] && [ "$nd0" -eq 1 ] && [ "$dref" -eq 1 ]
check "direct from untrusted $CLIENT: 2 held polls served, the 3rd refused (max_connections_per_ip refusals +1)" $? \
	"200s=$nd refused=$nd0 delta=$dref $(cat "$T"/pd.?.st)"
# From here nginx's upstream connections idle. nginx should close them after
# keepalive_timeout 5s, before the relay's 10 s idle timeout: look at 6.5 s,
# in the background (one process, killed by PID in the trap).
python3 -c 'import subprocess, sys, time
time.sleep(6.5)
ss = subprocess.run(["ss", "-Htn", "state", "established", "( dport = :%s )" % sys.argv[1]],
                    capture_output=True, text=True)
open(sys.argv[2], "w").write(ss.stdout)' "$FPORT" "$T/idle.ss" &
IDLEPID=$!
PIDS+=("$IDLEPID")

# ==== 2. trusted_proxies (direct to the front relay, which trusts 127.0.0.1) =====
# fwd NAME WANT [curl args]: a request to an unknown path; the log line's client
fwd() {
	local name=$1 want=$2 l
	shift 2
	m0=$(mark "$FLOG")
	curl -s -o /dev/null "$@" "http://127.0.0.1:$FPORT/ops-probe"
	l=$(reqline "$FLOG" "$m0" 'GET \(other\) 404 ')
	[ "$(client_of "$l")" = "$want" ]
	check "$name -> log shows $want" $? "$l"
}
fwd "XD-10 untrusted peer $CLIENT with X-Forwarded-For + Forwarded: for=203.0.113.7" "$CLIENT" \
	--interface "$CLIENT" -H 'X-Forwarded-For: 203.0.113.7' -H 'Forwarded: for=203.0.113.7'
fwd "XD-10 untrusted peer $CLIENT with X-Forwarded-For: 203.0.113.7, 127.0.0.1" "$CLIENT" \
	--interface "$CLIENT" -H 'X-Forwarded-For: 203.0.113.7, 127.0.0.1'
fwd "RLY-25 trusted peer, X-Forwarded-For: garbage" 127.0.0.1 -H 'X-Forwarded-For: garbage'
fwd "RLY-25 trusted peer, X-Forwarded-For: 203.0.113.7, (trailing comma)" 127.0.0.1 -H 'X-Forwarded-For: 203.0.113.7,'
fwd "RLY-25 trusted peer, X-Forwarded-For: 203.0.113.7,,127.0.0.1 (empty hop)" 127.0.0.1 -H 'X-Forwarded-For: 203.0.113.7,,127.0.0.1'
fwd "RLY-25 trusted peer, X-Forwarded-For: 203.0.113.7, 300.1.2.3" 127.0.0.1 -H 'X-Forwarded-For: 203.0.113.7, 300.1.2.3'
fwd "RLY-25 trusted peer, Forwarded: for=unknown" 127.0.0.1 -H 'Forwarded: for=unknown'
fwd "RLY-25 trusted peer, Forwarded: proto=https (no for=)" 127.0.0.1 -H 'Forwarded: proto=https'
fwd "RLY-25 trusted peer, X-Forwarded-For: 203.0.113.7" 203.0.113.7 -H 'X-Forwarded-For: 203.0.113.7'
fwd "RLY-25 trusted peer, chain 203.0.113.7, 127.0.0.1 (walked from the right)" 203.0.113.7 \
	-H 'X-Forwarded-For: 203.0.113.7, 127.0.0.1'
fwd "RLY-25 trusted peer, chain 198.51.100.1, 203.0.113.7, 127.0.0.1 (rightmost untrusted hop wins)" 203.0.113.7 \
	-H 'X-Forwarded-For: 198.51.100.1, 203.0.113.7, 127.0.0.1'
fwd "RLY-25 trusted peer, Forwarded: for=203.0.113.7;proto=https, for=127.0.0.1" 203.0.113.7 \
	-H 'Forwarded: for=203.0.113.7;proto=https, for=127.0.0.1'
fwd 'RLY-25 trusted peer, Forwarded: for="[2001:db8::7]:4711"' 2001:db8::7 -H 'Forwarded: for="[2001:db8::7]:4711"'
fwd "RLY-25 trusted peer, Forwarded and X-Forwarded-For naming different clients: neither believed" 127.0.0.1 \
	-H 'X-Forwarded-For: 198.51.100.1' -H 'Forwarded: for=203.0.113.7'
fwd "RLY-25 trusted peer, Forwarded and X-Forwarded-For naming the same client: believed" 203.0.113.7 \
	-H 'X-Forwarded-For: 203.0.113.7' -H 'Forwarded: for=203.0.113.7'
fwd "RLY-25 trusted peer, appended chain garbage, 203.0.113.7, 127.0.0.1: the client's own text left of it is not read" 203.0.113.7 \
	-H 'X-Forwarded-For: garbage, 203.0.113.7, 127.0.0.1'
m0=$(mark "$FLOG")
st=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 203.0.113.7' -H 'X-Forwarded-For: 198.51.100.1' \
	"http://127.0.0.1:$FPORT/ops-probe")
l=$(reqline "$FLOG" "$m0" ' (GET|-) [^ ]+ [0-9]+ ')
c=$(client_of "$l")
[ "$c" != 203.0.113.7 ] && [ "$c" != 198.51.100.1 ]
check "RLY-25 trusted peer, two X-Forwarded-For fields -> neither believed ($st, log shows $c)" $? "$l"

# ==== 3. GET /metrics (RLY-27) ===================================================
conf "$T/m.conf" https://relay.example.org "registration_secret_file = $T/reg.secret" "threads = 2" \
	"metrics_listen = 127.0.0.1:0"
MLOG=$T/m.log
start_relay "$T/m.conf" "$MLOG" || give_up "relay did not start" "$(cat "$MLOG")"
MA=http://127.0.0.1:$PORT MB=https://relay.example.org MP=$MPORT
grep -q "metrics on 127.0.0.1:0 port $MP\$" "$MLOG"
check "metrics_listen = 127.0.0.1:0: 'metrics on ... port N' logged" $? "$(cat "$MLOG")"
req GET "http://127.0.0.1:$MP/metrics"
cp "$T/b" "$T/m0.m"
[ "$st" = 200 ] && hdr content-type | grep -q '^text/plain; version=0.0.4'
check "GET /metrics -> 200 text/plain; version=0.0.4" $? "$st $(hdr content-type)"
# Prometheus text format: every sample "name{labels} value"; every name typed.
fmt=$(awk '
	/^# TYPE / { type[$3] = $4; next }
	/^# HELP / { next }
	/^#/ || /^$/ { print "stray line: " $0; next }
	{
		if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\})? -?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/)
			print "bad sample: " $0
		n = $0; sub(/[{ ].*/, "", n); b = n; sub(/_(bucket|sum|count)$/, "", b)
		if (!(n in type) && !(type[b] == "histogram")) print "untyped: " $0
		samples++
	}
	END { if (samples < 20) print "only " samples " samples" }' "$T/m0.m")
[ -z "$fmt" ]
check "RLY-27 Prometheus text parses: every sample 'name{labels} value', every name TYPEd" $? "$fmt"
miss=""
for k in relay_pending_logins relay_held_polls relay_connections relay_store_up relay_registrations_total \
	relay_callbacks_total relay_codes_handed_out_total relay_expired_total relay_denied_total \
	'relay_refusals_total{reason="max_connections_per_ip"}' 'relay_callback_to_handout_seconds_bucket{le="+Inf"}' \
	relay_callback_to_handout_seconds_count relay_callback_to_handout_seconds_sum; do
	grep -qF -- "$k " "$T/m0.m" || miss="$miss $k"
done
[ -z "$miss" ] && [ "$(mval "$T/m0.m" relay_store_up)" = 1 ]
check "RLY-27 pending, held, connections, store up, login counters, refusals, histogram all present" $? "$miss"

# mstep NAME "KEY DELTA"...: scrape; every sample moved by exactly its delta
# since the last scrape (0 when not listed), but for the scrapes' own
# answers, relay_connections, _sum and the finite histogram buckets (which
# must stay cumulative and move by 0 or by the +Inf bucket's delta).
MPREV=$T/m0.m
mstep() {
	local name=$1 out
	shift
	scrape "$MP" "$T/mcur.m" >/dev/null
	out=$(WANT="$(printf '%s\n' "$@")" awk '
		BEGIN { n = split(ENVIRON["WANT"], e, "\n")
			for (i = 1; i <= n; i++) if (e[i] != "") { split(e[i], kv, " "); want[kv[1]] = kv[2] + 0 } }
		/^#/ { next }
		FNR == NR { before[$1] = $2; next }
		{ after[$1] = $2 }
		END {
			for (k in before) keys[k] = 1
			for (k in after) keys[k] = 1
			for (k in want) keys[k] = 1
			inf = "relay_callback_to_handout_seconds_bucket{le=\"+Inf\"}"
			dinf = after[inf] - before[inf]
			for (k in keys) {
				d = after[k] - before[k]
				if (k ~ /route="\/metrics"/ || k == "relay_connections" || k ~ /_sum$/) continue
				if (k ~ /_bucket\{/ && k != inf) {
					if (d < 0 || d > dinf) printf "%s moved %+d\n", k, d
					continue
				}
				w = (k in want) ? want[k] : 0
				if (d != w) printf "%s: %+d, want %+d\n", k, d, w
			}
		}' "$MPREV" "$T/mcur.m")
	cp "$T/mcur.m" "$T/mprev.m"
	MPREV=$T/mprev.m
	[ -z "$out" ]
	check "RLY-27 $name" $? "$out"
}
H_COUNT=relay_callback_to_handout_seconds_count
H_INF='relay_callback_to_handout_seconds_bucket{le="+Inf"}'
REGAUTH=(-H "Authorization: Bearer $REGSEC")
CONN=()
new_login "$MA" "$MB" 120 "${REGAUTH[@]}"
[ "$st" = 201 ] || bad "metrics: registration" "$st $(body)"
mstep "one registration: registrations +1, pending +1, /v1/sessions 201 +1, nothing else" \
	"relay_registrations_total 1" "relay_pending_logins 1" 'relay_http_responses_total{route="/v1/sessions",code="201"} 1'
code="mc0de-$(rnd43)"
SECRETS+=("$code")
req GET "$MA/callback?code=$code&state=$STATE&iss=https%3A%2F%2Fidp.example.com"
mstep "one callback: callbacks +1, /callback 200 +1 (still pending), nothing else" \
	"relay_callbacks_total 1" 'relay_http_responses_total{route="/callback",code="200"} 1'
req GET "$(poll_url "$MA" "$STATE")" -H "Authorization: Bearer $SECRET"
grep -qF "\"code\":\"$code\"" "$T/b" || bad "metrics: hand-out" "$st $(body)"
mstep "one hand-out: codes handed out +1, pending -1, histogram count and +Inf +1, poll 200 +1" \
	"relay_codes_handed_out_total 1" "relay_pending_logins -1" "$H_COUNT 1" "$H_INF 1" \
	'relay_http_responses_total{route="/v1/sessions/:state",code="200"} 1'
# relay_held_polls: 1 while a poll is held, 0 once it is answered.
new_login "$MA" "$MB" 120 "${REGAUTH[@]}"
curl -s --max-time 20 -H "Authorization: Bearer $SECRET" -o "$T/mh.poll" "$(poll_url "$MA" "$STATE" 15)" &
cpid=$!
wait_held "$MP" 1
mstep "a held poll: relay_held_polls 1 (registration +1, pending +1)" "relay_held_polls 1" \
	"relay_registrations_total 1" "relay_pending_logins 1" 'relay_http_responses_total{route="/v1/sessions",code="201"} 1'
code="mc0de-$(rnd43)"
SECRETS+=("$code")
req GET "$MA/callback?code=$code&state=$STATE"
wait "$cpid"
grep -qF "\"code\":\"$code\"" "$T/mh.poll" || bad "metrics: held poll answered" "$(cat "$T/mh.poll")"
mstep "callback wakes it: relay_held_polls 0, callbacks +1, handed out +1, pending -1, histogram +1" \
	"relay_held_polls -1" "relay_callbacks_total 1" "relay_codes_handed_out_total 1" "relay_pending_logins -1" \
	"$H_COUNT 1" "$H_INF 1" 'relay_http_responses_total{route="/callback",code="200"} 1' \
	'relay_http_responses_total{route="/v1/sessions/:state",code="200"} 1'
[ "$(mval "$T/mprev.m" relay_held_polls)" = 0 ]
check "RLY-27 relay_held_polls is 0 after the answer" $?
# deny
new_login "$MA" "$MB" 120 "${REGAUTH[@]}"
csrf=$(curl -s "$MA/l/$ID" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p')
[ -n "$csrf" ] && SECRETS+=("$csrf")
mstep "registration + context page" "relay_registrations_total 1" "relay_pending_logins 1" \
	'relay_http_responses_total{route="/v1/sessions",code="201"} 1' 'relay_http_responses_total{route="/l/:id",code="200"} 1'
req POST "$MA/l/$ID" --data "csrf=$csrf&deny=1"
mstep "one deny: denied +1, /l/:id 200 +1, nothing else" "relay_denied_total 1" \
	'relay_http_responses_total{route="/l/:id",code="200"} 1'
req GET "$(poll_url "$MA" "$STATE")" -H "Authorization: Bearer $SECRET"
grep -q '"status":"denied"' "$T/b" || bad "metrics: denied poll" "$st $(body)"
mstep "the denied answer: pending -1, poll 200 +1, no hand-out, histogram unchanged" "relay_pending_logins -1" \
	'relay_http_responses_total{route="/v1/sessions/:state",code="200"} 1'
# expiry
new_login "$MA" "$MB" 1 "${REGAUTH[@]}"
mstep "a 1-second login: registration +1, pending +1" "relay_registrations_total 1" "relay_pending_logins 1" \
	'relay_http_responses_total{route="/v1/sessions",code="201"} 1'
for _ in $(seq 60); do
	scrape "$MP" "$T/me.m" >/dev/null
	[ "$(mval "$T/me.m" relay_expired_total)" != "$(mval "$MPREV" relay_expired_total)" ] && break
	sleep 0.05
done
mstep "it expires: expired +1, pending -1, nothing else" "relay_expired_total 1" "relay_pending_logins -1"
# 404 polls: unknown state, and a live login with a wrong secret
req GET "$(poll_url "$MA" "$(rnd43)")" -H "Authorization: Bearer $(rnd43)"
s1=$st
new_login "$MA" "$MB" 120 "${REGAUTH[@]}"
req GET "$(poll_url "$MA" "$STATE")" -H "Authorization: Bearer $(rnd43)"
{ [ "$s1" = 404 ] && [ "$st" = 404 ]; } || bad "metrics: 404 polls" "$s1 $st"
mstep "two 404 polls: poll 404 +2 (and the registration), nothing else" \
	'relay_http_responses_total{route="/v1/sessions/:state",code="404"} 2' "relay_registrations_total 1" \
	"relay_pending_logins 1" 'relay_http_responses_total{route="/v1/sessions",code="201"} 1'
# /metrics only on its listener; only /metrics there.
req GET "$MA/metrics"
s1=$st
req GET "http://127.0.0.1:$MP/healthz"
s2=$st
req POST "http://127.0.0.1:$MP/metrics" --data x
s3=$st
[ "$s1" = 404 ] && [ "$s2" = 404 ] && [ "$s3" = 405 ]
check "RLY-27 /metrics on the public listener -> 404; /healthz on the metrics listener -> 404; POST /metrics -> 405" $? \
	"$s1 $s2 $s3"
# No per-login labels: only route, code, reason, le, with fixed values; none
# of this run's states, secrets, ids, csrf tokens or codes anywhere.
scrape "$MP" "$T/mlast.m" >/dev/null
labels=$(grep -v '^#' "$T/mlast.m" | grep -o '[a-z_]*="[^"]*"' | sort -u |
	grep -v -E '^(route="(/healthz|/v1/sessions|/v1/sessions/:state|/l/:id|/callback|/metrics|\(other\))"|code="([0-9]{3}|other)"|reason="[a-z_]+"|le="[0-9.e+Inf-]+")$')
leaked=$(leaks "$T"/*.m)
[ -z "$labels" ] && [ -z "$leaked" ]
check "RLY-27 no per-login labels: only route/code/reason/le; no state, id, code or secret in any scrape" $? \
	"labels: $labels leaked: $leaked"

# ==== 4. SIGTERM with 20 held polls ==============================================
conf "$T/stop.conf" https://relay.example.org "open_registration = yes" "metrics_listen = 127.0.0.1:0"
start_relay "$T/stop.conf" "$T/stop.log" || give_up "relay did not start" "$(cat "$T/stop.log")"
SPID=$RPID
cpids=()
for l in 1 2 3 4 5; do # at most 4 held polls per login
	new_login "http://127.0.0.1:$PORT" https://relay.example.org 120
	for i in 1 2 3 4; do
		curl -s --max-time 40 -H "Authorization: Bearer $SECRET" -o "$T/sp.$l.$i" -w '%{http_code}' \
			"$(poll_url "http://127.0.0.1:$PORT" "$STATE" 30)" >"$T/sp.$l.$i.st" &
		cpids+=($!)
	done
done
wait_held "$MPORT" 20
h20=$?
t0=$(now_ms)
kill -TERM "$SPID"
for _ in $(seq 250); do
	kill -0 "$SPID" 2>/dev/null || break
	sleep 0.02
done
ms=$(($(now_ms) - t0))
if kill -0 "$SPID" 2>/dev/null; then
	kill -KILL "$SPID"
	wait "$SPID"
	rc=timeout
else
	wait "$SPID"
	rc=$?
fi
wait "${cpids[@]}"
nans=$(grep -l '^{"status":"pending"}$' "$T"/sp.?.? | wc -l)
n200=$(count200 "$T"/sp.?.?.st)
[ $h20 -eq 0 ] && [ "$rc" = 0 ] && [ $ms -lt 3000 ] && [ "$nans" -eq 20 ] && [ "$n200" -eq 20 ]
check "SIGTERM with 20 held polls (wait=30): all 20 answered 200 {\"status\":\"pending\"}, exit 0 after ${ms} ms (< 3 s)" $? \
	"held20=$h20 rc=$rc answered=$nans 200s=$n200 $(tail -n 3 "$T/stop.log")"
grep -q 'signal 15: stopping' "$T/stop.log"
check "SIGTERM logged ('signal 15: stopping')" $? "$(tail -n 3 "$T/stop.log")"

# ==== 5. threads = 1 / threads = 4; the open_registration warning ================
conf "$T/t1.conf" https://relay.example.org "threads = 1" "open_registration = yes" "metrics_listen = off"
start_relay "$T/t1.conf" "$T/t1.log" || give_up "relay did not start" "$(cat "$T/t1.log")"
T1=http://127.0.0.1:$PORT
sleep 0.1
grep -q 'listening on .* 1 thread(s)$' "$T/t1.log"
check "threads = 1: 'listening on ... 1 thread(s)'" $? "$(cat "$T/t1.log")"
grep -q 'WARNING: open_registration = yes: anyone who can reach this relay can register logins' "$T/t1.log"
check "open_registration = yes: the start log carries the WARNING line" $? "$(cat "$T/t1.log")"
! grep -q 'metrics on' "$T/t1.log"
check "metrics_listen = off: no metrics port logged" $? "$(cat "$T/t1.log")"
CONN=() REGAUTH=()
full_login "threads = 1 (open registration, no bearer)" "$T1" https://relay.example.org

conf "$T/t4.conf" https://relay.example.org "threads = 4" "registration_secret_file = $T/reg.secret" \
	"metrics_listen = 127.0.0.1:0"
start_relay "$T/t4.conf" "$T/t4.log" || give_up "relay did not start" "$(cat "$T/t4.log")"
T4=http://127.0.0.1:$PORT T4M=$MPORT
sleep 0.1
grep -q 'listening on .* 4 thread(s), registration credential required$' "$T/t4.log"
check "threads = 4: 'listening on ... 4 thread(s), registration credential required'" $? "$(cat "$T/t4.log")"
! grep -q 'WARNING' "$T/t4.log"
check "registration_secret_file: no WARNING line at start" $? "$(cat "$T/t4.log")"
new_login "$T4" https://relay.example.org 120
[ "$st" = 401 ]
check "threads = 4: registration without the bearer -> 401" $? "$st $(body)"
REGAUTH=(-H "Authorization: Bearer $REGSEC")
full_login "threads = 4" "$T4" https://relay.example.org "$T4M"
# 8 logins at once: held polls and callbacks land on whichever worker the
# kernel picks, so wakes cross threads.
cpids=()
for i in $(seq 8); do
	new_login "$T4" https://relay.example.org 120 "${REGAUTH[@]}"
	ST[i]=$STATE
	curl -s --max-time 20 -H "Authorization: Bearer $SECRET" -o "$T/t4.$i" "$(poll_url "$T4" "$STATE" 15)" &
	cpids+=($!)
done
wait_held "$T4M" 8
h8=$?
t0=$(now_ms)
for i in $(seq 8); do
	curl -s -o /dev/null "$T4/callback?code=t4code$i&state=${ST[i]}" &
done
wait "${cpids[@]}"
ms=$(($(now_ms) - t0))
ngood=0
for i in $(seq 8); do [ "$(cat "$T/t4.$i")" = "{\"status\":\"code\",\"code\":\"t4code$i\"}" ] && ngood=$((ngood + 1)); done
[ $h8 -eq 0 ] && [ $ngood -eq 8 ] && [ $ms -lt 2000 ]
check "threads = 4: 8 held polls, 8 concurrent callbacks: each poll gets its own code (${ms} ms)" $? \
	"held8=$h8 good=$ngood $(cat "$T"/t4.?)"

# ==== 6. the front after idling; no secrets on disk ===============================
wait "$IDLEPID"
nup=$(wc -l <"$T/idle.ss" 2>/dev/null || echo "?")
[ "$nup" = 0 ]
check "nginx closed its idle upstream connections (keepalive_timeout 5s < the relay's 10 s): $nup open after 6.5 s" $? \
	"$(cat "$T/idle.ss" 2>/dev/null)"
CONN=(--cacert "$T/pki/ca.pem" --interface "$CLIENT")
new_login "$FBASE" "$FBASE" 120 "${CONN[@]}" "${REGAUTH[@]}"
[ "$st" = 201 ]
check "through nginx after the idle period: registration -> 201" $? "$st $(body)"
leaked=$(leaks "$N" "$FLOG" "$MLOG" "$T/stop.log" "$T/t1.log" "$T/t4.log")
[ -z "$leaked" ]
check "RLY-26 no state, poll secret, id, csrf, code or registration secret in the relays' logs or under nginx's prefix" $? "$leaked"
kill -0 "$NPID" 2>/dev/null && kill -0 "$(head -n 1 "$N/nginx.pid" 2>/dev/null || echo 0)" 2>/dev/null
check "nginx still running at the end (stopped by PID in the trap)" $? "$(tail -n 5 "$N/stderr.log")"

finish
