/* test_config.c: the strict config file (TOK-05 issuer policy, TOK-08
 * secret file, IDT-01/IDT-02 alg allow-list), the login policy with its
 * [service NAME] sections, relay_url, and the defensive open. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "jwt.h"
#include "tap.h"

static char err[512];
static char dir[] = "/tmp/test_config_XXXXXX";
static char path[512];

static int parse(const char *text, struct config **c)
{
	*c = NULL;
	return config_parse(text, strlen(text), "t.conf", c, err, sizeof(err));
}

/* Parses and frees; returns the code, leaves the message in err. */
static int perr(const char *text)
{
	struct config *c = NULL;
	int r = parse(text, &c);

	config_free(c);
	return r;
}

static const char *file(const char *name, const char *content, mode_t mode)
{
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		if (write(fd, content, strlen(content)) < 0)
			perror("write");
		close(fd);
	}
	chmod(path, mode);
	return path;
}

#define MIN "issuer = https://idp.example.com\nclient_id = host-a\n"

static void test_minimal(void)
{
	struct config *c = NULL;

	T_CASE("minimal config: issuer + client_id, defaults");
	T_EQ(parse(MIN, &c), 0);
	T_OK(c != NULL);
	if (c) {
		T_STREQ(c->issuer, "https://idp.example.com");
		T_STREQ(c->client_id, "host-a");
		T_OK(c->client_secret_file == NULL && c->ca_file == NULL);
		T_STREQ(c->scopes, "openid profile email");
		T_EQ(c->allowed_algs, JWT_ALG_ALL);
		T_EQ(c->clock_skew, 60);
		T_EQ(c->max_token_age, 300);
		T_EQ(c->http_timeout, 10);
		T_EQ(c->first_contact_timeout, 2);
		T_STREQ(c->cache_dir, "/var/cache/pam-oauth2-pkce");
		T_STREQ(c->helper_user, "_oauth2-pkce");
		T_EQ(c->allow_insecure_loopback, 0);
		T_OK(c->relay_url == NULL && c->relay_secret_file == NULL);
		T_EQ(c->login.wait, CONFIG_WAIT_AUTO);
		T_EQ(c->login.qr, CONFIG_QR_UTF8);
		T_EQ(c->login.login_timeout, 100);
		T_STREQ(c->login.username_claim, "preferred_username");
		T_STREQ(c->login.groups_claim, "groups");
		T_OK(c->login.map_file == NULL && c->login.strip_domain == NULL &&
		     c->login.allowed_groups == NULL && c->login.prompt == NULL);
		T_EQ(c->login.lowercase, 0);
		T_EQ(c->login.allow_root, 0);
		T_EQ(c->login.kiosk_accept_login_csrf, 0);
		T_EQ(c->nsections, 0);
		T_OK(c->sections == NULL);
	}
	config_free(c);
}

static void test_every_key(void)
{
	struct config *c = NULL;

	T_CASE("every key, comments, blank lines, CRLF, tabs");
	{
		static const char all[] = "# a comment\n\n  \t\n"
					  "issuer=https://idp.example.com/realms/a\r\n"
					  "\tclient_id =  my client  \n"
					  "client_secret_file = /etc/security/secret\n"
					  "scopes = openid   email  groups\n"
					  "allowed_algs = RS256, ES256 EdDSA\n"
					  "   # indented comment\n"
					  "clock_skew = 0\n"
					  "max_token_age = 86400\n"
					  "ca_file = /etc/ssl/idp.pem\n"
					  "http_timeout = 60\n"
					  "cache_dir = /var/tmp/c\n"
					  "allow_insecure_loopback = no";
		int r = parse(all, &c);
		T_EQ(r, 0);
	}
	if (c) {
		T_STREQ(c->issuer, "https://idp.example.com/realms/a");
		T_STREQ(c->client_id, "my client");
		T_STREQ(c->client_secret_file, "/etc/security/secret");
		T_STREQ(c->scopes, "openid email groups");
		T_EQ(c->allowed_algs, JWT_RS256 | JWT_ES256 | JWT_EDDSA);
		T_EQ(c->clock_skew, 0);
		T_EQ(c->max_token_age, 86400);
		T_STREQ(c->ca_file, "/etc/ssl/idp.pem");
		T_EQ(c->http_timeout, 60);
		T_STREQ(c->cache_dir, "/var/tmp/c");
	}
	config_free(c);
}

static void test_algs(void)
{
	T_CASE("IDT-01 IDT-02 allowed_algs: none and HS* refused, naming the line");
	T_EQ(perr(MIN "allowed_algs = RS256 HS256\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: allowed_algs: HS256 is never allowed");
	T_EQ(perr(MIN "allowed_algs = none\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: allowed_algs: none is never allowed");
	T_EQ(perr(MIN "allowed_algs = NoNe\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: allowed_algs: NoNe is never allowed");
	T_EQ(perr(MIN "allowed_algs = ES256,hs512\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: allowed_algs: hs512 is never allowed");

	T_CASE("IDT-03 allowed_algs: unknown or wrong-case names refused");
	T_EQ(perr(MIN "allowed_algs = rs256\n"), ERR_CONFIG);
	T_OK(strncmp(err, "t.conf:3: allowed_algs: unknown algorithm \"rs256\"", 49) == 0);
	T_EQ(perr(MIN "allowed_algs = RS256 XYZ\n"), ERR_CONFIG);
	T_EQ(perr(MIN "allowed_algs = ,,\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: allowed_algs: empty list");
}

static void test_issuer(void)
{
	T_CASE("TOK-05 issuer: http refused, order of keys does not matter");
	T_EQ(perr("client_id = a\nissuer = http://idp.example.com\n"), ERR_CONFIG);
	T_OK(strncmp(err, "t.conf:2: issuer: must be an https:// URL", 41) == 0);
	T_EQ(perr("client_id = a\nissuer = http://127.0.0.1:3000\n"), ERR_CONFIG);
	T_OK(strstr(err, "allow_insecure_loopback = yes") != NULL);
	T_EQ(perr("issuer = http://127.0.0.1:3000\nclient_id = a\nallow_insecure_loopback = yes\n"),
	     0);
	T_EQ(perr("allow_insecure_loopback = yes\nissuer = http://localhost:3000/x\nclient_id = a\n"),
	     0);
	T_EQ(perr("allow_insecure_loopback = yes\nclient_id = a\nissuer = http://idp.example.com\n"),
	     ERR_CONFIG);
	T_OK(strncmp(err, "t.conf:3: issuer:", 17) == 0);

	T_CASE("TOK-05 issuer: userinfo, query, fragment, non-URL refused");
	T_EQ(perr("client_id = a\nissuer = https://u@idp.example.com\n"), ERR_CONFIG);
	T_EQ(perr("client_id = a\nissuer = https://idp.example.com/?x=1\n"), ERR_CONFIG);
	T_EQ(perr("client_id = a\nissuer = https://idp.example.com/#x\n"), ERR_CONFIG);
	T_EQ(perr("client_id = a\nissuer = idp.example.com\n"), ERR_CONFIG);
}

static void test_syntax(void)
{
	T_CASE("required keys");
	T_EQ(perr("client_id = a\n"), ERR_CONFIG_MISSING);
	T_STREQ(err, "t.conf: missing required key \"issuer\"");
	T_EQ(perr("issuer = https://idp.example.com\n"), ERR_CONFIG_MISSING);
	T_STREQ(err, "t.conf: missing required key \"client_id\"");
	T_EQ(perr(""), ERR_CONFIG_MISSING);

	T_CASE("unknown key, duplicate key, empty value, syntax");
	T_EQ(perr(MIN "issuer_url = x\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: unknown key \"issuer_url\"");
	T_EQ(perr(MIN "client_id = b\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: client_id: duplicate key (first set on line 2)");
	T_EQ(perr(MIN "scopes =\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: scopes: empty value");
	T_EQ(perr(MIN "scopes =   \t \n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: scopes: empty value");
	T_EQ(perr(MIN "just some words\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: expected \"key = value\"");
	T_EQ(perr(MIN "= value\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: expected \"key = value\"");
	T_EQ(perr(MIN "Issuer = https://x\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: unknown key \"Issuer\"");
	T_EQ(perr(MIN "clock_skew = 5 # five\n"), ERR_CONFIG); /* no inline comments */

	T_CASE("numbers: ranges and syntax");
	T_EQ(perr(MIN "clock_skew = 601\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: clock_skew: must be a whole number from 0 to 600");
	T_EQ(perr(MIN "clock_skew = 600\n"), 0);
	T_EQ(perr(MIN "clock_skew = -1\n"), ERR_CONFIG);
	T_EQ(perr(MIN "clock_skew = +5\n"), ERR_CONFIG);
	T_EQ(perr(MIN "clock_skew = 5s\n"), ERR_CONFIG);
	T_EQ(perr(MIN "clock_skew = 0x10\n"), ERR_CONFIG);
	T_EQ(perr(MIN "clock_skew = 99999999999999999999\n"), ERR_CONFIG);
	T_EQ(perr(MIN "max_token_age = 0\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: max_token_age: must be a whole number from 1 to 86400");
	T_EQ(perr(MIN "max_token_age = 86401\n"), ERR_CONFIG);
	T_EQ(perr(MIN "http_timeout = 0\n"), ERR_CONFIG);
	T_EQ(perr(MIN "http_timeout = 61\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: http_timeout: must be a whole number from 1 to 60");
	T_EQ(perr(MIN "first_contact_timeout = 0\n"), ERR_CONFIG);
	T_EQ(perr(MIN "first_contact_timeout = 61\n"), ERR_CONFIG);

	T_CASE("yes/no, paths, scopes, client_id");
	T_EQ(perr(MIN "allow_insecure_loopback = true\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: allow_insecure_loopback: must be yes or no");
	T_EQ(perr(MIN "cache_dir = var/cache\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: cache_dir: must be an absolute path");
}

static void test_helper_user(void)
{
	T_CASE("PAM-23 helper_user: a plain account name");
	T_EQ(perr(MIN "helper_user = Root\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: helper_user: must be a local account name: [a-z_][a-z0-9_.-], at "
		     "most 32 characters");
	T_EQ(perr(MIN "helper_user = a b\n"), ERR_CONFIG);
	T_EQ(perr(MIN "helper_user = ../x\n"), ERR_CONFIG);
	T_EQ(perr(MIN "helper_user = a23456789012345678901234567890123\n"), ERR_CONFIG);
	T_EQ(perr(MIN "helper_user = _login-svc.2\n"), ERR_OK);
	T_EQ(perr(MIN "ca_file = ./ca.pem\n"), ERR_CONFIG);
	T_EQ(perr(MIN "client_secret_file = secret\n"), ERR_CONFIG);
	T_EQ(perr(MIN "scopes = profile email\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: scopes: must include \"openid\"");
	T_EQ(perr(MIN "scopes = openid \"x\"\n"), ERR_CONFIG);
	T_EQ(perr(MIN "scopes = openidx\n"), ERR_CONFIG);
}

static void test_offline_access(void)
{
	T_CASE("TOK-07 offline_access is never requested");
	T_EQ(perr(MIN "scopes = openid offline_access\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: scopes: offline_access is never requested (no refresh tokens)");
	T_EQ(perr("issuer = https://idp.example.com\nclient_id = caf\xc3\xa9\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:2: client_id: only printable ASCII is allowed");

	/* ---- relay ---- */
}

static void test_relay_url(void)
{
	struct config *c = NULL;

	T_CASE("relay_url: https base URL, relay_secret_file: absolute path");
	{
		static const char relay[] = MIN "relay_url = https://relay.example.org\n"
						"relay_secret_file = /etc/security/relay.secret\n";
		T_EQ(parse(relay, &c), 0);
	}
	if (c) {
		T_STREQ(c->relay_url, "https://relay.example.org");
		T_STREQ(c->relay_secret_file, "/etc/security/relay.secret");
	}
	config_free(c);
	T_EQ(perr(MIN "relay_url = https://relay.example.org:8443\n"), 0);
	T_EQ(perr(MIN "relay_url = https://[2001:db8::1]:8443\n"), 0);
	T_EQ(perr(MIN "relay_secret_file = relay.secret\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: relay_secret_file: must be an absolute path");

	T_CASE("relay_url: http only to loopback with allow_insecure_loopback");
	T_EQ(perr(MIN "relay_url = http://relay.example.org\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: relay_url: must be a base URL https://host[:port] without user "
		     "info, path, query, fragment or trailing slash (http:// only to 127.0.0.1, "
		     "[::1] or localhost with allow_insecure_loopback = yes)");
	T_EQ(perr(MIN "relay_url = http://127.0.0.1:8080\n"), ERR_CONFIG);
	T_EQ(perr(MIN "relay_url = http://127.0.0.1:8080\nallow_insecure_loopback = yes\n"), 0);
	T_EQ(perr(MIN "allow_insecure_loopback = yes\nrelay_url = http://localhost:8080\n"), 0);
	T_EQ(perr(MIN "allow_insecure_loopback = yes\nrelay_url = http://[::1]:8080\n"), 0);
	T_EQ(perr(MIN "allow_insecure_loopback = yes\nrelay_url = http://relay.example.org\n"),
	     ERR_CONFIG);
	T_OK(strncmp(err, "t.conf:4: relay_url: must be a base URL", 39) == 0);

	T_CASE("relay_url: path, trailing slash, query, fragment, user info refused");
	T_EQ(perr(MIN "relay_url = https://relay.example.org/\n"), ERR_CONFIG);
	T_OK(strncmp(err, "t.conf:3: relay_url: must be a base URL", 39) == 0);
	T_EQ(perr(MIN "relay_url = https://relay.example.org/relay\n"), ERR_CONFIG);
	T_EQ(perr(MIN "relay_url = https://relay.example.org:8443/\n"), ERR_CONFIG);
	T_EQ(perr(MIN "relay_url = https://relay.example.org?x=1\n"), ERR_CONFIG);
	T_EQ(perr(MIN "relay_url = https://relay.example.org#x\n"), ERR_CONFIG);
	T_EQ(perr(MIN "relay_url = https://u:p@relay.example.org\n"), ERR_CONFIG);
	T_EQ(perr(MIN "relay_url = relay.example.org\n"), ERR_CONFIG);
	T_EQ(perr(MIN "relay_url = ftp://relay.example.org\n"), ERR_CONFIG);
	T_EQ(perr(MIN "relay_url = https://\n"), ERR_CONFIG);

	/* ---- the login policy ---- */
}

static void test_login_keys(void)
{
	struct config *c = NULL;

	T_CASE("every login key globally");
	{
		static const char all[] = MIN "wait = code\n"
					      "qr = ascii\n"
					      "login_timeout = 600\n"
					      "username_claim = email\n"
					      "map_file = /etc/security/pam_oauth2_pkce.map\n"
					      "strip_domain = Corp-1.example.com\n"
					      "lowercase = yes\n"
					      "allow_root = yes\n"
					      "groups_claim = https://example.com/roles\n"
					      "allowed_groups = admins,  ops ,dev\tq\n"
					      "kiosk_accept_login_csrf = yes\n"
					      "prompt = select_account   login\n";
		T_EQ(parse(all, &c), 0);
	}
	if (c) {
		T_EQ(c->login.wait, CONFIG_WAIT_CODE);
		T_EQ(c->login.qr, CONFIG_QR_ASCII);
		T_EQ(c->login.login_timeout, 600);
		T_STREQ(c->login.username_claim, "email");
		T_STREQ(c->login.map_file, "/etc/security/pam_oauth2_pkce.map");
		T_STREQ(c->login.strip_domain, "Corp-1.example.com");
		T_EQ(c->login.lowercase, 1);
		T_EQ(c->login.allow_root, 1);
		T_STREQ(c->login.groups_claim, "https://example.com/roles");
		T_STREQ(c->login.allowed_groups, "admins ops dev q");
		T_EQ(c->login.kiosk_accept_login_csrf, 1);
		T_STREQ(c->login.prompt, "select_account login");
	}
	config_free(c);

	T_CASE("wait and qr: the names, case-sensitive");
	{
		static const struct {
			const char *line;
			int wait, qr;
		} ok[] = {
			{ "wait = auto\n", CONFIG_WAIT_AUTO, CONFIG_QR_UTF8 },
			{ "wait = poll\n", CONFIG_WAIT_POLL, CONFIG_QR_UTF8 },
			{ "wait = enter\n", CONFIG_WAIT_ENTER, CONFIG_QR_UTF8 },
			{ "wait = code\n", CONFIG_WAIT_CODE, CONFIG_QR_UTF8 },
			{ "qr = utf8\n", CONFIG_WAIT_AUTO, CONFIG_QR_UTF8 },
			{ "qr = ascii\n", CONFIG_WAIT_AUTO, CONFIG_QR_ASCII },
			{ "qr = off\n", CONFIG_WAIT_AUTO, CONFIG_QR_OFF },
		};
		for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			char text[256];
			snprintf(text, sizeof(text), MIN "%s", ok[i].line);
			T_EQ(parse(text, &c), 0);
			if (c) {
				T_EQ(c->login.wait, ok[i].wait);
				T_EQ(c->login.qr, ok[i].qr);
			}
			config_free(c);
		}
	}
	T_EQ(perr(MIN "wait = Code\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: wait: must be auto, poll, enter or code");
	T_EQ(perr(MIN "wait = code poll\n"), ERR_CONFIG);
	T_EQ(perr(MIN "wait = yes\n"), ERR_CONFIG);
	T_EQ(perr(MIN "qr = UTF-8\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: qr: must be utf8, ascii or off");
	T_EQ(perr(MIN "qr = no\n"), ERR_CONFIG);
	T_EQ(perr(MIN "qr =\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: qr: empty value");

	T_CASE("IDT-29 userinfo: auto (default), always, never; per service");
	T_EQ(parse(MIN, &c), 0);
	T_EQ(c ? (long)c->login.userinfo : -1, CONFIG_USERINFO_AUTO);
	config_free(c);
	{
		static const char text[] = MIN "userinfo = never\n"
					       "[service sshd]\n"
					       "userinfo = always\n"
					       "[service sudo]\n"
					       "userinfo = auto\n"
					       "[service login]\n"
					       "wait = poll\n";
		struct config_login l;

		T_EQ(parse(text, &c), 0);
		if (c) {
			T_EQ(c->login.userinfo, CONFIG_USERINFO_NEVER);
			config_login_for(c, "sshd", &l);
			T_EQ(l.userinfo, CONFIG_USERINFO_ALWAYS);
			config_login_for(c, "sudo", &l);
			T_EQ(l.userinfo, CONFIG_USERINFO_AUTO);
			config_login_for(c, "login", &l); /* not set there: the global */
			T_EQ(l.userinfo, CONFIG_USERINFO_NEVER);
			config_login_for(c, "other", &l);
			T_EQ(l.userinfo, CONFIG_USERINFO_NEVER);
		}
		config_free(c);
	}
	T_EQ(perr(MIN "userinfo = Always\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: userinfo: must be auto, always or never");
	T_EQ(perr(MIN "userinfo = yes\n"), ERR_CONFIG);
	T_EQ(perr(MIN "userinfo = auto\nuserinfo = never\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:4: userinfo: duplicate key (first set on line 3)");
	T_EQ(perr(MIN "[service sshd]\nuserinfo = sometimes\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:4: userinfo: must be auto, always or never");

	T_CASE("login_timeout: 30..600");
	T_EQ(perr(MIN "login_timeout = 30\n"), 0);
	T_EQ(perr(MIN "login_timeout = 600\n"), 0);
	T_EQ(perr(MIN "login_timeout = 29\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: login_timeout: must be a whole number from 30 to 600");
	T_EQ(perr(MIN "login_timeout = 601\n"), ERR_CONFIG);
	T_EQ(perr(MIN "login_timeout = 1m\n"), ERR_CONFIG);

	T_CASE("username_claim, groups_claim: a claim name");
	T_EQ(perr(MIN "username_claim = sub\n"), 0);
	T_EQ(perr(MIN "username_claim = https://example.com/claims/uid\n"), 0);
	{
		char text[256];
		snprintf(text, sizeof(text), MIN "username_claim = %.64s\n",
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		T_EQ(perr(text), 0);
		snprintf(text, sizeof(text), MIN "groups_claim = %.65s\n",
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		T_EQ(perr(text), ERR_CONFIG);
		T_STREQ(err,
			"t.conf:3: groups_claim: must be a claim name: printable ASCII without "
			"blanks, at most 64 characters");
	}
	T_EQ(perr(MIN "username_claim = preferred username\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: username_claim: must be a claim name: printable ASCII without "
		     "blanks, at most 64 characters");
	T_EQ(perr(MIN "username_claim = nom_d\xc3\xa9_usager\n"), ERR_CONFIG);
	T_EQ(perr(MIN "groups_claim = a\tb\n"), ERR_CONFIG);
	T_EQ(perr(MIN "groups_claim = roles\n"), 0);

	T_CASE("map_file: absolute path");
	T_EQ(perr(MIN "map_file = users.map\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: map_file: must be an absolute path");

	T_CASE("strip_domain: a domain name");
	T_EQ(perr(MIN "strip_domain = example.com\n"), 0);
	T_EQ(perr(MIN "strip_domain = localhost\n"), 0);
	T_EQ(perr(MIN "strip_domain = .example.com\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: strip_domain: must be a domain name: letters, digits, '-' and '.', "
		     "at most 253 characters, no leading, trailing or double '.'");
	T_EQ(perr(MIN "strip_domain = example.com.\n"), ERR_CONFIG);
	T_EQ(perr(MIN "strip_domain = example..com\n"), ERR_CONFIG);
	T_EQ(perr(MIN "strip_domain = @example.com\n"), ERR_CONFIG);
	T_EQ(perr(MIN "strip_domain = exa_mple.com\n"), ERR_CONFIG);
	T_EQ(perr(MIN "strip_domain = example.com other.org\n"), ERR_CONFIG);
	T_EQ(perr(MIN "strip_domain = b\xc3\xbc"
		      "cher.de\n"),
	     ERR_CONFIG);
	{
		char text[600], dom[260];
		memset(dom, 'a', 253);
		dom[253] = 0;
		snprintf(text, sizeof(text), MIN "strip_domain = %s\n", dom);
		T_EQ(perr(text), 0);
		memset(dom, 'a', 254);
		dom[254] = 0;
		snprintf(text, sizeof(text), MIN "strip_domain = %s\n", dom);
		T_EQ(perr(text), ERR_CONFIG);
	}

	T_CASE("lowercase, allow_root, kiosk_accept_login_csrf: yes or no");
	T_EQ(perr(MIN "lowercase = no\nallow_root = no\nkiosk_accept_login_csrf = no\n"), 0);
	T_EQ(perr(MIN "lowercase = true\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: lowercase: must be yes or no");
	T_EQ(perr(MIN "allow_root = 1\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: allow_root: must be yes or no");
	T_EQ(perr(MIN "kiosk_accept_login_csrf = Yes\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: kiosk_accept_login_csrf: must be yes or no");

	T_CASE("allowed_groups: a non-empty list");
	T_EQ(parse(MIN "allowed_groups = /staff/\xc3\xa9quipe\n", &c), 0);
	if (c)
		T_STREQ(c->login.allowed_groups, "/staff/\xc3\xa9quipe");
	config_free(c);
	T_EQ(perr(MIN "allowed_groups = ,\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: allowed_groups: empty list");
	T_EQ(perr(MIN "allowed_groups = , ,\t,\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: allowed_groups: empty list");

	T_CASE("prompt: none, or a combination of login, consent, select_account");
	{
		static const char *const ok[][2] = {
			{ "none", "none" },
			{ "login", "login" },
			{ "consent", "consent" },
			{ "select_account", "select_account" },
			{ "login consent", "login consent" },
			{ "consent \t select_account  login", "consent select_account login" },
		};
		for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			char text[256];
			snprintf(text, sizeof(text), MIN "prompt = %s\n", ok[i][0]);
			T_EQ(parse(text, &c), 0);
			if (c)
				T_STREQ(c->login.prompt, ok[i][1]);
			config_free(c);
		}
	}
	T_EQ(perr(MIN "prompt = Login\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: prompt: unknown value \"Login\" (must be none, or any of login, "
		     "consent, select_account separated by spaces)");
	T_EQ(perr(MIN "prompt = login,consent\n"), ERR_CONFIG);
	T_OK(strncmp(err, "t.conf:3: prompt: unknown value \"login,consent\"", 47) == 0);
	T_EQ(perr(MIN "prompt = create\n"), ERR_CONFIG);
	T_EQ(perr(MIN "prompt = none login\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: prompt: none cannot be combined with other values");
	T_EQ(perr(MIN "prompt = consent none\n"), ERR_CONFIG);
	T_EQ(perr(MIN "prompt = login login\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: prompt: login given twice");
	T_EQ(perr(MIN "prompt = select_account_and_more_than_thirty_two_chars\n"), ERR_CONFIG);

	/* ---- [service NAME] sections ---- */
}

static void test_assurance_keys(void)
{
	struct config *c = NULL;

	T_CASE("IDT-25/26 assurance keys: defaults, normalized, per service");
	T_EQ(parse(MIN, &c), 0);
	if (c)
		T_OK(c->login.acr_values == NULL && c->login.required_acr == NULL &&
		     c->login.required_amr == NULL && c->login.max_age == -1);
	config_free(c);
	{
		static const char text[] = MIN "acr_values =  urn:x:loa:2\t phr \n"
					       "required_acr = phr urn:x:loa:2\n"
					       "max_age = 0\n"
					       "required_amr = hwk\n"
					       "[service sudo]\n"
					       "max_age = 300\n"
					       "required_amr = mfa  otp\n"
					       "[service sshd]\n"
					       "prompt = login\n";
		T_EQ(parse(text, &c), 0);
	}
	if (c) {
		struct config_login l;

		T_STREQ(c->login.acr_values, "urn:x:loa:2 phr");
		T_STREQ(c->login.required_acr, "phr urn:x:loa:2");
		T_EQ(c->login.max_age, 0);
		T_STREQ(c->login.required_amr, "hwk");
		config_login_for(c, "sudo", &l);
		T_EQ(l.max_age, 300);
		T_STREQ(l.required_amr, "mfa otp");
		T_STREQ(l.acr_values, "urn:x:loa:2 phr"); /* from the globals */
		config_login_for(c, "sshd", &l);
		T_EQ(l.max_age, 0);
		T_STREQ(l.required_amr, "hwk");
		config_login_for(c, "login", &l);
		T_STREQ(l.required_acr, "phr urn:x:loa:2");
	}
	config_free(c);
	T_EQ(parse(MIN "[service sudo]\nmax_age = 300\nrequired_amr = mfa\n", &c), 0);
	if (c) {
		struct config_login l;

		config_login_for(c, "sshd", &l);
		T_OK(l.max_age == -1 && l.required_amr == NULL);
		config_login_for(c, "sudo", &l);
		T_OK(l.max_age == 300 && l.required_amr && !strcmp(l.required_amr, "mfa"));
	}
	config_free(c);

	T_CASE("IDT-25/26 assurance keys: bad values");
	T_EQ(perr(MIN "max_age = -1\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: max_age: must be a whole number from 0 to 31536000");
	T_EQ(perr(MIN "max_age = 31536001\n"), ERR_CONFIG);
	T_EQ(perr(MIN "max_age = 5m\n"), ERR_CONFIG);
	T_EQ(perr(MIN "required_amr = mfa mfa\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: required_amr: \"mfa\" given twice");
	T_EQ(perr(MIN "required_amr = mfa, hwk\n"), 0); /* "mfa," is a word */
	T_EQ(perr(MIN "required_acr = \"phr\"\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: required_acr: invalid character in a value");
	T_EQ(perr(MIN "acr_values = a\\b\n"), ERR_CONFIG);
	T_EQ(perr(MIN "acr_values = caf\xc3\xa9\n"), ERR_CONFIG);
	{
		static const char text[] =
			MIN "required_acr = "
			    "x1234567890123456789012345678901234567890123456789012345678901234\n";
		T_EQ(perr(text), ERR_CONFIG);
	}
	T_STREQ(err, "t.conf:3: required_acr: a value is longer than 64 characters");
	T_EQ(perr(MIN "[service sudo]\nrequired_amr =\n"), ERR_CONFIG);
	T_EQ(perr(MIN "[service sudo]\nmax_age = 1\nmax_age = 2\n"), ERR_CONFIG);
}

static void test_sections(void)
{
	struct config *c = NULL;

	T_CASE("sections: set keys override, unset keys fall back to the globals");
	{
		static const char text[] = MIN "wait = poll\n"
					       "prompt = login\n"
					       "allow_root = yes\n"
					       "map_file = /etc/security/users.map\n"
					       "\n"
					       "[service sshd]\n"
					       "# remote: the person types the code\n"
					       "wait = code\n"
					       "qr = off\n"
					       "allowed_groups = ops\n"
					       "allow_root = no\n"
					       "  [service sudo]  \r\n"
					       "prompt = consent\n"
					       "login_timeout = 300\n"
					       "username_claim = email\n"
					       "[service kiosk]\n"
					       "wait = auto\n"
					       "[service login]\n";
		struct config_login l;

		T_EQ(parse(text, &c), 0);
		T_OK(c != NULL);
		if (c) {
			T_EQ(c->nsections, 4);
			T_STREQ(c->sections[0].name, "sshd");
			T_STREQ(c->sections[3].name, "login");
			T_EQ(c->sections[3].set, 0);

			config_login_for(c, "sshd", &l);
			T_EQ(l.wait, CONFIG_WAIT_CODE);
			T_EQ(l.qr, CONFIG_QR_OFF);
			T_STREQ(l.allowed_groups, "ops");
			T_EQ(l.allow_root, 0); /* "no" overrides the global "yes" */
			T_STREQ(l.prompt, "login");
			T_EQ(l.login_timeout, 100);
			T_STREQ(l.map_file, "/etc/security/users.map");
			T_OK(l.username_claim == c->login.username_claim); /* points into c */

			config_login_for(c, "sudo", &l);
			T_EQ(l.wait, CONFIG_WAIT_POLL);
			T_EQ(l.qr, CONFIG_QR_UTF8);
			T_STREQ(l.prompt, "consent");
			T_EQ(l.login_timeout, 300);
			T_STREQ(l.username_claim, "email");
			T_STREQ(l.groups_claim, "groups");
			T_EQ(l.allow_root, 1);
			T_OK(l.allowed_groups == NULL);

			config_login_for(c, "kiosk", &l);
			T_EQ(l.wait, CONFIG_WAIT_AUTO); /* "auto" overrides the global "poll" */
			T_STREQ(l.prompt, "login");

			config_login_for(c, "login", &l); /* an empty section */
			T_OK(memcmp(&l, &c->login, sizeof(l)) == 0);

			T_CASE("sections: a service without a section gets the globals");
			config_login_for(c, "su", &l);
			T_OK(memcmp(&l, &c->login, sizeof(l)) == 0);
			config_login_for(c, "SSHD", &l); /* case-sensitive */
			T_OK(memcmp(&l, &c->login, sizeof(l)) == 0);
			config_login_for(c, "", &l);
			T_OK(memcmp(&l, &c->login, sizeof(l)) == 0);
			config_login_for(c, NULL, &l);
			T_OK(memcmp(&l, &c->login, sizeof(l)) == 0);
			T_EQ(l.wait, CONFIG_WAIT_POLL);
		}
		config_free(c);
		T_EQ(parse(MIN, &c), 0);
		if (c) {
			config_login_for(c, "sshd", &l);
			T_EQ(l.wait, CONFIG_WAIT_AUTO);
			T_EQ(l.login_timeout, 100);
			T_STREQ(l.username_claim, "preferred_username");
		}
		config_free(c);
		config_login_for(NULL, "sshd", &l);
		T_OK(l.username_claim == NULL && l.login_timeout == 0);
	}

	T_CASE("sections: a key once globally and once in each section is fine");
	T_EQ(perr(MIN "wait = poll\n[service a]\nwait = code\n[service b]\nwait = code\n"), 0);
	T_EQ(perr("[service a]\nwait = code\nissuer = https://idp.example.com\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: issuer: only allowed before the first [service] section");
	T_EQ(perr("[service a]\nwait = code\n"), ERR_CONFIG_MISSING);
	T_STREQ(err, "t.conf: missing required key \"issuer\"");

	T_CASE("sections: a key repeated in one section");
	T_EQ(perr(MIN "[service sshd]\nwait = code\nqr = off\nwait = poll\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:6: wait: duplicate key (first set on line 4)");
	T_EQ(perr(MIN "wait = code\n[service sshd]\nwait = code\n[service sudo]\nwait = poll\n"
		      "wait = poll\n"),
	     ERR_CONFIG);
	T_STREQ(err, "t.conf:8: wait: duplicate key (first set on line 7)");

	T_CASE("sections: a global key inside a section");
	T_EQ(perr(MIN "[service sshd]\nissuer = https://idp.example.com\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:4: issuer: only allowed before the first [service] section");
	{
		static const char *const global[] = {
			"client_id = x",
			"client_secret_file = /x",
			"scopes = openid",
			"allowed_algs = RS256",
			"clock_skew = 5",
			"max_token_age = 60",
			"ca_file = /x",
			"http_timeout = 5",
			"cache_dir = /x",
			"allow_insecure_loopback = yes",
			"relay_url = https://relay.example.org",
			"relay_secret_file = /x",
			"helper_user = x",
		};
		for (size_t i = 0; i < sizeof(global) / sizeof(global[0]); i++) {
			char text[256], want[128];
			size_t n = strcspn(global[i], " ");
			snprintf(text, sizeof(text), MIN "[service sshd]\n%s\n", global[i]);
			T_EQ(perr(text), ERR_CONFIG);
			snprintf(want, sizeof(want),
				 "t.conf:4: %.*s: only allowed before the first [service] section",
				 (int)n, global[i]);
			T_STREQ(err, want);
		}
	}
	T_EQ(perr(MIN "[service sshd]\nbogus = 1\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:4: unknown key \"bogus\"");
	T_EQ(perr(MIN "[service sshd]\nwait = later\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:4: wait: must be auto, poll, enter or code");
	T_EQ(perr(MIN "[service sshd]\nprompt =\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:4: prompt: empty value");

	T_CASE("sections: duplicate section");
	T_EQ(perr(MIN "[service sshd]\nwait = code\n[service sshd]\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:5: duplicate section [service sshd] (first on line 3)");
	T_EQ(perr(MIN "[service sshd]\n[service sudo]\n[service sshd]\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:5: duplicate section [service sshd] (first on line 3)");
	T_EQ(perr(MIN "[service sshd]\n[service SSHD]\n"), 0); /* names are case-sensitive */

	T_CASE("sections: bad header forms");
	{
		static const char *const bad[] = {
			"[foo]",
			"[service]",
			"[service ]",
			"[service  sshd]",
			"[ service sshd]",
			"[service sshd ]",
			"[service sshd",
			"[service sshd] x",
			"[Service sshd]",
			"[service\tsshd]",
			"[servicesshd]",
			"[]",
			"[",
			"[[service sshd]]",
			"[service=sshd]",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char text[256];
			snprintf(text, sizeof(text), MIN "%s\n", bad[i]);
			T_EQ(perr(text), ERR_CONFIG);
			T_STREQ(err, "t.conf:3: expected [service NAME]");
		}
	}
	T_EQ(perr(MIN "[service ssh d]\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: invalid service name (1 to 64 characters of A-Z a-z 0-9 _ . @ -)");
	T_EQ(perr(MIN "[service a/b]\n"), ERR_CONFIG);
	T_EQ(perr(MIN "[service caf\xc3\xa9]\n"), ERR_CONFIG);
	T_EQ(perr(MIN "[service x]]\n"), ERR_CONFIG);
	T_EQ(perr(MIN "[service user@host.example-1_X]\n"), 0);
	{
		char text[256], name[70];
		memset(name, 'n', 64);
		name[64] = 0;
		snprintf(text, sizeof(text), MIN "[service %s]\n", name);
		T_EQ(perr(text), 0);
		memset(name, 'n', 65);
		name[65] = 0;
		snprintf(text, sizeof(text), MIN "[service %s]\n", name);
		T_EQ(perr(text), ERR_CONFIG);
		T_OK(strncmp(err, "t.conf:3: invalid service name", 30) == 0);
	}

	T_CASE("sections: at most 64");
	{
		char *text = malloc(8192);
		size_t n = 0;
		struct config_login l;

		n += (size_t)snprintf(text + n, 8192 - n, MIN);
		for (int i = 0; i < 64; i++)
			n += (size_t)snprintf(text + n, 8192 - n,
					      "[service s%d]\nlogin_timeout = %d\n", i, 30 + i);
		T_EQ(parse(text, &c), 0);
		if (c) {
			T_EQ(c->nsections, 64);
			config_login_for(c, "s63", &l);
			T_EQ(l.login_timeout, 93);
			config_login_for(c, "s0", &l);
			T_EQ(l.login_timeout, 30);
		}
		config_free(c);
		snprintf(text + n, 8192 - n, "[service s64]\n");
		T_EQ(perr(text), ERR_CONFIG);
		T_STREQ(err, "t.conf:131: more than 64 [service] sections");
		free(text);
	}
}

static void test_bytes(void)
{
	struct config *c = NULL;

	T_CASE("control characters, NUL, bad UTF-8, long lines");
	{
		static const char nul[] = MIN "x\0y\n";
		int r = config_parse(nul, sizeof(nul) - 1, "t.conf", &c, err, sizeof(err));
		T_EQ(r, ERR_CONFIG);
	}
	T_STREQ(err, "t.conf:3: invalid UTF-8 or NUL byte");
	T_EQ(perr(MIN "scopes = openid\x1b[31m\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: control character");
	T_EQ(perr(MIN "scopes = openid \xff\n"), ERR_CONFIG);
	{
		char big[6000];
		snprintf(big, sizeof(big), MIN "scopes = openid ");
		size_t n = strlen(big);
		memset(big + n, 'a', 5000);
		big[n + 5000] = 0;
		T_EQ(perr(big), ERR_CONFIG);
		T_STREQ(err, "t.conf:3: line longer than 4096 bytes");
		big[n + 2500] = 0;
		T_EQ(perr(big), ERR_CONFIG);
		T_STREQ(err, "t.conf:3: scopes: value longer than 2048 characters");
	}
	T_EQ(config_parse("x", CONFIG_MAX_BYTES + 1, "t.conf", &c, err, sizeof(err)), ERR_CONFIG);
	T_EQ(config_parse(MIN, strlen(MIN), "t.conf", &c, NULL, 0), 0); /* err optional */
	config_free(c);

	/* ---- config_load: the defensive open ---- */
}

static void test_load(void)
{
	struct config *c = NULL;

	T_CASE("config_load: good file");
	const char *f = file("ok.conf", MIN, 0600);
	T_EQ(config_load(f, &c, err, sizeof(err)), 0);
	config_free(c);
	f = file("ok.conf", MIN, 0644);
	T_EQ(config_load(f, &c, err, sizeof(err)), 0);
	config_free(c);

	T_CASE("config_load: errors name the path and line");
	f = file("bad.conf", MIN "bogus = 1\n", 0600);
	T_EQ(config_load(f, &c, err, sizeof(err)), ERR_CONFIG);
	{
		char want[600];
		snprintf(want, sizeof(want), "%s:3: unknown key \"bogus\"", f);
		T_STREQ(err, want);
	}

	T_CASE("config_load: group/world-writable refused");
	f = file("gw.conf", MIN, 0620);
	T_EQ(config_load(f, &c, err, sizeof(err)), ERR_CONFIG_PERM);
	T_OK(strstr(err, "gw.conf: mode 0620: must not be writable by group or others") != NULL);
	f = file("ww.conf", MIN, 0602);
	T_EQ(config_load(f, &c, err, sizeof(err)), ERR_CONFIG_PERM);

	T_CASE("config_load: symlink, directory, missing, too large");
	f = file("target.conf", MIN, 0600);
	{
		char link[600];
		snprintf(link, sizeof(link), "%s/link.conf", dir);
		T_EQ(symlink(f, link), 0);
		T_EQ(config_load(link, &c, err, sizeof(err)), ERR_CONFIG_PERM);
		T_OK(strstr(err, "link.conf: is a symbolic link") != NULL);
	}
	T_EQ(config_load(dir, &c, err, sizeof(err)), ERR_CONFIG_PERM);
	T_OK(strstr(err, "not a regular file") != NULL);
	T_EQ(config_load("/nonexistent/x.conf", &c, err, sizeof(err)), ERR_IO);
	T_STREQ(err, "/nonexistent/x.conf: cannot open: No such file or directory");
	{
		char *big = malloc(CONFIG_MAX_BYTES + 100);
		memset(big, '#', CONFIG_MAX_BYTES + 99);
		big[CONFIG_MAX_BYTES + 99] = 0;
		f = file("big.conf", big, 0600);
		T_EQ(config_load(f, &c, err, sizeof(err)), ERR_CONFIG);
		T_OK(strstr(err, "larger than 65536 bytes") != NULL);
		free(big);
	}
	T_EQ(config_load("/dev/null", &c, err, sizeof(err)), ERR_CONFIG_PERM);

	if (geteuid() == 0) {
		T_CASE("config_load: owned by another user refused");
		f = file("other.conf", MIN, 0600);
		T_EQ(chown(f, 65534, 65534), 0);
		T_EQ(config_load(f, &c, err, sizeof(err)), ERR_CONFIG_PERM);
		T_OK(strstr(err, "owned by uid 65534, must be owned by root") != NULL);
	}
}

static void test_secret(void)
{
	char *secret = NULL;
	const char *f;

	/* ---- config_read_secret ---- */
	T_CASE("TOK-08 secret file: first line, newline stripped");
	f = file("secret", "s:e+c%r/t\nsecond line\n", 0600);
	T_EQ(config_read_secret(f, &secret, err, sizeof(err)), 0);
	T_STREQ(secret, "s:e+c%r/t");
	free(secret);
	secret = NULL;
	f = file("secret", "  spaced secret \r\n", 0400);
	T_EQ(config_read_secret(f, &secret, err, sizeof(err)), 0);
	T_STREQ(secret, "  spaced secret ");
	free(secret);
	secret = NULL;
	f = file("secret", "no-newline", 0600);
	T_EQ(config_read_secret(f, &secret, err, sizeof(err)), 0);
	T_STREQ(secret, "no-newline");
	free(secret);
	secret = NULL;

	T_CASE("TOK-08 secret file readable by group or others refused");
	f = file("secret", "abc\n", 0640);
	T_EQ(config_read_secret(f, &secret, err, sizeof(err)), ERR_CONFIG_PERM);
	T_OK(strstr(err, "mode 0640: must not be accessible by group or others") != NULL);
	T_OK(secret == NULL);
	f = file("secret", "abc\n", 0604);
	T_EQ(config_read_secret(f, &secret, err, sizeof(err)), ERR_CONFIG_PERM);

	T_CASE("TOK-08 secret file: empty, control characters, symlink");
	f = file("secret", "\nabc\n", 0600);
	T_EQ(config_read_secret(f, &secret, err, sizeof(err)), ERR_CONFIG);
	T_OK(strstr(err, "empty secret") != NULL);
	f = file("secret", "", 0600);
	T_EQ(config_read_secret(f, &secret, err, sizeof(err)), ERR_CONFIG);
	f = file("secret",
		 "ab\x01"
		 "c\n",
		 0600);
	T_EQ(config_read_secret(f, &secret, err, sizeof(err)), ERR_CONFIG);
	T_OK(strstr(err, "abc") == NULL && strstr(err, "\x01") == NULL);
	{
		char link[600];
		f = file("secret", "abc\n", 0600);
		snprintf(link, sizeof(link), "%s/secret.link", dir);
		T_EQ(symlink(f, link), 0);
		T_EQ(config_read_secret(link, &secret, err, sizeof(err)), ERR_CONFIG_PERM);
	}
	if (geteuid() == 0) {
		f = file("secret", "abc\n", 0600);
		T_EQ(chown(f, 65534, 0), 0);
		T_EQ(config_read_secret(f, &secret, err, sizeof(err)), ERR_CONFIG_PERM);
	}
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	test_minimal();
	test_every_key();
	test_algs();
	test_issuer();
	test_syntax();
	test_helper_user();
	test_offline_access();
	test_relay_url();
	test_login_keys();
	test_assurance_keys();
	test_sections();
	test_bytes();
	test_load();
	test_secret();

	{
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		T_EQ(system(cmd), 0);
	}
	return t_done();
}
