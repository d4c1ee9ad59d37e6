/* cache.h: small files in a root-owned 0700 cache directory (discovery,
 * JWKS, the JWKS refresh timestamp). Every login is a new process, so this is
 * the only memory between logins. Names are derived from the issuer by
 * SHA-256, never from token input. */
#ifndef OP_CACHE_H
#define OP_CACHE_H

#include <stddef.h>
#include <time.h>

#include "log.h"

/* Creates dir (0700) if missing; refuses (ERR_CACHE) a dir that is a
 * symlink, not a directory, not owned by the effective uid, or group/world
 * accessible. */
int cache_dir_check(const char *dir, const struct log *log);

/* "<sha256(issuer) hex, 32 chars>.<kind>" into out. */
int cache_name(const char *issuer, const char *kind, char *out, size_t outlen);

/* Reads dir/name if it is a regular file owned by us, younger than ttl
 * seconds at now, at most max bytes. ERR_IO when missing or stale. */
int cache_read(const char *dir, const char *name, long ttl, time_t now, size_t max,
	       char **out, size_t *outlen);

/* Writes atomically (temp file 0600 + rename). */
int cache_write(const char *dir, const char *name, const char *data, size_t len);

/* Modification time of dir/name, or 0 when missing. */
time_t cache_mtime(const char *dir, const char *name);

#endif
