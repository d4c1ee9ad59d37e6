/* test_claims.c: ID token -> local account (IDT-30, PAM-16). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "claims.h"
#include "err.h"
#include "json.h"
#include "log_capture.h"
#include "tap.h"

static struct passwd pw;

static struct passwd *fake_getpwnam(const char *name)
{
	static const struct {
		const char *name;
		uid_t uid;
	} users[] = { { "alice", 1000 }, { "bob", 1001 }, { "root", 0 }, { "a.b-c_d", 1002 } };

	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
		if (strcmp(users[i].name, name) == 0) {
			memset(&pw, 0, sizeof(pw));
			pw.pw_name = (char *)users[i].name;
			pw.pw_uid = users[i].uid;
			return &pw;
		}
	return NULL;
}

static int map(const char *json, struct claims_policy *p, char *user)
{
	const struct log lg = { logcap_sink, NULL, 0 };
	cJSON *j = NULL;
	int r;

	if (json_parse(json, strlen(json), 65536, 16, &j) != 0)
		return 12345;
	p->getpwnam = fake_getpwnam;
	user[0] = '\0';
	logcap_reset();
	r = claims_map_user(j, p, &lg, user, CLAIMS_USER_MAX + 1);
	cJSON_Delete(j);
	return r;
}

int main(void)
{
	char user[CLAIMS_USER_MAX + 1];
	struct claims_policy p = { 0 };
	char dir[] = "/tmp/claims-XXXXXX", path[64];
	FILE *f;

	T_CASE("default: preferred_username");
	T_EQ(map("{\"preferred_username\":\"alice\"}", &p, user), 0);
	T_STREQ(user, "alice");
	T_CASE("valid user name grammar");
	T_EQ(map("{\"preferred_username\":\"a.b-c_d\"}", &p, user), 0);
	T_OK(claims_valid_username("_x") && !claims_valid_username("1x") &&
	     !claims_valid_username("a b") && !claims_valid_username("") &&
	     !claims_valid_username("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") &&
	     claims_valid_username("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));

	T_CASE("IDT-30 claim missing, empty, wrong type");
	T_EQ(map("{\"sub\":\"x\"}", &p, user), ERR_MAP_CLAIM);
	T_EQ(map("{\"preferred_username\":\"\"}", &p, user), ERR_MAP_CLAIM);
	T_EQ(map("{\"preferred_username\":42}", &p, user), ERR_MAP_CLAIM);
	T_EQ(user[0], 0);

	T_CASE("PAM-16 Bob is not bob without lowercase; homoglyph and spaces refused");
	T_EQ(map("{\"preferred_username\":\"Bob\"}", &p, user), ERR_MAP_NAME);
	T_EQ(map("{\"preferred_username\":\"bob \"}", &p, user), ERR_MAP_NAME);
	T_EQ(map("{\"preferred_username\":\"b\xd0\xbe"
		 "b\"}",
		 &p, user),
	     ERR_MAP_NAME);
	T_EQ(map("{\"preferred_username\":\"../etc\"}", &p, user), ERR_MAP_NAME);

	T_CASE("PAM-16 IDT-30 upper case after the first character refused (bOB, boB)");
	/* a name-service lookup that ignores case (LDAP, winbind) would turn
	 * bOB into bob: the grammar must refuse it before getpwnam is asked */
	T_EQ(map("{\"preferred_username\":\"bOB\"}", &p, user), ERR_MAP_NAME);
	T_EQ(map("{\"preferred_username\":\"boB\"}", &p, user), ERR_MAP_NAME);
	T_EQ(map("{\"preferred_username\":\"a.b-c_D\"}", &p, user), ERR_MAP_NAME);
	T_EQ(user[0], 0);
	for (char c = 'A'; c <= 'Z'; c++) {
		char name[3] = { 'a', c, 0 };
		T_OK(!claims_valid_username(name));
	}
	T_OK(claims_valid_username("az") && claims_valid_username("a0") &&
	     !claims_valid_username("a@") && !claims_valid_username("a`") &&
	     !claims_valid_username("a["));
	p.lowercase = 1;
	T_EQ(map("{\"preferred_username\":\"bOB\"}", &p, user), 0);
	T_STREQ(user, "bob");
	p.lowercase = 0;
	p.lowercase = 1;
	T_EQ(map("{\"preferred_username\":\"Bob\"}", &p, user), 0);
	T_STREQ(user, "bob");
	p.lowercase = 0;

	T_CASE("IDT-30 no such account; uid 0 without allow_root");
	T_EQ(map("{\"preferred_username\":\"mallory\"}", &p, user), ERR_MAP_NO_USER);
	T_EQ(map("{\"preferred_username\":\"root\"}", &p, user), ERR_MAP_ROOT);
	p.allow_root = 1;
	T_EQ(map("{\"preferred_username\":\"root\"}", &p, user), 0);
	p.allow_root = 0;

	T_CASE("IDT-30 email needs email_verified true");
	p.username_claim = "email";
	p.strip_domain = "example.org";
	T_EQ(map("{\"email\":\"alice@example.org\",\"email_verified\":true}", &p, user), 0);
	T_STREQ(user, "alice");
	T_EQ(map("{\"email\":\"alice@example.org\"}", &p, user), ERR_MAP_EMAIL);
	T_EQ(map("{\"email\":\"alice@example.org\",\"email_verified\":false}", &p, user),
	     ERR_MAP_EMAIL);
	T_EQ(map("{\"email\":\"alice@example.org\",\"email_verified\":\"true\"}", &p, user),
	     ERR_MAP_EMAIL);

	T_CASE("strip_domain strips only that domain");
	T_EQ(map("{\"email\":\"alice@evil.org\",\"email_verified\":true}", &p, user),
	     ERR_MAP_DOMAIN);
	T_EQ(map("{\"email\":\"alice@sub.example.org\",\"email_verified\":true}", &p, user),
	     ERR_MAP_DOMAIN);
	T_EQ(map("{\"email\":\"alice@example.org.evil\",\"email_verified\":true}", &p, user),
	     ERR_MAP_DOMAIN);
	T_EQ(map("{\"email\":\"alice\",\"email_verified\":true}", &p, user), ERR_MAP_DOMAIN);
	T_EQ(map("{\"email\":\"@example.org\",\"email_verified\":true}", &p, user), ERR_MAP_DOMAIN);
	T_EQ(map("{\"email\":\"bob@alice@example.org\",\"email_verified\":true}", &p, user),
	     ERR_MAP_NAME);
	p.username_claim = NULL;
	p.strip_domain = NULL;

	T_CASE("allowed_groups: whole values only");
	p.allowed_groups = "wheel, admins";
	T_EQ(map("{\"preferred_username\":\"alice\",\"groups\":[\"staff\",\"wheel\"]}", &p, user),
	     0);
	T_EQ(map("{\"preferred_username\":\"alice\",\"groups\":[\"staff\",\"wheels\"]}", &p, user),
	     ERR_MAP_GROUP);
	T_EQ(map("{\"preferred_username\":\"alice\",\"groups\":[\"whee\"]}", &p, user),
	     ERR_MAP_GROUP);
	T_EQ(map("{\"preferred_username\":\"alice\",\"groups\":\"wheel\"}", &p, user),
	     ERR_MAP_GROUP);
	T_EQ(map("{\"preferred_username\":\"alice\"}", &p, user), ERR_MAP_GROUP);
	p.groups_claim = "roles";
	T_EQ(map("{\"preferred_username\":\"alice\",\"roles\":[\"admins\"],\"groups\":[]}", &p,
		 user),
	     0);
	p.groups_claim = NULL;
	p.allowed_groups = NULL;

	T_CASE("map_file keyed by sub");
	T_OK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/map", dir);
	f = fopen(path, "w");
	fprintf(f,
		"# sub -> user\nsub-alice alice\nsub-bob   bob # trailing comment\n\nsub-root root\n");
	fclose(f);
	chmod(path, 0644);
	p.map_file = path;
	p.username_claim = "sub";
	T_EQ(map("{\"sub\":\"sub-alice\",\"preferred_username\":\"bob\"}", &p, user), 0);
	T_STREQ(user, "alice");
	T_EQ(map("{\"sub\":\"sub-bob\"}", &p, user), 0);
	T_STREQ(user, "bob");
	T_EQ(map("{\"sub\":\"sub-carol\"}", &p, user), ERR_MAP_FILE);
	T_EQ(map("{\"sub\":\"sub-root\"}", &p, user), ERR_MAP_ROOT);
	T_EQ(map("{\"sub\":\"sub-ali\"}", &p, user), ERR_MAP_FILE);
	T_CASE("map_file unsafe or malformed");
	chmod(path, 0666);
	T_EQ(map("{\"sub\":\"sub-alice\"}", &p, user), ERR_MAP_FILE);
	chmod(path, 0644);
	f = fopen(path, "a");
	fprintf(f, "sub-alice bob\n");
	fclose(f);
	T_EQ(map("{\"sub\":\"sub-alice\"}", &p, user), ERR_MAP_FILE);
	f = fopen(path, "w");
	fprintf(f, "sub-alice Alice\n");
	fclose(f);
	T_EQ(map("{\"sub\":\"sub-alice\"}", &p, user), ERR_MAP_FILE);
	f = fopen(path, "w");
	fprintf(f, "sub-alice alice extra\n");
	fclose(f);
	T_EQ(map("{\"sub\":\"sub-alice\"}", &p, user), ERR_MAP_FILE);
	T_CASE("map_file: the bad line's number counts blank and comment lines");
	f = fopen(path, "w");
	fprintf(f, "sub-alice alice\n\n# comment\nsub-bob bob extra\nsub-carol carol\n");
	fclose(f);
	T_EQ(map("{\"sub\":\"sub-carol\"}", &p, user), ERR_MAP_FILE);
	T_OK(strstr(logcap.last, "/map:4: expected") != NULL);
	f = fopen(path, "w");
	fprintf(f, "\n\n\nBad\n");
	fclose(f);
	T_EQ(map("{\"sub\":\"sub-alice\"}", &p, user), ERR_MAP_FILE);
	T_OK(strstr(logcap.last, "/map:4: expected") != NULL);
	f = fopen(path, "w");
	fprintf(f, "sub-alice alice\n\n\r\n\nsub-alice alice\n");
	fclose(f);
	T_EQ(map("{\"sub\":\"sub-alice\"}", &p, user), ERR_MAP_FILE);
	T_OK(strstr(logcap.last, "/map:5: sub-alice listed twice") != NULL);
	char link[80];
	snprintf(link, sizeof(link), "%s/link", dir);
	T_EQ(symlink(path, link), 0);
	p.map_file = link;
	T_EQ(map("{\"sub\":\"sub-alice\"}", &p, user), ERR_MAP_FILE);
	unlink(link);
	p.map_file = "/nonexistent/map";
	T_EQ(map("{\"sub\":\"sub-alice\"}", &p, user), ERR_MAP_FILE);
	unlink(path);
	T_CASE("PAM-23 map_text: the map read before the privilege drop, not the file now");
	{
		char *text = NULL, *again = NULL;
		f = fopen(path, "w");
		fprintf(f, "sub-alice alice\n");
		fclose(f);
		chmod(path, 0644);
		T_EQ(claims_read_map(path, NULL, &text), 0);
		unlink(path);
		p.map_file = path; /* gone now: only the text can answer */
		p.map_text = text;
		T_EQ(map("{\"sub\":\"sub-alice\"}", &p, user), 0);
		T_STREQ(user, "alice");
		T_EQ(map("{\"sub\":\"sub-bob\"}", &p, user), ERR_MAP_FILE);
		p.map_text = NULL;
		T_EQ(map("{\"sub\":\"sub-alice\"}", &p, user), ERR_MAP_FILE);
		T_EQ(claims_read_map(path, NULL, &again), ERR_MAP_FILE);
		T_OK(again == NULL);
		free(text);
	}
	rmdir(dir);
	return t_done();
}
