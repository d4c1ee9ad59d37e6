/* logline.h: the relay's log line, "<UTC time> oauth2-pkce-relay: <msg>\n"
 * (relay/PROTOCOL.md "Logs"). One formatter for main.c's sink (start-up,
 * errors) and for the workers' request lines, which are batched: each
 * worker appends to a buffer and writes it with one write(2) per turn of
 * its loop, never more than LOGLINE_BATCH bytes, so a batch is one atomic
 * write on a pipe and lines of different threads never interleave. */
#ifndef RELAY_LOGLINE_H
#define RELAY_LOGLINE_H

#include <stddef.h>
#include <time.h>

#define LOGLINE_PROG  "oauth2-pkce-relay"
#define LOGLINE_BATCH 4096 /* PIPE_BUF */

/* Writes the line for msg (already sanitized, no newline) into buf;
 * returns its length (truncated to fit, always ending in '\n'). tsbuf
 * caches the time stamp of second *tssec between calls (may be NULL). */
size_t logline_format(char *buf, size_t len, const char *msg, time_t *tssec, char tsbuf[32]);

/* write(2) of all of buf to fd (standard error), retrying short writes. */
void logline_write(int fd, const char *buf, size_t len);

#endif
