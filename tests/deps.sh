#!/bin/sh
# Installs what the build, the tests and the demo need, if it is missing:
# Debian packages (as root, after apt-get update) and the pinned test IdP
# (npm ci from tests/idp/package-lock.json). Not root and something missing:
# prints the one command to run and exits 1.
set -u
cd "$(dirname "$0")/.." || exit 1

PKGS="build-essential pkg-config libpam0g-dev libcurl4-openssl-dev libssl-dev
libcjson-dev libqrencode-dev libhiredis-dev redis-server nginx wrk pamtester
libpam-wrapper libnss-wrapper openssl curl clang libclang-rt-14-dev zbar-tools python3 chromium
openssh-server expect sudo tmux faketime mandoc groff-base clang-format
lemonldap-ng lemonldap-ng-fastcgi-server
debhelper lintian systemd strace"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages:$missing" >&2
		echo "run: sudo sh -c 'apt-get update && apt-get install -y$missing'" >&2
		exit 1
	fi
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null || {
		echo "deps: apt-get install failed" >&2
		exit 1
	}
fi

# PAM-23: the account a login helper started as root runs as (helper_user)
if ! getent passwd _oauth2-pkce >/dev/null; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "run: sudo useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin _oauth2-pkce" >&2
		exit 1
	fi
	echo "deps: useradd _oauth2-pkce (the login helper's account)"
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		_oauth2-pkce || {
		echo "deps: useradd _oauth2-pkce failed" >&2
		exit 1
	}
fi

if [ -f tests/idp/package-lock.json ] && { [ ! -d tests/idp/node_modules/oidc-provider ] ||
	[ ! -d tests/idp/node_modules/playwright-core ]; }; then
	if [ ! -w tests/idp ]; then
		echo "run: npm ci --prefix tests/idp" >&2
		exit 1
	fi
	echo "deps: npm ci (test IdP, pinned by tests/idp/package-lock.json)"
	npm ci --prefix tests/idp --no-audit --no-fund --loglevel=error >/dev/null || {
		echo "deps: npm ci failed in tests/idp" >&2
		exit 1
	}
fi
exit 0
