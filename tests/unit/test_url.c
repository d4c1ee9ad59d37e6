/* test_url.c: the loopback hosts plain http may be allowed for (TOK-05:
 * lib/http.c; relay base_url with insecure_http: relay/rconf.c). */
#include "tap.h"
#include "url.h"

static int lb(const char *h)
{
	return url_is_loopback_host(h, strlen(h));
}

int main(void)
{
	T_CASE("loopback: 127.0.0.1, localhost (any case), [::1]");
	T_OK(lb("127.0.0.1") && lb("localhost") && lb("LocalHost") && lb("[::1]"));
	T_CASE("not loopback: other hosts, prefixes, suffixes, other spellings");
	T_OK(!lb("127.0.0.2") && !lb("127.0.0.1.evil.example") && !lb("localhost.evil.example"));
	T_OK(!lb("::1") && !lb("[::1]x") && !lb("[0:0:0:0:0:0:0:1]") && !lb("127.1"));
	T_OK(!lb("") && !lb("localhos") && !lb("evil-localhost"));
	T_OK(!url_is_loopback_host("localhostx", 10) && url_is_loopback_host("localhostx", 9));
	T_OK(!url_is_loopback_host(NULL, 9));
	return t_done();
}
