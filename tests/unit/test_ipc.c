/* test_ipc.c: module <-> helper frames (PAM-05 garbage/oversize frames) and
 * the RESULT status table (PAM-01: unknown words refused). */
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "ipc.h"
#include "tap.h"

static int hdr(const char *h, enum ipc_type *t, size_t *n)
{
	return ipc_parse_header(h, strlen(h), t, n);
}

static int status(const char *w, enum ipc_status *st)
{
	return ipc_status_parse(w, strlen(w), st);
}

/* The status words: every one round-trips; anything else is a refusal. */
static void test_status(void)
{
	static const struct {
		enum ipc_status st;
		const char *word;
	} all[] = {
		{ IPC_STATUS_SUCCESS, "success" },
		{ IPC_STATUS_AUTH_ERR, "auth_err" },
		{ IPC_STATUS_AUTHINFO_UNAVAIL, "authinfo_unavail" },
		{ IPC_STATUS_MAXTRIES, "maxtries" },
		{ IPC_STATUS_USER_UNKNOWN, "user_unknown" },
	};
	static const char *const bad[] = { "",		 "SUCCESS",  "Success",	 "succes",
					   "successs",	 "success ", " success", "auth",
					   "auth_err\r", "0",	     "1",	 "granted",
					   "ok" };
	enum ipc_status st = IPC_STATUS_AUTH_ERR;
	char big[4096];
	int n = 0;

	T_CASE("status words round-trip");
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		T_STREQ(ipc_status_name(all[i].st), all[i].word);
		T_EQ(status(all[i].word, &st), 0);
		T_EQ(st, all[i].st);
	}
	/* the table has no gaps and nothing beyond the enum */
	for (int v = -1; v < 64; v++)
		if (ipc_status_name((enum ipc_status)v)) {
			n++;
			T_EQ(status(ipc_status_name((enum ipc_status)v), &st), 0);
			T_EQ(st, v);
		}
	T_EQ(n, sizeof(all) / sizeof(all[0]));
	T_OK(ipc_status_name(0) == NULL);

	T_CASE("PAM-01 unknown, empty, overlong status refused, out untouched");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st = (enum ipc_status)99;
		T_EQ(status(bad[i], &st), ERR_IPC);
		T_EQ(st, 99);
	}
	memset(big, 'a', sizeof(big));
	memcpy(big, "success", 7);
	T_EQ(ipc_status_parse(big, sizeof(big), &st), ERR_IPC);
	T_EQ(ipc_status_parse("success\0x", 9, &st), ERR_IPC);
	T_EQ(ipc_status_parse("success", 6, &st), ERR_IPC);
	T_EQ(ipc_status_parse(NULL, 0, &st), ERR_IPC);
	T_EQ(st, 99);
}

static int result_parse(const char *p, struct ipc_result *r)
{
	return ipc_result_parse(p, strlen(p), r);
}

/* RESULT payloads: written by the helper's ipc_result_write, read by the
 * module's ipc_result_parse. */
static void test_result(void)
{
	struct ipc_result r = { 0 };
	struct ipc_frame f = { 0 };
	char user[IPC_USER_MAX + 1], payload[IPC_USER_MAX + 64];
	int sv[2];

	T_CASE("RESULT written and read back");
	T_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (int st = IPC_STATUS_SUCCESS; st <= IPC_STATUS_USER_UNKNOWN; st++) {
		T_EQ(ipc_result_write(sv[0], (enum ipc_status)st, st == 1 ? "alice" : NULL), 0);
		T_EQ(ipc_read_frame(sv[1], ipc_now_ms() + 1000, &f), 0);
		T_OK(f.type == IPC_RESULT);
		memset(&r, 0xa5, sizeof(r));
		T_EQ(ipc_result_parse(f.data, f.len, &r), 0);
		T_EQ(r.status, st);
		T_STREQ(r.user, st == 1 ? "alice" : "");
		ipc_frame_cleanup(&f);
	}
	memset(user, 'u', sizeof(user));
	user[IPC_USER_MAX - 1] = '\0';
	T_EQ(ipc_result_write(sv[0], IPC_STATUS_SUCCESS, user), 0);
	T_EQ(ipc_read_frame(sv[1], ipc_now_ms() + 1000, &f), 0);
	T_EQ(ipc_result_parse(f.data, f.len, &r), 0);
	T_EQ(strlen(r.user), IPC_USER_MAX - 1);
	ipc_frame_cleanup(&f);

	T_CASE("RESULT writer refuses what the reader would refuse");
	user[IPC_USER_MAX - 1] = 'u';
	user[IPC_USER_MAX] = '\0';
	T_EQ(ipc_result_write(sv[0], IPC_STATUS_SUCCESS, user), ERR_INVAL);
	T_EQ(ipc_result_write(sv[0], IPC_STATUS_SUCCESS, "alice\nuser=bob"), ERR_INVAL);
	T_EQ(ipc_result_write(sv[0], IPC_STATUS_SUCCESS, "alice\r"), ERR_INVAL);
	T_EQ(ipc_result_write(sv[0], (enum ipc_status)0, "alice"), ERR_INVAL);
	T_EQ(ipc_result_write(sv[0], (enum ipc_status)77, "alice"), ERR_INVAL);
	T_EQ(ipc_read_frame(sv[1], ipc_now_ms() + 50, &f), ERR_IPC_TIMEOUT); /* nothing sent */
	close(sv[0]);
	close(sv[1]);

	T_CASE("PAM-01 RESULT payloads refused");
	memset(&r, 0, sizeof(r));
	r.status = IPC_STATUS_AUTH_ERR;
	T_EQ(result_parse("user=alice\n", &r), ERR_IPC);		      /* no status */
	T_EQ(result_parse("status=\nuser=alice\n", &r), ERR_IPC);	      /* empty */
	T_EQ(result_parse("status=SUCCESS\nuser=alice\n", &r), ERR_IPC);      /* not exact */
	T_EQ(result_parse("status=success \nuser=alice\n", &r), ERR_IPC);     /* trailing space */
	T_EQ(result_parse("status=success\nstatus=success\n", &r), ERR_IPC);  /* twice */
	T_EQ(result_parse("status=auth_err\nstatus=success\n", &r), ERR_IPC); /* twice */
	T_EQ(result_parse("status=success\nuser=a\nuser=a\n", &r), ERR_IPC);  /* user twice */
	T_EQ(result_parse("status=successsuccesssuccesssuccesssuccess\n", &r), ERR_IPC);
	snprintf(payload, sizeof(payload), "status=success\nuser=%s\n", user); /* user too long */
	T_EQ(result_parse(payload, &r), ERR_IPC);
	T_EQ(ipc_result_parse("status=success\nuser=a\0b\n", 23, &r), ERR_IPC);
	T_EQ(r.status, IPC_STATUS_AUTH_ERR); /* out untouched on refusal */
	T_EQ(result_parse("status=success\n", &r), 0);
	T_EQ(r.status, IPC_STATUS_SUCCESS);
	T_STREQ(r.user, "");
}

int main(void)
{
	enum ipc_type t;
	size_t n;
	int sv[2];
	struct ipc_frame f = { 0 };
	char v[64];

	T_CASE("header grammar");
	T_EQ(hdr("INFO 12", &t, &n), 0);
	T_OK(t == IPC_INFO && n == 12);
	T_EQ(hdr("RESULT 0", &t, &n), 0);
	T_EQ(hdr("PAM-05 x", &t, &n), ERR_IPC);
	T_EQ(hdr("info 1", &t, &n), ERR_IPC);
	T_EQ(hdr("INFO  1", &t, &n), ERR_IPC);
	T_EQ(hdr("INFO 01", &t, &n), ERR_IPC);
	T_EQ(hdr("INFO -1", &t, &n), ERR_IPC);
	T_EQ(hdr("INFO +1", &t, &n), ERR_IPC);
	T_EQ(hdr("INFO 1x", &t, &n), ERR_IPC);
	T_EQ(hdr("INFO ", &t, &n), ERR_IPC);
	T_EQ(hdr("INFO", &t, &n), ERR_IPC);
	T_CASE("PAM-05 oversize frame refused");
	T_EQ(hdr("INFO 65537", &t, &n), ERR_IPC);
	T_EQ(hdr("INFO 65536", &t, &n), 0);
	T_EQ(hdr("INFO 9999999", &t, &n), ERR_IPC);

	T_CASE("round trip over a socketpair");
	T_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	T_EQ(ipc_write_frame(sv[0], IPC_RESULT, "status=success\nuser=alice\n", 26), 0);
	T_EQ(ipc_write_frame(sv[0], IPC_INFO, "", 0), 0);
	T_EQ(ipc_read_frame(sv[1], ipc_now_ms() + 1000, &f), 0);
	T_OK(f.type == IPC_RESULT && f.len == 26);
	T_EQ(ipc_kv_get(f.data, f.len, "user", v, sizeof(v)), 0);
	T_STREQ(v, "alice");
	T_EQ(ipc_kv_get(f.data, f.len, "use", v, sizeof(v)), 1);
	T_EQ(ipc_kv_get(f.data, f.len, "status", v, 4), ERR_IPC);
	ipc_frame_cleanup(&f);
	T_OK(f.data == NULL);
	T_EQ(ipc_read_frame(sv[1], ipc_now_ms() + 1000, &f), 0);
	T_OK(f.type == IPC_INFO && f.len == 0);
	ipc_frame_cleanup(&f);

	T_CASE("PAM-05 duplicate key refused");
	T_EQ(ipc_kv_get("user=a\nuser=b\n", 14, "user", v, sizeof(v)), ERR_IPC);

	T_CASE("PAM-05 timeout, garbage, truncated, closed");
	T_EQ(ipc_read_frame(sv[1], ipc_now_ms() + 50, &f), ERR_IPC_TIMEOUT);
	T_EQ(write(sv[0], "HELLO WORLD\n", 12), 12);
	T_EQ(ipc_read_frame(sv[1], ipc_now_ms() + 1000, &f), ERR_IPC);
	close(sv[0]);
	close(sv[1]);
	T_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	T_EQ(write(sv[0], "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 44), 44);
	T_EQ(ipc_read_frame(sv[1], ipc_now_ms() + 1000, &f), ERR_IPC);
	close(sv[0]);
	close(sv[1]);
	T_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	T_EQ(write(sv[0], "INFO 10\nabc", 11), 11);
	close(sv[0]);
	T_EQ(ipc_read_frame(sv[1], ipc_now_ms() + 1000, &f), ERR_IPC_CLOSED);
	close(sv[1]);
	T_EQ(ipc_write_frame(sv[1], IPC_INFO, "x", 1) < 0, 1);
	T_EQ(ipc_write_frame(0, 0, "x", 1), ERR_INVAL);
	T_EQ(ipc_write_frame(0, IPC_INFO, NULL, IPC_MAX_FRAME + 1), ERR_INVAL);
	test_status();
	test_result();
	return t_done();
}
