/* authz.h: the authorization request URL (AZ-04) and the authorization
 * response a callback carries (AZ-08, AZ-09, AZ-10, AZ-12). */
#ifndef OP_AUTHZ_H
#define OP_AUTHZ_H

#include <stddef.h>

#define AUTHZ_MAX_CODE 2048
#define AUTHZ_MAX_QUERY 8192

struct authz_request {
	const char *authorization_endpoint;
	const char *client_id;
	const char *redirect_uri;
	const char *scope; /* must contain the word "openid" */
	const char *state;
	const char *nonce;
	const char *code_challenge; /* S256, 43 chars */
	const char *prompt;         /* optional, e.g. "login" */
	long max_age;               /* optional when < 0 */
	const char *acr_values;     /* optional: space-separated (OIDC Core 3.1.2.1) */
};

/* Builds endpoint?response_type=code&client_id=..&redirect_uri=..&scope=..
 * &state=..&nonce=..&code_challenge=..&code_challenge_method=S256 with every
 * value percent-encoded; an endpoint that already has a query gets '&'.
 * ERR_INVAL when a value is missing, the scope lacks openid, or the
 * challenge is not 43 base64url characters. *out malloc'd. */
int authz_build_url(const struct authz_request *req, char **out);

struct authz_response {
	char *code;
	char *state;
	char *iss;
	char *error;
	char *error_description; /* sanitized: printable ASCII only */
};

/* Parses a query string ("code=..&state=..", no leading '?'). Each of code,
 * state, iss, error, error_description at most once (else
 * ERR_AUTHZ_RESPONSE); other parameters ignored; percent-decoding strict;
 * code <= AUTHZ_MAX_CODE printable ASCII; state/iss/error printable ASCII. */
int authz_parse_query(const char *query, size_t len, struct authz_response *out);

/* Checks a parsed response for this login: error present -> ERR_AUTHZ_ERROR;
 * state must equal expected_state (constant time) -> ERR_AUTHZ_STATE; iss
 * (RFC 9207) compared whenever present and required when iss_required ->
 * ERR_AUTHZ_ISS; code required -> ERR_AUTHZ_RESPONSE. */
int authz_check_response(const struct authz_response *r, const char *expected_state,
			 const char *issuer, int iss_required);

/* Wipes and frees the members. */
void authz_response_cleanup(struct authz_response *r);

#endif
