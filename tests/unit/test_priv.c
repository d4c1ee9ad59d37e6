/* test_priv.c: PAM-23, the login helper's privilege drop. As root, a child
 * process drops to nobody and reports what /proc/self/status and the
 * syscalls say; without root, the drop fails closed. */
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "priv.h"
#include "tap.h"

/* The value of "Key:" in /proc/self/status, first word ("" if absent). */
static void status_field(const char *key, char *out, size_t outlen)
{
	char line[512];
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			snprintf(out, outlen, "%s", line + n + 1 + strspn(line + n + 1, " \t"));
			out[strcspn(out, "\n")] = '\0';
		}
	if (f)
		fclose(f);
}

/* In a child: the bits of what went wrong (0 = all as expected). */
static int child_drop(const struct priv_target *t)
{
	gid_t extra[2] = { 0, 4 };
	char v[256], want[64];
	int bad = 0, sig = 0;

	if (setgroups(2, extra) != 0 || prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
		return 1;
	if (priv_drop(t, getppid(), NULL) != 0)
		return 2;
	snprintf(want, sizeof(want), "%lu\t%lu\t%lu\t%lu", (unsigned long)t->uid,
		 (unsigned long)t->uid, (unsigned long)t->uid, (unsigned long)t->uid);
	status_field("Uid", v, sizeof(v));
	bad |= strcmp(v, want) ? 4 : 0;
	snprintf(want, sizeof(want), "%lu\t%lu\t%lu\t%lu", (unsigned long)t->gid,
		 (unsigned long)t->gid, (unsigned long)t->gid, (unsigned long)t->gid);
	status_field("Gid", v, sizeof(v));
	bad |= strcmp(v, want) ? 8 : 0;
	status_field("Groups", v, sizeof(v));
	bad |= v[0] ? 16 : 0;
	status_field("NoNewPrivs", v, sizeof(v));
	bad |= strcmp(v, "1") ? 32 : 0;
	bad |= prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0 ? 64 : 0;
	bad |= prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) != 0 || sig != SIGKILL ? 128 : 0;
	bad |= setuid(0) == 0 || setgid(0) == 0 ? 256 : 0;
	return bad;
}

static int in_child(int (*fn)(const struct priv_target *), const struct priv_target *t)
{
	int st = 0;
	pid_t p = fork();

	if (p == 0)
		_exit(fn(t));
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* A parent pid that is not ours: the drop refuses (the parent is "gone"). */
static int child_wrong_parent(const struct priv_target *t)
{
	return priv_drop(t, getppid() + 100000, NULL) == ERR_PRIV_DROP ? 0 : 1;
}

int main(void)
{
	struct priv_target t = { 0 }, zero = { 0, 0 }, rootgid = { 65534, 0 };

	T_CASE("PAM-23 priv_lookup: missing account, root account, a plain one");
	T_EQ(priv_lookup("no-such-account-priv-test", &t), ERR_PRIV_NO_USER);
	T_EQ(priv_lookup("root", &t), ERR_PRIV_ROOT);
	T_EQ(priv_lookup("", &t), ERR_INVAL);
	T_EQ(priv_lookup(NULL, &t), ERR_INVAL);
	T_CASE("PAM-23 priv_lookup: the shared overflow account (nobody) refused");
	T_EQ(priv_lookup("nobody", &t), ERR_PRIV_SHARED);
	t.uid = t.gid = 65534; /* a non-root target for the drop below */

	T_CASE("PAM-23 priv_drop never 'drops' to uid or gid 0");
	T_EQ(priv_drop(&zero, 0, NULL), ERR_INVAL);
	T_EQ(priv_drop(&rootgid, 0, NULL), ERR_INVAL);
	T_EQ(priv_drop(NULL, 0, NULL), ERR_INVAL);

	if (geteuid() != 0) {
		T_CASE("PAM-23 without root the drop fails closed");
		T_EQ(priv_drop(&t, 0, NULL), ERR_PRIV_DROP);
		return t_done();
	}
	T_CASE("PAM-23 as root: ids, no groups, NoNewPrivs, not dumpable, pdeathsig, no way back");
	T_EQ(in_child(child_drop, &t), 0);
	T_CASE("PAM-23 a parent that is not the expected one: refused");
	T_EQ(in_child(child_wrong_parent, &t), 0);
	return t_done();
}
