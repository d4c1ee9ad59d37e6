/* forwarded.c: the client address behind trusted proxies; see forwarded.h. */
#include "forwarded.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#define FWD_MAX_HOPS 32

/* An IP literal (IPv4, IPv6, or [IPv6] with an optional :port after the
 * bracket; IPv4 with an optional :port). */
static int parse_ip(const char *s, size_t n, struct sockaddr_storage *out)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *e;

	memset(out, 0, sizeof(*out));
	if (n && s[0] == '[') {
		if (!(e = memchr(s, ']', n)) || (size_t)(e - s - 1) >= sizeof(buf))
			return -1;
		if (e + 1 != s + n && e[1] != ':')
			return -1;
		memcpy(buf, s + 1, (size_t)(e - s - 1));
		buf[e - s - 1] = '\0';
		out->ss_family = AF_INET6;
		return inet_pton(AF_INET6, buf, &((struct sockaddr_in6 *)out)->sin6_addr) == 1 ? 0
											       : -1;
	}
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (memchr(buf, '.', n)) {
		char *colon = strchr(buf, ':');
		if (colon)
			*colon = '\0';
		out->ss_family = AF_INET;
		return inet_pton(AF_INET, buf, &((struct sockaddr_in *)out)->sin_addr) == 1 ? 0
											    : -1;
	}
	out->ss_family = AF_INET6;
	return inet_pton(AF_INET6, buf, &((struct sockaddr_in6 *)out)->sin6_addr) == 1 ? 0 : -1;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* The for= value of one Forwarded element ("for=1.2.3.4;proto=https"). */
static int element_for(const char *s, size_t n, const char **v, size_t *vn)
{
	while (n) {
		const char *semi = memchr(s, ';', n);
		size_t pn = semi ? (size_t)(semi - s) : n;
		const char *p = s;
		size_t k = pn;
		trim(&p, &k);
		if (k > 4 && strncasecmp(p, "for=", 4) == 0) {
			p += 4;
			k -= 4;
			if (k >= 2 && p[0] == '"') {
				if (p[k - 1] != '"')
					return -1;
				p++;
				k -= 2;
			}
			*v = p;
			*vn = k;
			return 0;
		}
		if (!semi)
			break;
		s = semi + 1;
		n -= pn + 1;
	}
	return -1;
}

/* One field, walked from the right: past every trusted proxy, the first
 * other address is the client. An entry that does not parse before that
 * point makes the field worthless (a proxy of ours wrote everything to its
 * right; what is left of the client is the client's own text and is not
 * read). All entries trusted: the leftmost. */
static int from_field(const struct rconf *cf, const char *s, size_t n, int forwarded,
		      struct sockaddr_storage *out)
{
	size_t end = n, hops = 0;

	for (;;) {
		const char *e, *v;
		size_t b = end, k, vn;
		struct sockaddr_storage a;

		while (b > 0 && s[b - 1] != ',')
			b--;
		e = s + b;
		k = end - b;
		trim(&e, &k);
		if (++hops > FWD_MAX_HOPS)
			return 0;
		if (forwarded) {
			if (element_for(e, k, &v, &vn) != 0)
				return 0;
		} else {
			v = e;
			vn = k;
		}
		if (parse_ip(v, vn, &a) != 0)
			return 0;
		if (b == 0 || !rconf_is_trusted_proxy(cf, (const struct sockaddr *)&a)) {
			*out = a;
			return 1;
		}
		end = b - 1; /* before the comma */
	}
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			      &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

int fwd_client(const struct rconf *cf, const struct sockaddr *peer, const char *fwd, size_t fwd_len,
	       const char *xff, size_t xff_len, struct sockaddr_storage *out)
{
	struct sockaddr_storage a, b;

	if ((!fwd && !xff) || !rconf_is_trusted_proxy(cf, peer))
		return 0;
	if (fwd && xff) {
		/* A proxy that sets one of them passes the other through from
		 * the client: believe them only when they agree. */
		if (from_field(cf, fwd, fwd_len, 1, &a) != 1 ||
		    from_field(cf, xff, xff_len, 0, &b) != 1 || !same_addr(&a, &b))
			return 0;
		*out = a;
		return 1;
	}
	return from_field(cf, fwd ? fwd : xff, fwd ? fwd_len : xff_len, fwd != NULL, out);
}
