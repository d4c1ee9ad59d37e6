/* token.c: token endpoint responses (TOK-06). */
#include "token.h"

#include <math.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "json.h"
#include "secret.h"

#define TOKEN_MAX_DEPTH 8

/* Printable ASCII only (so neither a log nor a terminal can be fed escape
 * sequences), truncated to fit. */
static void sanitize_into(char *dst, size_t dstlen, const char *src)
{
	size_t i = 0;

	for (; src && *src && i + 1 < dstlen; src++) {
		unsigned char c = (unsigned char)*src;
		dst[i++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[i] = '\0';
}

int token_parse_response(const char *json, size_t len, struct token_response **out)
{
	struct token_response *t = NULL;
	const char *s = NULL, *id = NULL, *at = NULL, *type = NULL;
	const cJSON *v;
	cJSON *root = NULL;
	int r;

	if (!json || !out)
		return ERR_INVAL;
	if ((r = json_parse(json, len, TOKEN_MAX_BYTES, TOKEN_MAX_DEPTH, &root)) != 0)
		return r == ERR_TOO_LARGE ? ERR_TOO_LARGE : ERR_TOKEN_RESPONSE;
	r = ERR_TOKEN_RESPONSE;
	if (!cJSON_IsObject(root))
		goto out;
	if (!(t = calloc(1, sizeof(*t)))) {
		r = ERR_NOMEM;
		goto out;
	}
	t->expires_in = -1;

	/* RFC 6749 §5.2 error response */
	if (json_get(root, "error")) {
		if (json_get_string(root, "error", &s) != 0 || !s || !*s)
			goto out;
		sanitize_into(t->error, sizeof(t->error), s);
		if (json_get_string(root, "error_description", &s) == 0 && s)
			sanitize_into(t->error_description, sizeof(t->error_description), s);
		*out = t;
		t = NULL;
		r = ERR_TOKEN_ERROR;
		goto out;
	}

	if (json_get_string(root, "id_token", &id) != 0 || !id || !*id ||
	    json_get_string(root, "access_token", &at) != 0 || !at || !*at ||
	    json_get_string(root, "token_type", &type) != 0 || !type ||
	    strcasecmp(type, "Bearer") != 0)
		goto out;
	if ((v = json_get(root, "expires_in"))) {
		if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
		    v->valuedouble > 1e9)
			goto out;
		t->expires_in = (long)v->valuedouble;
	}
	r = ERR_NOMEM;
	if (!(t->id_token = strdup(id)) || !(t->access_token = strdup(at)))
		goto out;
	*out = t;
	t = NULL;
	r = ERR_OK;
out:
	token_response_free(t);
	json_delete_wiped(root); /* the tokens cJSON copied */
	return r;
}

void token_response_free(struct token_response *t)
{
	if (!t)
		return;
	secret_str_free(t->id_token);
	secret_str_free(t->access_token);
	secret_free(t, sizeof(*t));
}
