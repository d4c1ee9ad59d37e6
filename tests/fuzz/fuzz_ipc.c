/* fuzz_ipc.c: frame headers and key=value payloads. */
#include <stdint.h>
#include <string.h>

#include "ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum ipc_type t;
	size_t n;
	char v[256];
	const char *nl = memchr(data, '\n', size);

	if (nl)
		(void)ipc_parse_header((const char *)data, (size_t)(nl - (const char *)data), &t, &n);
	(void)ipc_kv_get((const char *)data, size, "user", v, sizeof(v));
	return 0;
}
