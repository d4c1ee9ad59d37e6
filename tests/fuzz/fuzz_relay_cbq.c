/* fuzz_relay_cbq.c: the /callback query (relay/validate.c cbq_parse,
 * RLY-13). Invariants on acceptance: state is 43 base64url characters;
 * exactly one of code and error; code 1..2048, iss 1..1024 without
 * spaces, error 1..256, all printable ASCII; error_description (if any)
 * 1..1024 printable ASCII (sanitized). On refusal *out is untouched.
 * cbq_cleanup frees all (ASan leak check). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "err.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t max, int nospace)
{
	size_t n;

	if (!s)
		return;
	n = strlen(s);
	if (n == 0 || n > max)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < (nospace ? 0x21 : 0x20) || c > 0x7e)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cbq c, before;
	int r;

	memset(&c, 0xa5, sizeof(c));
	memcpy(&before, &c, sizeof(c));
	r = cbq_parse((const char *)data, size, &c);
	if (r != ERR_OK) {
		if (r != ERR_RELAY_REQUEST && r != ERR_NOMEM)
			abort();
		if (memcmp(&c, &before, sizeof(c)) != 0)
			abort();
		return 0;
	}
	if (!b64url_is43(c.state, strlen(c.state)))
		abort();
	if (!c.code == !c.error)
		abort();
	check_str(c.code, CB_CODE_MAX, 0);
	check_str(c.iss, CB_ISS_MAX, 1);
	check_str(c.error, CB_ERROR_MAX, 0);
	check_str(c.error_description, CB_ERROR_DESC_MAX, 0);
	cbq_cleanup(&c);
	return 0;
}
