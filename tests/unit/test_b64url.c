/* test_b64url.c: strict base64url (IDT-10 alphabet/padding cases). */
#include <stdlib.h>

#include "b64url.h"
#include "err.h"
#include "tap.h"

/* A plain bit-by-bit reference decoder with the same rules, to check the
 * table-driven one against. */
static int ref_decode(const unsigned char *in, size_t len, unsigned char *out, size_t *outlen)
{
	unsigned long acc = 0;
	size_t o = 0, bits = 0;

	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		const char *al = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		const char *p = in[i] ? strchr(al, in[i]) : NULL;
		if (!p)
			return -1;
		acc = ((acc << 6) | (unsigned long)(p - al)) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (bits && (acc & ((1UL << bits) - 1)))
		return -1;
	*outlen = o;
	return 0;
}

static int dec(const char *s, unsigned char **out, size_t *n)
{
	return b64url_decode(s, strlen(s), out, n);
}

int main(void)
{
	char enc[64];
	unsigned char *out = NULL;
	size_t n = 0;

	T_CASE("rfc4648 vectors");
	const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	const char *coded[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
	for (int i = 0; i < 7; i++) {
		T_EQ(b64url_encode((const unsigned char *)plain[i], strlen(plain[i]), enc,
				   sizeof(enc)),
		     0);
		T_STREQ(enc, coded[i]);
		T_EQ(dec(coded[i], &out, &n), 0);
		T_EQ(n, strlen(plain[i]));
		T_OK(memcmp(out, plain[i], n) == 0);
		free(out);
	}

	T_CASE("url alphabet");
	const unsigned char hi[] = { 0xfb, 0xff, 0xbf };
	T_EQ(b64url_encode(hi, 3, enc, sizeof(enc)), 0);
	T_STREQ(enc, "-_-_");
	T_EQ(dec("-_-_", &out, &n), 0);
	T_OK(n == 3 && memcmp(out, hi, 3) == 0);
	free(out);

	T_CASE("IDT-10 refuse padding, +, /, whitespace, 4k+1, trailing bits");
	T_EQ(dec("Zg==", &out, &n), ERR_B64);
	T_EQ(dec("Zm8=", &out, &n), ERR_B64);
	T_EQ(dec("+/+/", &out, &n), ERR_B64);
	T_EQ(dec("Zm9v ", &out, &n), ERR_B64);
	T_EQ(dec("Zm9\nv", &out, &n), ERR_B64);
	T_EQ(dec("Zm9vY", &out, &n), ERR_B64);
	T_EQ(dec("Zh", &out, &n), ERR_B64);  /* 'h' leaves non-zero trailing bits */
	T_EQ(dec("Zm9", &out, &n), ERR_B64); /* '9' leaves non-zero trailing bits */
	T_EQ(b64url_decode("Zg\0A", 4, &out, &n), ERR_B64);

	T_CASE("IDT-10 table decoder agrees with the reference on every 2-3 byte input");
	int mismatch = 0;
	for (unsigned long i = 0; i < 65536UL * 4; i++) {
		unsigned char in[3] = { (unsigned char)(i >> 10), (unsigned char)(i >> 2),
					"A_=z"[i & 3] };
		unsigned char a[8], b[8];
		size_t na = 0, nb = 0;
		for (size_t len = 2; len <= 3; len++) {
			int ra = b64url_decode_into((const char *)in, len, a, sizeof(a), &na);
			int rb = ref_decode(in, len, b, &nb);
			if ((ra == 0) != (rb == 0) || (ra == 0 && (na != nb || memcmp(a, b, na))))
				mismatch++;
		}
	}
	T_EQ(mismatch, 0);
	T_EQ(b64url_decode_into("Zm9v", 4, (unsigned char *)enc, 5, &n), ERR_INVAL);

	T_CASE("encode buffer too small");
	T_EQ(b64url_encode((const unsigned char *)"foo", 3, enc, 4), ERR_INVAL);
	T_EQ(b64url_encoded_len(32), 43);
	T_CASE("b64url_is43: 43 characters of the base64url alphabet, no more, no less");
	T_OK(b64url_is43("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", 43));
	T_OK(b64url_is43("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw_cMx", 43));
	T_OK(!b64url_is43("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c", 42));
	T_OK(!b64url_is43("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cMx", 44));
	T_OK(!b64url_is43("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM", 43));
	T_OK(!b64url_is43("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw=cM", 43));
	T_OK(!b64url_is43("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw\0cM", 43));
	T_OK(!b64url_is43(NULL, 43));
	return t_done();
}
