/* pkce.c: RFC 7636 S256. */
#include "pkce.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "b64url.h"
#include "err.h"
#include "rand.h"

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

int pkce_challenge(const char *verifier, char out[PKCE_STR_LEN + 1])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t len, i;
	int r;

	if (!verifier || !out)
		return ERR_INVAL;
	len = strlen(verifier);
	if (len < 43 || len > 128)
		return ERR_INVAL;
	for (i = 0; i < len; i++)
		if (!unreserved((unsigned char)verifier[i]))
			return ERR_INVAL;
	if (!EVP_Digest(verifier, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != sizeof(md))
		return ERR_INTERNAL;
	r = b64url_encode(md, sizeof(md), out, PKCE_STR_LEN + 1);
	OPENSSL_cleanse(md, sizeof(md));
	return r;
}

int pkce_init(struct pkce *p)
{
	int r;

	if (!p)
		return ERR_INVAL;
	memset(p, 0, sizeof(*p));
	if ((r = rand_token(p->verifier, sizeof(p->verifier), PKCE_RAW_LEN)) != 0 ||
	    (r = rand_token(p->state, sizeof(p->state), PKCE_RAW_LEN)) != 0 ||
	    (r = rand_token(p->nonce, sizeof(p->nonce), PKCE_RAW_LEN)) != 0 ||
	    (r = pkce_challenge(p->verifier, p->challenge)) != 0) {
		pkce_cleanup(p);
		return r;
	}
	return ERR_OK;
}

void pkce_cleanup(struct pkce *p)
{
	if (p)
		OPENSSL_cleanse(p, sizeof(*p));
}
