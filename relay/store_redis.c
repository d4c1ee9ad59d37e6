/* store_redis.c: the relay store in Redis, for several relay instances.
 *
 * Keys (P = prefix, "o2r:" by default; they live as long as the login, PX =
 * its ttl):
 *   P s:<state>  hash: id, cs (csrf), ph (SHA-256 of the poll secret, 32
 *                raw bytes), u (authorization URL), h/sv/us/rh (context),
 *                cf (confirmation code, until the first callback), tt (ttl
 *                in ms, for "requested N s ago"), n (continues used), st
 *                (status 0..4 as enum store_status), tg (wake tag), and
 *                once a callback landed c/i (code, iss) or e/d (error,
 *                description)
 *   P i:<id>     string: the state, for the link pages
 *   P z          sorted set: state -> expiry (Redis TIME, ms); max_sessions
 *                is its size, cleaned of past entries by the scripts
 *   P w:<db>     pub/sub channel; a message is the tag of a login whose
 *                result changed (hex of SHA-256(state)[0..15])
 * Every decision is one Lua script (atomic in Redis): register (SET NX of
 * both keys + capacity), continue (csrf + counter), deny, callback (first
 * wins, conflict), poll (hand-out and DEL in the same step, so exactly one
 * poller on any instance gets a final answer).
 *
 * Waiters stay on the instance that holds the poll: a table tag -> waiters
 * and a deadline heap, under one local mutex, as in the memory store. A
 * subscriber thread per store (its own connection) wakes them when a
 * message for their tag arrives; after a wake the server polls again,
 * which reads Redis. A poll is checked for a message that raced with it
 * (per-tag generation counter) before it is held, so a wake is never lost.
 * When the subscription breaks or is re-established, every held poll is
 * woken to re-poll. Redis unreachable: every call fails closed (ERR_IO),
 * store_health says so, and connections come back by themselves with
 * backoff. Replies holding secrets are wiped before they are freed. */
#include "store_redis.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "err.h"
#include "hash.h"
#include "rand.h"
#include "secret.h"
#include "store_impl.h"

#define NPOOL	      8
#define TAG_LEN	      32
#define BACKOFF_MIN   50
#define BACKOFF_MAX   2000
#define PROBE_EVERY   1000 /* health: PING when nothing succeeded for this long */
#define PROBE_SPACING 250  /* and not more often than this */
#define PREFIX_MAX    64

/* ---- scripts ------------------------------------------------------------- */

enum { SC_REG, SC_VIEW, SC_CONT, SC_DENY, SC_CB, SC_POLL, SC_COUNT, SC_N };

/* Redis clock in ms (scripts may call TIME in Redis >= 5, effects
 * replication). */
#define LUA_NOW                                                                                    \
	"local t = redis.call('TIME') "                                                            \
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "

static const char *const script[SC_N] = {
	/* REG  KEYS: s i z  ARGV: ttl max state field value ... -> removed or -1 dup state,
	 * -2 dup id, -3 full (then {code, removed}) */
	LUA_NOW "local gone = redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) "
		"if redis.call('EXISTS', KEYS[1]) == 1 then return {-1, gone} end "
		"if redis.call('EXISTS', KEYS[2]) == 1 then return {-2, gone} end "
		"if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[2]) then return {-3, gone} end "
		"redis.call('HSET', KEYS[1], unpack(ARGV, 4)) "
		"redis.call('PEXPIRE', KEYS[1], ARGV[1]) "
		"redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[1]) "
		"redis.call('ZADD', KEYS[3], now + tonumber(ARGV[1]), ARGV[3]) "
		"return {0, gone}",
	/* VIEW  KEYS: i  ARGV: prefix -> nil or {st h sv us rh cs tt n pttl} */
	"local s = redis.call('GET', KEYS[1]) if not s then return false end "
	"local k = ARGV[1] .. 's:' .. s "
	"local h = redis.call('HMGET', k, 'st', 'h', 'sv', 'us', 'rh', 'cs', 'tt', 'n') "
	"if not h[1] then return false end "
	"h[9] = redis.call('PTTL', k) return h",
	/* CONT  KEYS: i  ARGV: prefix csrf -> {-1} not found, {-2} csrf, {-3} gone, {0, url} */
	"local s = redis.call('GET', KEYS[1]) if not s then return {-1} end "
	"local k = ARGV[1] .. 's:' .. s "
	"local h = redis.call('HMGET', k, 'cs', 'st', 'n', 'u') "
	"if not h[1] then return {-1} end "
	"if h[1] ~= ARGV[2] then return {-2} end "
	"if h[2] ~= '0' or tonumber(h[3]) >= 3 then return {-3} end "
	"redis.call('HINCRBY', k, 'n', 1) return {0, h[4]}",
	/* DENY  KEYS: i  ARGV: prefix csrf channel -> -1 not found, -2 csrf, 1 denied now, 0 */
	"local s = redis.call('GET', KEYS[1]) if not s then return -1 end "
	"local k = ARGV[1] .. 's:' .. s "
	"local h = redis.call('HMGET', k, 'cs', 'st', 'tg') "
	"if not h[1] then return -1 end "
	"if h[1] ~= ARGV[2] then return -2 end "
	"if h[2] == '0' or h[2] == '1' or h[2] == '2' then "
	"  redis.call('HDEL', k, 'c', 'i', 'e', 'd', 'cf') redis.call('HSET', k, 'st', 3) "
	"  redis.call('PUBLISH', ARGV[3], h[3]) return 1 end "
	"return 0",
	/* CB  KEYS: s  ARGV: channel kind(c|e) v1 has2(0|1) v2 ->
	 * {-1} not found, {0, id, confirm} first, {1, id} used, {2, id} used and now conflict */
	"local h = redis.call('HMGET', KEYS[1], 'st', 'tg', 'cf', 'c', 'i', 'e', 'd', 'id') "
	"if not h[1] then return {-1} end "
	"local f1, f2, want = 'c', 'i', '1' "
	"if ARGV[2] == 'e' then f1, f2, want = 'e', 'd', '2' end "
	"if h[1] == '0' then "
	"  redis.call('HSET', KEYS[1], 'st', want, f1, ARGV[3]) "
	"  if ARGV[4] == '1' then redis.call('HSET', KEYS[1], f2, ARGV[5]) end "
	"  redis.call('HDEL', KEYS[1], 'cf') redis.call('PUBLISH', ARGV[1], h[2]) "
	"  return {0, h[8], h[3] or ''} end "
	"if h[1] == '1' or h[1] == '2' then "
	"  local a, b = h[4], h[5] if ARGV[2] == 'e' then a, b = h[6], h[7] end "
	"  local same = h[1] == want and a == ARGV[3] and "
	"    ((ARGV[4] == '1' and b == ARGV[5]) or (ARGV[4] == '0' and not b)) "
	"  if not same then "
	"    redis.call('HDEL', KEYS[1], 'c', 'i', 'e', 'd') redis.call('HSET', KEYS[1], 'st', 4) "
	"    redis.call('PUBLISH', ARGV[1], h[2]) return {2, h[8]} end end "
	"return {1, h[8]}",
	/* POLL  KEYS: s z  ARGV: hash state prefix ->
	 * {-1} not found, {0, id, pttl} pending, {st, id, c, i, e, d} handed out (gone) */
	"local h = redis.call('HMGET', KEYS[1], 'ph', 'st', 'id', 'c', 'i', 'e', 'd') "
	"if not h[1] or h[1] ~= ARGV[1] then return {-1} end "
	"if h[2] == '0' then return {0, h[3], redis.call('PTTL', KEYS[1])} end "
	"redis.call('DEL', KEYS[1], ARGV[3] .. 'i:' .. h[3]) "
	"redis.call('ZREM', KEYS[2], ARGV[2]) "
	"return {tonumber(h[2]), h[3], h[4], h[5], h[6], h[7]}",
	/* COUNT  KEYS: z -> {removed, count} */
	LUA_NOW "local gone = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) "
		"return {gone, redis.call('ZCARD', KEYS[1])}",
};

/* ---- state ------------------------------------------------------------------ */

struct conn {
	pthread_mutex_t mu;
	redisContext *c;
};

/* The waiters of one login on this instance. */
struct went {
	struct went *next;
	char tag[TAG_LEN + 1];
	struct store_waiter *waiters; /* oldest first */
	unsigned n, refs;
	uint64_t gen;	    /* bumped by every wake-up message for this tag */
	uint64_t exp_local; /* when the login expires, on our clock */
};

struct rstore {
	char *host, *unix_path, *password;
	unsigned port, db, max;
	char prefix[PREFIX_MAX + 1], zkey[PREFIX_MAX + 8], chan[PREFIX_MAX + 24];
	struct timeval tv;
	char sha[SC_N][41];

	struct conn pool[NPOOL];
	atomic_uint rr;
	pthread_mutex_t bmu; /* backoff */
	uint64_t retry_at;
	unsigned backoff;
	atomic_int up;		  /* the last command or connect succeeded */
	_Atomic uint64_t last_ok; /* when something last succeeded */
	_Atomic uint64_t last_probe;

	pthread_t sub;
	int sub_started;
	atomic_int sub_ok, stop;
	pthread_mutex_t smu; /* sub_c and the stop condition */
	pthread_cond_t scv;
	redisContext *sub_c;

	pthread_mutex_t mu; /* everything below */
	struct went **tab;
	size_t mask;
	unsigned char key[16];
	struct store_waiter **dl;
	size_t dl_n, dl_cap;
	uint64_t epoch; /* bumped when the subscription breaks or comes back */
	_Atomic uint64_t next_due;
	int shutdown;
	struct store_stats st;
	uint64_t last_pending;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int is_len(const char *s, size_t n)
{
	return s && strnlen(s, n + 1) == n;
}

/* Wipes every string of a reply (codes, csrf tokens, URLs) and frees it. */
static void reply_free(redisReply *rp)
{
	if (!rp)
		return;
	if (rp->str)
		OPENSSL_cleanse(rp->str, rp->len);
	for (size_t i = 0; rp->type == REDIS_REPLY_ARRAY && i < rp->elements; i++)
		if (rp->element[i] && rp->element[i]->str)
			OPENSSL_cleanse(rp->element[i]->str, rp->element[i]->len);
	freeReplyObject(rp);
}

/* ---- connections --------------------------------------------------------------- */

static redisContext *rconnect(struct rstore *r)
{
	redisContext *c;
	redisReply *rp;
	char db[16];

	c = r->unix_path ? redisConnectUnixWithTimeout(r->unix_path, r->tv)
			 : redisConnectWithTimeout(r->host, (int)r->port, r->tv);
	if (!c || c->err)
		goto fail;
	if (redisSetTimeout(c, r->tv) != REDIS_OK)
		goto fail;
	if (!r->unix_path)
		redisEnableKeepAlive(c);
	if (r->password) {
		const char *argv[2] = { "AUTH", r->password };
		size_t len[2] = { 4, strlen(r->password) };

		rp = redisCommandArgv(c, 2, argv, len);
		if (!rp || rp->type == REDIS_REPLY_ERROR) {
			reply_free(rp);
			goto fail;
		}
		reply_free(rp);
	}
	if (r->db) {
		snprintf(db, sizeof(db), "%u", r->db);
		rp = redisCommand(c, "SELECT %s", db);
		if (!rp || rp->type == REDIS_REPLY_ERROR) {
			reply_free(rp);
			goto fail;
		}
		reply_free(rp);
	}
	return c;
fail:
	if (c)
		redisFree(c);
	return NULL;
}

static void note_ok(struct rstore *r)
{
	if (!r->up)
		r->up = 1;
	r->last_ok = mono_ms();
}

/* Connecting is allowed now (not inside a backoff window). */
static int may_connect(struct rstore *r)
{
	int ok;

	pthread_mutex_lock(&r->bmu);
	ok = mono_ms() >= r->retry_at;
	pthread_mutex_unlock(&r->bmu);
	return ok;
}

static void connect_result(struct rstore *r, int ok)
{
	pthread_mutex_lock(&r->bmu);
	if (ok) {
		r->backoff = 0;
		r->retry_at = 0;
	} else {
		r->backoff = r->backoff ? r->backoff * 2 : BACKOFF_MIN;
		if (r->backoff > BACKOFF_MAX)
			r->backoff = BACKOFF_MAX;
		r->retry_at = mono_ms() + r->backoff;
		r->up = 0;
	}
	pthread_mutex_unlock(&r->bmu);
}

static struct conn *conn_get(struct rstore *r)
{
	unsigned i0 = atomic_fetch_add(&r->rr, 1);

	for (unsigned k = 0; k < NPOOL; k++) {
		struct conn *cn = &r->pool[(i0 + k) % NPOOL];
		if (pthread_mutex_trylock(&cn->mu) == 0)
			return cn;
	}
	pthread_mutex_lock(&r->pool[i0 % NPOOL].mu);
	return &r->pool[i0 % NPOOL];
}

/* One command on a pooled connection (reconnecting when allowed). NULL on a
 * transport failure (the connection is dropped); a Redis error reply is
 * returned as is. */
static redisReply *rcmd(struct rstore *r, int argc, const char **argv, const size_t *len)
{
	struct conn *cn = conn_get(r);
	redisReply *rp = NULL;
	int fresh = 0;

again:
	if (!cn->c) {
		if (!may_connect(r))
			goto out;
		cn->c = rconnect(r);
		connect_result(r, cn->c != NULL);
		if (!cn->c)
			goto out;
		fresh = 1;
	}
	rp = redisCommandArgv(cn->c, argc, argv, len);
	if (!rp) {
		/* timeout or I/O error: the context is unusable */
		int gone = cn->c->err == REDIS_ERR_EOF ||
			   (cn->c->err == REDIS_ERR_IO && (errno == EPIPE || errno == ECONNRESET));

		redisFree(cn->c);
		cn->c = NULL;
		r->up = 0;
		/* A pooled connection that Redis closed while it sat idle (Redis
		 * restarted): the command never ran, try once on a new one. Even
		 * if it had run, a repeat is safe: a hand-out deletes the login
		 * in the same step, so the repeat finds nothing. */
		if (gone && !fresh)
			goto again;
		goto out;
	}
	note_ok(r);
out:
	pthread_mutex_unlock(&cn->mu);
	return rp;
}

/* EVALSHA, falling back to EVAL when Redis does not know the script (first
 * use, or Redis restarted). keys and args: nkeys + nargs strings. */
static redisReply *rscript(struct rstore *r, int which, int nkeys, int nargs, const char **kv,
			   const size_t *kvlen)
{
	const char *argv[40];
	size_t len[40];
	char nk[16];
	redisReply *rp;
	int argc = 3 + nkeys + nargs;

	if (argc > 40)
		return NULL;
	snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[0] = "EVALSHA";
	len[0] = 7;
	argv[1] = r->sha[which];
	len[1] = 40;
	argv[2] = nk;
	len[2] = strlen(nk);
	for (int i = 0; i < nkeys + nargs; i++) {
		argv[3 + i] = kv[i];
		len[3 + i] = kvlen ? kvlen[i] : strlen(kv[i]);
	}
	rp = rcmd(r, argc, argv, len);
	if (rp && rp->type == REDIS_REPLY_ERROR && strncmp(rp->str, "NOSCRIPT", 8) == 0) {
		reply_free(rp);
		argv[0] = "EVAL";
		len[0] = 4;
		argv[1] = script[which];
		len[1] = strlen(script[which]);
		rp = rcmd(r, argc, argv, len);
	}
	if (rp && rp->type == REDIS_REPLY_ERROR) {
		reply_free(rp); /* a script error: never guess, fail closed */
		return NULL;
	}
	return rp;
}

/* ---- the local waiter table ------------------------------------------------------ */

static uint64_t wait_key(const void *e)
{
	const struct store_waiter *w = e;
	const struct went *we = w->session;

	return we->exp_local < w->deadline_ms ? we->exp_local : w->deadline_ms;
}

static void wait_setidx(void *e, size_t i)
{
	((struct store_waiter *)e)->hidx = i;
}

static const struct store_heap_ops wait_ops = { wait_key, wait_setidx };

static void tag_of(const char *state, char tag[TAG_LEN + 1])
{
	hash_hex(state, STORE_STATE_LEN, TAG_LEN / 2, tag);
}

static struct went **slot_tag(struct rstore *r, const char *tag)
{
	struct went **pp = &r->tab[store_siphash(r->key, tag, TAG_LEN) & r->mask];

	for (; *pp; pp = &(*pp)->next)
		if (memcmp((*pp)->tag, tag, TAG_LEN) == 0)
			break;
	return pp;
}

static void update_due(struct rstore *r)
{
	r->next_due = r->dl_n ? wait_key(r->dl[0]) : UINT64_MAX;
}

static void went_release(struct rstore *r, struct went *we)
{
	struct went **pp;

	if (we->refs || we->n)
		return;
	pp = slot_tag(r, we->tag);
	if (*pp == we)
		*pp = we->next;
	free(we);
}

static void waiter_unlink(struct rstore *r, struct store_waiter *w)
{
	struct went *we = w->session;

	if (!w->linked)
		return;
	store_waiter_unlink(&we->waiters, w, (void **)r->dl, &r->dl_n, &wait_ops);
	we->n--;
	went_release(r, we);
}

static void waiter_queue(struct rstore *r, struct store_waiter *w, enum store_wake why,
			 struct store_waiter **list)
{
	waiter_unlink(r, w);
	w->why = why;
	w->w_next = *list;
	*list = w;
}

/* Every held poll re-polls (the subscription broke or came back). */
static void wake_all(struct rstore *r, enum store_wake why)
{
	struct store_waiter *wake = NULL;

	pthread_mutex_lock(&r->mu);
	r->epoch++;
	while (r->dl_n)
		waiter_queue(r, r->dl[0], why, &wake);
	update_due(r);
	pthread_mutex_unlock(&r->mu);
	store_deliver(wake);
}

static void wake_tag(struct rstore *r, const char *tag, size_t len)
{
	struct store_waiter *wake = NULL;
	struct went *we;

	if (len != TAG_LEN)
		return;
	pthread_mutex_lock(&r->mu);
	we = *slot_tag(r, tag);
	if (we) {
		we->gen++;
		we->refs++; /* stays while its waiters go */
		while (we->waiters)
			waiter_queue(r, we->waiters, STORE_WAKE_RESULT, &wake);
		we->refs--;
		went_release(r, we);
	}
	update_due(r);
	pthread_mutex_unlock(&r->mu);
	store_deliver(wake);
}

/* ---- subscriber thread ------------------------------------------------------------- */

static void sub_sleep(struct rstore *r, unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->smu);
	if (!r->stop)
		pthread_cond_timedwait(&r->scv, &r->smu, &ts);
	pthread_mutex_unlock(&r->smu);
}

static void *sub_main(void *arg)
{
	struct rstore *r = arg;
	unsigned backoff = 0;

	while (!r->stop) {
		redisContext *c = rconnect(r);
		redisReply *rp = NULL;
		struct timeval none = { 0, 0 };

		if (c) {
			const char *argv[2] = { "SUBSCRIBE", r->chan };
			size_t len[2] = { 9, strlen(r->chan) };

			rp = redisCommandArgv(c, 2, argv, len);
		}
		if (!rp || rp->type != REDIS_REPLY_ARRAY || redisSetTimeout(c, none) != REDIS_OK) {
			reply_free(rp);
			if (c)
				redisFree(c);
			backoff = backoff ? backoff * 2 : BACKOFF_MIN;
			if (backoff > BACKOFF_MAX)
				backoff = BACKOFF_MAX;
			sub_sleep(r, backoff);
			continue;
		}
		reply_free(rp);
		backoff = 0;
		pthread_mutex_lock(&r->smu);
		r->sub_c = c;
		if (r->stop)
			shutdown(c->fd, SHUT_RDWR);
		pthread_mutex_unlock(&r->smu);
		r->sub_ok = 1;
		/* a message may have been missed while we were not subscribed */
		wake_all(r, STORE_WAKE_RESULT);
		for (;;) {
			void *v = NULL;

			if (redisGetReply(c, &v) != REDIS_OK || !v)
				break;
			rp = v;
			if (rp->type == REDIS_REPLY_ARRAY && rp->elements == 3 &&
			    rp->element[0]->type == REDIS_REPLY_STRING &&
			    strcmp(rp->element[0]->str, "message") == 0 &&
			    rp->element[2]->type == REDIS_REPLY_STRING)
				wake_tag(r, rp->element[2]->str, rp->element[2]->len);
			reply_free(rp);
		}
		r->sub_ok = 0;
		pthread_mutex_lock(&r->smu);
		r->sub_c = NULL;
		pthread_mutex_unlock(&r->smu);
		redisFree(c);
		wake_all(r, STORE_WAKE_RESULT);
	}
	return NULL;
}

/* ---- backend calls ------------------------------------------------------------------- */

static void key_s(const struct rstore *r, const char *state, char *buf, size_t n)
{
	snprintf(buf, n, "%ss:%s", r->prefix, state);
}

static void key_i(const struct rstore *r, const char *id, char *buf, size_t n)
{
	snprintf(buf, n, "%si:%s", r->prefix, id);
}

#define KEYBUF (PREFIX_MAX + 64)

static int int_at(const redisReply *rp, size_t i, long long *v)
{
	if (!rp || rp->type != REDIS_REPLY_ARRAY || i >= rp->elements)
		return 0;
	if (rp->element[i]->type == REDIS_REPLY_INTEGER) {
		*v = rp->element[i]->integer;
		return 1;
	}
	return 0;
}

/* An element as a string: NULL when absent (nil) or not a string. */
static const redisReply *str_at(const redisReply *rp, size_t i)
{
	if (!rp || rp->type != REDIS_REPLY_ARRAY || i >= rp->elements ||
	    rp->element[i]->type != REDIS_REPLY_STRING)
		return NULL;
	return rp->element[i];
}

static int r_reg(void *impl, const struct store_new *n, uint64_t now)
{
	struct rstore *r = impl;
	char ks[KEYBUF], ki[KEYBUF], ttl[24], max[16], tag[TAG_LEN + 1];
	const char *kv[32];
	size_t len[32];
	int k = 0, rc;
	long long code = 0, gone = 0;
	redisReply *rp;

	pthread_mutex_lock(&r->mu);
	rc = r->shutdown;
	pthread_mutex_unlock(&r->mu);
	if (rc)
		return ERR_INTERNAL;
	key_s(r, n->state, ks, sizeof(ks));
	key_i(r, n->id, ki, sizeof(ki));
	snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)(n->expires_ms - now));
	snprintf(max, sizeof(max), "%u", r->max);
	tag_of(n->state, tag);
#define KV(s, l)                                                                                   \
	do {                                                                                       \
		kv[k] = (s);                                                                       \
		len[k] = (l);                                                                      \
		k++;                                                                               \
	} while (0)
#define KS(s) KV((s), strlen(s))
	KS(ks);
	KS(ki);
	KS(r->zkey);
	KS(ttl);
	KS(max);
	KV(n->state, STORE_STATE_LEN);
	KS("id");
	KV(n->id, STORE_ID_LEN);
	KS("cs");
	KV(n->csrf, STORE_CSRF_LEN);
	KS("ph");
	KV((const char *)n->poll_hash, STORE_HASH_LEN);
	KS("u");
	KS(n->auth_url);
	KS("h");
	KV(n->ctx.host, strnlen(n->ctx.host, STORE_CTX_MAX));
	KS("sv");
	KV(n->ctx.service, strnlen(n->ctx.service, STORE_CTX_MAX));
	KS("us");
	KV(n->ctx.user, strnlen(n->ctx.user, STORE_CTX_MAX));
	KS("rh");
	KV(n->ctx.rhost, strnlen(n->ctx.rhost, STORE_CTX_MAX));
	KS("tt");
	KS(ttl);
	KS("n");
	KS("0");
	KS("st");
	KS("0");
	KS("tg");
	KV(tag, TAG_LEN);
	if (n->confirm[0]) {
		KS("cf");
		KV(n->confirm, strnlen(n->confirm, STORE_CONFIRM_MAX));
	}
#undef KS
#undef KV
	rp = rscript(r, SC_REG, 3, k - 3, kv, len);
	if (!rp || !int_at(rp, 0, &code) || !int_at(rp, 1, &gone)) {
		reply_free(rp);
		return ERR_IO;
	}
	reply_free(rp);
	pthread_mutex_lock(&r->mu);
	r->st.expired += (uint64_t)gone;
	if (code == 0)
		r->st.registrations++;
	pthread_mutex_unlock(&r->mu);
	switch (code) {
	case 0:
		return ERR_OK;
	case -1:
		return ERR_RELAY_DUP;
	case -2:
		return ERR_RELAY_DUP_ID;
	case -3:
		return ERR_RELAY_FULL;
	}
	return ERR_IO;
}

static void copy_str(char *dst, size_t cap, const redisReply *e)
{
	size_t n = 0;

	if (e) {
		n = e->len < cap - 1 ? e->len : cap - 1;
		memcpy(dst, e->str, n);
	}
	dst[n] = '\0';
}

static long long num_of(const redisReply *e)
{
	return e ? strtoll(e->str, NULL, 10) : -1;
}

static int r_view(void *impl, const char *id, uint64_t now, struct store_link *out)
{
	struct rstore *r = impl;
	char ki[KEYBUF];
	const char *kv[2];
	redisReply *rp;
	long long st, tt, n, pttl;
	const redisReply *cs;

	key_i(r, id, ki, sizeof(ki));
	kv[0] = ki;
	kv[1] = r->prefix;
	rp = rscript(r, SC_VIEW, 1, 1, kv, NULL);
	if (!rp)
		return ERR_IO;
	if (rp->type != REDIS_REPLY_ARRAY || rp->elements != 9 || !int_at(rp, 8, &pttl) ||
	    pttl <= 0 || !(cs = str_at(rp, 5)) || cs->len != STORE_CSRF_LEN) {
		reply_free(rp);
		return ERR_RELAY_NOT_FOUND;
	}
	st = num_of(str_at(rp, 0));
	tt = num_of(str_at(rp, 6));
	n = num_of(str_at(rp, 7));
	memset(out, 0, sizeof(*out));
	out->status = st >= STORE_PENDING && st <= STORE_CONFLICT ? (enum store_status)st
								  : STORE_CONFLICT;
	copy_str(out->ctx.host, sizeof(out->ctx.host), str_at(rp, 1));
	copy_str(out->ctx.service, sizeof(out->ctx.service), str_at(rp, 2));
	copy_str(out->ctx.user, sizeof(out->ctx.user), str_at(rp, 3));
	copy_str(out->ctx.rhost, sizeof(out->ctx.rhost), str_at(rp, 4));
	copy_str(out->csrf, sizeof(out->csrf), cs);
	out->expires_ms = now + (uint64_t)pttl;
	out->created_ms =
		tt > pttl && now > (uint64_t)(tt - pttl) ? now - (uint64_t)(tt - pttl) : now;
	out->continues_left =
		n >= 0 && n < STORE_MAX_CONTINUES ? STORE_MAX_CONTINUES - (unsigned)n : 0;
	hash_sid(id, out->sid);
	reply_free(rp);
	return ERR_OK;
}

static int r_continue(void *impl, const char *id, const char *csrf, uint64_t now, char **url,
		      char sid[STORE_SID_LEN + 1])
{
	struct rstore *r = impl;
	char ki[KEYBUF];
	const char *kv[3];
	redisReply *rp;
	const redisReply *u;
	long long code;
	int ret;

	(void)now;
	if (!is_len(csrf, STORE_CSRF_LEN))
		csrf = "-"; /* never equal; same work */
	key_i(r, id, ki, sizeof(ki));
	kv[0] = ki;
	kv[1] = r->prefix;
	kv[2] = csrf;
	if (!(rp = rscript(r, SC_CONT, 1, 2, kv, NULL)))
		return ERR_IO;
	if (!int_at(rp, 0, &code))
		code = -1;
	ret = code == -2 ? ERR_RELAY_CSRF : code == -3 ? ERR_RELAY_GONE : ERR_RELAY_NOT_FOUND;
	if (code == 0) {
		ret = ERR_INTERNAL;
		if ((u = str_at(rp, 1)) && (*url = strndup(u->str, u->len)))
			ret = ERR_OK;
	}
	if (sid && code != -1)
		hash_sid(id, sid);
	reply_free(rp);
	return ret;
}

static int r_deny(void *impl, const char *id, const char *csrf, uint64_t now,
		  char sid[STORE_SID_LEN + 1])
{
	struct rstore *r = impl;
	char ki[KEYBUF];
	const char *kv[4];
	redisReply *rp;
	long long code;

	(void)now;
	if (!is_len(csrf, STORE_CSRF_LEN))
		csrf = "-";
	key_i(r, id, ki, sizeof(ki));
	kv[0] = ki;
	kv[1] = r->prefix;
	kv[2] = csrf;
	kv[3] = r->chan;
	if (!(rp = rscript(r, SC_DENY, 1, 3, kv, NULL)))
		return ERR_IO;
	code = rp->type == REDIS_REPLY_INTEGER ? rp->integer : -1;
	reply_free(rp);
	if (code == -1)
		return ERR_RELAY_NOT_FOUND;
	if (sid)
		hash_sid(id, sid);
	if (code == -2)
		return ERR_RELAY_CSRF;
	if (code == 1) {
		pthread_mutex_lock(&r->mu);
		r->st.denied++;
		pthread_mutex_unlock(&r->mu);
	}
	return ERR_OK;
}

static int r_callback(void *impl, const char *state, const struct store_callback *cb, uint64_t now,
		      char confirm[STORE_CONFIRM_MAX + 1], char sid[STORE_SID_LEN + 1])
{
	struct rstore *r = impl;
	char ks[KEYBUF];
	const char *kv[6], *v2;
	redisReply *rp;
	const redisReply *e;
	long long code;
	int is_code = cb->code != NULL, ret;

	(void)now;
	key_s(r, state, ks, sizeof(ks));
	v2 = is_code ? cb->iss : cb->error_description;
	kv[0] = ks;
	kv[1] = r->chan;
	kv[2] = is_code ? "c" : "e";
	kv[3] = is_code ? cb->code : cb->error;
	kv[4] = v2 ? "1" : "0";
	kv[5] = v2 ? v2 : "";
	if (!(rp = rscript(r, SC_CB, 1, 5, kv, NULL)))
		return ERR_IO;
	if (!int_at(rp, 0, &code))
		code = -1;
	ret = code == -1 ? ERR_RELAY_NOT_FOUND : code == 0 ? ERR_OK : ERR_RELAY_USED;
	if (sid && code != -1 && (e = str_at(rp, 1)))
		hash_sid(e->str, sid);
	if (code == 0 && confirm && is_code && (e = str_at(rp, 2)))
		copy_str(confirm, STORE_CONFIRM_MAX + 1, e);
	reply_free(rp);
	if (code == 0 || code == 2) {
		pthread_mutex_lock(&r->mu);
		if (code == 0)
			r->st.callbacks++;
		else
			r->st.conflicts++;
		pthread_mutex_unlock(&r->mu);
	}
	return ret;
}

static char *dup_el(const redisReply *rp, size_t i, int *fail)
{
	const redisReply *e = str_at(rp, i);
	char *d;

	if (!e)
		return NULL;
	if (!(d = strndup(e->str, e->len)))
		*fail = 1;
	return d;
}

/* The POLL script's keys: the state's key, the deadline set, the poll secret's
 * hash (a dummy when the caller has none), the state and the key prefix. */
static void poll_keys(const struct rstore *r, const char *state, const unsigned char *hash,
		      char ks[KEYBUF], const char *kv[5], size_t len[5])
{
	static const unsigned char dummy[STORE_HASH_LEN];

	key_s(r, state, ks, KEYBUF);
	kv[0] = ks;
	len[0] = strlen(ks);
	kv[1] = r->zkey;
	len[1] = strlen(r->zkey);
	kv[2] = (const char *)(hash ? hash : dummy);
	len[2] = STORE_HASH_LEN;
	kv[3] = state;
	len[3] = strlen(state);
	kv[4] = r->prefix;
	len[4] = strlen(r->prefix);
}

/* A long poll may be held: take a reference on the state's wake-up entry
 * (created if absent) and note its generation, before asking Redis. NULL: the
 * answer is given at once (no waiter, deadline past, shutdown, bad state, or
 * no memory for the entry). */
static struct went *poll_hold_begin(struct rstore *r, const char *state, const unsigned char *hash,
				    uint64_t now, const struct store_waiter *w, uint64_t *gen0,
				    uint64_t *epoch0)
{
	struct went *we = NULL, **pp;
	char tag[TAG_LEN + 1];

	pthread_mutex_lock(&r->mu);
	if (w && w->deadline_ms > now && !r->shutdown && hash && strlen(state) == STORE_STATE_LEN) {
		/* Registered before asking Redis: a wake-up message that lands
		 * between the answer and the arming bumps gen, so it is seen. */
		tag_of(state, tag);
		pp = slot_tag(r, tag);
		if (!(we = *pp) && (we = calloc(1, sizeof(*we)))) {
			memcpy(we->tag, tag, sizeof(we->tag));
			we->exp_local = UINT64_MAX;
			*pp = we;
		}
		if (we) {
			we->refs++;
			*gen0 = we->gen;
			*epoch0 = r->epoch;
		}
	}
	pthread_mutex_unlock(&r->mu);
	return we;
}

static void poll_hold_end(struct rstore *r, struct went *we)
{
	if (!we)
		return;
	pthread_mutex_lock(&r->mu);
	we->refs--;
	went_release(r, we);
	pthread_mutex_unlock(&r->mu);
}

/* A final status from the POLL script: copy the result out of the reply. */
static void poll_take_result(struct rstore *r, const redisReply *rp, long long st,
			     struct store_result *out)
{
	int fail = 0;

	if (st > STORE_CONFLICT)
		st = STORE_CONFLICT;
	out->status = (enum store_status)st;
	out->code = dup_el(rp, 2, &fail);
	out->iss = dup_el(rp, 3, &fail);
	out->error = dup_el(rp, 4, &fail);
	out->error_description = dup_el(rp, 5, &fail);
	if (fail) {
		/* handed out in Redis, lost here: fail closed */
		store_result_cleanup(out);
		out->status = STORE_CONFLICT;
	}
	if (st == STORE_CODE && !fail) {
		pthread_mutex_lock(&r->mu);
		r->st.handed_out++;
		pthread_mutex_unlock(&r->mu);
	}
}

#define POLL_AGAIN 2 /* poll_park: the result changed while we asked */

/* Still pending and held: arm the waiter on the state's entry, unless the
 * entry changed since poll_hold_begin (POLL_AGAIN, at most 3 times) or it
 * cannot wait (ERR_OK: answer pending now). STORE_WAITING once armed. */
static int poll_park(struct rstore *r, struct went *we, struct store_waiter *w, uint64_t now,
		     long long pttl, int tries, uint64_t *gen0, uint64_t *epoch0,
		     struct store_waiter **wake)
{
	pthread_mutex_lock(&r->mu);
	if ((we->gen != *gen0 || r->epoch != *epoch0) && tries < 3) {
		/* the result changed while we asked: ask again */
		*gen0 = we->gen;
		*epoch0 = r->epoch;
		pthread_mutex_unlock(&r->mu);
		return POLL_AGAIN;
	}
	if (r->shutdown || pttl <= 0 ||
	    store_heap_room((void ***)&r->dl, r->dl_n, &r->dl_cap) != 0) {
		pthread_mutex_unlock(&r->mu);
		return ERR_OK; /* answer pending now */
	}
	if (we->n >= STORE_MAX_WAITERS)
		waiter_queue(r, we->waiters, STORE_WAKE_REPLACED, wake);
	if (we->n == 0)
		we->exp_local = now + (uint64_t)pttl;
	w->arm(w);
	w->why = STORE_WAKE_NONE;
	store_waiter_link(&we->waiters, we, w, (void **)r->dl, &r->dl_n, &wait_ops);
	we->n++;
	update_due(r);
	pthread_mutex_unlock(&r->mu);
	return STORE_WAITING;
}

static int r_poll(void *impl, const char *state, const unsigned char *hash, uint64_t now,
		  struct store_waiter *w, struct store_result *out)
{
	struct rstore *r = impl;
	struct store_waiter *wake = NULL;
	struct went *we;
	char ks[KEYBUF];
	const char *kv[5];
	size_t len[5];
	redisReply *rp = NULL;
	long long st = -1, pttl = 0;
	uint64_t gen0 = 0, epoch0 = 0;
	int ret = ERR_RELAY_NOT_FOUND;

	memset(out, 0, sizeof(*out));
	if (!is_len(state, STORE_STATE_LEN))
		state = "-";
	poll_keys(r, state, hash, ks, kv, len);
	we = poll_hold_begin(r, state, hash, now, w, &gen0, &epoch0);

	for (int tries = 0;; tries++) {
		rp = rscript(r, SC_POLL, 2, 3, kv, len);
		if (!rp) {
			ret = ERR_IO;
			break;
		}
		if (!int_at(rp, 0, &st) || st < 0) {
			ret = ERR_RELAY_NOT_FOUND;
			break;
		}
		if (str_at(rp, 1))
			hash_sid(str_at(rp, 1)->str, out->sid);
		if (st != STORE_PENDING) {
			poll_take_result(r, rp, st, out);
			ret = ERR_OK;
			break;
		}
		out->status = STORE_PENDING;
		ret = ERR_OK;
		if (!we)
			break;
		int_at(rp, 2, &pttl);
		ret = poll_park(r, we, w, now, pttl, tries, &gen0, &epoch0, &wake);
		if (ret != POLL_AGAIN)
			break;
		reply_free(rp);
		rp = NULL;
	}
	reply_free(rp);
	if (ret != ERR_OK && ret != STORE_WAITING)
		memset(out->sid, 0, sizeof(out->sid));
	poll_hold_end(r, we);
	store_deliver(wake);
	return ret;
}

static int r_cancel(void *impl, struct store_waiter *w)
{
	struct rstore *r = impl;
	int was;

	pthread_mutex_lock(&r->mu);
	was = w->linked;
	waiter_unlink(r, w);
	update_due(r);
	pthread_mutex_unlock(&r->mu);
	return was;
}

static size_t r_tick(void *impl, uint64_t now, uint64_t *next)
{
	struct rstore *r = impl;
	struct store_waiter *wake = NULL;
	size_t expired = 0;

	pthread_mutex_lock(&r->mu);
	while (r->dl_n && wait_key(r->dl[0]) <= now) {
		struct store_waiter *w = r->dl[0];
		struct went *we = w->session;
		int exp = we->exp_local <= now;

		if (exp && we->n == 1)
			expired++; /* the last waiter of a login that expired */
		waiter_queue(r, w, exp ? STORE_WAKE_EXPIRED : STORE_WAKE_TIMEOUT, &wake);
	}
	update_due(r);
	if (next)
		*next = r->next_due;
	pthread_mutex_unlock(&r->mu);
	store_deliver(wake);
	return expired;
}

static uint64_t r_next_due(void *impl)
{
	return ((struct rstore *)impl)->next_due;
}

static void r_shutdown(void *impl)
{
	struct rstore *r = impl;
	struct store_waiter *wake = NULL;

	pthread_mutex_lock(&r->mu);
	r->shutdown = 1;
	while (r->dl_n)
		waiter_queue(r, r->dl[0], STORE_WAKE_SHUTDOWN, &wake);
	update_due(r);
	pthread_mutex_unlock(&r->mu);
	store_deliver(wake);
}

/* Logins in Redis (all instances); the last known count when it cannot
 * be asked. */
static size_t r_count(void *impl)
{
	struct rstore *r = impl;
	const char *kv[1] = { r->zkey };
	redisReply *rp = rscript(r, SC_COUNT, 1, 0, kv, NULL);
	long long gone = 0, n = 0;
	size_t res;

	pthread_mutex_lock(&r->mu);
	if (rp && int_at(rp, 0, &gone) && int_at(rp, 1, &n)) {
		r->st.expired += (uint64_t)gone;
		r->last_pending = (uint64_t)n;
	}
	res = r->last_pending;
	pthread_mutex_unlock(&r->mu);
	reply_free(rp);
	return res;
}

static int r_health(void *impl)
{
	struct rstore *r = impl;
	uint64_t now = mono_ms();

	if (!r->sub_ok)
		return ERR_IO;
	if (r->up && now - r->last_ok < PROBE_EVERY)
		return ERR_OK;
	if (now - r->last_probe >= PROBE_SPACING) {
		const char *argv[1] = { "PING" };
		size_t len[1] = { 4 };
		redisReply *rp;

		r->last_probe = now;
		rp = rcmd(r, 1, argv, len);
		if (rp && rp->type == REDIS_REPLY_ERROR)
			r->up = 0;
		reply_free(rp);
	}
	return r->up ? ERR_OK : ERR_IO;
}

static void r_stats(void *impl, struct store_stats *out)
{
	struct rstore *r = impl;
	size_t pending = r_count(r);

	pthread_mutex_lock(&r->mu);
	*out = r->st;
	out->pending = pending;
	out->held = r->dl_n;
	pthread_mutex_unlock(&r->mu);
}

static void r_free(void *impl)
{
	struct rstore *r = impl;

	if (!r)
		return;
	if (r->sub_started) {
		pthread_mutex_lock(&r->smu);
		r->stop = 1;
		if (r->sub_c)
			shutdown(r->sub_c->fd, SHUT_RDWR);
		pthread_cond_broadcast(&r->scv);
		pthread_mutex_unlock(&r->smu);
		pthread_join(r->sub, NULL);
	}
	for (int i = 0; i < NPOOL; i++) {
		if (r->pool[i].c)
			redisFree(r->pool[i].c);
		pthread_mutex_destroy(&r->pool[i].mu);
	}
	for (size_t i = 0; r->tab && i <= r->mask; i++)
		while (r->tab[i]) {
			struct went *we = r->tab[i];
			r->tab[i] = we->next;
			free(we);
		}
	free(r->tab);
	free(r->dl);
	free(r->host);
	free(r->unix_path);
	secret_str_free(r->password);
	pthread_mutex_destroy(&r->mu);
	pthread_mutex_destroy(&r->bmu);
	pthread_mutex_destroy(&r->smu);
	pthread_cond_destroy(&r->scv);
	OPENSSL_cleanse(r->key, sizeof(r->key));
	free(r);
}

static const struct store_backend redis_backend = {
	.free = r_free,
	.reg = r_reg,
	.link_view = r_view,
	.link_continue = r_continue,
	.link_deny = r_deny,
	.callback = r_callback,
	.poll = r_poll,
	.cancel = r_cancel,
	.tick = r_tick,
	.next_due = r_next_due,
	.shutdown = r_shutdown,
	.count = r_count,
	.health = r_health,
	.stats = r_stats,
};

int store_redis_new(const struct store_redis_conf *c, struct store **out)
{
	struct rstore *r;
	const char *prefix;
	size_t n = 16;
	int ret = ERR_NOMEM;

	if (!c || !out || c->max_sessions == 0 || (!c->unix_path && (!c->host || !c->port)))
		return ERR_INVAL;
	prefix = c->prefix ? c->prefix : "o2r:";
	if (strlen(prefix) > PREFIX_MAX)
		return ERR_INVAL;
	if (!(r = calloc(1, sizeof(*r))))
		return ERR_NOMEM;
	pthread_mutex_init(&r->mu, NULL);
	pthread_mutex_init(&r->bmu, NULL);
	pthread_mutex_init(&r->smu, NULL);
	pthread_cond_init(&r->scv, NULL);
	for (int i = 0; i < NPOOL; i++)
		pthread_mutex_init(&r->pool[i].mu, NULL);
	while (n < c->max_sessions && n < ((size_t)1 << 16))
		n <<= 1;
	r->mask = n - 1;
	r->next_due = UINT64_MAX;
	r->port = c->port;
	r->db = c->db;
	r->max = c->max_sessions;
	r->tv.tv_sec = (c->timeout_ms ? c->timeout_ms : 1000) / 1000;
	r->tv.tv_usec = (long)((c->timeout_ms ? c->timeout_ms : 1000) % 1000) * 1000;
	snprintf(r->prefix, sizeof(r->prefix), "%s", prefix);
	snprintf(r->zkey, sizeof(r->zkey), "%sz", prefix);
	snprintf(r->chan, sizeof(r->chan), "%sw:%u", prefix, c->db);
	if (!(r->tab = calloc(n, sizeof(*r->tab))) || (c->host && !(r->host = strdup(c->host))) ||
	    (c->unix_path && !(r->unix_path = strdup(c->unix_path))) ||
	    (c->password && !(r->password = strdup(c->password))))
		goto fail;
	if ((ret = rand_bytes(r->key, sizeof(r->key))) != 0)
		goto fail;
	for (int i = 0; i < SC_N; i++) {
		unsigned char md[SHA_DIGEST_LENGTH];

		SHA1((const unsigned char *)script[i], strlen(script[i]), md);
		for (int j = 0; j < SHA_DIGEST_LENGTH; j++)
			snprintf(r->sha[i] + 2 * j, 3, "%02x", md[j]);
	}
	ret = ERR_INTERNAL;
	if (pthread_create(&r->sub, NULL, sub_main, r) != 0)
		goto fail;
	r->sub_started = 1;
	{
		/* First contact now, so the log at start says whether it works. */
		const char *argv[1] = { "PING" };
		size_t len[1] = { 4 };
		reply_free(rcmd(r, 1, argv, len));
	}
	if ((ret = store_wrap(&redis_backend, r, out)) != 0)
		goto fail;
	return ERR_OK;
fail:
	r_free(r);
	return ret;
}
