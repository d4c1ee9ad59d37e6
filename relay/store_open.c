/* store_open.c: picks the store backend the configuration names. Kept out
 * of store.c so the memory store (and its unit test, which includes
 * store.c) does not pull in the Redis client. */
#include "store.h"

#include "err.h"
#include "rconf.h"
#include "store_redis.h"

int store_open(const struct rconf *cf, struct store **out)
{
	struct store_redis_conf rc = { 0 };

	if (!cf || !out)
		return ERR_INVAL;
	if (!cf->store_redis)
		return store_new(cf->max_sessions, out);
	rc.host = cf->redis_unix ? NULL : cf->redis_host;
	rc.port = cf->redis_port;
	rc.unix_path = cf->redis_unix;
	rc.db = cf->redis_db;
	rc.password = cf->redis_password;
	rc.max_sessions = cf->max_sessions;
	return store_redis_new(&rc, out);
}
