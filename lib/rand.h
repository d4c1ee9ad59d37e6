/* rand.h: cryptographic randomness from getrandom(2), never a fallback. */
#ifndef OP_RAND_H
#define OP_RAND_H

#include <stddef.h>

/* Fills buf with n random bytes. ERR_RANDOM if the kernel fails. */
int rand_bytes(void *buf, size_t n);

/* nbytes random bytes, base64url-encoded into out (NUL-terminated).
 * outlen must be >= b64url_encoded_len(nbytes) + 1. nbytes <= 64. */
int rand_token(char *out, size_t outlen, size_t nbytes);

#endif
