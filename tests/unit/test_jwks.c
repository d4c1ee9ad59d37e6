/* test_jwks.c: JWK Set parsing with real exported keys (IDT-05, IDT-07,
 * IDT-15). Each unusable key is shown to be skipped with one warning while
 * the good key next to it stays usable, and to give ERR_JWKS_NO_KEYS alone. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jwks.h"
#include "jwt.h"
#include "jwt_mint.h"
#include "log_capture.h"
#include "tap.h"

static const struct log tlog = { logcap_sink, NULL, 0 };

static char *pool[4096];
static size_t npool;

static const char *keep(char *s)
{
	if (npool == sizeof(pool) / sizeof(pool[0]))
		abort();
	pool[npool++] = s;
	return s;
}
#define F(...) keep(mint_printf(__VA_ARGS__))

static EVP_PKEY *k_rsa, *k_rsa1024, *k_p256, *k_p384, *k_p521, *k_ed;
static const char *good; /* RSA-2048, kid "good" */

static int parse(const char *doc, size_t len, struct jwks **out)
{
	logcap_reset();
	return jwks_parse(doc, len, &tlog, out);
}

static int parse_s(const char *doc, struct jwks **out)
{
	return parse(doc, strlen(doc), out);
}

/* A valid ID token for the "good" key, verified against set. */
static int good_key_verifies(const struct jwks *set)
{
	struct jwt_policy pol = {
		"https://idp.example.com", "c", "n", JWT_ALG_ALL, 60, 600, 1700000000, NULL
	};
	const char *pl = "{\"iss\":\"https://idp.example.com\",\"sub\":\"s\",\"aud\":\"c\","
			 "\"exp\":1700000300,\"iat\":1700000000,\"nonce\":\"n\"}";
	char *t = mint_token(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"good\"}", pl, NULL);
	struct jwt *out = NULL;
	int r = jwt_verify(t, strlen(t), set, &pol, NULL, &out);

	jwt_free(out);
	free(t);
	return r;
}

/* [bad, good] keeps only good with one warning; [bad] alone has no key. */
#define SKIPPED(bad)                                                                               \
	do {                                                                                       \
		const char *set_[2] = { (bad), good };                                             \
		char *doc_ = mint_jwks(set_, 2);                                                   \
		struct jwks *k_ = NULL;                                                            \
		T_EQ(parse_s(doc_, &k_), 0);                                                       \
		T_OK(k_ && k_->n == 1 && k_->keys[0].kid && strcmp(k_->keys[0].kid, "good") == 0); \
		T_EQ(logcap.lines, 1);                                                             \
		T_EQ(logcap.prio[LOG_WARNING], 1);                                                 \
		T_OK(strstr(logcap.last, "skipped") != NULL);                                      \
		if (k_)                                                                            \
			T_EQ(good_key_verifies(k_), 0);                                            \
		jwks_free(k_);                                                                     \
		free(doc_);                                                                        \
		k_ = NULL;                                                                         \
		doc_ = mint_jwks(set_, 1);                                                         \
		T_EQ(parse_s(doc_, &k_), ERR_JWKS_NO_KEYS);                                        \
		T_OK(k_ == NULL);                                                                  \
		free(doc_);                                                                        \
	} while (0)

/* JWK JSON for k with member `name` replaced by raw JSON `val` (NULL:
 * removed). */
static const char *jwk_with(EVP_PKEY *k, const char *kid, const char *name, const char *val)
{
	char *j = mint_jwk(k, kid, NULL), *p, *end, *out;
	char key[32];

	snprintf(key, sizeof(key), "\"%s\":", name);
	if (!(p = strstr(j, key)))
		abort();
	end = p + strlen(key);
	if (*end == '"')
		end = strchr(end + 1, '"') + 1;
	else
		end += strcspn(end, ",}");
	if (val)
		out = mint_printf("%.*s%s%s%s", (int)(p - j), j, key, val, end);
	else
		out = mint_printf("%.*s%s", (int)(p - j - (p[-1] == ',' ? 1 : 0)), j,
				  end + (*end == ',' && p[-1] == '{' ? 1 : 0));
	free(j);
	return keep(out);
}

static const char *b64(const unsigned char *p, size_t n)
{
	return F("\"%s\"", keep(mint_b64(p, n)));
}

static void test_good(void)
{
	const char *jwk[] = {
		good,
		keep(mint_jwk(k_p256, "p256", "\"alg\":\"ES256\",\"use\":\"sig\"")),
		keep(mint_jwk(k_p384, "p384", "\"key_ops\":[\"verify\"]")),
		keep(mint_jwk(k_p521, "p521", "\"x5t\":\"ignored\",\"ext\":true")),
		keep(mint_jwk(k_ed, NULL, "\"alg\":\"EdDSA\"")),
		keep(mint_jwk(k_ed, "ed-new", "\"alg\":\"Ed25519\"")),
	};
	char *doc = mint_jwks(jwk, 6);
	struct jwks *k = NULL;

	T_CASE("IDT-15 a set of every supported key type");
	T_EQ(parse_s(doc, &k), 0);
	T_EQ(logcap.lines, 0);
	T_OK(k && k->n == 6);
	if (k && k->n == 6) {
		T_EQ(k->keys[0].kty, JWK_KTY_RSA);
		T_EQ(k->keys[0].bits, 2048);
		T_EQ(k->keys[0].curve_nid, 0);
		T_OK(k->keys[0].alg == NULL);
		T_OK(EVP_PKEY_eq(k->keys[0].pkey, k_rsa) == 1);
		T_EQ(k->keys[1].kty, JWK_KTY_EC);
		T_EQ(k->keys[1].curve_nid, NID_X9_62_prime256v1);
		T_EQ(k->keys[1].bits, 256);
		T_STREQ(k->keys[1].alg, "ES256");
		T_OK(EVP_PKEY_eq(k->keys[1].pkey, k_p256) == 1);
		T_EQ(k->keys[2].curve_nid, NID_secp384r1);
		T_EQ(k->keys[2].bits, 384);
		T_OK(EVP_PKEY_eq(k->keys[2].pkey, k_p384) == 1);
		T_EQ(k->keys[3].curve_nid, NID_secp521r1);
		T_EQ(k->keys[3].bits, 521);
		T_OK(EVP_PKEY_eq(k->keys[3].pkey, k_p521) == 1);
		T_EQ(k->keys[4].kty, JWK_KTY_OKP);
		T_EQ(k->keys[4].curve_nid, NID_ED25519);
		T_OK(k->keys[4].kid == NULL);
		T_STREQ(k->keys[4].alg, "EdDSA");
		T_OK(EVP_PKEY_eq(k->keys[4].pkey, k_ed) == 1);
		T_STREQ(k->keys[5].kid, "ed-new");
		T_EQ(good_key_verifies(k), 0);
	}
	jwks_free(k);
	free(doc);
	jwks_free(NULL);

	T_CASE("IDT-15 RSA n with a leading zero byte: accepted, 2048 bits");
	{
		unsigned char *n, *e, *n0;
		size_t nl, el;
		struct jwks *s = NULL;

		mint_rsa_ne(k_rsa, &n, &nl, &e, &el);
		n0 = calloc(1, nl + 1);
		memcpy(n0 + 1, n, nl);
		const char *j[] = { F("{\"kty\":\"RSA\",\"kid\":\"good\",\"n\":%s,\"e\":%s}",
				      b64(n0, nl + 1), b64(e, el)) };
		char *d = mint_jwks(j, 1);
		T_EQ(parse_s(d, &s), 0);
		T_OK(s && s->n == 1 && s->keys[0].bits == 2048);
		if (s)
			T_EQ(good_key_verifies(s), 0);
		jwks_free(s);
		free(d);
		free(n);
		free(e);
		free(n0);
	}
}

static void test_skips(void)
{
	unsigned char *n, *e, *x, *y, ed[32];
	size_t nl, el, c;

	mint_rsa_ne(k_rsa, &n, &nl, &e, &el);
	c = mint_ec_xy(k_p256, &x, &y);
	mint_ed_x(k_ed, ed);

	T_CASE("IDT-15 kty AKP (ML-DSA) skipped");
	SKIPPED("{\"kty\":\"AKP\",\"alg\":\"ML-DSA-44\",\"pub\":\"AAAA\",\"kid\":\"akp\"}");
	T_CASE("IDT-15 made-up kty skipped");
	SKIPPED("{\"kty\":\"XYZ\",\"kid\":\"xyz\",\"n\":\"AQAB\"}");
	T_CASE("IDT-15 kty oct (symmetric) skipped");
	SKIPPED("{\"kty\":\"oct\",\"kid\":\"oct\",\"k\":\"c2VjcmV0\"}");
	T_CASE("IDT-15 kty missing, kty not a string, kty lowercase");
	SKIPPED(jwk_with(k_rsa, "x", "kty", NULL));
	SKIPPED(jwk_with(k_rsa, "x", "kty", "1"));
	SKIPPED(jwk_with(k_rsa, "x", "kty", "\"rsa\""));
	T_CASE("IDT-15 RSA n missing, e missing, n not a string");
	SKIPPED(jwk_with(k_rsa, "x", "n", NULL));
	SKIPPED(jwk_with(k_rsa, "x", "e", NULL));
	SKIPPED(jwk_with(k_rsa, "x", "n", "12345"));
	T_CASE("IDT-15 bad base64url in x, in n; padding");
	{
		char *bx = mint_b64(x, c), *bn = mint_b64(n, nl);
		bx[5] = '+';
		SKIPPED(jwk_with(k_p256, "x", "x", F("\"%s\"", bx)));
		bn[7] = '/';
		SKIPPED(jwk_with(k_rsa, "x", "n", F("\"%s\"", bn)));
		SKIPPED(jwk_with(k_rsa, "x", "e", "\"AQAB=\""));
		free(bx);
		free(bn);
	}
	T_CASE("IDT-05 use=enc skipped; use not a string skipped");
	SKIPPED(keep(mint_jwk(k_rsa, "enc", "\"use\":\"enc\"")));
	SKIPPED(keep(mint_jwk(k_rsa, "enc", "\"use\":[\"sig\"]")));
	T_CASE("IDT-07 RSA-1024 skipped");
	SKIPPED(keep(mint_jwk(k_rsa1024, "short", NULL)));
	T_OK(strstr(logcap.last, "no usable key") != NULL);
	T_CASE("IDT-07 RSA exponent even, 1, over 64 bits; modulus even; over 8192 bits");
	SKIPPED(jwk_with(k_rsa, "x", "e", "\"AQAA\""));		  /* 65536 */
	SKIPPED(jwk_with(k_rsa, "x", "e", "\"AQ\""));		  /* 1 */
	SKIPPED(jwk_with(k_rsa, "x", "e", "\"AQAAAAAAAAAAAQ\"")); /* 2^72 + 1 */
	{
		unsigned char *m = malloc(nl), big[1025];
		memcpy(m, n, nl);
		m[nl - 1] &= 0xfe;
		SKIPPED(jwk_with(k_rsa, "x", "n", b64(m, nl)));
		memset(big, 0xff, sizeof(big));
		SKIPPED(jwk_with(k_rsa, "x", "n", b64(big, sizeof(big))));
		free(m);
	}
	T_CASE("IDT-15 EC point not on the curve");
	{
		unsigned char *yy = malloc(c), zero[32] = { 0 };
		memcpy(yy, y, c);
		yy[c - 1] ^= 1;
		SKIPPED(jwk_with(k_p256, "x", "y", b64(yy, c)));
		SKIPPED(F("{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"z\",\"x\":%s,\"y\":%s}",
			  b64(zero, 32), b64(zero, 32)));
		free(yy);
	}
	T_CASE("IDT-15 EC coordinate not reduced mod p (P-521: y + p, x + p, 66 bytes) refused");
	{
		/* the same point, written with a coordinate >= p: 66 bytes hold
		 * y + p for every P-521 point, so only the range check refuses it */
		unsigned char *x5, *y5, big[66];
		size_t c5 = mint_ec_xy(k_p521, &x5, &y5);
		EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_secp521r1);
		BIGNUM *p = BN_new(), *v = NULL;

		T_OK(g && p && c5 == 66 && EC_GROUP_get_curve(g, p, NULL, NULL, NULL) == 1);
		v = BN_bin2bn(y5, (int)c5, NULL);
		T_OK(v && BN_add(v, v, p) == 1 && BN_bn2binpad(v, big, sizeof(big)) == 66);
		SKIPPED(jwk_with(k_p521, "x", "y", b64(big, sizeof(big))));
		BN_free(v);
		v = BN_bin2bn(x5, (int)c5, NULL);
		T_OK(v && BN_add(v, v, p) == 1 && BN_bn2binpad(v, big, sizeof(big)) == 66);
		SKIPPED(jwk_with(k_p521, "x", "x", b64(big, sizeof(big))));
		BN_free(v);
		BN_free(p);
		EC_GROUP_free(g);
		free(x5);
		free(y5);
	}
	T_CASE("IDT-15 EC x wrong length (31, 33 bytes), y missing");
	{
		unsigned char x33[33] = { 0 };
		memcpy(x33 + 1, x, 32);
		SKIPPED(jwk_with(k_p256, "x", "x", b64(x + 1, 31)));
		SKIPPED(jwk_with(k_p256, "x", "x", b64(x33, 33)));
		SKIPPED(jwk_with(k_p256, "x", "y", NULL));
		/* x = X||Y[0], y = Y[1..]: 04||x||y is still the valid point */
		unsigned char xs[33];
		memcpy(xs, x, 32);
		xs[32] = y[0];
		SKIPPED(F("{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"shift\",\"x\":%s,\"y\":%s}",
			  b64(xs, 33), b64(y + 1, 31)));
	}
	T_CASE("IDT-05 EC P-256 coordinates labelled P-384; unknown curves");
	SKIPPED(jwk_with(k_p256, "x", "crv", "\"P-384\""));
	SKIPPED(jwk_with(k_p256, "x", "crv", "\"secp256k1\""));
	SKIPPED(jwk_with(k_p256, "x", "crv", "\"P-192\""));
	SKIPPED(jwk_with(k_p256, "x", "crv", NULL));
	T_CASE("IDT-15 OKP Ed448, X25519, x 31 bytes");
	SKIPPED(jwk_with(k_ed, "x", "crv", "\"Ed448\""));
	SKIPPED(jwk_with(k_ed, "x", "crv", "\"X25519\""));
	SKIPPED(jwk_with(k_ed, "x", "x", b64(ed, 31)));
	T_CASE("IDT-15 private member d present (RSA, EC, OKP), RSA p present");
	SKIPPED(keep(mint_jwk(k_rsa, "priv", "\"d\":\"AQAB\"")));
	SKIPPED(keep(mint_jwk(k_p256, "priv", "\"d\":\"AQAB\"")));
	SKIPPED(keep(mint_jwk(k_ed, "priv", "\"d\":\"AQAB\"")));
	SKIPPED(keep(mint_jwk(k_rsa, "priv", "\"p\":\"AQAB\"")));
	T_CASE("IDT-05 key_ops without verify, not an array, with a number");
	SKIPPED(keep(mint_jwk(k_rsa, "ops", "\"key_ops\":[\"sign\"]")));
	SKIPPED(keep(mint_jwk(k_rsa, "ops", "\"key_ops\":\"verify\"")));
	SKIPPED(keep(mint_jwk(k_rsa, "ops", "\"key_ops\":[\"verify\",1]")));
	SKIPPED(keep(mint_jwk(k_rsa, "ops", "\"key_ops\":[]")));
	T_CASE("IDT-05 alg member unknown or contradicting kty/crv");
	SKIPPED(keep(mint_jwk(k_rsa, "a", "\"alg\":\"HS256\"")));
	SKIPPED(keep(mint_jwk(k_rsa, "a", "\"alg\":\"RSA-OAEP\"")));
	SKIPPED(keep(mint_jwk(k_rsa, "a", "\"alg\":\"none\"")));
	SKIPPED(keep(mint_jwk(k_rsa, "a", "\"alg\":\"rs256\"")));
	SKIPPED(keep(mint_jwk(k_rsa, "a", "\"alg\":\"ES256\"")));
	SKIPPED(keep(mint_jwk(k_p256, "a", "\"alg\":\"ES384\"")));
	SKIPPED(keep(mint_jwk(k_p384, "a", "\"alg\":\"ES256\"")));
	SKIPPED(keep(mint_jwk(k_ed, "a", "\"alg\":\"RS256\"")));
	SKIPPED(keep(mint_jwk(k_p256, "a", "\"alg\":\"EdDSA\"")));
	SKIPPED(keep(mint_jwk(k_rsa, "a", "\"alg\":256")));
	T_CASE("IDT-12 kid not a string, empty, over 256 bytes");
	SKIPPED(keep(mint_jwk(k_rsa, NULL, "\"kid\":7")));
	SKIPPED(keep(mint_jwk(k_rsa, "", NULL)));
	{
		char kid[258];
		memset(kid, 'k', 257);
		kid[257] = '\0';
		SKIPPED(keep(mint_jwk(k_rsa, kid, NULL)));
		T_OK(strstr(logcap.all, "skipped") && !strstr(logcap.all, F("%.65s", kid)));
		T_OK(strstr(logcap.all, F("(kid %.64s)", kid)) != NULL); /* capped at 64 */
		kid[256] = '\0';
		const char *j[] = { keep(mint_jwk(k_rsa, kid, NULL)) };
		char *d = mint_jwks(j, 1);
		struct jwks *s = NULL;
		T_CASE("IDT-12 twin: kid of 256 bytes kept");
		T_EQ(parse_s(d, &s), 0);
		jwks_free(s);
		free(d);
	}
	T_CASE("IDT-12 skipped key's kid sanitized in the log");
	SKIPPED(keep(mint_jwk(k_rsa1024, "a\\nb\\u001bc", NULL)));
	T_OK(strstr(logcap.all, "(kid a?b?c) skipped") != NULL);
	T_CASE("IDT-15 entry not an object");
	SKIPPED("1");
	SKIPPED("[]");
	SKIPPED("\"RSA\"");
	free(n);
	free(e);
	free(x);
	free(y);
}

static void test_duplicates(void)
{
	const char *j[] = { good, keep(mint_jwk(k_p256, "good", NULL)),
			    keep(mint_jwk(k_rsa1024, "dup", NULL)),
			    keep(mint_jwk(k_p384, "dup", NULL)) };
	char *d = mint_jwks(j, 4);
	struct jwks *s = NULL;

	T_CASE("IDT-15 duplicate kid: the second one skipped, the first kept");
	T_EQ(parse_s(d, &s), 0);
	T_OK(s && s->n == 2);
	T_EQ(logcap.prio[LOG_WARNING], 2); /* the 2nd "good" and the short "dup" */
	if (s && s->n == 2) {
		T_OK(EVP_PKEY_eq(s->keys[0].pkey, k_rsa) == 1);
		T_STREQ(s->keys[1].kid, "dup"); /* first usable "dup" is the P-384 key */
		T_OK(EVP_PKEY_eq(s->keys[1].pkey, k_p384) == 1);
		T_EQ(good_key_verifies(s), 0);
	}
	jwks_free(s);
	free(d);
}

static void test_limits(void)
{
	unsigned char ed[32];
	char *bx, *doc;
	const char **many = calloc(1000, sizeof(*many));
	struct jwks *s = NULL;

	mint_ed_x(k_ed, ed);
	bx = mint_b64(ed, 32);
	many[0] = good;
	for (int i = 1; i < 1000; i++)
		many[i] = F("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"k%04d\",\"x\":\"%s\"}",
			    i, bx);
	T_CASE("IDT-15 1000 keys: the first 100 read, one log line");
	doc = mint_jwks(many, 1000);
	T_OK(strlen(doc) < JWKS_MAX_BYTES);
	T_EQ(parse_s(doc, &s), 0);
	T_OK(s && s->n == JWKS_MAX_KEYS);
	T_EQ(logcap.lines, 1);
	T_OK(strstr(logcap.last, "1000 entries") != NULL);
	if (s && s->n == JWKS_MAX_KEYS) {
		T_STREQ(s->keys[99].kid, "k0099");
		T_EQ(good_key_verifies(s), 0);
	}
	jwks_free(s);
	s = NULL;
	free(doc);

	T_CASE("IDT-15 the cap counts entries, not usable keys: good key at 101 ignored");
	for (int i = 0; i < 100; i++)
		many[i] = F("{\"kty\":\"XYZ\",\"kid\":\"bad%d\"}", i);
	many[100] = good;
	doc = mint_jwks(many, 101);
	T_EQ(parse_s(doc, &s), ERR_JWKS_NO_KEYS);
	free(doc);
	T_CASE("IDT-15 twin: good key at 100 used");
	doc = mint_jwks(many + 1, 100);
	T_EQ(parse_s(doc, &s), 0);
	T_OK(s && s->n == 1);
	jwks_free(s);
	s = NULL;
	free(doc);

	T_CASE("IDT-15 body over 256 KiB refused, 1 MiB refused");
	{
		const char *one[] = { good };
		char *g = mint_jwks(one, 1);
		size_t gl = strlen(g);
		char *big = malloc(1024 * 1024 + 1);

		memcpy(big, g, gl);
		memset(big + gl, ' ', 1024 * 1024 - gl);
		big[1024 * 1024] = '\0';
		T_EQ(parse(big, JWKS_MAX_BYTES + 1, &s), ERR_TOO_LARGE);
		T_OK(s == NULL);
		T_EQ(parse(big, 1024 * 1024, &s), ERR_TOO_LARGE);
		T_CASE("IDT-15 twin: exactly 256 KiB (whitespace padded) accepted");
		T_EQ(parse(big, JWKS_MAX_BYTES, &s), 0);
		jwks_free(s);
		s = NULL;
		free(big);
		free(g);
	}
	free(bx);
	free(many);
}

static void test_document(void)
{
	struct jwks *s = NULL;
	const char *docs[] = { F("[%s]", good), F("{\"key\":[%s]}", good), F("{\"keys\":%s}", good),
			       "{\"keys\":null}", "\"keys\"" };

	T_CASE("IDT-15 top level not {\"keys\":[...]}");
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		T_EQ(parse_s(docs[i], &s), ERR_JWKS);
		T_OK(s == NULL);
		T_EQ(logcap.lines, 1);
	}
	T_CASE("IDT-15 empty set, all bad");
	T_EQ(parse_s("{\"keys\":[]}", &s), ERR_JWKS_NO_KEYS);
	T_EQ(parse_s("{\"keys\":[1,{},{\"kty\":\"RSA\"}]}", &s), ERR_JWKS_NO_KEYS);
	T_EQ(logcap.lines, 4);
	T_CASE("IDT-11 invalid JSON, duplicate keys member, invalid UTF-8");
	T_EQ(parse_s(F("{\"keys\":[%s]", good), &s), ERR_JSON);
	T_EQ(parse_s(F("{\"keys\":[%s],\"keys\":[]}", good), &s), ERR_JSON_DUP);
	T_EQ(parse_s(F("{\"keys\":[%s],\"Keys\":[]}", good), &s), ERR_JSON_DUP);
	T_EQ(parse_s("{\"keys\":[{\"kty\":\"\xff\"}]}", &s), ERR_JSON_UTF8);
	T_OK(s == NULL);
	T_CASE("IDT-11 duplicate member inside a JWK");
	T_EQ(parse_s(F("{\"keys\":[{\"kty\":\"EC\",\"KTY\":\"RSA\"}, %s]}", good), &s),
	     ERR_JSON_DUP);
	T_CASE("NULL arguments");
	T_EQ(jwks_parse(NULL, 0, NULL, &s), ERR_INVAL);
	T_EQ(jwks_parse("{}", 2, NULL, NULL), ERR_INVAL);
}

/* The verify context jwks_parse prepares per key (jwks.h): for the JWK's
 * alg, else RS256 / the curve's ES* / EdDSA; digest size by alg. */
static void test_prepared(void)
{
	static const struct {
		const char *extra, *alg;
		int md_size; /* 0: EdDSA, no digest, a DigestVerify context */
	} want[] = {
		{ NULL, "RS256", 32 },
		{ "\"alg\":\"RS384\"", "RS384", 48 },
		{ "\"alg\":\"RS512\"", "RS512", 64 },
		{ "\"alg\":\"PS256\"", "PS256", 32 },
		{ "\"alg\":\"PS384\"", "PS384", 48 },
		{ "\"alg\":\"PS512\"", "PS512", 64 },
		{ NULL, "ES256", 32 },
		{ NULL, "ES384", 48 },
		{ "\"alg\":\"ES512\"", "ES512", 64 },
		{ NULL, "EdDSA", 0 },
		{ "\"alg\":\"Ed25519\"", "Ed25519", 0 },
	};
	EVP_PKEY *kk[] = { k_rsa,  k_rsa,  k_rsa,  k_rsa, k_rsa, k_rsa,
			   k_p256, k_p384, k_p521, k_ed,  k_ed };
	const char *jwk[sizeof(want) / sizeof(want[0])];
	size_t n = sizeof(want) / sizeof(want[0]);
	struct jwks *set = NULL;
	char *doc;

	for (size_t i = 0; i < n; i++)
		jwk[i] = keep(mint_jwk(kk[i], F("k%zu", i), want[i].extra));
	doc = mint_jwks(jwk, n);
	T_CASE("each key prepared for its JWK alg, else RS256 / ES256/384/512 / EdDSA");
	T_EQ(parse_s(doc, &set), 0);
	T_OK(set && set->n == n);
	for (size_t i = 0; set && i < set->n && i < n; i++) {
		const struct jwk *k = &set->keys[i];

		T_STREQ(k->verify_alg, want[i].alg);
		if (want[i].md_size) {
			T_OK(k->verify_pctx != NULL && k->verify_mctx == NULL);
			T_OK(k->verify_md != NULL);
			if (k->verify_md)
				T_EQ(EVP_MD_get_size(k->verify_md), want[i].md_size);
		} else {
			T_OK(k->verify_mctx != NULL && k->verify_pctx == NULL);
			T_OK(k->verify_md == NULL);
		}
	}
	T_CASE("the digests are fetched once per set and shared by its keys");
	if (set) {
		T_OK(set->md[0] && set->md[1] && set->md[2]);
		T_OK(set->keys[0].verify_md == set->md[0] && set->keys[3].verify_md == set->md[0] &&
		     set->keys[8].verify_md == set->md[2]);
	}
	jwks_free(set);
	free(doc);
	T_CASE("a set with the good key: prepared for RS256 and verifies an RS256 token");
	{
		const char *one[] = { good };
		doc = mint_jwks(one, 1);
		set = NULL;
		T_EQ(parse_s(doc, &set), 0);
		if (set) {
			T_STREQ(set->keys[0].verify_alg, "RS256");
			T_EQ(good_key_verifies(set), 0);
		}
		jwks_free(set);
		free(doc);
	}
}

int main(void)
{
	k_rsa = mint_keygen(MINT_RSA2048);
	k_rsa1024 = mint_keygen(MINT_RSA1024);
	k_p256 = mint_keygen(MINT_P256);
	k_p384 = mint_keygen(MINT_P384);
	k_p521 = mint_keygen(MINT_P521);
	k_ed = mint_keygen(MINT_ED25519);
	good = keep(mint_jwk(k_rsa, "good", NULL));

	test_good();
	test_skips();
	test_duplicates();
	test_limits();
	test_document();
	test_prepared();
	T_CASE("no log line with control bytes or over 512 bytes");
	T_EQ(logcap.ctrl, 0);
	T_EQ(logcap.long_lines, 0);

	EVP_PKEY_free(k_rsa);
	EVP_PKEY_free(k_rsa1024);
	EVP_PKEY_free(k_p256);
	EVP_PKEY_free(k_p384);
	EVP_PKEY_free(k_p521);
	EVP_PKEY_free(k_ed);
	for (size_t i = 0; i < npool; i++)
		free(pool[i]);
	return t_done();
}
