#!/bin/bash
# Issue 8, end to end: when the IdP is down. Everything real and on loopback:
# the test IdP (tests/idp), oauth2-pkce-relay, pam_oauth2_pkce.so, the helper
# it forks, the scripted browser as the phone; broken servers from
# tests/lib/faultd.py (HTTP 500, accepts and never answers, untrusted TLS).
#
# 1. The PAM code table, module alone under pamtester + pam_wrapper:
#    unavailable (IdP stopped with a cold and a warm cache, IdP 500, IdP
#    hanging, TLS failure, relay stopped / hanging / 500, helper missing or
#    broken, config unreadable) -> PAM_AUTHINFO_UNAVAIL, before any link;
#    refusals (denied at the IdP, "This wasn't me", wrong code 3 times, token
#    refused, wrong account, not in allowed_groups, rate limited, timed out)
#    -> PAM_AUTH_ERR / PAM_MAXTRIES; an unknown account is not told apart.
# 2. The recipes in config/pam.d/ on the real setuid sudo (their auth lines,
#    with this build's module, helper and config substituted), as alice on a
#    pty: sudo-fallback, sudo-breakglass, sudo-two-factor.
# 3. config/pam.d/sshd-fallback on the real sshd (pam_wrapper service dir,
#    AuthenticationMethods keyboard-interactive), ssh on a pty.
# Time from the start of sudo/ssh to the password prompt is measured with
# the IdP stopped, the relay stopped and the IdP hanging, with the defaults
# (http_timeout 10 s, first_contact_timeout 2 s).
#
# Installs and removes again (trap): /etc/pam.d/oauth2-pkce-fb-test,
# /etc/sudoers.d/pam-oauth2-pkce-fb-test, the group oauth2-fb-breakglass;
# sets a password for alice for the test only and puts the old shadow hash
# back; creates alice/bob only if missing (and removes only those). Needs
# root, sudo, tmux, sshd, pamtester, libpam-wrapper, node, python3, openssl.
# Last line: "fallback: N passed, N failed"; non-zero exit on any failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
SUITE=fallback BAD_DETAIL="grep -v '[▀▄█]' | tail -n 25"
. tests/lib/common.sh
. tests/lib/accounts.sh
NAME=oauth2-pkce-fb-test
PAMFILE=/etc/pam.d/$NAME
SUDOERS=/etc/sudoers.d/pam-oauth2-pkce-fb-test
GROUP=oauth2-fb-breakglass
PW="Fb-$(openssl rand -hex 8)"

need_root "sudo, sshd, /etc/pam.d, a password for alice"
need_parts
for c in sudo visudo tmux runuser pamtester node python3 curl openssl chpasswd usermod /usr/sbin/sshd ssh; do
	command -v "$c" >/dev/null 2>&1 || give_up "missing $c (tests/deps.sh)"
done
ldconfig -p | grep -q 'libpam_wrapper\.so ' || give_up "missing libpam-wrapper"
if asan_module; then
	skip "$B is a sanitizer build (setuid sudo and sshd's sandbox cannot preload ASan)"
fi
. tests/idp/lib.sh
. tests/lib/stack.sh
. tests/lib/pty.sh
idp_ensure_deps || give_up "test IdP dependencies (npm ci --prefix tests/idp)"

tmpdir
chmod 0755 "$T"
START_MS=$(pty_now_ms)
OLD_HASH='' INSTALLED_PAM='' INSTALLED_SUDOERS='' CREATED_GROUP='' FAULT_PIDS=() SSHD_PID=''
cleanup() {
	local p
	pty_stop
	if [ -n "$SSHD_PID" ]; then
		for p in $(pgrep -P "$SSHD_PID" 2>/dev/null); do kill -TERM "$p" 2>/dev/null; done
		kill -TERM "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
	fi
	for p in "${FAULT_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	stack_relay_stop
	idp_stop
	[ -n "$INSTALLED_SUDOERS" ] && rm -f "$SUDOERS"
	[ -n "$INSTALLED_PAM" ] && rm -f "$PAMFILE"
	[ -n "$OLD_HASH" ] && getent passwd alice >/dev/null && usermod -p "$OLD_HASH" alice
	[ -n "$CREATED_GROUP" ] && groupdel "$GROUP" 2>/dev/null
	rm -f /run/sudo/ts/alice
	accounts_remove
	for p in /tmp/pam.?; do
		[ -f "$p/sshd" ] && grep -qsF "$T/" "$p/sshd" && rm -rf "$p"
	done
}
at_exit cleanup

# ---- accounts, password, group ----------------------------------------------------------
accounts_ensure -m -s /bin/sh -- alice bob || give_up "useradd alice bob"
OLD_HASH=$(getent shadow alice | cut -d: -f2)
[ -n "$OLD_HASH" ] || OLD_HASH='!'
echo "alice:$PW" | chpasswd || give_up "chpasswd alice"
if ! getent group "$GROUP" >/dev/null; then
	groupadd "$GROUP" || give_up "groupadd $GROUP"
	CREATED_GROUP=1
fi

# ---- IdP, relay, broken servers ---------------------------------------------------------
RPORT=$(stack_freeport)
idp_start "$T/idp" --redirect-uri "http://127.0.0.1:$RPORT/callback" || give_up "the test IdP did not start"
stack_relay_start "$T" "$RPORT" pkce-rs256 "max_ttl = 120" || give_up "the relay did not start" "$(cat "$T/relay.log")"
relay_restart() { stack_relay_start "$T" "$RPORT" pkce-rs256 "max_ttl = 120"; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/tls.key" -out "$T/tls.pem" >/dev/null 2>&1 ||
	give_up "openssl req (the untrusted TLS server's certificate)"
# fault MODE [args]: starts faultd.py, prints its port
fault() {
	python3 tests/lib/faultd.py "$1" "$T/fault-$1.port" "${@:2}" 2>>"$T/faultd.log" &
	FAULT_PIDS+=($!)
	for _ in $(seq 100); do [ -s "$T/fault-$1.port" ] && break; sleep 0.05; done
}
fault 500
fault hang
fault tls --cert "$T/tls.pem:$T/tls.key"
P500=$(cat "$T/fault-500.port" 2>/dev/null) PHANG=$(cat "$T/fault-hang.port" 2>/dev/null)
PTLS=$(cat "$T/fault-tls.port" 2>/dev/null)
[ -n "$P500" ] && [ -n "$PHANG" ] && [ -n "$PTLS" ] || give_up "faultd did not start" "$(cat "$T/faultd.log")"

stack_helper_reach "$T" # PAM-23: the helper uses its cache in $T as _oauth2-pkce

# ---- helper configs (root, 0600); http_timeout and first_contact_timeout: defaults ---------
# conf FILE ISSUER RELAY_URL CACHE_DIR [global lines...]
conf() {
	local f=$1 iss=$2 rel=$3 cache=$4
	shift 4
	{
		cat <<EOF
issuer = $iss
client_id = pkce-rs256
scopes = openid profile email groups
cache_dir = $cache
allow_insecure_loopback = yes
relay_url = $rel
relay_secret_file = $RELAY_SECRET_FILE
max_logins_per_minute = 0
qr = off
wait = poll
EOF
		printf '%s\n' "$@"
		cat <<EOF

[service code]
wait = code

[service groups]
allowed_groups = nosuchgroup-fb

[service sshd]
wait = enter
EOF
	} >"$f"
	chown root:root "$f"
	chmod 0600 "$f"
}
IDP=$IDP_ISSUER RELAY_URL=$RELAY
conf "$T/up.conf" "$IDP" "$RELAY_URL" "$T/cache"
conf "$T/cold.conf" "$IDP" "$RELAY_URL" "$T/cold"
conf "$T/algs.conf" "$IDP" "$RELAY_URL" "$T/cache" "allowed_algs = ES256"
conf "$T/rate.conf" "$IDP" "$RELAY_URL" "$T/cache-rate" "max_logins_per_minute = 1"
sed -i 's/^max_logins_per_minute = 0$//' "$T/rate.conf"
conf "$T/c500.conf" "http://127.0.0.1:$P500" "$RELAY_URL" "$T/cold"
conf "$T/hang.conf" "http://127.0.0.1:$PHANG" "$RELAY_URL" "$T/cold"
conf "$T/tls.conf" "https://127.0.0.1:$PTLS" "$RELAY_URL" "$T/cold"
conf "$T/relayhang.conf" "$IDP" "http://127.0.0.1:$PHANG" "$T/cache"
conf "$T/relay500.conf" "$IDP" "http://127.0.0.1:$P500" "$T/cache"
cp -p "$T/up.conf" "$T/perm.conf" && chmod 0666 "$T/perm.conf"
printf '#!/bin/sh\nprintf "GARBAGE\\n" >&3\nsleep 1\n' >"$T/garbage-helper" && chmod 0755 "$T/garbage-helper"

# ---- 1. the PAM code table (pamtester, module alone) -----------------------------------------
mkdir -p "$T/svc"
printf '%s\n' "auth required pam_deny.so" "account required pam_deny.so" >"$T/svc/other"
# svc NAME CONF [TIMEOUT] [HELPER]
svc() { printf 'auth required %s helper=%s config=%s timeout=%s\naccount required pam_permit.so\n' \
	"$MOD" "${4:-$HELPER}" "$2" "${3:-60}" >"$T/svc/$1"; }
for c in up cold algs rate c500 hang tls relayhang relay500 perm; do svc "$c" "$T/$c.conf"; done
svc code "$T/up.conf"
svc groups "$T/up.conf"
svc short "$T/up.conf" 8
svc nohelper "$T/up.conf" 60 /nonexistent/oauth2-pkce-helper
svc falsehelper "$T/up.conf" 60 /bin/false
svc garbage "$T/up.conf" 60 "$T/garbage-helper"
svc noconf /nonexistent/pam_oauth2_pkce.conf
UNAVAIL="Authentication service cannot retrieve authentication info"
AUTHERR="Authentication failure"
MAXTRIES="Have exhausted maximum number of retries for service"
N=0
# pt SERVICE USER [INPUT]: pamtester to the end; OUT, RC, MS
pt() {
	local t0
	t0=$(pty_now_ms)
	OUT=$(printf '%s' "${3:-}" | LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/svc" \
		timeout 40 stdbuf -o0 -e0 pamtester -v "$1" "$2" authenticate 2>&1)
	RC=$?
	MS=$(($(pty_now_ms) - t0))
}
# pt_bg SERVICE USER: in the background (no prompts: wait = poll); pt_link; pt_end
pt_bg() {
	N=$((N + 1))
	PD=$T/pt$N
	mkdir -p "$PD"
	(
		LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/svc" \
			timeout 40 stdbuf -o0 -e0 pamtester -v "$1" "$2" authenticate </dev/null >"$PD/out" 2>&1
		echo $? >"$PD/rc.tmp" && mv "$PD/rc.tmp" "$PD/rc"
	) &
	PT0=$(pty_now_ms)
}
pt_link() {
	local i
	for ((i = 0; i < 300; i++)); do
		LINK=$(grep -oE "$RELAY_URL/l/[A-Za-z0-9_-]{16}" "$PD/out" 2>/dev/null | head -n 1)
		[ -n "$LINK" ] && return 0
		[ -f "$PD/rc" ] && return 1
		sleep 0.05
	done
	return 1
}
pt_end() {
	for ((i = 0; i < ${1:-30} * 20; i++)); do [ -f "$PD/rc" ] && break; sleep 0.05; done
	RC=$(cat "$PD/rc" 2>/dev/null || echo none)
	OUT=$(cat "$PD/out")
	MS=$(($(pty_now_ms) - PT0))
}
browse() { node "$BROWSER" --url "$LINK" --user "$1" --password "$2" --follow-callback "${@:3}" >"$T/browser.out" 2>"$T/browser.err"; }
# row NAME WANT-PAM-TEXT [REASON] [MAX-MS]: checks the last pamtester run
TABLE=()
row() {
	local name=$1 want=$2 why=${3:-} max=${4:-}
	if [ "$RC" != 0 ] && grep -qF "pamtester: $want" <<<"$OUT" && { [ -z "$why" ] || grep -qF -- "$why" <<<"$OUT"; } &&
		{ [ -z "$max" ] || [ "$MS" -le "$max" ]; } && ! grep -q "successfully authenticated" <<<"$OUT"; then
		ok "$name -> \"$want\"${why:+ (\"$why\")} in ${MS} ms"
		TABLE+=("$name|$want|${MS}")
	else bad "$name: want \"$want\"${why:+ + \"$why\"}${max:+ within $max ms} (rc=$RC, ${MS} ms)" "$OUT"; fi
}
nolink() {
	if grep -q "/l/" <<<"$OUT"; then bad "$1: a link was shown" "$OUT"; else ok "$1: no link shown"; fi
}
section() { echo "== $1 ($((($(pty_now_ms) - START_MS) / 1000)) s)"; }
sessions() { grep -c 'POST /v1/sessions ' "$T/relay.log"; }

section "1a. refusals with the IdP and the relay up: never 'unavailable'"
pt_bg up alice
pt_link && browse alice alice-pw
pt_end
if [ "$RC" = 0 ] && grep -q "successfully authenticated" <<<"$OUT"; then ok "control: alice signs in -> PAM_SUCCESS (and the cache is warm)"
else bad "control login" "$OUT$(cat "$T/browser.err")"; fi

pt_bg up alice
pt_link && browse alice alice-pw --deny
pt_end
row "denied at the IdP (access_denied)" "$AUTHERR" "Sign-in was cancelled at the identity provider"

pt_bg up alice
if pt_link; then
	page=$(curl -sS --max-time 5 "$LINK")
	csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$page" | head -n 1)
	curl -sS --max-time 5 -o /dev/null --data-urlencode "csrf=$csrf" --data-urlencode deny=1 "$LINK"
fi
pt_end
row "\"This wasn't me\" on the relay's page" "$AUTHERR" "You said this wasn't me: login refused"

pt code alice "$(printf 'x\nx\nx\n')"
row "wrong confirmation code 3 times" "$MAXTRIES" "Wrong code 3 times"

pt_bg algs alice
pt_link && browse alice alice-pw
pt_end
row "token refused (RS256 ID token, allowed_algs = ES256)" "$AUTHERR" "The identity provider's answer was refused"

pt_bg up alice
pt_link && browse bob bob-pw
pt_end
row "user mismatch (bob signs in for alice)" "$AUTHERR" "This account (bob) is not the one you logged in as (alice)"

pt_bg groups alice
pt_link && browse alice alice-pw
pt_end
row "not in allowed_groups" "$AUTHERR" "not in an allowed group"

# the person never signs in: module timeout=8 -> the helper gives up after 5 s.
# The same for an account that does not exist: a link, then the same refusal.
pt_bg short nosuchuser-fb
pt_link
pt_end 20
row "timed out waiting for the person (timeout=8), user nosuchuser-fb" "$AUTHERR" "Timed out after"
if grep -qE "/l/[A-Za-z0-9_-]{16}" <<<"$OUT"; then ok "no account leak: an account that does not exist gets a link like any other"
else bad "nosuchuser-fb: no link" "$OUT"; fi

section "1b. unavailable: no link, PAM_AUTHINFO_UNAVAIL"
pt c500 alice
row "IdP answering HTTP 500 (cold cache)" "$UNAVAIL" "Identity provider unreachable" 3000
nolink "IdP 500"
pt hang alice
row "IdP accepts and never answers (cold cache)" "$UNAVAIL" "Identity provider unreachable" 3000
HANG_MS=$MS
pt tls alice
row "TLS failure (self-signed certificate, not trusted)" "$UNAVAIL" "Identity provider unreachable" 3000
pt relayhang alice
row "relay accepts and never answers" "$UNAVAIL" "Login relay unreachable" 3000
nolink "relay hanging"
pt relay500 alice
row "relay answering HTTP 500" "$UNAVAIL" "Login relay unreachable" 3000
pt nohelper alice
row "helper missing" "$UNAVAIL" "" 3000
pt falsehelper alice
row "helper broken (exits without a result)" "$UNAVAIL" "" 3000
pt garbage alice
row "helper broken (garbage on the socket)" "$UNAVAIL" "" 3000
pt noconf alice
row "config file missing" "$UNAVAIL" "configuration error" 3000
pt perm alice
row "config file group/world writable (refused as unsafe)" "$UNAVAIL" "configuration error" 3000
stack_relay_stop
pt up alice
row "relay stopped" "$UNAVAIL" "Login relay unreachable" 3000
nolink "relay stopped"
relay_restart || give_up "the relay did not come back" "$(tail -n 5 "$T/relay.log")"

# ---- 2. the recipes on the real sudo ----------------------------------------------------------
# recipe FILE [TIMEOUT] [CONF]: its auth lines, this build substituted, into /etc/pam.d/$NAME
recipe() {
	{
		grep '^auth' "config/pam.d/$1" |
			sed -e "s#pam_oauth2_pkce.so config=/etc/security/pam_oauth2_pkce.conf#$MOD helper=$HELPER config=${3:-$T/up.conf} timeout=${2:-60}#" \
				-e "s#ingroup oauth2-breakglass#ingroup $GROUP#"
		echo "account required pam_permit.so"
		echo "session required pam_permit.so"
	} >"$T/pam.d.tmp"
	grep -q "$MOD" "$T/pam.d.tmp" || give_up "recipe $1: no module line to substitute"
	INSTALLED_PAM=1
	install -m 0644 -o root -g root "$T/pam.d.tmp" "$PAMFILE"
}
{
	echo "alice ALL=(ALL) ALL"
	echo "Defaults:alice pam_service=$NAME, timestamp_timeout=0, !mail_badpass, passwd_tries=1, !lecture"
} >"$T/sudoers"
chmod 0440 "$T/sudoers"
visudo -cf "$T/sudoers" >/dev/null 2>&1 || give_up "visudo -cf rejects the drop-in" "$(visudo -cf "$T/sudoers" 2>&1)"
[ -e "$PAMFILE" ] && give_up "$PAMFILE already exists (another run?)"
[ -e "$SUDOERS" ] && give_up "$SUDOERS already exists (another run?)"
INSTALLED_SUDOERS=1
install -m 0440 -o root -g root "$T/sudoers" "$SUDOERS" || give_up "install $SUDOERS"
visudo -c >/dev/null 2>&1 || give_up "visudo -c fails with the drop-in" "$(visudo -c 2>&1)"
pty_start "$T" || give_up "tmux did not start"
W=0
# sudo_run: sudo as alice on a new pty window
sudo_run() {
	W=$((W + 1))
	pty_run "s$W" "runuser -u alice -- sudo -k -- sh -c 'echo SUDO-OK-\$(id -un)'"
}
PWPROMPT='\[sudo\] password for alice: '
LINKRE="$RELAY_URL/l/[A-Za-z0-9_-]{16}"
slink() { pty_screen | grep -oE "$LINKRE" | head -n 1; }
sudo_end() { pty_wait '^EXIT=' "${1:-15}"; S=$(pty_screen); }
granted() { [ "$(pty_exit_status)" = 0 ] && grep -qx 'SUDO-OK-root' <<<"$S"; }
refused_nopw() { # NAME REASON
	if [ "$(pty_exit_status)" = 1 ] && ! grep -q 'SUDO-OK' <<<"$S" && ! grep -qE "$PWPROMPT" <<<"$S" &&
		grep -qF -- "$2" <<<"$S"; then ok "$1: refused (\"$2\"), no password prompt"
	else bad "$1 (exit $(pty_exit_status))" "$S"; fi
}
SUDO_TIMES=()

section "2a. sudo-fallback, IdP up: a refusal never reaches the password"
recipe sudo-fallback
sudo_run
if pty_wait "$LINKRE" 10; then LINK=$(slink); browse alice alice-pw; fi
sudo_end
if granted && ! grep -qE "$PWPROMPT" <<<"$S"; then ok "sudo-fallback, alice signs in: sudo runs (SUDO-OK-root), no password asked"
else bad "sudo-fallback granted" "$S"; fi
sudo_run
if pty_wait "$LINKRE" 10; then LINK=$(slink); browse alice alice-pw --deny; fi
sudo_end
refused_nopw "sudo-fallback, the person denies at the IdP" "Sign-in was cancelled at the identity provider"
sudo_run
if pty_wait "$LINKRE" 10; then LINK=$(slink); browse bob bob-pw; fi
sudo_end
refused_nopw "sudo-fallback, bob signs in for alice" "This account (bob) is not the one you logged in as (alice)"
recipe sudo-fallback 8
sudo_run
pty_wait "$LINKRE" 10
sudo_end 15
refused_nopw "sudo-fallback, the person never signs in (timeout=8)" "Timed out after"

section "2b. sudo-breakglass"
usermod -aG "$GROUP" alice
recipe sudo-breakglass
n0=$(sessions)
sudo_run
if pty_wait "$PWPROMPT" 10; then pty_keys "$PW" Enter; fi
sudo_end
if granted && ! grep -q "/l/" <<<"$S" && [ "$(sessions)" = "$n0" ]; then
	ok "breakglass member: password prompt, no link, no relay registration; the password works"
else bad "breakglass member (relay registrations $n0 -> $(sessions))" "$S"; fi
gpasswd -d alice "$GROUP" >/dev/null
sudo_run
if pty_wait "$LINKRE" 10; then LINK=$(slink); browse alice alice-pw; fi
sudo_end
if granted && grep -qE "$LINKRE" <<<"$S" && ! grep -qE "$PWPROMPT" <<<"$S"; then
	ok "breakglass non-member: the link, no password prompt; signed in -> sudo runs"
else bad "breakglass non-member" "$S"; fi

section "2c. sudo-two-factor: password and sign-in, each alone fails"
recipe sudo-two-factor
# tf PASSWORD USER: types the password, then the browser signs in as USER
tf() {
	sudo_run
	pty_wait "$PWPROMPT" 10 && pty_keys "$1" Enter
	if pty_wait "$LINKRE" 10; then LINK=$(slink); browse "$2" "$2-pw"; fi
	sudo_end
}
tf "$PW" alice
if granted; then ok "two-factor: right password + alice's sign-in -> sudo runs"; else bad "two-factor both" "$S"; fi
tf "wrong-$PW" alice
if [ "$(pty_exit_status)" = 1 ] && ! grep -q SUDO-OK <<<"$S" && grep -qE "$LINKRE" <<<"$S"; then
	ok "two-factor: wrong password + alice's sign-in -> refused (the link still came: required, not requisite)"
else bad "two-factor wrong password" "$S"; fi
tf "$PW" bob
if [ "$(pty_exit_status)" = 1 ] && ! grep -q SUDO-OK <<<"$S"; then ok "two-factor: right password + bob's sign-in -> refused"
else bad "two-factor wrong account" "$S"; fi

# ---- 3. sshd-fallback on the real sshd ------------------------------------------------------
SPORT=$(stack_freeport)
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey" || give_up "ssh-keygen"
cat >"$T/sshd_config" <<EOF
Port $SPORT
ListenAddress 127.0.0.1
HostKey $T/hostkey
PidFile $T/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
AuthenticationMethods keyboard-interactive
AllowUsers alice
StrictModes no
LogLevel VERBOSE
EOF
{
	grep '^auth' config/pam.d/sshd-fallback |
		sed "s#pam_oauth2_pkce.so config=/etc/security/pam_oauth2_pkce.conf#$MOD helper=$HELPER config=$T/up.conf timeout=60#"
	echo "account required pam_permit.so"
	echo "session required pam_permit.so"
} >"$T/svc/sshd"
mkdir -p /run/sshd
/usr/sbin/sshd -t -f "$T/sshd_config" 2>"$T/sshd-t.log" || give_up "sshd -t" "$(cat "$T/sshd-t.log")"
LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/svc" \
	/usr/sbin/sshd -D -e -f "$T/sshd_config" 2>"$T/sshd.log" &
SSHD_PID=$!
for _ in $(seq 100); do
	[ "$(timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SPORT && head -c 7 <&3" 2>/dev/null)" = SSH-2.0 ] && break
	sleep 0.1
done
ssh_run() {
	W=$((W + 1))
	pty_run "h$W" "LC_ALL=C.UTF-8 ssh -F /dev/null -p $SPORT -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o IdentityAgent=none -o PubkeyAuthentication=no -o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=1 alice@127.0.0.1 true"
}
accepted() { grep -c "Accepted keyboard-interactive/pam for alice" "$T/sshd.log"; }
SSHPW='^Password:'

section "3a. sshd-fallback, IdP up: denied -> Permission denied, no password prompt"
ssh_run
if pty_wait "once you have signed in: " 15; then LINK=$(slink); browse alice alice-pw --deny; pty_keys Enter; fi
pty_wait '^EXIT=' 15
S=$(pty_screen)
if grep -q "Permission denied" <<<"$S" && ! grep -qE "$SSHPW" <<<"$S" && [ -n "${LINK:-}" ]; then
	ok "sshd-fallback, the person denies: \"$(grep -o 'Permission denied.*' <<<"$S" | head -n 1)\", no password prompt"
else bad "sshd-fallback denied" "$S$(tail -n 5 "$T/sshd.log")"; fi

# ---- the relay stopped (the IdP up) ---------------------------------------------------------
section "2d/3b. the relay stopped: sudo-fallback, sudo-two-factor, sshd-fallback"
# fb NAME: the password prompt comes (time measured), the right password runs sudo
fb() {
	sudo_run
	if pty_wait "$PWPROMPT" 15; then
		ms=$(pty_ms)
		SUDO_TIMES+=("$1: ${ms} ms")
		pty_keys "$PW" Enter
	else ms=''; fi
	sudo_end
	if granted && [ -n "$ms" ] && [ "$ms" -le "${3:-3000}" ] && ! grep -qE "$LINKRE" <<<"$S" && grep -qF "$2" <<<"$S"; then
		ok "sudo-fallback, $1: \"$(grep -v '^$' <<<"$S" | head -n 1)\" then the password prompt after ${ms} ms; the password runs sudo"
	else bad "sudo-fallback, $1 (prompt after ${ms:-never} ms)" "$S"; fi
}
ssh_fb() {
	local a0
	a0=$(accepted)
	ssh_run
	if pty_wait "$SSHPW" 15; then
		ms=$(pty_ms)
		SUDO_TIMES+=("ssh, $1: ${ms} ms")
		pty_keys "$PW" Enter
	else ms=''; fi
	pty_wait '^EXIT=' 15
	S=$(pty_screen)
	if [ -n "$ms" ] && [ "$ms" -le 3000 ] && [ "$(accepted)" = $((a0 + 1)) ] && grep -qF "$2" <<<"$S"; then
		ok "sshd-fallback, $1: \"$2\" and the password prompt in one keyboard-interactive round after ${ms} ms; password accepted"
	else bad "sshd-fallback, $1 (prompt after ${ms:-never} ms, accepted $a0 -> $(accepted))" "$S$(tail -n 5 "$T/sshd.log")"; fi
}
stack_relay_stop
recipe sudo-fallback
fb "relay stopped" "Login relay unreachable"
recipe sudo-two-factor
sudo_run
pty_wait "$PWPROMPT" 10 && pty_keys "$PW" Enter
sudo_end
if [ "$(pty_exit_status)" = 1 ] && ! grep -q SUDO-OK <<<"$S" && grep -q "Login relay unreachable" <<<"$S"; then
	ok "two-factor, relay stopped: the right password alone is refused (no fallback in two-factor)"
else bad "two-factor with the relay stopped" "$S"; fi
ssh_fb "relay stopped" "Login relay unreachable"
relay_restart || give_up "the relay did not come back" "$(tail -n 5 "$T/relay.log")"

# ---- the IdP stopped (and hanging): the password, fast --------------------------------------------
section "1c. the IdP stopped"
idp_stop
pt cold alice
row "IdP stopped, cold cache" "$UNAVAIL" "Identity provider unreachable" 3000
nolink "IdP stopped, cold cache"
pt up alice
row "IdP stopped, warm cache (discovery and JWKS cached: the probe finds it down)" "$UNAVAIL" "Identity provider unreachable" 3000
nolink "IdP stopped, warm cache"
pt up nosuchuser-fb
row "IdP stopped, an account that does not exist: the same answer" "$UNAVAIL" "Identity provider unreachable" 3000
pt rate alice
pt rate alice
row "rate limited (max_logins_per_minute = 1), IdP stopped: still a refusal" "$MAXTRIES" "Too many logins started"

section "2d. sudo-fallback with the IdP down, the relay down, the IdP hanging"
recipe sudo-fallback
fb "IdP stopped (warm cache)" "Identity provider unreachable"
sudo_run
pty_wait "$PWPROMPT" 15 && pty_keys "wrong-$PW" Enter
sudo_end
if [ "$(pty_exit_status)" = 1 ] && ! grep -q SUDO-OK <<<"$S"; then ok "sudo-fallback, IdP stopped, wrong password: refused"
else bad "sudo-fallback wrong password" "$S"; fi
recipe sudo-fallback 60 "$T/cold.conf"
fb "IdP stopped (cold cache)" "Identity provider unreachable"
recipe sudo-fallback 60 "$T/hang.conf"
fb "IdP accepts and never answers" "Identity provider unreachable" 3500

section "3b. sshd-fallback with the IdP down / relay down"
ssh_fb "IdP stopped" "Identity provider unreachable"

if ! grep -Eq 'fatal|segfault|signal 11' "$T/sshd.log" && kill -0 "$SSHD_PID" 2>/dev/null; then ok "sshd log: no fatal error"
else bad "sshd log" "$(grep -E 'fatal|segfault|signal 11' "$T/sshd.log" | head)"; fi

section "the table (pamtester) and the time to the password prompt"
printf '  %s\n' "${TABLE[@]}" | column -t -s '|'
printf '  %s\n' "${SUDO_TIMES[@]}"
echo "== took $((($(pty_now_ms) - START_MS) / 1000)) s"
finish
