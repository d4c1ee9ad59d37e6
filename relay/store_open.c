/* store_open.c: picks the store backend the configuration names. Kept out
 * of store.c so the memory store (and its unit test, which includes
 * store.c) does not pull in the Redis client. */
#include "store.h"

#include "err.h"
#include "rconf.h"

int store_open(const struct rconf *cf, struct store **out)
{
	if (!cf || !out)
		return ERR_INVAL;
	return store_new(cf->max_sessions, out);
}
