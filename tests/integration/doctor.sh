#!/bin/bash
# `oauth2-pkce-helper doctor` against the real parts: the test IdP
# (tests/idp), the real relay (tests/lib/stack.sh), the installed sshd read
# with `sshd -T -f FILE`, and pam.d stacks in a test directory (--pam-dir):
# the system's own /etc/pam.d and sshd config are never read or changed.
# A healthy set-up, then one broken thing at a time; each must give exactly
# one problem line, naming it, with its fix.
# Last line: "doctor: N passed, N failed"; exit non-zero on failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
SUITE=doctor BAD_DETAIL='tail -n 15'
. tests/lib/common.sh
HELPER=$PWD/$B/oauth2-pkce-helper
MODULE=$PWD/$B/pam_oauth2_pkce.so
. tests/idp/lib.sh
. tests/lib/stack.sh
idp_ensure_deps || give_up "test IdP dependencies (tests/idp)"

tmpdir
stack_helper_reach "$T" # PAM-23: doctor's network checks run as _oauth2-pkce, its cache in $T
cleanup() {
	stack_relay_stop
	idp_stop
}
at_exit cleanup

RPORT=$(stack_freeport)
idp_start "$T/idp" --redirect-uri "http://127.0.0.1:$RPORT/callback" || give_up "IdP did not start"
stack_relay_start "$T" "$RPORT" pkce-rs256 || give_up "relay did not start"

# config FILE [extra lines]: a root-owned 0600 config for the running stack
config() {
	local f=$1
	shift
	{
		echo "issuer = ${ISSUER:-$IDP_ISSUER}"
		echo "client_id = pkce-rs256"
		echo "relay_url = ${RELAY_URL:-$RELAY}"
		echo "relay_secret_file = $RELAY_SECRET_FILE"
		echo "cache_dir = $T/cache"
		echo "allow_insecure_loopback = yes"
		for l in "$@"; do echo "$l"; done
	} >"$f"
	chmod 0600 "$f"
}
install -d -m 0700 -o _oauth2-pkce "$T/cache" # PAM-23: the logins' account owns it
config "$T/ok.conf"

# the helper as installed: root-owned, in root-owned directories
mkdir -p "$T/libexec" && install -m 0755 "$HELPER" "$T/libexec/oauth2-pkce-helper"
# pamd DIR [lines before the module]: an sshd stack in a test pam.d dir
pamd() {
	local dir=$1
	shift
	mkdir -p "$dir"
	{
		for l in "$@"; do echo "$l"; done
		echo "auth sufficient $MODULE config=$T/ok.conf helper=$T/libexec/oauth2-pkce-helper timeout=110"
		echo "auth required pam_deny.so"
	} >"$dir/sshd"
	printf 'auth required pam_permit.so\n' >"$dir/other"
}
pamd "$T/pam.d"
pamd "$T/pam-permit" "auth sufficient pam_permit.so"

# sshd_config FILE GRACE
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey" || bad "ssh-keygen"
sshd_config() {
	cat >"$1" <<EOF
Port $(stack_freeport)
ListenAddress 127.0.0.1
HostKey $T/hostkey
PidFile $T/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
AuthenticationMethods keyboard-interactive
LoginGraceTime $2
EOF
}
sshd_config "$T/sshd_config" 120
sshd_config "$T/sshd_config_short" 60

# doctor CONFIG [options]: sets $out and $rc
doctor() {
	local cfg=$1
	shift
	out=$("$HELPER" doctor --config "$cfg" --pam-dir "$T/pam.d" --sshd-config "$T/sshd_config" "$@" 2>&1)
	rc=$?
}
# expect_one NAME CHECK PATTERN: rc 1, exactly one problem, on CHECK, matching PATTERN, with a fix
expect_one() {
	if [ "$rc" -eq 1 ] && grep -q '^result: 1 problem,' <<<"$out" &&
		grep -E "^problem +$2 " <<<"$out" | grep -qiE "$3" &&
		grep -E "^problem +$2 " <<<"$out" | grep -q -- '-- fix: '; then
		ok "$1"
	else bad "$1 (rc=$rc)" "$out"; fi
}

echo "== healthy set-up"
t0=$(date +%s%N)
doctor "$T/ok.conf"
t1=$(date +%s%N)
if [ $rc -eq 0 ] && grep -q '^result: 0 problems' <<<"$out"; then
	ok "healthy: exit 0, no problem ($(((t1 - t0) / 1000000)) ms wall)"
else bad "healthy (rc=$rc)" "$out"; fi
for c in config idp clock relay pam sshd helper; do
	if grep -qE "^ok +$c " <<<"$out"; then ok "healthy: an ok line for $c"; else bad "healthy: no ok line for $c" "$out"; fi
done
if grep -q 'registration accepted' <<<"$out" && ! grep -q '/l/' <<<"$out"; then
	ok "healthy: test registration accepted, no link shown"
else bad "healthy: registration line" "$out"; fi
doctor "$T/ok.conf" --json
if [ $rc -eq 0 ] && python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); assert d["problems"]==0 and len(d["findings"])>=7 and all(f["level"] in ("ok","warning","skipped") for f in d["findings"])' <<<"$out"; then
	ok "--json: one JSON object, problems 0"
else bad "--json (rc=$rc)" "$out"; fi

echo "== broken set-ups, one at a time"
ISSUER=http://127.0.0.1:$(stack_freeport) config "$T/idp-down.conf"
doctor "$T/idp-down.conf"
expect_one "IdP down: idp problem" idp "discovery.*(connect|refused)"
RELAY_URL=http://127.0.0.1:$(stack_freeport) config "$T/relay-down.conf"
doctor "$T/relay-down.conf"
expect_one "relay down: relay problem" relay "healthz"
RELAY_URL=http://localhost:$RPORT config "$T/relay-uri.conf"
doctor "$T/relay-uri.conf"
expect_one "wrong redirect URI at the relay: registration refused" relay "registration refused.*redirect_uri"
if command -v faketime >/dev/null 2>&1; then
	out=$(faketime -f '+5m' "$HELPER" doctor --config "$T/ok.conf" --pam-dir "$T/pam.d" --sshd-config "$T/sshd_config" 2>&1); rc=$?
	expect_one "clock 5 minutes ahead (faketime): clock problem" clock "(29[0-9]|30[0-9]) s ahead"
else bad "faketime not installed (tests/deps.sh)"; fi
doctor "$T/ok.conf" --sshd-config "$T/sshd_config_short"
expect_one "LoginGraceTime 60 below timeout=110: sshd problem" sshd "LoginGraceTime 60 s.*timeout=110"
doctor "$T/ok.conf" --pam-dir "$T/pam-permit"
expect_one "module after sufficient pam_permit.so: bypass reported" pam "sshd: sshd line 1 .*pam_permit.so.*bypassed"
cp -p "$T/ok.conf" "$T/readable.conf" && chmod 0644 "$T/readable.conf"
doctor "$T/readable.conf"
expect_one "config world-readable: config problem" config "world-readable.*0644"
mkdir -m 0700 "$T/cache-root"
sed "s|^cache_dir = .*|cache_dir = $T/cache-root|" "$T/ok.conf" >"$T/cache-root.conf" && chmod 0600 "$T/cache-root.conf"
doctor "$T/cache-root.conf"
expect_one "PAM-23 cache_dir owned by root, not by helper_user: config problem" config "cache_dir: .*owned by uid 0, not $(id -u _oauth2-pkce)"
sed '1a helper_user = _oauth2-nosuch' "$T/ok.conf" >"$T/nouser.conf" && chmod 0600 "$T/nouser.conf"
doctor "$T/nouser.conf"
expect_one "PAM-23 helper_user without an account: config problem naming it" config "helper_user _oauth2-nosuch: helper_user account does not exist"

echo "== privileges (PAM-23)"
doctor "$T/ok.conf" --debug
bad_files=$(find "$T/cache" ! -user _oauth2-pkce 2>/dev/null)
n_files=$(find "$T/cache" -type f -user _oauth2-pkce 2>/dev/null | wc -l)
if [ $rc -eq 0 ] && [ -z "$bad_files" ] && [ "$n_files" -ge 2 ]; then
	ok "PAM-23 doctor as root: the discovery/JWKS files it fetched are _oauth2-pkce's ($n_files), none root's"
else bad "PAM-23 doctor cache (rc=$rc): not the account's: ${bad_files:-none}, its own: $n_files" "$out"; fi
if grep -q "running as _oauth2-pkce (uid $(id -u _oauth2-pkce))" <<<"$out" &&
	[ "$(grep -n 'running as _oauth2-pkce' <<<"$out" | cut -d: -f1 | head -n 1)" -lt "$(grep -n 'http: GET' <<<"$out" | cut -d: -f1 | head -n 1)" ]; then
	ok "PAM-23 doctor --debug: the drop to _oauth2-pkce comes before its first request"
else bad "PAM-23 doctor --debug: no drop before the first request" "$out"; fi
rm -rf "$T/cache-missing"
sed "s|^cache_dir = .*|cache_dir = $T/cache-missing|" "$T/ok.conf" >"$T/cache-missing.conf" && chmod 0600 "$T/cache-missing.conf"
doctor "$T/cache-missing.conf"
if [ $rc -eq 1 ] && [ ! -e "$T/cache-missing" ] && grep -qE '^ok +idp ' <<<"$out"; then
	ok "PAM-23 doctor: a missing cache_dir is reported, not made; the IdP still checked"
else bad "PAM-23 doctor, missing cache_dir (rc=$rc, exists: $([ -e "$T/cache-missing" ] && echo yes || echo no))" "$out"; fi

echo "== usage"
"$HELPER" doctor --bogus >/dev/null 2>&1; rc=$?
if [ $rc -eq 2 ]; then ok "unknown option: exit 2"; else bad "usage (rc=$rc)"; fi
"$HELPER" doctor --config >/dev/null 2>&1; rc=$?
if [ $rc -eq 2 ]; then ok "option without value: exit 2"; else bad "usage value (rc=$rc)"; fi

finish
