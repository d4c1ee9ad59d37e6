/* jwks.h: a JWK Set (RFC 7517) turned into OpenSSL public keys.
 * Usable: RSA 2048..8192 bits (n odd; e odd, > 1, at most 64 bits),
 * EC P-256/P-384/P-521 (x, y exactly the field size, point on the curve),
 * OKP Ed25519 (x 32 bytes). Skipped with one LOG_WARNING line each (kid
 * sanitized, capped at 64 chars), never fatal for the set: use other than
 * "sig", short or oversized RSA, unknown kty/crv (e.g. AKP, oct, Ed448),
 * missing, mistyped or badly encoded members, private members (d, p, q, dp,
 * dq, qi, oth, k) present, key_ops not an array of strings containing
 * "verify", an "alg" member that is not RS*, PS*, ES*, EdDSA or Ed25519 or
 * that contradicts kty/crv (ES384 on P-256), a kid that is not a string, is
 * empty or longer than JWKS_MAX_KID, a kid already used by an earlier usable
 * key (the first one is kept), an entry that is not an object. Entries past
 * JWKS_MAX_KEYS are ignored (one log line), usable or not.
 * The set fails only when: len > JWKS_MAX_BYTES (ERR_TOO_LARGE); the JSON is
 * invalid (json_parse codes); it is not an object with a "keys" array
 * (ERR_JWKS); no key is usable (ERR_JWKS_NO_KEYS). */
#ifndef OP_JWKS_H
#define OP_JWKS_H

#include <openssl/evp.h>
#include <stddef.h>

#include "log.h"

#define JWKS_MAX_BYTES (256 * 1024) /* a bigger body is refused */
#define JWKS_MAX_KEYS  100	    /* entries past this are ignored (logged) */
#define JWKS_MAX_KID   256	    /* longer kid: key skipped */

enum jwk_kty {
	JWK_KTY_RSA = 1,
	JWK_KTY_EC,
	JWK_KTY_OKP,
};

struct jwk {
	char *kid; /* NULL when the JWK has none */
	char *alg; /* the JWK's "alg" member, NULL when absent */
	enum jwk_kty kty;
	int curve_nid; /* NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1,
			  NID_ED25519; 0 for RSA */
	int bits;      /* RSA modulus / EC field size */
	EVP_PKEY *pkey;
	/* Set up once by jwks_parse and only read afterwards (jwt.c copies them
	 * per signature), for verify_alg: the JWK's "alg", else RS256 (RSA),
	 * ES256/ES384/ES512 (by curve) or EdDSA (Ed25519). A token of any other
	 * alg, or a key where these are NULL, gets a context set up per call. */
	const char *verify_alg;	   /* static string; NULL: nothing prepared */
	const EVP_MD *verify_md;   /* the alg's digest (owned by the set); NULL for EdDSA */
	EVP_PKEY_CTX *verify_pctx; /* RS*, PS*, ES*: EVP_PKEY_verify over that digest
				      (only ever duplicated, never used itself);
				      RS*: PKCS#1 v1.5; PS*: PSS, MGF1 with the same
				      digest, salt length = digest length */
	EVP_MD_CTX *verify_mctx;   /* EdDSA, Ed25519: EVP_DigestVerifyInit done;
				      only ever copied, never used itself */
};

struct jwks {
	struct jwk *keys;
	size_t n;
	EVP_MD *md[3]; /* SHA-256, SHA-384, SHA-512, fetched once (verify_md) */
};

/* Parses a JWK Set document {"keys":[...]}. Strict JSON (json_parse), size
 * cap JWKS_MAX_BYTES. *out set only on success. */
int jwks_parse(const char *json, size_t len, const struct log *log, struct jwks **out);

/* NULL-safe. */
void jwks_free(struct jwks *set);

#endif
