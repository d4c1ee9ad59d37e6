/* authz.c: authorization request URL and response parsing. */
#include "authz.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "err.h"
#include "http.h"
#include "secret.h"
#include "text.h"

int authz_build_url(const struct authz_request *q, char **out)
{
	const char *names[] = { "client_id", "redirect_uri", "scope", "state", "nonce",
				"code_challenge", "prompt", "acr_values" };
	const char *values[8];
	char *enc[8] = { 0 };
	char maxage[32] = "";
	size_t need;
	char *url = NULL;
	int r = ERR_NOMEM;

	if (!q || !out || !q->authorization_endpoint || !q->client_id || !q->redirect_uri ||
	    !q->scope || !q->state || !q->nonce || !q->code_challenge)
		return ERR_INVAL;
	if (!text_has_word(q->scope, "openid") ||
	    !b64url_is43(q->code_challenge, strlen(q->code_challenge)) ||
	    strchr(q->authorization_endpoint, '#'))
		return ERR_INVAL;
	values[0] = q->client_id;
	values[1] = q->redirect_uri;
	values[2] = q->scope;
	values[3] = q->state;
	values[4] = q->nonce;
	values[5] = q->code_challenge;
	values[6] = q->prompt;
	values[7] = q->acr_values;
	need = strlen(q->authorization_endpoint) + 128;
	for (int i = 0; i < 8; i++) {
		if (!values[i])
			continue;
		if (!(enc[i] = http_form_encode(values[i])))
			goto out;
		need += strlen(names[i]) + strlen(enc[i]) + 2;
	}
	if (q->max_age >= 0)
		snprintf(maxage, sizeof(maxage), "&max_age=%ld", q->max_age);
	if (!(url = malloc(need)))
		goto out;
	snprintf(url, need, "%s%cresponse_type=code", q->authorization_endpoint,
		 strchr(q->authorization_endpoint, '?') ? '&' : '?');
	for (int i = 0; i < 8; i++) {
		if (!enc[i])
			continue;
		strcat(url, "&");
		strcat(url, names[i]);
		strcat(url, "=");
		strcat(url, enc[i]);
	}
	strcat(url, "&code_challenge_method=S256");
	strcat(url, maxage);
	*out = url;
	r = ERR_OK;
out:
	for (int i = 0; i < 8; i++) {
		if (enc[i])
			secret_str_free(enc[i]);
	}
	return r;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes a form value ('+' is a space); refuses bad escapes and anything
 * outside printable ASCII, or, with sanitize, replaces it with '?'. */
static int form_decode(const char *s, size_t len, size_t max, int sanitize, char **out)
{
	char *d;
	size_t o = 0;

	if (len > 3 * max)
		return ERR_AUTHZ_RESPONSE;
	if (!(d = malloc(len + 1)))
		return ERR_NOMEM;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= len) {
				free(d);
				return ERR_AUTHZ_RESPONSE;
			}
			h = hexval(s[i + 1]);
			l = hexval(s[i + 2]);
			if (h < 0 || l < 0) {
				free(d);
				return ERR_AUTHZ_RESPONSE;
			}
			c = h * 16 + l;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if ((c < 0x20 || c >= 0x7f) && sanitize)
			c = '?';
		if (c < 0x20 || c >= 0x7f) {
			secret_free(d, o);
			return ERR_AUTHZ_RESPONSE;
		}
		d[o++] = (char)c;
	}
	d[o] = '\0';
	if (o > max) {
		secret_free(d, o);
		return ERR_AUTHZ_RESPONSE;
	}
	*out = d;
	return ERR_OK;
}

int authz_parse_query(const char *query, size_t len, struct authz_response *out)
{
	struct authz_response r = { 0 };
	const char *p = query, *end = query + len;
	int rc = ERR_OK;

	if (!query || !out)
		return ERR_INVAL;
	if (len > AUTHZ_MAX_QUERY)
		return ERR_AUTHZ_RESPONSE;
	while (p < end && rc == ERR_OK) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pe = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pe - p));
		size_t nl = (size_t)((eq ? eq : pe) - p);
		char **slot = NULL;
		size_t max = 512;
		int sanitize = 0;

		if (nl == 4 && !memcmp(p, "code", 4)) {
			slot = &r.code;
			max = AUTHZ_MAX_CODE;
		} else if (nl == 5 && !memcmp(p, "state", 5)) {
			slot = &r.state;
		} else if (nl == 3 && !memcmp(p, "iss", 3)) {
			slot = &r.iss;
		} else if (nl == 5 && !memcmp(p, "error", 5)) {
			slot = &r.error;
		} else if (nl == 17 && !memcmp(p, "error_description", 17)) {
			slot = &r.error_description;
			max = 1024;
			sanitize = 1;
		}
		if (slot) {
			if (*slot || !eq)
				rc = ERR_AUTHZ_RESPONSE;
			else
				rc = form_decode(eq + 1, (size_t)(pe - eq - 1), max, sanitize, slot);
		}
		p = amp ? amp + 1 : end;
	}
	if (rc != ERR_OK) {
		authz_response_cleanup(&r);
		return rc;
	}
	*out = r;
	return ERR_OK;
}

int authz_check_response(const struct authz_response *r, const char *expected_state,
			 const char *issuer, int iss_required)
{
	size_t sl;

	if (!r || !expected_state || !issuer)
		return ERR_INVAL;
	sl = strlen(expected_state);
	if (!r->state || strlen(r->state) != sl || CRYPTO_memcmp(r->state, expected_state, sl) != 0)
		return ERR_AUTHZ_STATE;
	if (r->iss ? strcmp(r->iss, issuer) != 0 : iss_required)
		return ERR_AUTHZ_ISS;
	if (r->error)
		return ERR_AUTHZ_ERROR;
	if (!r->code || !r->code[0])
		return ERR_AUTHZ_RESPONSE;
	return ERR_OK;
}

void authz_response_cleanup(struct authz_response *r)
{
	char **all[5];

	if (!r)
		return;
	all[0] = &r->code;
	all[1] = &r->state;
	all[2] = &r->iss;
	all[3] = &r->error;
	all[4] = &r->error_description;
	for (int i = 0; i < 5; i++) {
		if (*all[i]) {
			secret_str_free(*all[i]);
			*all[i] = NULL;
		}
	}
}
