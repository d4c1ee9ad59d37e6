/* priv.h: the login helper's privilege drop (PAM-23, as OpenSSH's and
 * SSSD's children do). Once the root-only inputs of a login are read
 * (config, secrets, map_file), the helper becomes helper_user for the
 * network, TLS, JSON and JWT work: no supplementary groups, real = effective
 * = saved uid and gid, no way back to uid 0, no new privileges, not
 * dumpable, killed with its parent. */
#ifndef OP_PRIV_H
#define OP_PRIV_H

#include <sys/types.h>

#include "log.h"

#define PRIV_DEFAULT_USER "_oauth2-pkce"

struct priv_target {
	uid_t uid;
	gid_t gid; /* the account's primary group */
};

/* The account `name` (getpwnam): ERR_PRIV_NO_USER when it does not exist,
 * ERR_PRIV_ROOT when its uid or primary gid is 0. *out set on success. */
int priv_lookup(const char *name, struct priv_target *out);

/* setgroups(0, NULL), setresgid, setresuid (each checked), then verifies:
 * getresuid/getresgid all equal the target, no supplementary group, and
 * setuid(0) fails. Then PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE 0 (a uid change
 * resets it) and, when parent > 0, PR_SET_PDEATHSIG SIGKILL (cleared by the
 * uid change) and getppid() == parent (the parent did not die meanwhile).
 * ERR_PRIV_DROP with one log line naming the step on any failure: the
 * caller must then stop (the process may be half-changed). */
int priv_drop(const struct priv_target *t, pid_t parent, const struct log *log);

#endif
