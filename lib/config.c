/* config.c: the strict "key = value" configuration file, with the login
 * policy (global, then overridden per "[service NAME]" section).
 *
 * Not checked here: "user_from_token needs wait = code unless
 * kiosk_accept_login_csrf = yes". user_from_token is a module argument, not
 * a key of this file, so the parser cannot see it; the helper enforces it
 * on the policy config_login_for() returns, when it starts a login. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "file.h"
#include "http.h"
#include "json.h"
#include "jwt.h"
#include "log.h"
#include "secret.h"

#define CONFIG_LINE_MAX	     4096
#define CONFIG_VALUE_MAX     2048
#define CONFIG_CLIENT_ID_MAX 255
#define SECRET_MAX_BYTES     4096

#define CONFIG_MAX_SECTIONS	64
#define CONFIG_SECTION_NAME_MAX 64
#define CONFIG_CLAIM_MAX	64
#define CONFIG_DOMAIN_MAX	253

#define DEFAULT_SCOPES	       "openid profile email"
#define DEFAULT_CACHE_DIR      "/var/cache/pam-oauth2-pkce"
#define DEFAULT_HELPER_USER    "_oauth2-pkce"
#define DEFAULT_USERNAME_CLAIM "preferred_username"
#define DEFAULT_GROUPS_CLAIM   "groups"
#define DEFAULT_LOGIN_TIMEOUT  100

enum key_kind {
	K_ISSUER,
	K_CLIENT_ID,
	K_PATH,
	K_SCOPES,
	K_ALGS,
	K_LONG,
	K_BOOL,
	K_URL,	    /* relay_url: checked once the whole file is read */
	K_WAIT,	    /* auto|poll|enter|code */
	K_QR,	    /* utf8|ascii|off */
	K_CLAIM,    /* a JSON member name */
	K_DOMAIN,   /* strip_domain */
	K_GROUPS,   /* allowed_groups */
	K_PROMPT,   /* OIDC prompt values */
	K_USERINFO, /* auto|always|never */
	K_WORDS,    /* acr_values, required_acr, required_amr: blank-separated words */
	K_USER,	    /* helper_user: a plain local account name */
};

/* Where a key lives: global keys only before the first section; login-policy
 * keys globally and in any [service NAME] section. */
enum key_scope {
	S_GLOBAL, /* off is into struct config */
	S_LOGIN,  /* off is into struct config_login */
};

struct key_def {
	const char *name;
	enum key_kind kind;
	enum key_scope scope;
	size_t off;
	long min, max;
};

#define OFF(m)	S_GLOBAL, offsetof(struct config, m)
#define LOFF(m) S_LOGIN, offsetof(struct config_login, m)

/* Every key the file may hold. Adding a key: one line here, one member in
 * struct config (or struct config_login), a default in config_parse or
 * set_defaults, and the man page. A section's `set` mask has bit i for
 * keys[i]. */
static const struct key_def keys[] = {
	{ "issuer", K_ISSUER, OFF(issuer), 0, 0 },
	{ "client_id", K_CLIENT_ID, OFF(client_id), 0, 0 },
	{ "client_secret_file", K_PATH, OFF(client_secret_file), 0, 0 },
	{ "scopes", K_SCOPES, OFF(scopes), 0, 0 },
	{ "allowed_algs", K_ALGS, OFF(allowed_algs), 0, 0 },
	{ "clock_skew", K_LONG, OFF(clock_skew), 0, 600 },
	{ "max_token_age", K_LONG, OFF(max_token_age), 1, 86400 },
	{ "ca_file", K_PATH, OFF(ca_file), 0, 0 },
	{ "relay_ca_file", K_PATH, OFF(relay_ca_file), 0, 0 },
	{ "http_timeout", K_LONG, OFF(http_timeout), 1, 60 },
	{ "first_contact_timeout", K_LONG, OFF(first_contact_timeout), 1, 60 },
	{ "cache_dir", K_PATH, OFF(cache_dir), 0, 0 },
	{ "helper_user", K_USER, OFF(helper_user), 0, 0 },
	{ "allow_insecure_loopback", K_BOOL, OFF(allow_insecure_loopback), 0, 1 },
	{ "relay_url", K_URL, OFF(relay_url), 0, 0 },
	{ "relay_secret_file", K_PATH, OFF(relay_secret_file), 0, 0 },
	{ "max_logins_per_minute", K_LONG, OFF(max_logins_per_minute), 0, 1000 },
	{ "wait", K_WAIT, LOFF(wait), 0, 0 },
	{ "qr", K_QR, LOFF(qr), 0, 0 },
	{ "login_timeout", K_LONG, LOFF(login_timeout), 30, 600 },
	{ "username_claim", K_CLAIM, LOFF(username_claim), 0, 0 },
	{ "map_file", K_PATH, LOFF(map_file), 0, 0 },
	{ "strip_domain", K_DOMAIN, LOFF(strip_domain), 0, 0 },
	{ "lowercase", K_BOOL, LOFF(lowercase), 0, 1 },
	{ "allow_root", K_BOOL, LOFF(allow_root), 0, 1 },
	{ "groups_claim", K_CLAIM, LOFF(groups_claim), 0, 0 },
	{ "allowed_groups", K_GROUPS, LOFF(allowed_groups), 0, 0 },
	{ "kiosk_accept_login_csrf", K_BOOL, LOFF(kiosk_accept_login_csrf), 0, 1 },
	{ "prompt", K_PROMPT, LOFF(prompt), 0, 0 },
	{ "userinfo", K_USERINFO, LOFF(userinfo), 0, 0 },
	{ "acr_values", K_WORDS, LOFF(acr_values), 0, 0 },
	{ "required_acr", K_WORDS, LOFF(required_acr), 0, 0 },
	{ "max_age", K_LONG, LOFF(max_age), 0, 31536000 },
	{ "required_amr", K_WORDS, LOFF(required_amr), 0, 0 },
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

_Static_assert(N_KEYS <= 64, "struct config_section.set needs one bit per key");

static const char *const wait_names[] = { [CONFIG_WAIT_AUTO] = "auto",
					  [CONFIG_WAIT_POLL] = "poll",
					  [CONFIG_WAIT_ENTER] = "enter",
					  [CONFIG_WAIT_CODE] = "code" };
static const char *const qr_names[] = {
	[CONFIG_QR_UTF8] = "utf8", [CONFIG_QR_ASCII] = "ascii", [CONFIG_QR_OFF] = "off"
};
static const char *const userinfo_names[] = { [CONFIG_USERINFO_AUTO] = "auto",
					      [CONFIG_USERINFO_ALWAYS] = "always",
					      [CONFIG_USERINFO_NEVER] = "never" };
static const char *const prompt_names[] = { "none", "login", "consent", "select_account" };

struct pstate {
	const char *name;
	char *err;
	size_t errlen;
	int line_of[N_KEYS];		     /* global keys; 0: not seen */
	int sec_line_of[N_KEYS];	     /* keys of the current section; 0: not seen */
	int sec_header[CONFIG_MAX_SECTIONS]; /* line of each section's header */
	struct config_section *cur;	     /* NULL: before the first section */
};

static void seterr(struct pstate *ps, int line, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void seterr(struct pstate *ps, int line, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!ps->err || ps->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(ps->err, ps->errlen, "%s:%d: %s%s%s", ps->name, line, key ? key : "",
			 key ? ": " : "", msg);
	else
		snprintf(ps->err, ps->errlen, "%s: %s%s%s", ps->name, key ? key : "",
			 key ? ": " : "", msg);
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* ---- values ------------------------------------------------------------- */

/* base: the struct config, or the struct config_login the key goes into */
static int set_string(void *base, const struct key_def *k, const char *v)
{
	char **dst = (char **)((char *)base + k->off);
	char *s = strdup(v);

	if (!s)
		return ERR_NOMEM;
	free(*dst);
	*dst = s;
	return ERR_OK;
}

static int parse_long(const char *v, long min, long max, long *out)
{
	long n = 0;

	if (!*v || strlen(v) > 9)
		return -1;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		n = n * 10 + (*p - '0');
	}
	if (n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E. Normalizes runs of
 * blanks to one space. */
static int set_scopes(struct config *c, const char *v, struct pstate *ps, int line)
{
	char *norm = malloc(strlen(v) + 1), *o = norm;
	int has_openid = 0;

	if (!norm)
		return ERR_NOMEM;
	while (*v) {
		const char *start;
		size_t n;

		while (is_ws(*v))
			v++;
		if (!*v)
			break;
		start = v;
		while (*v && !is_ws(*v)) {
			unsigned char ch = (unsigned char)*v;
			if (ch < 0x21 || ch > 0x7e || ch == '"' || ch == '\\') {
				seterr(ps, line, "scopes", "invalid character in a scope");
				free(norm);
				return ERR_CONFIG;
			}
			v++;
		}
		n = (size_t)(v - start);
		if (n == 6 && memcmp(start, "openid", 6) == 0)
			has_openid = 1;
		if (n == 14 && memcmp(start, "offline_access", 14) == 0) {
			/* TOK-07: no refresh tokens, ever */
			seterr(ps, line, "scopes",
			       "offline_access is never requested (no refresh tokens)");
			free(norm);
			return ERR_CONFIG;
		}
		if (o != norm)
			*o++ = ' ';
		memcpy(o, start, n);
		o += n;
	}
	*o = '\0';
	if (!has_openid) {
		seterr(ps, line, "scopes", "must include \"openid\"");
		free(norm);
		return ERR_CONFIG;
	}
	free(c->scopes);
	c->scopes = norm;
	return ERR_OK;
}

static int set_algs(struct config *c, const char *v, struct pstate *ps, int line)
{
	unsigned mask = 0;
	char name[64], clean[40];

	while (*v) {
		size_t n;

		while (is_ws(*v) || *v == ',')
			v++;
		if (!*v)
			break;
		n = strcspn(v, " \t,");
		if (n >= sizeof(name)) {
			seterr(ps, line, "allowed_algs", "unknown algorithm \"%s\"",
			       log_sanitize(clean, sizeof(clean), v));
			return ERR_CONFIG;
		}
		memcpy(name, v, n);
		name[n] = '\0';
		v += n;
		if (strcasecmp(name, "none") == 0 || strncasecmp(name, "HS", 2) == 0) {
			/* IDT-01, IDT-02: unsigned and HMAC tokens are refused
			 * whatever the configuration says */
			seterr(ps, line, "allowed_algs", "%s is never allowed",
			       log_sanitize(clean, sizeof(clean), name));
			return ERR_CONFIG;
		}
		unsigned bit = jwt_alg_from_name(name);
		if (!bit) {
			seterr(ps, line, "allowed_algs",
			       "unknown algorithm \"%s\" (names are case-sensitive, e.g. RS256, ES256, "
			       "EdDSA)",
			       log_sanitize(clean, sizeof(clean), name));
			return ERR_CONFIG;
		}
		mask |= bit;
	}
	if (!mask) {
		seterr(ps, line, "allowed_algs", "empty list");
		return ERR_CONFIG;
	}
	c->allowed_algs = mask;
	return ERR_OK;
}

/* The index of v in names (n entries), or -1. */
static int name_index(const char *v, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(v, names[i]) == 0)
			return (int)i;
	return -1;
}

/* A JSON member name to look up in the ID token: printable ASCII without
 * blanks, 1..CONFIG_CLAIM_MAX. */
static int valid_claim(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > CONFIG_CLAIM_MAX)
		return 0;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	return 1;
}

/* A local account name as useradd takes it: [a-z_][a-z0-9_.-]{0,31}. */
static int valid_user(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 32 || !((v[0] >= 'a' && v[0] <= 'z') || v[0] == '_'))
		return 0;
	for (const char *p = v; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '.' || *p == '-'))
			return 0;
	return 1;
}

/* [A-Za-z0-9.-], 1..253, no leading, trailing or double dot. */
static int valid_domain(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > CONFIG_DOMAIN_MAX || v[0] == '.' || v[n - 1] == '.' || strstr(v, ".."))
		return 0;
	for (const char *p = v; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			return 0;
	return 1;
}

/* The list-valued keys (allowed_groups, prompt, acr_values, required_acr,
 * required_amr) share one splitter: words separated by any of seps (for
 * allowed_groups also commas: claims splits on " ,\t"), each passed to check
 * with the words kept so far, then check(NULL) once for rules on the whole
 * list; stored joined by single spaces. check sets the error and returns
 * ERR_CONFIG. */
struct list_ctx {
	const struct key_def *k;
	struct pstate *ps;
	int line;
	unsigned seen; /* check's own bookkeeping */
};

typedef int (*list_check)(struct list_ctx *lc, const char *w, size_t n, const char *sofar);

static int set_list(void *base, const struct key_def *k, const char *v, struct pstate *ps, int line,
		    const char *seps, list_check check, int empty_ok)
{
	struct list_ctx lc = { k, ps, line, 0 };
	char **dst = (char **)((char *)base + k->off);
	char *norm = malloc(strlen(v) + 1), *o = norm;

	if (!norm)
		return ERR_NOMEM;
	*o = '\0';
	while (*v) {
		size_t n;

		v += strspn(v, seps);
		n = strcspn(v, seps);
		if (n == 0)
			break;
		if (check && check(&lc, v, n, norm) != ERR_OK)
			goto fail;
		if (o != norm)
			*o++ = ' ';
		memcpy(o, v, n);
		o += n;
		*o = '\0';
		v += n;
	}
	if (o == norm && !empty_ok) {
		seterr(ps, line, k->name, "empty list");
		goto fail;
	}
	if (check && check(&lc, NULL, 0, norm) != ERR_OK)
		goto fail;
	free(*dst);
	*dst = norm;
	return ERR_OK;
fail:
	free(norm);
	return ERR_CONFIG;
}

/* OIDC Core §3.1.2.1: prompt is a space-separated list of none, login,
 * consent, select_account; "none" stands alone. */
static int check_prompt(struct list_ctx *lc, const char *w, size_t n, const char *sofar)
{
	const size_t nnames = sizeof(prompt_names) / sizeof(prompt_names[0]);
	char word[32], clean[40];
	int i;

	(void)sofar;
	if (!w) {
		if ((lc->seen & 1u) && lc->seen != 1u) {
			seterr(lc->ps, lc->line, lc->k->name,
			       "none cannot be combined with other values");
			return ERR_CONFIG;
		}
		return ERR_OK;
	}
	if (n >= sizeof(word))
		n = sizeof(word) - 1; /* too long for any name: unknown */
	memcpy(word, w, n);
	word[n] = '\0';
	if ((i = name_index(word, prompt_names, nnames)) < 0) {
		seterr(lc->ps, lc->line, lc->k->name,
		       "unknown value \"%s\" (must be none, or any of login, consent, "
		       "select_account separated by spaces)",
		       log_sanitize(clean, sizeof(clean), word));
		return ERR_CONFIG;
	}
	if (lc->seen & (1u << i)) {
		seterr(lc->ps, lc->line, lc->k->name, "%s given twice", word);
		return ERR_CONFIG;
	}
	lc->seen |= 1u << i;
	return ERR_OK;
}

/* acr_values, required_acr, required_amr: each word 1..CONFIG_CLAIM_MAX
 * characters of printable ASCII except '"' and '\\' (acr values are often
 * URIs; amr values are RFC 8176 names), no word twice. */
static int check_claim_word(struct list_ctx *lc, const char *w, size_t n, const char *sofar)
{
	char clean[40];

	if (!w)
		return ERR_OK;
	if (n > CONFIG_CLAIM_MAX) {
		seterr(lc->ps, lc->line, lc->k->name, "a value is longer than %d characters",
		       CONFIG_CLAIM_MAX);
		return ERR_CONFIG;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)w[i] < 0x21 || (unsigned char)w[i] > 0x7e || w[i] == '"' ||
		    w[i] == '\\') {
			seterr(lc->ps, lc->line, lc->k->name, "invalid character in a value");
			return ERR_CONFIG;
		}
	for (const char *x = sofar; *x;) {
		size_t xn = strcspn(x, " ");
		if (xn == n && memcmp(x, w, n) == 0) {
			char word[CONFIG_CLAIM_MAX + 1];
			memcpy(word, w, n);
			word[n] = '\0';
			seterr(lc->ps, lc->line, lc->k->name, "\"%s\" given twice",
			       log_sanitize(clean, sizeof(clean), word));
			return ERR_CONFIG;
		}
		x += xn + (x[xn] == ' ');
	}
	return ERR_OK;
}

/* K_CLIENT_ID, K_PATH, K_CLAIM, K_DOMAIN, K_USER: a string kept once its
 * form is checked. */
static int set_checked_string(void *base, const struct key_def *k, const char *v, struct pstate *ps,
			      int line)
{
	switch (k->kind) {
	case K_CLIENT_ID:
		if (strlen(v) > CONFIG_CLIENT_ID_MAX) {
			seterr(ps, line, k->name, "longer than %d characters",
			       CONFIG_CLIENT_ID_MAX);
			return ERR_CONFIG;
		}
		for (const char *p = v; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
				seterr(ps, line, k->name, "only printable ASCII is allowed");
				return ERR_CONFIG;
			}
		break;
	case K_PATH:
		if (v[0] != '/') {
			seterr(ps, line, k->name, "must be an absolute path");
			return ERR_CONFIG;
		}
		break;
	case K_CLAIM:
		if (!valid_claim(v)) {
			seterr(ps, line, k->name,
			       "must be a claim name: printable ASCII without blanks, at most %d "
			       "characters",
			       CONFIG_CLAIM_MAX);
			return ERR_CONFIG;
		}
		break;
	case K_DOMAIN:
		if (!valid_domain(v)) {
			seterr(ps, line, k->name,
			       "must be a domain name: letters, digits, '-' and '.', at most %d "
			       "characters, no leading, trailing or double '.'",
			       CONFIG_DOMAIN_MAX);
			return ERR_CONFIG;
		}
		break;
	case K_USER:
		if (!valid_user(v)) {
			seterr(ps, line, k->name,
			       "must be a local account name: [a-z_][a-z0-9_.-], at most 32 characters");
			return ERR_CONFIG;
		}
		break;
	default:
		return ERR_INTERNAL;
	}
	return set_string(base, k, v);
}

/* K_LONG (within k->min..k->max) and K_BOOL (yes or no). */
static int set_number(void *base, const struct key_def *k, const char *v, struct pstate *ps,
		      int line)
{
	long n;

	if (k->kind == K_LONG) {
		if (parse_long(v, k->min, k->max, &n) != 0) {
			seterr(ps, line, k->name, "must be a whole number from %ld to %ld", k->min,
			       k->max);
			return ERR_CONFIG;
		}
		*(long *)((char *)base + k->off) = n;
		return ERR_OK;
	}
	if (strcmp(v, "yes") == 0)
		n = 1;
	else if (strcmp(v, "no") == 0)
		n = 0;
	else {
		seterr(ps, line, k->name, "must be yes or no");
		return ERR_CONFIG;
	}
	*(int *)((char *)base + k->off) = (int)n;
	return ERR_OK;
}

/* K_WAIT, K_QR, K_USERINFO: one of a few names, kept as its enum value. */
static int set_choice(void *base, const struct key_def *k, const char *v, struct pstate *ps,
		      int line)
{
	void *dst = (char *)base + k->off;
	int i;

	switch (k->kind) {
	case K_WAIT:
		if ((i = name_index(v, wait_names, sizeof(wait_names) / sizeof(wait_names[0]))) <
		    0) {
			seterr(ps, line, k->name, "must be auto, poll, enter or code");
			return ERR_CONFIG;
		}
		*(enum config_wait *)dst = (enum config_wait)i;
		return ERR_OK;
	case K_QR:
		if ((i = name_index(v, qr_names, sizeof(qr_names) / sizeof(qr_names[0]))) < 0) {
			seterr(ps, line, k->name, "must be utf8, ascii or off");
			return ERR_CONFIG;
		}
		*(enum config_qr *)dst = (enum config_qr)i;
		return ERR_OK;
	case K_USERINFO:
		if ((i = name_index(v, userinfo_names,
				    sizeof(userinfo_names) / sizeof(userinfo_names[0]))) < 0) {
			seterr(ps, line, k->name, "must be auto, always or never");
			return ERR_CONFIG;
		}
		*(enum config_userinfo *)dst = (enum config_userinfo)i;
		return ERR_OK;
	default:
		return ERR_INTERNAL;
	}
}

/* base: the struct config for S_GLOBAL keys, the struct config_login (the
 * global one or a section's) for S_LOGIN keys. */
static int set_value(void *base, const struct key_def *k, const char *v, struct pstate *ps,
		     int line)
{
	switch (k->kind) {
	case K_ISSUER:
	case K_URL:
		/* checked once the whole file is read: it depends on
		 * allow_insecure_loopback, wherever that line is */
		return set_string(base, k, v);
	case K_CLIENT_ID:
	case K_PATH:
	case K_CLAIM:
	case K_DOMAIN:
	case K_USER:
		return set_checked_string(base, k, v, ps, line);
	case K_SCOPES:
		return set_scopes(base, v, ps, line);
	case K_ALGS:
		return set_algs(base, v, ps, line);
	case K_LONG:
	case K_BOOL:
		return set_number(base, k, v, ps, line);
	case K_WAIT:
	case K_QR:
	case K_USERINFO:
		return set_choice(base, k, v, ps, line);
	case K_GROUPS:
		return set_list(base, k, v, ps, line, " \t,", NULL, 0);
	case K_PROMPT:
		return set_list(base, k, v, ps, line, " \t", check_prompt, 1);
	case K_WORDS:
		return set_list(base, k, v, ps, line, " \t", check_claim_word, 0);
	}
	return ERR_INTERNAL;
}

/* ---- lines -------------------------------------------------------------- */

static int valid_section_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.' || ch == '@' || ch == '-';
}

/* "[service NAME]" (line already trimmed): starts a section; the keys that
 * follow belong to it until the next header. */
static int section_line(struct config *c, const char *line, struct pstate *ps, int lineno)
{
	static const char head[] = "[service ";
	const size_t hlen = sizeof(head) - 1;
	struct config_section *secs;
	size_t len = strlen(line), nlen;
	const char *name;
	char *dup;
	int ok;

	if (len < hlen + 2 || strncmp(line, head, hlen) != 0 || line[len - 1] != ']' ||
	    is_ws(line[hlen]) || is_ws(line[len - 2])) {
		seterr(ps, lineno, NULL, "expected [service NAME]");
		return ERR_CONFIG;
	}
	name = line + hlen;
	nlen = len - hlen - 1; /* >= 1 */
	ok = nlen <= CONFIG_SECTION_NAME_MAX;
	for (size_t i = 0; i < nlen && ok; i++)
		ok = valid_section_char(name[i]);
	if (!ok) {
		seterr(ps, lineno, NULL,
		       "invalid service name (1 to %d characters of A-Z a-z 0-9 _ . @ -)",
		       CONFIG_SECTION_NAME_MAX);
		return ERR_CONFIG;
	}
	for (size_t i = 0; i < c->nsections; i++)
		if (strlen(c->sections[i].name) == nlen &&
		    memcmp(c->sections[i].name, name, nlen) == 0) {
			seterr(ps, lineno, NULL,
			       "duplicate section [service %s] (first on line %d)",
			       c->sections[i].name, ps->sec_header[i]);
			return ERR_CONFIG;
		}
	if (c->nsections >= CONFIG_MAX_SECTIONS) {
		seterr(ps, lineno, NULL, "more than %d [service] sections", CONFIG_MAX_SECTIONS);
		return ERR_CONFIG;
	}
	if (!(dup = strndup(name, nlen)))
		return ERR_NOMEM;
	secs = realloc(c->sections, (c->nsections + 1) * sizeof(*secs));
	if (!secs) {
		free(dup);
		return ERR_NOMEM;
	}
	c->sections = secs;
	ps->cur = &secs[c->nsections];
	memset(ps->cur, 0, sizeof(*ps->cur));
	ps->cur->name = dup;
	ps->sec_header[c->nsections] = lineno;
	c->nsections++;
	memset(ps->sec_line_of, 0, sizeof(ps->sec_line_of));
	return ERR_OK;
}

static int key_line(struct config *c, char *line, struct pstate *ps, int lineno)
{
	char *eq = strchr(line, '='), *key = line, *val, *end;
	const struct key_def *k = NULL;
	int *seen, r;
	void *base;
	size_t i;

	if (!eq) {
		seterr(ps, lineno, NULL, "expected \"key = value\"");
		return ERR_CONFIG;
	}
	end = eq;
	while (end > key && is_ws(end[-1]))
		end--;
	*end = '\0';
	val = eq + 1;
	while (is_ws(*val))
		val++;
	if (!*key) {
		seterr(ps, lineno, NULL, "expected \"key = value\"");
		return ERR_CONFIG;
	}
	for (i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].name, key) == 0)
			k = &keys[i];
	if (!k) {
		char clean[64];
		seterr(ps, lineno, NULL, "unknown key \"%s\"",
		       log_sanitize(clean, sizeof(clean), key));
		return ERR_CONFIG;
	}
	i = (size_t)(k - keys);
	if (ps->cur && k->scope != S_LOGIN) {
		seterr(ps, lineno, k->name, "only allowed before the first [service] section");
		return ERR_CONFIG;
	}
	seen = ps->cur ? ps->sec_line_of : ps->line_of;
	if (seen[i]) {
		seterr(ps, lineno, k->name, "duplicate key (first set on line %d)", seen[i]);
		return ERR_CONFIG;
	}
	seen[i] = lineno;
	if (!*val) {
		seterr(ps, lineno, k->name, "empty value");
		return ERR_CONFIG;
	}
	if (strlen(val) > CONFIG_VALUE_MAX) {
		seterr(ps, lineno, k->name, "value longer than %d characters", CONFIG_VALUE_MAX);
		return ERR_CONFIG;
	}
	if (k->scope == S_GLOBAL)
		base = c;
	else
		base = ps->cur ? &ps->cur->login : &c->login;
	if ((r = set_value(base, k, val, ps, lineno)) != 0)
		return r;
	if (ps->cur)
		ps->cur->set |= 1ULL << i;
	return ERR_OK;
}

static int set_defaults(struct config *c)
{
	if (!c->scopes && !(c->scopes = strdup(DEFAULT_SCOPES)))
		return ERR_NOMEM;
	if (!c->cache_dir && !(c->cache_dir = strdup(DEFAULT_CACHE_DIR)))
		return ERR_NOMEM;
	if (!c->helper_user && !(c->helper_user = strdup(DEFAULT_HELPER_USER)))
		return ERR_NOMEM;
	if (!c->login.username_claim && !(c->login.username_claim = strdup(DEFAULT_USERNAME_CLAIM)))
		return ERR_NOMEM;
	if (!c->login.groups_claim && !(c->login.groups_claim = strdup(DEFAULT_GROUPS_CLAIM)))
		return ERR_NOMEM;
	return ERR_OK;
}

static int line_of(const struct pstate *ps, const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return ps->line_of[i];
	return 0;
}

/* Checks that need the whole file. */
static int validate(const struct config *c, struct pstate *ps)
{
	if (!c->issuer) {
		seterr(ps, 0, NULL, "missing required key \"issuer\"");
		return ERR_CONFIG_MISSING;
	}
	if (!c->client_id) {
		seterr(ps, 0, NULL, "missing required key \"client_id\"");
		return ERR_CONFIG_MISSING;
	}
	/* TOK-05: https only; OIDC Core §2: no query, no fragment */
	if (http_url_allowed(c->issuer, c->allow_insecure_loopback) != 0 ||
	    strchr(c->issuer, '?')) {
		seterr(ps, line_of(ps, "issuer"), "issuer",
		       "must be an https:// URL without user info, query or fragment "
		       "(http:// only to 127.0.0.1, [::1] or localhost with "
		       "allow_insecure_loopback = yes)");
		return ERR_CONFIG;
	}
	/* optional here (verify-id-token and check work without it): a base
	 * URL, the relay's own base_url, to which "/v1/sessions" etc. are
	 * appended */
	if (c->relay_url) {
		const char *auth = strstr(c->relay_url, "://");

		if (http_url_allowed(c->relay_url, c->allow_insecure_loopback) != 0 || !auth ||
		    auth[3 + strcspn(auth + 3, "/?#")] != '\0') {
			seterr(ps, line_of(ps, "relay_url"), "relay_url",
			       "must be a base URL https://host[:port] without user info, path, "
			       "query, fragment or trailing slash (http:// only to 127.0.0.1, "
			       "[::1] or localhost with allow_insecure_loopback = yes)");
			return ERR_CONFIG;
		}
	}
	return ERR_OK;
}

int config_parse(const char *text, size_t len, const char *name, struct config **out, char *err,
		 size_t errlen)
{
	struct pstate ps = { 0 };
	struct config *c = NULL;
	char line[CONFIG_LINE_MAX + 1];
	size_t pos = 0;
	int lineno = 0, r;

	ps.name = name ? name : "config";
	ps.err = err;
	ps.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	if (!text || !out)
		return ERR_INVAL;
	if (len > CONFIG_MAX_BYTES) {
		seterr(&ps, 0, NULL, "larger than %d bytes", CONFIG_MAX_BYTES);
		return ERR_CONFIG;
	}
	if (!(c = calloc(1, sizeof(*c))))
		return ERR_NOMEM;
	c->allowed_algs = JWT_ALG_ALL;
	c->clock_skew = 60;
	c->max_token_age = 300;
	c->http_timeout = 10;
	c->first_contact_timeout = 2;
	c->max_logins_per_minute = 10;
	c->login.wait = CONFIG_WAIT_AUTO;
	c->login.qr = CONFIG_QR_UTF8;
	c->login.login_timeout = DEFAULT_LOGIN_TIMEOUT;
	c->login.userinfo = CONFIG_USERINFO_AUTO;
	c->login.max_age = -1;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *s, *e;

		lineno++;
		if (n > CONFIG_LINE_MAX) {
			seterr(&ps, lineno, NULL, "line longer than %d bytes", CONFIG_LINE_MAX);
			r = ERR_CONFIG;
			goto out;
		}
		if (!json_utf8_valid(text + pos, n)) {
			seterr(&ps, lineno, NULL, "invalid UTF-8 or NUL byte");
			r = ERR_CONFIG;
			goto out;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl ? 1 : 0);
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		for (s = line; *s; s++)
			if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f) {
				seterr(&ps, lineno, NULL, "control character");
				r = ERR_CONFIG;
				goto out;
			}
		s = line;
		while (is_ws(*s))
			s++;
		e = s + strlen(s);
		while (e > s && is_ws(e[-1]))
			*--e = '\0';
		if (!*s || *s == '#')
			continue;
		if (*s == '[')
			r = section_line(c, s, &ps, lineno);
		else
			r = key_line(c, s, &ps, lineno);
		if (r != 0)
			goto out;
	}
	if ((r = validate(c, &ps)) != 0 || (r = set_defaults(c)) != 0)
		goto out;
	*out = c;
	c = NULL;
	r = ERR_OK;
out:
	OPENSSL_cleanse(line, sizeof(line));
	config_free(c);
	return r;
}

static void login_free(struct config_login *l)
{
	free(l->username_claim);
	free(l->map_file);
	free(l->strip_domain);
	free(l->groups_claim);
	free(l->allowed_groups);
	free(l->prompt);
	free(l->acr_values);
	free(l->required_acr);
	free(l->required_amr);
}

void config_free(struct config *c)
{
	if (!c)
		return;
	free(c->issuer);
	free(c->client_id);
	free(c->client_secret_file);
	free(c->scopes);
	free(c->ca_file);
	free(c->relay_ca_file);
	free(c->cache_dir);
	free(c->helper_user);
	free(c->relay_url);
	free(c->relay_secret_file);
	login_free(&c->login);
	for (size_t i = 0; i < c->nsections; i++) {
		free(c->sections[i].name);
		login_free(&c->sections[i].login);
	}
	free(c->sections);
	free(c);
}

/* Copies one login-policy member, by its kind, from a section's policy. */
static void copy_login_key(struct config_login *dst, const struct config_login *src,
			   const struct key_def *k)
{
	char *d = (char *)dst + k->off;
	const char *s = (const char *)src + k->off;

	switch (k->kind) {
	case K_LONG:
		*(long *)d = *(const long *)s;
		break;
	case K_BOOL:
		*(int *)d = *(const int *)s;
		break;
	case K_WAIT:
		*(enum config_wait *)d = *(const enum config_wait *)s;
		break;
	case K_QR:
		*(enum config_qr *)d = *(const enum config_qr *)s;
		break;
	case K_USERINFO:
		*(enum config_userinfo *)d = *(const enum config_userinfo *)s;
		break;
	case K_PATH:
	case K_CLAIM:
	case K_DOMAIN:
	case K_GROUPS:
	case K_PROMPT:
	case K_WORDS:
		*(char **)d = *(char *const *)s;
		break;
	default: /* no other kind is a login key */
		break;
	}
}

void config_login_for(const struct config *c, const char *service, struct config_login *out)
{
	const struct config_section *sec = NULL;

	if (!out)
		return;
	if (!c) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = c->login;
	if (!service || !*service)
		return;
	for (size_t i = 0; i < c->nsections && !sec; i++)
		if (strcmp(c->sections[i].name, service) == 0)
			sec = &c->sections[i];
	if (!sec)
		return;
	for (size_t i = 0; i < N_KEYS; i++)
		if (keys[i].scope == S_LOGIN && (sec->set & (1ULL << i)))
			copy_login_key(out, &sec->login, &keys[i]);
}

/* ---- files -------------------------------------------------------------- */

/* lib/file.c's reader; a file over its cap is a configuration error. */
static int read_safe(const char *path, int secret, size_t max, char **out, size_t *outlen,
		     char *err, size_t errlen)
{
	int r = file_read(path, secret ? FILE_SECRET : 0, max, out, outlen, err, errlen);

	return r == ERR_TOO_LARGE ? ERR_CONFIG : r;
}

int config_read_file(const char *path, size_t max, char **out, size_t *outlen, char *err,
		     size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!path || !out || !outlen)
		return ERR_INVAL;
	return read_safe(path, 0, max, out, outlen, err, errlen);
}

int config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !out)
		return ERR_INVAL;
	if ((r = read_safe(path, 0, CONFIG_MAX_BYTES, &text, &len, err, errlen)) != 0)
		return r;
	r = config_parse(text, len, path, out, err, errlen);
	free(text);
	return r;
}

int config_read_secret(const char *path, char **out, char *err, size_t errlen)
{
	char *buf = NULL, *s = NULL;
	size_t len = 0, n;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !out)
		return ERR_INVAL;
	if ((r = read_safe(path, 1, SECRET_MAX_BYTES, &buf, &len, err, errlen)) != 0)
		return r;
	{
		const char *nl = memchr(buf, '\n', len);
		n = nl ? (size_t)(nl - buf) : len;
	}
	if (n && buf[n - 1] == '\r')
		n--;
	r = ERR_CONFIG;
	if (n == 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: empty secret", path);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] == 0x7f) {
			if (err && errlen)
				snprintf(err, errlen,
					 "%s: secret contains a control character or NUL", path);
			goto out;
		}
	r = ERR_NOMEM;
	if (!(s = malloc(n + 1)))
		goto out;
	memcpy(s, buf, n);
	s[n] = '\0';
	*out = s;
	r = ERR_OK;
out:
	secret_free(buf, len);
	return r;
}
