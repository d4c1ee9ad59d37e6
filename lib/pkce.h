/* pkce.h: RFC 7636 S256 verifier/challenge, plus the per-login state and
 * nonce. All four are 32 random bytes, base64url: 43 characters. */
#ifndef OP_PKCE_H
#define OP_PKCE_H

#include <stddef.h>

#define PKCE_RAW_LEN 32
#define PKCE_STR_LEN 43 /* base64url of 32 bytes */

struct pkce {
	char verifier[PKCE_STR_LEN + 1];  /* secret: only to the token endpoint */
	char challenge[PKCE_STR_LEN + 1]; /* BASE64URL(SHA256(verifier)) */
	char state[PKCE_STR_LEN + 1];
	char nonce[PKCE_STR_LEN + 1];
};

/* Fresh verifier, challenge, state and nonce from getrandom. */
int pkce_init(struct pkce *p);

/* S256: out = BASE64URL(SHA256(verifier)) (43 chars + NUL). Refuses a
 * verifier outside RFC 7636 §4.1 (43..128 unreserved characters). */
int pkce_challenge(const char *verifier, char out[PKCE_STR_LEN + 1]);

/* Wipes everything (OPENSSL_cleanse). */
void pkce_cleanup(struct pkce *p);

#endif
