/* fuzz_jwks.c: JWK Set parser. */
#include <stdint.h>

#include "jwks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwks *k = NULL;

	if (jwks_parse((const char *)data, size, NULL, &k) == 0)
		jwks_free(k);
	return 0;
}
