/* err.c: text for every code in err.h. */
#include "err.h"

struct err_text {
	int code;
	const char *text;
};

static const struct err_text texts[] = {
	{ ERR_OK, "success" },
	{ ERR_INTERNAL, "internal error" },
	{ ERR_NOMEM, "out of memory" },
	{ ERR_INVAL, "invalid argument" },
	{ ERR_RANDOM, "random number generator failed" },
	{ ERR_TOO_LARGE, "input too large" },
	{ ERR_IO, "I/O error" },
	{ ERR_B64, "invalid base64url encoding" },
	{ ERR_JSON, "invalid JSON" },
	{ ERR_JSON_DUP, "duplicate JSON member name" },
	{ ERR_JSON_DEPTH, "JSON nested too deep" },
	{ ERR_JSON_UTF8, "invalid UTF-8 or NUL escape in JSON" },
	{ ERR_JSON_TYPE, "JSON member has the wrong type" },
	{ ERR_CONFIG, "configuration error" },
	{ ERR_CONFIG_PERM, "unsafe file ownership or permissions" },
	{ ERR_CONFIG_MISSING, "required configuration key missing" },
	{ ERR_HTTP_URL, "URL not allowed (https only)" },
	{ ERR_HTTP_CONNECT, "could not connect" },
	{ ERR_HTTP_TLS, "TLS or certificate verification failed" },
	{ ERR_HTTP_TIMEOUT, "HTTP request timed out" },
	{ ERR_HTTP_STATUS, "unexpected HTTP status" },
	{ ERR_HTTP_TOO_LARGE, "HTTP response too large" },
	{ ERR_HTTP_CTYPE, "unexpected HTTP Content-Type" },
	{ ERR_HTTP, "HTTP transfer failed" },
	{ ERR_HTTP_REDIRECT, "HTTP redirect refused" },
	{ ERR_DISCOVERY, "discovery document unusable" },
	{ ERR_DISCOVERY_ISSUER, "discovery issuer does not match the configured issuer" },
	{ ERR_DISCOVERY_PKCE, "identity provider does not support PKCE S256" },
	{ ERR_JWKS, "JWK set unusable" },
	{ ERR_JWKS_NO_KEYS, "no usable key in the JWK set" },
	{ ERR_CACHE, "cache directory unsafe or unusable" },
	{ ERR_JWT_FORMAT, "token is not a compact JWS (3 parts)" },
	{ ERR_JWT_TOO_LARGE, "token too large" },
	{ ERR_JWT_HEADER, "invalid token header" },
	{ ERR_JWT_ALG_NONE, "unsigned token (alg none) refused" },
	{ ERR_JWT_ALG_HMAC, "HMAC-signed token refused" },
	{ ERR_JWT_ALG_NOT_ALLOWED, "token algorithm not allowed" },
	{ ERR_JWT_CRIT, "token header has crit" },
	{ ERR_JWT_HEADER_KEY, "token header carries a key or key URL (jku/x5u/jwk/x5c)" },
	{ ERR_JWT_TYP, "token typ is not JWT" },
	{ ERR_JWT_KID_UNKNOWN, "no key with the token's kid" },
	{ ERR_JWT_KID_AMBIGUOUS, "token has no kid and several keys match" },
	{ ERR_JWT_KEY_MISMATCH, "key does not fit the token algorithm" },
	{ ERR_JWT_SIG_FORMAT, "malformed signature" },
	{ ERR_JWT_SIGNATURE, "signature does not verify" },
	{ ERR_JWT_PAYLOAD, "invalid token payload" },
	{ ERR_CLAIM_ISS, "iss does not match the issuer" },
	{ ERR_CLAIM_SUB, "sub missing, empty or too long" },
	{ ERR_CLAIM_AUD, "aud does not contain client_id" },
	{ ERR_CLAIM_AZP, "azp missing or not client_id" },
	{ ERR_CLAIM_EXP, "token expired" },
	{ ERR_CLAIM_NBF, "token not yet valid (nbf)" },
	{ ERR_CLAIM_IAT_FUTURE, "token issued in the future (iat)" },
	{ ERR_CLAIM_IAT_OLD, "token too old (iat)" },
	{ ERR_CLAIM_NONCE, "nonce mismatch" },
	{ ERR_CLAIM_MISSING, "required claim missing" },
	{ ERR_CLAIM_TYPE, "claim has the wrong type" },
	{ ERR_CLAIM_AT_HASH, "at_hash does not match the access token" },
	{ ERR_CLAIM_EVENTS, "token is a logout token" },
	{ ERR_TOKEN_ERROR, "token endpoint returned an error" },
	{ ERR_TOKEN_RESPONSE, "token response malformed" },
	{ ERR_AUTHZ_RESPONSE, "malformed authorization response" },
	{ ERR_AUTHZ_STATE, "state does not match this login" },
	{ ERR_AUTHZ_ISS, "authorization response iss missing or wrong" },
	{ ERR_AUTHZ_ERROR, "identity provider returned an error" },
	{ ERR_IPC, "malformed frame from the other process" },
	{ ERR_IPC_TIMEOUT, "deadline passed" },
	{ ERR_IPC_CLOSED, "the other process closed the channel" },
	{ ERR_FLOW, "login flow failed" },
};

const char *err_str(int code)
{
	for (unsigned i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i].code == code)
			return texts[i].text;
	return "unknown error";
}
