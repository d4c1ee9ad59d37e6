/* bench_jwt.c: full ID-token validation per second (parse, base64url,
 * strict JSON, key choice, signature with a cached key, claims) for RS256,
 * ES256 and EdDSA. Prints "ALG validations_per_second". bench/run.sh puts
 * it next to `openssl speed` of the same algorithm. Usage: bench_jwt [secs] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jwks.h"
#include "jwt.h"
#include "jwt_mint.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const struct {
		const char *alg;
		enum mint_kind kind;
	} cases[] = { { "RS256", MINT_RSA2048 },
		      { "ES256", MINT_P256 },
		      { "EdDSA", MINT_ED25519 } };
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	time_t now = time(NULL);

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		EVP_PKEY *k = mint_keygen(cases[c].kind);
		char *jwk = mint_jwk(k, "k1", NULL);
		const char *one[] = { jwk };
		char *set = mint_jwks(one, 1);
		char *hdr = mint_printf("{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
					cases[c].alg);
		char *pl = mint_printf(
			"{\"iss\":\"https://idp.example.org\",\"sub\":\"sub-alice\",\"aud\":\"pkce-client\","
			"\"exp\":%lld,\"iat\":%lld,\"nonce\":\"nH2bdQ2uK8Jw1yq2bD4xFfQz0nS3xQk3pX1oYlE1Ax4\","
			"\"preferred_username\":\"alice\",\"email\":\"alice@example.org\","
			"\"email_verified\":true,\"groups\":[\"staff\",\"wheel\"],\"name\":\"Alice Example\"}",
			(long long)now + 600, (long long)now);
		char *tok = mint_token(k, cases[c].alg, hdr, pl, NULL);
		struct jwks *keys = NULL;
		struct jwt_policy pol = {
			.issuer = "https://idp.example.org",
			.client_id = "pkce-client",
			.nonce = "nH2bdQ2uK8Jw1yq2bD4xFfQz0nS3xQk3pX1oYlE1Ax4",
			.allowed_algs = JWT_ALG_ALL,
			.clock_skew = 60,
			.max_token_age = 300,
			.now = now,
		};
		size_t len = strlen(tok);
		long n = 0;
		double t0, t1;

		if (jwks_parse(set, strlen(set), NULL, &keys) != 0) {
			fprintf(stderr, "bench: jwks_parse failed\n");
			return 1;
		}
		t0 = now_s();
		do {
			for (int i = 0; i < 64; i++) {
				struct jwt *t = NULL;
				if (jwt_verify(tok, len, keys, &pol, NULL, &t) != 0) {
					fprintf(stderr, "bench: %s token refused\n", cases[c].alg);
					return 1;
				}
				jwt_free(t);
				n++;
			}
			t1 = now_s();
		} while (t1 - t0 < secs);
		printf("%s %.0f\n", cases[c].alg, (double)n / (t1 - t0));
		jwks_free(keys);
		EVP_PKEY_free(k);
		free(jwk);
		free(set);
		free(hdr);
		free(pl);
		free(tok);
	}
	return 0;
}
