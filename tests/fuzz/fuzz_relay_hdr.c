/* fuzz_relay_hdr.c: the relay's small request parsers (relay/validate.c):
 * the poll query (pollq_parse), the Authorization header (bearer_parse) and
 * the Content-Type check (ctype_is). Each input goes to all three.
 * Invariants: wait is 0..POLL_WAIT_MAX and 0 on refusal; an accepted token
 * lies inside the header after "Bearer ", is 1..512 printable bytes without
 * spaces; ctype_is only says yes to the type itself, then nothing or ';'
 * after optional blanks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ctype(const char *hdr, const char *type)
{
	size_t tl = strlen(type);
	const char *p;

	if (!ctype_is(hdr, type))
		return;
	if (strlen(hdr) < tl || strncasecmp(hdr, type, tl) != 0)
		abort();
	for (p = hdr + tl; *p == ' ' || *p == '\t'; p++)
		;
	if (*p != '\0' && *p != ';')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned wait = 12345;
	const char *tok = NULL;
	size_t toklen = 0;
	char *hdr;
	int r;

	/* the poll query: raw bytes, not NUL-terminated */
	r = pollq_parse((const char *)data, size, &wait);
	if (r != ERR_OK && r != ERR_RELAY_REQUEST && r != ERR_NOMEM)
		abort();
	if (wait > POLL_WAIT_MAX || (r != ERR_OK && wait != 0))
		abort();
	if (size == 0 && (r != ERR_OK || wait != 0))
		abort();

	/* headers reach the relay as C strings */
	if (!(hdr = malloc(size + 1)))
		return 0;
	memcpy(hdr, data, size);
	hdr[size] = '\0';

	r = bearer_parse(hdr, &tok, &toklen);
	if (r == ERR_OK) {
		if (tok != hdr + 7 || toklen != strlen(hdr) - 7 || toklen == 0 || toklen > 512)
			abort();
		if (strncasecmp(hdr, "Bearer ", 7) != 0)
			abort();
		for (size_t i = 0; i < toklen; i++)
			if ((unsigned char)tok[i] <= 0x20 || (unsigned char)tok[i] > 0x7e)
				abort();
	} else if (r != ERR_RELAY_REQUEST) {
		abort();
	}

	check_ctype(hdr, "application/json");
	check_ctype(hdr, "application/x-www-form-urlencoded");
	free(hdr);
	return 0;
}
