/* b64url.c: strict base64url. */
#include "b64url.h"

#include <stdlib.h>

#include "err.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64url_encoded_len(size_t n)
{
	return (n / 3) * 4 + ((n % 3) ? (n % 3) + 1 : 0);
}

int b64url_encode(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (!out || (n && !in) || outlen < b64url_encoded_len(n) + 1)
		return ERR_INVAL;
	for (i = 0; i + 2 < n; i += 3) {
		unsigned long v = ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8) | in[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		out[o++] = alphabet[in[i] >> 2];
		out[o++] = alphabet[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		unsigned long v = ((unsigned long)in[i] << 8) | in[i + 1];
		out[o++] = alphabet[(v >> 10) & 63];
		out[o++] = alphabet[(v >> 4) & 63];
		out[o++] = alphabet[(v << 2) & 63];
	}
	out[o] = '\0';
	return ERR_OK;
}

static int value_of(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	unsigned char *buf;
	unsigned long acc = 0;
	size_t i, o = 0, bits = 0;

	if (!out || !outlen || (len && !in))
		return ERR_INVAL;
	if (len % 4 == 1)
		return ERR_B64;
	buf = malloc(len / 4 * 3 + 3);
	if (!buf)
		return ERR_NOMEM;
	for (i = 0; i < len; i++) {
		int v = value_of((unsigned char)in[i]);
		if (v < 0) {
			free(buf);
			return ERR_B64;
		}
		acc = ((acc << 6) | (unsigned long)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* leftover bits (2 or 4) must be zero: one canonical encoding */
	if (bits && (acc & ((1UL << bits) - 1))) {
		free(buf);
		return ERR_B64;
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return ERR_OK;
}
