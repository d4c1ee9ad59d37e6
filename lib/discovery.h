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
	unsigned id_token_algs; /* mask of enum jwt_alg from
				   id_token_signing_alg_values_supported */
	int iss_parameter_supported; /* authorization_response_iss_parameter_supported */
};

/* Parses and checks: issuer equal to expected_issuer byte for byte (AZ-01,
 * ERR_DISCOVERY_ISSUER); every endpoint allowed by http_url_allowed (AZ-02);
 * code_challenge_methods_supported, when present, contains S256
 * (ERR_DISCOVERY_PKCE); strict JSON, size cap. */
int discovery_parse(const char *json, size_t len, const char *expected_issuer,
		    int allow_insecure_loopback, const struct log *log, struct discovery **out);

void discovery_free(struct discovery *d);

#endif
