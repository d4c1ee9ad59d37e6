/* test_b64url.c: strict base64url (IDT-10 alphabet/padding cases). */
#include <stdlib.h>

#include "b64url.h"
#include "err.h"
#include "tap.h"

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
		T_EQ(b64url_encode((const unsigned char *)plain[i], strlen(plain[i]), enc, sizeof(enc)), 0);
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

	T_CASE("encode buffer too small");
	T_EQ(b64url_encode((const unsigned char *)"foo", 3, enc, 4), ERR_INVAL);
	T_EQ(b64url_encoded_len(32), 43);
	return t_done();
}
