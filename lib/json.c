/* json.c: strict JSON helpers. */
#include "json.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "text.h"

int json_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned long cp;
		uint64_t w;

		/* 8 ASCII bytes without a NUL at a time (most of every document) */
		if (len - i >= 8) {
			memcpy(&w, s + i, 8);
			if (!(w & 0x8080808080808080ULL) &&
			    !((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL)) {
				i += 8;
				continue;
			}
		}
		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((n = text_utf8_decode(s + i, len - i, &cp)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;

	for (int k = 0; k < 4; k++) {
		char c = s[k];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* Refuses every escape cJSON would decode into something else than the
 * text says: "\u0000" (any hex case), a \u without four hex digits (cJSON
 * reads "\uZZZZ" as U+0000), a lone or reversed UTF-16 surrogate, and any
 * other letter after a backslash. A backslash outside strings is a syntax
 * error cJSON reports anyway. */
static int has_bad_escape(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		const char *bs = memchr(s + i, '\\', len - i);
		unsigned u, lo;

		if (!bs)
			return 0;
		i = (size_t)(bs - s);
		if (i + 1 >= len)
			return 1;
		switch (s[i + 1]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			i++; /* skip the escaped character (handles "\\\\u0000") */
			continue;
		case 'u':
			break;
		default:
			return 1;
		}
		if (i + 6 > len || hex4(s + i + 2, &u) != 0 || u == 0 ||
		    (u >= 0xdc00 && u <= 0xdfff))
			return 1;
		i += 5;
		if (u >= 0xd800 && u <= 0xdbff) {
			if (i + 7 > len || s[i + 1] != '\\' || s[i + 2] != 'u' ||
			    hex4(s + i + 3, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
				return 1;
			i += 6;
		}
	}
	return 0;
}

/* Compares ignoring ASCII case only, whatever the locale (strcasecmp would
 * follow LC_CTYPE for bytes >= 0x80 in a single-byte locale). */
static int ascii_casecmp(const char *a, const char *b)
{
	unsigned char ca, cb;

	do {
		ca = (unsigned char)*a++;
		cb = (unsigned char)*b++;
		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
	} while (ca && ca == cb);
	return (int)ca - (int)cb;
}

/* A member name and a hash of its ASCII-folded bytes: sorting on the hash
 * first keeps most comparisons to one integer compare. */
struct member_key {
	uint64_t h;
	const char *name;
};

static uint64_t fold_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		h = (h ^ c) * 0x100000001b3ULL;
	}
	return h;
}

static int member_cmp(const void *pa, const void *pb)
{
	const struct member_key *a = pa, *b = pb;

	if (a->h != b->h)
		return a->h < b->h ? -1 : 1;
	return ascii_casecmp(a->name, b->name);
}

/* One object's members: no nameless member, no two names equal ignoring
 * ASCII case, at most JSON_MAX_MEMBERS. Sorted by (hash, folded name), equal
 * names end up next to each other: O(n log n) comparisons whatever names an
 * attacker picks (crafted hash collisions only fall back to comparing the
 * names; a hash table would need a secret seed to resist them). A duplicate
 * among the first JSON_MAX_MEMBERS members is ERR_JSON_DUP, as with the
 * former pairwise scan; past that, ERR_JSON. */
static int check_members(const cJSON *obj)
{
	struct member_key small[16], *v = small;
	const cJSON *a;
	size_t n = 0, m;
	int r = ERR_OK;

	for (a = obj->child; a; a = a->next) {
		if (!a->string)
			return ERR_JSON;
		n++;
	}
	m = n > JSON_MAX_MEMBERS ? JSON_MAX_MEMBERS : n;
	if (m < 2)
		return n > JSON_MAX_MEMBERS ? ERR_JSON : ERR_OK;
	if (m > sizeof(small) / sizeof(small[0]) && !(v = malloc(m * sizeof(*v))))
		return ERR_NOMEM;
	a = obj->child;
	for (size_t i = 0; i < m; i++, a = a->next) {
		v[i].h = fold_hash(a->string);
		v[i].name = a->string;
	}
	qsort(v, m, sizeof(*v), member_cmp);
	for (size_t i = 1; i < m && r == ERR_OK; i++)
		if (member_cmp(&v[i - 1], &v[i]) == 0)
			r = ERR_JSON_DUP;
	if (r == ERR_OK && n > JSON_MAX_MEMBERS)
		r = ERR_JSON;
	if (v != small)
		free(v);
	return r;
}

static int check_tree(const cJSON *node, int depth, int max_depth)
{
	const cJSON *a;
	int r;

	if ((cJSON_IsObject(node) || cJSON_IsArray(node)) && depth > max_depth)
		return ERR_JSON_DEPTH; /* depth counts containers: {} is 1 */
	if (cJSON_IsObject(node) && (r = check_members(node)) != 0)
		return r;
	if (cJSON_IsObject(node) || cJSON_IsArray(node))
		for (a = node->child; a; a = a->next)
			if ((r = check_tree(a, depth + 1, max_depth)) != 0)
				return r;
	return ERR_OK;
}

int json_parse(const char *in, size_t len, size_t max_len, int max_depth, cJSON **out)
{
	const char *end = NULL;
	cJSON *root;
	int r;

	if (!in || !out)
		return ERR_INVAL;
	if (len > max_len)
		return ERR_TOO_LARGE;
	if (!json_utf8_valid(in, len) || has_bad_escape(in, len))
		return ERR_JSON_UTF8;
	root = cJSON_ParseWithLengthOpts(in, len, &end, 0);
	if (!root)
		return ERR_JSON;
	while (end && end < in + len &&
	       (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end != in + len) {
		cJSON_Delete(root);
		return ERR_JSON;
	}
	if ((r = check_tree(root, 1, max_depth)) != 0) {
		cJSON_Delete(root);
		return r;
	}
	*out = root;
	return ERR_OK;
}

const cJSON *json_get(const cJSON *obj, const char *name)
{
	if (!cJSON_IsObject(obj) || !name)
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(obj, name);
}

int json_get_string(const cJSON *obj, const char *name, const char **out)
{
	const cJSON *v = json_get(obj, name);

	*out = NULL;
	if (!v)
		return ERR_OK;
	if (!cJSON_IsString(v) || !v->valuestring)
		return ERR_JSON_TYPE;
	*out = v->valuestring;
	return ERR_OK;
}

int json_get_bool(const cJSON *obj, const char *name, int *out, int *present)
{
	const cJSON *v = json_get(obj, name);

	*present = 0;
	if (!v)
		return ERR_OK;
	if (!cJSON_IsBool(v))
		return ERR_JSON_TYPE;
	*present = 1;
	*out = cJSON_IsTrue(v) ? 1 : 0;
	return ERR_OK;
}

int json_get_date(const cJSON *obj, const char *name, long long *out, int *present)
{
	const cJSON *v = json_get(obj, name);
	double d;

	*present = 0;
	if (!v)
		return ERR_OK;
	if (!cJSON_IsNumber(v))
		return ERR_JSON_TYPE;
	d = v->valuedouble;
	if (!isfinite(d) || d < 0 || d >= 9007199254740992.0)
		return ERR_JSON_TYPE;
	*present = 1;
	*out = (long long)d;
	return ERR_OK;
}

static void wipe_tree(cJSON *node)
{
	for (; node; node = node->next) {
		if (cJSON_IsString(node) && node->valuestring)
			explicit_bzero(node->valuestring, strlen(node->valuestring));
		wipe_tree(node->child);
	}
}

void json_delete_wiped(cJSON *root)
{
	if (!root)
		return;
	wipe_tree(root->child);
	if (cJSON_IsString(root) && root->valuestring)
		explicit_bzero(root->valuestring, strlen(root->valuestring));
	cJSON_Delete(root);
}
