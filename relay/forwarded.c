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

int fwd_client(const struct rconf *cf, const struct sockaddr *peer, const char *fwd, size_t fwd_len,
	       const char *xff, size_t xff_len, struct sockaddr_storage *out)
{
	struct sockaddr_storage hop[FWD_MAX_HOPS];
	const char *s = fwd ? fwd : xff;
	size_t n = fwd ? fwd_len : xff_len, nh = 0;

	if (!s || !rconf_is_trusted_proxy(cf, peer))
		return 0;
	/* Parse every hop first: one bad entry and the field is not believed. */
	while (n) {
		const char *comma = memchr(s, ',', n);
		size_t en = comma ? (size_t)(comma - s) : n;
		const char *e = s, *v;
		size_t k = en, vn;

		trim(&e, &k);
		if (nh == FWD_MAX_HOPS)
			return 0;
		if (fwd) {
			if (element_for(e, k, &v, &vn) != 0)
				return 0;
		} else {
			v = e;
			vn = k;
		}
		if (parse_ip(v, vn, &hop[nh++]) != 0)
			return 0;
		if (!comma)
			break;
		s = comma + 1;
		n -= en + 1;
		if (n == 0)
			return 0; /* trailing comma */
	}
	if (nh == 0)
		return 0;
	/* From the right: skip our own proxies; the first other is the client. */
	for (size_t i = nh; i-- > 0;) {
		if (i == 0 || !rconf_is_trusted_proxy(cf, (const struct sockaddr *)&hop[i])) {
			*out = hop[i];
			return 1;
		}
	}
	return 0;
}
