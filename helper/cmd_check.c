/* cmd_check.c: `check`: what an administrator runs after editing the
 * config. Prints what it finds on stdout as "name: value" lines and one
 * "problem: ..." line per problem; the library's own log lines go to
 * stderr. */
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
#include "config.h"
#include "err.h"
#include "helper.h"
#include "jwks.h"
#include "jwt.h"
#include "oidc.h"

struct report {
	int problems;
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
static unsigned key_algs(const struct jwk *k)
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

static void check_files(struct report *rep, const char *config_path, const struct config *cfg,
			const struct helper_log *hl)
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
			OPENSSL_cleanse(secret, strlen(secret));
			free(secret);
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
	if (cache_dir_check(cfg->cache_dir, &hl->log) != 0)
		problem(rep, "cache_dir: %s", helper_log_detail(hl));
	else
		line("cache_dir", cfg->cache_dir);
}

int cmd_check(int argc, char **argv)
{
	const char *config_path = DEFAULT_CONFIG, *v;
	struct report rep = { 0 };
	struct helper_log hl;
	struct config *cfg = NULL;
	struct oidc o;
	char err[1024];
	int debug = 0, r, k;
	unsigned algs;

	for (int i = 1; i < argc; i++) {
		if ((k = helper_opt(argv, argc, &i, "--config", &v)) != 0) {
			if (k < 0) {
				fprintf(stderr, "%s: check: --config needs a value\n", HELPER_NAME);
				return EXIT_USAGE;
			}
			config_path = v;
		} else if (strcmp(argv[i], "--debug") == 0) {
			debug = 1;
		} else {
			fprintf(stderr, "%s: check: unknown option (try --help)\n", HELPER_NAME);
			return EXIT_USAGE;
		}
	}
	helper_log_init(&hl, debug, 1);

	line("config", config_path);
	if ((r = config_load(config_path, &cfg, err, sizeof(err))) != 0) {
		problem(&rep, "%s", err);
		goto out;
	}
	line("issuer", cfg->issuer);
	line("client_id", cfg->client_id);
	line("scopes", cfg->scopes);
	print_algs("allowed_algs", cfg->allowed_algs);
	if (cfg->allow_insecure_loopback)
		line("allow_insecure_loopback", "yes (plain http to loopback: for tests only)");
	helper_log_reset(&hl);
	check_files(&rep, config_path, cfg, &hl);

	oidc_init(&o, cfg, &hl.log, time(NULL));
	o.no_cache_read = 1; /* always ask the IdP */
	helper_log_reset(&hl);
	r = oidc_load(&o);
	if (!o.disc) {
		problem(&rep, "discovery: %s: %s", err_str(r), helper_log_detail(&hl));
		goto out_oidc;
	}
	line("authorization_endpoint", o.disc->authorization_endpoint);
	line("token_endpoint", o.disc->token_endpoint);
	line("jwks_uri", o.disc->jwks_uri);
	line("iss_parameter_supported", o.disc->iss_parameter_supported ? "yes" : "no");
	print_algs("idp_id_token_algs", o.disc->id_token_algs);
	algs = o.disc->id_token_algs & cfg->allowed_algs;
	print_algs("usable_algs", algs);
	if (!algs)
		problem(&rep, "allowed_algs and the IdP's id_token_signing_alg_values_supported "
			      "have nothing in common");
	if (!o.jwks) {
		problem(&rep, "jwks: %s: %s", err_str(r), helper_log_detail(&hl));
		goto out_oidc;
	}
	{
		size_t usable = 0;
		char buf[512];
		for (size_t i = 0; i < o.jwks->n; i++) {
			const struct jwk *key = &o.jwks->keys[i];
			unsigned m = key_algs(key) & algs;
			snprintf(buf, sizeof(buf), "kid=%.200s kty=%s bits=%d alg=%s%s",
				 key->kid ? key->kid : "(none)", kty_name(key->kty), key->bits,
				 key->alg ? key->alg : "(any)", m ? "" : " (not usable with usable_algs)");
			line("key", buf);
			usable += m != 0;
		}
		snprintf(buf, sizeof(buf), "%zu of %zu", usable, o.jwks->n);
		line("usable_keys", buf);
		if (!usable)
			problem(&rep, "no key in the JWK set can verify any of the usable algorithms");
	}
out_oidc:
	oidc_cleanup(&o);
out:
	config_free(cfg);
	if (rep.problems == 0)
		line("result", "ok");
	if (fflush(stdout) != 0)
		return EXIT_REFUSED;
	return rep.problems ? EXIT_REFUSED : EXIT_ACCEPTED;
}
