#!/bin/bash
# End-to-end ssh logins through a REAL OpenSSH sshd: the test IdP
# (oidc-provider, tests/idp), oauth2-pkce-relay on a free loopback port,
# /usr/sbin/sshd on 127.0.0.1 (own config, host key, port) with
# pam_oauth2_pkce.so loaded through pam_wrapper (PAM service "sshd" read from
# a temp dir: no /etc/pam.d changes; sshd's per-connection re-exec keeps the
# environment), oauth2-pkce-helper forked by the module, the ssh client
# driven by expect on a pty (UTF-8 locale), and the scripted browser
# (tests/idp/browser.mjs) as the person's phone.
#
# Needs root (sshd, the local account alice: created with a shell if missing
# and removed afterwards) and the packages openssh-server, expect,
# libpam-wrapper, nodejs. The helper reads its config file per login, so the
# cases switch it between logins; sshd is reloaded (SIGHUP) once for XD-09.
# Last line: "sshd: N passed, N failed"; exit status non-zero on any failure.
# KEEP_TMP=1 keeps the temp dir (logs, screens).
set -u
cd "$(dirname "$0")/../.." || exit 1
SUITE=sshd BAD_DETAIL='tail -n 25'
. tests/lib/common.sh
. tests/lib/accounts.sh
. tests/lib/pty.sh
START_S=$(date +%s)

need_parts
SSHD=/usr/sbin/sshd
need_root "sshd, the local account alice"
missing=
[ -x "$SSHD" ] || missing+=" openssh-server"
command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1 || missing+=" openssh-client"
command -v expect >/dev/null 2>&1 || missing+=" expect"
ldconfig -p | grep -q 'libpam_wrapper\.so ' || missing+=" libpam-wrapper"
command -v node >/dev/null 2>&1 || missing+=" nodejs"
[ -z "$missing" ] || give_up "missing packages:$missing (apt-get install -y$missing)"
. tests/idp/lib.sh
. tests/lib/stack.sh
idp_ensure_deps || give_up "test IdP dependencies (npm ci --prefix tests/idp)"

# An ASan module needs the ASan runtime preloaded into sshd; sshd's
# seccomp-sandboxed pre-auth child then dies with SIGSYS (measured: "preauth
# child terminated by signal 31", the session breaks). Not testable here.
if asan_module; then
	skip "$B has an ASan module; sshd's seccomp sandbox kills ASan-preloaded children (use the normal build)"
fi
PRELOAD=libpam_wrapper.so

tmpdir
chmod 0755 "$T"
SSHD_PID='' RELAY_PID=''
TERMS=() # expect drivers still running
cleanup() {
	local p k
	for p in "${TERMS[@]}"; do
		kill -0 "$p" 2>/dev/null || continue
		for k in $(pgrep -P "$p" 2>/dev/null); do kill -KILL "$k" 2>/dev/null; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -n "$SSHD_PID" ]; then
		# per-connection children first (they outlive the listener)
		for k in $(pgrep -P "$SSHD_PID" 2>/dev/null); do kill -TERM "$k" 2>/dev/null; done
		kill -TERM "$SSHD_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$SSHD_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
	fi
	if [ -n "$RELAY_PID" ]; then kill -TERM "$RELAY_PID" 2>/dev/null; wait "$RELAY_PID" 2>/dev/null; fi
	pty_stop
	idp_stop
	# pam_wrapper's copies of the service dir (/tmp/pam.X) left by sshd processes that ended without exit()
	for k in /tmp/pam.?; do
		[ -f "$k/sshd" ] && grep -qsF "config=$T/pam.conf " "$k/sshd" && rm -rf "$k"
	done
	accounts_remove
}
at_exit cleanup

freeport() { stack_freeport; }

# ---- the local account --------------------------------------------------------------
accounts_ensure -m -s /bin/sh -- alice || give_up "useradd alice"
case $(getent passwd alice | cut -d: -f7) in
*/nologin | */false) give_up "the existing account alice has no usable shell ($(getent passwd alice | cut -d: -f7)): the ssh session cannot run" ;;
esac

# ---- IdP + relay ----------------------------------------------------------------------
RPORT=$(freeport)
RELAY=http://127.0.0.1:$RPORT
idp_start "$T/idp" --redirect-uri "$RELAY/callback" || give_up "IdP did not start"
stack_relay_start "$T" "$RPORT" pkce-es256 "max_ttl = 120" || give_up "relay did not start" "$(cat "$T/relay.log")"

stack_helper_reach "$T" # PAM-23: the helper uses $T/cache as _oauth2-pkce

# ---- the helper's config (rewritten between cases) and the PAM service ----------------
# helper_conf [policy lines for the [service sshd] section...]
helper_conf() {
	{
		cat <<EOF
issuer = $IDP_ISSUER
client_id = pkce-es256
scopes = openid profile email groups
cache_dir = $T/cache
allow_insecure_loopback = yes
relay_url = $RELAY
relay_secret_file = $RELAY_SECRET_FILE
http_timeout = 5
max_logins_per_minute = 0
qr = utf8
EOF
		if [ $# -gt 0 ]; then
			echo "[service sshd]"
			printf '%s\n' "$@"
		fi
	} >"$T/pam.conf.tmp"
	chown root:root "$T/pam.conf.tmp"
	chmod 0600 "$T/pam.conf.tmp"
	mv "$T/pam.conf.tmp" "$T/pam.conf"
}
helper_conf
mkdir -p "$T/pam.d"
cat >"$T/pam.d/sshd" <<EOF
auth required $MOD helper=$HELPER config=$T/pam.conf timeout=60
account required pam_permit.so
session required pam_permit.so
EOF
# pam_wrapper wants a fallback service (else a PWRAP_ERROR line per connection)
printf '%s\n' "auth required pam_deny.so" "account required pam_deny.so" "session required pam_deny.so" >"$T/pam.d/other"

# ---- sshd ---------------------------------------------------------------------------------
SPORT=$(freeport)
ssh-keygen -q -t ed25519 -N '' -C sshd-e2e-host -f "$T/hostkey" || give_up "ssh-keygen (host key)"
ssh-keygen -q -t ed25519 -N '' -C sshd-e2e-client -f "$T/clientkey" || give_up "ssh-keygen (client key)"
cp "$T/clientkey.pub" "$T/authorized_keys"
chmod 0644 "$T/authorized_keys"
# sshd_conf AUTHENTICATION_METHODS
sshd_conf() {
	cat >"$T/sshd_config" <<EOF
Port $SPORT
ListenAddress 127.0.0.1
HostKey $T/hostkey
PidFile $T/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile $T/authorized_keys
# the temp dir lives under /tmp (mode 1777)
StrictModes no
AuthenticationMethods $1
AllowUsers alice
LogLevel VERBOSE
LoginGraceTime 90
EOF
}
sshd_conf keyboard-interactive
mkdir -p /run/sshd
"$SSHD" -t -f "$T/sshd_config" 2>"$T/sshd-t.log" || give_up "sshd -t rejects the test config" "$(cat "$T/sshd-t.log")"
LD_PRELOAD=$PRELOAD PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
	"$SSHD" -D -e -f "$T/sshd_config" 2>"$T/sshd.log" &
SSHD_PID=$!
# sshd_ready: the listener answers with its banner
sshd_ready() {
	local b i
	for ((i = 0; i < 100; i++)); do
		b=$(timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SPORT && head -c 7 <&3" 2>/dev/null)
		[ "$b" = SSH-2.0 ] && return 0
		kill -0 "$SSHD_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
sshd_ready || give_up "sshd did not start on 127.0.0.1:$SPORT" "$(cat "$T/sshd.log")"

# ---- the terminal: ssh under expect -----------------------------------------------------
# The driver spawns its arguments on a pty and logs everything shown to
# DIR/screen. At each login prompt (the helper's "... the browser shows: " or
# "... once you have signed in: ") it saves what was shown since the last
# input to DIR/prompt.N, then waits for DIR/answer.N (written by the test)
# and types it. At the end: DIR/rc (the exit status), or DIR/timeout.
cat >"$T/term.exp" <<'EOF'
set dir [lindex $argv 0]
set timeout 40
log_user 0
# the transcript, appended at each match (log_file stays empty with log_user 0)
proc shown {text} {
	global dir
	set f [open "$dir/screen" a]
	puts -nonewline $f $text
	close $f
}
shown ""
spawn -noecho {*}[lrange $argv 1 end]
set n 0
set done 0
while {!$done} {
	expect {
		-re {(the browser shows|once you have signed in): $} {
			incr n
			shown $expect_out(buffer)
			set f [open "$dir/prompt.$n.tmp" w]
			puts -nonewline $f $expect_out(buffer)
			close $f
			file rename -force "$dir/prompt.$n.tmp" "$dir/prompt.$n"
			set waited 0
			while {![file exists "$dir/answer.$n"]} {
				after 50
				incr waited
				if {$waited > 800} {
					set f [open "$dir/timeout" w]
					puts $f "no answer.$n from the test"
					close $f
					exit 1
				}
			}
			set f [open "$dir/answer.$n" r]
			set a [read -nonewline $f]
			close $f
			send -- "$a\r"
		}
		eof {
			shown $expect_out(buffer)
			set done 1
		}
		timeout {
			# what was shown but matched nothing (a login that never prompts)
			expect -timeout 0 -re {(.|\n)+} {
				shown $expect_out(buffer)
			}
			set f [open "$dir/timeout" w]
			puts $f "expect timed out after prompt $n"
			close $f
			exit 1
		}
	}
}
set st [wait]
set f [open "$dir/rc" w]
puts $f [lindex $st 3]
close $f
EOF

SSH_BASE=(ssh -F /dev/null -p "$SPORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o LogLevel=ERROR -o IdentityAgent=none -o IdentitiesOnly=yes
	-o ConnectTimeout=10)
# shellcheck disable=SC2016 # expanded by alice's shell on the far side
REMOTE='echo LOGGED-IN-$(id -un)'
TN=0 # terminals started
D=   # the current terminal's directory
# start_ssh [ssh options...]: ssh alice@127.0.0.1 "$REMOTE" in the background.
start_ssh() {
	TN=$((TN + 1))
	D=$T/t$TN
	mkdir -p "$D"
	LC_ALL=C.UTF-8 LANG=C.UTF-8 expect -f "$T/term.exp" "$D" "${SSH_BASE[@]}" "$@" alice@127.0.0.1 "$REMOTE" \
		>"$D/expect.out" 2>&1 &
	TERMS+=($!)
	LINK="" SCREEN=""
}
# wait_prompt N [SECONDS]: until prompt N is on the screen (or the client ended).
wait_prompt() {
	local i
	for ((i = 0; i < ${2:-20} * 20; i++)); do
		[ -f "$D/prompt.$1" ] && return 0
		[ -f "$D/rc" ] || [ -f "$D/timeout" ] && break
		sleep 0.05
	done
	[ -f "$D/prompt.$1" ]
}
# answer N TEXT: typed at prompt N (Enter appended).
answer() {
	printf '%s' "$2" >"$D/answer.$1.tmp" && mv "$D/answer.$1.tmp" "$D/answer.$1"
}
# finish_ssh [SECONDS]: waits for the client's end; sets RC and SCREEN.
finish_ssh() {
	local i
	for ((i = 0; i < ${1:-30} * 20; i++)); do
		[ -f "$D/rc" ] || [ -f "$D/timeout" ] && break
		sleep 0.05
	done
	RC=$(cat "$D/rc" 2>/dev/null || echo "none ($(cat "$D/timeout" 2>/dev/null || echo 'still running'))")
	SCREEN=$(cat "$D/screen" 2>/dev/null)
}
# the relay link in a prompt snapshot
link_of() { grep -oE "$RELAY/l/[A-Za-z0-9_-]{16}" "$1" 2>/dev/null | head -n 1; }
has_utf8_qr() { grep -qF -e '▀' -e '▄' -e '█' "$1"; }
# browse USER PW: the scripted browser on $LINK, through the callback page.
# BOUT = the page, BRC = status; CONFIRM = the 6-digit code shown there.
browse() {
	BOUT=$(node "$BROWSER" --url "$LINK" --user "$1" --password "$2" --follow-callback 2>"$D/browser.err")
	BRC=$?
	CONFIRM=$(grep -oE 'class="code">[0-9]{6}<' <<<"$BOUT" | grep -oE '[0-9]{6}' | head -n 1)
}
sessions() { grep -c 'POST /v1/sessions' "$T/relay.log"; }
diag() { printf '%s\n--- sshd.log\n%s\n--- browser\n%s' "$(cat "$D/screen" "$D/expect.out" 2>/dev/null)" \
	"$(tail -n 8 "$T/sshd.log")" "$(cat "$D/browser.err" 2>/dev/null)"; }

echo "== sshd $($SSHD -V 2>&1 | head -n 1) on 127.0.0.1:$SPORT, AuthenticationMethods keyboard-interactive"

# 1. PAM-22 + XD-06, wait = auto (no [service sshd] section): sshd sets PAM_RHOST -> code
t0=$(date +%s%N)
start_ssh -o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=1
if wait_prompt 1; then
	P1=$D/prompt.1
	LINK=$(link_of "$P1")
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ -n "$LINK" ] && has_utf8_qr "$P1" && grep -qF "To log in as alice" "$P1" &&
		grep -qF "Then type the code the browser shows: " "$P1"; then
		ok "PAM-22 link, UTF-8 QR (half blocks) and the code prompt shown by ssh before any input (${ms} ms)"
	else bad "PAM-22 link/QR/prompt before input" "$(cat "$P1")"; fi
	if tr -d '\r' <"$P1" | grep -q '^(alice@127\.0\.0\.1) To log in as alice'; then ok "the prompt is keyboard-interactive's (ssh prefixes '(alice@127.0.0.1) ')"
	else bad "no '(alice@127.0.0.1) ' prefix on the prompt" "$(head -n 3 "$P1")"; fi
	page=$(curl -sS --max-time 5 "$LINK")
	if grep -qF '<dt>Account</dt><dd>alice</dd>' <<<"$page" && grep -qF '<dt>Service</dt><dd>sshd</dd>' <<<"$page" &&
		grep -qF '<dt>From</dt><dd>127.0.0.1</dd>' <<<"$page"; then
		ok "XD-01/XD-03 the context page names service sshd, user alice and the ssh client's address (PAM_RHOST)"
	else bad "XD-01 context page fields (sshd, alice, 127.0.0.1)" "$page"; fi
	browse alice alice-pw
	if [ -n "$CONFIRM" ]; then answer 1 "$CONFIRM"; else answer 1 000000; fi
else bad "PAM-22 no login prompt from ssh" "$(diag)"; fi
finish_ssh
if [ "$RC" = 0 ] && grep -q '^LOGGED-IN-alice' <<<"$SCREEN" && [ -n "${CONFIRM:-}" ]; then
	ok "XD-06 wait=auto over ssh (code mode): code from the callback page typed, the remote command ran as alice"
else bad "XD-06 ssh login with the confirmation code (rc=$RC, code=${CONFIRM:-none}, brc=${BRC:-})" "$(diag)"; fi
if [ -n "${P1:-}" ] && ! grep -q LOGGED-IN "$P1" && [ "$(grep -c "$RELAY/l/" "$D/screen")" -eq 1 ]; then
	ok "one login, one link: nothing ran before the code was typed"
else bad "the screen shows more than one login or output before the code" "$SCREEN"; fi

# 2. XD-06 wrong code 3 times (after a real sign-in at the IdP). The client
# would try keyboard-interactive 3 times (a new login each), but PAM_MAXTRIES
# makes sshd stop offering it on this connection: "Permission denied ()".
helper_conf "wait = code"
n0=$(sessions)
start_ssh -o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=3
CONFIRM=
if wait_prompt 1 && LINK=$(link_of "$D/prompt.1") && [ -n "$LINK" ]; then
	browse alice alice-pw
	w=$(printf '%06d' $(((10#${CONFIRM:-0} + 1) % 1000000)))
	answer 1 "$w"
	wait_prompt 2 10 && grep -qF "Wrong code (2 of 3 tries left)" "$D/prompt.2" && answer 2 "$w"
	wait_prompt 3 10 && grep -qF "Wrong code (1 of 3 tries left)" "$D/prompt.3" && answer 3 "$w"
fi
finish_ssh
n1=$(sessions)
if [ -n "$CONFIRM" ] && [ -f "$D/prompt.3" ] && [ "$RC" = 255 ] && grep -q "Permission denied" <<<"$SCREEN" &&
	! grep -q LOGGED-IN <<<"$SCREEN"; then
	ok "XD-06 wrong confirmation code 3 times over ssh: \"$(tr -d '\r' <<<"$SCREEN" | grep -o 'Permission denied.*' | head -n 1)\", no shell"
else bad "XD-06 wrong code 3 times (rc=$RC, prompts=$(find "$D" -name 'prompt.[0-9]*' | wc -l))" "$(diag)"; fi
if grep -qF "Permission denied ()." <<<"$SCREEN" && [ ! -f "$D/prompt.4" ] && [ "$n1" = $((n0 + 1)) ]; then
	ok "XD-06 PAM_MAXTRIES reached sshd: no further keyboard-interactive on the connection (one relay registration, no new link)"
else bad "XD-06 PAM_MAXTRIES over ssh (relay sessions $n0 -> $n1)" "$(diag)"; fi
if grep -q "Failed keyboard-interactive/pam for alice from 127.0.0.1" "$T/sshd.log"; then ok "sshd logged the failed keyboard-interactive/pam login"
else bad "sshd log: no failed keyboard-interactive/pam line" "$(tail -n 10 "$T/sshd.log")"; fi

# 3. PAM-16: ssh alice@, signed in at the IdP as bob (his confirmation code typed)
start_ssh -o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=1
CONFIRM=
if wait_prompt 1 && LINK=$(link_of "$D/prompt.1") && [ -n "$LINK" ]; then
	browse bob bob-pw
	answer 1 "${CONFIRM:-000000}"
fi
finish_ssh
if [ -n "$CONFIRM" ] && [ "$RC" = 255 ] && grep -qF "Permission denied (keyboard-interactive)." <<<"$SCREEN" &&
	! grep -q LOGGED-IN <<<"$SCREEN" &&
	[ ! -f "$D/prompt.2" ]; then
	ok "PAM-16 ssh alice@, signed in as bob with bob's code typed: Permission denied, no shell"
else bad "PAM-16 alice/bob over ssh (rc=$RC, code=${CONFIRM:-none})" "$(diag)"; fi

# 4. wait = enter, qr = off (the helper reads its config per login)
helper_conf "wait = enter" "qr = off"
start_ssh -o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=1
if wait_prompt 1 && LINK=$(link_of "$D/prompt.1") && [ -n "$LINK" ]; then
	if grep -qF "Press Enter once you have signed in: " "$D/prompt.1" && ! has_utf8_qr "$D/prompt.1"; then
		ok "PAM-22 wait=enter: link and the Enter prompt before any input, no QR (qr = off)"
	else bad "wait=enter prompt" "$(cat "$D/prompt.1")"; fi
	browse alice alice-pw
	answer 1 ""
else bad "wait=enter: no prompt with a link" "$(diag)"; fi
finish_ssh
if [ "$RC" = 0 ] && grep -q '^LOGGED-IN-alice' <<<"$SCREEN"; then ok "wait=enter over ssh: browser, then Enter, the remote command ran as alice"
else bad "wait=enter over ssh (rc=$RC)" "$(diag)"; fi

# 4b. The QR as a phone sees it (issue 7): ssh in a real terminal (tmux) at
# 80x24 and 120x50, the client in a UTF-8 locale or in LANG=C. At the code
# prompt the visible screen is captured (capture-pane -p, what is on the
# glass, no scrollback), rebuilt as an image and decoded by zbarimg
# (tests/lib/qrscreen.py); the decoded text must be the link shown.
# qr_screen NAME COLSxROWS LOCALE QR: ssh alice@ in a COLSxROWS terminal, the
# client's LC_ALL=LOCALE, the helper's "qr = QR". Sets QRSHOT (the visible
# screen's file), QRLINK (the link, from the scrollback with wrapped lines
# joined), QROUT (qrscreen.py's lines) and QRRC (its status).
qr_screen() {
	helper_conf "wait = code" "qr = $4"
	pty_qr "$1" "$2" 'the browser shows:' 20 "env LC_ALL=$3 LANG=$3 $(printf '%q ' "${SSH_BASE[@]}") -o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=1 alice@127.0.0.1 true"
}
if ! command -v tmux >/dev/null 2>&1 || ! command -v zbarimg >/dev/null 2>&1; then
	bad "QR scan: tmux and zbarimg needed (apt-get install -y tmux zbar-tools)"
else
	# the pty session holds the server while the cases come and go
	pty_start "$T" || bad "QR scan: tmux did not start"
	qr_screen utf8-80x24 80x24 C.UTF-8 utf8
	rows=$(sed -n 's/^screen: \([0-9]*\) rows x \([0-9]*\) columns.*/\1/p' <<<"$QROUT")
	cols=$(sed -n 's/^screen: \([0-9]*\) rows x \([0-9]*\) columns.*/\2/p' <<<"$QROUT")
	if [ "$QRRC" = 0 ] && [ -n "$rows" ] && [ "$rows" -le 24 ] && [ "$cols" -le 80 ] &&
		grep -qF "$QRLINK" "$QRSHOT"; then
		ok "QR ssh, client LANG=C.UTF-8, qr = utf8, 80x24: message, QR, link and prompt on one screen ($rows rows x $cols columns); zbarimg decodes the link shown ($(grep '^qr:' <<<"$QROUT" | cut -d';' -f1))"
	else bad "QR ssh UTF-8 80x24 (qrscreen status $QRRC)" "$QROUT"$'\n'"$(cat "$QRSHOT")"; fi
	qr_screen utf8-120x50 120x50 C.UTF-8 utf8
	if [ "$QRRC" = 0 ]; then ok "QR ssh, client LANG=C.UTF-8, qr = utf8, 120x50: zbarimg decodes the link shown"
	else bad "QR ssh UTF-8 120x50 (qrscreen status $QRRC)" "$QROUT"$'\n'"$(cat "$QRSHOT")"; fi
	# LANG=C client: ssh prints each non-ASCII byte as an octal escape
	qr_screen c-utf8-80x24 80x24 C utf8
	if [ "$QRRC" = 2 ] && grep -qF '\342\226' "$QRSHOT"; then
		ok "QR ssh, client LANG=C, qr = utf8: no code on the screen, ssh shows the half blocks as octal escapes ($(grep -o '\\342\\226\\2[0-9]*' "$QRSHOT" | head -n 1)...): use qr = ascii for such clients"
	else bad "QR ssh LANG=C with qr = utf8 (qrscreen status $QRRC): expected octal escapes, no code" "$QROUT"$'\n'"$(cat "$QRSHOT")"; fi
	qr_screen c-ascii-120x50 120x50 C ascii
	if [ "$QRRC" = 0 ]; then
		ok "QR ssh, client LANG=C, qr = ascii, 120x50: zbarimg decodes the link shown ($(head -n 1 <<<"$QROUT"); $(grep '^qr:' <<<"$QROUT" | cut -d';' -f1))"
	else bad "QR ssh LANG=C qr = ascii 120x50 (qrscreen status $QRRC)" "$QROUT"$'\n'"$(cat "$QRSHOT")"; fi
	# measured, not asserted: the ASCII form (one text row per module) is taller than 24 rows
	qr_screen c-ascii-80x24 80x24 C ascii
	echo "note QR ssh, client LANG=C, qr = ascii, 80x24: $(tr '\n' ';' <<<"$QROUT")"
fi

# 5. XD-09: AuthenticationMethods publickey,keyboard-interactive (sshd reloaded by SIGHUP)
helper_conf "wait = code"
sshd_conf publickey,keyboard-interactive
nl=$(grep -c "Server listening on" "$T/sshd.log")
kill -HUP "$SSHD_PID"
for _ in $(seq 100); do
	[ "$(grep -c "Server listening on" "$T/sshd.log")" -gt "$nl" ] && break
	sleep 0.05
done
if [ "$(grep -c "Server listening on" "$T/sshd.log")" -gt "$nl" ] && sshd_ready; then
	n0=$(sessions)
	start_ssh -o PreferredAuthentications=publickey,keyboard-interactive -o NumberOfPasswordPrompts=1
	finish_ssh 20
	n1=$(sessions)
	if [ "$RC" = 255 ] && grep -q "Permission denied (publickey)" <<<"$SCREEN" && [ "$n1" = "$n0" ] &&
		! grep -q "$RELAY/l/" <<<"$SCREEN"; then
		ok "XD-09 publickey,keyboard-interactive, client without the key: \"Permission denied (publickey)\", no login registered at the relay, no link"
	else bad "XD-09 no key (rc=$RC, relay sessions $n0 -> $n1)" "$(diag)"; fi
	# positive twin: with the key, the IdP step comes second and logs in
	start_ssh -o PreferredAuthentications=publickey,keyboard-interactive -o NumberOfPasswordPrompts=1 -i "$T/clientkey"
	CONFIRM=
	if wait_prompt 1 && LINK=$(link_of "$D/prompt.1") && [ -n "$LINK" ]; then
		browse alice alice-pw
		answer 1 "${CONFIRM:-000000}"
	fi
	finish_ssh
	n2=$(sessions)
	if [ "$RC" = 0 ] && grep -q '^LOGGED-IN-alice' <<<"$SCREEN" && [ "$n2" = $((n1 + 1)) ] &&
		grep -q "Partial publickey for alice" "$T/sshd.log"; then
		ok "XD-09 positive twin: with the key, publickey then the IdP (one relay registration) then the code: logged in as alice"
	else bad "XD-09 with the key (rc=$RC, relay sessions $n1 -> $n2)" "$(diag)"; fi
else bad "sshd did not come back after SIGHUP" "$(tail -n 20 "$T/sshd.log")"; fi

# the whole run: no helper or sshd crash, sshd still serving
if ! grep -Eq 'fatal|Sanitizer|segfault|signal 11' "$T/sshd.log" && kill -0 "$SSHD_PID" 2>/dev/null; then
	ok "sshd log: no fatal error; the listener is still up after $TN ssh clients"
else bad "sshd log" "$(grep -E 'fatal|Sanitizer|segfault|signal 11' "$T/sshd.log" | head -n 10)"; fi

echo "== took $(($(date +%s) - START_S)) s"
finish
