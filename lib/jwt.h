/* jwt.h: compact JWS ID tokens, verified strictly (see README "What is
 * refused"). Order: shape -> header -> key selection -> signature -> claims.
 * Every refusal returns its own ERR_* code and logs one LOG_WARNING line with
 * the reason (alg, kid capped at 64 chars; iss and sub only at the claims
 * stage, after the signature), never the token, signature or nonce.
 *
 * What each refusal returns, by stage (jwt_verify checks the policy, then
 * runs the stages in this order; the first failing check wins):
 *   shape      over JWT_MAX_BYTES                         ERR_JWT_TOO_LARGE
 *              empty, not exactly 2 dots (JWE, 2/4 parts),
 *              starts with '{' (JSON serialization), empty
 *              header or payload part                     ERR_JWT_FORMAT
 *              any part not strict base64url ('=', '+', '/',
 *              whitespace, NUL, non-zero trailing bits)   ERR_B64 (not mapped
 *                                                         to ERR_JWT_FORMAT)
 *              header/payload JSON: the json_parse code   ERR_JSON,
 *              (duplicate or case-shadowed member, bad    ERR_JSON_DUP,
 *              UTF-8 or \u0000, > 8 levels deep)          ERR_JSON_UTF8,
 *                                                         ERR_JSON_DEPTH
 *              header not an object; alg missing or not a
 *              string; kid/typ not a string; kid longer than
 *              JWKS_MAX_KID; enc, zip or cty present      ERR_JWT_HEADER
 *              payload not an object                      ERR_JWT_PAYLOAD
 *   header     alg "none" in any case                     ERR_JWT_ALG_NONE
 *              alg "HS..." in any case                    ERR_JWT_ALG_HMAC
 *              any other alg not in enum jwt_alg (exact,
 *              case-sensitive: "rs256" is unknown), or not
 *              in policy.allowed_algs (jwt_verify)        ERR_JWT_ALG_NOT_ALLOWED
 *              crit or b64 present (any value)            ERR_JWT_CRIT
 *              jku, x5u, jwk or x5c present               ERR_JWT_HEADER_KEY
 *              typ present and not "JWT" (ASCII case-
 *              insensitive): at+jwt, logout+jwt, JOSE,
 *              application/jwt, ""                        ERR_JWT_TYP
 *   key        kid not in the set; or no kid and no key
 *              fits the alg (refresh once, retry)         ERR_JWT_KID_UNKNOWN
 *              no kid and several keys fit the alg        ERR_JWT_KID_AMBIGUOUS
 *              key kty/crv does not fit the alg, or its
 *              JWK "alg" is not exactly the header alg    ERR_JWT_KEY_MISMATCH
 *   signature  RSA length != modulus bytes; ECDSA length
 *              != 2 x 32/48/66 (DER refused), r or s = 0
 *              or >= n; EdDSA length != 64                ERR_JWT_SIG_FORMAT
 *              does not verify (PS*: salt must be the
 *              digest length)                             ERR_JWT_SIGNATURE
 *   claims     events present (logout token)              ERR_CLAIM_EVENTS
 *              iss, sub, aud, exp, iat or nonce absent    ERR_CLAIM_MISSING
 *              a claim of the wrong JSON type: iss, sub,
 *              azp, nonce, at_hash not a string; aud not a
 *              string or array of strings; exp, iat, nbf,
 *              auth_time not a NumericDate (string, bool,
 *              null, negative, >= 2^53, 1e400)            ERR_CLAIM_TYPE
 *              iss not byte-equal to policy.issuer        ERR_CLAIM_ISS
 *              sub empty or longer than JWT_MAX_SUB       ERR_CLAIM_SUB
 *              aud without client_id (also aud [])        ERR_CLAIM_AUD
 *              azp != client_id, or several aud values
 *              and no azp                                 ERR_CLAIM_AZP
 *              now >= exp + skew                          ERR_CLAIM_EXP
 *              nbf > now + skew                           ERR_CLAIM_NBF
 *              iat > now + skew                           ERR_CLAIM_IAT_FUTURE
 *              iat < now - max_token_age - skew           ERR_CLAIM_IAT_OLD
 *              nonce != policy.nonce (constant time)      ERR_CLAIM_NONCE
 *              at_hash present, policy.access_token set,
 *              and not the left half of SHA-256/384/512
 *              (by alg; EdDSA/Ed25519: SHA-512)           ERR_CLAIM_AT_HASH
 *   policy     issuer, client_id or nonce NULL or empty,
 *              clock_skew outside [0, 86400], max_token_age
 *              outside [1 s, 100 years], now <= 0         ERR_INVAL
 *
 * The payload is parsed (strict json_parse) in jwt_parse, before the
 * signature is checked, so that jwt_check_claims works on a parsed token;
 * jwt_verify uses no claim before the signature has verified. */
#ifndef OP_JWT_H
#define OP_JWT_H

#include <cJSON.h>
#include <stddef.h>
#include <time.h>

#include "jwks.h"
#include "log.h"

#define JWT_MAX_BYTES (16 * 1024)
#define JWT_MAX_SUB   255

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
	JWT_EDDSA = 1u << 9,	/* "EdDSA" (RFC 8037), Ed25519 keys only */
	JWT_ED25519 = 1u << 10, /* "Ed25519" (RFC 9864) */
};
#define JWT_ALG_ALL 0x7ffu

/* Exact, case-sensitive JWA name -> bit; 0 for unknown, none and HS*. */
unsigned jwt_alg_from_name(const char *name);
/* bit -> JWA name; NULL for anything but a single known bit. */
const char *jwt_alg_name(unsigned alg);

struct jwt_policy {
	const char *issuer;	  /* iss must equal this exactly */
	const char *client_id;	  /* aud must equal or contain it; azp rules */
	const char *nonce;	  /* required; compared in constant time */
	unsigned allowed_algs;	  /* mask of enum jwt_alg */
	long clock_skew;	  /* seconds, applied to exp, nbf, iat */
	long max_token_age;	  /* seconds: iat must be newer than now - this - skew */
	time_t now;		  /* injected clock */
	const char *access_token; /* if set and at_hash present: must match */
};

struct jwt {
	cJSON *header;
	cJSON *payload;
	unsigned alg;	     /* one bit of enum jwt_alg */
	const char *kid;     /* points into header, NULL when absent */
	char *signing_input; /* "b64header.b64payload" */
	size_t signing_input_len;
	unsigned char *sig;
	size_t sig_len;
	/* signing_input and sig share the struct's allocation: jwt_free only */
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
int jwt_verify(const char *token, size_t len, const struct jwks *keys, const struct jwt_policy *pol,
	       const struct log *log, struct jwt **out);

/* NULL-safe. */
void jwt_free(struct jwt *t);

#endif
