/* buf.h: the one growable buffer, with a mandatory size cap (like curl's
 * dynbuf). It grows by moving to a new block and wiping the old one, never
 * with realloc, so a token, code, csrf token or confirmation code it held is
 * not left behind in freed memory. Used for HTTP response bodies (lib/http.c),
 * the relay's pages (relay/html.c) and its connection input (relay/server.c). */
#ifndef OP_BUF_H
#define OP_BUF_H

#include <stddef.h>

struct buf {
	char *p;
	size_t len;  /* bytes in use */
	size_t cap;  /* bytes allocated */
	size_t init; /* first allocation */
	size_t max;  /* cap never exceeds it */
	int err;     /* first error (ERR_TOO_LARGE, ERR_NOMEM), then sticky */
};

/* An empty buffer (nothing allocated) whose cap starts at init (doubling)
 * and never exceeds max (init <= max). */
void buf_init(struct buf *b, size_t init, size_t max);

/* Makes cap >= need. ERR_TOO_LARGE when need > max, ERR_NOMEM; either is
 * kept in b->err and returned by every later call. */
int buf_reserve(struct buf *b, size_t need);

/* Appends s[0..n) and keeps p NUL-terminated (so len + n + 1 <= max). */
int buf_add(struct buf *b, const void *s, size_t n);

/* Hands out p (malloc'd, NUL-terminated, even when empty) and its length;
 * the buffer is empty afterwards. ERR_NOMEM, or b->err when set (the buffer
 * is then wiped and freed). */
int buf_take(struct buf *b, char **out, size_t *len);

/* Wipes the whole block and frees it; the buffer is empty (init and max
 * kept). NULL-safe. */
void buf_cleanup(struct buf *b);

#endif
