/* log.c: sanitized, injected logging. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LOG_LINE_MAX 512

char *log_sanitize(char *dst, size_t dstlen, const char *src)
{
	size_t i = 0;

	if (dstlen == 0)
		return dst;
	for (; src && *src && i + 1 < dstlen; src++) {
		unsigned char c = (unsigned char)*src;
		dst[i++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[i] = '\0';
	if (src && *src && dstlen >= 4)
		memcpy(dst + dstlen - 4, "...", 4);
	return dst;
}

void log_msg(const struct log *l, int prio, const char *fmt, ...)
{
	char raw[LOG_LINE_MAX + 1], clean[LOG_LINE_MAX];
	va_list ap;

	if (!l || !l->sink || (prio == LOG_DEBUG && !l->debug))
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	l->sink(l->ctx, prio, log_sanitize(clean, sizeof(clean), raw));
}

void log_stderr_sink(void *ctx, int prio, const char *msg)
{
	(void)prio;
	fprintf(stderr, "%s: %s\n", ctx ? (const char *)ctx : "oauth2-pkce", msg);
}
