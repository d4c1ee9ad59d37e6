/* authz.h: the authorization request URL (AZ-04) and the authorization
 * response a callback carries (AZ-08, AZ-09, AZ-10, AZ-12). */
#ifndef OP_AUTHZ_H
#define OP_AUTHZ_H

#include <stddef.h>

struct authz_request {
	const char *authorization_endpoint;
	const char *client_id;
	const char *redirect_uri;
	const char *scope; /* must contain the word "openid" */
	const char *state;
	const char *nonce;
	const char *code_challenge; /* S256, 43 chars */
	const char *prompt;	    /* optional, e.g. "login" */
	long max_age;		    /* optional when < 0 */
	const char *acr_values;	    /* optional: space-separated (OIDC Core 3.1.2.1) */
};

/* Builds endpoint?response_type=code&client_id=..&redirect_uri=..&scope=..
 * &state=..&nonce=..&code_challenge=..&code_challenge_method=S256 with every
 * value percent-encoded; an endpoint that already has a query gets '&'.
 * ERR_INVAL when a value is missing, the scope lacks openid, or the
 * challenge is not 43 base64url characters. *out malloc'd. */
int authz_build_url(const struct authz_request *req, char **out);

/* The parameters of an authorization response, already decoded (the relay:
 * relay/validate.c cbq_parse over lib/qs.c; a test: qs_parse). Not owned. */
struct authz_response {
	const char *code;
	const char *state;
	const char *iss;
	const char *error;
};

/* Checks a parsed response for this login: error present -> ERR_AUTHZ_ERROR;
 * state must equal expected_state (constant time) -> ERR_AUTHZ_STATE; iss
 * (RFC 9207) compared whenever present and required when iss_required ->
 * ERR_AUTHZ_ISS; code required -> ERR_AUTHZ_RESPONSE. */
int authz_check_response(const struct authz_response *r, const char *expected_state,
			 const char *issuer, int iss_required);

#endif
