/* jwks.h: a JWK Set (RFC 7517) turned into OpenSSL public keys.
 * Usable: RSA >= 2048 bits (e, n), EC P-256/P-384/P-521 (x, y on the curve),
 * OKP Ed25519. Skipped and logged, never fatal for the set: use=enc, short
 * RSA, unknown kty/crv (e.g. AKP), missing or badly encoded members, private
 * members (d, p, q, ...) present, key_ops without "verify", duplicate kid.
 * The set fails (ERR_JWKS_NO_KEYS) only when no key is usable. */
#ifndef OP_JWKS_H
#define OP_JWKS_H

#include <openssl/evp.h>
#include <stddef.h>

#include "log.h"

#define JWKS_MAX_BYTES (256 * 1024) /* a bigger body is refused */
#define JWKS_MAX_KEYS 100           /* entries past this are ignored (logged) */
#define JWKS_MAX_KID 256            /* longer kid: key skipped */

enum jwk_kty {
	JWK_KTY_RSA = 1,
	JWK_KTY_EC,
	JWK_KTY_OKP,
};

struct jwk {
	char *kid;        /* NULL when the JWK has none */
	char *alg;        /* the JWK's "alg" member, NULL when absent */
	enum jwk_kty kty;
	int curve_nid;    /* NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1,
			     NID_ED25519; 0 for RSA */
	int bits;         /* RSA modulus / EC field size */
	EVP_PKEY *pkey;
};

struct jwks {
	struct jwk *keys;
	size_t n;
};

/* Parses a JWK Set document {"keys":[...]}. Strict JSON (json_parse), size
 * cap JWKS_MAX_BYTES. *out set only on success. */
int jwks_parse(const char *json, size_t len, const struct log *log, struct jwks **out);

/* NULL-safe. */
void jwks_free(struct jwks *set);

#endif
