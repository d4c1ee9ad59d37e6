/* jwt_mint.h: test-only token and key minting with OpenSSL 3 (unit tests,
 * bench, fuzz corpora); tests/unit/jwt_mint.c, compiled once and linked from
 * the test-fixture archive. Needs OpenSSL, libc and lib/b64url.c.
 *
 * - keys: mint_keygen(MINT_RSA2048 | MINT_RSA1024 | MINT_P256 | MINT_P384 |
 *   MINT_P521 | MINT_ED25519), or mint_rsa_keygen(bits);
 * - public JWK JSON for any of them (mint_jwk), raw members (mint_rsa_ne,
 *   mint_ec_xy, mint_ed_x) to build broken JWKs, and a set (mint_jwks);
 * - signatures over arbitrary header/payload strings with any JWS alg
 *   (mint_token), PS* with a chosen salt length and ES* as DER on request
 *   (struct mint_opts), HMAC tokens (mint_hmac_token), tokens with chosen
 *   signature bytes (mint_token_sig), ECDSA signatures from chosen r and s
 *   (mint_ecdsa_raw, mint_ec_order);
 * - broken variants: mint_flip_sig, mint_flip_payload, mint_truncate_sig,
 *   mint_replace_part.
 *
 * Every returned string or buffer is malloc'd and the caller frees it.
 * Failures abort(): this is test code, a failure is a broken test setup. */
#ifndef OP_JWT_MINT_H
#define OP_JWT_MINT_H

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"

enum mint_kind {
	MINT_RSA2048,
	MINT_RSA1024,
	MINT_P256,
	MINT_P384,
	MINT_P521,
	MINT_ED25519,
};

struct mint_opts {
	int pss_salt_set; /* 0: PS* salt length = digest length (RFC 7518) */
	int pss_saltlen;  /* bytes, or RSA_PSS_SALTLEN_MAX */
	int ecdsa_der;	  /* ES*: DER (wrong for JWS) instead of raw R||S */
};

char *mint_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *mint_b64(const void *p, size_t n);
unsigned char *mint_unb64(const char *s, size_t len, size_t *outlen);
EVP_PKEY *mint_rsa_keygen(unsigned bits);
EVP_PKEY *mint_keygen(enum mint_kind kind);
size_t mint_ec_coord(const EVP_PKEY *k);
const char *mint_ec_crv(size_t coord);
unsigned char *mint_bn_bytes(const BIGNUM *b, size_t pad, size_t *len);
void mint_rsa_ne(const EVP_PKEY *k, unsigned char **n, size_t *nlen, unsigned char **e,
		 size_t *elen);
size_t mint_ec_xy(const EVP_PKEY *k, unsigned char **x, unsigned char **y);
void mint_ed_x(const EVP_PKEY *k, unsigned char x[32]);
char *mint_jwk(const EVP_PKEY *k, const char *kid, const char *extra);
char *mint_jwks(const char *const *jwk, size_t n);
unsigned char *mint_pub_pem(EVP_PKEY *k, size_t *len);
unsigned char *mint_pub_der(EVP_PKEY *k, size_t *len);
const EVP_MD *mint_md(const char *alg);
unsigned char *mint_sign(EVP_PKEY *k, const char *alg, const void *msg, size_t len,
			 const struct mint_opts *o, size_t *siglen);
char *mint_token_sig(const char *header, const char *payload, const unsigned char *sig,
		     size_t siglen);
char *mint_signing_input(const char *header, const char *payload);
char *mint_token(EVP_PKEY *k, const char *alg, const char *header, const char *payload,
		 const struct mint_opts *o);
char *mint_hmac_token(const char *alg, const void *key, size_t keylen, const char *header,
		      const char *payload);
BIGNUM *mint_ec_order(size_t coord);
unsigned char *mint_ecdsa_raw(size_t coord, const BIGNUM *r, const BIGNUM *s);
const char *mint_part(const char *tok, int idx, size_t *len);
char *mint_replace_part(const char *tok, int idx, const char *rep);
char *mint_flip_part(const char *tok, int idx, size_t pos, unsigned char mask);
char *mint_flip_sig(const char *tok, size_t pos, unsigned char mask);
char *mint_flip_payload(const char *tok, size_t pos, unsigned char mask);
char *mint_truncate_sig(const char *tok, size_t drop);

#endif
