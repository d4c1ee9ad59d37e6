/* logline.c: the relay's log line; see logline.h. */
#include "logline.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

size_t logline_format(char *buf, size_t len, const char *msg, time_t *tssec, char tsbuf[32])
{
	char local[32];
	struct timespec now;
	struct tm tm;
	int n;

	if (len < 2)
		return 0;
	if (!tsbuf)
		tsbuf = local;
	clock_gettime(CLOCK_REALTIME, &now);
	if (!tssec || *tssec != now.tv_sec) {
		if (gmtime_r(&now.tv_sec, &tm))
			strftime(tsbuf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
		else
			snprintf(tsbuf, 32, "-");
		if (tssec)
			*tssec = now.tv_sec;
	}
	n = snprintf(buf, len, "%s " LOGLINE_PROG ": %s\n", tsbuf, msg);
	if (n < 0)
		return 0;
	if ((size_t)n >= len) {
		buf[len - 2] = '\n';
		buf[len - 1] = '\0';
		return len - 1;
	}
	return (size_t)n;
}

void logline_write(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nowhere to log to: nothing else to do */
		buf += n;
		len -= (size_t)n;
	}
}
