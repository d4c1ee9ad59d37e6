/* priv.c: drop root for good (see priv.h). */
#include "priv.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "err.h"

int priv_lookup(const char *name, struct priv_target *out)
{
	struct passwd *pw;

	if (!name || !*name || !out)
		return ERR_INVAL;
	errno = 0;
	if (!(pw = getpwnam(name)))
		return ERR_PRIV_NO_USER;
	if (pw->pw_uid == 0 || pw->pw_gid == 0)
		return ERR_PRIV_ROOT;
	/* The cache (discovery, JWKS: trusted keys) belongs to this account:
	 * the overflow uid/gid that other daemons share must not own it. */
	if (pw->pw_uid == 65534 || pw->pw_gid == 65534)
		return ERR_PRIV_SHARED;
	out->uid = pw->pw_uid;
	out->gid = pw->pw_gid;
	return ERR_OK;
}

static int failed(const struct log *log, const char *step)
{
	log_msg(log, LOG_ERR, "privilege drop: %s: %s", step,
		errno ? strerror(errno) : "not in effect");
	return ERR_PRIV_DROP;
}

/* Every id is the target, no group is left, and uid 0 cannot come back. */
static int verify(const struct priv_target *t, const struct log *log)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	errno = 0;
	if (getresuid(&ru, &eu, &su) != 0 || ru != t->uid || eu != t->uid || su != t->uid)
		return failed(log, "uids after setresuid");
	if (getresgid(&rg, &eg, &sg) != 0 || rg != t->gid || eg != t->gid || sg != t->gid)
		return failed(log, "gids after setresgid");
	if (getgroups(0, NULL) != 0)
		return failed(log, "supplementary groups left");
	if (setuid(0) != -1 || seteuid(0) != -1) {
		errno = 0;
		return failed(log, "setuid(0) still works");
	}
	return ERR_OK;
}

int priv_drop(const struct priv_target *t, pid_t parent, const struct log *log)
{
	int r;

	if (!t || t->uid == 0 || t->gid == 0)
		return ERR_INVAL;
	errno = 0;
	if (setgroups(0, NULL) != 0)
		return failed(log, "setgroups");
	if (setresgid(t->gid, t->gid, t->gid) != 0)
		return failed(log, "setresgid");
	if (setresuid(t->uid, t->uid, t->uid) != 0)
		return failed(log, "setresuid");
	if ((r = verify(t, log)) != 0)
		return r;
	errno = 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return failed(log, "PR_SET_NO_NEW_PRIVS");
	/* the uid change set "dumpable" to fs.suid_dumpable (a 1 there would
	 * let another process of this account ptrace us) and cleared the
	 * parent-death signal */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return failed(log, "PR_SET_DUMPABLE");
	if (parent > 0) {
		int sig = 0;
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
		    prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) != 0 || sig != SIGKILL)
			return failed(log, "PR_SET_PDEATHSIG");
		if (getppid() != parent) {
			errno = 0;
			return failed(log, "the parent process is gone");
		}
	}
	return ERR_OK;
}
