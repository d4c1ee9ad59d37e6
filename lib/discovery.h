/* discovery.h: OpenID Connect Discovery 1.0 document. */
#ifndef OP_DISCOVERY_H
#define OP_DISCOVERY_H

#include <stddef.h>

#include "log.h"

#define DISCOVERY_MAX_BYTES (64 * 1024)

struct discovery {
	char *issuer;
	char *authorization_endpoint;
	char *token_endpoint;
	char *jwks_uri;
	char *userinfo_endpoint;     /* optional (NULL): OIDC Core 5.3 */
	unsigned id_token_algs;	     /* mask of enum jwt_alg from
					id_token_signing_alg_values_supported */
	int iss_parameter_supported; /* authorization_response_iss_parameter_supported */
};

/* Parses and checks:
 * - strict JSON (json_parse: ERR_JSON*, duplicate names ERR_JSON_DUP), at
 *   most DISCOVERY_MAX_BYTES (ERR_TOO_LARGE), a top-level object (AZ-02);
 * - issuer equal to expected_issuer byte for byte, so a trailing slash or a
 *   case change fails (AZ-01, ERR_DISCOVERY_ISSUER);
 * - issuer, authorization_endpoint, token_endpoint, jwks_uri: present,
 *   strings (else ERR_DISCOVERY) and allowed by http_url_allowed (AZ-02,
 *   ERR_HTTP_URL); userinfo_endpoint optional, the same rules when present;
 * - code_challenge_methods_supported, when present, an array of strings
 *   containing "S256" (AZ-03, ERR_DISCOVERY_PKCE); absent: allowed, logged;
 * - id_token_signing_alg_values_supported: an array of strings; names
 *   jwt_alg_from_name does not know (HS256, none, ...) are ignored; absent
 *   means RS256 (OIDC Discovery §3); no usable name at all: ERR_DISCOVERY;
 * - authorization_response_iss_parameter_supported a boolean when present.
 * Unknown members are ignored. Every refusal logs one line. */
int discovery_parse(const char *json, size_t len, const char *expected_issuer,
		    int allow_insecure_loopback, const struct log *log, struct discovery **out);

void discovery_free(struct discovery *d);

#endif
