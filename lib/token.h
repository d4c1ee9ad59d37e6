/* token.h: the token endpoint's answer (OIDC Core §3.1.3.3, RFC 6749 §5.1,
 * §5.2). Only the parsing lives here; the request is oidc_redeem_code. */
#ifndef OP_TOKEN_H
#define OP_TOKEN_H

#include <stddef.h>

#define TOKEN_MAX_BYTES		    (64 * 1024)
#define TOKEN_ERROR_MAX		    64	/* sanitized OAuth "error" code */
#define TOKEN_ERROR_DESCRIPTION_MAX 200 /* sanitized "error_description" */

struct token_response {
	char *id_token;	    /* secret-ish: the caller verifies it */
	char *access_token; /* secret: only for at_hash; never stored or logged */
	long expires_in;    /* -1 when absent */
	/* Set only for ERR_TOKEN_ERROR: printable ASCII, truncated. */
	char error[TOKEN_ERROR_MAX + 1];
	char error_description[TOKEN_ERROR_DESCRIPTION_MAX + 1];
};

/* Parses a token response body (TOK-06). Strict JSON (json_parse), at most
 * TOKEN_MAX_BYTES; the top level must be an object; unknown members are
 * ignored (refresh_token is never copied).
 * - An "error" member (RFC 6749 §5.2) -> ERR_TOKEN_ERROR, and *out IS set,
 *   holding only error / error_description (sanitized) for the caller to log.
 * - id_token and access_token must be non-empty strings, token_type must be
 *   "Bearer" (any case), expires_in a number when present; otherwise
 *   ERR_TOKEN_RESPONSE.
 * On success *out holds the tokens. Free with token_response_free. */
int token_parse_response(const char *json, size_t len, struct token_response **out);

/* Wipes (OPENSSL_cleanse) and frees. NULL-safe. */
void token_response_free(struct token_response *t);

#endif
