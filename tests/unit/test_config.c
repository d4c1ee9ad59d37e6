/* test_config.c: the strict config file (TOK-05 issuer policy, TOK-08
 * secret file, IDT-01/IDT-02 alg allow-list) and the defensive open. */
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

int main(void)
{
	struct config *c = NULL;
	char *secret = NULL;

	if (!mkdtemp(dir))
		return 1;

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
		T_STREQ(c->cache_dir, "/var/cache/pam-oauth2-pkce");
		T_EQ(c->allow_insecure_loopback, 0);
	}
	config_free(c);

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

	T_CASE("section headers are refused for now");
	T_EQ(perr(MIN "[service sudo]\nclock_skew = 5\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: unexpected section header (sections are not supported)");

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

	T_CASE("yes/no, paths, scopes, client_id");
	T_EQ(perr(MIN "allow_insecure_loopback = true\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: allow_insecure_loopback: must be yes or no");
	T_EQ(perr(MIN "cache_dir = var/cache\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: cache_dir: must be an absolute path");
	T_EQ(perr(MIN "ca_file = ./ca.pem\n"), ERR_CONFIG);
	T_EQ(perr(MIN "client_secret_file = secret\n"), ERR_CONFIG);
	T_EQ(perr(MIN "scopes = profile email\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:3: scopes: must include \"openid\"");
	T_EQ(perr(MIN "scopes = openid \"x\"\n"), ERR_CONFIG);
	T_EQ(perr(MIN "scopes = openidx\n"), ERR_CONFIG);
	T_EQ(perr("issuer = https://idp.example.com\nclient_id = caf\xc3\xa9\n"), ERR_CONFIG);
	T_STREQ(err, "t.conf:2: client_id: only printable ASCII is allowed");

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
	f = file("secret", "ab\x01" "c\n", 0600);
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

	{
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		T_EQ(system(cmd), 0);
	}
	return t_done();
}
