/* test_ratelimit.c: login starts per key in a sliding window (XD-11, PAM-19). */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "ratelimit.h"
#include "tap.h"

int main(void)
{
	char dir[] = "/tmp/ratelimit-XXXXXX", cmd[128];
	time_t now = 1700000000;

	T_OK(mkdtemp(dir) != NULL);
	chmod(dir, 0700);
	T_CASE("XD-11 three starts allowed, the fourth within the window refused");
	T_EQ(ratelimit_hit(dir, "user:alice", 3, 60, now, NULL), 0);
	T_EQ(ratelimit_hit(dir, "user:alice", 3, 60, now + 1, NULL), 0);
	T_EQ(ratelimit_hit(dir, "user:alice", 3, 60, now + 2, NULL), 0);
	T_EQ(ratelimit_hit(dir, "user:alice", 3, 60, now + 3, NULL), ERR_RATE_LIMITED);
	T_EQ(ratelimit_hit(dir, "user:alice", 3, 60, now + 59, NULL), ERR_RATE_LIMITED);
	T_CASE("keys are separate; the window slides");
	T_EQ(ratelimit_hit(dir, "user:bob", 3, 60, now + 3, NULL), 0);
	T_EQ(ratelimit_hit(dir, "user:alice", 3, 60, now + 60, NULL), 0);
	T_EQ(ratelimit_hit(dir, "user:alice", 3, 60, now + 61, NULL), 0);
	T_EQ(ratelimit_hit(dir, "user:alice", 3, 60, now + 62, NULL), 0);
	T_EQ(ratelimit_hit(dir, "user:alice", 3, 60, now + 62, NULL), ERR_RATE_LIMITED);
	T_CASE("refused starts are not recorded; 0 disables");
	T_EQ(ratelimit_hit(dir, "user:alice", 3, 60, now + 121, NULL), 0);
	T_EQ(ratelimit_hit(dir, "user:alice", 0, 60, now + 121, NULL), 0);
	T_CASE("an unsafe directory skips the limit (logged), never crashes");
	chmod(dir, 0777);
	T_EQ(ratelimit_hit(dir, "user:alice", 1, 60, now + 121, NULL), 0);
	chmod(dir, 0700);
	T_EQ(ratelimit_hit("/nonexistent/dir/x", "k", 1, 60, now, NULL), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	T_EQ(system(cmd), 0);
	return t_done();
}
