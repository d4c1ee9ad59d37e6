/* log_capture.h: the unit tests' log sink. A test points its struct log at
 * logcap_sink (debug on or off, as it needs); each message is kept whole in
 * logcap.last and appended as one line to logcap.all (16 KiB, then cut),
 * counted, and counted by priority. logcap.ctrl and logcap.long_lines are
 * totals for the whole run (control or non-ASCII bytes, lines over 512
 * bytes: log_msg must have removed both), checked once at the end;
 * logcap_reset() clears everything else. */
#ifndef OP_LOG_CAPTURE_H
#define OP_LOG_CAPTURE_H

#include <stdio.h>
#include <string.h>

#include "log.h"

struct logcap {
	char all[16384]; /* every message since the last reset, one per line */
	char last[1024]; /* the last message */
	int lines;	 /* messages since the last reset */
	int last_prio;
	int prio[8];	/* messages per priority (LOG_ERR, LOG_WARNING, ...) */
	int long_lines; /* run total: messages over 512 bytes */
	int ctrl;	/* run total: control or non-ASCII bytes */
};

static struct logcap logcap __attribute__((unused));

static inline void logcap_sink(void *ctx, int prio, const char *msg)
{
	size_t used = strlen(logcap.all);

	(void)ctx;
	logcap.lines++;
	logcap.last_prio = prio;
	if (prio >= 0 && prio < 8)
		logcap.prio[prio]++;
	snprintf(logcap.last, sizeof(logcap.last), "%s", msg);
	snprintf(logcap.all + used, sizeof(logcap.all) - used, "%s\n", msg);
	logcap.long_lines += strlen(msg) > 512;
	for (const char *c = msg; *c; c++)
		logcap.ctrl += (unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f;
}

/* Messages logged at neither LOG_ERR nor LOG_WARNING since the last reset. */
static inline int logcap_not_err_warn(void)
{
	return logcap.lines - logcap.prio[LOG_ERR] - logcap.prio[LOG_WARNING];
}

/* Clears the messages and counts, not the run totals. */
static inline void logcap_reset(void)
{
	int ctrl = logcap.ctrl, long_lines = logcap.long_lines;

	memset(&logcap, 0, sizeof(logcap));
	logcap.ctrl = ctrl;
	logcap.long_lines = long_lines;
}

#endif
