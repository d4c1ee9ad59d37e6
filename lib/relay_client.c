/* relay_client.c: register a login at the relay and poll for its outcome. */
#include "relay_client.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "err.h"
#include "json.h"
#include "secret.h"

static int printable(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n]; n++)
		if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] >= 0x7f)
			return 0;
	return n > 0 && n <= max;
}

static char *dup_sanitized(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	for (size_t i = 0; i < n; i++)
		d[i] = ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f) ? '?' : s[i];
	d[n] = '\0';
	return d;
}

int relay_register(const struct http_opts *h, const struct relay_registration *g,
		   struct relay_session *out)
{
	unsigned char md[32];
	char hash[44], url[600], *body = NULL;
	const char *id = NULL, *link = NULL;
	struct http_response resp = { 0 };
	cJSON *req = NULL, *ctx, *ans = NULL;
	long long exp = 0;
	int present = 0, r = ERR_NOMEM;

	if (!h || !g || !out || !g->relay_url || !g->state || !g->poll_secret ||
	    !g->authorization_url || !g->host || !g->service || !g->user)
		return ERR_INVAL;
	if (!EVP_Digest(g->poll_secret, strlen(g->poll_secret), md, NULL, EVP_sha256(), NULL) ||
	    b64url_encode(md, sizeof(md), hash, sizeof(hash)) != 0)
		return ERR_INTERNAL;
	if (snprintf(url, sizeof(url), "%s/v1/sessions", g->relay_url) >= (int)sizeof(url))
		return ERR_INVAL;
	if (!(req = cJSON_CreateObject()) || !cJSON_AddStringToObject(req, "state", g->state) ||
	    !cJSON_AddStringToObject(req, "poll_secret_sha256", hash) ||
	    !cJSON_AddNumberToObject(req, "ttl", (double)g->ttl) ||
	    !cJSON_AddStringToObject(req, "authorization_url", g->authorization_url) ||
	    !(ctx = cJSON_AddObjectToObject(req, "context")) ||
	    !cJSON_AddStringToObject(ctx, "host", g->host) ||
	    !cJSON_AddStringToObject(ctx, "service", g->service) ||
	    !cJSON_AddStringToObject(ctx, "user", g->user) ||
	    !cJSON_AddStringToObject(ctx, "rhost", g->rhost ? g->rhost : "") ||
	    (g->confirm_code && !cJSON_AddStringToObject(req, "confirm_code", g->confirm_code)) ||
	    !(body = cJSON_PrintUnformatted(req)))
		goto out;
	if ((r = http_post_json(h, url, body, g->registration_secret, &resp)) != 0)
		goto out;
	if (resp.status != 201) {
		const char *e = NULL;
		cJSON *ej = NULL;
		char clean[128] = "";
		if (json_parse(resp.body, resp.len, 4096, 4, &ej) == 0 &&
		    json_get_string(ej, "error", &e) == 0 && e)
			snprintf(clean, sizeof(clean), "%s", e);
		cJSON_Delete(ej);
		log_msg(h->log, LOG_ERR, "relay refused the registration: HTTP %ld %s", resp.status,
			clean);
		r = ERR_RELAY_REQUEST;
		goto out;
	}
	r = ERR_RELAY_REQUEST;
	if (json_parse(resp.body, resp.len, RELAY_MAX_BODY, 4, &ans) != 0 ||
	    json_get_string(ans, "id", &id) != 0 || !id ||
	    json_get_string(ans, "link", &link) != 0 || !link ||
	    json_get_date(ans, "expires_in", &exp, &present) != 0 || !present) {
		log_msg(h->log, LOG_ERR, "relay registration answer malformed");
		goto out;
	}
	if (strlen(id) != 16 ||
	    strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != 16 ||
	    snprintf(out->link, sizeof(out->link), "%s/l/%s", g->relay_url, id) >=
		    (int)sizeof(out->link) ||
	    strcmp(out->link, link) != 0) {
		log_msg(h->log, LOG_ERR, "relay answered a link outside %s/l/: refused",
			g->relay_url);
		goto out;
	}
	memcpy(out->id, id, 17);
	out->expires_in = (long)exp;
	r = ERR_OK;
out:
	OPENSSL_cleanse(md, sizeof(md));
	secret_str_free(body);
	json_delete_wiped(req); /* state, confirmation code, authorization URL */
	json_delete_wiped(ans);
	http_response_cleanup(&resp);
	return r;
}

int relay_parse_poll(const char *json, size_t len, struct relay_result *out)
{
	struct relay_result res = { 0 };
	const char *st = NULL, *code = NULL, *iss = NULL, *err = NULL, *desc = NULL;
	cJSON *j = NULL;
	int r = ERR_RELAY_REQUEST;

	if (!json || !out)
		return ERR_INVAL;
	if (json_parse(json, len, RELAY_MAX_BODY, 4, &j) != 0 || !cJSON_IsObject(j) ||
	    json_get_string(j, "status", &st) != 0 || !st)
		goto out;
	if (!strcmp(st, "pending")) {
		res.status = RELAY_PENDING;
	} else if (!strcmp(st, "denied")) {
		res.status = RELAY_DENIED;
	} else if (!strcmp(st, "conflict")) {
		res.status = RELAY_CONFLICT;
	} else if (!strcmp(st, "expired")) {
		res.status = RELAY_EXPIRED;
	} else if (!strcmp(st, "code")) {
		/* AZ-12: a code is printable ASCII, at most 2048 bytes */
		if (json_get_string(j, "code", &code) != 0 || !code || !printable(code, 2048) ||
		    json_get_string(j, "iss", &iss) != 0 || (iss && !printable(iss, 1024)))
			goto out;
		res.status = RELAY_CODE;
		if (!(res.code = strdup(code)) || (iss && !(res.iss = strdup(iss)))) {
			r = ERR_NOMEM;
			goto out;
		}
	} else if (!strcmp(st, "error")) {
		if (json_get_string(j, "error", &err) != 0 || !err || !err[0] ||
		    json_get_string(j, "error_description", &desc) != 0)
			goto out;
		res.status = RELAY_ERROR;
		if (!(res.error = dup_sanitized(err, 256)) ||
		    (desc && !(res.error_description = dup_sanitized(desc, 1024)))) {
			r = ERR_NOMEM;
			goto out;
		}
	} else {
		goto out;
	}
	*out = res;
	memset(&res, 0, sizeof(res));
	r = ERR_OK;
out:
	relay_result_cleanup(&res);
	json_delete_wiped(j); /* the code */
	return r;
}

int relay_poll(const struct http_opts *h, const char *relay_url, const char *state,
	       const char *poll_secret, int wait, struct relay_result *out)
{
	struct http_response resp = { 0 };
	char url[600];
	int r;

	if (!h || !relay_url || !state || !poll_secret || !out || wait < 0 || wait > 30)
		return ERR_INVAL;
	if (snprintf(url, sizeof(url), "%s/v1/sessions/%s?wait=%d", relay_url, state, wait) >=
	    (int)sizeof(url))
		return ERR_INVAL;
	r = http_get(h, url, poll_secret, &resp);
	if (r == 0 && resp.status == 404)
		r = ERR_RELAY_NOT_FOUND;
	else if (r == 0 && resp.status != 200)
		r = ERR_HTTP_STATUS;
	else if (r == 0)
		r = relay_parse_poll(resp.body, resp.len, out);
	OPENSSL_cleanse(url, sizeof(url));
	http_response_cleanup(&resp);
	return r;
}

void relay_result_cleanup(struct relay_result *r)
{
	char **all[4];

	if (!r)
		return;
	all[0] = &r->code;
	all[1] = &r->iss;
	all[2] = &r->error;
	all[3] = &r->error_description;
	for (int i = 0; i < 4; i++)
		if (*all[i]) {
			secret_str_free(*all[i]);
			*all[i] = NULL;
		}
	r->status = 0;
}
