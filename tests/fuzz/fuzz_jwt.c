/* fuzz_jwt.c: the whole ID-token path (shape, header, key choice,
 * signature, claims) on arbitrary input, with a fixed EC P-256 JWK Set. */
#include <stdint.h>
#include <string.h>

#include "jwks.h"
#include "jwt.h"

static const char jwks_json[] =
	"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k1\",\"alg\":\"ES256\","
	"\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	"\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jwks *keys;
	struct jwt *t = NULL;
	struct jwt_policy pol = {
		.issuer = "https://idp.example",
		.client_id = "client",
		.nonce = "n",
		.allowed_algs = JWT_ALG_ALL,
		.clock_skew = 60,
		.max_token_age = 300,
		.now = 1700000000,
	};

	if (!keys && jwks_parse(jwks_json, strlen(jwks_json), NULL, &keys) != 0)
		return 0;
	if (jwt_verify((const char *)data, size, keys, &pol, NULL, &t) == 0)
		jwt_free(t);
	if (jwt_parse((const char *)data, size, NULL, &t) == 0) {
		const struct jwk *k = NULL;
		if (jwt_select_key(t, keys, NULL, &k) == 0)
			(void)jwt_verify_signature(t, k, NULL);
		(void)jwt_check_claims(t, &pol, NULL);
		jwt_free(t);
	}
	return 0;
}
