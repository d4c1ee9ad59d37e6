/* config.h: /etc/security/pam_oauth2_pkce.conf. "key = value" lines, '#'
 * comments, strict: an unknown key, a repeated key, a bad number or a
 * non-https issuer is an error naming file:line. The file must be a regular
 * file (no symlink), owned by root (or the effective uid, for tests), not
 * group/world-writable, at most CONFIG_MAX_BYTES. Secret files
 * (client_secret_file) must also not be group/world-readable. */
#ifndef OP_CONFIG_H
#define OP_CONFIG_H

#include <stddef.h>

#define CONFIG_MAX_BYTES (64 * 1024)

struct config {
	char *issuer;             /* required */
	char *client_id;          /* required */
	char *client_secret_file; /* optional: confidential client */
	char *scopes;             /* default "openid profile email" */
	unsigned allowed_algs;    /* mask of enum jwt_alg; default JWT_ALG_ALL */
	long clock_skew;          /* default 60 s */
	long max_token_age;       /* default 300 s */
	char *ca_file;            /* optional */
	long http_timeout;        /* seconds, default 10 */
	char *cache_dir;          /* default /var/cache/pam-oauth2-pkce */
	int allow_insecure_loopback; /* default no */
};

/* Parses text (len bytes) named `name` in errors. On error, err (may be
 * NULL) holds one line "NAME:LINE: key: what is wrong" (ERR_CONFIG), or
 * "NAME: missing required key "issuer"" (ERR_CONFIG_MISSING). Keys may come
 * in any order; the issuer is checked (https, or loopback http with
 * allow_insecure_loopback) once the whole file is read. No inline
 * comments; a "[section]" line is an error for now. *out is set only on
 * success. */
int config_parse(const char *text, size_t len, const char *name, struct config **out,
		 char *err, size_t errlen);

/* Opens path defensively (O_NOFOLLOW, fstat: regular, owner, mode, size),
 * then config_parse. Errors name the path: ERR_IO (cannot open/read),
 * ERR_CONFIG_PERM (symlink, not a regular file, owner, mode), ERR_CONFIG
 * (too large, or from config_parse). */
int config_load(const char *path, struct config **out, char *err, size_t errlen);

/* Checks a secret file: regular, no symlink, owned by root/euid, mode
 * without group/other bits (ERR_CONFIG_PERM), at most 4 KiB. Reads it
 * (first line, "\n" or "\r\n" stripped; empty or with control characters:
 * ERR_CONFIG) into *out (caller wipes + frees). */
int config_read_secret(const char *path, char **out, char *err, size_t errlen);

void config_free(struct config *c);

#endif
