/* fuzz_authz.c: callback query parser and response checks. */
#include <stdint.h>

#include "authz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct authz_response r;

	if (authz_parse_query((const char *)data, size, &r) == 0) {
		(void)authz_check_response(&r, "state", "https://idp.example", 1);
		authz_response_cleanup(&r);
	}
	return 0;
}
