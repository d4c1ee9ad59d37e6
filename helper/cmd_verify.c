/* cmd_verify.c: `verify-id-token`: verify one ID token read on stdin with
 * the same code a login uses, apply the assurance rules (required_acr,
 * max_age, required_amr) of the global policy or of `--service NAME`'s
 * [service] section, and print the claims it relied on. */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "assurance.h"
#include "config.h"
#include "err.h"
#include "file.h"
#include "helper.h"
#include "json.h"
#include "jwks.h"
#include "jwt.h"
#include "oidc.h"
#include "secret.h"

#define ACCESS_TOKEN_MAX (16 * 1024)

static int usage_error(const char *msg)
{
	fprintf(stderr, "%s: verify-id-token: %s (try --help)\n", HELPER_NAME, msg);
	return EXIT_USAGE;
}

static int refused(struct helper_log *hl, int r)
{
	const char *detail = helper_log_detail(hl);

	fprintf(stderr, "refused: %s%s%s\n", err_str(r), detail[0] ? ": " : "", detail);
	return EXIT_REFUSED;
}

/* One token from stdin: at most JWT_MAX_BYTES after trailing whitespace
 * (a newline, "\r\n") is stripped. */
static int read_token(char **out, size_t *outlen)
{
	size_t cap = JWT_MAX_BYTES + 3, got = 0;
	char *buf = malloc(cap + 1);

	if (!buf)
		return ERR_NOMEM;
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf + got, cap + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return ERR_IO;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > cap) {
			secret_free(buf, got);
			return ERR_JWT_TOO_LARGE;
		}
	}
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r' || buf[got - 1] == ' ' ||
			   buf[got - 1] == '\t'))
		got--;
	buf[got] = '\0';
	if (got > JWT_MAX_BYTES) {
		secret_free(buf, got);
		return ERR_JWT_TOO_LARGE;
	}
	*out = buf;
	*outlen = got;
	return ERR_OK;
}

static void print_kv(const char *key, const char *value)
{
	char *v = strdup(value ? value : "");

	if (!v)
		return;
	helper_sanitize(v);
	printf("%s=%s\n", key, v);
	free(v);
}

static void print_string_claim(const cJSON *pl, const char *name)
{
	const cJSON *v = json_get(pl, name);

	if (cJSON_IsString(v))
		print_kv(name, v->valuestring);
}

/* A string, or an array whose string members are joined with ','. */
static void print_list_claim(const cJSON *pl, const char *name)
{
	const cJSON *v = json_get(pl, name), *e;
	size_t len = 1;
	char *s;

	if (cJSON_IsString(v)) {
		print_kv(name, v->valuestring);
		return;
	}
	if (!cJSON_IsArray(v))
		return;
	cJSON_ArrayForEach(e, v)
	{
		if (cJSON_IsString(e))
			len += strlen(e->valuestring) + 1;
	}
	if (!(s = calloc(1, len)))
		return;
	cJSON_ArrayForEach(e, v)
	{
		if (!cJSON_IsString(e))
			continue;
		if (s[0])
			strcat(s, ",");
		strcat(s, e->valuestring);
	}
	print_kv(name, s);
	free(s);
}

static void print_date_claim(const cJSON *pl, const char *name)
{
	long long d = 0;
	int present = 0;
	char buf[32];

	if (json_get_date(pl, name, &d, &present) == 0 && present) {
		snprintf(buf, sizeof(buf), "%lld", d);
		print_kv(name, buf);
	}
}

static void print_claims(const struct jwt *t)
{
	const cJSON *pl = t->payload;
	int b = 0, present = 0;

	print_string_claim(pl, "iss");
	print_string_claim(pl, "sub");
	print_list_claim(pl, "aud");
	print_string_claim(pl, "azp");
	print_date_claim(pl, "exp");
	print_date_claim(pl, "iat");
	print_date_claim(pl, "nbf");
	print_kv("alg", jwt_alg_name(t->alg));
	if (t->kid)
		print_kv("kid", t->kid);
	print_string_claim(pl, "preferred_username");
	print_string_claim(pl, "email");
	if (json_get_bool(pl, "email_verified", &b, &present) == 0 && present)
		print_kv("email_verified", b ? "true" : "false");
	print_list_claim(pl, "groups");
	print_string_claim(pl, "acr");
	print_list_claim(pl, "amr");
	print_date_claim(pl, "auth_time");
}

struct verify_args {
	const char *config_path, *nonce, *jwks_file, *at_file, *service;
	int debug;
};

/* The command line; EXIT_USAGE (after the message) when it is wrong. */
static int parse_args(int argc, char **argv, struct verify_args *a)
{
	const char *v;
	int k;

	a->config_path = DEFAULT_CONFIG;
	for (int i = 1; i < argc; i++) {
		if ((k = helper_opt(argv, argc, &i, "--config", &v)) != 0) {
			if (k < 0)
				return usage_error("--config needs a value");
			a->config_path = v;
		} else if ((k = helper_opt(argv, argc, &i, "--nonce", &v)) != 0) {
			if (k < 0)
				return usage_error("--nonce needs a value");
			a->nonce = v;
		} else if ((k = helper_opt(argv, argc, &i, "--jwks-file", &v)) != 0) {
			if (k < 0)
				return usage_error("--jwks-file needs a value");
			a->jwks_file = v;
		} else if ((k = helper_opt(argv, argc, &i, "--access-token-file", &v)) != 0) {
			if (k < 0)
				return usage_error("--access-token-file needs a value");
			a->at_file = v;
		} else if ((k = helper_opt(argv, argc, &i, "--service", &v)) != 0) {
			if (k < 0 || !*v)
				return usage_error("--service needs a value");
			a->service = v;
		} else if (strcmp(argv[i], "--debug") == 0) {
			a->debug = 1;
		} else {
			return usage_error("unknown option");
		}
	}
	if (!a->nonce || !*a->nonce)
		return usage_error("--nonce is required");
	return 0;
}

/* --jwks-file and --access-token-file (trailing CR/LF stripped), read like
 * the configuration; the error is printed. */
static int read_input_files(const struct verify_args *a, char **jwks_text, size_t *jwks_len,
			    char **at, size_t *at_len)
{
	char err[1024];
	int r;

	if (a->jwks_file) {
		r = file_read(a->jwks_file, 0, JWKS_MAX_BYTES, jwks_text, jwks_len, err,
			      sizeof(err));
		if (r != 0) {
			fprintf(stderr, "%s: %s\n", HELPER_NAME, err);
			return r;
		}
	}
	if (a->at_file) {
		r = file_read(a->at_file, 0, ACCESS_TOKEN_MAX, at, at_len, err, sizeof(err));
		if (r != 0) {
			fprintf(stderr, "%s: %s\n", HELPER_NAME, err);
			return r;
		}
		while (*at_len > 0 && ((*at)[*at_len - 1] == '\n' || (*at)[*at_len - 1] == '\r'))
			(*at)[--*at_len] = '\0';
	}
	return 0;
}

/* The assurance rules of a login of this service (IDT-25, IDT-26). */
static int check_assurance(const struct config *cfg, const char *service, const struct oidc *o,
			   const struct jwt *t, struct helper_log *hl)
{
	struct config_login pol;
	struct assurance_policy ap = { 0 };

	config_login_for(cfg, service, &pol);
	if (service) {
		int found = 0;
		for (size_t i = 0; i < cfg->nsections; i++)
			found |= !strcmp(cfg->sections[i].name, service);
		if (!found)
			fprintf(stderr, "%s: no [service %s] section: the global policy applies\n",
				HELPER_NAME, service);
	}
	assurance_policy_for(cfg, &pol, o->now, &ap);
	helper_log_reset(hl);
	return assurance_check(t->payload, &ap, &hl->log);
}

int cmd_verify_id_token(int argc, char **argv)
{
	struct verify_args a = { 0 };
	struct helper_log hl;
	struct config *cfg = NULL;
	struct oidc o;
	struct jwt *t = NULL;
	char err[1024], *token = NULL, *jwks_text = NULL, *at = NULL;
	size_t token_len = 0, jwks_len = 0, at_len = 0;
	int rc, r;

	if ((rc = parse_args(argc, argv, &a)) != 0)
		return rc;
	rc = EXIT_USAGE;
	helper_log_init(&hl, a.debug, 0);
	oidc_init(&o, NULL, &hl.log, time(NULL));
	if ((r = config_load(a.config_path, &cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "%s: %s\n", HELPER_NAME, err);
		goto out;
	}
	if (read_input_files(&a, &jwks_text, &jwks_len, &at, &at_len) != 0)
		goto out;
	/* PAM-23: the token, the keys and the IdP's answers handled as helper_user */
	if (helper_drop_root(cfg, a.config_path, 1, &hl.log, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", HELPER_NAME, err);
		goto out;
	}

	oidc_init(&o, cfg, &hl.log, time(NULL));
	rc = EXIT_REFUSED;
	if ((r = read_token(&token, &token_len)) != 0) {
		rc = refused(&hl, r);
		goto out;
	}
	helper_log_reset(&hl);
	if (a.jwks_file) {
		/* offline: the operator's key set, allow-list from the config */
		if ((r = jwks_parse(jwks_text, jwks_len, &hl.log, &o.jwks)) != 0) {
			fprintf(stderr, "%s: %s: %s\n", HELPER_NAME, a.jwks_file, err_str(r));
			rc = EXIT_USAGE;
			goto out;
		}
	} else if ((r = oidc_load(&o)) != 0) {
		rc = refused(&hl, r);
		goto out;
	}
	helper_log_reset(&hl);
	if ((r = oidc_verify_id_token(&o, token, token_len, a.nonce, at, &t)) != 0 ||
	    (r = check_assurance(cfg, a.service, &o, t, &hl)) != 0) {
		rc = refused(&hl, r);
		goto out;
	}
	print_claims(t);
	rc = fflush(stdout) == 0 ? EXIT_ACCEPTED : EXIT_REFUSED;
out:
	jwt_free(t);
	oidc_cleanup(&o);
	config_free(cfg);
	free(jwks_text);
	secret_free(token, token_len);
	secret_free(at, at_len);
	return rc;
}
