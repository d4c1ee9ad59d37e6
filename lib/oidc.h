/* oidc.h: the helper's OpenID Connect work in one place: discovery and JWKS
 * (with the on-disk cache), ID token verification with one rate-limited
 * JWKS refresh on an unknown kid (IDT-12), and the code redemption at the
 * token endpoint (TOK-01, TOK-02, TOK-06, TOK-08). */
#ifndef OP_OIDC_H
#define OP_OIDC_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "discovery.h"
#include "http.h"
#include "jwks.h"
#include "jwt.h"
#include "log.h"
#include "token.h"

#define OIDC_CACHE_TTL		3600 /* seconds a cached discovery/JWKS is used */
#define OIDC_REFRESH_INTERVAL	60   /* at most one kid-driven JWKS fetch per this */
#define OIDC_CONNECT_TIMEOUT_MS 5000L

struct oidc {
	const struct config *cfg;
	const struct log *log;
	struct http_opts http;	   /* from cfg: timeouts, ca_file, loopback; 64 KiB cap */
	time_t now;		   /* injected clock: claims and cache ages */
	const char *client_secret; /* set by the caller: client_secret_file's
				      secret read before the helper dropped root
				      (the caller owns and wipes it); NULL: the
				      file is read at the redemption */
	int no_cache_read;	   /* set by the caller: ignore cached copies, fetch
				      fresh (still rewrites the cache); for `check` */
	int cache_ok;		   /* set by oidc_load: cache_dir passed cache_dir_check */
	int disc_from_cache, jwks_from_cache; /* where oidc_load got them */
	int jwks_fetched;		      /* a JWKS came from the network in this process */
	int jwks_refreshed;	/* the one kid-driven refresh of this login was made */
	struct discovery *disc; /* NULL in offline mode */
	struct jwks *jwks;	/* owned; the caller may set it (offline mode) */
};

/* Zeroes o and fills the HTTP options from cfg: total = http_timeout,
 * connect = min(5 s, total), ca_file, allow_insecure_loopback, no proxy. */
void oidc_init(struct oidc *o, const struct config *cfg, const struct log *log, time_t now);

/* Discovery, then the JWKS from disc->jwks_uri only (AZ-02). Each comes
 * from the cache when a copy younger than OIDC_CACHE_TTL passes the same
 * checks as a fresh one, else from the network (status 200 and a JSON
 * Content-Type required; redirects refused) and is then cached. An unusable
 * cache directory is logged and the cache skipped (never trusted).
 * On failure o->disc stays set when only the JWKS failed (for `check`);
 * oidc_cleanup frees whatever was loaded either way. */
int oidc_load(struct oidc *o);

/* The IdP is answering: one GET of the discovery document with o->http
 * (the caller sets a short timeout), status 200 required; the body is not
 * used. For a login whose discovery and JWKS both came from the cache, so
 * that a link is shown only while the IdP answers (issue 8). 0, or the
 * http_get error, or ERR_HTTP_STATUS. */
int oidc_probe(struct oidc *o);

/* IDT-12 rate-limit rule: 1 when a kid-driven JWKS refresh may run at now,
 * given the time of the last one (last = 0: none on record). A refresh is
 * due when the last one is at least OIDC_REFRESH_INTERVAL old; a stamp in
 * the future by less than that interval counts as recent. Normal fetches
 * (login start, stale cache) do not count. */
int oidc_refresh_due(time_t last, time_t now);

/* Verifies an ID token: allow-list = cfg->allowed_algs & the discovery's
 * id_token_signing_alg_values_supported (IDT-03; cfg alone in offline
 * mode), iss = cfg->issuer, aud/azp = cfg->client_id, nonce, skew, max age.
 * On ERR_JWT_KID_UNKNOWN (and not offline) the JWKS is fetched again once,
 * even when it was fetched moments ago (the IdP may rotate mid-login), at
 * most once per oidc_load'ed login and once per OIDC_REFRESH_INTERVAL per
 * issuer across processes (a stamp file in the cache dir, written before
 * fetching, by kid-driven refreshes only: oidc_refresh_due), the cache
 * rewritten, and the token verified once more. *out set on success (jwt_free it). */
int oidc_verify_id_token(struct oidc *o, const char *token, size_t len, const char *nonce,
			 const char *access_token, struct jwt **out);

/* Redeems an authorization code at disc->token_endpoint (only there), one
 * POST, never retried (TOK-02): grant_type, code, redirect_uri,
 * code_verifier, and client_id (public client) or HTTP Basic with the
 * client_secret_file secret (TOK-08). Status 200 and a JSON Content-Type
 * required (TOK-06); an OAuth error answer -> ERR_TOKEN_ERROR with the
 * sanitized error code logged, and *out set to a response holding only
 * error/error_description (free it too). The request body and secret are wiped. */
int oidc_redeem_code(struct oidc *o, const char *code, const char *verifier,
		     const char *redirect_uri, struct token_response **out);

/* Frees disc and jwks. */
void oidc_cleanup(struct oidc *o);

/* 1 for "application/json" and "application/<anything>+json". */
int oidc_content_type_is_json(const char *ct);

#endif
