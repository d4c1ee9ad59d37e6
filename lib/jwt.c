/* jwt.c: compact JWS ID tokens (RFC 7515/7519, OIDC Core §3.1.3.7).
 *
 * Order: shape -> header -> (allow-list) -> key -> signature -> claims. The
 * payload is base64url-decoded and parsed with the strict json_parse in
 * jwt_parse, before the signature is checked (jwt_check_claims works on a
 * parsed token); no claim is used before the signature has verified in
 * jwt_verify. Each refusal returns its own code (see jwt.h) and logs exactly
 * one LOG_WARNING line naming the reason, with alg, kid (capped at 64
 * characters), iss and sub where known; never the token or its signature. */
#include "jwt.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64url.h"
#include "err.h"
#include "json.h"

#define JWT_MAX_DEPTH	  8
#define JWT_MAX_SKEW	  (24L * 3600)
#define JWT_MAX_AGE_LIMIT (100LL * 366 * 24 * 3600)

enum alg_family { FAM_RSA, FAM_PSS, FAM_EC, FAM_EDDSA };

struct alg_info {
	unsigned bit;
	const char *name;
	enum alg_family fam;
	int curve_nid; /* EC and EdDSA */
	size_t coord;  /* ECDSA: bytes per coordinate */
	int hash_bits; /* message digest (RSA, ECDSA) and at_hash digest */
};

static const struct alg_info algs[] = {
	{ JWT_RS256, "RS256", FAM_RSA, 0, 0, 256 },
	{ JWT_RS384, "RS384", FAM_RSA, 0, 0, 384 },
	{ JWT_RS512, "RS512", FAM_RSA, 0, 0, 512 },
	{ JWT_PS256, "PS256", FAM_PSS, 0, 0, 256 },
	{ JWT_PS384, "PS384", FAM_PSS, 0, 0, 384 },
	{ JWT_PS512, "PS512", FAM_PSS, 0, 0, 512 },
	{ JWT_ES256, "ES256", FAM_EC, NID_X9_62_prime256v1, 32, 256 },
	{ JWT_ES384, "ES384", FAM_EC, NID_secp384r1, 48, 384 },
	{ JWT_ES512, "ES512", FAM_EC, NID_secp521r1, 66, 512 },
	/* EdDSA hashes internally; at_hash uses SHA-512 (the Ed25519 hash) */
	{ JWT_EDDSA, "EdDSA", FAM_EDDSA, NID_ED25519, 0, 512 },
	{ JWT_ED25519, "Ed25519", FAM_EDDSA, NID_ED25519, 0, 512 },
};

/* Group orders n (big-endian), for the r,s range check (CVE-2022-21449). */
static const unsigned char order_p256[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
	0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};
static const unsigned char order_p384[48] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf, 0x58, 0x1a, 0x0d, 0xb2,
	0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
};
static const unsigned char order_p521[66] = {
	0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xfa, 0x51, 0x86, 0x87, 0x83, 0xbf, 0x2f, 0x96, 0x6b,
	0x7f, 0xcc, 0x01, 0x48, 0xf7, 0x09, 0xa5, 0xd0, 0x3b, 0xb5, 0xc9, 0xb8, 0x89, 0x9c,
	0x47, 0xae, 0xbb, 0x6f, 0xb7, 0x1e, 0x91, 0x38, 0x64, 0x09,
};

static const struct alg_info *alg_by_bit(unsigned bit)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].bit == bit)
			return &algs[i];
	return NULL;
}

unsigned jwt_alg_from_name(const char *name)
{
	if (!name)
		return 0;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(algs[i].name, name) == 0)
			return algs[i].bit;
	return 0;
}

const char *jwt_alg_name(unsigned alg)
{
	const struct alg_info *a = alg_by_bit(alg);

	return a ? a->name : NULL;
}

static const EVP_MD *alg_md(const struct alg_info *a)
{
	switch (a->hash_bits) {
	case 256:
		return EVP_sha256();
	case 384:
		return EVP_sha384();
	default:
		return EVP_sha512();
	}
}

/* ---- logging ----------------------------------------------------------- */

static const char *str_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

/* One line per refusal. kid/iss/sub come from the token: log_msg sanitizes
 * them; the lengths are capped here. iss and sub are only printed at the
 * claims stage (with_claims), so a forged token cannot put a chosen name in
 * a line about its failed signature. */
static int refuse_log(const struct log *log, const struct jwt *t, int code, const char *what,
		      int with_claims)
{
	const char *kid = t ? t->kid : NULL, *iss = NULL, *sub = NULL;
	const char *alg = t ? jwt_alg_name(t->alg) : NULL;

	if (with_claims && t && t->payload) {
		const cJSON *v = json_get(t->payload, "iss");
		if (cJSON_IsString(v))
			iss = v->valuestring;
		v = json_get(t->payload, "sub");
		if (cJSON_IsString(v))
			sub = v->valuestring;
	}
	log_msg(log, LOG_WARNING,
		"id token refused: %s: %s (alg %s, kid %.64s, iss %.128s, sub %.64s)", what,
		err_str(code), str_or(alg, "-"), str_or(kid, "-"), str_or(iss, "-"),
		str_or(sub, "-"));
	return code;
}

static int refuse(const struct log *log, const struct jwt *t, int code, const char *what)
{
	return refuse_log(log, t, code, what, 0);
}

static int refuse_claim(const struct log *log, const struct jwt *t, int code, const char *what)
{
	return refuse_log(log, t, code, what, 1);
}

/* ---- shape and header --------------------------------------------------- */

/* buf: B64URL_DECODED_MAX(len) bytes of scratch */
static int decode_json_part(const char *p, size_t len, unsigned char *buf, cJSON **out)
{
	size_t n = 0;
	int r;

	if ((r = b64url_decode_into(p, len, buf, B64URL_DECODED_MAX(len), &n)) != 0)
		return r;
	return json_parse((const char *)buf, n, JWT_MAX_BYTES, JWT_MAX_DEPTH, out);
}

/* alg: ERR_JWT_HEADER when missing or not a string; none (any case) and
 * HS* (any case) have their own codes whatever the configuration; anything
 * else unknown (including "rs256") is not allowed. */
static int header_alg(const cJSON *h, unsigned *alg, const char **what)
{
	const char *name = NULL;

	if (json_get_string(h, "alg", &name) != 0 || !name) {
		*what = "alg missing or not a string";
		return ERR_JWT_HEADER;
	}
	if (strcasecmp(name, "none") == 0) {
		*what = "alg none";
		return ERR_JWT_ALG_NONE;
	}
	if (strncasecmp(name, "HS", 2) == 0) {
		*what = "alg HMAC";
		return ERR_JWT_ALG_HMAC;
	}
	if (!(*alg = jwt_alg_from_name(name))) {
		*what = "alg unknown";
		return ERR_JWT_ALG_NOT_ALLOWED;
	}
	return ERR_OK;
}

/* Does the header carry only alg, typ and kid (exact names, as json_get
 * matches them)? Then none of the members refused_members looks for can be
 * present, and its nine lookups are skipped. */
static int header_plain(const cJSON *h)
{
	for (const cJSON *m = h->child; m; m = m->next)
		if (!m->string || (strcmp(m->string, "alg") != 0 && strcmp(m->string, "typ") != 0 &&
				   strcmp(m->string, "kid") != 0))
			return 0;
	return 1;
}

static int refused_members(const cJSON *h, const char **what)
{
	static const char *const key_members[] = { "jku", "x5u", "jwk", "x5c" };

	/* crit (any value) and the b64 extension it would carry (RFC 7797) */
	if (json_get(h, "crit") || json_get(h, "b64")) {
		*what = "crit/b64 header";
		return ERR_JWT_CRIT;
	}
	for (size_t i = 0; i < sizeof(key_members) / sizeof(key_members[0]); i++)
		if (json_get(h, key_members[i])) {
			*what = key_members[i];
			return ERR_JWT_HEADER_KEY;
		}
	/* JWE members in a 3-part token, and nested JWTs (cty) */
	if (json_get(h, "enc") || json_get(h, "zip") || json_get(h, "cty")) {
		*what = "enc/zip/cty header";
		return ERR_JWT_HEADER;
	}
	return ERR_OK;
}

static int header_checks(struct jwt *t, const char **what)
{
	const cJSON *h = t->header;
	const char *typ = NULL, *kid = NULL;
	int r;

	if (!cJSON_IsObject(h)) {
		*what = "header not a JSON object";
		return ERR_JWT_HEADER;
	}
	if ((r = header_alg(h, &t->alg, what)) != 0)
		return r;
	if (!header_plain(h) && (r = refused_members(h, what)) != 0)
		return r;
	if (json_get_string(h, "typ", &typ) != 0) {
		*what = "typ not a string";
		return ERR_JWT_HEADER;
	}
	if (typ && strcasecmp(typ, "JWT") != 0) {
		*what = "typ not JWT";
		return ERR_JWT_TYP;
	}
	if (json_get_string(h, "kid", &kid) != 0) {
		*what = "kid not a string";
		return ERR_JWT_HEADER;
	}
	if (kid && strlen(kid) > JWKS_MAX_KID) {
		/* no key can have it (jwks skips such keys): no refresh either */
		*what = "kid too long";
		return ERR_JWT_HEADER;
	}
	t->kid = kid;
	return ERR_OK;
}

int jwt_parse(const char *token, size_t len, const struct log *log, struct jwt **out)
{
	const char *d1, *d2, *dot[2] = { NULL, NULL };
	struct jwt *t = NULL;
	unsigned char *buf = NULL;
	const char *what = "malformed";
	size_t dots = 0, hlen, plen, slen;
	int r = ERR_INTERNAL;

	if (!token || !out)
		return ERR_INVAL;
	if (len > JWT_MAX_BYTES) {
		log_msg(log, LOG_WARNING, "id token refused: %zu bytes (cap %d): %s", len,
			JWT_MAX_BYTES, err_str(ERR_JWT_TOO_LARGE));
		return ERR_JWT_TOO_LARGE;
	}
	/* memchr: the dots are few and the token is long */
	for (const char *p = token; (p = memchr(p, '.', len - (size_t)(p - token))); p++) {
		if (dots < 2)
			dot[dots] = p;
		dots++;
	}
	if (len == 0 || token[0] == '{' || dots != 2) {
		log_msg(log, LOG_WARNING,
			"id token refused: %zu dot(s)%s: %s (compact JWS only: no JWE, no JSON "
			"serialization)",
			dots, len && token[0] == '{' ? ", JSON" : "", err_str(ERR_JWT_FORMAT));
		return ERR_JWT_FORMAT;
	}
	d1 = dot[0];
	d2 = dot[1];
	if (d1 == token || d2 == d1 + 1) {
		log_msg(log, LOG_WARNING, "id token refused: empty header or payload: %s",
			err_str(ERR_JWT_FORMAT));
		return ERR_JWT_FORMAT;
	}
	hlen = (size_t)(d1 - token);
	plen = (size_t)(d2 - d1 - 1);
	slen = len - (size_t)(d2 + 1 - token);
	/* struct jwt, signing_input and sig in one block (jwt_free frees it),
	 * and one scratch buffer for the decoded header, then the payload */
	r = ERR_NOMEM;
	if (!(t = malloc(sizeof(*t) + hlen + 1 + plen + 1 + B64URL_DECODED_MAX(slen))))
		goto out;
	memset(t, 0, sizeof(*t)); /* before any goto out: jwt_free reads header, payload */
	if (!(buf = malloc(B64URL_DECODED_MAX(hlen > plen ? hlen : plen))))
		goto out;
	t->signing_input_len = hlen + 1 + plen;
	t->signing_input = (char *)(t + 1);
	t->sig = (unsigned char *)t->signing_input + t->signing_input_len + 1;
	if ((r = decode_json_part(token, hlen, buf, &t->header)) != 0) {
		what = "header";
		goto fail;
	}
	if ((r = header_checks(t, &what)) != 0)
		goto fail;
	what = "signature encoding";
	if ((r = b64url_decode_into(d2 + 1, slen, t->sig, B64URL_DECODED_MAX(slen), &t->sig_len)) !=
	    0)
		goto fail;
	what = "payload";
	if ((r = decode_json_part(d1 + 1, plen, buf, &t->payload)) != 0)
		goto fail;
	if (!cJSON_IsObject(t->payload)) {
		r = ERR_JWT_PAYLOAD;
		what = "payload not a JSON object";
		goto fail;
	}
	memcpy(t->signing_input, token, t->signing_input_len);
	t->signing_input[t->signing_input_len] = '\0';
	*out = t;
	t = NULL;
	r = ERR_OK;
	goto out;
fail:
	refuse(log, t, r, what);
out:
	free(buf);
	jwt_free(t);
	return r;
}

/* ---- key selection ------------------------------------------------------ */

/* kty/crv of the key fit the family; the JWK's alg member (if any) is
 * exactly the header alg (one key, one algorithm: RFC 8725 §3.1). The
 * OpenSSL type is EVP_PKEY_get_id, not _get_base_id: stricter (an alias
 * type such as SM2 or RSA2 is refused, not mapped to its base) and without
 * a per-call table lookup. */
static int key_fits(const struct alg_info *a, const struct jwk *k)
{
	if (!k->pkey)
		return 0;
	switch (a->fam) {
	case FAM_RSA:
	case FAM_PSS:
		if (k->kty != JWK_KTY_RSA || EVP_PKEY_get_id(k->pkey) != EVP_PKEY_RSA)
			return 0;
		break;
	case FAM_EC:
		if (k->kty != JWK_KTY_EC || k->curve_nid != a->curve_nid ||
		    EVP_PKEY_get_id(k->pkey) != EVP_PKEY_EC)
			return 0;
		break;
	case FAM_EDDSA:
		if (k->kty != JWK_KTY_OKP || k->curve_nid != NID_ED25519 ||
		    EVP_PKEY_get_id(k->pkey) != EVP_PKEY_ED25519)
			return 0;
		break;
	}
	return !k->alg || strcmp(k->alg, a->name) == 0;
}

int jwt_select_key(const struct jwt *t, const struct jwks *keys, const struct log *log,
		   const struct jwk **out)
{
	const struct alg_info *a;
	const struct jwk *found = NULL;
	size_t fit = 0;

	if (!t || !keys || !out)
		return ERR_INVAL;
	if (!(a = alg_by_bit(t->alg)))
		return refuse(log, t, ERR_JWT_ALG_NOT_ALLOWED, "key selection");
	if (t->kid) {
		for (size_t i = 0; i < keys->n && !found; i++)
			if (keys->keys[i].kid && strcmp(keys->keys[i].kid, t->kid) == 0)
				found = &keys->keys[i];
		if (!found)
			return refuse(log, t, ERR_JWT_KID_UNKNOWN, "kid not in the key set");
		if (!key_fits(a, found))
			return refuse(log, t, ERR_JWT_KEY_MISMATCH, "key type/curve/alg");
		*out = found;
		return ERR_OK;
	}
	for (size_t i = 0; i < keys->n; i++)
		if (key_fits(a, &keys->keys[i])) {
			if (!found)
				found = &keys->keys[i];
			fit++;
		}
	if (fit == 0) /* a refreshed set may have it: same answer as an unknown kid */
		return refuse(log, t, ERR_JWT_KID_UNKNOWN, "no kid and no key fits the alg");
	if (fit > 1)
		return refuse(log, t, ERR_JWT_KID_AMBIGUOUS, "no kid and several keys fit");
	*out = found;
	return ERR_OK;
}

/* ---- signature ---------------------------------------------------------- */

/* Raw R||S -> DER after the range checks 1 <= r,s < n. */
static int ecdsa_to_der(const struct alg_info *a, const unsigned char *sig, size_t len,
			unsigned char **der, int *derlen, const char **what)
{
	const unsigned char *ord = a->coord == 32   ? order_p256
				   : a->coord == 48 ? order_p384
						    : order_p521;
	BIGNUM *r = NULL, *s = NULL, *n = NULL;
	ECDSA_SIG *es = NULL;
	int ret = ERR_NOMEM;

	*what = "out of memory";
	if (len != 2 * a->coord) {
		*what = "ECDSA signature not 2 x coordinate size";
		return ERR_JWT_SIG_FORMAT;
	}
	if (!(r = BN_bin2bn(sig, (int)a->coord, NULL)) ||
	    !(s = BN_bin2bn(sig + a->coord, (int)a->coord, NULL)) ||
	    !(n = BN_bin2bn(ord, (int)a->coord, NULL)))
		goto out;
	if (BN_is_zero(r) || BN_is_zero(s) || BN_cmp(r, n) >= 0 || BN_cmp(s, n) >= 0) {
		*what = "ECDSA r or s outside [1, n-1]";
		ret = ERR_JWT_SIG_FORMAT;
		goto out;
	}
	if (!(es = ECDSA_SIG_new()) || ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL; /* owned by es */
	*der = NULL;
	if ((*derlen = i2d_ECDSA_SIG(es, der)) <= 0)
		goto out;
	ret = ERR_OK;
out:
	BN_free(r);
	BN_free(s);
	BN_free(n);
	ECDSA_SIG_free(es);
	return ret;
}

/* Does key carry a verify context that jwks_parse prepared for this alg
 * (jwks.h)? Anything else takes the per-call set-up. */
static int prepared_for(const struct alg_info *a, const struct jwk *k)
{
	if (!k->verify_alg || strcmp(k->verify_alg, a->name) != 0)
		return 0;
	if (a->fam == FAM_EDDSA)
		return k->verify_mctx != NULL;
	return k->verify_pctx && k->verify_md && EVP_MD_get_size(k->verify_md) * 8 == a->hash_bits;
}

/* Verifies with a copy of the prepared context (the key's own one is shared
 * and never used itself): RSA and ECDSA over the digest of the signing input,
 * computed here with the key's fetched digest; EdDSA over the signing input.
 * *v: the EVP result (1: verified). */
static int verify_prepared(const struct alg_info *a, const struct jwt *t, const struct jwk *k,
			   const unsigned char *sig, size_t sig_len, int *v)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	int r = ERR_INTERNAL;

	if (a->fam == FAM_EDDSA) {
		if (!(mctx = EVP_MD_CTX_new()) || EVP_MD_CTX_copy_ex(mctx, k->verify_mctx) != 1)
			goto out;
		*v = EVP_DigestVerify(mctx, sig, sig_len, (const unsigned char *)t->signing_input,
				      t->signing_input_len);
	} else {
		if (EVP_Digest(t->signing_input, t->signing_input_len, md, &mdlen, k->verify_md,
			       NULL) != 1 ||
		    !(pctx = EVP_PKEY_CTX_dup(k->verify_pctx)))
			goto out;
		*v = EVP_PKEY_verify(pctx, sig, sig_len, md, mdlen);
	}
	r = ERR_OK;
out:
	EVP_PKEY_CTX_free(pctx);
	EVP_MD_CTX_free(mctx);
	return r;
}

/* Sets up a context for this alg and key and verifies (any alg the key fits).
 * *v: the EVP result (1: verified). */
static int verify_per_call(const struct alg_info *a, const struct jwt *t, const struct jwk *k,
			   const unsigned char *sig, size_t sig_len, int *v)
{
	const EVP_MD *md = a->fam == FAM_EDDSA ? NULL : alg_md(a);
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int r = ERR_INTERNAL;

	if (!(mctx = EVP_MD_CTX_new()))
		goto out;
	if (EVP_DigestVerifyInit(mctx, &pctx, md, NULL, k->pkey) != 1)
		goto out;
	if (a->fam == FAM_RSA && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
		goto out;
	/* PSS: salt length must equal the digest length; OpenSSL's default on
	 * verify ("auto") would accept any (IDT-07) */
	if (a->fam == FAM_PSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		goto out;
	*v = EVP_DigestVerify(mctx, sig, sig_len, (const unsigned char *)t->signing_input,
			      t->signing_input_len);
	r = ERR_OK;
out:
	EVP_MD_CTX_free(mctx);
	return r;
}

int jwt_verify_signature(const struct jwt *t, const struct jwk *key, const struct log *log)
{
	const struct alg_info *a;
	unsigned char *der = NULL;
	const unsigned char *sig;
	size_t sig_len;
	const char *what = "out of memory";
	int r = ERR_NOMEM, derlen = 0, v = 0;

	if (!t || !key)
		return ERR_INVAL;
	if (!(a = alg_by_bit(t->alg)))
		return refuse(log, t, ERR_JWT_ALG_NOT_ALLOWED, "signature");
	if (!key_fits(a, key))
		return refuse(log, t, ERR_JWT_KEY_MISMATCH, "key type/curve/alg");
	sig = t->sig;
	sig_len = t->sig_len;
	switch (a->fam) {
	case FAM_RSA:
	case FAM_PSS:
		if (sig_len != (size_t)EVP_PKEY_get_size(key->pkey)) {
			r = ERR_JWT_SIG_FORMAT;
			what = "RSA signature not the modulus size";
			goto out;
		}
		break;
	case FAM_EC:
		if ((r = ecdsa_to_der(a, t->sig, t->sig_len, &der, &derlen, &what)) != 0)
			goto out;
		sig = der;
		sig_len = (size_t)derlen;
		break;
	case FAM_EDDSA:
		if (sig_len != 64) {
			r = ERR_JWT_SIG_FORMAT;
			what = "EdDSA signature not 64 bytes";
			goto out;
		}
		break;
	}
	what = "OpenSSL setup";
	r = prepared_for(a, key) ? verify_prepared(a, t, key, sig, sig_len, &v)
				 : verify_per_call(a, t, key, sig, sig_len, &v);
	if (r != 0)
		goto out;
	if (v != 1) {
		r = ERR_JWT_SIGNATURE;
		what = "signature";
		goto out;
	}
	r = ERR_OK;
out:
	/* nothing of a refused token stays in OpenSSL's queue (peeking first is
	 * cheaper than clearing an empty queue) */
	if (ERR_peek_error() != 0)
		ERR_clear_error();
	OPENSSL_free(der);
	if (r != 0)
		refuse(log, t, r, what);
	return r;
}

/* ---- claims ------------------------------------------------------------- */

static int policy_ok(const struct jwt_policy *p)
{
	return p && p->issuer && p->issuer[0] && p->client_id && p->client_id[0] && p->nonce &&
	       p->nonce[0] && p->clock_skew >= 0 && p->clock_skew <= JWT_MAX_SKEW &&
	       p->max_token_age > 0 && (long long)p->max_token_age <= JWT_MAX_AGE_LIMIT &&
	       p->now > 0;
}

/* A required string claim: ERR_CLAIM_MISSING / ERR_CLAIM_TYPE. */
static int claim_string(const cJSON *pl, const char *name, const char **out)
{
	if (json_get_string(pl, name, out) != 0)
		return ERR_CLAIM_TYPE;
	return *out ? ERR_OK : ERR_CLAIM_MISSING;
}

static int claim_date(const cJSON *pl, const char *name, long long *out, int required)
{
	int present = 0;

	if (json_get_date(pl, name, out, &present) != 0)
		return ERR_CLAIM_TYPE;
	if (!present && required)
		return ERR_CLAIM_MISSING;
	return present ? ERR_OK : 1; /* 1: optional and absent */
}

static int ct_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

/* aud: a string equal to client_id, or an array of strings containing it. */
static int check_aud(const cJSON *pl, const char *client_id, int *n_aud, const char **what)
{
	const cJSON *aud = json_get(pl, "aud"), *v;
	int found = 0;

	*n_aud = 0;
	if (!aud) {
		*what = "aud missing";
		return ERR_CLAIM_MISSING;
	}
	if (cJSON_IsString(aud) && aud->valuestring) {
		*n_aud = 1;
		*what = "aud is not client_id";
		return strcmp(aud->valuestring, client_id) == 0 ? ERR_OK : ERR_CLAIM_AUD;
	}
	if (!cJSON_IsArray(aud)) {
		*what = "aud neither string nor array";
		return ERR_CLAIM_TYPE;
	}
	cJSON_ArrayForEach(v, aud)
	{
		if (!cJSON_IsString(v) || !v->valuestring) {
			*what = "aud array member not a string";
			return ERR_CLAIM_TYPE;
		}
		(*n_aud)++;
		if (strcmp(v->valuestring, client_id) == 0)
			found = 1;
	}
	*what = "aud does not contain client_id";
	return found ? ERR_OK : ERR_CLAIM_AUD;
}

static int check_at_hash(const struct jwt *t, const char *at_hash, const char *access_token)
{
	const struct alg_info *a = alg_by_bit(t->alg);
	unsigned char md[EVP_MAX_MD_SIZE];
	char b64[EVP_MAX_MD_SIZE * 2];
	unsigned mdlen = 0;

	if (!a ||
	    EVP_Digest(access_token, strlen(access_token), md, &mdlen, alg_md(a), NULL) != 1 ||
	    b64url_encode(md, mdlen / 2, b64, sizeof(b64)) != 0)
		return ERR_INTERNAL;
	return ct_equal(at_hash, b64) ? ERR_OK : ERR_CLAIM_AT_HASH;
}

int jwt_check_claims(const struct jwt *t, const struct jwt_policy *pol, const struct log *log)
{
	const cJSON *pl;
	const char *iss, *sub, *azp = NULL, *nonce, *at_hash = NULL, *what = "claims";
	long long exp = 0, iat = 0, nbf = 0, auth_time = 0, now, skew;
	int r, n_aud = 0;

	if (!t || !policy_ok(pol)) {
		log_msg(log, LOG_ERR, "id token check: %s (policy incomplete)", err_str(ERR_INVAL));
		return ERR_INVAL;
	}
	pl = t->payload;
	now = (long long)pol->now;
	skew = pol->clock_skew;
	if (!cJSON_IsObject(pl))
		return refuse_claim(log, t, ERR_JWT_PAYLOAD, "payload not a JSON object");
	/* a logout token (OIDC Back-Channel Logout) is never an ID token */
	if (json_get(pl, "events"))
		return refuse_claim(log, t, ERR_CLAIM_EVENTS, "events claim");
	if ((r = claim_string(pl, "iss", &iss)) != 0)
		return refuse_claim(log, t, r, "iss");
	if (strcmp(iss, pol->issuer) != 0)
		return refuse_claim(log, t, ERR_CLAIM_ISS, "iss");
	if ((r = claim_string(pl, "sub", &sub)) != 0)
		return refuse_claim(log, t, r, "sub");
	if (sub[0] == '\0' || strlen(sub) > JWT_MAX_SUB)
		return refuse_claim(log, t, ERR_CLAIM_SUB, "sub empty or too long");
	if ((r = check_aud(pl, pol->client_id, &n_aud, &what)) != 0)
		return refuse_claim(log, t, r, what);
	if (json_get_string(pl, "azp", &azp) != 0)
		return refuse_claim(log, t, ERR_CLAIM_TYPE, "azp");
	if (!azp && n_aud > 1)
		return refuse_claim(log, t, ERR_CLAIM_AZP, "several audiences and no azp");
	if (azp && strcmp(azp, pol->client_id) != 0)
		return refuse_claim(log, t, ERR_CLAIM_AZP, "azp is not client_id");
	if ((r = claim_date(pl, "exp", &exp, 1)) != 0)
		return refuse_claim(log, t, r, "exp");
	if (now >= exp + skew)
		return refuse_claim(log, t, ERR_CLAIM_EXP, "exp");
	if ((r = claim_date(pl, "nbf", &nbf, 0)) < 0)
		return refuse_claim(log, t, r, "nbf");
	if (r == 0 && nbf > now + skew)
		return refuse_claim(log, t, ERR_CLAIM_NBF, "nbf");
	if ((r = claim_date(pl, "iat", &iat, 1)) != 0)
		return refuse_claim(log, t, r, "iat");
	if (iat > now + skew)
		return refuse_claim(log, t, ERR_CLAIM_IAT_FUTURE, "iat");
	if (iat < now - (long long)pol->max_token_age - skew)
		return refuse_claim(log, t, ERR_CLAIM_IAT_OLD, "iat");
	if ((r = claim_date(pl, "auth_time", &auth_time, 0)) < 0)
		return refuse_claim(log, t, r, "auth_time");
	if ((r = claim_string(pl, "nonce", &nonce)) != 0)
		return refuse_claim(log, t, r, "nonce");
	if (!ct_equal(nonce, pol->nonce))
		return refuse_claim(log, t, ERR_CLAIM_NONCE, "nonce");
	if (json_get_string(pl, "at_hash", &at_hash) != 0)
		return refuse_claim(log, t, ERR_CLAIM_TYPE, "at_hash");
	if (at_hash && pol->access_token && (r = check_at_hash(t, at_hash, pol->access_token)) != 0)
		return refuse_claim(log, t, r, "at_hash");
	return ERR_OK;
}

/* ---- all of it ---------------------------------------------------------- */

int jwt_verify(const char *token, size_t len, const struct jwks *keys, const struct jwt_policy *pol,
	       const struct log *log, struct jwt **out)
{
	struct jwt *t = NULL;
	const struct jwk *key = NULL;
	int r;

	if (!token || !keys || !out || !policy_ok(pol)) {
		log_msg(log, LOG_ERR, "id token check: %s (policy incomplete)", err_str(ERR_INVAL));
		return ERR_INVAL;
	}
	if ((r = jwt_parse(token, len, log, &t)) != 0)
		goto out;
	if (!(t->alg & pol->allowed_algs)) {
		r = refuse(log, t, ERR_JWT_ALG_NOT_ALLOWED, "alg not in the allow-list");
		goto out;
	}
	if ((r = jwt_select_key(t, keys, log, &key)) != 0 ||
	    (r = jwt_verify_signature(t, key, log)) != 0 ||
	    (r = jwt_check_claims(t, pol, log)) != 0)
		goto out;
	*out = t;
	t = NULL;
	r = ERR_OK;
out:
	jwt_free(t);
	return r;
}

void jwt_free(struct jwt *t)
{
	if (!t)
		return;
	cJSON_Delete(t->header);
	cJSON_Delete(t->payload);
	free(t); /* signing_input and sig live in the same block (jwt_parse) */
}
