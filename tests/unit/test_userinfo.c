/* test_userinfo.c: claims from the UserInfo endpoint (IDT-29): which claims
 * make the helper ask, the strict answer (sub binding, JSON, type, size),
 * filling only what the ID token lacks, and the HTTP rules, against the
 * fake HTTP server of fake_idp.h for what a real IdP will not do (HTML,
 * 8 MiB, application/jwt, 401, a server that never answers). */
#include <curl/curl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "err.h"
#include "fake_idp.h"
#include "jwt_mint.h"
#include "json.h"
#include "log_capture.h"
#include "tap.h"
#include "userinfo.h"

static char base[] = "/tmp/test_userinfo_XXXXXX";
static const struct log tlog = { logcap_sink, NULL, 1 };

static cJSON *js(const char *text)
{
	cJSON *j = NULL;

	if (json_parse(text, strlen(text), 65536, 16, &j) != 0)
		abort();
	return j;
}

static int parse_r(const char *body, const char *sub)
{
	cJSON *out = NULL;
	int r;

	logcap_reset();
	r = userinfo_parse(body, strlen(body), sub, &tlog, &out);
	if ((r == 0) != (out != NULL))
		return 12345;
	json_delete_wiped(out);
	return r;
}

static void test_parse(void)
{
	char *deep, *big;

	T_CASE("IDT-29 a UserInfo answer for the ID token's sub");
	T_EQ(parse_r("{\"sub\":\"sub-alice\",\"preferred_username\":\"alice\"}", "sub-alice"), 0);
	T_EQ(parse_r("{\"sub\":\"sub-alice\"}", "sub-alice"), 0);

	T_CASE("IDT-29 rp-userinfo-bad-sub-claim: sub not byte-equal");
	T_EQ(parse_r("{\"sub\":\"sub-mallory\",\"preferred_username\":\"alice\"}", "sub-alice"),
	     ERR_USERINFO_SUB);
	T_OK(strstr(logcap.all, "sub sub-mallory is not the ID token's sub sub-alice") != NULL);
	T_EQ(parse_r("{\"sub\":\"SUB-ALICE\"}", "sub-alice"), ERR_USERINFO_SUB);
	T_EQ(parse_r("{\"sub\":\"sub-alice \"}", "sub-alice"), ERR_USERINFO_SUB);
	T_EQ(parse_r("{\"sub\":\"sub-alic\"}", "sub-alice"), ERR_USERINFO_SUB);
	T_EQ(parse_r("{\"sub\":\"\"}", "sub-alice"), ERR_USERINFO_SUB);
	T_EQ(parse_r("{\"sub\":\"sub-\\u0061lice\"}", "sub-alice"), 0); /* JSON escapes decode */

	T_CASE("IDT-29 sub missing or not a string; not an object");
	T_EQ(parse_r("{\"preferred_username\":\"alice\"}", "sub-alice"), ERR_USERINFO_RESPONSE);
	T_EQ(parse_r("{\"sub\":42}", "sub-alice"), ERR_USERINFO_RESPONSE);
	T_EQ(parse_r("{\"sub\":[\"sub-alice\"]}", "sub-alice"), ERR_USERINFO_RESPONSE);
	T_EQ(parse_r("{\"sub\":null}", "sub-alice"), ERR_USERINFO_RESPONSE);
	T_EQ(parse_r("[{\"sub\":\"sub-alice\"}]", "sub-alice"), ERR_USERINFO_RESPONSE);
	T_EQ(parse_r("\"sub-alice\"", "sub-alice"), ERR_USERINFO_RESPONSE);

	T_CASE("IDT-11 IDT-29 strict JSON: duplicates, case shadows, UTF-8, NUL, depth, garbage");
	T_EQ(parse_r("{\"sub\":\"sub-alice\",\"sub\":\"sub-bob\"}", "sub-alice"), ERR_JSON_DUP);
	T_EQ(parse_r("{\"sub\":\"sub-alice\",\"preferred_username\":\"alice\","
		     "\"preferred_username\":\"root\"}",
		     "sub-alice"),
	     ERR_JSON_DUP);
	T_EQ(parse_r("{\"sub\":\"sub-alice\",\"SUB\":\"sub-bob\"}", "sub-alice"), ERR_JSON_DUP);
	T_EQ(parse_r("{\"sub\":\"sub-alice\",\"name\":\"\xff\"}", "sub-alice"), ERR_JSON_UTF8);
	T_EQ(parse_r("{\"sub\":\"sub-alice\\u0000x\"}", "sub-alice"), ERR_JSON_UTF8);
	T_EQ(parse_r("<html><body>Sign in</body></html>", "sub-alice"), ERR_JSON);
	T_EQ(parse_r("{\"sub\":\"sub-alice\"} x", "sub-alice"), ERR_JSON);
	T_EQ(parse_r("", "sub-alice"), ERR_JSON);
	deep = mint_printf("{\"sub\":\"sub-alice\",\"a\":%s1%s}", "[[[[[[[[", "]]]]]]]]");
	T_EQ(parse_r(deep, "sub-alice"), ERR_JSON_DEPTH);
	free(deep);
	deep = mint_printf("{\"sub\":\"sub-alice\",\"a\":%s1%s}", "[[[[[[", "]]]]]]");
	T_EQ(parse_r(deep, "sub-alice"), 0); /* 7 levels: fine */
	free(deep);

	T_CASE("IDT-29 over USERINFO_MAX_BYTES");
	big = malloc(USERINFO_MAX_BYTES + 2);
	memset(big, ' ', USERINFO_MAX_BYTES + 1);
	memcpy(big, "{\"sub\":\"sub-alice\"}", 19);
	big[USERINFO_MAX_BYTES + 1] = '\0';
	T_EQ(parse_r(big, "sub-alice"), ERR_TOO_LARGE);
	big[USERINFO_MAX_BYTES] = '\0';
	T_EQ(parse_r(big, "sub-alice"), 0);
	free(big);

	T_CASE("bad arguments");
	T_EQ(parse_r("{\"sub\":\"x\"}", ""), ERR_INVAL);
	T_EQ(userinfo_parse(NULL, 0, "x", &tlog, NULL), ERR_INVAL);
}

static int user_exists(const char *name, uid_t *uid)
{
	if (!strcmp(name, "alice")) {
		*uid = 1000;
		return 1;
	}
	if (!strcmp(name, "root")) {
		*uid = 0;
		return 1;
	}
	return 0;
}

static struct passwd *fake_getpwnam(const char *name)
{
	static struct passwd pw;
	static char nm[64];
	uid_t uid;

	if (!user_exists(name, &uid))
		return NULL;
	snprintf(nm, sizeof(nm), "%s", name);
	pw.pw_name = nm;
	pw.pw_uid = uid;
	return &pw;
}

static void test_needed_merge(void)
{
	struct claims_policy p = { 0 };
	cJSON *idt, *idt_full, *ui, *m = NULL;
	char user[CLAIMS_USER_MAX + 1], *before, *after;
	const char *s = NULL;
	int filled = -1;

	idt = js("{\"iss\":\"https://idp\",\"sub\":\"sub-alice\",\"aud\":\"host-a\",\"exp\":2,"
		 "\"iat\":1,\"nonce\":\"n\",\"acr\":\"1\"}");
	idt_full = js("{\"iss\":\"https://idp\",\"sub\":\"sub-alice\",\"preferred_username\":"
		      "\"alice\",\"groups\":[\"staff\"],\"email\":\"alice@x\"}");
	ui = js("{\"sub\":\"sub-alice\",\"preferred_username\":\"alice\",\"groups\":[\"wheel\"],"
		"\"email\":\"alice@example.org\",\"email_verified\":true,\"name\":\"Alice\","
		"\"iss\":\"https://evil\",\"aud\":\"other\",\"nonce\":\"x\",\"acr\":\"3\","
		"\"amr\":[\"hwk\"],\"auth_time\":99,\"exp\":9999999999}");
	p.getpwnam = fake_getpwnam;

	T_CASE("IDT-29 userinfo_needed: the claims the policy reads");
	T_EQ(userinfo_needed(idt, &p), 1);	/* preferred_username absent */
	T_EQ(userinfo_needed(idt_full, &p), 0); /* present; groups not used */
	p.allowed_groups = "wheel";
	T_EQ(userinfo_needed(idt_full, &p), 0); /* groups present */
	p.groups_claim = "roles";
	T_EQ(userinfo_needed(idt_full, &p), 1); /* roles absent */
	p.groups_claim = NULL;
	p.allowed_groups = "";
	T_EQ(userinfo_needed(idt_full, &p), 0); /* empty allowed_groups: no rule */
	p.username_claim = "email";
	T_EQ(userinfo_needed(idt_full, &p), 0); /* email present (email_verified is its own) */
	T_EQ(userinfo_needed(idt, &p), 1);
	p.username_claim = "upn";
	T_EQ(userinfo_needed(idt_full, &p), 1);
	p.username_claim = NULL;
	T_EQ(userinfo_needed(NULL, &p), 0);

	T_CASE("IDT-29 merge: fills the username claim and groups from UserInfo");
	before = cJSON_PrintUnformatted(idt);
	p.allowed_groups = "wheel";
	T_EQ(userinfo_merge(idt, ui, &p, &tlog, &m, &filled), 0);
	T_EQ(filled, 1);
	T_EQ(json_get_string(m, "preferred_username", &s), 0);
	T_STREQ(s, "alice");
	T_OK(cJSON_IsArray(json_get(m, "groups")));
	T_EQ(claims_map_user(m, &p, &tlog, user, sizeof(user)), 0);
	T_STREQ(user, "alice");
	after = cJSON_PrintUnformatted(idt);
	T_STREQ(after, before); /* the verified ID token is not changed */
	free(after);

	T_CASE("IDT-29 merge: UserInfo never feeds iss, aud, nonce, acr, amr, auth_time, exp");
	s = NULL;
	T_EQ(json_get_string(m, "iss", &s), 0);
	T_STREQ(s, "https://idp");
	T_EQ(json_get_string(m, "acr", &s), 0);
	T_STREQ(s, "1");
	T_EQ(json_get_string(m, "aud", &s), 0);
	T_STREQ(s, "host-a");
	T_OK(json_get(m, "amr") == NULL);
	T_OK(json_get(m, "auth_time") == NULL);
	T_OK(cJSON_GetNumberValue(json_get(m, "exp")) == 2);
	T_OK(json_get(m, "email") == NULL); /* not needed by the policy: not taken */
	T_OK(json_get(m, "name") == NULL);
	json_delete_wiped(m);
	m = NULL;
	p.username_claim = "amr";
	T_EQ(userinfo_merge(idt, ui, &p, &tlog, &m, &filled), 0);
	T_OK(json_get(m, "amr") == NULL); /* even when the policy names it */
	T_OK(strstr(logcap.all, "amr is never taken from UserInfo") != NULL);
	json_delete_wiped(m);
	m = NULL;
	p.username_claim = NULL;

	T_CASE("IDT-29 merge: an ID-token claim is never overridden");
	{
		cJSON *ui_root = js("{\"sub\":\"sub-alice\",\"preferred_username\":\"root\","
				    "\"groups\":[\"wheel\"]}");
		T_EQ(userinfo_merge(idt_full, ui_root, &p, &tlog, &m, &filled), 0);
		T_EQ(filled, 0);
		T_EQ(json_get_string(m, "preferred_username", &s), 0);
		T_STREQ(s, "alice");
		/* the ID token's groups (staff) stay: UserInfo's wheel is not added */
		T_EQ(claims_map_user(m, &p, &tlog, user, sizeof(user)), ERR_MAP_GROUP);
		json_delete_wiped(m);
		m = NULL;
		json_delete_wiped(ui_root);
	}

	T_CASE("IDT-29 merge: UserInfo lacking the claim too -> the mapping refuses as before");
	{
		cJSON *ui_bare = js("{\"sub\":\"sub-alice\"}");
		p.allowed_groups = NULL;
		T_EQ(userinfo_merge(idt, ui_bare, &p, &tlog, &m, &filled), 0);
		T_EQ(filled, 0);
		T_EQ(claims_map_user(m, &p, &tlog, user, sizeof(user)), ERR_MAP_CLAIM);
		json_delete_wiped(m);
		m = NULL;
		json_delete_wiped(ui_bare);
	}

	T_CASE("IDT-29 merge: email and email_verified come from one source");
	p.username_claim = "email";
	{
		/* the ID token's email without email_verified: UserInfo's
		 * email_verified (maybe about another address) is not used */
		cJSON *idt_email = js("{\"sub\":\"sub-alice\",\"email\":\"root@example.org\"}");
		T_EQ(userinfo_merge(idt_email, ui, &p, &tlog, &m, &filled), 0);
		T_EQ(filled, 0);
		T_OK(json_get(m, "email_verified") == NULL);
		T_EQ(claims_map_user(m, &p, &tlog, user, sizeof(user)), ERR_MAP_EMAIL);
		json_delete_wiped(m);
		m = NULL;
		json_delete_wiped(idt_email);
	}
	T_EQ(userinfo_merge(idt, ui, &p, &tlog, &m, &filled), 0); /* no email: both taken */
	T_EQ(filled, 1);
	T_EQ(json_get_string(m, "email", &s), 0);
	T_STREQ(s, "alice@example.org");
	T_OK(cJSON_IsTrue(json_get(m, "email_verified")));
	json_delete_wiped(m);
	m = NULL;
	p.username_claim = NULL;

	T_CASE("bad arguments");
	T_EQ(userinfo_merge(NULL, ui, &p, &tlog, &m, &filled), ERR_INVAL);
	T_EQ(userinfo_merge(idt, NULL, &p, &tlog, &m, &filled), ERR_INVAL);

	free(before);
	json_delete_wiped(idt);
	json_delete_wiped(idt_full);
	json_delete_wiped(ui);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fetch_r(const struct http_opts *o, const char *url, const char *at, cJSON **out)
{
	logcap_reset();
	*out = NULL;
	return userinfo_fetch(o, url, at, "sub-alice", &tlog, out);
}

static void test_fetch(void)
{
	struct http_opts o = { 0 };
	char url[128], reqs[70000], big[64];
	cJSON *ui = NULL;
	const char *s = NULL;
	long long t0, took;
	int r;

	o.total_timeout_ms = 1500;
	o.connect_timeout_ms = 1000;
	o.allow_insecure_loopback = 1;
	o.log = &tlog;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/me", srv_port);

	T_CASE("IDT-29 GET with the bearer in the header, never in the URL");
	route("/me", 200, "application/json; charset=utf-8",
	      "{\"sub\":\"sub-alice\",\"preferred_username\":\"alice\"}");
	drain(reqs, sizeof(reqs));
	T_EQ(fetch_r(&o, url, "at-0123456789abcdef", &ui), 0);
	T_EQ(json_get_string(ui, "preferred_username", &s), 0);
	T_STREQ(s, "alice");
	json_delete_wiped(ui);
	T_EQ(drain(reqs, sizeof(reqs)), 1);
	T_OK(strncmp(reqs, "GET /me HTTP/1.1\r\n", 18) == 0);
	T_OK(strstr(reqs, "\r\nAuthorization: Bearer at-0123456789abcdef\r\n") != NULL);
	T_OK(strstr(reqs, "at-0123456789abcdef") == strstr(reqs, "Bearer ") + 7); /* only there */
	T_OK(strstr(logcap.all, "at-0123456789abcdef") == NULL);		  /* never logged */

	T_CASE("IDT-29 fixture: sub mismatch");
	route("/me", 200, "application/json",
	      "{\"sub\":\"sub-mallory\",\"preferred_username\":\"alice\"}");
	T_EQ(fetch_r(&o, url, "at", &ui), ERR_USERINFO_SUB);
	T_OK(ui == NULL);
	T_EQ(userinfo_err_unavailable(ERR_USERINFO_SUB), 0);

	T_CASE("IDT-29 fixture: an HTML page (a login page, an error page)");
	route("/me", 200, "text/html", "<html><body>Sign in</body></html>");
	T_EQ(fetch_r(&o, url, "at", &ui), ERR_USERINFO_CTYPE);
	route("/me", 200, "application/json", "<html><body>Sign in</body></html>");
	T_EQ(fetch_r(&o, url, "at", &ui), ERR_JSON);
	route("/me", 200, NULL, "{\"sub\":\"sub-alice\"}");
	T_EQ(fetch_r(&o, url, "at", &ui), ERR_USERINFO_CTYPE); /* no Content-Type */
	route("/me", 200, "application/userinfo+json", "{\"sub\":\"sub-alice\"}");
	T_EQ(fetch_r(&o, url, "at", &ui), ERR_USERINFO_CTYPE); /* exactly application/json */
	T_EQ(userinfo_err_unavailable(ERR_USERINFO_CTYPE), 0);

	T_CASE("IDT-29 fixture: a signed UserInfo (application/jwt) has its own refusal");
	route("/me", 200, "application/jwt",
	      "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdWItYWxpY2UifQ.c2ln");
	T_EQ(fetch_r(&o, url, "at", &ui), ERR_USERINFO_JWT);
	T_OK(strstr(logcap.all, "application/jwt") != NULL);

	T_CASE("IDT-29 fixture: 8 MiB answers, with and without Content-Length");
	snprintf(big, sizeof(big), "@BIG %d application/json", 8 * 1024 * 1024);
	route_raw("/me", big);
	t0 = now_ms();
	T_EQ(fetch_r(&o, url, "at", &ui), ERR_HTTP_TOO_LARGE);
	snprintf(big, sizeof(big), "@BIGNOLEN %d application/json", 8 * 1024 * 1024);
	route_raw("/me", big);
	T_EQ(fetch_r(&o, url, "at", &ui), ERR_HTTP_TOO_LARGE);
	T_OK(now_ms() - t0 < 1500);
	T_EQ(userinfo_err_unavailable(ERR_HTTP_TOO_LARGE), 0);

	T_CASE("IDT-29 fixture: 401 and 403 refuse; other 4xx refuse; 5xx is unavailable");
	route("/me", 401, "application/json", "{\"error\":\"invalid_token\"}");
	T_EQ(fetch_r(&o, url, "at", &ui), ERR_USERINFO_TOKEN);
	route("/me", 403, "application/json", "{\"error\":\"insufficient_scope\"}");
	T_EQ(fetch_r(&o, url, "at", &ui), ERR_USERINFO_TOKEN);
	T_EQ(userinfo_err_unavailable(ERR_USERINFO_TOKEN), 0);
	route("/me", 404, "text/plain", "no");
	T_EQ(fetch_r(&o, url, "at", &ui), ERR_USERINFO_STATUS);
	T_EQ(userinfo_err_unavailable(ERR_USERINFO_STATUS), 0);
	route("/me", 500, "text/plain", "oops");
	T_EQ(fetch_r(&o, url, "at", &ui), ERR_USERINFO_SERVER);
	route("/me", 503, "application/json", "{\"sub\":\"sub-alice\"}");
	T_EQ(fetch_r(&o, url, "at", &ui), ERR_USERINFO_SERVER);
	T_EQ(userinfo_err_unavailable(ERR_USERINFO_SERVER), 1);
	route("/me", 200, "application/json", "{\"sub\":\"sub-alice\"}");
	T_EQ(fetch_r(&o, url, "at", &ui), 0); /* control: the same route with a 200 */
	json_delete_wiped(ui);

	T_CASE("IDT-29 fixture: a redirect is not followed");
	route_raw("/me", "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n"
			 "Connection: close\r\n\r\n");
	drain(reqs, sizeof(reqs));
	T_EQ(fetch_r(&o, url, "at", &ui), ERR_HTTP_REDIRECT);
	T_EQ(drain(reqs, sizeof(reqs)), 1);
	T_OK(strstr(reqs, "/elsewhere") == NULL);

	T_CASE("IDT-29 fixture: a server that never answers -> timeout within the budget");
	route_raw("/me", "@HANG");
	t0 = now_ms();
	r = fetch_r(&o, url, "at", &ui);
	took = now_ms() - t0;
	T_EQ(r, ERR_HTTP_TIMEOUT);
	T_OK(took >= 1400 && took < 3000);
	T_EQ(userinfo_err_unavailable(r), 1);

	T_CASE("IDT-29 nobody listening -> unavailable");
	{
		char closed[128];
		snprintf(closed, sizeof(closed), "http://127.0.0.1:%d/me",
			 srv_port == 65535 ? 1 : 9);
		r = fetch_r(&o, closed, "at", &ui);
		T_EQ(r, ERR_HTTP_CONNECT);
		T_EQ(userinfo_err_unavailable(r), 1);
	}

	T_CASE("IDT-29 https only; no endpoint; a bearer that could inject a header");
	o.allow_insecure_loopback = 0;
	drain(reqs, sizeof(reqs));
	T_EQ(fetch_r(&o, url, "at", &ui), ERR_HTTP_URL);
	o.allow_insecure_loopback = 1;
	T_EQ(fetch_r(&o, NULL, "at", &ui), ERR_USERINFO_NO_ENDPOINT);
	T_EQ(fetch_r(&o, url, "at\r\nX-Evil: 1", &ui), ERR_INVAL);
	T_EQ(fetch_r(&o, url, "", &ui), ERR_INVAL);
	T_EQ(fetch_r(&o, url, NULL, &ui), ERR_INVAL);
	T_EQ(drain(reqs, sizeof(reqs)), 0); /* none of these sent anything */
}

int main(void)
{
	char cmd[700];

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !mkdtemp(base))
		return 1;
	snprintf(routes, sizeof(routes), "%s/routes", base);
	if (mkdir(routes, 0700) != 0 || srv_start() != 0)
		return 1;

	test_parse();
	test_needed_merge();
	test_fetch();

	srv_stop();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	if (system(cmd) != 0)
		perror("rm");
	curl_global_cleanup();
	return t_done();
}
