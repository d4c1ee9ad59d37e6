/* claims.c: ID token -> local account. */
#include "claims.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "json.h"

int claims_valid_username(const char *s)
{
	size_t n = 0;

	if (!s || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (n = 1; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return 0;
	}
	return n <= CLAIMS_USER_MAX;
}

int claims_read_map(const char *path, const struct log *log, char **out)
{
	char err[512];
	size_t len = 0;
	int r = config_read_file(path, CLAIMS_MAP_MAX_BYTES, out, &len, err, sizeof(err));

	if (r != 0) {
		log_msg(log, LOG_ERR, "map_file: %s", err);
		return r == ERR_NOMEM ? r : ERR_MAP_FILE;
	}
	return ERR_OK;
}

/* "claim_value local_user" per line, '#' comments; first match wins, but a
 * key listed twice makes the whole file invalid (ambiguous). text: the
 * file's contents read earlier (claims_read_map), or NULL to read path. */
static int map_lookup(const char *path, const char *text, const char *key, const struct log *log,
		      char *user, size_t userlen)
{
	char *buf = NULL, *line, *next;
	int r, found = 0, lineno = 0;

	if (text && !(buf = strdup(text)))
		return ERR_NOMEM;
	if (!text && (r = claims_read_map(path, log, &buf)) != 0)
		return r;
	r = ERR_OK;
	/* line by line, blank ones included, so lineno is the file's line */
	for (line = buf; line; line = next) {
		char *k, *v, *extra, *s2 = NULL;
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		lineno++;
		line[strcspn(line, "#")] = '\0';
		if (!(k = strtok_r(line, " \t\r", &s2)))
			continue;
		v = strtok_r(NULL, " \t\r", &s2);
		extra = strtok_r(NULL, " \t\r", &s2);
		if (!v || extra || !claims_valid_username(v)) {
			log_msg(log, LOG_ERR, "map_file %s:%d: expected \"claim_value local_user\"",
				path, lineno);
			r = ERR_MAP_FILE;
			break;
		}
		if (strcmp(k, key) != 0)
			continue;
		if (found) {
			log_msg(log, LOG_ERR, "map_file %s:%d: %.64s listed twice", path, lineno,
				key);
			r = ERR_MAP_FILE;
			break;
		}
		found = 1;
		snprintf(user, userlen, "%s", v);
	}
	free(buf);
	if (r == ERR_OK && !found) {
		log_msg(log, LOG_WARNING, "login refused: %.128s has no entry in map_file %s", key,
			path);
		r = ERR_MAP_FILE;
	}
	return r;
}

/* Is one of the comma/space separated names in `allowed` a whole value of
 * the groups array? */
static int in_groups(const cJSON *groups, const char *allowed)
{
	const cJSON *g;
	const char *p = allowed;

	while (*p) {
		size_t n;
		p += strspn(p, " ,\t");
		n = strcspn(p, " ,\t");
		if (n == 0)
			break;
		cJSON_ArrayForEach(g, groups)
		{
			if (cJSON_IsString(g) && g->valuestring && strlen(g->valuestring) == n &&
			    memcmp(g->valuestring, p, n) == 0)
				return 1;
		}
		p += n;
	}
	return 0;
}

int claims_map_user(const cJSON *payload, const struct claims_policy *p, const struct log *log,
		    char *user, size_t userlen)
{
	const char *claim = p && p->username_claim ? p->username_claim : "preferred_username";
	const char *gclaim = p && p->groups_claim ? p->groups_claim : "groups";
	struct passwd *(*lookup)(const char *) = p && p->getpwnam ? p->getpwnam : getpwnam;
	char name[256];
	const char *value = NULL;
	struct passwd *pw;
	int r;

	if (!payload || !p || !user || userlen < CLAIMS_USER_MAX + 1)
		return ERR_INVAL;
	if (json_get_string(payload, claim, &value) != 0 || !value || !value[0]) {
		log_msg(log, LOG_WARNING, "login refused: claim %s missing or not a string", claim);
		return ERR_MAP_CLAIM;
	}
	if (strcmp(claim, "email") == 0) {
		int verified = 0, present = 0;
		if (json_get_bool(payload, "email_verified", &verified, &present) != 0 ||
		    !present || !verified) {
			log_msg(log, LOG_WARNING,
				"login refused: email %.128s is not verified (email_verified)",
				value);
			return ERR_MAP_EMAIL;
		}
	}
	if (strlen(value) >= sizeof(name)) {
		log_msg(log, LOG_WARNING, "login refused: claim %s too long", claim);
		return ERR_MAP_NAME;
	}
	snprintf(name, sizeof(name), "%s", value);
	if (p->map_file) {
		if ((r = map_lookup(p->map_file, p->map_text, value, log, name, sizeof(name))) != 0)
			return r;
	} else if (p->strip_domain && p->strip_domain[0]) {
		char *at = strrchr(name, '@');
		if (!at || strcmp(at + 1, p->strip_domain) != 0 || at == name) {
			log_msg(log, LOG_WARNING, "login refused: %.128s is not in domain %s",
				value, p->strip_domain);
			return ERR_MAP_DOMAIN;
		}
		*at = '\0';
	}
	if (p->lowercase)
		for (char *c = name; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
	if (!claims_valid_username(name)) {
		log_msg(log, LOG_WARNING, "login refused: %.128s is not a valid local user name",
			name);
		return ERR_MAP_NAME;
	}
	if (!(pw = lookup(name))) {
		log_msg(log, LOG_WARNING, "login refused: no local account %s", name);
		return ERR_MAP_NO_USER;
	}
	if (pw->pw_uid == 0 && !p->allow_root) {
		log_msg(log, LOG_WARNING, "login refused: %s has uid 0 and allow_root is not set",
			name);
		return ERR_MAP_ROOT;
	}
	if (p->allowed_groups && p->allowed_groups[0]) {
		const cJSON *groups = json_get(payload, gclaim);
		if (!cJSON_IsArray(groups) || !in_groups(groups, p->allowed_groups)) {
			log_msg(log, LOG_WARNING,
				"login refused: %s is in none of the allowed groups (%s)", name,
				gclaim);
			return ERR_MAP_GROUP;
		}
	}
	snprintf(user, userlen, "%s", name);
	return ERR_OK;
}
