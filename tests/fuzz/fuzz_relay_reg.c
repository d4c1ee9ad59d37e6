/* fuzz_relay_reg.c: the registration body (relay/validate.c reg_parse,
 * RLY-05 + the authorization URL) against a fixed configuration, built the
 * way rconf_load fills struct rconf. Invariants: a refusal has a reason and
 * leaves *out untouched; an accepted registration has a 43-character
 * base64url state, 1 <= ttl <= max_ttl, an authorization URL that passes
 * authurl_check again, host/service/user of 1..128 bytes, a confirm code
 * empty or 4..12 digits; reg_cleanup frees everything (ASan leak check). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
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

static void check_ctx(const char *s, size_t min)
{
	size_t n = strnlen(s, STORE_CTX_MAX + 1);

	if (n < min || n > STORE_CTX_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reg rg, before;
	const char *why = NULL, *why2 = NULL;
	size_t cl;
	int r;

	memset(&rg, 0xa5, sizeof(rg));
	memcpy(&before, &rg, sizeof(rg));
	r = reg_parse((const char *)data, size, &cf, &rg, &why);
	if (r != ERR_OK) {
		if (r == ERR_NOMEM)
			return 0;
		if ((r != ERR_RELAY_REQUEST && r != ERR_RELAY_AUTH_URL) || !why)
			abort();
		if (memcmp(&rg, &before, sizeof(rg)) != 0)
			abort();
		return 0;
	}
	if (strnlen(rg.state, sizeof(rg.state)) != STORE_STATE_LEN ||
	    !b64url_is43(rg.state, STORE_STATE_LEN))
		abort();
	if (rg.ttl < 1 || rg.ttl > cf.max_ttl)
		abort();
	if (!rg.auth_url ||
	    authurl_check(rg.auth_url, strlen(rg.auth_url), &cf, rg.state, &why2) != ERR_OK)
		abort();
	check_ctx(rg.ctx.host, 1);
	check_ctx(rg.ctx.service, 1);
	check_ctx(rg.ctx.user, 1);
	check_ctx(rg.ctx.rhost, 0);
	cl = strnlen(rg.confirm, sizeof(rg.confirm));
	if (cl == sizeof(rg.confirm) || (cl != 0 && (cl < 4 || cl > STORE_CONFIRM_MAX)) ||
	    strspn(rg.confirm, "0123456789") != cl)
		abort();
	reg_cleanup(&rg);
	return 0;
}
