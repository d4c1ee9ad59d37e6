/* err.h: the one error vocabulary of lib/ (negative codes, 0 = OK).
 * The library never returns PAM codes and never prints; programs map these
 * codes to exit codes or PAM results in exactly one place each. */
#ifndef OP_ERR_H
#define OP_ERR_H

enum err_code {
	ERR_OK = 0,
	ERR_INTERNAL = -1,
	ERR_NOMEM = -2,
	ERR_INVAL = -3,	    /* bad argument from the caller */
	ERR_RANDOM = -4,    /* getrandom failed */
	ERR_TOO_LARGE = -5, /* input over its size cap */
	ERR_IO = -6,

	/* encoding and JSON */
	ERR_B64 = -20,	      /* bad base64url (padding, alphabet, trailing bits) */
	ERR_JSON = -21,	      /* not valid JSON */
	ERR_JSON_DUP = -22,   /* duplicate member name */
	ERR_JSON_DEPTH = -23, /* nested too deep */
	ERR_JSON_UTF8 = -24,  /* invalid UTF-8 or a \u0000 escape */
	ERR_JSON_TYPE = -25,  /* member of the wrong JSON type */

	/* config */
	ERR_CONFIG = -40,	  /* syntax, unknown key, bad value (with file:line) */
	ERR_CONFIG_PERM = -41,	  /* file owner/mode unsafe */
	ERR_CONFIG_MISSING = -42, /* a required key is not set */

	/* HTTP / network */
	ERR_HTTP_URL = -60,	/* scheme/host not allowed (https only) */
	ERR_HTTP_CONNECT = -61, /* could not connect / resolve */
	ERR_HTTP_TLS = -62,	/* certificate or TLS failure */
	ERR_HTTP_TIMEOUT = -63,
	ERR_HTTP_STATUS = -64, /* unexpected HTTP status (incl. redirects) */
	ERR_HTTP_TOO_LARGE = -65,
	ERR_HTTP_CTYPE = -66,	 /* Content-Type not as expected */
	ERR_HTTP = -67,		 /* other transfer failure */
	ERR_HTTP_REDIRECT = -68, /* a 3xx answer: never followed */

	/* discovery / JWKS */
	ERR_DISCOVERY = -80,	    /* discovery document unusable */
	ERR_DISCOVERY_ISSUER = -81, /* issuer in document != configured issuer */
	ERR_DISCOVERY_PKCE = -82,   /* S256 not supported */
	ERR_JWKS = -83,		    /* JWK set unusable */
	ERR_JWKS_NO_KEYS = -84,	    /* no usable key in the set */
	ERR_CACHE = -85,	    /* cache dir unsafe or unusable */

	/* JWT shape and signature */
	ERR_JWT_FORMAT = -100, /* not 3 dot-separated parts / JWE / JSON serialization */
	ERR_JWT_TOO_LARGE = -101,
	ERR_JWT_HEADER = -102,	 /* header not a JSON object / bad member */
	ERR_JWT_ALG_NONE = -103, /* alg none (any case) */
	ERR_JWT_ALG_HMAC = -104, /* HS* never accepted */
	ERR_JWT_ALG_NOT_ALLOWED = -105,
	ERR_JWT_CRIT = -106,	      /* crit header present */
	ERR_JWT_HEADER_KEY = -107,    /* jku/x5u/jwk/x5c present */
	ERR_JWT_TYP = -108,	      /* typ neither absent nor JWT */
	ERR_JWT_KID_UNKNOWN = -109,   /* no key with that kid (after refresh) */
	ERR_JWT_KID_AMBIGUOUS = -110, /* no kid and several candidate keys */
	ERR_JWT_KEY_MISMATCH = -111,  /* key kty/crv/alg does not fit the header alg */
	ERR_JWT_SIG_FORMAT = -112,    /* signature wrong length / ECDSA r,s out of range */
	ERR_JWT_SIGNATURE = -113,     /* signature does not verify */
	ERR_JWT_PAYLOAD = -114,	      /* payload not a JSON object */

	/* ID-token claims */
	ERR_CLAIM_ISS = -130,
	ERR_CLAIM_SUB = -131,
	ERR_CLAIM_AUD = -132,
	ERR_CLAIM_AZP = -133,
	ERR_CLAIM_EXP = -134,
	ERR_CLAIM_NBF = -135,
	ERR_CLAIM_IAT_FUTURE = -136,
	ERR_CLAIM_IAT_OLD = -137,
	ERR_CLAIM_NONCE = -138,
	ERR_CLAIM_MISSING = -139, /* a required claim is absent */
	ERR_CLAIM_TYPE = -140,	  /* a claim has the wrong JSON type */
	ERR_CLAIM_AT_HASH = -141,
	ERR_CLAIM_EVENTS = -142, /* logout token presented as ID token */
	/* per-service assurance (lib/assurance.c: IDT-25, IDT-26) */
	ERR_CLAIM_ACR = -143,	      /* acr absent or not one of required_acr */
	ERR_CLAIM_AMR = -144,	      /* amr absent or lacks a required_amr value */
	ERR_CLAIM_AUTH_TIME = -145,   /* max_age sent and auth_time absent */
	ERR_CLAIM_AUTH_OLD = -146,    /* now - auth_time > max_age + skew */
	ERR_CLAIM_AUTH_FUTURE = -147, /* auth_time > now + skew */

	/* token endpoint */
	ERR_TOKEN_ERROR = -160,	   /* IdP answered with an OAuth error */
	ERR_TOKEN_RESPONSE = -161, /* response malformed / token_type / no id_token */

	/* authorization request / response */
	ERR_AUTHZ_RESPONSE = -180, /* malformed callback parameters */
	ERR_AUTHZ_STATE = -181,	   /* state is not the one this login sent */
	ERR_AUTHZ_ISS = -182,	   /* RFC 9207 iss missing or wrong */
	ERR_AUTHZ_ERROR = -183,	   /* the IdP answered error=... */
	ERR_QUERY = -184,	   /* malformed query string or form body (lib/qs.c) */

	/* module <-> helper frames */
	ERR_IPC = -190,		/* malformed or oversize frame */
	ERR_IPC_TIMEOUT = -191, /* deadline passed */
	ERR_IPC_CLOSED = -192,	/* peer closed the channel */

	/* mapping the ID token to a local account */
	ERR_MAP_CLAIM = -240,	/* username claim missing or not a string */
	ERR_MAP_DOMAIN = -241,	/* not in the strip_domain domain */
	ERR_MAP_NAME = -242,	/* not a plain local user name */
	ERR_MAP_NO_USER = -243, /* no such local account */
	ERR_MAP_ROOT = -244,	/* uid 0 without allow_root */
	ERR_MAP_GROUP = -245,	/* not in allowed_groups */
	ERR_MAP_FILE = -246,	/* map_file unsafe, malformed, or no entry */
	ERR_MAP_EMAIL = -247,	/* email used but email_verified not true */

	ERR_RATE_LIMITED = -250, /* too many logins started for this user/host */

	/* UserInfo endpoint (OIDC Core 5.3, IDT-29) */
	ERR_USERINFO_SERVER = -260,	 /* HTTP 5xx: unavailable */
	ERR_USERINFO_TOKEN = -261,	 /* HTTP 401/403: access token refused */
	ERR_USERINFO_STATUS = -262,	 /* any other status but 200 */
	ERR_USERINFO_JWT = -263,	 /* application/jwt (signed/encrypted): refused */
	ERR_USERINFO_CTYPE = -264,	 /* not application/json */
	ERR_USERINFO_RESPONSE = -265,	 /* not an object, sub missing or not a string */
	ERR_USERINFO_SUB = -266,	 /* sub is not the ID token's sub */
	ERR_USERINFO_NO_ENDPOINT = -267, /* discovery has no userinfo_endpoint */

	/* the helper's login flow */
	ERR_FLOW = -200,
	ERR_FLOW_CODE_TRIES = -201, /* the confirmation code typed wrong MAX times */
	ERR_FLOW_DEADLINE = -202,   /* the login's own deadline passed (not a frame's) */

	/* the helper's privilege drop (PAM-23) */
	ERR_PRIV_NO_USER = -270, /* helper_user: no such account */
	ERR_PRIV_ROOT = -271,	 /* helper_user is uid or gid 0 */
	ERR_PRIV_DROP = -272,	 /* setgroups/setresgid/setresuid/prctl failed or not in effect */
	ERR_PRIV_SHARED = -273,	 /* helper_user is the shared overflow account (nobody) */

	/* callback relay (relay/) */
	ERR_RELAY_NOT_FOUND = -220, /* no such session (unknown, expired, or bad secret) */
	ERR_RELAY_DUP = -221,	    /* state already registered */
	ERR_RELAY_DUP_ID = -222,    /* short id already taken (draw again) */
	ERR_RELAY_FULL = -223,	    /* session cap reached */
	ERR_RELAY_CSRF = -224,	    /* anti-CSRF token wrong */
	ERR_RELAY_GONE = -225,	    /* link used up or login no longer pending */
	ERR_RELAY_USED = -226,	    /* a callback for this state was already received */
	ERR_RELAY_REQUEST = -227,   /* malformed relay request */
	ERR_RELAY_AUTH_URL = -228,  /* authorization URL not allowed */
};

/* Human-readable, stable, one line; never NULL. */
const char *err_str(int code);

#endif
