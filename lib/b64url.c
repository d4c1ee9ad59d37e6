/* b64url.c: strict base64url. */
#include "b64url.h"

#include <stdint.h>
#include <stdlib.h>

#include "err.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

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
		unsigned long v =
			((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8) | in[i + 2];
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

/* Decoding runs over every byte of every token, so it is table-driven: four
 * tables, one per position in a 4-character group, turn each group into 24
 * bits with three additions.
 * An entry is 1 << 24 (a "valid" count) plus the 6-bit value already
 * shifted into place; characters outside the alphabet are 0, so a group is
 * valid exactly when the counts add up to the number of characters. The
 * value fields do not overlap: the sum never carries into the count. */
/* clang-format off */
#define B64URL_ALPHABET(E) \
	E('A', 0) E('B', 1) E('C', 2) E('D', 3) E('E', 4) E('F', 5) E('G', 6) E('H', 7) \
	E('I', 8) E('J', 9) E('K', 10) E('L', 11) E('M', 12) E('N', 13) E('O', 14) E('P', 15) \
	E('Q', 16) E('R', 17) E('S', 18) E('T', 19) E('U', 20) E('V', 21) E('W', 22) E('X', 23) \
	E('Y', 24) E('Z', 25) E('a', 26) E('b', 27) E('c', 28) E('d', 29) E('e', 30) E('f', 31) \
	E('g', 32) E('h', 33) E('i', 34) E('j', 35) E('k', 36) E('l', 37) E('m', 38) E('n', 39) \
	E('o', 40) E('p', 41) E('q', 42) E('r', 43) E('s', 44) E('t', 45) E('u', 46) E('v', 47) \
	E('w', 48) E('x', 49) E('y', 50) E('z', 51) E('0', 52) E('1', 53) E('2', 54) E('3', 55) \
	E('4', 56) E('5', 57) E('6', 58) E('7', 59) E('8', 60) E('9', 61) E('-', 62) E('_', 63)
/* clang-format on */
#define B64_AT(c, v, shift) [(unsigned char)(c)] = (UINT32_C(1) << 24) | ((uint32_t)(v) << (shift)),
#define B64_0(c, v)	    B64_AT(c, v, 18)
#define B64_1(c, v)	    B64_AT(c, v, 12)
#define B64_2(c, v)	    B64_AT(c, v, 6)
#define B64_3(c, v)	    B64_AT(c, v, 0)
static const uint32_t b64_pos[4][256] = {
	{ B64URL_ALPHABET(B64_0) },
	{ B64URL_ALPHABET(B64_1) },
	{ B64URL_ALPHABET(B64_2) },
	{ B64URL_ALPHABET(B64_3) },
};

int b64url_decode_into(const char *in, size_t len, unsigned char *out, size_t cap, size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0, rest;
	uint32_t v;

	if (!out || !outlen || (len && !in))
		return ERR_INVAL;
	if (cap < B64URL_DECODED_MAX(len))
		return ERR_INVAL;
	if (len % 4 == 1)
		return ERR_B64;
	for (; len - i >= 4; i += 4) {
		v = b64_pos[0][s[i]] + b64_pos[1][s[i + 1]] + b64_pos[2][s[i + 2]] +
		    b64_pos[3][s[i + 3]];
		if (v >> 24 != 4)
			return ERR_B64;
		out[o++] = (unsigned char)(v >> 16);
		out[o++] = (unsigned char)(v >> 8);
		out[o++] = (unsigned char)v;
	}
	/* 2 or 3 characters left: 1 or 2 bytes, then 4 or 2 bits that must be 0 */
	if ((rest = len - i) >= 2) {
		v = b64_pos[0][s[i]] + b64_pos[1][s[i + 1]] +
		    (rest == 3 ? b64_pos[2][s[i + 2]] : 0);
		if (v >> 24 != rest || (v & (rest == 3 ? 0xffu : 0xffffu)) != 0)
			return ERR_B64;
		out[o++] = (unsigned char)(v >> 16);
		if (rest == 3)
			out[o++] = (unsigned char)(v >> 8);
	}
	*outlen = o;
	return ERR_OK;
}

int b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	unsigned char *buf;
	size_t n = 0;
	int r;

	if (!out || !outlen || (len && !in))
		return ERR_INVAL;
	if (!(buf = malloc(B64URL_DECODED_MAX(len) + 1)))
		return ERR_NOMEM;
	if ((r = b64url_decode_into(in, len, buf, B64URL_DECODED_MAX(len), &n)) != 0) {
		free(buf);
		return r;
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return ERR_OK;
}

int b64url_is43(const char *s, size_t len)
{
	if (!s || len != 43)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return 1;
}
