/* jwt.h: compact JWS ID tokens, verified strictly (see README "What is
 * refused"). Order: shape -> header -> key selection -> signature -> claims.
 * Every refusal returns its own ERR_* code and logs one line with the reason
 * (alg, kid, iss, sub...), never the token. */
#ifndef OP_JWT_H
#define OP_JWT_H

#include <cJSON.h>
#include <stddef.h>
#include <time.h>

#include "jwks.h"
#include "log.h"

#define JWT_MAX_BYTES (16 * 1024)
#define JWT_MAX_SUB 255

/* Signature algorithms, as a bit mask for allow-lists. HS* and none do not
 * exist here: they are refused whatever the configuration says. */
enum jwt_alg {
	JWT_RS256 = 1u << 0,
	JWT_RS384 = 1u << 1,
	JWT_RS512 = 1u << 2,
	JWT_PS256 = 1u << 3,
	JWT_PS384 = 1u << 4,
	JWT_PS512 = 1u << 5,
	JWT_ES256 = 1u << 6,
	JWT_ES384 = 1u << 7,
	JWT_ES512 = 1u << 8,
	JWT_EDDSA = 1u << 9,   /* "EdDSA" (RFC 8037), Ed25519 keys only */
	JWT_ED25519 = 1u << 10, /* "Ed25519" (RFC 9864) */
};
#define JWT_ALG_ALL 0x7ffu

/* Exact, case-sensitive JWA name -> bit; 0 for unknown, none and HS*. */
unsigned jwt_alg_from_name(const char *name);
/* bit -> JWA name; NULL for anything but a single known bit. */
const char *jwt_alg_name(unsigned alg);

struct jwt_policy {
	const char *issuer;    /* iss must equal this exactly */
	const char *client_id; /* aud must equal or contain it; azp rules */
	const char *nonce;     /* required; compared in constant time */
	unsigned allowed_algs; /* mask of enum jwt_alg */
	long clock_skew;       /* seconds, applied to exp, nbf, iat */
	long max_token_age;    /* seconds: iat must be newer than now - this - skew */
	time_t now;            /* injected clock */
	const char *access_token; /* if set and at_hash present: must match */
};

struct jwt {
	cJSON *header;
	cJSON *payload;
	unsigned alg;     /* one bit of enum jwt_alg */
	const char *kid;  /* points into header, NULL when absent */
	char *signing_input; /* "b64header.b64payload" */
	size_t signing_input_len;
	unsigned char *sig;
	size_t sig_len;
};

/* Shape and header checks only (3 parts, base64url, JSON, alg, typ, crit,
 * jku/x5u/jwk/x5c). No signature, no claims. */
int jwt_parse(const char *token, size_t len, const struct log *log, struct jwt **out);

/* Picks the key for the token: by kid when present (ERR_JWT_KID_UNKNOWN when
 * no key has it), else the one key that fits the alg (ERR_JWT_KID_AMBIGUOUS
 * when several fit). A key whose kty/crv/size/alg member does not fit the
 * header alg: ERR_JWT_KEY_MISMATCH. */
int jwt_select_key(const struct jwt *t, const struct jwks *keys, const struct log *log,
		   const struct jwk **out);

/* Verifies the signature with key (ECDSA: raw R||S of exact size, r,s in
 * [1, n-1]; PS*: salt length = digest length). */
int jwt_verify_signature(const struct jwt *t, const struct jwk *key, const struct log *log);

/* iss, sub, aud, azp, exp, nbf, iat, nonce, at_hash, claim types. */
int jwt_check_claims(const struct jwt *t, const struct jwt_policy *pol, const struct log *log);

/* All of the above. On success *out holds the verified token (jwt_free it).
 * ERR_JWT_KID_UNKNOWN means: refresh the key set once and call again. */
int jwt_verify(const char *token, size_t len, const struct jwks *keys,
	       const struct jwt_policy *pol, const struct log *log, struct jwt **out);

/* NULL-safe. */
void jwt_free(struct jwt *t);

#endif
