/* test_jwt.c: ID-token verification with real keys (SECURITY.md IDT-01..31).
 *
 * Every token is minted with OpenSSL (jwt_mint.h) and verified through
 * jwt_verify against a key set built by jwks_parse from the exported public
 * JWKs, so the whole path is the production one. Each refusal case changes
 * one thing in an otherwise valid token and asserts the exact ERR_* code, one
 * log line (LOG_WARNING/LOG_ERR) that carries no part of the token, and,
 * where sensible, the acceptance of its positive twin. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "jwks.h"
#include "jwt.h"
#include "jwt_mint.h"
#include "log_capture.h"
#include "tap.h"

#define ISS    "https://idp.example.com"
#define CID    "pam-client"
#define NONCE  "n-0S6_WzA2Mj"
#define NOW    1700000000LL
#define SKEW   60
#define MAXAGE 600

/* ---- captured log --------------------------------------------------------- */

/* Counts lines per run and, over the whole suite, lines with control bytes
 * or longer than 512 bytes (log_msg must sanitize and cap): log_capture.h */
static const struct log tlog = { logcap_sink, NULL, 0 };

/* ---- strings freed at the end ----------------------------------------------- */

static char *pool[8192];
static size_t npool;

static const char *keep(char *s)
{
	if (npool == sizeof(pool) / sizeof(pool[0]))
		abort();
	pool[npool++] = s;
	return s;
}
#define F(...) keep(mint_printf(__VA_ARGS__))

/* ---- keys ----------------------------------------------------------------- */

static EVP_PKEY *k_rsa, *k_rsa2, *k_p256, *k_p384, *k_p521, *k_ed, *k_rsa1024, *k_evil;
static struct jwks *ks;	      /* the IdP's key set */
static struct jwt_policy pol; /* the default policy */

/* ---- claims and tokens ---------------------------------------------------- */

/* Raw JSON values; NULL omits the claim. extra: more members, raw. */
struct claims {
	const char *iss, *sub, *aud, *azp, *exp, *iat, *nbf, *nonce, *at_hash, *extra;
};

static struct claims good(void)
{
	struct claims c = { "\"" ISS "\"", "\"alice-123\"",	 "\"" CID "\"",
			    NULL,	   F("%lld", NOW + 300), F("%lld", NOW - 10),
			    NULL,	   "\"" NONCE "\"",	 NULL,
			    NULL };
	return c;
}

static const char *payload(const struct claims *c)
{
	const char *names[] = {
		"iss", "sub", "aud", "azp", "exp", "iat", "nbf", "nonce", "at_hash"
	};
	const char *vals[] = { c->iss, c->sub, c->aud,	 c->azp,    c->exp,
			       c->iat, c->nbf, c->nonce, c->at_hash };
	char *s = mint_printf("{"), *n;
	int first = 1;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!vals[i])
			continue;
		n = mint_printf("%s%s\"%s\":%s", s, first ? "" : ",", names[i], vals[i]);
		free(s);
		s = n;
		first = 0;
	}
	n = mint_printf("%s%s%s}", s, c->extra && !first ? "," : "", c->extra ? c->extra : "");
	free(s);
	return keep(n);
}

static const char *hdr(const char *alg, const char *kid)
{
	return F("{\"alg\":\"%s\",\"typ\":\"JWT\"%s}", alg, kid ? F(",\"kid\":\"%s\"", kid) : "");
}

/* Signed by k as `alg` says, header {"alg":alg,"typ":"JWT","kid":kid}. */
static char *tok(EVP_PKEY *k, const char *alg, const char *kid, const struct claims *c)
{
	return mint_token(k, alg, hdr(alg, kid), payload(c), NULL);
}

/* Signed by k with the hash/padding of signalg, with a verbatim header. */
static char *tok_h(EVP_PKEY *k, const char *signalg, const char *header, const struct claims *c)
{
	return mint_token(k, signalg, header, payload(c), NULL);
}

/* The reference token: RS256 by rsa1 with the given claims. */
static char *rs(const struct claims *c)
{
	return tok(k_rsa, "RS256", "rsa1", c);
}

/* Signed, with payload bytes taken verbatim (may contain NUL). */
static char *tok_raw_payload(EVP_PKEY *k, const char *alg, const char *header, const void *pl,
			     size_t pllen)
{
	char *h = mint_b64(header, strlen(header)), *p = mint_b64(pl, pllen);
	char *in = mint_printf("%s.%s", h, p), *s64, *t;
	size_t sl;
	unsigned char *sig = mint_sign(k, alg, in, strlen(in), NULL, &sl);

	s64 = mint_b64(sig, sl);
	t = mint_printf("%s.%s", in, s64);
	free(h);
	free(p);
	free(in);
	free(sig);
	free(s64);
	return t;
}

/* ---- running one token ------------------------------------------------------ */

static int n_neg; /* negative token cases asserted */
static int g_leak;

/* Verifies t (and frees it); on refusal, checks that the log line carries
 * no part of the token. len (SIZE_MAX: strlen) lets a test pass NUL bytes. */
static int run_len(char *t, size_t len, const struct jwks *keys, const struct jwt_policy *p)
{
	struct jwt *out = NULL;
	int r;

	logcap_reset();
	g_leak = 0;
	r = jwt_verify(t, len == SIZE_MAX ? strlen(t) : len, keys, p, &tlog, &out);
	if (r == 0) {
		if (!out || !out->payload || !out->header || !jwt_alg_name(out->alg))
			g_leak = 1;
		jwt_free(out);
	} else if (out) {
		g_leak = 1; /* *out set on failure */
	}
	/* no 16-character run of any token part may reach the log */
	for (const char *seg = t; *seg;) {
		const char *end = strchr(seg, '.');
		size_t plen = end ? (size_t)(end - seg) : strlen(seg);

		for (size_t o = 0; plen >= 16 && o + 16 <= plen; o += 8) {
			char probe[17];
			memcpy(probe, seg + o, 16);
			probe[16] = '\0';
			if (strstr(logcap.last, probe))
				g_leak = 1;
		}
		seg += plen + (end ? 1 : 0);
	}
	free(t);
	return r;
}

#define EXPECT_LEN(t, len, keys, p, want)                                                          \
	do {                                                                                       \
		int want_ = (want), r_ = run_len((t), (len), (keys), (p));                         \
		T_EQ(r_, want_);                                                                   \
		T_EQ(logcap.lines, want_ ? 1 : 0);                                                 \
		T_OK(!g_leak && !logcap_not_err_warn());                                           \
		if (want_)                                                                         \
			n_neg++;                                                                   \
	} while (0)
#define EXPECT_KP(t, keys, p, want) EXPECT_LEN(t, SIZE_MAX, keys, p, want)
#define EXPECT(t, want)		    EXPECT_KP(t, ks, &pol, want)

/* ---- ECDSA with chosen r, s ------------------------------------------------ */

/* r and s of a real signature over the default token (header alg/kid). */
static void ec_real_rs(EVP_PKEY *k, const char *alg, const char *kid, BIGNUM **r, BIGNUM **s)
{
	struct claims c = good();
	char *in = mint_signing_input(hdr(alg, kid), payload(&c));
	size_t sl, coord = mint_ec_coord(k);
	unsigned char *sig = mint_sign(k, alg, in, strlen(in), NULL, &sl);

	*r = BN_bin2bn(sig, (int)coord, NULL);
	*s = BN_bin2bn(sig + coord, (int)coord, NULL);
	free(in);
	free(sig);
}

static char *ec_tok_rs(EVP_PKEY *k, const char *alg, const char *kid, const BIGNUM *r,
		       const BIGNUM *s)
{
	struct claims c = good();
	size_t coord = mint_ec_coord(k);
	unsigned char *raw = mint_ecdsa_raw(coord, r, s);
	char *t = mint_token_sig(hdr(alg, kid), payload(&c), raw, 2 * coord);

	free(raw);
	return t;
}

/* ---- the suites ----------------------------------------------------------- */

static struct jwks *parse_set(const char *const *jwk, size_t n)
{
	struct jwks *set = NULL;
	char *doc = mint_jwks(jwk, n);
	int r = jwks_parse(doc, strlen(doc), NULL, &set);

	free(doc);
	T_EQ(r, 0);
	return set;
}

static void setup(void)
{
	k_rsa = mint_keygen(MINT_RSA2048);
	k_rsa2 = mint_keygen(MINT_RSA2048);
	k_evil = mint_keygen(MINT_RSA2048);
	k_rsa1024 = mint_keygen(MINT_RSA1024);
	k_p256 = mint_keygen(MINT_P256);
	k_p384 = mint_keygen(MINT_P384);
	k_p521 = mint_keygen(MINT_P521);
	k_ed = mint_keygen(MINT_ED25519);

	const char *jwk[] = {
		keep(mint_jwk(k_rsa, "rsa1", "\"use\":\"sig\"")),
		keep(mint_jwk(k_rsa2, "rsa2", NULL)),
		keep(mint_jwk(k_rsa2, "rsa-rs256", "\"alg\":\"RS256\"")),
		keep(mint_jwk(k_p256, "ec256", "\"alg\":\"ES256\"")),
		keep(mint_jwk(k_p384, "ec384", NULL)),
		keep(mint_jwk(k_p521, "ec521", "\"key_ops\":[\"verify\"]")),
		keep(mint_jwk(k_ed, "ed1", NULL)),
		keep(mint_jwk(k_ed, "ed-eddsa", "\"alg\":\"EdDSA\"")),
		keep(mint_jwk(k_rsa1024, "rsa1024", NULL)),	  /* skipped: short */
		keep(mint_jwk(k_rsa, "enc1", "\"use\":\"enc\"")), /* skipped: enc */
	};
	T_CASE("setup: the IdP's JWK set");
	ks = parse_set(jwk, sizeof(jwk) / sizeof(jwk[0]));
	T_OK(ks != NULL);
	if (!ks)
		exit(t_done());
	T_EQ(ks->n, 8);

	pol.issuer = ISS;
	pol.client_id = CID;
	pol.nonce = NONCE;
	pol.allowed_algs = JWT_ALG_ALL;
	pol.clock_skew = SKEW;
	pol.max_token_age = MAXAGE;
	pol.now = (time_t)NOW;
	pol.access_token = NULL;
}

static void test_positive(void)
{
	static const struct {
		const char *alg;
		EVP_PKEY **k;
		const char *kid;
	} ok[] = {
		{ "RS256", &k_rsa, "rsa1" },   { "RS384", &k_rsa, "rsa1" },
		{ "RS512", &k_rsa, "rsa1" },   { "PS256", &k_rsa, "rsa1" },
		{ "PS384", &k_rsa2, "rsa2" },  { "PS512", &k_rsa, "rsa1" },
		{ "ES256", &k_p256, "ec256" }, { "ES384", &k_p384, "ec384" },
		{ "ES512", &k_p521, "ec521" }, { "EdDSA", &k_ed, "ed1" },
		{ "Ed25519", &k_ed, "ed1" },
	};
	struct claims c = good();

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct jwt *t = NULL;
		char *s = tok(*ok[i].k, ok[i].alg, ok[i].kid, &c);
		const char *sub = NULL;

		T_CASE(F("positive %s via jwks_parse of the exported JWK", ok[i].alg));
		logcap.lines = 0;
		T_EQ(jwt_verify(s, strlen(s), ks, &pol, &tlog, &t), 0);
		T_EQ(logcap.lines, 0);
		T_OK(t != NULL);
		if (t) {
			T_STREQ(jwt_alg_name(t->alg), ok[i].alg);
			T_EQ(t->alg, jwt_alg_from_name(ok[i].alg));
			T_STREQ(t->kid, ok[i].kid);
			T_EQ(json_get_string(t->payload, "sub", &sub), 0);
			T_STREQ(sub, "alice-123");
		}
		jwt_free(t);
		free(s);
	}

	T_CASE("alg names round-trip, HS*/none unknown");
	for (unsigned b = 1; b <= JWT_ALG_ALL; b <<= 1)
		T_EQ(jwt_alg_from_name(jwt_alg_name(b)), b);
	T_OK(jwt_alg_name(0) == NULL && jwt_alg_name(3) == NULL && jwt_alg_name(1u << 11) == NULL);
	T_EQ(jwt_alg_from_name("none"), 0);
	T_EQ(jwt_alg_from_name("HS256"), 0);
	T_EQ(jwt_alg_from_name("rs256"), 0);
	T_EQ(jwt_alg_from_name(NULL), 0);
	jwt_free(NULL);
}

static void test_idt01_none(void)
{
	struct claims c = good();
	const char *pl = payload(&c);
	static const unsigned char garbage[] = "garbage-signature-bytes";

	T_CASE("IDT-01 alg none, empty signature");
	EXPECT(mint_token_sig("{\"alg\":\"none\"}", pl, NULL, 0), ERR_JWT_ALG_NONE);
	T_CASE("IDT-01 alg None, garbage signature");
	EXPECT(mint_token_sig("{\"alg\":\"None\",\"kid\":\"rsa1\"}", pl, garbage, sizeof(garbage)),
	       ERR_JWT_ALG_NONE);
	T_CASE("IDT-01 alg NONE, empty signature");
	EXPECT(mint_token_sig("{\"alg\":\"NONE\",\"typ\":\"JWT\"}", pl, NULL, 0), ERR_JWT_ALG_NONE);
	T_CASE("IDT-01 alg nOnE, garbage signature");
	EXPECT(mint_token_sig("{\"alg\":\"nOnE\"}", pl, garbage, 8), ERR_JWT_ALG_NONE);
	T_CASE("IDT-01 alg none with the RS256 signature of the same input");
	{
		char *t =
			mint_token(k_rsa, "RS256", "{\"alg\":\"none\",\"kid\":\"rsa1\"}", pl, NULL);
		EXPECT(t, ERR_JWT_ALG_NONE);
	}
}

static void test_idt02_hmac(void)
{
	struct claims c = good();
	const char *pl = payload(&c), *h = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"rsa1\"}";
	unsigned char *pem, *der, *n, *e;
	size_t pem_len, der_len, nl, el;

	pem = mint_pub_pem(k_rsa, &pem_len);
	der = mint_pub_der(k_rsa, &der_len);
	mint_rsa_ne(k_rsa, &n, &nl, &e, &el);
	T_CASE("IDT-02 HS256 keyed with the RSA public key PEM");
	EXPECT(mint_hmac_token("HS256", pem, pem_len, h, pl), ERR_JWT_ALG_HMAC);
	T_CASE("IDT-02 HS256 keyed with the RSA public key DER");
	EXPECT(mint_hmac_token("HS256", der, der_len, h, pl), ERR_JWT_ALG_HMAC);
	T_CASE("IDT-02 HS256 keyed with the RSA n bytes");
	EXPECT(mint_hmac_token("HS256", n, nl, h, pl), ERR_JWT_ALG_HMAC);
	T_CASE("IDT-02 HS384, HS512 and hs256 (any case)");
	EXPECT(mint_hmac_token("HS384", pem, pem_len, "{\"alg\":\"HS384\",\"kid\":\"rsa1\"}", pl),
	       ERR_JWT_ALG_HMAC);
	EXPECT(mint_hmac_token("HS512", pem, pem_len, "{\"alg\":\"HS512\"}", pl), ERR_JWT_ALG_HMAC);
	EXPECT(mint_hmac_token("HS256", pem, pem_len, "{\"alg\":\"hs256\"}", pl), ERR_JWT_ALG_HMAC);
	free(pem);
	free(der);
	free(n);
	free(e);
}

static void test_idt03_allow_list(void)
{
	struct claims c = good();
	struct jwt_policy p = pol;

	p.allowed_algs = JWT_RS256 | JWT_ES256;
	T_CASE("IDT-03 RS384 when only RS256|ES256 allowed");
	EXPECT_KP(tok(k_rsa, "RS384", "rsa1", &c), ks, &p, ERR_JWT_ALG_NOT_ALLOWED);
	T_CASE("IDT-03 twin: RS256 and ES256 under the same allow-list");
	EXPECT_KP(tok(k_rsa, "RS256", "rsa1", &c), ks, &p, 0);
	EXPECT_KP(tok(k_p256, "ES256", "ec256", &c), ks, &p, 0);
	T_CASE("IDT-03 EdDSA when only RS256|ES256 allowed");
	EXPECT_KP(tok(k_ed, "EdDSA", "ed1", &c), ks, &p, ERR_JWT_ALG_NOT_ALLOWED);
	T_CASE("IDT-03 alg compared case-sensitively: rs256, Rs256");
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"rs256\",\"kid\":\"rsa1\"}", &c),
	       ERR_JWT_ALG_NOT_ALLOWED);
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"Rs256\",\"kid\":\"rsa1\"}", &c),
	       ERR_JWT_ALG_NOT_ALLOWED);
	T_CASE("IDT-03 unknown alg ES256K, RSA-OAEP, empty");
	EXPECT(tok_h(k_p256, "ES256", "{\"alg\":\"ES256K\",\"kid\":\"ec256\"}", &c),
	       ERR_JWT_ALG_NOT_ALLOWED);
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"RSA-OAEP\",\"kid\":\"rsa1\"}", &c),
	       ERR_JWT_ALG_NOT_ALLOWED);
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"\",\"kid\":\"rsa1\"}", &c),
	       ERR_JWT_ALG_NOT_ALLOWED);
	T_CASE("IDT-03 alg missing or not a string");
	EXPECT(tok_h(k_rsa, "RS256", "{\"kid\":\"rsa1\"}", &c), ERR_JWT_HEADER);
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":[\"RS256\"],\"kid\":\"rsa1\"}", &c), ERR_JWT_HEADER);
	p.allowed_algs = 0;
	T_CASE("IDT-03 empty allow-list refuses everything");
	EXPECT_KP(tok(k_rsa, "RS256", "rsa1", &c), ks, &p, ERR_JWT_ALG_NOT_ALLOWED);
}

static void test_idt04_bad_sig(void)
{
	static const struct {
		const char *alg;
		EVP_PKEY **k;
		const char *kid;
	} a[] = {
		{ "RS256", &k_rsa, "rsa1" },
		{ "PS256", &k_rsa, "rsa1" },
		{ "ES256", &k_p256, "ec256" },
		{ "EdDSA", &k_ed, "ed1" },
	};
	struct claims c = good();
	const char *pl = payload(&c);
	size_t sub_pos = (size_t)(strstr(pl, "alice") - pl);

	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++) {
		char *t = tok(*a[i].k, a[i].alg, a[i].kid, &c);

		T_CASE(F("IDT-04 %s twin: unmodified token accepted", a[i].alg));
		EXPECT(mint_printf("%s", t), 0);
		T_CASE(F("IDT-04 %s one bit flipped in the signature", a[i].alg));
		EXPECT(mint_flip_sig(t, 10, 0x01), ERR_JWT_SIGNATURE);
		T_CASE(F("IDT-04 %s one bit flipped in the payload (sub)", a[i].alg));
		EXPECT(mint_flip_payload(t, sub_pos, 0x01), ERR_JWT_SIGNATURE);
		T_CASE(F("IDT-04 %s signature truncated by one byte", a[i].alg));
		EXPECT(mint_truncate_sig(t, 1), ERR_JWT_SIG_FORMAT);
		T_CASE(F("IDT-04 %s empty signature", a[i].alg));
		EXPECT(mint_truncate_sig(t, (size_t)-1), ERR_JWT_SIG_FORMAT);
		free(t);
	}
	T_CASE("IDT-04 RS256 signature one byte too long");
	{
		unsigned char *sig;
		size_t sl;
		char *in = mint_signing_input(hdr("RS256", "rsa1"), pl);

		sig = mint_sign(k_rsa, "RS256", in, strlen(in), NULL, &sl);
		sig = realloc(sig, sl + 1);
		memmove(sig + 1, sig, sl);
		sig[0] = 0; /* same number, one more byte */
		EXPECT(mint_token_sig(hdr("RS256", "rsa1"), pl, sig, sl + 1), ERR_JWT_SIG_FORMAT);
		free(sig);
		free(in);
	}
}

static void test_idt05_key_binding(void)
{
	struct claims c = good();

	T_CASE("IDT-05 JWK alg RS256, header PS256 (same key)");
	EXPECT(tok(k_rsa2, "PS256", "rsa-rs256", &c), ERR_JWT_KEY_MISMATCH);
	T_CASE("IDT-05 twin: JWK alg RS256, header RS256");
	EXPECT(tok(k_rsa2, "RS256", "rsa-rs256", &c), 0);
	T_CASE("IDT-05 P-384 key used for ES256");
	EXPECT(tok_h(k_p384, "ES256", hdr("ES256", "ec384"), &c), ERR_JWT_KEY_MISMATCH);
	T_CASE("IDT-05 use=enc key skipped: its kid is unknown");
	EXPECT(tok(k_rsa, "RS256", "enc1", &c), ERR_JWT_KID_UNKNOWN);
	T_CASE("IDT-05 kty mismatch: RSA key for ES256");
	EXPECT(tok_h(k_p256, "ES256", hdr("ES256", "rsa1"), &c), ERR_JWT_KEY_MISMATCH);
	T_CASE("IDT-05 kty mismatch: Ed25519 key for RS256");
	EXPECT(tok_h(k_rsa, "RS256", hdr("RS256", "ed1"), &c), ERR_JWT_KEY_MISMATCH);
	T_CASE("IDT-05 kty mismatch: EC key for EdDSA, EC key for PS256");
	EXPECT(tok_h(k_ed, "EdDSA", hdr("EdDSA", "ec256"), &c), ERR_JWT_KEY_MISMATCH);
	EXPECT(tok_h(k_rsa, "PS256", hdr("PS256", "ec256"), &c), ERR_JWT_KEY_MISMATCH);
	T_CASE("IDT-05 JWK alg EdDSA, header Ed25519 (one key, one alg)");
	EXPECT(tok(k_ed, "Ed25519", "ed-eddsa", &c), ERR_JWT_KEY_MISMATCH);
	T_CASE("IDT-05 twin: JWK alg EdDSA, header EdDSA");
	EXPECT(tok(k_ed, "EdDSA", "ed-eddsa", &c), 0);
	T_CASE("IDT-05 JWK alg ES256 on the key, header ES384");
	EXPECT(tok_h(k_p256, "ES384", hdr("ES384", "ec256"), &c), ERR_JWT_KEY_MISMATCH);
}

static void test_idt06_ecdsa(void)
{
	BIGNUM *r = NULL, *s = NULL, *n = mint_ec_order(32), *zero = BN_new(), *one = BN_new();
	BIGNUM *big = BN_new(), *n1 = BN_dup(n), *np1 = BN_dup(n);
	struct claims c = good();
	struct mint_opts der = { 0, 0, 1 };

	BN_zero(zero);
	BN_one(one);
	BN_sub_word(n1, 1);
	BN_add_word(np1, 1);
	BN_set_bit(big, 256);
	BN_sub_word(big, 1); /* 2^256 - 1 */
	ec_real_rs(k_p256, "ES256", "ec256", &r, &s);

	T_CASE("IDT-06 twin: the real r,s accepted");
	EXPECT(ec_tok_rs(k_p256, "ES256", "ec256", r, s), 0);
	T_CASE("IDT-06 ES256 signature DER-encoded");
	EXPECT(mint_token(k_p256, "ES256", hdr("ES256", "ec256"), payload(&c), &der),
	       ERR_JWT_SIG_FORMAT);
	T_CASE("IDT-06 ES256 signature 63 and 65 bytes");
	{
		char *t = ec_tok_rs(k_p256, "ES256", "ec256", r, s);
		size_t len, sl;
		const char *p = mint_part(t, 2, &len);
		unsigned char *raw = mint_unb64(p, len, &sl), *longer = malloc(sl + 1);
		struct claims c2 = good();

		memcpy(longer, raw, sl);
		longer[sl] = 0;
		EXPECT(mint_truncate_sig(t, 1), ERR_JWT_SIG_FORMAT);
		EXPECT(mint_token_sig(hdr("ES256", "ec256"), payload(&c2), longer, sl + 1),
		       ERR_JWT_SIG_FORMAT);
		free(raw);
		free(longer);
		free(t);
	}
	T_CASE("IDT-06 r = 0");
	EXPECT(ec_tok_rs(k_p256, "ES256", "ec256", zero, s), ERR_JWT_SIG_FORMAT);
	T_CASE("IDT-06 s = 0");
	EXPECT(ec_tok_rs(k_p256, "ES256", "ec256", r, zero), ERR_JWT_SIG_FORMAT);
	T_CASE("IDT-06 r = s = 0 (CVE-2022-21449 psychic signature)");
	EXPECT(ec_tok_rs(k_p256, "ES256", "ec256", zero, zero), ERR_JWT_SIG_FORMAT);
	T_CASE("IDT-06 r = n");
	EXPECT(ec_tok_rs(k_p256, "ES256", "ec256", n, s), ERR_JWT_SIG_FORMAT);
	T_CASE("IDT-06 s = n, s = n + 1, r = 2^256 - 1");
	EXPECT(ec_tok_rs(k_p256, "ES256", "ec256", r, n), ERR_JWT_SIG_FORMAT);
	EXPECT(ec_tok_rs(k_p256, "ES256", "ec256", r, np1), ERR_JWT_SIG_FORMAT);
	EXPECT(ec_tok_rs(k_p256, "ES256", "ec256", big, s), ERR_JWT_SIG_FORMAT);
	T_CASE("IDT-06 twin: r = n - 1 and s = 1 are in range, then fail to verify");
	EXPECT(ec_tok_rs(k_p256, "ES256", "ec256", n1, s), ERR_JWT_SIGNATURE);
	EXPECT(ec_tok_rs(k_p256, "ES256", "ec256", r, one), ERR_JWT_SIGNATURE);
	BN_free(r);
	BN_free(s);
	BN_free(n);
	BN_free(n1);
	BN_free(np1);

	/* P-384 and P-521: sizes 96 and 132, their own orders */
	n = mint_ec_order(48);
	ec_real_rs(k_p384, "ES384", "ec384", &r, &s);
	T_CASE("IDT-06 ES384 r = s = 0; s = n; 64-byte signature");
	EXPECT(ec_tok_rs(k_p384, "ES384", "ec384", zero, zero), ERR_JWT_SIG_FORMAT);
	EXPECT(ec_tok_rs(k_p384, "ES384", "ec384", r, n), ERR_JWT_SIG_FORMAT);
	EXPECT(mint_truncate_sig(keep(ec_tok_rs(k_p384, "ES384", "ec384", r, s)), 32),
	       ERR_JWT_SIG_FORMAT);
	BN_sub_word(n, 1);
	T_CASE("IDT-06 twin: ES384 r = n - 1 in range, fails to verify");
	EXPECT(ec_tok_rs(k_p384, "ES384", "ec384", n, s), ERR_JWT_SIGNATURE);
	BN_free(r);
	BN_free(s);
	BN_free(n);

	n = mint_ec_order(66);
	ec_real_rs(k_p521, "ES512", "ec521", &r, &s);
	T_CASE("IDT-06 ES512 r = s = 0; r = n; 128-byte signature");
	EXPECT(ec_tok_rs(k_p521, "ES512", "ec521", zero, zero), ERR_JWT_SIG_FORMAT);
	EXPECT(ec_tok_rs(k_p521, "ES512", "ec521", n, s), ERR_JWT_SIG_FORMAT);
	EXPECT(mint_truncate_sig(keep(ec_tok_rs(k_p521, "ES512", "ec521", r, s)), 4),
	       ERR_JWT_SIG_FORMAT);
	BN_sub_word(n, 1);
	T_CASE("IDT-06 twin: ES512 s = n - 1 in range, fails to verify");
	EXPECT(ec_tok_rs(k_p521, "ES512", "ec521", r, n), ERR_JWT_SIGNATURE);
	BN_free(r);
	BN_free(s);
	BN_free(n);
	BN_free(zero);
	BN_free(one);
	BN_free(big);
}

static void test_idt07_rsa(void)
{
	struct claims c = good();
	struct mint_opts salt = { 1, 0, 0 };
	const char *hp = hdr("PS256", "rsa1");
	const char *pl = payload(&c);

	T_CASE("IDT-07 RSA-1024 JWK skipped: its kid is unknown");
	EXPECT(tok(k_rsa1024, "RS256", "rsa1024", &c), ERR_JWT_KID_UNKNOWN);
	T_CASE("IDT-07 a set of only an RSA-1024 key has no usable key");
	{
		const char *j[] = { keep(mint_jwk(k_rsa1024, "rsa1024", NULL)) };
		char *doc = mint_jwks(j, 1);
		struct jwks *set = NULL;

		T_EQ(jwks_parse(doc, strlen(doc), NULL, &set), ERR_JWKS_NO_KEYS);
		T_OK(set == NULL);
		free(doc);
	}
	T_CASE("IDT-07 PS256 with salt length 0");
	EXPECT(mint_token(k_rsa, "PS256", hp, pl, &salt), ERR_JWT_SIGNATURE);
	T_CASE("IDT-07 PS256 with salt length 20 and max");
	salt.pss_saltlen = 20;
	EXPECT(mint_token(k_rsa, "PS256", hp, pl, &salt), ERR_JWT_SIGNATURE);
	salt.pss_saltlen = RSA_PSS_SALTLEN_MAX;
	EXPECT(mint_token(k_rsa, "PS256", hp, pl, &salt), ERR_JWT_SIGNATURE);
	T_CASE("IDT-07 twin: PS256 with salt length 32");
	salt.pss_saltlen = 32;
	EXPECT(mint_token(k_rsa, "PS256", hp, pl, &salt), 0);
	T_CASE("IDT-07 PS384 and PS512 with salt length 0");
	salt.pss_saltlen = 0;
	EXPECT(mint_token(k_rsa, "PS384", hdr("PS384", "rsa1"), pl, &salt), ERR_JWT_SIGNATURE);
	EXPECT(mint_token(k_rsa, "PS512", hdr("PS512", "rsa1"), pl, &salt), ERR_JWT_SIGNATURE);
	T_CASE("IDT-07 twin: PS384 with salt 48, PS512 with salt 64");
	salt.pss_saltlen = 48;
	EXPECT(mint_token(k_rsa, "PS384", hdr("PS384", "rsa1"), pl, &salt), 0);
	salt.pss_saltlen = 64;
	EXPECT(mint_token(k_rsa, "PS512", hdr("PS512", "rsa1"), pl, &salt), 0);
	T_CASE("IDT-07 padding confusion: PSS signature under RS256, PKCS#1 v1.5 under PS256");
	EXPECT(mint_token(k_rsa, "PS256", hdr("RS256", "rsa1"), pl, NULL), ERR_JWT_SIGNATURE);
	EXPECT(mint_token(k_rsa, "RS256", hdr("PS256", "rsa1"), pl, NULL), ERR_JWT_SIGNATURE);
	T_CASE("IDT-07 hash confusion: RS384 signature under RS256");
	EXPECT(mint_token(k_rsa, "RS384", hdr("RS256", "rsa1"), pl, NULL), ERR_JWT_SIGNATURE);
}

static void test_idt08_header_keys(void)
{
	struct claims c = good();
	const char *evil = keep(mint_jwk(k_evil, "evil", NULL));

	T_CASE("IDT-08 jku in the header");
	EXPECT(tok_h(k_evil, "RS256",
		     "{\"alg\":\"RS256\",\"kid\":\"evil\",\"jku\":\"https://attacker.example/jwks\"}",
		     &c),
	       ERR_JWT_HEADER_KEY);
	T_CASE("IDT-08 x5u in the header");
	EXPECT(tok_h(k_evil, "RS256",
		     "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"x5u\":\"https://attacker.example/c.pem\"}",
		     &c),
	       ERR_JWT_HEADER_KEY);
	T_CASE("IDT-08 jwk (the attacker's key) in the header");
	EXPECT(tok_h(k_evil, "RS256", F("{\"alg\":\"RS256\",\"kid\":\"evil\",\"jwk\":%s}", evil),
		     &c),
	       ERR_JWT_HEADER_KEY);
	EXPECT(tok_h(k_evil, "RS256", F("{\"alg\":\"RS256\",\"jwk\":%s}", evil), &c),
	       ERR_JWT_HEADER_KEY);
	T_CASE("IDT-08 x5c in the header");
	EXPECT(tok_h(k_evil, "RS256", "{\"alg\":\"RS256\",\"x5c\":[\"MIIBIjANBgkqhkiG9w0BAQ\"]}",
		     &c),
	       ERR_JWT_HEADER_KEY);
	T_CASE("IDT-08 twin: the attacker's key with the IdP's kid fails the signature");
	EXPECT(tok(k_evil, "RS256", "rsa1", &c), ERR_JWT_SIGNATURE);
}

static void test_idt09_crit(void)
{
	struct claims c = good();

	T_CASE("IDT-09 crit [\"exp_x\"]");
	EXPECT(tok_h(k_rsa, "RS256",
		     "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[\"exp_x\"],\"exp_x\":1}", &c),
	       ERR_JWT_CRIT);
	T_CASE("IDT-09 b64:false with crit [\"b64\"]");
	EXPECT(tok_h(k_rsa, "RS256",
		     "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"b64\":false,\"crit\":[\"b64\"]}", &c),
	       ERR_JWT_CRIT);
	T_CASE("IDT-09 crit [] and crit null");
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[]}", &c),
	       ERR_JWT_CRIT);
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":null}", &c),
	       ERR_JWT_CRIT);
	T_CASE("IDT-09 b64 without crit");
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"b64\":true}", &c),
	       ERR_JWT_CRIT);
}

static void test_idt10_shape(void)
{
	struct claims c = good();
	char *t = rs(&c), *u;
	size_t len;

	T_CASE("IDT-10 twin: the reference token");
	EXPECT(mint_printf("%s", t), 0);
	T_CASE("IDT-10 5 parts (JWE)");
	{
		const char *jh = "{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\",\"kid\":\"rsa1\"}";
		EXPECT(mint_printf("%s.ZW5jcnlwdGVka2V5.aXY.Y2lwaGVydGV4dA.dGFn",
				   keep(mint_b64(jh, strlen(jh)))),
		       ERR_JWT_FORMAT);
		EXPECT(mint_printf("%s.AAAA.AAAA", t), ERR_JWT_FORMAT);
	}
	T_CASE("IDT-10 2 parts and 4 parts");
	u = mint_printf("%s", t);
	*strrchr(u, '.') = '\0';
	EXPECT(u, ERR_JWT_FORMAT);
	EXPECT(mint_printf("%s.", t), ERR_JWT_FORMAT);
	EXPECT(mint_printf("%s.AAAA", t), ERR_JWT_FORMAT);
	T_CASE("IDT-10 JWS JSON serialization");
	EXPECT(mint_printf("{\"payload\":\"%.*s\",\"signatures\":[]}", (int)8, t), ERR_JWT_FORMAT);
	EXPECT(mint_printf("{\"protected\":\"a\",\"payload\":\"b\",\"signature\":\"c\"}"),
	       ERR_JWT_FORMAT);
	EXPECT(mint_printf("{\"payload\":\"a.b\",\"signature\":\"c.\"}"), ERR_JWT_FORMAT);
	T_CASE("IDT-10 = padding on the signature and on the header");
	EXPECT(mint_printf("%s=", t), ERR_B64);
	mint_part(t, 0, &len);
	EXPECT(mint_printf("%.*s=%s", (int)len, t, t + len), ERR_B64);
	T_CASE("IDT-10 whitespace: trailing newline, leading space, space inside");
	EXPECT(mint_printf("%s\n", t), ERR_B64);
	EXPECT(mint_printf(" %s", t), ERR_B64);
	EXPECT(mint_printf("%.*s %s", (int)(len + 5), t, t + len + 5), ERR_B64);
	T_CASE("IDT-10 characters outside base64url: + and /");
	u = mint_printf("%s", t);
	u[len + 3] = '+';
	EXPECT(u, ERR_B64);
	u = mint_printf("%s", t);
	u[strlen(u) - 3] = '/';
	EXPECT(u, ERR_B64);
	T_CASE("IDT-10 NUL byte inside the token");
	u = mint_printf("%s", t);
	u[strlen(u) - 5] = '\0';
	EXPECT_LEN(u, strlen(t), ks, &pol, ERR_B64);
	T_CASE("IDT-10 non-canonical base64url (non-zero trailing bits)");
	u = mint_printf("%s", t);
	{
		/* the 2048-bit signature is 342 characters: 4 trailing bits */
		char *last = u + strlen(u) - 1;
		*last = *last == 'A' ? 'B' : (char)(*last + 1);
	}
	EXPECT(u, ERR_B64);
	T_CASE("IDT-10 empty token, empty header, empty payload");
	EXPECT(mint_printf("%s", ""), ERR_JWT_FORMAT);
	EXPECT(mint_printf("%s", ".."), ERR_JWT_FORMAT);
	EXPECT(mint_printf("%s", t + len), ERR_JWT_FORMAT);
	T_CASE("IDT-10 header or payload not a JSON object");
	EXPECT(tok_h(k_rsa, "RS256", "[\"RS256\"]", &c), ERR_JWT_HEADER);
	EXPECT(tok_h(k_rsa, "RS256", "not json", &c), ERR_JSON);
	EXPECT(mint_token(k_rsa, "RS256", hdr("RS256", "rsa1"), "[1,2]", NULL), ERR_JWT_PAYLOAD);
	EXPECT(mint_token(k_rsa, "RS256", hdr("RS256", "rsa1"), "\"iss\"", NULL), ERR_JWT_PAYLOAD);
	EXPECT(mint_token(k_rsa, "RS256", hdr("RS256", "rsa1"), "", NULL), ERR_JWT_FORMAT);
	free(t);

	/* the largest token <= 16 KiB is accepted, the next size up refused */
	T_CASE("IDT-10 token over 16 KiB");
	{
		const char *h = hdr("RS256", "rsa1");
		size_t hlen = b64url_encoded_len(strlen(h)), slen = b64url_encoded_len(256);
		size_t base, pad_ok = 0, pad_big = 0;
		struct claims c2 = good();

		c2.extra = "\"pad\":\"\"";
		base = strlen(payload(&c2));
		for (size_t pad = 0; pad < 20000; pad++) {
			size_t tl = hlen + 1 + b64url_encoded_len(base + pad) + 1 + slen;
			if (tl <= JWT_MAX_BYTES)
				pad_ok = pad;
			else if (!pad_big)
				pad_big = pad;
		}
		char *fill = malloc(pad_big + 1);
		memset(fill, 'x', pad_big);
		fill[pad_big] = '\0';
		c2.extra = F("\"pad\":\"%s\"", fill);
		u = tok(k_rsa, "RS256", "rsa1", &c2);
		T_OK(strlen(u) > JWT_MAX_BYTES && strlen(u) <= JWT_MAX_BYTES + 2);
		EXPECT(u, ERR_JWT_TOO_LARGE);
		fill[pad_ok] = '\0';
		c2.extra = F("\"pad\":\"%s\"", fill);
		u = tok(k_rsa, "RS256", "rsa1", &c2);
		T_OK(strlen(u) <= JWT_MAX_BYTES && strlen(u) >= JWT_MAX_BYTES - 2);
		T_CASE("IDT-10 twin: a token of (nearly) exactly 16 KiB accepted");
		EXPECT(u, 0);
		free(fill);
	}
}

static void test_idt11_json(void)
{
	struct claims c = good();
	static const unsigned char utf16[] = { 0xff, 0xfe, '{', 0, '"', 0, 'a', 0,
					       '"',  0,	   ':', 0, '1', 0, '}', 0 };

	T_CASE("IDT-11 two alg members in the header");
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"alg\":\"none\"}", &c),
	       ERR_JSON_DUP);
	T_CASE("IDT-11 ALG next to alg in the header");
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"ALG\":\"none\"}", &c),
	       ERR_JSON_DUP);
	T_CASE("IDT-11 ISS next to iss in the payload");
	c.extra = "\"ISS\":\"https://evil.example\"";
	EXPECT(rs(&c), ERR_JSON_DUP);
	T_CASE("IDT-11 two iss in the payload");
	c.extra = "\"iss\":\"https://evil.example\"";
	EXPECT(rs(&c), ERR_JSON_DUP);
	T_CASE("IDT-11 two sub, nested duplicate");
	c.extra = "\"Sub\":\"root\"";
	EXPECT(rs(&c), ERR_JSON_DUP);
	c.extra = "\"address\":{\"country\":\"a\",\"country\":\"b\"}";
	EXPECT(rs(&c), ERR_JSON_DUP);
	c = good();
	T_CASE("IDT-11 invalid UTF-8 in the payload");
	c.sub = "\"alice\xc3\x28\"";
	EXPECT(rs(&c), ERR_JSON_UTF8);
	c.sub = "\"\xed\xa0\x80\""; /* UTF-8-encoded surrogate */
	EXPECT(rs(&c), ERR_JSON_UTF8);
	T_CASE("IDT-11 \\u0000 in sub");
	c.sub = "\"alice\\u0000admin\"";
	EXPECT(rs(&c), ERR_JSON_UTF8);
	T_CASE("IDT-11 UTF-16 payload");
	EXPECT(tok_raw_payload(k_rsa, "RS256", hdr("RS256", "rsa1"), utf16, sizeof(utf16)),
	       ERR_JSON_UTF8);
	T_CASE("IDT-11 trailing garbage after the payload object, nesting too deep");
	c = good();
	EXPECT(mint_token(k_rsa, "RS256", hdr("RS256", "rsa1"), F("%s x", payload(&c)), NULL),
	       ERR_JSON);
	c = good();
	c.extra = "\"deep\":[[[[[[[[[1]]]]]]]]]";
	EXPECT(rs(&c), ERR_JSON_DEPTH);
	T_CASE("IDT-11 twin: escaped non-ASCII sub accepted");
	c = good();
	c.sub = "\"caf\\u00e9\"";
	EXPECT(rs(&c), 0);
}

static void test_idt12_kid(void)
{
	struct claims c = good();
	char *longkid = malloc(10241);

	T_CASE("IDT-12 unknown kid");
	EXPECT(tok(k_rsa, "RS256", "nope", &c), ERR_JWT_KID_UNKNOWN);
	T_CASE("IDT-12 kid differing in case only");
	EXPECT(tok(k_rsa, "RS256", "RSA1", &c), ERR_JWT_KID_UNKNOWN);
	T_CASE("IDT-12 kid ../../etc/passwd is opaque");
	EXPECT(tok(k_rsa, "RS256", "../../etc/passwd", &c), ERR_JWT_KID_UNKNOWN);
	T_OK(strstr(logcap.last, "kid ../../etc/passwd") != NULL);
	T_CASE("IDT-12 kid with escape sequence and newline is sanitized in the log");
	EXPECT(tok(k_rsa, "RS256", "\\u001b[2J\\nroot login ok", &c), ERR_JWT_KID_UNKNOWN);
	T_OK(!strchr(logcap.last, '\x1b') && !strchr(logcap.last, '\n'));
	T_OK(strstr(logcap.last, "?[2J?root login ok") != NULL);
	T_CASE("IDT-12 10 KB kid");
	memset(longkid, 'A', 10240);
	longkid[10240] = '\0';
	EXPECT(tok(k_rsa, "RS256", longkid, &c), ERR_JWT_HEADER);
	T_OK(strlen(logcap.last) < 600);
	longkid[65] = '\0';
	T_OK(strstr(logcap.last, longkid) == NULL);
	T_CASE("IDT-12 kid of 257 bytes refused as header, 256 bytes is only unknown");
	memset(longkid, 'B', 257);
	longkid[257] = '\0';
	EXPECT(tok(k_rsa, "RS256", longkid, &c), ERR_JWT_HEADER);
	longkid[256] = '\0';
	EXPECT(tok(k_rsa, "RS256", longkid, &c), ERR_JWT_KID_UNKNOWN);
	T_OK(strstr(logcap.last, F("kid %.64s,", longkid)) != NULL); /* capped at 64 */
	T_CASE("IDT-12 kid empty, kid not a string");
	EXPECT(tok(k_rsa, "RS256", "", &c), ERR_JWT_KID_UNKNOWN);
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":1}", &c), ERR_JWT_HEADER);
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":null}", &c), ERR_JWT_HEADER);
	free(longkid);
}

static void test_idt13_no_kid(void)
{
	struct claims c = good();
	const char *one[] = { keep(mint_jwk(k_rsa, "rsa1", NULL)),
			      keep(mint_jwk(k_p256, "e", NULL)) };
	const char *two[] = { keep(mint_jwk(k_rsa, "rsa1", NULL)),
			      keep(mint_jwk(k_rsa2, "rsa2", NULL)) };
	const char *ec_only[] = { keep(mint_jwk(k_p256, "e", NULL)) };
	struct jwks *s1 = parse_set(one, 2), *s2 = parse_set(two, 2), *s3 = parse_set(ec_only, 1);

	T_CASE("IDT-13 no kid, one RSA key in the set: accepted");
	EXPECT_KP(tok(k_rsa, "RS256", NULL, &c), s1, &pol, 0);
	T_CASE("IDT-13 no kid, one RSA key: a token by another key fails the signature");
	EXPECT_KP(tok(k_rsa2, "RS256", NULL, &c), s1, &pol, ERR_JWT_SIGNATURE);
	T_CASE("IDT-13 no kid, two RS256-capable keys: ambiguous");
	EXPECT_KP(tok(k_rsa, "RS256", NULL, &c), s2, &pol, ERR_JWT_KID_AMBIGUOUS);
	EXPECT_KP(tok(k_rsa, "PS256", NULL, &c), s2, &pol, ERR_JWT_KID_AMBIGUOUS);
	T_CASE("IDT-13 twin: the same token with a kid");
	EXPECT_KP(tok(k_rsa, "RS256", "rsa1", &c), s2, &pol, 0);
	T_CASE("IDT-13 no kid, no key fits the alg: unknown (refresh once)");
	EXPECT_KP(tok(k_rsa, "RS256", NULL, &c), s3, &pol, ERR_JWT_KID_UNKNOWN);
	T_CASE("IDT-13 no kid in the full set: one P-384 key -> accepted, many RSA -> ambiguous");
	EXPECT(tok(k_p384, "ES384", NULL, &c), 0);
	EXPECT(tok(k_rsa, "RS256", NULL, &c), ERR_JWT_KID_AMBIGUOUS);
	T_CASE("IDT-13 no kid: JWK alg members count (EdDSA: 2 keys, Ed25519: 1 key)");
	EXPECT(tok(k_ed, "EdDSA", NULL, &c), ERR_JWT_KID_AMBIGUOUS);
	EXPECT(tok(k_ed, "Ed25519", NULL, &c), 0);
	T_CASE("IDT-13 jwt_select_key returns the right key");
	{
		struct jwt *t = NULL;
		const struct jwk *k = NULL;
		char *s = tok(k_p384, "ES384", NULL, &c);

		T_EQ(jwt_parse(s, strlen(s), NULL, &t), 0);
		T_EQ(jwt_select_key(t, ks, NULL, &k), 0);
		T_OK(k && k->kid && strcmp(k->kid, "ec384") == 0 &&
		     EVP_PKEY_eq(k->pkey, k_p384) == 1);
		T_EQ(jwt_verify_signature(t, k, NULL), 0);
		T_EQ(jwt_check_claims(t, &pol, NULL), 0);
		jwt_free(t);
		free(s);
	}
	jwks_free(s1);
	jwks_free(s2);
	jwks_free(s3);
}

static void test_idt14_rotation(void)
{
	struct claims c = good();
	const char *ja[] = { keep(mint_jwk(k_rsa, "A", NULL)) };
	const char *jb[] = { keep(mint_jwk(k_rsa2, "B", NULL)) };
	struct jwks *a = parse_set(ja, 1), *b = parse_set(jb, 1);

	T_CASE("IDT-14 login 1 with key A");
	EXPECT_KP(tok(k_rsa, "RS256", "A", &c), a, &pol, 0);
	T_CASE("IDT-14 key B before the refresh: unknown kid");
	EXPECT_KP(tok(k_rsa2, "RS256", "B", &c), a, &pol, ERR_JWT_KID_UNKNOWN);
	T_CASE("IDT-14 key B after the refresh: accepted");
	EXPECT_KP(tok(k_rsa2, "RS256", "B", &c), b, &pol, 0);
	T_CASE("IDT-14 key A after the refresh: refused");
	EXPECT_KP(tok(k_rsa, "RS256", "A", &c), b, &pol, ERR_JWT_KID_UNKNOWN);
	EXPECT_KP(tok(k_rsa, "RS256", "B", &c), b, &pol, ERR_JWT_SIGNATURE);
	jwks_free(a);
	jwks_free(b);
}

static void test_idt16_iss(void)
{
	struct claims c = good();

	T_CASE("IDT-16 another issuer");
	c.iss = "\"https://evil.example.com\"";
	EXPECT(rs(&c), ERR_CLAIM_ISS);
	T_CASE("IDT-16 trailing slash");
	c.iss = "\"" ISS "/\"";
	EXPECT(rs(&c), ERR_CLAIM_ISS);
	T_CASE("IDT-16 different case");
	c.iss = "\"https://IDP.example.com\"";
	EXPECT(rs(&c), ERR_CLAIM_ISS);
	T_CASE("IDT-16 http vs https");
	c.iss = "\"http://idp.example.com\"";
	EXPECT(rs(&c), ERR_CLAIM_ISS);
	T_CASE("IDT-16 prefix and suffix of the issuer");
	c.iss = "\"https://idp.example.com.evil\"";
	EXPECT(rs(&c), ERR_CLAIM_ISS);
	c.iss = "\"https://idp.example.co\"";
	EXPECT(rs(&c), ERR_CLAIM_ISS);
	T_OK(strstr(logcap.last, "iss https://idp.example.co,") !=
	     NULL); /* claims stage logs iss */
	T_CASE("IDT-16 iss missing, iss not a string");
	c.iss = NULL;
	EXPECT(rs(&c), ERR_CLAIM_MISSING);
	c.iss = "[\"" ISS "\"]";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
}

static void test_idt17_other_idp(void)
{
	struct claims c = good();
	const char *jb[] = { keep(mint_jwk(k_evil, "idp-b", NULL)) };
	struct jwks *b = parse_set(jb, 1);

	T_CASE("IDT-17 iss=A signed by B's key (B's kid) against A's set");
	EXPECT(tok(k_evil, "RS256", "idp-b", &c), ERR_JWT_KID_UNKNOWN);
	T_CASE("IDT-17 iss=A token verified with B's set and B's policy refuses iss");
	{
		struct jwt_policy pb = pol;
		pb.issuer = "https://idp-b.example.com";
		EXPECT_KP(tok(k_evil, "RS256", "idp-b", &c), b, &pb, ERR_CLAIM_ISS);
	}
	jwks_free(b);
}

static void test_idt18_19_aud_azp(void)
{
	struct claims c = good();

	T_CASE("IDT-18 aud missing");
	c.aud = NULL;
	EXPECT(rs(&c), ERR_CLAIM_MISSING);
	T_CASE("IDT-18 aud string other than client_id");
	c.aud = "\"other-client\"";
	EXPECT(rs(&c), ERR_CLAIM_AUD);
	c.aud = "\"PAM-CLIENT\"";
	EXPECT(rs(&c), ERR_CLAIM_AUD);
	c.aud = "\"" CID " \"";
	EXPECT(rs(&c), ERR_CLAIM_AUD);
	T_CASE("IDT-18 aud array without client_id");
	c.aud = "[\"a\",\"b\"]";
	c.azp = "\"" CID "\"";
	EXPECT(rs(&c), ERR_CLAIM_AUD);
	c.aud = "[]";
	c.azp = NULL;
	EXPECT(rs(&c), ERR_CLAIM_AUD);
	T_CASE("IDT-18 twin: aud [client_id] without azp accepted");
	c.aud = "[\"" CID "\"]";
	EXPECT(rs(&c), 0);

	c = good();
	T_CASE("IDT-19 azp other than client_id");
	c.azp = "\"other-client\"";
	EXPECT(rs(&c), ERR_CLAIM_AZP);
	T_CASE("IDT-19 several audiences without azp");
	c.aud = "[\"" CID "\",\"other\"]";
	c.azp = NULL;
	EXPECT(rs(&c), ERR_CLAIM_AZP);
	T_CASE("IDT-19 several audiences, azp another audience");
	c.azp = "\"other\"";
	EXPECT(rs(&c), ERR_CLAIM_AZP);
	T_CASE("IDT-19 twin: several audiences with azp = client_id accepted");
	c.azp = "\"" CID "\"";
	EXPECT(rs(&c), 0);
	T_CASE("IDT-19 twin: one audience with azp = client_id accepted");
	c.aud = "\"" CID "\"";
	EXPECT(rs(&c), 0);
}

static void test_idt20_22_times(void)
{
	struct claims c = good();

	T_CASE("IDT-20 exp now-61 with 60 s skew");
	c.exp = F("%lld", NOW - 61);
	EXPECT(rs(&c), ERR_CLAIM_EXP);
	T_CASE("IDT-20 exp now-60 (boundary: now >= exp + skew)");
	c.exp = F("%lld", NOW - 60);
	EXPECT(rs(&c), ERR_CLAIM_EXP);
	T_CASE("IDT-20 twin: exp now-59 accepted");
	c.exp = F("%lld", NOW - 59);
	EXPECT(rs(&c), 0);
	T_CASE("IDT-20 exp missing");
	c.exp = NULL;
	EXPECT(rs(&c), ERR_CLAIM_MISSING);
	T_CASE("IDT-20 exp the string \"9999999999\"");
	c.exp = "\"9999999999\"";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	T_CASE("IDT-20 exp 1e400");
	c.exp = "1e400";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	T_CASE("IDT-20 exp negative");
	c.exp = "-1";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	T_CASE("IDT-20 exp true, null, 1e300, array");
	c.exp = "true";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	c.exp = "null";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	c.exp = "1e300";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	c.exp = F("[%lld]", NOW + 300);
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	T_CASE("IDT-20 twin: exp 9999999999 as a number, fractional exp");
	c.exp = "9999999999";
	EXPECT(rs(&c), 0);
	c.exp = F("%lld.5", NOW + 10);
	EXPECT(rs(&c), 0);

	c = good();
	T_CASE("IDT-21 iat missing");
	c.iat = NULL;
	EXPECT(rs(&c), ERR_CLAIM_MISSING);
	T_CASE("IDT-21 iat now+61 (future beyond skew)");
	c.iat = F("%lld", NOW + 61);
	EXPECT(rs(&c), ERR_CLAIM_IAT_FUTURE);
	T_CASE("IDT-21 twin: iat now+60 accepted");
	c.iat = F("%lld", NOW + 60);
	EXPECT(rs(&c), 0);
	T_CASE("IDT-21 iat older than max age + skew");
	c.iat = F("%lld", NOW - MAXAGE - SKEW - 1);
	EXPECT(rs(&c), ERR_CLAIM_IAT_OLD);
	c.iat = "0";
	EXPECT(rs(&c), ERR_CLAIM_IAT_OLD);
	T_CASE("IDT-21 twin: iat exactly max age + skew old accepted");
	c.iat = F("%lld", NOW - MAXAGE - SKEW);
	EXPECT(rs(&c), 0);
	T_CASE("IDT-21 iat a string");
	c.iat = F("\"%lld\"", NOW);
	EXPECT(rs(&c), ERR_CLAIM_TYPE);

	c = good();
	T_CASE("IDT-22 nbf now+61");
	c.nbf = F("%lld", NOW + 61);
	EXPECT(rs(&c), ERR_CLAIM_NBF);
	T_CASE("IDT-22 twin: nbf now+60 and nbf now accepted");
	c.nbf = F("%lld", NOW + 60);
	EXPECT(rs(&c), 0);
	c.nbf = F("%lld", NOW);
	EXPECT(rs(&c), 0);
	T_CASE("IDT-22 nbf a string, nbf false");
	c.nbf = "\"0\"";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	c.nbf = "false";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
}

static void test_idt23_nonce(void)
{
	struct claims c = good();
	struct jwt_policy p = pol;

	T_CASE("IDT-23 nonce missing");
	c.nonce = NULL;
	EXPECT(rs(&c), ERR_CLAIM_MISSING);
	T_CASE("IDT-23 nonce different, same length (an earlier login's nonce)");
	c.nonce = "\"n-0S6_WzA2Mk\"";
	EXPECT(rs(&c), ERR_CLAIM_NONCE);
	T_CASE("IDT-23 nonce different length (prefix, longer, case)");
	c.nonce = "\"n-0S6_WzA2M\"";
	EXPECT(rs(&c), ERR_CLAIM_NONCE);
	c.nonce = "\"" NONCE "x\"";
	EXPECT(rs(&c), ERR_CLAIM_NONCE);
	c.nonce = "\"N-0S6_WZA2MJ\"";
	EXPECT(rs(&c), ERR_CLAIM_NONCE);
	c.nonce = "\"\"";
	EXPECT(rs(&c), ERR_CLAIM_NONCE);
	T_CASE("IDT-23 nonce an array");
	c.nonce = "[\"" NONCE "\"]";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	c = good();
	T_CASE("IDT-23 policy without a nonce (NULL or empty) refuses");
	p.nonce = NULL;
	EXPECT_KP(rs(&c), ks, &p, ERR_INVAL);
	p.nonce = "";
	EXPECT_KP(rs(&c), ks, &p, ERR_INVAL);
	T_CASE("IDT-20 policy with a negative clock skew refuses");
	p = pol;
	p.clock_skew = -1;
	EXPECT_KP(rs(&c), ks, &p, ERR_INVAL);
	T_CASE("IDT-21 policy with max token age 0 refuses");
	p = pol;
	p.max_token_age = 0;
	EXPECT_KP(rs(&c), ks, &p, ERR_INVAL);
	T_CASE("IDT-16 policy without an issuer refuses");
	p = pol;
	p.issuer = NULL;
	EXPECT_KP(rs(&c), ks, &p, ERR_INVAL);
	T_CASE("IDT-18 policy with an empty client_id refuses");
	p = pol;
	p.client_id = "";
	EXPECT_KP(rs(&c), ks, &p, ERR_INVAL);
	T_CASE("NULL arguments");
	{
		struct jwt *t = NULL;
		char *s = rs(&c);
		T_EQ(jwt_verify(NULL, 0, ks, &pol, NULL, &t), ERR_INVAL);
		T_EQ(jwt_verify(s, strlen(s), NULL, &pol, NULL, &t), ERR_INVAL);
		T_EQ(jwt_verify(s, strlen(s), ks, NULL, NULL, &t), ERR_INVAL);
		T_EQ(jwt_verify(s, strlen(s), ks, &pol, NULL, NULL), ERR_INVAL);
		T_EQ(jwt_parse(NULL, 0, NULL, &t), ERR_INVAL);
		T_OK(t == NULL);
		free(s);
	}
}

static void test_idt24_sub(void)
{
	struct claims c = good();
	char s256[257 + 2];

	T_CASE("IDT-24 sub missing");
	c.sub = NULL;
	EXPECT(rs(&c), ERR_CLAIM_MISSING);
	T_CASE("IDT-24 sub empty");
	c.sub = "\"\"";
	EXPECT(rs(&c), ERR_CLAIM_SUB);
	T_CASE("IDT-24 sub a number");
	c.sub = "12345";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	T_CASE("IDT-24 sub of 256 characters");
	s256[0] = '"';
	memset(s256 + 1, 's', 256);
	s256[257] = '"';
	s256[258] = '\0';
	c.sub = s256;
	EXPECT(rs(&c), ERR_CLAIM_SUB);
	T_CASE("IDT-24 twin: sub of 255 characters accepted");
	s256[256] = '"';
	s256[257] = '\0';
	EXPECT(rs(&c), 0);
	T_CASE("IDT-24 sub null, sub object");
	c.sub = "null";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	c.sub = "{\"id\":\"alice\"}";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
}

static void test_idt27_typ(void)
{
	struct claims c = good();

	T_CASE("IDT-27 typ at+jwt (RFC 9068 access token)");
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"at+jwt\"}", &c),
	       ERR_JWT_TYP);
	EXPECT(tok_h(k_rsa, "RS256",
		     "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"application/at+jwt\"}", &c),
	       ERR_JWT_TYP);
	T_CASE("IDT-27 typ logout+jwt");
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"logout+jwt\"}",
		     &c),
	       ERR_JWT_TYP);
	T_CASE("IDT-27 typ JOSE (decided: not JWT, refused)");
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"JOSE\"}", &c),
	       ERR_JWT_TYP);
	T_CASE("IDT-27 typ application/jwt, empty typ");
	EXPECT(tok_h(k_rsa, "RS256",
		     "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"application/jwt\"}", &c),
	       ERR_JWT_TYP);
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"\"}", &c),
	       ERR_JWT_TYP);
	T_CASE("IDT-27 typ not a string");
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":[\"JWT\"]}", &c),
	       ERR_JWT_HEADER);
	T_CASE("IDT-27 cty JWT (nested token)");
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"cty\":\"JWT\"}", &c),
	       ERR_JWT_HEADER);
	T_CASE("IDT-27 events claim (logout token) with typ JWT and aud client_id");
	c.extra = "\"events\":{\"http://schemas.openid.net/event/backchannel-logout\":{}}";
	EXPECT(rs(&c), ERR_CLAIM_EVENTS);
	c.extra = "\"events\":null";
	EXPECT(rs(&c), ERR_CLAIM_EVENTS);
	c = good();
	T_CASE("IDT-27 twin: typ JWT, jwt, and absent accepted");
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"jwt\"}", &c),
	       0);
	EXPECT(tok_h(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", &c), 0);
	EXPECT(rs(&c), 0);
}

static const char *at_hash_of(const char *at, const EVP_MD *md)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	EVP_Digest(at, strlen(at), d, &n, md, NULL);
	return keep(mint_b64(d, n / 2));
}

static const char *at_hash_full(const char *at, const EVP_MD *md)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	EVP_Digest(at, strlen(at), d, &n, md, NULL);
	return keep(mint_b64(d, n));
}

static void test_idt28_at_hash(void)
{
	struct claims c = good();
	struct jwt_policy p = pol;
	/* OIDC Core A.3 example: access token and its RS256 at_hash */
	const char *at = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";

	p.access_token = at;
	T_CASE("IDT-28 at_hash matches (OIDC Core A.3 vector)");
	c.at_hash = "\"77QmUPtjPfzWtF2AnpK9RQ\"";
	EXPECT_KP(rs(&c), ks, &p, 0);
	T_CASE("IDT-28 at_hash mismatch");
	c.at_hash = "\"77QmUPtjPfzWtF2AnpK9RR\"";
	EXPECT_KP(rs(&c), ks, &p, ERR_CLAIM_AT_HASH);
	T_CASE("IDT-28 at_hash for another access token");
	p.access_token = "another-access-token";
	c.at_hash = "\"77QmUPtjPfzWtF2AnpK9RQ\"";
	EXPECT_KP(rs(&c), ks, &p, ERR_CLAIM_AT_HASH);
	p.access_token = at;
	T_CASE("IDT-28 at_hash of the full digest (not the left half)");
	c.at_hash = F("\"%s\"", at_hash_full(at, EVP_sha256()));
	EXPECT_KP(rs(&c), ks, &p, ERR_CLAIM_AT_HASH);
	T_CASE("IDT-28 ES384 uses SHA-384");
	c.at_hash = F("\"%s\"", at_hash_of(at, EVP_sha384()));
	EXPECT_KP(tok(k_p384, "ES384", "ec384", &c), ks, &p, 0);
	c.at_hash = F("\"%s\"", at_hash_of(at, EVP_sha256()));
	EXPECT_KP(tok(k_p384, "ES384", "ec384", &c), ks, &p, ERR_CLAIM_AT_HASH);
	T_CASE("IDT-28 EdDSA uses SHA-512");
	c.at_hash = F("\"%s\"", at_hash_of(at, EVP_sha512()));
	EXPECT_KP(tok(k_ed, "EdDSA", "ed1", &c), ks, &p, 0);
	c.at_hash = F("\"%s\"", at_hash_of(at, EVP_sha256()));
	EXPECT_KP(tok(k_ed, "EdDSA", "ed1", &c), ks, &p, ERR_CLAIM_AT_HASH);
	T_CASE("IDT-28 at_hash not a string");
	c.at_hash = "12";
	EXPECT_KP(rs(&c), ks, &p, ERR_CLAIM_TYPE);
	T_CASE("IDT-28 twin: at_hash present, no access token to check it against");
	c.at_hash = "\"77QmUPtjPfzWtF2AnpK9RR\"";
	EXPECT(rs(&c), 0);
}

static void test_idt31_types(void)
{
	struct claims c = good();

	T_CASE("IDT-31 sub a number");
	c.sub = "42";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	c = good();
	T_CASE("IDT-31 aud an object");
	c.aud = "{\"" CID "\":true}";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	T_CASE("IDT-31 aud array with a number");
	c.aud = "[\"" CID "\",7]";
	c.azp = "\"" CID "\"";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	T_CASE("IDT-31 aud a number, aud null");
	c.azp = NULL;
	c.aud = "1";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	c.aud = "null";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	c = good();
	T_CASE("IDT-31 nonce an array");
	c.nonce = "[\"" NONCE "\"]";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	c = good();
	T_CASE("IDT-31 azp a number, iss an object");
	c.azp = "7";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	c = good();
	c.iss = "{\"url\":\"" ISS "\"}";
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	c = good();
	T_CASE("IDT-31 auth_time a string");
	c.extra = F("\"auth_time\":\"%lld\"", NOW);
	EXPECT(rs(&c), ERR_CLAIM_TYPE);
	c.extra = F("\"auth_time\":%lld", NOW - 5);
	T_CASE("IDT-31 twin: auth_time a number accepted");
	EXPECT(rs(&c), 0);
}

/* ---- the verify contexts jwks_parse prepares (jwks.h) ------------------------ */

/* The key as a hand-built struct jwk would be: no prepared context, so
 * jwt_verify_signature sets one up per call. */
static struct jwk per_call(const struct jwk *k)
{
	struct jwk c = *k;

	c.verify_alg = NULL;
	c.verify_md = NULL;
	c.verify_pctx = NULL;
	c.verify_mctx = NULL;
	return c;
}

/* Checks the signature of token s (freed) against set both ways: on the
 * key's prepared context (prepared: the key has one for the token's alg,
 * else it takes the per-call path anyway) and on a per-call one. Both give
 * want, twice (the shared context is not used up), and leave nothing in
 * OpenSSL's error queue. */
static void sig_both(char *s, const struct jwks *set, int prepared, int want)
{
	struct jwt *t = NULL;
	const struct jwk *k = NULL;

	T_EQ(jwt_parse(s, strlen(s), NULL, &t), 0);
	if (t)
		T_EQ(jwt_select_key(t, set, NULL, &k), 0);
	if (t && k) {
		struct jwk c = per_call(k);

		T_EQ(k->verify_alg && strcmp(k->verify_alg, jwt_alg_name(t->alg)) == 0, prepared);
		T_EQ(jwt_verify_signature(t, k, NULL), want);
		T_EQ(jwt_verify_signature(t, &c, NULL), want);
		T_EQ(jwt_verify_signature(t, k, NULL), want);
		T_EQ(ERR_peek_error(), 0);
	}
	jwt_free(t);
	free(s);
}

static void test_prepared(void)
{
	struct claims c = good();
	const char *pl = payload(&c);
	struct mint_opts salt = { 1, 0, 0 };
	BIGNUM *r = NULL, *s = NULL, *n = mint_ec_order(32), *zero = BN_new();
	struct jwks *ps;

	BN_zero(zero);
	T_CASE("prepared RS256 (JWK alg RS256): RS256 accepted; PS256 refused, key alg mismatch");
	sig_both(tok(k_rsa2, "RS256", "rsa-rs256", &c), ks, 1, 0);
	EXPECT(tok(k_rsa2, "RS256", "rsa-rs256", &c), 0);
	EXPECT(tok(k_rsa2, "PS256", "rsa-rs256", &c), ERR_JWT_KEY_MISMATCH);
	T_CASE("prepared RS256: flipped signature, RS384 and PSS signatures under RS256 refused");
	sig_both(mint_flip_sig(keep(tok(k_rsa2, "RS256", "rsa-rs256", &c)), 7, 0x20), ks, 1,
		 ERR_JWT_SIGNATURE);
	sig_both(mint_token(k_rsa2, "RS384", hdr("RS256", "rsa-rs256"), pl, NULL), ks, 1,
		 ERR_JWT_SIGNATURE);
	sig_both(mint_token(k_rsa2, "PS256", hdr("RS256", "rsa-rs256"), pl, NULL), ks, 1,
		 ERR_JWT_SIGNATURE);
	EXPECT(mint_token(k_rsa2, "RS512", hdr("RS256", "rsa-rs256"), pl, NULL), ERR_JWT_SIGNATURE);

	T_CASE("no JWK alg (rsa1): RS256 prepared, then RS384, RS512, PS256 per call");
	sig_both(tok(k_rsa, "RS256", "rsa1", &c), ks, 1, 0);
	sig_both(tok(k_rsa, "RS384", "rsa1", &c), ks, 0, 0);
	sig_both(tok(k_rsa, "RS512", "rsa1", &c), ks, 0, 0);
	sig_both(tok(k_rsa, "PS256", "rsa1", &c), ks, 0, 0);
	EXPECT(tok(k_rsa, "RS256", "rsa1", &c), 0);
	EXPECT(tok(k_rsa, "RS384", "rsa1", &c), 0);
	EXPECT(mint_flip_sig(keep(tok(k_rsa, "RS384", "rsa1", &c)), 3, 0x01), ERR_JWT_SIGNATURE);
	T_CASE("no JWK alg: RS256 header over an RS384 signature refused on the prepared path");
	sig_both(mint_token(k_rsa, "RS384", hdr("RS256", "rsa1"), pl, NULL), ks, 1,
		 ERR_JWT_SIGNATURE);

	{
		const char *j[] = {
			keep(mint_jwk(k_rsa, "ps256", "\"alg\":\"PS256\"")),
			keep(mint_jwk(k_rsa, "ps384", "\"alg\":\"PS384\"")),
			keep(mint_jwk(k_rsa, "ps512", "\"alg\":\"PS512\"")),
		};
		ps = parse_set(j, 3);
	}
	T_CASE("prepared PS256 (JWK alg PS256): salt 32 accepted; salt 0, 20 and max refused");
	salt.pss_saltlen = 32;
	sig_both(mint_token(k_rsa, "PS256", hdr("PS256", "ps256"), pl, &salt), ps, 1, 0);
	EXPECT_KP(mint_token(k_rsa, "PS256", hdr("PS256", "ps256"), pl, &salt), ps, &pol, 0);
	salt.pss_saltlen = 0;
	sig_both(mint_token(k_rsa, "PS256", hdr("PS256", "ps256"), pl, &salt), ps, 1,
		 ERR_JWT_SIGNATURE);
	EXPECT_KP(mint_token(k_rsa, "PS256", hdr("PS256", "ps256"), pl, &salt), ps, &pol,
		  ERR_JWT_SIGNATURE);
	salt.pss_saltlen = 20;
	sig_both(mint_token(k_rsa, "PS256", hdr("PS256", "ps256"), pl, &salt), ps, 1,
		 ERR_JWT_SIGNATURE);
	salt.pss_saltlen = RSA_PSS_SALTLEN_MAX;
	sig_both(mint_token(k_rsa, "PS256", hdr("PS256", "ps256"), pl, &salt), ps, 1,
		 ERR_JWT_SIGNATURE);
	T_CASE("prepared PS384/PS512: salt 48/64 accepted, salt 0 refused");
	salt.pss_saltlen = 48;
	sig_both(mint_token(k_rsa, "PS384", hdr("PS384", "ps384"), pl, &salt), ps, 1, 0);
	salt.pss_saltlen = 64;
	sig_both(mint_token(k_rsa, "PS512", hdr("PS512", "ps512"), pl, &salt), ps, 1, 0);
	salt.pss_saltlen = 0;
	sig_both(mint_token(k_rsa, "PS384", hdr("PS384", "ps384"), pl, &salt), ps, 1,
		 ERR_JWT_SIGNATURE);
	sig_both(mint_token(k_rsa, "PS512", hdr("PS512", "ps512"), pl, &salt), ps, 1,
		 ERR_JWT_SIGNATURE);
	T_CASE("prepared PS256: PKCS#1 v1.5 and PS384 signatures under PS256 refused");
	sig_both(mint_token(k_rsa, "RS256", hdr("PS256", "ps256"), pl, NULL), ps, 1,
		 ERR_JWT_SIGNATURE);
	sig_both(mint_token(k_rsa, "PS384", hdr("PS256", "ps256"), pl, NULL), ps, 1,
		 ERR_JWT_SIGNATURE);
	T_CASE("prepared PS256: RS256 and PS384 headers refused, key alg mismatch");
	EXPECT_KP(tok(k_rsa, "RS256", "ps256", &c), ps, &pol, ERR_JWT_KEY_MISMATCH);
	EXPECT_KP(tok(k_rsa, "PS384", "ps256", &c), ps, &pol, ERR_JWT_KEY_MISMATCH);
	T_CASE("prepared PS256 shared: salt 0 and salt 32 interleaved");
	for (int i = 0; i < 6; i++) {
		salt.pss_saltlen = i % 2 ? 32 : 0;
		EXPECT_KP(mint_token(k_rsa, "PS256", hdr("PS256", "ps256"), pl, &salt), ps, &pol,
			  i % 2 ? 0 : ERR_JWT_SIGNATURE);
	}
	jwks_free(ps);

	ec_real_rs(k_p256, "ES256", "ec256", &r, &s);
	T_CASE("prepared ES256: real r,s accepted; r = 0, s = 0, r = n refused before verifying");
	sig_both(ec_tok_rs(k_p256, "ES256", "ec256", r, s), ks, 1, 0);
	sig_both(ec_tok_rs(k_p256, "ES256", "ec256", zero, s), ks, 1, ERR_JWT_SIG_FORMAT);
	sig_both(ec_tok_rs(k_p256, "ES256", "ec256", r, zero), ks, 1, ERR_JWT_SIG_FORMAT);
	sig_both(ec_tok_rs(k_p256, "ES256", "ec256", zero, zero), ks, 1, ERR_JWT_SIG_FORMAT);
	sig_both(ec_tok_rs(k_p256, "ES256", "ec256", n, s), ks, 1, ERR_JWT_SIG_FORMAT);
	EXPECT(ec_tok_rs(k_p256, "ES256", "ec256", zero, s), ERR_JWT_SIG_FORMAT);
	T_CASE("prepared ES256: r = n - 1 in range, fails to verify; s and r swapped");
	BN_sub_word(n, 1);
	sig_both(ec_tok_rs(k_p256, "ES256", "ec256", n, s), ks, 1, ERR_JWT_SIGNATURE);
	sig_both(ec_tok_rs(k_p256, "ES256", "ec256", s, r), ks, 1, ERR_JWT_SIGNATURE);
	BN_free(r);
	BN_free(s);
	BN_free(n);
	T_CASE("prepared ES384, ES512 (no JWK alg: the curve's alg): accepted, r = 0 refused");
	sig_both(tok(k_p384, "ES384", "ec384", &c), ks, 1, 0);
	sig_both(tok(k_p521, "ES512", "ec521", &c), ks, 1, 0);
	ec_real_rs(k_p521, "ES512", "ec521", &r, &s);
	sig_both(ec_tok_rs(k_p521, "ES512", "ec521", zero, s), ks, 1, ERR_JWT_SIG_FORMAT);
	sig_both(mint_flip_sig(keep(tok(k_p384, "ES384", "ec384", &c)), 50, 0x80), ks, 1,
		 ERR_JWT_SIGNATURE);
	BN_free(r);
	BN_free(s);
	BN_free(zero);

	T_CASE("prepared EdDSA (ed1, no JWK alg): EdDSA prepared, Ed25519 per call");
	sig_both(tok(k_ed, "EdDSA", "ed1", &c), ks, 1, 0);
	sig_both(tok(k_ed, "Ed25519", "ed1", &c), ks, 0, 0);
	sig_both(mint_flip_sig(keep(tok(k_ed, "EdDSA", "ed1", &c)), 40, 0x01), ks, 1,
		 ERR_JWT_SIGNATURE);
	sig_both(mint_flip_payload(keep(tok(k_ed, "EdDSA", "ed-eddsa", &c)), 3, 0x01), ks, 1,
		 ERR_JWT_SIGNATURE);
	T_CASE("prepared contexts shared: good and bad tokens interleaved");
	for (int i = 0; i < 8; i++) {
		char *rsa = tok(k_rsa, "RS256", "rsa1", &c), *ed = tok(k_ed, "EdDSA", "ed1", &c);

		if (i % 2 == 0) {
			rsa = mint_flip_sig(keep(rsa), (size_t)i, 0x04);
			ed = mint_flip_sig(keep(ed), (size_t)i, 0x04);
		}
		EXPECT(rsa, i % 2 ? 0 : ERR_JWT_SIGNATURE);
		EXPECT(ed, i % 2 ? 0 : ERR_JWT_SIGNATURE);
	}
}

/* jwt_parse decodes base64url itself; it must accept and refuse exactly
 * what b64url_decode does, with the same bytes. */
static void test_b64_agrees(void)
{
	static const char valid[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *h64 = keep(mint_b64("{\"alg\":\"RS256\"}", 15));
	const char *p64 = keep(mint_b64("{}", 2));
	unsigned long seed = 12345;
	int mismatch = 0, accepted = 0, refused = 0;

	T_CASE("IDT-10 base64url: jwt_parse agrees with b64url_decode (signature and header)");
	for (int i = 0; i < 65536 + 20000; i++) {
		char part[32], tokbuf[128];
		size_t plen, tl;
		struct jwt *t = NULL;
		unsigned char *raw = NULL;
		size_t rawlen = 0;
		int rp, rb;

		if (i < 65536) { /* every pair of bytes */
			part[0] = (char)(i >> 8);
			part[1] = (char)(i & 0xff);
			plen = 2;
		} else { /* mostly valid strings of 0..23 characters */
			seed = seed * 6364136223846793005UL + 1442695040888963407UL;
			plen = (seed >> 33) % 24;
			for (size_t k = 0; k < plen; k++) {
				seed = seed * 6364136223846793005UL + 1442695040888963407UL;
				part[k] = (seed >> 40) % 16 ? valid[(seed >> 33) % 64]
							    : (char)((seed >> 45) & 0xff);
			}
		}
		if (memchr(part, '.', plen))
			continue; /* a dot makes another part: ERR_JWT_FORMAT */
		rb = b64url_decode(part, plen, &raw, &rawlen);
		/* as the signature */
		tl = (size_t)snprintf(tokbuf, sizeof(tokbuf), "%s.%s.", h64, p64);
		memcpy(tokbuf + tl, part, plen);
		rp = jwt_parse(tokbuf, tl + plen, NULL, &t);
		if ((rb == 0) != (rp == 0) || (rp != 0 && rp != ERR_B64) ||
		    (rp == 0 && (t->sig_len != rawlen || memcmp(t->sig, raw, rawlen) != 0)))
			mismatch++;
		rp == 0 ? accepted++ : refused++;
		jwt_free(t);
		t = NULL;
		/* as the header (not empty, not '{': those are ERR_JWT_FORMAT first):
		 * refused as base64url exactly when b64url_decode refuses */
		if (plen > 0 && part[0] != '{') {
			memcpy(tokbuf, part, plen);
			tl = plen + (size_t)snprintf(tokbuf + plen, sizeof(tokbuf) - plen,
						     ".%s.AAAA", p64);
			rp = jwt_parse(tokbuf, tl, NULL, &t);
			if ((rb != 0) != (rp == ERR_B64) || (rb == 0 && rp == 0))
				mismatch++;
			jwt_free(t);
		}
		free(raw);
	}
	T_EQ(mismatch, 0);
	T_OK(accepted > 1000 && refused > 1000);
}

int main(void)
{
	setup();
	test_positive();
	test_idt01_none();
	test_idt02_hmac();
	test_idt03_allow_list();
	test_idt04_bad_sig();
	test_idt05_key_binding();
	test_idt06_ecdsa();
	test_idt07_rsa();
	test_idt08_header_keys();
	test_idt09_crit();
	test_idt10_shape();
	test_idt11_json();
	test_idt12_kid();
	test_idt13_no_kid();
	test_idt14_rotation();
	test_idt16_iss();
	test_idt17_other_idp();
	test_idt18_19_aud_azp();
	test_idt20_22_times();
	test_idt23_nonce();
	test_idt24_sub();
	test_idt27_typ();
	test_idt28_at_hash();
	test_idt31_types();
	test_prepared();
	test_b64_agrees();

	T_CASE("no log line with control bytes or over 512 bytes");
	T_EQ(logcap.ctrl, 0);
	T_EQ(logcap.long_lines, 0);
	T_CASE("at least 45 negative token cases");
	T_OK(n_neg >= 45);
	printf("negative token cases asserted: %d\n", n_neg);

	jwks_free(ks);
	EVP_PKEY_free(k_rsa);
	EVP_PKEY_free(k_rsa2);
	EVP_PKEY_free(k_p256);
	EVP_PKEY_free(k_p384);
	EVP_PKEY_free(k_p521);
	EVP_PKEY_free(k_ed);
	EVP_PKEY_free(k_rsa1024);
	EVP_PKEY_free(k_evil);
	for (size_t i = 0; i < npool; i++)
		free(pool[i]);
	return t_done();
}
