/* fuzz_ipc.c: frame headers, key=value payloads and RESULT payloads. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum ipc_type t;
	enum ipc_status st;
	struct ipc_result r;
	size_t n;
	char v[256];
	const char *nl = memchr(data, '\n', size);

	if (nl)
		(void)ipc_parse_header((const char *)data, (size_t)(nl - (const char *)data), &t,
				       &n);
	(void)ipc_kv_get((const char *)data, size, "user", v, sizeof(v));
	/* a word that parses is one of the table's, spelled exactly */
	if (ipc_status_parse((const char *)data, size, &st) == 0 &&
	    (!ipc_status_name(st) || strlen(ipc_status_name(st)) != size ||
	     memcmp(ipc_status_name(st), data, size) != 0))
		abort();
	/* a RESULT that parses has a known status and a user without CR, LF or NUL */
	if (ipc_result_parse((const char *)data, size, &r) == 0 &&
	    (!ipc_status_name(r.status) || strlen(r.user) >= IPC_USER_MAX || strchr(r.user, '\n')))
		abort();
	return 0;
}
