/* test_json.c: strict JSON (IDT-11, IDT-20, IDT-31 helpers). */
#include "err.h"
#include "json.h"
#include "tap.h"

static int parse(const char *s, cJSON **out)
{
	return json_parse(s, strlen(s), 65536, JSON_MAX_DEPTH, out);
}

/* {"m0000":0,...} with n members; then names[dup_at] = names[dup_of]
 * (upper-cased when upper), dup_at < 0 for none. */
static int parse_members(int n, int dup_at, int dup_of, int upper)
{
	static char buf[32768];
	cJSON *j = NULL;
	size_t len = 0;
	int r;

	buf[len++] = '{';
	for (int i = 0; i < n; i++) {
		int k = i == dup_at ? dup_of : i;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\"%s%04d\":%d",
					i ? "," : "", i == dup_at && upper ? "M" : "m", k, i);
	}
	buf[len++] = '}';
	r = json_parse(buf, len, sizeof(buf), JSON_MAX_DEPTH, &j);
	cJSON_Delete(j);
	return r;
}

static int parse_ok(const char *s)
{
	cJSON *j = NULL;
	int r = parse(s, &j);
	cJSON_Delete(j);
	return r;
}

int main(void)
{
	cJSON *j = NULL;
	const char *s;
	long long d = 0;
	int present = 0, b = 0;

	T_CASE("valid object and case-sensitive lookup");
	T_EQ(parse("{\"iss\":\"a\",\"exp\":1700000000, \"ok\":true} \n", &j), 0);
	T_EQ(json_get_string(j, "iss", &s), 0);
	T_STREQ(s, "a");
	T_OK(json_get(j, "ISS") == NULL);
	T_EQ(json_get_date(j, "exp", &d, &present), 0);
	T_OK(present && d == 1700000000LL);
	T_EQ(json_get_bool(j, "ok", &b, &present), 0);
	T_OK(present && b == 1);
	T_EQ(json_get_date(j, "nbf", &d, &present), 0);
	T_EQ(present, 0);
	T_EQ(json_get_string(j, "exp", &s), ERR_JSON_TYPE);
	T_EQ(json_get_bool(j, "iss", &b, &present), ERR_JSON_TYPE);
	cJSON_Delete(j);

	T_CASE("IDT-11 duplicate and case-shadowed members");
	T_EQ(parse_ok("{\"alg\":\"RS256\",\"alg\":\"none\"}"), ERR_JSON_DUP);
	T_EQ(parse_ok("{\"iss\":\"a\",\"ISS\":\"b\"}"), ERR_JSON_DUP);
	T_EQ(parse_ok("{\"a\":{\"x\":1,\"x\":2}}"), ERR_JSON_DUP);
	T_EQ(parse_ok("[{\"x\":1},{\"x\":2}]"), 0);
	T_EQ(parse_ok("{\"caf\xc3\xa9\":1,\"CAF\xc3\x89\":2}"), 0); /* ASCII case only */
	T_EQ(parse_ok("{\"a\":1,\"b\":2,\"A\":3}"), ERR_JSON_DUP);
	T_EQ(parse_ok("{\"\":1,\"\":2}"), ERR_JSON_DUP);
	T_EQ(parse_ok("{\"ab\":1,\"a\":2,\"abc\":3}"), 0); /* prefixes differ */

	T_CASE("IDT-11 duplicate check on many members (linear-time check)");
	T_EQ(parse_members(JSON_MAX_MEMBERS, -1, 0, 0), 0);
	T_EQ(parse_members(JSON_MAX_MEMBERS + 1, -1, 0, 0), ERR_JSON);
	T_EQ(parse_members(1000, 999, 0, 0), ERR_JSON_DUP);   /* dup of the first, at the end */
	T_EQ(parse_members(1000, 999, 998, 0), ERR_JSON_DUP); /* of the one before */
	T_EQ(parse_members(1000, 999, 500, 1), ERR_JSON_DUP); /* "M0500" vs "m0500" */
	T_EQ(parse_members(1000, 0, 999, 1), ERR_JSON_DUP);   /* case-only, first vs last */
	T_EQ(parse_members(40, 39, 17, 0), ERR_JSON_DUP);     /* past the small buffer */
	T_EQ(parse_members(16, 15, 3, 1), ERR_JSON_DUP);      /* inside it */
	/* a duplicate among the first 1024 wins over the count, as before */
	T_EQ(parse_members(JSON_MAX_MEMBERS + 1, 1000, 2, 0), ERR_JSON_DUP);
	T_EQ(parse_members(JSON_MAX_MEMBERS + 1, JSON_MAX_MEMBERS, 2, 0), ERR_JSON);

	T_CASE("IDT-11 nested objects are separate scopes");
	T_EQ(parse_ok("{\"a\":{\"x\":1},\"b\":{\"x\":1,\"X\":{\"x\":2}}}"), ERR_JSON_DUP);
	T_EQ(parse_ok("{\"a\":{\"x\":1},\"b\":{\"x\":1,\"y\":{\"x\":2}}}"), 0);
	T_EQ(parse_ok("{\"x\":{\"x\":{\"X\":{\"x\":1}}}}"), 0);
	T_EQ(parse_ok("{\"x\":[{\"x\":1,\"y\":{\"a\":1,\"A\":2}}]}"), ERR_JSON_DUP);
	T_EQ(parse_ok("[{\"x\":1,\"y\":2},{\"x\":1,\"y\":2},{\"X\":1,\"Y\":2}]"), 0);

	T_CASE("IDT-11 invalid UTF-8, NUL, \\u0000");
	T_EQ(parse_ok("{\"a\":\"\xc3\x28\"}"), ERR_JSON_UTF8);
	T_EQ(parse_ok("{\"a\":\"\xc0\xaf\"}"), ERR_JSON_UTF8);	   /* overlong */
	T_EQ(parse_ok("{\"a\":\"\xed\xa0\x80\"}"), ERR_JSON_UTF8); /* surrogate */
	T_EQ(parse_ok("{\"a\":\"\xf4\x90\x80\x80\"}"), ERR_JSON_UTF8);
	T_EQ(parse_ok("{\"a\":\"x\\u0000y\"}"), ERR_JSON_UTF8);
	T_EQ(parse_ok("{\"a\":\"x\\\\u0000y\"}"), 0); /* escaped backslash, literal text */
	T_CASE("escapes cJSON would decode into something else (\\uZZZZ reads as U+0000)");
	T_EQ(parse_ok("{\"a\":\"web1\\uZZZZevil\"}"), ERR_JSON_UTF8);
	T_EQ(parse_ok("{\"a\":\"x\\u00zz\"}"), ERR_JSON_UTF8);
	T_EQ(parse_ok("{\"a\":\"x\\u12\"}"), ERR_JSON_UTF8);
	T_EQ(parse_ok("{\"a\":\"x\\ud800\"}"), ERR_JSON_UTF8);	      /* lone high surrogate */
	T_EQ(parse_ok("{\"a\":\"x\\udc00\\ud800\"}"), ERR_JSON_UTF8); /* reversed pair */
	T_EQ(parse_ok("{\"a\":\"x\\ud800\\u0041\"}"), ERR_JSON_UTF8);
	T_EQ(parse_ok("{\"a\":\"x\\q\"}"), ERR_JSON_UTF8);
	T_EQ(parse_ok("{\"a\":\"\\ud83d\\ude00 \\u00e9 \\n\\t\\/\"}"), 0); /* a valid pair, é */
	T_EQ(json_parse("{\"a\":1}\0", 8, 100, 4, &j), ERR_JSON_UTF8);
	T_EQ(parse_ok("\xff\xfe{\x00}"), ERR_JSON_UTF8); /* UTF-16 BOM */
	T_EQ(parse_ok("{\"a\":\"caf\xc3\xa9\"}"), 0);

	T_CASE("trailing garbage, depth, size");
	T_EQ(parse_ok("{\"a\":1} x"), ERR_JSON);
	T_EQ(parse_ok("{\"a\":1}{}"), ERR_JSON);
	T_EQ(parse_ok("{\"a\":"), ERR_JSON);
	char nest[64];
	for (int depth = 15; depth <= 17; depth++) {
		memset(nest, '[', (size_t)depth);
		nest[depth] = '1';
		memset(nest + depth + 1, ']', (size_t)depth);
		nest[2 * depth + 1] = 0;
		T_EQ(parse_ok(nest), depth <= JSON_MAX_DEPTH ? 0 : ERR_JSON_DEPTH);
	}
	T_EQ(json_parse("{}", 2, 1, 4, &j), ERR_TOO_LARGE);

	T_CASE("IDT-20 IDT-31 numeric dates: no strings, booleans, negatives, huge");
	const char *bad[] = { "{\"exp\":\"9999999999\"}", "{\"exp\":1e400}", "{\"exp\":-1}",
			      "{\"exp\":true}",		  "{\"exp\":null}",  "{\"exp\":[1]}",
			      "{\"exp\":1e300}" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = NULL;
		if (parse(bad[i], &j) != 0) { /* 1e400 may be refused at parse time */
			T_OK(1);
			continue;
		}
		T_EQ(json_get_date(j, "exp", &d, &present), ERR_JSON_TYPE);
		cJSON_Delete(j);
	}
	T_EQ(parse("{\"exp\":1700000000.75}", &j), 0);
	T_EQ(json_get_date(j, "exp", &d, &present), 0);
	T_EQ(d, 1700000000LL);
	cJSON_Delete(j);
	return t_done();
}
