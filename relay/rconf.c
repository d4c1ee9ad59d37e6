/* rconf.c: strict relay configuration. */
#include "rconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

#define LINE_MAX_LEN	4096
#define FILE_MAX	(256 * 1024)
#define SECRET_FILE_MAX 4096
#define SECRET_MIN	16
#define LIST_MAX	64

struct loader {
	const char *path;
	char *err;
	size_t errlen;
	int seen_listen, seen_base, seen_secret, seen_max_sessions, seen_max_ttl, seen_insecure,
		seen_max_conn, seen_max_conn_ip;
	int base_line, secret_line;
	int *endpoint_lines;
	char *secret_file;
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

static int is_loopback_host(const char *h, size_t n)
{
	return (n == 9 && memcmp(h, "127.0.0.1", 9) == 0) ||
	       (n == 9 && memcmp(h, "localhost", 9) == 0) || (n == 5 && memcmp(h, "[::1]", 5) == 0);
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
	if (!*https && !(insecure_ok && is_loopback_host(h, hl)))
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

/* The registration secret: a regular file owned by us or root, not
 * group/world accessible; printable ASCII, >= 16 bytes, one optional
 * trailing newline. Only its SHA-256 is kept. */
static int load_secret(struct loader *ld, struct rconf *c)
{
	char buf[SECRET_FILE_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, r;

	fd = open(ld->secret_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return fail(ld, ld->secret_line, ERR_IO,
			    "registration_secret_file: cannot open %s: %s", ld->secret_file,
			    strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(ld, ld->secret_line, ERR_CONFIG_PERM,
			    "registration_secret_file: %s is not a regular file", ld->secret_file);
	}
	if (st.st_mode & 077) {
		close(fd);
		return fail(
			ld, ld->secret_line, ERR_CONFIG_PERM,
			"registration_secret_file: %s must not be accessible by group or others "
			"(chmod 600)",
			ld->secret_file);
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		close(fd);
		return fail(
			ld, ld->secret_line, ERR_CONFIG_PERM,
			"registration_secret_file: %s must be owned by root or the relay's user",
			ld->secret_file);
	}
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	r = ERR_OK;
	if (len > SECRET_FILE_MAX) {
		r = fail(ld, ld->secret_line, ERR_CONFIG, "registration_secret_file: too large");
		goto out;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len < SECRET_MIN) {
		r = fail(ld, ld->secret_line, ERR_CONFIG,
			 "registration_secret_file: secret shorter than %d bytes", SECRET_MIN);
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		if (buf[i] <= 0x20 || buf[i] >= 0x7f) {
			r = fail(ld, ld->secret_line, ERR_CONFIG,
				 "registration_secret_file: secret must be one line of printable "
				 "ASCII without spaces");
			goto out;
		}
	if (!c->reg_hashes && !(c->reg_hashes = calloc(RCONF_MAX_REG_SECRETS, 32))) {
		r = ERR_NOMEM;
		goto out;
	}
	SHA256((const unsigned char *)buf, len, c->reg_hashes[c->n_reg_hashes++]);
	memcpy(c->reg_secret_hash, c->reg_hashes[0], sizeof(c->reg_secret_hash));
	c->has_reg_secret = 1;
out:
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

static int set_key(struct loader *ld, struct rconf *c, int line, const char *k, const char *v)
{
	int r;

#define ONCE(flag)                                                                                 \
	do {                                                                                       \
		if (ld->flag)                                                                      \
			return fail(ld, line, ERR_CONFIG, "duplicate key \"%s\"", k);              \
		ld->flag = line;                                                                   \
	} while (0)

	if (strcmp(k, "listen") == 0) {
		ONCE(seen_listen);
		if (strlen(v) >= sizeof(c->listen) ||
		    rconf_parse_listen(v, &c->listen_addr, &c->listen_len) != 0)
			return fail(ld, line, ERR_CONFIG,
				    "listen: expected HOST:PORT (IPv4, [IPv6] or localhost)");
		snprintf(c->listen, sizeof(c->listen), "%s", v);
	} else if (strcmp(k, "base_url") == 0) {
		ONCE(seen_base);
		ld->base_line = line;
		if (!(c->base_url = strdup(v)))
			return ERR_NOMEM;
	} else if (strcmp(k, "allowed_authorization_endpoint") == 0) {
		int *nl;
		if ((r = add_str(&c->endpoints, &c->n_endpoints, v)) != 0)
			return r == ERR_NOMEM ? r
					      : fail(ld, line, ERR_CONFIG, "too many endpoints");
		if (!(nl = realloc(ld->endpoint_lines, c->n_endpoints * sizeof(*nl))))
			return ERR_NOMEM;
		ld->endpoint_lines = nl;
		nl[c->n_endpoints - 1] = line;
	} else if (strcmp(k, "allowed_client_id") == 0) {
		for (const char *p = v; *p; p++)
			if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
				return fail(ld, line, ERR_CONFIG,
					    "allowed_client_id: printable ASCII without spaces");
		if (strlen(v) > 255)
			return fail(ld, line, ERR_CONFIG, "allowed_client_id: too long");
		if ((r = add_str(&c->client_ids, &c->n_client_ids, v)) != 0)
			return r == ERR_NOMEM ? r
					      : fail(ld, line, ERR_CONFIG, "too many client ids");
	} else if (strcmp(k, "registration_secret_file") == 0) {
		ONCE(seen_secret);
		ld->secret_line = line;
		if (v[0] != '/')
			return fail(ld, line, ERR_CONFIG,
				    "registration_secret_file: must be an absolute path");
		if (!(ld->secret_file = strdup(v)))
			return ERR_NOMEM;
	} else if (strcmp(k, "max_sessions") == 0) {
		ONCE(seen_max_sessions);
		if (parse_uint(v, 1, 1000000, &c->max_sessions) != 0)
			return fail(ld, line, ERR_CONFIG, "max_sessions: 1..1000000");
	} else if (strcmp(k, "max_ttl") == 0) {
		ONCE(seen_max_ttl);
		if (parse_uint(v, 1, RCONF_MAX_TTL_LIMIT, &c->max_ttl) != 0)
			return fail(ld, line, ERR_CONFIG, "max_ttl: 1..%d seconds",
				    RCONF_MAX_TTL_LIMIT);
	} else if (strcmp(k, "max_connections") == 0) {
		ONCE(seen_max_conn);
		if (parse_uint(v, 4, 65536, &c->max_connections) != 0)
			return fail(ld, line, ERR_CONFIG, "max_connections: 4..65536");
	} else if (strcmp(k, "max_connections_per_ip") == 0) {
		ONCE(seen_max_conn_ip);
		if (parse_uint(v, 0, 65536, &c->max_connections_per_ip) != 0)
			return fail(ld, line, ERR_CONFIG, "max_connections_per_ip: 0..65536");
	} else if (strcmp(k, "allow_insecure_loopback") == 0) {
		ONCE(seen_insecure);
		if (strcmp(v, "yes") == 0)
			c->allow_insecure_loopback = 1;
		else if (strcmp(v, "no") == 0)
			c->allow_insecure_loopback = 0;
		else
			return fail(ld, line, ERR_CONFIG, "allow_insecure_loopback: yes or no");
	} else {
		return fail(ld, line, ERR_CONFIG, "unknown key \"%s\"", k);
	}
#undef ONCE
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

static int read_file(struct loader *ld, char **out)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = open(ld->path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return fail(ld, 0, ERR_IO, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(ld, 0, ERR_CONFIG, "not a regular file");
	}
	if (st.st_mode & 002) {
		close(fd);
		return fail(ld, 0, ERR_CONFIG_PERM, "world-writable configuration refused");
	}
	if (!(buf = malloc(FILE_MAX + 1))) {
		close(fd);
		return ERR_NOMEM;
	}
	while (len <= FILE_MAX && (n = read(fd, buf + len, FILE_MAX + 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			free(buf);
			return fail(ld, 0, ERR_IO, "read error: %s", strerror(errno));
		}
		len += (size_t)n;
	}
	close(fd);
	if (len > FILE_MAX) {
		free(buf);
		return fail(ld, 0, ERR_CONFIG, "file too large");
	}
	if (memchr(buf, '\0', len)) {
		free(buf);
		return fail(ld, 0, ERR_CONFIG, "NUL byte in file");
	}
	buf[len] = '\0';
	*out = buf;
	return ERR_OK;
}

int rconf_load(const char *path, const char *listen, struct rconf *c, char *err, size_t errlen)
{
	struct loader ld = {.path = path, .err = err, .errlen = errlen};
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
		r = fail(&ld, ld.base_line, ERR_CONFIG, "base_url: %s", why);
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
	r = ERR_NOMEM;
	if (!(c->callback_url = malloc(strlen(c->base_url) + sizeof("/callback"))))
		goto out;
	strcpy(c->callback_url, c->base_url);
	strcat(c->callback_url, "/callback");
	if ((r = build_csp(c)) != 0)
		goto out;
	if (ld.secret_file && (r = load_secret(&ld, c)) != 0)
		goto out;
	r = ERR_OK;
out:
	if (r == ERR_NOMEM && err && errlen && !err[0])
		snprintf(err, errlen, "%s: out of memory", path);
	free(text);
	free(ld.endpoint_lines);
	free(ld.secret_file);
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
	if (c->reg_hashes) {
		OPENSSL_cleanse(c->reg_hashes, RCONF_MAX_REG_SECRETS * sizeof(*c->reg_hashes));
		free(c->reg_hashes);
	}
	OPENSSL_cleanse(c->reg_secret_hash, sizeof(c->reg_secret_hash));
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
