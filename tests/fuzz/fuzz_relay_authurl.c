/* fuzz_relay_authurl.c: the authorization URL check (relay/validate.c
 * authurl_check, RLY-01/02/03) against a fixed configuration, built the way
 * rconf_load fills struct rconf. Invariants: a refusal names the
 * authorization_url; an accepted URL is at most AUTH_URL_MAX bytes of RFC
 * 3986 characters, has no fragment, starts with an allowed endpoint and
 * '?', and its query carries the registered state, the relay's
 * redirect_uri, an allowed client_id, response_type=code and S256. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *endpoints[] = { "https://idp.example.org/realms/corp/protocol/openid-connect/auth",
			     "http://127.0.0.1:8081/auth" };
static char *client_ids[] = { "pam-oauth2-pkce", "other client" };
static const struct rconf cf = {
	.base_url = "https://relay.example.org",
	.callback_url = "https://relay.example.org/callback",
	.https = 1,
	.endpoints = endpoints,
	.n_endpoints = 2,
	.client_ids = client_ids,
	.n_client_ids = 2,
	.max_sessions = 1000,
	.max_ttl = 300,
};
static const char state[] = "SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS0";

static int value_is(const struct qs *q, const char *name, const char *want)
{
	const struct qs_pair *p = qs_get(q, name);
	return p && strcmp(p->value, want) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *url = (const char *)data, *why = NULL, *qm;
	struct qs q;
	size_t base;
	int r, ok = 0;

	r = authurl_check(url, size, &cf, state, &why);
	if (r != ERR_OK) {
		if (r == ERR_NOMEM)
			return 0;
		if (r != ERR_RELAY_AUTH_URL || !why || strncmp(why, "authorization_url: ", 19) != 0)
			abort();
		return 0;
	}
	if (size > AUTH_URL_MAX || memchr(url, '#', size) || memchr(url, '\0', size) ||
	    !(qm = memchr(url, '?', size)))
		abort();
	base = (size_t)(qm - url);
	for (size_t i = 0; i < cf.n_endpoints; i++)
		ok |= strlen(cf.endpoints[i]) == base && memcmp(cf.endpoints[i], url, base) == 0;
	if (!ok)
		abort();
	if (qs_parse(qm + 1, size - base - 1, &q) != ERR_OK)
		abort();
	ok = value_is(&q, "state", state) && value_is(&q, "redirect_uri", cf.callback_url) &&
	     value_is(&q, "response_type", "code") &&
	     value_is(&q, "code_challenge_method", "S256") &&
	     (value_is(&q, "client_id", client_ids[0]) || value_is(&q, "client_id", client_ids[1]));
	qs_cleanup(&q);
	if (!ok)
		abort();
	return 0;
}
