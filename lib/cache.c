/* cache.c: small files in a private cache directory. */
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "hash.h"

#define CACHE_NAME_MAX 64

/* Opens dir as a directory without following a symlink in its last
 * component, and checks owner and mode. */
static int open_dir_of(const char *dir, uid_t owner, const struct log *log, int *out)
{
	struct stat st;
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		log_msg(log, LOG_WARNING, "cache: %s: %s", dir,
			errno == ELOOP || errno == ENOTDIR ? "not a directory (or a symlink)"
							   : strerror(errno));
		return ERR_CACHE;
	}
	if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
		log_msg(log, LOG_WARNING, "cache: %s: not a directory", dir);
		close(fd);
		return ERR_CACHE;
	}
	if (st.st_uid != owner) {
		log_msg(log, LOG_WARNING, "cache: %s: owned by uid %lu, not %lu", dir,
			(unsigned long)st.st_uid, (unsigned long)owner);
		close(fd);
		return ERR_CACHE;
	}
	if (st.st_mode & 077) {
		log_msg(log, LOG_WARNING,
			"cache: %s: mode %04o, must not be group/world accessible", dir,
			(unsigned)(st.st_mode & 07777));
		close(fd);
		return ERR_CACHE;
	}
	*out = fd;
	return ERR_OK;
}

static int open_dir(const char *dir, const struct log *log, int *out)
{
	return open_dir_of(dir, geteuid(), log, out);
}

int cache_dir_owned(const char *dir, uid_t owner, const struct log *log)
{
	int fd, r;

	if (!dir || dir[0] != '/')
		return ERR_INVAL;
	if ((r = open_dir_of(dir, owner, log, &fd)) != 0)
		return r;
	close(fd);
	return ERR_OK;
}

/* Only names made by cache_name (or the same alphabet): no '/', no "..". */
static int name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > CACHE_NAME_MAX || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

int cache_dir_check(const char *dir, const struct log *log)
{
	int fd, r;

	if (!dir || dir[0] != '/')
		return ERR_INVAL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_msg(log, LOG_WARNING, "cache: cannot create %s: %s", dir, strerror(errno));
		return ERR_CACHE;
	}
	if ((r = open_dir(dir, log, &fd)) != 0)
		return r;
	close(fd);
	return ERR_OK;
}

int cache_name(const char *issuer, const char *kind, char *out, size_t outlen)
{
	char buf[CACHE_NAME_MAX + 1];
	size_t klen;
	int r;

	if (!issuer || !kind || !out)
		return ERR_INVAL;
	klen = strlen(kind);
	if (klen == 0 || 32 + 1 + klen > CACHE_NAME_MAX || outlen < 32 + 1 + klen + 1)
		return ERR_INVAL;
	if ((r = hash_hex(issuer, strlen(issuer), 16, buf)) != 0)
		return r;
	buf[32] = '.';
	memcpy(buf + 33, kind, klen + 1);
	if (!name_ok(buf))
		return ERR_INVAL;
	memcpy(out, buf, 33 + klen + 1);
	return ERR_OK;
}

int cache_read(const char *dir, const char *name, long ttl, time_t now, size_t max, char **out,
	       size_t *outlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int dfd = -1, fd = -1, r = ERR_IO;

	if (!dir || !name_ok(name) || !out || !outlen || ttl < 0)
		return ERR_INVAL;
	if ((r = open_dir(dir, NULL, &dfd)) != 0)
		return r;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = errno == ELOOP ? ERR_CACHE : ERR_IO;
		goto out;
	}
	r = ERR_CACHE;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022))
		goto out;
	/* stale, or from the future (a clock that jumped): read it as missing */
	r = ERR_IO;
	if (st.st_mtime > now + 60 || now - st.st_mtime >= ttl)
		goto out;
	r = ERR_TOO_LARGE;
	if ((size_t)st.st_size > max)
		goto out;
	r = ERR_NOMEM;
	if (!(buf = malloc((size_t)st.st_size + 1)))
		goto out;
	r = ERR_IO;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*outlen = got;
	buf = NULL;
	r = ERR_OK;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	close(dfd);
	return r;
}

int cache_write(const char *dir, const char *name, const char *data, size_t len)
{
	char tmp[CACHE_NAME_MAX + 16];
	size_t off = 0;
	int dfd = -1, fd = -1, r, made = 0;

	if (!dir || !name_ok(name) || (len && !data))
		return ERR_INVAL;
	if ((r = open_dir(dir, NULL, &dfd)) != 0)
		return r;
	r = ERR_IO;
	for (int tries = 0; tries < 16 && fd < 0; tries++) {
		unsigned rnd;
		if (getentropy(&rnd, sizeof(rnd)) != 0)
			goto out;
		snprintf(tmp, sizeof(tmp), ".%s.%08x", name, rnd);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			goto out;
	}
	if (fd < 0)
		goto out;
	made = 1;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (renameat(dfd, tmp, dfd, name) != 0)
		goto out;
	made = 0;
	r = ERR_OK;
out:
	if (fd >= 0)
		close(fd);
	if (made)
		unlinkat(dfd, tmp, 0);
	close(dfd);
	return r;
}

time_t cache_mtime(const char *dir, const char *name)
{
	struct stat st;
	int dfd;
	time_t t = 0;

	if (!dir || !name_ok(name) || open_dir(dir, NULL, &dfd) != 0)
		return 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    st.st_uid == geteuid())
		t = st.st_mtime;
	close(dfd);
	return t;
}
