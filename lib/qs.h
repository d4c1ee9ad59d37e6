/* qs.h: query strings and form bodies ("a=1&b=2"), strictly: what the
 * relay reads from the network (callback query RLY-13, context-page form,
 * poll query, the registered authorization URL) and what a test or tool
 * reads from a callback URL (AZ-12). The one percent-decoder of the tree. */
#ifndef OP_QS_H
#define OP_QS_H

#include <stddef.h>

#define QS_MAX_PAIRS 32

/* One decoded query parameter ("+" is a space, %XX strict, no NUL). */
struct qs_pair {
	char *name;
	char *value;
	size_t value_len;
};

struct qs {
	struct qs_pair p[QS_MAX_PAIRS];
	size_t n;
};

/* Parses "a=1&b=2" (no leading '?'). Refuses empty segments, a segment
 * without '=', bad escapes, decoded NUL bytes, more than QS_MAX_PAIRS
 * pairs, a name that is empty or over 64 bytes, a name or value that is not
 * valid UTF-8 once decoded, and any name that occurs twice (compared after
 * decoding).
 * ERR_QUERY or ERR_NOMEM; *out is valid (maybe empty) either way
 * and must be cleaned up. */
int qs_parse(const char *q, size_t len, struct qs *out);
const struct qs_pair *qs_get(const struct qs *q, const char *name);
/* qs_get's value, or NULL when the name is absent. */
const char *qs_value(const struct qs *q, const char *name);
void qs_cleanup(struct qs *q);

#endif
