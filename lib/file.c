/* file.c: the defensive file reader. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "secret.h"

static void file_err(char *err, size_t errlen, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void file_err(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: %s", path, msg);
}

int file_read(const char *path, int flags, size_t max, char **out, size_t *outlen, char *err,
	      size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, r, e;
	int secret = (flags & FILE_SECRET) != 0;
	mode_t bad = secret ? 077 : 022;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !out || !outlen || max >= SIZE_MAX)
		return ERR_INVAL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e == ELOOP) {
			file_err(err, errlen, path, "is a symbolic link (not allowed)");
			return ERR_CONFIG_PERM;
		}
		file_err(err, errlen, path, "cannot open: %s", strerror(e));
		errno = e;
		return ERR_IO;
	}
	r = ERR_CONFIG_PERM;
	if (fstat(fd, &st) != 0) {
		e = errno;
		file_err(err, errlen, path, "cannot stat: %s", strerror(e));
		r = ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		file_err(err, errlen, path, "not a regular file");
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		file_err(err, errlen, path, "owned by uid %lu, must be owned by root or uid %lu",
			 (unsigned long)st.st_uid, (unsigned long)geteuid());
		goto out;
	}
	if (st.st_mode & bad) {
		file_err(err, errlen, path, "mode %04o: must not be %s by group or others%s",
			 (unsigned)(st.st_mode & 07777), secret ? "accessible" : "writable",
			 secret ? " (chmod 600)" : "");
		goto out;
	}
	if ((size_t)st.st_size > max) {
		file_err(err, errlen, path, "larger than %zu bytes", max);
		r = ERR_TOO_LARGE;
		goto out;
	}
	r = ERR_NOMEM;
	if (!(buf = malloc(max + 1)))
		goto out;
	for (;;) {
		ssize_t n = read(fd, buf + got, max + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			file_err(err, errlen, path, "read error: %s", strerror(e));
			r = ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > max) {
			file_err(err, errlen, path, "larger than %zu bytes", max);
			r = ERR_TOO_LARGE;
			goto out;
		}
	}
	buf[got] = '\0';
	*out = buf;
	*outlen = got;
	buf = NULL;
	r = ERR_OK;
out:
	secret_free(buf, max + 1); /* wiped on every error: it may hold a secret */
	close(fd);
	return r;
}
