/* claims.h: map a verified ID token to a local account, safe by default
 * (IDT-30, PAM-16). Order: take username_claim (a string; with "email",
 * email_verified must be JSON true); map_file lookup when configured (the
 * claim value -> local user; no entry = refused); strip_domain strips only
 * "@<domain>" and refuses any other domain; lowercase (ASCII) when asked;
 * the result must be a plain user name ^[a-z_][a-z0-9_.-]{0,31}$ and an
 * existing account; uid 0 refused unless allow_root; allowed_groups, when
 * set, must share a whole value with the groups_claim array. */
#ifndef OP_CLAIMS_H
#define OP_CLAIMS_H

#include <cJSON.h>
#include <pwd.h>
#include <stddef.h>

#include "log.h"

#define CLAIMS_USER_MAX	     32
#define CLAIMS_MAP_MAX_BYTES (1024 * 1024)

struct claims_policy {
	const char *username_claim; /* NULL: "preferred_username" */
	const char *map_file;	    /* NULL: no map */
	const char *map_text;	    /* map_file's contents, read before the helper
				       dropped root (claims_read_map); NULL: read
				       map_file at the lookup */
	const char *strip_domain;   /* NULL: no domain handling */
	int lowercase;
	int allow_root;
	const char *groups_claim;   /* NULL: "groups" */
	const char *allowed_groups; /* space/comma separated; NULL or "": no rule */
	/* injected for tests; NULL: getpwnam(3) */
	struct passwd *(*getpwnam)(const char *name);
};

/* user (>= CLAIMS_USER_MAX + 1 bytes) receives the local account name.
 * Every refusal logs one line naming the claim value (sanitized) and why. */
int claims_map_user(const cJSON *payload, const struct claims_policy *p, const struct log *log,
		    char *user, size_t userlen);

/* Reads map_file with the configuration file's checks (config_read_file:
 * no symlink, owner, mode, CLAIMS_MAP_MAX_BYTES); *out NUL-terminated, the
 * caller frees it. ERR_MAP_FILE (logged with the reason) or ERR_NOMEM. */
int claims_read_map(const char *path, const struct log *log, char **out);

/* ^[a-z_][a-z0-9_.-]{0,31}$ */
int claims_valid_username(const char *s);

#endif
