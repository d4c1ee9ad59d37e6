/* server.c: the relay's HTTP/1.1 server: one worker thread per core, each
 * with its own epoll instance and its own SO_REUSEPORT listening socket,
 * so the kernel spreads connections and no lock is taken per request
 * outside the store. Requests are framed by http1.c (strict) and routed to
 * the handlers below.
 *
 * What the design guarantees (each measured by bench/relay.sh and
 * tests/relay/abuse.sh; relay/PROTOCOL.md "The HTTP core"):
 * - a request must be complete within REQ_TIMEOUT_MS of the connection
 *   becoming ready for it, however slowly it trickles (RLY-22); an answer
 *   must be taken within the same time; one FIFO list per worker, since
 *   every deadline is now + the same constant;
 * - a held long-poll is a parked connection watched only for EPOLLRDHUP:
 *   a client that goes away frees its slot at once;
 * - a held poll is woken in O(1): the store calls its waiter's wake from
 *   whichever thread changed the session; wake pushes the connection on
 *   its worker's queue and pokes that worker's eventfd;
 * - epoll_wait returns whatever is ready, however many: nothing waits for
 *   a timeout because a batch came back full;
 * - ambiguous framing is answered 400 and the connection closed, so no
 *   byte after it is read as a request.
 * Store housekeeping (expiry, poll deadlines) runs in whichever worker
 * wakes first after store_next_due(). */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "b64url.h"
#include "buf.h"
#include "err.h"
#include "forwarded.h"
#include "html.h"
#include "http1.h"
#include "logline.h"
#include "rand.h"
#include "secret.h"
#include "store.h"
#include "validate.h"

#define REQ_TIMEOUT_MS 10000 /* whole request (head + body), and taking the answer */
#define STOP_GRACE_MS  3000  /* on SIGTERM: time for held polls to get their answer */
#define IN_INIT	       2048
#define IN_MAX	       (HTTP1_HEAD_MAX + REG_BODY_MAX + 1024)
#define FORM_BODY_MAX  1024
#define JSON_MAX       (16 * 1024)
#define MAX_EVENTS     256
#define MAX_WORKERS    64
#define IP_BUCKETS     4096
#define API_CSP	       "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
#define HTML_TYPE      "text/html; charset=utf-8"
#define JSON_TYPE      "application/json"
#define TEXT_TYPE      "text/plain; charset=utf-8"

enum route { R_OTHER, R_HEALTHZ, R_REGISTER, R_POLL, R_LINK, R_CALLBACK, R_METRICS, R_COUNT };
static const char *const route_name[] = { "(other)",	  "/healthz",
					  "/v1/sessions", "/v1/sessions/:state",
					  "/l/:id",	  "/callback",
					  "/metrics" };
static const char *const route_allow[] = { "GET, HEAD, POST", "GET, HEAD", "POST",     "GET",
					   "GET, HEAD, POST", "GET",	   "GET, HEAD" };

/* The answers /metrics counts by route and status (anything else: "other"). */
static const unsigned status_codes[] = { 200, 201, 302, 400, 401, 403, 404, 405, 408, 409,
					 410, 413, 414, 415, 417, 431, 500, 501, 503, 505 };
#define N_STATUS (sizeof(status_codes) / sizeof(status_codes[0]) + 1)

/* Refusals that no route/status pair tells apart. */
enum refusal {
	REF_TIMEOUT,	/* request not complete within REQ_TIMEOUT_MS (RLY-22) */
	REF_FRAMING,	/* malformed or ambiguous framing: answered and closed */
	REF_CONN_LIMIT, /* max_connections reached at accept */
	REF_IP_LIMIT,	/* max_connections_per_ip reached at accept */
	REF_LEFT,	/* the client closed a held long-poll */
	REF_COUNT
};
static const char *const refusal_name[] = { "request_timeout", "framing", "max_connections",
					    "max_connections_per_ip", "held_poll_client_left" };

/* Time from a callback landing to its code being handed out (seconds). */
static const double hist_bounds[] = { 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30 };
#define N_HIST (sizeof(hist_bounds) / sizeof(hist_bounds[0]) + 1)

enum cstate {
	C_READ,	 /* waiting for (the rest of) a request head */
	C_BODY,	 /* reading a body */
	C_HELD,	 /* a long-poll parked in the store */
	C_WRITE, /* sending an answer */
};

struct worker;

/* One request on a connection; reset for the next one. */
struct req {
	struct http1_req h;
	enum route route;
	const char *tail; /* after "/l/" or "/v1/sessions/", NUL-terminated */
	size_t tail_len;
	const char *query; /* NUL-terminated; NULL when the target had no '?' */
	size_t query_len;
	const char *auth, *ctype; /* field values, NUL-terminated, or NULL */
	char method_name[12];
	char client[INET6_ADDRSTRLEN + 1]; /* behind a trusted proxy: the real client */
	unsigned char client_ip[16];
	int client_counted; /* client_ip holds a max_connections_per_ip slot */
	uint64_t start_ms;
	size_t body_max;
	char *body; /* chunked bodies only; otherwise points into the input */
	size_t body_len;
	int body_owned;
	struct http1_chunked ck;
	unsigned status;
	char sid[STORE_SID_LEN + 1];
	const char *note; /* static text only */
	struct store_waiter w;
	int waited;
	unsigned char hash[STORE_HASH_LEN];
	int has_hash;
	char state[STORE_STATE_LEN + 1];
};

struct conn {
	int fd;
	struct worker *wk;
	enum cstate st;
	uint32_t events; /* registered with epoll */
	struct buf in;	 /* lib/buf.c: capped at IN_MAX, never realloc'd */
	size_t scan;
	char *out;
	size_t out_len, out_off;
	int out_secret; /* wipe out before freeing it */
	int close_after;
	uint64_t deadline;
	struct conn *t_prev, *t_next; /* the worker's deadline list */
	int on_timer;
	struct conn *a_prev, *a_next; /* all of the worker's connections */
	/* cross-thread wake: set by the store's wake(), under wk->wq_mu */
	struct conn *wq_next;
	int gone; /* the client left while its poll's wake was in flight */
	unsigned char ip[16];
	int family;
	int metrics; /* accepted on the metrics listener */
	int trusted; /* the peer is a trusted proxy */
	struct sockaddr_storage peer;
	char ipstr[INET6_ADDRSTRLEN + 1];
	struct req rq;
};

struct worker {
	struct server *srv;
	pthread_t th;
	int started;
	int ep, lfd, efd;
	struct conn *t_head, *t_tail;
	struct conn *all;
	pthread_mutex_t wq_mu;
	struct conn *wq; /* woken polls, pushed by any thread */
	size_t nconns;
	char date[64];
	time_t date_sec;
	int mfd; /* worker 0: the /metrics listener, or -1 */
	char logbuf[LOGLINE_BATCH];
	size_t log_len;
	time_t log_sec;
	char log_ts[32];
	/* written by this worker only, read by a /metrics scrape */
	_Atomic uint64_t answers[R_COUNT][N_STATUS];
	_Atomic uint64_t refusals[REF_COUNT];
	_Atomic uint64_t accepted;
	_Atomic uint64_t hist[N_HIST];
	_Atomic uint64_t hist_sum_us;
};

struct ip_entry {
	struct ip_entry *next;
	unsigned char ip[16];
	unsigned n;
};

struct page {
	char *p;
	size_t len;
};

struct server {
	const struct rconf *cf;
	const struct log *lg;
	struct store *st;
	unsigned short port, metrics_port;
	unsigned nworkers;
	struct worker *wk;
	atomic_int stopping;
	atomic_uint nconns;
	unsigned max_conns;
	pthread_mutex_t ip_mu;
	struct ip_entry *ip_tab[IP_BUCKETS];
	unsigned char ip_key[16];
	struct page pages[HTML_UNAVAILABLE + 1];
	char hdr_html[1024], hdr_api[512]; /* the security headers, prebuilt */
};

static void count(_Atomic uint64_t *ctr)
{
	atomic_fetch_add_explicit(ctr, 1, memory_order_relaxed);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- per-address connection counts ------------------------------------------- */

static size_t ip_bucket(const struct server *s, const unsigned char ip[16])
{
	uint64_t h = 1469598103934665603ULL;

	for (int i = 0; i < 16; i++)
		h = (h ^ (ip[i] ^ s->ip_key[i])) * 1099511628211ULL;
	return (size_t)(h % IP_BUCKETS);
}

/* 0: counted; -1: over max_connections_per_ip (or out of memory). */
static int ip_acquire(struct server *s, const unsigned char ip[16])
{
	struct ip_entry **pp, *e;
	int r = -1;

	if (s->cf->max_connections_per_ip == 0)
		return 0;
	pthread_mutex_lock(&s->ip_mu);
	for (pp = &s->ip_tab[ip_bucket(s, ip)]; (e = *pp); pp = &e->next)
		if (memcmp(e->ip, ip, 16) == 0)
			break;
	if (!e && (e = calloc(1, sizeof(*e)))) {
		memcpy(e->ip, ip, 16);
		*pp = e;
	}
	if (e && e->n < s->cf->max_connections_per_ip) {
		e->n++;
		r = 0;
	}
	pthread_mutex_unlock(&s->ip_mu);
	return r;
}

static void ip_release(struct server *s, const unsigned char ip[16])
{
	struct ip_entry **pp, *e;

	if (s->cf->max_connections_per_ip == 0)
		return;
	pthread_mutex_lock(&s->ip_mu);
	for (pp = &s->ip_tab[ip_bucket(s, ip)]; (e = *pp); pp = &e->next) {
		if (memcmp(e->ip, ip, 16) == 0) {
			if (--e->n == 0) {
				*pp = e->next;
				free(e);
			}
			break;
		}
	}
	pthread_mutex_unlock(&s->ip_mu);
}

/* ---- connections, deadlines ------------------------------------------------------ */

static void timer_unlink(struct conn *c)
{
	struct worker *wk = c->wk;

	if (!c->on_timer)
		return;
	if (c->t_prev)
		c->t_prev->t_next = c->t_next;
	else
		wk->t_head = c->t_next;
	if (c->t_next)
		c->t_next->t_prev = c->t_prev;
	else
		wk->t_tail = c->t_prev;
	c->t_prev = c->t_next = NULL;
	c->on_timer = 0;
}

/* Every deadline is now + REQ_TIMEOUT_MS: appending keeps the list sorted. */
static void timer_arm(struct conn *c, uint64_t now)
{
	struct worker *wk = c->wk;

	timer_unlink(c);
	c->deadline = now + REQ_TIMEOUT_MS;
	c->t_prev = wk->t_tail;
	if (wk->t_tail)
		wk->t_tail->t_next = c;
	else
		wk->t_head = c;
	wk->t_tail = c;
	c->on_timer = 1;
}

static void set_events(struct conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	if (c->events == ev)
		return;
	if (epoll_ctl(c->wk->ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

static void req_reset(struct conn *c)
{
	struct req *rq = &c->rq;

	if (rq->client_counted)
		ip_release(c->wk->srv, rq->client_ip);
	if (rq->body_owned)
		secret_free(rq->body, rq->body_len);
	OPENSSL_cleanse(rq, sizeof(*rq));
}

static void out_free(struct conn *c)
{
	if (c->out) {
		if (c->out_secret)
			OPENSSL_cleanse(c->out, c->out_len);
		free(c->out);
	}
	c->out = NULL;
	c->out_len = c->out_off = 0;
	c->out_secret = 0;
}

static void conn_free(struct conn *c)
{
	struct server *s = c->wk->srv;

	timer_unlink(c);
	if (c->fd >= 0) {
		epoll_ctl(c->wk->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		if (!c->trusted)
			ip_release(s, c->ip);
		atomic_fetch_sub(&s->nconns, 1);
		c->wk->nconns--;
	}
	if (c->a_prev)
		c->a_prev->a_next = c->a_next;
	else
		c->wk->all = c->a_next;
	if (c->a_next)
		c->a_next->a_prev = c->a_prev;
	req_reset(c);
	out_free(c);
	buf_cleanup(&c->in);
	free(c);
}

static void log_request(struct conn *c, const char *extra);
static void sockaddr_ip(const struct sockaddr_storage *ss, unsigned char ip[16], int *family,
			char *str, size_t strlen_);

/* Closes c. A held poll whose wake is already in flight stays allocated
 * (gone) until the wake reaches this worker. */
static void conn_close(struct conn *c)
{
	struct server *s = c->wk->srv;

	if (c->st == C_HELD && c->rq.waited) {
		if (!store_cancel(s->st, &c->rq.w)) {
			/* the wake is on its way: keep c until it lands */
			timer_unlink(c);
			epoll_ctl(c->wk->ep, EPOLL_CTL_DEL, c->fd, NULL);
			close(c->fd);
			c->fd = -1;
			if (!c->trusted)
				ip_release(s, c->ip);
			atomic_fetch_sub(&s->nconns, 1);
			c->wk->nconns--;
			c->gone = 1;
			count(&c->wk->refusals[REF_LEFT]);
			log_request(c, " [client left]");
			return;
		}
		count(&c->wk->refusals[REF_LEFT]);
		log_request(c, " [client left]");
	}
	conn_free(c);
}

/* ---- responses -------------------------------------------------------------------- */

static const char *reason(unsigned st)
{
	switch (st) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 302:
		return "Found";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 417:
		return "Expectation Failed";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	}
	return "Unknown";
}

static const char *http_date(struct worker *wk)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != wk->date_sec && gmtime_r(&ts.tv_sec, &tm)) {
		strftime(wk->date, sizeof(wk->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		wk->date_sec = ts.tv_sec;
	}
	return wk->date;
}

/* Queues status + the security headers every answer carries (RLY-09; never
 * a CORS header, RLY-24) + body (copied; secret: wiped after sending).
 * HEAD gets the headers only. 0, or -1 when out of memory (then close). */
static int respond(struct conn *c, unsigned status, const char *ctype, const char *body,
		   size_t blen, int secret, const char *hname, const char *hvalue)
{
	struct server *s = c->wk->srv;
	struct req *rq = &c->rq;
	int html = !ctype || strncmp(ctype, "text/html", 9) == 0;
	const char *sec = html ? s->hdr_html : s->hdr_api;
	char head[2048];
	int n;
	size_t send_body = rq->h.method == HTTP1_HEAD ? 0 : blen;

	if (!rq->h.keep_alive || atomic_load(&s->stopping))
		c->close_after = 1;
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %u %s\r\nDate: %s\r\n%s%s%sContent-Length: %zu\r\n%s%s%s%s%s",
		     status, reason(status), http_date(c->wk), ctype ? "Content-Type: " : "",
		     ctype ? ctype : "", ctype ? "\r\n" : "", blen,
		     c->close_after ? "Connection: close\r\n"
				    : (rq->h.minor == 0 ? "Connection: keep-alive\r\n" : ""),
		     sec, hname ? hname : "", hname ? ": " : "", hname ? hvalue : "");
	if (n < 0 || (size_t)n >= sizeof(head) - 2)
		return -1;
	if (hname) {
		memcpy(head + n, "\r\n", 3);
		n += 2;
	}
	memcpy(head + n, "\r\n", 3);
	n += 2;
	out_free(c);
	if (!(c->out = malloc((size_t)n + send_body)))
		return -1;
	memcpy(c->out, head, (size_t)n);
	if (send_body)
		memcpy(c->out + n, body, send_body);
	c->out_len = (size_t)n + send_body;
	c->out_off = 0;
	c->out_secret = secret;
	rq->status = status;
	c->st = C_WRITE;
	return 0;
}

static int respond_page(struct conn *c, unsigned status, enum html_kind k)
{
	const struct page *pg = &c->wk->srv->pages[k];

	return respond(c, status, HTML_TYPE, pg->p, pg->len, 0, status == 405 ? "Allow" : NULL,
		       route_allow[c->rq.route]);
}

/* Takes ownership of body (malloc'd, wiped and freed here). */
static int respond_owned(struct conn *c, unsigned status, const char *ctype, char *body, size_t len,
			 const char *hname, const char *hvalue)
{
	int r = respond(c, status, ctype, body, len, 1, hname, hvalue);

	secret_free(body, len);
	return r;
}

/* A tiny JSON writer: string values only ever hold printable ASCII here,
 * but everything below 0x20 and above 0x7e is escaped anyway. */
struct jb {
	char p[JSON_MAX];
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

static void jb_open(struct jb *b)
{
	b->len = 0;
	b->fail = 0;
	b->p[0] = '\0';
	jb_raw(b, "{");
}

static int jb_send(struct conn *c, struct jb *b, unsigned status, const char *hname,
		   const char *hvalue)
{
	int r;

	jb_raw(b, "}\n");
	r = b->fail ? -1 : respond(c, status, JSON_TYPE, b->p, b->len, 1, hname, hvalue);
	OPENSSL_cleanse(b->p, b->len);
	return r;
}

static int respond_json_error(struct conn *c, unsigned status, const char *msg)
{
	struct jb b;

	jb_open(&b);
	jb_kv(&b, "error", msg);
	if (status == 401)
		return jb_send(c, &b, status, "WWW-Authenticate", "Bearer");
	if (status == 405)
		return jb_send(c, &b, status, "Allow", route_allow[c->rq.route]);
	return jb_send(c, &b, status, NULL, NULL);
}

/* ---- POST /v1/sessions ------------------------------------------------------------ */

static int registration_authorized(struct conn *c)
{
	const char *tok = NULL;
	size_t tl = 0;

	if (bearer_parse(c->rq.auth, &tok, &tl) != 0) {
		tok = NULL;
		tl = 0;
	}
	return rconf_reg_authorized(c->wk->srv->cf, tok, tl);
}

static int do_register(struct conn *c)
{
	struct server *s = c->wk->srv;
	struct req *rq = &c->rq;
	struct store_new n;
	struct reg rg;
	const char *why = "invalid request";
	char link[1200], ttl[16];
	uint64_t now = mono_ms();
	unsigned char rnd[44];
	struct jb b;
	int r, ret;

	memset(&n, 0, sizeof(n));
	r = reg_parse(rq->body ? rq->body : "", rq->body_len, s->cf, &rg, &why);
	if (r == ERR_NOMEM)
		return respond_json_error(c, 500, "internal error");
	if (r != 0) {
		rq->note = why;
		return respond_json_error(c, 400, why);
	}
	memcpy(n.state, rg.state, sizeof(n.state));
	memcpy(n.poll_hash, rg.poll_hash, sizeof(n.poll_hash));
	n.auth_url = rg.auth_url;
	n.ctx = rg.ctx;
	memcpy(n.confirm, rg.confirm, sizeof(n.confirm));
	n.expires_ms = now + (uint64_t)rg.ttl * 1000u;
	for (int tries = 0; tries < 4; tries++) {
		/* one getrandom for both (a system call is the dearest part) */
		if ((r = rand_bytes(rnd, sizeof(rnd))) != 0 ||
		    (r = b64url_encode(rnd, 12, n.id, sizeof(n.id))) != 0 ||
		    (r = b64url_encode(rnd + 12, 32, n.csrf, sizeof(n.csrf))) != 0)
			break;
		if ((r = store_register(s->st, &n, now)) != ERR_RELAY_DUP_ID)
			break;
	}
	switch (r) {
	case ERR_OK:
		break;
	case ERR_RELAY_DUP:
		ret = respond_json_error(c, 409, "state already registered");
		goto out;
	case ERR_RELAY_FULL:
		ret = respond_json_error(c, 503, "too many pending logins");
		goto out;
	case ERR_IO: /* the store (Redis) cannot be reached: try again later */
		rq->note = "store unavailable";
		ret = respond_json_error(c, 503, "store unavailable");
		goto out;
	default:
		ret = respond_json_error(c, 500, "internal error");
		goto out;
	}
	hash_sid(n.id, rq->sid);
	snprintf(link, sizeof(link), "%s/l/%s", s->cf->base_url, n.id);
	snprintf(ttl, sizeof(ttl), "%u", rg.ttl);
	jb_open(&b);
	jb_kv(&b, "id", n.id);
	jb_kv(&b, "link", link);
	jb_raw(&b, ",\"expires_in\":");
	jb_raw(&b, ttl);
	ret = jb_send(c, &b, 201, NULL, NULL);
out:
	OPENSSL_cleanse(rnd, sizeof(rnd));
	OPENSSL_cleanse(&n, sizeof(n));
	OPENSSL_cleanse(link, sizeof(link));
	reg_cleanup(&rg);
	return ret;
}

/* ---- GET /v1/sessions/<state> ------------------------------------------------------ */

/* Runs under the store lock: the connection is parked before anyone can
 * wake it. Only watch for the client going away. */
static void waiter_arm(struct store_waiter *w)
{
	struct conn *c = w->arg;

	c->st = C_HELD;
}

/* Any thread, without the store lock, once: hand c to its worker. */
static void waiter_wake(struct store_waiter *w)
{
	struct conn *c = w->arg;
	struct worker *wk = c->wk;
	uint64_t one = 1;
	int poke;

	pthread_mutex_lock(&wk->wq_mu);
	poke = wk->wq == NULL;
	c->wq_next = wk->wq;
	wk->wq = c;
	pthread_mutex_unlock(&wk->wq_mu);
	if (poke && write(wk->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_msg(wk->srv->lg, LOG_ERR, "eventfd: %s", strerror(errno));
}

static int poll_answer(struct conn *c, struct store_result *res)
{
	struct req *rq = &c->rq;
	struct jb b;

	memcpy(rq->sid, res->sid, sizeof(rq->sid));
	rq->note = store_status_name(res->status);
	if (res->status == STORE_CODE && res->landed_ms) {
		uint64_t now = mono_ms(), ms = now > res->landed_ms ? now - res->landed_ms : 0;
		size_t k = 0;
		while (k < N_HIST - 1 && (double)ms / 1000.0 > hist_bounds[k])
			k++;
		count(&c->wk->hist[k]);
		atomic_fetch_add_explicit(&c->wk->hist_sum_us, ms * 1000, memory_order_relaxed);
	}
	jb_open(&b);
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
	return jb_send(c, &b, 200, NULL, NULL);
}

static int do_poll(struct conn *c)
{
	struct server *s = c->wk->srv;
	struct req *rq = &c->rq;
	struct store_result res;
	const char *tok;
	size_t tl;
	unsigned wait;
	uint64_t now = mono_ms();
	int r, ret;

	if (rq->waited) {
		/* Woken: the store already let go of the waiter. */
		if (rq->w.why == STORE_WAKE_EXPIRED) {
			memset(&res, 0, sizeof(res));
			res.status = STORE_EXPIRED;
			return poll_answer(c, &res);
		}
		r = store_poll(s->st, rq->state, rq->has_hash ? rq->hash : NULL, now, NULL, &res);
	} else {
		if (pollq_parse(rq->query ? rq->query : "", rq->query_len, &wait) != 0)
			return respond_json_error(c, 400, "query must be empty or wait=N");
		if (bearer_parse(rq->auth, &tok, &tl) == 0) {
			SHA256((const unsigned char *)tok, tl, rq->hash);
			rq->has_hash = 1;
		}
		if (rq->tail_len == STORE_STATE_LEN)
			memcpy(rq->state, rq->tail, STORE_STATE_LEN + 1);
		rq->w.arm = waiter_arm;
		rq->w.wake = waiter_wake;
		rq->w.arg = c;
		rq->w.deadline_ms = now + (uint64_t)wait * 1000u;
		if (atomic_load(&s->stopping))
			wait = 0;
		r = store_poll(s->st, rq->state, rq->has_hash ? rq->hash : NULL, now,
			       wait ? &rq->w : NULL, &res);
		if (r == STORE_WAITING) {
			rq->waited = 1;
			return 0; /* parked by waiter_arm */
		}
	}
	if (r == ERR_RELAY_NOT_FOUND) {
		rq->note = "not found";
		return respond_json_error(c, 404, "not found");
	}
	if (r == ERR_IO) {
		rq->note = "store unavailable";
		return respond_json_error(c, 503, "store unavailable");
	}
	if (r != ERR_OK)
		return respond_json_error(c, 500, "internal error");
	ret = poll_answer(c, &res);
	store_result_cleanup(&res);
	return ret;
}

/* ---- /l/<id> -------------------------------------------------------------------------- */

static int valid_id(const struct req *rq)
{
	if (rq->tail_len != STORE_ID_LEN)
		return 0;
	for (size_t i = 0; i < STORE_ID_LEN; i++) {
		char ch = rq->tail[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return 0;
	}
	return 1;
}

/* The pages every store call shares: unknown (404), store unreachable (503), else 500. */
static int store_error_page(struct conn *c, int r)
{
	switch (r) {
	case ERR_RELAY_NOT_FOUND:
		return respond_page(c, 404, HTML_NOT_FOUND);
	case ERR_IO:
		c->rq.note = "store unavailable";
		return respond_page(c, 503, HTML_UNAVAILABLE);
	default:
		return respond_page(c, 500, HTML_INTERNAL);
	}
}

static int do_link_get(struct conn *c)
{
	struct server *s = c->wk->srv;
	struct req *rq = &c->rq;
	struct store_link l;
	char action[1200], *page = NULL;
	size_t len;
	uint64_t now = mono_ms();
	int r;

	if (!valid_id(rq))
		return respond_page(c, 404, HTML_NOT_FOUND);
	if ((r = store_link_view(s->st, rq->tail, now, &l)) != 0)
		return store_error_page(c, r == ERR_IO ? r : ERR_RELAY_NOT_FOUND);
	memcpy(rq->sid, l.sid, sizeof(rq->sid));
	if (l.status != STORE_PENDING || l.continues_left == 0) {
		rq->note = "gone";
		OPENSSL_cleanse(&l, sizeof(l));
		return respond_page(c, 410, HTML_GONE);
	}
	snprintf(action, sizeof(action), "%s/l/%s", s->cf->base_url, rq->tail);
	r = html_context_page(&l, action, now, &page, &len);
	OPENSSL_cleanse(&l, sizeof(l));
	if (r != 0)
		return respond_page(c, 500, HTML_INTERNAL);
	return respond_owned(c, 200, HTML_TYPE, page, len, NULL, NULL);
}

static int do_link_post(struct conn *c)
{
	struct server *s = c->wk->srv;
	struct req *rq = &c->rq;
	enum link_action act;
	char csrf[STORE_CSRF_LEN + 1], *url = NULL;
	uint64_t now = mono_ms();
	int r, ret;

	if (!valid_id(rq))
		return respond_page(c, 404, HTML_NOT_FOUND);
	if (linkform_parse(rq->body ? rq->body : "", rq->body_len, &act, csrf) != 0)
		return respond_page(c, 400, HTML_BAD_REQUEST);
	if (act == LINK_DENY) {
		r = store_link_deny(s->st, rq->tail, csrf, now, rq->sid);
		OPENSSL_cleanse(csrf, sizeof(csrf));
		rq->note = "deny";
		if (r == ERR_OK)
			return respond_page(c, 200, HTML_DENIED);
	} else {
		r = store_link_continue(s->st, rq->tail, csrf, now, &url, rq->sid);
		OPENSSL_cleanse(csrf, sizeof(csrf));
		rq->note = "continue";
		if (r == ERR_OK) {
			/* 302 to the registered URL, byte for byte (RLY-03). */
			ret = respond(c, 302, HTML_TYPE, "", 0, 0, "Location", url);
			free(url);
			return ret;
		}
	}
	switch (r) {
	case ERR_RELAY_CSRF:
		rq->note = "bad csrf";
		return respond_page(c, 403, HTML_FORBIDDEN);
	case ERR_RELAY_GONE:
		return respond_page(c, 410, HTML_GONE);
	default:
		return store_error_page(c, r);
	}
}

/* ---- GET /callback ---------------------------------------------------------------------- */

static int do_callback(struct conn *c)
{
	struct server *s = c->wk->srv;
	struct req *rq = &c->rq;
	struct store_callback cb;
	char confirm[STORE_CONFIRM_MAX + 1], *page = NULL;
	size_t len;
	struct cbq q;
	int r;

	if (!rq->query || cbq_parse(rq->query, rq->query_len, &q) != 0) {
		rq->note = "malformed";
		return respond_page(c, 400, HTML_BAD_REQUEST);
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
				return respond_page(c, 500, HTML_INTERNAL);
			return respond_owned(c, 200, HTML_TYPE, page, len, NULL, NULL);
		}
		return respond_page(c, 200, cb.code ? HTML_CB_DONE : HTML_CB_ERROR);
	case ERR_RELAY_USED:
		rq->note = "already used";
		return respond_page(c, 409, HTML_CB_USED);
	case ERR_RELAY_NOT_FOUND:
		rq->note = "unknown";
		return respond_page(c, 404, HTML_NOT_FOUND);
	default:
		return store_error_page(c, r);
	}
}

/* ---- request life cycle ----------------------------------------------------------------- */

/* One line per request (RLY-26): route names, never the path's id/state,
 * never the query, never a header; the session as a hash of its id. */
static void log_flush(struct worker *wk)
{
	if (wk->log_len)
		logline_write(2, wk->logbuf, wk->log_len);
	wk->log_len = 0;
}

static void log_request(struct conn *c, const char *extra)
{
	struct worker *wk = c->wk;
	struct req *rq = &c->rq;
	char raw[512], clean[512], line[600];
	size_t k = 0;

	while (k < N_STATUS - 1 && status_codes[k] != rq->status)
		k++;
	count(&c->wk->answers[rq->route][k]);
	snprintf(raw, sizeof(raw), "%s %s %s %u %llums%s%s%s%s%s%s",
		 rq->client[0] ? rq->client : c->ipstr, rq->method_name[0] ? rq->method_name : "-",
		 route_name[rq->route], rq->status, (unsigned long long)(mono_ms() - rq->start_ms),
		 rq->sid[0] ? " sid=" : "", rq->sid, rq->note ? " (" : "", rq->note ? rq->note : "",
		 rq->note ? ")" : "", extra ? extra : "");
	log_sanitize(clean, sizeof(clean), raw);
	/* batched: written once per turn of the worker's loop (logline.h) */
	if (wk->log_len + sizeof(line) > sizeof(wk->logbuf))
		log_flush(wk);
	wk->log_len += logline_format(wk->logbuf + wk->log_len, sizeof(wk->logbuf) - wk->log_len,
				      clean, &wk->log_sec, wk->log_ts);
}

static enum route route_of(const char *path, int metrics, const char **tail)
{
	*tail = NULL;
	if (metrics) /* the metrics listener serves /metrics and nothing else */
		return strcmp(path, "/metrics") == 0 ? R_METRICS : R_OTHER;
	if (strcmp(path, "/healthz") == 0)
		return R_HEALTHZ;
	if (strcmp(path, "/v1/sessions") == 0)
		return R_REGISTER;
	if (strncmp(path, "/v1/sessions/", 13) == 0) {
		*tail = path + 13;
		return R_POLL;
	}
	if (strncmp(path, "/l/", 3) == 0) {
		*tail = path + 3;
		return R_LINK;
	}
	if (strcmp(path, "/callback") == 0)
		return R_CALLBACK;
	return R_OTHER;
}

/* NUL-terminates a field value in the input buffer (the byte after it is
 * CR, SP or HTAB, already parsed). */
static const char *cstr(int has, struct http1_str v)
{
	if (!has)
		return NULL;
	((char *)v.p)[v.n] = '\0';
	return v.p;
}

static int ctype_ok(const struct req *rq, const char *type)
{
	return ctype_is(rq->ctype, type);
}

/* Method, authentication, type and size checks made before any body is
 * read. 1: go on (body_max set); 0: an answer is queued; -1: close. */
static int first_checks(struct conn *c)
{
	struct req *rq = &c->rq;
	int api = rq->route == R_REGISTER || rq->route == R_POLL;
	int body = rq->h.has_clen ? rq->h.clen > 0 : rq->h.chunked;

	if (rq->h.method == HTTP1_OTHER)
		return api ? respond_json_error(c, 405, "method not allowed")
			   : respond_page(c, 405, HTML_METHOD);
	switch (rq->route) {
	case R_HEALTHZ:
		if (rq->h.method == HTTP1_POST)
			return respond_page(c, 405, HTML_METHOD);
		break;
	case R_REGISTER:
		if (rq->h.method != HTTP1_POST)
			return respond_json_error(c, 405, "method not allowed");
		if (!registration_authorized(c)) {
			rq->note = "unauthorized";
			return respond_json_error(c, 401, "unauthorized");
		}
		if (!ctype_ok(rq, "application/json"))
			return respond_json_error(c, 415, "Content-Type must be application/json");
		if (rq->h.has_clen && rq->h.clen > REG_BODY_MAX)
			return respond_json_error(c, 413, "body larger than 16 KiB");
		rq->body_max = REG_BODY_MAX;
		return 1;
	case R_POLL:
		if (rq->h.method != HTTP1_GET)
			return respond_json_error(c, 405, "method not allowed");
		break;
	case R_LINK:
		if (rq->h.method != HTTP1_POST)
			break;
		if (!ctype_ok(rq, "application/x-www-form-urlencoded"))
			return respond_page(c, 415, HTML_MEDIA);
		if (rq->h.has_clen && rq->h.clen > FORM_BODY_MAX)
			return respond_page(c, 413, HTML_TOO_LARGE);
		rq->body_max = FORM_BODY_MAX;
		return 1;
	case R_METRICS:
		if (rq->h.method == HTTP1_POST)
			return respond_page(c, 405, HTML_METHOD);
		break;
	case R_CALLBACK:
		/* GET only: HEAD must not be able to use up a code (RLY-14). */
		if (rq->h.method != HTTP1_GET)
			return respond_page(c, 405, HTML_METHOD);
		break;
	default:
		break;
	}
	/* No body belongs here. */
	if (body)
		return respond_page(c, 413, HTML_TOO_LARGE);
	return 1;
}

/* Prometheus text format (RLY-27): no per-login labels. */
static int do_metrics(struct conn *c)
{
	struct server *s = c->wk->srv;
	struct store_stats st;
	char *b;
	size_t cap = 64 * 1024, n = 0;
	int r;

#define P(...)                                                                                     \
	do {                                                                                       \
		int k_ = snprintf(b + n, cap - n, __VA_ARGS__);                                    \
		if (k_ < 0 || (size_t)k_ >= cap - n)                                               \
			goto full;                                                                 \
		n += (size_t)k_;                                                                   \
	} while (0)

	if (!(b = malloc(cap)))
		return respond_page(c, 500, HTML_INTERNAL);
	store_stats(s->st, &st);
	P("# HELP relay_pending_logins Logins registered and not yet handed out.\n"
	  "# TYPE relay_pending_logins gauge\nrelay_pending_logins %llu\n",
	  (unsigned long long)st.pending);
	P("# HELP relay_held_polls Long-polls held on this instance.\n"
	  "# TYPE relay_held_polls gauge\nrelay_held_polls %llu\n",
	  (unsigned long long)st.held);
	P("# HELP relay_connections Open connections.\n# TYPE relay_connections gauge\n"
	  "relay_connections %u\n",
	  atomic_load(&s->nconns));
	P("# HELP relay_store_up 1 when the store answers (Redis reachable).\n"
	  "# TYPE relay_store_up gauge\nrelay_store_up %d\n",
	  store_health(s->st) == 0);
	P("# TYPE relay_registrations_total counter\nrelay_registrations_total %llu\n"
	  "# TYPE relay_callbacks_total counter\nrelay_callbacks_total %llu\n"
	  "# TYPE relay_codes_handed_out_total counter\nrelay_codes_handed_out_total %llu\n"
	  "# TYPE relay_expired_total counter\nrelay_expired_total %llu\n"
	  "# TYPE relay_denied_total counter\nrelay_denied_total %llu\n"
	  "# TYPE relay_conflicts_total counter\nrelay_conflicts_total %llu\n",
	  (unsigned long long)st.registrations, (unsigned long long)st.callbacks,
	  (unsigned long long)st.handed_out, (unsigned long long)st.expired,
	  (unsigned long long)st.denied, (unsigned long long)st.conflicts);
	P("# HELP relay_refusals_total Requests or connections refused, by reason.\n"
	  "# TYPE relay_refusals_total counter\n");
	for (int k = 0; k < REF_COUNT; k++) {
		uint64_t v = 0;
		for (unsigned w = 0; w < s->nworkers; w++)
			v += atomic_load_explicit(&s->wk[w].refusals[k], memory_order_relaxed);
		P("relay_refusals_total{reason=\"%s\"} %llu\n", refusal_name[k],
		  (unsigned long long)v);
	}
	P("# HELP relay_http_responses_total Answers by route and status.\n"
	  "# TYPE relay_http_responses_total counter\n");
	for (int rt = 0; rt < R_COUNT; rt++) {
		for (size_t k = 0; k < N_STATUS; k++) {
			uint64_t v = 0;
			for (unsigned w = 0; w < s->nworkers; w++)
				v += atomic_load_explicit(&s->wk[w].answers[rt][k],
							  memory_order_relaxed);
			if (!v)
				continue;
			if (k < N_STATUS - 1)
				P("relay_http_responses_total{route=\"%s\",code=\"%u\"} %llu\n",
				  route_name[rt], status_codes[k], (unsigned long long)v);
			else
				P("relay_http_responses_total{route=\"%s\",code=\"other\"} %llu\n",
				  route_name[rt], (unsigned long long)v);
		}
	}
	P("# HELP relay_callback_to_handout_seconds From a callback landing to its answer "
	  "handed out.\n# TYPE relay_callback_to_handout_seconds histogram\n");
	{
		uint64_t cum = 0, sum_us = 0;
		for (size_t k = 0; k < N_HIST; k++) {
			for (unsigned w = 0; w < s->nworkers; w++)
				cum += atomic_load_explicit(&s->wk[w].hist[k],
							    memory_order_relaxed);
			if (k < N_HIST - 1)
				P("relay_callback_to_handout_seconds_bucket{le=\"%g\"} %llu\n",
				  hist_bounds[k], (unsigned long long)cum);
			else
				P("relay_callback_to_handout_seconds_bucket{le=\"+Inf\"} %llu\n",
				  (unsigned long long)cum);
		}
		for (unsigned w = 0; w < s->nworkers; w++)
			sum_us += atomic_load_explicit(&s->wk[w].hist_sum_us, memory_order_relaxed);
		P("relay_callback_to_handout_seconds_sum %.6f\n"
		  "relay_callback_to_handout_seconds_count %llu\n",
		  (double)sum_us / 1e6, (unsigned long long)cum);
	}
#undef P
	r = respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", b, n, 0, NULL, NULL);
	free(b);
	return r;
full:
	free(b);
	return respond_page(c, 500, HTML_INTERNAL);
}

static int dispatch(struct conn *c)
{
	struct req *rq = &c->rq;

	switch (rq->route) {
	case R_HEALTHZ: {
		int h = store_health(c->wk->srv->st);
		if (h != 0) {
			rq->note = "store unavailable";
			return respond(c, 503, TEXT_TYPE, "store unavailable\n", 18, 0, NULL, NULL);
		}
		return respond(c, 200, TEXT_TYPE, "ok\n", 3, 0, NULL, NULL);
	}
	case R_REGISTER:
		return do_register(c);
	case R_POLL:
		return do_poll(c);
	case R_LINK:
		return rq->h.method == HTTP1_POST ? do_link_post(c) : do_link_get(c);
	case R_CALLBACK:
		return do_callback(c);
	case R_METRICS:
		return do_metrics(c);
	default:
		return respond_page(c, 404, HTML_NOT_FOUND);
	}
}

/* A framing error before any route is known: answer and close. */
static int respond_framing(struct conn *c, unsigned status)
{
	enum html_kind k = status == 413 ? HTML_TOO_LARGE : HTML_BAD_REQUEST;

	c->close_after = 1;
	c->rq.note = "malformed request";
	count(&c->wk->refusals[REF_FRAMING]);
	if (c->rq.start_ms == 0)
		c->rq.start_ms = mono_ms();
	return respond_page(c, status, k);
}

/* A complete head at c->in.p: set the request up. 1: read a body; 0: an
 * answer is queued or the poll is held; -1: close. */
static int begin_request(struct conn *c)
{
	struct server *s = c->wk->srv;
	struct req *rq = &c->rq;
	char *path;
	size_t i, plen;
	int k;

	rq->start_ms = mono_ms();
	for (i = 0; i < rq->h.method_raw.n && i + 1 < sizeof(rq->method_name); i++) {
		char ch = rq->h.method_raw.p[i];
		rq->method_name[i] = (ch >= 'A' && ch <= 'Z') ? ch : '?';
	}
	rq->method_name[i] = '\0';
	/* path and query, NUL-terminated in place ('?' and the SP after the
	 * target become NUL) */
	path = (char *)rq->h.path.p;
	plen = rq->h.path.n;
	((char *)rq->h.target.p)[rq->h.target.n] = '\0';
	path[plen] = '\0';
	if (rq->h.has_query) {
		rq->query = rq->h.query.p;
		rq->query_len = rq->h.query.n;
	}
	rq->route = route_of(path, c->metrics, &rq->tail);
	if (c->trusted && (rq->h.has_forwarded || rq->h.has_xff)) {
		struct sockaddr_storage cl;
		int fam;
		if (fwd_client(s->cf, (const struct sockaddr *)&c->peer,
			       rq->h.has_forwarded ? rq->h.forwarded.p : NULL, rq->h.forwarded.n,
			       rq->h.has_xff ? rq->h.xff.p : NULL, rq->h.xff.n, &cl) == 1) {
			sockaddr_ip(&cl, rq->client_ip, &fam, rq->client, sizeof(rq->client));
			/* the per-address limit, for the client behind the proxy:
			 * its requests in progress (held polls included) */
			if (ip_acquire(s, rq->client_ip) != 0) {
				count(&c->wk->refusals[REF_IP_LIMIT]);
				rq->note = "too many requests from this address";
				if (rq->h.chunked || (rq->h.has_clen && rq->h.clen > 0))
					c->close_after = 1; /* its body is never read */
				return respond_page(c, 503, HTML_UNAVAILABLE);
			}
			rq->client_counted = 1;
		}
	}
	if (rq->tail)
		rq->tail_len = strlen(rq->tail);
	rq->auth = cstr(rq->h.has_authorization, rq->h.authorization);
	rq->ctype = cstr(rq->h.has_content_type, rq->h.content_type);
	k = first_checks(c);
	/* Answered before its body was read: the body's bytes must never be
	 * taken for the next request, so this connection ends here. */
	if (k == 0 && (rq->h.chunked || (rq->h.has_clen && rq->h.clen > 0)))
		c->close_after = 1;
	return k;
}

static int send_continue(struct conn *c)
{
	static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
	ssize_t n = send(c->fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);

	return n == (ssize_t)(sizeof(msg) - 1) ? 0 : -1;
}

/* Grows the input buffer to hold need bytes (at most IN_MAX). Moves it:
 * only while no request points into it (C_READ before a head). */
static int reserve(struct conn *c, size_t need)
{
	return buf_reserve(&c->in, need) == ERR_OK ? 0 : -1;
}

/* Reads what is there. 1: got bytes; 0: nothing now; -1: closed, error,
 * or no room. */
static int fill(struct conn *c)
{
	ssize_t n;

	if (c->in.len == c->in.cap) {
		/* Full: a head past HTTP1_HEAD_MAX was already answered (431 or
		 * 414), a body has its room reserved; anything else is a client
		 * sending what it must not. */
		if (c->st != C_READ || c->in.cap >= HTTP1_HEAD_MAX + 8)
			return -1;
		if (reserve(c, c->in.cap ? c->in.cap * 2 : IN_INIT) != 0)
			return -1;
	}
	n = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len, 0);
	if (n > 0) {
		c->in.len += (size_t)n;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	return -1;
}

/* Drops the first n input bytes (a finished request). */
static void consume(struct conn *c, size_t n)
{
	OPENSSL_cleanse(c->in.p, n);
	memmove(c->in.p, c->in.p + n, c->in.len - n);
	c->in.len -= n;
	c->scan = 0;
}

/* Writes what it can. 1: all sent; 0: later; -1: error. */
static int flush_out(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		return -1;
	}
	return 1;
}

static void process(struct conn *c);
static int process_one(struct conn *c);

/* The answer is queued: send it, then go on with the next request. */
/* 1: the answer is out and pipelined bytes wait (the caller processes them
 * in its loop, never by recursion); 0: nothing more now, or c is gone. */
static int after_answer(struct conn *c)
{
	int r = flush_out(c);

	if (r < 0) {
		log_request(c, " [connection closed early]");
		conn_free(c);
		return 0;
	}
	if (r == 0) {
		set_events(c, EPOLLOUT | EPOLLRDHUP);
		return 0;
	}
	log_request(c, NULL);
	out_free(c);
	if (c->close_after) {
		shutdown(c->fd, SHUT_WR);
		conn_free(c);
		return 0;
	}
	consume(c, c->rq.h.head_len + (c->rq.body_owned ? 0 : c->rq.body_len));
	req_reset(c);
	c->st = C_READ;
	timer_arm(c, mono_ms());
	set_events(c, EPOLLIN | EPOLLRDHUP);
	return c->in.len != 0;
}

/* One request as far as the bytes at hand allow; 1 when another one is
 * waiting in the input. */
static int process_one(struct conn *c)
{
	struct req *rq = &c->rq;
	size_t need;
	long r;
	int k;

	for (;;) {
		if (c->st == C_READ) {
			r = http1_parse_head(c->in.p, c->in.len, &c->scan, &rq->h);
			if (r == HTTP1_MORE)
				return 0;
			if (r < 0) {
				if (respond_framing(c, (unsigned)-r) != 0)
					goto close;
				break;
			}
			/* Room for the whole body now, so the buffer never moves
			 * while the request's pointers into it are live; if it
			 * moved, parse the head again where it now is. */
			need = rq->h.head_len + (rq->h.chunked ? 4096
						 : rq->h.has_clen && rq->h.clen <= REG_BODY_MAX
							 ? (size_t)rq->h.clen
							 : 0);
			if (need > c->in.cap) {
				if (reserve(c, need) != 0)
					goto close;
				c->scan = 0;
				if (http1_parse_head(c->in.p, c->in.len, &c->scan, &rq->h) <= 0)
					goto close;
			}
			k = begin_request(c);
			if (k < 0)
				goto close;
			if (k == 0) {
				if (c->st == C_HELD)
					goto held;
				break;
			}
			if (!rq->h.has_clen && !rq->h.chunked) {
				if (dispatch(c) != 0)
					goto close;
				if (c->st == C_HELD)
					goto held;
				break;
			}
			c->st = C_BODY;
			if (rq->h.chunked && !(rq->body = malloc(rq->body_max + 1)))
				goto close;
			rq->body_owned = rq->h.chunked;
			if (rq->h.expect_continue && c->in.len == rq->h.head_len &&
			    send_continue(c) != 0)
				goto close;
		}
		if (c->st == C_BODY) {
			size_t avail = c->in.len - rq->h.head_len;
			if (rq->h.chunked) {
				int done = 0;
				long used = http1_chunked_feed(&rq->ck, c->in.p + rq->h.head_len,
							       avail, rq->body, &rq->body_len,
							       rq->body_max, &done);
				if (used < 0) {
					if (respond_framing(c, (unsigned)-used) != 0)
						goto close;
					break;
				}
				/* the decoded bytes leave the input; the head stays */
				memmove(c->in.p + rq->h.head_len, c->in.p + rq->h.head_len + used,
					avail - (size_t)used);
				c->in.len -= (size_t)used;
				if (!done)
					return 0;
				rq->body[rq->body_len] = '\0';
			} else {
				if (avail < rq->h.clen)
					return 0;
				rq->body = c->in.p + rq->h.head_len;
				rq->body_len = (size_t)rq->h.clen;
			}
			if (dispatch(c) != 0)
				goto close;
			if (c->st == C_HELD)
				goto held;
			break;
		}
		return 0;
	}
	return after_answer(c);
held:
	timer_unlink(c);
	set_events(c, EPOLLRDHUP);
	return 0;
close:
	conn_free(c);
	return 0;
}

/* Drives c as far as the bytes at hand allow: pipelined requests one after
 * the other, in a loop. */
static void process(struct conn *c)
{
	while (process_one(c))
		;
}

/* ---- workers ------------------------------------------------------------------------------ */

static void on_readable(struct conn *c)
{
	int r = fill(c);

	if (r < 0) {
		if (c->st == C_READ && c->in.len == 0)
			conn_free(c); /* an idle keep-alive connection closed: normal */
		else
			conn_close(c);
		return;
	}
	if (r > 0)
		process(c);
}

/* A poll held by the store came back (result, deadline, expiry, shutdown,
 * replaced): answer it now. */
static void on_woken(struct conn *c)
{
	if (c->gone) {
		conn_free(c);
		return;
	}
	c->st = C_READ; /* not held any more; do_poll queues the answer */
	timer_arm(c, mono_ms());
	if (do_poll(c) != 0) {
		conn_free(c);
		return;
	}
	if (after_answer(c))
		process(c);
}

static void drain_wakes(struct worker *wk)
{
	struct conn *list, *next;
	uint64_t v;

	if (read(wk->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_msg(wk->srv->lg, LOG_ERR, "eventfd: %s", strerror(errno));
	pthread_mutex_lock(&wk->wq_mu);
	list = wk->wq;
	wk->wq = NULL;
	pthread_mutex_unlock(&wk->wq_mu);
	for (; list; list = next) {
		next = list->wq_next;
		list->wq_next = NULL;
		on_woken(list);
	}
}

static void sockaddr_ip(const struct sockaddr_storage *ss, unsigned char ip[16], int *family,
			char *str, size_t strlen_)
{
	memset(ip, 0, 16);
	*family = ss->ss_family;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ss;
		/* as ::ffff:a.b.c.d, so one table holds both families */
		ip[10] = ip[11] = 0xff;
		memcpy(ip + 12, &a->sin_addr, 4);
		inet_ntop(AF_INET, &a->sin_addr, str, (socklen_t)strlen_);
	} else {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ss;
		memcpy(ip, &a->sin6_addr, 16);
		inet_ntop(AF_INET6, &a->sin6_addr, str, (socklen_t)strlen_);
	}
}

static void on_accept(struct worker *wk, int lfd, int metrics)
{
	struct server *s = wk->srv;

	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct epoll_event ev;
		struct conn *c;
		unsigned char ip[16];
		char ipstr[INET6_ADDRSTRLEN + 1];
		int fam, one = 1;
		int trusted, fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
					  SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				log_msg(s->lg, LOG_WARNING, "accept: %s", strerror(errno));
			return;
		}
		sockaddr_ip(&ss, ip, &fam, ipstr, sizeof(ipstr));
		trusted = rconf_is_trusted_proxy(s->cf, (const struct sockaddr *)&ss);
		if (atomic_fetch_add(&s->nconns, 1) >= s->max_conns) {
			atomic_fetch_sub(&s->nconns, 1);
			count(&wk->refusals[REF_CONN_LIMIT]);
			close(fd);
			continue;
		}
		/* every request through a trusted proxy comes from its address:
		 * the per-address limit is not for it */
		if (!trusted && ip_acquire(s, ip) != 0) {
			atomic_fetch_sub(&s->nconns, 1);
			count(&wk->refusals[REF_IP_LIMIT]);
			close(fd);
			continue;
		}
		if (!(c = calloc(1, sizeof(*c)))) {
			if (!trusted)
				ip_release(s, ip);
			atomic_fetch_sub(&s->nconns, 1);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		c->wk = wk;
		buf_init(&c->in, IN_INIT, IN_MAX);
		c->st = C_READ;
		memcpy(c->ip, ip, 16);
		c->family = fam;
		c->metrics = metrics;
		c->trusted = trusted;
		c->peer = ss;
		memcpy(c->ipstr, ipstr, sizeof(c->ipstr));
		count(&wk->accepted);
		c->events = EPOLLIN | EPOLLRDHUP;
		ev.events = c->events;
		ev.data.ptr = c;
		if (epoll_ctl(wk->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			if (!trusted)
				ip_release(s, ip);
			atomic_fetch_sub(&s->nconns, 1);
			close(fd);
			free(c);
			continue;
		}
		wk->nconns++;
		c->a_next = wk->all;
		if (wk->all)
			wk->all->a_prev = c;
		wk->all = c;
		timer_arm(c, mono_ms());
	}
}

/* Cuts every connection whose request (or answer) is overdue (RLY-22). */
static void expire(struct worker *wk, uint64_t now)
{
	static const char msg[] = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n"
				  "Connection: close\r\n\r\n";

	while (wk->t_head && wk->t_head->deadline <= now) {
		struct conn *c = wk->t_head;
		if (c->st == C_READ && c->in.len == 0) {
			conn_free(c); /* idle keep-alive */
			continue;
		}
		count(&wk->refusals[REF_TIMEOUT]);
		if (c->st != C_WRITE) /* best effort: the connection closes anyway */
			(void)!send(c->fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		conn_free(c);
	}
}

/* Stop: no more accepting; idle keep-alive connections go at once, the
 * others get STOP_GRACE_MS to finish. */
static void stop_accepting(struct worker *wk)
{
	struct conn *c, *cn;

	epoll_ctl(wk->ep, EPOLL_CTL_DEL, wk->lfd, NULL);
	if (wk->mfd >= 0)
		epoll_ctl(wk->ep, EPOLL_CTL_DEL, wk->mfd, NULL);
	for (c = wk->t_head; c; c = cn) {
		cn = c->t_next;
		if (c->st == C_READ && c->in.len == 0)
			conn_free(c); /* idle keep-alive */
	}
}

/* epoll_wait's timeout: at most 1 s, until the first connection deadline or
 * the store's next due time. */
static int wait_timeout(const struct worker *wk, uint64_t now, uint64_t due)
{
	int timeout = 1000;

	if (wk->t_head)
		timeout = wk->t_head->deadline <= now ? 0
						      : (int)(wk->t_head->deadline - now < 1000
								      ? wk->t_head->deadline - now
								      : 1000);
	if (due <= now)
		timeout = 0;
	else if (due - now < (uint64_t)timeout)
		timeout = (int)(due - now);
	return timeout;
}

/* One batch of events; returns 1 when the wake-up eventfd fired (handled by
 * the caller after the batch). */
static int handle_events(struct worker *wk, const struct epoll_event *evs, int n)
{
	int woken = 0;

	for (int i = 0; i < n; i++) {
		void *p = evs[i].data.ptr;
		uint32_t e = evs[i].events;
		struct conn *c;

		if (p == (void *)&wk->lfd) {
			on_accept(wk, wk->lfd, 0);
			continue;
		}
		if (p == (void *)&wk->mfd) {
			on_accept(wk, wk->mfd, 1);
			continue;
		}
		if (p == (void *)&wk->efd) {
			/* after the batch: answering a woken poll may free a
			 * connection that has an event further down evs[] */
			woken = 1;
			continue;
		}
		c = p;
		if (c->st == C_HELD) {
			/* only EPOLLRDHUP/HUP/ERR are watched: the client left */
			conn_close(c);
			continue;
		}
		if (c->st == C_WRITE) {
			if (e & (EPOLLERR | EPOLLHUP)) {
				conn_close(c);
				continue;
			}
			if (after_answer(c))
				process(c);
			continue;
		}
		if (e & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
			on_readable(c);
	}
	return woken;
}

/* Whatever is left after the grace period. */
static void free_remaining(struct worker *wk)
{
	struct server *s = wk->srv;

	drain_wakes(wk);
	while (wk->all) {
		struct conn *c = wk->all;
		if (c->st == C_HELD && c->rq.waited && !store_cancel(s->st, &c->rq.w)) {
			/* its wake is in flight (store_shutdown delivers them all
			 * before the workers are told to stop) */
			drain_wakes(wk);
			continue;
		}
		conn_free(c);
	}
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct server *s = wk->srv;
	struct epoll_event evs[MAX_EVENTS];
	uint64_t stop_at = 0;
	int listening = 1;

	for (;;) {
		uint64_t now = mono_ms(), due = store_next_due(s->st);
		int timeout, n;

		if (atomic_load(&s->stopping)) {
			if (listening) {
				stop_accepting(wk);
				listening = 0;
				stop_at = now + STOP_GRACE_MS;
			}
			if (wk->nconns == 0 || now >= stop_at)
				break;
		}
		timeout = wait_timeout(wk, now, due);
		log_flush(wk);
		n = epoll_wait(wk->ep, evs, MAX_EVENTS, timeout);
		if (handle_events(wk, evs, n))
			drain_wakes(wk);
		now = mono_ms();
		expire(wk, now);
		if (store_next_due(s->st) <= now)
			store_tick(s->st, now, NULL);
	}
	free_remaining(wk);
	log_flush(wk);
	return NULL;
}

/* ---- start / stop ---------------------------------------------------------------------- */

static int open_listener(struct server *s, const char *name, const struct sockaddr_storage *addr,
			 socklen_t len, int *out)
{
	int fd, one = 1;

	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_msg(s->lg, LOG_ERR, "socket: %s", strerror(errno));
		return ERR_IO;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (addr->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)addr, len) != 0 || listen(fd, 4096) != 0) {
		log_msg(s->lg, LOG_ERR, "cannot listen on %s: %s", name, strerror(errno));
		close(fd);
		return ERR_IO;
	}
	*out = fd;
	return ERR_OK;
}

/* Room for the connection limit within RLIMIT_NOFILE. */
static unsigned connection_limit(const struct server *s)
{
	unsigned want = s->cf->max_connections;
	rlim_t spare = 64 + 4 * (rlim_t)s->nworkers;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return want;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)want + spare) {
		rlim_t hard = rl.rlim_max;
		rl.rlim_cur = (hard == RLIM_INFINITY || hard > (rlim_t)want + spare)
				      ? (rlim_t)want + spare
				      : hard;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)want + spare) {
		unsigned fit = rl.rlim_cur > spare + 32 ? (unsigned)(rl.rlim_cur - spare) : 32;
		log_msg(s->lg, LOG_WARNING, "max_connections lowered to %u (RLIMIT_NOFILE)", fit);
		return fit;
	}
	return want;
}

static int build_pages(struct server *s)
{
	const struct rconf *cf = s->cf;
	int n;

	for (int k = 0; k <= HTML_UNAVAILABLE; k++)
		if (html_static((enum html_kind)k, &s->pages[k].p, &s->pages[k].len) != 0)
			return ERR_NOMEM;
	n = snprintf(s->hdr_api, sizeof(s->hdr_api),
		     "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
		     "Referrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n"
		     "Content-Security-Policy: %s\r\n%s",
		     API_CSP, cf->https ? "Strict-Transport-Security: max-age=31536000\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(s->hdr_api))
		return ERR_INTERNAL;
	n = snprintf(s->hdr_html, sizeof(s->hdr_html),
		     "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
		     "Referrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n"
		     "Content-Security-Policy: %s\r\n%s",
		     cf->csp, cf->https ? "Strict-Transport-Security: max-age=31536000\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(s->hdr_html))
		return ERR_INTERNAL;
	return ERR_OK;
}

static unsigned worker_count(const struct rconf *cf)
{
	long n = cf->threads ? (long)cf->threads : sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	return (unsigned)n;
}

int server_start(const struct rconf *cf, const struct log *lg, struct server **out)
{
	struct server *s;
	struct sockaddr_storage addr;
	socklen_t alen;
	int r;

	if (!(s = calloc(1, sizeof(*s))))
		return ERR_NOMEM;
	s->cf = cf;
	s->lg = lg;
	s->nworkers = worker_count(cf);
	pthread_mutex_init(&s->ip_mu, NULL);
	if ((r = rand_bytes(s->ip_key, sizeof(s->ip_key))) != 0 || (r = build_pages(s)) != 0 ||
	    (r = store_open(cf, &s->st)) != 0)
		goto fail;
	s->max_conns = connection_limit(s);
	r = ERR_NOMEM;
	if (!(s->wk = calloc(s->nworkers, sizeof(*s->wk))))
		goto fail;
	for (unsigned i = 0; i < s->nworkers; i++) {
		s->wk[i].srv = s;
		s->wk[i].ep = s->wk[i].lfd = s->wk[i].efd = s->wk[i].mfd = -1;
		pthread_mutex_init(&s->wk[i].wq_mu, NULL);
	}
	/* The first socket picks the port (port 0: any free one); the others
	 * join it with SO_REUSEPORT. */
	addr = cf->listen_addr;
	alen = cf->listen_len;
	for (unsigned i = 0; i < s->nworkers; i++) {
		struct worker *wk = &s->wk[i];
		struct epoll_event ev = { .events = EPOLLIN };
		if ((r = open_listener(s, cf->listen, &addr, alen, &wk->lfd)) != 0)
			goto fail;
		if (i == 0) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			if (getsockname(wk->lfd, (struct sockaddr *)&ss, &sl) != 0) {
				r = ERR_IO;
				goto fail;
			}
			s->port = ntohs(ss.ss_family == AF_INET6
						? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port);
			if (addr.ss_family == AF_INET6)
				((struct sockaddr_in6 *)&addr)->sin6_port = htons(s->port);
			else
				((struct sockaddr_in *)&addr)->sin_port = htons(s->port);
		}
		r = ERR_IO;
		if ((wk->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
		    (wk->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
			goto fail;
		ev.data.ptr = &wk->lfd;
		if (epoll_ctl(wk->ep, EPOLL_CTL_ADD, wk->lfd, &ev) != 0)
			goto fail;
		ev.data.ptr = &wk->efd;
		if (epoll_ctl(wk->ep, EPOLL_CTL_ADD, wk->efd, &ev) != 0)
			goto fail;
	}
	if (cf->metrics_on) {
		/* /metrics on its own address (loopback by default), worker 0 */
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &s->wk[0].mfd };
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		if ((r = open_listener(s, cf->metrics_listen, &cf->metrics_addr, cf->metrics_len,
				       &s->wk[0].mfd)) != 0)
			goto fail;
		r = ERR_IO;
		if (epoll_ctl(s->wk[0].ep, EPOLL_CTL_ADD, s->wk[0].mfd, &ev) != 0 ||
		    getsockname(s->wk[0].mfd, (struct sockaddr *)&ss, &sl) != 0)
			goto fail;
		s->metrics_port =
			ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						       : ((struct sockaddr_in *)&ss)->sin_port);
	}
	for (unsigned i = 0; i < s->nworkers; i++) {
		if (pthread_create(&s->wk[i].th, NULL, worker_main, &s->wk[i]) != 0) {
			log_msg(lg, LOG_ERR, "cannot start worker thread %u", i);
			r = ERR_INTERNAL;
			goto fail;
		}
		s->wk[i].started = 1;
	}
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

unsigned short server_metrics_port(const struct server *s)
{
	return s->metrics_port;
}

unsigned server_threads(const struct server *s)
{
	return s->nworkers;
}

void server_stop(struct server *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	atomic_store(&s->stopping, 1);
	/* Every held poll answers (pending) and none can start; then each
	 * worker closes its listener, lets answers drain (STOP_GRACE_MS at
	 * most) and exits. */
	if (s->st)
		store_shutdown(s->st);
	for (unsigned i = 0; s->wk && i < s->nworkers; i++)
		if (s->wk[i].efd >= 0)
			(void)!write(s->wk[i].efd, &one, sizeof(one));
	for (unsigned i = 0; s->wk && i < s->nworkers; i++)
		if (s->wk[i].started)
			pthread_join(s->wk[i].th, NULL);
	for (unsigned i = 0; s->wk && i < s->nworkers; i++) {
		struct worker *wk = &s->wk[i];
		if (wk->lfd >= 0)
			close(wk->lfd);
		if (wk->mfd >= 0)
			close(wk->mfd);
		if (wk->efd >= 0)
			close(wk->efd);
		if (wk->ep >= 0)
			close(wk->ep);
		pthread_mutex_destroy(&wk->wq_mu);
	}
	free(s->wk);
	store_free(s->st);
	for (int k = 0; k <= HTML_UNAVAILABLE; k++)
		free(s->pages[k].p);
	for (size_t b = 0; b < IP_BUCKETS; b++) {
		while (s->ip_tab[b]) {
			struct ip_entry *e = s->ip_tab[b];
			s->ip_tab[b] = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&s->ip_mu);
	OPENSSL_cleanse(s->ip_key, sizeof(s->ip_key));
	free(s);
}
