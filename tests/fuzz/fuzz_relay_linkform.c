/* fuzz_relay_linkform.c: the context page's form body (relay/validate.c
 * linkform_parse). Invariants: accepted means exactly two fields, csrf of
 * STORE_CSRF_LEN bytes and one of continue / deny; on refusal the outputs
 * are untouched. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum link_action act = (enum link_action)77;
	char csrf[STORE_CSRF_LEN + 1], before[STORE_CSRF_LEN + 1];
	struct qs q;
	int r;

	memset(csrf, 0x5a, sizeof(csrf));
	memcpy(before, csrf, sizeof(csrf));
	r = linkform_parse((const char *)data, size, &act, csrf);
	if (r == ERR_OK) {
		if (act != LINK_CONTINUE && act != LINK_DENY)
			abort();
		if (strlen(csrf) != STORE_CSRF_LEN)
			abort();
		/* the same body through qs_parse: two pairs, csrf equal */
		if (qs_parse((const char *)data, size, &q) != ERR_OK || q.n != 2 ||
		    !qs_get(&q, "csrf") || strcmp(qs_get(&q, "csrf")->value, csrf) != 0 ||
		    !qs_get(&q, act == LINK_CONTINUE ? "continue" : "deny"))
			abort();
		qs_cleanup(&q);
	} else {
		if (r != ERR_RELAY_REQUEST && r != ERR_NOMEM)
			abort();
		if ((int)act != 77 || memcmp(csrf, before, sizeof(csrf)) != 0)
			abort();
	}
	return 0;
}
