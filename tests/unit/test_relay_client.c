/* test_relay_client.c: the relay's poll answers as the helper reads them
 * (AZ-09, AZ-12). Registration and polling against the real relay are in
 * tests/integration/login.sh. */
#include "err.h"
#include "log_capture.h"
#include "relay_client.h"
#include "tap.h"

static int parse(const char *s, struct relay_result *r)
{
	memset(r, 0, sizeof(*r));
	return relay_parse_poll(s, strlen(s), r);
}

int main(void)
{
	struct relay_result r;

	T_CASE("statuses");
	T_EQ(parse("{\"status\":\"pending\"}", &r), 0);
	T_EQ(r.status, RELAY_PENDING);
	T_EQ(parse("{\"status\":\"denied\"}", &r), 0);
	T_EQ(r.status, RELAY_DENIED);
	T_EQ(parse("{\"status\":\"conflict\"}", &r), 0);
	T_EQ(r.status, RELAY_CONFLICT);
	T_EQ(parse("{\"status\":\"expired\"}", &r), 0);
	T_EQ(r.status, RELAY_EXPIRED);
	T_EQ(parse("{\"status\":\"code\",\"code\":\"abc\",\"iss\":\"https://idp\"}", &r), 0);
	T_OK(r.status == RELAY_CODE);
	T_STREQ(r.code, "abc");
	T_STREQ(r.iss, "https://idp");
	relay_result_cleanup(&r);
	T_OK(r.code == NULL && r.iss == NULL);
	T_EQ(parse("{\"status\":\"code\",\"code\":\"abc\"}", &r), 0);
	T_OK(r.iss == NULL);
	relay_result_cleanup(&r);

	T_CASE("AZ-09 error with escape characters is sanitized");
	T_EQ(parse("{\"status\":\"error\",\"error\":\"access_denied\",\"error_description\":\"no\\u001b[2J\\u0007\"}",
		   &r),
	     0);
	T_OK(r.status == RELAY_ERROR);
	T_STREQ(r.error, "access_denied");
	T_STREQ(r.error_description, "no?[2J?");
	relay_result_cleanup(&r);

	T_CASE("AZ-12 tokens from the relay are ignored; bad codes refused");
	T_EQ(parse("{\"status\":\"code\",\"code\":\"abc\",\"id_token\":\"x.y.z\",\"access_token\":\"t\"}",
		   &r),
	     0);
	T_STREQ(r.code, "abc");
	relay_result_cleanup(&r);
	T_EQ(parse("{\"status\":\"code\",\"code\":\"a\\nb\"}", &r), ERR_RELAY_REQUEST);
	T_EQ(parse("{\"status\":\"code\",\"code\":\"\"}", &r), ERR_RELAY_REQUEST);
	T_EQ(parse("{\"status\":\"code\"}", &r), ERR_RELAY_REQUEST);
	T_EQ(parse("{\"status\":\"code\",\"code\":42}", &r), ERR_RELAY_REQUEST);
	T_EQ(parse("{\"status\":\"code\",\"code\":\"a\",\"iss\":7}", &r), ERR_RELAY_REQUEST);
	char big[2200];
	snprintf(big, sizeof(big), "{\"status\":\"code\",\"code\":\"%02049d\"}", 0);
	T_EQ(parse(big, &r), ERR_RELAY_REQUEST);
	snprintf(big, sizeof(big), "{\"status\":\"code\",\"code\":\"%02048d\"}", 0);
	T_EQ(parse(big, &r), 0);
	relay_result_cleanup(&r);

	T_CASE("malformed answers");
	T_EQ(parse("{\"status\":\"granted\"}", &r), ERR_RELAY_REQUEST);
	T_EQ(parse("{\"status\":\"pending\",\"status\":\"code\"}", &r), ERR_RELAY_REQUEST);
	T_EQ(parse("{\"Status\":\"pending\"}", &r), ERR_RELAY_REQUEST);
	T_EQ(parse("[\"pending\"]", &r), ERR_RELAY_REQUEST);
	T_EQ(parse("{\"status\":\"error\"}", &r), ERR_RELAY_REQUEST);
	T_EQ(parse("", &r), ERR_RELAY_REQUEST);

	T_CASE("PAM-14 a failed poll logs no state (path segments masked)");
	{
		struct log l = { logcap_sink, NULL, 1 };
		struct http_opts h = { 0 };
		const char *state = "Qm9vZ3lXb29neUJvb2d5V29vZ3lCb29neVdvb2d5QmA";
		h.allow_insecure_loopback = 1;
		h.connect_timeout_ms = 500;
		h.total_timeout_ms = 1000;
		h.log = &l;
		T_OK(relay_poll(&h, "http://127.0.0.1:1", state, "secret-secret-secret", 0, &r) !=
		     0);
		T_OK(logcap.all[0] != '\0');
		T_OK(strstr(logcap.all, state) == NULL);
		T_OK(strstr(logcap.all, "secret-secret") == NULL);
		T_OK(strstr(logcap.all, "/v1/sessions/*") != NULL);
	}
	return t_done();
}
