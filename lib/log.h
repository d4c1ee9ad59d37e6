/* log.h: injected logging. lib/ never opens syslog itself; a program (or a
 * test) supplies the sink. Messages are sanitized (control and non-ASCII
 * bytes become '?') and truncated, so text from the network cannot forge log
 * lines or reach a terminal as escape sequences. Never pass secrets here. */
#ifndef OP_LOG_H
#define OP_LOG_H

#include <stddef.h>
#include <syslog.h> /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */

struct log {
	void (*sink)(void *ctx, int prio, const char *msg);
	void *ctx;
	int debug; /* LOG_DEBUG messages are dropped unless set */
};

/* Safe with l == NULL or l->sink == NULL (drops the message). */
void log_msg(const struct log *l, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Copies src into dst (size dstlen >= 1), replacing bytes outside printable
 * ASCII with '?', truncating with "..." past dstlen-1. Returns dst. */
char *log_sanitize(char *dst, size_t dstlen, const char *src);

/* A ready sink writing "prefix: msg\n" to stderr; ctx is the prefix. */
void log_stderr_sink(void *ctx, int prio, const char *msg);

#endif
