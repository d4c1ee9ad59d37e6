/* helper.h: shared pieces of oauth2-pkce-helper's subcommands. */
#ifndef OP_HELPER_H
#define OP_HELPER_H

#include <stddef.h>

#include "log.h"

#define HELPER_NAME "oauth2-pkce-helper"

/* Exit codes shared by the admin subcommands. */
enum {
	EXIT_ACCEPTED = 0, /* verify-id-token: accepted; check: no problem */
	EXIT_REFUSED = 1,  /* verify-id-token: refused; check: problems found */
	EXIT_USAGE = 2,	   /* usage or configuration error */
};

/* The log sink of the admin subcommands. Lines go to stderr
 * ("oauth2-pkce-helper: msg") when echo is set (LOG_DEBUG only with debug);
 * the first LOG_ERR and the first LOG_WARNING line since the last
 * helper_log_reset are kept, so a refusal can be reported on one line with
 * the library's reason. */
struct helper_log {
	struct log log; /* pass &hl.log to lib/ */
	int echo;
	char first_err[512];
	char first_warning[512];
};

void helper_log_init(struct helper_log *hl, int debug, int echo);
void helper_log_reset(struct helper_log *hl);
/* The most useful captured line (first error, else first warning), or "". */
const char *helper_log_detail(const struct helper_log *hl);

/* Option parsing shared by subcommands: "--name value" or "--name=value".
 * Returns 1 and sets *value when argv[*i] is that option (advancing *i past
 * a separate value), 0 when it is not, -1 when its value is missing. */
int helper_opt(char **argv, int argc, int *i, const char *name, const char **value);

/* Replaces control bytes (< 0x20, 0x7f) with '?' in place; UTF-8 kept. */
void helper_sanitize(char *s);

/* The JWS algorithms a JWK could verify, by its type and curve (and its
 * own "alg" member): a mask of enum jwt_alg (check and doctor). */
struct jwk;
unsigned helper_key_algs(const struct jwk *k);

/* PAM-23: cache_dir as a login will find it. As root (doctor): the
 * helper_user account exists and owns cache_dir (0700, no symlink), nothing
 * created; otherwise (check, after its drop) cache_dir_check. 0 or an err.h
 * code, logged. */
struct config;
int helper_cache_check(const struct config *cfg, const struct log *log);

/* PAM-23: cache_dir belongs to helper_user. A missing one is made now, as
 * root, mode 0700, and given to t; one owned by someone else is left as it
 * is and logged at LOG_WARNING (the cache then goes unused). */
struct priv_target;
void helper_cache_prepare(const struct config *cfg, const struct priv_target *t,
			  const struct log *log);

/* priv_lookup of helper_user; on failure why names the account, the option
 * and config_path (the same words for login, check, doctor, verify-id-token). */
int helper_user_target(const struct config *cfg, const char *config_path, struct priv_target *t,
		       char *why, size_t whylen);

/* PAM-23 for the admin subcommands, as for a login: started as root, they
 * read their root-only inputs, then call this before any network, TLS or
 * JSON work: helper_user looked up, cache_dir prepared (make_cache), then
 * priv_drop for good. Not root: nothing, 0. Otherwise 0, or an err.h code
 * (ERR_PRIV_NO_USER, ERR_PRIV_ROOT: nothing changed; ERR_PRIV_DROP: stop)
 * with the reason in why. */
int helper_drop_root(const struct config *cfg, const char *config_path, int make_cache,
		     const struct log *log, char *why, size_t whylen);

int cmd_verify_id_token(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_doctor(int argc, char **argv);

#endif
