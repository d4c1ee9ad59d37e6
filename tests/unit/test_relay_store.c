/* test_relay_store.c: the relay's in-memory store (relay/store.c) with an
 * injected clock and fake waiters: first callback wins (RLY-12), single
 * hand-out (RLY-18), poll secret (RLY-17), expiry (RLY-07), duplicates
 * (RLY-06), capacity (RLY-08), continue limit (XD-05), deny (XD-02),
 * confirmation code shown once (XD-07), long-poll wake-ups, counters.
 *
 * It includes store.c itself, so the generic unit-test rule of the
 * Makefile builds it (and the static SipHash can be checked against the
 * reference vector). */
#include "../../relay/store.c"

#include <openssl/sha.h>
#include <stdio.h>

#include "tap.h"

struct fake {
	struct store_waiter w;
	int armed, woken;
};

static void f_arm(struct store_waiter *w)
{
	((struct fake *)w->arg)->armed++;
}

static void f_wake(struct store_waiter *w)
{
	((struct fake *)w->arg)->woken++;
}

static void fake_init(struct fake *f, uint64_t deadline)
{
	memset(f, 0, sizeof(*f));
	f->w.arm = f_arm;
	f->w.wake = f_wake;
	f->w.arg = f;
	f->w.deadline_ms = deadline;
}

static void mk(struct store_new *n, char tag, uint64_t expires)
{
	memset(n, 0, sizeof(*n));
	memset(n->state, 'S', STORE_STATE_LEN);
	n->state[0] = tag;
	memset(n->id, 'I', STORE_ID_LEN);
	n->id[0] = tag;
	memset(n->csrf, 'C', STORE_CSRF_LEN);
	memset(n->poll_hash, tag, STORE_HASH_LEN);
	n->auth_url = "https://idp.example/authorize?state=x";
	snprintf(n->ctx.host, sizeof(n->ctx.host), "host-%c", tag);
	snprintf(n->ctx.user, sizeof(n->ctx.user), "alice");
	snprintf(n->ctx.service, sizeof(n->ctx.service), "sshd");
	n->expires_ms = expires;
}

int main(void)
{
	struct store *s = NULL;
	struct store_new n, n2;
	struct store_link l;
	struct store_result res;
	struct store_callback cb = { 0 };
	struct fake f[6];
	unsigned char hash[STORE_HASH_LEN], wrong[STORE_HASH_LEN];
	char confirm[STORE_CONFIRM_MAX + 1], sid[STORE_SID_LEN + 1], *url = NULL;
	uint64_t next = 0;
	const char *good_csrf;

	T_CASE("siphash-2-4 reference vector");
	{
		unsigned char k[16], m[15];
		for (int i = 0; i < 16; i++)
			k[i] = (unsigned char)i;
		for (int i = 0; i < 15; i++)
			m[i] = (unsigned char)i;
		T_OK(siphash(k, m, 15) == 0xa129ca6149be45e5ULL);
		T_OK(siphash(k, m, 0) == 0x726fdb47dd0e0e31ULL);
	}

	T_CASE("new");
	T_EQ(store_new(0, &s), ERR_INVAL);
	T_EQ(store_new(2, &s), 0);

	T_CASE("RLY-06 register, duplicate state, duplicate id");
	mk(&n, 'a', 10000);
	memset(hash, 'a', sizeof(hash));
	memset(wrong, 'b', sizeof(wrong));
	T_EQ(store_register(s, &n, 1000), 0);
	mk(&n2, 'a', 20000);
	memset(n2.id, 'J', STORE_ID_LEN);
	n2.auth_url = "https://other.example/";
	T_EQ(store_register(s, &n2, 1000), ERR_RELAY_DUP);
	mk(&n2, 'b', 20000);
	memcpy(n2.id, n.id, sizeof(n2.id));
	T_EQ(store_register(s, &n2, 1000), ERR_RELAY_DUP_ID);
	T_EQ(store_link_view(s, n.id, 1000, &l), 0); /* the first is untouched */
	T_STREQ(l.ctx.host, "host-a");
	T_EQ(l.status, STORE_PENDING);
	T_EQ(l.continues_left, 3);
	T_EQ(store_count(s), 1);

	T_CASE("RLY-08 capacity");
	mk(&n2, 'b', 10000);
	T_EQ(store_register(s, &n2, 1000), 0);
	mk(&n2, 'c', 20000);
	T_EQ(store_register(s, &n2, 1000), ERR_RELAY_FULL);
	T_CASE("register refuses bad input");
	mk(&n2, 'c', 500);
	T_EQ(store_register(s, &n2, 1000), ERR_INVAL); /* already expired */
	n2.state[5] = '\0';
	n2.expires_ms = 5000;
	T_EQ(store_register(s, &n2, 1000), ERR_INVAL);

	T_CASE("XD-05 continue: csrf, three uses, then gone");
	good_csrf = n.csrf;
	T_EQ(store_link_continue(s, n.id, "bad", 1000, &url, sid), ERR_RELAY_CSRF);
	T_EQ(store_link_continue(s, "nope", good_csrf, 1000, &url, sid), ERR_RELAY_NOT_FOUND);
	for (int i = 0; i < 3; i++) {
		url = NULL;
		T_EQ(store_link_continue(s, n.id, good_csrf, 1000, &url, sid), 0);
		T_STREQ(url, "https://idp.example/authorize?state=x");
		free(url);
	}
	T_EQ(store_link_continue(s, n.id, good_csrf, 1000, &url, sid), ERR_RELAY_GONE);
	T_EQ(store_link_view(s, n.id, 1000, &l), 0);
	T_EQ(l.continues_left, 0);

	T_CASE("RLY-17 poll: wrong, missing secret, unknown state all not found");
	T_EQ(store_poll(s, n.state, wrong, 1000, NULL, &res), ERR_RELAY_NOT_FOUND);
	T_EQ(store_poll(s, n.state, NULL, 1000, NULL, &res), ERR_RELAY_NOT_FOUND);
	T_EQ(store_poll(s, "short", hash, 1000, NULL, &res), ERR_RELAY_NOT_FOUND);
	T_EQ(store_poll(s, n.state, hash, 1000, NULL, &res), 0);
	T_EQ(res.status, STORE_PENDING);

	T_CASE("long-poll: arm, then wake on the callback (RESULT)");
	fake_init(&f[0], 5000);
	T_EQ(store_poll(s, n.state, hash, 1000, &f[0].w, &res), STORE_WAITING);
	T_EQ(f[0].armed, 1);
	T_EQ(f[0].woken, 0);
	cb.code = "CODE-1";
	cb.iss = "https://idp.example";
	T_EQ(store_callback(s, n.state, &cb, 1100, confirm, sid), 0);
	T_EQ(f[0].woken, 1);
	T_EQ(f[0].w.why, STORE_WAKE_RESULT);
	T_OK(!f[0].w.linked);

	T_CASE("RLY-12 a byte-identical second callback (reload) changes nothing");
	T_EQ(store_callback(s, n.state, &cb, 1200, confirm, sid), ERR_RELAY_USED);
	T_STREQ(confirm, "");
	T_EQ(store_link_view(s, n.id, 1200, &l), 0);
	T_EQ(l.status, STORE_CODE);

	T_CASE("RLY-18 single hand-out");
	T_EQ(store_poll(s, n.state, hash, 1300, NULL, &res), 0);
	T_EQ(res.status, STORE_CODE);
	T_STREQ(res.code, "CODE-1");
	T_STREQ(res.iss, "https://idp.example");
	store_result_cleanup(&res);
	T_EQ(store_poll(s, n.state, hash, 1300, NULL, &res), ERR_RELAY_NOT_FOUND);
	T_EQ(store_link_view(s, n.id, 1300, &l), ERR_RELAY_NOT_FOUND);
	T_EQ(store_callback(s, n.state, &cb, 1300, confirm, sid), ERR_RELAY_NOT_FOUND);
	T_EQ(store_count(s), 1);

	T_CASE("RLY-12 / XD-07 first wins, confirmation code once, different second -> conflict");
	mk(&n, 'd', 10000);
	memset(hash, 'd', sizeof(hash));
	snprintf(n.confirm, sizeof(n.confirm), "123456");
	T_EQ(store_register(s, &n, 1000), 0);
	cb.code = "JUNK";
	cb.iss = NULL;
	T_EQ(store_callback(s, n.state, &cb, 1100, confirm, sid), 0);
	T_STREQ(confirm, "123456");
	T_EQ(store_callback(s, n.state, &cb, 1101, confirm, sid), ERR_RELAY_USED);
	T_STREQ(confirm, ""); /* never again, even for a reload */
	cb.code = "VICTIM";
	T_EQ(store_callback(s, n.state, &cb, 1102, confirm, sid), ERR_RELAY_USED);
	T_STREQ(confirm, "");
	T_EQ(store_poll(s, n.state, hash, 1103, NULL, &res), 0);
	T_EQ(res.status, STORE_CONFLICT);
	T_OK(res.code == NULL);
	store_result_cleanup(&res);
	T_EQ(store_poll(s, n.state, hash, 1104, NULL, &res), ERR_RELAY_NOT_FOUND);

	T_CASE("conflict also when iss differs; error callbacks");
	mk(&n, 'e', 10000);
	memset(hash, 'e', sizeof(hash));
	T_EQ(store_register(s, &n, 1000), 0);
	cb.code = NULL;
	cb.error = "access_denied";
	cb.error_description = "no";
	T_EQ(store_callback(s, n.state, &cb, 1100, confirm, sid), 0);
	T_EQ(store_callback(s, n.state, &cb, 1100, confirm, sid), ERR_RELAY_USED);
	T_EQ(store_poll(s, n.state, hash, 1103, NULL, &res), 0);
	T_EQ(res.status, STORE_ERROR);
	T_STREQ(res.error, "access_denied");
	T_STREQ(res.error_description, "no");
	store_result_cleanup(&res);
	cb.error = cb.error_description = NULL;

	T_CASE("XD-02 deny: csrf checked, waiters woken, poll says denied once");
	mk(&n, 'f', 10000);
	memset(hash, 'f', sizeof(hash));
	T_EQ(store_register(s, &n, 1000), 0);
	fake_init(&f[0], 9000);
	T_EQ(store_poll(s, n.state, hash, 1000, &f[0].w, &res), STORE_WAITING);
	T_EQ(store_link_deny(s, n.id, "x", 1000, sid), ERR_RELAY_CSRF);
	T_EQ(f[0].woken, 0);
	T_EQ(store_link_deny(s, n.id, n.csrf, 1000, sid), 0);
	T_EQ(f[0].woken, 1);
	T_EQ(store_link_deny(s, n.id, n.csrf, 1000, sid), 0); /* idempotent */
	T_EQ(store_link_continue(s, n.id, n.csrf, 1000, &url, sid), ERR_RELAY_GONE);
	cb.code = "LATE";
	T_EQ(store_callback(s, n.state, &cb, 1100, confirm, sid), ERR_RELAY_USED);
	T_EQ(store_poll(s, n.state, hash, 1100, NULL, &res), 0);
	T_EQ(res.status, STORE_DENIED);
	store_result_cleanup(&res);
	T_EQ(store_poll(s, n.state, hash, 1100, NULL, &res), ERR_RELAY_NOT_FOUND);

	T_CASE("deny after the callback wipes the unclaimed code");
	mk(&n, 'g', 10000);
	memset(hash, 'g', sizeof(hash));
	T_EQ(store_register(s, &n, 1000), 0);
	cb.code = "C";
	T_EQ(store_callback(s, n.state, &cb, 1000, confirm, sid), 0);
	T_EQ(store_link_deny(s, n.id, n.csrf, 1000, sid), 0);
	T_EQ(store_poll(s, n.state, hash, 1100, NULL, &res), 0);
	T_EQ(res.status, STORE_DENIED);
	T_OK(res.code == NULL);
	store_result_cleanup(&res);

	T_CASE("waiters: timeout, replaced, cancel, expired");
	mk(&n, 'h', 10000);
	memset(hash, 'h', sizeof(hash));
	T_EQ(store_register(s, &n, 1000), 0);
	for (int i = 0; i < 5; i++) {
		fake_init(&f[i], 2000 + (uint64_t)i);
		T_EQ(store_poll(s, n.state, hash, 1000, &f[i].w, &res), STORE_WAITING);
	}
	T_EQ(f[0].woken, 1); /* the fifth displaced the oldest */
	T_EQ(f[0].w.why, STORE_WAKE_REPLACED);
	store_cancel(s, &f[4].w);
	T_OK(!f[4].w.linked);
	T_EQ(store_tick(s, 1500, &next), 0);
	T_EQ(next, 2001);
	T_EQ(store_tick(s, 2002, &next), 0);
	T_EQ(f[1].woken, 1);
	T_EQ(f[1].w.why, STORE_WAKE_TIMEOUT);
	T_EQ(f[2].woken, 1);
	T_EQ(f[3].woken, 0);
	T_EQ(f[4].woken, 0);
	T_EQ(next, 2003);
	fake_init(&f[5], 20000);
	T_EQ(store_poll(s, n.state, hash, 2002, &f[5].w, &res), STORE_WAITING);
	T_EQ(store_tick(s, 9999, &next), 0);
	T_EQ(f[3].woken, 1);
	T_EQ(f[5].woken, 0);
	T_EQ(next, 10000);

	T_CASE("RLY-07 expiry: everything not found, waiters told expired, memory freed");
	T_EQ(store_link_view(s, n.id, 10000, &l), ERR_RELAY_NOT_FOUND);
	T_EQ(store_poll(s, n.state, hash, 10000, NULL, &res), ERR_RELAY_NOT_FOUND);
	T_EQ(store_callback(s, n.state, &cb, 10000, confirm, sid), ERR_RELAY_NOT_FOUND);
	T_EQ(store_link_continue(s, n.id, n.csrf, 10000, &url, sid), ERR_RELAY_NOT_FOUND);
	T_EQ(store_tick(s, 10000, &next), 2); /* 'h' and 'b' */
	T_EQ(f[5].woken, 1);
	T_EQ(f[5].w.why, STORE_WAKE_EXPIRED);
	T_EQ(store_count(s), 0);
	T_OK(next == UINT64_MAX);
	T_CASE("an expired state may be registered again");
	mk(&n, 'i', 3000);
	T_EQ(store_register(s, &n, 1000), 0);
	n.expires_ms = 9000;
	T_EQ(store_register(s, &n, 5000), 0);

	T_CASE("wait with a past deadline answers pending at once");
	memset(hash, 'i', sizeof(hash));
	fake_init(&f[0], 5000);
	T_EQ(store_poll(s, n.state, hash, 5000, &f[0].w, &res), 0);
	T_EQ(res.status, STORE_PENDING);
	T_EQ(f[0].armed, 0);

	T_CASE("shutdown wakes all and refuses new waits");
	fake_init(&f[0], 8000);
	T_EQ(store_poll(s, n.state, hash, 5000, &f[0].w, &res), STORE_WAITING);
	store_shutdown(s);
	T_EQ(f[0].woken, 1);
	T_EQ(f[0].w.why, STORE_WAKE_SHUTDOWN);
	fake_init(&f[1], 8000);
	T_EQ(store_poll(s, n.state, hash, 5000, &f[1].w, &res), 0);
	T_EQ(f[1].armed, 0);

	T_CASE("expiry and deadlines in heap order at scale (O(log n) housekeeping)");
	{
		struct store *h = NULL;
		static struct fake hf[500];
		size_t total = 0, r;
		uint64_t prev = 0;
		int order_ok = 1;

		T_EQ(store_new(4000, &h), 0);
		for (int i = 0; i < 3000; i++) {
			mk(&n, 'a', 0);
			snprintf(n.state, sizeof(n.state), "%043d", i);
			snprintf(n.id, sizeof(n.id), "%016d", i);
			memset(n.poll_hash, 0, sizeof(n.poll_hash));
			n.poll_hash[0] = (unsigned char)(i & 0xff);
			n.poll_hash[1] = (unsigned char)(i >> 8);
			n.expires_ms = 2000 + (uint64_t)((i * 7919) % 3000);
			if (store_register(h, &n, 1000) != 0)
				T_OK(!"register");
			if (i < 500) {
				fake_init(&hf[i], 1500 + (uint64_t)((i * 31) % 400));
				if (store_poll(h, n.state, n.poll_hash, 1000, &hf[i].w, &res) !=
				    STORE_WAITING)
					T_OK(!"poll held");
			}
		}
		T_EQ(store_next_due(h), 1500);
		T_EQ(store_cancel(h, &hf[0].w), 1); /* still held: no wake will come */
		T_EQ(store_cancel(h, &hf[0].w), 0);
		for (uint64_t t = 1500; t <= 5000; t += 50) {
			r = store_tick(h, t, &next);
			total += r;
			if (next != UINT64_MAX && (next <= t || next < prev))
				order_ok = 0;
			prev = next == UINT64_MAX ? prev : next;
		}
		T_EQ(total, 3000);
		T_OK(order_ok);
		T_EQ(store_count(h), 0);
		T_OK(store_next_due(h) == UINT64_MAX);
		r = 0;
		for (int i = 1; i < 500; i++)
			r += hf[i].woken == 1 && hf[i].w.why == STORE_WAKE_TIMEOUT;
		T_EQ(r, 499);
		T_EQ(hf[0].woken, 0);
		store_free(h);
	}

	T_CASE("stats and health (memory)");
	{
		struct store *m = NULL;
		struct store_stats stt;
		struct fake sf;

		T_EQ(store_new(4, &m), 0);
		T_EQ(store_health(m), 0);
		mk(&n, 'a', 10000);
		T_EQ(store_register(m, &n, 1000), 0);
		mk(&n2, 'b', 3000);
		T_EQ(store_register(m, &n2, 1000), 0);
		fake_init(&sf, 9000);
		memset(hash, 'a', sizeof(hash));
		T_EQ(store_poll(m, n.state, hash, 1000, &sf.w, &res), STORE_WAITING);
		store_stats(m, &stt);
		T_EQ(stt.pending, 2);
		T_EQ(stt.held, 1);
		T_EQ(stt.registrations, 2);
		cb.code = "C1";
		cb.iss = NULL;
		cb.error = cb.error_description = NULL;
		T_EQ(store_callback(m, n.state, &cb, 1100, confirm, sid), 0);
		cb.code = "C2";
		T_EQ(store_callback(m, n.state, &cb, 1100, confirm, sid), ERR_RELAY_USED);
		T_EQ(store_poll(m, n.state, hash, 1200, NULL, &res), 0);
		store_result_cleanup(&res);
		T_EQ(store_tick(m, 3000, &next), 1);
		store_stats(m, &stt);
		T_EQ(stt.pending, 0);
		T_EQ(stt.held, 0);
		T_EQ(stt.callbacks, 1);
		T_EQ(stt.conflicts, 1);
		T_EQ(stt.handed_out, 0); /* conflict: no code */
		T_EQ(stt.expired, 1);
		store_free(m);
	}

	T_CASE("XD-13 a session's sid in the relay = the helper's hash_sid(id) = SHA-256(id) prefix");
	{
		struct store *m = NULL;
		struct store_new k;
		struct store_link v;
		char hsid[HASH_SID_LEN + 1] = "", want[2 * 6 + 1];
		unsigned char md[SHA256_DIGEST_LENGTH];

		T_EQ(store_new(2, &m), 0);
		mk(&k, 'x', 10000);
		memcpy(k.id, "Zx9_-abcDEF01234", STORE_ID_LEN);
		T_EQ(store_register(m, &k, 1000), 0);
		T_EQ(store_link_view(m, k.id, 1000, &v), 0);
		hash_sid(k.id, hsid); /* what helper/cmd_login.c logs as sid= */
		SHA256((const unsigned char *)k.id, strlen(k.id), md);
		for (int i = 0; i < 6; i++)
			snprintf(want + 2 * i, 3, "%02x", md[i]);
		T_EQ(strlen(v.sid), 12);
		T_STREQ(v.sid, want);
		T_STREQ(hsid, v.sid);
		T_STREQ(hsid, want);
		store_free(m);
	}
	T_STREQ(store_status_name(STORE_CONFLICT), "conflict");

	store_free(s);
	return t_done();
}
