/* test_oidc.c: discovery + JWKS loading with the cache, ID token
 * verification with the rate-limited kid refresh, and code redemption,
 * against a small fake IdP this test forks on 127.0.0.1 (AZ-01, AZ-02,
 * IDT-03, IDT-12, IDT-14, TOK-01, TOK-02, TOK-04, TOK-06, TOK-08). */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "config.h"
#include "err.h"
#include "fake_idp.h"
#include "jwt_mint.h"
#include "log_capture.h"
#include "oidc.h"
#include "tap.h"

/* the fake IdP (fake_idp.h) serves files under routes/ */
static char base[] = "/tmp/test_oidc_XXXXXX";
static char cachedir[600];

/* ---- log capture ---------------------------------------------------------- */

static const struct log tlog = { logcap_sink, NULL, 1 };

/* ---- fixtures ------------------------------------------------------------- */

static char iss[128];
static EVP_PKEY *key_a, *key_b, *key_c;
static char *jwk_a, *jwk_b, *jwk_c;

static struct config *make_config(const char *issuer, const char *extra)
{
	struct config *c = NULL;
	char err[512];
	char *text = mint_printf("issuer = %s\nclient_id = host-a\nallow_insecure_loopback = yes\n"
				 "cache_dir = %s\n%s",
				 issuer, cachedir, extra ? extra : "");
	if (config_parse(text, strlen(text), "test", &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "config: %s\n", err);
		abort();
	}
	free(text);
	return c;
}

static char *discovery_doc(const char *issuer, const char *algs)
{
	return mint_printf("{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/auth\","
			   "\"token_endpoint\":\"http://127.0.0.1:%d/token\","
			   "\"jwks_uri\":\"http://127.0.0.1:%d/keys/v1\","
			   "\"code_challenge_methods_supported\":[\"S256\"],"
			   "\"id_token_signing_alg_values_supported\":%s}",
			   issuer, issuer, srv_port, srv_port, algs);
}

static void serve_keys(const char *const *jwks, size_t n)
{
	char *set = mint_jwks(jwks, n);

	route("/keys/v1", 200, "application/jwk-set+json", set);
	free(set);
}

static char *id_token(EVP_PKEY *k, const char *alg, const char *kid, time_t now)
{
	char *h = mint_printf("{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", alg, kid);
	char *p = mint_printf("{\"iss\":\"%s\",\"sub\":\"alice\",\"aud\":\"host-a\",\"exp\":%lld,"
			      "\"iat\":%lld,\"nonce\":\"n-123\"}",
			      iss, (long long)now + 300, (long long)now);
	char *t = mint_token(k, alg, h, p, NULL);

	free(h);
	free(p);
	return t;
}

static void wipe_cache(void)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", cachedir);
	if (system(cmd) != 0)
		abort();
}

static void age_stamp(const struct config *c, time_t when)
{
	char name[80], path[800];
	struct timespec ts[2] = { { when, 0 }, { when, 0 } };

	cache_name(c->issuer, "jwks-refresh", name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", cachedir, name);
	utimensat(AT_FDCWD, path, ts, 0);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_init(void)
{
	struct config *c =
		make_config("https://idp.example.com", "http_timeout = 3\nca_file = /x\n");
	struct oidc o;

	T_CASE("TOK-09 http options from the config");
	oidc_init(&o, c, NULL, 1000);
	T_EQ(o.http.total_timeout_ms, 3000);
	T_EQ(o.http.connect_timeout_ms, 3000);
	T_STREQ(o.http.ca_file, "/x");
	T_OK(o.http.proxy == NULL);
	T_EQ(o.http.max_bytes, 64 * 1024);
	T_EQ(o.http.allow_insecure_loopback, 1);
	config_free(c);
	c = make_config("https://idp.example.com", "http_timeout = 30\n");
	oidc_init(&o, c, NULL, 1000);
	T_EQ(o.http.total_timeout_ms, 30000);
	T_EQ(o.http.connect_timeout_ms, 5000);
	config_free(c);

	T_CASE("JSON media types");
	T_OK(oidc_content_type_is_json("application/json"));
	T_OK(oidc_content_type_is_json("application/jwk-set+json"));
	T_OK(!oidc_content_type_is_json("application/+json"));
	T_OK(!oidc_content_type_is_json("text/json"));
	T_OK(!oidc_content_type_is_json("text/html"));
	T_OK(!oidc_content_type_is_json(""));
	T_OK(!oidc_content_type_is_json("application/jsonp"));
}

static void test_load(void)
{
	struct config *c = make_config(iss, NULL);
	struct oidc o;
	char reqs[65536], *doc;
	const char *ks[] = { jwk_a };
	time_t now = time(NULL);

	doc = discovery_doc(iss, "[\"RS256\",\"ES256\"]");
	route("/.well-known/openid-configuration", 200, "application/json; charset=utf-8", doc);
	serve_keys(ks, 1);
	drain(reqs, sizeof(reqs));

	T_CASE("AZ-02 load: discovery, then keys from the discovered jwks_uri only");
	oidc_init(&o, c, &tlog, now);
	T_EQ(oidc_load(&o), 0);
	T_OK(o.disc && o.jwks && o.jwks->n == 1);
	T_EQ(o.cache_ok, 1);
	T_EQ(o.disc_from_cache, 0);
	T_EQ(drain(reqs, sizeof(reqs)), 2);
	T_OK(strstr(reqs, "GET /.well-known/openid-configuration HTTP/1.1\r\n") == reqs);
	T_OK(strstr(reqs, "GET /keys/v1 HTTP/1.1\r\n") != NULL);
	oidc_cleanup(&o);

	T_CASE("second load comes from the cache: no request");
	unroute("/.well-known/openid-configuration");
	unroute("/keys/v1");
	oidc_init(&o, c, &tlog, now + 10);
	T_EQ(oidc_load(&o), 0);
	T_EQ(o.disc_from_cache, 1);
	T_EQ(o.jwks_from_cache, 1);
	T_EQ(drain(reqs, sizeof(reqs)), 0);
	oidc_cleanup(&o);

	T_CASE("issue 8 probe (warm cache): one GET of the discovery document, 200 required");
	oidc_init(&o, c, &tlog, now + 10);
	T_EQ(oidc_probe(&o), ERR_HTTP_STATUS); /* not routed: 404 */
	route("/.well-known/openid-configuration", 500, "application/json", "{}");
	T_EQ(oidc_probe(&o), ERR_HTTP_STATUS);
	route("/.well-known/openid-configuration", 200, "application/json", doc);
	T_EQ(oidc_probe(&o), 0);
	T_EQ(drain(reqs, sizeof(reqs)), 3);
	T_OK(strstr(reqs, "GET /.well-known/openid-configuration HTTP/1.1\r\n") == reqs);
	T_OK(strstr(reqs, "/keys/v1") == NULL);
	T_OK(o.disc == NULL && o.jwks == NULL); /* nothing loaded or cached by a probe */
	unroute("/.well-known/openid-configuration");

	T_CASE("a stale cache is not used");
	oidc_init(&o, c, &tlog, now + OIDC_CACHE_TTL + 5);
	T_EQ(oidc_load(&o), ERR_HTTP_STATUS);
	T_EQ(drain(reqs, sizeof(reqs)), 1);
	oidc_cleanup(&o);

	T_CASE("no_cache_read fetches fresh even with a cache");
	route("/.well-known/openid-configuration", 200, "application/json", doc);
	serve_keys(ks, 1);
	oidc_init(&o, c, &tlog, now);
	o.no_cache_read = 1;
	T_EQ(oidc_load(&o), 0);
	T_EQ(o.disc_from_cache, 0);
	T_EQ(drain(reqs, sizeof(reqs)), 2);
	oidc_cleanup(&o);
	free(doc);

	T_CASE("AZ-01 discovery issuer mismatch (trailing slash) refused, not cached");
	wipe_cache();
	{
		char *slash = mint_printf("%s/", iss);
		doc = discovery_doc(slash, "[\"RS256\"]");
		free(slash);
	}
	route("/.well-known/openid-configuration", 200, "application/json", doc);
	free(doc);
	oidc_init(&o, c, &tlog, now);
	T_EQ(oidc_load(&o), ERR_DISCOVERY_ISSUER);
	T_OK(o.disc == NULL && o.jwks == NULL);
	T_EQ(drain(reqs, sizeof(reqs)), 1);
	{
		char name[80];
		cache_name(iss, "discovery", name, sizeof(name));
		T_EQ(cache_mtime(cachedir, name), 0);
	}

	T_CASE("discovery: non-200, not JSON, redirect (TOK-04) refused");
	route("/.well-known/openid-configuration", 500, "application/json", "{}");
	T_EQ(oidc_load(&o), ERR_HTTP_STATUS);
	doc = discovery_doc(iss, "[\"RS256\"]");
	route("/.well-known/openid-configuration", 200, "text/html", doc);
	T_EQ(oidc_load(&o), ERR_HTTP_CTYPE);
	route("/.well-known/openid-configuration", 200, NULL, doc);
	T_EQ(oidc_load(&o), ERR_HTTP_CTYPE);
	route_raw("/.well-known/openid-configuration",
		  "HTTP/1.1 302 Found\r\nLocation: /evil\r\nContent-Length: 0\r\n"
		  "Connection: close\r\n\r\n");
	drain(reqs, sizeof(reqs));
	T_EQ(oidc_load(&o), ERR_HTTP_REDIRECT);
	T_EQ(drain(reqs, sizeof(reqs)), 1);
	T_OK(strstr(reqs, "/evil") == NULL);

	T_CASE("TOK-04 JWKS redirect refused");
	route("/.well-known/openid-configuration", 200, "application/json", doc);
	route_raw("/keys/v1", "HTTP/1.1 301 Moved\r\nLocation: /evil\r\nContent-Length: 0\r\n"
			      "Connection: close\r\n\r\n");
	T_EQ(oidc_load(&o), ERR_HTTP_REDIRECT);
	T_EQ(drain(reqs, sizeof(reqs)), 2);
	T_OK(strstr(reqs, "/evil") == NULL);
	T_OK(o.disc != NULL && o.jwks == NULL); /* kept for diagnostics */
	oidc_cleanup(&o);
	free(doc);
	wipe_cache();
	config_free(c);

	T_CASE("AZ-01 issuer with a trailing slash: one slash before .well-known");
	{
		char *iss2 = mint_printf("%s/", iss);
		c = make_config(iss2, NULL);
		doc = discovery_doc(iss2, "[\"RS256\"]");
		route("/.well-known/openid-configuration", 200, "application/json", doc);
		serve_keys(ks, 1);
		oidc_init(&o, c, &tlog, now);
		T_EQ(oidc_load(&o), 0);
		T_EQ(drain(reqs, sizeof(reqs)), 2);
		T_OK(strstr(reqs, "GET /.well-known/openid-configuration ") == reqs);
		oidc_cleanup(&o);
		free(doc);
		free(iss2);
		config_free(c);
		wipe_cache();
	}

	T_CASE("an unusable cache dir is skipped, never trusted");
	{
		char *extra = mint_printf("cache_dir = %s/not/there\n", base);
		struct config *c2 = NULL;
		char err[256], *text = mint_printf("issuer = %s\nclient_id = host-a\n"
						   "allow_insecure_loopback = yes\n%s",
						   iss, extra);
		T_EQ(config_parse(text, strlen(text), "t", &c2, err, sizeof(err)), 0);
		doc = discovery_doc(iss, "[\"RS256\"]");
		route("/.well-known/openid-configuration", 200, "application/json", doc);
		serve_keys(ks, 1);
		logcap_reset();
		oidc_init(&o, c2, &tlog, now);
		T_EQ(oidc_load(&o), 0);
		T_EQ(o.cache_ok, 0);
		T_OK(strstr(logcap.all, "working without a cache") != NULL);
		oidc_cleanup(&o);
		drain(reqs, sizeof(reqs));
		free(doc);
		free(text);
		free(extra);
		config_free(c2);
	}
}

static void test_refresh_rule(void)
{
	const time_t t0 = 1700000000;

	T_CASE("IDT-12 refresh rule: none on record -> due");
	T_EQ(oidc_refresh_due(0, t0), 1);
	T_CASE("IDT-12 refresh rule: the last kid-driven refresh 0 s / 59 s ago -> not due");
	T_EQ(oidc_refresh_due(t0, t0), 0);
	T_EQ(oidc_refresh_due(t0 - (OIDC_REFRESH_INTERVAL - 1), t0), 0);
	T_CASE("IDT-12 refresh rule: 60 s ago or older -> due");
	T_EQ(oidc_refresh_due(t0 - OIDC_REFRESH_INTERVAL, t0), 1);
	T_EQ(oidc_refresh_due(t0 - 3600, t0), 1);
	T_CASE("IDT-12 refresh rule: a stamp slightly in the future (clock went back) -> not due");
	T_EQ(oidc_refresh_due(t0 + 5, t0), 0);
	T_CASE("IDT-12 refresh rule: a stamp an interval or more in the future -> due");
	T_EQ(oidc_refresh_due(t0 + OIDC_REFRESH_INTERVAL, t0), 1);
}

static void test_verify(void)
{
	struct config *c = make_config(iss, NULL);
	struct oidc o;
	struct jwt *t = NULL;
	char reqs[65536], *doc, *tok;
	const char *ks_a[] = { jwk_a, jwk_c }, *ks_ab[] = { jwk_a, jwk_b, jwk_c },
		   *ks_b[] = { jwk_b };
	time_t now = time(NULL);

	wipe_cache();
	doc = discovery_doc(iss, "[\"RS256\"]");
	route("/.well-known/openid-configuration", 200, "application/json", doc);
	free(doc);
	serve_keys(ks_a, 2);
	drain(reqs, sizeof(reqs));

	T_CASE("valid token verifies");
	oidc_init(&o, c, &tlog, now);
	T_EQ(oidc_load(&o), 0);
	tok = id_token(key_a, "RS256", "A", now);
	T_EQ(oidc_verify_id_token(&o, tok, strlen(tok), "n-123", NULL, &t), 0);
	jwt_free(t);
	t = NULL;
	T_EQ(oidc_verify_id_token(&o, tok, strlen(tok), "n-999", NULL, &t), ERR_CLAIM_NONCE);
	free(tok);

	T_CASE("IDT-03 allow-list is config & discovery: ES256 key present, not advertised");
	tok = id_token(key_c, "ES256", "C", now);
	T_EQ(oidc_verify_id_token(&o, tok, strlen(tok), "n-123", NULL, &t),
	     ERR_JWT_ALG_NOT_ALLOWED);
	oidc_cleanup(&o);
	drain(reqs, sizeof(reqs));

	T_CASE("IDT-12 rotation mid-login: unknown kid right after a network fetch -> one refresh, accepted");
	free(tok);
	tok = id_token(key_b, "ES256", "B", now);
	wipe_cache();
	doc = discovery_doc(iss, "[\"RS256\",\"ES256\"]");
	route("/.well-known/openid-configuration", 200, "application/json", doc);
	free(doc);
	oidc_init(&o, c, &tlog, now);
	T_EQ(oidc_load(&o), 0);
	T_EQ(o.jwks_fetched, 1);
	drain(reqs, sizeof(reqs));
	serve_keys(ks_ab, 3); /* the IdP rotates after the helper fetched its keys */
	T_EQ(oidc_verify_id_token(&o, tok, strlen(tok), "n-123", NULL, &t), 0);
	jwt_free(t);
	t = NULL;
	T_EQ(drain(reqs, sizeof(reqs)), 1);
	T_OK(strstr(reqs, "GET /keys/v1 ") == reqs);
	oidc_cleanup(&o);

	T_CASE("IDT-12 a second unknown kid within the minute (next login): no fetch");
	{
		char *tok2 = id_token(key_b, "ES256", "never-published", now);
		logcap_reset();
		oidc_init(&o, c, &tlog, now + 1);
		T_EQ(oidc_load(&o), 0);
		T_EQ(o.jwks_from_cache, 1);
		T_EQ(oidc_verify_id_token(&o, tok2, strlen(tok2), "n-123", NULL, &t),
		     ERR_JWT_KID_UNKNOWN);
		T_EQ(drain(reqs, sizeof(reqs)), 0);
		T_OK(strstr(logcap.all, "rate-limited") != NULL);
		oidc_cleanup(&o);
		free(tok2);
	}

	T_CASE("IDT-12 IDT-14 unknown kid with cached keys: one refresh, then accepted");
	wipe_cache();
	serve_keys(ks_a, 2);
	oidc_init(&o, c, &tlog, now);
	T_EQ(oidc_load(&o), 0); /* caches A, C */
	oidc_cleanup(&o);
	serve_keys(ks_ab, 3);
	drain(reqs, sizeof(reqs));
	oidc_init(&o, c, &tlog, now + 1);
	T_EQ(oidc_load(&o), 0);
	T_EQ(o.jwks_from_cache, 1);
	T_EQ(drain(reqs, sizeof(reqs)), 0);
	T_EQ(oidc_verify_id_token(&o, tok, strlen(tok), "n-123", NULL, &t), 0);
	jwt_free(t);
	t = NULL;
	T_EQ(drain(reqs, sizeof(reqs)), 1);
	T_OK(strstr(reqs, "GET /keys/v1 ") == reqs);
	oidc_cleanup(&o);

	T_CASE("IDT-12 the refreshed set was cached");
	oidc_init(&o, c, &tlog, now + 2);
	T_EQ(oidc_load(&o), 0);
	T_EQ(o.jwks ? o.jwks->n : 0, 3);
	T_EQ(oidc_verify_id_token(&o, tok, strlen(tok), "n-123", NULL, &t), 0);
	jwt_free(t);
	t = NULL;
	T_EQ(drain(reqs, sizeof(reqs)), 0);
	oidc_cleanup(&o);

	T_CASE("IDT-12 100 random kids within the cool-down: no fetch at all");
	{
		int refused = 0;
		for (int i = 0; i < 100; i++) {
			char kid[32];
			snprintf(kid, sizeof(kid), "random-%d", i);
			free(tok);
			tok = id_token(key_b, "ES256", kid, now);
			oidc_init(&o, c, &tlog, now + 3);
			if (oidc_load(&o) == 0 &&
			    oidc_verify_id_token(&o, tok, strlen(tok), "n-123", NULL, &t) ==
				    ERR_JWT_KID_UNKNOWN)
				refused++;
			oidc_cleanup(&o);
		}
		T_EQ(refused, 100);
		T_EQ(drain(reqs, sizeof(reqs)), 0);
		T_OK(strstr(logcap.all, "rate-limited") != NULL);
	}

	T_CASE("IDT-12 after the cool-down: exactly one refresh, still unknown -> refused");
	age_stamp(c, now - OIDC_REFRESH_INTERVAL - 1);
	oidc_init(&o, c, &tlog, now + 3);
	T_EQ(oidc_load(&o), 0);
	T_EQ(oidc_verify_id_token(&o, tok, strlen(tok), "n-123", NULL, &t), ERR_JWT_KID_UNKNOWN);
	T_EQ(oidc_verify_id_token(&o, tok, strlen(tok), "n-123", NULL, &t), ERR_JWT_KID_UNKNOWN);
	T_EQ(drain(reqs, sizeof(reqs)), 1);
	oidc_cleanup(&o);

	T_CASE("IDT-14 rotation: IdP serves only B; a token still signed with A is refused");
	serve_keys(ks_b, 1);
	age_stamp(c, now - OIDC_REFRESH_INTERVAL - 1);
	free(tok);
	tok = id_token(key_b, "ES256", "B", now);
	oidc_init(&o, c, &tlog, now + OIDC_CACHE_TTL + 10); /* cache stale: fresh keys */
	T_EQ(oidc_load(&o), 0);
	T_EQ(o.jwks ? o.jwks->n : 0, 1);
	o.now = now + 5;
	T_EQ(oidc_verify_id_token(&o, tok, strlen(tok), "n-123", NULL, &t), 0);
	jwt_free(t);
	t = NULL;
	free(tok);
	tok = id_token(key_a, "RS256", "A", now);
	T_EQ(oidc_verify_id_token(&o, tok, strlen(tok), "n-123", NULL, &t), ERR_JWT_KID_UNKNOWN);
	oidc_cleanup(&o);
	drain(reqs, sizeof(reqs));

	T_CASE("offline mode: caller's key set, allow-list from the config alone");
	{
		char *set = mint_jwks(ks_a, 2);
		oidc_init(&o, c, &tlog, now);
		T_EQ(jwks_parse(set, strlen(set), &tlog, &o.jwks), 0);
		T_EQ(oidc_verify_id_token(&o, tok, strlen(tok), "n-123", NULL, &t), 0);
		jwt_free(t);
		t = NULL;
		free(tok);
		tok = id_token(key_b, "ES256", "B", now);
		T_EQ(oidc_verify_id_token(&o, tok, strlen(tok), "n-123", NULL, &t),
		     ERR_JWT_KID_UNKNOWN);
		T_EQ(drain(reqs, sizeof(reqs)), 0);
		oidc_cleanup(&o);
		free(set);
	}
	free(tok);
	config_free(c);
}

/* The JWKS cache entry is keyed by issuer and jwks_uri: after the IdP moves
 * its JWKS, the keys cached from the old jwks_uri are never used. */
static void test_jwks_moved(void)
{
	struct config *c = make_config(iss, NULL);
	struct oidc o;
	struct jwt *t = NULL;
	char reqs[65536], name[80], path[800], *doc, *tok_a, *tok_b, *set;
	const char *ks_a[] = { jwk_a }, *ks_b[] = { jwk_b };
	time_t now = time(NULL);

	wipe_cache();
	doc = discovery_doc(iss, "[\"RS256\",\"ES256\"]");
	route("/.well-known/openid-configuration", 200, "application/json", doc);
	free(doc);
	serve_keys(ks_a, 1);
	tok_a = id_token(key_a, "RS256", "A", now);
	tok_b = id_token(key_b, "ES256", "B", now);
	drain(reqs, sizeof(reqs));

	T_CASE("AZ-02 IDT-14 JWKS moved: keys cached from the old jwks_uri never used");
	oidc_init(&o, c, &tlog, now);
	T_EQ(oidc_load(&o), 0);
	T_EQ(oidc_verify_id_token(&o, tok_a, strlen(tok_a), "n-123", NULL, &t), 0);
	jwt_free(t);
	t = NULL;
	oidc_cleanup(&o);
	T_EQ(drain(reqs, sizeof(reqs)), 2);

	/* the IdP moves its JWKS (new set, new URI); the discovery document is
	 * fetched again (its cache entry gone), the old set is still cached */
	doc = mint_printf("{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/auth\","
			  "\"token_endpoint\":\"%s/token\",\"jwks_uri\":\"%s/keys/v2\","
			  "\"code_challenge_methods_supported\":[\"S256\"],"
			  "\"id_token_signing_alg_values_supported\":[\"RS256\",\"ES256\"]}",
			  iss, iss, iss, iss);
	route("/.well-known/openid-configuration", 200, "application/json", doc);
	free(doc);
	unroute("/keys/v1");
	set = mint_jwks(ks_b, 1);
	route("/keys/v2", 200, "application/jwk-set+json", set);
	free(set);
	cache_name(c->issuer, "discovery", name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", cachedir, name);
	T_EQ(unlink(path), 0);
	age_stamp(c, now - OIDC_REFRESH_INTERVAL - 1);

	oidc_init(&o, c, &tlog, now + 10);
	T_EQ(oidc_load(&o), 0);
	T_EQ(o.disc_from_cache, 0);
	T_EQ(o.jwks_from_cache, 0);
	T_EQ(o.jwks ? o.jwks->n : 0, 1);
	T_EQ(drain(reqs, sizeof(reqs)), 2);
	T_OK(strstr(reqs, "GET /keys/v2 HTTP/1.1\r\n") != NULL);
	/* A first: a set cached under the old jwks_uri would accept it */
	T_EQ(oidc_verify_id_token(&o, tok_a, strlen(tok_a), "n-123", NULL, &t),
	     ERR_JWT_KID_UNKNOWN);
	T_OK(t == NULL);
	T_EQ(oidc_verify_id_token(&o, tok_b, strlen(tok_b), "n-123", NULL, &t), 0);
	jwt_free(t);
	t = NULL;
	oidc_cleanup(&o);
	drain(reqs, sizeof(reqs));

	T_CASE("AZ-02 JWKS moved: the next login uses the new entry from the cache");
	oidc_init(&o, c, &tlog, now + 20);
	T_EQ(oidc_load(&o), 0);
	T_EQ(o.disc_from_cache, 1);
	T_EQ(o.jwks_from_cache, 1);
	T_EQ(oidc_verify_id_token(&o, tok_b, strlen(tok_b), "n-123", NULL, &t), 0);
	jwt_free(t);
	t = NULL;
	T_EQ(oidc_verify_id_token(&o, tok_a, strlen(tok_a), "n-123", NULL, &t),
	     ERR_JWT_KID_UNKNOWN);
	oidc_cleanup(&o);
	drain(reqs, sizeof(reqs));
	unroute("/keys/v2");
	free(tok_a);
	free(tok_b);
	config_free(c);
}

static int redeem(struct oidc *o, struct token_response **t)
{
	*t = NULL;
	return oidc_redeem_code(o, "c0de/+&=", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
				"https://relay.example.com/callback", t);
}

static void test_redeem(void)
{
	struct config *c = make_config(iss, NULL);
	struct oidc o;
	struct token_response *t = NULL;
	char reqs[300000], *doc, *okbody;
	const char *ks[] = { jwk_a };
	time_t now = time(NULL);

	wipe_cache();
	doc = discovery_doc(iss, "[\"RS256\"]");
	route("/.well-known/openid-configuration", 200, "application/json", doc);
	free(doc);
	serve_keys(ks, 1);
	oidc_init(&o, c, &tlog, now);
	T_EQ(oidc_load(&o), 0);
	drain(reqs, sizeof(reqs));
	okbody = mint_printf("{\"id_token\":\"a.b.c\",\"access_token\":\"at\","
			     "\"token_type\":\"Bearer\",\"refresh_token\":\"rt\"}");

	T_CASE("TOK-01 request shape: POST to the discovered token endpoint, form body");
	route("/token", 200, "application/json;charset=UTF-8", okbody);
	T_EQ(redeem(&o, &t), 0);
	T_STREQ(t ? t->id_token : NULL, "a.b.c");
	token_response_free(t);
	T_EQ(drain(reqs, sizeof(reqs)), 1);
	T_OK(strstr(reqs, "POST /token HTTP/1.1\r\n") == reqs);
	T_OK(strstr(reqs, "\r\nContent-Type: application/x-www-form-urlencoded\r\n") != NULL);
	T_OK(strcasestr(reqs, "\r\nAuthorization:") == NULL);
	{
		const char *b = strstr(reqs, "\r\n\r\n");
		T_STREQ(b ? b + 4 : NULL,
			"grant_type=authorization_code&code=c0de%2F%2B%26%3D"
			"&redirect_uri=https%3A%2F%2Frelay.example.com%2Fcallback"
			"&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk&client_id=host-a");
	}

	T_CASE("TOK-08 confidential client: Basic with form-encoded secret, no client_id in body");
	{
		char path[700];
		struct config *cs;
		struct oidc os;
		int fd;
		snprintf(path, sizeof(path), "%s/secret", base);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		T_EQ(write(fd, "s:e+c%r/t\n", 10), 10);
		close(fd);
		char *extra = mint_printf("client_secret_file = %s\n", path);
		cs = make_config(iss, extra);
		free(extra);
		oidc_init(&os, cs, &tlog, now);
		T_EQ(oidc_load(&os), 0);
		drain(reqs, sizeof(reqs));
		T_EQ(redeem(&os, &t), 0);
		token_response_free(t);
		T_EQ(drain(reqs, sizeof(reqs)), 1);
		/* base64("host-a:s%3Ae%2Bc%25r%2Ft") */
		T_OK(strstr(reqs,
			    "\r\nAuthorization: Basic aG9zdC1hOnMlM0FlJTJCYyUyNXIlMkZ0\r\n") !=
		     NULL);
		T_OK(strstr(reqs, "client_id=") == NULL);
		T_OK(strstr(reqs, "s:e+c") == NULL);

		T_CASE("TOK-08 a secret file readable by others: refused before any request");
		chmod(path, 0644);
		T_EQ(redeem(&os, &t), ERR_CONFIG_PERM);
		T_EQ(drain(reqs, sizeof(reqs)), 0);

		T_CASE("PAM-23 the secret read before the privilege drop is used, not the file");
		unlink(path); /* gone: only o->client_secret can answer */
		os.client_secret = "s:e+c%r/t";
		T_EQ(redeem(&os, &t), 0);
		token_response_free(t);
		T_EQ(drain(reqs, sizeof(reqs)), 1);
		T_OK(strstr(reqs,
			    "\r\nAuthorization: Basic aG9zdC1hOnMlM0FlJTJCYyUyNXIlMkZ0\r\n") !=
		     NULL);
		os.client_secret = NULL;
		oidc_cleanup(&os);
		config_free(cs);
	}

	T_CASE("TOK-02 invalid_grant: fails, error logged sanitized, exactly one request");
	logcap_reset();
	route("/token", 400, "application/json",
	      "{\"error\":\"invalid_grant\",\"error_description\":\"bad\\u001b[0m code\"}");
	T_EQ(redeem(&o, &t), ERR_TOKEN_ERROR);
	/* the error comes back for the person's message; no token in it */
	T_OK(t != NULL && strcmp(t->error, "invalid_grant") == 0 && t->id_token == NULL &&
	     t->access_token == NULL);
	token_response_free(t);
	t = NULL;
	T_EQ(drain(reqs, sizeof(reqs)), 1);
	T_OK(strstr(logcap.all, "HTTP 400, error invalid_grant (bad?[0m code)") != NULL);

	T_CASE("TOK-02 500 with HTML: fails, one request");
	route("/token", 500, "text/html", "<h1>oops</h1>");
	T_EQ(redeem(&o, &t), ERR_HTTP_STATUS);
	T_EQ(drain(reqs, sizeof(reqs)), 1);

	T_CASE("TOK-02 error member in a 200 answer");
	route("/token", 200, "application/json", "{\"error\":\"server_error\"}");
	T_EQ(redeem(&o, &t), ERR_TOKEN_ERROR);
	T_OK(t != NULL && strcmp(t->error, "server_error") == 0 && t->id_token == NULL);
	token_response_free(t);
	t = NULL;

	T_CASE("TOK-06 200 but not JSON");
	route("/token", 200, "text/plain", okbody);
	T_EQ(redeem(&o, &t), ERR_HTTP_CTYPE);
	route("/token", 200, NULL, okbody);
	T_EQ(redeem(&o, &t), ERR_HTTP_CTYPE);

	T_CASE("TOK-06 missing id_token, token_type not Bearer");
	route("/token", 200, "application/json",
	      "{\"access_token\":\"at\",\"token_type\":\"Bearer\"}");
	T_EQ(redeem(&o, &t), ERR_TOKEN_RESPONSE);
	route("/token", 200, "application/json",
	      "{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"N_A\"}");
	T_EQ(redeem(&o, &t), ERR_TOKEN_RESPONSE);

	T_CASE("TOK-06 body over 64 KiB");
	{
		char *big = malloc(70001);
		memset(big, ' ', 70000);
		big[0] = '{';
		big[69999] = '}';
		big[70000] = 0;
		route("/token", 200, "application/json", big);
		T_EQ(redeem(&o, &t), ERR_HTTP_TOO_LARGE);
		free(big);
	}

	T_CASE("TOK-04 token endpoint redirect refused, not followed");
	route_raw("/token", "HTTP/1.1 307 Temporary Redirect\r\nLocation: /evil\r\n"
			    "Content-Length: 0\r\nConnection: close\r\n\r\n");
	drain(reqs, sizeof(reqs));
	T_EQ(redeem(&o, &t), ERR_HTTP_REDIRECT);
	T_EQ(drain(reqs, sizeof(reqs)), 1);
	T_OK(strstr(reqs, "/evil") == NULL);

	T_CASE("bad arguments; no discovery loaded");
	T_EQ(oidc_redeem_code(&o, "", "v", "https://r/cb", &t), ERR_INVAL);
	oidc_cleanup(&o);
	T_EQ(redeem(&o, &t), ERR_INVAL);
	T_EQ(drain(reqs, sizeof(reqs)), 0);
	free(okbody);
	config_free(c);
}

int main(void)
{
	char cmd[700];

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !mkdtemp(base))
		return 1;
	snprintf(routes, sizeof(routes), "%s/routes", base);
	snprintf(cachedir, sizeof(cachedir), "%s/cache", base);
	if (mkdir(routes, 0700) != 0 || srv_start() != 0)
		return 1;
	snprintf(iss, sizeof(iss), "http://127.0.0.1:%d", srv_port);
	key_a = mint_keygen(MINT_RSA2048);
	key_b = mint_keygen(MINT_P256);
	key_c = mint_keygen(MINT_P256);
	jwk_a = mint_jwk(key_a, "A", "\"alg\":\"RS256\",\"use\":\"sig\"");
	jwk_b = mint_jwk(key_b, "B", NULL);
	jwk_c = mint_jwk(key_c, "C", NULL);

	test_init();
	test_load();
	test_refresh_rule();
	test_verify();
	test_jwks_moved();
	test_redeem();

	srv_stop();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	if (system(cmd) != 0)
		perror("rm");
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	EVP_PKEY_free(key_c);
	free(jwk_a);
	free(jwk_b);
	free(jwk_c);
	curl_global_cleanup();
	return t_done();
}
