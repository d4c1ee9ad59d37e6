/* fuzz_discovery.c: discovery document parser. */
#include <stdint.h>

#include "discovery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct discovery *d = NULL;

	if (discovery_parse((const char *)data, size, "https://idp.example", 1, NULL, &d) == 0)
		discovery_free(d);
	return 0;
}
