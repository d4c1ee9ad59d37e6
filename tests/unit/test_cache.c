/* test_cache.c: the private cache directory (discovery, JWKS, refresh stamp;
 * IDT-12 relies on it). Runs as any user; the ownership cases need root. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "err.h"
#include "tap.h"

static char base[] = "/tmp/test_cache_XXXXXX";
static char path[1024];

static const char *p(const char *rel)
{
	snprintf(path, sizeof(path), "%s/%s", base, rel);
	return path;
}

static void set_mtime(const char *file, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	utimensat(AT_FDCWD, file, ts, AT_SYMLINK_NOFOLLOW);
}

int main(void)
{
	char name[80], dir[256], other[80], *data = NULL;
	size_t len = 0;
	time_t now = time(NULL);

	if (!mkdtemp(base))
		return 1;
	snprintf(dir, sizeof(dir), "%s/c", base);

	T_CASE("cache_name: sha256(issuer) hex, 32 chars, then kind");
	T_EQ(cache_name("https://idp.example.com", "discovery", name, sizeof(name)), 0);
	T_STREQ(name, "6e2977ae82314db30124ba2850e1a8d5.discovery");
	T_EQ(cache_name("https://idp.example.com/", "discovery", other, sizeof(other)), 0);
	T_OK(strcmp(name, other) != 0);
	T_EQ(cache_name("https://idp.example.com", "discovery", name, 42), ERR_INVAL);
	T_EQ(cache_name("https://idp.example.com", "../x", name, sizeof(name)), ERR_INVAL);
	T_EQ(cache_name("https://idp.example.com", "A/B", name, sizeof(name)), ERR_INVAL);
	T_EQ(cache_name("https://idp.example.com", "", name, sizeof(name)), ERR_INVAL);

	T_CASE("cache_dir_check creates 0700 and accepts it again");
	T_EQ(cache_dir_check(dir, NULL), 0);
	struct stat st;
	T_EQ(stat(dir, &st), 0);
	T_EQ(st.st_mode & 07777, 0700);
	T_EQ(cache_dir_check(dir, NULL), 0);
	T_EQ(cache_dir_check("relative/dir", NULL), ERR_INVAL);
	T_EQ(cache_dir_check(p("missing/parent"), NULL), ERR_CACHE);

	T_CASE("cache_dir_check refuses group/world access, symlinks, files");
	chmod(dir, 0750);
	T_EQ(cache_dir_check(dir, NULL), ERR_CACHE);
	chmod(dir, 0701);
	T_EQ(cache_dir_check(dir, NULL), ERR_CACHE);
	chmod(dir, 0700);
	T_EQ(symlink(dir, p("link")), 0);
	T_EQ(cache_dir_check(p("link"), NULL), ERR_CACHE);
	close(open(p("file"), O_CREAT | O_WRONLY, 0600));
	T_EQ(cache_dir_check(p("file"), NULL), ERR_CACHE);

	if (geteuid() == 0) {
		T_CASE("cache_dir_check refuses a directory owned by someone else");
		T_EQ(mkdir(p("foreign"), 0700), 0);
		T_EQ(chown(p("foreign"), 65534, 65534), 0);
		T_EQ(cache_dir_check(p("foreign"), NULL), ERR_CACHE);
		T_EQ(cache_write(p("foreign"), name, "x", 1), ERR_CACHE);
		T_CASE("PAM-23 cache_dir_owned: the other account's dir passes for that account only");
		T_EQ(cache_dir_owned(p("foreign"), 65534, NULL), 0);
		T_EQ(cache_dir_owned(p("foreign"), 0, NULL), ERR_CACHE);
	}
	T_CASE("PAM-23 cache_dir_owned: owner, mode, symlink checked; nothing created");
	T_EQ(cache_dir_owned(dir, geteuid(), NULL), 0);
	T_EQ(cache_dir_owned(dir, geteuid() + 1, NULL), ERR_CACHE);
	chmod(dir, 0710);
	T_EQ(cache_dir_owned(dir, geteuid(), NULL), ERR_CACHE);
	chmod(dir, 0700);
	T_EQ(cache_dir_owned(p("link"), geteuid(), NULL), ERR_CACHE);
	T_EQ(cache_dir_owned(p("not-there"), geteuid(), NULL), ERR_CACHE);
	T_OK(access(p("not-there"), F_OK) != 0);
	T_EQ(cache_dir_owned("relative", geteuid(), NULL), ERR_INVAL);

	T_CASE("write then read back; 0600; no temp file left behind");
	T_EQ(cache_write(dir, name, "{\"a\":1}", 7), 0);
	T_EQ(cache_read(dir, name, 3600, now, 1024, &data, &len), 0);
	T_EQ(len, 7);
	T_STREQ(data, "{\"a\":1}");
	free(data);
	data = NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	T_EQ(stat(path, &st), 0);
	T_EQ(st.st_mode & 07777, 0600);
	T_EQ(cache_write(dir, name, "{\"a\":2}", 7), 0);
	T_EQ(cache_read(dir, name, 3600, now, 1024, &data, &len), 0);
	T_STREQ(data, "{\"a\":2}");
	free(data);
	data = NULL;
	{
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", dir);
		T_EQ(system(cmd), 0);
	}

	T_CASE("empty file is fine (refresh stamp)");
	T_EQ(cache_write(dir, "stamp", NULL, 0), 0);
	T_EQ(cache_read(dir, "stamp", 60, now, 10, &data, &len), 0);
	T_EQ(len, 0);
	free(data);
	data = NULL;

	T_CASE("missing, stale, future and oversize entries are not returned");
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	set_mtime(path, now); /* the write may have landed in the next second */
	T_EQ(cache_read(dir, "nothing.here", 3600, now, 1024, &data, &len), ERR_IO);
	T_EQ(cache_read(dir, name, 3600, now + 3600, 1024, &data, &len), ERR_IO);
	T_EQ(cache_read(dir, name, 3600, now + 3599, 1024, &data, &len), 0);
	free(data);
	data = NULL;
	set_mtime(path, now + 3600);
	T_EQ(cache_read(dir, name, 3600, now, 1024, &data, &len), ERR_IO);
	set_mtime(path, now);
	T_EQ(cache_read(dir, name, 3600, now, 6, &data, &len), ERR_TOO_LARGE);
	T_OK(data == NULL);

	T_CASE("cache_mtime");
	set_mtime(path, now - 100);
	T_EQ(cache_mtime(dir, name), now - 100);
	T_EQ(cache_mtime(dir, "nothing.here"), 0);

	T_CASE("unsafe entries are refused: symlink, group-writable, bad names");
	snprintf(path, sizeof(path), "%s/evil.jwks", dir);
	T_EQ(symlink("/etc/passwd", path), 0);
	T_EQ(cache_read(dir, "evil.jwks", 3600, now, 1 << 20, &data, &len), ERR_CACHE);
	T_EQ(cache_mtime(dir, "evil.jwks"), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	chmod(path, 0620);
	T_EQ(cache_read(dir, name, 3600, now, 1024, &data, &len), ERR_CACHE);
	chmod(path, 0600);
	T_EQ(cache_read(dir, "../c/x", 3600, now, 1024, &data, &len), ERR_INVAL);
	T_EQ(cache_write(dir, "../x", "x", 1), ERR_INVAL);
	T_EQ(cache_write(dir, ".hidden", "x", 1), ERR_INVAL);
	if (geteuid() == 0) {
		T_EQ(chown(path, 65534, 0), 0);
		T_EQ(cache_read(dir, name, 3600, now, 1024, &data, &len), ERR_CACHE);
		T_EQ(cache_mtime(dir, name), 0);
	}

	T_CASE("reads refuse a directory that became group-accessible");
	chmod(dir, 0770);
	T_EQ(cache_read(dir, "stamp", 60, now, 10, &data, &len), ERR_CACHE);
	T_EQ(cache_write(dir, "stamp", "", 0), ERR_CACHE);
	chmod(dir, 0700);

	{
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
		T_EQ(system(cmd), 0);
	}
	return t_done();
}
