/* test_log.c: log lines are sanitized and truncated; debug is opt-in
 * (PAM-17: text from the network never reaches a terminal or log raw). */
#include "log.h"
#include "tap.h"

static char last[1024];
static int calls, last_prio;

static void sink(void *ctx, int prio, const char *msg)
{
	(void)ctx;
	calls++;
	last_prio = prio;
	snprintf(last, sizeof(last), "%s", msg);
}

int main(void)
{
	struct log l = { sink, NULL, 0 };
	char buf[8], big[2000];

	T_CASE("PAM-17 control and escape characters become ?");
	log_msg(&l, LOG_WARNING, "desc %s", "a\x1b]0;pwned\x07" "b\r\nc\xc2\x9b" "d");
	T_STREQ(last, "desc a?]0;pwned?b??c??d");
	T_EQ(last_prio, LOG_WARNING);
	T_CASE("truncation with ...");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	log_msg(&l, LOG_ERR, "%s", big);
	T_EQ(strlen(last), 511);
	T_STREQ(last + 508, "...");
	T_STREQ(log_sanitize(buf, sizeof(buf), "abcdefghij"), "abcd...");
	T_STREQ(log_sanitize(buf, sizeof(buf), "abc"), "abc");
	T_CASE("debug only when asked; NULL log is silent");
	calls = 0;
	log_msg(&l, LOG_DEBUG, "hidden");
	T_EQ(calls, 0);
	l.debug = 1;
	log_msg(&l, LOG_DEBUG, "shown");
	T_EQ(calls, 1);
	log_msg(NULL, LOG_ERR, "nowhere");
	T_EQ(calls, 1);
	return t_done();
}
