/* rand.c: getrandom(2) with EINTR and short-read handling. */
#include "rand.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <sys/random.h>

#include "b64url.h"
#include "err.h"

int rand_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return ERR_RANDOM;
		}
		p += r;
		n -= (size_t)r;
	}
	return ERR_OK;
}

int rand_token(char *out, size_t outlen, size_t nbytes)
{
	unsigned char raw[64];
	int r;

	if (nbytes == 0 || nbytes > sizeof(raw))
		return ERR_INVAL;
	if ((r = rand_bytes(raw, nbytes)) != 0)
		return r;
	r = b64url_encode(raw, nbytes, out, outlen);
	OPENSSL_cleanse(raw, sizeof(raw));
	return r;
}
