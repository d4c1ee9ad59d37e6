/* b64url.h: strict base64url without padding (RFC 7515 §2, RFC 4648 §5). */
#ifndef OP_B64URL_H
#define OP_B64URL_H

#include <stddef.h>

/* Characters needed to encode n bytes (no padding), without the NUL. */
size_t b64url_encoded_len(size_t n);

/* Encodes n bytes into out (outlen >= b64url_encoded_len(n) + 1, NUL
 * terminated). ERR_INVAL if out is too small. */
int b64url_encode(const unsigned char *in, size_t n, char *out, size_t outlen);

/* Decodes exactly len characters. Refuses (ERR_B64) '=' padding, '+', '/',
 * whitespace, any other byte outside [A-Za-z0-9_-], a length of 4k+1, and
 * non-zero trailing bits (so each byte string has one encoding). On success
 * *out is malloc'd (NUL-terminated one past *outlen; caller frees) and
 * *outlen is set. */
int b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

/* Bytes b64url_decode_into may write for len characters (an upper bound). */
#define B64URL_DECODED_MAX(len) ((len) / 4 * 3 + 3)

/* As b64url_decode, into out (cap >= B64URL_DECODED_MAX(len), else
 * ERR_INVAL), without allocating; *outlen = bytes written (no NUL). */
int b64url_decode_into(const char *in, size_t len, unsigned char *out, size_t cap, size_t *outlen);

/* 1 when s[0..len) is 43 characters of [A-Za-z0-9_-] (a base64url SHA-256
 * or 32 random bytes: PKCE challenge, state, poll secret hash). */
int b64url_is43(const char *s, size_t len);

#endif
