/* test_qs.c: the one query-string parser and percent-decoder (lib/qs.c):
 * the relay's callback queries, forms and poll queries (RLY-13) and a
 * callback URL's query (AZ-12) go through it. */
#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "qs.h"
#include "tap.h"

static int qs_s(const char *s, struct qs *q)
{
	return qs_parse(s, strlen(s), q);
}

/* qs_parse's result only; the pairs are freed. */
static int qs_rc(const char *s)
{
	struct qs q;
	int r = qs_s(s, &q);
	qs_cleanup(&q);
	return r;
}

static void test_qs(void)
{
	struct qs q;
	char buf[1024];
	size_t o;

	T_CASE("qs: two pairs, decoded, + is a space");
	T_EQ(qs_s("a=1&na%6De=x+y%2Bz", &q), ERR_OK);
	T_EQ(q.n, 2);
	T_OK(qs_get(&q, "a") && strcmp(qs_get(&q, "a")->value, "1") == 0);
	T_OK(qs_get(&q, "name") && strcmp(qs_get(&q, "name")->value, "x y+z") == 0);
	T_OK(qs_get(&q, "name") && qs_get(&q, "name")->value_len == 5);
	T_OK(qs_get(&q, "na%6De") == NULL);
	T_OK(qs_get(&q, "b") == NULL);
	qs_cleanup(&q);
	T_EQ(q.n, 0);

	T_CASE("qs: empty query is zero pairs; empty value is allowed");
	T_EQ(qs_parse("", 0, &q), ERR_OK);
	T_EQ(q.n, 0);
	qs_cleanup(&q);
	T_CASE("query strings: every name and value valid UTF-8 once decoded");
	T_EQ(qs_rc("a=%FF"), ERR_QUERY);
	T_EQ(qs_rc("a=%C0%AF"), ERR_QUERY);    /* overlong '/' */
	T_EQ(qs_rc("a=%ED%A0%80"), ERR_QUERY); /* lone surrogate */
	T_EQ(qs_rc("%FF=1"), ERR_QUERY);
	T_EQ(qs_rc("session_state=%E2%82"), ERR_QUERY); /* truncated */
	T_EQ(qs_rc("a=%C3%A9%E2%82%AC"), ERR_OK);	/* é € */
	T_EQ(qs_s("a=", &q), ERR_OK);
	T_OK(q.n == 1 && q.p[0].value_len == 0 && strcmp(q.p[0].value, "") == 0);
	qs_cleanup(&q);
	T_EQ(qs_s("a==b", &q), ERR_OK);
	T_OK(q.n == 1 && strcmp(q.p[0].value, "=b") == 0);
	qs_cleanup(&q);

	T_CASE("qs: only len bytes are read");
	T_EQ(qs_parse("a=1&b=2", 3, &q), ERR_OK);
	T_OK(q.n == 1 && strcmp(q.p[0].value, "1") == 0);
	qs_cleanup(&q);

	T_CASE("qs: a name twice, also after decoding");
	T_EQ(qs_rc("a=1&a=1"), ERR_QUERY);
	T_EQ(qs_rc("a=1&%61=2"), ERR_QUERY);
	T_EQ(qs_rc("a+b=1&a%20b=2"), ERR_QUERY);
	T_EQ(qs_rc("x=1&a=1&y=2&a="), ERR_QUERY);
	T_EQ(qs_rc("a=1&ab=1&b=1"), ERR_OK);

	T_CASE("qs: strict escapes");
	T_EQ(qs_rc("a=%zz"), ERR_QUERY);
	T_EQ(qs_rc("a=%4"), ERR_QUERY);
	T_EQ(qs_rc("a=%"), ERR_QUERY);
	T_EQ(qs_rc("a=%4g"), ERR_QUERY);
	T_EQ(qs_rc("%zz=1"), ERR_QUERY);
	T_EQ(qs_s("a=%41%6a%6A", &q), ERR_OK);
	T_OK(q.n == 1 && strcmp(q.p[0].value, "Ajj") == 0);
	qs_cleanup(&q);

	T_CASE("qs: %00 refused in a value and in a name; a raw NUL too");
	T_EQ(qs_rc("a=%00"), ERR_QUERY);
	T_EQ(qs_rc("a=x%00y"), ERR_QUERY);
	T_EQ(qs_rc("a%00=1"), ERR_QUERY);
	T_EQ(qs_parse("a=x\0y", 5, &q), ERR_QUERY);
	qs_cleanup(&q);

	T_CASE("qs: empty pairs, no '=', empty name");
	T_EQ(qs_rc("a=1&&b=2"), ERR_QUERY);
	T_EQ(qs_rc("&a=1"), ERR_QUERY);
	T_EQ(qs_rc("a=1&"), ERR_QUERY);
	T_EQ(qs_rc("&"), ERR_QUERY);
	T_EQ(qs_rc("a"), ERR_QUERY);
	T_EQ(qs_rc("a=1&b"), ERR_QUERY);
	T_EQ(qs_rc("=1"), ERR_QUERY);
	T_EQ(qs_rc("a=1&=2"), ERR_QUERY);

	T_CASE("qs: at most 32 pairs");
	o = 0;
	for (int i = 0; i < QS_MAX_PAIRS; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sp%d=%d", i ? "&" : "", i, i);
	T_EQ(qs_s(buf, &q), ERR_OK);
	T_EQ(q.n, QS_MAX_PAIRS);
	qs_cleanup(&q);
	snprintf(buf + o, sizeof(buf) - o, "&p32=32");
	T_EQ(qs_rc(buf), ERR_QUERY);

	T_CASE("qs: names up to 64 bytes");
	memset(buf, 'n', 64);
	strcpy(buf + 64, "=1");
	T_EQ(qs_rc(buf), ERR_OK);
	memset(buf, 'n', 65);
	strcpy(buf + 65, "=1");
	T_EQ(qs_rc(buf), ERR_QUERY);
}

int main(void)
{
	struct qs q;

	test_qs();
	T_CASE("qs_value: the value, or NULL when absent");
	T_EQ(qs_parse("a=1&b=", 6, &q), ERR_OK);
	T_STREQ(qs_value(&q, "a"), "1");
	T_STREQ(qs_value(&q, "b"), "");
	T_OK(qs_value(&q, "c") == NULL);
	qs_cleanup(&q);
	return t_done();
}
