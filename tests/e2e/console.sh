#!/bin/bash
# End-to-end console logins through the REAL /bin/login, everything real and
# on loopback: the test IdP (tests/idp), oauth2-pkce-relay, /bin/login on a
# pty of a private tmux server, pam_oauth2_pkce.so loaded by login's libpam
# through pam_wrapper (PAM service "login" read from a temp dir: no
# /etc/pam.d changes; LD_PRELOAD is set for the login command only), the
# root helper the module forks, and the scripted browser as the phone.
#
# Which login: on Debian 12 /bin/login is shadow's (package `login`, built
# from shadow 4.13), not util-linux's (Debian 13 moved `login` to util-linux).
# Measured with shadow's: it never prompts "login:" itself when PAM is used;
# the name prompt, if any, is a module's pam_get_user (PAM_USER_PROMPT
# "login: "). After a failed pam_authenticate it prints "Login incorrect",
# clears PAM_USER and tries again (LOGIN_RETRIES, 5 here), without delay
# with this PAM stack.
#
# Cases:
#   1. `login alice`, wait = poll: link + QR on the pty at once, sign-in as
#      alice, a shell for alice (without pam_wrapper's LD_PRELOAD).
#   2. kiosk (module args service=kiosk user_from_token, wait = code): `login`
#      with no name: no name prompt, link + QR + the code prompt; bob signs in,
#      his code is typed, a shell for bob.
#   3. kiosk without wait = code and without kiosk_accept_login_csrf: the
#      configuration error on each of login's tries, no link, no relay
#      registration, no shell.
#   4. PAM-16: `login alice`, bob signs in: refused ("This account (bob) is not
#      the one you logged in as (alice)", "Login incorrect", no shell).
#
# Needs root, the packages login, tmux, libpam-wrapper, nodejs (tests/idp),
# python3, curl. Creates the local accounts alice and bob (useradd -m -s
# /bin/bash) if missing and removes only those it created. Like any console
# login, /bin/login records failed tries in /var/log/btmp (6 per run, user
# "UNKNOWN"; wtmp/utmp got nothing here: no /run/utmp); those records stay.
# Last line: "console: N passed, N failed"; exit status non-zero on any
# failure. KEEP_TMP=1 keeps the temp dir (screens, logs).
set -u
cd "$(dirname "$0")/../.." || exit 1
SUITE=console BAD_DETAIL="grep -v '[▀▄█]' | tail -n 25"
. tests/lib/common.sh
. tests/lib/accounts.sh
. tests/lib/pty.sh
LOGIN=/bin/login
START_MS=$(($(date +%s%N) / 1000000))

need_root "/bin/login runs as root; the local accounts alice and bob"
need_parts
missing=
[ -x "$LOGIN" ] || missing+=" login"
command -v tmux >/dev/null 2>&1 || missing+=" tmux"
ldconfig -p | grep -q 'libpam_wrapper\.so ' || missing+=" libpam-wrapper"
command -v node >/dev/null 2>&1 || missing+=" nodejs"
command -v python3 >/dev/null 2>&1 || missing+=" python3"
command -v curl >/dev/null 2>&1 || missing+=" curl"
[ -z "$missing" ] || give_up "missing packages:$missing (apt-get install -y$missing)"
. tests/idp/lib.sh
. tests/lib/stack.sh
idp_ensure_deps || give_up "test IdP dependencies (npm ci --prefix tests/idp)"

# An ASan module cannot be tested here: shadow's login drops LD_* from its
# environment at start (sanitize_env, also with -p), so pam_wrapper no longer
# sees "libasan.so" in LD_PRELOAD when it loads libpam (lazily, at pam_start)
# and dlopens it with RTLD_DEEPBIND, which the ASan runtime refuses (measured:
# "You are trying to dlopen a .../libpam.so.0 shared library with
# RTLD_DEEPBIND flag which is incompatible with sanitizer runtime", abort).
if asan_module; then
	skip "$B has an ASan module; pam_wrapper inside /bin/login (LD_* dropped by login) dlopens libpam with RTLD_DEEPBIND, which ASan refuses (use the normal build)"
fi
PRELOAD=libpam_wrapper.so # for /bin/login only, never exported

tmpdir
chmod 0755 "$T" # the helper config inside stays root-only (0600)
RELAY_PID=''

cleanup() {
	local k
	# the login processes this test started (their helpers die with them: PDEATHSIG)
	pty_stop
	if [ -n "$RELAY_PID" ]; then kill -TERM "$RELAY_PID" 2>/dev/null; wait "$RELAY_PID" 2>/dev/null; fi
	idp_stop
	# pam_wrapper's copies of the service dir (/tmp/pam.X) left by killed logins
	for k in /tmp/pam.?; do
		[ -f "$k/login" ] && grep -qsF "config=$T/pam.conf " "$k/login" && rm -rf "$k"
	done
	accounts_remove
}
at_exit cleanup

now_ms() { pty_now_ms; }
descendants() { pty_descendants "$1"; } # all processes below PID, depth first
# user_shell PID USER: a descendant of PID that runs as USER (the login shell)
user_shell() {
	local p uid
	uid=$(id -u "$2" 2>/dev/null) || return 1
	for p in $(descendants "$1"); do
		[ "$(awk '$1 == "Uid:" {print $2}' "/proc/$p/status" 2>/dev/null)" = "$uid" ] && { echo "$p"; return 0; }
	done
	return 1
}

# ---- local accounts -------------------------------------------------------------------
# alice logs in at the console; bob is the kiosk's account and the wrong
# account of PAM-16 (his IdP identity must map to a local account). Other
# tests may create or remove them concurrently: only remove what we created.
accounts_ensure -m -s /bin/bash -- alice bob || give_up "useradd alice bob"
for u in alice bob; do
	case $(getent passwd "$u" | cut -d: -f7) in
	*/nologin | */false | "") give_up "the existing account $u has no usable shell ($(getent passwd "$u" | cut -d: -f7)): no console session can run" ;;
	esac
done

# ---- IdP + relay ----------------------------------------------------------------------
RPORT=$(stack_freeport)
RELAY=http://127.0.0.1:$RPORT
idp_start "$T/idp" --redirect-uri "$RELAY/callback" || give_up "the test IdP did not start"
stack_relay_start "$T" "$RPORT" pkce-es256 "max_ttl = 120" || give_up "the relay did not start" "$(cat "$T/relay.log")"

stack_helper_reach "$T" # PAM-23: the helper uses its cache in $T as _oauth2-pkce

# ---- the helper's config (rewritten between cases) and the PAM services ---------------
# helper_conf [lines for the [service kiosk] section...]
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

[service login]
wait = poll
EOF
		echo "[service kiosk]"
		printf '%s\n' "$@"
	} >"$T/pam.conf.tmp"
	chown root:root "$T/pam.conf.tmp"
	chmod 0600 "$T/pam.conf.tmp"
	mv "$T/pam.conf.tmp" "$T/pam.conf"
}
helper_conf "wait = code"
# pam_service DIR [module args...]: DIR/login (and a deny-all DIR/other for pam_wrapper)
pam_service() {
	mkdir -p "$1"
	cat >"$1/login" <<EOF
auth required $MOD helper=$HELPER config=$T/pam.conf timeout=60${2:+ $2}
account required pam_permit.so
session required pam_permit.so
EOF
	printf '%s\n' "auth required pam_deny.so" "account required pam_deny.so" "session required pam_deny.so" >"$1/other"
}
pam_service "$T/pam-console"
pam_service "$T/pam-kiosk" "service=kiosk user_from_token"

# ---- login on a pty ---------------------------------------------------------------------
pty_start "$T" || give_up "tmux did not start"

W= # the current case's tmux window
# run_login NAME SERVICE-DIR [login args...]: /bin/login in a new tmux window,
# pam_wrapper in its environment only; "EXIT=<status>" is printed after it.
# Sets W, PANE_PID, RUN_T0.
run_login() {
	local name=$1 dir=$2
	shift 2
	pty_run "$name" "LD_PRELOAD=$PRELOAD PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$dir $LOGIN $*"
	W=$PTY_W RUN_T0=$PTY_T0 PANE_PID=$PTY_PANE_PID
}
screen() { pty_screen; }
wait_screen() { pty_wait "$@"; } # ERE SECONDS [COUNT]
type_line() { pty_type "$1"; }
links() { screen | grep -oE "$RELAY/l/[A-Za-z0-9_-]{16}" | awk '!seen[$0]++'; }
exit_status() { pty_exit_status; }
has_qr() { grep -qF -e '▀' -e '▄' -e '█'; }
# browse LINK USER PW: the phone signs in and follows the relay's callback;
# CONFIRM = the 6-digit code on the callback page (code mode)
browse() {
	node "$BROWSER" --url "$1" --user "$2" --password "$3" --follow-callback >"$T/browser.out" 2>"$T/browser.err"
	BRC=$?
	CONFIRM=$(grep -oE 'class="code">[0-9]{6}<' "$T/browser.out" | grep -oE '[0-9]{6}' | head -n 1)
	return $BRC
}
sessions_posted() { grep -c 'POST /v1/sessions ' "$T/relay.log"; }
# wait_shell USER SECONDS: until the login's shell runs as USER; sets SHELL_PID
wait_shell() {
	local i
	SHELL_PID=
	for ((i = 0; i < $2 * 20; i++)); do
		SHELL_PID=$(user_shell "$PANE_PID" "$1") && return 0
		screen | grep -q '^EXIT=' && break
		sleep 0.05
	done
	return 1
}
# end_login: kills what is left of the current window's login
end_login() {
	local p
	screen >"$T/$W.screen" # for KEEP_TMP=1
	for p in $(descendants "$PANE_PID"); do kill -KILL "$p" 2>/dev/null; done
}
LINK_RE="$RELAY/l/[A-Za-z0-9_-]{16}"

echo "== /bin/login: $(dpkg-query -W -f='${binary:Package} ${Version} (source ${source:Package})' login 2>/dev/null)"

# ---- 1. console login for a named account (wait = poll) -----------------------------------
echo "== 1. login alice, wait = poll"
run_login console "$T/pam-console" alice
if wait_screen "$LINK_RE" 10; then
	ms=$(($(now_ms) - RUN_T0))
	S=$(screen)
	if has_qr <<<"$S" && grep -qF "To log in as alice, sign in" <<<"$S" && grep -qF "Waiting for you to sign in..." <<<"$S" &&
		! grep -qi 'login: *$' <<<"$S"; then
		ok "link, UTF-8 QR and \"Waiting for you to sign in...\" on the console pty ${ms} ms after start, no name prompt"
	else bad "link/QR/waiting text on the pty (${ms} ms)" "$S"; fi
	page=$(curl -sS --max-time 5 "$(links | head -n 1)")
	if grep -qF '<dt>Account</dt><dd>alice</dd>' <<<"$page" && grep -qF '<dt>Service</dt><dd>login</dd>' <<<"$page"; then
		ok "the relay's context page names account alice and service login"
	else bad "context page fields (alice, login)" "$page"; fi
	browse "$(links | head -n 1)" alice alice-pw || bad "browser (alice)" "$(cat "$T/browser.err")"
	if wait_shell alice 15; then
		sleep 0.3 # the shell's first prompt
		# shellcheck disable=SC2016 # expanded by alice's shell
		type_line 'echo CONSOLE-$(id -un) PRELOAD=[${LD_PRELOAD:-}]'
		if wait_screen '^CONSOLE-alice PRELOAD=\[\]$' 10; then
			ok "a shell for alice ($(cat "/proc/$SHELL_PID/comm" 2>/dev/null), pid $SHELL_PID) $(($(now_ms) - RUN_T0)) ms after login began: CONSOLE-alice, without pam_wrapper's LD_PRELOAD"
		else bad "alice's shell did not answer (or has LD_PRELOAD)" "$(screen)"; fi
		type_line exit
		if wait_screen '^EXIT=' 10 && [ "$(exit_status)" = 0 ]; then ok "logout: login ended with status 0"
		else bad "login did not end after exit (EXIT=$(exit_status))" "$(screen)"; fi
	else bad "no shell for alice after the sign-in" "$(screen)"$'\n--- browser\n'"$(cat "$T/browser.err")"; fi
else bad "no link on the pty within 10 s" "$(screen)"; fi
end_login

# ---- 2. kiosk: no user name, user_from_token, wait = code ---------------------------------
echo "== 2. kiosk: login without a name, user_from_token, wait = code"
run_login kiosk "$T/pam-kiosk"
CONFIRM=
if wait_screen 'Then type the code the browser shows: ?$' 10; then
	S=$(screen)
	if [ "$(links | wc -l)" = 1 ] && has_qr <<<"$S" && grep -qF "To log in as yourself, sign in" <<<"$S" &&
		! grep -qi 'login: *$' <<<"$S"; then
		ok "kiosk: no name prompt (login leaves it to PAM, the module does not ask), link + QR + the code prompt"
	else bad "kiosk: screen before the sign-in" "$S"; fi
	page=$(curl -sS --max-time 5 "$(links | head -n 1)")
	if grep -qF '<dt>Service</dt><dd>login</dd>' <<<"$page" && ! grep -qE '<dt>Account</dt><dd>(alice|bob|root)</dd>' <<<"$page"; then
		ok "kiosk: the context page names no account ($(grep -oE '<dt>Account</dt><dd>[^<]*</dd>' <<<"$page" | sed 's/<[^>]*>/ /g' | tr -s ' '))"
	else bad "kiosk: context page" "$page"; fi
	browse "$(links | head -n 1)" bob bob-pw || bad "browser (bob)" "$(cat "$T/browser.err")"
	if [ -n "$CONFIRM" ]; then
		type_line "$CONFIRM"
		if wait_shell bob 15; then
			sleep 0.3
			# shellcheck disable=SC2016 # expanded by bob's shell
			type_line 'echo KIOSK-$(id -un)'
			if wait_screen '^KIOSK-bob$' 10; then
				ok "kiosk: bob's code typed at the pty, a shell for bob started: KIOSK-bob"
			else bad "kiosk: bob's shell did not answer" "$(screen)"; fi
			type_line exit
			wait_screen '^EXIT=' 10
		else bad "kiosk: no shell for bob after the code" "$(screen)"; fi
	else bad "kiosk: no code on the callback page (browser status $BRC)" "$(cat "$T/browser.out" "$T/browser.err")"; fi
else bad "kiosk: no code prompt within 10 s" "$(screen)"; fi
end_login

# ---- 3. kiosk without wait = code: a configuration error, no link -------------------------
echo "== 3. kiosk without wait = code and without kiosk_accept_login_csrf"
helper_conf "qr = utf8"
before=$(sessions_posted)
run_login kiosk-poll "$T/pam-kiosk"
wait_screen '^EXIT=' 20
sleep 0.3 # any registration would be logged by now
S=$(screen)
after=$(sessions_posted)
nerr=$(grep -cx 'Login through the identity provider is not available (configuration error)' <<<"$S")
nbad=$(grep -cx 'Login incorrect' <<<"$S")
if [ "$nerr" -ge 1 ] && [ "$nerr" = "$nbad" ] && ! grep -q "$RELAY/l/" <<<"$S" && ! has_qr <<<"$S" &&
	[ "$before" = "$after" ]; then
	ok "kiosk without wait = code: \"Login through the identity provider is not available (configuration error)\" on each of login's $nerr tries, no link, no relay registration"
else bad "kiosk without wait = code: $nerr error line(s), $nbad \"Login incorrect\", relay registrations $before -> $after" "$S"; fi
if [ -n "$(exit_status)" ] && ! grep -qE '^(KIOSK|CONSOLE)-' <<<"$S" && grep -q 'Maximum number of tries exceeded' <<<"$S"; then
	ok "kiosk without wait = code: no shell; login gave up: \"$(grep -m1 -o 'Maximum number of tries exceeded.*' <<<"$S")\""
else bad "kiosk without wait = code: login outcome (EXIT=$(exit_status))" "$S"; fi
end_login

# ---- 4. PAM-16 at the console: login alice, bob signs in ----------------------------------
echo "== 4. PAM-16: login alice, signed in at the IdP as bob"
run_login pam16 "$T/pam-console" alice
if wait_screen "$LINK_RE" 10; then
	browse "$(links | head -n 1)" bob bob-pw || bad "browser (bob for alice)" "$(cat "$T/browser.err")"
	if wait_screen '^Login incorrect$' 15; then
		sleep 0.5 # what login does next (its next try)
		S=$(screen)
		if grep -qx 'This account (bob) is not the one you logged in as (alice)' <<<"$S" &&
			! grep -qE '^(CONSOLE|KIOSK)-' <<<"$S" && ! user_shell "$PANE_PID" bob >/dev/null &&
			! user_shell "$PANE_PID" alice >/dev/null; then
			ok "PAM-16 bob signed in for alice's console login: \"This account (bob) is not the one you logged in as (alice)\", \"Login incorrect\", no shell"
		else bad "PAM-16 console refusal" "$S"; fi
		# login's next try: PAM_USER cleared, the module asks for a name (PAM_USER_PROMPT)
		if wait_screen 'login: ?$' 5; then ok "PAM-16 login then starts its next try: the module asks \"$(screen | tail -n 1 | sed 's/ *$//')\" (pam_get_user)"
		else bad "PAM-16 no name prompt for login's next try" "$(screen)"; fi
	else bad "PAM-16 no \"Login incorrect\" within 15 s" "$(screen)"$'\n--- browser\n'"$(cat "$T/browser.err")"; fi
else bad "PAM-16 no link within 10 s" "$(screen)"; fi
end_login

echo "== 5. the QR as a phone sees it: console login at 80x24 and 120x50"
# (issue 7) The visible screen (capture-pane -p: no scrollback) while the
# login waits, rebuilt as an image and decoded by zbarimg
# (tests/lib/qrscreen.py); the decoded text must be the link shown.
# qr_screen NAME COLSxROWS: login alice (wait = poll) in its own COLSxROWS tmux
# session; sets QRSHOT, QRLINK, QROUT, QRRC.
qr_screen() {
	pty_qr "$1" "$2" 'Waiting for you to sign in' 10 \
		"LD_PRELOAD=$PRELOAD PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$T/pam-console $LOGIN alice"
}
if ! command -v zbarimg >/dev/null 2>&1; then
	bad "QR scan: zbarimg needed (apt-get install -y zbar-tools)"
else
	qr_screen qr-80x24 80x24
	rows=$(sed -n 's/^screen: \([0-9]*\) rows x \([0-9]*\) columns.*/\1/p' <<<"$QROUT")
	cols=$(sed -n 's/^screen: \([0-9]*\) rows x \([0-9]*\) columns.*/\2/p' <<<"$QROUT")
	if [ "$QRRC" = 0 ] && [ -n "$rows" ] && [ "$rows" -le 24 ] && [ "$cols" -le 80 ] && grep -qF "$QRLINK" "$QRSHOT"; then
		ok "QR console login, qr = utf8, 80x24: message, QR, link and waiting line on one screen ($rows rows x $cols columns); zbarimg decodes the link shown ($(grep '^qr:' <<<"$QROUT" | cut -d';' -f1))"
	else bad "QR console 80x24 (qrscreen status $QRRC)" "$QROUT"$'\n'"$(cat "$QRSHOT")"; fi
	qr_screen qr-120x50 120x50
	if [ "$QRRC" = 0 ]; then ok "QR console login, qr = utf8, 120x50: zbarimg decodes the link shown"
	else bad "QR console 120x50 (qrscreen status $QRRC)" "$QROUT"$'\n'"$(cat "$QRSHOT")"; fi
fi

echo "== took $((($(now_ms) - START_MS) / 1000)) s"
finish
