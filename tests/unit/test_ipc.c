/* test_ipc.c: module <-> helper frames (PAM-05 garbage/oversize frames). */
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
	return t_done();
}
