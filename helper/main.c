/* main.c: oauth2-pkce-helper. One subcommand per run; the table below is
 * the only dispatch (the login subcommand the PAM module runs is added to
 * it, like the admin ones here). */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "config.h"
#include "err.h"
#include "helper.h"
#include "priv.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	const char *usage;
};

static const struct command commands[] = {
	{ "verify-id-token", cmd_verify_id_token,
	  "verify-id-token [--config FILE] --nonce NONCE [--jwks-file FILE]\n"
	  "                  [--access-token-file FILE] [--service NAME] [--debug]\n"
	  "                  < id_token\n"
	  "      Verify one ID token read on stdin, with the assurance rules\n"
	  "      (required_acr, max_age, required_amr) of the global policy or of\n"
	  "      [service NAME]. Exit 0: accepted (claims on\n"
	  "      stdout as key=value), 1: refused (one line on stderr), 2: usage\n"
	  "      or configuration error. --jwks-file works offline (no discovery).\n" },
	{ "login", cmd_login,
	  "login --fd N\n"
	  "      Run one login for pam_oauth2_pkce.so over the socket on fd N (the\n"
	  "      module starts it; not for interactive use).\n" },
	{ "check", cmd_check,
	  "check [--config FILE] [--debug]\n"
	  "      Check the configuration and its files, fetch discovery and keys,\n"
	  "      print what was found and one \"problem: ...\" line per problem.\n"
	  "      Exit 0: no problem, 1: problems, 2: usage error.\n" },
	{ "doctor", cmd_doctor,
	  "doctor [--config FILE] [--pam-dir DIR] [--sshd PATH] [--sshd-config FILE]\n"
	  "         [--helper PATH] [--json] [--debug]\n"
	  "      Preflight of the whole set-up (as root): config and file modes, IdP\n"
	  "      discovery and keys, clock against the IdP, relay health and a test\n"
	  "      registration, sshd -T, the pam.d stacks, the helper binary. One line\n"
	  "      per finding with its fix. Exit 0: no problem, 1: problems, 2: usage.\n" },
};

static void usage(void)
{
	fprintf(stderr, "usage: %s COMMAND [OPTIONS]\n\ncommands:\n", HELPER_NAME);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, "  %s\n", commands[i].usage);
	fprintf(stderr, "The default --config is %s.\n", DEFAULT_CONFIG);
}

/* ---- shared helpers ------------------------------------------------------ */

static void helper_sink(void *ctx, int prio, const char *msg)
{
	struct helper_log *hl = ctx;

	if (prio <= LOG_ERR && !hl->first_err[0])
		snprintf(hl->first_err, sizeof(hl->first_err), "%s", msg);
	else if (prio == LOG_WARNING && !hl->first_warning[0])
		snprintf(hl->first_warning, sizeof(hl->first_warning), "%s", msg);
	if (hl->echo) /* LOG_DEBUG only arrives here with debug set */
		fprintf(stderr, "%s: %s\n", HELPER_NAME, msg);
}

void helper_log_init(struct helper_log *hl, int debug, int echo)
{
	memset(hl, 0, sizeof(*hl));
	hl->log.sink = helper_sink;
	hl->log.ctx = hl;
	hl->log.debug = debug;
	hl->echo = echo || debug;
}

void helper_log_reset(struct helper_log *hl)
{
	hl->first_err[0] = '\0';
	hl->first_warning[0] = '\0';
}

const char *helper_log_detail(const struct helper_log *hl)
{
	return hl->first_err[0] ? hl->first_err : hl->first_warning;
}

int helper_opt(char **argv, int argc, int *i, const char *name, const char **value)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*value = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*value = argv[++*i];
	return 1;
}

void helper_sanitize(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = '?';
}

int helper_cache_check(const struct config *cfg, const struct log *log)
{
	struct priv_target t;
	int r;

	if (geteuid() != 0)
		return cache_dir_check(cfg->cache_dir, log);
	if ((r = priv_lookup(cfg->helper_user, &t)) != 0) {
		log_msg(log, LOG_ERR, "helper_user %s: %s (logins refuse; create the account)",
			cfg->helper_user, err_str(r));
		return r;
	}
	return cache_dir_owned(cfg->cache_dir, t.uid, log);
}

void helper_cache_prepare(const struct config *cfg, const struct priv_target *t,
			  const struct log *log)
{
	const char *dir = cfg->cache_dir;
	struct stat st;
	int fd;

	if (mkdir(dir, 0700) == 0) {
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0 || st.st_uid != 0 ||
		    fchown(fd, t->uid, t->gid) != 0)
			log_msg(log, LOG_WARNING, "cache: cannot give %s to helper_user %s", dir,
				cfg->helper_user);
		if (fd >= 0)
			close(fd);
	} else if (lstat(dir, &st) == 0 && st.st_uid != t->uid) {
		log_msg(log, LOG_WARNING,
			"cache: %s is owned by uid %lu, not by helper_user %s (uid %lu): no cache, no "
			"max_logins_per_minute until it is (make install does it)",
			dir, (unsigned long)st.st_uid, cfg->helper_user, (unsigned long)t->uid);
	}
}

int helper_user_target(const struct config *cfg, const char *config_path, struct priv_target *t,
		       char *why, size_t whylen)
{
	int r = priv_lookup(cfg->helper_user, t);

	if (r != 0)
		snprintf(why, whylen,
			 "helper_user %.64s: %s (create the account, or set helper_user in %.200s)",
			 cfg->helper_user, r == ERR_PRIV_NO_USER ? "no such account" : err_str(r),
			 config_path);
	return r;
}

int helper_drop_root(const struct config *cfg, const char *config_path, int make_cache,
		     const struct log *log, char *why, size_t whylen)
{
	struct priv_target t;
	int r;

	why[0] = '\0';
	if (geteuid() != 0)
		return ERR_OK;
	if ((r = helper_user_target(cfg, config_path, &t, why, whylen)) != 0)
		return r;
	if (make_cache)
		helper_cache_prepare(cfg, &t, log);
	if ((r = priv_drop(&t, 0, log)) != 0) {
		snprintf(why, whylen, "helper_user %.64s: %s", cfg->helper_user, err_str(r));
		return r;
	}
	log_msg(log, LOG_DEBUG, "running as %s (uid %lu) from here on", cfg->helper_user,
		(unsigned long)t.uid);
	return ERR_OK;
}

int main(int argc, char **argv)
{
	int rc = EXIT_USAGE;

	umask(077);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage();
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
			fprintf(stderr, "%s: curl_global_init failed\n", HELPER_NAME);
			return EXIT_USAGE;
		}
		rc = commands[i].run(argc - 1, argv + 1);
		curl_global_cleanup();
		return rc;
	}
	fprintf(stderr, "%s: unknown command \"%s\" (try --help)\n", HELPER_NAME, argv[1]);
	return EXIT_USAGE;
}
