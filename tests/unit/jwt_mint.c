/* jwt_mint.c: test-only token and key minting (see jwt_mint.h). Every
 * failure aborts: a failure here is a broken test set-up. */
#include "jwt_mint.h"

static void mint_die(const char *what)
{
	fprintf(stderr, "jwt_mint: %s failed\n", what);
	abort();
}

static void *mint_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		mint_die("malloc");
	return p;
}

/* malloc'd printf */
char *mint_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		mint_die("vsnprintf");
	s = (char *)mint_malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

char *mint_b64(const void *p, size_t n)
{
	size_t len = b64url_encoded_len(n) + 1;
	char *s = (char *)mint_malloc(len);

	if (b64url_encode((const unsigned char *)p, n, s, len) != 0)
		mint_die("b64url_encode");
	return s;
}

/* NULL when s is not strict base64url. */
unsigned char *mint_unb64(const char *s, size_t len, size_t *outlen)
{
	unsigned char *out = NULL;

	if (b64url_decode(s, len, &out, outlen) != 0)
		return NULL;
	return out;
}

/* ---- keys ---------------------------------------------------------------- */

EVP_PKEY *mint_rsa_keygen(unsigned bits)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);

	if (!k)
		mint_die("RSA keygen");
	return k;
}

EVP_PKEY *mint_keygen(enum mint_kind kind)
{
	EVP_PKEY *k = NULL;

	switch (kind) {
	case MINT_RSA2048:
		return mint_rsa_keygen(2048);
	case MINT_RSA1024:
		return mint_rsa_keygen(1024);
	case MINT_P256:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case MINT_P384:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case MINT_P521:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
		break;
	case MINT_ED25519:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	}
	if (!k)
		mint_die("keygen");
	return k;
}

/* Bytes per EC coordinate of the key's curve, 0 if not EC. */
size_t mint_ec_coord(const EVP_PKEY *k)
{
	char name[64];

	if (EVP_PKEY_get_base_id(k) != EVP_PKEY_EC ||
	    !EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
					    NULL))
		return 0;
	if (strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0)
		return 32;
	if (strcmp(name, "secp384r1") == 0 || strcmp(name, "P-384") == 0)
		return 48;
	if (strcmp(name, "secp521r1") == 0 || strcmp(name, "P-521") == 0)
		return 66;
	return 0;
}

const char *mint_ec_crv(size_t coord)
{
	return coord == 32 ? "P-256" : coord == 48 ? "P-384" : "P-521";
}

unsigned char *mint_bn_bytes(const BIGNUM *b, size_t pad, size_t *len)
{
	size_t n = pad ? pad : (size_t)BN_num_bytes(b);
	unsigned char *p = (unsigned char *)mint_malloc(n);

	if (BN_bn2binpad(b, p, (int)n) < 0)
		mint_die("BN_bn2binpad");
	*len = n;
	return p;
}

/* RSA n and e, big-endian without leading zeros. */
void mint_rsa_ne(const EVP_PKEY *k, unsigned char **n, size_t *nlen, unsigned char **e,
		 size_t *elen)
{
	BIGNUM *bn = NULL, *be = NULL;

	if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &bn) ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &be))
		mint_die("RSA n/e");
	*n = mint_bn_bytes(bn, 0, nlen);
	*e = mint_bn_bytes(be, 0, elen);
	BN_free(bn);
	BN_free(be);
}

/* EC x and y, each exactly the coordinate size (returned). */
size_t mint_ec_xy(const EVP_PKEY *k, unsigned char **x, unsigned char **y)
{
	BIGNUM *bx = NULL, *by = NULL;
	size_t coord = mint_ec_coord(k), l;

	if (!coord || !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &bx) ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &by))
		mint_die("EC x/y");
	*x = mint_bn_bytes(bx, coord, &l);
	*y = mint_bn_bytes(by, coord, &l);
	BN_free(bx);
	BN_free(by);
	return coord;
}

void mint_ed_x(const EVP_PKEY *k, unsigned char x[32])
{
	size_t len = 32;

	if (EVP_PKEY_get_raw_public_key(k, x, &len) != 1 || len != 32)
		mint_die("Ed25519 x");
}

/* Public JWK of k. kid NULL: no kid member. extra: more members as raw
 * JSON text without braces (e.g. "\"alg\":\"RS256\",\"use\":\"sig\""), or
 * NULL. */
char *mint_jwk(const EVP_PKEY *k, const char *kid, const char *extra)
{
	char *body = NULL, *out, *kidm;

	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA: {
		unsigned char *n, *e;
		size_t nl, el;
		char *bn, *be;

		mint_rsa_ne(k, &n, &nl, &e, &el);
		bn = mint_b64(n, nl);
		be = mint_b64(e, el);
		body = mint_printf("\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"", bn, be);
		free(n);
		free(e);
		free(bn);
		free(be);
		break;
	}
	case EVP_PKEY_EC: {
		unsigned char *x, *y;
		size_t c = mint_ec_xy(k, &x, &y);
		char *bx = mint_b64(x, c), *by = mint_b64(y, c);

		body = mint_printf("\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"",
				   mint_ec_crv(c), bx, by);
		free(x);
		free(y);
		free(bx);
		free(by);
		break;
	}
	case EVP_PKEY_ED25519: {
		unsigned char x[32];
		char *bx;

		mint_ed_x(k, x);
		bx = mint_b64(x, 32);
		body = mint_printf("\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"", bx);
		free(bx);
		break;
	}
	default:
		mint_die("mint_jwk: key type");
	}
	kidm = kid ? mint_printf(",\"kid\":\"%s\"", kid) : mint_printf("%s", "");
	out = mint_printf("{%s%s%s%s}", body, kidm, extra ? "," : "", extra ? extra : "");
	free(kidm);
	free(body);
	return out;
}

/* {"keys":[jwk0,jwk1,...]} */
char *mint_jwks(const char *const *jwk, size_t n)
{
	size_t len = 16;
	char *s;

	for (size_t i = 0; i < n; i++)
		len += strlen(jwk[i]) + 1;
	s = (char *)mint_malloc(len);
	strcpy(s, "{\"keys\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(s, ",");
		strcat(s, jwk[i]);
	}
	strcat(s, "]}");
	return s;
}

/* PEM (SubjectPublicKeyInfo), DER (SPKI) of the public key: HMAC-confusion
 * material (IDT-02). */
unsigned char *mint_pub_pem(EVP_PKEY *k, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	unsigned char *out;
	char *p;
	long n;

	if (!b || PEM_write_bio_PUBKEY(b, k) != 1)
		mint_die("PEM");
	n = BIO_get_mem_data(b, &p);
	out = (unsigned char *)mint_malloc((size_t)n);
	memcpy(out, p, (size_t)n);
	*len = (size_t)n;
	BIO_free(b);
	return out;
}

unsigned char *mint_pub_der(EVP_PKEY *k, size_t *len)
{
	unsigned char *der = NULL, *out;
	int n = i2d_PUBKEY(k, &der);

	if (n <= 0)
		mint_die("DER");
	out = (unsigned char *)mint_malloc((size_t)n);
	memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return out;
}

/* ---- signing -------------------------------------------------------------- */

const EVP_MD *mint_md(const char *alg)
{
	size_t l = strlen(alg);

	if (strcmp(alg, "EdDSA") == 0 || strcmp(alg, "Ed25519") == 0)
		return NULL;
	if (l >= 3 && strcmp(alg + l - 3, "256") == 0)
		return EVP_sha256();
	if (l >= 3 && strcmp(alg + l - 3, "384") == 0)
		return EVP_sha384();
	if (l >= 3 && strcmp(alg + l - 3, "512") == 0)
		return EVP_sha512();
	mint_die("mint_md: alg");
	return NULL;
}

/* Signs msg as the JWS alg says (hash, padding, encoding) with key k, which
 * need not fit alg (for mismatch tests only the hash and padding follow alg;
 * the encoding follows the key type). */
unsigned char *mint_sign(EVP_PKEY *k, const char *alg, const void *msg, size_t len,
			 const struct mint_opts *o, size_t *siglen)
{
	const EVP_MD *md = mint_md(alg);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	unsigned char *sig;
	size_t sl = 0;
	int id = EVP_PKEY_get_base_id(k);

	if (!m || EVP_DigestSignInit(m, &pc, id == EVP_PKEY_ED25519 ? NULL : md, NULL, k) != 1)
		mint_die("DigestSignInit");
	if (id == EVP_PKEY_RSA && alg[0] == 'P') {
		if (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, o && o->pss_salt_set
								 ? o->pss_saltlen
								 : RSA_PSS_SALTLEN_DIGEST) != 1)
			mint_die("PSS setup");
	}
	if (EVP_DigestSign(m, NULL, &sl, (const unsigned char *)msg, len) != 1)
		mint_die("DigestSign size");
	sig = (unsigned char *)mint_malloc(sl);
	if (EVP_DigestSign(m, sig, &sl, (const unsigned char *)msg, len) != 1)
		mint_die("DigestSign");
	EVP_MD_CTX_free(m);
	if (id == EVP_PKEY_EC && !(o && o->ecdsa_der)) {
		size_t c = mint_ec_coord(k);
		const unsigned char *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
		unsigned char *raw = (unsigned char *)mint_malloc(2 * c);

		if (!es || BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)c) < 0 ||
		    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + c, (int)c) < 0)
			mint_die("ECDSA raw");
		ECDSA_SIG_free(es);
		free(sig);
		sig = raw;
		sl = 2 * c;
	}
	*siglen = sl;
	return sig;
}

/* b64(header).b64(payload).b64(sig) with the given signature bytes. */
char *mint_token_sig(const char *header, const char *payload, const unsigned char *sig,
		     size_t siglen)
{
	char *h = mint_b64(header, strlen(header)), *p = mint_b64(payload, strlen(payload));
	char *s = mint_b64(sig, siglen);
	char *t = mint_printf("%s.%s.%s", h, p, s);

	free(h);
	free(p);
	free(s);
	return t;
}

/* The signing input "b64(header).b64(payload)". */
char *mint_signing_input(const char *header, const char *payload)
{
	char *h = mint_b64(header, strlen(header)), *p = mint_b64(payload, strlen(payload));
	char *t = mint_printf("%s.%s", h, p);

	free(h);
	free(p);
	return t;
}

/* A signed compact JWS; header and payload are taken verbatim (any JSON,
 * or not JSON at all). alg picks the hash and padding (see mint_sign). */
char *mint_token(EVP_PKEY *k, const char *alg, const char *header, const char *payload,
		 const struct mint_opts *o)
{
	char *in = mint_signing_input(header, payload), *s64, *t;
	size_t sl;
	unsigned char *sig = mint_sign(k, alg, in, strlen(in), o, &sl);

	s64 = mint_b64(sig, sl);
	t = mint_printf("%s.%s", in, s64);
	free(in);
	free(sig);
	free(s64);
	return t;
}

/* HS256/384/512 token with an arbitrary MAC key (e.g. the RSA public key). */
char *mint_hmac_token(const char *alg, const void *key, size_t keylen, const char *header,
		      const char *payload)
{
	char *in = mint_signing_input(header, payload), *s64, *t;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;

	if (!HMAC(mint_md(alg), key, (int)keylen, (const unsigned char *)in, strlen(in), mac,
		  &maclen))
		mint_die("HMAC");
	s64 = mint_b64(mac, maclen);
	t = mint_printf("%s.%s", in, s64);
	free(in);
	free(s64);
	return t;
}

/* ---- ECDSA r, s ------------------------------------------------------------ */

/* Group order n of "P-256"/"P-384"/"P-521" (caller BN_free). */
BIGNUM *mint_ec_order(size_t coord)
{
	int nid = coord == 32 ? NID_X9_62_prime256v1 : coord == 48 ? NID_secp384r1 : NID_secp521r1;
	EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
	BIGNUM *n;

	if (!g || !(n = BN_dup(EC_GROUP_get0_order(g))))
		mint_die("EC order");
	EC_GROUP_free(g);
	return n;
}

/* Raw r||s of coord bytes each (r, s < 2^(8*coord)). */
unsigned char *mint_ecdsa_raw(size_t coord, const BIGNUM *r, const BIGNUM *s)
{
	unsigned char *raw = (unsigned char *)mint_malloc(2 * coord);

	if (BN_bn2binpad(r, raw, (int)coord) < 0 || BN_bn2binpad(s, raw + coord, (int)coord) < 0)
		mint_die("ECDSA r/s");
	return raw;
}

/* ---- broken variants -------------------------------------------------------- */

/* Start and length of part idx (0 header, 1 payload, 2 signature, ...). */
const char *mint_part(const char *tok, int idx, size_t *len)
{
	const char *p = tok, *e;

	for (int i = 0; i < idx; i++) {
		if (!(p = strchr(p, '.')))
			mint_die("mint_part");
		p++;
	}
	e = strchr(p, '.');
	*len = e ? (size_t)(e - p) : strlen(p);
	return p;
}

/* tok with part idx replaced by the text rep (taken verbatim). */
char *mint_replace_part(const char *tok, int idx, const char *rep)
{
	size_t len;
	const char *p = mint_part(tok, idx, &len);

	return mint_printf("%.*s%s%s", (int)(p - tok), tok, rep, p + len);
}

/* Decodes part idx, applies XOR mask at byte pos (clamped to the last
 * byte), re-encodes. */
char *mint_flip_part(const char *tok, int idx, size_t pos, unsigned char mask)
{
	size_t len, n;
	const char *p = mint_part(tok, idx, &len);
	unsigned char *raw = mint_unb64(p, len, &n);
	char *enc, *t;

	if (!raw || n == 0)
		mint_die("mint_flip_part");
	raw[pos < n ? pos : n - 1] ^= mask;
	enc = mint_b64(raw, n);
	t = mint_replace_part(tok, idx, enc);
	free(raw);
	free(enc);
	return t;
}

char *mint_flip_sig(const char *tok, size_t pos, unsigned char mask)
{
	return mint_flip_part(tok, 2, pos, mask);
}

char *mint_flip_payload(const char *tok, size_t pos, unsigned char mask)
{
	return mint_flip_part(tok, 1, pos, mask);
}

/* Drops the last `drop` bytes of the signature (all of it: empty). */
char *mint_truncate_sig(const char *tok, size_t drop)
{
	size_t len, n;
	const char *p = mint_part(tok, 2, &len);
	unsigned char *raw = mint_unb64(p, len, &n);
	char *enc, *t;

	if (!raw)
		mint_die("mint_truncate_sig");
	enc = mint_b64(raw, drop < n ? n - drop : 0);
	t = mint_replace_part(tok, 2, enc);
	free(raw);
	free(enc);
	return t;
}
