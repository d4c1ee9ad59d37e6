/* cmd_check.c: `check`: what an administrator runs after editing the
 * config. Prints what it finds on stdout as "name: value" lines and one
 * "problem: ..." line per problem; the library's own log lines go to
 * stderr. An unset relay_url is reported as a problem line but does not
 * change the exit status on its own: the IdP side (discovery, keys, what
 * verify-id-token needs) can be checked without a relay. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/obj_mac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "claims.h"
#include "config.h"
#include "err.h"
#include "helper.h"
#include "http.h"
#include "jwks.h"
#include "jwt.h"
#include "oidc.h"
#include "secret.h"

#define RELAY_HEALTH_MAX_BYTES 4096

struct report {
	int problems;
	int no_relay; /* relay_url unset: reported, not counted in problems */
};

static void problem(struct report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct report *rep, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	helper_sanitize(buf);
	printf("problem: %s\n", buf);
	rep->problems++;
}

static void line(const char *name, const char *value)
{
	char *v = strdup(value ? value : "");

	if (!v)
		return;
	helper_sanitize(v);
	printf("%s: %s\n", name, v);
	free(v);
}

static void print_algs(const char *name, unsigned mask)
{
	char buf[256] = "";

	for (unsigned bit = 1; bit && bit <= JWT_ALG_ALL; bit <<= 1) {
		const char *n = (mask & bit) ? jwt_alg_name(bit) : NULL;
		if (!n)
			continue;
		if (buf[0])
			strncat(buf, " ", sizeof(buf) - strlen(buf) - 1);
		strncat(buf, n, sizeof(buf) - strlen(buf) - 1);
	}
	line(name, buf[0] ? buf : "(none)");
}

/* The algorithms a key could verify, by its type and curve (and its own
 * "alg" member when present). */
unsigned helper_key_algs(const struct jwk *k)
{
	unsigned m = 0;

	switch (k->kty) {
	case JWK_KTY_RSA:
		m = JWT_RS256 | JWT_RS384 | JWT_RS512 | JWT_PS256 | JWT_PS384 | JWT_PS512;
		break;
	case JWK_KTY_EC:
		m = k->curve_nid == NID_X9_62_prime256v1 ? JWT_ES256
		    : k->curve_nid == NID_secp384r1	 ? JWT_ES384
		    : k->curve_nid == NID_secp521r1	 ? JWT_ES512
							 : 0;
		break;
	case JWK_KTY_OKP:
		m = JWT_EDDSA | JWT_ED25519;
		break;
	}
	if (k->alg)
		m &= jwt_alg_from_name(k->alg);
	return m;
}

static const char *kty_name(enum jwk_kty k)
{
	return k == JWK_KTY_RSA ? "RSA" : k == JWK_KTY_EC ? "EC" : k == JWK_KTY_OKP ? "OKP" : "?";
}

static void check_owner(struct report *rep, const char *what, const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return; /* the loaders report it */
	if (st.st_uid != 0)
		problem(rep, "%s %s is owned by uid %lu, not root", what, path,
			(unsigned long)st.st_uid);
}

/* ---- login policy ------------------------------------------------------- */

struct strbuf {
	char buf[2048];
	size_t len;
};

static void sb_add(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->len >= sizeof(sb->buf) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sizeof(sb->buf) - sb->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb->len += (size_t)n < sizeof(sb->buf) - sb->len ? (size_t)n
								 : sizeof(sb->buf) - sb->len - 1;
}

/* " key=value", quoted when the value has a blank (prompt, allowed_groups) */
static void sb_str(struct strbuf *sb, const char *key, const char *v)
{
	if (v)
		sb_add(sb, strchr(v, ' ') ? " %s=\"%s\"" : " %s=%s", key, v);
}

static const char *yes_no(int b)
{
	return b ? "yes" : "no";
}

/* "wait=code qr=utf8 login_timeout=100 ..." on one line */
static void print_policy(const char *name, const struct config_login *l)
{
	static const char *const waits[] = { [CONFIG_WAIT_AUTO] = "auto",
					     [CONFIG_WAIT_POLL] = "poll",
					     [CONFIG_WAIT_ENTER] = "enter",
					     [CONFIG_WAIT_CODE] = "code" };
	static const char *const qrs[] = {
		[CONFIG_QR_UTF8] = "utf8", [CONFIG_QR_ASCII] = "ascii", [CONFIG_QR_OFF] = "off"
	};
	struct strbuf sb = { .len = 0 };

	sb_add(&sb, "wait=%s qr=%s login_timeout=%ld",
	       (unsigned)l->wait < sizeof(waits) / sizeof(waits[0]) ? waits[l->wait] : "?",
	       (unsigned)l->qr < sizeof(qrs) / sizeof(qrs[0]) ? qrs[l->qr] : "?", l->login_timeout);
	sb_str(&sb, "username_claim", l->username_claim);
	sb_str(&sb, "map_file", l->map_file);
	sb_str(&sb, "strip_domain", l->strip_domain);
	sb_add(&sb, " lowercase=%s allow_root=%s", yes_no(l->lowercase), yes_no(l->allow_root));
	sb_str(&sb, "groups_claim", l->groups_claim);
	sb_str(&sb, "allowed_groups", l->allowed_groups);
	sb_add(&sb, " kiosk_accept_login_csrf=%s", yes_no(l->kiosk_accept_login_csrf));
	sb_str(&sb, "prompt", l->prompt);
	sb_add(&sb, " userinfo=%s",
	       l->userinfo == CONFIG_USERINFO_ALWAYS  ? "always"
	       : l->userinfo == CONFIG_USERINFO_NEVER ? "never"
						      : "auto");
	line(name, sb.buf);
}

static void print_policies(const struct config *cfg)
{
	struct config_login l;
	char name[128];

	config_login_for(cfg, NULL, &l);
	print_policy("login_policy", &l);
	for (size_t i = 0; i < cfg->nsections; i++) {
		snprintf(name, sizeof(name), "section %s", cfg->sections[i].name);
		config_login_for(cfg, cfg->sections[i].name, &l);
		print_policy(name, &l);
	}
}

/* The map file, read exactly as a login reads it (config_read_file). */
static void check_map_file(struct report *rep, const char *path)
{
	char err[512], *buf = NULL;
	size_t len = 0;

	if (config_read_file(path, CLAIMS_MAP_MAX_BYTES, &buf, &len, err, sizeof(err)) != 0)
		problem(rep, "map_file %s", err);
	else
		line("map_file", path);
	free(buf);
}

/* Every distinct map_file, global or in a section, once. */
static void check_map_files(struct report *rep, const struct config *cfg)
{
	for (size_t i = 0; i <= cfg->nsections; i++) {
		const char *m = i == 0 ? cfg->login.map_file : cfg->sections[i - 1].login.map_file;
		int seen = 0;

		if (!m)
			continue;
		for (size_t j = 0; j < i && !seen; j++) {
			const char *o =
				j == 0 ? cfg->login.map_file : cfg->sections[j - 1].login.map_file;
			seen = o && strcmp(o, m) == 0;
		}
		if (!seen)
			check_map_file(rep, m);
	}
}

/* ---- relay ---------------------------------------------------------------- */

/* GET relay_url/healthz: the relay answers 200 "ok". relay_url was
 * validated by the parser (a base URL without a trailing slash). The system
 * trust store is used: ca_file is for the IdP. */
static void check_relay(struct report *rep, const struct config *cfg, struct helper_log *hl)
{
	struct http_opts o = { 0 };
	struct http_response resp = { 0 };
	char url[4096]; /* config values are at most 2048 bytes */
	long total = (cfg->http_timeout > 0 ? cfg->http_timeout : 10) * 1000L;
	int r;

	if (!cfg->relay_url) {
		printf("problem: relay_url is not set: logins cannot work\n");
		rep->no_relay = 1;
		return;
	}
	if ((size_t)snprintf(url, sizeof(url), "%s/healthz", cfg->relay_url) >= sizeof(url)) {
		problem(rep, "relay_url: too long");
		return;
	}
	o.total_timeout_ms = total;
	o.connect_timeout_ms = total < OIDC_CONNECT_TIMEOUT_MS ? total : OIDC_CONNECT_TIMEOUT_MS;
	o.max_bytes = RELAY_HEALTH_MAX_BYTES;
	o.ca_file = NULL;
	o.proxy = NULL;
	o.allow_insecure_loopback = cfg->allow_insecure_loopback;
	o.log = &hl->log;
	helper_log_reset(hl);
	r = http_get(&o, url, NULL, &resp);
	if (r != 0) {
		const char *d = helper_log_detail(hl);
		problem(rep, "relay: %s: %s", err_str(r), d[0] ? d : url);
	} else if (resp.status != 200) {
		problem(rep, "relay: GET %s answered HTTP %ld", url, resp.status);
	} else {
		line("relay", "ok");
	}
	http_response_cleanup(&resp);
}

static void check_files(struct report *rep, const char *config_path, const struct config *cfg)
{
	char err[1024], *secret = NULL;
	int fd;

	check_owner(rep, "config file", config_path);
	if (cfg->client_secret_file) {
		check_owner(rep, "client_secret_file", cfg->client_secret_file);
		if (config_read_secret(cfg->client_secret_file, &secret, err, sizeof(err)) != 0) {
			problem(rep, "client_secret_file: %s", err);
		} else {
			line("client_secret_file", "ok (not readable by group or others)");
			secret_str_free(secret);
			secret = NULL;
		}
	} else {
		line("client", "public (PKCE only, no client secret)");
	}
	if (cfg->ca_file) {
		struct stat st;
		fd = open(cfg->ca_file, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
			problem(rep, "ca_file %s: %s", cfg->ca_file,
				fd < 0 ? strerror(errno) : "not a regular file");
		else
			line("ca_file", cfg->ca_file);
		if (fd >= 0)
			close(fd);
	}
	if (cfg->relay_secret_file) {
		check_owner(rep, "relay_secret_file", cfg->relay_secret_file);
		if (config_read_secret(cfg->relay_secret_file, &secret, err, sizeof(err)) != 0) {
			problem(rep, "relay_secret_file: %s", err);
		} else {
			line("relay_secret_file", "ok (not readable by group or others)");
			secret_str_free(secret);
			secret = NULL;
		}
	}
	check_map_files(rep, cfg);
}

/* PAM-23: as root, the rest (cache, network, TLS, JSON) runs as helper_user,
 * as in a login, with cache_dir made and used as a login does. 0 to go on. */
static int drop_root(struct report *rep, const char *config_path, const struct config *cfg,
		     struct helper_log *hl)
{
	char why[512];

	helper_log_reset(hl);
	if (helper_drop_root(cfg, config_path, 1, &hl->log, why, sizeof(why)) != 0) {
		problem(rep, "%s; not checked: the cache, the relay, the IdP", why);
		return -1;
	}
	/* the first warning, helper_cache_prepare's, says whose the dir is */
	if (helper_cache_check(cfg, &hl->log) != 0)
		problem(rep, "cache_dir: %s", helper_log_detail(hl));
	else
		line("cache_dir", cfg->cache_dir);
	return 0;
}

static int parse_check_args(int argc, char **argv, const char **config_path, int *debug)
{
	const char *v;
	int k;

	for (int i = 1; i < argc; i++) {
		if ((k = helper_opt(argv, argc, &i, "--config", &v)) != 0) {
			if (k < 0) {
				fprintf(stderr, "%s: check: --config needs a value\n", HELPER_NAME);
				return EXIT_USAGE;
			}
			*config_path = v;
		} else if (strcmp(argv[i], "--debug") == 0) {
			*debug = 1;
		} else {
			fprintf(stderr, "%s: check: unknown option (try --help)\n", HELPER_NAME);
			return EXIT_USAGE;
		}
	}
	return 0;
}

static void print_config(const struct config *cfg)
{
	line("issuer", cfg->issuer);
	line("client_id", cfg->client_id);
	line("scopes", cfg->scopes);
	print_algs("allowed_algs", cfg->allowed_algs);
	if (cfg->allow_insecure_loopback)
		line("allow_insecure_loopback", "yes (plain http to loopback: for tests only)");
	line("relay_url", cfg->relay_url ? cfg->relay_url : "(not set)");
	print_policies(cfg);
}

/* IDT-29: userinfo = always cannot work without the endpoint */
static void check_userinfo(struct report *rep, const struct config *cfg, const struct discovery *d)
{
	for (size_t i = 0; !d->userinfo_endpoint && i <= cfg->nsections; i++) {
		struct config_login l;
		config_login_for(cfg, i ? cfg->sections[i - 1].name : NULL, &l);
		if (l.userinfo == CONFIG_USERINFO_ALWAYS) {
			problem(rep,
				"userinfo = always (%s%s), but the identity provider publishes "
				"no userinfo_endpoint",
				i ? "section " : "global", i ? cfg->sections[i - 1].name : "");
			break;
		}
	}
}

/* The discovery document's endpoints and algorithms; returns the algorithms
 * both sides allow. */
static unsigned check_discovery(struct report *rep, const struct config *cfg,
				const struct discovery *d)
{
	unsigned algs;

	line("authorization_endpoint", d->authorization_endpoint);
	line("token_endpoint", d->token_endpoint);
	line("jwks_uri", d->jwks_uri);
	line("iss_parameter_supported", d->iss_parameter_supported ? "yes" : "no");
	line("userinfo_endpoint", d->userinfo_endpoint ? d->userinfo_endpoint : "-");
	check_userinfo(rep, cfg, d);
	print_algs("idp_id_token_algs", d->id_token_algs);
	algs = d->id_token_algs & cfg->allowed_algs;
	print_algs("usable_algs", algs);
	if (!algs)
		problem(rep, "allowed_algs and the IdP's id_token_signing_alg_values_supported "
			     "have nothing in common");
	return algs;
}

/* Every key of the JWK set, and whether one can verify a usable algorithm. */
static void check_keys(struct report *rep, const struct jwks *set, unsigned algs)
{
	size_t usable = 0;
	char buf[512];

	for (size_t i = 0; i < set->n; i++) {
		const struct jwk *key = &set->keys[i];
		unsigned m = helper_key_algs(key) & algs;
		snprintf(buf, sizeof(buf), "kid=%.200s kty=%s bits=%d alg=%s%s",
			 key->kid ? key->kid : "(none)", kty_name(key->kty), key->bits,
			 key->alg ? key->alg : "(any)", m ? "" : " (not usable with usable_algs)");
		line("key", buf);
		usable += m != 0;
	}
	snprintf(buf, sizeof(buf), "%zu of %zu", usable, set->n);
	line("usable_keys", buf);
	if (!usable)
		problem(rep, "no key in the JWK set can verify any of the usable algorithms");
}

/* Discovery and JWKS fetched from the IdP now (no cache read). */
static void check_idp(struct report *rep, const struct config *cfg, struct helper_log *hl)
{
	struct oidc o;
	unsigned algs;
	int r;

	oidc_init(&o, cfg, &hl->log, time(NULL));
	o.no_cache_read = 1; /* always ask the IdP */
	helper_log_reset(hl);
	r = oidc_load(&o);
	if (!o.disc) {
		problem(rep, "discovery: %s: %s", err_str(r), helper_log_detail(hl));
		goto out;
	}
	algs = check_discovery(rep, cfg, o.disc);
	if (!o.jwks) {
		problem(rep, "jwks: %s: %s", err_str(r), helper_log_detail(hl));
		goto out;
	}
	check_keys(rep, o.jwks, algs);
out:
	oidc_cleanup(&o);
}

int cmd_check(int argc, char **argv)
{
	const char *config_path = DEFAULT_CONFIG;
	struct report rep = { 0 };
	struct helper_log hl;
	struct config *cfg = NULL;
	char err[1024];
	int debug = 0;

	if (parse_check_args(argc, argv, &config_path, &debug) != 0)
		return EXIT_USAGE;
	helper_log_init(&hl, debug, 1);

	line("config", config_path);
	if (config_load(config_path, &cfg, err, sizeof(err)) != 0) {
		problem(&rep, "%s", err);
		goto out;
	}
	print_config(cfg);
	helper_log_reset(&hl);
	check_files(&rep, config_path, cfg);
	if (drop_root(&rep, config_path, cfg, &hl) != 0)
		goto out;
	check_relay(&rep, cfg, &hl);
	check_idp(&rep, cfg, &hl);
out:
	config_free(cfg);
	if (rep.problems == 0)
		line("result", rep.no_relay ? "ok for the IdP; logins need relay_url" : "ok");
	if (fflush(stdout) != 0)
		return EXIT_REFUSED;
	return rep.problems ? EXIT_REFUSED : EXIT_ACCEPTED;
}
