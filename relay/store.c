/* store.c: the in-memory store. Two chained hash tables (by state, by link
 * id) keyed with SipHash-2-4 under a random key, so registrations with
 * chosen states cannot pile into one bucket; two binary min-heaps, sessions
 * by expiry and held polls by deadline, so housekeeping costs O(log n) per
 * session or poll that is due and nothing for the rest. One mutex.
 * Wake-ups are collected under the lock and delivered after it is
 * released. Also the front of every backend: a store made by store_wrap
 * forwards each call to its backend (store_impl.h). */
#include "store.h"

#include "store_impl.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hash.h"
#include "rand.h"
#include "secret.h"

struct session {
	struct session *next_state, *next_id;
	size_t hidx; /* position in the expiry heap */
	char state[STORE_STATE_LEN + 1];
	char id[STORE_ID_LEN + 1];
	char csrf[STORE_CSRF_LEN + 1];
	char sid[STORE_SID_LEN + 1];
	unsigned char poll_hash[STORE_HASH_LEN];
	/* One allocation, exactly sized: the authorization URL, then host,
	 * service, user and rhost, each NUL-terminated (a fixed struct
	 * store_context would cost 516 bytes per login; ~40 are used). */
	char *text;
	size_t text_len;
	unsigned short off_ctx[4];
	char confirm[STORE_CONFIRM_MAX + 1];
	uint64_t created_ms, expires_ms, landed_ms;
	unsigned continues;
	enum store_status status;
	char *code, *iss, *error, *error_description;
	struct store_waiter *waiters; /* oldest first */
	unsigned n_waiters;
};

struct store {
	const struct store_backend *be; /* NULL: this memory store */
	void *impl;
	pthread_mutex_t mu;
	struct session **by_state, **by_id;
	size_t mask; /* buckets - 1, a power of two minus one */
	unsigned char key[16];
	struct session **exp; /* min-heap by expires_ms; exp_n == count */
	size_t exp_cap;
	struct store_waiter **dl; /* min-heap of held polls by deadline_ms */
	size_t dl_n, dl_cap;
	size_t count, max;
	_Atomic uint64_t next_due; /* earliest expiry or deadline, for store_next_due */
	int shutdown;
	struct store_stats st; /* counters (pending and held filled on read) */
};

/* ---- SipHash-2-4 (Aumasson, Bernstein), reference layout --------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = ROTL(v1, 13);                                                                 \
		v1 ^= v0;                                                                          \
		v0 = ROTL(v0, 32);                                                                 \
		v2 += v3;                                                                          \
		v3 = ROTL(v3, 16);                                                                 \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = ROTL(v3, 21);                                                                 \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = ROTL(v1, 17);                                                                 \
		v1 ^= v2;                                                                          \
		v2 = ROTL(v2, 32);                                                                 \
	} while (0)

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t siphash(const unsigned char key[16], const unsigned char *in, size_t len)
{
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t k = 0; k < left; k++)
		b |= (uint64_t)in[i + k] << (8 * k);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t store_siphash(const unsigned char key[16], const void *in, size_t len)
{
	return siphash(key, in, len);
}

/* ---- helpers ------------------------------------------------------------ */

static int is_len(const char *s, size_t n)
{
	return s && strnlen(s, n + 1) == n;
}

static size_t bucket(const struct store *s, const char *key, size_t len)
{
	return (size_t)siphash(s->key, (const unsigned char *)key, len) & s->mask;
}

static char *dup_opt(const char *p, int *fail)
{
	char *d;

	if (!p)
		return NULL;
	if (!(d = strdup(p)))
		*fail = 1;
	return d;
}

/* Constant-time equality of two optional strings (lengths may leak). */
static int opt_equal(const char *a, const char *b)
{
	size_t la, lb;

	if (!a || !b)
		return !a && !b;
	la = strlen(a);
	lb = strlen(b);
	return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

const char *store_status_name(enum store_status st)
{
	switch (st) {
	case STORE_PENDING:
		return "pending";
	case STORE_CODE:
		return "code";
	case STORE_ERROR:
		return "error";
	case STORE_DENIED:
		return "denied";
	case STORE_CONFLICT:
		return "conflict";
	case STORE_EXPIRED:
		return "expired";
	}
	return "?";
}

static void clear_result(struct session *se)
{
	secret_str_free(se->code);
	secret_str_free(se->iss);
	secret_str_free(se->error);
	secret_str_free(se->error_description);
	se->code = se->iss = se->error = se->error_description = NULL;
}

static const char *ctx_field(const struct store_context *c, int k)
{
	return k == 0 ? c->host : k == 1 ? c->service : k == 2 ? c->user : c->rhost;
}

/* se->text = auth_url NUL host NUL service NUL user NUL rhost NUL. */
static int text_pack(struct session *se, const struct store_new *n)
{
	size_t ul = strlen(n->auth_url), len = ul + 1, at;

	for (int k = 0; k < 4; k++)
		len += strnlen(ctx_field(&n->ctx, k), STORE_CTX_MAX) + 1;
	if (len > 65535 || !(se->text = malloc(len)))
		return -1;
	memcpy(se->text, n->auth_url, ul + 1);
	at = ul + 1;
	for (int k = 0; k < 4; k++) {
		const char *f = ctx_field(&n->ctx, k);
		size_t fl = strnlen(f, STORE_CTX_MAX);
		se->off_ctx[k] = (unsigned short)at;
		memcpy(se->text + at, f, fl);
		se->text[at + fl] = '\0';
		at += fl + 1;
	}
	se->text_len = len;
	return 0;
}

static void text_unpack(const struct session *se, struct store_context *c)
{
	char *dst[4] = { c->host, c->service, c->user, c->rhost };

	for (int k = 0; k < 4; k++)
		snprintf(dst[k], STORE_CTX_MAX + 1, "%s", se->text + se->off_ctx[k]);
}

static void session_free(struct session *se)
{
	if (!se)
		return;
	clear_result(se);
	secret_free(se->text, se->text_len);
	secret_free(se, sizeof(*se));
}

/* Lookups: the slot that points at the match (or at the chain's end). Keys
 * are compared in constant time; the caller checked the length. */
static struct session **slot_state(struct store *s, const char *state)
{
	struct session **pp = &s->by_state[bucket(s, state, STORE_STATE_LEN)];

	for (; *pp; pp = &(*pp)->next_state)
		if (CRYPTO_memcmp((*pp)->state, state, STORE_STATE_LEN) == 0)
			break;
	return pp;
}

static struct session **slot_id(struct store *s, const char *id)
{
	struct session **pp = &s->by_id[bucket(s, id, STORE_ID_LEN)];

	for (; *pp; pp = &(*pp)->next_id)
		if (CRYPTO_memcmp((*pp)->id, id, STORE_ID_LEN) == 0)
			break;
	return pp;
}

static int live(const struct session *se, uint64_t now)
{
	return se && now < se->expires_ms;
}

/* ---- heaps ---------------------------------------------------------------
 * Two binary min-heaps with back-pointers (hidx), so any element leaves in
 * O(log n). One generic sift over an array of pointers: key() and setidx()
 * reach into a session or a waiter. */

static uint64_t sess_key(const void *e)
{
	return ((const struct session *)e)->expires_ms;
}

static void sess_setidx(void *e, size_t i)
{
	((struct session *)e)->hidx = i;
}

static uint64_t wait_key(const void *e)
{
	return ((const struct store_waiter *)e)->deadline_ms;
}

static void wait_setidx(void *e, size_t i)
{
	((struct store_waiter *)e)->hidx = i;
}

static const struct store_heap_ops sess_ops = { sess_key, sess_setidx };
static const struct store_heap_ops wait_ops = { wait_key, wait_setidx };

static void heap_place(void **h, size_t i, void *e, const struct store_heap_ops *o)
{
	h[i] = e;
	o->setidx(e, i);
}

/* Moves h[i] to where it belongs. */
void store_heap_fix(void **h, size_t n, size_t i, const struct store_heap_ops *o)
{
	void *e = h[i];
	uint64_t k = o->key(e);

	while (i > 0 && o->key(h[(i - 1) / 2]) > k) {
		heap_place(h, i, h[(i - 1) / 2], o);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && o->key(h[c + 1]) < o->key(h[c]))
			c++;
		if (o->key(h[c]) >= k)
			break;
		heap_place(h, i, h[c], o);
		i = c;
	}
	heap_place(h, i, e, o);
}

/* Appends e; the caller made room. */
void store_heap_push(void **h, size_t *n, void *e, const struct store_heap_ops *o)
{
	heap_place(h, *n, e, o);
	(*n)++;
	store_heap_fix(h, *n, *n - 1, o);
}

void store_heap_remove(void **h, size_t *n, size_t i, const struct store_heap_ops *o)
{
	(*n)--;
	if (i == *n)
		return;
	heap_place(h, i, h[*n], o);
	store_heap_fix(h, *n, i, o);
}

/* Room for one more element. */
int store_heap_room(void ***h, size_t n, size_t *cap)
{
	void **nh;
	size_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 64;
	if (!(nh = realloc(*h, nc * sizeof(**h))))
		return -1;
	*h = nh;
	*cap = nc;
	return 0;
}

/* Publishes the earliest due time for store_next_due (under the lock). */
static void update_due(struct store *s)
{
	uint64_t due = UINT64_MAX;

	if (s->count && s->exp[0]->expires_ms < due)
		due = s->exp[0]->expires_ms;
	if (s->dl_n && s->dl[0]->deadline_ms < due)
		due = s->dl[0]->deadline_ms;
	s->next_due = due;
}

/* ---- waiters -------------------------------------------------------------- */

static void waiter_unlink(struct store *s, struct store_waiter *w)
{
	struct session *se = w->session;

	if (!w->linked)
		return;
	store_waiter_unlink(&se->waiters, w, (void **)s->dl, &s->dl_n, &wait_ops);
	se->n_waiters--;
}

void store_waiter_link(struct store_waiter **head, void *owner, struct store_waiter *w, void **dl,
		       size_t *dl_n, const struct store_heap_ops *o)
{
	w->session = owner;
	w->linked = 1;
	w->w_next = NULL;
	w->s_next = NULL;
	w->s_prev = *head;
	while (w->s_prev && w->s_prev->s_next) /* at most STORE_MAX_WAITERS */
		w->s_prev = w->s_prev->s_next;
	if (w->s_prev)
		w->s_prev->s_next = w;
	else
		*head = w;
	store_heap_push(dl, dl_n, w, o);
}

void store_waiter_unlink(struct store_waiter **head, struct store_waiter *w, void **dl,
			 size_t *dl_n, const struct store_heap_ops *o)
{
	if (w->s_prev)
		w->s_prev->s_next = w->s_next;
	else
		*head = w->s_next;
	if (w->s_next)
		w->s_next->s_prev = w->s_prev;
	store_heap_remove(dl, dl_n, w->hidx, o);
	w->s_prev = w->s_next = NULL;
	w->session = NULL;
	w->linked = 0;
}

/* Unlinks w and queues it on *list for delivery after the unlock. */
static void waiter_queue(struct store *s, struct store_waiter *w, enum store_wake why,
			 struct store_waiter **list)
{
	waiter_unlink(s, w);
	w->why = why;
	w->w_next = *list;
	*list = w;
}

static void wake_session(struct store *s, struct session *se, enum store_wake why,
			 struct store_waiter **list)
{
	while (se->waiters)
		waiter_queue(s, se->waiters, why, list);
}

void store_deliver(struct store_waiter *list)
{
	while (list) {
		struct store_waiter *next = list->w_next;
		list->w_next = NULL;
		list->wake(list);
		list = next;
	}
}

static void session_remove(struct store *s, struct session *se, enum store_wake why,
			   struct store_waiter **list)
{
	struct session **pp;

	wake_session(s, se, why, list);
	pp = slot_state(s, se->state);
	if (*pp == se)
		*pp = se->next_state;
	pp = slot_id(s, se->id);
	if (*pp == se)
		*pp = se->next_id;
	store_heap_remove((void **)s->exp, &s->count, se->hidx, &sess_ops);
	session_free(se);
}

/* ---- public ----------------------------------------------------------------- */

int store_new(unsigned max_sessions, struct store **out)
{
	struct store *s;
	size_t n = 16;
	int r;

	if (!out || max_sessions == 0)
		return ERR_INVAL;
	while (n < max_sessions && n < ((size_t)1 << 20))
		n <<= 1;
	if (!(s = calloc(1, sizeof(*s))))
		return ERR_NOMEM;
	if (!(s->by_state = calloc(n, sizeof(*s->by_state))) ||
	    !(s->by_id = calloc(n, sizeof(*s->by_id)))) {
		free(s->by_state);
		free(s);
		return ERR_NOMEM;
	}
	if ((r = rand_bytes(s->key, sizeof(s->key))) != 0 ||
	    pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s->by_state);
		free(s->by_id);
		free(s);
		return r ? r : ERR_INTERNAL;
	}
	s->mask = n - 1;
	s->max = max_sessions;
	s->next_due = UINT64_MAX;
	*out = s;
	return ERR_OK;
}

int store_wrap(const struct store_backend *be, void *impl, struct store **out)
{
	struct store *s;

	if (!be || !impl || !out)
		return ERR_INVAL;
	if (!(s = calloc(1, sizeof(*s))))
		return ERR_NOMEM;
	s->be = be;
	s->impl = impl;
	*out = s;
	return ERR_OK;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	if (s->be) {
		s->be->free(s->impl);
		free(s);
		return;
	}
	for (size_t i = 0; i < s->count; i++)
		session_free(s->exp[i]);
	free(s->exp);
	free(s->dl);
	pthread_mutex_destroy(&s->mu);
	free(s->by_state);
	free(s->by_id);
	OPENSSL_cleanse(s->key, sizeof(s->key));
	free(s);
}

int store_register(struct store *s, const struct store_new *n, uint64_t now)
{
	struct store_waiter *wake = NULL;
	struct session *se, **ps, **pi;
	int r = ERR_INTERNAL;

	if (!s || !n || !is_len(n->state, STORE_STATE_LEN) || !is_len(n->id, STORE_ID_LEN) ||
	    !is_len(n->csrf, STORE_CSRF_LEN) || !n->auth_url || n->expires_ms <= now)
		return ERR_INVAL;
	if (s->be)
		return s->be->reg(s->impl, n, now);
	pthread_mutex_lock(&s->mu);
	if (s->shutdown)
		goto out;
	/* An expired session not yet swept must not block its state or id. */
	ps = slot_state(s, n->state);
	if (*ps && !live(*ps, now)) {
		session_remove(s, *ps, STORE_WAKE_EXPIRED, &wake);
		s->st.expired++;
	}
	pi = slot_id(s, n->id);
	if (*pi && !live(*pi, now)) {
		session_remove(s, *pi, STORE_WAKE_EXPIRED, &wake);
		s->st.expired++;
	}
	if (*(ps = slot_state(s, n->state))) {
		r = ERR_RELAY_DUP;
		goto out;
	}
	if (*(pi = slot_id(s, n->id))) {
		r = ERR_RELAY_DUP_ID;
		goto out;
	}
	if (s->count >= s->max) {
		r = ERR_RELAY_FULL;
		goto out;
	}
	r = ERR_NOMEM;
	if (store_heap_room((void ***)&s->exp, s->count, &s->exp_cap) != 0 ||
	    !(se = calloc(1, sizeof(*se))))
		goto out;
	if (text_pack(se, n) != 0) {
		free(se);
		goto out;
	}
	memcpy(se->state, n->state, sizeof(se->state));
	memcpy(se->id, n->id, sizeof(se->id));
	memcpy(se->csrf, n->csrf, sizeof(se->csrf));
	memcpy(se->poll_hash, n->poll_hash, sizeof(se->poll_hash));
	memcpy(se->confirm, n->confirm, sizeof(se->confirm));
	se->confirm[STORE_CONFIRM_MAX] = '\0';
	hash_sid(se->id, se->sid);
	se->created_ms = now;
	se->expires_ms = n->expires_ms;
	se->status = STORE_PENDING;
	*ps = se;
	*pi = se;
	store_heap_push((void **)s->exp, &s->count, se, &sess_ops);
	s->st.registrations++;
	r = ERR_OK;
out:
	update_due(s);
	pthread_mutex_unlock(&s->mu);
	store_deliver(wake);
	return r;
}

int store_link_view(struct store *s, const char *id, uint64_t now, struct store_link *out)
{
	struct session *se;
	int r = ERR_RELAY_NOT_FOUND;

	if (!s || !out || !is_len(id, STORE_ID_LEN))
		return ERR_RELAY_NOT_FOUND;
	if (s->be)
		return s->be->link_view(s->impl, id, now, out);
	pthread_mutex_lock(&s->mu);
	se = *slot_id(s, id);
	if (live(se, now)) {
		memset(out, 0, sizeof(*out));
		out->status = se->status;
		text_unpack(se, &out->ctx);
		memcpy(out->csrf, se->csrf, sizeof(out->csrf));
		out->created_ms = se->created_ms;
		out->expires_ms = se->expires_ms;
		out->continues_left = STORE_MAX_CONTINUES - se->continues;
		memcpy(out->sid, se->sid, sizeof(out->sid));
		r = ERR_OK;
	}
	pthread_mutex_unlock(&s->mu);
	return r;
}

static int csrf_ok(const struct session *se, const char *csrf)
{
	return is_len(csrf, STORE_CSRF_LEN) && CRYPTO_memcmp(se->csrf, csrf, STORE_CSRF_LEN) == 0;
}

/* The live session behind link id, its sid copied out, once its csrf token
 * matched; else NULL with *r = ERR_RELAY_NOT_FOUND or ERR_RELAY_CSRF.
 * Called with s->mu held. */
static struct session *link_session(struct store *s, const char *id, const char *csrf, uint64_t now,
				    char sid[STORE_SID_LEN + 1], int *r)
{
	struct session *se = *slot_id(s, id);

	*r = ERR_RELAY_NOT_FOUND;
	if (!live(se, now))
		return NULL;
	if (sid)
		memcpy(sid, se->sid, STORE_SID_LEN + 1);
	if (!csrf_ok(se, csrf)) {
		*r = ERR_RELAY_CSRF;
		return NULL;
	}
	return se;
}

int store_link_continue(struct store *s, const char *id, const char *csrf, uint64_t now, char **url,
			char sid[STORE_SID_LEN + 1])
{
	struct session *se;
	int r = ERR_RELAY_NOT_FOUND;

	if (!s || !url || !is_len(id, STORE_ID_LEN))
		return ERR_RELAY_NOT_FOUND;
	if (s->be)
		return s->be->link_continue(s->impl, id, csrf, now, url, sid);
	pthread_mutex_lock(&s->mu);
	if (!(se = link_session(s, id, csrf, now, sid, &r)))
		goto out;
	if (se->status != STORE_PENDING || se->continues >= STORE_MAX_CONTINUES) {
		r = ERR_RELAY_GONE;
		goto out;
	}
	if (!(*url = strdup(se->text))) {
		r = ERR_NOMEM;
		goto out;
	}
	se->continues++;
	r = ERR_OK;
out:
	pthread_mutex_unlock(&s->mu);
	return r;
}

int store_link_deny(struct store *s, const char *id, const char *csrf, uint64_t now,
		    char sid[STORE_SID_LEN + 1])
{
	struct store_waiter *wake = NULL;
	struct session *se;
	int r = ERR_RELAY_NOT_FOUND;

	if (!s || !is_len(id, STORE_ID_LEN))
		return ERR_RELAY_NOT_FOUND;
	if (s->be)
		return s->be->link_deny(s->impl, id, csrf, now, sid);
	pthread_mutex_lock(&s->mu);
	if (!(se = link_session(s, id, csrf, now, sid, &r)))
		goto out;
	if (se->status == STORE_PENDING || se->status == STORE_CODE || se->status == STORE_ERROR) {
		clear_result(se);
		OPENSSL_cleanse(se->confirm, sizeof(se->confirm));
		se->status = STORE_DENIED;
		s->st.denied++;
		wake_session(s, se, STORE_WAKE_RESULT, &wake);
	}
	r = ERR_OK;
out:
	update_due(s);
	pthread_mutex_unlock(&s->mu);
	store_deliver(wake);
	return r;
}

int store_callback(struct store *s, const char *state, const struct store_callback *cb,
		   uint64_t now, char confirm[STORE_CONFIRM_MAX + 1], char sid[STORE_SID_LEN + 1])
{
	struct store_waiter *wake = NULL;
	struct session *se;
	int r = ERR_RELAY_NOT_FOUND, fail = 0;

	if (confirm)
		confirm[0] = '\0';
	if (!s || !cb || (!cb->code == !cb->error) || !is_len(state, STORE_STATE_LEN))
		return ERR_RELAY_NOT_FOUND;
	if (s->be)
		return s->be->callback(s->impl, state, cb, now, confirm, sid);
	pthread_mutex_lock(&s->mu);
	se = *slot_state(s, state);
	if (!live(se, now))
		goto out;
	if (sid)
		memcpy(sid, se->sid, STORE_SID_LEN + 1);
	if (se->status == STORE_PENDING) {
		se->code = dup_opt(cb->code, &fail);
		se->iss = dup_opt(cb->code ? cb->iss : NULL, &fail);
		se->error = dup_opt(cb->error, &fail);
		se->error_description = dup_opt(cb->code ? NULL : cb->error_description, &fail);
		if (fail) {
			/* Fail closed: a login whose callback was lost cannot succeed. */
			clear_result(se);
			se->status = STORE_CONFLICT;
			s->st.conflicts++;
			r = ERR_NOMEM;
		} else {
			se->status = cb->code ? STORE_CODE : STORE_ERROR;
			se->landed_ms = now;
			s->st.callbacks++;
			if (confirm && cb->code)
				memcpy(confirm, se->confirm, STORE_CONFIRM_MAX + 1);
			r = ERR_OK;
		}
		OPENSSL_cleanse(se->confirm, sizeof(se->confirm));
		wake_session(s, se, STORE_WAKE_RESULT, &wake);
		goto out;
	}
	r = ERR_RELAY_USED;
	if ((se->status == STORE_CODE || se->status == STORE_ERROR) &&
	    !(opt_equal(se->code, cb->code) && opt_equal(se->iss, cb->code ? cb->iss : NULL) &&
	      opt_equal(se->error, cb->error) &&
	      opt_equal(se->error_description, cb->code ? NULL : cb->error_description))) {
		clear_result(se);
		se->status = STORE_CONFLICT;
		s->st.conflicts++;
		wake_session(s, se, STORE_WAKE_RESULT, &wake);
	}
out:
	update_due(s);
	pthread_mutex_unlock(&s->mu);
	store_deliver(wake);
	return r;
}

int store_poll(struct store *s, const char *state, const unsigned char *hash, uint64_t now,
	       struct store_waiter *w, struct store_result *out)
{
	static const unsigned char dummy[STORE_HASH_LEN];
	struct store_waiter *wake = NULL;
	struct session *se = NULL;
	int r = ERR_RELAY_NOT_FOUND, diff;

	if (!s || !out)
		return ERR_INVAL;
	if (s->be)
		return s->be->poll(s->impl, state, hash, now, w, out);
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->mu);
	if (is_len(state, STORE_STATE_LEN))
		se = *slot_state(s, state);
	/* The same comparison whatever failed, so timing does not tell. */
	diff = CRYPTO_memcmp(hash ? hash : dummy, se ? se->poll_hash : dummy, STORE_HASH_LEN);
	if (!live(se, now) || !hash || diff != 0)
		goto out;
	memcpy(out->sid, se->sid, sizeof(out->sid));
	out->status = se->status;
	if (se->status == STORE_PENDING) {
		r = ERR_OK;
		if (!w || w->deadline_ms <= now || s->shutdown)
			goto out;
		if (store_heap_room((void ***)&s->dl, s->dl_n, &s->dl_cap) != 0)
			goto out; /* no room to hold it: answer pending now */
		if (se->n_waiters >= STORE_MAX_WAITERS)
			waiter_queue(s, se->waiters, STORE_WAKE_REPLACED, &wake);
		w->arm(w);
		w->why = STORE_WAKE_NONE;
		store_waiter_link(&se->waiters, se, w, (void **)s->dl, &s->dl_n, &wait_ops);
		se->n_waiters++;
		r = STORE_WAITING;
		goto out;
	}
	/* A final status: hand it out once, then the session is gone. */
	out->landed_ms = se->landed_ms;
	out->code = se->code;
	out->iss = se->iss;
	out->error = se->error;
	out->error_description = se->error_description;
	se->code = se->iss = se->error = se->error_description = NULL;
	if (out->status == STORE_CODE)
		s->st.handed_out++;
	session_remove(s, se, STORE_WAKE_RESULT, &wake);
	r = ERR_OK;
out:
	update_due(s);
	pthread_mutex_unlock(&s->mu);
	store_deliver(wake);
	return r;
}

int store_cancel(struct store *s, struct store_waiter *w)
{
	int was;

	if (!s || !w)
		return 0;
	if (s->be)
		return s->be->cancel(s->impl, w);
	pthread_mutex_lock(&s->mu);
	was = w->linked;
	waiter_unlink(s, w);
	update_due(s);
	pthread_mutex_unlock(&s->mu);
	return was;
}

size_t store_tick(struct store *s, uint64_t now, uint64_t *next)
{
	struct store_waiter *wake = NULL;
	size_t removed = 0;

	if (s->be)
		return s->be->tick(s->impl, now, next);
	pthread_mutex_lock(&s->mu);
	while (s->count && s->exp[0]->expires_ms <= now) {
		session_remove(s, s->exp[0], STORE_WAKE_EXPIRED, &wake);
		removed++;
	}
	s->st.expired += removed;
	while (s->dl_n && s->dl[0]->deadline_ms <= now)
		waiter_queue(s, s->dl[0], STORE_WAKE_TIMEOUT, &wake);
	update_due(s);
	if (next)
		*next = s->next_due;
	pthread_mutex_unlock(&s->mu);
	store_deliver(wake);
	return removed;
}

uint64_t store_next_due(struct store *s)
{
	if (s->be)
		return s->be->next_due(s->impl);
	return s->next_due;
}

void store_shutdown(struct store *s)
{
	struct store_waiter *wake = NULL;

	if (s->be) {
		s->be->shutdown(s->impl);
		return;
	}
	pthread_mutex_lock(&s->mu);
	s->shutdown = 1;
	while (s->dl_n)
		waiter_queue(s, s->dl[0], STORE_WAKE_SHUTDOWN, &wake);
	update_due(s);
	pthread_mutex_unlock(&s->mu);
	store_deliver(wake);
}

size_t store_count(struct store *s)
{
	size_t n;

	if (s->be)
		return s->be->count(s->impl);
	pthread_mutex_lock(&s->mu);
	n = s->count;
	pthread_mutex_unlock(&s->mu);
	return n;
}

int store_health(struct store *s)
{
	if (!s)
		return ERR_INVAL;
	return s->be ? s->be->health(s->impl) : ERR_OK;
}

void store_stats(struct store *s, struct store_stats *out)
{
	if (s->be) {
		s->be->stats(s->impl, out);
		return;
	}
	pthread_mutex_lock(&s->mu);
	*out = s->st;
	out->pending = s->count;
	out->held = s->dl_n;
	pthread_mutex_unlock(&s->mu);
}

void store_result_cleanup(struct store_result *r)
{
	if (!r)
		return;
	secret_str_free(r->code);
	secret_str_free(r->iss);
	secret_str_free(r->error);
	secret_str_free(r->error_description);
	r->code = r->iss = r->error = r->error_description = NULL;
}
