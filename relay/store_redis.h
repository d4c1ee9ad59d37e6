/* store_redis.h: the Redis backend of the relay store (store_redis.c). Several
 * relay instances share one Redis: every login lives there, every atomic
 * decision is one Lua script, and a held poll is woken through pub/sub. */
#ifndef RELAY_STORE_REDIS_H
#define RELAY_STORE_REDIS_H

#include "store.h"

struct store_redis_conf {
	const char *host; /* TCP, when unix_path is NULL */
	unsigned port;
	const char *unix_path; /* or a unix socket */
	unsigned db;	       /* SELECT when not 0 */
	const char *password;  /* AUTH when not NULL (copied, wiped at free) */
	unsigned max_sessions; /* across every instance */
	const char *prefix;    /* of every key and the channel; NULL: "o2r:" */
	unsigned timeout_ms;   /* per command and connect; 0: 1000 */
};

/* Connects (an unreachable Redis is not an error: the store reports it in
 * store_health and keeps trying), starts the subscriber thread. */
int store_redis_new(const struct store_redis_conf *c, struct store **out);

#endif
