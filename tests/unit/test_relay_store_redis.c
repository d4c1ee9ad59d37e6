/* test_relay_store_redis.c: the Redis store (relay/store_redis.c) against a
 * real redis-server that the test starts on a free loopback port, with two
 * store instances sharing it, as two relays would: the store contract of
 * test_relay_store.c (RLY-06/07/08/12/17/18, XD-02/05/07), a poll held on
 * one instance woken by a callback on the other (RLY-19), races between
 * instances for the first callback and the single hand-out (1000 tries
 * each), max_sessions across instances, Redis killed and restarted (fail
 * closed, health, recovery; RLY-20). Skips (0 passed) without
 * redis-server. */
#include "../../relay/store_redis.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "tap.h"

static pid_t redis_pid;
static unsigned redis_port;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static unsigned free_port(void)
{
	struct sockaddr_in sa = { 0 };
	socklen_t l = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned p = 0;

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &l) == 0)
		p = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return p;
}

static int port_open(unsigned port)
{
	struct sockaddr_in sa = { 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static int redis_start(void)
{
	char port[16];

	snprintf(port, sizeof(port), "%u", redis_port);
	if ((redis_pid = fork()) == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
		       "--save", "", "--appendonly", "no", "--daemonize", "no", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		if (port_open(redis_port))
			return 0;
		usleep(10000);
	}
	return -1;
}

static void redis_stop(void)
{
	if (redis_pid > 0) {
		kill(redis_pid, SIGKILL);
		waitpid(redis_pid, NULL, 0);
		redis_pid = 0;
	}
}

/* A waiter that another thread may wake. */
struct tw {
	struct store_waiter w;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int armed, woken;
	double woke_us;
};

static void tw_arm(struct store_waiter *w)
{
	((struct tw *)w->arg)->armed++;
}

static void tw_wake(struct store_waiter *w)
{
	struct tw *t = w->arg;

	pthread_mutex_lock(&t->mu);
	t->woken++;
	t->woke_us = now_us();
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

static void tw_init(struct tw *t, uint64_t deadline)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	t->w.arm = tw_arm;
	t->w.wake = tw_wake;
	t->w.arg = t;
	t->w.deadline_ms = deadline;
}

/* Waits up to ms for the wake; 1 if it came. */
static int tw_wait(struct tw *t, unsigned ms)
{
	struct timespec ts;
	int ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&t->mu);
	while (!t->woken && pthread_cond_timedwait(&t->cv, &t->mu, &ts) == 0)
		;
	ok = t->woken;
	pthread_mutex_unlock(&t->mu);
	return ok;
}

static unsigned seq;

/* A fresh login: random-looking but unique state and id per call. */
static void mk(struct store_new *n, uint64_t now, uint64_t ttl_ms)
{
	unsigned k = ++seq;

	memset(n, 0, sizeof(*n));
	snprintf(n->state, sizeof(n->state), "st%041u", k + 1000000u * (unsigned)getpid());
	snprintf(n->id, sizeof(n->id), "id%014u", k);
	memset(n->csrf, 'C', STORE_CSRF_LEN);
	memset(n->poll_hash, 0, sizeof(n->poll_hash));
	memcpy(n->poll_hash, &k, sizeof(k));
	n->auth_url = "https://idp.example/authorize?state=x";
	snprintf(n->ctx.host, sizeof(n->ctx.host), "host-%u", k);
	snprintf(n->ctx.user, sizeof(n->ctx.user), "alice");
	snprintf(n->ctx.service, sizeof(n->ctx.service), "sshd");
	n->expires_ms = now + ttl_ms;
}

struct race {
	struct store *s;
	const char *state;
	const unsigned char *hash;
	struct store_callback cb;
	pthread_barrier_t *bar;
	int rc;
	struct store_result res;
};

static void *race_cb(void *arg)
{
	struct race *x = arg;
	char confirm[STORE_CONFIRM_MAX + 1];

	pthread_barrier_wait(x->bar);
	x->rc = store_callback(x->s, x->state, &x->cb, now_ms(), confirm, NULL);
	return NULL;
}

static void *race_poll(void *arg)
{
	struct race *x = arg;

	pthread_barrier_wait(x->bar);
	x->rc = store_poll(x->s, x->state, x->hash, now_ms(), NULL, &x->res);
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int open_store(const char *prefix, unsigned max, struct store **out)
{
	struct store_redis_conf c = { 0 };

	c.host = "127.0.0.1";
	c.port = redis_port;
	c.max_sessions = max;
	c.prefix = prefix;
	c.timeout_ms = 500;
	return store_redis_new(&c, out);
}

static int wait_health(struct store *s, int want_ok, unsigned ms)
{
	for (unsigned i = 0; i < ms / 20; i++) {
		if ((store_health(s) == 0) == want_ok)
			return 1;
		usleep(20000);
	}
	return 0;
}

int main(void)
{
	struct store *a = NULL, *b = NULL;
	struct store_new n, n2;
	struct store_link l;
	struct store_result res;
	struct store_callback cb = { 0 };
	struct store_stats stt;
	struct tw t;
	char confirm[STORE_CONFIRM_MAX + 1], sid[STORE_SID_LEN + 1], *url = NULL, prefix[64];
	uint64_t now, next;

	if (system("command -v redis-server >/dev/null 2>&1") != 0) {
		printf("skip: redis-server not found (install the redis-server package)\n");
		printf("0 passed, 0 failed\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	redis_port = free_port();
	if (!redis_port || redis_start() != 0) {
		fprintf(stderr, "could not start redis-server\n");
		redis_stop();
		printf("0 passed, 1 failed\n");
		return 1;
	}
	snprintf(prefix, sizeof(prefix), "t%d:", (int)getpid());

	T_CASE("open two instances");
	T_EQ(open_store(prefix, 3, &a), 0);
	T_EQ(open_store(prefix, 3, &b), 0);
	T_OK(wait_health(a, 1, 3000));
	T_OK(wait_health(b, 1, 3000));

	T_CASE("RLY-06 register on A; duplicate state / id refused on B");
	now = now_ms();
	mk(&n, now, 10000);
	T_EQ(store_register(a, &n, now), 0);
	n2 = n;
	memset(n2.id, 'J', STORE_ID_LEN);
	T_EQ(store_register(b, &n2, now), ERR_RELAY_DUP);
	mk(&n2, now, 10000);
	memcpy(n2.id, n.id, sizeof(n2.id));
	T_EQ(store_register(b, &n2, now), ERR_RELAY_DUP_ID);

	T_CASE("link view on B sees A's login");
	T_EQ(store_link_view(b, n.id, now_ms(), &l), 0);
	T_STREQ(l.ctx.host, n.ctx.host);
	T_STREQ(l.ctx.user, "alice");
	T_STREQ(l.ctx.rhost, "");
	T_EQ(l.status, STORE_PENDING);
	T_EQ(l.continues_left, 3);
	T_OK(l.expires_ms > now_ms() + 9000 && l.expires_ms <= now_ms() + 10000);
	T_OK(l.created_ms <= now_ms());
	T_EQ(store_link_view(b, "nonexistent-id00", now_ms(), &l), ERR_RELAY_NOT_FOUND);

	T_CASE("XD-05 continue: csrf, three uses across instances, then gone");
	T_EQ(store_link_continue(a, n.id, "bad", now_ms(), &url, sid), ERR_RELAY_CSRF);
	for (int i = 0; i < 3; i++) {
		url = NULL;
		T_EQ(store_link_continue(i % 2 ? a : b, n.id, n.csrf, now_ms(), &url, sid), 0);
		T_STREQ(url, n.auth_url);
		free(url);
	}
	T_EQ(store_link_continue(a, n.id, n.csrf, now_ms(), &url, sid), ERR_RELAY_GONE);

	T_CASE("RLY-17 poll: wrong, missing secret, unknown state all not found");
	{
		unsigned char wrong[STORE_HASH_LEN];
		memset(wrong, 7, sizeof(wrong));
		T_EQ(store_poll(b, n.state, wrong, now_ms(), NULL, &res), ERR_RELAY_NOT_FOUND);
		T_EQ(store_poll(b, n.state, NULL, now_ms(), NULL, &res), ERR_RELAY_NOT_FOUND);
		T_EQ(store_poll(b, "short", n.poll_hash, now_ms(), NULL, &res),
		     ERR_RELAY_NOT_FOUND);
		T_EQ(store_poll(b, n.state, n.poll_hash, now_ms(), NULL, &res), 0);
		T_EQ(res.status, STORE_PENDING);
	}

	T_CASE("RLY-19 poll held on A woken by the callback on B");
	now = now_ms();
	tw_init(&t, now + 5000);
	T_EQ(store_poll(a, n.state, n.poll_hash, now, &t.w, &res), STORE_WAITING);
	T_EQ(t.armed, 1);
	store_stats(a, &stt);
	T_EQ(stt.held, 1);
	cb.code = "CODE-1";
	cb.iss = "https://idp.example";
	{
		double t0 = now_us();
		T_EQ(store_callback(b, n.state, &cb, now_ms(), confirm, sid), 0);
		T_OK(tw_wait(&t, 1000));
		T_EQ(t.w.why, STORE_WAKE_RESULT);
		T_OK(t.woke_us - t0 < 1e6);
	}
	T_CASE("RLY-12 identical repeat changes nothing; RLY-18 single hand-out on a third");
	T_EQ(store_callback(a, n.state, &cb, now_ms(), confirm, sid), ERR_RELAY_USED);
	T_STREQ(confirm, "");
	T_EQ(store_link_view(a, n.id, now_ms(), &l), 0);
	T_EQ(l.status, STORE_CODE);
	T_EQ(store_poll(b, n.state, n.poll_hash, now_ms(), NULL, &res), 0);
	T_EQ(res.status, STORE_CODE);
	T_STREQ(res.code, "CODE-1");
	T_STREQ(res.iss, "https://idp.example");
	T_OK(res.error == NULL);
	store_result_cleanup(&res);
	T_EQ(store_poll(a, n.state, n.poll_hash, now_ms(), NULL, &res), ERR_RELAY_NOT_FOUND);
	T_EQ(store_link_view(a, n.id, now_ms(), &l), ERR_RELAY_NOT_FOUND);
	T_EQ(store_callback(a, n.state, &cb, now_ms(), confirm, sid), ERR_RELAY_NOT_FOUND);

	T_CASE("XD-07 confirmation code once; a different second callback -> conflict");
	now = now_ms();
	mk(&n, now, 10000);
	snprintf(n.confirm, sizeof(n.confirm), "123456");
	T_EQ(store_register(a, &n, now), 0);
	cb.code = "JUNK";
	cb.iss = NULL;
	T_EQ(store_callback(b, n.state, &cb, now_ms(), confirm, sid), 0);
	T_STREQ(confirm, "123456");
	T_EQ(store_callback(a, n.state, &cb, now_ms(), confirm, sid), ERR_RELAY_USED);
	T_STREQ(confirm, "");
	cb.code = "VICTIM";
	T_EQ(store_callback(a, n.state, &cb, now_ms(), confirm, sid), ERR_RELAY_USED);
	T_EQ(store_poll(b, n.state, n.poll_hash, now_ms(), NULL, &res), 0);
	T_EQ(res.status, STORE_CONFLICT);
	T_OK(res.code == NULL);
	store_result_cleanup(&res);

	T_CASE("error callbacks; iss presence is part of the comparison");
	now = now_ms();
	mk(&n, now, 10000);
	T_EQ(store_register(a, &n, now), 0);
	cb.code = NULL;
	cb.error = "access_denied";
	cb.error_description = "no";
	T_EQ(store_callback(a, n.state, &cb, now_ms(), confirm, sid), 0);
	T_EQ(store_callback(b, n.state, &cb, now_ms(), confirm, sid), ERR_RELAY_USED);
	T_EQ(store_poll(b, n.state, n.poll_hash, now_ms(), NULL, &res), 0);
	T_EQ(res.status, STORE_ERROR);
	T_STREQ(res.error, "access_denied");
	T_STREQ(res.error_description, "no");
	store_result_cleanup(&res);
	cb.error = cb.error_description = NULL;
	now = now_ms();
	mk(&n, now, 10000);
	T_EQ(store_register(a, &n, now), 0);
	cb.code = "SAME";
	T_EQ(store_callback(a, n.state, &cb, now_ms(), confirm, sid), 0);
	cb.iss = "https://idp.example";
	T_EQ(store_callback(b, n.state, &cb, now_ms(), confirm, sid), ERR_RELAY_USED);
	T_EQ(store_poll(b, n.state, n.poll_hash, now_ms(), NULL, &res), 0);
	T_EQ(res.status, STORE_CONFLICT);
	store_result_cleanup(&res);
	cb.iss = NULL;

	T_CASE("XD-02 deny on B wakes a poll held on A; unclaimed code wiped");
	now = now_ms();
	mk(&n, now, 10000);
	T_EQ(store_register(a, &n, now), 0);
	tw_init(&t, now + 5000);
	T_EQ(store_poll(a, n.state, n.poll_hash, now, &t.w, &res), STORE_WAITING);
	T_EQ(store_link_deny(b, n.id, "x", now_ms(), sid), ERR_RELAY_CSRF);
	T_EQ(store_link_deny(b, n.id, n.csrf, now_ms(), sid), 0);
	T_OK(tw_wait(&t, 1000));
	T_EQ(store_link_deny(b, n.id, n.csrf, now_ms(), sid), 0);
	T_EQ(store_link_continue(a, n.id, n.csrf, now_ms(), &url, sid), ERR_RELAY_GONE);
	cb.code = "LATE";
	T_EQ(store_callback(b, n.state, &cb, now_ms(), confirm, sid), ERR_RELAY_USED);
	T_EQ(store_poll(a, n.state, n.poll_hash, now_ms(), NULL, &res), 0);
	T_EQ(res.status, STORE_DENIED);
	T_OK(res.code == NULL);
	store_result_cleanup(&res);

	T_CASE("RLY-08 max_sessions holds across instances");
	now = now_ms();
	mk(&n, now, 1500);
	T_EQ(store_register(a, &n, now), 0);
	mk(&n2, now, 1500);
	T_EQ(store_register(b, &n2, now), 0);
	mk(&n2, now, 1500);
	T_EQ(store_register(a, &n2, now), 0);
	mk(&n2, now, 1500);
	T_EQ(store_register(b, &n2, now), ERR_RELAY_FULL);
	T_EQ(store_register(a, &n2, now), ERR_RELAY_FULL);
	T_EQ(store_count(b), 3);

	T_CASE("RLY-07 expiry: a held poll is told expired; the slot frees");
	tw_init(&t, now + 5000);
	T_EQ(store_poll(b, n.state, n.poll_hash, now, &t.w, &res), STORE_WAITING);
	T_OK(store_next_due(b) <= now + 1500);
	usleep(1600 * 1000);
	store_tick(b, now_ms(), &next);
	T_EQ(t.woken, 1);
	T_EQ(t.w.why, STORE_WAKE_EXPIRED);
	T_EQ(store_poll(b, n.state, n.poll_hash, now_ms(), NULL, &res), ERR_RELAY_NOT_FOUND);
	T_EQ(store_link_view(a, n.id, now_ms(), &l), ERR_RELAY_NOT_FOUND);
	now = now_ms();
	mk(&n2, now, 10000);
	T_EQ(store_register(b, &n2, now), 0);
	T_EQ(store_count(a), 1);
	store_stats(a, &stt);
	T_OK(stt.registrations >= 5);
	T_OK(stt.handed_out == 0);
	store_stats(b, &stt);
	T_EQ(stt.handed_out, 1);

	T_CASE("cancel: 1 while held, 0 after");
	tw_init(&t, now + 5000);
	T_EQ(store_poll(a, n2.state, n2.poll_hash, now, &t.w, &res), STORE_WAITING);
	T_EQ(store_cancel(a, &t.w), 1);
	T_EQ(store_cancel(a, &t.w), 0);
	T_EQ(store_link_deny(a, n2.id, n2.csrf, now_ms(), sid), 0);
	usleep(100000);
	T_EQ(t.woken, 0);
	store_free(a);
	store_free(b);

	T_CASE("RLY-12/18 races: callbacks and polls on two instances, 1000 tries each");
	{
		int first_ok = 1, one_code = 1;
		pthread_barrier_t bar;

		T_EQ(open_store(prefix, 100000, &a), 0);
		T_EQ(open_store(prefix, 100000, &b), 0);
		pthread_barrier_init(&bar, NULL, 2);
		for (int i = 0; i < 1000; i++) {
			struct race x[2];
			pthread_t th[2];
			int wins = 0, got = 0;

			now = now_ms();
			mk(&n, now, 30000);
			if (store_register(i % 2 ? a : b, &n, now) != 0) {
				first_ok = 0;
				break;
			}
			for (int k = 0; k < 2; k++) {
				memset(&x[k], 0, sizeof(x[k]));
				x[k].s = k ? b : a;
				x[k].state = n.state;
				x[k].hash = n.poll_hash;
				x[k].cb.code = k ? "CODE-B" : "CODE-A";
				x[k].bar = &bar;
				pthread_create(&th[k], NULL, race_cb, &x[k]);
			}
			for (int k = 0; k < 2; k++)
				pthread_join(th[k], NULL);
			wins = (x[0].rc == 0) + (x[1].rc == 0);
			if (wins != 1 || (x[0].rc != 0 && x[0].rc != ERR_RELAY_USED) ||
			    (x[1].rc != 0 && x[1].rc != ERR_RELAY_USED))
				first_ok = 0;
			/* the loser differed: conflict, so no code for anyone */
			for (int k = 0; k < 2; k++) {
				x[k].s = k ? b : a;
				pthread_create(&th[k], NULL, race_poll, &x[k]);
			}
			for (int k = 0; k < 2; k++)
				pthread_join(th[k], NULL);
			for (int k = 0; k < 2; k++) {
				if (x[k].rc == 0) {
					got++;
					if (x[k].res.status != STORE_CONFLICT || x[k].res.code)
						one_code = 0;
				} else if (x[k].rc != ERR_RELAY_NOT_FOUND) {
					one_code = 0;
				}
				store_result_cleanup(&x[k].res);
			}
			if (got != 1)
				one_code = 0;
		}
		T_OK(first_ok);
		T_OK(one_code);

		/* identical callbacks racing (a reload on two instances), then
		 * two pollers racing for the code: exactly one gets it */
		first_ok = one_code = 1;
		for (int i = 0; i < 1000; i++) {
			struct race x[2];
			pthread_t th[2];
			int got = 0;

			now = now_ms();
			mk(&n, now, 30000);
			if (store_register(i % 2 ? a : b, &n, now) != 0) {
				first_ok = 0;
				break;
			}
			for (int k = 0; k < 2; k++) {
				memset(&x[k], 0, sizeof(x[k]));
				x[k].s = k ? b : a;
				x[k].state = n.state;
				x[k].hash = n.poll_hash;
				x[k].cb.code = "SAME-CODE";
				x[k].bar = &bar;
				pthread_create(&th[k], NULL, race_cb, &x[k]);
			}
			for (int k = 0; k < 2; k++)
				pthread_join(th[k], NULL);
			if ((x[0].rc == 0) + (x[1].rc == 0) != 1)
				first_ok = 0;
			for (int k = 0; k < 2; k++)
				pthread_create(&th[k], NULL, race_poll, &x[k]);
			for (int k = 0; k < 2; k++)
				pthread_join(th[k], NULL);
			for (int k = 0; k < 2; k++) {
				if (x[k].rc == 0 && x[k].res.status == STORE_CODE &&
				    x[k].res.code && strcmp(x[k].res.code, "SAME-CODE") == 0)
					got++;
				else if (x[k].rc != ERR_RELAY_NOT_FOUND)
					one_code = 0;
				store_result_cleanup(&x[k].res);
			}
			if (got != 1)
				one_code = 0;
		}
		T_OK(first_ok);
		T_OK(one_code);
		pthread_barrier_destroy(&bar);
	}

	T_CASE("RLY-19 cross-instance wake latency (200 wakes)");
	{
		double lat[200];
		int all = 1;

		for (int i = 0; i < 200; i++) {
			double t0;

			now = now_ms();
			mk(&n, now, 30000);
			store_register(b, &n, now);
			tw_init(&t, now + 5000);
			if (store_poll(a, n.state, n.poll_hash, now, &t.w, &res) != STORE_WAITING) {
				all = 0;
				break;
			}
			cb.code = "C";
			t0 = now_us();
			store_callback(b, n.state, &cb, now_ms(), confirm, sid);
			if (!tw_wait(&t, 1000)) {
				all = 0;
				break;
			}
			lat[i] = t.woke_us - t0;
			store_poll(a, n.state, n.poll_hash, now_ms(), NULL, &res);
			store_result_cleanup(&res);
		}
		T_OK(all);
		if (all) {
			qsort(lat, 200, sizeof(lat[0]), cmp_d);
			printf("# cross-instance wake (callback on B -> held poll on A woken): p50 %.0f us, "
			       "p99 %.0f us, max %.0f us\n",
			       lat[100], lat[197], lat[199]);
			T_OK(lat[197] < 1e6);
		}
	}

	T_CASE("RLY-20 Redis killed: fail closed, health, held polls woken; back: recovers");
	{
		struct tw t2;

		now = now_ms();
		mk(&n, now, 60000);
		T_EQ(store_register(a, &n, now), 0);
		tw_init(&t2, now + 20000);
		T_EQ(store_poll(b, n.state, n.poll_hash, now, &t2.w, &res), STORE_WAITING);
		redis_stop();
		T_OK(tw_wait(&t2, 2000)); /* the broken subscription wakes it */
		T_OK(wait_health(a, 0, 3000));
		T_OK(wait_health(b, 0, 3000));
		T_OK(store_health(a) != 0);
		now = now_ms();
		mk(&n2, now, 60000);
		T_OK(store_register(a, &n2, now) != 0);
		T_OK(store_poll(b, n.state, n.poll_hash, now_ms(), NULL, &res) != 0);
		cb.code = "AFTER";
		T_OK(store_callback(a, n.state, &cb, now_ms(), confirm, sid) != 0);
		T_OK(redis_start() == 0);
		T_OK(wait_health(a, 1, 5000));
		T_OK(wait_health(b, 1, 5000));
		/* Redis without persistence lost the login: not found, never a code */
		T_EQ(store_poll(b, n.state, n.poll_hash, now_ms(), NULL, &res),
		     ERR_RELAY_NOT_FOUND);
		now = now_ms();
		mk(&n, now, 60000);
		T_EQ(store_register(a, &n, now), 0);
		tw_init(&t2, now + 5000);
		T_EQ(store_poll(b, n.state, n.poll_hash, now, &t2.w, &res), STORE_WAITING);
		cb.code = "BACK";
		T_EQ(store_callback(a, n.state, &cb, now_ms(), confirm, sid), 0);
		T_OK(tw_wait(&t2, 1000));
		T_EQ(store_poll(b, n.state, n.poll_hash, now_ms(), NULL, &res), 0);
		T_STREQ(res.code, "BACK");
		store_result_cleanup(&res);
	}

	T_CASE("shutdown wakes held polls");
	now = now_ms();
	mk(&n, now, 60000);
	T_EQ(store_register(a, &n, now), 0);
	tw_init(&t, now + 20000);
	T_EQ(store_poll(a, n.state, n.poll_hash, now, &t.w, &res), STORE_WAITING);
	store_shutdown(a);
	T_EQ(t.woken, 1);
	T_EQ(t.w.why, STORE_WAKE_SHUTDOWN);
	tw_init(&t, now + 20000);
	T_EQ(store_poll(a, n.state, n.poll_hash, now, &t.w, &res), 0);
	T_EQ(t.armed, 0);

	store_free(a);
	store_free(b);
	redis_stop();
	return t_done();
}
