/* test_log.c: log lines are sanitized and truncated; debug is opt-in
 * (PAM-17: text from the network never reaches a terminal or log raw). */
#include "log.h"
#include "log_capture.h"
#include "tap.h"

int main(void)
{
	struct log l = { logcap_sink, NULL, 0 };
	char buf[8], big[2000];

	T_CASE("PAM-17 control and escape characters become ?");
	log_msg(&l, LOG_WARNING, "desc %s",
		"a\x1b]0;pwned\x07"
		"b\r\nc\xc2\x9b"
		"d");
	T_STREQ(logcap.last, "desc a?]0;pwned?b??c??d");
	T_EQ(logcap.last_prio, LOG_WARNING);
	T_CASE("truncation with ...");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	log_msg(&l, LOG_ERR, "%s", big);
	T_EQ(strlen(logcap.last), 511);
	T_STREQ(logcap.last + 508, "...");
	T_STREQ(log_sanitize(buf, sizeof(buf), "abcdefghij"), "abcd...");
	T_STREQ(log_sanitize(buf, sizeof(buf), "abc"), "abc");
	T_CASE("debug only when asked; NULL log is silent");
	logcap.lines = 0;
	log_msg(&l, LOG_DEBUG, "hidden");
	T_EQ(logcap.lines, 0);
	l.debug = 1;
	log_msg(&l, LOG_DEBUG, "shown");
	T_EQ(logcap.lines, 1);
	log_msg(NULL, LOG_ERR, "nowhere");
	T_EQ(logcap.lines, 1);
	return t_done();
}
