/* relay_cycle.c: load driver for the relay benchmark (bench/relay.sh).
 *
 * One thread, epoll, nonblocking sockets, HTTP/1.1 keep-alive, one request
 * in flight per connection; every answer's status is checked.
 *
 *   relay_cycle cycle --port P --conns N --duration S [--warmup S]
 *       N connections, each running register -> callback -> poll back to
 *       back: POST /v1/sessions (201), GET /callback?code&state&iss (200),
 *       GET /v1/sessions/<state>?wait=0 (200 and "status":"code").
 *   relay_cycle cycle --ports P1,P2,P3 --conns N ...
 *       the same with N cycles in flight spread over three instances
 *       sharing one store: cycle slot s holds three connections and sends
 *       its register to instance s%3, its callback to (s+1)%3 and its poll
 *       to (s+2)%3 (3N connections, N per instance, one request in flight
 *       per slot). --ports P,P,P drives one instance the same way.
 *   relay_cycle fill --port P --count N [--conns K]
 *       registers N logins (201 each) as fast as K connections go.
 *   relay_cycle wake --port P --count N [--conns K] [--settle S]
 *       registers N logins, holds N long-polls (?wait=30, one connection
 *       each), then fires N callbacks in a burst over K connections and
 *       times, per login, callback sent -> poll answered. --cb-port Q:
 *       registrations and held polls on P, callbacks on Q (another
 *       instance on the same store: a cross-instance wake).
 *   relay_cycle probe --port P
 *       one blocking cycle plus one pending login: prints each answer's
 *       status and body size and the pending login's id (for GET /l/<id>
 *       and for sizing the comparison server's answers).
 *
 * Common options: --secret-file F (registration bearer), --base URL (the
 * relay's base_url: redirect_uri), --endpoint URL, --client ID, --pid
 * PID[,PID...] (server processes: CPU from /proc/PID/stat over the measured
 * window; cycle mode prints it per process too), --timeout S (per request,
 * default 5).
 * Output: "key=value" lines on stdout; diagnostics on stderr. Exit 0 when
 * the run completed (errors are reported, not fatal), 2 on bad usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_CAP	 (32 * 1024)
#define OUT_CAP	 4096
#define MAX_PIDS 64

enum mode { MODE_CYCLE, MODE_FILL, MODE_WAKE, MODE_PROBE };
enum kind { K_REG, K_CB, K_POLL, K_N };
static const char *const kind_name[K_N] = { "reg", "cb", "poll" };
static const int kind_want[K_N] = { 201, 200, 200 };

struct opts {
	enum mode mode;
	const char *host;
	int port;
	int conns;
	double duration, warmup, settle, timeout;
	long count;
	char secret[512];
	const char *base, *endpoint, *client;
	int pids[MAX_PIDS];
	int npids;
	int multi;   /* cycle over --ports: three instances */
	int cb_inst; /* wake: instance of the callbacks (--cb-port), else 0 */
};

/* Samples in microseconds, growable. */
struct samples {
	uint32_t *v;
	size_t n, cap;
};

struct conn {
	int fd;
	int inst;  /* index into inst_addr / inst_port */
	long slot; /* cycle --ports: the cycle slot; role = its kind */
	int connecting;
	int busy;      /* a request is in flight */
	int is_poller; /* wake mode: this connection holds one long-poll */
	enum kind kind;
	long login;
	uint64_t t_req, t_cycle;
	char out[OUT_CAP];
	size_t out_len, out_off;
	char *in;
	size_t in_len, in_cap;
	uint32_t ev; /* epoll interest set */
};

struct resp {
	int status;
	const char *body;
	size_t body_len;
	size_t consumed;
	int close;
};

static struct opts opt = {
	.host = "127.0.0.1",
	.conns = 64,
	.duration = 5,
	.warmup = 0.5,
	.settle = 1.0,
	.timeout = 5,
	.count = 1000,
	.base = NULL,
	.endpoint = "https://idp.example.org/auth",
	.client = "pam-client",
};

static int ep = -1;
#define MAX_INST 4
static struct sockaddr_in inst_addr[MAX_INST];
static int inst_port[MAX_INST];
/* cycle --ports: per slot the kind of the request in flight or next due
 * (on connection 3*slot + kind), and the login / start of its cycle */
struct slot {
	long login;
	uint64_t t_cycle;
	enum kind stage;
};
static struct slot *slots;
static struct conn *slot_conns;
static char prefix[28];	     /* random part of every state of this run */
static char poll_secret[44]; /* one poll secret for all logins */
static char poll_hash[44];   /* base64url(SHA-256(poll_secret)) */
static char redirect_enc[600];
static const char *const code_val = "c0de-SplxlOBeZQQYbYS6WxSbIA-0123456789abcdef";
static const char *const iss_enc = "https%3A%2F%2Fidp.example.org";
static const char *const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/* counters */
static long n_ok[K_N], n_bad_status[K_N], n_errors, n_timeouts, n_reconnects;
static long n_cycles;
static struct samples lat[K_N], lat_cycle;

/* wake mode */
static uint64_t *t_cb_sent, *t_cb_ans, *t_poll_ans;
static int *poll_status;
static long next_login, registered, n_reg_fail, polls_sent, polls_connected, cb_next, cb_done,
	polls_done, early_answers, poll_wrong, cb_wrong, poll_connect_failed;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "relay_cycle: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void sample_add(struct samples *s, uint64_t ns)
{
	uint64_t us = ns / 1000;

	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 65536;
		uint32_t *nv = realloc(s->v, nc * sizeof(*nv));
		if (!nv)
			die("realloc");
		s->v = nv;
		s->cap = nc;
	}
	s->v[s->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentile p (0..100) in milliseconds; sorts s. -1 when empty. */
static double pct_ms(struct samples *s, double p)
{
	size_t i;

	if (!s->n)
		return -1;
	qsort(s->v, s->n, sizeof(*s->v), cmp_u32);
	i = (size_t)((p / 100.0) * (double)s->n + 0.999999);
	if (i > 0)
		i--;
	if (i >= s->n)
		i = s->n - 1;
	return s->v[i] / 1000.0;
}

static double pid_us[MAX_PIDS]; /* per server process, at the last call */

/* Sum of utime+stime of the server processes, in microseconds. */
static double server_cpu_us(void)
{
	long tck = sysconf(_SC_CLK_TCK);
	double sum = 0;

	for (int i = 0; i < opt.npids; i++) {
		char path[64], buf[1024];
		unsigned long ut = 0, st = 0;
		FILE *f;
		size_t n;
		char *p;

		snprintf(path, sizeof(path), "/proc/%d/stat", opt.pids[i]);
		if (!(f = fopen(path, "r")))
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		if (!(p = strrchr(buf, ')')))
			continue;
		/* after ")": state ppid pgrp session tty tpgid flags minflt
		 * cminflt majflt cmajflt utime stime */
		if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
			   &st) == 2) {
			pid_us[i] = (double)(ut + st) * 1e6 / (double)tck;
			sum += pid_us[i];
		}
	}
	return sum;
}

/* CPU seconds this process used so far. */
static double self_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64url(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64chars[(acc >> bits) & 63];
		}
	}
	if (bits)
		out[o++] = b64chars[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

/* state of login i: 27 random characters of this run + 16 for i. */
static void mkstate(long i, char out[44])
{
	uint64_t v = (uint64_t)i;

	memcpy(out, prefix, 27);
	for (int k = 42; k >= 27; k--) {
		out[k] = b64chars[v & 63];
		v >>= 6;
	}
	out[43] = '\0';
}

static void pct_encode(const char *in, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *in && o + 4 < cap; in++) {
		unsigned char c = (unsigned char)*in;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

/* ---- requests ------------------------------------------------------------ */

static void build_request(struct conn *c, enum kind k, long login, int wait)
{
	char st[44];
	int n;

	mkstate(login, st);
	if (k == K_REG) {
		char body[2048];
		int bl = snprintf(
			body, sizeof(body),
			"{\"state\":\"%s\",\"poll_secret_sha256\":\"%s\",\"ttl\":600,"
			"\"authorization_url\":\"%s?response_type=code&client_id=%s&redirect_uri=%s"
			"&scope=openid%%20profile&state=%s&nonce=n0nce-123&code_challenge=%s"
			"&code_challenge_method=S256\",\"context\":{\"host\":\"web1.example.org\","
			"\"service\":\"sshd\",\"user\":\"alice\",\"rhost\":\"203.0.113.9\"}}",
			st, poll_hash, opt.endpoint, opt.client, redirect_enc, st, challenge);
		n = snprintf(c->out, sizeof(c->out),
			     "POST /v1/sessions HTTP/1.1\r\nHost: %s:%d\r\n%s%s%s"
			     "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			     opt.host, inst_port[c->inst],
			     opt.secret[0] ? "Authorization: Bearer " : "", opt.secret,
			     opt.secret[0] ? "\r\n" : "", bl, body);
	} else if (k == K_CB) {
		n = snprintf(
			c->out, sizeof(c->out),
			"GET /callback?code=%s&state=%s&iss=%s HTTP/1.1\r\nHost: %s:%d\r\n\r\n",
			code_val, st, iss_enc, opt.host, inst_port[c->inst]);
	} else {
		n = snprintf(c->out, sizeof(c->out),
			     "GET /v1/sessions/%s?wait=%d HTTP/1.1\r\nHost: %s:%d\r\n"
			     "Authorization: Bearer %s\r\n\r\n",
			     st, wait, opt.host, inst_port[c->inst], poll_secret);
	}
	if (n < 0 || (size_t)n >= sizeof(c->out)) {
		fprintf(stderr, "relay_cycle: request too long\n");
		exit(1);
	}
	c->out_len = (size_t)n;
	c->out_off = 0;
	c->kind = k;
	c->login = login;
}

/* epoll_ctl only when the interest set changes (not once per request). */
static void set_events(struct conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	if (c->ev == ev)
		return;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e) != 0)
		die("epoll_ctl mod");
	c->ev = ev;
}

static void on_sent(struct conn *c);

/* Writes what is pending; 0 ok (maybe partial), -1 error. */
static int flush_out(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				set_events(c, EPOLLIN | EPOLLOUT);
				return 0;
			}
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->out_off += (size_t)w;
	}
	set_events(c, EPOLLIN);
	on_sent(c);
	return 0;
}

static int conn_open(struct conn *c)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->in_len = 0;
	c->busy = 0;
	c->out_len = c->out_off = 0;
	if (connect(c->fd, (struct sockaddr *)&inst_addr[c->inst], sizeof(inst_addr[0])) != 0 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->connecting = 1;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e) != 0)
		die("epoll_ctl add");
	c->ev = e.events;
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->busy = 0;
	c->connecting = 0;
	c->in_len = 0;
}

static void send_request(struct conn *c, enum kind k, long login, int wait)
{
	build_request(c, k, login, wait);
	c->busy = 1;
	c->t_req = now_ns();
	if (k == K_REG && opt.mode == MODE_CYCLE)
		c->t_cycle = c->t_req;
	if (flush_out(c) != 0)
		c->out_off = c->out_len + 1; /* marks a write error: handled by caller */
}

/* ---- response parsing ------------------------------------------------------ */

static int hdr_is(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && line[n] == ':' && strncasecmp(line, name, n) == 0;
}

static int val_has(const char *line, size_t len, const char *word)
{
	char tmp[256];
	size_t n = len < sizeof(tmp) - 1 ? len : sizeof(tmp) - 1;

	memcpy(tmp, line, n);
	tmp[n] = '\0';
	return strcasestr(tmp, word) != NULL;
}

/* 1 complete (r set), 0 need more, -1 malformed. */
static int parse_resp(const char *b, size_t n, size_t cap, struct resp *r)
{
	const char *end = memmem(b, n, "\r\n\r\n", 4), *p, *le;
	long long cl = -1;
	int chunked = 0, http10 = 0, keepalive = 0;
	size_t hl;

	if (!end)
		return n >= cap ? -1 : 0;
	hl = (size_t)(end - b) + 4;
	if (n < 12 || memcmp(b, "HTTP/1.", 7) != 0)
		return -1;
	http10 = b[7] == '0';
	r->status = atoi(b + 9);
	r->close = 0;
	for (p = (const char *)memchr(b, '\n', hl) + 1; p < end; p = le + 1) {
		size_t ll;
		le = memchr(p, '\n', (size_t)(end + 2 - p));
		if (!le)
			break;
		ll = (size_t)(le - p);
		if (hdr_is(p, ll, "content-length"))
			cl = atoll(p + 15);
		else if (hdr_is(p, ll, "transfer-encoding") && val_has(p, ll, "chunked"))
			chunked = 1;
		else if (hdr_is(p, ll, "connection")) {
			if (val_has(p, ll, "close"))
				r->close = 1;
			if (val_has(p, ll, "keep-alive"))
				keepalive = 1;
		}
	}
	if (http10 && !keepalive)
		r->close = 1;
	r->body = b + hl;
	if (chunked) {
		size_t off = hl;
		for (;;) {
			const char *crlf = memmem(b + off, n - off, "\r\n", 2);
			unsigned long sz;
			if (!crlf)
				return 0;
			sz = strtoul(b + off, NULL, 16);
			off = (size_t)(crlf - b) + 2;
			if (sz == 0) {
				/* trailers until an empty line */
				for (;;) {
					const char *e2 = memmem(b + off, n - off, "\r\n", 2);
					if (!e2)
						return 0;
					if (e2 == b + off) {
						off += 2;
						break;
					}
					off = (size_t)(e2 - b) + 2;
				}
				break;
			}
			if (n - off < sz + 2)
				return 0;
			off += sz + 2;
		}
		r->body_len = off - hl;
		r->consumed = off;
		return 1;
	}
	if (cl < 0) {
		if (r->status == 204 || r->status == 304 || (r->status >= 100 && r->status < 200)) {
			cl = 0;
		} else {
			return -1; /* close-delimited bodies are not expected from either server */
		}
	}
	if (n - hl < (size_t)cl)
		return hl + (size_t)cl > cap ? -1 : 0;
	r->body_len = (size_t)cl;
	r->consumed = hl + (size_t)cl;
	return 1;
}

/* ---- modes ------------------------------------------------------------------ */

static uint64_t t_measure_start, t_measure_end;
static int phase; /* wake: 0 register, 1 connect polls, 2 settle, 3 burst, 4 done */
static uint64_t t_phase;
static struct conn *pollers;
static long pollers_opened;

static void next_cycle_request(struct conn *c)
{
	send_request(c, K_REG, next_login++, 0);
}

static void conn_failed(struct conn *c, const char *why);

/* cycle --ports: send the slot's due request when its connection is open
 * and idle (else its on_connected does). */
static void slot_go(long s)
{
	struct slot *sl = &slots[s];
	struct conn *t = &slot_conns[3 * s + sl->stage];

	if (t->fd < 0 || t->connecting || t->busy || now_ns() >= t_measure_end)
		return;
	if (sl->stage == K_REG) {
		sl->login = next_login++;
		send_request(t, K_REG, sl->login, 0);
		sl->t_cycle = t->t_req;
	} else {
		send_request(t, sl->stage, sl->login, 0);
	}
	if (t->out_off > t->out_len) {
		t->out_off = t->out_len = 0;
		conn_failed(t, "write failed");
	}
}

/* After a whole request went out. */
static void on_sent(struct conn *c)
{
	if (opt.mode == MODE_WAKE && c->kind == K_CB && c->login >= 0 && c->login < opt.count)
		t_cb_sent[c->login] = now_ns();
	if (opt.mode == MODE_WAKE && c->kind == K_POLL)
		polls_sent++;
}

static int body_has_code(const struct resp *r)
{
	return memmem(r->body, r->body_len, "\"status\":\"code\"", 15) != NULL;
}

/* A complete answer on c; returns 0, or -1 to close the connection. */
static int on_response(struct conn *c, const struct resp *r, uint64_t t)
{
	enum kind k = c->kind;
	int good = r->status == kind_want[k] && (k != K_POLL || body_has_code(r));

	c->busy = 0;
	if (opt.mode == MODE_CYCLE && opt.multi) {
		struct slot *sl = &slots[c->slot];
		int in_window = t >= t_measure_start && t <= t_measure_end;
		if (in_window) {
			sample_add(&lat[k], t - c->t_req);
			if (good)
				n_ok[k]++;
			else
				n_bad_status[k]++;
		}
		if (!good && in_window && n_bad_status[k] <= 3)
			fprintf(stderr, "relay_cycle: %s answered %d (instance %d): %.*s\n",
				kind_name[k], r->status, c->inst,
				(int)(r->body_len > 120 ? 120 : r->body_len), r->body);
		if (good && k == K_POLL && in_window) {
			n_cycles++;
			sample_add(&lat_cycle, t - sl->t_cycle);
		}
		sl->stage = good && k != K_POLL ? (enum kind)(k + 1) : K_REG;
		if (r->close)
			conn_close(c); /* before slot_go: never send on it */
		slot_go(c->slot);
		return r->close ? -1 : 0;
	}
	if (opt.mode == MODE_CYCLE) {
		int in_window = t >= t_measure_start && t <= t_measure_end;
		if (in_window) {
			sample_add(&lat[k], t - c->t_req);
			if (good)
				n_ok[k]++;
			else
				n_bad_status[k]++;
		}
		if (!good) {
			if (in_window && n_bad_status[k] <= 3)
				fprintf(stderr, "relay_cycle: %s answered %d: %.*s\n", kind_name[k],
					r->status, (int)(r->body_len > 120 ? 120 : r->body_len),
					r->body);
			if (!r->close && t < t_measure_end)
				next_cycle_request(c);
			return r->close ? -1 : 0;
		}
		if (k == K_POLL && in_window) { /* cycles completed in the window */
			n_cycles++;
			sample_add(&lat_cycle, t - c->t_cycle);
		}
		if (r->close)
			return -1;
		if (t >= t_measure_end)
			return 0;
		if (k == K_REG)
			send_request(c, K_CB, c->login, 0);
		else if (k == K_CB)
			send_request(c, K_POLL, c->login, 0);
		else
			next_cycle_request(c);
		return 0;
	}
	if (opt.mode == MODE_FILL || (opt.mode == MODE_WAKE && k == K_REG)) {
		if (good) {
			registered++;
			n_ok[K_REG]++;
			sample_add(&lat[K_REG], t - c->t_req);
		} else {
			n_reg_fail++;
			n_bad_status[K_REG]++;
			if (n_reg_fail <= 3)
				fprintf(stderr, "relay_cycle: register answered %d: %.*s\n",
					r->status, (int)(r->body_len > 120 ? 120 : r->body_len),
					r->body);
		}
		if (r->close)
			return -1;
		if (next_login < opt.count)
			send_request(c, K_REG, next_login++, 0);
		return 0;
	}
	/* wake mode: callbacks and polls */
	if (k == K_CB) {
		if (c->login >= 0 && c->login < opt.count)
			t_cb_ans[c->login] = t;
		cb_done++;
		if (r->status == 200) {
			n_ok[K_CB]++;
		} else {
			cb_wrong++;
			if (cb_wrong <= 3)
				fprintf(stderr, "relay_cycle: callback answered %d\n", r->status);
		}
		if (r->close)
			return -1;
		if (cb_next < opt.count)
			send_request(c, K_CB, cb_next++, 0);
		return 0;
	}
	/* a held poll answered */
	polls_done++;
	if (phase < 3) {
		early_answers++;
		if (early_answers <= 3)
			fprintf(stderr, "relay_cycle: poll answered %d before its callback: %.*s\n",
				r->status, (int)(r->body_len > 120 ? 120 : r->body_len), r->body);
	}
	if (c->login >= 0 && c->login < opt.count) {
		t_poll_ans[c->login] = t;
		poll_status[c->login] = good ? 1 : -r->status;
	}
	if (good)
		n_ok[K_POLL]++;
	else {
		poll_wrong++;
		if (poll_wrong <= 3)
			fprintf(stderr, "relay_cycle: poll answered %d: %.*s\n", r->status,
				(int)(r->body_len > 120 ? 120 : r->body_len), r->body);
	}
	return -1; /* one poll per connection */
}

static void conn_failed(struct conn *c, const char *why)
{
	int was_busy = c->busy;

	if (c->is_poller && c->connecting)
		poll_connect_failed++;
	if (c->busy || c->connecting) {
		n_errors++;
		if (n_errors <= 5)
			fprintf(stderr, "relay_cycle: %s (%s, %s)\n", why, kind_name[c->kind],
				c->connecting ? "connecting" : "in flight");
		if (opt.mode != MODE_CYCLE && c->kind == K_REG)
			n_reg_fail++;
		if (opt.mode == MODE_WAKE && c->kind == K_POLL && !c->connecting)
			polls_done++;
		if (opt.mode == MODE_WAKE && c->kind == K_CB)
			cb_done++;
	}
	conn_close(c);
	if (opt.mode == MODE_CYCLE && opt.multi && was_busy) {
		/* the slot's request was lost: a new cycle */
		slots[c->slot].stage = K_REG;
		slot_go(c->slot);
	}
}

/* Start (or restart) the work of a connection that just connected. */
static void on_connected(struct conn *c)
{
	if (c->is_poller) {
		polls_connected++;
		send_request(c, K_POLL, c->login, 30);
		return;
	}
	if (opt.mode == MODE_CYCLE && opt.multi) {
		slot_go(c->slot);
	} else if (opt.mode == MODE_CYCLE) {
		if (now_ns() < t_measure_end)
			next_cycle_request(c);
	} else if (opt.mode == MODE_FILL || phase == 0) {
		if (next_login < opt.count)
			send_request(c, K_REG, next_login++, 0);
	} else if (phase == 3) {
		if (cb_next < opt.count)
			send_request(c, K_CB, cb_next++, 0);
	}
}

static void handle(struct conn *c, uint32_t ev)
{
	uint64_t t;

	if (c->connecting) {
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err) {
			errno = err;
			conn_failed(c, "connect failed");
			return;
		}
		if (!(ev & (EPOLLOUT | EPOLLIN)))
			return;
		c->connecting = 0;
		set_events(c, EPOLLIN);
		on_connected(c);
		if (c->out_off > c->out_len) {
			conn_failed(c, "write failed");
			return;
		}
		return;
	}
	if ((ev & EPOLLOUT) && c->out_off < c->out_len) {
		if (flush_out(c) != 0) {
			conn_failed(c, "write failed");
			return;
		}
	}
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		for (;;) {
			size_t space = c->in_cap - c->in_len;
			ssize_t rd = recv(c->fd, c->in + c->in_len, space, 0);
			if (rd < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				if (errno == EINTR)
					continue;
				conn_failed(c, "read failed");
				return;
			}
			if (rd == 0) {
				conn_failed(c, "closed by server");
				return;
			}
			c->in_len += (size_t)rd;
			t = now_ns();
			for (;;) {
				struct resp r;
				int pr = parse_resp(c->in, c->in_len, c->in_cap, &r);
				if (pr < 0) {
					conn_failed(c, "malformed answer");
					return;
				}
				if (pr == 0)
					break;
				if (!c->busy) {
					conn_failed(c, "answer without a request");
					return;
				}
				memmove(c->in, c->in + r.consumed, c->in_len - r.consumed);
				c->in_len -= r.consumed;
				if (on_response(c, &r, t) != 0) {
					conn_close(c);
					return;
				}
				if (c->out_off > c->out_len) {
					conn_failed(c, "write failed");
					return;
				}
			}
			if (c->in_len == c->in_cap) {
				conn_failed(c, "answer too large");
				return;
			}
			if ((size_t)rd < space)
				break; /* drained; level-triggered epoll reports more */
		}
	}
}

static void check_timeouts(struct conn *cs, long n, int reopen)
{
	uint64_t lim = (uint64_t)(opt.timeout * 1e9), t = now_ns();

	for (long i = 0; i < n; i++) {
		struct conn *c = &cs[i];
		if (c->fd >= 0 && c->busy && t > c->t_req + lim) {
			n_timeouts++;
			conn_failed(c, "timeout");
		}
		if (reopen && c->fd < 0) {
			n_reconnects++;
			if (conn_open(c) != 0)
				n_errors++;
		}
	}
}

static void loop_once(int ms)
{
	struct epoll_event evs[512];
	int n = epoll_wait(ep, evs, 512, ms);

	if (n < 0 && errno != EINTR)
		die("epoll_wait");
	for (int i = 0; i < n; i++)
		handle(evs[i].data.ptr, evs[i].events);
}

static struct conn *conns_new(long n)
{
	struct conn *cs = calloc((size_t)n, sizeof(*cs));

	if (!cs)
		die("calloc");
	for (long i = 0; i < n; i++) {
		cs[i].fd = -1;
		if (!(cs[i].in = malloc(IN_CAP)))
			die("malloc");
		cs[i].in_cap = IN_CAP;
	}
	return cs;
}

static void print_lat(const char *name, struct samples *s)
{
	printf("%s_p50_ms=%.3f\n%s_p99_ms=%.3f\n%s_max_ms=%.3f\n", name, pct_ms(s, 50), name,
	       pct_ms(s, 99), name, pct_ms(s, 100));
}

static void run_cycle(void)
{
	long nc = opt.multi ? 3L * opt.conns : opt.conns;
	struct conn *cs = conns_new(nc);
	uint64_t t0 = now_ns(), last_check = t0, t;
	double cpu0 = 0, cpu1, win, self0 = 0, pid0[MAX_PIDS] = { 0 };
	int cpu_taken = 0;

	t_measure_start = t0 + (uint64_t)(opt.warmup * 1e9);
	t_measure_end = t_measure_start + (uint64_t)(opt.duration * 1e9);
	if (opt.multi) {
		if (!(slots = calloc((size_t)opt.conns, sizeof(*slots))))
			die("calloc");
		slot_conns = cs;
		for (long i = 0; i < nc; i++) {
			cs[i].slot = i / 3;
			cs[i].inst = (int)((i / 3 + i % 3) % 3);
		}
	}
	for (long i = 0; i < nc; i++)
		if (conn_open(&cs[i]) != 0)
			n_errors++;
	while ((t = now_ns()) < t_measure_end) {
		if (!cpu_taken && t >= t_measure_start) {
			cpu0 = server_cpu_us();
			memcpy(pid0, pid_us, sizeof(pid0));
			self0 = self_cpu_s();
			cpu_taken = 1;
		}
		loop_once(10);
		if (t - last_check > 100000000u) {
			check_timeouts(cs, nc, 1);
			last_check = t;
		}
	}
	cpu1 = server_cpu_us();
	if (!cpu_taken) {
		cpu0 = cpu1;
		memcpy(pid0, pid_us, sizeof(pid0));
	}
	win = opt.duration;
	{
		/* requests still unanswered when the window closed (a stall shows here) */
		long inflight = 0, stuck = 0;
		uint64_t oldest = 0;
		t = now_ns();
		for (long i = 0; i < nc; i++)
			if (cs[i].fd >= 0 && cs[i].busy) {
				inflight++;
				if (t - cs[i].t_req > 1000000000u)
					stuck++;
				if (t - cs[i].t_req > oldest)
					oldest = t - cs[i].t_req;
			}
		printf("inflight_at_end=%ld\nstuck_at_end=%ld\noldest_inflight_ms=%.1f\n", inflight,
		       stuck, oldest / 1e6);
	}
	printf("instances=%d\nsockets=%ld\n", opt.multi ? 3 : 1, nc);
	printf("conns=%d\nseconds=%.2f\ncycles=%ld\ncycles_per_s=%.0f\n", opt.conns, win, n_cycles,
	       n_cycles / win);
	printf("requests_per_s=%.0f\n", (n_ok[0] + n_ok[1] + n_ok[2]) / win);
	{
		struct samples all = { 0 };
		for (int k = 0; k < K_N; k++)
			for (size_t i = 0; i < lat[k].n; i++)
				sample_add(&all, (uint64_t)lat[k].v[i] * 1000);
		print_lat("req", &all);
		free(all.v);
	}
	for (int k = 0; k < K_N; k++)
		printf("%s_p99_ms=%.3f\n", kind_name[k], pct_ms(&lat[k], 99));
	print_lat("cycle", &lat_cycle);
	printf("bad_status=%ld\n", n_bad_status[0] + n_bad_status[1] + n_bad_status[2]);
	printf("bad_reg=%ld\nbad_cb=%ld\nbad_poll=%ld\n", n_bad_status[0], n_bad_status[1],
	       n_bad_status[2]);
	printf("errors=%ld\ntimeouts=%ld\nreconnects=%ld\n", n_errors, n_timeouts, n_reconnects);
	printf("server_cpu_s=%.3f\n", (cpu1 - cpu0) / 1e6);
	printf("client_cpu_s=%.3f\n", self_cpu_s() - self0);
	printf("server_cpu_us_per_cycle=%.1f\n", n_cycles ? (cpu1 - cpu0) / (double)n_cycles : -1);
	printf("server_cpu_s_by_pid=");
	for (int i = 0; i < opt.npids; i++)
		printf("%s%.3f", i ? "," : "", (pid_us[i] - pid0[i]) / 1e6);
	printf("\n");
}

static void run_fill(void)
{
	struct conn *cs = conns_new(opt.conns);
	uint64_t t0 = now_ns(), last_check = t0, t;
	double cpu0 = server_cpu_us(), cpu1;

	for (int i = 0; i < opt.conns; i++)
		if (conn_open(&cs[i]) != 0)
			n_errors++;
	while (registered + n_reg_fail < opt.count) {
		loop_once(10);
		t = now_ns();
		if (t - last_check > 100000000u) {
			int idle = 1;
			check_timeouts(cs, opt.conns, next_login < opt.count);
			for (int i = 0; i < opt.conns; i++)
				if (cs[i].fd >= 0 && (cs[i].busy || cs[i].connecting))
					idle = 0;
			if (idle && next_login >= opt.count)
				break;
			last_check = t;
		}
	}
	t = now_ns();
	cpu1 = server_cpu_us();
	printf("registered=%ld\nfailed=%ld\nerrors=%ld\nseconds=%.2f\nregs_per_s=%.0f\n",
	       registered, n_reg_fail, n_errors, (t - t0) / 1e9, registered / ((t - t0) / 1e9));
	print_lat("reg", &lat[K_REG]);
	printf("server_cpu_us_per_reg=%.1f\n",
	       registered ? (cpu1 - cpu0) / (double)registered : -1);
}

static void run_wake(void)
{
	long n = opt.count;
	struct conn *cs = conns_new(opt.conns);
	uint64_t t, last_check = now_ns(), t_burst = 0, t_end = 0, deadline = 0;
	double cpu0 = 0, cpu1;
	struct samples wake = { 0 }, after = { 0 }, cbl = { 0 };
	long answered = 0, lost = 0;

	t_cb_sent = calloc((size_t)n, sizeof(*t_cb_sent));
	t_cb_ans = calloc((size_t)n, sizeof(*t_cb_ans));
	t_poll_ans = calloc((size_t)n, sizeof(*t_poll_ans));
	poll_status = calloc((size_t)n, sizeof(*poll_status));
	pollers = calloc((size_t)n, sizeof(*pollers));
	if (!t_cb_sent || !t_cb_ans || !t_poll_ans || !poll_status || !pollers)
		die("calloc");
	/* phase 0: register */
	for (int i = 0; i < opt.conns; i++)
		if (conn_open(&cs[i]) != 0)
			n_errors++;
	t_phase = now_ns();
	while (registered + n_reg_fail < n) {
		loop_once(10);
		t = now_ns();
		if (t - last_check > 100000000u) {
			check_timeouts(cs, opt.conns, next_login < n);
			last_check = t;
		}
		if (t - t_phase > 120e9) {
			fprintf(stderr, "relay_cycle: registration did not finish\n");
			break;
		}
	}
	printf("registered=%ld\nreg_failed=%ld\nregs_per_s=%.0f\n", registered, n_reg_fail,
	       registered / ((now_ns() - t_phase) / 1e9));
	/* phase 1: one held poll per login, at most 256 connects in progress */
	phase = 1;
	t_phase = now_ns();
	while (polls_sent < n) {
		long inprog = pollers_opened - polls_connected - poll_connect_failed;
		while (pollers_opened < n && inprog < 256) {
			struct conn *c = &pollers[pollers_opened];
			c->fd = -1;
			c->is_poller = 1;
			c->login = pollers_opened;
			c->in_cap = 4096;
			if (!(c->in = malloc(c->in_cap)))
				die("malloc");
			if (conn_open(c) != 0)
				n_errors++;
			pollers_opened++;
			inprog++;
		}
		loop_once(5);
		if (now_ns() - t_phase > 60e9) {
			fprintf(stderr, "relay_cycle: could not open %ld polls (sent %ld)\n", n,
				polls_sent);
			break;
		}
		if (pollers_opened >= n && polls_sent + poll_connect_failed >= n)
			break;
	}
	printf("polls_held=%ld\npoll_connect_s=%.2f\n", polls_sent, (now_ns() - t_phase) / 1e9);
	/* phase 2: let the relay park them */
	phase = 2;
	t_phase = now_ns();
	while (now_ns() - t_phase < (uint64_t)(opt.settle * 1e9))
		loop_once(10);
	/* phase 3: the burst */
	phase = 3;
	if (opt.cb_inst) /* the callbacks go to another instance */
		for (int i = 0; i < opt.conns; i++) {
			conn_close(&cs[i]);
			cs[i].inst = opt.cb_inst;
		}
	cpu0 = server_cpu_us();
	t_burst = now_ns();
	for (int i = 0; i < opt.conns; i++) {
		struct conn *c = &cs[i];
		if (c->fd < 0) {
			if (conn_open(c) != 0)
				n_errors++;
		} else if (!c->busy && cb_next < n) {
			send_request(c, K_CB, cb_next++, 0);
			if (c->out_off > c->out_len)
				conn_failed(c, "write failed");
		}
	}
	for (;;) {
		t = now_ns();
		if (cb_next >= n && !deadline)
			deadline = t + 10000000000u;
		if (polls_done >= polls_sent && cb_done >= cb_next && cb_next >= n)
			break;
		if (deadline && t > deadline)
			break;
		if (t - t_burst > 60e9)
			break;
		loop_once(5);
		if (t - last_check > 100000000u) {
			check_timeouts(cs, opt.conns, cb_next < n);
			last_check = t;
		}
	}
	t_end = now_ns();
	cpu1 = server_cpu_us();
	for (long i = 0; i < n; i++) {
		if (poll_status[i] == 1 && t_cb_sent[i]) {
			answered++;
			sample_add(&wake,
				   t_poll_ans[i] > t_cb_sent[i] ? t_poll_ans[i] - t_cb_sent[i] : 0);
			if (t_cb_ans[i])
				sample_add(&after, t_poll_ans[i] > t_cb_ans[i]
							   ? t_poll_ans[i] - t_cb_ans[i]
							   : 0);
		} else {
			lost++;
		}
		if (t_cb_ans[i] && t_cb_sent[i])
			sample_add(&cbl, t_cb_ans[i] - t_cb_sent[i]);
	}
	printf("callbacks_sent=%ld\ncallbacks_answered_200=%ld\ncallbacks_other=%ld\n", cb_next,
	       n_ok[K_CB], cb_wrong);
	printf("answered=%ld\nlost=%ld\nearly=%ld\npoll_wrong=%ld\nerrors=%ld\n", answered, lost,
	       early_answers, poll_wrong, n_errors);
	printf("burst_s=%.3f\n", (t_end - t_burst) / 1e9);
	print_lat("wake", &wake);
	print_lat("wake_after_cb_answer", &after);
	print_lat("cb_rtt", &cbl);
	printf("server_cpu_us_per_wake=%.1f\n", n ? (cpu1 - cpu0) / (double)n : -1);
}

/* One request on a blocking socket; 0 when a whole answer came back. */
static int probe_one(int fd, struct conn *c, struct resp *r)
{
	size_t off = 0;

	while (off < c->out_len) {
		ssize_t w = send(fd, c->out + off, c->out_len - off, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	c->in_len = 0;
	for (;;) {
		ssize_t rd = recv(fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		int pr;
		if (rd <= 0)
			return -1;
		c->in_len += (size_t)rd;
		if ((pr = parse_resp(c->in, c->in_len, c->in_cap, r)) < 0)
			return -1;
		if (pr == 1)
			return 0;
	}
}

static void run_probe(void)
{
	static struct conn c;
	static char in[IN_CAP];
	const char *names[] = { "reg", "cb", "poll" };
	char id[64] = "";
	struct resp r;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	c.in = in;
	c.in_cap = sizeof(in);
	if (fd < 0 || connect(fd, (struct sockaddr *)&inst_addr[0], sizeof(inst_addr[0])) != 0)
		die("connect");
	/* login 0 stays pending: its context page */
	build_request(&c, K_REG, 0, 0);
	if (probe_one(fd, &c, &r) != 0) {
		fprintf(stderr, "relay_cycle: probe: no answer to the registration\n");
		exit(1);
	}
	if (r.status == 201) {
		const char *p = memmem(r.body, r.body_len, "\"id\":\"", 6), *e;
		if (p && (e = memchr(p + 6, '"', r.body_len - (size_t)(p + 6 - r.body))) &&
		    (size_t)(e - p - 6) < sizeof(id)) {
			memcpy(id, p + 6, (size_t)(e - p - 6));
			id[e - p - 6] = '\0';
		}
	}
	printf("probe_id=%s\n", id[0] ? id : "-");
	for (int k = 0; k < K_N; k++) {
		build_request(&c, (enum kind)k, 1, 0);
		if (probe_one(fd, &c, &r) != 0)
			die("probe");
		printf("%s_status=%d\n%s_body_bytes=%zu\n%s_head_bytes=%zu\n", names[k], r.status,
		       names[k], r.body_len, names[k], r.consumed - r.body_len);
		if (k == K_POLL)
			printf("poll_has_code=%d\n", body_has_code(&r));
	}
	if (id[0]) {
		int n = snprintf(c.out, sizeof(c.out), "GET /l/%s HTTP/1.1\r\nHost: %s:%d\r\n\r\n",
				 id, opt.host, opt.port);
		c.out_len = (size_t)n;
		if (probe_one(fd, &c, &r) != 0)
			die("probe context page");
		printf("ctx_status=%d\nctx_body_bytes=%zu\nctx_head_bytes=%zu\n", r.status,
		       r.body_len, r.consumed - r.body_len);
	}
	close(fd);
}

static int parse_pids(const char *s)
{
	char *end;

	while (*s) {
		long v = strtol(s, &end, 10);
		if (end == s || v <= 0 || opt.npids == MAX_PIDS)
			return -1;
		opt.pids[opt.npids++] = (int)v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return 0;
}

static int read_secret(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(opt.secret, 1, sizeof(opt.secret) - 1, f);
	fclose(f);
	opt.secret[n] = '\0';
	opt.secret[strcspn(opt.secret, "\r\n")] = '\0';
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: relay_cycle cycle|fill|wake|probe --port P [--host IP] [--conns N] "
		"[--duration S] [--warmup S] [--count N] [--settle S] [--timeout S] "
		"[--secret-file F] [--base URL] [--endpoint URL] [--client ID] [--pid PID,...] "
		"[--ports P1,P2,P3 (cycle)] [--cb-port Q (wake)]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned char rnd[32], h[SHA256_DIGEST_LENGTH];
	char redirect[512];
	struct rlimit rl;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "cycle") == 0)
		opt.mode = MODE_CYCLE;
	else if (strcmp(argv[1], "fill") == 0)
		opt.mode = MODE_FILL;
	else if (strcmp(argv[1], "wake") == 0)
		opt.mode = MODE_WAKE;
	else if (strcmp(argv[1], "probe") == 0)
		opt.mode = MODE_PROBE;
	else
		usage();
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		i++;
		if (strcmp(a, "--port") == 0)
			opt.port = atoi(v);
		else if (strcmp(a, "--ports") == 0) {
			if (sscanf(v, "%d,%d,%d", &inst_port[0], &inst_port[1], &inst_port[2]) !=
				    3 ||
			    inst_port[1] <= 0 || inst_port[2] <= 0)
				usage();
			opt.port = inst_port[0];
			opt.multi = 1;
		} else if (strcmp(a, "--cb-port") == 0)
			inst_port[3] = atoi(v);
		else if (strcmp(a, "--host") == 0)
			opt.host = v;
		else if (strcmp(a, "--conns") == 0)
			opt.conns = atoi(v);
		else if (strcmp(a, "--duration") == 0)
			opt.duration = atof(v);
		else if (strcmp(a, "--warmup") == 0)
			opt.warmup = atof(v);
		else if (strcmp(a, "--settle") == 0)
			opt.settle = atof(v);
		else if (strcmp(a, "--timeout") == 0)
			opt.timeout = atof(v);
		else if (strcmp(a, "--count") == 0)
			opt.count = atol(v);
		else if (strcmp(a, "--base") == 0)
			opt.base = v;
		else if (strcmp(a, "--endpoint") == 0)
			opt.endpoint = v;
		else if (strcmp(a, "--client") == 0)
			opt.client = v;
		else if (strcmp(a, "--secret-file") == 0) {
			if (read_secret(v) != 0)
				die(v);
		} else if (strcmp(a, "--pid") == 0) {
			if (parse_pids(v) != 0)
				usage();
		} else
			usage();
	}
	if (opt.port <= 0 || opt.port > 65535 || opt.conns <= 0 || opt.count <= 0 ||
	    opt.duration <= 0)
		usage();
	if (opt.multi && opt.mode != MODE_CYCLE)
		usage();
	if (inst_port[3]) {
		if (opt.mode != MODE_WAKE || inst_port[3] > 65535 || inst_port[3] < 0)
			usage();
		opt.cb_inst = 3;
	}
	inst_port[0] = opt.port;
	for (int i = 0; i < MAX_INST; i++) {
		if (!inst_port[i])
			continue;
		if (inst_port[i] < 0 || inst_port[i] > 65535)
			usage();
		inst_addr[i].sin_family = AF_INET;
		inst_addr[i].sin_port = htons((uint16_t)inst_port[i]);
		if (inet_pton(AF_INET, opt.host, &inst_addr[i].sin_addr) != 1)
			usage();
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		die("getrandom");
	b64url(rnd, 21, prefix); /* 28 characters; 27 used */
	prefix[27] = '\0';
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		die("getrandom");
	b64url(rnd, 32, poll_secret);
	SHA256((const unsigned char *)poll_secret, strlen(poll_secret), h);
	b64url(h, sizeof(h), poll_hash);
	if (!opt.base) {
		static char b[64];
		snprintf(b, sizeof(b), "http://%s:%d", opt.host, opt.port);
		opt.base = b;
	}
	snprintf(redirect, sizeof(redirect), "%s/callback", opt.base);
	pct_encode(redirect, redirect_enc, sizeof(redirect_enc));
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	if (opt.mode == MODE_CYCLE)
		run_cycle();
	else if (opt.mode == MODE_FILL)
		run_fill();
	else if (opt.mode == MODE_PROBE)
		run_probe();
	else
		run_wake();
	fflush(stdout);
	return 0;
}
