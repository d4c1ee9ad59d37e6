# shellcheck shell=bash
# LemonLDAP::NG (Debian lemonldap-ng 2.16) as a second, independent test
# OpenID Provider, configured from the test and stopped by it.
#
#   . tests/llng/lib.sh
#   llng_available || skip
#   llng_start DIR --redirect-uri URI [--client-id ID] [--userinfo-client-id ID]
#   ... IdP at $LLNG_ISSUER (http://localhost:PORT), client $LLNG_CLIENT_ID
#   llng_stop            # also from an EXIT trap; safe to call twice
#
# Nothing of the machine's own LemonLDAP::NG set-up is touched: the test
# writes its own lemonldap-ng.ini into DIR and points every LLNG program at
# it (LLNG_DEFAULTCONFFILE for the portal, -iniFile for lemonldap-ng-cli);
# the configuration (DIR/conf), sessions, caches and the FastCGI socket live
# in DIR. /etc/lemonldap-ng and /var/lib/lemonldap-ng are only read (the
# demo configuration shipped by the package is the starting point).
#
# Exports after llng_start: LLNG_ISSUER, LLNG_PORT, LLNG_CLIENT_ID,
# LLNG_UI_CLIENT_ID, LLNG_DIR, LLNG_NGINX_PID, LLNG_FCGI_PID. Logs:
# DIR/portal.log (the portal's own log, on stderr via Logger::Std),
# DIR/access.log (nginx: every request, e.g. to count /oauth2/userinfo),
# DIR/nginx-error.log, DIR/cli.log.
#
# What LemonLDAP::NG does that the bundled oidc-provider never did (seen
# here, and relied upon or tolerated by the tests):
#   - ID token: "aud" is an array (["pkce-rs256"]) and "azp" is present;
#     "at_hash", "acr" ("loa-1"), "auth_time"; exp = iat + 3600.
#   - The authorization response carries no "iss" (RFC 9207) and adds
#     "session_state" (OIDC Session Management); its discovery has no
#     authorization_response_iss_parameter_supported.
#   - Discovery: code_challenge_methods_supported ["plain","S256"] (PKCE
#     required still accepts plain; our client only ever sends S256);
#     token_endpoint_auth_methods_supported lacks "none" although public
#     clients work; id_token_signing_alg_values_supported lists "none" and
#     HS*; claims_supported lists only sub, iss, auth_time, acr.
#   - The code is burned by the first token request even when that request
#     fails (a wrong code_verifier gets invalid_grant, and then so does the
#     right one); oidc-provider keeps it.
#   - The consent is remembered per user and client (a persistent session):
#     only the first login of a person at a client shows the consent page.
#     "Refuse" there redirects with error=consent_required (with state, no
#     iss), not RFC 6749's access_denied: the person sees "The identity
#     provider returned an error: consent_required: consent not given".
#   - By default (IDTokenForceClaims 0) the profile and email claims are only
#     in UserInfo; the helper (userinfo = auto) then asks UserInfo once.
#   - The portal's cookie is Domain=.localhost: Python's cookiejar drops
#     it (the portal then loops on "No cookie found"); Chromium keeps it.
#   - "domain" must be a name (127.0.0.1 is refused), so portal and issuer
#     are http://localhost:PORT, while the relay stays on 127.0.0.1.

LLNG_CLI=${LLNG_CLI:-/usr/share/lemonldap-ng/bin/lemonldap-ng-cli}
LLNG_FCGI=${LLNG_FCGI:-/usr/sbin/llng-fastcgi-server}
# The Debian package's demo configuration: the starting point (authentication,
# user and password databases "Demo": dwho, rtyler, msmith, password = login).
LLNG_DEMO_CONF=${LLNG_DEMO_CONF:-/var/lib/lemonldap-ng/conf/lmConf-1.json}
LLNG_USER=www-data # the portal refuses to run as root

# llng_available: 0 if the packages are installed (lemonldap-ng,
# lemonldap-ng-fastcgi-server, nginx), else 1 with the reason on stderr.
llng_available() {
	local f
	for f in "$LLNG_CLI" "$LLNG_FCGI" "$LLNG_DEMO_CONF" /usr/share/lemonldap-ng/portal/htdocs/index.psgi; do
		[ -e "$f" ] || { echo "llng: $f missing (apt-get install lemonldap-ng lemonldap-ng-fastcgi-server)" >&2; return 1; }
	done
	command -v nginx >/dev/null 2>&1 || { echo "llng: nginx missing" >&2; return 1; }
	getent passwd "$LLNG_USER" >/dev/null || { echo "llng: no user $LLNG_USER" >&2; return 1; }
}

# _llng_cli ARGS...: lemonldap-ng-cli on the private ini (it switches to
# www-data itself); -yes 1 answers its prompt, -safe 1 refuses a configuration
# the manager finds invalid. Output in $LLNG_DIR/cli.log.
_llng_cli() {
	"$LLNG_CLI" -iniFile "$LLNG_DIR/lemonldap-ng.ini" -yes 1 -safe 1 "$@" >>"$LLNG_DIR/cli.log" 2>&1 || {
		echo "llng: lemonldap-ng-cli $1 failed; last lines of $LLNG_DIR/cli.log:" >&2
		tail -n 15 "$LLNG_DIR/cli.log" >&2
		return 1
	}
}

# llng_start DIR --redirect-uri URI [--redirect-uri URI...] [--client-id ID]
#            [--userinfo-client-id ID] [--port PORT]
# Configures a private LemonLDAP::NG in DIR (created, must be new or empty),
# with the client ID (default pkce-rs256) and, with --userinfo-client-id, a
# second one that differs only in keeping LLNG's default for the profile
# claims: not in the ID token, from UserInfo only (OIDC Core 5.4);
# starts its portal (llng-fastcgi-server as www-data) behind an nginx on
# 127.0.0.1:PORT (default: a free port) and waits until the discovery
# document answers with the configured issuer.
llng_start() {
	local dir=$1 port='' uris='' u i
	shift
	LLNG_CLIENT_ID=pkce-rs256 LLNG_UI_CLIENT_ID=''
	while [ $# -gt 0 ]; do
		case $1 in
			--redirect-uri) uris="${uris:+$uris }$2"; shift 2 ;;
			--client-id) LLNG_CLIENT_ID=$2; shift 2 ;;
			--userinfo-client-id) LLNG_UI_CLIENT_ID=$2; shift 2 ;;
			--port) port=$2; shift 2 ;;
			*) echo "llng_start: unknown argument $1" >&2; return 1 ;;
		esac
	done
	[ -n "$uris" ] || { echo "llng_start: --redirect-uri is required" >&2; return 1; }
	[ -n "$port" ] || port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	LLNG_DIR=$dir LLNG_PORT=$port LLNG_ISSUER=http://localhost:$port
	export LLNG_DIR LLNG_PORT LLNG_ISSUER LLNG_CLIENT_ID LLNG_UI_CLIENT_ID

	# ---- a private configuration: nothing under /etc or /var/lib is written
	mkdir -p "$dir" && chmod 0755 "$dir" || return 1
	(cd "$dir" && mkdir -p conf cache sessions/lock psessions/lock notifications run tmp) || return 1
	cp "$LLNG_DEMO_CONF" "$dir/conf/lmConf-1.json" || return 1
	# [configuration]: the File backend in DIR/conf; the local config cache
	# in DIR/cache. [portal]/[manager]: the Debian paths (lemonldap-ng-cli
	# runs the manager's code and needs its templateDir).
	cat >"$dir/lemonldap-ng.ini" <<INI || return 1
[all]
logLevel = ${LLNG_LOGLEVEL:-warn}
checkTime = 1

[configuration]
type = File
dirName = $dir/conf
prettyPrint = 1
localStorage = Cache::FileCache
localStorageOptions = { 'namespace' => 'lemonldap-ng-config', 'default_expires_in' => 600, 'directory_umask' => '007', 'cache_root' => '$dir/cache', 'cache_depth' => 3 }

[portal]
staticPrefix = /static
templateDir = /usr/share/lemonldap-ng/portal/templates
languages = en

[handler]
status = 0

[manager]
protection = manager
staticPrefix = /static
templateDir = /usr/share/lemonldap-ng/manager/htdocs/templates
languages = en
enabledModules = conf
INI
	chown -R "$LLNG_USER:$LLNG_USER" "$dir/conf" "$dir/cache" "$dir/sessions" "$dir/psessions" \
		"$dir/notifications" "$dir/run" || return 1

	# The ID-token signing key (RSA 2048; LLNG 2.16 signs with RSA only).
	(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/sig.key" 2>/dev/null) &&
		openssl pkey -in "$dir/sig.key" -pubout -out "$dir/sig.pub" 2>/dev/null || return 1

	# ---- the configuration, through lemonldap-ng-cli (the manager's own checks)
	# reloadUrls: the demo's "localhost => http://reload.example.com/reload";
	# with domain = localhost every save would call localhost:80. Removed.
	_llng_cli delKey reloadUrls localhost || return 1
	# portal, domain: the portal's URL and its cookie domain ("localhost": LLNG
	#   refuses an IP address as domain).
	# issuerDBOpenIDConnectActivation: turn the OpenID Provider on.
	# oidcServiceMetaDataIssuer: the issuer, exactly the module's `issuer` (the
	#   default is the portal URL with a trailing slash, which would not match).
	# oidcServicePrivateKeySig, oidcServicePublicKeySig, oidcServiceKeyIdSig:
	#   the RSA key that signs ID tokens and its kid in the JWKS (a throw-away
	#   test key: on a real portal do not pass a private key in argv).
	_llng_cli set \
		portal "$LLNG_ISSUER/" \
		domain localhost \
		issuerDBOpenIDConnectActivation 1 \
		oidcServiceMetaDataIssuer "$LLNG_ISSUER" \
		oidcServicePrivateKeySig "$(cat "$dir/sig.key")" \
		oidcServicePublicKeySig "$(cat "$dir/sig.pub")" \
		oidcServiceKeyIdSig llng-test-1 || return 1
	# One addKey for the rest (each lemonldap-ng-cli run costs a second or two).
	# Storage (the demo's are under /var/lib/lemonldap-ng): SSO sessions,
	# persistent sessions (remembered consents), the local session cache and
	# notifications, all in DIR.
	local keys=(
		globalStorageOptions Directory "$dir/sessions"
		globalStorageOptions LockDirectory "$dir/sessions/lock"
		persistentStorageOptions Directory "$dir/psessions"
		persistentStorageOptions LockDirectory "$dir/psessions/lock"
		localSessionStorageOptions cache_root "$dir/cache"
		notificationStorageOptions dirName "$dir/notifications"
	)
	# The client: a relying party ("pam" is only its name in LLNG's
	# configuration; its keys are under oidcRPMetaDataOptions/pam):
	#   ClientID            the module's client_id
	#   Public 1            a public client: no client secret at the token endpoint
	#   RequirePKCE 1       a token request without code_verifier is refused
	#                       (LLNG still accepts method plain; our client sends S256)
	#   RedirectUris        the relay's callback (space-separated, exact match)
	#   IDTokenSignAlg      RS256 (the default HS512 needs a client secret: a
	#                       public client then gets 500 server_error)
	#   IDTokenForceClaims  1: the claims of the granted scopes go into the ID
	#                       token too (by default LLNG sends them from UserInfo
	#                       only; the helper then asks UserInfo, userinfo = auto).
	#                       The second client "pamui" keeps that default (0).
	# oidcRPMetaDataExportedVars/pam: claim name -> session attribute, here the
	#   demo backend's uid, mail and cn.
	local rp id force
	for rp in pam ${LLNG_UI_CLIENT_ID:+pamui}; do
		if [ "$rp" = pam ]; then id=$LLNG_CLIENT_ID force=1; else id=$LLNG_UI_CLIENT_ID force=0; fi
		keys+=(
			"oidcRPMetaDataOptions/$rp" oidcRPMetaDataOptionsClientID "$id"
			"oidcRPMetaDataOptions/$rp" oidcRPMetaDataOptionsPublic 1
			"oidcRPMetaDataOptions/$rp" oidcRPMetaDataOptionsRequirePKCE 1
			"oidcRPMetaDataOptions/$rp" oidcRPMetaDataOptionsRedirectUris "$uris"
			"oidcRPMetaDataOptions/$rp" oidcRPMetaDataOptionsIDTokenSignAlg RS256
			"oidcRPMetaDataOptions/$rp" oidcRPMetaDataOptionsIDTokenForceClaims "$force"
			"oidcRPMetaDataExportedVars/$rp" preferred_username uid
			"oidcRPMetaDataExportedVars/$rp" email mail
			"oidcRPMetaDataExportedVars/$rp" name cn
		)
	done
	_llng_cli addKey "${keys[@]}" || return 1

	# ---- the portal: FastCGI server (as www-data) + nginx (as in the
	# package's portal-nginx.conf: everything but static files goes to
	# index.psgi with LLTYPE psgi)
	cat >"$dir/nginx.conf" <<CONF || return 1
worker_processes 1;
daemon off;
master_process on;
user $LLNG_USER;
pid $dir/run/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 256; }
http {
	access_log $dir/access.log;
	server_tokens off;
	include /etc/nginx/mime.types;
	client_body_temp_path $dir/tmp/body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	server {
		listen 127.0.0.1:$port;
		server_name localhost;
		root /usr/share/lemonldap-ng/portal/htdocs/;
		if (\$uri !~ ^/((static|javascript|favicon).*|.*\\.psgi)) {
			rewrite ^/(.*)\$ /index.psgi/\$1 break;
		}
		location ~ ^(?<sc>/.*\\.psgi)(?:\$|/) {
			include /etc/nginx/fastcgi_params;
			fastcgi_pass unix:$dir/run/fcgi.sock;
			fastcgi_param HTTP_HOST \$host;
			fastcgi_param LLTYPE psgi;
			fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
			fastcgi_split_path_info ^(.*\\.psgi)(/.*)\$;
			fastcgi_param PATH_INFO \$fastcgi_path_info;
		}
		location /static/ { alias /usr/share/lemonldap-ng/portal/htdocs/static/; }
		location /javascript/ { alias /usr/share/javascript/; }
	}
}
CONF
	# LLNG_DEFAULTCONFFILE: the portal reads the private ini; Logger::Std: its
	# log to stderr (the default is syslog, and there is no /dev/log here).
	LLNG_DEFAULTCONFFILE=$dir/lemonldap-ng.ini LLNG_DEFAULTLOGGER=Lemonldap::NG::Common::Logger::Std \
		"$LLNG_FCGI" --foreground -u "$LLNG_USER" -g "$LLNG_USER" -n "${LLNG_NPROC:-2}" \
		-s "$dir/run/fcgi.sock" -p "$dir/run/fcgi.pid" </dev/null >>"$dir/portal.log" 2>&1 &
	LLNG_FCGI_PID=$!
	nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/nginx-error.log" </dev/null >>"$dir/nginx.out" 2>&1 &
	LLNG_NGINX_PID=$!
	export LLNG_FCGI_PID LLNG_NGINX_PID

	# Ready when the discovery document names our issuer (the first request
	# of each FastCGI process loads the portal: seconds on a busy machine).
	for ((i = 0; i < 300; i++)); do
		u=$(curl -sS --max-time 5 "$LLNG_ISSUER/.well-known/openid-configuration" 2>/dev/null)
		case $u in *"\"issuer\":\"$LLNG_ISSUER\""*) break ;; esac
		if ! kill -0 "$LLNG_FCGI_PID" 2>/dev/null || ! kill -0 "$LLNG_NGINX_PID" 2>/dev/null; then
			i=300
			break
		fi
		sleep 0.1
	done
	if [ "$i" -ge 300 ]; then
		echo "llng: the portal did not answer at $LLNG_ISSUER; last lines of its logs:" >&2
		tail -n 10 "$dir/portal.log" "$dir/nginx-error.log" "$dir/nginx.out" >&2
		llng_stop
		return 1
	fi
	# Warm the other FastCGI processes (each loads the portal on first use).
	local warm=()
	for ((i = 0; i < ${LLNG_NPROC:-2}; i++)); do
		curl -sS --max-time 20 -o /dev/null "$LLNG_ISSUER/oauth2/jwks" &
		warm+=($!)
	done
	wait "${warm[@]}" 2>/dev/null
	return 0
}

# llng_stop: stops nginx and the portal (its FastCGI processes too) and waits.
llng_stop() {
	local p kids='' i
	if [ -n "${LLNG_FCGI_PID:-}" ]; then
		kids=$(pgrep -P "$LLNG_FCGI_PID" 2>/dev/null)
	fi
	for p in ${LLNG_NGINX_PID:-} ${LLNG_FCGI_PID:-}; do kill -TERM "$p" 2>/dev/null; done
	for ((i = 0; i < 50; i++)); do
		local alive=''
		for p in ${LLNG_NGINX_PID:-} ${LLNG_FCGI_PID:-} $kids; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	for p in ${LLNG_NGINX_PID:-} ${LLNG_FCGI_PID:-} $kids; do kill -KILL "$p" 2>/dev/null; done
	for p in ${LLNG_NGINX_PID:-} ${LLNG_FCGI_PID:-}; do wait "$p" 2>/dev/null; done
	LLNG_NGINX_PID='' LLNG_FCGI_PID=''
}
