/* ratelimit.c: sliding-window start counter in a locked file per key. */
#include "ratelimit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "err.h"
#include "hash.h"

int ratelimit_hit(const char *dir, const char *key, int max, long window, time_t now,
		  const struct log *log)
{
	long long t[RATELIMIT_MAX_ENTRIES + 1];
	char path[4096], buf[RATELIMIT_MAX_ENTRIES * 24 + 1], name[80], *p, *end;
	int fd = -1, n = 0, recent = 0, r = ERR_OK;
	ssize_t got;
	struct stat st;

	if (max <= 0 || !dir || !key)
		return ERR_OK;
	if (max > RATELIMIT_MAX_ENTRIES)
		max = RATELIMIT_MAX_ENTRIES;
	if (cache_dir_check(dir, log) != 0 || hash_hex(key, strlen(key), 16, name) != 0) {
		log_msg(log, LOG_WARNING, "rate limit skipped: cache directory %s unusable", dir);
		return ERR_OK;
	}
	snprintf(path, sizeof(path), "%s/%s.starts", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    flock(fd, LOCK_EX) != 0) {
		log_msg(log, LOG_WARNING, "rate limit skipped: %s: %s", path, strerror(errno));
		goto out;
	}
	got = read(fd, buf, sizeof(buf) - 1);
	buf[got > 0 ? got : 0] = '\0';
	for (p = buf; n < RATELIMIT_MAX_ENTRIES && *p;) {
		long long v = strtoll(p, &end, 10);
		if (end == p)
			break;
		if (v > now - window && v <= now + 60) /* keep recent ones only */
			t[n++] = v;
		p = end;
		while (*p == '\n')
			p++;
	}
	recent = n;
	if (recent >= max) {
		r = ERR_RATE_LIMITED;
		goto out;
	}
	t[n++] = (long long)now;
	/* rewrite with the last RATELIMIT_MAX_ENTRIES starts */
	{
		size_t o = 0;
		int first = n > RATELIMIT_MAX_ENTRIES ? n - RATELIMIT_MAX_ENTRIES : 0;
		for (int i = first; i < n; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%lld\n", t[i]);
		if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, o, 0) != (ssize_t)o)
			log_msg(log, LOG_WARNING, "rate limit: could not record in %s", path);
	}
out:
	if (fd >= 0)
		close(fd); /* releases the lock */
	return r;
}
