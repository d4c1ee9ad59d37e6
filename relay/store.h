/* store.h: where the relay keeps a login between registration and hand-out.
 *
 * One implementation today, in memory (store.c). The interface is shaped so a
 * shared store (Redis, several relay instances) can sit behind it later:
 * - every call copies in and out; nothing points into the store;
 * - time is passed in (monotonic milliseconds), never read inside;
 * - every decision that must be atomic is one call (first callback wins,
 *   single hand-out, continue counter, deny), so a Redis version maps each
 *   to one Lua script / GETDEL / SET NX;
 * - a long-poll is a struct store_waiter the caller owns: the store arms it
 *   (under its lock, before anyone can wake it) and later wakes it exactly
 *   once, without holding its lock, when the result changes, the deadline
 *   passes, the session expires, or the store shuts down.
 * Thread-safe: one mutex guards everything. Secrets (code, confirmation
 * code, csrf token) are wiped when a session goes.
 *
 * Two backends behind the same calls: memory (store.c, one instance) and
 * Redis (store_redis.c, several instances share the logins; waiters stay
 * local to the instance that holds the poll). store_open picks one from the
 * configuration; store_new is always the memory one. */
#ifndef RELAY_STORE_H
#define RELAY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

#define STORE_STATE_LEN	    43		 /* base64url of 32 bytes */
#define STORE_ID_LEN	    16		 /* base64url of 12 bytes (96 bits) */
#define STORE_CSRF_LEN	    43		 /* base64url of 32 bytes */
#define STORE_SID_LEN	    HASH_SID_LEN /* hash_sid(id): how logs name a session (RLY-26) */
#define STORE_HASH_LEN	    32		 /* SHA-256 of the poll secret */
#define STORE_CTX_MAX	    128		 /* bytes per context string */
#define STORE_CONFIRM_MAX   12		 /* digits */
#define STORE_MAX_CONTINUES 3
#define STORE_MAX_WAITERS   4 /* per session; a fifth displaces the oldest */
#define STORE_WAITING	    1 /* store_poll: the waiter was armed */

enum store_status {
	STORE_PENDING = 0,
	STORE_CODE,	/* first callback carried a code */
	STORE_ERROR,	/* first callback carried error= */
	STORE_DENIED,	/* "This wasn't me" */
	STORE_CONFLICT, /* a second, different callback arrived */
	STORE_EXPIRED,	/* only ever reported to a waiter whose session expired */
};

/* What the person sees on the context page (XD-01, XD-03). */
struct store_context {
	char host[STORE_CTX_MAX + 1];
	char service[STORE_CTX_MAX + 1];
	char user[STORE_CTX_MAX + 1];
	char rhost[STORE_CTX_MAX + 1]; /* "" for local logins */
};

struct store_new {
	char state[STORE_STATE_LEN + 1];
	char id[STORE_ID_LEN + 1];
	char csrf[STORE_CSRF_LEN + 1];
	unsigned char poll_hash[STORE_HASH_LEN];
	const char *auth_url; /* validated; stored byte for byte */
	struct store_context ctx;
	char confirm[STORE_CONFIRM_MAX + 1]; /* "" unless confirm-code mode */
	uint64_t expires_ms;
};

/* A copy of what the context page needs. */
struct store_link {
	enum store_status status;
	struct store_context ctx;
	char csrf[STORE_CSRF_LEN + 1];
	uint64_t created_ms, expires_ms;
	unsigned continues_left;
	char sid[STORE_SID_LEN + 1];
};

/* The authorization response of a callback (strings already validated). */
struct store_callback {
	const char *code, *iss; /* code mode */
	const char *error, *error_description;
};

/* A poll answer. Strings malloc'd; store_result_cleanup wipes them. */
struct store_result {
	enum store_status status;
	char *code, *iss, *error, *error_description;
	char sid[STORE_SID_LEN + 1];
	uint64_t landed_ms; /* when the callback landed (the caller's clock), 0 if unknown */
};

enum store_wake {
	STORE_WAKE_NONE = 0,
	STORE_WAKE_RESULT,   /* the session left "pending": poll again */
	STORE_WAKE_TIMEOUT,  /* deadline_ms passed: poll again (pending) */
	STORE_WAKE_REPLACED, /* too many waiters; this, the oldest, lets go */
	STORE_WAKE_EXPIRED,  /* the session expired while waiting */
	STORE_WAKE_SHUTDOWN,
};

/* A long-poll, owned by the caller. Set arm, wake, arg and deadline_ms;
 * the rest belongs to the store. arm runs under the store lock (it may not
 * call the store); wake runs without it, once, and is the store's last
 * touch of the waiter, so wake may hand it to a thread that frees it. */
struct store_waiter {
	void (*arm)(struct store_waiter *w);
	void (*wake)(struct store_waiter *w);
	void *arg;
	uint64_t deadline_ms;
	enum store_wake why; /* set before wake() */

	/* private to the store */
	struct store_waiter *s_prev, *s_next, *w_next;
	size_t hidx; /* position in the deadline heap */
	void *session;
	int linked;
};

/* What /metrics shows. Counters only grow (per instance, since start). */
struct store_stats {
	uint64_t pending; /* logins registered and not yet handed out (all
			     instances with Redis; the last known value when
			     Redis cannot be asked) */
	uint64_t held;	  /* long-polls held on this instance */
	uint64_t registrations, callbacks, handed_out, expired, denied, conflicts;
};

struct store;
struct rconf;

/* max_sessions >= 1. The memory backend. */
int store_new(unsigned max_sessions, struct store **out);

/* The backend the configuration asks for (store = memory|redis). Redis: the
 * first connection is tried here, but an unreachable Redis is not an error
 * (the relay starts, reports unhealthy and reconnects by itself); a bad
 * password file or URL is (ERR_CONFIG). */
int store_open(const struct rconf *cf, struct store **out);

/* 0 when the store can serve (memory: always), else an ERR_ code (Redis
 * unreachable: ERR_IO). Cheap: may answer from a recent probe. */
int store_health(struct store *s);

void store_stats(struct store *s, struct store_stats *out);

/* Wipes and frees. Call store_shutdown first if waiters may be linked. */
void store_free(struct store *s);

/* ERR_RELAY_DUP (state taken; the first is untouched), ERR_RELAY_DUP_ID,
 * ERR_RELAY_FULL, ERR_INVAL, ERR_NOMEM. */
int store_register(struct store *s, const struct store_new *n, uint64_t now);

/* ERR_RELAY_NOT_FOUND for an unknown or expired id. */
int store_link_view(struct store *s, const char *id, uint64_t now, struct store_link *out);

/* "Continue": ERR_RELAY_NOT_FOUND, ERR_RELAY_CSRF, ERR_RELAY_GONE (not
 * pending, or STORE_MAX_CONTINUES used, XD-05). On success *url is a
 * malloc'd copy of the registered authorization URL. sid may be NULL. */
int store_link_continue(struct store *s, const char *id, const char *csrf, uint64_t now, char **url,
			char sid[STORE_SID_LEN + 1]);

/* "This wasn't me": a pending login, or one whose result was not yet
 * handed out, becomes denied (a stored code is wiped) and waiters wake.
 * ERR_RELAY_NOT_FOUND, ERR_RELAY_CSRF. Idempotent. */
int store_link_deny(struct store *s, const char *id, const char *csrf, uint64_t now,
		    char sid[STORE_SID_LEN + 1]);

/* First callback wins (RLY-12): on a pending session stores the result,
 * wakes waiters and returns ERR_OK with the confirmation code (code mode
 * only; then forgotten, so it is never shown again, XD-07) in confirm.
 * Later: ERR_RELAY_USED. A later callback that differs from the stored one
 * poisons the session (status conflict, code wiped); a byte-identical one
 * (a reload) changes nothing. ERR_RELAY_NOT_FOUND for unknown/expired. */
int store_callback(struct store *s, const char *state, const struct store_callback *cb,
		   uint64_t now, char confirm[STORE_CONFIRM_MAX + 1], char sid[STORE_SID_LEN + 1]);

/* Poll with the SHA-256 of the bearer secret (NULL when none was sent).
 * Unknown, expired, or wrong/missing secret: ERR_RELAY_NOT_FOUND, always
 * after the same work (RLY-17). A final status is handed out once and the
 * session removed (RLY-18). Pending with a waiter whose deadline is in the
 * future: arms it and returns STORE_WAITING. Otherwise ERR_OK and *out. */
int store_poll(struct store *s, const char *state, const unsigned char *hash, uint64_t now,
	       struct store_waiter *w, struct store_result *out);

/* Unlinks a waiter whose connection went away. 1: it was still held and
 * will never be woken; 0: a wake is already on its way (or was delivered),
 * so the owner must keep it until wake() has run. */
int store_cancel(struct store *s, struct store_waiter *w);

/* Housekeeping: removes expired sessions (their waiters wake with
 * STORE_WAKE_EXPIRED) and wakes waiters past their deadline, O(log n) for
 * each one due and nothing for the rest. *next = the earliest time
 * anything is due (UINT64_MAX when nothing). Returns the number of
 * sessions removed. */
size_t store_tick(struct store *s, uint64_t now, uint64_t *next);

/* The earliest time store_tick has work, read without the lock (a hint:
 * it may be a moment stale; every change publishes it under the lock). */
uint64_t store_next_due(struct store *s);

/* Wakes every waiter (STORE_WAKE_SHUTDOWN); later polls never wait. */
void store_shutdown(struct store *s);

size_t store_count(struct store *s);

void store_result_cleanup(struct store_result *r);

const char *store_status_name(enum store_status st);

#endif
