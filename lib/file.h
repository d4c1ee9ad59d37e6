/* file.h: the one defensive file reader, for every file a program of this
 * project reads: the configuration (PAM module's helper, relay), the
 * map_file, client and relay secrets, and files named on the admin command
 * line. Like pam-u2f: no symlink, a regular file owned by root or by the
 * user the program runs as, not writable by group or others (secrets: not
 * accessible by them at all), a size cap; what was read is wiped on every
 * error. Errors name the file. */
#ifndef OP_FILE_H
#define OP_FILE_H

#include <stddef.h>

#define FILE_SECRET 1 /* flag: refuse any group/other permission (chmod 600) */

/* Reads path into a malloc'd, NUL-terminated buffer (*out, *outlen bytes
 * before the NUL). O_NOFOLLOW|O_CLOEXEC|O_NONBLOCK|O_NOCTTY; fstat of the
 * open file decides. ERR_CONFIG_PERM: a symlink, not a regular file, owned by
 * another uid than 0 or geteuid(), mode allows group/other write (with
 * FILE_SECRET: any group/other access). ERR_TOO_LARGE: more than max bytes.
 * ERR_IO: cannot open or read (errno kept), ERR_NOMEM. err (may be NULL)
 * gets "path: reason". */
int file_read(const char *path, int flags, size_t max, char **out, size_t *outlen, char *err,
	      size_t errlen);

#endif
