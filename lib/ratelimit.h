/* ratelimit.h: at most `max` login starts per key (a user, a remote host)
 * in a sliding window, across processes: every login is a new helper, so
 * the record is a small file per key in the (root-owned, 0700) cache
 * directory, named by a hash of the key, holding the start times. XD-11,
 * PAM-19: checked before anything is registered or shown. */
#ifndef OP_RATELIMIT_H
#define OP_RATELIMIT_H

#include <time.h>

#include "log.h"

#define RATELIMIT_MAX_ENTRIES 64

/* Records a start for key at now and returns ERR_OK, or ERR_RATE_LIMITED
 * (nothing recorded) when max starts already happened within window
 * seconds. max <= 0 disables the limit. An unusable directory or file is
 * logged and the limit skipped (it protects against spam, it does not
 * decide who gets in). */
int ratelimit_hit(const char *dir, const char *key, int max, long window, time_t now,
		  const struct log *log);

#endif
