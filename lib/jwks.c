/* jwks.c: JWK Set (RFC 7517) -> OpenSSL public keys (OpenSSL 3 API only).
 *
 * Each entry of "keys" is checked on its own; an unusable entry is skipped
 * with one LOG_WARNING line (kid sanitized by log_msg and capped at 64
 * characters) and never makes the set fail. Only "no usable key at all"
 * (ERR_JWKS_NO_KEYS), a body over JWKS_MAX_BYTES (ERR_TOO_LARGE), invalid
 * JSON (the json_parse codes) or a document that is not {"keys":[...]}
 * (ERR_JWKS) fail the set.
 *
 * Beyond jwks.h: RSA moduli over JWKS_RSA_MAX_BITS and exponents over 64
 * bits are skipped (verification cost), a kid that is empty or longer than
 * JWKS_MAX_KID is skipped, and an "alg" member must be one of the
 * asymmetric JWS algorithms this project verifies (RS*, PS*, ES*, EdDSA,
 * Ed25519) and fit the key's kty/crv.
 *
 * Each usable key also gets a verify context for one alg, set up here once
 * (EVP_PKEY_CTX_new_from_pkey, the algorithm and digest fetches and the
 * padding/digest/salt parameters cost ~3 us per call, a fifth of an
 * RSA-2048 verification) and only read afterwards: jwt.c copies it per
 * signature. */
#include "jwks.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "err.h"
#include "json.h"

#define JWKS_RSA_MIN_BITS   2048
#define JWKS_RSA_MAX_BITS   8192
#define JWKS_RSA_MAX_E_BITS 64
#define JWKS_MAX_DEPTH	    8

/* Members that only a private (or symmetric) JWK carries. */
static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };

struct ec_curve {
	const char *crv;   /* JWK name */
	const char *group; /* OpenSSL group name */
	int nid;
	size_t coord; /* bytes per coordinate */
	int bits;
	const char *alg; /* the only JWS alg for this curve */
};

static const struct ec_curve ec_curves[] = {
	{ "P-256", "prime256v1", NID_X9_62_prime256v1, 32, 256, "ES256" },
	{ "P-384", "secp384r1", NID_secp384r1, 48, 384, "ES384" },
	{ "P-521", "secp521r1", NID_secp521r1, 66, 521, "ES512" },
};

/* The prepared verify context (struct jwk), per JWS alg: RSA padding (0 for
 * ECDSA and EdDSA) and digest (index into struct jwks md[]; -1: EdDSA, which
 * hashes internally). */
struct verify_alg {
	const char *name;
	int pad;
	int md;
};

static const struct verify_alg verify_algs[] = {
	{ "RS256", RSA_PKCS1_PADDING, 0 },
	{ "RS384", RSA_PKCS1_PADDING, 1 },
	{ "RS512", RSA_PKCS1_PADDING, 2 },
	{ "PS256", RSA_PKCS1_PSS_PADDING, 0 },
	{ "PS384", RSA_PKCS1_PSS_PADDING, 1 },
	{ "PS512", RSA_PKCS1_PSS_PADDING, 2 },
	{ "ES256", 0, 0 },
	{ "ES384", 0, 1 },
	{ "ES512", 0, 2 },
	{ "EdDSA", 0, -1 },
	{ "Ed25519", 0, -1 },
};

static const char *const md_names[] = { "SHA256", "SHA384", "SHA512" };

/* Does the JWK "alg" member name fit the key? Unknown names (HS256,
 * RSA-OAEP, none, ...) never do. */
static int alg_fits(const char *alg, enum jwk_kty kty, int nid)
{
	static const char *const rsa_algs[] = {
		"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"
	};

	switch (kty) {
	case JWK_KTY_RSA:
		for (size_t i = 0; i < sizeof(rsa_algs) / sizeof(rsa_algs[0]); i++)
			if (strcmp(alg, rsa_algs[i]) == 0)
				return 1;
		return 0;
	case JWK_KTY_EC:
		for (size_t i = 0; i < sizeof(ec_curves) / sizeof(ec_curves[0]); i++)
			if (ec_curves[i].nid == nid)
				return strcmp(alg, ec_curves[i].alg) == 0;
		return 0;
	case JWK_KTY_OKP:
		return nid == NID_ED25519 &&
		       (strcmp(alg, "EdDSA") == 0 || strcmp(alg, "Ed25519") == 0);
	}
	return 0;
}

/* Decodes the base64url string member `name`; ERR_JWKS when absent or not a
 * string, ERR_B64 when badly encoded. */
static int get_b64(const cJSON *jwk, const char *name, unsigned char **out, size_t *outlen,
		   const char **why)
{
	const char *s = NULL;
	int r;

	if (json_get_string(jwk, name, &s) != 0 || !s) {
		*why = "member missing or not a string";
		return ERR_JWKS;
	}
	if ((r = b64url_decode(s, strlen(s), out, outlen)) != 0) {
		*why = r == ERR_NOMEM ? "out of memory" : "member not valid base64url";
		return r;
	}
	return ERR_OK;
}

static int pkey_from_params(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	int r = ERR_JWKS;

	if (!(params = OSSL_PARAM_BLD_to_param(bld))) {
		r = ERR_NOMEM;
		goto out;
	}
	if (!(ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL))) {
		r = ERR_INTERNAL;
		goto out;
	}
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1 || !pkey)
		goto out;
	*out = pkey;
	pkey = NULL;
	r = ERR_OK;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return r;
}

static int rsa_key(const cJSON *jwk, struct jwk *k, const char **why)
{
	unsigned char *nb = NULL, *eb = NULL;
	size_t nlen = 0, elen = 0;
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	int r, bits;

	if ((r = get_b64(jwk, "n", &nb, &nlen, why)) != 0 ||
	    (r = get_b64(jwk, "e", &eb, &elen, why)) != 0)
		goto out;
	r = ERR_NOMEM;
	*why = "out of memory";
	if (!(n = BN_bin2bn(nb, (int)nlen, NULL)) || !(e = BN_bin2bn(eb, (int)elen, NULL)))
		goto out;
	r = ERR_JWKS;
	/* leading zero bytes in n are tolerated: the size comes from the number */
	bits = BN_num_bits(n);
	if (bits < JWKS_RSA_MIN_BITS) {
		*why = "RSA modulus shorter than 2048 bits";
		goto out;
	}
	if (bits > JWKS_RSA_MAX_BITS) {
		*why = "RSA modulus longer than 8192 bits";
		goto out;
	}
	if (!BN_is_odd(n)) {
		*why = "RSA modulus even";
		goto out;
	}
	if (!BN_is_odd(e) || BN_is_one(e) || BN_num_bits(e) > JWKS_RSA_MAX_E_BITS ||
	    BN_cmp(e, n) >= 0) {
		*why = "RSA exponent not odd, > 1 and at most 64 bits";
		goto out;
	}
	r = ERR_NOMEM;
	*why = "out of memory";
	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		goto out;
	if ((r = pkey_from_params("RSA", bld, &k->pkey)) != 0) {
		*why = "OpenSSL refused the RSA key";
		goto out;
	}
	k->kty = JWK_KTY_RSA;
	k->curve_nid = 0;
	k->bits = bits;
	r = ERR_OK;
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	free(nb);
	free(eb);
	return r;
}

static int ec_key(const cJSON *jwk, struct jwk *k, const char **why)
{
	const struct ec_curve *c = NULL;
	const char *crv = NULL;
	unsigned char *x = NULL, *y = NULL, *pt = NULL;
	size_t xlen = 0, ylen = 0;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY_CTX *check = NULL;
	EVP_PKEY *pkey = NULL;
	int r = ERR_JWKS;

	if (json_get_string(jwk, "crv", &crv) != 0 || !crv) {
		*why = "EC key without a crv string";
		goto out;
	}
	for (size_t i = 0; i < sizeof(ec_curves) / sizeof(ec_curves[0]); i++)
		if (strcmp(crv, ec_curves[i].crv) == 0)
			c = &ec_curves[i];
	if (!c) {
		*why = "unsupported EC curve";
		goto out;
	}
	if ((r = get_b64(jwk, "x", &x, &xlen, why)) != 0 ||
	    (r = get_b64(jwk, "y", &y, &ylen, why)) != 0)
		goto out;
	r = ERR_JWKS;
	if (xlen != c->coord || ylen != c->coord) {
		*why = "EC coordinate not exactly the field size";
		goto out;
	}
	r = ERR_NOMEM;
	*why = "out of memory";
	if (!(pt = malloc(1 + 2 * c->coord)))
		goto out;
	pt[0] = 0x04; /* uncompressed point */
	memcpy(pt + 1, x, c->coord);
	memcpy(pt + 1 + c->coord, y, c->coord);
	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * c->coord))
		goto out;
	if ((r = pkey_from_params("EC", bld, &pkey)) != 0) {
		*why = "EC point not on the curve";
		goto out;
	}
	/* fromdata already decodes the point; check it again explicitly:
	 * on the curve, not infinity, right order */
	r = ERR_JWKS;
	if (!(check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) ||
	    EVP_PKEY_public_check(check) != 1) {
		*why = "EC point not on the curve";
		goto out;
	}
	k->pkey = pkey;
	pkey = NULL;
	k->kty = JWK_KTY_EC;
	k->curve_nid = c->nid;
	k->bits = c->bits;
	r = ERR_OK;
out:
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_free(pkey);
	OSSL_PARAM_BLD_free(bld);
	free(pt);
	free(x);
	free(y);
	return r;
}

static int okp_key(const cJSON *jwk, struct jwk *k, const char **why)
{
	const char *crv = NULL;
	unsigned char *x = NULL;
	size_t xlen = 0;
	int r = ERR_JWKS;

	if (json_get_string(jwk, "crv", &crv) != 0 || !crv) {
		*why = "OKP key without a crv string";
		goto out;
	}
	if (strcmp(crv, "Ed25519") != 0) {
		*why = "unsupported OKP curve";
		goto out;
	}
	if ((r = get_b64(jwk, "x", &x, &xlen, why)) != 0)
		goto out;
	r = ERR_JWKS;
	if (xlen != 32) {
		*why = "Ed25519 x not 32 bytes";
		goto out;
	}
	if (!(k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xlen))) {
		*why = "OpenSSL refused the Ed25519 key";
		goto out;
	}
	k->kty = JWK_KTY_OKP;
	k->curve_nid = NID_ED25519;
	k->bits = 256;
	r = ERR_OK;
out:
	free(x);
	return r;
}

/* The checks that do not depend on the key material. */
static int check_members(const cJSON *jwk, const char **why)
{
	const char *use = NULL;
	const cJSON *ops, *op;
	int verify = 0;

	for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
		if (json_get(jwk, private_members[i])) {
			*why = "private key member present";
			return ERR_JWKS;
		}
	if (json_get_string(jwk, "use", &use) != 0) {
		*why = "use not a string";
		return ERR_JWKS;
	}
	if (use && strcmp(use, "sig") != 0) {
		*why = "use is not sig";
		return ERR_JWKS;
	}
	if ((ops = json_get(jwk, "key_ops"))) {
		if (!cJSON_IsArray(ops)) {
			*why = "key_ops not an array";
			return ERR_JWKS;
		}
		cJSON_ArrayForEach(op, ops)
		{
			if (!cJSON_IsString(op) || !op->valuestring) {
				*why = "key_ops member not a string";
				return ERR_JWKS;
			}
			if (strcmp(op->valuestring, "verify") == 0)
				verify = 1;
		}
		if (!verify) {
			*why = "key_ops without verify";
			return ERR_JWKS;
		}
	}
	return ERR_OK;
}

static void jwk_cleanup(struct jwk *k)
{
	EVP_PKEY_CTX_free(k->verify_pctx);
	EVP_MD_CTX_free(k->verify_mctx);
	EVP_PKEY_free(k->pkey);
	free(k->kid);
	free(k->alg);
	memset(k, 0, sizeof(*k));
}

/* Builds one key from a JWK object. On failure *why says why (for the log)
 * and k is left empty. */
static int jwk_from_json(const cJSON *jwk, const struct jwks *set, struct jwk *k, const char **why)
{
	const char *kty = NULL, *kid = NULL, *alg = NULL;
	int r = ERR_JWKS;

	memset(k, 0, sizeof(*k));
	if (!cJSON_IsObject(jwk)) {
		*why = "entry not an object";
		return ERR_JWKS;
	}
	if (json_get_string(jwk, "kid", &kid) != 0) {
		*why = "kid not a string";
		return ERR_JWKS;
	}
	if (kid && (kid[0] == '\0' || strlen(kid) > JWKS_MAX_KID)) {
		*why = "kid empty or too long";
		return ERR_JWKS;
	}
	if (kid)
		for (size_t i = 0; i < set->n; i++)
			if (set->keys[i].kid && strcmp(set->keys[i].kid, kid) == 0) {
				*why = "duplicate kid (first one kept)";
				return ERR_JWKS;
			}
	if (json_get_string(jwk, "alg", &alg) != 0) {
		*why = "alg not a string";
		return ERR_JWKS;
	}
	if ((r = check_members(jwk, why)) != 0)
		return r;
	if (json_get_string(jwk, "kty", &kty) != 0 || !kty) {
		*why = "kty missing or not a string";
		return ERR_JWKS;
	}
	if (strcmp(kty, "RSA") == 0)
		r = rsa_key(jwk, k, why);
	else if (strcmp(kty, "EC") == 0)
		r = ec_key(jwk, k, why);
	else if (strcmp(kty, "OKP") == 0)
		r = okp_key(jwk, k, why);
	else {
		*why = "unsupported kty";
		r = ERR_JWKS;
	}
	if (r != 0)
		goto fail;
	if (alg && !alg_fits(alg, k->kty, k->curve_nid)) {
		*why = "alg unknown or does not fit kty/crv";
		r = ERR_JWKS;
		goto fail;
	}
	r = ERR_NOMEM;
	*why = "out of memory";
	if ((kid && !(k->kid = strdup(kid))) || (alg && !(k->alg = strdup(alg))))
		goto fail;
	return ERR_OK;
fail:
	jwk_cleanup(k);
	return r;
}

/* The alg a key without an "alg" member is prepared for. */
static const char *default_alg(const struct jwk *k)
{
	switch (k->kty) {
	case JWK_KTY_RSA:
		return "RS256";
	case JWK_KTY_EC:
		for (size_t i = 0; i < sizeof(ec_curves) / sizeof(ec_curves[0]); i++)
			if (ec_curves[i].nid == k->curve_nid)
				return ec_curves[i].alg;
		return NULL;
	case JWK_KTY_OKP:
		return "EdDSA";
	}
	return NULL;
}

/* Sets up k's verify context (jwks.h) for its alg. Not an error when it
 * fails: the fields stay NULL and jwt.c sets up a context per call, as it
 * does for every other alg. */
static void jwk_prepare(struct jwks *set, struct jwk *k)
{
	const char *name = k->alg ? k->alg : default_alg(k);
	const struct verify_alg *v = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	EVP_MD *md;

	for (size_t i = 0; name && i < sizeof(verify_algs) / sizeof(verify_algs[0]); i++)
		if (strcmp(name, verify_algs[i].name) == 0)
			v = &verify_algs[i];
	if (!v)
		return;
	if (v->md < 0) {
		if (!(mctx = EVP_MD_CTX_new()) ||
		    EVP_DigestVerifyInit_ex(mctx, NULL, NULL, NULL, NULL, k->pkey, NULL) != 1)
			goto fail;
		k->verify_mctx = mctx;
		k->verify_alg = v->name;
		return;
	}
	if (!set->md[v->md] && !(set->md[v->md] = EVP_MD_fetch(NULL, md_names[v->md], NULL)))
		goto fail;
	md = set->md[v->md];
	if (!(pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) ||
	    EVP_PKEY_verify_init(pctx) != 1 ||
	    (v->pad && EVP_PKEY_CTX_set_rsa_padding(pctx, v->pad) != 1) ||
	    EVP_PKEY_CTX_set_signature_md(pctx, md) != 1)
		goto fail;
	/* PSS: salt length must equal the digest length; OpenSSL's default on
	 * verify ("auto") would accept any (IDT-07) */
	if (v->pad == RSA_PKCS1_PSS_PADDING &&
	    (EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		goto fail;
	k->verify_pctx = pctx;
	k->verify_md = md;
	k->verify_alg = v->name;
	return;
fail:
	EVP_PKEY_CTX_free(pctx);
	EVP_MD_CTX_free(mctx);
}

int jwks_parse(const char *json, size_t len, const struct log *log, struct jwks **out)
{
	cJSON *root = NULL;
	const cJSON *arr, *item;
	struct jwks *set = NULL;
	size_t count, index = 0;
	int r = ERR_INTERNAL;

	if (!json || !out)
		return ERR_INVAL;
	if (len > JWKS_MAX_BYTES) {
		log_msg(log, LOG_ERR, "jwks: document of %zu bytes refused (cap %d)", len,
			JWKS_MAX_BYTES);
		return ERR_TOO_LARGE;
	}
	if ((r = json_parse(json, len, JWKS_MAX_BYTES, JWKS_MAX_DEPTH, &root)) != 0) {
		log_msg(log, LOG_ERR, "jwks: %s", err_str(r));
		goto out;
	}
	arr = json_get(root, "keys");
	if (!cJSON_IsArray(arr)) {
		log_msg(log, LOG_ERR, "jwks: not an object with a \"keys\" array");
		r = ERR_JWKS;
		goto out;
	}
	count = (size_t)cJSON_GetArraySize(arr);
	if (!(set = calloc(1, sizeof(*set))) ||
	    (count && !(set->keys = calloc(count < JWKS_MAX_KEYS ? count : JWKS_MAX_KEYS,
					   sizeof(*set->keys))))) {
		r = ERR_NOMEM;
		goto out;
	}
	cJSON_ArrayForEach(item, arr)
	{
		const char *why = "unusable";
		const char *kid = NULL;

		if (index == JWKS_MAX_KEYS) {
			log_msg(log, LOG_WARNING, "jwks: %zu entries, only the first %d are read",
				count, JWKS_MAX_KEYS);
			break;
		}
		index++;
		r = jwk_from_json(item, set, &set->keys[set->n], &why);
		if (r == ERR_NOMEM)
			goto out;
		if (r != 0) {
			if (json_get_string(item, "kid", &kid) != 0 || !kid)
				kid = "(none)";
			log_msg(log, LOG_WARNING, "jwks: key %zu (kid %.64s) skipped: %s", index,
				kid, why);
			continue;
		}
		jwk_prepare(set, &set->keys[set->n]);
		set->n++;
	}
	if (set->n == 0) {
		log_msg(log, LOG_ERR, "jwks: no usable key");
		r = ERR_JWKS_NO_KEYS;
		goto out;
	}
	*out = set;
	set = NULL;
	r = ERR_OK;
out:
	ERR_clear_error(); /* refused keys leave nothing in OpenSSL's queue */
	jwks_free(set);
	cJSON_Delete(root);
	return r;
}

void jwks_free(struct jwks *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		jwk_cleanup(&set->keys[i]);
	for (size_t i = 0; i < sizeof(set->md) / sizeof(set->md[0]); i++)
		EVP_MD_free(set->md[i]);
	free(set->keys);
	free(set);
}
