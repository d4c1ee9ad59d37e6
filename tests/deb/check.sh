#!/bin/bash
# make check-deb (issue 11): the Debian packages, installed on this machine.
# Root; changes the machine's package set, so not part of `make check`.
#
#  1. lintian on the built packages: no error, no warning.
#  2. apt-get install ./*.deb: files where Debian puts them, the helper's
#     account _oauth2-pkce and its cache dir (0700), the relay's account,
#     the conffile, the pam-auth-update profile (Default: no); /etc/pam.d
#     unchanged; `systemd-analyze security` of the installed unit < 2.0.
#  3. One whole login through the *installed* parts: the relay started from
#     its installed path with the installed unit's ExecStart= line, as the
#     unit's User= (systemd is not running here), the installed module
#     loaded by pamtester (pam_wrapper) with no helper= (the compiled-in
#     helper path), the bundled test IdP and the scripted browser; every
#     system call the relay makes (strace) passes the unit's filter.
#  4. Upgrade to a bumped version (same contents) and reinstall: the edited
#     /etc/oauth2-pkce-relay.conf is kept, /etc/pam.d unchanged.
#  5. The profile enabled with pam-auth-update, then purge: the profile
#     leaves common-auth, every packaged file, the conffile, the secret and
#     the cache dir are gone, /etc/pam.d is byte-for-byte what it was before
#     the install. The system accounts stay (Debian practice: see
#     debian/libpam-oauth2-pkce.postrm).
#
# Usage: tests/deb/check.sh DIR (DIR holds the .deb files and the .changes;
# `make check-deb` builds them into $(B)/deb). Creates alice only if missing
# and removes only that. Last line "check-deb: N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
DEBDIR=$(realpath "${1:?usage: tests/deb/check.sh DIR}")
PKGS="libpam-oauth2-pkce oauth2-pkce-relay"
UNIT_NAME=oauth2-pkce-relay.service
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() {
	fail=$((fail + 1))
	echo "FAIL $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | tail -n 25 | sed 's/^/     /'
	return 0
}
check() { if eval "$2"; then ok "$1"; else bad "$1" "${3:-}"; fi; }
# /etc/pam.d against the copy taken before the install; the service files the
# other suites create for a moment (oauth2-pkce-*-test) are not ours
pamd_diff() { diff -r -x 'oauth2-pkce-*-test' "$T/pam.d.before" /etc/pam.d; }
# another apt-get or dpkg on this machine: wait for its lock instead of failing
apt_get() { apt-get -o DPkg::Lock::Timeout=300 "$@"; }
give_up() { bad "$1" "${2:-}"; echo "check-deb: $pass passed, $fail failed"; exit 1; }

[ "$(id -u)" -eq 0 ] || give_up "needs root (installs and purges packages)"
for c in apt-get dpkg-deb readelf lintian systemd-analyze pam-auth-update setpriv strace python3 pamtester node curl openssl; do
	command -v "$c" >/dev/null 2>&1 || give_up "missing $c (tests/deps.sh)"
done
ldconfig -p | grep -q 'libpam_wrapper\.so ' || give_up "missing libpam-wrapper"
ls "$DEBDIR"/libpam-oauth2-pkce_*.deb "$DEBDIR"/oauth2-pkce-relay_*.deb >/dev/null 2>&1 ||
	give_up "no packages in $DEBDIR (make deb)"
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed' &&
		give_up "$p is already installed: purge it first (apt-get purge $PKGS)"
done

. tests/idp/lib.sh
. tests/lib/stack.sh
idp_ensure_deps || give_up "test IdP dependencies (tests/deps.sh)"

T=$(mktemp -d)
chmod 0755 "$T"
RELAY_PID= STRACE_PID= PAM_PID= created=
cleanup() {
	[ -n "$PAM_PID" ] && kill "$PAM_PID" 2>/dev/null
	stack_relay_stop
	[ -n "$STRACE_PID" ] && kill "$STRACE_PID" 2>/dev/null
	idp_stop
	[ -n "$created" ] && userdel alice 2>/dev/null
	for p in $PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed' &&
			apt_get purge -y -qq "$p" >/dev/null 2>&1
	done
	rm -rf "$T"
}
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)

# ---- 1. lintian -------------------------------------------------------------
out=$(lintian --fail-on error,warning "$DEBDIR"/*.deb 2>&1)
rc=$?
echo "$out" | sed 's/^/     lintian: /'
check "lintian: no error, no warning (PKG-01)" '[ $rc -eq 0 ] && ! echo "$out" | grep -q "^[EW]: "' "$out"

# ---- 2. install ---------------------------------------------------------------
cp -a /etc/pam.d "$T/pam.d.before"
out=$(cd "$DEBDIR" && apt_get install -y -qq ./libpam-oauth2-pkce_*.deb ./oauth2-pkce-relay_*.deb 2>&1) ||
	give_up "apt-get install ./*.deb" "$out"
ok "apt-get install ./libpam-oauth2-pkce_*.deb ./oauth2-pkce-relay_*.deb"
dpkg -L $PKGS | sort -u >"$T/files"
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
MOD=/usr/lib/$MA/security/pam_oauth2_pkce.so
HELPER=/usr/libexec/pam-oauth2-pkce/oauth2-pkce-helper
RELAYBIN=/usr/sbin/oauth2-pkce-relay
UNIT=$(grep "/$UNIT_NAME\$" "$T/files" | head -n 1)
for f in "$MOD" "$HELPER" "$RELAYBIN" "$UNIT" /etc/oauth2-pkce-relay.conf \
	/usr/share/pam-configs/oauth2-pkce /usr/share/man/man8/pam_oauth2_pkce.8.gz \
	/usr/share/man/man5/pam_oauth2_pkce.conf.5.gz /usr/share/man/man8/oauth2-pkce-helper.8.gz \
	/usr/share/man/man8/oauth2-pkce-relay.8.gz \
	/usr/share/doc/libpam-oauth2-pkce/examples/pam_oauth2_pkce.conf \
	/usr/share/doc/libpam-oauth2-pkce/examples/pam.d/sshd; do
	check "installed: $f" '[ -n "$f" ] && grep -qx "$f" "$T/files" && [ -e "$f" ]'
done
check "the module exports only pam_sm_*" \
	'[ -z "$(nm -D --defined-only "$MOD" | awk "{print \$3}" | grep -v "^pam_sm_")" ]'
# dpkg-buildflags' hardening reached every binary: full RELRO, PIE, stack
# protector and _FORTIFY_SOURCE (the *_chk functions)
for f in "$MOD" "$HELPER" "$RELAYBIN"; do
	check "hardened: $f (RELRO, BIND_NOW, PIE, stack protector, fortify)" \
		'readelf -lW "$f" | grep -q GNU_RELRO && readelf -dW "$f" | grep -q "FLAGS.*BIND_NOW" &&
		 { [ "$f" = "$MOD" ] || readelf -dW "$f" | grep -q "FLAGS_1.*PIE"; } &&
		 readelf -sW --dyn-syms "$f" | grep -q __stack_chk_fail &&
		 readelf -sW --dyn-syms "$f" | grep -q "__snprintf_chk"'
done
check "/etc/oauth2-pkce-relay.conf is a conffile" \
	'dpkg-query -W -f="\${Conffiles}\n" oauth2-pkce-relay | grep -q "^ /etc/oauth2-pkce-relay.conf "'
check "pam-auth-update profile is opt-in (Default: no)" \
	'grep -qx "Default: no" /usr/share/pam-configs/oauth2-pkce'
check "/etc/pam.d unchanged by the install (PKG-01)" 'pamd_diff >/dev/null' \
	"$(pamd_diff)"
for u in _oauth2-pkce _oauth2-pkce-relay; do
	ent=$(getent passwd "$u")
	check "system account $u: uid < 1000, home /nonexistent, nologin" \
		'[ -n "$ent" ] && [ "$(echo "$ent" | cut -d: -f3)" -lt 1000 ] &&
		 [ "$(echo "$ent" | cut -d: -f6,7)" = /nonexistent:/usr/sbin/nologin ] &&
		 [ ! -e /nonexistent ]' "$ent"
done
check "/var/cache/pam-oauth2-pkce: _oauth2-pkce, 0700" \
	'[ "$(stat -c %U:%a /var/cache/pam-oauth2-pkce)" = _oauth2-pkce:700 ]' \
	"$(stat -c %U:%a /var/cache/pam-oauth2-pkce 2>&1)"

# the relay's unit as shipped: systemd's own exposure score (0 best, 10 worst)
exposure=$(systemd-analyze security --offline=true "$UNIT" 2>&1 |
	sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
check "systemd-analyze security: $UNIT_NAME exposure ${exposure:-?} < 2.0 (PKG-03)" \
	'[ -n "$exposure" ] && awk -v e="$exposure" "BEGIN { exit !(e < 2.0) }"' \
	"$(systemd-analyze security --offline=true "$UNIT" 2>&1 | grep -F "✗")"

# ---- 3. one login through the installed parts ---------------------------------
execstart=$(sed -n 's/^ExecStart=//p' "$UNIT")
unit_user=$(sed -n 's/^User=//p' "$UNIT")
unit_group=$(sed -n 's/^Group=//p' "$UNIT")
set -f
# shellcheck disable=SC2086 # the unit's command line, split as systemd does (no quotes in it)
set -- $execstart
set +f
[ "${1:-}" = "$RELAYBIN" ] && [ "${2:-}" = --config ] && [ -n "${3:-}" ] ||
	give_up "unit $UNIT: ExecStart= is not \"$RELAYBIN --config FILE\"" "$execstart"
RCONF=$3
port=$(stack_freeport)
RELAY=http://127.0.0.1:$port
idp_start "$T/idp" --redirect-uri "$RELAY/callback" || give_up "test IdP did not start"
secret=/etc/oauth2-pkce-relay/registration.secret
(umask 077 && openssl rand -hex 32 >"$secret" && cp "$secret" "$T/relay.secret") ||
	give_up "cannot write $secret"
chown "$unit_user:" "$secret"
cat >"$RCONF" <<CONF
# edited by tests/deb/check.sh
listen = 127.0.0.1:$port
base_url = $RELAY
allowed_authorization_endpoint = $IDP_ISSUER/auth
allowed_client_id = pkce-es256
registration_secret_file = $secret
metrics_listen = off
allow_insecure_loopback = yes
CONF
cp "$RCONF" "$T/relay.conf.edited"
# as the unit's User= and Group=, without new privileges, under strace (as
# that user too) to compare its system calls with the unit's filter below
install -m 0600 -o "$unit_user" /dev/null "$T/strace"
setpriv --reuid="$unit_user" --regid="$unit_group" --init-groups --no-new-privs -- \
	strace -f -qq -o "$T/strace" -- "$@" 2>>"$T/relay.log" &
STRACE_PID=$!
for _ in $(seq 100); do
	curl -fsS --max-time 1 "$RELAY/healthz" >/dev/null 2>&1 && break
	kill -0 "$STRACE_PID" 2>/dev/null || break
	sleep 0.1
done
curl -fsS --max-time 1 "$RELAY/healthz" >/dev/null 2>&1 ||
	give_up "the installed relay did not start ($execstart)" "$(cat "$T/relay.log")"
RELAY_PID=$(pgrep -P "$STRACE_PID" | head -n 1)
check "relay runs from $RELAYBIN as the unit's User= ($unit_user) (PKG-03)" \
	'[ "$(stat -c %U /proc/$RELAY_PID)" = "$unit_user" ] &&
	 [ "$(readlink /proc/$RELAY_PID/exe)" = "$RELAYBIN" ]'

if ! id alice >/dev/null 2>&1; then
	useradd -M -s /usr/sbin/nologin alice && created=1
fi
cat >"$T/pam_oauth2_pkce.conf" <<CONF
issuer = $IDP_ISSUER
client_id = pkce-es256
scopes = openid profile email groups
allow_insecure_loopback = yes
relay_url = $RELAY
relay_secret_file = $T/relay.secret
[service deb]
wait = poll
qr = off
CONF
chmod 0600 "$T/pam_oauth2_pkce.conf"
mkdir -p "$T/pam.d"
# no helper=: the module starts the helper at its compiled-in, installed path
echo "auth required $MOD config=$T/pam_oauth2_pkce.conf timeout=60" >"$T/pam.d/deb"
t0=$(date +%s%N)
LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
	stdbuf -o0 -e0 pamtester deb alice authenticate </dev/null >"$T/out" 2>&1 &
PAM_PID=$!
link=
for _ in $(seq 100); do
	link=$(grep -Eo "$RELAY/l/[A-Za-z0-9_-]{16}" "$T/out" | head -n 1)
	[ -n "$link" ] && break
	kill -0 "$PAM_PID" 2>/dev/null || break
	sleep 0.1
done
if [ -n "$link" ]; then
	node tests/idp/browser.mjs --url "$link" --user alice --password alice-pw \
		--follow-callback >"$T/browser.log" 2>&1 || bad "the scripted browser" "$(cat "$T/browser.log")"
fi
wait "$PAM_PID"
rc=$?
PAM_PID=
ms=$((($(date +%s%N) - t0) / 1000000))
check "login through the installed module, helper and relay: PAM_SUCCESS (${ms} ms)" \
	'[ -n "$link" ] && [ $rc -eq 0 ] && grep -q "successfully authenticated" "$T/out"' \
	"$(cat "$T/out" "$T/relay.log")"
# PAM-23: a helper that drops to helper_user caches as _oauth2-pkce in the
# directory postinst made for it (a helper without the drop skips this)
if grep -qa "cache: cannot give" "$HELPER"; then
	check "the helper cached into /var/cache/pam-oauth2-pkce as _oauth2-pkce (PAM-23)" \
		'[ -n "$(find /var/cache/pam-oauth2-pkce -mindepth 1 -user _oauth2-pkce)" ] &&
		 [ -z "$(find /var/cache/pam-oauth2-pkce -mindepth 1 ! -user _oauth2-pkce)" ]' \
		"$(ls -la /var/cache/pam-oauth2-pkce; grep -i cache "$T/out")"
else
	echo "skip: the installed helper has no privilege drop yet (PAM-23): cache owner not checked"
fi
stack_relay_stop
wait "$STRACE_PID"
STRACE_PID=
idp_stop
# every system call the relay made, from start-up to SIGTERM through one
# login, passes the unit's SystemCallFilter= lines (allow list minus ~denied)
awk '{ sub(/^[0-9]+ +/, ""); if (match($0, /^[a-z_0-9]+\(/)) print substr($0, 1, RLENGTH - 1) }' \
	"$T/strace" | sort -u >"$T/syscalls"
systemd-analyze syscall-filter >"$T/sets" 2>/dev/null
outside=$(python3 - "$UNIT" "$T/sets" "$T/syscalls" <<'PY'
import sys
sets, cur = {}, None
for l in open(sys.argv[2]):
    w = l.strip()
    if l.startswith('@'):
        cur = w.split()[0]
        sets[cur] = []
    elif cur and w and not w.startswith('#'):
        sets[cur].append(w)
def expand(names):
    out = set()
    for n in names:
        out |= expand(sets.get(n, [])) if n.startswith('@') else {n}
    return out
allow, deny = set(), set()
for l in open(sys.argv[1]):
    if l.startswith('SystemCallFilter='):
        v = l.split('=', 1)[1].split()
        if v and v[0].startswith('~'):
            deny |= expand([v[0][1:]] + v[1:])
        else:
            allow |= expand(v)
used = [l.strip() for l in open(sys.argv[3]) if l.strip()]
print(' '.join(c for c in used if c not in allow - deny) if allow and used else 'no filter or no calls')
PY
)
check "the relay's $(wc -l <"$T/syscalls") system calls pass the unit's SystemCallFilter= (PKG-03)" \
	'[ -z "$outside" ]' "outside the filter: $outside"

# ---- 4. upgrade and reinstall keep the edited conffile -------------------------
ver=$(dpkg-query -W -f='${Version}' oauth2-pkce-relay)
for p in $PKGS; do
	rm -rf "$T/repack"
	dpkg-deb -R "$DEBDIR/${p}_${ver}_"*.deb "$T/repack" &&
		sed -i "s/^Version: .*/Version: ${ver}+checkdeb1/" "$T/repack/DEBIAN/control" &&
		dpkg-deb -b -Zgzip "$T/repack" "$T/${p}_${ver}+checkdeb1.deb" >/dev/null ||
		give_up "repacking $p as ${ver}+checkdeb1"
done
out=$(cd "$T" && apt_get install -y -qq ./libpam-oauth2-pkce_*+checkdeb1.deb \
	./oauth2-pkce-relay_*+checkdeb1.deb 2>&1)
check "upgrade $ver -> ${ver}+checkdeb1" \
	'[ "$(dpkg-query -W -f="\${Version}" oauth2-pkce-relay libpam-oauth2-pkce)" = "${ver}+checkdeb1${ver}+checkdeb1" ]' "$out"
check "upgrade keeps the edited /etc/oauth2-pkce-relay.conf (PKG-03)" 'cmp -s "$T/relay.conf.edited" "$RCONF"'
out=$(cd "$T" && apt_get install -y -qq --reinstall ./oauth2-pkce-relay_*+checkdeb1.deb 2>&1)
check "reinstall keeps the edited /etc/oauth2-pkce-relay.conf (PKG-03)" \
	'cmp -s "$T/relay.conf.edited" "$RCONF"' "$out"
check "/etc/pam.d unchanged by the upgrade (PKG-01)" 'pamd_diff >/dev/null' \
	"$(pamd_diff)"

# ---- 5. the profile enabled, then purge -----------------------------------------
out=$(pam-auth-update --enable oauth2-pkce 2>&1)
check "pam-auth-update --enable oauth2-pkce puts the module in common-auth" \
	'grep -q "^auth.*\[success=[0-9]* default=ignore\].*pam_oauth2_pkce\.so" /etc/pam.d/common-auth' \
	"$out$(cat /etc/pam.d/common-auth)"
out=$(apt_get purge -y -qq $PKGS 2>&1)
prc=$?
check "apt-get purge $PKGS" '[ $prc -eq 0 ]' "$out"
for p in $PKGS; do
	check "purged: dpkg -L $p fails" '! dpkg -L "$p" >/dev/null 2>&1'
done
left=$(while read -r f; do [ -d "$f" ] || { [ -e "$f" ] && echo "$f"; }; done <"$T/files")
check "no packaged file left (PKG-02)" '[ -z "$left" ]' "$left"
for f in /etc/oauth2-pkce-relay.conf /etc/oauth2-pkce-relay /var/cache/pam-oauth2-pkce \
	/usr/share/pam-configs/oauth2-pkce /usr/libexec/pam-oauth2-pkce /usr/share/doc/libpam-oauth2-pkce \
	/usr/share/doc/oauth2-pkce-relay; do
	check "gone after purge: $f" '[ ! -e "$f" ]'
done
check "/var/lib/pam no longer names oauth2-pkce" '! grep -rqx oauth2-pkce /var/lib/pam 2>/dev/null'
check "/etc/pam.d byte-for-byte as before the install, profile removed (PKG-02)" \
	'pamd_diff >/dev/null' "$(pamd_diff)"
for u in _oauth2-pkce _oauth2-pkce-relay; do
	check "system account $u kept (nologin, no home)" \
		'getent passwd "$u" | grep -q ":/nonexistent:/usr/sbin/nologin$"'
done
# by executable, not by user: other tests on this machine may run a helper
# from a build tree as _oauth2-pkce
procs=$(for e in /proc/[0-9]*/exe; do readlink "$e" 2>/dev/null; done |
	grep -E "^($RELAYBIN|$HELPER)( \(deleted\))?$")
check "no process of the packages left" '[ -z "$procs" ]' "$procs"

echo "check-deb: $(($(date +%s) - start)) s"
echo "check-deb: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
