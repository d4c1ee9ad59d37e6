/* fuzz_token.c: token endpoint response parser. */
#include <stdint.h>

#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token_response *t = NULL;
	int r = token_parse_response((const char *)data, size, &t);

	if (r == 0 || t)
		token_response_free(t);
	return 0;
}
