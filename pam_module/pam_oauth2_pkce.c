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
#define FIELD_MAX 256
#define ANSWER_MAX 512

#define EXPORT __attribute__((visibility("default")))

struct args {
	const char *config;
	const char *helper;
	const char *service; /* [service NAME] section, default PAM_SERVICE */
	long timeout;        /* seconds */
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
				pam_syslog(pamh, LOG_ERR, "bad module argument %s (5..3600 seconds)", s);
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

/* Starts the helper with only `sock` open, as fd 3, stdin/stdout/stderr on
 * /dev/null and a fixed environment. Returns the pid or -1. */
static pid_t start_helper(const char *helper, int sock)
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8", NULL };
	char *const argv[] = { "oauth2-pkce-helper", "login", "--fd", "3", NULL };
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	/* child: async-signal-safe calls only until execve. The socket and
	 * /dev/null are first moved above the target fds, so neither can be one
	 * of 0..3 already (a host with closed stdio) and every dup2 below
	 * really makes a new, inheritable descriptor (PAM-10). */
	{
		int null = open("/dev/null", O_RDWR | O_CLOEXEC), s2, n2;
		if (null < 0 || (s2 = fcntl(sock, F_DUPFD_CLOEXEC, 10)) < 0 ||
		    (n2 = fcntl(null, F_DUPFD_CLOEXEC, 10)) < 0 || dup2(s2, 3) < 0 ||
		    dup2(n2, 0) < 0 || dup2(n2, 1) < 0 || dup2(n2, 2) < 0)
			_exit(127);
		if (close_range(4, ~0U, 0) != 0)
			for (int fd = 4; fd < 65536; fd++)
				close(fd);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execve(helper, argv, envp);
		_exit(127);
	}
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

/* A refusal's status word -> PAM code (never success; that is decided in
 * one place in pam_sm_authenticate). */
static int refusal_to_pam(const char *status)
{
	if (strcmp(status, "user_unknown") == 0)
		return PAM_USER_UNKNOWN;
	if (strcmp(status, "maxtries") == 0)
		return PAM_MAXTRIES;
	if (strcmp(status, "authinfo_unavail") == 0)
		return PAM_AUTHINFO_UNAVAIL;
	return PAM_AUTH_ERR;
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
		r = pam_prompt(pamh, f->type == IPC_PROMPT_ON ? PAM_PROMPT_ECHO_ON : PAM_PROMPT_ECHO_OFF,
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

EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct args a;
	const char *user = NULL, *service = "", *rhost = "", *tty = "";
	char ctx[4 * FIELD_MAX + 2 * PATH_MAX + 128], status[32] = "", ruser[FIELD_MAX] = "";
	struct ipc_frame f = { 0 };
	long long deadline;
	int sv[2] = { -1, -1 }, rc = PAM_AUTH_ERR, st, n;
	long maxrss = 0;
	const char *why = "helper failed";
	pid_t pid = -1;

	(void)flags;
	if (parse_args(pamh, argc, argv, &a) != 0)
		return PAM_SERVICE_ERR;
	deadline = ipc_now_ms() + a.timeout * 1000;

	if (!a.user_from_token) {
		if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || !user || !*user)
			return PAM_USER_UNKNOWN;
	} else {
		const void *u = NULL;
		pam_get_item(pamh, PAM_USER, &u);
		user = u ? u : "";
	}
	if (strlen(user) >= FIELD_MAX || strpbrk(user, "\r\n") ||
	    item_text(pamh, PAM_SERVICE, &service) || item_text(pamh, PAM_RHOST, &rhost) ||
	    item_text(pamh, PAM_TTY, &tty)) {
		pam_syslog(pamh, LOG_ERR, "refused: PAM item with a newline or too long");
		return PAM_AUTH_ERR;
	}
	n = snprintf(ctx, sizeof(ctx),
		     "user=%s\nservice=%s\nrhost=%s\ntty=%s\nconfig=%s\nsection=%s\ndebug=%d\n"
		     "user_from_token=%d\ntimeout=%ld\nruid=%u\n",
		     user, service, rhost, tty, a.config, a.service ? a.service : service, a.debug,
		     a.user_from_token, a.timeout, (unsigned)getuid());
	if (n < 0 || (size_t)n >= sizeof(ctx))
		return PAM_AUTH_ERR;

	/* PAM-07: a host SIGCHLD handler that reaps everything would steal the
	 * helper's status; default disposition for the duration of the call */
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old_chld;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, &old_chld);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		pam_syslog(pamh, LOG_ERR, "socketpair: %m");
		sigaction(SIGCHLD, &old_chld, NULL);
		return PAM_AUTHINFO_UNAVAIL;
	}
	/* the child's end becomes its fd 3 (start_helper) */
	if ((pid = start_helper(a.helper, sv[1])) < 0) {
		pam_syslog(pamh, LOG_ERR, "fork: %m");
		rc = PAM_AUTHINFO_UNAVAIL;
		goto out;
	}
	close(sv[1]);
	sv[1] = -1;
	if (ipc_write_frame(sv[0], IPC_CONTEXT, ctx, (size_t)n) != 0) {
		why = "could not start the helper";
		rc = PAM_AUTHINFO_UNAVAIL;
		goto out;
	}
	for (;;) {
		int r = ipc_read_frame(sv[0], deadline, &f);
		if (r != 0) {
			why = r == ERR_IPC_TIMEOUT ? "deadline passed" : r == ERR_IPC ? "garbage from the helper" : "helper ended without a result";
			rc = r == ERR_IPC_TIMEOUT ? PAM_AUTH_ERR : PAM_AUTHINFO_UNAVAIL;
			if (r == ERR_IPC_TIMEOUT)
				pam_prompt(pamh, PAM_ERROR_MSG, NULL, "Timed out after %ld s", a.timeout);
			goto out;
		}
		if (f.type == IPC_RESULT)
			break;
		if (converse(pamh, sv[0], &f) != 0) {
			why = "conversation failed";
			goto out;
		}
		ipc_frame_cleanup(&f);
	}
	if (ipc_kv_get(f.data, f.len, "status", status, sizeof(status)) != 0 ||
	    ipc_kv_get(f.data, f.len, "user", ruser, sizeof(ruser)) < 0) {
		why = "malformed result";
		goto out;
	}
	why = status;
	if (strcmp(status, "success") != 0) {
		rc = refusal_to_pam(status);
		goto out;
	}
	if (!ruser[0]) {
		why = "result without a user";
		goto out;
	}
	if (!(a.user_from_token && !user[0]) && strcmp(ruser, user) != 0) {
		why = "helper result is for another user";
		goto out;
	}
	/* the helper must also exit cleanly: a crash after RESULT is a refusal */
	close(sv[0]);
	sv[0] = -1;
	st = reap(pid, 2000, &maxrss);
	pid = -1;
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		why = "helper did not exit cleanly";
		goto out;
	}
	/* kiosk: PAM_USER comes from the token, set only once all is verified */
	if (a.user_from_token && !user[0] && pam_set_item(pamh, PAM_USER, ruser) != PAM_SUCCESS) {
		why = "could not set PAM_USER";
		goto out;
	}
	rc = PAM_SUCCESS;
	why = "granted";
out:
	ipc_frame_cleanup(&f);
	if (sv[0] >= 0) {
		ipc_write_frame(sv[0], IPC_CANCEL, "", 0);
		close(sv[0]);
	}
	if (sv[1] >= 0)
		close(sv[1]);
	if (pid > 0)
		reap(pid, 200, &maxrss);
	sigaction(SIGCHLD, &old_chld, NULL);
	if (a.debug)
		pam_syslog(pamh, LOG_DEBUG, "helper peak RSS %ld KiB", maxrss);
	pam_syslog(pamh, rc == PAM_SUCCESS ? LOG_INFO : LOG_WARNING,
		   "%s user=%s service=%s rhost=%s: %s", rc == PAM_SUCCESS ? "login" : "refused",
		   ruser[0] ? ruser : user, service, rhost[0] ? rhost : "-", why);
	return rc;
}

EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS; /* no credentials to set, as pam-u2f */
}
