# shellcheck shell=bash
# The login stack on loopback, shared by the demo, the benchmarks and the
# tests that run whole logins (source it after tests/idp/lib.sh):
#
#   RPORT=$(stack_freeport); RELAY=http://127.0.0.1:$RPORT
#   idp_start "$T/idp" --redirect-uri "$RELAY/callback"
#   stack_relay_start "$T" "$RPORT" pkce-rs256 [more relay.conf lines...]
#   ...
#   stack_relay_stop
#
# stack_relay_start writes DIR/relay.conf (base_url, the running IdP's
# authorization endpoint, the client, loopback allowed, metrics on a free
# port) and a registration secret DIR/relay.secret (0600), starts
# ${RELAYBIN:-$B/oauth2-pkce-relay} with ${RELAY_ENV} in its environment,
# logs to DIR/relay.log and waits for /healthz; exports RELAY, RELAY_PID and
# RELAY_SECRET_FILE: put "relay_secret_file = $RELAY_SECRET_FILE" in the
# helper's config. Extra lines with registration_secret_file or
# open_registration replace the generated secret; with metrics_listen, the
# free metrics port.

# stack_pam_preload MODULE: LD_PRELOAD for pamtester or login with pam_wrapper;
# a sanitized module needs the ASan and UBSan runtimes first.
stack_pam_preload() {
	if nm -D "$1" 2>/dev/null | grep -q __asan_init; then
		echo "$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so):libpam_wrapper.so"
	else
		echo libpam_wrapper.so
	fi
}

# A free TCP port on 127.0.0.1.
stack_freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

stack_relay_start() {
	local dir=$1 port=$2 client=$3 bin=${RELAYBIN:-${B:-build}/oauth2-pkce-relay}
	shift 3
	RELAY=http://127.0.0.1:$port
	RELAY_SECRET_FILE=$dir/relay.secret
	(umask 077 && openssl rand -hex 32 >"$RELAY_SECRET_FILE") || return 1
	{
		echo "listen = 127.0.0.1:$port"
		echo "base_url = $RELAY"
		echo "allowed_authorization_endpoint = ${IDP_ISSUER:?stack_relay_start: no IdP}/auth"
		echo "allowed_client_id = $client"
		echo "allow_insecure_loopback = yes"
		for l in "$@"; do echo "$l"; done
		printf '%s\n' "$@" | grep -q '^\(registration_secret_file\|open_registration\) ' ||
			echo "registration_secret_file = $RELAY_SECRET_FILE"
		printf '%s\n' "$@" | grep -q '^metrics_listen ' || echo "metrics_listen = 127.0.0.1:0"
	} >"$dir/relay.conf"
	env ${RELAY_ENV:-} "$bin" --config "$dir/relay.conf" 2>>"$dir/relay.log" &
	RELAY_PID=$!
	export RELAY RELAY_PID RELAY_SECRET_FILE
	for _ in $(seq 100); do
		curl -fsS --max-time 1 "$RELAY/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$RELAY_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "relay did not start; last lines of $dir/relay.log:" >&2
	tail -n 20 "$dir/relay.log" >&2
	return 1
}

# PAM-23: a login helper started as root runs as helper_user (_oauth2-pkce)
# once it has read its config and secrets. stack_helper_reach DIR lets that
# account reach DIR (mode 0711, no listing), where the helper creates its
# cache dirs owned by the account; stack_helper_user prints its uid.
stack_helper_reach() {
	chmod 0711 "$1"
}
stack_helper_user() {
	id -u "${1:-_oauth2-pkce}" 2>/dev/null
}

stack_relay_stop() {
	[ -n "${RELAY_PID:-}" ] || return 0
	kill "$RELAY_PID" 2>/dev/null
	wait "$RELAY_PID" 2>/dev/null
	RELAY_PID=
}
