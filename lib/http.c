/* http.c: the one libcurl wrapper (see http.h for the policy). */
#include "http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "secret.h"
#include "url.h"

#define HTTP_URL_MAX		2048
#define HTTP_DEFAULT_CONNECT_MS 5000L
#define HTTP_DEFAULT_TOTAL_MS	10000L
#define HTTP_DEFAULT_MAX_BYTES	(64 * 1024)
#define HTTP_USER_AGENT		"pam-oauth2-pkce"

/* ---- URL policy ---------------------------------------------------------- */

static int url_part_present(CURLU *h, CURLUPart part)
{
	char *v = NULL;
	CURLUcode rc = curl_url_get(h, part, &v, 0);
	int present = rc == CURLUE_OK && v != NULL;

	curl_free(v);
	return present;
}

/* Checks url and, on success, hands out the parsed handle (the transfer uses
 * exactly this parse, not a second one) and whether it is plain http. */
static int url_check(const char *url, int allow_insecure_loopback, CURLU **out, int *is_http)
{
	CURLU *h = NULL;
	char *scheme = NULL, *host = NULL;
	const char *p, *auth;
	size_t len, auth_len;
	int http = 0, r = ERR_HTTP_URL;

	if (!url)
		return ERR_INVAL;
	len = strlen(url);
	if (len == 0 || len > HTTP_URL_MAX)
		return ERR_HTTP_URL;
	/* printable ASCII only: no spaces, controls, non-ASCII, backslashes;
	 * no fragment at all (not even an empty one) */
	for (p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '\\' ||
		    *p == '#')
			return ERR_HTTP_URL;
	/* curl is lenient ("https:/host", "https:///host"): insist on "//" and
	 * a non-empty authority ourselves */
	if (strncasecmp(url, "https://", 8) == 0) {
		auth = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		auth = url + 7;
		http = 1;
	} else {
		return ERR_HTTP_URL;
	}
	auth_len = strcspn(auth, "/?");
	if (auth_len == 0 || memchr(auth, '@', auth_len))
		return ERR_HTTP_URL;

	if (!(h = curl_url()))
		return ERR_NOMEM;
	if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || !scheme || !host || !*host)
		goto out;
	if (url_part_present(h, CURLUPART_USER) || url_part_present(h, CURLUPART_PASSWORD) ||
	    url_part_present(h, CURLUPART_OPTIONS) || url_part_present(h, CURLUPART_FRAGMENT))
		goto out;
	if (strcmp(scheme, http ? "http" : "https") != 0)
		goto out;
	if (http && !(allow_insecure_loopback && url_is_loopback_host(host, strlen(host))))
		goto out;
	r = ERR_OK;
out:
	curl_free(scheme);
	curl_free(host);
	if (r == ERR_OK && out) {
		*out = h;
		if (is_http)
			*is_http = http;
	} else {
		curl_url_cleanup(h);
	}
	return r;
}

int http_url_allowed(const char *url, int allow_insecure_loopback)
{
	return url_check(url, allow_insecure_loopback, NULL, NULL);
}

/* Path segments of 16 or more base64url characters look like a secret (the
 * relay's /v1/sessions/<state>): they are logged as "*". */
static void mask_path(char *path)
{
	char *seg = path, *end;

	while (seg && *seg) {
		size_t n;
		if (*seg == '/') {
			seg++;
			continue;
		}
		end = strchr(seg, '/');
		n = end ? (size_t)(end - seg) : strlen(seg);
		if (n >= 16 && strspn(seg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					   "0123456789-_") >= n) {
			seg[0] = '*';
			memmove(seg + 1, seg + n, strlen(seg + n) + 1);
			n = 1;
		}
		seg += n;
	}
}

/* "scheme://host[:port]/path" without query, secret-looking path segments
 * masked: what may appear in logs. */
static void url_for_log(CURLU *h, char *out, size_t outlen)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;

	curl_url_get(h, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(h, CURLUPART_HOST, &host, 0);
	curl_url_get(h, CURLUPART_PORT, &port, 0);
	curl_url_get(h, CURLUPART_PATH, &path, 0);
	if (path)
		mask_path(path);
	snprintf(out, outlen, "%s://%s%s%s%s", scheme ? scheme : "?", host ? host : "?",
		 port ? ":" : "", port ? port : "", path ? path : "");
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
}

/* ---- encoding ------------------------------------------------------------ */

char *http_form_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n, i, o = 0;
	char *out;

	if (!s)
		return NULL;
	n = strlen(s);
	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	if (!(out = malloc(n * 3 + 1)))
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

/* "Authorization: Basic base64(form(user) ":" form(pass))" (RFC 6749
 * §2.3.1: the form-encoding comes first, so a ':' in the secret survives). */
static int basic_header(const char *user, const char *pass, char **out)
{
	static const char prefix[] = "Authorization: Basic ";
	char *u = NULL, *p = NULL, *joined = NULL, *hdr = NULL;
	size_t ulen, plen, jlen, blen;
	int r = ERR_NOMEM;

	if (!(u = http_form_encode(user)) || !(p = http_form_encode(pass)))
		goto out;
	ulen = strlen(u);
	plen = strlen(p);
	jlen = ulen + 1 + plen;
	if (jlen > 16 * 1024) {
		r = ERR_INVAL;
		goto out;
	}
	if (!(joined = malloc(jlen + 1)))
		goto out;
	memcpy(joined, u, ulen);
	joined[ulen] = ':';
	memcpy(joined + ulen + 1, p, plen + 1);
	blen = 4 * ((jlen + 2) / 3);
	if (!(hdr = malloc(sizeof(prefix) + blen + 1)))
		goto out;
	memcpy(hdr, prefix, sizeof(prefix) - 1);
	if (EVP_EncodeBlock((unsigned char *)hdr + sizeof(prefix) - 1, (unsigned char *)joined,
			    (int)jlen) != (int)blen) {
		r = ERR_INTERNAL;
		goto out;
	}
	*out = hdr;
	hdr = NULL;
	r = ERR_OK;
out:
	secret_str_free(u);
	secret_str_free(p);
	secret_str_free(joined);
	secret_str_free(hdr);
	return r;
}

/* ---- transfer ------------------------------------------------------------ */

/* The body into a capped buffer (lib/buf.c: grows without leaving a copy of
 * a token behind). Returning less than n aborts the transfer:
 * CURLE_WRITE_ERROR. */
static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct buf *b = userdata;
	size_t n = size * nmemb;

	return buf_add(b, ptr, n) == ERR_OK ? n : 0;
}

static int map_curl_error(CURLcode cc, const struct buf *b)
{
	switch (cc) {
	case CURLE_OK:
		return ERR_OK;
	case CURLE_WRITE_ERROR:
		if (b->err == ERR_TOO_LARGE)
			return ERR_HTTP_TOO_LARGE;
		return b->err == ERR_NOMEM ? ERR_NOMEM : ERR_HTTP;
	case CURLE_FILESIZE_EXCEEDED:
		return ERR_HTTP_TOO_LARGE;
	case CURLE_OUT_OF_MEMORY:
		return ERR_NOMEM;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return ERR_HTTP_URL;
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return ERR_HTTP_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return ERR_HTTP_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
		return ERR_HTTP_TLS;
	default:
		return ERR_HTTP;
	}
}

/* Lower-cased media type without parameters; "" when absent, unusable or
 * too long (a caller then refuses it as "not JSON"). */
static void set_content_type(const char *ct, char *out, size_t outlen)
{
	size_t i = 0, n;

	out[0] = '\0';
	if (!ct)
		return;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t");
	if (n == 0 || n >= outlen)
		return;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)ct[i];
		if (c <= 0x20 || c >= 0x7f) {
			out[0] = '\0';
			return;
		}
		out[i] = (char)tolower(c);
	}
	out[n] = '\0';
}

/* The Date header (RFC 9110 5.6.7) as Unix time; 0 when absent or unparsable. */
static long long response_date(CURL *c)
{
	struct curl_header *hd = NULL;
	time_t t;

	if (curl_easy_header(c, "Date", 0, CURLH_HEADER, -1, &hd) != CURLHE_OK || !hd || !hd->value)
		return 0;
	t = curl_getdate(hd->value, NULL);
	return t > 0 ? (long long)t : 0;
}

static void wipe_slist(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		if (p->data)
			OPENSSL_cleanse(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

#define SETOPT(opt, val)                                                                           \
	do {                                                                                       \
		if (curl_easy_setopt(c, (opt), (val)) != CURLE_OK) {                               \
			log_msg(o->log, LOG_ERR, "http: setting curl option %s failed", #opt);     \
			r = ERR_HTTP;                                                              \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

static int add_header(struct curl_slist **l, const char *h)
{
	struct curl_slist *n = curl_slist_append(*l, h);

	if (!n)
		return ERR_NOMEM;
	*l = n;
	return ERR_OK;
}

/* Timeouts and the body cap of one request, defaults filled in. */
struct req_limits {
	long conn_ms, total_ms;
	size_t max;
};

static void request_limits(const struct http_opts *o, struct req_limits *l)
{
	l->conn_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : HTTP_DEFAULT_CONNECT_MS;
	l->total_ms = o->total_timeout_ms > 0 ? o->total_timeout_ms : HTTP_DEFAULT_TOTAL_MS;
	if (l->conn_ms > l->total_ms)
		l->conn_ms = l->total_ms;
	l->max = o->max_bytes > 0 ? o->max_bytes : HTTP_DEFAULT_MAX_BYTES;
}

static int request_headers(struct curl_slist **hdrs, const char *post_body, const char *post_type,
			   const char *auth_header)
{
	if (add_header(hdrs, "Accept: application/json") != 0 || add_header(hdrs, "Expect:") != 0)
		return ERR_NOMEM;
	if (post_body && add_header(hdrs, post_type) != 0)
		return ERR_NOMEM;
	if (auth_header && add_header(hdrs, auth_header) != 0)
		return ERR_NOMEM;
	return ERR_OK;
}

/* The connection: https only (http too for an allowed loopback URL), no
 * redirects, TLS 1.2+ verified, the configured CA and proxy only, timeouts. */
static int setopt_transport(CURL *c, const struct http_opts *o, CURLU *h, int is_http, char *errbuf,
			    const struct req_limits *l)
{
	int r;

	SETOPT(CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(CURLOPT_CURLU, h);
	SETOPT(CURLOPT_PROTOCOLS_STR, is_http ? "http,https" : "https");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, is_http ? "http,https" : "https");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_MAXREDIRS, 0L);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (o->ca_file) {
		/* the private CA replaces the system store, it does not add to it */
		SETOPT(CURLOPT_CAINFO, o->ca_file);
		SETOPT(CURLOPT_CAPATH, (char *)NULL);
	}
	/* "" disables proxies, including http_proxy/HTTPS_PROXY/ALL_PROXY from
	 * the environment (TOK-09) */
	SETOPT(CURLOPT_PROXY, o->proxy ? o->proxy : "");
	SETOPT(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, l->conn_ms);
	SETOPT(CURLOPT_TIMEOUT_MS, l->total_ms);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	return ERR_OK;
out:
	return r;
}

/* The request: headers, GET or POST body, the response body into b
 * (capped at l->max). */
static int setopt_request(CURL *c, const struct http_opts *o, struct curl_slist *hdrs,
			  struct buf *b, const char *post_body, const struct req_limits *l)
{
	int r;

	SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)l->max);
	SETOPT(CURLOPT_USERAGENT, HTTP_USER_AGENT);
	SETOPT(CURLOPT_HTTPHEADER, hdrs);
	SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(CURLOPT_WRITEDATA, b);
	if (post_body) {
		SETOPT(CURLOPT_POST, 1L);
		SETOPT(CURLOPT_POSTFIELDS, post_body);
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(post_body));
	} else {
		SETOPT(CURLOPT_HTTPGET, 1L);
	}
	return ERR_OK;
out:
	return r;
}

/* After the transfer: a transport error, a redirect or a bad status is
 * refused (and logged); otherwise the body, its type and Date go to out. */
static int request_result(const struct http_opts *o, CURL *c, CURLcode cc, struct buf *b,
			  const char *errbuf, const char *method, const char *logurl,
			  struct http_response *out)
{
	const char *ct = NULL;
	long status = 0;
	int r;

	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		status = 0;
	out->status = status;
	if (cc != CURLE_OK) {
		r = map_curl_error(cc, b);
		log_msg(o->log, LOG_ERR, "http: %s %s failed: %s", method, logurl,
			r == ERR_HTTP_TOO_LARGE ? "response body over the size cap"
			: errbuf[0]		? errbuf
						: curl_easy_strerror(cc));
		return r;
	}
	if (status >= 300 && status < 400) {
		log_msg(o->log, LOG_ERR, "http: %s %s answered %ld: redirect not followed", method,
			logurl, status);
		return ERR_HTTP_REDIRECT;
	}
	if (status < 100 || status > 599) {
		log_msg(o->log, LOG_ERR, "http: %s %s: bad status %ld", method, logurl, status);
		return ERR_HTTP_STATUS;
	}
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) != CURLE_OK)
		ct = NULL;
	set_content_type(ct, out->content_type, sizeof(out->content_type));
	out->date = response_date(c);
	if ((r = buf_take(b, &out->body, &out->len)) != 0)
		return r;
	log_msg(o->log, LOG_DEBUG, "http: %s %s: %ld, %zu bytes, %s", method, logurl, status,
		out->len, out->content_type[0] ? out->content_type : "no content type");
	return ERR_OK;
}

/* One request. post_body NULL means GET; post_type is its Content-Type
 * header line. auth_header (may be NULL) is a complete "Authorization: ..."
 * line. */
static int request(const struct http_opts *o, const char *url, const char *post_body,
		   const char *post_type, const char *auth_header, struct http_response *out)
{
	struct buf b;
	struct req_limits lim;
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", logurl[256];
	const char *method = post_body ? "POST" : "GET";
	CURLU *h = NULL;
	CURL *c = NULL;
	int is_http = 0, r = ERR_INTERNAL;

	if (!o || !url || !out)
		return ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if ((r = url_check(url, o->allow_insecure_loopback, &h, &is_http)) != 0) {
		log_msg(o->log, LOG_ERR, "http: %s refused: URL not allowed (https only)", method);
		return r;
	}
	url_for_log(h, logurl, sizeof(logurl));
	request_limits(o, &lim);
	buf_init(&b, lim.max + 1 < 4096 ? lim.max + 1 : 4096, lim.max + 1); /* + the NUL */

	if (!(c = curl_easy_init())) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = request_headers(&hdrs, post_body, post_type, auth_header)) != 0 ||
	    (r = setopt_transport(c, o, h, is_http, errbuf, &lim)) != 0 ||
	    (r = setopt_request(c, o, hdrs, &b, post_body, &lim)) != 0)
		goto out;

	log_msg(o->log, LOG_DEBUG, "http: %s %s", method, logurl);
	r = request_result(o, c, curl_easy_perform(c), &b, errbuf, method, logurl, out);
out:
	buf_cleanup(&b);
	if (c)
		curl_easy_cleanup(c);
	wipe_slist(hdrs);
	curl_url_cleanup(h);
	if (r != ERR_OK) {
		out->body = NULL;
		out->len = 0;
		out->content_type[0] = '\0';
		out->date = 0;
	}
	return r;
}

/* "Authorization: Bearer <bearer>" (malloc'd) or NULL for no bearer. */
static int bearer_header(const char *bearer, char **out)
{
	static const char prefix[] = "Authorization: Bearer ";
	size_t n;

	*out = NULL;
	if (!bearer)
		return ERR_OK;
	for (const char *p = bearer; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return ERR_INVAL; /* no header injection */
	n = strlen(bearer);
	if (!(*out = malloc(sizeof(prefix) + n)))
		return ERR_NOMEM;
	memcpy(*out, prefix, sizeof(prefix) - 1);
	memcpy(*out + sizeof(prefix) - 1, bearer, n + 1);
	return ERR_OK;
}

int http_get(const struct http_opts *o, const char *url, const char *bearer,
	     struct http_response *out)
{
	char *hdr = NULL;
	int r;

	if (!o || !url || !out)
		return ERR_INVAL;
	if ((r = bearer_header(bearer, &hdr)) != 0)
		return r;
	r = request(o, url, NULL, NULL, hdr, out);
	secret_str_free(hdr);
	return r;
}

int http_post_json(const struct http_opts *o, const char *url, const char *json, const char *bearer,
		   struct http_response *out)
{
	char *hdr = NULL;
	int r;

	if (!o || !url || !json || !out)
		return ERR_INVAL;
	if ((r = bearer_header(bearer, &hdr)) != 0)
		return r;
	r = request(o, url, json, "Content-Type: application/json", hdr, out);
	secret_str_free(hdr);
	return r;
}

int http_post_form(const struct http_opts *o, const char *url, const char *body,
		   const char *basic_user, const char *basic_pass, struct http_response *out)
{
	char *hdr = NULL;
	int r;

	if (!o || !url || !body || !out || (!basic_user != !basic_pass))
		return ERR_INVAL;
	if (basic_user && (r = basic_header(basic_user, basic_pass, &hdr)) != 0)
		return r;
	r = request(o, url, body, "Content-Type: application/x-www-form-urlencoded", hdr, out);
	secret_str_free(hdr);
	return r;
}

void http_response_cleanup(struct http_response *r)
{
	if (!r)
		return;
	secret_free(r->body, r->len);
	r->body = NULL;
	r->len = 0;
	r->status = 0;
	r->content_type[0] = '\0';
	r->date = 0;
}
