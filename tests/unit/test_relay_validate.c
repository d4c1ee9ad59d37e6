/* test_relay_validate.c: the relay's request parsers (relay/validate.c),
 * linked from librelay.a: query strings, the poll query, the bearer header,
 * the Content-Type check, the callback query (RLY-13), the context page's
 * form (XD-01/02), the authorization URL (RLY-01/02/03: one refusal per
 * rule of relay/PROTOCOL.md) and the registration body (RLY-05, RLY-07,
 * XD-03). Each refusal case differs from an accepted baseline in one
 * thing only. */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "err.h"
#include "tap.h"
#include "validate.h"

#define S42    "SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS"
#define STATE  S42 "0"
#define STATE2 S42 "1" /* differs in the last character */
#define CC     "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
#define EP     "https://idp.example.org/realms/corp/protocol/openid-connect/auth"
#define CB_ENC "https%3A%2F%2Frelay.example.org%2Fcallback"
#define BASE_URL                                                                                   \
	EP "?response_type=code&client_id=pam-oauth2-pkce&redirect_uri=" CB_ENC                    \
	   "&scope=openid+profile&state=" STATE "&nonce=n-0S6_WzA2Mj&code_challenge=" CC           \
	   "&code_challenge_method=S256"

static char *endpoints[] = { EP, "http://127.0.0.1:8081/auth" };
static char *client_ids[] = { "pam-oauth2-pkce", "other client" };
static const struct rconf cf = {
	.base_url = "https://relay.example.org",
	.callback_url = "https://relay.example.org/callback",
	.https = 1,
	.endpoints = endpoints,
	.n_endpoints = 2,
	.client_ids = client_ids,
	.n_client_ids = 2,
	.max_sessions = 1000,
	.max_ttl = 300,
};

/* ---- helpers ------------------------------------------------------------------ */

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

/* A copy of s with the first "from" replaced by "to" (from must occur). */
static char *subst(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	size_t n;
	char *d;

	if (!p) {
		fprintf(stderr, "subst: \"%s\" not found\n", from);
		abort();
	}
	n = strlen(s) - strlen(from) + strlen(to);
	if (!(d = malloc(n + 1)))
		abort();
	memcpy(d, s, (size_t)(p - s));
	strcpy(d + (p - s), to);
	strcat(d, p + strlen(from));
	return d;
}

static char *repeat(char c, size_t n)
{
	char *d = malloc(n + 1);
	if (!d)
		abort();
	memset(d, c, n);
	d[n] = '\0';
	return d;
}

static int pollq_s(const char *s, unsigned *wait)
{
	*wait = 999;
	return pollq_parse(s, strlen(s), wait);
}

static int cbq_s(const char *s, struct cbq *c)
{
	memset(c, 0, sizeof(*c));
	return cbq_parse(s, strlen(s), c);
}

static int cbq_rc(const char *s)
{
	struct cbq c;
	int r = cbq_s(s, &c);
	cbq_cleanup(&c);
	return r;
}

static int link_s(const char *s, enum link_action *act, char *csrf)
{
	*act = 0;
	memset(csrf, 0, STORE_CSRF_LEN + 1);
	return linkform_parse(s, strlen(s), act, csrf);
}

static const char *last_why;

/* authurl_check on a whole string; frees it when owned. */
static int au(const char *url)
{
	last_why = NULL;
	return authurl_check(url, strlen(url), &cf, STATE, &last_why);
}

static int au_free(char *url)
{
	int r = au(url);
	free(url);
	return r;
}

/* 1 when the (owned) URL is refused with ERR_RELAY_AUTH_URL for the rule
 * whose reason contains want, so a case cannot pass by tripping another. */
static int au_refused(const char *want, char *url)
{
	int r = au_free(url);

	if (r == ERR_RELAY_AUTH_URL && last_why &&
	    strncmp(last_why, "authorization_url: ", 19) == 0 && strstr(last_why, want))
		return 1;
	fprintf(stderr, "  refused for \"%s\"? got %d \"%s\"\n", want, r,
		last_why ? last_why : "(none)");
	return 0;
}

static char poll_hash_b64[44];
static unsigned char poll_hash_raw[32];

#define CTX_OK                                                                                     \
	"{\"host\":\"web1.example.org\",\"service\":\"sshd\",\"user\":\"alice\",\"rhost\":\"203."  \
	"0.113.9\"}"

/* A registration body; a NULL member is left out; extra is appended raw
 * (",\"name\":value"). */
static char *reg_body(const char *state, const char *hash, const char *ttl, const char *url,
		      const char *ctx, const char *extra)
{
	const char *name[] = { "state", "poll_secret_sha256", "ttl", "authorization_url",
			       "context" };
	const char *val[] = { state, hash, ttl, url, ctx };
	const int quoted[] = { 1, 1, 0, 1, 0 };
	size_t n = 256 + (extra ? strlen(extra) : 0), o = 0;
	const char *sep = "";
	char *b;

	for (int i = 0; i < 5; i++)
		n += val[i] ? strlen(val[i]) : 0;
	if (!(b = malloc(n)))
		abort();
	o += (size_t)snprintf(b + o, n - o, "{");
	for (int i = 0; i < 5; i++) {
		if (!val[i])
			continue;
		o += (size_t)snprintf(b + o, n - o, quoted[i] ? "%s\"%s\":\"%s\"" : "%s\"%s\":%s",
				      sep, name[i], val[i]);
		sep = ",";
	}
	snprintf(b + o, n - o, "%s}", extra ? extra : "");
	return b;
}

static struct reg rg;

/* reg_parse on an owned body; on success rg holds the result (cleaned up
 * by the next call). */
static int rp(char *body)
{
	int r;

	reg_cleanup(&rg);
	memset(&rg, 0, sizeof(rg));
	last_why = NULL;
	r = reg_parse(body, strlen(body), &cf, &rg, &last_why);
	free(body);
	return r;
}

/* 1 when the last reg_parse refused with ERR_RELAY_REQUEST and a reason
 * starting with want. */
static int refused(int r, const char *want)
{
	if (r == ERR_RELAY_REQUEST && last_why && strncmp(last_why, want, strlen(want)) == 0)
		return 1;
	fprintf(stderr, "  refused for \"%s\"? got %d \"%s\"\n", want, r,
		last_why ? last_why : "(none)");
	return 0;
}

static int rp_ctx(const char *ctx)
{
	return rp(reg_body(STATE, poll_hash_b64, "300", BASE_URL, ctx, NULL));
}

static int rp_extra(const char *extra)
{
	return rp(reg_body(STATE, poll_hash_b64, "300", BASE_URL, CTX_OK, extra));
}

static int rp_ttl(const char *ttl)
{
	return rp(reg_body(STATE, poll_hash_b64, ttl, BASE_URL, CTX_OK, NULL));
}

/* ---- poll query, bearer, content type ---------------------------------------------- */

static void test_pollq(void)
{
	unsigned w;

	T_CASE("pollq: empty, 0, 30, capped above 30");
	T_EQ(pollq_s("", &w), ERR_OK);
	T_EQ(w, 0);
	T_EQ(pollq_s("wait=0", &w), ERR_OK);
	T_EQ(w, 0);
	T_EQ(pollq_s("wait=30", &w), ERR_OK);
	T_EQ(w, 30);
	T_EQ(pollq_s("wait=25", &w), ERR_OK);
	T_EQ(w, 25);
	T_EQ(pollq_s("wait=31", &w), ERR_OK);
	T_EQ(w, 30);
	T_EQ(pollq_s("wait=999999999", &w), ERR_OK);
	T_EQ(w, 30);
	T_EQ(pollq_s("wait=007", &w), ERR_OK);
	T_EQ(w, 7);
	/* capped however many digits (PROTOCOL.md), never refused */
	T_EQ(pollq_s("wait=1234567890", &w), ERR_OK);
	T_EQ(w, 30);
	T_EQ(pollq_s("wait=0000000005", &w), ERR_OK);
	T_EQ(w, 5);
	T_EQ(pollq_s("wait=99999999999999999999999999999999", &w), ERR_OK);
	T_EQ(w, 30);
	T_EQ(pollq_s("wait=999999999999999999999999999999999", &w), ERR_RELAY_REQUEST);
	T_EQ(pollq_s("wait=%31", &w), ERR_OK); /* decoded first: "1" */
	T_EQ(w, 1);

	T_CASE("pollq: -1, empty, non-digits, repeated, other parameter -> 400");
	T_EQ(pollq_s("wait=-1", &w), ERR_RELAY_REQUEST);
	T_EQ(w, 0);
	T_EQ(pollq_s("wait=", &w), ERR_RELAY_REQUEST);
	T_EQ(pollq_s("wait=1a", &w), ERR_RELAY_REQUEST);
	T_EQ(pollq_s("wait=+1", &w), ERR_RELAY_REQUEST);
	T_EQ(pollq_s("wait=1.5", &w), ERR_RELAY_REQUEST);
	T_EQ(pollq_s("wait=0x1", &w), ERR_RELAY_REQUEST);
	T_EQ(pollq_s("wait=1&wait=2", &w), ERR_RELAY_REQUEST);
	T_EQ(w, 0);
	T_EQ(pollq_s("wait=1&wait=1", &w), ERR_RELAY_REQUEST);
	T_EQ(pollq_s("x=1", &w), ERR_RELAY_REQUEST);
	T_EQ(pollq_s("wait=1&x=1", &w), ERR_RELAY_REQUEST);
	T_EQ(pollq_s("Wait=1", &w), ERR_RELAY_REQUEST);
	T_EQ(pollq_s("wait", &w), ERR_RELAY_REQUEST);
	T_EQ(pollq_s("wait=1&", &w), ERR_RELAY_REQUEST);
}

static void test_bearer(void)
{
	const char *tok = NULL;
	size_t tl = 0;
	char hdr[600];

	T_CASE("RLY-17 bearer: token after \"Bearer \", scheme in any case");
	T_EQ(bearer_parse("Bearer abc.DEF-_~+/=", &tok, &tl), ERR_OK);
	T_OK(tok && tl == 13 && memcmp(tok, "abc.DEF-_~+/=", 13) == 0);
	T_EQ(bearer_parse("bearer abc", &tok, &tl), ERR_OK);
	T_EQ(tl, 3);
	T_EQ(bearer_parse("BEARER abc", &tok, &tl), ERR_OK);
	T_EQ(bearer_parse("bEaReR abc", &tok, &tl), ERR_OK);

	T_CASE("RLY-17 bearer: malformed headers refused");
	tok = NULL;
	T_EQ(bearer_parse(NULL, &tok, &tl), ERR_RELAY_REQUEST);
	T_EQ(bearer_parse("", &tok, &tl), ERR_RELAY_REQUEST);
	T_EQ(bearer_parse("Bearer", &tok, &tl), ERR_RELAY_REQUEST);
	T_EQ(bearer_parse("Bearer ", &tok, &tl), ERR_RELAY_REQUEST);
	T_EQ(bearer_parse("Bearer  abc", &tok, &tl), ERR_RELAY_REQUEST);
	T_EQ(bearer_parse("Bearer abc ", &tok, &tl), ERR_RELAY_REQUEST);
	T_EQ(bearer_parse("Bearer a b", &tok, &tl), ERR_RELAY_REQUEST);
	T_EQ(bearer_parse("Bearer\tabc", &tok, &tl), ERR_RELAY_REQUEST);
	T_EQ(bearer_parse("Bearer a\tb", &tok, &tl), ERR_RELAY_REQUEST);
	T_EQ(bearer_parse("Bearerabc", &tok, &tl), ERR_RELAY_REQUEST);
	T_EQ(bearer_parse("Basic abc", &tok, &tl), ERR_RELAY_REQUEST);
	T_EQ(bearer_parse(" Bearer abc", &tok, &tl), ERR_RELAY_REQUEST);
	T_EQ(bearer_parse("Bearer ab\xc3\xa9", &tok, &tl), ERR_RELAY_REQUEST);
	T_EQ(bearer_parse("Bearer ab\x7f", &tok, &tl), ERR_RELAY_REQUEST);
	T_OK(tok == NULL);

	T_CASE("RLY-17 bearer: token up to 512 bytes");
	strcpy(hdr, "Bearer ");
	memset(hdr + 7, 'a', 512);
	hdr[7 + 512] = '\0';
	T_EQ(bearer_parse(hdr, &tok, &tl), ERR_OK);
	T_EQ(tl, 512);
	hdr[7 + 512] = 'a';
	hdr[7 + 513] = '\0';
	T_EQ(bearer_parse(hdr, &tok, &tl), ERR_RELAY_REQUEST);
}

static void test_ctype(void)
{
	const char *j = "application/json", *f = "application/x-www-form-urlencoded";

	T_CASE("ctype_is: the type, any case, optional parameters");
	T_OK(ctype_is("application/json", j));
	T_OK(ctype_is("Application/JSON", j));
	T_OK(ctype_is("application/json; charset=utf-8", j));
	T_OK(ctype_is("application/json;charset=UTF-8", j));
	T_OK(ctype_is("application/json ; charset=utf-8", j));
	T_OK(ctype_is("application/json\t;x=y", j));
	T_OK(ctype_is("application/json ", j));
	T_OK(ctype_is("application/x-www-form-urlencoded", f));
	T_OK(ctype_is("APPLICATION/X-WWW-FORM-URLENCODED; charset=utf-8", f));

	T_CASE("ctype_is: a prefix is not the type");
	T_OK(!ctype_is("application/jsonx", j));
	T_OK(!ctype_is("application/json+x", j));
	T_OK(!ctype_is("application/json x", j));
	T_OK(!ctype_is("application/json, text/html", j));
	T_OK(!ctype_is("application/jso", j));
	T_OK(!ctype_is("application/", j));
	T_OK(!ctype_is("", j));
	T_OK(!ctype_is(NULL, j));
	T_OK(!ctype_is("text/plain", j));
	T_OK(!ctype_is("multipart/form-data; boundary=x", f));
	T_OK(!ctype_is("application/x-www-form-urlencodedx", f));
	T_OK(!ctype_is("application/json", f));
}

/* ---- callback query (RLY-13) --------------------------------------------------------- */

static void test_cbq(void)
{
	struct cbq c;
	char *s, *long_v;
	char buf[4096];

	T_CASE("RLY-13 cbq: code, state, iss; other parameters ignored");
	T_EQ(cbq_s("code=Splx%2FlOB&state=" STATE
		   "&iss=https%3A%2F%2Fidp.example.org&session_state=x&scope=openid",
		   &c),
	     ERR_OK);
	T_STREQ(c.state, STATE);
	T_STREQ(c.code, "Splx/lOB");
	T_STREQ(c.iss, "https://idp.example.org");
	T_OK(c.error == NULL && c.error_description == NULL);
	cbq_cleanup(&c);
	T_OK(c.code == NULL);
	T_EQ(cbq_s("state=" STATE "&code=a+b", &c), ERR_OK); /* spaces allowed in code */
	T_STREQ(c.code, "a b");
	T_OK(c.iss == NULL);
	cbq_cleanup(&c);

	T_CASE("RLY-13 cbq: error, description sanitized");
	T_EQ(cbq_s("error=access_denied&error_description=User+said%0Ano%C3%A9%7F%09.&state=" STATE,
		   &c),
	     ERR_OK);
	T_STREQ(c.error, "access_denied");
	T_STREQ(c.error_description, "User said?no????.");
	T_OK(c.code == NULL);
	cbq_cleanup(&c);
	T_EQ(cbq_s("error=x&error_description=&state=" STATE, &c), ERR_OK);
	T_OK(c.error_description == NULL);
	cbq_cleanup(&c);

	T_CASE("RLY-13 cbq: state must be 43 base64url characters");
	T_EQ(cbq_rc("code=c"), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("code=c&state="), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("code=c&state=" S42), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("code=c&state=" STATE "x"), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("code=c&state=" S42 "."), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("code=c&state=" S42 "+"), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("code=c&state=" S42 "%3D"), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("code=c&state=" STATE "&state=" STATE), ERR_RELAY_REQUEST);

	T_CASE("RLY-13 cbq: exactly one of code and error");
	T_EQ(cbq_rc("code=c&error=e&state=" STATE), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("state=" STATE), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("state=" STATE "&iss=https%3A%2F%2Fidp"), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("state=" STATE "&error_description=x"), ERR_RELAY_REQUEST);
	/* a description belongs to an error: dropped next to a code */
	T_EQ(cbq_s("code=c&error_description=x&state=" STATE, &c), ERR_OK);
	T_OK(c.code && strcmp(c.code, "c") == 0 && c.error_description == NULL);
	cbq_cleanup(&c);
	T_EQ(cbq_rc("code=&state=" STATE), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("error=&state=" STATE), ERR_RELAY_REQUEST);

	T_CASE("RLY-13 cbq: code 1..2048 printable ASCII");
	long_v = repeat('c', CB_CODE_MAX);
	snprintf(buf, sizeof(buf), "code=%s&state=" STATE, long_v);
	T_EQ(cbq_rc(buf), ERR_OK);
	snprintf(buf, sizeof(buf), "code=%sc&state=" STATE, long_v);
	T_EQ(cbq_rc(buf), ERR_RELAY_REQUEST);
	free(long_v);
	T_EQ(cbq_rc("code=a%0Ab&state=" STATE), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("code=a%C3%A9&state=" STATE), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("code=a%7F&state=" STATE), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("code=a%00&state=" STATE), ERR_RELAY_REQUEST);

	T_CASE("RLY-13 cbq: iss 1..1024 printable ASCII without spaces");
	T_EQ(cbq_rc("code=c&iss=a+b&state=" STATE), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("code=c&iss=a%20b&state=" STATE), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("code=c&iss=&state=" STATE), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("code=c&iss=a%0D%0Ab&state=" STATE), ERR_RELAY_REQUEST);
	long_v = repeat('i', CB_ISS_MAX);
	snprintf(buf, sizeof(buf), "code=c&iss=%s&state=" STATE, long_v);
	T_EQ(cbq_rc(buf), ERR_OK);
	snprintf(buf, sizeof(buf), "code=c&iss=%si&state=" STATE, long_v);
	T_EQ(cbq_rc(buf), ERR_RELAY_REQUEST);
	free(long_v);

	T_CASE("RLY-13 cbq: error 1..256 printable, description up to 1024");
	T_EQ(cbq_rc("error=a%0Ab&state=" STATE), ERR_RELAY_REQUEST);
	long_v = repeat('e', CB_ERROR_MAX);
	snprintf(buf, sizeof(buf), "error=%s&state=" STATE, long_v);
	T_EQ(cbq_rc(buf), ERR_OK);
	snprintf(buf, sizeof(buf), "error=%se&state=" STATE, long_v);
	T_EQ(cbq_rc(buf), ERR_RELAY_REQUEST);
	free(long_v);
	long_v = repeat('d', CB_ERROR_DESC_MAX);
	snprintf(buf, sizeof(buf), "error=e&error_description=%s&state=" STATE, long_v);
	T_EQ(cbq_rc(buf), ERR_OK);
	snprintf(buf, sizeof(buf), "error=e&error_description=%sd&state=" STATE, long_v);
	T_EQ(cbq_rc(buf), ERR_RELAY_REQUEST);
	free(long_v);

	T_CASE("RLY-13 cbq: query rules; ignored parameters still at most once");
	T_EQ(cbq_rc("code=c&state=" STATE "&scope=a&scope=b"), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("code=c&code=c&state=" STATE), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("code=c&state=" STATE "&x=%zz"), ERR_RELAY_REQUEST);
	T_EQ(cbq_rc("code=c&&state=" STATE), ERR_RELAY_REQUEST);

	T_CASE("RLY-13 cbq: *out untouched on refusal");
	memset(&c, 0, sizeof(c));
	c.state[0] = 'K';
	T_EQ(cbq_parse("code=c&error=e&state=" STATE, strlen("code=c&error=e&state=" STATE), &c),
	     ERR_RELAY_REQUEST);
	T_OK(c.state[0] == 'K' && c.state[1] == '\0' && c.code == NULL);
	s = xstrdup("code=c&state=" STATE);
	T_EQ(cbq_parse(s, strlen(s), &c), ERR_OK);
	cbq_cleanup(&c);
	free(s);
}

/* ---- the context page form (XD-01/02) -------------------------------------------------- */

static void test_linkform(void)
{
	enum link_action a;
	char csrf[STORE_CSRF_LEN + 1];
	const char *C = "CSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRF-_0";

	T_CASE("XD-01 linkform: csrf + continue");
	T_EQ(link_s("csrf=CSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRF-_0&continue=Continue+to+sign+in",
		    &a, csrf),
	     ERR_OK);
	T_EQ(a, LINK_CONTINUE);
	T_STREQ(csrf, C);
	T_EQ(link_s("continue=&csrf=CSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRF-_0", &a, csrf),
	     ERR_OK);
	T_EQ(a, LINK_CONTINUE);

	T_CASE("XD-02 linkform: csrf + deny");
	T_EQ(link_s("deny=This+wasn%27t+me&csrf=CSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRF-_0", &a,
		    csrf),
	     ERR_OK);
	T_EQ(a, LINK_DENY);
	T_STREQ(csrf, C);

	T_CASE("linkform: both, neither, extra field, no csrf, bad csrf length");
	T_EQ(link_s("csrf=CSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRF-_0&continue=1&deny=1", &a, csrf),
	     ERR_RELAY_REQUEST);
	T_EQ(a, 0);
	T_OK(csrf[0] == '\0');
	T_EQ(link_s("csrf=CSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRF-_0", &a, csrf),
	     ERR_RELAY_REQUEST);
	T_EQ(link_s("csrf=CSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRF-_0&continue=1&x=1", &a, csrf),
	     ERR_RELAY_REQUEST);
	T_EQ(link_s("csrf=CSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRF-_0&x=1", &a, csrf),
	     ERR_RELAY_REQUEST);
	T_EQ(link_s("continue=1&deny=1", &a, csrf), ERR_RELAY_REQUEST);
	T_EQ(link_s("continue=1", &a, csrf), ERR_RELAY_REQUEST);
	T_EQ(link_s("csrf=CSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRF-_&continue=1", &a, csrf),
	     ERR_RELAY_REQUEST);
	T_EQ(link_s("csrf=CSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRF-_00&continue=1", &a, csrf),
	     ERR_RELAY_REQUEST);
	T_EQ(link_s("csrf=&continue=1", &a, csrf), ERR_RELAY_REQUEST);
	T_EQ(link_s("", &a, csrf), ERR_RELAY_REQUEST);
	T_EQ(link_s("csrf=CSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRF-_0&continue=1&continue=1", &a,
		    csrf),
	     ERR_RELAY_REQUEST);
	T_EQ(link_s("csrf=CSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRFCSRF-_0&continue=%zz", &a, csrf),
	     ERR_RELAY_REQUEST);
	T_EQ(a, 0);
}

/* ---- the authorization URL (RLY-01/02/03) ---------------------------------------------- */

static void test_authurl(void)
{
	static const char *const required[] = {
		"response_type=", "client_id=", "redirect_uri=",   "scope=",
		"state=",	  "nonce=",	"code_challenge=", "code_challenge_method="
	};
	static const char *const optional[] = {
		"prompt=login",	  "max_age=300",      "login_hint=alice%40example.org",
		"acr_values=mfa", "ui_locales=de+en", "claims_locales=de",
		"display=page"
	};
	char buf[4096], *v;
	size_t n;
	int r;

	T_CASE("RLY-01 authurl: the baseline is accepted");
	T_EQ(au(BASE_URL), ERR_OK);
	T_EQ(au_free(subst(BASE_URL, "scope=openid+profile", "scope=profile+openid")), ERR_OK);
	T_EQ(au_free(subst(BASE_URL, "scope=openid+profile", "scope=openid")), ERR_OK);
	T_EQ(au_free(subst(BASE_URL, "redirect_uri=" CB_ENC,
			   "redirect_uri=https://relay.example.org/callback")),
	     ERR_OK);
	T_EQ(au_free(subst(BASE_URL, "client_id=pam-oauth2-pkce", "client_id=other+client")),
	     ERR_OK);
	T_EQ(au("http://127.0.0.1:8081/auth?code_challenge_method=S256&code_challenge=" CC
		"&nonce=n&state=" STATE "&scope=openid&redirect_uri=" CB_ENC
		"&client_id=pam-oauth2-pkce&response_type=code"),
	     ERR_OK);
	for (unsigned i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
		snprintf(buf, sizeof(buf), "%s&%s", BASE_URL, optional[i]);
		T_EQ(au(buf), ERR_OK);
	}

	T_CASE("RLY-01 authurl: at most 2048 bytes");
	n = strlen(BASE_URL "&login_hint=");
	v = repeat('a', AUTH_URL_MAX - n);
	snprintf(buf, sizeof(buf), "%s&login_hint=%s", BASE_URL, v);
	T_EQ(strlen(buf), AUTH_URL_MAX);
	T_EQ(au(buf), ERR_OK);
	snprintf(buf, sizeof(buf), "%s&login_hint=%sa", BASE_URL, v);
	T_OK(au_refused("longer than 2048", xstrdup(buf)));
	free(v);

	T_CASE("RLY-02 authurl: only RFC 3986 characters");
	T_OK(au_refused("character not allowed", subst(BASE_URL, "nonce=n-0S6", "nonce=n 0S6")));
	T_OK(au_refused("character not allowed",
			subst(BASE_URL, "nonce=n-0S6", "nonce=n\r\nX-Evil:1")));
	T_OK(au_refused("character not allowed", subst(BASE_URL, "nonce=n-0S6", "nonce=n\n0S6")));
	T_OK(au_refused("character not allowed", subst(BASE_URL, "nonce=n-0S6", "nonce=n\"0S6")));
	T_OK(au_refused("character not allowed", subst(BASE_URL, "nonce=n-0S6", "nonce=n<0S6")));
	T_OK(au_refused("character not allowed", subst(BASE_URL, "nonce=n-0S6", "nonce=n>0S6")));
	T_OK(au_refused("character not allowed", subst(BASE_URL, "nonce=n-0S6", "nonce=n\\0S6")));
	T_OK(au_refused("character not allowed",
			subst(BASE_URL, "nonce=n-0S6", "nonce=n\xc3\xa9")));
	T_OK(au_refused("character not allowed", subst(BASE_URL, "nonce=n-0S6", "nonce=n`0S6")));
	T_OK(au_refused("character not allowed", subst(BASE_URL, "nonce=n-0S6", "nonce=n{0S6")));
	T_OK(au_refused("character not allowed",
			subst(BASE_URL, "idp.example.org", "idp.ex\tample.org")));
	snprintf(buf, sizeof(buf), "%s", BASE_URL);
	buf[strlen(EP) + 5] = '\0'; /* a NUL inside the counted bytes */
	last_why = NULL;
	T_EQ(authurl_check(buf, strlen(BASE_URL), &cf, STATE, &last_why), ERR_RELAY_AUTH_URL);
	T_OK(last_why != NULL);

	T_CASE("RLY-02 authurl: no fragment");
	T_OK(au_refused("fragment not allowed", subst(BASE_URL, "&code_challenge_method=S256",
						      "&code_challenge_method=S256#frag")));
	T_OK(au_refused("fragment not allowed", subst(BASE_URL, "&code_challenge_method=S256",
						      "&code_challenge_method=S256#")));
	T_OK(au_refused("fragment not allowed",
			subst(BASE_URL, "?response_type", "#?response_type")));

	T_CASE("RLY-01 authurl: no query");
	T_OK(au_refused("no query", xstrdup(EP)));
	T_OK(au_refused("no query", xstrdup(EP "/")));

	T_CASE("RLY-01 authurl: endpoint byte for byte");
	T_OK(au_refused("endpoint (scheme", subst(BASE_URL, "idp.example.org", "IDP.EXAMPLE.ORG")));
	T_OK(au_refused("endpoint (scheme",
			subst(BASE_URL, "idp.example.org", "idp.example.org.")));
	T_OK(au_refused("endpoint (scheme",
			subst(BASE_URL, "idp.example.org", "idp.example.org:443")));
	T_OK(au_refused("endpoint (scheme", subst(BASE_URL, "https://", "http://")));
	T_OK(au_refused("endpoint (scheme", subst(BASE_URL, "/auth?", "/auth/?")));
	T_OK(au_refused("endpoint (scheme", subst(BASE_URL, "/auth?", "/authx?")));
	T_OK(au_refused("endpoint (scheme", subst(BASE_URL, "/auth?", "/aut?")));
	T_OK(au_refused("endpoint (scheme", subst(BASE_URL, "/auth?", "/%61uth?")));
	T_OK(au_refused("endpoint (scheme", subst(BASE_URL, "https://idp", "https://evil@idp")));
	T_OK(au_refused("endpoint (scheme", subst(BASE_URL, "/realms/corp", "/realms/corp/..")));

	T_CASE("RLY-01 authurl: a prefix of an allowed endpoint is another host, port or path");
	{
		/* the part before '?' only a prefix of an allowed endpoint: another
		 * host (idp.example.co), another port (:84), a shorter path */
		static char *eps2[] = { "https://idp.example.com/auth",
					"https://login.example.net:8443/oauth2/authorize" };
		struct rconf cf2 = cf;
		static const char *const refused[] = {
			"https://idp.example.co",
			"https://idp.example.com",
			"https://idp.example.com/",
			"https://idp.example.com/au",
			"https://idp.example.c",
			"https://",
			"https://login.example.net:84",
			"https://login.example.net:8",
			"https://login.example.net:8443",
			"https://login.example.net:8443/oauth2/auth",
			"http://127.0.0.1:808",
			"http://127.0.0.1:8081",
			"http://127.0.0.1:8081/aut",
		};
		const char *q = strchr(BASE_URL, '?');

		cf2.endpoints = eps2;
		for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
			snprintf(buf, sizeof(buf), "%s%s", refused[i], q);
			last_why = NULL;
			r = authurl_check(buf, strlen(buf), i < 10 ? &cf2 : &cf, STATE, &last_why);
			T_EQ(r, ERR_RELAY_AUTH_URL);
			T_OK(last_why && strstr(last_why, "endpoint (scheme") != NULL);
		}
		/* twins: the whole endpoints are accepted */
		for (unsigned i = 0; i < 2; i++) {
			snprintf(buf, sizeof(buf), "%s%s", eps2[i], q);
			T_EQ(authurl_check(buf, strlen(buf), &cf2, STATE, &last_why), ERR_OK);
		}
	}

	T_CASE("RLY-01 authurl: each parameter once, strict query");
	T_OK(au_refused("malformed or duplicated",
			subst(BASE_URL, "&nonce=", "&state=" STATE "&nonce=")));
	T_OK(au_refused("malformed or duplicated",
			subst(BASE_URL, "&nonce=", "&%73tate=" STATE "&nonce=")));
	T_OK(au_refused("malformed or duplicated",
			subst(BASE_URL, "&nonce=", "&prompt=login&prompt=none&nonce=")));
	T_OK(au_refused("malformed or duplicated", subst(BASE_URL, "&nonce=", "&&nonce=")));
	T_OK(au_refused("malformed or duplicated",
			subst(BASE_URL, "&nonce=n-0S6", "&nonce=n%zz0S6")));
	T_OK(au_refused("malformed or duplicated",
			subst(BASE_URL, "&nonce=n-0S6", "&nonce=n%000S6")));
	T_OK(au_refused("malformed or duplicated", subst(BASE_URL, "&nonce=", "&nonce")));

	T_CASE("RLY-03 authurl: no other parameters (request, request_uri, response_mode)");
	T_OK(au_refused("parameter not allowed",
			subst(BASE_URL, "&nonce=", "&request=eyJ.x.y&nonce=")));
	T_OK(au_refused("parameter not allowed",
			subst(BASE_URL, "&nonce=", "&request_uri=https%3A%2F%2Fevil&nonce=")));
	T_OK(au_refused("parameter not allowed",
			subst(BASE_URL, "&nonce=", "&response_mode=form_post&nonce=")));
	T_OK(au_refused("parameter not allowed", subst(BASE_URL, "&nonce=", "&foo=bar&nonce=")));
	T_OK(au_refused("parameter not allowed",
			subst(BASE_URL, "&nonce=", "&Prompt=login&nonce=")));

	T_CASE("RLY-01 authurl: decoded values printable ASCII");
	T_OK(au_refused("control or non-ASCII", subst(BASE_URL, "nonce=n-0S6", "nonce=n%0A0S6")));
	T_OK(au_refused("control or non-ASCII",
			subst(BASE_URL, "nonce=n-0S6", "nonce=n%0D%0A0S6")));
	T_OK(au_refused("control or non-ASCII", subst(BASE_URL, "nonce=n-0S6", "nonce=n%7F0S6")));
	T_OK(au_refused("control or non-ASCII",
			subst(BASE_URL, "nonce=n-0S6", "nonce=n%C3%A90S6")));
	snprintf(buf, sizeof(buf), "%s&login_hint=a%%09b", BASE_URL);
	T_OK(au_refused("control or non-ASCII", xstrdup(buf)));

	T_CASE("RLY-01 authurl: each required parameter missing");
	for (unsigned i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		/* drop "&name=value" (or "name=value&" for the first) */
		const char *q = strchr(BASE_URL, '?') + 1, *p = q, *e;
		while ((p = strstr(p, required[i])) && p[-1] != '&' && p[-1] != '?')
			p++;
		if (!p) {
			T_OK(!"required parameter not in BASE_URL");
			continue;
		}
		e = strchr(p, '&');
		if (p == q)
			snprintf(buf, sizeof(buf), "%.*s%s", (int)(q - BASE_URL), BASE_URL, e + 1);
		else if (e)
			snprintf(buf, sizeof(buf), "%.*s%s", (int)(p - 1 - BASE_URL), BASE_URL, e);
		else
			snprintf(buf, sizeof(buf), "%.*s", (int)(p - 1 - BASE_URL), BASE_URL);
		T_OK(strstr(buf, required[i]) == NULL);
		T_OK(au_refused("missing one of", xstrdup(buf)));
	}

	T_CASE("RLY-01 authurl: response_type=code");
	T_OK(au_refused("response_type must be code",
			subst(BASE_URL, "response_type=code", "response_type=token")));
	T_OK(au_refused("response_type must be code",
			subst(BASE_URL, "response_type=code", "response_type=code+id_token")));
	T_OK(au_refused("response_type must be code",
			subst(BASE_URL, "response_type=code", "response_type=Code")));
	T_OK(au_refused("response_type must be code",
			subst(BASE_URL, "response_type=code", "response_type=")));

	T_CASE("RLY-01 authurl: client_id allowed");
	T_OK(au_refused("client_id not allowed",
			subst(BASE_URL, "client_id=pam-oauth2-pkce", "client_id=evil")));
	T_OK(au_refused("client_id not allowed",
			subst(BASE_URL, "client_id=pam-oauth2-pkce", "client_id=pam-oauth2-pkc")));
	T_OK(au_refused("client_id not allowed",
			subst(BASE_URL, "client_id=pam-oauth2-pkce", "client_id=PAM-oauth2-pkce")));
	T_OK(au_refused("client_id not allowed",
			subst(BASE_URL, "client_id=pam-oauth2-pkce", "client_id=other%2Bclient")));

	T_CASE("RLY-01 authurl: redirect_uri is base_url + /callback");
	T_OK(au_refused("redirect_uri must be",
			subst(BASE_URL, CB_ENC, "https%3A%2F%2Fevil.example%2Fcallback")));
	T_OK(au_refused("redirect_uri must be", subst(BASE_URL, CB_ENC, CB_ENC "%2F")));
	T_OK(au_refused("redirect_uri must be", subst(BASE_URL, CB_ENC, CB_ENC "x")));
	T_OK(au_refused("redirect_uri must be", subst(BASE_URL, CB_ENC, CB_ENC "%3Fx%3D1")));
	T_OK(au_refused("redirect_uri must be",
			subst(BASE_URL, CB_ENC, "http%3A%2F%2Frelay.example.org%2Fcallback")));
	T_OK(au_refused("redirect_uri must be",
			subst(BASE_URL, CB_ENC, "https%3A%2F%2Frelay.example.org%2FCallback")));
	T_OK(au_refused("redirect_uri must be", subst(BASE_URL, CB_ENC, "")));

	T_CASE("RLY-01 authurl: code_challenge 43 base64url characters");
	T_OK(au_refused("code_challenge must be 43",
			subst(BASE_URL, "code_challenge=" CC, "code_challenge=" CC "A")));
	T_OK(au_refused("code_challenge must be 43",
			subst(BASE_URL, "code_challenge=" CC "&", "code_challenge=E9Melhoa2Owv&")));
	T_OK(au_refused("code_challenge must be 43",
			subst(BASE_URL, "code_challenge=E9M", "code_challenge=E9+")));
	T_OK(au_refused("code_challenge must be 43",
			subst(BASE_URL, "code_challenge=E9M", "code_challenge=E9%2B")));
	T_OK(au_refused("code_challenge must be 43",
			subst(BASE_URL, "code_challenge=E9M", "code_challenge=E9=")));

	T_CASE("RLY-01 authurl: code_challenge_method=S256");
	T_OK(au_refused("code_challenge_method must be S256",
			subst(BASE_URL, "method=S256", "method=plain")));
	T_OK(au_refused("code_challenge_method must be S256",
			subst(BASE_URL, "method=S256", "method=s256")));
	T_OK(au_refused("code_challenge_method must be S256",
			subst(BASE_URL, "method=S256", "method=S256+")));

	T_CASE("RLY-01 authurl: state is the registered state");
	T_OK(au_refused("state differs", subst(BASE_URL, "state=" STATE, "state=" STATE2)));
	T_OK(au_refused("state differs", subst(BASE_URL, "state=" STATE "&", "state=SSSSS&")));
	T_OK(au_refused("state differs", subst(BASE_URL, "state=" STATE, "state=" STATE "S")));
	T_OK(au_refused("state differs", subst(BASE_URL, "state=" STATE "&", "state=&")));

	T_CASE("RLY-01 authurl: scope contains the word openid");
	T_OK(au_refused("scope must contain openid",
			subst(BASE_URL, "scope=openid+profile", "scope=profile")));
	T_OK(au_refused("scope must contain openid",
			subst(BASE_URL, "scope=openid+profile", "scope=openidx+profile")));
	T_OK(au_refused("scope must contain openid",
			subst(BASE_URL, "scope=openid+profile", "scope=xopenid+profile")));
	T_OK(au_refused("scope must contain openid",
			subst(BASE_URL, "scope=openid+profile", "scope=OPENID")));
	T_OK(au_refused("scope must contain openid",
			subst(BASE_URL, "scope=openid+profile", "scope=profile,openid")));
	T_OK(au_refused("scope must contain openid",
			subst(BASE_URL, "scope=openid+profile", "scope=")));

	T_CASE("RLY-01 authurl: nonce 1..255 bytes");
	T_OK(au_refused("nonce missing or longer",
			subst(BASE_URL, "nonce=n-0S6_WzA2Mj", "nonce=")));
	v = repeat('n', 255);
	snprintf(buf, sizeof(buf), "nonce=%s", v);
	T_EQ(au_free(subst(BASE_URL, "nonce=n-0S6_WzA2Mj", buf)), ERR_OK);
	snprintf(buf, sizeof(buf), "nonce=%sn", v);
	T_OK(au_refused("nonce missing or longer", subst(BASE_URL, "nonce=n-0S6_WzA2Mj", buf)));
	free(v);

	T_CASE("RLY-01 authurl: max_age digits");
	snprintf(buf, sizeof(buf), "%s&max_age=0", BASE_URL);
	T_EQ(au(buf), ERR_OK);
	snprintf(buf, sizeof(buf), "%s&max_age=999999999", BASE_URL);
	T_EQ(au(buf), ERR_OK);
	snprintf(buf, sizeof(buf), "%s&max_age=", BASE_URL);
	T_OK(au_refused("max_age must be a number", xstrdup(buf)));
	snprintf(buf, sizeof(buf), "%s&max_age=-1", BASE_URL);
	T_OK(au_refused("max_age must be a number", xstrdup(buf)));
	snprintf(buf, sizeof(buf), "%s&max_age=1h", BASE_URL);
	T_OK(au_refused("max_age must be a number", xstrdup(buf)));
	snprintf(buf, sizeof(buf), "%s&max_age=+1", BASE_URL);
	T_OK(au_refused("max_age must be a number", xstrdup(buf)));
	snprintf(buf, sizeof(buf), "%s&max_age=1234567890", BASE_URL);
	T_OK(au_refused("max_age must be a number", xstrdup(buf)));
}

/* ---- the registration body (RLY-05) ---------------------------------------------------- */

static void test_reg(void)
{
	char buf[REG_BODY_MAX + 64], *v, *url;
	struct reg keep;
	const char *why = NULL;
	int r;

	T_CASE("RLY-05 reg: the baseline");
	T_EQ(rp(reg_body(STATE, poll_hash_b64, "300", BASE_URL, CTX_OK, NULL)), ERR_OK);
	T_STREQ(rg.state, STATE);
	T_OK(memcmp(rg.poll_hash, poll_hash_raw, 32) == 0);
	T_EQ(rg.ttl, 300);
	T_STREQ(rg.auth_url, BASE_URL);
	T_STREQ(rg.ctx.host, "web1.example.org");
	T_STREQ(rg.ctx.service, "sshd");
	T_STREQ(rg.ctx.user, "alice");
	T_STREQ(rg.ctx.rhost, "203.0.113.9");
	T_STREQ(rg.confirm, "");
	T_EQ(rp(reg_body(STATE, poll_hash_b64, "300", BASE_URL,
			 "{\"user\":\"alice\",\"host\":\"h\",\"service\":\"login\"}", NULL)),
	     ERR_OK);
	T_STREQ(rg.ctx.rhost, "");

	T_CASE("RLY-05 reg: not JSON, not an object, too large");
	T_EQ(rp(xstrdup("")), ERR_RELAY_REQUEST);
	T_EQ(rp(xstrdup("{")), ERR_RELAY_REQUEST);
	T_EQ(rp(xstrdup("[]")), ERR_RELAY_REQUEST);
	T_EQ(rp(xstrdup("\"x\"")), ERR_RELAY_REQUEST);
	T_EQ(rp(xstrdup("{} x")), ERR_RELAY_REQUEST);
	v = reg_body(STATE, poll_hash_b64, "300", BASE_URL, CTX_OK, NULL);
	snprintf(buf, sizeof(buf), "%s", v);
	free(v);
	memset(buf + strlen(buf), ' ', REG_BODY_MAX - strlen(buf)); /* whitespace to the cap */
	buf[REG_BODY_MAX] = '\0';
	T_EQ(rp(xstrdup(buf)), ERR_OK);
	strcat(buf, " ");
	T_EQ(rp(xstrdup(buf)), ERR_RELAY_REQUEST);

	T_CASE("RLY-05 reg: unknown member, at the top and in context");
	T_EQ(rp_extra(",\"extra\":1"), ERR_RELAY_REQUEST);
	T_STREQ(last_why, "unknown member");
	T_EQ(rp_extra(",\"State\":\"x\""), ERR_RELAY_REQUEST); /* also a case-dup */
	T_EQ(rp_extra(",\"nonce\":\"x\""), ERR_RELAY_REQUEST);
	T_OK(refused(rp_ctx("{\"host\":\"h\",\"service\":\"s\",\"user\":\"u\",\"tty\":\"pts/0\"}"),
		     "context:"));
	T_OK(last_why && strncmp(last_why, "context: unknown member", 23) == 0);

	T_CASE("RLY-05 reg: duplicate member (also differing in case)");
	T_EQ(rp_extra(",\"ttl\":300"), ERR_RELAY_REQUEST);
	T_STREQ(last_why, "duplicate member");
	T_EQ(rp_extra(",\"TTL\":300"), ERR_RELAY_REQUEST);
	T_STREQ(last_why, "duplicate member");
	T_OK(refused(rp_ctx("{\"host\":\"h\",\"service\":\"s\",\"user\":\"u\",\"user\":\"root\"}"),
		     "duplicate member"));

	T_CASE("RLY-05 reg: state 43 base64url characters");
	T_EQ(rp(reg_body(NULL, poll_hash_b64, "300", BASE_URL, CTX_OK, NULL)), ERR_RELAY_REQUEST);
	T_EQ(rp(reg_body(STATE "S", poll_hash_b64, "300", BASE_URL, CTX_OK, NULL)),
	     ERR_RELAY_REQUEST);
	T_EQ(rp(reg_body(STATE + 1, poll_hash_b64, "300", BASE_URL, CTX_OK, NULL)),
	     ERR_RELAY_REQUEST);
	T_EQ(rp(reg_body(S42 "=", poll_hash_b64, "300", BASE_URL, CTX_OK, NULL)),
	     ERR_RELAY_REQUEST);
	T_EQ(rp_extra(NULL), ERR_OK);
	T_EQ(rp(xstrdup("{\"state\":1}")), ERR_RELAY_REQUEST);

	T_CASE("RLY-05 reg: poll_secret_sha256 base64url of 32 bytes");
	T_EQ(rp(reg_body(STATE, NULL, "300", BASE_URL, CTX_OK, NULL)), ERR_RELAY_REQUEST);
	T_EQ(rp(reg_body(STATE, "abc", "300", BASE_URL, CTX_OK, NULL)), ERR_RELAY_REQUEST);
	T_EQ(rp(reg_body(STATE, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			 "300", BASE_URL, CTX_OK, NULL)),
	     ERR_RELAY_REQUEST); /* 64 hex, the first draft's format */
	T_EQ(rp(reg_body(STATE, S42 "+", "300", BASE_URL, CTX_OK, NULL)), ERR_RELAY_REQUEST);

	T_CASE("RLY-05 reg: ttl a whole number >= 1");
	T_EQ(rp_ttl("1"), ERR_OK);
	T_EQ(rg.ttl, 1);
	T_EQ(rp_ttl("300.0"), ERR_OK);
	T_OK(refused(rp_ttl("0"), "ttl:"));
	T_OK(last_why && strncmp(last_why, "ttl:", 4) == 0);
	T_OK(refused(rp_ttl("-5"), "ttl:"));
	T_OK(refused(rp_ttl("1.5"), "ttl:"));
	T_OK(refused(rp_ttl("0.5"), "ttl:"));
	T_OK(refused(rp_ttl("\"300\""), "ttl:"));
	T_OK(refused(rp_ttl("true"), "ttl:"));
	T_OK(refused(rp_ttl("null"), "ttl:"));
	T_OK(refused(rp_ttl("[300]"), "ttl:"));
	T_OK(refused(rp_ttl("1e400"), "ttl:"));
	T_EQ(rp(reg_body(STATE, poll_hash_b64, NULL, BASE_URL, CTX_OK, NULL)), ERR_RELAY_REQUEST);

	T_CASE("RLY-07 reg: ttl above max_ttl is clamped");
	T_EQ(rp_ttl("301"), ERR_OK);
	T_EQ(rg.ttl, 300);
	T_EQ(rp_ttl("9999999999999"), ERR_OK);
	T_EQ(rg.ttl, 300);
	T_EQ(rp_ttl("1e300"), ERR_OK);
	T_EQ(rg.ttl, 300);

	T_CASE("RLY-05 reg: context required, host/service/user 1..128, rhost optional");
	T_EQ(rp(reg_body(STATE, poll_hash_b64, "300", BASE_URL, NULL, NULL)), ERR_RELAY_REQUEST);
	T_STREQ(last_why, "context: required");
	T_OK(refused(rp_ctx("null"), "context:"));
	T_OK(refused(rp_ctx("\"web1\""), "context:"));
	T_OK(refused(rp_ctx("[]"), "context:"));
	T_OK(refused(rp_ctx("{\"host\":\"h\",\"service\":\"s\"}"), "context:"));
	T_OK(refused(rp_ctx("{\"host\":\"h\",\"user\":\"u\"}"), "context:"));
	T_OK(refused(rp_ctx("{\"service\":\"s\",\"user\":\"u\"}"), "context:"));
	T_OK(refused(rp_ctx("{\"host\":\"\",\"service\":\"s\",\"user\":\"u\"}"), "context:"));
	T_OK(refused(rp_ctx("{\"host\":\"h\",\"service\":\"s\",\"user\":\"\"}"), "context:"));
	T_EQ(rp_ctx("{\"host\":\"h\",\"service\":\"s\",\"user\":\"u\",\"rhost\":\"\"}"), ERR_OK);
	T_OK(refused(rp_ctx("{\"host\":\"h\",\"service\":\"s\",\"user\":1}"), "context:"));
	T_OK(refused(rp_ctx("{\"host\":\"h\",\"service\":\"s\",\"user\":\"u\",\"rhost\":null}"),
		     "context:"));
	v = repeat('h', STORE_CTX_MAX);
	snprintf(buf, sizeof(buf), "{\"host\":\"%s\",\"service\":\"s\",\"user\":\"u\"}", v);
	T_EQ(rp_ctx(buf), ERR_OK);
	T_EQ(strlen(rg.ctx.host), STORE_CTX_MAX);
	snprintf(buf, sizeof(buf), "{\"host\":\"%sh\",\"service\":\"s\",\"user\":\"u\"}", v);
	T_OK(refused(rp_ctx(buf), "context:"));
	snprintf(buf, sizeof(buf),
		 "{\"host\":\"h\",\"service\":\"s\",\"user\":\"u\",\"rhost\":\"%s1\"}", v);
	T_OK(refused(rp_ctx(buf), "context:"));
	free(v);
	T_OK(refused(
		rp_ctx("{\"host\":\"h\",\"service\":\"s\",\"user\":\"u\",\"rhost\":{\"a\":{}}}"),
		"context:"));

	T_CASE("XD-03 reg: context text without controls or bidi overrides");
	T_EQ(rp_ctx("{\"host\":\"h\\u00e9\",\"service\":\"s\",\"user\":\"j\\u00f6rg\"}"), ERR_OK);
	T_STREQ(rg.ctx.user, "j\xc3\xb6rg");
	T_OK(refused(rp_ctx("{\"host\":\"a\\u202eb\",\"service\":\"s\",\"user\":\"u\"}"),
		     "context:"));
	T_OK(refused(rp_ctx("{\"host\":\"h\",\"service\":\"s\",\"user\":\"a\\u200fb\"}"),
		     "context:"));
	T_OK(refused(
		rp_ctx("{\"host\":\"h\",\"service\":\"s\",\"user\":\"u\",\"rhost\":\"a\\u2066b\"}"),
		"context:"));
	T_OK(refused(rp_ctx("{\"host\":\"h\",\"service\":\"s\\nx\",\"user\":\"u\"}"), "context:"));
	T_OK(refused(rp_ctx("{\"host\":\"h\\u0007\",\"service\":\"s\",\"user\":\"u\"}"),
		     "context:"));
	T_OK(refused(rp_ctx("{\"host\":\"h\\u007f\",\"service\":\"s\",\"user\":\"u\"}"),
		     "context:"));
	T_OK(refused(rp_ctx("{\"host\":\"h\\u0085\",\"service\":\"s\",\"user\":\"u\"}"),
		     "context:"));
	T_OK(refused(rp_ctx("{\"host\":\"h\\u2028\",\"service\":\"s\",\"user\":\"u\"}"),
		     "context:"));
	T_OK(refused(rp_ctx("{\"host\":\"\\ufeffh\",\"service\":\"s\",\"user\":\"u\"}"),
		     "context:"));
	T_OK(refused(rp_ctx("{\"host\":\"h\\u061c\",\"service\":\"s\",\"user\":\"u\"}"),
		     "context:"));
	T_OK(refused(rp_ctx("{\"host\":\"h\\u0000\",\"service\":\"s\",\"user\":\"u\"}"),
		     "invalid JSON")); /* lib/json refuses \u0000 */
	T_OK(refused(rp_ctx("{\"host\":\"h\xff\",\"service\":\"s\",\"user\":\"u\"}"),
		     "invalid JSON"));

	T_CASE("reg: confirm_code a string of 4..12 digits");
	T_EQ(rp_extra(",\"confirm_code\":\"482913\""), ERR_OK);
	T_STREQ(rg.confirm, "482913");
	T_EQ(rp_extra(",\"confirm_code\":\"0000\""), ERR_OK);
	T_STREQ(rg.confirm, "0000");
	T_EQ(rp_extra(",\"confirm_code\":\"123456789012\""), ERR_OK);
	T_OK(refused(rp_extra(",\"confirm_code\":\"123\""), "confirm_code:"));
	T_OK(last_why && strncmp(last_why, "confirm_code:", 13) == 0);
	T_OK(refused(rp_extra(",\"confirm_code\":\"1234567890123\""), "confirm_code:"));
	T_OK(refused(rp_extra(",\"confirm_code\":\"12a4\""), "confirm_code:"));
	T_OK(refused(rp_extra(",\"confirm_code\":\"12 34\""), "confirm_code:"));
	T_OK(refused(rp_extra(",\"confirm_code\":\"-1234\""), "confirm_code:"));
	T_OK(refused(rp_extra(",\"confirm_code\":\"\""), "confirm_code:"));
	T_OK(refused(rp_extra(",\"confirm_code\":482913"), "confirm_code:"));
	T_OK(refused(rp_extra(",\"confirm_code\":null"), "confirm_code:"));
	T_OK(refused(rp_extra(",\"confirm_code\":\"\\u0661\\u0662\\u0663\\u0664\""),
		     "confirm_code:"));

	T_CASE("RLY-01 reg: authorization_url required, checked against the registered state");
	T_EQ(rp(reg_body(STATE, poll_hash_b64, "300", NULL, CTX_OK, NULL)), ERR_RELAY_REQUEST);
	T_EQ(rp_extra(NULL), ERR_OK);
	url = subst(BASE_URL, "state=" STATE, "state=" STATE2);
	T_EQ(rp(reg_body(STATE, poll_hash_b64, "300", url, CTX_OK, NULL)), ERR_RELAY_AUTH_URL);
	T_OK(last_why && strstr(last_why, "state differs") != NULL);
	T_EQ(rp(reg_body(STATE2, poll_hash_b64, "300", url, CTX_OK, NULL)), ERR_OK);
	free(url);
	url = subst(BASE_URL, "&nonce=", "&request_uri=x&nonce=");
	T_EQ(rp(reg_body(STATE, poll_hash_b64, "300", url, CTX_OK, NULL)), ERR_RELAY_AUTH_URL);
	free(url);
	T_EQ(rp(reg_body(STATE, poll_hash_b64, "300", BASE_URL "\\u000a", CTX_OK, NULL)),
	     ERR_RELAY_AUTH_URL);
	T_EQ(rp(reg_body(STATE, poll_hash_b64, "300", "1", CTX_OK, NULL)), ERR_RELAY_AUTH_URL);
	T_EQ(rp(reg_body(STATE, poll_hash_b64, "300", NULL, CTX_OK, ",\"authorization_url\":1")),
	     ERR_RELAY_REQUEST);

	T_CASE("RLY-05 reg: *out untouched on refusal");
	reg_cleanup(&rg);
	memset(&keep, 0x5a, sizeof(keep));
	v = reg_body(STATE, poll_hash_b64, "0", BASE_URL, CTX_OK, NULL);
	memcpy(&rg, &keep, sizeof(rg));
	r = reg_parse(v, strlen(v), &cf, &rg, &why);
	T_EQ(r, ERR_RELAY_REQUEST);
	T_OK(memcmp(&rg, &keep, sizeof(rg)) == 0);
	T_OK(why != NULL);
	memset(&rg, 0, sizeof(rg));
	free(v);
	reg_cleanup(NULL);
}

int main(void)
{
	unsigned char h[32];

	SHA256((const unsigned char *)"poll-secret", 11, h);
	memcpy(poll_hash_raw, h, 32);
	if (b64url_encode(h, 32, poll_hash_b64, sizeof(poll_hash_b64)) != 0)
		return 2;
	memset(&rg, 0, sizeof(rg));

	test_pollq();
	test_bearer();
	test_ctype();
	test_cbq();
	test_linkform();
	test_authurl();
	test_reg();
	reg_cleanup(&rg);
	return t_done();
}
