/* buf.c: capped growable buffer that wipes what it leaves. */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "secret.h"

void buf_init(struct buf *b, size_t init, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->init = init ? init : 1;
	b->max = max;
}

int buf_reserve(struct buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : b->init;
	char *np;

	if (b->err)
		return b->err;
	if (need <= b->cap)
		return ERR_OK;
	if (need > b->max)
		return b->err = ERR_TOO_LARGE;
	while (cap < need && cap <= b->max / 2)
		cap *= 2;
	if (cap < need || cap > b->max)
		cap = b->max;
	if (!(np = malloc(cap)))
		return b->err = ERR_NOMEM;
	if (b->p) {
		memcpy(np, b->p, b->len);
		secret_free(b->p, b->cap);
	}
	b->p = np;
	b->cap = cap;
	return ERR_OK;
}

int buf_add(struct buf *b, const void *s, size_t n)
{
	int r;

	if (b->err)
		return b->err;
	if (n > b->max || b->len + 1 > b->max - n)
		return b->err = ERR_TOO_LARGE;
	if ((r = buf_reserve(b, b->len + n + 1)) != 0)
		return r;
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return ERR_OK;
}

int buf_take(struct buf *b, char **out, size_t *len)
{
	int r;

	if (b->err || (r = buf_reserve(b, b->len + 1)) != 0) {
		r = b->err;
		buf_cleanup(b);
		return r;
	}
	b->p[b->len] = '\0';
	*out = b->p;
	*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return ERR_OK;
}

void buf_cleanup(struct buf *b)
{
	if (!b)
		return;
	secret_free(b->p, b->cap);
	b->p = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}
