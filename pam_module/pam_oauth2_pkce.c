/* pam_oauth2_pkce.c: the PAM module. Thin on purpose: it reads the PAM
 * items, starts the root-owned helper with a fixed environment and only a
 * socketpair open, bridges the conversation, enforces a hard deadline and
 * maps exactly one RESULT frame to one PAM code. It links libpam and libc
 * only (lib/ipc.c, lib/err.c): no curl, OpenSSL or cJSON in sshd or sudo.
 * No signal handlers; it reaps only its own child. */
#define PAM_SM_AUTH
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "err.h"
#include "ipc.h"

#ifndef HELPER_PATH
#define HELPER_PATH "/usr/libexec/pam-oauth2-pkce/oauth2-pkce-helper"
#endif
#ifndef DEFAULT_CONFIG
#define DEFAULT_CONFIG "/etc/security/pam_oauth2_pkce.conf"
#endif

#define DEFAULT_TIMEOUT 110 /* below sshd's LoginGraceTime of 120 s */
#define FIELD_MAX	256
#define ANSWER_MAX	512

#define EXPORT __attribute__((visibility("default")))

struct args {
	const char *config;
	const char *helper;
	const char *service; /* [service NAME] section, default PAM_SERVICE */
	long timeout;	     /* seconds */
	int debug;
	int user_from_token;
};

/* The one table of module arguments. */
static int parse_args(pam_handle_t *pamh, int argc, const char **argv, struct args *a)
{
	a->config = DEFAULT_CONFIG;
	a->helper = HELPER_PATH;
	a->service = NULL;
	a->timeout = DEFAULT_TIMEOUT;
	a->debug = 0;
	a->user_from_token = 0;
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		char *end;

		if (strncmp(s, "config=", 7) == 0 && s[7] == '/') {
			a->config = s + 7;
		} else if (strncmp(s, "helper=", 7) == 0 && s[7] == '/') {
			a->helper = s + 7;
		} else if (strncmp(s, "service=", 8) == 0 && s[8]) {
			a->service = s + 8;
		} else if (strncmp(s, "timeout=", 8) == 0) {
			errno = 0;
			a->timeout = strtol(s + 8, &end, 10);
			if (errno || *end || end == s + 8 || a->timeout < 5 || a->timeout > 3600) {
				pam_syslog(pamh, LOG_ERR,
					   "bad module argument %s (5..3600 seconds)", s);
				return -1;
			}
		} else if (strcmp(s, "debug") == 0) {
			a->debug = 1;
		} else if (strcmp(s, "user_from_token") == 0) {
			a->user_from_token = 1;
		} else {
			pam_syslog(pamh, LOG_ERR, "unknown or invalid module argument: %s", s);
			return -1;
		}
	}
	return 0;
}

/* A PAM item as text for a CONTEXT line: "" when unset; refused (-1) when
 * it holds a newline or is too long to be honest. */
static int item_text(pam_handle_t *pamh, int item, const char **out)
{
	const void *v = NULL;

	if (pam_get_item(pamh, item, &v) != PAM_SUCCESS || !v) {
		*out = "";
		return 0;
	}
	if (strlen(v) >= FIELD_MAX || strpbrk(v, "\r\n"))
		return -1;
	*out = v;
	return 0;
}

/* The limits the helper needs whatever the host set (PAM-24), worked out in
 * the parent: no core files; files it writes not cut short (RLIMIT_FSIZE:
 * a short write or SIGXFSZ would truncate the cache); a floor of 1024 open
 * files. Raising a hard limit needs privilege (sudo, sshd, login have it);
 * without it the child falls back to soft = hard. */
struct child_limits {
	struct rlimit core, fsize, nofile;
};

static void child_limits_init(struct child_limits *cl)
{
	struct rlimit cur;

	cl->core = (struct rlimit){ 0, 0 };
	cl->fsize = (struct rlimit){ RLIM_INFINITY, RLIM_INFINITY };
	if (getrlimit(RLIMIT_NOFILE, &cur) != 0)
		cur = (struct rlimit){ 1024, 1024 };
	cl->nofile = cur;
	if (cur.rlim_cur == RLIM_INFINITY || cur.rlim_cur < 1024) {
		cl->nofile.rlim_cur = 1024;
		if (cur.rlim_max != RLIM_INFINITY && cur.rlim_max < 1024)
			cl->nofile.rlim_max = 1024;
	}
}

/* setrlimit, or with the hard limit unchanged when raising it is refused. */
static void child_setrlimit(int res, const struct rlimit *want)
{
	struct rlimit cur;

	if (setrlimit(res, want) == 0 || getrlimit(res, &cur) != 0)
		return;
	if (want->rlim_cur == RLIM_INFINITY || want->rlim_cur > cur.rlim_max)
		cur.rlim_cur = cur.rlim_max;
	else
		cur.rlim_cur = want->rlim_cur;
	setrlimit(res, &cur);
}

/* In the child, with every signal blocked since before fork: each one back
 * to SIG_DFL (an ignored SIGTERM, SIGHUP or SIGXFSZ survives execve, and a
 * host handler must not run in the child), then an empty mask and the
 * limits above (PAM-24). Async-signal-safe calls only (get/setrlimit are
 * one system call each). */
static void child_reset(const struct child_limits *cl)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	sigemptyset(&dfl.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL); /* EINVAL for libc's own (32, 33): they
						       stay as the host has them; glibc takes
						       them over when it needs them */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	child_setrlimit(RLIMIT_CORE, &cl->core);
	child_setrlimit(RLIMIT_FSIZE, &cl->fsize);
	child_setrlimit(RLIMIT_NOFILE, &cl->nofile);
}

/* Starts the helper with only `sock` open, as fd 3, stdin/stdout/stderr on
 * /dev/null, a fixed environment, default signals and sane limits. Returns
 * the pid or -1. */
static pid_t start_helper(const char *helper, int sock)
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8",
				      NULL };
	char *const argv[] = { "oauth2-pkce-helper", "login", "--fd", "3", NULL };
	struct child_limits cl;
	sigset_t all, old;
	pid_t pid;

	child_limits_init(&cl);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	if ((pid = fork()) != 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return pid;
	}
	child_reset(&cl); /* first: limits before fds (RLIMIT_NOFILE may be < 10) */
	/* child: async-signal-safe calls only until execve. The socket and
	 * /dev/null are first moved above the target fds, so neither can be one
	 * of 0..3 already (a host with closed stdio) and every dup2 below
	 * really makes a new, inheritable descriptor (PAM-10). */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), s2, n2;
	if (null < 0 || (s2 = fcntl(sock, F_DUPFD_CLOEXEC, 10)) < 0 ||
	    (n2 = fcntl(null, F_DUPFD_CLOEXEC, 10)) < 0 || dup2(s2, 3) < 0 || dup2(n2, 0) < 0 ||
	    dup2(n2, 1) < 0 || dup2(n2, 2) < 0)
		_exit(127);
	if (close_range(4, ~0U, 0) != 0)
		for (int fd = 4; fd < 65536; fd++)
			close(fd);
	execve(helper, argv, envp);
	_exit(127);
}

/* Kills (if still running) and reaps our own child, waiting at most
 * grace_ms for a voluntary exit. Returns the wait status, or -1; *maxrss
 * gets the helper's peak RSS in KiB (for `debug` and the benchmark). */
static int reap(pid_t pid, long long grace_ms, long *maxrss)
{
	long long until = ipc_now_ms() + grace_ms;
	struct rusage ru;
	int st = -1;

	for (;;) {
		pid_t r = wait4(pid, &st, WNOHANG, &ru);
		if (r == pid) {
			*maxrss = ru.ru_maxrss;
			return st;
		}
		if (r < 0 && errno != EINTR)
			return -1;
		if (ipc_now_ms() >= until)
			break;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR)
			return -1;
	*maxrss = ru.ru_maxrss;
	return -2; /* killed: never a success */
}

/* The one map from a refusal's status to a PAM code (never PAM_SUCCESS: that
 * is set in one place, pam_sm_authenticate). */
static int refusal_to_pam(enum ipc_status st)
{
	switch (st) {
	case IPC_STATUS_USER_UNKNOWN:
		return PAM_USER_UNKNOWN;
	case IPC_STATUS_MAXTRIES:
		return PAM_MAXTRIES;
	case IPC_STATUS_AUTHINFO_UNAVAIL:
		return PAM_AUTHINFO_UNAVAIL;
	default:
		return PAM_AUTH_ERR;
	}
}

static int converse(pam_handle_t *pamh, int sock, const struct ipc_frame *f)
{
	char *resp = NULL;
	size_t n;
	int r;

	switch (f->type) {
	case IPC_INFO:
		/* a caller that cannot show the link cannot log in (PAM-18) */
		if (pam_prompt(pamh, PAM_TEXT_INFO, NULL, "%s", f->data) != PAM_SUCCESS) {
			ipc_write_frame(sock, IPC_CANCEL, "", 0);
			return -1;
		}
		return 0;
	case IPC_ERROR:
		pam_prompt(pamh, PAM_ERROR_MSG, NULL, "%s", f->data);
		return 0;
	case IPC_PROMPT_ON:
	case IPC_PROMPT_OFF:
		r = pam_prompt(pamh,
			       f->type == IPC_PROMPT_ON ? PAM_PROMPT_ECHO_ON : PAM_PROMPT_ECHO_OFF,
			       &resp, "%s", f->data);
		if (r != PAM_SUCCESS || !resp) {
			ipc_write_frame(sock, IPC_CANCEL, "", 0);
			return -1;
		}
		n = strlen(resp);
		r = ipc_write_frame(sock, IPC_ANSWER, resp, n > ANSWER_MAX ? ANSWER_MAX : n);
		explicit_bzero(resp, n);
		free(resp);
		return r == 0 ? 0 : -1;
	default:
		return -1;
	}
}

/* One login, shared by the steps of pam_sm_authenticate. */
struct login {
	pam_handle_t *pamh;
	struct args a;
	const char *user, *service, *rhost, *tty; /* PAM items, "" when unset */
	char ctx[4 * FIELD_MAX + 2 * PATH_MAX + 128];
	size_t ctxlen;
	long long deadline;
	int sock;	       /* our end of the socketpair, -1 when closed */
	pid_t pid;	       /* the helper, -1 once reaped */
	long maxrss;	       /* helper peak RSS, KiB */
	struct ipc_result res; /* the helper's verdict */
	int rc;		       /* PAM code of a refusal */
	const char *why;       /* the reason, for the log line */
};

/* A refusal: records why, returns -1 (l->rc keeps its code). */
static int refuse(struct login *l, int rc, const char *why)
{
	l->rc = rc;
	l->why = why;
	return -1;
}

/* PAM_USER (or none, for user_from_token) and the items for CONTEXT. */
static int read_items(struct login *l)
{
	if (!l->a.user_from_token) {
		if (pam_get_user(l->pamh, &l->user, NULL) != PAM_SUCCESS || !l->user || !*l->user)
			return refuse(l, PAM_USER_UNKNOWN, "no user");
	} else {
		const void *u = NULL;
		pam_get_item(l->pamh, PAM_USER, &u);
		l->user = u ? u : "";
	}
	if (strlen(l->user) >= FIELD_MAX || strpbrk(l->user, "\r\n") ||
	    item_text(l->pamh, PAM_SERVICE, &l->service) ||
	    item_text(l->pamh, PAM_RHOST, &l->rhost) || item_text(l->pamh, PAM_TTY, &l->tty)) {
		pam_syslog(l->pamh, LOG_ERR, "refused: PAM item with a newline or too long");
		return refuse(l, PAM_AUTH_ERR, "bad PAM item");
	}
	return 0;
}

/* The CONTEXT frame's payload (DESIGN.md). */
static int build_context(struct login *l)
{
	const struct args *a = &l->a;
	int n = snprintf(l->ctx, sizeof(l->ctx),
			 "user=%s\nservice=%s\nrhost=%s\ntty=%s\nconfig=%s\nsection=%s\ndebug=%d\n"
			 "user_from_token=%d\ntimeout=%ld\nruid=%u\n",
			 l->user, l->service, l->rhost, l->tty, a->config,
			 a->service ? a->service : l->service, a->debug, a->user_from_token,
			 a->timeout, (unsigned)getuid());

	if (n < 0 || (size_t)n >= sizeof(l->ctx))
		return refuse(l, PAM_AUTH_ERR, "context too long");
	l->ctxlen = (size_t)n;
	return 0;
}

/* A socketpair, the helper on its other end, and the CONTEXT frame. */
static int spawn(struct login *l)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		pam_syslog(l->pamh, LOG_ERR, "socketpair: %m");
		return refuse(l, PAM_AUTHINFO_UNAVAIL, "socketpair failed");
	}
	l->sock = sv[0];
	l->pid = start_helper(l->a.helper, sv[1]); /* sv[1] becomes its fd 3 */
	close(sv[1]);
	if (l->pid < 0) {
		pam_syslog(l->pamh, LOG_ERR, "fork: %m");
		return refuse(l, PAM_AUTHINFO_UNAVAIL, "fork failed");
	}
	if (ipc_write_frame(l->sock, IPC_CONTEXT, l->ctx, l->ctxlen) != 0)
		return refuse(l, PAM_AUTHINFO_UNAVAIL, "could not start the helper");
	return 0;
}

/* Bridges the conversation until the one RESULT frame, parsed into l->res. */
static int await_result(struct login *l)
{
	struct ipc_frame f = { 0 };
	int r;

	for (;;) {
		if ((r = ipc_read_frame(l->sock, l->deadline, &f)) == ERR_IPC_TIMEOUT) {
			pam_prompt(l->pamh, PAM_ERROR_MSG, NULL, "Timed out after %ld s",
				   l->a.timeout);
			return refuse(l, PAM_AUTH_ERR, "deadline passed");
		}
		if (r != 0)
			return refuse(l, PAM_AUTHINFO_UNAVAIL,
				      r == ERR_IPC ? "garbage from the helper"
						   : "helper ended without a result");
		if (f.type == IPC_RESULT)
			break;
		r = converse(l->pamh, l->sock, &f);
		ipc_frame_cleanup(&f);
		if (r != 0)
			return refuse(l, PAM_AUTH_ERR, "conversation failed");
	}
	r = ipc_result_parse(f.data, f.len, &l->res);
	ipc_frame_cleanup(&f);
	return r == 0 ? 0 : refuse(l, PAM_AUTH_ERR, "malformed result");
}

/* A success must name PAM_USER (PAM-16) and the helper must exit 0 after it;
 * a kiosk login (user_from_token, no PAM_USER) takes the user from it. */
static int check_result(struct login *l)
{
	const char *ruser = l->res.user;
	int kiosk = l->a.user_from_token && !l->user[0], st;

	if (l->res.status != IPC_STATUS_SUCCESS)
		return refuse(l, refusal_to_pam(l->res.status), ipc_status_name(l->res.status));
	if (!ruser[0])
		return refuse(l, PAM_AUTH_ERR, "result without a user");
	if (!kiosk && strcmp(ruser, l->user) != 0)
		return refuse(l, PAM_AUTH_ERR, "helper result is for another user");
	close(l->sock);
	l->sock = -1;
	st = reap(l->pid, 2000, &l->maxrss);
	l->pid = -1;
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return refuse(l, PAM_AUTH_ERR, "helper did not exit cleanly");
	if (kiosk && pam_set_item(l->pamh, PAM_USER, ruser) != PAM_SUCCESS)
		return refuse(l, PAM_AUTH_ERR, "could not set PAM_USER");
	return 0;
}

/* s for the log line: printable ASCII as it is; every other byte, the
 * backslash, the space and '=' as \xNN (so a user name cannot add a field
 * such as " rhost=198.51.100.7" for a log watcher to read); cut to fit out.
 * The helper only ever returns a checked account name
 * (claims_valid_username), but the IPC parser lets any byte but LF and NUL
 * through, and PAM_USER and PAM_RHOST come from the client: this line relies
 * on none of them. */
static const char *log_text(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *s && o + 5 <= outlen; s++) {
		unsigned char c = (unsigned char)*s;
		if (c > 0x20 && c < 0x7f && c != '\\' && c != '=') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

/* Cancels and reaps a helper still running; logs the outcome. */
static void finish(struct login *l)
{
	char user[4 * IPC_USER_MAX], svc[4 * FIELD_MAX], rhost[4 * FIELD_MAX];

	if (l->sock >= 0) {
		ipc_write_frame(l->sock, IPC_CANCEL, "", 0);
		close(l->sock);
	}
	if (l->pid > 0)
		reap(l->pid, 200, &l->maxrss);
	if (l->a.debug)
		pam_syslog(l->pamh, LOG_DEBUG, "helper peak RSS %ld KiB", l->maxrss);
	pam_syslog(l->pamh, l->rc == PAM_SUCCESS ? LOG_INFO : LOG_WARNING,
		   "%s user=%s service=%s rhost=%s: %s", l->rc == PAM_SUCCESS ? "login" : "refused",
		   log_text(l->res.user[0] ? l->res.user : l->user, user, sizeof(user)),
		   log_text(l->service, svc, sizeof(svc)),
		   log_text(l->rhost[0] ? l->rhost : "-", rhost, sizeof(rhost)), l->why);
}

EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct login l = { .pamh = pamh,
			   .user = "",
			   .service = "",
			   .rhost = "",
			   .tty = "",
			   .sock = -1,
			   .pid = -1,
			   .rc = PAM_AUTH_ERR,
			   .why = "helper failed" };
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old_chld;

	(void)flags;
	if (parse_args(pamh, argc, argv, &l.a) != 0)
		return PAM_SERVICE_ERR;
	l.deadline = ipc_now_ms() + l.a.timeout * 1000;
	if (read_items(&l) != 0 || build_context(&l) != 0)
		return l.rc;
	/* PAM-07: a host SIGCHLD handler that reaps everything would steal the
	 * helper's status; default disposition for the duration of the call */
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, &old_chld);
	if (spawn(&l) == 0 && await_result(&l) == 0 && check_result(&l) == 0) {
		l.rc = PAM_SUCCESS;
		l.why = "granted";
	}
	finish(&l);
	sigaction(SIGCHLD, &old_chld, NULL);
	return l.rc;
}

EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS; /* no credentials to set, as pam-u2f */
}
