#!/bin/bash
# PAM module tests with scripted helpers: the real pam_oauth2_pkce.so, loaded
# by pamtester through pam_wrapper (no /etc changes), against helpers that
# misbehave in every way the module must survive (PAM-01..PAM-10).
# Last line: "module: N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
SUITE=module BAD_DETAIL='tail -n 15'
. tests/lib/common.sh
. tests/lib/stack.sh
MOD=$(realpath "$B/pam_oauth2_pkce.so")
tmpdir
PRELOAD=$(stack_pam_preload "$MOD")

# helper NAME BODY: a scripted helper; BODY runs after CONTEXT was read into
# $ctx; send TYPE TEXT writes a frame.
helper() {
	cat >"$T/$1" <<HDR
#!/bin/bash
export LC_ALL=C
send() { printf '%s %d\n%s' "\$1" "\${#2}" "\$2" >&3; }
read -r t n <&3 || exit 3
IFS= read -r -N "\$n" ctx <&3
HDR
	printf '%s\n' "$2" >>"$T/$1"
	chmod 0755 "$T/$1"
}

# run CASE USER ARGS [STDIN]: pamtester authenticate through the module.
run() {
	local svc=$T/svc-$1
	mkdir -p "$svc"
	echo "auth required $MOD $3" >"$svc/test"
	out=$(printf '%s' "${4:-}" | LD_PRELOAD=$PRELOAD PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$svc" ASAN_OPTIONS=detect_leaks=0 \
		timeout 30 pamtester -v test "$2" authenticate 2>&1)
	rc=$?
}

expect_refused() { # NAME USER ARGS [STDIN]
	run "$1" "$2" "$3" "${4:-}"
	if [ $rc -ne 0 ] && ! grep -q "successfully authenticated" <<<"$out"; then ok "$1"; else bad "$1 (rc=$rc)" "$out"; fi
}

helper good 'send INFO "Open the link"; send RESULT $'"'"'status=success\nuser=alice\n'"'"''
helper exit1 'exit 1'
helper segv 'kill -SEGV $$'
helper sigkill 'kill -KILL $$'
helper hang 'sleep 60'
helper nothing 'exit 0'
helper garbage 'printf "HELLO WORLD\n" >&3; sleep 1'
helper truncated 'printf "RESULT 100\nstatus=success\n" >&3; exit 0'
helper bigline 'head -c 1048576 /dev/zero | tr "\0" A >&3; exit 0'
helper otheruser 'send RESULT $'"'"'status=success\nuser=bob\n'"'"''
helper caseuser 'send RESULT $'"'"'status=success\nuser=Alice\n'"'"''
helper dupuser 'send RESULT $'"'"'status=success\nuser=alice\nuser=alice\n'"'"''
helper nouser 'send RESULT $'"'"'status=success\n'"'"''
helper crashafter 'send RESULT $'"'"'status=success\nuser=alice\n'"'"'; exit 1'
helper autherr 'send RESULT $'"'"'status=auth_err\nuser=alice\n'"'"''
helper unknownstatus 'send RESULT $'"'"'status=SUCCESS\nuser=alice\n'"'"''
helper prompt 'send PROMPT_ON "Type the code: "; read -r t n <&3; IFS= read -r -N "$n" ans <&3
[ "$t" = ANSWER ] && [ "$ans" = 1234 ] && send RESULT $'"'"'status=success\nuser=alice\n'"'"' || send RESULT $'"'"'status=auth_err\n'"'"''
helper env 'env >"'"$T"'/env.out"; ls -l /proc/$$/fd/ >"'"$T"'/fd.out" 2>&1; printf "%s" "$ctx" >"'"$T"'/ctx.out"
send RESULT $'"'"'status=success\nuser=alice\n'"'"''
chmod 0644 "$T/nothing"; cp "$T/nothing" "$T/noexec"

echo "== module exports and links (PAM-04)"
syms=$(nm -D --defined-only "$MOD" | awk '{print $3}' | grep -v '^_' | sort | tr '\n' ' ')
if [ "$syms" = "pam_sm_authenticate pam_sm_setcred " ]; then ok "exports only pam_sm_*"; else bad "exports: $syms"; fi
if ldd "$MOD" | grep -Eq 'libcurl|libssl|libcrypto|libcjson|libqrencode'; then bad "module links curl/OpenSSL/cJSON" "$(ldd "$MOD")"; else ok "module links libpam and libc only"; fi

echo "== positive"
run good alice "helper=$T/good timeout=10"
if [ $rc -eq 0 ] && grep -q "successfully authenticated" <<<"$out" && grep -q "Open the link" <<<"$out"; then ok "good helper: granted, INFO shown"; else bad "good helper (rc=$rc)" "$out"; fi
run prompt alice "helper=$T/prompt timeout=10" $'1234\n'
if [ $rc -eq 0 ]; then ok "PROMPT_ON answered: granted"; else bad "prompt (rc=$rc)" "$out"; fi
expect_refused "PAM-06 wrong answer" alice "helper=$T/prompt timeout=10" $'9999\n'
expect_refused "PAM-06 conversation EOF" alice "helper=$T/prompt timeout=10" ''

echo "== PAM-01 fail-closed matrix"
expect_refused "PAM-01 helper missing" alice "helper=$T/does-not-exist timeout=10"
expect_refused "PAM-01 helper not executable" alice "helper=$T/noexec timeout=10"
expect_refused "PAM-01 exits 1" alice "helper=$T/exit1 timeout=10"
expect_refused "PAM-01 SIGSEGV" alice "helper=$T/segv timeout=10"
expect_refused "PAM-01 SIGKILL" alice "helper=$T/sigkill timeout=10"
start=$(date +%s)
expect_refused "PAM-01 hangs past deadline" alice "helper=$T/hang timeout=5"
took=$(( $(date +%s) - start ))
if [ $took -le 9 ] && grep -q "Timed out after 5 s" <<<"$out"; then ok "PAM-01 deadline enforced (${took}s, message shown)"; else bad "deadline took ${took}s" "$out"; fi
expect_refused "PAM-01 exits 0 with no record" alice "helper=$T/nothing timeout=10"
expect_refused "PAM-01 garbage" alice "helper=$T/garbage timeout=10"
expect_refused "PAM-01 truncated record" alice "helper=$T/truncated timeout=10"
expect_refused "PAM-01 1 MiB line" alice "helper=$T/bigline timeout=10"
expect_refused "PAM-01 success for a different user" alice "helper=$T/otheruser timeout=10"
expect_refused "PAM-16 success for Alice, PAM_USER alice" alice "helper=$T/caseuser timeout=10"
expect_refused "PAM-01 duplicate user= lines" alice "helper=$T/dupuser timeout=10"
expect_refused "PAM-01 success without user" alice "helper=$T/nouser timeout=10"
expect_refused "PAM-01 success then exit 1" alice "helper=$T/crashafter timeout=10"
expect_refused "PAM-01 status=auth_err" alice "helper=$T/autherr timeout=10"
expect_refused "PAM-01 status=SUCCESS (not exact)" alice "helper=$T/unknownstatus timeout=10"
# each refusal word maps to its own PAM code (pamtester prints pam_strerror)
for sc in "auth_err:Authentication failure" "maxtries:Have exhausted maximum number of retries" \
	"authinfo_unavail:Authentication service cannot retrieve authentication info" \
	"user_unknown:User not known to the underlying authentication module" \
	"success :Authentication failure" "granted:Authentication failure"; do
	i=$((${i:-0} + 1))
	helper "st-$i" "send RESULT \$'status=${sc%%:*}\\nuser=alice\\n'"
	run "st-$i" alice "helper=$T/st-$i timeout=10"
	if [ $rc -ne 0 ] && grep -q "${sc#*:}" <<<"$out"; then ok "PAM-01 status='${sc%%:*}' -> ${sc#*:}"; else bad "PAM-01 status='${sc%%:*}' (rc=$rc)" "$out"; fi
done

echo "== PAM-14 the outcome log line holds printable ASCII only"
# A helper (the real one sends only a checked account name) or a client
# (PAM_USER, PAM_RHOST) with ESC, CR, BEL, DEL, UTF-8 and a backslash: each
# such byte is logged as \xNN. pam_syslog reaches pam_wrapper's stderr log.
helper ctluser 'send RESULT $'"'"'status=success\nuser=bob\x1b[31m\r\x7f\xc3\xa9\\\n'"'"''
helper ctlrefuse 'send RESULT $'"'"'status=auth_err\n'"'"''
# logline CASE USER HELPER [pamtester options]: the module's "refused" line in $line
logline() {
	local svc=$T/svc-$1 user=$2 h=$3
	shift 3
	mkdir -p "$svc"
	echo "auth required $MOD helper=$T/$h timeout=10" >"$svc/test"
	out=$(LD_PRELOAD=$PRELOAD PAM_WRAPPER=1 PAM_WRAPPER_DEBUGLEVEL=1 \
		PAM_WRAPPER_SERVICE_DIR="$svc" ASAN_OPTIONS=detect_leaks=0 \
		timeout 30 pamtester "$@" test "$user" authenticate 2>&1 </dev/null)
	rc=$?
	line=$(grep -a 'SYSLOG(4): refused user=' <<<"$out" | head -n 1)
	line=${line#*SYSLOG(4): }
}
# no byte outside 0x20..0x7e in the line
ascii_only() { ! LC_ALL=C grep -q $'[^\x20-\x7e]' <<<"$1"; }
logline ctl-result alice ctluser
want='refused user=bob\x1b[31m\x0d\x7f\xc3\xa9\x5c service=test rhost=-: helper result is for another user'
if [ $rc -ne 0 ] && [ "$line" = "$want" ] && ascii_only "$line"; then ok "PAM-14 helper's user= with ESC/CR/DEL/UTF-8/backslash: logged escaped"; else bad "PAM-14 helper's user= in the log (rc=$rc)" "$(cat -A <<<"$out")"; fi
logline ctl-item $'eve\x1b]0;pwned\x07' ctlrefuse -I rhost=$'h\x1b[2J'
want='refused user=eve\x1b]0;pwned\x07 service=test rhost=h\x1b[2J: auth_err'
if [ $rc -ne 0 ] && [ "$line" = "$want" ] && ascii_only "$line"; then ok "PAM-14 PAM_USER and PAM_RHOST with OSC/CSI sequences: logged escaped"; else bad "PAM-14 PAM items in the log (rc=$rc)" "$(cat -A <<<"$out")"; fi
# a user name cannot add a field for a log watcher (fail2ban) to read
logline ctl-field 'x rhost=198.51.100.7' ctlrefuse -I rhost=203.0.113.9
want='refused user=x\x20rhost\x3d198.51.100.7 service=test rhost=203.0.113.9: auth_err'
if [ $rc -ne 0 ] && [ "$line" = "$want" ]; then ok "PAM-14 PAM_USER 'x rhost=198.51.100.7': space and = escaped, one rhost= field"; else bad "PAM-14 a user name with a fake field (rc=$rc)" "$line"$'\n'"$(cat -A <<<"$out")"; fi

echo "== PAM-03 bad arguments are errors, not PAM_IGNORE"
expect_refused "PAM-03 unknown argument" alice "helper=$T/good bogus=1"
expect_refused "PAM-03 relative helper path" alice "helper=good"
expect_refused "PAM-03 timeout out of range" alice "helper=$T/good timeout=0"
run stackignore alice "helper=$T/exit1 timeout=10"
svc=$T/svc-stack; mkdir -p "$svc"
printf 'auth [success=done ignore=ignore default=die] %s helper=%s/exit1\nauth required pam_permit.so\n' "$MOD" "$T" >"$svc/test"
out=$(LD_PRELOAD=$PRELOAD PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$svc" pamtester test alice authenticate 2>&1); rc=$?
if [ $rc -ne 0 ]; then ok "PAM-03 failing module in a [success=done default=die] stack fails the stack"; else bad "PAM-03 stack" "$out"; fi

echo "== PAM-02 / PAM-05 / PAM-20 by construction"
SRC=pam_module/pam_oauth2_pkce.c
n=$(grep -c 'rc = PAM_SUCCESS' "$SRC"); r=$(grep -c 'return PAM_SUCCESS' "$SRC")
if [ "$n" -eq 1 ] && [ "$r" -eq 1 ] && grep -A8 'pam_sm_setcred' "$SRC" | grep -q 'return PAM_SUCCESS'; then ok "PAM-02 one assignment of PAM_SUCCESS in authenticate (and setcred's inert return)"; else bad "PAM-02 PAM_SUCCESS appears $n/$r times"; fi
if ! grep -q 'PAM_AUTHTOK' "$SRC"; then ok "PAM-20 the module never touches PAM_AUTHTOK"; else bad "PAM-20 PAM_AUTHTOK used"; fi
if ! nm -D --defined-only "$MOD" | grep -q 'pam_sm_acct_mgmt\|pam_set_data' && ! grep -q 'pam_set_data' "$SRC"; then ok "PAM-05 no state kept across PAM phases (no acct_mgmt, no pam_set_data)"; else bad "PAM-05"; fi

echo "== kiosk: user_from_token"
svc=$T/svc-kiosk; mkdir -p "$svc"; echo "auth required $MOD helper=$T/good user_from_token timeout=10" >"$svc/test"
out=$(LD_PRELOAD=$PRELOAD PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$svc" pamtester -v test "" authenticate 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q "successfully authenticated" <<<"$out"; then ok "user_from_token, PAM_USER empty: set from the result (alice), granted"; else bad "kiosk empty user (rc=$rc)" "$out"; fi
out=$(LD_PRELOAD=$PRELOAD PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$svc" pamtester -v test bob authenticate 2>&1); rc=$?
if [ $rc -ne 0 ]; then ok "PAM-16 user_from_token with PAM_USER bob already set: result alice refused"; else bad "kiosk preset user (rc=$rc)" "$out"; fi

echo "== PAM-21 the shipped pam.d snippets fail closed without the module"
for f in config/pam.d/*; do
	svc=$T/svc-snippet; rm -rf "$svc"; mkdir -p "$svc"
	grep -v '^@include' "$f" | sed "s|pam_oauth2_pkce.so|$T/missing/pam_oauth2_pkce.so helper=$T/good|" >"$svc/test"
	out=$(LD_PRELOAD=$PRELOAD PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$svc" pamtester test alice authenticate 2>&1); rc=$?
	if [ $rc -ne 0 ]; then ok "PAM-21 $(basename "$f") snippet with the module missing: refused"; else bad "PAM-21 $f" "$out"; fi
done

echo "== PAM-04 setcred inert"
svc=$T/svc-setcred; mkdir -p "$svc"; echo "auth required $MOD helper=$T/exit1" >"$svc/test"
out=$(LD_PRELOAD=$PRELOAD PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$svc" pamtester test alice setcred 2>&1); rc=$?
if [ $rc -eq 0 ]; then ok "PAM-04 setcred returns success, grants nothing by itself"; else bad "setcred" "$out"; fi

echo "== PAM-09 / PAM-10 helper environment and fds"
run env alice "helper=$T/env timeout=10"
envs=$(grep -v '^_=' "$T/env.out" 2>/dev/null | grep -Ev '^(PWD|SHLVL|LC_ALL)=' | sort | tr '\n' ' ')
if [ $rc -eq 0 ] && [ "$envs" = "PATH=/usr/sbin:/usr/bin:/sbin:/bin " ]; then ok "PAM-09 fixed environment"; else bad "PAM-09 env: $envs" "$out"; fi
LD_PRELOAD=$PRELOAD http_proxy=http://127.0.0.1:9 TZ=UTC LD_LIBRARY_PATH=/tmp true
out=$(env http_proxy=http://127.0.0.1:9 HTTPS_PROXY=x ALL_PROXY=x SSL_CERT_FILE=/x OPENSSL_CONF=/x TZ=UTC TMPDIR=/x \
	LD_PRELOAD=$PRELOAD PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/svc-env" pamtester test alice authenticate 2>&1)
if ! grep -Eq 'proxy|SSL_|OPENSSL|TZ|TMPDIR|LD_' "$T/env.out"; then ok "PAM-09 nothing inherited (proxy, SSL_*, TZ, LD_*)"; else bad "PAM-09 inherited" "$(cat "$T/env.out")"; fi
fds=$(awk 'NR>1 {print $9}' "$T/fd.out" | sort -n | tr '\n' ' ')
if [ "$fds" = "0 1 2 3 " ] || [ "$fds" = "0 1 2 3 255 " ]; then ok "PAM-10 only 0,1,2 and the socket"; else bad "PAM-10 fds: $fds" "$(cat "$T/fd.out")"; fi
if grep -q ' 0 -> /dev/null' "$T/fd.out" && grep -q ' 3 -> socket:' "$T/fd.out"; then ok "PAM-10 stdin is /dev/null, fd 3 the socket"; else bad "PAM-10 fd targets" "$(cat "$T/fd.out")"; fi
rm -f "$T/fd.out"
out=$(LD_PRELOAD=$PRELOAD PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/svc-env" pamtester test alice authenticate 2>&1 0<&- ); rc=$?
if [ $rc -eq 0 ] && grep -q ' 0 -> /dev/null' "$T/fd.out" && grep -q ' 3 -> socket:' "$T/fd.out"; then ok "PAM-10 host with stdin closed: helper still gets /dev/null on 0 and the socket on 3"; else bad "PAM-10 closed stdin (rc=$rc)" "$out $(cat "$T/fd.out" 2>/dev/null)"; fi
if grep -qx 'user=alice' "$T/ctx.out" && grep -qx 'service=test' "$T/ctx.out" && ! grep -q 'ruser' "$T/ctx.out"; then ok "CONTEXT carries user and service, no ruser"; else bad "CONTEXT" "$(cat "$T/ctx.out")"; fi

echo "== PAM-24 helper signal dispositions and limits reset (hostile host)"
# The host (pamtester here, sudo or sshd for real) ignores HUP INT TERM XFSZ
# PIPE QUIT USR1 and a real-time signal, blocks USR2 TERM and a real-time
# signal, and sets RLIMIT_FSIZE=1000 bytes, RLIMIT_NOFILE=64 and core files
# as large as allowed. Ignored signals, the mask and limits survive fork and
# execve; the helper must see none of it. Read from outside through /proc
# while the helper waits (the host's own /proc first: the setup took).
cat >"$T/hostile.py" <<'PY'
import os, resource, signal, sys
for s in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGXFSZ, signal.SIGPIPE,
          signal.SIGQUIT, signal.SIGUSR1, signal.SIGRTMIN + 3):
    signal.signal(s, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2, signal.SIGTERM, signal.SIGRTMIN + 4})
# hard limits too when the module may raise them again (CAP_SYS_RESOURCE, as
# sudo, sshd and login have on a normal host); else only the soft ones
cap = sys.argv[3] == "1"
resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000 if cap else resource.RLIM_INFINITY))
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64 if cap else resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
resource.setrlimit(resource.RLIMIT_CORE, resource.getrlimit(resource.RLIMIT_CORE)[1:] * 2)
env = dict(os.environ, LD_PRELOAD=sys.argv[1], PAM_WRAPPER="1", PAM_WRAPPER_SERVICE_DIR=sys.argv[2])
os.execvpe("pamtester", ["pamtester", "test", "alice", "authenticate"], env)
PY
mkfifo "$T/go"
# dash, not bash: bash ignores SIGQUIT for itself and would mask the result
printf '#!/bin/sh\nread -r go <%s/go\nprintf "RESULT 26\\nstatus=success\\nuser=alice\\n" >&3\n' "$T" >"$T/hold"
chmod 0755 "$T/hold"
capres=0; (( 0x$(awk '$1 == "CapEff:" {print $2}' /proc/self/status) >> 24 & 1 )) && capres=1
svc=$T/svc-hold; mkdir -p "$svc"; echo "auth required $MOD helper=$T/hold timeout=20" >"$svc/test"
python3 "$T/hostile.py" "$PRELOAD" "$svc" $capres >"$T/hold.out" 2>&1 &
host=$!
hpid=
for _ in $(seq 100); do
	hpid=$(pgrep -P "$host" | head -n 1)
	[ -n "$hpid" ] && grep -q "$T/hold" "/proc/$hpid/cmdline" 2>/dev/null && break
	hpid=
	sleep 0.1
done
mask() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
lim() { awk -v k="$2" 'index($0, k) == 1 {print $(NF - 2), $(NF - 1)}' "/proc/$1/limits"; }
if [ -n "$hpid" ]; then
	# the host really is hostile (else the checks below prove nothing):
	# SigIgn bits HUP(1) INT(2) QUIT(3) USR1(10) PIPE(13) TERM(15) XFSZ(25) RTMIN+3(37)
	hign=$(mask "$host" SigIgn) hblk=$(mask "$host" SigBlk)
	hfs=$(lim "$host" "Max file size") hnf=$(lim "$host" "Max open files")
	if (( (0x$hign & 0x1001005207) == 0x1001005207 )) && [ "${hfs% *}" = 1000 ] && [ "${hnf% *}" = 64 ]; then
		ok "PAM-24 host ignores HUP INT QUIT USR1 PIPE TERM XFSZ RTMIN+3 (SigIgn $hign), blocks $hblk, fsize $hfs, nofile $hnf"
	else bad "PAM-24 host setup: SigIgn $hign"; fi
	ign=$(mask "$hpid" SigIgn) blk=$(mask "$hpid" SigBlk)
	# Signals 32 and 33 (bits 0x180000000) are glibc's own (thread cancellation and
	# set*id broadcast): no program can change them through libc, glibc's
	# posix_spawn leaves them ignored in every program it starts (make does: so
	# under `make check` the host has them ignored), and glibc installs its own
	# handlers when it needs them. Every other signal must be at SIG_DFL.
	if (( (0x$ign & ~0x180000000) == 0 )); then ok "PAM-24 helper ignores no signal (SigIgn $ign; 32, 33 are libc's)"; else bad "PAM-24 helper SigIgn $ign (host $hign)"; fi
	if [ "$blk" = 0000000000000000 ]; then ok "PAM-24 helper blocks no signal (SigBlk 0)"; else bad "PAM-24 helper SigBlk $blk (host $hblk)"; fi
	fs=$(lim "$hpid" "Max file size")
	if [ "$fs" = "unlimited unlimited" ]; then ok "PAM-24 helper RLIMIT_FSIZE unlimited (host: $hfs)"; else bad "PAM-24 helper RLIMIT_FSIZE $fs (host $hfs)"; fi
	read -r nfs nfh <<<"$(lim "$hpid" "Max open files")"
	if [ "$nfs" != unlimited ] && [ "$nfs" -ge 1024 ]; then ok "PAM-24 helper RLIMIT_NOFILE soft $nfs >= 1024 (host: $hnf)"; else bad "PAM-24 helper RLIMIT_NOFILE $nfs $nfh (host $hnf)"; fi
	co=$(lim "$hpid" "Max core file size")
	if [ "$co" = "0 0" ]; then ok "PAM-24 helper RLIMIT_CORE 0 from the start (host: $(lim "$host" "Max core file size"))"; else bad "PAM-24 helper RLIMIT_CORE $co"; fi
else
	bad "PAM-24 helper process not found under the host" "$(cat "$T/hold.out")"
fi
echo go >"$T/go" &
wait "$host"; rc=$?
if [ $rc -eq 0 ]; then ok "PAM-24 login under the hostile host still granted"; else bad "PAM-24 hostile host login (rc=$rc)" "$(cat "$T/hold.out")"; fi
# a soft RLIMIT_NOFILE of 8: the module moves fds above 10 in the child, so the
# limit must be raised before that (else every login is "unavailable")
out=$(python3 -c 'import os, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (8, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
os.execvpe("pamtester", ["pamtester", "test", "alice", "authenticate"],
           dict(os.environ, LD_PRELOAD=sys.argv[1], PAM_WRAPPER="1", PAM_WRAPPER_SERVICE_DIR=sys.argv[2]))' \
	"$PRELOAD" "$T/svc-good" 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q "successfully authenticated" <<<"$out"; then ok "PAM-24 host with RLIMIT_NOFILE 8: granted"; else bad "PAM-24 RLIMIT_NOFILE 8 (rc=$rc)" "$out"; fi

finish
