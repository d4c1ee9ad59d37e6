/* config_unit.c: relay/rconf.c in C: the values each key produces, the
 * registration credential check and the trusted-proxy match. Built and run
 * by tests/relay/config-unit.sh (from tests/relay/run.sh). Argument: a
 * scratch directory. Last line "N passed, N failed". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "rconf.h"
#include "tap.h"

static const char *dir;
static char path[512], err[512];

static const char head[] = "base_url = https://relay.example.org\n"
			   "allowed_authorization_endpoint = https://idp.example.com/authorize\n"
			   "allowed_client_id = c\n";

static void write_file(const char *p, const char *text, mode_t mode)
{
	FILE *f = fopen(p, "w");
	if (!f) {
		perror(p);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
}

/* Loads head + extra; returns rconf_load's result, err holds its line. */
static int load(const char *extra, struct rconf *c)
{
	char text[4096];

	snprintf(path, sizeof(path), "%s/unit.conf", dir);
	snprintf(text, sizeof(text), "%s%s", head, extra);
	write_file(path, text, 0644);
	err[0] = '\0';
	return rconf_load(path, NULL, c, err, sizeof(err));
}

/* err ends with want (after "FILE:LINE: " or "FILE: ") */
static int err_has(const char *want)
{
	return strstr(err, want) != NULL;
}

static struct sockaddr_storage sa_of(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
		a6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &a6->sin6_addr);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
		a4->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &a4->sin_addr);
	}
	return ss;
}

static int trusted(const struct rconf *c, const char *ip)
{
	struct sockaddr_storage ss = sa_of(ip);
	return rconf_is_trusted_proxy(c, (const struct sockaddr *)&ss);
}

static void defaults(void)
{
	struct rconf c;

	T_CASE("defaults");
	T_EQ(load("open_registration = yes\n", &c), ERR_OK);
	T_EQ(c.open_registration, 1);
	T_EQ(c.n_reg_hashes, 0);
	T_EQ(c.threads, 0);
	T_EQ(c.metrics_on, 1);
	T_STREQ(c.metrics_listen, RCONF_DEFAULT_METRICS_LISTEN);
	T_EQ(c.metrics_addr.ss_family, AF_INET);
	T_EQ(ntohs(((struct sockaddr_in *)&c.metrics_addr)->sin_port), 9464);
	T_EQ(c.metrics_len, sizeof(struct sockaddr_in));
	T_EQ(c.n_proxies, 0);
	T_EQ(c.store_redis, 0);
	T_OK(!c.redis_host && !c.redis_unix && !c.redis_password);
	T_EQ(c.max_sessions, 10000);
	T_EQ(c.max_ttl, 600);
	T_EQ(rconf_reg_authorized(&c, NULL, 0), 1);
	T_EQ(rconf_reg_authorized(&c, "anything", 8), 1);
	rconf_cleanup(&c);

	T_CASE("no registration credential");
	T_EQ(load("", &c), ERR_CONFIG_MISSING);
	T_OK(err_has("registration needs a credential"));
	T_EQ(load("open_registration = no\n", &c), ERR_CONFIG_MISSING);
}

static void secrets(void)
{
	char a[512], b[512], extra[2048], big[2048];
	struct rconf c;

	T_CASE("registration secrets");
	snprintf(a, sizeof(a), "%s/a.secret", dir);
	snprintf(b, sizeof(b), "%s/b.secret", dir);
	write_file(a, "alpha-secret-0123456789\n", 0600);
	write_file(b, "bravo-secret-0123456789", 0600);
	snprintf(extra, sizeof(extra),
		 "registration_secret_file = %s\nregistration_secret_file = %s\n", a, b);
	T_EQ(load(extra, &c), ERR_OK);
	T_EQ(c.n_reg_hashes, 2);
	T_EQ(c.open_registration, 0);
	T_EQ(rconf_reg_authorized(&c, "alpha-secret-0123456789", 23), 1);
	T_EQ(rconf_reg_authorized(&c, "bravo-secret-0123456789", 23), 1);
	T_EQ(rconf_reg_authorized(&c, "bravo-secret-012345678", 22), 0);
	T_EQ(rconf_reg_authorized(&c, "alpha-secret-0123456789\n", 24), 0);
	T_EQ(rconf_reg_authorized(&c, NULL, 0), 0);
	T_EQ(rconf_reg_authorized(&c, "", 0), 0);
	T_EQ(rconf_reg_authorized(&c, NULL, 5), 0);
	rconf_cleanup(&c);

	T_CASE("open_registration and a secret exclude each other");
	snprintf(extra, sizeof(extra), "registration_secret_file = %s\nopen_registration = yes\n",
		 a);
	T_EQ(load(extra, &c), ERR_CONFIG);
	T_OK(err_has(":5: open_registration = yes and registration_secret_file"));

	T_CASE("the same file twice");
	snprintf(extra, sizeof(extra),
		 "registration_secret_file = %s\nregistration_secret_file = %s\n", a, a);
	T_EQ(load(extra, &c), ERR_CONFIG);
	T_OK(err_has(":5: registration_secret_file:") && err_has("already given on line 4"));

	T_CASE("at most 16 secret files");
	big[0] = '\0';
	for (int i = 0; i < 17; i++) {
		char p[600], line[700];
		snprintf(p, sizeof(p), "%s/s%d.secret", dir, i);
		snprintf(line, sizeof(line), "secret-number-%02d-xxxxxxxx", i);
		write_file(p, line, 0600);
		snprintf(line, sizeof(line), "registration_secret_file = %s\n", p);
		if (i == 16) {
			T_EQ(load(big, &c), ERR_OK);
			T_EQ(c.n_reg_hashes, 16);
			T_EQ(rconf_reg_authorized(&c, "secret-number-00-xxxxxxxx", 25), 1);
			T_EQ(rconf_reg_authorized(&c, "secret-number-15-xxxxxxxx", 25), 1);
			T_EQ(rconf_reg_authorized(&c, "secret-number-16-xxxxxxxx", 25), 0);
			rconf_cleanup(&c);
		}
		strncat(big, line, sizeof(big) - strlen(big) - 1);
	}
	T_EQ(load(big, &c), ERR_CONFIG);
	T_OK(err_has(":20: registration_secret_file: at most 16 files"));

	T_CASE("secret file checks");
	write_file(b, "short", 0600);
	snprintf(extra, sizeof(extra), "registration_secret_file = %s\n", b);
	T_EQ(load(extra, &c), ERR_CONFIG);
	T_OK(err_has(":4: registration_secret_file: secret shorter than 16 bytes"));
	write_file(b, "two-lines-0123456789\nsecond", 0600);
	T_EQ(load(extra, &c), ERR_CONFIG);
	T_OK(err_has("one line of printable ASCII"));
	write_file(b, "bravo-secret-0123456789", 0640);
	T_EQ(load(extra, &c), ERR_CONFIG_PERM);
	T_OK(err_has("must not be accessible by group or others"));
	snprintf(extra, sizeof(extra), "registration_secret_file = %s/missing\n", dir);
	T_EQ(load(extra, &c), ERR_IO);
	T_OK(err_has(":4: registration_secret_file: ") && err_has("/missing: cannot open"));
	snprintf(extra, sizeof(extra), "registration_secret_file = %s\n", dir);
	T_EQ(load(extra, &c), ERR_CONFIG_PERM);
	T_OK(err_has("not a regular file"));
}

static void threads_metrics(void)
{
	struct rconf c;

	T_CASE("threads");
	T_EQ(load("open_registration = yes\nthreads = 64\n", &c), ERR_OK);
	T_EQ(c.threads, 64);
	rconf_cleanup(&c);
	T_EQ(load("open_registration = yes\nthreads = 65\n", &c), ERR_CONFIG);
	T_OK(err_has(":5: threads: 0..64"));
	T_EQ(load("open_registration = yes\nthreads = 04\n", &c), ERR_CONFIG);

	T_CASE("metrics_listen");
	T_EQ(load("open_registration = yes\nmetrics_listen = off\n", &c), ERR_OK);
	T_EQ(c.metrics_on, 0);
	T_STREQ(c.metrics_listen, "off");
	rconf_cleanup(&c);
	T_EQ(load("open_registration = yes\nmetrics_listen = [::1]:0\n", &c), ERR_OK);
	T_EQ(c.metrics_on, 1);
	T_EQ(c.metrics_addr.ss_family, AF_INET6);
	T_STREQ(c.metrics_listen, "[::1]:0");
	rconf_cleanup(&c);
	T_EQ(load("open_registration = yes\nmetrics_listen = 9464\n", &c), ERR_CONFIG);
	T_OK(err_has(":5: metrics_listen: expected HOST:PORT"));
	T_EQ(load("open_registration = yes\nlisten = 127.0.0.1:9464\n", &c), ERR_CONFIG);
	T_OK(err_has("metrics_listen: must differ from listen"));
	T_EQ(load("open_registration = yes\nlisten = 127.0.0.1:0\nmetrics_listen = "
		  "127.0.0.1:0\n",
		  &c),
	     ERR_OK);
	rconf_cleanup(&c);
}

static void proxies(void)
{
	struct rconf c;

	T_CASE("trusted_proxies");
	T_EQ(load("open_registration = yes\n"
		  "trusted_proxies = 10.0.0.0/8 192.168.1.7\n"
		  "trusted_proxies = 2001:db8:1::/48\t::1  172.16.0.0/12\n"
		  "trusted_proxies = ::ffff:198.51.100.0/120\n",
		  &c),
	     ERR_OK);
	T_EQ(c.n_proxies, 6);
	T_EQ(c.proxies[0].family, AF_INET);
	T_EQ(c.proxies[0].prefix, 8);
	T_EQ(c.proxies[1].prefix, 32);
	T_EQ(c.proxies[2].family, AF_INET6);
	T_EQ(c.proxies[2].prefix, 48);
	T_EQ(c.proxies[3].prefix, 128);
	T_EQ(c.proxies[5].family, AF_INET); /* v4-mapped stored as IPv4 */
	T_EQ(c.proxies[5].prefix, 24);
	T_EQ(trusted(&c, "10.1.2.3"), 1);
	T_EQ(trusted(&c, "11.0.0.1"), 0);
	T_EQ(trusted(&c, "192.168.1.7"), 1);
	T_EQ(trusted(&c, "192.168.1.8"), 0);
	T_EQ(trusted(&c, "172.31.255.255"), 1);
	T_EQ(trusted(&c, "172.32.0.0"), 0);
	T_EQ(trusted(&c, "198.51.100.200"), 1);
	T_EQ(trusted(&c, "198.51.101.1"), 0);
	T_EQ(trusted(&c, "::ffff:10.9.9.9"), 1); /* v4-mapped counts as IPv4 */
	T_EQ(trusted(&c, "::ffff:11.9.9.9"), 0);
	T_EQ(trusted(&c, "2001:db8:1:ffff::1"), 1);
	T_EQ(trusted(&c, "2001:db8:2::1"), 0);
	T_EQ(trusted(&c, "::1"), 1);
	T_EQ(trusted(&c, "::2"), 0);
	T_EQ(trusted(&c, "::a00:1"), 0); /* IPv4-compatible is not IPv4 */
	{
		struct sockaddr sa = { .sa_family = AF_UNIX };
		T_EQ(rconf_is_trusted_proxy(&c, &sa), 0);
	}
	T_EQ(rconf_is_trusted_proxy(&c, NULL), 0);
	rconf_cleanup(&c);

	T_EQ(load("open_registration = yes\ntrusted_proxies = 172.0.0.0/11\n", &c), ERR_OK);
	T_EQ(trusted(&c, "172.31.0.1"), 1);
	T_EQ(trusted(&c, "172.32.0.1"), 0);
	rconf_cleanup(&c);
	T_EQ(load("open_registration = yes\n", &c), ERR_OK);
	T_EQ(trusted(&c, "127.0.0.1"), 0); /* none configured: nobody */
	rconf_cleanup(&c);

	T_CASE("trusted_proxies refused");
	T_EQ(load("open_registration = yes\ntrusted_proxies = 10.0.0.1/8\n", &c), ERR_CONFIG);
	T_OK(err_has(":5: trusted_proxies: \"10.0.0.1/8\" has host bits set (the network is "
		     "10.0.0.0/8)"));
	T_EQ(load("open_registration = yes\ntrusted_proxies = 2001:db8::1/32\n", &c), ERR_CONFIG);
	T_OK(err_has("(the network is 2001:db8::/32)"));
	T_EQ(load("open_registration = yes\ntrusted_proxies = 10.0.0.0/33\n", &c), ERR_CONFIG);
	T_OK(err_has("bad prefix length"));
	T_EQ(load("open_registration = yes\ntrusted_proxies = ::/0\n", &c), ERR_CONFIG);
	T_OK(err_has("bad prefix length"));
	T_EQ(load("open_registration = yes\ntrusted_proxies = ::1/129\n", &c), ERR_CONFIG);
	T_EQ(load("open_registration = yes\ntrusted_proxies = 10.0.0.0/08\n", &c), ERR_CONFIG);
	T_EQ(load("open_registration = yes\ntrusted_proxies = 10.0.0.0/\n", &c), ERR_CONFIG);
	T_EQ(load("open_registration = yes\ntrusted_proxies = proxy.example\n", &c), ERR_CONFIG);
	T_OK(err_has("is not an IPv4 or IPv6 address"));
	T_EQ(load("open_registration = yes\ntrusted_proxies = 10.0.0.0,10.1.0.0\n", &c),
	     ERR_CONFIG);
	T_EQ(load("open_registration = yes\ntrusted_proxies = 010.0.0.1\n", &c), ERR_CONFIG);
	T_EQ(load("open_registration = yes\ntrusted_proxies = ::ffff:10.0.0.0/95\n", &c),
	     ERR_CONFIG);
	T_OK(err_has("write IPv4 networks as IPv4"));
	T_EQ(load("open_registration = yes\ntrusted_proxies = ::ffff:0.0.0.0/96\n", &c),
	     ERR_CONFIG);
}

static void redis(void)
{
	char pw[512], extra[1024];
	struct rconf c;

	T_CASE("store = redis");
	T_EQ(load("open_registration = yes\nstore = redis\nredis_url = redis://127.0.0.1:6380/3\n",
		  &c),
	     ERR_OK);
	T_EQ(c.store_redis, 1);
	T_STREQ(c.redis_host, "127.0.0.1");
	T_EQ(c.redis_port, 6380);
	T_EQ(c.redis_db, 3);
	T_OK(!c.redis_unix && !c.redis_password);
	rconf_cleanup(&c);
	T_EQ(load("open_registration = yes\nredis_url = redis://[::1]\nstore = redis\n", &c),
	     ERR_OK);
	T_STREQ(c.redis_host, "::1");
	T_EQ(c.redis_port, 6379);
	T_EQ(c.redis_db, 0);
	rconf_cleanup(&c);
	T_EQ(load("open_registration = yes\nstore = redis\nredis_url = redis://redis-1.internal\n",
		  &c),
	     ERR_OK);
	T_STREQ(c.redis_host, "redis-1.internal");
	rconf_cleanup(&c);
	T_EQ(load("open_registration = yes\nstore = redis\nredis_url = unix:/run/redis/r.sock\n",
		  &c),
	     ERR_OK);
	T_STREQ(c.redis_unix, "/run/redis/r.sock");
	T_OK(!c.redis_host);
	rconf_cleanup(&c);
	T_EQ(load("open_registration = yes\nstore = memory\n", &c), ERR_OK);
	T_EQ(c.store_redis, 0);
	rconf_cleanup(&c);

	snprintf(pw, sizeof(pw), "%s/redis.pw", dir);
	write_file(pw, "redis-password-0123456789\n", 0600);
	snprintf(extra, sizeof(extra),
		 "open_registration = yes\nstore = redis\nredis_url = redis://127.0.0.1:6379\n"
		 "redis_password_file = %s\n",
		 pw);
	T_EQ(load(extra, &c), ERR_OK);
	T_STREQ(c.redis_password, "redis-password-0123456789");
	rconf_cleanup(&c);
	T_OK(c.redis_password == NULL);
	chmod(pw, 0604);
	T_EQ(load(extra, &c), ERR_CONFIG_PERM);
	T_OK(err_has(":7: redis_password_file:") && err_has("must not be accessible"));

	T_CASE("store = redis refused");
	T_EQ(load("open_registration = yes\nstore = disk\n", &c), ERR_CONFIG);
	T_OK(err_has(":5: store: memory or redis"));
	T_EQ(load("open_registration = yes\nstore = redis\n", &c), ERR_CONFIG_MISSING);
	T_OK(err_has(":5: store = redis needs redis_url"));
	T_EQ(load("open_registration = yes\nredis_url = redis://127.0.0.1\n", &c), ERR_CONFIG);
	T_OK(err_has(":5: redis_url: only with store = redis"));
	snprintf(extra, sizeof(extra), "open_registration = yes\nredis_password_file = %s\n", pw);
	T_EQ(load(extra, &c), ERR_CONFIG);
	T_OK(err_has(":5: redis_password_file: only with store = redis"));
	T_EQ(load("open_registration = yes\nstore = redis\nredis_password_file = rel/pw\n", &c),
	     ERR_CONFIG);
	T_OK(err_has("must be an absolute path"));
	static const char *const bad[] = {
		"http://127.0.0.1:6379",
		"redis://user:pw@127.0.0.1",
		"redis://:pw@127.0.0.1",
		"rediss://127.0.0.1",
		"redis://127.0.0.1:0",
		"redis://127.0.0.1:65536",
		"redis://127.0.0.1:",
		"redis://127.0.0.1/256",
		"redis://127.0.0.1/",
		"redis://127.0.0.1/1/2",
		"redis://127.0.0.1?db=1",
		"redis://",
		"redis://Redis.Example",
		"redis://a..b",
		"redis://[::1",
		"redis://[zz]:1",
		"redis://[::1]x",
		"unix:relative.sock",
		"unix:/very/long/"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"x"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.sock",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(extra, sizeof(extra),
			 "open_registration = yes\nstore = redis\nredis_url = %s\n", bad[i]);
		T_CASE(bad[i]);
		T_EQ(load(extra, &c), ERR_CONFIG);
		T_OK(err_has(":6: redis_url: "));
	}
}

static void table(void)
{
	struct rconf c;

	T_CASE("key table: duplicates, repeatable keys, texts");
	T_EQ(load("open_registration = yes\nthreads = 1\nthreads = 2\n", &c), ERR_CONFIG);
	T_OK(err_has(":6: duplicate key \"threads\""));
	T_EQ(load("open_registration = yes\nopen_registration = yes\n", &c), ERR_CONFIG);
	T_OK(err_has(":5: duplicate key \"open_registration\""));
	T_EQ(load("open_registration = maybe\n", &c), ERR_CONFIG);
	T_OK(err_has(":4: open_registration: yes or no"));
	T_EQ(load("open_registration = yes\nmax_ttl = 601\n", &c), ERR_CONFIG);
	T_OK(err_has(":5: max_ttl: 1..600 seconds"));
	T_EQ(load("open_registration = yes\nmax_connections = 3\n", &c), ERR_CONFIG);
	T_OK(err_has(":5: max_connections: 4..65536"));
	T_EQ(load("open_registration = yes\nallow_insecure_loopback = 1\n", &c), ERR_CONFIG);
	T_OK(err_has(":5: allow_insecure_loopback: yes or no"));
	T_EQ(load("open_registration = yes\nallowed_client_id = d\nallowed_client_id = e\n", &c),
	     ERR_OK);
	T_EQ(c.n_client_ids, 3);
	rconf_cleanup(&c);
	T_EQ(load("open_registration = yes\nbase_url = https://x.example\n", &c), ERR_CONFIG);
	T_OK(err_has(":5: duplicate key \"base_url\""));
	rconf_cleanup(NULL);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: config_unit SCRATCH-DIR\n");
		return 2;
	}
	dir = argv[1];
	defaults();
	secrets();
	threads_metrics();
	proxies();
	redis();
	table();
	return t_done();
}
