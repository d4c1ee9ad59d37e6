/* http1.h: the relay's HTTP/1.1 request framing (RFC 9112), strict.
 *
 * Pure functions over bytes, no I/O, so the fuzzers and unit tests drive
 * exactly what the server runs. What is refused, and why:
 * - request line: METHOD SP origin-form SP HTTP/1.x CRLF; target only
 *   visible ASCII, at most HTTP1_TARGET_MAX bytes (414); another version
 *   HTTP/d.d -> 505; anything else 400;
 * - lines end in CRLF: a bare CR or LF, a NUL or another control byte in a
 *   field, obs-fold (a line starting with SP/HTAB), whitespace between a
 *   field name and its colon, an empty or non-token name -> 400;
 * - the head (request line + fields) is at most HTTP1_HEAD_MAX bytes and
 *   HTTP1_FIELDS_MAX fields (431);
 * - framing (RFC 9112 6.1, 6.3): Content-Length and Transfer-Encoding
 *   together, a repeated Content-Length (even with the same value), a
 *   Content-Length that is not all digits, a repeated Transfer-Encoding or
 *   one other than "chunked", Transfer-Encoding in HTTP/1.0 -> 400/501, and
 *   the server closes the connection after answering, so nothing that
 *   follows on it is ever read as a request;
 * - HTTP/1.1 without exactly one Host field, or a Host value with a byte
 *   no authority can hold -> 400 (RFC 9112 3.2);
 * - Expect: only "100-continue" (417 otherwise), ignored in HTTP/1.0
 *   (RFC 9110 10.1.1);
 * - chunked bodies: chunk extensions must follow RFC 9112 7.1.1
 *   (BWS ";" BWS token [BWS "=" BWS token / quoted-string]), trailer lines
 *   must be fields (name ":" value);
 * - Authorization, Content-Type, Host, X-Forwarded-For and Forwarded may
 *   each appear once (400 otherwise): the relay never has to guess which
 *   copy counts.
 * Up to 4 empty lines before a request line are skipped (RFC 9112 2.2). */
#ifndef RELAY_HTTP1_H
#define RELAY_HTTP1_H

#include <stddef.h>

#define HTTP1_HEAD_MAX	 (32 * 1024)
#define HTTP1_TARGET_MAX 8192
#define HTTP1_FIELDS_MAX 100
#define HTTP1_MORE	 0 /* http1_parse_head: the head is not complete yet */

enum http1_method { HTTP1_OTHER = 0, HTTP1_GET, HTTP1_HEAD, HTTP1_POST };

struct http1_str {
	const char *p; /* into the caller's buffer; not NUL-terminated */
	size_t n;
};

struct http1_req {
	enum http1_method method;
	struct http1_str method_raw, target, path, query; /* query: after '?', may be empty */
	int has_query;
	int minor;	/* HTTP/1.<minor>: 0 or 1 */
	int keep_alive; /* the connection may carry another request */
	int has_clen;
	unsigned long long clen;
	int chunked;
	int expect_continue;
	struct http1_str host, authorization, content_type, xff, forwarded;
	int has_authorization, has_content_type, has_xff, has_forwarded;
	size_t head_len; /* bytes of the head, final CRLF CRLF included */
};

/* Parses the head at the start of buf[0..len). *scan (0 before the first
 * call for a request) remembers how far the bytes were checked, so calling
 * again as more bytes arrive costs only the new ones. Returns HTTP1_MORE
 * when the head is not complete yet (byte-level errors — NUL, bare CR or
 * LF — are refused at once; the grammar of the request line and fields
 * once the empty line arrives, so a bad head costs at most HTTP1_HEAD_MAX
 * bytes and the request deadline), the
 * head's length (> 0) with *out filled, or the negated status to answer:
 * -400, -414, -431, -501, -505, -417. After a negative return the
 * connection must be closed once the answer is sent. */
long http1_parse_head(const char *buf, size_t len, size_t *scan, struct http1_req *out);

/* Decoder of a chunked body (RFC 9112 7.1): chunk sizes of at most 8 hex
 * digits, extensions up to 256 bytes, trailer fields up to 1 KiB in all
 * (read and dropped). Zero-initialise before the first call. */
struct http1_chunked {
	int st;
	unsigned long long left;
	size_t ext, trailer;
	int digits;
	int colon;	  /* the current trailer line had its ':' */
	char extbuf[257]; /* ';' + extensions of a chunk-size line, checked at its CR */
};

/* Consumes in[0..len), appending data to out (out_len bytes used, cap
 * bytes in all). Returns the bytes consumed (all of them until the body
 * ends; fewer when it ended, the rest is the next request) with *done set
 * at the end, -400 when malformed, -413 when the data would pass cap. */
long http1_chunked_feed(struct http1_chunked *c, const char *in, size_t len, char *out,
			size_t *out_len, size_t cap, int *done);

/* Case-insensitive comparison of s[0..n) with a NUL-terminated ASCII word. */
int http1_eq(const char *s, size_t n, const char *word);

#endif
