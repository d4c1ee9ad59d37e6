/* test_relay_http1.c: the relay's HTTP/1.1 request framing (relay/http1.c,
 * RFC 9112), linked from librelay.a: http1_parse_head (request line, field
 * lines, framing fields, limits, incremental parsing with *scan carried as
 * the server carries it), http1_chunked_feed (chunk sizes, extensions,
 * trailers, cap, where the body ends) and http1_eq. Each refusal differs
 * from an accepted baseline in one thing only and is checked for its exact
 * status. Every input is copied into a heap buffer of exactly its length,
 * so ASan sees any read past the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"
#include "tap.h"

#define GET11 "GET / HTTP/1.1\r\nHost: relay.example.org\r\n"

/* ---- helpers ------------------------------------------------------------------ */

static char *cur; /* the last parsed buffer: the request's pointers point into it */

static char *xmalloc(size_t n)
{
	char *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

/* A heap copy of s[0..n) of exactly n bytes. */
static char *dupn(const char *s, size_t n)
{
	char *p = xmalloc(n);
	memcpy(p, s, n);
	return p;
}

/* One call over s[0..n) with *scan 0; r untouched on refusal is checked. */
static long parse_n(const char *s, size_t n, struct http1_req *r)
{
	struct http1_req before;
	size_t scan = 0;
	long rc;

	free(cur);
	cur = dupn(s, n);
	memset(r, 0xa5, sizeof(*r));
	memcpy(&before, r, sizeof(before));
	rc = http1_parse_head(cur, n, &scan, r);
	if (rc <= 0)
		T_OK(memcmp(&before, r, sizeof(before)) == 0); /* outputs set only on success */
	return rc;
}

static long parse(const char *s, struct http1_req *r)
{
	return parse_n(s, strlen(s), r);
}

/* The status for s alone (the request itself is not kept). */
static long status_n(const char *s, size_t n)
{
	struct http1_req r;
	return parse_n(s, n, &r);
}

static long status(const char *s)
{
	return status_n(s, strlen(s));
}

static int str_is(struct http1_str v, const char *s)
{
	return v.n == strlen(s) && (v.n == 0 || memcmp(v.p, s, v.n) == 0);
}

/* Inside buf[0..len)? */
static int inside(struct http1_str v, const char *buf, size_t len)
{
	return v.p >= buf && v.p + v.n <= buf + len;
}

static int same_str(struct http1_str a, struct http1_str b)
{
	return a.n == b.n && (a.n == 0 || a.p == b.p);
}

/* Two parses of the same buffer agree on every output. */
static int same_req(const struct http1_req *a, const struct http1_req *b)
{
	return a->method == b->method && same_str(a->method_raw, b->method_raw) &&
	       same_str(a->target, b->target) && same_str(a->path, b->path) &&
	       a->has_query == b->has_query && (!a->has_query || same_str(a->query, b->query)) &&
	       a->minor == b->minor && a->keep_alive == b->keep_alive &&
	       a->has_clen == b->has_clen && a->clen == b->clen && a->chunked == b->chunked &&
	       a->expect_continue == b->expect_continue && same_str(a->host, b->host) &&
	       a->has_authorization == b->has_authorization &&
	       a->has_content_type == b->has_content_type && a->has_xff == b->has_xff &&
	       a->has_forwarded == b->has_forwarded && a->head_len == b->head_len;
}

/* A heap string: head, then fill repeated until the whole is total - strlen(tail)
 * bytes, then tail; exactly total bytes (plus a NUL not counted). */
static char *build(const char *head, char fill, const char *tail, size_t total)
{
	size_t h = strlen(head), t = strlen(tail);
	char *p = xmalloc(total + 1);

	if (h + t > total)
		abort();
	memcpy(p, head, h);
	memset(p + h, fill, total - h - t);
	memcpy(p + total - t, tail, t);
	p[total] = '\0';
	return p;
}

/* ---- http1_parse_head: accepted requests -------------------------------------- */

static void test_minimal(void)
{
	struct http1_req r;
	const char *s =
		"GET /callback?code=abc&state=xyz HTTP/1.1\r\nHost: relay.example.org\r\n\r\n";
	long n;

	T_CASE("head: minimal GET, path and query split");
	n = parse(s, &r);
	T_EQ(n, strlen(s));
	T_EQ(r.head_len, strlen(s));
	T_EQ(r.method, HTTP1_GET);
	T_OK(str_is(r.method_raw, "GET"));
	T_OK(str_is(r.target, "/callback?code=abc&state=xyz"));
	T_OK(str_is(r.path, "/callback"));
	T_EQ(r.has_query, 1);
	T_OK(str_is(r.query, "code=abc&state=xyz"));
	T_OK(r.target.p == cur + 4 && r.path.p == cur + 4);
	T_OK(inside(r.query, cur, strlen(s)));
	T_EQ(r.minor, 1);
	T_EQ(r.keep_alive, 1);
	T_OK(str_is(r.host, "relay.example.org"));
	T_EQ(r.has_clen, 0);
	T_EQ(r.chunked, 0);
	T_EQ(r.expect_continue, 0);
	T_EQ(r.has_authorization, 0);
	T_EQ(r.has_content_type, 0);
	T_EQ(r.has_xff, 0);
	T_EQ(r.has_forwarded, 0);

	T_CASE("head: no '?' is no query; a bare '?' is an empty query");
	T_EQ(parse(GET11 "\r\n", &r), strlen(GET11) + 2);
	T_EQ(r.has_query, 0);
	T_OK(str_is(r.path, "/"));
	T_OK(parse("GET /a/b? HTTP/1.1\r\nHost: h\r\n\r\n", &r) > 0);
	T_OK(str_is(r.path, "/a/b"));
	T_EQ(r.has_query, 1);
	T_EQ(r.query.n, 0);
	T_OK(inside(r.query, cur, strlen("GET /a/b? HTTP/1.1\r\nHost: h\r\n\r\n")));
	T_OK(parse("GET /a?b?c HTTP/1.1\r\nHost: h\r\n\r\n", &r) > 0);
	T_OK(str_is(r.path, "/a"));
	T_OK(str_is(r.query, "b?c"));

	T_CASE("head: methods; case-sensitive; others are HTTP1_OTHER");
	T_OK(parse("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", &r) > 0);
	T_EQ(r.method, HTTP1_HEAD);
	T_OK(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", &r) > 0);
	T_EQ(r.method, HTTP1_POST);
	T_OK(parse("OPTIONS / HTTP/1.1\r\nHost: h\r\n\r\n", &r) > 0);
	T_EQ(r.method, HTTP1_OTHER);
	T_OK(str_is(r.method_raw, "OPTIONS"));
	T_OK(parse("get / HTTP/1.1\r\nHost: h\r\n\r\n", &r) > 0);
	T_EQ(r.method, HTTP1_OTHER);
	T_OK(parse("GETX / HTTP/1.1\r\nHost: h\r\n\r\n", &r) > 0);
	T_EQ(r.method, HTTP1_OTHER);

	T_CASE("head: field values are trimmed of OWS; names are case-insensitive");
	T_OK(parse("GET / HTTP/1.1\r\nhOsT:\t  a.example \t\r\n\r\n", &r) > 0);
	T_OK(str_is(r.host, "a.example"));
	T_OK(parse("GET / HTTP/1.1\r\nHost:\r\n\r\n", &r) > 0); /* empty Host is allowed */
	T_EQ(r.host.n, 0);
	T_OK(parse("GET / HTTP/1.1\r\nHost: h\r\nX: a\tb\x80\xff\r\n\r\n", &r) >
	     0); /* HTAB, obs-text */

	T_CASE("head: the fields the relay reads, each once");
	T_OK(parse("POST /r HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer t\r\n"
		   "Content-Type: application/json\r\nX-Forwarded-For: 192.0.2.1\r\n"
		   "Forwarded: for=192.0.2.1\r\nContent-Length:  42 \r\n\r\n",
		   &r) > 0);
	T_EQ(r.has_authorization, 1);
	T_OK(str_is(r.authorization, "Bearer t"));
	T_EQ(r.has_content_type, 1);
	T_OK(str_is(r.content_type, "application/json"));
	T_EQ(r.has_xff, 1);
	T_OK(str_is(r.xff, "192.0.2.1"));
	T_EQ(r.has_forwarded, 1);
	T_OK(str_is(r.forwarded, "for=192.0.2.1"));
	T_EQ(r.has_clen, 1);
	T_EQ(r.clen, 42);
}

static void test_connection(void)
{
	struct http1_req r;

	T_CASE("head: HTTP/1.0 closes by default, needs no Host");
	T_OK(parse("GET / HTTP/1.0\r\n\r\n", &r) > 0);
	T_EQ(r.minor, 0);
	T_EQ(r.keep_alive, 0);

	T_CASE("head: HTTP/1.0 with the keep-alive token");
	T_OK(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r) > 0);
	T_EQ(r.keep_alive, 1);
	T_OK(parse("GET / HTTP/1.0\r\nConnection: foo ,\tKeep-Alive , bar\r\n\r\n", &r) > 0);
	T_EQ(r.keep_alive, 1);
	T_OK(parse("GET / HTTP/1.0\r\nConnection: keep-alive-x\r\n\r\n", &r) > 0);
	T_EQ(r.keep_alive, 0);
	T_OK(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", &r) > 0);
	T_EQ(r.keep_alive, 0); /* close wins */

	T_CASE("head: Connection: close on HTTP/1.1");
	T_OK(parse(GET11 "Connection: close\r\n\r\n", &r) > 0);
	T_EQ(r.keep_alive, 0);
	T_OK(parse(GET11 "Connection: upgrade,CLOSE\r\n\r\n", &r) > 0);
	T_EQ(r.keep_alive, 0);
	T_OK(parse(GET11 "Connection: keep-alive\r\nConnection: close\r\n\r\n", &r) > 0);
	T_EQ(r.keep_alive, 0);
	T_OK(parse(GET11 "Connection: closed\r\n\r\n", &r) > 0);
	T_EQ(r.keep_alive, 1);
	T_OK(parse(GET11 "Connection: , ,\r\n\r\n", &r) > 0);
	T_EQ(r.keep_alive, 1);
}

/* ---- http1_parse_head: incremental parsing ------------------------------------ */

static const char *const valid_heads[] = {
	GET11 "\r\n",
	"GET /cb?code=c&state=s HTTP/1.1\r\nHost: h\r\nUser-Agent: x\r\nAccept: */*\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
	"POST /register HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
	"Content-Length: 2\r\nExpect: 100-continue\r\n\r\n",
	"POST /r HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
};

static void test_prefixes(void)
{
	for (size_t v = 0; v < sizeof(valid_heads) / sizeof(valid_heads[0]); v++) {
		const char *s = valid_heads[v];
		size_t len = strlen(s), carried = 0, bad_reset = 0, bad_carried = 0;
		struct http1_req one, inc;
		char *buf = dupn(s, len);
		long n1, n2 = HTTP1_MORE;

		T_CASE("head: HTTP1_MORE for every proper prefix, *scan carried and reset");
		n1 = http1_parse_head(buf, len, &(size_t){ 0 }, &one);
		T_EQ(n1, len);
		for (size_t k = 0; k < len; k++) {
			size_t scan = 0;
			char *pre = dupn(s, k); /* exactly k bytes: no peeking past them */
			struct http1_req r;
			if (http1_parse_head(pre, k, &scan, &r) != HTTP1_MORE)
				bad_reset++;
			if (http1_parse_head(pre, k, &carried, &r) != HTTP1_MORE)
				bad_carried++;
			T_OK(carried <= k);
			free(pre);
		}
		T_EQ(bad_reset, 0);
		T_EQ(bad_carried, 0);

		T_CASE("head: byte-by-byte feeding equals one call");
		carried = 0;
		for (size_t k = 1; k <= len && n2 == HTTP1_MORE; k++)
			n2 = http1_parse_head(buf, k, &carried, &inc);
		T_EQ(n2, n1);
		T_OK(same_req(&one, &inc));

		T_CASE("head: a second call with the whole head after a partial one");
		carried = 0;
		T_EQ(http1_parse_head(buf, len / 2, &carried, &inc), HTTP1_MORE);
		T_EQ(http1_parse_head(buf, len, &carried, &inc), n1);
		T_OK(same_req(&one, &inc));
		free(buf);
	}

	T_CASE("head: a refusal found byte by byte equals the one-call refusal");
	{
		static const char *const bad[] = {
			GET11 "X: a\rb\r\n\r\n",       GET11 "X: a\nb\r\n\r\n",
			GET11 " X: a\r\n\r\n",	       "GET / HTTP/2.0\r\nHost: h\r\n\r\n",
			GET11 "Expect: later\r\n\r\n",
		};
		for (size_t v = 0; v < sizeof(bad) / sizeof(bad[0]); v++) {
			size_t len = strlen(bad[v]), scan = 0;
			char *buf = dupn(bad[v], len);
			struct http1_req r;
			long one = http1_parse_head(buf, len, &(size_t){ 0 }, &r), inc = HTTP1_MORE;
			for (size_t k = 1; k <= len && inc == HTTP1_MORE; k++)
				inc = http1_parse_head(buf, k, &scan, &r);
			T_OK(one < 0);
			T_EQ(inc, one);
			free(buf);
		}
	}

	T_CASE("head: a CR at the end of one call is checked when its next byte comes");
	{
		const char *s = GET11 "X: a\rb\r\n\r\n";
		size_t cut = strlen(GET11 "X: a\r"), scan = 0;
		struct http1_req r;
		T_EQ(http1_parse_head(s, cut, &scan, &r), HTTP1_MORE);
		T_EQ(http1_parse_head(s, cut + 1, &scan, &r), -400);
	}

	T_CASE("head: bare CR and bare LF are refused at once, before the head ends");
	T_EQ(status("GET /\rx"), -400);
	T_EQ(status("GET /\n"), -400);
	T_EQ(status_n("G\0", 2), -400);
}

static void test_leading_crlf(void)
{
	struct http1_req r;
	char in[64];

	T_CASE("head: up to 4 leading CRLFs skipped, counted in head_len");
	for (int k = 1; k <= 4; k++) {
		size_t n = 0;
		for (int j = 0; j < k; j++)
			n += (size_t)snprintf(in + n, sizeof(in) - n, "\r\n");
		snprintf(in + n, sizeof(in) - n, "GET / HTTP/1.0\r\n\r\n");
		T_EQ(parse(in, &r), strlen(in));
		T_EQ(r.method, HTTP1_GET);
		T_OK(r.method_raw.p == cur + 2 * k);
	}

	T_CASE("head: a 5th leading CRLF is refused");
	T_EQ(status("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.0\r\n\r\n"), -400);
	T_EQ(status("\r\n\r\n\r\n\r\n\r\n\r\n"), -400);

	T_CASE("head: leading CRLFs alone wait; a bare CR or LF among them is refused");
	T_EQ(status("\r"), HTTP1_MORE);
	T_EQ(status("\r\n"), HTTP1_MORE);
	T_EQ(status("\r\n\r"), HTTP1_MORE);
	T_EQ(status("\r\n\r\n\r\n\r\n"), HTTP1_MORE);
	T_EQ(status("\r\r\n"), -400);
	T_EQ(status("\n"), -400);
	T_EQ(status("\r\n\nGET / HTTP/1.0\r\n\r\n"), -400);
	T_EQ(status(""), HTTP1_MORE);
}

/* ---- http1_parse_head: refusals ----------------------------------------------- */

static void test_line_endings(void)
{
	T_CASE("head: bare LF refused (400)");
	T_EQ(status("GET / HTTP/1.1\nHost: h\r\n\r\n"), -400);
	T_EQ(status(GET11 "X: a\n\r\n"), -400);
	T_EQ(status(GET11 "\n"), -400);
	T_EQ(status("GET / HTTP/1.0\n\n"), -400);

	T_CASE("head: bare CR refused (400)");
	T_EQ(status(GET11 "X: a\rb\r\n\r\n"), -400);
	T_EQ(status(GET11 "\r\r\n"), -400);
	T_EQ(status("GET /\r HTTP/1.1\r\nHost: h\r\n\r\n"), -400);

	T_CASE("head: NUL refused in a value, a name, the target (400)");
	T_EQ(status_n(GET11 "X: a\0b\r\n\r\n", sizeof(GET11 "X: a\0b\r\n\r\n") - 1), -400);
	T_EQ(status_n(GET11 "X\0Y: a\r\n\r\n", sizeof(GET11 "X\0Y: a\r\n\r\n") - 1), -400);
	T_EQ(status_n("GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n",
		      sizeof("GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n") - 1),
	     -400);

	T_CASE("head: obs-fold refused (400)");
	T_EQ(status(GET11 "X: a\r\n b\r\n\r\n"), -400);
	T_EQ(status(GET11 "X: a\r\n\tb\r\n\r\n"), -400);
	T_EQ(status("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), -400);
}

static void test_fields(void)
{
	T_CASE("head: whitespace between a field name and its colon (400)");
	T_EQ(status("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), -400);
	T_EQ(status("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n"), -400);
	T_EQ(status(GET11 "Content-Length : 5\r\n\r\n"), -400);

	T_CASE("head: empty field name (400)");
	T_EQ(status(GET11 ": a\r\n\r\n"), -400);
	T_EQ(status(GET11 ":\r\n\r\n"), -400);

	T_CASE("head: non-token byte in a field name (400)");
	T_EQ(status(GET11 "X(Y: a\r\n\r\n"), -400);
	T_EQ(status(GET11 "X Y: a\r\n\r\n"), -400);
	T_EQ(status(GET11 "X\x7fY: a\r\n\r\n"), -400);
	T_EQ(status(GET11 "X\x01Y: a\r\n\r\n"), -400);
	T_EQ(status(GET11 "X\xc3\xa9: a\r\n\r\n"), -400);
	T_EQ(status(GET11 "X/Y: a\r\n\r\n"), -400);
	T_OK(status(GET11 "!#$%&'*+-.^_`|~09azAZ: a\r\n\r\n") > 0); /* every tchar */

	T_CASE("head: field line without a colon (400)");
	T_EQ(status(GET11 "X-No-Colon\r\n\r\n"), -400);
	T_EQ(status(GET11 "X a\r\n\r\n"), -400);

	T_CASE("head: control byte in a field value (400)");
	T_EQ(status(GET11 "X: a\x01"
			  "b\r\n\r\n"),
	     -400);
	T_EQ(status(GET11 "X: a\x1b[0m\r\n\r\n"), -400);
	T_EQ(status(GET11 "X: a\x7f\r\n\r\n"), -400);
	T_EQ(status(GET11 "X: \x0b\r\n\r\n"), -400);
	T_EQ(status("GET / HTTP/1.1\r\nHost: h\x01\r\n\r\n"), -400);

	T_CASE("head: more than 100 fields (431)");
	{
		char *s = xmalloc(100 * 16 + 64);
		size_t n = (size_t)sprintf(s, "GET / HTTP/1.1\r\nHost: h\r\n");
		for (int k = 1; k < HTTP1_FIELDS_MAX; k++)
			n += (size_t)sprintf(s + n, "X-%d: v\r\n", k);
		strcpy(s + n, "\r\n");
		T_OK(status(s) > 0); /* exactly 100 */
		sprintf(s + n, "X-last: v\r\n\r\n");
		T_EQ(status(s), -431);
		free(s);
	}
}

static void test_request_line(void)
{
	char *s, *t;

	T_CASE("head: target not in origin-form (400)");
	T_EQ(status("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET cb HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n"), -400);

	T_CASE("head: '#' in the target (400)");
	T_EQ(status("GET /cb#frag HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET /cb?a=1#x HTTP/1.1\r\nHost: h\r\n\r\n"), -400);

	T_CASE("head: target bytes outside visible ASCII (400)");
	T_EQ(status("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n"), -400);

	T_CASE("head: request line shape: single SPs, three parts (400)");
	T_EQ(status("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET /  HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), -400);
	T_EQ(status(" GET / HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET /\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET / \r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET / HTTP/1.1 x\r\nHost: h\r\n\r\n"), -400);

	T_CASE("head: target of 8192 bytes accepted, 8193 refused (414)");
	t = build("/", 'a', "", HTTP1_TARGET_MAX);
	s = xmalloc(HTTP1_TARGET_MAX + 64);
	sprintf(s, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", t);
	T_EQ(status(s), strlen(s));
	free(t);
	t = build("/", 'a', "", HTTP1_TARGET_MAX + 1);
	sprintf(s, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", t);
	T_EQ(status(s), -414);
	free(t);
	free(s);

	T_CASE("head: another HTTP version (505)");
	T_EQ(status("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), -505);
	T_EQ(status("GET / HTTP/1.2\r\nHost: h\r\n\r\n"), -505);
	T_EQ(status("GET / HTTP/0.9\r\nHost: h\r\n\r\n"), -505);
	T_EQ(status("GET / HTTP/9.9\r\nHost: h\r\n\r\n"), -505);

	T_CASE("head: malformed HTTP version (400)");
	T_EQ(status("GET / HTTP/1.1x\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET / http/1.1\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET / Http/1.1\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET / HTTP/1.10\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET / HTTP/11\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET / HTTP/1\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET / HTTP/1.a\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET / HTTP/a.1\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET / HTTP/1,1\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET / HTTPS/1.1\r\nHost: h\r\n\r\n"), -400);

	T_CASE("head: method of 32 bytes accepted, 33 refused (400)");
	t = build("", 'M', "", 32);
	s = xmalloc(128);
	sprintf(s, "%s / HTTP/1.1\r\nHost: h\r\n\r\n", t);
	T_EQ(status(s), strlen(s));
	free(t);
	t = build("", 'M', "", 33);
	sprintf(s, "%s / HTTP/1.1\r\nHost: h\r\n\r\n", t);
	T_EQ(status(s), -400);
	free(t);
	free(s);

	T_CASE("head: method not a token (400)");
	T_EQ(status("GE(T / HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("G\x80T / HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
}

static void test_limits(void)
{
	const char *pre = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
	char *s;

	T_CASE("head: a head of exactly 32 KiB accepted, one byte more refused (431)");
	s = build(pre, 'a', "\r\n\r\n", HTTP1_HEAD_MAX);
	T_EQ(status(s), HTTP1_HEAD_MAX);
	free(s);
	s = build(pre, 'a', "\r\n\r\n", HTTP1_HEAD_MAX + 1);
	T_EQ(status(s), -431);
	free(s);

	T_CASE("head: 32 KiB after 4 leading CRLFs still fits");
	s = build("\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nX: ", 'a', "\r\n\r\n",
		  HTTP1_HEAD_MAX + 8);
	T_EQ(status(s), HTTP1_HEAD_MAX + 8);
	free(s);

	T_CASE("head: 32 KiB of fields without the empty line (431)");
	s = build(pre, 'a', "", HTTP1_HEAD_MAX - 1);
	T_EQ(status(s), HTTP1_MORE);
	free(s);
	s = build(pre, 'a', "", HTTP1_HEAD_MAX);
	T_EQ(status(s), -431);
	free(s);
	s = build(pre, 'a', "\r\n\r", HTTP1_HEAD_MAX); /* the last LF would be byte 32769 */
	T_EQ(status(s), -431);
	free(s);
	s = build(pre, 'a', "", HTTP1_HEAD_MAX + 100);
	T_EQ(status(s), -431);
	free(s);

	T_CASE("head: 32 KiB of request line without an LF (414)");
	s = build("GET /", 'a', "", HTTP1_HEAD_MAX - 1);
	T_EQ(status(s), HTTP1_MORE);
	free(s);
	s = build("GET /", 'a', "", HTTP1_HEAD_MAX);
	T_EQ(status(s), -414);
	free(s);

	T_CASE("head: a 9000-byte request line, then fields up to 32 KiB (414)");
	s = build("GET /", 'a', " HTTP/1.1\r\nHost: h\r\nX: ", 9000 + 22);
	{
		size_t n = strlen(s);
		char *big = build(s, 'b', "", HTTP1_HEAD_MAX);
		T_EQ(status_n(big, n), HTTP1_MORE);
		T_EQ(status(big), -414);
		free(big);
	}
	free(s);
}

static void test_host(void)
{
	T_CASE("head: HTTP/1.1 without Host (400)");
	T_EQ(status("GET / HTTP/1.1\r\n\r\n"), -400);
	T_EQ(status("GET / HTTP/1.1\r\nX-Host: h\r\n\r\n"), -400);

	T_CASE("head: two Host fields (400)");
	T_EQ(status("GET / HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n"), -400);
	T_EQ(status("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), -400);
	T_EQ(status("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), -400);
}

static void test_framing(void)
{
	struct http1_req r;
	char clen16[] = GET11 "Content-Length: 1234567890123456\r\n\r\n";

	T_CASE("head: Content-Length");
	T_OK(parse(GET11 "Content-Length: 0\r\n\r\n", &r) > 0);
	T_EQ(r.has_clen, 1);
	T_EQ(r.clen, 0);
	T_OK(parse(GET11 "Content-Length: 007\r\n\r\n", &r) > 0);
	T_EQ(r.clen, 7);
	T_OK(parse(GET11 "Content-Length: 999999999999999\r\n\r\n", &r) > 0);
	T_EQ(r.clen, 999999999999999ULL);
	T_OK(parse(GET11 "\r\n", &r) > 0);
	T_EQ(r.has_clen, 0);

	T_CASE("head: two Content-Length, also with the same value (400)");
	T_EQ(status(GET11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"), -400);
	T_EQ(status(GET11 "Content-Length: 5\r\nContent-Length: 5\r\n\r\n"), -400);
	T_EQ(status(GET11 "Content-Length: 5\r\ncontent-length: 5\r\n\r\n"), -400);

	T_CASE("head: Content-Length not all digits, empty, 16 digits (400)");
	T_EQ(status(GET11 "Content-Length: abc\r\n\r\n"), -400);
	T_EQ(status(GET11 "Content-Length: -1\r\n\r\n"), -400);
	T_EQ(status(GET11 "Content-Length: +1\r\n\r\n"), -400);
	T_EQ(status(GET11 "Content-Length: 0x10\r\n\r\n"), -400);
	T_EQ(status(GET11 "Content-Length: 1 2\r\n\r\n"), -400);
	T_EQ(status(GET11 "Content-Length: 5, 5\r\n\r\n"), -400);
	T_EQ(status(GET11 "Content-Length: 5,5\r\n\r\n"), -400);
	T_EQ(status(GET11 "Content-Length: 1.0\r\n\r\n"), -400);
	T_EQ(status(GET11 "Content-Length: \xd9\xa1\r\n\r\n"), -400);
	T_EQ(status(GET11 "Content-Length:\r\n\r\n"), -400);
	T_EQ(status(GET11 "Content-Length:   \r\n\r\n"), -400);
	T_EQ(status(clen16), -400);
	T_EQ(status(GET11 "Content-Length: 0000000000000000\r\n\r\n"), -400);

	T_CASE("head: Transfer-Encoding: chunked");
	T_OK(parse(GET11 "Transfer-Encoding: chunked\r\n\r\n", &r) > 0);
	T_EQ(r.chunked, 1);
	T_EQ(r.has_clen, 0);
	T_OK(parse(GET11 "transfer-encoding:  CHUNKED \r\n\r\n", &r) > 0);
	T_EQ(r.chunked, 1);

	T_CASE("head: Content-Length and Transfer-Encoding together (400, RFC 9112 6.1)");
	T_EQ(status(GET11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), -400);
	T_EQ(status(GET11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"), -400);
	T_EQ(status(GET11 "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n"), -400);
	T_EQ(status("GET / HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
	     -400);

	T_CASE("head: Transfer-Encoding other than chunked (501)");
	T_EQ(status(GET11 "Transfer-Encoding: gzip\r\n\r\n"), -501);
	T_EQ(status(GET11 "Transfer-Encoding: gzip, chunked\r\n\r\n"), -501);
	T_EQ(status(GET11 "Transfer-Encoding: chunked, chunked\r\n\r\n"), -501);
	T_EQ(status(GET11 "Transfer-Encoding: chunked;q=1\r\n\r\n"), -501);
	T_EQ(status(GET11 "Transfer-Encoding: chunkedx\r\n\r\n"), -501);
	T_EQ(status(GET11 "Transfer-Encoding: identity\r\n\r\n"), -501);
	T_EQ(status(GET11 "Transfer-Encoding:\r\n\r\n"), -501);

	T_CASE("head: Transfer-Encoding twice (400)");
	T_EQ(status(GET11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
	     -400);
	T_EQ(status(GET11 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"), -501);
	T_EQ(status(GET11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"), -400);

	T_CASE("head: Transfer-Encoding in HTTP/1.0 (400)");
	T_EQ(status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), -400);

	T_CASE("head: Expect: 100-continue accepted");
	T_OK(parse(GET11 "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n", &r) > 0);
	T_EQ(r.expect_continue, 1);
	T_OK(parse(GET11 "Expect:  100-Continue \r\n\r\n", &r) > 0);
	T_EQ(r.expect_continue, 1);

	T_CASE("head: another Expect (417), Expect twice (400)");
	T_EQ(status(GET11 "Expect: 200-ok\r\n\r\n"), -417);
	T_EQ(status(GET11 "Expect: 100-continue, foo\r\n\r\n"), -417);
	T_EQ(status(GET11 "Expect:\r\n\r\n"), -417);
	T_EQ(status(GET11 "Expect: 100-continue\r\nExpect: 100-continue\r\n\r\n"), -400);

	T_CASE("head: Authorization, Content-Type, X-Forwarded-For, Forwarded twice (400)");
	T_EQ(status(GET11 "Authorization: Bearer a\r\nAuthorization: Bearer a\r\n\r\n"), -400);
	T_EQ(status(GET11 "authorization: Bearer a\r\nAUTHORIZATION: Basic b\r\n\r\n"), -400);
	T_EQ(status(GET11 "Content-Type: a/b\r\nContent-Type: a/b\r\n\r\n"), -400);
	T_EQ(status(GET11 "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-For: 192.0.2.2\r\n\r\n"),
	     -400);
	T_EQ(status(GET11 "Forwarded: for=a\r\nforwarded: for=b\r\n\r\n"), -400);
	T_OK(status(GET11 "Forwarded: for=a\r\nX-Forwarded-For: b\r\n\r\n") > 0);
}

static void test_pipelined(void)
{
	struct http1_req r;
	const char *a = GET11 "\r\n";
	const char *two = GET11 "\r\nGET /second HTTP/1.1\r\nHost: h\r\n\r\n";

	T_CASE("head: two requests in one buffer: the first head only");
	T_EQ(parse(two, &r), strlen(a));
	T_OK(str_is(r.path, "/"));
	T_EQ(parse(two + strlen(a), &r), strlen(two) - strlen(a));
	T_OK(str_is(r.path, "/second"));

	T_CASE("head: bytes after the head (NUL, bare LF, bare CR) do not count");
	{
		static const char s[] = "POST /r HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\n"
					"\0\n\r\x01 \n";
		size_t hl = sizeof("POST /r HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\n") - 1;
		size_t scan = 0;
		char *buf = dupn(s, sizeof(s) - 1);
		T_EQ(parse_n(s, sizeof(s) - 1, &r), hl);
		T_EQ(r.clen, 6);
		/* also when the head arrived in two calls, the body with the second */
		T_EQ(http1_parse_head(buf, hl - 3, &scan, &r), HTTP1_MORE);
		T_EQ(http1_parse_head(buf, sizeof(s) - 1, &scan, &r), hl);
		T_EQ(http1_parse_head(buf, hl + 1, &(size_t){ 0 }, &r), hl);
		free(buf);
	}
	T_CASE("head: the head's final CR LF then a bare CR in the body");
	T_EQ(status(GET11 "\r\n\r"), strlen(GET11) + 2);
	T_EQ(status(GET11 "\r\n\rX"), strlen(GET11) + 2);
}

/* ---- http1_chunked_feed ------------------------------------------------------- */

struct dec {
	long r;
	int done;
	size_t out_len;
	char out[512];
};

/* Feeds s[0..n) in one call (step 0) or in pieces of step bytes, stopping at
 * the first refusal or the end; r is the total consumed or the refusal. */
static void feed(const char *s, size_t n, size_t step, size_t cap, struct dec *d)
{
	struct http1_chunked c;
	char *out = xmalloc(cap);
	size_t off = 0;

	memset(&c, 0, sizeof(c));
	memset(d, 0, sizeof(*d));
	if (!step)
		step = n ? n : 1;
	do {
		size_t k = n - off < step ? n - off : step;
		char *piece = dupn(s + off, k);
		long r = http1_chunked_feed(&c, piece, k, out, &d->out_len, cap, &d->done);
		free(piece);
		if (r < 0) {
			d->r = r;
			break;
		}
		T_OK((size_t)r <= k);
		if (!d->done)
			T_EQ(r, k);
		off += (size_t)r;
		d->r = (long)off;
	} while (!d->done && off < n);
	T_OK(d->out_len <= cap);
	memcpy(d->out, out, d->out_len < sizeof(d->out) ? d->out_len : sizeof(d->out));
	free(out);
}

/* One call and byte by byte give the same answer; returns it in *d. */
static void feed_both(const char *s, size_t n, size_t cap, struct dec *d)
{
	struct dec b;

	feed(s, n, 0, cap, d);
	feed(s, n, 1, cap, &b);
	T_EQ(b.r, d->r);
	T_EQ(b.done, d->done);
	T_EQ(b.out_len, d->out_len);
	T_OK(memcmp(b.out, d->out, d->out_len < sizeof(d->out) ? d->out_len : sizeof(d->out)) == 0);
}

#define FEED(s, cap, d) feed_both((s), sizeof(s) - 1, (cap), (d))

static int out_is(const struct dec *d, const char *s)
{
	return d->out_len == strlen(s) && memcmp(d->out, s, d->out_len) == 0;
}

static void test_chunked(void)
{
	struct dec d;

	T_CASE("chunked: simple chunks");
	FEED("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 64, &d);
	T_EQ(d.r, sizeof("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n") - 1);
	T_EQ(d.done, 1);
	T_OK(out_is(&d, "hello world"));

	T_CASE("chunked: zero-length body");
	FEED("0\r\n\r\n", 64, &d);
	T_EQ(d.r, 5);
	T_EQ(d.done, 1);
	T_EQ(d.out_len, 0);
	FEED("000\r\n\r\n", 0, &d);
	T_EQ(d.done, 1);

	T_CASE("chunked: chunk extensions are read and dropped");
	FEED("5;name=value\r\nhello\r\n0;last\r\n\r\n", 64, &d);
	T_EQ(d.done, 1);
	T_OK(out_is(&d, "hello"));
	FEED("5 ;a=\"q s\"\r\nhello\r\n0\t;x\r\n\r\n", 64, &d);
	T_EQ(d.done, 1);
	T_OK(out_is(&d, "hello"));

	T_CASE("chunked: hex digits upper and lower case");
	FEED("a\r\n0123456789\r\nB\r\nabcdefghijk\r\n0\r\n\r\n", 64, &d);
	T_EQ(d.done, 1);
	T_EQ(d.out_len, 21);
	FEED("1f\r\n0123456789012345678901234567890\r\n1F\r\n0123456789012345678901234567890\r\n"
	     "0\r\n\r\n",
	     64, &d);
	T_EQ(d.done, 1);
	T_EQ(d.out_len, 62);

	T_CASE("chunked: 8 hex digits accepted, 9 refused (400)");
	FEED("00000005\r\nhello\r\n0\r\n\r\n", 64, &d);
	T_EQ(d.done, 1);
	T_OK(out_is(&d, "hello"));
	FEED("000000005\r\nhello\r\n0\r\n\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("000000000\r\n\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("100000000\r\n", 64, &d);
	T_EQ(d.r, -400);

	T_CASE("chunked: trailer fields are read and dropped");
	FEED("5\r\nhello\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n", 64, &d);
	T_EQ(d.done, 1);
	T_EQ(d.r, sizeof("5\r\nhello\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n") - 1);
	T_OK(out_is(&d, "hello"));

	T_CASE("chunked: the body ends at the final CRLF; the next request is not consumed");
	FEED("5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n", 64, &d);
	T_EQ(d.r, 15);
	T_EQ(d.done, 1);
	T_OK(out_is(&d, "hello"));
	FEED("0\r\nT: v\r\n\r\n0\r\n\r\n", 64, &d);
	T_EQ(d.r, 11);
	T_EQ(d.done, 1);
	{
		struct http1_chunked c;
		char out[8];
		size_t ol = 0;
		int done = 0;
		memset(&c, 0, sizeof(c));
		T_EQ(http1_chunked_feed(&c, "0\r\n\r\nXY", 7, out, &ol, sizeof(out), &done), 5);
		T_EQ(done, 1);
		T_EQ(http1_chunked_feed(&c, "XY", 2, out, &ol, sizeof(out), &done), 0);
		T_EQ(done, 1); /* once done, nothing more is consumed */
	}

	T_CASE("chunked: data over cap refused at the size line (413)");
	FEED("5\r\n", 4, &d);
	T_EQ(d.r, -413);
	FEED("5\r\nhello\r\n0\r\n\r\n", 5, &d); /* exactly cap */
	T_EQ(d.done, 1);
	T_EQ(d.out_len, 5);
	FEED("3\r\nabc\r\n2\r\n", 4, &d); /* the sum passes cap */
	T_EQ(d.r, -413);
	FEED("ffffffff\r\n", 16384, &d);
	T_EQ(d.r, -413);
	FEED("1\r\n", 0, &d);
	T_EQ(d.r, -413);

	T_CASE("chunked: missing CRLF after the data (400)");
	FEED("5\r\nhelloX\r\n0\r\n\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("5\r\nhello\n0\r\n\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("5\r\nhello\rX0\r\n\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("5\r\nhello0\r\n\r\n", 64, &d);
	T_EQ(d.r, -400);

	T_CASE("chunked: size line with a bad byte (400)");
	FEED("5x\r\nhello\r\n0\r\n\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("g\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED(";x\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED(" 5\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("-5\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("+5\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("0x5\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("5\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("5\rX", 64, &d);
	T_EQ(d.r, -400);
	FEED("5;a\nb\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("5;a\x01\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("5;a\x7f\r\n", 64, &d);
	T_EQ(d.r, -400);

	T_CASE("chunked: an extension of 256 bytes accepted, 257 refused (400)");
	{
		char *s = build("1;", 'e', "\r\nx\r\n0\r\n\r\n", 2 + 256 + 10);
		feed_both(s, strlen(s), 64, &d);
		T_EQ(d.done, 1);
		free(s);
		s = build("1;", 'e', "\r\nx\r\n0\r\n\r\n", 2 + 257 + 10);
		feed_both(s, strlen(s), 64, &d);
		T_EQ(d.r, -400);
		free(s);
	}

	T_CASE("chunked: bad trailers (400)");
	FEED("0\r\n X: 1\r\n\r\n", 64, &d); /* obs-fold */
	T_EQ(d.r, -400);
	FEED("0\r\n:x\r\n\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("0\r\nX: a\x01\r\n\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("0\r\nX: a\nb\r\n\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("0\r\nX: a\r\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("0\r\n\rX", 64, &d);
	T_EQ(d.r, -400);
	FEED("0\r\n\n", 64, &d);
	T_EQ(d.r, -400);

	T_CASE("chunked: trailers over 1 KiB in all (400)");
	{
		char *s = build("0\r\nX: ", 't', "\r\n\r\n", 3 + 2000);
		feed_both(s, strlen(s), 64, &d);
		T_EQ(d.r, -400);
		free(s);
		s = build("0\r\nX: ", 't', "\r\n\r\n", 3 + 900);
		feed_both(s, strlen(s), 64, &d);
		T_EQ(d.done, 1);
		free(s);
	}

	T_CASE("chunked: incomplete body waits (all consumed, not done)");
	FEED("5\r\nhel", 64, &d);
	T_EQ(d.r, 6);
	T_EQ(d.done, 0);
	T_OK(out_is(&d, "hel"));
	FEED("5\r\nhello\r\n0\r\n\r", 64, &d);
	T_EQ(d.r, 14);
	T_EQ(d.done, 0);
}

/* ---- http1_eq ------------------------------------------------------------------ */

static void test_eq(void)
{
	T_CASE("eq: case-insensitive");
	T_EQ(http1_eq("Content-Length", 14, "content-length"), 1);
	T_EQ(http1_eq("CONTENT-LENGTH", 14, "content-length"), 1);
	T_EQ(http1_eq("chunked", 7, "CHUNKED"), 1);
	T_EQ(http1_eq("", 0, ""), 1);

	T_CASE("eq: length mismatch, other bytes");
	T_EQ(http1_eq("host", 3, "host"), 0);
	T_EQ(http1_eq("hostx", 5, "host"), 0);
	T_EQ(http1_eq("host", 4, "hos"), 0);
	T_EQ(http1_eq("", 0, "host"), 0);
	T_EQ(http1_eq("hosT", 4, "hosu"), 0);
	T_EQ(http1_eq("[", 1, "{"), 0); /* only letters fold: '[' + 32 is '{' */
	T_EQ(http1_eq("@", 1, "`"), 0);
	T_EQ(http1_eq("h\0st", 4, "h"), 0);
}

/* Rules tightened after the first review of http1.c (each case was
 * accepted before). */
static void test_strict(void)
{
	struct http1_req r;
	struct dec d;

	T_CASE("chunked: only BWS then ';' ext-name may follow a size (RFC 9112 7.1.1)");
	FEED("5 6\r\nhello\r\n0\r\n\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("5 garbage\r\nhello\r\n0\r\n\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("5;\r\nhello\r\n0\r\n\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("5 ; a = \"q\\\"x\" ;b\r\nhello\r\n0\r\n\r\n", 64, &d);
	T_EQ(d.done, 1);
	FEED("5;a=\"open\r\nhello\r\n0\r\n\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("5;a=\r\nhello\r\n0\r\n\r\n", 64, &d);
	T_EQ(d.r, -400);

	T_CASE("chunked: a trailer line is a field (name ':' value)");
	FEED("0\r\nnocolon\r\n\r\n", 64, &d);
	T_EQ(d.r, -400);
	FEED("0\r\nX-T: 1\r\n\r\n", 64, &d);
	T_EQ(d.done, 1);

	T_CASE("chunked: after the end, a call with no bytes still says done");
	{
		struct http1_chunked c;
		char out[8];
		size_t ol = 0;
		int done = 0;

		memset(&c, 0, sizeof(c));
		T_EQ(http1_chunked_feed(&c, "0\r\n\r\n", 5, out, &ol, sizeof(out), &done), 5);
		T_EQ(done, 1);
		T_EQ(http1_chunked_feed(&c, "", 0, out, &ol, sizeof(out), &done), 0);
		T_EQ(done, 1);
	}

	T_CASE("head: Expect: 100-continue from HTTP/1.0 is ignored (RFC 9110 10.1.1)");
	T_OK(parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", &r) > 0);
	T_EQ(r.expect_continue, 0);
	T_OK(parse(GET11 "Expect: 100-continue\r\n\r\n", &r) > 0);
	T_EQ(r.expect_continue, 1);

	T_CASE("head: a Host value no authority can hold -> 400 (RFC 9112 3.2)");
	T_EQ(status("GET / HTTP/1.1\r\nHost: a b/c@d\r\n\r\n"), -400);
	T_EQ(status("GET / HTTP/1.1\r\nHost: x/y\r\n\r\n"), -400);
	T_OK(parse("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", &r) > 0);
	T_OK(parse("GET / HTTP/1.1\r\nHost: relay.example.org:443\r\n\r\n", &r) > 0);
}

int main(void)
{
	test_minimal();
	test_connection();
	test_prefixes();
	test_leading_crlf();
	test_line_endings();
	test_fields();
	test_request_line();
	test_limits();
	test_host();
	test_framing();
	test_pipelined();
	test_chunked();
	test_eq();
	test_strict();
	free(cur);
	return t_done();
}
