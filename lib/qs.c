/* qs.c: the one percent-decoder and query-string parser (strict). */
#include "qs.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "secret.h"

#define QS_NAME_MAX 64

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..len): "+" -> ' ', %XX strict; refuses NUL. */
static int pct_decode(const char *s, size_t len, char **out, size_t *outlen)
{
	char *d;
	size_t o = 0;

	if (!(d = malloc(len + 1)))
		return ERR_NOMEM;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= len)
				goto bad;
			if ((h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0)
				goto bad;
			c = h * 16 + l;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == 0)
			goto bad;
		d[o++] = (char)c;
	}
	d[o] = '\0';
	*out = d;
	*outlen = o;
	return ERR_OK;
bad:
	secret_free(d, len + 1);
	return ERR_QUERY;
}

int qs_parse(const char *q, size_t len, struct qs *out)
{
	size_t i = 0, nlen;
	int r;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return ERR_OK;
	while (i <= len) {
		const char *seg = q + i, *amp = memchr(seg, '&', len - i), *eq;
		size_t sl = amp ? (size_t)(amp - seg) : len - i;
		struct qs_pair *p;

		if (sl == 0 || !(eq = memchr(seg, '=', sl)))
			return ERR_QUERY;
		if (out->n >= QS_MAX_PAIRS)
			return ERR_QUERY;
		p = &out->p[out->n];
		if ((r = pct_decode(seg, (size_t)(eq - seg), &p->name, &nlen)) != 0)
			return r;
		out->n++; /* owned from here on, so qs_cleanup frees it */
		if ((r = pct_decode(eq + 1, sl - (size_t)(eq - seg) - 1, &p->value,
				    &p->value_len)) != 0)
			return r;
		if (nlen == 0 || nlen > QS_NAME_MAX)
			return ERR_QUERY;
		/* every name and value, used or not, is valid UTF-8 once decoded */
		if (!json_utf8_valid(p->name, nlen) || !json_utf8_valid(p->value, p->value_len))
			return ERR_QUERY;
		for (size_t k = 0; k + 1 < out->n; k++)
			if (strcmp(out->p[k].name, p->name) == 0)
				return ERR_QUERY;
		if (!amp)
			break;
		i += sl + 1;
		if (i == len)
			return ERR_QUERY; /* trailing '&' */
	}
	return ERR_OK;
}

const struct qs_pair *qs_get(const struct qs *q, const char *name)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->p[i].name, name) == 0)
			return &q->p[i];
	return NULL;
}

const char *qs_value(const struct qs *q, const char *name)
{
	const struct qs_pair *p = qs_get(q, name);

	return p ? p->value : NULL;
}

void qs_cleanup(struct qs *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->p[i].name);
		secret_free(q->p[i].value, q->p[i].value_len);
	}
	memset(q, 0, sizeof(*q));
}
