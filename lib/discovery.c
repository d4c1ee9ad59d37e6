/* discovery.c: OpenID Connect Discovery 1.0 document (AZ-01, AZ-02, AZ-03). */
#include "discovery.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "http.h"
#include "json.h"
#include "jwt.h"

#define DISCOVERY_MAX_DEPTH 8

/* A required (or, with required = 0, optional) URL member that must pass
 * the https policy (AZ-02). */
static int get_url(const cJSON *root, const char *name, int required, int loopback,
		   const struct log *log, char **out)
{
	const char *s = NULL;

	if (json_get_string(root, name, &s) != 0) {
		log_msg(log, LOG_ERR, "discovery: %s is not a string", name);
		return ERR_DISCOVERY;
	}
	if (!s) {
		if (!required)
			return ERR_OK;
		log_msg(log, LOG_ERR, "discovery: %s missing", name);
		return ERR_DISCOVERY;
	}
	if (http_url_allowed(s, loopback) != 0) {
		char clean[160];
		log_msg(log, LOG_ERR, "discovery: %s refused: not an https URL: %s", name,
			log_sanitize(clean, sizeof(clean), s));
		return ERR_HTTP_URL;
	}
	if (!(*out = strdup(s)))
		return ERR_NOMEM;
	return ERR_OK;
}

/* An optional array of strings; *present 0 when absent. */
static int get_str_array(const cJSON *root, const char *name, const struct log *log,
			 const cJSON **out, int *present)
{
	const cJSON *v = json_get(root, name), *e;

	*present = 0;
	*out = NULL;
	if (!v)
		return ERR_OK;
	if (!cJSON_IsArray(v)) {
		log_msg(log, LOG_ERR, "discovery: %s is not an array", name);
		return ERR_DISCOVERY;
	}
	cJSON_ArrayForEach(e, v)
	{
		if (!cJSON_IsString(e) || !e->valuestring) {
			log_msg(log, LOG_ERR, "discovery: %s has a non-string entry", name);
			return ERR_DISCOVERY;
		}
	}
	*present = 1;
	*out = v;
	return ERR_OK;
}

static int pkce_check(const cJSON *root, const struct log *log)
{
	const cJSON *arr, *e;
	int present, r;

	if ((r = get_str_array(root, "code_challenge_methods_supported", log, &arr, &present)) != 0)
		return r;
	if (!present) {
		/* many IdPs support S256 without advertising it; the token
		 * endpoint refuses a bad verifier either way (TOK-03) */
		log_msg(log, LOG_WARNING,
			"discovery: code_challenge_methods_supported absent; assuming S256");
		return ERR_OK;
	}
	cJSON_ArrayForEach(e, arr)
	{
		if (strcmp(e->valuestring, "S256") == 0)
			return ERR_OK;
	}
	log_msg(log, LOG_ERR,
		"discovery: code_challenge_methods_supported lacks S256 "
		"(plain is never used)");
	return ERR_DISCOVERY_PKCE;
}

static int algs_from(const cJSON *root, const struct log *log, unsigned *out)
{
	const cJSON *arr, *e;
	unsigned mask = 0;
	int present, r;

	if ((r = get_str_array(root, "id_token_signing_alg_values_supported", log, &arr,
			       &present)) != 0)
		return r;
	if (!present) {
		/* OIDC Discovery §3: RS256 is the default */
		*out = JWT_RS256;
		log_msg(log, LOG_DEBUG,
			"discovery: id_token_signing_alg_values_supported absent; RS256 assumed");
		return ERR_OK;
	}
	cJSON_ArrayForEach(e, arr)
	{
		unsigned bit = jwt_alg_from_name(e->valuestring);
		if (bit)
			mask |= bit;
		else {
			char clean[32];
			log_msg(log, LOG_DEBUG, "discovery: id token alg %s ignored",
				log_sanitize(clean, sizeof(clean), e->valuestring));
		}
	}
	if (!mask) {
		log_msg(log, LOG_ERR,
			"discovery: id_token_signing_alg_values_supported has no usable algorithm");
		return ERR_DISCOVERY;
	}
	*out = mask;
	return ERR_OK;
}

int discovery_parse(const char *json, size_t len, const char *expected_issuer,
		    int allow_insecure_loopback, const struct log *log, struct discovery **out)
{
	struct discovery *d = NULL;
	cJSON *root = NULL;
	const char *iss = NULL;
	int present = 0, b = 0, r;

	if (!json || !expected_issuer || !out)
		return ERR_INVAL;
	if ((r = json_parse(json, len, DISCOVERY_MAX_BYTES, DISCOVERY_MAX_DEPTH, &root)) != 0) {
		log_msg(log, LOG_ERR, "discovery: document refused: %s", err_str(r));
		return r;
	}
	r = ERR_DISCOVERY;
	if (!cJSON_IsObject(root)) {
		log_msg(log, LOG_ERR, "discovery: document is not a JSON object");
		goto out;
	}
	if (!(d = calloc(1, sizeof(*d)))) {
		r = ERR_NOMEM;
		goto out;
	}
	/* AZ-01: byte-for-byte, so a trailing slash or a case change fails */
	if (json_get_string(root, "issuer", &iss) != 0 || !iss) {
		log_msg(log, LOG_ERR, "discovery: issuer missing or not a string");
		goto out;
	}
	if (strcmp(iss, expected_issuer) != 0) {
		char c1[160], c2[160];
		log_msg(log, LOG_ERR, "discovery: issuer %s does not match the configured %s",
			log_sanitize(c1, sizeof(c1), iss),
			log_sanitize(c2, sizeof(c2), expected_issuer));
		r = ERR_DISCOVERY_ISSUER;
		goto out;
	}
	if ((r = get_url(root, "issuer", 1, allow_insecure_loopback, log, &d->issuer)) != 0 ||
	    (r = get_url(root, "authorization_endpoint", 1, allow_insecure_loopback, log,
			 &d->authorization_endpoint)) != 0 ||
	    (r = get_url(root, "token_endpoint", 1, allow_insecure_loopback, log,
			 &d->token_endpoint)) != 0 ||
	    (r = get_url(root, "jwks_uri", 1, allow_insecure_loopback, log, &d->jwks_uri)) != 0 ||
	    (r = get_url(root, "userinfo_endpoint", 0, allow_insecure_loopback, log,
			 &d->userinfo_endpoint)) != 0)
		goto out;
	if ((r = pkce_check(root, log)) != 0)
		goto out;
	if ((r = algs_from(root, log, &d->id_token_algs)) != 0)
		goto out;
	if (json_get_bool(root, "authorization_response_iss_parameter_supported", &b, &present) !=
	    0) {
		log_msg(log, LOG_ERR,
			"discovery: authorization_response_iss_parameter_supported is not a boolean");
		r = ERR_DISCOVERY;
		goto out;
	}
	d->iss_parameter_supported = present && b;
	*out = d;
	d = NULL;
	r = ERR_OK;
out:
	discovery_free(d);
	cJSON_Delete(root);
	return r;
}

void discovery_free(struct discovery *d)
{
	if (!d)
		return;
	free(d->issuer);
	free(d->authorization_endpoint);
	free(d->token_endpoint);
	free(d->jwks_uri);
	free(d->userinfo_endpoint);
	free(d);
}
