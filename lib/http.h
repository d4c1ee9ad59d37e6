/* http.h: the one libcurl wrapper. https only (plain http only to a loopback
 * host when allow_insecure_loopback is set, for tests); TLS 1.2+, peer and
 * host name always verified (ca_file, when set, is the whole trust store:
 * it replaces the system CAs for that request); redirects are never
 * followed (a 3xx is ERR_HTTP_REDIRECT, the Location is not requested);
 * connect and total timeouts; the body is capped; proxies only from the
 * config, never from the environment (http_proxy, HTTPS_PROXY, ALL_PROXY
 * are ignored); .netrc ignored. Logs "METHOD scheme://host[:port]/path"
 * (never the query, a header or a body). Call curl_global_init() once in
 * main() before using it. */
#ifndef OP_HTTP_H
#define OP_HTTP_H

#include <stddef.h>

#include "log.h"

struct http_opts {
	long connect_timeout_ms; /* default 5000 when 0 */
	long total_timeout_ms;	 /* default 10000 when 0 */
	size_t max_bytes;	 /* response body cap; default 64 KiB when 0 */
	const char *ca_file;	 /* extra CA bundle, or NULL for the system store */
	const char *proxy;	 /* explicit proxy URL or NULL: no proxy at all */
	int allow_insecure_loopback;
	const struct log *log;
};

struct http_response {
	long status;
	char *body; /* NUL-terminated, len bytes */
	size_t len;
	char content_type[128]; /* "" if none; lower-cased media type only */
	long long date;		/* the Date header as Unix time, 0 if none or bad
				   (`doctor` compares it with the local clock) */
};

/* 0 when url may be fetched: https://host[...], or http://127.0.0.1,
 * http://[::1], http://localhost with allow_insecure_loopback. No userinfo
 * ("user@host"), no fragment. ERR_HTTP_URL otherwise. */
int http_url_allowed(const char *url, int allow_insecure_loopback);

/* GET; bearer (may be NULL) is sent as "Authorization: Bearer ..." (a
 * bearer with control characters or spaces: ERR_INVAL). On success out has
 * any status 1xx..5xx but 3xx (the caller decides), the body and its media
 * type. Errors: ERR_HTTP_URL (policy), ERR_HTTP_CONNECT, ERR_HTTP_TLS,
 * ERR_HTTP_TIMEOUT, ERR_HTTP_TOO_LARGE (over max_bytes), ERR_HTTP_REDIRECT
 * (out->status keeps the 3xx), ERR_HTTP; then out->body is NULL. */
int http_get(const struct http_opts *o, const char *url, const char *bearer,
	     struct http_response *out);

/* POST application/x-www-form-urlencoded body (the caller encodes it, see
 * http_form_encode). basic_user/basic_pass (both or neither) are each
 * form-urlencoded, joined with ':' and base64-encoded into
 * "Authorization: Basic ..." (RFC 6749 §2.3.1, TOK-08). Results as http_get. */
int http_post_form(const struct http_opts *o, const char *url, const char *body,
		   const char *basic_user, const char *basic_pass, struct http_response *out);

/* POST application/json body; bearer (may be NULL) as in http_get. */
int http_post_json(const struct http_opts *o, const char *url, const char *json, const char *bearer,
		   struct http_response *out);

/* Percent-encodes s for a form body or query (unreserved chars kept);
 * malloc'd, NULL on allocation failure. */
char *http_form_encode(const char *s);

/* Frees and wipes the body (it may carry tokens). */
void http_response_cleanup(struct http_response *r);

#endif
