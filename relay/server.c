/* server.c: routes, handlers and responses of the relay; long-polls through
 * MHD_suspend_connection / MHD_resume_connection driven by the store's
 * waiters; a timer thread for deadlines and expiry.
 *
 * Threads: MHD's internal polling thread runs every handler; the timer
 * thread only calls store_tick. Both touch sessions only through the store
 * (one mutex). A long-poll is suspended under the store lock (the waiter's
 * arm callback) before any other thread can see it, and resumed (its wake
 * callback) after the store lets go of it, from whichever thread changed
 * the session: the callback lands -> resume at once, no sleeping. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "html.h"
#include "rand.h"
#include "store.h"
#include "validate.h"

#define CONN_TIMEOUT_S 10
#define CONN_MEMORY_LIMIT (32 * 1024)
#define FORM_BODY_MAX 1024
#define JSON_MAX (16 * 1024)
#define API_CSP "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
#define HTML_TYPE "text/html; charset=utf-8"
#define JSON_TYPE "application/json"

enum route { R_OTHER, R_HEALTHZ, R_REGISTER, R_POLL, R_LINK, R_CALLBACK };
static const char *const route_name[] = { "(other)", "/healthz", "/v1/sessions",
					  "/v1/sessions/:state", "/l/:id", "/callback" };
static const char *const route_allow[] = { "GET, HEAD, POST", "GET, HEAD", "POST",
					   "GET", "GET, HEAD, POST", "GET" };

enum method { M_OTHER, M_GET, M_HEAD, M_POST };

struct server {
	const struct rconf *cf;
	const struct log *lg;
	struct store *st;
	struct MHD_Daemon *d;
	int lfd;
	unsigned short port;
	pthread_t timer;
	int timer_started;
	pthread_mutex_t tmu;
	pthread_cond_t tcv;
	int kicked, stop;
	unsigned held; /* long-polls armed and not yet completed (under tmu) */
};

/* Per request; made by on_uri, freed by on_completed. */
struct req {
	struct server *srv;
	struct MHD_Connection *conn;
	char *uri; /* raw request target, '?' replaced by NUL */
	const char *query;
	size_t query_len;
	const char *tail; /* after "/l/" or "/v1/sessions/" */
	size_t tail_len;
	enum route route;
	enum method method;
	char method_name[12];
	uint64_t start_ms;
	int started;
	char *body;
	size_t body_len, body_max;
	unsigned status;
	char sid[STORE_SID_LEN + 1];
	const char *note; /* static text only */
	struct store_waiter w;
	int waited;
	unsigned char hash[STORE_HASH_LEN];
	int has_hash;
	char state[STORE_STATE_LEN + 1];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- timer thread ---------------------------------------------------------- */

static void timer_kick(struct server *s)
{
	pthread_mutex_lock(&s->tmu);
	s->kicked = 1;
	pthread_cond_signal(&s->tcv);
	pthread_mutex_unlock(&s->tmu);
}

static void *timer_main(void *arg)
{
	struct server *s = arg;

	for (;;) {
		uint64_t now = mono_ms(), next = UINT64_MAX, until;
		struct timespec ts;

		store_tick(s->st, now, &next);
		pthread_mutex_lock(&s->tmu);
		if (s->stop) {
			pthread_mutex_unlock(&s->tmu);
			break;
		}
		if (!s->kicked) {
			/* Sleep until the next deadline or expiry, at most 1 s. */
			until = next < now + 1000 ? next : now + 1000;
			ts.tv_sec = (time_t)(until / 1000);
			ts.tv_nsec = (long)(until % 1000) * 1000000L;
			pthread_cond_timedwait(&s->tcv, &s->tmu, &ts);
		}
		s->kicked = 0;
		pthread_mutex_unlock(&s->tmu);
	}
	return NULL;
}

/* ---- responses ------------------------------------------------------------------ */

static void free_body(void *cls)
{
	char *p = cls;

	OPENSSL_cleanse(p, strlen(p)); /* bodies may carry a code or confirmation code */
	free(p);
}

/* Queues body (owned, NUL-terminated, or NULL for empty) with the security
 * headers every response carries (RLY-09; never any CORS header, RLY-24). */
static enum MHD_Result respond(struct req *rq, unsigned status, const char *ctype, char *body,
			       const char *hname, const char *hvalue)
{
	const struct rconf *cf = rq->srv->cf;
	struct MHD_Response *resp;
	int html = ctype && strncmp(ctype, "text/html", 9) == 0;
	int ok = 1;
	enum MHD_Result ret;

	if (body)
		resp = MHD_create_response_from_buffer_with_free_callback_cls(strlen(body), body,
									      free_body, body);
	else
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		if (body)
			free_body(body);
		return MHD_NO;
	}
	if (ctype)
		ok &= MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) == MHD_YES;
	ok &= MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_YES;
	ok &= MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") == MHD_YES;
	ok &= MHD_add_response_header(resp, "Referrer-Policy", "no-referrer") == MHD_YES;
	ok &= MHD_add_response_header(resp, "X-Frame-Options", "DENY") == MHD_YES;
	ok &= MHD_add_response_header(resp, "Content-Security-Policy",
				      html || !ctype ? cf->csp : API_CSP) == MHD_YES;
	if (cf->https)
		ok &= MHD_add_response_header(resp, "Strict-Transport-Security",
					      "max-age=31536000") == MHD_YES;
	if (hname)
		ok &= MHD_add_response_header(resp, hname, hvalue) == MHD_YES;
	if (!ok) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(rq->conn, status, resp);
	MHD_destroy_response(resp);
	rq->status = status;
	return ret;
}

static enum MHD_Result respond_page(struct req *rq, unsigned status, enum html_kind k)
{
	char *page = NULL;
	size_t len;

	if (html_static(k, &page, &len) != 0)
		return MHD_NO;
	return respond(rq, status, HTML_TYPE, page,
		       status == MHD_HTTP_METHOD_NOT_ALLOWED ? MHD_HTTP_HEADER_ALLOW : NULL,
		       route_allow[rq->route]);
}

/* A tiny JSON writer: string values only ever hold printable ASCII here,
 * but everything below 0x20 and above 0x7e is escaped anyway. */
struct jb {
	char *p;
	size_t len;
	int fail;
};

static void jb_raw(struct jb *b, const char *s)
{
	size_t n = strlen(s);

	if (b->fail || b->len + n + 1 > JSON_MAX) {
		b->fail = 1;
		return;
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

static void jb_str(struct jb *b, const char *s)
{
	char esc[8];

	jb_raw(b, "\"");
	for (; *s && !b->fail; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			esc[2] = '\0';
		} else if (c < 0x20 || c > 0x7e) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
		} else {
			esc[0] = (char)c;
			esc[1] = '\0';
		}
		jb_raw(b, esc);
	}
	jb_raw(b, "\"");
}

static void jb_kv(struct jb *b, const char *k, const char *v)
{
	jb_raw(b, b->len > 1 ? "," : "");
	jb_str(b, k);
	jb_raw(b, ":");
	jb_str(b, v);
}

static int jb_open(struct jb *b)
{
	memset(b, 0, sizeof(*b));
	if (!(b->p = malloc(JSON_MAX)))
		return -1;
	b->p[0] = '\0';
	jb_raw(b, "{");
	return 0;
}

static enum MHD_Result jb_send(struct req *rq, struct jb *b, unsigned status, const char *hname,
			       const char *hvalue)
{
	jb_raw(b, "}\n");
	if (b->fail) {
		OPENSSL_cleanse(b->p, JSON_MAX);
		free(b->p);
		return MHD_NO;
	}
	return respond(rq, status, JSON_TYPE, b->p, hname, hvalue);
}

static enum MHD_Result respond_json_error(struct req *rq, unsigned status, const char *msg)
{
	struct jb b;

	if (jb_open(&b) != 0)
		return MHD_NO;
	jb_kv(&b, "error", msg);
	if (status == MHD_HTTP_UNAUTHORIZED)
		return jb_send(rq, &b, status, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		return jb_send(rq, &b, status, MHD_HTTP_HEADER_ALLOW, route_allow[rq->route]);
	return jb_send(rq, &b, status, NULL, NULL);
}

/* ---- POST /v1/sessions ------------------------------------------------------------ */

static int registration_authorized(struct req *rq)
{
	const struct rconf *cf = rq->srv->cf;
	unsigned char h[SHA256_DIGEST_LENGTH];
	const char *tok = "";
	size_t tl = 0;
	int ok, diff;

	if (!cf->has_reg_secret)
		return 1;
	ok = bearer_parse(MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_AUTHORIZATION),
			  &tok, &tl) == 0;
	SHA256((const unsigned char *)tok, tl, h);
	diff = CRYPTO_memcmp(h, cf->reg_secret_hash, sizeof(h));
	OPENSSL_cleanse(h, sizeof(h));
	return ok && diff == 0;
}

static enum MHD_Result do_register(struct req *rq)
{
	struct server *s = rq->srv;
	struct store_new n;
	struct reg rg;
	const char *why = "invalid request";
	char link[1200], ttl[16];
	uint64_t now = mono_ms();
	struct jb b;
	enum MHD_Result ret;
	int r;

	memset(&n, 0, sizeof(n));
	r = reg_parse(rq->body ? rq->body : "", rq->body_len, s->cf, &rg, &why);
	if (r == ERR_NOMEM)
		return respond_json_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
	if (r != 0) {
		rq->note = why;
		return respond_json_error(rq, MHD_HTTP_BAD_REQUEST, why);
	}
	memcpy(n.state, rg.state, sizeof(n.state));
	memcpy(n.poll_hash, rg.poll_hash, sizeof(n.poll_hash));
	n.auth_url = rg.auth_url;
	n.ctx = rg.ctx;
	memcpy(n.confirm, rg.confirm, sizeof(n.confirm));
	n.expires_ms = now + (uint64_t)rg.ttl * 1000u;
	for (int tries = 0; tries < 4; tries++) {
		if ((r = rand_token(n.id, sizeof(n.id), 12)) != 0 ||
		    (r = rand_token(n.csrf, sizeof(n.csrf), 32)) != 0)
			break;
		if ((r = store_register(s->st, &n, now)) != ERR_RELAY_DUP_ID)
			break;
	}
	switch (r) {
	case ERR_OK:
		break;
	case ERR_RELAY_DUP:
		ret = respond_json_error(rq, MHD_HTTP_CONFLICT, "state already registered");
		goto out;
	case ERR_RELAY_FULL:
		ret = respond_json_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE, "too many pending logins");
		goto out;
	default:
		ret = respond_json_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
		goto out;
	}
	timer_kick(s); /* the new session may be the next to expire */
	store_sid(n.id, rq->sid);
	snprintf(link, sizeof(link), "%s/l/%s", s->cf->base_url, n.id);
	snprintf(ttl, sizeof(ttl), "%u", rg.ttl);
	if (jb_open(&b) != 0) {
		ret = MHD_NO;
		goto out;
	}
	jb_kv(&b, "id", n.id);
	jb_kv(&b, "link", link);
	jb_raw(&b, ",\"expires_in\":");
	jb_raw(&b, ttl);
	ret = jb_send(rq, &b, MHD_HTTP_CREATED, NULL, NULL);
out:
	OPENSSL_cleanse(&n, sizeof(n));
	reg_cleanup(&rg);
	return ret;
}

/* ---- GET /v1/sessions/<state> ------------------------------------------------------ */

static void waiter_arm(struct store_waiter *w)
{
	struct req *rq = w->arg;

	MHD_suspend_connection(rq->conn);
}

static void waiter_wake(struct store_waiter *w)
{
	struct req *rq = w->arg;

	MHD_resume_connection(rq->conn);
}

static enum MHD_Result poll_answer(struct req *rq, struct store_result *res)
{
	struct jb b;

	memcpy(rq->sid, res->sid, sizeof(rq->sid));
	rq->note = store_status_name(res->status);
	if (jb_open(&b) != 0)
		return MHD_NO;
	jb_kv(&b, "status", store_status_name(res->status));
	if (res->status == STORE_CODE) {
		jb_kv(&b, "code", res->code ? res->code : "");
		if (res->iss)
			jb_kv(&b, "iss", res->iss);
	} else if (res->status == STORE_ERROR) {
		jb_kv(&b, "error", res->error ? res->error : "");
		if (res->error_description)
			jb_kv(&b, "error_description", res->error_description);
	}
	return jb_send(rq, &b, MHD_HTTP_OK, NULL, NULL);
}

static enum MHD_Result poll_not_found(struct req *rq)
{
	rq->note = "not found";
	return respond_json_error(rq, MHD_HTTP_NOT_FOUND, "not found");
}

static enum MHD_Result do_poll(struct req *rq)
{
	struct server *s = rq->srv;
	struct store_result res;
	const char *tok;
	size_t tl;
	unsigned wait;
	uint64_t now = mono_ms();
	enum MHD_Result ret;
	int r;

	if (rq->waited) {
		/* Resumed: the store already let go of the waiter. */
		if (rq->w.why == STORE_WAKE_EXPIRED) {
			memset(&res, 0, sizeof(res));
			res.status = STORE_EXPIRED;
			return poll_answer(rq, &res);
		}
		r = store_poll(s->st, rq->state, rq->has_hash ? rq->hash : NULL, now, NULL, &res);
	} else {
		if (pollq_parse(rq->query ? rq->query : "", rq->query_len, &wait) != 0)
			return respond_json_error(rq, MHD_HTTP_BAD_REQUEST,
						  "query must be empty or wait=N");
		if (bearer_parse(MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_AUTHORIZATION),
				 &tok, &tl) == 0) {
			SHA256((const unsigned char *)tok, tl, rq->hash);
			rq->has_hash = 1;
		}
		if (rq->tail_len == STORE_STATE_LEN)
			memcpy(rq->state, rq->tail, STORE_STATE_LEN + 1);
		rq->w.arm = waiter_arm;
		rq->w.wake = waiter_wake;
		rq->w.arg = rq;
		rq->w.deadline_ms = now + (uint64_t)wait * 1000u;
		r = store_poll(s->st, rq->state, rq->has_hash ? rq->hash : NULL, now,
			       wait ? &rq->w : NULL, &res);
		if (r == STORE_WAITING) {
			rq->waited = 1;
			pthread_mutex_lock(&s->tmu);
			s->held++;
			s->kicked = 1; /* the timer must see the new deadline */
			pthread_cond_signal(&s->tcv);
			pthread_mutex_unlock(&s->tmu);
			return MHD_YES;
		}
	}
	if (r == ERR_RELAY_NOT_FOUND)
		return poll_not_found(rq);
	if (r != ERR_OK)
		return respond_json_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
	ret = poll_answer(rq, &res);
	store_result_cleanup(&res);
	return ret;
}

/* ---- /l/<id> -------------------------------------------------------------------------- */

static int valid_id(const struct req *rq)
{
	if (rq->tail_len != STORE_ID_LEN)
		return 0;
	for (size_t i = 0; i < STORE_ID_LEN; i++) {
		char c = rq->tail[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static enum MHD_Result do_link_get(struct req *rq)
{
	struct server *s = rq->srv;
	struct store_link l;
	char action[1200], *page = NULL;
	size_t len;
	uint64_t now = mono_ms();
	int r;

	if (!valid_id(rq) || store_link_view(s->st, rq->tail, now, &l) != 0)
		return respond_page(rq, MHD_HTTP_NOT_FOUND, HTML_NOT_FOUND);
	memcpy(rq->sid, l.sid, sizeof(rq->sid));
	if (l.status != STORE_PENDING || l.continues_left == 0) {
		rq->note = "gone";
		OPENSSL_cleanse(&l, sizeof(l));
		return respond_page(rq, MHD_HTTP_GONE, HTML_GONE);
	}
	snprintf(action, sizeof(action), "%s/l/%s", s->cf->base_url, rq->tail);
	r = html_context_page(&l, action, now, &page, &len);
	OPENSSL_cleanse(&l, sizeof(l));
	if (r != 0)
		return respond_page(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, HTML_INTERNAL);
	return respond(rq, MHD_HTTP_OK, HTML_TYPE, page, NULL, NULL);
}

static enum MHD_Result do_link_post(struct req *rq)
{
	struct server *s = rq->srv;
	enum link_action act;
	char csrf[STORE_CSRF_LEN + 1], *url = NULL;
	uint64_t now = mono_ms();
	enum MHD_Result ret;
	int r;

	if (!valid_id(rq))
		return respond_page(rq, MHD_HTTP_NOT_FOUND, HTML_NOT_FOUND);
	if (linkform_parse(rq->body ? rq->body : "", rq->body_len, &act, csrf) != 0)
		return respond_page(rq, MHD_HTTP_BAD_REQUEST, HTML_BAD_REQUEST);
	if (act == LINK_DENY) {
		r = store_link_deny(s->st, rq->tail, csrf, now, rq->sid);
		OPENSSL_cleanse(csrf, sizeof(csrf));
		rq->note = "deny";
		if (r == ERR_OK)
			return respond_page(rq, MHD_HTTP_OK, HTML_DENIED);
	} else {
		r = store_link_continue(s->st, rq->tail, csrf, now, &url, rq->sid);
		OPENSSL_cleanse(csrf, sizeof(csrf));
		rq->note = "continue";
		if (r == ERR_OK) {
			/* 302 to the registered URL, byte for byte (RLY-03). */
			ret = respond(rq, MHD_HTTP_FOUND, HTML_TYPE, NULL, MHD_HTTP_HEADER_LOCATION,
				      url);
			free(url);
			return ret;
		}
	}
	switch (r) {
	case ERR_RELAY_CSRF:
		rq->note = "bad csrf";
		return respond_page(rq, MHD_HTTP_FORBIDDEN, HTML_FORBIDDEN);
	case ERR_RELAY_GONE:
		return respond_page(rq, MHD_HTTP_GONE, HTML_GONE);
	case ERR_RELAY_NOT_FOUND:
		return respond_page(rq, MHD_HTTP_NOT_FOUND, HTML_NOT_FOUND);
	default:
		return respond_page(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, HTML_INTERNAL);
	}
}

/* ---- GET /callback ---------------------------------------------------------------------- */

static enum MHD_Result do_callback(struct req *rq)
{
	struct server *s = rq->srv;
	struct store_callback cb;
	char confirm[STORE_CONFIRM_MAX + 1], *page = NULL;
	size_t len;
	struct cbq q;
	enum MHD_Result ret;
	int r;

	if (!rq->query || cbq_parse(rq->query, rq->query_len, &q) != 0) {
		rq->note = "malformed";
		return respond_page(rq, MHD_HTTP_BAD_REQUEST, HTML_BAD_REQUEST);
	}
	cb.code = q.code;
	cb.iss = q.iss;
	cb.error = q.error;
	cb.error_description = q.error_description;
	r = store_callback(s->st, q.state, &cb, mono_ms(), confirm, rq->sid);
	cbq_cleanup(&q);
	switch (r) {
	case ERR_OK:
		rq->note = cb.code ? "first code" : "first error";
		if (cb.code && confirm[0]) {
			/* The confirmation code, once, in this response only (XD-06/07). */
			r = html_confirm_page(confirm, &page, &len);
			OPENSSL_cleanse(confirm, sizeof(confirm));
			if (r != 0)
				return respond_page(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, HTML_INTERNAL);
			ret = respond(rq, MHD_HTTP_OK, HTML_TYPE, page, NULL, NULL);
			return ret;
		}
		return respond_page(rq, MHD_HTTP_OK, cb.code ? HTML_CB_DONE : HTML_CB_ERROR);
	case ERR_RELAY_USED:
		rq->note = "already used";
		return respond_page(rq, MHD_HTTP_CONFLICT, HTML_CB_USED);
	case ERR_RELAY_NOT_FOUND:
		rq->note = "unknown";
		return respond_page(rq, MHD_HTTP_NOT_FOUND, HTML_NOT_FOUND);
	default:
		return respond_page(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, HTML_INTERNAL);
	}
}

/* ---- MHD callbacks --------------------------------------------------------------------- */

static enum method method_of(const char *m)
{
	if (strcmp(m, MHD_HTTP_METHOD_GET) == 0)
		return M_GET;
	if (strcmp(m, MHD_HTTP_METHOD_HEAD) == 0)
		return M_HEAD;
	if (strcmp(m, MHD_HTTP_METHOD_POST) == 0)
		return M_POST;
	return M_OTHER;
}

static int content_length(struct req *rq, unsigned long long *out)
{
	const char *v = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long n = 0;

	if (!v)
		return 0;
	for (; *v; v++) {
		if (*v < '0' || *v > '9' || n > (1ULL << 40))
			return -1;
		n = n * 10 + (unsigned)(*v - '0');
	}
	*out = n;
	return 1;
}

/* Method, authentication, type and size checks made before any body is
 * read; returns MHD_YES with nothing queued to go on. */
static enum MHD_Result first_call(struct req *rq)
{
	unsigned long long clen = 0;
	const char *ctype;
	int api = rq->route == R_REGISTER || rq->route == R_POLL;

	if (rq->method == M_OTHER)
		return api ? respond_json_error(rq, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed")
			   : respond_page(rq, MHD_HTTP_METHOD_NOT_ALLOWED, HTML_METHOD);
	switch (rq->route) {
	case R_HEALTHZ:
		if (rq->method == M_POST)
			return respond_page(rq, MHD_HTTP_METHOD_NOT_ALLOWED, HTML_METHOD);
		break;
	case R_REGISTER:
		if (rq->method != M_POST)
			return respond_json_error(rq, MHD_HTTP_METHOD_NOT_ALLOWED,
						  "method not allowed");
		if (!registration_authorized(rq)) {
			rq->note = "unauthorized";
			return respond_json_error(rq, MHD_HTTP_UNAUTHORIZED, "unauthorized");
		}
		ctype = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_CONTENT_TYPE);
		if (!ctype_is(ctype, "application/json"))
			return respond_json_error(rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
						  "Content-Type must be application/json");
		if (content_length(rq, &clen) < 0 || clen > REG_BODY_MAX)
			return respond_json_error(rq, MHD_HTTP_CONTENT_TOO_LARGE,
						  "body larger than 16 KiB");
		rq->body_max = REG_BODY_MAX;
		break;
	case R_POLL:
		if (rq->method != M_GET)
			return respond_json_error(rq, MHD_HTTP_METHOD_NOT_ALLOWED,
						  "method not allowed");
		break;
	case R_LINK:
		if (rq->method != M_POST)
			break;
		ctype = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_CONTENT_TYPE);
		if (!ctype_is(ctype, "application/x-www-form-urlencoded"))
			return respond_page(rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, HTML_MEDIA);
		if (content_length(rq, &clen) < 0 || clen > FORM_BODY_MAX)
			return respond_page(rq, MHD_HTTP_CONTENT_TOO_LARGE, HTML_TOO_LARGE);
		rq->body_max = FORM_BODY_MAX;
		break;
	case R_CALLBACK:
		/* GET only: HEAD must not be able to use up a code (RLY-14). */
		if (rq->method != M_GET)
			return respond_page(rq, MHD_HTTP_METHOD_NOT_ALLOWED, HTML_METHOD);
		break;
	case R_OTHER:
		break;
	}
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)url;
	(void)version;
	if (!rq)
		return MHD_NO;
	if (!rq->started) {
		size_t i;
		rq->started = 1;
		rq->conn = conn;
		rq->method = method_of(method);
		for (i = 0; method[i] && i + 1 < sizeof(rq->method_name); i++)
			rq->method_name[i] = (method[i] >= 'A' && method[i] <= 'Z') ? method[i] : '?';
		rq->method_name[i] = '\0';
		return first_call(rq);
	}
	if (*upload_size) {
		/* Over the cap (chunked bodies have no Content-Length) or a body
		 * where none belongs: close the connection. */
		if (*upload_size > rq->body_max - rq->body_len)
			return MHD_NO;
		if (!rq->body && !(rq->body = malloc(rq->body_max + 1)))
			return MHD_NO;
		memcpy(rq->body + rq->body_len, upload, *upload_size);
		rq->body_len += *upload_size;
		rq->body[rq->body_len] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}
	switch (rq->route) {
	case R_HEALTHZ: {
		char *ok = strdup("ok\n");
		if (!ok)
			return MHD_NO;
		return respond(rq, MHD_HTTP_OK, "text/plain; charset=utf-8", ok, NULL, NULL);
	}
	case R_REGISTER:
		return do_register(rq);
	case R_POLL:
		return do_poll(rq);
	case R_LINK:
		return rq->method == M_POST ? do_link_post(rq) : do_link_get(rq);
	case R_CALLBACK:
		return do_callback(rq);
	case R_OTHER:
		break;
	}
	return respond_page(rq, MHD_HTTP_NOT_FOUND, HTML_NOT_FOUND);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct req *rq = calloc(1, sizeof(*rq));
	char *q;

	if (!rq)
		return NULL;
	rq->srv = cls;
	rq->conn = conn;
	rq->start_ms = mono_ms();
	if (!(rq->uri = strdup(uri ? uri : ""))) {
		free(rq);
		return NULL;
	}
	if ((q = strchr(rq->uri, '?'))) {
		*q++ = '\0';
		rq->query = q;
		rq->query_len = strlen(q);
	}
	if (strcmp(rq->uri, "/healthz") == 0) {
		rq->route = R_HEALTHZ;
	} else if (strcmp(rq->uri, "/v1/sessions") == 0) {
		rq->route = R_REGISTER;
	} else if (strncmp(rq->uri, "/v1/sessions/", 13) == 0) {
		rq->route = R_POLL;
		rq->tail = rq->uri + 13;
	} else if (strncmp(rq->uri, "/l/", 3) == 0) {
		rq->route = R_LINK;
		rq->tail = rq->uri + 3;
	} else if (strcmp(rq->uri, "/callback") == 0) {
		rq->route = R_CALLBACK;
	}
	if (rq->tail)
		rq->tail_len = strlen(rq->tail);
	return rq;
}

static void client_ip(struct MHD_Connection *conn, char *out, size_t outlen)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, outlen, "-");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  (socklen_t)outlen);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  out, (socklen_t)outlen);
}

/* One line per request (RLY-26): route names, never the path's id/state,
 * never the query, never a header; the session as a hash of its id. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct server *s = cls;
	struct req *rq = *con_cls;
	char ip[INET6_ADDRSTRLEN + 1];

	if (!rq)
		return;
	*con_cls = NULL;
	if (rq->waited) {
		store_cancel(s->st, &rq->w);
		pthread_mutex_lock(&s->tmu);
		s->held--;
		pthread_cond_broadcast(&s->tcv);
		pthread_mutex_unlock(&s->tmu);
	}
	client_ip(conn, ip, sizeof(ip));
	log_msg(s->lg, LOG_INFO, "%s %s %s %u %llums%s%s%s%s%s%s", ip,
		rq->method_name[0] ? rq->method_name : "-", route_name[rq->route], rq->status,
		(unsigned long long)(mono_ms() - rq->start_ms), rq->sid[0] ? " sid=" : "",
		rq->sid, rq->note ? " (" : "", rq->note ? rq->note : "",
		rq->note ? ")" : "",
		toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " [connection closed early]");
	if (rq->body) {
		OPENSSL_cleanse(rq->body, rq->body_len);
		free(rq->body);
	}
	OPENSSL_cleanse(rq->hash, sizeof(rq->hash));
	OPENSSL_cleanse(rq->state, sizeof(rq->state));
	OPENSSL_cleanse(rq->uri, strlen(rq->uri));
	if (rq->query)
		OPENSSL_cleanse((char *)rq->query, rq->query_len);
	free(rq->uri);
	free(rq);
}

/* libmicrohttpd's own messages can name the request path ("... request for
 * `/l/<id>'"): blank every run of 16+ base64url characters. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct server *s = cls;
	char msg[512];
	size_t run = 0, n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	for (size_t i = 0; i <= n; i++) {
		char c = msg[i];
		int tok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  c == '-' || c == '_';
		if (tok) {
			run++;
			continue;
		}
		if (run >= 16)
			memset(msg + i - run, '*', run);
		run = 0;
	}
	log_msg(s->lg, LOG_WARNING, "libmicrohttpd: %s", msg);
}

/* ---- start / stop ---------------------------------------------------------------------- */

static int open_listener(struct server *s)
{
	const struct rconf *cf = s->cf;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd, one = 1;

	fd = socket(cf->listen_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_msg(s->lg, LOG_ERR, "socket: %s", strerror(errno));
		return ERR_IO;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (cf->listen_addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&cf->listen_addr, cf->listen_len) != 0 ||
	    listen(fd, 128) != 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		log_msg(s->lg, LOG_ERR, "cannot listen on %s: %s", cf->listen, strerror(errno));
		close(fd);
		return ERR_IO;
	}
	s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	s->lfd = fd;
	return ERR_OK;
}

/* Room for the connection limit within RLIMIT_NOFILE. */
static unsigned connection_limit(const struct server *s)
{
	unsigned want = s->cf->max_connections;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return want;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)want + 64) {
		rlim_t hard = rl.rlim_max;
		rl.rlim_cur = (hard == RLIM_INFINITY || hard > (rlim_t)want + 64) ? (rlim_t)want + 64
										  : hard;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)want + 64) {
		unsigned fit = rl.rlim_cur > 96 ? (unsigned)rl.rlim_cur - 64 : 32;
		log_msg(s->lg, LOG_WARNING, "max_connections lowered to %u (RLIMIT_NOFILE)", fit);
		return fit;
	}
	return want;
}

int server_start(const struct rconf *cf, const struct log *lg, struct server **out)
{
	struct server *s;
	pthread_condattr_t ca;
	int r;

	if (!(s = calloc(1, sizeof(*s))))
		return ERR_NOMEM;
	s->cf = cf;
	s->lg = lg;
	s->lfd = -1;
	pthread_mutex_init(&s->tmu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->tcv, &ca);
	pthread_condattr_destroy(&ca);
	if ((r = store_new(cf->max_sessions, &s->st)) != 0)
		goto fail;
	if ((r = open_listener(s)) != 0)
		goto fail;
	r = ERR_INTERNAL;
	s->d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME |
			MHD_USE_ERROR_LOG,
		0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
		MHD_OPTION_LISTEN_SOCKET, s->lfd,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
		MHD_OPTION_CONNECTION_LIMIT, connection_limit(s),
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, cf->max_connections_per_ip,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY_LIMIT,
		MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
	if (!s->d) {
		log_msg(lg, LOG_ERR, "cannot start the HTTP daemon");
		goto fail;
	}
	if (pthread_create(&s->timer, NULL, timer_main, s) != 0) {
		log_msg(lg, LOG_ERR, "cannot start the timer thread");
		goto fail;
	}
	s->timer_started = 1;
	*out = s;
	return ERR_OK;
fail:
	server_stop(s);
	return r;
}

unsigned short server_port(const struct server *s)
{
	return s->port;
}

void server_stop(struct server *s)
{
	int fd = -1;

	if (!s)
		return;
	if (s->d)
		fd = MHD_quiesce_daemon(s->d); /* no new connections */
	if (s->timer_started) {
		pthread_mutex_lock(&s->tmu);
		s->stop = 1;
		pthread_cond_signal(&s->tcv);
		pthread_mutex_unlock(&s->tmu);
		pthread_join(s->timer, NULL);
	}
	if (s->st)
		store_shutdown(s->st); /* every held poll answers; none can start */
	if (s->d) {
		/* Let the resumed polls send their answer (at most 3 s). */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 3;
		pthread_mutex_lock(&s->tmu);
		while (s->held > 0 && pthread_cond_timedwait(&s->tcv, &s->tmu, &ts) == 0)
			;
		pthread_mutex_unlock(&s->tmu);
		MHD_stop_daemon(s->d);
	}
	if (fd >= 0)
		close(fd);
	else if (!s->d && s->lfd >= 0)
		close(s->lfd);
	store_free(s->st);
	pthread_cond_destroy(&s->tcv);
	pthread_mutex_destroy(&s->tmu);
	free(s);
}
