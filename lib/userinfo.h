/* userinfo.h: claims from the UserInfo endpoint (OIDC Core 5.3) when the
 * validated ID token lacks what the login policy needs (OIDC Core 5.4 lets
 * an IdP put profile claims there only), bound to the ID token by `sub`
 * (OIDC Core 5.3.2; RP test rp-userinfo-bad-sub-claim). IDT-29.
 *
 * What the policy needs: username_claim; with username_claim = email also
 * email_verified; groups_claim when allowed_groups is set. UserInfo only
 * fills what the ID token lacks: an ID-token claim is never overridden, and
 * only the claims the policy needs are taken, never a protocol claim (iss,
 * sub, aud, exp, iat, nbf, nonce, azp, at_hash, c_hash, acr, amr,
 * auth_time, sid, jti, events), so UserInfo feeds mapping and groups only.
 * email and email_verified come as a pair from the same source: UserInfo
 * gives both only when the ID token has no email.
 *
 * The answer must be HTTP 200, Content-Type application/json (a signed or
 * encrypted answer, application/jwt, is refused: ERR_USERINFO_JWT), at most
 * USERINFO_MAX_BYTES, strict JSON (json_parse: duplicate or case-shadowed
 * names, UTF-8, \u0000, depth), an object whose sub is a string byte-equal
 * to the ID token's sub. */
#ifndef OP_USERINFO_H
#define OP_USERINFO_H

#include <cJSON.h>
#include <stddef.h>

#include "claims.h"
#include "http.h"
#include "log.h"

#define USERINFO_MAX_BYTES (64 * 1024)
#define USERINFO_MAX_DEPTH 8

/* 1 when a claim the policy p needs is absent from the ID token payload
 * (claims_policy defaults apply: NULL username_claim = preferred_username,
 * NULL groups_claim = groups). */
int userinfo_needed(const cJSON *id_payload, const struct claims_policy *p);

/* Parses an answer body: strict JSON, an object, "sub" a string equal to
 * id_sub byte for byte. ERR_TOO_LARGE, the json_parse codes,
 * ERR_USERINFO_RESPONSE (not an object; sub absent or not a string),
 * ERR_USERINFO_SUB. Each refusal logs one line. *out (json_delete_wiped)
 * set only on success. */
int userinfo_parse(const char *json, size_t len, const char *id_sub, const struct log *log,
		   cJSON **out);

/* GET endpoint with "Authorization: Bearer access_token" under every rule of
 * http.c (o: https, no redirects, timeouts; max_bytes is set to
 * USERINFO_MAX_BYTES here), then userinfo_parse. Errors: the http_get codes
 * (ERR_HTTP_CONNECT, _TIMEOUT, _TLS, _TOO_LARGE, _REDIRECT, ...),
 * ERR_USERINFO_SERVER (5xx), ERR_USERINFO_TOKEN (401, 403),
 * ERR_USERINFO_STATUS (any other status but 200), ERR_USERINFO_JWT,
 * ERR_USERINFO_CTYPE, then those of userinfo_parse. The access token is
 * only sent; the caller wipes it. */
int userinfo_fetch(const struct http_opts *o, const char *endpoint, const char *access_token,
		   const char *id_sub, const struct log *log, cJSON **out);

/* 1 for the errors that mean "the IdP is unavailable" (connect, timeout,
 * TLS, transfer, 5xx), 0 for a refusal. */
int userinfo_err_unavailable(int err);

/* *out = a copy of id_payload with the claims p needs that it lacks taken
 * from ui (see above); *filled = 1 when any was taken. The ID token itself
 * is not changed. Logs the names taken. */
int userinfo_merge(const cJSON *id_payload, const cJSON *ui, const struct claims_policy *p,
		   const struct log *log, cJSON **out, int *filled);

#endif
