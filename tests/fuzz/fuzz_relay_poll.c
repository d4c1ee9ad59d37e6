/* fuzz_relay_poll.c: the relay's poll answers as the helper parses them. */
#include <stdint.h>

#include "relay_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relay_result r;

	if (relay_parse_poll((const char *)data, size, &r) == 0)
		relay_result_cleanup(&r);
	return 0;
}
