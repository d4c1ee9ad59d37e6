/* rconf.c: strict relay configuration. */
#include "rconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "file.h"
#include "log.h"
#include "secret.h"
#include "url.h"

#define LINE_MAX_LEN	4096
#define FILE_MAX	(256 * 1024)
#define SECRET_FILE_MAX 4096
#define SECRET_MIN	16
#define LIST_MAX	64

/* One key of the file. set() parses one value into the struct rconf (or
 * the loader, for what is only checked once the whole file is read).
 * Single-valued keys may appear once; repeatable ones any number of times,
 * set() enforcing its own cap. Adding a key: a line here, a member in
 * struct rconf, its default in rconf_load, the example file and the man
 * page. */
struct loader;
struct key_def {
	const char *name;
	int (*set)(struct loader *ld, struct rconf *c, const struct key_def *k, int line,
		   const char *v);
	int repeatable;
	size_t off;	   /* set_uint, set_bool: member of struct rconf */
	unsigned min, max; /* set_uint */
	const char *unit;  /* set_uint: appended to the range in errors */
};

#define KEYS_MAX 32

struct loader {
	const char *path;
	char *err;
	size_t errlen;
	int line_of[KEYS_MAX]; /* first line each key was set on; 0: not seen */
	int *endpoint_lines;
	char *secret_files[RCONF_MAX_REG_SECRETS];
	int secret_lines[RCONF_MAX_REG_SECRETS];
	size_t n_secret_files;
	char *redis_url; /* for the "only with store = redis" check */
	char *redis_password_file;
};

static int fail(struct loader *ld, int line, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct loader *ld, int line, int code, const char *fmt, ...)
{
	char msg[384], clean[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_sanitize(clean, sizeof(clean), msg);
	if (line > 0)
		snprintf(ld->err, ld->errlen, "%s:%d: %s", ld->path, line, clean);
	else
		snprintf(ld->err, ld->errlen, "%s: %s", ld->path, clean);
	return code;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Decimal, no sign, no leading zeros beyond "0", within [min, max]. */
static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long v = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -1;
	}
	if (v < min)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* RFC 3986 characters we accept in a configured URL (no '%': endpoints and
 * base URLs are written out literally). */
static int url_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("-._~:/[]!$&'()*+,;=", c) != NULL;
}

/* Checks scheme://host[:port][path]. want_path: 1 = a path starting with
 * '/' is required (endpoint), 0 = nothing may follow the authority
 * (base_url). Host: lowercase DNS name, IPv4 or [IPv6]; no userinfo, no
 * query, no fragment. *origin_len = length of scheme://host[:port]. */
static const char *check_url(const char *u, int want_path, int insecure_ok, size_t *origin_len,
			     int *https)
{
	const char *h, *p, *colon = NULL;
	size_t hl;

	if (strlen(u) > 1024)
		return "URL too long";
	for (p = u; *p; p++)
		if (!url_char((unsigned char)*p))
			return "URL has a character outside [A-Za-z0-9-._~:/[]!$&'()*+,;=]";
	if (strncmp(u, "https://", 8) == 0) {
		h = u + 8;
		*https = 1;
	} else if (strncmp(u, "http://", 7) == 0) {
		h = u + 7;
		*https = 0;
	} else {
		return "URL must start with https://";
	}
	for (p = h; *p && *p != '/'; p++)
		if (*p == '?' || *p == '#' || *p == '@')
			return "URL may not have userinfo, query or fragment";
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(p - h));
		char v6[64];
		struct in6_addr a6;
		if (!rb || (size_t)(rb - h - 1) >= sizeof(v6))
			return "bad IPv6 host";
		memcpy(v6, h + 1, (size_t)(rb - h - 1));
		v6[rb - h - 1] = '\0';
		if (inet_pton(AF_INET6, v6, &a6) != 1)
			return "bad IPv6 host";
		if (rb + 1 < p && rb[1] != ':')
			return "bad IPv6 host";
		colon = rb + 1 < p ? rb + 1 : NULL;
		hl = (size_t)(rb + 1 - h);
	} else {
		colon = memchr(h, ':', (size_t)(p - h));
		hl = colon ? (size_t)(colon - h) : (size_t)(p - h);
		if (hl == 0 || hl > 253)
			return "URL has no host";
		for (size_t i = 0; i < hl; i++) {
			char c = h[i];
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			      c == '.'))
				return "host must be lowercase letters, digits, '-' and '.'";
		}
		if (h[0] == '.' || h[hl - 1] == '.')
			return "host has an empty label or a trailing dot";
		for (size_t i = 0; i + 1 < hl; i++)
			if (h[i] == '.' && h[i + 1] == '.')
				return "host has an empty label";
	}
	if (colon) {
		unsigned port;
		char pb[8];
		size_t pl = (size_t)(p - colon - 1);
		if (pl == 0 || pl >= sizeof(pb))
			return "bad port";
		memcpy(pb, colon + 1, pl);
		pb[pl] = '\0';
		if (parse_uint(pb, 1, 65535, &port) != 0)
			return "bad port";
	}
	if (!*https && !(insecure_ok && url_is_loopback_host(h, hl)))
		return "URL must be https (http only for 127.0.0.1/localhost with "
		       "allow_insecure_loopback = yes)";
	*origin_len = (size_t)(p - u);
	if (want_path) {
		if (*p != '/')
			return "URL must have a path";
	} else if (*p) {
		return "base_url must be scheme://host[:port] without a path or trailing '/'";
	}
	return NULL;
}

static int add_str(char ***list, size_t *n, const char *v)
{
	char **nl;

	if (*n >= LIST_MAX)
		return ERR_TOO_LARGE;
	if (!(nl = realloc(*list, (*n + 1) * sizeof(*nl))))
		return ERR_NOMEM;
	*list = nl;
	if (!(nl[*n] = strdup(v)))
		return ERR_NOMEM;
	(*n)++;
	return ERR_OK;
}

int rconf_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	const char *colon;
	char host[64];
	unsigned port;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (!s || !(colon = strrchr(s, ':')) || parse_uint(colon + 1, 0, 65535, &port) != 0)
		return ERR_CONFIG;
	hl = (size_t)(colon - s);
	if (hl == 0 || hl >= sizeof(host))
		return ERR_CONFIG;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (host[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		if (hl < 3 || host[hl - 1] != ']')
			return ERR_CONFIG;
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
			return ERR_CONFIG;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((unsigned short)port);
		*len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
		if (strcmp(host, "localhost") == 0)
			strcpy(host, "127.0.0.1");
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return ERR_CONFIG;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((unsigned short)port);
		*len = sizeof(*a4);
	}
	return ERR_OK;
}

/* ---- one handler per kind of value ---------------------------------------------- */

static int set_listen(struct loader *ld, struct rconf *c, const struct key_def *k, int line,
		      const char *v)
{
	(void)k;
	if (strlen(v) >= sizeof(c->listen) ||
	    rconf_parse_listen(v, &c->listen_addr, &c->listen_len) != 0)
		return fail(ld, line, ERR_CONFIG,
			    "listen: expected HOST:PORT (IPv4, [IPv6] or localhost)");
	snprintf(c->listen, sizeof(c->listen), "%s", v);
	return ERR_OK;
}

static int set_metrics_listen(struct loader *ld, struct rconf *c, const struct key_def *k, int line,
			      const char *v)
{
	(void)k;
	if (strcmp(v, "off") == 0) {
		c->metrics_on = 0;
		memset(&c->metrics_addr, 0, sizeof(c->metrics_addr));
		c->metrics_len = 0;
	} else if (strlen(v) >= sizeof(c->metrics_listen) ||
		   rconf_parse_listen(v, &c->metrics_addr, &c->metrics_len) != 0) {
		return fail(
			ld, line, ERR_CONFIG,
			"metrics_listen: expected HOST:PORT (IPv4, [IPv6] or localhost) or off");
	} else {
		c->metrics_on = 1;
	}
	snprintf(c->metrics_listen, sizeof(c->metrics_listen), "%s", v);
	return ERR_OK;
}

/* base_url is checked once the whole file is read: it depends on
 * allow_insecure_loopback, wherever that line is. */
static int set_base_url(struct loader *ld, struct rconf *c, const struct key_def *k, int line,
			const char *v)
{
	(void)ld, (void)k, (void)line;
	return (c->base_url = strdup(v)) ? ERR_OK : ERR_NOMEM;
}

/* Checked at the end, like base_url; the loader keeps each one's line. */
static int set_endpoint(struct loader *ld, struct rconf *c, const struct key_def *k, int line,
			const char *v)
{
	int *nl, r;

	(void)k;
	if ((r = add_str(&c->endpoints, &c->n_endpoints, v)) != 0)
		return r == ERR_NOMEM ? r : fail(ld, line, ERR_CONFIG, "too many endpoints");
	if (!(nl = realloc(ld->endpoint_lines, c->n_endpoints * sizeof(*nl))))
		return ERR_NOMEM;
	ld->endpoint_lines = nl;
	nl[c->n_endpoints - 1] = line;
	return ERR_OK;
}

static int set_client_id(struct loader *ld, struct rconf *c, const struct key_def *k, int line,
			 const char *v)
{
	int r;

	(void)k;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return fail(ld, line, ERR_CONFIG,
				    "allowed_client_id: printable ASCII without spaces");
	if (strlen(v) > 255)
		return fail(ld, line, ERR_CONFIG, "allowed_client_id: too long");
	if ((r = add_str(&c->client_ids, &c->n_client_ids, v)) != 0)
		return r == ERR_NOMEM ? r : fail(ld, line, ERR_CONFIG, "too many client ids");
	return ERR_OK;
}

/* Read once the whole file is parsed, so that every error about the file
 * itself names its line. */
static int set_secret_file(struct loader *ld, struct rconf *c, const struct key_def *k, int line,
			   const char *v)
{
	(void)c, (void)k;
	if (v[0] != '/')
		return fail(ld, line, ERR_CONFIG,
			    "registration_secret_file: must be an absolute path");
	if (ld->n_secret_files >= RCONF_MAX_REG_SECRETS)
		return fail(ld, line, ERR_CONFIG, "registration_secret_file: at most %d files",
			    RCONF_MAX_REG_SECRETS);
	for (size_t i = 0; i < ld->n_secret_files; i++)
		if (strcmp(ld->secret_files[i], v) == 0)
			return fail(ld, line, ERR_CONFIG,
				    "registration_secret_file: %s already given on line %d", v,
				    ld->secret_lines[i]);
	if (!(ld->secret_files[ld->n_secret_files] = strdup(v)))
		return ERR_NOMEM;
	ld->secret_lines[ld->n_secret_files++] = line;
	return ERR_OK;
}

static int set_uint(struct loader *ld, struct rconf *c, const struct key_def *k, int line,
		    const char *v)
{
	if (parse_uint(v, k->min, k->max, (unsigned *)(void *)((char *)c + k->off)) != 0)
		return fail(ld, line, ERR_CONFIG, "%s: %u..%u%s", k->name, k->min, k->max,
			    k->unit ? k->unit : "");
	return ERR_OK;
}

static int set_bool(struct loader *ld, struct rconf *c, const struct key_def *k, int line,
		    const char *v)
{
	int *p = (int *)(void *)((char *)c + k->off);

	if (strcmp(v, "yes") == 0)
		*p = 1;
	else if (strcmp(v, "no") == 0)
		*p = 0;
	else
		return fail(ld, line, ERR_CONFIG, "%s: yes or no", k->name);
	return ERR_OK;
}

/* One "ADDR[/PREFIX]" of trusted_proxies. An IPv4-mapped IPv6 network
 * (::ffff:a.b.c.d/96+N) is stored as the IPv4 network a.b.c.d/N. */
static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static int parse_net(struct loader *ld, int line, const char *tok, struct rconf_net *n)
{
	char a[INET6_ADDRSTRLEN + 8], shown[INET6_ADDRSTRLEN];
	const char *slash = strchr(tok, '/');
	size_t al = slash ? (size_t)(slash - tok) : strlen(tok);
	unsigned max, bits;

	memset(n, 0, sizeof(*n));
	if (al == 0 || al >= sizeof(a))
		goto bad_addr;
	memcpy(a, tok, al);
	a[al] = '\0';
	if (inet_pton(AF_INET, a, n->addr) == 1) {
		n->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, a, n->addr) == 1) {
		n->family = AF_INET6;
		max = 128;
	} else {
		goto bad_addr;
	}
	n->prefix = max;
	if (slash && parse_uint(slash + 1, 1, max, &n->prefix) != 0)
		return fail(ld, line, ERR_CONFIG,
			    "trusted_proxies: bad prefix length in \"%s\" (IPv4 /1../32, IPv6 "
			    "/1../128; /0 would trust every client)",
			    tok);
	if (n->family == AF_INET6 && memcmp(n->addr, v4mapped, sizeof(v4mapped)) == 0) {
		if (n->prefix < 96)
			return fail(ld, line, ERR_CONFIG,
				    "trusted_proxies: \"%s\": write IPv4 networks as IPv4", tok);
		memmove(n->addr, n->addr + 12, 4);
		memset(n->addr + 4, 0, 12);
		n->family = AF_INET;
		n->prefix -= 96;
		max = 32;
		if (n->prefix == 0)
			return fail(ld, line, ERR_CONFIG,
				    "trusted_proxies: bad prefix length in \"%s\" (IPv4 /1../32, "
				    "IPv6 /1../128; /0 would trust every client)",
				    tok);
	}
	bits = 0;
	for (unsigned i = n->prefix; i < max; i++)
		bits |= n->addr[i / 8] & (0x80u >> (i % 8));
	if (bits) {
		for (unsigned i = n->prefix; i < max; i++)
			n->addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
		inet_ntop(n->family, n->addr, shown, sizeof(shown));
		return fail(ld, line, ERR_CONFIG,
			    "trusted_proxies: \"%s\" has host bits set (the network is %s/%u)", tok,
			    shown, n->prefix);
	}
	return ERR_OK;
bad_addr:
	return fail(ld, line, ERR_CONFIG,
		    "trusted_proxies: \"%s\" is not an IPv4 or IPv6 address[/prefix]", tok);
}

/* Repeatable, and each value a space-separated list. */
static int set_proxies(struct loader *ld, struct rconf *c, const struct key_def *k, int line,
		       const char *v)
{
	(void)k;
	while (*v) {
		char tok[INET6_ADDRSTRLEN + 8];
		size_t tl = strcspn(v, " \t");
		struct rconf_net *nl;
		int r;

		if (tl >= sizeof(tok))
			return fail(ld, line, ERR_CONFIG,
				    "trusted_proxies: \"%.*s\" is not an IPv4 or IPv6 "
				    "address[/prefix]",
				    (int)(tl > 64 ? 64 : tl), v);
		memcpy(tok, v, tl);
		tok[tl] = '\0';
		if (c->n_proxies >= RCONF_MAX_PROXIES)
			return fail(ld, line, ERR_CONFIG, "trusted_proxies: at most %d networks",
				    RCONF_MAX_PROXIES);
		if (!(nl = realloc(c->proxies, (c->n_proxies + 1) * sizeof(*nl))))
			return ERR_NOMEM;
		c->proxies = nl;
		if ((r = parse_net(ld, line, tok, &nl[c->n_proxies])) != 0)
			return r;
		c->n_proxies++;
		v += tl;
		v += strspn(v, " \t");
	}
	return ERR_OK;
}

static int set_store(struct loader *ld, struct rconf *c, const struct key_def *k, int line,
		     const char *v)
{
	(void)k;
	if (strcmp(v, "memory") == 0)
		c->store_redis = 0;
	else if (strcmp(v, "redis") == 0)
		c->store_redis = 1;
	else
		return fail(ld, line, ERR_CONFIG, "store: memory or redis");
	return ERR_OK;
}

/* redis://HOST[:PORT][/DB] (HOST: IPv4, [IPv6] or a lowercase DNS name) or
 * unix:/absolute/path. No userinfo (the password has its own file), no
 * TLS (rediss://: not in Debian's hiredis 0.14). */
static int set_redis_url(struct loader *ld, struct rconf *c, const struct key_def *k, int line,
			 const char *v)
{
	static const char usage[] = "redis_url: expected redis://HOST[:PORT][/DB] or unix:/PATH";
	const char *h, *p, *end;
	char host[256], num[8];
	size_t hl;

	(void)k;
	if (!(ld->redis_url = strdup(v)))
		return ERR_NOMEM;
	for (p = v; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return fail(ld, line, ERR_CONFIG, "%s", usage);
	if (strncmp(v, "unix:", 5) == 0) {
		struct sockaddr_un su;
		if (v[5] != '/')
			return fail(ld, line, ERR_CONFIG,
				    "redis_url: unix: needs an absolute socket path");
		if (strlen(v + 5) >= sizeof(su.sun_path))
			return fail(ld, line, ERR_CONFIG,
				    "redis_url: socket path longer than %zu bytes",
				    sizeof(su.sun_path) - 1);
		return (c->redis_unix = strdup(v + 5)) ? ERR_OK : ERR_NOMEM;
	}
	if (strncmp(v, "rediss://", 9) == 0)
		return fail(ld, line, ERR_CONFIG,
			    "redis_url: rediss:// (TLS) is not supported; use a unix socket or "
			    "a private network");
	if (strncmp(v, "redis://", 8) != 0)
		return fail(ld, line, ERR_CONFIG, "%s", usage);
	h = v + 8;
	end = h + strcspn(h, "/");
	if (memchr(h, '@', (size_t)(end - h)) || strpbrk(h, "?#"))
		return fail(ld, line, ERR_CONFIG,
			    "redis_url: no user, password, query or fragment in the URL (use "
			    "redis_password_file)");
	c->redis_port = RCONF_REDIS_DEFAULT_PORT;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));
		struct in6_addr a6;
		if (!rb || (size_t)(rb - h - 1) >= sizeof(host))
			return fail(ld, line, ERR_CONFIG, "redis_url: bad IPv6 host");
		hl = (size_t)(rb - h - 1);
		memcpy(host, h + 1, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return fail(ld, line, ERR_CONFIG, "redis_url: bad IPv6 host");
		p = rb + 1;
		if (p < end && *p != ':')
			return fail(ld, line, ERR_CONFIG, "redis_url: bad IPv6 host");
	} else {
		p = memchr(h, ':', (size_t)(end - h));
		if (!p)
			p = end;
		hl = (size_t)(p - h);
		if (hl == 0 || hl > 253)
			return fail(ld, line, ERR_CONFIG, "redis_url: no host");
		for (size_t i = 0; i < hl; i++)
			if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= '0' && h[i] <= '9') ||
			      h[i] == '-' || h[i] == '.'))
				return fail(
					ld, line, ERR_CONFIG,
					"redis_url: host must be lowercase letters, digits, '-' "
					"and '.'");
		for (size_t i = 0; i < hl; i++)
			if (h[i] == '.' && (i == 0 || i + 1 == hl || h[i + 1] == '.'))
				return fail(ld, line, ERR_CONFIG,
					    "redis_url: host has an empty label");
		memcpy(host, h, hl);
		host[hl] = '\0';
	}
	if (p < end) { /* ":PORT" */
		size_t pl = (size_t)(end - p - 1);
		if (pl == 0 || pl >= sizeof(num))
			return fail(ld, line, ERR_CONFIG, "redis_url: port 1..65535");
		memcpy(num, p + 1, pl);
		num[pl] = '\0';
		if (parse_uint(num, 1, 65535, &c->redis_port) != 0)
			return fail(ld, line, ERR_CONFIG, "redis_url: port 1..65535");
	}
	if (*end == '/' && parse_uint(end + 1, 0, 255, &c->redis_db) != 0)
		return fail(ld, line, ERR_CONFIG, "redis_url: database number 0..255 after '/'");
	return (c->redis_host = strdup(host)) ? ERR_OK : ERR_NOMEM;
}

static int set_redis_password_file(struct loader *ld, struct rconf *c, const struct key_def *k,
				   int line, const char *v)
{
	(void)c, (void)k;
	if (v[0] != '/')
		return fail(ld, line, ERR_CONFIG, "redis_password_file: must be an absolute path");
	return (ld->redis_password_file = strdup(v)) ? ERR_OK : ERR_NOMEM;
}

#define U(m) offsetof(struct rconf, m)

/* Every key the file may hold. */
static const struct key_def keys[] = {
	{ "listen", set_listen, 0, 0, 0, 0, NULL },
	{ "base_url", set_base_url, 0, 0, 0, 0, NULL },
	{ "allowed_authorization_endpoint", set_endpoint, 1, 0, 0, 0, NULL },
	{ "allowed_client_id", set_client_id, 1, 0, 0, 0, NULL },
	{ "registration_secret_file", set_secret_file, 1, 0, 0, 0, NULL },
	{ "open_registration", set_bool, 0, U(open_registration), 0, 0, NULL },
	{ "max_sessions", set_uint, 0, U(max_sessions), 1, 1000000, NULL },
	{ "max_ttl", set_uint, 0, U(max_ttl), 1, RCONF_MAX_TTL_LIMIT, " seconds" },
	{ "max_connections", set_uint, 0, U(max_connections), 4, 65536, NULL },
	{ "max_connections_per_ip", set_uint, 0, U(max_connections_per_ip), 0, 65536, NULL },
	{ "allow_insecure_loopback", set_bool, 0, U(allow_insecure_loopback), 0, 0, NULL },
	{ "threads", set_uint, 0, U(threads), 0, RCONF_MAX_THREADS, " (0: one per online CPU)" },
	{ "metrics_listen", set_metrics_listen, 0, 0, 0, 0, NULL },
	{ "trusted_proxies", set_proxies, 1, 0, 0, 0, NULL },
	{ "store", set_store, 0, 0, 0, 0, NULL },
	{ "redis_url", set_redis_url, 0, 0, 0, 0, NULL },
	{ "redis_password_file", set_redis_password_file, 0, 0, 0, 0, NULL },
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

_Static_assert(N_KEYS <= KEYS_MAX, "struct loader.line_of needs one slot per key");

#undef U

/* The line a key was first set on, 0 if never. */
static int line_of(const struct loader *ld, const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return ld->line_of[i];
	return 0;
}

static int set_key(struct loader *ld, struct rconf *c, int line, const char *k, const char *v)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		if (strcmp(keys[i].name, k) != 0)
			continue;
		if (ld->line_of[i] && !keys[i].repeatable)
			return fail(ld, line, ERR_CONFIG, "duplicate key \"%s\"", k);
		if (!ld->line_of[i])
			ld->line_of[i] = line;
		return keys[i].set(ld, c, &keys[i], line, v);
	}
	return fail(ld, line, ERR_CONFIG, "unknown key \"%s\"", k);
}

/* A secret file (registration_secret_file, redis_password_file): a regular
 * file, not a symlink, owned by us or root, not group/world accessible;
 * printable ASCII without spaces, >= 16 bytes, one optional trailing
 * newline. key names the key in errors. On success buf[0..*len) holds the
 * secret; the caller wipes buf (SECRET_FILE_MAX + 1 bytes) on every path. */
static int read_secret(struct loader *ld, const char *key, const char *file, int line, char *buf,
		       size_t *lenp)
{
	char ferr[512], *raw = NULL;
	size_t len = 0;
	int r;

	r = file_read(file, FILE_SECRET, SECRET_FILE_MAX, &raw, &len, ferr, sizeof(ferr));
	if (r != 0)
		return fail(ld, line, r == ERR_TOO_LARGE ? ERR_CONFIG : r, "%s: %s", key, ferr);
	memcpy(buf, raw, len + 1);
	secret_free(raw, SECRET_FILE_MAX + 1);
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len < SECRET_MIN)
		return fail(ld, line, ERR_CONFIG, "%s: secret shorter than %d bytes", key,
			    SECRET_MIN);
	for (size_t i = 0; i < len; i++)
		if (buf[i] <= 0x20 || buf[i] >= 0x7f)
			return fail(ld, line, ERR_CONFIG,
				    "%s: secret must be one line of printable ASCII without spaces",
				    key);
	*lenp = len;
	return ERR_OK;
}

/* Only the SHA-256 of each registration secret is kept. */
static int load_reg_secrets(struct loader *ld, struct rconf *c)
{
	char buf[SECRET_FILE_MAX + 1];
	size_t len = 0;
	int r = ERR_OK;

	if (!ld->n_secret_files)
		return ERR_OK;
	if (!(c->reg_hashes = calloc(ld->n_secret_files, sizeof(*c->reg_hashes))))
		return ERR_NOMEM;
	for (size_t i = 0; i < ld->n_secret_files; i++) {
		if ((r = read_secret(ld, "registration_secret_file", ld->secret_files[i],
				     ld->secret_lines[i], buf, &len)) != 0)
			break;
		SHA256((const unsigned char *)buf, len, c->reg_hashes[i]);
		c->n_reg_hashes++;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

static int load_redis_password(struct loader *ld, struct rconf *c)
{
	char buf[SECRET_FILE_MAX + 1];
	size_t len = 0;
	int r;

	r = read_secret(ld, "redis_password_file", ld->redis_password_file,
			line_of(ld, "redis_password_file"), buf, &len);
	if (r == ERR_OK) {
		if ((c->redis_password = malloc(len + 1))) {
			memcpy(c->redis_password, buf, len);
			c->redis_password[len] = '\0';
		} else {
			r = ERR_NOMEM;
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

static int build_csp(struct rconf *c)
{
	/* 'self' plus each distinct IdP origin: Chromium applies form-action to
	 * the redirect that follows the context page's POST (RLY-09). */
	size_t need = 256, o;
	char *csp;

	for (size_t i = 0; i < c->n_endpoints; i++)
		need += strlen(c->endpoints[i]) + 1;
	if (!(csp = malloc(need)))
		return ERR_NOMEM;
	o = (size_t)snprintf(csp, need,
			     "default-src 'none'; style-src 'unsafe-inline'; "
			     "form-action 'self'");
	for (size_t i = 0; i < c->n_endpoints; i++) {
		size_t ol = 0;
		int https = 0, dup = 0;
		check_url(c->endpoints[i], 1, c->allow_insecure_loopback, &ol, &https);
		for (size_t j = 0; j < i && !dup; j++)
			dup = strncmp(c->endpoints[j], c->endpoints[i], ol) == 0 &&
			      (c->endpoints[j][ol] == '/');
		if (dup)
			continue;
		o += (size_t)snprintf(csp + o, need - o, " %.*s", (int)ol, c->endpoints[i]);
	}
	snprintf(csp + o, need - o, "; frame-ancestors 'none'; base-uri 'none'");
	c->csp = csp;
	return ERR_OK;
}

static int parse_text(struct loader *ld, struct rconf *c, char *text)
{
	char *line = text, *nl, *eq, *k, *v;
	int lineno = 0, r;

	for (; line && *line; line = nl) {
		lineno++;
		if ((nl = strchr(line, '\n')))
			*nl++ = '\0';
		if (strlen(line) > LINE_MAX_LEN)
			return fail(ld, lineno, ERR_CONFIG, "line too long");
		for (char *p = line; *p; p++)
			if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\r')
				return fail(ld, lineno, ERR_CONFIG, "control character");
		k = trim(line);
		if (*k == '\0' || *k == '#')
			continue;
		if (!(eq = strchr(k, '=')))
			return fail(ld, lineno, ERR_CONFIG, "expected \"key = value\"");
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		if (*v == '\0')
			return fail(ld, lineno, ERR_CONFIG, "empty value for \"%s\"", k);
		if ((r = set_key(ld, c, lineno, k, v)) != 0)
			return r;
	}
	return ERR_OK;
}

/* The configuration through lib/file.c (no symlink, root or our own, not
 * group/world writable, FILE_MAX); fail() names the file, so ferr's own
 * "path: " prefix is skipped. */
static int read_file(struct loader *ld, char **out)
{
	char ferr[512], *buf = NULL;
	const char *why = ferr;
	size_t len = 0, pl = strlen(ld->path);
	int r;

	if ((r = file_read(ld->path, 0, FILE_MAX, &buf, &len, ferr, sizeof(ferr))) != 0) {
		if (strncmp(ferr, ld->path, pl) == 0 && strncmp(ferr + pl, ": ", 2) == 0)
			why = ferr + pl + 2;
		return fail(ld, 0, r == ERR_TOO_LARGE ? ERR_CONFIG : r, "%s", why);
	}
	if (memchr(buf, '\0', len)) {
		free(buf);
		return fail(ld, 0, ERR_CONFIG, "NUL byte in file");
	}
	*out = buf;
	return ERR_OK;
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_port != 0 &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port && x->sin6_port != 0 &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

/* What one key allows depends on another: checked once the whole file is
 * read, so the order of lines does not matter. */
static int check_relations(struct loader *ld, struct rconf *c)
{
	if (c->open_registration && ld->n_secret_files)
		return fail(ld, line_of(ld, "open_registration"), ERR_CONFIG,
			    "open_registration = yes and registration_secret_file exclude each "
			    "other");
	if (!c->open_registration && !ld->n_secret_files)
		return fail(ld, 0, ERR_CONFIG_MISSING,
			    "registration needs a credential: set registration_secret_file "
			    "(or open_registration = yes, for tests and demos only)");
	if (c->store_redis && !ld->redis_url)
		return fail(ld, line_of(ld, "store"), ERR_CONFIG_MISSING,
			    "store = redis needs redis_url");
	if (!c->store_redis && ld->redis_url)
		return fail(ld, line_of(ld, "redis_url"), ERR_CONFIG,
			    "redis_url: only with store = redis");
	if (!c->store_redis && ld->redis_password_file)
		return fail(ld, line_of(ld, "redis_password_file"), ERR_CONFIG,
			    "redis_password_file: only with store = redis");
	if (c->metrics_on && same_addr(&c->metrics_addr, &c->listen_addr))
		return fail(ld, line_of(ld, "metrics_listen"), ERR_CONFIG,
			    "metrics_listen: must differ from listen (%s)", c->listen);
	return ERR_OK;
}

int rconf_load(const char *path, const char *listen, struct rconf *c, char *err, size_t errlen)
{
	struct loader ld = { .path = path, .err = err, .errlen = errlen };
	char *text = NULL;
	const char *why;
	size_t ol;
	int r, https;

	memset(c, 0, sizeof(*c));
	c->max_sessions = 10000;
	c->max_ttl = RCONF_MAX_TTL_LIMIT;
	c->max_connections = 1024;
	c->max_connections_per_ip = 64;
	snprintf(c->listen, sizeof(c->listen), "%s", RCONF_DEFAULT_LISTEN);
	rconf_parse_listen(c->listen, &c->listen_addr, &c->listen_len);
	snprintf(c->metrics_listen, sizeof(c->metrics_listen), "%s", RCONF_DEFAULT_METRICS_LISTEN);
	rconf_parse_listen(c->metrics_listen, &c->metrics_addr, &c->metrics_len);
	c->metrics_on = 1;
	if (err && errlen)
		err[0] = '\0';

	if ((r = read_file(&ld, &text)) != 0)
		goto out;
	if ((r = parse_text(&ld, c, text)) != 0)
		goto out;
	if (listen) {
		if (strlen(listen) >= sizeof(c->listen) ||
		    rconf_parse_listen(listen, &c->listen_addr, &c->listen_len) != 0) {
			snprintf(err, errlen,
				 "--listen: expected HOST:PORT (IPv4, [IPv6] or localhost)");
			r = ERR_CONFIG;
			goto out;
		}
		snprintf(c->listen, sizeof(c->listen), "%s", listen);
	}
	if (!c->base_url) {
		r = fail(&ld, 0, ERR_CONFIG_MISSING, "base_url is required");
		goto out;
	}
	if ((why = check_url(c->base_url, 0, c->allow_insecure_loopback, &ol, &c->https))) {
		r = fail(&ld, line_of(&ld, "base_url"), ERR_CONFIG, "base_url: %s", why);
		goto out;
	}
	if (!c->n_endpoints) {
		r = fail(&ld, 0, ERR_CONFIG_MISSING,
			 "at least one allowed_authorization_endpoint is required");
		goto out;
	}
	for (size_t i = 0; i < c->n_endpoints; i++)
		if ((why = check_url(c->endpoints[i], 1, c->allow_insecure_loopback, &ol,
				     &https))) {
			r = fail(&ld, ld.endpoint_lines[i], ERR_CONFIG,
				 "allowed_authorization_endpoint: %s", why);
			goto out;
		}
	if (!c->n_client_ids) {
		r = fail(&ld, 0, ERR_CONFIG_MISSING, "at least one allowed_client_id is required");
		goto out;
	}
	if ((r = check_relations(&ld, c)) != 0)
		goto out;
	r = ERR_NOMEM;
	if (!(c->callback_url = malloc(strlen(c->base_url) + sizeof("/callback"))))
		goto out;
	strcpy(c->callback_url, c->base_url);
	strcat(c->callback_url, "/callback");
	if ((r = build_csp(c)) != 0)
		goto out;
	if ((r = load_reg_secrets(&ld, c)) != 0)
		goto out;
	if (ld.redis_password_file && (r = load_redis_password(&ld, c)) != 0)
		goto out;
	r = ERR_OK;
out:
	if (r == ERR_NOMEM && err && errlen && !err[0])
		snprintf(err, errlen, "%s: out of memory", path);
	free(text);
	free(ld.endpoint_lines);
	for (size_t i = 0; i < ld.n_secret_files; i++)
		free(ld.secret_files[i]);
	free(ld.redis_url);
	free(ld.redis_password_file);
	if (r != ERR_OK)
		rconf_cleanup(c);
	return r;
}

void rconf_cleanup(struct rconf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_endpoints; i++)
		free(c->endpoints[i]);
	for (size_t i = 0; i < c->n_client_ids; i++)
		free(c->client_ids[i]);
	free(c->endpoints);
	free(c->client_ids);
	free(c->base_url);
	free(c->callback_url);
	free(c->csp);
	secret_free(c->reg_hashes, c->n_reg_hashes * sizeof(*c->reg_hashes));
	free(c->proxies);
	free(c->redis_host);
	free(c->redis_unix);
	secret_str_free(c->redis_password);
	memset(c, 0, sizeof(*c));
}

int rconf_reg_authorized(const struct rconf *cf, const char *tok, size_t toklen)
{
	unsigned char h[SHA256_DIGEST_LENGTH];
	int match = 0;

	if (cf->open_registration)
		return 1;
	if (!tok || toklen == 0 || cf->n_reg_hashes == 0)
		return 0;
	SHA256((const unsigned char *)tok, toklen, h);
	for (size_t i = 0; i < cf->n_reg_hashes; i++)
		match |= CRYPTO_memcmp(h, cf->reg_hashes[i], sizeof(h)) == 0;
	OPENSSL_cleanse(h, sizeof(h));
	return match;
}

static int in_net(const struct rconf_net *n, int family, const unsigned char *a)
{
	unsigned full = n->prefix / 8, rest = n->prefix % 8;

	if (n->family != family || memcmp(n->addr, a, full) != 0)
		return 0;
	return rest == 0 || ((n->addr[full] ^ a[full]) & (0xff00u >> rest) & 0xffu) == 0;
}

int rconf_is_trusted_proxy(const struct rconf *cf, const struct sockaddr *sa)
{
	unsigned char a[16];
	int family;

	if (!cf || !sa || !cf->n_proxies)
		return 0;
	if (sa->sa_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 =
			&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(a, a6->s6_addr + 12, 4);
			family = AF_INET;
		} else {
			memcpy(a, a6->s6_addr, 16);
			family = AF_INET6;
		}
	} else {
		return 0;
	}
	for (size_t i = 0; i < cf->n_proxies; i++)
		if (in_net(&cf->proxies[i], family, a))
			return 1;
	return 0;
}
