/* validate.c: strict parsing of everything the relay receives. */
#include "validate.h"

#include <math.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64url.h"
#include "err.h"
#include "json.h"
#include "secret.h"
#include "text.h"

/* A query or form body from the network: ERR_RELAY_REQUEST when malformed. */
static int request_qs(const char *q, size_t len, struct qs *out)
{
	int r = qs_parse(q, len, out);

	return r == ERR_QUERY ? ERR_RELAY_REQUEST : r;
}

/* ---- small checks ------------------------------------------------------------- */

/* Printable ASCII (0x20..0x7e; with nospace 0x21..0x7e). */
static int printable(const char *s, size_t len, int nospace)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < (nospace ? 0x21 : 0x20) || c > 0x7e)
			return 0;
	}
	return 1;
}

int ctype_is(const char *hdr, const char *type)
{
	size_t tl = strlen(type);

	if (!hdr || strncasecmp(hdr, type, tl) != 0)
		return 0;
	hdr += tl;
	while (*hdr == ' ' || *hdr == '\t')
		hdr++;
	return *hdr == '\0' || *hdr == ';';
}

/* Text shown on the context page (XD-03): lib/text.c's rule, the one the
 * helper renders rhost and user with. Valid UTF-8, and no control, format
 * (Cf: zero-width, bidirectional marks/overrides/isolates, BOM, tags ...),
 * blank-filler, variation-selector, non-ASCII space, noncharacter or
 * private-use code point that could hide text or make "evil.example" read
 * like something else. */
static int context_text_ok(const char *s)
{
	return text_display_safe(s, strlen(s));
}

/* ---- the authorization URL (RLY-01/02/03) ------------------------------------ */

/* RFC 3986 characters: unreserved, reserved and '%'. No space, no CR/LF,
 * no NUL, no backslash, no quotes or angle brackets, no non-ASCII. */
static int uri_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("-._~:/?#[]@!$&'()*+,;=%", c) != NULL);
}

/* Optional OIDC parameters a helper may add; everything else is refused,
 * notably request / request_uri (a request object could carry another
 * redirect_uri) and response_mode (could move the code out of our sight). */
static const char *const extra_params[] = { "prompt",	  "max_age",	"login_hint",
					    "acr_values", "ui_locales", "claims_locales",
					    "display",	  NULL };

static const char *const required_params[] = {
	"response_type", "client_id",	   "redirect_uri",	    "scope", "state",
	"nonce",	 "code_challenge", "code_challenge_method", NULL
};

/* The URL as text: length, characters, no fragment. Returns its '?'. */
static const char *authurl_query_start(const char *url, size_t len, const char **why)
{
	const char *qm;

	if (len > AUTH_URL_MAX) {
		*why = "authorization_url: longer than 2048 bytes";
		return NULL;
	}
	for (size_t i = 0; i < len; i++)
		if (!uri_char((unsigned char)url[i])) {
			*why = "authorization_url: character not allowed (CR, LF, NUL, space, "
			       "non-ASCII, quote, backslash...)";
			return NULL;
		}
	if (memchr(url, '#', len)) {
		*why = "authorization_url: fragment not allowed";
		return NULL;
	}
	if (!(qm = memchr(url, '?', len)))
		*why = "authorization_url: no query";
	return qm;
}

/* url[0..base_len) is one of the configured endpoints, byte for byte. */
static int authurl_endpoint_ok(const char *url, size_t base_len, const struct rconf *cf)
{
	int found = 0;

	for (size_t i = 0; i < cf->n_endpoints && !found; i++)
		found = strlen(cf->endpoints[i]) == base_len &&
			memcmp(cf->endpoints[i], url, base_len) == 0;
	return found;
}

/* Only required and extra parameters, with printable ASCII values, and every
 * required one present. */
static int authurl_params_ok(const struct qs *q, const char **why)
{
	for (size_t i = 0; i < q->n; i++) {
		int known = 0;
		for (int k = 0; required_params[k] && !known; k++)
			known = strcmp(q->p[i].name, required_params[k]) == 0;
		for (int k = 0; extra_params[k] && !known; k++)
			known = strcmp(q->p[i].name, extra_params[k]) == 0;
		if (!known) {
			*why = "authorization_url: parameter not allowed";
			return 0;
		}
		if (!printable(q->p[i].value, q->p[i].value_len, 0)) {
			*why = "authorization_url: parameter value with control or non-ASCII "
			       "characters";
			return 0;
		}
	}
	for (int k = 0; required_params[k]; k++)
		if (!qs_get(q, required_params[k])) {
			*why = "authorization_url: missing one of response_type, client_id, "
			       "redirect_uri, scope, state, nonce, code_challenge, "
			       "code_challenge_method";
			return 0;
		}
	return 1;
}

/* The code flow, for an allowed client, back to this relay's callback. */
static int authurl_client_ok(const struct qs *q, const struct rconf *cf, const char **why)
{
	const struct qs_pair *p;
	int found = 0;

	if (strcmp(qs_get(q, "response_type")->value, "code") != 0) {
		*why = "authorization_url: response_type must be code";
		return 0;
	}
	p = qs_get(q, "client_id");
	for (size_t i = 0; i < cf->n_client_ids && !found; i++)
		found = strcmp(cf->client_ids[i], p->value) == 0;
	if (!found) {
		*why = "authorization_url: client_id not allowed";
		return 0;
	}
	if (strcmp(qs_get(q, "redirect_uri")->value, cf->callback_url) != 0) {
		*why = "authorization_url: redirect_uri must be this relay's base_url + /callback";
		return 0;
	}
	return 1;
}

/* PKCE S256, the registered state, an OIDC scope, a nonce and a numeric
 * max_age if any. */
static int authurl_binding_ok(const struct qs *q, const char *state, const char **why)
{
	const struct qs_pair *p;

	p = qs_get(q, "code_challenge");
	if (!b64url_is43(p->value, p->value_len)) {
		*why = "authorization_url: code_challenge must be 43 base64url characters";
		return 0;
	}
	if (strcmp(qs_get(q, "code_challenge_method")->value, "S256") != 0) {
		*why = "authorization_url: code_challenge_method must be S256";
		return 0;
	}
	p = qs_get(q, "state");
	if (p->value_len != STORE_STATE_LEN ||
	    CRYPTO_memcmp(p->value, state, STORE_STATE_LEN) != 0) {
		*why = "authorization_url: state differs from the registered state";
		return 0;
	}
	if (!text_has_word(qs_get(q, "scope")->value, "openid")) {
		*why = "authorization_url: scope must contain openid";
		return 0;
	}
	p = qs_get(q, "nonce");
	if (p->value_len == 0 || p->value_len > 255) {
		*why = "authorization_url: nonce missing or longer than 255";
		return 0;
	}
	if ((p = qs_get(q, "max_age"))) {
		size_t i = 0;
		while (i < p->value_len && p->value[i] >= '0' && p->value[i] <= '9')
			i++;
		if (i == 0 || i != p->value_len || i > 9) {
			*why = "authorization_url: max_age must be a number";
			return 0;
		}
	}
	return 1;
}

int authurl_check(const char *url, size_t len, const struct rconf *cf, const char *state,
		  const char **why)
{
	const char *qm;
	struct qs q;
	size_t base_len;
	int r = ERR_RELAY_AUTH_URL;

	memset(&q, 0, sizeof(q));
	if (!(qm = authurl_query_start(url, len, why)))
		return ERR_RELAY_AUTH_URL;
	base_len = (size_t)(qm - url);
	if (!authurl_endpoint_ok(url, base_len, cf)) {
		*why = "authorization_url: endpoint (scheme://host:port/path) not allowed";
		return ERR_RELAY_AUTH_URL;
	}
	if ((r = qs_parse(qm + 1, len - base_len - 1, &q)) != 0) {
		if (r == ERR_QUERY) {
			*why = "authorization_url: malformed or duplicated query parameter";
			r = ERR_RELAY_AUTH_URL;
		}
		goto out;
	}
	r = ERR_RELAY_AUTH_URL;
	if (!authurl_params_ok(&q, why) || !authurl_client_ok(&q, cf, why) ||
	    !authurl_binding_ok(&q, state, why))
		goto out;
	r = ERR_OK;
out:
	qs_cleanup(&q);
	return r;
}

/* ---- registration body (RLY-05) -------------------------------------------- */

static int get_ctx(const cJSON *ctx, struct store_context *out, const char **why)
{
	static const char *const names[] = { "host", "service", "user", "rhost" };
	char *dst[] = { out->host, out->service, out->user, out->rhost };
	const cJSON *m;

	if (!cJSON_IsObject(ctx)) {
		*why = "context: must be an object";
		return ERR_RELAY_REQUEST;
	}
	for (m = ctx->child; m; m = m->next) {
		int known = 0;
		for (int i = 0; i < 4; i++)
			known |= strcmp(m->string, names[i]) == 0;
		if (!known) {
			*why = "context: unknown member (allowed: host, service, user, rhost)";
			return ERR_RELAY_REQUEST;
		}
	}
	for (int i = 0; i < 4; i++) {
		const char *v = NULL;
		if (json_get_string(ctx, names[i], &v) != 0) {
			*why = "context: members must be strings";
			return ERR_RELAY_REQUEST;
		}
		if (!v) {
			if (i == 3) {
				dst[i][0] = '\0';
				continue;
			}
			*why = "context: host, service and user are required";
			return ERR_RELAY_REQUEST;
		}
		if ((i < 3 && !*v) || strlen(v) > STORE_CTX_MAX) {
			*why = "context: values must be 1..128 bytes (rhost may be empty)";
			return ERR_RELAY_REQUEST;
		}
		if (!context_text_ok(v)) {
			*why = "context: control, invisible or bidirectional characters not allowed";
			return ERR_RELAY_REQUEST;
		}
		memcpy(dst[i], v, strlen(v) + 1);
	}
	return ERR_OK;
}

int reg_parse(const char *body, size_t len, const struct rconf *cf, struct reg *out,
	      const char **why)
{
	static const char *const names[] = { "state",	"poll_secret_sha256",
					     "ttl",	"authorization_url",
					     "context", "confirm_code",
					     NULL };
	struct reg rg;
	cJSON *root = NULL;
	const cJSON *m;
	const char *state, *hash, *url, *confirm;
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	double ttl;
	int r;

	memset(&rg, 0, sizeof(rg));
	*why = "invalid JSON";
	if ((r = json_parse(body, len, REG_BODY_MAX, 4, &root)) != 0) {
		if (r == ERR_JSON_DUP)
			*why = "duplicate member";
		return r == ERR_NOMEM ? r : ERR_RELAY_REQUEST;
	}
	r = ERR_RELAY_REQUEST;
	if (!cJSON_IsObject(root)) {
		*why = "body must be a JSON object";
		goto out;
	}
	for (m = root->child; m; m = m->next) {
		int known = 0;
		for (int i = 0; names[i] && !known; i++)
			known = strcmp(m->string, names[i]) == 0;
		if (!known) {
			*why = "unknown member";
			goto out;
		}
	}
	if (json_get_string(root, "state", &state) != 0 || !state ||
	    !b64url_is43(state, strlen(state))) {
		*why = "state: must be 43 base64url characters";
		goto out;
	}
	memcpy(rg.state, state, STORE_STATE_LEN + 1);
	if (json_get_string(root, "poll_secret_sha256", &hash) != 0 || !hash ||
	    !b64url_is43(hash, strlen(hash)) || b64url_decode(hash, 43, &raw, &rawlen) != 0 ||
	    rawlen != STORE_HASH_LEN) {
		*why = "poll_secret_sha256: must be the base64url SHA-256 (43 characters)";
		goto out;
	}
	memcpy(rg.poll_hash, raw, STORE_HASH_LEN);
	m = json_get(root, "ttl");
	if (!cJSON_IsNumber(m) || !isfinite(ttl = m->valuedouble) || ttl < 1 ||
	    (ttl < 1e9 && ttl != (double)(unsigned)ttl)) {
		*why = "ttl: must be a whole number of seconds >= 1";
		goto out;
	}
	rg.ttl = ttl > cf->max_ttl ? cf->max_ttl : (unsigned)ttl; /* RLY-07: clamped */
	if (json_get_string(root, "confirm_code", &confirm) != 0) {
		*why = "confirm_code: must be a string of 4..12 digits";
		goto out;
	}
	if (confirm) {
		size_t cl = strlen(confirm);
		int digits = cl >= 4 && cl <= STORE_CONFIRM_MAX;
		for (size_t i = 0; i < cl && digits; i++)
			digits = confirm[i] >= '0' && confirm[i] <= '9';
		if (!digits) {
			*why = "confirm_code: must be a string of 4..12 digits";
			goto out;
		}
		memcpy(rg.confirm, confirm, cl + 1);
	}
	if (!json_get(root, "context")) {
		*why = "context: required";
		goto out;
	}
	if ((r = get_ctx(json_get(root, "context"), &rg.ctx, why)) != 0)
		goto out;
	r = ERR_RELAY_REQUEST;
	if (json_get_string(root, "authorization_url", &url) != 0 || !url) {
		*why = "authorization_url: required string";
		goto out;
	}
	if ((r = authurl_check(url, strlen(url), cf, rg.state, why)) != 0)
		goto out;
	r = ERR_NOMEM;
	if (!(rg.auth_url = strdup(url)))
		goto out;
	*out = rg;
	memset(&rg, 0, sizeof(rg));
	r = ERR_OK;
out:
	secret_free(raw, rawlen);
	reg_cleanup(&rg);
	cJSON_Delete(root);
	return r;
}

void reg_cleanup(struct reg *r)
{
	if (!r)
		return;
	free(r->auth_url);
	OPENSSL_cleanse(r, sizeof(*r));
}

/* ---- callback query (RLY-13) --------------------------------------------------- */

static int take(const struct qs_pair *p, size_t max, int nospace, int sanitize, char **out)
{
	char *v;

	if (!p || (sanitize && p->value_len == 0))
		return ERR_OK;
	if (p->value_len == 0 || p->value_len > max)
		return ERR_RELAY_REQUEST;
	if (!sanitize && !printable(p->value, p->value_len, nospace))
		return ERR_RELAY_REQUEST;
	if (!(v = strdup(p->value)))
		return ERR_NOMEM;
	if (sanitize)
		for (char *c = v; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
				*c = '?';
	*out = v;
	return ERR_OK;
}

int cbq_parse(const char *query, size_t len, struct cbq *out)
{
	struct cbq c;
	struct qs q;
	const struct qs_pair *st;
	int r;

	memset(&c, 0, sizeof(c));
	if ((r = request_qs(query, len, &q)) != 0)
		goto out;
	r = ERR_RELAY_REQUEST;
	st = qs_get(&q, "state");
	if (!st || !b64url_is43(st->value, st->value_len))
		goto out;
	memcpy(c.state, st->value, STORE_STATE_LEN + 1);
	if ((r = take(qs_get(&q, "code"), CB_CODE_MAX, 0, 0, &c.code)) != 0 ||
	    (r = take(qs_get(&q, "iss"), CB_ISS_MAX, 1, 0, &c.iss)) != 0 ||
	    (r = take(qs_get(&q, "error"), CB_ERROR_MAX, 0, 0, &c.error)) != 0 ||
	    (r = take(qs_get(&q, "error_description"), CB_ERROR_DESC_MAX, 0, 1,
		      &c.error_description)) != 0)
		goto out;
	r = ERR_RELAY_REQUEST;
	if (!c.code == !c.error)
		goto out; /* exactly one of code and error */
	if (c.code && c.error_description) {
		/* a description belongs to an error only: not stored, not compared */
		secret_str_free(c.error_description);
		c.error_description = NULL;
	}
	*out = c;
	memset(&c, 0, sizeof(c));
	r = ERR_OK;
out:
	qs_cleanup(&q);
	cbq_cleanup(&c);
	return r;
}

void cbq_cleanup(struct cbq *c)
{
	if (!c)
		return;
	secret_str_free(c->code);
	secret_str_free(c->iss);
	secret_str_free(c->error);
	secret_str_free(c->error_description);
	memset(c, 0, sizeof(*c));
}

/* ---- the context page form, the poll query, the bearer ------------------------ */

int linkform_parse(const char *body, size_t len, enum link_action *act,
		   char csrf[STORE_CSRF_LEN + 1])
{
	const struct qs_pair *c, *go, *deny;
	struct qs q;
	int r;

	if ((r = request_qs(body, len, &q)) != 0)
		goto out;
	r = ERR_RELAY_REQUEST;
	c = qs_get(&q, "csrf");
	go = qs_get(&q, "continue");
	deny = qs_get(&q, "deny");
	if (!c || !go == !deny || q.n != 2 || c->value_len != STORE_CSRF_LEN)
		goto out;
	memcpy(csrf, c->value, STORE_CSRF_LEN + 1);
	*act = go ? LINK_CONTINUE : LINK_DENY;
	r = ERR_OK;
out:
	qs_cleanup(&q);
	return r;
}

int pollq_parse(const char *q, size_t len, unsigned *wait)
{
	const struct qs_pair *w;
	struct qs qs;
	unsigned long v = 0;
	int r;

	*wait = 0;
	if ((r = request_qs(q, len, &qs)) != 0)
		goto out;
	r = ERR_RELAY_REQUEST;
	w = qs_get(&qs, "wait");
	if (qs.n != (w ? 1u : 0u))
		goto out;
	if (w) {
		if (w->value_len == 0 || w->value_len > 32)
			goto out;
		for (size_t i = 0; i < w->value_len; i++) {
			if (w->value[i] < '0' || w->value[i] > '9')
				goto out;
			v = v * 10 + (unsigned long)(w->value[i] - '0');
			if (v > POLL_WAIT_MAX)
				v = POLL_WAIT_MAX + 1; /* capped below, never overflows */
		}
		*wait = v > POLL_WAIT_MAX ? POLL_WAIT_MAX : (unsigned)v;
	}
	r = ERR_OK;
out:
	qs_cleanup(&qs);
	return r;
}

int bearer_parse(const char *hdr, const char **tok, size_t *toklen)
{
	size_t n;

	if (!hdr || strncasecmp(hdr, "Bearer ", 7) != 0)
		return ERR_RELAY_REQUEST;
	hdr += 7;
	n = strlen(hdr);
	if (n == 0 || n > 512 || !printable(hdr, n, 1))
		return ERR_RELAY_REQUEST;
	*tok = hdr;
	*toklen = n;
	return ERR_OK;
}
