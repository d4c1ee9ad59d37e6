/* test_file.c: the defensive reader (lib/file.c) behind the configuration,
 * map_file, secrets and admin-command files (PAM-15): each refusal, and that
 * errors name the file. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "file.h"
#include "tap.h"

static char dir[] = "/tmp/test-file-XXXXXX";
static char err[512];

static void put(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	chmod(path, mode);
}

static int rd(const char *path, int flags, size_t max)
{
	char *out = NULL;
	size_t len = 0;
	int r = file_read(path, flags, max, &out, &len, err, sizeof(err));

	if (r == ERR_OK && (!out || out[len] != '\0'))
		r = 12345;
	if (r != ERR_OK && out)
		r = 54321; /* *out set on failure */
	free(out);
	return r;
}

int main(void)
{
	char f[128], link[128], sub[128], *out = NULL;
	size_t len = 0;

	if (!mkdtemp(dir))
		return 1;
	snprintf(f, sizeof(f), "%s/a.conf", dir);
	snprintf(link, sizeof(link), "%s/link.conf", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);

	T_CASE("file_read: a good file, NUL-terminated, length without the NUL");
	put(f, "issuer = x\n", 0644);
	T_EQ(file_read(f, 0, 100, &out, &len, err, sizeof(err)), ERR_OK);
	T_STREQ(out, "issuer = x\n");
	T_EQ(len, 11);
	T_STREQ(err, "");
	free(out);
	out = NULL;
	T_EQ(rd(f, 0, 11), ERR_OK); /* exactly max */
	chmod(f, 0600);
	T_EQ(rd(f, FILE_SECRET, 100), ERR_OK);
	chmod(f, 0400);
	T_EQ(rd(f, FILE_SECRET, 100), ERR_OK);

	T_CASE("file_read: too big refused, the file named");
	chmod(f, 0644);
	T_EQ(rd(f, 0, 10), ERR_TOO_LARGE);
	T_OK(strstr(err, "/a.conf: larger than 10 bytes") != NULL);

	T_CASE("file_read: group or world writable refused; secrets: any group/other access");
	chmod(f, 0664);
	T_EQ(rd(f, 0, 100), ERR_CONFIG_PERM);
	T_OK(strstr(err, "/a.conf: mode 0664: must not be writable by group or others") != NULL);
	chmod(f, 0646);
	T_EQ(rd(f, 0, 100), ERR_CONFIG_PERM);
	chmod(f, 0644);
	T_EQ(rd(f, FILE_SECRET, 100), ERR_CONFIG_PERM);
	T_OK(strstr(err, "must not be accessible by group or others (chmod 600)") != NULL);
	chmod(f, 0640);
	T_EQ(rd(f, FILE_SECRET, 100), ERR_CONFIG_PERM);
	chmod(f, 0601);
	T_EQ(rd(f, FILE_SECRET, 100), ERR_CONFIG_PERM);
	chmod(f, 0644);

	T_CASE("file_read: a symlink refused, even to a good file");
	T_EQ(symlink(f, link), 0);
	T_EQ(rd(link, 0, 100), ERR_CONFIG_PERM);
	T_OK(strstr(err, "/link.conf: is a symbolic link") != NULL);
	unlink(link);

	T_CASE("file_read: not a regular file (directory, device, FIFO) refused");
	T_EQ(mkdir(sub, 0755), 0);
	T_EQ(rd(sub, 0, 100), ERR_CONFIG_PERM);
	T_OK(strstr(err, "/sub: not a regular file") != NULL);
	rmdir(sub);
	T_EQ(rd("/dev/null", 0, 100), ERR_CONFIG_PERM);
	T_EQ(mkfifo(sub, 0600), 0);
	T_EQ(rd(sub, 0, 100), ERR_CONFIG_PERM); /* O_NONBLOCK: no hang on a FIFO */
	unlink(sub);

	T_CASE("file_read: missing file is ERR_IO, named");
	T_EQ(rd("/nonexistent/x.conf", 0, 100), ERR_IO);
	T_OK(strstr(err, "/nonexistent/x.conf: cannot open") != NULL);

	T_CASE("file_read: bad arguments");
	T_EQ(file_read(NULL, 0, 10, &out, &len, err, sizeof(err)), ERR_INVAL);
	T_EQ(file_read(f, 0, 10, NULL, &len, NULL, 0), ERR_INVAL);

	if (geteuid() == 0) {
		T_CASE("file_read: owned by another user refused (root only)");
		T_EQ(chown(f, 65534, 65534), 0);
		T_EQ(rd(f, 0, 100), ERR_CONFIG_PERM);
		T_OK(strstr(err, "/a.conf: owned by uid 65534, must be owned by root") != NULL);
		T_EQ(chown(f, 0, 0), 0);
		T_EQ(rd(f, 0, 100), ERR_OK);
	} else {
		printf("skip: owner check needs root\n");
	}
	unlink(f);
	rmdir(dir);
	return t_done();
}
