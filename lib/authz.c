/* authz.c: the authorization request URL and the response check. */
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
	const char *names[] = { "client_id", "redirect_uri",   "scope",	 "state",
				"nonce",     "code_challenge", "prompt", "acr_values" };
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
