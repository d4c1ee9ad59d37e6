/* hash.c: SHA-256 prefixes in hex. */
#include "hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "err.h"

int hash_hex(const void *in, size_t len, size_t nbytes, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!out)
		return ERR_INVAL;
	out[0] = '\0';
	if (!in || nbytes == 0 || nbytes > 32)
		return ERR_INVAL;
	if (!EVP_Digest(in, len, md, &mdlen, EVP_sha256(), NULL) || mdlen < nbytes)
		return ERR_INTERNAL;
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * nbytes] = '\0';
	OPENSSL_cleanse(md, sizeof(md)); /* a state's digest (relay tags) */
	return ERR_OK;
}

void hash_sid(const char *id, char sid[HASH_SID_LEN + 1])
{
	if (!id || hash_hex(id, strlen(id), HASH_SID_LEN / 2, sid) != 0)
		sid[0] = '\0';
}
