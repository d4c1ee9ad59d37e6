/* test_failinj.c: allocation and read failure injection, swept over every
 * failure point (as pam-u2f's fuzzers fail malloc).
 *
 * malloc, calloc, realloc, strdup, strndup and read are wrapped at link time
 * (-Wl,--wrap=..., see the Makefile); cJSON (cJSON_InitHooks) and OpenSSL
 * (CRYPTO_set_mem_functions) allocate through the same counter, so their
 * internal allocations are failure points too. For (a) a whole token
 * validation (JWKS parse, JWT parse, signature, claims, user mapping) with
 * RS256, PS256, ES256 and EdDSA tokens, (b) a whole config load (a file
 * with every key and two [service] sections) and (c) the module reading the
 * helper's frames from a pipe (lib/ipc.c), the Nth call fails, for every
 * N up to the number of calls a clean run makes. Each run must refuse (an
 * error code), or, when the failed call's result was not needed (a cache, an
 * optional log line), give exactly the clean run's result: never success
 * with something else. read() fails on its Nth call (EIO: refused), is
 * interrupted (EINTR) or returns short counts (both: the clean result), for
 * (b) and (c).
 * Under ASan, LSan checks for leaks after each sweep (FAILINJ_EACH=1: after
 * each run, naming the failure point). */
#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "claims.h"
#include "config.h"
#include "err.h"
#include "ipc.h"
#include "jwks.h"
#include "jwt.h"
#include "jwt_mint.h"
#include "log.h"
#include "tap.h"

#if defined(__SANITIZE_ADDRESS__)
#define FI_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FI_LSAN 1
#endif
#endif
#ifdef FI_LSAN
#include <sanitizer/lsan_interface.h>
#endif

/* ---- the wrappers --------------------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
ssize_t __real_read(int fd, void *buf, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
ssize_t __wrap_read(int fd, void *buf, size_t n);

enum fi_read_mode { READ_CLEAN, READ_FAIL_NTH, READ_EINTR_NTH };

static int fi_armed;		  /* count (and fail) only inside a run */
static long fi_calls, fi_fail_at; /* allocation calls so far; the one to fail */
static long fi_failed;		  /* failures injected in this run */
static void *fi_where;		  /* return address of the failed call */
static enum fi_read_mode fi_read_mode;
static int fi_read_short; /* read() returns at most 3 bytes */
static long fi_reads, fi_read_at;

static int fi_fail(void *caller)
{
	if (!fi_armed)
		return 0;
	if (++fi_calls != fi_fail_at)
		return 0;
	fi_failed++;
	fi_where = caller;
	return 1;
}

void *__wrap_malloc(size_t n)
{
	return fi_fail(__builtin_return_address(0)) ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
	return fi_fail(__builtin_return_address(0)) ? NULL : __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fi_fail(__builtin_return_address(0)) ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return fi_fail(__builtin_return_address(0)) ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
	return fi_fail(__builtin_return_address(0)) ? NULL : __real_strndup(s, n);
}

ssize_t __wrap_read(int fd, void *buf, size_t n)
{
	if (fi_armed) {
		fi_reads++;
		if (fi_read_short && n > 3)
			n = 3;
		if ((fi_read_mode == READ_FAIL_NTH || fi_read_mode == READ_EINTR_NTH) &&
		    fi_reads == fi_read_at) {
			fi_failed++;
			errno = fi_read_mode == READ_FAIL_NTH ? EIO : EINTR;
			return -1;
		}
	}
	return __real_read(fd, buf, n);
}

/* OpenSSL's and cJSON's own allocations go through the same counter */
static void *fi_crypto_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return fi_fail(__builtin_return_address(0)) ? NULL : __real_malloc(n);
}

static void *fi_crypto_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return fi_fail(__builtin_return_address(0)) ? NULL : __real_realloc(p, n);
}

static void fi_crypto_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

static void *fi_cjson_malloc(size_t n)
{
	return fi_fail(__builtin_return_address(0)) ? NULL : __real_malloc(n);
}

/* ---- the sweep ------------------------------------------------------------ */

struct sweep {
	long points;	/* failure points swept */
	long refused;	/* runs that returned an error */
	long same;	/* runs that succeeded with the clean result */
	long wrong;	/* runs that succeeded with another result: a bug */
	long leaks;	/* runs after which LSan found a leak */
	long in_crypto; /* of the same: the failed call was inside libcrypto */
};

/* One run: 0 and a result in out, or an error. */
typedef int (*run_fn)(const void *arg, void *out);
/* Compares two results of run_fn; frees nothing. */
typedef int (*same_fn)(const void *a, const void *b);
typedef void (*clear_fn)(void *out);

static int fi_each_run; /* leak check after every run (attributing a leak) */
#ifdef FI_LSAN
static int fi_leaked; /* a leak check found a leak */
#endif

static int leak_check(void)
{
#ifdef FI_LSAN
	if (__lsan_do_recoverable_leak_check() != 0)
		fi_leaked = 1;
	return fi_leaked;
#else
	return 0;
#endif
}

/* after each run when attributing, else nothing (the sweep checks once) */
static int leak_check_run(void)
{
	return fi_each_run ? leak_check() : 0;
}

static int in_object(void *addr, const char *name)
{
	Dl_info info;

	return addr && dladdr(addr, &info) && info.dli_fname && strstr(info.dli_fname, name);
}

/* Runs fn clean (the reference), then once per failure point. */
static void sweep_alloc(const char *what, run_fn fn, const void *arg, void *clean, void *out,
			same_fn same, clear_fn clear, struct sweep *s)
{
	int r;

	memset(s, 0, sizeof(*s));
	fi_read_mode = READ_CLEAN;
	fi_calls = 0;
	fi_fail_at = 0;
	fi_armed = 1;
	r = fn(arg, clean);
	fi_armed = 0;
	T_EQ(r, 0);
	if (r != 0)
		return;
	for (long n = 1;; n++) {
		fi_calls = 0;
		fi_failed = 0;
		fi_fail_at = n;
		fi_where = NULL;
		fi_armed = 1;
		r = fn(arg, out);
		fi_armed = 0;
		if (!fi_failed) { /* fewer than n calls: every point done */
			if (r == 0)
				clear(out);
			break;
		}
		s->points++;
		if (r != 0) {
			s->refused++;
		} else if (same(clean, out)) {
			s->same++;
			if (in_object(fi_where, "libcrypto"))
				s->in_crypto++;
		} else {
			s->wrong++;
			fprintf(stderr,
				"FAIL %s: allocation %ld failed, yet success with another result\n",
				what, n);
		}
		if (r == 0)
			clear(out);
		if (leak_check_run() != 0) {
			s->leaks++;
			fprintf(stderr, "FAIL %s: leak after allocation %ld failed\n", what, n);
			break;
		}
	}
	if (!fi_each_run && leak_check() != 0)
		s->leaks++;
	printf("# %s: %ld allocation failure points, %ld refused, %ld same result "
	       "(%ld inside libcrypto), %ld wrong, %ld leaking\n",
	       what, s->points, s->refused, s->same, s->in_crypto, s->wrong, s->leaks);
}

/* A run that refuses when clean (a forged token) must refuse at every failure
 * point too: an allocation failure never turns a refusal into success. */
static void sweep_refusal(const char *what, run_fn fn, const void *arg, void *out, clear_fn clear,
			  struct sweep *s)
{
	int r;

	memset(s, 0, sizeof(*s));
	for (long n = 1;; n++) {
		fi_calls = 0;
		fi_failed = 0;
		fi_fail_at = n;
		fi_armed = 1;
		r = fn(arg, out);
		fi_armed = 0;
		if (r == 0) {
			s->wrong++;
			fprintf(stderr, "FAIL %s: accepted with allocation %ld failed\n", what, n);
			clear(out);
		}
		if (!fi_failed)
			break;
		s->points++;
		s->refused += r != 0;
		if (leak_check_run() != 0) {
			s->leaks++;
			fprintf(stderr, "FAIL %s: leak after allocation %ld failed\n", what, n);
			break;
		}
	}
	if (!fi_each_run && leak_check() != 0)
		s->leaks++;
	printf("# %s: %ld allocation failure points, %ld refused, %ld accepted, %ld leaking\n",
	       what, s->points, s->refused, s->wrong, s->leaks);
}

/* One run with read() returning at most 3 bytes when short_reads, and
 * failing (mode m) at its nth call. */
static int run_with_reads(run_fn fn, const void *arg, void *out, int short_reads,
			  enum fi_read_mode m, long nth)
{
	int r;

	fi_read_short = short_reads;
	fi_read_mode = m;
	fi_reads = 0;
	fi_read_at = nth;
	fi_failed = 0;
	fi_fail_at = 0;
	fi_armed = 1;
	r = fn(arg, out);
	fi_armed = 0;
	fi_read_mode = READ_CLEAN;
	fi_read_short = 0;
	return r;
}

/* Every read of fn, whole and 3 bytes at a time: EINTR there changes
 * nothing (the clean result), EIO there gives want_err. Returns the number
 * of runs that did otherwise; *points the read failure points swept. */
static long sweep_reads(run_fn fn, const void *arg, const void *clean, void *out, same_fn same,
			clear_fn clear, int want_err, long *points)
{
	long bad = 0;

	*points = 0;
	for (int sh = 0; sh <= 1; sh++) {
		long reads;
		int r = run_with_reads(fn, arg, out, sh, READ_CLEAN, 0);

		bad += r != 0 || !same(clean, out);
		if (r == 0)
			clear(out);
		reads = fi_reads;
		for (long n = 1; n <= reads; n++) {
			r = run_with_reads(fn, arg, out, sh, READ_EINTR_NTH, n);
			bad += r != 0 || !same(clean, out) || fi_failed != 1;
			if (r == 0)
				clear(out);
			r = run_with_reads(fn, arg, out, sh, READ_FAIL_NTH, n);
			bad += r != want_err || fi_failed != 1;
			if (r == 0)
				clear(out);
			(*points)++;
		}
	}
	return bad;
}

/* ---- (a) token validation ------------------------------------------------- */

static const struct log quiet = { NULL, NULL, 0 };
static struct passwd fake_pw;

static struct passwd *fake_getpwnam(const char *name)
{
	if (strcmp(name, "alice") != 0)
		return NULL;
	memset(&fake_pw, 0, sizeof(fake_pw));
	fake_pw.pw_name = (char *)"alice";
	fake_pw.pw_uid = 1000;
	return &fake_pw;
}

struct tv {
	const char *jwks;
	const char *token;
	struct jwt_policy pol;
	struct claims_policy map;
};

struct tv_out {
	char user[CLAIMS_USER_MAX + 1];
	char sub[64];
	unsigned alg;
	int set;
};

static int run_token(const void *arg, void *outp)
{
	const struct tv *tv = arg;
	struct tv_out *out = outp;
	struct jwks *keys = NULL;
	struct jwt *t = NULL;
	const char *sub = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = jwks_parse(tv->jwks, strlen(tv->jwks), &quiet, &keys)) != 0)
		goto out;
	if ((r = jwt_verify(tv->token, strlen(tv->token), keys, &tv->pol, &quiet, &t)) != 0)
		goto out;
	if ((r = claims_map_user(t->payload, &tv->map, &quiet, out->user, sizeof(out->user))) != 0)
		goto out;
	sub = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t->payload, "sub"));
	if (!sub) {
		r = ERR_INTERNAL;
		goto out;
	}
	snprintf(out->sub, sizeof(out->sub), "%s", sub);
	out->alg = t->alg;
	out->set = 1;
out:
	jwt_free(t);
	jwks_free(keys);
	return r;
}

static int tv_same(const void *a, const void *b)
{
	const struct tv_out *x = a, *y = b;

	return x->set && y->set && strcmp(x->user, y->user) == 0 && strcmp(x->sub, y->sub) == 0 &&
	       x->alg == y->alg;
}

static void tv_clear(void *out)
{
	memset(out, 0, sizeof(struct tv_out));
}

/* at_hash: the left half of the access token's hash, base64url */
static char *at_hash(const char *alg, const char *access_token)
{
	unsigned char md[SHA512_DIGEST_LENGTH];
	size_t n;

	if (strcmp(alg, "EdDSA") == 0) {
		SHA512((const unsigned char *)access_token, strlen(access_token), md);
		n = SHA512_DIGEST_LENGTH / 2;
	} else {
		SHA256((const unsigned char *)access_token, strlen(access_token), md);
		n = SHA256_DIGEST_LENGTH / 2;
	}
	return mint_b64(md, n);
}

static void test_token(void)
{
	static const struct {
		const char *alg, *kid;
		int key;
	} algs[] = {
		{ "RS256", "r", 0 }, { "PS256", "r", 0 }, { "ES256", "e", 1 }, { "EdDSA", "d", 2 }
	};
	EVP_PKEY *k[3] = { mint_keygen(MINT_RSA2048), mint_keygen(MINT_P256),
			   mint_keygen(MINT_ED25519) };
	EVP_PKEY *k3;
	char *jwk[4], *set;
	time_t now = time(NULL);
	struct tv_out clean, out;
	struct sweep s;
	long points = 0, refused = 0, same = 0;
	int bad = 0;

	jwk[0] = mint_jwk(k[0], "r", "\"use\":\"sig\"");
	jwk[1] = mint_jwk(k[1], "e", "\"alg\":\"ES256\"");
	jwk[2] = mint_jwk(k[2], "d", NULL);
	k3 = mint_keygen(MINT_P384);
	jwk[3] = mint_jwk(k3, "unused", NULL);
	set = mint_jwks((const char *const *)jwk, 4);

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		char *ah = at_hash(algs[i].alg, "access-token-1");
		char *h = mint_printf("{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
				      algs[i].alg, algs[i].kid);
		char *p = mint_printf(
			"{\"iss\":\"https://idp.example.org\",\"sub\":\"sub-alice\","
			"\"aud\":[\"host-a\",\"other\"],\"azp\":\"host-a\",\"exp\":%lld,"
			"\"iat\":%lld,\"nbf\":%lld,\"auth_time\":%lld,\"nonce\":\"n-0S6_WzA2Mj\","
			"\"at_hash\":\"%s\",\"preferred_username\":\"Alice\","
			"\"groups\":[\"staff\",\"wheel\"],\"email\":\"alice@example.org\","
			"\"email_verified\":true,\"amr\":[\"pwd\",\"mfa\"],\"acr\":\"phr\"}",
			(long long)now + 300, (long long)now - 5, (long long)now - 5,
			(long long)now - 5, ah);
		char *tok = mint_token(k[algs[i].key], algs[i].alg, h, p, NULL), *forged;
		struct tv tv = { 0 };
		char what[64];

		tv.jwks = set;
		tv.token = tok;
		tv.pol.issuer = "https://idp.example.org";
		tv.pol.client_id = "host-a";
		tv.pol.nonce = "n-0S6_WzA2Mj";
		tv.pol.allowed_algs = JWT_ALG_ALL;
		tv.pol.clock_skew = 60;
		tv.pol.max_token_age = 300;
		tv.pol.now = now;
		tv.pol.access_token = "access-token-1";
		tv.map.lowercase = 1;
		tv.map.allowed_groups = "wheel, admins";
		tv.map.getpwnam = fake_getpwnam;

		snprintf(what, sizeof(what), "token %s", algs[i].alg);
		T_CASE("IDT-32 IDT-04 IDT-15 IDT-30 token validation under allocation failure");
		sweep_alloc(what, run_token, &tv, &clean, &out, tv_same, tv_clear, &s);
		T_STREQ(clean.user, "alice");
		T_STREQ(clean.sub, "sub-alice");
		T_OK(s.points > 100);
		T_EQ(s.wrong, 0);
		T_EQ(s.leaks, 0);
		T_EQ(s.points, s.refused + s.same);
		bad |= s.wrong != 0 || s.leaks != 0;
		points += s.points;
		refused += s.refused;
		same += s.same;

		T_CASE("IDT-32 IDT-04 a forged signature is refused at every failure point");
		tv.token = forged = mint_flip_sig(tok, 5, 0x01);
		snprintf(what, sizeof(what), "forged %s", algs[i].alg);
		sweep_refusal(what, run_token, &tv, &out, tv_clear, &s);
		T_OK(s.points > 100);
		T_EQ(s.wrong, 0);
		T_EQ(s.leaks, 0);
		T_EQ(s.points, s.refused);
		bad |= s.wrong != 0 || s.leaks != 0;
		points += s.points;
		refused += s.refused;
		free(forged);
		free(ah);
		free(h);
		free(p);
		free(tok);
	}
	printf("# token validation: %ld failure points, %ld refused, %ld same result%s\n", points,
	       refused, same, bad ? ", FAILURES above" : "");
	for (size_t i = 0; i < 4; i++)
		free(jwk[i]);
	free(set);
	for (size_t i = 0; i < 3; i++)
		EVP_PKEY_free(k[i]);
	EVP_PKEY_free(k3);
}

/* ---- (b) config load ------------------------------------------------------ */

static const char full_config[] = "# every key of pam_oauth2_pkce.conf(5)\n"
				  "issuer = https://idp.example.org/realms/staff\n"
				  "client_id = pam-oauth2-pkce\n"
				  "client_secret_file = /etc/security/pam_oauth2_pkce.secret\n"
				  "scopes = openid profile email\n"
				  "allowed_algs = RS256 PS256 ES256 EdDSA\n"
				  "clock_skew = 30\n"
				  "max_token_age = 120\n"
				  "ca_file = /etc/ssl/private-ca.pem\n"
				  "relay_ca_file = /etc/ssl/relay-ca.pem\n"
				  "http_timeout = 8\n"
				  "first_contact_timeout = 3\n"
				  "cache_dir = /var/cache/pam-oauth2-pkce\n"
				  "helper_user = _oauth2-pkce\n"
				  "allow_insecure_loopback = no\n"
				  "relay_url = https://relay.example.org\n"
				  "relay_secret_file = /etc/security/pam_oauth2_pkce.relay-secret\n"
				  "max_logins_per_minute = 12\n"
				  "wait = auto\n"
				  "qr = ascii\n"
				  "login_timeout = 120\n"
				  "username_claim = email\n"
				  "map_file = /etc/security/pam_oauth2_pkce.map\n"
				  "strip_domain = example.org\n"
				  "lowercase = yes\n"
				  "allow_root = no\n"
				  "groups_claim = roles\n"
				  "allowed_groups = staff, ops\n"
				  "kiosk_accept_login_csrf = no\n"
				  "prompt = login\n"
				  "userinfo = never\n"
				  "acr_values = phr phrh\n"
				  "required_acr = phr\n"
				  "max_age = 300\n"
				  "required_amr = mfa\n"
				  "\n"
				  "[service sshd]\n"
				  "wait = poll\n"
				  "max_age = 600\n"
				  "required_amr = mfa hwk\n"
				  "allowed_groups = ops\n"
				  "\n"
				  "[service sudo]\n"
				  "wait = code\n"
				  "qr = off\n"
				  "prompt = login consent\n"
				  "username_claim = preferred_username\n";

static char conf_path[] = "/tmp/test_failinj_conf_XXXXXX";

static int run_config(const void *arg, void *outp)
{
	struct config **out = outp;
	char err[512];

	(void)arg;
	*out = NULL;
	return config_load(conf_path, out, err, sizeof(err));
}

static int str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int login_same(const struct config_login *a, const struct config_login *b)
{
	return a->wait == b->wait && a->qr == b->qr && a->login_timeout == b->login_timeout &&
	       str_same(a->username_claim, b->username_claim) &&
	       str_same(a->map_file, b->map_file) && str_same(a->strip_domain, b->strip_domain) &&
	       a->lowercase == b->lowercase && a->allow_root == b->allow_root &&
	       str_same(a->groups_claim, b->groups_claim) &&
	       str_same(a->allowed_groups, b->allowed_groups) &&
	       a->kiosk_accept_login_csrf == b->kiosk_accept_login_csrf &&
	       str_same(a->prompt, b->prompt) && a->userinfo == b->userinfo &&
	       str_same(a->acr_values, b->acr_values) &&
	       str_same(a->required_acr, b->required_acr) && a->max_age == b->max_age &&
	       str_same(a->required_amr, b->required_amr);
}

static int config_same(const void *pa, const void *pb)
{
	const struct config *a = *(struct config *const *)pa, *b = *(struct config *const *)pb;

	if (!a || !b)
		return 0;
	if (!(str_same(a->issuer, b->issuer) && str_same(a->client_id, b->client_id) &&
	      str_same(a->client_secret_file, b->client_secret_file) &&
	      str_same(a->scopes, b->scopes) && a->allowed_algs == b->allowed_algs &&
	      a->clock_skew == b->clock_skew && a->max_token_age == b->max_token_age &&
	      str_same(a->ca_file, b->ca_file) && str_same(a->relay_ca_file, b->relay_ca_file) &&
	      a->http_timeout == b->http_timeout &&
	      a->first_contact_timeout == b->first_contact_timeout &&
	      str_same(a->cache_dir, b->cache_dir) && str_same(a->helper_user, b->helper_user) &&
	      a->allow_insecure_loopback == b->allow_insecure_loopback &&
	      str_same(a->relay_url, b->relay_url) &&
	      str_same(a->relay_secret_file, b->relay_secret_file) &&
	      a->max_logins_per_minute == b->max_logins_per_minute &&
	      login_same(&a->login, &b->login) && a->nsections == b->nsections))
		return 0;
	for (size_t i = 0; i < a->nsections; i++)
		if (!str_same(a->sections[i].name, b->sections[i].name) ||
		    a->sections[i].set != b->sections[i].set ||
		    !login_same(&a->sections[i].login, &b->sections[i].login))
			return 0;
	return 1;
}

static void config_clear(void *out)
{
	struct config **c = out;

	config_free(*c);
	*c = NULL;
}

static void test_config(void)
{
	struct config *clean = NULL, *out = NULL;
	struct sweep s;
	int fd = mkstemp(conf_path);
	long points = 0, bad = 0;

	T_CASE("IDT-32 config load with every key under allocation failure");
	T_OK(fd >= 0 &&
	     write(fd, full_config, strlen(full_config)) == (ssize_t)strlen(full_config));
	if (fd < 0)
		return;
	close(fd);
	chmod(conf_path, 0644);
	sweep_alloc("config", run_config, NULL, &clean, &out, config_same, config_clear, &s);
	T_OK(clean && clean->nsections == 2 && clean->login.max_age == 300 &&
	     clean->max_logins_per_minute == 12);
	T_OK(s.points > 20);
	T_EQ(s.wrong, 0);
	T_EQ(s.leaks, 0);
	T_EQ(s.points, s.refused + s.same);

	T_CASE("IDT-32 config load: a failed read refuses (ERR_IO); EINTR and short reads change nothing");
	bad = sweep_reads(run_config, NULL, &clean, &out, config_same, config_clear, ERR_IO,
			  &points);
	T_OK(points > (long)strlen(full_config) / 3);
	T_EQ(bad, 0);
	T_EQ(leak_check(), 0);
	printf("# config reads: %ld read failure points (whole and 3-byte reads): EIO refused, "
	       "EINTR same result, %ld wrong\n",
	       points, bad);
	config_clear(&clean);
	unlink(conf_path);
}

/* ---- (c) the helper's frames, read by the module ------------------------------ */

struct ipc_out {
	char text[512]; /* type:data of each frame */
	int set;
};

/* Three frames written to a pipe, read back with ipc_read_frame. */
static int run_ipc(const void *arg, void *outp)
{
	struct ipc_out *out = outp;
	int p[2], r = ERR_IO;

	(void)arg;
	memset(out, 0, sizeof(*out));
	if (pipe(p) != 0)
		return ERR_IO;
	if (ipc_write_frame(p[1], IPC_INFO, "Open the link", 13) != 0 ||
	    ipc_write_frame(p[1], IPC_PROMPT_OFF, "Code: ", 6) != 0 ||
	    ipc_result_write(p[1], IPC_STATUS_SUCCESS, "alice") != 0)
		goto out;
	for (int i = 0; i < 3; i++) {
		struct ipc_frame f = { 0 };
		size_t used = strlen(out->text);

		if ((r = ipc_read_frame(p[0], ipc_now_ms() + 5000, &f)) != 0)
			goto out;
		snprintf(out->text + used, sizeof(out->text) - used, "%d:%s|", (int)f.type, f.data);
		ipc_frame_cleanup(&f);
	}
	out->set = 1;
	r = 0;
out:
	close(p[0]);
	close(p[1]);
	return r;
}

static int ipc_same(const void *a, const void *b)
{
	const struct ipc_out *x = a, *y = b;

	return x->set && y->set && strcmp(x->text, y->text) == 0;
}

static void ipc_clear(void *out)
{
	memset(out, 0, sizeof(struct ipc_out));
}

static void test_ipc(void)
{
	struct ipc_out clean, out;
	struct sweep s;
	long points = 0, bad;

	T_CASE("IDT-32 frames read under allocation failure");
	sweep_alloc("frames", run_ipc, NULL, &clean, &out, ipc_same, ipc_clear, &s);
	T_OK(strstr(clean.text, "alice") != NULL);
	T_OK(s.points >= 3);
	T_EQ(s.wrong, 0);
	T_EQ(s.leaks, 0);
	T_EQ(s.points, s.refused + s.same);

	T_CASE("IDT-32 frames: a failed read refuses (ERR_IO); EINTR and short reads change nothing");
	bad = sweep_reads(run_ipc, NULL, &clean, &out, ipc_same, ipc_clear, ERR_IO, &points);
	T_OK(points > 40);
	T_EQ(bad, 0);
	printf("# frame reads: %ld read failure points (whole and 3-byte reads): EIO refused, "
	       "EINTR same result, %ld wrong\n",
	       points, bad);
}

int main(void)
{
	static const cJSON_Hooks hooks = { fi_cjson_malloc, free };

	/* FAILINJ_EACH=1: a leak check after every run names the failure point
	 * (slow); else once per sweep, and LSan's report names the allocation */
	fi_each_run = getenv("FAILINJ_EACH") != NULL;
	/* before any OpenSSL allocation; else its allocations are not swept */
	T_CASE("hooks installed");
	T_EQ(CRYPTO_set_mem_functions(fi_crypto_malloc, fi_crypto_realloc, fi_crypto_free), 1);
	cJSON_InitHooks((cJSON_Hooks *)&hooks);
	test_token();
	test_config();
	test_ipc();
	return t_done();
}
