/* fuzz_qs.c: the one query-string parser (lib/qs.c qs_parse), as every
 * relay query and form body and a callback URL's query reach it. Beyond
 * "no crash":
 * a parsed query has at most QS_MAX_PAIRS pairs, one pair per '&'-segment,
 * no name twice, names 1..64 bytes, no NUL in a name or a value, and
 * qs_get finds each pair; qs_cleanup frees all (ASan leak check); the
 * parsed view goes through authz_check_response. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "err.h"
#include "qs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct qs q;
	size_t segs = 1;
	int r;

	r = qs_parse(in, size, &q);
	if (r != ERR_OK && r != ERR_QUERY && r != ERR_NOMEM)
		abort();
	if (q.n > QS_MAX_PAIRS)
		abort();
	if (r == ERR_OK) {
		for (size_t i = 0; i < size; i++)
			segs += in[i] == '&';
		if (q.n != (size ? segs : 0))
			abort();
		for (size_t i = 0; i < q.n; i++) {
			const struct qs_pair *p = &q.p[i];
			size_t nl = strlen(p->name);
			if (nl == 0 || nl > 64 || strlen(p->value) != p->value_len)
				abort();
			if (qs_get(&q, p->name) != p)
				abort(); /* a second pair with the same name */
			for (size_t k = 0; k < i; k++)
				if (strcmp(q.p[k].name, p->name) == 0)
					abort();
		}
		struct authz_response ar = { qs_value(&q, "code"), qs_value(&q, "state"),
					     qs_value(&q, "iss"), qs_value(&q, "error") };
		int c = authz_check_response(&ar, "state", "https://idp.example", 1);
		if (c == ERR_OK && (!ar.code || !ar.code[0] || ar.error || !ar.iss ||
				    strcmp(ar.state, "state") != 0))
			abort();
	}
	qs_cleanup(&q);
	if (q.n != 0)
		abort();
	return 0;
}
