/* fuzz_config.c: configuration file parser. */
#include <stdint.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c = NULL;
	char err[256];

	if (config_parse((const char *)data, size, "fuzz.conf", &c, err, sizeof(err)) == 0)
		config_free(c);
	return 0;
}
