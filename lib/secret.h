/* secret.h: releasing memory that held a secret (a verifier, code, token,
 * client secret, page with a csrf token): wiped with OPENSSL_cleanse, then
 * freed, like OpenBSD's freezero. The one way lib/, the helper and the relay
 * free such memory. (The PAM module does not link OpenSSL: explicit_bzero.) */
#ifndef OP_SECRET_H
#define OP_SECRET_H

#include <stddef.h>

/* Wipes p[0..len) and frees p. NULL-safe. */
void secret_free(void *p, size_t len);

/* secret_free(s, strlen(s)) for a NUL-terminated string. NULL-safe. */
void secret_str_free(char *s);

#endif
