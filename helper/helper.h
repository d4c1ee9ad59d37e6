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
	EXIT_USAGE = 2,    /* usage or configuration error */
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

/* PAM-23: cache_dir as a login will find it. As root (doctor, check): the
 * helper_user account exists and owns cache_dir (0700, no symlink), nothing
 * created; otherwise cache_dir_check. 0 or an err.h code, logged. */
struct config;
int helper_cache_check(const struct config *cfg, const struct log *log);

int cmd_verify_id_token(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_doctor(int argc, char **argv);

#endif
