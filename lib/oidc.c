/* oidc.c: discovery + JWKS (cached), ID token verification with one
 * rate-limited JWKS refresh, code redemption. */
#include "oidc.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "err.h"
#include "secret.h"

#define WELL_KNOWN "/.well-known/openid-configuration"

void oidc_init(struct oidc *o, const struct config *cfg, const struct log *log, time_t now)
{
	long total;

	memset(o, 0, sizeof(*o));
	o->cfg = cfg;
	o->log = log;
	o->now = now;
	total = (cfg && cfg->http_timeout > 0 ? cfg->http_timeout : 10) * 1000L;
	o->http.total_timeout_ms = total;
	o->http.connect_timeout_ms =
		total < OIDC_CONNECT_TIMEOUT_MS ? total : OIDC_CONNECT_TIMEOUT_MS;
	o->http.max_bytes = DISCOVERY_MAX_BYTES;
	o->http.ca_file = cfg ? cfg->ca_file : NULL;
	o->http.proxy = NULL;
	o->http.allow_insecure_loopback = cfg ? cfg->allow_insecure_loopback : 0;
	o->http.log = log;
}

void oidc_cleanup(struct oidc *o)
{
	if (!o)
		return;
	discovery_free(o->disc);
	jwks_free(o->jwks);
	o->disc = NULL;
	o->jwks = NULL;
}

int oidc_content_type_is_json(const char *ct)
{
	size_t n;

	if (!ct)
		return 0;
	if (strcmp(ct, "application/json") == 0)
		return 1;
	n = strlen(ct);
	return strncmp(ct, "application/", 12) == 0 && n > 12 + 5 &&
	       strcmp(ct + n - 5, "+json") == 0;
}

/* GET url; 200 and a JSON media type, else an error (logged). */
static int fetch_json(struct oidc *o, const char *what, const char *url, size_t max,
		      struct http_response *res)
{
	struct http_opts opts = o->http;
	int r;

	opts.max_bytes = max;
	if ((r = http_get(&opts, url, NULL, res)) != 0) {
		log_msg(o->log, LOG_ERR, "%s: fetch failed: %s", what, err_str(r));
		return r;
	}
	if (res->status != 200) {
		log_msg(o->log, LOG_ERR, "%s: HTTP status %ld", what, res->status);
		http_response_cleanup(res);
		return ERR_HTTP_STATUS;
	}
	if (!oidc_content_type_is_json(res->content_type)) {
		log_msg(o->log, LOG_ERR, "%s: Content-Type \"%s\" is not JSON", what,
			res->content_type);
		http_response_cleanup(res);
		return ERR_HTTP_CTYPE;
	}
	return ERR_OK;
}

static void cache_store(struct oidc *o, const char *name, const char *data, size_t len)
{
	if (o->cache_ok && cache_write(o->cfg->cache_dir, name, data, len) != 0)
		log_msg(o->log, LOG_WARNING, "cache: could not write %s in %s", name,
			o->cfg->cache_dir);
}

/* issuer + well-known path, one terminating '/' removed first (OIDC
 * Discovery §4.1). */
static char *discovery_url(const char *issuer)
{
	size_t n = strlen(issuer);
	char *u;

	if (n && issuer[n - 1] == '/')
		n--;
	if (!(u = malloc(n + sizeof(WELL_KNOWN))))
		return NULL;
	memcpy(u, issuer, n);
	memcpy(u + n, WELL_KNOWN, sizeof(WELL_KNOWN));
	return u;
}

static int load_discovery(struct oidc *o)
{
	const struct config *c = o->cfg;
	struct http_response res = { 0 };
	char name[80], *data = NULL, *url = NULL;
	size_t len = 0;
	int r;

	if ((r = cache_name(c->issuer, "discovery", name, sizeof(name))) != 0)
		return r;
	if (o->cache_ok && !o->no_cache_read &&
	    cache_read(c->cache_dir, name, OIDC_CACHE_TTL, o->now, DISCOVERY_MAX_BYTES, &data,
		       &len) == 0) {
		r = discovery_parse(data, len, c->issuer, c->allow_insecure_loopback, o->log,
				    &o->disc);
		free(data);
		if (r == 0) {
			o->disc_from_cache = 1;
			log_msg(o->log, LOG_DEBUG, "discovery: from cache");
			return ERR_OK;
		}
		log_msg(o->log, LOG_WARNING, "discovery: cached copy refused, fetching again");
	}
	if (!(url = discovery_url(c->issuer)))
		return ERR_NOMEM;
	r = fetch_json(o, "discovery", url, DISCOVERY_MAX_BYTES, &res);
	free(url);
	if (r != 0)
		return r;
	r = discovery_parse(res.body, res.len, c->issuer, c->allow_insecure_loopback, o->log,
			    &o->disc);
	if (r == 0)
		cache_store(o, name, res.body, res.len);
	http_response_cleanup(&res);
	return r;
}

/* The JWKS cache entry is named after issuer and jwks_uri together, so a
 * changed jwks_uri never reuses keys from the old one. */
static int jwks_cache_name(const struct oidc *o, const char *kind, char *name, size_t namelen)
{
	size_t n = strlen(o->cfg->issuer) + 1 + strlen(o->disc->jwks_uri) + 1;
	char *key = malloc(n);
	int r;

	if (!key)
		return ERR_NOMEM;
	snprintf(key, n, "%s %s", o->cfg->issuer, o->disc->jwks_uri);
	r = cache_name(key, kind, name, namelen);
	free(key);
	return r;
}

static int fetch_jwks(struct oidc *o, const char *name)
{
	struct http_response res = { 0 };
	struct jwks *set = NULL;
	int r;

	if ((r = fetch_json(o, "jwks", o->disc->jwks_uri, JWKS_MAX_BYTES, &res)) != 0)
		return r;
	o->jwks_fetched = 1;
	r = jwks_parse(res.body, res.len, o->log, &set);
	if (r == 0) {
		cache_store(o, name, res.body, res.len);
		jwks_free(o->jwks);
		o->jwks = set;
	} else {
		log_msg(o->log, LOG_ERR, "jwks: refused: %s", err_str(r));
	}
	http_response_cleanup(&res);
	return r;
}

static int load_jwks(struct oidc *o)
{
	char name[80], *data = NULL;
	size_t len = 0;
	int r;

	if ((r = jwks_cache_name(o, "jwks", name, sizeof(name))) != 0)
		return r;
	if (o->cache_ok && !o->no_cache_read &&
	    cache_read(o->cfg->cache_dir, name, OIDC_CACHE_TTL, o->now, JWKS_MAX_BYTES, &data,
		       &len) == 0) {
		r = jwks_parse(data, len, o->log, &o->jwks);
		free(data);
		if (r == 0) {
			o->jwks_from_cache = 1;
			log_msg(o->log, LOG_DEBUG, "jwks: from cache");
			return ERR_OK;
		}
		log_msg(o->log, LOG_WARNING, "jwks: cached copy refused, fetching again");
	}
	return fetch_jwks(o, name);
}

int oidc_load(struct oidc *o)
{
	int r;

	if (!o || !o->cfg || !o->cfg->issuer || !o->cfg->cache_dir)
		return ERR_INVAL;
	discovery_free(o->disc);
	jwks_free(o->jwks);
	o->disc = NULL;
	o->jwks = NULL;
	o->cache_ok = cache_dir_check(o->cfg->cache_dir, o->log) == 0;
	if (!o->cache_ok)
		log_msg(o->log, LOG_WARNING, "cache: %s unusable, working without a cache",
			o->cfg->cache_dir);
	if ((r = load_discovery(o)) != 0 || (r = load_jwks(o)) != 0)
		return r; /* o->disc may be set (the JWKS failed): see oidc.h */
	return ERR_OK;
}

int oidc_probe(struct oidc *o)
{
	struct http_response res = { 0 };
	char *url;
	int r;

	if (!o || !o->cfg || !o->cfg->issuer)
		return ERR_INVAL;
	if (!(url = discovery_url(o->cfg->issuer)))
		return ERR_NOMEM;
	r = http_get(&o->http, url, NULL, &res);
	free(url);
	if (r != 0) {
		log_msg(o->log, LOG_ERR, "identity provider: no answer: %s", err_str(r));
		return r;
	}
	if (res.status != 200) {
		log_msg(o->log, LOG_ERR, "identity provider: discovery answers HTTP %ld",
			res.status);
		r = ERR_HTTP_STATUS;
	}
	http_response_cleanup(&res);
	return r;
}

int oidc_refresh_due(time_t last, time_t now)
{
	if (last == 0)
		return 1; /* no kid-driven refresh on record */
	/* a stamp from the future (a clock that went back) counts as recent,
	 * unless it is more than one interval ahead */
	return now - last >= OIDC_REFRESH_INTERVAL || last - now >= OIDC_REFRESH_INTERVAL;
}

/* IDT-12: one network refresh per login, and at most one kid-driven refresh
 * per OIDC_REFRESH_INTERVAL per issuer across processes. Only this function
 * writes the stamp: a normal fetch (login start, stale cache) never blocks
 * the first refresh after it, because the IdP may rotate between the
 * helper's fetch and the token (rp-key-rotation-op-sign-key). */
static int refresh_jwks(struct oidc *o)
{
	char name[80], stamp[80];
	time_t last;
	int r;

	if (o->jwks_refreshed) {
		log_msg(o->log, LOG_WARNING,
			"jwks: unknown kid, and the key set was already refreshed for this login");
		return ERR_JWT_KID_UNKNOWN;
	}
	if ((r = jwks_cache_name(o, "jwks", name, sizeof(name))) != 0 ||
	    (r = cache_name(o->cfg->issuer, "jwks-refresh", stamp, sizeof(stamp))) != 0)
		return r;
	if (o->cache_ok) {
		last = cache_mtime(o->cfg->cache_dir, stamp);
		if (!oidc_refresh_due(last, o->now)) {
			log_msg(o->log, LOG_WARNING,
				"jwks: unknown kid; refresh rate-limited (last %lds ago)",
				(long)(o->now - last));
			return ERR_JWT_KID_UNKNOWN;
		}
		/* the stamp goes first: a crash or a slow IdP must not let the
		 * next login fetch again */
		if (cache_write(o->cfg->cache_dir, stamp, "", 0) != 0) {
			log_msg(o->log, LOG_WARNING,
				"jwks: unknown kid; cannot write the refresh stamp, no refresh");
			return ERR_JWT_KID_UNKNOWN;
		}
	}
	o->jwks_refreshed = 1;
	log_msg(o->log, LOG_INFO, "jwks: unknown kid, refreshing the key set (once)");
	return fetch_jwks(o, name);
}

int oidc_verify_id_token(struct oidc *o, const char *token, size_t len, const char *nonce,
			 const char *access_token, struct jwt **out)
{
	struct jwt_policy pol = { 0 };
	int r;

	if (!o || !o->cfg || !token || !nonce || !out || !o->jwks)
		return ERR_INVAL;
	pol.issuer = o->cfg->issuer;
	pol.client_id = o->cfg->client_id;
	pol.nonce = nonce;
	pol.allowed_algs = o->cfg->allowed_algs & (o->disc ? o->disc->id_token_algs : JWT_ALG_ALL);
	pol.clock_skew = o->cfg->clock_skew;
	pol.max_token_age = o->cfg->max_token_age;
	pol.now = o->now;
	pol.access_token = access_token;
	if (!pol.allowed_algs) {
		log_msg(o->log, LOG_ERR,
			"id token: allowed_algs and the IdP's "
			"id_token_signing_alg_values_supported have nothing in common");
		return ERR_JWT_ALG_NOT_ALLOWED;
	}
	r = jwt_verify(token, len, o->jwks, &pol, o->log, out);
	if (r != ERR_JWT_KID_UNKNOWN || !o->disc)
		return r;
	if (refresh_jwks(o) != 0)
		return ERR_JWT_KID_UNKNOWN;
	return jwt_verify(token, len, o->jwks, &pol, o->log, out);
}

/* "&name=value" with value form-encoded, appended to *buf. */
static int append_param(char **buf, size_t *len, const char *name, const char *value)
{
	char *enc = http_form_encode(value), *nb;
	size_t need;

	if (!enc)
		return ERR_NOMEM;
	need = *len + (*len ? 1 : 0) + strlen(name) + 1 + strlen(enc) + 1;
	if (!(nb = malloc(need))) {
		secret_str_free(enc);
		return ERR_NOMEM;
	}
	snprintf(nb, need, "%s%s%s=%s", *buf ? *buf : "", *len ? "&" : "", name, enc);
	secret_free(*buf, *len);
	secret_str_free(enc);
	*buf = nb;
	*len = need - 1;
	return ERR_OK;
}

static void log_token_error(struct oidc *o, long status, const struct token_response *t)
{
	log_msg(o->log, LOG_ERR, "token endpoint: HTTP %ld, error %s%s%s%s", status, t->error,
		t->error_description[0] ? " (" : "", t->error_description,
		t->error_description[0] ? ")" : "");
}

int oidc_redeem_code(struct oidc *o, const char *code, const char *verifier,
		     const char *redirect_uri, struct token_response **out)
{
	struct http_opts opts;
	struct http_response res = { 0 };
	struct token_response *t = NULL;
	char *body = NULL, *secret = NULL, err[512];
	size_t blen = 0;
	int r;

	if (!o || !o->cfg || !o->disc || !code || !*code || !verifier || !*verifier ||
	    !redirect_uri || !*redirect_uri || !out)
		return ERR_INVAL;
	*out = NULL;
	if (o->client_secret && !(secret = strdup(o->client_secret)))
		return ERR_NOMEM;
	if (!secret && o->cfg->client_secret_file &&
	    (r = config_read_secret(o->cfg->client_secret_file, &secret, err, sizeof(err))) != 0) {
		log_msg(o->log, LOG_ERR, "token endpoint: client secret: %s", err);
		return r;
	}
	if ((r = append_param(&body, &blen, "grant_type", "authorization_code")) != 0 ||
	    (r = append_param(&body, &blen, "code", code)) != 0 ||
	    (r = append_param(&body, &blen, "redirect_uri", redirect_uri)) != 0 ||
	    (r = append_param(&body, &blen, "code_verifier", verifier)) != 0)
		goto out;
	/* a confidential client authenticates with Basic only (one method) */
	if (!secret && (r = append_param(&body, &blen, "client_id", o->cfg->client_id)) != 0)
		goto out;

	opts = o->http;
	opts.max_bytes = TOKEN_MAX_BYTES;
	r = http_post_form(&opts, o->disc->token_endpoint, body, secret ? o->cfg->client_id : NULL,
			   secret, &res);
	if (r != 0) {
		log_msg(o->log, LOG_ERR, "token endpoint: request failed: %s", err_str(r));
		goto out;
	}
	if (res.status != 200) {
		/* TOK-02: an error ends the login; nothing is retried */
		if (res.body && token_parse_response(res.body, res.len, &t) == ERR_TOKEN_ERROR) {
			log_token_error(o, res.status, t);
			r = ERR_TOKEN_ERROR;
			*out = t; /* holds only the sanitized error, for the caller's message */
			t = NULL;
		} else {
			log_msg(o->log, LOG_ERR, "token endpoint: HTTP status %ld", res.status);
			r = ERR_HTTP_STATUS;
		}
		goto out;
	}
	if (!oidc_content_type_is_json(res.content_type)) {
		log_msg(o->log, LOG_ERR, "token endpoint: Content-Type \"%s\" is not JSON",
			res.content_type);
		r = ERR_HTTP_CTYPE;
		goto out;
	}
	r = token_parse_response(res.body, res.len, &t);
	if (r == ERR_TOKEN_ERROR) {
		log_token_error(o, res.status, t);
		*out = t;
		t = NULL;
		goto out;
	}
	if (r != 0) {
		log_msg(o->log, LOG_ERR, "token endpoint: response refused: %s", err_str(r));
		goto out;
	}
	*out = t;
	t = NULL;
	r = ERR_OK;
out:
	token_response_free(t);
	http_response_cleanup(&res);
	secret_free(body, blen);
	secret_str_free(secret);
	return r;
}
