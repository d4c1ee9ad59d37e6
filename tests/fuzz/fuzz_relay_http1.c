/* fuzz_relay_http1.c: the relay's HTTP/1.1 request framing (relay/http1.c).
 * The first two input bytes choose a split point, the rest is what a client
 * sent. The head is parsed in one call and again in two calls split there
 * (with *scan carried, as the server does); both must give the same answer.
 * On success: head_len <= len and the head ends in CRLF CRLF, the target
 * starts with '/', method, target, path, query and the fields the relay
 * reads lie inside the head, clen only with has_clen, never chunked and
 * has_clen, never chunked in HTTP/1.0. A chunked body then goes through
 * http1_chunked_feed with a 16 KiB cap, in one call and split in two, into
 * an output buffer of exactly the cap: the same answer both ways, out_len
 * <= cap, no more consumed than given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

#define BODY_CAP (16 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int in_head(struct http1_str v, const char *buf, size_t head_len)
{
	return v.p >= buf && v.n <= head_len && v.p + v.n <= buf + head_len;
}

static void check_head(const char *buf, size_t len, const struct http1_req *r, long n)
{
	size_t hl = r->head_len;

	if ((size_t)n != hl || hl > len || hl < 4 || memcmp(buf + hl - 4, "\r\n\r\n", 4) != 0)
		abort();
	if (!in_head(r->method_raw, buf, hl) || r->method_raw.n == 0 || r->method_raw.n > 32)
		abort();
	if (!in_head(r->target, buf, hl) || r->target.n == 0 || r->target.p[0] != '/' ||
	    r->target.n > HTTP1_TARGET_MAX)
		abort();
	if (memchr(r->target.p, '#', r->target.n))
		abort();
	if (r->path.p != r->target.p || r->path.n > r->target.n ||
	    memchr(r->path.p, '?', r->path.n))
		abort();
	if (r->has_query) {
		if (!in_head(r->query, buf, hl) || r->path.n + 1 + r->query.n != r->target.n ||
		    r->target.p[r->path.n] != '?' || r->query.p != r->target.p + r->path.n + 1)
			abort();
	} else if (r->path.n != r->target.n) {
		abort();
	}
	if (r->minor != 0 && r->minor != 1)
		abort();
	if (r->minor == 1 && !in_head(r->host, buf, hl))
		abort();
	if (!r->has_clen && r->clen != 0)
		abort();
	if (r->has_clen && r->clen > 999999999999999ULL)
		abort();
	if (r->chunked && (r->has_clen || r->minor == 0))
		abort();
	if ((r->has_authorization && !in_head(r->authorization, buf, hl)) ||
	    (r->has_content_type && !in_head(r->content_type, buf, hl)) ||
	    (r->has_xff && !in_head(r->xff, buf, hl)) ||
	    (r->has_forwarded && !in_head(r->forwarded, buf, hl)))
		abort();
	if (r->keep_alive != 0 && r->keep_alive != 1)
		abort();
	/* no NUL, no bare CR or LF anywhere in the head */
	for (size_t i = 0; i < hl; i++) {
		if (buf[i] == '\0')
			abort();
		if (buf[i] == '\r' && buf[i + 1] != '\n')
			abort();
		if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r'))
			abort();
	}
}

struct dec {
	long r;
	int done;
	size_t out_len;
};

/* Feeds in[0..len) as pieces [0..split) and [split..len), stopping when the
 * body ends or is refused. */
static void feed(const char *in, size_t len, size_t split, char *out, struct dec *d)
{
	struct http1_chunked c;
	size_t off = 0;

	memset(&c, 0, sizeof(c));
	memset(d, 0, sizeof(*d));
	for (int piece = 0; piece < 2 && !d->done; piece++) {
		size_t end = piece == 0 ? split : len, k = end - off;
		long r = http1_chunked_feed(&c, in + off, k, out, &d->out_len, BODY_CAP, &d->done);
		if (r < 0) {
			if (r != -400 && r != -413)
				abort();
			d->r = r;
			return;
		}
		if ((size_t)r > k || (!d->done && (size_t)r != k))
			abort();
		if (d->out_len > BODY_CAP)
			abort();
		off += (size_t)r;
		d->r = (long)off;
	}
}

static void check_body(const char *in, size_t len, size_t split)
{
	char *a = malloc(BODY_CAP), *b = malloc(BODY_CAP);
	struct dec one, two;

	if (!a || !b)
		goto out;
	feed(in, len, len, a, &one);
	feed(in, len, split, b, &two);
	if (one.r != two.r || one.done != two.done || one.out_len != two.out_len)
		abort();
	if (one.r >= 0 && memcmp(a, b, one.out_len) != 0)
		abort();
	if (one.done && (one.r < 5 || memcmp(in + one.r - 2, "\r\n", 2) != 0))
		abort(); /* the body ends in CRLF (of the last chunk or the trailers) */
out:
	free(a);
	free(b);
}

static int status_ok(long n)
{
	return n >= 0 || n == -400 || n == -414 || n == -431 || n == -501 || n == -505 || n == -417;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http1_req r1, r2;
	size_t len, split, scan = 0;
	char *buf;
	long n1, n2;

	if (size < 2)
		return 0;
	len = size - 2;
	split = (((size_t)data[0] << 8) | data[1]) % (len + 1);
	/* a copy of exactly len bytes: any read past the end is an ASan report */
	if (!(buf = malloc(len ? len : 1)))
		return 0;
	memcpy(buf, data + 2, len);

	n1 = http1_parse_head(buf, len, &scan, &r1);
	if (!status_ok(n1))
		abort();
	if (n1 == HTTP1_MORE && len >= HTTP1_HEAD_MAX + 8)
		abort(); /* never waits past the head limit */

	/* the same bytes in two calls */
	scan = 0;
	n2 = http1_parse_head(buf, split, &scan, &r2);
	if (n2 == HTTP1_MORE) {
		if (scan > split)
			abort();
		n2 = http1_parse_head(buf, len, &scan, &r2);
	}
	if (n1 != n2)
		abort();

	if (n1 > 0) {
		check_head(buf, len, &r1, n1);
		if (r1.head_len != r2.head_len || r1.method != r2.method ||
		    r1.target.p != r2.target.p || r1.target.n != r2.target.n ||
		    r1.keep_alive != r2.keep_alive || r1.has_clen != r2.has_clen ||
		    r1.clen != r2.clen || r1.chunked != r2.chunked ||
		    r1.expect_continue != r2.expect_continue)
			abort();
		if (r1.chunked) {
			size_t rest = len - r1.head_len;
			check_body(buf + r1.head_len, rest,
				   split < r1.head_len ? 0 : split - r1.head_len);
		}
	}
	free(buf);
	return 0;
}
