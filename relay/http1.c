/* http1.c: strict HTTP/1.1 request framing; see http1.h for the rules. */
#include "http1.h"

#include <string.h>

#define METHOD_MAX	 32
#define LEADING_CRLF_MAX 4
#define CHUNK_EXT_MAX	 256
#define TRAILER_MAX	 1024

/* RFC 9110 5.6.2 tchar */
static int tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

int http1_eq(const char *s, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!word[i] || lower((unsigned char)s[i]) != lower((unsigned char)word[i]))
			return 0;
	return word[i] == '\0';
}

/* Connection: a comma-separated list of tokens; close wins. */
static void connection_tokens(const char *v, size_t n, int *close, int *keep)
{
	size_t i = 0;

	while (i < n) {
		size_t b, e;
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		b = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > b && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (http1_eq(v + b, e - b, "close"))
			*close = 1;
		else if (http1_eq(v + b, e - b, "keep-alive"))
			*keep = 1;
	}
}

static int once(int *seen, struct http1_str *dst, const char *v, size_t n)
{
	if (*seen)
		return -400;
	*seen = 1;
	dst->p = v;
	dst->n = n;
	return 0;
}

/* One field line v..(without CRLF); updates out. 0 or a negated status. */
static int field(const char *line, size_t n, struct http1_req *out, int *seen_host, int *seen_te,
		 int *seen_expect, int *close, int *keep)
{
	size_t i = 0, b, e;
	const char *name = line, *v;
	size_t nn;

	while (i < n && tchar((unsigned char)line[i]))
		i++;
	if (i == 0 || i >= n || line[i] != ':')
		return -400; /* empty name, non-token byte, or space before the colon */
	nn = i++;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	b = i;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 ? c != '\t' : c == 0x7f)
			return -400;
	}
	e = n;
	while (e > b && (line[e - 1] == ' ' || line[e - 1] == '\t'))
		e--;
	v = line + b;
	n = e - b;

	if (http1_eq(name, nn, "content-length")) {
		unsigned long long x = 0;
		if (out->has_clen || n == 0 || n > 15)
			return -400;
		for (size_t k = 0; k < n; k++) {
			if (v[k] < '0' || v[k] > '9')
				return -400;
			x = x * 10 + (unsigned)(v[k] - '0');
		}
		out->has_clen = 1;
		out->clen = x;
	} else if (http1_eq(name, nn, "transfer-encoding")) {
		if (*seen_te)
			return -400;
		*seen_te = 1;
		if (!http1_eq(v, n, "chunked"))
			return -501;
		out->chunked = 1;
	} else if (http1_eq(name, nn, "host")) {
		/* uri-host [ ":" port ]: reg-name, IPv4 or [IP-literal] bytes only */
		for (size_t k = 0; k < n; k++) {
			unsigned char h = (unsigned char)v[k];
			if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'z') ||
			      (h >= 'A' && h <= 'Z') || strchr("-._~!$&'()*+,;=:[]%", h)))
				return -400;
		}
		return once(seen_host, &out->host, v, n);
	} else if (http1_eq(name, nn, "authorization")) {
		return once(&out->has_authorization, &out->authorization, v, n);
	} else if (http1_eq(name, nn, "content-type")) {
		return once(&out->has_content_type, &out->content_type, v, n);
	} else if (http1_eq(name, nn, "x-forwarded-for")) {
		return once(&out->has_xff, &out->xff, v, n);
	} else if (http1_eq(name, nn, "forwarded")) {
		return once(&out->has_forwarded, &out->forwarded, v, n);
	} else if (http1_eq(name, nn, "connection")) {
		connection_tokens(v, n, close, keep);
	} else if (http1_eq(name, nn, "expect")) {
		if (*seen_expect)
			return -400;
		*seen_expect = 1;
		if (!http1_eq(v, n, "100-continue"))
			return -417;
		out->expect_continue = 1;
	}
	return 0;
}

static enum http1_method method_of(const char *m, size_t n)
{
	if (n == 3 && memcmp(m, "GET", 3) == 0)
		return HTTP1_GET;
	if (n == 4 && memcmp(m, "HEAD", 4) == 0)
		return HTTP1_HEAD;
	if (n == 4 && memcmp(m, "POST", 4) == 0)
		return HTTP1_POST;
	return HTTP1_OTHER;
}

/* The request line buf[0..n) (without CRLF). */
static int request_line(const char *buf, size_t n, struct http1_req *out)
{
	size_t i = 0, t0;
	const char *ver;

	while (i < n && tchar((unsigned char)buf[i]))
		i++;
	if (i == 0 || i > METHOD_MAX || i >= n || buf[i] != ' ')
		return -400;
	out->method_raw.p = buf;
	out->method_raw.n = i;
	out->method = method_of(buf, i);
	t0 = ++i;
	while (i < n && buf[i] != ' ') {
		unsigned char c = (unsigned char)buf[i];
		if (c <= 0x20 || c >= 0x7f || c == '#')
			return -400;
		i++;
	}
	if (i - t0 > HTTP1_TARGET_MAX)
		return -414;
	if (i == t0 || buf[t0] != '/' || i >= n)
		return -400;
	out->target.p = buf + t0;
	out->target.n = i - t0;
	ver = buf + i + 1;
	if (n - (i + 1) != 8 || memcmp(ver, "HTTP/", 5) != 0 || ver[6] != '.' || ver[5] < '0' ||
	    ver[5] > '9' || ver[7] < '0' || ver[7] > '9')
		return -400;
	if (ver[5] != '1' || (ver[7] != '0' && ver[7] != '1'))
		return -505;
	out->minor = ver[7] - '0';
	{
		const char *q = memchr(out->target.p, '?', out->target.n);
		out->path.p = out->target.p;
		out->path.n = q ? (size_t)(q - out->target.p) : out->target.n;
		if (q) {
			out->has_query = 1;
			out->query.p = q + 1;
			out->query.n = out->target.n - out->path.n - 1;
		}
	}
	return 0;
}

long http1_parse_head(const char *buf, size_t len, size_t *scan, struct http1_req *out)
{
	struct http1_req r;
	size_t start = 0, i, end = 0, line;
	int seen_host = 0, seen_te = 0, seen_expect = 0, close = 0, keep = 0, nfields = 0, rc;
	int found = 0;
	const char *lf;

	for (int k = 0; k < LEADING_CRLF_MAX && start < len && buf[start] == '\r'; k++) {
		if (start + 1 >= len)
			return HTTP1_MORE;
		if (buf[start + 1] != '\n')
			return -400;
		start += 2;
	}
	/* One pass over new bytes only (*scan remembers where the last call
	 * stopped, so a head trickled byte by byte costs O(n), not O(n^2)):
	 * every LF closes a CRLF, every CR opens one, no NUL; stop at the
	 * first empty line. */
	i = *scan > start ? *scan : start;
	for (; i < len && i - start < HTTP1_HEAD_MAX; i++) {
		char c = buf[i];
		if (c == '\0')
			return -400;
		if (c == '\r' && i + 1 < len && buf[i + 1] != '\n')
			return -400;
		if (c == '\n') {
			if (i == start || buf[i - 1] != '\r')
				return -400;
			if (i >= start + 3 && buf[i - 2] == '\n') {
				end = i - 3;
				found = 1;
				break;
			}
		}
	}
	if (!found) {
		/* resume at the last byte: a CR whose LF has not arrived yet is
		 * checked again */
		*scan = i > start ? i - 1 : start;
		if (i - start < HTTP1_HEAD_MAX)
			return HTTP1_MORE;
		lf = memchr(buf + start, '\n', HTTP1_HEAD_MAX);
		return (!lf || lf - (buf + start) > HTTP1_TARGET_MAX + METHOD_MAX + 16) ? -414
											: -431;
	}
	if (end + 4 - start > HTTP1_HEAD_MAX)
		return -431;
	memset(&r, 0, sizeof(r));
	lf = memchr(buf + start, '\n', end + 2 - start);
	line = (size_t)(lf - (buf + start)) - 1; /* the request line, before its CRLF */
	if ((rc = request_line(buf + start, line, &r)) != 0)
		return rc;
	i = start + line + 2;
	while (i < end + 2) {
		const char *e = memchr(buf + i, '\n', end + 2 - i);
		size_t n = (size_t)(e - (buf + i)) - 1;
		if (buf[i] == ' ' || buf[i] == '\t')
			return -400; /* obs-fold */
		if (++nfields > HTTP1_FIELDS_MAX)
			return -431;
		if ((rc = field(buf + i, n, &r, &seen_host, &seen_te, &seen_expect, &close,
				&keep)) != 0)
			return rc;
		i += n + 2;
	}
	if (r.has_clen && r.chunked)
		return -400; /* RFC 9112 6.1: ambiguous framing */
	if (r.chunked && r.minor == 0)
		return -400;
	if (r.minor == 1 && !seen_host)
		return -400;
	r.keep_alive = close ? 0 : (r.minor == 1 || keep);
	if (r.minor == 0)
		r.expect_continue = 0; /* RFC 9110 10.1.1: ignored from HTTP/1.0 */
	r.head_len = end + 4;
	*out = r;
	return (long)r.head_len;
}

/* ---- chunked bodies -------------------------------------------------------- */

enum {
	CK_SIZE0 = 0, /* first hex digit of a chunk size */
	CK_SIZE,      /* more digits, BWS, ';' or CR */
	CK_EXT,	      /* extension bytes up to CR */
	CK_SIZE_LF,
	CK_DATA,
	CK_DATA_CR,
	CK_DATA_LF,
	CK_TRAILER,	 /* start of a trailer line, or CR of the last line */
	CK_TRAILER_LINE, /* inside a trailer field */
	CK_TRAILER_LF,
	CK_END_LF,
	CK_DONE,
};

/* The text after a chunk size, up to its CR: *( BWS ";" BWS ext-name
 * [ BWS "=" BWS ( token / quoted-string ) ] ) BWS. */
static size_t bws(const char *e, size_t n, size_t i)
{
	while (i < n && (e[i] == ' ' || e[i] == '\t'))
		i++;
	return i;
}

static size_t token_end(const char *e, size_t n, size_t i)
{
	while (i < n && tchar((unsigned char)e[i]))
		i++;
	return i;
}

static int ext_ok(const char *e, size_t n)
{
	size_t i = 0, j;

	for (;;) {
		i = bws(e, n, i);
		if (i == n)
			return 1;
		if (e[i++] != ';')
			return 0;
		i = bws(e, n, i);
		if ((j = token_end(e, n, i)) == i)
			return 0; /* an extension needs a name */
		i = bws(e, n, j);
		if (i == n || e[i] != '=')
			continue;
		i = bws(e, n, i + 1);
		if (i < n && e[i] == '"') {
			for (i++;; i++) {
				if (i >= n)
					return 0;
				if (e[i] == '\\') {
					if (++i >= n)
						return 0;
					continue;
				}
				if (e[i] == '"')
					break;
			}
			i++;
		} else {
			if ((j = token_end(e, n, i)) == i)
				return 0;
			i = j;
		}
	}
}

static int hexv(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* CK_SIZE0, CK_SIZE: a hex digit of the chunk size (at most 8), then an
 * extension or the CR that ends the size line. */
static int ck_size(struct http1_chunked *c, unsigned char ch)
{
	int h;

	if ((h = hexv(ch)) >= 0) {
		if (++c->digits > 8)
			return -400;
		c->left = c->left * 16 + (unsigned)h;
		c->st = CK_SIZE;
	} else if (c->st == CK_SIZE && (ch == ';' || ch == ' ' || ch == '\t')) {
		c->st = CK_EXT;
		c->extbuf[0] = (char)ch;
		c->ext = 1;
	} else if (c->st == CK_SIZE && ch == '\r') {
		c->st = CK_SIZE_LF;
	} else {
		return -400;
	}
	return 0;
}

/* CK_EXT: the chunk extension is collected, then checked whole at its CR. */
static int ck_ext(struct http1_chunked *c, unsigned char ch)
{
	if (ch == '\r') {
		if (!ext_ok(c->extbuf, c->ext))
			return -400;
		c->st = CK_SIZE_LF;
	} else if ((ch < 0x20 && ch != '\t') || ch == 0x7f || c->ext >= sizeof(c->extbuf)) {
		return -400;
	} else {
		c->extbuf[c->ext++] = (char)ch;
	}
	return 0;
}

/* CK_SIZE_LF: the size line is complete; size 0 starts the trailer, a chunk
 * larger than the room left in the body is refused (413). */
static int ck_size_lf(struct http1_chunked *c, unsigned char ch, size_t room)
{
	if (ch != '\n')
		return -400;
	c->digits = 0;
	if (c->left == 0)
		c->st = CK_TRAILER;
	else if (c->left > room)
		return -413;
	else
		c->st = CK_DATA;
	return 0;
}

/* CK_DATA: as much of the chunk's data as this input holds; returns the bytes
 * taken (the room was checked at CK_SIZE_LF). */
static size_t ck_data(struct http1_chunked *c, const char *in, size_t len, char *out,
		      size_t *out_len)
{
	size_t n = len;

	if (n > c->left)
		n = (size_t)c->left;
	memcpy(out + *out_len, in, n);
	*out_len += n;
	c->left -= n;
	if (c->left == 0)
		c->st = CK_DATA_CR;
	return n;
}

/* CK_DATA_CR, CK_DATA_LF, CK_TRAILER_LF: exactly one byte, then the next state. */
static int ck_expect(struct http1_chunked *c, unsigned char ch, unsigned char want, int next)
{
	if (ch != want)
		return -400;
	c->st = next;
	return 0;
}

/* CK_TRAILER: the CR of the final CRLF, or the first byte of a trailer field
 * name. The trailer section is counted against TRAILER_MAX. */
static int ck_trailer(struct http1_chunked *c, unsigned char ch)
{
	if (ch == '\r') {
		c->st = CK_END_LF;
	} else if (ch == ' ' || ch == '\t' || !tchar(ch)) {
		return -400;
	} else {
		c->st = CK_TRAILER_LINE;
		c->colon = 0;
	}
	if (++c->trailer > TRAILER_MAX)
		return -400;
	return 0;
}

/* CK_TRAILER_LINE: a trailer field (token name, colon, visible value) up to
 * its CR. */
static int ck_trailer_line(struct http1_chunked *c, unsigned char ch)
{
	if (ch == '\r') {
		if (!c->colon)
			return -400; /* a trailer line is a field */
		c->st = CK_TRAILER_LF;
	} else if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
		return -400;
	} else if (ch == ':') {
		c->colon = 1;
	} else if (!c->colon && !tchar(ch)) {
		return -400;
	}
	if (++c->trailer > TRAILER_MAX)
		return -400;
	return 0;
}

long http1_chunked_feed(struct http1_chunked *c, const char *in, size_t len, char *out,
			size_t *out_len, size_t cap, int *done)
{
	size_t i = 0;
	int r;

	*done = c->st == CK_DONE;
	while (i < len && !*done) {
		unsigned char ch = (unsigned char)in[i];

		switch (c->st) {
		case CK_SIZE0:
		case CK_SIZE:
			r = ck_size(c, ch);
			break;
		case CK_EXT:
			r = ck_ext(c, ch);
			break;
		case CK_SIZE_LF:
			r = ck_size_lf(c, ch, cap - *out_len);
			break;
		case CK_DATA:
			i += ck_data(c, in + i, len - i, out, out_len);
			continue;
		case CK_DATA_CR:
			r = ck_expect(c, ch, '\r', CK_DATA_LF);
			break;
		case CK_DATA_LF:
			r = ck_expect(c, ch, '\n', CK_SIZE0);
			break;
		case CK_TRAILER:
			r = ck_trailer(c, ch);
			break;
		case CK_TRAILER_LINE:
			r = ck_trailer_line(c, ch);
			break;
		case CK_TRAILER_LF:
			r = ck_expect(c, ch, '\n', CK_TRAILER);
			break;
		case CK_END_LF:
			if (ch != '\n')
				return -400;
			c->st = CK_DONE;
			*done = 1;
			return (long)(i + 1);
		default:
			*done = 1;
			return (long)i;
		}
		if (r < 0)
			return r;
		i++;
	}
	return (long)i;
}
