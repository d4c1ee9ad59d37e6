/* cache.h: small files in a 0700 cache directory owned by helper_user (PAM-23) (discovery,
 * JWKS, the JWKS refresh timestamp). Every login is a new process, so this is
 * the only memory between logins. Names are derived from the issuer (or
 * issuer + jwks_uri) by SHA-256, never from token input. An entry is as
 * trusted as a fresh download: callers parse and check it the same way. */
#ifndef OP_CACHE_H
#define OP_CACHE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "log.h"

/* dir must be absolute (ERR_INVAL). Creates it (0700, parent must exist) if
 * missing; refuses (ERR_CACHE, logged at LOG_WARNING) a dir that is a
 * symlink, not a directory, not owned by the effective uid, or group/world
 * accessible. Every other call repeats the owner/mode check. */
int cache_dir_check(const char *dir, const struct log *log);

/* The same checks for a dir that another account uses (the login runs as
 * helper_user, PAM-23; doctor and check run as root): owned by owner, mode
 * without group/other bits, no symlink. Never creates it. */
int cache_dir_owned(const char *dir, uid_t owner, const struct log *log);

/* "<first 128 bits of sha256(issuer), 32 hex chars>.<kind>" into out;
 * kind is [a-z0-9.-] (ERR_INVAL otherwise, or when outlen is too small). */
int cache_name(const char *issuer, const char *kind, char *out, size_t outlen);

/* Reads dir/name if it is a regular file (no symlink) owned by us, not
 * group/world-writable, younger than ttl seconds at now (an mtime more than
 * 60 s in the future counts as stale), at most max bytes. *out is
 * malloc'd and NUL-terminated. ERR_IO when missing or stale, ERR_CACHE when
 * unsafe, ERR_TOO_LARGE over max. */
int cache_read(const char *dir, const char *name, long ttl, time_t now, size_t max, char **out,
	       size_t *outlen);

/* Writes atomically (temp file 0600 in dir, fsync, rename). len may be 0. */
int cache_write(const char *dir, const char *name, const char *data, size_t len);

/* Modification time of dir/name, or 0 when missing or unsafe. */
time_t cache_mtime(const char *dir, const char *name);

#endif
